/*
 * mbzbench-infer.c - speed of the integer MEGABYTE engine (not a test).
 *
 *   mbzbench-infer [--tiny|--small|--bench] [--model FILE.mbzm] [--bytes N]
 *                  [--predict-bytes N] [--only LIST] [--batch LIST] [--threads LIST]
 *                  [--block-kb N] [--level L] [--runs N] [--team-min MACS] [FILE]
 *
 * Model: a pseudo-random one built like mkmodel (preset; default --bench, the default
 * architecture: P=8 D_E=32 D_G=256 g_layers=4 g_heads=4 g_ff=1024 D_L=128 l_layers=2
 * l_heads=2 l_ff=512 ctx=1024 patches), or a model file (--model). Input: FILE, else
 * the text corpora, repeated as needed. Sections (--only, a comma list; default
 * peak,score,predict,batch):
 *
 *   peak     the kernel set's multiply-accumulate rate on an L1-resident product:
 *            mm_pk8 (packed int8 weights, the engine's linear layers), mm_q8 (the
 *            same weights, int8 activations: models with MBZM_OPT_INT8_ACT), mm_pk
 *            (packed int16, the attention keys) and mm_w8 (int8 weights), in GMAC/s;
 *            and, with AVX512-VNNI, the machine's: a loop of vpdpbusd (int8) and of
 *            vpdpwssd (int16) alone, which the kernels' rates are given against;
 *   score    score() over --bytes bytes (compression's model work);
 *   predict  predict() over --predict-bytes bytes, one block; then the same with
 *            a helper thread (assist, wall clock: the global steps on two threads,
 *            megabyte_team.c, or for a model with the global lag option the next
 *            patch's global step beside this patch's local steps, megabyte_pipe.c;
 *            its tables must hash as those of one thread; an unlagged model whose
 *            global step is below --team-min MACs per patch, default
 *            MBZ_MB_TEAM_MIN (megabyte.h), takes no helper);
 *   batch    predict_batch() with nb blocks of --predict-bytes bytes each, for every
 *            nb of --batch (default 1,4,8);
 *   loop     the library's coding loops re-enacted on T threads (--threads, default
 *            1,2), each with B blocks of --block-kb KiB (--batch): compression =
 *            score() + range encoder per block, decompression = predict_batch() over
 *            the B blocks in lockstep + range decoder, as block.c does, but
 *            without the store decision (a pseudo-random model does not compress, and
 *            the library would store its blocks) and without I/O and checksums;
 *            every decoded block is compared with its input;
 *   api      mbz_compress_buffer / mbz_decompress_buffer at --level (default 2: 64
 *            KiB blocks) with T threads and T x B blocks: the real thing, meaningful
 *            only with a model that compresses (--model); stored blocks are counted.
 *
 * Each engine line gives KB/s, the useful multiply-accumulates per second (linear
 * layers and attention, for the actual window lengths) against the best peak (times T
 * for T threads), and
 * the time split from the engine's profile counters (megabyte.h; turned on here):
 * global model, local model (+ head and tables), and the rest (for loop/api: the
 * range coder, timed directly in loop, and everything else). With T threads the
 * split is of the threads' summed busy time (loop) or of T x wall time (api).
 * --runs N repeats each measurement and reports the median speed.
 * MBZBENCH_CLOCK=cpu times by CPU time instead of the wall clock, steadier on a
 * loaded machine: this thread's for the single-threaded sections, and for loop the
 * largest CPU time of the T threads (the wall time T free cores would take); api
 * stays on the wall clock. The engine's results are unaffected by all this.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels.h"
#include "mbz.h"
#include "megabyte.h"
#include "modelfile.h"
#include "predictor.h"
#include "rangecoder.h"

#define MKMODEL_NO_MAIN
#include "mkmodel.c"

/* ------------------------------------------------------------------ timing */

static double now(void)
{
    static int cpu = -1;
    if (cpu < 0) {
        const char *e = getenv("MBZBENCH_CLOCK");
        cpu = e && !strcmp(e, "cpu");
    }
    struct timespec ts;
    clock_gettime(cpu ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cpu_clock(void)
{
    const char *e = getenv("MBZBENCH_CLOCK");
    return e && !strcmp(e, "cpu");
}

static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_dbl);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ------------------------------------------------------------------ model work */

static mbzm_hparams hp;   /* of the model measured */

/* Useful multiply-accumulates of one block of len bytes: linear layers, attention
 * (q.k and e.v per key in the actual window), W_GL and the head. */
static double block_macs(size_t len)
{
    double P = hp.patch, DG = P * hp.d_emb, DL = hp.l_dim;
    double g_lin = hp.g_layers * (4 * DG * DG + 2 * DG * hp.g_ff);
    double l_lin = hp.l_layers * (4 * DL * DL + 2 * DL * hp.l_ff) + DL * hp.d_emb + 256 * DL;
    size_t K = (len + hp.patch - 1) / hp.patch;
    double m = 0;
    for (size_t k = 0; k < K; k++) {
        size_t w = k + 1 < hp.ctx_patches ? k + 1 : hp.ctx_patches;
        m += g_lin + hp.g_layers * 2 * DG * (double)w;
    }
    size_t xr = hp.options & MBZM_OPT_CROSS_PATCH ? hp.cross_r : 0;   /* cross-patch keys */
    for (size_t t = 0; t < len; t++)
        m += l_lin + hp.l_layers * 2 * DL * (double)(t % hp.patch + 1 + (t >= hp.patch ? xr : 0));
    return m;
}

static double peak_pk, peak_pk8, peak_w8, peak_q8, peak;   /* GMAC/s; peak = the best */

#ifdef MBZ_X86_64
#include <immintrin.h>
/* The machine's own multiply-accumulate rate: 12 independent chains of vpdpbusd (int8:
 * 64 per instruction) or vpdpwssd (int16: 32), nothing else in the loop. What the
 * kernels' rates are held to (issue 16: the GEMM-shaped kernels at >= 60% of it). */
#define RAW_BODY(OP)                                                                       \
    __m512i a0 = _mm512_set1_epi32(1), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, \
            a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;                                 \
    for (long k = 0; k < n; k++) {                                                         \
        a0 = OP(a0, x, y); a1 = OP(a1, x, y); a2 = OP(a2, x, y); a3 = OP(a3, x, y);        \
        a4 = OP(a4, x, y); a5 = OP(a5, x, y); a6 = OP(a6, x, y); a7 = OP(a7, x, y);        \
        a8 = OP(a8, x, y); a9 = OP(a9, x, y); a10 = OP(a10, x, y); a11 = OP(a11, x, y);    \
    }                                                                                      \
    a0 = _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(a2, a3)), \
                          _mm512_add_epi32(_mm512_add_epi32(a4, a5), _mm512_add_epi32(a6, a7))); \
    a0 = _mm512_add_epi32(a0, _mm512_add_epi32(_mm512_add_epi32(a8, a9), _mm512_add_epi32(a10, a11))); \
    int32_t out[16];                                                                       \
    _mm512_storeu_si512((void *)out, a0);                                                  \
    return out[0] + out[15];
#define TGT_RAW __attribute__((target("avx512f,avx512bw,avx512vnni"), noinline))
TGT_RAW static int32_t raw_dpbusd(long n, int32_t xs)
{
    __m512i x = _mm512_set1_epi32(xs), y = _mm512_set1_epi32(xs + 1);
    RAW_BODY(_mm512_dpbusd_epi32)
}
TGT_RAW static int32_t raw_dpwssd(long n, int32_t xs)
{
    __m512i x = _mm512_set1_epi32(xs), y = _mm512_set1_epi32(xs + 1);
    RAW_BODY(_mm512_dpwssd_epi32)
}
#undef RAW_BODY

/* GMAC/s of the two loops (0 where the CPU lacks AVX512-VNNI); sink keeps the sums */
static void raw_peaks(double *i8, double *i16)
{
    *i8 = *i16 = 0;
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512vnni"))
        return;
    volatile int32_t sink = 0;
    long n = 2000000;
    for (int which = 0; which < 2; which++) {
        double best = 0;
        for (int r = 0; r < 3; r++) {
            double t = now();
            sink += which ? raw_dpwssd(n, r) : raw_dpbusd(n, r);
            t = now() - t;
            double g = n * 12.0 * (which ? 32 : 64) / t / 1e9;
            if (g > best)
                best = g;
        }
        *(which ? i16 : i8) = best;
    }
    (void)sink;
}
#else
static void raw_peaks(double *i8, double *i16)
{
    *i8 = *i16 = 0;
}
#endif

static void measure_peak(const mbz_kernels *K, int runs)
{
    enum { N = 8, O = 64, I = 128 };   /* weights 16 KiB packed: L1-resident */
    int16_t *Wp = mbz_alloc64(mbz_pk_size(O, I) * 2 + 64);
    int8_t *Wp8 = mbz_alloc64(mbz_pk_size(O, I) + 64);
    int8_t W[O * I];
    int16_t X[N * I];
    int32_t Y[N * O];
    for (int i = 0; i < O * I; i++)
        W[i] = (int8_t)((i * 37) % 255 - 127);
    for (int i = 0; i < N * I; i++)
        X[i] = (int16_t)((i * 101) % 16383 - 8191);
    mbz_pk_pack(W, I, O, I, Wp);
    mbz_pk8_pack(W, I, O, I, Wp8);
    int8_t Q[N * I];
    uint8_t E[N * (I / MBZM_Q8_GROUP)];
    int8_t *Wq = mbz_alloc64(mbz_q8_size(K->q8_quads, O, I) + 64);
    mbz_q8_pack(K->q8_quads, W, I, O, I, Wq);
    for (int n = 0; n < N; n++)
        K->act_q8(X + n * I, I, Q + n * I, E + n * (I / MBZM_Q8_GROUP));
    double v1[16], v2[16], v3[16], v4[16];
    if (runs > 16)
        runs = 16;
    for (int r = 0; r < runs; r++) {
        size_t reps = 0;
        double t0 = now(), t;
        do {
            for (int k = 0; k < 200; k++)
                K->mm_pk(X, I, N, Wp, O, I, Y, O);
            reps += 200;
        } while ((t = now() - t0) < 0.2);
        v1[r] = reps * (double)N * O * I / t / 1e9;
        reps = 0;
        t0 = now();
        do {
            for (int k = 0; k < 200; k++)
                K->mm_w8(X, I, N, W, I, O, I, Y, O);
            reps += 200;
        } while ((t = now() - t0) < 0.2);
        v2[r] = reps * (double)N * O * I / t / 1e9;
        reps = 0;
        t0 = now();
        do {
            for (int k = 0; k < 200; k++)
                K->mm_pk8(X, I, N, Wp8, O, I, Y, O);
            reps += 200;
        } while ((t = now() - t0) < 0.2);
        v3[r] = reps * (double)N * O * I / t / 1e9;
        reps = 0;
        t0 = now();
        do {
            for (int k = 0; k < 200; k++)
                K->mm_q8(Q, I, E, I / MBZM_Q8_GROUP, N, Wq, O, I, Y, O);
            reps += 200;
        } while ((t = now() - t0) < 0.2);
        v4[r] = reps * (double)N * O * I / t / 1e9;
    }
    peak_pk = median(v1, runs);
    peak_w8 = median(v2, runs);
    peak_pk8 = median(v3, runs);
    peak_q8 = median(v4, runs);
    peak = peak_pk > peak_pk8 ? peak_pk : peak_pk8;
    peak = peak > peak_q8 ? peak : peak_q8;
    peak = peak > peak_w8 ? peak : peak_w8;
    free(Wp);
    free(Wp8);
    free(Wq);
}

/* Profile split of the last measurement: global, local, rest (of total_ns). */
static void print_split(const mbz_megabyte_profile *pr, int global, int local, double total_ns,
                        double coder_ns)
{
    double g = (double)pr->ns[global], l = (double)pr->ns[local];
    if (total_ns <= 0)
        return;
    printf("  [global %4.1f%% local %4.1f%%", 100 * g / total_ns, 100 * l / total_ns);
    if (coder_ns >= 0)
        printf(" coder %4.1f%% other %4.1f%%]", 100 * coder_ns / total_ns,
               100 * (total_ns - g - l - coder_ns) / total_ns);
    else
        printf(" other %4.1f%%]", 100 * (total_ns - g - l) / total_ns);
    if (pr->calls[global])
        printf(" global rows/pass %.2f", (double)pr->rows[global] / pr->calls[global]);
    if (pr->keys_window)
        printf(", keys scored %.0f%%", 100.0 * pr->keys_scored / pr->keys_window);
}

/* peak: of one core; T threads are held to T times it */
static void print_rate(const char *what, double bytes, double secs, double macs, int T)
{
    double gmacs = macs / secs / 1e9;
    printf("%-22s %9.1f KB/s  %6.2f GMAC/s (%4.1f%% of peak)", what, bytes / secs / 1024, gmacs,
           peak > 0 ? 100 * gmacs / (T * peak) : 0.0);
}

/* ------------------------------------------------------------------ coding loops */

typedef struct {
    const mbz_model *m;
    const uint8_t *const *blk;   /* B blocks */
    size_t bl;                   /* bytes each */
    int B;
    uint8_t **coded;             /* per block, payload (filled by enc) */
    size_t *coded_len;
    uint8_t **out;               /* per block, decoded bytes (dec) */
    double busy, coder, cpu;     /* seconds: wall, of it in the coder; CPU time */
    int rc;
} loop_job;

static void *enc_thread(void *arg)
{
    loop_job *j = arg;
    const mbz_predictor_ops *ops = j->m->ops;
    size_t chunk = j->m->score_chunk ? j->m->score_chunk : 4096;
    uint16_t *freq = malloc(chunk * 512);
    double t0 = wall(), c00 = thread_cpu();
    j->coder = 0;
    for (int b = 0; b < j->B && !j->rc; b++) {
        mbz_predictor *p;
        mbz_rc_enc e;
        size_t cap = j->bl * 2 + 64;
        j->coded[b] = malloc(cap);
        mbz_rc_enc_init(&e, j->coded[b], cap);
        if ((j->rc = ops->create(j->m->impl, j->bl, &p)) != MBZ_OK)
            break;
        for (size_t pos = 0; pos < j->bl && !j->rc; pos += chunk) {
            size_t n = j->bl - pos < chunk ? j->bl - pos : chunk;
            j->rc = ops->score(p, j->blk[b], j->bl, pos, n, freq);
            double c0 = wall();
            for (size_t i = 0; i < n; i++)
                mbz_rc_encode_sym(&e, freq + i * 256, j->blk[b][pos + i]);
            j->coder += wall() - c0;
        }
        ops->destroy(p);
        j->coded_len[b] = mbz_rc_enc_finish(&e);
        if (!j->coded_len[b])
            j->rc = MBZ_ERR_INTERNAL;
    }
    j->busy = wall() - t0;
    j->cpu = thread_cpu() - c00;
    free(freq);
    return NULL;
}

static void *dec_thread(void *arg)
{
    loop_job *j = arg;
    const mbz_predictor_ops *ops = j->m->ops;
    mbz_predictor **p = calloc((size_t)j->B, sizeof *p);
    mbz_rc_dec *d = calloc((size_t)j->B, sizeof *d);
    uint16_t *freq = malloc((size_t)j->B * 512);
    size_t *pos = calloc((size_t)j->B, sizeof *pos);
    double t0 = wall(), c00 = thread_cpu();
    j->coder = 0;
    for (int b = 0; b < j->B; b++) {
        if ((j->rc = ops->create(j->m->impl, j->bl, &p[b])) != MBZ_OK)
            goto out;
        mbz_rc_dec_init(&d[b], j->coded[b], j->coded_len[b]);
    }
    for (size_t t = 0; t < j->bl; t++) {
        for (int b = 0; b < j->B; b++)
            pos[b] = t;
        if (j->B == 1 && !ops->predict_batch)
            j->rc = ops->predict(p[0], j->out[0], t, freq);
        else
            j->rc = ops->predict_batch(p, (const uint8_t *const *)j->out, pos, j->B, freq);
        if (j->rc)
            goto out;
        double c0 = wall();
        for (int b = 0; b < j->B; b++)
            j->out[b][t] = (uint8_t)mbz_rc_decode_sym(&d[b], freq + b * 256);
        j->coder += wall() - c0;
    }
    for (int b = 0; b < j->B; b++)
        if (d[b].error || memcmp(j->out[b], j->blk[b], j->bl))
            j->rc = MBZ_ERR_CORRUPT;
out:
    j->busy = wall() - t0;
    j->cpu = thread_cpu() - c00;
    for (int b = 0; b < j->B; b++)
        if (p[b])
            ops->destroy(p[b]);
    free(p);
    free(d);
    free(freq);
    free(pos);
    return NULL;
}

/* T threads x B blocks of bl bytes from data (wrapping). Prints one line. */
static int run_loop(const mbz_model *m, const uint8_t *data, size_t nbytes, int T, int B, size_t bl,
                    int runs)
{
    int nblk = T * B;
    const uint8_t **blk = malloc((size_t)nblk * sizeof *blk);
    uint8_t **coded = calloc((size_t)nblk, sizeof *coded), **out = malloc((size_t)nblk * sizeof *out);
    size_t *clen = calloc((size_t)nblk, sizeof *clen);
    uint8_t *in = malloc((size_t)nblk * bl);
    for (int i = 0; i < nblk; i++) {
        for (size_t k = 0; k < bl; k++)   /* distinct bytes per block */
            in[(size_t)i * bl + k] = data[((size_t)i * bl + k) % nbytes];
        blk[i] = in + (size_t)i * bl;
        out[i] = malloc(bl);
    }
    loop_job *jobs = calloc((size_t)T, sizeof *jobs);
    pthread_t *th = malloc((size_t)T * sizeof *th);
    double ce[16], de[16];
    mbz_megabyte_profile pe, pd;
    double busy_e = 0, coder_e = 0, busy_d = 0, coder_d = 0;
    int rc = MBZ_OK;
    if (runs > 16)
        runs = 16;
    for (int r = 0; r < runs && !rc; r++) {
        for (int t = 0; t < T; t++) {
            for (int b = 0; b < B; b++)
                free(coded[t * B + b]);
            jobs[t] = (loop_job){m, blk + t * B, bl, B, coded + t * B, clen + t * B, out + t * B, 0, 0, 0, 0};
        }
        mbz_megabyte_profile_read(&pe, 1);
        double t0 = wall();
        for (int t = 0; t < T; t++)
            pthread_create(&th[t], NULL, enc_thread, &jobs[t]);
        busy_e = coder_e = 0;
        double crit = 0;
        for (int t = 0; t < T; t++) {
            pthread_join(th[t], NULL);
            rc = rc ? rc : jobs[t].rc;
            busy_e += jobs[t].busy;
            coder_e += jobs[t].coder;
            crit = jobs[t].cpu > crit ? jobs[t].cpu : crit;
        }
        ce[r] = cpu_clock() ? crit : wall() - t0;
        mbz_megabyte_profile_read(&pe, 1);
        t0 = wall();
        for (int t = 0; t < T; t++)
            pthread_create(&th[t], NULL, dec_thread, &jobs[t]);
        busy_d = coder_d = 0;
        crit = 0;
        for (int t = 0; t < T; t++) {
            pthread_join(th[t], NULL);
            rc = rc ? rc : jobs[t].rc;
            busy_d += jobs[t].busy;
            coder_d += jobs[t].coder;
            crit = jobs[t].cpu > crit ? jobs[t].cpu : crit;
        }
        de[r] = cpu_clock() ? crit : wall() - t0;
        mbz_megabyte_profile_read(&pd, 1);
    }
    if (rc) {
        printf("loop T=%d B=%d: FAILED (%s)\n", T, B, mbz_strerror(rc));
    } else {
        double bytes = (double)nblk * bl, macs = nblk * block_macs(bl);
        char what[64];
        snprintf(what, sizeof what, "compress   T=%d B=%d", T, B);
        print_rate(what, bytes, median(ce, runs), macs, T);
        print_split(&pe, MBZ_PROF_SCORE_GLOBAL, MBZ_PROF_SCORE_LOCAL, busy_e * 1e9, coder_e * 1e9);
        printf("\n");
        snprintf(what, sizeof what, "decompress T=%d B=%d", T, B);
        print_rate(what, bytes, median(de, runs), macs, T);
        print_split(&pd, MBZ_PROF_PREDICT_GLOBAL, MBZ_PROF_PREDICT_LOCAL, busy_d * 1e9, coder_d * 1e9);
        printf("\n");
    }
    for (int i = 0; i < nblk; i++) {
        free(coded[i]);
        free(out[i]);
    }
    free(blk); free(coded); free(out); free(clen); free(in); free(jobs); free(th);
    return rc;
}

/* The library's stream API: T threads, T x B blocks of the level's block size. */
static int run_api(const mbz_model *m, const uint8_t *data, size_t nbytes, int level, int T, int B,
                   int runs)
{
    static const unsigned block_log[10] = {0, 18, 16, 17, 17, 18, 18, 20, 22, 24};  /* api.c */
    size_t bl = (size_t)1 << block_log[level], n = (size_t)T * B * bl;
    uint8_t *in = malloc(n);
    for (size_t k = 0; k < n; k++)
        in[k] = data[k % nbytes];
    mbz_options o;
    mbz_options_init(&o);
    o.level = level;
    o.threads = T;
    o.model = m;
    o.models = &m;
    o.n_models = 1;
    double ce[16], de[16], ce_last = 0, de_last = 0;
    mbz_megabyte_profile pe, pd;
    mbz_stats st;
    mbz_error err;
    int rc = MBZ_OK;
    if (runs > 16)
        runs = 16;
    for (int r = 0; r < runs && !rc; r++) {
        void *z = NULL, *back = NULL;
        size_t zn = 0, bn = 0;
        mbz_megabyte_profile_read(&pe, 1);
        double t0 = wall();
        rc = mbz_compress_buffer(&o, in, n, &z, &zn, &st, &err);
        ce_last = ce[r] = wall() - t0;
        mbz_megabyte_profile_read(&pe, 1);
        if (!rc) {
            t0 = wall();
            rc = mbz_decompress_buffer(&o, z, zn, &back, &bn, NULL, &err);
            de_last = de[r] = wall() - t0;
            mbz_megabyte_profile_read(&pd, 1);
            if (!rc && (bn != n || memcmp(back, in, n)))
                rc = MBZ_ERR_CORRUPT;
        }
        free(z);
        free(back);
    }
    if (rc) {
        printf("api T=%d B=%d: FAILED (%s)\n", T, B, err.msg);
    } else {
        char what[64];
        double macs = (double)(st.blocks - st.blocks_stored) * block_macs(bl);
        snprintf(what, sizeof what, "api compress   T=%d B=%d", T, B);
        print_rate(what, (double)n, median(ce, runs), macs, T);
        print_split(&pe, MBZ_PROF_SCORE_GLOBAL, MBZ_PROF_SCORE_LOCAL, T * ce_last * 1e9, -1);
        printf("\n");
        snprintf(what, sizeof what, "api decompress T=%d B=%d", T, B);
        print_rate(what, (double)n, median(de, runs), macs, T);
        print_split(&pd, MBZ_PROF_PREDICT_GLOBAL, MBZ_PROF_PREDICT_LOCAL, T * de_last * 1e9, -1);
        printf("  (%llu of %llu blocks stored)\n", (unsigned long long)st.blocks_stored,
               (unsigned long long)st.blocks);
    }
    free(in);
    return rc;
}

/* ------------------------------------------------------------------ main */

static int parse_list(const char *s, int *v, int max)
{
    int n = 0;
    while (*s && n < max) {
        v[n++] = atoi(s);
        s = strchr(s, ',');
        if (!s)
            break;
        s++;
    }
    return n;
}

static int want(const char *only, const char *what)
{
    size_t n = strlen(what);
    for (const char *s = only; (s = strstr(s, what)) != NULL; s += n)
        if ((s == only || s[-1] == ',') && (s[n] == 0 || s[n] == ','))
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    const char *preset = "bench", *file = NULL, *only = "peak,score,predict,batch", *mfile = NULL;
    size_t nbytes = 1 << 20, npred = 32 << 10, block_kb = 64;
    int batch[16] = {1, 4, 8}, nbatch = 3, threads[16] = {1, 2}, nthreads = 2, runs = 1, level = 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tiny") || !strcmp(argv[i], "--small") || !strcmp(argv[i], "--bench"))
            preset = argv[i] + 2;
        else if (!strcmp(argv[i], "--bytes") && i + 1 < argc)
            nbytes = strtoull(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "--predict-bytes") && i + 1 < argc)
            npred = strtoull(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            nbatch = parse_list(argv[++i], batch, 16);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            nthreads = parse_list(argv[++i], threads, 16);
        else if (!strcmp(argv[i], "--block-kb") && i + 1 < argc)
            block_kb = strtoull(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--team-min") && i + 1 < argc)
            mbz_megabyte_set_team_min(strtoull(argv[++i], NULL, 0));
        else if (!strcmp(argv[i], "--level") && i + 1 < argc)
            level = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--model") && i + 1 < argc)
            mfile = argv[++i];
        else if (argv[i][0] == '-') {
            fprintf(stderr, "mbzbench-infer: unknown option %s (see the comment at the top of "
                            "tools/mbzbench-infer.c)\n", argv[i]);
            return 2;
        } else
            file = argv[i];
    }
    if (runs < 1)
        runs = 1;
    if (level < 2 || level > 9)
        level = 2;
    for (int i = 0; i < nbatch; i++)
        if (batch[i] < 1 || batch[i] > 64)
            batch[i] = 1;
    for (int i = 0; i < nthreads; i++)
        if (threads[i] < 1 || threads[i] > 64)
            threads[i] = 1;
    /* input: FILE, else the text corpora concatenated, repeated to nbytes */
    uint8_t *data = malloc(nbytes + 1);
    size_t have = 0;
    const char *files[] = {"corpora/lcet10.txt", "corpora/plrabn12.txt", "corpora/alice29.txt",
                           "corpora/asyoulik.txt", "../main/corpora/lcet10.txt"};
    for (int pass = 0; have < nbytes && pass < 64; pass++) {
        size_t before = have;
        for (size_t f = 0; f < (file ? 1 : 5) && have < nbytes; f++) {
            FILE *fp = fopen(file ? file : files[f], "rb");
            if (!fp)
                continue;
            have += fread(data + have, 1, nbytes - have, fp);
            fclose(fp);
        }
        if (have == before)
            break;
    }
    if (have == 0) {
        fprintf(stderr, "mbzbench-infer: no input (give a FILE)\n");
        return 1;
    }
    nbytes = have;
    if (npred > nbytes)
        npred = nbytes;

    uint8_t *buf;
    size_t size;
    if (mfile) {
        FILE *fp = fopen(mfile, "rb");
        if (!fp || fseek(fp, 0, SEEK_END) || (long)(size = (size_t)ftell(fp)) < 0) {
            fprintf(stderr, "mbzbench-infer: cannot read %s\n", mfile);
            return 1;
        }
        rewind(fp);
        buf = malloc(size);
        if (fread(buf, 1, size, fp) != size) {
            fprintf(stderr, "mbzbench-infer: cannot read %s\n", mfile);
            return 1;
        }
        fclose(fp);
    } else {
        mkmodel_preset(&hp, preset);
        if (mkmodel_build(&hp, 1, &buf, &size) != MBZ_OK)
            return 1;
    }
    mbz_model *m;
    mbz_error err;
    if (mbz_model_load_memory(buf, size, &m, &err) != MBZ_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    {
        mbzm_file mf;
        char msg[256];
        if (mbzm_parse(buf, size, &mf, msg, sizeof msg) != MBZ_OK) {
            fprintf(stderr, "%s\n", msg);
            return 1;
        }
        hp = mf.hp;
        mbzm_free(&mf);
    }
    mbz_megabyte_profile_enable(1);
    /* MACs per byte (linear layers + attention at a full window) */
    double P = hp.patch, DG = P * hp.d_emb, DL = hp.l_dim;
    double g_lin = hp.g_layers * (4 * DG * DG + 2 * DG * hp.g_ff);
    double g_att = hp.g_layers * 2 * DG * hp.ctx_patches;
    double l_lin = hp.l_layers * (4 * DL * DL + 2 * DL * hp.l_ff) + DL * hp.d_emb + 256 * DL;
    double l_att = hp.l_layers * 2 * DL *
                   ((P + 1) / 2 + (hp.options & MBZM_OPT_CROSS_PATCH ? hp.cross_r : 0));
    printf("model %s (%zu bytes): MACs/byte: global %.0f (linear %.0f + attention %.0f), local %.0f, total %.0f\n",
           m->describe, size, (g_lin + g_att) / P, g_lin / P, g_att / P, l_lin + l_att,
           (g_lin + g_att) / P + l_lin + l_att);
    const mbz_kernels *k = mbz_kernels_get();
    printf("kernel %s; input: %zu bytes for score, %zu per block for predict; median of %d run(s)\n",
           k->name, nbytes, npred, runs);

    if (want(only, "peak") || want(only, "score") || want(only, "predict") || want(only, "batch") ||
        want(only, "loop") || want(only, "api")) {
        measure_peak(k, runs > 3 ? runs : 3);
        printf("peak (L1-resident, 8 rows x 64 x 128): mm_pk8 (packed int8 weights: linear layers) "
               "%.2f, mm_q8 (the same with int8 activations) %.2f, mm_pk (packed int16: attention "
               "keys) %.2f, mm_w8 %.2f GMAC/s\n",
               peak_pk8, peak_q8, peak_pk, peak_w8);
        double raw8, raw16;
        raw_peaks(&raw8, &raw16);
        if (raw8 > 0)
            printf("machine (vpdpbusd / vpdpwssd alone, 12 chains): int8 %.1f, int16 %.1f GMAC/s; "
                   "mm_q8 at %.0f%% of int8, mm_pk8 at %.0f%% of int16\n",
                   raw8, raw16, 100 * peak_q8 / raw8, 100 * peak_pk8 / raw16);
    }
    mbz_megabyte_profile pr;
    double v[16], wlast = 0;   /* speeds by now() (median); splits of the last run's wall time */
    if (runs > 16)
        runs = 16;
    if (want(only, "score")) {
        uint16_t *freq = malloc(nbytes * 512);
        uint64_t h = 0;
        for (int r = 0; r < runs; r++) {
            mbz_predictor *p;
            mbz_megabyte_profile_read(&pr, 1);
            double t0 = now(), w0 = wall();
            m->ops->create(m->impl, nbytes, &p);
            for (size_t pos = 0; pos < nbytes; pos += m->score_chunk) {
                size_t n = nbytes - pos < m->score_chunk ? nbytes - pos : m->score_chunk;
                m->ops->score(p, data, nbytes, pos, n, freq + pos * 256);
            }
            m->ops->destroy(p);
            v[r] = now() - t0;
            wlast = wall() - w0;
            mbz_megabyte_profile_read(&pr, 1);
            h = 1469598103934665603ull;   /* FNV-1a of the score tables: equal across builds */
            for (size_t i = 0; i < nbytes * 256; i++)
                h = (h ^ freq[i]) * 1099511628211ull;
        }
        printf("score tables: fnv64 %016llx\n", (unsigned long long)h);
        double t = median(v, runs);
        print_rate("score", (double)nbytes, t, block_macs(nbytes), 1);
        print_split(&pr, MBZ_PROF_SCORE_GLOBAL, MBZ_PROF_SCORE_LOCAL, wlast * 1e9, -1);
        printf("\n");
        free(freq);
    }
    uint16_t *freq = malloc(64 * 512);
    /* predict alone, then with a helper thread (assist: the global steps on two
     * threads, or a lagged model's next global step beside the local steps; timed by
     * the wall clock); the tables' hashes must agree */
    uint64_t hpred[2] = {0, 0};
    uint16_t *ptab = want(only, "predict") ? malloc(npred * 512) : NULL;   /* the tables */
    for (int helpers = 0; ptab && helpers <= (m->ops->assist ? 1 : 0); helpers++) {
        int took = 0;
        for (int r = 0; r < runs; r++) {
            mbz_predictor *p;
            mbz_megabyte_profile_read(&pr, 1);
            double t0 = helpers ? wall() : now(), w0 = wall();
            m->ops->create(m->impl, npred, &p);
            if (helpers)
                took = m->ops->assist(p, helpers);
            for (size_t pos = 0; pos < npred; pos++)
                m->ops->predict(p, data, pos, ptab + pos * 256);
            m->ops->destroy(p);
            v[r] = (helpers ? wall() : now()) - t0;
            wlast = wall() - w0;
            mbz_megabyte_profile_read(&pr, 1);
        }
        uint64_t h = 1469598103934665603ull;   /* FNV-1a of the last run's tables */
        for (size_t i = 0; i < npred * 256; i++)
            h = (h ^ ptab[i]) * 1099511628211ull;
        hpred[helpers] = h;
        if (helpers && !took) {
            printf("predict, 2 threads: the model takes no helper\n");
            break;
        }
        double t = median(v, runs);
        print_rate(helpers ? "predict, 2 threads" : "predict", (double)npred, t, block_macs(npred),
                   1 + helpers);
        print_split(&pr, MBZ_PROF_PREDICT_GLOBAL, MBZ_PROF_PREDICT_LOCAL, wlast * 1e9, -1);
        printf("\n");
        if (helpers && hpred[1] != hpred[0]) {
            fprintf(stderr, "mbzbench-infer: predict with a helper gave other tables\n");
            return 1;
        }
    }
    free(ptab);
    if (m->ops->predict_batch && want(only, "batch")) {
        for (int bi = 0; bi < nbatch; bi++) {
            int NB = batch[bi];
            mbz_predictor *ps[64];
            const uint8_t *bd[64];
            size_t pos[64];
            for (int r = 0; r < runs; r++) {
                for (int b = 0; b < NB; b++) {
                    m->ops->create(m->impl, npred, &ps[b]);
                    bd[b] = data + (b * (nbytes - npred)) / NB;
                }
                mbz_megabyte_profile_read(&pr, 1);
                double t0 = now(), w0 = wall();
                for (size_t i = 0; i < npred; i++) {
                    for (int b = 0; b < NB; b++)
                        pos[b] = i;
                    m->ops->predict_batch(ps, bd, pos, NB, freq);
                }
                v[r] = now() - t0;
                wlast = wall() - w0;
                mbz_megabyte_profile_read(&pr, 1);
                for (int b = 0; b < NB; b++)
                    m->ops->destroy(ps[b]);
            }
            double t = median(v, runs);
            char what[32];
            snprintf(what, sizeof what, "predict_batch(%d)", NB);
            print_rate(what, (double)npred * NB, t, NB * block_macs(npred), 1);
            print_split(&pr, MBZ_PROF_PREDICT_GLOBAL, MBZ_PROF_PREDICT_LOCAL, wlast * 1e9, -1);
            printf("\n");
        }
    }
    free(freq);
    int rc = 0;
    if (want(only, "loop")) {
        printf("coding loops (as api.c, no store decision), blocks of %zu KiB:\n", block_kb);
        for (int ti = 0; ti < nthreads; ti++)
            for (int bi = 0; bi < nbatch; bi++)
                rc |= run_loop(m, data, nbytes, threads[ti], batch[bi], block_kb << 10, runs);
    }
    if (want(only, "api")) {
        printf("library API (mbz_compress_buffer / mbz_decompress_buffer), level %d:\n", level);
        for (int ti = 0; ti < nthreads; ti++)
            for (int bi = 0; bi < nbatch; bi++)
                rc |= run_api(m, data, nbytes, level, threads[ti], batch[bi], runs);
    }
    mbz_model_free(m);
    free(buf);
    free(data);
    return rc ? 1 : 0;
}
