/*
 * bilevel.c - the bilevel image model (bilevel.h; doc/media.md, "Bilevel images").
 *
 * JBIG and JBIG2's generic regions code each pixel of a 1-bit image with an adaptive
 * probability in the context of 10 or 16 pixels nearby; paq8px's 1-bit image model
 * mixes several such contexts. Ours, from their published descriptions, per pixel:
 *
 *   neighbourhood  the pixels coded before it: this row to the left, the three rows
 *                  above (0 outside the image and above a block's first row: a
 *                  block starts afresh), kept as sliding bit windows
 *   contexts       NCTX templates of 10 to 26 of those pixels: the 10-pixel one of
 *                  JBIG's three-line template, 16 pixels (JBIG2's), 22 (two rows
 *                  above and 8 to the left), 22 (four rows tall), 15 (long along
 *                  this row), 18 (wide along the row above), 26 (wide and three
 *                  rows tall), 23 (20 to the left); each indexes a table of adaptive
 *                  counters (logistic.h; templates of more than 18 pixels hashed to
 *                  2^20 entries). Counters forget on a surprise and stop counting at
 *                  LIMIT: a page changes from text to a dithered picture and back
 *   mixing         the counters' stretched probabilities and a bias, mixed by two
 *                  logistic mixers (weights chosen by the 4 nearest pixels and by
 *                  the 16-pixel template), averaged in the stretch domain
 *   refinement     two adaptive probability maps (by the 10- and the 16-pixel
 *                  template); the coded probability is (mix + map1 + 2 map2) / 4
 *
 * Measured on generated fax pages (doc/media.md): each of these choices was kept
 * because it made the set smaller; a second input per counter (p - 1/2), slow
 * twins of the small templates' counters, and mixer weights by the 10-pixel
 * template did not.
 *
 * Padding bytes after a row are coded bit by bit with counters by bit position and
 * the bits so far. Integer arithmetic only; encoder and decoder run the same code
 * over residual.h's coder.
 */
#include <stdlib.h>
#include <string.h>
#include "bilevel.h"
#include "logistic.h"

#define MARGIN 16                    /* pixels of 0 each side of a row */
#define NCTX 8
#define NIN (NCTX + 1)               /* + bias */
#define SETS1 16                     /* mixer 1: the 4 nearest pixels */
#define SETS2 65536                  /* mixer 2: the 16-pixel template */
#define LR 40                        /* dw = x * err * LR >> 14 (< 2^31: 2047 x 4095 x 40) */
#define W_MAX (65536 * 32)
#define LIMIT 30                     /* counters' count limit */
#define APM_RATE 5
#define HASH_BITS 20

static const unsigned ctx_bits[NCTX] = { 10, 16, HASH_BITS, HASH_BITS, 15, 18, HASH_BITS, HASH_BITS };

static inline uint32_t hash(uint32_t v)
{
    return (v * 0x9E3779B1u) >> (32 - HASH_BITS);
}

typedef struct {
    uint8_t *row[4];                 /* [0] this row, [k] k rows above; pixel x at [x] */
    uint32_t *t[NCTX];               /* counters, per template */
    int32_t w1[SETS1][NIN], (*w2)[NIN];
    uint16_t *apm1, *apm2;
    uint32_t pad_ctr[8 * 256];
    void *rows_mem;
} bl_state;

static void state_free(bl_state *s)
{
    for (int i = 0; i < NCTX; i++)
        free(s->t[i]);
    free(s->apm1);
    free(s->apm2);
    free(s->w2);
    free(s->rows_mem);
}

static int state_init(bl_state *s, size_t wp)
{
    memset(s, 0, sizeof *s);
    mbz_logistic_init();
    size_t rw = wp + 2 * MARGIN;
    s->rows_mem = calloc(4, rw);
    int ok = s->rows_mem != NULL;
    for (int i = 0; i < NCTX && ok; i++)
        ok = (s->t[i] = calloc((size_t)1 << ctx_bits[i], sizeof *s->t[i])) != NULL;
    ok = ok && (s->w2 = malloc(SETS2 * sizeof *s->w2)) && (s->apm1 = mbz_apm_new(1024)) &&
         (s->apm2 = mbz_apm_new(65536));
    if (!ok) {
        state_free(s);
        return -2;
    }
    for (int k = 0; k < 4; k++)
        s->row[k] = (uint8_t *)s->rows_mem + k * rw + MARGIN;
    for (int i = 0; i < NIN; i++) {
        int32_t w = i < NCTX ? 65536 / 3 : 0;
        for (int j = 0; j < SETS1; j++)
            s->w1[j][i] = w;
        for (int j = 0; j < SETS2; j++)
            s->w2[j][i] = w;
    }
    return 0;
}

static inline int dot(const int32_t *x, const int32_t *w)
{
    int64_t s = 0;
    for (int i = 0; i < NIN; i++)
        s += (int64_t)x[i] * w[i];
    s >>= 16;
    return (int)(s > 2047 ? 2047 : s < -2047 ? -2047 : s);
}

static inline void train(const int32_t *x, int32_t *w, int err)
{
    for (int i = 0; i < NIN; i++) {
        int32_t v = w[i] + ((x[i] * err * LR) >> 14);
        w[i] = v > W_MAX ? W_MAX : v < -W_MAX ? -W_MAX : v;
    }
}

/* Bits a .. b (a >= b) of v, as the low bits of the result. */
#define BITS(v, a, b) (((v) >> (b)) & ((1u << ((a) - (b) + 1)) - 1))

/* Code (or read) the wp pixels of one row into bytes (zeroed first when decoding). */
static int code_row(mbz_res_coder *c, bl_state *s, size_t wp, uint8_t *bytes)
{
    uint8_t *r0 = s->row[0];
    const uint8_t *r1 = s->row[1], *r2 = s->row[2], *r3 = s->row[3];
    /* sliding windows, the newest pixel in bit 0: w1 holds the row above at
     * x-8 .. x+8 (bit 8 is x), w2 two rows above at x-4 .. x+4 (bit 4 is x), w3
     * three above at x-2 .. x+2 (bit 2 is x), w0 this row at x-32 .. x-1 (bit 0 is
     * x-1); left of the row they hold zeros */
    uint32_t w0 = 0, w1 = 0, w2 = 0, w3 = 0;
    for (int k = 0; k <= 8; k++)
        w1 = w1 << 1 | r1[k];
    for (int k = 0; k <= 4; k++)
        w2 = w2 << 1 | r2[k];
    for (int k = 0; k <= 2; k++)
        w3 = w3 << 1 | r3[k];
    int32_t x[NIN];
    x[NCTX] = 256;
    uint32_t idx[NCTX];
    for (size_t px = 0; px < wp; px++) {
        idx[0] = BITS(w2, 5, 3) << 7 | BITS(w1, 10, 6) << 2 | BITS(w0, 1, 0);
        idx[1] = BITS(w2, 6, 2) << 11 | BITS(w1, 11, 5) << 4 | BITS(w0, 3, 0);
        idx[2] = hash(BITS(w2, 6, 2) << 17 | BITS(w1, 12, 4) << 8 | BITS(w0, 7, 0));
        idx[3] = hash(BITS(w3, 4, 0) << 17 | BITS(w2, 7, 1) << 10 | BITS(w1, 11, 5) << 3 | BITS(w0, 2, 0));
        idx[4] = BITS(w0, 11, 0) << 3 | BITS(w1, 9, 7);
        idx[5] = BITS(w1, 16, 0) << 1 | BITS(w0, 0, 0);
        idx[6] = hash(BITS(w1, 14, 2) << 13 | BITS(w2, 7, 1) << 6 | BITS(w0, 5, 0));
        idx[7] = hash(BITS(w0, 19, 0) << 3 | BITS(w1, 9, 7));
        for (int i = 0; i < NCTX; i++)
            x[i] = mbz_stretch(mbz_ctr_p12(s->t[i][idx[i]]));
        int32_t *wa = s->w1[BITS(w0, 0, 0) << 3 | BITS(w1, 9, 7)], *wb = s->w2[idx[1]];
        int da = dot(x, wa), db = dot(x, wb);
        int pm = mbz_squash((da + db) >> 1);
        int i1, i2;
        int a1 = mbz_apm_p(s->apm1, idx[0], pm, &i1);
        int a2 = mbz_apm_p(s->apm2, idx[1], pm, &i2);
        uint32_t p16 = (uint32_t)((pm + a1 + 2 * a2 + 2) >> 2) * 16;
        p16 = p16 < 32 ? 32 : p16 > 65504 ? 65504 : p16;
        int bit = c->decoding ? 0 : (bytes[px >> 3] >> (7 - (px & 7))) & 1;
        bit = mbz_res_bit(c, bit, p16);
        if (c->decoding) {
            if (c->dec.error)
                return -1;
            if (bit)
                bytes[px >> 3] |= (uint8_t)(0x80 >> (px & 7));
        }
        for (int i = 0; i < NCTX; i++)
            mbz_ctr_update(&s->t[i][idx[i]], bit, LIMIT, 1);
        train(x, wa, (bit << 12) - mbz_squash(da));
        train(x, wb, (bit << 12) - mbz_squash(db));
        mbz_apm_update(s->apm1, i1, bit, APM_RATE);
        mbz_apm_update(s->apm2, i2, bit, APM_RATE);
        r0[px] = (uint8_t)bit;
        w0 = w0 << 1 | (uint32_t)bit;
        w1 = (w1 << 1 | r1[px + 9]) & 0x1ffff;
        w2 = (w2 << 1 | r2[px + 5]) & 0x1ff;
        w3 = (w3 << 1 | r3[px + 3]) & 0x1f;
    }
    return 0;
}

int mbz_bilevel_code(mbz_res_coder *c, const mbz_img *f, uint8_t *data, size_t rows)
{
    size_t wp = ((size_t)f->width + 7) / 8 * 8, rb = wp / 8, stride = mbz_img_stride(f);
    bl_state s;
    if (state_init(&s, wp) != 0)
        return -2;
    int rc = 0;
    for (size_t y = 0; y < rows && rc == 0; y++) {
        uint8_t *row = data + y * stride;
        if (c->decoding)
            memset(row, 0, rb);
        rc = code_row(c, &s, wp, row);
        for (size_t j = 0; j < f->pad && rc == 0; j++) {
            unsigned v = 1;              /* the bits so far, after a leading 1 */
            for (int b = 7; b >= 0; b--) {
                uint32_t *ctr = &s.pad_ctr[(size_t)(7 - b) << 8 | v];
                int bit = mbz_res_bit(c, (row[rb + j] >> b) & 1, (uint32_t)mbz_ctr_p12(*ctr) * 16 + 8);
                mbz_ctr_update(ctr, bit, LIMIT, 0);
                v = (v << 1 | (unsigned)bit) & 255;
            }
            if (c->decoding) {
                if (c->dec.error)
                    rc = -1;
                row[rb + j] = (uint8_t)v;
            }
        }
        /* the rows move up: the oldest becomes the next row */
        uint8_t *t = s.row[3];
        s.row[3] = s.row[2];
        s.row[2] = s.row[1];
        s.row[1] = s.row[0];
        s.row[0] = t;
    }
    state_free(&s);
    return rc;
}
