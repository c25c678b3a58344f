#!/bin/sh
# Replay the fuzz harnesses (tests/fuzz/fuzz_*.c, built with tests/fuzz/replay.c and
# this build's compiler and flags, sanitizers included in the sanitizer build) on
# the generated seeds, tests/files/*.mbz, the committed corpus tests/fuzz/corpus/
# and the crash inputs waiting for a fix in tests/reliability/crashers/. A violated
# property aborts the harness (status >= 128).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/cli/lib.sh"

for p in replay_frame replay_modelfile replay_roundtrip replay_archive replay_media mkseeds; do
    [ -x "$top_builddir/$p" ] || { echo "SKIP: $p is not built"; exit 77; }
done
run 0 "mkseeds" "$top_builddir/mkseeds" seeds
C=$top_srcdir/tests/fuzz/corpus
for h in frame modelfile roundtrip archive media; do
    set -- seeds/$h
    [ -d "$C/$h" ] && set -- "$@" "$C/$h"
    [ $h = frame ] && set -- "$@" "$FILES"
    # crash inputs waiting for a fix: *.mbzm are model files, archive-* archives
    # (fuzz_archive), the rest frames
    for c in "$top_srcdir"/tests/reliability/crashers/*; do
        [ -f "$c" ] || continue
        case $h:${c##*/} in
            modelfile:*.mbzm|archive:archive-*) set -- "$@" "$c" ;;
            frame:*.mbzm|frame:archive-*|modelfile:*|roundtrip:*|archive:*|media:*) ;;
            frame:*) set -- "$@" "$c" ;;
        esac
    done
    run 0 "replay_$h $*" "$top_builddir/replay_$h" "$@"
    cat "$T/.stdout"
done
finish
