/*
 * freq.c - frequency tables from counts, and the integer log2 used for statistics
 * and for the store decision. Integer only: these numbers influence the coded bytes
 * (ARCHITECTURE.md section 3), so no float may enter.
 */
#include "config.h"
#include "predictor.h"
#include "rangecoder.h"

void mbz_freq_from_counts(const uint32_t *counts, uint16_t *freq)
{
    uint64_t total = 0;
    for (int i = 0; i < MBZ_SYMBOLS; i++)
        total += counts[i];
    if (total == 0) {
        for (int i = 0; i < MBZ_SYMBOLS; i++)
            freq[i] = MBZ_FREQ_TOTAL / MBZ_SYMBOLS;
        return;
    }
    /* Every symbol gets 1; the other 65280 are shared in proportion to the counts.
     * One division: scale = budget * 2^32 / total. Since counts[i] <= total,
     * counts[i] * scale <= budget * 2^32 < 2^48: no overflow. Floors never overshoot
     * the budget; the remainder (< 257) goes to the most frequent symbol. */
    const uint64_t budget = MBZ_FREQ_TOTAL - MBZ_SYMBOLS;
    uint64_t scale = (budget << 32) / total;
    uint32_t sum = 0;
    for (int i = 0; i < MBZ_SYMBOLS; i++) {
        uint32_t f = 1 + (uint32_t)(((uint64_t)counts[i] * scale) >> 32);
        freq[i] = (uint16_t)f;
        sum += f;
    }
    /* first most frequent symbol; a separate branch-free pass keeps the loop above
     * free of a loop-carried branch (this function runs once per coded byte) */
    uint32_t bestc = counts[0];
    int best = 0;
    for (int i = 1; i < MBZ_SYMBOLS; i++) {
        int gt = counts[i] > bestc;
        bestc = gt ? counts[i] : bestc;
        best = gt ? i : best;
    }
    freq[best] = (uint16_t)(freq[best] + (MBZ_FREQ_TOTAL - sum));
}

/* Bit-by-bit logarithm: normalise x to y in [1, 2) (Q62), then each squaring of y
 * yields the next fractional bit. Truncated, exact to the last bit but for the
 * truncation of the squares (< 2^-60 relative each). */
uint32_t mbz_log2_q16(uint64_t x)
{
    if (x == 0)
        return 0; /* undefined; callers never pass 0 */
    uint32_t n = 0;
    while ((x >> n) > 1)
        n++;
    /* y = x / 2^n in Q30, kept in a 64-bit product with room for the square */
    uint64_t y = n >= 30 ? x >> (n - 30) : x << (30 - n);
    uint32_t frac = 0;
    for (int i = 15; i >= 0; i--) {
        y = (y * y) >> 30;                 /* y < 2^31, y*y < 2^62 */
        if (y >= (UINT64_C(2) << 30)) {
            y >>= 1;
            frac |= UINT32_C(1) << i;
        }
    }
    return (n << 16) | frac;
}

uint32_t mbz_cost_q16(uint32_t f)
{
    return (MBZ_FREQ_BITS << 16) - mbz_log2_q16(f);
}
