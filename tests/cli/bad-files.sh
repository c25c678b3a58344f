#!/bin/sh
# Every tests/files/bad-*.mbz through mbzip -t, -dc and -d -k (on a copy): exit
# status 1, never a crash, exactly one line "mbzip: FILE: ..." containing one of
# the words tests/files/README gives for it, no output or temporary file left.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/cli/lib.sh"

n=0
for src in "$FILES"/bad-*.mbz; do
    [ -f "$src" ] || continue
    f=$(basename "$src")
    n=$((n + 1))
    words=$(awk -F' [|] ' -v f="$f" '$1 == "| " f { print $2 }' "$FILES/README")
    if [ -z "$words" ]; then fail "$f: not described in tests/files/README"; continue; fi
    pattern=$(printf '%s' "$words" | tr ',' '|')
    mkdir -p w && cp "$src" "w/$f"

    for mode in -t -dc "-d -k"; do
        # shellcheck disable=SC2086
        (cd w && "$MBZIP" $mode -T2 "$f") >"$T/.stdout" 2>"$T/.stderr" </dev/null
        rc=$?
        if [ $rc -ge 128 ]; then fail "$f: mbzip $mode crashed (status $rc)"; continue; fi
        check "$f: mbzip $mode exits 1 (got $rc)" [ $rc -eq 1 ]
        stderr_one_line "$f: mbzip $mode: one message line"
        if grep -q "^mbzip: $f: " "$T/.stderr"; then ok "$f: $mode names the file"; else fail "$f: $mode: message does not name the file"; fi
        if grep -Eqi -- "$pattern" "$T/.stderr"; then ok "$f: $mode message"; else fail "$f: mbzip $mode: message does not match /$pattern/"; fi
        check "$f: mbzip $mode: nothing left in the directory" [ "$(ls -A w)" = "$f" ]
        same "$f: mbzip $mode: input untouched" "w/$f" "$src"
    done
    # from stdin as well (no name to give: "(stdin)")
    "$MBZIP" -dc <"$src" >/dev/null 2>"$T/.stderr"
    rc=$?
    check "$f: stdin: exit status 1 (got $rc)" [ $rc -eq 1 ]
    stderr_one_line "$f: stdin: one message line"
    rm -rf w
done
check "bad files found ($n)" [ "$n" -ge 20 ]

# -l only reads headers: it may or may not notice payload damage, but it never
# crashes and reports header damage.
for src in "$FILES"/bad-*.mbz; do
    f=$(basename "$src")
    "$MBZIP" -l "$src" >/dev/null 2>"$T/.stderr"
    rc=$?
    check "$f: -l does not crash (status $rc)" [ $rc -le 1 ]
done
for f in bad-magic.mbz bad-version.mbz bad-flip-frameheader.mbz bad-trunc-header.mbz bad-empty.mbz bad-huge-blocksize.mbz; do
    run 1 "-l $f" mbz -l "$FILES/$f"
    stderr_one_line "-l $f: one line"
done
finish
