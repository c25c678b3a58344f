/*
 * archive_pipe.c - the bounded in-memory pipe that joins the libarchive thread and the
 * libmbz thread of an archive operation (archive.c explains why not pipe(2)).
 */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <langinfo.h>
#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "archive_impl.h"

/* ------------------------------------------------------------------ the pipe */


int pipe_init(struct pipe *p)
{
    memset(p, 0, sizeof *p);
    p->buf = malloc(PIPE_CAP);
    if (!p->buf)
        return -1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    return 0;
}

void pipe_free(struct pipe *p)
{
    free(p->table);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->buf);
}

/* Write all n bytes; -1 (EPIPE) when the reader has gone. */
int pipe_put(struct pipe *p, const void *src, size_t n)
{
    const unsigned char *s = src;
    pthread_mutex_lock(&p->mu);
    while (n > 0) {
        while (p->len == PIPE_CAP && !p->rclosed)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->rclosed) {
            pthread_mutex_unlock(&p->mu);
            errno = EPIPE;
            return -1;
        }
        size_t tail = (p->head + p->len) % PIPE_CAP;
        size_t k = PIPE_CAP - p->len;
        if (k > PIPE_CAP - tail)
            k = PIPE_CAP - tail;
        if (k > n)
            k = n;
        memcpy(p->buf + tail, s, k);
        p->len += k;
        s += k;
        n -= k;
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return 0;
}

/* Read up to n bytes: the count, 0 at the end, -1 (EIO) if the producer failed. */
long long pipe_get(struct pipe *p, void *dst, size_t n)
{
    pthread_mutex_lock(&p->mu);
    /* a cut (pipe_mark) reads as the end until pipe_cut_cb; a mark may come while
     * we wait, so it is looked at after */
    while (p->len == 0 && !p->wclosed && !(p->nmarks > 0 && p->got == p->marks[0]))
        pthread_cond_wait(&p->cv, &p->mu);
    if (p->nmarks > 0 && p->got + n > p->marks[0])
        n = (size_t)(p->marks[0] - p->got);
    if (n == 0) {
        pthread_mutex_unlock(&p->mu);
        return 0;
    }
    if (p->len == 0) {
        int failed = p->wfailed;
        pthread_mutex_unlock(&p->mu);
        if (failed) {
            errno = EIO;
            return -1;
        }
        return 0;
    }
    size_t k = p->len < n ? p->len : n;
    if (k > PIPE_CAP - p->head)
        k = PIPE_CAP - p->head;
    memcpy(dst, p->buf + p->head, k);
    p->head = (p->head + k) % PIPE_CAP;
    p->len -= k;
    p->got += k;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return (long long)k;
}

void pipe_close_writer(struct pipe *p, int failed)
{
    pthread_mutex_lock(&p->mu);
    p->wclosed = 1;
    p->wfailed = failed;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

void pipe_close_reader(struct pipe *p)
{
    pthread_mutex_lock(&p->mu);
    p->rclosed = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

int pipe_mark(struct pipe *p, uint64_t at)
{
    pthread_mutex_lock(&p->mu);
    /* marks are a few per MiB of tar at most (CUT_MEMBER): waiting for room waits
     * for the consumer to reach the first */
    while (p->nmarks == (int)(sizeof p->marks / sizeof *p->marks) && !p->rclosed)
        pthread_cond_wait(&p->cv, &p->mu);
    if (p->rclosed) {
        pthread_mutex_unlock(&p->mu);
        errno = EPIPE;
        return -1;
    }
    p->marks[p->nmarks++] = at;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

void pipe_set_table(struct pipe *p, unsigned char *table, size_t n)
{
    pthread_mutex_lock(&p->mu);
    free(p->table);
    p->table = table;
    p->table_n = n;
    pthread_mutex_unlock(&p->mu);
}

int pipe_cut_cb(void *user)
{
    struct pipe *p = user;
    pthread_mutex_lock(&p->mu);
    int cut = p->nmarks > 0 && p->got == p->marks[0];
    if (cut) {
        memmove(p->marks, p->marks + 1, (size_t)(p->nmarks - 1) * sizeof *p->marks);
        p->nmarks--;
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return cut;
}

void pipe_annex_cb(void *user, const void **data, size_t *n)
{
    struct pipe *p = user;
    pthread_mutex_lock(&p->mu);
    *data = p->table;
    *n = p->table ? p->table_n : 0;
    pthread_mutex_unlock(&p->mu);
}

/* libmbz callbacks on a pipe. */
long long pipe_read_cb(void *user, void *buf, size_t n)
{
    return pipe_get(user, buf, n);
}

int pipe_write_cb(void *user, const void *buf, size_t n)
{
    return pipe_put(user, buf, n);
}

/* Start fn(arg) with the termination signals blocked (they go to the main thread). */
int start_thread(pthread_t *t, void *(*fn)(void *), void *arg)
{
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGXFSZ);
    sigaddset(&block, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int rc = pthread_create(t, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}
