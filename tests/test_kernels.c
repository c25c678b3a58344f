/*
 * test_kernels.c - integer math (qmath) and the SIMD kernels against the scalar
 * reference. Plain C test: exit 0 = pass, 1 = fail.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "qmath.h"

#include "check.h"

static uint64_t rng = 12345;
static uint64_t rnd(void)
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static int32_t rsym(int32_t a) { return (int32_t)(rnd() % (2ull * a + 1)) - a; }

/* ---- exact check of EXP2: E = round(65536 * 2^(-f/256)) iff
 *      (2E-1)^256 * 2^f <= 2^(17*256) < (2E+1)^256 * 2^f   (no ties: 2^(-f/256) is irrational) */
#define LIMBS 160 /* 5120 bits */
typedef struct { uint32_t v[LIMBS]; } big;
static void big_pow(big *b, uint32_t base, int e)
{
    memset(b, 0, sizeof *b);
    b->v[0] = 1;
    for (int k = 0; k < e; k++) {
        uint64_t carry = 0;
        for (int i = 0; i < LIMBS; i++) {
            uint64_t t = (uint64_t)b->v[i] * base + carry;
            b->v[i] = (uint32_t)t;
            carry = t >> 32;
        }
    }
}
static void big_shl(big *b, int s) /* s < 32*LIMBS */
{
    big r;
    memset(&r, 0, sizeof r);
    int w = s / 32, bits = s % 32;
    for (int i = LIMBS - 1; i >= w; i--) {
        uint64_t x = (uint64_t)b->v[i - w] << bits;
        r.v[i] |= (uint32_t)x;
        if (i + 1 < LIMBS)
            r.v[i + 1] |= (uint32_t)(x >> 32);
    }
    *b = r;
}
static int big_cmp(const big *a, const big *b)
{
    for (int i = LIMBS - 1; i >= 0; i--)
        if (a->v[i] != b->v[i])
            return a->v[i] < b->v[i] ? -1 : 1;
    return 0;
}

static void test_exp2(void)
{
    big two;
    memset(&two, 0, sizeof two);
    two.v[(17 * 256) / 32] = 1u << ((17 * 256) % 32);
    for (int f = 0; f < 256; f++) {
        uint32_t E = mbz_exp2_tab[f];
        big lo, hi;
        big_pow(&lo, 2 * E - 1, 256);
        big_shl(&lo, f);
        big_pow(&hi, 2 * E + 1, 256);
        big_shl(&hi, f);
        CHECK(big_cmp(&lo, &two) <= 0 && big_cmp(&two, &hi) < 0, "EXP2[%d] = %u is not the rounding", f, E);
        if (f)
            CHECK(mbz_exp2_tab[f] < mbz_exp2_tab[f - 1], "EXP2 not decreasing at %d", f);
    }
    CHECK(mbz_exp2_tab[0] == 65536, "EXP2[0]");
    CHECK(mbz_exp2neg(0) == 65536 && mbz_exp2neg(256) == 32768 && mbz_exp2neg(17 * 256 - 1) == 0 &&
              mbz_exp2neg(16 * 256) == 1 && mbz_exp2neg(17 * 256) == 0 && mbz_exp2neg(1LL << 40) == 0,
          "exp2neg endpoints");
}

static void test_scalar_math(void)
{
    /* isqrt */
    uint64_t vals[] = {0, 1, 2, 3, 4, 15, 16, 17, 0xffffffffull, 0x100000000ull, UINT64_MAX,
                       UINT64_MAX - 1, (1ull << 62), (1ull << 63) + 12345};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        uint64_t n = vals[i], r = mbz_isqrt64(n);
        CHECK((unsigned __int128)r * r <= n && (unsigned __int128)(r + 1) * (r + 1) > n, "isqrt(%llu)",
              (unsigned long long)n);
    }
    for (int k = 0; k < 100000; k++) {
        uint64_t n = rnd() >> (rnd() % 64), r = mbz_isqrt64(n);
        CHECK((unsigned __int128)r * r <= n && (unsigned __int128)(r + 1) * (r + 1) > n, "isqrt(%llu)",
              (unsigned long long)n);
        uint64_t q = rnd() >> 32; /* exact squares and neighbours */
        CHECK(mbz_isqrt64(q * q) == q && (q == 0 || mbz_isqrt64(q * q - 1) == q - 1), "isqrt square");
    }
    /* round_shift, div_round against __int128 definitions */
    for (int k = 0; k < 200000; k++) {
        int64_t v = (int64_t)rnd() >> (rnd() % 63);
        int s = 1 + (int)(rnd() % 62);
        __int128 ref = ((__int128)v + ((__int128)1 << (s - 1)));
        ref = ref >= 0 ? ref / ((__int128)1 << s) : -((-ref + ((__int128)1 << s) - 1) / ((__int128)1 << s));
        CHECK(mbz_round_shift(v, s) == (int64_t)ref, "round_shift(%lld, %d)", (long long)v, s);
        int64_t n = ((int64_t)rnd() >> 4) >> (rnd() % 60), d = (int64_t)(rnd() >> (4 + rnd() % 60)) + 1; /* n, d < 2^60: the engine uses d <= 2^45 */
        __int128 num = 2 * (__int128)n + d, den = 2 * (__int128)d;
        __int128 q = num / den;
        if (num % den != 0 && num < 0)
            q--;
        CHECK(mbz_div_round(n, d) == (int64_t)q, "div_round(%lld, %lld)", (long long)n, (long long)d);
        mbz_divisor dv;
        mbz_divisor_init(&dv, d);
        CHECK(mbz_div_round_by(&dv, n) == (int64_t)q, "div_round_by(%lld, %lld)", (long long)n,
              (long long)d);
    }
    /* div_round_by where it skips the division: quotients near +-8192 (its range's
     * edges), divisors of every size up to 2^47, the attention's numerators */
    for (int k = 0; k < 200000; k++) {
        int64_t d = (int64_t)(rnd() >> (17 + rnd() % 47)) + 1;
        int64_t qt = (int64_t)(rnd() % 16400) - 8200;
        int64_t n = qt * d + (int64_t)(rnd() % (uint64_t)(2 * d)) - d;
        mbz_divisor dv;
        mbz_divisor_init(&dv, d);
        CHECK(mbz_div_round_by(&dv, n) == mbz_div_round(n, d), "div_round_by(%lld, %lld) near the edges",
              (long long)n, (long long)d);
    }
    CHECK(mbz_div_round(-3, 2) == -1 && mbz_div_round(3, 2) == 2 && mbz_div_round(-1, 2) == 0, "div_round halves");
    CHECK(mbz_round_shift(-3, 1) == -1 && mbz_round_shift(3, 1) == 2 && mbz_round_shift(INT64_MAX, 1) == (INT64_MAX >> 1) + 1,
          "round_shift halves");
    /* rmsnorm: constant input -> +-1024, zero input -> 0, extremes clamp */
    int32_t x[4096];
    int16_t y[4096];
    for (int i = 0; i < 4096; i++)
        x[i] = (i & 1) ? (1 << 24) : -(1 << 24);
    mbz_rmsnorm(x, 4096, y);
    CHECK(y[0] == -1024 && y[1] == 1024, "rmsnorm extremes %d %d", y[0], y[1]);
    memset(x, 0, sizeof x);
    x[7] = 1 << 24;
    mbz_rmsnorm(x, 4096, y);
    CHECK(y[7] == 8191 && y[0] == 0, "rmsnorm clamp");
    memset(x, 0, sizeof x);
    mbz_rmsnorm(x, 16, y);
    CHECK(y[0] == 0, "rmsnorm zero");
    /* rmsnorm against its definition (div_round), random rows of every scale */
    for (int it = 0; it < 3000; it++) {
        size_t D = 1 + rnd() % 300;
        int sc = (int)(rnd() % 25), mode = it % 3;
        for (size_t i = 0; i < D; i++)
            x[i] = mode == 0 ? rsym(1 << sc) : mode == 1 ? ((rnd() & 1) ? (1 << 24) : -(1 << 24)) * (int32_t)(rnd() % 2) : (i == 0 ? rsym(1 << 24) : rsym(1 + (1 << (sc / 3))));
        mbz_rmsnorm(x, D, y);
        uint64_t ss = 0;
        for (size_t i = 0; i < D; i++)
            ss += (uint64_t)((int64_t)x[i] * x[i]);
        int64_t rms = (int64_t)mbz_isqrt64(ss / D);
        if (rms < 1)
            rms = 1;
        int bad = 0;
        for (size_t i = 0; i < D; i++)
            bad += y[i] != (int16_t)mbz_clamp64(mbz_div_round((int64_t)x[i] * 1024, rms), -8191, 8191);
        CHECK(!bad, "rmsnorm D=%zu scale %d mode %d: %d wrong", D, sc, mode, bad);
    }
    /* frequency tables */
    int32_t z[256];
    uint16_t f[256];
    for (int k = 0; k < 2000; k++) {
        int mode = k % 4;
        for (int i = 0; i < 256; i++)
            z[i] = mode == 0 ? rsym(1 << 20) : mode == 1 ? rsym(2000) : mode == 2 ? 0 : (i == k % 256 ? (1 << 20) : -(1 << 20));
        mbz_freq_from_logits(z, f);
        uint32_t sum = 0, mn = 65536;
        for (int i = 0; i < 256; i++) {
            sum += f[i];
            if (f[i] < mn)
                mn = f[i];
        }
        CHECK(sum == 65536 && mn >= 1, "freq table sum %u min %u (mode %d)", sum, mn, mode);
        if (mode == 2)
            CHECK(f[0] == 256 && f[255] == 256, "uniform table %u %u", f[0], f[255]);
        if (mode == 3)
            CHECK(f[k % 256] == 65281, "peaked table %u", f[k % 256]);
    }
}

/* ---- kernels vs scalar */
static void fill16(int16_t *p, size_t n, int32_t a, int extreme)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (int16_t)(extreme == 1 ? a : extreme == 2 ? ((i & 1) ? a : -a) : rsym(a));
}
static void fill8(int8_t *p, size_t n, int extreme)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (int8_t)(extreme == 1 ? 127 : extreme == 2 ? ((i & 1) ? 127 : -127) : rsym(127));
}

static void test_kernel(const mbz_kernels *k)
{
    static const size_t Ns[] = {1, 2, 3, 5, 17};
    static const size_t Os[] = {1, 3, 4, 5, 9, 33};
    static const size_t Is[] = {0, 1, 15, 16, 17, 31, 32, 33, 63, 100, 256, 1024, 2048};
    const mbz_kernels *ref = &mbz_kernels_scalar;
    size_t maxN = 17, maxO = 33, maxI = 2048, pad = 7;
    int16_t *X = malloc((maxN * (maxI + pad) + 64) * 2);
    int8_t *W8 = malloc(maxO * (maxI + pad) + 64);
    int32_t *Y1 = malloc(maxN * (maxO + 3) * 4), *Y2 = malloc(maxN * (maxO + 3) * 4);
    int cases = 0;
    for (size_t a = 0; a < sizeof Ns / sizeof *Ns; a++)
        for (size_t b = 0; b < sizeof Os / sizeof *Os; b++)
            for (size_t c = 0; c < sizeof Is / sizeof *Is; c++)
                for (int ex = 0; ex < 3; ex++) {
                    size_t N = Ns[a], O = Os[b], I = Is[c];
                    size_t ldx = I + (rnd() % 2) * pad, ldw = I + (rnd() % 2) * pad, ldy = O + 3;
                    if (N * O * I > 200000 && ex == 0 && (rnd() & 1))
                        continue;
                    /* unaligned bases */
                    int16_t *x = X + (rnd() % 2);
                    int8_t *w8 = W8 + (rnd() % 3);
                    fill16(x, N * ldx, 8191, ex);
                    fill8(w8, O * ldw, ex);
                    memset(Y1, 0x55, maxN * (maxO + 3) * 4);
                    memset(Y2, 0x55, maxN * (maxO + 3) * 4);
                    ref->mm_w8(x, ldx, N, w8, ldw, O, I, Y1, ldy);
                    k->mm_w8(x, ldx, N, w8, ldw, O, I, Y2, ldy);
                    CHECK(!memcmp(Y1, Y2, maxN * (maxO + 3) * 4), "%s mm_w8 N=%zu O=%zu I=%zu ex=%d", k->name, N, O, I, ex);
                    cases++;
                }
    /* the extreme worst case once more, explicitly: sum = 127*8191*2048 */
    fill16(X, 2048, 8191, 1);
    fill8(W8, 2048, 1);
    k->mm_w8(X, 2048, 1, W8, 2048, 1, 2048, Y2, 1);
    CHECK(Y2[0] == 127 * 8191 * 2048, "%s worst case %d", k->name, Y2[0]);
    fill16(X, 2048, -8191, 1);
    k->mm_w8(X, 2048, 1, W8, 2048, 1, 2048, Y2, 1);
    CHECK(Y2[0] == -127 * 8191 * 2048, "%s worst case neg %d", k->name, Y2[0]);
    /* mm_pk and mm_pk8: packed int8 weights (as int16 and as int8) against the scalar
     * mm_w8 on the unpacked matrix */
    {
        /* rows: tiles of 1, 2 and 4 rows and their remainders; outputs: groups of 16
         * and the AVX2 halves of 8, with tails, one to five groups per tile */
        static const size_t Ns2[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 17};
        static const size_t Os2[] = {1, 7, 8, 9, 15, 16, 17, 24, 31, 33, 40, 48, 64, 65, 80, 100, 129};
        static const size_t Is2[] = {0, 1, 2, 3, 16, 17, 31, 32, 33, 100, 256, 2048};
        size_t mO = 129, mI = 2048, mN = 17;
        int16_t *Wp = mbz_alloc64(mbz_pk_size(mO, mI) * 2 + 64);
        int8_t *Wp8 = mbz_alloc64(mbz_pk_size(mO, mI) + 64);
        int8_t *W = malloc(mO * (mI + pad));
        int16_t *Xp = malloc((mN * (mI + pad) + 8) * 2);
        int32_t *R1 = malloc(mN * (mO + 3) * 4), *R2 = malloc(mN * (mO + 3) * 4);
        for (size_t a = 0; a < sizeof Ns2 / sizeof *Ns2; a++)
            for (size_t b = 0; b < sizeof Os2 / sizeof *Os2; b++)
                for (size_t c = 0; c < sizeof Is2 / sizeof *Is2; c++)
                    for (int ex = 0; ex < 3; ex++) {
                        size_t N = Ns2[a], O = Os2[b], I = Is2[c];
                        if (N * O * I > 300000 && ex == 0 && (rnd() & 1))
                            continue;
                        size_t ldx = I + (rnd() % 2) * pad, ldw = I + (rnd() % 2) * pad, ldy = O + 3;
                        int16_t *x = Xp + (rnd() % 2);
                        fill16(x, N * ldx, 8191, ex);
                        fill8(W, O * ldw, ex);
                        mbz_pk_pack(W, ldw, O, I, Wp);
                        memset(R1, 0x55, mN * (mO + 3) * 4);
                        memset(R2, 0x55, mN * (mO + 3) * 4);
                        ref->mm_w8(x, ldx, N, W, ldw, O, I, R1, ldy);
                        k->mm_pk(x, ldx, N, Wp, O, I, R2, ldy);
                        CHECK(!memcmp(R1, R2, mN * (mO + 3) * 4), "%s mm_pk N=%zu O=%zu I=%zu ex=%d", k->name, N, O, I, ex);
                        /* the same weights packed as int8 (mm_pk8) */
                        mbz_pk8_pack(W, ldw, O, I, Wp8);
                        memset(R2, 0x55, mN * (mO + 3) * 4);
                        k->mm_pk8(x, ldx, N, Wp8, O, I, R2, ldy);
                        CHECK(!memcmp(R1, R2, mN * (mO + 3) * 4), "%s mm_pk8 N=%zu O=%zu I=%zu ex=%d", k->name, N, O, I, ex);
                        cases += 2;
                    }
        /* int16 packed operands, packed here by the layout formula of kernels.h, against
         * a plain loop: the engine's packed keys (|q|, |k| <= 2047, I <= 256), and its
         * packed values (0 <= x <= 256, |v| <= 8191, I <= 1024), read as E.V reads them:
         * 16 channels at a time from a pair offset of a wider ring (megabyte_global.c) */
        int16_t *W16b = malloc(mO * 1024 * 2);
        for (int it = 0; it < 600; it++) {
            int values = it % 2, ex = it / 2 % 3;
            size_t N = 1 + rnd() % 17, O = 1 + rnd() % mO, I = 1 + rnd() % (values ? 1024 : 256);
            size_t lead = 0, I2 = (I + 1) / 2;   /* values: a span of I slots from pair lead */
            if (values) {
                O = 1 + rnd() % 16;
                if (it % 12 == 3)   /* ex == 1: the largest sum, 256 * 8191 * 1024 */
                    I = 1024;
                lead = rnd() % 8;
                I2 = lead + (I + 1) / 2 + rnd() % 3;   /* the ring's pairs */
                fill16(Xp, N * I, 256, ex == 2 ? 1 : ex);
                for (size_t t = 0; t < N * I; t++)
                    Xp[t] = (int16_t)(Xp[t] < 0 ? -Xp[t] : Xp[t]);
                fill16(W16b, O * I, 8191, ex);
            } else {
                fill16(Xp, N * I, 2047, ex);
                fill16(W16b, O * I, 2047, ex);
            }
            memset(Wp, 0x77, mbz_pk_size(O, 2 * I2) * 2);   /* ring slots outside: junk */
            for (size_t o = 0; o < O; o++)
                for (size_t i = 0; i < I; i++)
                    Wp[((o / 16) * I2 + lead + i / 2) * 32 + (o % 16) * 2 + i % 2] = W16b[o * I + i];
            for (size_t n = 0; n < N; n++)
                for (size_t o = 0; o < O; o++) {
                    int64_t acc = 0;
                    for (size_t i = 0; i < I; i++)
                        acc += (int64_t)Xp[n * I + i] * W16b[o * I + i];
                    R1[n * O + o] = (int32_t)acc;
                    CHECK(acc == R1[n * O + o], "%s mm_pk bound exceeded", k->name);
                }
            memset(R2, 0x55, mN * (mO + 3) * 4);
            k->mm_pk(Xp, I, N, Wp + lead * 32, O, I, R2, O);
            CHECK(!memcmp(R1, R2, N * O * 4), "%s mm_pk int16 %s N=%zu O=%zu I=%zu lead=%zu", k->name,
                  values ? "values" : "keys", N, O, I, lead);
            cases++;
        }
        free(W16b);
        free(Wp); free(Wp8); free(W); free(Xp); free(R1); free(R2);
    }
    /* int8 activations: act_q8 against mbz_act_q8 (and the definition), mm_q8 (on its
     * set's weight layout) against mm_w8 of the rows widened to q << e */
    {
        static const size_t Ns3[] = {1, 2, 3, 4, 5, 9, 70};
        static const size_t Os3[] = {1, 15, 16, 17, 33, 48, 64, 65, 100};
        static const size_t Is3[] = {1, 2, 3, 4, 5, 31, 63, 64, 65, 66, 127, 128, 129, 200, 256, 1000, 2048};
        size_t mO = 100, mI = 2048, mN = 70;
        int8_t *Wp8 = mbz_alloc64(mbz_q8_size(1, mO, mI) + 64), *W = malloc(mO * mI);
        int16_t *Xs = malloc(mN * (mI + 3) * 2), *Xw = malloc(mN * mI * 2);
        int8_t *Q1 = malloc(mN * (mI + 3)), *Q2 = malloc(mN * (mI + 3));
        uint8_t *E1 = malloc(mN * 40), *E2 = malloc(mN * 40);
        int32_t *R1 = malloc(mN * (mO + 3) * 4), *R2 = malloc(mN * (mO + 3) * 4);
        for (size_t a = 0; a < sizeof Ns3 / sizeof *Ns3; a++)
            for (size_t b = 0; b < sizeof Os3 / sizeof *Os3; b++)
                for (size_t c = 0; c < sizeof Is3 / sizeof *Is3; c++)
                    for (int ex = 0; ex < 4; ex++) {
                        size_t N = Ns3[a], O = Os3[b], I = Is3[c], ldx = I + (rnd() % 2) * 3;
                        size_t lde = (I + 63) / 64 + (rnd() % 2), ldy = O + 3;
                        if (N * O * I > 400000 && (rnd() & 1))
                            continue;
                        /* ex 3: each group its own scale (every shift 0..7), exact halves */
                        for (size_t i = 0; i < N * ldx; i++) {
                            int32_t amp = ex == 3 ? (1 << (rnd() % 14)) - 1 : 8191;
                            Xs[i] = ex == 3 && (i % 5 == 0) ? (int16_t)(rsym(64) * 2 + 1)
                                                            : (int16_t)rsym(amp > 8191 ? 8191 : amp);
                        }
                        if (ex == 1 || ex == 2)
                            fill16(Xs, N * ldx, 8191, ex);
                        fill8(W, O * I, ex == 3 ? 0 : ex);
                        mbz_q8_pack(k->q8_quads, W, I, O, I, Wp8);   /* the set's layout */
                        memset(Q1, 0x55, mN * (mI + 3)); memset(Q2, 0x55, mN * (mI + 3));
                        memset(E1, 0x55, mN * 40); memset(E2, 0x55, mN * 40);
                        for (size_t n = 0; n < N; n++) {
                            ref->act_q8(Xs + n * ldx, I, Q1 + n * ldx, E1 + n * lde);
                            k->act_q8(Xs + n * ldx, I, Q2 + n * ldx, E2 + n * lde);
                        }
                        CHECK(!memcmp(Q1, Q2, mN * (mI + 3)) && !memcmp(E1, E2, mN * 40),
                              "%s act_q8 N=%zu I=%zu ex=%d", k->name, N, I, ex);
                        /* the definition: |q| <= 127, |q| 2^e within half a step of |x|,
                         * e the least such shift */
                        int defok = 1;
                        for (size_t n = 0; n < N && defok; n++)
                            for (size_t i = 0; i < I; i++) {
                                int x = Xs[n * ldx + i], q = Q1[n * ldx + i];
                                unsigned e = E1[n * lde + i / 64], ax = (unsigned)abs(x);
                                long d = (long)abs(q) * (1L << e) - (long)ax;
                                if (abs(q) > 127 || e > 7 || (q && (q < 0) != (x < 0)) ||
                                    2 * d > (1L << e) || 2 * d <= -(1L << e))
                                    defok = 0;
                                Xw[n * I + i] = (int16_t)(q * (1 << e));
                            }
                        for (size_t n = 0; n < N && defok; n++)
                            for (size_t j = 0; j * 64 < I; j++) {
                                unsigned am = 0, e = E1[n * lde + j];
                                for (size_t i = j * 64; i < I && i < j * 64 + 64; i++)
                                    if ((unsigned)abs(Xs[n * ldx + i]) > am)
                                        am = (unsigned)abs(Xs[n * ldx + i]);
                                if (e > 0 && ((am + (1u << (e - 1) >> 1)) >> (e - 1)) <= 127)
                                    defok = 0;
                            }
                        CHECK(defok, "act_q8 definition N=%zu I=%zu ex=%d", N, I, ex);
                        memset(R1, 0x55, mN * (mO + 3) * 4); memset(R2, 0x55, mN * (mO + 3) * 4);
                        ref->mm_w8(Xw, I, N, W, I, O, I, R1, ldy);
                        k->mm_q8(Q1, ldx, E1, lde, N, Wp8, O, I, R2, ldy);
                        CHECK(!memcmp(R1, R2, mN * (mO + 3) * 4), "%s mm_q8 N=%zu O=%zu I=%zu ex=%d",
                              k->name, N, O, I, ex);
                        cases += 2;
                    }
        /* the largest sum: every input 8191 (q = 64, e = 7), every weight 127 */
        for (size_t i = 0; i < mI; i++)
            Xs[i] = 8191;
        fill8(W, mI, 1);
        mbz_q8_pack(k->q8_quads, W, mI, 1, mI, Wp8);
        k->act_q8(Xs, mI, Q1, E1);
        k->mm_q8(Q1, mI, E1, 32, 1, Wp8, 1, mI, R2, 1);
        CHECK(R2[0] == 64 * 128 * 127 * 2048, "%s mm_q8 largest %d", k->name, R2[0]);
        free(Wp8); free(W); free(Xs); free(Xw); free(Q1); free(Q2); free(E1); free(E2);
        free(R1); free(R2);
    }
    /* requant16/32 against qmath (random and extreme accumulators, multipliers, shifts) */
    {
        enum { RN = 77 };
        int32_t acc[RN], bb[RN], mm[RN], ss[RN], o1[RN + 1], o2[RN + 1];
        int16_t h1[RN + 1], h2[RN + 1];
        for (int it = 0; it < 3000; it++) {
            size_t n = 1 + rnd() % RN;
            int mode = it % 6;
            for (size_t i = 0; i < n; i++) {
                acc[i] = mode == 0 ? (int32_t)rnd() : mode == 1 ? INT32_MIN + (int32_t)(rnd() % 3) : mode == 2 ? INT32_MAX - (int32_t)(rnd() % 3) : rsym(1 << (rnd() % 31));
                bb[i] = mode == 1 ? INT32_MIN : mode == 2 ? INT32_MAX : (int32_t)rnd() >> (rnd() % 32);
                mm[i] = mode < 3 ? INT32_MAX - (int32_t)(rnd() % 2) : (int32_t)(rnd() % 0x80000000u) >> (rnd() % 31);
                ss[i] = 1 + (int32_t)(rnd() % 62);
                if (mode == 5) {   /* exact halves: round half up at every sign */
                    acc[i] = rsym(40);
                    bb[i] = 0;
                    mm[i] = 1 + (int32_t)(rnd() % 3);
                    ss[i] = 1 + (int32_t)(rnd() % 3);
                }
            }
            int32_t lo = (it & 1) ? -(1 << 24) : -8191, hi = (it & 1) ? (1 << 24) : 8191;
            if (it % 7 == 3) {   /* the other clamp ranges of the engine: logits, q/k */
                lo = (it & 1) ? -(1 << 20) : -2047;
                hi = (it & 1) ? (1 << 20) : 2047;
            }
            int relu = (it >> 1) & 1;
            memset(o1, 0x5a, sizeof o1); memset(o2, 0x5a, sizeof o2);
            memset(h1, 0x5a, sizeof h1); memset(h2, 0x5a, sizeof h2);
            ref->requant32(acc, bb, mm, ss, n, lo, hi, o1);
            k->requant32(acc, bb, mm, ss, n, lo, hi, o2);
            CHECK(!memcmp(o1, o2, sizeof o1), "%s requant32 n=%zu mode %d", k->name, n, mode);
            int32_t lo16 = it % 7 == 3 ? -2047 : -8191, hi16 = -lo16;
            ref->requant16(acc, bb, mm, ss, n, lo16, hi16, relu, h1);
            k->requant16(acc, bb, mm, ss, n, lo16, hi16, relu, h2);
            CHECK(!memcmp(h1, h2, sizeof h1), "%s requant16 n=%zu mode %d", k->name, n, mode);
            cases += 2;
        }
    }
    /* att_exp: random rows, huge and tiny multipliers, slopes, lengths */
    {
        size_t maxL = 3000;
        int32_t *sc = malloc(maxL * 4);
        int16_t *e1 = malloc((maxL + 1) * 2), *e2 = malloc((maxL + 1) * 2);
        int16_t *l1 = malloc((maxL + 1) * 2), *l2 = malloc((maxL + 1) * 2);
        for (int it = 0; it < 600; it++) {
            size_t L = it < 40 ? 1 + (size_t)it : 1 + rnd() % maxL;
            int mode = it % 4;
            for (size_t i = 0; i < L; i++)
                sc[i] = mode == 0 ? rsym(2047 * 2047 * 64) : mode == 1 ? (int32_t)rnd() : mode == 2 ? 0 : rsym(1000);
            int32_t m = mode == 1 ? INT32_MAX : (int32_t)(rnd() % 0x80000000u) >> (rnd() % 31);
            int32_t sh = 1 + (int32_t)(rnd() % 62);
            int32_t slope = mode == 2 ? (int32_t)(rnd() % 300) : (it & 8) ? INT32_MAX : (int32_t)(rnd() % 0x80000000u) >> (rnd() % 31);
            memset(e1, 0x5a, (maxL + 1) * 2); memset(e2, 0x5a, (maxL + 1) * 2);
            memset(l1, 0x5a, (maxL + 1) * 2); memset(l2, 0x5a, (maxL + 1) * 2);
            int64_t S1 = ref->att_exp(sc, L, m, sh, slope, e1, l1);
            int64_t S2 = k->att_exp(sc, L, m, sh, slope, e2, l2);
            CHECK(S1 == S2 && !memcmp(e1, e2, (maxL + 1) * 2) && !memcmp(l1, l2, (maxL + 1) * 2),
                  "%s att_exp L=%zu mode %d", k->name, L, mode);
            cases++;
        }
        free(sc); free(e1); free(e2); free(l1); free(l2);
    }
    /* rmsnorm: rows of every scale and length (tails), extremes, clamps, zeros;
     * against the reference, which test_scalar_math holds to the definition */
    {
        static int32_t x[4096];
        static int16_t y1[4097], y2[4097];
        for (int it = 0; it < 4000; it++) {
            size_t D = it < 64 ? 1 + (size_t)it : it % 50 == 0 ? 4096 : 1 + rnd() % 300;
            int sc = (int)(rnd() % 25), mode = it % 5;
            for (size_t i = 0; i < D; i++)
                x[i] = mode == 0 ? rsym(1 << sc)
                     : mode == 1 ? ((rnd() & 1) ? (1 << 24) : -(1 << 24)) * (int32_t)(rnd() % 2)
                     : mode == 2 ? (i == 0 ? rsym(1 << 24) : rsym(1 + (1 << (sc / 3))))
                     : mode == 3 ? (i == D / 2 ? (1 << sc) : 0)
                                 : (int32_t)(rnd() % 3) - 1;
            memset(y1, 0x5a, sizeof y1); memset(y2, 0x5a, sizeof y2);
            ref->rmsnorm(x, D, y1);
            k->rmsnorm(x, D, y2);
            CHECK(!memcmp(y1, y2, sizeof y1), "%s rmsnorm D=%zu scale %d mode %d", k->name, D,
                  sc, mode);
            cases++;
        }
    }
    /* byte tables: spread, flat, peaked, ties for the largest, the logit clamps */
    {
        int32_t z[256];
        uint16_t f1[256], f2[256];
        for (int it = 0; it < 3000; it++) {
            int mode = it % 5;
            for (int i = 0; i < 256; i++)
                z[i] = mode == 0 ? rsym(1 << 20) : mode == 1 ? rsym(2000) : mode == 2 ? 0
                     : mode == 3 ? (i == it % 256 ? (1 << 20) : -(1 << 20))
                                 : (int32_t)(rnd() % 4) * 256 - (int32_t)(rnd() % 3000);
            ref->freq(z, f1);
            k->freq(z, f2);
            CHECK(!memcmp(f1, f2, sizeof f1), "%s freq mode %d", k->name, mode);
            cases++;
        }
    }
    printf("kernel %s: %d cases\n", k->name, cases);
    free(X); free(W8); free(Y1); free(Y2);
}

int main(void)
{
    test_exp2();
    test_scalar_math();
    const char *names[] = {"scalar", "avx2", "avx512bw", "avx512"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const mbz_kernels *k = mbz_kernels_by_name(names[i]);
        if (!k) {
            printf("kernel %s: not available on this CPU/build, skipped\n", names[i]);
            continue;
        }
        test_kernel(k);
    }
    printf("default kernel: %s\n", mbz_kernels_get()->name);
    if (failures)
        fprintf(stderr, "%d failures\n", failures);
    return failures ? 1 : 0;
}
