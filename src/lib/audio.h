/*
 * audio.h - the audio model (audio.c; library-internal): PCM samples coded as
 * residuals of a cascade of adaptive linear predictors, through adaptive binary
 * contexts and the binary coder (bitcoder.h). It codes the payload of audio blocks
 * (doc/format.md, "Audio blocks"); the block coder (block.c) calls it, the media
 * detector (media.c) says where the samples are.
 *
 * Integer arithmetic only, with defined rounding: the decoder reproduces every
 * prediction and probability on any machine.
 */
#ifndef MBZ_AUDIO_H
#define MBZ_AUDIO_H

#include <stddef.h>
#include <stdint.h>

#define MBZ_PCM_CHANNELS_MAX 8

/* How the block's bytes are samples: interleaved frames of `channels` samples of
 * `bytes` bytes each. */
typedef struct {
    uint8_t bytes;         /* per sample: 1, 2 or 3 */
    uint8_t channels;      /* 1 .. MBZ_PCM_CHANNELS_MAX */
    uint8_t big_endian;    /* samples of 2 or 3 bytes, most significant byte first */
    uint8_t is_unsigned;   /* offset binary (8-bit WAV) rather than two's complement */
    uint8_t shift;         /* revision 2: low bits zero in every sample, 0 .. 15 (the
                            * encoder finds it; the detector leaves 0) */
} mbz_pcm;

/* The 2 bytes at the start of an audio payload that describe the samples. */
#define MBZ_PCM_PARAMS 2
void mbz_pcm_pack(const mbz_pcm *f, uint8_t out[MBZ_PCM_PARAMS]);
/* The audio model's revisions: 1 in frames of versions 5 to 11; 2 from version 12
 * (frame.h MBZ_FRAME_VERSION_AUDIO2): samples whose low bits are all zero are
 * coded without them (the shift), and a least-squares stage leads the cascade of
 * predictors. Writers use MBZ_AUDIO_REV. */
#define MBZ_AUDIO_REV 2
/* Parse and bound them; 0 if valid, -1 if not (unknown bits, no channels, a shift
 * before revision 2 or one that leaves no bit of the sample, ...). */
int mbz_pcm_unpack(const uint8_t in[MBZ_PCM_PARAMS], mbz_pcm *f, int rev);

/* Code data[0 .. n-1] (whole frames, then up to one frame's worth of other bytes)
 * into out[0 .. cap-1], parameters first, with revision rev of the model (f's
 * shift is ignored: the encoder finds it). Returns the payload size, or 0 when it
 * would not fit in cap (the caller then stores the block). */
size_t mbz_audio_encode(const mbz_pcm *f, const uint8_t *data, size_t n, uint8_t *out,
                        size_t cap, int rev);

/* Decode a payload made by mbz_audio_encode with revision rev into out[0 .. n-1].
 * Returns 0, or -1
 * when the payload is not a valid encoding of n bytes (bad parameters, or the
 * coder's consistency check fails). */
int mbz_audio_decode(const uint8_t *payload, size_t m, uint8_t *out, size_t n, int rev);

#endif
