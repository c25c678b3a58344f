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

#include "audio.h"
#include "block.h"
#include "frame.h"
#include "image.h"
#include "media.h"
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
    int rc = mbz_stack_build(m, mbz_frame_version_for_flags(frame_flags), frame_flags, &stack, err);
    if (rc != MBZ_OK)
        return rc;
    mbz_block_scratch scratch = { 0 };
    const uint8_t *in = data;
    /* CM frames: the history runs across segments of blocks, as compression's does
     * (api.c); a block that compression stored after all is not known here */
    unsigned block_log = 0;
    while (((size_t)1 << block_log) < block_len && block_log < 40)
        block_log++;
    mbz_cm_chain chain = { .window = mbz_frame_history(block_log), .features = stack.cm_features };
    size_t seg = chain.window / block_len ? chain.window / block_len : 1, len;
    /* MEDIA frames: the blocks compression cuts (media.c), media blocks through
     * their own model, outside the history */
    mbz_media det = { .n = 0 };
    uint8_t *media_out = NULL;
    size_t block = 0;
    for (size_t start = 0; start < n && rc == MBZ_OK; start += len, block++) {
        len = n - start < block_len ? n - start : block_len;
        const mbz_media_format *fmt = NULL;
        if (frame_flags & MBZ_FLAG_MEDIA)
            len = mbz_media_block(&det, start, in + start, len, block_len, &fmt);
        char where[48];
        snprintf(where, sizeof where, "explain: block %zu", block + 1);
        if (block % seg == 0)
            mbz_cm_chain_reset(&chain);
        if (fmt) {
            /* the media models give no per-byte costs: each byte of the block gets
             * its share of the payload (or 8 bits, if it would be stored) */
            if (!media_out && !(media_out = malloc(block_len)))
                rc = mbz_fail(err, MBZ_ERR_NOMEM, "explain: out of memory");
            size_t plen = 0;
            if (rc == MBZ_OK)
                plen = fmt->kind == MBZ_MEDIA_AUDIO ? mbz_audio_encode(&fmt->pcm, in + start, len, media_out, len - 1, MBZ_AUDIO_REV)
                                                    : mbz_image_encode(&fmt->img, in + start, len, media_out, len - 1, MBZ_IMG_REV);
            uint64_t bits = plen ? (uint64_t)plen * 8 * 65536 : (uint64_t)len * 8 * 65536;
            for (size_t i = 0; i < len; i++)
                cost[start + i] = (uint32_t)(bits / len);
            continue;
        }
        rc = mbz_block_costs(&stack, stack.cm ? &chain : NULL, in + start, len, &scratch, where,
                             cost + start, err);
    }
    free(media_out);
    mbz_cm_chain_reset(&chain);
    mbz_block_scratch_free(&scratch);
    mbz_stack_free(&stack);
    return rc;
}
