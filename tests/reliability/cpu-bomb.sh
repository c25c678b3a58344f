#!/bin/sh
# CPU amplification: a 63-byte frame whose one modelled block declares 2^26 bytes
# of content with a 1-byte payload. The range decoder reads virtual zero bytes past
# the payload, and the block is only found inconsistent ("modelled payload length
# inconsistent with its content") after all 2^26 model steps: about a minute with
# the order-2 model, many minutes with a MEGABYTE model, for 63 bytes (and a batch of
# such blocks is decoded before the first error is reported). The decoder can stop
# as soon as it has read more than payload_size + 8 bytes (doc/format.md,
# "Consistency": such a block can never be valid), which bounds the work by the
# payload size: a model table gives no symbol more than 65281/65536, so each byte of
# payload (plus the 8 slack) covers at most ~1400 symbols (~2800 for the binary coder
# of CM frames, whose bits never exceed 4095/4096: hostile.sh's bomb-cm-* frames).
#
# The decoders must reject these within the hang guard (60 s; the fixed decoder
# needs milliseconds; the unfixed one needs over a minute for order-2 on a fast
# machine and far longer for the MEGABYTE model).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/cli/lib.sh"

RELTOOL=${RELTOOL:-$top_builddir/reltool}
MKMODEL=${MKMODEL:-$top_builddir/mkmodel}
[ -x "$RELTOOL" ] || { echo "SKIP: $RELTOOL is not built"; exit 77; }
command -v timeout >/dev/null 2>&1 || { echo "SKIP: needs timeout(1) as a hang guard"; exit 77; }

try() {
    $(hang_guard 60) "$MBZIP" -t -T1 "$@" >/dev/null 2>"$T/.stderr"
    rc=$?
    if [ "$rc" -eq 124 ]; then
        fail "$*: still decoding after 60 s (63-byte input; CPU amplification, see the comment in $0)"
    else
        check "$*: exit status 1 (got $rc)" [ "$rc" -eq 1 ]
        stderr_has "$*: payload inconsistent" 'inconsistent|corrupt'
    fi
}

"$RELTOOL" bomb - 26 o2.mbz
try o2.mbz
if [ -x "$MKMODEL" ]; then
    "$MKMODEL" tiny.mbzm --tiny --seed 1 >/dev/null
    "$RELTOOL" bomb tiny.mbzm 26 mb.mbz
    try --model tiny.mbzm mb.mbz
else
    skip_check "MEGABYTE case: $MKMODEL not built"
fi
finish
