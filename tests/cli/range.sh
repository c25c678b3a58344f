#!/bin/sh
# mbcat --offset/--length (src/cli/range.c, mbz_seekable_* in src/lib/seekable.c):
# a range of the decompressed content equals the same range of a full
# decompression, from a file (random access) and from a pipe (decoded from the
# start), at block and history boundaries (doc/format.md, "History": level 1
# starts a history every 16 blocks of 256 KiB), across concatenated frames and
# stored, run-length and modelled blocks; a damaged block is reported when a range
# needs it and not otherwise.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/cli/lib.sh"

# about 4.4 MB of records: two histories at level 1, the second one block long
awk 'BEGIN { for (i = 0; i < 185000; i++) printf "%d,record %d,%x\n", i, (i * 7919) % 1000, i * 13 }' >rec
gen_random 300000 rnd
head -c 70000 /dev/zero >zero
cat rec rnd zero >one
run 0 "compress" mbz -1 -c one
cp "$T/.stdout" one.mbz
head -c 5000 "$CORPORA/alice29.txt" >small
run 0 "compress a second frame" mbz -1 -c small
cat one.mbz "$T/.stdout" >all.mbz
cat one small >all
n=$(wc -c <all)
H=4194304        # the second history starts here (16 x 256 KiB)
B=262144

# expect OFFSET LENGTH: the range, read from the file
expect() {
    tail -c +$(($1 + 1)) all | head -c "$2" >want
    run 0 "file: --offset=$1 --length=$2" mbz -dc --offset="$1" --length="$2" all.mbz
    same "file: bytes $1 +$2" "$T/.stdout" want
}
expect 0 100
expect $((B - 3)) 10                 # across the first block boundary
expect $((3 * B + 17)) 1000          # inside the history: blocks 1..4 are decoded
expect $((H - 5)) 10                 # across the history boundary
expect $((H + 1000)) 50000           # the second history, then stored and run-length
expect $(( $(wc -c <rec) - 7 )) 300020
expect $((n - 5100)) 200             # across the frame boundary
expect $((n - 1)) 10                 # the last byte
expect "$n" 10                       # at the end: nothing

# standard input that is a file is read at offsets too
RUN_STDIN=all.mbz run 0 "stdin file: --offset=$((B - 3)) --length=10" mbz -dc --offset=$((B - 3)) --length=10
tail -c +$((B - 2)) all | head -c 10 >want
same "stdin file: bytes $((B - 3)) +10" "$T/.stdout" want

# pipe: decoded from the start, only the range written
cat all.mbz | mbz -dc --offset=$((B - 3)) --length=10 >out 2>"$T/.stderr"
check "pipe: exit status 0" [ $? -eq 0 ]
same "pipe: bytes $((B - 3)) +10" out want
run 0 "compress the second frame again" mbz -1 -c small
cat "$T/.stdout" | mbz -dc --offset=4900 >out 2>"$T/.stderr"
tail -c 100 small >want
same "pipe: --offset alone reads to the end" out want

# mbcat by name; suffixes
alias_dir
run 0 "mbcat --offset=1k --length=1KiB" "$BIN/mbcat" --offset=1k --length=1KiB all.mbz
tail -c +1025 all | head -c 1024 >want
same "mbcat: KiB suffixes" "$T/.stdout" want

# damage in the second frame's block: reported when a range needs it
cp all.mbz bad.mbz
off=$(( $(wc -c <all.mbz) - 21 - 30 ))
damage bad.mbz "$off"
run 1 "damaged block: the range that needs it fails" mbz -dc --offset=$((n - 10)) --length=10 bad.mbz
stderr_one_line "damaged block: one line"
run 0 "damaged block: a range before it still reads" mbz -dc --offset=0 --length=1000 bad.mbz
head -c 1000 all >want
same "damaged block: bytes before it" "$T/.stdout" want

# truncated, not a stream, usage
head -c 1000 all.mbz >trunc.mbz
run 1 "truncated stream" mbz -dc --offset=0 --length=10 trunc.mbz
stderr_one_line "truncated: one line"
run 1 "not an mbzip stream" mbz -dc --offset=0 all
stderr_has "not a stream: said" 'not an mbzip stream'
run 1 "--offset without -dc" mbz -d --offset=5 all.mbz
run 1 "--offset with compression" mbz -c --offset=5 all
run 1 "invalid byte count" mbz -dc --offset=5x all.mbz
stderr_has "invalid byte count: said" 'invalid byte count'
run 1 "negative byte count" mbz -dc --length=-1 all.mbz
finish
