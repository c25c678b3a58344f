/*
 * pool.c - worker threads reused across batches (pool.h).
 *
 * Each worker waits for the generation counter to move, runs its share of the
 * current job if its index is below the job's nt, and reports done. Workers are
 * started lazily, the first time a job needs them, so a call that never runs more
 * than one share starts no thread at all.
 */
#include "config.h"
#include <pthread.h>
#include <stdlib.h>
#include "pool.h"

#define POOL_MAX 256

struct mbz_pool {
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    unsigned long gen;          /* job number; workers run when it moves */
    int quit;
    int threads;                /* shares at most, the caller's included */
    int started;                /* workers running: indices 1 .. started */
    int pending;                /* workers still running the current job */
    mbz_pool_fn fn;
    void *ctx;
    int nt;
    pthread_t tid[POOL_MAX];
    struct worker { struct mbz_pool *p; int t; unsigned long seen; } w[POOL_MAX];
};

static void *worker_main(void *a)
{
    struct worker *w = a;
    mbz_pool *p = w->p;
    pthread_mutex_lock(&p->mu);
    unsigned long seen = w->seen; /* the job before the one it was started for */
    for (;;) {
        while (p->gen == seen && !p->quit)
            pthread_cond_wait(&p->go, &p->mu);
        if (p->quit)
            break;
        seen = p->gen;
        if (w->t < p->nt) {
            mbz_pool_fn fn = p->fn;
            void *ctx = p->ctx;
            int nt = p->nt;
            pthread_mutex_unlock(&p->mu);
            fn(ctx, w->t, nt);
            pthread_mutex_lock(&p->mu);
            if (--p->pending == 0)
                pthread_cond_signal(&p->done);
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

mbz_pool *mbz_pool_create(int threads)
{
    mbz_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        free(p);
        return NULL;
    }
    if (pthread_cond_init(&p->go, NULL) != 0) {
        pthread_mutex_destroy(&p->mu);
        free(p);
        return NULL;
    }
    if (pthread_cond_init(&p->done, NULL) != 0) {
        pthread_cond_destroy(&p->go);
        pthread_mutex_destroy(&p->mu);
        free(p);
        return NULL;
    }
    p->threads = threads < 1 ? 1 : threads > POOL_MAX ? POOL_MAX : threads;
    return p;
}

/* Start workers 1 .. nt-1 that are not running yet (called with mu held, before
 * gen moves: a new worker has seen the current gen, so it runs the coming job). */
static void start_workers(mbz_pool *p, int nt)
{
    while (p->started + 1 < nt) {
        int t = p->started + 1;
        p->w[t] = (struct worker){ p, t, p->gen };
        if (pthread_create(&p->tid[t], NULL, worker_main, &p->w[t]) != 0)
            break;
        p->started = t;
    }
}

void mbz_pool_run(mbz_pool *p, int nt, mbz_pool_fn fn, void *ctx)
{
    if (!p || nt <= 1) {
        for (int t = 0; t < (nt < 1 ? 1 : nt); t++)
            fn(ctx, t, nt < 1 ? 1 : nt);
        return;
    }
    if (nt > p->threads)
        nt = p->threads;
    pthread_mutex_lock(&p->mu);
    start_workers(p, nt);
    int workers = p->started + 1 < nt ? p->started : nt - 1;
    p->fn = fn;
    p->ctx = ctx;
    p->nt = nt;
    p->pending = workers;
    p->gen++;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    /* share 0 here, and the shares of workers that could not be started */
    fn(ctx, 0, nt);
    for (int t = workers + 1; t < nt; t++)
        fn(ctx, t, nt);
    pthread_mutex_lock(&p->mu);
    while (p->pending > 0)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

void mbz_pool_free(mbz_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    for (int t = 1; t <= p->started; t++)
        pthread_join(p->tid[t], NULL);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->go);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
