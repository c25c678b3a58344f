/*
 * ols.h - adaptive ordinary least squares in integers (library-internal), shared by
 * the media models: audio.c (revision 2's first stage) and image.c (one of
 * revision 3's predictors).
 *
 * A predictor of y from n inputs x (n <= MBZ_OLS_MAX): the covariances of the
 * inputs and their correlations with y are running sums that lose 2^-forget of
 * themselves each time a new product is added (means over about 2^forget
 * samples, times 2^forget: kept as sums so that rounding leaves the matrix
 * positive definite); every `every` samples the weights are solved from them by
 * a Cholesky factorisation. Where NLMS walks towards the least-squares weights a
 * step per sample, this finds them (paq8px's strongest audio and image
 * predictors, in their published descriptions, do this in floating point).
 *
 * Integers only, with defined rounding: inputs and targets are clamped by the
 * caller to MBZ_OLS_IN_MAX, and ols.c keeps every product and sum inside 64 bits
 * whatever they are (it says how).
 */
#ifndef MBZ_OLS_H
#define MBZ_OLS_H

#include <stdint.h>

#define MBZ_OLS_MAX 16
#define MBZ_OLS_IN_MAX (1 << 25)   /* |x_i|, |y| at most this */
#define MBZ_OLS_WQ 20              /* the weights' fraction bits */

typedef struct {
    int64_t cov[MBZ_OLS_MAX][MBZ_OLS_MAX];  /* lower triangle: sums of x_i x_j */
    int64_t cor[MBZ_OLS_MAX];               /* sums of x_i y */
    int32_t w[MBZ_OLS_MAX];                 /* Q20 */
    int n, every, forget, count;
} mbz_ols;

/* No history, weights zero: n inputs, solved every `every` samples, sums losing
 * 2^-forget of themselves per sample (forget 1 .. 8). */
void mbz_ols_init(mbz_ols *o, int n, int every, int forget);

/* The prediction from inputs x[0 .. n-1], rounded down: |result| < 2^50. */
static inline int64_t mbz_ols_predict(const mbz_ols *o, const int32_t *x)
{
    int64_t s = 0;
    for (int i = 0; i < o->n; i++)
        s += (int64_t)o->w[i] * x[i];
    return s >> MBZ_OLS_WQ;
}

/* The inputs x were followed by y: learn, and solve when it is time. */
void mbz_ols_learn(mbz_ols *o, const int32_t *x, int32_t y);

#endif
