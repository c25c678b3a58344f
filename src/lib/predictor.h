/*
 * predictor.h - the interface between an entropy model and the coder (internal).
 *
 * The ONLY thing that crosses from a model to the coder is a frequency table per
 * byte: MBZ_SYMBOLS uint16 entries, each >= 1, summing to exactly MBZ_FREQ_TOTAL
 * (the coding contract, doc/library.md). Every table must be a pure function of the
 * model and of the bytes of the current block before the byte being coded; blocks
 * are independent.
 *
 * Compression knows the whole block and scores it teacher-forced (`score`), in
 * chunks of the model's preferred size (mbz_model.score_chunk). Decompression asks
 * for one table at a time (`predict`), or for one table for each of several blocks
 * at once (`predict_batch`), which lets a model share its weights across blocks. All three must produce identical
 * tables for identical histories.
 */
#ifndef MBZ_PREDICTOR_H
#define MBZ_PREDICTOR_H

#include <stddef.h>
#include <stdint.h>

#define MBZ_SYMBOLS 256
#define MBZ_FREQ_BITS 16
#define MBZ_FREQ_TOTAL (1u << MBZ_FREQ_BITS)

/* Per-block state. The type is never defined: each implementation keeps its own
 * struct (mb_state, mix_state, ...) behind this handle and converts the pointer. */
typedef struct mbz_predictor mbz_predictor;

typedef struct mbz_predictor_ops {
    const char *name;
    /* Create the state for coding one block of `block_len` bytes. Returns an mbz_status. */
    int (*create)(const void *impl, size_t block_len, mbz_predictor **out);
    /* Teacher-forced: fill freq[(i)*256 .. ] for the bytes at positions pos .. pos+n-1 of
     * the block `data` (all `len` bytes available). Calls come with pos = 0, then each
     * call's pos is the previous pos + n. */
    int (*score)(mbz_predictor *p, const uint8_t *data, size_t len, size_t pos, size_t n,
                 uint16_t *freq);
    /* Step: the table for data[pos], given data[0 .. pos-1]. Calls come with
     * pos = 0, 1, 2, ... */
    int (*predict)(mbz_predictor *p, const uint8_t *data, size_t pos, uint16_t *freq);
    /* Optional (may be NULL): predict for nb blocks at once: for each b, the table for
     * data[b][pos[b]] into freq + b*256. The predictors all come from the same model. */
    int (*predict_batch)(mbz_predictor **p, const uint8_t *const *data, const size_t *pos,
                         int nb, uint16_t *freq);
    void (*destroy)(mbz_predictor *p);
    /* Optional (may be NULL): on a fresh predictor, prepare score() to start at
     * `pos` (a multiple of the model's patch) instead of 0, without returning the
     * tables before it; the tables from pos on are those of a pass from 0. Lets
     * compression score the two halves of one block on two threads (block.c). */
    int (*seek)(mbz_predictor *p, const uint8_t *data, size_t len, size_t pos);
    /* Optional (may be NULL): on a fresh predictor that will run predict(), the
     * caller has `helpers` cores to spare: the predictor may run threads of its own
     * on them (megabyte_team.c: the global steps on two threads) until destroy. The
     * tables do not change. Returns the helpers taken (0: none). */
    int (*assist)(mbz_predictor *p, int helpers);
} mbz_predictor_ops;

/* The library-internal view of a model (the public type is opaque). Besides its
 * predictor, a model carries its capabilities, so that nobody asks a model by
 * identity what it can do; a wrapper (strided.c, mix.c) passes its base's on. */
struct mbz_model {
    uint64_t fingerprint;
    const mbz_predictor_ops *ops;
    void *impl;                 /* model-specific (weights, ...) */
    void (*free_impl)(void *impl);
    char describe[128];
    /* capabilities */
    size_t patch;               /* patch size P of a patch model (strided inference
                                 * needs P >= 2); 0 for a model without patches */
    size_t score_chunk;         /* preferred n for score(); 0: the block coder's default
                                 * (the caller may use less at the end of a block) */
    unsigned caps;              /* MBZ_CAP_* */
    size_t seek_reach;          /* with ops->seek: how far before pos seek runs the
                                 * model (its warm-up, in bytes) */
};

/* ops->predict_batch shares work (weights) across blocks: decoding may step several
 * blocks together. Without it, predict_batch is NULL. */
#define MBZ_CAP_BATCH 0x1u
/* The tables already are the order-2 blend of order2.c: the mixing stage does not
 * add a second copy of it as an input. */
#define MBZ_CAP_ORDER2 0x2u

/* predict for nb predictors of the same ops at once: ops->predict_batch where the
 * model has one, else predict one by one. Identical tables either way. */
int mbz_predict_many(const mbz_predictor_ops *ops, mbz_predictor **p,
                     const uint8_t *const *data, const size_t *pos, int nb, uint16_t *freq);

/* Build a flat frequency table from counts (used by simple models and tests):
 * freq[i] >= 1, sum == MBZ_FREQ_TOTAL, deterministic. */
void mbz_freq_from_counts(const uint32_t *counts, uint16_t *freq);

/* The model a frame names: one of `models` (the caller's), else mbz_model_find
 * (built in, or in the model path). NULL when there is none. */
const struct mbz_model *mbz_model_lookup(const struct mbz_model *const *models, size_t n,
                                         uint64_t fingerprint);

#endif
