/*
 * megabyte.h - the MEGABYTE entropy model, integer inference (internal).
 * Architecture and arithmetic: doc/model-format.md.
 */
#ifndef MBZ_MEGABYTE_H
#define MBZ_MEGABYTE_H

#include <stddef.h>
#include "mbz.h"

/* Parse and validate a model file image and build a model whose predictor runs the
 * integer MEGABYTE inference. The bytes are copied. Returns an mbz_status; on error
 * err->msg says what is wrong in one line. */
int mbz_megabyte_create(const void *data, size_t size, mbz_model **out, mbz_error *err);

/*
 * Opt-in time split (issue 5; read by tools/mbzbench-infer, doc/benchmarks.md).
 *
 * With the environment variable MBZIP_PROFILE set to a non-empty value other than
 * "0" when a predictor is created (or after mbz_megabyte_profile_enable(1)), the
 * engine adds the time spent in the global model and in the local model (local
 * transformer + head + frequency tables) to process-wide counters, separately for
 * teacher-forced scoring (compression) and for step prediction (predict and
 * predict_batch: decompression). Time is CLOCK_MONOTONIC, summed over threads.
 * Off (the default) it costs one predictable branch per call and changes nothing;
 * on, it never changes a frequency table either.
 */
enum {
    MBZ_PROF_SCORE_GLOBAL,    /* score(): global model (inputs, layers, output norm) */
    MBZ_PROF_SCORE_LOCAL,     /* score(): local model, head, frequency tables */
    MBZ_PROF_PREDICT_GLOBAL,  /* predict()/predict_batch(): global steps */
    MBZ_PROF_PREDICT_LOCAL,   /* predict()/predict_batch(): local steps */
    MBZ_PROF_N
};

typedef struct {
    uint64_t ns[MBZ_PROF_N];     /* nanoseconds */
    uint64_t calls[MBZ_PROF_N];  /* passes: global_forward calls (global), batches (local) */
    uint64_t rows[MBZ_PROF_N];   /* rows computed: patches (global), bytes (local); rows /
                                  * calls is the average batch of a pass */
    uint64_t keys_window;        /* global attention: keys in the windows (per head) */
    uint64_t keys_scored;        /* of them scored (the rest provably have e = 0) */
} mbz_megabyte_profile;

/* Force the profile on (1) or off (0) for predictors created from now on; -1: back
 * to MBZIP_PROFILE. */
void mbz_megabyte_profile_enable(int on);
/* Whether predictors created now are profiled. */
int mbz_megabyte_profile_enabled(void);
/* Read (and, with reset != 0, zero) the counters. */
void mbz_megabyte_profile_read(mbz_megabyte_profile *out, int reset);

/* Tests only: 0 turns off the skipping of global attention keys whose softmax
 * numerator is provably 0 (every key of the window is then scored: the reference the
 * skipping must reproduce); 1 (the default) turns it back on. Process-wide. */
void mbz_megabyte_set_key_skipping(int on);

/* The smallest global step (linear multiply-accumulates per patch) that predict()
 * splits over a helper thread when offered one (predictor op assist,
 * megabyte_team.c). Default MBZ_MB_TEAM_MIN: both built-in models (the default
 * model's step is 3.1 M, the fast model's 0.8 M: 4% faster step prediction with the
 * helper on a Zen 5 machine, 30-40% on an Intel Xeon, doc/library.md); a step much
 * smaller than the fast model's would pay more at the meetings than it gains.
 * Tests set 0: every model whose shapes allow it splits, and every step runs on
 * the team (otherwise the decoding thread times the team against steps alone and
 * runs alone while the team is the slower). Process-wide. */
#define MBZ_MB_TEAM_MIN 500000
void mbz_megabyte_set_team_min(size_t macs);

#endif
