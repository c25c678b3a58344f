/*
 * mkmodel.c - write a deterministic pseudo-random but sane MEGABYTE model file
 * (doc/model-format.md), for tests and benchmarks. Integer-only, so the same seed
 * gives the same file on every machine.
 *
 *   mkmodel OUT.mbzm [--seed N] [--tiny | --small | --bench]
 *                    [--hp P,DE,GL,GH,GFF,DL,LL,LH,LFF,CTX] [--conv] [--cross-patch R]
 *
 * Presets: --tiny  P=4 DE=8  (DG=32)  GL=2 GH=2 GFF=64   DL=16  LL=2 LH=2 LFF=32  ctx=16 (default)
 *          --small P=8 DE=16 (DG=128) GL=2 GH=4 GFF=256  DL=64  LL=2 LH=2 LFF=128 ctx=64
 *          --bench P=8 DE=32 (DG=256) GL=4 GH=4 GFF=1024 DL=128 LL=2 LH=2 LFF=512 ctx=1024
 *
 * --conv sets the convolutional patch encoder option (MBZM_OPT_CONV_ENCODER) and adds
 * its tensors g.conv.{0,1,2} (scaled like the other linear layers into the residual).
 * --cross-patch R sets the cross-patch local attention option (MBZM_OPT_CROSS_PATCH)
 * with cross_r = R (1 <= R <= P; no extra tensors).
 *
 * Weights are uniform int8 in [-127, 127]; each linear layer's per-channel multiplier
 * and shift are chosen so that, for inputs of the expected RMS, outputs have a target
 * RMS well inside their clamp range (residual 1.0, q/k 512, v and MLP hidden 2048,
 * logits ~1.5 bits of spread), so activations neither saturate nor vanish and the
 * frequency tables are non-trivial.
 *
 * Compiled into the tests too (with MKMODEL_NO_MAIN): mkmodel_build().
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbz.h"
#include "modelfile.h"

typedef struct {
    uint64_t rng;
    mbzm_tensor *t;
    uint32_t n, cap;
    uint32_t last_in;       /* D_in of the current linear group */
    const mbzm_hparams *hp;
    int fail;
} mk_ctx;

static uint64_t mk_next(mk_ctx *c)
{
    uint64_t z = (c->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* uniform in [-a, a] */
static int32_t mk_sym(mk_ctx *c, uint32_t a)
{
    return (int32_t)(mk_next(c) % (2ull * a + 1)) - (int32_t)a;
}

static uint64_t mk_isqrt(uint64_t n)
{
    uint64_t r = 0;
    while ((r + 1) * (r + 1) <= n)
        r++;
    return r;
}

/* multiplier/shift so that round_shift(acc * m, s) has RMS ~target when acc has RMS
 * ~acc_rms: m / 2^s = target / acc_rms, m < 2^31. */
static void mk_scale(uint64_t target, uint64_t acc_rms, int32_t *m, int32_t *s)
{
    int sh = 44;
    uint64_t mm;
    if (acc_rms == 0)
        acc_rms = 1;
    for (;;) {
        mm = (target << sh) / acc_rms;
        if (mm < (1ull << 31) || sh == 1)
            break;
        sh--;
    }
    if (mm >= (1ull << 31))
        mm = (1ull << 31) - 1;
    *m = (int32_t)mm;
    *s = sh;
}

static int ends(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* Output RMS target of channel o of the linear group `name` (with D_out rows). */
static uint64_t mk_target(const char *name, uint32_t o, uint32_t rows)
{
    if (strstr(name, ".qkv."))
        return o < rows / 3 * 2 ? 512 : 2048;
    if (strstr(name, ".up."))
        return 2048;
    if (!strncmp(name, "head.", 5))
        return 384;
    return 4096; /* .o, .down, gl: into a residual stream (1.0) */
}

static void mk_tensor(void *user, const char *name, uint32_t dtype, uint32_t rows, uint32_t cols)
{
    mk_ctx *c = user;
    if (c->fail)
        return;
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 64;
        mbzm_tensor *nt = realloc(c->t, c->cap * sizeof *nt);
        if (!nt) {
            c->fail = 1;
            return;
        }
        c->t = nt;
    }
    mbzm_tensor *t = &c->t[c->n++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->dtype = dtype;
    t->rows = rows;
    t->cols = cols;
    size_t n = (size_t)rows * cols;
    void *data = calloc(n + 1, dtype == MBZM_I8 ? 1 : 4);
    if (!data) {
        c->fail = 1;
        return;
    }
    t->data = data;
    int8_t *w8 = data;
    int32_t *w32 = data;
    /* input RMS: 1024 (norm out, attention out, hidden) for every linear */
    uint64_t acc_rms = 1024ull * 73 * mk_isqrt(4ull * c->last_in) / 2;
    if (ends(name, ".w")) {
        c->last_in = cols;
        for (size_t i = 0; i < n; i++)
            w8[i] = (int8_t)mk_sym(c, 127);
    } else if (ends(name, ".b")) {
        for (size_t i = 0; i < n; i++)
            w32[i] = mk_sym(c, (uint32_t)(acc_rms / 8));
    } else if (ends(name, ".m") || ends(name, ".s")) {
        int is_m = ends(name, ".m");
        for (size_t o = 0; o < n; o++) {
            int32_t m, s;
            /* per-channel variation of +-25% */
            uint64_t tg = mk_target(name, (uint32_t)o, (uint32_t)n);
            uint64_t var = (uint64_t)(1024 + mk_sym(c, 256));
            mk_scale(tg * var / 1024, acc_rms, &m, &s);
            w32[o] = is_m ? m : s;
        }
    } else if (ends(name, ".att")) {
        uint32_t heads = cols - 2;
        uint32_t d = (strncmp(name, "g.", 2) ? c->hp->l_dim : c->hp->patch * c->hp->d_emb) / heads;
        /* q.k RMS ~ 512*512*sqrt(d); logits RMS ~ 2 bits (512 in Q8) */
        mk_scale(512, 512ull * 512 * mk_isqrt(4ull * d) / 2, &w32[0], &w32[1]);
        for (uint32_t h = 0; h < heads; h++) {
            uint32_t sh = 8 * (h + 1) / heads;
            w32[2 + h] = sh >= 8 ? 1 : (int32_t)(256u >> sh);
        }
    } else {
        /* embeddings, pad patch, positions: residual units, RMS ~1.0 */
        for (size_t i = 0; i < n; i++)
            w32[i] = mk_sym(c, 7000);
    }
}

/* Build a model file image for hp from seed. Returns an mbz_status; *buf is malloc'ed. */
static int mkmodel_build(const mbzm_hparams *hp, uint64_t seed, uint8_t **buf, size_t *size)
{
    mk_ctx c;
    memset(&c, 0, sizeof c);
    c.rng = seed;
    c.hp = hp;
    mbzm_for_each_tensor(hp, mk_tensor, &c);
    int rc = c.fail ? MBZ_ERR_NOMEM : mbzm_write_buffer(hp, c.t, c.n, buf, size);
    for (uint32_t i = 0; i < c.n; i++)
        free((void *)c.t[i].data);
    free(c.t);
    return rc;
}

static void mkmodel_preset(mbzm_hparams *hp, const char *name)
{
    memset(hp, 0, sizeof *hp);
    uint32_t v[10] = {4, 8, 2, 2, 64, 16, 2, 2, 32, 16};
    if (!strcmp(name, "small")) {
        uint32_t s[10] = {8, 16, 2, 4, 256, 64, 2, 2, 128, 64};
        memcpy(v, s, sizeof v);
    } else if (!strcmp(name, "bench")) {
        uint32_t s[10] = {8, 32, 4, 4, 1024, 128, 2, 2, 512, 1024};
        memcpy(v, s, sizeof v);
    }
    hp->patch = v[0]; hp->d_emb = v[1]; hp->g_layers = v[2]; hp->g_heads = v[3];
    hp->g_ff = v[4]; hp->l_dim = v[5]; hp->l_layers = v[6]; hp->l_heads = v[7];
    hp->l_ff = v[8]; hp->ctx_patches = v[9];
}

#ifndef MKMODEL_NO_MAIN
static int usage(void)
{
    fprintf(stderr, "usage: mkmodel OUT.mbzm [--seed N] [--tiny|--small|--bench] "
                    "[--hp P,DE,GL,GH,GFF,DL,LL,LH,LFF,CTX] [--conv] [--cross-patch R]\n"
                    "       [--lag L] [--prev]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *out = NULL;
    uint64_t seed = 1;
    mbzm_hparams hp;
    mkmodel_preset(&hp, "tiny");
    int conv = 0, prev = 0;
    unsigned cross = 0, lag = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--conv")) {
            conv = 1;
        } else if (!strcmp(argv[i], "--prev")) {
            prev = 1;
        } else if (!strcmp(argv[i], "--lag") && i + 1 < argc) {
            char *end;
            lag = (unsigned)strtoul(argv[++i], &end, 10);
            if (*end || lag < 2)
                return usage();
        } else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            seed = strtoull(argv[++i], NULL, 0);
        } else if (!strcmp(argv[i], "--tiny") || !strcmp(argv[i], "--small") ||
                   !strcmp(argv[i], "--bench")) {
            mkmodel_preset(&hp, argv[i] + 2);
        } else if (!strcmp(argv[i], "--hp") && i + 1 < argc) {
            unsigned v[10];
            if (sscanf(argv[++i], "%u,%u,%u,%u,%u,%u,%u,%u,%u,%u", &v[0], &v[1], &v[2], &v[3],
                       &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]) != 10)
                return usage();
            hp.patch = v[0]; hp.d_emb = v[1]; hp.g_layers = v[2]; hp.g_heads = v[3];
            hp.g_ff = v[4]; hp.l_dim = v[5]; hp.l_layers = v[6]; hp.l_heads = v[7];
            hp.l_ff = v[8]; hp.ctx_patches = v[9];
        } else if (!strcmp(argv[i], "--cross-patch") && i + 1 < argc) {
            char *end;
            cross = (unsigned)strtoul(argv[++i], &end, 10);
            if (*end || !cross)
                return usage();
        } else if (argv[i][0] == '-' || out) {
            return usage();
        } else {
            out = argv[i];
        }
    }
    if (!out)
        return usage();
    if (conv)
        hp.options |= MBZM_OPT_CONV_ENCODER;
    if (prev)
        hp.options |= MBZM_OPT_PREV_PATCH;
    if (lag) {
        hp.options |= MBZM_OPT_GLOBAL_LAG;
        hp.global_lag = lag;
    }
    if (cross) {   /* after --hp / presets, which reset hp */
        hp.options |= MBZM_OPT_CROSS_PATCH;
        hp.cross_r = cross;
    }
    char err[256];
    if (mbzm_check_hparams(&hp, err, sizeof err) != MBZ_OK) {
        fprintf(stderr, "mkmodel: %s\n", err);
        return 1;
    }
    uint8_t *buf;
    size_t size;
    if (mkmodel_build(&hp, seed, &buf, &size) != MBZ_OK) {
        fprintf(stderr, "mkmodel: cannot build the model\n");
        return 1;
    }
    FILE *f = fopen(out, "wb");
    if (!f || fwrite(buf, 1, size, f) != size || fclose(f) != 0) {
        perror(out);
        return 1;
    }
    free(buf);
    return 0;
}
#endif
