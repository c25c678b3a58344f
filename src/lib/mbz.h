/*
 * mbz.h - public API of libmbz, the mbzip compression library.
 *
 * mbzip codes bytes with a range coder driven by per-byte probabilities from an
 * entropy model (MEGABYTE, a multiscale transformer, computed in integer arithmetic
 * so that every machine reproduces every probability exactly).
 *
 * The library works on streams through two callbacks, so the same code serves
 * files, pipes and in-memory buffers, with memory bounded by the block size and the
 * thread count, never by the input size.
 *
 * Every function that can fail returns an mbz_status (0 = MBZ_OK) and, when given an
 * mbz_error, fills it with a one-line human-readable message.
 */
#ifndef MBZ_H
#define MBZ_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MBZ_VERSION_MAJOR 0
#define MBZ_VERSION_MINOR 1
#define MBZ_VERSION_PATCH 0
#define MBZ_VERSION_STRING "0.1.0"

/* File suffix used by the command-line tool. */
#define MBZ_SUFFIX ".mbz"

typedef enum {
    MBZ_OK = 0,
    MBZ_ERR_IO,            /* the read or write callback failed (errno kept in mbz_error) */
    MBZ_ERR_NOMEM,         /* allocation failed */
    MBZ_ERR_PARAM,         /* invalid argument (level, threads, ...) */
    MBZ_ERR_BAD_MAGIC,     /* not an mbzip stream */
    MBZ_ERR_VERSION,       /* frame or model version this build does not support */
    MBZ_ERR_TRUNCATED,     /* input ended inside a frame */
    MBZ_ERR_CORRUPT,       /* a header or payload is malformed */
    MBZ_ERR_CHECKSUM,      /* decoded data does not match its checksum */
    MBZ_ERR_LIMIT,         /* a declared size is beyond what this build accepts */
    MBZ_ERR_MODEL_UNKNOWN, /* the frame needs a model that is not available */
    MBZ_ERR_MODEL_INVALID, /* a model file is malformed or unsupported */
    MBZ_ERR_CANCELLED,     /* *opts->cancel became non-zero */
    MBZ_ERR_INTERNAL       /* a bug: please report */
} mbz_status;

/* Error detail: a code and a one-line message (no trailing newline). */
typedef struct {
    int code;       /* an mbz_status */
    int sys_errno;  /* errno for MBZ_ERR_IO, else 0 */
    char msg[256];
} mbz_error;

/* A short static description of a status code. */
const char *mbz_strerror(int code);

/* ------------------------------------------------------------------ models */

/*
 * An entropy model. The library has built-in models (the default MEGABYTE model,
 * a smaller MEGABYTE model for levels 2-4, and a small adaptive order-2 model, named
 * by the fastest level's frames); more can be loaded from model files written by
 * mbtrain. A model is immutable once loaded and may be shared
 * by any number of threads and streams.
 */
typedef struct mbz_model mbz_model;

/* Load a model file (format: doc/model-format.md). Validates everything before use. */
int mbz_model_load_file(const char *path, mbz_model **out, mbz_error *err);
/* Same, from memory. The bytes are copied. */
int mbz_model_load_memory(const void *data, size_t size, mbz_model **out, mbz_error *err);
void mbz_model_free(mbz_model *m);

/* The model compiled into the library (the trained default). Never NULL, never freed. */
const mbz_model *mbz_model_default(void);
/* The smaller model compiled into the library for the faster levels (2-4): about
 * twice the default's speed for a few percent of size. The default model when the
 * library has none. Never NULL, never freed. */
const mbz_model *mbz_model_fast(void);
/* The small adaptive context model (no weights). Level 1's model: its frames name
 * it, but since frame version 11 they run the context-mixing stage alone (flag
 * FAST, doc/format.md) unless mixing is off; tests use it too. */
const mbz_model *mbz_model_order2(void);

/* The model with this fingerprint: a built-in one, or the file
 * <fingerprint as 16 lower-case hex digits>.mbzm in a directory of the model path
 * (the directories of MBZIP_MODEL_PATH, colon-separated, then mbz_model_dir()),
 * loaded once and kept for the life of the process (mbz_model_free ignores it).
 * NULL when there is none. Decompression looks here for every frame's model, so
 * files made with an earlier default model keep decoding after it is replaced. */
const mbz_model *mbz_model_find(uint64_t fingerprint);
/* The installed model directory (e.g. /usr/local/share/mbzip/models); "" if none. */
const char *mbz_model_dir(void);
/* Every model available by fingerprint: the built-in ones (path NULL), then each
 * file of the model path named like a fingerprint (model NULL when the file is not
 * a valid model with that fingerprint). */
typedef void (*mbz_model_list_fn)(void *user, const char *path, uint64_t fingerprint,
                                  const mbz_model *model);
void mbz_model_list(mbz_model_list_fn fn, void *user);

/* xxh64 of the model file's bytes; frames record it. */
uint64_t mbz_model_fingerprint(const mbz_model *m);
/* A short description, e.g. "megabyte P=8 DG=256x4 DL=128x2 ctx=8192". */
const char *mbz_model_describe(const mbz_model *m);

/* ------------------------------------------------------------------ streams */

/* Read up to n bytes into buf. Return the count (0 only at end of input), or -1 on
 * error with errno set. */
typedef long long (*mbz_read_fn)(void *user, void *buf, size_t n);
/* Write exactly n bytes. Return 0, or -1 on error with errno set. */
typedef int (*mbz_write_fn)(void *user, const void *buf, size_t n);
/* Called from the calling thread after each block with running byte counts. */
typedef void (*mbz_progress_fn)(void *user, uint64_t bytes_in, uint64_t bytes_out);

#define MBZ_LEVEL_MIN 1
#define MBZ_LEVEL_MAX 9
#define MBZ_LEVEL_DEFAULT 6

typedef struct {
    int level;                 /* MBZ_LEVEL_MIN..MBZ_LEVEL_MAX; 0 = default */
    int threads;               /* worker threads; 0 = number of online CPUs */
    const mbz_model *model;    /* compression: model to use; NULL = per level */
    /* decompression: models to look up by fingerprint, besides the built-in ones */
    const mbz_model *const *models;
    size_t n_models;
    mbz_progress_fn progress;  /* may be NULL */
    void *progress_user;
    volatile int *cancel;      /* may be NULL; when it becomes non-zero, work stops with MBZ_ERR_CANCELLED */
    int no_mix;                /* compression: non-zero codes with the model alone, without the
                                * adaptive mixing stage (doc/mixing.md); for measurements */
    /* compression: non-zero writes a seek index after the frame (doc/format.md, "Seek
     * index"; frame version 8 or later): every block's sizes, so that random access
     * (mbz_seekable_open) finds them with two reads from the end of a file. About
     * 9 bytes per block plus 32; readers before version 8 cannot read such frames. */
    int index;
    /* compression, with index: called once, after the last block, for bytes to store
     * in the index (the annex, at most 64 MiB; mbzip keeps its archive member table
     * there); *data must stay valid until mbz_compress_stream returns. NULL: none. */
    void (*index_annex)(void *user, const void **data, size_t *n);
    void *index_annex_user;
    /* compression: called when the read callback returns 0. Non-zero means that more
     * input follows: the input is cut there, the block ends, and the next block
     * starts a new history (doc/format.md, "History"), so that random access decodes
     * from there on without anything before it; then reading goes on. mbzip cuts
     * archives before and after each large member. NULL: 0 is the end. */
    int (*cut)(void *user);
    void *cut_user;
} mbz_options;

/* Fill with defaults (level 6, all CPUs, models per level). */
void mbz_options_init(mbz_options *o);

/* Statistics of one compress/decompress/scan call. */
typedef struct {
    uint64_t bytes_in;          /* bytes read from the read callback */
    uint64_t bytes_out;         /* bytes given to the write callback */
    uint64_t content_size;      /* uncompressed bytes */
    uint64_t frame_bytes;       /* compressed bytes */
    uint64_t frames;
    uint64_t blocks;
    uint64_t blocks_stored;     /* stored (raw) or run-length blocks */
    uint64_t ideal_bits_q16;    /* modelled blocks: sum of -log2 p, in 1/65536 bit (integer log2) */
    uint64_t modelled_bytes;    /* bytes in modelled blocks */
    uint64_t modelled_payload;  /* payload bytes of modelled blocks */
    uint64_t fingerprint;       /* model fingerprint of the last frame */
    int level;                  /* level of the last frame */
    uint64_t indexes;           /* frames with a seek index (flag INDEX) */
    uint64_t indexes_damaged;   /* ... whose index does not match the frame (decompression and
                                 * scans check it against the blocks and ignore it: the content
                                 * is still complete and checked; warn about it) */
} mbz_stats;

/* Compress everything `rd` yields into one frame written through `wr`. */
int mbz_compress_stream(const mbz_options *o, mbz_read_fn rd, void *rd_user,
                        mbz_write_fn wr, void *wr_user, mbz_stats *st, mbz_error *err);

/* Decompress one or more concatenated frames. `wr` may be NULL to only verify (-t).
 * An empty input is an error (MBZ_ERR_TRUNCATED); trailing garbage after a frame is
 * an error (MBZ_ERR_BAD_MAGIC). */
int mbz_decompress_stream(const mbz_options *o, mbz_read_fn rd, void *rd_user,
                          mbz_write_fn wr, void *wr_user, mbz_stats *st, mbz_error *err);

/* Walk the frames' headers (for -l) without decoding payloads; checks header
 * checksums and structure. Fills st (content_size, frame_bytes, frames, blocks, ...). */
int mbz_scan_stream(mbz_read_fn rd, void *rd_user, mbz_stats *st, mbz_error *err);

/* One block of a stream, as mbz_scan_blocks meets it (doc/format.md). A frame's end
 * mark is reported too, as type 0 (block 0, sizes 0), so a frame without blocks is
 * still seen. */
typedef struct {
    uint64_t frame;            /* 1-based frame number in the stream */
    uint64_t block;            /* 1-based block number in the frame; 0 for the end mark */
    int type;                  /* 1 stored, 2 run-length, 3 modelled, 4 modelled (history
                                * start); 0 the frame's end mark */
    uint32_t content_size;     /* uncompressed bytes of the block */
    uint32_t payload_size;     /* bytes of payload after its 21-byte header */
    uint64_t offset;           /* where its header starts in the stream (compressed) */
    uint64_t content_offset;   /* where its content starts in the decompressed stream */
    uint64_t checksum;         /* XXH64 of its content (end mark: of the frame's content) */
    /* the frame's header */
    int version, flags, level, block_log;
    uint64_t fingerprint;      /* the model the frame names */
} mbz_block_info;

/* Called for every block header that mbz_scan_blocks has read and checked. Return 0
 * to go on; anything else stops the scan with MBZ_ERR_CANCELLED. */
typedef int (*mbz_block_fn)(void *user, const mbz_block_info *b);

/* mbz_scan_stream, also calling fn (when not NULL) for each block and end mark, in
 * stream order. The headers are checked as decompression checks them; payloads are
 * skipped, not decoded. */
int mbz_scan_blocks(mbz_read_fn rd, void *rd_user, mbz_block_fn fn, void *fn_user,
                    mbz_stats *st, mbz_error *err);

/* In-memory convenience wrappers. *dst is malloc'ed; free() it. */
int mbz_compress_buffer(const mbz_options *o, const void *src, size_t n,
                        void **dst, size_t *dst_n, mbz_stats *st, mbz_error *err);
int mbz_decompress_buffer(const mbz_options *o, const void *src, size_t n,
                          void **dst, size_t *dst_n, mbz_stats *st, mbz_error *err);

/* ------------------------------------------------------------------ random access */

/*
 * Reading any range of a compressed stream that can be read at any offset (a file,
 * a buffer), decoding only the blocks the range needs. Opening reads the frames' seek
 * indexes from the end of the stream (mbz_options.index: two reads per frame), and
 * walks the block headers of frames without one (one small read per block: a 2 GB
 * file at level 6 has 2,000), checking them as decompression does. An index that
 * does not check out is ignored (mbz_seekable_info says so) and its frame walked. A read decodes the blocks that hold the range; in a
 * frame with flag CM (every level since 2026-12-03) a modelled block also needs the
 * modelled blocks before it in its history (at most 16 blocks, doc/format.md
 * "History"), and sequential reads continue the history instead of starting it
 * again. Every block read is checked against its checksum; the whole-frame
 * checksum is checked only by a full decompression. One thread; a handle is not
 * for concurrent use.
 */

/* Read up to n bytes at `offset` into buf. Return the count (0 only at or past the
 * end), or -1 on error with errno set. */
typedef long long (*mbz_pread_fn)(void *user, void *buf, size_t n, uint64_t offset);

typedef struct mbz_seekable mbz_seekable;

/* Open the stream of `size` bytes that rd reads. Options: models, n_models and cancel
 * are used (NULL: defaults). Errors are those of decompression (bad magic, version,
 * corrupt or truncated headers, trailing garbage). Close with mbz_seekable_close. */
int mbz_seekable_open(const mbz_options *o, mbz_pread_fn rd, void *rd_user, uint64_t size,
                      mbz_seekable **out, mbz_error *err);
/* The decompressed size of the whole stream (the sum of its frames' contents). */
uint64_t mbz_seekable_content_size(const mbz_seekable *s);
/* Decode up to n bytes of the decompressed stream from `offset` into buf; *got is
 * n, or less at the end of the stream (0 at or past it). */
int mbz_seekable_read(mbz_seekable *s, uint64_t offset, void *buf, size_t n, size_t *got,
                      mbz_error *err);
void mbz_seekable_close(mbz_seekable *s);

/* What opening found. */
typedef struct {
    uint64_t frames;
    uint64_t blocks;
    uint64_t frames_indexed;   /* frames with a seek index that checks out (read from the end,
                                * or met by the walk and checked against it) */
    uint64_t indexes_damaged;  /* frames whose index was ignored (then walked) */
    uint64_t blocks_stored;    /* stored or run-length blocks */
    int level;                 /* level of the last frame */
    uint64_t fingerprint;      /* model fingerprint of the last frame */
} mbz_seekable_info;
void mbz_seekable_get_info(const mbz_seekable *s, mbz_seekable_info *info);

/* The annex of frame `frame` (0-based) of the stream: the bytes mbz_options.index_annex
 * gave when it was written, checked by the index's checksum. *data is NULL and *n 0
 * when the frame has no index or an empty annex; *content_start is where the frame's
 * content starts in the decompressed stream. MBZ_ERR_PARAM past the last frame.
 * The bytes belong to the handle. */
int mbz_seekable_annex(const mbz_seekable *s, uint64_t frame, const void **data, size_t *n,
                       uint64_t *content_start);

/* True (1) if the 4 bytes at p start an mbzip frame. */
int mbz_is_frame(const void *p, size_t n);

/* ------------------------------------------------------------------ environment */

/*
 * The library's own switches, read from the environment once per process. None of
 * them changes a compressed byte or a decoded byte; they choose how the same numbers
 * are computed, and the library never prints anything about them.
 *
 *   MBZIP_KERNEL=scalar|avx2|avx512  the integer kernel set (default: the best this
 *       CPU and build have). An unavailable set falls back to the best one; compare
 *       mbz_kernel_name() with the variable to tell the user (mbzip warns).
 *   MBZIP_BATCH=1..8  blocks a decoding thread steps together for models that
 *       batch (default 1: one block at a time was fastest where measured).
 *   MBZIP_PROFILE=1  add the MEGABYTE engine's time split to process-wide counters
 *       (read by tools/mbzbench-infer).
 */

/* The name of the integer kernel set in use ("scalar", "avx2", "avx512"). */
const char *mbz_kernel_name(void);

#ifdef __cplusplus
}
#endif
#endif /* MBZ_H */
