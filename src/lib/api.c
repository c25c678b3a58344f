/*
 * api.c - streams, threads, buffer wrappers, options and statistics.
 *
 * Compression reads up to `threads` blocks, codes them concurrently (one worker per
 * block), then writes them in order; decompression reads up to threads x G blocks
 * (G > 1 only for models with predict_batch), decodes them concurrently, verifies
 * every checksum and writes in order. Each block is coded by a pure function of its
 * bytes and the model, so the output never depends on the thread count, and memory
 * is bounded by (threads x G) x block size whatever the input size.
 */
#include "config.h"
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>
#include "frame.h"
#include "megabyte.h"
#include "mix.h"
#include "strided.h"
#include "rangecoder.h"

#define MAX_THREADS 256
#define MAX_BATCH 8                  /* blocks stepped together via predict_batch, at most */
/* Blocks a decoding thread steps together (predict_batch) unless MBZIP_BATCH=1..8 says
 * otherwise. Batching reads each weight once per step for all its blocks, but every
 * MEGABYTE block carries its own attention cache (about 4.4 MB for the default
 * model); measured on a 32 MB-L3 machine, one block at a time decoded at 26.7 KB/s
 * against 18.1 with four and 17.5 with eight (doc/benchmarks.md), so the default is
 * 1. The output never depends on it. */
#define DEFAULT_BATCH 1

static int decode_batch_width(void)
{
    const char *e = getenv("MBZIP_BATCH");
    if (e && *e >= '1' && *e <= '8' && e[1] == 0)
        return *e - '0';
    return DEFAULT_BATCH;
}
#define CANCEL_STRIDE 65536          /* bytes between cancel checks inside a block */
#define SCORE_CHUNK_DEFAULT 4096
#define SCORE_CHUNK_MAX 65536
/* Store without modelling when the order-0 entropy exceeds 7.95 bits/byte (Q16). */
#define STORE_BITS_Q16 ((uint64_t)(795u * 65536u / 100u))

/* Levels. Level 1 codes with the adaptive order-2 model (about 300 KB/s with the
 * mixing stage); levels 2-9 with the default model (MEGABYTE when one is built in),
 * level 9 with strided inference (two passes). The MEGABYTE model sees a window of
 * ctx bytes (8 KiB for the default), but the mixing stage (doc/mixing.md) learns from
 * everything earlier in the block, and all of it restarts at each block: bigger
 * blocks compress much better (world192.txt, 2.4 MB: 503,419 bytes in 256 KiB
 * blocks, 442,326 in 1 MiB blocks, 411,989 in one 4 MiB block), while smaller blocks
 * give threads and batched decoding more blocks to share. Level 6, the default,
 * uses 1 MiB blocks, so files from 2 MiB on use two threads. */
static const uint8_t level_block_log[MBZ_LEVEL_MAX + 1] = {
    0, 18, 16, 17, 18, 19, 20, 22, 24, 24
};

static const mbz_model *model_for_level(int level)
{
    return level == 1 ? mbz_model_order2() : mbz_model_default();
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

typedef struct {
    mbz_read_fn fn;
    void *user;
    uint64_t count;
} reader;

typedef struct {
    mbz_write_fn fn;   /* NULL: discard (verify only) */
    void *user;
    uint64_t count;
} writer;

/* Read until n bytes or end of input; *got says how many. */
static int read_full(reader *r, void *buf, size_t n, size_t *got, mbz_error *err)
{
    size_t done = 0;
    while (done < n) {
        errno = 0;
        long long k = r->fn(r->user, (unsigned char *)buf + done, n - done);
        if (k < 0)
            return mbz_fail_errno(err, MBZ_ERR_IO, errno, "read error");
        if (k == 0)
            break;
        if ((unsigned long long)k > n - done)
            return mbz_fail(err, MBZ_ERR_IO, "read callback returned more bytes than asked");
        done += (size_t)k;
        r->count += (uint64_t)k;
    }
    *got = done;
    return MBZ_OK;
}

static int write_all(writer *w, const void *buf, size_t n, mbz_error *err)
{
    if (n == 0)
        return MBZ_OK;
    if (w->fn) {
        errno = 0;
        if (w->fn(w->user, buf, n) != 0)
            return mbz_fail_errno(err, MBZ_ERR_IO, errno, "write error");
    }
    w->count += n;
    return MBZ_OK;
}

/* ------------------------------------------------------------------ threads */

typedef struct {
    void (*fn)(void *ctx, int t, int nt);
    void *ctx;
    int t, nt;
} thread_arg;

static void *thread_main(void *a)
{
    thread_arg *x = a;
    x->fn(x->ctx, x->t, x->nt);
    return NULL;
}

/* Run fn(ctx, t, nt) for t = 0..nt-1 concurrently; t = 0 on the calling thread. If
 * a thread cannot be started its share runs here: results cannot depend on it. */
static void run_workers(int nt, void (*fn)(void *, int, int), void *ctx)
{
    pthread_t tid[MAX_THREADS];
    thread_arg arg[MAX_THREADS];
    int started[MAX_THREADS];
    for (int t = 1; t < nt; t++) {
        arg[t] = (thread_arg){ fn, ctx, t, nt };
        started[t] = pthread_create(&tid[t], NULL, thread_main, &arg[t]) == 0;
        if (!started[t])
            fn(ctx, t, nt);
    }
    fn(ctx, 0, nt);
    for (int t = 1; t < nt; t++)
        if (started[t])
            pthread_join(tid[t], NULL);
}

/* A model's table must be a valid input for the coder (predictor.h); a bad one
 * would silently produce an undecodable stream, so it is checked on both sides. */
/* Per-block statistics, shared by compression and decompression. */
static void count_block(mbz_stats *st, int type, uint64_t content, uint64_t payload,
                        uint64_t ideal_q16)
{
    st->blocks++;
    if (type == MBZ_BLOCK_MODELLED) {
        st->modelled_bytes += content;
        st->modelled_payload += payload;
        st->ideal_bits_q16 += ideal_q16;
    } else {
        st->blocks_stored++;
    }
}

static int table_ok(const uint16_t *f)
{
    uint32_t sum = 0;
    int zero = 0;
    for (int i = 0; i < MBZ_SYMBOLS; i++) {
        sum += f[i];
        zero |= f[i] == 0;
    }
    return !zero && sum == MBZ_FREQ_TOTAL;
}

/* ------------------------------------------------------------------ compression */

typedef struct {
    /* input */
    uint8_t *in;
    size_t n;
    uint64_t block_no;
    /* scratch */
    uint8_t *out;
    size_t out_cap;
    uint16_t *freq;
    /* result */
    uint8_t type;
    const uint8_t *payload;
    size_t payload_size;
    uint64_t hash, ideal;
    int status;
    mbz_error err;
} cjob;

typedef struct {
    cjob *jobs;
    int n;
    const mbz_model *model;
    size_t chunk;
    volatile int *cancel;
} cbatch;

/* Order-0 entropy above STORE_BITS_Q16 per byte: no model is worth its time here. */
static int high_entropy(const uint8_t *in, size_t n)
{
    uint32_t cnt[MBZ_SYMBOLS] = { 0 };
    for (size_t i = 0; i < n; i++)
        cnt[in[i]]++;
    uint64_t ln = mbz_log2_q16(n), bits = 0;
    for (int s = 0; s < MBZ_SYMBOLS; s++)
        if (cnt[s])
            bits += (uint64_t)cnt[s] * (ln - mbz_log2_q16(cnt[s]));
    return bits > (uint64_t)n * STORE_BITS_Q16;
}

static void compress_block(cjob *j, const mbz_model *model, size_t chunk, volatile int *cancel)
{
    const uint8_t *in = j->in;
    size_t n = j->n;
    j->hash = XXH64(in, n, 0);
    j->ideal = 0;
    j->status = MBZ_OK;

    size_t same = 1;
    while (same < n && in[same] == in[0])
        same++;
    if (same == n) {
        j->type = MBZ_BLOCK_RLE;
        j->payload = in;
        j->payload_size = 1;
        return;
    }
    if (high_entropy(in, n))
        goto stored;

    const mbz_predictor_ops *ops = model->ops;
    mbz_predictor *p = NULL;
    int rc = ops->create(model->impl, n, &p);
    if (rc != MBZ_OK) {
        j->status = mbz_fail(&j->err, rc, "block %llu: model %s failed to start",
                             (unsigned long long)j->block_no, ops->name);
        return;
    }
    mbz_rc_enc e;
    mbz_rc_enc_init(&e, j->out, n - 1); /* a payload >= content is stored instead */
    uint64_t ideal = 0;
    size_t since_check = 0;
    for (size_t pos = 0; pos < n && !e.overflow;) {
        size_t k = n - pos < chunk ? n - pos : chunk;
        if (since_check >= CANCEL_STRIDE) {
            since_check = 0;
            if (cancel && *cancel) {
                j->status = mbz_fail(&j->err, MBZ_ERR_CANCELLED, "cancelled");
                break;
            }
        }
        rc = ops->score(p, in, n, pos, k, j->freq);
        if (rc != MBZ_OK) {
            j->status = mbz_fail(&j->err, rc, "block %llu: model %s failed at byte %zu",
                                 (unsigned long long)j->block_no, ops->name, pos);
            break;
        }
        for (size_t i = 0; i < k; i++) {
            const uint16_t *f = j->freq + i * MBZ_SYMBOLS;
            unsigned s = in[pos + i];
            if (!table_ok(f)) {
                j->status = mbz_fail(&j->err, MBZ_ERR_INTERNAL,
                                     "block %llu: model %s gave an invalid frequency table",
                                     (unsigned long long)j->block_no, ops->name);
                break;
            }
            mbz_rc_encode_sym(&e, f, s);
            ideal += mbz_cost_q16(f[s]);
        }
        if (j->status != MBZ_OK)
            break;
        pos += k;
        since_check += k;
    }
    ops->destroy(p);
    if (j->status != MBZ_OK)
        return;
    if (!e.overflow) {
        size_t len = mbz_rc_enc_finish(&e);
        if (len > 0 && len < n) {
            j->type = MBZ_BLOCK_MODELLED;
            j->payload = j->out;
            j->payload_size = len;
            j->ideal = ideal;
            return;
        }
    }
stored:
    j->type = MBZ_BLOCK_STORED;
    j->payload = in;
    j->payload_size = n;
}

static void compress_worker(void *ctx, int t, int nt)
{
    cbatch *b = ctx;
    for (int i = t; i < b->n; i += nt)
        compress_block(&b->jobs[i], b->model, b->chunk, b->cancel);
}

static void free_cjobs(cjob *jobs, int n)
{
    if (!jobs)
        return;
    for (int i = 0; i < n; i++) {
        free(jobs[i].in);
        free(jobs[i].out);
        free(jobs[i].freq);
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
    const mbz_model *model = o.model ? o.model : model_for_level(o.level);
    if (!model->ops || !model->ops->create || !model->ops->score || !model->ops->destroy ||
        !model->ops->predict)
        return mbz_fail(err, MBZ_ERR_PARAM, "model cannot compress (no score function)");
    /* level 9 runs a patch model twice, offset by half a patch (strided.c); the
     * adaptive mixing stage (doc/mixing.md) wraps the model unless asked not to */
    uint8_t flags = 0;
    if (o.level == MBZ_LEVEL_MAX && mbz_megabyte_patch(model) >= 2)
        flags |= MBZ_FLAG_STRIDED;
    if (!o.no_mix)
        flags |= MBZ_FLAG_MIX;
    mbz_frame_model fm;
    if ((rc = mbz_frame_model_build(model, flags, &fm, err)) != MBZ_OK)
        return rc;
    model = fm.top;

    unsigned block_log = level_block_log[o.level];
    size_t bs = (size_t)1 << block_log;
    size_t chunk = model->ops->score_chunk ? model->ops->score_chunk : SCORE_CHUNK_DEFAULT;
    if (chunk > SCORE_CHUNK_MAX)
        chunk = SCORE_CHUNK_MAX;
    int nslots = o.threads;

    reader r = { rd, rd_user, 0 };
    writer w = { wr, wr_user, 0 };
    cjob *jobs = calloc((size_t)nslots, sizeof *jobs);
    XXH64_state_t *xs = XXH64_createState();
    if (!jobs || !xs) {
        rc = mbz_fail(err, MBZ_ERR_NOMEM, "out of memory");
        goto out;
    }
    XXH64_reset(xs, 0);

    uint8_t hdr[MBZ_BLOCK_HEADER_SIZE];
    /* the lowest version that has these flags (frame.h) */
    uint8_t version = (flags & ~MBZ_FRAME_FLAGS_V2) ? 3 : (flags & ~MBZ_FRAME_FLAGS_V1) ? 2 : 1;
    mbz_frame_header fh = { version, flags, (uint8_t)o.level, (uint8_t)block_log,
                            model->fingerprint };
    mbz_frame_header_write(&fh, hdr);
    rc = write_all(&w, hdr, MBZ_FRAME_HEADER_SIZE, err);
    if (rc != MBZ_OK)
        goto out;

    uint64_t total = 0, block_no = 0;
    int eof = 0;
    while (!eof) {
        if (cancelled(&o)) {
            rc = mbz_fail(err, MBZ_ERR_CANCELLED, "cancelled");
            goto out;
        }
        int nb = 0;
        while (nb < nslots && !eof) {
            cjob *j = &jobs[nb];
            if (!j->in) {
                j->in = malloc(bs);
                j->out = malloc(bs);
                j->freq = malloc(chunk * MBZ_SYMBOLS * sizeof *j->freq);
                if (!j->in || !j->out || !j->freq) {
                    rc = mbz_fail(err, MBZ_ERR_NOMEM, "out of memory (block buffers of %zu bytes)", bs);
                    goto out;
                }
            }
            size_t got;
            rc = read_full(&r, j->in, bs, &got, err);
            if (rc != MBZ_OK)
                goto out;
            if (got < bs)
                eof = 1;
            if (got == 0)
                break;
            j->n = got;
            j->block_no = block_no + (uint64_t)nb + 1;
            nb++;
        }
        if (nb == 0)
            break;
        cbatch batch = { jobs, nb, model, chunk, o.cancel };
        run_workers(nb < o.threads ? nb : o.threads, compress_worker, &batch);
        for (int i = 0; i < nb; i++) {
            cjob *j = &jobs[i];
            if (j->status != MBZ_OK) {
                rc = j->status;
                if (err)
                    *err = j->err;
                goto out;
            }
            mbz_block_header bh = { j->type, (uint32_t)j->n, (uint32_t)j->payload_size, j->hash, 0 };
            mbz_block_header_write(&bh, hdr);
            if ((rc = write_all(&w, hdr, sizeof hdr, err)) != MBZ_OK ||
                (rc = write_all(&w, j->payload, j->payload_size, err)) != MBZ_OK)
                goto out;
            XXH64_update(xs, j->in, j->n);
            total += j->n;
            count_block(&stats, j->type, j->n, j->payload_size, j->ideal);
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
    stats.frames = 1;
    stats.content_size = total;
    stats.level = o.level;
    stats.fingerprint = model->fingerprint;

out:
    stats.bytes_in = r.count;
    stats.bytes_out = w.count;
    stats.frame_bytes = w.count;
    if (st)
        *st = stats;
    free_cjobs(jobs, nslots);
    if (xs)
        XXH64_freeState(xs);
    mbz_frame_model_free(&fm);
    return rc;
}

/* ------------------------------------------------------------------ decompression */

typedef struct {
    mbz_block_header h;
    char where[48];        /* "block 3" or "frame 2, block 3" */
    uint8_t *payload;      /* modelled payload */
    size_t payload_cap;
    uint8_t *content;
    size_t content_cap;
    uint8_t rle_byte;
    uint64_t ideal;
    int status;
    mbz_error err;
} djob;

typedef struct {
    djob *jobs;
    int n;
    const mbz_model *model;
    volatile int *cancel;
} dbatch;

static int decode_fail(djob *j, int code, const char *what)
{
    return j->status = mbz_fail(&j->err, code, "%s: %s", j->where, what);
}

/* Decode the modelled jobs in `list` (all from the same model). With predict_batch
 * they advance in lockstep, one table per block per step; otherwise one by one.
 * Either way each block sees exactly the tables its encoder saw. */
static void decode_modelled(djob **list, int n, const mbz_model *model, volatile int *cancel)
{
    const mbz_predictor_ops *ops = model->ops;
    mbz_predictor *p[MAX_BATCH];
    mbz_rc_dec d[MAX_BATCH];
    uint16_t freq[MAX_BATCH * MBZ_SYMBOLS];
    int live[MAX_BATCH];

    if (n > 1 && !ops->predict_batch) {
        for (int i = 0; i < n; i++)
            decode_modelled(&list[i], 1, model, cancel);
        return;
    }
    for (int i = 0; i < n; i++) {
        p[i] = NULL;
        live[i] = 0;
        int rc = ops->create(model->impl, list[i]->h.content_size, &p[i]);
        if (rc != MBZ_OK) {
            decode_fail(list[i], rc, "model failed to start");
            continue;
        }
        mbz_rc_dec_init(&d[i], list[i]->payload, list[i]->h.payload_size);
        list[i]->ideal = 0;
        live[i] = 1;
    }
    mbz_predictor *bp[MAX_BATCH];
    const uint8_t *bdata[MAX_BATCH];
    size_t bpos[MAX_BATCH];
    int bidx[MAX_BATCH];
    for (size_t pos = 0;; pos++) {
        int nl = 0;
        for (int i = 0; i < n; i++) {
            if (live[i] && pos >= list[i]->h.content_size)
                live[i] = 0;
            if (live[i]) {
                bp[nl] = p[i];
                bdata[nl] = list[i]->content;
                bpos[nl] = pos;
                bidx[nl] = i;
                nl++;
            }
        }
        if (nl == 0)
            break;
        if (pos % CANCEL_STRIDE == 0 && pos && cancel && *cancel) {
            for (int k = 0; k < nl; k++)
                list[bidx[k]]->status = mbz_fail(&list[bidx[k]]->err, MBZ_ERR_CANCELLED, "cancelled");
            break;
        }
        int rc;
        if (nl == 1)
            rc = ops->predict(bp[0], bdata[0], pos, freq);
        else
            rc = ops->predict_batch(bp, bdata, bpos, nl, freq);
        for (int k = 0; k < nl; k++) {
            djob *j = list[bidx[k]];
            const uint16_t *f = freq + k * MBZ_SYMBOLS;
            if (rc != MBZ_OK) {
                decode_fail(j, rc, "model failed while decoding");
            } else if (!table_ok(f)) {
                decode_fail(j, MBZ_ERR_INTERNAL, "model gave an invalid frequency table");
            } else {
                unsigned s = mbz_rc_decode_sym(&d[bidx[k]], f);
                if (d[bidx[k]].error) {
                    decode_fail(j, MBZ_ERR_CORRUPT, "corrupt modelled payload");
                } else {
                    j->content[pos] = (uint8_t)s;
                    j->ideal += mbz_cost_q16(f[s]);
                    continue;
                }
            }
            live[bidx[k]] = 0;
        }
    }
    for (int i = 0; i < n; i++) {
        if (p[i])
            ops->destroy(p[i]);
        if (list[i]->status == MBZ_OK && !mbz_rc_dec_check_end(&d[i]))
            decode_fail(list[i], MBZ_ERR_CORRUPT, "modelled payload length inconsistent with its content");
    }
}

static void decompress_worker(void *ctx, int t, int nt)
{
    dbatch *b = ctx;
    djob *mod[MAX_BATCH];
    int nm = 0;
    for (int i = t; i < b->n; i += nt) {
        djob *j = &b->jobs[i];
        j->status = MBZ_OK;
        j->ideal = 0;
        if (j->h.type == MBZ_BLOCK_RLE)
            memset(j->content, j->rle_byte, j->h.content_size);
        else if (j->h.type == MBZ_BLOCK_MODELLED && nm < MAX_BATCH)
            mod[nm++] = j;
    }
    if (nm)
        decode_modelled(mod, nm, b->model, b->cancel);
    for (int i = t; i < b->n; i += nt) {
        djob *j = &b->jobs[i];
        if (j->status == MBZ_OK && XXH64(j->content, j->h.content_size, 0) != j->h.checksum)
            decode_fail(j, MBZ_ERR_CHECKSUM, "content checksum mismatch");
    }
}

static const mbz_model *find_model(const mbz_options *o, uint64_t fp)
{
    if (mbz_model_default()->fingerprint == fp)
        return mbz_model_default();
    if (mbz_model_order2()->fingerprint == fp)
        return mbz_model_order2();
    for (size_t i = 0; i < o->n_models; i++)
        if (o->models[i] && o->models[i]->fingerprint == fp)
            return o->models[i];
    return NULL;
}

/* Grow *buf to at least need bytes (need was bounded by the block size). */
static int ensure(uint8_t **buf, size_t *cap, size_t need)
{
    if (*cap >= need)
        return MBZ_OK;
    free(*buf);
    *buf = malloc(need);
    *cap = *buf ? need : 0;
    return *buf ? MBZ_OK : MBZ_ERR_NOMEM;
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

static int decompress_impl(const mbz_options *opts, mbz_read_fn rd, void *rd_user,
                           mbz_write_fn wr, void *wr_user, mbz_stats *st, mbz_error *err,
                           int scan)
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

    reader r = { rd, rd_user, 0 };
    writer w = { wr, wr_user, 0 };
    mbz_frame_model fm = {0};          /* the current frame's model stack */
    int nslots = o.threads * MAX_BATCH; /* upper bound; a frame uses threads x G */
    djob *jobs = calloc((size_t)nslots, sizeof *jobs);
    XXH64_state_t *xs = XXH64_createState();
    if (!jobs || !xs) {
        rc = mbz_fail(err, MBZ_ERR_NOMEM, "out of memory");
        goto out;
    }

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
        const mbz_model *model = find_model(&o, fh.fingerprint);
        mbz_frame_model_free(&fm);
        if (model) {
            if ((rc = mbz_frame_model_build(model, fh.flags, &fm, err)) != MBZ_OK)
                goto out;
            model = fm.top;
        }
        int group = model && model->ops->predict_batch ? decode_batch_width() : 1;
        int cap = o.threads * group;
        stats.frames = frame - 1; /* completed frames so far */
        stats.fingerprint = fh.fingerprint;
        stats.level = fh.level;
        XXH64_reset(xs, 0);
        uint64_t total = 0, block_no = 0;

        for (int end = 0; !end;) {
            if (cancelled(&o)) {
                rc = mbz_fail(err, MBZ_ERR_CANCELLED, "cancelled");
                goto out;
            }
            mbz_block_header endh = { 0 };
            int nb = 0;
            while (nb < cap) {
                djob *j = &jobs[nb];
                uint8_t bh[MBZ_BLOCK_HEADER_SIZE];
                uint64_t bn = block_no + (uint64_t)nb + 1;
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
                if (j->h.type == MBZ_BLOCK_END) {
                    endh = j->h;
                    end = 1;
                    break;
                }
                if (j->h.type == MBZ_BLOCK_MODELLED && !model && !scan) {
                    rc = mbz_fail(err, MBZ_ERR_MODEL_UNKNOWN,
                                  "frame needs model %016llx, which is not available (use --model FILE)",
                                  (unsigned long long)fh.fingerprint);
                    goto out;
                }
                size_t want = j->h.payload_size;
                if (scan) {
                    rc = skip_bytes(&r, want, &got, err);
                } else {
                    if (ensure(&j->content, &j->content_cap, j->h.content_size) != MBZ_OK ||
                        (j->h.type == MBZ_BLOCK_MODELLED &&
                         ensure(&j->payload, &j->payload_cap, want) != MBZ_OK)) {
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
                dbatch b = { jobs, nb, model, o.cancel };
                int nt = (nb + group - 1) / group;
                run_workers(nt < o.threads ? nt : o.threads, decompress_worker, &b);
            }
            for (int i = 0; i < nb; i++) {
                djob *j = &jobs[i];
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
                count_block(&stats, j->h.type, j->h.content_size, j->h.payload_size, j->ideal);
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
            }
        }
        stats.frames = frame;
    }

out:
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
    mbz_frame_model_free(&fm);
    return rc;
}

int mbz_decompress_stream(const mbz_options *o, mbz_read_fn rd, void *rd_user,
                          mbz_write_fn wr, void *wr_user, mbz_stats *st, mbz_error *err)
{
    return decompress_impl(o, rd, rd_user, wr, wr_user, st, err, 0);
}

int mbz_scan_stream(mbz_read_fn rd, void *rd_user, mbz_stats *st, mbz_error *err)
{
    return decompress_impl(NULL, rd, rd_user, NULL, NULL, st, err, 1);
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
