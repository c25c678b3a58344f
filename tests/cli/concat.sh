#!/bin/sh
# Concatenated .mbz streams decode to the concatenated contents, through files,
# pipes, -t and -l; garbage after a stream is an error.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/cli/lib.sh"

cp "$CORPORA/fields.c" a
cp "$CORPORA/xargs.1" b
: >e
mbz -1 -c a >a.mbz
mbz -3 -c b >b.mbz
mbz -c e >e.mbz
cat a b >ab.ref
cat a.mbz b.mbz >ab.mbz
run 0 "decompress a+b" mbz -dc ab.mbz
same "a+b decodes to both" "$T/.stdout" ab.ref
cat a.mbz e.mbz b.mbz e.mbz a.mbz >aebea.mbz
cat a b a >aba.ref
run 0 "five streams with empty ones" mbz -dc aebea.mbz
same "five streams" "$T/.stdout" aba.ref
run 0 "-t on a concatenation" mbz -t aebea.mbz
run 0 "through a pipe" sh -c "cat a.mbz b.mbz | \"\$MBZIP\" -d"
same "pipe a+b" "$T/.stdout" ab.ref
cp ab.mbz c.mbz
run 0 "file mode" mbz -d c.mbz
same "file mode a+b" c ab.ref
# appending to a compressed file, as with gzip
mbz -1 -c b >>a.mbz
run 0 "appended with >>" mbz -dc a.mbz
same "appended" "$T/.stdout" ab.ref
# a second stream that is damaged, or garbage after the first
{ cat a.mbz; printf 'xyz'; } >garbage.mbz
run 1 "garbage after streams" mbz -t garbage.mbz
stderr_one_line "garbage: one line"
{ cat b.mbz; head -c 30 a.mbz; } >cut.mbz
run 1 "truncated second stream" mbz -t cut.mbz
stderr_one_line "truncated second: one line"
finish
