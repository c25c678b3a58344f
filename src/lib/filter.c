/*
 * filter.c - reversible per-block filters (filter.h; doc/format.md, "Filters").
 */
#include "config.h"
#include "filter.h"
#include "internal.h"

/* v in [-2^24, 2^24) as a signed 32-bit number: top byte 0x00 or 0xFF */
static int near(uint32_t v)
{
    return ((v + 0x01000000u) & 0xFE000000u) == 0;
}

/* bits 0-24 of v, with bit 24 copied into bits 25-31 */
static uint32_t sext25(uint32_t v)
{
    v &= 0x01FFFFFFu;
    return v & 0x01000000u ? v | 0xFE000000u : v;
}

/* The position of the next branch opcode (E8 or E9) at or after i whose operand fits
 * in buf[0 .. n-1], or n if none: the one walk of the rule (filter.h), which the
 * filter and the choice share. After a branch at j the walk goes on at j + 5. */
static size_t next_branch(const uint8_t *buf, size_t n, size_t i)
{
    while (i + 5 <= n && (buf[i] & 0xFE) != 0xE8)
        i++;
    return i + 5 <= n ? i : n;
}

/* dir +1 encodes, -1 decodes (unsigned arithmetic: wraps, then sext25 keeps 25 bits) */
static void x86(uint8_t *buf, size_t n, int dir)
{
    for (size_t i = next_branch(buf, n, 0); i < n; i = next_branch(buf, n, i + 5)) {
        uint32_t v = mbz_get_le32(buf + i + 1);
        if (near(v)) {
            uint32_t at = (uint32_t)(i + 5);
            mbz_put_le32(buf + i + 1, sext25(dir > 0 ? v + at : v - at));
        }
    }
}

void mbz_filter_x86_encode(uint8_t *buf, size_t n)
{
    x86(buf, n, 1);
}

void mbz_filter_x86_decode(uint8_t *buf, size_t n)
{
    x86(buf, n, -1);
}

/* Machine code calls its own functions: count the CALLs (E8) whose near target
 * lies inside the block. In x86 and x86-64 code measured on Debian's libraries and
 * programs they are 0.2-1.5% of the bytes; in text there are none (a UTF-8 E8 is
 * followed by continuation bytes, never a near operand), and in tables, spreadsheets
 * and pictures under 0.03%. Choose the filter at 0.1% (and at least 16). */
int mbz_filter_choose(const uint8_t *in, size_t n)
{
    size_t calls = 0;
    for (size_t i = next_branch(in, n, 0); i < n; i = next_branch(in, n, i + 5)) {
        uint32_t v = mbz_get_le32(in + i + 1);
        uint32_t t = (uint32_t)(i + 5) + v; /* wraps below 0 to a huge value */
        if (in[i] == 0xE8 && near(v) && t < n)
            calls++;
    }
    return calls >= 16 && calls * 1024 >= n ? MBZ_FILTER_X86 : MBZ_FILTER_NONE;
}
