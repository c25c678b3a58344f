/*
 * predictor_checks.h - checks shared by the plain-C tests of predictor wrappers
 * (test_mix.c, test_strided.c): table validity, score in chunks == predict step by
 * step == predict_batch over blocks of different lengths, and a text sample.
 * Include after check.h (uses CHECK and `failures`).
 */
#ifndef MBZ_TEST_PREDICTOR_CHECKS_H
#define MBZ_TEST_PREDICTOR_CHECKS_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbz.h"
#include "predictor.h"

static inline uint8_t *read_text(size_t n)
{
    const char *top = getenv("top_srcdir");
    char path[4096];
    snprintf(path, sizeof path, "%s/corpora/alice29.txt", top ? top : ".");
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = malloc(n);
    size_t got = fread(buf, 1, n, f);
    fclose(f);
    if (got != n) {
        free(buf);
        return NULL;
    }
    return buf;
}

static inline int tables_ok(const uint16_t *f, size_t n)
{
    for (size_t t = 0; t < n; t++) {
        uint32_t sum = 0;
        for (int s = 0; s < 256; s++) {
            if (f[t * 256 + s] < 1)
                return 0;
            sum += f[t * 256 + s];
        }
        if (sum != 65536)
            return 0;
    }
    return 1;
}

static inline int run_score(const mbz_model *m, const uint8_t *d, size_t len, size_t chunk, uint16_t *f)
{
    mbz_predictor *p;
    int rc = m->ops->create(m->impl, len, &p);
    if (rc)
        return rc;
    for (size_t pos = 0; pos < len && !rc; pos += chunk) {
        size_t k = len - pos < chunk ? len - pos : chunk;
        rc = m->ops->score(p, d, len, pos, k, f + pos * 256);
    }
    m->ops->destroy(p);
    return rc;
}

/* seek to `start` (predictor.h), then score d[start..len) in chunks into f + start * 256 */
static inline int run_seek_score(const mbz_model *m, const uint8_t *d, size_t len, size_t start,
                                 size_t chunk, uint16_t *f)
{
    mbz_predictor *p;
    int rc = m->ops->create(m->impl, len, &p);
    if (rc)
        return rc;
    rc = m->ops->seek(p, d, len, start);
    for (size_t pos = start; pos < len && !rc; pos += chunk) {
        size_t k = len - pos < chunk ? len - pos : chunk;
        rc = m->ops->score(p, d, len, pos, k, f + pos * 256);
    }
    m->ops->destroy(p);
    return rc;
}

static inline int run_predict(const mbz_model *m, const uint8_t *d, size_t len, uint16_t *f)
{
    mbz_predictor *p;
    int rc = m->ops->create(m->impl, len, &p);
    for (size_t pos = 0; pos < len && !rc; pos++)
        rc = m->ops->predict(p, d, pos, f + pos * 256);
    if (!rc || p)
        m->ops->destroy(p);
    return rc;
}

/* bits (Q16) of data under tables f */
static inline uint64_t cost(const uint16_t *f, const uint8_t *d, size_t from, size_t to)
{
    double bits = 0;
    for (size_t t = from; t < to; t++)
        bits -= log2(f[t * 256 + d[t]] / 65536.0);
    return (uint64_t)bits;
}

/* predict_batch over nb blocks of different lengths and start offsets, compared with
 * each block's own score */
static inline void batch_test(const mbz_model *m, const uint8_t *data, size_t len, int nb)
{
    enum { MAXB = 8 };
    size_t lens[MAXB];
    const uint8_t *blk[MAXB];
    uint16_t *ref[MAXB];
    mbz_predictor *ps[MAXB];
    size_t pos[MAXB];
    for (int b = 0; b < nb; b++) {
        lens[b] = len - 700 * (size_t)b - 37 * (size_t)(b & 1);
        blk[b] = data + 300 * (size_t)b;
        ref[b] = malloc(lens[b] * 512);
        CHECK(run_score(m, blk[b], lens[b], 4096, ref[b]) == MBZ_OK, "batch ref");
        CHECK(m->ops->create(m->impl, lens[b], &ps[b]) == MBZ_OK, "batch create");
        pos[b] = 0;
    }
    uint16_t out[MAXB * 256];
    size_t mismatches = 0;
    for (;;) {
        mbz_predictor *bp[MAXB];
        const uint8_t *bd[MAXB];
        size_t bpos[MAXB];
        int idx[MAXB], k = 0;
        for (int b = 0; b < nb; b++)
            if (pos[b] < lens[b]) {
                bp[k] = ps[b]; bd[k] = blk[b]; bpos[k] = pos[b]; idx[k] = b; k++;
            }
        if (!k)
            break;
        if (m->ops->predict_batch)
            CHECK(m->ops->predict_batch(bp, bd, bpos, k, out) == MBZ_OK, "predict_batch");
        else
            for (int i = 0; i < k; i++)
                m->ops->predict(bp[i], bd[i], bpos[i], out + i * 256);
        for (int i = 0; i < k; i++) {
            int b = idx[i];
            mismatches += memcmp(out + i * 256, ref[b] + pos[b] * 256, 512) != 0;
            pos[b]++;
        }
    }
    CHECK(mismatches == 0, "predict_batch (%d blocks): %zu tables differ from score", nb, mismatches);
    for (int b = 0; b < nb; b++) {
        m->ops->destroy(ps[b]);
        free(ref[b]);
    }
}

static inline void consistency(const mbz_model *m, const uint8_t *data, size_t len, uint16_t *ref,
                        const char *what)
{
    uint16_t *f = malloc(len * 512);
    CHECK(run_predict(m, data, len, ref) == MBZ_OK, "%s: predict", what);
    CHECK(tables_ok(ref, len), "%s: invalid table", what);
    size_t chunks[] = {1, 3, 1000, 4096, len};
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        memset(f, 0, len * 512);
        CHECK(run_score(m, data, len, chunks[c], f) == MBZ_OK, "%s: score", what);
        CHECK(!memcmp(f, ref, len * 512), "%s: score (chunk %zu) != predict", what, chunks[c]);
    }
    /* a model that can seek: scoring from a patch boundary gives the same tables */
    size_t P = m->patch;
    if (m->ops->seek && P) {
        size_t starts[] = {P, 3 * P, len / 2, len - 1};
        for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++) {
            size_t st = starts[i] - starts[i] % P;
            if (st == 0 || st >= len)
                continue;
            memset(f, 0, len * 512);
            CHECK(run_seek_score(m, data, len, st, 1000, f) == MBZ_OK, "%s: seek to %zu", what, st);
            CHECK(!memcmp(f + st * 256, ref + st * 256, (len - st) * 512), "%s: score after seek to %zu != predict",
                  what, st);
        }
    }
    free(f);
}

#ifdef MKMODEL_NO_MAIN
/* The pseudo-random "tiny" MEGABYTE model of tools/mkmodel.c (seed 1), or NULL
 * (counted as a failure). Its hyperparameters go to *hp. Free with free_impl + free. */
static inline mbz_model *tiny_megabyte(mbzm_hparams *hp)
{
    uint8_t *buf;
    size_t size;
    mbz_model *mb = NULL;
    mbz_error err;
    mkmodel_preset(hp, "tiny");
    CHECK(mkmodel_build(hp, 1, &buf, &size) == MBZ_OK, "mkmodel");
    if (failures)
        return NULL;
    CHECK(mbz_megabyte_create(buf, size, &mb, &err) == MBZ_OK, "tiny model");
    free(buf);
    return mb;
}
#endif

#endif
