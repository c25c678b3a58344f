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
