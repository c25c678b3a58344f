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
    /* cuts (below): marks at tar offsets, and the member table */
    uint64_t got;              /* bytes taken so far */
    uint64_t marks[8];
    int nmarks;
    unsigned char *table;
    size_t table_n;
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

/* ------------------------------------------------------------------ cuts */

/* An archive's tar stream is compressed as one frame, cut (mbz_options.cut) before
 * each member of CUT_MEMBER bytes or more and before the member after it: each
 * such member starts a new history, so that extracting it, or a small member after
 * it, decodes none of what came before, and the histories between cuts decode on
 * separate threads. The producer marks where a cut goes in the tar stream
 * (pipe_mark); the pipe then reads as ended there until the compressor's cut
 * callback (pipe_cut_cb) moves past it. */
#define CUT_MEMBER ((int64_t)1 << 20)

/* Mark a cut at tar offset `at` (at or after what was put). -1 if the reader has
 * gone. */
int pipe_mark(struct pipe *p, uint64_t at);
/* The archive's member table, given before pipe_close_writer (the pipe owns it). */
void pipe_set_table(struct pipe *p, unsigned char *table, size_t n);
/* mbz_options.cut over a pipe: 1 (and the mark is dropped) when the reader stands
 * at a mark, 0 at the end of the stream. */
int pipe_cut_cb(void *user);
/* mbz_options.index_annex over a pipe: the member table (the pipe keeps it). */
void pipe_annex_cb(void *user, const void **data, size_t *n);

/* ------------------------------------------------------------------ member tables (archive_members.c) */

struct member_table {
    unsigned char *buf;
    size_t len, cap;
    uint64_t count;
    uint64_t last;           /* offset of the last entry added */
};
/* Add an entry whose tar header starts at `offset` (in the tar stream; not before
 * the last one's). -1 if out of memory. */
int member_table_add(struct member_table *t, uint64_t offset, struct archive_entry *e);
/* The table as an annex (malloc'ed, *n bytes), and t emptied. */
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
