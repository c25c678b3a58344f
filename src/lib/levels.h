/*
 * levels.h - what each compression level means (levels.c; library-internal). The
 * one place that decides, per level, the block size and the model stack; the frame
 * header records the outcome (block size, flags, model fingerprint), so a decoder
 * never consults this table.
 */
#ifndef MBZ_LEVELS_H
#define MBZ_LEVELS_H

#include <stdint.h>
#include "predictor.h"

enum { MBZ_LEVEL_MODEL_ORDER2, MBZ_LEVEL_MODEL_FAST, MBZ_LEVEL_MODEL_DEFAULT };

typedef struct {
    uint8_t block_log;     /* blocks of 2^block_log bytes (an input that ends within
                            * the first block gets fewer at levels 2-9: api.c) */
    uint8_t model;         /* the built-in model: MBZ_LEVEL_MODEL_ORDER2, _FAST or _DEFAULT */
    uint8_t strided;       /* 1: run a patch model twice, offset by half a patch */
    uint8_t fast;          /* 1: the binary stage's fast configuration (MBZ_FLAG_FAST),
                            * when the model is the level's own order-2 one */
} mbz_level;

/* The entry of a level in MBZ_LEVEL_MIN..MBZ_LEVEL_MAX (checked by the caller). */
const mbz_level *mbz_level_get(int level);

/* The base model of a level when the caller names none. */
const mbz_model *mbz_level_model(const mbz_level *L);

/* The frame flags (frame.h) that code with `model` at level L: strided inference
 * where the level asks for it and the model has patches, and unless no_mix the
 * binary context-mixing stage and its parts (CM, MEDIA, RECORD, FILTER; at level 1
 * with its order-2 model FAST instead of RECORD). */
unsigned mbz_level_flags(const mbz_level *L, const mbz_model *model, int no_mix);

#endif
