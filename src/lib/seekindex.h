/*
 * seekindex.h - the seek index of a frame (flag INDEX, frame version 8;
 * doc/format.md, "Seek index"): a trailer after the frame's end mark that lists
 * every block's type and sizes, carries an optional annex (bytes the application
 * attaches: mbzip's archive member table), and ends with a fixed-size foot, so
 * that a reader of a file finds every block of the frame with two reads from the
 * end instead of one read per block from the start.
 *
 *   index = entry{n_blocks} annex_size(u32) annex foot
 *   entry = type(u8) content_size(u32) payload_size(u32)
 *   foot  = frame_size(u64) n_blocks(u32) annex_size(u32) body_check(u32)
 *           magic "MBZX" foot_check(u32)
 *
 * An index is only ever a shortcut: every block it leads to is read through its own
 * checked header, which must say what the entry says, and decoded against its own
 * checksum, so a wrong index can make a read fail but never return wrong bytes.
 */
#ifndef MBZ_SEEKINDEX_H
#define MBZ_SEEKINDEX_H

#include <stddef.h>
#include <stdint.h>
#include "internal.h"
#include "mbz.h"

#define MBZ_INDEX_ENTRY_SIZE 9
#define MBZ_INDEX_FOOT_SIZE 28
/* The annex is bounded so that a hostile size never sizes an allocation. */
#define MBZ_INDEX_ANNEX_MAX ((uint32_t)1 << 26)

typedef struct {
    uint8_t type;
    uint32_t content_size, payload_size;
} mbz_index_entry;

typedef struct {
    uint64_t frame_size;     /* bytes from the frame header to the end of the end mark */
    uint32_t n_blocks;
    uint32_t annex_size;
    uint32_t body_check;     /* low32(XXH64) of the entries, annex_size and annex */
} mbz_index_foot;

/* The index's size in bytes for a frame of n blocks and an annex of a bytes. */
static inline uint64_t mbz_index_size(uint64_t n, uint64_t a)
{
    return n * MBZ_INDEX_ENTRY_SIZE + 4 + a + MBZ_INDEX_FOOT_SIZE;
}

void mbz_index_entry_write(const mbz_index_entry *e, uint8_t out[MBZ_INDEX_ENTRY_SIZE]);
void mbz_index_entry_read(const uint8_t in[MBZ_INDEX_ENTRY_SIZE], mbz_index_entry *e);
void mbz_index_foot_write(const mbz_index_foot *f, uint8_t out[MBZ_INDEX_FOOT_SIZE]);
/* 1 if the bytes are a foot (magic and foot_check right, annex_size in bounds), and
 * then *f holds it; 0 if not. */
int mbz_index_foot_read(const uint8_t in[MBZ_INDEX_FOOT_SIZE], mbz_index_foot *f);
/* For readers that meet the index after the end mark of frame `frame`: the annex
 * size read after the entries must be in bounds, and the 28 bytes where it puts the
 * foot must be a foot with that annex size; otherwise the frame's end is unknown
 * (MBZ_ERR_CORRUPT, with the message both readers give). */
int mbz_index_annex_size_check(uint32_t annex_size, uint64_t frame, mbz_error *err);
int mbz_index_foot_locate(const uint8_t in[MBZ_INDEX_FOOT_SIZE], uint32_t annex_size,
                          uint64_t frame, mbz_index_foot *f, mbz_error *err);
/* low32(XXH64) of an index body (entries, annex_size field and annex, in order). */
uint32_t mbz_index_body_check(const uint8_t *body, size_t n);

/* Whether the entries of an index describe a frame of frame_size bytes: every entry a
 * block type, content sizes 1..block size, payload sizes as the block type allows
 * (doc/format.md, "Block header"), and the headers and payloads adding up. */
int mbz_index_entries_valid(const uint8_t *entries, uint32_t n, unsigned block_log,
                            uint64_t frame_size);

/* Building an index while a frame is written: one entry per block, then the end. */
typedef struct {
    uint8_t *buf;
    size_t len, cap;
    uint32_t n;
} mbz_index_builder;

int mbz_index_add(mbz_index_builder *b, const mbz_index_entry *e);
/* Append annex_size, the annex and the foot; the whole index is then b->buf, b->len. */
int mbz_index_finish(mbz_index_builder *b, uint64_t frame_size, const void *annex,
                     size_t annex_size);
void mbz_index_builder_free(mbz_index_builder *b);

#endif
