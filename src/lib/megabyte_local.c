/*
 * megabyte_local.c - the local model of the integer MEGABYTE inference: the
 * transformer over the bytes of a patch and the output head, down to the frequency
 * tables (doc/model-format.md; the engine's overview: megabyte.c). Entry point
 * (megabyte_impl.h): mbz_mb_local_forward, one pass over a batch of rows (lrow):
 * consecutive positions of one block (score) or one position of each of several
 * blocks (predict, predict_batch).
 *
 * Local model. Each position's input is W_GL . slice_p(gout_k) + E_L[prev] + pos_L[p]
 * (with the previous-patch option, + W_prev . the embeddings of patch k-1's bytes:
 * local_prev_patch);
 * the local layers are causal over the positions of one patch. Scoring runs all
 * positions of GB patches at once; step prediction keeps the q/k/v rows of the
 * earlier positions of the current patch.
 *
 * Cross-patch option (MBZM_OPT_CROSS_PATCH): a position also attends to the last XR
 * positions of the previous patch (local_attend_cross); between calls the block's
 * predictor keeps their q/k/v rows in lx (local_cross_save, local_cross_keys).
 */
#include "config.h"

#include <string.h>

#include "kernels.h"
#include "megabyte_impl.h"
#include "modelfile.h"
#include "predictor.h"
#include "qmath.h"

/* sum_c a[c] * b[c] over d int16 pairs (|a|, |b| <= 2047, d <= 256: < 2^31), in
 * runs of 16 with a fixed count, which the compiler vectorises at -O2. */
static int32_t dot16(const int16_t *a, const int16_t *b, size_t d)
{
    int32_t acc = 0;
    size_t c = 0;
    for (; c + 16 <= d; c += 16) {
        int32_t part = 0;
        for (size_t i = 0; i < 16; i++)
            part += (int32_t)a[c + i] * b[c + i];
        acc += part;
    }
    for (; c < d; c++)
        acc += (int32_t)a[c] * b[c];
    return acc;
}

/* acch[c] += eh * v[c], accl[c] += el * v[c] for c < d (runs of 16, as dot16). */
static void add_weighted(int32_t *acch, int32_t *accl, int32_t eh, int32_t el, const int16_t *v,
                         size_t d)
{
    size_t c = 0;
    for (; c + 16 <= d; c += 16)
        for (size_t i = 0; i < 16; i++) {
            acch[c + i] += eh * v[c + i];
            accl[c + i] += el * v[c + i];
        }
    for (; c < d; c++) {
        acch[c] += eh * v[c];
        accl[c] += el * v[c];
    }
}

/* Attention of one row over the L keys key[0 .. L-1] (q/k/v rows, stride 3*D_L; ALiBi
 * distance of key w: L - 1 - w): out = div_round(256 sum eh_w v_w + sum el_w v_w, S)
 * per channel. The int32 sums of e_w v_w stay below L * 256 * 8191 < 2^31 for
 * L <= 128. */
static void attend_keys(const mb_model *M, const mbz_kernels *K, const layer *Ly,
                        const int16_t *const *key, size_t L, const int16_t *q, int16_t *out)
{
    const size_t DL = M->DL, d = M->LHD;
    int32_t dot[128];
    int16_t eh[128], el[128];
    int32_t acch[256], accl[256];   /* d <= 256 */
    for (size_t hh = 0; hh < M->LH; hh++) {
        const int16_t *qh = q + hh * d;
        for (size_t w = 0; w < L; w++)
            dot[w] = dot16(qh, key[w] + DL + hh * d, d);   /* <= 2047^2 * 256 < 2^31 */
        int64_t S = K->att_exp(dot, L, Ly->att_m, Ly->att_s, Ly->alibi[hh], eh, el);
        memset(acch, 0, d * sizeof *acch);
        memset(accl, 0, d * sizeof *accl);
        for (size_t w = 0; w < L; w++)
            add_weighted(acch, accl, eh[w], el[w], key[w] + 2 * DL + hh * d, d);
        mbz_divisor div;
        mbz_divisor_init(&div, S);
        for (size_t c = 0; c < d; c++)
            out[hh * d + c] = (int16_t)mbz_div_round_by(&div, (int64_t)acch[c] * 256 + accl[c]);
    }
}

/* Local attention of the row at position p over positions 0..p (q/k/v rows kv0,
 * stride 3*D_L). */
static void local_attend(const mb_model *M, const mbz_kernels *K, const layer *Ly,
                         const int16_t *kv0, size_t p, const int16_t *q, int16_t *out)
{
    const int16_t *key[64];   /* p + 1 <= P <= 64 */
    for (size_t j = 0; j <= p; j++)
        key[j] = kv0 + j * 3 * M->DL;
    attend_keys(M, K, Ly, key, p + 1, q, out);
}

/* Cross-patch local attention (MBZM_OPT_CROSS_PATCH): local_attend over XR + p + 1
 * keys, the last xr positions of the previous patch (rows xkv, stride 3*DL, oldest
 * first) and then positions 0..p of the row's own patch (kv0). ALiBi distances run on
 * across the boundary: att_exp's key w is at distance (xr + p) - w, so the previous
 * patch's position P-1 is at p + 1. The same integer steps as local_attend
 * (attend_keys). */
static void local_attend_cross(const mb_model *M, const mbz_kernels *K, const layer *Ly,
                               const int16_t *xkv, size_t xr, const int16_t *kv0, size_t p,
                               const int16_t *q, int16_t *out)
{
    const size_t ld = 3 * M->DL, L = xr + p + 1;
    const int16_t *key[128];   /* xr, p + 1 <= P <= 64 */
    for (size_t w = 0; w < L; w++)
        key[w] = w < xr ? xkv + w * ld : kv0 + (w - xr) * ld;
    attend_keys(M, K, Ly, key, L, q, out);
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

/* The previous-patch option (MBZM_OPT_PREV_PATCH): u[n] = sat(u[n] + sat(requant(
 * prevl . x))) for every row n of a patch k >= 1, x the D_G int16 embeddings of patch
 * k-1's bytes (gemb16). The sums depend only on those bytes, so sc keeps the last ones
 * (pv, for the bytes pv_key): one one-row product per run of rows with the same bytes
 * (a patch's rows in scoring, a patch's steps in step prediction), the same integers
 * on every path. */
static void local_prev_patch(const mb_model *M, const mbz_kernels *K, scratch *sc,
                             const lrow *rows, size_t N, int32_t *u)
{
    const size_t DL = M->DL, DE = M->DE, P = M->P;
    const linear *L = &M->prevl;
    for (size_t n = 0; n < N; n++) {
        const uint8_t *b = rows[n].pbytes;
        if (!b)
            continue;
        if (!sc->pv_have || memcmp(b, sc->pv_key, P) != 0) {
            for (size_t j = 0; j < P; j++)
                memcpy(sc->px + j * DE, M->gemb16 + (size_t)b[j] * DE, DE * sizeof(int16_t));
            lin_acc(K, sc, L, sc->px, M->DG, 1, sc->pv);
            K->requant32(sc->pv, L->b, L->m, L->s, DL, -RES_MAX, RES_MAX, sc->pv);
            memcpy(sc->pv_key, b, P);
            sc->pv_have = 1;
        }
        for (size_t c = 0; c < DL; c++)
            u[n * DL + c] = mbz_res_add(u[n * DL + c], sc->pv[c]);
    }
}

/* Run the local model for N rows and write their frequency tables to freq (N x 256). */
void mbz_mb_local_forward(const mb_model *M, const mbz_kernels *K, scratch *sc, const lrow *rows,
                          size_t N, uint16_t *freq)
{
    const size_t DL = M->DL, DE = M->DE;
    int32_t *u = sc->lu;
    for (size_t n = 0; n < N; n++)
        memcpy(sc->lslice + n * DE, rows[n].slice, DE * sizeof(int16_t));
    lin_acc(K, sc, &M->glin, sc->lslice, DE, N, sc->lacc);
    for (size_t n = 0; n < N; n++) {
        int32_t *a = sc->lacc + n * DL;
        K->requant32(a, M->glin.b, M->glin.m, M->glin.s, DL, -RES_MAX, RES_MAX, a);
        const int32_t *emb = M->lemb + (size_t)rows[n].prev * DL;
        const int32_t *pos = M->lpos + rows[n].p * DL;
        for (size_t c = 0; c < DL; c++)
            u[n * DL + c] = mbz_res_add(mbz_res_add(a[c], emb[c]), pos[c]);
    }
    if (M->prev)
        local_prev_patch(M, K, sc, rows, N, u);
    for (size_t l = 0; l < M->NLL; l++) {
        const layer *Ly = &M->ll[l];
        for (size_t n = 0; n < N; n++)
            K->rmsnorm(u + n * DL, DL, sc->la + n * DL);
        lin_qkv(K, sc, &Ly->qkv, sc->la, N, sc->lacc, sc->lqkvb);
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
        lin_residual(K, sc, &Ly->o, sc->latt, N, sc->lacc, u);
        mlp(K, sc, Ly, u, N, DL, sc->la, sc->lhid, sc->lacc);
    }
    for (size_t n = 0; n < N; n++)
        K->rmsnorm(u + n * DL, DL, sc->la + n * DL);
    lin_acc(K, sc, &M->head, sc->la, DL, N, sc->logits);
    for (size_t n = 0; n < N; n++) {
        int32_t *z = sc->logits + n * 256;
        K->requant32(z, M->head.b, M->head.m, M->head.s, 256, -MBZM_LOGIT_CLAMP,
                      MBZM_LOGIT_CLAMP, z);
        K->freq(z, freq + n * 256);
    }
}
