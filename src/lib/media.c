/*
 * media.c - the media detector (media.h).
 *
 * It reads the headers media files carry rather than guessing from statistics,
 * anywhere in the stream, which finds them as plain files and as members of a tar
 * archive alike:
 *   - audio: WAV (RIFF/RIFX "WAVE": a "fmt " chunk of PCM or WAVE_FORMAT_EXTENSIBLE
 *     PCM, then "data") or AIFF/AIFC ("FORM": "COMM", then "SSND"; AIFC
 *     uncompressed as "NONE", "twos" or little-endian "sowt");
 *   - images: binary PNM (P4 bilevel, P5 grey, P6 RGB, P7 PAM with 1 to 4
 *     channels; 8 or 16 bits), BMP (1-, 24- or 32-bit, uncompressed, either row
 *     order) and uncompressed TIFF (chunky, 1, 8 or 16 bits, 1 to 4 samples per
 *     pixel (1-bit: one), contiguous strips, the directory before the pixels).
 * One kind of image carries no header: a bare 1-bit bitmap, as a fax page
 * (bilevel_guess finds its row length from the data).
 * Samples are integers of 8, 16, 24 or 32 bits.
 * Anything it does not understand (floating-point samples, more than 8
 * channels, compressed AIFC, palettes of more than two colours, chunks that do not
 * add up) is left to the general stage.
 *
 * Every number in a header is bounded before use; the region it yields only steers
 * the compressor, which writes the layout into each audio block for the decoder.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "media.h"

#define HEADER_MAX 65536       /* how far a header may reach before its samples */

static uint32_t le16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t be16(const uint8_t *p) { return (uint32_t)p[0] << 8 | (uint32_t)p[1]; }
static uint32_t le32(const uint8_t *p) { return le16(p) | le16(p + 2) << 16; }
static uint32_t be32(const uint8_t *p) { return be16(p) << 16 | be16(p + 2); }

/* A layout the audio model codes: 8, 16, 24 or 32 bits (audio.h: 32 from the model's
 * revision 3, which every MEDIA frame a writer makes has), 1 to 8 channels. */
static int pcm_ok(unsigned channels, unsigned bits)
{
    return channels >= 1 && channels <= MBZ_PCM_CHANNELS_MAX &&
           (bits == 8 || bits == 16 || bits == 24 || bits == 32);
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

static void add_region(mbz_media *m, uint64_t start, uint64_t len, size_t unit,
                       const mbz_media_format *f, const mbz_media_format *whole)
{
    if (len < MBZ_MEDIA_MIN || unit == 0)
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
    m->r[i].unit = unit;
    m->r[i].fmt = *f;
    m->r[i].has_whole = whole != NULL;
    if (whole)
        m->r[i].whole = *whole;
}

/* A decimal number of at most 7 digits at p[*pos ..], after whitespace and PNM
 * comments. NONE if malformed, PARTIAL if buf ends first. */
static int pnm_number(const uint8_t *p, size_t n, size_t *pos, uint32_t *v)
{
    size_t i = *pos;
    for (;;) {
        if (i >= n)
            return PARTIAL;
        if (p[i] == '#') {
            while (i < n && p[i] != '\n')
                i++;
            continue;
        }
        if (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r')
            i++;
        else
            break;
    }
    uint32_t x = 0;
    int digits = 0;
    while (i < n && p[i] >= '0' && p[i] <= '9') {
        if (++digits > 7)
            return NONE;
        x = x * 10 + (uint32_t)(p[i] - '0');
        i++;
    }
    if (i >= n)
        return PARTIAL;
    if (!digits)
        return NONE;
    *pos = i;
    *v = x;
    return FOUND;
}

static int img_ok(uint32_t width, uint32_t height, uint32_t channels)
{
    return width >= 1 && width <= MBZ_IMG_WIDTH_MAX && height >= 1 && channels >= 1 &&
           channels <= MBZ_IMG_CHANNELS_MAX;
}

/* A binary PNM header (P4, P5, P6, P7) at p[0 .. n-1]. */
static int parse_pnm(const uint8_t *p, size_t n, uint64_t *at, uint64_t *len, mbz_media_format *f)
{
    uint32_t w = 0, h = 0, depth = p[1] == '5' || p[1] == '4' ? 1 : 3, maxval = p[1] == '4';
    size_t pos = 2;
    if (n < 3)
        return PARTIAL;
    if (p[2] != ' ' && p[2] != '\t' && p[2] != '\n' && p[2] != '\r')
        return NONE;
    if (p[1] != '7') {
        int r;
        if ((r = pnm_number(p, n, &pos, &w)) != FOUND || (r = pnm_number(p, n, &pos, &h)) != FOUND ||
            (p[1] != '4' && (r = pnm_number(p, n, &pos, &maxval)) != FOUND))
            return r;
        if (p[pos] != ' ' && p[pos] != '\t' && p[pos] != '\n' && p[pos] != '\r')
            return NONE;
        pos++;
    } else {
        /* PAM: lines of KEY VALUE up to ENDHDR */
        for (;;) {
            while (pos < n && (p[pos] == '\n' || p[pos] == ' ' || p[pos] == '\r'))
                pos++;
            if (pos > 1024)
                return NONE;
            if (pos + 9 > n)        /* the longest key compared below, "TUPLTYPE " */
                return PARTIAL;
            if (!memcmp(p + pos, "ENDHDR\n", 7)) {
                pos += 7;
                break;
            }
            uint32_t *v = !memcmp(p + pos, "WIDTH ", 6) ? &w : !memcmp(p + pos, "HEIGHT ", 7) ? &h
                        : !memcmp(p + pos, "DEPTH ", 6) ? &depth : !memcmp(p + pos, "MAXVAL ", 7) ? &maxval
                        : NULL;
            if (v) {
                while (p[pos] != ' ')
                    pos++;
                int r = pnm_number(p, n, &pos, v);
                if (r != FOUND)
                    return r;
            } else if (p[pos] == '#' || !memcmp(p + pos, "TUPLTYPE ", 9)) {
                while (pos < n && p[pos] != '\n')
                    pos++;
                if (pos >= n)
                    return PARTIAL;
            } else {
                return NONE;
            }
        }
    }
    if (!img_ok(w, h, depth) || maxval < 1 || maxval > 65535)
        return NONE;
    f->kind = MBZ_MEDIA_IMAGE;
    f->img.bilevel = p[1] == '4';
    f->img.bytes = maxval > 255 ? 2 : 1;
    f->img.big_endian = maxval > 255;
    f->img.channels = (uint8_t)depth;
    f->img.pad = 0;
    f->img.width = w;
    *at = pos;
    *len = (uint64_t)h * mbz_img_stride(&f->img);
    return FOUND;
}

/* Whether the palette of an 8-bit BMP (`count` entries of B, G, R, 0 at pal) is a
 * ramp of greys, each as bright as the one before or brighter: then its indexes are
 * samples the image model can predict (a grey image as most programs save it). The
 * indexes into any other palette (colours in order of appearance, of a hash...)
 * say little about their neighbours: such BMPs stay with the general stage. */
static int grey_ramp(const uint8_t *pal, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *e = pal + 4 * i;
        if (e[0] != e[1] || e[1] != e[2] || (i > 0 && e[0] < e[-4]))
            return 0;
    }
    return 1;
}

/* A BMP header at p[0 .. n-1]: 1-, 24- or 32-bit, uncompressed (or bit fields at 32),
 * or 8-bit with a grey ramp for its palette (grey_ramp). A 1-bit BMP's pixels index
 * a palette of two colours (between header and pixels): the bilevel model codes the
 * indexes; an 8-bit one's are coded as one channel of grey samples. */
static int bmp_dib_ok(uint32_t dib) { return dib == 40 || dib == 52 || dib == 56 || dib == 108 || dib == 124; }
static int bmp_bpp_ok(uint32_t bpp) { return bpp == 1 || bpp == 8 || bpp == 24 || bpp == 32; }

static int parse_bmp(const uint8_t *p, size_t n, uint64_t *at, uint64_t *len, mbz_media_format *f)
{
    if (n < 34) {
        /* cut short by the end of buf: a header only if the fields at hand allow
         * one. "BM" alone is two bytes of random data in 65,536, and each header
         * taken for one near the end of a block shifts every later block: in a
         * stream of incompressible data and zeros, the zeros then share blocks with
         * random bytes and are modelled instead of run-length coded (seen as a
         * level-6 stream test out of memory under ulimit -v). header_at sees 12
         * bytes at least. */
        uint32_t off = n >= 14 ? le32(p + 10) : 54, dib = n >= 18 ? le32(p + 14) : 40;
        if (off < 14 + 40 || off > HEADER_MAX || !bmp_dib_ok(dib) || (n >= 28 && le16(p + 26) != 1) ||
            (n >= 30 && !bmp_bpp_ok(le16(p + 28))))
            return NONE;
        return PARTIAL;
    }
    uint32_t off = le32(p + 10), dib = le32(p + 14), bpp = le16(p + 28), comp = le32(p + 30);
    int32_t w = (int32_t)le32(p + 18), h = (int32_t)le32(p + 22);
    if (!bmp_dib_ok(dib) || le16(p + 26) != 1 || !bmp_bpp_ok(bpp) || !(comp == 0 || (comp == 3 && bpp == 32)) || off < 14 + dib ||
        off > HEADER_MAX || w < 1 || h == 0 || h == INT32_MIN)
        return NONE;
    uint32_t height = (uint32_t)(h < 0 ? -h : h);
    if (!img_ok((uint32_t)w, height, bpp == 1 ? 1 : bpp / 8))
        return NONE;
    if (bpp == 8) {
        if (n < 50)
            return PARTIAL;                          /* biClrUsed not in buf yet */
        uint32_t count = le32(p + 46);               /* 0: all 256 */
        if (count == 0)
            count = 256;
        if (count > 256 || 14 + dib + 4 * count > off)
            return NONE;
        if (14 + dib + 4 * count > n)
            return PARTIAL;
        if (!grey_ramp(p + 14 + dib, count))
            return NONE;
    }
    f->kind = MBZ_MEDIA_IMAGE;
    f->img.bilevel = bpp == 1;
    f->img.bytes = 1;
    f->img.big_endian = 0;
    f->img.channels = (uint8_t)(bpp == 1 ? 1 : bpp / 8);
    f->img.width = (uint32_t)w;
    size_t row = bpp == 1 ? ((size_t)w + 7) / 8 : (size_t)w * (bpp / 8);
    f->img.pad = (uint8_t)((4 - row % 4) % 4);
    *at = off;
    *len = (uint64_t)height * mbz_img_stride(&f->img);
    return FOUND;
}

/* One value of a TIFF directory entry at e (SHORT or LONG, index i), whose data lie
 * in p[0 .. n-1]; NONE or PARTIAL if they do not. */
static int tiff_value(const uint8_t *p, size_t n, const uint8_t *e, int be, uint32_t i, uint32_t *v)
{
    uint32_t (*g16)(const uint8_t *) = be ? be16 : le16;
    uint32_t (*g32)(const uint8_t *) = be ? be32 : le32;
    uint32_t type = g16(e + 2), count = g32(e + 4), size = type == 3 ? 2 : type == 4 ? 4 : 0;
    if (!size || i >= count || count > 65536)
        return NONE;
    const uint8_t *d = e + 8;
    if ((uint64_t)count * size > 4) {
        uint64_t at = (uint64_t)g32(e + 8) + (uint64_t)i * size;
        if (at + size > HEADER_MAX)
            return NONE;
        if (at + size > n)
            return PARTIAL;
        d = p + at;
    } else {
        d += i * size;
    }
    *v = size == 2 ? g16(d) : g32(d);
    return FOUND;
}

/* An uncompressed TIFF (one image, chunky samples of 8 or 16 bits, 1 to 4 per pixel,
 * strips one after the other) at p[0 .. n-1], whose first directory comes before its
 * pixels; a directory after them (some writers put it last) is not seen. */
static int parse_tiff(const uint8_t *p, size_t n, uint64_t *at, uint64_t *len, mbz_media_format *f)
{
    int be = p[0] == 'M';
    uint32_t (*g16)(const uint8_t *) = be ? be16 : le16;
    uint32_t ifd = (be ? be32 : le32)(p + 4);
    if (ifd < 8 || ifd > HEADER_MAX)
        return NONE;
    if (ifd + 2 > n)
        return PARTIAL;
    uint32_t entries = g16(p + ifd);
    if (entries == 0 || entries > 200)
        return NONE;
    if (ifd + 2 + 12 * entries > n)
        return PARTIAL;
    uint32_t w = 0, h = 0, bits = 1, comp = 0, spp = 1, planar = 1, photo = 99;
    const uint8_t *offs = NULL, *cnts = NULL;
    for (uint32_t k = 0; k < entries; k++) {
        const uint8_t *e = p + ifd + 2 + 12 * k;
        uint32_t tag = g16(e), *dst = tag == 256 ? &w : tag == 257 ? &h : tag == 258 ? &bits
                                   : tag == 259 ? &comp : tag == 262 ? &photo : tag == 277 ? &spp
                                   : tag == 284 ? &planar : NULL;
        if (tag == 273)
            offs = e;
        else if (tag == 279)
            cnts = e;
        if (!dst)
            continue;
        int r = tiff_value(p, n, e, be, 0, dst);
        if (r != FOUND)
            return r;
    }
    if (!offs || !cnts || comp != 1 || planar != 1 || photo > 2 ||
        (bits != 8 && bits != 16 && !(bits == 1 && spp == 1)) || !img_ok(w, h, spp))
        return NONE;
    f->kind = MBZ_MEDIA_IMAGE;
    f->img.bilevel = bits == 1;
    f->img.bytes = (uint8_t)(bits == 1 ? 1 : bits / 8);
    f->img.big_endian = (uint8_t)(be && bits == 16);
    f->img.channels = (uint8_t)spp;
    f->img.pad = 0;
    f->img.width = w;
    uint64_t want = (uint64_t)h * mbz_img_stride(&f->img), have = 0;
    uint32_t first = 0, strips = (be ? be32 : le32)(offs + 4);
    if (strips == 0 || strips != (be ? be32 : le32)(cnts + 4))
        return NONE;
    for (uint32_t i = 0; i < strips && have < want; i++) {
        uint32_t o, c;
        int r = tiff_value(p, n, offs, be, i, &o);
        if (r == FOUND)
            r = tiff_value(p, n, cnts, be, i, &c);
        if (r != FOUND)
            return r;
        if (i == 0)
            first = o;
        else if (o != first + have)
            return NONE;          /* strips apart: not one run of rows */
        have += c;
    }
    if (have < want)
        return NONE;
    *at = first;
    *len = want;
    return FOUND;
}

/* Whether a header starts at buf[i] (of n): a region is remembered; returns 1 when
 * the header is cut short by the end of buf (the caller stops there), else 0. */
static int header_at(mbz_media *m, uint64_t off, const uint8_t *buf, size_t n, size_t i)
{
    const uint8_t *p = buf + i;
    size_t left = n - i;
    /* a signature whose file type is cut off by the end of buf: keep it for the
     * next block. Fewer than 4 bytes of one are not taken for one: "R" ends one
     * block in 128 of random data, and each cut would shift every later block */
    if (left < 12)
        return i > 0 && left >= 4 && (!memcmp(p, "RIFF", 4) || !memcmp(p, "RIFX", 4) || !memcmp(p, "FORM", 4));
    uint64_t at = 0, len = 0;
    mbz_media_format f;
    memset(&f, 0, sizeof f);
    int r = NONE;
    if ((!memcmp(p, "RIFF", 4) || !memcmp(p, "RIFX", 4)) && !memcmp(p + 8, "WAVE", 4)) {
        r = parse_wav(p, left, &at, &len, &f.pcm);
        f.kind = MBZ_MEDIA_AUDIO;
    } else if (!memcmp(p, "FORM", 4) && (!memcmp(p + 8, "AIFF", 4) || !memcmp(p + 8, "AIFC", 4))) {
        r = parse_aiff(p, left, &at, &len, &f.pcm);
        f.kind = MBZ_MEDIA_AUDIO;
    } else if (p[0] == 'P' && p[1] >= '4' && p[1] <= '7') {
        r = parse_pnm(p, left, &at, &len, &f);
    } else if (p[0] == 'B' && p[1] == 'M') {
        r = parse_bmp(p, left, &at, &len, &f);
    } else if (!memcmp(p, "II*\0", 4) || !memcmp(p, "MM\0*", 4)) {
        r = parse_tiff(p, left, &at, &len, &f);
    }
    if (r == PARTIAL)
        return i > 0;
    if (r == FOUND) {
        size_t unit = f.kind == MBZ_MEDIA_AUDIO ? (size_t)f.pcm.bytes * f.pcm.channels
                                                : mbz_img_stride(&f.img);
        /* a WAV file with the canonical header (the audio model's revision 4 writes
         * it from the parameters: a short recording is then one block) */
        mbz_media_format whole = f;
        int canonical = 0;
        if (f.kind == MBZ_MEDIA_AUDIO && at == MBZ_WAV_HEADER && len <= UINT32_MAX - 36 &&
            !memcmp(p, "RIFF", 4)) {
            uint8_t h[MBZ_WAV_HEADER];
            whole.pcm.wav_header = 1;
            whole.pcm.rate = le32(p + 24);
            mbz_wav_header(&whole.pcm, (uint32_t)len, h);
            canonical = whole.pcm.rate != 0 && !memcmp(h, p, MBZ_WAV_HEADER);
        }
        add_region(m, off + i + at, len, unit, &f, canonical ? &whole : NULL);
    }
    return 0;
}

/* The letters a header starts with: R (RIFF, RIFX), F (FORM), P (PNM), B (BMP), I
 * or M (TIFF). */
static const char lead[6] = { 'R', 'F', 'P', 'B', 'I', 'M' };

/* The letters of lead[] (bit k) that start one of the first two bytes of a header
 * (RI, FO, P4-P7, BM, II, MM) at p[0 .. len-1] (p[len] is read too). Branch-free,
 * so that with len = 64 the compiler vectorises it (4-6 GB/s with plain SSE2,
 * against 2 GB/s for six memchr passes on random data, where each letter is found
 * once in 256 bytes). */
static inline unsigned pair_letters(const uint8_t *p, size_t len)
{
    uint8_t bits = 0;
    for (size_t j = 0; j < len; j++) {
        uint8_t x = p[j], y = p[j + 1];
        bits |= (uint8_t)((x == 'R') & (y == 'I')) | (uint8_t)(((x == 'F') & (y == 'O')) << 1) |
                (uint8_t)(((x == 'P') & ((uint8_t)(y - '4') < 4)) << 2) |
                (uint8_t)(((x == 'B') & (y == 'M')) << 3) | (uint8_t)(((x == 'I') & (y == 'I')) << 4) |
                (uint8_t)(((x == 'M') & (y == 'M')) << 5);
    }
    return bits;
}

/* The plain scan (media.h): every letter found with memchr. */
size_t mbz_media_scan_ref(mbz_media *m, uint64_t off, const uint8_t *buf, size_t n)
{
    size_t stop = n;
    for (int k = 0; k < 6; k++) {
        const uint8_t *p = buf;
        while ((p = memchr(p, lead[k], (size_t)(buf + stop - p))) != NULL) {
            size_t i = (size_t)(p - buf);
            if (header_at(m, off, buf, n, i)) {
                stop = i;
                break;
            }
            p++;
        }
    }
    return stop;
}

size_t mbz_media_scan(mbz_media *m, uint64_t off, const uint8_t *buf, size_t n)
{
    /* The scan runs over every byte compressed, stored blocks included: it was a
     * third of the stored-block path's time. header_at finds nothing and remembers
     * nothing where a lead letter is not followed by its header's second byte (nor
     * at the last byte of buf), so only the 64-byte chunks with such a pair are
     * searched (on random data about one in a hundred): the same calls, in the same
     * order (letter by letter, then by position), as the plain scan makes
     * (mbz_media_scan_ref, also used for buffers under 2 KiB and when memory is
     * short; test_media checks that the two agree). The block ends before the first
     * header that the end of buf cuts short. */
    if (n < 2048)
        return mbz_media_scan_ref(m, off, buf, n);
    size_t nchunks = (n - 1) / 64;                /* whole chunks with their p[64] */
    uint8_t *bits = malloc(nchunks + 1);
    if (!bits)
        return mbz_media_scan_ref(m, off, buf, n);
    for (size_t c = 0; c < nchunks; c++)
        bits[c] = (uint8_t)pair_letters(buf + 64 * c, 64);
    bits[nchunks] = (uint8_t)pair_letters(buf + 64 * nchunks, n - 1 - 64 * nchunks);
    size_t stop = n;
    for (int k = 0; k < 6; k++) {
        for (size_t c = 0; c <= nchunks && 64 * c < stop; c++) {
            if (!(bits[c] >> k & 1))
                continue;
            size_t end = 64 * c + 64 < stop ? 64 * c + 64 : stop, i;
            for (i = 64 * c; i < end; i++)
                if (buf[i] == (uint8_t)lead[k] && header_at(m, off, buf, n, i))
                    break;
            if (i < end) {
                stop = i;
                break;
            }
        }
    }
    free(bits);
    return stop;
}

size_t mbz_media_cut(mbz_media *m, uint64_t off, size_t avail, size_t bs, size_t cut,
                     const mbz_media_format **fmt)
{
    *fmt = NULL;
    while (m->n > 0 && m->r[0].end <= off) {     /* behind us */
        memmove(m->r, m->r + 1, (size_t)(m->n - 1) * sizeof *m->r);
        m->n--;
    }
    for (int i = 0; i < m->n; i++) {
        const mbz_media_region *r = &m->r[i];
        if (r->has_whole && off + MBZ_WAV_HEADER == r->start && r->end - off <= avail &&
            r->end - off <= bs) {
            *fmt = &r->whole;
            return (size_t)(r->end - off);    /* the whole file, header and samples */
        }
        if (r->start <= off && off < r->end) {
            uint64_t left = r->end - off;
            if (left <= avail && left <= bs) {
                *fmt = &r->fmt;
                return (size_t)left;          /* the rest, with any partial unit */
            }
            size_t n = bs / r->unit * r->unit; /* keep the blocks after it aligned */
            if (n > avail)
                n = avail / r->unit * r->unit;
            if (n == 0)
                break;                        /* less than a unit at hand: general */
            *fmt = &r->fmt;
            return n;
        }
    }
    for (int i = 0; i < m->n; i++) {
        const mbz_media_region *r = &m->r[i];
        uint64_t b = r->start;
        /* a WAV file that one block can hold whole: that block starts at its header */
        if (r->has_whole && r->start - MBZ_WAV_HEADER > off && r->end - (r->start - MBZ_WAV_HEADER) <= bs)
            b = r->start - MBZ_WAV_HEADER;
        if (b > off && b - off < avail)
            avail = (size_t)(b - off);
    }
    return cut > 0 && cut < avail ? cut : avail;
}

/* A bare 1-bit bitmap in buf[0 .. n-1]? Fax pages and scans are mostly background
 * (0x00 or 0xff bytes), and their rows resemble the rows above: the same byte
 * recurs one row further on. So: among the first GUESS_SAMPLE bytes, the background
 * byte must be at least half of them; the distance from each other byte to the
 * last byte of the same value votes for a row length of 8 to GUESS_ROW_MAX bytes;
 * the winner, the length with 1/64 of the votes cast that stands out most from the
 * lengths 3 to 8 away (or a half or third of it with at least half its votes:
 * rows 2 and 3 above vote too), must have 8 times their mean. Within a row, glyphs and code repeat at short distances
 * but spread their votes; rows of an image put theirs on one length. A wrong guess
 * costs ratio, never correctness, and the trial of block.c (image_loses) rejects
 * an image that codes worse than the general stage (as an executable with a
 * table of 24-byte entries does). A page of nothing but a dithered picture may
 * have no such peak and stays with the general stage. */
#define GUESS_SAMPLE (1u << 18)
#define GUESS_ROW_MAX 8192
static int bilevel_guess(const uint8_t *buf, size_t n, mbz_img *img)
{
    size_t k = n < GUESS_SAMPLE ? n : GUESS_SAMPLE;
    /* the background's share from every 8th byte: this runs on every general block
     * (random and compressed data included), so it must cost next to nothing */
    size_t zeros = 0, ones = 0, seen = 0;
    for (size_t i = 0; i < k; i += 8, seen++) {
        zeros += buf[i] == 0;
        ones += buf[i] == 255;
    }
    uint8_t bg = zeros >= ones ? 0 : 255;
    if ((bg ? ones : zeros) * 2 < seen)
        return 0;
    uint32_t *votes = calloc(GUESS_ROW_MAX + 1, sizeof *votes);
    if (!votes)
        return 0;
    size_t last[256], cast = 0;
    for (int v = 0; v < 256; v++)
        last[v] = SIZE_MAX;
    for (size_t i = 0; i < k; i++) {
        uint8_t v = buf[i];
        if (v == bg)
            continue;
        size_t prev = last[v];
        last[v] = i;
        if (prev != SIZE_MAX && i - prev >= 8 && i - prev <= GUESS_ROW_MAX) {
            votes[i - prev]++;
            cast++;
        }
    }
    /* the length that stands out most from its neighbours, among those with 1/64
     * of the votes */
    uint32_t best = 0;
    uint64_t best_num = 0, best_den = 1;
    for (uint32_t d = 8; d <= GUESS_ROW_MAX && cast >= 1024; d++) {
        if (votes[d] * 64ull < cast)
            continue;
        uint64_t near = 0;      /* the lengths 3 to 8 away: 12 of them at most */
        for (uint32_t e = d - 8; e <= d + 8; e++)
            if ((e < d - 2 || e > d + 2) && e >= 8 && e <= GUESS_ROW_MAX)
                near += votes[e];
        /* prominence votes / (mean + 1) = 12 votes / (near + 12) */
        uint64_t num = 12ull * votes[d], den = near + 12;
        if (num * best_den > best_num * den) {
            best = d;
            best_num = num;
            best_den = den;
        }
    }
    for (uint32_t q = 3; q >= 2 && best; q--)
        if (best % q == 0 && best / q >= 8 && votes[best / q] * 2 >= votes[best]) {
            best /= q;
            break;
        }
    int ok = best && best_num >= 8 * best_den && best * 8ull <= MBZ_IMG_WIDTH_MAX;
    free(votes);
    if (!ok)
        return 0;
    memset(img, 0, sizeof *img);
    img->bilevel = 1;
    img->bytes = 1;
    img->channels = 1;
    img->width = best * 8;
    return 1;
}

size_t mbz_media_block(mbz_media *m, uint64_t off, const uint8_t *buf, size_t avail, size_t bs,
                       const mbz_media_format **fmt)
{
    size_t cut = mbz_media_scan(m, off, buf, avail);
    size_t n = mbz_media_cut(m, off, avail, bs, cut, fmt);
    if (!*fmt && n >= MBZ_BILEVEL_MIN && bilevel_guess(buf, n, &m->guess.img)) {
        m->guess.kind = MBZ_MEDIA_IMAGE;
        *fmt = &m->guess;
    }
    return n;
}
