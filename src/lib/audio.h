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
    uint8_t bytes;         /* per sample: 1, 2, 3 or (revision 3) 4 */
    uint8_t channels;      /* 1 .. MBZ_PCM_CHANNELS_MAX */
    uint8_t big_endian;    /* samples of 2 to 4 bytes, most significant byte first */
    uint8_t is_unsigned;   /* offset binary (8-bit WAV) rather than two's complement
                            * (revision 3: 8-bit samples only) */
    uint8_t shift;         /* revision 2: low bits zero in every sample, 0 .. 15;
                            * revision 3: 0 .. 8 x bytes - 1 (the encoder finds it;
                            * the detector leaves 0) */
    uint8_t wav_header;    /* revision 4: the block is a whole WAV file, its samples
                            * after the canonical 44-byte header (mbz_wav_header) of
                            * this layout, `rate` and the block's length, which the
                            * decoder writes instead of reading it */
    uint32_t rate;         /* with wav_header: samples per second, 1 .. 2^32 - 1 */
} mbz_pcm;

/* The bytes at the start of an audio payload that describe the samples: 2 in
 * revisions 1 and 2 (the shift in the first byte's high nibble), 3 from revision 3
 * (the shift in a byte of its own: 32-bit samples may have 16 zero bits and more),
 * and from revision 4, with wav_header, 4 more (the rate). mbz_pcm_params_size:
 * the fixed part; mbz_pcm_params_len: f's. */
#define MBZ_PCM_PARAMS_MAX 7
size_t mbz_pcm_params_size(int rev);
size_t mbz_pcm_params_len(const mbz_pcm *f, int rev);
/* Write f's parameters for revision rev (mbz_pcm_params_len(f, rev) bytes; the
 * shift must fit the revision's field, wav_header needs revision 4). */
void mbz_pcm_pack(const mbz_pcm *f, uint8_t out[MBZ_PCM_PARAMS_MAX], int rev);

/* The canonical header of a WAV file of f's layout (little-endian, offset binary
 * only for 8-bit samples), f->rate samples per second and data_len bytes of
 * samples: "RIFF", 36 + data_len, "WAVE", a 16-byte "fmt " chunk of PCM (tag 1)
 * with consistent byte rate (32-bit product) and alignment, "data", data_len. What
 * most WAV writers write (all 509 WAVs of the training corpus and alsa-utils). */
#define MBZ_WAV_HEADER 44
void mbz_wav_header(const mbz_pcm *f, uint32_t data_len, uint8_t out[MBZ_WAV_HEADER]);
/* The audio model's revisions: 1 in frames of versions 5 to 11; 2 from version 12
 * (frame.h MBZ_FRAME_VERSION_AUDIO2): samples whose low bits are all zero are
 * coded without them (the shift), and a least-squares stage leads the cascade of
 * predictors; 3 in versions 15 (MBZ_FRAME_VERSION_AUDIO3): 32-bit samples too,
 * and the error coder's probabilities start from priors; 4 from version 16
 * (MBZ_FRAME_VERSION_AUDIO4): revision 3, and a block may be a whole WAV file
 * whose canonical header the decoder writes (wav_header). Writers use
 * MBZ_AUDIO_REV. */
#define MBZ_AUDIO_REV 4
/* Parse and bound the parameters at in[0 .. m-1]; their length if valid, -1 if not
 * (too short, unknown bits, 32-bit samples before revision 3, no channels, a shift
 * before revision 2 or one that leaves no bit of the sample, a WAV header before
 * revision 4 or for a layout WAV does not have, a rate of 0, ...). */
int mbz_pcm_unpack(const uint8_t *in, size_t m, mbz_pcm *f, int rev);

/* Code data[0 .. n-1] (whole frames, then up to one frame's worth of other bytes;
 * with f->wav_header, the 44 bytes of the header first) into out[0 .. cap-1],
 * parameters first, with revision rev of the model (f's shift is ignored: the
 * encoder finds it). Returns the payload size, or 0 when it would not fit in cap
 * or revision rev cannot code f's samples, or data does not start with the header
 * f says (the caller then stores the block). */
size_t mbz_audio_encode(const mbz_pcm *f, const uint8_t *data, size_t n, uint8_t *out,
                        size_t cap, int rev);

/* Decode a payload made by mbz_audio_encode with revision rev into out[0 .. n-1].
 * Returns 0, or -1
 * when the payload is not a valid encoding of n bytes (bad parameters, or the
 * coder's consistency check fails). */
int mbz_audio_decode(const uint8_t *payload, size_t m, uint8_t *out, size_t n, int rev);

#endif
