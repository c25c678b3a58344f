/*
 * modelfile.h - the MEGABYTE model: hyperparameters, tensor layout and the model file
 * (doc/model-format.md). This is the ONE definition shared by the trainer (mbtrain,
 * which writes model files) and the integer inference engine (which reads them).
 */
#ifndef MBZ_MODELFILE_H
#define MBZ_MODELFILE_H

#include <stddef.h>
#include <stdint.h>

#include "mbz.h"

#define MBZM_MAGIC "MBZMODEL"      /* 8 bytes, no NUL */
#define MBZM_VERSION 1
#define MBZM_ALIGN 64              /* tensor data offsets are multiples of this */
#define MBZM_NAME_LEN 32           /* tensor names, NUL-padded */
#define MBZM_MAX_TENSORS 4096

/* Option bits (hparams.options), all implemented by trainer and engine
 * (doc/model-format.md); a file with any other bit set is refused, clearly. */
#define MBZM_OPT_CROSS_PATCH   (1u << 0) /* local attention also sees last r positions of previous patch */
#define MBZM_OPT_CONV_ENCODER  (1u << 1) /* causal conv (3,5,7) over byte embeddings before patching */
#define MBZM_OPT_STRIDED       (1u << 2) /* informational: strided inference is the frame's choice (level 9) */
#define MBZM_OPT_INT8_ACT      (1u << 3) /* linear layers (all but the conv encoder) take int8 activations:
                                          * groups of MBZM_Q8_GROUP inputs, power-of-two scales */
#define MBZM_OPT_GLOBAL_LAG    (1u << 4) /* patch k's global input is patch k - global_lag (>= 2), so
                                          * a decoder can run the global step of patch k + 1
                                          * while it decodes patch k */
#define MBZM_OPT_PREV_PATCH    (1u << 5) /* the local input of patch k also gets patch k-1's global
                                          * byte embeddings through the linear group l.prev */

/* MBZM_OPT_GLOBAL_LAG: global_lag in [2, MBZM_MAX_LAG] (0 without the option). */
#define MBZM_MAX_LAG 8

/* MBZM_OPT_INT8_ACT: each row of a linear layer's int16 input is cut into groups of
 * MBZM_Q8_GROUP consecutive inputs (the last one may be shorter); a group is stored as
 * int8 values q in [-127, 127] and one shift e in 0..7 (mbz_act_q8, qmath.h), and the
 * layer's sum is sum over groups of (sum q * w) << e. doc/model-format.md, "Arithmetic". */
#define MBZM_Q8_GROUP 64
#define MBZM_Q8_MAX 127
/* MBZM_OPT_CONV_ENCODER: MBZM_CONV_LAYERS causal residual conv layers over the global
 * byte embeddings, layer j with kernel size MBZM_CONV_KERNEL(j) (3, 5, 7); tensors
 * g.conv.{j} (linear group, D_E x kernel*D_E). Receptive field MBZM_CONV_REACH bytes
 * back. The widest layer's input, 7*D_E, must be <= MBZM_MAX_DIN. */
#define MBZM_CONV_LAYERS 3
#define MBZM_CONV_KERNEL(j) (3 + 2 * (j))
#define MBZM_CONV_REACH 12         /* sum of (kernel - 1) */

/* Fixed-point conventions of the integer engine (doc/model-format.md, "Arithmetic"). */
#define MBZM_RES_SHIFT 12          /* residual stream: int32, real = r / 2^12 */
#define MBZM_RES_CLAMP (1 << 24)   /* residual values are saturated to [-2^24, 2^24] */
#define MBZM_NORM_ONE 1024         /* RMSNorm output: int16, real = y / 1024 */
#define MBZM_ACT_CLAMP 8191        /* int16 activations (norm out, v, attn out, MLP hidden) in [-8191, 8191] */
#define MBZM_QK_CLAMP 2047         /* q and k in [-2047, 2047] */
#define MBZM_LOGIT_CLAMP (1 << 20) /* head output (log2 units, Q8) saturated to [-2^20, 2^20] */
#define MBZM_MAX_DIN 2048          /* longest dot product (bounds int32 accumulation) */
#define MBZM_MAX_HEAD_DIM 256

/* Hyperparameters, stored as 16 little-endian u32 after the file header. */
typedef struct {
    uint32_t patch;        /* P: bytes per patch (8 for text) */
    uint32_t d_emb;        /* D_E: global byte-embedding width; D_G = P * D_E */
    uint32_t g_layers;     /* global transformer depth */
    uint32_t g_heads;      /* global attention heads (D_G % g_heads == 0) */
    uint32_t g_ff;         /* global MLP hidden width */
    uint32_t l_dim;        /* D_L: local transformer width */
    uint32_t l_layers;
    uint32_t l_heads;
    uint32_t l_ff;
    uint32_t ctx_patches;  /* K: global attention window in patches; context C = K * P bytes */
    uint32_t options;      /* MBZM_OPT_* */
    uint32_t cross_r;      /* r for MBZM_OPT_CROSS_PATCH (0 otherwise) */
    uint32_t global_lag;   /* L for MBZM_OPT_GLOBAL_LAG (0 otherwise: a lag of 1) */
    uint32_t reserved[3];  /* must be 0 */
} mbzm_hparams;

#define MBZM_N_HPARAMS 16

enum { MBZM_I8 = 1, MBZM_I16 = 2, MBZM_I32 = 3 };

/* One named tensor: at most 2 dimensions, row-major, dims[0] = rows. */
typedef struct {
    char name[MBZM_NAME_LEN];
    uint32_t dtype;        /* MBZM_I8 / MBZM_I16 / MBZM_I32 */
    uint32_t rows, cols;   /* a vector has rows = 1 */
    const void *data;      /* little-endian values */
} mbzm_tensor;

/* A parsed file: hparams and a tensor table pointing into the file's bytes. */
typedef struct {
    mbzm_hparams hp;
    uint32_t n_tensors;
    mbzm_tensor *tensors;  /* n_tensors entries; data points into `bytes` */
    uint8_t *bytes;        /* owned copy of the file (aligned to MBZM_ALIGN) */
    size_t size;
    uint64_t fingerprint;  /* xxh64(file bytes, seed 0) */
} mbzm_file;

/* Parse and validate structure: magic, version, sizes, offsets, alignment, names, the
 * trailing checksum, hparams bounds and that every tensor the architecture needs is
 * present with the right dtype and shape (mbzm_expected_shape). Value bounds are
 * checked by the engine that uses them. On error returns an mbz_status and writes a
 * one-line message into err (if non-NULL). */
int mbzm_parse(const void *data, size_t size, mbzm_file *out, char *err, size_t errlen);

/* The bytes of the model file at path (malloc'ed into *out, *out_len of them; at most
 * MBZM_FILE_MAX), read in chunks (pipes, /proc). Returns an mbz_status, the message in
 * err (mbz.h). Used by mbz_model_load_file and by mbtrain. */
#define MBZM_FILE_MAX ((size_t)1 << 30)   /* 1 GiB: a model far beyond what the coder could
                                            * run at a useful speed */
int mbzm_read_file(const char *path, unsigned char **out, size_t *out_len, mbz_error *err);
void mbzm_free(mbzm_file *f);
const mbzm_tensor *mbzm_find(const mbzm_file *f, const char *name);

/* Check hparams against the architecture's limits (divisibility, bounds). */
int mbzm_check_hparams(const mbzm_hparams *hp, char *err, size_t errlen);

/* The list of tensors the architecture needs for hp, in file order: calls fn for each
 * (name, dtype, rows, cols). Returns the count. Shared by writer, parser and trainer. */
typedef void (*mbzm_tensor_fn)(void *user, const char *name, uint32_t dtype,
                               uint32_t rows, uint32_t cols);
int mbzm_for_each_tensor(const mbzm_hparams *hp, mbzm_tensor_fn fn, void *user);

/* Serialise hparams + tensors (in the order given) into a malloc'ed buffer
 * (doc/model-format.md). Returns an mbz_status. */
int mbzm_write_buffer(const mbzm_hparams *hp, const mbzm_tensor *t, uint32_t n,
                      uint8_t **out, size_t *out_size);
/* Same, to a file, atomically (temporary name + rename). */
int mbzm_write_file(const char *path, const mbzm_hparams *hp, const mbzm_tensor *t,
                    uint32_t n, char *err, size_t errlen);

#endif
