/*
 * test_cm.c - the binary context-mixing stage (src/lib/cm.c) and its coder
 * (src/lib/bitcoder.h):
 *   - the coder round-trips random bits at random probabilities (including the
 *     extremes 1 and 65535), its output is within a few bytes of the ideal code
 *     length, and the decoder's end check accepts exactly the encoder's payload: a
 *     payload one byte shorter or longer, or with a flipped byte, never passes it
 *     while decoding the same bits;
 *   - golden: xxh64 of every probability the stage gives over a fixed input, with a
 *     base table and without (pins the arithmetic: any change to it must change the
 *     frame flag, doc/mixing.md);
 *   - encoding and decoding through the stage give the same bits;
 *   - it learns: a repeat of a text costs far less than the text did;
 *   - the record model (MBZ_CM_RECORD): its own golden hash, the stage without it
 *     gives the hashes above (the frames written before it decode as before), and
 *     on fixed-size binary records it codes them clearly smaller than without;
 *   - revision 2 (MBZ_CM_REV2): its own golden hashes (revision 1 keeps the ones
 *     above), round trips, and it codes the golden input and the records smaller
 *     than revision 1;
 *   - revision 3 (MBZ_CM_REV3, with REV2): its own golden hashes, round trips, it
 *     codes the golden input and the records smaller than revision 2, and the flag
 *     changes nothing without REV2 or in the fast configuration;
 *   - the fast configuration (MBZ_CM_FAST, level 1): its own golden hashes, it
 *     ignores base tables, round trips, learns a repeat, finds records, and codes
 *     the golden input within 10% of revision 1 with base tables.
 * Plain C test: exit 0 = pass, 1 = fail.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "bitcoder.h"
#include "cm.h"
#include "mbz.h"
#include "predictor.h"

#include "check.h"

/* xxh64 of the stage's probabilities over golden_input (with base tables, without). */
#define GOLDEN_CM_BASE 0x870c83e05179c9dfull
#define GOLDEN_CM_NOBASE 0x878112d28b0b9c01ull
/* ... and over record_test's records with the record model, with base tables */
#define GOLDEN_CM_RECORD 0x6ca853b7343bd29bull
/* revision 2 (MBZ_CM_REV2, frame version 9): the golden input with base tables; the
 * records with base tables and the record model */
#define GOLDEN_CM2_BASE 0x7ff59e9bbf52eb69ull
#define GOLDEN_CM2_RECORD 0xbefe422dce9268e4ull
/* revision 3 (MBZ_CM_REV3 with MBZ_CM_REV2, frame version 13): the same two */
#define GOLDEN_CM3_BASE 0x74c2d079017a6310ull
#define GOLDEN_CM3_RECORD 0x9fef3d39c7f736f1ull
/* the fast configuration (MBZ_CM_FAST, frame flag FAST): the golden input; the records */
#define GOLDEN_CM_FAST 0xa87f54ae26d5a0f3ull
#define GOLDEN_CM_FAST_RECORD 0x00ffd26d7ea214b9ull

static uint64_t rng = 0x243F6A8885A308D3ull;
static uint32_t rnd(void)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng >> 33);
}

static void coder_test(void)
{
    enum { N = 200000 };
    static uint8_t bits[N], buf[N];
    static uint32_t prob[N];
    double ideal = 0;
    for (int i = 0; i < N; i++) {
        uint32_t r = rnd();
        prob[i] = i % 97 == 0 ? 1 : i % 89 == 0 ? 65535 : 1 + r % 65535;
        /* bits drawn near their probability, with some surprises */
        bits[i] = (uint8_t)((rnd() & 0xffff) < prob[i]);
        double p = bits[i] ? prob[i] / 65536.0 : 1 - prob[i] / 65536.0;
        ideal += -log2(p);
    }
    mbz_bc_enc e;
    mbz_bc_enc_init(&e, buf, sizeof buf);
    for (int i = 0; i < N; i++)
        mbz_bc_encode(&e, bits[i], prob[i]);
    size_t len = mbz_bc_enc_finish(&e);
    CHECK(len > 0, "coder overflow");
    printf("coder: %d bits, ideal %.1f bytes, coded %zu\n", N, ideal / 8, len);
    CHECK(len <= ideal / 8 + 8 + N / 100000.0 * 4, "coder %zu bytes, ideal %.1f", len, ideal / 8);

    for (int variant = 0; variant < 4; variant++) {
        static uint8_t copy[N + 1];
        memcpy(copy, buf, len);
        size_t l = len;
        if (variant == 1)
            l = len - 1;
        else if (variant == 2)
            copy[l++] = 0;
        else if (variant == 3)
            copy[len / 2] ^= 0x10;
        mbz_bc_dec d;
        mbz_bc_dec_init(&d, copy, l);
        int same = 1;
        for (int i = 0; i < N; i++)
            same &= mbz_bc_decode(&d, prob[i]) == bits[i];
        int ok = mbz_bc_dec_check_end(&d);
        if (variant == 0)
            CHECK(same && ok, "round trip failed (same %d, end %d)", same, ok);
        else
            CHECK(!(same && ok), "damaged payload (variant %d) passed as valid", variant);
    }
}

/* A mix of text, records and binary, fixed. */
static size_t golden_input(uint8_t *buf, size_t cap)
{
    static const char *words[] = { "the", "model", "mixes", "bits", "of", "context", "and",
                                   "match", "{\"id\": ", "\n", ", ", "0x7f", "record" };
    size_t n = 0;
    uint32_t s = 12345;
    while (n + 16 < cap) {
        s = s * 1103515245u + 12345u;
        if ((s >> 28) < 11) {
            const char *w = words[(s >> 16) % 13];
            size_t l = strlen(w);
            memcpy(buf + n, w, l);
            n += l;
            buf[n++] = ' ';
        } else {
            for (int k = 0; k < 8; k++, n++)
                buf[n] = (uint8_t)((s >> (k * 3)) ^ (n & 0x0f));
        }
    }
    return n;
}

/* A base table that knows something: even bytes of the previous one's parity get
 * more mass. Deterministic, valid (each >= 1, sum 65536). */
static void base_table(uint8_t prev, uint16_t *f)
{
    uint32_t sum = 0;
    for (int y = 0; y < MBZ_SYMBOLS; y++) {
        f[y] = (uint16_t)(((y ^ prev) & 1) ? 40 : 200 + (y == ' ') * 3000 + (y >= 'a' && y <= 'z') * 300);
        sum += f[y];
    }
    f[0] = (uint16_t)(f[0] + (MBZ_FREQ_TOTAL - sum));
}

/* Run the stage over buf; hash its probabilities; optionally code/decode. Returns the
 * cost in bits of bytes [from, n). */
static double run(const uint8_t *buf, size_t n, int with_base, unsigned features, uint64_t *hash,
                  size_t from)
{
    mbz_cm *cm;
    CHECK(mbz_cm_create(n, features, &cm) == MBZ_OK, "create");
    XXH64_state_t *xs = XXH64_createState();
    XXH64_reset(xs, 0);
    uint16_t f[MBZ_SYMBOLS];
    double cost = 0;
    for (size_t i = 0; i < n; i++) {
        if (with_base)
            base_table(i ? buf[i - 1] : 0, f);
        mbz_cm_byte(cm, with_base ? f : NULL);
        for (int b = 7; b >= 0; b--) {
            int bit = (buf[i] >> b) & 1;
            uint32_t p = mbz_cm_p(cm);
            CHECK(p >= 1 && p <= 65535, "p %u out of range", p);
            uint8_t le[4] = { (uint8_t)p, (uint8_t)(p >> 8), 0, 0 };
            XXH64_update(xs, le, 2);
            if (i >= from)
                cost += mbz_cm_cost_q16(bit ? p : 65536 - p) / 65536.0;
            mbz_cm_update(cm, bit);
        }
    }
    *hash = XXH64_digest(xs);
    XXH64_freeState(xs);
    mbz_cm_free(cm);
    return cost;
}

static void roundtrip_test(const uint8_t *buf, size_t n, unsigned features);
static void records_make(uint8_t *rec, int R, int N);

/* Fixed-size binary records (a 24-byte struct: a counter, a slowly rising time, a
 * small signed value, a code from four, flags), 2000 of them: the record model must
 * find the length and code them at least 10% smaller than the stage without it. */
static void records_make(uint8_t *rec, int R, int N)
{
    uint32_t t = 1000000, s = 7;
    static const char codes[4][6] = { "EURUS", "GBPUS", "USDJP", "AUDCA" };
    for (int i = 0; i < N; i++) {
        uint8_t *r = rec + (size_t)i * R;
        s = s * 1103515245u + 12345u;
        t += (s >> 16) % 90;
        int v = (int)((s >> 8) % 601) - 300;
        for (int k = 0; k < 4; k++) {
            r[k] = (uint8_t)((unsigned)i >> (8 * k));
            r[4 + k] = (uint8_t)(t >> (8 * k));
            r[8 + k] = (uint8_t)((unsigned)v >> (8 * k));
        }
        memcpy(r + 12, codes[(s >> 24) & 3], 6);
        for (int k = 18; k < R; k++)
            r[k] = (uint8_t)(k == 18 ? (s >> 4) & 3 : 0);
    }
}

static void record_test(void)
{
    enum { R = 24, N = 2000 };
    static uint8_t rec[R * N];
    records_make(rec, R, N);
    uint64_t h, hg, h0;
    double without = run(rec, sizeof rec, 0, 0, &h, 0);
    double with = run(rec, sizeof rec, 0, MBZ_CM_RECORD, &h, 0);
    printf("records: %zu bytes: %.0f bits without the record model, %.0f with\n", sizeof rec,
           without, with);
    CHECK(with < without * 0.9, "record model: %.0f bits, without %.0f", with, without);
    run(rec, sizeof rec, 1, MBZ_CM_RECORD, &hg, 0);
    run(rec, sizeof rec, 1, 0, &h0, 0);
    printf("golden: records with the record model %016llx\n", (unsigned long long)hg);
    CHECK(hg != h0, "the record model changed nothing on records");
    CHECK(hg == GOLDEN_CM_RECORD, "golden (record) %016llx != %016llx", (unsigned long long)hg,
          (unsigned long long)GOLDEN_CM_RECORD);
    roundtrip_test(rec, sizeof rec, MBZ_CM_RECORD);
}

/* Revision `rev` (features `cur`) against the revision before it (features `prev`),
 * on the golden input (text and binary) and on the records: it codes both smaller,
 * gives its golden hashes and round-trips. */
static void revision_test(const uint8_t *buf, size_t n, int rev, unsigned prev, unsigned cur,
                          uint64_t golden, uint64_t golden_rec)
{
    uint64_t h, hc, hr;
    double a = run(buf, n, 1, MBZ_CM_RECORD | prev, &h, 0);
    double b = run(buf, n, 1, MBZ_CM_RECORD | cur, &h, 0);
    run(buf, n, 1, cur, &hc, n);
    printf("revision %d: golden input %.0f bits (revision %d: %.0f)\n", rev, b, rev - 1, a);
    CHECK(b < a, "revision %d: %.0f bits, revision %d %.0f", rev, b, rev - 1, a);
    enum { R = 24, N = 2000 };
    static uint8_t rec[R * N];
    records_make(rec, R, N);
    double qa = run(rec, sizeof rec, 1, MBZ_CM_RECORD | prev, &hr, 0);
    double qb = run(rec, sizeof rec, 1, MBZ_CM_RECORD | cur, &hr, 0);
    printf("revision %d: records %.0f bits (revision %d: %.0f)\n", rev, qb, rev - 1, qa);
    CHECK(qb < qa, "revision %d on records: %.0f bits, revision %d %.0f", rev, qb, rev - 1, qa);
    printf("golden: revision %d %016llx, with records %016llx\n", rev, (unsigned long long)hc,
           (unsigned long long)hr);
    CHECK(hc == golden, "golden (revision %d) %016llx != %016llx", rev, (unsigned long long)hc,
          (unsigned long long)golden);
    CHECK(hr == golden_rec, "golden (revision %d, records) %016llx != %016llx", rev,
          (unsigned long long)hr, (unsigned long long)golden_rec);
    roundtrip_test(buf, n, cur);
    roundtrip_test(rec, sizeof rec, cur | MBZ_CM_RECORD);
}

/* Revision 3 against revision 2 (revision_test); the flag alone (without REV2) and in
 * the fast configuration changes nothing. */
static void rev3_test(const uint8_t *buf, size_t n)
{
    uint64_t h;
    revision_test(buf, n, 3, MBZ_CM_REV2, MBZ_CM_REV2 | MBZ_CM_REV3, GOLDEN_CM3_BASE, GOLDEN_CM3_RECORD);
    run(buf, n, 1, MBZ_CM_REV3, &h, n);
    CHECK(h == GOLDEN_CM_BASE, "revision 3's flag without revision 2 changed revision 1");
    run(buf, n, 1, MBZ_CM_FAST | MBZ_CM_REV2 | MBZ_CM_REV3, &h, n);
    CHECK(h == GOLDEN_CM_FAST, "revision 3's flag changed the fast configuration");
}

/* The fast configuration: golden hashes, base tables ignored, against revision 1
 * (which reads base tables) on the golden input, records, a repeat. */
static void fast_test(const uint8_t *buf, size_t n)
{
    uint64_t hf, hb, hr, h;
    double f = run(buf, n, 0, MBZ_CM_FAST, &hf, 0);
    run(buf, n, 1, MBZ_CM_FAST | MBZ_CM_REV2, &hb, 0);
    double r1 = run(buf, n, 1, MBZ_CM_RECORD, &h, 0);
    printf("fast: golden input %.0f bits (revision 1 with base tables: %.0f)\n", f, r1);
    CHECK(hb == hf, "the fast configuration read base tables or revision 2's flag");
    CHECK(f < r1 * 1.1, "fast: %.0f bits, revision 1 %.0f", f, r1);
    enum { R = 24, N = 2000 };
    static uint8_t rec[R * N];
    records_make(rec, R, N);
    double q = run(rec, sizeof rec, 0, MBZ_CM_FAST, &hr, 0);
    double q0 = run(rec, sizeof rec, 0, 0, &h, 0);
    printf("fast: records %.0f bits (revision 1 without the record model: %.0f)\n", q, q0);
    CHECK(q < q0 * 0.9, "fast on records: %.0f bits, revision 1 without records %.0f", q, q0);
    printf("golden: fast %016llx, with records %016llx\n", (unsigned long long)hf,
           (unsigned long long)hr);
    CHECK(hf == GOLDEN_CM_FAST, "golden (fast) %016llx != %016llx", (unsigned long long)hf,
          (unsigned long long)GOLDEN_CM_FAST);
    CHECK(hr == GOLDEN_CM_FAST_RECORD, "golden (fast, records) %016llx != %016llx",
          (unsigned long long)hr, (unsigned long long)GOLDEN_CM_FAST_RECORD);
    roundtrip_test(buf, n, MBZ_CM_FAST);
    roundtrip_test(rec, sizeof rec, MBZ_CM_FAST);
    uint8_t *two = malloc(2 * n);
    CHECK(two != NULL, "out of memory");
    memcpy(two, buf, n);
    memcpy(two + n, buf, n);
    double both = run(two, 2 * n, 0, MBZ_CM_FAST, &h, 0);
    double second = run(two, 2 * n, 0, MBZ_CM_FAST, &h, n);
    printf("fast: first copy %.0f bits, repeat %.0f bits\n", both - second, second);
    CHECK(second < (both - second) / 10, "fast: repeat costs %.0f bits, first copy %.0f", second,
          both - second);
    free(two);
}

static void roundtrip_test(const uint8_t *buf, size_t n, unsigned features)
{
    mbz_cm *ce, *cd;
    CHECK(mbz_cm_create(n, features, &ce) == MBZ_OK && mbz_cm_create(n, features, &cd) == MBZ_OK,
          "create");
    uint8_t *out = malloc(n + 16), *back = malloc(n);
    mbz_bc_enc e;
    mbz_bc_enc_init(&e, out, n + 16);
    uint16_t f[MBZ_SYMBOLS];
    for (size_t i = 0; i < n; i++) {
        base_table(i ? buf[i - 1] : 0, f);
        mbz_cm_byte(ce, f);
        for (int b = 7; b >= 0; b--) {
            int bit = (buf[i] >> b) & 1;
            mbz_bc_encode(&e, bit, mbz_cm_p(ce));
            mbz_cm_update(ce, bit);
        }
    }
    size_t len = mbz_bc_enc_finish(&e);
    CHECK(len > 0, "overflow");
    mbz_bc_dec d;
    mbz_bc_dec_init(&d, out, len);
    for (size_t i = 0; i < n; i++) {
        base_table(i ? back[i - 1] : 0, f);
        mbz_cm_byte(cd, f);
        unsigned c = 0;
        for (int b = 0; b < 8; b++) {
            int bit = mbz_bc_decode(&d, mbz_cm_p(cd));
            mbz_cm_update(cd, bit);
            c = (c << 1) | (unsigned)bit;
        }
        back[i] = (uint8_t)c;
    }
    CHECK(mbz_bc_dec_check_end(&d), "end check");
    CHECK(memcmp(buf, back, n) == 0, "decoded bytes differ");
    printf("round trip: %zu bytes -> %zu\n", n, len);
    free(out);
    free(back);
    mbz_cm_free(ce);
    mbz_cm_free(cd);
}

int main(void)
{
    coder_test();

    enum { CAP = 60000 };
    static uint8_t buf[2 * CAP];
    size_t n = golden_input(buf, CAP);
    uint64_t h1, h2, h3;
    run(buf, n, 1, 0, &h1, n);
    run(buf, n, 0, 0, &h2, n);
    run(buf, n, 1, 0, &h3, n);
    printf("golden: with base %016llx, without %016llx\n", (unsigned long long)h1,
           (unsigned long long)h2);
    CHECK(h1 == h3, "two runs differ");
    CHECK(h1 == GOLDEN_CM_BASE, "golden (base) %016llx != %016llx", (unsigned long long)h1,
          (unsigned long long)GOLDEN_CM_BASE);
    CHECK(h2 == GOLDEN_CM_NOBASE, "golden (no base) %016llx != %016llx", (unsigned long long)h2,
          (unsigned long long)GOLDEN_CM_NOBASE);

    roundtrip_test(buf, n, 0);
    roundtrip_test(buf, n, MBZ_CM_RECORD);
    record_test();
    revision_test(buf, n, 2, 0, MBZ_CM_REV2, GOLDEN_CM2_BASE, GOLDEN_CM2_RECORD);
    rev3_test(buf, n);
    fast_test(buf, n);

    /* learning: the text twice; the repeat must cost under a tenth of the first copy */
    memcpy(buf + n, buf, n);
    uint64_t h;
    double both = run(buf, 2 * n, 0, 0, &h, 0);
    double second = run(buf, 2 * n, 0, 0, &h, n);
    double first = both - second;
    printf("learning: first copy %.0f bits, repeat %.0f bits\n", first, second);
    CHECK(second < first / 10, "repeat costs %.0f bits, first copy %.0f", second, first);
    return failures ? 1 : 0;
}
