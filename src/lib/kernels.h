/*
 * kernels.h - the hot integer loops of the MEGABYTE engine, behind a dispatch table.
 *
 * Every kernel computes exact integer sums, so all implementations (scalar reference,
 * AVX2, AVX-512) return bit-identical results; tests/test_kernels.c holds them to it.
 *
 * Choice: the best kernel set the CPU supports (__builtin_cpu_supports), unless the
 * environment variable MBZIP_KERNEL=scalar|avx2|avx512 forces one. A forced kernel
 * the CPU (or this build) lacks falls back to the best available one, with a one-line
 * warning on stderr. An unknown value is treated the same way.
 */
#ifndef MBZ_KERNELS_H
#define MBZ_KERNELS_H

#include <stddef.h>
#include <stdlib.h>
#include <stdint.h>

/*
 * Y[n*ldy + o] = sum_{i < I} X[n*ldx + i] * W[o*ldw + i]   for n < N, o < O   (int32)
 *
 * mm_w8: int8 weights, unpacked. The caller guarantees that no partial sum overflows
 * int32 (doc/model-format.md §2 bounds: |x| <= 8191, |w| <= 127, I <= 2048). Any
 * I >= 0 (no padding needed); rows need no alignment. The engine multiplies packed
 * weights (below); mm_w8 is the plain definition the packed products are tested
 * against and a speed reference (mbzbench-infer).
 */
typedef void (*mbz_mm_w8_fn)(const int16_t *X, size_t ldx, size_t N, const int8_t *W,
                             size_t ldw, size_t O, size_t I, int32_t *Y, size_t ldy);

/*
 * Packed weights (the layout of mm_pk, the same for every kernel set): output channels
 * in groups of 16 (O rounded up to a multiple of 16), inputs in pairs (I rounded up to
 * even, I2 = ceil(I/2) pairs). Weight (o, i) sits at int16 index
 *     ((o / 16) * I2 + i / 2) * 32 + (o % 16) * 2 + i % 2
 * and padding is zero. One group's pair is one 64-byte block: a vpdpwssd of it with a
 * broadcast pair of inputs adds to 16 output channels at once (no horizontal sums).
 * Packed once, at model load (mbz_pk_pack).
 */
size_t mbz_pk_size(size_t O, size_t I);   /* int16 elements of the packed matrix */
/* aligned_alloc(64, n) for any n: C11 wants the size a multiple of the alignment
 * (glibc does not care, AddressSanitizer does), so round it up. */
static inline void *mbz_alloc64(size_t n)
{
    return aligned_alloc(64, (n + 63) / 64 * 64);
}
void mbz_pk_pack(const int8_t *W, size_t ldw, size_t O, size_t I, int16_t *Wp);

/* Y[n*ldy + o] = sum_{i < I} X[n*ldx + i] * W(o, i), W packed as above (Wp 64-byte
 * aligned). Linear layers: W from int8 (|w| <= 127), the sums of mm_w8 with its bound
 * (|x| <= 8191, I <= 2048). Packed attention keys: |q|, |k| <= 2047, I <= 256, so
 * |sum| <= 2047^2 * 256 < 2^31. Packed attention values (E.V): 0 <= x <= 256 (a
 * softmax numerator's half), |v| <= 8191, I <= 1024, so |sum| <= 256 * 8191 * 1024
 * < 2^31. X rows are read only at indices < I. With O <= 16 only the first group is
 * read (its pairs 0 .. ceil(I/2)-1), so Wp may be any 64-byte block of a larger
 * packed matrix: the engine runs E.V over a span of a ring of values this way, one
 * group of 16 channels at a time (megabyte_global.c). */
typedef void (*mbz_mm_pk_fn)(const int16_t *X, size_t ldx, size_t N, const int16_t *Wp,
                             size_t O, size_t I, int32_t *Y, size_t ldy);

/* The same layout with int8 elements (mbz_pk_size() of them, half the bytes; a group's
 * pair is a 32-byte block), for the linear layers' weights: mm_pk8 widens them to
 * int16 as it loads them, so it computes the sums of mm_pk (and of mm_w8) while
 * reading half the weight bytes, which is what bounds small-batch decoding. */
void mbz_pk8_pack(const int8_t *W, size_t ldw, size_t O, size_t I, int8_t *Wp);
typedef void (*mbz_mm_pk8_fn)(const int16_t *X, size_t ldx, size_t N, const int8_t *Wp,
                              size_t O, size_t I, int32_t *Y, size_t ldy);

/* Int8 activations (model option MBZM_OPT_INT8_ACT): act_q8 is mbz_act_q8 of qmath.h
 * (identical results). mm_q8 takes rows quantized by it, Q (int8, I values per row,
 * stride ldq, read only at indices < I) and E (ceil(I / 64) shifts per row, stride
 * lde), and weights packed for the set by mbz_q8_pack, and computes
 *     Y[n*ldy + o] = sum_j (sum_{i in group j} Q[n*ldq + i] * W(o, i)) << E[n*lde + j]
 * exactly (|Q| * 2^E <= 8255, |w| <= 127, I <= 2048: the sum and every partial sum of
 * it fit int32).
 *
 * Two weight layouts, the set's q8_quads says which; both keep the outputs in groups
 * of 16, a group's weights (and sums) contiguous, mbz_q8_stride(quads, I) bytes apart,
 * so that a run of whole groups of outputs is a pointer into the matrix:
 *   - q8_quads = 0: the mm_pk8 layout (mbz_pk8_pack). Sets without a byte dot product
 *     widen the rows to int16 (q << e) and run their mm_pk8 (mbz_mm_q8_widened): the
 *     same integers.
 *   - q8_quads = 1, for VNNI (vpdpbusd: four u8 x s8 products per 32-bit lane): per
 *     group of 16 outputs, first NJ = ceil(I / 64) blocks of 16 int32,
 *     c[o % 16] = 128 * (sum of W(o, i) over the inputs of input group j), then
 *     I4 = ceil(I / 4) quad blocks of 64 bytes: byte (o % 16) * 4 + i % 4 of block
 *     i / 4 is W(o, i), zero past I and O. The kernel feeds q + 128 as the unsigned
 *     side and takes the c off. */
typedef void (*mbz_act_q8_fn)(const int16_t *x, size_t I, int8_t *q, uint8_t *e);
typedef void (*mbz_mm_q8_fn)(const int8_t *Q, size_t ldq, const uint8_t *E, size_t lde,
                             size_t N, const int8_t *Wq, size_t O, size_t I, int32_t *Y,
                             size_t ldy);
size_t mbz_q8_stride(int quads, size_t I);            /* bytes per group of 16 outputs */
size_t mbz_q8_size(int quads, size_t O, size_t I);    /* bytes of a packed matrix */
void mbz_q8_pack(int quads, const int8_t *W, size_t ldw, size_t O, size_t I, int8_t *Wq);
void mbz_mm_q8_scalar(const int8_t *Q, size_t ldq, const uint8_t *E, size_t lde, size_t N,
                      const int8_t *Wp, size_t O, size_t I, int32_t *Y, size_t ldy);
void mbz_mm_q8_widened(mbz_mm_pk8_fn mm_pk8, const int8_t *Q, size_t ldq, const uint8_t *E,
                       size_t lde, size_t N, const int8_t *Wp, size_t O, size_t I, int32_t *Y,
                       size_t ldy);

/* mbz_requant16 / mbz_requant32 of qmath.h (identical results). */
typedef void (*mbz_requant16_fn)(const int32_t *acc, const int32_t *b, const int32_t *m,
                                 const int32_t *s, size_t n, int32_t lo, int32_t hi, int relu,
                                 int16_t *y);
typedef void (*mbz_requant32_fn)(const int32_t *acc, const int32_t *b, const int32_t *m,
                                 const int32_t *s, size_t n, int32_t lo, int32_t hi, int32_t *y);

/*
 * Softmax numerators of one attention row of L >= 1 keys (doc/model-format.md §2):
 *     z_w = round_shift((int64)s[w] * m, sh) - slope * (L - 1 - w)     (w < L)
 *     e_w = exp2neg(max z - z_w),  eh[w] = e_w >> 8,  el[w] = e_w & 255
 * returns S = sum e_w. 0 <= m < 2^31, 1 <= sh <= 62, 0 <= slope < 2^31, L <= 2^20.
 */
typedef int64_t (*mbz_att_exp_fn)(const int32_t *s, size_t L, int32_t m, int32_t sh,
                                  int32_t slope, int16_t *eh, int16_t *el);

/* mbz_rmsnorm of qmath.h (identical results; |x| <= 2^24, D <= 4096). */
typedef void (*mbz_rmsnorm_fn)(const int32_t *x, size_t D, int16_t *y);
/* mbz_freq_from_logits of qmath.h (identical results; |z| <= 2^20). */
typedef void (*mbz_freq_fn)(const int32_t *z, uint16_t *freq);

typedef struct {
    const char *name;      /* "scalar", "avx2", "avx512", "avx512vnni" */
    mbz_mm_w8_fn mm_w8;
    mbz_mm_pk_fn mm_pk;
    mbz_requant16_fn requant16;
    mbz_requant32_fn requant32;
    mbz_att_exp_fn att_exp;
    mbz_mm_pk8_fn mm_pk8;
    mbz_rmsnorm_fn rmsnorm;
    mbz_freq_fn freq;
    mbz_act_q8_fn act_q8;
    mbz_mm_q8_fn mm_q8;
    int q8_quads;          /* mm_q8's weight layout (above) */
} mbz_kernels;

/* The scalar references, for SIMD sets that do not override a kernel. */
void mbz_mm_pk_scalar(const int16_t *X, size_t ldx, size_t N, const int16_t *Wp, size_t O,
                      size_t I, int32_t *Y, size_t ldy);
void mbz_mm_pk8_scalar(const int16_t *X, size_t ldx, size_t N, const int8_t *Wp, size_t O,
                       size_t I, int32_t *Y, size_t ldy);
int64_t mbz_att_exp_scalar(const int32_t *s, size_t L, int32_t m, int32_t sh, int32_t slope,
                           int16_t *eh, int16_t *el);

/* The kernel set chosen for this process (MBZIP_KERNEL or CPU detection), decided
 * once, thread-safely. */
const mbz_kernels *mbz_kernels_get(void);

/* A specific set by name ("scalar", "avx2", "avx512"), or NULL if this build or this
 * CPU lacks it. For tests and benchmarks. */
const mbz_kernels *mbz_kernels_by_name(const char *name);

/* The implementations (kernels_avx2.c / kernels_avx512.c exist on x86-64 only). */
extern const mbz_kernels mbz_kernels_scalar;
#ifdef MBZ_X86_64
extern const mbz_kernels mbz_kernels_avx2;
extern const mbz_kernels mbz_kernels_avx512;
extern const mbz_kernels mbz_kernels_avx512vnni;
#endif

#endif
