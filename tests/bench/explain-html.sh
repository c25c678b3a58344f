#!/bin/sh
# mbzip --explain: the HTML page's structure (summary, blocks, spans, bytes), HTML
# escaping of < > &, one character per byte in the shaded text, the 1 MiB limit,
# the self-check of per-byte costs against the compressor's ideal bits, errors.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/cli/lib.sh"

# bytes of the <pre id="bytes"> text: tags dropped, entities counted as one
# character, UTF-8 decoded (perl is part of every Debian/Ubuntu base system)
pre_chars() {
    perl -0777 -ne 'binmode STDIN; utf8::decode($_); /<pre id="bytes" data-bytes="\d+">(.*?)<\/pre>/s or die "no pre\n"; my $t = $1; $t =~ s/<[^>]*>//g; $t =~ s/&[#a-z0-9]+;/X/g; print length($t), "\n"' "$1"
}
have_perl=0
command -v perl >/dev/null 2>&1 && have_perl=1

printf '<a href="x&y">\n\tbold & brave</a>\001\377 plain text, plain text, plain text.\n' >t
cat "$CORPORA/fields.c" >>t
n=$(wc -c <t)

run 0 "--explain -o" mbz --explain t -o t.html
stderr_empty "--explain: nothing on stderr"
exists "--explain: page written" t.html
check "--explain: doctype" [ "$(head -c 15 t.html)" = "<!DOCTYPE html>" ]
check "--explain: ends with </html>" [ "$(tail -n 1 t.html)" = "</html>" ]
check "--explain: summary" grep -q '<div id="summary">' t.html
check "--explain: bytes shown = $n" grep -q "<td id=\"bytes-shown\">$n</td>" t.html
check "--explain: data-bytes = $n" grep -q "<pre id=\"bytes\" data-bytes=\"$n\">" t.html
check "--explain: bits per byte" grep -Eq '<b id="bpb">[0-9]+\.[0-9]{4}</b> bits/byte' t.html
check "--explain: costs match the compressor" grep -q '<td class=l id="check">per-byte costs sum to the compressor.s ideal bits (modelled blocks): ok' t.html
check "--explain: blocks table" grep -q '<table id="blocks">' t.html
check "--explain: spans table" grep -q '<table id="spans">' t.html
check "--explain: escapes <" grep -q '&lt;' t.html
check "--explain: escapes &" grep -q '&amp;' t.html
# no raw '<a href' or '& b' from the input may survive inside the bytes
check "--explain: no raw markup from the input" [ "$(grep -c '<a href="x&y">' t.html)" -eq 0 ]
check "--explain: no raw '& brave'" [ "$(grep -c 'bold & brave' t.html)" -eq 0 ]
if [ "$have_perl" = 1 ]; then
    c=$(pre_chars t.html)
    check "--explain: one character per byte in <pre> ($c = $n)" [ "$c" = "$n" ]
else
    skip_check "character count (no perl)"
fi

run 1 "--explain: no overwrite without -f" mbz --explain t -o t.html
stderr_has "--explain: exists message" 'already exists'
run 0 "--explain -f: overwrite" mbz --explain t -o t.html -f
run 0 "--explain to stdout" mbz -1 --explain t
check "--explain stdout: a page" grep -q '<div id="summary">' "$T/.stdout"

# > 1 MiB: only the first 1 MiB, and the page says so
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30; do
    cat "$CORPORA/sum"
done >big
run 0 "--explain big" mbz -1 --explain big -o big.html
check "--explain big: 1048576 bytes shown" grep -q '<td id="bytes-shown">1048576</td>' big.html
check "--explain big: says so" grep -q 'only the first 1 MiB is explained' big.html

: >empty
run 0 "--explain empty" mbz --explain empty -o e.html
check "--explain empty: 0 bytes" grep -q '<pre id="bytes" data-bytes="0"></pre>' e.html

run 1 "--explain missing file" mbz --explain nosuch -o n.html
stderr_one_line "--explain missing: one message"
absent "--explain missing: no page" n.html
run 1 "--explain two files" mbz --explain t t
run 1 "-o without --explain" mbz -o x.html t

finish
