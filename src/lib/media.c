/*
 * media.c - the media detector (media.h).
 *
 * It reads the headers audio files carry rather than guessing from statistics: a
 * WAV (RIFF/RIFX "WAVE": a "fmt " chunk of PCM or WAVE_FORMAT_EXTENSIBLE PCM, then
 * "data") or AIFF/AIFC ("FORM": "COMM", then "SSND"; AIFC uncompressed as "NONE",
 * "twos" or little-endian "sowt") anywhere in the stream, which finds them as plain
 * files and as members of a tar archive alike. Anything it does not understand
 * (floating-point or 32-bit samples, more than 8 channels, compressed AIFC, chunks
 * that do not add up) is left to the general stage.
 *
 * Every number in a header is bounded before use; the region it yields only steers
 * the compressor, which writes the layout into each audio block for the decoder.
 */
#include <string.h>
#include "media.h"

#define HEADER_MAX 65536       /* how far a header may reach before its samples */

static uint32_t le16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t be16(const uint8_t *p) { return (uint32_t)p[0] << 8 | (uint32_t)p[1]; }
static uint32_t le32(const uint8_t *p) { return le16(p) | le16(p + 2) << 16; }
static uint32_t be32(const uint8_t *p) { return be16(p) << 16 | be16(p + 2); }

/* A layout the audio model codes: 8, 16 or 24 bits, 1 to 8 channels. */
static int pcm_ok(unsigned channels, unsigned bits)
{
    return channels >= 1 && channels <= MBZ_PCM_CHANNELS_MAX && (bits == 8 || bits == 16 || bits == 24);
}

enum { FOUND, NONE, PARTIAL };

/* A WAV header at p[0 .. n-1]: the samples' offset and length from p, and layout. */
static int parse_wav(const uint8_t *p, size_t n, uint64_t *at, uint64_t *len, mbz_pcm *f)
{
    int be = p[3] == 'X';
    uint32_t (*g16)(const uint8_t *) = be ? be16 : le16;
    uint32_t (*g32)(const uint8_t *) = be ? be32 : le32;
    int have_fmt = 0;
    size_t pos = 12;
    for (;;) {
        if (pos > HEADER_MAX)
            return NONE;
        if (pos + 8 > n)
            return PARTIAL;
        uint32_t size = g32(p + pos + 4);
        if (!memcmp(p + pos, "data", 4)) {
            if (!have_fmt)
                return NONE;
            *at = pos + 8;
            *len = size;
            return FOUND;
        }
        if (!memcmp(p + pos, "fmt ", 4)) {
            if (size < 16)
                return NONE;
            if (pos + 8 + 16 > n)
                return PARTIAL;
            const uint8_t *c = p + pos + 8;
            unsigned tag = g16(c), channels = g16(c + 2), align = g16(c + 12), bits = g16(c + 14);
            if (tag == 0xfffe) {          /* WAVE_FORMAT_EXTENSIBLE: the sub-format's tag */
                if (size < 40)
                    return NONE;
                if (pos + 8 + 26 > n)
                    return PARTIAL;
                tag = g16(c + 24);
            }
            if (tag != 1 || !pcm_ok(channels, bits) || align != channels * bits / 8)
                return NONE;
            f->bytes = (uint8_t)(bits / 8);
            f->channels = (uint8_t)channels;
            f->big_endian = (uint8_t)be;
            f->is_unsigned = bits == 8;
            have_fmt = 1;
        }
        pos += 8 + (size_t)size + (size & 1);
    }
}

/* An AIFF/AIFC header at p[0 .. n-1]. */
static int parse_aiff(const uint8_t *p, size_t n, uint64_t *at, uint64_t *len, mbz_pcm *f)
{
    int aifc = p[11] == 'C', have_comm = 0;
    size_t pos = 12;
    for (;;) {
        if (pos > HEADER_MAX)
            return NONE;
        if (pos + 8 > n)
            return PARTIAL;
        uint32_t size = be32(p + pos + 4);
        if (!memcmp(p + pos, "SSND", 4)) {
            if (!have_comm || size < 8)
                return NONE;
            if (pos + 16 > n)
                return PARTIAL;
            uint32_t skip = be32(p + pos + 8);
            if (skip > size - 8)
                return NONE;
            *at = pos + 16 + skip;
            *len = size - 8 - skip;
            return FOUND;
        }
        if (!memcmp(p + pos, "COMM", 4)) {
            if (size < (aifc ? 22u : 18u))
                return NONE;
            if (pos + 8 + 22 > n)
                return PARTIAL;
            const uint8_t *c = p + pos + 8;
            unsigned channels = be16(c), bits = be16(c + 6);
            int little = 0;
            if (aifc) {
                if (!memcmp(c + 18, "sowt", 4))
                    little = 1;
                else if (memcmp(c + 18, "NONE", 4) && memcmp(c + 18, "twos", 4))
                    return NONE;
            }
            bits = (bits + 7) / 8 * 8;    /* samples sit in whole bytes, left-justified */
            if (!pcm_ok(channels, bits))
                return NONE;
            f->bytes = (uint8_t)(bits / 8);
            f->channels = (uint8_t)channels;
            f->big_endian = (uint8_t)(!little && bits > 8);
            f->is_unsigned = 0;
            have_comm = 1;
        }
        pos += 8 + (size_t)size + (size & 1);
    }
}

static void add_region(mbz_media *m, uint64_t start, uint64_t len, const mbz_pcm *f)
{
    if (len < MBZ_MEDIA_MIN)
        return;
    for (int i = 0; i < m->n; i++)
        if (m->r[i].start == start)
            return;
    if (m->n == MBZ_MEDIA_REGIONS)
        return;
    int i = m->n++;
    while (i > 0 && m->r[i - 1].start > start) {
        m->r[i] = m->r[i - 1];
        i--;
    }
    m->r[i].start = start;
    m->r[i].end = start + len;
    m->r[i].pcm = *f;
}

size_t mbz_media_scan(mbz_media *m, uint64_t off, const uint8_t *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = buf + i;
        int riff = p[0] == 'R' || p[0] == 'F';
        if (!riff)
            continue;
        size_t left = n - i;
        /* a signature whose file type is cut off by the end of buf: keep it for the
         * next block. Fewer than 4 bytes of one are not taken for one: "R" ends one
         * block in 128 of random data, and each cut would shift every later block */
        if (left < 12) {
            if (i > 0 && left >= 4 && (!memcmp(p, "RIFF", 4) || !memcmp(p, "RIFX", 4) || !memcmp(p, "FORM", 4)))
                return i;
            continue;
        }
        uint64_t at = 0, len = 0;
        mbz_pcm f;
        int r = NONE;
        if ((!memcmp(p, "RIFF", 4) || !memcmp(p, "RIFX", 4)) && !memcmp(p + 8, "WAVE", 4))
            r = parse_wav(p, left, &at, &len, &f);
        else if (!memcmp(p, "FORM", 4) && (!memcmp(p + 8, "AIFF", 4) || !memcmp(p + 8, "AIFC", 4)))
            r = parse_aiff(p, left, &at, &len, &f);
        if (r == PARTIAL && i > 0)
            return i;
        if (r == FOUND)
            add_region(m, off + i + at, len, &f);
    }
    return n;
}

size_t mbz_media_cut(mbz_media *m, uint64_t off, size_t avail, size_t bs, size_t cut,
                     const mbz_pcm **pcm)
{
    *pcm = NULL;
    while (m->n > 0 && m->r[0].end <= off) {     /* behind us */
        memmove(m->r, m->r + 1, (size_t)(m->n - 1) * sizeof *m->r);
        m->n--;
    }
    for (int i = 0; i < m->n; i++) {
        const mbz_media_region *r = &m->r[i];
        if (r->start <= off && off < r->end) {
            size_t frame = (size_t)r->pcm.bytes * r->pcm.channels;
            uint64_t left = r->end - off;
            if (left <= avail && left <= bs) {
                *pcm = &r->pcm;
                return (size_t)left;          /* the rest, with any partial frame */
            }
            size_t n = bs / frame * frame;    /* keep the blocks after it aligned */
            if (n > avail)
                n = avail / frame * frame;
            if (n == 0)
                break;                        /* less than a frame at hand: general */
            *pcm = &r->pcm;
            return n;
        }
    }
    for (int i = 0; i < m->n; i++)
        if (m->r[i].start > off && m->r[i].start - off < avail)
            avail = (size_t)(m->r[i].start - off);
    return cut > 0 && cut < avail ? cut : avail;
}
