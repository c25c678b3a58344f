# shared_libmbz.sh - sourced by the tests that inspect the built libmbz.so
# (no_libm.sh, lib_exports.sh): sets $lib to the shared object under
# $top_builddir/.libs, or exits 77 (skipped) when the build has none
# (--disable-shared).
lib=
for f in "$top_builddir"/.libs/libmbz.so "$top_builddir"/.libs/libmbz.so.*; do
    if [ -f "$f" ] && [ ! -L "$f" ]; then lib=$f; break; fi
done
if [ -z "$lib" ]; then
    echo "SKIP: no shared libmbz under $top_builddir/.libs (built with --disable-shared?)"
    exit 77
fi
