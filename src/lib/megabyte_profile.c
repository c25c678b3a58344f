/*
 * megabyte_profile.c - the MEGABYTE engine's opt-in time split (megabyte.h: issue 5,
 * MBZIP_PROFILE, mbz_megabyte_profile_*; read by tools/mbzbench-infer).
 *
 * Process-wide counters only: nanoseconds, passes and rows of the global and local
 * models for scoring and for step prediction, and the global attention keys scored.
 * The engine calls in here only for a predictor created with the profile on
 * (st->prof), so off it costs one branch per call; on, it never changes a frequency
 * table. Kept apart from the inference because nothing here touches the model.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "megabyte.h"
#include "megabyte_impl.h"

static atomic_int prof_force = -1;      /* -1: MBZIP_PROFILE decides */
static _Atomic uint64_t prof_ns[MBZ_PROF_N], prof_calls[MBZ_PROF_N], prof_rows[MBZ_PROF_N];
static _Atomic uint64_t prof_keys_window, prof_keys_scored;

void mbz_megabyte_profile_enable(int on)
{
    atomic_store(&prof_force, on < 0 ? -1 : on != 0);
}

static int prof_env;
static pthread_once_t prof_env_once = PTHREAD_ONCE_INIT;

static void prof_env_read(void)
{
    const char *e = getenv("MBZIP_PROFILE");
    prof_env = e && *e && strcmp(e, "0") != 0;
}

int mbz_megabyte_profile_enabled(void)
{
    int f = atomic_load(&prof_force);
    if (f >= 0)
        return f;
    pthread_once(&prof_env_once, prof_env_read);
    return prof_env;
}

void mbz_megabyte_profile_read(mbz_megabyte_profile *out, int reset)
{
    for (int i = 0; i < MBZ_PROF_N; i++) {
        out->ns[i] = reset ? atomic_exchange(&prof_ns[i], 0) : atomic_load(&prof_ns[i]);
        out->calls[i] = reset ? atomic_exchange(&prof_calls[i], 0) : atomic_load(&prof_calls[i]);
        out->rows[i] = reset ? atomic_exchange(&prof_rows[i], 0) : atomic_load(&prof_rows[i]);
    }
    out->keys_window = reset ? atomic_exchange(&prof_keys_window, 0) : atomic_load(&prof_keys_window);
    out->keys_scored = reset ? atomic_exchange(&prof_keys_scored, 0) : atomic_load(&prof_keys_scored);
}

uint64_t mbz_mb_prof_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Add the time since *t0 to counter `which` (passes made, rows computed), and restart
 * *t0. */
void mbz_mb_prof_add(int which, uint64_t *t0, size_t calls, size_t rows)
{
    uint64_t t = mbz_mb_prof_now();
    atomic_fetch_add_explicit(&prof_ns[which], t - *t0, memory_order_relaxed);
    atomic_fetch_add_explicit(&prof_calls[which], calls, memory_order_relaxed);
    atomic_fetch_add_explicit(&prof_rows[which], rows, memory_order_relaxed);
    *t0 = t;
}

/* Global attention of a profiled predictor: `window` keys in a head's window, of
 * which `scored` were scored (megabyte_global.c, mbz_mb_global_attend). */
void mbz_mb_prof_keys(size_t window, size_t scored)
{
    atomic_fetch_add_explicit(&prof_keys_window, window, memory_order_relaxed);
    atomic_fetch_add_explicit(&prof_keys_scored, scored, memory_order_relaxed);
}
