#!/bin/sh
# The integer inference path must not use floating point or libm.
: "${top_srcdir:=.}"
cd "$top_srcdir/src/lib" || exit 99
if grep -nwE 'float|double|long double|sqrtf?|expf?|logf?|powf?|<math\.h>|<tgmath\.h>' \
        modelfile.c qmath.c qmath.h kernels.c kernels.h kernels_avx2.c kernels_avx512.c \
        megabyte.h megabyte_impl.h megabyte.c megabyte_global.c megabyte_local.c \
        megabyte_load.c megabyte_profile.c megabyte_team.c cm.h cm.c bitcoder.h; then
    echo "floating point in the integer inference path"; exit 1
fi
exit 0
