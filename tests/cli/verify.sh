#!/bin/sh
# -t: decode and verify without writing, on good and bad input.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/cli/lib.sh"

cp "$CORPORA/cp.html" f
mbz -1 -k f
cp "$CORPORA/sum" s
mbz -k s

run 0 "-t good" mbz -t f.mbz s.mbz
stderr_empty "-t good: silent"
check "-t good: no output on stdout" [ ! -s "$T/.stdout" ]
check "-t: writes no file" [ "$(ls | wc -l)" -eq 4 ]
exists "-t keeps the input" f.mbz
run 0 "-tv good" mbz -tv f.mbz s.mbz
stderr_has "-tv: f OK" '^f\.mbz: OK$'
stderr_has "-tv: s OK" '^s\.mbz: OK$'
run 0 "-t from stdin" sh -c "\"\$MBZIP\" -t <f.mbz"
run 0 "-t -c: -c ignored" mbz -tc f.mbz
check "-tc writes nothing" [ ! -s "$T/.stdout" ]

# damage: a flipped byte in the middle of the payload, a cut
sz=$(wc -c <f.mbz)
mid=$((sz / 2))
{ head -c $mid f.mbz; dd if=f.mbz bs=1 skip=$mid count=1 2>/dev/null | tr '\000-\377' '\001-\377\000'; tail -c +$((mid + 2)) f.mbz; } >flip.mbz
check "flipped file has the same size" [ "$(wc -c <flip.mbz)" -eq "$sz" ]
run 1 "-t flipped byte" mbz -t flip.mbz
stderr_one_line "-t flipped: one line"
stderr_has "-t flipped: names the file" '^mbzip: flip\.mbz: '
head -c $((sz - 1)) f.mbz >cut.mbz
run 1 "-t truncated" mbz -t cut.mbz
stderr_one_line "-t truncated: one line"
run 1 "-t good and bad: status 1" mbz -t f.mbz cut.mbz s.mbz
check "-t good and bad: only the bad one reported" [ "$(wc -l <"$T/.stderr")" -eq 1 ]
run 1 "-t not compressed" mbz -t f
run 1 "-t empty input" mbz -t </dev/null
stderr_one_line "-t empty: one line"
finish
