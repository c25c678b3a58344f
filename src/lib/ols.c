/*
 * ols.c - adaptive least squares in integers (ols.h).
 *
 * Scale, so that no product or sum leaves 64 bits whatever the inputs: inputs and
 * targets are at most 2^25 (MBZ_OLS_IN_MAX: 24-bit samples with room), products
 * below 2^50, the running sums (means times 2^forget, forget <= 8) below 2^58. For
 * the factorisation they are shifted so that the largest is below 2^53 (the
 * precision of the square roots and quotients), where a positive semi-definite
 * matrix keeps every factor below 2^26.5; the factors are clamped to 2^27 (rounding
 * may leave the matrix a little indefinite), the intermediate sums to 2^30, the
 * weights (Q20) to 2^26. A pivot that is not positive ends the solve: the weights
 * stay as they were.
 *
 * The diagonal gets 256 (in units of the mean) plus 2^-16 of the largest
 * covariance: silence and pure tones, whose covariances are singular, stay
 * solvable (without the second term, generated 24-bit tones came out 30-90%
 * larger through the audio model).
 */
#include "ols.h"
#include "qmath.h"

static inline int64_t clamp_sym(int64_t x, int64_t lim)
{
    return mbz_clamp64(x, -lim, lim);
}

#define OLS_DELTA 256

/* v * 2^sh, sh of either sign (a right shift rounds towards minus infinity), with
 * |v * 2^sh| < 2^63 the caller's to ensure */
static inline int64_t scale(int64_t v, int sh)
{
    return sh >= 0 ? v * ((int64_t)1 << sh) : v >> -sh;
}

/* The weights from the sums: Cholesky, then two triangular solves. */
static void ols_solve(mbz_ols *o)
{
    int64_t m = 0;
    for (int i = 0; i < o->n; i++)
        for (int j = 0; j <= i; j++) {
            int64_t a = o->cov[i][j] < 0 ? -o->cov[i][j] : o->cov[i][j];
            m = a > m ? a : m;
        }
    int64_t delta = ((int64_t)OLS_DELTA << o->forget) + (m >> 16);  /* on the diagonal */
    m += delta;
    int lg = 0;
    while (lg < 62 && (m >> lg) > 1)
        lg++;
    int sh = 52 - lg;                 /* m < 2^(lg + 1): m 2^sh < 2^53 */
    int64_t L[MBZ_OLS_MAX][MBZ_OLS_MAX], z[MBZ_OLS_MAX], lim = (int64_t)1 << 53;
    for (int j = 0; j < o->n; j++) {
        int64_t d = scale(o->cov[j][j] + delta, sh);
        for (int k = 0; k < j; k++)
            d -= L[j][k] * L[j][k];
        if (d <= 0)
            return;
        L[j][j] = (int64_t)mbz_isqrt64((uint64_t)d);
        if (L[j][j] == 0)
            return;
        for (int i = j + 1; i < o->n; i++) {
            int64_t a = scale(o->cov[i][j], sh);
            for (int k = 0; k < j; k++)
                a -= L[i][k] * L[j][k];
            L[i][j] = clamp_sym(a / L[j][j], (int64_t)1 << 27);
        }
    }
    /* L z = b, then L^T w = z (w in Q20) */
    for (int i = 0; i < o->n; i++) {
        int64_t b = sh >= 0 ? scale(clamp_sym(o->cor[i], lim >> sh), sh) : clamp_sym(scale(o->cor[i], sh), lim);
        for (int k = 0; k < i; k++)
            b -= L[i][k] * z[k];
        z[i] = clamp_sym(b / L[i][i], (int64_t)1 << 30);
    }
    int64_t w[MBZ_OLS_MAX];
    for (int i = o->n - 1; i >= 0; i--) {
        int64_t a = z[i] * ((int64_t)1 << MBZ_OLS_WQ);
        for (int k = i + 1; k < o->n; k++)
            a -= L[k][i] * w[k];
        w[i] = clamp_sym(a / L[i][i], (int64_t)1 << 26);
    }
    for (int i = 0; i < o->n; i++)
        o->w[i] = (int32_t)w[i];
}

void mbz_ols_init(mbz_ols *o, int n, int every, int forget)
{
    for (int i = 0; i < MBZ_OLS_MAX; i++) {
        for (int j = 0; j < MBZ_OLS_MAX; j++)
            o->cov[i][j] = 0;
        o->cor[i] = 0;
        o->w[i] = 0;
    }
    o->n = n;
    o->every = every;
    o->forget = forget;
    o->count = 0;
}

void mbz_ols_learn(mbz_ols *o, const int32_t *x, int32_t y)
{
    for (int i = 0; i < o->n; i++) {
        for (int j = 0; j <= i; j++)
            o->cov[i][j] += (int64_t)x[i] * x[j] - (o->cov[i][j] >> o->forget);
        o->cor[i] += (int64_t)x[i] * y - (o->cor[i] >> o->forget);
    }
    if (++o->count == o->every) {
        o->count = 0;
        ols_solve(o);
    }
}
