/*
 * predictor.c - helpers of the predictor contract (predictor.h) shared by the block
 * coder and the model wrappers.
 */
#include "config.h"
#include "mbz.h"
#include "predictor.h"

int mbz_predict_many(const mbz_predictor_ops *ops, mbz_predictor **p,
                     const uint8_t *const *data, const size_t *pos, int nb, uint16_t *freq)
{
    if (nb == 1)
        return ops->predict(p[0], data[0], pos[0], freq);
    if (ops->predict_batch)
        return ops->predict_batch(p, data, pos, nb, freq);
    for (int i = 0; i < nb; i++) {
        int rc = ops->predict(p[i], data[i], pos[i], freq + (size_t)i * MBZ_SYMBOLS);
        if (rc != MBZ_OK)
            return rc;
    }
    return MBZ_OK;
}
