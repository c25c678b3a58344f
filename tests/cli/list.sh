#!/bin/sh
# -l: the table (compressed, uncompressed, ratio, bits/byte, blocks, model, name),
# its numbers, the totals line, -lv's extra columns, errors.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/cli/lib.sh"

cp "$CORPORA/alice29.txt" a
cp "$CORPORA/lcet10.txt" b
mbz -1 -k a b
: >e && mbz -1 e

run 0 "-l one file" mbz -l a.mbz
check "-l: two lines (header, file)" [ "$(wc -l <"$T/.stdout")" -eq 2 ]
head -n 1 "$T/.stdout" >hdr
check "-l: header columns" [ "$(tr -s ' ' <hdr | sed 's/^ //')" = "compressed uncompressed ratio bits/byte blocks model name" ]
set -- $(sed -n 2p "$T/.stdout")
check "-l: compressed size = file size ($1)" [ "$1" = "$(wc -c <a.mbz)" ]
check "-l: uncompressed size ($2)" [ "$2" = "$(wc -c <a)" ]
want_ratio=$(awk -v c="$1" -v u="$2" 'BEGIN { printf "%.1f%%", 100 * (1 - c / u) }')
check "-l: ratio ($3 = $want_ratio)" [ "$3" = "$want_ratio" ]
want_bpb=$(awk -v c="$1" -v u="$2" 'BEGIN { printf "%.3f", 8 * c / u }')
check "-l: bits/byte ($4 = $want_bpb)" [ "$4" = "$want_bpb" ]
check "-l: blocks ($5)" [ "$5" -ge 1 ]
check "-l: model is 16 hex digits ($6)" sh -c "echo '$6' | grep -Eqx '[0-9a-f]{16}'"
check "-l: name ($7)" [ "$7" = a.mbz ]
stderr_empty "-l: nothing on stderr"

# blocks: level 1 has the smallest blocks; 3 MiB of text needs several
for i in 1 2 3 4 5 6 7; do cat b; done >big
mbz -1 -k big
run 0 "-l multi-block" mbz -l big.mbz
set -- $(sed -n 2p "$T/.stdout")
check "-l multi-block: several blocks ($5)" [ "$5" -gt 1 ]

# the default level names the default model (as -V shows it)
cp "$CORPORA/grammar.lsp" g && mbz -k g
defmodel=$(mbz -V | sed -n 's/^default model: \([0-9a-f]*\).*/\1/p')
run 0 "-l default level" mbz -l g.mbz
set -- $(sed -n 2p "$T/.stdout")
check "-l: default level uses the default model ($6 = $defmodel)" [ "$6" = "$defmodel" ]
# levels 2-4 name the fast model (-V shows it when the build has one; else the default)
fastmodel=$(mbz -V | sed -n 's/^fast model (levels 2-4): \([0-9a-f]*\).*/\1/p')
[ -n "$fastmodel" ] || fastmodel=$defmodel
mbz -3 -c g >g3.mbz
run 0 "-l level 3" mbz -l g3.mbz
set -- $(sed -n 2p "$T/.stdout")
check "-l: level 3 uses the fast model ($6 = $fastmodel)" [ "$6" = "$fastmodel" ]

# several files: a totals line
run 0 "-l several files" mbz -l a.mbz b.mbz e.mbz
check "-l several: 5 lines" [ "$(wc -l <"$T/.stdout")" -eq 5 ]
tot=$(tail -n 1 "$T/.stdout")
set -- $tot
sum_c=$(( $(wc -c <a.mbz) + $(wc -c <b.mbz) + $(wc -c <e.mbz) ))
sum_u=$(( $(wc -c <a) + $(wc -c <b) ))
check "totals: compressed sum ($1 = $sum_c)" [ "$1" = "$sum_c" ]
check "totals: uncompressed sum ($2 = $sum_u)" [ "$2" = "$sum_u" ]
check "totals: named (totals)" [ "$7" = "(totals)" ]
check "totals: model column is -" [ "$6" = "-" ]
row_e=$(grep ' e\.mbz$' "$T/.stdout")
set -- $row_e
check "empty file: 0 bytes ($row_e)" [ "$2" = 0 ]
check "empty file: ratio is '-'" [ "x$3" = x- ]
check "empty file: bits/byte is '-'" [ "x$4" = x- ]
check "empty file: 0 blocks" [ "$5" = 0 ]

# -lv: stored blocks, frames, level
cat a.mbz b.mbz >ab.mbz
run 0 "-lv" mbz -lv ab.mbz
check "-lv: header" [ "$(head -n 1 "$T/.stdout" | tr -s ' ' | sed 's/^ //')" = "compressed uncompressed ratio bits/byte blocks stored frames level model name" ]
set -- $(sed -n 2p "$T/.stdout")
check "-lv: two frames in a concatenation ($7)" [ "$7" = 2 ]
check "-lv: level 1 ($8)" [ "$8" = 1 ]
check "-lv: uncompressed = both files ($2)" [ "$2" = "$sum_u" ]
gen_random 100000 r && mbz -1 r
run 0 "-lv stored" mbz -lv r.mbz
set -- $(sed -n 2p "$T/.stdout")
check "-lv: random data is stored ($6 of $5 blocks)" [ "$6" -ge 1 ]

# stdin, errors, mixed
run 0 "-l from stdin" sh -c "\"\$MBZIP\" -l <a.mbz"
stdout_has "-l stdin" ' \(stdin\)$'
printf 'not mbz' >bad.mbz
run 1 "-l a bad file among good ones" mbz -l a.mbz bad.mbz b.mbz
stderr_one_line "-l bad: one line"
stderr_has "-l bad: names the file" '^mbzip: bad\.mbz: '
check "-l bad: the good files and the totals are listed" [ "$(wc -l <"$T/.stdout")" -eq 4 ]
run 1 "-l a missing file" mbz -l nonexistent.mbz
finish
