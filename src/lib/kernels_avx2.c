/*
 * kernels_avx2.c - AVX2 kernels (vpmaddwd): mm_w8, the packed mm_pk, the
 * requantizations and the softmax numerators, each bit-equal to the scalar reference
 * (tests/test_kernels.c). Compiled with a target attribute, so the build stays
 * portable; chosen at run time only where the CPU has AVX2.
 */
#include "config.h"

#include "kernels.h"
#include "qmath.h"

#ifdef MBZ_X86_64
#include <immintrin.h>
#include <string.h>

#define TGT __attribute__((target("avx2")))

TGT static inline __m256i ldw8(const int8_t *p)
{
    return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)p));
}

TGT static inline __m256i ldx(const int16_t *p)
{
    return _mm256_loadu_si256((const __m256i *)p);
}

/* Sum the 8 lanes of each of a0..a3 into 4 int32. */
TGT static inline __m128i hsum4(__m256i a0, __m256i a1, __m256i a2, __m256i a3)
{
    __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(a0, a1), _mm256_hadd_epi32(a2, a3));
    return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

TGT static inline int32_t hsum1(__m256i a)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

/* MM(name, weight type, weight loader) */
#define MM(NAME, WT, LDW)                                                                   \
    TGT static void NAME(const int16_t *X, size_t ldxs, size_t N, const WT *W, size_t ldw,  \
                         size_t O, size_t I, int32_t *Y, size_t ldy)                       \
    {                                                                                       \
        size_t I16 = I & ~(size_t)15;                                                       \
        size_t n = 0;                                                                       \
        for (; n + 2 <= N; n += 2) {                                                        \
            const int16_t *x0 = X + n * ldxs, *x1 = x0 + ldxs;                              \
            size_t o = 0;                                                                   \
            for (; o + 4 <= O; o += 4) {                                                    \
                const WT *w0 = W + o * ldw, *w1 = w0 + ldw, *w2 = w1 + ldw, *w3 = w2 + ldw; \
                __m256i a00 = _mm256_setzero_si256(), a01 = a00, a02 = a00, a03 = a00;      \
                __m256i a10 = a00, a11 = a00, a12 = a00, a13 = a00;                         \
                for (size_t i = 0; i < I16; i += 16) {                                      \
                    __m256i u0 = ldx(x0 + i), u1 = ldx(x1 + i);                             \
                    __m256i v = LDW(w0 + i);                                                \
                    a00 = _mm256_add_epi32(a00, _mm256_madd_epi16(u0, v));                  \
                    a10 = _mm256_add_epi32(a10, _mm256_madd_epi16(u1, v));                  \
                    v = LDW(w1 + i);                                                        \
                    a01 = _mm256_add_epi32(a01, _mm256_madd_epi16(u0, v));                  \
                    a11 = _mm256_add_epi32(a11, _mm256_madd_epi16(u1, v));                  \
                    v = LDW(w2 + i);                                                        \
                    a02 = _mm256_add_epi32(a02, _mm256_madd_epi16(u0, v));                  \
                    a12 = _mm256_add_epi32(a12, _mm256_madd_epi16(u1, v));                  \
                    v = LDW(w3 + i);                                                        \
                    a03 = _mm256_add_epi32(a03, _mm256_madd_epi16(u0, v));                  \
                    a13 = _mm256_add_epi32(a13, _mm256_madd_epi16(u1, v));                  \
                }                                                                           \
                int32_t r0[4], r1[4];                                                       \
                _mm_storeu_si128((__m128i *)r0, hsum4(a00, a01, a02, a03));                 \
                _mm_storeu_si128((__m128i *)r1, hsum4(a10, a11, a12, a13));                 \
                for (size_t i = I16; i < I; i++) {                                          \
                    r0[0] += x0[i] * w0[i]; r0[1] += x0[i] * w1[i];                         \
                    r0[2] += x0[i] * w2[i]; r0[3] += x0[i] * w3[i];                         \
                    r1[0] += x1[i] * w0[i]; r1[1] += x1[i] * w1[i];                         \
                    r1[2] += x1[i] * w2[i]; r1[3] += x1[i] * w3[i];                         \
                }                                                                           \
                for (int k = 0; k < 4; k++) {                                               \
                    Y[n * ldy + o + k] = r0[k];                                             \
                    Y[(n + 1) * ldy + o + k] = r1[k];                                       \
                }                                                                           \
            }                                                                               \
            for (; o < O; o++) {                                                            \
                const WT *w0 = W + o * ldw;                                                 \
                __m256i a0 = _mm256_setzero_si256(), a1 = a0;                               \
                for (size_t i = 0; i < I16; i += 16) {                                      \
                    __m256i v = LDW(w0 + i);                                                \
                    a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(ldx(x0 + i), v));           \
                    a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(ldx(x1 + i), v));           \
                }                                                                           \
                int32_t s0 = hsum1(a0), s1 = hsum1(a1);                                     \
                for (size_t i = I16; i < I; i++) {                                          \
                    s0 += x0[i] * w0[i];                                                    \
                    s1 += x1[i] * w0[i];                                                    \
                }                                                                           \
                Y[n * ldy + o] = s0;                                                        \
                Y[(n + 1) * ldy + o] = s1;                                                  \
            }                                                                               \
        }                                                                                   \
        for (; n < N; n++) {                                                                \
            const int16_t *x0 = X + n * ldxs;                                               \
            size_t o = 0;                                                                   \
            for (; o + 4 <= O; o += 4) {                                                    \
                const WT *w0 = W + o * ldw, *w1 = w0 + ldw, *w2 = w1 + ldw, *w3 = w2 + ldw; \
                __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;             \
                for (size_t i = 0; i < I16; i += 16) {                                      \
                    __m256i u = ldx(x0 + i);                                                \
                    a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(u, LDW(w0 + i)));           \
                    a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(u, LDW(w1 + i)));           \
                    a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(u, LDW(w2 + i)));           \
                    a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(u, LDW(w3 + i)));           \
                }                                                                           \
                int32_t r0[4];                                                              \
                _mm_storeu_si128((__m128i *)r0, hsum4(a0, a1, a2, a3));                     \
                for (size_t i = I16; i < I; i++) {                                          \
                    r0[0] += x0[i] * w0[i]; r0[1] += x0[i] * w1[i];                         \
                    r0[2] += x0[i] * w2[i]; r0[3] += x0[i] * w3[i];                         \
                }                                                                           \
                for (int k = 0; k < 4; k++)                                                 \
                    Y[n * ldy + o + k] = r0[k];                                             \
            }                                                                               \
            for (; o < O; o++) {                                                            \
                const WT *w0 = W + o * ldw;                                                 \
                __m256i a0 = _mm256_setzero_si256();                                        \
                for (size_t i = 0; i < I16; i += 16)                                        \
                    a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(ldx(x0 + i), LDW(w0 + i))); \
                int32_t s0 = hsum1(a0);                                                     \
                for (size_t i = I16; i < I; i++)                                            \
                    s0 += x0[i] * w0[i];                                                    \
                Y[n * ldy + o] = s0;                                                        \
            }                                                                               \
        }                                                                                   \
    }

MM(mm_w8_avx2, int8_t, ldw8)

/* ---------------------------------------------------------------- packed GEMM (mm_pk)
 * The layout of kernels.h: one group (16 outputs) x one input pair is 64 bytes, two
 * ymm of 8 outputs each. A tile is R rows x G groups (R*G <= 4): 2*R*G accumulators;
 * per input pair, R broadcast pairs and 2*G weight loads feed 2*R*G vpmaddwd. Each
 * accumulator lane is one output's exact int32 sum (|sum| <= 8191 * 127 * 2048 < 2^31,
 * or 2047^2 * 256 for packed keys; vpmaddwd cannot saturate here: no -32768 operand),
 * so the order of the terms is immaterial and the result equals the scalar one. */
TGT static inline __attribute__((always_inline)) void pk_tile(const int R, const int G,
                                                              const int16_t *X, size_t ldx,
                                                              const int16_t *Wp, size_t I2,
                                                              size_t I, size_t O, int32_t *Y,
                                                              size_t ldy)
{
    __m256i acc[4][4][2];
    _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)
        _Pragma("GCC unroll 4") for (int g = 0; g < G; g++)
            acc[r][g][0] = acc[r][g][1] = _mm256_setzero_si256();
    size_t If = I / 2;     /* pairs with both inputs < I */
    for (size_t i2 = 0; i2 < I2; i2++) {
        __m256i xb[4];
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) {
            const int16_t *xp = X + r * ldx + 2 * i2;
            int32_t pr;
            if (i2 < If)
                memcpy(&pr, xp, 4);
            else
                pr = (int32_t)(uint16_t)xp[0];  /* odd I: the partner weight is 0 */
            xb[r] = _mm256_set1_epi32(pr);
        }
        _Pragma("GCC unroll 4") for (int g = 0; g < G; g++) {
            const int16_t *wp = Wp + (g * I2 + i2) * 32;
            __m256i w0 = _mm256_load_si256((const __m256i *)wp);
            __m256i w1 = _mm256_load_si256((const __m256i *)(wp + 16));
            _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) {
                acc[r][g][0] = _mm256_add_epi32(acc[r][g][0], _mm256_madd_epi16(xb[r], w0));
                acc[r][g][1] = _mm256_add_epi32(acc[r][g][1], _mm256_madd_epi16(xb[r], w1));
            }
        }
    }
    _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)
        _Pragma("GCC unroll 4") for (int g = 0; g < G; g++)
            _Pragma("GCC unroll 2") for (int h = 0; h < 2; h++) {
                size_t o = (size_t)g * 16 + (size_t)h * 8;
                int32_t *y = Y + r * ldy + o;
                if (o + 8 <= O) {
                    _mm256_storeu_si256((__m256i *)y, acc[r][g][h]);
                } else if (o < O) {
                    int32_t t[8];
                    _mm256_storeu_si256((__m256i *)t, acc[r][g][h]);
                    memcpy(y, t, (O - o) * sizeof *y);
                }
            }
}

TGT static void mm_pk_avx2(const int16_t *X, size_t ldx, size_t N, const int16_t *Wp, size_t O,
                           size_t I, int32_t *Y, size_t ldy)
{
    size_t I2 = (I + 1) / 2, NG = (O + 15) / 16;
    if (I == 0) {
        for (size_t n = 0; n < N; n++)
            memset(Y + n * ldy, 0, O * sizeof *Y);
        return;
    }
    /* outer: 32 outputs (their weights stay in L1/L2), inner: rows in pairs */
    for (size_t g0 = 0; g0 < NG; g0 += 2) {
        int G = NG - g0 < 2 ? 1 : 2;
        const int16_t *Wg = Wp + g0 * I2 * 32;
        size_t Og = O - g0 * 16;
        size_t n = 0;
        for (; n + 2 <= N; n += 2) {
            const int16_t *x = X + n * ldx;
            int32_t *y = Y + n * ldy + g0 * 16;
            if (G == 2)
                pk_tile(2, 2, x, ldx, Wg, I2, I, Og, y, ldy);
            else
                pk_tile(2, 1, x, ldx, Wg, I2, I, Og, y, ldy);
        }
        for (; n < N; n++) {
            const int16_t *x = X + n * ldx;
            int32_t *y = Y + n * ldy + g0 * 16;
            if (G == 2)
                pk_tile(1, 2, x, ldx, Wg, I2, I, Og, y, ldy);
            else
                pk_tile(1, 1, x, ldx, Wg, I2, I, Og, y, ldy);
        }
    }
}

/* mm_pk8: the same with int8 packed weights (a group's pair is 32 bytes, two halves of
 * 16 widened by vpmovsxbw as they are loaded). */
TGT static inline __attribute__((always_inline)) void pk8_tile(const int R, const int G,
                                                              const int16_t *X, size_t ldx,
                                                              const int8_t *Wp, size_t I2,
                                                              size_t I, size_t O, int32_t *Y,
                                                              size_t ldy)
{
    __m256i acc[4][4][2];
    _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)
        _Pragma("GCC unroll 4") for (int g = 0; g < G; g++)
            acc[r][g][0] = acc[r][g][1] = _mm256_setzero_si256();
    size_t If = I / 2;     /* pairs with both inputs < I */
    for (size_t i2 = 0; i2 < I2; i2++) {
        __m256i xb[4];
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) {
            const int16_t *xp = X + r * ldx + 2 * i2;
            int32_t pr;
            if (i2 < If)
                memcpy(&pr, xp, 4);
            else
                pr = (int32_t)(uint16_t)xp[0];  /* odd I: the partner weight is 0 */
            xb[r] = _mm256_set1_epi32(pr);
        }
        _Pragma("GCC unroll 4") for (int g = 0; g < G; g++) {
            const int8_t *wp = Wp + (g * I2 + i2) * 32;
            __m256i w0 = _mm256_cvtepi8_epi16(_mm_load_si128((const __m128i *)wp));
            __m256i w1 = _mm256_cvtepi8_epi16(_mm_load_si128((const __m128i *)(wp + 16)));
            _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) {
                acc[r][g][0] = _mm256_add_epi32(acc[r][g][0], _mm256_madd_epi16(xb[r], w0));
                acc[r][g][1] = _mm256_add_epi32(acc[r][g][1], _mm256_madd_epi16(xb[r], w1));
            }
        }
    }
    _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)
        _Pragma("GCC unroll 4") for (int g = 0; g < G; g++)
            _Pragma("GCC unroll 2") for (int h = 0; h < 2; h++) {
                size_t o = (size_t)g * 16 + (size_t)h * 8;
                int32_t *y = Y + r * ldy + o;
                if (o + 8 <= O) {
                    _mm256_storeu_si256((__m256i *)y, acc[r][g][h]);
                } else if (o < O) {
                    int32_t t[8];
                    _mm256_storeu_si256((__m256i *)t, acc[r][g][h]);
                    memcpy(y, t, (O - o) * sizeof *y);
                }
            }
}

TGT static void mm_pk8_avx2(const int16_t *X, size_t ldx, size_t N, const int8_t *Wp, size_t O,
                           size_t I, int32_t *Y, size_t ldy)
{
    size_t I2 = (I + 1) / 2, NG = (O + 15) / 16;
    if (I == 0) {
        for (size_t n = 0; n < N; n++)
            memset(Y + n * ldy, 0, O * sizeof *Y);
        return;
    }
    /* outer: 32 outputs (their weights stay in L1/L2), inner: rows in pairs */
    for (size_t g0 = 0; g0 < NG; g0 += 2) {
        int G = NG - g0 < 2 ? 1 : 2;
        const int8_t *Wg = Wp + g0 * I2 * 32;
        size_t Og = O - g0 * 16;
        size_t n = 0;
        for (; n + 2 <= N; n += 2) {
            const int16_t *x = X + n * ldx;
            int32_t *y = Y + n * ldy + g0 * 16;
            if (G == 2)
                pk8_tile(2, 2, x, ldx, Wg, I2, I, Og, y, ldy);
            else
                pk8_tile(2, 1, x, ldx, Wg, I2, I, Og, y, ldy);
        }
        for (; n < N; n++) {
            const int16_t *x = X + n * ldx;
            int32_t *y = Y + n * ldy + g0 * 16;
            if (G == 2)
                pk8_tile(1, 2, x, ldx, Wg, I2, I, Og, y, ldy);
            else
                pk8_tile(1, 1, x, ldx, Wg, I2, I, Og, y, ldy);
        }
    }
}

/* ---------------------------------------------------------------- int64 helpers
 * AVX2 has no arithmetic right shift, minimum or maximum of int64 lanes: shifts go
 * through the logical ones with the sign folded in ((v ^ s) >> k ^ s with s = v < 0
 * ? -1 : 0 is floor(v / 2^k)), comparisons through vpcmpgtq. */
TGT static inline __m256i sra64v(__m256i v, __m256i k)
{
    __m256i sg = _mm256_cmpgt_epi64(_mm256_setzero_si256(), v);
    return _mm256_xor_si256(_mm256_srlv_epi64(_mm256_xor_si256(v, sg), k), sg);
}

TGT static inline __m256i sra64(__m256i v, __m128i k)
{
    __m256i sg = _mm256_cmpgt_epi64(_mm256_setzero_si256(), v);
    return _mm256_xor_si256(_mm256_srl_epi64(_mm256_xor_si256(v, sg), k), sg);
}

TGT static inline __m256i max64(__m256i a, __m256i b)
{
    return _mm256_blendv_epi8(b, a, _mm256_cmpgt_epi64(a, b));
}

TGT static inline __m256i min64(__m256i a, __m256i b)
{
    return _mm256_blendv_epi8(a, b, _mm256_cmpgt_epi64(a, b));
}

/* ---------------------------------------------------------------- requantization
 * v = (acc + b) * m as acc*m + b*m (vpmuldq: signed 32x32 -> 64, each product < 2^62,
 * the sum < 2^63: the scalar code's integer), round_shift(v, s) = floor(v / 2^s) + bit
 * (s-1) of v, clamp to [lo, hi] in 64 bits, narrow. 4 lanes per step; the tail (n % 4)
 * through the scalar reference, which computes the same integers. */
TGT static inline __m256i rq4(const int32_t *acc, const int32_t *b, const int32_t *m,
                              const int32_t *s, __m256i lo, __m256i hi)
{
    __m256i a = _mm256_cvtepi32_epi64(_mm_loadu_si128((const __m128i *)acc));
    __m256i bb = _mm256_cvtepi32_epi64(_mm_loadu_si128((const __m128i *)b));
    __m256i mm = _mm256_cvtepi32_epi64(_mm_loadu_si128((const __m128i *)m));
    __m256i ss = _mm256_cvtepi32_epi64(_mm_loadu_si128((const __m128i *)s));
    __m256i v = _mm256_add_epi64(_mm256_mul_epi32(a, mm), _mm256_mul_epi32(bb, mm));
    __m256i one = _mm256_set1_epi64x(1);
    __m256i bit = _mm256_and_si256(_mm256_srlv_epi64(v, _mm256_sub_epi64(ss, one)), one);
    __m256i r = _mm256_add_epi64(sra64v(v, ss), bit);
    return min64(max64(r, lo), hi);
}

/* the low 32 bits of the 4 int64 lanes (values already within int32) */
TGT static inline __m128i narrow64_32(__m256i v)
{
    __m256i p = _mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7));
    return _mm256_castsi256_si128(p);
}

TGT static void requant16_avx2(const int32_t *acc, const int32_t *b, const int32_t *m,
                               const int32_t *s, size_t n, int32_t lo, int32_t hi, int relu,
                               int16_t *y)
{
    if (relu && lo < 0)
        lo = 0;   /* as mbz_requant16 */
    __m256i vlo = _mm256_set1_epi64x(lo), vhi = _mm256_set1_epi64x(hi);
    size_t o = 0;
    for (; o + 8 <= n; o += 8) {
        __m128i r0 = narrow64_32(rq4(acc + o, b + o, m + o, s + o, vlo, vhi));
        __m128i r1 = narrow64_32(rq4(acc + o + 4, b + o + 4, m + o + 4, s + o + 4, vlo, vhi));
        _mm_storeu_si128((__m128i *)(y + o), _mm_packs_epi32(r0, r1));   /* in int16 range */
    }
    mbz_requant16(acc + o, b + o, m + o, s + o, n - o, lo, hi, 0, y + o);
}

TGT static void requant32_avx2(const int32_t *acc, const int32_t *b, const int32_t *m,
                               const int32_t *s, size_t n, int32_t lo, int32_t hi, int32_t *y)
{
    __m256i vlo = _mm256_set1_epi64x(lo), vhi = _mm256_set1_epi64x(hi);
    size_t o = 0;
    for (; o + 4 <= n; o += 4)
        _mm_storeu_si128((__m128i *)(y + o), narrow64_32(rq4(acc + o, b + o, m + o, s + o, vlo, vhi)));
    mbz_requant32(acc + o, b + o, m + o, s + o, n - o, lo, hi, y + o);
}

/* ---------------------------------------------------------------- softmax numerators
 * As mbz_att_exp_scalar, 4 keys per step in int64 lanes: z = round_shift(s*m, sh) -
 * slope*dist (vpmuldq: |s*m| < 2^62; vpmuludq: slope*dist < 2^31 * 2^20), t = zmax - z
 * clamped to 17*256 (where exp2neg is 0 anyway: EXP2[0] >> 17 = 0), e = EXP2[t & 255]
 * >> (t >> 8) by a table gather; S in int64 lanes. The last L % 4 keys in scalar code
 * (the same integers). */
TGT static inline __m256i az4(const int32_t *s, size_t w, size_t L, __m256i mm, __m128i sh,
                              __m128i sh1, __m256i slope)
{
    __m256i one = _mm256_set1_epi64x(1);
    __m256i v = _mm256_mul_epi32(_mm256_cvtepi32_epi64(_mm_loadu_si128((const __m128i *)(s + w))), mm);
    __m256i r = _mm256_add_epi64(sra64(v, sh), _mm256_and_si256(_mm256_srl_epi64(v, sh1), one));
    /* dist = L - 1 - (w + lane), >= 0 */
    __m256i dist = _mm256_sub_epi64(_mm256_set1_epi64x((long long)(L - 1 - w)),
                                    _mm256_setr_epi64x(0, 1, 2, 3));
    return _mm256_sub_epi64(r, _mm256_mul_epu32(slope, dist));
}

static inline int64_t az1(const int32_t *s, size_t w, size_t L, int32_t m, int32_t sh, int32_t slope)
{
    return mbz_round_shift((int64_t)s[w] * m, sh) - (int64_t)slope * (int64_t)(L - 1 - w);
}

TGT static int64_t att_exp_avx2(const int32_t *s, size_t L, int32_t m, int32_t sh, int32_t slope,
                                int16_t *eh, int16_t *el)
{
    __m256i vm = _mm256_set1_epi64x(m), vsl = _mm256_set1_epi64x(slope);
    __m128i vsh = _mm_cvtsi32_si128(sh), vsh1 = _mm_cvtsi32_si128(sh - 1);
    size_t L4 = L & ~(size_t)3;
    __m256i zm4 = _mm256_set1_epi64x(INT64_MIN);
    for (size_t w = 0; w < L4; w += 4)
        zm4 = max64(zm4, az4(s, w, L, vm, vsh, vsh1, vsl));
    int64_t zl[4];
    _mm256_storeu_si256((__m256i *)zl, zm4);
    int64_t zmax = INT64_MIN;
    for (int i = 0; i < 4; i++)
        zmax = zl[i] > zmax ? zl[i] : zmax;
    for (size_t w = L4; w < L; w++) {
        int64_t z = az1(s, w, L, m, sh, slope);
        zmax = z > zmax ? z : zmax;
    }
    __m256i zm = _mm256_set1_epi64x(zmax), cap = _mm256_set1_epi64x(17 * 256);
    __m256i S4 = _mm256_setzero_si256();
    const __m128i b255 = _mm_set1_epi32(255);
    for (size_t w = 0; w < L4; w += 4) {
        __m256i t = min64(_mm256_sub_epi64(zm, az4(s, w, L, vm, vsh, vsh1, vsl)), cap);
        __m128i t32 = narrow64_32(t);   /* 0 <= t <= 17*256 */
        __m128i e = _mm_i32gather_epi32((const int *)mbz_exp2_tab, _mm_and_si128(t32, b255), 4);
        e = _mm_srlv_epi32(e, _mm_srli_epi32(t32, 8));
        S4 = _mm256_add_epi64(S4, _mm256_cvtepu32_epi64(e));
        __m128i hl = _mm_packs_epi32(_mm_srli_epi32(e, 8), _mm_and_si128(e, b255));   /* <= 256 */
        _mm_storel_epi64((__m128i *)(eh + w), hl);
        _mm_storel_epi64((__m128i *)(el + w), _mm_unpackhi_epi64(hl, hl));
    }
    int64_t Sl[4];
    _mm256_storeu_si256((__m256i *)Sl, S4);
    int64_t S = Sl[0] + Sl[1] + Sl[2] + Sl[3];
    for (size_t w = L4; w < L; w++) {
        uint32_t e = mbz_exp2neg(zmax - az1(s, w, L, m, sh, slope));
        S += e;
        eh[w] = (int16_t)(e >> 8);
        el[w] = (int16_t)(e & 255);
    }
    return S;
}

/* Int8 activations: the reference quantizer, and rows widened to int16 for mm_pk8
 * (AVX2 has no byte dot product without saturation: vpmaddubsw saturates). */
static void mm_q8_avx2(const int8_t *Q, size_t ldq, const uint8_t *E, size_t lde, size_t N,
                       const int8_t *Wp, size_t O, size_t I, int32_t *Y, size_t ldy)
{
    mbz_mm_q8_widened(mm_pk8_avx2, Q, ldq, E, lde, N, Wp, O, I, Y, ldy);
}

const mbz_kernels mbz_kernels_avx2 = {"avx2", mm_w8_avx2, mm_pk_avx2,
                                      requant16_avx2, requant32_avx2, att_exp_avx2, mm_pk8_avx2,
                                      mbz_rmsnorm, mbz_freq_from_logits, mbz_act_q8, mm_q8_avx2,
                                      0};

#endif /* MBZ_X86_64 */
