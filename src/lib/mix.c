/*
 * mix.c - the adaptive mixing stage (doc/mixing.md).
 *
 * Why: a model trained once on a general corpus (the MEGABYTE default) knows the
 * language of text and code, but it cannot know the names, phrases and records that
 * repeat inside one particular file, beyond what its attention window catches. The
 * classical remedy (PAQ, cmix, NNCP's successors) is to mix the network's prediction
 * with statistics learned from the block being coded. The mixing stage does this
 * without touching the coding contract (doc/library.md): it takes the base model's
 * 256-entry frequency table and gives back another one, computed in integers only.
 *
 * Inputs, each a score per symbol y in log2 units (Q8):
 *   0  the base model:   log2 f_base(y)
 *   1  order-2 blend:    log2 f_o2(y) (the built-in PPM-style orders 0-2, order2.c)
 *   2-8 hashed contexts (orders 3, 4, 6, the current and previous word, orders 2,
 *       1, 8): log2(2 c(y) + 1) for the symbols counted in that context (at most
 *       CTX_SYMS per context), 0 for the others
 *   9  match model: the byte that followed the last occurrence of the current
 *       6-byte context gets min(length, 32) * MATCH_SCORE, the others 0
 * Mixing is geometric: z(y) = sum_i w_i s_i(y), p(y) ~ 2^z(y), turned into a table by
 * the engine's integer softmax (mbz_freq_from_logits). The weights w are the mean
 * of two weight vectors: mixer A's, chosen from NSETS_A by a small context (the
 * highest of orders 3/4/6 with statistics, whether it was deterministic so far,
 * the match length), and mixer B's, chosen by the previous byte. After the byte x
 * is known, both move along the gradient of log2 p(x):
 *   w_i += lr * (s_i(x) - sum_y p(y) s_i(y)),
 * with lr decaying from LR_START to LR_END over the block. Weights start at "the
 * base model alone" (w_0 = 1, the rest 0), so a block first codes as the model
 * would and then learns what this block rewards.
 *
 * State is updated lazily, as in order2.c: the table for position pos first learns
 * data[pos-1]. score, predict and predict_batch share that path, so they produce
 * identical tables by construction.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "mix.h"
#include "order2.h"
#include "qmath.h"


#define N_HASHED 7
#define CTX_WORD 0            /* hashed_order value of the word context */
static const int hashed_order[N_HASHED] = { 3, 4, 6, CTX_WORD, 2, 1, 8 };
#define NIN (3 + N_HASHED)    /* mixer inputs: base, order-2, hashed..., match */
#define IN_MATCH (2 + N_HASHED)
#define NSETS_A 32            /* weight vectors of mixer A (order/match state) */
#define NSETS_B 256           /* weight vectors of mixer B (previous byte) */
#define CTX_SYMS 18           /* symbols kept per hashed context (64-byte slot) */
#define CTX_LIMIT 1020        /* a context's counts are halved beyond this total */
#define MATCH_MIN 6           /* match model: context length hashed */
#define MATCH_VERIFY 32       /* bytes compared backwards to confirm a candidate */
#define MATCH_SCORE 128       /* match score: min(length, 32) * MATCH_SCORE (<= 2^12) */
#define W_ONE 65536           /* weights are Q16 */
#define W_MAX (16 * W_ONE)    /* |w| <= 16: |z| stays below 2^20 (see mix_table) */
#define LR_SHIFT 20           /* dw = err_q24 * lr >> LR_SHIFT: eta = lr / 4096 */
#define LR_START 96           /* learning rate: lr = LR_END + (LR_START - LR_END) */
#define LR_END 12             /*   * LR_HALF / (LR_HALF + t), t = bytes learned   */
#define LR_HALF 4096

typedef struct {
    uint32_t chk;             /* 0 = empty */
    uint16_t n;               /* sum of cnt */
    uint8_t k;                /* symbols in use */
    uint8_t pad;
    uint8_t sym[CTX_SYMS];
    uint16_t cnt[CTX_SYMS];
} ctx_slot;                   /* 62 bytes, one cache line with its neighbour's tail */

typedef struct {
    const mbz_predictor_ops *bops;
    mbz_predictor *base;
    mbz_predictor *o2;
    ctx_slot *ht;             /* the N_HASHED tables, one after the other */
    size_t ht_off[N_HASHED];  /* table j: ht + ht_off[j], 2^ht_bits[j] slots */
    unsigned ht_bits[N_HASHED];
    uint32_t *mt;             /* match model: hash of 6 bytes -> position after them */
    unsigned mt_bits;
    size_t mptr;              /* data[mptr] is the predicted byte when mlen > 0 */
    uint32_t mlen;
    size_t next;              /* position of the next table */
    uint64_t word, prev_word; /* hashes of the current and the previous word */
    int32_t wa[NSETS_A][NIN], wb[NSETS_B][NIN];
    /* what the update of the last table needs */
    int set_a, set_b;
    int64_t e[NIN];           /* sum_y freq(y) s_i(y): Q8 scores times Q16 probabilities */
    ctx_slot *cur[N_HASHED];
    int mpred;                /* predicted byte or -1 */
    int32_t ms;               /* match score of mpred */
    int16_t s0[MBZ_SYMBOLS], s1[MBZ_SYMBOLS];
} mix_state;

static mix_state *mix_of(mbz_predictor *p)
{
    return (mix_state *)p;
}

/* The hot path: mix_create builds the log2 table first (mbz_log2_q8_init), and every
 * argument is in 1..2^16 (table entries, or 2 c + 1 with c <= CTX_LIMIT). */
static inline int32_t lg(uint32_t v)
{
    return mbz_log2_q8_tab[v];
}

/* ------------------------------------------------------------------ contexts */

static uint64_t ctx_hash(const mix_state *p, const uint8_t *data, size_t pos, int order)
{
    if (order == CTX_WORD) {
        uint64_t h = (p->word + 0x51) * UINT64_C(0x9E3779B97F4A7C15) ^ p->prev_word;
        h *= UINT64_C(0xC2B2AE3D27D4EB4F);
        return h ^ (h >> 31);
    }
    uint64_t h = (uint64_t)order;
    for (int i = 1; i <= order; i++)
        h = (h << 8) | (pos >= (size_t)i ? data[pos - (size_t)i] : 0);
    h += (uint64_t)order << 56;
    h *= UINT64_C(0x9E3779B97F4A7C15);
    return h ^ (h >> 29);
}

static ctx_slot *ctx_find(mix_state *p, int j, uint64_t h)
{
    ctx_slot *t = p->ht + p->ht_off[j];
    size_t i = (size_t)(h >> (64 - p->ht_bits[j]));
    uint32_t chk = (uint32_t)h | 1;   /* never 0 */
    ctx_slot *a = &t[i], *b = &t[i ^ 1];
    if (a->chk == chk)
        return a;
    if (b->chk == chk)
        return b;
    ctx_slot *v = b->n < a->n ? b : a;   /* replace the less used */
    memset(v, 0, sizeof *v);
    v->chk = chk;
    return v;
}

static void ctx_learn(ctx_slot *c, unsigned x)
{
    int i;
    for (i = 0; i < c->k; i++)
        if (c->sym[i] == x)
            break;
    if (i == c->k) {
        if (c->k < CTX_SYMS) {
            c->k++;
        } else {
            i = 0;   /* replace the least counted (the first of equals) */
            for (int t = 1; t < CTX_SYMS; t++)
                if (c->cnt[t] < c->cnt[i])
                    i = t;
            c->n = (uint16_t)(c->n - c->cnt[i]);
        }
        c->sym[i] = (uint8_t)x;
        c->cnt[i] = 0;
    }
    c->cnt[i]++;
    c->n++;
    if (c->n > CTX_LIMIT) {
        uint32_t n = 0;
        for (int t = 0; t < c->k; t++) {
            c->cnt[t] = (uint16_t)((c->cnt[t] + 1) / 2);
            n += c->cnt[t];
        }
        c->n = (uint16_t)n;
    }
}

static uint32_t match_hash(const uint8_t *data, size_t pos, unsigned bits)
{
    uint64_t h = 0;
    for (int i = 1; i <= MATCH_MIN; i++)
        h = (h << 8) | data[pos - (size_t)i];
    h *= UINT64_C(0xD6E8FEB86659FD93);
    return (uint32_t)(h >> (64 - bits));
}

/* ------------------------------------------------------------------ learning */


static int32_t lr_at(size_t t)
{
    return LR_END + (int32_t)((uint64_t)(LR_START - LR_END) * LR_HALF / (LR_HALF + t));
}

/* Learn byte x = data[pos - 1] (the last table was for pos - 1). */
static void learn(mix_state *p, const uint8_t *data, size_t pos)
{
    unsigned x = data[pos - 1];

    /* mixer: gradient step of the weight vector that produced the table */
    int32_t sx[NIN];   /* s_i(x) */
    sx[0] = p->s0[x];
    sx[1] = p->s1[x];
    for (int j = 0; j < N_HASHED; j++) {
        const ctx_slot *c = p->cur[j];
        sx[2 + j] = 0;
        for (int i = 0; i < c->k; i++)
            if (c->sym[i] == x)
                sx[2 + j] = lg(2u * c->cnt[i] + 1);
    }
    sx[IN_MATCH] = p->mpred == (int)x ? p->ms : 0;
    int32_t lr = lr_at(pos - 1);
    /* z is the mean of the two mixers' outputs: both get the gradient of log2 p(x) */
    int32_t *wa = p->wa[p->set_a], *wb = p->wb[p->set_b];
    for (int i = 0; i < NIN; i++) {
        int64_t err = ((int64_t)sx[i] << 16) - p->e[i];          /* Q24, |err| < 2^29 */
        int64_t d = (err * lr) >> LR_SHIFT;
        wa[i] = (int32_t)mbz_clamp64(wa[i] + d, -W_MAX, W_MAX);
        wb[i] = (int32_t)mbz_clamp64(wb[i] + d, -W_MAX, W_MAX);
    }
    /* word hashes: letters (case folded) extend the current word */
    unsigned lc = x | 0x20;
    if (lc >= 'a' && lc <= 'z') {
        p->word = (p->word + lc) * UINT64_C(0x100000001B3);
    } else if (p->word) {
        p->prev_word = p->word;
        p->word = 0;
    }

    /* statistics */
    for (int j = 0; j < N_HASHED; j++)
        ctx_learn(p->cur[j], x);
    if (p->mlen) {
        if (data[p->mptr] == x) {
            p->mptr++;
            if (p->mlen < 65535)
                p->mlen++;
        } else {
            p->mlen = 0;
        }
    }
    if (pos >= MATCH_MIN) {
        uint32_t h = match_hash(data, pos, p->mt_bits);
        if (p->mlen == 0 && p->mt[h]) {
            size_t cand = p->mt[h];
            uint32_t len = 0;
            while (len < MATCH_VERIFY && len < cand && data[cand - 1 - len] == data[pos - 1 - len])
                len++;
            if (len >= MATCH_MIN) {
                p->mptr = cand;
                p->mlen = len;
            }
        }
        p->mt[h] = (uint32_t)pos;
    }
}

/* The table for data[pos]; `freq` holds the base model's table on entry. */
static int mix_table(mix_state *p, const uint8_t *data, size_t pos, uint16_t *freq)
{
    if (pos != p->next)
        return MBZ_ERR_INTERNAL;
    if (pos > 0)
        learn(p, data, pos);
    p->next = pos + 1;

    for (int y = 0; y < MBZ_SYMBOLS; y++)
        p->s0[y] = (int16_t)lg(freq[y]);
    if (p->o2) {
        uint16_t f1[MBZ_SYMBOLS];
        int rc = mbz_order2_ops.predict(p->o2, data, pos, f1);
        if (rc != MBZ_OK)
            return rc;
        for (int y = 0; y < MBZ_SYMBOLS; y++)
            p->s1[y] = (int16_t)lg(f1[y]);
    } else {
        /* the base is the order-2 model itself: its table is input 1's, exactly */
        memcpy(p->s1, p->s0, sizeof p->s1);
    }

    int hi = 0, det = 0;
    for (int j = 0; j < N_HASHED; j++)
        p->cur[j] = ctx_find(p, j, ctx_hash(p, data, pos, hashed_order[j]));
    for (int j = 0; j < 3; j++) {   /* the order contexts, lowest first */
        if (p->cur[j]->k) {
            hi = j + 1;
            det = p->cur[j]->k == 1;
        }
    }
    p->mpred = -1;
    p->ms = 0;
    int mb = 0;
    if (p->mlen) {
        p->mpred = data[p->mptr];
        uint32_t l = p->mlen < 32 ? p->mlen : 32;
        p->ms = (int32_t)(l * MATCH_SCORE);
        mb = p->mlen < 16 ? 1 : p->mlen < 32 ? 2 : 3;
    }
    p->set_a = (hi * 2 + det) * 4 + mb;
    p->set_b = pos ? data[pos - 1] : 0;
    int32_t w[NIN];
    for (int i = 0; i < NIN; i++)   /* |wa + wb| <= 2^21 */
        w[i] = p->wa[p->set_a][i] + p->wb[p->set_b][i];

    /* z(y) = sum_i (wa_i + wb_i) s_i(y) / 2: |wa_i + wb_i| <= 2^21, 0 <= s_i <= 2^12
     * (log2 of at most 2^16 in Q8; match: 32 * MATCH_SCORE), NIN = 10 inputs:
     * |sum| <= 10 * 2^33 < 2^37; z = round(sum / 2^17): |z| <= 10 * 2^16 < 2^20,
     * inside mbz_freq_from_logits' domain. */
    int64_t acc[MBZ_SYMBOLS];
    for (int y = 0; y < MBZ_SYMBOLS; y++)
        acc[y] = (int64_t)w[0] * p->s0[y] + (int64_t)w[1] * p->s1[y];
    for (int j = 0; j < N_HASHED; j++) {
        const ctx_slot *c = p->cur[j];
        for (int i = 0; i < c->k; i++)
            acc[c->sym[i]] += (int64_t)w[2 + j] * lg(2u * c->cnt[i] + 1);
    }
    if (p->mpred >= 0)
        acc[p->mpred] += (int64_t)w[IN_MATCH] * p->ms;
    int32_t z[MBZ_SYMBOLS];
    for (int y = 0; y < MBZ_SYMBOLS; y++)
        z[y] = (int32_t)mbz_round_shift(acc[y], 17);
    mbz_freq_from_logits(z, freq);

    /* expectations for the update: sum_y freq(y) s_i(y) (Q24) */
    int64_t e0 = 0, e1 = 0;
    for (int y = 0; y < MBZ_SYMBOLS; y++) {
        e0 += (int64_t)freq[y] * p->s0[y];
        e1 += (int64_t)freq[y] * p->s1[y];
    }
    p->e[0] = e0;
    p->e[1] = e1;
    for (int j = 0; j < N_HASHED; j++) {
        const ctx_slot *c = p->cur[j];
        int64_t e = 0;
        for (int i = 0; i < c->k; i++)
            e += (int64_t)freq[c->sym[i]] * lg(2u * c->cnt[i] + 1);
        p->e[2 + j] = e;
    }
    p->e[IN_MATCH] = p->mpred >= 0 ? (int64_t)freq[p->mpred] * p->ms : 0;
    return MBZ_OK;
}

/* ------------------------------------------------------------------ ops */

static void mix_destroy(mbz_predictor *pp)
{
    mix_state *p = mix_of(pp);
    if (!p)
        return;
    if (p->base)
        p->bops->destroy(p->base);
    if (p->o2)
        mbz_order2_ops.destroy(p->o2);
    free(p->ht);
    free(p->mt);
    free(p);
}

static int mix_create(const void *impl, size_t block_len, mbz_predictor **out)
{
    const mbz_model *base = impl;
    mbz_log2_q8_init();
    mix_state *p = calloc(1, sizeof *p);
    if (!p)
        return MBZ_ERR_NOMEM;
    p->bops = base->ops;
    /* table sizes: pure functions of block_len (both sides know it); about one
     * context slot per 8 bytes and one match entry per 4, within fixed bounds */
    unsigned hb = 10, mb = 10;
    while (hb < 16 && ((size_t)1 << hb) < block_len / 8)
        hb++;
    while (mb < 20 && ((size_t)1 << mb) < block_len / 4)
        mb++;
    size_t slots = 0;
    for (int j = 0; j < N_HASHED; j++) {
        /* order 1 has 256 contexts, order 2 at most 65536 */
        unsigned b = hashed_order[j] == 1 ? 9 : hashed_order[j] == 2 && hb > 15 ? 15 : hb;
        p->ht_bits[j] = b;
        p->ht_off[j] = slots;
        slots += (size_t)1 << b;
    }
    p->mt_bits = mb;
    p->ht = calloc(slots, sizeof *p->ht);
    p->mt = calloc((size_t)1 << mb, sizeof *p->mt);
    int rc = (p->ht && p->mt) ? MBZ_OK : MBZ_ERR_NOMEM;
    if (rc == MBZ_OK)
        rc = p->bops->create(base->impl, block_len, &p->base);
    /* the order-2 input, unless the base's tables already are that blend */
    if (rc == MBZ_OK && !(base->caps & MBZ_CAP_ORDER2))
        rc = mbz_order2_ops.create(NULL, block_len, &p->o2);
    if (rc != MBZ_OK) {
        mix_destroy((mbz_predictor *)p);
        return rc;
    }
    for (int s = 0; s < NSETS_A; s++)
        p->wa[s][0] = W_ONE;
    for (int s = 0; s < NSETS_B; s++)
        p->wb[s][0] = W_ONE;
    *out = (mbz_predictor *)p;
    return MBZ_OK;
}

static int mix_score(mbz_predictor *pp, const uint8_t *data, size_t len, size_t pos, size_t n,
                     uint16_t *freq)
{
    mix_state *p = mix_of(pp);
    int rc = p->bops->score(p->base, data, len, pos, n, freq);
    for (size_t i = 0; i < n && rc == MBZ_OK; i++)
        rc = mix_table(p, data, pos + i, freq + i * MBZ_SYMBOLS);
    return rc;
}

static int mix_predict(mbz_predictor *pp, const uint8_t *data, size_t pos, uint16_t *freq)
{
    mix_state *p = mix_of(pp);
    int rc = p->bops->predict(p->base, data, pos, freq);
    return rc == MBZ_OK ? mix_table(p, data, pos, freq) : rc;
}

static int mix_predict_batch(mbz_predictor **p, const uint8_t *const *data, const size_t *pos,
                             int nb, uint16_t *freq)
{
    enum { CHUNK = 16 };
    for (int b0 = 0; b0 < nb; b0 += CHUNK) {
        int k = nb - b0 < CHUNK ? nb - b0 : CHUNK;
        mbz_predictor *bp[CHUNK];
        for (int b = 0; b < k; b++)
            bp[b] = mix_of(p[b0 + b])->base;
        int rc = mbz_predict_many(mix_of(p[b0])->bops, bp, data + b0, pos + b0, k,
                                  freq + (size_t)b0 * MBZ_SYMBOLS);
        for (int b = 0; b < k && rc == MBZ_OK; b++)
            rc = mix_table(mix_of(p[b0 + b]), data[b0 + b], pos[b0 + b],
                           freq + (size_t)(b0 + b) * MBZ_SYMBOLS);
        if (rc != MBZ_OK)
            return rc;
    }
    return MBZ_OK;
}

static const mbz_predictor_ops mix_ops_batched = {
    .name = "mix",
    .create = mix_create,
    .score = mix_score,
    .predict = mix_predict,
    .predict_batch = mix_predict_batch,
    .destroy = mix_destroy,
};

static const mbz_predictor_ops mix_ops_single = {
    .name = "mix",
    .create = mix_create,
    .score = mix_score,
    .predict = mix_predict,
    .predict_batch = NULL,
    .destroy = mix_destroy,
};

void mbz_mix_wrap(const mbz_model *base, mbz_model *out)
{
    memset(out, 0, sizeof *out);
    out->fingerprint = base->fingerprint;
    /* batch only if the base batches: otherwise the caller's step loop is as good */
    out->ops = (base->caps & MBZ_CAP_BATCH) ? &mix_ops_batched : &mix_ops_single;
    out->patch = base->patch;
    out->score_chunk = base->score_chunk;
    out->caps = base->caps & MBZ_CAP_BATCH; /* its tables are not order-2's any more */
    out->impl = (void *)(uintptr_t)base;
    out->free_impl = NULL;
    snprintf(out->describe, sizeof out->describe, "%.100s + mixing", base->describe);
}
