/*
 * megabyte_load.c - building a MEGABYTE model from a model file image
 * (mbz_megabyte_create, megabyte.h; format: doc/model-format.md).
 *
 * mbzm_parse (modelfile.c) checks the container, the hyperparameters and that every
 * tensor the architecture needs is there with its dtype and shape; here their values
 * are checked (int8 weights never -128, multipliers >= 0, shifts in 1..62, ALiBi
 * slopes >= 0, embeddings within the residual bound), the int32 vectors are decoded
 * into one pool and the linear weights are packed for the kernels (mbz_pk8_pack),
 * each an error with a one-line message rather than a crash. The result is
 * the read-only mb_model (megabyte_impl.h) that every predictor of the model shares;
 * its predictor ops (mbz_mb_ops) live in megabyte.c. Kept apart from the inference:
 * nothing here runs per byte.
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "kernels.h"
#include "mbz.h"
#include "megabyte.h"
#include "megabyte_impl.h"
#include "modelfile.h"
#include "predictor.h"

/* ------------------------------------------------------------------ loading */

/* int32 fields of the file image are little-endian two's complement */
static int32_t le32(const uint8_t *p)
{
    return (int32_t)mbz_get_le32(p);
}

typedef struct {
    const mbzm_file *f;
    int32_t *pool;
    size_t used, cap;
    mbz_error *err;
    int rc;
} loader;

static const mbzm_tensor *need(loader *ld, const char *name)
{
    const mbzm_tensor *t = mbzm_find(ld->f, name);
    if (!t && ld->rc == MBZ_OK)
        ld->rc = mbz_fail(ld->err, MBZ_ERR_MODEL_INVALID, "model: tensor '%s' missing", name);
    return t;
}

/* Decode an int32 tensor into the pool, checking lo <= v <= hi. */
static int32_t *load_i32(loader *ld, const char *name, int64_t lo, int64_t hi)
{
    const mbzm_tensor *t = need(ld, name);
    if (!t || ld->rc != MBZ_OK)
        return NULL;
    size_t n = (size_t)t->rows * t->cols;
    if (ld->used + n > ld->cap) {
        ld->rc = mbz_fail(ld->err, MBZ_ERR_INTERNAL, "model: int32 pool overflow");
        return NULL;
    }
    int32_t *dst = ld->pool + ld->used;
    const uint8_t *src = t->data;
    for (size_t i = 0; i < n; i++) {
        int32_t v = le32(src + 4 * i);
        if (v < lo || v > hi) {
            ld->rc = mbz_fail(ld->err, MBZ_ERR_MODEL_INVALID,
                             "model: tensor '%s' element %zu = %d outside [%lld, %lld]", name, i, v,
                             (long long)lo, (long long)hi);
            return NULL;
        }
        dst[i] = v;
    }
    ld->used += n;
    return dst;
}

static void load_linear(loader *ld, const char *prefix, int q8, linear *L)
{
    char name[64];
    snprintf(name, sizeof name, "%s.w", prefix);
    const mbzm_tensor *t = need(ld, name);
    if (!t || ld->rc != MBZ_OK)
        return;
    L->O = t->rows;
    L->I = t->cols;
    L->w = t->data;
    for (size_t i = 0; i < L->O * L->I; i++)
        if (L->w[i] == -128) {
            ld->rc = mbz_fail(ld->err, MBZ_ERR_MODEL_INVALID,
                             "model: tensor '%s' holds the int8 weight -128", name);
            return;
        }
    L->q8 = q8;
    L->quads = q8 && mbz_kernels_get()->q8_quads;
    L->stride = mbz_q8_stride(L->quads, L->I);
    L->wp = mbz_alloc64(mbz_q8_size(L->quads, L->O, L->I) + 64);
    if (!L->wp) {
        ld->rc = mbz_fail(ld->err, MBZ_ERR_NOMEM, "out of memory loading model");
        return;
    }
    mbz_q8_pack(L->quads, L->w, L->I, L->O, L->I, L->wp);
    snprintf(name, sizeof name, "%s.b", prefix);
    L->b = load_i32(ld, name, INT32_MIN, INT32_MAX);
    snprintf(name, sizeof name, "%s.m", prefix);
    L->m = load_i32(ld, name, 0, INT32_MAX);
    snprintf(name, sizeof name, "%s.s", prefix);
    L->s = load_i32(ld, name, 1, 62);
}

static void load_layer(loader *ld, char pfx, size_t i, size_t heads, int q8, layer *Ly)
{
    char name[64];
    snprintf(name, sizeof name, "%c.%zu.qkv", pfx, i);
    load_linear(ld, name, q8, &Ly->qkv);
    snprintf(name, sizeof name, "%c.%zu.att", pfx, i);
    const mbzm_tensor *t = need(ld, name);
    if (t && ld->rc == MBZ_OK) {
        const uint8_t *d = t->data;
        Ly->att_m = le32(d);
        Ly->att_s = le32(d + 4);
        if (Ly->att_m < 0 || Ly->att_s < 1 || Ly->att_s > 62) {
            ld->rc = mbz_fail(ld->err, MBZ_ERR_MODEL_INVALID,
                             "model: tensor '%s': attention multiplier %d or shift %d out of range",
                             name, Ly->att_m, Ly->att_s);
            return;
        }
        if (ld->used + heads > ld->cap) {
            ld->rc = mbz_fail(ld->err, MBZ_ERR_INTERNAL, "model: int32 pool overflow");
            return;
        }
        Ly->alibi = ld->pool + ld->used;
        ld->used += heads;
        for (size_t h = 0; h < heads; h++) {
            Ly->alibi[h] = le32(d + 8 + 4 * h);
            if (Ly->alibi[h] < 0) {
                ld->rc = mbz_fail(ld->err, MBZ_ERR_MODEL_INVALID,
                                 "model: tensor '%s': negative ALiBi slope %d", name, Ly->alibi[h]);
                return;
            }
        }
    }
    snprintf(name, sizeof name, "%c.%zu.o", pfx, i);
    load_linear(ld, name, q8, &Ly->o);
    snprintf(name, sizeof name, "%c.%zu.up", pfx, i);
    load_linear(ld, name, q8, &Ly->up);
    snprintf(name, sizeof name, "%c.%zu.down", pfx, i);
    load_linear(ld, name, q8, &Ly->down);
}

static void mb_model_free(void *impl)
{
    mb_model *M = impl;
    if (!M)
        return;
    mbz_mb_team_release(M);
    for (size_t i = 0; M->gl && i < M->NGL; i++) {
        free(M->gl[i].qkv.wp);
        free(M->gl[i].o.wp);
        free(M->gl[i].up.wp);
        free(M->gl[i].down.wp);
    }
    for (size_t i = 0; M->ll && i < M->NLL; i++) {
        free(M->ll[i].qkv.wp);
        free(M->ll[i].o.wp);
        free(M->ll[i].up.wp);
        free(M->ll[i].down.wp);
    }
    free(M->glin.wp);
    free(M->prevl.wp);
    free(M->gemb16);
    free(M->head.wp);
    for (size_t j = 0; j < MBZM_CONV_LAYERS; j++)
        free(M->conv_l[j].wp);
    free(M->gl);
    free(M->ll);
    free(M->i32pool);
    mbzm_free(&M->f);
    free(M);
}

static void count_i32(void *user, const char *name, uint32_t dtype, uint32_t rows, uint32_t cols)
{
    (void)name;
    if (dtype == MBZM_I32)
        *(size_t *)user += (size_t)rows * cols;
}

int mbz_megabyte_create(const void *data, size_t size, mbz_model **out, mbz_error *err)
{
    char msg[256];
    *out = NULL;
    mb_model *M = calloc(1, sizeof *M);
    if (!M)
        return mbz_fail(err, MBZ_ERR_NOMEM, "out of memory loading model");
    int rc = mbzm_parse(data, size, &M->f, msg, sizeof msg);
    if (rc != MBZ_OK) {
        free(M);
        return mbz_fail(err, rc, "%s", msg);
    }
    const mbzm_hparams *hp = &M->f.hp;
    /* every known option bit is implemented here (cross-patch, conv encoder, int8
     * activations) or is the
     * frame's business (strided); unknown bits are refused by mbzm_parse */
    M->P = hp->patch;
    M->DE = hp->d_emb;
    M->DG = M->P * M->DE;
    M->DL = hp->l_dim;
    M->GH = hp->g_heads;
    M->GHD = M->DG / M->GH;
    M->LH = hp->l_heads;
    M->LHD = M->DL / M->LH;
    M->GFF = hp->g_ff;
    M->LFF = hp->l_ff;
    M->CTX = hp->ctx_patches;
    M->NGL = hp->g_layers;
    M->NLL = hp->l_layers;
    M->GB = M->P <= 16 ? 64 : 1024 / M->P;
    /* cross_r in 1..P (mbzm_parse); without local layers the option changes nothing */
    M->XR = (hp->options & MBZM_OPT_CROSS_PATCH) && M->NLL ? hp->cross_r : 0;
    M->q8 = (hp->options & MBZM_OPT_INT8_ACT) != 0;
    M->LAG = hp->options & MBZM_OPT_GLOBAL_LAG ? hp->global_lag : 1;   /* 2..8: mbzm_parse */
    M->prev = (hp->options & MBZM_OPT_PREV_PATCH) != 0;
    mbz_mb_team_prepare(M);   /* after the shapes; mb_model_free releases it */

    size_t n32 = 0;
    mbzm_for_each_tensor(hp, count_i32, &n32);
    M->i32pool = malloc((n32 ? n32 : 1) * sizeof(int32_t));
    M->gl = calloc(M->NGL ? M->NGL : 1, sizeof(layer));
    M->ll = calloc(M->NLL ? M->NLL : 1, sizeof(layer));
    if (!M->i32pool || !M->gl || !M->ll) {
        mb_model_free(M);
        return mbz_fail(err, MBZ_ERR_NOMEM, "out of memory loading model");
    }
    loader ld = {&M->f, M->i32pool, 0, n32, err, MBZ_OK};
    M->gemb = load_i32(&ld, "g.emb", -RES_MAX, RES_MAX);
    M->gpad = load_i32(&ld, "g.pad", -RES_MAX, RES_MAX);
    M->conv = (hp->options & MBZM_OPT_CONV_ENCODER) != 0;
    for (size_t j = 0; M->conv && j < MBZM_CONV_LAYERS; j++) {
        char name[32];
        snprintf(name, sizeof name, "g.conv.%zu", j);
        load_linear(&ld, name, 0, &M->conv_l[j]);   /* int16 inputs always */
    }
    for (size_t i = 0; i < M->NGL; i++)
        load_layer(&ld, 'g', i, M->GH, M->q8, &M->gl[i]);
    load_linear(&ld, "gl", M->q8, &M->glin);
    if (M->prev) {
        load_linear(&ld, "l.prev", M->q8, &M->prevl);
        /* the projection's input: E_G at RMSNorm scale, round_shift(e, 2) clamped to
         * +-8191 (doc/model-format.md §1.2) */
        M->gemb16 = malloc(256 * M->DE * sizeof(int16_t));
        if (!M->gemb16 && ld.rc == MBZ_OK)
            ld.rc = mbz_fail(err, MBZ_ERR_NOMEM, "out of memory loading model");
        for (size_t i = 0; M->gemb16 && M->gemb && i < 256 * M->DE; i++) {
            int64_t v = mbz_round_shift(M->gemb[i], MBZM_RES_SHIFT - 10);
            M->gemb16[i] = (int16_t)(v > MBZM_ACT_CLAMP ? MBZM_ACT_CLAMP
                                     : v < -MBZM_ACT_CLAMP ? -MBZM_ACT_CLAMP : v);
        }
    }
    M->lemb = load_i32(&ld, "l.emb", -RES_MAX, RES_MAX);
    M->lpos = load_i32(&ld, "l.pos", -RES_MAX, RES_MAX);
    for (size_t i = 0; i < M->NLL; i++)
        load_layer(&ld, 'l', i, M->LH, M->q8, &M->ll[i]);
    load_linear(&ld, "head", M->q8, &M->head);
    if (ld.rc != MBZ_OK) {
        mb_model_free(M);
        return ld.rc;
    }

    mbz_model *m = calloc(1, sizeof *m);
    if (!m) {
        mb_model_free(M);
        return mbz_fail(err, MBZ_ERR_NOMEM, "out of memory loading model");
    }
    m->fingerprint = M->f.fingerprint;
    m->ops = M->XR ? &mbz_mb_ops_no_seek : &mbz_mb_ops;
    m->impl = M;
    m->free_impl = mb_model_free;
    m->patch = M->P;
    m->score_chunk = MBZ_MB_SCORE_CHUNK;
    m->seek_reach = M->NGL * (M->CTX - 1) * M->P; /* mb_seek's warm-up */
    m->caps = MBZ_CAP_BATCH;
    snprintf(m->describe, sizeof m->describe, "megabyte P=%zu DG=%zux%zu DL=%zux%zu ctx=%zu%s", M->P,
             M->DG, M->NGL, M->DL, M->NLL, M->CTX * M->P, M->conv ? " conv" : "");
    if (M->q8) {   /* int8 activations */
        size_t n = strlen(m->describe);
        snprintf(m->describe + n, sizeof m->describe - n, " int8-act");
    }
    if (M->XR) {   /* cross-patch option */
        size_t n = strlen(m->describe);
        snprintf(m->describe + n, sizeof m->describe - n, " cross=%zu", M->XR);
    }
    if (M->LAG > 1) {   /* global lag option */
        size_t n = strlen(m->describe);
        snprintf(m->describe + n, sizeof m->describe - n, " lag=%zu", M->LAG);
    }
    if (M->prev) {   /* previous-patch option */
        size_t n = strlen(m->describe);
        snprintf(m->describe + n, sizeof m->describe - n, " prev");
    }
    *out = m;
    return MBZ_OK;
}
