#!/bin/sh
# The seek index (doc/format.md, "Seek index"; frame version 8 or later, flag INDEX): when
# mbzip writes one (--index, --no-index, and by default when the output is a file or
# the input's size is known, unless the input is 1 MiB or less), that it changes
# nothing but the bytes after the end mark, that random access reads through it, and
# that a damaged one is noticed: a wrong entry is a warning (exit 2, the content is
# complete and checked on its own), a foot that cannot be found an error.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/cli/lib.sh"

# version and flags bytes of a stream
version() { od -An -tu1 -j4 -N1 "$1" | tr -d ' '; }
flags() { od -An -tu1 -j5 -N1 "$1" | tr -d ' '; }
indexed() { [ "$(version "$1")" -ge 8 ] && [ $(( $(flags "$1") & 64 )) -eq 64 ]; }
# a MEDIA frame (version 10 and later: 12 since the audio model's revision 2) without the flag
unindexed() { [ "$(version "$1")" -ge 10 ] && [ $(( $(flags "$1") & 64 )) -eq 0 ]; }

# 1.6 MB: random bytes (stored), zeros (run-length) and records (modelled), level 1
gen_random 600000 rnd
awk 'BEGIN { for (i = 0; i < 20000; i++) printf "%d,item %d,%x\n", i, (i * 7919) % 1000, i * 13 }' >rec
head -c 600000 /dev/zero >zero
cat rnd rec zero rnd >big
head -c 5000 "$CORPORA/alice29.txt" >small

run 0 "compress a 1.6 MB file" mbz -1 -k big
check "a file gets an index by default (version $(version big.mbz), flags $(flags big.mbz))" indexed big.mbz
run 0 "compress it to stdout (a file)" mbz -1 -c big
cp "$T/.stdout" big.c.mbz
same "to stdout: the same bytes" big.c.mbz big.mbz
run 0 "--no-index" mbz -1 --no-index -c big
cp "$T/.stdout" big.n.mbz
check "--no-index: no index (version $(version big.n.mbz), flags $(flags big.n.mbz))" unindexed big.n.mbz
# the index is all that differs: after the end mark, 9 bytes per block, 4 and 28
nb=$(mbz -lv big.mbz | awk 'NR == 2 { print $5 }')
check "index size: 9 x $nb blocks + 32" [ $(( $(wc -c <big.mbz) - $(wc -c <big.n.mbz) )) -eq $((9 * nb + 32)) ]
head -c $(( $(wc -c <big.n.mbz) )) big.mbz | tail -c +21 >a
tail -c +21 big.n.mbz >b
same "the frames differ only in the header and the index" a b
cat big | mbz -1 -c | cat >big.p.mbz
check "pipe to pipe: no index" unindexed big.p.mbz
run 0 "a small file" mbz -1 -c small
cp "$T/.stdout" small.mbz
check "1 MiB or less: no index" unindexed small.mbz
run 0 "--index on a small file" mbz -1 --index -c small
cp "$T/.stdout" small.i.mbz
check "--index: an index" indexed small.i.mbz

for f in big.mbz small.i.mbz; do
    run 0 "$f: -t" mbz -t "$f"
    stderr_empty "$f: -t quiet"
    run 0 "$f: -dc" mbz -dc "$f"
    same "$f: round trip" "$T/.stdout" "${f%%.*}"
done
run 0 "-l reads an indexed file (from its index)" mbz -lv big.mbz
awk 'NR == 2 { $1 = ""; $3 = ""; $4 = ""; $NF = ""; print }' "$T/.stdout" >l-index
run 0 "-l of the same without an index (a scan)" mbz -lv big.n.mbz
awk 'NR == 2 { $1 = ""; $3 = ""; $4 = ""; $NF = ""; print }' "$T/.stdout" >l-scan
same "-l: the same sizes, blocks, frames, level and model" l-index l-scan

# ranges through the index equal ranges of the content
n=$(wc -c <big)
for r in "0 100" "599990 20" "700000 300000" "$((n - 10)) 100"; do
    set -- $r
    tail -c +$(($1 + 1)) big | head -c "$2" >want
    run 0 "--offset=$1 --length=$2" mbz -dc --offset="$1" --length="$2" big.mbz
    same "bytes $1 +$2" "$T/.stdout" want
done

# concatenated: indexed, plain, indexed
cat big.mbz small.mbz big.mbz >cat.mbz
cat big small big >cat
run 0 "concatenated frames, some indexed: -dc" mbz -dc cat.mbz
same "concatenated: round trip" "$T/.stdout" cat
off=$((n + 4990))
tail -c +$((off + 1)) cat | head -c 20 >want
run 0 "concatenated: a range across frames" mbz -dc --offset=$off --length=20 cat.mbz
same "concatenated: range" "$T/.stdout" want

# damage: a flipped bit in the first entry's content size (the index's own check
# fails): a warning, the content as it was
cp big.mbz dmg.mbz
pos=$(( $(wc -c <big.n.mbz) + 1 ))
printf '\001' | dd of=dmg.mbz bs=1 seek=$pos conv=notrunc 2>/dev/null
run 2 "damaged entry: -t warns (exit 2)" mbz -t dmg.mbz
stderr_has "damaged entry: says so" "seek index.*ignored"
run 2 "damaged entry: -dc warns" mbz -dc dmg.mbz
same "damaged entry: the content is whole" "$T/.stdout" big
run 2 "damaged entry: a range still reads (the walk), with a warning" mbz -dc --offset=700000 --length=1000 dmg.mbz
tail -c +700001 big | head -c 1000 >want
same "damaged entry: range" "$T/.stdout" want
# the foot's magic damaged: the frame's end is unknown: an error
cp big.mbz dmg2.mbz
printf 'Q' | dd of=dmg2.mbz bs=1 seek=$(( $(wc -c <big.mbz) - 8 )) conv=notrunc 2>/dev/null
run 1 "damaged foot: -t fails" mbz -t dmg2.mbz
stderr_one_line "damaged foot: one line"
stderr_has "damaged foot: says so" "seek index"
finish
