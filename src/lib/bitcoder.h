/*
 * bitcoder.h - binary arithmetic coder of the context-mixing stage (cm.c;
 * library-internal).
 *
 * A 32-bit interval [x1, x2] is split in proportion to P(bit = 1), a 16-bit
 * probability in 1..65535; leading bytes that x1 and x2 share are shifted out. The
 * split point is x1 + floor((x2 - x1) * p / 2^16), in 64-bit integer arithmetic, so
 * encoder and decoder agree on every machine.
 *
 * Byte-stream contract (doc/format.md, "Binary payload"):
 *   - the decoder reads 4 bytes to start and one byte per shifted-out byte;
 *   - bytes past the end of the payload read as zero (never out of bounds);
 *   - the encoder ends with one byte, (x1 >> 24) + 1, which with the zeros after it
 *     lies inside the final interval; so after the last bit the decoder has read
 *     exactly the payload size + 3 bytes (counting the virtual zeros). Anything else
 *     means the payload is not what the encoder wrote.
 */
#ifndef MBZ_BITCODER_H
#define MBZ_BITCODER_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t x1, x2;
    uint8_t *out;
    size_t cap, pos;
    int overflow;          /* output would exceed cap; the encoding is unusable */
} mbz_bc_enc;

typedef struct {
    uint32_t x1, x2, x;
    const uint8_t *in;
    size_t len;
    uint64_t pos;          /* bytes read, including virtual zeros past the end */
    int error;             /* the payload cannot be a valid encoding */
} mbz_bc_dec;

static inline uint32_t mbz_bc_split(uint32_t x1, uint32_t x2, uint32_t p16)
{
    return x1 + (uint32_t)(((uint64_t)(x2 - x1) * p16) >> 16);
}

static inline void mbz_bc_enc_init(mbz_bc_enc *e, uint8_t *out, size_t cap)
{
    e->x1 = 0;
    e->x2 = 0xffffffffu;
    e->out = out;
    e->cap = cap;
    e->pos = 0;
    e->overflow = 0;
}

/* Code `bit` with P(bit = 1) = p16 / 65536, 1 <= p16 <= 65535. */
static inline void mbz_bc_encode(mbz_bc_enc *e, int bit, uint32_t p16)
{
    uint32_t xmid = mbz_bc_split(e->x1, e->x2, p16);
    if (bit)
        e->x2 = xmid;
    else
        e->x1 = xmid + 1;
    while (((e->x1 ^ e->x2) & 0xff000000u) == 0) {
        if (e->pos < e->cap)
            e->out[e->pos++] = (uint8_t)(e->x2 >> 24);
        else
            e->overflow = 1;
        e->x1 <<= 8;
        e->x2 = (e->x2 << 8) | 255;
    }
}

/* Flush. Returns the payload size (>= 1), or 0 if the output did not fit in cap. */
static inline size_t mbz_bc_enc_finish(mbz_bc_enc *e)
{
    if (e->pos < e->cap)
        e->out[e->pos++] = (uint8_t)((e->x1 >> 24) + 1);
    else
        e->overflow = 1;
    return e->overflow ? 0 : e->pos;
}

static inline uint8_t mbz_bc_next(mbz_bc_dec *d)
{
    uint8_t b = d->pos < d->len ? d->in[d->pos] : 0;
    d->pos++;
    return b;
}

static inline void mbz_bc_dec_init(mbz_bc_dec *d, const uint8_t *in, size_t len)
{
    d->x1 = 0;
    d->x2 = 0xffffffffu;
    d->in = in;
    d->len = len;
    d->pos = 0;
    d->error = 0;
    d->x = 0;
    for (int i = 0; i < 4; i++)
        d->x = (d->x << 8) | mbz_bc_next(d);
}

/* Decode one bit coded with P(bit = 1) = p16 / 65536. On garbage sets d->error. */
static inline int mbz_bc_decode(mbz_bc_dec *d, uint32_t p16)
{
    uint32_t xmid = mbz_bc_split(d->x1, d->x2, p16);
    int bit = d->x <= xmid;
    if (bit)
        d->x2 = xmid;
    else
        d->x1 = xmid + 1;
    while (((d->x1 ^ d->x2) & 0xff000000u) == 0) {
        d->x1 <<= 8;
        d->x2 = (d->x2 << 8) | 255;
        d->x = (d->x << 8) | mbz_bc_next(d);
    }
    if (d->x < d->x1 || d->x > d->x2 || d->pos > d->len + 3)
        d->error = 1;
    return bit;
}

/* After the last bit: 1 if the payload was consumed exactly as the encoder wrote it. */
static inline int mbz_bc_dec_check_end(const mbz_bc_dec *d)
{
    return !d->error && d->pos == (uint64_t)d->len + 3;
}

#endif
