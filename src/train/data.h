/*
 * data.h - training data for mbtrain: files, directories and archives read into
 * memory with libarchive, a held-out split, batches of random windows, and the
 * refusal of anything that overlaps the benchmark corpora.
 */
#ifndef MBTRAIN_DATA_H
#define MBTRAIN_DATA_H

#include <stddef.h>
#include <stdint.h>
#include "model.h"

/* A stream: files concatenated in input order, with the offset where each begins. */
typedef struct {
    uint8_t *buf;
    size_t len, cap;
    size_t *starts;
    size_t n_starts, cap_starts;
} mt_stream;

typedef struct {
    mt_stream train, held;
    size_t n_files;
    size_t n_dropped;   /* files left out by --drop-overlap */
} mt_data;

/* The benchmark corpora to refuse (built from --exclude-dir directories). */
typedef struct mt_excl mt_excl;

/* Read every regular file under each dir (recursively; .xz/.gz/.bz2 files are
 * decompressed). Missing dirs are skipped. Never NULL on success; exits on OOM. */
mt_excl *mt_excl_build(char *const *dirs, int n, int verbose);
void mt_excl_free(mt_excl *e);
size_t mt_excl_count(const mt_excl *e);
/* 1 if data is byte-identical to a benchmark file or contains one of its aligned
 * 4 KiB chunks (whole file for those shorter than 4 KiB); why says which. */
int mt_excl_check(const mt_excl *e, const uint8_t *data, size_t len, char *why, size_t whylen);

/* Load DATA arguments. Each argument is a category: its last holdout_frac of bytes
 * (in input order) go to the held-out stream. Files overlapping the benchmarks are
 * all reported; then the load fails (returns -1), unless drop is set: then they are
 * left out, each with a message. */
int mt_data_load(mt_data *d, char *const *paths, int n, double holdout_frac, const mt_excl *ex,
                 int drop, int verbose);
void mt_data_free(mt_data *d);

/* Fill x (B, T) with B windows of T bytes from the training stream: a quarter of them
 * start at a file start (the model must learn beginnings: a block starts with no
 * history), the rest anywhere. Needs train.len >= T. */
void mt_data_batch(const mt_data *d, mt_rng *r, uint8_t *x, int B, int T);
/* Window i of n evenly spaced over the held-out stream (T bytes). */
void mt_data_eval_window(const mt_data *d, uint8_t *x, int i, int n, int T);

#endif
