/*
 * logistic.h - the binary modelling primitives (library-internal) shared by the
 * context-mixing stage (cm.c) and the bilevel image model (bilevel.c): the logistic
 * squash and its inverse stretch, adaptive counters and adaptive probability maps
 * (APMs). Integer arithmetic with defined rounding only (the format's contract).
 *
 * Probabilities are 12-bit (0..4095, P(bit = 1)); the stretch domain is
 * st(p) = ln(p / (1 - p)) * 256, clamped to |d| <= 2047.
 *
 * Call mbz_logistic_init() (once; thread-safe) before any of them.
 */
#ifndef MBZ_LOGISTIC_H
#define MBZ_LOGISTIC_H

#include <stddef.h>
#include <stdint.h>

#define MBZ_LOGISTIC_INLINE static inline __attribute__((always_inline))

void mbz_logistic_init(void);

/* squash(d) = 4096 / (1 + e^(-d/256)) at d = -2048 + 128 i, rounded: interpolated
 * linearly between these points. */
extern const int mbz_squash_pts[33];
extern int16_t mbz_stretch_tab[4096];
extern uint32_t mbz_ctr_rate[1024];   /* rate[n] = 65536 / (n + 1.5) */

MBZ_LOGISTIC_INLINE int mbz_squash(int d)
{
    if (d > 2047)
        d = 2047;
    if (d < -2047)
        d = -2047;
    int i = (d + 2048) >> 7, w = (d + 2048) & 127;
    return (mbz_squash_pts[i] * (128 - w) + mbz_squash_pts[i + 1] * w + 64) >> 7;
}

/* stretch(p) = the smallest d with squash(d) >= p (the inverse of squash), p 0..4095. */
MBZ_LOGISTIC_INLINE int mbz_stretch(int p)
{
    return mbz_stretch_tab[p];
}

/* ------------------------------------------------------------------ counters */

/* A counter: 22-bit probability and a 10-bit count n in one uint32, stored as
 * ((p XOR 2^21) << 10) | n, so that 0 is "p = 1/2, n = 0" and tables start as
 * zeroed memory (the system hands it out lazily: a small input touches only what
 * it uses). */
#define MBZ_CTR_HALF (1u << 21)

MBZ_LOGISTIC_INLINE int mbz_ctr_p12(uint32_t c)
{
    return (int)(((c >> 10) ^ MBZ_CTR_HALF) >> 10);
}

/* Learn bit: p moves by 1/(n + 1.5) of its error and n counts up to limit (at most
 * 1023), so that a context that has seen one outcome a few times is already
 * confident and one with long statistics averages them. With forget (a constant at
 * each call): a counter that the bit surprised (it gave that bit less than 1/8) and
 * that has seen more than 2 bits halves its count (n -> n/2 + 1), so that it adapts
 * faster where the statistics change (the idea of paq's nonstationary states, on a
 * counter). */
#define MBZ_CTR_SURPRISE ((1 << 22) - (1 << 19))
MBZ_LOGISTIC_INLINE void mbz_ctr_update(uint32_t *c, int bit, uint32_t limit, int forget)
{
    uint32_t v = *c, n = v & 1023;
    int32_t p = (int32_t)((v >> 10) ^ MBZ_CTR_HALF);
    int32_t target = bit ? (1 << 22) - 1 : 0;
    int32_t e = target - p;
    p += (int32_t)(((int64_t)e * mbz_ctr_rate[n]) >> 16);
    if (forget && (e > MBZ_CTR_SURPRISE || e < -MBZ_CTR_SURPRISE) && n > 2)
        n = (n >> 1) + 1;
    else if (n < limit)
        n++;
    *c = (((uint32_t)p ^ MBZ_CTR_HALF) << 10) | n;
}

/* ------------------------------------------------------------------ APM */

/* An adaptive probability map: per context, 33 probabilities (Q16) at the
 * interpolation points of squash; the output interpolates at stretch(p) and the
 * nearer point learns. mbz_apm_new: `contexts` rows, each the identity map (NULL
 * when out of memory; free() it). A point is stored as its difference from the
 * identity's, mbz_apm_ident (mod 2^16: the sum is the value, exactly), so that a
 * new map is zeroed memory: a stage of three 65536-row maps costs nothing to make
 * until its rows are used (a small stream no longer pays for writing 13 MB). */
extern uint16_t mbz_apm_ident[33];
uint16_t *mbz_apm_new(size_t contexts);

/* p: 12-bit. Returns a 12-bit probability; *idx remembers the point to train. */
MBZ_LOGISTIC_INLINE int mbz_apm_p(const uint16_t *t, size_t ctx, int p, int *idx)
{
    int s = mbz_stretch(p) + 2048;             /* 1 .. 4095 */
    int lo = s >> 7, w = s & 127;
    const uint16_t *r = t + ctx * 33;
    *idx = (int)(ctx * 33) + lo + (w >> 6);
    int v0 = (uint16_t)(r[lo] + mbz_apm_ident[lo]), v1 = (uint16_t)(r[lo + 1] + mbz_apm_ident[lo + 1]);
    return (v0 * (128 - w) + v1 * w) >> 11;
}

/* The point moves by 1/2^rate of its error. */
MBZ_LOGISTIC_INLINE void mbz_apm_update(uint16_t *t, int idx, int bit, int rate)
{
    uint16_t id = mbz_apm_ident[(unsigned)idx % 33];
    int v = (uint16_t)(t[idx] + id);
    int target = bit ? 65535 : 0;
    t[idx] = (uint16_t)(v + ((target - v) >> rate) - id);
}

#endif
