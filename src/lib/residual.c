/*
 * residual.c - the shared tables of the error coder (residual.h).
 */
#include <pthread.h>
#include <stdlib.h>
#include "logistic.h"
#include "residual.h"

uint32_t mbz_res_rate[256];

static void rate_init(void)
{
    for (int n = 0; n < 256; n++)
        mbz_res_rate[n] = (uint32_t)((2u << 16) / (2u * (unsigned)n + 3u));
}

void mbz_res_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, rate_init);
}

void mbz_res_model_init(mbz_res_model *m)
{
    m->last_sign = 0;
    /* the probabilities, zero .. sign, are one run of mbz_res_prob */
    mbz_res_prob *p = &m->zero[0][0], *end = &m->sign[2][3] + 1;
    for (; p < end; p++) {
        p->fast = p->slow = 32768;
        p->n = 0;
    }
}

/* ------------------------------------------------------------------ mixed */

#define RESX_LR 8              /* dw = x * err * RESX_LR >> 14 */
#define RESX_W_MAX (65536 * 16)
#define RESX_LIMIT 255         /* the counters' count limit */

int mbz_resx_init(mbz_resx *x, int n, const uint32_t *rows)
{
    mbz_logistic_init();
    int rc = 0;
    x->n = n;
    for (int i = 0; i < MBZ_RESX_CTX; i++) {
        x->t[i] = i < n ? calloc((size_t)rows[i] * MBZ_RESX_NODES, sizeof *x->t[i]) : NULL;
        if (i < n && !x->t[i])
            rc = -2;
    }
    /* start as the plain coder's probability, the others a little */
    for (int j = 0; j < MBZ_RESX_SETS; j++)
        for (int i = 0; i < MBZ_RESX_IN; i++)
            x->w[j][i] = i == 0 ? 65536 : i <= n ? 20000 : 0;
    return rc;
}

void mbz_resx_free(mbz_resx *x)
{
    for (int i = 0; i < MBZ_RESX_CTX; i++)
        free(x->t[i]);
}

/* One decision: `node` its column in the tables, `kind` (0 .. 28) with k1 its mixer
 * weights; p0 the plain coder's probability, which learns as there. */
static int resx_bit(mbz_res_coder *c, mbz_resx *x, mbz_res_prob *p0, int node, int kind, int k1,
                    const uint32_t *ctx, int bit)
{
    uint32_t *t[MBZ_RESX_CTX];
    int32_t in[MBZ_RESX_IN];
    int q0 = (int)(mbz_res_prob_p(p0) >> 4);     /* 2 .. 4094 */
    int nt = x->n, nin = nt + 2;
    in[0] = mbz_stretch(q0);
    for (int i = 0; i < nt; i++) {
        t[i] = &x->t[i][(size_t)ctx[i] * MBZ_RESX_NODES + (size_t)node];
        in[1 + i] = mbz_stretch(mbz_ctr_p12(*t[i]));
    }
    in[nin - 1] = 256;
    int32_t *w = x->w[kind * MBZ_RES_K1 + k1];
    int64_t d = 0;
    for (int i = 0; i < nin; i++)
        d += (int64_t)in[i] * w[i];
    d >>= 16;
    int p = mbz_squash(d > 2047 ? 2047 : d < -2047 ? -2047 : (int)d);
    uint32_t p16 = (uint32_t)p * 16;
    bit = mbz_res_bit(c, bit, p16 < 32 ? 32 : p16 > 65504 ? 65504 : p16);
    int err = (bit << 12) - p;
    for (int i = 0; i < nin; i++) {
        int32_t v = w[i] + ((in[i] * err * RESX_LR) >> 14);
        w[i] = v > RESX_W_MAX ? RESX_W_MAX : v < -RESX_W_MAX ? -RESX_W_MAX : v;
    }
    for (int i = 0; i < nt; i++)
        mbz_ctr_update(t[i], bit, RESX_LIMIT, 0);
    mbz_res_learn(p0, bit);
    return bit;
}

/* mbz_res_code's decisions, in its order. Columns: zero 0, length j at j (1 .. 25),
 * the two bits below the leading one at 32 + 4 L + (bits so far & 3), the others at
 * 160 + 26 L + b, the sign at 900 + 4 last_sign + min(k1, 3). */
int32_t mbz_resx_code(mbz_res_coder *c, mbz_resx *x, mbz_res_model *m, int k1, int k2,
                      const uint32_t *ctx, int32_t e)
{
    uint32_t u = e < 0 ? (uint32_t)-(int64_t)e : (uint32_t)e;
    if (resx_bit(c, x, &m->zero[k1][k2], 0, 0, k1, ctx, u == 0)) {
        u = 0;
    } else {
        int L = c->decoding ? 0 : mbz_res_log2(u) + 1;   /* 1 .. LMAX */
        int j = 1;
        while (j < MBZ_RES_LMAX && resx_bit(c, x, &m->len[k1][j], j, j, k1, ctx, L > j))
            j++;
        L = j;
        uint32_t v = 1;
        for (int b = L - 2; b >= 0; b--) {
            int want = (int)(u >> b) & 1, top = L - 2 - b < 2;
            mbz_res_prob *p = top ? &m->mant[L][v & 3] : &m->low[L][b];
            int node = top ? 32 + 4 * L + (int)(v & 3) : 160 + 26 * L + b;
            v = (v << 1) | (uint32_t)resx_bit(c, x, p, node, top ? 26 : 27, k1, ctx, want);
        }
        u = v;
        int ks = k1 < 3 ? k1 : 3;
        int neg = resx_bit(c, x, &m->sign[m->last_sign][ks], 900 + 4 * m->last_sign + ks, 28, k1, ctx, e < 0);
        e = neg ? -(int32_t)u : (int32_t)u;
    }
    if (u == 0)
        e = 0;
    m->last_sign = e > 0 ? 1 : e < 0 ? 2 : 0;
    return e;
}
