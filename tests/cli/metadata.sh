#!/bin/sh
# Metadata: mode, mtime/atime (with nanoseconds) and owner go from input to output
# both ways; inputs are removed only after the output is complete (not with -k, -c).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/cli/lib.sh"

if ! stat -c %Y . >/dev/null 2>&1; then
    echo "SKIP: needs GNU stat"
    exit 77
fi

cp "$CORPORA/cp.html" f
cp f ref
chmod 640 f
touch -d '2001-02-03 04:05:06.123456789' f
touch -a -d '2002-03-04 05:06:07.5' f
mtime=$(stat -c %y f)
atime=$(stat -c %x f)

run 0 "compress" mbz -1 f
check "compressed: mode 640 kept ($(stat -c %a f.mbz))" [ "$(stat -c %a f.mbz)" = 640 ]
check "compressed: mtime kept with nanoseconds ($(stat -c %y f.mbz))" [ "$(stat -c %y f.mbz)" = "$mtime" ]
check "compressed: atime kept" [ "$(stat -c %x f.mbz)" = "$atime" ]
check "compressed: owner kept" [ "$(stat -c %u:%g f.mbz)" = "$(id -u):$(id -g)" ]
run 0 "decompress" mbz -d f.mbz
check "decompressed: mode 640 kept" [ "$(stat -c %a f)" = 640 ]
check "decompressed: mtime kept with nanoseconds" [ "$(stat -c %y f)" = "$mtime" ]
same "decompressed content" f ref

chmod 4755 f 2>/dev/null || chmod 755 f
want=$(stat -c %a f)
run 0 "compress an executable" mbz -1 f
check "special mode bits kept ($want -> $(stat -c %a f.mbz))" [ "$(stat -c %a f.mbz)" = "$want" ]
mbz -d f.mbz
chmod 600 f
run 0 "compress mode 600" mbz -1 f
check "mode 600 kept" [ "$(stat -c %a f.mbz)" = 600 ]
mbz -d f.mbz

# Another group, if we belong to one (or are root): the group is kept.
other=$(id -G | tr ' ' '\n' | grep -vx "$(id -g)" | head -n 1)
if [ "$(id -u)" -eq 0 ]; then other=${other:-1}; fi
if [ -n "$other" ] && chgrp "$other" f 2>/dev/null; then
    run 0 "compress a file of another group" mbz -1 f
    check "group kept ($other)" [ "$(stat -c %g f.mbz)" = "$other" ]
    if [ "$(id -u)" -eq 0 ]; then
        mbz -d f.mbz && chown 1:"$other" f
        run 0 "compress a file of another owner (root)" mbz -1 f
        check "owner kept" [ "$(stat -c %u:%g f.mbz)" = "1:$other" ]
    fi
    mbz -d f.mbz
else
    skip_check "group preservation (no other group)"
fi

# -k and -c keep the input; -c does not touch the input's times.
touch -d '2001-02-03 04:05:06.123456789' f
run 0 "-k" mbz -1 -k f
exists "-k: input kept" f
check "-k: input mtime unchanged" [ "$(stat -c %y f)" = "$mtime" ]
rm -f f.mbz
run 0 "-c" mbz -1 -c f
exists "-c: input kept" f
absent "-c: no output file" f.mbz

# The output of stdin mode is just stdout: a new file, with the umask.
(umask 022 && "$MBZIP" -1 <f >fromstdin.mbz)
check "stdin output: mode from the shell ($(stat -c %a fromstdin.mbz))" [ "$(stat -c %a fromstdin.mbz)" = 644 ]

# The temporary output is created in the output's directory and renamed.
mkdir -p out
cp ref out/g
run 0 "compress in a subdirectory" mbz -1 out/g
check "subdirectory: only g.mbz there" [ "$(ls -A out)" = g.mbz ]
finish
