/*
 * explain.c - per-byte model costs (mbz_explain.h), for `mbzip --explain`.
 *
 * Scores each block with the block coder's own pass (mbz_block_costs, block.c), the
 * one compression codes with, so the costs are the ones the coder pays for (up to
 * the range coder's own few bytes of overhead per block).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "block.h"
#include "frame.h"
#include "mbz_explain.h"
#include "qmath.h"

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
    /* CM frames: the history runs across segments of blocks, as compression's does
     * (api.c); a block that compression stored after all is not known here */
    unsigned block_log = 0;
    while (((size_t)1 << block_log) < block_len && block_log < 40)
        block_log++;
    mbz_cm_chain chain = { .window = mbz_frame_history(block_log) };
    size_t seg = chain.window / block_len ? chain.window / block_len : 1;
    for (size_t start = 0; start < n && rc == MBZ_OK; start += block_len) {
        size_t len = n - start < block_len ? n - start : block_len;
        char where[48];
        snprintf(where, sizeof where, "explain: block %zu", start / block_len + 1);
        if ((start / block_len) % seg == 0)
            mbz_cm_chain_reset(&chain);
        rc = mbz_block_costs(&stack, stack.cm ? &chain : NULL, in + start, len, &scratch, where,
                             cost + start, err);
    }
    mbz_cm_chain_reset(&chain);
    mbz_block_scratch_free(&scratch);
    mbz_stack_free(&stack);
    return rc;
}
