/*
 * seekindex.c - packing, parsing and checking a frame's seek index (seekindex.h,
 * doc/format.md "Seek index").
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include "frame.h"
#include "seekindex.h"

static const uint8_t index_magic[4] = { 'M', 'B', 'Z', 'X' };

void mbz_index_entry_write(const mbz_index_entry *e, uint8_t out[MBZ_INDEX_ENTRY_SIZE])
{
    out[0] = e->type;
    mbz_put_le32(out + 1, e->content_size);
    mbz_put_le32(out + 5, e->payload_size);
}

void mbz_index_entry_read(const uint8_t in[MBZ_INDEX_ENTRY_SIZE], mbz_index_entry *e)
{
    e->type = in[0];
    e->content_size = mbz_get_le32(in + 1);
    e->payload_size = mbz_get_le32(in + 5);
}

void mbz_index_foot_write(const mbz_index_foot *f, uint8_t out[MBZ_INDEX_FOOT_SIZE])
{
    mbz_put_le64(out, f->frame_size);
    mbz_put_le32(out + 8, f->n_blocks);
    mbz_put_le32(out + 12, f->annex_size);
    mbz_put_le32(out + 16, f->body_check);
    memcpy(out + 20, index_magic, 4);
    mbz_put_le32(out + 24, (uint32_t)XXH64(out, 24, 0));
}

int mbz_index_foot_read(const uint8_t in[MBZ_INDEX_FOOT_SIZE], mbz_index_foot *f)
{
    if (memcmp(in + 20, index_magic, 4) != 0 || mbz_get_le32(in + 24) != (uint32_t)XXH64(in, 24, 0))
        return 0;
    f->frame_size = mbz_get_le64(in);
    f->n_blocks = mbz_get_le32(in + 8);
    f->annex_size = mbz_get_le32(in + 12);
    f->body_check = mbz_get_le32(in + 16);
    /* the smallest frame is a header and an end mark */
    return f->annex_size <= MBZ_INDEX_ANNEX_MAX &&
           f->frame_size >= MBZ_FRAME_HEADER_SIZE + MBZ_BLOCK_HEADER_SIZE;
}

int mbz_index_annex_size_check(uint32_t annex_size, uint64_t frame, mbz_error *err)
{
    if (annex_size <= MBZ_INDEX_ANNEX_MAX)
        return MBZ_OK;
    return mbz_fail(err, MBZ_ERR_CORRUPT,
                    "frame %llu: damaged seek index (annex of %u bytes, over the limit; the frame's end is unknown)",
                    (unsigned long long)frame, annex_size);
}

int mbz_index_foot_locate(const uint8_t in[MBZ_INDEX_FOOT_SIZE], uint32_t annex_size,
                          uint64_t frame, mbz_index_foot *f, mbz_error *err)
{
    if (mbz_index_foot_read(in, f) && f->annex_size == annex_size)
        return MBZ_OK;
    return mbz_fail(err, MBZ_ERR_CORRUPT,
                    "frame %llu: damaged seek index (its foot is not where its sizes say; the frame's end is unknown)",
                    (unsigned long long)frame);
}

uint32_t mbz_index_body_check(const uint8_t *body, size_t n)
{
    return (uint32_t)XXH64(body, n, 0);
}

int mbz_index_entries_valid(const uint8_t *entries, uint32_t n, unsigned block_log,
                            uint64_t frame_size)
{
    uint64_t bs = (uint64_t)1 << block_log;
    uint64_t at = MBZ_FRAME_HEADER_SIZE + MBZ_BLOCK_HEADER_SIZE; /* header and end mark */
    for (uint32_t i = 0; i < n; i++) {
        mbz_index_entry e;
        mbz_index_entry_read(entries + (size_t)i * MBZ_INDEX_ENTRY_SIZE, &e);
        if (e.type == MBZ_BLOCK_END || e.type > MBZ_BLOCK_IMAGE || e.content_size == 0 ||
            e.content_size > bs)
            return 0;
        if (e.type == MBZ_BLOCK_STORED ? e.payload_size != e.content_size
            : e.type == MBZ_BLOCK_RLE  ? e.payload_size != 1
                                       : e.payload_size == 0 || e.payload_size >= e.content_size)
            return 0;
        at += MBZ_BLOCK_HEADER_SIZE + (uint64_t)e.payload_size;
        if (at > frame_size)
            return 0;
    }
    return at == frame_size;
}

/* Room for `more` bytes after b->len, keeping what is there. */
static int reserve(mbz_index_builder *b, size_t more)
{
    if (b->cap - b->len >= more)
        return MBZ_OK;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < more)
        cap *= 2;
    uint8_t *p = realloc(b->buf, cap);
    if (!p)
        return MBZ_ERR_NOMEM;
    b->buf = p;
    b->cap = cap;
    return MBZ_OK;
}

int mbz_index_add(mbz_index_builder *b, const mbz_index_entry *e)
{
    if (b->n == UINT32_MAX)
        return MBZ_ERR_LIMIT;
    if (reserve(b, MBZ_INDEX_ENTRY_SIZE) != MBZ_OK)
        return MBZ_ERR_NOMEM;
    mbz_index_entry_write(e, b->buf + b->len);
    b->len += MBZ_INDEX_ENTRY_SIZE;
    b->n++;
    return MBZ_OK;
}

int mbz_index_finish(mbz_index_builder *b, uint64_t frame_size, const void *annex,
                     size_t annex_size)
{
    if (annex_size > MBZ_INDEX_ANNEX_MAX)
        return MBZ_ERR_LIMIT;
    if (reserve(b, 4 + annex_size + MBZ_INDEX_FOOT_SIZE) != MBZ_OK)
        return MBZ_ERR_NOMEM;
    mbz_put_le32(b->buf + b->len, (uint32_t)annex_size);
    b->len += 4;
    if (annex_size)
        memcpy(b->buf + b->len, annex, annex_size);
    b->len += annex_size;
    mbz_index_foot f = { frame_size, b->n, (uint32_t)annex_size,
                         mbz_index_body_check(b->buf, b->len) };
    mbz_index_foot_write(&f, b->buf + b->len);
    b->len += MBZ_INDEX_FOOT_SIZE;
    return MBZ_OK;
}

void mbz_index_builder_free(mbz_index_builder *b)
{
    free(b->buf);
    memset(b, 0, sizeof *b);
}
