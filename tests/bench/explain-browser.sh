#!/bin/sh
# mbzip --explain in a headless browser (tools/explain-screenshot.sh, Chromium):
# the DOM Chromium parses from the page (summary numbers against the real .mbz,
# the blocks and spans tables, the legend, the shaded text equal to the input byte
# for byte) and a screenshot of the whole page (its size, not blank, text drawn,
# every shading colour painted, the bytes shaded and not only the legend and the
# spans table). Skipped (77) without Chromium; the pixel
# checks need perl's Compress::Zlib (part of Debian's perl).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/cli/lib.sh"

SHOT=$top_srcdir/tools/explain-screenshot.sh
browser=${CHROMIUM:-}
if [ -z "$browser" ]; then
    for b in chromium chromium-browser google-chrome; do
        if command -v "$b" >/dev/null 2>&1; then browser=$b; break; fi
    done
fi
if [ -z "$browser" ] || ! command -v "$browser" >/dev/null 2>&1; then
    echo "SKIP: no chromium (Debian: apt-get install chromium)"
    exit 77
fi
if ! command -v perl >/dev/null 2>&1; then
    echo "SKIP: no perl"
    exit 77
fi
export CHROMIUM=$browser

# the sample: English text with CRLF line ends (alice29.txt), HTML-special
# characters, a tab and two bytes that are shown as a middle dot
head -c 3000 "$CORPORA/alice29.txt" >sample.txt
printf '<p class="x">Tom & Jerry > "Bugs"</p>\tend\001\377\n' >>sample.txt
n=$(wc -c <sample.txt)

run 0 "--explain sample" mbz --explain sample.txt -o s.html
mbz -c sample.txt >s.mbz
frame=$(wc -c <s.mbz)

# ---------------------------------------------------------------- the parsed DOM
run 0 "dump-dom" sh "$SHOT" --dom s.html dom.html
check "dom: parsed page is not empty" [ -s dom.html ]
check "dom: summary" grep -q '<div id="summary">' dom.html
check "dom: bytes shown = $n" grep -q "<td id=\"bytes-shown\">$n</td>" dom.html
line=$(grep -o '[0-9]* bytes = <b id="bpb">[0-9.]*</b> bits/byte' dom.html)
fb=${line%% *}
bpb=$(echo "$line" | sed 's/.*<b id="bpb">\([0-9.]*\)<.*/\1/')
want_bpb=$(awk -v f="$frame" -v n="$n" 'BEGIN { printf "%.4f", 8 * f / n }')
check "dom: compressed size = size of the .mbz ($fb = $frame)" [ "$fb" = "$frame" ]
check "dom: bits/byte = 8 x $frame / $n ($bpb = $want_bpb)" [ "$bpb" = "$want_bpb" ]
check "dom: bits/byte of English text in (1, 6) ($bpb)" \
    awk -v b="$bpb" 'BEGIN { exit !(b > 1 && b < 6) }'
check "dom: the self-check says ok" grep -q 'id="check">per-byte costs sum to .*: ok<' dom.html

# tables, legend and the shaded text, from the parsed DOM
perl -0777 -ne '
    binmode STDOUT;
    my ($blk) = /<table id="blocks">(.*?)<\/table>/s;
    my ($spn) = /<table id="spans">(.*?)<\/table>/s;
    my ($leg) = /<p class="legend">(.*?)<\/p>/s;
    my ($pre) = /<pre id="bytes" data-bytes="\d+">(.*?)<\/pre>/s;
    my ($bs) = /<th>block size<\/th><td>(\d+)</;
    my @rows = defined $blk ? ($blk =~ /<tr>(.*?)<\/tr>/sg) : ();
    shift @rows;
    print "block_rows=", scalar(@rows), "\nblock_size=", $bs // 0, "\n";
    print "block0=", join(",", $rows[0] =~ /<td[^>]*>([^<]*)<\/td>/g), "\n" if @rows;
    my @srows = defined $spn ? ($spn =~ /<tr>(.*?)<\/tr>/sg) : ();
    print "span_rows=", @srows ? @srows - 1 : 0, "\n";
    print "legend_classes=", join(",", defined $leg ? ($leg =~ /<span class="c(\d)">/g) : ()), "\n";
    defined $pre or exit;
    my @k = $pre =~ /<x-(\d+)>/g;
    my %k; $k{$_}++ for @k;
    print "runs=", scalar(@k), "\nrun_classes=", join(",", sort { $a <=> $b } keys %k), "\n";
    (my $t = $pre) =~ s/<[^>]*>//g;
    $t =~ s/&lt;/</g; $t =~ s/&gt;/>/g; $t =~ s/&quot;/"/g; $t =~ s/&amp;/&/g;
    open(my $o, ">:raw", "pre.txt") or die; print $o $t; close $o;
' dom.html >dom.facts
cat dom.facts
fact() { sed -n "s/^$1=//p" dom.facts; }
rows=$(fact block_rows)
bs=$(fact block_size)
want_rows=$(( bs > 0 ? (n + bs - 1) / bs : -1 ))
check "dom: blocks table has $want_rows row(s) ($rows)" [ "$rows" = "$want_rows" ]
check "dom: block 0 = offset 0, $n bytes, modelled ($(fact block0))" \
    grep -q "^block0=0,0,$n,modelled," dom.facts
check "dom: 12 surprising spans ($(fact span_rows))" [ "$(fact span_rows)" = 12 ]
check "dom: legend of classes 0-9" [ "$(fact legend_classes)" = "0,1,2,3,4,5,6,7,8,9" ]
check "dom: shaded runs in the bytes ($(fact runs))" [ "$(fact runs)" -ge 100 ]
check "dom: costs span cheap to dear classes ($(fact run_classes))" \
    grep -Eq '^run_classes=0,.*,9$' dom.facts
# the text Chromium sees is the input, byte for byte, with each byte it cannot
# show (the CRs, \001, \377) as one U+00B7
perl -0777 -pe 'binmode STDOUT; s/[^\x20-\x7e\n\t]/\xc2\xb7/g' sample.txt >want.txt
same "dom: shaded text = the sample" want.txt pre.txt
check "dom: the sample's title" grep -q "ALICE'S ADVENTURES IN WONDERLAND" pre.txt
check "dom: the sample's markup as text" grep -q '<p class="x">Tom & Jerry > "Bugs"</p>' pre.txt

# ---------------------------------------------------------------- the screenshot
W=1000
H=2400
run 0 "screenshot" sh "$SHOT" -w $W -h $H s.html s.png
check "png: written" [ -s s.png ]
check "png: a PNG" [ "$(head -c 8 s.png | od -An -c | tr -d ' \n')" = '211PNG\r\n032\n' ]
# the nine shading colours other than white (src/cli/explain.c, class_color)
colors="f4f8ff e3eeff fff3c4 ffe08a ffc266 ff9f55 ff7a4d f0504a c0142a"
if perl -MCompress::Zlib -e 1 2>/dev/null; then
    if perl "$top_srcdir/tests/bench/png-stats.pl" s.png $colors >png.facts 2>"$T/.stderr"; then
        ok "png: decoded"
    else
        fail "png: decoded"
    fi
    cat png.facts
    pf() { sed -n "s/^$1=//p" png.facts; }
    check "png: ${W}x$H ($(pf width)x$(pf height))" [ "$(pf width)x$(pf height)" = "${W}x$H" ]
    check "png: not uniform ($(pf colors) colours)" [ "$(pf colors)" -ge 50 ]
    check "png: not blank ($(pf nonwhite) non-white pixels)" [ "$(pf nonwhite)" -ge $((W * H / 20)) ]
    check "png: text drawn ($(pf dark) dark pixels)" [ "$(pf dark)" -ge 5000 ]
    shaded=0
    for c in $colors; do
        check "png: shading #$c painted ($(pf $c) pixels)" [ "$(pf $c)" -ge 200 ]
        shaded=$((shaded + $(pf $c)))
    done
    # legend and spans table: ~50000 pixels; the shaded bytes of the sample ~300000
    check "png: the bytes are shaded ($shaded pixels)" [ "$shaded" -ge $((W * H / 16)) ]
else
    skip_check "pixel checks (perl has no Compress::Zlib)"
fi

finish
