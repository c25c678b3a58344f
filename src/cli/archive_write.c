/*
 * archive_write.c - making archives: mbzip -r (a directory tree as a pax tar stream,
 * compressed as it is produced) and mbzip --repack (another tar archive converted).
 */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <langinfo.h>
#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "archive_impl.h"

/* ------------------------------------------------------------------ producing tar */

struct producer {
    struct pipe pipe;
    /* create */
    const char *path;        /* operand as given */
    size_t strip;            /* bytes to strip from each path: the operand's parent */
    dev_t skip_dev;          /* our own temporary output */
    ino_t skip_ino;
    int have_skip;
    /* repack */
    const char *src_name;
    /* cuts and the member table (archive_impl.h) */
    struct member_table tab;
    uint64_t written;         /* tar bytes given to the pipe */
    uint64_t last_cut;        /* tar offset of the last cut */
    int after_large;          /* the last entry had CUT_MEMBER bytes or more */
    /* results */
    uint64_t entries, bytes, entries_in, bytes_declared;
    int failed;
};

static la_ssize_t tar_write_cb(struct archive *a, void *user, const void *buf, size_t n)
{
    struct producer *pr = user;
    if (pr->failed) {
        /* archive_write_free() closes the writer, and closing pads the entry being
         * written to its declared size with zeros: after a failure (a truncated
         * source entry declaring 2^62 bytes, a file that shrank) that would go
         * through the compressor. (archive_write_fail() would skip the close, but
         * libarchive 3.6 then leaks its output buffer.) */
        archive_set_error(a, ECANCELED, "archive abandoned");
        return -1;
    }
    if (pipe_put(&pr->pipe, buf, n) != 0) {
        archive_set_error(a, EPIPE, "compressor stopped");
        return -1;
    }
    pr->written += n;
    return (la_ssize_t)n;
}

static struct archive *tar_writer(struct producer *pr)
{
    struct archive *a = archive_write_new();
    if (!a)
        return NULL;
    /* unblocked: every byte reaches the pipe when it is written, so that the count
     * is the tar offset of the next header (put_header). The stream then ends after
     * the two zero blocks of the end of the archive, not padded to a 10240-byte
     * record (tar readers do not need that; archives made before 2026-12-04 were). */
    if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        archive_write_add_filter_none(a) != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(a, 0) != ARCHIVE_OK ||
        archive_write_open2(a, pr, NULL, tar_write_cb, NULL, NULL) != ARCHIVE_OK) {
        msg_error(pr->path ? pr->path : pr->src_name, "cannot start the tar writer: %s", aerr(a));
        archive_write_free(a);
        return NULL;
    }
    return a;
}

/* Out of memory in the producer: said here, and the archive fails. */
static int no_memory(struct producer *pr, const char *opname)
{
    msg_error(opname, "%s", strerror(ENOMEM));
    pr->failed = 1;
    return -1;
}

/* Write one entry's header. 1: write its data, 0: no data, -1: error. The input
 * is cut before a large entry and before the one after it (archive_impl.h, cuts);
 * every entry goes into the member table. */
static int put_header(struct producer *pr, struct archive *a, struct archive_entry *e,
                      const char *opname)
{
    /* the tar offset of this header (the writer is unblocked: tar_writer), once the
     * entry before is padded out (which libarchive otherwise does in write_header) */
    if (archive_write_finish_entry(a) < ARCHIVE_WARN) {
        if (archive_errno(a) != EPIPE)
            msg_error(opname, "%s", aerr(a));
        return -1;
    }
    uint64_t at = pr->written;
    int large = archive_entry_filetype(e) == AE_IFREG && archive_entry_size(e) >= CUT_MEMBER;
    if ((large || pr->after_large) && at > pr->last_cut) {
        if (pipe_mark(&pr->pipe, at) != 0)
            return -1;            /* the compressor stopped and says why */
        pr->last_cut = at;
    }
    pr->after_large = large;
    if (member_table_add(&pr->tab, at, e) != 0)
        return no_memory(pr, opname);
    int r = archive_write_header(a, e);
    if (r == ARCHIVE_WARN) {
        msg_warn(opname, "%s: %s", entry_name(e), aerr(a));
    } else if (r != ARCHIVE_OK) {
        if (archive_errno(a) != EPIPE)
            msg_error(opname, "%s: %s", entry_name(e), aerr(a));
        return -1;
    }
    pr->entries++;
    return archive_entry_filetype(e) == AE_IFREG && !archive_entry_hardlink(e) &&
           archive_entry_size(e) > 0;
}

/* Copy an entry's data from rd to a; the count of bytes copied in *n, -1 on error. */
static int copy_data(struct archive *rd, struct archive *a, int64_t limit, int64_t *n,
                     const char *opname, const char *ename)
{
    static char buf[IOBUF];   /* (only the producer thread runs this) */
    *n = 0;
    for (;;) {
        la_ssize_t k = archive_read_data(rd, buf, sizeof buf);
        if (k < 0) {
            msg_error(opname, "%s: %s", ename, aerr(rd));
            return -1;
        }
        if (k == 0)
            return 0;
        if (*n + k > limit) {
            *n += k;
            return 0;        /* the caller reports the size mismatch */
        }
        la_ssize_t w = archive_write_data(a, buf, (size_t)k);
        if (w != k) {
            if (archive_errno(a) != EPIPE)   /* else the compressor says why */
                msg_error(opname, "%s: %s", ename, aerr(a));
            return -1;
        }
        *n += k;
    }
}

/* Walking DIR for `mbzip -r DIR`: depth first, names sorted by bytes, each
 * directory immediately followed by its contents (GNU tar sets a directory's
 * times once it leaves it, so it needs this order; archive_read_disk's own walk
 * visits a directory's contents later). Metadata (owner names, ACLs, xattrs)
 * comes from archive_read_disk_entry_from_file, data from our own read(2). */
struct walk {
    struct producer *pr;
    struct archive *a, *disk;
    struct archive_entry_linkresolver *lr;
    char *path;             /* the file being visited */
    size_t cap;
};

static int name_cmp(const struct dirent **x, const struct dirent **y)
{
    return strcmp((*x)->d_name, (*y)->d_name);
}

/* Copy exactly `want` bytes of fd; -1 on error or if the file changed. */
static int copy_fd(struct walk *w, int fd, int64_t want, const struct stat *st,
                   const char *name)
{
    static char buf[IOBUF];
    const char *op = w->pr->path;
    int64_t n = 0;
    for (;;) {
        ssize_t k = read(fd, buf, sizeof buf);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            msg_error(op, "%s: %s", name, strerror(errno));
            return -1;
        }
        if (k == 0)
            break;
        if (n + k > want)
            goto changed;
        if (archive_write_data(w->a, buf, (size_t)k) != k) {
            if (archive_errno(w->a) != EPIPE)
                msg_error(op, "%s: %s", name, aerr(w->a));
            return -1;
        }
        n += k;
    }
    struct stat after;
    if (n != want || (fstat(fd, &after) == 0 &&
                      (after.st_size != st->st_size ||
                       after.st_mtim.tv_sec != st->st_mtim.tv_sec ||
                       after.st_mtim.tv_nsec != st->st_mtim.tv_nsec)))
        goto changed;
    w->pr->bytes += (uint64_t)n;
    return 0;
changed:
    msg_error(op, "%s: file changed while it was being archived", name);
    return -1;
}

/* Archive w->path (and what is under it); 0, or -1 on an error (reported). */
static int walk_one(struct walk *w, size_t len, size_t strip, int top)
{
    struct producer *pr = w->pr;
    const char *op = pr->path;
    struct stat st;
    /* The operand itself may be a symbolic link to a directory: follow it. */
    if ((top ? stat(w->path, &st) : lstat(w->path, &st)) != 0) {
        msg_error(op, "%s: %s", w->path, strerror(errno));
        return -1;
    }
    if (pr->have_skip && st.st_dev == pr->skip_dev && st.st_ino == pr->skip_ino)
        return 0;                                  /* our own output */
    if (S_ISSOCK(st.st_mode)) {
        msg_warn(op, "%s: socket ignored", w->path);
        return 0;
    }
    int fd = -1;
    if (S_ISREG(st.st_mode)) {
        struct stat fst;
        fd = open(w->path, O_RDONLY | O_NOCTTY | O_CLOEXEC | (top ? 0 : O_NOFOLLOW));
        if (fd < 0) {
            msg_error(op, "%s: %s", w->path, strerror(errno));
            return -1;
        }
        if (fstat(fd, &fst) != 0 || fst.st_ino != st.st_ino || fst.st_dev != st.st_dev) {
            msg_error(op, "%s: file changed while it was being archived", w->path);
            close(fd);
            return -1;
        }
    }
    struct archive_entry *e = archive_entry_new(), *sparse = NULL;
    if (!e) {
        msg_error(op, "%s", strerror(ENOMEM));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    /* DIR's parent is not part of the names: "a/b" is stored as "b/...". */
    archive_entry_copy_pathname(e, w->path + strip);
    archive_entry_copy_sourcepath(e, w->path);
    int r = archive_read_disk_entry_from_file(w->disk, e, fd, &st);
    int rc = 0;
    if (r == ARCHIVE_WARN) {
        msg_warn(op, "%s: %s", w->path, aerr(w->disk));
    } else if (r != ARCHIVE_OK) {
        msg_error(op, "%s: %s", w->path, aerr(w->disk));
        rc = -1;
    }
    if (rc == 0) {
        archive_entry_sparse_clear(e);   /* holes are read as zeros */
        struct archive_entry *orig = e;
        archive_entry_linkify(w->lr, &e, &sparse);
        struct archive_entry *todo[2] = { e, sparse };
        for (int i = 0; i < 2 && rc == 0; i++) {
            if (!todo[i])
                continue;
            int data = put_header(pr, w->a, todo[i], op);
            if (data < 0)
                rc = -1;
            else if (data > 0 && fd >= 0)
                rc = copy_fd(w, fd, archive_entry_size(todo[i]), &st, w->path);
        }
        if (e && e != orig)
            archive_entry_free(e);
        if (sparse && sparse != orig)
            archive_entry_free(sparse);
        e = orig;
    }
    archive_entry_free(e);
    if (fd >= 0)
        close(fd);
    if (rc != 0 || !S_ISDIR(st.st_mode))
        return rc;

    struct dirent **names;
    int n = scandir(w->path, &names, NULL, name_cmp);
    if (n < 0) {
        msg_error(op, "%s: %s", w->path, strerror(errno));
        return -1;
    }
    for (int i = 0; i < n; i++) {
        const char *nm = names[i]->d_name;
        if (rc == 0 && strcmp(nm, ".") != 0 && strcmp(nm, "..") != 0) {
            size_t k = strlen(nm), sep = len > 0 && w->path[len - 1] != '/';
            if (len + sep + k + 1 > w->cap) {
                msg_error(op, "%s/%s: %s", w->path, nm, strerror(ENAMETOOLONG));
                rc = -1;
            } else {
                if (sep)
                    w->path[len] = '/';
                memcpy(w->path + len + sep, nm, k + 1);
                rc = walk_one(w, len + sep + k, strip, 0);
                w->path[len] = '\0';
            }
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

/* Hand the member table to the pipe (the producer is done). */
static void last_table(struct producer *pr)
{
    size_t n = 0;
    unsigned char *t = pr->failed ? NULL : member_table_take(&pr->tab, &n);
    if (!t && !pr->failed)
        no_memory(pr, pr->path ? pr->path : pr->src_name);
    pipe_set_table(&pr->pipe, t, n);
    member_table_free(&pr->tab);
}

/* Producer thread of `mbzip -r DIR`. */
static void *create_main(void *arg)
{
    struct producer *pr = arg;
    struct walk w;
    memset(&w, 0, sizeof w);
    w.pr = pr;
    w.a = tar_writer(pr);
    w.disk = archive_read_disk_new();
    w.lr = archive_entry_linkresolver_new();
    w.cap = 4 * PATH_MAX;
    w.path = malloc(w.cap);
    size_t len = strlen(pr->path);
    if (!w.a || !w.disk || !w.lr || !w.path || len >= w.cap) {
        if (w.a)
            msg_error(pr->path, "%s", strerror(len >= w.cap ? ENAMETOOLONG : ENOMEM));
        pr->failed = 1;
        goto out;
    }
    archive_entry_linkresolver_set_strategy(w.lr, archive_format(w.a));
    archive_read_disk_set_standard_lookup(w.disk);
    memcpy(w.path, pr->path, len + 1);
    if (walk_one(&w, len, pr->strip, 1) != 0)
        pr->failed = 1;
    if (!pr->failed && archive_write_close(w.a) != ARCHIVE_OK) {
        if (archive_errno(w.a) != EPIPE)
            msg_error(pr->path, "%s", aerr(w.a));
        pr->failed = 1;
    }
out:
    free(w.path);
    if (w.lr)
        archive_entry_linkresolver_free(w.lr);
    if (w.disk)
        archive_read_free(w.disk);
    if (w.a)
        archive_write_free(w.a);
    last_table(pr);
    pipe_close_writer(&pr->pipe, pr->failed);
    return NULL;
}

/* Producer thread of `mbzip --repack ARCHIVE`: copy every entry of any archive
 * libarchive reads, counting entries and bytes on the way. */
static void *repack_main(void *arg)
{
    struct producer *pr = arg;
    const char *op = pr->src_name;
    struct archive *a = tar_writer(pr);
    struct archive *src = archive_read_new();
    if (!a || !src) {
        pr->failed = 1;
        goto out;
    }
    archive_read_support_filter_all(src);
    archive_read_support_format_all(src);
    if (archive_read_open_filename(src, op, IOBUF) != ARCHIVE_OK) {
        msg_error(op, "%s", aerr(src));
        pr->failed = 1;
        goto out;
    }
    for (;;) {
        struct archive_entry *e;
        int r = archive_read_next_header(src, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r == ARCHIVE_WARN) {
            msg_warn(op, "%s: %s", entry_name(e), aerr(src));
        } else if (r != ARCHIVE_OK) {
            msg_error(op, "%s", aerr(src));
            pr->failed = 1;
            break;
        }
        pr->entries_in++;
        int64_t want = 0;
        if (archive_entry_hardlink(e)) {
            archive_entry_set_size(e, 0);
        } else if (archive_entry_filetype(e) == AE_IFREG) {
            if (!archive_entry_size_is_set(e)) {
                msg_error(op, "%s: size not recorded before the data; cannot repack",
                          entry_name(e));
                pr->failed = 1;
                break;
            }
            want = archive_entry_size(e);
        } else {
            archive_entry_set_size(e, 0);
        }
        archive_entry_sparse_clear(e);
        pr->bytes_declared += (uint64_t)want;
        int data = put_header(pr, a, e, op);
        if (data < 0) {
            pr->failed = 1;
            break;
        }
        if (data > 0) {
            int64_t n;
            if (copy_data(src, a, want, &n, op, entry_name(e)) != 0) {
                pr->failed = 1;
                break;
            }
            if (n != want) {
                msg_error(op, "%s: %" PRId64 " bytes of data, but its header says %" PRId64,
                          entry_name(e), n, want);
                pr->failed = 1;
                break;
            }
            pr->bytes += (uint64_t)n;
        }
    }
    if (!pr->failed && archive_write_close(a) != ARCHIVE_OK) {
        if (archive_errno(a) != EPIPE)
            msg_error(op, "%s", aerr(a));
        pr->failed = 1;
    }
    if (!pr->failed && (pr->entries != pr->entries_in || pr->bytes != pr->bytes_declared)) {
        msg_error(op, "copied %" PRIu64 " entries (%" PRIu64 " bytes) of %" PRIu64
                      " (%" PRIu64 " bytes)",
                  pr->entries, pr->bytes, pr->entries_in, pr->bytes_declared);
        pr->failed = 1;
    }
out:
    if (src)
        archive_read_free(src);
    if (a)
        archive_write_free(a);
    last_table(pr);
    pipe_close_writer(&pr->pipe, pr->failed);
    return NULL;
}

/* Run a producer thread and compress what it makes into `out` (NULL: stdout). */
static void compress_tar(const struct options *opt, const char *opname, const char *out,
                         struct producer *pr, void *(*fn)(void *))
{
    int ofd = STDOUT_FILENO;
    struct stat osb;
    if (!out) {
        if (output_terminal_refused(opt))
            return;
    } else if ((ofd = output_open(opt, out, opname, NULL)) < 0) {
        return;
    }
    if (fstat(ofd, &osb) == 0 && S_ISREG(osb.st_mode)) {
        pr->skip_dev = osb.st_dev;
        pr->skip_ino = osb.st_ino;
        pr->have_skip = 1;
    }
    if (pipe_init(&pr->pipe) != 0) {
        msg_error(opname, "%s", strerror(ENOMEM));
        goto fail;
    }
    pthread_t t;
    if (start_thread(&t, fn, pr) != 0) {
        msg_error(opname, "cannot start a thread: %s", strerror(errno));
        pipe_free(&pr->pipe);
        goto fail;
    }
    struct progress prog;
    mbz_options o;
    mbz_stats st;
    mbz_error err;
    struct fdio fo = { ofd, 0 };
    memset(&st, 0, sizeof st);
    memset(&err, 0, sizeof err);
    progress_init(&prog, opname, 0, 0, opt->verbose > 0 && !opt->quiet);
    cli_options(opt, &o, &prog);
    /* one frame, cut around large members, with a seek index whose annex is the
     * member table (archive_members.c), so that -l and -x MEMBER on the file read
     * only what they need */
    o.cut = pipe_cut_cb;
    o.cut_user = &pr->pipe;
    o.index = opt->index != 0;
    o.index_annex = o.index ? pipe_annex_cb : NULL;
    o.index_annex_user = &pr->pipe;
    int rc = mbz_compress_stream(&o, pipe_read_cb, &pr->pipe, fdio_write, &fo, &st, &err);
    progress_done(&prog);
    if (rc != MBZ_OK)
        pipe_close_reader(&pr->pipe);
    pthread_join(t, NULL);
    pipe_free(&pr->pipe);
    if (pr->failed)
        goto fail;                      /* the producer said why */
    if (rc != MBZ_OK) {
        msg_mbz(opname, rc, &err);
        goto fail;
    }
    if (out) {
        if (fchmod(ofd, new_file_mode()) != 0)
            msg_warn(out, "cannot set permissions: %s", strerror(errno));
        if (output_finish(opt, ofd, out) != 0)
            return;
    }
    if (opt->verbose && !opt->quiet)
        fprintf(stderr, "%s: %5.1f%% (%.3f bits/byte, %" PRIu64 " -> %" PRIu64
                        " bytes, %" PRIu64 " entries)%s%s\n",
                opname, pct_saved(st.bytes_in, st.bytes_out),
                bits_per_byte(st.bytes_in, st.bytes_out), st.bytes_in, st.bytes_out,
                pr->entries, out ? " -- created " : "", out ? out : "");
    return;
fail:
    if (out)
        output_abort(ofd);
}

/* mbzip -r DIR: DIR.tar.mbz next to DIR (names inside start with DIR's last part). */
void create_archive(const struct options *opt, const char *name)
{
    if (strcmp(name, "-") == 0) {
        msg_error(NULL, "-r archives directories and files, not standard input");
        return;
    }
    struct stat sb;
    if (stat(name, &sb) != 0) {
        msg_error(name, "%s", strerror(errno));
        return;
    }
    size_t n = strlen(name);
    while (n > 1 && name[n - 1] == '/')
        n--;
    char *path = strndup(name, n);
    if (!path) {
        msg_error(name, "%s", strerror(ENOMEM));
        return;
    }
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    struct producer pr;
    memset(&pr, 0, sizeof pr);
    pr.path = path;
    pr.strip = (size_t)(base - path);
    char *out = NULL;
    if (!opt->to_stdout) {
        if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
            msg_error(name, "no archive name can be made from this name; "
                            "give the directory by its name, or use -c");
            free(path);
            return;
        }
        size_t m = strlen(opt->suffix);
        out = malloc(n + 4 + m + 1);
        if (!out) {
            msg_error(name, "%s", strerror(ENOMEM));
            free(path);
            return;
        }
        memcpy(out, path, n);
        memcpy(out + n, ".tar", 4);
        memcpy(out + n + 4, opt->suffix, m + 1);
    }
    if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        pr.strip = 0;          /* -c with ".": names as given */
    compress_tar(opt, name, out, &pr, create_main);
    free(out);
    free(path);
}

/* mbzip --repack A.tar.gz: A.tar.mbz. */
void repack_file(const struct options *opt, const char *name)
{
    static const char *const sufs[] = {
        ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tbz", ".tar.xz", ".txz", ".tar.zst",
        ".tzst", ".tar.lz", ".tar.lzma", ".tlz", ".tar.lz4", ".tar.Z", ".taZ", ".tar",
        ".zip", ".7z", ".cpio", ".iso", ".rar", ".cab", ".ar", ".xar", ".lha", ".lzh",
    };
    if (strcmp(name, "-") == 0) {
        msg_error(NULL, "--repack needs a file name");
        return;
    }
    struct stat sb;
    if (stat(name, &sb) != 0) {
        msg_error(name, "%s", strerror(errno));
        return;
    }
    if (!S_ISREG(sb.st_mode)) {
        msg_warn(name, "is not a regular file -- ignored");
        return;
    }
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof sufs / sizeof sufs[0]; i++) {
        const char *slash = strrchr(name, '/');
        const char *base = slash ? slash + 1 : name;
        if (ends_with(base, sufs[i])) {
            n -= strlen(sufs[i]);
            break;
        }
    }
    char *out = NULL;
    if (!opt->to_stdout) {
        size_t m = strlen(opt->suffix);
        out = malloc(n + 4 + m + 1);
        if (!out) {
            msg_error(name, "%s", strerror(ENOMEM));
            return;
        }
        memcpy(out, name, n);
        memcpy(out + n, ".tar", 4);
        memcpy(out + n + 4, opt->suffix, m + 1);
        if (strcmp(out, name) == 0) {
            msg_warn(name, "already has %s.tar suffix -- unchanged", opt->suffix);
            free(out);
            return;
        }
    }
    struct producer pr;
    memset(&pr, 0, sizeof pr);
    pr.src_name = name;
    compress_tar(opt, name, out, &pr, repack_main);
    free(out);
}
