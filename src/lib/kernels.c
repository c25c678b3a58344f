/*
 * kernels.c - kernel dispatch and the plain C reference kernels.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

static void mm_w8_scalar(const int16_t *X, size_t ldx, size_t N, const int8_t *W, size_t ldw,
                         size_t O, size_t I, int32_t *Y, size_t ldy)
{
    for (size_t n = 0; n < N; n++) {
        const int16_t *x = X + n * ldx;
        for (size_t o = 0; o < O; o++) {
            const int8_t *w = W + o * ldw;
            int32_t acc = 0;
            for (size_t i = 0; i < I; i++)
                acc += (int32_t)x[i] * w[i];
            Y[n * ldy + o] = acc;
        }
    }
}

static void mm_w16_scalar(const int16_t *X, size_t ldx, size_t N, const int16_t *W, size_t ldw,
                          size_t O, size_t I, int32_t *Y, size_t ldy)
{
    for (size_t n = 0; n < N; n++) {
        const int16_t *x = X + n * ldx;
        for (size_t o = 0; o < O; o++) {
            const int16_t *w = W + o * ldw;
            int32_t acc = 0;
            for (size_t i = 0; i < I; i++)
                acc += (int32_t)x[i] * w[i];
            Y[n * ldy + o] = acc;
        }
    }
}

const mbz_kernels mbz_kernels_scalar = {"scalar", mm_w8_scalar, mm_w16_scalar};

#ifdef MBZ_X86_64
static int have_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}

static int have_avx512(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
}

static int have_avx512vnni(void)
{
    __builtin_cpu_init();
    return have_avx512() && __builtin_cpu_supports("avx512vnni");
}
#endif

const mbz_kernels *mbz_kernels_by_name(const char *name)
{
    if (!strcmp(name, "scalar"))
        return &mbz_kernels_scalar;
#ifdef MBZ_X86_64
    if (!strcmp(name, "avx2"))
        return have_avx2() ? &mbz_kernels_avx2 : NULL;
    if (!strcmp(name, "avx512"))
        return have_avx512vnni() ? &mbz_kernels_avx512vnni
               : have_avx512()   ? &mbz_kernels_avx512
                                 : NULL;
    if (!strcmp(name, "avx512bw"))   /* AVX-512 without VNNI, even where VNNI exists (tests) */
        return have_avx512() ? &mbz_kernels_avx512 : NULL;
#endif
    return NULL;
}

static const mbz_kernels *best(void)
{
    const mbz_kernels *k;
    if ((k = mbz_kernels_by_name("avx512")) != NULL)
        return k;
    if ((k = mbz_kernels_by_name("avx2")) != NULL)
        return k;
    return &mbz_kernels_scalar;
}

static const mbz_kernels *chosen;
static pthread_once_t chosen_once = PTHREAD_ONCE_INIT;

static void choose(void)
{
    const char *env = getenv("MBZIP_KERNEL");
    if (env && *env) {
        const mbz_kernels *k = mbz_kernels_by_name(env);
        if (k) {
            chosen = k;
            return;
        }
        chosen = best();
        fprintf(stderr, "mbzip: warning: MBZIP_KERNEL=%s is not available here, using %s\n", env,
                chosen->name);
        return;
    }
    chosen = best();
}

const mbz_kernels *mbz_kernels_get(void)
{
    pthread_once(&chosen_once, choose);
    return chosen;
}
