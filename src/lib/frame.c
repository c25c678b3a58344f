/*
 * frame.c - header packing and validation (doc/format.md).
 */
#include "config.h"
#include <string.h>
#include <xxhash.h>
#include "frame.h"

const uint8_t mbz_frame_magic[4] = { 0x89, 'M', 'B', 'Z' };

/* Version v <= 8 defines the flag bits below bit v-1 (frame.h): 1 none, 2 MIX, 3 MIX
 * and STRIDED, 4 also CM, 5 also MEDIA, ..., 8 also INDEX; versions 9 and 10 no new
 * one (9 changes the binary stage, 10 the image model); 11 the last one, FAST; 12
 * none (the audio model); 13 none (the binary stage again); 14 none (the image
 * model).
 * Both directions of the map live here, next to each other. */
unsigned mbz_frame_flags_known(unsigned version)
{
    if (version < MBZ_FRAME_VERSION_MIN || version > MBZ_FRAME_VERSION)
        return 0;
    return version >= MBZ_FRAME_VERSION_FAST ? 0xffu : version >= 8 ? 0x7fu : (1u << (version - 1)) - 1;
}

uint8_t mbz_frame_version_for_flags(unsigned flags)
{
    if (flags & MBZ_FLAG_MEDIA) /* the audio model's latest revision (and the binary
                                 * stage's, the image model's) */
        return MBZ_FRAME_VERSION_AUDIO4;
    if ((flags & MBZ_FLAG_CM) && !(flags & MBZ_FLAG_FAST)) /* the binary stage's latest */
        return MBZ_FRAME_VERSION_CM3;
    if (flags & MBZ_FLAG_FAST)
        return MBZ_FRAME_VERSION_FAST;
    uint8_t v = MBZ_FRAME_VERSION_MIN;
    while (v < MBZ_FRAME_VERSION && (flags & ~mbz_frame_flags_known(v)))
        v++;
    return v;
}

static uint32_t check32(const uint8_t *p, size_t n)
{
    return (uint32_t)XXH64(p, n, 0);
}

void mbz_frame_header_write(const mbz_frame_header *h, uint8_t out[MBZ_FRAME_HEADER_SIZE])
{
    memcpy(out, mbz_frame_magic, 4);
    out[4] = h->version;
    out[5] = h->flags;
    out[6] = h->level;
    out[7] = h->block_log;
    mbz_put_le64(out + 8, h->fingerprint);
    mbz_put_le32(out + 16, check32(out, 16));
}

int mbz_frame_header_read(const uint8_t in[MBZ_FRAME_HEADER_SIZE], mbz_frame_header *h,
                          mbz_error *err)
{
    if (memcmp(in, mbz_frame_magic, 4) != 0)
        return mbz_fail(err, MBZ_ERR_BAD_MAGIC, "not an mbzip stream (bad magic)");
    h->version = in[4];
    h->flags = in[5];
    h->level = in[6];
    h->block_log = in[7];
    h->fingerprint = mbz_get_le64(in + 8);
    /* Version first: a later version may lay the header out differently, and
     * "unsupported version" is the useful message then. */
    if (h->version < MBZ_FRAME_VERSION_MIN || h->version > MBZ_FRAME_VERSION)
        return mbz_fail(err, MBZ_ERR_VERSION,
                        "unsupported frame version %u (this build reads versions %d to %d)",
                        h->version, MBZ_FRAME_VERSION_MIN, MBZ_FRAME_VERSION);
    if (mbz_get_le32(in + 16) != check32(in, 16))
        return mbz_fail(err, MBZ_ERR_CORRUPT, "frame header checksum mismatch");
    if (h->flags & ~mbz_frame_flags_known(h->version))
        return mbz_fail(err, MBZ_ERR_VERSION,
                        "unsupported frame flags 0x%02x for frame version %u", h->flags,
                        h->version);
    if (h->level < MBZ_LEVEL_MIN || h->level > MBZ_LEVEL_MAX)
        return mbz_fail(err, MBZ_ERR_CORRUPT, "frame header: invalid level %u", h->level);
    if (h->block_log < MBZ_BLOCK_LOG_MIN || h->block_log > MBZ_BLOCK_LOG_MAX)
        return mbz_fail(err, MBZ_ERR_CORRUPT, "frame header: block size 2^%u out of range (2^%d..2^%d)",
                        h->block_log, MBZ_BLOCK_LOG_MIN, MBZ_BLOCK_LOG_MAX);
    return MBZ_OK;
}

void mbz_block_header_write(const mbz_block_header *h, uint8_t out[MBZ_BLOCK_HEADER_SIZE])
{
    out[0] = h->type;
    if (h->type == MBZ_BLOCK_END) {
        mbz_put_le64(out + 1, h->total);
    } else {
        mbz_put_le32(out + 1, h->content_size);
        mbz_put_le32(out + 5, h->payload_size);
    }
    mbz_put_le64(out + 9, h->checksum);
    mbz_put_le32(out + 17, check32(out, 17));
}

int mbz_block_header_read(const uint8_t in[MBZ_BLOCK_HEADER_SIZE], uint32_t block_size,
                          const char *where, mbz_block_header *h, mbz_error *err)
{
    memset(h, 0, sizeof *h);
    if (mbz_get_le32(in + 17) != check32(in, 17))
        return mbz_fail(err, MBZ_ERR_CORRUPT, "%s: header checksum mismatch", where);
    h->type = in[0];
    h->checksum = mbz_get_le64(in + 9);
    switch (h->type) {
    case MBZ_BLOCK_END:
        h->total = mbz_get_le64(in + 1);
        return MBZ_OK;
    case MBZ_BLOCK_STORED:
    case MBZ_BLOCK_RLE:
    case MBZ_BLOCK_MODELLED:
    case MBZ_BLOCK_MODELLED_FRESH:  /* mbz_block_type_check refuses it outside CM frames */
    case MBZ_BLOCK_AUDIO:           /* and these outside MEDIA frames */
    case MBZ_BLOCK_IMAGE:
        break;
    default:
        return mbz_fail(err, MBZ_ERR_CORRUPT, "%s: unknown block type %u", where, h->type);
    }
    h->content_size = mbz_get_le32(in + 1);
    h->payload_size = mbz_get_le32(in + 5);
    if (h->content_size == 0 || h->content_size > block_size)
        return mbz_fail(err, MBZ_ERR_CORRUPT, "%s: content size %u outside 1..%u",
                        where, h->content_size, block_size);
    switch (h->type) {
    case MBZ_BLOCK_STORED:
        if (h->payload_size != h->content_size)
            return mbz_fail(err, MBZ_ERR_CORRUPT, "%s: stored payload size %u != content size %u",
                            where, h->payload_size, h->content_size);
        break;
    case MBZ_BLOCK_RLE:
        if (h->payload_size != 1)
            return mbz_fail(err, MBZ_ERR_CORRUPT, "%s: run-length payload size %u != 1",
                            where, h->payload_size);
        break;
    default: /* modelled, media: must be strictly smaller, else it would have been stored */
        if (h->payload_size == 0 || h->payload_size >= h->content_size)
            return mbz_fail(err, MBZ_ERR_CORRUPT, "%s: %s payload size %u outside 1..%u", where,
                            h->type == MBZ_BLOCK_AUDIO ? "audio" : h->type == MBZ_BLOCK_IMAGE ? "image"
                            : "modelled", h->payload_size, h->content_size - 1);
        break;
    }
    return MBZ_OK;
}

int mbz_block_type_check(unsigned flags, uint8_t type, const char *where, mbz_error *err)
{
    if (type == MBZ_BLOCK_MODELLED_FRESH && !(flags & MBZ_FLAG_CM))
        return mbz_fail(err, MBZ_ERR_CORRUPT,
                        "%s: block type 4 (a history start) in a frame without flag CM", where);
    if (mbz_block_is_media(type) && !(flags & MBZ_FLAG_MEDIA))
        return mbz_fail(err, MBZ_ERR_CORRUPT, "%s: block type %u (%s) in a frame without flag MEDIA",
                        where, type, type == MBZ_BLOCK_AUDIO ? "audio" : "image");
    return MBZ_OK;
}
