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
# default one in a build without it).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/cli/lib.sh"

MKMODEL=${MKMODEL:-$top_builddir/mkmodel}
[ -x "$MKMODEL" ] || { echo "SKIP: $MKMODEL is not built"; exit 77; }
"$MKMODEL" tiny.mbzm --tiny --seed 5 >/dev/null || { fail "mkmodel"; finish; }
cat "$top_srcdir/corpora/lcet10.txt" "$top_srcdir/corpora/plrabn12.txt" | head -c 300000 >in

# level 4: blocks of 256 KiB, so the first block (262144 bytes) is split
run 0 "tiny model, -4 -T1" mbz -4 -T1 --model tiny.mbzm -c in
cp "$T/.stdout" t1.mbz
run 0 "tiny model, -4 -T2" mbz -4 -T2 --model tiny.mbzm -c in
same "tiny model: -T2 (block split over two threads) == -T1" "$T/.stdout" t1.mbz
run 0 "tiny model: decode" mbz -dc -T2 --model tiny.mbzm t1.mbz
same "tiny model: decodes to the input" "$T/.stdout" in
# level 2: blocks of 64 KiB, every other one scored ahead on the helper while the
# block before it is coded (block.c, mbz_block_ahead_start); with a run of zeros
# and random bytes among them (blocks that are not modelled, next to ones that are)
run 0 "tiny model, -2 -T1" mbz -2 -T1 --model tiny.mbzm -c in
cp "$T/.stdout" t2.mbz
run 0 "tiny model, -2 -T2" mbz -2 -T2 --model tiny.mbzm -c in
same "tiny model: -2 -T2 (blocks scored ahead) == -2 -T1" "$T/.stdout" t2.mbz
run 0 "tiny model: -2 decode" mbz -dc -T2 --model tiny.mbzm t2.mbz
same "tiny model: -2 decodes to the input" "$T/.stdout" in
{ head -c 100000 in; head -c 70000 /dev/zero; gen_random 70000 /dev/stdout; tail -c 150000 in; } >mixed
run 0 "tiny model, mixed blocks, -2 -T1" mbz -2 -T1 --model tiny.mbzm -c mixed
cp "$T/.stdout" m1.mbz
run 0 "tiny model, mixed blocks, -2 -T2" mbz -2 -T2 --model tiny.mbzm -c mixed
same "tiny model: mixed blocks -T2 == -T1" "$T/.stdout" m1.mbz
run 0 "tiny model: mixed blocks decode" mbz -dc --model tiny.mbzm m1.mbz
same "tiny model: mixed blocks decode to the input" "$T/.stdout" mixed
# level 9: strided inference (two passes, each seeking: strided.c), one block
run 0 "tiny model, -9 -T1" mbz -9 -T1 --model tiny.mbzm -c in
cp "$T/.stdout" t9.mbz
run 0 "tiny model, -9 -T2" mbz -9 -T2 --model tiny.mbzm -c in
same "tiny model: -9 -T2 (strided, split) == -9 -T1" "$T/.stdout" t9.mbz
run 0 "tiny model: -9 decode" mbz -dc --model tiny.mbzm t9.mbz
same "tiny model: -9 decodes to the input" "$T/.stdout" in
# level 1: the stage alone, its contexts on the helper and its mixers here (cm.h,
# mbz_cm_fast_pass2) for each block of one history; with blocks that are not
# modelled among them, and a short last block
run 0 "level 1 -T1" mbz -1 -T1 -c in
cp "$T/.stdout" l1.mbz
run 0 "level 1 -T2" mbz -1 -T2 -c in
same "level 1: -T2 (stage on two threads) == -T1" "$T/.stdout" l1.mbz
run 0 "level 1: decode" mbz -dc l1.mbz
same "level 1: decodes to the input" "$T/.stdout" in
{ cat mixed; head -c 20000 in; } >mixed1
run 0 "level 1, mixed blocks, -T1" mbz -1 -T1 -c mixed1
cp "$T/.stdout" lm1.mbz
run 0 "level 1, mixed blocks, -T2" mbz -1 -T2 -c mixed1
same "level 1: mixed blocks -T2 == -T1" "$T/.stdout" lm1.mbz
run 0 "level 1: mixed blocks decode" mbz -dc lm1.mbz
same "level 1: mixed blocks decode to the input" "$T/.stdout" mixed1

# a model with cross-patch attention (no seek): the lone block is not split,
# blocks of a history are still scored ahead (whole, by one thread)
"$MKMODEL" xr.mbzm --tiny --seed 6 --cross-patch 2 >/dev/null || { fail "mkmodel --cross-patch"; finish; }
run 0 "cross-patch model, -4 -T1" mbz -4 -T1 --model xr.mbzm -c in
cp "$T/.stdout" x1.mbz
run 0 "cross-patch model, -4 -T2" mbz -4 -T2 --model xr.mbzm -c in
same "cross-patch model: -4 -T2 == -T1" "$T/.stdout" x1.mbz
run 0 "cross-patch model, -2 -T2" mbz -2 -T2 --model xr.mbzm -c in
cp "$T/.stdout" x2.mbz
run 0 "cross-patch model, -2 -T1" mbz -2 -T1 --model xr.mbzm -c in
same "cross-patch model: -2 -T2 == -T1" "$T/.stdout" x2.mbz
run 0 "cross-patch model: decode" mbz -dc -T2 --model xr.mbzm x1.mbz
same "cross-patch model: decodes to the input" "$T/.stdout" in

if [ "${MBZ_TEST_TIME_SCALE:-1}" -eq 1 ] && mbz -V | grep -q '^default model: [0-9a-f]* megabyte'; then
    head -c 270000 in >in2
    run 0 "built-in model, -4 -T1" mbz -4 -T1 -c in2
    cp "$T/.stdout" d1.mbz
    run 0 "built-in model, -4 -T2" mbz -4 -T2 -c in2
    same "built-in model: -4 -T2 (block split over two threads) == -T1" "$T/.stdout" d1.mbz
    run 0 "built-in model: decode" mbz -dc d1.mbz
    same "built-in model: decodes to the input" "$T/.stdout" in2
fi
finish
