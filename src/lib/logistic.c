/*
 * logistic.c - the tables of logistic.h: squash's points (our own table), stretch
 * (its inverse) and the counters' rates, made once.
 */
#include <pthread.h>
#include <stdlib.h>
#include "logistic.h"

const int mbz_squash_pts[33] = {
    1, 2, 4, 6, 10, 17, 27, 45, 74, 120, 194, 311, 488, 747, 1102, 1546, 2048,
    2550, 2994, 3349, 3608, 3785, 3902, 3976, 4022, 4051, 4069, 4079, 4086, 4090,
    4092, 4094, 4095
};

int16_t mbz_stretch_tab[4096];
uint32_t mbz_ctr_rate[1024];
uint16_t mbz_apm_ident[33];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void tables_make(void)
{
    int pi = 0;
    for (int d = -2047; d <= 2047; d++) {
        int v = mbz_squash(d);
        for (int j = pi; j <= v; j++)
            mbz_stretch_tab[j] = (int16_t)d;
        pi = v + 1;
    }
    for (int j = pi; j < 4096; j++)
        mbz_stretch_tab[j] = 2047;
    for (int n = 0; n < 1024; n++)
        mbz_ctr_rate[n] = (uint32_t)(131072u / (2u * (uint32_t)n + 3u));
    for (int j = 0; j < 33; j++) {
        int v = mbz_squash((j - 16) * 128) * 16;
        mbz_apm_ident[j] = (uint16_t)(v > 65535 ? 65535 : v);
    }
}

void mbz_logistic_init(void)
{
    pthread_once(&once, tables_make);
}

uint16_t *mbz_apm_new(size_t contexts)
{
    mbz_logistic_init();
    return calloc(contexts * 33, sizeof(uint16_t)); /* zero: every row the identity */
}
