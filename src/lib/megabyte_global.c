/*
 * megabyte_global.c - the global model of the integer MEGABYTE inference: the
 * transformer over patches (doc/model-format.md; the engine's overview: megabyte.c).
 * Entry points (megabyte_impl.h): mbz_mb_global_inputs, then mbz_mb_global_forward
 * for a batch of patches of one block or of several; also the tests' switch for the
 * key skipping (mbz_megabyte_set_key_skipping, megabyte.h).
 *
 * Global model. Patch k's input is patch k-1's bytes (a pad patch for k = 0; with the
 * lag option, patch k-LAG's bytes, the pad patch for k < LAG). Its
 * attention keys/values are kept per layer in a ring of R patches (R >= ctx + GB - 1,
 * or all the block's patches if fewer), so that teacher-forced scoring can process GB
 * patches at once with a band-causal window that reaches back into earlier chunks.
 * The ring is the block's predictor's (gK, gV, gKn; sized by mb_create, megabyte.c).
 * Both K and V are stored packed per head in the mm_pk layout of kernels.h: K with the
 * key slots as output channels (and the head's dimensions as inputs), V with the
 * head's channels as outputs (and the slots as inputs), so both attention products
 * are mm_pk:
 *     scores = Q_h . K_h^T             (|q|, |k| <= 2047, d <= 256)
 *     out    = E . V_h  with E = 256*Eh + El, Eh, El < 2^8+1
 * (the softmax numerators e <= 65536 do not fit int16, so they are split; chunks of
 * at most 1024 keys keep each int32 partial sum below 256*8191*1024 < 2^31, and the
 * chunk sums are added in int64). The Eh and El rows of a query are adjacent rows of
 * one matrix, so a single product reads each value once for both. A span of slots is
 * a run of pairs inside each group of 16 channels, whose groups lie R/2 pairs apart,
 * so E.V runs one group at a time (mm_pk reads one group when O <= 16) from an even
 * slot; a span that starts at an odd slot takes that key alone first. Packed, E.V
 * needs no horizontal sums: it replaced a product on V stored transposed (D_G x
 * slot), with the same integers, 4% faster scoring (doc/speed.md).
 *
 * Convolutional patch encoder (option MBZM_OPT_CONV_ENCODER): the global byte
 * embeddings pass through three causal residual conv layers (kernels 3, 5, 7) before
 * they are cut into patches (conv_encode); every path builds its global inputs with
 * mbz_mb_global_inputs(), which recomputes the 12 bytes of left context a patch
 * needs, so teacher-forced, step and batched runs see the same integers.
 *
 * Global attention reads only what can matter: keys whose softmax numerator is
 * provably 0 (a norm bound against ALiBi's distance penalty, mbz_mb_global_attend) are not
 * scored, and E.V covers only the span of nonzero numerators; both exact.
 */
#include "config.h"

#include <stdatomic.h>
#include <string.h>

#include "kernels.h"
#include "megabyte.h"
#include "megabyte_impl.h"
#include "modelfile.h"
#include "predictor.h"
#include "qmath.h"

#define KEY_CHUNK 1024      /* keys per int32 partial sum of E.V (see above) */

/* ------------------------------------------------------------------ key skipping (megabyte.h) */

static atomic_int key_skipping = 1;

void mbz_megabyte_set_key_skipping(int on)
{
    atomic_store(&key_skipping, on != 0);
}

/* ------------------------------------------------------------------ global model */

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

/* max of the n <= 16 norms kn[slot], kn[slot + 1], ... of a ring of R (wrapping). A
 * whole run of 16 that does not wrap is a loop of fixed length, which the compiler
 * vectorises. */
static uint64_t run_max(const uint16_t *kn, size_t R, size_t slot, size_t n)
{
    uint16_t m = 0;
    if (n == 16 && slot + 16 <= R) {
        for (size_t i = 0; i < 16; i++)
            m = kn[slot + i] > m ? kn[slot + i] : m;
        return m;
    }
    for (size_t i = 0; i < n; i++) {
        uint16_t v = kn[slot + i < R ? slot + i : slot + i - R];
        m = v > m ? v : m;
    }
    return m;
}

/* Offset of channel c of a value from its slot's pair element (the mm_pk layout with
 * the head's channels as outputs and R2 pairs of ring slots as inputs): value (j, c)
 * of a head sits at (j/2) * 32 + j%2 + value_offset(c, R2). */
static inline size_t value_offset(size_t c, size_t R2)
{
    return (c / 16) * R2 * 32 + (c % 16) * 2;
}

#define NEAR_KEYS 32        /* keys before the newest query's always scored (see below) */

/* Attention of global layer l for the cnt patches of segment g, for the heads whose
 * bit is set in `heads` (MBZ_MB_ALL_HEADS: all): stores their keys and values in the
 * block's ring, then out[n] (stride DG; those heads' channels) = attention of query n
 * (q/k/v rows qkv[n], stride 3*DG; only those heads' channels are read) over its band
 * of keys. Works in scratch sc (scores, softmax numerators: sized for the block's
 * ring): the block's own, so the rows of several blocks can share one batch, or a
 * helper thread's, which attends with the other heads at the same time
 * (megabyte_team.c: heads touch disjoint parts of the ring). Requires
 * g->st->g_done == g->k0 and cnt <= M->GB (cnt <= sc->GR).
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
void mbz_mb_global_attend(const mb_model *M, const mbz_kernels *K, const layer *Ly, size_t l,
                          const gseg *g, const int16_t *qkv, int16_t *out, scratch *sc,
                          uint64_t heads)
{
    mb_state *st = g->st;
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
    int16_t *Vl = st->gV + l * M->GH * st->pkV;
    const size_t R2 = (R + 1) / 2;

    for (size_t n = 0; n < cnt; n++) {
        size_t slot = (k0 + n) % R;
        const int16_t *row = qkv + n * 3 * DG;
        /* key of slot j, head hh, dim c at ((j/16) * d2 + c/2) * 32 + (j%16) * 2 + c%2 */
        for (size_t hh = 0; hh < M->GH; hh++) {
            if (!mbz_mb_head_on(heads, hh))
                continue;
            int16_t *kp = Kl + hh * st->pkK + (slot / 16) * d2 * 32 + (slot % 16) * 2;
            const int16_t *kr = row + DG + hh * d;
            for (size_t c = 0; c < d; c++)
                kp[(c / 2) * 32 + c % 2] = kr[c];
            Knl[hh * R + slot] = (uint16_t)norm_ceil(kr, d);
        }
        for (size_t hh = 0; hh < M->GH; hh++) {
            if (!mbz_mb_head_on(heads, hh))
                continue;
            int16_t *vp = Vl + hh * st->pkV + (slot / 2) * 32 + slot % 2;
            const int16_t *vr = row + 2 * DG + hh * d;
            for (size_t c = 0; c < d; c++)
                vp[value_offset(c, R2)] = vr[c];
        }
    }

    for (size_t hh = 0; hh < M->GH; hh++) {
        if (!mbz_mb_head_on(heads, hh))
            continue;
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
                uint64_t kmax = run_max(kn, R, slot, w1 - wcut);
                slot += w1 - wcut;
                slot = slot < R ? slot : slot - R;
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
        const int16_t *Vh = Vl + hh * st->pkV;
        for (size_t w = wlo; w < whi;) {
            size_t slot = (s0 + w) % R;
            if (slot % 2) {   /* a key alone: the products start at a whole pair */
                const int16_t *vp = Vh + (slot / 2) * 32 + 1;
                for (size_t n = 0; n < cnt; n++) {
                    int64_t e = (int64_t)sc->E[2 * n * W + w] * 256 + sc->E[(2 * n + 1) * W + w];
                    for (size_t c = 0; c < d; c++)
                        sc->acc64[n * d + c] += e * vp[value_offset(c, R2)];
                }
                w++;
                continue;
            }
            size_t len = whi - w;
            if (len > KEY_CHUNK)
                len = KEY_CHUNK;
            if (len > R - slot)
                len = R - slot;
            for (size_t c0 = 0; c0 < d; c0 += 16)   /* rows Eh_n, El_n; 16 channels a time */
                K->mm_pk(sc->E + w, W, 2 * cnt, Vh + (slot / 2) * 32 + value_offset(c0, R2),
                         d - c0 < 16 ? d - c0 : 16, len, sc->ye + c0, d);
            for (size_t n = 0; n < cnt; n++)
                for (size_t c = 0; c < d; c++)
                    sc->acc64[n * d + c] +=
                        (int64_t)sc->ye[2 * n * d + c] * 256 + sc->ye[(2 * n + 1) * d + c];
            w += len;
        }
        for (size_t n = 0; n < cnt; n++) {
            mbz_divisor div;
            mbz_divisor_init(&div, sc->S[n]);
            for (size_t c = 0; c < d; c++)
                out[n * DG + hh * d + c] = (int16_t)mbz_div_round_by(&div, sc->acc64[n * d + c]);
        }
    }
}

/* Run the global layers for the patches of nseg segments (of distinct blocks, or one
 * segment of up to GB patches): rows in segment order, inputs in h (rows x DG, int32),
 * outputs (rmsnorm, int16) to gout. The linear layers run once over all rows, so
 * their weights are read once for every block in the batch; attention runs per
 * segment against that block's own keys (mbz_mb_global_attend). Each row's result is the
 * same integer whatever else is in the batch. The row buffers are sc's (sc->GR rows
 * at least); each segment's predictor gets g_done and last_gout updated. */
void mbz_mb_global_forward(const mb_model *M, const mbz_kernels *K, scratch *sc, const gseg *seg,
                           size_t nseg, int32_t *h, int16_t *gout)
{
    const size_t DG = M->DG;
    size_t N = 0;
    for (size_t s = 0; s < nseg; s++)
        N += seg[s].cnt;
    for (size_t l = 0; l < M->NGL; l++) {
        const layer *Ly = &M->gl[l];
        for (size_t n = 0; n < N; n++)
            K->rmsnorm(h + n * DG, DG, sc->ga + n * DG);
        lin_qkv(K, sc, &Ly->qkv, sc->ga, N, sc->gacc, sc->gqkv);
        for (size_t s = 0, r = 0; s < nseg; r += seg[s].cnt, s++)
            mbz_mb_global_attend(M, K, Ly, l, &seg[s], sc->gqkv + r * 3 * DG, sc->gatt + r * DG,
                                 &seg[s].st->sc, MBZ_MB_ALL_HEADS);
        lin_residual(K, sc, &Ly->o, sc->gatt, N, sc->gacc, h);
        mlp(K, sc, Ly, h, N, DG, sc->ga, sc->ghid, sc->gacc);
    }
    for (size_t n = 0; n < N; n++)
        K->rmsnorm(h + n * DG, DG, gout + n * DG);
    for (size_t s = 0, r = 0; s < nseg; s++) {
        mb_state *st = seg[s].st;
        r += seg[s].cnt;
        st->g_done = seg[s].k0 + seg[s].cnt;
        memcpy(st->last_gout, gout + (r - 1) * DG, DG * sizeof(int16_t));
    }
}

/* Global input of patch k: the pad patch for k < LAG, else the embeddings of patch
 * k-LAG's bytes (LAG = 1 but with the lag option). */
static void global_input(const mb_model *M, const uint8_t *data, size_t k, int32_t *h)
{
    if (k < M->LAG) {
        memcpy(h, M->gpad, M->DG * sizeof(int32_t));
        return;
    }
    const uint8_t *x = data + (k - M->LAG) * M->P;
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
            K->rmsnorm(h + i * DE, DE, a + i * DE);
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
 * convolutional encoder the pad patch for k < LAG and the encoded bytes of patch
 * k-LAG otherwise (k1 - k0 <= sc->GR). */
void mbz_mb_global_inputs(const mb_model *M, const mbz_kernels *K, scratch *sc,
                          const uint8_t *data, size_t k0, size_t k1, int32_t *h)
{
    if (!M->conv) {
        for (size_t q = k0; q < k1; q++)
            global_input(M, data, q, h + (q - k0) * M->DG);
        return;
    }
    size_t ks = k0;
    for (; ks < M->LAG && ks < k1; ks++)
        memcpy(h + (ks - k0) * M->DG, M->gpad, M->DG * sizeof(int32_t));
    /* patches ks .. k1-1 take bytes (ks-LAG)P .. (k1-LAG)P-1: contiguous rows of D_E */
    if (ks < k1)
        conv_encode(M, K, sc, data, (ks - M->LAG) * M->P, (k1 - M->LAG) * M->P,
                    h + (ks - k0) * M->DG);
}
