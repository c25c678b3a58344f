/*
 * gradcheck.c - finite-difference check of every parameter tensor's gradient of the
 * float MEGABYTE model in mbtrain (src/train/model.c), on a tiny model.
 *
 * Each tensor is checked three ways: the directional derivative along the gradient
 * itself (largest signal), along a random ±1 direction, and on the three elements with
 * the largest |gradient|. Both attention paths (loops and blocked GEMM) are checked,
 * a model with the convolutional patch encoder (MBZM_OPT_CONV_ENCODER), and a model
 * with cross-patch local attention (cross_r = 3 of P = 4; two windows, so a window's
 * first patch, without a previous patch, is covered too), and one with both options
 * (cross_r = 2), and the global lag (MBZM_OPT_GLOBAL_LAG, 2) with each, and with
 * the previous-patch projection (MBZM_OPT_PREV_PATCH).
 *
 * Built twice: with -DMT_DOUBLE (model.c in double precision) all three checks must
 * agree to 1e-5 relative; float32 central differences are too noisy element by
 * element (rounding of the loss / 2·eps), so the float build checks the direction of
 * the gradient only, to 1e-2: it catches float-only mistakes (a wrong cast or GEMM).
 */
#include "config.h"
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double loss_at(mt_model *m, const uint8_t *x, int B) { return mt_forward(m, x, B); }

/* relative error with a floor so that near-zero gradients do not blow up */
static double relerr(double a, double b, double floor)
{
    double d = fabs(a - b), s = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
    return d / (s > floor ? s : floor);
}

static int check(int gemm_min_s, double tol, uint32_t options, int cross_r, int lag, int prev)
{
    mbzm_hparams hp = {0};
    hp.patch = 4; hp.d_emb = 4; hp.g_layers = 2; hp.g_heads = 2; hp.g_ff = 24;
    hp.l_dim = 8; hp.l_layers = 2; hp.l_heads = 2; hp.l_ff = 12; hp.ctx_patches = 8;
    hp.options = options;
    if (cross_r) { hp.options |= MBZM_OPT_CROSS_PATCH; hp.cross_r = (uint32_t)cross_r; }
    if (lag > 1) { hp.options |= MBZM_OPT_GLOBAL_LAG; hp.global_lag = (uint32_t)lag; }
    if (prev) hp.options |= MBZM_OPT_PREV_PATCH;
    int B = 2;
    mt_model m;
    if (mt_model_init(&m, &hp, B)) return 1;
    mt_model_init_params(&m, 42);
    mt_att_gemm_min_s = gemm_min_s;
    /* nudge constant tensors (gains 1, biases 0) so their gradients are generic */
    mt_rng r;
    mt_rng_seed(&r, 7);
    for (size_t i = 0; i < m.n_params; i++) m.params[i] += (mt_real)(0.1 * mt_rng_normal(&r));

    uint8_t *x = malloc((size_t)B * m.T);
    for (int i = 0; i < B * m.T; i++) x[i] = (uint8_t)("the quick brown fox "[i % 20] + (i % 7 == 0));
    mt_forward(&m, x, B);
    mt_backward(&m);
    mt_real *g = malloc(m.n_params * sizeof(mt_real));
    memcpy(g, m.grads, m.n_params * sizeof(mt_real));
    mt_real *v = malloc(m.n_params * sizeof(mt_real));
    #ifdef MT_DOUBLE
    const double eps = 1e-5;
    const int kinds = 2, elems = 3;
#else
    const double eps = 1e-2;
    const int kinds = 1, elems = 0;
#endif
    int bad = 0;
    double worst = 0;
    printf("attention path: %s%s%s%s\n", gemm_min_s == 0 ? "sgemm (blocked)" : "loops",
           options & MBZM_OPT_CONV_ENCODER ? ", convolutional patch encoder" : "",
           cross_r ? ", cross-patch local attention" : "", lag > 1 ? ", global lag 2" : "");
    if (prev) printf("with the previous patch projected into the local input\n");
    printf("%-12s %10s %10s %10s %10s\n", "tensor", "|grad|", "dir(g)", "dir(rnd)", "elem");
    for (int ti = 0; ti < m.n_tensors; ti++) {
        const mt_tensor *t = &m.tensors[ti];
        size_t n = t->rows * t->cols;
        mt_real *w = m.params + t->off;
        const mt_real *gt = g + t->off;
        double gn = 0;
        for (size_t i = 0; i < n; i++) gn += (double)gt[i] * gt[i];
        gn = sqrt(gn);
        double err[3] = {0, 0, 0};
        for (int kind = 0; kind < kinds; kind++) {
            /* direction: the gradient (normalised) or random signs (normalised) */
            double an = 0;
            for (size_t i = 0; i < n; i++) {
                v[i] = kind == 0 ? (mt_real)(gt[i] / (gn > 0 ? gn : 1)) : (mt_real)((mt_rng_next(&r) & 1 ? 1.0 : -1.0) / sqrt((double)n));
                an += (double)v[i] * gt[i];
            }
            for (size_t i = 0; i < n; i++) w[i] += (mt_real)(eps * v[i]);
            double lp = loss_at(&m, x, B);
            for (size_t i = 0; i < n; i++) w[i] -= (mt_real)(2 * eps * v[i]);
            double lm = loss_at(&m, x, B);
            for (size_t i = 0; i < n; i++) w[i] += (mt_real)(eps * v[i]);
            double num = (lp - lm) / (2 * eps);
            err[kind] = relerr(an, num, kind == 0 ? 1e-6 : 0.05 * gn + 1e-6);
        }
        /* three largest elements */
        for (int rep = 0; rep < elems && rep < (int)n; rep++) {
            size_t best = 0;
            double bv = -1;
            for (size_t i = 0; i < n; i++) {
                double a = fabs(gt[i]);
                /* elements already checked are marked in v */
                if (v[i] != (mt_real)1e30 && a > bv) { bv = a; best = i; }
            }
            v[best] = (mt_real)1e30;
            mt_real keep = w[best];
            w[best] = keep + (mt_real)eps;
            double lp = loss_at(&m, x, B);
            w[best] = keep - (mt_real)eps;
            double lm = loss_at(&m, x, B);
            w[best] = keep;
            double num = (lp - lm) / (2 * eps);
            double e = relerr(gt[best], num, 0.05 * gn + 1e-6);
            if (e > err[2]) err[2] = e;
        }
        double mx = err[0] > err[1] ? err[0] : err[1];
        if (err[2] > mx) mx = err[2];
        if (mx > worst) worst = mx;
        int fail = !(mx < tol) || !(gn > 0);
        bad |= fail;
        printf("%-12s %10.3e %10.2e %10.2e %10.2e%s\n", t->name, gn, err[0], err[1], err[2],
               fail ? "  FAIL" : "");
    }
    printf("max relative error %.2e (tolerance %.0e)\n\n", worst, tol);
    free(x); free(g); free(v);
    mt_model_free(&m);
    return bad;
}

int main(void)
{
    int bad = 0;
#ifdef MT_DOUBLE
    const double tol = 1e-5;
    printf("double precision: directional and element-wise checks\n");
#else
    const double tol = 3e-2;
    printf("float32: directional check along the gradient\n");
#endif
    bad |= check(1 << 30, tol, 0, 0, 1, 0);
    bad |= check(0, tol, 0, 0, 1, 0);
    /* the convolutional patch encoder (g.conv.* tensors, and E_G through it) */
    bad |= check(1 << 30, tol, MBZM_OPT_CONV_ENCODER, 0, 1, 0);
    /* cross-patch local attention */
    bad |= check(1 << 30, tol, 0, 3, 1, 0);
    /* both options together */
    bad |= check(1 << 30, tol, MBZM_OPT_CONV_ENCODER, 2, 1, 0);
    /* the global lag (mbtrain --global-lag 2), with and without the encoder */
    bad |= check(1 << 30, tol, 0, 3, 2, 0);
    bad |= check(1 << 30, tol, MBZM_OPT_CONV_ENCODER, 0, 2, 0);
    /* and with the previous patch projected into the local input (--prev-patch) */
    bad |= check(1 << 30, tol, 0, 0, 2, 1);
    if (bad) printf("gradient check FAILED\n");
    return bad ? 1 : 0;
}
