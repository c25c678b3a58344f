/*
 * kernels_avx512.c - AVX-512 kernels: AVX512BW vpmaddwd, and AVX512-VNNI vpdpwssd
 * where the CPU has it. Compiled with target attributes, chosen at run time.
 * Tails (I not a multiple of 32) use masked, zero-filling loads.
 */
#include "config.h"

#include "kernels.h"

#ifdef MBZ_X86_64
#include <immintrin.h>

#define TGT_BW __attribute__((target("avx512f,avx512bw")))
#define TGT_VNNI __attribute__((target("avx512f,avx512bw,avx512vnni")))

#define LDX(p, k) _mm512_maskz_loadu_epi16((k), (p))
#define LDW16(p, k) _mm512_maskz_loadu_epi16((k), (p))
#define LDW8(p, k) _mm512_cvtepi8_epi16(_mm512_castsi512_si256(_mm512_maskz_loadu_epi8((__mmask64)(k), (p))))

#define DOT_BW(acc, x, w) _mm512_add_epi32((acc), _mm512_madd_epi16((x), (w)))
#define DOT_VNNI(acc, x, w) _mm512_dpwssd_epi32((acc), (x), (w))


/* Sum the 16 lanes of each of a0..a3 into y[0..3]. */
#define HSUM4_DEF(NAME, TGT)                                                                \
    TGT static inline void NAME(__m512i a0, __m512i a1, __m512i a2, __m512i a3, int32_t *y) \
    {                                                                                       \
        __m512i t0 = _mm512_add_epi32(_mm512_unpacklo_epi32(a0, a1), _mm512_unpackhi_epi32(a0, a1)); \
        __m512i t1 = _mm512_add_epi32(_mm512_unpacklo_epi32(a2, a3), _mm512_unpackhi_epi32(a2, a3)); \
        __m512i t = _mm512_add_epi32(_mm512_unpacklo_epi64(t0, t1), _mm512_unpackhi_epi64(t0, t1)); \
        __m256i h = _mm256_add_epi32(_mm512_castsi512_si256(t), _mm512_extracti64x4_epi64(t, 1)); \
        __m128i q = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1)); \
        _mm_storeu_si128((__m128i *)y, q);                                                  \
    }
HSUM4_DEF(hsum4_bw, TGT_BW)
HSUM4_DEF(hsum4_vnni, TGT_VNNI)

#define MM(NAME, TGT, WT, LDW, DOT, HSUM4)                                                         \
    TGT static void NAME(const int16_t *X, size_t ldxs, size_t N, const WT *W, size_t ldw,  \
                         size_t O, size_t I, int32_t *Y, size_t ldy)                       \
    {                                                                                       \
        const __mmask32 full = 0xffffffffu;                                                 \
        size_t I32 = I & ~(size_t)31;                                                       \
        __mmask32 tail = (__mmask32)((1ull << (I - I32)) - 1);                              \
        size_t n = 0;                                                                       \
        for (; n + 2 <= N; n += 2) {                                                        \
            const int16_t *x0 = X + n * ldxs, *x1 = x0 + ldxs;                              \
            size_t o = 0;                                                                   \
            for (; o + 4 <= O; o += 4) {                                                    \
                const WT *w0 = W + o * ldw, *w1 = w0 + ldw, *w2 = w1 + ldw, *w3 = w2 + ldw; \
                __m512i a00 = _mm512_setzero_si512(), a01 = a00, a02 = a00, a03 = a00;      \
                __m512i a10 = a00, a11 = a00, a12 = a00, a13 = a00;                         \
                for (size_t i = 0; i < I; i += 32) {                                        \
                    __mmask32 k = i < I32 ? full : tail;                                    \
                    __m512i u0 = LDX(x0 + i, k), u1 = LDX(x1 + i, k);                       \
                    __m512i v = LDW(w0 + i, k);                                             \
                    a00 = DOT(a00, u0, v);                                                  \
                    a10 = DOT(a10, u1, v);                                                  \
                    v = LDW(w1 + i, k);                                                     \
                    a01 = DOT(a01, u0, v);                                                  \
                    a11 = DOT(a11, u1, v);                                                  \
                    v = LDW(w2 + i, k);                                                     \
                    a02 = DOT(a02, u0, v);                                                  \
                    a12 = DOT(a12, u1, v);                                                  \
                    v = LDW(w3 + i, k);                                                     \
                    a03 = DOT(a03, u0, v);                                                  \
                    a13 = DOT(a13, u1, v);                                                  \
                }                                                                           \
                HSUM4(a00, a01, a02, a03, Y + n * ldy + o);                                 \
                HSUM4(a10, a11, a12, a13, Y + (n + 1) * ldy + o);                           \
            }                                                                               \
            for (; o < O; o++) {                                                            \
                const WT *w0 = W + o * ldw;                                                 \
                __m512i a0 = _mm512_setzero_si512(), a1 = a0;                               \
                for (size_t i = 0; i < I; i += 32) {                                        \
                    __mmask32 k = i < I32 ? full : tail;                                    \
                    __m512i v = LDW(w0 + i, k);                                             \
                    a0 = DOT(a0, LDX(x0 + i, k), v);                                        \
                    a1 = DOT(a1, LDX(x1 + i, k), v);                                        \
                }                                                                           \
                Y[n * ldy + o] = _mm512_reduce_add_epi32(a0);                               \
                Y[(n + 1) * ldy + o] = _mm512_reduce_add_epi32(a1);                         \
            }                                                                               \
        }                                                                                   \
        for (; n < N; n++) {                                                                \
            const int16_t *x0 = X + n * ldxs;                                               \
            size_t o = 0;                                                                   \
            for (; o + 4 <= O; o += 4) {                                                    \
                const WT *w0 = W + o * ldw, *w1 = w0 + ldw, *w2 = w1 + ldw, *w3 = w2 + ldw; \
                __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;             \
                for (size_t i = 0; i < I; i += 32) {                                        \
                    __mmask32 k = i < I32 ? full : tail;                                    \
                    __m512i u = LDX(x0 + i, k);                                             \
                    a0 = DOT(a0, u, LDW(w0 + i, k));                                        \
                    a1 = DOT(a1, u, LDW(w1 + i, k));                                        \
                    a2 = DOT(a2, u, LDW(w2 + i, k));                                        \
                    a3 = DOT(a3, u, LDW(w3 + i, k));                                        \
                }                                                                           \
                HSUM4(a0, a1, a2, a3, Y + n * ldy + o);                                     \
            }                                                                               \
            for (; o < O; o++) {                                                            \
                const WT *w0 = W + o * ldw;                                                 \
                __m512i a0 = _mm512_setzero_si512();                                        \
                for (size_t i = 0; i < I; i += 32) {                                        \
                    __mmask32 k = i < I32 ? full : tail;                                    \
                    a0 = DOT(a0, LDX(x0 + i, k), LDW(w0 + i, k));                           \
                }                                                                           \
                Y[n * ldy + o] = _mm512_reduce_add_epi32(a0);                               \
            }                                                                               \
        }                                                                                   \
    }

MM(mm_w8_avx512, TGT_BW, int8_t, LDW8, DOT_BW, hsum4_bw)
MM(mm_w16_avx512, TGT_BW, int16_t, LDW16, DOT_BW, hsum4_bw)
MM(mm_w8_vnni, TGT_VNNI, int8_t, LDW8, DOT_VNNI, hsum4_vnni)
MM(mm_w16_vnni, TGT_VNNI, int16_t, LDW16, DOT_VNNI, hsum4_vnni)

const mbz_kernels mbz_kernels_avx512 = {"avx512", mm_w8_avx512, mm_w16_avx512};
const mbz_kernels mbz_kernels_avx512vnni = {"avx512vnni", mm_w8_vnni, mm_w16_vnni};

#endif /* MBZ_X86_64 */
