/*
 * test_conv.c - the convolutional patch encoder (MBZM_OPT_CONV_ENCODER) of the integer
 * MEGABYTE engine (doc/model-format.md):
 *   - golden: xxh64 of all frequency tables of a fixed random conv-encoder model
 *     (mkmodel --tiny --conv, seed 3) over the golden input of test_megabyte; committed
 *     below, reproduced by every kernel (tests/infer_kernels.sh runs this program under
 *     each MBZIP_KERNEL);
 *   - score in several chunk sizes == predict step by step == predict_batch, for the
 *     tiny model and a second shape (P = 8, odd D_E, a window of 2 patches that slides);
 *   - causality: changing byte t changes no table at positions <= t, and the encoder
 *     makes a change reach the global input of the next patch only through bytes
 *     t .. t+12 (a change at t is seen by the patch after t's);
 *   - identity: with every conv multiplier 0, the tables of the same model without the
 *     option (the encoder changes nothing else); with them, different tables;
 *   - model files: the option without its tensors, a mis-shaped or mistyped conv
 *     tensor, bad values in one, and D_E too wide for the widest kernel are refused
 *     with a one-line message; corrupted conv models never crash.
 * Shares test_megabyte.c's helpers (compiled in with TEST_MEGABYTE_NO_MAIN).
 */
#define TEST_MEGABYTE_NO_MAIN
#include "test_megabyte.c"

#define CONV_GOLDEN_HASH 0xf255e9ea937840d0ull
#define CONV_GOLDEN_MODEL 0xb069303ecce9b959ull   /* fingerprint of mkmodel --tiny --conv --seed 3 */

/* Write dtype/rows/cols of directory entry `name` in a model image (trailer fixed). */
static int patch_dirent(uint8_t *buf, size_t size, const char *name, uint32_t dtype, uint32_t rows,
                        uint32_t cols)
{
    uint32_t n = (uint32_t)buf[12] | (uint32_t)buf[13] << 8;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *d = buf + 80 + 64 * (size_t)i;
        if (strncmp((const char *)d, name, 32))
            continue;
        uint32_t v[3] = {dtype, rows, cols};
        for (int k = 0; k < 3; k++)
            for (int b = 0; b < 4; b++)
                d[32 + 4 * k + b] = (uint8_t)(v[k] >> (8 * b));
        fix_trailer(buf, size);
        return 1;
    }
    return 0;
}

static void expect_refused(const uint8_t *buf, size_t size, const char *msg_part, const char *what)
{
    mbz_model *m = NULL;
    mbz_error e;
    e.msg[0] = 0;
    int rc = mbz_megabyte_create(buf, size, &m, &e);
    CHECK(rc == MBZ_ERR_MODEL_INVALID, "%s: accepted (rc %d)", what, rc);
    CHECK(strstr(e.msg, msg_part) != NULL && !strchr(e.msg, '\n'), "%s: message '%s'", what, e.msg);
    printf("refused (%s): %s\n", what, e.msg);
    if (rc == MBZ_OK)
        free_model(m);
}

static void conv_parse_tests(void)
{
    mbzm_hparams hp;
    mkmodel_preset(&hp, "tiny");
    hp.options = MBZM_OPT_CONV_ENCODER;
    uint8_t *buf, *c;
    size_t size;
    CHECK(mkmodel_build(&hp, 5, &buf, &size) == MBZ_OK, "mkmodel conv");
    CHECK(try_load(buf, size) == MBZ_OK, "valid conv model refused");
    mbzm_file mf;
    char err[256];
    CHECK(mbzm_parse(buf, size, &mf, err, sizeof err) == MBZ_OK, "parse conv model");
    for (int j = 0; j < MBZM_CONV_LAYERS; j++) {
        char name[32];
        snprintf(name, sizeof name, "g.conv.%d.w", j);
        const mbzm_tensor *t = mbzm_find(&mf, name);
        CHECK(t && t->dtype == MBZM_I8 && t->rows == hp.d_emb &&
              t->cols == (uint32_t)MBZM_CONV_KERNEL(j) * hp.d_emb, "%s shape", name);
    }
    c = malloc(size);

    /* the option bit without the tensors (a plain model with the bit set) */
    {
        mbzm_hparams hp0 = hp;
        hp0.options = 0;
        uint8_t *b0;
        size_t s0;
        CHECK(mkmodel_build(&hp0, 5, &b0, &s0) == MBZ_OK, "mkmodel plain");
        b0[16 + 40] = (uint8_t)MBZM_OPT_CONV_ENCODER;
        fix_trailer(b0, s0);
        expect_refused(b0, s0, "its hyperparameters need", "option without conv tensors");
        free(b0);
    }
    /* conv tensors without the option bit */
    memcpy(c, buf, size);
    c[16 + 40] = 0;
    fix_trailer(c, size);
    expect_refused(c, size, "its hyperparameters need", "conv tensors without the option");
    /* a mis-shaped and a mistyped conv tensor */
    memcpy(c, buf, size);
    CHECK(patch_dirent(c, size, "g.conv.1.w", MBZM_I8, hp.d_emb, 3 * hp.d_emb), "dirent");
    expect_refused(c, size, "'g.conv.1.w': shape", "mis-shaped g.conv.1.w");
    memcpy(c, buf, size);
    CHECK(patch_dirent(c, size, "g.conv.2.b", MBZM_I32, 1, hp.d_emb + 1), "dirent");
    expect_refused(c, size, "'g.conv.2.b': shape", "mis-shaped g.conv.2.b");
    memcpy(c, buf, size);
    CHECK(patch_dirent(c, size, "g.conv.0.w", MBZM_I16, hp.d_emb, 3 * hp.d_emb), "dirent");
    expect_refused(c, size, "'g.conv.0.w': type", "mistyped g.conv.0.w");
    /* a misnamed one (a missing tensor, as the directory is checked in order) */
    memcpy(c, buf, size);
    {
        uint32_t n = (uint32_t)c[12] | (uint32_t)c[13] << 8;
        for (uint32_t i = 0; i < n; i++)
            if (!strncmp((const char *)c + 80 + 64 * i, "g.conv.2.m", 32))
                c[80 + 64 * i + 7] = '9';
        fix_trailer(c, size);
    }
    expect_refused(c, size, "expected 'g.conv.2.m'", "misnamed g.conv.2.m");
    /* values: int8 -128, shift 0, negative multiplier */
    struct { const char *tensor; size_t index; int v8; int64_t v32; const char *msg; } cases[] = {
        {"g.conv.0.w", 5, -128, 0, "-128"},
        {"g.conv.1.s", 1, 0, 0, "outside"},
        {"g.conv.2.m", 0, 0, -3, "outside"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const mbzm_tensor *tt = mbzm_find(&mf, cases[i].tensor);
        CHECK(tt != NULL, "tensor %s", cases[i].tensor);
        if (!tt)
            continue;
        memcpy(c, buf, size);
        size_t off = (size_t)((const uint8_t *)tt->data - mf.bytes);
        if (tt->dtype == MBZM_I8) {
            c[off + cases[i].index] = (uint8_t)cases[i].v8;
        } else {
            uint32_t v = (uint32_t)(int32_t)cases[i].v32;
            for (int b = 0; b < 4; b++)
                c[off + 4 * cases[i].index + b] = (uint8_t)(v >> (8 * b));
        }
        fix_trailer(c, size);
        expect_refused(c, size, cases[i].msg, cases[i].tensor);
    }
    /* D_E too wide for the widest kernel's int32 bound: 7 * 294 > 2048, 7 * 292 <= 2048 */
    {
        mbzm_hparams w = hp;
        w.patch = 1;
        w.d_emb = 294;
        w.g_heads = 2;
        CHECK(mbzm_check_hparams(&w, err, sizeof err) != MBZ_OK && strstr(err, "convolutional"),
              "d_emb 294 with the conv encoder accepted (%s)", err);
        w.d_emb = 292;
        w.g_heads = 4;
        CHECK(mbzm_check_hparams(&w, err, sizeof err) == MBZ_OK, "d_emb 292 refused: %s", err);
    }
    /* random corruption of the conv tensors' data with a valid trailer: loads or is
     * refused, never crashes */
    {
        const mbzm_tensor *t0 = mbzm_find(&mf, "g.conv.0.w"), *t1 = mbzm_find(&mf, "gl.w");
        size_t lo = (size_t)((const uint8_t *)t0->data - mf.bytes);
        size_t hi = (size_t)((const uint8_t *)t1->data - mf.bytes);
        int loaded = 0, refused = 0;
        for (int k = 0; k < 200; k++) {
            memcpy(c, buf, size);
            for (int j = 0; j < 3; j++)
                c[lo + rnd() % (hi - lo)] ^= (uint8_t)(1u << (rnd() % 8));
            fix_trailer(c, size);
            if (try_load(c, size) == MBZ_OK)
                loaded++;
            else
                refused++;
        }
        printf("conv data corrupted: %d refused, %d loaded and ran\n", refused, loaded);
    }
    mbzm_free(&mf);
    free(c);
    free(buf);
}

/* Changing byte t changes no table at positions <= t; it changes the tables of the
 * patch after t's (through the global model). */
static void causality(mbz_model *m, const uint8_t *data, size_t len, size_t P)
{
    uint16_t *a = malloc(len * 512), *b = malloc(len * 512);
    uint8_t *d = malloc(len);
    CHECK(run_score(m, data, len, len, a) == MBZ_OK, "causality: score");
    size_t ts[] = {0, 5, P * 3 + 1, len / 2, len - 2 * P - 1};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
        size_t t = ts[i];
        memcpy(d, data, len);
        d[t] ^= 0x5a;
        CHECK(run_score(m, d, len, len, b) == MBZ_OK, "causality: score");
        CHECK(!memcmp(a, b, (t + 1) * 512), "byte %zu changed an earlier table", t);
        size_t next = (t / P + 1) * P;   /* first position of the next patch */
        CHECK(memcmp(a + next * 256, b + next * 256, P * 512) != 0,
              "byte %zu did not reach the next patch", t);
    }
    free(a);
    free(b);
    free(d);
}

/* With every conv multiplier 0 the layers add 0: the tables must be exactly those of
 * the model without the option and with the same other tensors; with the multipliers
 * as built, they must differ (the encoder is used). */
static void identity_test(const uint8_t *data, size_t len)
{
    mbzm_hparams hp;
    mkmodel_preset(&hp, "tiny");
    hp.options = MBZM_OPT_CONV_ENCODER;
    uint8_t *buf, *plain;
    size_t size, psize;
    char err[256];
    mbzm_file mf;
    CHECK(mkmodel_build(&hp, 21, &buf, &size) == MBZ_OK, "identity: mkmodel");
    CHECK(mbzm_parse(buf, size, &mf, err, sizeof err) == MBZ_OK, "identity: parse");
    mbzm_tensor *keep = malloc(mf.n_tensors * sizeof *keep);
    uint32_t nk = 0;
    for (uint32_t i = 0; i < mf.n_tensors; i++)
        if (strncmp(mf.tensors[i].name, "g.conv.", 7))
            keep[nk++] = mf.tensors[i];
    mbzm_hparams hp0 = mf.hp;
    hp0.options = 0;
    CHECK(mbzm_write_buffer(&hp0, keep, nk, &plain, &psize) == MBZ_OK, "identity: plain model");
    uint16_t *a = malloc(len * 512), *b = malloc(len * 512), *c = malloc(len * 512);
    mbz_model *m = NULL;
    mbz_error e;
    CHECK(mbz_megabyte_create(plain, psize, &m, &e) == MBZ_OK, "identity: load plain");
    CHECK(m && run_score(m, data, len, 4096, a) == MBZ_OK, "identity: score plain");
    free_model(m);
    CHECK(mbz_megabyte_create(buf, size, &m, &e) == MBZ_OK, "identity: load conv");
    CHECK(m && run_score(m, data, len, 4096, c) == MBZ_OK, "identity: score conv");
    free_model(m);
    for (int j = 0; j < MBZM_CONV_LAYERS; j++) {
        char name[32];
        snprintf(name, sizeof name, "g.conv.%d.m", j);
        const mbzm_tensor *t = mbzm_find(&mf, name);
        memset(buf + ((const uint8_t *)t->data - mf.bytes), 0, 4 * (size_t)t->cols);
    }
    fix_trailer(buf, size);
    CHECK(mbz_megabyte_create(buf, size, &m, &e) == MBZ_OK, "identity: load conv m=0");
    CHECK(m && run_score(m, data, len, 4096, b) == MBZ_OK, "identity: score conv m=0");
    free_model(m);
    CHECK(!memcmp(a, b, len * 512), "conv layers with m = 0 are not the identity");
    size_t differ = 0;
    for (size_t t = 0; t < len; t++)
        differ += memcmp(a + t * 256, c + t * 256, 512) != 0;
    CHECK(differ > len / 2, "the conv encoder changes few tables (%zu of %zu)", differ, len);
    printf("identity: m = 0 gives the plain model's tables; the encoder changes %zu of %zu\n",
           differ, len);
    free(a); free(b); free(c); free(keep); free(plain);
    mbzm_free(&mf);
    free(buf);
}

int main(void)
{
    printf("kernel: %s\n", mbz_kernels_get()->name);
    size_t len;
    uint8_t *data = golden_input(&len);
    if (!data) {
        fprintf(stderr, "corpora/alice29.txt not found (set top_srcdir): skipped\n");
        return 77;
    }
    (void)parse_tests;   /* test_megabyte's; not run here */

    mbzm_hparams hp;
    mkmodel_preset(&hp, "tiny");
    hp.options = MBZM_OPT_CONV_ENCODER;
    mbz_model *m = make_model(&hp, 3);
    CHECK(m != NULL, "tiny conv model");
    if (!m)
        return 1;
    printf("model: %s, fingerprint %016llx\n", m->describe, (unsigned long long)m->fingerprint);
    CHECK(m->fingerprint == CONV_GOLDEN_MODEL, "mkmodel --conv output changed: fingerprint %016llx != %016llx",
          (unsigned long long)m->fingerprint, (unsigned long long)CONV_GOLDEN_MODEL);
    uint16_t *ref = malloc(len * 512);
    size_t chunks[] = {1, 3, 1000, 16384, len};
    consistency(m, data, len, chunks, 5, ref, "conv golden");
    uint64_t h = hash_tables(ref, len);
    uint64_t mbt = mbits_per_byte(ref, data, len);
    printf("conv golden: xxh64 %016llx, %llu.%03llu bits/byte\n", (unsigned long long)h,
           (unsigned long long)(mbt / 1000), (unsigned long long)(mbt % 1000));
    CHECK(h == CONV_GOLDEN_HASH, "conv golden hash %016llx != %016llx", (unsigned long long)h,
          (unsigned long long)CONV_GOLDEN_HASH);
    batch_test(m, data, len);
    batch_stagger_test(m, data, len, 8, 1500, "conv model");
    size_t shorts[] = {1, 2, 4, 5, 13, 63, 301};
    for (size_t i = 0; i < sizeof shorts / sizeof shorts[0]; i++) {
        size_t ch[] = {1, 7, 64};
        uint16_t *r = malloc(shorts[i] * 512);
        consistency(m, data + 5000, shorts[i], ch, 3, r, "conv short block");
        free(r);
    }
    causality(m, data + 3000, 600, hp.patch);
    free_model(m);

    /* P = 8, D_E = 6 (odd rows of 3*6, 5*6, 7*6 inputs), window of 2 patches, a score
     * sub-batch boundary (GB = 64 patches) crossed by the chunk sizes */
    mbzm_hparams hp2 = {8, 6, 3, 3, 40, 24, 1, 3, 20, 2, MBZM_OPT_CONV_ENCODER, 0, 0, {0, 0, 0}};
    m = make_model(&hp2, 99);
    CHECK(m != NULL, "second conv model");
    if (m) {
        size_t n2 = 3001;
        uint16_t *r = malloc(n2 * 512);
        size_t ch[] = {1, 13, 517, 800, 4096};
        consistency(m, data + 100, n2, ch, 5, r, "conv model 2");
        batch_test(m, data, 3000);
        batch_stagger_test(m, data, len, 40, 600, "conv model 2");
        causality(m, data + 100, 700, hp2.patch);
        free(r);
        free_model(m);
    }

    identity_test(data, 4000);
    conv_parse_tests();
    free(ref);
    free(data);
    if (failures)
        fprintf(stderr, "%d failures\n", failures);
    return failures ? 1 : 0;
}
