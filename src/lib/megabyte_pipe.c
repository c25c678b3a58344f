/*
 * megabyte_pipe.c - decoding a lagged model on two threads: the global step of patch
 * k + 1 beside the local steps of patch k.
 *
 * A model with the global lag option (MBZM_OPT_GLOBAL_LAG, doc/model-format.md §1.2)
 * feeds patch k's global step with the bytes of patch k - LAG, LAG >= 2. When the
 * decoder reaches patch k, the bytes of patch k - 1 are known, so the global step of
 * patch k + 1 can run now, on a helper thread, while the decoding thread runs the
 * local model (and the mixing stage after it) over patch k's P bytes. A patch then
 * costs max(global step, local steps) of wall time instead of their sum
 * (doc/speed.md, "A lagged global model").
 *
 * At the first position of patch k the decoding thread (mbz_mb_pipe_global):
 *   1. takes patch k's global output: the step posted at patch k - 1, waiting for
 *      the helper if it has not finished, or running it itself if the helper has not
 *      started it yet (a helper kept off its core costs the decoder nothing more than
 *      one thread would); a step that was never posted (patch 0, or the first patch
 *      after the pipe was started) it runs itself;
 *   2. copies it to gout, which the local steps of patch k read;
 *   3. posts patch k + 1's step, if the block has such a patch.
 * Only one step is ever in flight, and its writes (the global ring of keys and values
 * at its patch's slot, the attention buffers of the predictor's scratch, g_done and
 * last_gout) touch nothing the local steps read: they read gout, the bytes up to
 * the current position, and the local buffers of the predictor's scratch. The
 * helper's own inputs and products go through the pipe's scratch. So the tables are
 * those of one thread (mbz_mb_global_forward, one patch at a time), whatever the
 * timing: tests/test_megabyte.c compares them.
 *
 * Who runs a step is decided by one atomic exchange on `claim`, made by both threads,
 * and the result is published by the release store of `done` (acquire loads on the
 * other side). A helper that claimed a step and then lost its core makes the
 * decoding thread wait, so the decoding thread also checks that the helper pays, as
 * the team does: one step in PROBE runs alone and is timed, and while taking the
 * posted steps costs more than running them alone, steps run alone for a stretch
 * that doubles each time the pipe loses again (measured beside a process that kept
 * one core busy: 83-112 KB/s with the helper against 116-154 alone, before this).
 * The tables never depend on which thread ran a step. Between steps the helper spins for a while and then sleeps on a
 * condition variable, like the team's helper (megabyte_team.c), which the pipe
 * replaces for a lagged model (mb_assist, megabyte.c).
 */
#include "config.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels.h"
#include "mbz.h"
#include "megabyte_impl.h"
#include "modelfile.h"

#define SPIN_IDLE_NS 2000000   /* a helper with no step spins this long, then sleeps */
#define SPIN_YIELD 20000       /* spins of the decoding thread before each sched_yield() */
#define PROBE 256              /* one step in this many runs alone, timed */
#define WINDOW 16              /* taken steps timed before they are compared with it */
#define BACKOFF_MIN 256        /* steps alone after a window the pipe lost, doubling */
#define BACKOFF_MAX 65536

struct mbz_mb_pipe {
    mb_state *st;
    pthread_t thread;
    scratch sc;             /* the helper's inputs and products (one row) */
    int16_t *gout;          /* DG: global output of the patch being decoded */
    size_t have;            /* gout holds patch have - 1 (0: none yet) */
    const uint8_t *data;    /* the block's bytes, for the posted step */
    size_t k;               /* the patch of the step posted last */
    int inflight;           /* a step was posted and its output not yet taken */
    /* whether the helper pays (the decoding thread only): a step alone is timed every
     * PROBE patches, the time the decoding thread spends taking posted steps in
     * windows of WINDOW; a window slower than the step alone runs the next `backoff`
     * steps alone (doubling each time, up to BACKOFF_MAX) */
    size_t n, solo_until, backoff;
    uint64_t solo_ns, take_ns;
    unsigned take_cnt;
    _Alignas(64) atomic_uint posted;    /* steps posted (the decoding thread) */
    atomic_uint claim;      /* steps claimed: the one that raises it to `posted` runs it */
    atomic_uint done;       /* steps finished */
    atomic_int quit;
    atomic_int sleeping;    /* the helper waits on cv */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    _Alignas(64) char end;
};

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The global step of patch k from data, with scratch sc for the inputs and products
 * (the attention buffers are st's, as in every global step of st). */
static void run_step(mb_state *st, scratch *sc, const uint8_t *data, size_t k)
{
    gseg g = {st, k, 1};
    mbz_mb_global_inputs(st->M, st->K, sc, data, k, k + 1, sc->gh);
    mbz_mb_global_forward(st->M, st->K, sc, &g, 1, sc->gh, sc->gout);
}

/* Claim step number n (1-based) for the caller: nonzero if it is now the caller's. */
static int claim(struct mbz_mb_pipe *T, unsigned n)
{
    unsigned want = n - 1;
    return atomic_compare_exchange_strong(&T->claim, &want, n);
}

static void *helper_main(void *arg)
{
    struct mbz_mb_pipe *T = arg;
    unsigned seen = 0;
    for (;;) {
        uint64_t t0 = 0;
        for (unsigned spins = 0; atomic_load_explicit(&T->posted, memory_order_acquire) == seen &&
                                 !atomic_load(&T->quit);
             spins++) {
            cpu_relax();
            if (spins % 256 == 0) {
                uint64_t t = now_ns();
                if (!t0) {
                    t0 = t;
                } else if (t - t0 > SPIN_IDLE_NS) {
                    pthread_mutex_lock(&T->mu);
                    atomic_store(&T->sleeping, 1);
                    while (atomic_load(&T->posted) == seen && !atomic_load(&T->quit))
                        pthread_cond_wait(&T->cv, &T->mu);
                    atomic_store(&T->sleeping, 0);
                    pthread_mutex_unlock(&T->mu);
                    t0 = 0;
                }
            }
        }
        if (atomic_load(&T->quit))
            return NULL;
        seen = atomic_load_explicit(&T->posted, memory_order_acquire);
        if (claim(T, seen)) {   /* else the decoding thread took it */
            run_step(T->st, &T->sc, T->data, T->k);
            atomic_store_explicit(&T->done, seen, memory_order_release);
        }
    }
}

static void pipe_free(struct mbz_mb_pipe *T)
{
    mbz_mb_scratch_free(&T->sc);
    free(T->gout);
    pthread_mutex_destroy(&T->mu);
    pthread_cond_destroy(&T->cv);
    free(T);
}

int mbz_mb_pipe_start(mb_state *st)
{
    const mb_model *M = st->M;
    if (st->pipe)
        return 0;
    if (M->LAG < 2)
        return -1;
    struct mbz_mb_pipe *T = mbz_alloc64(sizeof *T);
    if (!T)
        return -1;
    memset(T, 0, sizeof *T);
    T->st = st;
    T->backoff = BACKOFF_MIN;
    atomic_init(&T->posted, 0);
    atomic_init(&T->claim, 0);
    atomic_init(&T->done, 0);
    atomic_init(&T->quit, 0);
    atomic_init(&T->sleeping, 0);
    pthread_mutex_init(&T->mu, NULL);
    pthread_cond_init(&T->cv, NULL);
    T->gout = calloc(M->DG, sizeof(int16_t));
    if (!T->gout || mbz_mb_scratch_alloc(&T->sc, M, st->R, 1, 1) != MBZ_OK) {
        pipe_free(T);
        return -1;
    }
    if (pthread_create(&T->thread, NULL, helper_main, T) != 0) {
        pipe_free(T);
        return -1;
    }
    st->pipe = T;
    return 0;
}

/* Take the posted step's output: run it here if the helper has not claimed it,
 * else wait until it is done. */
static void take(struct mbz_mb_pipe *T)
{
    unsigned n = atomic_load(&T->posted);
    if (claim(T, n)) {
        run_step(T->st, &T->st->sc, T->data, T->k);
    } else {
        for (unsigned spins = 1; atomic_load_explicit(&T->done, memory_order_acquire) != n; spins++) {
            cpu_relax();
            if (spins % SPIN_YIELD == 0)
                sched_yield();
        }
    }
    T->inflight = 0;
}

int mbz_mb_pipe_global(mb_state *st, const uint8_t *data, size_t pos, const int16_t **gout)
{
    struct mbz_mb_pipe *T = st->pipe;
    const mb_model *M = st->M;
    size_t k = pos / M->P;
    if (pos % M->P) {
        if (T->have != k + 1)
            return MBZ_ERR_PARAM;   /* positions must come in order */
        *gout = T->gout;
        return MBZ_OK;
    }
    if (T->have != k)
        return MBZ_ERR_PARAM;
    size_t n = T->n++;
    if (T->inflight) {
        if (T->k != k)
            return MBZ_ERR_INTERNAL;
        uint64_t t0 = now_ns();
        take(T);
        T->take_ns += now_ns() - t0;
        if (++T->take_cnt == WINDOW) {
            if (T->solo_ns && T->take_ns > WINDOW * T->solo_ns) {
                T->solo_until = T->n + T->backoff;
                T->backoff = T->backoff < BACKOFF_MAX ? 2 * T->backoff : BACKOFF_MAX;
            } else {
                T->backoff = BACKOFF_MIN;
            }
            T->take_ns = 0;
            T->take_cnt = 0;
        }
    } else {
        if (st->g_done != k)
            return MBZ_ERR_PARAM;
        uint64_t t0 = n % PROBE == 1 ? now_ns() : 0;
        run_step(st, &st->sc, data, k);
        if (t0)
            T->solo_ns = now_ns() - t0;
    }
    memcpy(T->gout, st->last_gout, M->DG * sizeof(int16_t));
    T->have = k + 1;
    /* the block has patch k + 1: post its step, unless it is to run alone (a probe, one
     * patch after a multiple of PROBE, or backed off) */
    if ((k + 1) * M->P < st->block_len && (T->n % PROBE != 1 || T->n == 1) &&
        T->n >= T->solo_until) {
        T->data = data;
        T->k = k + 1;
        T->inflight = 1;
        atomic_fetch_add_explicit(&T->posted, 1, memory_order_release);
        if (atomic_load(&T->sleeping)) {
            pthread_mutex_lock(&T->mu);
            pthread_cond_signal(&T->cv);
            pthread_mutex_unlock(&T->mu);
        }
    }
    *gout = T->gout;
    return MBZ_OK;
}

void mbz_mb_pipe_stop(mb_state *st)
{
    struct mbz_mb_pipe *T = st->pipe;
    if (!T)
        return;
    if (T->inflight)
        take(T);   /* the ring then holds what one thread would have left */
    atomic_store(&T->quit, 1);
    pthread_mutex_lock(&T->mu);
    pthread_cond_signal(&T->cv);
    pthread_mutex_unlock(&T->mu);
    pthread_join(T->thread, NULL);
    pipe_free(T);
    st->pipe = NULL;
}
