/*
 * mbtrain - train the MEGABYTE entropy model of mbzip (float32, OpenBLAS) and export
 * it as an integer model file. See man/mbtrain.1 and doc/model-format.md.
 *
 *   mbtrain [options] DATA...          train (or --resume CKPT DATA...)
 *   mbtrain --init CKPT [options] DATA... fine-tune a trained model on DATA
 *   mbtrain export CKPT OUT.mbzm DATA... quantize, calibrate on DATA's held-out part
 */
#include "config.h"
#include "train.h"
#include "dist.h"

#include <cblas.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "mbz.h"

#ifndef MBZ_SRCDIR
#define MBZ_SRCDIR "."
#endif

#define CKPT_MAGIC "MBTCKPT1"

/* ------------------------------------------------------------------ checkpoints */

/* Layout (host byte order; checkpoints are for resuming on the same kind of machine):
 * magic[8], u32 sizeof(mt_real), mt_config, i64 step, mt_rng, u64 data_hash,
 * u64 n_params, params[n], m[n], v[n], u64 xxh64 of all preceding bytes. */
/* Compact checkpoints keep the weights at full precision but the Adam moments as
 * bfloat16 (round to nearest even), so the default model's checkpoint fits the
 * repository's 32 MB budget. Resuming from one is not bit-exact (the moments lost
 * their low bits); the flag is the top bit of the stored element size. */
#define CKPT_COMPACT 0x80000000u

static uint16_t to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7f800000u) == 0x7f800000u) return (uint16_t)(u >> 16); /* inf/nan: truncate */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static float from_bf16(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static int ckpt_save(const char *path, const mt_state *s, int compact, char *err, size_t errlen)
{
    size_t n = s->model.n_params;
    size_t msz = compact ? 2 : sizeof(mt_real);
    size_t size = 8 + 4 + sizeof s->cfg + 8 + sizeof s->rng + 8 + 8 + n * sizeof(mt_real) + 2 * n * msz + 8;
    uint8_t *buf = malloc(size), *p = buf;
    if (!buf) { snprintf(err, errlen, "out of memory"); return -1; }
#define PUT(src, len) do { memcpy(p, (src), (len)); p += (len); } while (0)
    uint32_t rs = (uint32_t)sizeof(mt_real) | (compact ? CKPT_COMPACT : 0);
    uint64_t np = n;
    PUT(CKPT_MAGIC, 8);
    PUT(&rs, 4);
    PUT(&s->cfg, sizeof s->cfg);
    PUT(&s->step, 8);
    PUT(&s->rng, sizeof s->rng);
    PUT(&s->data_hash, 8);
    PUT(&np, 8);
    PUT(s->model.params, n * sizeof(mt_real));
    if (compact) {
        for (size_t i = 0; i < n; i++) { uint16_t b = to_bf16((float)s->m[i]); PUT(&b, 2); }
        for (size_t i = 0; i < n; i++) { uint16_t b = to_bf16((float)s->v[i]); PUT(&b, 2); }
    } else {
        PUT(s->m, n * sizeof(mt_real));
        PUT(s->v, n * sizeof(mt_real));
    }
    uint64_t h = XXH64(buf, (size_t)(p - buf), 0);
    PUT(&h, 8);
#undef PUT
    /* atomically: write a temporary file next to it, flush it to disk, rename */
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    int ok = f && fwrite(buf, 1, size, f) == size;
    if (f) { ok &= fflush(f) == 0; ok &= fsync(fileno(f)) == 0; ok &= fclose(f) == 0; }
    free(buf);
    if (!ok || rename(tmp, path)) {
        snprintf(err, errlen, "cannot write checkpoint %s: %s", path, strerror(errno));
        remove(tmp);
        return -1;
    }
    return 0;
}

int mt_ckpt_save(const char *path, const mt_state *s, char *err, size_t errlen)
{
    return ckpt_save(path, s, 0, err, errlen);
}

int mt_ckpt_load(const char *path, mt_state *s, int init_model, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) { snprintf(err, errlen, "%s: %s", path, strerror(errno)); return -1; }
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    size_t head = 8 + 4 + sizeof s->cfg + 8 + sizeof s->rng + 8 + 8;
    if (sz < 0 || (size_t)sz < head + 8) { fclose(f); snprintf(err, errlen, "%s: not a checkpoint (too short)", path); return -1; }
    uint8_t *buf = malloc((size_t)sz);
    if (!buf || fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
        fclose(f); free(buf);
        snprintf(err, errlen, "%s: read error", path);
        return -1;
    }
    fclose(f);
    uint64_t h;
    memcpy(&h, buf + sz - 8, 8);
    uint32_t rs;
    memcpy(&rs, buf + 8, 4);
    int compact = (rs & CKPT_COMPACT) != 0;
    rs &= ~CKPT_COMPACT;
    if (memcmp(buf, CKPT_MAGIC, 8) || rs != sizeof(mt_real)) {
        free(buf); snprintf(err, errlen, "%s: not an mbtrain checkpoint", path); return -1;
    }
    if (XXH64(buf, (size_t)sz - 8, 0) != h) {
        free(buf); snprintf(err, errlen, "%s: checksum mismatch (truncated or corrupt)", path); return -1;
    }
    const uint8_t *p = buf + 12;
#define GET(dst, len) do { memcpy((dst), p, (len)); p += (len); } while (0)
    GET(&s->cfg, sizeof s->cfg);
    GET(&s->step, 8);
    GET(&s->rng, sizeof s->rng);
    GET(&s->data_hash, 8);
    uint64_t np;
    GET(&np, 8);
    if (init_model && mt_model_init(&s->model, &s->cfg.hp, s->cfg.batch)) {
        free(buf); snprintf(err, errlen, "%s: bad model shape", path); return -1;
    }
    size_t msz = compact ? 2 : sizeof(mt_real);
    if (np != s->model.n_params || head + np * sizeof(mt_real) + 2 * np * msz + 8 != (size_t)sz) {
        free(buf); snprintf(err, errlen, "%s: parameter count does not match the model", path); return -1;
    }
    size_t bytes = np * sizeof(mt_real);
    if (!s->m) s->m = calloc(np, sizeof(mt_real));
    if (!s->v) s->v = calloc(np, sizeof(mt_real));
    if (!s->m || !s->v) { free(buf); snprintf(err, errlen, "out of memory"); return -1; }
    GET(s->model.params, bytes);
    if (compact) {
        for (size_t i = 0; i < np; i++) { uint16_t b; GET(&b, 2); s->m[i] = from_bf16(b); }
        for (size_t i = 0; i < np; i++) { uint16_t b; GET(&b, 2); s->v[i] = from_bf16(b); }
        fprintf(stderr, "mbtrain: %s is a compact checkpoint (bf16 Adam moments): "
                "resuming from it is close to, not bit-identical with, the original run\n", path);
    } else {
        GET(s->m, bytes);
        GET(s->v, bytes);
    }
#undef GET
    free(buf);
    return 0;
}

/* ------------------------------------------------------------------ training */

double mt_eval_bpb(mt_model *m, const mt_data *d, int n)
{
    uint8_t *x = malloc((size_t)m->B * m->T);
    if (!x) return NAN;
    double sum = 0;
    int done = 0;
    while (done < n) {
        int b = n - done < m->B ? n - done : m->B;
        for (int i = 0; i < b; i++) mt_data_eval_window(d, x + (size_t)i * m->T, done + i, n, m->T);
        sum += mt_forward(m, x, b) * b;
        done += b;
    }
    free(x);
    return sum / n / log(2.0);
}

static double lr_at(const mt_config *c, int64_t step)
{
    if (step < c->warmup) return c->lr * (double)(step + 1) / (double)c->warmup;
    double t = c->steps > c->warmup ? (double)(step - c->warmup) / (double)(c->steps - c->warmup) : 1.0;
    if (t > 1) t = 1;
    return c->lr_min + 0.5 * (c->lr - c->lr_min) * (1.0 + cos(3.14159265358979323846 * t));
}

/* AdamW; weight decay only on the linear weight matrices (not embeddings, gains,
 * biases), as decaying a norm gain or an embedding towards 0 has no regularising use.
 * Gradients are clipped to a global L2 norm first. Returns the norm before clipping. */
static double adamw_step(mt_state *s, double lr)
{
    mt_model *md = &s->model;
    const mt_config *c = &s->cfg;
    double norm2 = 0;
    for (size_t i = 0; i < md->n_params; i++) norm2 += (double)md->grads[i] * md->grads[i];
    double norm = sqrt(norm2);
    double scale = c->clip > 0 && norm > c->clip ? c->clip / norm : 1.0;
    int64_t t = s->step + 1;
    double bc1 = 1.0 - pow(c->beta1, (double)t), bc2 = 1.0 - pow(c->beta2, (double)t);
    float b1 = (float)c->beta1, b2 = (float)c->beta2;
    for (int ti = 0; ti < md->n_tensors; ti++) {
        const mt_tensor *tn = &md->tensors[ti];
        size_t n = tn->rows * tn->cols;
        mt_real *w = md->params + tn->off, *g = md->grads + tn->off;
        mt_real *m = s->m + tn->off, *v = s->v + tn->off;
        float wd = tn->decay ? (float)c->wd : 0.0f;
        float lrf = (float)lr, sc = (float)scale, eps = (float)c->adam_eps;
        float ibc1 = (float)(1.0 / bc1), ibc2 = (float)(1.0 / bc2);
        for (size_t i = 0; i < n; i++) {
            float gi = g[i] * sc;
            m[i] = b1 * m[i] + (1.0f - b1) * gi;
            v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
            float mh = m[i] * ibc1, vh = v[i] * ibc2;
            w[i] -= lrf * (mh / (sqrtf(vh) + eps) + wd * w[i]);
        }
    }
    return norm;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void fmt_dur(char *buf, size_t n, double s)
{
    if (!(s >= 0) || s > 1e8) { snprintf(buf, n, "?"); return; }
    long t = (long)s;
    snprintf(buf, n, "%ldh%02ldm%02lds", t / 3600, (t / 60) % 60, t % 60);
}

/* ------------------------------------------------------------------ CLI */

/* Steps of the run that trains on `bytes` bytes of windows. */
static int64_t steps_for_bytes(const mt_config *c, double bytes)
{
    return (int64_t)ceil(bytes / ((double)c->batch * c->hp.ctx_patches * c->hp.patch));
}

static void usage(FILE *f)
{
    fprintf(f,
"Usage: mbtrain [OPTIONS] DATA...\n"
"       mbtrain --resume CKPT [OPTIONS] DATA...\n"
"       mbtrain --init CKPT [OPTIONS] DATA...   (fine-tune: see below)\n"
"       mbtrain export [--exclude-dir DIR]... [--no-default-excludes] [--eval-windows N]\n"
"                      [--int8-act (linear layers take int8 activations)]\n"
"                      CKPT OUT.mbzm DATA...\n"
"       mbtrain int8-act IN.mbzm OUT.mbzm   (the same model with int8 activations)\n"
"       mbtrain window IN.mbzm OUT.mbzm BYTES   (the same model, attention window cut to BYTES)\n"
"Train the MEGABYTE model of mbzip on DATA (files, directories, tar archives).\n\n"
"Model:  --patch N (8) --d-emb N (32) --g-layers N (4) --g-heads N (4) --g-ff N (1024)\n"
"        --l-dim N (128) --l-layers N (2) --l-heads N (2) --l-ff N (512) --ctx BYTES (8192)\n"
"        --cross-patch R (off: local attention also sees the previous patch's last R bytes)\n"
"        --conv-encoder (causal conv layers, kernels 3, 5, 7, over the byte embeddings)\n"
"        --global-lag L (1: patch k's global input is patch k-L, L <= 8; with L >= 2\n"
"        decoding can run a patch's global step beside the previous patch's bytes)\n"
"        --prev-patch (the local input also gets the previous patch's byte\n"
"        embeddings, projected: what a lag takes from the global model)\n"
"Train:  --batch N (4) --steps N | --bytes N (10000 steps) --lr X (1e-3) --lr-min X (lr/10)\n"
"        --warmup N (200) --wd X (0.1) --clip X (1.0) --seed N (1) --holdout F (0.02)\n"
"Run:    --threads N (1) --ckpt FILE (mbtrain.ckpt) --ckpt-every N (500) --ckpt-minutes M (0)\n"
"        --eval-every N (250) --eval-windows N (16) --log-every N (10) --resume CKPT\n"
"        --out FILE.mbzm (export at the end) --exclude-dir DIR (repeatable)\n"
"        --stop-at STEP (stop there, with a checkpoint, as if interrupted)\n"
"        --blas-core CORE (run OpenBLAS's CORE kernels, e.g. SkylakeX, after an sgemm\n"
"        self-test; default: the environment's OPENBLAS_CORETYPE or the CPU's)\n"
"        --no-default-excludes (check only against --exclude-dir directories)\n"
"        --check-data (load and check DATA, then exit) --drop-overlap (leave out files\n"
"        overlapping the benchmarks instead of refusing) --quiet --help\n"
"Fine-tune: --init CKPT starts from CKPT's weights and shape (a checkpoint, compact or\n"
"        full) with a new schedule: step 0, fresh optimizer state; unless given,\n"
"        --lr 2e-4, --warmup 20 and --steps for one pass over DATA (20 .. 5000).\n");
}

enum {
    O_PATCH = 256, O_DEMB, O_GL, O_GH, O_GFF, O_LD, O_LL, O_LH, O_LFF, O_CTX, O_BATCH, O_STEPS,
    O_BYTES, O_LR, O_LRMIN, O_WARMUP, O_WD, O_CLIP, O_SEED, O_HOLD, O_THREADS, O_CKPT,
    O_CKPT_EVERY, O_CKPT_MIN, O_EVAL_EVERY, O_EVAL_WIN, O_LOG_EVERY, O_RESUME, O_OUT, O_EXCL,
    O_CHECK, O_DROP, O_STOP, O_NODEF, O_QUIET, O_HELP, O_CONV, O_CROSS, O_INIT, O_BLAS, O_LAG, O_PREV
};

static const struct option long_opts[] = {
    {"patch", 1, 0, O_PATCH}, {"d-emb", 1, 0, O_DEMB}, {"g-layers", 1, 0, O_GL},
    {"g-heads", 1, 0, O_GH}, {"g-ff", 1, 0, O_GFF}, {"l-dim", 1, 0, O_LD},
    {"l-layers", 1, 0, O_LL}, {"l-heads", 1, 0, O_LH}, {"l-ff", 1, 0, O_LFF},
    {"ctx", 1, 0, O_CTX}, {"cross-patch", 1, 0, O_CROSS}, {"batch", 1, 0, O_BATCH}, {"steps", 1, 0, O_STEPS},
    {"bytes", 1, 0, O_BYTES}, {"lr", 1, 0, O_LR}, {"lr-min", 1, 0, O_LRMIN},
    {"warmup", 1, 0, O_WARMUP}, {"wd", 1, 0, O_WD}, {"clip", 1, 0, O_CLIP},
    {"seed", 1, 0, O_SEED}, {"holdout", 1, 0, O_HOLD}, {"threads", 1, 0, O_THREADS},
    {"ckpt", 1, 0, O_CKPT}, {"ckpt-every", 1, 0, O_CKPT_EVERY}, {"ckpt-minutes", 1, 0, O_CKPT_MIN},
    {"eval-every", 1, 0, O_EVAL_EVERY}, {"eval-windows", 1, 0, O_EVAL_WIN},
    {"log-every", 1, 0, O_LOG_EVERY}, {"resume", 1, 0, O_RESUME}, {"init", 1, 0, O_INIT}, {"out", 1, 0, O_OUT},
    {"exclude-dir", 1, 0, O_EXCL}, {"check-data", 0, 0, O_CHECK}, {"drop-overlap", 0, 0, O_DROP}, {"stop-at", 1, 0, O_STOP},
    {"no-default-excludes", 0, 0, O_NODEF}, {"quiet", 0, 0, O_QUIET},
    {"blas-core", 1, 0, O_BLAS},
    {"conv-encoder", 0, 0, O_CONV}, {"global-lag", 1, 0, O_LAG}, {"prev-patch", 0, 0, O_PREV}, {"help", 0, 0, O_HELP}, {0, 0, 0, 0}};

static double num_arg(const char *opt, const char *s, double lo, double hi)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    /* accept K/M/G suffixes (powers of 1024) for sizes */
    if (end != s && *end) {
        if (!strcmp(end, "K") || !strcmp(end, "k")) { v *= 1024; end++; }
        else if (!strcmp(end, "M")) { v *= 1048576; end++; }
        else if (!strcmp(end, "G")) { v *= 1073741824.0; end++; }
    }
    if (errno || end == s || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "mbtrain: bad value for --%s: '%s' (expected %g..%g)\n", opt, s, lo, hi);
        exit(1);
    }
    return v;
}

/* Default benchmark directories (never trained on): the repository's corpora/ and the
 * shared Canterbury, large Canterbury and Silesia corpora next to the source tree. */
static int default_excludes(char **dirs, int n)
{
    static char buf[4][4200];
    const char *sub[4] = {"/corpora", "/../shared/corpora/canterbury",
                          "/../shared/corpora/canterbury-large", "/../shared/corpora/silesia"};
    for (int i = 0; i < 4; i++) {
        snprintf(buf[i], sizeof buf[i], "%s%s", MBZ_SRCDIR, sub[i]);
        dirs[n++] = buf[i];
    }
    return n;
}

static int cmd_export(int argc, char **argv)
{
    char *excl[64];
    int n_excl = 0, verbose = 1, eval_windows = 32, no_def = 0, int8_act = 0;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--exclude-dir") && i + 1 < argc) {
            if (n_excl < 60) excl[n_excl++] = argv[++i];
        } else if (!strcmp(argv[i], "--eval-windows") && i + 1 < argc) {
            eval_windows = (int)num_arg("eval-windows", argv[++i], 1, 1e6);
        } else if (!strcmp(argv[i], "--quiet")) {
            verbose = 0;
        } else if (!strcmp(argv[i], "--int8-act")) {
            int8_act = 1;
        } else if (!strcmp(argv[i], "--no-default-excludes")) {
            no_def = 1;
        } else if (!strcmp(argv[i], "--")) {
            i++;
            break;
        } else {
            fprintf(stderr, "mbtrain export: unknown option %s\n", argv[i]);
            return 1;
        }
    }
    if (argc - i < 3) {
        fprintf(stderr, "usage: mbtrain export [--exclude-dir DIR]... [--eval-windows N] [--int8-act] CKPT OUT.mbzm DATA...\n");
        return 1;
    }
    if (!no_def) n_excl = default_excludes(excl, n_excl);
    return mt_export(argv[i], argv[i + 1], argv + i + 2, argc - i - 2, excl, n_excl, eval_windows,
                     int8_act, verbose) ? 1 : 0;
}

/* mbtrain compact IN.ckpt OUT.ckpt: the same run state with bf16 Adam moments. */
static int cmd_compact(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: mbtrain compact IN.ckpt OUT.ckpt\n");
        return 1;
    }
    mt_state s;
    char err[512];
    memset(&s, 0, sizeof s);
    int rc = mt_ckpt_load(argv[1], &s, 1, err, sizeof err) || ckpt_save(argv[2], &s, 1, err, sizeof err);
    if (rc)
        fprintf(stderr, "mbtrain: %s\n", err);
    else
        fprintf(stderr, "mbtrain: %s: step %lld, %zu parameters, compact checkpoint written\n",
                argv[2], (long long)s.step, s.model.n_params);
    if (s.model.params)
        mt_model_free(&s.model);
    free(s.m);
    free(s.v);
    return rc ? 1 : 0;
}

/* A model file rewritten with other options: its tensors and scales unchanged, a new
 * file and fingerprint. */
static int rewrite_model(const char *cmd, const char *in, const char *out, int int8_act,
                         uint32_t ctx_bytes)
{
    char err[512];
    unsigned char *buf;
    size_t n;
    mbz_error e;
    if (mbzm_read_file(in, &buf, &n, &e) != MBZ_OK) {
        fprintf(stderr, "mbtrain %s: %s\n", cmd, e.msg);
        return 1;
    }
    mbzm_file mf;
    if (mbzm_parse(buf, n, &mf, err, sizeof err) != MBZ_OK) {
        fprintf(stderr, "mbtrain %s: %s: %s\n", cmd, in, err);
        free(buf);
        return 1;
    }
    free(buf);
    mbzm_hparams hp = mf.hp;
    if (int8_act)
        hp.options |= MBZM_OPT_INT8_ACT;
    if (ctx_bytes) {
        /* a shorter window of the same weights: ALiBi's distance penalty is the same
         * for the keys that remain, so nothing else changes */
        if (ctx_bytes % hp.patch || ctx_bytes / hp.patch > hp.ctx_patches) {
            fprintf(stderr, "mbtrain %s: %u bytes is not a multiple of the patch (%u) up to "
                    "the model's window (%u bytes)\n", cmd, ctx_bytes, hp.patch,
                    hp.ctx_patches * hp.patch);
            mbzm_free(&mf);
            return 1;
        }
        hp.ctx_patches = ctx_bytes / hp.patch;
    }
    int rc = mbzm_write_file(out, &hp, mf.tensors, mf.n_tensors, err, sizeof err);
    if (rc != MBZ_OK)
        fprintf(stderr, "mbtrain %s: %s\n", cmd, err);
    else if (int8_act)
        fprintf(stderr, "mbtrain %s: %s: %s with int8 activations\n", cmd, out, in);
    else
        fprintf(stderr, "mbtrain %s: %s: %s with a window of %u bytes\n", cmd, out, in,
                hp.ctx_patches * hp.patch);
    mbzm_free(&mf);
    return rc != MBZ_OK;
}

/* mbtrain int8-act IN.mbzm OUT.mbzm: the same model (tensors, scales) with int8
 * activations (MBZM_OPT_INT8_ACT) set, a new file and fingerprint; for a model already
 * exported, whose held-out loss with the bit mbzip's own tools then measure. */
static int cmd_int8_act(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: mbtrain int8-act IN.mbzm OUT.mbzm\n");
        return 1;
    }
    return rewrite_model("int8-act", argv[1], argv[2], 1, 0);
}

/* mbtrain window IN.mbzm OUT.mbzm BYTES: the same model with its attention window cut
 * to BYTES (global attention sees BYTES / patch patches): less work per patch for
 * what the far keys were worth (model/MODEL.md measures the built-in default's). */
static int cmd_window(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: mbtrain window IN.mbzm OUT.mbzm BYTES\n");
        return 1;
    }
    char *end;
    unsigned long b = strtoul(argv[3], &end, 10);
    if (*end || b == 0 || b > (1ul << 30)) {
        fprintf(stderr, "mbtrain window: bad window size %s\n", argv[3]);
        return 1;
    }
    return rewrite_model("window", argv[1], argv[2], 0, (uint32_t)b);
}

static int train_main(int argc, char **argv);

int main(int argc, char **argv)
{
    if (mt_dist_init(&argc, &argv))
        return 1;
    int rc;
    if (argc > 1 && (!strcmp(argv[1], "export") || !strcmp(argv[1], "compact") ||
                     !strcmp(argv[1], "int8-act") || !strcmp(argv[1], "window")))
        /* one process's work: under mpirun, rank 0 does it */
        rc = mt_dist_rank()                  ? 0
             : !strcmp(argv[1], "export")    ? cmd_export(argc - 1, argv + 1)
             : !strcmp(argv[1], "int8-act")  ? cmd_int8_act(argc - 1, argv + 1)
             : !strcmp(argv[1], "window")    ? cmd_window(argc - 1, argv + 1)
                                             : cmd_compact(argc - 1, argv + 1);
    else
        rc = train_main(argc, argv);
    mt_dist_finish(rc);
    return rc;
}

/* Training (data-parallel over MPI ranks in mbtrain-mpi: dist.c says how). */
static int train_main(int argc, char **argv)
{
    mt_config c;
    memset(&c, 0, sizeof c);
    c.hp.patch = 8; c.hp.d_emb = 32; c.hp.g_layers = 4; c.hp.g_heads = 4; c.hp.g_ff = 1024;
    c.hp.l_dim = 128; c.hp.l_layers = 2; c.hp.l_heads = 2; c.hp.l_ff = 512;
    long ctx = 8192;
    c.batch = 4; c.steps = 0; c.lr = 1e-3; c.lr_min = -1; c.warmup = 200; c.wd = 0.1;
    c.clip = 1.0; c.beta1 = 0.9; c.beta2 = 0.95; c.adam_eps = 1e-8; c.seed = 1;
    c.holdout = 0.02; c.eval_windows = 16;
    double bytes = 0, ckpt_minutes = 0;
    const char *blas_core = NULL;
    int threads = 1, quiet = 0, check_only = 0, drop = 0, no_def = 0, set_sched = 0;
    int64_t ckpt_every = 500, eval_every = 250, log_every = 10, stop_at = 0;
    const char *ckpt = "mbtrain.ckpt", *resume = NULL, *init = NULL, *out = NULL;
    char *excl[64];
    int n_excl = 0;

    int o;
    while ((o = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
        const char *name = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
        while (*name == '-') name++;
        switch (o) {
        case O_PATCH: c.hp.patch = (uint32_t)num_arg("patch", optarg, 1, 64); break;
        case O_DEMB: c.hp.d_emb = (uint32_t)num_arg("d-emb", optarg, 1, 2048); break;
        case O_GL: c.hp.g_layers = (uint32_t)num_arg("g-layers", optarg, 1, MT_MAX_LAYERS); break;
        case O_GH: c.hp.g_heads = (uint32_t)num_arg("g-heads", optarg, 1, 256); break;
        case O_GFF: c.hp.g_ff = (uint32_t)num_arg("g-ff", optarg, 1, 2048); break;
        case O_LD: c.hp.l_dim = (uint32_t)num_arg("l-dim", optarg, 1, 2048); break;
        case O_LL: c.hp.l_layers = (uint32_t)num_arg("l-layers", optarg, 1, MT_MAX_LAYERS); break;
        case O_LH: c.hp.l_heads = (uint32_t)num_arg("l-heads", optarg, 1, 256); break;
        case O_LFF: c.hp.l_ff = (uint32_t)num_arg("l-ff", optarg, 1, 2048); break;
        case O_CONV: c.hp.options |= MBZM_OPT_CONV_ENCODER; break;
        case O_CTX: ctx = (long)num_arg("ctx", optarg, 1, 65536.0 * 64); break;
        case O_CROSS:   /* <= patch: mt_check_hparams */
            c.hp.options |= MBZM_OPT_CROSS_PATCH;
            c.hp.cross_r = (uint32_t)num_arg("cross-patch", optarg, 1, 64);
            break;
        case O_BATCH: c.batch = (int)num_arg("batch", optarg, 1, 4096); break;
        case O_STEPS: c.steps = (int64_t)num_arg("steps", optarg, 1, 1e12); set_sched |= 1; break;
        case O_BYTES: bytes = num_arg("bytes", optarg, 1, 1e18); set_sched |= 2; break;
        case O_LR: c.lr = num_arg("lr", optarg, 0, 10); set_sched |= 4; break;
        case O_LRMIN: c.lr_min = num_arg("lr-min", optarg, 0, 10); set_sched |= 8; break;
        case O_WARMUP: c.warmup = (int64_t)num_arg("warmup", optarg, 0, 1e12); set_sched |= 16; break;
        case O_WD: c.wd = num_arg("wd", optarg, 0, 10); set_sched |= 32; break;
        case O_CLIP: c.clip = num_arg("clip", optarg, 0, 1e9); set_sched |= 64; break;
        case O_SEED: c.seed = (uint64_t)num_arg("seed", optarg, 0, 1.8e19); break;
        case O_HOLD: c.holdout = num_arg("holdout", optarg, 0, 0.5); break;
        case O_THREADS: threads = (int)num_arg("threads", optarg, 1, 1024); break;
        case O_CKPT: ckpt = optarg; break;
        case O_CKPT_EVERY: ckpt_every = (int64_t)num_arg("ckpt-every", optarg, 0, 1e12); break;
        case O_CKPT_MIN: ckpt_minutes = num_arg("ckpt-minutes", optarg, 0, 1e6); break;
        case O_EVAL_EVERY: eval_every = (int64_t)num_arg("eval-every", optarg, 0, 1e12); break;
        case O_EVAL_WIN: c.eval_windows = (int)num_arg("eval-windows", optarg, 1, 1e6); break;
        case O_LOG_EVERY: log_every = (int64_t)num_arg("log-every", optarg, 1, 1e12); break;
        case O_RESUME: resume = optarg; break;
        case O_INIT: init = optarg; break;
        case O_OUT: out = optarg; break;
        case O_EXCL: if (n_excl < 60) excl[n_excl++] = optarg; break;
        case O_CHECK: check_only = 1; break;
        case O_DROP: drop = 1; break;
        case O_NODEF: no_def = 1; break;
        case O_STOP: stop_at = (int64_t)num_arg("stop-at", optarg, 1, 1e12); break;
        case O_QUIET: quiet = 1; break;
        case O_BLAS: blas_core = optarg; break;
        case O_LAG:
            c.hp.global_lag = (uint32_t)num_arg("global-lag", optarg, 1, MBZM_MAX_LAG);
            if (c.hp.global_lag > 1) {
                c.hp.options |= MBZM_OPT_GLOBAL_LAG;
            } else {
                c.hp.global_lag = 0;
                c.hp.options &= ~MBZM_OPT_GLOBAL_LAG;
            }
            break;
        case O_PREV: c.hp.options |= MBZM_OPT_PREV_PATCH; break;
        case O_HELP: case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "mbtrain: no training data given\n");
        usage(stderr);
        return 1;
    }
    if (resume && init) {
        fprintf(stderr, "mbtrain: --resume continues a run, --init starts a new one from a model: give one\n");
        return 1;
    }
    const int rank = mt_dist_rank(), ranks = mt_dist_size();
    if (rank)
        quiet = 1; /* rank 0 reports for all */
    if (mt_blas_choose(blas_core, argv, quiet))
        return 1;
    openblas_set_num_threads(threads);

    mt_state s;
    memset(&s, 0, sizeof s);
    char err[512];
    if (init) {
        /* Fine-tuning: the model (shape and weights) and the batch come from the
         * checkpoint; the run is new. A short schedule with a small learning rate
         * moves a trained model towards DATA without forgetting what it knows. */
        if (mt_ckpt_load(init, &s, 1, err, sizeof err)) {
            fprintf(stderr, "mbtrain: %s\n", err);
            return 1;
        }
        mt_config given = c;
        c = s.cfg;
        c.lr = (set_sched & 4) ? given.lr : 2e-4;
        c.lr_min = (set_sched & 8) ? given.lr_min : c.lr / 10;
        c.warmup = (set_sched & 16) ? given.warmup : 20;
        c.wd = given.wd;
        c.clip = given.clip;
        c.seed = given.seed;
        c.holdout = given.holdout;
        c.eval_windows = given.eval_windows;
        c.steps = (set_sched & 1) ? given.steps
                  : (set_sched & 2) ? steps_for_bytes(&c, bytes)
                  : 0; /* one pass over DATA, once it is loaded */
        s.step = 0;
        memset(s.m, 0, s.model.n_params * sizeof *s.m);
        memset(s.v, 0, s.model.n_params * sizeof *s.v);
        mt_rng_seed(&s.rng, c.seed ^ 0x5DEECE66Dull);
        s.cfg = c;
    } else if (resume) {
        /* the run's configuration comes from the checkpoint; only the run options
         * (threads, intervals, paths) come from the command line */
        if (mt_ckpt_load(resume, &s, 1, err, sizeof err)) {
            fprintf(stderr, "mbtrain: %s\n", err);
            return 1;
        }
        /* ... except the schedule, which may be changed on purpose (to stretch or
         * shorten a run, or to lower the learning rate after a divergence); the
         * continuation is then no longer exact, and we say so */
        mt_config given = c;
        c = s.cfg;
        if (set_sched) {
            if (set_sched & 1) c.steps = given.steps;
            if (set_sched & 2) c.steps = steps_for_bytes(&c, bytes);
            if (set_sched & 4) c.lr = given.lr;
            if (set_sched & 8) c.lr_min = given.lr_min;
            if (set_sched & 16) c.warmup = given.warmup;
            if (set_sched & 32) c.wd = given.wd;
            if (set_sched & 64) c.clip = given.clip;
            if ((set_sched & 4) && !(set_sched & 8)) c.lr_min = c.lr / 10;
            s.cfg = c;
            if (!quiet) fprintf(stderr, "mbtrain: note: schedule options changed on resume; the run is no longer an exact continuation\n");
        }
    } else {
        if (ctx % c.hp.patch) {
            fprintf(stderr, "mbtrain: --ctx (%ld) must be a multiple of --patch (%u)\n", ctx, c.hp.patch);
            return 1;
        }
        c.hp.ctx_patches = (uint32_t)(ctx / c.hp.patch);
        if (mt_check_hparams(&c.hp, err, sizeof err)) {
            fprintf(stderr, "mbtrain: bad model shape: %s\n", err);
            return 1;
        }
        if (c.lr_min < 0) c.lr_min = c.lr / 10;
        if (!c.steps) {
            double per_step = (double)c.batch * ctx;
            c.steps = bytes > 0 ? (int64_t)ceil(bytes / per_step) : 10000;
        }
    }
    size_t T = (size_t)c.hp.ctx_patches * c.hp.patch;
    if (c.batch % ranks) {
        fprintf(stderr, "mbtrain: the batch (%d windows) must be a multiple of the number of ranks (%d)\n",
                c.batch, ranks);
        return 1;
    }
    const int local_batch = c.batch / ranks; /* this rank's share of every batch */

    if (!no_def) n_excl = default_excludes(excl, n_excl);
    mt_excl *ex = mt_excl_build(excl, n_excl, !quiet);
    mt_data data;
    double t0 = now_s();
    int rc = mt_data_load(&data, argv + optind, argc - optind, c.holdout, ex, drop, !quiet);
    if (!quiet)
        fprintf(stderr, "mbtrain: %zu files (%zu dropped): %zu training bytes, %zu held out; checked against %zu benchmark files (%.1fs)\n",
                data.n_files, data.n_dropped, data.train.len, data.held.len, mt_excl_count(ex), now_s() - t0);
    mt_excl_free(ex);
    if (rc) return 1;
    if (check_only || data.train.len < T) {
        if (!check_only)
            fprintf(stderr, "mbtrain: not enough training data (%zu bytes) for one window of %zu bytes\n",
                    data.train.len, T);
        mt_data_free(&data);
        if (resume || init) { mt_model_free(&s.model); free(s.m); free(s.v); }
        return check_only ? 0 : 1;
    }
    if (init && !c.steps) {
        c.steps = steps_for_bytes(&c, (double)data.train.len);
        c.steps = c.steps < 20 ? 20 : c.steps > 5000 ? 5000 : c.steps;
        s.cfg.steps = c.steps;
    }
    uint64_t dh = XXH64(data.train.buf, data.train.len, 0);

    if (resume) {
        if (dh != s.data_hash)
            fprintf(stderr, "mbtrain: warning: the training data differ from the checkpoint's; the run will not be identical\n");
    } else if (!init) { /* --init loaded the model and reset the optimizer above */
        s.cfg = c;
        if (mt_model_init(&s.model, &c.hp, c.batch)) return 1;
        mt_model_init_params(&s.model, c.seed);
        s.m = calloc(s.model.n_params, sizeof(mt_real));
        s.v = calloc(s.model.n_params, sizeof(mt_real));
        if (!s.m || !s.v) { fprintf(stderr, "mbtrain: out of memory\n"); return 1; }
        mt_rng_seed(&s.rng, c.seed ^ 0x5DEECE66Dull);
    }
    s.data_hash = dh;
    mt_model *m = &s.model;
    if (!quiet) {
        fprintf(stderr,
                "mbtrain: P=%u D_E=%u (D_G=%u)%s global %ux%u heads ff %u | local D_L=%u %ux%u heads ff %u | ctx %zu bytes\n",
                c.hp.patch, c.hp.d_emb, m->DG,
                c.hp.options & MBZM_OPT_CONV_ENCODER ? " conv encoder (3, 5, 7)," : "",
                c.hp.g_layers, c.hp.g_heads, c.hp.g_ff, c.hp.l_dim,
                c.hp.l_layers, c.hp.l_heads, c.hp.l_ff, T);
        if (c.hp.options & MBZM_OPT_CROSS_PATCH)
            fprintf(stderr, "mbtrain: cross-patch local attention: r = %u bytes of the previous patch\n",
                    c.hp.cross_r);
        if (m->LAG > 1)
            fprintf(stderr, "mbtrain: global lag %d: patch k's global input is patch k-%d\n", m->LAG, m->LAG);
        if (m->PREV)
            fprintf(stderr, "mbtrain: the local input gets the previous patch's byte embeddings, projected\n");
        fprintf(stderr, "mbtrain: %zu parameters; batch %d x %zu bytes; %lld steps (%.3g bytes); lr %g -> %g, warmup %lld, wd %g, clip %g, seed %llu, %d thread%s\n",
                m->n_params, c.batch, T, (long long)c.steps, (double)c.steps * c.batch * T, c.lr,
                c.lr_min, (long long)c.warmup, c.wd, c.clip, (unsigned long long)c.seed, threads,
                threads == 1 ? "" : "s");
        if (ranks > 1)
            fprintf(stderr, "mbtrain: %d MPI ranks, %d window%s of each batch per rank\n", ranks, local_batch,
                    local_batch == 1 ? "" : "s");
        if (resume) fprintf(stderr, "mbtrain: resuming from %s at step %lld\n", resume, (long long)s.step);
        if (init) fprintf(stderr, "mbtrain: fine-tuning the model of %s (new schedule from step 0)\n", init);
    }

    uint8_t *x = malloc((size_t)c.batch * T);
    if (!x) { fprintf(stderr, "mbtrain: out of memory\n"); return 1; }
    double start = now_s(), last_ckpt = start, last_log = start;
    int64_t first_step = s.step, log_steps = 0;
    double log_loss = 0;
    int64_t end = stop_at && stop_at < c.steps ? stop_at : c.steps;
    while (s.step < end) {
        /* every rank draws the same batch and trains on its share */
        mt_data_batch(&data, &s.rng, x, c.batch, (int)T);
        double loss = mt_forward(m, x + (size_t)rank * local_batch * T, local_batch);
        mt_backward(m);
        mt_dist_mean(m->grads, m->n_params);
        loss = mt_dist_mean1(loss);
        double lr = lr_at(&c, s.step);
        double gnorm = adamw_step(&s, lr);
        s.step++;
        if (!isfinite(loss) || !isfinite(gnorm)) {
            fprintf(stderr, "mbtrain: step %lld: loss or gradient is not finite; stopping (resume from the last checkpoint with a lower --lr)\n",
                    (long long)s.step);
            return 1;
        }
        log_loss += loss;
        log_steps++;
        double t = now_s();
        if (!quiet && (s.step % log_every == 0 || s.step == c.steps)) {
            double rate = (double)(s.step - first_step) * c.batch * T / (t - start);
            char el[32], eta[32];
            fmt_dur(el, sizeof el, t - start);
            fmt_dur(eta, sizeof eta, (double)(c.steps - s.step) * c.batch * T / rate);
            printf("step %lld/%lld | loss %.4f bpb | lr %.2e | gnorm %.3f | %.0f B/s | %.2fs/step | elapsed %s | ETA %s\n",
                   (long long)s.step, (long long)c.steps, log_loss / log_steps / log(2.0), lr, gnorm,
                   rate, (t - last_log) / log_steps, el, eta);
            fflush(stdout);
            log_loss = 0;
            log_steps = 0;
            last_log = t;
        }
        if (rank == 0 && eval_every && (s.step % eval_every == 0 || s.step == c.steps) && data.held.len) {
            double bpb = mt_eval_bpb(m, &data, c.eval_windows);
            if (!quiet) {
                printf("eval step %lld | held-out %.4f bpb (%d windows of %zu bytes)\n", (long long)s.step,
                       bpb, c.eval_windows, T);
                fflush(stdout);
            }
        }
        /* rank 0's clock decides, so that all ranks meet in the weight check */
        if (mt_dist_bcast_int((ckpt_every && s.step % ckpt_every == 0) ||
                              (ckpt_minutes > 0 && now_s() - last_ckpt >= ckpt_minutes * 60) || s.step == end)) {
            if (!mt_dist_agree(XXH64(m->params, m->n_params * sizeof *m->params, 0))) {
                fprintf(stderr, "mbtrain: step %lld: the ranks' weights differ; stopping without a checkpoint\n",
                        (long long)s.step);
                return 1;
            }
            if (rank == 0 && mt_ckpt_save(ckpt, &s, err, sizeof err)) {
                fprintf(stderr, "mbtrain: %s\n", err);
                return 1;
            }
            last_ckpt = now_s();
            if (!quiet) {
                printf("checkpoint step %lld -> %s\n", (long long)s.step, ckpt);
                if (ranks > 1)
                    printf("ranks agree: the weights of all %d ranks are identical (xxh64 %016llx)\n", ranks,
                           (unsigned long long)XXH64(m->params, m->n_params * sizeof *m->params, 0));
                fflush(stdout);
            }
        }
    }
    free(x);
    mt_data_free(&data);
    int ret = 0;
    if (out && s.step == c.steps && rank == 0) {
        /* export from the final checkpoint (written above), calibrated on DATA */
        char *ex2[64];
        int n2 = 0;
        for (int i = 0; i < n_excl; i++) ex2[n2++] = excl[i];
        mt_model_free(m);
        free(s.m); free(s.v);
        ret = mt_export(ckpt, out, argv + optind, argc - optind, ex2, n2, 32, 0, !quiet) ? 1 : 0;
        return ret;
    }
    mt_model_free(m);
    free(s.m); free(s.v);
    return ret;
}
