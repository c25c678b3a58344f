#!/bin/sh
# mbzip -b: the table's shape (comment line, header, one line per file x level),
# --csv (header, fields, quoting), the numbers' consistency with the real .mbz,
# round-trip verification reported as ok, -e ranges, -i runs, -T. Never speed.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/cli/lib.sh"

cp "$CORPORA/grammar.lsp" g
cp "$CORPORA/xargs.1" x
: >empty
head -c 3000 "$CORPORA/alice29.txt" >'with space'

run 0 "-b1: two files" mbz -b1 -i1 g x
check "-b1: 1 comment + 1 header + 2 lines" [ "$(wc -l <"$T/.stdout")" -eq 4 ]
stdout_has "-b1: comment line names the runs" '^# mbzip -b: median of 1 run'
sed -n 2p "$T/.stdout" | tr -s ' ' | sed 's/^ //' >hdr
check "-b: header columns" [ "$(cat hdr)" = "lvl size compressed ratio bpb ideal-bpb coded-bpb comp-MB/s dec-MB/s peak-MiB check file" ]
set -- $(sed -n 3p "$T/.stdout")
check "-b: level ($1)" [ "$1" = 1 ]
check "-b: size ($2)" [ "$2" = "$(wc -c <g)" ]
mbz -1 -c g >g.mbz
check "-b: compressed = mbzip -1 output ($3)" [ "$3" = "$(wc -c <g.mbz)" ]
want_bpb=$(awk -v c="$3" -v u="$2" 'BEGIN { printf "%.3f", 8 * c / u }')
check "-b: bpb ($5 = $want_bpb)" [ "$5" = "$want_bpb" ]
check "-b: ideal bpb is a number ($6)" sh -c "echo '$6' | grep -Eqx '[0-9]+\.[0-9]{4}'"
check "-b: ideal <= coded bpb ($6 <= $7)" awk -v i="$6" -v c="$7" 'BEGIN { exit !(i <= c) }'
check "-b: peak memory > 0 ($10)" awk -v m="${10}" 'BEGIN { exit !(m > 0) }'
check "-b: round trip ok ($11)" [ "${11}" = ok ]
check "-b: file name last ($12)" [ "${12}" = g ]
stderr_empty "-b: nothing on stderr"

run 0 "-b2 -e4: level range" mbz -b2 -e4 -i1 -T1 g x
check "-b2 -e4: 2 files x 3 levels = 6 lines" [ "$(grep -cv '^#\|^lvl' "$T/.stdout")" -eq 6 ]
check "-b2 -e4: levels 2 3 4 per file" [ "$(awk 'NR > 2 { printf "%s", $1 }' "$T/.stdout")" = 234234 ]
stdout_has "-T1: one thread in the comment" '1 thread;'
check "-b2 -e4: every line ok" [ "$(awk 'NR > 2 && $11 != "ok"' "$T/.stdout" | wc -l)" -eq 0 ]

run 0 "-b: default level" mbz -b -i1 g
check "-b: default level is 6" [ "$(awk 'NR == 3 { print $1 }' "$T/.stdout")" = 6 ]
run 0 "-3 -b: level from -#" mbz -3 -b -i1 g
check "-3 -b: level 3" [ "$(awk 'NR == 3 { print $1 }' "$T/.stdout")" = 3 ]

run 0 "--csv" mbz -b1 -e2 -i2 --csv g 'with space' empty
check "--csv: header + 3 files x 2 levels" [ "$(wc -l <"$T/.stdout")" -eq 7 ]
check "--csv: header" [ "$(head -n 1 "$T/.stdout")" = "level,file,size,compressed,ratio,bpb,modelled_bytes,ideal_bits,ideal_bpb,modelled_payload,coded_bpb,blocks,blocks_stored,compress_mbps,decompress_mbps,compress_s,decompress_s,peak_rss_kib,runs,threads,check" ]
check "--csv: 21 fields on every line" [ "$(awk -F, 'NF != 21' "$T/.stdout" | wc -l)" -eq 0 ]
check "--csv: file names quoted" [ "$(grep -c '^[0-9],"with space",3000,' "$T/.stdout")" -eq 2 ]
check "--csv: empty file: size 0, ok" [ "$(grep -c '^[0-9],"empty",0,.*,ok$' "$T/.stdout")" -eq 2 ]
check "--csv: runs = 2" [ "$(awk -F, 'NR > 1 && $19 != 2' "$T/.stdout" | wc -l)" -eq 0 ]
check "--csv: all ok" [ "$(awk -F, 'NR > 1 && $21 != "ok"' "$T/.stdout" | wc -l)" -eq 0 ]
# ideal bits (Q16 sum) and coded payload of the modelled bytes are consistent
check "--csv: ideal_bits / modelled_bytes = ideal_bpb" [ "$(awk -F, 'NR > 1 && $7 > 0 { d = $8 / $7 - $9; if (d > 0.0001 || d < -0.0001) print }' "$T/.stdout" | wc -l)" -eq 0 ]

finish
