/*
 * fuzz_common.h - shared helpers of the libFuzzer harnesses (tests/fuzz/fuzz_*.c).
 *
 * The harnesses use only the public API (mbz.h) plus tools/mkmodel.c (a
 * deterministic tiny MEGABYTE model) and libxxhash (to recompute header checks), so
 * they build two ways:
 *   - with clang -fsanitize=fuzzer,address,undefined by tools/fuzz.sh (`make fuzz`);
 *   - with any C compiler plus tests/fuzz/replay.c (a main() that feeds files to
 *     LLVMFuzzerTestOneInput), linked with libmbz by `make check`, to replay the
 *     committed corpus and past crashers (tests/fuzz.am).
 *
 * A broken property calls fuzz_fail(), which prints the reason and aborts: libFuzzer
 * reports that as a crash and saves the input.
 */
#ifndef MBZ_FUZZ_COMMON_H
#define MBZ_FUZZ_COMMON_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "mbz.h"

#define MKMODEL_NO_MAIN
#include "mkmodel.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static void fuzz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("FUZZ PROPERTY VIOLATED: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

/* Every failure must come with a sane status and a one-line message. */
static void fuzz_check_error(int rc, const mbz_error *e, const char *what)
{
    if (rc == MBZ_OK)
        return;
    if (rc < MBZ_ERR_IO || rc > MBZ_ERR_INTERNAL)
        fuzz_fail("%s: status %d out of range", what, rc);
    if (rc == MBZ_ERR_INTERNAL)
        fuzz_fail("%s: internal error (a bug): %s", what, e->msg);
    if (e->code != rc)
        fuzz_fail("%s: err.code %d != status %d", what, e->code, rc);
    const char *nul = memchr(e->msg, 0, sizeof e->msg);
    if (!nul || nul == e->msg)
        fuzz_fail("%s: empty or unterminated message (status %d)", what, rc);
    if (strchr(e->msg, '\n'))
        fuzz_fail("%s: message has a newline: %s", what, e->msg);
}

/* ------------------------------------------------------------ memory streams */

typedef struct {
    const uint8_t *p;
    size_t n, pos;
    size_t max_read;  /* 0: any; else return at most this many bytes per call */
} fz_reader;

static long long fz_read(void *user, void *buf, size_t n)
{
    fz_reader *r = user;
    size_t k = r->n - r->pos;
    if (k > n)
        k = n;
    if (r->max_read && k > r->max_read)
        k = r->max_read;
    memcpy(buf, r->p + r->pos, k);
    r->pos += k;
    return (long long)k;
}

/* Output sink: keeps the first `keep` bytes (for comparisons), hashes everything,
 * and refuses more than `limit` bytes in all (a tiny hostile frame may legally
 * declare gigabytes of run-length content). */
typedef struct {
    uint8_t *p;
    size_t n, cap, keep;
    uint64_t total, limit;
    XXH64_state_t *h;
} fz_writer;

static int fz_write(void *user, const void *buf, size_t n)
{
    fz_writer *w = user;
    if (w->total + n > w->limit) {
        errno = EFBIG;
        return -1;
    }
    w->total += n;
    if (w->h)
        XXH64_update(w->h, buf, n);
    if (w->n < w->keep) {
        size_t k = w->keep - w->n < n ? w->keep - w->n : n;
        if (w->n + k > w->cap) {
            size_t cap = w->cap ? w->cap : 4096;
            while (cap < w->n + k)
                cap *= 2;
            uint8_t *q = realloc(w->p, cap);
            if (!q)
                abort();
            w->p = q;
            w->cap = cap;
        }
        memcpy(w->p + w->n, buf, k);
        w->n += k;
    }
    return 0;
}

/* ------------------------------------------------------------ frame walking */

static uint32_t fz_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void fz_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

#define FZ_ORDER2_FP 0x963f4df9da38c02dull

typedef struct {
    uint64_t modelled_order2;  /* declared content of modelled blocks, order-2 frames */
    uint64_t modelled_other;   /* ... frames of any other model */
    int worst_ratio;           /* some modelled block has content > 4096 + 2048 * payload */
} fz_walk;

/*
 * Walk the frame structure as far as it goes (no validation beyond what is needed
 * to move on). With fix != 0, recompute every header check on the way, so the
 * mutated fields behind a check reach the library's semantic validation (libFuzzer
 * cannot invert a hash). Fills *st with what modelled blocks declare.
 */
static void fz_walk_frames(uint8_t *d, size_t n, int fix, fz_walk *st)
{
    memset(st, 0, sizeof *st);
    size_t pos = 0;
    while (n - pos >= 20 && d[pos] == 0x89 && d[pos + 1] == 'M' && d[pos + 2] == 'B' && d[pos + 3] == 'Z') {
        uint8_t *fh = d + pos;
        if (fix)
            fz_put_le32(fh + 16, (uint32_t)XXH64(fh, 16, 0));
        uint64_t fp = 0;
        for (int i = 7; i >= 0; i--)
            fp = fp << 8 | fh[8 + i];
        pos += 20;
        uint64_t nblk = 0;
        for (;;) {
            if (n - pos < 21)
                return;
            uint8_t *bh = d + pos;
            if (fix)
                fz_put_le32(bh + 17, (uint32_t)XXH64(bh, 17, 0));
            pos += 21;
            if (bh[0] == 0)
                break;
            nblk++;
            uint32_t cs = fz_le32(bh + 1), ps = fz_le32(bh + 5);
            if (bh[0] == 3) {
                if (fp == FZ_ORDER2_FP)
                    st->modelled_order2 += cs;
                else
                    st->modelled_other += cs;
                if ((uint64_t)cs > 4096 + 2048 * (uint64_t)ps)
                    st->worst_ratio = 1;
            }
            if (ps > n - pos)
                return;
            pos += ps;
        }
        /* flag INDEX: the seek index (entries, annex size, annex, 28-byte foot;
         * doc/format.md), its body and foot checks recomputed when fixing */
        if (fh[5] & 0x40) {
            size_t start = pos;
            if ((n - pos) / 9 < nblk || n - pos - 9 * nblk < 4)
                return;
            pos += 9 * nblk;
            uint32_t annex = fz_le32(d + pos);
            pos += 4;
            if (annex > n - pos || n - pos - annex < 28)
                return;
            pos += annex;
            if (fix) {
                fz_put_le32(d + pos + 16, (uint32_t)XXH64(d + start, pos - start, 0));
                fz_put_le32(d + pos + 24, (uint32_t)XXH64(d + pos, 24, 0));
            }
            pos += 28;
        }
    }
}

/* The deterministic tiny MEGABYTE model (mkmodel --tiny --seed SEED). */
static mbz_model *fz_tiny_model(uint64_t seed, uint8_t **bytes, size_t *size)
{
    mbzm_hparams hp;
    mkmodel_preset(&hp, "tiny");
    uint8_t *buf = NULL;
    size_t n = 0;
    if (mkmodel_build(&hp, seed, &buf, &n) != MBZ_OK)
        fuzz_fail("mkmodel_build failed");
    mbz_model *m = NULL;
    mbz_error e;
    if (mbz_model_load_memory(buf, n, &m, &e) != MBZ_OK)
        fuzz_fail("tiny model does not load: %s", e.msg);
    if (bytes) {
        *bytes = buf;
        *size = n;
    } else {
        free(buf);
    }
    return m;
}

#endif
