/*
 * mbz_explain.h - per-byte model costs, for `mbzip --explain` (library-internal,
 * not installed; the public API is mbz.h).
 *
 * The coder only ever sees frequency tables (predictor.h); this hook runs a model's
 * predictor teacher-forced over a buffer, exactly as the compressor does for a
 * modelled block, and returns what each byte cost: -log2 p in Q16 bits
 * (mbz_cost_q16 of the table entry of the actual byte). Summed over the bytes of the
 * blocks the compressor chose to model, it equals mbz_stats.ideal_bits_q16.
 */
#ifndef MBZ_EXPLAIN_H
#define MBZ_EXPLAIN_H

#include <stddef.h>
#include <stdint.h>
#include "mbz.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Cost of every byte of data[0 .. n-1] under model `m`, cut into independent blocks
 * of `block_len` bytes (the frame's block size, 2^block_log; the model restarts at
 * each block as in compression; with MBZ_FLAG_MEDIA (0x08) cut where compression
 * cuts them around audio samples and image pixels, whose blocks go through the
 * media models and give each byte its share of the block's payload). cost[i] receives the cost of data[i] in 1/65536
 * bit. Every block is scored, including those the compressor would store or
 * run-length code. Single-threaded; memory: one predictor plus one score chunk of
 * tables. `frame_flags` is the frame header's flags byte: with MBZ_FLAG_STRIDED (0x02)
 * the model runs as two passes offset by half a patch, with MBZ_FLAG_MIX (0x01) it is
 * seen through the adaptive mixing stage, as the frame's blocks were.
 * Returns an mbz_status (MBZ_ERR_PARAM for a NULL model or block_len 0).
 */
int mbz_explain_costs(const mbz_model *m, unsigned frame_flags, const void *data, size_t n,
                      size_t block_len,
                      uint32_t *cost, mbz_error *err);

#ifdef __cplusplus
}
#endif
#endif
