/*
 * train.h - mbtrain's run configuration, optimizer state and checkpoints.
 */
#ifndef MBTRAIN_TRAIN_H
#define MBTRAIN_TRAIN_H

#include <stdint.h>
#include "data.h"
#include "model.h"

/* Everything that determines a run (saved in checkpoints; --resume restores it). */
typedef struct {
    mbzm_hparams hp;
    int batch;            /* windows per step */
    int64_t steps;        /* total optimizer steps (sets the cosine schedule) */
    double lr, lr_min;    /* peak and final learning rate */
    int64_t warmup;       /* linear warmup steps */
    double wd, clip, beta1, beta2, adam_eps;
    uint64_t seed;
    double holdout;       /* fraction of each DATA argument held out */
    int eval_windows;     /* held-out windows per evaluation */
} mt_config;

typedef struct {
    mt_config cfg;
    mt_model model;
    mt_real *m, *v;       /* Adam moments, same layout as the parameters */
    int64_t step;         /* steps done */
    mt_rng rng;           /* batch sampling */
    uint64_t data_hash;   /* xxh64 of the training stream, to warn on a different data set */
} mt_state;

int mt_ckpt_save(const char *path, const mt_state *s, char *err, size_t errlen);
/* Loads the configuration first (so the caller can build the model), then the rest. */
int mt_ckpt_load(const char *path, mt_state *s, int init_model, char *err, size_t errlen);

/* Held-out bits per byte of the float model over n evenly spaced windows. */
double mt_eval_bpb(mt_model *m, const mt_data *d, int n);

/* export.c */
int mt_export(const char *ckpt, const char *out, char *const *data, int n_data,
              char *const *excl_dirs, int n_excl, int eval_windows, int int8_act, int verbose);

/* blas.c: --blas-core (re-executes mbtrain with other OpenBLAS kernels, checked by
 * an sgemm self-test); 0 = go on, 1 = bad argument */
int mt_blas_choose(const char *core, char **argv, int quiet);
int mt_blas_selftest(char *why, size_t whylen);

#endif
