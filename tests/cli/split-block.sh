#!/bin/sh
# One block on two threads (block.c, cm_pass): with a spare thread, compression
# scores the second half of a CM block of 256 KiB or more on a helper, the base
# model starting there through its seek (predictor.h); the stage then codes both
# halves in order. The coded bytes must be those of one thread: -T1 and -T2 give
# identical files, which decode. With a generated tiny model (fast, also in
# sanitizer builds, where the two threads are what is worth checking) and, when
# built in and not under sanitizers, the default model.
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
# level 9: strided inference (two passes, each seeking: strided.c), one block
run 0 "tiny model, -9 -T1" mbz -9 -T1 --model tiny.mbzm -c in
cp "$T/.stdout" t9.mbz
run 0 "tiny model, -9 -T2" mbz -9 -T2 --model tiny.mbzm -c in
same "tiny model: -9 -T2 (strided, split) == -9 -T1" "$T/.stdout" t9.mbz
run 0 "tiny model: -9 decode" mbz -dc --model tiny.mbzm t9.mbz
same "tiny model: -9 decodes to the input" "$T/.stdout" in

if [ "${MBZ_TEST_TIME_SCALE:-1}" -eq 1 ] && mbz -V | grep -q '^default model: [0-9a-f]* megabyte'; then
    head -c 270000 in >in2
    run 0 "default model, -4 -T1" mbz -4 -T1 -c in2
    cp "$T/.stdout" d1.mbz
    run 0 "default model, -4 -T2" mbz -4 -T2 -c in2
    same "default model: -T2 (block split over two threads) == -T1" "$T/.stdout" d1.mbz
    run 0 "default model: decode" mbz -dc d1.mbz
    same "default model: decodes to the input" "$T/.stdout" in2
fi
finish
