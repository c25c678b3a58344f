/*
 * cm.c - the binary context-mixing stage (cm.h; doc/mixing.md, "Binary stage").
 *
 * Why binary: the 256-way geometric mixer of mix.c pays for every input on all 256
 * symbols and learns one weight per input per byte. Coding a byte as 8 binary
 * decisions (as PAQ and lpaq do) makes each input one number per bit, so the stage
 * can afford many inputs, several mixers and adaptive probability maps, and each
 * context learns from every bit. The published descriptions of lpaq1 and paq8
 * (Mahoney) are the model for its structure; the code and constants are our own.
 *
 * Per bit, the inputs (stretch domain, st(p) = ln(p / (1 - p)) * 256, |x| <= 2047):
 *   - NCTX hashed contexts: orders 1, 2, 3, 4, 6; the current word (with the byte
 *     before); the word bigram; the sparse contexts byte -2, byte -3, bytes -3 and -4
 *     (for binaries and tables); the byte above in the previous line with the column,
 *     and with the byte before (for records and code). Each gives a counter per
 *     context and partial byte as st(p) and as (p - 1/2) (both 0 while unseen);
 *   - the match model: the bit that followed the last occurrence of the current
 *     6-byte context, through an adaptive map by match length, and as a fixed vote;
 *   - the base model: its table folded into P(bit | bits so far), raw and through an
 *     adaptive map by partial byte;
 *   - a bias;
 *   - with the record model (MBZ_CM_RECORD, record_done) and while it pays: 4 hashed
 *     contexts of the record one and two above (with the byte before, with each
 *     other, with the column; the column alone), 2 inputs each as above.
 * Three mixers (weights chosen by the partial byte, by match length and bit
 * position, by the previous byte) feed a small final mixer; two adaptive probability
 * maps (by partial byte, by previous byte and partial byte) refine its output; a
 * third (by the byte one record above and partial byte) while the record contexts
 * are on.
 *
 * Revision 2 (MBZ_CM_REV2, frame version 9) adds (doc/mixing.md, "Revision 2"): six
 * hashed contexts (skip and nibble contexts, bracket nesting, two indirect contexts:
 * rev2_done), two mixers (by the number of orders with statistics and c0; by byte -2
 * and bit position), a fourth map (by order 2 hashed, c0), counters that halve their count
 * on a surprise (mbz_ctr_update's forget) and a mixer rate that decays along the
 * history. Without it the stage computes bit for bit what revision 1 did: the new
 * inputs stay 0 (no weight moves for a 0 input, and a sum of integers does not
 * depend on their order), the mixers and maps are not run.
 *
 * Revision 3 (MBZ_CM_REV3 with MBZ_CM_REV2, frame version 13; doc/mixing.md,
 * "Revision 3") adds to revision 2: counter maps (each context's second input is
 * what its count and probability have meant lately, learnt per context: rev3's
 * branch of cm_p_body), one hashed context (rev3_done: the byte a match expects, or
 * order 0), the base model's input through a map by byte -1 as one more input, a
 * fifth map (order 3 hashed), counters limited to 24, and four times the hash
 * table (at most 256 MiB). Without it the stage computes bit for bit what revision 2 did.
 *
 * The fast configuration (MBZ_CM_FAST, frame flag FAST, level 1; doc/mixing.md,
 * "Fast configuration") runs no base model and a quarter of the work per bit:
 * nine of the hashed contexts (fast_ctx), the record model's four while they pay,
 * the match model and the bias (29 inputs), three mixers (by c0; by match length
 * and bit position; by the previous byte) and the final mixer, the first two maps
 * (the third with records); counters with limit 20 that forget on a surprise.
 *
 * Counters: 22-bit probability and a 10-bit count n in one uint32. A counter moves
 * by 1/(n + 1.5) of its error until n reaches its limit, so a context that has seen
 * one outcome a few times is already confident (deterministic contexts adapt fast)
 * and a context with long statistics averages them.
 *
 * Hash table: buckets of 16 uint32 (64 bytes, one cache line): a tag and the 15
 * counters of one nibble's binary tree. A context looks its bucket up twice per byte
 * (for the high nibble, then with the high nibble for the low one), in two ways of
 * a set; a miss replaces the way whose first counter has the smaller count.
 *
 * All arithmetic is integer with defined rounding (right shifts of negative values
 * are arithmetic, as the build requires: qmath.h).
 */
#include "config.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "cm.h"
#include "internal.h"
#include "kernels.h"
#include "logistic.h"
#include "zalloc.h"
#include "predictor.h"
#include "qmath.h"

#define NCTX 12                     /* hashed contexts of every stage */
#define NX 6                        /* and of revision 2 (MBZ_CM_REV2) */
#define NREC 4                      /* and of the record model (MBZ_CM_RECORD) */
#define NX3 1                       /* and of revision 3 (MBZ_CM_REV3) */
#define CX_X NCTX                   /* the first of revision 2's contexts */
#define CX_X3 (NCTX + NX)           /* the first of revision 3's */
#define CX_REC (NCTX + NX + NX3)    /* the first of the record model's */
#define NCTX_ALL (NCTX + NX + NX3 + NREC)
#define IN_MATCH (2 * NCTX_ALL)     /* 2 inputs per hashed context first, then 2 */
#define IN_BASE (IN_MATCH + 2)      /* 2 inputs */
#define IN_BIAS (IN_BASE + 2)
#define IN_R3 (IN_BIAS + 1)         /* revision 3: 1 input */
#define NIN (IN_R3 + 1)
#define NMIX 5                      /* mixers: 3, and two more in revision 2 */
#define NFAST 9                     /* the fast configuration's contexts (fast_ctx) */
#define NIN_FAST (2 * (NFAST + NREC) + 3) /* its inputs: 2 per context (with the record
                                     * model's), 2 of the match model, bias */
#define NMIX_FAST 3                 /* its mixers: the first three of the full stage's */
/* A mixer's weight set holds its inputs rounded up to 8 (the width of an AVX2
 * vector of int32): the padding inputs are always 0, so they add nothing to a dot
 * product and their weights never move, and the loops over a set have no scalar
 * tail (which was most of the mixers' instructions with 29 inputs) */
#define PAD8(n) (((n) + 7) & ~7)
#define NIN_PAD PAD8(NIN)
#define NIN_FAST_PAD PAD8(NIN_FAST)
#define SETS_M1 256                 /* by partial byte c0 */
#define SETS_M2 64                  /* by match length bucket (8) x bit position (8) */
#define SETS_M3 256                 /* by previous byte */
#define SETS_M4 (6 * 256)           /* revision 2: by known orders (0..5) x c0 */
#define SETS_M5 (256 * 8)           /* revision 2: by byte -2 x bit position */
#define W_ONE 65536
#define W_MAX (W_ONE * 64)
#define LR_MIX 10                   /* dw = x * err * LR >> 14, err Q12 */
#define LR2_LO 5                    /* revision 2: LR from LR2_HI to LR2_LO, halfway */
#define LR2_HI 20                   /* after LR2_HALF bytes of history */
#define LR2_HALF 16384
#define LR_FINAL 3
#define LR_FAST 6                   /* the fast configuration's mixers */
#define CTR_LIMIT 127               /* counters of hashed contexts */
#define CTR_FAST_LIMIT 20           /* and in the fast configuration (forgets too) */
#define CTR2_LIMIT 60               /* and in revision 2 (which also forgets on surprise) */
#define CTR3_LIMIT 24               /* and in revision 3 (forgets too) */
#define SM_RATE 7                   /* revision 3's counter maps learn 1/2^SM_RATE */
#define MATCH_MIN 6
#define MATCH_VERIFY 48
#define APM_RATE 6
#define REC_MAX 65535               /* longest record length looked for */
#define REC_CONFIRM 24              /* votes before a record length is taken */
#define REC_ON 819                  /* record contexts on while the byte above is right
                                     * more often than this (Q12: 20%) */

struct pass2; /* mbz_cm_fast_pass2's hand-over */

/* The state is in groups of whole cache lines, by who writes it when the fast
 * configuration runs on two threads (mbz_cm_fast_pass2): what neither writes after
 * mbz_cm_create, the context part's, the match model's and the mixing part's; a
 * line one thread writes and the other reads costs a transfer between cores on
 * each access (reading hist here took a quarter of the mixing part's time). */
struct mbz_cm {
    unsigned features;              /* MBZ_CM_* */
    int fast;                       /* MBZ_CM_FAST: the fast configuration */
    uint8_t *hist;                  /* the history (below) */
    size_t cap;                     /* its size */
    uint32_t *ht;                   /* the hashed contexts' table (below) */
    uint32_t ht_mask;               /* buckets - 1 */
    uint32_t *mt;                   /* the match model's table (below) */
    unsigned mt_bits;
    /* history */
    _Alignas(64) size_t pos;        /* bytes seen (history is hist[0 .. pos-1] while pos <= cap) */
    uint32_t c4, c8;                /* the last 8 bytes */
    uint32_t word0, word1;          /* hashes of the current and the previous word */
    uint32_t c0;                    /* partial byte with a leading 1 */
    size_t line0, line1;            /* where the current and the previous line start */
    int bitpos;                     /* bits of the current byte known, 0..7 */
    uint32_t nib;                   /* partial nibble with a leading 1 */
    /* hashed contexts */
    uint32_t h[NCTX_ALL];           /* context hashes of the current byte */
    uint32_t *bk[NCTX_ALL];         /* their buckets for the current nibble */
    /* record model (MBZ_CM_RECORD) */
    uint32_t rec_last[256];         /* where each byte value was last seen (pos after it) */
    uint32_t rec_dist[256];         /* and the distance between its last two occurrences */
    uint32_t rec_cand, rec_votes;   /* the record length voted for, and its votes */
    uint32_t rlen;                  /* the record length in use, 0 none */
    uint32_t rec_above;             /* the byte one record above the next byte */
    int rec_rate;                   /* how often that byte was right lately, Q12 */
    int rec_on;                     /* the record contexts are on for this byte */
    /* the contexts of this byte: their indices, in the order their buckets are
     * looked up (the base contexts, revision 2's, the record model's while on) */
    int nact;
    uint8_t act[NCTX_ALL];
    /* revision 2 (MBZ_CM_REV2) */
    int rev2;
    int nmix;                       /* mixers in use: 3, or 5 in revision 2 */
    uint16_t ind1[256];             /* the two bytes that last followed each byte */
    uint16_t *ind2;                 /* [65536]: and each pair of bytes */
    uint32_t depth, opener;         /* brackets open, and the last opened */
    int lr_mix;                     /* the mixers' learning rate (LR_MIX, LR2_*) */
    uint16_t *apm4;                 /* by order 2 (hashed) and c0 */
    int apm4_i;
    /* revision 3 (MBZ_CM_REV3) */
    int rev3;
    uint16_t *apm_b2;               /* the base model's input by c0 and byte -1 */
    uint16_t *apm5;                 /* by order 3 (hashed) and c0 */
    int apm_b2_i, apm5_i;
    uint16_t *sm;                   /* counter maps: [context][count 0..15][p / 64], 12-bit */
    int sm_i[NCTX_ALL];             /* the entry read for the k-th active context, -1 none */
    /* match model */
    _Alignas(64) size_t mptr;
    uint32_t mlen;
    int mbit;                       /* expected bit, -1 none */
    uint32_t msm[64 * 2];           /* counters by (length bucket, expected bit) */
    int msm_i;
    /* base model */
    _Alignas(64) int have_base;     /* 0 none, 1 from cum, 2 from path */
    uint32_t cum[MBZ_SYMBOLS + 1];
    uint16_t path[8];               /* have_base == 2: the bits' inputs (mbz_cm_base_path) */
    int p_base;                     /* 12-bit */
    uint16_t *apm_base;             /* 256 contexts x 33 */
    int apm_base_i;
    /* mixers */
    int32_t x[NIN_PAD];             /* x[NIN ..] and, fast, x[NIN_FAST ..] stay 0 */
    int32_t *w[NMIX];
    int set[NMIX];
    int32_t s[NMIX];                /* mixer outputs, stretch domain */
    int pm[NMIX];                   /* and as probabilities */
    int32_t wf[8 * NMIX];
    int pf;                         /* final mixer output, 12-bit */
    /* adaptive probability maps */
    uint16_t *apm1, *apm2, *apm3;   /* apm3: record model only */
    int apm1_i, apm2_i, apm3_i;
    int pr;                         /* the stage's 12-bit prediction */
    size_t ht_size;                 /* bytes of ht (mbz_zeroed_alloc) */
    /* the per-bit functions for this CPU (variants, at the end of this file) */
    uint32_t (*p_fn)(struct mbz_cm *cm);
    void (*update_fn)(struct mbz_cm *cm, int bit);
    void (*produce_fn)(struct pass2 *j);           /* mbz_cm_fast_pass2's two parts */
    int (*consume_fn)(struct pass2 *j, size_t pos, uint32_t c4, uint32_t c8, mbz_cm_probs_fn sink, void *user);
};

static void cm_choose(mbz_cm *cm);

#define CM_INLINE static inline __attribute__((always_inline))

CM_INLINE void contexts_choose(mbz_cm *cm);

/* ------------------------------------------------------------------ tables */

static uint32_t cost_tab[4097];     /* -log2(p / 4096) in Q16, p = 1..4096 */
static pthread_once_t tabs_once = PTHREAD_ONCE_INIT;

/* The stage's tables, made once (mbz_cm_create); squash, stretch, the counters and
 * the maps are logistic.h's. */
static void tabs_init(void)
{
    mbz_logistic_init();
    for (int p = 1; p <= 4096; p++)
        cost_tab[p] = (12u << 16) - mbz_log2_q16((uint64_t)p);
}

/* The stage's probabilities are 12-bit values times 16, and log2 of x * 16 is exactly
 * log2 x + 4 in mbz_log2_q16 (same mantissa), so cost_tab answers for them; other
 * values take the loop. */
uint32_t mbz_cm_cost_q16(uint32_t p16)
{
    if ((p16 & 15) == 0 && p16 > 0 && p16 <= 65536)
        return cost_tab[p16 >> 4];
    return (16u << 16) - mbz_log2_q16(p16);
}

/* ------------------------------------------------------------------ hashing */

CM_INLINE uint32_t hash2(uint32_t a, uint32_t b)
{
    uint32_t h = a * 0x9E3779B1u ^ (b + 0x7F4A7C15u) * 0x85EBCA77u;
    h ^= h >> 15;
    h *= 0xC2B2AE3Du;
    h ^= h >> 13;
    return h;
}

/* Look up the buckets of the contexts act[0 .. n-1] with hashes h[]: all the cache
 * lines are asked for first, so that their misses overlap (the lookups themselves
 * must follow in order: one may replace a way another then finds). */
CM_INLINE uint32_t *bucket(mbz_cm *cm, uint32_t h);
CM_INLINE void buckets_find(mbz_cm *cm, const uint32_t *h, int n)
{
    for (int k = 0; k < n; k++) {
        const uint32_t *a = cm->ht + (size_t)(((h[k] >> 7) & cm->ht_mask) & ~1u) * 16;
        __builtin_prefetch(a);
        __builtin_prefetch(a + 16);
    }
    for (int k = 0; k < n; k++)
        cm->bk[cm->act[k]] = bucket(cm, h[k]);
}

CM_INLINE uint32_t *bucket(mbz_cm *cm, uint32_t h)
{
    uint32_t tag = h | 1u;
    uint32_t i = (h >> 7) & cm->ht_mask;
    uint32_t *a = cm->ht + (size_t)i * 16, *b = cm->ht + (size_t)(i ^ 1u) * 16;
    if (a[0] == tag)
        return a;
    if (b[0] == tag)
        return b;
    uint32_t *v = (b[1] & 1023) < (a[1] & 1023) ? b : a;
    memset(v, 0, 16 * sizeof *v);
    v[0] = tag;
    return v;
}

/* ------------------------------------------------------------------ create */

static unsigned ceil_log2(size_t n)
{
    unsigned b = 0;
    while (((size_t)1 << b) < n)
        b++;
    return b;
}

static unsigned clampu(unsigned v, unsigned lo, unsigned hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

void mbz_cm_free(mbz_cm *cm)
{
    if (!cm)
        return;
    free(cm->hist);
    mbz_zeroed_free(cm->ht, cm->ht_size);
    mbz_zeroed_free(cm->mt, ((size_t)1 << cm->mt_bits) * sizeof *cm->mt);
    free(cm->apm_base);
    free(cm->apm1);
    free(cm->apm2);
    free(cm->apm3);
    free(cm->apm4);
    free(cm->ind2);
    free(cm->apm_b2);
    free(cm->apm5);
    free(cm->sm);
    for (int m = 0; m < NMIX; m++)
        free(cm->w[m]);
    free(cm);
}

/* Weights of `sets` sets of nin inputs, `stride` apart: 1/5, the base model's
 * inputs (the full stage's IN_BASE, IN_BASE + 1) 1/2, the padding 0. */
static void set_weights(int32_t *w, int sets, int nin, int stride, int base)
{
    for (int s = 0; s < sets; s++)
        for (int i = 0; i < stride; i++)
            w[s * stride + i] = i >= nin ? 0 : base && i >= IN_BASE && i < IN_BIAS ? W_ONE / 2 : W_ONE / 5;
}

int mbz_cm_create(size_t window, unsigned features, mbz_cm **out)
{
    pthread_once(&tabs_once, tabs_init);
    *out = NULL;
    mbz_cm *cm = aligned_alloc(_Alignof(mbz_cm), sizeof *cm); /* its groups of lines */
    if (!cm)
        return MBZ_ERR_NOMEM;
    memset(cm, 0, sizeof *cm);
    cm->fast = (features & MBZ_CM_FAST) != 0;
    if (cm->fast) /* it has the record model, not revision 2 (cm.h) */
        features = MBZ_CM_FAST | MBZ_CM_RECORD;
    cm->rev2 = (features & MBZ_CM_REV2) != 0;
    cm->rev3 = cm->rev2 && (features & MBZ_CM_REV3) != 0; /* revision 3 extends 2 */
    if (!cm->rev3)
        features &= ~(unsigned)MBZ_CM_REV3;
    cm->features = features;
    cm->nmix = cm->fast ? NMIX_FAST : cm->rev2 ? 5 : 3;
    int nin = cm->fast ? NIN_FAST : NIN;   /* inputs per mixer weight set */
    int stride = cm->fast ? NIN_FAST_PAD : NIN_PAD;
    cm->lr_mix = cm->rev2 ? LR2_HI : LR_MIX;
    cm->cap = window ? window : 1;
    unsigned lw = ceil_log2(cm->cap);
    unsigned hb = clampu(lw, 16, 25) - 4;                  /* 2^hb buckets of 64 bytes */
    if (features & MBZ_CM_REV3) /* four times the buckets, at most 256 MiB of them
                                 * (doc/mixing.md, "Revision 3") */
        hb = hb + 2 < 22 ? hb + 2 : 22;
    cm->ht_mask = (1u << hb) - 1;
    cm->mt_bits = clampu(lw, 12, 24) - 2;
    cm->hist = malloc(cm->cap);
    cm->ht_size = ((size_t)1 << hb) * 16 * sizeof *cm->ht;
    cm->ht = mbz_zeroed_alloc(cm->ht_size);
    cm->mt = mbz_zeroed_alloc(((size_t)1 << cm->mt_bits) * sizeof *cm->mt);
    cm->apm_base = mbz_apm_new(256);
    cm->apm1 = mbz_apm_new(256);
    cm->apm2 = mbz_apm_new(65536);
    if (features & MBZ_CM_RECORD)
        cm->apm3 = mbz_apm_new(65536);
    if (cm->rev2) {
        cm->apm4 = mbz_apm_new(65536);
        cm->ind2 = calloc(65536, sizeof *cm->ind2);
    }
    if (cm->rev3) {
        cm->apm_b2 = mbz_apm_new(65536);
        cm->apm5 = mbz_apm_new(65536);
        cm->sm = malloc((size_t)NCTX_ALL * 16 * 64 * sizeof *cm->sm);
    }
    static const int sets[NMIX] = { SETS_M1, SETS_M2, SETS_M3, SETS_M4, SETS_M5 };
    for (int m = 0; m < cm->nmix; m++)
        cm->w[m] = malloc((size_t)sets[m] * stride * sizeof *cm->w[m]);
    int ok = cm->hist && cm->ht && cm->mt && cm->apm_base && cm->apm1 && cm->apm2 &&
             (cm->apm3 || !(features & MBZ_CM_RECORD)) && ((cm->apm4 && cm->ind2) || !cm->rev2) &&
             ((cm->apm_b2 && cm->apm5 && cm->sm) || !cm->rev3);
    for (int m = 0; m < cm->nmix; m++)
        ok = ok && cm->w[m];
    if (!ok) {
        mbz_cm_free(cm);
        return MBZ_ERR_NOMEM;
    }
    for (int m = 0; m < cm->nmix; m++)
        set_weights(cm->w[m], sets[m], nin, stride, !cm->fast);
    for (int i = 0; i < 8 * NMIX; i++)
        cm->wf[i] = i % NMIX < cm->nmix ? W_ONE / cm->nmix : 0;
    if (cm->rev3)
        for (int i = 0; i < NCTX_ALL * 16 * 64; i++) /* each counter map entry starts */
            cm->sm[i] = (uint16_t)((i % 64) * 64 + 32); /* at its interval's middle */
    cm->c0 = 1;
    cm->nib = 1;
    cm->mbit = -1;
    for (int i = 0; i < NCTX + NX; i++)
        cm->h[i] = hash2((uint32_t)i + 1, 0);
    contexts_choose(cm);
    cm_choose(cm);
    *out = cm;
    return MBZ_OK;
}

/* ------------------------------------------------------------------ per byte */

CM_INLINE int is_letter(unsigned c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 128;
}

/* The record model (MBZ_CM_RECORD), after byte c: finds the length of fixed-size
 * records (tables, arrays of structs, spreadsheets) from the distances between
 * repeats of each byte value, and makes the next byte's record contexts from the
 * bytes one and two records above it. A byte value that recurs at the same distance
 * twice in a row votes for that distance; a candidate that collects REC_CONFIRM
 * votes more than its rivals (a majority count) becomes the record length. Text
 * finds lengths too (noise), so the record contexts are on only while the byte one
 * record above has lately been right more than 20% of the time (REC_ON); off, the
 * stage computes exactly what it computes without the record model, and text pays
 * only for this bookkeeping. */
CM_INLINE void record_done(mbz_cm *cm, unsigned c)
{
    uint32_t pos = (uint32_t)cm->pos;
    uint32_t d = pos - cm->rec_last[c];
    cm->rec_last[c] = pos;
    if (d >= 2 && d <= REC_MAX && d == cm->rec_dist[c]) {
        if (d == cm->rec_cand) {
            if (cm->rec_votes < 64)
                cm->rec_votes++;
            if (cm->rec_votes >= REC_CONFIRM)
                cm->rlen = d;
        } else if (cm->rec_votes > 0) {
            cm->rec_votes--;
        } else {
            cm->rec_cand = d;
            cm->rec_votes = 1;
        }
    }
    cm->rec_dist[c] = d;

    int hit = cm->rlen && c == cm->rec_above;
    cm->rec_rate += ((hit << 12) - cm->rec_rate) >> 5;
    uint32_t r = cm->rlen, above = 0, above2 = 0, col = 0;
    if (r && cm->pos <= cm->cap) {
        col = (uint32_t)(cm->pos % r);
        if (cm->pos >= r)
            above = cm->hist[cm->pos - r];
        if (cm->pos >= 2 * (size_t)r)
            above2 = cm->hist[cm->pos - 2 * (size_t)r];
    }
    cm->rec_above = above;
    cm->rec_on = r && cm->rec_rate > REC_ON;
    uint32_t left = cm->c4 & 0xff;
    cm->h[CX_REC] = hash2(hash2(14, above | left << 8), r);
    cm->h[CX_REC + 1] = hash2(hash2(15, above | above2 << 8), r);
    cm->h[CX_REC + 2] = hash2(hash2(16, col | above << 16), r);
    cm->h[CX_REC + 3] = hash2(hash2(17, col), r);
}

/* Revision 2's contexts of the next byte, after byte c (c4 holds it): bytes -1 and
 * -3; the bracket depth with the last bracket opened and byte -1 (nesting in JSON,
 * XML, code); two indirect contexts: byte -1 with the two bytes that followed it the
 * last times it occurred, and bytes -1 and -2 with the two that followed them (what
 * came after this context last time predicts what comes now, even where the context
 * itself is too short to say); the high nibbles of bytes -1 to -3; bytes -1 and -5.
 * The skip and nibble contexts are for binaries (fields of 2, 4 or more bytes). */
CM_INLINE void rev2_done(mbz_cm *cm, unsigned c)
{
    uint32_t c4 = cm->c4, p1 = (c4 >> 8) & 0xff, p2 = (c4 >> 8) & 0xffff;
    cm->ind1[p1] = (uint16_t)(cm->ind1[p1] << 8 | c);
    cm->ind2[p2] = (uint16_t)(cm->ind2[p2] << 8 | c);
    if (c == '{' || c == '[' || c == '(' || c == '<') {
        cm->depth++;
        cm->opener = c;
    } else if ((c == '}' || c == ']' || c == ')' || c == '>') && cm->depth > 0) {
        cm->depth--;
    }
    cm->h[CX_X] = hash2(20, c4 & 0x00ff00ff);
    cm->h[CX_X + 1] = hash2(hash2(21, (cm->depth < 31 ? cm->depth : 31) | cm->opener << 8), c);
    cm->h[CX_X + 2] = hash2(hash2(22, c), cm->ind1[c]);
    cm->h[CX_X + 3] = hash2(hash2(23, c4 & 0xffff), cm->ind2[c4 & 0xffff]);
    cm->h[CX_X + 4] = hash2(24, c4 & 0xf0f0f0);
    cm->h[CX_X + 5] = hash2(25, (c4 & 0xff) | (cm->c8 & 0xff) << 8);
}

/* Revision 3's context of the next byte, after the match model has moved: with a
 * match, the byte it expects with its length (4 buckets) and byte -1 (what the
 * match's prediction is worth after this byte: binaries, where a match often breaks
 * on a changed field); without one, order 0 (no bytes at all). */
CM_INLINE void rev3_done(mbz_cm *cm)
{
    if (cm->mlen) {
        uint32_t lb = cm->mlen < 16 ? 1 : cm->mlen < 32 ? 2 : 3;
        cm->h[CX_X3] = hash2(30, cm->hist[cm->mptr] | lb << 8 | (cm->c4 & 0xff) << 16);
    } else {
        cm->h[CX_X3] = hash2(31, 0);
    }
}

/* The fast configuration's contexts: orders 1-4 and 6, the word, byte -2, bytes -3
 * and -4, the byte above with the column (doc/mixing.md, "Fast configuration", says
 * what each is worth). */
static const uint8_t fast_ctx[NFAST] = { 0, 1, 2, 3, 4, 5, 7, 9, 10 };

/* The contexts of the next byte, in lookup order, and their buckets for its high
 * nibble. */
CM_INLINE void contexts_choose(mbz_cm *cm)
{
    int n = 0;
    if (cm->fast)
        for (int k = 0; k < NFAST; k++)
            cm->act[n++] = fast_ctx[k];
    else
        for (int i = 0; i < NCTX; i++)
            cm->act[n++] = (uint8_t)i;
    if (cm->rev2)
        for (int i = CX_X; i < CX_X + NX; i++)
            cm->act[n++] = (uint8_t)i;
    if (cm->rev3)
        for (int i = CX_X3; i < CX_X3 + NX3; i++)
            cm->act[n++] = (uint8_t)i;
    if (cm->rec_on)
        for (int i = CX_REC; i < CX_REC + NREC; i++)
            cm->act[n++] = (uint8_t)i;
    cm->nact = n;
    uint32_t h[NCTX_ALL];
    for (int k = 0; k < n; k++)
        h[k] = cm->h[cm->act[k]];
    buckets_find(cm, h, n);
}

/* The hashes of the contexts made from the last bytes alone (c4: bytes -1 to -4,
 * c8: -5 to -8): h[0 .. 4] orders 1, 2, 3, 4, 6; h[7 .. 9] bytes -2, -3, -3 and -4.
 * byte_done's, and prefetch_next's for both values a byte's last bit can take. */
CM_INLINE void byte_hashes(uint32_t c4, uint32_t c8, uint32_t *h)
{
    h[0] = hash2(1, c4 & 0xff);
    h[1] = hash2(2, c4 & 0xffff);
    h[2] = hash2(3, c4 & 0xffffff);
    h[3] = hash2(4, c4);
    h[4] = hash2(hash2(6, c4), c8 & 0xffff);
    h[7] = hash2(9, c4 & 0xff00);
    h[8] = hash2(10, c4 & 0xff0000);
    h[9] = hash2(11, c4 & 0xffff0000);
}

/* The match model's table slot for the context of the last 6 bytes. */
CM_INLINE uint32_t match_slot(const mbz_cm *cm, uint32_t c4, uint32_t c8)
{
    return (c4 * 0x2C9277B5u + (c8 & 0xffff) * 0xAC564B05u) >> (32 - cm->mt_bits);
}

/* The match model after byte c, the pos-th of the history (c4, c8: the last 8
 * bytes, c the last; hist[0 .. pos-1] written): follow the match, or look for
 * one (only while the history fits its buffer). */
CM_INLINE void match_byte(mbz_cm *cm, unsigned c, size_t pos, uint32_t c4, uint32_t c8)
{
    if (cm->mlen) {
        if (cm->hist[cm->mptr] == c) {
            cm->mptr++;
            if (cm->mlen < 65535)
                cm->mlen++;
        } else {
            cm->mlen = 0;
        }
    }
    if (pos >= MATCH_MIN && pos <= cm->cap) {
        uint32_t hm = match_slot(cm, c4, c8);
        if (cm->mlen == 0) {
            size_t cand = cm->mt[hm];
            if (cand > 0) {
                uint32_t len = 0;
                while (len < MATCH_VERIFY && len < cand && cm->hist[cand - 1 - len] == cm->hist[pos - 1 - len])
                    len++;
                if (len >= MATCH_MIN) {
                    cm->mlen = len;
                    cm->mptr = cand;
                }
            }
        }
        cm->mt[hm] = (uint32_t)pos;
    }
    if (pos >= cm->cap)
        cm->mlen = 0;
}

/* The byte c is complete: history, word, match model (unless with_match is 0: the
 * fast configuration's context part on two threads, mbz_cm_fast_pass2, where the
 * other thread runs it), the next byte's contexts. */
CM_INLINE void byte_done(mbz_cm *cm, unsigned c, int with_match)
{
    if (cm->pos < cm->cap)
        cm->hist[cm->pos] = (uint8_t)c;
    cm->pos++;
    cm->c8 = (cm->c8 << 8) | (cm->c4 >> 24);
    cm->c4 = (cm->c4 << 8) | c;
    if (is_letter(c)) {
        unsigned l = c >= 'A' && c <= 'Z' ? c + 32 : c;
        cm->word0 = (cm->word0 + l + 1) * 0x2F0B4F27u;
    } else if (cm->word0) {
        cm->word1 = cm->word0;
        cm->word0 = 0;
    }

    if (with_match)
        match_byte(cm, c, cm->pos, cm->c4, cm->c8);

    if (cm->rev2 && (cm->pos & 1023) == 0) /* the mixers' rate, every KiB */
        cm->lr_mix = LR2_LO + (int)((uint64_t)(LR2_HI - LR2_LO) * LR2_HALF / (LR2_HALF + cm->pos));
    /* contexts of the next byte */
    uint32_t c4 = cm->c4;
    byte_hashes(c4, cm->c8, cm->h);
    cm->h[5] = hash2(hash2(7, cm->word0), c4 & 0xff);
    cm->h[6] = hash2(hash2(8, cm->word0), cm->word1);
    if (c == '\n') {
        cm->line1 = cm->line0;
        cm->line0 = cm->pos;
    }
    {
        size_t col = cm->pos - cm->line0;
        size_t ab = cm->line1 + col;
        unsigned above = ab < cm->line0 && ab < cm->cap ? cm->hist[ab] : 0;
        cm->h[10] = hash2(hash2(12, above), (uint32_t)(col < 255 ? col : 255));
        cm->h[11] = hash2(hash2(13, above), c4 & 0xff);
    }
    if (cm->rev2)
        rev2_done(cm, c);
    if (cm->rev3)
        rev3_done(cm);
    if (cm->features & MBZ_CM_RECORD)
        record_done(cm, c);
    contexts_choose(cm);
}

/* P(bit k = 1 | the k bits of partial byte c0 before it), 12 bits, from cumulative
 * counts: the one place that folds a table into a bit (both paths use it). */
CM_INLINE int fold_p(const uint32_t *cum, unsigned c0, unsigned k)
{
    unsigned lo = (c0 - (1u << k)) << (8 - k);
    unsigned hi = lo + (256u >> k), mid = lo + (128u >> k);
    uint32_t tot = cum[hi] - cum[lo], one = cum[hi] - cum[mid];
    int p = (int)(((uint64_t)one * 4096 + tot / 2) / tot);
    return p < 1 ? 1 : p > 4095 ? 4095 : p;
}

void mbz_cm_base_path(const uint16_t *freq, unsigned c, uint16_t path[8])
{
    uint32_t cum[MBZ_SYMBOLS + 1], s = 0;
    cum[0] = 0;
    for (int i = 0; i < MBZ_SYMBOLS; i++) {
        s += freq[i];
        cum[i + 1] = s;
    }
    for (unsigned k = 0; k < 8; k++)
        path[k] = (uint16_t)fold_p(cum, (c | 256u) >> (8 - k), k);
}

void mbz_cm_byte_path(mbz_cm *cm, const uint16_t path[8])
{
    cm->have_base = 2;
    memcpy(cm->path, path, sizeof cm->path);
}

void mbz_cm_byte(mbz_cm *cm, const uint16_t *freq)
{
    cm->have_base = freq != NULL;
    if (freq) {
        uint32_t s = 0;
        cm->cum[0] = 0;
        for (int i = 0; i < MBZ_SYMBOLS; i++) {
            s += freq[i];
            cm->cum[i + 1] = s;
        }
    }
}

/* ------------------------------------------------------------------ per bit */

CM_INLINE int32_t dot(const int32_t *x, const int32_t *w, int n)
{
    int64_t s = 0;
    for (int i = 0; i < n; i++)
        s += (int64_t)x[i] * w[i];
    s >>= 16;
    return (int32_t)(s > 2047 ? 2047 : s < -2047 ? -2047 : s);
}

/* In 32 bits, which vectorize twice as wide as 64: |x| <= 2047 and |err| <= 4095 x
 * LR2_HI (the largest rate), so x * err stays below 2^28 and w + (x * err >> 14)
 * below 2^23: the same values as in 64 bits. */
CM_INLINE void train(const int32_t *x, int32_t *w, int n, int err)
{
    for (int i = 0; i < n; i++) {
        int32_t v = w[i] + ((x[i] * err) >> 14);
        w[i] = v > W_MAX ? W_MAX : v < -W_MAX ? -W_MAX : v;
    }
}

/* The match model's two inputs for this bit (x[0], x[1]): the bit that followed
 * the match, through its counter by length, and as a vote growing with the length;
 * both 0 when there is no match or it has already failed in this byte. */
CM_INLINE void match_inputs(mbz_cm *cm, uint32_t c0, int bitpos, int32_t *x)
{
    cm->mbit = -1;
    x[0] = x[1] = 0;
    if (cm->mlen) {
        unsigned pb = (unsigned)cm->hist[cm->mptr] | 256u;
        if ((pb >> (8 - bitpos)) == c0) {
            int e = (int)(pb >> (7 - bitpos)) & 1;
            cm->mbit = e;
            unsigned lb = cm->mlen < 16 ? cm->mlen : 16 + (cm->mlen >> 4 < 15 ? cm->mlen >> 4 : 15);
            cm->msm_i = (int)(lb * 2 + (unsigned)e);
            x[0] = mbz_stretch(mbz_ctr_p12(cm->msm[cm->msm_i]));
            int v = (int)(cm->mlen < 32 ? cm->mlen : 32) * 32;
            x[1] = e ? v : -v;
        }
    }
}

/* The match model's counter learns the bit (when it gave inputs for it). */
CM_INLINE void match_update(mbz_cm *cm, int bit)
{
    if (cm->mbit >= 0)
        mbz_ctr_update(&cm->msm[cm->msm_i], bit, 1023, 0);
}

/* The match length in 8 buckets (0: no match for this bit), for mixer selection. */
CM_INLINE unsigned match_bucket(const mbz_cm *cm)
{
    if (cm->mbit < 0)
        return 0;
    return cm->mlen < 8 ? 1 : cm->mlen < 12 ? 2 : cm->mlen < 16 ? 3 :
           cm->mlen < 24 ? 4 : cm->mlen < 32 ? 5 : cm->mlen < 64 ? 6 : 7;
}

/* The nmix mixers over the nin inputs of x (weights chosen by set[]; nin is a
 * padded count, NIN_PAD or NIN_FAST_PAD) and the final mixer over their outputs
 * (weights by bit position): s[], pm[], pf. (nmix is cm->nmix, passed so that the
 * fast configuration's loops have constant bounds; x and bitpos are passed so that
 * they need not be the stage's: mbz_cm_fast_pass2.) */
CM_INLINE void mixers_p(mbz_cm *cm, const int32_t *x, int nin, int nmix, int bitpos)
{
    for (int m = 0; m < nmix; m++) {
        cm->s[m] = dot(x, cm->w[m] + (size_t)cm->set[m] * nin, nin);
        cm->pm[m] = mbz_squash(cm->s[m]);
    }
    cm->pf = mbz_squash(dot(cm->s, cm->wf + bitpos * NMIX, nmix));
}

/* Each mixer learns from its own error at rate lr, the final mixer at LR_FINAL. */
CM_INLINE void mixers_train(mbz_cm *cm, const int32_t *x, int nin, int nmix, int lr, int bitpos, int bit)
{
    for (int m = 0; m < nmix; m++) {
        int err = ((bit << 12) - cm->pm[m]) * lr;
        train(x, cm->w[m] + (size_t)cm->set[m] * nin, nin, err);
    }
    train(cm->s, cm->wf + bitpos * NMIX, nmix, ((bit << 12) - cm->pf) * LR_FINAL);
}

/* The third map's output (by c0 and the byte one record above: record contexts on). */
CM_INLINE int map3_p(mbz_cm *cm, uint32_t c0, uint32_t rec_above)
{
    return mbz_apm_p(cm->apm3, c0 | rec_above << 8, cm->pf, &cm->apm3_i);
}

/* Revision 1's blend of p_f and the maps (a1, a2, and the third with records on). */
CM_INLINE int maps_rev1(mbz_cm *cm, int a1, int a2, int rec_on, uint32_t c0, uint32_t rec_above)
{
    if (!rec_on)
        return (2 * cm->pf + a1 + a2 + 2) >> 2;
    return (cm->pf + a1 + a2 + map3_p(cm, c0, rec_above) + 2) >> 2;
}

/* The first three maps learn the bit (the third while the record contexts are on). */
CM_INLINE void maps_update(mbz_cm *cm, int bit, int rec_on)
{
    mbz_apm_update(cm->apm1, cm->apm1_i, bit, APM_RATE);
    mbz_apm_update(cm->apm2, cm->apm2_i, bit, APM_RATE);
    if (rec_on)
        mbz_apm_update(cm->apm3, cm->apm3_i, bit, APM_RATE);
}

/* The stage's prediction p (12-bit, clamped to 1 .. 4095), kept and returned as the
 * coder's 16-bit probability. */
CM_INLINE uint32_t p_out(mbz_cm *cm, int p)
{
    p = p < 1 ? 1 : p > 4095 ? 4095 : p;
    cm->pr = p;
    return (uint32_t)p << 4;
}

/* The fast configuration (MBZ_CM_FAST, level 1): the NFAST contexts of fast_ctx
 * and the record model's while on, the match model and a bias; three mixers, chosen
 * by c0, by match length and bit position and by the previous byte, the final
 * mixer, the maps of the full stage's revision 1. No base model: the order-1 and
 * order-2 contexts learn what order-2's table would say.
 *
 * Its work per bit is in two parts that share nothing but the inputs x[] and a
 * few small numbers (fast_mix): the contexts (fast_inputs, fast_ctx_update and
 * the stage's move to the next bit), which learn from the bits alone, and the
 * mixers and maps (fast_mix_p, fast_mix_update). One thread runs both (mbz_cm_p,
 * mbz_cm_update), or two threads one part each (mbz_cm_fast_pass2). */
typedef struct {
    uint32_t c0;                    /* partial byte with a leading 1 */
    int bitpos;
    uint32_t c1;                    /* byte -1 */
    unsigned mb;                    /* the match length bucket (match_bucket) */
    int rec_on;                     /* the record contexts are on for this byte */
    uint32_t rec_above;             /* and the byte one record above it */
} fast_mix;

/* The row of the second map this bit reads, asked for early (two cache lines). */
CM_INLINE void fast_mix_prefetch(const mbz_cm *cm, uint32_t c0, uint32_t c1)
{
    size_t a2ctx = c0 | c1 << 8;
    __builtin_prefetch(cm->apm2 + a2ctx * 33);
    __builtin_prefetch(cm->apm2 + a2ctx * 33 + 32);
}

/* The context part: the inputs x[0 .. NIN_FAST-1] of this bit (those of the match
 * model, x[2 (NFAST + NREC)] and the next, only with_match). */
CM_INLINE void fast_inputs(mbz_cm *cm, int32_t *x, int with_match)
{
    uint32_t node = cm->nib;
    int k = 0;
    for (; k < cm->nact; k++) {
        uint32_t c = cm->bk[cm->act[k]][node];
        if (c & 1023) {
            int p = mbz_ctr_p12(c);
            x[2 * k] = mbz_stretch(p);
            x[2 * k + 1] = (p - 2048) >> 1;
        } else {
            x[2 * k] = x[2 * k + 1] = 0;
        }
    }
    for (; k < NFAST + NREC; k++) /* the record contexts, while off */
        x[2 * k] = x[2 * k + 1] = 0;
    if (with_match)
        match_inputs(cm, cm->c0, cm->bitpos, x + 2 * (NFAST + NREC));
    x[NIN_FAST - 1] = 256;
}

/* The context part learns the bit. */
CM_INLINE void fast_ctx_update(mbz_cm *cm, int bit, int with_match)
{
    uint32_t node = cm->nib;
    for (int k = 0; k < cm->nact; k++)
        mbz_ctr_update(&cm->bk[cm->act[k]][node], bit, CTR_FAST_LIMIT, 1);
    if (with_match)
        match_update(cm, bit);
}

/* What the mixing part needs of the stage's state for this bit (after fast_inputs). */
CM_INLINE fast_mix fast_mix_of(const mbz_cm *cm)
{
    return (fast_mix){ cm->c0, cm->bitpos, cm->c4 & 0xff, match_bucket(cm), cm->rec_on, cm->rec_above };
}

/* The mixing part: the stage's prediction from inputs x. */
CM_INLINE uint32_t fast_mix_p(mbz_cm *cm, const int32_t *x, const fast_mix *f)
{
    cm->set[0] = (int)f->c0;
    cm->set[1] = (int)(f->mb * 8 + (unsigned)f->bitpos);
    cm->set[2] = (int)f->c1;
    mixers_p(cm, x, NIN_FAST_PAD, NMIX_FAST, f->bitpos);
    int a1 = mbz_apm_p(cm->apm1, f->c0, cm->pf, &cm->apm1_i);
    int a2 = mbz_apm_p(cm->apm2, f->c0 | f->c1 << 8, cm->pf, &cm->apm2_i);
    return p_out(cm, maps_rev1(cm, a1, a2, f->rec_on, f->c0, f->rec_above));
}

/* The mixing part learns the bit. */
CM_INLINE void fast_mix_update(mbz_cm *cm, const int32_t *x, const fast_mix *f, int bit)
{
    mixers_train(cm, x, NIN_FAST_PAD, NMIX_FAST, LR_FAST, f->bitpos, bit);
    maps_update(cm, bit, f->rec_on);
}

CM_INLINE uint32_t fast_p_body(mbz_cm *cm)
{
    fast_mix_prefetch(cm, cm->c0, cm->c4 & 0xff);
    fast_inputs(cm, cm->x, 1);
    fast_mix f = fast_mix_of(cm);
    return fast_mix_p(cm, cm->x, &f);
}

CM_INLINE void fast_update_body(mbz_cm *cm, int bit)
{
    fast_mix f = fast_mix_of(cm);
    fast_ctx_update(cm, bit, 1);
    fast_mix_update(cm, cm->x, &f, bit);
}

/* The per-bit work, written once and compiled once per kernel set (variants, at
 * the end of this file): it and every helper it calls are always inlined, so that
 * the variant's target and optimization apply to all of it (GCC does not inline
 * a function compiled with other optimization options otherwise). */
CM_INLINE uint32_t cm_p_body(mbz_cm *cm)
{
    if (cm->fast)
        return fast_p_body(cm);
    int32_t *x = cm->x;
    uint32_t node = cm->nib;
    int known = 0;
    /* the rows of the large maps this bit will read, asked for early (a row is 66
     * bytes: two cache lines) */
    uint32_t a2ctx = cm->c0 | (cm->c4 & 0xff) << 8, a4ctx = 0;
    __builtin_prefetch(cm->apm2 + (size_t)a2ctx * 33);
    __builtin_prefetch(cm->apm2 + (size_t)a2ctx * 33 + 32);
    if (cm->rev2) {
        a4ctx = (cm->c0 ^ ((cm->c4 & 0xffff) * 0x9E3779B1u >> 16)) & 0xffff;
        __builtin_prefetch(cm->apm4 + (size_t)a4ctx * 33);
        __builtin_prefetch(cm->apm4 + (size_t)a4ctx * 33 + 32);
    }
    uint32_t a5ctx = 0;
    if (cm->rev3) { /* and revision 3's two (a third of cm_p's time went to their misses) */
        a5ctx = (cm->c0 ^ ((cm->c4 & 0xffffff) * 0x2C9277B5u >> 16)) & 0xffff;
        __builtin_prefetch(cm->apm5 + (size_t)a5ctx * 33);
        __builtin_prefetch(cm->apm5 + (size_t)a5ctx * 33 + 32);
        __builtin_prefetch(cm->apm_b2 + (size_t)a2ctx * 33);
        __builtin_prefetch(cm->apm_b2 + (size_t)a2ctx * 33 + 32);
    }
    for (int k = 0; k < cm->nact; k++) {
        int i = cm->act[k], j = 2 * i;
        uint32_t c = cm->bk[i][node];
        if (c & 1023) {
            int p = mbz_ctr_p12(c);
            x[j] = mbz_stretch(p);
            if (cm->rev3) { /* what this count and p have meant lately, learnt */
                unsigned n = c & 1023;
                int si = (i * 16 + (int)(n < 15 ? n : 15)) * 64 + (p >> 6);
                cm->sm_i[k] = si;
                x[j + 1] = mbz_stretch(cm->sm[si]);
            } else {
                x[j + 1] = (p - 2048) >> 1;
            }
            known += i < 5;
        } else {
            cm->sm_i[k] = -1;
            x[j] = x[j + 1] = 0;
        }
    }
    if (!cm->rec_on) /* record contexts off (or not in this stage) */
        for (int j = 2 * CX_REC; j < 2 * NCTX_ALL; j++)
            x[j] = 0;

    match_inputs(cm, cm->c0, cm->bitpos, x + IN_MATCH);

    /* base model: P(bit = 1 | bits so far) from its table */
    x[IN_BASE] = x[IN_BASE + 1] = 0;
    if (cm->have_base) {
        int p = cm->have_base == 2 ? cm->path[cm->bitpos] : fold_p(cm->cum, cm->c0, (unsigned)cm->bitpos);
        cm->p_base = p;
        x[IN_BASE] = mbz_stretch(p);
        x[IN_BASE + 1] = mbz_stretch(mbz_apm_p(cm->apm_base, cm->c0, p, &cm->apm_base_i));
        if (cm->rev3)
            x[IN_R3] = mbz_stretch(mbz_apm_p(cm->apm_b2, a2ctx, p, &cm->apm_b2_i));
    }
    x[IN_BIAS] = 256;

    /* mixers */
    cm->set[0] = (int)cm->c0;
    cm->set[1] = (int)(match_bucket(cm) * 8 + (unsigned)cm->bitpos);
    cm->set[2] = (int)(cm->c4 & 0xff);
    cm->set[3] = known * 256 + (int)cm->c0;
    cm->set[4] = (int)((cm->c4 >> 8) & 0xff) * 8 + cm->bitpos;
    mixers_p(cm, cm->x, NIN_PAD, cm->nmix, cm->bitpos);

    /* adaptive probability maps; the third (by the byte one record above) while the
     * record contexts are on */
    int a1 = mbz_apm_p(cm->apm1, cm->c0, cm->pf, &cm->apm1_i);
    int a2 = mbz_apm_p(cm->apm2, a2ctx, cm->pf, &cm->apm2_i);
    if (!cm->rev2)
        return p_out(cm, maps_rev1(cm, a1, a2, cm->rec_on, cm->c0, cm->rec_above));
    int a4 = mbz_apm_p(cm->apm4, a4ctx, cm->pf, &cm->apm4_i);
    if (cm->rev3) {
        int a5 = mbz_apm_p(cm->apm5, a5ctx, cm->pf, &cm->apm5_i);
        if (!cm->rec_on)
            return p_out(cm, (a1 + a2 + 2 * a4 + 2 * a5 + 3) / 6);
        return p_out(cm, (cm->pf + a1 + a2 + map3_p(cm, cm->c0, cm->rec_above) + 2 * a4 + 2 * a5 + 4) / 8);
    }
    if (!cm->rec_on)
        return p_out(cm, (a1 + a2 + 2 * a4 + 2) >> 2);
    return p_out(cm, (cm->pf + a1 + a2 + map3_p(cm, cm->c0, cm->rec_above) + 2 * a4 + 3) / 6);
}

/* The full stage learns the bit (cm_p_body's inputs, mixers and maps). */
CM_INLINE void full_update_body(mbz_cm *cm, int bit)
{
    uint32_t node = cm->nib;
    if (cm->rev2) {
        uint32_t limit = cm->rev3 ? CTR3_LIMIT : CTR2_LIMIT;
        for (int k = 0; k < cm->nact; k++)
            mbz_ctr_update(&cm->bk[cm->act[k]][node], bit, limit, 1);
    } else
        for (int k = 0; k < cm->nact; k++)
            mbz_ctr_update(&cm->bk[cm->act[k]][node], bit, CTR_LIMIT, 0);
    match_update(cm, bit);
    if (cm->have_base)
        mbz_apm_update(cm->apm_base, cm->apm_base_i, bit, APM_RATE);
    mixers_train(cm, cm->x, NIN_PAD, cm->nmix, cm->lr_mix, cm->bitpos, bit);
    maps_update(cm, bit, cm->rec_on);
    if (cm->rev2)
        mbz_apm_update(cm->apm4, cm->apm4_i, bit, APM_RATE);
    if (cm->rev3) {
        mbz_apm_update(cm->apm5, cm->apm5_i, bit, APM_RATE);
        if (cm->have_base)
            mbz_apm_update(cm->apm_b2, cm->apm_b2_i, bit, APM_RATE);
        for (int k = 0; k < cm->nact; k++)
            if (cm->sm_i[k] >= 0) {
                int v = cm->sm[cm->sm_i[k]];
                cm->sm[cm->sm_i[k]] = (uint16_t)(v + (((bit << 12) - v) >> SM_RATE));
            }
    }
}

/* Ask for a bucket's two ways (buckets_find's first loop, for one hash). */
CM_INLINE void bucket_prefetch(const mbz_cm *cm, uint32_t h)
{
    const uint32_t *a = cm->ht + (size_t)(((h >> 7) & cm->ht_mask) & ~1u) * 16;
    __builtin_prefetch(a);
    __builtin_prefetch(a + 16);
}

/* One bit before a lookup, ask for the buckets of both values the bit can take, so
 * that the misses overlap the last bit's work: with three bits of the nibble known,
 * the low nibble's buckets of every context; with seven bits of the byte known,
 * the next byte's high-nibble buckets of the active contexts made from the last
 * bytes alone (byte_hashes), and its slot of the match model's table (whose
 * misses were a twelfth of level 1's time). Prefetches only: no result depends on
 * them. */
CM_INLINE void prefetch_next(const mbz_cm *cm, int with_match)
{
    if (cm->bitpos == 3) {
        for (int k = 0; k < cm->nact; k++) {
            uint32_t h = cm->h[cm->act[k]];
            bucket_prefetch(cm, hash2(h, cm->c0 << 1));
            bucket_prefetch(cm, hash2(h, cm->c0 << 1 | 1));
        }
    } else if (cm->bitpos == 7) {
        uint32_t c8 = (cm->c8 << 8) | (cm->c4 >> 24), h[10];
        for (uint32_t b = 0; b < 2; b++) {
            uint32_t c4 = (cm->c4 << 8) | ((cm->c0 << 1 | b) & 0xff);
            if (with_match)
                __builtin_prefetch(cm->mt + match_slot(cm, c4, c8));
            byte_hashes(c4, c8, h);
            for (int k = 0; k < cm->nact; k++) {
                int i = cm->act[k];
                if (i <= 4 || (i >= 7 && i <= 9))
                    bucket_prefetch(cm, h[i]);
            }
        }
    }
}

/* The stage moves on to the next bit: the contexts' buckets for the low nibble
 * after four bits, the next byte's contexts after eight (with the match model
 * unless with_match is 0: byte_done). */
CM_INLINE void cm_advance(mbz_cm *cm, int bit, int with_match)
{
    cm->c0 = (cm->c0 << 1) | (unsigned)bit;
    cm->nib = (cm->nib << 1) | (unsigned)bit;
    cm->bitpos++;
    prefetch_next(cm, with_match);
    if (cm->bitpos == 4) {
        cm->nib = 1;
        uint32_t h[NCTX_ALL];
        for (int k = 0; k < cm->nact; k++)
            h[k] = hash2(cm->h[cm->act[k]], cm->c0);
        buckets_find(cm, h, cm->nact);
    } else if (cm->bitpos == 8) {
        unsigned c = cm->c0 & 255;
        cm->c0 = 1;
        cm->nib = 1;
        cm->bitpos = 0;
        byte_done(cm, c, with_match);
    }
}

CM_INLINE void cm_update_body(mbz_cm *cm, int bit)
{
    if (cm->fast)
        fast_update_body(cm, bit);
    else
        full_update_body(cm, bit);
    cm_advance(cm, bit, 1);
}

/* ------------------------------------------------------------------ two threads */

/* mbz_cm_fast_pass2: the context part runs PASS2_RING bytes ahead at most, and
 * each side tells the other where it is every PASS2_CHUNK bytes (a thousand times
 * per 256 KiB block; every 64 bytes, the system calls of the hand-over were a
 * tenth of the time). The match model runs with the mixing part: its state is its
 * own, it reads only the history (bytes before the one it codes, which the context
 * part has written), and the context part is the slower one with it (perf: 68% of
 * the time against 23%; without it 52% against 41%). */
#define PASS2_RING 1024
#define PASS2_CHUNK 256

/* What the context part hands the mixing part for one byte: each bit's inputs
 * from the hashed contexts (|x| <= 2047: int16) and the byte's record state. */
#define PASS2_NX (2 * (NFAST + NREC))
typedef struct {
    int16_t x[8][PASS2_NX];
    uint8_t rec_on, rec_above;
} pass2_byte;

struct pass2 {
    mbz_cm *cm;
    const uint8_t *in;
    size_t n;
    pass2_byte *ring;               /* PASS2_RING entries, byte i in ring[i % PASS2_RING] */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t produced;                /* inputs ready for in[0 .. produced-1] */
    size_t consumed;                /* the mixing part is done with in[0 .. consumed-1] */
    int stop;                       /* the mixing part stopped early */
};

/* The context part, on the helper: for each bit of each byte the inputs, then the
 * contexts learn the bit and the stage moves on, as mbz_cm_p and mbz_cm_update
 * would, without the match model (the mixing part and the match model touch
 * nothing this part reads or writes, but the history, which they only read behind
 * it). */
CM_INLINE void pass2_produce_body(struct pass2 *j)
{
    mbz_cm *cm = j->cm;
    int32_t x[NIN_FAST_PAD];
    for (size_t i = 0; i < j->n; i++) {
        if (i % PASS2_CHUNK == 0) { /* publish, then wait for room for this chunk */
            pthread_mutex_lock(&j->mu);
            j->produced = i;
            pthread_cond_broadcast(&j->cv);
            while (!j->stop && i + PASS2_CHUNK > j->consumed + PASS2_RING)
                pthread_cond_wait(&j->cv, &j->mu);
            int stop = j->stop;
            pthread_mutex_unlock(&j->mu);
            if (stop)
                return;
        }
        pass2_byte *e = &j->ring[i % PASS2_RING];
        unsigned c = j->in[i];
        e->rec_on = (uint8_t)cm->rec_on;
        e->rec_above = (uint8_t)cm->rec_above;
        for (int b = 0; b < 8; b++) {
            int bit = (int)(c >> (7 - b)) & 1;
            fast_inputs(cm, x, 0);
            for (int k = 0; k < PASS2_NX; k++)
                e->x[b][k] = (int16_t)x[k];
            fast_ctx_update(cm, bit, 0);
            cm_advance(cm, bit, 0);
        }
    }
    pthread_mutex_lock(&j->mu);
    j->produced = j->n;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

/* The mixing part and the match model, on the calling thread: each byte's 8
 * predictions from the inputs of the context part, to the sink. pos, c4, c8: the
 * stage's bytes seen and last 8 bytes before in[0]. */
CM_INLINE int pass2_consume_body(struct pass2 *j, size_t pos, uint32_t c4, uint32_t c8, mbz_cm_probs_fn sink,
                                 void *user)
{
    mbz_cm *cm = j->cm;
    int32_t x[NIN_FAST_PAD];
    for (int k = NIN_FAST; k < NIN_FAST_PAD; k++)
        x[k] = 0;
    x[NIN_FAST - 1] = 256; /* the bias */
    int rc = 0;
    for (size_t i = 0; i < j->n && rc == 0; i++) {
        if (i % PASS2_CHUNK == 0) { /* hand back the chunk before, wait for this one */
            pthread_mutex_lock(&j->mu);
            j->consumed = i;
            pthread_cond_broadcast(&j->cv);
            while (j->produced <= i)
                pthread_cond_wait(&j->cv, &j->mu);
            pthread_mutex_unlock(&j->mu);
        }
        const pass2_byte *e = &j->ring[i % PASS2_RING];
        unsigned c = j->in[i];
        uint32_t p[8];
        fast_mix f = { 1, 0, c4 & 0xff, 0, e->rec_on, e->rec_above };
        for (int b = 0; b < 8; b++) {
            int bit = (int)(c >> (7 - b)) & 1;
            fast_mix_prefetch(cm, f.c0, f.c1);
            for (int k = 0; k < PASS2_NX; k++)
                x[k] = e->x[b][k];
            match_inputs(cm, f.c0, b, x + PASS2_NX);
            f.bitpos = b;
            f.mb = match_bucket(cm);
            p[b] = fast_mix_p(cm, x, &f);
            match_update(cm, bit);
            fast_mix_update(cm, x, &f, bit);
            f.c0 = f.c0 << 1 | (unsigned)bit;
            if (b == 6) /* the next byte's slot of the match table, for both values of
                         * the last bit (prefetch_next) */
                for (uint32_t v = 0; v < 2; v++)
                    __builtin_prefetch(cm->mt + match_slot(cm, c4 << 8 | ((f.c0 << 1 | v) & 0xff),
                                                           c8 << 8 | c4 >> 24));
        }
        c8 = c8 << 8 | c4 >> 24;
        c4 = c4 << 8 | c;
        match_byte(cm, c, ++pos, c4, c8);
        rc = sink(user, i, p);
    }
    return rc;
}

/* ------------------------------------------------------------------ variants */

/* One copy of the per-bit functions per kernel set of kernels.h, chosen when a stage
 * is created from mbz_kernel_name() (so MBZIP_KERNEL forces one, as for the MEGABYTE
 * kernels, and tests/infer_kernels.sh runs test_cm's golden hashes under each).
 * The same C, compiled for another target and at -O3 (the library's -O2 leaves
 * these loops scalar): integer arithmetic only, whose sums do not depend on their
 * order, so every variant gives the same bits. */
#define MBZ_CM_VARIANT(suffix, attrs)                                                     \
    attrs static uint32_t cm_p_##suffix(mbz_cm *cm) { return cm_p_body(cm); }             \
    attrs static void cm_update_##suffix(mbz_cm *cm, int bit) { cm_update_body(cm, bit); } \
    attrs static void pass2_produce_##suffix(struct pass2 *j) { pass2_produce_body(j); }  \
    attrs static int pass2_consume_##suffix(struct pass2 *j, size_t pos, uint32_t c4, uint32_t c8,       \
                                            mbz_cm_probs_fn sink, void *user)                     \
    {                                                                                     \
        return pass2_consume_body(j, pos, c4, c8, sink, user);                            \
    }

MBZ_CM_VARIANT(scalar, )
#if defined(MBZ_X86_64) && defined(__GNUC__) && !defined(__clang__)
#define MBZ_CM_SIMD 1
MBZ_CM_VARIANT(avx2, __attribute__((target("avx2,fma,bmi,bmi2,popcnt"), optimize("O3"))))
MBZ_CM_VARIANT(avx512, __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,bmi,bmi2,popcnt"),
                                      optimize("O3"))))
#elif defined(MBZ_X86_64) && defined(__clang__)
#define MBZ_CM_SIMD 1 /* clang has no optimize attribute and vectorizes at -O2 */
MBZ_CM_VARIANT(avx2, __attribute__((target("avx2,fma,bmi,bmi2,popcnt"))))
MBZ_CM_VARIANT(avx512, __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,bmi,bmi2,popcnt"))))
#endif

static void cm_choose(mbz_cm *cm)
{
    cm->p_fn = cm_p_scalar;
    cm->update_fn = cm_update_scalar;
    cm->produce_fn = pass2_produce_scalar;
    cm->consume_fn = pass2_consume_scalar;
#ifdef MBZ_CM_SIMD
    /* the kernel set the MEGABYTE engine runs (kernels.c), which the CPU has */
    const char *k = mbz_kernel_name();
    if (!strncmp(k, "avx512", 6)) {
        cm->p_fn = cm_p_avx512;
        cm->update_fn = cm_update_avx512;
        cm->produce_fn = pass2_produce_avx512;
        cm->consume_fn = pass2_consume_avx512;
    } else if (!strcmp(k, "avx2")) {
        cm->p_fn = cm_p_avx2;
        cm->update_fn = cm_update_avx2;
        cm->produce_fn = pass2_produce_avx2;
        cm->consume_fn = pass2_consume_avx2;
    }
#endif
}

uint32_t mbz_cm_p(mbz_cm *cm)
{
    return cm->p_fn(cm);
}

void mbz_cm_update(mbz_cm *cm, int bit)
{
    cm->update_fn(cm, bit);
}

static void *pass2_main(void *arg)
{
    struct pass2 *j = arg;
    j->cm->produce_fn(j);
    return NULL;
}

int mbz_cm_fast_pass2(mbz_cm *cm, const uint8_t *in, size_t n, mbz_cm_probs_fn sink, void *user)
{
    cm->have_base = 0; /* as mbz_cm_byte(cm, NULL) for each byte */
    struct pass2 j = { .cm = cm, .in = in, .n = n };
    pthread_t tid;
    int threads = cm->fast && cm->bitpos == 0 && (j.ring = malloc(PASS2_RING * sizeof *j.ring)) != NULL;
    if (threads && pthread_mutex_init(&j.mu, NULL) != 0)
        threads = 0;
    else if (threads && pthread_cond_init(&j.cv, NULL) != 0) {
        pthread_mutex_destroy(&j.mu);
        threads = 0;
    }
    size_t pos = cm->pos; /* before the helper moves the stage on */
    uint32_t c4 = cm->c4, c8 = cm->c8;
    if (threads && pthread_create(&tid, NULL, pass2_main, &j) != 0) {
        pthread_cond_destroy(&j.cv);
        pthread_mutex_destroy(&j.mu);
        threads = 0;
    }
    if (!threads) { /* the same on this thread alone */
        free(j.ring);
        for (size_t i = 0; i < n; i++) {
            uint32_t p[8];
            for (int b = 0; b < 8; b++) {
                p[b] = mbz_cm_p(cm);
                mbz_cm_update(cm, (int)(in[i] >> (7 - b)) & 1);
            }
            int rc = sink(user, i, p);
            if (rc != 0)
                return rc;
        }
        return 0;
    }
    int rc = cm->consume_fn(&j, pos, c4, c8, sink, user);
    pthread_mutex_lock(&j.mu);
    j.stop = 1;
    pthread_cond_broadcast(&j.cv);
    pthread_mutex_unlock(&j.mu);
    pthread_join(tid, NULL);
    pthread_cond_destroy(&j.cv);
    pthread_mutex_destroy(&j.mu);
    free(j.ring);
    return rc;
}
