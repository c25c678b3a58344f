/*
 * block.c - the block coder (block.h): model stack, encoding, scoring for
 * --explain, decoding. Everything a block's bytes go through between the frame loops
 * of api.c and the range coder is here, once.
 */
#include "config.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include "audio.h"
#include "bitcoder.h"
#include "image.h"
#include "block.h"
#include "cm.h"
#include "filter.h"
#include "mix.h"
#include "qmath.h"
#include "rangecoder.h"
#include "strided.h"

#define CANCEL_STRIDE 65536          /* bytes between cancel checks inside a block */
/* The stage alone on two threads from this block size on (cm_pass): one thread
 * start per block is nothing next to 16 KiB of the stage's work. */
#define PASS2_MIN 16384
#define SCORE_CHUNK_DEFAULT 4096
#define SCORE_CHUNK_MAX 65536
/* Store without modelling when the order-0 entropy exceeds 7.95 bits/byte (Q16). */
#define STORE_BITS_Q16 ((uint64_t)(795u * 65536u / 100u))
/* A table sink's "stop here, no error" (the encoder's output is full). */
#define SINK_STOP (-1)

/* ------------------------------------------------------------------ model stack */

int mbz_stack_build(const mbz_model *base, unsigned version, unsigned flags, mbz_stack *s,
                    mbz_error *err)
{
    memset(s, 0, sizeof *s);
    s->top = base;
    if (flags & MBZ_FLAG_STRIDED) {
        if (base->patch < 2)
            return mbz_fail(err, MBZ_ERR_CORRUPT,
                            "frame asks for strided inference, which model %016llx (%s) cannot do",
                            (unsigned long long)base->fingerprint, base->describe);
        int rc = mbz_strided_wrap(base, &s->strided);
        if (rc != MBZ_OK)
            return mbz_fail(err, rc, "out of memory");
        s->top = &s->strided;
    }
    if ((flags & MBZ_FLAG_MIX) && (flags & MBZ_FLAG_CM)) {
        mbz_stack_free(s);
        return mbz_fail(err, MBZ_ERR_CORRUPT,
                        "frame asks for both mixing stages (flags 0x%02x); a writer sets one", flags);
    }
    if (flags & MBZ_FLAG_MIX) {
        mbz_mix_wrap(s->top, &s->mixed);
        s->top = &s->mixed;
    }
    s->cm = (flags & MBZ_FLAG_CM) != 0;
    if ((flags & (MBZ_FLAG_RECORD | MBZ_FLAG_FILTER)) && !s->cm) {
        mbz_stack_free(s);
        return mbz_fail(err, MBZ_ERR_CORRUPT,
                        "frame asks for parts of the binary stage (record model, block filters) without it (flags 0x%02x)",
                        flags);
    }
    if ((flags & MBZ_FLAG_FAST) && (!s->cm || (flags & (MBZ_FLAG_RECORD | MBZ_FLAG_STRIDED)))) {
        mbz_stack_free(s);
        return mbz_fail(err, MBZ_ERR_CORRUPT,
                        "frame asks for the fast binary stage without the stage, or with the record model or strided inference (flags 0x%02x)",
                        flags);
    }
    if (flags & MBZ_FLAG_RECORD)
        s->cm_features |= MBZ_CM_RECORD;
    if (s->cm && version >= MBZ_FRAME_VERSION_CM2)
        s->cm_features |= MBZ_CM_REV2;
    if (s->cm && version >= MBZ_FRAME_VERSION_CM3)
        s->cm_features |= MBZ_CM_REV3;
    if (flags & MBZ_FLAG_FAST) /* the fast configuration: no base model, no revision 2 */
        s->cm_features = MBZ_CM_FAST;
    s->filters = (flags & MBZ_FLAG_FILTER) != 0;
    s->image_rev = mbz_image_rev(version);
    s->audio_rev = mbz_audio_rev(version);
    return MBZ_OK;
}

int mbz_image_rev(unsigned version)
{
    return version >= MBZ_FRAME_VERSION_IMAGE4   ? 4
           : version >= MBZ_FRAME_VERSION_IMAGE3 ? 3
           : version >= MBZ_FRAME_VERSION_IMAGE2 ? 2
                                                 : 1;
}

int mbz_audio_rev(unsigned version)
{
    return version >= MBZ_FRAME_VERSION_AUDIO4 ? 4 : version >= MBZ_FRAME_VERSION_AUDIO3 ? 3 :
           version >= MBZ_FRAME_VERSION_AUDIO2 ? 2 : 1;
}

void mbz_stack_free(mbz_stack *s)
{
    if (s->strided.free_impl)
        s->strided.free_impl(s->strided.impl);
    memset(s, 0, sizeof *s);
}

/* ------------------------------------------------------------------ helpers */

/* The stack's binary stage is the fast configuration, which runs no model. */
static int stage_alone(const mbz_stack *stack)
{
    return (stack->cm_features & MBZ_CM_FAST) != 0;
}

void mbz_block_scratch_free(mbz_block_scratch *s)
{
    free(s->out);
    free(s->freq);
    free(s->filtered);
    memset(s, 0, sizeof *s);
}

size_t mbz_block_chunk(const mbz_model *model, size_t block_len)
{
    size_t chunk = model->score_chunk ? model->score_chunk : SCORE_CHUNK_DEFAULT;
    if (chunk > SCORE_CHUNK_MAX)
        chunk = SCORE_CHUNK_MAX;
    if (chunk > block_len && block_len > 0)
        chunk = block_len;
    return chunk;
}

/* A model's table must be a valid input for the coder (predictor.h); a bad one
 * would silently produce an undecodable stream, so it is checked on both sides. */
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

/* Order-0 entropy above STORE_BITS_Q16 per byte: no model is worth its time here. */
static int high_entropy(const uint8_t *in, size_t n)
{
    /* four histograms, summed after: on data where neighbouring bytes repeat, one
     * histogram serialises its increments through the same counter (store-to-load
     * forwarding); this pass is most of the time of the stored-block path */
    uint32_t c4[4][MBZ_SYMBOLS], cnt[MBZ_SYMBOLS];
    memset(c4, 0, sizeof c4);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        c4[0][in[i]]++;
        c4[1][in[i + 1]]++;
        c4[2][in[i + 2]]++;
        c4[3][in[i + 3]]++;
    }
    for (; i < n; i++)
        c4[0][in[i]]++;
    for (int s = 0; s < MBZ_SYMBOLS; s++)
        cnt[s] = c4[0][s] + c4[1][s] + c4[2][s] + c4[3][s];
    uint64_t ln = mbz_log2_q16(n), bits = 0;
    for (int s = 0; s < MBZ_SYMBOLS; s++)
        if (cnt[s])
            bits += (uint64_t)cnt[s] * (ln - mbz_log2_q16(cnt[s]));
    return bits > (uint64_t)n * STORE_BITS_Q16;
}

/* ------------------------------------------------------------------ scoring */

typedef struct half_job half_job;
static size_t half_claim(half_job *h, size_t pos, size_t k);

/* The tables of data[start .. end-1] of a block of n bytes (start > 0: through the
 * model's seek, predictor.h). With `claim` (a helper's job), each chunk is claimed
 * from it first, and the pass ends where the job's end has been moved to. */
static int score_range(const mbz_model *model, const uint8_t *data, size_t n, size_t start,
                       size_t end, mbz_block_scratch *s, volatile int *cancel, mbz_table_sink sink,
                       void *user, half_job *claim, const char *where, mbz_error *err)
{
    const mbz_predictor_ops *ops = model->ops;
    size_t chunk = mbz_block_chunk(model, n);
    s->freq = mbz_grow(s->freq, &s->freq_cap, chunk * MBZ_SYMBOLS * sizeof *s->freq);
    if (!s->freq)
        return mbz_fail(err, MBZ_ERR_NOMEM, "%s: out of memory (tables of %zu bytes)", where, chunk);
    mbz_predictor *p = NULL;
    int rc = ops->create(model->impl, n, &p);
    if (rc != MBZ_OK)
        return mbz_fail(err, rc, "%s: model %s failed to start", where, ops->name);
    if (start > 0 && (rc = ops->seek(p, data, n, start)) != MBZ_OK) {
        ops->destroy(p);
        return mbz_fail(err, rc, "%s: model %s failed to start at byte %zu", where, ops->name, start);
    }
    size_t since_check = 0;
    for (size_t pos = start; pos < end;) {
        size_t k = end - pos < chunk ? end - pos : chunk;
        if (claim && (k = half_claim(claim, pos, k)) == 0)
            break;
        if (since_check >= CANCEL_STRIDE) {
            since_check = 0;
            if (cancel && *cancel) {
                rc = mbz_fail(err, MBZ_ERR_CANCELLED, "cancelled");
                break;
            }
        }
        rc = ops->score(p, data, n, pos, k, s->freq);
        if (rc != MBZ_OK) {
            rc = mbz_fail(err, rc, "%s: model %s failed at byte %zu", where, ops->name, pos);
            break;
        }
        for (size_t i = 0; i < k; i++)
            if (!table_ok(s->freq + i * MBZ_SYMBOLS)) {
                rc = mbz_fail(err, MBZ_ERR_INTERNAL, "%s: model %s gave an invalid frequency table",
                              where, ops->name);
                break;
            }
        if (rc == MBZ_OK)
            rc = sink(user, pos, k, s->freq);
        if (rc != MBZ_OK)
            break;
        pos += k;
        since_check += k;
    }
    ops->destroy(p);
    return rc;
}

int mbz_block_score(const mbz_model *model, const uint8_t *data, size_t n,
                    mbz_block_scratch *s, volatile int *cancel, mbz_table_sink sink,
                    void *user, const char *where, mbz_error *err)
{
    return score_range(model, data, n, 0, n, s, cancel, sink, user, NULL, where, err);
}

/* ------------------------------------------------------------------ encoding */

typedef struct {
    mbz_rc_enc e;
    const uint8_t *in;
    uint64_t ideal;
} enc_sink;

static int encode_tables(void *user, size_t pos, size_t k, const uint16_t *freq)
{
    enc_sink *es = user;
    for (size_t i = 0; i < k; i++) {
        const uint16_t *f = freq + i * MBZ_SYMBOLS;
        unsigned sym = es->in[pos + i];
        mbz_rc_encode_sym(&es->e, f, sym);
        es->ideal += mbz_cost_q16(f[sym]);
    }
    return es->e.overflow ? SINK_STOP : MBZ_OK;
}

/* The binary stage over the tables of one block: codes the bits (enc), and/or
 * records each byte's cost (cost), and sums the ideal code length. */
typedef struct {
    mbz_cm *cm;
    mbz_bc_enc *enc;
    uint32_t *cost;
    const uint8_t *in;
    uint64_t ideal;
} cm_sink;

/* The 8 bits of byte i, once the stage has begun it (mbz_cm_byte or _byte_path). */
static void cm_code_byte(cm_sink *cs, size_t i)
{
    unsigned c = cs->in[i];
    uint32_t bytecost = 0;
    for (int b = 7; b >= 0; b--) {
        int bit = (int)(c >> b) & 1;
        uint32_t p = mbz_cm_p(cs->cm);
        if (cs->enc)
            mbz_bc_encode(cs->enc, bit, p);
        bytecost += mbz_cm_cost_q16(bit ? p : 65536 - p);
        mbz_cm_update(cs->cm, bit);
    }
    cs->ideal += bytecost;
    if (cs->cost)
        cs->cost[i] = bytecost;
}

/* The same for byte i from the probabilities of its bits (mbz_cm_fast_pass2's
 * sink), checking for cancellation now and then. */
typedef struct {
    cm_sink *cs;
    volatile int *cancel;
} probs_sink;

static int cm_code_probs(void *user, size_t i, const uint32_t p[8])
{
    probs_sink *ps = user;
    cm_sink *cs = ps->cs;
    unsigned c = cs->in[i];
    uint32_t bytecost = 0;
    for (int b = 0; b < 8; b++) {
        int bit = (int)(c >> (7 - b)) & 1;
        if (cs->enc)
            mbz_bc_encode(cs->enc, bit, p[b]);
        bytecost += mbz_cm_cost_q16(bit ? p[b] : 65536 - p[b]);
    }
    cs->ideal += bytecost;
    if (cs->cost)
        cs->cost[i] = bytecost;
    if (cs->enc && cs->enc->overflow)
        return SINK_STOP;
    if (i % CANCEL_STRIDE == 0 && i && ps->cancel && *ps->cancel)
        return MBZ_ERR_CANCELLED;
    return MBZ_OK;
}

static int cm_tables(void *user, size_t pos, size_t k, const uint16_t *freq)
{
    cm_sink *cs = user;
    for (size_t i = 0; i < k; i++) {
        mbz_cm_byte(cs->cm, freq + i * MBZ_SYMBOLS);
        cm_code_byte(cs, pos + i);
    }
    return cs->enc && cs->enc->overflow ? SINK_STOP : MBZ_OK;
}

void mbz_cm_chain_reset(mbz_cm_chain *c)
{
    mbz_cm_free(c->cm);
    c->cm = NULL;
    c->used = 0;
}

/* Start a history in `c` when it has none or no room for n more bytes. Returns 1 if
 * it did (the block is then of type 4), 0 if the block continues it, < 0 on error. */
static int chain_open(mbz_cm_chain *c, size_t n)
{
    if (c->cm && c->used + n <= c->window)
        return 0;
    mbz_cm_chain_reset(c);
    return mbz_cm_create(c->window, c->features, &c->cm) == MBZ_OK ? 1 : -1;
}

/* A helper's share of a block's scoring: the base model's tables of in[split ..
 * n-1], kept as the stage's 8 inputs per byte (mbz_cm_base_path: 16 bytes per byte
 * instead of a 512-byte table): the second part of a block split over two threads,
 * or a whole block (split 0) scored ahead while the stage codes the block before
 * it. The helper publishes its progress chunk by chunk (done), so that the stage
 * can code what is ready while the rest is being scored, and claims each chunk
 * below `end`, so that the thread waiting for it can take over the end of what is
 * left (half_collect). */
struct half_job {
    const mbz_model *model;
    const uint8_t *in;
    size_t n, split;
    uint16_t *paths;              /* 8 per byte of in[split .. n-1] */
    volatile int *cancel;
    const char *where;
    mbz_block_scratch scratch;
    mbz_error err;                /* the helper's, when rc is an error */
    pthread_t tid;
    /* shared with the collecting thread, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;                     /* the collecting thread failed: give up */
    size_t end;                   /* the helper scores in[split .. end-1] (n, or less once taken) */
    size_t claimed;               /* the end of the chunk it is scoring */
    size_t done;                  /* paths ready for in[split .. done-1] */
    int finished;                 /* the helper has returned */
    int rc;                       /* and its status (valid once finished) */
};

static size_t half_claim(half_job *h, size_t pos, size_t k)
{
    pthread_mutex_lock(&h->mu);
    if (h->stop || pos >= h->end)
        k = 0;
    else if (k > h->end - pos)
        k = h->end - pos;
    h->claimed = pos + k;
    pthread_mutex_unlock(&h->mu);
    return k;
}

/* The collecting thread's sink, for the part it took over: the paths. */
static int taken_tables(void *user, size_t pos, size_t k, const uint16_t *freq)
{
    half_job *h = user;
    for (size_t i = 0; i < k; i++)
        mbz_cm_base_path(freq + i * MBZ_SYMBOLS, h->in[pos + i], h->paths + (pos + i - h->split) * 8);
    return MBZ_OK;
}

/* The helper's sink: the paths, then the progress. */
static int half_tables(void *user, size_t pos, size_t k, const uint16_t *freq)
{
    half_job *h = user;
    taken_tables(user, pos, k, freq);
    pthread_mutex_lock(&h->mu);
    h->done = pos + k;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    return MBZ_OK;
}

static void *half_main(void *arg)
{
    half_job *h = arg;
    int rc = score_range(h->model, h->in, h->n, h->split, h->n, &h->scratch, h->cancel, half_tables, h,
                         h, h->where, &h->err);
    pthread_mutex_lock(&h->mu);
    h->rc = rc;
    h->finished = 1;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

/* Start the helper of h (in, n, split and the rest set by the caller). Returns 0,
 * or -1 (out of memory, no thread: nothing to free but the scratch). */
static int half_start(half_job *h)
{
    h->paths = malloc((h->n - h->split) * 8 * sizeof *h->paths);
    if (!h->paths)
        return -1;
    h->end = h->n;
    h->claimed = h->done = h->split;
    if (pthread_mutex_init(&h->mu, NULL) != 0) {
        free(h->paths);
        return -1;
    }
    if (pthread_cond_init(&h->cv, NULL) != 0 || pthread_create(&h->tid, NULL, half_main, h) != 0) {
        pthread_cond_destroy(&h->cv); /* harmless on a failed init: POSIX allows it, glibc ignores it */
        pthread_mutex_destroy(&h->mu);
        free(h->paths);
        return -1;
    }
    return 0;
}

/* Stop the helper (if still running) and join it. */
static void half_stop(half_job *h)
{
    pthread_mutex_lock(&h->mu);
    h->stop = 1;
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->tid, NULL);
}

static void half_release(half_job *h)
{
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h->paths);
    h->paths = NULL;
    mbz_block_scratch_free(&h->scratch);
}

/* The stage over bytes from .. n-1 of a block from the helper's paths (paths[0]
 * for byte `from`): the second part of a split block, or a block scored ahead. */
static int code_from_paths(cm_sink *cs, const uint16_t *paths, size_t from, size_t n)
{
    int rc = MBZ_OK;
    for (size_t i = from; rc == MBZ_OK && i < n; i++) {
        mbz_cm_byte_path(cs->cm, paths + (i - from) * 8);
        cm_code_byte(cs, i);
        if (cs->enc && cs->enc->overflow)
            rc = SINK_STOP;
    }
    return rc;
}

/* Take over the end of a helper's part only if this thread's share would be at
 * least this long, and half the model's warm-up (seek_reach: 32 KiB of global steps
 * for the default model, a quarter of that for the fast one): a shorter one is not
 * worth a second start. */
#define TAKE_MIN (8u * 1024u)

/* Wait for the helper of h and join it. Meanwhile, with cs, code through the stage
 * each chunk of its paths as soon as it is published, from byte `from` on (and the
 * rest after the join); and when this thread has nothing to do (caught up with the
 * helper) while enough is left for it, score the end of what is left here (s: this
 * thread's scratch; a little less than half, for its warm-up), the helper stopping
 * where that begins. The
 * paths are those of one pass whoever scores them (predictor.h, seek), so the bits
 * coded do not depend on this. Returns an mbz_status or SINK_STOP (the encoder is
 * full); with cs and MBZ_OK, bytes from .. n-1 are coded. */
static int half_collect(half_job *h, mbz_block_scratch *s, cm_sink *cs, size_t from, mbz_error *err)
{
    const mbz_model *m = h->model;
    int can_take = m->ops->seek != NULL && m->patch > 0;
    size_t least = m->seek_reach / 2 > TAKE_MIN ? m->seek_reach / 2 : TAKE_MIN;
    size_t pos = from;
    int rc = MBZ_OK, taken = 0;
    pthread_mutex_lock(&h->mu);
    for (;;) {
        if (rc == MBZ_OK && cs && h->done > pos) {
            size_t d = h->done;
            pthread_mutex_unlock(&h->mu);
            rc = code_from_paths(cs, h->paths + (pos - h->split) * 8, pos, d);
            pos = d;
            pthread_mutex_lock(&h->mu);
            h->stop |= rc != MBZ_OK;
            continue;
        }
        if (h->finished)
            break;
        size_t c = h->claimed, left = h->n - c;
        if (rc == MBZ_OK && can_take && !taken && left / 2 >= least + m->seek_reach / 4) {
            /* the warm-up runs the global model alone: about half the cost of
             * scoring as many bytes */
            size_t at = c + left / 2 + m->seek_reach / 4;
            at -= at % m->patch;
            taken = 1;
            if (at > c) {
                h->end = at;
                pthread_mutex_unlock(&h->mu);
                rc = score_range(m, h->in, h->n, at, h->n, s, h->cancel, taken_tables, h, NULL, h->where, err);
                pthread_mutex_lock(&h->mu);
                h->stop |= rc != MBZ_OK;
                continue;
            }
        }
        pthread_cond_wait(&h->cv, &h->mu);
    }
    int hrc = h->rc;
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->tid, NULL);
    if (rc != MBZ_OK)
        return rc;
    if (hrc != MBZ_OK) {
        if (err)
            *err = h->err;
        return hrc;
    }
    return cs ? code_from_paths(cs, h->paths + (pos - h->split) * 8, pos, h->n) : MBZ_OK;
}

/* Where to split a block of n bytes between this thread and a helper (0: not at
 * all): blocks of SPLIT_MIN bytes or more, models that can seek (MEGABYTE, and the
 * strided wrapper over it at level 9), at a patch boundary. This thread scores the
 * first part and runs the stage over it, then over the helper's part, chunk by
 * chunk as it is scored, taking over the end of it if it catches up (half_collect);
 * so its part is the shorter one, by about what the stage costs: 5/16 of the block
 * (the stage costs about a third of the default model's scoring; measured on 1 MB of
 * text and 600 KB of XML at level 6, 5/16 to 3/8 were fastest, 1/2 10% slower). */
#define SPLIT_MIN (256u * 1024u)
static size_t split_point(const mbz_model *m, size_t n)
{
    if (n < SPLIT_MIN || !m->ops->seek || m->patch == 0)
        return 0;
    size_t at = n / 4 + n / 16;
    return at - at % m->patch;
}

/* ------------------------------------------------------------------ scoring ahead */

static const uint8_t *filter_block(const mbz_stack *stack, const uint8_t *in, size_t n,
                                   mbz_block_scratch *s, int *id);

struct mbz_block_ahead {
    half_job h;                   /* split 0: the whole block */
    int running;                  /* the helper not joined yet */
};

static int one_byte_run(const uint8_t *in, size_t n)
{
    size_t same = 1;
    while (same < n && in[same] == in[0])
        same++;
    return same == n;
}

mbz_block_ahead *mbz_block_ahead_start(const mbz_stack *stack, const mbz_media_format *media,
                                       const uint8_t *in, size_t n, volatile int *cancel,
                                       const char *where)
{
    /* only a block that mbz_block_encode will model (its first tests, in its order) */
    if (!stack->cm || stage_alone(stack) || media || n < 2 + (stack->filters ? 1u : 0u) ||
        one_byte_run(in, n) || high_entropy(in, n))
        return NULL;
    mbz_block_ahead *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    const uint8_t *src = filter_block(stack, in, n, &a->h.scratch, NULL); /* the bytes coded */
    a->h.model = stack->top;
    a->h.in = src;
    a->h.n = n;
    a->h.split = 0;
    a->h.cancel = cancel;
    a->h.where = where;
    if (!src || half_start(&a->h) != 0) {
        mbz_block_scratch_free(&a->h.scratch);
        free(a);
        return NULL;
    }
    a->running = 1;
    return a;
}

void mbz_block_ahead_wait(mbz_block_ahead *a, mbz_block_scratch *s)
{
    if (!a || !a->running)
        return;
    mbz_error err;
    mbz_error_clear(&err);
    int rc = half_collect(&a->h, s, NULL, 0, &err);
    a->running = 0;
    if (rc != MBZ_OK) { /* for ahead_pass to report */
        a->h.rc = rc;
        a->h.err = err;
    }
}

void mbz_block_ahead_free(mbz_block_ahead *a)
{
    if (!a)
        return;
    if (a->running)
        half_stop(&a->h);
    half_release(&a->h);
    free(a);
}

/* The stage over a block scored ahead: codes every byte from its paths, as they
 * come if the helper is still at work. */
static int ahead_pass(mbz_block_ahead *a, mbz_cm_chain *chain, size_t n, cm_sink *cs,
                      mbz_block_scratch *s, mbz_error *err)
{
    int rc;
    if (a->running) {
        rc = half_collect(&a->h, s, cs, 0, err);
        a->running = 0;
    } else if ((rc = a->h.rc) != MBZ_OK) {
        if (err)
            *err = a->h.err;
    } else {
        rc = code_from_paths(cs, a->h.paths, 0, n);
    }
    chain->used += n;
    return rc;
}

int mbz_block_can_split(const mbz_stack *stack, size_t n)
{
    return stack->cm && !stage_alone(stack) && split_point(stack->top, n) != 0;
}

/* Score one block through the stack and the stage of `chain` into sink `cs`. With
 * `helpers` > 0 and a model that can seek, the block's second part is scored on a
 * helper thread while this one scores the first part and runs the stage over it
 * (mbz_block_encode); the bytes coded are the same either way (predictor.h, seek). */
static int cm_pass(const mbz_stack *stack, mbz_cm_chain *chain, const uint8_t *in, size_t n,
                   mbz_block_scratch *s, volatile int *cancel, cm_sink *cs, int helpers,
                   mbz_block_ahead *ahead, const char *where, mbz_error *err)
{
    cs->cm = chain->cm;
    cs->in = in;
    if (stage_alone(stack) && helpers > 0 && n >= PASS2_MIN) {
        /* the stage alone, its contexts on the helper (cm.h, mbz_cm_fast_pass2) */
        probs_sink ps = { cs, cancel };
        int rc = mbz_cm_fast_pass2(cs->cm, in, n, cm_code_probs, &ps);
        chain->used += n;
        return rc == MBZ_ERR_CANCELLED ? mbz_fail(err, rc, "cancelled") : rc;
    }
    if (stage_alone(stack)) { /* no model to run: the stage alone */
        int rc = MBZ_OK;
        for (size_t i = 0; i < n && rc == MBZ_OK; i++) {
            if (i % CANCEL_STRIDE == 0 && i && cancel && *cancel)
                return mbz_fail(err, MBZ_ERR_CANCELLED, "cancelled");
            mbz_cm_byte(cs->cm, NULL);
            cm_code_byte(cs, i);
            if (cs->enc && cs->enc->overflow)
                rc = SINK_STOP;
        }
        chain->used += n;
        return rc;
    }
    if (ahead && ahead->h.n == n)
        return ahead_pass(ahead, chain, n, cs, s, err);
    size_t split = helpers > 0 ? split_point(stack->top, n) : 0;
    half_job h;
    if (split) {
        memset(&h, 0, sizeof h);
        h.model = stack->top;
        h.in = in;
        h.n = n;
        h.split = split;
        h.cancel = cancel;
        h.where = where;
        if (half_start(&h) != 0)
            split = 0; /* on one thread, as without helpers */
    }
    int rc = score_range(stack->top, in, n, 0, split ? split : n, s, cancel, cm_tables, cs, NULL, where, err);
    if (split) {
        if (rc != MBZ_OK)
            half_stop(&h);
        else
            rc = half_collect(&h, s, cs, split, err);
        half_release(&h);
    }
    chain->used += n;
    return rc;
}

/* The bytes the stage codes for block in[0 .. n-1]: the block itself, or (FILTER
 * frames, when mbz_filter_choose picks a filter) its filtered copy in s->filtered.
 * *id (if not NULL) gets the filter id. NULL when out of memory. */
static const uint8_t *filter_block(const mbz_stack *stack, const uint8_t *in, size_t n,
                                   mbz_block_scratch *s, int *id)
{
    int f = stack->filters ? mbz_filter_choose(in, n) : MBZ_FILTER_NONE;
    if (id)
        *id = f;
    if (f == MBZ_FILTER_NONE)
        return in;
    s->filtered = mbz_grow(s->filtered, &s->filtered_cap, n);
    if (!s->filtered)
        return NULL;
    memcpy(s->filtered, in, n);
    mbz_filter_x86_encode(s->filtered, n);
    return s->filtered;
}

typedef struct {
    uint32_t *cost;
    const uint8_t *blk;
} cost_sink;

static int table_costs(void *user, size_t pos, size_t k, const uint16_t *freq)
{
    cost_sink *cs = user;
    for (size_t i = 0; i < k; i++)
        cs->cost[pos + i] = mbz_cost_q16(freq[i * MBZ_SYMBOLS + cs->blk[pos + i]]);
    return MBZ_OK;
}

int mbz_block_costs(const mbz_stack *stack, mbz_cm_chain *chain, const uint8_t *data, size_t n,
                    mbz_block_scratch *s, const char *where, uint32_t *cost, mbz_error *err)
{
    if (stack->cm) {
        if (chain_open(chain, n) < 0)
            return mbz_fail(err, MBZ_ERR_NOMEM, "%s: out of memory (context-mixing stage)", where);
        const uint8_t *src = filter_block(stack, data, n, s, NULL);
        if (!src)
            return mbz_fail(err, MBZ_ERR_NOMEM, "%s: out of memory (filter)", where);
        cm_sink cs = { .cost = cost };
        return cm_pass(stack, chain, src, n, s, NULL, &cs, 0, NULL, where, err);
    }
    cost_sink cs = { cost, data };
    return mbz_block_score(stack->top, data, n, s, NULL, table_costs, &cs, where, err);
}

/* Whether a media block would be smaller through the general stage than through
 * its media model: images with exact repeats (pixel-doubled ones) or large flat
 * areas (satellite scenes with no-data borders) can be, and 32-bit samples whose low
 * bits are a function of the high ones (a 16-bit recording scaled in 32 bits: the
 * audio model takes the bits under the top 24 for noise). Judged on a sample, four
 * slices of whole rows (audio frames) from the four quarters of the block,
 * MEDIA_SAMPLE bytes in all, coded both ways from scratch: by the media model, and
 * by the built-in order-2 model under the binary stage (with the frame's parts of
 * it, such as the record model) with a fresh history (a cheap stand-in for
 * the general stage, whose contexts and match model are what find exact repeats; it
 * starts cold, so no margin is asked of it). Measured on the training corpus's
 * images (doc/media.md): the ten PNM files and the four TIFFs each went the way that
 * is smaller on the whole file. Audio blocks of up to 24-bit samples are not
 * judged: speech and music never went better through the general stage.
 *
 * The sample is coded by revision 2 of the image model even where the frame's is 3:
 * revision 3 beats the cold stand-in on more samples, and sent four satellite scenes
 * that repeat one another (the training corpus's rgb1-4.tif in one tar) to the
 * image model, which cannot see the repeats the general stage's history finds (the
 * tar 605,819 -> 991,600 bytes at level 6). So the choice stays revision 2's, and
 * revision 3 codes better what goes to the image model. */
#define MEDIA_SAMPLE 32768
static int media_loses(const mbz_media_format *f, const mbz_stack *stack, const uint8_t *in, size_t n,
                       mbz_block_scratch *s, const char *where)
{
    int audio = f->kind == MBZ_MEDIA_AUDIO;
    if (audio && f->pcm.bytes < 4)
        return 0;
    mbz_media_format samples;
    if (audio && f->pcm.wav_header) { /* a whole WAV file: judge its samples */
        if (n < MBZ_WAV_HEADER)
            return 0;
        samples = *f;
        samples.pcm.wav_header = 0;
        f = &samples;
        in += MBZ_WAV_HEADER;
        n -= MBZ_WAV_HEADER;
    }
    size_t stride = audio ? (size_t)f->pcm.bytes * f->pcm.channels : mbz_img_stride(&f->img), rows = n / stride;
    /* four slices of whole rows, from the four quarters of the block */
    size_t per = MEDIA_SAMPLE / 4 / stride;
    if (per == 0)
        per = 1;
    if (4 * per > rows)
        per = rows / 4;
    size_t k = 4 * per * stride;
    if (k < 4096)
        return 0;
    uint8_t *smp = malloc(k), *tmp = malloc(k);
    uint32_t *cost = malloc(k * sizeof *cost);
    mbz_stack st;
    mbz_cm_chain ch = { .window = 1 << 16, .features = stack->cm_features }; /* the stage's parts */
    mbz_error err;
    int loses = 0;
    if (smp && tmp && cost && mbz_stack_build(mbz_model_order2(), MBZ_FRAME_VERSION, MBZ_FLAG_CM, &st, &err) == MBZ_OK) {
        for (int q = 0; q < 4; q++)
            memcpy(smp + q * per * stride, in + (rows * (size_t)q / 4) * stride, per * stride);
        size_t m = audio ? mbz_audio_encode(&f->pcm, smp, k, tmp, k, stack->audio_rev)
                         : mbz_image_encode(&f->img, smp, k, tmp, k, stack->image_rev < 2 ? stack->image_rev : 2);
        if (m && mbz_block_costs(&st, &ch, smp, k, s, where, cost, &err) == MBZ_OK) {
            uint64_t bits = 0;
            for (size_t i = 0; i < k; i++)
                bits += cost[i];
            loses = bits / 65536 < (uint64_t)m * 8;
        }
        mbz_cm_chain_reset(&ch);
        mbz_stack_free(&st);
    }
    free(smp);
    free(tmp);
    free(cost);
    return loses;
}

int mbz_block_encode(const mbz_stack *stack, mbz_cm_chain *chain, const mbz_media_format *media,
                     const uint8_t *in, size_t n, mbz_block_scratch *s, volatile int *cancel,
                     int helpers, mbz_block_ahead *ahead, const char *where, mbz_block_coded *out,
                     mbz_error *err)
{
    memset(out, 0, sizeof *out);
    out->hash = XXH64(in, n, 0);

    if (one_byte_run(in, n)) {
        out->type = MBZ_BLOCK_RLE;
        out->payload = in;
        out->payload_size = 1;
        return MBZ_OK;
    }
    if (media && media_loses(media, stack, in, n, s, where))
        media = NULL;
    if (media) {
        /* samples or pixels: their own model, whatever their byte statistics (16-bit
         * noise looks random byte by byte); the history is not involved */
        s->out = mbz_grow(s->out, &s->out_cap, n);
        if (!s->out)
            return mbz_fail(err, MBZ_ERR_NOMEM, "%s: out of memory (payload of %zu bytes)", where, n);
        int audio = media->kind == MBZ_MEDIA_AUDIO;
        size_t len = audio ? mbz_audio_encode(&media->pcm, in, n, s->out, n - 1, stack->audio_rev)
                           : mbz_image_encode(&media->img, in, n, s->out, n - 1, stack->image_rev);
        if (len > 0 && len < n) {
            out->type = audio ? MBZ_BLOCK_AUDIO : MBZ_BLOCK_IMAGE;
            out->payload = s->out;
            out->payload_size = len;
            return MBZ_OK;
        }
        goto stored;
    }
    if (!high_entropy(in, n)) {
        s->out = mbz_grow(s->out, &s->out_cap, n);
        if (!s->out)
            return mbz_fail(err, MBZ_ERR_NOMEM, "%s: out of memory (payload of %zu bytes)", where, n);
        if (stack->cm) {
            int fresh = chain_open(chain, n);
            if (fresh < 0)
                return mbz_fail(err, MBZ_ERR_NOMEM, "%s: out of memory (context-mixing stage)", where);
            /* FILTER frames: the payload starts with the filter id */
            int filter = MBZ_FILTER_NONE;
            const uint8_t *src = filter_block(stack, in, n, s, &filter);
            if (!src)
                return mbz_fail(err, MBZ_ERR_NOMEM, "%s: out of memory (filter)", where);
            size_t lead = stack->filters ? 1 : 0;
            if (n < lead + 2) {
                mbz_cm_chain_reset(chain); /* as for any block stored after all */
                goto stored;
            }
            if (lead)
                s->out[0] = (uint8_t)filter;
            mbz_bc_enc be;
            mbz_bc_enc_init(&be, s->out + lead, n - 1 - lead); /* a payload >= content is stored instead */
            cm_sink cs = { .enc = &be };
            int rc = cm_pass(stack, chain, src, n, s, cancel, &cs, helpers, ahead, where, err);
            if (rc != MBZ_OK && rc != SINK_STOP)
                return rc;
            size_t len = be.overflow ? 0 : mbz_bc_enc_finish(&be);
            if (len > 0)
                len += lead;
            if (len == 0 || len >= n)
                mbz_cm_chain_reset(chain); /* it learnt a block the decoder will not see */
            if (len > 0 && len < n) {
                out->type = fresh ? MBZ_BLOCK_MODELLED_FRESH : MBZ_BLOCK_MODELLED;
                out->payload = s->out;
                out->payload_size = len;
                out->ideal_q16 = cs.ideal;
                return MBZ_OK;
            }
            goto stored;
        }
        const mbz_model *model = stack->top;
        enc_sink es = { .in = in };
        mbz_rc_enc_init(&es.e, s->out, n - 1); /* a payload >= content is stored instead */
        int rc = mbz_block_score(model, in, n, s, cancel, encode_tables, &es, where, err);
        if (rc != MBZ_OK && rc != SINK_STOP)
            return rc;
        if (!es.e.overflow) {
            size_t len = mbz_rc_enc_finish(&es.e);
            if (len > 0 && len < n) {
                out->type = MBZ_BLOCK_MODELLED;
                out->payload = s->out;
                out->payload_size = len;
                out->ideal_q16 = es.ideal;
                return MBZ_OK;
            }
        }
    }
stored:
    out->type = MBZ_BLOCK_STORED;
    out->payload = in;
    out->payload_size = n;
    return MBZ_OK;
}

/* ------------------------------------------------------------------ decoding */

static void decode_fail(mbz_block_job *j, int code, const char *what)
{
    j->status = mbz_fail(&j->err, code, "%s: %s", j->where, what);
}

/* One byte of a modelled block from its table: through the range coder, or bit
 * by bit through the binary stage. Returns 0 and sets j's status on failure. */
typedef struct {
    mbz_rc_dec rc;
    mbz_bc_dec bc;
    mbz_cm *cm;
} byte_decoder;

static int decode_byte(mbz_block_job *j, byte_decoder *d, const uint16_t *f, size_t pos)
{
    if (d->cm) {
        mbz_cm_byte(d->cm, f);
        unsigned c = 0;
        uint32_t cost = 0;
        for (int b = 0; b < 8; b++) {
            uint32_t p = mbz_cm_p(d->cm);
            int bit = mbz_bc_decode(&d->bc, p);
            cost += mbz_cm_cost_q16(bit ? p : 65536 - p);
            mbz_cm_update(d->cm, bit);
            c = (c << 1) | (unsigned)bit;
        }
        if (d->bc.error) {
            decode_fail(j, MBZ_ERR_CORRUPT, "corrupt modelled payload");
            return 0;
        }
        j->content[pos] = (uint8_t)c;
        j->ideal_q16 += cost;
        return 1;
    }
    unsigned s = mbz_rc_decode_sym(&d->rc, f);
    if (d->rc.error) {
        decode_fail(j, MBZ_ERR_CORRUPT, "corrupt modelled payload");
        return 0;
    }
    j->content[pos] = (uint8_t)s;
    j->ideal_q16 += mbz_cost_q16(f[s]);
    return 1;
}

/* The modelled blocks of list[0 .. n-1], in lockstep. */
static void decode_modelled(mbz_block_job **list, int n, const mbz_stack *stack,
                            mbz_cm_chain *chain, int helpers, volatile int *cancel)
{
    const mbz_model *model = stack->top;
    const mbz_predictor_ops *ops = model->ops;
    mbz_predictor *p[MBZ_BLOCK_BATCH_MAX];
    byte_decoder d[MBZ_BLOCK_BATCH_MAX];
    uint16_t freq[MBZ_BLOCK_BATCH_MAX * MBZ_SYMBOLS];
    int live[MBZ_BLOCK_BATCH_MAX];
    int filter[MBZ_BLOCK_BATCH_MAX];

    memset(d, 0, sizeof d);
    for (int i = 0; i < n; i++) {
        p[i] = NULL;
        live[i] = 0;
        filter[i] = MBZ_FILTER_NONE;
        int rc = stage_alone(stack) ? MBZ_OK : ops->create(model->impl, list[i]->h.content_size, &p[i]);
        if (rc != MBZ_OK) {
            decode_fail(list[i], rc, "model failed to start");
            continue;
        }
        if (p[i] && n == 1 && helpers > 0 && ops->assist &&
            list[i]->h.content_size >= MBZ_ASSIST_MIN)
            ops->assist(p[i], helpers);
        if (stack->cm) {
            /* one block at a time (block.h): the history is the chain's */
            size_t len = list[i]->h.content_size;
            if (list[i]->h.type == MBZ_BLOCK_MODELLED_FRESH) {
                mbz_cm_chain_reset(chain);
                if (chain_open(chain, len) < 0) {
                    decode_fail(list[i], MBZ_ERR_NOMEM, "out of memory (context-mixing stage)");
                    continue;
                }
            } else if (!chain->cm || chain->used + len > chain->window) {
                decode_fail(list[i], MBZ_ERR_CORRUPT, chain->cm
                            ? "modelled block would overflow the history it continues"
                            : "modelled block continues a history that was never started");
                continue;
            }
            chain->used += len;
            d[i].cm = chain->cm;
            const uint8_t *pl = list[i]->payload;
            size_t pn = list[i]->h.payload_size;
            if (stack->filters) { /* FILTER frames: the filter id first */
                filter[i] = pl[0];
                if (filter[i] >= MBZ_FILTER_COUNT) {
                    decode_fail(list[i], MBZ_ERR_CORRUPT, "modelled block names an unknown filter");
                    continue;
                }
                pl++;
                pn--;
            }
            mbz_bc_dec_init(&d[i].bc, pl, pn);
        } else {
            mbz_rc_dec_init(&d[i].rc, list[i]->payload, list[i]->h.payload_size);
        }
        live[i] = 1;
    }
    mbz_predictor *bp[MBZ_BLOCK_BATCH_MAX];
    const uint8_t *bdata[MBZ_BLOCK_BATCH_MAX];
    size_t bpos[MBZ_BLOCK_BATCH_MAX];
    int bidx[MBZ_BLOCK_BATCH_MAX];
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
        int rc = stage_alone(stack) ? MBZ_OK : mbz_predict_many(ops, bp, bdata, bpos, nl, freq);
        for (int k = 0; k < nl; k++) {
            mbz_block_job *j = list[bidx[k]];
            const uint16_t *f = stage_alone(stack) ? NULL : freq + k * MBZ_SYMBOLS;
            if (rc != MBZ_OK)
                decode_fail(j, rc, "model failed while decoding");
            else if (f && !table_ok(f))
                decode_fail(j, MBZ_ERR_INTERNAL, "model gave an invalid frequency table");
            else if (decode_byte(j, &d[bidx[k]], f, pos))
                continue;
            live[bidx[k]] = 0;
        }
    }
    for (int i = 0; i < n; i++) {
        if (p[i])
            ops->destroy(p[i]);
        int end_ok = stack->cm ? mbz_bc_dec_check_end(&d[i].bc) : mbz_rc_dec_check_end(&d[i].rc);
        if (list[i]->status == MBZ_OK && !end_ok)
            decode_fail(list[i], MBZ_ERR_CORRUPT, "modelled payload length inconsistent with its content");
        if (list[i]->status == MBZ_OK && filter[i] == MBZ_FILTER_X86)
            mbz_filter_x86_decode(list[i]->content, list[i]->h.content_size);
        if (list[i]->status != MBZ_OK && chain)
            mbz_cm_chain_reset(chain);
    }
}

void mbz_block_decode(mbz_block_job **jobs, int n, const mbz_stack *stack,
                      mbz_cm_chain *chain, int helpers, volatile int *cancel)
{
    mbz_block_job *mod[MBZ_BLOCK_BATCH_MAX];
    int nm = 0;
    for (int i = 0; i < n; i++) {
        mbz_block_job *j = jobs[i];
        j->status = MBZ_OK;
        j->ideal_q16 = 0;
        if (j->h.type == MBZ_BLOCK_RLE) {
            memset(j->content, j->rle_byte, j->h.content_size);
        } else if (mbz_block_is_media(j->h.type)) {
            int audio = j->h.type == MBZ_BLOCK_AUDIO;
            int rc = audio ? mbz_audio_decode(j->payload, j->h.payload_size, j->content, j->h.content_size,
                                              stack->audio_rev)
                           : mbz_image_decode(j->payload, j->h.payload_size, j->content, j->h.content_size,
                                              stack->image_rev);
            if (rc == -2)
                decode_fail(j, MBZ_ERR_NOMEM, audio ? "out of memory (audio model)" : "out of memory (image model)");
            else if (rc != 0)
                decode_fail(j, MBZ_ERR_CORRUPT, audio ? "corrupt audio payload" : "corrupt image payload");
        }
        else if (mbz_block_is_modelled(j->h.type) && nm < MBZ_BLOCK_BATCH_MAX)
            mod[nm++] = j;
    }
    if (nm)
        decode_modelled(mod, nm, stack, chain, helpers, cancel);
    for (int i = 0; i < n; i++) {
        mbz_block_job *j = jobs[i];
        if (j->status == MBZ_OK && XXH64(j->content, j->h.content_size, 0) != j->h.checksum)
            decode_fail(j, MBZ_ERR_CHECKSUM, "content checksum mismatch");
    }
}
