/*
 * residual.c - the shared tables of the error coder (residual.h).
 */
#include <pthread.h>
#include <stdlib.h>
#include "logistic.h"
#include "residual.h"

uint32_t mbz_res_rate[256];

static void rate_init(void)
{
    for (int n = 0; n < 256; n++)
        mbz_res_rate[n] = (uint32_t)((2u << 16) / (2u * (unsigned)n + 3u));
}

void mbz_res_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, rate_init);
}

void mbz_res_model_init(mbz_res_model *m)
{
    m->last_sign = 0;
    /* the probabilities, zero .. sign, are one run of mbz_res_prob */
    mbz_res_prob *p = &m->zero[0][0], *end = &m->sign[2][3] + 1;
    for (; p < end; p++) {
        p->fast = p->slow = 32768;
        p->n = 0;
    }
}

/* ------------------------------------------------------------------ mixed */

#define RESX_LR 8              /* dw = x * err * RESX_LR >> 14 */
#define RESX_LR4 12            /* revision 4's (measured: 5, 8, 18 did worse) */
#define RESX_W_MAX (65536 * 16)
#define RESX_LIMIT 255         /* the counters' count limit */
#define RESX_APM_RATE 7

/* The weights a set starts with: the plain coder's probability, the tables a
 * little, the deviations' tables (revision 4) less. */
static void weights_init(int32_t *w, int n)
{
    for (int i = 0; i < MBZ_RESX_IN; i++)
        w[i] = i == 0 ? 65536 : i <= n ? 20000 : i >= n + 2 ? 6000 : 0;
}

int mbz_resx_init(mbz_resx *x, int n, const uint32_t *rows, int rev)
{
    mbz_logistic_init();
    int rc = 0;
    x->n = n;
    x->rev = rev;
    for (int i = 0; i < MBZ_RESX_CTX; i++) {
        x->t[i] = i < n ? calloc((size_t)rows[i] * MBZ_RESX_NODES, sizeof *x->t[i]) : NULL;
        if (i < n && !x->t[i])
            rc = -2;
    }
    for (int j = 0; j < MBZ_RESX_SETS; j++)
        weights_init(x->w[j], n);
    int r4 = rev >= 4;
    for (int i = 0; i < MBZ_RESX_DEVT; i++) {
        x->dev[i] = r4 ? calloc((size_t)MBZ_RESX_NODES * 343, sizeof *x->dev[i]) : NULL;
        if (r4 && !x->dev[i])
            rc = -2;
    }
    x->rows0 = rows[0];
    x->rows2 = rows[2];
    size_t sets2 = (size_t)MBZ_RESX_KINDS * rows[2];
    x->w2 = r4 ? malloc(sets2 * sizeof *x->w2) : NULL;
    x->apm[0] = r4 ? mbz_apm_new((size_t)MBZ_RESX_NODES * MBZ_RES_K1) : NULL;
    x->apm[1] = r4 ? mbz_apm_new((size_t)MBZ_RESX_KINDS * rows[0]) : NULL;
    if (r4 && (!x->w2 || !x->apm[0] || !x->apm[1]))
        rc = -2;
    for (size_t j = 0; x->w2 && j < sets2; j++)
        weights_init(x->w2[j], n);
    return rc;
}

void mbz_resx_free(mbz_resx *x)
{
    for (int i = 0; i < MBZ_RESX_CTX; i++)
        free(x->t[i]);
    for (int i = 0; i < MBZ_RESX_DEVT; i++)
        free(x->dev[i]);
    free(x->w2);
    free(x->apm[0]);
    free(x->apm[1]);
}

/* a counter's stretch as an input; revision 4: one that has seen under 7
 * decisions counts (n + 1)/8 of it */
static inline int32_t ctr_input(uint32_t c, int r4)
{
    int32_t v = mbz_stretch(mbz_ctr_p12(c));
    uint32_t n = c & 1023;
    return r4 && n < 7 ? v * (int32_t)(n + 1) / 8 : v;
}

static inline int mixer_dot(const int32_t *in, const int32_t *w, int nin)
{
    int64_t d = 0;
    for (int i = 0; i < nin; i++)
        d += (int64_t)in[i] * w[i];
    d >>= 16;
    return d > 2047 ? 2047 : d < -2047 ? -2047 : (int)d;
}

static inline void mixer_train(const int32_t *in, int32_t *w, int nin, int err, int lr)
{
    for (int i = 0; i < nin; i++) {
        int32_t v = w[i] + ((in[i] * err * lr) >> 14);
        w[i] = v > RESX_W_MAX ? RESX_W_MAX : v < -RESX_W_MAX ? -RESX_W_MAX : v;
    }
}

/* One decision: `node` its column in the tables, `kind` (0 .. 28) with k1 its mixer
 * weights; p0 the plain coder's probability, which learns as there; xt[0 .. nx-1]
 * revision 4's counters of the deviations. */
static int resx_bit(mbz_res_coder *c, mbz_resx *x, mbz_res_prob *p0, int node, int kind, int k1,
                    const uint32_t *ctx, int bit, uint32_t **xt, int nx)
{
    uint32_t *t[MBZ_RESX_CTX];
    int32_t in[MBZ_RESX_IN];
    int r4 = x->rev >= 4;
    int nt = x->n, nin = nt + 2;
    in[0] = mbz_stretch((int)(mbz_res_prob_p(p0) >> 4));     /* 2 .. 4094 */
    for (int i = 0; i < nt; i++) {
        t[i] = &x->t[i][(size_t)ctx[i] * MBZ_RESX_NODES + (size_t)node];
        in[1 + i] = ctr_input(*t[i], r4);
    }
    in[nin - 1] = 256;
    for (int i = 0; i < nx; i++)
        in[nin++] = ctr_input(*xt[i], 1);
    int32_t *w = x->w[kind * MBZ_RES_K1 + k1];
    int p1 = mbz_squash(mixer_dot(in, w, nin)), p = p1, p2 = 0, a0 = 0, a1 = 0;
    int32_t *w2 = NULL;
    if (r4) {
        /* two weight sets averaged, then two APMs: (p + a0 + 2 a1) / 4 */
        w2 = x->w2[(size_t)kind * x->rows2 + ctx[2]];
        p2 = mbz_squash(mixer_dot(in, w2, nin));
        int pm = (p1 + p2 + 1) >> 1;
        int q0 = mbz_apm_p(x->apm[0], (size_t)node * MBZ_RES_K1 + (size_t)k1, pm, &a0);
        int q1 = mbz_apm_p(x->apm[1], (size_t)kind * x->rows0 + ctx[0], pm, &a1);
        p = (pm + q0 + 2 * q1 + 2) >> 2;
    }
    uint32_t p16 = (uint32_t)p * 16;
    bit = mbz_res_bit(c, bit, p16 < 32 ? 32 : p16 > 65504 ? 65504 : p16);
    mixer_train(in, w, nin, (bit << 12) - p1, r4 ? RESX_LR4 : RESX_LR);
    if (r4) {
        mixer_train(in, w2, nin, (bit << 12) - p2, RESX_LR4);
        mbz_apm_update(x->apm[0], a0, bit, RESX_APM_RATE);
        mbz_apm_update(x->apm[1], a1, bit, RESX_APM_RATE);
    }
    for (int i = 0; i < nt; i++)
        mbz_ctr_update(t[i], bit, RESX_LIMIT, 0);
    for (int i = 0; i < nx; i++)
        mbz_ctr_update(xt[i], bit, RESX_LIMIT, 0);
    mbz_res_learn(p0, bit);
    return bit;
}

/* The decision of bit b below the leading one of an L-bit magnitude whose bits so
 * far are v: the two highest by L and those bits, the others by L and b. Its plain
 * probability; its column (*node) and kind (*kind) in the mixed coder. */
static inline mbz_res_prob *low_bit_decision(mbz_res_model *m, int L, int b, uint32_t v, int *node,
                                             int *kind)
{
    int top = L - 2 - b < 2;
    *node = top ? 32 + 4 * L + (int)(v & 3) : 160 + 26 * L + b;
    *kind = top ? 26 : 27;
    return top ? &m->mant[L][v & 3] : &m->low[L][b];
}

/* Revision 4: the counters of one decision (`node`), one per table of the
 * deviations, at their three levels lv[3i .. 3i + 2] (each 0 .. 6). */
static uint32_t **dev_counters(mbz_resx *x, int node, const uint32_t *lv, uint32_t **xt)
{
    for (int i = 0; i < MBZ_RESX_DEVT; i++)
        xt[i] = &x->dev[i][(size_t)node * 343 + (lv[3 * i] * 7 + lv[3 * i + 1]) * 7 + lv[3 * i + 2]];
    return xt;
}

/* a deviation before the sign is known, by its side and size (0, up to t1, up to
 * t2, more): 0 .. 6 */
static inline uint32_t dev_signed(int32_t d, uint32_t t1, uint32_t t2)
{
    uint32_t a = (uint32_t)(d < 0 ? -(int64_t)d : d), q = a == 0 ? 0 : a <= t1 ? 1 : a <= t2 ? 2 : 3;
    return d < 0 ? 3 - q : 3 + q;
}

/* a deviation sd turned the sign's way, against the magnitude's known range: at
 * most 0, below lo (what the magnitude is known to reach), below mid (where the
 * decision splits), below hi (the range's end), beyond: 0 .. 4 */
static inline uint32_t dev_level(int32_t sd, uint32_t lo, uint32_t mid, uint32_t hi)
{
    if (sd <= 0)
        return 0;
    uint32_t a = (uint32_t)sd;
    return a < lo ? 1 : a < mid ? 2 : a < hi ? 3 : 4;
}

/* Revision 4's order of the decisions: zero; the sign (at 900 + 4 last_sign +
 * min(k1, 3), as before); the length; the bits below the leading one. The same
 * columns as mbz_resx_code's. */
static int32_t resx_code4(mbz_res_coder *c, mbz_resx *x, mbz_res_model *m, int k1, int k2,
                          const uint32_t *ctx, const int32_t *dev, int32_t e)
{
    uint32_t u = e < 0 ? (uint32_t)-(int64_t)e : (uint32_t)e, lv[MBZ_RESX_DEV];
    uint32_t *xt[MBZ_RESX_DEVT];
    /* the zero decision and the sign: the deviations' sizes on the scale of k1 */
    uint32_t z = 1u << (k1 >> 2), g = 1u << (k1 >> 1);
    for (int i = 0; i < MBZ_RESX_DEV; i++)
        lv[i] = dev_signed(dev[i], z, 3 * z);
    if (resx_bit(c, x, &m->zero[k1][k2], 0, 0, k1, ctx, u == 0, dev_counters(x, 0, lv, xt), MBZ_RESX_DEVT)) {
        m->last_sign = 0;
        return 0;
    }
    int ks = k1 < 3 ? k1 : 3, node = 900 + 4 * m->last_sign + ks;
    for (int i = 0; i < MBZ_RESX_DEV; i++)
        lv[i] = dev_signed(dev[i], g, 4 * g);
    int neg = resx_bit(c, x, &m->sign[m->last_sign][ks], node, 28, k1, ctx, e < 0,
                       dev_counters(x, node, lv, xt), MBZ_RESX_DEVT);
    int32_t sd[MBZ_RESX_DEV];
    for (int i = 0; i < MBZ_RESX_DEV; i++)
        sd[i] = neg ? -dev[i] : dev[i];
    /* the length: at least 2^(j-1) is known, is it at least 2^j? */
    int L = c->decoding ? 0 : mbz_res_log2(u) + 1;   /* 1 .. LMAX */
    int j = 1;
    for (; j < MBZ_RES_LMAX; j++) {
        for (int i = 0; i < MBZ_RESX_DEV; i++)
            lv[i] = dev_level(sd[i], 1u << (j - 1), 1u << j, 2u << j);
        if (!resx_bit(c, x, &m->len[k1][j], j, j, k1, ctx, L > j, dev_counters(x, j, lv, xt), MBZ_RESX_DEVT))
            break;
    }
    L = j;
    /* the bits below the leading one: the range [v 2^(b+1), (v + 1) 2^(b+1)) is
     * known, which half? */
    uint32_t v = 1;
    for (int b = L - 2; b >= 0; b--) {
        int kind;
        mbz_res_prob *p = low_bit_decision(m, L, b, v, &node, &kind);
        uint32_t lo = v << (b + 1);
        for (int i = 0; i < MBZ_RESX_DEV; i++)
            lv[i] = dev_level(sd[i], lo, lo + (1u << b), lo + (2u << b));
        v = (v << 1) | (uint32_t)resx_bit(c, x, p, node, kind, k1, ctx, (int)(u >> b) & 1,
                                          dev_counters(x, node, lv, xt), MBZ_RESX_DEVT);
    }
    m->last_sign = neg ? 2 : 1;
    return neg ? -(int32_t)v : (int32_t)v;
}

/* mbz_res_code's decisions, in its order. Columns: zero 0, length j at j (1 .. 25),
 * the two bits below the leading one at 32 + 4 L + (bits so far & 3), the others at
 * 160 + 26 L + b, the sign at 900 + 4 last_sign + min(k1, 3). */
int32_t mbz_resx_code(mbz_res_coder *c, mbz_resx *x, mbz_res_model *m, int k1, int k2,
                      const uint32_t *ctx, const int32_t *dev, int32_t e)
{
    if (x->rev >= 4)
        return resx_code4(c, x, m, k1, k2, ctx, dev, e);
    uint32_t u = e < 0 ? (uint32_t)-(int64_t)e : (uint32_t)e;
    if (resx_bit(c, x, &m->zero[k1][k2], 0, 0, k1, ctx, u == 0, NULL, 0)) {
        u = 0;
    } else {
        int L = c->decoding ? 0 : mbz_res_log2(u) + 1;   /* 1 .. LMAX */
        int j = 1;
        while (j < MBZ_RES_LMAX && resx_bit(c, x, &m->len[k1][j], j, j, k1, ctx, L > j, NULL, 0))
            j++;
        L = j;
        uint32_t v = 1;
        for (int b = L - 2; b >= 0; b--) {
            int node, kind;
            mbz_res_prob *p = low_bit_decision(m, L, b, v, &node, &kind);
            v = (v << 1) | (uint32_t)resx_bit(c, x, p, node, kind, k1, ctx, (int)(u >> b) & 1, NULL, 0);
        }
        u = v;
        int ks = k1 < 3 ? k1 : 3;
        int neg = resx_bit(c, x, &m->sign[m->last_sign][ks], 900 + 4 * m->last_sign + ks, 28, k1, ctx, e < 0, NULL, 0);
        e = neg ? -(int32_t)u : (int32_t)u;
    }
    if (u == 0)
        e = 0;
    m->last_sign = e > 0 ? 1 : e < 0 ? 2 : 0;
    return e;
}
