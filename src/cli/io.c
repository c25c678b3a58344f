/*
 * io.c - messages, file-descriptor callbacks and the progress line of mbzip.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static void vmsg(const char *name, const char *fmt, va_list ap)
{
    char text[1024];
    vsnprintf(text, sizeof text, fmt, ap);
    /* One line per message, whatever the library or a file name contains. */
    for (char *s = text; *s; s++)
        if (*s == '\n' || *s == '\r')
            *s = ' ';
    fflush(stdout);
    if (name)
        fprintf(stderr, "%s: %s: %s\n", PROGNAME, name, text);
    else
        fprintf(stderr, "%s: %s\n", PROGNAME, text);
}

/* Messages go to stderr, which is the process's: so are the exit status they
 * build up and how quiet warnings are. */
static int exit_status;   /* 0, 1 (an error) or 2 (a warning, no error) */
static int warnings_off;  /* -q */

void msg_init(int quiet)
{
    exit_status = 0;
    warnings_off = quiet;
}

int msg_exit_status(void)
{
    return exit_status;
}

void msg_error(const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg(name, fmt, ap);
    va_end(ap);
    exit_status = 1;
}

void msg_warn(const char *name, const char *fmt, ...)
{
    if (exit_status == 0)
        exit_status = 2;
    if (warnings_off)
        return;
    va_list ap;
    va_start(ap, fmt);
    vmsg(name, fmt, ap);
    va_end(ap);
}

void msg_mbz(const char *name, int rc, const mbz_error *err)
{
    const char *text = (err && err->msg[0]) ? err->msg : mbz_strerror(rc);
    if (rc == MBZ_ERR_IO && err && err->sys_errno && !err->msg[0])
        text = strerror(err->sys_errno);
    if (rc == MBZ_ERR_MODEL_UNKNOWN && !strstr(text, "--model"))
        msg_error(name, "%s (give the model with --model FILE or MBZIP_MODEL)", text);
    else
        msg_error(name, "%s", text);
}

long long fdio_read(void *user, void *buf, size_t n)
{
    struct fdio *f = user;
    for (;;) {
        ssize_t r = read(f->fd, buf, n);
        if (r >= 0) {
            f->count += (uint64_t)r;
            return (long long)r;
        }
        if (errno != EINTR)
            return -1;
    }
}

int fdio_write(void *user, const void *buf, size_t n)
{
    struct fdio *f = user;
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(f->fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EPIPE && f->fd == STDOUT_FILENO) {
                /* The reader went away and our parent ignores SIGPIPE (bsdtar
                 * does): end as if SIGPIPE had not been ignored, quietly, which is
                 * what readers that stop early (tar padding) expect. */
                signal(SIGPIPE, SIG_DFL);
                raise(SIGPIPE);
                errno = EPIPE;
            }
            return -1;
        }
        if (w == 0) {
            errno = EIO;
            return -1;
        }
        p += w;
        n -= (size_t)w;
        f->count += (uint64_t)w;
    }
    return 0;
}

double pct_saved(uint64_t uncompressed, uint64_t compressed)
{
    if (uncompressed == 0)
        return 0.0;
    return 100.0 * (1.0 - (double)compressed / (double)uncompressed);
}

double bits_per_byte(uint64_t uncompressed, uint64_t compressed)
{
    if (uncompressed == 0)
        return 0.0;
    return 8.0 * (double)compressed / (double)uncompressed;
}

/* ------------------------------------------------------------------ progress */

static double seconds_between(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

void progress_init(struct progress *p, const char *name, uint64_t total, int decompress,
                   int show)
{
    memset(p, 0, sizeof *p);
    p->name = name;
    p->total = total;
    p->decompress = decompress;
    p->enabled = show && isatty(STDERR_FILENO);
    clock_gettime(CLOCK_MONOTONIC, &p->start);
    p->last = p->start;
}

void progress_cb(void *user, uint64_t bytes_in, uint64_t bytes_out)
{
    struct progress *p = user;
    if (!p || !p->enabled)
        return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double el = seconds_between(&p->start, &now);
    /* Only long work gets a progress line, and at most a few updates a second. */
    if (el < 1.0 || (p->shown && seconds_between(&p->last, &now) < 0.25))
        return;
    p->last = now;
    uint64_t done = p->decompress ? bytes_out : bytes_in;
    double rate = (double)done / el / 1e6;
    char line[200];
    int len;
    if (p->total > 0) {
        double frac = (double)bytes_in / (double)p->total;
        if (frac > 1.0)
            frac = 1.0;
        long eta = frac > 0.0 ? (long)(el * (1.0 - frac) / frac + 0.5) : -1;
        if (eta >= 0)
            len = snprintf(line, sizeof line, "%s: %5.1f%%  %.2f MB/s  ETA %ld:%02ld:%02ld",
                           p->name, 100.0 * frac, rate, eta / 3600, eta / 60 % 60, eta % 60);
        else
            len = snprintf(line, sizeof line, "%s: %5.1f%%  %.2f MB/s", p->name,
                           100.0 * frac, rate);
    } else {
        len = snprintf(line, sizeof line, "%s: %.1f MB  %.2f MB/s", p->name,
                       (double)bytes_in / 1e6, rate);
    }
    (void)len;
    fprintf(stderr, "\r%s\033[K", line);
    fflush(stderr);
    p->shown = 1;
}

void progress_done(struct progress *p)
{
    if (p->shown) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        p->shown = 0;
    }
}

long long file_pread(void *user, void *buf, size_t n, uint64_t off)
{
    struct file_at *f = user;
    for (;;) {
        ssize_t r = pread(f->fd, buf, n, (off_t)(f->base + off));
        if (r >= 0)
            return (long long)r;
        if (errno != EINTR)
            return -1;
    }
}

int file_at_init(struct file_at *f, int fd, int is_stdin)
{
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
        return -1;
    off_t base = is_stdin ? lseek(fd, 0, SEEK_CUR) : 0;
    if (base < 0 || base > sb.st_size)
        return -1;
    f->fd = fd;
    f->base = (uint64_t)base;
    f->size = (uint64_t)(sb.st_size - base);
    return 0;
}

void warn_index_damaged(const char *name, uint64_t frames)
{
    msg_warn(name, "the seek index of %" PRIu64 " frame%s does not match the data and was ignored "
                   "(the content is complete and checked)", frames, frames == 1 ? "" : "s");
}
