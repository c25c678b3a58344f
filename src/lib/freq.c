/*
 * freq.c - frequency tables from counts. Integer only: these numbers influence the
 * coded bytes (the coding contract, doc/library.md), so no float may enter.
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
