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
 * the team does: one step in 256 runs alone and is timed, and while taking the
 * posted steps costs more than running them alone, steps run alone for a stretch
 * that doubles each time the pipe loses again (measured beside a process that kept
 * one core busy: 83-112 KB/s with the helper against 116-154 alone, before this).
 * The tables never depend on which thread ran a step. Between steps the helper spins
 * for a while and then sleeps. Both the waiting and the check are the team's
 * (megabyte_helper.c); the pipe replaces the team for a lagged model (mb_assist,
 * megabyte.c).
 */
#include "config.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "mbz.h"
#include "megabyte_impl.h"
#include "modelfile.h"

#define SPIN_YIELD 20000       /* spins of the decoding thread before each sched_yield() */

struct mbz_mb_pipe {
    mb_state *st;
    pthread_t thread;
    scratch sc;             /* the helper's inputs and products (one row) */
    int16_t *gout;          /* DG: global output of the patch being decoded */
    size_t have;            /* gout holds patch have - 1 (0: none yet) */
    const uint8_t *data;    /* the block's bytes, for the posted step */
    size_t k;               /* the patch of the step posted last */
    int inflight;           /* a step was posted and its output not yet taken */
    size_t n;               /* patches begun (the decoding thread) */
    mbz_mb_pays pays;       /* whether the helper pays (the decoding thread;
                             * megabyte_helper.c) */
    mbz_mb_signal sig;      /* steps posted (the decoding thread) */
    atomic_uint claim;      /* steps claimed: the one that raises it to `posted` runs it */
    atomic_uint done;       /* steps finished */
    _Alignas(64) char end;
};

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
        unsigned posted = mbz_mb_signal_wait(&T->sig, seen);
        if (posted == seen)
            return NULL;   /* quit */
        seen = posted;
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
    mbz_mb_signal_destroy(&T->sig);
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
    mbz_mb_pays_init(&T->pays);
    mbz_mb_signal_init(&T->sig);
    atomic_init(&T->claim, 0);
    atomic_init(&T->done, 0);
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
    unsigned n = atomic_load(&T->sig.posted);
    if (claim(T, n)) {
        run_step(T->st, &T->st->sc, T->data, T->k);
    } else {
        for (unsigned spins = 1; atomic_load_explicit(&T->done, memory_order_acquire) != n; spins++) {
            mbz_mb_cpu_relax();
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
        uint64_t t0 = mbz_mb_now_ns();
        take(T);
        mbz_mb_pays_helped(&T->pays, n, mbz_mb_now_ns() - t0);
    } else {
        if (st->g_done != k)
            return MBZ_ERR_PARAM;
        int probe = n > 0 && mbz_mb_pays_alone(&T->pays, n) == MBZ_MB_PROBE;
        uint64_t t0 = probe ? mbz_mb_now_ns() : 0;
        run_step(st, &st->sc, data, k);
        if (probe)
            mbz_mb_pays_solo(&T->pays, mbz_mb_now_ns() - t0);
    }
    memcpy(T->gout, st->last_gout, M->DG * sizeof(int16_t));
    T->have = k + 1;
    /* the block has patch k + 1: post its step, unless it is to run alone (a probe, or
     * backed off). Step 0, never posted, runs alone untimed: its empty ring makes it
     * faster than a step alone later. */
    if ((k + 1) * M->P < st->block_len && mbz_mb_pays_alone(&T->pays, T->n) == MBZ_MB_HELPED) {
        T->data = data;
        T->k = k + 1;
        T->inflight = 1;
        mbz_mb_signal_post(&T->sig);   /* publishes data and k */
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
    mbz_mb_signal_quit(&T->sig);
    pthread_join(T->thread, NULL);
    pipe_free(T);
    st->pipe = NULL;
}
