/*
 * media.h - the media detector (media.c; library-internal): finds the samples of
 * audio files (WAV, AIFF) in the stream being compressed, so that the compressor
 * cuts blocks at their edges and codes them with the audio model (audio.h).
 *
 * Not part of the format: the decoder never detects anything, it reads each block's
 * type and parameters. A wrong guess costs ratio, never correctness.
 */
#ifndef MBZ_MEDIA_H
#define MBZ_MEDIA_H

#include <stddef.h>
#include <stdint.h>
#include "audio.h"

/* The samples of one audio file: stream offsets [start, end) and their layout. */
typedef struct {
    uint64_t start, end;
    mbz_pcm pcm;
} mbz_media_region;

#define MBZ_MEDIA_REGIONS 16

typedef struct {
    mbz_media_region r[MBZ_MEDIA_REGIONS];   /* known regions, by start */
    int n;
} mbz_media;

/* Regions shorter than this are left to the general stage. */
#define MBZ_MEDIA_MIN 4096

/* Look for audio file headers in buf[0 .. n-1], which sits at stream offset off,
 * and remember the regions they describe (a region already known is not added
 * again). Returns the offset in buf of a header that starts there but does not end
 * inside buf (0 if it starts at 0: nothing to do), or n. */
size_t mbz_media_scan(mbz_media *m, uint64_t off, const uint8_t *buf, size_t n);

/* How long the block at stream offset off should be, given avail bytes at hand
 * (the block size or fewer, at the end of the input) and the block size bs:
 *   - inside a region: its samples, a whole number of frames (or up to the
 *     region's end), *pcm set;
 *   - before a region that starts within avail: up to its start, *pcm NULL;
 *   - otherwise avail, *pcm NULL.
 * `cut` (from mbz_media_scan) shortens a general block so that a header that
 * straddles it starts the next one. Forgets regions that end before off. */
size_t mbz_media_cut(mbz_media *m, uint64_t off, size_t avail, size_t bs, size_t cut,
                     const mbz_pcm **pcm);

#endif
