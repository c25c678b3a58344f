/*
 * seekable.c - random access to a compressed stream (mbz_seekable_*, mbz.h): read
 * any range of the decompressed bytes, decoding only the blocks that hold it.
 *
 * Opening walks the frame and block headers with positioned reads (one per block),
 * checks them with the same parsers as decompression (frame.c) and keeps a map:
 * for each block, where its header is and where its content starts in the
 * decompressed stream. A read finds its blocks by binary search on that map and
 * decodes them with the block coder (block.c), so the bytes it returns are the ones
 * mbz_decompress_stream writes, checked against the same block checksums.
 *
 * Frames with a seek index (flag INDEX, seekindex.h) are mapped from it instead:
 * opening reads index feet backwards from the end of the stream, two reads per
 * frame, and walks only what comes before the first frame it could map that way
 * (frames without an index, or with one that does not check out, which is counted
 * and ignored). A block found through an index is read through its own header all
 * the same, which must agree with the index, and checked against its checksum.
 *
 * CM frames (doc/format.md, "History"): a modelled block of type 3 continues the
 * binary stage's state from the modelled block before it, so decoding block k
 * means decoding its history from the type-4 block that started it. The handle
 * keeps the history's state after the last block it decoded; a read of the next
 * block of the same history continues from there, so reading a file front to back
 * decodes each block once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "block.h"
#include "frame.h"
#include "internal.h"
#include "predictor.h"
#include "seekindex.h"

typedef struct {
    uint64_t offset;         /* of the block header, in the compressed stream */
    uint64_t start;          /* of the content, in the decompressed stream */
    uint32_t content_size;
    uint32_t payload_size;
    uint32_t frame;          /* index into frames */
    uint8_t type;
} sk_block;

typedef struct {
    mbz_frame_header h;
    size_t first;            /* index of its first block in blocks (== next frame's if none) */
    uint64_t content_start;  /* in the decompressed stream */
    uint8_t *annex;          /* its seek index's annex (malloc'ed), or NULL */
    uint32_t annex_n;
} sk_frame;

/* A frame found through its seek index, from the end of the stream (build_map). */
typedef struct {
    uint64_t start;          /* of its header */
    mbz_frame_header h;
    uint8_t *body;           /* entries, annex size, annex */
    mbz_index_foot foot;
} sk_indexed;

struct mbz_seekable {
    mbz_pread_fn rd;
    void *user;
    uint64_t size;                       /* compressed */
    const mbz_model *const *models;
    size_t n_models;
    volatile int *cancel;
    sk_block *blocks;
    size_t nb, cap;
    sk_frame *frames;
    size_t nf, fcap;
    uint64_t content;                    /* decompressed size */
    uint64_t frames_indexed, indexes_damaged;
    /* decoding state */
    long stack_frame;                    /* frame whose stack is built, -1 none */
    mbz_stack stack;
    mbz_cm_chain chain;                  /* history after block chain_at */
    size_t chain_at;                     /* valid when chain.cm != NULL */
    size_t cached;                       /* block whose content job holds; nb = none */
    mbz_block_job job;
};

/* Read exactly n bytes at off; a short read is MBZ_ERR_TRUNCATED naming `what`. */
static int pread_full(mbz_seekable *s, void *buf, size_t n, uint64_t off, const char *what,
                      mbz_error *err)
{
    size_t done = 0;
    while (done < n) {
        long long k = s->rd(s->user, (uint8_t *)buf + done, n - done, off + done);
        if (k < 0)
            return mbz_fail_errno(err, MBZ_ERR_IO, errno, "read error");
        if ((size_t)k > n - done)
            return mbz_fail(err, MBZ_ERR_IO, "read error (the read callback returned more than asked)");
        if (k == 0)
            return mbz_fail(err, MBZ_ERR_TRUNCATED, "truncated frame (ended inside %s)", what);
        done += (size_t)k;
    }
    return MBZ_OK;
}

static int add_block(mbz_seekable *s, const sk_block *b, mbz_error *err)
{
    if (s->nb == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        sk_block *nbk = realloc(s->blocks, cap * sizeof *nbk);
        if (!nbk)
            return mbz_fail(err, MBZ_ERR_NOMEM, "out of memory (block map)");
        s->blocks = nbk;
        s->cap = cap;
    }
    s->blocks[s->nb++] = *b;
    return MBZ_OK;
}

static int add_frame(mbz_seekable *s, const mbz_frame_header *h, mbz_error *err)
{
    if (s->nf == s->fcap) {
        size_t cap = s->fcap ? 2 * s->fcap : 4;
        sk_frame *nf = realloc(s->frames, cap * sizeof *nf);
        if (!nf)
            return mbz_fail(err, MBZ_ERR_NOMEM, "out of memory (frame map)");
        s->frames = nf;
        s->fcap = cap;
    }
    memset(&s->frames[s->nf], 0, sizeof s->frames[s->nf]);
    s->frames[s->nf].h = *h;
    s->frames[s->nf].first = s->nb;
    s->frames[s->nf].content_start = s->content;
    s->nf++;
    return MBZ_OK;
}

static void block_name(const mbz_seekable *s, size_t k, char *buf, size_t n)
{
    const sk_block *b = &s->blocks[k];
    size_t no = k - s->frames[b->frame].first + 1;
    if (b->frame > 0)
        snprintf(buf, n, "frame %u, block %zu", b->frame + 1, no);
    else
        snprintf(buf, n, "block %zu", no);
}

/* Read the index body (entries, annex size, annex: body_n bytes) that ends at `end`
 * into a new buffer *body, and check it against the foot. 1 if it checks out. */
static int read_index_body(mbz_seekable *s, uint64_t end, const mbz_index_foot *foot,
                           uint8_t **body, mbz_error *err, int *rc)
{
    uint64_t n = mbz_index_size(foot->n_blocks, foot->annex_size) - MBZ_INDEX_FOOT_SIZE;
    *body = NULL;
    *rc = MBZ_OK;
    if (n > end || n > SIZE_MAX)
        return 0;
    uint8_t *b = malloc(n ? (size_t)n : 1);
    if (!b) {
        *rc = mbz_fail(err, MBZ_ERR_NOMEM, "out of memory (seek index)");
        return 0;
    }
    if ((*rc = pread_full(s, b, (size_t)n, end - n, "seek index", err)) != MBZ_OK) {
        free(b);
        return 0;
    }
    if (mbz_get_le32(b + n - 4 - foot->annex_size) != foot->annex_size ||
        mbz_index_body_check(b, (size_t)n) != foot->body_check) {
        free(b);
        return 0;
    }
    *body = b;
    return 1;
}

/* Frames with a good seek index at the end of the stream, last first, into *out
 * (*nout of them); *stop is where the rest (to walk) ends. A foot that is not there
 * ends the search; one that is there but leads to something that does not check
 * out ends it too (that frame is walked, and the walk counts its index damaged). */
static int indexed_from_end(mbz_seekable *s, sk_indexed **out, size_t *nout, uint64_t *stop,
                            mbz_error *err)
{
    sk_indexed *v = NULL;
    size_t n = 0, cap = 0;
    uint64_t end = s->size;
    int rc = MBZ_OK;
    *out = NULL;
    *nout = 0;
    while (end >= MBZ_INDEX_FOOT_SIZE + MBZ_FRAME_HEADER_SIZE + MBZ_BLOCK_HEADER_SIZE) {
        uint8_t fb[MBZ_INDEX_FOOT_SIZE];
        mbz_index_foot foot;
        if ((rc = pread_full(s, fb, sizeof fb, end - sizeof fb, "seek index", err)) != MBZ_OK)
            break;
        if (!mbz_index_foot_read(fb, &foot))
            break;
        uint64_t isz = mbz_index_size(foot.n_blocks, foot.annex_size);
        uint8_t *body = NULL;
        uint8_t hb[MBZ_FRAME_HEADER_SIZE];
        mbz_frame_header h;
        mbz_error ignored;
        /* every block takes at least a header and a payload byte: the body is
         * never sized by a count the frame cannot hold */
        int good = isz <= end && foot.frame_size <= end - isz &&
                   (uint64_t)foot.n_blocks * (MBZ_BLOCK_HEADER_SIZE + 1) <= foot.frame_size &&
                   read_index_body(s, end - MBZ_INDEX_FOOT_SIZE, &foot, &body, err, &rc);
        if (rc != MBZ_OK)
            break;
        uint64_t start = good ? end - isz - foot.frame_size : 0;
        good = good && pread_full(s, hb, sizeof hb, start, "frame header", &ignored) == MBZ_OK &&
               mbz_frame_header_read(hb, &h, &ignored) == MBZ_OK && (h.flags & MBZ_FLAG_INDEX) &&
               mbz_index_entries_valid(body, foot.n_blocks, h.block_log, foot.frame_size);
        for (uint32_t i = 0; good && i < foot.n_blocks; i++)
            good = mbz_block_type_check(h.flags, body[(size_t)i * MBZ_INDEX_ENTRY_SIZE], "block",
                                        &ignored) == MBZ_OK;
        if (!good) {           /* the walk meets it again and counts it */
            free(body);
            break;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 4;
            sk_indexed *nv = realloc(v, cap * sizeof *nv);
            if (!nv) {
                free(body);
                rc = mbz_fail(err, MBZ_ERR_NOMEM, "out of memory (frame map)");
                break;
            }
            v = nv;
        }
        v[n++] = (sk_indexed){ start, h, body, foot };
        end = start;
    }
    if (rc != MBZ_OK) {
        for (size_t i = 0; i < n; i++)
            free(v[i].body);
        free(v);
        return rc;
    }
    *out = v;
    *nout = n;
    *stop = end;
    return MBZ_OK;
}

/* Keep the annex of the index body `body` (of nblocks entries) for frame f. */
static int keep_annex(sk_frame *f, const uint8_t *body, uint64_t nblocks, uint32_t annex,
                      mbz_error *err)
{
    if (!annex)
        return MBZ_OK;
    if (!(f->annex = malloc(annex)))
        return mbz_fail(err, MBZ_ERR_NOMEM, "out of memory (seek index annex)");
    memcpy(f->annex, body + nblocks * MBZ_INDEX_ENTRY_SIZE + 4, annex);
    f->annex_n = annex;
    return MBZ_OK;
}

/* Refuse, at opening, flags the frame's model cannot serve, as decompression and scan
 * refuse them at the frame header (mbz_stack_build). */
static int probe_flags(mbz_seekable *s, const mbz_frame_header *fh, mbz_error *err)
{
    const mbz_model *model = mbz_model_lookup(s->models, s->n_models, fh->fingerprint);
    if (!model)
        return MBZ_OK;
    mbz_stack probe;
    int rc = mbz_stack_build(model, fh->version, fh->flags, &probe, err);
    if (rc == MBZ_OK)
        mbz_stack_free(&probe);
    return rc;
}

/* Map one frame from its checked index. */
static int map_indexed(mbz_seekable *s, sk_indexed *x, mbz_error *err)
{
    int rc;
    if ((rc = probe_flags(s, &x->h, err)) != MBZ_OK || (rc = add_frame(s, &x->h, err)) != MBZ_OK)
        return rc;
    uint64_t pos = x->start + MBZ_FRAME_HEADER_SIZE;
    for (uint32_t i = 0; i < x->foot.n_blocks; i++) {
        mbz_index_entry e;
        mbz_index_entry_read(x->body + (size_t)i * MBZ_INDEX_ENTRY_SIZE, &e);
        sk_block b = { pos, s->content, e.content_size, e.payload_size, (uint32_t)(s->nf - 1), e.type };
        if ((rc = add_block(s, &b, err)) != MBZ_OK)
            return rc;
        pos += MBZ_BLOCK_HEADER_SIZE + (uint64_t)e.payload_size;
        s->content += e.content_size;
    }
    if ((rc = keep_annex(&s->frames[s->nf - 1], x->body, x->foot.n_blocks, x->foot.annex_size,
                         err)) != MBZ_OK)
        return rc;
    s->frames_indexed++;
    return MBZ_OK;
}

/* After the end mark of a walked frame with flag INDEX, at pos: step over its index
 * (keeping the annex when the index checks out; counting it damaged when not). */
static int walk_index(mbz_seekable *s, uint64_t *pos, uint64_t frame_size, uint64_t nblocks,
                      uint64_t limit, mbz_error *err)
{
    uint8_t asz[4], fb[MBZ_INDEX_FOOT_SIZE];
    uint64_t at = *pos + nblocks * MBZ_INDEX_ENTRY_SIZE;
    int rc;
    char what[48];
    snprintf(what, sizeof what, "frame %zu seek index", s->nf);
    if (at + 4 > limit)
        return mbz_fail(err, MBZ_ERR_TRUNCATED, "truncated frame (ended inside %s)", what);
    if ((rc = pread_full(s, asz, 4, at, what, err)) != MBZ_OK)
        return rc;
    uint32_t annex = mbz_get_le32(asz);
    mbz_index_foot foot;
    if ((rc = mbz_index_annex_size_check(annex, s->nf, err)) != MBZ_OK)
        return rc;
    uint64_t end = at + 4 + annex + MBZ_INDEX_FOOT_SIZE;
    if (end > limit)
        return mbz_fail(err, MBZ_ERR_TRUNCATED, "truncated frame (ended inside %s)", what);
    if ((rc = pread_full(s, fb, sizeof fb, end - sizeof fb, what, err)) != MBZ_OK)
        return rc;
    if ((rc = mbz_index_foot_locate(fb, annex, s->nf, &foot, err)) != MBZ_OK)
        return rc;
    uint8_t *body = NULL;
    int good = foot.frame_size == frame_size && foot.n_blocks == nblocks &&
               read_index_body(s, end - MBZ_INDEX_FOOT_SIZE, &foot, &body, err, &rc);
    if (rc != MBZ_OK)
        return rc;
    /* the entries must be those of the blocks just walked */
    sk_frame *f = &s->frames[s->nf - 1];
    for (uint64_t i = 0; good && i < nblocks; i++) {
        mbz_index_entry e;
        const sk_block *b = &s->blocks[f->first + i];
        mbz_index_entry_read(body + i * MBZ_INDEX_ENTRY_SIZE, &e);
        good = e.type == b->type && e.content_size == b->content_size && e.payload_size == b->payload_size;
    }
    if (good && (rc = keep_annex(f, body, nblocks, annex, err)) != MBZ_OK) {
        free(body);
        return rc;
    }
    if (good)
        s->frames_indexed++;   /* checked against the walk, and its annex kept */
    else
        s->indexes_damaged++;
    free(body);
    *pos = end;
    return MBZ_OK;
}

/* Walk the headers of the stream up to `limit` into the block map. */
static int walk_map(mbz_seekable *s, uint64_t limit, mbz_error *err)
{
    uint64_t pos = 0;
    while (pos < limit || (s->nf == 0 && limit == s->size)) {
        uint8_t hdr[MBZ_FRAME_HEADER_SIZE];
        char where[48];
        snprintf(where, sizeof where, "frame %zu header", s->nf + 1);
        if (limit - pos >= 4) {
            int rc = pread_full(s, hdr, 4, pos, where, err);
            if (rc != MBZ_OK)
                return rc;
        }
        if (limit - pos < 4 || memcmp(hdr, mbz_frame_magic, 4) != 0) {
            if (s->nf == 0 && s->size == 0)
                return mbz_fail(err, MBZ_ERR_TRUNCATED, "empty input (no mbzip frame)");
            if (s->nf == 0)
                return mbz_fail(err, MBZ_ERR_BAD_MAGIC, "not an mbzip stream (bad magic)");
            return mbz_fail(err, MBZ_ERR_BAD_MAGIC, "trailing garbage after frame %zu (at byte %llu)",
                            s->nf, (unsigned long long)pos);
        }
        mbz_frame_header fh;
        int rc;
        uint64_t frame_start = pos;
        if (limit - pos < sizeof hdr)
            return mbz_fail(err, MBZ_ERR_TRUNCATED, "truncated frame (ended inside %s)", where);
        if ((rc = pread_full(s, hdr, sizeof hdr, pos, where, err)) != MBZ_OK ||
            (rc = mbz_frame_header_read(hdr, &fh, err)) != MBZ_OK ||
            (rc = add_frame(s, &fh, err)) != MBZ_OK)
            return rc;
        pos += sizeof hdr;
        if ((rc = probe_flags(s, &fh, err)) != MBZ_OK)
            return rc;
        uint32_t bs = UINT32_C(1) << fh.block_log;
        uint64_t total = 0;
        for (uint64_t no = 1;; no++) {
            uint8_t bh[MBZ_BLOCK_HEADER_SIZE];
            mbz_block_header h;
            if (s->nf > 1)
                snprintf(where, sizeof where, "frame %zu, block %llu", s->nf, (unsigned long long)no);
            else
                snprintf(where, sizeof where, "block %llu", (unsigned long long)no);
            char what[64];
            snprintf(what, sizeof what, "%s header", where);
            if (s->cancel && *s->cancel)
                return mbz_fail(err, MBZ_ERR_CANCELLED, "cancelled");
            if (limit - pos < sizeof bh)
                return mbz_fail(err, MBZ_ERR_TRUNCATED, "truncated frame (ended inside %s)", what);
            if ((rc = pread_full(s, bh, sizeof bh, pos, what, err)) != MBZ_OK ||
                (rc = mbz_block_header_read(bh, bs, where, &h, err)) != MBZ_OK)
                return rc;
            if (h.type == MBZ_BLOCK_END) {
                if (h.total != total)
                    return mbz_fail(err, MBZ_ERR_CORRUPT,
                                    "frame %zu end mark: total size %llu does not match the blocks' %llu",
                                    s->nf, (unsigned long long)h.total, (unsigned long long)total);
                pos += sizeof bh;
                if ((fh.flags & MBZ_FLAG_INDEX) &&
                    (rc = walk_index(s, &pos, pos - frame_start, no - 1, limit, err)) != MBZ_OK)
                    return rc;
                break;
            }
            if ((rc = mbz_block_type_check(fh.flags, h.type, where, err)) != MBZ_OK)
                return rc;
            if (h.payload_size > limit - pos - sizeof bh)
                return mbz_fail(err, MBZ_ERR_TRUNCATED, "truncated frame (ended inside %s payload)", where);
            sk_block b = { pos, s->content, h.content_size, h.payload_size, (uint32_t)(s->nf - 1), h.type };
            if ((rc = add_block(s, &b, err)) != MBZ_OK)
                return rc;
            pos += sizeof bh + h.payload_size;
            total += h.content_size;
            s->content += h.content_size;
        }
    }
    return MBZ_OK;
}

/* The block map: frames mapped by their indexes from the end, the rest walked. */
static int build_map(mbz_seekable *s, mbz_error *err)
{
    sk_indexed *v;
    size_t n;
    uint64_t stop;
    int rc = indexed_from_end(s, &v, &n, &stop, err);
    if (rc != MBZ_OK)
        return rc;
    if (stop > 0 || n == 0)
        rc = walk_map(s, stop, err);
    for (size_t i = n; rc == MBZ_OK && i-- > 0;)
        rc = map_indexed(s, &v[i], err);
    for (size_t i = 0; i < n; i++)
        free(v[i].body);
    free(v);
    return rc;
}

int mbz_seekable_open(const mbz_options *o, mbz_pread_fn rd, void *rd_user, uint64_t size,
                      mbz_seekable **out, mbz_error *err)
{
    mbz_error_clear(err);
    *out = NULL;
    if (!rd)
        return mbz_fail(err, MBZ_ERR_PARAM, "a read callback is required");
    mbz_seekable *s = calloc(1, sizeof *s);
    if (!s)
        return mbz_fail(err, MBZ_ERR_NOMEM, "out of memory");
    s->rd = rd;
    s->user = rd_user;
    s->size = size;
    if (o) {
        s->models = o->models;
        s->n_models = o->n_models;
        s->cancel = o->cancel;
    }
    s->stack_frame = -1;
    int rc = build_map(s, err);
    if (rc != MBZ_OK) {
        mbz_seekable_close(s);
        return rc;
    }
    s->cached = s->nb;
    *out = s;
    return MBZ_OK;
}

uint64_t mbz_seekable_content_size(const mbz_seekable *s)
{
    return s->content;
}

void mbz_seekable_close(mbz_seekable *s)
{
    if (!s)
        return;
    mbz_stack_free(&s->stack);
    mbz_cm_chain_reset(&s->chain);
    free(s->job.payload);
    free(s->job.content);
    for (size_t i = 0; i < s->nf; i++)
        free(s->frames[i].annex);
    free(s->blocks);
    free(s->frames);
    free(s);
}

void mbz_seekable_get_info(const mbz_seekable *s, mbz_seekable_info *info)
{
    info->frames = s->nf;
    info->blocks = s->nb;
    info->frames_indexed = s->frames_indexed;
    info->indexes_damaged = s->indexes_damaged;
    info->blocks_stored = 0;
    for (size_t i = 0; i < s->nb; i++)
        info->blocks_stored += s->blocks[i].type == MBZ_BLOCK_STORED || s->blocks[i].type == MBZ_BLOCK_RLE;
    info->level = s->nf ? s->frames[s->nf - 1].h.level : 0;
    info->fingerprint = s->nf ? s->frames[s->nf - 1].h.fingerprint : 0;
}

int mbz_seekable_annex(const mbz_seekable *s, uint64_t frame, const void **data, size_t *n,
                       uint64_t *content_start)
{
    *data = NULL;
    *n = 0;
    if (frame >= s->nf)
        return MBZ_ERR_PARAM;
    *data = s->frames[frame].annex;
    *n = s->frames[frame].annex_n;
    if (content_start)
        *content_start = s->frames[frame].content_start;
    return MBZ_OK;
}

/* Build the model stack of frame f (kept until a block of another frame is read). */
static int use_frame(mbz_seekable *s, uint32_t f, mbz_error *err)
{
    if (s->stack_frame == (long)f)
        return MBZ_OK;
    mbz_stack_free(&s->stack);
    memset(&s->stack, 0, sizeof s->stack);
    mbz_cm_chain_reset(&s->chain);
    s->stack_frame = -1;
    const mbz_frame_header *h = &s->frames[f].h;
    const mbz_model *model = mbz_model_lookup(s->models, s->n_models, h->fingerprint);
    if (!model)
        return mbz_fail(err, MBZ_ERR_MODEL_UNKNOWN,
                        "frame needs model %016llx, which is not available (use --model FILE, or put it in the model path as %016llx.mbzm: mbzip --list-models)",
                        (unsigned long long)h->fingerprint, (unsigned long long)h->fingerprint);
    int rc = mbz_stack_build(model, h->version, h->flags, &s->stack, err);
    if (rc != MBZ_OK)
        return rc;
    s->chain.window = mbz_frame_history(h->block_log);
    s->chain.features = s->stack.cm_features;
    s->stack_frame = (long)f;
    return MBZ_OK;
}

/* Read block k's header and payload into the job and decode it (through s->chain in
 * CM frames). The content is in s->job.content on success. */
static int decode_one(mbz_seekable *s, size_t k, mbz_error *err)
{
    const sk_block *b = &s->blocks[k];
    mbz_block_job *j = &s->job;
    uint8_t bh[MBZ_BLOCK_HEADER_SIZE];
    const mbz_frame_header *fh = &s->frames[b->frame].h;
    block_name(s, k, j->where, sizeof j->where);
    char what[64];
    snprintf(what, sizeof what, "%s header", j->where);
    s->cached = s->nb;
    /* read again and re-checked: the map keeps only what finding a block needs */
    int rc = pread_full(s, bh, sizeof bh, b->offset, what, err);
    if (rc == MBZ_OK)
        rc = mbz_block_header_read(bh, UINT32_C(1) << fh->block_log, j->where, &j->h, err);
    if (rc == MBZ_OK && (j->h.type != b->type || j->h.content_size != b->content_size ||
                         j->h.payload_size != b->payload_size))
        rc = mbz_fail(err, MBZ_ERR_CORRUPT,
                      "%s: header does not match the frame's seek index (or changed since the stream was opened)",
                      j->where);
    if (rc != MBZ_OK)
        return rc;
    int modelled = mbz_block_is_modelled(j->h.type);
    if (modelled && (rc = use_frame(s, b->frame, err)) != MBZ_OK)
        return rc;
    int coded = mbz_block_is_coded(j->h.type);
    j->content = mbz_grow(j->content, &j->content_cap, j->h.content_size);
    if (j->content && coded)
        j->payload = mbz_grow(j->payload, &j->payload_cap, j->h.payload_size);
    if (!j->content || (coded && !j->payload))
        return mbz_fail(err, MBZ_ERR_NOMEM, "out of memory (%s)", j->where);
    uint8_t *dst = j->h.type == MBZ_BLOCK_STORED ? j->content
                   : j->h.type == MBZ_BLOCK_RLE  ? &j->rle_byte
                                                 : j->payload;
    snprintf(what, sizeof what, "%s payload", j->where);
    if ((rc = pread_full(s, dst, j->h.payload_size, b->offset + sizeof bh, what, err)) != MBZ_OK)
        return rc;
    int cm = modelled && (fh->flags & MBZ_FLAG_CM);
    /* a media block needs no model, only the frame's revision of the media models */
    mbz_stack media;
    memset(&media, 0, sizeof media);
    media.image_rev = mbz_image_rev(fh->version);
    media.audio_rev = mbz_audio_rev(fh->version);
    mbz_block_decode(&j, 1, modelled ? &s->stack : &media, cm ? &s->chain : NULL, 0, s->cancel);
    if (j->status != MBZ_OK) {
        if (cm)
            mbz_cm_chain_reset(&s->chain);   /* its state is no longer that of a block end */
        if (err)
            *err = j->err;
        return j->status;
    }
    if (cm)
        s->chain_at = k;
    s->cached = k;
    return MBZ_OK;
}

/* The modelled block before block k in k's frame, or k when there is none. */
static size_t modelled_before(const mbz_seekable *s, size_t k)
{
    size_t first = s->frames[s->blocks[k].frame].first;
    for (size_t i = k; i > first;)
        if (mbz_block_is_modelled(s->blocks[--i].type))
            return i;
    return k;
}

/* Make s->job hold block k's content. */
static int load_block(mbz_seekable *s, size_t k, mbz_error *err)
{
    if (s->cached == k)
        return MBZ_OK;
    const sk_block *b = &s->blocks[k];
    if (b->type != MBZ_BLOCK_MODELLED || !(s->frames[b->frame].h.flags & MBZ_FLAG_CM))
        return decode_one(s, k, err);
    /* A type-3 block of a CM frame continues the history of the modelled block
     * before it: go on from there when the handle's history stands right after it,
     * else decode the history from the type-4 block that started it. */
    size_t prev = modelled_before(s, k), from = k;
    /* the handle's history, when it stands after a block of this frame before k */
    int have = s->stack_frame == (long)b->frame && s->chain.cm && s->chain_at < k;
    int open = have && s->chain_at == prev;
    if (prev != k && !open) {
        /* back to the history's start, or to where the handle's history stands
         * (then on from there: a skip over blocks of one history, as listing an
         * archive does, decodes each block once) */
        from = prev;
        while (s->blocks[from].type != MBZ_BLOCK_MODELLED_FRESH) {
            size_t p = modelled_before(s, from);
            if (p == from)
                break;     /* no history start: the decoder reports the type-3 block */
            if (have && p == s->chain_at) {
                open = 1;
                break;
            }
            from = p;
        }
    }
    if (!open)
        mbz_cm_chain_reset(&s->chain);
    for (size_t i = from; i <= k; i++) {
        if (!mbz_block_is_modelled(s->blocks[i].type))
            continue;      /* stored and run-length blocks leave the history alone */
        int rc = decode_one(s, i, err);
        if (rc != MBZ_OK)
            return rc;
    }
    return MBZ_OK;
}

int mbz_seekable_read(mbz_seekable *s, uint64_t offset, void *buf, size_t n, size_t *got,
                      mbz_error *err)
{
    mbz_error_clear(err);
    *got = 0;
    if (offset >= s->content || n == 0)
        return MBZ_OK;
    if (n > s->content - offset)
        n = (size_t)(s->content - offset);
    /* the last block that starts at or before offset */
    size_t lo = 0, hi = s->nb;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->blocks[mid].start <= offset)
            lo = mid;
        else
            hi = mid;
    }
    size_t done = 0;
    for (size_t k = lo; done < n && k < s->nb; k++) {
        if (s->cancel && *s->cancel)
            return mbz_fail(err, MBZ_ERR_CANCELLED, "cancelled");
        int rc = load_block(s, k, err);
        if (rc != MBZ_OK)
            return rc;
        const sk_block *b = &s->blocks[k];
        uint64_t at = offset + done - b->start;
        size_t take = b->content_size - (size_t)at;
        if (take > n - done)
            take = n - done;
        memcpy((uint8_t *)buf + done, s->job.content + at, take);
        done += take;
        *got = done;
    }
    return MBZ_OK;
}
