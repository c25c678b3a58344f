/*
 * api.c - the stream API (mbz.h): options, the frame loops of compression and
 * decompression, buffer wrappers and statistics. What a level means is levels.c;
 * coding one block is block.c; the threads are pool.c.
 *
 * Compression reads up to `threads` segments of blocks, codes them concurrently
 * (one worker per segment), then writes them in order; a segment is one block, or in
 * CM frames one history of 16 blocks (frame.h, mbz_frame_history), whose blocks one
 * worker codes in order through one context-mixing stage. When there are fewer
 * segments than threads, a worker lends the spare thread to its blocks: the base
 * model scores the next block of the segment on it while the worker codes the
 * block before, the worker taking over the end of that scoring when it is done
 * first (block.c, mbz_block_ahead_start and _wait; compress_worker), or a lone
 * block's second part (block.c, cm_pass), which is how a file of one segment (up
 * to 16 MiB at the default level) uses two cores; the coded bytes are the same
 * (predictor.h, seek). Decompression reads up to
 * threads x G blocks (G > 1 only for models with MBZ_CAP_BATCH; in CM frames G is a
 * history's blocks), decodes them concurrently (CM frames: one worker per history,
 * decode_histories), verifies every checksum and writes in order. Each segment is
 * coded by a pure function of its bytes and the model, and batches start on segment
 * boundaries, so the output never depends on the thread count; memory is bounded by
 * (threads x G) x block size plus one stage per thread, whatever the input size.
 */
#include "config.h"
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>
#include "block.h"
#include "media.h"
#include "frame.h"
#include "levels.h"
#include "pool.h"
#include "seekindex.h"

#define MAX_THREADS 256
/* Blocks a decoding thread steps together (predict_batch) unless MBZIP_BATCH=1..8 says
 * otherwise (mbz.h). Batching reads each weight once per step for all its blocks, but
 * every MEGABYTE block carries its own attention cache (about 4.4 MB for the default
 * model); measured on a 32 MB-L3 machine, one block at a time decoded at 26.7 KB/s
 * against 18.1 with four and 17.5 with eight (doc/benchmarks.md), so the default is
 * 1. The output never depends on it. */
#define DEFAULT_BATCH 1

static int decode_batch_width(void)
{
    const char *e = getenv("MBZIP_BATCH");
    if (e && *e >= '1' && *e <= '0' + MBZ_BLOCK_BATCH_MAX && e[1] == 0)
        return *e - '0';
    return DEFAULT_BATCH;
}

/* ------------------------------------------------------------------ options */

void mbz_options_init(mbz_options *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof *o);
    o->level = MBZ_LEVEL_DEFAULT;
    o->threads = 0;
}

static int normalize_options(const mbz_options *in, mbz_options *o, mbz_error *err)
{
    if (in)
        *o = *in;
    else
        mbz_options_init(o);
    if (o->level == 0)
        o->level = MBZ_LEVEL_DEFAULT;
    if (o->level < MBZ_LEVEL_MIN || o->level > MBZ_LEVEL_MAX)
        return mbz_fail(err, MBZ_ERR_PARAM, "invalid level %d (valid: %d..%d)", o->level,
                        MBZ_LEVEL_MIN, MBZ_LEVEL_MAX);
    if (o->threads < 0)
        return mbz_fail(err, MBZ_ERR_PARAM, "invalid thread count %d", o->threads);
    if (o->threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        o->threads = n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (int)n;
    }
    if (o->threads > MAX_THREADS)
        o->threads = MAX_THREADS;
    if (o->n_models && !o->models)
        return mbz_fail(err, MBZ_ERR_PARAM, "n_models is %zu but models is NULL", o->n_models);
    return MBZ_OK;
}

static int cancelled(const mbz_options *o)
{
    return o->cancel && *o->cancel;
}

/* ------------------------------------------------------------------ I/O helpers */

/* Reads and writes go through small buffers, so that a stream of tiny blocks (a
 * 21-byte header and a 1-byte payload each) costs no system call per block. Reading
 * ahead is safe: a stream call consumes its input to the end (trailing data is an
 * error), and count is what was consumed, not what was read. */
#define IO_BUF 16384

typedef struct {
    mbz_read_fn fn;
    void *user;
    uint64_t count;            /* bytes consumed */
    size_t pos, len;           /* buf[pos .. len-1] read ahead, not consumed yet */
    int eof;
    unsigned char buf[IO_BUF];
} reader;

typedef struct {
    mbz_write_fn fn;           /* NULL: discard (verify only) */
    void *user;
    uint64_t count;            /* bytes accepted (written or in buf) */
    size_t len;                /* bytes in buf not written yet */
    unsigned char buf[IO_BUF];
} writer;

/* One call of the read callback into dst (at most n bytes); 0 at end of input. */
static int read_some(reader *r, unsigned char *dst, size_t n, size_t *k, mbz_error *err)
{
    errno = 0;
    long long got = r->fn(r->user, dst, n);
    if (got < 0)
        return mbz_fail_errno(err, MBZ_ERR_IO, errno, "read error");
    if ((unsigned long long)got > n)
        return mbz_fail(err, MBZ_ERR_IO, "read callback returned more bytes than asked");
    *k = (size_t)got;
    if (got == 0)
        r->eof = 1;
    return MBZ_OK;
}

/* Read until n bytes or end of input; *got says how many. */
static int read_full(reader *r, void *buf, size_t n, size_t *got, mbz_error *err)
{
    unsigned char *dst = buf;
    size_t done = 0;
    while (done < n) {
        if (r->pos < r->len) {
            size_t k = r->len - r->pos < n - done ? r->len - r->pos : n - done;
            memcpy(dst + done, r->buf + r->pos, k);
            r->pos += k;
            done += k;
            continue;
        }
        if (r->eof)
            break;
        size_t k;
        int rc;
        if (n - done >= IO_BUF) {          /* large reads go straight to dst */
            if ((rc = read_some(r, dst + done, n - done, &k, err)) != MBZ_OK)
                return rc;
            done += k;
        } else {
            if ((rc = read_some(r, r->buf, IO_BUF, &k, err)) != MBZ_OK)
                return rc;
            r->pos = 0;
            r->len = k;
        }
    }
    r->count += done;
    *got = done;
    return MBZ_OK;
}

/* One call of the write callback. */
static int write_some(writer *w, const void *buf, size_t n, mbz_error *err)
{
    errno = 0;
    if (w->fn(w->user, buf, n) != 0)
        return mbz_fail_errno(err, MBZ_ERR_IO, errno, "write error");
    return MBZ_OK;
}

static int flush_writes(writer *w, mbz_error *err)
{
    size_t n = w->len;
    w->len = 0;
    return n ? write_some(w, w->buf, n, err) : MBZ_OK;
}

static int write_all(writer *w, const void *buf, size_t n, mbz_error *err)
{
    if (n == 0)
        return MBZ_OK;
    if (w->fn) {
        if (w->len + n > IO_BUF) {
            int rc = flush_writes(w, err);
            if (rc != MBZ_OK)
                return rc;
        }
        if (n >= IO_BUF) {
            int rc = write_some(w, buf, n, err);
            if (rc != MBZ_OK)
                return rc;
        } else {
            memcpy(w->buf + w->len, buf, n);
            w->len += n;
        }
    }
    w->count += n;
    return MBZ_OK;
}

/* Per-block statistics, shared by compression and decompression. */
static void count_block(mbz_stats *st, int type, uint64_t content, uint64_t payload,
                        uint64_t ideal_q16)
{
    st->blocks++;
    if (mbz_block_is_modelled(type)) {
        st->modelled_bytes += content;
        st->modelled_payload += payload;
        st->ideal_bits_q16 += ideal_q16;
    } else if (type == MBZ_BLOCK_STORED || type == MBZ_BLOCK_RLE) {
        st->blocks_stored++;  /* (audio and image blocks are neither) */
    }
}

/* ------------------------------------------------------------------ compression */

typedef struct {
    uint8_t *in;               /* the block's bytes (reused from batch to batch) */
    size_t n;
    const mbz_media_format *media; /* samples or pixels (media detector), or NULL */
    mbz_media_format media_copy;
    char where[32];            /* "block 3" */
    mbz_block_scratch scratch; /* the coder's buffers, reused */
    mbz_block_coded coded;
    int status;
    mbz_error err;
} cjob;

typedef struct {
    cjob *jobs;
    int n;
    const mbz_stack *stack;
    const int *starts;         /* the batch's segments: jobs starts[g] .. starts[g + 1] - 1 */
    int nseg;
    mbz_cm_chain *chains;      /* CM: one per thread */
    mbz_block_scratch *tables; /* one per thread: the model's tables (a job keeps
                                * only its payload until it is written) */
    volatile int *cancel;
    int spare;                 /* threads beyond one per segment: workers t < spare
                                * may score blocks ahead, or halves, on a helper */
} cbatch;

/* The largest block compress_worker pipelines over a helper (level 6's). */
#define PIPELINE_MAX ((size_t)1 << 20)

/* Thread t codes segments t, t + nt, ... of the batch, each segment's blocks in
 * order through one history (CM frames; without CM a segment is one block). A
 * batch holds whole segments, so the output never depends on -T. */
static void compress_worker(void *ctx, int t, int nt)
{
    cbatch *b = ctx;
    mbz_cm_chain *chain = b->chains ? &b->chains[t] : NULL;
    for (int g = t; g < b->nseg; g += nt) {
        if (chain)
            mbz_cm_chain_reset(chain);
        /* with a helper, a pipeline: while block i is coded here, block i + 1 of
         * the same history is scored on the helper (mbz_block_ahead_start); once
         * block i is coded, this thread takes over the end of that scoring if
         * much of it is left (mbz_block_ahead_wait), so that both threads finish
         * it together; then block i + 2 goes to the helper while block i + 1 is
         * coded from its tables, and so on. The pipeline starts with a block
         * scored by both threads (on the helper, this thread taking over its
         * end at once). Blocks over PIPELINE_MAX (levels 7-9) are not
         * pipelined, for memory (two blocks' tables in flight: 16 bytes per
         * byte each): while such a block is scored and coded here, the next is
         * scored on the helper and then coded from its tables, in pairs. A
         * block with no partner (a history's only block), or one that can split
         * and whose partner is less than half its size (a file's short last
         * block: the helper would idle), splits itself over the helper instead
         * (mbz_block_encode), coding its first part as it scores it. The bytes
         * coded are the same whoever scores what (block.h). */
        int helper = t < b->spare;
        mbz_block_ahead *next = NULL;
        for (int i = b->starts[g]; i < b->starts[g + 1]; i++) {
            cjob *j = &b->jobs[i];
            mbz_block_scratch *ts = &b->tables[t];
            mbz_block_ahead *cur = next;
            next = NULL;
            int partner = helper && i + 1 < b->starts[g + 1], pipe = j->n <= PIPELINE_MAX;
            int pair = partner && (2 * j[1].n >= j->n || !mbz_block_can_split(b->stack, j->n));
            if (!cur && pair && pipe)
                cur = mbz_block_ahead_start(b->stack, j->media, j->in, j->n, b->cancel, j->where);
            mbz_block_ahead_wait(cur, ts); /* the helper is free after this */
            if (cur ? partner && pipe : pair)
                next = mbz_block_ahead_start(b->stack, j[1].media, j[1].in, j[1].n, b->cancel, j[1].where);
            j->scratch.freq = ts->freq;
            j->scratch.freq_cap = ts->freq_cap;
            j->status = mbz_block_encode(b->stack, chain, j->media, j->in, j->n, &j->scratch,
                                         b->cancel, helper && !cur && !next, cur, j->where,
                                         &j->coded, &j->err);
            mbz_block_ahead_free(cur);
            ts->freq = j->scratch.freq;
            ts->freq_cap = j->scratch.freq_cap;
            j->scratch.freq = NULL;
            j->scratch.freq_cap = 0;
            if (j->status != MBZ_OK) {
                mbz_block_ahead_free(next);
                return;
            }
        }
    }
}

static void free_cjobs(cjob *jobs, int n)
{
    if (!jobs)
        return;
    for (int i = 0; i < n; i++) {
        free(jobs[i].in);
        mbz_block_scratch_free(&jobs[i].scratch);
    }
    free(jobs);
}

int mbz_compress_stream(const mbz_options *opts, mbz_read_fn rd, void *rd_user,
                        mbz_write_fn wr, void *wr_user, mbz_stats *st, mbz_error *err)
{
    mbz_stats stats;
    mbz_options o;
    memset(&stats, 0, sizeof stats);
    mbz_error_clear(err);
    if (st)
        *st = stats;
    if (!rd || !wr)
        return mbz_fail(err, MBZ_ERR_PARAM, "mbz_compress_stream: read and write callbacks are required");
    int rc = normalize_options(opts, &o, err);
    if (rc != MBZ_OK)
        return rc;
    const mbz_level *L = mbz_level_get(o.level);
    const mbz_model *model = o.model ? o.model : mbz_level_model(L);
    if (!model->ops || !model->ops->create || !model->ops->score || !model->ops->destroy ||
        !model->ops->predict)
        return mbz_fail(err, MBZ_ERR_PARAM, "model cannot compress (no score function)");
    uint8_t flags = (uint8_t)mbz_level_flags(L, model, o.no_mix);
    mbz_stack stack;
    if ((rc = mbz_stack_build(model, mbz_frame_version_for_flags(flags), flags, &stack, err)) != MBZ_OK)
        return rc;
    model = stack.top;
    if (o.index)   /* the stack ignores it: it is about the frame, not the coding */
        flags |= MBZ_FLAG_INDEX;
    mbz_index_builder index = {0};

    unsigned block_log = L->block_log;
    size_t bs = (size_t)1 << block_log;
    reader r = { .fn = rd, .user = rd_user };
    /* A small input gets a smaller block size (a writer's choice, doc/format.md
     * "Writer choices"): in a CM frame of the full stage the history's tables are
     * sized by the block size (16 blocks' worth, frame.h), and on an input much
     * smaller than that they are touched all over all the same (hashed, in huge
     * pages): 320 MB at level 6 for a 35 KB file. So the first block is read before
     * the frame header is written; if the input ends in it, the block size is the
     * smallest (at least 64 KiB) of 4 times the input or more, the history's window
     * 64 times: the same blocks, tables of a tenth the size, payloads within
     * 0.05%. Not with a cut callback (archives: more follows) nor level 1's fast
     * stage (32 MiB at most). */
    uint8_t *ahead = NULL;
    size_t ahead_n = 0;
    int ahead_eof = 0;
    if (stack.cm && !(flags & MBZ_FLAG_FAST) && !o.cut && block_log > MBZ_BLOCK_LOG_MIN) {
        if (!(ahead = malloc(bs))) {
            mbz_stack_free(&stack);
            return mbz_fail(err, MBZ_ERR_NOMEM, "out of memory (block buffers of %zu bytes)", bs);
        }
        if ((rc = read_full(&r, ahead, bs, &ahead_n, err)) != MBZ_OK) {
            free(ahead);
            mbz_stack_free(&stack);
            return rc;
        }
        if (ahead_n < bs) {
            ahead_eof = 1;
            unsigned small = MBZ_BLOCK_LOG_MIN;
            while (small < block_log && ((uint64_t)1 << small) < 4 * (uint64_t)ahead_n)
                small++;
            block_log = small;
            bs = (size_t)1 << block_log;
        }
    }
    /* CM frames: segments of up to `seg` blocks share one history (frame.h); a
     * segment also ends where the caller cuts the input (mbz_options.cut). A batch
     * holds up to one segment per thread. */
    int seg = stack.cm ? (int)(mbz_frame_history(block_log) / bs) : 1;
    int nslots = o.threads * seg;
    int *starts = calloc((size_t)o.threads + 1, sizeof *starts);
    mbz_cm_chain *chains = NULL;
    uint8_t *carry = ahead;    /* bytes a block cut left over for the next (MEDIA), */
    size_t carry_n = ahead_n;  /* and first the bytes read ahead (above) */
    mbz_block_scratch *tables = calloc((size_t)o.threads, sizeof *tables);

    writer w = { .fn = wr, .user = wr_user };
    cjob *jobs = calloc((size_t)nslots, sizeof *jobs);
    XXH64_state_t *xs = XXH64_createState();
    mbz_pool *pool = mbz_pool_create(o.threads);
    if (stack.cm) {
        chains = calloc((size_t)o.threads, sizeof *chains);
        for (int t = 0; chains && t < o.threads; t++)
            chains[t].window = mbz_frame_history(block_log), chains[t].features = stack.cm_features;
    }
    if (!jobs || !xs || !tables || !starts || (stack.cm && !chains)) {
        rc = mbz_fail(err, MBZ_ERR_NOMEM, "out of memory");
        goto out;
    }
    XXH64_reset(xs, 0);

    uint8_t hdr[MBZ_BLOCK_HEADER_SIZE];
    mbz_frame_header fh = { mbz_frame_version_for_flags(flags), flags, (uint8_t)o.level, (uint8_t)block_log,
                            model->fingerprint };
    mbz_frame_header_write(&fh, hdr);
    rc = write_all(&w, hdr, MBZ_FRAME_HEADER_SIZE, err);
    if (rc != MBZ_OK)
        goto out;

    /* MEDIA frames: the detector cuts blocks at the edges of audio samples; what a
     * cut leaves over starts the next block (carry) */
    int media = (flags & MBZ_FLAG_MEDIA) != 0;
    mbz_media det = { .n = 0 };
    uint64_t total = 0, block_no = 0, offset = 0;
    int eof = ahead_eof;
    /* at_cut: the read callback ended and the caller's cut callback said more
     * follows: no more reading until the bytes before the cut (a media carry) are
     * in blocks; then the next block starts a segment (cut_next) */
    int at_cut = 0, cut_next = 0;
    while (!eof || carry_n > 0) {
        if (cancelled(&o)) {
            rc = mbz_fail(err, MBZ_ERR_CANCELLED, "cancelled");
            goto out;
        }
        int nb = 0, nseg = 0, in_seg = 0;
        while (nb < nslots && (!eof || carry_n > 0)) {
            int seg_start = nb == 0 || in_seg == seg || cut_next;
            if (seg_start && nseg == o.threads)
                break;             /* the batch has a segment per thread */
            cjob *j = &jobs[nb];
            if (!j->in) {
                j->in = malloc(bs);
                if (!j->in) {
                    rc = mbz_fail(err, MBZ_ERR_NOMEM, "out of memory (block buffers of %zu bytes)", bs);
                    goto out;
                }
            }
            size_t got = 0;
            if (carry_n)
                memcpy(j->in, carry, carry_n);
            if (!eof && !at_cut) {
                rc = read_full(&r, j->in + carry_n, bs - carry_n, &got, err);
                if (rc != MBZ_OK)
                    goto out;
                if (got < bs - carry_n) {
                    if (o.cut && o.cut(o.cut_user)) {
                        at_cut = 1;
                        r.eof = 0;          /* the read callback goes on after the cut */
                    } else {
                        eof = 1;
                    }
                }
            }
            got += carry_n;
            carry_n = 0;
            if (got == 0) {
                if (at_cut) {          /* nothing before the cut: a segment starts */
                    at_cut = 0;
                    cut_next = 1;
                    continue;
                }
                break;
            }
            j->media = NULL;
            if (media) {
                const mbz_media_format *fmt;
                size_t n = mbz_media_block(&det, offset, j->in, got, bs, &fmt);
                if (fmt) {
                    j->media_copy = *fmt;
                    j->media = &j->media_copy;
                }
                if (n < got) {
                    if (!carry && !(carry = malloc(bs))) {
                        rc = mbz_fail(err, MBZ_ERR_NOMEM, "out of memory");
                        goto out;
                    }
                    carry_n = got - n;
                    memcpy(carry, j->in + n, carry_n);
                    got = n;
                }
            }
            offset += got;
            j->n = got;
            snprintf(j->where, sizeof j->where, "block %llu",
                     (unsigned long long)(block_no + (uint64_t)nb + 1));
            if (seg_start) {
                starts[nseg++] = nb;
                in_seg = 0;
                cut_next = 0;
            }
            in_seg++;
            nb++;
            if (at_cut && carry_n == 0) {   /* the bytes before the cut are in */
                at_cut = 0;
                cut_next = 1;
            }
        }
        if (nb == 0)
            break;
        starts[nseg] = nb;
        int workers = nseg < o.threads ? nseg : o.threads;
        cbatch batch = { jobs, nb, &stack, starts, nseg, chains, tables, o.cancel, o.threads - workers };
        mbz_pool_run(pool, workers, compress_worker, &batch);
        for (int i = 0; i < nb; i++) {
            cjob *j = &jobs[i];
            if (j->status != MBZ_OK) {
                rc = j->status;
                if (err)
                    *err = j->err;
                goto out;
            }
            const mbz_block_coded *c = &j->coded;
            mbz_block_header bh = { c->type, (uint32_t)j->n, (uint32_t)c->payload_size, c->hash, 0 };
            mbz_block_header_write(&bh, hdr);
            if ((rc = write_all(&w, hdr, sizeof hdr, err)) != MBZ_OK ||
                (rc = write_all(&w, c->payload, c->payload_size, err)) != MBZ_OK)
                goto out;
            XXH64_update(xs, j->in, j->n);
            total += j->n;
            count_block(&stats, c->type, j->n, c->payload_size, c->ideal_q16);
            if (o.index) {
                mbz_index_entry e = { c->type, (uint32_t)j->n, (uint32_t)c->payload_size };
                if ((rc = mbz_index_add(&index, &e)) != MBZ_OK) {
                    rc = mbz_fail(err, rc, rc == MBZ_ERR_NOMEM ? "out of memory (seek index)"
                                                               : "too many blocks for a seek index");
                    goto out;
                }
            }
            if (o.progress)
                o.progress(o.progress_user, r.count, w.count);
        }
        block_no += (uint64_t)nb;
    }

    mbz_block_header end = { MBZ_BLOCK_END, 0, 0, XXH64_digest(xs), total };
    mbz_block_header_write(&end, hdr);
    rc = write_all(&w, hdr, sizeof hdr, err);
    if (rc != MBZ_OK)
        goto out;
    if (o.index) {
        const void *annex = NULL;
        size_t annex_n = 0;
        if (o.index_annex)
            o.index_annex(o.index_annex_user, &annex, &annex_n);
        if (annex_n && !annex)
            annex_n = 0;
        if ((rc = mbz_index_finish(&index, w.count, annex, annex_n)) != MBZ_OK) {
            rc = mbz_fail(err, rc, rc == MBZ_ERR_NOMEM ? "out of memory (seek index)"
                                                       : "seek index annex of %zu bytes is over the limit of %u",
                          annex_n, (unsigned)MBZ_INDEX_ANNEX_MAX);
            goto out;
        }
        if ((rc = write_all(&w, index.buf, index.len, err)) != MBZ_OK)
            goto out;
        stats.indexes = 1;
    }
    stats.frames = 1;
    stats.content_size = total;
    stats.level = o.level;
    stats.fingerprint = model->fingerprint;

out:
    if (w.fn) {
        /* what was accepted goes out, even after an error (as it did unbuffered) */
        int frc = flush_writes(&w, rc == MBZ_OK ? err : NULL);
        if (rc == MBZ_OK)
            rc = frc;
    }
    stats.bytes_in = r.count;
    stats.bytes_out = w.count;
    stats.frame_bytes = w.count;
    if (st)
        *st = stats;
    free_cjobs(jobs, nslots);
    free(starts);
    free(carry);
    mbz_index_builder_free(&index);
    for (int t = 0; chains && t < o.threads; t++)
        mbz_cm_chain_reset(&chains[t]);
    free(chains);
    for (int t = 0; tables && t < o.threads; t++)
        mbz_block_scratch_free(&tables[t]);
    free(tables);
    if (xs)
        XXH64_freeState(xs);
    mbz_pool_free(pool);
    mbz_stack_free(&stack);
    return rc;
}

/* ------------------------------------------------------------------ decompression */

typedef struct {
    mbz_block_job *jobs;
    int n;
    const mbz_stack *stack;
    volatile int *cancel;
    int threads;               /* the caller's threads (at least the workers run) */
} dbatch;

/* Worker t of nt: the cores of `threads` that no worker runs on, shared out. */
static int spare_for(int threads, int t, int nt)
{
    int spare = threads > nt ? threads - nt : 0;
    return spare / nt + (t < spare % nt);
}

/* Thread t decodes blocks t, t + nt, ... of the batch (at most the decode batch
 * width of them, so its modelled blocks can step together). */
static void decompress_worker(void *ctx, int t, int nt)
{
    dbatch *b = ctx;
    mbz_block_job *mine[MBZ_BLOCK_BATCH_MAX];
    int n = 0;
    for (int i = t; i < b->n && n < MBZ_BLOCK_BATCH_MAX; i += nt)
        mine[n++] = &b->jobs[i];
    mbz_block_decode(mine, n, b->stack, NULL, spare_for(b->threads, t, nt), b->cancel);
}

/* A batch without modelled blocks, with media blocks (independent of each other
 * and of the history): thread t decodes blocks t, t + nt, ..., one at a time. */
static void independent_worker(void *ctx, int t, int nt)
{
    dbatch *b = ctx;
    for (int i = t; i < b->n; i += nt) {
        mbz_block_job *one = &b->jobs[i];
        mbz_block_decode(&one, 1, b->stack, NULL, 0, b->cancel);
    }
}

/* CM frames: the blocks of a batch fall into histories (a type-4 block starts one;
 * the first continues the frame's open history, `carry`). Thread t decodes
 * histories t, t + nt, ... each in block order with its own chain; the last one's
 * chain is carried to the next batch. */
typedef struct {
    mbz_block_job *jobs;
    const int *start;          /* first block of each history, and nb after the last */
    int nh;
    mbz_cm_chain *chains;      /* one per history */
    const mbz_stack *stack;
    volatile int *cancel;
    int threads;               /* the caller's threads (at least the workers run) */
} hbatch;

static void history_worker(void *ctx, int t, int nt)
{
    hbatch *b = ctx;
    for (int h = t; h < b->nh; h += nt) {
        for (int i = b->start[h]; i < b->start[h + 1]; i++) {
            mbz_block_job *one = &b->jobs[i];
            mbz_block_decode(&one, 1, b->stack, &b->chains[h], spare_for(b->threads, t, nt),
                             b->cancel);
            if (one->status != MBZ_OK)
                break;
        }
        if (h != b->nh - 1)
            mbz_cm_chain_reset(&b->chains[h]);
    }
}

static int decode_histories(mbz_block_job *jobs, int nb, const mbz_stack *stack,
                            mbz_cm_chain *carry, mbz_pool *pool, int threads,
                            volatile int *cancel, mbz_error *err)
{
    int *start = malloc(((size_t)nb + 2) * sizeof *start);
    mbz_cm_chain *chains = calloc((size_t)nb + 1, sizeof *chains);
    if (!start || !chains) {
        free(start);
        free(chains);
        return mbz_fail(err, MBZ_ERR_NOMEM, "out of memory");
    }
    int nh = 0;
    start[nh++] = 0;
    for (int i = 1; i < nb; i++)
        if (jobs[i].h.type == MBZ_BLOCK_MODELLED_FRESH)
            start[nh++] = i;
    start[nh] = nb;
    for (int h = 0; h < nh; h++)
        chains[h].window = carry->window, chains[h].features = carry->features;
    chains[0] = *carry;              /* moved: the first history continues it */
    for (int i = 0; i < nb; i++)     /* a block left undone by an earlier error is never good */
        jobs[i].status = MBZ_ERR_INTERNAL;
    hbatch b = { jobs, start, nh, chains, stack, cancel, threads };
    mbz_pool_run(pool, nh < threads ? nh : threads, history_worker, &b);
    *carry = chains[nh - 1];
    free(start);
    free(chains);
    return MBZ_OK;
}

/* Discard n payload bytes (scan). Returns bytes skipped in *got. */
static int skip_bytes(reader *r, size_t n, size_t *got, mbz_error *err)
{
    uint8_t tmp[65536];
    size_t done = 0;
    while (done < n) {
        size_t k = n - done < sizeof tmp ? n - done : sizeof tmp, g;
        int rc = read_full(r, tmp, k, &g, err);
        if (rc != MBZ_OK)
            return rc;
        done += g;
        if (g < k)
            break;
    }
    *got = done;
    return MBZ_OK;
}

/* Read the seek index after the end mark of frame `frame` (flag INDEX) and check it
 * against the frame as read: its size (frame_size) and its blocks (n entries, whose
 * XXH64 state is `seen`). Bounded memory: the index is hashed as it streams past.
 * An index whose foot is where its own sizes put it, but that disagrees with the
 * frame, is counted in indexes_damaged and ignored: the content was checked by its
 * own checksums. One whose end cannot be found is MBZ_ERR_CORRUPT, since the next
 * frame's start is then unknown. */
static int read_index(reader *r, uint64_t frame, uint64_t frame_size, uint64_t n,
                      XXH64_state_t *seen, mbz_stats *stats, mbz_error *err)
{
    uint8_t tmp[4096];
    XXH64_state_t *stored = XXH64_createState();
    if (!stored)
        return mbz_fail(err, MBZ_ERR_NOMEM, "out of memory");
    XXH64_reset(stored, 0);
    int rc = MBZ_OK;
    size_t got;
    /* the stored entries: hashed only (the seen ones are in `seen`) */
    for (uint64_t left = n * MBZ_INDEX_ENTRY_SIZE; left > 0;) {
        size_t k = left < sizeof tmp ? (size_t)left : sizeof tmp;
        if ((rc = read_full(r, tmp, k, &got, err)) != MBZ_OK)
            goto out;
        if (got < k)
            goto truncated;
        XXH64_update(stored, tmp, k);
        left -= k;
    }
    uint8_t asz[4];
    if ((rc = read_full(r, asz, 4, &got, err)) != MBZ_OK)
        goto out;
    if (got < 4)
        goto truncated;
    uint32_t annex = mbz_get_le32(asz);
    if ((rc = mbz_index_annex_size_check(annex, frame, err)) != MBZ_OK)
        goto out;
    XXH64_update(stored, asz, 4);
    XXH64_update(seen, asz, 4);
    for (uint32_t left = annex; left > 0;) {
        size_t k = left < sizeof tmp ? left : sizeof tmp;
        if ((rc = read_full(r, tmp, k, &got, err)) != MBZ_OK)
            goto out;
        if (got < k)
            goto truncated;
        XXH64_update(stored, tmp, k);
        XXH64_update(seen, tmp, k);
        left -= (uint32_t)k;
    }
    uint8_t footb[MBZ_INDEX_FOOT_SIZE];
    if ((rc = read_full(r, footb, sizeof footb, &got, err)) != MBZ_OK)
        goto out;
    if (got < sizeof footb)
        goto truncated;
    mbz_index_foot foot;
    if ((rc = mbz_index_foot_locate(footb, annex, frame, &foot, err)) != MBZ_OK)
        goto out;
    stats->indexes++;
    if (foot.frame_size != frame_size || foot.n_blocks != n ||
        foot.body_check != (uint32_t)XXH64_digest(stored) ||
        foot.body_check != (uint32_t)XXH64_digest(seen))
        stats->indexes_damaged++;
    goto out;
truncated:
    rc = mbz_fail(err, MBZ_ERR_TRUNCATED, "truncated frame (ended inside frame %llu seek index)",
                  (unsigned long long)frame);
out:
    XXH64_freeState(stored);
    return rc;
}

/* Report one block header (or end mark) to a scan callback. */
static int report_block(mbz_block_fn fn, void *user, const mbz_frame_header *fh, uint64_t frame,
                        uint64_t block, const mbz_block_header *h, uint64_t offset,
                        uint64_t content_offset, mbz_error *err)
{
    mbz_block_info b = {
        .frame = frame, .block = block, .type = h->type,
        .content_size = h->content_size, .payload_size = h->payload_size,
        .offset = offset, .content_offset = content_offset, .checksum = h->checksum,
        .version = fh->version, .flags = fh->flags, .level = fh->level,
        .block_log = fh->block_log, .fingerprint = fh->fingerprint,
    };
    if (h->type == MBZ_BLOCK_END)
        b.block = 0;
    return fn(user, &b) ? mbz_fail(err, MBZ_ERR_CANCELLED, "scan stopped by its callback")
                        : MBZ_OK;
}

/* Decompression, or with `scan` a walk over the headers that skips the payloads
 * (calling `fn` for each block when it is not NULL). */
static int decompress_impl(const mbz_options *opts, mbz_read_fn rd, void *rd_user,
                           mbz_write_fn wr, void *wr_user, mbz_stats *st, mbz_error *err,
                           int scan, mbz_block_fn fn, void *fn_user)
{
    mbz_stats stats;
    mbz_options o;
    memset(&stats, 0, sizeof stats);
    mbz_error_clear(err);
    if (st)
        *st = stats;
    if (!rd)
        return mbz_fail(err, MBZ_ERR_PARAM, "a read callback is required");
    int rc = normalize_options(opts, &o, err);
    if (rc != MBZ_OK)
        return rc;
    if (scan)
        o.threads = 1;

    reader r = { .fn = rd, .user = rd_user };
    writer w = { .fn = wr, .user = wr_user };
    mbz_stack stack = {0};              /* the current frame's model stack */
    mbz_cm_chain chain = {0};           /* and its history (CM frames) */
    /* upper bound: a frame uses threads x G (batched decoding) or threads x histories'
     * blocks (CM frames: at most 16 modelled blocks each) */
    int nslots = o.threads * (MBZ_BLOCK_BATCH_MAX > 16 ? MBZ_BLOCK_BATCH_MAX : 16);
    mbz_block_job *jobs = calloc((size_t)nslots, sizeof *jobs);
    XXH64_state_t *xs = XXH64_createState();
    XXH64_state_t *seen = XXH64_createState();   /* the blocks, as index entries */
    mbz_pool *pool = mbz_pool_create(o.threads);
    if (!jobs || !xs || !seen) {
        rc = mbz_fail(err, MBZ_ERR_NOMEM, "out of memory");
        goto out;
    }

    uint64_t content_at = 0;            /* scan: decompressed offset of the next block */
    for (uint64_t frame = 1;; frame++) {
        uint8_t hdr[MBZ_FRAME_HEADER_SIZE];
        size_t got;
        uint64_t frame_start = r.count;
        if ((rc = read_full(&r, hdr, MBZ_FRAME_HEADER_SIZE, &got, err)) != MBZ_OK)
            goto out;
        if (got == 0) {
            if (frame == 1)
                rc = mbz_fail(err, MBZ_ERR_TRUNCATED, "empty input (no mbzip frame)");
            break;
        }
        size_t cmp = got < 4 ? got : 4;
        if (memcmp(hdr, mbz_frame_magic, cmp) != 0 || (frame > 1 && got < 4)) {
            if (frame == 1)
                rc = mbz_fail(err, MBZ_ERR_BAD_MAGIC, "not an mbzip stream (bad magic)");
            else
                rc = mbz_fail(err, MBZ_ERR_BAD_MAGIC, "trailing garbage after frame %llu (at byte %llu)",
                              (unsigned long long)(frame - 1), (unsigned long long)frame_start);
            goto out;
        }
        if (got < MBZ_FRAME_HEADER_SIZE) {
            rc = mbz_fail(err, MBZ_ERR_TRUNCATED, "truncated frame (ended inside frame %llu header)",
                          (unsigned long long)frame);
            goto out;
        }
        mbz_frame_header fh;
        if ((rc = mbz_frame_header_read(hdr, &fh, err)) != MBZ_OK)
            goto out;
        uint32_t bs = UINT32_C(1) << fh.block_log;
        const mbz_model *model = mbz_model_lookup(o.models, o.n_models, fh.fingerprint);
        mbz_stack_free(&stack);
        mbz_cm_chain_reset(&chain);
        chain.window = mbz_frame_history(fh.block_log);
        if (model) {
            if ((rc = mbz_stack_build(model, fh.version, fh.flags, &stack, err)) != MBZ_OK)
                goto out;
            chain.features = stack.cm_features;
            model = stack.top;
        }
        int group = model && (model->caps & MBZ_CAP_BATCH) ? decode_batch_width() : 1;
        int cap = o.threads * group;
        if (fh.flags & MBZ_FLAG_CM) /* one history per thread (doc/format.md, "History") */
            cap = o.threads * (int)(mbz_frame_history(fh.block_log) >> fh.block_log);
        stats.frames = frame - 1; /* completed frames so far */
        stats.fingerprint = fh.fingerprint;
        stats.level = fh.level;
        XXH64_reset(xs, 0);
        XXH64_reset(seen, 0);
        uint64_t total = 0, block_no = 0;

        for (int end = 0; !end;) {
            if (cancelled(&o)) {
                rc = mbz_fail(err, MBZ_ERR_CANCELLED, "cancelled");
                goto out;
            }
            mbz_block_header endh = { 0 };
            int nb = 0;
            while (nb < cap) {
                mbz_block_job *j = &jobs[nb];
                uint8_t bh[MBZ_BLOCK_HEADER_SIZE];
                uint64_t bn = block_no + (uint64_t)nb + 1, at = r.count;
                if (frame > 1)
                    snprintf(j->where, sizeof j->where, "frame %llu, block %llu",
                             (unsigned long long)frame, (unsigned long long)bn);
                else
                    snprintf(j->where, sizeof j->where, "block %llu", (unsigned long long)bn);
                if ((rc = read_full(&r, bh, sizeof bh, &got, err)) != MBZ_OK)
                    goto out;
                if (got < sizeof bh) {
                    rc = mbz_fail(err, MBZ_ERR_TRUNCATED, "truncated frame (ended inside %s header)", j->where);
                    goto out;
                }
                if ((rc = mbz_block_header_read(bh, bs, j->where, &j->h, err)) != MBZ_OK)
                    goto out;
                if ((rc = mbz_block_type_check(fh.flags, j->h.type, j->where, err)) != MBZ_OK)
                    goto out;
                if (fn && (rc = report_block(fn, fn_user, &fh, frame, bn, &j->h, at, content_at,
                                             err)) != MBZ_OK)
                    goto out;
                content_at += j->h.content_size;
                if (j->h.type == MBZ_BLOCK_END) {
                    endh = j->h;
                    end = 1;
                    break;
                }
                if (mbz_block_is_modelled(j->h.type) && !model && !scan) {
                    rc = mbz_fail(err, MBZ_ERR_MODEL_UNKNOWN,
                                  "frame needs model %016llx, which is not available (use --model FILE, or put it in the model path as %016llx.mbzm: mbzip --list-models)",
                                  (unsigned long long)fh.fingerprint, (unsigned long long)fh.fingerprint);
                    goto out;
                }
                size_t want = j->h.payload_size;
                if (scan) {
                    rc = skip_bytes(&r, want, &got, err);
                } else {
                    j->content = mbz_grow(j->content, &j->content_cap, j->h.content_size);
                    if (j->content && mbz_block_is_coded(j->h.type))
                        j->payload = mbz_grow(j->payload, &j->payload_cap, want);
                    if (!j->content || (mbz_block_is_coded(j->h.type) && !j->payload)) {
                        rc = mbz_fail(err, MBZ_ERR_NOMEM, "out of memory (%s)", j->where);
                        goto out;
                    }
                    uint8_t *dst = j->h.type == MBZ_BLOCK_STORED ? j->content
                                   : j->h.type == MBZ_BLOCK_RLE  ? &j->rle_byte
                                                                 : j->payload;
                    rc = read_full(&r, dst, want, &got, err);
                }
                if (rc != MBZ_OK)
                    goto out;
                if (got < want) {
                    rc = mbz_fail(err, MBZ_ERR_TRUNCATED, "truncated frame (ended inside %s payload)", j->where);
                    goto out;
                }
                nb++;
            }

            if (!scan && nb > 0) {
                dbatch b = { jobs, nb, &stack, o.cancel, o.threads };
                int nt = (nb + group - 1) / group, modelled = 0, audio = 0;
                for (int i = 0; i < nb; i++) {
                    modelled |= mbz_block_is_modelled(jobs[i].h.type);
                    audio |= mbz_block_is_media(jobs[i].h.type);
                }
                if (!modelled && audio) {
                    mbz_pool_run(pool, nb < o.threads ? nb : o.threads, independent_worker, &b);
                } else if (modelled && !stack.cm) {
                    mbz_pool_run(pool, nt < o.threads ? nt : o.threads, decompress_worker, &b);
                } else if (modelled) {
                    if ((rc = decode_histories(jobs, nb, &stack, &chain, pool, o.threads, o.cancel,
                                               err)) != MBZ_OK)
                        goto out;
                } else {
                    /* stored and RLE blocks only: a copy and a checksum each, cheaper
                     * here than a hand-over to the threads */
                    for (int i = 0; i < nb; i++) {
                        mbz_block_job *one = &jobs[i];
                        mbz_block_decode(&one, 1, &stack, &chain, 0, o.cancel);
                    }
                }
            }
            for (int i = 0; i < nb; i++) {
                mbz_block_job *j = &jobs[i];
                if (!scan) {
                    if (j->status != MBZ_OK) {
                        rc = j->status;
                        if (err)
                            *err = j->err;
                        goto out;
                    }
                    if ((rc = write_all(&w, j->content, j->h.content_size, err)) != MBZ_OK)
                        goto out;
                    XXH64_update(xs, j->content, j->h.content_size);
                }
                total += j->h.content_size;
                stats.content_size += j->h.content_size;
                count_block(&stats, j->h.type, j->h.content_size, j->h.payload_size, j->ideal_q16);
                if (fh.flags & MBZ_FLAG_INDEX) {
                    uint8_t e[MBZ_INDEX_ENTRY_SIZE];
                    mbz_index_entry ie = { j->h.type, j->h.content_size, j->h.payload_size };
                    mbz_index_entry_write(&ie, e);
                    XXH64_update(seen, e, sizeof e);
                }
                if (o.progress)
                    o.progress(o.progress_user, r.count, w.count);
            }
            block_no += (uint64_t)nb;
            if (end) {
                if (endh.total != total) {
                    rc = mbz_fail(err, MBZ_ERR_CORRUPT,
                                  "frame %llu end mark: total size %llu does not match the blocks' %llu",
                                  (unsigned long long)frame, (unsigned long long)endh.total,
                                  (unsigned long long)total);
                    goto out;
                }
                if (!scan && endh.checksum != XXH64_digest(xs)) {
                    rc = mbz_fail(err, MBZ_ERR_CHECKSUM, "frame %llu: content checksum mismatch",
                                  (unsigned long long)frame);
                    goto out;
                }
                if ((fh.flags & MBZ_FLAG_INDEX) &&
                    (rc = read_index(&r, frame, r.count - frame_start, block_no, seen, &stats,
                                     err)) != MBZ_OK)
                    goto out;
            }
        }
        stats.frames = frame;
    }

out:
    if (w.fn) {
        /* what was accepted goes out, even after an error (as it did unbuffered) */
        int frc = flush_writes(&w, rc == MBZ_OK ? err : NULL);
        if (rc == MBZ_OK)
            rc = frc;
    }
    stats.bytes_in = r.count;
    stats.bytes_out = w.count;
    stats.frame_bytes = r.count;
    if (st)
        *st = stats;
    if (jobs) {
        for (int i = 0; i < nslots; i++) {
            free(jobs[i].payload);
            free(jobs[i].content);
        }
        free(jobs);
    }
    if (xs)
        XXH64_freeState(xs);
    if (seen)
        XXH64_freeState(seen);
    mbz_pool_free(pool);
    mbz_stack_free(&stack);
    mbz_cm_chain_reset(&chain);
    return rc;
}

int mbz_decompress_stream(const mbz_options *o, mbz_read_fn rd, void *rd_user,
                          mbz_write_fn wr, void *wr_user, mbz_stats *st, mbz_error *err)
{
    return decompress_impl(o, rd, rd_user, wr, wr_user, st, err, 0, NULL, NULL);
}

int mbz_scan_stream(mbz_read_fn rd, void *rd_user, mbz_stats *st, mbz_error *err)
{
    return decompress_impl(NULL, rd, rd_user, NULL, NULL, st, err, 1, NULL, NULL);
}

int mbz_scan_blocks(mbz_read_fn rd, void *rd_user, mbz_block_fn fn, void *fn_user,
                    mbz_stats *st, mbz_error *err)
{
    return decompress_impl(NULL, rd, rd_user, NULL, NULL, st, err, 1, fn, fn_user);
}

/* ------------------------------------------------------------------ buffers */

typedef struct {
    const uint8_t *p;
    size_t n, pos;
} mem_reader;

typedef struct {
    uint8_t *p;
    size_t n, cap;
} mem_writer;

static long long mem_read(void *user, void *buf, size_t n)
{
    mem_reader *m = user;
    size_t k = m->n - m->pos < n ? m->n - m->pos : n;
    if (k > (size_t)LLONG_MAX)
        k = (size_t)LLONG_MAX;
    if (k)
        memcpy(buf, m->p + m->pos, k);
    m->pos += k;
    return (long long)k;
}

static int mem_write(void *user, const void *buf, size_t n)
{
    mem_writer *m = user;
    if (n > SIZE_MAX - m->n) {
        errno = ENOMEM;
        return -1;
    }
    if (m->n + n > m->cap) {
        size_t cap = m->cap ? m->cap : 4096;
        while (cap < m->n + n)
            cap = cap > SIZE_MAX / 2 ? m->n + n : cap * 2;
        uint8_t *p = realloc(m->p, cap);
        if (!p) {
            errno = ENOMEM;
            return -1;
        }
        m->p = p;
        m->cap = cap;
    }
    memcpy(m->p + m->n, buf, n);
    m->n += n;
    return 0;
}

static int buffer_call(int compress, const mbz_options *o, const void *src, size_t n,
                       void **dst, size_t *dst_n, mbz_stats *st, mbz_error *err)
{
    mbz_error_clear(err);
    if (!dst || !dst_n || (!src && n))
        return mbz_fail(err, MBZ_ERR_PARAM, "invalid buffer arguments");
    *dst = NULL;
    *dst_n = 0;
    mem_reader mr = { src, n, 0 };
    mem_writer mw = { NULL, 0, 0 };
    int rc = compress ? mbz_compress_stream(o, mem_read, &mr, mem_write, &mw, st, err)
                      : mbz_decompress_stream(o, mem_read, &mr, mem_write, &mw, st, err);
    if (rc == MBZ_ERR_IO && err && err->sys_errno == ENOMEM) {
        err->code = rc = MBZ_ERR_NOMEM;
        snprintf(err->msg, sizeof err->msg, "out of memory (output buffer)");
    }
    if (rc == MBZ_OK && !mw.p) { /* empty output: still hand back a freeable pointer */
        mw.p = malloc(1);
        if (!mw.p)
            rc = mbz_fail(err, MBZ_ERR_NOMEM, "out of memory");
    }
    if (rc != MBZ_OK) {
        free(mw.p);
        return rc;
    }
    *dst = mw.p;
    *dst_n = mw.n;
    return MBZ_OK;
}

int mbz_compress_buffer(const mbz_options *o, const void *src, size_t n,
                        void **dst, size_t *dst_n, mbz_stats *st, mbz_error *err)
{
    return buffer_call(1, o, src, n, dst, dst_n, st, err);
}

int mbz_decompress_buffer(const mbz_options *o, const void *src, size_t n,
                          void **dst, size_t *dst_n, mbz_stats *st, mbz_error *err)
{
    return buffer_call(0, o, src, n, dst, dst_n, st, err);
}

int mbz_is_frame(const void *p, size_t n)
{
    return p && n >= 4 && memcmp(p, mbz_frame_magic, 4) == 0;
}
