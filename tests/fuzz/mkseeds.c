/*
 * mkseeds.c - write the seed inputs of the fuzz harnesses (tools/fuzz.sh) and of
 * their replay in `make check` (tests/fuzz.am):
 *
 *   mkseeds DIR   ->  DIR/frame/        frames: order-2 (modelled, stored, run-length,
 *                                       multi-block, concatenated, empty) and tiny
 *                                       MEGABYTE model frames with a modelled block
 *                     DIR/modelfile/    model files (mkmodel --tiny seeds 1, 2 and a
 *                                       smaller shape)
 *                     DIR/roundtrip/    option byte + data
 *
 * The tiny model (random weights) cannot compress text, so its modelled seed block
 * is made of bytes the model itself finds likely: each byte is the most probable one
 * under the model given the bytes before it (greedy sampling through the internal
 * predictor interface, src/lib/predictor.h).
 */
#include <sys/stat.h>

#include "fuzz_common.h"
#include "predictor.h"

static const char text[] =
    "A compressor is trusted with data people cannot get back. It must never crash,\n"
    "must detect every corruption, and must never lose a byte. The quick brown fox\n"
    "jumps over the lazy dog; the quick brown fox jumps over the lazy dog again.\n";

static char *dir;

static void put(const char *sub, const char *name, const void *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    mkdir(path, 0777);
    snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static void frame(const char *name, const mbz_model *m, int level, const void *src, size_t n)
{
    mbz_options o;
    mbz_options_init(&o);
    o.level = level;
    o.threads = 1;
    o.model = m;
    void *z;
    size_t zn;
    mbz_error e;
    if (mbz_compress_buffer(&o, src, n, &z, &zn, NULL, &e) != MBZ_OK) {
        fprintf(stderr, "mkseeds: %s: %s\n", name, e.msg);
        exit(1);
    }
    put("frame", name, z, zn);
    free(z);
}

/* n bytes the model predicts well: greedy argmax of its own tables. */
static uint8_t *likely_bytes(const mbz_model *m, size_t n)
{
    uint8_t *d = calloc(n, 1);
    uint16_t f[MBZ_SYMBOLS];
    mbz_predictor *p;
    if (!d || m->ops->create(m->impl, n, &p) != MBZ_OK)
        exit(1);
    for (size_t i = 0; i < n; i++) {
        if (m->ops->predict(p, d, i, f) != MBZ_OK)
            exit(1);
        unsigned best = 0;
        for (unsigned s = 1; s < MBZ_SYMBOLS; s++)
            if (f[s] > f[best])
                best = s;
        d[i] = (uint8_t)best;
    }
    m->ops->destroy(p);
    return d;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: mkseeds DIR\n");
        return 2;
    }
    dir = argv[1];
    mkdir(dir, 0777);
    const mbz_model *o2 = mbz_model_order2();

    /* order-2 frames */
    frame("o2-text", o2, 1, text, sizeof text - 1);
    frame("o2-empty", o2, 1, "", 0);
    uint8_t rnd[600];
    uint64_t x = 12345;
    for (size_t i = 0; i < sizeof rnd; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        rnd[i] = (uint8_t)(x >> 56);
    }
    frame("o2-stored", o2, 1, rnd, sizeof rnd);
    uint8_t run[3000];
    memset(run, 'x', sizeof run);
    frame("o2-rle", o2, 1, run, sizeof run);
    /* two blocks at level 1 (block size from an empty frame's header): run-length, modelled */
    size_t bs;
    {
        void *z;
        size_t zn;
        mbz_options o;
        mbz_options_init(&o);
        o.level = 1;
        if (mbz_compress_buffer(&o, "", 0, &z, &zn, NULL, NULL) != MBZ_OK || zn < 20)
            return 1;
        bs = (size_t)1 << ((uint8_t *)z)[7];
        free(z);
    }
    size_t bn = bs + 200;
    uint8_t *two = malloc(bn);
    memset(two, 'y', bs);
    memcpy(two + bs, text, 200);
    frame("o2-2blocks-l1", o2, 1, two, bn);
    free(two);
    {   /* concatenation of text + empty + stored */
        void *a, *b, *c;
        size_t an, bn2, cn;
        mbz_options o;
        mbz_options_init(&o);
        o.level = 1;
        o.threads = 1;
        mbz_compress_buffer(&o, text, 40, &a, &an, NULL, NULL);
        mbz_compress_buffer(&o, "", 0, &b, &bn2, NULL, NULL);
        mbz_compress_buffer(&o, rnd, 100, &c, &cn, NULL, NULL);
        uint8_t *cat = malloc(an + bn2 + cn);
        memcpy(cat, a, an);
        memcpy(cat + an, b, bn2);
        memcpy(cat + an + bn2, c, cn);
        put("frame", "o2-concat", cat, an + bn2 + cn);
        free(a);
        free(b);
        free(c);
        free(cat);
    }

    /* tiny MEGABYTE model frames, and model files */
    uint8_t *mb;
    size_t mn;
    mbz_model *tiny = fz_tiny_model(1, &mb, &mn);
    put("modelfile", "tiny-seed1.mbzm", mb, mn);
    free(mb);
    mbz_model *tiny2 = fz_tiny_model(2, &mb, &mn);
    put("modelfile", "tiny-seed2.mbzm", mb, mn);
    free(mb);
    mbz_model_free(tiny2);
    {
        mbzm_hparams hp;
        memset(&hp, 0, sizeof hp);
        hp.patch = 2; hp.d_emb = 4; hp.g_layers = 1; hp.g_heads = 1; hp.g_ff = 8;
        hp.l_dim = 8; hp.l_layers = 1; hp.l_heads = 2; hp.l_ff = 8; hp.ctx_patches = 4;
        if (mkmodel_build(&hp, 3, &mb, &mn) == MBZ_OK) {
            put("modelfile", "small-shape.mbzm", mb, mn);
            free(mb);
        }
    }
    uint8_t *likely = likely_bytes(tiny, 700);
    frame("tiny-modelled", tiny, 1, likely, 700);
    frame("tiny-text", tiny, 1, text, 60);
    frame("tiny-rle", tiny, 1, run, 100);

    /* round trip: option byte + data */
    uint8_t rt[1 + sizeof text];
    static const uint8_t sels[] = { 0x00, 0x01, 0x02, 0x05, 0x10, 0x24, 0x41, 0x11 };
    for (size_t i = 0; i < sizeof sels; i++) {
        char name[32];
        rt[0] = sels[i];
        memcpy(rt + 1, text, sizeof text - 1);
        snprintf(name, sizeof name, "text-%02x", sels[i]);
        put("roundtrip", name, rt, sizeof text);
    }
    uint8_t rt2[1 + 300];
    rt2[0] = 0x01;
    memcpy(rt2 + 1, likely, 300);
    put("roundtrip", "tiny-likely", rt2, sizeof rt2);
    rt2[0] = 0x00;
    memcpy(rt2 + 1, rnd, 300);
    put("roundtrip", "random", rt2, sizeof rt2);
    free(likely);
    mbz_model_free(tiny);
    printf("seeds written to %s\n", dir);
    return 0;
}
