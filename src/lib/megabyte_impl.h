/*
 * megabyte_impl.h - the MEGABYTE engine's private types (internal: shared by the
 * engine's own files, megabyte*.c, and by nothing else; not installed). The rest of
 * the library sees the engine only through megabyte.h and the predictor ops that
 * mbz_megabyte_create() puts in the model (predictor.h).
 *
 * Here: the loaded model (mb_model, read-only after creation), its linear and
 * layer weights, the per-block predictor state (struct mbz_predictor) and its
 * scratch buffers. What the integers mean: megabyte.c's top comment and
 * doc/model-format.md.
 */
#ifndef MBZ_MEGABYTE_IMPL_H
#define MBZ_MEGABYTE_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "kernels.h"
#include "modelfile.h"
#include "predictor.h"

#define RES_MAX (1 << 24)   /* residual stream bound, +-2^24 */


typedef struct {
    size_t O, I;
    const int8_t *w;        /* O x I, points into the file image */
    int8_t *wp;             /* the same, packed for mm_pk8 (kernels.h), owned */
    int32_t *b, *m, *s;     /* O each, native byte order */
} linear;

typedef struct {
    linear qkv, o, up, down;
    int32_t att_m, att_s;
    int32_t *alibi;         /* heads */
} layer;

typedef struct {
    mbzm_file f;
    size_t P, DE, DG, DL, GH, GHD, LH, LHD, GFF, LFF, CTX, NGL, NLL;
    size_t GB;              /* patches per global sub-batch in score() */
    size_t XR;              /* cross-patch keys (cross_r, MBZM_OPT_CROSS_PATCH), 0: off */
    int32_t *gemb, *gpad, *lemb, *lpos;
    layer *gl, *ll;
    linear glin, head;
    int conv;               /* MBZM_OPT_CONV_ENCODER: layers conv_l[] (conv_encode) */
    linear conv_l[MBZM_CONV_LAYERS];
    int32_t *i32pool;       /* all decoded int32 vectors */
} mb_model;

/* Scratch buffers, sized for GR global rows and LR local rows. */
typedef struct {
    size_t GR, LR;
    /* global */
    int32_t *gh, *gacc, *scores, *ye;
    int16_t *ga, *gqkv, *gatt, *ghid, *gout, *E;   /* E: rows Eh_0, El_0, Eh_1, ... */
    int64_t *acc64, *S;
    /* local */
    int32_t *lu, *lacc, *logits;
    int16_t *la, *lqkvb, *latt, *lhid, *lslice;
    /* convolutional encoder (conv_encode): CR byte rows */
    size_t CR;
    int32_t *ch, *cacc;
    int16_t *ca;
} scratch;

struct mbz_predictor {
    const mb_model *M;
    const mbz_kernels *K;
    size_t block_len;
    size_t R;               /* ring size, patches */
    int16_t *gK;            /* NGL x GH x pk(R, GHD): keys of each head, packed (mm_pk) */
    size_t pkK;             /* mbz_pk_size(R, GHD) */
    int16_t *gVt;           /* NGL x DG x R */
    uint16_t *gKn;          /* NGL x GH x R: ceil(|k|_2) of each stored key (<= 2047 * 16) */
    size_t g_done;          /* global outputs computed for patches 0 .. g_done-1 */
    int16_t *last_gout;     /* DG: global output of patch g_done-1 */
    int16_t *lkv;           /* NLL x P x 3DL: local q/k/v rows of the current patch */
    int16_t *lx;            /* NLL x XR x 3DL: cross-patch option: the local q/k/v rows of
                             * the last XR positions of patch lx_next - 1 */
    size_t lx_next;         /* lx serves patch lx_next (0: lx holds nothing yet) */
    int prof;               /* time split on (mbz_megabyte_profile_enable, MBZIP_PROFILE) */
    scratch sc;
};

/* megabyte.c: the predictor ops of every MEGABYTE model (mbz_megabyte_create puts
 * them in the model; mbz_megabyte_patch recognizes a MEGABYTE model by them). */
extern const mbz_predictor_ops mbz_mb_ops;

/* megabyte_profile.c: the opt-in time split (megabyte.h). Called only for a predictor
 * whose prof is set. */
uint64_t mbz_mb_prof_now(void);   /* CLOCK_MONOTONIC, ns */
/* Add the time since *t0 to counter `which` (passes made, rows computed), and restart
 * *t0. */
void mbz_mb_prof_add(int which, uint64_t *t0, size_t calls, size_t rows);
/* Global attention: `window` keys in a head's window, `scored` of them scored. */
void mbz_mb_prof_keys(size_t window, size_t scored);

#endif
