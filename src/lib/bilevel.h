/*
 * bilevel.h - the bilevel image model (bilevel.c; library-internal): rows of 1-bit
 * pixels (fax pages, scanned text, line art, dithered pictures), each pixel coded as
 * one binary decision from its 2-D neighbourhood. It codes the rows of image blocks
 * whose format says 1-bit pixels (doc/format.md, "Image blocks"); image.c calls it.
 */
#ifndef MBZ_BILEVEL_H
#define MBZ_BILEVEL_H

#include <stddef.h>
#include <stdint.h>
#include "image.h"
#include "residual.h"

/* Code (encoder) or read (decoder) `rows` whole rows of data (mbz_img_stride(f)
 * bytes each: (width + 7) / 8 bytes of pixels, the first pixel in the high bit, the
 * bits past the width coded as pixels too, then f->pad padding bytes). Returns 0,
 * -1 on a decoding error, -2 when out of memory. */
int mbz_bilevel_code(mbz_res_coder *c, const mbz_img *f, uint8_t *data, size_t rows);

#endif
