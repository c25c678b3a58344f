/*
 * model.h - the float32 MEGABYTE model of mbtrain (doc/model-format.md §1):
 * parameters in one arena, activations in another, forward and backward.
 *
 * Conventions (as in llm.c): every layer is a *_forward / *_backward pair; shapes are
 * given in comments; a linear layer y = x·W + b stores W transposed as (D_out, D_in),
 * exactly as the model file does, so the exporter copies rows without transposing.
 */
#ifndef MBTRAIN_MODEL_H
#define MBTRAIN_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "modelfile.h"

#define MT_MAX_LAYERS 64
#define MT_RMS_EPS 1e-5f
#define MT_LOG2E 1.4426950408889634

/* The trainer computes in float32. The gradient test compiles the same source with
 * -DMT_DOUBLE (double precision, cblas_dgemm) so that finite differences are exact
 * enough to test every tensor element-wise; a float run is checked as well. */
#ifdef MT_DOUBLE
typedef double mt_real;
#else
typedef float mt_real;
#endif

/* Parameters of one transformer layer (width D, hidden F). */
typedef struct {
    mt_real *g1;    /* (D)       RMSNorm gain before attention */
    mt_real *wqkv;  /* (3D, D)   rows: q, k, v; head h owns rows h*d..(h+1)*d of each */
    mt_real *bqkv;  /* (3D) */
    mt_real *wo;    /* (D, D) */
    mt_real *bo;    /* (D) */
    mt_real *g2;    /* (D)       RMSNorm gain before the MLP */
    mt_real *w1;    /* (F, D) */
    mt_real *b1;    /* (F) */
    mt_real *w2;    /* (D, F) */
    mt_real *b2;    /* (D) */
} mt_block;

typedef struct {
    mt_real *gemb;   /* (256, D_E)  global byte embeddings */
    mt_real *gpad;   /* (D_G)       pad patch (input of patch 0) */
    /* convolutional patch encoder (MBZM_OPT_CONV_ENCODER only; NULL otherwise):
     * layer j has kernel k = MBZM_CONV_KERNEL(j) */
    mt_real *cg[MBZM_CONV_LAYERS];   /* (D_E)        RMSNorm gain */
    mt_real *cw[MBZM_CONV_LAYERS];   /* (D_E, k·D_E) column t·D_E + c: tap t (byte i−k+1+t), channel c */
    mt_real *cb[MBZM_CONV_LAYERS];   /* (D_E) */
    mt_block g[MT_MAX_LAYERS];
    mt_real *wgl;    /* (D_L, D_E)  W_GL, shared by the P slices */
    mt_real *bgl;    /* (D_L) */
    mt_real *lemb;   /* (257, D_L)  local byte embeddings, row 256 = pad byte */
    mt_real *lpos;   /* (P, D_L) */
    mt_block l[MT_MAX_LAYERS];
    mt_real *gf;     /* (D_L)       final local RMSNorm gain */
    mt_real *whead;  /* (256, D_L) */
    mt_real *bhead;  /* (256) */
} mt_params;

/* One entry of the parameter table: where a tensor lives in the arena. */
typedef struct {
    char name[32];
    size_t off;       /* in floats */
    size_t rows, cols;
    int decay;        /* AdamW weight decay applies (linear weight matrices only) */
    float init_std;   /* N(0, std) at init; std < 0 means constant 1 (gains), 0 means zeros */
} mt_tensor;

#define MT_MAX_TENSORS (16 + 3 * MBZM_CONV_LAYERS + 10 * 2 * MT_MAX_LAYERS)

/* Activations of one layer for N = nseq*S rows. */
typedef struct {
    mt_real *res;    /* (N, D) layer input (residual stream) */
    mt_real *ln1;    /* (N, D) */
    mt_real *rstd1;  /* (N) */
    mt_real *qkv;    /* (N, 3D) */
    mt_real *att;    /* (N, D) attention output before Wo */
    mt_real *probs;  /* (nseq, H, S, S) softmax probabilities, 0 above the diagonal;
                      * local layers with cross-patch attention: (nseq, H, S, XR + S),
                      * columns 0..XR-1 the previous patch's last XR positions */
    mt_real *res2;   /* (N, D) residual after attention */
    mt_real *ln2;    /* (N, D) */
    mt_real *rstd2;  /* (N) */
    mt_real *fc;     /* (N, F) before ReLU */
    mt_real *fcr;    /* (N, F) after ReLU */
} mt_block_acts;

typedef struct {
    /* convolutional patch encoder, NL = B*T rows (MBZM_OPT_CONV_ENCODER only) */
    mt_real *ch[MBZM_CONV_LAYERS + 1];  /* (NL, D_E) input of layer j; ch[0] = E_G[x], ch[3] = output */
    mt_real *cn[MBZM_CONV_LAYERS];      /* (NL, D_E) rmsnorm(ch[j]) ⊙ cg[j] */
    mt_real *crstd[MBZM_CONV_LAYERS];   /* (NL) */
    mt_real *cz[MBZM_CONV_LAYERS];      /* (NL, D_E) conv output before ReLU */
    /* global, NG = B*K rows */
    mt_block_acts g[MT_MAX_LAYERS];
    mt_real *gres;    /* (NG, D_G) output of the last global layer */
    mt_real *gout;    /* (NG, D_G) rmsnorm(gres), no gain; viewed as (NL, D_E) */
    mt_real *grstd;   /* (NG) */
    /* local, NL = B*T rows */
    mt_block_acts l[MT_MAX_LAYERS];
    mt_real *lres;    /* (NL, D_L) output of the last local layer */
    mt_real *lnf;     /* (NL, D_L) */
    mt_real *lrstd;   /* (NL) */
    mt_real *probs;   /* (NL, 256) softmax of the logits */
    mt_real *losses;  /* (NL) -ln p(target) */
} mt_acts;

/* The model: hyperparameters, parameter/gradient arenas, activations for B windows. */
typedef struct {
    mbzm_hparams hp;
    int B;                 /* windows per batch the activations are sized for */
    int T, K, P, DE, DG, DL;
    int XR;                /* cross-patch local attention: keys of the previous patch (0: off) */
    int LAG;               /* the global input of patch k is patch k - LAG (1; more with
                            * MBZM_OPT_GLOBAL_LAG: hp.global_lag) */
    int PREV;              /* MBZM_OPT_PREV_PATCH: the local input of patch k also gets the
                            * previous patch's global byte embeddings through a D_G -> D_L
                            * projection, tensor "l.prev.w" */
    size_t prev_off;       /* that tensor's offset in params / grads */
    mt_real *prev_e;       /* (NG, D_G) the previous patch's embeddings (0 for patch 0) */
    mt_real *prev_pp;      /* (NG, D_L) their projection */
    mt_tensor tensors[MT_MAX_TENSORS];
    int n_tensors;
    size_t n_params;
    mt_real *params;         /* arena */
    mt_real *grads;          /* arena, same layout */
    mt_params p, gp;       /* views into params / grads */
    mt_real *act_mem;
    mt_acts a;
    /* backward scratch */
    mt_real *dres;           /* (max N, max D) gradient of the residual stream */
    mt_real *dln;            /* (max N, max D) */
    mt_real *dqkv;           /* (max N, 3 max D) */
    mt_real *datt;           /* (max N, max D) */
    mt_real *dfc;            /* (max N, max F) */
    mt_real *dscr;           /* attention scratch: (ATT_BQ, max S) */
    mt_real *dgout;          /* (NG, D_G) */
    mt_real *dconv;          /* (3, NL, D_E) conv encoder backward scratch (option only) */
    mt_real gslopes[256], lslopes[256];
    const uint8_t *x;      /* the batch of the last forward: (B, T) bytes */
    int B_used;            /* windows in the last forward */
    double loss;            /* mean cross-entropy (nats) of the last forward */
} mt_model;

/* Validate hp for training (divisibility, bounds). Returns 0 or -1 with a message. */
int mt_check_hparams(const mbzm_hparams *hp, char *err, size_t errlen);
/* Allocate the model for batches of B windows of ctx_patches*patch bytes. */
int mt_model_init(mt_model *m, const mbzm_hparams *hp, int B);
void mt_model_free(mt_model *m);
/* Deterministic initialisation from seed. */
void mt_model_init_params(mt_model *m, uint64_t seed);
/* Forward over x (B, T) (B <= m->B windows); returns mean loss in nats. If
 * want_losses, per-byte losses are left in a.losses. */
double mt_forward(mt_model *m, const uint8_t *x, int B);
/* Backward of the last forward: fills m->grads (overwrites). */
void mt_backward(mt_model *m);
/* Integer ALiBi slope of head h of H in log2 units Q8 (model file g.{i}.att). */
double mt_alibi_q8(int h, int H);
/* The number of attention rows from which the BLAS path is used (tests force both). */
extern int mt_att_gemm_min_s;

/* Deterministic PRNG (splitmix64 seeding of xoshiro256**). */
typedef struct { uint64_t s[4]; } mt_rng;
void mt_rng_seed(mt_rng *r, uint64_t seed);
uint64_t mt_rng_next(mt_rng *r);
double mt_rng_uniform(mt_rng *r);   /* [0, 1) */
double mt_rng_normal(mt_rng *r);

#endif
