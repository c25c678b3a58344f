/*
 * mix.h - the adaptive mixing stage (doc/mixing.md), library-internal.
 *
 * A frame with flag MBZ_FLAG_MIX (frame.h) codes each modelled byte with the table of the
 * mixing stage instead of the bare model's: the model's table (MEGABYTE, or the
 * order-2 model at level 1) is one input of an online geometric mixer whose other
 * inputs are adaptive statistics of the block itself (an order-2 PPM blend, hashed
 * order-3/4/6 contexts, a match model). The mixer's weights start at "the model
 * alone" and learn, per block, how far to trust each input. Integer arithmetic
 * only: the output is a pure function of the base model's tables and the block's
 * earlier bytes, so it is as bit-exact and as batchable as the base model.
 */
#ifndef MBZ_MIX_H
#define MBZ_MIX_H

#include "predictor.h"

/* Fill *out with a model that is `base` seen through the mixing stage. It shares
 * base's fingerprint and impl pointer (out->impl points at base, which must
 * outlive out); it owns nothing, so it is never freed. */
void mbz_mix_wrap(const mbz_model *base, mbz_model *out);

#endif
