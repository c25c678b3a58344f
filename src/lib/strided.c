/*
 * strided.c - strided inference (MEGABYTE paper, Yu et al. 2023, §6), frame flag
 * MBZ_FLAG_STRIDED, used by level 9.
 *
 * Two passes of the same patch model, the second over the block without its first
 * h = P/2 bytes, so that their patch boundaries interleave:
 *
 *   pass A: patches at 0, P, 2P, ...       byte j is at position j mod P
 *   pass B: patches at h, h+P, h+2P, ...   byte j >= h is at position (j - h) mod P
 *
 * The paper codes each byte with the pass in which it falls
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
#include "qmath.h"
#include "strided.h"

typedef struct {
    const mbz_predictor_ops *bops;
    mbz_predictor *a, *b;     /* pass A over the block, pass B over block + h */
    size_t h, P;
    size_t block_len;
    uint16_t *tmp;            /* pass B tables of one score() call */
    size_t tmp_rows;
} st_state;

static st_state *st_of(mbz_predictor *p)
{
    return (st_state *)p;
}

typedef struct {
    const mbz_model *base;
    size_t P;
    mbz_predictor_ops ops;    /* the wrapper's: with seek iff the base has it */
} strided_impl;

/* the geometric mean of the two passes' tables: logits (log2 a + log2 b) / 2 in the
 * exact integer log2 (Q8), turned back into a table by mbz_freq_from_logits */
static void blend(uint16_t *f, const uint16_t *b)
{
    int32_t z[MBZ_SYMBOLS];
    for (int i = 0; i < MBZ_SYMBOLS; i++)
        z[i] = (mbz_log2_q8(f[i]) + mbz_log2_q8(b[i])) / 2;
    mbz_freq_from_logits(z, f);
}

static void st_destroy(mbz_predictor *ps)
{
    st_state *s = st_of(ps);
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
    st_state *s = calloc(1, sizeof *s);
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
        st_destroy((mbz_predictor *)s);
        return rc;
    }
    *out = (mbz_predictor *)s;
    return MBZ_OK;
}

static int st_score(mbz_predictor *ps, const uint8_t *data, size_t len, size_t pos, size_t n,
                    uint16_t *freq)
{
    st_state *s = st_of(ps);
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

/* Seek (predictor.h) to pos, a multiple of P: pass A seeks there; pass B's first
 * table is that of position pos - h of its stream, inside its patch pos/P - 1,
 * which it seeks to (score recomputes the rows of a patch before pos). Offered
 * only over a base that can seek (mbz_strided_wrap). */
static int st_seek(mbz_predictor *ps, const uint8_t *data, size_t len, size_t pos)
{
    st_state *s = st_of(ps);
    if (pos % s->P || pos < s->P || pos > len)
        return MBZ_ERR_PARAM;
    int rc = s->bops->seek(s->a, data, len, pos);
    if (rc == MBZ_OK && s->b)
        rc = s->bops->seek(s->b, data + s->h, len - s->h, pos - s->P);
    return rc;
}

static int st_predict(mbz_predictor *ps, const uint8_t *data, size_t pos, uint16_t *freq)
{
    st_state *s = st_of(ps);
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
            const st_state *s = st_of(ps[c0 + i]);
            ip[m] = s->a; id[m] = data[c0 + i]; ipos[m] = pos[c0 + i]; owner[m++] = i;
        }
        for (int i = 0; i < k; i++) {
            const st_state *s = st_of(ps[c0 + i]);
            if (pos[c0 + i] < s->h || !s->b)
                continue;
            ip[m] = s->b; id[m] = data[c0 + i] + s->h; ipos[m] = pos[c0 + i] - s->h; owner[m++] = i;
        }
        uint16_t t[2 * CHUNK * MBZ_SYMBOLS];   /* 16 KiB: no allocation per decoded byte */
        int rc = mbz_predict_many(st_of(ps[c0])->bops, ip, id, ipos, m, t);
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

/* Helpers go to pass A first, then to pass B (each pass is a predictor of the base
 * model stepping on every byte: one spare core speeds up A's global steps). */
static int st_assist(mbz_predictor *ps, int helpers)
{
    st_state *s = st_of(ps);
    int took = s->bops->assist(s->a, helpers > 0 ? 1 : 0);
    if (s->b && helpers - took > 0)
        took += s->bops->assist(s->b, helpers - took);
    return took;
}

static const mbz_predictor_ops strided_ops_batched = {
    .name = "strided",
    .create = st_create,
    .score = st_score,
    .predict = st_predict,
    .predict_batch = st_predict_batch,
    .destroy = st_destroy,
};

static const mbz_predictor_ops strided_ops_single = {
    .name = "strided",
    .create = st_create,
    .score = st_score,
    .predict = st_predict,
    .predict_batch = NULL,
    .destroy = st_destroy,
};

static void free_impl(void *impl)
{
    free(impl);
}

int mbz_strided_wrap(const mbz_model *base, mbz_model *out)
{
    size_t patch = base->patch;
    memset(out, 0, sizeof *out);
    if (patch < 2)
        return MBZ_ERR_PARAM;
    strided_impl *si = malloc(sizeof *si);
    if (!si)
        return MBZ_ERR_NOMEM;
    si->base = base;
    si->P = patch;
    out->fingerprint = base->fingerprint;
    si->ops = (base->caps & MBZ_CAP_BATCH) ? strided_ops_batched : strided_ops_single;
    if (base->ops->seek)
        si->ops.seek = st_seek;
    if (base->ops->assist)
        si->ops.assist = st_assist;
    out->ops = &si->ops;
    out->patch = base->patch;
    out->score_chunk = base->score_chunk;
    out->seek_reach = base->seek_reach + patch; /* pass B seeks a patch earlier */
    out->caps = base->caps & MBZ_CAP_BATCH;
    out->impl = si;
    out->free_impl = free_impl;
    snprintf(out->describe, sizeof out->describe, "%.100s, strided", base->describe);
    return MBZ_OK;
}
