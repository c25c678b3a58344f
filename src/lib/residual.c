/*
 * residual.c - the shared tables of the error coder (residual.h).
 */
#include <pthread.h>
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
