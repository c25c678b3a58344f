#!/bin/sh
# Every option, short and long, combined short options, option errors.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/cli/lib.sh"

cp "$CORPORA/xargs.1" ref
fresh() { cp ref f; rm -f f.mbz f.z; }

# -h / --help, -V / --version
run 0 "-h" mbz -h
stdout_has "-h prints usage" '^Usage: mbzip'
stderr_empty "-h: nothing on stderr"
run 0 "--help" mbz --help
stdout_has "--help prints usage" '^Usage: mbzip'
run 0 "-V" mbz -V
stdout_has "-V prints the version" '^mbzip [0-9]+\.[0-9]+\.[0-9]+'
stdout_has "-V prints the default model's fingerprint" 'model: [0-9a-f]{16} '
run 0 "--version" mbz --version
stdout_has "--version prints the version" '^mbzip [0-9]'

# -z --compress (default), -d --decompress --uncompress
fresh
run 0 "-z" mbz -z -1 f
exists "-z makes f.mbz" f.mbz
run 0 "-d" mbz -d f.mbz
same "-d restores f" f ref
run 0 "--compress" mbz --compress -1 f
run 0 "--decompress" mbz --decompress f.mbz
same "--decompress restores f" f ref
mbz -1 f
run 0 "--uncompress" mbz --uncompress f.mbz
same "--uncompress restores f" f ref
mbz -1 f
run 2 "-d then -z: the last one wins" mbz -d -z -k f.mbz
stderr_has "-d -z compresses (warns about the suffix)" 'already has .mbz suffix'
rm -f f.mbz

# -c --stdout --to-stdout
fresh
run 0 "-c" mbz -1 -c f
exists "-c keeps the input" f
absent "-c writes no file" f.mbz
cp "$T/.stdout" c.mbz
run 0 "--stdout" mbz -1 --stdout f
same "--stdout = -c" "$T/.stdout" c.mbz
run 0 "--to-stdout" mbz -1 --to-stdout f
same "--to-stdout = -c" "$T/.stdout" c.mbz
run 0 "-dc" mbz -dc c.mbz
same "-dc decompresses to stdout" "$T/.stdout" ref
exists "-dc keeps the input" c.mbz
run 0 "-cd" mbz -cd c.mbz
same "-cd = -dc" "$T/.stdout" ref

# -k --keep
fresh
run 0 "-k" mbz -1 -k f
exists "-k keeps the input" f
exists "-k writes the output" f.mbz
rm -f f
run 0 "-dk" mbz -dk f.mbz
exists "-dk keeps the compressed file" f.mbz
same "-dk restores" f ref
rm -f f.mbz
run 0 "--keep" mbz -1 --keep f
exists "--keep keeps the input" f

# -f --force
run 1 "existing output refused" mbz -1 -k f
stderr_has "existing output: message" '^mbzip: f\.mbz: already exists; use -f to overwrite$'
run 0 "-f overwrites" mbz -1 -k -f f
run 0 "--force overwrites" mbz -1 -k --force f

# -t --test, -l --list
run 0 "-t" mbz -t f.mbz
stderr_empty "-t is silent"
check "-t writes nothing to stdout" [ ! -s "$T/.stdout" ]
run 0 "--test" mbz --test f.mbz
run 0 "-tv" mbz -tv f.mbz
stderr_has "-tv says OK" '^f\.mbz: OK$'
run 0 "-l" mbz -l f.mbz
stdout_has "-l prints a table" 'compressed +uncompressed +ratio +bits/byte +blocks +model +name'
run 0 "--list" mbz --list f.mbz
stdout_has "--list prints the file" ' f\.mbz$'
run 0 "-l - reads stdin" sh -c "\"\$MBZIP\" -l <f.mbz"
stdout_has "-l stdin is (stdin)" '\(stdin\)$'

# -v --verbose, -q --quiet
fresh
run 0 "-v" mbz -1 -v f
stderr_has "-v reports ratio, bits/byte and the new name" '^f: +-?[0-9]+\.[0-9]%.*[0-9]\.[0-9]+ bits/byte.* -- replaced with f\.mbz$'
run 0 "-dv" mbz -dv f.mbz
stderr_has "-dv reports" '^f\.mbz: +-?[0-9]+\.[0-9]%.* -- replaced with f$'
run 0 "--verbose -c" mbz -1 --verbose -c f
stderr_has "-vc reports without a new name" '^f: +-?[0-9]+\.[0-9]%.*bits/byte.*\)$'
run 0 "-v on stdin" sh -c "\"\$MBZIP\" -1 -v <f >/dev/null"
stderr_has "-v on stdin names (stdin)" '^\(stdin\): '
run 0 "-v is silent on a pipe without a terminal (no progress line)" sh -c "\"\$MBZIP\" -1 -v <f >/dev/null"
check "no carriage return in -v output on a non-terminal" [ "$(tr -cd '\r' <"$T/.stderr" | wc -c)" -eq 0 ]
mkdir -p d
run 2 "-q: warning status without message" mbz -q d
stderr_empty "-q suppresses warnings"
run 2 "--quiet" mbz --quiet d
stderr_empty "--quiet suppresses warnings"
run 2 "--silent" mbz --silent d
run 0 "-qv: quiet wins" mbz -qv -1 -c f
stderr_empty "-qv prints nothing"

# -1 .. -9, --fast, --best: all decode; levels are recorded in the frame
for l in 1 2 3 4 5 6 7 8 9; do
    run 0 "-$l" mbz -$l -T2 -c "$CORPORA/grammar.lsp"
    mv "$T/.stdout" "l$l.mbz"
    run 0 "-$l decodes" mbz -dc "l$l.mbz"
    same "-$l round trip" "$T/.stdout" "$CORPORA/grammar.lsp"
    run 0 "-l on a -$l file" mbz -lv "l$l.mbz"
    stdout_has "-lv shows level $l" "^ +[0-9]+ +[0-9]+ +[-0-9.%]+ +[-0-9.]+ +[0-9]+ +[0-9]+ +[0-9]+ +$l +[0-9a-f]{16} "
done
run 0 "--fast" mbz --fast -c "$CORPORA/grammar.lsp"
same "--fast = -1" "$T/.stdout" l1.mbz
run 0 "--best" mbz --best -T2 -c "$CORPORA/grammar.lsp"
same "--best = -9" "$T/.stdout" l9.mbz
run 0 "-19: the last level wins" mbz -19 -T2 -c "$CORPORA/grammar.lsp"
same "-19 = -9" "$T/.stdout" l9.mbz

# -T N, -TN, --threads=N, --threads N; output does not depend on the thread count
for t in "-T1" "-T 2" "-T0" "--threads=3" "--threads 1"; do
    # shellcheck disable=SC2086
    run 0 "$t" mbz -1 $t -c "$CORPORA/grammar.lsp"
    same "$t: same output" "$T/.stdout" l1.mbz
done
run 1 "-T with a non-number" mbz -T x -c f
stderr_has "-T x: message" "^mbzip: invalid number of threads: 'x'$"
run 1 "-T negative" mbz -T -1 -c f
run 1 "-T too large" mbz -T 99999999999 -c f
run 1 "-T without a value" mbz -T
stderr_has "-T without a value: message" "^mbzip: option requires an argument -- 'T'$"

# -S SUF, --suffix=SUF
fresh
run 0 "-S .z" mbz -1 -S .z f
exists "-S .z makes f.z" f.z
absent "-S .z: no f.mbz" f.mbz
run 2 "-d without -S on f.z: unknown suffix" mbz -d f.z
stderr_has "unknown suffix warning" '^mbzip: f\.z: unknown suffix -- ignored$'
run 0 "-d -S .z" mbz -d -S .z f.z
same "-S .z round trip" f ref
run 0 "--suffix=_c" mbz -1 --suffix=_c f
exists "--suffix=_c makes f_c" f_c
run 0 "--suffix _c -d" mbz --suffix _c -d f_c
same "--suffix round trip" f ref
run 0 "-S .z still accepts .mbz" sh -c "\"\$MBZIP\" -1 -k f && \"\$MBZIP\" -d -f -S .z f.mbz"
run 1 "-S ''" mbz -S '' f
stderr_has "empty suffix: message" "^mbzip: invalid suffix: ''"
run 1 "-S with a slash" mbz -S /x f
rm -f f.mbz

# -- ends the options
fresh
cp ref ./-k
run 0 "-- FILE with a leading dash" mbz -1 -- -k
exists "-- -k compressed" ./-k.mbz
absent "-- -k removed" ./-k
run 0 "-d -- -k.mbz" mbz -d -- -k.mbz
same "-- round trip" ./-k ref

# options after operands (GNU style), and '-' as an operand
fresh
run 0 "options after the file" mbz f -1 -k
exists "f -1 -k: f.mbz" f.mbz
exists "f -1 -k: f kept" f
run 0 "- is stdin" sh -c "\"\$MBZIP\" -1 - <f | \"\$MBZIP\" -d - >f.out"
same "- round trip" f.out ref

# combined short options
rm -f f.mbz
run 0 "-9k -T2" mbz -9kT2 f
exists "-9kT2 keeps" f
exists "-9kT2 writes" f.mbz
run 0 "-dcq" mbz -dcq f.mbz
same "-dcq" "$T/.stdout" ref
run 0 "-kfv1" mbz -kfv1 f
stderr_has "-kfv1 is verbose" 'bits/byte'

# --model FILE and MBZIP_MODEL
run 1 "--model with a missing file" mbz --model nonexistent.model -c f
stderr_has "--model missing: message names the file" '^mbzip: nonexistent\.model: '
stderr_one_line "--model missing: one line"
run 1 "MBZIP_MODEL with a missing file" env MBZIP_MODEL=nonexistent.model "$MBZIP" -c f
stderr_has "MBZIP_MODEL missing: message" '^mbzip: nonexistent\.model: '
printf 'this is not a model' >bad.model
run 1 "--model with an invalid file" mbz --model bad.model -c f
stderr_one_line "--model invalid: one line"
run 1 "--model=FILE form" mbz --model=bad.model -c f
run 1 "--model without a file" mbz -c f --model
stderr_has "--model without a file: message" "^mbzip: option '--model' requires an argument$"
run 0 "empty MBZIP_MODEL is ignored" env MBZIP_MODEL= "$MBZIP" -1 -c f

# invalid options
run 1 "unknown short option" mbz -j f
stderr_has "unknown short option: message" "^mbzip: invalid option -- 'j'$"
stderr_has "unknown option: hint" "^Try 'mbzip --help' for more information\.$"
run 1 "unknown long option" mbz --frobnicate f
stderr_has "unknown long option: message" "^mbzip: unrecognized option '--frobnicate'$"
exists "input untouched after an option error" f
no_temp "no temporary files" .
finish
