#!/bin/sh
# One history on two threads (block.c): with a spare thread, compression scores
# every other block of a history on a helper while the block before it is coded
# (mbz_block_ahead_start), and the second half of a lone CM block of 256 KiB or
# more (cm_pass), the base model starting there through its seek (predictor.h);
# the stage codes everything in order. The coded bytes must be those of one thread: -T1 and -T2 give
# identical files, which decode. With a generated tiny model (fast, also in
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
