/*
 * megabyte.c - integer MEGABYTE inference (doc/model-format.md): the predictor ops
 * (create, score, predict, predict_batch, destroy) and their scratch buffers.
 *
 * Everything in the engine is integer arithmetic; the matrix products go through the
 * kernel dispatch table (kernels.h), whose implementations are bit-identical. The
 * model object is read-only after creation; all mutable state lives in the predictor
 * (one per block), so blocks can run on different threads.
 *
 * The engine's files (their shared private types: megabyte_impl.h):
 *   megabyte.c          the predictor: how a block's bytes become global and local
 *                       passes (score: GB patches at a time; predict: one patch's
 *                       global step, then one byte; predict_batch: several blocks)
 *   megabyte_global.c   the global model over patches, its convolutional patch
 *                       encoder and the skipping of provably zero attention keys
 *   megabyte_local.c    the local model over the bytes of a patch and the head, down
 *                       to the frequency tables
 *   megabyte_load.c     model file -> mb_model (mbz_megabyte_create)
 *   megabyte_team.c     predict()'s global steps on two threads (assist)
 *   megabyte_pipe.c     a lagged model's global step of the next patch beside the
 *                       local steps of this one (assist)
 *   megabyte_profile.c  the opt-in time split (MBZIP_PROFILE)
 *
 * Linear layers use their weights packed at load (mm_pk8: int8, widened to int16 as
 * they are loaded, 16 output channels per vector, no horizontal sums; int8 halves the
 * bytes a decoding step streams). A model with int8 activations (MBZM_OPT_INT8_ACT)
 * quantizes each input row in groups of 64 (act_q8) and multiplies bytes by bytes
 * (mm_q8: four products per 32-bit lane with VNNI; its weights in the kernel set's
 * layout). Requantization and the softmax numerators go through the kernel table too
 * (kernels.h), all bit-identical to the scalar code.
 *
 * predict_batch (decompression of several blocks in lockstep) batches both models
 * across blocks: the global step of every block at a patch boundary is one set of
 * matrix-matrix products (one row per block; attention per block against its own
 * ring), and the local step of every block is one set too. Rows never mix in a
 * product, so each block's tables are those of its own step-by-step run.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "mbz.h"
#include "megabyte.h"
#include "megabyte_impl.h"
#include "modelfile.h"
#include "predictor.h"


/* ------------------------------------------------------------------ scratch */

void mbz_mb_scratch_free(scratch *s)
{
    void *v[] = {s->gh, s->gacc, s->scores, s->ye, s->ga, s->gqkv, s->gatt, s->ghid,
                 s->gout, s->E, s->acc64, s->S, s->lu, s->lacc, s->logits, s->la,
                 s->lqkvb, s->latt, s->lhid, s->lslice, s->px, s->pv, s->ch, s->cacc, s->ca,
                 s->q8, s->q8e};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        free(v[i]);
    memset(s, 0, sizeof *s);
}

static size_t max3(size_t a, size_t b, size_t c)
{
    size_t m = a > b ? a : b;
    return m > c ? m : c;
}

/* Conv encoder rows: a call covers the bytes of at most GR patches plus
 * MBZM_CONV_REACH bytes of left context (conv_encode, megabyte_global.c). Returns
 * nonzero on failure. */
static int conv_scratch_alloc(scratch *s, const mb_model *M, size_t GR)
{
    s->CR = GR * M->P + MBZM_CONV_REACH;
    s->ch = calloc(s->CR * M->DE + 1, sizeof *s->ch);
    s->cacc = calloc(s->CR * M->DE + 1, sizeof *s->cacc);
    s->ca = calloc((s->CR + MBZM_CONV_KERNEL(MBZM_CONV_LAYERS - 1)) * M->DE + 1, sizeof *s->ca);
    return !s->ch || !s->cacc || !s->ca;
}

int mbz_mb_scratch_alloc(scratch *s, const mb_model *M, size_t R, size_t GR, size_t LR)
{
    memset(s, 0, sizeof *s);
    s->GR = GR;
    s->LR = LR;
#define A(p, n) ((p) = calloc((n) + 1, sizeof *(p))) == NULL
    if (A(s->gh, GR * M->DG) || A(s->gacc, GR * max3(3 * M->DG, M->GFF, 1)) ||
        A(s->scores, GR * (R + 16)) || A(s->ye, 2 * GR * M->GHD) ||
        A(s->ga, GR * M->DG) || A(s->gqkv, GR * 3 * M->DG) || A(s->gatt, GR * M->DG) ||
        A(s->ghid, GR * M->GFF) || A(s->gout, (GR + 1) * M->DG) || A(s->E, 2 * GR * R) ||
        A(s->acc64, GR * M->GHD) || A(s->S, GR) || A(s->lu, LR * M->DL) ||
        A(s->lacc, LR * max3(3 * M->DL, M->LFF, 256)) || A(s->logits, LR * 256) ||
        A(s->la, LR * M->DL) || A(s->lqkvb, LR * 3 * M->DL) || A(s->latt, LR * M->DL) ||
        A(s->lhid, LR * M->LFF) || A(s->lslice, LR * M->DE) ||
        (M->prev && (A(s->px, M->DG) || A(s->pv, M->DL))) ||
        (M->q8 && (A(s->q8, MB_Q8_ROWS * MBZM_MAX_DIN) ||
                   A(s->q8e, MB_Q8_ROWS * (MBZM_MAX_DIN / MBZM_Q8_GROUP)))) ||
        (M->conv && conv_scratch_alloc(s, M, GR))) {
        mbz_mb_scratch_free(s);
        return MBZ_ERR_NOMEM;
    }
#undef A
    return MBZ_OK;
}
/* ------------------------------------------------------------------ predictor ops */

/* Cross-patch option: patch k (> 0) needs the previous patch's rows in lx, i.e. the
 * positions of a block come in order (as the global model requires too). */
static int cross_ready(const mb_state *st, size_t k)
{
    return !st->M->XR || k == 0 || st->lx_next == k;
}

static void mb_destroy(mbz_predictor *p)
{
    mb_state *st = mb_of(p);
    if (!st)
        return;
    mbz_mb_team_stop(st);
    mbz_mb_pipe_stop(st);
    free(st->gK);
    free(st->gV);
    free(st->gKn);
    free(st->last_gout);
    free(st->lkv);
    free(st->lx);
    mbz_mb_scratch_free(&st->sc);
    free(st);
}

/* n int16 zeros, 64-byte aligned (a packed ring of keys or values), or NULL. */
static int16_t *ring_alloc(size_t n)
{
    int16_t *p = mbz_alloc64(n * sizeof *p + 64);
    if (p)
        memset(p, 0, n * sizeof *p);
    return p;
}

static int mb_create(const void *impl, size_t block_len, mbz_predictor **out)
{
    const mb_model *M = impl;
    *out = NULL;
    mb_state *st = calloc(1, sizeof *st);
    if (!st)
        return MBZ_ERR_NOMEM;
    st->M = M;
    st->block_len = block_len;
    st->K = mbz_kernels_get();
    st->prof = mbz_megabyte_profile_enabled();
    size_t patches = block_len / M->P + 1;   /* patches a block of block_len bytes can touch */
    st->R = M->CTX + M->GB;
    if (patches < st->R)
        st->R = patches;
    size_t ng = M->NGL ? M->NGL : 1, nl = M->NLL ? M->NLL : 1;
    st->pkK = mbz_pk_size(st->R, M->GHD);
    st->gK = ring_alloc(ng * M->GH * st->pkK);
    st->pkV = mbz_pk_size(M->GHD, st->R);
    st->gV = ring_alloc(ng * M->GH * st->pkV);
    st->gKn = calloc(ng * M->GH * st->R, sizeof(uint16_t));
    st->last_gout = calloc(M->DG, sizeof(int16_t));
    st->lkv = calloc(nl * M->P * 3 * M->DL, sizeof(int16_t));
    st->lx = calloc(nl * (M->XR ? M->XR : 1) * 3 * M->DL, sizeof(int16_t));
    if (!st->gK || !st->gV || !st->gKn || !st->last_gout || !st->lkv || !st->lx ||
        mbz_mb_scratch_alloc(&st->sc, M, st->R, M->GB, M->GB * M->P) != MBZ_OK) {
        mb_destroy((mbz_predictor *)st);
        return MBZ_ERR_NOMEM;
    }
    *out = (mbz_predictor *)st;
    return MBZ_OK;
}

static int mb_score(mbz_predictor *p, const uint8_t *data, size_t len, size_t pos, size_t n,
                    uint16_t *freq)
{
    mb_state *st = mb_of(p);
    const mb_model *M = st->M;
    scratch *sc = &st->sc;
    const size_t P = M->P, DG = M->DG, DE = M->DE;
    if (n == 0)
        return MBZ_OK;
    if (pos + n > len || len > st->block_len || pos / P + 1 < st->g_done ||
        !cross_ready(st, pos / P) || st->pipe)
        return MBZ_ERR_PARAM;
    lrow *rows = malloc(M->GB * P * sizeof *rows);
    if (!rows)
        return MBZ_ERR_NOMEM;
    size_t end = pos + n, k = pos / P, kend = (end - 1) / P;
    uint64_t tp = st->prof ? mbz_mb_prof_now() : 0;
    while (k <= kend) {
        size_t kb = kend + 1 < k + M->GB ? kend + 1 : k + M->GB;
        /* global outputs of patches k .. kb-1 into sc->gout */
        size_t first = k;
        if (k < st->g_done) {        /* only k == g_done - 1: kept from before */
            memcpy(sc->gout, st->last_gout, DG * sizeof(int16_t));
            first = k + 1;
        }
        if (first < kb) {
            if (first != st->g_done) {
                free(rows);
                return MBZ_ERR_INTERNAL;
            }
            mbz_mb_global_inputs(M, st->K, sc, data, first, kb, sc->gh);
            gseg g = {st, first, kb - first};
            mbz_mb_global_forward(M, st->K, sc, &g, 1, sc->gh, sc->gout + (first - k) * DG);
        }
        if (st->prof)
            mbz_mb_prof_add(MBZ_PROF_SCORE_GLOBAL, &tp, first < kb, kb - first);
        /* local rows: every position from the start of patch k (earlier positions of a
         * patch split by the previous call are recomputed) up to the chunk's end */
        size_t t0 = k * P, t1 = kb * P < end ? kb * P : end;
        for (size_t t = t0; t < t1; t++) {
            lrow *r = &rows[t - t0];
            r->p = t % P;
            r->prev = r->p ? data[t - 1] : 256;
            r->slice = sc->gout + (t / P - k) * DG + r->p * DE;
            r->st = NULL;
            r->k = t / P;
            r->xst = M->XR ? st : NULL;
            r->pbytes = M->prev && r->k ? data + (r->k - 1) * P : NULL;
        }
        size_t skip = pos > t0 ? pos - t0 : 0;   /* rows before pos: computed, not returned */
        if (skip == 0) {
            mbz_mb_local_forward(M, st->K, sc, rows, t1 - t0, freq + (t0 - pos) * 256);
        } else {
            uint16_t *tmp = malloc((t1 - t0) * 256 * sizeof(uint16_t));
            if (!tmp) {
                free(rows);
                return MBZ_ERR_NOMEM;
            }
            mbz_mb_local_forward(M, st->K, sc, rows, t1 - t0, tmp);
            memcpy(freq, tmp + skip * 256, (t1 - t0 - skip) * 256 * sizeof(uint16_t));
            free(tmp);
        }
        if (st->prof)
            mbz_mb_prof_add(MBZ_PROF_SCORE_LOCAL, &tp, 1, t1 - t0);
        k = kb;
    }
    free(rows);
    return MBZ_OK;
}

/* Make the global output of patch pos/P available (step mode). */
static void step_global(mb_state *st, const uint8_t *data, size_t pos)
{
    const mb_model *M = st->M;
    size_t k = pos / M->P;
    if (pos % M->P == 0 && st->g_done == k) {
        gseg g = {st, k, 1};
        mbz_mb_global_inputs(M, st->K, &st->sc, data, k, k + 1, st->sc.gh);
        if (st->team)
            mbz_mb_team_step(st, k);
        else
            mbz_mb_global_forward(M, st->K, &st->sc, &g, 1, st->sc.gh, st->sc.gout);
    }
}

static int mb_predict(mbz_predictor *handle, const uint8_t *data, size_t pos, uint16_t *freq)
{
    mb_state *st = mb_of(handle);
    const mb_model *M = st->M;
    size_t k = pos / M->P, p = pos % M->P;
    if (pos >= st->block_len)
        return MBZ_ERR_PARAM;
    uint64_t t0 = st->prof ? mbz_mb_prof_now() : 0;
    const int16_t *gout = st->last_gout;
    if (st->pipe) {   /* the step of patch k was posted at patch k - 1 (megabyte_pipe.c) */
        int rc = mbz_mb_pipe_global(st, data, pos, &gout);
        if (rc != MBZ_OK)
            return rc;
        if (st->prof)   /* what the decoding thread spent on (or waiting for) the step */
            mbz_mb_prof_add(MBZ_PROF_PREDICT_GLOBAL, &t0, p == 0, p == 0);
    } else {
        size_t before = st->g_done;
        step_global(st, data, pos);
        if (st->prof)
            mbz_mb_prof_add(MBZ_PROF_PREDICT_GLOBAL, &t0, st->g_done - before, st->g_done - before);
        if (st->g_done != k + 1)
            return MBZ_ERR_PARAM;      /* positions must come in order */
    }
    if (!cross_ready(st, k))
        return MBZ_ERR_PARAM;
    lrow r = {p, p ? data[pos - 1] : 256, gout + p * M->DE, st, k, M->XR ? st : NULL,
              M->prev && k ? data + (k - 1) * M->P : NULL};
    mbz_mb_local_forward(M, st->K, &st->sc, &r, 1, freq);
    if (st->prof)
        mbz_mb_prof_add(MBZ_PROF_PREDICT_LOCAL, &t0, 1, 1);
    return MBZ_OK;
}

static int mb_predict_batch(mbz_predictor **ps, const uint8_t *const *data, const size_t *pos,
                            int nb, uint16_t *freq)
{
    if (nb <= 0)
        return MBZ_OK;
    const mb_model *M = mb_of(ps[0])->M;
    const mbz_kernels *K = mb_of(ps[0])->K;
    scratch *sc = &mb_of(ps[0])->sc;      /* the caller owns all nb predictors during the call */
    lrow rows[64];
    gseg segs[64];
    for (int b0 = 0; b0 < nb; b0 += 64) {
        int cnt = nb - b0 < 64 ? nb - b0 : 64;   /* sc->LR >= 64 always */
        /* global steps: the blocks at a patch boundary, all in one batch of rows (in
         * groups of at most sc->GR rows; attention per block, see mbz_mb_global_forward) */
        uint64_t t0 = mb_of(ps[0])->prof ? mbz_mb_prof_now() : 0;
        size_t ng = 0, grows = 0, gpasses = 0;
        for (int b = b0; b < b0 + cnt; b++) {
            if (pos[b] >= mb_of(ps[b])->block_len || mb_of(ps[b])->pipe)
                return MBZ_ERR_PARAM;
            size_t k = pos[b] / M->P;
            if (pos[b] % M->P == 0 && mb_of(ps[b])->g_done == k) {
                mbz_mb_global_inputs(M, K, sc, data[b], k, k + 1, sc->gh + ng * M->DG);
                segs[ng++] = (gseg){mb_of(ps[b]), k, 1};
                if (ng == sc->GR) {
                    mbz_mb_global_forward(M, K, sc, segs, ng, sc->gh, sc->gout);
                    grows += ng;
                    gpasses++;
                    ng = 0;
                }
            }
        }
        if (ng) {
            mbz_mb_global_forward(M, K, sc, segs, ng, sc->gh, sc->gout);
            grows += ng;
            gpasses++;
        }
        if (mb_of(ps[0])->prof)
            mbz_mb_prof_add(MBZ_PROF_PREDICT_GLOBAL, &t0, gpasses, grows);
        /* local: all blocks' rows in one pass (weights shared) */
        for (int b = b0; b < b0 + cnt; b++) {
            if (mb_of(ps[b])->g_done != pos[b] / M->P + 1)
                return MBZ_ERR_PARAM;      /* positions must come in order */
            size_t p = pos[b] % M->P, k = pos[b] / M->P;
            if (!cross_ready(mb_of(ps[b]), k))
                return MBZ_ERR_PARAM;
            rows[b - b0] = (lrow){p, p ? data[b][pos[b] - 1] : 256,
                                  mb_of(ps[b])->last_gout + p * M->DE, mb_of(ps[b]), k,
                                  M->XR ? mb_of(ps[b]) : NULL,
                                  M->prev && k ? data[b] + (k - 1) * M->P : NULL};
        }
        mbz_mb_local_forward(M, K, sc, rows, (size_t)cnt, freq + (size_t)b0 * 256);
        if (mb_of(ps[0])->prof)
            mbz_mb_prof_add(MBZ_PROF_PREDICT_LOCAL, &t0, 1, (size_t)cnt);
    }
    return MBZ_OK;
}

/* Seek (predictor.h): start a fresh predictor at patch s = pos/P. The global model
 * at patch s depends on patches back to s - NGL * (CTX - 1) only: layer l's output
 * at patch j depends on layer l-1's outputs at patches j-CTX+1 .. j (its attention
 * band), so the receptive field of the last layer spans NGL bands. Running the
 * global layers from patch s0 = s - NGL * (CTX - 1) with an empty ring makes layer
 * 1 exact from patch s0 + CTX - 1 on, layer 2 from s0 + 2 (CTX - 1), ..., the last
 * layer from s: what the earlier patches' keys held (zeros) no longer reaches any
 * band by then. The key skipping of mbz_mb_global_attend is exact whatever the ring holds.
 * The local model needs only a patch's global output and bytes, except with
 * cross-patch attention (XR), which needs the previous patch's local rows: not
 * offered then. Cost: NGL * (CTX - 1) patches of the global model (32 KiB of bytes
 * for the default model), no local model. */
static int mb_seek(mbz_predictor *p, const uint8_t *data, size_t len, size_t pos)
{
    mb_state *st = mb_of(p);
    const mb_model *M = st->M;
    scratch *sc = &st->sc;
    if (M->XR || pos % M->P || pos > len || len > st->block_len || st->g_done != 0 || st->pipe)
        return MBZ_ERR_PARAM;
    size_t s = pos / M->P, reach = M->NGL * (M->CTX - 1);
    size_t k = s > reach ? s - reach : 0;
    st->g_done = k;
    while (k < s) {
        size_t kb = s < k + M->GB ? s : k + M->GB;
        gseg g = {st, k, kb - k};
        mbz_mb_global_inputs(M, st->K, sc, data, k, kb, sc->gh);
        mbz_mb_global_forward(M, st->K, sc, &g, 1, sc->gh, sc->gout);
        k = kb;
    }
    return MBZ_OK;
}

/* One helper: for a lagged model, the global step of the next patch beside the local
 * steps of this one (megabyte_pipe.c); otherwise the global steps of predict() on two
 * threads (megabyte_team.c), for a model whose shapes allow it. */
static int mb_assist(mbz_predictor *p, int helpers)
{
    mb_state *st = mb_of(p);
    if (helpers <= 0)
        return 0;
    if (st->M->LAG >= 2)   /* on a fresh predictor only: the pipe starts at patch 0 */
        return st->g_done == 0 && mbz_mb_pipe_start(st) == 0 ? 1 : 0;
    return mbz_mb_team_start(st) == 0 ? 1 : 0;
}

/* The ops of every MEGABYTE model, with or without seek. */
#define MB_OPS(SEEK)                                                              \
    {                                                                             \
        .name = "megabyte", .create = mb_create, .score = mb_score,               \
        .predict = mb_predict, .predict_batch = mb_predict_batch,                 \
        .destroy = mb_destroy, .seek = SEEK, .assist = mb_assist,                 \
    }

const mbz_predictor_ops mbz_mb_ops = MB_OPS(mb_seek);

/* A model with cross-patch attention cannot seek (mb_seek): its ops say so. */
const mbz_predictor_ops mbz_mb_ops_no_seek = MB_OPS(NULL);
