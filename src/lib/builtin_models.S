/* default_model.S - the trained default model (model/default.mbzm), built into
 * libmbz so that mbzip needs no other file. The assembler's .incbin copies the
 * bytes verbatim; the include path (-Wa,-I) points at model/ in the source tree,
 * so VPATH builds and `make distcheck` find it. */
    .section .rodata
    .balign 64
    .globl  mbz_default_model_data
    .hidden mbz_default_model_data
    .type   mbz_default_model_data, @object
mbz_default_model_data:
    .incbin "default.mbzm"
mbz_default_model_end:
    .size   mbz_default_model_data, mbz_default_model_end - mbz_default_model_data
    .balign 8
    .globl  mbz_default_model_size
    .hidden mbz_default_model_size
    .type   mbz_default_model_size, @object
mbz_default_model_size:
    .quad   mbz_default_model_end - mbz_default_model_data
    .size   mbz_default_model_size, 8
    .section .note.GNU-stack, "", @progbits
