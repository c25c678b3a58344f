/*
 * audio.c - the audio model (audio.h; doc/format.md, "Audio blocks").
 *
 * Lossless audio coders (FLAC, Monkey's Audio, OptimFROG, paq8px's audio model, in
 * their published descriptions) predict each sample from the ones before it and
 * code the prediction error; the better the predictor adapts to the signal and the
 * better the error's distribution is modelled, the smaller the file. Ours, per
 * channel, all in integers:
 *
 *   x                 the sample (sign-extended; offset binary made signed;
 *                     revision 2: divided by 2^shift, the low bits that are zero
 *                     in every sample of the block)
 *   d = x - 31/32 x'  a fixed first-order pre-filter (x' the channel's previous
 *                     sample): whitens speech and music, removes DC
 *   OLS               revision 2: least squares over the last 16 d predicts d;
 *                     the stages below see what it leaves
 *   stage 1           a normalised LMS filter (LONG taps) predicts d from the
 *                     channel's past d; its error r1
 *   stage 2           a normalised LMS filter predicts r1 from the channel's past r1
 *                     and, for stereo and more, from the other channel's r1 (the
 *                     channel before's current one: it is coded first)
 *   stage 3           a short normalised LMS filter on stage 2's error
 *   e                 the final error, coded bit by bit: zero or not, its bit length
 *                     in unary, the bits below the leading one, the sign. Each
 *                     decision has adaptive probabilities in contexts of the
 *                     recent error magnitude (two running means).
 *
 *   low bits          revision 3: a sample of more than 24 significant bits
 *                     (32-bit PCM, after the shift) is split; the cascade above
 *                     predicts its top 24 bits, and the bits under them follow
 *                     the error, each in the context of the ones above it
 *
 * The block starts with every filter at zero and every probability at 1/2 (revision
 * 3: at its prior): audio blocks are independent of each other and of the rest of
 * the frame. Revision 1
 * (frames of versions 5 to 11) has neither the shift nor the OLS stage; revision
 * 3 (version 15) is revision 2 with 32-bit samples and priors for the error
 * coder's probabilities (res_priors); revision 4 (from version 16) is revision 3,
 * and a block that holds a whole WAV file may start with its header when it is the
 * canonical one the decoder can write from the parameters (mbz_wav_header): a
 * short recording then costs one block instead of two (a block header and the
 * header's modelled bytes, about 40 bytes, which decided whether a 1 KB recording
 * beat FLAC).
 *
 * Encoding and decoding run the same function (au_code_block) over a coder that
 * either writes the bit it is given or reads it, so the two cannot drift apart.
 */
#include <stdlib.h>
#include <string.h>
#include "audio.h"
#include "internal.h"
#include "ols.h"
#include "qmath.h"
#include "residual.h"

#define LONG 32           /* stage-1 taps */
#define MID 16            /* stage-2 own taps */
#define CROSS 4           /* stage-2 taps of the other channel */
#define SHORT 8           /* stage-3 taps */
#define NMAX (MID + CROSS)

/* ------------------------------------------------------------------ parameters */

size_t mbz_pcm_params_size(int rev)
{
    return rev >= 3 ? 3 : 2;
}

size_t mbz_pcm_params_len(const mbz_pcm *f, int rev)
{
    return mbz_pcm_params_size(rev) + (rev >= 4 && f->wav_header ? 4 : 0);
}

void mbz_pcm_pack(const mbz_pcm *f, uint8_t out[MBZ_PCM_PARAMS_MAX], int rev)
{
    out[0] = (uint8_t)((f->bytes - 1) | (f->big_endian ? 4 : 0) | (f->is_unsigned ? 8 : 0) |
                       (rev < 3 ? f->shift << 4 : 0) | (rev >= 4 && f->wav_header ? 16 : 0));
    out[1] = f->channels;
    if (rev >= 3)
        out[2] = f->shift;
    if (rev >= 4 && f->wav_header)
        mbz_put_le32(out + 3, f->rate);
}

int mbz_pcm_unpack(const uint8_t *in, size_t m, mbz_pcm *f, int rev)
{
    size_t np = mbz_pcm_params_size(rev);
    if (m < np || ((in[0] & 3) == 3 && rev < 3) || in[1] < 1 || in[1] > MBZ_PCM_CHANNELS_MAX)
        return -1;
    f->bytes = (uint8_t)((in[0] & 3) + 1);
    f->big_endian = (in[0] & 4) != 0;
    f->is_unsigned = (in[0] & 8) != 0;
    f->shift = (uint8_t)(rev < 3 ? in[0] >> 4 : in[2]);
    f->wav_header = rev >= 4 && (in[0] & 16);
    f->rate = 0;
    /* revision 1 has no shift; a shift leaves at least one bit of the sample;
     * revision 3 has its shift apart (the high nibble is reserved) and offset
     * binary only for 8-bit samples (as WAV has it); revision 4 takes one bit of
     * the nibble for the WAV header, which only WAV's own layouts have */
    unsigned reserved = rev >= 4 ? 0xe0 : 0xf0;
    if ((f->shift && rev < 2) || f->shift >= 8 * f->bytes ||
        (rev >= 3 && ((in[0] & reserved) || (f->is_unsigned && f->bytes > 1))))
        return -1;
    if (f->wav_header) {
        if (m < np + 4 || f->big_endian || f->is_unsigned != (f->bytes == 1))
            return -1;
        f->rate = mbz_get_le32(in + np);
        if (f->rate == 0)
            return -1;
        np += 4;
    }
    f->channels = in[1];
    return (int)np;
}

void mbz_wav_header(const mbz_pcm *f, uint32_t data_len, uint8_t out[MBZ_WAV_HEADER])
{
    uint32_t align = (uint32_t)f->bytes * f->channels;
    memcpy(out, "RIFF", 4);
    mbz_put_le32(out + 4, 36 + data_len);
    memcpy(out + 8, "WAVEfmt ", 8);
    mbz_put_le32(out + 16, 16);
    mbz_put_le32(out + 20, 1u | (uint32_t)f->channels << 16);   /* tag 1 (PCM), channels */
    mbz_put_le32(out + 24, f->rate);
    mbz_put_le32(out + 28, f->rate * align);                   /* bytes per second, mod 2^32 */
    mbz_put_le32(out + 32, align | (8u * f->bytes) << 16);     /* block align, bits per sample */
    memcpy(out + 36, "data", 4);
    mbz_put_le32(out + 40, data_len);
}

/* ------------------------------------------------------------------ filters */

/* A history of the last n values, newest first, readable as one array: each value
 * is written twice, n apart, so hist + pos is always n contiguous values. */
typedef struct {
    int32_t v[2 * LONG];
    int pos;
} au_hist;

static inline void hist_push(au_hist *h, int n, int32_t x)
{
    h->pos = h->pos == 0 ? n - 1 : h->pos - 1;
    h->v[h->pos] = x;
    h->v[h->pos + n] = x;
}

static inline int32_t clamp32(int64_t x, int32_t lim)
{
    return x > lim ? lim : x < -lim ? -lim : (int32_t)x;
}

/* Normalised LMS over n inputs: prediction sum(w_i x_i) / 2^14; the weights move by
 * mu * err * x_i / (delta + sum x_i^2), mu = 2^-rate: RATE1 for the long stage,
 * NL_RATE for the short ones (measured on the training corpus's speech). */
#ifndef RATE1
#define RATE1 5
#endif
#ifndef NL_RATE
#define NL_RATE 4
#endif
typedef struct {
    int32_t w[LONG > NMAX ? LONG : NMAX];
} au_nlms;

static inline int64_t nlms_predict(const au_nlms *f, const int32_t *x, int n)
{
    int64_t s = 0;
    for (int i = 0; i < n; i++)
        s += (int64_t)f->w[i] * x[i];
    return s >> 14;
}

static inline void nlms_update(au_nlms *f, const int32_t *x, int n, int32_t err, int rate)
{
    int64_t e2 = 256;
    for (int i = 0; i < n; i++)
        e2 += (int64_t)x[i] * x[i];
    /* g = err * 2^(14 + 16 - rate) / e2, bounded so that g * x_i fits */
    int64_t g = ((int64_t)err * ((int64_t)1 << (30 - rate))) / e2;
    g = clamp32(g, 1 << 30);
    for (int i = 0; i < n; i++)
        f->w[i] = clamp32((int64_t)f->w[i] + ((g * x[i]) >> 16), 1 << 20);
}

/* Revision 2's first stage: least squares over the last OLS_N pre-filtered samples
 * (ols.h), solved every 8 samples, forgetting 2^-8 of the sums per sample (about
 * 256 samples; measured on the training corpus's speech: doc/media.md). */
#define OLS_N 16
#define OLS_EVERY 8
#define OLS_FORGET 8
#define OLS_IN_MAX MBZ_OLS_IN_MAX

/* Revision 3: how many significant bits of a sample the cascade predicts. Wider
 * samples (32-bit PCM) keep their lowest bits out of it: no converter resolves
 * more than about 24 bits, so those bits are close to noise that no predictor
 * foresees, and every sum of the cascade stays in the range the 24-bit samples
 * have tested (|e| < 2^25 for the error coder). */
#define SPLIT_BITS 24
#define SPLIT_LOW_MAX 8      /* 32 - SPLIT_BITS: the most bits split off */

/* ------------------------------------------------------------------ channel */

typedef struct {
    int32_t prev;           /* previous sample */
    mbz_ols ols;            /* revision 2 */
    au_hist h0;             /* revision 2: the OLS stage's inputs */
    au_hist h1;             /* pre-filtered samples d (revision 2: less the OLS prediction) */
    au_nlms s1;
    au_hist h2;             /* stage-1 errors */
    au_nlms s2;
    au_hist h3;             /* stage-2 errors */
    au_nlms s3;
    int32_t r1;             /* this sample's stage-1 error (for the next channel) */
    int32_t cross[CROSS];   /* the other channel's stage-1 errors, newest first */
    uint32_t avg_fast, avg_slow;  /* running means of |e|, Q4: the error coder's contexts */
    mbz_res_model res;
    mbz_res_prob low[1 << SPLIT_LOW_MAX];  /* revision 3: the split-off bits, a binary tree */
} au_chan;

/* Code one error e (encoder) or read it (decoder) in the contexts of the channel's
 * recent error sizes; returns it. */
static int32_t code_error(mbz_res_coder *c, au_chan *ch, int32_t e)
{
    int kf = mbz_res_log2((ch->avg_fast >> 4) + 1), ks = mbz_res_log2((ch->avg_slow >> 4) + 1);
    if (kf > MBZ_RES_K1 - 1)
        kf = MBZ_RES_K1 - 1;
    if (ks > MBZ_RES_K2 - 1)
        ks = MBZ_RES_K2 - 1;
    e = mbz_res_code(c, &ch->res, kf, ks, e);
    uint32_t u = e < 0 ? (uint32_t)-(int64_t)e : (uint32_t)e;
    uint32_t a = u > (1u << 24) ? (1u << 24) : u;
    ch->avg_fast += (int32_t)((a << 4) - ch->avg_fast) >> 3;
    ch->avg_slow += (int32_t)((a << 4) - ch->avg_slow) >> 5;
    return e;
}

/* Revision 3: the error coder's probabilities start from priors rather than 1/2,
 * each as sure as PRIOR_N decisions: a short recording (the training corpus's FSDD
 * files are 0.6 s) is over before 1/2 has learnt much. The priors are those of
 * errors with a two-sided geometric (discrete Laplace) distribution of the mean
 * the context k1 says, about 1.5 x 2^k1: zero with probability 2^-(k1 + 1); the
 * bit length above j, given j, exp(-2^d / 1.5) for d = j - 1 - k1 (the table,
 * Q16, d = -4 .. 3, clamped); the bits under the leading one 1 with 0.43 (a
 * falling density). Measured on the training corpus's speech (doc/media.md): FSDD
 * -0.74%, LJSpeech -0.03%; counts of 6 and 80 did less than 24. */
#define PRIOR_N 24
static void res_priors(mbz_res_model *m)
{
    static const uint16_t more[8] = { 62915, 60293, 55705, 47186, 33423, 17039, 4588, 655 };
    for (int k1 = 0; k1 < MBZ_RES_K1; k1++) {
        uint16_t z = (uint16_t)(32768 >> (k1 < 12 ? k1 : 12));
        for (int k2 = 0; k2 < MBZ_RES_K2; k2++)
            m->zero[k1][k2] = (mbz_res_prob){ z, z, PRIOR_N };
        for (int j = 1; j <= MBZ_RES_LMAX; j++) {
            int d = j - 1 - k1 + 4;
            d = d < 0 ? 0 : d > 7 ? 7 : d;
            m->len[k1][j] = (mbz_res_prob){ more[d], more[d], PRIOR_N };
        }
    }
    for (int L = 2; L <= MBZ_RES_LMAX; L++)
        for (int v = 0; v < 4; v++)
            m->mant[L][v] = (mbz_res_prob){ 28000, 28000, PRIOR_N };
}

/* Revision 3: code (or read) the `bits` low bits v of a split sample, the highest
 * first, each by its place in a binary tree of the bits above it; returns them. */
static uint32_t code_low(mbz_res_coder *c, au_chan *ch, uint32_t v, int bits)
{
    uint32_t node = 1;
    for (int b = bits - 1; b >= 0; b--)
        node = (node << 1) | (uint32_t)mbz_res_code_bit(c, &ch->low[node], (int)(v >> b) & 1);
    return node & ((1u << bits) - 1);
}

/* Predict, code (or read) and learn one sample x of channel ch, which lies in
 * lo .. hi, with revision rev of the model; returns x. */
static int32_t code_sample(mbz_res_coder *c, au_chan *ch, int32_t x, int32_t lo, int32_t hi, int rev)
{
    int32_t p0 = (int32_t)(((int64_t)ch->prev * 31) >> 5);
    const int32_t *in0 = ch->h0.v + ch->h0.pos;
    int32_t po = rev < 2 ? 0 : (int32_t)mbz_clamp64(mbz_ols_predict(&ch->ols, in0), -(1 << 26), 1 << 26);
    p0 += po;
    const int32_t *in1 = ch->h1.v + ch->h1.pos;
    int32_t p1 = clamp32(nlms_predict(&ch->s1, in1, LONG), 1 << 26);
    int32_t in2[NMAX];
    memcpy(in2, ch->h2.v + ch->h2.pos, MID * sizeof *in2);
    memcpy(in2 + MID, ch->cross, CROSS * sizeof *in2);
    int32_t p2 = clamp32(nlms_predict(&ch->s2, in2, NMAX), 1 << 26);
    const int32_t *in3 = ch->h3.v + ch->h3.pos;
    int32_t p3 = clamp32(nlms_predict(&ch->s3, in3, SHORT), 1 << 26);
    int32_t pred = p0 + p1 + p2 + p3;
    pred = pred < lo ? lo : pred > hi ? hi : pred;    /* so |e| < 2^24 */
    int32_t e = code_error(c, ch, x - pred);
    x = pred + e;
    int32_t d = x - p0, r1 = d - p1, r2 = r1 - p2;
    if (rev >= 2) {
        int32_t y = (int32_t)mbz_clamp64((int64_t)d + po, -OLS_IN_MAX, OLS_IN_MAX);
        mbz_ols_learn(&ch->ols, in0, y);
        hist_push(&ch->h0, OLS_N, y);
    }
    nlms_update(&ch->s1, in1, LONG, r1, RATE1);
    nlms_update(&ch->s2, in2, NMAX, r2, NL_RATE);
    nlms_update(&ch->s3, in3, SHORT, r2 - p3, NL_RATE);
    /* histories: clamp so that products and sums stay far inside 64 bits */
    hist_push(&ch->h1, LONG, clamp32(d, 1 << 24));
    hist_push(&ch->h2, MID, clamp32(r1, 1 << 24));
    hist_push(&ch->h3, SHORT, clamp32(r2, 1 << 24));
    ch->r1 = clamp32(r1, 1 << 24);
    ch->prev = x;
    return x;
}

/* ------------------------------------------------------------------ blocks */

static int32_t sample_get(const mbz_pcm *f, const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 0; i < f->bytes; i++)
        v |= (uint32_t)p[f->big_endian ? f->bytes - 1 - i : i] << (8 * i);
    int bits = 8 * f->bytes;
    if (f->is_unsigned)
        return (int32_t)v - (int32_t)(1u << (bits - 1));
    uint32_t sign = 1u << (bits - 1);
    return (int32_t)((v ^ sign) - sign);
}

static void sample_put(const mbz_pcm *f, uint8_t *p, int32_t x)
{
    int bits = 8 * f->bytes;
    uint32_t v = f->is_unsigned ? (uint32_t)(x + (int32_t)(1u << (bits - 1))) : (uint32_t)x;
    for (int i = 0; i < f->bytes; i++)
        p[f->big_endian ? f->bytes - 1 - i : i] = (uint8_t)(v >> (8 * i));
}

/* Revision 2: the number of low bits that are zero in every sample of the block
 * (at most 15; revision 3: at most 8 x bytes - 1): 8-bit recordings stored as
 * 16-bit samples have 8, and coding them as they are would spend bits on zeros the
 * predictions cannot foresee (FLAC's "wasted bits"). All samples zero: 0. */
static int pcm_shift(const mbz_pcm *f, const uint8_t *data, size_t n, int rev)
{
    size_t count = n / f->bytes;
    uint32_t any = 0;
    for (size_t i = 0; i < count && !(any & 1); i++)
        any |= (uint32_t)sample_get(f, data + i * f->bytes);
    int shift = 0, max = rev >= 3 ? 8 * f->bytes - 1 : 15;
    while (any && !(any & 1) && shift < max) {
        any >>= 1;
        shift++;
    }
    return shift < 8 * f->bytes ? shift : 0;
}

/* Code (or read) the n bytes of data. Samples are range-checked on decoding: a
 * value outside the format's range means the payload is not ours. */
static int au_code_block(mbz_res_coder *c, const mbz_pcm *f, int rev, uint8_t *data, size_t n)
{
    int nc = f->channels, fb = f->bytes * nc, shift = f->shift;
    mbz_res_init();
    au_chan *ch = calloc((size_t)nc, sizeof *ch);
    if (!ch)
        return -2;
    for (int k = 0; k < nc; k++) {
        mbz_res_model_init(&ch[k].res);
        if (rev >= 3)
            res_priors(&ch[k].res);
        mbz_ols_init(&ch[k].ols, OLS_N, OLS_EVERY, OLS_FORGET);
        for (int j = 0; j < 1 << SPLIT_LOW_MAX; j++)
            ch[k].low[j] = (mbz_res_prob){ 32768, 32768, 0 };
    }
    /* the significant bits of a sample, and how many of them are split off (only
     * 32-bit samples have more than SPLIT_BITS: revision 3) */
    int bits = 8 * f->bytes - shift, split = bits > SPLIT_BITS ? bits - SPLIT_BITS : 0;
    /* the range of the part the cascade predicts: x / 2^(shift + split) lies in lo .. hi */
    int32_t lo = -(int32_t)(1u << (bits - split - 1)), hi = -lo - 1;
    size_t frames = n / (size_t)fb, i;
    int rc = 0;
    for (i = 0; i < frames && rc == 0; i++) {
        uint8_t *p = data + i * (size_t)fb;
        for (int k = 0; k < nc; k++) {
            au_chan *a = &ch[k];
            /* the other channel: the one before (coded already), channel 0 the next */
            if (nc > 1) {
                memmove(a->cross + 1, a->cross, (CROSS - 1) * sizeof *a->cross);
                a->cross[0] = ch[k ? k - 1 : 1].r1;
            }
            /* exact: the encoder's shift leaves only zero bits out; the split
             * rounds down (xs = x 2^split + v, 0 <= v < 2^split) */
            int32_t x = 0;
            uint32_t v = 0;
            if (!c->decoding) {
                int32_t xs = sample_get(f, p + k * f->bytes) / (1 << shift);
                v = (uint32_t)xs & ((1u << split) - 1);
                x = (int32_t)(((int64_t)xs - v) / ((int64_t)1 << split));
            }
            x = code_sample(c, a, x, lo, hi, rev);
            if (split)
                v = code_low(c, a, v, split);
            if (c->decoding) {
                if (x < lo || x > hi || c->dec.error) {
                    rc = -1;
                    break;
                }
                int64_t xs = (int64_t)x * ((int64_t)1 << split) + v;
                sample_put(f, p + k * f->bytes, (int32_t)(xs * (1 << shift)));
            }
        }
    }
    /* the bytes after the last whole frame, as they are */
    for (size_t j = frames * (size_t)fb; j < n && rc == 0; j++) {
        int v = 0;
        for (int b = 7; b >= 0; b--)
            v = (v << 1) | mbz_res_bit(c, (data[j] >> b) & 1, 32768);
        data[j] = (uint8_t)v;
    }
    free(ch);
    return rc;
}

size_t mbz_audio_encode(const mbz_pcm *f, const uint8_t *data, size_t n, uint8_t *out,
                        size_t cap, int rev)
{
    size_t np = mbz_pcm_params_len(f, rev);
    if (cap <= np || (f->bytes == 4 && rev < 3) || (f->is_unsigned && f->bytes > 1 && rev >= 3) ||
        (f->wav_header && rev < 4))
        return 0;
    if (f->wav_header) {
        /* the header the decoder will write must be the one that is there */
        uint8_t h[MBZ_WAV_HEADER];
        if (n < MBZ_WAV_HEADER || n - MBZ_WAV_HEADER > UINT32_MAX - 36 || f->rate == 0)
            return 0;
        mbz_wav_header(f, (uint32_t)(n - MBZ_WAV_HEADER), h);
        if (memcmp(h, data, MBZ_WAV_HEADER) != 0)
            return 0;
        data += MBZ_WAV_HEADER;
        n -= MBZ_WAV_HEADER;
    }
    mbz_pcm g = *f;
    g.shift = (uint8_t)(rev >= 2 ? pcm_shift(f, data, n - n % ((size_t)f->bytes * f->channels), rev) : 0);
    mbz_pcm_pack(&g, out, rev);
    mbz_res_coder c;
    memset(&c, 0, sizeof c);
    mbz_bc_enc_init(&c.enc, out + np, cap - np);
    /* the encoder only reads data; au_code_block writes it only when decoding */
    if (au_code_block(&c, &g, rev, (uint8_t *)(uintptr_t)data, n) != 0)
        return 0;
    size_t k = mbz_bc_enc_finish(&c.enc);
    return k ? k + np : 0;
}

int mbz_audio_decode(const uint8_t *payload, size_t m, uint8_t *out, size_t n, int rev)
{
    mbz_pcm f;
    int np = mbz_pcm_unpack(payload, m, &f, rev);
    if (np < 0 || m < (size_t)np + 1)
        return -1;
    if (f.wav_header) {
        if (n < MBZ_WAV_HEADER || n - MBZ_WAV_HEADER > UINT32_MAX - 36)
            return -1;
        mbz_wav_header(&f, (uint32_t)(n - MBZ_WAV_HEADER), out);
        out += MBZ_WAV_HEADER;
        n -= MBZ_WAV_HEADER;
    }
    mbz_res_coder c;
    memset(&c, 0, sizeof c);
    c.decoding = 1;
    mbz_bc_dec_init(&c.dec, payload + np, m - np);
    int rc = au_code_block(&c, &f, rev, out, n);
    if (rc == 0 && !mbz_bc_dec_check_end(&c.dec))
        rc = -1;
    return rc;
}
