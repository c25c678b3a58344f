/*
 * megabyte_impl.h - the MEGABYTE engine's private types (internal: shared by the
 * engine's own files, megabyte*.c, and by nothing else; not installed). The rest of
 * the library sees the engine only through megabyte.h and the predictor ops that
 * mbz_megabyte_create() puts in the model (predictor.h).
 *
 * Here: the loaded model (mb_model, read-only after creation), its linear and
 * layer weights, the per-block predictor state (mb_state) and its
 * scratch buffers, the rows the predictor hands to the global model (gseg) and to
 * the local model (lrow), the linear pieces both models use, and the few functions
 * one engine file calls in another (all named mbz_mb_*). The file map and what the
 * integers mean: megabyte.c's top comment and doc/model-format.md.
 */
#ifndef MBZ_MEGABYTE_IMPL_H
#define MBZ_MEGABYTE_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels.h"
#include "modelfile.h"
#include "predictor.h"
#include "qmath.h"

#define RES_MAX (1 << 24)   /* residual stream bound, +-2^24 */

typedef struct {
    size_t O, I;
    const int8_t *w;        /* O x I, points into the file image */
    int8_t *wp;             /* the same, packed (kernels.h) for mm_pk8, or for mm_q8 in
                             * the kernel set's layout (quads), owned */
    int32_t *b, *m, *s;     /* O each, native byte order */
    int q8;                 /* int8 activations (MBZM_OPT_INT8_ACT): lin_acc quantizes
                             * its input rows (act_q8) and runs mm_q8 */
    int quads;              /* wp in mm_q8's quad layout (q8, on a set with q8_quads) */
    size_t stride;          /* bytes of wp per group of 16 outputs (mbz_q8_stride) */
} linear;

typedef struct {
    linear qkv, o, up, down;
    int32_t att_m, att_s;
    int32_t *alibi;         /* heads */
    /* global layers of a model that decodes on two threads (M->team_packed,
     * megabyte_team.c): o's columns of each head (GH matrices DG x GHD) and down's two
     * halves of columns (DG x GFF/2), packed for mm_pk8 by the model's first team;
     * NULL before */
    int8_t **o_head;
    int8_t *down_half[2];
} layer;

typedef struct {
    mbzm_file f;
    size_t P, DE, DG, DL, GH, GHD, LH, LHD, GFF, LFF, CTX, NGL, NLL;
    size_t GB;              /* patches per global sub-batch in score() */
    size_t XR;              /* cross-patch keys (cross_r, MBZM_OPT_CROSS_PATCH), 0: off */
    size_t LAG;             /* patch k's global input is patch k - LAG (1; global_lag with
                             * MBZM_OPT_GLOBAL_LAG) */
    int prev;               /* MBZM_OPT_PREV_PATCH: the local input of patch k also gets
                             * prevl . (patch k-1's byte embeddings as int16, gemb16) */
    linear prevl;
    int16_t *gemb16;        /* with prev: g.emb at RMSNorm scale, 256 x D_E (prev_input) */
    int32_t *gemb, *gpad, *lemb, *lpos;
    layer *gl, *ll;
    linear glin, head;
    int conv;               /* MBZM_OPT_CONV_ENCODER: layers conv_l[] (conv_encode) */
    int q8;                 /* MBZM_OPT_INT8_ACT: every linear but the conv layers has q8 set */
    linear conv_l[MBZM_CONV_LAYERS];
    int32_t *i32pool;       /* all decoded int32 vectors */
    int team2;              /* the shapes allow a predictor to run its global steps on
                             * two threads (megabyte_team.c) */
    pthread_mutex_t team_mu;    /* guards the lazy packing of the split weights */
    int team_lock;          /* team_mu initialised */
    int team_packed;        /* the layers' o_head and down_half are packed */
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
    /* previous-patch projection (M->prev): its input row (D_G), and the last result
     * (its patch's bytes pv_key, its D_L sums pv), kept across calls */
    int16_t *px;
    int32_t *pv;
    uint8_t pv_key[64];
    int pv_have;
    /* convolutional encoder (conv_encode): CR byte rows */
    size_t CR;
    int32_t *ch, *cacc;
    int16_t *ca;
    /* int8 activations: MB_Q8_ROWS rows of up to MBZM_MAX_DIN inputs, quantized, and
     * their groups' shifts (NULL for a model without the option) */
    int8_t *q8;
    uint8_t *q8e;
} scratch;

#define MB_Q8_ROWS 256   /* rows lin_acc quantizes at a time */

typedef struct mb_state {
    const mb_model *M;
    const mbz_kernels *K;
    size_t block_len;
    size_t R;               /* ring size, patches */
    int16_t *gK;            /* NGL x GH x pk(R, GHD): keys of each head, packed (mm_pk) */
    size_t pkK;             /* mbz_pk_size(R, GHD) */
    int16_t *gV;            /* NGL x GH x pk(GHD, R): values of each head, packed (mm_pk;
                             * channels as outputs, ring slots as inputs) */
    size_t pkV;             /* mbz_pk_size(GHD, R) */
    uint16_t *gKn;          /* NGL x GH x R: ceil(|k|_2) of each stored key (<= 2047 * 16) */
    size_t g_done;          /* global outputs computed for patches 0 .. g_done-1 */
    int16_t *last_gout;     /* DG: global output of patch g_done-1 */
    int16_t *lkv;           /* NLL x P x 3DL: local q/k/v rows of the current patch */
    int16_t *lx;            /* NLL x XR x 3DL: cross-patch option: the local q/k/v rows of
                             * the last XR positions of patch lx_next - 1 */
    size_t lx_next;         /* lx serves patch lx_next (0: lx holds nothing yet) */
    int prof;               /* time split on (mbz_megabyte_profile_enable, MBZIP_PROFILE) */
    struct mbz_mb_team *team;   /* a helper thread for the global steps of predict(), or
                                 * NULL (megabyte_team.c) */
    struct mbz_mb_pipe *pipe;   /* a lagged model's helper thread, running the global step
                                 * of the next patch beside predict(), or NULL
                                 * (megabyte_pipe.c) */
    scratch sc;
} mb_state;

/* The engine's state behind the opaque predictor handle (predictor.h). */
static inline mb_state *mb_of(mbz_predictor *p)
{
    return (mb_state *)p;
}

/* A run of consecutive patches k0 .. k0+cnt-1 of one block (predictor st). */
typedef struct {
    mb_state *st;
    size_t k0, cnt;
} gseg;

/* One row of the local model: position p of its patch, previous byte (256 = pad),
 * its slice of the global output, and where the q/k/v rows of positions 0..p live:
 * st != NULL: copied into st->lkv (step mode); st == NULL: the batch rows r-p..r.
 * With the cross-patch option (M->XR > 0), k is the row's patch and xst the block's
 * predictor, whose lx holds the previous patch's last XR rows where the batch does not
 * (local_cross_keys, megabyte_local.c); xst == NULL without the option. With the
 * previous-patch option, pbytes points to the bytes of patch k-1 (NULL for k = 0 and
 * without the option). */
typedef struct {
    size_t p;
    unsigned prev;
    const int16_t *slice;
    mb_state *st;
    size_t k;
    mb_state *xst;
    const uint8_t *pbytes;  /* M->prev: the P bytes of patch k-1 (NULL for k = 0) */
} lrow;

/* ------------------------------------------------------------------ linear pieces
 * Shared by the global and local models; static inline so that each model's file
 * compiles its own copy, as when both lived in one file. */

/* acc = X . W^T for N rows (stride ldx); with int8 activations, the sums of the rows
 * quantized (mbz_act_q8), in batches of MB_Q8_ROWS rows through sc's buffers. */
static inline void lin_acc(const mbz_kernels *K, scratch *sc, const linear *L, const int16_t *X,
                           size_t ldx, size_t N, int32_t *acc)
{
    if (!L->q8) {
        K->mm_pk8(X, ldx, N, L->wp, L->O, L->I, acc, L->O);
        return;
    }
    const size_t I = L->I, NJ = (I + MBZM_Q8_GROUP - 1) / MBZM_Q8_GROUP;
    for (size_t n0 = 0; n0 < N; n0 += MB_Q8_ROWS) {
        size_t nr = N - n0 < MB_Q8_ROWS ? N - n0 : MB_Q8_ROWS;
        for (size_t r = 0; r < nr; r++)
            K->act_q8(X + (n0 + r) * ldx, I, sc->q8 + r * I, sc->q8e + r * NJ);
        K->mm_q8(sc->q8, I, sc->q8e, NJ, nr, L->wp, L->O, I, acc + n0 * L->O, L->O);
    }
}

/* One row of L's sums a into the residual stream: h = res_add(h, clamp(requant(a),
 * +-2^24)); a is overwritten. */
static inline void residual_add(const mbz_kernels *K, const linear *L, int32_t *a, int32_t *h)
{
    K->requant32(a, L->b, L->m, L->s, L->O, -RES_MAX, RES_MAX, a);
    for (size_t o = 0; o < L->O; o++)
        h[o] = mbz_res_add(h[o], a[o]);
}

/* Linear into the residual stream: h[n] = res_add(h[n], clamp(requant, +-2^24)). */
static inline void lin_residual(const mbz_kernels *K, scratch *sc, const linear *L,
                                const int16_t *X, size_t N, int32_t *acc, int32_t *h)
{
    lin_acc(K, sc, L, X, L->I, N, acc);
    for (size_t n = 0; n < N; n++)
        residual_add(K, L, acc + n * L->O, h + n * L->O);
}

/* q/k/v projection: out rows of 3D (q, k clamped to +-2047, v to +-8191). */
static inline void lin_qkv(const mbz_kernels *K, scratch *sc, const linear *L, const int16_t *X,
                           size_t N, int32_t *acc, int16_t *out)
{
    size_t D = L->I;
    lin_acc(K, sc, L, X, D, N, acc);
    for (size_t n = 0; n < N; n++) {
        const int32_t *a = acc + n * 3 * D;
        int16_t *y = out + n * 3 * D;
        K->requant16(a, L->b, L->m, L->s, 2 * D, -MBZM_QK_CLAMP, MBZM_QK_CLAMP, 0, y);
        K->requant16(a + 2 * D, L->b + 2 * D, L->m + 2 * D, L->s + 2 * D, D, -MBZM_ACT_CLAMP,
                      MBZM_ACT_CLAMP, 0, y + 2 * D);
    }
}

/* h += down(relu(up(rmsnorm(h)))) */
static inline void mlp(const mbz_kernels *K, scratch *sc, const layer *Ly, int32_t *h, size_t N,
                       size_t D, int16_t *a, int16_t *hid, int32_t *acc)
{
    for (size_t n = 0; n < N; n++)
        K->rmsnorm(h + n * D, D, a + n * D);
    lin_acc(K, sc, &Ly->up, a, D, N, acc);
    size_t F = Ly->up.O;
    for (size_t n = 0; n < N; n++)
        K->requant16(acc + n * F, Ly->up.b, Ly->up.m, Ly->up.s, F, -MBZM_ACT_CLAMP,
                      MBZM_ACT_CLAMP, 1, hid + n * F);
    lin_residual(K, sc, &Ly->down, hid, N, acc, h);
}

/* ------------------------------------------------------------------ calls across the files */

/* megabyte_global.c, the global model: the inputs of patches k0 .. k1-1 into h (rows
 * of DG; through the conv encoder if the model has one), then */
void mbz_mb_global_inputs(const mb_model *M, const mbz_kernels *K, scratch *sc,
                          const uint8_t *data, size_t k0, size_t k1, int32_t *h);
/* The global layers for the patches of nseg segments: inputs h, outputs gout; updates
 * each segment's predictor (g_done, last_gout). */
void mbz_mb_global_forward(const mb_model *M, const mbz_kernels *K, scratch *sc, const gseg *seg,
                           size_t nseg, int32_t *h, int16_t *gout);

/* Global attention of some heads (bit hh of `heads` for head hh; MBZ_MB_ALL_HEADS:
 * every head) in scratch sc: the segment's keys and values into its ring, out[n] =
 * the attention of query n (megabyte_global.c). */
#define MBZ_MB_ALL_HEADS UINT64_MAX
static inline int mbz_mb_head_on(uint64_t heads, size_t hh)
{
    return heads == MBZ_MB_ALL_HEADS || (hh < 64 && (heads >> hh & 1));
}
void mbz_mb_global_attend(const mb_model *M, const mbz_kernels *K, const layer *Ly, size_t l,
                          const gseg *g, const int16_t *qkv, int16_t *out, scratch *sc,
                          uint64_t heads);

/* megabyte.c: scratch buffers for R ring slots, GR global rows, LR local rows. */
int mbz_mb_scratch_alloc(scratch *s, const mb_model *M, size_t R, size_t GR, size_t LR);
void mbz_mb_scratch_free(scratch *s);

/* megabyte_team.c: global steps on two threads (the file's top comment).
 * prepare: at load, note whether the model's shapes allow the split (M->team2);
 * release: free what the teams packed (the model is being freed). start: give a
 * step-mode predictor a helper thread (nonzero if none could be started: the
 * predictor then runs alone, with the same results); step: the global step of
 * patch k from the inputs in st->sc.gh (what mbz_mb_global_forward does for one
 * patch); stop: join and free (st->team = NULL). */
void mbz_mb_team_prepare(mb_model *M);
void mbz_mb_team_release(mb_model *M);
int mbz_mb_team_start(mb_state *st);
void mbz_mb_team_step(mb_state *st, size_t k);
void mbz_mb_team_stop(mb_state *st);

/* megabyte_helper.c: what the team's and the pipe's helper threads share (the file's
 * top comment). A signal: the decoding thread posts work (post), the helper waits
 * for a post after the `seen`-th (wait: spins, then sleeps; returns the posts made,
 * or `seen` once quit is set), quit ends the wait. */
typedef struct {
    _Alignas(64) atomic_uint posted;
    atomic_int quit;
    atomic_int sleeping;    /* the helper waits on cv */
    pthread_mutex_t mu;
    pthread_cond_t cv;
} mbz_mb_signal;
void mbz_mb_signal_init(mbz_mb_signal *s);
void mbz_mb_signal_destroy(mbz_mb_signal *s);
void mbz_mb_signal_post(mbz_mb_signal *s);
unsigned mbz_mb_signal_wait(mbz_mb_signal *s, unsigned seen);
void mbz_mb_signal_quit(mbz_mb_signal *s);
/* Whether the helper pays, kept by the decoding thread: alone(n) says how step n
 * runs (MBZ_MB_HELPED; MBZ_MB_PROBE: alone, timed, its time to solo(); MBZ_MB_ALONE:
 * alone, backed off); helped() takes the time the decoding thread spent on helped
 * step n. */
typedef struct {
    size_t solo_until, backoff;
    uint64_t solo_ns, helped_ns;
    unsigned helped_cnt;
} mbz_mb_pays;
enum { MBZ_MB_HELPED = 0, MBZ_MB_PROBE = 1, MBZ_MB_ALONE = 2 };
void mbz_mb_pays_init(mbz_mb_pays *p);
int mbz_mb_pays_alone(const mbz_mb_pays *p, size_t n);
void mbz_mb_pays_solo(mbz_mb_pays *p, uint64_t ns);
void mbz_mb_pays_helped(mbz_mb_pays *p, size_t n, uint64_t ns);
void mbz_mb_cpu_relax(void);
uint64_t mbz_mb_now_ns(void);   /* CLOCK_MONOTONIC */

/* megabyte_pipe.c: a lagged model's global steps one patch ahead on a helper thread
 * (the file's top comment). start: give a step-mode predictor of a model with
 * LAG >= 2 the helper (nonzero if it cannot: the predictor then runs alone, with the
 * same results); global: at position pos of predict(), the global output of its
 * patch into *gout (MBZ_ERR_PARAM if positions do not come in order); stop: finish
 * the step in flight, join and free (st->pipe = NULL). */
int mbz_mb_pipe_start(mb_state *st);
int mbz_mb_pipe_global(mb_state *st, const uint8_t *data, size_t pos, const int16_t **gout);
void mbz_mb_pipe_stop(mb_state *st);

/* megabyte_local.c: the local model and the head; the frequency tables of N rows
 * into freq (N x 256). */
void mbz_mb_local_forward(const mb_model *M, const mbz_kernels *K, scratch *sc, const lrow *rows,
                          size_t N, uint16_t *freq);

/* megabyte.c: the predictor ops of every MEGABYTE model (mbz_megabyte_create puts
 * them in the model, with its capabilities: patch, score chunk, seek reach,
 * MBZ_CAP_BATCH; mbz_mb_ops_no_seek for a model with cross-patch attention). */
extern const mbz_predictor_ops mbz_mb_ops, mbz_mb_ops_no_seek;

/* Preferred rows per score() call (mbz_model.score_chunk). */
#define MBZ_MB_SCORE_CHUNK 16384

/* megabyte_profile.c: the opt-in time split (megabyte.h). Called only for a predictor
 * whose prof is set. */
uint64_t mbz_mb_prof_now(void);   /* CLOCK_MONOTONIC, ns */
/* Add the time since *t0 to counter `which` (passes made, rows computed), and restart
 * *t0. */
void mbz_mb_prof_add(int which, uint64_t *t0, size_t calls, size_t rows);
/* Global attention: `window` keys in a head's window, `scored` of them scored. */
void mbz_mb_prof_keys(size_t window, size_t scored);

#endif
