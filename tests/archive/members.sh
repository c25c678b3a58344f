#!/bin/sh
# Part of an archive: mbzip -x ARCHIVE MEMBER... and mbzip -l -r ARCHIVE [MEMBER]...
# (src/cli/archive_read.c). From a regular file they go through random access
# (mbz_seekable, mbz.h): libarchive skips the data of the other entries and only
# the blocks that hold tar headers and the wanted members are decoded, so damage
# in another member's block does not stop them (mbzip -t still finds it). From a
# pipe the stream is decoded and the other entries read through. A member that is
# not in the archive is an error, after the others are extracted.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/archive/lib.sh"

make_tree src 300000
head -c 600000 /dev/urandom >src/sub/media.bin     # stored blocks at level 1
printf 'the last one\n' >src/zz-last.txt
run 0 "mbzip -r" mbz -1 -r src

# listing: random access gives the same lines as a full decode (stdin from a pipe)
run 0 "-lv -r from the file" mbz -lv -r src.tar.mbz
cp "$T/.stdout" list-file
cat src.tar.mbz | mbz -lv -r - >list-pipe 2>"$T/.stderr"
check "-lv -r from a pipe: exit status 0" [ $? -eq 0 ]
same "listing from the file = listing from a pipe" list-file list-pipe
check "listing has every entry (20)" [ "$(wc -l <list-file)" -eq 20 ]
RUN_STDIN=src.tar.mbz run 0 "-l -r from stdin redirected from the file" mbz -lv -r -
same "listing from redirected stdin" "$T/.stdout" list-file
run 0 "-l -r with members lists those" mbz -l -r src.tar.mbz src/zz-last.txt src/sub/deeper
check "-l -r members: 6 lines" [ "$(wc -l <"$T/.stdout")" -eq 6 ]
stdout_has "-l -r members: the directory's contents" '^src/sub/deeper/deepest/private$'

# extraction of members
mkdir x1
run 0 "-x ARCHIVE FILE DIR" mbz -x -C x1 src.tar.mbz src/zz-last.txt "./src/with space/"
same "member file extracted" x1/src/zz-last.txt src/zz-last.txt
same "member directory's file extracted" "x1/src/with space/a file.txt" "src/with space/a file.txt"
absent "other entries are not" x1/src/alice.txt
absent "other entries are not (media)" x1/src/sub/media.bin
mkdir x2
run 1 "-x with a member that is not there" mbz -x -C x2 src.tar.mbz src/nothing src/zz-last.txt
stderr_has "the missing member is named" 'src/nothing: not found in the archive'
same "the others are still extracted" x2/src/zz-last.txt src/zz-last.txt
mkdir x3
cat src.tar.mbz | (cd x3 && "$MBZIP" -x - src/zz-last.txt) 2>"$T/.stderr"
check "-x - MEMBER from a pipe: exit status 0" [ $? -eq 0 ]
same "-x from a pipe: member extracted" x3/src/zz-last.txt src/zz-last.txt
absent "-x from a pipe: others are not" x3/src/alice.txt

# damage inside the media member's stored block: other members still come out
off=$(( $(wc -c <src.tar.mbz) / 2 ))
cp src.tar.mbz bad.tar.mbz
damage bad.tar.mbz "$off"
run 1 "-t -r finds the damage" mbz -t -r bad.tar.mbz
mkdir x4
run 0 "-x of another member of the damaged archive" mbz -x -C x4 bad.tar.mbz src/zz-last.txt
same "the member is intact" x4/src/zz-last.txt src/zz-last.txt
run 1 "-x of the damaged member fails" mbz -x -C x4 bad.tar.mbz src/sub/media.bin
stderr_has "the damage is reported" 'checksum|corrupt'

# Seek indexes and member tables (doc/format.md, "Seek index", "Archive member
# table"): the input is cut before a member of 1 MiB or more and before the member
# after it (a new history, so damage before does not reach them); -l -r on the
# file reads only the table, so it lists an archive whose data is damaged;
# --no-index archives list the same
mkdir big
head -c 3000 "$CORPORA/alice29.txt" >big/a-text.txt
head -c 1200000 /dev/urandom >big/b-media.bin
head -c 2000 "$CORPORA/alice29.txt" >big/c-text.txt
head -c 1100000 /dev/urandom >big/d-media.bin
printf 'last\n' >big/e-last.txt
run 0 "mbzip -r with large members" mbz -1 -r big
run 0 "-lv of the archive" mbz -lv big.tar.mbz
check "one frame ($(awk 'NR == 2 { print $7 }' "$T/.stdout"))" [ "$(awk 'NR == 2 { print $7 }' "$T/.stdout")" = 1 ]
run 0 "--no-index archive" mbz -1 --no-index -r -c big
cp "$T/.stdout" big-plain.tar.mbz
run 0 "-lv -r through the tables" mbz -lv -r big.tar.mbz
cp "$T/.stdout" list-index
run 0 "-lv -r through the headers" mbz -lv -r big-plain.tar.mbz
same "both listings agree" list-index "$T/.stdout"
cat big.tar.mbz | mbz -lv -r - >list-pipe 2>/dev/null
same "and agree with a listing from a pipe" list-index list-pipe
# damage the first block (its payload starts 41 bytes in): a text block
cp big.tar.mbz dmg.tar.mbz
damage dmg.tar.mbz 60
run 1 "-t -r finds the damage" mbz -t -r dmg.tar.mbz
run 0 "-lv -r of the damaged archive: only the tables are read" mbz -lv -r dmg.tar.mbz
same "the listing is whole" list-index "$T/.stdout"
mkdir x5
run 0 "-x of the last member of the damaged archive" mbz -x -C x5 dmg.tar.mbz big/e-last.txt big/d-media.bin
same "last member" x5/big/e-last.txt big/e-last.txt
same "large member" x5/big/d-media.bin big/d-media.bin
absent "nothing else" x5/big/a-text.txt

# members at exact block boundaries (level 1: 256 KiB blocks): a member of exactly
# 1 MiB (the size that starts a frame), one just under it, empty ones between
mkdir edge
head -c 1048576 /dev/urandom >edge/a-one-mib.bin
: >edge/b-empty
head -c 1048064 /dev/urandom >edge/c-under.bin     # its header and data: 1 MiB
: >edge/d-empty
printf 'end\n' >edge/e-end.txt
run 0 "mbzip -r at block boundaries" mbz -1 -r edge
mkdir x6 x7
run 0 "-x every member by name" mbz -x -C x6 edge.tar.mbz edge/a-one-mib.bin edge/b-empty edge/c-under.bin edge/d-empty edge/e-end.txt
run 0 "-x all" mbz -x -C x7 edge.tar.mbz
for f in a-one-mib.bin b-empty c-under.bin d-empty e-end.txt; do
    same "$f by name = $f from the whole" "x6/edge/$f" "x7/edge/$f"
    same "$f extracted" "x6/edge/$f" "edge/$f"
done
finish
