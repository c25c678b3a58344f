#!/bin/sh
# Operands that are skipped with a warning (exit status 2 at the end unless an
# error occurred; -q hides the message but not the status).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/cli/lib.sh"

cp "$CORPORA/grammar.lsp" ref

cp ref a.mbz
run 2 "compressing a .mbz file" mbz -1 a.mbz
stderr_has "suffix: message" '^mbzip: a\.mbz: already has \.mbz suffix -- unchanged$'
stderr_one_line "suffix: one line"
absent "suffix: no a.mbz.mbz" a.mbz.mbz
cp ref a.tmbz
run 2 "compressing a .tmbz file" mbz -1 a.tmbz
run 0 "-c compresses a .mbz file anyway" mbz -1 -c a.mbz
cp ref a.z
run 2 "compressing a file with the -S suffix" mbz -1 -S .z a.z

mkdir d
run 2 "a directory" mbz -1 d
stderr_has "directory: message" '^mbzip: d: is a directory -- ignored$'
run 2 "a directory, decompress" mbz -d d
run 2 "a directory, -c" mbz -1 -c d

cp ref target
ln -s target link
run 2 "a symbolic link" mbz -1 link
stderr_has "symlink: message" '^mbzip: link: is a symbolic link -- ignored$'
exists "symlink: target untouched" target
absent "symlink: no output" link.mbz
run 0 "-f follows a symbolic link" mbz -1 -f link
exists "-f symlink: output written" link.mbz
absent "-f symlink: the link is removed" link
exists "-f symlink: the target stays" target
run 0 "-c reads through a symbolic link" sh -c "ln -s target link2 && \"\$MBZIP\" -1 -c link2 >/dev/null"

if command -v mkfifo >/dev/null 2>&1 && mkfifo fifo 2>/dev/null; then
    run 2 "a FIFO" mbz -1 fifo
    stderr_has "FIFO: message" '^mbzip: fifo: is not a regular file -- ignored$'
    exists "FIFO still there" fifo
    # with -c a FIFO is read like a pipe
    (cat ref >fifo &)
    run 0 "-c reads a FIFO" mbz -1 -c fifo
    mv "$T/.stdout" fifo.out.mbz
    run 0 "FIFO data decodes" mbz -dc fifo.out.mbz
    same "FIFO round trip" "$T/.stdout" ref
else
    skip_check "FIFO (mkfifo unavailable)"
fi
run 2 "a character device" mbz -1 /dev/null
stderr_has "device: message" '^mbzip: /dev/null: is not a regular file -- ignored$'

cp ref unk
run 2 "unknown suffix" mbz -d unk
stderr_has "unknown suffix: message" '^mbzip: unk: unknown suffix -- ignored$'
cp ref .mbz
run 2 "a name that is only the suffix" mbz -d .mbz
run 0 "-dc ignores the suffix" sh -c "\"\$MBZIP\" -1 -c ref >plain && \"\$MBZIP\" -dc plain >/dev/null"

cp ref h1 && ln h1 h2
run 2 "a file with another hard link" mbz -1 h1
stderr_has "hard link: message" '^mbzip: h1: has 1 other link -- unchanged$'
run 0 "-k compresses a hard-linked file" mbz -1 -k h1
rm -f h1.mbz
run 0 "-f compresses a hard-linked file" mbz -1 -f h1
exists "-f hard link: the other link stays" h2

# -q: no message, status 2
run 2 "-q with a warning" mbz -q -1 d
stderr_empty "-q: no message"
# several warnings and good files: status 2, good files done
cp ref good
run 2 "warnings and a good file" mbz -1 d a.mbz good unk
exists "good file compressed" good.mbz
check "two warnings printed" [ "$(wc -l <"$T/.stderr")" -eq 2 ]
no_temp "no temporary files" .
finish
