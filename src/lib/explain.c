/*
 * explain.c - per-byte model costs (mbz_explain.h), for `mbzip --explain`.
 *
 * Scores each block with the block coder's own pass (mbz_block_score, block.c), the
 * one compression codes with, so the costs are the ones the coder pays for (up to
 * the range coder's own few bytes of overhead per block).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "block.h"
#include "mbz_explain.h"
#include "qmath.h"

typedef struct {
    uint32_t *cost;            /* this block's costs */
    const uint8_t *blk;
} cost_sink;

static int record_costs(void *user, size_t pos, size_t k, const uint16_t *freq)
{
    cost_sink *cs = user;
    for (size_t i = 0; i < k; i++)
        cs->cost[pos + i] = mbz_cost_q16(freq[i * MBZ_SYMBOLS + cs->blk[pos + i]]);
    return MBZ_OK;
}

int mbz_explain_costs(const mbz_model *m, unsigned frame_flags, const void *data, size_t n,
                      size_t block_len, uint32_t *cost, mbz_error *err)
{
    if (err)
        mbz_error_clear(err);
    if (!m || !m->ops || !m->ops->create || !m->ops->score || !m->ops->destroy)
        return mbz_fail(err, MBZ_ERR_PARAM, "explain: no usable model");
    if (block_len == 0 || (n && (!data || !cost)))
        return mbz_fail(err, MBZ_ERR_PARAM, "explain: invalid arguments");
    mbz_stack stack;
    int rc = mbz_stack_build(m, frame_flags, &stack, err);
    if (rc != MBZ_OK)
        return rc;
    mbz_block_scratch scratch = { 0 };
    const uint8_t *in = data;
    for (size_t start = 0; start < n && rc == MBZ_OK; start += block_len) {
        size_t len = n - start < block_len ? n - start : block_len;
        char where[48];
        snprintf(where, sizeof where, "explain: block %zu", start / block_len + 1);
        cost_sink cs = { cost + start, in + start };
        rc = mbz_block_score(stack.top, in + start, len, &scratch, NULL, record_costs, &cs,
                             where, err);
    }
    mbz_block_scratch_free(&scratch);
    mbz_stack_free(&stack);
    return rc;
}
