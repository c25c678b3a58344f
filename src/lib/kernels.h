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
#include <stdint.h>

/*
 * Y[n*ldy + o] = sum_{i < I} X[n*ldx + i] * W[o*ldw + i]   for n < N, o < O   (int32)
 *
 * mm_w8: int8 weights, mm_w16: int16 weights. The caller guarantees that no partial
 * sum overflows int32 (doc/model-format.md §2 bounds: |x| <= 8191, |w| <= 127,
 * I <= 2048 for mm_w8; mm_w16 callers bound their sums the same way). Any I >= 0
 * (no padding needed); rows need no alignment.
 */
typedef void (*mbz_mm_w8_fn)(const int16_t *X, size_t ldx, size_t N, const int8_t *W,
                             size_t ldw, size_t O, size_t I, int32_t *Y, size_t ldy);
typedef void (*mbz_mm_w16_fn)(const int16_t *X, size_t ldx, size_t N, const int16_t *W,
                              size_t ldw, size_t O, size_t I, int32_t *Y, size_t ldy);

typedef struct {
    const char *name;      /* "scalar", "avx2", "avx512", "avx512vnni" */
    mbz_mm_w8_fn mm_w8;
    mbz_mm_w16_fn mm_w16;
} mbz_kernels;

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
