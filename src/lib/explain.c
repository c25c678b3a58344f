/*
 * explain.c - per-byte model costs (mbz_explain.h), for `mbzip --explain`.
 *
 * Uses only the predictor ops (create / score / destroy) and mbz_cost_q16, the same
 * calls compress_block() in api.c makes, so the costs are the ones the coder pays
 * for (up to the range coder's own few bytes of overhead per block).
 */
#include "config.h"

#include <stdlib.h>

#include "frame.h"
#include "mbz_explain.h"
#include "predictor.h"
#include "rangecoder.h"
#include "strided.h"

#define EXPLAIN_CHUNK_DEFAULT 4096

int mbz_explain_costs(const mbz_model *m, unsigned frame_flags, const void *data, size_t n,
                      size_t block_len, uint32_t *cost, mbz_error *err)
{
    if (err)
        mbz_error_clear(err);
    if (!m || !m->ops || !m->ops->create || !m->ops->score || !m->ops->destroy)
        return mbz_fail(err, MBZ_ERR_PARAM, "explain: no usable model");
    if (block_len == 0 || (n && (!data || !cost)))
        return mbz_fail(err, MBZ_ERR_PARAM, "explain: invalid arguments");
    mbz_frame_model fm;
    int rc = mbz_frame_model_build(m, frame_flags, &fm, err);
    if (rc != MBZ_OK)
        return rc;
    m = fm.top;
    const mbz_predictor_ops *ops = m->ops;
    size_t chunk = ops->score_chunk ? ops->score_chunk : EXPLAIN_CHUNK_DEFAULT;
    uint16_t *freq = malloc(chunk * MBZ_SYMBOLS * sizeof *freq);
    if (!freq) {
        mbz_frame_model_free(&fm);
        return mbz_fail(err, MBZ_ERR_NOMEM, "explain: out of memory");
    }
    const uint8_t *in = data;
    for (size_t start = 0; start < n && rc == MBZ_OK; start += block_len) {
        size_t len = n - start < block_len ? n - start : block_len;
        const uint8_t *blk = in + start;
        mbz_predictor *p = NULL;
        rc = ops->create(m->impl, len, &p);
        if (rc != MBZ_OK) {
            rc = mbz_fail(err, rc, "explain: model %s failed to start", ops->name);
            break;
        }
        for (size_t pos = 0; pos < len;) {
            size_t k = len - pos < chunk ? len - pos : chunk;
            rc = ops->score(p, blk, len, pos, k, freq);
            if (rc != MBZ_OK) {
                rc = mbz_fail(err, rc, "explain: model %s failed at byte %zu", ops->name,
                              start + pos);
                break;
            }
            for (size_t i = 0; i < k; i++)
                cost[start + pos + i] = mbz_cost_q16(freq[i * MBZ_SYMBOLS + blk[pos + i]]);
            pos += k;
        }
        ops->destroy(p);
    }
    free(freq);
    mbz_frame_model_free(&fm);
    return rc;
}
