/*
 * frame.h - the mbzip frame format (doc/format.md): constants, header packing and
 * validated parsing, plus small library-internal helpers shared by api.c/model.c.
 */
#ifndef MBZ_FRAME_H
#define MBZ_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include "mbz.h"
#include "predictor.h"

/* Frame versions: 1 (flags must be 0), 2 (adds flag 0x01, MBZ_FLAG_MIX in mix.h:
 * blocks coded through the mixing stage, doc/mixing.md) and 3 (adds flag 0x02,
 * MBZ_FLAG_STRIDED in strided.h: strided inference, level 9). A writer uses the
 * lowest version that has the flags it sets, so that older
 * readers decode every frame they can and name the version of those they cannot. */
#define MBZ_FRAME_VERSION 3
#define MBZ_FRAME_VERSION_MIN 1
#define MBZ_FRAME_FLAGS_V1 0x00
#define MBZ_FRAME_FLAGS_V2 0x01
#define MBZ_FRAME_FLAGS_V3 0x03
#define MBZ_FRAME_HEADER_SIZE 20
#define MBZ_BLOCK_HEADER_SIZE 21
#define MBZ_BLOCK_LOG_MIN 16
#define MBZ_BLOCK_LOG_MAX 26

enum {
    MBZ_BLOCK_END = 0,      /* end mark */
    MBZ_BLOCK_STORED = 1,
    MBZ_BLOCK_RLE = 2,
    MBZ_BLOCK_MODELLED = 3
};

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

static inline void mbz_put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void mbz_put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint32_t mbz_get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t mbz_get_le64(const uint8_t *p)
{
    return (uint64_t)mbz_get_le32(p) | (uint64_t)mbz_get_le32(p + 4) << 32;
}

void mbz_frame_header_write(const mbz_frame_header *h, uint8_t out[MBZ_FRAME_HEADER_SIZE]);
/* Parse and validate (magic, version, check, flags, level, block log). */
int mbz_frame_header_read(const uint8_t in[MBZ_FRAME_HEADER_SIZE], mbz_frame_header *h,
                          mbz_error *err);

void mbz_block_header_write(const mbz_block_header *h, uint8_t out[MBZ_BLOCK_HEADER_SIZE]);
/* Parse and validate a block header or end mark against the frame's block size.
 * `where` names it in messages (e.g. "block 3"). */
int mbz_block_header_read(const uint8_t in[MBZ_BLOCK_HEADER_SIZE], uint32_t block_size,
                          const char *where, mbz_block_header *h, mbz_error *err);

/* errors.c: fill err (if not NULL) with code and a printf-style message; return code. */
int mbz_fail(mbz_error *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Same with a saved errno appended as ": <strerror>" and kept in err->sys_errno. */
int mbz_fail_errno(mbz_error *err, int code, int errnum, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
void mbz_error_clear(mbz_error *err);

/* order2.c: the built-in adaptive model's predictor. */
extern const mbz_predictor_ops mbz_order2_ops;
/* XXH64("mbzip order-2 model v1", seed 0); checked by a unit test. */
#define MBZ_ORDER2_FINGERPRINT UINT64_C(0x963f4df9da38c02d)

#endif
