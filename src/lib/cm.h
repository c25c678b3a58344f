/*
 * cm.h - the binary context-mixing stage (doc/mixing.md, "Binary stage"; cm.c),
 * library-internal.
 *
 * A frame with flag MBZ_FLAG_CM (frame.h) codes each modelled byte as 8 binary
 * decisions, most significant bit first. For each bit the stage predicts
 * P(bit = 1) from the base model's 256-entry table (MEGABYTE, or order-2 at level 1),
 * folded into the probability of the bit given the bits already known, and from
 * statistics it learns from the bytes it has seen (with MBZ_CM_RECORD also from the
 * record one and two above, for fixed-size records): hashed contexts of orders 1-6 and
 * words, a match model (with MBZ_CM_REV2 also indirect and nesting contexts). A logistic mixer (two layers, weights chosen by small
 * contexts) and two adaptive probability maps turn them into one probability, which
 * the binary arithmetic coder (bitcoder.h) codes with. Integer arithmetic only: the
 * output is a pure function of the tables and of the bytes seen.
 *
 * Use, per byte:  mbz_cm_byte(cm, table);  then for each of the 8 bits:
 *                 p = mbz_cm_p(cm);  code the bit with p;  mbz_cm_update(cm, bit);
 * The eighth update completes the byte and adds it to the stage's history.
 */
#ifndef MBZ_CM_H
#define MBZ_CM_H

#include <stddef.h>
#include <stdint.h>

typedef struct mbz_cm mbz_cm;

/* Optional parts of the stage, chosen by the frame (frame.h: each came with a frame
 * flag, so that frames written before it decode exactly as before; a stage without
 * them computes bit for bit what it computed before they existed). */
#define MBZ_CM_RECORD 0x01          /* the record model (frame flag MBZ_FLAG_RECORD) */
#define MBZ_CM_REV2 0x02            /* revision 2 of the stage (frame version 9) */
/* The fast configuration (frame flag MBZ_FLAG_FAST, level 1): nine hashed contexts,
 * the record model, the match model, three mixers and two maps; no base model (it
 * ignores tables given to mbz_cm_byte) and no revision 2 (it ignores the flags
 * above). */
#define MBZ_CM_FAST 0x04
#define MBZ_CM_REV3 0x08            /* revision 3 of the stage (frame version 13) */

/* A stage for `window` bytes of history (its tables are sized by it) with the parts
 * `features` (MBZ_CM_*). Returns an mbz_status (MBZ_ERR_NOMEM). */
int mbz_cm_create(size_t window, unsigned features, mbz_cm **out);
void mbz_cm_free(mbz_cm *cm);

/* Begin a byte. freq: the base model's table for it (MBZ_SYMBOLS entries, each >= 1,
 * sum MBZ_FREQ_TOTAL), or NULL when the stage codes without a base model. The table
 * is copied (as cumulative counts). */
void mbz_cm_byte(mbz_cm *cm, const uint16_t *freq);

/* The base model's input for the 8 bits of a known byte c (compression), computed
 * from its table freq apart from the stage: path[k] is what the stage derives from
 * freq for bit k of c (the probability of a 1 given the bits of c before it, 12
 * bits). mbz_cm_byte_path(cm, path) then begins byte c as mbz_cm_byte(cm, freq)
 * would, with 16 bytes kept per byte instead of a table: so a block's tables can be
 * computed on another thread ahead of the stage (block.c). */
void mbz_cm_base_path(const uint16_t *freq, unsigned c, uint16_t path[8]);
void mbz_cm_byte_path(mbz_cm *cm, const uint16_t path[8]);

/* P(next bit = 1) in 1/65536 units, 1 .. 65535. */
uint32_t mbz_cm_p(mbz_cm *cm);

/* Learn the bit just coded. */
void mbz_cm_update(mbz_cm *cm, int bit);

/* Compression with a stage of the fast configuration (MBZ_CM_FAST: it runs no base
 * model) over bytes in[0 .. n-1], the work of each bit on two threads: a helper runs
 * the contexts (their inputs, and their counters, which learn from the known bits
 * alone), the calling thread the mixers and maps, a few hundred bytes behind. For
 * each byte, sink(user, i, p) gets the probabilities of its 8 bits (most significant
 * first), those mbz_cm_p would give with mbz_cm_byte(cm, NULL) and mbz_cm_update
 * between, and returns 0 to go on; anything else ends the pass and is returned, and
 * the stage must then be freed unused. Returns 0 after all n bytes: the stage is
 * then where the calls of one thread would have left it. Another stage, one not at
 * a byte boundary, or no helper to be had: the same on this thread. */
typedef int (*mbz_cm_probs_fn)(void *user, size_t i, const uint32_t p[8]);
int mbz_cm_fast_pass2(mbz_cm *cm, const uint8_t *in, size_t n, mbz_cm_probs_fn sink, void *user);

/* -log2(p16 / 65536) in Q16 bits (ideal code length of a bit coded with p16); a
 * table lookup for the values mbz_cm_p gives once a stage has been created. */
uint32_t mbz_cm_cost_q16(uint32_t p16);

#endif
