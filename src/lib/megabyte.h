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

#endif
