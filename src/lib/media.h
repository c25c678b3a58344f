/*
 * media.h - the media detector (media.c; library-internal): finds the samples of
 * audio files (WAV, AIFF) and the pixels of images (PNM, BMP) in the stream being
 * compressed, so that the compressor cuts blocks at their edges and codes them with
 * the audio model (audio.h) or the image model (image.h).
 *
 * Not part of the format: the decoder never detects anything, it reads each block's
 * type and parameters. A wrong guess costs ratio, never correctness.
 */
#ifndef MBZ_MEDIA_H
#define MBZ_MEDIA_H

#include <stddef.h>
#include <stdint.h>
#include "audio.h"
#include "image.h"

enum { MBZ_MEDIA_AUDIO = 1, MBZ_MEDIA_IMAGE = 2 };

/* What a block of media holds, and how its bytes are laid out. */
typedef struct {
    int kind;              /* MBZ_MEDIA_AUDIO or MBZ_MEDIA_IMAGE */
    mbz_pcm pcm;           /* audio */
    mbz_img img;           /* image */
} mbz_media_format;

/* The bytes of one file's samples or pixels: stream offsets [start, end); blocks of
 * it hold whole units (audio frames, image rows). A WAV file whose header is the
 * canonical one (audio.h mbz_wav_header) also has `whole`: that format with the
 * header, for one block of the whole file [start - MBZ_WAV_HEADER, end). */
typedef struct {
    uint64_t start, end;
    size_t unit;
    mbz_media_format fmt;
    int has_whole;
    mbz_media_format whole;
} mbz_media_region;

#define MBZ_MEDIA_REGIONS 16

typedef struct {
    mbz_media_region r[MBZ_MEDIA_REGIONS];   /* known regions, by start */
    int n;
    mbz_media_format guess;  /* a headerless 1-bit bitmap found in the last block */
} mbz_media;

/* Regions shorter than this are left to the general stage (4096 until 2026-12-05:
 * short recordings, under 4 KiB of samples, went to the general stage and lost to
 * FLAC). */
#define MBZ_MEDIA_MIN 1024

/* Look for audio and image file headers in buf[0 .. n-1], which sits at stream
 * offset off, and remember the regions they describe (a region already known is
 * not added again). Returns the offset in buf of a header that starts there but
 * does not end inside buf (0 if it starts at 0: nothing to do), or n. */
size_t mbz_media_scan(mbz_media *m, uint64_t off, const uint8_t *buf, size_t n);
/* The same, written plainly (a search for each letter a header starts with): the
 * reference that mbz_media_scan, which skips the 64-byte chunks where no header's
 * first two bytes occur, must agree with in its result and in m. */
size_t mbz_media_scan_ref(mbz_media *m, uint64_t off, const uint8_t *buf, size_t n);

/* How long the block at stream offset off should be, given avail bytes at hand
 * (the block size or fewer, at the end of the input) and the block size bs:
 *   - at the canonical header of a WAV file that fits in avail and bs whole: the
 *     file, *fmt its `whole` format;
 *   - inside a region: a whole number of its units (or up to the region's end),
 *     *fmt set;
 *   - before a region that starts within avail: up to its start (or to the
 *     header of a WAV file it will take whole), *fmt NULL;
 *   - otherwise avail, *fmt NULL.
 * `cut` (from mbz_media_scan) shortens a general block so that a header that
 * straddles it starts the next one. Forgets regions that end before off. */
size_t mbz_media_cut(mbz_media *m, uint64_t off, size_t avail, size_t bs, size_t cut,
                     const mbz_media_format **fmt);

/* Scan buf[0 .. avail-1] (at stream offset off) and choose the block that starts
 * there: mbz_media_scan then mbz_media_cut; a general block of MBZ_BILEVEL_MIN bytes
 * or more that looks like a bare 1-bit bitmap (rows of equal length that resemble
 * each other, a background byte 0x00 or 0xff) becomes an image block (*fmt set).
 * What compression (api.c) and --explain (explain.c) both call, so that they cut
 * the same blocks. */
#define MBZ_BILEVEL_MIN 65536
size_t mbz_media_block(mbz_media *m, uint64_t off, const uint8_t *buf, size_t avail, size_t bs,
                       const mbz_media_format **fmt);

#endif
