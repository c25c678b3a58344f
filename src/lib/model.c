/*
 * model.c - the public mbz_model_* functions and the built-in models.
 */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include "internal.h"
#include "order2.h"
#include "predictor.h"
#include "megabyte.h"
#include "modelfile.h"

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

/* The trained models embedded by src/lib/builtin_models.S, loaded on first use. The
 * embedded bytes go through the same validation as any file; if they ever failed (a
 * broken build), the model falls back (fast -> default -> order-2) rather than
 * crash: every frame names its model, so nothing could be decoded wrongly. The
 * test suite checks that the built-in models really are the embedded ones. (The
 * fast model is embedded only with the default one: configure.ac.)
 *
 * A model's fingerprint is the xxh64 of its file's bytes (doc/model-format.md), so
 * mbz_model_find hashes the embedded bytes (under a millisecond) instead of loading
 * a model to learn its fingerprint: loading validates, hashes and repacks every
 * weight (tens of milliseconds and 4 MB for the default model), which a process
 * decoding a frame of another model would pay for nothing. */
#ifdef MBZ_HAVE_DEFAULT_MODEL
typedef struct {
    pthread_once_t once, fp_once;
    const unsigned char *data;
    const uint64_t *size;
    mbz_model *m;
    uint64_t fp;            /* xxh64 of data, once fp_once has run */
} builtin_model;

static void load_builtin(builtin_model *b)
{
    mbz_error e;
    if (mbz_model_load_memory(b->data, (size_t)*b->size, &b->m, &e) != MBZ_OK)
        b->m = NULL;
}

static void hash_builtin(builtin_model *b)
{
    b->fp = XXH64(b->data, (size_t)*b->size, 0);
}

extern const unsigned char mbz_default_model_data[];
extern const uint64_t mbz_default_model_size;
static builtin_model default_builtin = { PTHREAD_ONCE_INIT, PTHREAD_ONCE_INIT,
                                         mbz_default_model_data, &mbz_default_model_size,
                                         NULL, 0 };
static void load_default_model(void) { load_builtin(&default_builtin); }
static void hash_default_model(void) { hash_builtin(&default_builtin); }

#ifdef MBZ_HAVE_FAST_MODEL
extern const unsigned char mbz_fast_model_data[];
extern const uint64_t mbz_fast_model_size;
static builtin_model fast_builtin = { PTHREAD_ONCE_INIT, PTHREAD_ONCE_INIT,
                                      mbz_fast_model_data, &mbz_fast_model_size, NULL, 0 };
static void load_fast_model(void) { load_builtin(&fast_builtin); }
static void hash_fast_model(void) { hash_builtin(&fast_builtin); }
#endif

/* The built-in model b (loaded once, by load), or `otherwise` when the build has
 * none or it failed to load. */
static inline const mbz_model *builtin_or(builtin_model *b, void (*load)(void),
                                          const mbz_model *otherwise)
{
    pthread_once(&b->once, load);
    return b->m ? b->m : otherwise;
}

/* The built-in model b if its fingerprint is fp and it loads, else NULL (without
 * loading it when the fingerprint differs). */
static const mbz_model *builtin_by_fingerprint(builtin_model *b, void (*hash)(void),
                                               void (*load)(void), uint64_t fp)
{
    pthread_once(&b->fp_once, hash);
    if (b->fp != fp)
        return NULL;
    pthread_once(&b->once, load);
    return b->m;
}
#endif /* MBZ_HAVE_DEFAULT_MODEL */

const mbz_model *mbz_model_default(void)
{
#ifdef MBZ_HAVE_DEFAULT_MODEL
    return builtin_or(&default_builtin, load_default_model, mbz_model_order2());
#else
    return mbz_model_order2();
#endif
}

const mbz_model *mbz_model_fast(void)
{
#ifdef MBZ_HAVE_FAST_MODEL
    return builtin_or(&fast_builtin, load_fast_model, mbz_model_default());
#else
    return mbz_model_default();
#endif
}

/* Whether m is one of the library's own models (never freed). */
static int is_builtin(const mbz_model *m)
{
    return m == &order2_model || m == mbz_model_default() || m == mbz_model_fast();
}

uint64_t mbz_model_fingerprint(const mbz_model *m)
{
    return m ? m->fingerprint : 0;
}

const char *mbz_model_describe(const mbz_model *m)
{
    return m ? m->describe : "(no model)";
}

/* ------------------------------------------------------------------ models by fingerprint
 *
 * A frame names its model by fingerprint. Besides the built-in models, a model file
 * named <16 hex digits of its fingerprint>.mbzm in a directory of the model path
 * (MBZIP_MODEL_PATH, then MBZ_MODELDIR, where `make install` puts every earlier
 * default model) is found when a frame asks for it, so that changing the default
 * model never orphans a file (doc/format.md, "Models"). Models found this way are
 * loaded once per process and kept, like the built-in ones. */

#ifndef MBZ_MODELDIR
#define MBZ_MODELDIR ""
#endif

typedef struct found_model {
    struct found_model *next;
    mbz_model *m;
} found_model;

static pthread_mutex_t found_mu = PTHREAD_MUTEX_INITIALIZER;
static found_model *found_list;

static int is_found(const mbz_model *m)
{
    int yes = 0;
    pthread_mutex_lock(&found_mu);
    for (found_model *f = found_list; f && !yes; f = f->next)
        yes = f->m == m;
    pthread_mutex_unlock(&found_mu);
    return yes;
}

const char *mbz_model_dir(void)
{
    return MBZ_MODELDIR;
}

/* Call fn(user, dir) for each directory of the model path, in order, until fn
 * returns non-zero (which is returned). */
static int each_dir(int (*fn)(void *user, const char *dir), void *user)
{
    const char *env = getenv("MBZIP_MODEL_PATH");
    char dir[4096];
    for (const char *p = env ? env : ""; *p;) {
        size_t n = strcspn(p, ":");
        if (n > 0 && n < sizeof dir) {
            memcpy(dir, p, n);
            dir[n] = 0;
            int rc = fn(user, dir);
            if (rc)
                return rc;
        }
        p += n + (p[n] == ':');
    }
    return MBZ_MODELDIR[0] ? fn(user, MBZ_MODELDIR) : 0;
}

typedef struct {
    uint64_t fp;
    const mbz_model *got;
} find_ctx;

/* Called with found_mu held. */
static int find_in_dir(void *user, const char *dir)
{
    find_ctx *c = user;
    char path[4200];
    snprintf(path, sizeof path, "%s/%016" PRIx64 ".mbzm", dir, c->fp);
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    fclose(f);
    mbz_model *m = NULL;
    mbz_error e;
    found_model *node = malloc(sizeof *node);
    /* a file whose bytes are not the model its name says is passed over */
    if (node && mbz_model_load_file(path, &m, &e) == MBZ_OK && m->fingerprint == c->fp) {
        node->m = m;
        node->next = found_list;
        found_list = node;
        c->got = m;
        return 1;
    }
    free(node);
    if (m) {
        if (m->free_impl)
            m->free_impl(m->impl);
        free(m);
    }
    return 0;
}

const mbz_model *mbz_model_find(uint64_t fingerprint)
{
#ifdef MBZ_HAVE_DEFAULT_MODEL
    const mbz_model *b = builtin_by_fingerprint(&default_builtin, hash_default_model,
                                                load_default_model, fingerprint);
#ifdef MBZ_HAVE_FAST_MODEL
    if (!b)
        b = builtin_by_fingerprint(&fast_builtin, hash_fast_model, load_fast_model, fingerprint);
#endif
    if (b)
        return b;
#endif
    if (order2_model.fingerprint == fingerprint)
        return &order2_model;
    find_ctx c = { fingerprint, NULL };
    pthread_mutex_lock(&found_mu);
    for (found_model *f = found_list; f && !c.got; f = f->next)
        if (f->m->fingerprint == fingerprint)
            c.got = f->m;
    if (!c.got)
        each_dir(find_in_dir, &c);
    pthread_mutex_unlock(&found_mu);
    return c.got;
}

/* Whether the XXH64 of the file's bytes is fp. */
static int file_hash_is(const char *path, uint64_t fp)
{
    FILE *f = fopen(path, "rb");
    XXH64_state_t *xs = XXH64_createState();
    int yes = 0;
    if (f && xs) {
        unsigned char buf[65536];
        size_t n;
        XXH64_reset(xs, 0);
        while ((n = fread(buf, 1, sizeof buf, f)) > 0)
            XXH64_update(xs, buf, n);
        yes = !ferror(f) && XXH64_digest(xs) == fp;
    }
    if (f)
        fclose(f);
    if (xs)
        XXH64_freeState(xs);
    return yes;
}

typedef struct {
    mbz_model_list_fn fn;
    void *user;
} list_ctx;

static int list_dir(void *user, const char *dir)
{
    list_ctx *c = user;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *n = de->d_name;
        if (strlen(n) != 21 || strcmp(n + 16, ".mbzm") != 0 || strspn(n, "0123456789abcdef") != 16)
            continue;
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, n);
        uint64_t fp = strtoull(n, NULL, 16);
        /* this file's bytes must be the model its name says; the model itself may
         * be loaded from an earlier directory (same fingerprint, same bytes) */
        c->fn(c->user, path, fp, file_hash_is(path, fp) ? mbz_model_find(fp) : NULL);
    }
    closedir(d);
    return 0;
}

void mbz_model_list(mbz_model_list_fn fn, void *user)
{
    const mbz_model *d = mbz_model_default(), *f = mbz_model_fast();
    fn(user, NULL, d->fingerprint, d);
    if (f != d)
        fn(user, NULL, f->fingerprint, f);
    if (d != &order2_model)
        fn(user, NULL, order2_model.fingerprint, &order2_model);
    list_ctx c = { fn, user };
    each_dir(list_dir, &c);
}

void mbz_model_free(mbz_model *m)
{
    /* Built-in models and models found by fingerprint belong to the library: freeing
     * them is a no-op, so callers can free whatever they got without tracking where
     * it came from. */
    if (!m || is_builtin(m) || is_found(m))
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
    unsigned char *buf = NULL;
    size_t len = 0;
    int rc = mbzm_read_file(path, &buf, &len, err);
    if (rc == MBZ_OK)
        rc = mbz_model_load_memory(buf, len, out, err);
    free(buf);
    return rc;
}

const mbz_model *mbz_model_lookup(const mbz_model *const *models, size_t n, uint64_t fingerprint)
{
    for (size_t i = 0; i < n; i++)
        if (models[i] && models[i]->fingerprint == fingerprint)
            return models[i];
    return mbz_model_find(fingerprint);
}
