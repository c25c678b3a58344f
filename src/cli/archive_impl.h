/*
 * archive_impl.h - what the parts of the directory-archive code share (archive.c:
 * dispatch and helpers; archive_pipe.c: the in-memory pipe between libarchive and
 * libmbz; archive_write.c: mbzip -r and --repack; archive_read.c: -x, -l, -t).
 * Private to src/cli/archive*.c.
 */
#ifndef MBZ_ARCHIVE_IMPL_H
#define MBZ_ARCHIVE_IMPL_H

#include <archive.h>
#include <archive_entry.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PIPE_CAP ((size_t)1 << 20)
#define IOBUF (64 * 1024)

/* ------------------------------------------------------------------ the pipe (archive_pipe.c) */

/* A bounded byte queue between one producer and one consumer thread (1 MiB). */
struct pipe {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned char *buf;
    size_t head, len;
    int wclosed;   /* the producer is done */
    int wfailed;   /* ... and failed */
    int rclosed;   /* the consumer stopped reading */
    /* segments (below): marks at tar offsets, each with its frame's member table */
    uint64_t put, got;         /* bytes put and taken so far */
    struct { uint64_t at; unsigned char *table; size_t n; } marks[8];
    int nmarks;
    unsigned char *last_table;
    size_t last_n;
};

int pipe_init(struct pipe *p);
void pipe_free(struct pipe *p);
/* Blocks while full; returns -1 once the reader has closed. */
int pipe_put(struct pipe *p, const void *src, size_t n);
/* Blocks while empty; returns bytes read, 0 at the writer's clean end, -1 when the
 * writer failed. */
long long pipe_get(struct pipe *p, void *dst, size_t n);
void pipe_close_writer(struct pipe *p, int failed);
void pipe_close_reader(struct pipe *p);
/* mbz_read_fn / mbz_write_fn adapters over a struct pipe. */
long long pipe_read_cb(void *user, void *buf, size_t n);
int pipe_write_cb(void *user, const void *buf, size_t n);
/* Start fn(arg) with the termination signals blocked (they go to the main thread). */
int start_thread(pthread_t *t, void *(*fn)(void *), void *arg);

/* ------------------------------------------------------------------ segments */

/* An archive's tar stream is compressed as one or more frames: a member of
 * SEGMENT_MEMBER bytes or more starts a frame of its own, and the member after it
 * starts the next, so that extracting it (or a small member after it) decodes none
 * of what came before. The producer marks where a frame ends in the tar stream
 * (pipe_mark) with the member table of that frame; the compressor ends the frame
 * there (the pipe reads as ended) and goes on with the next (pipe_next_segment). */
#define SEGMENT_MEMBER ((int64_t)1 << 20)

/* Mark a frame's end at tar offset `at` (at or after what was put), with its
 * member table (malloc'ed; the pipe owns it from here). -1 if out of memory. */
int pipe_mark(struct pipe *p, uint64_t at, unsigned char *table, size_t n);
/* The last frame's member table, given before pipe_close_writer. */
void pipe_last_table(struct pipe *p, unsigned char *table, size_t n);
/* Consumer, after a frame's input ended: 1 if another frame follows (the mark is
 * dropped), 0 at the end of the stream. */
int pipe_next_segment(struct pipe *p);
/* Consumer, at the end of a frame's input: its member table, or NULL/0 (the pipe
 * keeps ownership). For mbz_options.index_annex. */
void pipe_annex_cb(void *user, const void **data, size_t *n);

/* ------------------------------------------------------------------ member tables (archive_members.c) */

struct member_table {
    unsigned char *buf;
    size_t len, cap;
    uint64_t count;
    uint64_t last;           /* offset of the last entry added */
};
/* Add an entry whose tar header starts at `offset` (from the start of its frame's
 * content; not before the last one's). -1 if out of memory. */
int member_table_add(struct member_table *t, uint64_t offset, struct archive_entry *e);
/* The table as an annex (malloc'ed, *n bytes), and t emptied for the next frame. */
unsigned char *member_table_take(struct member_table *t, size_t *n);
void member_table_free(struct member_table *t);
/* Each entry of the table `annex` (of a frame whose content starts at content_start),
 * in order: fn(user, offset of its tar header in the decompressed stream, the entry
 * as the table has it); a non-zero return stops the walk with it. -1 if the table is
 * malformed. */
typedef int (*member_fn)(void *user, uint64_t offset, struct archive_entry *e);
int member_table_walk(const void *annex, size_t n, uint64_t content_start, member_fn fn,
                      void *user);

/* ------------------------------------------------------------------ helpers (archive.c) */

void archive_locale(void);
int ends_with(const char *s, const char *suf);
const char *aerr(struct archive *a);
const char *entry_name(struct archive_entry *e);

/* ------------------------------------------------------------------ the operations */

/* archive_write.c */
void create_archive(const struct options *opt, const char *name);
void repack_file(const struct options *opt, const char *name);

/* archive_read.c */
enum tar_action { TAR_EXTRACT, TAR_LIST, TAR_TEST };
/* at: the archive as a regular file, read through random access (NULL: decompress
 * it as a stream). g.members: only those entries. */
struct file_at;
struct options;
void read_tar(const struct options *opt, const char *opname, int fd, uint64_t size,
              enum tar_action act, struct file_at *at);
void read_operand(const struct options *opt, const char *name);

#endif
