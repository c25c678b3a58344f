/*
 * test_media.c - the media models (src/lib/audio.c, src/lib/image.c, through
 * src/lib/residual.h) and the media detector (src/lib/media.c):
 *   - round trips of generated signals in every layout the model codes (8-bit
 *     unsigned, 16-bit little- and big-endian, 24-bit, 32-bit (revision 3), 1 to 8
 *     channels, a partial frame at the end), with every revision of the audio
 *     model that codes the layout, and tonal audio codes to well under half its
 *     size; revision 2 codes samples whose low bits are zero (8-bit audio in 16-,
 *     24- and 32-bit samples) in less than 3/4 of revision 1's bytes (32-bit:
 *     than the same samples with noise in the low bits); a 32-bit signal of 24
 *     significant bits costs no more than 3% over the same signal in 24-bit
 *     samples, and one of 32 (the low 8 bits noise) at most 8.2 bits per sample
 *     more; revision 2 refuses 32-bit samples;
 *   - revision 4's whole WAV files: the canonical header's bytes, a file that
 *     starts with it coded as its samples plus the rate (golden hash), refused
 *     where the header differs or the revision is 3, 8- to 32-bit round trips;
 *     the detector takes such a file as one block when one block holds it;
 *   - golden: xxh64 of the payload of a fixed 16-bit stereo signal, of the same
 *     with 8-bit samples in 16-bit ones under revision 2, and of a 32-bit one
 *     under revision 3 (pins the arithmetic: a change to it must change the
 *     format, doc/format.md);
 *   - damage: flipped bits, truncated and extended payloads, bad parameters, noise
 *     that does not fit, all fail cleanly or decode to other bytes, never crash;
 *   - the detector finds the samples of a WAV and an AIFF header at any offset,
 *     cuts blocks at their edges and keeps frames aligned, and asks for a header
 *     that straddles the end of a buffer to start the next block;
 *   - the same for images: round trips of grey, RGB, RGBA, 16-bit, padded rows and
 *     a partial row; golden payload hashes of the four revisions of the model,
 *     damage and bad parameters; PNM (P5, P6
 *     with a comment, P7), BMP and TIFF headers found, text that looks like one,
 *     TIFF strips apart and compressed TIFF not;
 *   - the block coder's choice: a noisy field goes to the image model, a tile of
 *     16 rows of noise repeated (exact repeats) to the general stage; 32-bit
 *     samples of a scaled 16-bit signal to the general stage, of a 24-bit one with
 *     noise under it to the audio model;
 *   - bilevel (1-bit) images: round trips (fill bits past the width, padding, a
 *     partial row), a golden payload hash, damage, 1-bit pixels refused in frames
 *     before version 10; PBM (P4) and 1-bit BMP headers found; a bare fax-like
 *     page found by its row length, text and random bytes not; the page coded as
 *     an image block.
 * Plain C test: exit 0 = pass, 1 = fail.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "audio.h"
#include "block.h"
#include "frame.h"
#include "image.h"
#include "media.h"

#include "check.h"

/* xxh64 of the payload of gen(16-bit LE stereo, 20000 frames), revisions 1 and
 * 2, and of its samples with the low 8 bits cleared, revision 2 */
#define GOLDEN_AUDIO 0xbb4525b17d0af19cull
#define GOLDEN_AUDIO2 0x18c123b62b6de510ull
#define GOLDEN_AUDIO2_SHIFT 0xd139e16fb9b88cc6ull
#define GOLDEN_AUDIO3_32 0x2999ab506415f188ull
/* and of a whole WAV file (revision 4): the canonical header, gen(16-bit stereo) */
#define GOLDEN_AUDIO4_WAV 0x02e1eb8904bdd3fbull
/* xxh64 of the payload of gen_image(8-bit RGB, 200 wide, 120000 bytes), revisions
 * 1 (frames of versions 5-9), 2 (versions 10-11) and 3 (version 12 on) */
#define GOLDEN_IMAGE 0xa4ab9d4d08968413ull
#define GOLDEN_IMAGE2 0x5a56d5de26f74d58ull
#define GOLDEN_IMAGE3 0xb88aa6e9103d5370ull
#define GOLDEN_IMAGE4 0x50cf0ca23b1cc9b8ull
/* xxh64 of the payload of gen_page(1728 pixels wide, 200 rows) */
#define GOLDEN_BILEVEL 0x9764c471658d8daeull

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng >> 33);
}

/* Integer test signal: two resonators (y[n] = 2c y[n-1] - y[n-2]) per channel, the
 * channels correlated, plus a little noise; amplitude `amp`. No floating point, so
 * the golden hash does not depend on a libm. */
static void gen(const mbz_pcm *f, uint8_t *out, size_t n, int32_t amp)
{
    int nc = f->channels, bits = 8 * f->bytes;
    int64_t y1[2] = { amp / 10, amp / 14 }, y0[2] = { 0, 0 };
    const int64_t c[2] = { 16000, 15500 };       /* 2 cos(w) in Q13 */
    size_t fb = (size_t)f->bytes * (size_t)nc, frames = n / fb;
    for (size_t i = 0; i < frames; i++) {
        int64_t s = 0;
        for (int k = 0; k < 2; k++) {
            int64_t y = ((c[k] * y1[k]) >> 13) - y0[k];
            y0[k] = y1[k];
            y1[k] = y;
            s += y;
        }
        for (int ch = 0; ch < nc; ch++) {
            int32_t noise = bits == 8 ? 4 : 16;    /* a few bits of noise */
            int64_t v = s * (4 + ch) / 6 + (int32_t)(rnd() % (uint32_t)noise) - noise / 2;
            int64_t lim = ((int64_t)1 << (bits - 1)) - 1;
            v = v > lim ? lim : v < -lim ? -lim : v;
            uint32_t u = f->is_unsigned ? (uint32_t)(v + ((int64_t)1 << (bits - 1))) : (uint32_t)v;
            uint8_t *p = out + i * fb + (size_t)ch * f->bytes;
            for (int b = 0; b < f->bytes; b++)
                p[f->big_endian ? f->bytes - 1 - b : b] = (uint8_t)(u >> (8 * b));
        }
    }
    for (size_t j = frames * fb; j < n; j++)
        out[j] = (uint8_t)rnd();
}

/* Clear the low `bits` bits of every whole sample of in[0 .. n-1] (an 8-bit
 * recording in wider samples). */
static void clear_low(const mbz_pcm *f, uint8_t *in, size_t n, int bits)
{
    for (size_t i = 0; i + f->bytes <= n; i += f->bytes)
        for (int b = 0; b < bits / 8; b++)
            in[i + (f->big_endian ? f->bytes - 1 - (size_t)b : (size_t)b)] = 0;
}

static size_t roundtrip(const char *name, const mbz_pcm *f, const uint8_t *in, size_t n,
                        uint8_t *pay, size_t cap, int rev)
{
    static uint8_t back[1 << 20];
    size_t m = mbz_audio_encode(f, in, n, pay, cap, rev);
    CHECK(m > 0, "%s: encode failed", name);
    if (m == 0)
        return 0;
    memset(back, 0xa5, n);
    CHECK(mbz_audio_decode(pay, m, back, n, rev) == 0, "%s: decode failed", name);
    CHECK(memcmp(back, in, n) == 0, "%s: round trip differs", name);
    return m;
}

static void layouts(void)
{
    static uint8_t in[1 << 20], pay[(1 << 20) + 64];
    struct {
        mbz_pcm f;
        size_t n;
        int32_t amp;
    } t[] = {
        { { 2, 2, 0, 0, 0, 0, 0 }, 400000, 12000 },
        { { 2, 1, 0, 0, 0, 0, 0 }, 200001, 20000 },      /* a partial frame at the end */
        { { 2, 2, 1, 0, 0, 0, 0 }, 100002, 8000 },
        { { 1, 1, 0, 1, 0, 0, 0 }, 50000, 100 },
        { { 1, 2, 0, 0, 0, 0, 0 }, 50003, 100 },
        { { 3, 2, 0, 0, 0, 0, 0 }, 300000, 3000000 },
        { { 3, 1, 1, 0, 0, 0, 0 }, 150001, 5000000 },
        { { 2, 6, 0, 0, 0, 0, 0 }, 240000, 9000 },
        { { 2, 8, 1, 0, 0, 0, 0 }, 160008, 9000 },
        { { 4, 2, 0, 0, 0, 0, 0 }, 400000, 800000000 },
        { { 4, 1, 1, 0, 0, 0, 0 }, 200003, 1200000000 },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "%d-bit x %d%s%s", 8 * t[i].f.bytes, t[i].f.channels,
                 t[i].f.big_endian ? " BE" : "", t[i].f.is_unsigned ? " unsigned" : "");
        gen(&t[i].f, in, t[i].n, t[i].amp);
        int first = t[i].f.bytes == 4 ? 3 : 1;
        if (first > 1)
            CHECK(mbz_audio_encode(&t[i].f, in, t[i].n, pay, t[i].n, first - 1) == 0,
                  "%s: revision %d coded 32-bit samples", name, first - 1);
        for (int rev = first; rev <= MBZ_AUDIO_REV; rev++) {
            size_t m = roundtrip(name, &t[i].f, in, t[i].n, pay, t[i].n, rev);
            CHECK(m < t[i].n / 2, "%s: %zu bytes coded to %zu (tonal audio should halve)", name, t[i].n, m);
            printf("%-22s %7zu -> %7zu (revision %d)\n", name, t[i].n, m, rev);
        }
        /* the same as 8-bit samples in wider ones: revision 2 leaves the zeros out
         * (32-bit: compared with the samples as they were, their low bits noise) */
        if (t[i].f.bytes > 1) {
            size_t m1 = t[i].f.bytes == 4 ? roundtrip(name, &t[i].f, in, t[i].n, pay, t[i].n, 3) : 0;
            clear_low(&t[i].f, in, t[i].n, 8 * (t[i].f.bytes - 1));
            if (t[i].f.bytes < 4)
                m1 = roundtrip(name, &t[i].f, in, t[i].n, pay, t[i].n, 1);
            size_t m2 = roundtrip(name, &t[i].f, in, t[i].n, pay, t[i].n, first > 2 ? first : 2);
            CHECK(m2 < m1 / 4 * 3, "%s, low bits zero: %zu bytes, %zu without the shift", name, m2, m1);
            printf("%-22s %7zu -> %7zu (low bits zero; without: %zu)\n", name, t[i].n, m2, m1);
        }
    }
}

/* 32-bit samples: a 24-bit signal in their top bits, under it zeros or noise. The
 * zeros cost nothing (the shift: the same as the 24-bit samples, within 3%), the
 * noise at most 8.2 bits a sample (revision 3 codes it apart, near 8 bits). */
static void wide32(void)
{
    static uint8_t in24[300000], in32[400000], pay[400064];
    mbz_pcm f24 = { 3, 2, 0, 0, 0, 0, 0 }, f32 = { 4, 2, 0, 0, 0, 0, 0 };
    gen(&f24, in24, sizeof in24, 3000000);
    size_t samples = sizeof in24 / 3;
    size_t m24 = roundtrip("24-bit", &f24, in24, sizeof in24, pay, sizeof pay, 3);
    for (int noise = 0; noise < 2; noise++) {
        for (size_t i = 0; i < samples; i++) {
            in32[4 * i] = noise ? (uint8_t)rnd() : 0;
            memcpy(in32 + 4 * i + 1, in24 + 3 * i, 3);
        }
        const char *name = noise ? "32-bit, noise under 24" : "32-bit, 24 significant";
        size_t m = roundtrip(name, &f32, in32, sizeof in32, pay, sizeof pay, 3);
        if (noise)
            CHECK(m * 10 <= m24 * 10 + samples * 82 / 8, "%s: %zu bytes, the 24-bit samples %zu", name, m, m24);
        else
            CHECK(m <= m24 + m24 / 33, "%s: %zu bytes, the 24-bit samples %zu", name, m, m24);
        printf("%-22s %7zu -> %7zu (the top 24 bits alone: %zu)\n", name, sizeof in32, m, m24);
    }
}

static void golden(void)
{
    static uint8_t in[80000], pay[80000];
    mbz_pcm f = { 2, 2, 0, 0, 0, 0, 0 };
    rng = 12345;
    gen(&f, in, sizeof in, 12000);
    for (int k = 0; k < 4; k++) {
        int rev = k == 0 ? 1 : k < 3 ? 2 : 3;
        uint64_t want = k == 0 ? GOLDEN_AUDIO : k == 1 ? GOLDEN_AUDIO2 : k == 2 ? GOLDEN_AUDIO2_SHIFT : GOLDEN_AUDIO3_32;
        if (k == 2)
            clear_low(&f, in, sizeof in, 8);
        if (k == 3) {
            f.bytes = 4;
            rng = 12345;
            gen(&f, in, sizeof in, 1500000000);
        }
        size_t m = mbz_audio_encode(&f, in, sizeof in, pay, sizeof pay, rev);
        uint64_t h = XXH64(pay, m, 0);
        printf("audio payload (revision %d%s): %zu bytes, xxh64 %016llx\n", rev,
               k == 2 ? ", low bits zero" : k == 3 ? ", 32-bit" : "", m, (unsigned long long)h);
        CHECK(h == want, "golden payload hash %016llx, expected %016llx", (unsigned long long)h,
              (unsigned long long)want);
    }
}

static void damage(int rev)
{
    static uint8_t in[60000], pay[60064], bad[60064], back[60000];
    mbz_pcm f = { rev >= 3 ? 4 : 2, 2, 0, 0, 0, 0, 0 };
    gen(&f, in, sizeof in, rev >= 3 ? 1500000000 : 12000);
    if (rev == 2)
        clear_low(&f, in, sizeof in, 8);
    size_t m = mbz_audio_encode(&f, in, sizeof in, pay, sizeof pay, rev);
    CHECK(m > 100, "encode");
    int caught = 0;
    for (int k = 0; k < 200; k++) {
        memcpy(bad, pay, m);
        size_t np = mbz_pcm_params_size(rev), at = np + rnd() % (m - np);
        bad[at] ^= (uint8_t)(1u << (rnd() % 8));
        int rc = mbz_audio_decode(bad, m, back, sizeof back, rev);
        caught += rc != 0 || memcmp(back, in, sizeof in) != 0;
    }
    CHECK(caught == 200, "a flipped payload bit went unnoticed (%d of 200 caught)", caught);
    CHECK(mbz_audio_decode(pay, m - 1, back, sizeof back, rev) != 0 || memcmp(back, in, sizeof in),
          "truncated payload accepted");
    memcpy(bad, pay, m);
    bad[m] = 0;
    CHECK(mbz_audio_decode(bad, m + 1, back, sizeof back, rev) != 0, "extended payload accepted");
    /* revisions 1 and 2: a reserved sample size, no or 9 channels, a shift in
     * revision 1 (0x10, 0x80) or one that leaves no bit (8 of an 8-bit sample, 15
     * of 1 byte); revision 3: no or 9 channels, the reserved nibble, unsigned
     * samples of 4 and 2 bytes, shifts that leave no bit (32 of 4 bytes, 8 of 1);
     * revision 4: the same, the nibble's reserved bits 5 and 7, and the WAV header
     * (bit 4, 4 more bytes: the rate) with big-endian or signed 8-bit samples or
     * a rate of 0. The last byte of a row: how many bytes replace the payload's */
    const uint8_t params[][8] = { { 0x03, 2, 0, 0, 0, 0, 0, 2 }, { 0x01, 0, 0, 0, 0, 0, 0, 2 },
                                  { 0x01, 9, 0, 0, 0, 0, 0, 2 }, { 0x80, 1, 0, 0, 0, 0, 0, 2 },
                                  { 0xf0, 1, 0, 0, 0, 0, 0, 2 }, { 0x10, 2, 0, 0, 0, 0, 0, 2 } };
    const uint8_t params3[][8] = { { 0x03, 0, 0, 0, 0, 0, 0, 3 }, { 0x03, 9, 0, 0, 0, 0, 0, 3 },
                                   { 0x13, 2, 0, 0, 0, 0, 0, 3 }, { 0x0b, 2, 0, 0, 0, 0, 0, 3 },
                                   { 0x09, 2, 0, 0, 0, 0, 0, 3 }, { 0x03, 2, 32, 0, 0, 0, 0, 3 },
                                   { 0x00, 2, 8, 0, 0, 0, 0, 3 } };
    const uint8_t params4[][8] = { { 0x03, 0, 0, 0, 0, 0, 0, 3 }, { 0x03, 9, 0, 0, 0, 0, 0, 3 },
                                   { 0x23, 2, 0, 0, 0, 0, 0, 3 }, { 0x83, 2, 0, 0, 0, 0, 0, 3 },
                                   { 0x0b, 2, 0, 0, 0, 0, 0, 3 }, { 0x09, 2, 0, 0, 0, 0, 0, 3 },
                                   { 0x03, 2, 32, 0, 0, 0, 0, 3 }, { 0x00, 2, 8, 0, 0, 0, 0, 3 },
                                   { 0x17, 2, 0, 0x44, 0xac, 0, 0, 7 }, { 0x10, 2, 0, 0x44, 0xac, 0, 0, 7 },
                                   { 0x13, 2, 0, 0, 0, 0, 0, 7 } };
    const uint8_t (*list)[8] = rev >= 4 ? params4 : rev >= 3 ? params3 : params;
    size_t count = rev >= 4 ? sizeof params4 / sizeof params4[0]
                   : rev >= 3 ? sizeof params3 / sizeof params3[0]
                              : sizeof params / sizeof params[0] - (rev >= 2);
    for (size_t i = 0; i < count; i++) {
        const uint8_t *q = list[i];
        memcpy(bad, pay, m);
        memcpy(bad, q, q[7]);
        CHECK(mbz_audio_decode(bad, m, back, sizeof back, rev) != 0, "parameters %02x %02x %02x accepted (revision %d)",
              q[0], q[1], q[2], rev);
    }
    size_t np = mbz_pcm_params_size(rev);
    CHECK(mbz_audio_decode(pay, np, back, sizeof back, rev) != 0, "parameters alone accepted");
    /* white noise at full scale does not fit in fewer bytes: encode says so */
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)rnd();
    CHECK(mbz_audio_encode(&f, in, sizeof in, pay, sizeof in - 1, rev) == 0, "noise compressed");
}

static void put32(uint8_t *p, uint32_t v, int be)
{
    for (int i = 0; i < 4; i++)
        p[be ? 3 - i : i] = (uint8_t)(v >> (8 * i));
}

static void put16(uint8_t *p, uint32_t v, int be)
{
    p[be ? 1 : 0] = (uint8_t)v;
    p[be ? 0 : 1] = (uint8_t)(v >> 8);
}

/* A TIFF header (byte order `be`) and its first directory at p + 8: n entries of
 * tag, type, count, value; a SHORT value sits in the entry's first two bytes (the
 * other two are left as they are: zero in the callers' buffers). */
static void put_tiff_dir(uint8_t *p, const uint16_t (*tags)[4], int n, int be)
{
    memcpy(p, be ? "MM\0*" : "II*\0", 4);
    put32(p + 4, 8, be);
    put16(p + 8, (uint32_t)n, be);
    for (int k = 0; k < n; k++) {
        uint8_t *e = p + 10 + 12 * k;
        put16(e, tags[k][0], be);
        put16(e + 2, tags[k][1], be);
        put32(e + 4, tags[k][2], be);
        if (tags[k][1] == 3 && tags[k][2] == 1)
            put16(e + 8, tags[k][3], be);
        else
            put32(e + 8, tags[k][3], be);
    }
}

/* A 16-bit stereo WAV header at `rate` samples per second, written field by field
 * (the tests' own, not the library's): 44 bytes, or with `list` a LIST chunk before
 * data (44 + 12). Returns its length. */
static size_t wav_header_at(uint8_t *p, uint32_t data, uint32_t rate, int list)
{
    size_t d = list ? 48 : 36;            /* where the data chunk starts */
    memcpy(p, "RIFF", 4);
    put32(p + 4, (uint32_t)d + data, 0);   /* the RIFF chunk: all after its size field */
    memcpy(p + 8, "WAVEfmt ", 8);
    put32(p + 16, 16, 0);
    put16(p + 20, 1, 0);
    put16(p + 22, 2, 0);
    put32(p + 24, rate, 0);
    put32(p + 28, rate * 4, 0);
    put16(p + 32, 4, 0);
    put16(p + 34, 16, 0);
    if (list) {
        memcpy(p + 36, "LIST", 4);
        put32(p + 40, 4, 0);
        memcpy(p + 44, "INFO", 4);
    }
    memcpy(p + d, "data", 4);
    put32(p + d + 4, data, 0);
    return d + 8;
}

/* The one most detector tests use: 44.1 kHz, with the LIST chunk (not canonical). */
static size_t wav_header(uint8_t *p, uint32_t data)
{
    return wav_header_at(p, data, 44100, 1);
}

/* Revision 4: a whole WAV file. The canonical header (mbz_wav_header) has the
 * fields a WAV writer writes; a file that starts with it codes to the samples'
 * payload and the 4 bytes of the rate, decodes to the same bytes (golden hash),
 * and is refused by the encoder where its header is not the canonical one or the
 * revision is 3; the decoder refuses such a payload in revision 3 and a content too
 * short for the header. 8-bit mono and 24-bit stereo files round-trip too. */
static void whole_wav(void)
{
    static uint8_t in[44 + 80000], pay[44 + 80064], pay2[80064], back[44 + 80000], want[44];
    mbz_pcm f = { 2, 2, 0, 0, 0, 1, 22050 }, s = f;
    s.wav_header = 0;
    rng = 4321;
    gen(&f, in + 44, 80000, 12000);
    mbz_wav_header(&f, 80000, in);
    CHECK(wav_header_at(want, 80000, 22050, 0) == 44 && !memcmp(in, want, 44), "canonical header");
    size_t m = mbz_audio_encode(&f, in, sizeof in, pay, sizeof pay, 4);
    size_t ms = mbz_audio_encode(&s, in + 44, 80000, pay2, sizeof pay2, 4);
    CHECK(m == ms + 4 && ms > 0 && !memcmp(pay + 7, pay2 + 3, ms - 3),
          "whole file %zu bytes, its samples alone %zu", m, ms);
    CHECK(m && mbz_audio_decode(pay, m, back, sizeof back, 4) == 0 && !memcmp(back, in, sizeof in),
          "whole file: round trip");
    uint64_t h = XXH64(pay, m, 0);
    printf("audio payload (revision 4, whole WAV file): %zu bytes, xxh64 %016llx\n", m, (unsigned long long)h);
    CHECK(h == GOLDEN_AUDIO4_WAV, "golden payload hash %016llx, expected %016llx", (unsigned long long)h,
          (unsigned long long)GOLDEN_AUDIO4_WAV);
    CHECK(mbz_audio_encode(&f, in, sizeof in, pay2, sizeof pay2, 3) == 0, "revision 3 wrote a WAV header");
    CHECK(mbz_audio_decode(pay, m, back, sizeof back, 3) != 0, "revision 3 read a WAV header");
    CHECK(mbz_audio_decode(pay, m, back, 43, 4) != 0, "a WAV header in 43 bytes");
    /* not the canonical header: a byte rate, a size, a LIST chunk's place */
    const int at[] = { 28, 4, 40, 36 };
    for (int i = 0; i < 4; i++) {
        in[at[i]] ^= 1;
        CHECK(mbz_audio_encode(&f, in, sizeof in, pay2, sizeof pay2, 4) == 0,
              "a header changed at byte %d coded as the canonical one", at[i]);
        in[at[i]] ^= 1;
    }
    const mbz_pcm other[] = { { 1, 1, 0, 1, 0, 1, 8000 }, { 3, 2, 0, 0, 0, 1, 96000 }, { 4, 1, 0, 0, 0, 1, 48000 } };
    for (int i = 0; i < 3; i++) {
        size_t n = 44 + 30000 - 30000 % (other[i].bytes * other[i].channels);
        gen(&other[i], in + 44, n - 44, other[i].bytes == 1 ? 100 : 1000000);
        mbz_wav_header(&other[i], (uint32_t)(n - 44), in);
        size_t k = mbz_audio_encode(&other[i], in, n, pay, sizeof pay, 4);
        CHECK(k > 0 && k < n / 2 && mbz_audio_decode(pay, k, back, n, 4) == 0 && !memcmp(back, in, n),
              "whole WAV file, %d-bit x %d: round trip (%zu bytes)", 8 * other[i].bytes, other[i].channels, k);
    }
}


/* A 24-bit mono AIFF header (FORM AIFF, COMM, SSND with offset 0). */
static size_t aiff_header(uint8_t *p, uint32_t data)
{
    memcpy(p, "FORM", 4);
    put32(p + 4, 4 + 26 + 16 + data, 1);
    memcpy(p + 8, "AIFFCOMM", 8);
    put32(p + 16, 18, 1);
    put16(p + 20, 1, 1);
    put32(p + 22, data / 3, 1);
    put16(p + 26, 24, 1);
    memset(p + 28, 0, 10);
    memcpy(p + 38, "SSND", 4);
    put32(p + 42, data + 8, 1);
    put32(p + 46, 0, 1);
    put32(p + 50, 0, 1);
    return 54;
}

/* Header h (0 .. 4) of a WAV, AIFF, PPM, BMP or TIFF file in p[0 .. 159]; returns
 * its length. */
static size_t scan_header(uint8_t *p, int h)
{
    memset(p, 0, 160);
    if (h == 0)
        return wav_header(p, 5000);
    if (h == 1)
        return aiff_header(p, 3000);
    if (h == 2) {
        memcpy(p, "P6\n64 16\n255\n", 13);     /* 3 KiB of pixels: above MBZ_MEDIA_MIN */
        return 13;
    }
    if (h == 3) {                         /* BMP 24-bit, 32 x 16, bottom-up */
        memcpy(p, "BM", 2);
        put32(p + 10, 54, 0);
        put32(p + 14, 40, 0);
        put32(p + 18, 32, 0);
        put32(p + 22, 16, 0);
        put16(p + 26, 1, 0);
        put16(p + 28, 24, 0);
        return 54;
    }
    /* TIFF, big-endian, 64 x 32 grey in two strips, one after the other at 160 */
    static const uint16_t tags[][4] = {           /* tag, type, count, value */
        { 256, 3, 1, 64 }, { 257, 3, 1, 32 }, { 258, 3, 1, 8 }, { 259, 3, 1, 1 }, { 262, 3, 1, 1 },
        { 273, 4, 2, 124 }, { 277, 3, 1, 1 }, { 279, 4, 2, 132 }, { 284, 3, 1, 1 },
    };
    put_tiff_dir(p, tags, 9, 1);
    put32(p + 124, 160, 1);
    put32(p + 128, 160 + 1024, 1);
    put32(p + 132, 1024, 1);
    put32(p + 136, 1024, 1);
    return 160;
}

/* mbz_media_scan against its plain twin, mbz_media_scan_ref: random buffers drawn
 * from header letters (pairs at every chunk edge), with WAV and AIFF headers placed
 * at and around the 64-byte chunk edges, whole or cut short by the end. */
static void scan_twins(void)
{
    static uint8_t buf[20000];
    static const char alphabet[] = "RIFOPBM4567*IIMMRIFFxWAVE\0";
    int kinds[5] = { 0 };
    uint64_t s = 12345;
    int found = 0, cut = 0;
    for (int t = 0; t < 400; t++) {
        size_t n = t < 40 ? 1 + (size_t)t * 61 : 1500 + (size_t)(t * 7919 % 18000);
        for (size_t i = 0; i < n; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            buf[i] = t % 3 == 0 ? (uint8_t)(s >> 56) : (uint8_t)alphabet[(s >> 40) % (sizeof alphabet - 1)];
        }
        for (int h = 0; h < 5; h++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            size_t at = (size_t)(s >> 33) % n;
            at = (s >> 20) % 3 == 0 ? at & ~(size_t)63 : (s >> 20) % 3 == 1 ? (at | 63) : at;  /* chunk edges */
            uint8_t hdr[160];
            size_t len = scan_header(hdr, h);
            if (at < n)
                memcpy(buf + at, hdr, at + len <= n ? len : n - at);
        }
        mbz_media a = { .n = 0 }, b = { .n = 0 };
        uint64_t off = (uint64_t)t * 1000;
        size_t sa = mbz_media_scan(&a, off, buf, n), sb = mbz_media_scan_ref(&b, off, buf, n);
        int same = sa == sb && a.n == b.n;
        for (int i = 0; same && i < a.n; i++)
            same = a.r[i].start == b.r[i].start && a.r[i].end == b.r[i].end && a.r[i].unit == b.r[i].unit;
        CHECK(same, "scan twins, case %d (n %zu): stop %zu vs %zu, regions %d vs %d", t, n, sa, sb, a.n, b.n);
        found += b.n > 0;
        for (int i = 0; i < b.n; i++)
            kinds[b.r[i].fmt.kind == MBZ_MEDIA_AUDIO ? b.r[i].fmt.pcm.bytes == 3
                                                     : b.r[i].unit == 192 ? 2 : b.r[i].unit == 64 ? 3 : 4]++;
        cut += sb < n;
    }
    /* the cases reach both outcomes */
    CHECK(found > 100 && cut > 20, "scan twins: %d cases found a region, %d were cut short", found, cut);
    CHECK(kinds[0] && kinds[1] && kinds[2] && kinds[3] && kinds[4],
          "scan twins: regions of every kind (wav %d, aiff %d, ppm %d, tiff %d, bmp %d)", kinds[0], kinds[1],
          kinds[2], kinds[3], kinds[4]);
}

static void detector(void)
{
    static uint8_t buf[300000];
    memset(buf, 'x', sizeof buf);
    mbz_media m = { .n = 0 };
    const mbz_media_format *pcm;
    /* a WAV at 1000 in a buffer at stream offset 5000: samples at 6056, 100001 bytes */
    size_t h = wav_header(buf + 1000, 100001);
    CHECK(h == 56, "wav header");
    CHECK(mbz_media_scan(&m, 5000, buf, 200000) == 200000, "complete header reported as cut short");
    CHECK(m.n == 1 && m.r[0].start == 6056 && m.r[0].end == 106057, "wav region %d %llu %llu", m.n,
          m.n ? (unsigned long long)m.r[0].start : 0, m.n ? (unsigned long long)m.r[0].end : 0);
    CHECK(m.n == 1 && m.r[0].fmt.pcm.bytes == 2 && m.r[0].fmt.pcm.channels == 2 && !m.r[0].fmt.pcm.big_endian &&
          !m.r[0].fmt.pcm.is_unsigned, "wav layout");
    mbz_media_scan(&m, 5000, buf, 200000);
    CHECK(m.n == 1, "a region found twice is added twice");
    /* block at 5000: general, up to the samples */
    CHECK(mbz_media_cut(&m, 5000, 65536, 65536, 65536, &pcm) == 1056 && !pcm, "cut before the samples");
    /* at the samples: audio, a whole number of 4-byte frames of a 65535-byte block */
    size_t n = mbz_media_cut(&m, 6056, 65535, 65535, 65535, &pcm);
    CHECK(n == 65532 && pcm && pcm->pcm.channels == 2, "first audio block %zu", n);
    /* the rest of the region, partial frame included */
    n = mbz_media_cut(&m, 6056 + 65532, 65536, 65536, 65536, &pcm);
    CHECK(n == 100001 - 65532 && pcm, "last audio block %zu", n);
    /* after it: general, and the region is forgotten */
    n = mbz_media_cut(&m, 106057, 65536, 65536, 65536, &pcm);
    CHECK(n == 65536 && !pcm && m.n == 0, "after the region: %zu", n);

    CHECK(!m.r[0].has_whole || m.n != 1, "a WAV with a LIST chunk taken whole");

    /* a canonical WAV header (revision 4): one block from the header to the end,
     * if one block can hold it; else the header is a general block's end as above */
    for (int big = 0; big < 2; big++) {
        memset(buf, 'x', sizeof buf);
        wav_header_at(buf + 1000, 20000, 44100, 0);
        mbz_media w = { .n = 0 };
        mbz_media_scan(&w, 5000, buf, 200000);
        CHECK(w.n == 1 && w.r[0].start == 6044 && w.r[0].end == 26044 && w.r[0].has_whole &&
              w.r[0].whole.pcm.wav_header && w.r[0].whole.pcm.rate == 44100 && !w.r[0].fmt.pcm.wav_header,
              "canonical wav region");
        size_t bs = big ? 16384 : 65536;
        n = mbz_media_cut(&w, 5000, bs, bs, bs, &pcm);
        CHECK(n == (big ? 1044u : 1000u) && !pcm, "canonical wav: cut before it at %zu (block size %zu)", n, bs);
        if (!big) {
            n = mbz_media_cut(&w, 6000, bs, bs, bs, &pcm);
            CHECK(n == 20044 && pcm && pcm->pcm.wav_header, "canonical wav: one block of %zu", n);
            /* less at hand than the file (a short read): the header alone, then samples */
            n = mbz_media_cut(&w, 6000, 10000, bs, 10000, &pcm);
            CHECK(n == 44 && !pcm, "canonical wav, 10000 bytes at hand: %zu", n);
        } else {
            n = mbz_media_cut(&w, 6044, bs, bs, bs, &pcm);
            CHECK(n == 16384 && pcm && !pcm->pcm.wav_header, "canonical wav in blocks of 16 KiB: %zu", n);
        }
    }

    /* a header cut short by the end of the buffer starts the next block */
    memset(buf, 'x', sizeof buf);
    wav_header(buf + 70000, 100000);
    mbz_media fresh = { .n = 0 };
    CHECK(mbz_media_scan(&fresh, 0, buf, 70020) == 70000 && fresh.n == 0, "straddling header");
    CHECK(mbz_media_cut(&fresh, 0, 70020, 131072, 70000, &pcm) == 70000 && !pcm, "cut at the header");
    CHECK(mbz_media_scan(&fresh, 70000, buf + 70000, 131072) == 131072 && fresh.n == 1 &&
          fresh.r[0].start == 70056, "header found at a block start");
    /* a signature cut after 4 bytes is kept for the next block; after 2 it is not
     * taken for one (random data would be cut too often) */
    CHECK(mbz_media_scan(&fresh, 0, buf, 70004) == 70000, "signature cut short");
    CHECK(mbz_media_scan(&fresh, 0, buf, 70002) == 70002, "2 bytes taken for a signature");
    /* a BMP header cut short: kept for the next block while the fields at hand
     * allow one (12 to 33 bytes of it), not when they rule it out: "BM" then four
     * random bytes of pixel offset is not a header */
    memset(buf, 'x', sizeof buf);
    scan_header(buf + 70000, 3);
    for (size_t k = 12; k < 34; k++)
        CHECK(mbz_media_scan(&fresh, 0, buf, 70000 + k) == 70000, "BMP header cut after %zu bytes", k);
    static const struct { size_t at, k; uint8_t v; } spoil[] = {
        { 12, 14, 0x7f },  /* pixel offset above the headers' 64 KiB */
        { 10, 14, 20 },    /* pixel offset inside the 54 bytes of headers */
        { 14, 18, 41 },    /* DIB header size none of the known */
        { 26, 28, 2 },     /* 2 planes */
        { 28, 30, 16 },    /* 16 bits per pixel */
    };
    for (size_t i = 0; i < sizeof spoil / sizeof *spoil; i++) {
        scan_header(buf + 70000, 3);
        buf[70000 + spoil[i].at] = spoil[i].v;
        CHECK(mbz_media_scan(&fresh, 0, buf, 70000 + spoil[i].k) == 70000 + spoil[i].k,
              "BMP header ruled out by byte %zu taken for one", spoil[i].at);
        CHECK(mbz_media_scan(&fresh, 0, buf, 70000 + spoil[i].k - 1) == 70000,
              "BMP header cut before byte %zu not kept", spoil[i].at);
    }

    /* AIFF, 24-bit big-endian mono */
    memset(buf, 0, sizeof buf);
    aiff_header(buf + 10, 30000);
    mbz_media a = { .n = 0 };
    mbz_media_scan(&a, 0, buf, 100000);
    CHECK(a.n == 1 && a.r[0].start == 64 && a.r[0].end == 30064 && a.r[0].fmt.pcm.bytes == 3 &&
          a.r[0].fmt.pcm.big_endian && a.r[0].fmt.pcm.channels == 1, "aiff region");

    /* 32-bit PCM is audio (stereo: 8-byte frames); 32-bit floating point is not */
    for (int fl = 0; fl < 2; fl++) {
        memset(buf, 0, sizeof buf);
        wav_header(buf, 100000);
        put16(buf + 20, fl ? 3 : 1, 0);
        put16(buf + 32, 8, 0);
        put16(buf + 34, 32, 0);
        mbz_media b = { .n = 0 };
        mbz_media_scan(&b, 0, buf, 200000);
        CHECK(fl ? b.n == 0 : b.n == 1 && b.r[0].fmt.pcm.bytes == 4 && b.r[0].unit == 8,
              "32-bit %s wav: %d regions", fl ? "float" : "integer", b.n);
    }
    /* hostile headers: 0 and 9 channels, 32 bits in 4-byte frames, float, chunk
     * sizes past 4 GiB */
    static const struct {
        int at;
        uint32_t v;
        int bytes;
    } bad[] = { { 22, 0, 2 }, { 22, 9, 2 }, { 34, 32, 2 }, { 20, 3, 2 }, { 16, 0xfffffff0u, 4 } };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(buf, 0, sizeof buf);
        wav_header(buf, 100000);
        if (bad[i].bytes == 2)
            put16(buf + bad[i].at, bad[i].v, 0);
        else
            put32(buf + bad[i].at, bad[i].v, 0);
        mbz_media b = { .n = 0 };
        mbz_media_scan(&b, 0, buf, 200000);
        CHECK(b.n == 0, "hostile wav header %zu accepted", i);
    }
    /* a tiny WAV is left to the general stage */
    memset(buf, 0, sizeof buf);
    wav_header(buf, 1000);
    mbz_media t = { .n = 0 };
    mbz_media_scan(&t, 0, buf, 2000);
    CHECK(t.n == 0, "tiny wav taken");
}


/* ------------------------------------------------------------------ images */

/* Integer test image: smooth gradients and a few edges per channel, plus noise. */
static void gen_image(const mbz_img *f, uint8_t *out, size_t n)
{
    size_t stride = mbz_img_stride(f), rows = n / stride;
    int32_t maxv = f->bytes == 2 ? 65535 : 255;
    for (size_t y = 0; y < rows; y++) {
        uint8_t *row = out + y * stride;
        for (uint32_t x = 0; x < f->width; x++)
            for (int c = 0; c < f->channels; c++) {
                int64_t v = ((int64_t)x * 3 + (int64_t)y * 2 + c * 40) % 256;
                if ((x / 16 + y / 16) % 3 == 0)
                    v = 255 - v;
                v = v * (maxv / 255) + (int32_t)(rnd() % 5) - 2;
                v = v < 0 ? 0 : v > maxv ? maxv : v;
                uint8_t *p = row + ((size_t)x * f->channels + c) * f->bytes;
                if (f->bytes == 2) {
                    p[f->big_endian ? 0 : 1] = (uint8_t)(v >> 8);
                    p[f->big_endian ? 1 : 0] = (uint8_t)v;
                } else {
                    p[0] = (uint8_t)v;
                }
            }
        memset(row + (size_t)f->width * f->channels * f->bytes, 0, f->pad);
    }
    for (size_t j = rows * stride; j < n; j++)
        out[j] = (uint8_t)rnd();
}

static void image_layouts(int rev)
{
    static uint8_t in[1 << 20], pay[(1 << 20) + 64], back[1 << 20];
    struct {
        mbz_img f;
        size_t n;
    } t[] = {
        { { 1, 0, 1, 0, 300, 0 }, 300 * 200 },
        { { 1, 0, 3, 0, 257, 0 }, 257 * 3 * 150 + 100 },   /* a partial row at the end */
        { { 1, 0, 4, 0, 128, 0 }, 128 * 4 * 100 },
        { { 2, 1, 1, 0, 200, 0 }, 200 * 2 * 100 },
        { { 2, 0, 3, 0, 64, 0 }, 64 * 6 * 80 },
        { { 1, 0, 3, 1, 101, 0 }, (101 * 3 + 1) * 120 },    /* BMP-style padding */
        { { 1, 0, 1, 0, 1, 0 }, 5000 },                     /* one pixel wide */
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "image r%d %u x %d ch x %d B%s pad %d", rev, t[i].f.width,
                 t[i].f.channels, t[i].f.bytes, t[i].f.big_endian ? " BE" : "", t[i].f.pad);
        gen_image(&t[i].f, in, t[i].n);
        size_t m = mbz_image_encode(&t[i].f, in, t[i].n, pay, t[i].n, rev);
        CHECK(m > 0, "%s: encode failed", name);
        if (!m)
            continue;
        memset(back, 0xa5, t[i].n);
        CHECK(mbz_image_decode(pay, m, back, t[i].n, rev) == 0, "%s: decode failed", name);
        CHECK(memcmp(back, in, t[i].n) == 0, "%s: round trip differs", name);
        printf("%-34s %7zu -> %7zu\n", name, t[i].n, m);
        CHECK(m < t[i].n / 2 || t[i].f.width == 1, "%s: %zu bytes coded to %zu (should halve)", name,
              t[i].n, m);
    }
}

static void image_golden_damage(int rev)
{
    static uint8_t in[120000], pay[120064], bad[120064], back[120000];
    mbz_img f = { 1, 0, 3, 0, 200, 0 };
    rng = 777;
    gen_image(&f, in, sizeof in);
    size_t m = mbz_image_encode(&f, in, sizeof in, pay, sizeof pay, rev);
    uint64_t h = XXH64(pay, m, 0), want = rev >= 4 ? GOLDEN_IMAGE4 : rev >= 3 ? GOLDEN_IMAGE3 : rev >= 2 ? GOLDEN_IMAGE2 : GOLDEN_IMAGE;
    printf("image payload, revision %d: %zu bytes, xxh64 %016llx\n", rev, m, (unsigned long long)h);
    CHECK(h == want, "golden image payload hash (revision %d) %016llx, expected %016llx", rev,
          (unsigned long long)h, (unsigned long long)want);
    /* the other revisions do not decode it to the same pixels */
    for (int other = 1; other <= MBZ_IMG_REV; other++)
        CHECK(other == rev || mbz_image_decode(pay, m, back, sizeof back, other) != 0 || memcmp(back, in, sizeof in),
              "revision %d's payload decoded by revision %d", rev, other);
    int caught = 0;
    for (int k = 0; k < 100; k++) {
        memcpy(bad, pay, m);
        size_t at = MBZ_IMG_PARAMS + rnd() % (m - MBZ_IMG_PARAMS);
        bad[at] ^= (uint8_t)(1u << (rnd() % 8));
        int rc = mbz_image_decode(bad, m, back, sizeof back, rev);
        caught += rc != 0 || memcmp(back, in, sizeof in) != 0;
    }
    CHECK(caught == 100, "a flipped image payload bit went unnoticed (%d of 100 caught)", caught);
    CHECK(mbz_image_decode(pay, m - 1, back, sizeof back, rev) != 0 || memcmp(back, in, sizeof in),
          "truncated image payload accepted");
    /* parameters: format bits, 0 and 5 channels, padding 4, width 0 and 2^16 + 1 */
    const uint8_t params[][MBZ_IMG_PARAMS] = {
        { 0x04, 3, 0, 200, 0, 0, 0 }, { 0x02, 3, 0, 200, 0, 0, 0 }, { 0x00, 0, 0, 200, 0, 0, 0 },
        { 0x00, 5, 0, 200, 0, 0, 0 }, { 0x00, 3, 4, 200, 0, 0, 0 }, { 0x00, 3, 0, 0, 0, 0, 0 },
        { 0x00, 3, 0, 1, 0, 1, 0 },
    };
    for (size_t i = 0; i < sizeof params / sizeof params[0]; i++) {
        memcpy(bad, pay, m);
        memcpy(bad, params[i], MBZ_IMG_PARAMS);
        CHECK(mbz_image_decode(bad, m, back, sizeof back, rev) != 0, "image parameters %zu accepted", i);
    }
}

static void image_detector(void)
{
    static uint8_t buf[400000];
    const mbz_media_format *fmt;
    /* P6 with a comment, 100 x 50 RGB, at 300 */
    memset(buf, 'x', sizeof buf);
    const char *ppm = "P6\n# made here\n100 50\n255\n";
    memcpy(buf + 300, ppm, strlen(ppm));
    mbz_media m = { .n = 0 };
    mbz_media_scan(&m, 0, buf, 100000);
    uint64_t at = 300 + strlen(ppm);
    CHECK(m.n == 1 && m.r[0].start == at && m.r[0].end == at + 15000 && m.r[0].unit == 300 &&
          m.r[0].fmt.kind == MBZ_MEDIA_IMAGE && m.r[0].fmt.img.channels == 3 && m.r[0].fmt.img.width == 100,
          "ppm region");
    /* a block in it holds whole rows */
    size_t n = mbz_media_cut(&m, at, 4096, 4096, 4096, &fmt);
    CHECK(n == 3900 && fmt && fmt->kind == MBZ_MEDIA_IMAGE, "ppm block %zu", n);
    /* P5 16-bit, P7 RGBA */
    memset(buf, 'x', sizeof buf);
    const char *pgm = "P5 64 64 65535\n";
    memcpy(buf, pgm, strlen(pgm));
    const char *pam = "P7\nWIDTH 40\nHEIGHT 30\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n";
    memcpy(buf + 20000, pam, strlen(pam));
    mbz_media q = { .n = 0 };
    mbz_media_scan(&q, 0, buf, 100000);
    CHECK(q.n == 2 && q.r[0].fmt.img.bytes == 2 && q.r[0].fmt.img.big_endian && q.r[0].unit == 128 &&
          q.r[1].fmt.img.channels == 4 && q.r[1].end - q.r[1].start == 4800, "pgm 16-bit and pam");
    /* BMP 24-bit, 33 pixels wide (rows padded by 1), bottom-up */
    memset(buf, 0, sizeof buf);
    memcpy(buf + 1000, "BM", 2);
    put32(buf + 1000 + 10, 54, 0);
    put32(buf + 1000 + 14, 40, 0);
    put32(buf + 1000 + 18, 33, 0);
    put32(buf + 1000 + 22, 60, 0);
    put16(buf + 1000 + 26, 1, 0);
    put16(buf + 1000 + 28, 24, 0);
    mbz_media b = { .n = 0 };
    mbz_media_scan(&b, 0, buf, 100000);
    CHECK(b.n == 1 && b.r[0].start == 1054 && b.r[0].fmt.img.pad == 1 && b.r[0].unit == 100 &&
          b.r[0].end == 1054 + 6000, "bmp region");
    /* BMP 8-bit, 30 x 40 (rows padded by 2), 256 greys in order: one channel of samples
     * from 1000 + 54 + 1024 */
    memset(buf, 0, sizeof buf);
    memcpy(buf + 1000, "BM", 2);
    put32(buf + 1000 + 10, 54 + 1024, 0);
    put32(buf + 1000 + 14, 40, 0);
    put32(buf + 1000 + 18, 30, 0);
    put32(buf + 1000 + 22, 40, 0);
    put16(buf + 1000 + 26, 1, 0);
    put16(buf + 1000 + 28, 8, 0);
    for (int i = 0; i < 256; i++)
        memset(buf + 1000 + 54 + 4 * i, i, 3);
    mbz_media g8 = { .n = 0 };
    mbz_media_scan(&g8, 0, buf, 100000);
    CHECK(g8.n == 1 && g8.r[0].start == 2078 && g8.r[0].fmt.img.channels == 1 && !g8.r[0].fmt.img.bilevel &&
          g8.r[0].fmt.img.pad == 2 && g8.r[0].unit == 32 && g8.r[0].end == 2078 + 1280, "8-bit grey bmp region");
    /* ... cut short inside its palette: the block ends before it */
    mbz_media g8c = { .n = 0 };
    CHECK(mbz_media_scan(&g8c, 0, buf, 1000 + 54 + 500) == 1000 && g8c.n == 0, "8-bit bmp, palette cut short");
    /* ... 16 colours used (biClrUsed), pixels right after them */
    put32(buf + 1000 + 46, 16, 0);
    put32(buf + 1000 + 10, 54 + 64, 0);
    mbz_media g16 = { .n = 0 };
    mbz_media_scan(&g16, 0, buf, 100000);
    CHECK(g16.n == 1 && g16.r[0].start == 1000 + 54 + 64, "8-bit bmp of 16 greys");
    /* ... cut short before its colour count: not a bad palette size, the next block's */
    mbz_media g16c = { .n = 0 };
    CHECK(mbz_media_scan(&g16c, 0, buf, 1000 + 40) == 1000 && g16c.n == 0, "8-bit bmp cut before biClrUsed");
    /* ... a palette that is not a ramp of greys (two entries swapped, or a colour):
     * left to the general stage */
    put32(buf + 1000 + 46, 0, 0);
    put32(buf + 1000 + 10, 54 + 1024, 0);
    memset(buf + 1000 + 54 + 4 * 7, 9, 3);
    mbz_media g8s = { .n = 0 };
    mbz_media_scan(&g8s, 0, buf, 100000);
    memset(buf + 1000 + 54 + 4 * 7, 7, 3);
    buf[1000 + 54 + 4 * 200 + 1] = 0;
    mbz_media g8k = { .n = 0 };
    mbz_media_scan(&g8k, 0, buf, 100000);
    CHECK(g8s.n == 0 && g8k.n == 0, "8-bit bmp with a palette of colours taken (%d %d)", g8s.n, g8k.n);
    /* ... more than 256 colours, or a palette running into the pixels */
    buf[1000 + 54 + 4 * 200 + 1] = (uint8_t)200;
    put32(buf + 1000 + 46, 257, 0);
    mbz_media g8m = { .n = 0 };
    mbz_media_scan(&g8m, 0, buf, 100000);
    put32(buf + 1000 + 46, 0, 0);
    put32(buf + 1000 + 10, 54 + 1000, 0);
    mbz_media g8o = { .n = 0 };
    mbz_media_scan(&g8o, 0, buf, 100000);
    CHECK(g8m.n == 0 && g8o.n == 0, "8-bit bmp with a bad palette size taken (%d %d)", g8m.n, g8o.n);
    /* TIFF, little-endian, 80 x 60 grey, two strips one after the other at 512 */
    memset(buf, 0, sizeof buf);
    static const uint16_t tags[][4] = {           /* tag, type, count, value */
        { 256, 3, 1, 80 }, { 257, 3, 1, 60 }, { 258, 3, 1, 8 }, { 259, 3, 1, 1 }, { 262, 3, 1, 1 },
        { 273, 4, 2, 300 }, { 277, 3, 1, 1 }, { 279, 4, 2, 308 }, { 284, 3, 1, 1 },
    };
    put_tiff_dir(buf, tags, 9, 0);
    put32(buf + 300, 512, 0);        /* strip offsets */
    put32(buf + 304, 512 + 2400, 0);
    put32(buf + 308, 2400, 0);       /* strip byte counts */
    put32(buf + 312, 2400, 0);
    mbz_media tf = { .n = 0 };
    mbz_media_scan(&tf, 1000, buf, 100000);
    CHECK(tf.n == 1 && tf.r[0].start == 1512 && tf.r[0].end == 1512 + 4800 && tf.r[0].unit == 80 &&
          tf.r[0].fmt.img.channels == 1, "tiff region");
    /* strips apart: not one run of rows */
    put32(buf + 304, 512 + 2401, 0);
    mbz_media tg = { .n = 0 };
    mbz_media_scan(&tg, 0, buf, 100000);
    CHECK(tg.n == 0, "tiff with strips apart taken");
    /* compressed */
    put32(buf + 304, 512 + 2400, 0);
    put32(buf + 10 + 12 * 3 + 8, 5, 0);
    mbz_media th = { .n = 0 };
    mbz_media_scan(&th, 0, buf, 100000);
    CHECK(th.n == 0, "compressed tiff taken");
    /* not images: text that starts like a PNM header, a palette BMP */
    memset(buf, 'x', sizeof buf);
    memcpy(buf, "P5 is a grade, P6 100 x\n", 24);
    memcpy(buf + 500, "BM", 2);
    mbz_media t = { .n = 0 };
    mbz_media_scan(&t, 0, buf, 100000);
    CHECK(t.n == 0, "text taken for an image");
}

/* The choice between the image model and the general stage (block.c): a smooth
 * noisy field goes to the image model; 16 of its rows, their values spread (x 7)
 * and repeated down the image (exact repeats the image model cannot predict), to
 * the general stage. (The field pixel-doubled went to the general stage with
 * revision 1 of the image model; revision 2 codes it about as well.) */
/* One block of `fmt` through the block coder (a fresh history), as compression
 * codes it; returns the block type it chose, printed after `what`. */
static int block_choice(const mbz_stack *st, mbz_block_scratch *scr, const mbz_media_format *fmt,
                        const uint8_t *in, size_t n, const char *what)
{
    mbz_block_coded out;
    mbz_error err;
    mbz_cm_chain chain = { .window = 1 << 20 };
    int rc = mbz_block_encode(st, &chain, fmt, in, n, scr, NULL, 0, NULL, "choice", &out, &err);
    CHECK(rc == MBZ_OK, "encode: %s", err.msg);
    printf("%s: block type %d, %zu bytes\n", what, out.type, out.payload_size);
    mbz_cm_chain_reset(&chain);
    return out.type;
}

static void image_choice(const mbz_stack *st, mbz_block_scratch *scr)
{
    static uint8_t field[128 * 128], img[256 * 256];
    rng = 99;
    for (int y = 0; y < 256; y++)
        for (int x = 0; x < 256; x++) {
            int up = y ? img[(y - 1) * 256 + x] : 128, left = x ? img[y * 256 + x - 1] : 128;
            int v = (up + left) / 2 + (int)(rnd() % 13) - 6;
            img[y * 256 + x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    for (int y = 0; y < 128; y++)
        for (int x = 0; x < 128; x++)
            field[y * 128 + x] = img[y * 256 + x];
    mbz_media_format fmt;
    memset(&fmt, 0, sizeof fmt);
    fmt.kind = MBZ_MEDIA_IMAGE;
    fmt.img.bytes = 1;
    fmt.img.channels = 1;
    fmt.img.width = 256;
    for (int doubled = 0; doubled < 2; doubled++) {
        if (doubled)
            for (int y = 0; y < 256; y++)
                for (int x = 0; x < 256; x++)
                    img[y * 256 + x] = (uint8_t)(field[(y % 16) * 128 + x % 128] * 7 + x / 128);
        int type = block_choice(st, scr, &fmt, img, sizeof img,
                                doubled ? "image choice, tiled noise" : "image choice, noisy field");
        if (doubled)
            CHECK(mbz_block_is_modelled(type), "tiled noise: type %d, not the general stage", type);
        else
            CHECK(type == MBZ_BLOCK_IMAGE, "noisy field: type %d, not the image model", type);
    }
}

/* The same choice for 32-bit samples: a 16-bit signal scaled by 0.7 in 32 bits (its
 * low bits a function of the high ones, which the general stage finds and the audio
 * model, taking the bits under the top 24 for noise, does not) goes to the general
 * stage; a 24-bit signal with noise under it to the audio model. */
static void audio_choice(const mbz_stack *st, mbz_block_scratch *scr)
{
    static uint8_t s16[120000], s24[180000], s32[240000];
    mbz_pcm f16 = { 2, 2, 0, 0, 0, 0, 0 }, f24 = { 3, 2, 0, 0, 0, 0, 0 };
    gen(&f16, s16, sizeof s16, 200);
    gen(&f24, s24, sizeof s24, 3000000);
    mbz_media_format fmt;
    memset(&fmt, 0, sizeof fmt);
    fmt.kind = MBZ_MEDIA_AUDIO;
    fmt.pcm = (mbz_pcm){ 4, 2, 0, 0, 0, 0, 0 };
    for (int scaled = 0; scaled < 2; scaled++) {
        for (size_t i = 0; i < sizeof s32 / 4; i++) {
            int64_t v = (int16_t)(s16[2 * i] | s16[2 * i + 1] << 8) * (int64_t)45875;
            uint32_t u = scaled ? (uint32_t)v : (uint32_t)s24[3 * i] << 8 | (uint32_t)s24[3 * i + 1] << 16 |
                                                    (uint32_t)s24[3 * i + 2] << 24 | (rnd() & 255);
            for (int b = 0; b < 4; b++)
                s32[4 * i + b] = (uint8_t)(u >> (8 * b));
        }
        int type = block_choice(st, scr, &fmt, s32, sizeof s32,
                                scaled ? "audio choice, 16 bits scaled" : "audio choice, 24 bits and noise");
        if (scaled)
            CHECK(mbz_block_is_modelled(type), "scaled 16-bit samples: type %d, not the general stage", type);
        else
            CHECK(type == MBZ_BLOCK_AUDIO, "24 bits and noise: type %d, not the audio model", type);
    }
}

/* The block coder's choice between a media model and the general stage, under the
 * built-in order-2 model, for images and for 32-bit audio. */
static void media_choice(void)
{
    mbz_stack st;
    mbz_error err;
    if (mbz_stack_build(mbz_model_order2(), MBZ_FRAME_VERSION, MBZ_FLAG_CM, &st, &err) != MBZ_OK) {
        CHECK(0, "stack: %s", err.msg);
        return;
    }
    mbz_block_scratch scr = { 0 };
    image_choice(&st, &scr);
    audio_choice(&st, &scr);
    mbz_block_scratch_free(&scr);
    mbz_stack_free(&st);
}

/* A fax-like 1-bit page: rows of `width` pixels (stride bytes each, the bits past
 * the width 0, then `pad` zero bytes): lines of "text" in a proportional font of 24
 * random glyphs (8 x 12 pixels of strokes and bars, 9 to 12 wide with the space
 * after them), random words, lines of random length, a horizontal rule, boxes;
 * `rows` rows, then `extra` random bytes. */
static void gen_page(uint32_t width, uint8_t pad, size_t rows, size_t extra, uint8_t *out)
{
    size_t stride = (width + 7) / 8 + pad;
    uint16_t font[24][12];
    for (int g = 0; g < 24; g++) {       /* two vertical strokes and two bars */
        unsigned a = rnd() % 4, b = 4 + rnd() % 4, bar1 = rnd() % 12, bar2 = rnd() % 12;
        unsigned top = rnd() % 4, bottom = 8 + rnd() % 4;
        for (unsigned r = 0; r < 12; r++) {
            unsigned v = 0;
            if (r >= top && r <= bottom)
                v |= 0x80u >> a | 0x80u >> b;
            if (r == bar1 || r == bar2)
                v |= (0xffu >> a) & (0xffu << (7 - b));
            font[g][r] = (uint16_t)v;
        }
    }
    memset(out, 0, rows * stride + extra);
    static int16_t glyph_at[65536 + 16];   /* this line: glyph at x, or -1 */
    for (size_t y = 0; y < rows; y++) {
        uint8_t *row = out + y * stride;
        size_t line = y / 28, in_line = y % 28;
        if (in_line == 0) {
            for (uint32_t x = 0; x < width; x++)
                glyph_at[x] = -1;
            uint32_t end = width - width / 8 - (uint32_t)(rnd() % (width / 4 + 1));
            for (uint32_t x = width / 10; x + 12 < end;) {
                if (rnd() % 6 == 0) {
                    x += 10;                 /* a space between words */
                    continue;
                }
                int g = (int)(rnd() % 24);
                glyph_at[x] = (int16_t)g;
                x += 9 + g % 4;
            }
        }
        for (uint32_t x = 0; x < width; x++) {
            int on = 0;
            if (line % 7 == 3)
                on = in_line == 10 && x > 50 && x + 50 < width;           /* a rule */
            else if (line % 7 == 5)
                on = (x == 60 || x + 60 == width) || in_line == 0;       /* a box */
            else if (in_line >= 4 && in_line < 16)
                for (uint32_t cx = 0; cx < 8 && cx <= x && !on; cx++)
                    on = glyph_at[x - cx] >= 0 && (font[glyph_at[x - cx]][in_line - 4] >> (7 - cx) & 1);
            if (on)
                row[x / 8] |= (uint8_t)(0x80 >> (x % 8));
        }
    }
    for (size_t j = 0; j < extra; j++)
        out[rows * stride + j] = (uint8_t)rnd();
}

static void bilevel(void)
{
    static uint8_t in[1 << 19], pay[(1 << 19) + 64], bad[(1 << 19) + 64], back[1 << 19];
    struct {
        uint32_t width;
        uint8_t pad;
        size_t rows, extra;
    } t[] = {
        { 1728, 0, 200, 0 }, { 41, 2, 300, 0 }, { 300, 0, 100, 17 }, { 1, 0, 3000, 0 }, { 2000, 3, 150, 1 },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        mbz_img f = { .bytes = 1, .channels = 1, .pad = t[i].pad, .width = t[i].width, .bilevel = 1 };
        size_t n = mbz_img_stride(&f) * t[i].rows + t[i].extra;
        rng = 4711;
        gen_page(t[i].width, t[i].pad, t[i].rows, t[i].extra, in);
        size_t m = mbz_image_encode(&f, in, n, pay, n, 2);
        char name[64];
        snprintf(name, sizeof name, "bilevel %u wide, pad %u, +%zu", t[i].width, t[i].pad, t[i].extra);
        CHECK(m > 0, "%s: encode failed", name);
        if (!m)
            continue;
        printf("%-34s %7zu -> %7zu\n", name, n, m);
        memset(back, 0xa5, n);
        CHECK(mbz_image_decode(pay, m, back, n, 2) == 0 && memcmp(back, in, n) == 0, "%s: round trip", name);
        CHECK(m < n / 4 || t[i].width == 1, "%s: %zu bytes coded to %zu (should quarter)", name, n, m);
        CHECK(mbz_image_decode(pay, m, back, n, 1) != 0, "%s: 1-bit pixels accepted before version 10", name);
        if (i == 0) {
            uint64_t h = XXH64(pay, m, 0);
            printf("bilevel payload: %zu bytes, xxh64 %016llx\n", m, (unsigned long long)h);
            CHECK(h == GOLDEN_BILEVEL, "golden bilevel payload hash %016llx, expected %016llx",
                  (unsigned long long)h, (unsigned long long)GOLDEN_BILEVEL);
            int caught = 0;
            for (int k = 0; k < 100; k++) {
                memcpy(bad, pay, m);
                bad[MBZ_IMG_PARAMS + rnd() % (m - MBZ_IMG_PARAMS)] ^= (uint8_t)(1u << (rnd() % 8));
                caught += mbz_image_decode(bad, m, back, n, 2) != 0 || memcmp(back, in, n) != 0;
            }
            CHECK(caught == 100, "a flipped bilevel payload bit went unnoticed (%d of 100 caught)", caught);
            /* 1-bit with a sample-size bit, with 2 channels */
            const uint8_t params[][3] = { { 0x05, 1, 0 }, { 0x06, 1, 0 }, { 0x04, 2, 0 }, { 0x0c, 1, 0 } };
            for (size_t j = 0; j < sizeof params / sizeof params[0]; j++) {
                memcpy(bad, pay, m);
                memcpy(bad, params[j], 3);
                CHECK(mbz_image_decode(bad, m, back, n, 2) != 0, "bilevel parameters %zu accepted", j);
            }
        }
    }

    /* headers: PBM (P4) 400 x 100 at 100, a 1-bit BMP 397 x 100 (rows of 50 bytes
     * padded to 52; two palette entries before the pixels) at 20000 */
    static uint8_t buf[1 << 20];
    memset(buf, 'x', 100000);
    memcpy(buf + 100, "P4\n400 100\n", 11);
    memset(buf + 20000, 0, 62);
    memcpy(buf + 20000, "BM", 2);
    put32(buf + 20000 + 10, 62, 0);
    put32(buf + 20000 + 14, 40, 0);
    put32(buf + 20000 + 18, 397, 0);
    put32(buf + 20000 + 22, (uint32_t)-100, 0);
    put16(buf + 20000 + 26, 1, 0);
    put16(buf + 20000 + 28, 1, 0);
    mbz_media h = { .n = 0 };
    mbz_media_scan(&h, 0, buf, 100000);
    CHECK(h.n == 2 && h.r[0].start == 111 && h.r[0].end == 111 + 50 * 100 && h.r[0].unit == 50 &&
          h.r[0].fmt.img.bilevel && h.r[0].fmt.img.width == 400, "pbm region");
    CHECK(h.n == 2 && h.r[1].start == 20062 && h.r[1].end == 20062 + 52 * 100 && h.r[1].fmt.img.bilevel &&
          h.r[1].fmt.img.pad == 2 && h.r[1].fmt.img.width == 397, "1-bit bmp region");

    /* a bare page, 1728 pixels wide (216-byte rows), 400 KB: found by its row length */
    const mbz_media_format *fmt;
    size_t page = 216 * 1900;
    rng = 31;
    gen_page(1728, 0, 1900, 0, buf);
    mbz_media g = { .n = 0 };
    size_t len = mbz_media_block(&g, 0, buf, page, 1 << 20, &fmt);
    CHECK(len == page && fmt && fmt->kind == MBZ_MEDIA_IMAGE && fmt->img.bilevel && fmt->img.width == 1728,
          "bare page: %s, width %u", fmt ? "found" : "not found", fmt ? fmt->img.width : 0);
    /* and coded as an image block, smaller than by the general stage */
    mbz_stack st;
    mbz_error err;
    if (fmt && mbz_stack_build(mbz_model_order2(), MBZ_FRAME_VERSION, MBZ_FLAG_CM | MBZ_FLAG_MEDIA, &st,
                               &err) == MBZ_OK) {
        mbz_block_scratch scr = { 0 };
        mbz_block_coded out;
        mbz_cm_chain chain = { .window = 1 << 20 };
        int rc = mbz_block_encode(&st, &chain, fmt, buf, page, &scr, NULL, 0, NULL, "page", &out, &err);
        CHECK(rc == MBZ_OK && out.type == MBZ_BLOCK_IMAGE, "bare page: block type %d, not an image", out.type);
        printf("bare page: %zu -> %zu bytes\n", page, out.payload_size);
        mbz_cm_chain_reset(&chain);
        mbz_block_scratch_free(&scr);
        mbz_stack_free(&st);
    }
    /* not pages: random bytes, text, a page of zeros with sparse random bytes */
    for (size_t j = 0; j < page; j++)
        buf[j] = (uint8_t)rnd();
    mbz_media r = { .n = 0 };
    mbz_media_block(&r, 0, buf, page, 1 << 20, &fmt);
    CHECK(!fmt, "random bytes taken for a page");
    for (size_t j = 0; j < page; j++)
        buf[j] = (uint8_t)("the quick brown fox jumps over the lazy dog\n"[j % 44]);
    mbz_media tx = { .n = 0 };
    mbz_media_block(&tx, 0, buf, page, 1 << 20, &fmt);
    CHECK(!fmt, "text taken for a page");
    memset(buf, 0, page);
    for (size_t j = 0; j < page; j += 1 + rnd() % 64)
        buf[j] = (uint8_t)rnd();
    mbz_media sp = { .n = 0 };
    mbz_media_block(&sp, 0, buf, page, 1 << 20, &fmt);
    CHECK(!fmt, "sparse random bytes taken for a page");
}

int main(void)
{
    layouts();
    wide32();
    golden();
    whole_wav();
    for (int rev = 1; rev <= MBZ_AUDIO_REV; rev++)
        damage(rev);
    detector();
    scan_twins();
    for (int rev = 1; rev <= MBZ_IMG_REV; rev++)
        image_layouts(rev);
    for (int rev = 1; rev <= MBZ_IMG_REV; rev++)
        image_golden_damage(rev);
    image_detector();
    media_choice();
    bilevel();
    if (failures)
        fprintf(stderr, "test_media: %d failure(s)\n", failures);
    return failures != 0;
}
