/*
 * pool.h - a fixed set of worker threads for one stream call (pool.c;
 * library-internal). Started once per compress/decompress call and reused for every
 * batch of blocks, so that a stream of many small blocks costs no thread start per
 * block (100,000 one-byte blocks used to spend 3.3 s in the kernel on thread starts).
 */
#ifndef MBZ_POOL_H
#define MBZ_POOL_H

typedef struct mbz_pool mbz_pool;
typedef void (*mbz_pool_fn)(void *ctx, int t, int nt);

/* A pool that runs up to `threads` shares at once (the caller's thread is share 0).
 * Never fails: threads that cannot be started are replaced by running their share on
 * the caller's thread, so results never depend on how many started. NULL only when
 * even the pool's memory could not be had; mbz_pool_run then runs every share on the
 * caller's thread. */
mbz_pool *mbz_pool_create(int threads);
/* Run fn(ctx, t, nt) for t = 0 .. nt-1 (nt <= threads) and wait for all of them. */
void mbz_pool_run(mbz_pool *p, int nt, mbz_pool_fn fn, void *ctx);
void mbz_pool_free(mbz_pool *p);

#endif
