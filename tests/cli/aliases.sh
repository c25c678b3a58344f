#!/bin/sh
# mbunzip (= mbzip -d) and mbcat (= mbzip -dc), chosen by the name the program
# is called by; .tmbz -> .tar.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/cli/lib.sh"

alias_dir
cp "$CORPORA/cp.html" ref
cp ref f
"$BIN/mbzip" -1 f || fail "mbzip through a link"
exists "mbzip link compresses" f.mbz

run 0 "mbcat FILE" "$BIN/mbcat" f.mbz
same "mbcat writes the content to stdout" "$T/.stdout" ref
exists "mbcat keeps the input" f.mbz
absent "mbcat writes no file" f

export BIN
run 0 "mbcat < FILE" sh -c "\"\$BIN/mbcat\" <f.mbz"
same "mbcat from stdin" "$T/.stdout" ref

run 0 "mbunzip FILE" "$BIN/mbunzip" f.mbz
same "mbunzip restores the file" f ref
absent "mbunzip removes the .mbz" f.mbz

"$BIN/mbzip" -1 -k f
run 0 "mbunzip -c" "$BIN/mbunzip" -c f.mbz
same "mbunzip -c" "$T/.stdout" ref
run 1 "mbunzip refuses to overwrite" "$BIN/mbunzip" f.mbz
stderr_has "mbunzip: messages say mbzip" '^mbzip: f: already exists; use -f to overwrite$'
run 0 "mbunzip -f" "$BIN/mbunzip" -f f.mbz
"$BIN/mbzip" -1 -k f
run 0 "mbunzip -t" "$BIN/mbunzip" -t f.mbz
run 0 "mbcat -t" "$BIN/mbcat" -t f.mbz
run 0 "mbcat -l" "$BIN/mbcat" -l f.mbz
stdout_has "mbcat -l lists" ' f\.mbz$'
run 0 "mbunzip -z compresses (the last mode wins)" "$BIN/mbunzip" -z -1 -c f
run 0 "... and it decodes" sh -c "\"\$BIN/mbunzip\" -z -1 -c f | \"\$BIN/mbcat\" >g"
same "mbunzip -z round trip" g ref

# several files through mbcat: concatenated
cp "$CORPORA/xargs.1" x && "$BIN/mbzip" -1 -k x
run 0 "mbcat two files" "$BIN/mbcat" f.mbz x.mbz
cat ref "$CORPORA/xargs.1" >both
same "mbcat two files = both contents" "$T/.stdout" both

# .tmbz -> .tar
mkdir -p tree/sub && cp ref tree/a && cp "$CORPORA/xargs.1" tree/sub/b
tar -cf t.tar tree
cp t.tar t.tar.orig
"$BIN/mbzip" -1 -c t.tar >t.tmbz
rm -f t.tar
run 0 "mbunzip NAME.tmbz" "$BIN/mbunzip" t.tmbz
exists "NAME.tmbz -> NAME.tar" t.tar
same ".tmbz round trip" t.tar t.tar.orig
absent ".tmbz removed" t.tmbz
finish
