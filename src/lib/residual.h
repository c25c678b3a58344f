/*
 * residual.h - coding of prediction errors (library-internal), shared by the media
 * models: audio.c (samples) and image.c (pixels). A model predicts a value, and
 * the error e = value - prediction is coded here as binary decisions through the
 * binary coder (bitcoder.h): zero or not; its bit length L in unary; the two bits
 * below the leading one (by L and the bits so far); the other bits (by L and
 * position); the sign (by the previous error's sign). Every decision has an
 * adaptive probability in a context the model chooses: two buckets, `k1` (0..15)
 * and `k2` (0..11), of how large the errors are around this one.
 *
 * Encoder and decoder run the same functions over a coder that either writes the
 * bit it is given or reads it, so the two cannot drift apart. Integer arithmetic
 * only.
 */
#ifndef MBZ_RESIDUAL_H
#define MBZ_RESIDUAL_H

#include <stdint.h>
#include "bitcoder.h"

#define MBZ_RES_LMAX 26    /* bit lengths of errors: |e| < 2^25 */
#define MBZ_RES_K1 16
#define MBZ_RES_K2 12

typedef struct {
    int decoding;
    mbz_bc_enc enc;
    mbz_bc_dec dec;
} mbz_res_coder;

/* Code `bit` (encoder) or read it (decoder) with P(1) = p16 / 2^16. */
static inline int mbz_res_bit(mbz_res_coder *c, int bit, uint32_t p16)
{
    if (c->decoding)
        return mbz_bc_decode(&c->dec, p16);
    mbz_bc_encode(&c->enc, bit, p16);
    return bit;
}

/* An adaptive probability: two estimates of P(1) (Q16), a quick one and a slow one,
 * averaged. Each moves by 1/(n + 1.5) of its error, n the decisions it has seen, up
 * to its limit: a new context learns from its first decisions at once (short files
 * have no time for a warm-up), a seasoned one averages. Starts at 1/2. */
#define MBZ_RES_FAST_LIMIT 40
#define MBZ_RES_SLOW_LIMIT 255
typedef struct {
    uint16_t fast, slow;
    uint8_t n;
} mbz_res_prob;

/* 2^17 / (2n + 3) = 2^16 / (n + 1.5); filled by mbz_res_init */
extern uint32_t mbz_res_rate[256];

/* Fill mbz_res_rate (once; thread-safe). Call before coding. */
void mbz_res_init(void);

static inline uint32_t mbz_res_prob_p(const mbz_res_prob *p)
{
    uint32_t q = ((uint32_t)p->fast + p->slow + 1) >> 1;
    return q < 32 ? 32 : q > 65504 ? 65504 : q;
}

static inline uint16_t mbz_res_move(uint16_t p, int bit, uint32_t rate)
{
    int32_t target = bit ? 65535 : 0;
    return (uint16_t)(p + (int32_t)(((int64_t)(target - p) * rate) >> 16));
}

/* p learns the coded bit. */
static inline void mbz_res_learn(mbz_res_prob *p, int bit)
{
    p->fast = mbz_res_move(p->fast, bit, mbz_res_rate[p->n < MBZ_RES_FAST_LIMIT ? p->n : MBZ_RES_FAST_LIMIT]);
    p->slow = mbz_res_move(p->slow, bit, mbz_res_rate[p->n < MBZ_RES_SLOW_LIMIT ? p->n : MBZ_RES_SLOW_LIMIT]);
    if (p->n < 255)
        p->n++;
}

static inline int mbz_res_code_bit(mbz_res_coder *c, mbz_res_prob *p, int bit)
{
    bit = mbz_res_bit(c, bit, mbz_res_prob_p(p));
    mbz_res_learn(p, bit);
    return bit;
}

/* The probabilities of one stream of errors (a channel, a colour plane). */
typedef struct {
    int last_sign;        /* of the previous error: 0 none, 1 positive, 2 negative */
    mbz_res_prob zero[MBZ_RES_K1][MBZ_RES_K2];
    mbz_res_prob len[MBZ_RES_K1][MBZ_RES_LMAX + 1];
    mbz_res_prob mant[MBZ_RES_LMAX + 1][4];
    mbz_res_prob low[MBZ_RES_LMAX + 1][MBZ_RES_LMAX];
    mbz_res_prob sign[3][4];
} mbz_res_model;

/* Every probability at 1/2, no previous error. */
void mbz_res_model_init(mbz_res_model *m);

/* floor(log2 v) for v >= 1, 0 for 0. */
static inline int mbz_res_log2(uint32_t v)
{
    int l = 0;
    while (v > 1) {
        v >>= 1;
        l++;
    }
    return l;
}

/* Code the error e (encoder) or read it (decoder) in contexts k1 < MBZ_RES_K1,
 * k2 < MBZ_RES_K2; returns it. The encoder's |e| must be below 2^25. */
static inline int32_t mbz_res_code(mbz_res_coder *c, mbz_res_model *m, int k1, int k2, int32_t e)
{
    uint32_t u = e < 0 ? (uint32_t)-(int64_t)e : (uint32_t)e;
    if (mbz_res_code_bit(c, &m->zero[k1][k2], u == 0)) {
        u = 0;
    } else {
        int L = c->decoding ? 0 : mbz_res_log2(u) + 1;   /* 1 .. LMAX */
        int j = 1;
        while (j < MBZ_RES_LMAX && mbz_res_code_bit(c, &m->len[k1][j], L > j))
            j++;
        L = j;
        uint32_t v = 1;
        for (int b = L - 2; b >= 0; b--) {
            int want = (int)(u >> b) & 1;
            mbz_res_prob *p = L - 2 - b < 2 ? &m->mant[L][v & 3] : &m->low[L][b];
            v = (v << 1) | (uint32_t)mbz_res_code_bit(c, p, want);
        }
        u = v;
        int neg = mbz_res_code_bit(c, &m->sign[m->last_sign][k1 < 3 ? k1 : 3], e < 0);
        e = neg ? -(int32_t)u : (int32_t)u;
    }
    if (u == 0)
        e = 0;
    m->last_sign = e > 0 ? 1 : e < 0 ? 2 : 0;
    return e;
}

/* ------------------------------------------------------------------ mixed */

/* The same decisions, each through a small context-mixing step (frame version 10's
 * image model): the probability above and n more (n <= MBZ_RESX_CTX), each an
 * adaptive counter (logistic.h) in a row the model chooses (a context of the
 * sample: its neighbours' errors, the predictors' disagreement...) and a column for
 * the decision, mixed by a logistic mixer whose weights are chosen by the
 * decision's kind and k1. Costs about twice the time of mbz_res_code.
 *
 * Revision 4 (the image model's, frame version 14) codes the sign right after the
 * zero decision, then the magnitude, and gives every decision the opinions of
 * MBZ_RESX_DEV predictors as contexts: each one's deviation from the prediction,
 * against what is known of the error so far (before the sign: how far and which
 * way; after it: below, inside or beyond the range the next decision splits),
 * three deviations to a table of counters (paq8px's image models make a context
 * of each predictor against the bits of the pixel known so far; this is that idea
 * on the error's binarisation). Its mixer has a second weight set, chosen by
 * table 2's row, and two APMs follow (by the decision and k1; by the kind and
 * table 0's row). A counter that has seen under 7 decisions counts (n + 1)/8 of
 * its stretch. */
#define MBZ_RESX_CTX 7
#define MBZ_RESX_NODES 1024   /* decisions: zero, lengths, mantissas, low bits, signs */
#define MBZ_RESX_DEVT 5       /* revision 4: tables of the predictors' deviations */
#define MBZ_RESX_DEV (3 * MBZ_RESX_DEVT)
#define MBZ_RESX_IN (MBZ_RESX_CTX + 2 + MBZ_RESX_DEVT)
#define MBZ_RESX_KINDS 29     /* zero, 25 lengths, top mantissa bits, low bits, sign */
#define MBZ_RESX_SETS (MBZ_RESX_KINDS * MBZ_RES_K1)
typedef struct {
    int n;                              /* counter tables */
    int rev;                            /* the image model's revision (2 .. 4) */
    uint32_t *t[MBZ_RESX_CTX];          /* counters, rows[i] x MBZ_RESX_NODES */
    int32_t w[MBZ_RESX_SETS][MBZ_RESX_IN];  /* [0 .. n + 1]: the plain probability,
                                             * the tables, the bias; revision 4: then
                                             * the deviations' tables */
    /* revision 4 */
    uint32_t *dev[MBZ_RESX_DEVT];       /* counters, MBZ_RESX_NODES x 343 levels */
    int32_t (*w2)[MBZ_RESX_IN];         /* the second weight sets, kind x rows[2] */
    uint16_t *apm[2];                   /* by decision and k1; by kind and table 0's row */
    uint32_t rows0, rows2;
} mbz_resx;

/* n tables, rows[i] the contexts of table i, for the image model's revision rev.
 * 0, or -2 when out of memory (then mbz_resx_free is still to be called). */
int mbz_resx_init(mbz_resx *x, int n, const uint32_t *rows, int rev);
void mbz_resx_free(mbz_resx *x);

/* As mbz_res_code, with ctx[i] < rows[i] the rows of this error; revision 4 also
 * reads dev[0 .. MBZ_RESX_DEV - 1], the deviations of other predictions from the
 * one the error is taken from (others may pass NULL). */
int32_t mbz_resx_code(mbz_res_coder *c, mbz_resx *x, mbz_res_model *m, int k1, int k2,
                      const uint32_t *ctx, const int32_t *dev, int32_t e);

#endif
