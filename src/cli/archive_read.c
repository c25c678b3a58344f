/*
 * archive_read.c - reading archives: mbzip -x (secure extraction), -l and -t of .tar.mbz
 * and anything else libarchive reads.
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

/* ------------------------------------------------------------------ reading tar */

struct decomp {
    const struct options *opt;
    struct pipe pipe;
    int fd;
    int rc;
    mbz_error err;
    mbz_stats st;
    struct progress prog;
    char buf[IOBUF];
};

static void *decomp_main(void *arg)
{
    struct decomp *d = arg;
    mbz_options o;
    struct fdio in = { d->fd, 0 };
    cli_options(d->opt, &o, &d->prog);
    d->rc = mbz_decompress_stream(&o, fdio_read, &in, pipe_write_cb, &d->pipe, &d->st, &d->err);
    pipe_close_writer(&d->pipe, d->rc != MBZ_OK);
    return NULL;
}

static la_ssize_t tar_read_cb(struct archive *a, void *user, const void **buf)
{
    struct decomp *d = user;
    long long n = pipe_get(&d->pipe, d->buf, sizeof d->buf);
    if (n < 0) {
        archive_set_error(a, EIO, "the compressed data cannot be decoded");
        return -1;
    }
    *buf = d->buf;
    return (la_ssize_t)n;
}

/* Random access (mbz_seekable, mbz.h) for an archive in a regular file, when only
 * part of it is wanted (-l, or named members): libarchive skips the data of the
 * entries it does not need through the skip callback, so only the blocks that
 * hold tar headers and wanted members are decoded. */
struct seekin {
    mbz_seekable *s;
    uint64_t pos, size;
    int rc;
    mbz_error err;
    char buf[IOBUF];
};

static la_ssize_t seek_read_cb(struct archive *a, void *user, const void **buf)
{
    struct seekin *r = user;
    size_t got;
    r->rc = mbz_seekable_read(r->s, r->pos, r->buf, sizeof r->buf, &got, &r->err);
    if (r->rc != MBZ_OK) {
        archive_set_error(a, EIO, "the compressed data cannot be decoded");
        return -1;
    }
    r->pos += got;
    *buf = r->buf;
    return (la_ssize_t)got;
}

static la_int64_t seek_skip_cb(struct archive *a, void *user, la_int64_t request)
{
    (void)a;
    struct seekin *r = user;
    uint64_t left = r->size - r->pos;
    uint64_t k = request <= 0 ? 0 : (uint64_t)request < left ? (uint64_t)request : left;
    r->pos += k;
    return (la_int64_t)k;
}

/* A tar reader (NULL if out of memory). */
static struct archive *tar_reader(void)
{
    struct archive *a = archive_read_new();
    if (a) {
        archive_read_support_format_tar(a);
        archive_read_support_filter_none(a);
    }
    return a;
}

/* Open a on the random-access stream r, from r->pos on. */
static int open_seekin(struct archive *a, struct seekin *r)
{
    return archive_read_set_read_callback(a, seek_read_cb) == ARCHIVE_OK &&
                   archive_read_set_skip_callback(a, seek_skip_cb) == ARCHIVE_OK &&
                   archive_read_set_callback_data(a, r) == ARCHIVE_OK &&
                   archive_read_open1(a) == ARCHIVE_OK
               ? ARCHIVE_OK
               : ARCHIVE_FATAL;
}

/* Is entry `path` one of the named members, or inside one (a directory)? Marks the
 * members it matches in found[]. With no members, every entry is. */
static int wanted(const struct options *opt, const char *path, char *found)
{
    if (opt->n_members == 0)
        return 1;
    int hit = 0;
    while (path[0] == '.' && path[1] == '/')
        path += 2;
    for (int i = 0; i < opt->n_members; i++) {
        const char *m = opt->members[i];
        while (m[0] == '.' && m[1] == '/')
            m += 2;
        size_t n = strlen(m);
        while (n > 1 && m[n - 1] == '/')
            n--;
        if (strncmp(path, m, n) == 0 && (path[n] == '\0' || path[n] == '/')) {
            found[i] = 1;
            hit = 1;
        }
    }
    return hit;
}

/* A relative name without ".." components (others are for libarchive to refuse). */
static int plain_relative(const char *p)
{
    if (p[0] == '/')
        return 0;
    for (const char *s = p; (s = strstr(s, "..")) != NULL; s += 2)
        if ((s == p || s[-1] == '/') && (s[2] == '\0' || s[2] == '/'))
            return 0;
    return 1;
}

/* Keep only user.* extended attributes: security.* (file capabilities, SELinux
 * labels) and trusted.* from an archive are not ours to restore. */
static void keep_user_xattrs(struct archive_entry *e)
{
    int n = archive_entry_xattr_reset(e);
    if (n <= 0)
        return;
    struct { char *name; void *value; size_t size; } *keep = calloc((size_t)n, sizeof *keep);
    int k = 0, dropped = 0;
    const char *name;
    const void *value;
    size_t size;
    if (!keep)
        return;
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
        if (strncmp(name, "user.", 5) != 0 || k >= n) {
            dropped = 1;
            continue;
        }
        keep[k].name = strdup(name);
        keep[k].value = malloc(size ? size : 1);
        if (keep[k].name && keep[k].value)
            memcpy(keep[k].value, value, size);
        keep[k].size = size;
        k++;
    }
    if (dropped) {
        archive_entry_xattr_clear(e);
        for (int i = 0; i < k; i++)
            if (keep[i].name && keep[i].value)
                archive_entry_xattr_add_entry(e, keep[i].name, keep[i].value, keep[i].size);
    }
    for (int i = 0; i < k; i++) {
        free(keep[i].name);
        free(keep[i].value);
    }
    free(keep);
}

/* Extract one entry; 0, or -1 when the archive cannot be read on. */
static int extract_entry(const struct options *opt, const char *opname, struct archive *a,
                         struct archive *ext, struct archive_entry *e)
{
    const char *p = entry_name(e);
    unsigned type = archive_entry_filetype(e);
    if ((type == AE_IFCHR || type == AE_IFBLK) && geteuid() != 0) {
        msg_error(opname, "%s: device node not extracted (only root may create devices)", p);
        return 0;
    }
    if (!opt->force && plain_relative(p)) {
        struct stat sb;
        if (lstat(p, &sb) == 0 && !(type == AE_IFDIR && S_ISDIR(sb.st_mode))) {
            msg_error(opname, "%s: already exists; use -f to overwrite", p);
            return 0;
        }
    }
    keep_user_xattrs(e);
    int r = archive_write_header(ext, e);
    if (r == ARCHIVE_WARN) {
        msg_warn(opname, "%s: %s", p, aerr(ext));
    } else if (r != ARCHIVE_OK) {
        msg_error(opname, "%s: %s", p, aerr(ext));
        return r == ARCHIVE_FATAL ? -1 : 0;
    }
    if (archive_entry_size(e) > 0) {
        for (;;) {
            const void *buf;
            size_t size;
            la_int64_t off;
            r = archive_read_data_block(a, &buf, &size, &off);
            if (r == ARCHIVE_EOF)
                break;
            if (r < ARCHIVE_WARN)
                return -1;                /* the caller reports the reader's error */
            if (archive_write_data_block(ext, buf, size, off) < ARCHIVE_WARN) {
                msg_error(opname, "%s: %s", p, aerr(ext));
                break;                    /* the reader skips the rest */
            }
        }
    }
    r = archive_write_finish_entry(ext);
    if (r == ARCHIVE_WARN)
        msg_warn(opname, "%s: %s", p, aerr(ext));
    else if (r != ARCHIVE_OK)
        msg_error(opname, "%s: %s", p, aerr(ext));
    if (opt->verbose > 1 && !opt->quiet)
        fprintf(stderr, "%s\n", p);
    return 0;
}

static void list_entry(const struct options *opt, struct archive_entry *e)
{
    const char *p = entry_name(e);
    if (!opt->verbose) {
        printf("%s\n", p);
        return;
    }
    char owner[128], date[32];
    const char *u = archive_entry_uname(e), *gr = archive_entry_gname(e);
    char ub[24], gb[24];
    if (!u || !*u) {
        snprintf(ub, sizeof ub, "%" PRId64, (int64_t)archive_entry_uid(e));
        u = ub;
    }
    if (!gr || !*gr) {
        snprintf(gb, sizeof gb, "%" PRId64, (int64_t)archive_entry_gid(e));
        gr = gb;
    }
    snprintf(owner, sizeof owner, "%s/%s", u, gr);
    time_t t = archive_entry_mtime(e);
    struct tm tm;
    if (localtime_r(&t, &tm))
        strftime(date, sizeof date, "%Y-%m-%d %H:%M", &tm);
    else
        strcpy(date, "?");
    unsigned type = archive_entry_filetype(e);
    printf("%s %-17s %12" PRId64 " %s %s", archive_entry_strmode(e), owner,
           (int64_t)archive_entry_size(e), date, p);
    if (archive_entry_hardlink(e))
        printf(" link to %s", archive_entry_hardlink(e));
    else if (type == AE_IFLNK && archive_entry_symlink(e))
        printf(" -> %s", archive_entry_symlink(e));
    putchar('\n');
}

/* ------------------------------------------------------------------ by member table */

/* Through the member tables of an archive's seek indexes (archive_members.c): -l
 * reads nothing else, -x MEMBER decodes from each wanted member's header on. */
struct by_table {
    const struct options *opt;
    const char *opname;
    enum tar_action act;
    struct seekin *sk;
    struct archive *ext;
    char *found;
    uint64_t entries;
    char reason[256];        /* why extraction stopped ("" while it goes on) */
};

static int count_member(void *user, uint64_t offset, struct archive_entry *e)
{
    (void)user, (void)offset, (void)e;
    return 0;
}

/* Every frame has a table that reads well: the archive was made with them. */
static int have_tables(mbz_seekable *s)
{
    mbz_seekable_info info;
    mbz_seekable_get_info(s, &info);
    if (info.frames_indexed != info.frames)
        return 0;
    for (uint64_t f = 0; f < info.frames; f++) {
        const void *t;
        size_t n;
        uint64_t start;
        if (mbz_seekable_annex(s, f, &t, &n, &start) != MBZ_OK || !t ||
            member_table_walk(t, n, start, count_member, NULL) != 0)
            return 0;
    }
    return 1;
}

/* Extract the entry whose tar header starts at `offset`, as the table names it. */
static int extract_at(struct by_table *b, uint64_t offset, const char *name)
{
    struct archive *a = tar_reader();
    struct archive_entry *e;
    int rc = -1;
    if (!a) {
        snprintf(b->reason, sizeof b->reason, "%s", strerror(ENOMEM));
        return -1;
    }
    b->sk->pos = offset;
    if (open_seekin(a, b->sk) != ARCHIVE_OK) {
        snprintf(b->reason, sizeof b->reason, "%s", aerr(a));
    } else {
        int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_WARN)
            msg_warn(b->opname, "%s: %s", entry_name(e), aerr(a));
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
            snprintf(b->reason, sizeof b->reason, "%s", aerr(a));
        else if (strcmp(entry_name(e), name) != 0)
            snprintf(b->reason, sizeof b->reason,
                     "the archive's member table says %s where the archive has %s", name,
                     entry_name(e));
        else if (extract_entry(b->opt, b->opname, a, b->ext, e) != 0)
            snprintf(b->reason, sizeof b->reason, "%s", aerr(a));
        else
            rc = 0;
    }
    archive_read_free(a);
    return rc;
}

static int table_member(void *user, uint64_t offset, struct archive_entry *e)
{
    struct by_table *b = user;
    if (!wanted(b->opt, entry_name(e), b->found))
        return 0;
    b->entries++;
    if (b->act == TAR_LIST) {
        list_entry(b->opt, e);
        return 0;
    }
    return extract_at(b, offset, entry_name(e)) != 0;
}

/* Decompress fd and read it as a tar archive: extract, list or test it (the named
 * members only, when there are). With `at` (a regular file), through random access
 * instead of a full decompression. */
void read_tar(const struct options *opt, const char *opname, int fd, uint64_t size,
              enum tar_action act, struct file_at *at)
{
    struct decomp *d = calloc(1, sizeof *d);
    struct seekin *sk = NULL;
    struct archive *a = NULL, *ext = NULL;
    char *found = calloc((size_t)opt->n_members + 1, 1);
    if (!d || !found || pipe_init(&d->pipe) != 0) {
        msg_error(opname, "%s", strerror(ENOMEM));
        free(d);
        free(found);
        return;
    }
    d->fd = fd;
    d->opt = opt;
    pthread_t t;
    if (at) {
        mbz_options o;
        cli_options(opt, &o, NULL);
        sk = calloc(1, sizeof *sk);
        if (!sk) {
            msg_error(opname, "%s", strerror(ENOMEM));
        } else if ((sk->rc = mbz_seekable_open(&o, file_pread, at, at->size, &sk->s, &sk->err)) !=
                   MBZ_OK) {
            msg_mbz(opname, sk->rc, &sk->err);
        } else {
            sk->size = mbz_seekable_content_size(sk->s);
            mbz_seekable_info info;
            mbz_seekable_get_info(sk->s, &info);
            if (info.indexes_damaged)
                warn_index_damaged(opname, info.indexes_damaged);
        }
        if (!sk || sk->rc != MBZ_OK) {
            free(sk);
            pipe_free(&d->pipe);
            free(d);
            free(found);
            return;
        }
    } else {
        progress_init(&d->prog, opname, size, 1, opt->verbose > 0 && !opt->quiet);
        if (start_thread(&t, decomp_main, d) != 0) {
            msg_error(opname, "cannot start a thread: %s", strerror(errno));
            pipe_free(&d->pipe);
            free(d);
            free(found);
            return;
        }
    }
    a = tar_reader();
    if (act == TAR_EXTRACT) {
        int flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_ACL |
                    ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                    ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS | ARCHIVE_EXTRACT_SECURE_SYMLINKS;
        if (!opt->force)
            flags |= ARCHIVE_EXTRACT_NO_OVERWRITE;
        if (geteuid() == 0)
            flags |= ARCHIVE_EXTRACT_OWNER;
        ext = archive_write_disk_new();
        if (ext) {
            archive_write_disk_set_options(ext, flags);
            archive_write_disk_set_standard_lookup(ext);
        }
    }
    int read_failed = 0, reached_end = 0;
    uint64_t entries = 0;
    const char *table_failure = NULL;
    struct by_table bt = { opt, opname, act, sk, ext, found, 0, "" };
    if (!a || (act == TAR_EXTRACT && !ext)) {
        msg_error(opname, "%s", strerror(ENOMEM));
        read_failed = -1;
    } else if (sk && act != TAR_TEST && have_tables(sk->s)) {
        mbz_seekable_info info;
        mbz_seekable_get_info(sk->s, &info);
        for (uint64_t f = 0; f < info.frames && !bt.reason[0]; f++) {
            const void *tab;
            size_t n;
            uint64_t start;
            mbz_seekable_annex(sk->s, f, &tab, &n, &start);
            member_table_walk(tab, n, start, table_member, &bt);
        }
        entries = bt.entries;
        if (bt.reason[0])
            table_failure = bt.reason;
        else
            reached_end = 1;
    } else if (sk ? open_seekin(a, sk) != ARCHIVE_OK
                  : archive_read_open(a, d, NULL, tar_read_cb, NULL) != ARCHIVE_OK) {
        read_failed = 1;
    } else {
        for (;;) {
            struct archive_entry *e;
            int r = archive_read_next_header(a, &e);
            if (r == ARCHIVE_EOF) {
                reached_end = 1;
                break;
            }
            if (r == ARCHIVE_WARN) {
                msg_warn(opname, "%s: %s", entry_name(e), aerr(a));
            } else if (r != ARCHIVE_OK) {
                read_failed = 1;
                break;
            }
            if (!wanted(opt, entry_name(e), found))
                continue;     /* its data is skipped by the next header read */
            entries++;
            if (act == TAR_LIST) {
                list_entry(opt, e);
            } else if (act == TAR_EXTRACT) {
                if (extract_entry(opt, opname, a, ext, e) != 0) {
                    read_failed = 1;
                    break;
                }
            }
        }
    }
    if (sk) {
        /* random access: nothing runs beside us; a decoding error is the cause */
        d->rc = sk->rc;
        d->err = sk->err;
        d->st.frame_bytes = at->size;
        d->st.content_size = sk->size;
    } else {
        if (reached_end) {
            /* The end of the tar is not the end of the frame: read on, so that the
             * whole-content checksum is checked. */
            while (pipe_get(&d->pipe, d->buf, sizeof d->buf) > 0)
                ;
        } else {
            pipe_close_reader(&d->pipe);
        }
        pthread_join(t, NULL);
        progress_done(&d->prog);
    }
    if (act == TAR_EXTRACT && ext) {
        /* Directory modes and times are set last, once their contents exist. */
        if (archive_write_close(ext) < ARCHIVE_WARN)
            msg_error(opname, "%s", aerr(ext));
    }
    fflush(stdout);
    if (d->rc != MBZ_OK && !(d->rc == MBZ_ERR_IO && d->err.sys_errno == EPIPE))
        msg_mbz(opname, d->rc, &d->err);   /* the cause of any reader error */
    else if (table_failure)
        msg_error(opname, "%s", table_failure);
    else if (read_failed > 0)
        msg_error(opname, "%s", a ? aerr(a) : strerror(ENOMEM));
    else if (d->rc != MBZ_OK)
        msg_mbz(opname, d->rc, &d->err);
    else if (opt->verbose && !opt->quiet)
        fprintf(stderr, "%s: %s%" PRIu64 " entries, %" PRIu64 " -> %" PRIu64 " bytes\n",
                opname, act == TAR_TEST ? "OK, " : act == TAR_EXTRACT ? "extracted " : "",
                entries, d->st.frame_bytes, d->st.content_size);
    if (reached_end)
        for (int i = 0; i < opt->n_members; i++)
            if (!found[i])
                msg_error(opname, "%s: not found in the archive", opt->members[i]);
    if (ext)
        archive_write_free(ext);
    if (a)
        archive_read_free(a);
    if (sk) {
        mbz_seekable_close(sk->s);
        free(sk);
    }
    pipe_free(&d->pipe);
    free(d);
    free(found);
}


/* ------------------------------------------------------------------ operands */

void read_operand(const struct options *opt, const char *name)
{
    enum tar_action act = opt->mode == MODE_LIST ? TAR_LIST
                        : opt->mode == MODE_TEST ? TAR_TEST : TAR_EXTRACT;
    int fd = STDIN_FILENO;
    const char *shown = name;
    if (strcmp(name, "-") == 0) {
        shown = "(stdin)";
        if (!opt->force && isatty(STDIN_FILENO)) {
            msg_error(NULL, "compressed data not read from a terminal. "
                            "Use -f to force decompression.");
            return;
        }
    } else {
        fd = open(name, O_RDONLY | O_NOCTTY);
        if (fd < 0) {
            msg_error(name, "%s", strerror(errno));
            return;
        }
    }
    struct stat sb;
    uint64_t size = 0;
    if (fstat(fd, &sb) == 0) {
        if (S_ISDIR(sb.st_mode)) {
            msg_warn(name, "is a directory -- ignored");
            goto done;
        }
        if (S_ISREG(sb.st_mode))
            size = (uint64_t)sb.st_size;
    }
    int cwd = -1;
    if (act == TAR_EXTRACT && opt->dir) {
#ifdef O_PATH
        cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);   /* no read permission needed */
#else
        cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
#endif
        if (cwd < 0) {
            msg_error(".", "%s", strerror(errno));
            goto done;
        }
        if (chdir(opt->dir) != 0) {
            msg_error(opt->dir, "%s", strerror(errno));
            close(cwd);
            goto done;
        }
    }
    /* Listing, or a part of an archive in a regular file: random access (only the
     * blocks that hold tar headers and the wanted members are decoded). Extracting
     * or testing all of it decodes the whole stream, which also checks the
     * checksum of the whole content. */
    struct file_at at;
    int partial = act == TAR_LIST || opt->n_members > 0;
    if (partial && file_at_init(&at, fd, fd == STDIN_FILENO) == 0)
        read_tar(opt, shown, fd, size, act, &at);
    else
        read_tar(opt, shown, fd, size, act, NULL);
    if (cwd >= 0) {
        if (fchdir(cwd) != 0)
            msg_error(".", "cannot return to the directory: %s", strerror(errno));
        close(cwd);
    }
done:
    if (fd != STDIN_FILENO)
        close(fd);
}
