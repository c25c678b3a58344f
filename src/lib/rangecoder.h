/*
 * rangecoder.h - range coder over 16-bit frequency tables (internal).
 *
 * State: a 56-bit `low` (plus one carry bit) and a `range` kept in [2^48, 2^56).
 * Each symbol scales the range by (range >> 16), so the truncation loss per symbol
 * is below 2^-32 of the range: the output is within a few bytes of the ideal code
 * length sum(-log2 p). Carries are propagated LZMA-style (one cached byte plus a
 * count of pending 0xFF bytes), so bytes are written exactly once.
 *
 * Byte-stream contract (doc/format.md, "Modelled payload"):
 *   - the decoder reads 7 bytes to start and one byte per renormalisation;
 *   - bytes past the end of the payload read as zero (never out of bounds);
 *   - after the last symbol the decoder must have read (counting those virtual
 *     zeros) at least the payload size and at most payload size + MBZ_RC_SLACK.
 */
#ifndef MBZ_RANGECODER_H
#define MBZ_RANGECODER_H

#include <stddef.h>
#include <stdint.h>

#define MBZ_RC_SLACK 8

typedef struct {
    uint64_t low;        /* bits 0..55: low end of the interval; bit 56: carry */
    uint64_t range;
    uint64_t pending;    /* bytes held back: `cache` then pending-1 bytes of 0xFF */
    uint8_t cache;
    int skip_first;      /* the very first byte is always 0; it is not written */
    uint8_t *out;
    size_t cap, pos;
    uint64_t reads;      /* bytes a decoder will have read at this point (7 + renorms) */
    int overflow;        /* output would exceed cap; the encoding is unusable */
} mbz_rc_enc;

typedef struct {
    uint64_t code;       /* offset of the coded value inside the interval */
    uint64_t range;
    const uint8_t *in;
    size_t len;
    uint64_t pos;        /* bytes read, including virtual zeros past the end */
    int error;           /* the payload cannot be a valid encoding */
} mbz_rc_dec;

void mbz_rc_enc_init(mbz_rc_enc *e, uint8_t *out, size_t cap);
/* Encode the symbol occupying [cum, cum + freq) of MBZ_FREQ_TOTAL. freq >= 1. */
void mbz_rc_encode(mbz_rc_enc *e, uint32_t cum, uint32_t freq);
/* Encode `sym` with table `freq` (256 entries summing to MBZ_FREQ_TOTAL). */
void mbz_rc_encode_sym(mbz_rc_enc *e, const uint16_t *freq, unsigned sym);
/* Flush. Returns the payload size (>= 1), or 0 if the output did not fit in cap. */
size_t mbz_rc_enc_finish(mbz_rc_enc *e);

void mbz_rc_dec_init(mbz_rc_dec *d, const uint8_t *in, size_t len);
/* Decode one symbol with table `freq`. On garbage sets d->error and returns 0. */
unsigned mbz_rc_decode_sym(mbz_rc_dec *d, const uint16_t *freq);
/* After the last symbol: 1 if the payload was consumed consistently (see above). */
int mbz_rc_dec_check_end(const mbz_rc_dec *d);

/* (Code lengths: mbz_log2_q16 and mbz_cost_q16 in qmath.h.) */

#endif
