/*
 * model.c - the public mbz_model_* functions and the built-in models.
 */
#include "config.h"
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <xxhash.h>
#include "internal.h"
#include "order2.h"
#include "predictor.h"
#include "megabyte.h"

/* Model files larger than this are refused before any allocation (1 GiB holds a
 * model far beyond what the coder could run at a useful speed). */
#define MBZ_MODEL_FILE_MAX ((size_t)1 << 30)

static const mbz_model order2_model = {
    .fingerprint = MBZ_ORDER2_FINGERPRINT,
    .ops = &mbz_order2_ops,
    .impl = NULL,
    .free_impl = NULL,
    .describe = "order2 (built-in adaptive context model, orders 0-2)",
    .patch = 0,
    .score_chunk = 4096,
    .caps = MBZ_CAP_ORDER2,
};

const mbz_model *mbz_model_order2(void)
{
    return &order2_model;
}

#ifdef MBZ_HAVE_DEFAULT_MODEL
/* model/default.mbzm, embedded by src/lib/default_model.S */
extern const unsigned char mbz_default_model_data[];
extern const uint64_t mbz_default_model_size;

static pthread_once_t default_once = PTHREAD_ONCE_INIT;
static mbz_model *default_model;

static void load_default_model(void)
{
    mbz_error e;
    /* The embedded bytes went through the same validation as any file; if they
     * ever failed (a broken build), fall back to order-2 rather than crash: every
     * frame names its model, so nothing could be decoded wrongly. The test suite
     * checks that the default really is the embedded model. */
    if (mbz_model_load_memory(mbz_default_model_data, (size_t)mbz_default_model_size,
                              &default_model, &e) != MBZ_OK)
        default_model = NULL;
}
#endif

const mbz_model *mbz_model_default(void)
{
#ifdef MBZ_HAVE_DEFAULT_MODEL
    pthread_once(&default_once, load_default_model);
    if (default_model)
        return default_model;
#endif
    return mbz_model_order2();
}

uint64_t mbz_model_fingerprint(const mbz_model *m)
{
    return m ? m->fingerprint : 0;
}

const char *mbz_model_describe(const mbz_model *m)
{
    return m ? m->describe : "(no model)";
}

void mbz_model_free(mbz_model *m)
{
    /* Built-in models are static: freeing them is a no-op, so callers can free
     * whatever they got without tracking where it came from. */
    if (!m || m == &order2_model || m == mbz_model_default())
        return;
    if (m->free_impl)
        m->free_impl(m->impl);
    free(m);
}

int mbz_model_load_memory(const void *data, size_t size, mbz_model **out, mbz_error *err)
{
    mbz_error_clear(err);
    if (!out || (!data && size))
        return mbz_fail(err, MBZ_ERR_PARAM, "mbz_model_load_memory: invalid argument");
    *out = NULL;
    int rc = mbz_megabyte_create(data, size, out, err);
    if (rc == MBZ_OK && *out)
        (*out)->fingerprint = XXH64(data, size, 0); /* doc/format.md: xxh64 of the bytes */
    return rc;
}

int mbz_model_load_file(const char *path, mbz_model **out, mbz_error *err)
{
    mbz_error_clear(err);
    if (!path || !out)
        return mbz_fail(err, MBZ_ERR_PARAM, "mbz_model_load_file: invalid argument");
    *out = NULL;
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
            if (ncap > MBZ_MODEL_FILE_MAX + 1)
                ncap = MBZ_MODEL_FILE_MAX + 1;
            if (ncap == cap) {
                rc = mbz_fail(err, MBZ_ERR_LIMIT, "model %s is larger than %zu bytes", path,
                              MBZ_MODEL_FILE_MAX);
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
    if (rc == MBZ_OK && len > MBZ_MODEL_FILE_MAX)
        rc = mbz_fail(err, MBZ_ERR_LIMIT, "model %s is larger than %zu bytes", path, MBZ_MODEL_FILE_MAX);
    if (rc == MBZ_OK)
        rc = mbz_model_load_memory(buf, len, out, err);
    free(buf);
    return rc;
}
