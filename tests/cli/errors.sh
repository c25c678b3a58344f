#!/bin/sh
# Error paths: exit status 1, one-line "mbzip: FILE: reason" messages, no output
# or temporary file left behind, inputs never lost; processing goes on with the
# next operand.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/cli/lib.sh"

cp "$CORPORA/fields.c" ref
cp ref f

run 1 "missing input" mbz missing
stderr_has "missing input: message" '^mbzip: missing: No such file or directory$'
stderr_one_line "missing input: one line"
run 1 "missing input, decompress" mbz -d missing.mbz
stderr_has "missing .mbz: message" '^mbzip: missing\.mbz: No such file or directory$'
run 1 "missing input, test" mbz -t missing.mbz
run 1 "missing input, list" mbz -l missing.mbz
stderr_one_line "missing input, list: one line"

# The next operand is still processed; the status is 1.
run 1 "error, then a good file" mbz -1 -k missing f
exists "the good file after an error is compressed" f.mbz
rm -f f.mbz

# Existing output: refused without -f, kept as it was.
printf 'precious\n' >f.mbz
run 1 "existing output" mbz -1 f
stderr_has "existing output: message" '^mbzip: f\.mbz: already exists; use -f to overwrite$'
stderr_one_line "existing output: one line"
check "existing output untouched" [ "$(cat f.mbz)" = precious ]
exists "input kept when the output exists" f
printf 'precious\n' >g.txt
mbz -1 -c f >g.txt.mbz
cp g.txt.mbz g.keep
cp ref g
run 1 "existing output, decompress" mbz -d g.txt.mbz
stderr_has "existing output, decompress: message" '^mbzip: g\.txt: already exists; use -f to overwrite$'
check "existing decompressed output untouched" [ "$(cat g.txt)" = precious ]
exists "compressed input kept" g.txt.mbz
run 0 "-f overwrites" mbz -df g.txt.mbz
same "-f overwrote with the right data" g.txt ref
rm -f f.mbz

# Not compressed data.
cp ref notmbz.mbz
run 1 "decompress data that is not mbzip" mbz -d notmbz.mbz
stderr_one_line "not mbzip: one line"
stderr_has "not mbzip: message names the file" '^mbzip: notmbz\.mbz: '
exists "not mbzip: input kept" notmbz.mbz
absent "not mbzip: no output" notmbz
no_temp "not mbzip: no temporary file" .
run 1 "-t on data that is not mbzip" mbz -t notmbz.mbz
run 1 "-dc on data that is not mbzip" mbz -dc notmbz.mbz
run 1 "-l on data that is not mbzip" mbz -l notmbz.mbz
stderr_one_line "-l not mbzip: one line"
: >empty.mbz
run 1 "decompress an empty file" mbz -d empty.mbz
stderr_one_line "empty .mbz: one line"
absent "empty .mbz: no output" empty
run 1 "decompress empty stdin" mbz -d

# Truncated: cut a good stream.
mbz -1 -c ref >good.mbz
sz=$(wc -c <good.mbz)
head -c $((sz - 3)) good.mbz >trunc.mbz
run 1 "truncated stream" mbz -d trunc.mbz
stderr_one_line "truncated: one line"
absent "truncated: no output" trunc
exists "truncated: input kept" trunc.mbz
no_temp "truncated: no temporary file" .

# Trailing garbage.
{ cat good.mbz; printf 'garbage'; } >trail.mbz
run 1 "trailing garbage" mbz -d trail.mbz
stderr_one_line "trailing garbage: one line"
absent "trailing garbage: no output" trail
no_temp "trailing garbage: no temporary file" .

# Output cannot be written.
if [ -w /dev/full ]; then
    run 1 "-c to a full device" sh -c "\"\$MBZIP\" -1 -c ref >/dev/full"
    stderr_has "full device: message" '^mbzip: .*(No space left on device|write)'
    run 1 "-dc to a full device" sh -c "\"\$MBZIP\" -dc good.mbz >/dev/full"
fi
if [ "$(id -u)" -ne 0 ]; then
    mkdir ro && cp ref ro/x && chmod a-w ro
    run 1 "read-only directory" mbz -1 ro/x
    stderr_one_line "read-only directory: one line"
    exists "read-only directory: input kept" ro/x
    chmod u+w ro
    cp ref unreadable && chmod a-r unreadable
    run 1 "unreadable input" mbz -1 unreadable
    stderr_has "unreadable: message" '^mbzip: unreadable: Permission denied$'
    exists "unreadable: input kept" unreadable
    absent "unreadable: no output" unreadable.mbz
    chmod u+r unreadable
else
    skip_check "read-only directory and unreadable input (running as root)"
fi

# The reader of stdout goes away early (head; tar stopping before the padding):
# no "Broken pipe" message, also when SIGPIPE is ignored (as bsdtar does).
head -c 2097152 /dev/zero | tr '\000' 'z' >zz
mbz -1 -c zz >zz.mbz
run 0 "reader goes away" sh -c "\"\$MBZIP\" -dc zz.mbz | head -c 10 >/dev/null"
stderr_empty "reader goes away: no message"
run 0 "reader goes away, SIGPIPE ignored" sh -c "trap '' PIPE; \"\$MBZIP\" -dc zz.mbz | head -c 10 >/dev/null"
stderr_empty "reader goes away, SIGPIPE ignored: no message"
rm -f zz zz.mbz

# A decompressed name that is a directory: refused even with -f.
mkdir dir
cp good.mbz dir.mbz
run 1 "output is a directory" mbz -d dir.mbz
run 1 "output is a directory, -f" mbz -df dir.mbz
stderr_one_line "output is a directory: one line"
exists "output is a directory: input kept" dir.mbz
check "the directory is still a directory" [ -d dir ]
no_temp "no temporary file" .

# Errors together with warnings: status 1 wins.
mkdir -p sub
run 1 "error and warning: status 1" mbz -1 -k sub missing
no_temp "no temporary files at the end" .
finish
