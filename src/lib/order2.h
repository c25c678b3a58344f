/*
 * order2.h - the built-in adaptive order-2 model (order2.c; library-internal): the
 * model of level 1, and the order-2 input of the mixing stage (mix.c).
 */
#ifndef MBZ_ORDER2_H
#define MBZ_ORDER2_H

#include "predictor.h"

extern const mbz_predictor_ops mbz_order2_ops;
/* XXH64("mbzip order-2 model v1", seed 0); checked by a unit test. */
#define MBZ_ORDER2_FINGERPRINT UINT64_C(0x963f4df9da38c02d)

#endif
