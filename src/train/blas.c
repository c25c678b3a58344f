/* blas.c - which OpenBLAS kernels the trainer runs on, chosen with a self-test.
 *
 * Debian's OpenBLAS is built for many CPUs and picks its kernels once, when the
 * library is loaded, from the CPU or from the environment variable
 * OPENBLAS_CORETYPE. An environment may force older kernels (on the machines this
 * project trains on, OPENBLAS_CORETYPE=Haswell on an AVX-512 CPU: about 94 GFLOP/s
 * of sgemm on one thread, against about 160 with the SkylakeX kernels). The kernel
 * set cannot be changed inside a running process, so `mbtrain --blas-core CORE`
 * re-executes mbtrain once with OPENBLAS_CORETYPE=CORE, and the new process checks
 * sgemm against a double-precision reference before it trains. When the check
 * fails, it re-executes once more with the environment it was given and says so.
 * Without --blas-core nothing changes (tests and CI keep the environment as it is).
 *
 * Floats are training only: nothing here reaches the integer engine or a frame. */
#include "config.h"
#include "train.h"
#include "dist.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* stages of the re-execution, passed to the next process in MBTRAIN_BLAS_STAGE */
#define STAGE_VAR "MBTRAIN_BLAS_STAGE"
#define ORIG_VAR "MBTRAIN_BLAS_ORIG" /* the OPENBLAS_CORETYPE we were given ("" = unset) */

/* A core name is passed to the environment of a new process: letters and digits only. */
static int plausible_core(const char *s)
{
    if (!*s || strlen(s) > 32)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
            return 0;
    return 1;
}

/* OpenBLAS runs forced AVX-512 kernels on a CPU without AVX-512 and dies of an
 * illegal instruction: refuse before re-executing (only the cores we know need it). */
static int cpu_can_run(const char *core)
{
#if defined(__x86_64__) && defined(__GNUC__)
    static const char *const avx512[] = {"SkylakeX", "Cooperlake", "SapphireRapids"};
    for (size_t i = 0; i < sizeof avx512 / sizeof *avx512; i++)
        if (!strcmp(core, avx512[i]))
            return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                   __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
                   __builtin_cpu_supports("avx512cd");
    if (!strcmp(core, "Haswell") || !strcmp(core, "Zen"))
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    (void)core;
#endif
    return 1;
}

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

/* sgemm against a double-precision product on 64 cases: shapes around the
 * trainer's (odd sizes, tails of every kernel block), both transposes, alpha and
 * beta. The bound per element is the classic one for a float dot product,
 * K * FLT_EPSILON * sum |a||b|, plus beta's share: wrong kernels miss it by
 * orders of magnitude. Returns 0 when every case is within it. */
int mt_blas_selftest(char *why, size_t whylen)
{
    static const int dims[] = {1, 3, 8, 17, 31, 64, 100, 129};
    uint64_t seed = 12345;
    int fail = 0;
    for (int t = 0; t < 64 && !fail; t++) {
        int M = dims[t % 8], N = dims[(t / 8 + t) % 8], K = dims[(t * 5 + 3) % 8] * (t % 3 + 1);
        int ta = t & 1, tb = (t >> 1) & 1;
        float alpha = (t % 4) ? 1.0f : 0.5f, beta = (t % 5) ? 0.0f : 1.0f;
        float *a = malloc(sizeof(float) * M * K), *b = malloc(sizeof(float) * K * N),
              *c = malloc(sizeof(float) * M * N), *c0 = malloc(sizeof(float) * M * N);
        if (!a || !b || !c || !c0) {
            free(a); free(b); free(c); free(c0);
            snprintf(why, whylen, "out of memory");
            return 1;
        }
        for (int i = 0; i < M * K; i++) a[i] = (float)((int)lcg(&seed) % 2001 - 1000) / 997.0f;
        for (int i = 0; i < K * N; i++) b[i] = (float)((int)lcg(&seed) % 2001 - 1000) / 1009.0f;
        for (int i = 0; i < M * N; i++) c[i] = c0[i] = (float)((int)lcg(&seed) % 201 - 100) / 101.0f;
        /* row-major: A is M x K (stored K x M when transposed), B is K x N */
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K,
                    alpha, a, ta ? M : K, b, tb ? K : N, beta, c, N);
        for (int i = 0; i < M && !fail; i++)
            for (int j = 0; j < N && !fail; j++) {
                double s = 0, mag = 0;
                for (int k = 0; k < K; k++) {
                    double x = ta ? a[k * M + i] : a[i * K + k];
                    double y = tb ? b[j * K + k] : b[k * N + j];
                    s += x * y;
                    mag += fabs(x * y);
                }
                double ref = alpha * s + beta * c0[i * N + j];
                double tol = (K + 2) * (double)FLT_EPSILON * (fabs(alpha) * mag + fabs(beta * c0[i * N + j])) + 1e-30;
                if (!(fabs(c[i * N + j] - ref) <= tol)) {
                    snprintf(why, whylen, "sgemm %c%c %dx%dx%d differs from the reference at (%d,%d): %g vs %g",
                             ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, i, j, (double)c[i * N + j], ref);
                    fail = 1;
                }
            }
        free(a); free(b); free(c); free(c0);
    }
    return fail;
}

static void reexec(char **argv)
{
    fflush(NULL);
    execv("/proc/self/exe", argv);
    execvp(argv[0], argv); /* no /proc */
    perror("mbtrain: re-executing for --blas-core");
}

/* Called first thing in main(). Returns 0 to go on training (possibly after
 * re-executing, in the new process), 1 on a usage error. */
int mt_blas_choose(const char *core, char **argv, int quiet)
{
    const char *stage = getenv(STAGE_VAR);
    char why[256];
    if (!core)
        return 0;
    if (!plausible_core(core)) {
        fprintf(stderr, "mbtrain: --blas-core: '%s' is not an OpenBLAS core name (e.g. SkylakeX, Haswell)\n", core);
        return 1;
    }
    if (mt_dist_is_mpi()) {
        /* an MPI process must not re-execute itself: the ranks get the kernels
         * from their environment, and each checks them */
        const char *cur = getenv("OPENBLAS_CORETYPE");
        if (!cur || strcmp(cur, core)) {
            fprintf(stderr, "mbtrain: --blas-core %s: mbtrain-mpi cannot switch kernels itself; give the ranks "
                            "OPENBLAS_CORETYPE=%s (mpirun -x OPENBLAS_CORETYPE=%s)\n", core, core, core);
            return 1;
        }
        if (mt_blas_selftest(why, sizeof why)) {
            fprintf(stderr, "mbtrain: --blas-core %s: %s\n", core, why);
            return 1;
        }
        if (!quiet)
            fprintf(stderr, "mbtrain: OpenBLAS kernels %s (--blas-core %s; sgemm self-test passed)\n",
                    openblas_get_corename(), core);
        return 0;
    }
    if (!stage) {
        /* first process: switch and re-execute, unless already there */
        const char *cur = getenv("OPENBLAS_CORETYPE");
        if (cur && !strcmp(cur, core)) {
            setenv(ORIG_VAR, cur, 1); /* a fallback keeps what we were given */
            stage = "chosen";
        }
        else if (!cpu_can_run(core)) {
            fprintf(stderr, "mbtrain: --blas-core %s: this CPU cannot run those kernels; keeping %s\n", core,
                    openblas_get_corename());
            return 0;
        } else {
            setenv(ORIG_VAR, cur ? cur : "", 1);
            setenv(STAGE_VAR, "chosen", 1);
            setenv("OPENBLAS_CORETYPE", core, 1);
            reexec(argv);
            return 0; /* could not: go on with what we have */
        }
    }
    if (!strcmp(stage, "chosen")) {
        /* MBTRAIN_BLAS_SELFTEST_FAIL: tests reach the fallback with it */
        int fail = getenv("MBTRAIN_BLAS_SELFTEST_FAIL")
                       ? (snprintf(why, sizeof why, "self-test failure injected (MBTRAIN_BLAS_SELFTEST_FAIL)"), 1)
                       : mt_blas_selftest(why, sizeof why);
        if (!fail) {
            if (!quiet)
                fprintf(stderr, "mbtrain: OpenBLAS kernels %s (--blas-core %s; sgemm self-test passed)\n",
                        openblas_get_corename(), core);
            unsetenv(STAGE_VAR);
            unsetenv(ORIG_VAR);
            return 0;
        }
        fprintf(stderr, "mbtrain: --blas-core %s: %s; falling back to the kernels of the environment\n", core, why);
        const char *orig = getenv(ORIG_VAR);
        if (orig && *orig)
            setenv("OPENBLAS_CORETYPE", orig, 1);
        else
            unsetenv("OPENBLAS_CORETYPE");
        setenv(STAGE_VAR, "fallback", 1);
        reexec(argv);
        return 0;
    }
    /* fallback: the environment as given */
    if (!quiet)
        fprintf(stderr, "mbtrain: OpenBLAS kernels %s (the environment's)\n", openblas_get_corename());
    unsetenv(STAGE_VAR);
    unsetenv(ORIG_VAR);
    return 0;
}
