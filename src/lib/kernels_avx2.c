/*
 * kernels_avx2.c - AVX2 kernels (vpmaddwd). Compiled with a target attribute, so the
 * build stays portable; chosen at run time only where the CPU has AVX2.
 */
#include "config.h"

#include "kernels.h"
#include "qmath.h"

#ifdef MBZ_X86_64
#include <immintrin.h>

#define TGT __attribute__((target("avx2")))

TGT static inline __m256i ldw8(const int8_t *p)
{
    return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)p));
}

TGT static inline __m256i ldw16(const int16_t *p)
{
    return _mm256_loadu_si256((const __m256i *)p);
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
MM(mm_w16_avx2, int16_t, ldw16)

const mbz_kernels mbz_kernels_avx2 = {"avx2", mm_w8_avx2, mm_w16_avx2, mbz_mm_pk_scalar,
                                      mbz_requant16, mbz_requant32, mbz_att_exp_scalar};

#endif /* MBZ_X86_64 */
