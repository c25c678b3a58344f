/*
 * qmath.h - integer arithmetic of the MEGABYTE engine (doc/model-format.md §2).
 * No floating point anywhere: every function here is exact and portable.
 * Right shifts of negative int64 values are arithmetic (GCC/Clang semantics, which
 * the build requires).
 */
#ifndef MBZ_QMATH_H
#define MBZ_QMATH_H

#include <stddef.h>
#include <stdint.h>

/* EXP2[f] = round(65536 * 2^(-f/256)), f = 0..255 (EXP2[0] = 65536). */
extern const uint32_t mbz_exp2_tab[256];

/* round_shift(v, s) = floor((v + 2^(s-1)) / 2^s), 1 <= s <= 62, computed without
 * the intermediate overflow of the addition: floor(v / 2^s) + bit (s-1) of v. */
static inline int64_t mbz_round_shift(int64_t v, int s)
{
    return (v >> s) + ((v >> (s - 1)) & 1);
}

/* floor(a / b) for b > 0. */
static inline int64_t mbz_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b, r = a % b;
    return (r != 0 && r < 0) ? q - 1 : q;
}

/* div_round(n, d) = floor((2n + d) / (2d)), 0 < d < 2^61, |n| < 2^61 (round half up). */
static inline int64_t mbz_div_round(int64_t n, int64_t d)
{
    return mbz_floor_div(2 * n + d, 2 * d);
}

/* div_round(n, d) for many n and one d, without a division per n: the divisor's
 * den = 2d and inv = floor((2^64 - 1) / den), made once (mbz_divisor_init). For
 * num = 2n + d in [-8192 den, 8192 den) (a quotient within +-8192: attention outputs,
 * whose numerators are averages of values within +-8191, and mbz_rmsnorm's outputs
 * before their clamp to +-8191) and den < 2^48,
 * m = num + 8192 den is in [0, 2^14 den) < 2^62 and q0 = floor(m * inv / 2^64) is
 * floor(m / den) or one less (inv >= 2^64/den - 1 and m < 2^64), which the remainder
 * check corrects. Other n take the division. Identical to mbz_div_round always
 * (tests/test_kernels.c). */
typedef struct {
    int64_t d, den, off;    /* off = 8192 den */
    uint64_t inv, lim;      /* lim = 2^14 den: m < lim is the fast range (0: none) */
} mbz_divisor;

static inline void mbz_divisor_init(mbz_divisor *v, int64_t d)
{
    v->d = d;
    v->den = 2 * d;
    v->inv = UINT64_MAX / (uint64_t)v->den;
    v->off = v->den < ((int64_t)1 << 48) ? 8192 * v->den : 0;
    v->lim = 2 * (uint64_t)v->off;
}

static inline int64_t mbz_div_round_by(const mbz_divisor *v, int64_t n)
{
    /* unsigned: wraps instead of overflowing; a num below -off wraps above lim */
    uint64_t m = 2 * (uint64_t)n + (uint64_t)v->d + (uint64_t)v->off;
    if (m < v->lim) {
        uint64_t q = (uint64_t)(((unsigned __int128)m * v->inv) >> 64);
        if (m - q * (uint64_t)v->den >= (uint64_t)v->den)
            q++;
        return (int64_t)q - 8192;
    }
    return mbz_div_round(n, v->d);
}

static inline int64_t mbz_clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* 2^(-t/256) in Q16, t >= 0: 0 for t >= 17*256, else EXP2[t & 255] >> (t >> 8). */
static inline uint32_t mbz_exp2neg(int64_t t)
{
    return t >= 17 * 256 ? 0 : mbz_exp2_tab[t & 255] >> (t >> 8);
}

/* Saturating residual add: clamp(a + b, -2^24, 2^24); |a|, |b| <= 2^30. */
static inline int32_t mbz_res_add(int32_t a, int32_t b)
{
    return (int32_t)mbz_clamp64((int64_t)a + b, -(1 << 24), 1 << 24);
}

/* floor of the exact square root of n. */
uint64_t mbz_isqrt64(uint64_t n);

/* RMSNorm: ss = sum x^2, rms = max(1, isqrt(ss / D)), y = clamp(div_round(1024 x, rms), +-8191).
 * |x| <= 2^24, D <= 4096. */
void mbz_rmsnorm(const int32_t *x, size_t D, int16_t *y);

/* Requantize n accumulators: clamp(round_shift((acc + b) * m, s), lo, hi), then
 * max(0, .) if relu. To int16 (lo, hi within int16) or int32. */
void mbz_requant16(const int32_t *acc, const int32_t *b, const int32_t *m, const int32_t *s,
                   size_t n, int32_t lo, int32_t hi, int relu, int16_t *y);
void mbz_requant32(const int32_t *acc, const int32_t *b, const int32_t *m, const int32_t *s,
                   size_t n, int32_t lo, int32_t hi, int32_t *y);

/* Int8 activations (model option MBZM_OPT_INT8_ACT, doc/model-format.md): the shift of
 * one group of inputs whose largest magnitude is a (0 <= a <= 16255): the least e in
 * 0..7 with round(a / 2^e) <= 127, rounding halves up, i.e. (a + h) >> e <= 127 with
 * h = 2^e / 2 (0 for e = 0). */
static inline unsigned mbz_q8_shift(unsigned a)
{
    unsigned e = 0;
    while (((a + ((1u << e) >> 1)) >> e) > 127)
        e++;
    return e;
}

/* Quantize one row x[0..I) (|x| <= 8191) in groups of 64 inputs (MBZM_Q8_GROUP; the
 * last group may be shorter): group j gets e[j] = mbz_q8_shift(max |x_i|) and each of
 * its inputs q_i = sign(x_i) * ((|x_i| + h) >> e[j]), in [-127, 127]. Then
 * |q_i| * 2^e[j] <= |x_i| + 2^(e[j]-1) <= 8255, which keeps a linear layer's sum of
 * (q * w) << e within int32 (8255 * 127 * 2048 < 2^31). */
void mbz_act_q8(const int16_t *x, size_t I, int8_t *q, uint8_t *e);

/* Frequency table from 256 head outputs (log2 units, Q8; |z| <= 2^20):
 * f_s = 1 + floor(e_s * 65280 / S), remainder to the largest e_s (lowest index). */
void mbz_freq_from_logits(const int32_t *z, uint16_t *freq);

/* Integer log2 in Q16 (1/65536 bit), truncated; x >= 1 (0 gives 0). Deterministic,
 * no libm: statistics and the store decision depend on it. */
uint32_t mbz_log2_q16(uint64_t x);
/* -log2(f / 65536) in Q16 for a table frequency f in 1..65536 (ideal code length). */
uint32_t mbz_cost_q16(uint32_t f);

/* floor(256 * log2(v)) for 1 <= v <= 2^16 by exact integer arithmetic (the mixing
 * stage's and strided inference's logarithm domain); 0 outside that range. */
int32_t mbz_log2_q8(uint32_t v);
/* The same as a table, for hot loops: valid after mbz_log2_q8_init() (thread-safe,
 * idempotent), indexed by 1 <= v <= 2^16. */
extern int16_t mbz_log2_q8_tab[(1 << 16) + 1];
void mbz_log2_q8_init(void);

#endif
