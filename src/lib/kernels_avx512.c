/*
 * kernels_avx512.c - AVX-512 kernels: AVX512BW vpmaddwd, and AVX512-VNNI vpdpwssd
 * (int16) and vpdpbusd (int8 activations, mm_q8) where the CPU has it. Compiled with
 * target attributes, chosen at run time.
 * Tails (I not a multiple of 32) use masked, zero-filling loads.
 */
#include "config.h"

#include "kernels.h"
#include "modelfile.h"
#include "qmath.h"

#ifdef MBZ_X86_64
#include <immintrin.h>
#include <string.h>

#define TGT_BW __attribute__((target("avx512f,avx512bw,avx512vl")))
#define TGT_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

#define LDX(p, k) _mm512_maskz_loadu_epi16((k), (p))
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
MM(mm_w8_vnni, TGT_VNNI, int8_t, LDW8, DOT_VNNI, hsum4_vnni)

/* ---------------------------------------------------------------- packed GEMM (mm_pk)
 * A tile is R rows x G groups of 16 outputs, R, G <= 4: R*G zmm accumulators, per input
 * pair R broadcasts and G weight loads. Each accumulator lane is one output's exact
 * int32 sum (|sum| <= 8191 * 127 * 2048 < 2^31; vpdpwssd/vpmaddwd do not saturate, and
 * int32 wrap-around addition is associative, so the order of terms is immaterial). */
/* The input pair at xp as one int32 to broadcast; for odd I the last pair has no
 * partner (its weight is 0) and xp[1] may lie past the row: not read. */
static inline int32_t pk_pair(const int16_t *xp, int both)
{
    int32_t pr;
    if (both)
        memcpy(&pr, xp, 4);
    else
        pr = (int32_t)(uint16_t)xp[0];
    return pr;
}

#define PK_DEF(NAME, TGT, DOT, WT, LDPK)                                                    \
    TGT static inline __attribute__((always_inline)) void NAME##_tile(                      \
        const int R, const int G, const int16_t *X, size_t ldx, const WT *Wp, size_t I2,    \
        size_t I, size_t O, int32_t *Y, size_t ldy)                                         \
    {                                                                                       \
        __m512i acc[4][4];                                                                  \
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                                 \
            _Pragma("GCC unroll 4") for (int g = 0; g < G; g++)                             \
                acc[r][g] = _mm512_setzero_si512();                                         \
        size_t If = I / 2;     /* pairs with both inputs < I */                             \
        for (size_t i2 = 0; i2 < I2; i2++) {                                                \
            __m512i xb[4];                                                                  \
            _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                             \
                xb[r] = _mm512_set1_epi32(pk_pair(X + r * ldx + 2 * i2, i2 < If));          \
            _Pragma("GCC unroll 4") for (int g = 0; g < G; g++) {                           \
                __m512i w = LDPK(Wp + (g * I2 + i2) * 32);                                  \
                _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                         \
                    acc[r][g] = DOT(acc[r][g], xb[r], w);                                   \
            }                                                                               \
        }                                                                                   \
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                                 \
            _Pragma("GCC unroll 4") for (int g = 0; g < G; g++) {                           \
                size_t o = (size_t)g * 16;                                                  \
                if (o + 16 <= O)                                                            \
                    _mm512_storeu_si512((void *)(Y + r * ldy + o), acc[r][g]);              \
                else if (o < O)                                                             \
                    _mm512_mask_storeu_epi32(Y + r * ldy + o,                               \
                                             (__mmask16)((1u << (O - o)) - 1), acc[r][g]);  \
            }                                                                               \
    }                                                                                       \
    /* one row (step prediction): two accumulators per group, over even and odd       \
     * pairs, so that 2G chains of dot products overlap their latency */                 \
    TGT static inline __attribute__((always_inline)) void NAME##_tile1(                     \
        const int G, const int16_t *x, const WT *Wp, size_t I2, size_t I, size_t O,         \
        int32_t *y)                                                                         \
    {                                                                                       \
        __m512i acc[4], acc2[4];                                                            \
        _Pragma("GCC unroll 4") for (int g = 0; g < G; g++)                                 \
            acc[g] = acc2[g] = _mm512_setzero_si512();                                      \
        size_t If = I / 2, i2 = 0;                                                          \
        for (; i2 + 2 <= If; i2 += 2) {                                                     \
            int32_t p0, p1;                                                                 \
            memcpy(&p0, x + 2 * i2, 4);                                                     \
            memcpy(&p1, x + 2 * i2 + 2, 4);                                                 \
            __m512i x0 = _mm512_set1_epi32(p0), x1 = _mm512_set1_epi32(p1);                 \
            _Pragma("GCC unroll 4") for (int g = 0; g < G; g++) {                           \
                acc[g] = DOT(acc[g], x0, LDPK(Wp + (g * I2 + i2) * 32));                    \
                acc2[g] = DOT(acc2[g], x1, LDPK(Wp + (g * I2 + i2 + 1) * 32));              \
            }                                                                               \
        }                                                                                   \
        for (; i2 < I2; i2++) {                                                             \
            __m512i xb = _mm512_set1_epi32(pk_pair(x + 2 * i2, i2 < If));                   \
            _Pragma("GCC unroll 4") for (int g = 0; g < G; g++)                             \
                acc[g] = DOT(acc[g], xb, LDPK(Wp + (g * I2 + i2) * 32));                    \
        }                                                                                   \
        _Pragma("GCC unroll 4") for (int g = 0; g < G; g++) {                               \
            __m512i a = _mm512_add_epi32(acc[g], acc2[g]);                                  \
            size_t o = (size_t)g * 16;                                                      \
            if (o + 16 <= O)                                                                \
                _mm512_storeu_si512((void *)(y + o), a);                                    \
            else if (o < O)                                                                 \
                _mm512_mask_storeu_epi32(y + o, (__mmask16)((1u << (O - o)) - 1), a);       \
        }                                                                                   \
    }                                                                                       \
    TGT static void NAME(const int16_t *X, size_t ldx, size_t N, const WT *Wp,              \
                         size_t O, size_t I, int32_t *Y, size_t ldy)                        \
    {                                                                                       \
        size_t I2 = (I + 1) / 2, NG = (O + 15) / 16;                                        \
        if (I == 0) {                                                                       \
            for (size_t n = 0; n < N; n++)                                                  \
                memset(Y + n * ldy, 0, O * sizeof *Y);                                      \
            return;                                                                         \
        }                                                                                   \
        /* outer: 64 outputs (their weights stay in L1/L2), inner: rows */                  \
        for (size_t g0 = 0; g0 < NG; g0 += 4) {                                             \
            int G = NG - g0 < 4 ? (int)(NG - g0) : 4;                                       \
            const WT *Wg = Wp + g0 * I2 * 32;                                               \
            size_t Og = O - g0 * 16;                                                        \
            size_t n = 0;                                                                   \
            for (; n + 4 <= N; n += 4) {                                                    \
                const int16_t *x = X + n * ldx;                                             \
                int32_t *y = Y + n * ldy + g0 * 16;                                         \
                switch (G) {                                                                \
                case 4: NAME##_tile(4, 4, x, ldx, Wg, I2, I, Og, y, ldy); break;            \
                case 3: NAME##_tile(4, 3, x, ldx, Wg, I2, I, Og, y, ldy); break;            \
                case 2: NAME##_tile(4, 2, x, ldx, Wg, I2, I, Og, y, ldy); break;            \
                default: NAME##_tile(4, 1, x, ldx, Wg, I2, I, Og, y, ldy); break;           \
                }                                                                           \
            }                                                                               \
            for (; n < N; n++) {                                                            \
                const int16_t *x = X + n * ldx;                                             \
                int32_t *y = Y + n * ldy + g0 * 16;                                         \
                switch (G) {                                                                \
                case 4: NAME##_tile1(4, x, Wg, I2, I, Og, y); break;                        \
                case 3: NAME##_tile1(3, x, Wg, I2, I, Og, y); break;                        \
                case 2: NAME##_tile1(2, x, Wg, I2, I, Og, y); break;                        \
                default: NAME##_tile1(1, x, Wg, I2, I, Og, y); break;                       \
                }                                                                           \
            }                                                                               \
        }                                                                                   \
    }

/* weight loaders: int16 packed (64 bytes), int8 packed (32 bytes, widened) */
#define LDPK16(p) _mm512_load_si512((const void *)(p))
#define LDPK8(p) _mm512_cvtepi8_epi16(_mm256_load_si256((const __m256i *)(const void *)(p)))

PK_DEF(mm_pk_avx512, TGT_BW, DOT_BW, int16_t, LDPK16)
PK_DEF(mm_pk_vnni, TGT_VNNI, DOT_VNNI, int16_t, LDPK16)
PK_DEF(mm_pk8_avx512, TGT_BW, DOT_BW, int8_t, LDPK8)
PK_DEF(mm_pk8_vnni, TGT_VNNI, DOT_VNNI, int8_t, LDPK8)

/* ---------------------------------------------------------------- requantization
 * v = (acc + b) * m computed as acc*m + b*m (vpmuldq: signed 32x32 -> 64; each product
 * < 2^31 * 2^31 = 2^62, the sum < 2^63, the same integer as the scalar code), then
 * round_shift(v, s) = (v >> s) + ((v >> (s-1)) & 1) with per-lane arithmetic shifts,
 * clamp to [lo, hi] (64-bit), narrow. 8 lanes per step, masked tail. */
TGT_BW static inline __m512i rq8(const int32_t *acc, const int32_t *b, const int32_t *m,
                                 const int32_t *s, __mmask8 k, __m512i lo, __m512i hi)
{
    __m512i a = _mm512_cvtepi32_epi64(_mm256_maskz_loadu_epi32(k, acc));
    __m512i bb = _mm512_cvtepi32_epi64(_mm256_maskz_loadu_epi32(k, b));
    __m512i mm = _mm512_cvtepi32_epi64(_mm256_maskz_loadu_epi32(k, m));
    __m512i ss = _mm512_cvtepi32_epi64(_mm256_maskz_loadu_epi32(k, s));
    __m512i v = _mm512_add_epi64(_mm512_mul_epi32(a, mm), _mm512_mul_epi32(bb, mm));
    __m512i one = _mm512_set1_epi64(1);
    __m512i r = _mm512_add_epi64(_mm512_srav_epi64(v, ss),
                                 _mm512_and_si512(_mm512_srav_epi64(v, _mm512_sub_epi64(ss, one)), one));
    return _mm512_min_epi64(_mm512_max_epi64(r, lo), hi);
}

TGT_BW static void requant16_avx512(const int32_t *acc, const int32_t *b, const int32_t *m,
                                    const int32_t *s, size_t n, int32_t lo, int32_t hi, int relu,
                                    int16_t *y)
{
    if (relu && lo < 0)
        lo = 0;   /* as mbz_requant16 */
    __m512i vlo = _mm512_set1_epi64(lo), vhi = _mm512_set1_epi64(hi);
    for (size_t o = 0; o < n; o += 8) {
        __mmask8 k = n - o >= 8 ? 0xff : (__mmask8)((1u << (n - o)) - 1);
        __m512i r = rq8(acc + o, b + o, m + o, s + o, k, vlo, vhi);
        _mm_mask_storeu_epi16(y + o, k, _mm512_cvtepi64_epi16(r));
    }
}

TGT_BW static void requant32_avx512(const int32_t *acc, const int32_t *b, const int32_t *m,
                                    const int32_t *s, size_t n, int32_t lo, int32_t hi, int32_t *y)
{
    __m512i vlo = _mm512_set1_epi64(lo), vhi = _mm512_set1_epi64(hi);
    for (size_t o = 0; o < n; o += 8) {
        __mmask8 k = n - o >= 8 ? 0xff : (__mmask8)((1u << (n - o)) - 1);
        __m512i r = rq8(acc + o, b + o, m + o, s + o, k, vlo, vhi);
        _mm256_mask_storeu_epi32(y + o, k, _mm512_cvtepi64_epi32(r));
    }
}

/* ---------------------------------------------------------------- softmax numerators
 * As mbz_att_exp_scalar, 8 keys per step in int64 lanes: z = round_shift(s*m, sh) -
 * slope*dist (vpmuldq: s*m < 2^62; slope*dist < 2^31 * 2^20), t = zmax - z clamped to
 * 17*256 (where exp2neg is 0 anyway: EXP2[0] >> 17 = 0), e = EXP2[t & 255] >> (t >> 8)
 * by a table gather. S per lane in int64. */
TGT_BW static inline __m512i az8(const int32_t *s, size_t w, size_t L, __mmask8 k, __m512i mm,
                                 __m512i sh, __m512i sh1, __m512i slope)
{
    __m512i one = _mm512_set1_epi64(1);
    __m512i v = _mm512_mul_epi32(_mm512_cvtepi32_epi64(_mm256_maskz_loadu_epi32(k, s + w)), mm);
    __m512i r = _mm512_add_epi64(_mm512_srav_epi64(v, sh), _mm512_and_si512(_mm512_srav_epi64(v, sh1), one));
    /* dist = L - 1 - (w + lane) */
    __m512i dist = _mm512_sub_epi64(_mm512_set1_epi64((long long)(L - 1 - w)),
                                    _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0));
    return _mm512_sub_epi64(r, _mm512_mul_epi32(slope, dist));
}

TGT_BW static int64_t att_exp_avx512(const int32_t *s, size_t L, int32_t m, int32_t sh,
                                     int32_t slope, int16_t *eh, int16_t *el)
{
    __m512i vm = _mm512_set1_epi64(m), vsh = _mm512_set1_epi64(sh), vsh1 = _mm512_set1_epi64(sh - 1);
    __m512i vsl = _mm512_set1_epi64(slope);
    __m512i zmax = _mm512_set1_epi64(INT64_MIN);
    for (size_t w = 0; w < L; w += 8) {
        __mmask8 k = L - w >= 8 ? 0xff : (__mmask8)((1u << (L - w)) - 1);
        zmax = _mm512_mask_max_epi64(zmax, k, zmax, az8(s, w, L, k, vm, vsh, vsh1, vsl));
    }
    __m512i zm = _mm512_set1_epi64(_mm512_reduce_max_epi64(zmax));
    __m512i cap = _mm512_set1_epi64(17 * 256), S = _mm512_setzero_si512();
    for (size_t w = 0; w < L; w += 8) {
        __mmask8 k = L - w >= 8 ? 0xff : (__mmask8)((1u << (L - w)) - 1);
        __m512i t = _mm512_min_epi64(_mm512_sub_epi64(zm, az8(s, w, L, k, vm, vsh, vsh1, vsl)), cap);
        __m256i t32 = _mm512_cvtepi64_epi32(t);
        __m256i f = _mm256_and_si256(t32, _mm256_set1_epi32(255));
        __m256i e = _mm256_mmask_i32gather_epi32(_mm256_setzero_si256(), k, f,
                                                 (const int *)mbz_exp2_tab, 4);
        e = _mm256_srlv_epi32(e, _mm256_srli_epi32(t32, 8));
        e = _mm256_maskz_mov_epi32(k, e);
        S = _mm512_add_epi64(S, _mm512_cvtepu32_epi64(e));
        _mm_mask_storeu_epi16(eh + w, k, _mm256_cvtepi32_epi16(_mm256_srli_epi32(e, 8)));
        _mm_mask_storeu_epi16(el + w, k, _mm256_cvtepi32_epi16(_mm256_and_si256(e, _mm256_set1_epi32(255))));
    }
    return _mm512_reduce_add_epi64(S);
}

/* ---------------------------------------------------------------- RMSNorm
 * As mbz_rmsnorm. ss exactly in int64 lanes (x^2 <= 2^48, D <= 4096), rms in scalar
 * code. Then y = clamp(div_round(1024 x, rms), +-8191) = max(floor(m / den) - 8192,
 * -8191) with den = 2 rms and m = 2048 x + rms + 8192 den clamped to
 * [0, 2^14 den - 1]: a quotient beyond +-8192 is clamped either way. As rms <= 2^24
 * (|x| <= 2^24), m < 2^14 den <= 2^39 and the floor needs only 32-bit products
 * (vpmuludq): with b the bit length of den, s = max(0, b - 18) and
 * inv = floor(2^(32+s) / den) + 1 < 2^32, the estimate q0 = floor((m >> s) inv / 2^32)
 * (m >> s < 2^32) lies within one of floor(m / den): the dropped low bits of m are
 * worth less than 2^s / den <= 2^-17, inv's excess less than 1. The remainder
 * m - q0 den (< 2^40) corrects it either way. */
TGT_BW static void rmsnorm_avx512(const int32_t *x, size_t D, int16_t *y)
{
    __m512i acc = _mm512_setzero_si512();
    for (size_t i = 0; i < D; i += 8) {
        __mmask8 k = D - i >= 8 ? 0xff : (__mmask8)((1u << (D - i)) - 1);
        __m512i v = _mm512_cvtepi32_epi64(_mm256_maskz_loadu_epi32(k, x + i));
        acc = _mm512_add_epi64(acc, _mm512_mul_epi32(v, v));
    }
    uint64_t rms = mbz_isqrt64((uint64_t)_mm512_reduce_add_epi64(acc) / D);
    if (rms < 1)
        rms = 1;
    if (rms > ((uint64_t)1 << 24)) {   /* only outside the bound |x| <= 2^24 */
        mbz_rmsnorm(x, D, y);
        return;
    }
    uint64_t den = 2 * rms;
    int b = 64 - __builtin_clzll(den);
    int s = b > 18 ? b - 18 : 0;
    const __m512i vden = _mm512_set1_epi64((long long)den);
    const __m512i vinv = _mm512_set1_epi64((long long)((((uint64_t)1 << (32 + s)) / den) + 1));
    const __m512i vc = _mm512_set1_epi64((long long)(rms + 8192 * den));
    const __m512i vmax = _mm512_set1_epi64((long long)((den << 14) - 1));
    const __m512i zero = _mm512_setzero_si512(), one = _mm512_set1_epi64(1);
    const __m512i bias = _mm512_set1_epi64(8192), lo = _mm512_set1_epi64(-8191);
    const __m128i vs = _mm_cvtsi32_si128(s);
    for (size_t i = 0; i < D; i += 8) {
        __mmask8 k = D - i >= 8 ? 0xff : (__mmask8)((1u << (D - i)) - 1);
        __m512i v = _mm512_cvtepi32_epi64(_mm256_maskz_loadu_epi32(k, x + i));
        __m512i m = _mm512_add_epi64(_mm512_slli_epi64(v, 11), vc);
        m = _mm512_min_epi64(_mm512_max_epi64(m, zero), vmax);
        __m512i q = _mm512_srli_epi64(_mm512_mul_epu32(_mm512_srl_epi64(m, vs), vinv), 32);
        __m512i r = _mm512_sub_epi64(m, _mm512_mul_epu32(q, vden));
        q = _mm512_mask_sub_epi64(q, _mm512_cmplt_epi64_mask(r, zero), q, one);
        q = _mm512_mask_add_epi64(q, _mm512_cmpge_epi64_mask(r, vden), q, one);
        q = _mm512_max_epi64(_mm512_sub_epi64(q, bias), lo);
        _mm_mask_storeu_epi16(y + i, k, _mm512_cvtepi64_epi16(q));
    }
}

/* ---------------------------------------------------------------- byte tables
 * As mbz_freq_from_logits, 16 symbols per step: e = EXP2[t & 255] >> (t >> 8) by a
 * table gather, t = zmax - z clamped to 17*256 (where e is 0 anyway); S in 32-bit
 * lanes (S <= 256 * 2^16). The largest e (65536, t = 0) is the first symbol whose
 * z is zmax. f = 1 + (e * mult >> 41) with mult < 2^41 split in 32-bit halves
 * (vpmuludq: e * lo + (e * hi << 32) = e * mult < 2^57). */
TGT_BW static void freq_avx512(const int32_t *z, uint16_t *freq)
{
    __m512i vmax = _mm512_loadu_si512((const void *)z);
    for (int i = 16; i < 256; i += 16)
        vmax = _mm512_max_epi32(vmax, _mm512_loadu_si512((const void *)(z + i)));
    int32_t zmax = _mm512_reduce_max_epi32(vmax);
    const __m512i vz = _mm512_set1_epi32(zmax), cap = _mm512_set1_epi32(17 * 256);
    const __m512i low8 = _mm512_set1_epi32(255);
    __m512i S = _mm512_setzero_si512();
    uint32_t e[256] __attribute__((aligned(64)));
    int best = -1;
    for (int i = 0; i < 256; i += 16) {
        __m512i zi = _mm512_loadu_si512((const void *)(z + i));
        __m512i t = _mm512_min_epi32(_mm512_sub_epi32(vz, zi), cap);
        __m512i v = _mm512_i32gather_epi32(_mm512_and_si512(t, low8), (const void *)mbz_exp2_tab, 4);
        v = _mm512_srlv_epi32(v, _mm512_srli_epi32(t, 8));
        S = _mm512_add_epi32(S, v);
        _mm512_store_si512((void *)(e + i), v);
        __mmask16 at = _mm512_cmpeq_epi32_mask(zi, vz);
        if (best < 0 && at)
            best = i + __builtin_ctz(at);
    }
    uint64_t mult = ((uint64_t)(65536 - 256) << 41) / (uint64_t)(uint32_t)_mm512_reduce_add_epi32(S) + 1;
    const __m512i mlo = _mm512_set1_epi64((long long)(mult & 0xffffffffu));
    const __m512i mhi = _mm512_set1_epi64((long long)(mult >> 32));
    const __m512i one = _mm512_set1_epi64(1);
    __m512i sum = _mm512_setzero_si512();
    for (int i = 0; i < 256; i += 8) {
        __m512i ev = _mm512_cvtepu32_epi64(_mm256_load_si256((const __m256i *)(const void *)(e + i)));
        __m512i p = _mm512_add_epi64(_mm512_mul_epu32(ev, mlo),
                                     _mm512_slli_epi64(_mm512_mul_epu32(ev, mhi), 32));
        __m512i f = _mm512_add_epi64(_mm512_srli_epi64(p, 41), one);
        sum = _mm512_add_epi64(sum, f);
        _mm_storeu_si128((__m128i *)(void *)(freq + i), _mm512_cvtepi64_epi16(f));
    }
    freq[best] = (uint16_t)(freq[best] + (65536 - (uint32_t)_mm512_reduce_add_epi64(sum)));
}

/* ---------------------------------------------------------------- int8 activations
 * act_q8: per group of 64 inputs, two zmm of int16: |x|, their largest value (a tree
 * of maxima, then phminposuw on the complement), the shift (mbz_q8_shift, scalar), and
 * q = sign(x) * ((|x| + h) >> e), narrowed to bytes. Masked loads and stores for a
 * short last group. */
TGT_BW static inline __mmask32 mask32(size_t n)
{
    return n >= 32 ? (__mmask32)0xFFFFFFFFu : (__mmask32)((1u << n) - 1);
}

TGT_BW static void act_q8_avx512(const int16_t *x, size_t I, int8_t *q, uint8_t *e)
{
    for (size_t i0 = 0, j = 0; i0 < I; i0 += MBZM_Q8_GROUP, j++) {
        size_t n = I - i0 < MBZM_Q8_GROUP ? I - i0 : MBZM_Q8_GROUP;
        __mmask32 k0 = mask32(n), k1 = n > 32 ? mask32(n - 32) : 0;
        __m512i v0 = _mm512_maskz_loadu_epi16(k0, x + i0);
        __m512i v1 = _mm512_maskz_loadu_epi16(k1, x + i0 + 32);
        __m512i a0 = _mm512_abs_epi16(v0), a1 = _mm512_abs_epi16(v1);
        __m512i m = _mm512_max_epu16(a0, a1);
        __m256i m2 = _mm256_max_epu16(_mm512_castsi512_si256(m), _mm512_extracti64x4_epi64(m, 1));
        __m128i m1 = _mm_max_epu16(_mm256_castsi256_si128(m2), _mm256_extracti128_si256(m2, 1));
        m1 = _mm_minpos_epu16(_mm_xor_si128(m1, _mm_set1_epi16(-1)));
        unsigned a = 0xFFFFu ^ (unsigned)(_mm_cvtsi128_si32(m1) & 0xFFFF);
        unsigned sh = mbz_q8_shift(a);
        e[j] = (uint8_t)sh;
        __m128i cnt = _mm_cvtsi32_si128((int)sh);
        __m512i h = _mm512_set1_epi16((int16_t)((1u << sh) >> 1)), z = _mm512_setzero_si512();
        __m512i r0 = _mm512_srl_epi16(_mm512_add_epi16(a0, h), cnt);
        __m512i r1 = _mm512_srl_epi16(_mm512_add_epi16(a1, h), cnt);
        r0 = _mm512_mask_sub_epi16(r0, _mm512_movepi16_mask(v0), z, r0);
        r1 = _mm512_mask_sub_epi16(r1, _mm512_movepi16_mask(v1), z, r1);
        _mm256_mask_storeu_epi8(q + i0, k0, _mm512_cvtepi16_epi8(r0));
        if (k1)
            _mm256_mask_storeu_epi8(q + i0 + 32, k1, _mm512_cvtepi16_epi8(r1));
    }
}

static void mm_q8_avx512(const int8_t *Q, size_t ldq, const uint8_t *E, size_t lde, size_t N,
                         const int8_t *Wp, size_t O, size_t I, int32_t *Y, size_t ldy)
{
    mbz_mm_q8_widened(mm_pk8_avx512, Q, ldq, E, lde, N, Wp, O, I, Y, ldy);
}

/* mm_q8 with VNNI, on the quad layout (kernels.h). vpdpbusd multiplies unsigned bytes
 * by signed ones, four to a 32-bit lane: the inputs are the unsigned side, q + 128 (a
 * quad of one row, its sign bits flipped, broadcast to all lanes), the weights the
 * signed side, so a lane sums (q + 128) * w over a group of inputs, and the layout's
 * c = 128 * (sum of the group's w) is taken off before the group's shift. Past I the
 * rows read as q = 0 and the weights are 0. A tile is R rows x G groups of 16 outputs,
 * with PAR accumulators each (PAR = 2: even and odd quads apart, for the narrow tiles
 * of the last output groups; one row over four groups runs faster with PAR = 1, 114
 * against 97 GMAC/s for 768 x 256: its weights stream from L2 anyway); per group of
 * inputs the lanes' sums are folded into the output rows, which hold the running
 * sums. */
static inline int32_t q8_quad(const int8_t *q, size_t i, size_t I)
{
    int32_t v;
    if (i + 4 <= I) {
        memcpy(&v, q + i, 4);
        return v;
    }
    uint32_t u = 0;   /* the row's last inputs, zeros past I (little-endian lanes) */
    for (size_t k = 0; i + k < I; k++)
        u |= (uint32_t)(uint8_t)q[i + k] << (8 * k);
    return (int32_t)u;
}

/* y[o .. o+16) (those < O) = v, or += v after the first group */
TGT_VNNI static inline __attribute__((always_inline)) void q8_fold(int first, int32_t *y, size_t o,
                                                                   size_t O, __m512i v)
{
    if (o + 16 <= O) {   /* unmasked where possible: cheaper on some cores */
        if (!first)
            v = _mm512_add_epi32(v, _mm512_loadu_si512((const void *)(y + o)));
        _mm512_storeu_si512((void *)(y + o), v);
    } else if (o < O) {
        __mmask16 k = (__mmask16)((1u << (O - o)) - 1);
        if (!first)
            v = _mm512_add_epi32(v, _mm512_maskz_loadu_epi32(k, y + o));
        _mm512_mask_storeu_epi32(y + o, k, v);
    }
}

#define Q8_FLIP ((int32_t)0x80808080u)

TGT_VNNI static inline __attribute__((always_inline)) void mm_q8_tile(
    const int R, const int G, const int PAR, const int8_t *Q, size_t ldq, const uint8_t *E,
    size_t lde, const int8_t *Wg, size_t S, size_t NJ, size_t I, size_t O, int32_t *Y, size_t ldy)
{
    const int8_t *wq = Wg + NJ * 64;   /* group 0's quad blocks; group g's are S further */
    for (size_t i0 = 0, j = 0; i0 < I; i0 += MBZM_Q8_GROUP, j++) {
        size_t i1 = I - i0 < MBZM_Q8_GROUP ? I : i0 + MBZM_Q8_GROUP;
        __m512i t[2][4][4];
        _Pragma("GCC unroll 2") for (int u = 0; u < PAR; u++)
            _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)
                _Pragma("GCC unroll 4") for (int g = 0; g < G; g++)
                    t[u][r][g] = _mm512_setzero_si512();
        /* whole quads, PAR at a time, then the rest (the row's last 1..3 inputs too) */
        size_t iq = I & ~(size_t)3, i = i0, iend = i1 < iq ? i1 : iq;
        for (; i + 4 * (size_t)PAR <= iend; i += 4 * (size_t)PAR) {
            _Pragma("GCC unroll 2") for (int u = 0; u < PAR; u++) {
                __m512i xb[4];
                _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) {
                    int32_t v;
                    memcpy(&v, Q + r * ldq + i + 4 * u, 4);
                    xb[r] = _mm512_set1_epi32(v ^ Q8_FLIP);
                }
                _Pragma("GCC unroll 4") for (int g = 0; g < G; g++) {
                    __m512i w = _mm512_load_si512((const void *)(wq + g * S + (i + 4 * u) * 16));
                    _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)
                        t[u][r][g] = _mm512_dpbusd_epi32(t[u][r][g], xb[r], w);
                }
            }
        }
        for (; i < i1; i += 4) {
            __m512i xb[4];
            _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)
                xb[r] = _mm512_set1_epi32(q8_quad(Q + r * ldq, i, I) ^ Q8_FLIP);
            _Pragma("GCC unroll 4") for (int g = 0; g < G; g++) {
                __m512i w = _mm512_load_si512((const void *)(wq + g * S + i * 16));
                _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)
                    t[0][r][g] = _mm512_dpbusd_epi32(t[0][r][g], xb[r], w);
            }
        }
        _Pragma("GCC unroll 4") for (int g = 0; g < G; g++) {
            __m512i c = _mm512_load_si512((const void *)(Wg + g * S + j * 64));
            _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) {
                __m512i v = PAR == 2 ? _mm512_add_epi32(t[0][r][g], t[1][r][g]) : t[0][r][g];
                __m128i cnt = _mm_cvtsi32_si128(E[r * lde + j]);
                q8_fold(j == 0, Y + r * ldy, (size_t)g * 16, O,
                        _mm512_sll_epi32(_mm512_sub_epi32(v, c), cnt));
            }
        }
    }
}

TGT_VNNI static void mm_q8_vnni(const int8_t *Q, size_t ldq, const uint8_t *E, size_t lde,
                                size_t N, const int8_t *Wq, size_t O, size_t I, int32_t *Y,
                                size_t ldy)
{
    size_t S = mbz_q8_stride(1, I), NG = (O + 15) / 16;
    size_t NJ = (I + MBZM_Q8_GROUP - 1) / MBZM_Q8_GROUP;
    if (I == 0) {
        for (size_t n = 0; n < N; n++)
            memset(Y + n * ldy, 0, O * sizeof *Y);
        return;
    }
    /* outer: 64 outputs (their weights stay in L1/L2), inner: rows */
    for (size_t g0 = 0; g0 < NG; g0 += 4) {
        int G = NG - g0 < 4 ? (int)(NG - g0) : 4;
        const int8_t *Wg = Wq + g0 * S;
        size_t Og = O - g0 * 16;
        size_t r = 0;
#define Q8_TILE(R_, G_, PAR_)                                                                   \
    mm_q8_tile(R_, G_, PAR_, Q + r * ldq, ldq, E + r * lde, lde, Wg, S, NJ, I, Og,             \
               Y + r * ldy + g0 * 16, ldy)
        for (; r + 4 <= N; r += 4)
            switch (G) {
            case 4: Q8_TILE(4, 4, 1); break;
            case 3: Q8_TILE(4, 3, 1); break;
            case 2: Q8_TILE(4, 2, 2); break;
            default: Q8_TILE(4, 1, 2); break;
            }
        for (; r < N; r++)
            switch (G) {
            case 4: Q8_TILE(1, 4, 1); break;
            case 3: Q8_TILE(1, 3, 2); break;
            case 2: Q8_TILE(1, 2, 2); break;
            default: Q8_TILE(1, 1, 2); break;
            }
#undef Q8_TILE
    }
}

const mbz_kernels mbz_kernels_avx512 = {"avx512", mm_w8_avx512, mm_pk_avx512,
                                        requant16_avx512, requant32_avx512, att_exp_avx512,
                                        mm_pk8_avx512, rmsnorm_avx512, freq_avx512,
                                        act_q8_avx512, mm_q8_avx512, 0};
const mbz_kernels mbz_kernels_avx512vnni = {"avx512vnni", mm_w8_vnni, mm_pk_vnni,
                                            requant16_avx512, requant32_avx512, att_exp_avx512,
                                            mm_pk8_vnni, rmsnorm_avx512, freq_avx512,
                                            act_q8_avx512, mm_q8_vnni, 1};

#endif /* MBZ_X86_64 */
