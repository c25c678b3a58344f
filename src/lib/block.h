/*
 * block.h - the block coder (block.c; library-internal): the one place where a
 * model meets the range coder. Compression, decompression and --explain all code
 * blocks through these functions, so the tables the encoder codes with, the ones the
 * decoder reproduces and the costs --explain shows cannot drift apart.
 *
 * A block flows through its model stack (doc/library.md):
 *   base model (MEGABYTE or order-2)  ->  strided inference (flag STRIDED)
 *     ->  mixing stage (flag MIX)  ->  frequency table  ->  range coder
 *     or  binary context mixing (flag CM, cm.c)  ->  8 bit probabilities
 *                                                 ->  binary coder (bitcoder.h)
 * except media blocks (flag MEDIA), which the media detector (media.c) marks and
 * the audio or image model (audio.c, image.c) codes on its own, through residual.h
 * and the binary coder.
 */
#ifndef MBZ_BLOCK_H
#define MBZ_BLOCK_H

#include <stddef.h>
#include <stdint.h>
#include "frame.h"
#include "media.h"
#include "predictor.h"

/* ------------------------------------------------------------------ model stack */

/* The model stack a frame's flags ask for: base, then strided inference, then the
 * mixing stage. `top` gives the tables; with `cm` set they go through the binary
 * context-mixing stage. */
typedef struct {
    mbz_model strided, mixed;
    const mbz_model *top;
    int cm;
    unsigned cm_features;  /* the binary stage's optional parts (cm.h MBZ_CM_*; with
                            * MBZ_CM_FAST, flag FAST, `top` is not run) */
    int filters;           /* modelled payloads start with a filter id (filter.h) */
    int image_rev;         /* the image model's revision (image.h): 2 from frame version 10, 3 from 12, 4 from 14 */
    int audio_rev;         /* the audio model's revision (audio.h): 2 from frame version 12 */
} mbz_stack;

/* Build the stack for a frame of `version` with `flags` (MBZ_FLAG_MIX, _STRIDED, _CM,
 * _RECORD, _FILTER, _FAST) on `base` (the version chooses the binary stage's revision).
 * Returns an mbz_status with a one-line message in err when base cannot do what
 * flags ask (strided inference needs a patch model). Release with mbz_stack_free. */
int mbz_stack_build(const mbz_model *base, unsigned version, unsigned flags, mbz_stack *s,
                    mbz_error *err);
/* The image model's revision (image.h) in a frame of `version`: what a stack's
 * image_rev holds, for a reader that decodes a media block without a stack; the
 * same for the audio model. */
int mbz_image_rev(unsigned version);
int mbz_audio_rev(unsigned version);
void mbz_stack_free(mbz_stack *s);

/* ------------------------------------------------------------------ coding */

/* Buffers one thread reuses from block to block: coding a block allocates nothing
 * here (the model's own per-block state is the predictor's). */
typedef struct {
    uint8_t *out;          /* modelled payload (encoder) */
    size_t out_cap;
    uint16_t *freq;        /* tables of one score() chunk */
    size_t freq_cap;       /* bytes */
    uint8_t *filtered;     /* a block's bytes after its filter (encoder) */
    size_t filtered_cap;
} mbz_block_scratch;

void mbz_block_scratch_free(mbz_block_scratch *s);

/* The rows of one score() call for `model` on blocks of up to block_len bytes. */
size_t mbz_block_chunk(const mbz_model *model, size_t block_len);

/* Teacher-forced pass over one block of n bytes: the tables for data[0 .. n-1] are
 * handed to sink(user, pos, k, freq) a chunk at a time (freq holds k tables, for
 * data[pos .. pos+k-1]); a non-zero return from sink stops the pass and is returned.
 * `where` names the block in messages. */
typedef int (*mbz_table_sink)(void *user, size_t pos, size_t k, const uint16_t *freq);
int mbz_block_score(const mbz_model *model, const uint8_t *data, size_t n,
                    mbz_block_scratch *s, volatile int *cancel, mbz_table_sink sink,
                    void *user, const char *where, mbz_error *err);

/* The coded form of one block (payload points into the input or the scratch). */
typedef struct {
    uint8_t type;          /* MBZ_BLOCK_RLE, _STORED, _MODELLED(_FRESH), _AUDIO or _IMAGE */
    const uint8_t *payload;
    size_t payload_size;
    uint64_t hash;         /* XXH64 of the content */
    uint64_t ideal_q16;    /* modelled: sum of -log2 p, Q16 bits */
} mbz_block_coded;

/* The binary stage's history across the blocks of a frame (CM frames): the stage
 * with what it has learnt, its capacity (mbz_frame_history) and the bytes it holds.
 * Zero-initialise with the window set; mbz_cm_chain_reset starts it afresh. */
typedef struct {
    struct mbz_cm *cm;
    size_t window, used;
    unsigned features;     /* of the stages it creates: the stack's cm_features */
} mbz_cm_chain;

void mbz_cm_chain_reset(mbz_cm_chain *c);

/* Per-byte costs (Q16 bits) of coding data[0 .. n-1] as one block through the
 * stack, the ones the coder pays (for --explain). CM frames: through `chain`, as
 * mbz_block_encode would (chain NULL otherwise). */
int mbz_block_costs(const mbz_stack *stack, mbz_cm_chain *chain, const uint8_t *data, size_t n,
                    mbz_block_scratch *s, const char *where, uint32_t *cost, mbz_error *err);

/* A block scored ahead on a helper thread (CM frames with a model): while this
 * thread codes one block of a history, the helper runs the model over the next
 * one, teacher-forced (the model restarts at every block, so the next block's
 * tables do not depend on this one), and keeps what the stage takes of them (8
 * numbers per byte, 16 bytes); the stage then codes that block from them, in its
 * turn (this thread may score the end of it itself: mbz_block_ahead_wait). The
 * tables are those of one pass whoever scores which part (predictor.h, seek), so
 * the coded bytes are those of one thread. mbz_block_ahead_start returns NULL when the block would
 * not be modelled (a run of one byte, media, high entropy) or the helper cannot be
 * had; the block is then coded as any other. mbz_block_ahead_free stops and waits
 * for a helper still running (a block that failed before its turn). */
typedef struct mbz_block_ahead mbz_block_ahead;
mbz_block_ahead *mbz_block_ahead_start(const mbz_stack *stack, const mbz_media_format *media,
                                       const uint8_t *in, size_t n, volatile int *cancel,
                                       const char *where);
void mbz_block_ahead_free(mbz_block_ahead *a);

/* Wait until a block scored ahead has all its tables; meanwhile, when the helper
 * has more than a little left, score the end of it on this thread (s: this
 * thread's scratch), so that the two threads finish together. What it finds (an
 * error too) is kept for mbz_block_encode. Does nothing for NULL. */
void mbz_block_ahead_wait(mbz_block_ahead *a, mbz_block_scratch *s);

/* Whether mbz_block_encode with a helper would split a block of n bytes over it
 * (a CM block of 256 KiB or more whose model can seek): the caller's choice
 * between splitting a block and scoring the next one ahead. */
int mbz_block_can_split(const mbz_stack *stack, size_t n);

/* Code one block: a run of one byte as RLE; with `media` (the media detector's
 * finding: the block is PCM samples or rows of pixels) through the audio or image
 * model; otherwise high-entropy data stored, the rest through the model stack;
 * stored after all when modelling does not make it smaller. Media blocks leave
 * `chain` alone.
 * CM frames: `chain` carries the history; a modelled block continues it (type 3)
 * or, when it is empty or full, starts it afresh (type 4); a block stored after
 * modelling empties it. Other frames: chain is NULL. `helpers`: threads this call
 * may add (0 or 1 used): a CM block of 256 KiB or more whose model can seek has its
 * second part scored on a helper thread (this one coding its first part as it
 * scores it, then the helper's as it comes); the coded bytes do not depend on it.
 * `ahead` (or NULL): this block's scoring, started by mbz_block_ahead_start on the
 * same bytes; used if the block is modelled, then freed by the caller. */
int mbz_block_encode(const mbz_stack *stack, mbz_cm_chain *chain, const mbz_media_format *media,
                     const uint8_t *in, size_t n, mbz_block_scratch *s, volatile int *cancel,
                     int helpers, mbz_block_ahead *ahead, const char *where, mbz_block_coded *out,
                     mbz_error *err);

/* One block to decode: its header, its payload, and where its content goes. */
typedef struct {
    mbz_block_header h;
    char where[48];        /* "block 3" or "frame 2, block 3" */
    uint8_t *payload;      /* modelled payload */
    size_t payload_cap;
    uint8_t *content;      /* stored blocks are read straight into it */
    size_t content_cap;
    uint8_t rle_byte;
    uint64_t ideal_q16;
    int status;
    mbz_error err;
} mbz_block_job;

/* Decode n blocks of one frame (n <= MBZ_BLOCK_BATCH_MAX) and verify each
 * checksum; results in each job's status/err. stack->top may be NULL when the
 * frame's model is not available (then no block may be modelled). CM frames:
 * `chain` is the frame's history and the blocks are decoded in order, one at a
 * time; other frames: chain is NULL. Modelled blocks advance in lockstep,
 * one table per block per step (through predict_batch where the model batches), so
 * each sees exactly the tables its encoder saw. `helpers`: cores the caller has
 * to spare for this call; a lone modelled block of MBZ_ASSIST_MIN bytes or more
 * lends them to its predictor (predictor.h, assist), which changes no table. */
#define MBZ_BLOCK_BATCH_MAX 8
#define MBZ_ASSIST_MIN 32768
void mbz_block_decode(mbz_block_job **jobs, int n, const mbz_stack *stack,
                      mbz_cm_chain *chain, int helpers, volatile int *cancel);

#endif
