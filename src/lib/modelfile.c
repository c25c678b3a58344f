/*
 * modelfile.c - MEGABYTE model files: tensor list, parser, writer
 * (doc/model-format.md §3, §4).
 *
 * The parser never trusts a size before bounding it: every offset and length is
 * checked in 64-bit arithmetic against the file size before any byte is read.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>

#include "internal.h"
#include "mbz.h"
#include "modelfile.h"

#define HEADER_SIZE 80u
#define DIRENT_SIZE 64u
#define TRAILER_SIZE 8u

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

static uint32_t elt_size(uint32_t dtype)
{
    switch (dtype) {
    case MBZM_I8: return 1;
    case MBZM_I16: return 2;
    case MBZM_I32: return 4;
    default: return 0;
    }
}

/* ------------------------------------------------------------------ hparams */

int mbzm_check_hparams(const mbzm_hparams *hp, char *err, size_t errlen)
{
    const int E = MBZ_ERR_MODEL_INVALID;
    if (hp->patch < 1 || hp->patch > 64)
        return fail(err, errlen, E, "model: patch size %u out of range [1, 64]", hp->patch);
    if (hp->d_emb < 1 || hp->d_emb > MBZM_MAX_DIN)
        return fail(err, errlen, E, "model: d_emb %u out of range [1, %d]", hp->d_emb, MBZM_MAX_DIN);
    uint64_t dg = (uint64_t)hp->patch * hp->d_emb;
    if (dg > MBZM_MAX_DIN)
        return fail(err, errlen, E, "model: global width P*d_emb = %llu exceeds %d",
                    (unsigned long long)dg, MBZM_MAX_DIN);
    if (hp->g_layers > 64 || hp->l_layers > 64)
        return fail(err, errlen, E, "model: more than 64 layers (global %u, local %u)",
                    hp->g_layers, hp->l_layers);
    if (hp->g_heads < 1 || dg % hp->g_heads || dg / hp->g_heads > MBZM_MAX_HEAD_DIM)
        return fail(err, errlen, E, "model: global heads %u do not divide width %llu into heads of at most %d",
                    hp->g_heads, (unsigned long long)dg, MBZM_MAX_HEAD_DIM);
    if (hp->g_ff < 1 || hp->g_ff > MBZM_MAX_DIN)
        return fail(err, errlen, E, "model: global MLP width %u out of range [1, %d]", hp->g_ff, MBZM_MAX_DIN);
    if (hp->l_dim < 1 || hp->l_dim > MBZM_MAX_DIN)
        return fail(err, errlen, E, "model: local width %u out of range [1, %d]", hp->l_dim, MBZM_MAX_DIN);
    if (hp->l_heads < 1 || hp->l_dim % hp->l_heads || hp->l_dim / hp->l_heads > MBZM_MAX_HEAD_DIM)
        return fail(err, errlen, E, "model: local heads %u do not divide width %u into heads of at most %d",
                    hp->l_heads, hp->l_dim, MBZM_MAX_HEAD_DIM);
    if (hp->l_ff < 1 || hp->l_ff > MBZM_MAX_DIN)
        return fail(err, errlen, E, "model: local MLP width %u out of range [1, %d]", hp->l_ff, MBZM_MAX_DIN);
    if (hp->ctx_patches < 1 || hp->ctx_patches > 65536)
        return fail(err, errlen, E, "model: ctx_patches %u out of range [1, 65536]", hp->ctx_patches);
    uint32_t known = MBZM_OPT_CROSS_PATCH | MBZM_OPT_CONV_ENCODER | MBZM_OPT_STRIDED |
                     MBZM_OPT_INT8_ACT | MBZM_OPT_GLOBAL_LAG | MBZM_OPT_PREV_PATCH;
    if (hp->options & ~known)
        return fail(err, errlen, E, "model: unknown option bits 0x%x", hp->options & ~known);
    if (hp->options & MBZM_OPT_CROSS_PATCH) {
        if (hp->cross_r < 1 || hp->cross_r > hp->patch)
            return fail(err, errlen, E, "model: cross_r %u out of range [1, P]", hp->cross_r);
    } else if (hp->cross_r != 0) {
        return fail(err, errlen, E, "model: cross_r %u set without the cross-patch option", hp->cross_r);
    }
    if ((hp->options & MBZM_OPT_CONV_ENCODER) &&
        (uint64_t)MBZM_CONV_KERNEL(MBZM_CONV_LAYERS - 1) * hp->d_emb > MBZM_MAX_DIN)
        return fail(err, errlen, E, "model: convolutional encoder input %u*d_emb = %llu exceeds %d",
                    MBZM_CONV_KERNEL(MBZM_CONV_LAYERS - 1),
                    (unsigned long long)MBZM_CONV_KERNEL(MBZM_CONV_LAYERS - 1) * hp->d_emb,
                    MBZM_MAX_DIN);
    if (hp->options & MBZM_OPT_GLOBAL_LAG) {
        if (hp->global_lag < 2 || hp->global_lag > MBZM_MAX_LAG)
            return fail(err, errlen, E, "model: global_lag %u out of range [2, %d]", hp->global_lag,
                        MBZM_MAX_LAG);
    } else if (hp->global_lag != 0) {
        return fail(err, errlen, E, "model: global_lag %u set without the lag option", hp->global_lag);
    }
    for (int i = 0; i < 3; i++)
        if (hp->reserved[i])
            return fail(err, errlen, E, "model: reserved hyperparameter %d is not 0", i);
    return MBZ_OK;
}

/* ------------------------------------------------------------------ tensor list */

static void emit_group(mbzm_tensor_fn fn, void *user, const char *prefix,
                       uint32_t rows, uint32_t cols, int *count)
{
    char name[MBZM_NAME_LEN + 16];
    static const char *sfx[4] = {"w", "b", "m", "s"};
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "%s.%s", prefix, sfx[i]);
        if (fn) {
            if (i == 0)
                fn(user, name, MBZM_I8, rows, cols);
            else
                fn(user, name, MBZM_I32, 1, rows);
        }
        (*count)++;
    }
}

static void emit(mbzm_tensor_fn fn, void *user, const char *name, uint32_t dtype,
                 uint32_t rows, uint32_t cols, int *count)
{
    if (fn)
        fn(user, name, dtype, rows, cols);
    (*count)++;
}

static void emit_layers(mbzm_tensor_fn fn, void *user, char pfx, uint32_t layers,
                        uint32_t d, uint32_t heads, uint32_t ff, int *count)
{
    char name[MBZM_NAME_LEN + 16];
    for (uint32_t i = 0; i < layers; i++) {
        snprintf(name, sizeof name, "%c.%u.qkv", pfx, i);
        emit_group(fn, user, name, 3 * d, d, count);
        snprintf(name, sizeof name, "%c.%u.att", pfx, i);
        emit(fn, user, name, MBZM_I32, 1, 2 + heads, count);
        snprintf(name, sizeof name, "%c.%u.o", pfx, i);
        emit_group(fn, user, name, d, d, count);
        snprintf(name, sizeof name, "%c.%u.up", pfx, i);
        emit_group(fn, user, name, ff, d, count);
        snprintf(name, sizeof name, "%c.%u.down", pfx, i);
        emit_group(fn, user, name, d, ff, count);
    }
}

/* The convolutional patch encoder (MBZM_OPT_CONV_ENCODER): g.conv.{j}, D_E x k_j*D_E. */
static void emit_conv(mbzm_tensor_fn fn, void *user, const mbzm_hparams *hp, int *count)
{
    char name[MBZM_NAME_LEN + 16];
    if (!(hp->options & MBZM_OPT_CONV_ENCODER))
        return;
    for (uint32_t j = 0; j < MBZM_CONV_LAYERS; j++) {
        snprintf(name, sizeof name, "g.conv.%u", j);
        emit_group(fn, user, name, hp->d_emb, MBZM_CONV_KERNEL(j) * hp->d_emb, count);
    }
}

int mbzm_for_each_tensor(const mbzm_hparams *hp, mbzm_tensor_fn fn, void *user)
{
    int count = 0;
    uint32_t dg = hp->patch * hp->d_emb;
    emit(fn, user, "g.emb", MBZM_I32, 256, hp->d_emb, &count);
    emit(fn, user, "g.pad", MBZM_I32, 1, dg, &count);
    emit_conv(fn, user, hp, &count);
    emit_layers(fn, user, 'g', hp->g_layers, dg, hp->g_heads, hp->g_ff, &count);
    emit_group(fn, user, "gl", hp->l_dim, hp->d_emb, &count);
    if (hp->options & MBZM_OPT_PREV_PATCH)
        emit_group(fn, user, "l.prev", hp->l_dim, dg, &count);
    emit(fn, user, "l.emb", MBZM_I32, 257, hp->l_dim, &count);
    emit(fn, user, "l.pos", MBZM_I32, hp->patch, hp->l_dim, &count);
    emit_layers(fn, user, 'l', hp->l_layers, hp->l_dim, hp->l_heads, hp->l_ff, &count);
    emit_group(fn, user, "head", 256, hp->l_dim, &count);
    return count;
}

/* ------------------------------------------------------------------ expected list */

typedef struct {
    char name[MBZM_NAME_LEN];
    uint32_t dtype, rows, cols;
} spec;

typedef struct {
    spec *v;
    int n, cap;
} spec_list;

static void collect(void *user, const char *name, uint32_t dtype, uint32_t rows, uint32_t cols)
{
    spec_list *l = user;
    if (l->n >= l->cap)
        return;
    spec *s = &l->v[l->n++];
    memset(s->name, 0, sizeof s->name);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->dtype = dtype;
    s->rows = rows;
    s->cols = cols;
}

/* Expected tensors for hp (hp must have passed mbzm_check_hparams). */
static int expected_list(const mbzm_hparams *hp, spec_list *l)
{
    int n = mbzm_for_each_tensor(hp, NULL, NULL);
    l->v = calloc((size_t)n, sizeof *l->v);
    if (!l->v)
        return MBZ_ERR_NOMEM;
    l->n = 0;
    l->cap = n;
    mbzm_for_each_tensor(hp, collect, l);
    return MBZ_OK;
}

static const char *dtype_name(uint32_t d)
{
    return d == MBZM_I8 ? "int8" : d == MBZM_I16 ? "int16" : d == MBZM_I32 ? "int32" : "?";
}

/* ------------------------------------------------------------------ parser */

static void read_hparams(const uint8_t *p, mbzm_hparams *hp)
{
    uint32_t v[MBZM_N_HPARAMS];
    for (int i = 0; i < MBZM_N_HPARAMS; i++)
        v[i] = mbz_get_le32(p + 4 * i);
    hp->patch = v[0]; hp->d_emb = v[1]; hp->g_layers = v[2]; hp->g_heads = v[3];
    hp->g_ff = v[4]; hp->l_dim = v[5]; hp->l_layers = v[6]; hp->l_heads = v[7];
    hp->l_ff = v[8]; hp->ctx_patches = v[9]; hp->options = v[10]; hp->cross_r = v[11];
    hp->global_lag = v[12];
    for (int i = 0; i < 3; i++)
        hp->reserved[i] = v[13 + i];
}

static void write_hparams(uint8_t *p, const mbzm_hparams *hp)
{
    uint32_t v[MBZM_N_HPARAMS] = {hp->patch, hp->d_emb, hp->g_layers, hp->g_heads, hp->g_ff,
                                  hp->l_dim, hp->l_layers, hp->l_heads, hp->l_ff,
                                  hp->ctx_patches, hp->options, hp->cross_r,
                                  hp->global_lag, hp->reserved[0], hp->reserved[1],
                                  hp->reserved[2]};
    for (int i = 0; i < MBZM_N_HPARAMS; i++)
        mbz_put_le32(p + 4 * i, v[i]);
}

int mbzm_parse(const void *data, size_t size, mbzm_file *out, char *err, size_t errlen)
{
    const int E = MBZ_ERR_MODEL_INVALID;
    const uint8_t *b = data;
    int rc;

    memset(out, 0, sizeof *out);
    if (!data || size < HEADER_SIZE + TRAILER_SIZE)
        return fail(err, errlen, E, "model file too short (%zu bytes)", size);
    if (memcmp(b, MBZM_MAGIC, 8) != 0)
        return fail(err, errlen, E, "not an mbzip model file (bad magic)");
    uint32_t version = mbz_get_le32(b + 8);
    if (version != MBZM_VERSION)
        return fail(err, errlen, MBZ_ERR_VERSION,
                    "model file version %u is not supported (this build reads version %d)",
                    version, MBZM_VERSION);
    size_t body = size - TRAILER_SIZE;
    if (XXH64(b, body, 0) != mbz_get_le64(b + body))
        return fail(err, errlen, E, "model file checksum mismatch (truncated or corrupt)");

    uint32_t n = mbz_get_le32(b + 12);
    if (n > MBZM_MAX_TENSORS)
        return fail(err, errlen, E, "model file declares %u tensors (at most %d)", n, MBZM_MAX_TENSORS);
    mbzm_hparams hp;
    read_hparams(b + 16, &hp);
    if ((rc = mbzm_check_hparams(&hp, err, errlen)) != MBZ_OK)
        return rc;
    uint64_t dir_end = HEADER_SIZE + (uint64_t)n * DIRENT_SIZE;
    if (dir_end > body)
        return fail(err, errlen, E, "model file too short for its %u-entry tensor directory", n);

    spec_list want;
    if ((rc = expected_list(&hp, &want)) != MBZ_OK)
        return fail(err, errlen, rc, "out of memory reading model file");
    if ((uint32_t)want.n != n) {
        rc = fail(err, errlen, E, "model file has %u tensors, its hyperparameters need %d", n, want.n);
        free(want.v);
        return rc;
    }

    /* Walk the directory: names, types, shapes, offsets (in order, aligned, in bounds). */
    uint64_t prev_end = dir_end;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *d = b + HEADER_SIZE + (size_t)i * DIRENT_SIZE;
        const spec *w = &want.v[i];
        char name[MBZM_NAME_LEN];
        memcpy(name, d, MBZM_NAME_LEN);
        if (!memchr(name, 0, MBZM_NAME_LEN)) {
            rc = fail(err, errlen, E, "model tensor %u: name is not NUL-terminated", i);
            goto out;
        }
        for (size_t k = strlen(name); k < MBZM_NAME_LEN; k++)
            if (name[k] != 0) {
                rc = fail(err, errlen, E, "model tensor %u: name is not NUL-padded", i);
                goto out;
            }
        if (strcmp(name, w->name) != 0) {
            /* the name comes from the file: show it with anything unprintable as '?',
             * so the message stays one line whatever the bytes are */
            for (char *c = name; *c; c++)
                if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
                    *c = '?';
            rc = fail(err, errlen, E, "model tensor %u: expected '%s', found '%.31s'", i, w->name, name);
            goto out;
        }
        uint32_t dtype = mbz_get_le32(d + 32), rows = mbz_get_le32(d + 36), cols = mbz_get_le32(d + 40), resv = mbz_get_le32(d + 44);
        uint64_t off = mbz_get_le64(d + 48), sz = mbz_get_le64(d + 56);
        if (dtype != w->dtype) {
            rc = fail(err, errlen, E, "model tensor '%s': type %u, expected %s", w->name, dtype,
                      dtype_name(w->dtype));
            goto out;
        }
        if (rows != w->rows || cols != w->cols) {
            rc = fail(err, errlen, E, "model tensor '%s': shape %ux%u, expected %ux%u", w->name,
                      rows, cols, w->rows, w->cols);
            goto out;
        }
        if (resv != 0) {
            rc = fail(err, errlen, E, "model tensor '%s': reserved field is not 0", w->name);
            goto out;
        }
        uint64_t want_sz = (uint64_t)rows * cols * elt_size(dtype);
        if (sz != want_sz) {
            rc = fail(err, errlen, E, "model tensor '%s': size %llu, expected %llu", w->name,
                      (unsigned long long)sz, (unsigned long long)want_sz);
            goto out;
        }
        if (off % MBZM_ALIGN || off < prev_end || off > body || sz > body - off) {
            rc = fail(err, errlen, E, "model tensor '%s': bad data offset %llu", w->name,
                      (unsigned long long)off);
            goto out;
        }
        for (uint64_t k = prev_end; k < off; k++)
            if (b[k]) {
                rc = fail(err, errlen, E, "model tensor '%s': non-zero padding before its data", w->name);
                goto out;
            }
        prev_end = off + sz;
    }
    for (uint64_t k = prev_end; k < body; k++)
        if (b[k]) {
            rc = fail(err, errlen, E, "model file: non-zero bytes after the last tensor");
            goto out;
        }

    /* Accept: copy the bytes (64-aligned) and build the tensor table. */
    size_t alloc = (size + MBZM_ALIGN - 1) / MBZM_ALIGN * MBZM_ALIGN;
    out->bytes = aligned_alloc(MBZM_ALIGN, alloc);
    out->tensors = calloc(n ? n : 1, sizeof *out->tensors);
    if (!out->bytes || !out->tensors) {
        free(out->bytes);
        free(out->tensors);
        memset(out, 0, sizeof *out);
        rc = fail(err, errlen, MBZ_ERR_NOMEM, "out of memory loading model file (%zu bytes)", size);
        goto out;
    }
    memcpy(out->bytes, b, size);
    out->size = size;
    out->hp = hp;
    out->n_tensors = n;
    out->fingerprint = XXH64(b, size, 0);
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *d = b + HEADER_SIZE + (size_t)i * DIRENT_SIZE;
        mbzm_tensor *t = &out->tensors[i];
        memcpy(t->name, want.v[i].name, MBZM_NAME_LEN);
        t->dtype = want.v[i].dtype;
        t->rows = want.v[i].rows;
        t->cols = want.v[i].cols;
        t->data = out->bytes + mbz_get_le64(d + 48);
    }
    rc = MBZ_OK;
out:
    free(want.v);
    return rc;
}

void mbzm_free(mbzm_file *f)
{
    if (!f)
        return;
    free(f->tensors);
    free(f->bytes);
    memset(f, 0, sizeof *f);
}

const mbzm_tensor *mbzm_find(const mbzm_file *f, const char *name)
{
    for (uint32_t i = 0; i < f->n_tensors; i++)
        if (strncmp(f->tensors[i].name, name, MBZM_NAME_LEN) == 0)
            return &f->tensors[i];
    return NULL;
}

/* ------------------------------------------------------------------ writer */

static int check_for_write(const mbzm_hparams *hp, const mbzm_tensor *t, uint32_t n,
                           char *err, size_t errlen)
{
    int rc;
    if ((rc = mbzm_check_hparams(hp, err, errlen)) != MBZ_OK)
        return MBZ_ERR_PARAM;
    spec_list want;
    if (expected_list(hp, &want) != MBZ_OK)
        return fail(err, errlen, MBZ_ERR_NOMEM, "out of memory");
    rc = MBZ_OK;
    if ((uint32_t)want.n != n) {
        rc = fail(err, errlen, MBZ_ERR_PARAM, "model writer: %u tensors given, hyperparameters need %d",
                  n, want.n);
    } else {
        for (uint32_t i = 0; i < n; i++) {
            const spec *w = &want.v[i];
            if (strncmp(t[i].name, w->name, MBZM_NAME_LEN) != 0 || t[i].dtype != w->dtype ||
                t[i].rows != w->rows || t[i].cols != w->cols || (!t[i].data && t[i].rows && t[i].cols)) {
                rc = fail(err, errlen, MBZ_ERR_PARAM,
                          "model writer: tensor %u is '%.31s' %s %ux%u, expected '%s' %s %ux%u", i,
                          t[i].name, dtype_name(t[i].dtype), t[i].rows, t[i].cols, w->name,
                          dtype_name(w->dtype), w->rows, w->cols);
                break;
            }
        }
    }
    free(want.v);
    return rc;
}

static int write_buffer(const mbzm_hparams *hp, const mbzm_tensor *t, uint32_t n, uint8_t **out,
                        size_t *out_size, char *err, size_t errlen)
{
    int rc = check_for_write(hp, t, n, err, errlen);
    if (rc != MBZ_OK)
        return rc;
    uint64_t pos = HEADER_SIZE + (uint64_t)n * DIRENT_SIZE;
    for (uint32_t i = 0; i < n; i++) {
        pos = (pos + MBZM_ALIGN - 1) / MBZM_ALIGN * MBZM_ALIGN;
        pos += (uint64_t)t[i].rows * t[i].cols * elt_size(t[i].dtype);
    }
    pos += TRAILER_SIZE;
    if (pos > SIZE_MAX)
        return fail(err, errlen, MBZ_ERR_LIMIT, "model writer: model too large");
    size_t total = (size_t)pos;
    uint8_t *buf = calloc(1, total);
    if (!buf)
        return fail(err, errlen, MBZ_ERR_NOMEM, "model writer: out of memory (%zu bytes)", total);
    memcpy(buf, MBZM_MAGIC, 8);
    mbz_put_le32(buf + 8, MBZM_VERSION);
    mbz_put_le32(buf + 12, n);
    write_hparams(buf + 16, hp);
    uint64_t off = HEADER_SIZE + (uint64_t)n * DIRENT_SIZE;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *d = buf + HEADER_SIZE + (size_t)i * DIRENT_SIZE;
        off = (off + MBZM_ALIGN - 1) / MBZM_ALIGN * MBZM_ALIGN;
        uint64_t sz = (uint64_t)t[i].rows * t[i].cols * elt_size(t[i].dtype);
        memcpy(d, t[i].name, strnlen(t[i].name, MBZM_NAME_LEN - 1));
        mbz_put_le32(d + 32, t[i].dtype);
        mbz_put_le32(d + 36, t[i].rows);
        mbz_put_le32(d + 40, t[i].cols);
        mbz_put_le64(d + 48, off);
        mbz_put_le64(d + 56, sz);
        if (sz)
            memcpy(buf + off, t[i].data, (size_t)sz);
        off += sz;
    }
    mbz_put_le64(buf + total - TRAILER_SIZE, XXH64(buf, total - TRAILER_SIZE, 0));
    *out = buf;
    *out_size = total;
    return MBZ_OK;
}

int mbzm_write_buffer(const mbzm_hparams *hp, const mbzm_tensor *t, uint32_t n,
                      uint8_t **out, size_t *out_size)
{
    return write_buffer(hp, t, n, out, out_size, NULL, 0);
}

int mbzm_write_file(const char *path, const mbzm_hparams *hp, const mbzm_tensor *t,
                    uint32_t n, char *err, size_t errlen)
{
    uint8_t *buf;
    size_t size;
    int rc = write_buffer(hp, t, n, &buf, &size, err, errlen);
    if (rc != MBZ_OK)
        return rc;
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 32);
    if (!tmp) {
        free(buf);
        return fail(err, errlen, MBZ_ERR_NOMEM, "out of memory");
    }
    snprintf(tmp, plen + 32, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        rc = fail(err, errlen, MBZ_ERR_IO, "%s: %s", tmp, strerror(errno));
        goto done;
    }
    if (fwrite(buf, 1, size, f) != size || fflush(f) != 0 || fsync(fileno(f)) != 0) {
        rc = fail(err, errlen, MBZ_ERR_IO, "%s: %s", tmp, strerror(errno));
        fclose(f);
        remove(tmp);
        goto done;
    }
    if (fclose(f) != 0) {
        rc = fail(err, errlen, MBZ_ERR_IO, "%s: %s", tmp, strerror(errno));
        remove(tmp);
        goto done;
    }
    if (rename(tmp, path) != 0) {
        rc = fail(err, errlen, MBZ_ERR_IO, "%s: %s", path, strerror(errno));
        remove(tmp);
        goto done;
    }
    rc = MBZ_OK;
done:
    free(tmp);
    free(buf);
    return rc;
}

int mbzm_read_file(const char *path, unsigned char **out, size_t *out_len, mbz_error *err)
{
    *out = NULL;
    *out_len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return mbz_fail_errno(err, MBZ_ERR_IO, errno, "cannot open model %s", path);
    /* Read in chunks rather than trusting a size from fseek/ftell (pipes, /proc). */
    size_t cap = 0, len = 0;
    unsigned char *buf = NULL;
    int rc = MBZ_OK;
    for (;;) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : (size_t)1 << 20;
            if (ncap > MBZM_FILE_MAX + 1)
                ncap = MBZM_FILE_MAX + 1;
            if (ncap == cap) {
                rc = mbz_fail(err, MBZ_ERR_LIMIT, "model %s is larger than %zu bytes", path,
                              MBZM_FILE_MAX);
                break;
            }
            unsigned char *nb = realloc(buf, ncap);
            if (!nb) {
                rc = mbz_fail(err, MBZ_ERR_NOMEM, "out of memory reading model %s", path);
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f))
                rc = mbz_fail_errno(err, MBZ_ERR_IO, errno, "cannot read model %s", path);
            break;
        }
    }
    fclose(f);
    if (rc == MBZ_OK && len > MBZM_FILE_MAX)
        rc = mbz_fail(err, MBZ_ERR_LIMIT, "model %s is larger than %zu bytes", path, MBZM_FILE_MAX);
    if (rc != MBZ_OK) {
        free(buf);
        return rc;
    }
    *out = buf;
    *out_len = len;
    return MBZ_OK;
}
