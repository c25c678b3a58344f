/*
 * filter.h - reversible per-block filters applied before modelling (frame flag
 * MBZ_FLAG_FILTER; doc/format.md, "Filters"), library-internal.
 *
 * A filter rewrites a block's bytes into a form the models predict better and is
 * undone after decoding, before the block's checksum is checked (the checksum is
 * of the original bytes). The one filter so far is the x86 branch filter: the
 * 32-bit relative operand of each CALL (E8) and JMP (E9) becomes an absolute
 * target, so that the calls of one function, from wherever they are made, read as
 * the same bytes (as xz's BCJ x86 filter does; the rule below is ours and simpler).
 *
 * The rule (the format): scanning i = 0, 1, ... while i + 5 <= n, a byte E8 or E9 at
 * i takes the operand v = the 4 bytes at i + 1 (little-endian) and moves i to
 * i + 5; any other byte moves i by 1. Only an operand whose top byte is 0x00 or 0xFF
 * (v in [-2^24, 2^24) as a signed number: a near call or jump) is changed:
 *   encode: v' = sext25((v + i + 5) mod 2^25),  decode: v = sext25((v' - i - 5) mod 2^25)
 * where sext25 extends bit 24 into bits 25-31. Both directions keep the top byte in
 * {0x00, 0xFF} and never change an opcode byte, so the decoder visits the same
 * positions as the encoder, and decode(encode(x)) = x for every input.
 */
#ifndef MBZ_FILTER_H
#define MBZ_FILTER_H

#include <stddef.h>
#include <stdint.h>

/* Filter ids, the first byte of a modelled payload in a FILTER frame. */
enum {
    MBZ_FILTER_NONE = 0,
    MBZ_FILTER_X86 = 1,
    MBZ_FILTER_COUNT
};

/* The x86 branch filter, in place. */
void mbz_filter_x86_encode(uint8_t *buf, size_t n);
void mbz_filter_x86_decode(uint8_t *buf, size_t n);

/* The filter the encoder chooses for a block of n bytes (MBZ_FILTER_*): x86 when
 * the block has the near CALLs and JMPs of machine code (doc/format.md, "Filters"). */
int mbz_filter_choose(const uint8_t *in, size_t n);

#endif
