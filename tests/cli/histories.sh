#!/bin/sh
# CM frames across several histories (doc/format.md, "History"): level 1 starts a
# history every 16 blocks (4 MiB), compression codes histories on separate threads
# and decompression decodes them on separate threads; the output and the decoded
# bytes must not depend on -T, and damage in a later history is found.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/cli/lib.sh"

# about 5 MB of records: two histories at level 1 (4 MiB each)
awk 'BEGIN { for (i = 0; i < 210000; i++) printf "%d,record %d,%x\n", i, (i * 7919) % 1000, i * 13 }' >in
# sanitizer builds (MBZ_TEST_TIME_SCALE > 1) run several times slower: there only
# the two-thread paths, which are the ones with something to race
threads="1 2"
[ "${MBZ_TEST_TIME_SCALE:-1}" -gt 1 ] && threads=2
# (--no-index: the damage below is aimed at the last blocks, not at a seek index)
run 0 "level 1 -T2" mbz -1 -T2 --no-index -c in
cp "$T/.stdout" t1.mbz
if [ "$threads" != 2 ]; then
    run 0 "level 1 -T1" mbz -1 -T1 --no-index -c in
    same "compressed output does not depend on -T" "$T/.stdout" t1.mbz
fi
for t in $threads; do
    run 0 "decode -T$t" mbz -dc -T$t t1.mbz
    same "decoded with -T$t" "$T/.stdout" in
done
# flip a byte in the last part of the stream (inside the second history)
n=$(wc -c <t1.mbz)
off=$((n - 200))
cp t1.mbz bad.mbz
damage bad.mbz "$off"
run 1 "damage in the second history" mbz -t -T2 bad.mbz
stderr_one_line "damage: one line"
finish
