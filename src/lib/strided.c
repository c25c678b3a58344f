/*
 * strided.c - strided inference (MEGABYTE paper §6; ARCHITECTURE.md §2), frame flag
 * MBZ_FLAG_STRIDED, used by level 9.
 *
 * Two passes of the same patch model, the second over the block without its first
 * h = P/2 bytes, so that their patch boundaries interleave:
 *
 *   pass A: patches at 0, P, 2P, ...       byte j is at position j mod P
 *   pass B: patches at h, h+P, h+2P, ...   byte j >= h is at position (j - h) mod P
 *
 * The paper (and ARCHITECTURE.md) codes each byte with the pass in which it falls
 * in the first half of its patch. Measured with the default model on 200 KB of
 * training-corpus prose, without the mixing stage: that rule LOSES 0.5% against one
 * pass (63,497 vs 63,167 bytes), the opposite rule wins 0.5% on prose and loses
 * 0.2% on CSV. Which half of a patch is better predicted depends on the data. What
 * wins on both is to use both passes: byte j >= h is coded with the geometric mean
 * of pass A's table for j and pass B's for j - h (logits (log2 a + log2 b) / 2 in
 * the mixing stage's exact integer log2, then mbz_freq_from_logits): prose 61,714
 * (-2.3%), CSV 86,996 (-1.7%); under the mixing stage -0.7% and -0.2%. Bytes
 * j < h have only pass A. Both passes see every earlier byte of the block, so the
 * rule is causal and the decoder, which steps both passes on every byte, reproduces
 * it. The cost is two model evaluations per byte. The wrapper is a plain model
 * (predictor.h) built on any base model, so the mixing stage wraps it like any
 * other; score, predict and predict_batch give identical tables because each pass
 * does (tests/test_strided.c).
 */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "mbz.h"
#include "frame.h"
#include "megabyte.h"
#include "mix.h"
#include "qmath.h"
#include "strided.h"

struct mbz_predictor {
    const mbz_predictor_ops *bops;
    mbz_predictor *a, *b;     /* pass A over the block, pass B over block + h */
    size_t h, P;
    size_t block_len;
    uint16_t *tmp;            /* pass B tables of one score() call */
    size_t tmp_rows;
};

typedef struct {
    const mbz_model *base;
    size_t P;
} strided_impl;

/* the two passes' tables averaged: f = floor((a + b) / 2) (>= 1), the total made
 * exact again on the largest entry */
static void blend(uint16_t *f, const uint16_t *b)
{
    int32_t z[MBZ_SYMBOLS];
    for (int i = 0; i < MBZ_SYMBOLS; i++)
        z[i] = (mbz_log2_q8(f[i]) + mbz_log2_q8(b[i])) / 2;
    mbz_freq_from_logits(z, f);
}

static void st_destroy(mbz_predictor *s)
{
    if (!s)
        return;
    if (s->a)
        s->bops->destroy(s->a);
    if (s->b)
        s->bops->destroy(s->b);
    free(s->tmp);
    free(s);
}

static int st_create(const void *impl, size_t block_len, mbz_predictor **out)
{
    const strided_impl *si = impl;
    *out = NULL;
    struct mbz_predictor *s = calloc(1, sizeof *s);
    if (!s)
        return MBZ_ERR_NOMEM;
    s->bops = si->base->ops;
    s->P = si->P;
    s->h = si->P / 2;
    s->block_len = block_len;
    int rc = s->bops->create(si->base->impl, block_len, &s->a);
    if (rc == MBZ_OK && block_len > s->h)
        rc = s->bops->create(si->base->impl, block_len - s->h, &s->b);
    if (rc != MBZ_OK) {
        st_destroy(s);
        return rc;
    }
    *out = s;
    return MBZ_OK;
}

static int st_score(mbz_predictor *s, const uint8_t *data, size_t len, size_t pos, size_t n,
                    uint16_t *freq)
{
    int rc = s->bops->score(s->a, data, len, pos, n, freq);
    if (rc != MBZ_OK || !s->b || pos + n <= s->h)
        return rc;
    /* pass B over the same stretch of the block: its positions [pos-h, pos+n-h) */
    size_t b0 = pos > s->h ? pos - s->h : 0, b1 = pos + n - s->h;
    if (b1 - b0 > s->tmp_rows) {
        uint16_t *t = realloc(s->tmp, (b1 - b0) * MBZ_SYMBOLS * sizeof *t);
        if (!t)
            return MBZ_ERR_NOMEM;
        s->tmp = t;
        s->tmp_rows = b1 - b0;
    }
    rc = s->bops->score(s->b, data + s->h, len - s->h, b0, b1 - b0, s->tmp);
    for (size_t j = pos; j < pos + n && rc == MBZ_OK; j++)
        if (j >= s->h)
            blend(freq + (j - pos) * MBZ_SYMBOLS, s->tmp + (j - s->h - b0) * MBZ_SYMBOLS);
    return rc;
}

static int st_predict(mbz_predictor *s, const uint8_t *data, size_t pos, uint16_t *freq)
{
    int rc = s->bops->predict(s->a, data, pos, freq);
    if (rc != MBZ_OK || pos < s->h || !s->b)
        return rc;
    uint16_t tb[MBZ_SYMBOLS];
    /* pass B is stepped on every byte (its history must be complete) */
    rc = s->bops->predict(s->b, data + s->h, pos - s->h, tb);
    if (rc == MBZ_OK)
        blend(freq, tb);
    return rc;
}

static int st_predict_batch(mbz_predictor **ps, const uint8_t *const *data, const size_t *pos,
                            int nb, uint16_t *freq)
{
    enum { CHUNK = 16 };
    for (int c0 = 0; c0 < nb; c0 += CHUNK) {
        int k = nb - c0 < CHUNK ? nb - c0 : CHUNK;
        /* one inner batch: the k A passes, then the B passes of the blocks past h */
        mbz_predictor *ip[2 * CHUNK];
        const uint8_t *id[2 * CHUNK];
        size_t ipos[2 * CHUNK];
        int owner[2 * CHUNK];
        int m = 0;
        for (int i = 0; i < k; i++) {
            const struct mbz_predictor *s = ps[c0 + i];
            ip[m] = s->a; id[m] = data[c0 + i]; ipos[m] = pos[c0 + i]; owner[m++] = i;
        }
        for (int i = 0; i < k; i++) {
            const struct mbz_predictor *s = ps[c0 + i];
            if (pos[c0 + i] < s->h || !s->b)
                continue;
            ip[m] = s->b; id[m] = data[c0 + i] + s->h; ipos[m] = pos[c0 + i] - s->h; owner[m++] = i;
        }
        uint16_t t[2 * CHUNK * MBZ_SYMBOLS];   /* 16 KiB: no allocation per decoded byte */
        const mbz_predictor_ops *bops = ps[c0]->bops;
        int rc = MBZ_OK;
        if (bops->predict_batch)
            rc = bops->predict_batch(ip, id, ipos, m, t);
        else
            for (int i = 0; i < m && rc == MBZ_OK; i++)
                rc = bops->predict(ip[i], id[i], ipos[i], t + (size_t)i * MBZ_SYMBOLS);
        for (int i = 0; i < m && rc == MBZ_OK; i++) {
            int b = c0 + owner[i];
            /* rows 0..k-1 are pass A, later rows pass B, blended in */
            if (i < k)
                memcpy(freq + (size_t)b * MBZ_SYMBOLS, t + (size_t)i * MBZ_SYMBOLS,
                       MBZ_SYMBOLS * sizeof *t);
            else
                blend(freq + (size_t)b * MBZ_SYMBOLS, t + (size_t)i * MBZ_SYMBOLS);
        }
        if (rc != MBZ_OK)
            return rc;
    }
    return MBZ_OK;
}

static const mbz_predictor_ops strided_ops_batched = {
    .name = "strided",
    .create = st_create,
    .score = st_score,
    .predict = st_predict,
    .predict_batch = st_predict_batch,
    .destroy = st_destroy,
    .score_chunk = 0,
};

static const mbz_predictor_ops strided_ops_single = {
    .name = "strided",
    .create = st_create,
    .score = st_score,
    .predict = st_predict,
    .predict_batch = NULL,
    .destroy = st_destroy,
    .score_chunk = 0,
};

static void free_impl(void *impl)
{
    free(impl);
}

int mbz_strided_wrap(const mbz_model *base, size_t patch, mbz_model *out)
{
    memset(out, 0, sizeof *out);
    if (patch < 2)
        return MBZ_ERR_PARAM;
    strided_impl *si = malloc(sizeof *si);
    if (!si)
        return MBZ_ERR_NOMEM;
    si->base = base;
    si->P = patch;
    out->fingerprint = base->fingerprint;
    out->ops = base->ops->predict_batch ? &strided_ops_batched : &strided_ops_single;
    out->impl = si;
    out->free_impl = free_impl;
    snprintf(out->describe, sizeof out->describe, "%.100s, strided", base->describe);
    return MBZ_OK;
}

int mbz_frame_model_build(const mbz_model *base, unsigned flags, mbz_frame_model *fm,
                          mbz_error *err)
{
    memset(fm, 0, sizeof *fm);
    fm->top = base;
    if (flags & MBZ_FLAG_STRIDED) {
        size_t P = mbz_megabyte_patch(base);
        if (P < 2)
            return mbz_fail(err, MBZ_ERR_CORRUPT,
                            "frame asks for strided inference, which model %016llx (%s) cannot do",
                            (unsigned long long)base->fingerprint, base->describe);
        int rc = mbz_strided_wrap(base, P, &fm->strided);
        if (rc != MBZ_OK)
            return mbz_fail(err, rc, "out of memory");
        fm->top = &fm->strided;
    }
    if (flags & MBZ_FLAG_MIX) {
        mbz_mix_wrap(fm->top, &fm->mixed);
        fm->top = &fm->mixed;
    }
    return MBZ_OK;
}

void mbz_frame_model_free(mbz_frame_model *fm)
{
    if (fm->strided.free_impl)
        fm->strided.free_impl(fm->strided.impl);
    memset(fm, 0, sizeof *fm);
}
