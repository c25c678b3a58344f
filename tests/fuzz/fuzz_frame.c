/*
 * fuzz_frame.c - the decoder on arbitrary bytes.
 *
 * Models offered: the built-ins (order-2, the default) and a tiny MEGABYTE model
 * (mkmodel --tiny --seed 1, fingerprint c95123275679f9cf) through opts.models.
 *
 * Each input is decoded twice: as it is, and with every frame/block header check
 * recomputed (so that mutations of sizes, types, levels, block_log and fingerprints
 * reach the semantic checks behind the 32-bit header checks). Properties:
 *   - no crash, no sanitizer report, no hang (libFuzzer -timeout);
 *   - every failure has a valid status (never MBZ_ERR_INTERNAL) and a one-line message;
 *   - success means: output size = stats.content_size, mbz_scan_stream also succeeds
 *     and agrees on the size, and (for at most 8 KiB of modelled content) a second decode with 1..8-byte reads and 2 threads
 *     also succeeds with the same output (hash);
 *   - a failure with the first decoder is a failure with the second one too;
 *   - random access (mbz_seekable_*) opens exactly what scan accepts (except
 *     that a frame mapped from its seek index is not walked at opening), and
 *     reading a decodable stream in 4099-byte pieces gives the decoded bytes
 *     (unless its index lies with good checks: the decode counts it damaged).
 * Frames that declare modelled blocks far larger than their payload could justify
 * (content > 4096 + 2048 * payload), or more than 32 KiB of modelled content in all
 * (16 KiB for MEGABYTE models), are only scanned, not decoded: such a block costs
 * one model step per declared byte before the decoder notices (see doc/reliability.md,
 * "Known limits"), which is slow, not wrong, and would drown the fuzzer in timeouts.
 */
#include "fuzz_common.h"

static mbz_model *tiny;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    tiny = fz_tiny_model(1, NULL, NULL);
    return 0;
}

typedef struct {
    int rc;
    mbz_error err;
    mbz_stats st;
    uint64_t total, hash;
} fz_result;

static void decode(const uint8_t *d, size_t n, int threads, size_t max_read, fz_result *res)
{
    mbz_options o;
    mbz_options_init(&o);
    o.threads = threads;
    const mbz_model *models[1] = { tiny };
    o.models = models;
    o.n_models = 1;
    fz_reader r = { d, n, 0, max_read };
    fz_writer w;
    memset(&w, 0, sizeof w);
    w.limit = (uint64_t)1 << 30;
    w.h = XXH64_createState();
    XXH64_reset(w.h, 0);
    res->rc = mbz_decompress_stream(&o, fz_read, &r, fz_write, &w, &res->st, &res->err);
    fuzz_check_error(res->rc, &res->err, "decompress");
    res->total = w.total;
    res->hash = XXH64_digest(w.h);
    XXH64_freeState(w.h);
    free(w.p);
}

/* Random access (mbz_seekable_*): it opens exactly the streams that scan accepts;
 * when the stream decodes, reading it all in odd-sized pieces gives the same bytes;
 * every failure has a valid status and a one-line message. */
typedef struct {
    const uint8_t *p;
    size_t n;
} fz_at;

static long long fz_pread(void *user, void *buf, size_t n, uint64_t off)
{
    fz_at *a = user;
    if (off >= a->n)
        return 0;
    size_t k = a->n - (size_t)off < n ? a->n - (size_t)off : n;
    memcpy(buf, a->p + off, k);
    return (long long)k;
}

static void seekable_check(const uint8_t *d, size_t n, int scan_rc, const fz_result *a)
{
    mbz_options o;
    mbz_options_init(&o);
    const mbz_model *models[1] = { tiny };
    o.models = models;
    o.n_models = 1;
    fz_at at = { d, n };
    mbz_seekable *s;
    mbz_error e;
    int rc = mbz_seekable_open(&o, fz_pread, &at, n, &s, &e);
    fuzz_check_error(rc, &e, "seekable open");
    mbz_seekable_info info = { 0 };
    if (rc == MBZ_OK)
        mbz_seekable_get_info(s, &info);
    /* a frame mapped from its seek index is not walked at opening: a damaged block
     * header or end mark in it is found by a read (or, for an end mark, never: its
     * blocks are still checked one by one), so open may accept what scan refuses */
    if ((rc == MBZ_OK) != (scan_rc == MBZ_OK) && !(rc == MBZ_OK && info.frames_indexed > 0))
        fuzz_fail("scan: %d, seekable open: %d (%s)", scan_rc, rc, e.msg);
    if (rc != MBZ_OK)
        return;
    if (!a) {
        mbz_seekable_close(s);
        return;
    }
    uint64_t size = mbz_seekable_content_size(s);
    if (a->rc == MBZ_OK && a->st.indexes_damaged == 0 && size != a->total)
        fuzz_fail("seekable size %llu, decoded %llu", (unsigned long long)size,
                  (unsigned long long)a->total);
    XXH64_state_t *h = XXH64_createState();
    XXH64_reset(h, 0);
    static uint8_t buf[4099];
    uint64_t off = 0;
    while (off < size) {
        size_t got;
        rc = mbz_seekable_read(s, off, buf, sizeof buf, &got, &e);
        if (rc != MBZ_OK) {
            fuzz_check_error(rc, &e, "seekable read");
            /* an index that lies, with good checks: the stream decode counts it
             * damaged, random access fails at the block it lies about */
            if (a->rc == MBZ_OK && a->st.indexes_damaged == 0)
                fuzz_fail("decodes, but the seekable read at %llu fails: %s",
                          (unsigned long long)off, e.msg);
            break;
        }
        if (got == 0)
            fuzz_fail("seekable read returned nothing at %llu of %llu",
                      (unsigned long long)off, (unsigned long long)size);
        XXH64_update(h, buf, got);
        off += got;
    }
    if (rc == MBZ_OK && a->rc == MBZ_OK && XXH64_digest(h) != a->hash)
        fuzz_fail("seekable reads differ from the decoded stream");
    /* never wrong bytes: when the stream does not decode, random access may still
     * read every block (a damaged end mark of an indexed frame), each checked by
     * its own checksum, but never more than the stream holds */
    XXH64_freeState(h);
    mbz_seekable_close(s);
}

static void one(const uint8_t *d, size_t n)
{
    fz_walk wk;
    fz_walk_frames((uint8_t *)d, n, 0, &wk); /* fix = 0: read only */

    /* scan (-l): headers only, always cheap */
    fz_reader sr = { d, n, 0, 0 };
    mbz_stats sst;
    mbz_error serr;
    int src = mbz_scan_stream(fz_read, &sr, &sst, &serr);
    fuzz_check_error(src, &serr, "scan");

    if (wk.worst_ratio || wk.modelled_order2 > 32768 || wk.modelled_other > 16384) {
        seekable_check(d, n, src, NULL);
        return;
    }

    fz_result a;
    decode(d, n, 1, 0, &a);
    seekable_check(d, n, src, &a);
    if (a.rc == MBZ_OK) {
        if (a.total != a.st.content_size)
            fuzz_fail("decoded %llu bytes but stats say %llu", (unsigned long long)a.total,
                      (unsigned long long)a.st.content_size);
        if (src != MBZ_OK)
            fuzz_fail("decode succeeded but scan failed: %s", serr.msg);
        if (sst.content_size != a.st.content_size)
            fuzz_fail("scan says %llu bytes, decode %llu", (unsigned long long)sst.content_size,
                      (unsigned long long)a.st.content_size);
    }
    if (wk.modelled_order2 + 4 * wk.modelled_other <= 8192) {
        fz_result b;
        decode(d, n, 2, 1 + (n ? d[n / 2] % 8 : 0), &b);
        if ((a.rc == MBZ_OK) != (b.rc == MBZ_OK))
            fuzz_fail("T1 whole reads: %d (%s); T2 short reads: %d (%s)", a.rc, a.err.msg, b.rc, b.err.msg);
        if (a.rc == MBZ_OK && (a.total != b.total || a.hash != b.hash))
            fuzz_fail("T1 and T2 decode to different output");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one(data, size);
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    fz_walk wk;
    fz_walk_frames(copy, size, 1, &wk);
    if (size && memcmp(copy, data, size) != 0)
        one(copy, size);
    free(copy);
    return 0;
}
