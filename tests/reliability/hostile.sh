#!/bin/sh
# Hostile headers: frames with valid header checks but declared sizes of 2^63,
# 2^64-1, 0, 2^32-1, sizes beyond the block size, 100000 blocks, 2000 frames,
# frame versions 0/17/255 with the order-2 fingerprint, block_log and level out of
# range (reltool hostile). Each must end with exit status 1 and one line
# "mbzip: ..." naming the problem, within bounded memory (ulimit -v 1 GiB where
# the build allows it: sanitizer builds reserve terabytes of address space) and
# with a timeout as a hang guard; a valid but unusual one must decode.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/cli/lib.sh"

RELTOOL=${RELTOOL:-$top_builddir/reltool}
[ -x "$RELTOOL" ] || { echo "SKIP: $RELTOOL is not built"; exit 77; }
TO=$(hang_guard 60)

"$RELTOOL" hostile h || { fail "reltool hostile"; finish; }
rm -f h/bomb-modelled-*.mbz  # tests/reliability/cpu-bomb.sh

LIMIT=
if (ulimit -v 1048576 && "$MBZIP" -V) >/dev/null 2>&1; then
    LIMIT="ulimit -v 1048576;"
else
    skip_check "ulimit -v 1 GiB: $MBZIP does not start under it (sanitizer build?); running unlimited"
fi

# expect FILE REGEX: exit 1, one line, message matches
expect() {
    sh -c "$LIMIT exec $TO \"\$MBZIP\" -dc -T2 \"$1\"" >"$T/.stdout" 2>"$T/.stderr"
    rc=$?
    check "$1: exit status 1 (got $rc)" [ "$rc" -eq 1 ]
    stderr_one_line "$1: one-line message"
    stderr_has "$1: message names the problem" "$2"
}

for f in h/total-*.mbz h/rle-100000-blocks-total-plus-2e32.mbz; do
    expect "$f" 'total size [0-9]+ does not match'
done
for f in h/content-*.mbz; do
    expect "$f" 'content size [0-9]+ outside 1\.\.[0-9]+'
done
expect h/payload-2e32m1-modelled.mbz 'payload size 4294967295 outside'
expect h/payload-zero-modelled.mbz 'payload size 0 outside'
expect h/payload-2e32m1-rle.mbz 'payload size 4294967295 != 1'
expect h/stored-64MiB-truncated.mbz 'truncated'
expect h/modelled-64MiB-truncated.mbz 'truncated'
for v in 0 17 255; do
    expect h/version-$v-order2.mbz "unsupported frame version $v"
done
for l in 0 15 27 63 255; do
    expect h/blocklog-$l.mbz "block size 2\\^$l out of range"
done
expect h/level-10.mbz 'invalid level 10'
# binary stage (CM frame): 1-byte payload declaring 2^20 / 2^26 bytes; the coder's
# consistency bound stops it within milliseconds, and the 64 MiB history's tables fit
# the memory limit
for k in 20 26; do
    expect h/bomb-cm-2e$k-payload1.mbz 'inconsistent|corrupt'
done
expect h/bomb-cm-record-2e26-payload1.mbz 'inconsistent|corrupt'
expect h/bomb-cm-filter-2e26-payload2.mbz 'inconsistent|corrupt'
expect h/bomb-fast-2e26-payload2.mbz 'inconsistent|corrupt'
# audio block: 3-byte payload declaring 2^26 bytes of samples
expect h/bomb-audio-2e26-payload3.mbz 'corrupt audio'
# image block of 1-bit pixels: 8-byte payload (7 of parameters) declaring 2^26 bytes
expect h/bomb-bilevel-2e26-payload8.mbz 'corrupt image'
expect h/frames-2000-then-garbage.mbz 'trailing garbage after frame 2000'

# -l (headers only) and -t agree that these are errors
for f in h/total-2e64m1.mbz h/content-2e32m1-stored.mbz h/version-17-order2.mbz; do
    sh -c "$LIMIT exec $TO \"\$MBZIP\" -l \"$f\"" >"$T/.stdout" 2>"$T/.stderr"
    rc=$?
    check "$f: -l exit status 1 (got $rc)" [ "$rc" -eq 1 ]
    sh -c "$LIMIT exec $TO \"\$MBZIP\" -t \"$f\"" >"$T/.stdout" 2>"$T/.stderr"
    rc=$?
    check "$f: -t exit status 1 (got $rc)" [ "$rc" -eq 1 ]
done

# file mode: the partial output of a frame that fails at its end mark is removed
cp h/rle-100000-blocks-total-plus-2e32.mbz fm.mbz
run 1 "-d of a frame failing at its end mark" mbz -d -k fm.mbz
absent "no output left after a failure at the end mark" fm
no_temp "no temporary file left" .

# valid and unusual: 100000 one-byte blocks
sh -c "$LIMIT exec $TO \"\$MBZIP\" -dc \"h/valid-rle-100000-blocks.mbz\"" >"$T/out" 2>"$T/.stderr"
rc=$?
check "100000 one-byte blocks: exit 0 (got $rc)" [ "$rc" -eq 0 ]
head -c 100000 /dev/zero | tr '\0' x >"$T/want"
same "100000 one-byte blocks: decode to 100000 x" "$T/out" "$T/want"
finish
