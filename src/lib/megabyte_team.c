/*
 * megabyte_team.c - the global step of decoding on two threads.
 *
 * Decoding runs the global model one patch at a time (predict(): a matrix-vector
 * step of about 100 us for the default model, three fifths of the decoding time),
 * and it cannot start before the patch before it is decoded. What two threads can
 * share is the inside of the step. This file splits it so that the threads meet
 * only twice per layer:
 *
 *   a = rmsnorm(h)                      both threads, each on its own copy of h
 *   q, k, v of my heads                 rows of qkv (slices of the packed matrix)
 *   attention of my heads               my heads' keys and values in the ring
 *   part_t = o[:, my heads] . att       o packed per head (o_head)
 *   -- meet: h += requant(part_0 + part_1)
 *   a = rmsnorm(h)
 *   hid = relu(up[my half] . a)         rows of up (a slice)
 *   part_t = down[:, my half] . hid     down packed per half (down_half)
 *   -- meet: h += requant(part_0 + part_1)
 *
 * With int8 activations (MBZM_OPT_INT8_ACT) each thread quantizes what it multiplies:
 * a, its heads' attention outputs, its half of hid. Groups of 64 inputs never cross a
 * head or the half (mbz_mb_team_prepare requires it), so each group gets the shift it
 * gets in the whole row.
 *
 * The sums are exact int32 (the model's bounds hold for every partial sum: fewer
 * terms of the same bounds), so h, the ring and the outputs are those of one thread
 * (mbz_mb_global_forward), whatever the timing; tests/test_megabyte.c compares them.
 * Heads go to the threads in the order 1 0 0 1 1 0 0 1 ... (head_owner): ALiBi's
 * steep heads score few keys and the flat ones all, so each thread gets a steeper
 * and a flatter head.
 *
 * A meeting is a barrier on two counters (one per thread, each on its own cache line)
 * and a read of the other thread's 1 KB of partial sums (doc/library.md has the
 * measurements). Between steps (the local model's eight bytes) the helper spins for
 * a while before it sleeps, and the decoding thread checks that the helper pays (a
 * step alone, timed, now and then; steps alone while the team is the slower, e.g.
 * another process keeps the helper off its core: measured four times slower than
 * one thread): both in megabyte_helper.c, shared with megabyte_pipe.c. It is started only where the caller has a core to spare for it
 * (decompression of a history when the threads outnumber the histories, block.c)
 * and only for a global step large enough to gain (MBZ_MB_TEAM_MIN, megabyte.h).
 *
 * The split weights (o per head, down per half: as many bytes as o and down) are
 * packed when a model's first team starts (pack_split), so that a process that never
 * decodes with a helper does not hold them; the other slices are read in place from
 * the packed matrices (groups of 16 output channels).
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>

#include "kernels.h"
#include "megabyte.h"
#include "megabyte_impl.h"
#include "modelfile.h"
#include "qmath.h"

#define SPIN_YIELD 20000       /* spins at a meeting before each sched_yield() */

/* The thread (0: the predictor's caller, 1: the helper) that owns head hh: heads
 * 0 and 3 (the steepest and the flattest of four) on the helper, 1 and 2 on the
 * caller, which starts each step about a microsecond earlier (the helper has to
 * see it posted) and so takes the pair with more keys to score. */
static int head_owner(size_t hh)
{
    return (hh % 4 == 0 || hh % 4 == 3);
}

static atomic_size_t team_min = MBZ_MB_TEAM_MIN;

void mbz_megabyte_set_team_min(size_t macs)
{
    atomic_store(&team_min, macs);
}

/* ------------------------------------------------------------------ split weights */

void mbz_mb_team_prepare(mb_model *M)
{
    const size_t DG = M->DG, d = M->GHD, F = M->GFF;
    /* slices at whole groups of 16 output channels, 64-byte aligned packed groups
     * (input pairs a multiple of 2), heads named by a 64-bit mask */
    M->team2 = !(M->NGL == 0 || M->GH < 2 || M->GH > 64 || d % 16 || F % 32 || DG % 4);
    /* int8 activations: a thread's inputs (a head's attention output, half of the MLP's
     * hidden units) are whole groups of MBZM_Q8_GROUP, so quantizing them alone gives
     * what quantizing the whole row gives */
    if (M->q8 && (d % MBZM_Q8_GROUP || (F / 2) % MBZM_Q8_GROUP))
        M->team2 = 0;
    M->team_lock = pthread_mutex_init(&M->team_mu, NULL) == 0;
}

static void free_split(mb_model *M)
{
    for (size_t l = 0; M->gl && l < M->NGL; l++) {
        layer *Ly = &M->gl[l];
        for (size_t hh = 0; Ly->o_head && hh < M->GH; hh++)
            free(Ly->o_head[hh]);
        free(Ly->o_head);
        free(Ly->down_half[0]);
        free(Ly->down_half[1]);
        Ly->o_head = NULL;
        Ly->down_half[0] = Ly->down_half[1] = NULL;
    }
}

/* Pack the split weights (once, by the first team of the model). Returns 0 when they
 * are there. */
static int pack_split(mb_model *M)
{
    const size_t DG = M->DG, d = M->GHD, F = M->GFF;
    if (!M->team2 || !M->team_lock)
        return -1;
    pthread_mutex_lock(&M->team_mu);
    for (size_t l = 0; M->team_packed == 0 && l < M->NGL; l++) {
        layer *Ly = &M->gl[l];
        int ok = (Ly->o_head = calloc(M->GH, sizeof *Ly->o_head)) != NULL;
        for (size_t hh = 0; ok && hh < M->GH; hh++) {
            ok = (Ly->o_head[hh] = mbz_alloc64(mbz_q8_size(Ly->o.quads, DG, d) + 64)) != NULL;
            if (ok)
                mbz_q8_pack(Ly->o.quads, Ly->o.w + hh * d, DG, DG, d, Ly->o_head[hh]);
        }
        for (int t = 0; ok && t < 2; t++) {
            ok = (Ly->down_half[t] = mbz_alloc64(mbz_q8_size(Ly->down.quads, DG, F / 2) + 64)) != NULL;
            if (ok)
                mbz_q8_pack(Ly->down.quads, Ly->down.w + t * (F / 2), F, DG, F / 2,
                            Ly->down_half[t]);
        }
        if (!ok) {   /* out of memory: no split for this model (a later team tries again) */
            free_split(M);
            break;
        }
        if (l + 1 == M->NGL)
            M->team_packed = 1;
    }
    int rc = M->team_packed ? 0 : -1;
    pthread_mutex_unlock(&M->team_mu);
    return rc;
}

void mbz_mb_team_release(mb_model *M)
{
    free_split(M);
    if (M->team_lock)
        pthread_mutex_destroy(&M->team_mu);
    M->team_lock = 0;
    M->team2 = 0;
}

/* ------------------------------------------------------------------ the team */

/* One thread's buffers (one allocation, 64-byte aligned, so the two threads' writes
 * never share a cache line). part[0], part[1]: the partial sums of the two meetings
 * of a layer (two, so that a thread can write the next one while the other still
 * reads this one). */
typedef struct {
    int32_t *h, *acc, *sum, *part[2];
    int16_t *a, *qkv, *att, *hid;
    int8_t q[MBZM_MAX_DIN]; /* int8 activations: the row being multiplied, quantized */
    uint8_t qe[MBZM_MAX_DIN / MBZM_Q8_GROUP];
    scratch *sc;            /* attention scratch: the predictor's (0) or the team's (1) */
    uint64_t heads;         /* the heads this thread attends with */
    void *mem;
} lane;

struct mbz_mb_team {
    mb_state *st;
    pthread_t thread;
    lane ln[2];
    scratch sc1;            /* the helper's attention scratch (one row) */
    size_t k;               /* the patch of the step posted last */
    mbz_mb_signal sig;      /* steps posted by thread 0 */
    size_t n;               /* steps so far (thread 0) */
    mbz_mb_pays pays;       /* whether the helper pays (thread 0; megabyte_helper.c) */
    int always;             /* team_min 0 (tests): every step on the team */
    _Alignas(64) atomic_uint met0;      /* meetings thread 0 has reached */
    _Alignas(64) atomic_uint met1;      /* meetings thread 1 has reached */
    _Alignas(64) char end;
};

/* Both threads have reached this meeting: what the other wrote before it is visible. */
static void meet(struct mbz_mb_team *T, int t)
{
    atomic_uint *mine = t ? &T->met1 : &T->met0, *other = t ? &T->met0 : &T->met1;
    unsigned v = atomic_load_explicit(mine, memory_order_relaxed) + 1;
    atomic_store_explicit(mine, v, memory_order_release);
    for (unsigned spins = 0; (int)(atomic_load_explicit(other, memory_order_acquire) - v) < 0;) {
        mbz_mb_cpu_relax();
        if (++spins == SPIN_YIELD) {   /* the other thread lost its core */
            spins = 0;
            sched_yield();
        }
    }
}

/* h += requant(part_0 + part_1) of linear L (after a meeting). */
static void add_parts(const mbz_kernels *K, const struct mbz_mb_team *T, lane *me, int which,
                      const linear *L)
{
    const size_t O = L->O;
    const int32_t *p0 = T->ln[0].part[which], *p1 = T->ln[1].part[which];
    for (size_t o = 0; o < O; o++)
        me->sum[o] = p0[o] + p1[o];
    residual_add(K, L, me->sum, me->h);
}

/* y = the sums of one input row x (I values; quantized already into me->q/qe when the
 * layer takes int8 activations) by O outputs of packed weights wp. */
static void row_mm(const mbz_kernels *K, const linear *L, const lane *me, const int16_t *x,
                   size_t I, const int8_t *wp, size_t O, int32_t *y)
{
    if (L->q8)
        K->mm_q8(me->q, I, me->qe, (I + MBZM_Q8_GROUP - 1) / MBZM_Q8_GROUP, 1, wp, O, I, y, O);
    else
        K->mm_pk8(x, I, 1, wp, O, I, y, O);
}

/* Thread t's share of the global step of patch k (the file's top comment). */
static void run_step(struct mbz_mb_team *T, int t, size_t k)
{
    mb_state *st = T->st;
    const mb_model *M = st->M;
    const mbz_kernels *K = st->K;
    const size_t DG = M->DG, d = M->GHD, F = M->GFF;
    lane *me = &T->ln[t];
    gseg g = {st, k, 1};
    memcpy(me->h, st->sc.gh, DG * sizeof(int32_t));
    for (size_t l = 0; l < M->NGL; l++) {
        const layer *Ly = &M->gl[l];
        const linear *qkv = &Ly->qkv;
        K->rmsnorm(me->h, DG, me->a);
        if (qkv->q8)
            K->act_q8(me->a, DG, me->q, me->qe);
        for (size_t hh = 0; hh < M->GH; hh++) {
            if (!mbz_mb_head_on(me->heads, hh))
                continue;
            for (size_t part = 0; part < 3; part++) {   /* q, k, v rows of head hh */
                size_t o0 = part * DG + hh * d;
                int32_t lim = part < 2 ? MBZM_QK_CLAMP : MBZM_ACT_CLAMP;
                row_mm(K, qkv, me, me->a, DG, qkv->wp + (o0 / 16) * qkv->stride, d, me->acc);
                K->requant16(me->acc, qkv->b + o0, qkv->m + o0, qkv->s + o0, d, -lim, lim, 0,
                             me->qkv + o0);
            }
        }
        mbz_mb_global_attend(M, K, Ly, l, &g, me->qkv, me->att, me->sc, me->heads);
        int first = 1;
        for (size_t hh = 0; hh < M->GH; hh++) {
            if (!mbz_mb_head_on(me->heads, hh))
                continue;
            int32_t *y = first ? me->part[0] : me->acc;
            if (Ly->o.q8)
                K->act_q8(me->att + hh * d, d, me->q, me->qe);
            row_mm(K, &Ly->o, me, me->att + hh * d, d, Ly->o_head[hh], DG, y);
            if (!first)
                for (size_t o = 0; o < DG; o++)
                    me->part[0][o] += me->acc[o];
            first = 0;
        }
        meet(T, t);
        add_parts(K, T, me, 0, &Ly->o);

        K->rmsnorm(me->h, DG, me->a);
        size_t f0 = (size_t)t * (F / 2);
        if (Ly->up.q8)
            K->act_q8(me->a, DG, me->q, me->qe);
        row_mm(K, &Ly->up, me, me->a, DG, Ly->up.wp + (f0 / 16) * Ly->up.stride, F / 2, me->acc);
        K->requant16(me->acc, Ly->up.b + f0, Ly->up.m + f0, Ly->up.s + f0, F / 2,
                     -MBZM_ACT_CLAMP, MBZM_ACT_CLAMP, 1, me->hid);
        if (Ly->down.q8)
            K->act_q8(me->hid, F / 2, me->q, me->qe);
        row_mm(K, &Ly->down, me, me->hid, F / 2, Ly->down_half[t], DG, me->part[1]);
        meet(T, t);
        add_parts(K, T, me, 1, &Ly->down);
    }
}

static void *helper_main(void *arg)
{
    struct mbz_mb_team *T = arg;
    unsigned seen = 0;
    for (;;) {
        unsigned posted = mbz_mb_signal_wait(&T->sig, seen);
        if (posted == seen)
            return NULL;   /* quit */
        seen = posted;
        run_step(T, 1, T->k);
    }
}

static int lane_alloc(lane *ln, const mb_model *M)
{
    const size_t DG = M->DG, F = M->GFF;
    size_t nacc = F / 2 > DG ? F / 2 : DG;
    size_t i32[] = {DG, nacc, DG, DG, DG};        /* h acc sum part0 part1 */
    size_t i16[] = {DG, 3 * DG, DG, F / 2};      /* a qkv att hid */
    size_t total = 0;
    for (size_t i = 0; i < 5; i++)
        total += (i32[i] * 4 + 63) / 64 * 64;
    for (size_t i = 0; i < 4; i++)
        total += (i16[i] * 2 + 63) / 64 * 64;
    char *p = ln->mem = mbz_alloc64(total);
    if (!p)
        return -1;
    memset(p, 0, total);
    int32_t **p32[] = {&ln->h, &ln->acc, &ln->sum, &ln->part[0], &ln->part[1]};
    int16_t **p16[] = {&ln->a, &ln->qkv, &ln->att, &ln->hid};
    for (size_t i = 0; i < 5; i++) {
        *p32[i] = (int32_t *)p;
        p += (i32[i] * 4 + 63) / 64 * 64;
    }
    for (size_t i = 0; i < 4; i++) {
        *p16[i] = (int16_t *)p;
        p += (i16[i] * 2 + 63) / 64 * 64;
    }
    return 0;
}

static void team_free(struct mbz_mb_team *T)
{
    free(T->ln[0].mem);
    free(T->ln[1].mem);
    mbz_mb_scratch_free(&T->sc1);
    mbz_mb_signal_destroy(&T->sig);
    free(T);
}

int mbz_mb_team_start(mb_state *st)
{
    const mb_model *M = st->M;
    if (st->team)
        return 0;
    if (!M->team2 || M->NGL * M->DG * (4 * M->DG + 2 * M->GFF) < atomic_load(&team_min))
        return -1;
    /* the split weights are a cache of the model, built by its first team under
     * team_mu (the model is otherwise read-only after loading) */
    if (pack_split((mb_model *)M) != 0)
        return -1;
    struct mbz_mb_team *T = mbz_alloc64(sizeof *T);
    if (!T)
        return -1;
    memset(T, 0, sizeof *T);
    T->st = st;
    T->always = atomic_load(&team_min) == 0;
    mbz_mb_pays_init(&T->pays);
    mbz_mb_signal_init(&T->sig);
    atomic_init(&T->met0, 0);
    atomic_init(&T->met1, 0);
    if (lane_alloc(&T->ln[0], M) || lane_alloc(&T->ln[1], M) ||
        mbz_mb_scratch_alloc(&T->sc1, M, st->R, 1, 1) != MBZ_OK) {
        team_free(T);
        return -1;
    }
    for (size_t hh = 0; hh < M->GH; hh++)
        T->ln[head_owner(hh)].heads |= (uint64_t)1 << hh;
    T->ln[0].sc = &st->sc;
    T->ln[1].sc = &T->sc1;
    if (pthread_create(&T->thread, NULL, helper_main, T) != 0) {
        team_free(T);
        return -1;
    }
    st->team = T;
    return 0;
}

void mbz_mb_team_step(mb_state *st, size_t k)
{
    struct mbz_mb_team *T = st->team;
    const size_t DG = st->M->DG;
    size_t n = T->n++;
    int how = T->always ? MBZ_MB_HELPED : mbz_mb_pays_alone(&T->pays, n);
    uint64_t t0 = T->always || how == MBZ_MB_ALONE ? 0 : mbz_mb_now_ns();
    if (how != MBZ_MB_HELPED) {   /* alone (the results are the same) */
        gseg g = {st, k, 1};
        mbz_mb_global_forward(st->M, st->K, &st->sc, &g, 1, st->sc.gh, st->sc.gout);
        if (how == MBZ_MB_PROBE)
            mbz_mb_pays_solo(&T->pays, mbz_mb_now_ns() - t0);
        return;
    }
    T->k = k;
    mbz_mb_signal_post(&T->sig);   /* publishes k and st->sc.gh */
    run_step(T, 0, k);
    st->K->rmsnorm(T->ln[0].h, DG, st->sc.gout);
    st->g_done = k + 1;
    memcpy(st->last_gout, st->sc.gout, DG * sizeof(int16_t));
    if (!T->always)
        mbz_mb_pays_helped(&T->pays, n, mbz_mb_now_ns() - t0);
}

void mbz_mb_team_stop(mb_state *st)
{
    struct mbz_mb_team *T = st->team;
    if (!T)
        return;
    mbz_mb_signal_quit(&T->sig);
    pthread_join(T->thread, NULL);
    team_free(T);
    st->team = NULL;
}
