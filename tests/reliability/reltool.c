/*
 * reltool.c - helper of the reliability tests (tests/reliability/).
 *
 *   reltool random N SEED > FILE
 *       N pseudo-random bytes (splitmix64 of SEED): reproducible incompressible data.
 *
 *   reltool sweep [--seed S] [--flips N] [--subs N] [--trunc all|none|N] FILE.mbz ORIGINAL
 *       Corruption sweep in-process through mbz_decompress_buffer (threads 1 and 2,
 *       alternating): every truncation (--trunc all) or every prefix within 48 bytes
 *       of a header plus N spread evenly (--trunc N); N random single-bit flips and N
 *       random byte substitutions (seeded; half aimed at header bytes). Each case must
 *       fail with a valid status (never MBZ_ERR_INTERNAL) and a one-line message, or
 *       succeed with output identical to ORIGINAL (counted and reported: e.g. a flip
 *       in the free low bits of a modelled payload's last byte). A case running over
 *       20 s is a hang (SIGALRM). A truncation exactly after an end mark of a
 *       concatenated stream is a valid shorter stream: it must decode to a prefix of
 *       ORIGINAL (counted). --near B: "near a header" = within B bytes (default 48).
 *       Failing inputs are written to ./sweep-fail-*.mbz.
 *
 *   reltool mutants [--seed S] N FILE.mbz OUTDIR
 *       Write N mutated copies (flips, substitutions, truncations) for CLI tests.
 *
 *   reltool hostile OUTDIR
 *       Write hand-made frames with hostile declared sizes (header checks valid), one
 *       per file, named after what they do (tests/reliability/hostile.sh).
 *
 *   reltool bomb MODEL|- LOG OUT
 *       A 63-byte frame: one modelled block declaring 2^LOG bytes, 1 payload byte,
 *       for the model file MODEL or ("-") the built-in order-2 model
 *       (tests/reliability/cpu-bomb.sh).
 *
 *   reltool likely MODEL N > FILE
 *       N bytes a MEGABYTE model finds likely (tests/reliability/cross-build.sh).
 */
#include "config.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "mbz.h"
#include "predictor.h"

static uint64_t rng;

static uint64_t next(void)
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    size_t cap = 1 << 16, len = 0;
    uint8_t *b = malloc(cap);
    for (;;) {
        size_t k = fread(b + len, 1, cap - len, f);
        len += k;
        if (len < cap)
            break;
        cap *= 2;
        b = realloc(b, cap);
        if (!b)
            exit(2);
    }
    fclose(f);
    *n = len;
    return b;
}

static void spit(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        exit(2);
    }
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ------------------------------------------------------------------ headers */

/* Offsets of every frame header and block header / end mark in a valid stream. */
typedef struct {
    size_t off, len;
} region;

static size_t header_regions(const uint8_t *d, size_t n, region *r, size_t max)
{
    size_t pos = 0, k = 0;
    while (n - pos >= 20 && k < max) {
        r[k++] = (region){ pos, 20 };
        pos += 20;
        for (;;) {
            if (n - pos < 21 || k >= max)
                return k;
            r[k++] = (region){ pos, 21 };
            uint8_t type = d[pos];
            uint32_t ps = get32(d + pos + 5);
            pos += 21;
            if (type == 0)
                break;
            if (ps > n - pos)
                return k;
            pos += ps;
        }
    }
    return k;
}

/* ------------------------------------------------------------------ sweep */

static const char *current = "";

static void on_alarm(int sig)
{
    (void)sig;
    static const char m[] = "reltool: HANG: a case ran over 20 s: ";
    ssize_t w = write(2, m, sizeof m - 1);
    w = write(2, current, strlen(current));
    w = write(2, "\n", 1);
    (void)w;
    _exit(3);
}

typedef struct {
    const uint8_t *orig;
    size_t orig_n;
    long cases, failed, ok_same, errors, frame_prefix;
    int allow_prefix;          /* truncation at a frame end: a prefix of the frames is valid */
    long by_code[MBZ_ERR_INTERNAL + 1];
    int saved;
} sweep_state;

static void save_fail(sweep_state *s, const uint8_t *d, size_t n)
{
    char name[64];
    if (s->saved >= 20)
        return;
    snprintf(name, sizeof name, "sweep-fail-%d.mbz", ++s->saved);
    spit(name, d, n);
    fprintf(stderr, "  input saved as %s\n", name);
}

static void one_case(sweep_state *s, const uint8_t *d, size_t n, const char *what)
{
    char desc[160];
    snprintf(desc, sizeof desc, "%s", what);
    current = desc;
    mbz_options o;
    mbz_options_init(&o);
    o.threads = 1 + (int)(s->cases & 1);
    void *out = NULL;
    size_t on = 0;
    mbz_error e;
    memset(&e, 0, sizeof e);
    alarm(20);
    int rc = mbz_decompress_buffer(&o, d, n, &out, &on, NULL, &e);
    alarm(0);
    s->cases++;
    if (rc == MBZ_OK) {
        if (on == s->orig_n && memcmp(out, s->orig, on) == 0) {
            s->ok_same++;
        } else if (s->allow_prefix && on < s->orig_n && memcmp(out, s->orig, on) == 0) {
            s->frame_prefix++;
        } else {
            s->failed++;
            fprintf(stderr, "FAIL: %s: decoded WITHOUT ERROR to different data (%zu bytes, original %zu)\n",
                    what, on, s->orig_n);
            save_fail(s, d, n);
        }
        free(out);
        return;
    }
    s->errors++;
    const char *nul = memchr(e.msg, 0, sizeof e.msg);
    int bad = rc < MBZ_ERR_IO || rc >= MBZ_ERR_INTERNAL || e.code != rc || !nul || nul == e.msg ||
              strchr(e.msg, '\n') != NULL;
    if (rc >= MBZ_ERR_IO && rc <= MBZ_ERR_INTERNAL)
        s->by_code[rc]++;
    if (bad) {
        s->failed++;
        fprintf(stderr, "FAIL: %s: status %d, message \"%.200s\"\n", what, rc, nul ? e.msg : "(unterminated)");
        save_fail(s, d, n);
    }
}

static int cmd_sweep(int argc, char **argv)
{
    uint64_t seed = 1;
    long flips = 200, subs = 200, trunc = -1; /* -1 = all */
    size_t near = 48;
    int i = 2;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i += 2) {
        if (i + 1 >= argc)
            break;
        if (!strcmp(argv[i], "--seed"))
            seed = strtoull(argv[i + 1], NULL, 0);
        else if (!strcmp(argv[i], "--flips"))
            flips = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--subs"))
            subs = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--near"))
            near = (size_t)atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--trunc"))
            trunc = !strcmp(argv[i + 1], "all") ? -1 : !strcmp(argv[i + 1], "none") ? -2 : atol(argv[i + 1]);
        else {
            fprintf(stderr, "reltool sweep: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (argc - i != 2) {
        fprintf(stderr, "usage: reltool sweep [--seed S] [--flips N] [--subs N] [--trunc all|N] [--near B] FILE.mbz ORIGINAL\n");
        return 2;
    }
    size_t n, on;
    uint8_t *d = slurp(argv[i], &n);
    uint8_t *orig = slurp(argv[i + 1], &on);
    sweep_state s;
    memset(&s, 0, sizeof s);
    s.orig = orig;
    s.orig_n = on;
    rng = seed;
    signal(SIGALRM, on_alarm);
    char what[160];

    /* the file itself must decode */
    one_case(&s, d, n, "unmodified file");
    if (s.failed || s.ok_same != 1) {
        fprintf(stderr, "reltool sweep: %s does not decode to %s\n", argv[i], argv[i + 1]);
        return 1;
    }
    s.cases = s.ok_same = 0;

    region hr[4096];
    size_t nh = header_regions(d, n, hr, 4096);
    long t_cases = 0, f_cases = 0, s_cases = 0;

    /* truncations: each prefix length 0 .. n-1 (a truncated stream never decodes) */
    uint8_t *buf = malloc(n ? n : 1);
    for (size_t len = 0; len < n && trunc != -2; len++) {
        int take = trunc == -1;
        if (!take) {
            for (size_t k = 0; k < nh && !take; k++)
                take = len + near >= hr[k].off && len <= hr[k].off + hr[k].len + near;
            if (!take && trunc > 0)
                take = len % (n / (size_t)trunc + 1) == 0;
        }
        if (!take)
            continue;
        memcpy(buf, d, len);
        snprintf(what, sizeof what, "truncated to %zu of %zu bytes", len, n);
        /* Cut exactly after an end mark, a concatenated stream is a shorter valid
         * stream (as with gzip, xz, zstd): it must decode to a prefix. */
        s.allow_prefix = 0;
        for (size_t k = 0; k < nh; k++)
            if (hr[k].len == 21 && d[hr[k].off] == 0 && hr[k].off + 21 == len)
                s.allow_prefix = 1;
        one_case(&s, buf, len, what);
        s.allow_prefix = 0;
        t_cases++;
    }
    long trunc_ok = s.ok_same;
    if (trunc_ok)
        fprintf(stderr, "FAIL: %ld truncations decoded without error\n", trunc_ok), s.failed += trunc_ok;

    /* single-bit flips and byte substitutions */
    for (long k = 0; k < flips + subs; k++) {
        size_t pos;
        if ((k & 1) && nh) {
            const region *r = &hr[next() % nh];
            pos = r->off + next() % r->len;
        } else {
            pos = next() % n;
        }
        memcpy(buf, d, n);
        if (k < flips) {
            unsigned bit = (unsigned)(next() % 8);
            buf[pos] ^= (uint8_t)(1u << bit);
            snprintf(what, sizeof what, "bit %u of byte %zu flipped (seed %llu, case %ld)", bit, pos,
                     (unsigned long long)seed, k);
            f_cases++;
        } else {
            uint8_t v = (uint8_t)(d[pos] + 1 + next() % 255);
            buf[pos] = v;
            snprintf(what, sizeof what, "byte %zu set to 0x%02x (seed %llu, case %ld)", pos, v,
                     (unsigned long long)seed, k);
            s_cases++;
        }
        one_case(&s, buf, n, what);
    }
    printf("%s: %zu bytes, %zu headers: %ld truncations, %ld bit flips, %ld substitutions: "
           "%ld errors, %ld decoded identically, %ld cut at a frame end (valid prefix), %ld FAILED",
           argv[i], n, nh, t_cases, f_cases, s_cases, s.errors, s.ok_same, s.frame_prefix, s.failed);
    printf(" [");
    static const char *names[] = { "ok", "io", "nomem", "param", "magic", "version", "truncated",
                                   "corrupt", "checksum", "limit", "model", "model-invalid",
                                   "cancelled", "internal" };
    int first = 1;
    for (int c = 1; c <= MBZ_ERR_INTERNAL; c++)
        if (s.by_code[c]) {
            printf("%s%s %ld", first ? "" : ", ", names[c], s.by_code[c]);
            first = 0;
        }
    printf("]\n");
    free(buf);
    free(d);
    free(orig);
    return s.failed ? 1 : 0;
}

/* ------------------------------------------------------------------ mutants */

static int cmd_mutants(int argc, char **argv)
{
    uint64_t seed = 1;
    int i = 2;
    if (argc > 3 && !strcmp(argv[2], "--seed")) {
        seed = strtoull(argv[3], NULL, 0);
        i = 4;
    }
    if (argc - i != 3) {
        fprintf(stderr, "usage: reltool mutants [--seed S] N FILE.mbz OUTDIR\n");
        return 2;
    }
    long count = atol(argv[i]);
    size_t n;
    uint8_t *d = slurp(argv[i + 1], &n);
    region hr[4096];
    size_t nh = header_regions(d, n, hr, 4096);
    uint8_t *buf = malloc(n + 1);
    rng = seed;
    for (long k = 0; k < count; k++) {
        memcpy(buf, d, n);
        size_t len = n;
        size_t pos = (k & 1) && nh ? hr[next() % nh].off + next() % 20 : next() % n;
        if (pos >= n)
            pos = n - 1;
        switch (k % 3) {
        case 0: buf[pos] ^= (uint8_t)(1u << (next() % 8)); break;
        case 1: buf[pos] = (uint8_t)(d[pos] + 1 + next() % 255); break;
        default: len = pos; break;
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/m%03ld.mbz", argv[i + 2], k);
        spit(path, buf, len);
    }
    free(buf);
    free(d);
    return 0;
}

/* ------------------------------------------------------------------ hostile */

static const char *outdir;
#define ORDER2_FP 0x963f4df9da38c02dull

static size_t frame_header(uint8_t *p, unsigned version, unsigned level, unsigned block_log, uint64_t fp)
{
    p[0] = 0x89; p[1] = 'M'; p[2] = 'B'; p[3] = 'Z';
    p[4] = (uint8_t)version;
    p[5] = 0;
    p[6] = (uint8_t)level;
    p[7] = (uint8_t)block_log;
    put64(p + 8, fp);
    put32(p + 16, (uint32_t)XXH64(p, 16, 0));
    return 20;
}

static size_t block_header(uint8_t *p, unsigned type, uint32_t content, uint32_t payload, uint64_t sum)
{
    p[0] = (uint8_t)type;
    put32(p + 1, content);
    put32(p + 5, payload);
    put64(p + 9, sum);
    put32(p + 17, (uint32_t)XXH64(p, 17, 0));
    return 21;
}

static size_t end_mark(uint8_t *p, uint64_t total, uint64_t sum)
{
    p[0] = 0;
    put64(p + 1, total);
    put64(p + 9, sum);
    put32(p + 17, (uint32_t)XXH64(p, 17, 0));
    return 21;
}

static void emit(const char *name, const uint8_t *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.mbz", outdir, name);
    spit(path, p, n);
}

static int cmd_hostile(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: reltool hostile OUTDIR\n");
        return 2;
    }
    outdir = argv[2];
    mkdir(outdir, 0777);
    static uint8_t b[1 << 16];
    size_t n;
    uint64_t empty_sum = XXH64("", 0, 0);
    uint8_t x = 'x';
    uint64_t sum_x = XXH64(&x, 1, 0);

    /* end marks declaring impossible totals, with no blocks or one */
    static const struct { const char *name; uint64_t total; } totals[] = {
        { "total-2e63", UINT64_C(1) << 63 },
        { "total-2e64m1", UINT64_MAX },
        { "total-2e32", UINT64_C(1) << 32 },
    };
    for (size_t k = 0; k < sizeof totals / sizeof totals[0]; k++) {
        n = frame_header(b, 1, 1, 18, ORDER2_FP);
        n += end_mark(b + n, totals[k].total, empty_sum);
        emit(totals[k].name, b, n);
        char name[64];
        snprintf(name, sizeof name, "%s-oneblock", totals[k].name);
        n = frame_header(b, 1, 1, 18, ORDER2_FP);
        n += block_header(b + n, 1, 1, 1, sum_x);
        b[n++] = 'x';
        n += end_mark(b + n, totals[k].total, sum_x);
        emit(name, b, n);
    }
    /* total zero although a block came */
    n = frame_header(b, 1, 1, 18, ORDER2_FP);
    n += block_header(b + n, 1, 1, 1, sum_x);
    b[n++] = 'x';
    n += end_mark(b + n, 0, sum_x);
    emit("total-zero-oneblock", b, n);

    /* block sizes */
    static const struct { const char *name; unsigned type, log; uint32_t content, payload; } sizes[] = {
        { "content-2e32m1-stored", 1, 26, UINT32_MAX, UINT32_MAX },
        { "content-2e31-stored", 1, 26, UINT32_C(1) << 31, UINT32_C(1) << 31 },
        { "content-2e32m1-rle", 2, 26, UINT32_MAX, 1 },
        { "content-2e32m1-modelled", 3, 26, UINT32_MAX, UINT32_MAX - 1 },
        { "content-zero-stored", 1, 18, 0, 0 },
        { "content-zero-rle", 2, 18, 0, 1 },
        { "content-over-blocksize-l16", 1, 16, 65537, 65537 },
        { "content-over-blocksize-l18-rle", 2, 18, (1u << 18) + 1, 1 },
        { "content-over-blocksize-l26-modelled", 3, 26, (1u << 26) + 1, 100 },
        { "payload-2e32m1-modelled", 3, 18, 1000, UINT32_MAX },
        { "payload-zero-modelled", 3, 18, 1000, 0 },
        { "payload-2e32m1-rle", 2, 18, 1000, UINT32_MAX },
        /* a 64 MiB stored block whose payload is not there: memory is allocated
         * (bounded by the block size), then the input ends */
        { "stored-64MiB-truncated", 1, 26, 1u << 26, 1u << 26 },
        /* a 64 MiB modelled block whose payload is not there */
        { "modelled-64MiB-truncated", 3, 26, 1u << 26, (1u << 26) - 1 },
    };
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        n = frame_header(b, 1, 9, sizes[k].log, ORDER2_FP);
        n += block_header(b + n, sizes[k].type, sizes[k].content, sizes[k].payload, sum_x);
        memset(b + n, 'x', 64);
        n += 64;
        emit(sizes[k].name, b, n);
    }
    /* many blocks: 100000 one-byte run-length blocks (a 2.2 MB file), with an end
     * mark whose total is 2^32 too large (a 32-bit counter would wrap to it), and
     * the same with the right total: a valid, unusual stream of 100000 'x' */
    {
        size_t cnt = 100000;
        uint8_t *big = malloc(20 + cnt * 22 + 21);
        uint8_t *xs = malloc(cnt);
        memset(xs, 'x', cnt);
        uint64_t all = XXH64(xs, cnt, 0);
        for (int good = 0; good < 2; good++) {
            size_t m = frame_header(big, 1, 1, 16, ORDER2_FP);
            for (size_t r = 0; r < cnt; r++) {
                m += block_header(big + m, 2, 1, 1, sum_x);
                big[m++] = 'x';
            }
            m += end_mark(big + m, good ? cnt : cnt + (UINT64_C(1) << 32), all);
            emit(good ? "valid-rle-100000-blocks" : "rle-100000-blocks-total-plus-2e32", big, m);
        }
        free(big);
        free(xs);
    }
    /* CPU amplification: a modelled block declaring 2^k bytes of content with a
     * 1-byte payload. Each declared byte costs a model step before the decoder can
     * tell that the payload was used up long ago (doc/reliability.md). */
    static const unsigned bomb_logs[] = { 20, 26 };
    for (size_t k = 0; k < 2; k++) {
        char name[64];
        n = frame_header(b, 1, 9, bomb_logs[k], ORDER2_FP);
        n += block_header(b + n, 3, 1u << bomb_logs[k], 1, sum_x);
        b[n++] = 0x55;
        n += end_mark(b + n, 1u << bomb_logs[k], sum_x);
        snprintf(name, sizeof name, "bomb-modelled-2e%u-payload1", bomb_logs[k]);
        emit(name, b, n);
        /* the same through the binary stage: a version-4 frame with flag CM and a
         * history-start block (the binary coder's own consistency bound) */
        n = frame_header(b, 4, 9, bomb_logs[k], ORDER2_FP);
        b[5] = 0x04;
        put32(b + 16, (uint32_t)XXH64(b, 16, 0));
        n += block_header(b + n, 4, 1u << bomb_logs[k], 1, sum_x);
        b[n++] = 0x55;
        n += end_mark(b + n, 1u << bomb_logs[k], sum_x);
        snprintf(name, sizeof name, "bomb-cm-2e%u-payload1", bomb_logs[k]);
        emit(name, b, n);
    }
    /* The same bound for the later kinds of block, each declaring 2^26 bytes with a
     * payload of a few bytes: an audio block (frame version 5, flags CM and MEDIA;
     * 16-bit stereo parameters, one coded byte), a history start through the record
     * model (version 6, flags CM, MEDIA and RECORD; one coded byte) and one through a
     * block filter (version 7, also FILTER; the x86 filter's id, one coded byte), and
     * an image block of 1-bit pixels (version 10, flags CM and MEDIA; 1728 pixels
     * wide, one coded byte), and a history start through the fast stage (version
     * 11, flags CM, MEDIA, FILTER and FAST; filter id 0, one coded byte) */
    static const struct {
        const char *name;
        uint8_t version, flags, type, len, payload[8];
    } bombs26[] = {
        { "bomb-audio-2e26-payload3", 5, 0x0C, 5, 3, { 0x01, 0x02, 0x55 } },
        { "bomb-bilevel-2e26-payload8", 10, 0x0C, 6, 8, { 0x04, 0x01, 0x00, 0xc0, 0x06, 0x00, 0x00, 0x55 } },
        { "bomb-cm-record-2e26-payload1", 6, 0x1C, 4, 1, { 0x55 } },
        { "bomb-cm-filter-2e26-payload2", 7, 0x3C, 4, 2, { 0x01, 0x55 } },
        { "bomb-fast-2e26-payload2", 11, 0xAC, 4, 2, { 0x00, 0x55 } },
    };
    for (size_t k = 0; k < sizeof bombs26 / sizeof *bombs26; k++) {
        n = frame_header(b, bombs26[k].version, 9, 26, ORDER2_FP);
        b[5] = bombs26[k].flags;
        put32(b + 16, (uint32_t)XXH64(b, 16, 0));
        n += block_header(b + n, bombs26[k].type, 1u << 26, bombs26[k].len, sum_x);
        memcpy(b + n, bombs26[k].payload, bombs26[k].len);
        n += bombs26[k].len;
        n += end_mark(b + n, 1u << 26, sum_x);
        emit(bombs26[k].name, b, n);
    }
    /* version: the order-2 fingerprint but frame versions 0, 17, 255 (1 to 16 are valid) */
    static const unsigned versions[] = { 0, 17, 255 };
    for (size_t k = 0; k < 3; k++) {
        char name[64];
        n = frame_header(b, versions[k], 1, 18, ORDER2_FP);
        n += block_header(b + n, 1, 1, 1, sum_x);
        b[n++] = 'x';
        n += end_mark(b + n, 1, sum_x);
        snprintf(name, sizeof name, "version-%u-order2", versions[k]);
        emit(name, b, n);
    }
    /* block_log out of range both ways, with valid header checks */
    static const unsigned logs[] = { 0, 15, 27, 63, 255 };
    for (size_t k = 0; k < 5; k++) {
        char name[64];
        n = frame_header(b, 1, 1, logs[k], ORDER2_FP);
        n += end_mark(b + n, 0, empty_sum);
        snprintf(name, sizeof name, "blocklog-%u", logs[k]);
        emit(name, b, n);
    }
    /* level out of range */
    n = frame_header(b, 1, 10, 18, ORDER2_FP);
    n += end_mark(b + n, 0, empty_sum);
    emit("level-10", b, n);
    /* a stream of 2000 empty frames then garbage: many frames, bounded work */
    {
        static uint8_t many[2000 * 41 + 8];
        size_t m = 0;
        for (int r = 0; r < 2000; r++) {
            m += frame_header(many + m, 1, 1, 18, ORDER2_FP);
            m += end_mark(many + m, 0, empty_sum);
        }
        memcpy(many + m, "garbage!", 8);
        emit("frames-2000-then-garbage", many, m + 8);
    }
    return 0;
}

/* reltool bomb MODEL|- LOG OUT: one modelled block declaring 2^LOG bytes with a
 * 1-byte payload, for the model in file MODEL (fingerprint = its xxh64; "-" = the
 * built-in order-2 model). */
static int cmd_bomb(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: reltool bomb MODEL|- LOG OUT\n");
        return 2;
    }
    uint64_t fp = ORDER2_FP;
    if (strcmp(argv[2], "-") != 0) {
        size_t mn;
        uint8_t *m = slurp(argv[2], &mn);
        fp = XXH64(m, mn, 0);
        free(m);
    }
    unsigned lg = (unsigned)atoi(argv[3]);
    uint8_t b[128];
    uint8_t x = 'x';
    size_t n = frame_header(b, 1, 9, lg, fp);
    n += block_header(b + n, 3, 1u << lg, 1, XXH64(&x, 1, 0));
    b[n++] = 0x55;
    n += end_mark(b + n, 1u << lg, 0);
    spit(argv[4], b, n);
    return 0;
}

/* reltool likely MODEL N > FILE: N bytes the model in MODEL finds likely (each byte
 * the most probable under the model given the bytes before it, with every 7th byte
 * the second most probable, so the text is not a constant loop). A random-weight
 * model from mkmodel cannot compress real text, so this is how the cross-build
 * check gets modelled blocks out of it. Uses the internal predictor interface. */
static int cmd_likely(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: reltool likely MODEL N\n");
        return 2;
    }
    mbz_model *m;
    mbz_error e;
    if (mbz_model_load_file(argv[2], &m, &e) != MBZ_OK) {
        fprintf(stderr, "reltool: %s\n", e.msg);
        return 1;
    }
    size_t n = (size_t)strtoull(argv[3], NULL, 0);
    uint8_t *d = calloc(n ? n : 1, 1);
    uint16_t f[MBZ_SYMBOLS];
    mbz_predictor *p;
    if (!d || m->ops->create(m->impl, n, &p) != MBZ_OK)
        return 1;
    for (size_t i = 0; i < n; i++) {
        if (m->ops->predict(p, d, i, f) != MBZ_OK)
            return 1;
        unsigned a = 0, b = 1;
        if (f[b] > f[a]) { a = 1; b = 0; }
        for (unsigned s = 2; s < MBZ_SYMBOLS; s++) {
            if (f[s] > f[a]) { b = a; a = s; }
            else if (f[s] > f[b]) b = s;
        }
        d[i] = (uint8_t)(i % 7 == 6 ? b : a);
    }
    m->ops->destroy(p);
    mbz_model_free(m);
    int rc = fwrite(d, 1, n, stdout) != n;
    free(d);
    return rc;
}

/* ------------------------------------------------------------------ random */

static int cmd_random(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: reltool random N SEED\n");
        return 2;
    }
    unsigned long long n = strtoull(argv[2], NULL, 0);
    rng = strtoull(argv[3], NULL, 0);
    uint8_t buf[8192];
    while (n) {
        size_t k = n < sizeof buf ? (size_t)n : sizeof buf;
        for (size_t j = 0; j < k; j += 8) {
            uint64_t v = next();
            for (size_t b = 0; b < 8 && j + b < k; b++)
                buf[j + b] = (uint8_t)(v >> (8 * b));
        }
        if (fwrite(buf, 1, k, stdout) != k)
            return 1;
        n -= k;
    }
    return fflush(stdout) != 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "random"))
        return cmd_random(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "sweep"))
        return cmd_sweep(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "mutants"))
        return cmd_mutants(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "likely"))
        return cmd_likely(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "bomb"))
        return cmd_bomb(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "hostile"))
        return cmd_hostile(argc, argv);
    fprintf(stderr, "usage: reltool random|sweep|mutants|hostile|bomb|likely ...\n");
    return 2;
}
