/*
 * megabyte_helper.c - what the engine's two helper threads share: how a helper waits
 * for work (mbz_mb_signal) and how the decoding thread checks that the helper pays
 * (mbz_mb_pays). Used by megabyte_team.c (a global step split between two threads)
 * and megabyte_pipe.c (a lagged model's next global step beside this patch's bytes);
 * declarations in megabyte_impl.h.
 *
 * Waiting. Work comes every few tens of microseconds while a block decodes, so a
 * helper spins for SPIN_IDLE_NS before it sleeps on a condition variable: a step
 * then does not pay a wake-up, and a helper with nothing to do (between blocks, at
 * the end) gives its core back.
 *
 * Paying. Whether two threads beat one depends on the other core being free, which
 * nothing in the process knows (another process may hold it: the team's step was
 * measured four times slower than one thread's then). So the decoding thread times a
 * step alone once in PROBE steps and the helped steps in windows of WINDOW; a window
 * slower than as many steps alone runs the next `backoff` steps alone, a stretch that
 * doubles each time the helper loses again (up to BACKOFF_MAX) and returns to
 * BACKOFF_MIN when it wins. Which thread runs what never changes a table.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "megabyte_impl.h"

#define SPIN_IDLE_NS 2000000   /* a helper with no work spins this long, then sleeps */
#define PROBE 256              /* one step in this many runs alone, timed */
#define WINDOW 16              /* helped steps timed before they are compared with it */
#define BACKOFF_MIN 256        /* steps alone after a window the helper lost, doubling */
#define BACKOFF_MAX 65536

void mbz_mb_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

uint64_t mbz_mb_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------------ waiting */

void mbz_mb_signal_init(mbz_mb_signal *s)
{
    atomic_init(&s->posted, 0);
    atomic_init(&s->quit, 0);
    atomic_init(&s->sleeping, 0);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
}

void mbz_mb_signal_destroy(mbz_mb_signal *s)
{
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
}

void mbz_mb_signal_post(mbz_mb_signal *s)
{
    /* seq_cst against the helper's store of sleeping: one of the two sees the other */
    atomic_fetch_add(&s->posted, 1);
    if (atomic_load(&s->sleeping)) {
        pthread_mutex_lock(&s->mu);
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
    }
}

unsigned mbz_mb_signal_wait(mbz_mb_signal *s, unsigned seen)
{
    uint64_t t0 = 0;
    for (unsigned spins = 0; atomic_load_explicit(&s->posted, memory_order_acquire) == seen &&
                             !atomic_load(&s->quit);
         spins++) {
        mbz_mb_cpu_relax();
        if (spins % 256 == 0) {
            uint64_t t = mbz_mb_now_ns();
            if (!t0) {
                t0 = t;
            } else if (t - t0 > SPIN_IDLE_NS) {
                pthread_mutex_lock(&s->mu);
                atomic_store(&s->sleeping, 1);
                while (atomic_load(&s->posted) == seen && !atomic_load(&s->quit))
                    pthread_cond_wait(&s->cv, &s->mu);
                atomic_store(&s->sleeping, 0);
                pthread_mutex_unlock(&s->mu);
                t0 = 0;
            }
        }
    }
    return atomic_load(&s->quit) ? seen : atomic_load_explicit(&s->posted, memory_order_acquire);
}

void mbz_mb_signal_quit(mbz_mb_signal *s)
{
    atomic_store(&s->quit, 1);
    pthread_mutex_lock(&s->mu);
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* ------------------------------------------------------------------ paying */

void mbz_mb_pays_init(mbz_mb_pays *p)
{
    p->solo_until = 0;
    p->backoff = BACKOFF_MIN;
    p->solo_ns = p->helped_ns = 0;
    p->helped_cnt = 0;
}

int mbz_mb_pays_alone(const mbz_mb_pays *p, size_t n)
{
    if (n < p->solo_until)
        return MBZ_MB_ALONE;
    return n % PROBE == 0 ? MBZ_MB_PROBE : MBZ_MB_HELPED;
}

void mbz_mb_pays_solo(mbz_mb_pays *p, uint64_t ns)
{
    p->solo_ns = ns;
}

void mbz_mb_pays_helped(mbz_mb_pays *p, size_t n, uint64_t ns)
{
    p->helped_ns += ns;
    if (++p->helped_cnt < WINDOW)
        return;
    if (p->solo_ns && p->helped_ns > WINDOW * p->solo_ns) {
        p->solo_until = n + 1 + p->backoff;
        p->backoff = p->backoff < BACKOFF_MAX ? 2 * p->backoff : BACKOFF_MAX;
    } else {
        p->backoff = BACKOFF_MIN;
    }
    p->helped_ns = 0;
    p->helped_cnt = 0;
}
