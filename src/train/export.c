/*
 * export.c - quantize a float checkpoint into an integer model file
 * (doc/model-format.md §2, §3) and compare float and integer bits per byte.
 *
 * Scales:
 *   residual stream            1/4096 (embeddings, and outputs of o, down, gl, l.prev, g.conv.*)
 *   RMSNorm output             1/1024 (the inputs of qkv, up, gl, head); the gains are
 *                              folded into the weights of the layer that follows; also
 *                              the input of l.prev (byte embeddings, not normalized)
 *   q, k (±2047), v (±8191),   per layer, calibrated: max |activation| seen by the float
 *   MLP hidden ([0, 8191])     model on held-out windows / clamp value
 *   attention output           s_v (a convex combination of v rows)
 *   head output                log2 units Q8: 1/(256·log2 e) nats
 *   weights                    int8, per output row: s_w[o] = max|W[o][·]| / 127
 * A linear layer then needs, per output o, M = s_in·s_w[o] / s_out = m·2^-s and the
 * bias b[o] / (s_in·s_w[o]) as int32; the attention logit needs s_q·s_k·log2(e)·256 /
 * sqrt(d) as (att_m, att_s).
 */
#include "config.h"
#include "train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "mbz.h"
#include "megabyte.h"
#include "predictor.h"

/* ------------------------------------------------------------------ tensor list */

typedef struct {
    char name[MBZM_NAME_LEN];
    uint32_t dtype, rows, cols;
    void *data;
} qtensor;

typedef struct {
    qtensor t[MBZM_MAX_TENSORS];
    int n;
    int err;
} qlist;

static void *qalloc(qlist *L, const char *name, uint32_t dtype, uint32_t rows, uint32_t cols)
{
    if (L->n >= MBZM_MAX_TENSORS) { L->err = 1; return NULL; }
    size_t el = dtype == MBZM_I8 ? 1 : dtype == MBZM_I16 ? 2 : 4;
    size_t len = strlen(name);
    if (len >= MBZM_NAME_LEN) { L->err = 1; return NULL; } /* names are short by construction */
    qtensor *t = &L->t[L->n++];
    memcpy(t->name, name, len + 1);
    t->dtype = dtype; t->rows = rows; t->cols = cols;
    size_t cnt = (size_t)rows * cols;
    t->data = calloc(cnt ? cnt : 1, el);
    if (!t->data) L->err = 1;
    return t->data;
}

/* Multiplier and shift with m·2^-s ≈ M, m in [0, 2^31), s in [1, 62], m as large as
 * possible (most precise). */
static void mult_shift(double M, int32_t *m, int32_t *s)
{
    if (!(M > 0)) { *m = 0; *s = 1; return; }
    int e;
    frexp(M, &e);                 /* M = f·2^e, f in [0.5, 1) */
    int sh = 31 - e;              /* M·2^sh in [2^30, 2^31) */
    if (sh > 62) sh = 62;
    if (sh < 1) sh = 1;
    double v = nearbyint(ldexp(M, sh));
    if (v >= 2147483648.0) {
        if (sh > 1) { sh--; v = nearbyint(ldexp(M, sh)); }
        if (v >= 2147483648.0) v = 2147483647.0;
    }
    *m = (int32_t)v;
    *s = sh;
}

static int32_t clamp_i32(double v, double lim)
{
    if (v > lim) v = lim;
    if (v < -lim) v = -lim;
    return (int32_t)nearbyint(v);
}

static int n_clipped_bias;

/* Linear group X.w/.b/.m/.s from W (O, I) float, bias (O) or NULL, input gain (I) or
 * NULL (folded: W'[o][i] = W[o][i]·g[i]), input scale s_in and per-output scale
 * s_out[o]. */
static void quant_linear(qlist *L, const char *prefix, const mt_real *W, const mt_real *bias,
                         const mt_real *gain, int O, int I, double s_in, const double *s_out)
{
    char n[64];
    snprintf(n, sizeof n, "%s.w", prefix);
    int8_t *w = qalloc(L, n, MBZM_I8, (uint32_t)O, (uint32_t)I);
    snprintf(n, sizeof n, "%s.b", prefix);
    int32_t *b = qalloc(L, n, MBZM_I32, 1, (uint32_t)O);
    snprintf(n, sizeof n, "%s.m", prefix);
    int32_t *mm = qalloc(L, n, MBZM_I32, 1, (uint32_t)O);
    snprintf(n, sizeof n, "%s.s", prefix);
    int32_t *ss = qalloc(L, n, MBZM_I32, 1, (uint32_t)O);
    if (!w || !b || !mm || !ss) return;
    for (int o = 0; o < O; o++) {
        double mx = 0;
        for (int i = 0; i < I; i++) {
            double v = fabs((double)W[(size_t)o * I + i] * (gain ? gain[i] : 1.0));
            if (v > mx) mx = v;
        }
        double sw = mx > 0 ? mx / 127.0 : 1.0;
        for (int i = 0; i < I; i++) {
            double v = (double)W[(size_t)o * I + i] * (gain ? gain[i] : 1.0) / sw;
            long q = lround(v);
            w[(size_t)o * I + i] = (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
        }
        double bi = bias ? (double)bias[o] / (s_in * sw) : 0.0;
        /* |b| <= 2^30 keeps acc + b inside int32 (|acc| < 2^31 by the D_in bound is the
         * engine's; a bias that large would saturate the output anyway) */
        if (fabs(bi) > 1073741824.0) n_clipped_bias++;
        b[o] = clamp_i32(bi, 1073741824.0);
        mult_shift(s_in * sw / s_out[o], &mm[o], &ss[o]);
    }
}

static void quant_emb(qlist *L, const char *name, const mt_real *x, int rows, int cols)
{
    int32_t *q = qalloc(L, name, MBZM_I32, (uint32_t)rows, (uint32_t)cols);
    if (!q) return;
    for (size_t i = 0; i < (size_t)rows * cols; i++)
        q[i] = clamp_i32((double)x[i] * (1 << MBZM_RES_SHIFT), (double)MBZM_RES_CLAMP);
}

/* The convolutional patch encoder: g.conv.{j}, like gl (input: RMSNorm output with the
 * gain folded in, repeated for each of the k taps; output: residual stream). */
static void quant_conv(qlist *L, const mt_params *p, int DE)
{
    double so[2048];
    mt_real gain[2048];
    for (int o = 0; o < DE; o++) so[o] = 1.0 / (1 << MBZM_RES_SHIFT);
    for (int j = 0; j < MBZM_CONV_LAYERS; j++) {
        int k = MBZM_CONV_KERNEL(j);
        char n[32];
        for (int i = 0; i < k * DE; i++) gain[i] = p->cg[j][i % DE];
        snprintf(n, sizeof n, "g.conv.%d", j);
        quant_linear(L, n, p->cw[j], p->cb[j], gain, DE, k * DE, 1.0 / MBZM_NORM_ONE, so);
    }
}

/* ------------------------------------------------------------------ calibration */

typedef struct {
    double q, k, v, h; /* max |.| over the calibration windows */
} layer_stats;

static void scan_layer(layer_stats *st, const mt_block_acts *a, size_t N, int D, int F)
{
    for (size_t n = 0; n < N; n++) {
        const mt_real *r = a->qkv + n * 3 * D;
        for (int c = 0; c < D; c++) {
            double q = fabs(r[c]), k = fabs(r[D + c]), v = fabs(r[2 * D + c]);
            if (q > st->q) st->q = q;
            if (k > st->k) st->k = k;
            if (v > st->v) st->v = v;
        }
        const mt_real *h = a->fcr + n * F;
        for (int c = 0; c < F; c++) if (h[c] > st->h) st->h = h[c];
    }
}

static double safe_scale(double mx, double clampv) { return mx > 0 ? mx / clampv : 1.0 / clampv; }

static void quant_layers(qlist *L, char pfx, const mt_block *blk, const layer_stats *st,
                         int layers, int D, int H, int F)
{
    const double s_norm = 1.0 / MBZM_NORM_ONE, s_res = 1.0 / (1 << MBZM_RES_SHIFT);
    double *so = malloc(sizeof(double) * (size_t)(3 * D > F ? 3 * D : F) + sizeof(double) * D);
    if (!so) { L->err = 1; return; }
    int d = D / H;
    for (int l = 0; l < layers; l++) {
        const mt_block *p = &blk[l];
        double sq = safe_scale(st[l].q, MBZM_QK_CLAMP), sk = safe_scale(st[l].k, MBZM_QK_CLAMP);
        double sv = safe_scale(st[l].v, MBZM_ACT_CLAMP), sh = safe_scale(st[l].h, MBZM_ACT_CLAMP);
        char n[64];
        for (int o = 0; o < D; o++) { so[o] = sq; so[D + o] = sk; so[2 * D + o] = sv; }
        snprintf(n, sizeof n, "%c.%d.qkv", pfx, l);
        quant_linear(L, n, p->wqkv, p->bqkv, p->g1, 3 * D, D, s_norm, so);
        snprintf(n, sizeof n, "%c.%d.att", pfx, l);
        int32_t *att = qalloc(L, n, MBZM_I32, 1, (uint32_t)(2 + H));
        if (att) {
            mult_shift(sq * sk * MT_LOG2E * 256.0 / sqrt((double)d), &att[0], &att[1]);
            for (int h = 0; h < H; h++) att[2 + h] = (int32_t)mt_alibi_q8(h, H);
        }
        for (int o = 0; o < D; o++) so[o] = s_res;
        snprintf(n, sizeof n, "%c.%d.o", pfx, l);
        quant_linear(L, n, p->wo, p->bo, NULL, D, D, sv, so);
        for (int o = 0; o < F; o++) so[o] = sh;
        snprintf(n, sizeof n, "%c.%d.up", pfx, l);
        quant_linear(L, n, p->w1, p->b1, p->g2, F, D, s_norm, so);
        for (int o = 0; o < D; o++) so[o] = s_res;
        snprintf(n, sizeof n, "%c.%d.down", pfx, l);
        quant_linear(L, n, p->w2, p->b2, NULL, D, F, sh, so);
    }
    free(so);
}

/* ------------------------------------------------------------------ ordering */

typedef struct {
    qlist *L;
    mbzm_tensor *out;
    int n, bad;
} order_ctx;

static void order_fn(void *user, const char *name, uint32_t dtype, uint32_t rows, uint32_t cols)
{
    order_ctx *c = user;
    for (int i = 0; i < c->L->n; i++) {
        qtensor *t = &c->L->t[i];
        if (strcmp(t->name, name)) continue;
        if (t->dtype != dtype || t->rows != rows || t->cols != cols) {
            fprintf(stderr, "mbtrain export: tensor %s: %ux%u dtype %u, the format wants %ux%u dtype %u\n",
                    name, t->rows, t->cols, t->dtype, rows, cols, dtype);
            c->bad = 1;
            return;
        }
        mbzm_tensor *o = &c->out[c->n++];
        memset(o, 0, sizeof *o);
        snprintf(o->name, sizeof o->name, "%s", name);
        o->dtype = dtype; o->rows = rows; o->cols = cols; o->data = t->data;
        return;
    }
    fprintf(stderr, "mbtrain export: tensor %s was not produced\n", name);
    c->bad = 1;
}

/* ------------------------------------------------------------------ integer evaluation */

typedef struct {
    const uint8_t *x;
    double bits;
} bits_sink;

static int sum_bits(void *user, size_t pos, size_t k, const uint16_t *freq)
{
    bits_sink *b = user;
    for (size_t j = 0; j < k; j++)
        b->bits -= log2(freq[j * 256 + b->x[pos + j]] / 65536.0);
    return MBZ_OK;
}

/* Bits per byte of the integer model (libmbz) over the same windows as the float
 * evaluation, each window coded as one block from an empty history. */
static double int_bpb(const uint8_t *file, size_t size, const mt_data *d, int n, int T, char *err,
                      size_t errlen)
{
    mbz_model *mdl = NULL;
    mbz_error e;
    memset(&e, 0, sizeof e);
    if (mbz_megabyte_create(file, size, &mdl, &e) != MBZ_OK) {
        snprintf(err, errlen, "the engine refuses the model: %s", e.msg);
        return NAN;
    }
    uint8_t *x = malloc((size_t)T);
    mbz_block_scratch scratch = { 0 };
    bits_sink bs = { x, 0 };
    int ok = x != NULL;
    for (int i = 0; ok && i < n; i++) {
        mt_data_eval_window(d, x, 2 * i, 2 * n, T);
        /* the block coder's own teacher-forced pass (block.c), as compression runs it */
        ok = mbz_block_score(mdl, x, (size_t)T, &scratch, NULL, sum_bits, &bs, "window", &e) == MBZ_OK;
    }
    double bits = bs.bits;
    free(x);
    mbz_block_scratch_free(&scratch);
    mbz_model_free(mdl);
    if (!ok) { snprintf(err, errlen, "the engine failed while scoring"); return NAN; }
    return bits / ((double)n * T);
}

/* ------------------------------------------------------------------ export */

int mt_export(const char *ckpt, const char *out, char *const *data, int n_data,
              char *const *excl_dirs, int n_excl, int eval_windows, int int8_act, int verbose)
{
    mt_state s;
    memset(&s, 0, sizeof s);
    char err[512];
    if (mt_ckpt_load(ckpt, &s, 1, err, sizeof err)) {
        fprintf(stderr, "mbtrain export: %s\n", err);
        return -1;
    }
    free(s.m); free(s.v);
    s.m = s.v = NULL;
    mt_model *m = &s.model;
    const mbzm_hparams *hp = &m->hp;
    int T = m->T, DG = m->DG, DL = m->DL;
    /* the file's hyperparameters: the model's, with int8 activations if asked (the
     * engine quantizes each linear layer's input rows; the weights are the same) */
    mbzm_hparams hpo = *hp;
    if (int8_act)
        hpo.options |= MBZM_OPT_INT8_ACT;

    mt_excl *ex = mt_excl_build(excl_dirs, n_excl, verbose);
    mt_data dd;
    int rc = mt_data_load(&dd, data, n_data, s.cfg.holdout, ex, 1, verbose);
    mt_excl_free(ex);
    if (rc) { mt_model_free(m); return -1; }
    if (!dd.held.len) {
        fprintf(stderr, "mbtrain export: no held-out data to calibrate on\n");
        mt_data_free(&dd); mt_model_free(m);
        return -1;
    }
    int n = eval_windows > 0 ? eval_windows : 1;

    /* calibration on the odd windows, float evaluation on the even ones */
    layer_stats gst[MT_MAX_LAYERS], lst[MT_MAX_LAYERS];
    memset(gst, 0, sizeof gst);
    memset(lst, 0, sizeof lst);
    uint8_t *x = malloc((size_t)m->B * T);
    if (!x) { fprintf(stderr, "mbtrain export: out of memory\n"); return -1; }
    double float_bpb = 0;
    for (int pass = 0; pass < 2; pass++) {
        double loss = 0;
        for (int done = 0; done < n;) {
            int b = n - done < m->B ? n - done : m->B;
            for (int i = 0; i < b; i++)
                mt_data_eval_window(&dd, x + (size_t)i * T, 2 * (done + i) + (pass == 0), 2 * n, T);
            loss += mt_forward(m, x, b) * b;
            if (pass == 0) {
                for (uint32_t l = 0; l < hp->g_layers; l++)
                    scan_layer(&gst[l], &m->a.g[l], (size_t)b * m->K, DG, (int)hp->g_ff);
                for (uint32_t l = 0; l < hp->l_layers; l++)
                    scan_layer(&lst[l], &m->a.l[l], (size_t)b * T, DL, (int)hp->l_ff);
            }
            done += b;
        }
        if (pass == 1) float_bpb = loss / n / log(2.0);
    }
    free(x);
    if (verbose)
        for (uint32_t l = 0; l < hp->g_layers + hp->l_layers; l++) {
            const layer_stats *st = l < hp->g_layers ? &gst[l] : &lst[l - hp->g_layers];
            fprintf(stderr, "mbtrain export: %s layer %u: max |q| %.3g |k| %.3g |v| %.3g hidden %.3g\n",
                    l < hp->g_layers ? "global" : "local",
                    l < hp->g_layers ? l : l - hp->g_layers, st->q, st->k, st->v, st->h);
        }

    /* quantize */
    qlist *L = calloc(1, sizeof *L);
    if (!L) { fprintf(stderr, "mbtrain export: out of memory\n"); return -1; }
    const mt_params *p = &m->p;
    n_clipped_bias = 0;
    quant_emb(L, "g.emb", p->gemb, 256, m->DE);
    quant_emb(L, "g.pad", p->gpad, 1, DG);
    if (hp->options & MBZM_OPT_CONV_ENCODER) quant_conv(L, p, m->DE);
    quant_layers(L, 'g', p->g, gst, (int)hp->g_layers, DG, (int)hp->g_heads, (int)hp->g_ff);
    double so[256 > 2048 ? 256 : 2048];
    for (int o = 0; o < DL; o++) so[o] = 1.0 / (1 << MBZM_RES_SHIFT);
    quant_linear(L, "gl", p->wgl, p->bgl, NULL, DL, m->DE, 1.0 / MBZM_NORM_ONE, so);
    if (m->PREV) {
        /* input: the embeddings g.emb at RMSNorm scale (doc/model-format.md §1.2) */
        quant_linear(L, "l.prev", m->params + m->prev_off, NULL, NULL, DL, DG, 1.0 / MBZM_NORM_ONE, so);
        double mx = 0;
        for (size_t i = 0; i < (size_t)256 * m->DE; i++) mx = fmax(mx, fabs((double)p->gemb[i]));
        if (mx * MBZM_NORM_ONE > MBZM_ACT_CLAMP)
            fprintf(stderr, "mbtrain export: warning: |g.emb| reaches %.3g, the previous-patch input is "
                            "clamped at %.3g\n", mx, (double)MBZM_ACT_CLAMP / MBZM_NORM_ONE);
    }
    quant_emb(L, "l.emb", p->lemb, 257, DL);
    quant_emb(L, "l.pos", p->lpos, m->P, DL);
    quant_layers(L, 'l', p->l, lst, (int)hp->l_layers, DL, (int)hp->l_heads, (int)hp->l_ff);
    for (int o = 0; o < 256; o++) so[o] = 1.0 / (256.0 * MT_LOG2E);
    quant_linear(L, "head", p->whead, p->bhead, p->gf, 256, DL, 1.0 / MBZM_NORM_ONE, so);
    if (n_clipped_bias)
        fprintf(stderr, "mbtrain export: warning: %d biases clipped to 2^30\n", n_clipped_bias);

    int ret = -1;
    mbzm_tensor *tt = calloc(MBZM_MAX_TENSORS, sizeof *tt);
    order_ctx oc = {L, tt, 0, 0};
    if (!L->err && tt) mbzm_for_each_tensor(hp, order_fn, &oc);
    if (L->err || !tt || oc.bad || oc.n != L->n) {
        fprintf(stderr, "mbtrain export: internal error building the tensor list\n");
        goto done;
    }
    if (mbzm_write_file(out, &hpo, tt, (uint32_t)oc.n, err, sizeof err) != MBZ_OK) {
        fprintf(stderr, "mbtrain export: %s\n", err);
        goto done;
    }
    uint8_t *img = NULL;
    size_t img_size = 0;
    if (mbzm_write_buffer(&hpo, tt, (uint32_t)oc.n, &img, &img_size) != MBZ_OK) {
        fprintf(stderr, "mbtrain export: cannot serialise the model\n");
        goto done;
    }
    printf("exported %s (%zu bytes, %d tensors) from %s at step %lld\n", out, img_size, oc.n, ckpt,
           (long long)s.step);
    double ib = eval_windows > 0 ? int_bpb(img, img_size, &dd, n, T, err, sizeof err) : NAN;
    free(img);
    if (eval_windows > 0 && isnan(ib)) {
        fprintf(stderr, "mbtrain export: integer evaluation failed: %s\n", err);
        goto done;
    }
    printf("held-out (%d windows of %d bytes): float %.4f bpb, integer %.4f bpb (%+.2f%%)\n", n, T,
           float_bpb, ib, 100.0 * (ib - float_bpb) / float_bpb);
    fflush(stdout);
    ret = 0;
done:
    for (int i = 0; i < L->n; i++) free(L->t[i].data);
    free(L);
    free(tt);
    mt_data_free(&dd);
    mt_model_free(m);
    return ret;
}
