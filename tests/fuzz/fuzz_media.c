/*
 * fuzz_media.c - the media parsers and models without the rest of the stack (fast,
 * so that fuzzing time goes to them). Input byte 0 chooses what is done with the
 * rest, `data`:
 *   0-63     the detector: data as a stream cut into blocks of 4096 << (byte 0 % 4)
 *            bytes, mbz_media_block over it as compression does: each block's
 *            length within what is at hand, whole units inside regions, no region
 *            past its declared end, every byte in some block
 *   64-127   the audio decoder on data as a payload (n from data's first 3 bytes),
 *            then the image decoder: never out of bounds, any status
 *   128-255  round trips: the parameters from data's first 7 bytes (bounded into
 *            range), the rest coded by the audio model (bit 0 of byte 0 clear; the
 *            revision from bits 1-7, 3 or 4 for 32-bit samples; with the low
 *            (data[3] >> 1) % 32 bits of every sample cleared, so that revisions 2
 *            to 4 find a shift; revision 4 with an odd data[4] codes a whole WAV
 *            file, the canonical header written over the first 44 bytes) or the
 *            image model
 *            (set; with 1-bit pixels when data[0] % 3 == 2), decoded, compared
 */
#include "fuzz_common.h"
#include "audio.h"
#include "image.h"
#include "media.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
    if (size < 1)
        return 0;
    unsigned sel = in[0];
    const uint8_t *data = in + 1;
    size_t n = size - 1;
    if (sel < 64) {
        size_t bs = (size_t)4096 << (sel % 4), pos = 0;
        mbz_media m = { .n = 0 };
        while (pos < n) {
            size_t avail = n - pos < bs ? n - pos : bs;
            const mbz_media_format *f;
            size_t len = mbz_media_block(&m, pos, data + pos, avail, bs, &f);
            if (len == 0 || len > avail)
                fuzz_fail("block of %zu bytes with %zu at hand", len, avail);
            if (f) {
                size_t unit = f->kind == MBZ_MEDIA_AUDIO ? (size_t)f->pcm.bytes * f->pcm.channels
                                                         : mbz_img_stride(&f->img);
                if (unit == 0 || (f->kind != MBZ_MEDIA_AUDIO && f->kind != MBZ_MEDIA_IMAGE))
                    fuzz_fail("media block with unit %zu, kind %d", unit, f->kind);
                uint8_t par[MBZ_IMG_PARAMS > MBZ_PCM_PARAMS_MAX ? MBZ_IMG_PARAMS : MBZ_PCM_PARAMS_MAX];
                if (f->kind == MBZ_MEDIA_AUDIO) {
                    mbz_pcm back;
                    mbz_pcm_pack(&f->pcm, par, MBZ_AUDIO_REV);
                    if (mbz_pcm_unpack(par, sizeof par, &back, MBZ_AUDIO_REV) < 0)
                        fuzz_fail("the detector's audio layout does not pack");
                } else {
                    mbz_img back;
                    mbz_img_pack(&f->img, par);
                    if (mbz_img_unpack(par, &back, MBZ_IMG_REV) != 0)
                        fuzz_fail("the detector's image layout does not pack");
                }
            }
            pos += len;
        }
        return 0;
    }
    if (sel < 128) {
        if (n < 3)
            return 0;
        size_t want = ((size_t)data[0] | (size_t)data[1] << 8 | (size_t)(data[2] & 3) << 16) + 1;
        uint8_t *out = malloc(want);
        if (!out)
            return 0;
        (void)mbz_audio_decode(data + 3, n - 3, out, want, 1 + (data[2] >> 4) % 4);
        (void)mbz_image_decode(data + 3, n - 3, out, want, 1 + (data[2] >> 6));
        free(out);
        return 0;
    }
    if (n < 8)
        return 0;
    const uint8_t *body = data + 7;
    size_t bn = n - 7;
    /* an encoding may be larger than its input (noise): room for four times */
    size_t cap = 4 * bn + 64;
    uint8_t *pay = malloc(cap), *back = malloc(bn), *src = malloc(bn);
    if (!pay || !back || !src) {
        free(pay);
        free(back);
        free(src);
        return 0;
    }
    memcpy(src, body, bn);
    size_t m;
    int rc;
    if (!(sel & 1)) {
        /* 32-bit samples from revision 3 only; unsigned ones there 8-bit only */
        mbz_pcm f = { (uint8_t)(1 + data[0] % 4), (uint8_t)(1 + data[1] % MBZ_PCM_CHANNELS_MAX),
                      (uint8_t)(data[2] & 1), (uint8_t)(data[3] & 1), 0, 0, 0 };
        int rev = f.bytes == 4 ? 3 + (sel >> 1) % 2 : 1 + (sel >> 1) % 4, zero = (data[3] >> 1) % 32;
        if (rev >= 3 && f.bytes > 1)
            f.is_unsigned = 0;
        /* revision 4, when data[4] is odd: a whole WAV file, the canonical header
         * over the first 44 bytes (WAV's layouts: little-endian, unsigned 8-bit) */
        size_t s0 = 0;
        if (rev == 4 && (data[4] & 1) && bn >= MBZ_WAV_HEADER) {
            f.big_endian = 0;
            f.is_unsigned = f.bytes == 1;
            f.wav_header = 1;
            f.rate = 1 + (uint32_t)(data[5] | data[6] << 8);
            s0 = MBZ_WAV_HEADER;
        }
        for (size_t i = s0; i + f.bytes <= bn; i += f.bytes)
            for (int b = 0; b < zero && b < 8 * f.bytes; b++)
                src[i + (size_t)(f.big_endian ? f.bytes - 1 - b / 8 : b / 8)] &= (uint8_t)~(1u << (b % 8));
        if (f.wav_header)
            mbz_wav_header(&f, (uint32_t)(bn - MBZ_WAV_HEADER), src);
        m = mbz_audio_encode(&f, src, bn, pay, cap, rev);
        rc = m ? mbz_audio_decode(pay, m, back, bn, rev) : 0;
    } else {
        mbz_img f = { (uint8_t)(1 + data[0] % 2), (uint8_t)(data[1] & 1),
                      (uint8_t)(1 + data[2] % MBZ_IMG_CHANNELS_MAX), (uint8_t)(data[3] % 4),
                      (uint32_t)(1 + (data[4] | data[5] << 8) % 300), 0 };
        if (data[0] % 3 == 2) {        /* 1-bit pixels */
            f.bilevel = 1;
            f.bytes = 1;
            f.big_endian = 0;
            f.channels = 1;
            f.width = 1 + (data[4] | data[5] << 8) % 2400;
        }
        m = mbz_image_encode(&f, src, bn, pay, cap, MBZ_IMG_REV);
        rc = m ? mbz_image_decode(pay, m, back, bn, MBZ_IMG_REV) : 0;
    }
    /* m == 0: did not fit even in four times the input (adversarial noise): skip */
    if (m && (rc != 0 || memcmp(back, src, bn) != 0))
        fuzz_fail("round trip of %zu bytes (selector %u) differs (status %d)", bn, sel, rc);
    free(pay);
    free(back);
    free(src);
    return 0;
}
