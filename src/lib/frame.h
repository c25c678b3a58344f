/*
 * frame.h - the mbzip frame format (doc/format.md): constants, the frame flags and
 * which frame version carries them, header packing and validated parsing.
 */
#ifndef MBZ_FRAME_H
#define MBZ_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include "internal.h"
#include "mbz.h"

/* Frame versions and flags. Each version adds one flag bit:
 *   1  no flags
 *   2  MBZ_FLAG_MIX      blocks are coded through the mixing stage (doc/mixing.md)
 *   3  MBZ_FLAG_STRIDED  strided inference (strided.c; level 9)
 *   4  MBZ_FLAG_CM       modelled blocks are coded bit by bit through the binary
 *                        context-mixing stage (cm.c, bitcoder.h) instead of the
 *                        256-way mixing stage and the range coder
 *   5  MBZ_FLAG_MEDIA    blocks of types 5 (audio: audio.c) and 6 (image: image.c)
 *                        may occur
 *   6  MBZ_FLAG_RECORD   the binary stage includes the record model (cm.c; only
 *                        with MBZ_FLAG_CM). The stage itself is part of the format:
 *                        each later change to it comes with a flag of its own (or,
 *                        the flags byte having one bit left, a frame version of
 *                        its own), so that frames written before it decode as they
 *                        always did
 *   7  MBZ_FLAG_FILTER   a modelled block's payload starts with a filter id
 *                        (filter.h: the x86 branch filter; only with MBZ_FLAG_CM)
 *   8  MBZ_FLAG_INDEX    a seek index follows the end mark (seekindex.h); any
 *                        other flags may go with it
 *   9  (no new flag)     the binary stage of a CM frame is its revision 2 (cm.h
 *                        MBZ_CM_REV2: more contexts, mixers and maps); frames of
 *                        versions 4-8 keep revision 1. Bit 7 stays undefined
 *  10  (no new flag)     the image model's revision 2 in MEDIA frames: image
 *                        blocks may hold 1-bit pixels (the image payload's format
 *                        bit 2: bilevel.c), and the errors of the others are coded
 *                        through residual.h's mixed coder
 *  11  MBZ_FLAG_FAST     the binary stage runs its fast configuration (cm.h
 *                        MBZ_CM_FAST, level 1) and the frame's model is not run
 *                        (only with MBZ_FLAG_CM, and neither MBZ_FLAG_RECORD,
 *                        which the configuration has of its own, nor _STRIDED)
 *  12  (no new flag)     the audio model's revision 2 in MEDIA frames: an audio
 *                        payload's parameters may give a shift, the number of low
 *                        bits that are zero in every sample, and a least-squares
 *                        stage leads the predictors (audio.c); the image model's
 *                        revision 3: least squares and the channels' gradients
 *                        among its predictors, two more contexts (image.c)
 *  13  (no new flag)     the binary stage of a CM frame is its revision 3 (cm.h
 *                        MBZ_CM_REV3: counter maps, an order-0/match-byte context,
 *                        two more maps, four times the hash table); frames of
 *                        versions 9-12 keep revision 2 (FAST frames have no
 *                        revisions)
 *  14  (no new flag)     the image model's revision 4 in MEDIA frames: the error
 *                        coder codes the sign before the magnitude and takes the
 *                        predictors' deviations as contexts, a second weight set
 *                        and two APMs; the first channel has five more predictors
 *                        (image.c, residual.h)
 *  15  (no new flag)     the audio model's revision 3 in MEDIA frames: 32-bit
 *                        samples (an audio payload's sample-size code 3), their
 *                        bits below the top 24 coded apart, three parameter
 *                        bytes, priors for the error coder (audio.c)
 *  16  (no new flag)     the audio model's revision 4 in MEDIA frames: an audio
 *                        block may be a whole WAV file, whose canonical 44-byte
 *                        header the decoder writes from the parameters (a flag
 *                        bit and the sample rate: audio.h mbz_wav_header)
 * A writer uses the lowest version that has the flags it sets, version 16 for every
 * MEDIA frame (levels 1-9), 13 for every other CM frame but FAST ones and 11 for
 * FAST ones without MEDIA
 * (mbz_frame_version_for_flags), so
 * that older readers decode every frame they can and name the version of those
 * they cannot; a reader refuses flags its version does not define
 * (mbz_frame_flags_known). */
#define MBZ_FRAME_VERSION 16
#define MBZ_FRAME_VERSION_CM2 9     /* CM frames from this version on: revision 2 */
#define MBZ_FRAME_VERSION_CM3 13    /* and from this one on: revision 3 */
#define MBZ_FRAME_VERSION_IMAGE2 10 /* MEDIA frames from this one on: image revision 2 */
#define MBZ_FRAME_VERSION_FAST 11   /* the first with MBZ_FLAG_FAST */
#define MBZ_FRAME_VERSION_AUDIO2 12 /* MEDIA frames from this one on: audio revision 2 */
#define MBZ_FRAME_VERSION_IMAGE3 12 /* and image revision 3 */
#define MBZ_FRAME_VERSION_IMAGE4 14 /* MEDIA frames from this one on: image revision 4 */
#define MBZ_FRAME_VERSION_AUDIO3 15 /* MEDIA frames from this one on: audio revision 3 */
#define MBZ_FRAME_VERSION_AUDIO4 16 /* MEDIA frames from this one on: audio revision 4 */
#define MBZ_FRAME_VERSION_MIN 1
#define MBZ_FLAG_MIX 0x01
#define MBZ_FLAG_STRIDED 0x02
#define MBZ_FLAG_CM 0x04
#define MBZ_FLAG_MEDIA 0x08
#define MBZ_FLAG_RECORD 0x10
#define MBZ_FLAG_FILTER 0x20
#define MBZ_FLAG_INDEX 0x40
#define MBZ_FLAG_FAST 0x80
#define MBZ_FRAME_HEADER_SIZE 20
#define MBZ_BLOCK_HEADER_SIZE 21
#define MBZ_BLOCK_LOG_MIN 16
#define MBZ_BLOCK_LOG_MAX 26

enum {
    MBZ_BLOCK_END = 0,      /* end mark */
    MBZ_BLOCK_STORED = 1,
    MBZ_BLOCK_RLE = 2,
    MBZ_BLOCK_MODELLED = 3,
    /* CM frames only: a modelled block that starts a new history (below) */
    MBZ_BLOCK_MODELLED_FRESH = 4,
    /* MEDIA frames only: PCM samples coded by the audio model (audio.h) */
    MBZ_BLOCK_AUDIO = 5,
    /* MEDIA frames only: rows of pixels coded by the image model (image.h) */
    MBZ_BLOCK_IMAGE = 6
};

/* Blocks coded by the frame's model (and its history, in CM frames). */
static inline int mbz_block_is_modelled(uint8_t type)
{
    return type == MBZ_BLOCK_MODELLED || type == MBZ_BLOCK_MODELLED_FRESH;
}

/* Media blocks: coded by a model of their own, independent of the frame's model,
 * history and other blocks. */
static inline int mbz_block_is_media(uint8_t type)
{
    return type == MBZ_BLOCK_AUDIO || type == MBZ_BLOCK_IMAGE;
}

/* Blocks whose payload is a coded form of the content (read into a payload buffer
 * and decoded): the modelled ones and media blocks, which need no model. */
static inline int mbz_block_is_coded(uint8_t type)
{
    return mbz_block_is_modelled(type) || mbz_block_is_media(type);
}

/* History (CM frames, doc/format.md): the binary stage's state runs on from one
 * modelled block of a frame to the next. A type-4 block starts it afresh; a type-3
 * block continues it; stored and run-length blocks leave it alone. One history
 * holds at most mbz_frame_history(block_log) bytes (its tables are sized by that):
 * 16 blocks, at most 64 MiB. */
static inline size_t mbz_frame_history(unsigned block_log)
{
    return (size_t)1 << (block_log + 4 < 26 ? block_log + 4 : 26);
}

extern const uint8_t mbz_frame_magic[4];

typedef struct {
    uint8_t version, flags, level, block_log;
    uint64_t fingerprint;
} mbz_frame_header;

/* A block header or, for type MBZ_BLOCK_END, the end mark. */
typedef struct {
    uint8_t type;
    uint32_t content_size;  /* blocks */
    uint32_t payload_size;  /* blocks */
    uint64_t checksum;      /* blocks: XXH64 of content; end: XXH64 of the frame content */
    uint64_t total;         /* end: total content size */
} mbz_block_header;

/* The flag bits frame version `version` defines (0 for an unknown version). */
unsigned mbz_frame_flags_known(unsigned version);
/* The lowest frame version that defines every bit of `flags`. */
uint8_t mbz_frame_version_for_flags(unsigned flags);

void mbz_frame_header_write(const mbz_frame_header *h, uint8_t out[MBZ_FRAME_HEADER_SIZE]);
/* Parse and validate (magic, version, check, flags, level, block log). */
int mbz_frame_header_read(const uint8_t in[MBZ_FRAME_HEADER_SIZE], mbz_frame_header *h,
                          mbz_error *err);

void mbz_block_header_write(const mbz_block_header *h, uint8_t out[MBZ_BLOCK_HEADER_SIZE]);
/* Parse and validate a block header or end mark against the frame's block size.
 * `where` names it in messages (e.g. "block 3"). */
int mbz_block_header_read(const uint8_t in[MBZ_BLOCK_HEADER_SIZE], uint32_t block_size,
                          const char *where, mbz_block_header *h, mbz_error *err);
/* Whether a frame with these flags may hold a block of this type (type 4 needs CM,
 * types 5 and 6 MEDIA); MBZ_ERR_CORRUPT with a message naming the block if not. */
int mbz_block_type_check(unsigned flags, uint8_t type, const char *where, mbz_error *err);

#endif
