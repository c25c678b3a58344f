/*
 * test_strided.c - strided inference (src/lib/strided.c, frame flag STRIDED, level 9):
 *   - the rule: byte j < P/2 gets pass A's table (the bare model's); byte j >= P/2
 *     gets the blend of pass A's table for j and pass B's (the bare model run on the
 *     block without its first P/2 bytes) for j - P/2, recomputed here independently;
 *   - tables valid; score in several chunk sizes == predict step by step ==
 *     predict_batch over blocks of different lengths, bare and under the mixing
 *     stage (the stack a level-9 frame uses);
 *   - golden: xxh64 of every table of the level-9 stack (strided + mixing) over a
 *     fixed input, which pins the arithmetic: a change must change the frame flag;
 *   - a frame asking for strided inference from a model without patches is refused.
 * Plain C test: exit 0 = pass, 1 = fail, 77 = skip.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "mbz.h"
#include "megabyte.h"
#include "mix.h"
#include "modelfile.h"
#include "predictor.h"
#include "qmath.h"
#include "block.h"
#include "strided.h"

#define MKMODEL_NO_MAIN
#include "mkmodel.c"

#include "check.h"
#include "predictor_checks.h"

/* xxh64 of the strided + mixed tables of the golden run (tiny model, seed 1) */
#define GOLDEN_STRIDED_HASH 0x1851cd16121b8317ull
#define TEXT_LEN 9000

int main(void)
{
    size_t len = TEXT_LEN;
    uint8_t *data = read_text(len);
    if (!data) {
        fprintf(stderr, "corpora/alice29.txt not found (set top_srcdir): skipped\n");
        return 77;
    }
    mbzm_hparams hp;
    mbz_model *mb = tiny_megabyte(&hp);
    mbz_error err;
    if (!mb)
        return 1;
    const size_t P = mb->patch, h = P / 2;
    CHECK(P == hp.patch && P >= 2, "patch capability: %zu", P);
    CHECK(mbz_model_order2()->patch == 0, "order-2 has no patches");

    /* the rule, recomputed from two bare passes */
    uint16_t *a = malloc(len * 512), *b = malloc(len * 512), *ref = malloc(len * 512);
    CHECK(run_score(mb, data, len, 4096, a) == MBZ_OK, "pass A");
    CHECK(run_score(mb, data + h, len - h, 4096, b) == MBZ_OK, "pass B");
    for (size_t j = h; j < len; j++) {
        int32_t z[256];
        for (int s = 0; s < 256; s++)
            z[s] = (mbz_log2_q8(a[j * 256 + s]) + mbz_log2_q8(b[(j - h) * 256 + s])) / 2;
        mbz_freq_from_logits(z, a + j * 256);
    }
    mbz_stack fm;
    CHECK(mbz_stack_build(mb, 3, MBZ_FLAG_STRIDED, &fm, &err) == MBZ_OK, "strided stack");
    CHECK(fm.top->fingerprint == mb->fingerprint, "fingerprint kept");
    consistency(fm.top, data, len, ref, "strided");
    CHECK(!memcmp(ref, a, len * 512), "strided tables differ from the two passes blended");
    for (int nb = 1; nb <= 8; nb += 3)
        batch_test(fm.top, data, len, nb);
    /* a block shorter than half a patch has no pass B */
    uint16_t one[3 * 256];
    consistency(fm.top, data, 1, one, "strided, 1-byte block");
    consistency(fm.top, data, h + 1, ref, "strided, block of P/2 + 1 bytes");
    mbz_stack_free(&fm);

    /* the level-9 stack: strided, then mixing */
    CHECK(mbz_stack_build(mb, 3, MBZ_FLAG_STRIDED | MBZ_FLAG_MIX, &fm, &err) == MBZ_OK,
          "strided + mix stack");
    consistency(fm.top, data, len, ref, "strided + mix");
    for (int nb = 1; nb <= 8; nb += 3)
        batch_test(fm.top, data, len, nb);
    XXH64_hash_t hh = XXH64(ref, len * 512, 0);
    const uint8_t le[2] = {1, 0};
    uint16_t probe;
    memcpy(&probe, le, 2);
    if (probe == 1) {
        printf("golden (strided + mix, tiny model): xxh64 %016llx\n", (unsigned long long)hh);
        CHECK(hh == GOLDEN_STRIDED_HASH, "golden strided hash %016llx != %016llx",
              (unsigned long long)hh, (unsigned long long)GOLDEN_STRIDED_HASH);
    }
    mbz_stack_free(&fm);

    /* strided inference needs patches */
    int rc = mbz_stack_build(mbz_model_order2(), 3, MBZ_FLAG_STRIDED, &fm, &err);
    CHECK(rc == MBZ_ERR_CORRUPT, "strided on order-2: status %d", rc);
    printf("order-2 with the STRIDED flag: %s\n", err.msg);

    free(a);
    free(b);
    free(ref);
    free(data);
    mb->free_impl(mb->impl);
    free(mb);
    if (failures)
        fprintf(stderr, "%d failures\n", failures);
    return failures ? 1 : 0;
}
