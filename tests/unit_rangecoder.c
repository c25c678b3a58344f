/*
 * unit_rangecoder.c - the range coder, frequency tables and integer log2.
 * Built from the library sources directly (internal functions).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "predictor.h"
#include "qmath.h"
#include "rangecoder.h"
#include "unit_common.h"

static void check_table(const uint16_t *f)
{
    uint32_t sum = 0;
    for (int i = 0; i < MBZ_SYMBOLS; i++) {
        assert_true(f[i] >= 1);
        sum += f[i];
    }
    assert_int_equal(sum, MBZ_FREQ_TOTAL);
}

static unsigned draw(const uint16_t *f, uint64_t *rs)
{
    uint32_t v = (uint32_t)(test_rand(rs) >> 48), c = 0; /* v in [0, 65536) */
    for (unsigned s = 0; s < MBZ_SYMBOLS; s++) {
        c += f[s];
        if (v < c)
            return s;
    }
    return MBZ_SYMBOLS - 1;
}

static void test_log2(void **state)
{
    (void)state;
    assert_int_equal(mbz_log2_q16(1), 0);
    assert_int_equal(mbz_log2_q16(2), 65536);
    assert_int_equal(mbz_log2_q16(65536), 16u << 16);
    assert_int_equal(mbz_log2_q16(UINT64_C(1) << 40), 40u << 16);
    /* log2(3) = 1.5849625007 -> 103872.5 in Q16 (truncated: 103872) */
    uint32_t l3 = mbz_log2_q16(3);
    assert_true(l3 >= 103871 && l3 <= 103873);
    /* log2(1000) = 9.9657842847 -> 653117.3 */
    uint32_t l1000 = mbz_log2_q16(1000);
    assert_true(l1000 >= 653116 && l1000 <= 653118);
    assert_int_equal(mbz_cost_q16(MBZ_FREQ_TOTAL), 0);
    assert_int_equal(mbz_cost_q16(1), 16u << 16);
    assert_int_equal(mbz_cost_q16(32768), 65536);
    /* monotone */
    for (uint32_t f = 1; f < MBZ_FREQ_TOTAL; f++)
        assert_true(mbz_cost_q16(f) >= mbz_cost_q16(f + 1));
}

static void test_freq_from_counts(void **state)
{
    (void)state;
    uint32_t c[MBZ_SYMBOLS];
    uint16_t f[MBZ_SYMBOLS];
    memset(c, 0, sizeof c);
    mbz_freq_from_counts(c, f);
    check_table(f);
    assert_int_equal(f[0], 256);
    for (int i = 0; i < MBZ_SYMBOLS; i++)
        c[i] = UINT32_MAX;
    mbz_freq_from_counts(c, f);
    check_table(f);
    memset(c, 0, sizeof c);
    c[65] = 1000000;
    mbz_freq_from_counts(c, f);
    check_table(f);
    assert_int_equal(f[65], MBZ_FREQ_TOTAL - 255);
    uint64_t rs = 42;
    for (int t = 0; t < 1000; t++) {
        for (int i = 0; i < MBZ_SYMBOLS; i++)
            c[i] = (uint32_t)(test_rand(&rs) >> (32 + t % 32));
        mbz_freq_from_counts(c, f);
        check_table(f);
    }
}

/* Encode syms with per-symbol tables, decode, compare; returns payload size. */
static size_t roundtrip(const uint16_t *tables, size_t ntab, const uint8_t *syms, size_t n,
                        uint64_t *ideal_q16)
{
    size_t cap = n + 64;
    uint8_t *out = malloc(cap);
    assert_non_null(out);
    mbz_rc_enc e;
    mbz_rc_enc_init(&e, out, cap);
    uint64_t ideal = 0;
    for (size_t i = 0; i < n; i++) {
        const uint16_t *f = tables + (i % ntab) * MBZ_SYMBOLS;
        mbz_rc_encode_sym(&e, f, syms[i]);
        ideal += mbz_cost_q16(f[syms[i]]);
    }
    size_t len = mbz_rc_enc_finish(&e);
    assert_true(len >= 1);
    /* exact-size copy: ASan catches any read past the payload */
    uint8_t *payload = malloc(len);
    memcpy(payload, out, len);
    free(out);
    mbz_rc_dec d;
    mbz_rc_dec_init(&d, payload, len);
    for (size_t i = 0; i < n; i++) {
        unsigned s = mbz_rc_decode_sym(&d, tables + (i % ntab) * MBZ_SYMBOLS);
        assert_false(d.error);
        assert_int_equal(s, syms[i]);
    }
    assert_true(mbz_rc_dec_check_end(&d));
    free(payload);
    if (ideal_q16)
        *ideal_q16 = ideal;
    return len;
}

static void test_roundtrip_random_tables(void **state)
{
    (void)state;
    enum { NTAB = 64, N = 50000 };
    uint16_t *tables = malloc(NTAB * MBZ_SYMBOLS * sizeof *tables);
    uint8_t *syms = malloc(N);
    uint32_t c[MBZ_SYMBOLS];
    uint64_t rs = 7;
    for (int t = 0; t < NTAB; t++) {
        for (int i = 0; i < MBZ_SYMBOLS; i++) /* mix of flat, skewed and sparse tables */
            c[i] = (uint32_t)(test_rand(&rs) >> (40 + (t % 24))) * (test_rand(&rs) % 4 == 0);
        mbz_freq_from_counts(c, tables + t * MBZ_SYMBOLS);
        check_table(tables + t * MBZ_SYMBOLS);
    }
    for (size_t i = 0; i < N; i++) {
        const uint16_t *f = tables + (i % NTAB) * MBZ_SYMBOLS;
        /* include the least probable symbols regularly */
        syms[i] = i % 97 == 0 ? (uint8_t)(test_rand(&rs) & 0xFF) : (uint8_t)draw(f, &rs);
    }
    roundtrip(tables, NTAB, syms, N, NULL);
    /* extreme tables: all mass but 255 on one symbol, coding the rare ones */
    uint16_t ext[MBZ_SYMBOLS];
    for (int i = 0; i < MBZ_SYMBOLS; i++)
        ext[i] = 1;
    ext[200] = MBZ_FREQ_TOTAL - 255;
    for (size_t i = 0; i < N; i++)
        syms[i] = (uint8_t)(i % 3 ? 200 : i % 256);
    roundtrip(ext, 1, syms, N, NULL);
    /* very short messages */
    for (size_t n = 1; n < 20; n++)
        roundtrip(tables, NTAB, syms, n, NULL);
    free(tables);
    free(syms);
}

static double overhead(const uint16_t *table, const uint8_t *syms, size_t n, size_t *len_out)
{
    uint64_t ideal_q16;
    size_t len = roundtrip(table, 1, syms, n, &ideal_q16);
    double ideal_bits = (double)ideal_q16 / 65536.0;
    double ov = ((double)len * 8.0 - ideal_bits) / ideal_bits;
    printf("# %zu symbols: ideal %.1f bytes, coded %zu bytes, overhead %.5f%%\n", n,
           ideal_bits / 8.0, len, ov * 100.0);
    *len_out = len;
    return ov;
}

static void test_overhead(void **state)
{
    (void)state;
    size_t n, len;
    uint8_t *text = read_corpus("alice29.txt", &n);
    assert_true(n > 100000);
    uint32_t c[MBZ_SYMBOLS] = { 0 };
    for (size_t i = 0; i < n; i++)
        c[text[i]]++;
    uint16_t f[MBZ_SYMBOLS];
    mbz_freq_from_counts(c, f);
    /* order-0 statistics of a real text: ~4.6 bits/byte */
    assert_true(overhead(f, text, n, &len) < 0.001 / 10);

    /* skewed: 92% on one symbol; 300000 symbols drawn from the table */
    enum { N = 300000 };
    uint8_t *syms = malloc(N);
    uint64_t rs = 99;
    for (int i = 0; i < MBZ_SYMBOLS; i++)
        f[i] = 21;
    f[32] = (uint16_t)(MBZ_FREQ_TOTAL - 255 * 21);
    for (size_t i = 0; i < N; i++)
        syms[i] = (uint8_t)draw(f, &rs);
    assert_true(overhead(f, syms, N, &len) < 0.001 / 10);

    /* highly skewed: 65281/65536 on one symbol (0.0056 bits) over 2 MB */
    enum { M = 2000000 };
    uint8_t *many = malloc(M);
    for (int i = 0; i < MBZ_SYMBOLS; i++)
        f[i] = 1;
    f[0] = MBZ_FREQ_TOTAL - 255;
    for (size_t i = 0; i < M; i++)
        many[i] = (uint8_t)draw(f, &rs);
    assert_true(overhead(f, many, M, &len) < 0.001);
    free(many);
    free(syms);
    free(text);
}

/* Garbage must decode without reading out of bounds, and always terminate. */
static void test_garbage(void **state)
{
    (void)state;
    uint64_t rs = 5;
    uint16_t f[MBZ_SYMBOLS];
    uint32_t c[MBZ_SYMBOLS];
    for (int i = 0; i < MBZ_SYMBOLS; i++)
        c[i] = 1 + (uint32_t)(i * i);
    mbz_freq_from_counts(c, f);
    int errors = 0, bad_end = 0;
    for (int t = 0; t < 200; t++) {
        size_t len = (t % 2 ? 8 : 1) + test_rand(&rs) % 64;
        uint8_t *g = malloc(len);
        for (size_t i = 0; i < len; i++)
            g[i] = t % 2 ? 0xFF : (uint8_t)test_rand(&rs);
        mbz_rc_dec d;
        mbz_rc_dec_init(&d, g, len);
        for (int i = 0; i < 5000 && !d.error; i++)
            mbz_rc_decode_sym(&d, f);
        errors += d.error;
        bad_end += !mbz_rc_dec_check_end(&d);
        free(g);
    }
    /* all-0xFF payloads point past the table: the decoder must notice */
    assert_true(errors >= 100);
    /* a short payload decoded for 5000 symbols reads far more than it holds */
    assert_int_equal(bad_end, 200);
}

/* Output capacity: overflow is reported, never written past. */
static void test_overflow(void **state)
{
    (void)state;
    uint16_t f[MBZ_SYMBOLS];
    for (int i = 0; i < MBZ_SYMBOLS; i++)
        f[i] = 256;
    uint8_t out[16];
    memset(out, 0xAA, sizeof out);
    mbz_rc_enc e;
    mbz_rc_enc_init(&e, out, 8);
    for (int i = 0; i < 100; i++)
        mbz_rc_encode_sym(&e, f, (unsigned)i);
    assert_int_equal(mbz_rc_enc_finish(&e), 0);
    for (int i = 8; i < 16; i++)
        assert_int_equal(out[i], 0xAA);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log2),
        cmocka_unit_test(test_freq_from_counts),
        cmocka_unit_test(test_roundtrip_random_tables),
        cmocka_unit_test(test_overhead),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
