/*
 * levels.c - the level table (levels.h).
 *
 * Level 1 codes with the binary stage's fast configuration alone (its order-2 model
 * is named in the frame but not run, unless --model names another); levels 2-4 with
 * the fast model and levels 5-9 with the default model (both MEGABYTE when built in;
 * the fast one has half the widths, and runs about twice as fast) under the full
 * stage, level 9 with strided inference (two passes). A MEGABYTE model sees a window
 * of ctx bytes (2 KiB for both: the default model was trained with 8 KiB and runs
 * with 2, model/MODEL.md) and restarts at each block; the binary context-mixing
 * stage (doc/mixing.md) learns from a history of 16 blocks (frame.h:
 * mbz_frame_history, at most 64 MiB), so the block size sets the window of the
 * stage and how many threads compression can use (one per history). Level 6, the
 * default, uses 1 MiB blocks: 16 MiB histories.
 */
#include "config.h"
#include "frame.h"
#include "levels.h"

enum { O2 = MBZ_LEVEL_MODEL_ORDER2, FM = MBZ_LEVEL_MODEL_FAST, DM = MBZ_LEVEL_MODEL_DEFAULT };

static const mbz_level levels[MBZ_LEVEL_MAX + 1] = {
    /*        block_log model strided fast */
    [1] = { 18, O2, 0, 1 },
    [2] = { 16, FM, 0, 0 },
    [3] = { 17, FM, 0, 0 },
    [4] = { 18, FM, 0, 0 },
    [5] = { 19, DM, 0, 0 },
    [6] = { 20, DM, 0, 0 },
    [7] = { 22, DM, 0, 0 },
    [8] = { 24, DM, 0, 0 },
    [9] = { 24, DM, 1, 0 },
};

const mbz_level *mbz_level_get(int level)
{
    return &levels[level];
}

const mbz_model *mbz_level_model(const mbz_level *L)
{
    switch (L->model) {
    case MBZ_LEVEL_MODEL_ORDER2: return mbz_model_order2();
    case MBZ_LEVEL_MODEL_FAST: return mbz_model_fast();
    default: return mbz_model_default();
    }
}

unsigned mbz_level_flags(const mbz_level *L, const mbz_model *model, int no_mix)
{
    unsigned flags = 0;
    if (L->strided && model->patch >= 2)
        flags |= MBZ_FLAG_STRIDED;
    if (no_mix)
        return flags;
    flags |= MBZ_FLAG_CM | MBZ_FLAG_MEDIA | MBZ_FLAG_FILTER;
    if (L->fast && model == mbz_model_order2()) /* the level's own model: not run */
        flags |= MBZ_FLAG_FAST;
    else
        flags |= MBZ_FLAG_RECORD;
    return flags;
}
