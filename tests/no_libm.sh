#!/bin/sh
# no_libm.sh - the library's coding path must not use libm (the coding contract, doc/library.md):
# libmbz.so must not link libm, nor import any of its functions.
set -u
: "${top_builddir:=.}"

. "${top_srcdir:-.}/tests/shared_libmbz.sh"
for tool in objdump nm; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "SKIP: $tool not found"
        exit 77
    fi
done

fail=0
needed=$(objdump -p "$lib" | awk '$1 == "NEEDED" { print $2 }')
echo "$lib NEEDED: $(echo $needed)"
case " $(echo $needed) " in
    *" libm.so"*|*" libm-"*|*" libmvec"*)
        echo "FAIL: $lib depends on libm"; fail=1 ;;
esac

# Undefined dynamic symbols that libm provides (float and double variants).
undef=$(nm -D --undefined-only "$lib" | awk '{ print $NF }' | sed 's/@.*//')
bad=$(printf '%s\n' $undef | grep -E '^(exp|exp2|expm1|log|log2|log10|log1p|pow|sqrt|cbrt|sin|cos|tan|asin|acos|atan|atan2|sinh|cosh|tanh|erf|erfc|lgamma|tgamma|floor|ceil|round|lround|llround|rint|lrint|nearbyint|trunc|fmod|remainder|ldexp|frexp|modf|hypot|fma|fmin|fmax|fabs)(f|l)?$' || true)
if [ -n "$bad" ]; then
    echo "FAIL: $lib imports libm functions:" $bad
    fail=1
fi
[ $fail -eq 0 ] && echo "PASS: $lib does not use libm"
exit $fail
