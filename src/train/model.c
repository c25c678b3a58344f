/*
 * model.c - float32 forward and backward of MEGABYTE (doc/model-format.md §1).
 *
 * Matrix products go through cblas_sgemm; everything else is plain loops, written
 * single-threaded on purpose: the trainer runs on few shared cores, OpenBLAS has its
 * own threads (--threads), and the loops are a small part of the time.
 */
#include "config.h"
#include "model.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sequences at least this long use the blocked sgemm attention; shorter ones (the
 * local model, S = P) plain loops. A variable so the gradient test can force both. */
int mt_att_gemm_min_s = 48;
#define ATT_BQ 128

#ifdef MT_DOUBLE
#define GEMM cblas_dgemm
#define SQRT sqrt
#define EXP exp
#define LOG log
#define EXP2 exp2
#else
#define GEMM cblas_sgemm
#define SQRT sqrtf
#define EXP expf
#define LOG logf
#define EXP2 exp2f
#endif /* query rows per block in the sgemm attention */

/* ------------------------------------------------------------------ RNG */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void mt_rng_seed(mt_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t mt_rng_next(mt_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t; s[3] = rotl(s[3], 45);
    return result;
}

double mt_rng_uniform(mt_rng *r) { return (double)(mt_rng_next(r) >> 11) * 0x1.0p-53; }

double mt_rng_normal(mt_rng *r)
{
    /* Box-Muller; one value per call keeps the state simple to checkpoint. */
    double u1 = mt_rng_uniform(r), u2 = mt_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* ------------------------------------------------------------------ layers */

/* out = inp·Wᵀ + b  (or out += ... when acc)
 * inp (N, C), w (OC, C), b (OC) or NULL, out (N, OC) */
static void linear_forward(mt_real *out, const mt_real *inp, const mt_real *w, const mt_real *b,
                           int N, int C, int OC, int acc)
{
    if (!acc) {
        for (int n = 0; n < N; n++) {
            mt_real *o = out + (size_t)n * OC;
            if (b) memcpy(o, b, (size_t)OC * sizeof(mt_real));
            else memset(o, 0, (size_t)OC * sizeof(mt_real));
        }
    } else if (b) {
        for (int n = 0; n < N; n++) {
            mt_real *o = out + (size_t)n * OC;
            for (int i = 0; i < OC; i++) o[i] += b[i];
        }
    }
    GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, C, 1.0f, inp, C, w, C,
                1.0f, out, OC);
}

/* dinp (+)= dout·W; dw += doutᵀ·inp; db += Σ_n dout
 * dout (N, OC), inp (N, C), w (OC, C); dinp (N, C) may be NULL */
static void linear_backward(mt_real *dinp, mt_real *dw, mt_real *db, const mt_real *dout,
                            const mt_real *inp, const mt_real *w, int N, int C, int OC, int acc)
{
    if (dinp)
        GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, C, OC, 1.0f, dout, OC, w, C,
                    acc ? 1.0f : 0.0f, dinp, C);
    GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, N, 1.0f, dout, OC, inp, C,
                1.0f, dw, C);
    if (db)
        for (int n = 0; n < N; n++) {
            const mt_real *d = dout + (size_t)n * OC;
            for (int i = 0; i < OC; i++) db[i] += d[i];
        }
}

/* out = x / sqrt(mean(x²) + eps) ⊙ g  (g may be NULL: no gain)
 * x (N, C), out (N, C), rstd (N) */
static void rmsnorm_forward(mt_real *out, mt_real *rstd, const mt_real *x, const mt_real *g, int N, int C)
{
    for (int n = 0; n < N; n++) {
        const mt_real *xr = x + (size_t)n * C;
        mt_real *o = out + (size_t)n * C;
        double ss = 0;
        for (int i = 0; i < C; i++) ss += (double)xr[i] * xr[i];
        mt_real r = 1.0f / SQRT((mt_real)(ss / C) + MT_RMS_EPS);
        rstd[n] = r;
        if (g) for (int i = 0; i < C; i++) o[i] = xr[i] * r * g[i];
        else for (int i = 0; i < C; i++) o[i] = xr[i] * r;
    }
}

/* dx += rstd (dn − n·mean(dn⊙n)) with n = x·rstd, dn = dout⊙g; dg += Σ dout⊙n
 * dout, x (N, C) */
static void rmsnorm_backward(mt_real *dx, mt_real *dg, const mt_real *dout, const mt_real *x,
                             const mt_real *rstd, const mt_real *g, int N, int C)
{
    for (int n = 0; n < N; n++) {
        const mt_real *xr = x + (size_t)n * C, *dy = dout + (size_t)n * C;
        mt_real *d = dx + (size_t)n * C;
        mt_real r = rstd[n];
        double dot = 0;
        for (int i = 0; i < C; i++) {
            mt_real dn = g ? dy[i] * g[i] : dy[i];
            dot += (double)dn * xr[i] * r;
        }
        mt_real mean = (mt_real)(dot / C);
        for (int i = 0; i < C; i++) {
            mt_real nn = xr[i] * r;
            mt_real dn = g ? dy[i] * g[i] : dy[i];
            if (dg) dg[i] += dy[i] * nn;
            d[i] += r * (dn - nn * mean);
        }
    }
}

/* Causal multi-head attention with ALiBi over nseq sequences of S rows.
 * qkv (nseq*S, 3D), out (nseq*S, D), probs (nseq, H, S, S)
 * s_ij = q_i·k_j/sqrt(d) − m_h (i − j) for j ≤ i. */
static void attention_forward(mt_real *out, mt_real *probs, const mt_real *qkv, int nseq, int S,
                              int D, int H, const mt_real *slopes)
{
    int d = D / H, D3 = 3 * D;
    mt_real scale = 1.0f / SQRT((mt_real)d);
    for (int s = 0; s < nseq; s++)
        for (int h = 0; h < H; h++) {
            const mt_real *Q = qkv + (size_t)s * S * D3 + h * d, *Kp = Q + D, *V = Q + 2 * D;
            mt_real *O = out + (size_t)s * S * D + h * d;
            mt_real *Pm = probs + ((size_t)s * H + h) * S * S;
            mt_real m = slopes[h];
            if (S >= mt_att_gemm_min_s) {
                for (int i0 = 0; i0 < S; i0 += ATT_BQ) {
                    int i1 = i0 + ATT_BQ < S ? i0 + ATT_BQ : S, nq = i1 - i0, nk = i1;
                    GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, nq, nk, d, scale,
                                Q + (size_t)i0 * D3, D3, Kp, D3, 0.0f, Pm + (size_t)i0 * S, S);
                    for (int i = i0; i < i1; i++) {
                        mt_real *pr = Pm + (size_t)i * S, mx = -INFINITY;
                        for (int j = 0; j <= i; j++) {
                            pr[j] -= m * (mt_real)(i - j);
                            if (pr[j] > mx) mx = pr[j];
                        }
                        mt_real sum = 0;
                        for (int j = 0; j <= i; j++) { pr[j] = EXP(pr[j] - mx); sum += pr[j]; }
                        mt_real inv = 1.0f / sum;
                        for (int j = 0; j <= i; j++) pr[j] *= inv;
                        for (int j = i + 1; j < S; j++) pr[j] = 0.0f;
                    }
                    GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, nq, d, nk, 1.0f,
                                Pm + (size_t)i0 * S, S, V, D3, 0.0f, O + (size_t)i0 * D, D);
                }
            } else {
                for (int i = 0; i < S; i++) {
                    const mt_real *q = Q + (size_t)i * D3;
                    mt_real *pr = Pm + (size_t)i * S, mx = -INFINITY;
                    for (int j = 0; j <= i; j++) {
                        const mt_real *k = Kp + (size_t)j * D3;
                        mt_real dot = 0;
                        for (int c = 0; c < d; c++) dot += q[c] * k[c];
                        pr[j] = dot * scale - m * (mt_real)(i - j);
                        if (pr[j] > mx) mx = pr[j];
                    }
                    mt_real sum = 0;
                    for (int j = 0; j <= i; j++) { pr[j] = EXP(pr[j] - mx); sum += pr[j]; }
                    mt_real inv = 1.0f / sum;
                    for (int j = 0; j <= i; j++) pr[j] *= inv;
                    for (int j = i + 1; j < S; j++) pr[j] = 0.0f;
                    mt_real *o = O + (size_t)i * D;
                    for (int c = 0; c < d; c++) o[c] = 0;
                    for (int j = 0; j <= i; j++) {
                        const mt_real *v = V + (size_t)j * D3;
                        mt_real p = pr[j];
                        for (int c = 0; c < d; c++) o[c] += p * v[c];
                    }
                }
            }
        }
}

/* dqkv = ∂loss/∂qkv (overwritten) from dout (nseq*S, D).
 * scr: (ATT_BQ, S) scratch for the sgemm path. */
static void attention_backward(mt_real *dqkv, const mt_real *dout, const mt_real *qkv,
                               const mt_real *probs, mt_real *scr, int nseq, int S, int D, int H)
{
    int d = D / H, D3 = 3 * D;
    mt_real scale = 1.0f / SQRT((mt_real)d);
    memset(dqkv, 0, (size_t)nseq * S * D3 * sizeof(mt_real));
    for (int s = 0; s < nseq; s++)
        for (int h = 0; h < H; h++) {
            const mt_real *Q = qkv + (size_t)s * S * D3 + h * d, *Kp = Q + D, *V = Q + 2 * D;
            mt_real *dQ = dqkv + (size_t)s * S * D3 + h * d, *dK = dQ + D, *dV = dQ + 2 * D;
            const mt_real *dO = dout + (size_t)s * S * D + h * d;
            const mt_real *Pm = probs + ((size_t)s * H + h) * S * S;
            if (S >= mt_att_gemm_min_s) {
                for (int i0 = 0; i0 < S; i0 += ATT_BQ) {
                    int i1 = i0 + ATT_BQ < S ? i0 + ATT_BQ : S, nq = i1 - i0, nk = i1;
                    const mt_real *Pb = Pm + (size_t)i0 * S;
                    /* dP (nq, nk) = dO[i0:i1]·V[0:nk]ᵀ */
                    GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, nq, nk, d, 1.0f,
                                dO + (size_t)i0 * D, D, V, D3, 0.0f, scr, nk);
                    /* dV[0:nk] += P[i0:i1, 0:nk]ᵀ·dO[i0:i1] */
                    GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, nk, d, nq, 1.0f,
                                Pb, S, dO + (size_t)i0 * D, D, 1.0f, dV, D3);
                    /* dS = P ⊙ (dP − Σ_j P dP) · scale, in place */
                    for (int i = i0; i < i1; i++) {
                        const mt_real *pr = Pm + (size_t)i * S;
                        mt_real *ds = scr + (size_t)(i - i0) * nk;
                        mt_real dot = 0;
                        for (int j = 0; j <= i; j++) dot += pr[j] * ds[j];
                        for (int j = 0; j <= i; j++) ds[j] = pr[j] * (ds[j] - dot) * scale;
                        for (int j = i + 1; j < nk; j++) ds[j] = 0.0f;
                    }
                    /* dQ[i0:i1] += dS·K[0:nk];  dK[0:nk] += dSᵀ·Q[i0:i1] */
                    GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, nq, d, nk, 1.0f,
                                scr, nk, Kp, D3, 1.0f, dQ + (size_t)i0 * D3, D3);
                    GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, nk, d, nq, 1.0f,
                                scr, nk, Q + (size_t)i0 * D3, D3, 1.0f, dK, D3);
                }
            } else {
                mt_real *dp = scr;
                for (int i = 0; i < S; i++) {
                    const mt_real *pr = Pm + (size_t)i * S, *dout_i = dO + (size_t)i * D;
                    const mt_real *q = Q + (size_t)i * D3;
                    mt_real *dq = dQ + (size_t)i * D3;
                    mt_real dot = 0;
                    for (int j = 0; j <= i; j++) {
                        const mt_real *v = V + (size_t)j * D3;
                        mt_real *dv = dV + (size_t)j * D3;
                        mt_real acc = 0;
                        for (int c = 0; c < d; c++) { acc += dout_i[c] * v[c]; dv[c] += pr[j] * dout_i[c]; }
                        dp[j] = acc;
                        dot += pr[j] * acc;
                    }
                    for (int j = 0; j <= i; j++) {
                        mt_real ds = pr[j] * (dp[j] - dot) * scale;
                        const mt_real *k = Kp + (size_t)j * D3;
                        mt_real *dk = dK + (size_t)j * D3;
                        for (int c = 0; c < d; c++) { dq[c] += ds * k[c]; dk[c] += ds * q[c]; }
                    }
                }
            }
        }
}

/* Cross-patch local attention (MBZM_OPT_CROSS_PATCH): as attention_forward, but query
 * i of sequence s also attends to the last R rows of sequence s-1 (the previous patch,
 * same layer), unless s is the first sequence of its window (s % spw == 0). The
 * sequences are consecutive in qkv, so key column w in [0, R + S) is row w − R of
 * sequence s (negative: the previous one), at ALiBi distance i + R − w:
 * s_iw = q_i·k_w/sqrt(d) − m_h (i + R − w) for w_lo ≤ w ≤ R + i, w_lo = 0 or R.
 * qkv (nseq*S, 3D), out (nseq*S, D), probs (nseq, H, S, R + S), 0 outside the window. */
static void cross_attention_forward(mt_real *out, mt_real *probs, const mt_real *qkv, int nseq,
                                    int S, int D, int H, const mt_real *slopes, int R, int spw)
{
    int d = D / H, D3 = 3 * D, W = R + S;
    mt_real scale = 1.0f / SQRT((mt_real)d);
    for (int s = 0; s < nseq; s++) {
        int wlo = s % spw ? 0 : R;
        for (int h = 0; h < H; h++) {
            const mt_real *Q = qkv + (size_t)s * S * D3 + h * d, *Kp = Q + D, *V = Q + 2 * D;
            mt_real *O = out + (size_t)s * S * D + h * d;
            mt_real *Pm = probs + ((size_t)s * H + h) * S * W;
            mt_real m = slopes[h];
            for (int i = 0; i < S; i++) {
                const mt_real *q = Q + (size_t)i * D3;
                mt_real *pr = Pm + (size_t)i * W, mx = -INFINITY;
                for (int w = 0; w < W; w++) pr[w] = 0.0f;
                for (int w = wlo; w <= R + i; w++) {
                    const mt_real *k = Kp + (ptrdiff_t)(w - R) * D3;
                    mt_real dot = 0;
                    for (int c = 0; c < d; c++) dot += q[c] * k[c];
                    pr[w] = dot * scale - m * (mt_real)(i + R - w);
                    if (pr[w] > mx) mx = pr[w];
                }
                mt_real sum = 0;
                for (int w = wlo; w <= R + i; w++) { pr[w] = EXP(pr[w] - mx); sum += pr[w]; }
                mt_real inv = 1.0f / sum;
                for (int w = wlo; w <= R + i; w++) pr[w] *= inv;
                mt_real *o = O + (size_t)i * D;
                for (int c = 0; c < d; c++) o[c] = 0;
                for (int w = wlo; w <= R + i; w++) {
                    const mt_real *v = V + (ptrdiff_t)(w - R) * D3;
                    mt_real pw = pr[w];
                    for (int c = 0; c < d; c++) o[c] += pw * v[c];
                }
            }
        }
    }
}

/* dqkv = ∂loss/∂qkv (overwritten) from dout (nseq*S, D) for cross_attention_forward:
 * the keys and values of the previous patch's rows receive the gradient of the next
 * patch's queries too. probs (nseq, H, S, R + S); dp: (R + S) scratch. */
static void cross_attention_backward(mt_real *dqkv, const mt_real *dout, const mt_real *qkv,
                                     const mt_real *probs, mt_real *dp, int nseq, int S, int D,
                                     int H, int R, int spw)
{
    int d = D / H, D3 = 3 * D, W = R + S;
    mt_real scale = 1.0f / SQRT((mt_real)d);
    memset(dqkv, 0, (size_t)nseq * S * D3 * sizeof(mt_real));
    for (int s = 0; s < nseq; s++) {
        int wlo = s % spw ? 0 : R;
        for (int h = 0; h < H; h++) {
            size_t base = (size_t)s * S * D3 + h * d;
            const mt_real *Q = qkv + base, *Kp = Q + D, *V = Q + 2 * D;
            mt_real *dQ = dqkv + base, *dK = dQ + D, *dV = dQ + 2 * D;
            const mt_real *dO = dout + (size_t)s * S * D + h * d;
            const mt_real *Pm = probs + ((size_t)s * H + h) * S * W;
            for (int i = 0; i < S; i++) {
                const mt_real *pr = Pm + (size_t)i * W, *dout_i = dO + (size_t)i * D;
                const mt_real *q = Q + (size_t)i * D3;
                mt_real *dq = dQ + (size_t)i * D3;
                mt_real dot = 0;
                for (int w = wlo; w <= R + i; w++) {
                    const mt_real *v = V + (ptrdiff_t)(w - R) * D3;
                    mt_real *dv = dV + (ptrdiff_t)(w - R) * D3;
                    mt_real acc = 0;
                    for (int c = 0; c < d; c++) { acc += dout_i[c] * v[c]; dv[c] += pr[w] * dout_i[c]; }
                    dp[w] = acc;
                    dot += pr[w] * acc;
                }
                for (int w = wlo; w <= R + i; w++) {
                    mt_real ds = pr[w] * (dp[w] - dot) * scale;
                    const mt_real *k = Kp + (ptrdiff_t)(w - R) * D3;
                    mt_real *dk = dK + (ptrdiff_t)(w - R) * D3;
                    for (int c = 0; c < d; c++) { dq[c] += ds * k[c]; dk[c] += ds * q[c]; }
                }
            }
        }
    }
}

/* One pre-norm transformer layer: out = h + attn(rmsnorm(h)⊙g1); out += mlp(rmsnorm(out)⊙g2)
 * a->res (N, D) is the input; out (N, D). xr > 0: cross-patch attention over the
 * sequences, spw of them per training window (cross_attention_forward). */
static void block_forward(const mt_block *p, mt_block_acts *a, mt_real *out, int nseq, int S,
                          int D, int H, int F, const mt_real *slopes, int xr, int spw)
{
    int N = nseq * S;
    rmsnorm_forward(a->ln1, a->rstd1, a->res, p->g1, N, D);
    linear_forward(a->qkv, a->ln1, p->wqkv, p->bqkv, N, D, 3 * D, 0);
    if (xr)
        cross_attention_forward(a->att, a->probs, a->qkv, nseq, S, D, H, slopes, xr, spw);
    else
        attention_forward(a->att, a->probs, a->qkv, nseq, S, D, H, slopes);
    memcpy(a->res2, a->res, (size_t)N * D * sizeof(mt_real));
    linear_forward(a->res2, a->att, p->wo, p->bo, N, D, D, 1);
    rmsnorm_forward(a->ln2, a->rstd2, a->res2, p->g2, N, D);
    linear_forward(a->fc, a->ln2, p->w1, p->b1, N, D, F, 0);
    for (size_t i = 0; i < (size_t)N * F; i++) a->fcr[i] = a->fc[i] > 0 ? a->fc[i] : 0.0f;
    memcpy(out, a->res2, (size_t)N * D * sizeof(mt_real));
    linear_forward(out, a->fcr, p->w2, p->b2, N, F, D, 1);
}

/* dres (N, D): on entry ∂loss/∂out, on return ∂loss/∂res (the layer input). */
static void block_backward(mt_model *m, const mt_block *p, mt_block *g, const mt_block_acts *a,
                           mt_real *dres, int nseq, int S, int D, int H, int F, int xr, int spw)
{
    int N = nseq * S;
    /* MLP branch */
    linear_backward(m->dfc, g->w2, g->b2, dres, a->fcr, p->w2, N, F, D, 0);
    for (size_t i = 0; i < (size_t)N * F; i++) if (a->fc[i] <= 0) m->dfc[i] = 0.0f;
    linear_backward(m->dln, g->w1, g->b1, m->dfc, a->ln2, p->w1, N, D, F, 0);
    rmsnorm_backward(dres, g->g2, m->dln, a->res2, a->rstd2, p->g2, N, D);
    /* attention branch */
    linear_backward(m->datt, g->wo, g->bo, dres, a->att, p->wo, N, D, D, 0);
    if (xr)
        cross_attention_backward(m->dqkv, m->datt, a->qkv, a->probs, m->dscr, nseq, S, D, H,
                                 xr, spw);
    else
        attention_backward(m->dqkv, m->datt, a->qkv, a->probs, m->dscr, nseq, S, D, H);
    linear_backward(m->dln, g->wqkv, g->bqkv, m->dqkv, a->ln1, p->wqkv, N, D, 3 * D, 0);
    rmsnorm_backward(dres, g->g1, m->dln, a->res, a->rstd1, p->g1, N, D);
}

/* ------------------------------------------------------------------ conv encoder */

/* Causal convolution with kernel k over nseq sequences of S rows of width C:
 * out[i] = b + Σ_{t<k} W_t · inp[i − k + 1 + t], rows before a sequence's start = 0.
 * inp (nseq*S, C), w (C, k*C) with tap t in columns t*C .. t*C+C−1, b (C), out (nseq*S, C).
 * One GEMM per sequence and tap (tap t reaches back sh = k−1−t rows). */
static void conv_forward(mt_real *out, const mt_real *inp, const mt_real *w, const mt_real *b,
                         int nseq, int S, int C, int k)
{
    for (size_t n = 0; n < (size_t)nseq * S; n++) memcpy(out + n * C, b, (size_t)C * sizeof(mt_real));
    for (int s = 0; s < nseq; s++)
        for (int t = 0; t < k; t++) {
            int sh = k - 1 - t;
            if (sh >= S) continue;
            GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, S - sh, C, C, 1.0f,
                 inp + (size_t)s * S * C, C, w + (size_t)t * C, k * C, 1.0f,
                 out + ((size_t)s * S + sh) * C, C);
        }
}

/* dinp += Σ_t dout[i + k−1−t]·W_t; dw_t += Σ_i dout[i]ᵀ inp[i − k + 1 + t]; db += Σ dout
 * dout, inp, dinp (nseq*S, C), w, dw (C, k*C) */
static void conv_backward(mt_real *dinp, mt_real *dw, mt_real *db, const mt_real *dout,
                          const mt_real *inp, const mt_real *w, int nseq, int S, int C, int k)
{
    for (int s = 0; s < nseq; s++)
        for (int t = 0; t < k; t++) {
            int sh = k - 1 - t;
            if (sh >= S) continue;
            const mt_real *dy = dout + ((size_t)s * S + sh) * C;
            GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, S - sh, C, C, 1.0f, dy, C,
                 w + (size_t)t * C, k * C, 1.0f, dinp + (size_t)s * S * C, C);
            GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, C, C, S - sh, 1.0f, dy, C,
                 inp + (size_t)s * S * C, C, 1.0f, dw + (size_t)t * C, k * C);
        }
    for (size_t n = 0; n < (size_t)nseq * S; n++)
        for (int i = 0; i < C; i++) db[i] += dout[n * C + i];
}

/* The convolutional patch encoder (doc/model-format.md §1) over B windows of T bytes:
 * ch[0] = E_G[x]; layer j (kernel 3, 5, 7):
 *     cn[j] = rmsnorm(ch[j]) ⊙ cg[j];  cz[j] = conv_k(cn[j]) + cb[j];  ch[j+1] = ch[j] + relu(cz[j])
 * all (B*T, D_E). Bytes before a window's start are zero (as before a block's start in
 * the engine). */
static void conv_encoder_forward(mt_model *m, const uint8_t *x, int B)
{
    const mt_params *p = &m->p;
    mt_acts *a = &m->a;
    int DE = m->DE, T = m->T, NL = B * T;
    for (int n = 0; n < NL; n++)
        memcpy(a->ch[0] + (size_t)n * DE, p->gemb + (size_t)x[n] * DE, (size_t)DE * sizeof(mt_real));
    for (int j = 0; j < MBZM_CONV_LAYERS; j++) {
        rmsnorm_forward(a->cn[j], a->crstd[j], a->ch[j], p->cg[j], NL, DE);
        conv_forward(a->cz[j], a->cn[j], p->cw[j], p->cb[j], B, T, DE, MBZM_CONV_KERNEL(j));
        for (size_t i = 0; i < (size_t)NL * DE; i++)
            a->ch[j + 1][i] = a->ch[j][i] + (a->cz[j][i] > 0 ? a->cz[j][i] : 0.0f);
    }
}

/* Backward of conv_encoder_forward: dh (B*T, D_E) = ∂loss/∂ch[3] on entry (overwritten
 * with ∂loss/∂ch[0] on the way); accumulates the conv and E_G gradients. */
static void conv_encoder_backward(mt_model *m, mt_real *dh, const uint8_t *x, int B)
{
    const mt_params *p = &m->p;
    mt_params *g = &m->gp;
    const mt_acts *a = &m->a;
    int DE = m->DE, T = m->T, NL = B * T;
    size_t n = (size_t)NL * DE;
    mt_real *dz = m->dconv, *dn = m->dconv + n;
    for (int j = MBZM_CONV_LAYERS - 1; j >= 0; j--) {
        for (size_t i = 0; i < n; i++) dz[i] = a->cz[j][i] > 0 ? dh[i] : 0.0f;
        memset(dn, 0, n * sizeof(mt_real));
        conv_backward(dn, g->cw[j], g->cb[j], dz, a->cn[j], p->cw[j], B, T, DE, MBZM_CONV_KERNEL(j));
        rmsnorm_backward(dh, g->cg[j], dn, a->ch[j], a->crstd[j], p->cg[j], NL, DE);
    }
    for (int t = 0; t < NL; t++) {
        mt_real *ge = g->gemb + (size_t)x[t] * DE;
        for (int i = 0; i < DE; i++) ge[i] += dh[(size_t)t * DE + i];
    }
}

/* ------------------------------------------------------------------ model */

int mt_check_hparams(const mbzm_hparams *hp, char *err, size_t errlen)
{
    const char *why = NULL;
    if (hp->patch < 1 || hp->patch > 64) why = "patch must be in 1..64";
    else if (hp->d_emb < 1 || (size_t)hp->patch * hp->d_emb > 2048) why = "patch*d_emb must be in 1..2048";
    else if (hp->g_layers < 1 || hp->g_layers > MT_MAX_LAYERS || hp->l_layers < 1 || hp->l_layers > MT_MAX_LAYERS)
        why = "layers must be in 1..64";
    else if (hp->g_heads < 1 || hp->g_heads > 256 || (hp->patch * hp->d_emb) % hp->g_heads)
        why = "g_heads must divide patch*d_emb";
    else if (hp->l_heads < 1 || hp->l_heads > 256 || hp->l_dim % hp->l_heads)
        why = "l_heads must divide l_dim";
    else if (hp->l_dim < 1 || hp->l_dim > 2048) why = "l_dim must be in 1..2048";
    else if (hp->g_ff < 1 || hp->g_ff > 2048 || hp->l_ff < 1 || hp->l_ff > 2048)
        why = "g_ff and l_ff must be in 1..2048";
    else if ((hp->patch * hp->d_emb) / hp->g_heads > 256 || hp->l_dim / hp->l_heads > 256)
        why = "head dimension must be <= 256";
    else if (hp->ctx_patches < 1 || hp->ctx_patches > 65536) why = "ctx_patches must be in 1..65536";
    else if (hp->options & ~(uint32_t)(MBZM_OPT_CONV_ENCODER | MBZM_OPT_CROSS_PATCH |
                                        MBZM_OPT_GLOBAL_LAG | MBZM_OPT_PREV_PATCH))
        why = "only the convolutional encoder, cross-patch, global lag and previous-patch options are supported by this trainer";
    else if ((hp->options & MBZM_OPT_GLOBAL_LAG) && (hp->global_lag < 2 || hp->global_lag > MBZM_MAX_LAG))
        why = "the global lag must be in 2..8";
    else if (!(hp->options & MBZM_OPT_GLOBAL_LAG) && hp->global_lag)
        why = "global_lag set without the global lag option";
    else if ((hp->options & MBZM_OPT_CONV_ENCODER) &&
             (size_t)MBZM_CONV_KERNEL(MBZM_CONV_LAYERS - 1) * hp->d_emb > 2048)
        why = "the convolutional encoder needs 7*d_emb <= 2048";
    else if ((hp->options & MBZM_OPT_CROSS_PATCH) && (hp->cross_r < 1 || hp->cross_r > hp->patch))
        why = "cross-patch r must be in 1..patch";
    else if (!(hp->options & MBZM_OPT_CROSS_PATCH) && hp->cross_r)
        why = "cross_r set without the cross-patch option";
    if (why) { snprintf(err, errlen, "%s", why); return -1; }
    return 0;
}

static void add_tensor(mt_model *m, const char *name, size_t rows, size_t cols, int decay,
                       float std)
{
    mt_tensor *t = &m->tensors[m->n_tensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->off = m->n_params;
    t->rows = rows; t->cols = cols; t->decay = decay; t->init_std = std;
    m->n_params += rows * cols;
}

static void add_block(mt_model *m, const char *pre, int i, int D, int F, int layers)
{
    char n[32];
    float sd = 1.0f / sqrtf((float)D), sf = 1.0f / sqrtf((float)F);
    float resid = 1.0f / sqrtf(2.0f * layers); /* residual projections, as GPT-2 */
#define T(suffix, r, c, dec, std) \
    do { snprintf(n, sizeof n, "%s.%d." suffix, pre, i); add_tensor(m, n, r, c, dec, std); } while (0)
    T("g1", 1, D, 0, -1.0f);
    T("wqkv", 3 * D, D, 1, sd);
    T("bqkv", 1, 3 * D, 0, 0.0f);
    T("wo", D, D, 1, sd * resid);
    T("bo", 1, D, 0, 0.0f);
    T("g2", 1, D, 0, -1.0f);
    T("w1", F, D, 1, sd);
    T("b1", 1, F, 0, 0.0f);
    T("w2", D, F, 1, sf * resid);
    T("b2", 1, D, 0, 0.0f);
#undef T
}

static void bind_block(mt_block *b, mt_real *base, const mt_tensor *t)
{
    b->g1 = base + t[0].off; b->wqkv = base + t[1].off; b->bqkv = base + t[2].off;
    b->wo = base + t[3].off; b->bo = base + t[4].off; b->g2 = base + t[5].off;
    b->w1 = base + t[6].off; b->b1 = base + t[7].off; b->w2 = base + t[8].off;
    b->b2 = base + t[9].off;
}

static void bind_params(mt_model *m, mt_params *p, mt_real *base)
{
    const mt_tensor *t = m->tensors;
    int k = 0;
    p->gemb = base + t[k++].off;
    p->gpad = base + t[k++].off;
    if (m->hp.options & MBZM_OPT_CONV_ENCODER)
        for (int j = 0; j < MBZM_CONV_LAYERS; j++) {
            p->cg[j] = base + t[k++].off;
            p->cw[j] = base + t[k++].off;
            p->cb[j] = base + t[k++].off;
        }
    for (uint32_t i = 0; i < m->hp.g_layers; i++, k += 10) bind_block(&p->g[i], base, t + k);
    p->wgl = base + t[k++].off;
    p->bgl = base + t[k++].off;
    p->lemb = base + t[k++].off;
    p->lpos = base + t[k++].off;
    for (uint32_t i = 0; i < m->hp.l_layers; i++, k += 10) bind_block(&p->l[i], base, t + k);
    p->gf = base + t[k++].off;
    p->whead = base + t[k++].off;
    p->bhead = base + t[k++].off;
}

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz);
    if (!p) { fprintf(stderr, "mbtrain: out of memory (%zu bytes)\n", n * sz); exit(1); }
    return p;
}

/* ALiBi slopes m_h = 2^(-8(h+1)/H), snapped to what the integer engine can apply:
 * it subtracts alibi[h]·(i−j) in log2 units Q8 with an integer alibi[h], i.e. a slope
 * of alibi[h] / (256·log2 e) nats. Training with the snapped value (e.g. 1/256.5 instead
 * of 1/256 ... 1/369.3 for the smallest) keeps the float and integer models identical
 * in this respect: at 1000 patches the unsnapped slope would be off by several bits. */
double mt_alibi_q8(int h, int H)
{
    double q = floor(exp2(-8.0 * (h + 1) / H) * 256.0 * MT_LOG2E + 0.5);
    return q < 1 ? 1 : q;
}

static void slopes(mt_real *s, int H)
{
    for (int h = 0; h < H; h++) s[h] = (mt_real)(mt_alibi_q8(h, H) / (256.0 * MT_LOG2E));
}

int mt_model_init(mt_model *m, const mbzm_hparams *hp, int B)
{
    char err[128];
    memset(m, 0, sizeof *m);
    if (mt_check_hparams(hp, err, sizeof err)) {
        fprintf(stderr, "mbtrain: bad model shape: %s\n", err);
        return -1;
    }
    m->hp = *hp;
    m->B = B;
    m->P = hp->patch; m->K = hp->ctx_patches; m->T = m->K * m->P;
    m->DE = hp->d_emb; m->DG = m->P * m->DE; m->DL = hp->l_dim;
    m->XR = hp->options & MBZM_OPT_CROSS_PATCH ? (int)hp->cross_r : 0;
    m->LAG = hp->options & MBZM_OPT_GLOBAL_LAG ? (int)hp->global_lag : 1;
    m->PREV = (hp->options & MBZM_OPT_PREV_PATCH) != 0;
    int DG = m->DG, DL = m->DL, DE = m->DE, P = m->P;

    /* Parameter table, in the order of the model file (doc/model-format.md §3). */
    add_tensor(m, "g.emb", 256, DE, 0, 1.0f);
    add_tensor(m, "g.pad", 1, DG, 0, 1.0f);
    int conv = (hp->options & MBZM_OPT_CONV_ENCODER) != 0;
    for (int j = 0; conv && j < MBZM_CONV_LAYERS; j++) {
        char n[32];
        int k = MBZM_CONV_KERNEL(j);
        snprintf(n, sizeof n, "g.conv.%d.g", j);
        add_tensor(m, n, 1, DE, 0, -1.0f);
        snprintf(n, sizeof n, "g.conv.%d.w", j);   /* small: the layers start near identity */
        add_tensor(m, n, DE, (size_t)k * DE, 1, 0.5f / sqrtf((float)(k * DE)));
        snprintf(n, sizeof n, "g.conv.%d.b", j);
        add_tensor(m, n, 1, DE, 0, 0.0f);
    }
    for (uint32_t i = 0; i < hp->g_layers; i++) add_block(m, "g", i, DG, hp->g_ff, hp->g_layers);
    add_tensor(m, "gl.w", DL, DE, 1, 1.0f / sqrtf((float)DE));
    add_tensor(m, "gl.b", 1, DL, 0, 0.0f);
    add_tensor(m, "l.emb", 257, DL, 0, 1.0f);
    add_tensor(m, "l.pos", P, DL, 0, 1.0f);
    for (uint32_t i = 0; i < hp->l_layers; i++) add_block(m, "l", i, DL, hp->l_ff, hp->l_layers);
    add_tensor(m, "l.gf", 1, DL, 0, -1.0f);
    add_tensor(m, "head.w", 256, DL, 1, 1.0f / sqrtf((float)DL));
    add_tensor(m, "head.b", 1, 256, 0, 0.0f);
    if (m->PREV) {
        /* l.prev (no bias: the file's l.prev.b is zero). The one tensor out of the
         * file's order (it follows gl there): drawn last, so that a model with the
         * option starts every other tensor where the same model without it does. */
        m->prev_off = m->n_params;
        add_tensor(m, "l.prev.w", DL, DG, 1, 1.0f / sqrtf((float)DG));
    }

    m->params = xcalloc(m->n_params, sizeof(mt_real));
    m->grads = xcalloc(m->n_params, sizeof(mt_real));
    bind_params(m, &m->p, m->params);
    bind_params(m, &m->gp, m->grads);
    slopes(m->gslopes, hp->g_heads);
    slopes(m->lslopes, hp->l_heads);

    /* Activations. */
    size_t NG = (size_t)B * m->K, NL = (size_t)B * m->T;
    size_t GF = hp->g_ff, LF = hp->l_ff, GH = hp->g_heads, LH = hp->l_heads;
    size_t S_G = m->K, S_L = P;
    size_t per_g = NG * (DG * 8 + 2 + 2 * GF) + (size_t)B * GH * S_G * S_G;
    size_t W_L = S_L + (size_t)m->XR;   /* keys per local query row (cross-patch: + XR) */
    size_t per_l = NL * (DL * 8 + 2 + 2 * LF) + NG * LH * S_L * W_L;
    size_t per_c = conv ? NL * DE * (3 * MBZM_CONV_LAYERS + 1) + NL * MBZM_CONV_LAYERS : 0;
    size_t total = per_g * hp->g_layers + per_l * hp->l_layers + NG * (2 * DG + 1) +
                   NL * (2 * DL + 1 + 256 + 1) + per_c;
    m->act_mem = xcalloc(total, sizeof(mt_real));
    mt_real *q = m->act_mem;
#define TAKE(ptr, n) do { ptr = q; q += (n); } while (0)
    for (uint32_t i = 0; i < hp->g_layers; i++) {
        mt_block_acts *a = &m->a.g[i];
        TAKE(a->res, NG * DG); TAKE(a->ln1, NG * DG); TAKE(a->rstd1, NG);
        TAKE(a->qkv, NG * DG * 3); TAKE(a->att, NG * DG);
        TAKE(a->probs, (size_t)B * GH * S_G * S_G);
        TAKE(a->res2, NG * DG); TAKE(a->ln2, NG * DG); TAKE(a->rstd2, NG);
        TAKE(a->fc, NG * GF); TAKE(a->fcr, NG * GF);
    }
    TAKE(m->a.gres, NG * DG); TAKE(m->a.gout, NG * DG); TAKE(m->a.grstd, NG);
    for (uint32_t i = 0; i < hp->l_layers; i++) {
        mt_block_acts *a = &m->a.l[i];
        TAKE(a->res, NL * DL); TAKE(a->ln1, NL * DL); TAKE(a->rstd1, NL);
        TAKE(a->qkv, NL * DL * 3); TAKE(a->att, NL * DL);
        TAKE(a->probs, NG * LH * S_L * W_L);
        TAKE(a->res2, NL * DL); TAKE(a->ln2, NL * DL); TAKE(a->rstd2, NL);
        TAKE(a->fc, NL * LF); TAKE(a->fcr, NL * LF);
    }
    TAKE(m->a.lres, NL * DL); TAKE(m->a.lnf, NL * DL); TAKE(m->a.lrstd, NL);
    TAKE(m->a.probs, NL * 256); TAKE(m->a.losses, NL);
    for (int j = 0; conv && j < MBZM_CONV_LAYERS; j++) {
        TAKE(m->a.ch[j], NL * DE); TAKE(m->a.cn[j], NL * DE); TAKE(m->a.crstd[j], NL);
        TAKE(m->a.cz[j], NL * DE);
    }
    if (conv) TAKE(m->a.ch[MBZM_CONV_LAYERS], NL * DE);
#undef TAKE
    if ((size_t)(q - m->act_mem) != total) { fprintf(stderr, "mbtrain: activation layout bug\n"); abort(); }

    size_t ND = NG * DG > NL * DL ? NG * DG : NL * DL;
    size_t NF = NG * GF > NL * LF ? NG * GF : NL * LF;
    if (NF < NL * 256) NF = NL * 256; /* dfc also holds the logits' gradient */
    m->dres = xcalloc(ND, sizeof(mt_real));
    m->dln = xcalloc(ND, sizeof(mt_real));
    m->dqkv = xcalloc(3 * ND, sizeof(mt_real));
    m->datt = xcalloc(ND, sizeof(mt_real));
    m->dfc = xcalloc(NF, sizeof(mt_real));
    m->dscr = xcalloc((size_t)ATT_BQ * (S_G > W_L ? S_G : W_L), sizeof(mt_real));
    m->dgout = xcalloc(NG * DG, sizeof(mt_real));
    if (conv) m->dconv = xcalloc(3 * NL * DE, sizeof(mt_real));
    if (m->PREV) {
        m->prev_e = xcalloc(NG * DG, sizeof(mt_real));
        m->prev_pp = xcalloc(NG * DL, sizeof(mt_real));
    }
    return 0;
}

void mt_model_free(mt_model *m)
{
    free(m->params); free(m->grads); free(m->act_mem);
    free(m->dres); free(m->dln); free(m->dqkv); free(m->datt); free(m->dfc); free(m->dscr);
    free(m->dgout); free(m->dconv); free(m->prev_e); free(m->prev_pp);
    memset(m, 0, sizeof *m);
}

void mt_model_init_params(mt_model *m, uint64_t seed)
{
    mt_rng r;
    mt_rng_seed(&r, seed);
    for (int i = 0; i < m->n_tensors; i++) {
        const mt_tensor *t = &m->tensors[i];
        mt_real *w = m->params + t->off;
        size_t n = t->rows * t->cols;
        for (size_t j = 0; j < n; j++)
            w[j] = t->init_std < 0 ? 1.0f : t->init_std == 0 ? 0.0f
                                                           : (mt_real)(mt_rng_normal(&r) * t->init_std);
    }
}

/* Row k of out (B*K rows of D_G) = concat of E_G of the bytes of patch k − L, or pad
 * (zeros when NULL) for k < L: the global input (L = LAG) and the input of the
 * previous-patch projection (L = 1). */
static void patch_embed(const mt_model *m, const uint8_t *x, int B, int L, const mt_real *pad,
                        mt_real *out)
{
    int P = m->P, K = m->K, T = m->T, DE = m->DE, DG = m->DG;
    for (int b = 0; b < B; b++)
        for (int k = 0; k < K; k++) {
            mt_real *row = out + ((size_t)b * K + k) * DG;
            if (k < L) {
                if (pad) memcpy(row, pad, (size_t)DG * sizeof(mt_real));
                else memset(row, 0, (size_t)DG * sizeof(mt_real));
                continue;
            }
            const uint8_t *src = x + (size_t)b * T + (size_t)(k - L) * P;
            for (int j = 0; j < P; j++)
                memcpy(row + j * DE, m->p.gemb + (size_t)src[j] * DE, (size_t)DE * sizeof(mt_real));
        }
}

/* patch_embed's backward: d (B*K rows of D_G) into the gradients of E_G, and of the
 * pad (dpad; NULL: the rows k < L are dropped, as for zeros). */
static void patch_embed_backward(mt_model *m, const uint8_t *x, int B, int L, const mt_real *d,
                                 mt_real *dpad)
{
    int P = m->P, K = m->K, T = m->T, DE = m->DE, DG = m->DG;
    for (int b = 0; b < B; b++)
        for (int k = 0; k < K; k++) {
            const mt_real *row = d + ((size_t)b * K + k) * DG;
            if (k < L) {
                if (dpad) for (int i = 0; i < DG; i++) dpad[i] += row[i];
                continue;
            }
            const uint8_t *src = x + (size_t)b * T + (size_t)(k - L) * P;
            for (int j = 0; j < P; j++) {
                mt_real *ge = m->gp.gemb + (size_t)src[j] * DE;
                for (int i = 0; i < DE; i++) ge[i] += row[j * DE + i];
            }
        }
}

double mt_forward(mt_model *m, const uint8_t *x, int B)
{
    const mbzm_hparams *hp = &m->hp;
    const mt_params *p = &m->p;
    int P = m->P, K = m->K, T = m->T, DE = m->DE, DG = m->DG, DL = m->DL;
    int NG = B * K, NL = B * T;
    m->x = x;
    m->B_used = B;

    /* patch embedder: e_0 = pad, e_k = concat of E_G of the bytes of patch k−1
     * (with the conv encoder: of their encoded embeddings ch[3], rows (k−1)P .. kP−1)
     * e (NG, DG). With a lag L > 1 (MBZM_OPT_GLOBAL_LAG): e_k = pad for k < L, else
     * the bytes of patch k−L. */
    int L = m->LAG;
    mt_real *e = m->a.g[0].res;
    int conv = (hp->options & MBZM_OPT_CONV_ENCODER) != 0;
    if (conv) {
        conv_encoder_forward(m, x, B);
        for (int b = 0; b < B; b++)
            for (int k = 0; k < K; k++) {
                mt_real *row = e + ((size_t)b * K + k) * DG;
                if (k < L) { memcpy(row, p->gpad, (size_t)DG * sizeof(mt_real)); continue; }
                memcpy(row, m->a.ch[MBZM_CONV_LAYERS] + ((size_t)b * T + (size_t)(k - L) * P) * DE,
                       (size_t)DG * sizeof(mt_real));
            }
    } else {
        patch_embed(m, x, B, L, p->gpad, e);
    }
    /* global transformer over B sequences of K patches */
    for (uint32_t l = 0; l < hp->g_layers; l++) {
        mt_real *out = l + 1 < hp->g_layers ? m->a.g[l + 1].res : m->a.gres;
        block_forward(&p->g[l], &m->a.g[l], out, B, K, DG, hp->g_heads, hp->g_ff, m->gslopes, 0, 0);
    }
    rmsnorm_forward(m->a.gout, m->a.grstd, m->a.gres, NULL, NG, DG);

    /* local input: u (NL, DL) = slice_p(gout)·W_GLᵀ + b_GL + E_L[prev] + pos_L[p];
     * gout (NG, DG) is, row for row, (NL, DE): slice p of patch k is row kP+p. */
    mt_real *u = m->a.l[0].res;
    linear_forward(u, m->a.gout, p->wgl, p->bgl, NL, DE, DL, 0);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            int pp = t % P, prev = pp == 0 ? 256 : x[(size_t)b * T + t - 1];
            mt_real *row = u + ((size_t)b * T + t) * DL;
            const mt_real *el = p->lemb + (size_t)prev * DL, *pl = p->lpos + (size_t)pp * DL;
            for (int i = 0; i < DL; i++) row[i] += el[i] + pl[i];
        }
    if (m->PREV) {
        /* MBZM_OPT_PREV_PATCH: u of patch k += (E_G of the bytes of patch k−1)·W_prevᵀ,
         * the same for its P bytes; prev_e (NG, DG), prev_pp (NG, DL) */
        patch_embed(m, x, B, 1, NULL, m->prev_e);
        linear_forward(m->prev_pp, m->prev_e, m->params + m->prev_off, NULL, NG, DG, DL, 0);
        for (int n = 0; n < NL; n++) {
            mt_real *row = u + (size_t)n * DL;
            const mt_real *pp = m->prev_pp + (size_t)(n / P) * DL;
            for (int i = 0; i < DL; i++) row[i] += pp[i];
        }
    }
    /* local transformer over NG sequences of P bytes */
    for (uint32_t l = 0; l < hp->l_layers; l++) {
        mt_real *out = l + 1 < hp->l_layers ? m->a.l[l + 1].res : m->a.lres;
        block_forward(&p->l[l], &m->a.l[l], out, NG, P, DL, hp->l_heads, hp->l_ff, m->lslopes,
                      m->XR, K);
    }
    rmsnorm_forward(m->a.lnf, m->a.lrstd, m->a.lres, p->gf, NL, DL);
    /* head and cross-entropy: probs (NL, 256) */
    linear_forward(m->a.probs, m->a.lnf, p->whead, p->bhead, NL, DL, 256, 0);
    double total = 0;
    for (int n = 0; n < NL; n++) {
        mt_real *z = m->a.probs + (size_t)n * 256, mx = z[0];
        for (int i = 1; i < 256; i++) if (z[i] > mx) mx = z[i];
        mt_real sum = 0;
        for (int i = 0; i < 256; i++) { z[i] = EXP(z[i] - mx); sum += z[i]; }
        mt_real inv = 1.0f / sum;
        for (int i = 0; i < 256; i++) z[i] *= inv;
        mt_real pt = z[x[n]];
        mt_real loss = -LOG(pt > 1e-30f ? pt : 1e-30f);
        m->a.losses[n] = loss;
        total += loss;
    }
    m->loss = (mt_real)(total / NL);
    return m->loss;
}

void mt_backward(mt_model *m)
{
    const mbzm_hparams *hp = &m->hp;
    const mt_params *p = &m->p;
    mt_params *g = &m->gp;
    int B = m->B_used, P = m->P, K = m->K, T = m->T, DE = m->DE, DG = m->DG, DL = m->DL;
    int NG = B * K, NL = B * T;
    const uint8_t *x = m->x;
    memset(m->grads, 0, m->n_params * sizeof(mt_real));

    /* cross-entropy + softmax: dlogits = (p − onehot) / NL, written over probs' copy */
    mt_real *dlog = m->dfc; /* (NL, 256): dfc is sized for it in mt_model_init */
    mt_real inv = 1.0f / (mt_real)NL;
    for (int n = 0; n < NL; n++) {
        const mt_real *pr = m->a.probs + (size_t)n * 256;
        mt_real *d = dlog + (size_t)n * 256;
        for (int i = 0; i < 256; i++) d[i] = pr[i] * inv;
        d[x[n]] -= inv;
    }
    /* head: dlnf (NL, DL) */
    linear_backward(m->dln, g->whead, g->bhead, dlog, m->a.lnf, p->whead, NL, DL, 256, 0);
    memset(m->dres, 0, (size_t)NL * DL * sizeof(mt_real));
    rmsnorm_backward(m->dres, g->gf, m->dln, m->a.lres, m->a.lrstd, p->gf, NL, DL);
    for (int l = (int)hp->l_layers - 1; l >= 0; l--)
        block_backward(m, &p->l[l], &g->l[l], &m->a.l[l], m->dres, NG, P, DL, hp->l_heads,
                       hp->l_ff, m->XR, K);
    /* local input */
    const mt_real *du = m->dres;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            int pp = t % P, prev = pp == 0 ? 256 : x[(size_t)b * T + t - 1];
            const mt_real *row = du + ((size_t)b * T + t) * DL;
            mt_real *el = g->lemb + (size_t)prev * DL, *pl = g->lpos + (size_t)pp * DL;
            for (int i = 0; i < DL; i++) { el[i] += row[i]; pl[i] += row[i]; }
        }
    if (m->PREV) {
        /* dpp (NG, DL) = Σ over a patch's rows of du (in datt, free here); de (NG, DG)
         * in dgout, which the next product overwrites */
        mt_real *dpp = m->datt, *de = m->dgout;
        memset(dpp, 0, (size_t)NG * DL * sizeof(mt_real));
        for (int n = 0; n < NL; n++) {
            const mt_real *row = du + (size_t)n * DL;
            mt_real *d = dpp + (size_t)(n / P) * DL;
            for (int i = 0; i < DL; i++) d[i] += row[i];
        }
        linear_backward(de, m->grads + m->prev_off, NULL, dpp, m->prev_e, m->params + m->prev_off,
                        NG, DG, DL, 0);
        patch_embed_backward(m, x, B, 1, de, NULL);
    }
    linear_backward(m->dgout, g->wgl, g->bgl, du, m->a.gout, p->wgl, NL, DE, DL, 0);
    /* global */
    memset(m->dres, 0, (size_t)NG * DG * sizeof(mt_real));
    rmsnorm_backward(m->dres, NULL, m->dgout, m->a.gres, m->a.grstd, NULL, NG, DG);
    for (int l = (int)hp->g_layers - 1; l >= 0; l--)
        block_backward(m, &p->g[l], &g->g[l], &m->a.g[l], m->dres, B, K, DG, hp->g_heads,
                       hp->g_ff, 0, 0);
    /* patch embedder */
    if (hp->options & MBZM_OPT_CONV_ENCODER) {
        mt_real *dh = m->dconv + 2 * (size_t)NL * DE;   /* ∂loss/∂ch[3] (NL, DE) */
        memset(dh, 0, (size_t)NL * DE * sizeof(mt_real));
        for (int b = 0; b < B; b++)
            for (int k = 0; k < K; k++) {
                const mt_real *row = m->dres + ((size_t)b * K + k) * DG;
                if (k < m->LAG) { for (int i = 0; i < DG; i++) g->gpad[i] += row[i]; continue; }
                mt_real *d = dh + ((size_t)b * T + (size_t)(k - m->LAG) * P) * DE;
                for (int i = 0; i < DG; i++) d[i] += row[i];
            }
        conv_encoder_backward(m, dh, x, B);
        return;
    }
    patch_embed_backward(m, x, B, m->LAG, m->dres, g->gpad);
}
