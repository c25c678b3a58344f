/*
 * data.c - reading training data, the held-out split, batches, and the benchmark
 * overlap check (see data.h and man/mbtrain.1).
 */
#include "config.h"
#include "data.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <xxhash.h>

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) { fprintf(stderr, "mbtrain: out of memory (%zu bytes)\n", n); exit(1); }
    return q;
}

static int has_suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static int is_tar_name(const char *p)
{
    static const char *const sfx[] = {".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2",
                                      ".tbz2", ".tar.zst", ".tar.lz", ".tar.lzma", NULL};
    for (int i = 0; sfx[i]; i++) if (has_suffix(p, sfx[i])) return 1;
    return 0;
}

static int is_compressed_name(const char *p)
{
    return has_suffix(p, ".gz") || has_suffix(p, ".xz") || has_suffix(p, ".bz2") ||
           has_suffix(p, ".zst") || has_suffix(p, ".lzma");
}

/* Called with each file's name and content (content owned by the caller). */
typedef int (*file_fn)(void *user, const char *name, const uint8_t *data, size_t len);

/* Read all data of the current entry. */
static int read_entry(struct archive *a, int64_t hint, uint8_t **out, size_t *len)
{
    size_t cap = hint > 0 ? (size_t)hint : 65536, n = 0;
    uint8_t *buf = xrealloc(NULL, cap);
    for (;;) {
        if (n == cap) { cap *= 2; buf = xrealloc(buf, cap); }
        la_ssize_t r = archive_read_data(a, buf + n, cap - n);
        if (r < 0) { free(buf); return -1; }
        if (r == 0) break;
        n += (size_t)r;
    }
    *out = buf; *len = n;
    return 0;
}

/* An archive (tar, possibly compressed) or a single compressed file (raw). */
static int read_archive(const char *path, int raw, file_fn fn, void *user)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    if (raw) archive_read_support_format_raw(a);
    else { archive_read_support_format_tar(a); archive_read_support_format_gnutar(a); }
    if (archive_read_open_filename(a, path, 1 << 20) != ARCHIVE_OK) {
        fprintf(stderr, "mbtrain: %s: %s\n", path, archive_error_string(a));
        archive_read_free(a);
        return -1;
    }
    struct archive_entry *e;
    int rc = 0, r;
    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        if (!raw && archive_entry_filetype(e) != AE_IFREG) continue;
        uint8_t *buf;
        size_t len;
        if (read_entry(a, raw ? 0 : archive_entry_size(e), &buf, &len)) {
            fprintf(stderr, "mbtrain: %s: %s\n", path, archive_error_string(a));
            rc = -1;
            break;
        }
        char name[4096];
        if (raw) snprintf(name, sizeof name, "%s", path);
        else snprintf(name, sizeof name, "%s:%s", path, archive_entry_pathname(e));
        rc = fn(user, name, buf, len);
        free(buf);
        if (rc) break;
    }
    if (!rc && r != ARCHIVE_EOF && r != ARCHIVE_OK) {
        fprintf(stderr, "mbtrain: %s: %s\n", path, archive_error_string(a));
        rc = -1;
    }
    archive_read_free(a);
    return rc;
}

static int read_plain(const char *path, file_fn fn, void *user)
{
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "mbtrain: %s: %s\n", path, strerror(errno)); return -1; }
    size_t cap = 65536, n = 0;
    uint8_t *buf = xrealloc(NULL, cap);
    for (;;) {
        if (n == cap) { cap *= 2; buf = xrealloc(buf, cap); }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) { fprintf(stderr, "mbtrain: %s: read error\n", path); free(buf); return -1; }
    int rc = fn(user, path, buf, n);
    free(buf);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A path: directory (recursive, sorted so the order is reproducible), tar archive,
 * compressed single file or plain file. */
static int read_path(const char *path, file_fn fn, void *user)
{
    struct stat st;
    if (stat(path, &st)) { fprintf(stderr, "mbtrain: %s: %s\n", path, strerror(errno)); return -1; }
    if (S_ISDIR(st.st_mode)) {
        DIR *dir = opendir(path);
        if (!dir) { fprintf(stderr, "mbtrain: %s: %s\n", path, strerror(errno)); return -1; }
        char **names = NULL;
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(dir))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
            names = xrealloc(names, (n + 1) * sizeof *names);
            size_t l = strlen(path) + strlen(de->d_name) + 2;
            names[n] = xrealloc(NULL, l);
            snprintf(names[n], l, "%s/%s", path, de->d_name);
            n++;
        }
        closedir(dir);
        qsort(names, n, sizeof *names, cmp_str);
        int rc = 0;
        for (size_t i = 0; i < n; i++) {
            struct stat s2;
            /* skip what is neither a file nor a directory (sockets, broken links) */
            if (!rc && stat(names[i], &s2) == 0 && (S_ISDIR(s2.st_mode) || S_ISREG(s2.st_mode)))
                rc = read_path(names[i], fn, user);
            free(names[i]);
        }
        free(names);
        return rc;
    }
    if (!S_ISREG(st.st_mode)) return 0;
    if (is_tar_name(path)) return read_archive(path, 0, fn, user);
    if (is_compressed_name(path)) return read_archive(path, 1, fn, user);
    return read_plain(path, fn, user);
}

/* ------------------------------------------------------------------ benchmark check */

/* Soundness: a training file that contains a benchmark file of >= 8 KiB contains at
 * least one whole aligned 4 KiB chunk of it, at some offset. We hash every aligned
 * chunk of every benchmark file (window W = 4096; files shorter than that count as one
 * chunk of their own length) and slide a polynomial rolling hash of width W over every
 * offset of every training file; a hit is confirmed with memcmp, so there are no false
 * alarms, and equal bytes always give equal hashes, so there are no misses. Files
 * between 4 and 8 KiB are covered by their first chunk; identical files by the same
 * test (and a whole-file hash). Cost: one multiply-add and a table probe per byte.
 * Chunks with fewer than EX_MIN_DISTINCT distinct byte values (runs of zeros in an
 * image) are not used: they say nothing about copying and match any file with a long
 * run; a benchmark file is still recognised by its other chunks. */
#define EX_W 4096
#define EX_MIN 64      /* benchmark files shorter than this are not checked */
#define EX_MIN_DISTINCT 8
#define EX_BASE 0x100000001B3ull

typedef struct {
    uint64_t h;
    uint32_t file;
    uint32_t len;
    size_t off;
} ex_chunk;

struct mt_excl {
    char **names;
    uint8_t **data;
    size_t *lens;
    uint64_t *whole;    /* xxh64 of each file */
    size_t n_files;
    ex_chunk *tab;      /* open addressing, h == 0 && len == 0 marks empty */
    size_t tab_mask;
    size_t n_chunks;
    uint32_t lens_used[64]; /* distinct window lengths (4096 and short files) */
    int n_lens;
};

static uint64_t powmod(uint64_t b, size_t e)
{
    uint64_t r = 1;
    while (e) { if (e & 1) r *= b; b *= b; e >>= 1; }
    return r;
}

static uint64_t poly_hash(const uint8_t *p, size_t n)
{
    uint64_t h = 0;
    for (size_t i = 0; i < n; i++) h = h * EX_BASE + p[i] + 1;
    return h;
}

static size_t tab_slot(uint64_t h, size_t mask) { return (size_t)((h * 0x9E3779B97F4A7C15ull) >> 20) & mask; }

static int ex_collect(void *user, const char *name, const uint8_t *data, size_t len)
{
    mt_excl *e = user;
    e->names = xrealloc(e->names, (e->n_files + 1) * sizeof *e->names);
    e->data = xrealloc(e->data, (e->n_files + 1) * sizeof *e->data);
    e->lens = xrealloc(e->lens, (e->n_files + 1) * sizeof *e->lens);
    e->names[e->n_files] = strdup(name);
    e->data[e->n_files] = xrealloc(NULL, len);
    memcpy(e->data[e->n_files], data, len);
    e->lens[e->n_files] = len;
    e->n_files++;
    return 0;
}

mt_excl *mt_excl_build(char *const *dirs, int n, int verbose)
{
    mt_excl *e = xrealloc(NULL, sizeof *e);
    memset(e, 0, sizeof *e);
    for (int i = 0; i < n; i++) {
        struct stat st;
        if (stat(dirs[i], &st)) {
            if (verbose) fprintf(stderr, "mbtrain: note: benchmark dir %s not found, skipped\n", dirs[i]);
            continue;
        }
        if (read_path(dirs[i], ex_collect, e)) {
            fprintf(stderr, "mbtrain: cannot read benchmark files under %s\n", dirs[i]);
            exit(1);
        }
    }
    size_t total = 0;
    e->whole = xrealloc(NULL, (e->n_files + 1) * sizeof *e->whole);
    for (size_t f = 0; f < e->n_files; f++) {
        e->whole[f] = XXH64(e->data[f], e->lens[f], 0);
        if (e->lens[f] >= EX_MIN) total += e->lens[f] >= EX_W ? e->lens[f] / EX_W : 1;
    }
    size_t cap = 1024;
    while (cap < 2 * total) cap *= 2;
    e->tab = xrealloc(NULL, cap * sizeof *e->tab);
    memset(e->tab, 0, cap * sizeof *e->tab);
    e->tab_mask = cap - 1;
    e->lens_used[e->n_lens++] = EX_W;
    for (size_t f = 0; f < e->n_files; f++) {
        size_t len = e->lens[f];
        if (len < EX_MIN) continue;
        size_t w = len >= EX_W ? EX_W : len;
        if (w != EX_W) {
            int seen = 0;
            for (int k = 0; k < e->n_lens; k++) seen |= e->lens_used[k] == w;
            if (!seen && e->n_lens < 64) e->lens_used[e->n_lens++] = (uint32_t)w;
        }
        for (size_t off = 0; off + w <= len; off += w) {
            uint8_t seen[256] = {0};
            int distinct = 0;
            for (size_t i = 0; i < w; i++)
                if (!seen[e->data[f][off + i]]) { seen[e->data[f][off + i]] = 1; distinct++; }
            if (distinct < EX_MIN_DISTINCT) continue;
            uint64_t h = poly_hash(e->data[f] + off, w);
            size_t s = tab_slot(h, e->tab_mask);
            while (e->tab[s].len) s = (s + 1) & e->tab_mask;
            e->tab[s] = (ex_chunk){h, (uint32_t)f, (uint32_t)w, off};
            e->n_chunks++;
        }
    }
    return e;
}

size_t mt_excl_count(const mt_excl *e) { return e ? e->n_files : 0; }

void mt_excl_free(mt_excl *e)
{
    if (!e) return;
    for (size_t f = 0; f < e->n_files; f++) { free(e->names[f]); free(e->data[f]); }
    free(e->names); free(e->data); free(e->lens); free(e->whole); free(e->tab);
    free(e);
}

static int probe(const mt_excl *e, uint64_t h, size_t w, const uint8_t *p, size_t *file, size_t *off)
{
    size_t s = tab_slot(h, e->tab_mask);
    while (e->tab[s].len) {
        const ex_chunk *c = &e->tab[s];
        if (c->h == h && c->len == w && memcmp(e->data[c->file] + c->off, p, w) == 0) {
            *file = c->file; *off = c->off;
            return 1;
        }
        s = (s + 1) & e->tab_mask;
    }
    return 0;
}

int mt_excl_check(const mt_excl *e, const uint8_t *data, size_t len, char *why, size_t whylen)
{
    if (!e || !e->n_files) return 0;
    uint64_t wh = XXH64(data, len, 0);
    for (size_t f = 0; f < e->n_files; f++)
        if (e->whole[f] == wh && e->lens[f] == len && memcmp(e->data[f], data, len) == 0) {
            snprintf(why, whylen, "identical to benchmark file %s", e->names[f]);
            return 1;
        }
    for (int k = 0; k < e->n_lens; k++) {
        size_t w = e->lens_used[k];
        if (len < w) continue;
        uint64_t top = powmod(EX_BASE, w - 1);
        uint64_t h = poly_hash(data, w);
        for (size_t i = 0;; i++) {
            size_t file, off;
            if (probe(e, h, w, data + i, &file, &off)) {
                snprintf(why, whylen, "bytes %zu..%zu equal bytes %zu..%zu of benchmark file %s",
                         i, i + w, off, off + w, e->names[file]);
                return 1;
            }
            if (i + w >= len) break;
            h = (h - (uint64_t)(data[i] + 1) * top) * EX_BASE + data[i + w] + 1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ loading */

static void stream_append(mt_stream *s, const uint8_t *p, size_t n)
{
    if (s->len + n > s->cap) {
        size_t c = s->cap ? s->cap : 1 << 20;
        while (c < s->len + n) c *= 2;
        s->buf = xrealloc(s->buf, c);
        s->cap = c;
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
}

static void stream_start(mt_stream *s, size_t off)
{
    if (s->n_starts == s->cap_starts) {
        s->cap_starts = s->cap_starts ? 2 * s->cap_starts : 1024;
        s->starts = xrealloc(s->starts, s->cap_starts * sizeof *s->starts);
    }
    s->starts[s->n_starts++] = off;
}

typedef struct {
    mt_data *d;
    const mt_excl *ex;
    int drop;
    int bad, dropped;
    size_t files;
} load_ctx;

static int load_file(void *user, const char *name, const uint8_t *data, size_t len)
{
    load_ctx *c = user;
    char why[4600];
    if (!len) return 0;
    if (mt_excl_check(c->ex, data, len, why, sizeof why)) {
        if (c->drop) {
            fprintf(stderr, "mbtrain: dropping training file %s: %s\n", name, why);
            c->dropped++;
            return 0;
        }
        fprintf(stderr, "mbtrain: refusing training file %s: %s\n", name, why);
        c->bad++;
        return 0; /* keep going: report every offending file, then fail */
    }
    stream_start(&c->d->train, c->d->train.len);
    stream_append(&c->d->train, data, len);
    c->files++;
    return 0;
}

int mt_data_load(mt_data *d, char *const *paths, int n, double holdout_frac, const mt_excl *ex,
                 int drop, int verbose)
{
    memset(d, 0, sizeof *d);
    load_ctx c = {d, ex, drop, 0, 0, 0};
    for (int i = 0; i < n; i++) {
        size_t cat_begin = d->train.len, starts_begin = d->train.n_starts;
        if (read_path(paths[i], load_file, &c)) { mt_data_free(d); return -1; }
        /* hold out the last holdout_frac of this category's bytes */
        size_t cat_len = d->train.len - cat_begin;
        size_t hold = (size_t)((double)cat_len * holdout_frac + 0.5);
        if (hold == 0 || hold >= cat_len) {
            if (verbose) fprintf(stderr, "mbtrain: %s: %zu bytes (nothing held out)\n", paths[i], cat_len);
            continue;
        }
        size_t cut = d->train.len - hold;
        size_t held_base = d->held.len;
        stream_start(&d->held, held_base);
        stream_append(&d->held, d->train.buf + cut, hold);
        size_t k = starts_begin;
        while (k < d->train.n_starts && d->train.starts[k] < cut) k++;
        for (size_t j = k; j < d->train.n_starts; j++)
            if (d->train.starts[j] > cut) stream_start(&d->held, held_base + d->train.starts[j] - cut);
        d->train.n_starts = k;
        d->train.len = cut;
        if (verbose)
            fprintf(stderr, "mbtrain: %s: %zu bytes, %zu held out\n", paths[i], cat_len, hold);
    }
    d->n_files = c.files;
    d->n_dropped = (size_t)c.dropped;
    if (c.bad) {
        fprintf(stderr, "mbtrain: %d training file%s overlap%s the benchmark corpora: refusing to train\n",
                c.bad, c.bad == 1 ? "" : "s", c.bad == 1 ? "s" : "");
        mt_data_free(d);
        return -1;
    }
    return 0;
}

void mt_data_free(mt_data *d)
{
    free(d->train.buf); free(d->train.starts);
    free(d->held.buf); free(d->held.starts);
    memset(d, 0, sizeof *d);
}

void mt_data_batch(const mt_data *d, mt_rng *r, uint8_t *x, int B, int T)
{
    const mt_stream *s = &d->train;
    size_t span = s->len - (size_t)T + 1;
    for (int b = 0; b < B; b++) {
        size_t off;
        uint64_t u = mt_rng_next(r);
        if ((u & 3) == 0 && s->n_starts) {
            off = s->starts[(u >> 2) % s->n_starts];
            if (off >= span) off = (mt_rng_next(r) % span);
        } else {
            off = mt_rng_next(r) % span;
        }
        memcpy(x + (size_t)b * T, s->buf + off, (size_t)T);
    }
}

void mt_data_eval_window(const mt_data *d, uint8_t *x, int i, int n, int T)
{
    const mt_stream *s = &d->held;
    size_t span = s->len >= (size_t)T ? s->len - (size_t)T : 0;
    size_t off = n > 1 ? (size_t)((double)span * i / (n - 1)) : 0;
    if (s->len >= (size_t)T) memcpy(x, s->buf + off, (size_t)T);
    else {
        /* tiny held-out set: repeat it (only for toy runs) */
        for (int t = 0; t < T; t++) x[t] = s->len ? s->buf[(off + (size_t)t) % s->len] : 0;
    }
}
