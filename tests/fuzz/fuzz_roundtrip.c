/*
 * fuzz_roundtrip.c - compress arbitrary bytes, decompress, compare.
 *
 * Input byte 0 chooses the options, the rest is the data:
 *   bits 0-1  model: 0, 3 = built-in order-2 (level 1), 1 = tiny MEGABYTE model
 *             (mkmodel --tiny --seed 1), 2 = the default model
 *   bits 2-3  threads 1..4 for the second compression
 *   bit  4    multi-block: put one block size of data[0] first (a run-length
 *             block), so the data lands in block 2 and frames have several blocks
 *   bits 5-7  level: 1 + (bits % 3) (the block size is read from the frame header,
 *             so the level table may change)
 * Properties: compression succeeds; the frame is no larger than the data plus its
 * headers (20 + 21 per block + 21; blocks are full but where the media detector
 * cuts them at the edges of samples or pixels); compressing again with another thread count gives
 * the same bytes; decompression (offered the same model) gives the data back.
 */
#include "fuzz_common.h"

static mbz_model *tiny;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    tiny = fz_tiny_model(1, NULL, NULL);
    return 0;
}

/* The block size of a level, from the header of an empty frame. */
static size_t block_size(int level)
{
    static size_t cache[10];
    if (!cache[level]) {
        mbz_options o;
        mbz_options_init(&o);
        o.level = level;
        o.threads = 1;
        o.model = mbz_model_order2();
        void *z;
        size_t zn;
        if (mbz_compress_buffer(&o, "", 0, &z, &zn, NULL, NULL) != MBZ_OK || zn < 20)
            fuzz_fail("cannot compress an empty input");
        cache[level] = (size_t)1 << ((uint8_t *)z)[7];
        free(z);
    }
    return cache[level];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    unsigned sel = data[0];
    const uint8_t *src = data + 1;
    size_t n = size - 1;
    uint8_t *big = NULL;
    int level = 1 + (int)((sel >> 5) % 3);
    if (sel & 0x10) {
        size_t pre = block_size(level);
        big = malloc(pre + n);
        if (!big)
            return 0;
        memset(big, data[0], pre);
        memcpy(big + pre, src, n);
        src = big;
        n += pre;
    }
    const mbz_model *models[1] = { tiny };
    mbz_options o;
    mbz_options_init(&o);
    o.level = level;
    o.threads = 1;
    switch (sel & 3) {
    case 1: o.model = tiny; break;
    case 2: o.model = mbz_model_default(); break;
    default: o.model = mbz_model_order2(); break;
    }
    o.models = models;
    o.n_models = 1;

    void *z = NULL, *z2 = NULL, *back = NULL;
    size_t zn = 0, zn2 = 0, bn = 0;
    mbz_stats st;
    mbz_error e;
    int rc = mbz_compress_buffer(&o, src, n, &z, &zn, &st, &e);
    fuzz_check_error(rc, &e, "compress");
    if (rc != MBZ_OK)
        fuzz_fail("compress failed: %s", e.msg);
    if (zn < 20)
        fuzz_fail("frame shorter than its header");
    size_t bs = (size_t)1 << ((const uint8_t *)z)[7];
    /* full blocks, except where the media detector ends one early at the edge of
     * audio samples or image pixels (doc/format.md, "Writer choices"): then more */
    size_t blocks = (n + bs - 1) / bs;
    if (st.content_size != n || st.blocks < blocks || st.blocks > n)
        fuzz_fail("stats: content %llu blocks %llu, expected %zu, at least %zu",
                  (unsigned long long)st.content_size, (unsigned long long)st.blocks, n, blocks);
    blocks = (size_t)st.blocks;
    if (zn > n + 20 + 21 * blocks + 21)
        fuzz_fail("%zu bytes grew to %zu (%zu blocks)", n, zn, blocks);

    o.threads = 1 + (int)((sel >> 2) & 3);
    rc = mbz_compress_buffer(&o, src, n, &z2, &zn2, NULL, &e);
    if (rc != MBZ_OK)
        fuzz_fail("compress with %d threads failed: %s", o.threads, e.msg);
    if (zn2 != zn || memcmp(z, z2, zn) != 0)
        fuzz_fail("output depends on the thread count (1 vs %d)", o.threads);

    rc = mbz_decompress_buffer(&o, z, zn, &back, &bn, NULL, &e);
    fuzz_check_error(rc, &e, "decompress");
    if (rc != MBZ_OK)
        fuzz_fail("decompressing fresh output failed: %s", e.msg);
    if (bn != n || (n && memcmp(back, src, n) != 0))
        fuzz_fail("round trip changed the data (%zu -> %zu bytes)", n, bn);
    free(z);
    free(z2);
    free(back);
    free(big);
    return 0;
}
