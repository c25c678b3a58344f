#!/bin/sh
# One history on two threads (block.c, api.c compress_worker): with a spare thread,
# compression scores the next block of a history on a helper while a block is
# coded (mbz_block_ahead_start), the coding thread taking over the end of that
# scoring when it is done first (mbz_block_ahead_wait; a history's first block is
# scored by both threads that way), and the second part of a lone CM block of 256
# KiB or more (cm_pass), the base model starting inside a block through its seek
# (predictor.h); the stage codes everything in order. The coded bytes must be
# those of one thread: -T1 and -T2 give identical files, which decode. Level 1
# (no model) runs the stage's contexts and its mixers on two threads. A model
# with cross-patch attention cannot seek: its blocks are not split (compression
# with two threads failed before). With a generated tiny model (fast, also in
# sanitizer builds, where the two threads are what is worth checking) and, when
# built in and not under sanitizers, level 4's model (the fast model, or the
# default one in a build without it), and the default model's decoding with its
# global steps on two threads (megabyte_team.c; test_megabyte compares the tables).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/cli/lib.sh"

MKMODEL=${MKMODEL:-$top_builddir/mkmodel}
[ -x "$MKMODEL" ] || { echo "SKIP: $MKMODEL is not built"; exit 77; }
"$MKMODEL" tiny.mbzm --tiny --seed 5 >/dev/null || { fail "mkmodel"; finish; }
cat "$top_srcdir/corpora/lcet10.txt" "$top_srcdir/corpora/plrabn12.txt" | head -c 300000 >in

# both_ways NAME FILE LEVEL [MODEL-OPTION...]: FILE compressed at LEVEL on one
# thread and on two gives the same bytes, which decode (two threads) to FILE
both_ways() {
    name=$1 file=$2 level=$3
    shift 3
    run 0 "$name, -T1" mbz "$level" -T1 "$@" -c "$file"
    cp "$T/.stdout" one.mbz
    run 0 "$name, -T2" mbz "$level" -T2 "$@" -c "$file"
    same "$name: -T2 == -T1" "$T/.stdout" one.mbz
    run 0 "$name: decode" mbz -dc -T2 "$@" one.mbz
    same "$name: decodes to the input" "$T/.stdout" "$file"
}

# level 4: blocks of 256 KiB, so the first block (262144 bytes) is split
both_ways "tiny model, -4" in -4 --model tiny.mbzm
# level 2: blocks of 64 KiB, each scored on the helper while the block before it
# is coded (block.c, mbz_block_ahead_start); with a run of zeros and random bytes
# among them (blocks that are not modelled, next to ones that are)
both_ways "tiny model, -2" in -2 --model tiny.mbzm
{ head -c 100000 in; head -c 70000 /dev/zero; gen_random 70000 /dev/stdout; tail -c 150000 in; } >mixed
both_ways "tiny model, mixed blocks, -2" mixed -2 --model tiny.mbzm
# level 9: strided inference (two passes, each seeking: strided.c), one block
both_ways "tiny model, -9 (strided)" in -9 --model tiny.mbzm
# level 1: the stage alone, its contexts on the helper and its mixers here (cm.h,
# mbz_cm_fast_pass2) for each block of one history; with blocks that are not
# modelled among them, and a short last block
both_ways "level 1" in -1
{ cat mixed; head -c 20000 in; } >mixed1
both_ways "level 1, mixed blocks" mixed1 -1

# a model with cross-patch attention (no seek): the lone block is not split,
# blocks of a history are still scored ahead (whole, by one thread)
"$MKMODEL" xr.mbzm --tiny --seed 6 --cross-patch 2 >/dev/null || { fail "mkmodel --cross-patch"; finish; }
both_ways "cross-patch model, -4" in -4 --model xr.mbzm
both_ways "cross-patch model, -2" in -2 --model xr.mbzm

if [ "${MBZ_TEST_TIME_SCALE:-1}" -eq 1 ] && mbz -V | grep -q '^default model: [0-9a-f]* megabyte'; then
    head -c 270000 in >in2
    both_ways "built-in model, -4 (split)" in2 -4
    # decompression: the default model's global steps split over a helper
    # (megabyte_team.c) for a block of 32 KiB or more; one thread and two decode
    # the same bytes
    head -c 40000 in >in5
    run 0 "default model, -5" mbz -5 -c in5
    cp "$T/.stdout" five.mbz
    run 0 "default model, -5: decode, -T1" mbz -dc -T1 five.mbz
    same "default model, -5: -T1 decodes to the input" "$T/.stdout" in5
    run 0 "default model, -5: decode, -T2" mbz -dc -T2 five.mbz
    same "default model, -5: -T2 decodes to the input" "$T/.stdout" in5
fi
finish
