/*
 * bench.c - mbzip -b: the in-memory benchmark (like zstd -b).
 *
 *   mbzip -b[LEVEL] [-e LEVEL] [-i RUNS] [-T N] [--csv] FILE...
 *
 * For each file and each level from -b to -e, the file is read into memory once,
 * then compressed RUNS times and decompressed RUNS times with mbz_compress_buffer /
 * mbz_decompress_buffer; every decompression is compared with the original (a
 * mismatch or a library error is an error: exit status 1). One line per file and
 * level: sizes, ratio, bits per byte, the model's ideal bits per byte next to what
 * the coder produced for the same (modelled) bytes, the median speeds and the peak
 * memory.
 *
 * Each file x level runs in a child process (fork) so that its peak resident set
 * (ru_maxrss from wait4) is its own and not the maximum of everything before it; it
 * includes the input, the compressed and the decompressed copies. Speeds are in
 * MB/s (10^6 bytes of uncompressed data per second, wall clock, median of RUNS).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define BENCH_RUNS_DEFAULT 3

/* What a child sends back through its pipe. */
struct bench_result {
    int ok;                  /* 1: every round trip matched */
    int rc;                  /* library status of the failing call, or MBZ_OK */
    char msg[400];           /* its message */
    mbz_stats st;            /* compression statistics (last run) */
    uint64_t compressed;
    double c_sec, d_sec;     /* medians */
};

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Read all of fd into a malloc'ed buffer. Returns 0 or an errno. */
static int read_all(int fd, uint8_t **out, size_t *out_n)
{
    size_t cap = 1 << 16, n = 0;
    struct stat sb;
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0)
        cap = (size_t)sb.st_size + 1;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return ENOMEM;
    for (;;) {
        if (n == cap) {
            size_t ncap = cap * 2;
            uint8_t *nb = ncap > cap ? realloc(buf, ncap) : NULL;
            if (!nb) {
                free(buf);
                return ENOMEM;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            free(buf);
            return e;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *out = buf;
    *out_n = n;
    return 0;
}

/* The child's work: RUNS compressions and RUNS verified decompressions. */
static void bench_one(const struct options *opt, const uint8_t *src, size_t n, int level, int runs,
                      struct bench_result *r)
{
    mbz_options o;
    mbz_error err;
    double *ct = calloc((size_t)runs, sizeof *ct), *dt = calloc((size_t)runs, sizeof *dt);
    void *comp = NULL;
    size_t comp_n = 0;

    memset(r, 0, sizeof *r);
    r->ok = 1;
    if (!ct || !dt) {
        r->ok = 0;
        r->rc = MBZ_ERR_NOMEM;
        snprintf(r->msg, sizeof r->msg, "out of memory");
        goto done;
    }
    cli_options(opt, &o, NULL);
    o.level = level;
    for (int i = 0; i < runs; i++) {
        free(comp);
        comp = NULL;
        memset(&err, 0, sizeof err);
        double t0 = now_sec();
        int rc = mbz_compress_buffer(&o, src, n, &comp, &comp_n, &r->st, &err);
        ct[i] = now_sec() - t0;
        if (rc != MBZ_OK) {
            r->ok = 0;
            r->rc = rc;
            snprintf(r->msg, sizeof r->msg, "level %d: compression failed: %s", level,
                     err.msg[0] ? err.msg : mbz_strerror(rc));
            goto done;
        }
    }
    r->compressed = comp_n;
    for (int i = 0; i < runs; i++) {
        void *back = NULL;
        size_t back_n = 0;
        mbz_stats dst;
        memset(&err, 0, sizeof err);
        double t0 = now_sec();
        int rc = mbz_decompress_buffer(&o, comp, comp_n, &back, &back_n, &dst, &err);
        dt[i] = now_sec() - t0;
        if (rc != MBZ_OK) {
            r->ok = 0;
            r->rc = rc;
            snprintf(r->msg, sizeof r->msg, "level %d: decompression failed: %s", level,
                     err.msg[0] ? err.msg : mbz_strerror(rc));
            free(back);
            goto done;
        }
        if (back_n != n || (n && memcmp(back, src, n) != 0)) {
            r->ok = 0;
            r->rc = MBZ_ERR_INTERNAL;
            snprintf(r->msg, sizeof r->msg,
                     "level %d: round trip FAILED: decompressed %zu bytes differ from the %zu "
                     "original bytes", level, back_n, n);
            free(back);
            goto done;
        }
        free(back);
    }
    r->c_sec = median(ct, runs);
    r->d_sec = median(dt, runs);
done:
    free(comp);
    free(ct);
    free(dt);
}

static int write_full(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Run bench_one in a child; fill *r and the child's peak RSS in KiB. */
static int bench_fork(const struct options *opt, const uint8_t *src, size_t n, int level, int runs,
                      struct bench_result *r, long *maxrss_kib)
{
    int pfd[2];
    if (pipe(pfd) != 0)
        return errno;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(pfd[0]);
        close(pfd[1]);
        return e;
    }
    if (pid == 0) {
        close(pfd[0]);
        struct bench_result res;
        bench_one(opt, src, n, level, runs, &res);
        _exit(write_full(pfd[1], &res, sizeof res) == 0 ? 0 : 3);
    }
    close(pfd[1]);
    size_t got = 0;
    char *p = (char *)r;
    while (got < sizeof *r) {
        ssize_t k = read(pfd[0], p + got, sizeof *r - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(pfd[0]);
    int wst = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    while (wait4(pid, &wst, 0, &ru) < 0) {
        if (errno != EINTR)
            return errno;
    }
    *maxrss_kib = ru.ru_maxrss; /* Linux: KiB */
    if (got != sizeof *r) {
        memset(r, 0, sizeof *r);
        r->rc = MBZ_ERR_INTERNAL;
        if (WIFSIGNALED(wst))
            snprintf(r->msg, sizeof r->msg, "level %d: benchmark process killed by signal %d",
                     level, WTERMSIG(wst));
        else
            snprintf(r->msg, sizeof r->msg, "level %d: benchmark process failed", level);
    }
    return 0;
}

static void csv_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"')
            putchar('"');
        putchar(*s);
    }
    putchar('"');
}

static void print_header(const struct options *opt, int runs, int threads)
{
    const mbz_model *m = opt->model ? opt->model : mbz_model_default();
    const mbz_model *f = mbz_model_fast();
    if (opt->csv) {
        printf("level,file,size,compressed,ratio,bpb,modelled_bytes,ideal_bits,ideal_bpb,"
               "modelled_payload,coded_bpb,blocks,blocks_stored,compress_mbps,decompress_mbps,"
               "compress_s,decompress_s,peak_rss_kib,runs,threads,check\n");
        return;
    }
    printf("# mbzip -b: median of %d run%s, %d thread%s; ", runs, runs == 1 ? "" : "s", threads,
           threads == 1 ? "" : "s");
    if (opt->model)
        printf("model %016" PRIx64 " %s", mbz_model_fingerprint(m), mbz_model_describe(m));
    else if (f != m)
        printf("levels 2-4: model %016" PRIx64 " %s; levels 5-9: model %016" PRIx64 " %s",
               mbz_model_fingerprint(f), mbz_model_describe(f), mbz_model_fingerprint(m),
               mbz_model_describe(m));
    else
        printf("levels 2-9: model %016" PRIx64 " %s", mbz_model_fingerprint(m),
               mbz_model_describe(m));
    printf("%s; MB/s = 10^6 input bytes/s, wall clock (noisy on a shared machine)\n",
           opt->model ? "" : "; level 1: the fast stage, no model");
    printf("%-3s %11s %11s %7s %6s %9s %9s %9s %9s %8s %5s  %s\n", "lvl", "size", "compressed",
           "ratio", "bpb", "ideal-bpb", "coded-bpb", "comp-MB/s", "dec-MB/s", "peak-MiB",
           "check", "file");
}

static void print_line(const struct options *opt, const char *name, int level, size_t n,
                       const struct bench_result *r, long maxrss, int runs, int threads)
{
    double ratio = r->compressed ? (double)n / (double)r->compressed : 0;
    double bpb = n ? 8.0 * (double)r->compressed / (double)n : 0;
    uint64_t mb = r->st.modelled_bytes;
    double ideal = mb ? (double)r->st.ideal_bits_q16 / 65536.0 / (double)mb : 0;
    double coded = mb ? 8.0 * (double)r->st.modelled_payload / (double)mb : 0;
    double cs = r->c_sec > 0 ? (double)n / 1e6 / r->c_sec : 0;
    double ds = r->d_sec > 0 ? (double)n / 1e6 / r->d_sec : 0;
    if (opt->csv) {
        printf("%d,", level);
        csv_string(name);
        printf(",%zu,%" PRIu64 ",%.4f,%.4f,%" PRIu64 ",%.1f,", n, r->compressed, ratio, bpb, mb,
               (double)r->st.ideal_bits_q16 / 65536.0);
        if (mb)
            printf("%.4f,%" PRIu64 ",%.4f,", ideal, r->st.modelled_payload, coded);
        else
            printf(",%" PRIu64 ",,", r->st.modelled_payload);
        printf("%" PRIu64 ",%" PRIu64 ",%.3f,%.3f,%.6f,%.6f,%ld,%d,%d,%s\n", r->st.blocks,
               r->st.blocks_stored, cs, ds, r->c_sec, r->d_sec, maxrss, runs, threads,
               r->ok ? "ok" : "FAIL");
        return;
    }
    char ib[32], cb[32];
    if (mb) {
        snprintf(ib, sizeof ib, "%.4f", ideal);
        snprintf(cb, sizeof cb, "%.4f", coded);
    } else {
        strcpy(ib, "-");
        strcpy(cb, "-");
    }
    printf("%3d %11zu %11" PRIu64 " %7.3f %6.3f %9s %9s %9.2f %9.2f %8.1f %5s  %s\n", level, n,
           r->compressed, ratio, bpb, ib, cb, cs, ds, (double)maxrss / 1024.0,
           r->ok ? "ok" : "FAIL", name);
}

void bench_files(const struct options *opt, int n, char **names)
{
    int first = opt->bench_first ? opt->bench_first
                                 : (opt->level ? opt->level : MBZ_LEVEL_DEFAULT);
    int last = opt->bench_last ? opt->bench_last : first;
    int runs = opt->bench_runs > 0 ? opt->bench_runs : BENCH_RUNS_DEFAULT;
    int threads = opt->threads;
    if (threads <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        threads = c > 0 ? (int)c : 1;
    }
    if (last < first) {
        msg_error(NULL, "-e %d is below -b%d", last, first);
        return;
    }
    if (n == 0) {
        msg_error(NULL, "-b needs FILE operands");
        return;
    }
    print_header(opt, runs, threads);
    for (int i = 0; i < n; i++) {
        const char *name = names[i];
        int fd = strcmp(name, "-") == 0 ? STDIN_FILENO : open(name, O_RDONLY);
        if (fd < 0) {
            msg_error(name, "%s", strerror(errno));
            continue;
        }
        struct stat sb;
        if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            msg_error(name, "is a directory");
            if (fd != STDIN_FILENO)
                close(fd);
            continue;
        }
        uint8_t *buf = NULL;
        size_t len = 0;
        int e = read_all(fd, &buf, &len);
        if (fd != STDIN_FILENO)
            close(fd);
        if (e) {
            msg_error(name, "%s", strerror(e));
            continue;
        }
        for (int level = first; level <= last; level++) {
            struct bench_result r;
            long maxrss = 0;
            e = bench_fork(opt, buf, len, level, runs, &r, &maxrss);
            if (e) {
                msg_error(name, "cannot start the benchmark process: %s", strerror(e));
                break;
            }
            if (!r.ok && r.compressed == 0) {
                /* compression failed or the child died: nothing measured */
                msg_error(name, "%s", r.msg);
                continue;
            }
            print_line(opt, name, level, len, &r, maxrss, runs, threads);
            if (!r.ok)
                msg_error(name, "%s", r.msg);
        }
        free(buf);
    }
}
