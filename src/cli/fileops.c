/*
 * fileops.c - what mbzip does with one operand.
 *
 * Output files are written under a temporary name in the destination directory
 * (".NAME.XXXXXX"), given the input's mode, owner and times, fsync'ed, closed and
 * renamed into place; only then is the input removed. On an error, or on SIGINT,
 * SIGTERM or SIGHUP, the temporary file is removed and the input is left alone.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#ifndef O_NOFOLLOW
#define O_NOFOLLOW 0
#endif
#ifndef O_NOCTTY
#define O_NOCTTY 0
#endif

/* ------------------------------------------------------------------ signals */

/* The temporary output file, if one exists. The handler removes it and re-raises the
 * signal with its default action. While `crit` is set the main thread is changing
 * the name (creating or renaming the file): the handler only records the signal,
 * and crit_leave() acts on it. */
static char tmp_path[PATH_MAX + 64];
static volatile sig_atomic_t tmp_active;
static volatile sig_atomic_t crit;
static volatile sig_atomic_t pending_sig;

static void die_by_signal(int sig)
{
    if (tmp_active)
        unlink(tmp_path);
    tmp_active = 0;
    signal(sig, SIG_DFL);
    raise(sig);
}

static void on_signal(int sig)
{
    if (crit) {
        pending_sig = sig;
        return;
    }
    die_by_signal(sig);
}

static void crit_enter(void)
{
    crit = 1;
}

static void crit_leave(void)
{
    crit = 0;
    if (pending_sig)
        die_by_signal(pending_sig);
}

void signals_install(void)
{
    /* SIGXFSZ (a file size limit): if it is ignored, writes fail with EFBIG and the
     * normal error path cleans up; if not, the handler removes the temporary file. */
    static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGXFSZ };
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction old, sa;
        /* Keep a signal ignored if our parent ignores it (nohup, background jobs). */
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
            continue;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        for (size_t j = 0; j < sizeof sigs / sizeof sigs[0]; j++)
            sigaddset(&sa.sa_mask, sigs[j]);
        sa.sa_flags = SA_RESTART;
        sigaction(sigs[i], &sa, NULL);
    }
}

/* mkstemp(templ) and, atomically with respect to the signal handler, remember the
 * name so that an interrupt removes it. Returns the fd or -1 (errno set). */
static int tmp_open_registered(char *templ)
{
    crit_enter();
    int fd = mkstemp(templ);
    if (fd >= 0) {
        memcpy(tmp_path, templ, strlen(templ) + 1);
        tmp_active = 1;
    }
    crit_leave();
    return fd;
}

/* Create the temporary file for `out` in its directory. Returns the fd or -1. */
int tmp_create(const char *out)
{
    const char *slash = strrchr(out, '/');
    size_t dirlen = slash ? (size_t)(slash - out + 1) : 0;
    const char *base = out + dirlen;
    char templ[sizeof tmp_path];
    int fd = -1;

    if (dirlen + 1 + strlen(base) + 8 < sizeof templ) {
        snprintf(templ, sizeof templ, "%.*s.%s.XXXXXX", (int)dirlen, out, base);
        fd = tmp_open_registered(templ);
        if (fd >= 0 || errno != ENAMETOOLONG)
            return fd;
    }
    /* The name is too long to decorate: use a short one in the same directory. */
    if (dirlen + 16 >= sizeof templ) {
        errno = ENAMETOOLONG;
        return -1;
    }
    snprintf(templ, sizeof templ, "%.*s.mbzip.XXXXXX", (int)dirlen, out);
    return tmp_open_registered(templ);
}

void tmp_discard(void)
{
    crit_enter();
    if (tmp_active)
        unlink(tmp_path);
    tmp_active = 0;
    crit_leave();
}

/* Rename the temporary file to `out`. Without `replace`, an `out` that appeared
 * since it was checked is not replaced (EEXIST). Returns 0 or -1 with errno. */
int tmp_commit(const char *out, int replace)
{
    int r, e;
    crit_enter();
    if (replace) {
        r = rename(tmp_path, out);
    } else {
        r = -1;
        errno = ENOSYS;
#if defined(RENAME_NOREPLACE)
        r = renameat2(AT_FDCWD, tmp_path, AT_FDCWD, out, RENAME_NOREPLACE);
#endif
        if (r != 0 && (errno == EINVAL || errno == ENOSYS || errno == ENOTSUP)) {
            /* No renameat2 here: a hard link does not replace either. */
            r = link(tmp_path, out);
            if (r == 0)
                unlink(tmp_path);
            else if (errno == EPERM || errno == ENOTSUP || errno == EOPNOTSUPP ||
                     errno == EMLINK)
                r = rename(tmp_path, out);   /* no hard links: checked just before */
        }
    }
    e = errno;
    if (r == 0)
        tmp_active = 0;
    crit_leave();
    errno = e;
    return r;
}

/* tmp_commit, and on failure: discard the temporary output and say why (one line). */
int tmp_commit_or_report(const char *out, int replace)
{
    if (tmp_commit(out, replace) == 0)
        return 0;
    int e = errno;
    tmp_discard();
    if (e == EEXIST)
        msg_error(out, "already exists; use -f to overwrite");
    else
        msg_error(out, "%s", strerror(e));
    return -1;
}

int output_open(const struct options *opt, const char *out, const char *in_name,
                const struct stat *same)
{
    struct stat osb;
    if (lstat(out, &osb) == 0) {
        if (!opt->force) {
            msg_error(out, "already exists; use -f to overwrite");
            return -1;
        }
        if (S_ISDIR(osb.st_mode)) {
            msg_error(out, "is a directory; not overwritten");
            return -1;
        }
        if (same && osb.st_dev == same->st_dev && osb.st_ino == same->st_ino) {
            msg_error(out, "is the same file as %s; not overwritten", in_name);
            return -1;
        }
    } else if (errno != ENOENT) {
        msg_error(out, "%s", strerror(errno));
        return -1;
    }
    int ofd = tmp_create(out);
    if (ofd < 0)
        msg_error(out, "cannot create: %s", strerror(errno));
    return ofd;
}

int output_finish(const struct options *opt, int ofd, const char *out)
{
    if (fsync(ofd) != 0 && errno != EINVAL && errno != EROFS) {
        int e = errno;
        close(ofd);
        tmp_discard();
        msg_error(out, "%s", strerror(e));
        return -1;
    }
    if (close(ofd) != 0) {
        int e = errno;
        tmp_discard();
        msg_error(out, "%s", strerror(e));
        return -1;
    }
    return tmp_commit_or_report(out, opt->force);
}

void output_abort(int ofd)
{
    if (ofd >= 0)
        close(ofd);
    tmp_discard();
}

mode_t new_file_mode(void)
{
    mode_t m = umask(022);
    umask(m);
    return 0666 & ~m;
}

int output_terminal_refused(const struct options *opt)
{
    if (opt->force || !isatty(STDOUT_FILENO))
        return 0;
    msg_error(NULL, "compressed data not written to a terminal. Use -f to force compression.");
    return 1;
}

/* ------------------------------------------------------------------ names */

static int ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return m > 0 && n >= m && strcmp(s + n - m, suf) == 0;
}

static const char *base_name(const char *s)
{
    const char *slash = strrchr(s, '/');
    return slash ? slash + 1 : s;
}

/* The output name for compressing `in`, malloc'ed. */
static char *compressed_name(const struct options *opt, const char *in)
{
    size_t n = strlen(in), m = strlen(opt->suffix);
    char *out = malloc(n + m + 1);
    if (out) {
        memcpy(out, in, n);
        memcpy(out + n, opt->suffix, m + 1);
    }
    return out;
}

/* The output name for decompressing `in` (malloc'ed), or NULL with *unknown set
 * when the name has none of the suffixes: -S SUF, .mbz, .tmbz (-> .tar). */
static char *decompressed_name(const struct options *opt, const char *in, int *unknown)
{
    const char *base = base_name(in);
    size_t blen = strlen(base), n = strlen(in);
    struct { const char *suf; const char *repl; } rules[3];
    int nr = 0;
    if (opt->suffix_given)
        rules[nr].suf = opt->suffix, rules[nr++].repl = "";
    rules[nr].suf = MBZ_SUFFIX, rules[nr++].repl = "";
    rules[nr].suf = ".tmbz", rules[nr++].repl = ".tar";

    *unknown = 0;
    for (int i = 0; i < nr; i++) {
        size_t m = strlen(rules[i].suf);
        /* The name must keep at least one character besides the suffix. */
        if (blen > m && ends_with(base, rules[i].suf)) {
            size_t r = strlen(rules[i].repl);
            char *out = malloc(n - m + r + 1);
            if (!out)
                return NULL;
            memcpy(out, in, n - m);
            memcpy(out + n - m, rules[i].repl, r + 1);
            return out;
        }
    }
    *unknown = 1;
    return NULL;
}

static int has_any_suffix(const struct options *opt, const char *in)
{
    const char *base = base_name(in);
    return (ends_with(base, opt->suffix) && strlen(base) > strlen(opt->suffix)) ||
           (ends_with(base, ".tmbz") && strlen(base) > 5);
}

/* ------------------------------------------------------------------ coding */

void cli_options(const struct options *opt, mbz_options *o, struct progress *p)
{
    mbz_options_init(o);
    if (opt->level)
        o->level = opt->level;
    if (opt->threads >= 0)
        o->threads = opt->threads;
    o->no_mix = opt->no_mix;
    if (opt->model) {
        o->model = opt->model;
        o->models = (const mbz_model *const *)&opt->model;
        o->n_models = 1;
    }
    if (p) {
        o->progress = progress_cb;
        o->progress_user = p;
    }
}

/* Whether a compressed file gets a seek index (doc/format.md, "Seek index"):
 * --index/--no-index, else when it can be of use, as xz and zstd users would
 * expect of a format that seeks: the output is a regular file (it can be read at
 * offsets) or the input's size is known, and the input is not known to be small
 * (1 MiB or less: one block at the default level, decoded whole anyway). */
#define INDEX_MIN_INPUT ((off_t)1 << 20)
static int want_index(const struct options *opt, int in_fd, int out_fd)
{
    if (opt->index >= 0)
        return opt->index;
    struct stat si, so;
    int in_reg = fstat(in_fd, &si) == 0 && S_ISREG(si.st_mode);
    int out_reg = out_fd >= 0 && fstat(out_fd, &so) == 0 && S_ISREG(so.st_mode);
    if (in_reg && si.st_size <= INDEX_MIN_INPUT)
        return 0;
    return in_reg || out_reg;
}

/* Run the mode's library call from in_fd to out_fd (-1: no output). The number
 * of bytes read goes to *nread (may be NULL). */
static int run_codec(const struct options *opt, const char *name, int in_fd, uint64_t in_size,
                     int out_fd, mbz_stats *st, mbz_error *err, uint64_t *nread)
{
    struct progress pr;
    mbz_options o;
    struct fdio in = { in_fd, 0 }, out = { out_fd, 0 };
    int rc;

    progress_init(&pr, name, in_size, opt->mode != MODE_COMPRESS, opt->verbose > 0 && !opt->quiet);
    cli_options(opt, &o, &pr);
    memset(st, 0, sizeof *st);
    memset(err, 0, sizeof *err);
    if (opt->mode == MODE_COMPRESS) {
        o.index = want_index(opt, in_fd, out_fd);
        rc = mbz_compress_stream(&o, fdio_read, &in, fdio_write, &out, st, err);
    } else {
        rc = mbz_decompress_stream(&o, fdio_read, &in, out_fd >= 0 ? fdio_write : NULL,
                                   out_fd >= 0 ? &out : NULL, st, err);
    }
    progress_done(&pr);
    if (rc == MBZ_OK && st->indexes_damaged)
        warn_index_damaged(name, st->indexes_damaged);
    if (nread)
        *nread = in.count;
    return rc;
}

/* Did the regular file on fd change while we read it (another writer truncated or
 * extended it)? Then what we wrote is not a copy of the file. */
static int input_changed(int fd, const struct stat *before, uint64_t nread)
{
    struct stat after;
    if (!S_ISREG(before->st_mode))
        return 0;
    if (nread != (uint64_t)before->st_size)
        return 1;
    if (fstat(fd, &after) != 0)
        return 0;
    return after.st_size != before->st_size ||
           after.st_mtim.tv_sec != before->st_mtim.tv_sec ||
           after.st_mtim.tv_nsec != before->st_mtim.tv_nsec;
}

/* Sizes for the -v line: (uncompressed, compressed). */
static void verbose_sizes(const struct options *opt, const mbz_stats *st, uint64_t *u, uint64_t *c)
{
    if (opt->mode == MODE_COMPRESS) {
        *u = st->bytes_in;
        *c = st->bytes_out;
    } else {
        *u = st->content_size;
        *c = st->frame_bytes ? st->frame_bytes : st->bytes_in;
    }
}

static void verbose_line(const struct options *opt, const char *name, const mbz_stats *st,
                         const char *replaced)
{
    if (!opt->verbose || opt->quiet)
        return;
    uint64_t u, c;
    verbose_sizes(opt, st, &u, &c);
    if (opt->mode == MODE_TEST) {
        fprintf(stderr, "%s: OK\n", name);
        return;
    }
    fprintf(stderr, "%s: %5.1f%% (%.3f bits/byte, %" PRIu64 " -> %" PRIu64 " bytes)", name,
            pct_saved(u, c), bits_per_byte(u, c), opt->mode == MODE_COMPRESS ? u : c,
            opt->mode == MODE_COMPRESS ? c : u);
    if (replaced)
        fprintf(stderr, " -- %s %s", opt->keep ? "created" : "replaced with", replaced);
    fputc('\n', stderr);
}

/* Standard input to standard output (or nowhere for -t, a table for -l). */
static void process_stdin(const struct options *opt)
{
    const char *name = "(stdin)";
    if (opt->mode == MODE_COMPRESS) {
        if (output_terminal_refused(opt))
            return;
    } else if (!opt->force && isatty(STDIN_FILENO)) {
        msg_error(NULL, "compressed data not read from a terminal. "
                        "Use -f to force decompression.");
        return;
    }
    if (opt->mode == MODE_LIST) {
        list_file(opt, name, STDIN_FILENO);
        return;
    }
    struct stat sb;
    uint64_t size = 0;
    if (fstat(STDIN_FILENO, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0) {
        off_t pos = lseek(STDIN_FILENO, 0, SEEK_CUR);
        if (pos >= 0 && pos < sb.st_size)
            size = (uint64_t)(sb.st_size - pos);
    }
    mbz_stats st;
    mbz_error err;
    int rc = run_codec(opt, name, STDIN_FILENO, size, opt->mode == MODE_TEST ? -1 : STDOUT_FILENO,
                       &st, &err, NULL);
    if (rc != MBZ_OK) {
        msg_mbz(name, rc, &err);
        return;
    }
    verbose_line(opt, name, &st, NULL);
}

/* Give the output the input's owner, mode and times. */
static void copy_metadata(int fd, const struct stat *sb, const char *out)
{
    if (fchown(fd, sb->st_uid, sb->st_gid) != 0) {
        /* Not allowed to give it away: keep the group at least, if we may. */
        if (fchown(fd, (uid_t)-1, sb->st_gid) != 0 && errno != EPERM)
            msg_warn(out, "cannot set owner: %s", strerror(errno));
    }
    if (fchmod(fd, sb->st_mode & 07777) != 0)
        msg_warn(out, "cannot set permissions: %s", strerror(errno));
    struct timespec ts[2] = { sb->st_atim, sb->st_mtim };
    if (futimens(fd, ts) != 0)
        msg_warn(out, "cannot set times: %s", strerror(errno));
}

void process_operand(const struct options *opt, const char *name)
{
    if (strcmp(name, "-") == 0) {
        process_stdin(opt);
        return;
    }

    /* Write a file (not stdout, not -t/-l)? Then the input is replaced. */
    int file_out = (opt->mode == MODE_COMPRESS || opt->mode == MODE_DECOMPRESS) && !opt->to_stdout;
    struct stat lsb;
    if (lstat(name, &lsb) != 0) {
        msg_error(name, "%s", strerror(errno));
        return;
    }
    if (S_ISDIR(lsb.st_mode)) {
        msg_warn(name, "is a directory -- ignored");
        return;
    }
    if (file_out && S_ISLNK(lsb.st_mode) && !opt->force) {
        msg_warn(name, "is a symbolic link -- ignored");
        return;
    }

    if (file_out) {
        /* Do not open a FIFO or a device only to find out (a FIFO would block). */
        struct stat tsb = lsb;
        if (S_ISLNK(lsb.st_mode) && stat(name, &tsb) != 0) {
            msg_error(name, "%s", strerror(errno));
            return;
        }
        if (S_ISDIR(tsb.st_mode)) {
            msg_warn(name, "is a directory -- ignored");
            return;
        }
        if (!S_ISREG(tsb.st_mode)) {
            msg_warn(name, "is not a regular file -- ignored");
            return;
        }
    }

    char *out = NULL;
    if (file_out) {
        if (opt->mode == MODE_COMPRESS) {
            if (has_any_suffix(opt, name)) {
                msg_warn(name, "already has %s suffix -- unchanged",
                         ends_with(name, opt->suffix) ? opt->suffix : ".tmbz");
                return;
            }
            out = compressed_name(opt, name);
        } else {
            int unknown;
            out = decompressed_name(opt, name, &unknown);
            if (unknown) {
                msg_warn(name, "unknown suffix -- ignored");
                return;
            }
        }
        if (!out) {
            msg_error(name, "%s", strerror(ENOMEM));
            return;
        }
    }

    int fd = open(name, O_RDONLY | O_NOCTTY | (file_out && !opt->force ? O_NOFOLLOW : 0));
    if (fd < 0) {
        if (errno == ELOOP && file_out && !opt->force)
            msg_warn(name, "is a symbolic link -- ignored");
        else
            msg_error(name, "%s", strerror(errno));
        free(out);
        return;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        msg_error(name, "%s", strerror(errno));
        goto done;
    }
    if (S_ISDIR(sb.st_mode)) {
        msg_warn(name, "is a directory -- ignored");
        goto done;
    }
    if (file_out && !S_ISREG(sb.st_mode)) {
        msg_warn(name, "is not a regular file -- ignored");
        goto done;
    }
    if (file_out && !opt->keep && !opt->force && sb.st_nlink > 1) {
        msg_warn(name, "has %ju other link%s -- unchanged", (uintmax_t)(sb.st_nlink - 1),
                 sb.st_nlink > 2 ? "s" : "");
        goto done;
    }
    uint64_t size = S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : 0;

    if (opt->mode == MODE_LIST) {
        list_file(opt, name, fd);
        goto done;
    }

    mbz_stats st;
    mbz_error err;
    if (!file_out) {
        int out_fd = opt->mode == MODE_TEST ? -1 : STDOUT_FILENO;
        if (opt->mode == MODE_COMPRESS && output_terminal_refused(opt))
            goto done;
        uint64_t nread;
        int rc = run_codec(opt, name, fd, size, out_fd, &st, &err, &nread);
        if (rc != MBZ_OK)
            msg_mbz(name, rc, &err);
        else if (opt->mode == MODE_COMPRESS && input_changed(fd, &sb, nread))
            msg_error(name, "file changed while it was being compressed");
        else
            verbose_line(opt, name, &st, NULL);
        goto done;
    }

    /* File to file. */
    int ofd = output_open(opt, out, name, &sb);
    if (ofd < 0)
        goto done;
    uint64_t nread;
    int rc = run_codec(opt, name, fd, size, ofd, &st, &err, &nread);
    if (rc != MBZ_OK) {
        output_abort(ofd);
        msg_mbz(name, rc, &err);
        goto done;
    }
    if (input_changed(fd, &sb, nread)) {
        output_abort(ofd);
        msg_error(name, "file changed while it was being %s; not replaced",
                  opt->mode == MODE_COMPRESS ? "compressed" : "decompressed");
        goto done;
    }
    copy_metadata(ofd, &sb, out);
    if (output_finish(opt, ofd, out) != 0)
        goto done;
    verbose_line(opt, name, &st, out);
    /* (Someone else may have removed it meanwhile: that is no error.) */
    if (!opt->keep && unlink(name) != 0 && errno != ENOENT)
        msg_error(name, "cannot remove input: %s", strerror(errno));

done:
    close(fd);
    free(out);
}
