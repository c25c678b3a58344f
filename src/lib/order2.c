/*
 * order2.c - the built-in adaptive context model (no weights).
 *
 * Orders 2, 1 and 0 keep symbol counts per context; the table for the next byte
 * blends them PPM-style: order k gets the share of the probability mass that the
 * higher orders leave over, times n_k / (n_k + ESC * q_k) (n_k = count total, q_k =
 * distinct symbols seen: a "method C" escape estimate), the rest goes to a uniform
 * floor. Integer arithmetic only, so the tables are the same on every machine.
 *
 * The order-2 contexts live in a 2-way set-associative table with tags (sized by
 * the block length, at most 8192 slots, about 4 MiB), so memory stays bounded on
 * long blocks; a new context evicts the less used of its two slots.
 *
 * State is updated lazily: before producing the table for position pos, the model
 * learns data[learned .. pos-1]. Score and predict share that path, so they give
 * identical tables by construction.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "order2.h"

#define O2_MAX_BITS 13
#define O2_MIN_BITS 6
/* Count totals beyond these limits are halved: lower orders are rescaled less
 * often (they summarise more history), higher ones adapt faster. */
#define O0_LIMIT 60000u
#define O1_LIMIT 4000u
#define O2_LIMIT 1000u

typedef struct {
    uint32_t tag;          /* context + 1; 0 = empty */
    uint32_t n;            /* sum of c */
    uint32_t q;            /* number of c > 0 */
    uint16_t c[MBZ_SYMBOLS];
} o2_ctx;

typedef struct {
    uint32_t c0[MBZ_SYMBOLS];
    uint32_t n0, q0;
    uint32_t n1[MBZ_SYMBOLS], q1[MBZ_SYMBOLS];
    uint16_t *c1;          /* [prev byte][symbol] */
    o2_ctx *o2;
    unsigned o2_bits;
    size_t learned;        /* data[0 .. learned-1] are in the counts */
} o2_state;

static o2_state *o2_of(mbz_predictor *p)
{
    return (o2_state *)p;
}

static void o2_halve(o2_ctx *x)
{
    uint32_t n = 0, q = 0;
    for (int i = 0; i < MBZ_SYMBOLS; i++) {
        uint16_t v = (uint16_t)((x->c[i] + 1) / 2); /* seen symbols stay seen */
        x->c[i] = v;
        n += v;
        q += v != 0;
    }
    x->n = n;
    x->q = q;
}

static o2_ctx *o2_find(o2_state *p, uint32_t ctx, int create)
{
    uint32_t h = (ctx * UINT32_C(2654435761)) >> (32 - p->o2_bits);
    o2_ctx *a = &p->o2[h], *b = &p->o2[h ^ 1];
    if (a->tag == ctx + 1)
        return a;
    if (b->tag == ctx + 1)
        return b;
    if (!create)
        return NULL;
    o2_ctx *v = b->n < a->n ? b : a;
    memset(v, 0, sizeof *v);
    v->tag = ctx + 1;
    return v;
}

static uint32_t ctx2_at(const uint8_t *data, size_t pos)
{
    uint32_t c1 = pos >= 1 ? data[pos - 1] : 0;
    uint32_t c2 = pos >= 2 ? data[pos - 2] : 0;
    return c1 | c2 << 8;
}

static void learn(o2_state *p, const uint8_t *data, size_t pos)
{
    while (p->learned < pos) {
        size_t i = p->learned++;
        unsigned s = data[i];
        uint32_t ctx = ctx2_at(data, i);
        unsigned c1 = ctx & 0xFF;

        p->q0 += p->c0[s] == 0;
        p->c0[s]++;
        if (++p->n0 > O0_LIMIT) {
            p->n0 = p->q0 = 0;
            for (int k = 0; k < MBZ_SYMBOLS; k++) {
                p->c0[k] = (p->c0[k] + 1) / 2;
                p->n0 += p->c0[k];
                p->q0 += p->c0[k] != 0;
            }
        }

        uint16_t *r1 = p->c1 + c1 * MBZ_SYMBOLS;
        p->q1[c1] += r1[s] == 0;
        r1[s]++;
        if (++p->n1[c1] > O1_LIMIT) {
            p->n1[c1] = p->q1[c1] = 0;
            for (int k = 0; k < MBZ_SYMBOLS; k++) {
                r1[k] = (uint16_t)((r1[k] + 1) / 2);
                p->n1[c1] += r1[k];
                p->q1[c1] += r1[k] != 0;
            }
        }

        o2_ctx *x = o2_find(p, ctx, 1);
        x->q += x->c[s] == 0;
        x->c[s]++;
        if (++x->n > O2_LIMIT)
            o2_halve(x);
    }
}

/* Mass (Q16 of `rem`) that an order with n counts over q symbols takes. */
static uint32_t take(uint32_t rem, uint32_t n, uint32_t q)
{
    if (n == 0)
        return 0;
    return (uint32_t)(((uint64_t)rem * n) / ((uint64_t)n + q));
}

static void table(o2_state *p, const uint8_t *data, size_t pos, uint16_t *freq)
{
    learn(p, data, pos);
    uint32_t ctx = ctx2_at(data, pos);
    unsigned c1 = ctx & 0xFF;
    const o2_ctx *x = o2_find(p, ctx, 0);
    const uint16_t *r1 = p->c1 + c1 * MBZ_SYMBOLS;

    uint32_t rem = 1u << 16;
    uint32_t w2 = x ? take(rem, x->n, x->q) : 0;
    rem -= w2;
    uint32_t w1 = take(rem, p->n1[c1], p->q1[c1]);
    rem -= w1;
    uint32_t w0 = take(rem, p->n0, p->q0);
    rem -= w0;

    /* f_k = w_k * 2^16 / n_k, so sum_s f_k * c_k[s] ~= w_k * 2^16: every order
     * contributes its mass on a common scale of 2^32 in total. */
    uint64_t f2 = w2 ? ((uint64_t)w2 << 16) / x->n : 0;
    uint64_t f1 = w1 ? ((uint64_t)w1 << 16) / p->n1[c1] : 0;
    uint64_t f0 = w0 ? ((uint64_t)w0 << 16) / p->n0 : 0;
    uint32_t acc[MBZ_SYMBOLS];
    uint32_t floor = rem + 1; /* uniform share: rem * 2^16 / 256 >> 8 */
    for (int s = 0; s < MBZ_SYMBOLS; s++) {
        uint64_t v = f1 * r1[s] + f0 * p->c0[s];
        if (x)
            v += f2 * x->c[s];
        acc[s] = (uint32_t)(v >> 8) + floor;
    }
    mbz_freq_from_counts(acc, freq);
}

static int o2_create(const void *impl, size_t block_len, mbz_predictor **out)
{
    (void)impl;
    o2_state *p = calloc(1, sizeof *p);
    if (!p)
        return MBZ_ERR_NOMEM;
    /* about one slot per 16 bytes of block, within [2^6, 2^13]: a pure function of
     * block_len, which encoder and decoder both know */
    unsigned bits = O2_MIN_BITS;
    while (bits < O2_MAX_BITS && ((size_t)1 << bits) < block_len / 16)
        bits++;
    p->o2_bits = bits;
    p->c1 = calloc((size_t)MBZ_SYMBOLS * MBZ_SYMBOLS, sizeof *p->c1);
    p->o2 = calloc((size_t)1 << bits, sizeof *p->o2);
    if (!p->c1 || !p->o2) {
        free(p->c1);
        free(p->o2);
        free(p);
        return MBZ_ERR_NOMEM;
    }
    *out = (mbz_predictor *)p;
    return MBZ_OK;
}

static int o2_score(mbz_predictor *pp, const uint8_t *data, size_t len, size_t pos, size_t n,
                    uint16_t *freq)
{
    o2_state *p = o2_of(pp);
    if (pos + n > len || pos < p->learned)
        return MBZ_ERR_INTERNAL;
    for (size_t i = 0; i < n; i++)
        table(p, data, pos + i, freq + i * MBZ_SYMBOLS);
    return MBZ_OK;
}

static int o2_predict(mbz_predictor *pp, const uint8_t *data, size_t pos, uint16_t *freq)
{
    o2_state *p = o2_of(pp);
    if (pos < p->learned)
        return MBZ_ERR_INTERNAL;
    table(p, data, pos, freq);
    return MBZ_OK;
}

static void o2_destroy(mbz_predictor *pp)
{
    o2_state *p = o2_of(pp);
    if (p) {
        free(p->c1);
        free(p->o2);
        free(p);
    }
}

const mbz_predictor_ops mbz_order2_ops = {
    .name = "order2",
    .create = o2_create,
    .score = o2_score,
    .predict = o2_predict,
    .predict_batch = NULL,
    .destroy = o2_destroy,
};
