/*
 * fuzz_modelfile.c - the model-file loader on arbitrary bytes.
 *
 * Each input is loaded as it is and, when at least 8 bytes long, once more with its
 * 8-byte xxh64 trailer recomputed, so that mutations reach the structural and value
 * checks behind the checksum (libFuzzer cannot invert a 64-bit hash). If a model
 * loads, these must hold:
 *   - its fingerprint is xxh64 of the bytes, its description is a non-empty line;
 *   - on a short block derived from the input, the teacher-forced path (score), the
 *     step path (predict) and the batched path (predict_batch, three blocks of
 *     different lengths in lockstep) give identical, valid frequency tables
 *     (each entry >= 1, sum 65536): the coding contract of doc/library.md;
 *   - compressing that block with the model and decompressing it gives it back.
 * The harness looks inside the opaque model through src/lib/predictor.h (internal).
 */
#include "fuzz_common.h"
#include "predictor.h"

#define BLK 96

static void one(const uint8_t *d, size_t n);

/* Self-test once: the tiny model must load and pass every check, so a replay with
 * no corpus still exercises the model paths. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    uint8_t *bytes;
    size_t n;
    mbz_model *m = fz_tiny_model(1, &bytes, &n);
    mbz_model_free(m);
    one(bytes, n);
    free(bytes);
    return 0;
}

static void check_table(const uint16_t *f, const char *what, size_t pos)
{
    uint32_t sum = 0;
    for (int i = 0; i < MBZ_SYMBOLS; i++) {
        if (f[i] == 0)
            fuzz_fail("%s: zero frequency for symbol %d at byte %zu", what, i, pos);
        sum += f[i];
    }
    if (sum != MBZ_FREQ_TOTAL)
        fuzz_fail("%s: table at byte %zu sums to %u", what, pos, sum);
}

static void exercise(mbz_model *m, const uint8_t *data, size_t size)
{
    const mbz_predictor_ops *ops = m->ops;
    uint8_t blk[3][BLK];
    size_t len[3] = { BLK, BLK - 37, 5 };
    for (int b = 0; b < 3; b++)
        for (size_t i = 0; i < BLK; i++)
            blk[b][i] = size ? data[(i * 7 + (size_t)b * 13) % size] ^ (uint8_t)(b * i) : (uint8_t)i;

    static uint16_t want[3][BLK * MBZ_SYMBOLS];
    static uint16_t got[MBZ_SYMBOLS * 3];
    for (int b = 0; b < 3; b++) {
        mbz_predictor *p = NULL;
        if (ops->create(m->impl, len[b], &p) != MBZ_OK)
            fuzz_fail("a loaded model cannot start a block");
        /* score in two uneven chunks */
        size_t c1 = len[b] / 3;
        if (ops->score(p, blk[b], len[b], 0, c1, want[b]) != MBZ_OK ||
            ops->score(p, blk[b], len[b], c1, len[b] - c1, want[b] + c1 * MBZ_SYMBOLS) != MBZ_OK)
            fuzz_fail("score failed on a loaded model");
        ops->destroy(p);
        for (size_t i = 0; i < len[b]; i++)
            check_table(want[b] + i * MBZ_SYMBOLS, "score", i);
        if (ops->create(m->impl, len[b], &p) != MBZ_OK)
            fuzz_fail("a loaded model cannot start a block (2)");
        for (size_t i = 0; i < len[b]; i++) {
            if (ops->predict(p, blk[b], i, got) != MBZ_OK)
                fuzz_fail("predict failed at byte %zu", i);
            if (memcmp(got, want[b] + i * MBZ_SYMBOLS, sizeof(uint16_t) * MBZ_SYMBOLS) != 0)
                fuzz_fail("block %d byte %zu: predict differs from score", b, i);
        }
        ops->destroy(p);
    }
    if (ops->predict_batch) {
        mbz_predictor *ps[3];
        for (int b = 0; b < 3; b++)
            if (ops->create(m->impl, len[b], &ps[b]) != MBZ_OK)
                fuzz_fail("a loaded model cannot start a block (3)");
        for (size_t i = 0; i < BLK; i++) {
            mbz_predictor *bp[3];
            const uint8_t *bd[3];
            size_t bpos[3];
            int idx[3], nb = 0;
            for (int b = 0; b < 3; b++)
                if (i < len[b]) {
                    bp[nb] = ps[b];
                    bd[nb] = blk[b];
                    bpos[nb] = i;
                    idx[nb++] = b;
                }
            if (ops->predict_batch(bp, bd, bpos, nb, got) != MBZ_OK)
                fuzz_fail("predict_batch failed at byte %zu", i);
            for (int k = 0; k < nb; k++)
                if (memcmp(got + k * MBZ_SYMBOLS, want[idx[k]] + i * MBZ_SYMBOLS,
                           sizeof(uint16_t) * MBZ_SYMBOLS) != 0)
                    fuzz_fail("block %d byte %zu: predict_batch differs from score", idx[k], i);
        }
        for (int b = 0; b < 3; b++)
            ops->destroy(ps[b]);
    }

    /* through the public API */
    mbz_options o;
    mbz_options_init(&o);
    o.level = 1;
    o.threads = 1;
    o.model = m;
    const mbz_model *models[1] = { m };
    o.models = models;
    o.n_models = 1;
    void *z = NULL, *back = NULL;
    size_t zn = 0, bn = 0;
    mbz_error e;
    int rc = mbz_compress_buffer(&o, blk[0], BLK, &z, &zn, NULL, &e);
    fuzz_check_error(rc, &e, "compress with loaded model");
    if (rc != MBZ_OK)
        fuzz_fail("compress with a loaded model failed: %s", e.msg);
    rc = mbz_decompress_buffer(&o, z, zn, &back, &bn, NULL, &e);
    if (rc != MBZ_OK)
        fuzz_fail("decompress with the same model failed: %s", e.msg);
    if (bn != BLK || memcmp(back, blk[0], BLK) != 0)
        fuzz_fail("round trip with a loaded model changed the data");
    free(z);
    free(back);
}

static void one(const uint8_t *d, size_t n)
{
    mbz_model *m = NULL;
    mbz_error e;
    int rc = mbz_model_load_memory(d, n, &m, &e);
    fuzz_check_error(rc, &e, "model load");
    if (rc != MBZ_OK) {
        if (m)
            fuzz_fail("failed load left a model");
        return;
    }
    if (!m)
        fuzz_fail("load succeeded without a model");
    if (mbz_model_fingerprint(m) != XXH64(d, n, 0))
        fuzz_fail("fingerprint is not xxh64 of the file");
    const char *desc = mbz_model_describe(m);
    if (!desc || !*desc || strchr(desc, '\n'))
        fuzz_fail("bad description");
    exercise(m, d, n);
    mbz_model_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one(data, size);
    if (size >= 8) {
        uint8_t *copy = malloc(size);
        if (!copy)
            return 0;
        memcpy(copy, data, size);
        uint64_t h = XXH64(copy, size - 8, 0);
        for (int i = 0; i < 8; i++)
            copy[size - 8 + i] = (uint8_t)(h >> (8 * i));
        if (memcmp(copy, data, size) != 0)
            one(copy, size);
        free(copy);
    }
    return 0;
}
