/*
 * qmath.c - integer arithmetic of the MEGABYTE engine (doc/model-format.md §2).
 */
#include "config.h"

#include <pthread.h>
#include "predictor.h"
#include "modelfile.h"
#include "qmath.h"

/* EXP2[f] = round(65536 * 2^(-f/256)), f = 0..255, rounded half up.
 * Generated once with Python's decimal module at 60 digits:
 *   int((Decimal(65536) * Decimal(2) ** (Decimal(-f) / 256)).to_integral_value(ROUND_HALF_UP))
 * tests/test_kernels.c re-derives every entry with exact big-integer arithmetic. */
const uint32_t mbz_exp2_tab[256] = {
    65536, 65359, 65182, 65006, 64830, 64655, 64480, 64306,
    64132, 63958, 63785, 63613, 63441, 63269, 63098, 62928,
    62757, 62588, 62419, 62250, 62081, 61914, 61746, 61579,
    61413, 61247, 61081, 60916, 60751, 60587, 60423, 60260,
    60097, 59934, 59772, 59611, 59449, 59289, 59128, 58968,
    58809, 58650, 58491, 58333, 58176, 58018, 57861, 57705,
    57549, 57393, 57238, 57083, 56929, 56775, 56622, 56468,
    56316, 56163, 56012, 55860, 55709, 55558, 55408, 55258,
    55109, 54960, 54811, 54663, 54515, 54368, 54221, 54074,
    53928, 53782, 53637, 53492, 53347, 53203, 53059, 52916,
    52773, 52630, 52488, 52346, 52204, 52063, 51922, 51782,
    51642, 51502, 51363, 51224, 51085, 50947, 50810, 50672,
    50535, 50399, 50262, 50126, 49991, 49856, 49721, 49586,
    49452, 49319, 49185, 49052, 48920, 48787, 48655, 48524,
    48393, 48262, 48131, 48001, 47871, 47742, 47613, 47484,
    47356, 47228, 47100, 46973, 46846, 46719, 46593, 46467,
    46341, 46216, 46091, 45966, 45842, 45718, 45594, 45471,
    45348, 45225, 45103, 44981, 44859, 44738, 44617, 44497,
    44376, 44256, 44137, 44017, 43898, 43780, 43661, 43543,
    43425, 43308, 43191, 43074, 42958, 42841, 42726, 42610,
    42495, 42380, 42265, 42151, 42037, 41923, 41810, 41697,
    41584, 41472, 41360, 41248, 41136, 41025, 40914, 40804,
    40693, 40583, 40473, 40364, 40255, 40146, 40037, 39929,
    39821, 39714, 39606, 39499, 39392, 39286, 39180, 39074,
    38968, 38863, 38757, 38653, 38548, 38444, 38340, 38236,
    38133, 38030, 37927, 37824, 37722, 37620, 37518, 37417,
    37316, 37215, 37114, 37014, 36914, 36814, 36715, 36615,
    36516, 36417, 36319, 36221, 36123, 36025, 35928, 35831,
    35734, 35637, 35541, 35445, 35349, 35253, 35158, 35063,
    34968, 34874, 34779, 34685, 34591, 34498, 34405, 34312,
    34219, 34126, 34034, 33942, 33850, 33759, 33667, 33576,
    33486, 33395, 33305, 33215, 33125, 33035, 32946, 32857,
};

uint64_t mbz_isqrt64(uint64_t n)
{
    /* Newton's iteration from above: for n < 2^b, x_0 = 2^ceil(b/2) is at least the
     * root, then x' = floor((x + floor(n/x)) / 2) decreases strictly while x is above
     * the floor of the root and stops there (the integer Newton method's classic exact
     * floor). A handful of divisions instead of 32 unpredictable branches.
     * x + n/x <= 2^33: no overflow. */
    if (n < 2)
        return n;
    int b = 64 - __builtin_clzll(n);
    uint64_t x = (uint64_t)1 << ((b + 1) / 2);
    for (;;) {
        uint64_t y = (x + n / x) / 2;
        if (y >= x)
            return x;
        x = y;
    }
}

void mbz_rmsnorm(const int32_t *x, size_t D, int16_t *y)
{
    uint64_t ss = 0;
    for (size_t i = 0; i < D; i++)
        ss += (uint64_t)((int64_t)x[i] * x[i]);
    uint64_t rms = mbz_isqrt64(ss / D);
    if (rms < 1)
        rms = 1;
    /* y = clamp(div_round(1024 x, rms), +-8191), without a division per element: the
     * quotients that matter lie within +-8191, the range where mbz_div_round_by uses
     * its reciprocal (qmath.h; rms <= 2^24 as |x| <= 2^24, so den = 2 rms < 2^48);
     * the rare element beyond 8 rms takes the division and is clamped. Identical to
     * the definition (tests/test_kernels.c compares it on random rows). */
    mbz_divisor div;
    mbz_divisor_init(&div, (int64_t)rms);
    for (size_t i = 0; i < D; i++)
        y[i] = (int16_t)mbz_clamp64(mbz_div_round_by(&div, (int64_t)x[i] * 1024), -8191, 8191);
}

void mbz_requant16(const int32_t *acc, const int32_t *b, const int32_t *m, const int32_t *s,
                   size_t n, int32_t lo, int32_t hi, int relu, int16_t *y)
{
    if (relu && lo < 0)
        lo = 0;   /* max(0, clamp(v, lo, hi)) == clamp(v, max(lo, 0), hi) when hi >= 0 */
    for (size_t o = 0; o < n; o++) {
        int64_t v = mbz_round_shift(((int64_t)acc[o] + b[o]) * m[o], s[o]);
        y[o] = (int16_t)mbz_clamp64(v, lo, hi);
    }
}

void mbz_requant32(const int32_t *acc, const int32_t *b, const int32_t *m, const int32_t *s,
                   size_t n, int32_t lo, int32_t hi, int32_t *y)
{
    for (size_t o = 0; o < n; o++) {
        int64_t v = mbz_round_shift(((int64_t)acc[o] + b[o]) * m[o], s[o]);
        y[o] = (int32_t)mbz_clamp64(v, lo, hi);
    }
}

void mbz_freq_from_logits(const int32_t *z, uint16_t *freq)
{
    int32_t zmax = z[0];
    for (int i = 1; i < 256; i++)
        if (z[i] > zmax)
            zmax = z[i];
    uint32_t e[256];
    uint64_t S = 0;
    int best = 0;
    for (int i = 0; i < 256; i++) {
        e[i] = mbz_exp2neg((int64_t)zmax - z[i]);
        S += e[i];
        if (e[i] > e[best])
            best = i;
    }
    /* S >= 65536 (the maximum has e = 65536) and S <= 256 * 65536 = 2^24.
     * floor(e * 65280 / S) without a division per symbol: with
     * m = floor(65280 * 2^41 / S) + 1, e * m < 2^16 * 2^41 fits in 64 bits, and
     * e * m / 2^41 exceeds e * 65280 / S by less than e / 2^41 <= 2^-25, while the
     * fraction of e * 65280 / S is a multiple of 1 / S <= 1 - 2^-24 short of the
     * next integer: the shift gives exactly the floor (tests/test_mix.c checks it
     * against the division on random tables). */
    const uint64_t m = ((uint64_t)(65536 - 256) << 41) / S + 1;
    uint32_t sum = 0;
    for (int i = 0; i < 256; i++) {
        uint32_t f = 1 + (uint32_t)(((uint64_t)e[i] * m) >> 41);
        freq[i] = (uint16_t)f;
        sum += f;
    }
    freq[best] = (uint16_t)(freq[best] + (65536 - sum));
}

/* ------------------------------------------------------------------ integer log2
 * Two resolutions: Q16 for code lengths and the store decision (exact bit by bit),
 * Q8 for the mixing stage's logarithm domain (a table of every 16-bit argument). */

/* Bit-by-bit logarithm: normalise x to y in [1, 2) (Q62), then each squaring of y
 * yields the next fractional bit. Truncated, exact to the last bit but for the
 * truncation of the squares (< 2^-60 relative each). */
uint32_t mbz_log2_q16(uint64_t x)
{
    if (x == 0)
        return 0; /* undefined; callers never pass 0 */
    uint32_t n = 0;
    while ((x >> n) > 1)
        n++;
    /* y = x / 2^n in Q30, kept in a 64-bit product with room for the square */
    uint64_t y = n >= 30 ? x >> (n - 30) : x << (30 - n);
    uint32_t frac = 0;
    for (int i = 15; i >= 0; i--) {
        y = (y * y) >> 30;                 /* y < 2^31, y*y < 2^62 */
        if (y >= (UINT64_C(2) << 30)) {
            y >>= 1;
            frac |= UINT32_C(1) << i;
        }
    }
    return (n << 16) | frac;
}

uint32_t mbz_cost_q16(uint32_t f)
{
    return (MBZ_FREQ_BITS << 16) - mbz_log2_q16(f);
}

int16_t mbz_log2_q8_tab[(1 << 16) + 1];
static pthread_once_t log2_once = PTHREAD_ONCE_INIT;

static int32_t log2_q8_exact(uint32_t v)
{
    /* integer part from the bit length; 8 fraction bits by repeated squaring of the
     * mantissa m in [1, 2) (Q28): m^2 >= 2 gives a 1 bit and halves m. Truncation
     * only ever rounds m down, so the result is a fixed, portable function of v. */
    int e = 31 - __builtin_clz(v);
    uint64_t m = (uint64_t)v << (28 - (e > 28 ? 28 : e));
    if (e > 28)
        m = (uint64_t)v >> (e - 28);
    int32_t r = e << 8;
    for (int b = 7; b >= 0; b--) {
        m = (m * m) >> 28;
        if (m >= ((uint64_t)2 << 28)) {
            r |= 1 << b;
            m >>= 1;
        }
    }
    return r;
}

static void log2_init(void)
{
    mbz_log2_q8_tab[0] = 0;
    for (uint32_t v = 1; v <= (1u << 16); v++)
        mbz_log2_q8_tab[v] = (int16_t)log2_q8_exact(v);
}

void mbz_log2_q8_init(void)
{
    pthread_once(&log2_once, log2_init);
}

int32_t mbz_log2_q8(uint32_t v)
{
    mbz_log2_q8_init();
    return v == 0 || v > (1u << 16) ? 0 : mbz_log2_q8_tab[v];
}

void mbz_act_q8(const int16_t *x, size_t I, int8_t *q, uint8_t *e)
{
    for (size_t i0 = 0, j = 0; i0 < I; i0 += MBZM_Q8_GROUP, j++) {
        size_t n = I - i0 < MBZM_Q8_GROUP ? I - i0 : MBZM_Q8_GROUP;
        unsigned a = 0;
        for (size_t i = 0; i < n; i++) {
            unsigned v = (unsigned)(x[i0 + i] < 0 ? -x[i0 + i] : x[i0 + i]);
            if (v > a)
                a = v;
        }
        unsigned s = mbz_q8_shift(a), h = (1u << s) >> 1;
        e[j] = (uint8_t)s;
        for (size_t i = 0; i < n; i++) {
            int v = x[i0 + i];
            int m = (int)(((unsigned)(v < 0 ? -v : v) + h) >> s);
            q[i0 + i] = (int8_t)(v < 0 ? -m : m);
        }
    }
}
