/*
 * test_filter.c - the block filters (src/lib/filter.c; doc/format.md, "Filters"):
 *   - the x86 branch filter is its own exact inverse's partner: decode(encode(x))
 *     = x for random buffers dense in E8/E9 bytes and operands at every edge of the
 *     near range (0x00FFFFFF, 0xFF000000, 0x01000000, 0xFEFFFFFF), for every length
 *     (operands cut by the end of the buffer);
 *   - the rule: a near CALL's operand becomes its absolute target (a worked
 *     example), a far one and a lone E8 at the end are left alone;
 *   - golden: xxh64 of the filtered form of a fixed buffer (pins the format);
 *   - the choice: synthetic machine code (calls into the block) is filtered, text,
 *     random bytes and records holding E8 bytes are not.
 * Plain C test: exit 0 = pass, 1 = fail.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "filter.h"

#include "check.h"

#define GOLDEN_X86 0xc50d3c8b1c88c633ull

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng >> 33);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int k = 0; k < 4; k++)
        p[k] = (uint8_t)(v >> (8 * k));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* random bytes, one in four an E8 or E9, operands often at the near range's edges */
static void fill(uint8_t *b, size_t n)
{
    static const uint32_t edges[] = { 0x00FFFFFFu, 0xFF000000u, 0x01000000u, 0xFEFFFFFFu,
                                      0u, 0xFFFFFFFFu, 0x00800000u, 0xFF7FFFFFu };
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)rnd();
    for (size_t i = 0; i + 5 <= n; i += 1 + rnd() % 8) {
        if (rnd() % 4)
            continue;
        b[i] = (uint8_t)(0xE8 + (rnd() & 1));
        uint32_t r = rnd();
        put32(b + i + 1, r % 3 == 0 ? edges[r % 8] : r % 3 == 1 ? rnd() % 0x02000000u - 0x01000000u : rnd());
    }
}

static void roundtrip_test(void)
{
    enum { N = 4096 };
    static uint8_t a[N], b[N];
    int changed = 0;
    for (int rep = 0; rep < 200; rep++) {
        size_t n = rep < 64 ? (size_t)rep : 1 + rnd() % N;
        fill(a, n);
        memcpy(b, a, n);
        mbz_filter_x86_encode(b, n);
        changed += n && memcmp(a, b, n) != 0;
        mbz_filter_x86_decode(b, n);
        CHECK(memcmp(a, b, n) == 0, "x86 filter: decode(encode(x)) != x (length %zu, round %d)", n, rep);
        /* and the other way round: encode(decode(y)) = y */
        memcpy(b, a, n);
        mbz_filter_x86_decode(b, n);
        mbz_filter_x86_encode(b, n);
        CHECK(memcmp(a, b, n) == 0, "x86 filter: encode(decode(y)) != y (length %zu, round %d)", n, rep);
    }
    CHECK(changed > 100, "the filter changed only %d of 200 buffers", changed);
    printf("x86 round trips: 400, %d buffers changed by the filter\n", changed);
}

static void rule_test(void)
{
    uint8_t b[32];
    memset(b, 0x90, sizeof b);
    b[3] = 0xE8;
    put32(b + 4, 0x00000010u);      /* call +16 from the end of the instruction (8): 24 */
    b[10] = 0xE9;
    put32(b + 11, 0xFFFFFFF0u);     /* jmp -16 from 15: -1 -> 0x01FFFFFF sext25 = -1 */
    b[17] = 0xE8;
    put32(b + 18, 0x12345678u);     /* far: left alone */
    b[28] = 0xE8;                   /* operand cut by the end: left alone */
    uint8_t c[32];
    memcpy(c, b, sizeof b);
    mbz_filter_x86_encode(c, sizeof c);
    CHECK(get32(c + 4) == 24, "near call: %08x, expected 24", get32(c + 4));
    CHECK(get32(c + 11) == 0xFFFFFFFFu, "near jmp: %08x, expected ffffffff", get32(c + 11));
    CHECK(get32(c + 18) == 0x12345678u, "far call changed: %08x", get32(c + 18));
    CHECK(memcmp(c + 22, b + 22, 10) == 0, "bytes after the last operand changed");
    CHECK(c[3] == 0xE8 && c[10] == 0xE9 && c[17] == 0xE8, "an opcode byte changed");
}

static void golden_test(void)
{
    enum { N = 8192 };
    static uint8_t b[N];
    rng = 42;
    fill(b, N);
    mbz_filter_x86_encode(b, N);
    uint64_t h = XXH64(b, N, 0);
    printf("golden: x86 filter %016llx\n", (unsigned long long)h);
    CHECK(h == GOLDEN_X86, "golden (x86) %016llx != %016llx", (unsigned long long)h,
          (unsigned long long)GOLDEN_X86);
}

/* Synthetic machine code: runs of short instructions and calls to 40 functions in
 * the block. */
static void code(uint8_t *b, size_t n)
{
    size_t fn[40];
    for (int k = 0; k < 40; k++)
        fn[k] = rnd() % n;
    for (size_t i = 0; i < n;) {
        if (rnd() % 12 == 0 && i + 5 <= n) {
            b[i] = 0xE8;
            put32(b + i + 1, (uint32_t)(fn[rnd() % 40] - (i + 5)));
            i += 5;
        } else {
            b[i++] = (uint8_t)(0x40 + rnd() % 0x40);
        }
    }
}

static void choose_test(void)
{
    enum { N = 65536 };
    static uint8_t b[N];
    code(b, N);
    CHECK(mbz_filter_choose(b, N) == MBZ_FILTER_X86, "synthetic code not filtered");
    for (size_t i = 0; i < N; i++)
        b[i] = (uint8_t)("the quick brown fox jumps over the lazy dog. "[i % 45]);
    CHECK(mbz_filter_choose(b, N) == MBZ_FILTER_NONE, "text filtered");
    for (size_t i = 0; i < N; i++)
        b[i] = (uint8_t)rnd();
    CHECK(mbz_filter_choose(b, N) == MBZ_FILTER_NONE, "random bytes filtered");
    /* 24-byte records, one in 64 with an E8 and a small number (spreadsheet-like,
     * as dense as in kennedy.xls): their "targets" land in the block, but they are
     * under the 0.1% of the bytes that machine code has */
    memset(b, 0, N);
    for (size_t i = 0; i + 24 <= N; i += 24 * 64) {
        b[i] = 0xE8;
        put32(b + i + 1, (uint32_t)(rnd() % 1000));
    }
    CHECK(mbz_filter_choose(b, N) == MBZ_FILTER_NONE, "records filtered");
    CHECK(mbz_filter_choose(b, 4) == MBZ_FILTER_NONE, "4 bytes filtered");
}

int main(void)
{
    roundtrip_test();
    rule_test();
    golden_test();
    choose_test();
    return failures ? 1 : 0;
}
