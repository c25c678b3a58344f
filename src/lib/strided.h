/*
 * strided.h - strided inference (library-internal; strided.c, frame flag
 * MBZ_FLAG_STRIDED in frame.h): two passes of a patch model offset by half a patch;
 * each byte from P/2 on is coded with the geometric mean of the two passes' tables
 * (strided.c says why not the paper's rule). Level 9 uses it.
 */
#ifndef MBZ_STRIDED_H
#define MBZ_STRIDED_H

#include "predictor.h"

/* Fill *out with `base` run as two passes offset by base->patch / 2 (base->patch >= 2,
 * else MBZ_ERR_PARAM). out->impl is allocated (free it with out->free_impl); base
 * must outlive out. The block coder builds it (mbz_stack_build, block.h). */
int mbz_strided_wrap(const mbz_model *base, mbz_model *out);

#endif
