/*
 * internal.h - small helpers every part of libmbz shares (library-internal, never
 * installed): the one-line error setters of errors.c and the little-endian byte
 * order of every on-disk integer (doc/format.md, doc/model-format.md).
 */
#ifndef MBZ_INTERNAL_H
#define MBZ_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include "mbz.h"

/* errors.c: fill err (if not NULL) with code and a printf-style message (one line:
 * newlines become spaces); return code. */
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

/* A buffer that only ever grows: buf if *cap >= need, else a new one of need bytes
 * (*cap updated; the old contents are not kept). NULL if out of memory (buf freed,
 * *cap 0). Threads keep their buffers from block to block this way. */
static inline void *mbz_grow(void *buf, size_t *cap, size_t need)
{
    if (*cap >= need)
        return buf;
    free(buf);
    buf = malloc(need);
    *cap = buf ? need : 0;
    return buf;
}

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

#endif
