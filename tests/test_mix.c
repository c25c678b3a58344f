/*
 * test_mix.c - the adaptive mixing stage (src/lib/mix.c, doc/mixing.md):
 *   - mbz_log2_q8 against the exact definition floor(256 log2 v) (within the one
 *     step its truncating squarings may lose), monotone, exact at powers of two;
 *   - tables valid (each >= 1, sum 65536); score in several chunk sizes == predict
 *     step by step == predict_batch over blocks of different lengths, for a MEGABYTE
 *     base (mkmodel --tiny) and for the order-2 base;
 *   - golden: xxh64 of every mixed table over a fixed input (pins the arithmetic of
 *     the stage: any change to it must change the frame flag, doc/mixing.md);
 *   - it learns: on text followed by a repeat of it, the repeat costs far less with
 *     the stage than with the base model alone.
 * Plain C test: exit 0 = pass, 1 = fail, 77 = skip. Floating point appears only
 * here, to check the integer log2.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "mbz.h"
#include "megabyte.h"
#include "mix.h"
#include "qmath.h"
#include "modelfile.h"
#include "predictor.h"

#define MKMODEL_NO_MAIN
#include "mkmodel.c"

/* xxh64 of the mixed tables of the golden run (tiny model, seed 1; golden_input). */
#define GOLDEN_MIX_HASH 0x5f668c819c2a0b3eull
#define TEXT_LEN 12000

#include "check.h"
#include "predictor_checks.h"

static void log2_test(void)
{
    int32_t prev = -1;
    size_t off = 0;
    for (uint32_t v = 1; v <= 65536; v++) {
        int32_t l = mbz_log2_q8(v);
        int32_t exact = (int32_t)floor(256.0 * log2((double)v) + 1e-9);
        if (l != exact)
            off++;
        CHECK(l == exact || l == exact - 1, "log2_q8(%u) = %d, exact %d", v, l, exact);
        CHECK(l >= prev, "log2_q8 not monotone at %u", v);
        prev = l;
        if ((v & (v - 1)) == 0)
            CHECK(l == 256 * (31 - __builtin_clz(v)), "log2_q8(%u) = %d", v, l);
    }
    printf("log2_q8: %zu of 65536 values one step below floor(256 log2 v)\n", off);
}

/* mbz_freq_from_logits divides by the sum S through a reciprocal (qmath.c): it must
 * equal the plain division f = 1 + floor(e * 65280 / S) everywhere, in particular at
 * the extremes of S (one symbol alone: S = 65536; all equal: S = 2^24). */
static void freq_logits_test(void)
{
    uint64_t s = 7;
    int32_t z[256];
    uint16_t got[256], want[256];
    for (int t = 0; t < 20000; t++) {
        int spread = t % 4 == 0 ? 0 : t % 4 == 1 ? 64 : t % 4 == 2 ? 4096 : 1 << 20;
        for (int i = 0; i < 256; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            z[i] = spread ? (int32_t)((s >> 33) % (uint64_t)spread) - spread / 2 : 0;
        }
        if (t % 7 == 0)
            z[t % 256] = 1 << 20;   /* one symbol far above the rest */
        mbz_freq_from_logits(z, got);
        int32_t zmax = z[0];
        for (int i = 1; i < 256; i++)
            zmax = z[i] > zmax ? z[i] : zmax;
        uint32_t e[256];
        uint64_t S = 0;
        int best = 0;
        for (int i = 0; i < 256; i++) {
            e[i] = mbz_exp2neg((int64_t)zmax - z[i]);
            S += e[i];
            if (e[i] > e[best])
                best = i;
        }
        uint32_t sum = 0;
        for (int i = 0; i < 256; i++) {
            want[i] = (uint16_t)(1 + (uint64_t)e[i] * 65280 / S);
            sum += want[i];
        }
        want[best] = (uint16_t)(want[best] + (65536 - sum));
        CHECK(memcmp(got, want, sizeof got) == 0, "freq_from_logits differs from the division (case %d)", t);
    }
}

int main(void)
{
    log2_test();
    freq_logits_test();
    size_t tl = TEXT_LEN;
    uint8_t *text = read_text(tl);
    if (!text) {
        fprintf(stderr, "corpora/alice29.txt not found (set top_srcdir): skipped\n");
        return 77;
    }
    /* input: text, 1 KB of binary, then the text again (the stage should learn the repeat) */
    size_t len = 2 * tl + 1024;
    uint8_t *data = malloc(len);
    memcpy(data, text, tl);
    uint64_t s = 42;
    for (size_t i = 0; i < 1024; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        data[tl + i] = i < 256 ? 0 : (uint8_t)(s >> 56);
    }
    memcpy(data + tl + 1024, text, tl);

    mbzm_hparams hp;
    mbz_model *mb = tiny_megabyte(&hp);
    if (!mb)
        return 1;

    const mbz_model *bases[2] = { mb, mbz_model_order2() };
    const char *names[2] = { "megabyte", "order2" };
    uint16_t *ref = malloc(len * 512), *bare = malloc(len * 512);
    for (int b = 0; b < 2; b++) {
        mbz_model mixed;
        mbz_mix_wrap(bases[b], &mixed);
        CHECK(mixed.fingerprint == bases[b]->fingerprint, "fingerprint kept");
        CHECK((mixed.ops->predict_batch != NULL) == (bases[b]->ops->predict_batch != NULL),
              "%s: batching follows the base", names[b]);
        consistency(&mixed, data, len, ref, names[b]);
        for (int nb = 1; nb <= 8; nb += 3)
            batch_test(&mixed, data, len, nb);

        CHECK(run_score(bases[b], data, len, 4096, bare) == MBZ_OK, "bare score");
        uint64_t c_mix = cost(ref, data, tl + 1024, len), c_bare = cost(bare, data, tl + 1024, len);
        uint64_t c_mix1 = cost(ref, data, 0, tl), c_bare1 = cost(bare, data, 0, tl);
        printf("%s: first copy %.3f bpb bare, %.3f mixed; repeat %.3f bpb bare, %.3f mixed\n",
               names[b], c_bare1 * 1.0 / tl, c_mix1 * 1.0 / tl, c_bare * 1.0 / tl, c_mix * 1.0 / tl);
        /* the repeat is an exact copy 13 KB back: the match and context inputs must
         * take it well below a bit per byte, whatever the base */
        CHECK(c_mix * 8 < tl, "%s: repeat costs %.3f bpb with mixing", names[b], c_mix * 1.0 / tl);
        CHECK(c_mix * 4 < c_bare, "%s: mixing does not learn the repeat", names[b]);
        if (b == 0) {
            XXH64_hash_t h = XXH64(ref, len * 512, 0);  /* tables in host order: little-endian CI */
            const uint8_t one[2] = {1, 0};
            uint16_t probe;
            memcpy(&probe, one, 2);
            if (probe == 1) {
                printf("golden (mixed, tiny model): xxh64 %016llx\n", (unsigned long long)h);
                CHECK(h == GOLDEN_MIX_HASH, "golden mixed hash %016llx != %016llx",
                      (unsigned long long)h, (unsigned long long)GOLDEN_MIX_HASH);
            }
        }
    }
    free(ref);
    free(bare);
    free(data);
    free(text);
    mb->free_impl(mb->impl);
    free(mb);
    if (failures)
        fprintf(stderr, "%d failures\n", failures);
    return failures ? 1 : 0;
}
