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
#include "modelfile.h"
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

size_t mbz_q8_stride(int quads, size_t I)
{
    if (!quads)
        return (I + 1) / 2 * 32;
    return ((I + MBZM_Q8_GROUP - 1) / MBZM_Q8_GROUP + (I + 3) / 4) * 64;
}

size_t mbz_q8_size(int quads, size_t O, size_t I)
{
    return (O + 15) / 16 * mbz_q8_stride(quads, I);
}

void mbz_q8_pack(int quads, const int8_t *W, size_t ldw, size_t O, size_t I, int8_t *Wq)
{
    if (!quads) {
        mbz_pk8_pack(W, ldw, O, I, Wq);
        return;
    }
    size_t S = mbz_q8_stride(1, I), NJ = (I + MBZM_Q8_GROUP - 1) / MBZM_Q8_GROUP;
    memset(Wq, 0, mbz_q8_size(1, O, I));
    for (size_t o = 0; o < O; o++) {
        int8_t *g = Wq + (o / 16) * S;
        for (size_t j = 0; j < NJ; j++) {
            int32_t c = 0;
            for (size_t i = j * MBZM_Q8_GROUP; i < I && i < (j + 1) * MBZM_Q8_GROUP; i++)
                c += W[o * ldw + i];
            c *= 128;
            memcpy(g + j * 64 + (o % 16) * 4, &c, 4);
        }
        for (size_t i = 0; i < I; i++)
            g[NJ * 64 + (i / 4) * 64 + (o % 16) * 4 + i % 4] = W[o * ldw + i];
    }
}

void mbz_mm_q8_scalar(const int8_t *Q, size_t ldq, const uint8_t *E, size_t lde, size_t N,
                      const int8_t *Wp, size_t O, size_t I, int32_t *Y, size_t ldy)
{
    size_t I2 = (I + 1) / 2;
    for (size_t n = 0; n < N; n++) {
        const int8_t *q = Q + n * ldq;
        const uint8_t *e = E + n * lde;
        for (size_t o = 0; o < O; o++) {
            const int8_t *w = Wp + (o / 16) * I2 * 32 + (o % 16) * 2;
            int32_t acc = 0;   /* |acc| <= 8255 * 127 * 2048 < 2^31 (kernels.h) */
            for (size_t i0 = 0, j = 0; i0 < I; i0 += MBZM_Q8_GROUP, j++) {
                size_t i1 = I - i0 < MBZM_Q8_GROUP ? I : i0 + MBZM_Q8_GROUP;
                int32_t g = 0;   /* |g| <= 127 * 127 * 64 */
                for (size_t i = i0; i < i1; i++)
                    g += (int32_t)q[i] * w[(i / 2) * 32 + i % 2];
                acc += g * (1 << e[j]);
            }
            Y[n * ldy + o] = acc;
        }
    }
}

/* Rows widened to int16 (q << e, |.| <= 8255) in chunks of 16 on the stack, for the
 * sets without a native mm_q8: mm_pk8 of them is the same sum. */
void mbz_mm_q8_widened(mbz_mm_pk8_fn mm_pk8, const int8_t *Q, size_t ldq, const uint8_t *E,
                       size_t lde, size_t N, const int8_t *Wp, size_t O, size_t I, int32_t *Y,
                       size_t ldy)
{
    enum { ROWS = 16 };
    int16_t x[ROWS * MBZM_MAX_DIN];
    for (size_t n0 = 0; n0 < N; n0 += ROWS) {
        size_t nr = N - n0 < ROWS ? N - n0 : ROWS;
        for (size_t r = 0; r < nr; r++) {
            const int8_t *q = Q + (n0 + r) * ldq;
            const uint8_t *e = E + (n0 + r) * lde;
            for (size_t i = 0; i < I; i++)
                x[r * I + i] = (int16_t)(q[i] * (1 << e[i / MBZM_Q8_GROUP]));
        }
        mm_pk8(x, I, nr, Wp, O, I, Y + n0 * ldy, ldy);
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

const mbz_kernels mbz_kernels_scalar = {"scalar", mm_w8_scalar, mbz_mm_pk_scalar,
                                        mbz_requant16, mbz_requant32, mbz_att_exp_scalar,
                                        mbz_mm_pk8_scalar, mbz_rmsnorm, mbz_freq_from_logits,
                                        mbz_act_q8, mbz_mm_q8_scalar, 0};

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
