/*
 * image.h - the image model (image.c; library-internal): rows of pixels coded as
 * errors of a blend of 2-D predictors, through residual.h. It codes the payload of
 * image blocks (doc/format.md, "Image blocks"); the media detector (media.c) says
 * where the pixels are.
 */
#ifndef MBZ_IMAGE_H
#define MBZ_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#define MBZ_IMG_CHANNELS_MAX 4
#define MBZ_IMG_WIDTH_MAX 65536

/* How the block's bytes are pixels: rows of `width` pixels of `channels` samples of
 * 1 or 2 bytes, or of 1-bit pixels 8 to a byte, each row followed by `pad` bytes. */
typedef struct {
    uint8_t bytes;         /* per sample: 1 or 2 */
    uint8_t big_endian;    /* 2-byte samples, most significant byte first (PNM) */
    uint8_t channels;      /* 1 .. MBZ_IMG_CHANNELS_MAX, interleaved */
    uint8_t pad;           /* bytes after each row: 0 .. 3 (BMP rows end on 4 bytes) */
    uint32_t width;        /* pixels per row: 1 .. MBZ_IMG_WIDTH_MAX */
    uint8_t bilevel;       /* 1-bit pixels, the first in a byte's high bit (bilevel.h);
                            * then bytes = 1, channels = 1. Revision 2 on */
} mbz_img;

/* Bytes of one row, padding included. */
static inline size_t mbz_img_stride(const mbz_img *f)
{
    if (f->bilevel)
        return ((size_t)f->width + 7) / 8 + f->pad;
    return (size_t)f->width * f->channels * f->bytes + f->pad;
}

/* The 7 bytes at the start of an image payload that describe the pixels. */
#define MBZ_IMG_PARAMS 7
void mbz_img_pack(const mbz_img *f, uint8_t out[MBZ_IMG_PARAMS]);
/* The image model's revisions: 1 in frames of versions 5 to 9; 2 in versions 10
 * and 11 (frame.h MBZ_FRAME_VERSION_IMAGE2): 1-bit pixels, and the errors of the
 * others through residual.h's mixed coder; 3 in versions 12 and 13
 * (MBZ_FRAME_VERSION_IMAGE3): least squares and the channels' gradients among the
 * predictors, no colour term, two more contexts; 4 from version 14
 * (MBZ_FRAME_VERSION_IMAGE4): the sign first and the predictors' deviations as
 * the error coder's contexts (residual.h), the channels before's errors at the
 * pixel in the blend's weights, five more predictors for the first channel, a context
 * of the 8 x 8 grid. Writers use MBZ_IMG_REV. */
#define MBZ_IMG_REV 4

/* Parse and bound them; 0 if valid, -1 if not (1-bit pixels before revision 2). */
int mbz_img_unpack(const uint8_t in[MBZ_IMG_PARAMS], mbz_img *f, int rev);

/* Code data[0 .. n-1] (whole rows, then the bytes of a last partial row) into
 * out[0 .. cap-1], parameters first, with revision rev of the model. Returns the
 * payload size, or 0 when it would not fit in cap (or out of memory). */
size_t mbz_image_encode(const mbz_img *f, const uint8_t *data, size_t n, uint8_t *out,
                        size_t cap, int rev);

/* Decode a payload made by mbz_image_encode with revision rev into out[0 .. n-1].
 * Returns 0, -1 when the payload is not a valid encoding of n bytes, -2 when out
 * of memory. */
int mbz_image_decode(const uint8_t *payload, size_t m, uint8_t *out, size_t n, int rev);

#endif
