#!/bin/sh
# Compressed data is not written to, or read from, a terminal without -f.
# The terminal is a pseudo-terminal from script(1) (util-linux).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/cli/lib.sh"

if ! command -v script >/dev/null 2>&1 || ! script -qec true /dev/null >/dev/null 2>&1 </dev/null; then
    echo "SKIP: script(1) with -q -e -c is not available (util-linux)"
    exit 77
fi

cp "$CORPORA/xargs.1" f
mbz -1 -k f
export T

# in_tty CMD: run the shell command CMD with stdin, stdout and stderr on a
# terminal; its output (both streams) goes to $T/.stdout, status to $rc.
in_tty() {
    script -qec "$1" /dev/null </dev/null >"$T/.stdout" 2>&1
    rc=$?
    tr -d '\r' <"$T/.stdout" >"$T/.tty" && mv "$T/.tty" "$T/.stdout"
}
expect_tty() { # expect_tty STATUS DESC CMD
    in_tty "$3"
    check "$2: exit status $rc, expected $1" [ "$rc" -eq "$1" ]
}

expect_tty 1 "compress stdin to a terminal" "\"$MBZIP\" -1"
stdout_has "compress to a terminal: message" '^mbzip: compressed data not written to a terminal\. Use -f to force compression\.$'
check "compress to a terminal: one line" [ "$(grep -c . "$T/.stdout")" -eq 1 ]
expect_tty 1 "compress a file with -c to a terminal" "\"$MBZIP\" -1 -c f"
stdout_has "-c to a terminal: message" 'compressed data not written to a terminal'
expect_tty 1 "compress stdin (a file) to a terminal" "\"$MBZIP\" -1 <f"
expect_tty 0 "compress to a terminal with -f" "\"$MBZIP\" -1 -f <f >/dev/null; \"$MBZIP\" -1 -cf f | wc -c >/dev/null"
expect_tty 0 "compress a terminal's input to a file" "\"$MBZIP\" -1 </dev/null >/dev/null"

expect_tty 1 "decompress from a terminal" "\"$MBZIP\" -d"
stdout_has "decompress from a terminal: message" '^mbzip: compressed data not read from a terminal\. Use -f to force decompression\.$'
expect_tty 1 "test from a terminal" "\"$MBZIP\" -t"
expect_tty 1 "list from a terminal" "\"$MBZIP\" -l"
expect_tty 0 "decompress a file to a terminal is fine" "\"$MBZIP\" -dc f.mbz"
stdout_has "decompressed text shown" 'xargs'
expect_tty 0 "decompress stdin (a file) to a terminal is fine" "\"$MBZIP\" -d <f.mbz"
expect_tty 0 "-l to a terminal is fine" "\"$MBZIP\" -l f.mbz"
expect_tty 0 "file to file on a terminal" "\"$MBZIP\" -1 -f f"

# -v on a terminal: a progress line for long work, ending with the summary
: >big
while [ "$(wc -c <big)" -lt 4194304 ]; do cat "$CORPORA/kennedy.xls" "$CORPORA/lcet10.txt" >>big; done
expect_tty 0 "-v on a terminal" "\"$MBZIP\" -1 -v -T2 -k big"
stdout_has "-v on a terminal: summary line" 'big: .*bits/byte.* -- created big\.mbz'
no_temp "no temporary files" .
finish
