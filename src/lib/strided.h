/*
 * strided.h - strided inference (library-internal; strided.c, doc/format.md flag
 * STRIDED): two passes of a patch model offset by half a patch, each byte coded with
 * the pass in which it is in the first half of its patch. Level 9 uses it.
 */
#ifndef MBZ_STRIDED_H
#define MBZ_STRIDED_H

#include "predictor.h"

/* Frame header flag bit: blocks are coded with strided inference (version 2). */
#define MBZ_FLAG_STRIDED 0x02

/* Fill *out with `base` run as two passes offset by patch/2 (patch >= 2). out->impl
 * is allocated (free it with out->free_impl); base must outlive out. */
int mbz_strided_wrap(const mbz_model *base, size_t patch, mbz_model *out);

/* The model stack a frame's flags ask for: base, then strided inference, then the
 * mixing stage. `top` is what codes the frame. */
typedef struct {
    mbz_model strided, mixed;
    const mbz_model *top;
} mbz_frame_model;

/* Build the stack for `flags` (MBZ_FLAG_MIX, MBZ_FLAG_STRIDED) on `base`. Returns an
 * mbz_status with a one-line message in err when base cannot do what flags ask
 * (strided inference needs a patch model). Release with mbz_frame_model_free. */
int mbz_frame_model_build(const mbz_model *base, unsigned flags, mbz_frame_model *fm,
                          mbz_error *err);
void mbz_frame_model_free(mbz_frame_model *fm);

#endif
