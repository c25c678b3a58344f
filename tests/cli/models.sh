#!/bin/sh
# Models by fingerprint: a frame made with a model that is neither built in nor
# given with --model decodes when <fingerprint>.mbzm is in a directory of the model
# path (MBZIP_MODEL_PATH, then the installed directory), so that replacing the
# default model never orphans a file; a missing model is named in a one-line error;
# a file whose bytes are not the model its name says is passed over, never trusted;
# --list-models shows what is available.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/cli/lib.sh"

MKMODEL=${MKMODEL:-$top_builddir/mkmodel}
[ -x "$MKMODEL" ] || { echo "SKIP: $MKMODEL is not built"; exit 77; }
"$MKMODEL" m.mbzm --tiny --seed 7 >/dev/null || { fail "mkmodel"; finish; }
fp=$(MBZIP_MODEL=m.mbzm "$MBZIP" -V | sed -n 's/^selected model: \([0-9a-f]\{16\}\) .*/\1/p')
check "the selected model's fingerprint is shown by -V" [ ${#fp} -eq 16 ]

head -c 3000 "$top_srcdir/corpora/alice29.txt" >f
run 0 "compress with a model from a file" mbz -2 --model m.mbzm -c f
cp "$T/.stdout" f.mbz
run 1 "decompress without that model" mbz -dc f.mbz
stderr_one_line "missing model: one line"
stderr_has "missing model: names its fingerprint and the model path" "model $fp, which is not available.*$fp\\.mbzm"

mkdir -p dir bad
cp m.mbzm "dir/$fp.mbzm"
MBZIP_MODEL_PATH=$T/dir
export MBZIP_MODEL_PATH
run 0 "decompress with the model in MBZIP_MODEL_PATH" mbz -dc f.mbz
same "found by fingerprint: decodes to the original" "$T/.stdout" f
run 0 "-t with the model in the path" mbz -t f.mbz

# a file named like the fingerprint whose bytes are another model is passed over
"$MKMODEL" other.mbzm --tiny --seed 8 >/dev/null || fail "mkmodel (other)"
cp other.mbzm "bad/$fp.mbzm"
MBZIP_MODEL_PATH=$T/bad:$T/dir
run 0 "a wrong file first in the path is passed over" mbz -dc f.mbz
same "passed over: decodes to the original" "$T/.stdout" f
MBZIP_MODEL_PATH=$T/bad
run 1 "only a wrong file in the path: not available" mbz -dc f.mbz
stderr_has "wrong file: the model is still missing" "model $fp, which is not available"

MBZIP_MODEL_PATH=$T/bad:$T/dir
run 0 "--list-models" mbz --list-models
stdout_has "--list-models: the path" "^model path: $T/bad:$T/dir"
stdout_has "--list-models: the built-in default" "^[0-9a-f]{16}  megabyte .*built in, default|^[0-9a-f]{16}  order2 .*built in, default"
stdout_has "--list-models: the model in the path" "^$fp  megabyte .*$T/dir/$fp\\.mbzm"
stdout_has "--list-models: the wrong file is marked" "^$fp  \\(invalid.*$T/bad/$fp\\.mbzm"
finish
