/*
 * megabyte.c - integer MEGABYTE inference (doc/model-format.md).
 *
 * Everything here is integer arithmetic; the matrix products go through the kernel
 * dispatch table (kernels.h), whose implementations are bit-identical. The model
 * object is read-only after creation; all mutable state lives in the predictor
 * (one per block), so blocks can run on different threads.
 *
 * Global model. Patch k's input is patch k-1's bytes (a pad patch for k = 0). Its
 * attention keys/values are kept per layer in a ring of R patches (R >= ctx + GB - 1,
 * or all the block's patches if fewer), so that teacher-forced scoring can process GB
 * patches at once with a band-causal window that reaches back into earlier chunks.
 * K is stored packed per head (the mm_pk layout of kernels.h, key slots as output
 * channels) and V transposed (D_G x slot), so both attention products are plain
 * "X times W-transposed" kernels:
 *     scores = Q_h . K_h^T             (mm_pk; |q|, |k| <= 2047, d <= 256)
 *     out    = E . V_h  with E = 256*Eh + El, Eh, El < 2^8+1
 * (the softmax numerators e <= 65536 do not fit int16, so they are split; chunks of
 * at most 1024 keys keep each int32 partial sum below 256*8191*1024 < 2^31, and the
 * chunk sums are added in int64). The Eh and El rows of a query are adjacent rows of
 * one matrix, so a single product reads each V row once for both.
 *
 * Linear layers use their weights packed at load (mm_pk8: int8, widened to int16 as
 * they are loaded, 16 output channels per vector, no horizontal sums; int8 halves the
 * bytes a decoding step streams); requantization and the softmax numerators go
 * through the kernel table too (kernels.h), all bit-identical to the scalar code.
 *
 * Local model. Each position's input is W_GL . slice_p(gout_k) + E_L[prev] + pos_L[p];
 * the local layers are causal over the positions of one patch. Scoring runs all
 * positions of GB patches at once; step prediction keeps the q/k/v rows of the
 * earlier positions of the current patch.
 *
 * Convolutional patch encoder (option MBZM_OPT_CONV_ENCODER): the global byte
 * embeddings pass through three causal residual conv layers (kernels 3, 5, 7) before
 * they are cut into patches (conv_encode); every path builds its global inputs with
 * global_inputs(), which recomputes the 12 bytes of left context a patch needs, so
 * teacher-forced, step and batched runs see the same integers.
 *
 * Global attention reads only what can matter: keys whose softmax numerator is
 * provably 0 (a norm bound against ALiBi's distance penalty, global_attend) are not
 * scored, and E.V covers only the span of nonzero numerators; both exact.
 *
 * predict_batch (decompression of several blocks in lockstep) batches both models
 * across blocks: the global step of every block at a patch boundary is one set of
 * matrix-matrix products (one row per block; attention per block against its own
 * ring), and the local step of every block is one set too. Rows never mix in a
 * product, so each block's tables are those of its own step-by-step run.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "mbz.h"
#include "megabyte.h"
#include "megabyte_impl.h"
#include "modelfile.h"
#include "predictor.h"
#include "qmath.h"

#define KEY_CHUNK 1024      /* keys per int32 partial sum of E.V (see above) */
#define SCORE_CHUNK 16384   /* preferred score() chunk, bytes */

/* ------------------------------------------------------------------ key skipping (megabyte.h) */

static atomic_int key_skipping = 1;

void mbz_megabyte_set_key_skipping(int on)
{
    atomic_store(&key_skipping, on != 0);
}

/* ------------------------------------------------------------------ scratch */

static void scratch_free(scratch *s)
{
    void *v[] = {s->gh, s->gacc, s->scores, s->ye, s->ga, s->gqkv, s->gatt, s->ghid,
                 s->gout, s->E, s->acc64, s->S, s->lu, s->lacc, s->logits, s->la,
                 s->lqkvb, s->latt, s->lhid, s->lslice, s->ch, s->cacc, s->ca};
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
 * MBZM_CONV_REACH bytes of left context (conv_encode). Returns nonzero on failure. */
static int conv_scratch_alloc(scratch *s, const mb_model *M, size_t GR)
{
    s->CR = GR * M->P + MBZM_CONV_REACH;
    s->ch = calloc(s->CR * M->DE + 1, sizeof *s->ch);
    s->cacc = calloc(s->CR * M->DE + 1, sizeof *s->cacc);
    s->ca = calloc((s->CR + MBZM_CONV_KERNEL(MBZM_CONV_LAYERS - 1)) * M->DE + 1, sizeof *s->ca);
    return !s->ch || !s->cacc || !s->ca;
}

static int scratch_alloc(scratch *s, const mb_model *M, size_t R, size_t GR, size_t LR)
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
        (M->conv && conv_scratch_alloc(s, M, GR))) {
        scratch_free(s);
        return MBZ_ERR_NOMEM;
    }
#undef A
    return MBZ_OK;
}

/* ------------------------------------------------------------------ common pieces */

/* acc = X . W^T for N rows (stride ldx). */
static void lin_acc(const mbz_kernels *K, const linear *L, const int16_t *X, size_t ldx, size_t N,
                    int32_t *acc)
{
    K->mm_pk8(X, ldx, N, L->wp, L->O, L->I, acc, L->O);
}

/* Linear into the residual stream: h[n] = res_add(h[n], clamp(requant, +-2^24)). */
static void lin_residual(const mbz_kernels *K, const linear *L, const int16_t *X, size_t N,
                         int32_t *acc, int32_t *h)
{
    lin_acc(K, L, X, L->I, N, acc);
    for (size_t n = 0; n < N; n++) {
        int32_t *a = acc + n * L->O;
        K->requant32(a, L->b, L->m, L->s, L->O, -RES_MAX, RES_MAX, a);
        for (size_t o = 0; o < L->O; o++)
            h[n * L->O + o] = mbz_res_add(h[n * L->O + o], a[o]);
    }
}

/* q/k/v projection: out rows of 3D (q, k clamped to +-2047, v to +-8191). */
static void lin_qkv(const mbz_kernels *K, const linear *L, const int16_t *X, size_t N,
                    int32_t *acc, int16_t *out)
{
    size_t D = L->I;
    lin_acc(K, L, X, D, N, acc);
    for (size_t n = 0; n < N; n++) {
        const int32_t *a = acc + n * 3 * D;
        int16_t *y = out + n * 3 * D;
        K->requant16(a, L->b, L->m, L->s, 2 * D, -MBZM_QK_CLAMP, MBZM_QK_CLAMP, 0, y);
        K->requant16(a + 2 * D, L->b + 2 * D, L->m + 2 * D, L->s + 2 * D, D, -MBZM_ACT_CLAMP,
                      MBZM_ACT_CLAMP, 0, y + 2 * D);
    }
}

/* h += down(relu(up(rmsnorm(h)))) */
static void mlp(const mbz_kernels *K, const layer *Ly, int32_t *h, size_t N, size_t D,
                int16_t *a, int16_t *hid, int32_t *acc)
{
    for (size_t n = 0; n < N; n++)
        mbz_rmsnorm(h + n * D, D, a + n * D);
    lin_acc(K, &Ly->up, a, D, N, acc);
    size_t F = Ly->up.O;
    for (size_t n = 0; n < N; n++)
        K->requant16(acc + n * F, Ly->up.b, Ly->up.m, Ly->up.s, F, -MBZM_ACT_CLAMP,
                      MBZM_ACT_CLAMP, 1, hid + n * F);
    lin_residual(K, &Ly->down, hid, N, acc, h);
}

/* ------------------------------------------------------------------ global model */

/* A run of consecutive patches k0 .. k0+cnt-1 of one block (predictor st). */
typedef struct {
    mbz_predictor *st;
    size_t k0, cnt;
} gseg;

/* The integer square root of sum x_c^2, rounded up: an upper bound of the Euclidean
 * norm, so q.k <= |q| |k| (Cauchy-Schwarz). */
static uint32_t norm_ceil(const int16_t *x, size_t d)
{
    uint64_t ss = 0;
    for (size_t c = 0; c < d; c++)
        ss += (uint64_t)((int32_t)x[c] * x[c]);
    uint64_t r = mbz_isqrt64(ss);
    return (uint32_t)(r * r < ss ? r + 1 : r);
}

/* scores[n][16 + w] = q_n . k_{jlo+w} for the keys w in [wa, wb) of a window starting
 * at ring slot s0 (packed keys Kh, mm_pk layout). The products start at the group
 * of each slot range, so up to 15 columns before wa get junk; column 16 + w needs
 * w >= -16. */
static void key_scores(const mbz_kernels *K, const int16_t *Q, size_t ldq, size_t cnt,
                       const int16_t *Kh, size_t R, size_t s0, size_t d, size_t wa, size_t wb,
                       int32_t *scores, size_t ldS)
{
    const size_t d2 = (d + 1) / 2;
    while (wa < wb) {
        size_t slot = (s0 + wa) % R;
        size_t len = wb - wa < R - slot ? wb - wa : R - slot;   /* not across the ring's end */
        size_t ga = slot / 16, lead = slot - ga * 16;
        K->mm_pk(Q, ldq, cnt, Kh + ga * d2 * 32, lead + len, d, scores + 16 + wa - lead, ldS);
        wa += len;
    }
}

#define NEAR_KEYS 32        /* keys before the newest query's always scored (see below) */

/* Attention of global layer l for the cnt patches of segment g: stores their keys and
 * values in the block's ring, then out[n] (stride DG) = attention of query n (q/k/v
 * rows qkv[n], stride 3*DG) over its band of keys. Works in the block's own scratch
 * (scores, softmax numerators: sized for its ring), so the rows of several blocks can
 * share one batch. Requires g->st->g_done == g->k0 and cnt <= M->GB.
 *
 * Keys whose numerator is provably 0 are skipped (exactly: the result is that of the
 * full window). With ALiBi, z_ij = round_shift(q_i.k_j * m, sh) - slope * (i - j) and
 * q.k <= |q| |k|, so z_ij <= round_shift(qmax * kmax * m, sh) - slope * (i - j) for
 * norms bounded by qmax, kmax; where that is at most zlow_i - 17*256, with zlow_i the
 * largest z_ij over keys already scored (<= the maximum), t_ij >= 17*256 and e_ij = 0,
 * and the key cannot be the maximum either. The newest cnt + NEAR_KEYS keys are always
 * scored (they give zlow); older keys are tested in runs of 16 from the oldest and
 * scored from the first run that fails the test. The steep heads (large slopes) thus
 * read only the recent part of their window. */
static void global_attend(const mb_model *M, const mbz_kernels *K, const layer *Ly, size_t l,
                          const gseg *g, const int16_t *qkv, int16_t *out)
{
    mbz_predictor *st = g->st;
    scratch *sc = &st->sc;
    const size_t DG = M->DG, d = M->GHD, R = st->R, CTX = M->CTX, k0 = g->k0, cnt = g->cnt;
    size_t jlo = k0 + 1 > CTX ? k0 + 1 - CTX : 0;
    size_t jhi = k0 + cnt - 1;            /* union window of keys: [jlo, jhi] */
    size_t W = jhi - jlo + 1;             /* <= CTX + cnt - 1 <= R */
    size_t s0 = jlo % R;                  /* ring slot of key jlo */
    size_t ldS = W + 16;                  /* row stride of sc->scores */
    size_t wnear = W > cnt + NEAR_KEYS ? W - cnt - NEAR_KEYS : 0;   /* always scored: [wnear, W) */
    int16_t *Kl = st->gK + l * M->GH * st->pkK;
    uint16_t *Knl = st->gKn + l * M->GH * R;
    const size_t d2 = (d + 1) / 2;
    int16_t *Vt = st->gVt + l * DG * R;

    for (size_t n = 0; n < cnt; n++) {
        size_t slot = (k0 + n) % R;
        const int16_t *row = qkv + n * 3 * DG;
        /* key of slot j, head hh, dim c at ((j/16) * d2 + c/2) * 32 + (j%16) * 2 + c%2 */
        for (size_t hh = 0; hh < M->GH; hh++) {
            int16_t *kp = Kl + hh * st->pkK + (slot / 16) * d2 * 32 + (slot % 16) * 2;
            const int16_t *kr = row + DG + hh * d;
            for (size_t c = 0; c < d; c++)
                kp[(c / 2) * 32 + c % 2] = kr[c];
            Knl[hh * R + slot] = (uint16_t)norm_ceil(kr, d);
        }
        for (size_t c = 0; c < DG; c++)
            Vt[c * R + slot] = row[2 * DG + c];
    }

    for (size_t hh = 0; hh < M->GH; hh++) {
        const int16_t *Q = qkv + hh * d;
        const int16_t *Kh = Kl + hh * st->pkK;
        const uint16_t *kn = Knl + hh * R;
        const int64_t slope = Ly->alibi[hh];
        /* scores[n][16 + w] = q_n . k_{jlo+w}, row stride ldS: first the newest keys */
        key_scores(K, Q, 3 * DG, cnt, Kh, R, s0, d, wnear, W, sc->scores, ldS);
        /* then from the first run of 16 older keys that may have a nonzero numerator */
        size_t wcut = 0;
        if (wnear > 0 && atomic_load_explicit(&key_skipping, memory_order_relaxed)) {
            /* C = min_n (zlow_n + slope * n) - 17*256, over rows; qmax = max_n |q_n| */
            int64_t C = INT64_MAX;
            uint64_t qmax = 0;
            for (size_t n = 0; n < cnt; n++) {
                size_t i = k0 + n, wi = i - jlo;          /* the query's own key */
                size_t lo = i + 1 > CTX ? i + 1 - CTX : 0;
                size_t wa = lo - jlo > wnear ? lo - jlo : wnear;
                const int32_t *sr = sc->scores + n * ldS + 16;
                int64_t zl = INT64_MIN;
                for (size_t w = wa; w <= wi; w++) {
                    int64_t z = mbz_round_shift((int64_t)sr[w] * Ly->att_m, Ly->att_s) -
                                slope * (int64_t)(wi - w);
                    zl = z > zl ? z : zl;
                }
                int64_t c = zl + slope * (int64_t)n - 17 * 256;
                C = c < C ? c : C;
                uint64_t qn = norm_ceil(Q + n * 3 * DG, d);
                qmax = qn > qmax ? qn : qmax;
            }
            /* run [w, w1): prunable iff round_shift(qmax * kmax * m, sh) - slope * (k0 - j1)
             * <= C, j1 = jlo + w1 - 1 its newest key (< k0: runs end before wnear) */
            for (size_t slot = s0; wcut < wnear;) {
                size_t w1 = wcut + 16 < wnear ? wcut + 16 : wnear;
                uint64_t kmax = 0;
                for (size_t w = wcut; w < w1; w++) {
                    uint64_t v = kn[slot];
                    kmax = v > kmax ? v : kmax;
                    slot = slot + 1 < R ? slot + 1 : 0;
                }
                int64_t B = mbz_round_shift((int64_t)(qmax * kmax) * Ly->att_m, Ly->att_s);
                if (B - slope * (int64_t)(k0 - (jlo + w1 - 1)) > C)
                    break;
                wcut = w1;
            }
        }
        key_scores(K, Q, 3 * DG, cnt, Kh, R, s0, d, wcut, wnear, sc->scores, ldS);
        if (st->prof)
            mbz_mb_prof_keys(W, W - wcut);
        /* softmax numerators: keys lo..i of query i (its band), zero elsewhere; [wlo, whi)
         * spans the nonzero ones of all rows (ALiBi makes the numerators of distant keys
         * 0 for the steeper heads: E.V skips those keys, whose terms are exactly 0) */
        size_t wlo = W, whi = 0;
        for (size_t n = 0; n < cnt; n++) {
            size_t i = k0 + n;
            size_t lo = i + 1 > CTX ? i + 1 - CTX : 0;
            int16_t *eh = sc->E + 2 * n * W, *el = eh + W;
            size_t a = lo - jlo, L = i - lo + 1;
            if (a < wcut) {   /* keys before wcut: numerator 0 (above) */
                L -= wcut - a;
                a = wcut;
            }
            memset(eh, 0, a * sizeof *eh);
            memset(el, 0, a * sizeof *el);
            sc->S[n] = K->att_exp(sc->scores + n * ldS + 16 + a, L, Ly->att_m, Ly->att_s,
                                  Ly->alibi[hh], eh + a, el + a);
            memset(eh + a + L, 0, (W - a - L) * sizeof *eh);
            memset(el + a + L, 0, (W - a - L) * sizeof *el);
            size_t f = a, e = a + L;   /* some e_w > 0: the maximum's is 65536 */
            while (!(eh[f] | el[f]))
                f++;
            while (!(eh[e - 1] | el[e - 1]))
                e--;
            wlo = f < wlo ? f : wlo;
            whi = e > whi ? e : whi;
        }
        /* out = E . V over key chunks (<= KEY_CHUNK keys, not crossing the ring's end) */
        memset(sc->acc64, 0, cnt * d * sizeof(int64_t));
        for (size_t w = wlo; w < whi;) {
            size_t slot = (s0 + w) % R;
            size_t len = whi - w;
            if (len > KEY_CHUNK)
                len = KEY_CHUNK;
            if (len > R - slot)
                len = R - slot;
            const int16_t *Vh = Vt + hh * d * R + slot;
            K->mm_w16(sc->E + w, W, 2 * cnt, Vh, R, d, len, sc->ye, d);   /* rows Eh_n, El_n */
            for (size_t n = 0; n < cnt; n++)
                for (size_t c = 0; c < d; c++)
                    sc->acc64[n * d + c] +=
                        (int64_t)sc->ye[2 * n * d + c] * 256 + sc->ye[(2 * n + 1) * d + c];
            w += len;
        }
        for (size_t n = 0; n < cnt; n++)
            for (size_t c = 0; c < d; c++)
                out[n * DG + hh * d + c] = (int16_t)mbz_div_round(sc->acc64[n * d + c], sc->S[n]);
    }
}

/* Run the global layers for the patches of nseg segments (of distinct blocks, or one
 * segment of up to GB patches): rows in segment order, inputs in h (rows x DG, int32),
 * outputs (rmsnorm, int16) to gout. The linear layers run once over all rows, so
 * their weights are read once for every block in the batch; attention runs per
 * segment against that block's own keys (global_attend). Each row's result is the
 * same integer whatever else is in the batch. The row buffers are sc's (sc->GR rows
 * at least); each segment's predictor gets g_done and last_gout updated. */
static void global_forward(const mb_model *M, const mbz_kernels *K, scratch *sc, const gseg *seg,
                           size_t nseg, int32_t *h, int16_t *gout)
{
    const size_t DG = M->DG;
    size_t N = 0;
    for (size_t s = 0; s < nseg; s++)
        N += seg[s].cnt;
    for (size_t l = 0; l < M->NGL; l++) {
        const layer *Ly = &M->gl[l];
        for (size_t n = 0; n < N; n++)
            mbz_rmsnorm(h + n * DG, DG, sc->ga + n * DG);
        lin_qkv(K, &Ly->qkv, sc->ga, N, sc->gacc, sc->gqkv);
        for (size_t s = 0, r = 0; s < nseg; r += seg[s].cnt, s++)
            global_attend(M, K, Ly, l, &seg[s], sc->gqkv + r * 3 * DG, sc->gatt + r * DG);
        lin_residual(K, &Ly->o, sc->gatt, N, sc->gacc, h);
        mlp(K, Ly, h, N, DG, sc->ga, sc->ghid, sc->gacc);
    }
    for (size_t n = 0; n < N; n++)
        mbz_rmsnorm(h + n * DG, DG, gout + n * DG);
    for (size_t s = 0, r = 0; s < nseg; s++) {
        mbz_predictor *st = seg[s].st;
        r += seg[s].cnt;
        st->g_done = seg[s].k0 + seg[s].cnt;
        memcpy(st->last_gout, gout + (r - 1) * DG, DG * sizeof(int16_t));
    }
}

/* Global input of patch k: the pad patch, or the embeddings of patch k-1's bytes. */
static void global_input(const mb_model *M, const uint8_t *data, size_t k, int32_t *h)
{
    if (k == 0) {
        memcpy(h, M->gpad, M->DG * sizeof(int32_t));
        return;
    }
    const uint8_t *x = data + (k - 1) * M->P;
    for (size_t p = 0; p < M->P; p++)
        memcpy(h + p * M->DE, M->gemb + (size_t)x[p] * M->DE, M->DE * sizeof(int32_t));
}

/* The convolutional patch encoder (MBZM_OPT_CONV_ENCODER, doc/model-format.md): out
 * (hi - lo rows of D_E, residual units) = the encoded embeddings of bytes lo .. hi-1 of
 * data. Each layer j (kernel k = 3, 5, 7) is, per byte i,
 *     a_i = rmsnorm(h_i) (int16; a_i = 0 for i < 0),
 *     acc = w . [a_{i-k+1}, ..., a_i]   (int32: 127 * 8191 * k*D_E < 2^31, k*D_E <= 2048)
 *     h_i = res_add(h_i, clamp(round_shift((acc + b) * m, s), 0, 2^24))   (ReLU)
 * starting from h_i = E_G[x_i]. An output depends on bytes i-12 .. i only, so the
 * computation starts MBZM_CONV_REACH bytes before lo (or at 0) with zero rows before
 * that start: the outputs at lo and after are exact (the rows before lo, whose own
 * context was cut, are dropped). The rows a_i of consecutive bytes are contiguous,
 * so the window [a_{i-k+1} .. a_i] is one row of length k*D_E at stride D_E, and the
 * layer is one mm_pk8 product. Every caller (score, predict, predict_batch) gets the
 * same integers for the same bytes. hi - lo <= sc->CR - MBZM_CONV_REACH. */
static void conv_encode(const mb_model *M, const mbz_kernels *K, scratch *sc, const uint8_t *data,
                        size_t lo, size_t hi, int32_t *out)
{
    const size_t DE = M->DE, PAD = MBZM_CONV_KERNEL(MBZM_CONV_LAYERS - 1) - 1;
    size_t a0 = lo > MBZM_CONV_REACH ? lo - MBZM_CONV_REACH : 0, n = hi - a0;
    int32_t *h = sc->ch, *acc = sc->cacc;
    int16_t *a = sc->ca + PAD * DE;            /* a[-PAD .. -1] = 0 (zero padding) */
    memset(sc->ca, 0, PAD * DE * sizeof(int16_t));
    for (size_t i = 0; i < n; i++)
        memcpy(h + i * DE, M->gemb + (size_t)data[a0 + i] * DE, DE * sizeof(int32_t));
    for (size_t j = 0; j < MBZM_CONV_LAYERS; j++) {
        const linear *L = &M->conv_l[j];
        size_t k = MBZM_CONV_KERNEL(j);
        for (size_t i = 0; i < n; i++)
            mbz_rmsnorm(h + i * DE, DE, a + i * DE);
        K->mm_pk8(a - (k - 1) * DE, DE, n, L->wp, L->O, L->I, acc, DE);
        for (size_t i = 0; i < n; i++) {
            int32_t *y = acc + i * DE;
            K->requant32(y, L->b, L->m, L->s, DE, 0, RES_MAX, y);
            for (size_t c = 0; c < DE; c++)
                h[i * DE + c] = mbz_res_add(h[i * DE + c], y[c]);
        }
    }
    memcpy(out, h + (lo - a0) * DE, (hi - lo) * DE * sizeof(int32_t));
}

/* Global inputs of patches k0 .. k1-1 into h (rows of DG): global_input, or with the
 * convolutional encoder the pad patch for k = 0 and the encoded bytes of patch k-1
 * otherwise (k1 - k0 <= sc->GR). */
static void global_inputs(const mb_model *M, const mbz_kernels *K, scratch *sc,
                          const uint8_t *data, size_t k0, size_t k1, int32_t *h)
{
    if (!M->conv) {
        for (size_t q = k0; q < k1; q++)
            global_input(M, data, q, h + (q - k0) * M->DG);
        return;
    }
    size_t ks = k0;
    if (ks == 0 && ks < k1) {
        memcpy(h, M->gpad, M->DG * sizeof(int32_t));
        ks = 1;
    }
    /* patches ks .. k1-1 take bytes (ks-1)P .. (k1-1)P-1: contiguous rows of D_E */
    if (ks < k1)
        conv_encode(M, K, sc, data, (ks - 1) * M->P, (k1 - 1) * M->P, h + (ks - k0) * M->DG);
}

/* ------------------------------------------------------------------ local model */

/* One row of the local model: position p of its patch, previous byte (256 = pad),
 * its slice of the global output, and where the q/k/v rows of positions 0..p live:
 * st != NULL: copied into st->lkv (step mode); st == NULL: the batch rows r-p..r.
 * With the cross-patch option (M->XR > 0), k is the row's patch and xst the block's
 * predictor, whose lx holds the previous patch's last XR rows where the batch does not
 * (local_cross_keys); xst == NULL without the option. */
typedef struct {
    size_t p;
    unsigned prev;
    const int16_t *slice;
    mbz_predictor *st;
    size_t k;
    mbz_predictor *xst;
} lrow;

static void local_attend(const mb_model *M, const mbz_kernels *K, const layer *Ly,
                         const int16_t *kv0, size_t p, const int16_t *q, int16_t *out)
{
    const size_t DL = M->DL, d = M->LHD, ld = 3 * DL;
    int32_t dot[64];
    int16_t eh[64], el[64];
    int32_t acc32[256];   /* d <= 256 */
    for (size_t hh = 0; hh < M->LH; hh++) {
        const int16_t *qh = q + hh * d;
        for (size_t j = 0; j <= p; j++) {
            const int16_t *kh = kv0 + j * ld + DL + hh * d;
            int32_t acc = 0;   /* <= 2047^2 * 256 < 2^31 */
            for (size_t c = 0; c < d; c++)
                acc += (int32_t)qh[c] * kh[c];
            dot[j] = acc;
        }
        int64_t S = K->att_exp(dot, p + 1, Ly->att_m, Ly->att_s, Ly->alibi[hh], eh, el);
        /* sum_j e_j v_j = 256 * sum_j eh_j v_j + sum_j el_j v_j, each an int32 sum:
         * <= 64 keys * 256 * 8191 < 2^31 */
        const int16_t *v0 = kv0 + 2 * DL + hh * d;
        for (size_t c = 0; c < d; c++)
            acc32[c] = 0;
        for (size_t j = 0; j <= p; j++) {
            const int16_t *vj = v0 + j * ld;
            int32_t e = eh[j];
            for (size_t c = 0; c < d; c++)
                acc32[c] += e * vj[c];
        }
        int32_t accl[256];
        for (size_t c = 0; c < d; c++)
            accl[c] = 0;
        for (size_t j = 0; j <= p; j++) {
            const int16_t *vj = v0 + j * ld;
            int32_t e = el[j];
            for (size_t c = 0; c < d; c++)
                accl[c] += e * vj[c];
        }
        for (size_t c = 0; c < d; c++)
            out[hh * d + c] =
                (int16_t)mbz_div_round((int64_t)acc32[c] * 256 + accl[c], S);
    }
}

/* Cross-patch local attention (MBZM_OPT_CROSS_PATCH): local_attend over XR + p + 1
 * keys, the last xr positions of the previous patch (rows xkv, stride 3*DL, oldest
 * first) and then positions 0..p of the row's own patch (kv0). ALiBi distances run on
 * across the boundary: att_exp's key w is at distance (xr + p) - w, so the previous
 * patch's position P-1 is at p + 1. Same integer steps as local_attend; the int32
 * sums of e_j v_j stay below 2 * 64 keys * 256 * 8191 < 2^31. */
static void local_attend_cross(const mb_model *M, const mbz_kernels *K, const layer *Ly,
                               const int16_t *xkv, size_t xr, const int16_t *kv0, size_t p,
                               const int16_t *q, int16_t *out)
{
    const size_t DL = M->DL, d = M->LHD, ld = 3 * DL, L = xr + p + 1;
    const int16_t *key[128];   /* xr, p + 1 <= P <= 64 */
    int32_t dot[128];
    int16_t eh[128], el[128];
    int32_t acch[256], accl[256];   /* d <= 256 */
    for (size_t w = 0; w < L; w++)
        key[w] = w < xr ? xkv + w * ld : kv0 + (w - xr) * ld;
    for (size_t hh = 0; hh < M->LH; hh++) {
        const int16_t *qh = q + hh * d;
        for (size_t w = 0; w < L; w++) {
            const int16_t *kh = key[w] + DL + hh * d;
            int32_t acc = 0;   /* <= 2047^2 * 256 < 2^31 */
            for (size_t c = 0; c < d; c++)
                acc += (int32_t)qh[c] * kh[c];
            dot[w] = acc;
        }
        int64_t S = K->att_exp(dot, L, Ly->att_m, Ly->att_s, Ly->alibi[hh], eh, el);
        for (size_t c = 0; c < d; c++)
            acch[c] = accl[c] = 0;
        for (size_t w = 0; w < L; w++) {
            const int16_t *vw = key[w] + 2 * DL + hh * d;
            int32_t eH = eh[w], eL = el[w];
            for (size_t c = 0; c < d; c++) {
                acch[c] += eH * vw[c];
                accl[c] += eL * vw[c];
            }
        }
        for (size_t c = 0; c < d; c++)
            out[hh * d + c] = (int16_t)mbz_div_round((int64_t)acch[c] * 256 + accl[c], S);
    }
}

/* The previous patch's last XR q/k/v rows (layer l) for batch row n, or NULL for the
 * first patch of a block: the batch rows just before the patch's first row when the
 * batch holds that patch (score), else the block's lx (kept from when that patch was
 * modelled; the callers check that lx_next == k). */
static const int16_t *local_cross_keys(const mb_model *M, const scratch *sc, const lrow *rows,
                                       size_t n, size_t l)
{
    const lrow *r = &rows[n];
    const size_t ld = 3 * M->DL;
    if (r->k == 0)
        return NULL;
    size_t first = n - r->p;   /* the row of position 0 of r's patch (batch mode) */
    if (!r->st && first >= M->XR && rows[first - 1].k + 1 == r->k &&
        rows[first - 1].xst == r->xst)
        return sc->lqkvb + (first - M->XR) * ld;
    return r->xst->lx + l * M->XR * ld;
}

/* After layer l's attention: a row at the last position of its patch leaves that
 * patch's last XR q/k/v rows in its block's lx for the next patch (local_cross_keys). */
static void local_cross_save(const mb_model *M, const scratch *sc, const lrow *rows, size_t N,
                             size_t l)
{
    const size_t ld = 3 * M->DL, XR = M->XR;
    for (size_t n = 0; n < N; n++) {
        const lrow *r = &rows[n];
        if (r->p != M->P - 1)
            continue;
        const int16_t *src = r->st ? r->st->lkv + l * M->P * ld + (M->P - XR) * ld
                                   : sc->lqkvb + (n + 1 - XR) * ld;
        memcpy(r->xst->lx + l * XR * ld, src, XR * ld * sizeof(int16_t));
        if (l + 1 == M->NLL)
            r->xst->lx_next = r->k + 1;
    }
}

/* Run the local model for N rows and write their frequency tables to freq (N x 256). */
static void local_forward(const mb_model *M, const mbz_kernels *K, scratch *sc, const lrow *rows,
                          size_t N, uint16_t *freq)
{
    const size_t DL = M->DL, DE = M->DE;
    int32_t *u = sc->lu;
    for (size_t n = 0; n < N; n++)
        memcpy(sc->lslice + n * DE, rows[n].slice, DE * sizeof(int16_t));
    lin_acc(K, &M->glin, sc->lslice, DE, N, sc->lacc);
    for (size_t n = 0; n < N; n++) {
        int32_t *a = sc->lacc + n * DL;
        K->requant32(a, M->glin.b, M->glin.m, M->glin.s, DL, -RES_MAX, RES_MAX, a);
        const int32_t *emb = M->lemb + (size_t)rows[n].prev * DL;
        const int32_t *pos = M->lpos + rows[n].p * DL;
        for (size_t c = 0; c < DL; c++)
            u[n * DL + c] = mbz_res_add(mbz_res_add(a[c], emb[c]), pos[c]);
    }
    for (size_t l = 0; l < M->NLL; l++) {
        const layer *Ly = &M->ll[l];
        for (size_t n = 0; n < N; n++)
            mbz_rmsnorm(u + n * DL, DL, sc->la + n * DL);
        lin_qkv(K, &Ly->qkv, sc->la, N, sc->lacc, sc->lqkvb);
        for (size_t n = 0; n < N; n++) {
            const lrow *r = &rows[n];
            const int16_t *kv0;
            if (r->st) {
                int16_t *cache = r->st->lkv + l * M->P * 3 * DL;
                memcpy(cache + r->p * 3 * DL, sc->lqkvb + n * 3 * DL, 3 * DL * sizeof(int16_t));
                kv0 = cache;
            } else {
                kv0 = sc->lqkvb + (n - r->p) * 3 * DL;
            }
            const int16_t *xkv = M->XR ? local_cross_keys(M, sc, rows, n, l) : NULL;
            if (xkv)
                local_attend_cross(M, K, Ly, xkv, M->XR, kv0, r->p, sc->lqkvb + n * 3 * DL,
                                   sc->latt + n * DL);
            else
                local_attend(M, K, Ly, kv0, r->p, sc->lqkvb + n * 3 * DL, sc->latt + n * DL);
        }
        if (M->XR)
            local_cross_save(M, sc, rows, N, l);
        lin_residual(K, &Ly->o, sc->latt, N, sc->lacc, u);
        mlp(K, Ly, u, N, DL, sc->la, sc->lhid, sc->lacc);
    }
    for (size_t n = 0; n < N; n++)
        mbz_rmsnorm(u + n * DL, DL, sc->la + n * DL);
    lin_acc(K, &M->head, sc->la, DL, N, sc->logits);
    for (size_t n = 0; n < N; n++) {
        int32_t *z = sc->logits + n * 256;
        K->requant32(z, M->head.b, M->head.m, M->head.s, 256, -MBZM_LOGIT_CLAMP,
                      MBZM_LOGIT_CLAMP, z);
        mbz_freq_from_logits(z, freq + n * 256);
    }
}

/* ------------------------------------------------------------------ predictor ops */

/* Cross-patch option: patch k (> 0) needs the previous patch's rows in lx, i.e. the
 * positions of a block come in order (as the global model requires too). */
static int cross_ready(const mbz_predictor *st, size_t k)
{
    return !st->M->XR || k == 0 || st->lx_next == k;
}

static void mb_destroy(mbz_predictor *st)
{
    if (!st)
        return;
    free(st->gK);
    free(st->gVt);
    free(st->gKn);
    free(st->last_gout);
    free(st->lkv);
    free(st->lx);
    scratch_free(&st->sc);
    free(st);
}

static int mb_create(const void *impl, size_t block_len, mbz_predictor **out)
{
    const mb_model *M = impl;
    *out = NULL;
    mbz_predictor *st = calloc(1, sizeof *st);
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
    st->gK = mbz_alloc64(ng * M->GH * st->pkK * sizeof(int16_t) + 64);
    if (st->gK)
        memset(st->gK, 0, ng * M->GH * st->pkK * sizeof(int16_t));
    st->gVt = calloc(ng * st->R * M->DG, sizeof(int16_t));
    st->gKn = calloc(ng * M->GH * st->R, sizeof(uint16_t));
    st->last_gout = calloc(M->DG, sizeof(int16_t));
    st->lkv = calloc(nl * M->P * 3 * M->DL, sizeof(int16_t));
    st->lx = calloc(nl * (M->XR ? M->XR : 1) * 3 * M->DL, sizeof(int16_t));
    if (!st->gK || !st->gVt || !st->gKn || !st->last_gout || !st->lkv || !st->lx ||
        scratch_alloc(&st->sc, M, st->R, M->GB, M->GB * M->P) != MBZ_OK) {
        mb_destroy(st);
        return MBZ_ERR_NOMEM;
    }
    *out = st;
    return MBZ_OK;
}

static int mb_score(mbz_predictor *st, const uint8_t *data, size_t len, size_t pos, size_t n,
                    uint16_t *freq)
{
    const mb_model *M = st->M;
    scratch *sc = &st->sc;
    const size_t P = M->P, DG = M->DG, DE = M->DE;
    if (n == 0)
        return MBZ_OK;
    if (pos + n > len || len > st->block_len || pos / P + 1 < st->g_done ||
        !cross_ready(st, pos / P))
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
            global_inputs(M, st->K, sc, data, first, kb, sc->gh);
            gseg g = {st, first, kb - first};
            global_forward(M, st->K, sc, &g, 1, sc->gh, sc->gout + (first - k) * DG);
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
        }
        size_t skip = pos > t0 ? pos - t0 : 0;   /* rows before pos: computed, not returned */
        if (skip == 0) {
            local_forward(M, st->K, sc, rows, t1 - t0, freq + (t0 - pos) * 256);
        } else {
            uint16_t *tmp = malloc((t1 - t0) * 256 * sizeof(uint16_t));
            if (!tmp) {
                free(rows);
                return MBZ_ERR_NOMEM;
            }
            local_forward(M, st->K, sc, rows, t1 - t0, tmp);
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
static void step_global(mbz_predictor *st, const uint8_t *data, size_t pos)
{
    const mb_model *M = st->M;
    size_t k = pos / M->P;
    if (pos % M->P == 0 && st->g_done == k) {
        gseg g = {st, k, 1};
        global_inputs(M, st->K, &st->sc, data, k, k + 1, st->sc.gh);
        global_forward(M, st->K, &st->sc, &g, 1, st->sc.gh, st->sc.gout);
    }
}

static int mb_predict(mbz_predictor *st, const uint8_t *data, size_t pos, uint16_t *freq)
{
    const mb_model *M = st->M;
    size_t k = pos / M->P, p = pos % M->P;
    if (pos >= st->block_len)
        return MBZ_ERR_PARAM;
    uint64_t t0 = st->prof ? mbz_mb_prof_now() : 0;
    size_t before = st->g_done;
    step_global(st, data, pos);
    if (st->prof)
        mbz_mb_prof_add(MBZ_PROF_PREDICT_GLOBAL, &t0, st->g_done - before, st->g_done - before);
    if (st->g_done != k + 1)
        return MBZ_ERR_PARAM;      /* positions must come in order */
    if (!cross_ready(st, k))
        return MBZ_ERR_PARAM;
    lrow r = {p, p ? data[pos - 1] : 256, st->last_gout + p * M->DE, st, k, M->XR ? st : NULL};
    local_forward(M, st->K, &st->sc, &r, 1, freq);
    if (st->prof)
        mbz_mb_prof_add(MBZ_PROF_PREDICT_LOCAL, &t0, 1, 1);
    return MBZ_OK;
}

static int mb_predict_batch(mbz_predictor **ps, const uint8_t *const *data, const size_t *pos,
                            int nb, uint16_t *freq)
{
    if (nb <= 0)
        return MBZ_OK;
    const mb_model *M = ps[0]->M;
    const mbz_kernels *K = ps[0]->K;
    scratch *sc = &ps[0]->sc;      /* the caller owns all nb predictors during the call */
    lrow rows[64];
    gseg segs[64];
    for (int b0 = 0; b0 < nb; b0 += 64) {
        int cnt = nb - b0 < 64 ? nb - b0 : 64;   /* sc->LR >= 64 always */
        /* global steps: the blocks at a patch boundary, all in one batch of rows (in
         * groups of at most sc->GR rows; attention per block, see global_forward) */
        uint64_t t0 = ps[0]->prof ? mbz_mb_prof_now() : 0;
        size_t ng = 0, grows = 0, gpasses = 0;
        for (int b = b0; b < b0 + cnt; b++) {
            if (pos[b] >= ps[b]->block_len)
                return MBZ_ERR_PARAM;
            size_t k = pos[b] / M->P;
            if (pos[b] % M->P == 0 && ps[b]->g_done == k) {
                global_inputs(M, K, sc, data[b], k, k + 1, sc->gh + ng * M->DG);
                segs[ng++] = (gseg){ps[b], k, 1};
                if (ng == sc->GR) {
                    global_forward(M, K, sc, segs, ng, sc->gh, sc->gout);
                    grows += ng;
                    gpasses++;
                    ng = 0;
                }
            }
        }
        if (ng) {
            global_forward(M, K, sc, segs, ng, sc->gh, sc->gout);
            grows += ng;
            gpasses++;
        }
        if (ps[0]->prof)
            mbz_mb_prof_add(MBZ_PROF_PREDICT_GLOBAL, &t0, gpasses, grows);
        /* local: all blocks' rows in one pass (weights shared) */
        for (int b = b0; b < b0 + cnt; b++) {
            if (ps[b]->g_done != pos[b] / M->P + 1)
                return MBZ_ERR_PARAM;      /* positions must come in order */
            size_t p = pos[b] % M->P, k = pos[b] / M->P;
            if (!cross_ready(ps[b], k))
                return MBZ_ERR_PARAM;
            rows[b - b0] = (lrow){p, p ? data[b][pos[b] - 1] : 256,
                                  ps[b]->last_gout + p * M->DE, ps[b], k, M->XR ? ps[b] : NULL};
        }
        local_forward(M, K, sc, rows, (size_t)cnt, freq + (size_t)b0 * 256);
        if (ps[0]->prof)
            mbz_mb_prof_add(MBZ_PROF_PREDICT_LOCAL, &t0, 1, (size_t)cnt);
    }
    return MBZ_OK;
}

const mbz_predictor_ops mbz_mb_ops = {
    "megabyte", mb_create, mb_score, mb_predict, mb_predict_batch, mb_destroy, SCORE_CHUNK,
};

size_t mbz_megabyte_patch(const mbz_model *m)
{
    return m && m->ops == &mbz_mb_ops ? ((const mb_model *)m->impl)->P : 0;
}
