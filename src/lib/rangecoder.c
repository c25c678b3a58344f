/*
 * rangecoder.c - 56-bit range coder with carry propagation (see rangecoder.h).
 */
#include "config.h"
#include "rangecoder.h"
#include "predictor.h"

#define RC_BITS 56
#define RC_MASK ((UINT64_C(1) << RC_BITS) - 1)
#define RC_TOP (UINT64_C(1) << 48)     /* renormalise while range < RC_TOP */
#define RC_SHIFT (RC_BITS - 8)         /* the byte about to leave `low` */
#define RC_INIT_BYTES 7

static void put_byte(mbz_rc_enc *e, uint8_t b)
{
    if (e->skip_first) { /* the leading byte is provably 0: the interval never exceeds 1.0 */
        e->skip_first = 0;
        return;
    }
    if (e->pos < e->cap)
        e->out[e->pos] = b;
    else
        e->overflow = 1;
    e->pos++;
}

/* Move the top byte of `low` out. A byte can still change by a later carry unless
 * it is below 0xFF or a carry has just arrived, so 0xFF bytes are held back. */
static void shift_low(mbz_rc_enc *e)
{
    if ((e->low & RC_MASK) < (UINT64_C(0xFF) << RC_SHIFT) || (e->low >> RC_BITS) != 0) {
        uint8_t carry = (uint8_t)(e->low >> RC_BITS);
        uint8_t b = e->cache;
        while (e->pending) {
            put_byte(e, (uint8_t)(b + carry));
            b = 0xFF;
            e->pending--;
        }
        e->cache = (uint8_t)(e->low >> RC_SHIFT);
    }
    e->pending++;
    e->low = (e->low & ((UINT64_C(1) << RC_SHIFT) - 1)) << 8;
}

void mbz_rc_enc_init(mbz_rc_enc *e, uint8_t *out, size_t cap)
{
    e->low = 0;
    e->range = RC_MASK;
    e->pending = 1;
    e->cache = 0;
    e->skip_first = 1;
    e->out = out;
    e->cap = cap;
    e->pos = 0;
    e->reads = RC_INIT_BYTES;
    e->overflow = 0;
}

void mbz_rc_encode(mbz_rc_enc *e, uint32_t cum, uint32_t freq)
{
    uint64_t r = e->range >> MBZ_FREQ_BITS;
    e->low += r * cum;
    e->range = r * freq;
    while (e->range < RC_TOP) {
        e->range <<= 8;
        e->reads++;
        shift_low(e);
    }
}

void mbz_rc_encode_sym(mbz_rc_enc *e, const uint16_t *freq, unsigned sym)
{
    uint32_t cum = 0;
    for (unsigned i = 0; i < sym; i++)
        cum += freq[i];
    mbz_rc_encode(e, cum, freq[sym]);
}

size_t mbz_rc_enc_finish(mbz_rc_enc *e)
{
    /* Any value in [low, low + range) identifies the message. Round low up to a
     * multiple of 2^48 (possible since range >= 2^48): then only the top byte is
     * non-zero and everything after it can be left to the decoder's virtual zeros. */
    e->low = (e->low + (RC_TOP - 1)) & ~(RC_TOP - 1);
    shift_low(e);
    shift_low(e);
    if (e->overflow)
        return 0;
    /* Trim trailing zeros (they read back as virtual zeros) while the decoder's read
     * count stays within MBZ_RC_SLACK of the payload size. Keep at least one byte. */
    while (e->pos > 1 && e->out[e->pos - 1] == 0 && e->reads <= (uint64_t)(e->pos - 1) + MBZ_RC_SLACK)
        e->pos--;
    if (e->pos == 0) { /* cannot happen (the top byte is always written), but be exact */
        if (e->cap == 0)
            return 0;
        e->out[e->pos++] = 0;
    }
    if (e->reads < e->pos || e->reads > (uint64_t)e->pos + MBZ_RC_SLACK)
        return 0; /* would violate the stream contract: treat as "does not fit" */
    return e->pos;
}

static uint8_t next_byte(mbz_rc_dec *d)
{
    uint8_t b = d->pos < d->len ? d->in[d->pos] : 0;
    d->pos++;
    return b;
}

void mbz_rc_dec_init(mbz_rc_dec *d, const uint8_t *in, size_t len)
{
    d->in = in;
    d->len = len;
    d->pos = 0;
    d->error = 0;
    d->range = RC_MASK;
    d->code = 0;
    for (int i = 0; i < RC_INIT_BYTES; i++)
        d->code = (d->code << 8) | next_byte(d);
}

unsigned mbz_rc_decode_sym(mbz_rc_dec *d, const uint16_t *freq)
{
    uint32_t cum[MBZ_SYMBOLS + 1];
    cum[0] = 0;
    for (int i = 0; i < MBZ_SYMBOLS; i++)
        cum[i + 1] = cum[i] + freq[i];

    uint64_t r = d->range >> MBZ_FREQ_BITS;
    uint64_t v = d->code / r;
    if (v >= MBZ_FREQ_TOTAL) { /* only garbage can point past the table */
        d->error = 1;
        return 0;
    }
    /* Largest s with cum[s] <= v. cum is non-decreasing; freq >= 1 makes it strict. */
    unsigned lo = 0, hi = MBZ_SYMBOLS; /* invariant: cum[lo] <= v < cum[hi] */
    while (hi - lo > 1) {
        unsigned mid = (lo + hi) / 2;
        if (cum[mid] <= v)
            lo = mid;
        else
            hi = mid;
    }
    d->code -= r * cum[lo];
    d->range = r * freq[lo];
    while (d->range < RC_TOP) {
        d->range <<= 8;
        d->code = ((d->code << 8) | next_byte(d)) & RC_MASK;
    }
    /* A valid payload is never read beyond len + MBZ_RC_SLACK (reads only grow, and
     * the end check allows no more), so stop here rather than letting a tiny hostile
     * payload drive millions of model steps on virtual zeros. This bounds decoding
     * work by the payload size: no table gives a symbol more than 65281/65536, so
     * one payload byte covers at most ~1400 symbols. */
    if (d->pos > (uint64_t)d->len + MBZ_RC_SLACK)
        d->error = 1;
    return lo;
}

int mbz_rc_dec_check_end(const mbz_rc_dec *d)
{
    return !d->error && d->pos >= d->len && d->pos <= (uint64_t)d->len + MBZ_RC_SLACK;
}
