/*
 * kernels.c - kernel dispatch and the plain C reference kernels.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "mbz.h"
#include "qmath.h"

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

size_t mbz_pk_size(size_t O, size_t I)
{
    return ((O + 15) / 16) * ((I + 1) / 2) * 32;
}

void mbz_pk_pack(const int8_t *W, size_t ldw, size_t O, size_t I, int16_t *Wp)
{
    size_t I2 = (I + 1) / 2;
    memset(Wp, 0, mbz_pk_size(O, I) * sizeof *Wp);
    for (size_t o = 0; o < O; o++)
        for (size_t i = 0; i < I; i++)
            Wp[((o / 16) * I2 + i / 2) * 32 + (o % 16) * 2 + i % 2] = W[o * ldw + i];
}

void mbz_pk8_pack(const int8_t *W, size_t ldw, size_t O, size_t I, int8_t *Wp)
{
    size_t I2 = (I + 1) / 2;
    memset(Wp, 0, mbz_pk_size(O, I));
    for (size_t o = 0; o < O; o++)
        for (size_t i = 0; i < I; i++)
            Wp[((o / 16) * I2 + i / 2) * 32 + (o % 16) * 2 + i % 2] = W[o * ldw + i];
}

void mbz_mm_pk8_scalar(const int16_t *X, size_t ldx, size_t N, const int8_t *Wp, size_t O,
                       size_t I, int32_t *Y, size_t ldy)
{
    size_t I2 = (I + 1) / 2;
    for (size_t n = 0; n < N; n++) {
        const int16_t *x = X + n * ldx;
        for (size_t o = 0; o < O; o++) {
            const int8_t *w = Wp + (o / 16) * I2 * 32 + (o % 16) * 2;
            int32_t acc = 0;   /* |acc| <= 8191 * 127 * 2048 < 2^31 (kernels.h) */
            for (size_t i = 0; i < I; i++)
                acc += (int32_t)x[i] * w[(i / 2) * 32 + i % 2];
            Y[n * ldy + o] = acc;
        }
    }
}

void mbz_mm_pk_scalar(const int16_t *X, size_t ldx, size_t N, const int16_t *Wp, size_t O,
                      size_t I, int32_t *Y, size_t ldy)
{
    size_t I2 = (I + 1) / 2;
    for (size_t n = 0; n < N; n++) {
        const int16_t *x = X + n * ldx;
        for (size_t o = 0; o < O; o++) {
            const int16_t *w = Wp + (o / 16) * I2 * 32 + (o % 16) * 2;
            int32_t acc = 0;   /* |acc| <= 8191 * 127 * 2048 < 2^31 (kernels.h) */
            for (size_t i = 0; i < I; i++)
                acc += (int32_t)x[i] * w[(i / 2) * 32 + i % 2];
            Y[n * ldy + o] = acc;
        }
    }
}

int64_t mbz_att_exp_scalar(const int32_t *s, size_t L, int32_t m, int32_t sh, int32_t slope,
                           int16_t *eh, int16_t *el)
{
    /* |s * m| < 2^62, so |round_shift| < 2^61; slope * dist < 2^31 * 2^20: z fits int64,
     * and zmax - z < 2^63. */
    int64_t zmax = INT64_MIN;
    for (size_t w = 0; w < L; w++) {
        int64_t z = mbz_round_shift((int64_t)s[w] * m, sh) - (int64_t)slope * (int64_t)(L - 1 - w);
        if (z > zmax)
            zmax = z;
    }
    int64_t S = 0;   /* <= 65536 * L */
    for (size_t w = 0; w < L; w++) {
        int64_t z = mbz_round_shift((int64_t)s[w] * m, sh) - (int64_t)slope * (int64_t)(L - 1 - w);
        uint32_t e = mbz_exp2neg(zmax - z);
        S += e;
        eh[w] = (int16_t)(e >> 8);
        el[w] = (int16_t)(e & 255);
    }
    return S;
}

const mbz_kernels mbz_kernels_scalar = {"scalar", mm_w8_scalar, mm_w16_scalar, mbz_mm_pk_scalar,
                                        mbz_requant16, mbz_requant32, mbz_att_exp_scalar,
                                        mbz_mm_pk8_scalar, mbz_rmsnorm, mbz_freq_from_logits};

#ifdef MBZ_X86_64
static int have_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}

static int have_avx512(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl");
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
        /* not available on this CPU or in this build: the best one instead (the
         * library does not print; a caller compares mbz_kernel_name() with the
         * variable, as mbzip does for its warning) */
        chosen = best();
        return;
    }
    chosen = best();
}

const char *mbz_kernel_name(void)
{
    return mbz_kernels_get()->name;
}

const mbz_kernels *mbz_kernels_get(void)
{
    pthread_once(&chosen_once, choose);
    return chosen;
}
