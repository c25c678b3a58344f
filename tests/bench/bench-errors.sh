#!/bin/sh
# mbzip -b errors: missing, unreadable and directory operands (exit 1, one message
# each, the other files still measured), bad levels and options.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/cli/lib.sh"

cp "$CORPORA/grammar.lsp" g

run 1 "-b: missing file" mbz -b1 -i1 nosuch g
stderr_one_line "-b: missing file: one message"
stderr_has "-b: missing file named" '^mbzip: nosuch: '
check "-b: the good file still measured" [ "$(awk 'NR > 2 && $12 == "g" && $11 == "ok"' "$T/.stdout" | wc -l)" -eq 1 ]

mkdir d
run 1 "-b: directory" mbz -b1 -i1 d
stderr_has "-b: directory named" '^mbzip: d: is a directory'

if [ "$(id -u)" != 0 ]; then
    cp g unreadable && chmod 000 unreadable
    run 1 "-b: unreadable file" mbz -b1 -i1 unreadable
    stderr_has "-b: unreadable named" '^mbzip: unreadable: '
else
    skip_check "unreadable file (running as root)"
fi

run 1 "-b: no operand" mbz -b1
stderr_has "-b: no operand" 'needs FILE'
run 1 "-b0: bad level" mbz -b0 g
stderr_has "-b0: message" "invalid level for -b: '0'"
run 1 "-b10: bad level" mbz -b10 g
run 1 "-e10: bad level" mbz -b1 -e10 g
run 1 "-e below -b" mbz -b5 -e2 g
stderr_has "-e below -b: message" '-e 2 is below -b5'
run 1 "-i0: bad runs" mbz -b1 -i0 g
stderr_has "-i0: message" "invalid number of runs"
run 1 "--csv without -b" mbz --csv g
stderr_has "--csv without -b: message" 'apply only to -b'
absent "--csv without -b: nothing compressed" g.mbz

finish
