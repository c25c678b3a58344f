/* builtin_models.S - the trained models built into libmbz, so that mbzip needs no
 * other file: model/default.mbzm (levels 5-9) and, when configure found it,
 * model/fast.mbzm (levels 2-4; src/lib/levels.c). The assembler's .incbin copies
 * the bytes verbatim; the include path (-Wa,-I) points at model/ in the source
 * tree, so VPATH builds and `make distcheck` find them. src/lib/model.c loads them
 * through the symbols NAME_data and NAME_size (a 64-bit byte count). */
#include "config.h"

    .macro embed_model name, file
    .section .rodata
    .balign 64
    .globl  \name\()_data
    .hidden \name\()_data
    .type   \name\()_data, @object
\name\()_data:
    .incbin "\file"
\name\()_end:
    .size   \name\()_data, \name\()_end - \name\()_data
    .balign 8
    .globl  \name\()_size
    .hidden \name\()_size
    .type   \name\()_size, @object
\name\()_size:
    .quad   \name\()_end - \name\()_data
    .size   \name\()_size, 8
    .endm

    embed_model mbz_default_model, "default.mbzm"
#ifdef MBZ_HAVE_FAST_MODEL
    embed_model mbz_fast_model, "fast.mbzm"
#endif
    .section .note.GNU-stack, "", @progbits
