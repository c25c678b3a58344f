/*
 * image.c - the image model (image.h; doc/format.md, "Image blocks"; doc/media.md).
 *
 * Lossless image coders (LOCO-I/JPEG-LS, CALIC, the weighted predictor of JPEG XL,
 * paq8px's image models, in their published descriptions) predict each sample from
 * its neighbours in the row above and to the left, and code the error in contexts
 * of the local activity. Ours, per sample, all in integers:
 *
 *   neighbours     W (left), N (above), NW, NE, of the same channel; at the first
 *                  row of a block and the first column they fall back on the ones
 *                  that exist (a block starts without the rows before it)
 *   predictors     the median edge detector of LOCO-I, the gradient W + N - NW,
 *                  W + NE - N, N, W, (N + NE) / 2; revision 3 (frame version 12)
 *                  adds least squares over the neighbours and the channels before
 *                  (ols.h) and the channels' gradients carried over
 *                  (rev3_predictors); revision 4 (frame version 14), for the
 *                  first channel (a grey image's only one), 2W - WW, (W + NE) / 2,
 *                  NE + (NE - NNE), N + NW - NNW and (W + N) / 2
 *   blend          each predictor's weight is 2^40 / (2 + s)^2, s the sum of its
 *                  absolute errors at N, W, NW and NE: the one that has been right
 *                  around this pixel counts most (the idea of JPEG XL's weighted
 *                  predictor); the prediction is the weighted mean, rounded.
 *                  Revision 3 adds WW, NWW and NEE to s; revision 4, for channel
 *                  k > 0, three times the same predictor's error in the channel
 *                  before at this very pixel (the first 7 predictors; from k = 2
 *                  the carried-over gradients too) and once the one two before's
 *   channels       from the second channel of a pixel on, 0, 1/4, 1/2, 3/4 or all
 *                  of the error of the channel before at the same pixel is added
 *                  (colour channels move together), the fraction whose prediction
 *                  has erred least lately (decayed sums of |error|, by 1/16 a
 *                  pixel; revision 3: none); then the prediction is clamped to
 *                  the sample range
 *   error          coded by residual.h, in contexts of the smallest error sum of
 *                  the predictors (how busy the neighbourhood is) and of the
 *                  channel before's error (for the first channel, W's and N's);
 *                  in revision 2 (frame version 10) through its mixed coder, with
 *                  four more contexts (resx_rows), in revision 3 six, in revision
 *                  4 seven and the predictors' deviations (deviations())
 *
 * Measured on the training corpus's images (doc/media.md): the blend of six beat
 * the median predictor alone by 5%; a fixed half of the channel before's error beat
 * none and all of it, the adaptive fraction beat the fixed half by 1.3% (ihc.ppm
 * 6%); CALIC's bias cancellation and a second context averaged into the error
 * coder's probabilities gained nothing worth their code. Revision 2's mixed error
 * coder took 4.0% off those images, revision 3 10.4% more, revision 4 1.6% more
 * (and 7% off four held-out Debian backgrounds; doc/media.md).
 *
 * Every image block starts afresh and is independent of the rest of the frame.
 */
#include <stdlib.h>
#include <string.h>
#include "image.h"
#include "bilevel.h"
#include "ols.h"
#include "residual.h"

/* Predictors: six in revisions 1 and 2; revision 3 adds least squares (OLS) over
 * the neighbours and the channels before, for channel k > 0 the gradients of the
 * channel before carried over (W, N, NE, NW and their mean), of the one before that
 * too from k = 2, and N + (N - NN): 8, 13 or 15; revision 4, for the first channel,
 * five more (rev3_predictors): 13. For the channels after it those five made the
 * blend worse (ihc.ppm 0.8%); for the first channel of colour images they pay
 * (-0.16%). */
#define NPRED 20
#define OLS_OWN 5          /* W, N, NW, NE, WW */
#define OLS_CROSS 3        /* per channel before (at most two): it, its W and N */
#define OLS_EVERY 4
#define OLS_FORGET 5       /* about 32 samples: images change faster than sound */

void mbz_img_pack(const mbz_img *f, uint8_t out[MBZ_IMG_PARAMS])
{
    out[0] = (uint8_t)(f->bilevel ? 4 : f->bytes == 2 ? (f->big_endian ? 3 : 1) : 0);
    out[1] = f->channels;
    out[2] = f->pad;
    for (int i = 0; i < 4; i++)
        out[3 + i] = (uint8_t)(f->width >> (8 * i));
}

int mbz_img_unpack(const uint8_t in[MBZ_IMG_PARAMS], mbz_img *f, int rev)
{
    uint32_t w = (uint32_t)in[3] | (uint32_t)in[4] << 8 | (uint32_t)in[5] << 16 | (uint32_t)in[6] << 24;
    if (in[0] & 0xf8 || ((in[0] & 2) && !(in[0] & 1)) || in[1] < 1 ||
        in[1] > MBZ_IMG_CHANNELS_MAX || in[2] > 3 || w < 1 || w > MBZ_IMG_WIDTH_MAX)
        return -1;
    /* 1-bit pixels: one channel, no sample-size bits */
    f->bilevel = (in[0] & 4) != 0;
    if (f->bilevel && (rev < 2 || (in[0] & 3) || in[1] != 1))
        return -1;
    f->bytes = (uint8_t)((in[0] & 1) + 1);
    f->big_endian = (in[0] & 2) != 0;
    f->channels = in[1];
    f->pad = in[2];
    f->width = w;
    return 0;
}

typedef struct {
    int32_t *val[2];              /* samples of the row above [0] and this row [1] */
    int32_t *val2;                /* revision 3: the row two above */
    uint32_t *err[NPRED][2];      /* each predictor's |error|, same rows */
    int32_t *res[2];              /* the blended prediction's error, same rows */
    mbz_res_model res_model;
    uint32_t colour_err[5];       /* decayed |errors| of adding 0, 1/4 .. 1 of prev_err */
    mbz_ols ols;                  /* revision 3: least squares over the neighbours */
} img_chan;

typedef struct {
    img_chan ch[MBZ_IMG_CHANNELS_MAX];
    mbz_res_model pad_model;      /* row padding bytes (zeros, mostly) */
    int rev;                      /* the model's revision (image.h) */
    mbz_resx resx;                /* revision 2: the mixed error coder's tables */
    void *mem;
} img_state;

/* Revisions 2 to 4's contexts of an error, beside residual.h's k1 and k2 (each of
 * the differences below quantized by q7 to 7 levels: sign and 0, 1-2, 3-11, 12+):
 *   0  k2, and the neighbours W and N against the prediction (12 x 49)
 *   1  k1, the channel, the prediction's top 3 bits (16 x 4 x 8)
 *   2  the channel, the channel before's error at this pixel, the errors at W
 *      and N (4 x 343)
 *   3  the channel, three predictors against the prediction: the median edge
 *      detector, W + N - NW, W + NE - N (4 x 343); revision 3: the OLS and the
 *      first two gradients carried over (for channel 0, W + N - NW, W + NE - N)
 * and revision 3's two more:
 *   4  the channel, the errors at NW, NE and WW (4 x 343)
 *   5  the channel, the three local gradients W - NW, NW - N, N - NE quantized
 *      by q9 (4 x 729)
 * Revision 4 (frame version 14): table 1 has the error sums' scale in half octaves
 * (kfine, 40) where it had k1, and one more table:
 *   6  the channel, the column and row modulo 8, k1 in 4 steps (4 x 64 x 4): many
 *      photographs were JPEGs once, and their 8 x 8 blocks' edges err more
 *      (chelsea.ppm 0.7% smaller) */
static const uint32_t resx_rows[MBZ_RESX_CTX] = { 12 * 49, 16 * 4 * 8, 4 * 343, 4 * 343, 4 * 343, 4 * 729, 0 };
static const uint32_t resx_rows4[MBZ_RESX_CTX] = { 12 * 49, 40 * 4 * 8, 4 * 343, 4 * 343, 4 * 343, 4 * 729, 4 * 64 * 4 };

/* a gradient, 9 levels (JPEG-LS's thresholds at 8 bits) */
static inline uint32_t q9(int32_t d)
{
    uint32_t a = (uint32_t)(d < 0 ? -(int64_t)d : d);
    uint32_t b = a == 0 ? 0 : a < 3 ? 1 : a < 7 ? 2 : a < 21 ? 3 : 4;
    return d < 0 ? 4 - b : 4 + b;
}

static inline uint32_t q7(int32_t d)
{
    uint32_t a = (uint32_t)(d < 0 ? -(int64_t)d : d), b = a == 0 ? 0 : a < 3 ? 1 : a < 12 ? 2 : 3;
    return d < 0 ? 3 - b : 3 + b;
}

static int state_init(img_state *s, const mbz_img *f)
{
    if (s->rev >= 2 && mbz_resx_init(&s->resx, s->rev >= 4 ? 7 : s->rev >= 3 ? 6 : 4, s->rev >= 4 ? resx_rows4 : resx_rows, s->rev) != 0)
        return -2;
    size_t w = f->width + 2;      /* a spare sample each side: no edge tests inside */
    size_t per = 2 * w * (sizeof(int32_t) * 2 + sizeof(uint32_t) * NPRED) + w * sizeof(int32_t);
    s->mem = calloc(f->channels, per);
    if (!s->mem)
        return -2;
    uint8_t *p = s->mem;
    for (int c = 0; c < f->channels; c++) {
        img_chan *ch = &s->ch[c];
        for (int r = 0; r < 2; r++) {
            ch->val[r] = (int32_t *)p + 1;
            p += w * sizeof(int32_t);
            ch->res[r] = (int32_t *)p + 1;
            p += w * sizeof(int32_t);
            for (int i = 0; i < NPRED; i++) {
                ch->err[i][r] = (uint32_t *)p + 1;
                p += w * sizeof(uint32_t);
            }
        }
        ch->val2 = (int32_t *)p + 1;
        p += w * sizeof(int32_t);
        mbz_res_model_init(&ch->res_model);
        mbz_ols_init(&ch->ols, OLS_OWN + OLS_CROSS * (c < 2 ? c : 2), OLS_EVERY, OLS_FORGET);
    }
    mbz_res_model_init(&s->pad_model);
    return 0;
}

static inline int32_t med(int32_t w, int32_t n, int32_t nw)
{
    int32_t lo = w < n ? w : n, hi = w < n ? n : w;
    return nw >= hi ? lo : nw <= lo ? hi : w + n - nw;
}

/* revision 4: the error sums' scale in half octaves, 0 .. 39 */
static inline uint32_t kfine(uint32_t v)
{
    int l = mbz_res_log2(v + 1);
    uint32_t f = l ? ((v + 1) >> (l - 1)) & 1 : 0, b = 2 * (uint32_t)l + f;
    return b > 39 ? 39 : b;
}

static inline int bucket(uint32_t v, int max)
{
    int k = mbz_res_log2(v + 1);
    return k > max ? max : k;
}

/* Revision 3's predictors of sample k of pixel x (its neighbours w, n, nw, ne, as
 * code_row found them; `first`: no row above, `early`: no row two above): pr[6]
 * from the OLS, whose inputs go to oin (to learn from once the sample is known),
 * from pr[7] on, for k > 0, the gradients of the channels before carried over to
 * this one (colour planes move together: JPEG XL's and paq8px's colour predictors
 * do this), then N + (N - NN); revision 4, for the first channel (k = 0), five
 * more.
 * Returns the number of predictors. */
static int rev3_predictors(const img_state *s, int k, long x, int first, int early, uint32_t W,
                           int32_t maxv, int32_t w, int32_t n, int32_t nw, int32_t ne, int32_t *pr,
                           int32_t *oin)
{
    const img_chan *ch = &s->ch[k];
    int np = 7;
    if (k) {
        const img_chan *a = &s->ch[k - 1];
        int32_t a0 = a->val[1][x], aw = x ? a->val[1][x - 1] : a0, an = first ? a0 : a->val[0][x];
        int32_t anw = first ? aw : x ? a->val[0][x - 1] : an;
        int32_t ane = first ? a0 : x + 1 < (long)W ? a->val[0][x + 1] : an;
        pr[np++] = w + a0 - aw;
        pr[np++] = n + a0 - an;
        pr[np++] = ne + a0 - ane;
        pr[np++] = nw + a0 - anw;
        pr[np++] = (w + n + 2 * a0 - aw - an + 1) >> 1;
        if (k >= 2) {
            const img_chan *b = &s->ch[k - 2];
            int32_t b0 = b->val[1][x], bw = x ? b->val[1][x - 1] : b0, bn = first ? b0 : b->val[0][x];
            pr[np++] = w + b0 - bw;
            pr[np++] = n + b0 - bn;
        }
    }
    pr[np++] = 2 * n - (early ? n : ch->val2[x]);   /* N + (N - NN) */
    if (s->rev >= 4 && !k) {
        int32_t ww = x >= 2 ? ch->val[1][x - 2] : w;
        int32_t nne = early || x + 1 >= (long)W ? ne : ch->val2[x + 1];
        int32_t nnw = early || !x ? nw : ch->val2[x - 1];
        pr[np++] = 2 * w - ww;
        pr[np++] = (w + ne + 1) >> 1;
        pr[np++] = ne + ne - nne;
        pr[np++] = n + nw - nnw;
        pr[np++] = (w + n + 1) >> 1;
    }
    int no = 0;
    oin[no++] = w;
    oin[no++] = n;
    oin[no++] = nw;
    oin[no++] = ne;
    oin[no++] = x >= 2 ? ch->val[1][x - 2] : w;
    for (int j = k - 1; j >= 0 && j >= k - 2; j--) {
        const img_chan *cj = &s->ch[j];
        oin[no++] = cj->val[1][x];
        oin[no++] = x ? cj->val[1][x - 1] : cj->val[1][x];
        oin[no++] = first ? cj->val[1][x] : cj->val[0][x];
    }
    int64_t op = mbz_ols_predict(&ch->ols, oin);
    pr[6] = (int32_t)(op < -maxv ? -maxv : op > 2 * maxv ? 2 * maxv : op);
    return np;
}

/* Revision 4: what the error coder is told of the other opinions about sample k
 * at x (residual.h): the errors already known around it (the channel before's at
 * this pixel, W's, N's), then each predictor's deviation from the prediction pred
 * (the OLS, the median, the gradients, ...), then, where there is room, the errors
 * at NW, NE and WW. */
static void deviations(const img_chan *ch, int k, long x, int first, uint32_t W, const int32_t *pr,
                       int npred, int32_t pred, int32_t prev_err, int32_t *dev)
{
    const int32_t *r0 = ch->res[0], *r1 = ch->res[1];
    int nd = 0;
    dev[nd++] = k ? prev_err : 0;
    dev[nd++] = x ? r1[x - 1] : 0;
    dev[nd++] = first ? 0 : r0[x];
    static const int order[7] = { 6, 0, 1, 2, 3, 4, 5 };   /* the OLS first */
    for (int i = 0; i < 7; i++)
        dev[nd++] = pr[order[i]] - pred;
    for (int i = 7; i < npred && nd < MBZ_RESX_DEV; i++)
        dev[nd++] = pr[i] - pred;
    const int32_t more[3] = { first || !x ? 0 : r0[x - 1], first || x + 1 >= (long)W ? 0 : r0[x + 1],
                              x < 2 ? 0 : r1[x - 2] };
    for (int i = 0; i < 3 && nd < MBZ_RESX_DEV; i++)
        dev[nd++] = more[i];
    while (nd < MBZ_RESX_DEV)
        dev[nd++] = 0;
}

/* Code (or read) one row of samples: row y of the block (first: y = 0, no row
 * above; early: y <= 1, no row two above). */
static int code_row(mbz_res_coder *c, img_state *s, const mbz_img *f, uint8_t *row, int first,
                    int early, size_t y)
{
    int nc = f->channels, B = f->bytes;
    int32_t maxv = B == 2 ? 65535 : 255, mid = (maxv + 1) / 2;
    int gs = B == 2 ? 8 : 0;          /* revision 3's gradient contexts: on an 8-bit scale */
    uint32_t W = f->width;
    for (long x = 0; x < (long)W; x++) {
        int32_t prev_err = 0;
        for (int k = 0; k < nc; k++) {
            img_chan *ch = &s->ch[k];
            const int32_t *up = ch->val[0], *cur = ch->val[1];
            int32_t n, w, nw, ne;
            if (first) {
                n = nw = ne = x ? cur[x - 1] : mid;
                w = n;
            } else {
                n = up[x];
                w = x ? cur[x - 1] : n;
                nw = x ? up[x - 1] : n;
                ne = x + 1 < (long)W ? up[x + 1] : n;
            }
            int32_t m = med(w, n, nw);
            int32_t pr[NPRED] = { m, w + n - nw, w + ne - n, n, w, (n + ne + 1) >> 1 };
            int npred = 6;
            int32_t oin[MBZ_OLS_MAX];
            if (s->rev >= 3)
                npred = rev3_predictors(s, k, x, first, early, W, maxv, w, n, nw, ne, pr, oin);
            int64_t num = 0, den = 0, esum = 0;
            uint32_t best = UINT32_MAX;
            for (int i = 0; i < npred; i++) {
                const uint32_t *eu = ch->err[i][0], *ec = ch->err[i][1];
                /* the row above's errors are 0 at the first row (state starts zeroed,
                 * and the first row's are stored after it is coded) */
                uint32_t sum = (first ? 0 : eu[x] + eu[x - 1] + eu[x + 1]) + (x ? ec[x - 1] : 0);
                if (s->rev >= 3)      /* and at WW, NWW and NEE */
                    sum += (x >= 2 ? ec[x - 2] : 0) + (!first && x >= 2 ? eu[x - 2] : 0) +
                           (!first && x + 2 < (long)W ? eu[x + 2] : 0);
                /* revision 4: and the same predictor's error in the channel before
                 * at this pixel, three times (the first 7 predictors mean the same
                 * in every channel; from k = 2 the 5 carried-over gradients too),
                 * and in the one two before, once */
                if (s->rev >= 4 && k && i < (k >= 2 ? 12 : 7))
                    sum += 3 * s->ch[k - 1].err[i][1][x] + (k >= 2 && i < 7 ? s->ch[k - 2].err[i][1][x] : 0);
                if (sum < best)
                    best = sum;
                int64_t wt = ((int64_t)1 << 40) / (((int64_t)sum + 2) * ((int64_t)sum + 2));
                num += wt * pr[i];
                den += wt;
                esum += wt * sum;     /* wt sum < 2^39 */
            }
            int64_t p = num >= 0 ? (num + den / 2) / den : -((-num + den / 2) / den);
            /* revision 3: how busy the neighbourhood is, as the blend sees it: the
             * predictors' error sums weighted as their predictions are */
            if (s->rev >= 3)
                best = (uint32_t)(esum / den);
            /* colour channels move together: add 0, a half or all of the channel
             * before's error at this pixel, whichever has done best lately
             * (revision 3: none; its predictors see the channels before) */
            int64_t cand[5] = { p, p + prev_err / 4, p + prev_err / 2, p + prev_err * 3 / 4, p + prev_err };
            int a = 2;
            if (s->rev >= 3)
                a = 0;
            else
                for (int i = 0; i < 5; i++)
                    if (ch->colour_err[i] < ch->colour_err[a])
                        a = i;
            p = cand[a];
            int32_t pred = p < 0 ? 0 : p > maxv ? maxv : (int32_t)p;
            int32_t v = 0;
            uint8_t *sp = row + ((size_t)x * nc + k) * B;
            if (!c->decoding)
                v = B == 2 ? (f->big_endian ? sp[0] << 8 | sp[1] : sp[1] << 8 | sp[0]) : sp[0];
            /* the error coder's second context: the channel before's error at this
             * pixel, or for the first channel the errors at W and N */
            int32_t ctx_err = k ? prev_err : (x ? ch->res[1][x - 1] : 0);
            uint32_t actx = (uint32_t)(ctx_err < 0 ? -ctx_err : ctx_err);
            if (!k && !first)
                actx += (uint32_t)(ch->res[0][x] < 0 ? -ch->res[0][x] : ch->res[0][x]);
            int k1 = bucket(best >> 1, MBZ_RES_K1 - 1), k2 = bucket(actx, MBZ_RES_K2 - 1);
            int32_t e;
            if (s->rev >= 2) {
                uint32_t ctx[MBZ_RESX_CTX] = {
                    (uint32_t)k2 * 49 + q7(w - pred) * 7 + q7(n - pred),
                    ((s->rev >= 4 ? kfine(best) : (uint32_t)k1) * 4 + (uint32_t)k) * 8 + (uint32_t)(pred >> (B == 2 ? 13 : 5)),
                    (((uint32_t)k * 7 + q7(k ? prev_err : 0)) * 7 + q7(x ? ch->res[1][x - 1] : 0)) * 7 +
                        q7(first ? 0 : ch->res[0][x]),
                    s->rev >= 3 ? (((uint32_t)k * 7 + q7(pr[6] - pred)) * 7 + q7(k ? pr[7] - pred : pr[1] - pred)) * 7 +
                                      q7(k ? pr[8] - pred : pr[2] - pred)
                                : (((uint32_t)k * 7 + q7(m - pred)) * 7 + q7(pr[1] - pred)) * 7 + q7(pr[2] - pred),
                    first ? 0 : (((uint32_t)k * 7 + q7(x ? ch->res[0][x - 1] : 0)) * 7 +
                                 q7(x + 1 < (long)W ? ch->res[0][x + 1] : 0)) * 7 + q7(x >= 2 ? ch->res[1][x - 2] : 0),
                    (((uint32_t)k * 9 + q9((w - nw) >> gs)) * 9 + q9((nw - n) >> gs)) * 9 + q9((n - ne) >> gs),
                    (((uint32_t)k * 8 + (uint32_t)(x & 7)) * 8 + (uint32_t)(y & 7)) * 4 +
                        (uint32_t)(k1 < 4 ? 0 : k1 < 7 ? 1 : k1 < 10 ? 2 : 3),
                };
                int32_t dev[MBZ_RESX_DEV];
                if (s->rev >= 4)
                    deviations(ch, k, x, first, W, pr, npred, pred, prev_err, dev);
                e = mbz_resx_code(c, &s->resx, &ch->res_model, k1, k2, ctx, dev, v - pred);
            } else {
                e = mbz_res_code(c, &ch->res_model, k1, k2, v - pred);
            }
            v = pred + e;
            if (c->decoding) {
                if (v < 0 || v > maxv || c->dec.error)
                    return -1;
                if (B == 2) {
                    sp[f->big_endian ? 0 : 1] = (uint8_t)(v >> 8);
                    sp[f->big_endian ? 1 : 0] = (uint8_t)v;
                } else {
                    sp[0] = (uint8_t)v;
                }
            }
            ch->val[1][x] = v;
            ch->res[1][x] = e;
            for (int i = 0; i < npred; i++) {
                int32_t d = v - pr[i];
                ch->err[i][1][x] = (uint32_t)(d < 0 ? -d : d);
            }
            if (s->rev >= 3)
                mbz_ols_learn(&ch->ols, oin, v);
            for (int i = 0; i < 5; i++) {
                int64_t q = cand[i] < 0 ? 0 : cand[i] > maxv ? maxv : cand[i];
                uint32_t d = (uint32_t)(v > q ? v - q : q - v);
                ch->colour_err[i] += d - (ch->colour_err[i] >> 4);
            }
            prev_err = e;
        }
    }
    /* the padding, then the rows move up */
    for (int j = 0; j < f->pad; j++) {
        uint8_t *pp = row + (size_t)W * nc * B + j;
        int32_t v = mbz_res_code(c, &s->pad_model, 0, 0, c->decoding ? 0 : *pp);
        if (c->decoding) {
            if (v < 0 || v > 255 || c->dec.error)
                return -1;
            *pp = (uint8_t)v;
        }
    }
    for (int k = 0; k < nc; k++) {
        img_chan *ch = &s->ch[k];
        int32_t *t = ch->val2;
        ch->val2 = ch->val[0];
        ch->val[0] = ch->val[1];
        ch->val[1] = t;
        t = ch->res[0];
        ch->res[0] = ch->res[1];
        ch->res[1] = t;
        for (int i = 0; i < NPRED; i++) {
            uint32_t *u = ch->err[i][0];
            ch->err[i][0] = ch->err[i][1];
            ch->err[i][1] = u;
            ch->err[i][0][-1] = ch->err[i][0][0];      /* edges: as the nearest */
            ch->err[i][0][W] = ch->err[i][0][W - 1];
        }
    }
    return 0;
}

static int img_code_block(mbz_res_coder *c, const mbz_img *f, int rev, uint8_t *data, size_t n)
{
    mbz_res_init();
    size_t stride = mbz_img_stride(f), rows = n / stride;
    int rc = 0;
    img_state s;
    memset(&s, 0, sizeof s);
    s.rev = rev;
    if (f->bilevel) {
        rc = rev >= 2 ? mbz_bilevel_code(c, f, data, rows) : -1;
    } else {
        rc = state_init(&s, f);
        for (size_t y = 0; y < rows && rc == 0; y++)
            rc = code_row(c, &s, f, data + y * stride, y == 0, y <= 1, y);
    }
    for (size_t j = rows * stride; j < n && rc == 0; j++) {
        int v = 0;
        for (int b = 7; b >= 0; b--)
            v = (v << 1) | mbz_res_bit(c, (data[j] >> b) & 1, 32768);
        data[j] = (uint8_t)v;
    }
    free(s.mem);
    if (rev >= 2)
        mbz_resx_free(&s.resx);
    return rc;
}

size_t mbz_image_encode(const mbz_img *f, const uint8_t *data, size_t n, uint8_t *out,
                        size_t cap, int rev)
{
    if (cap <= MBZ_IMG_PARAMS)
        return 0;
    mbz_img_pack(f, out);
    mbz_res_coder c;
    memset(&c, 0, sizeof c);
    mbz_bc_enc_init(&c.enc, out + MBZ_IMG_PARAMS, cap - MBZ_IMG_PARAMS);
    /* the encoder only reads data; img_code_block writes it only when decoding */
    if (img_code_block(&c, f, rev, (uint8_t *)(uintptr_t)data, n) != 0)
        return 0;
    size_t k = mbz_bc_enc_finish(&c.enc);
    return k ? k + MBZ_IMG_PARAMS : 0;
}

int mbz_image_decode(const uint8_t *payload, size_t m, uint8_t *out, size_t n, int rev)
{
    mbz_img f;
    if (m < MBZ_IMG_PARAMS + 1 || mbz_img_unpack(payload, &f, rev) != 0)
        return -1;
    mbz_res_coder c;
    memset(&c, 0, sizeof c);
    c.decoding = 1;
    mbz_bc_dec_init(&c.dec, payload + MBZ_IMG_PARAMS, m - MBZ_IMG_PARAMS);
    int rc = img_code_block(&c, &f, rev, out, n);
    if (rc == 0 && !mbz_bc_dec_check_end(&c.dec))
        rc = -1;
    return rc;
}
