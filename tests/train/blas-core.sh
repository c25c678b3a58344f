#!/bin/sh
# blas-core.sh - mbtrain --blas-core: a bad core name is a usage error; the chosen
# kernels pass the sgemm self-test before training; a failed self-test falls back
# to the environment's kernels and says so. The test never changes the kernel set
# (OPENBLAS_CORETYPE stays what the environment says): it asks for the core the
# environment already forces, so no re-execution switches kernels.
. "$(dirname "$0")/common.sh"
gen_text "$tmp/text.txt" 300
RUN="--no-default-excludes --steps 2 --eval-every 0 --ckpt $tmp/c.ckpt $tmp/text.txt"

set +e
# shellcheck disable=SC2086
"$MBTRAIN" $TINY --blas-core 'Sky/lake' $RUN > "$tmp/log" 2> "$tmp/err"
rc=$?
set -e
[ "$rc" -eq 1 ] && grep -q "not an OpenBLAS core name" "$tmp/err" ||
  { cat "$tmp/err"; echo "a bad core name was not refused (status $rc)"; exit 1; }
echo "bad core name refused: ok"

core=${OPENBLAS_CORETYPE:-}
if [ -z "$core" ]; then
  echo "OPENBLAS_CORETYPE is not set: the self-test runs are skipped (they would switch kernels)"
  exit 0
fi
# shellcheck disable=SC2086
"$MBTRAIN" $TINY --blas-core "$core" $RUN > "$tmp/log" 2> "$tmp/err" || { cat "$tmp/err"; exit 1; }
grep -q "sgemm self-test passed\|cannot run those kernels" "$tmp/err" || { cat "$tmp/err"; echo "no self-test report"; exit 1; }
grep -q "^step 2/2" "$tmp/log" || { cat "$tmp/log"; echo "did not train"; exit 1; }
echo "--blas-core $core: self-test and training: ok"

# shellcheck disable=SC2086
MBTRAIN_BLAS_SELFTEST_FAIL=1 "$MBTRAIN" $TINY --blas-core "$core" $RUN > "$tmp/log" 2> "$tmp/err" ||
  { cat "$tmp/err"; exit 1; }
if grep -q "cannot run those kernels" "$tmp/err"; then
  echo "this CPU cannot run $core: fallback not reached, skipped"
  exit 0
fi
grep -q "failure injected.*falling back" "$tmp/err" && grep -q "kernels .* (the environment's)" "$tmp/err" ||
  { cat "$tmp/err"; echo "no fallback report"; exit 1; }
grep -q "^step 2/2" "$tmp/log" || { cat "$tmp/log"; echo "did not train after the fallback"; exit 1; }
echo "failed self-test: falls back and trains: ok"
