/*
 * mbzbench-infer.c - speed of the integer MEGABYTE engine (not a test).
 *
 *   mbzbench-infer [--tiny|--small|--bench] [--bytes N] [--predict-bytes N] [FILE]
 *
 * Builds a pseudo-random model (mkmodel preset, default --bench: P=8 D_E=32 D_G=256
 * g_layers=4 g_heads=4 g_ff=1024 D_L=128 l_layers=2 l_heads=2 l_ff=512 ctx=1024),
 * then for each kernel available: score() over N bytes (default 1 MiB) of FILE (or
 * corpora text), predict() over the first M bytes, predict_batch() with 8 blocks, and
 * prints KB/s and the multiply-accumulates per byte of the linear layers and attention.
 * Timing uses clock_gettime; the engine itself is untouched by it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels.h"
#include "mbz.h"
#include "megabyte.h"
#include "modelfile.h"
#include "predictor.h"

#define MKMODEL_NO_MAIN
#include "mkmodel.c"

/* MBZBENCH_CLOCK=cpu: time by this thread's CPU time (steadier on a loaded machine
 * whose other cores are busy); default: wall clock. */
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

int main(int argc, char **argv)
{
    const char *preset = "bench", *file = NULL, *only = "";
    size_t nbytes = 1 << 20, npred = 32 << 10;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tiny") || !strcmp(argv[i], "--small") || !strcmp(argv[i], "--bench"))
            preset = argv[i] + 2;
        else if (!strcmp(argv[i], "--bytes") && i + 1 < argc)
            nbytes = strtoull(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            only = argv[++i];   /* score | predict | batch: run just that one */
        else if (!strcmp(argv[i], "--predict-bytes") && i + 1 < argc)
            npred = strtoull(argv[++i], NULL, 0);
        else
            file = argv[i];
    }
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

    mbzm_hparams hp;
    mkmodel_preset(&hp, preset);
    uint8_t *buf;
    size_t size;
    if (mkmodel_build(&hp, 1, &buf, &size) != MBZ_OK)
        return 1;
    mbz_model *m;
    mbz_error err;
    if (mbz_megabyte_create(buf, size, &m, &err) != MBZ_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    /* MACs per byte (linear layers + attention at a full window) */
    double P = hp.patch, DG = P * hp.d_emb, DL = hp.l_dim;
    double g_lin = hp.g_layers * (4 * DG * DG + 2 * DG * hp.g_ff);
    double g_att = hp.g_layers * 2 * DG * hp.ctx_patches;
    double l_lin = hp.l_layers * (4 * DL * DL + 2 * DL * hp.l_ff) + DL * hp.d_emb + 256 * DL;
    double l_att = hp.l_layers * 2 * DL * (P + 1) / 2;
    printf("model %s (%zu bytes): MACs/byte: global %.0f (linear %.0f + attention %.0f), local %.0f, total %.0f\n",
           m->describe, size, (g_lin + g_att) / P, g_lin / P, g_att / P, l_lin + l_att,
           (g_lin + g_att) / P + l_lin + l_att);
    printf("input: %zu bytes for score, %zu for predict\n", nbytes, npred);

    const char *names[] = {"scalar", "avx2", "avx512bw", "avx512"};
    uint16_t *freq = malloc(nbytes * 512);
    (void)names;
    const mbz_kernels *k = mbz_kernels_get();
    mbz_predictor *p;
    double t0 = now(), ts = 0, tp = 0;
    if (!*only || !strcmp(only, "score")) {
    m->ops->create(m->impl, nbytes, &p);
    for (size_t pos = 0; pos < nbytes; pos += m->ops->score_chunk) {
        size_t n = nbytes - pos < m->ops->score_chunk ? nbytes - pos : m->ops->score_chunk;
        m->ops->score(p, data, nbytes, pos, n, freq + pos * 256);
    }
    m->ops->destroy(p);
    ts = now() - t0;
    uint64_t h = 1469598103934665603ull;   /* FNV-1a of the score tables: equal across builds */
    for (size_t i = 0; i < nbytes * 256; i++)
        h = (h ^ freq[i]) * 1099511628211ull;
    printf("score tables: fnv64 %016llx\n", (unsigned long long)h);
    }
    if (!*only || !strcmp(only, "predict")) {
    t0 = now();
    m->ops->create(m->impl, npred, &p);
    for (size_t pos = 0; pos < npred; pos++)
        m->ops->predict(p, data, pos, freq + pos * 256);
    m->ops->destroy(p);
    tp = now() - t0;
    }
    /* predict_batch: 8 blocks of npred/8 bytes */
    double tb = 0;
    if (m->ops->predict_batch && (!*only || !strcmp(only, "batch"))) {
        enum { NB = 8 };
        size_t bl = npred / NB;
        mbz_predictor *ps[NB];
        const uint8_t *bd[NB];
        size_t pos[NB];
        for (int b = 0; b < NB; b++) {
            m->ops->create(m->impl, bl, &ps[b]);
            bd[b] = data + b * bl;
        }
        t0 = now();
        for (size_t i = 0; i < bl; i++) {
            for (int b = 0; b < NB; b++)
                pos[b] = i;
            m->ops->predict_batch(ps, bd, pos, NB, freq + 0);
        }
        tb = now() - t0;
        for (int b = 0; b < NB; b++)
            m->ops->destroy(ps[b]);
    }
    printf("kernel %-10s score %8.1f KB/s   predict %7.1f KB/s   predict_batch(8) %7.1f KB/s\n",
           k->name, ts > 0 ? nbytes / ts / 1024 : 0.0, tp > 0 ? npred / tp / 1024 : 0.0, tb > 0 ? (npred / 8 * 8) / tb / 1024 : 0.0);
    m->free_impl(m->impl);
    free(m);
    free(buf);
    free(freq);
    free(data);
    return 0;
}
