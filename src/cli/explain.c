/*
 * explain.c - mbzip --explain FILE [-o OUT.html]: a self-contained HTML page that
 * shows what each byte of FILE cost the model, in bits.
 *
 * The first EXPLAIN_MAX bytes of FILE are compressed in memory at the chosen level
 * (the real frame: its size, block types and payloads are what the page reports as
 * "coded"), then the frame's model is run over the same bytes in the frame's blocks
 * through the library-internal hook mbz_explain_costs() (src/lib/mbz_explain.h),
 * which gives -log2 p of each byte in Q16 bits. Over the modelled blocks the sum of
 * those costs equals mbz_stats.ideal_bits_q16; the page checks it and says so.
 *
 * Page layout: summary (sizes, bits per byte coded and ideal, model, check), the
 * blocks table, the most surprising spans, a legend, then the bytes in a <pre
 * id="bytes" data-bytes="N">: each byte is exactly one character there (printable
 * ASCII as itself, escaped for <, > and &; newline and tab as themselves; every
 * other byte as U+00B7, a middle dot, in UTF-8), in elements shaded by cost class.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "mbz_explain.h"

#define EXPLAIN_MAX ((size_t)1 << 20) /* bytes of the file shown */
#define SPAN_LEN 32                   /* width of a "surprising span" */
#define SPAN_COUNT 12
#define N_CLASSES 10

/* Upper bounds (in Q16 bits) of the cost classes; the last class is open. */
static const uint32_t class_max_q16[N_CLASSES - 1] = {
    16384, 32768, 65536, 2 * 65536, 3 * 65536, 4 * 65536, 6 * 65536, 8 * 65536, 12 * 65536,
};
static const char *const class_label[N_CLASSES] = {
    "&lt; 0.25", "0.25-0.5", "0.5-1", "1-2", "2-3", "3-4", "4-6", "6-8", "8-12", "&ge; 12",
};
static const char *const class_color[N_CLASSES] = {
    "#ffffff", "#f4f8ff", "#e3eeff", "#fff3c4", "#ffe08a", "#ffc266",
    "#ff9f55", "#ff7a4d", "#f0504a", "#c0142a",
};

static int cost_class(uint32_t c)
{
    int k = 0;
    while (k < N_CLASSES - 1 && c >= class_max_q16[k])
        k++;
    return k;
}

static void put_byte(FILE *f, uint8_t b)
{
    switch (b) {
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '&': fputs("&amp;", f); break;
    case '\n': case '\t': fputc(b, f); break;
    default:
        if (b >= 0x20 && b < 0x7f)
            fputc(b, f);
        else
            fputs("\xc2\xb7", f); /* U+00B7 middle dot, UTF-8 */
    }
}

static void put_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* Shaded bytes data[from .. to-1]: one element <x-K> per run of cost class K (a
 * custom element name: 11 bytes of markup per run keep a 1 MiB page near 10 MB). */
static void put_shaded(FILE *f, const uint8_t *data, const uint32_t *cost, size_t from,
                       size_t to)
{
    size_t i = from;
    while (i < to) {
        int k = cost_class(cost[i]);
        size_t j = i;
        while (j < to && cost_class(cost[j]) == k)
            j++;
        fprintf(f, "<x-%d>", k);
        for (size_t p = i; p < j; p++)
            put_byte(f, data[p]);
        fprintf(f, "</x-%d>", k);
        i = j;
    }
}

static const char *type_name(int t)
{
    return t == 1 ? "stored" : t == 2 ? "run-length" : t == 3 || t == 4 ? "modelled" : t == 5 ? "audio" : t == 6 ? "image" : "?";
}

/* The frame's blocks, as the library's scan reports them (mbz_scan_blocks). */
struct frame_scan {
    const uint8_t *p;
    size_t n, pos;
    mbz_block_info *b;       /* the blocks; the end mark is kept in `end` */
    size_t nb, cap;
    mbz_block_info end;
};

static long long scan_read(void *user, void *buf, size_t n)
{
    struct frame_scan *f = user;
    size_t k = f->n - f->pos < n ? f->n - f->pos : n;
    memcpy(buf, f->p + f->pos, k);
    f->pos += k;
    return (long long)k;
}

static int scan_block(void *user, const mbz_block_info *b)
{
    struct frame_scan *f = user;
    if (b->type == 0) {
        f->end = *b;
        return 0;
    }
    if (f->nb == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 16;
        mbz_block_info *nb = realloc(f->b, cap * sizeof *nb);
        if (!nb)
            return 1;
        f->b = nb;
        f->cap = cap;
    }
    f->b[f->nb++] = *b;
    return 0;
}

static const mbz_model *model_by_fingerprint(const struct options *opt, uint64_t fp)
{
    if (opt->model && mbz_model_fingerprint(opt->model) == fp)
        return opt->model;
    return mbz_model_find(fp);
}

static void write_page(FILE *f, const char *name, const uint8_t *data, size_t n,
                       uint64_t total, const uint32_t *cost, const uint8_t *frame,
                       size_t frame_n, const mbz_stats *st, const mbz_model *model,
                       size_t block_len, const mbz_block_info *bl, long nbl)
{
    uint64_t all = 0, modelled_cost = 0;
    for (size_t i = 0; i < n; i++)
        all += cost[i];
    size_t off = 0;
    for (long b = 0; b < nbl; b++) {
        if (bl[b].type == 3 || bl[b].type == 4)
            for (size_t i = off; i < off + bl[b].content_size && i < n; i++)
                modelled_cost += cost[i];
        off += bl[b].content_size;
    }

    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>mbzip "
          "--explain ", f);
    put_text(f, name);
    fputs("</title>\n<style>\n"
          "body{font-family:sans-serif;margin:1.5em;color:#222}\n"
          "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;"
          "padding:2px 8px;text-align:right}th{background:#eee}.l{text-align:left}\n"
          "pre{font-family:monospace;font-size:13px;line-height:1.35;white-space:pre-wrap;"
          "word-break:break-all;border:1px solid #ccc;padding:8px}\n"
          ".legend span{display:inline-block;padding:2px 8px;border:1px solid #ccc;"
          "font-family:monospace}\n", f);
    for (int k = 0; k < N_CLASSES; k++)
        fprintf(f, ".c%d,x-%d{background:%s%s}\n", k, k, class_color[k],
                k >= 8 ? ";color:#fff" : "");
    fputs("</style>\n</head>\n<body>\n<h1>mbzip --explain: ", f);
    put_text(f, name);
    fputs("</h1>\n", f);

    /* summary */
    double bpb_coded = n ? 8.0 * (double)frame_n / (double)n : 0;
    double bpb_model = n ? (double)all / 65536.0 / (double)n : 0;
    fputs("<div id=\"summary\">\n<h2>Summary</h2>\n<table>\n", f);
    fprintf(f, "<tr><th>bytes shown</th><td id=\"bytes-shown\">%zu</td></tr>\n", n);
    fprintf(f, "<tr><th>file size</th><td>%" PRIu64 "%s</td></tr>\n", total,
            total > n ? " (only the first 1 MiB is explained)" : "");
    fprintf(f, "<tr><th>level</th><td>%d</td></tr>\n", st->level);
    fprintf(f, "<tr><th>model</th><td class=l>%016" PRIx64 " ", mbz_model_fingerprint(model));
    put_text(f, mbz_model_describe(model));
    fputs("</td></tr>\n", f);
    fprintf(f, "<tr><th>block size</th><td>%zu</td></tr>\n", block_len);
    fprintf(f, "<tr><th>compressed (whole frame)</th><td>%zu bytes = "
               "<b id=\"bpb\">%.4f</b> bits/byte</td></tr>\n", frame_n, bpb_coded);
    fprintf(f, "<tr><th>model ideal, all bytes</th><td>%.0f bits = %.4f bits/byte</td></tr>\n",
            (double)all / 65536.0, bpb_model);
    if (st->modelled_bytes)
        fprintf(f, "<tr><th>modelled blocks</th><td>%" PRIu64 " bytes: coded %.4f, ideal %.4f "
                   "bits/byte (coder overhead %+.3f%%)</td></tr>\n",
                st->modelled_bytes, 8.0 * (double)st->modelled_payload / (double)st->modelled_bytes,
                (double)st->ideal_bits_q16 / 65536.0 / (double)st->modelled_bytes,
                st->ideal_bits_q16
                    ? 100.0 * ((double)st->modelled_payload * 8 * 65536.0 /
                               (double)st->ideal_bits_q16 - 1)
                    : 0.0);
    fprintf(f, "<tr><th>check</th><td class=l id=\"check\">%s</td></tr>\n",
            modelled_cost == st->ideal_bits_q16
                ? "per-byte costs sum to the compressor's ideal bits (modelled blocks): ok"
                : "per-byte costs DIFFER from the compressor's ideal bits");
    fputs("</table>\n<p>Shading: cost of each byte under the model, -log<sub>2</sub> p, in "
          "bits. Stored and run-length blocks are coded without the model; their bytes are "
          "shaded with what the model would have cost.</p>\n</div>\n", f);

    /* blocks */
    fputs("<h2>Blocks</h2>\n<table id=\"blocks\">\n<tr><th>#</th><th>offset</th><th>bytes"
          "</th><th class=l>type</th><th>payload</th><th>coded bits/byte</th>"
          "<th>model bits/byte</th></tr>\n", f);
    off = 0;
    for (long b = 0; b < nbl; b++) {
        uint64_t s = 0;
        for (size_t i = off; i < off + bl[b].content_size && i < n; i++)
            s += cost[i];
        fprintf(f, "<tr><td>%ld</td><td>%zu</td><td>%u</td><td class=l>%s</td><td>%u</td>"
                   "<td>%.4f</td><td>%.4f</td></tr>\n",
                b, off, bl[b].content_size, type_name(bl[b].type), bl[b].payload_size,
                bl[b].content_size ? 8.0 * bl[b].payload_size / bl[b].content_size : 0.0,
                bl[b].content_size ? (double)s / 65536.0 / bl[b].content_size : 0.0);
        off += bl[b].content_size;
    }
    fputs("</table>\n", f);

    /* the most surprising spans: greedy, non-overlapping windows of SPAN_LEN bytes */
    fprintf(f, "<h2>Most surprising spans (%d bytes)</h2>\n<table id=\"spans\">\n"
               "<tr><th>offset</th><th>bits</th><th>bits/byte</th><th class=l>bytes</th></tr>\n",
            SPAN_LEN);
    size_t w = n < SPAN_LEN ? n : SPAN_LEN;
    size_t chosen[SPAN_COUNT];
    int nchosen = 0;
    while (w > 0 && nchosen < SPAN_COUNT) {
        uint64_t best = 0, s = 0;
        size_t besti = (size_t)-1;
        for (size_t i = 0; i < w; i++)
            s += cost[i];
        for (size_t i = 0; i + w <= n; i++) {
            if (i > 0)
                s += (uint64_t)cost[i + w - 1] - cost[i - 1];
            int overlap = 0;
            for (int c = 0; c < nchosen; c++)
                if (i < chosen[c] + w && chosen[c] < i + w)
                    overlap = 1;
            if (!overlap && (besti == (size_t)-1 || s > best)) {
                best = s;
                besti = i;
            }
        }
        if (besti == (size_t)-1)
            break;
        chosen[nchosen++] = besti;
        fprintf(f, "<tr><td><a href=\"#b%zu\">%zu</a></td><td>%.1f</td><td>%.2f</td>"
                   "<td class=l><code>", besti, besti, (double)best / 65536.0,
                (double)best / 65536.0 / (double)w);
        for (size_t p = besti; p < besti + w; p++) {
            int k = cost_class(cost[p]);
            fprintf(f, "<span class=c%d>", k);
            uint8_t c = data[p];
            if (c == '\n')
                fputs("&#8629;", f); /* return arrow */
            else if (c == '\t')
                fputs("&#8594;", f); /* rightwards arrow */
            else
                put_byte(f, c);
            fputs("</span>", f);
        }
        fputs("</code></td></tr>\n", f);
    }
    fputs("</table>\n", f);

    /* legend */
    fputs("<h2>Bytes</h2>\n<p class=\"legend\">bits per byte: ", f);
    for (int k = 0; k < N_CLASSES; k++)
        fprintf(f, "<span class=c%d>%s</span> ", k, class_label[k]);
    fputs("<br>Printable ASCII is shown as text, other bytes as &#183;. See "
          "the spans table for the costliest places.</p>\n", f);

    /* the bytes, with an anchor at each chosen span */
    fprintf(f, "<pre id=\"bytes\" data-bytes=\"%zu\">", n);
    size_t pos = 0;
    for (;;) {
        size_t next = n;
        for (int c = 0; c < nchosen; c++)
            if (chosen[c] >= pos && chosen[c] < next)
                next = chosen[c];
        put_shaded(f, data, cost, pos, next);
        if (next >= n)
            break;
        fprintf(f, "<a id=\"b%zu\"></a>", next);
        pos = next;
        /* the anchor is emitted once: shade at least one byte before looking again */
        put_shaded(f, data, cost, pos, pos + 1);
        pos++;
    }
    fputs("</pre>\n", f);
    fprintf(f, "<p>mbzip %s, generated %s.</p>\n</body>\n</html>\n", PACKAGE_VERSION,
            "by mbzip --explain");
}

void explain_file(const struct options *opt, const char *name)
{
    int fd = strcmp(name, "-") == 0 ? STDIN_FILENO : open(name, O_RDONLY);
    if (fd < 0) {
        msg_error(name, "%s", strerror(errno));
        return;
    }
    struct stat sb;
    if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        msg_error(name, "is a directory");
        close(fd);
        return;
    }
    uint8_t *data = malloc(EXPLAIN_MAX);
    if (!data) {
        msg_error(name, "out of memory");
        close(fd);
        return;
    }
    size_t n = 0;
    uint64_t total = 0;
    for (;;) {
        uint8_t extra[65536];
        ssize_t r = n < EXPLAIN_MAX ? read(fd, data + n, EXPLAIN_MAX - n)
                                    : read(fd, extra, sizeof extra);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            msg_error(name, "%s", strerror(errno));
            free(data);
            if (fd != STDIN_FILENO)
                close(fd);
            return;
        }
        if (r == 0)
            break;
        if (n < EXPLAIN_MAX)
            n += (size_t)r;
        total += (uint64_t)r;
    }
    if (fd != STDIN_FILENO)
        close(fd);

    mbz_options o;
    mbz_stats st;
    mbz_error err;
    void *frame = NULL;
    size_t frame_n = 0;
    uint32_t *cost = NULL;
    struct frame_scan fs;
    memset(&fs, 0, sizeof fs);
    FILE *out = NULL;
    cli_options(opt, &o, NULL);
    memset(&err, 0, sizeof err);
    int rc = mbz_compress_buffer(&o, data, n, &frame, &frame_n, &st, &err);
    if (rc != MBZ_OK) {
        msg_mbz(name, rc, &err);
        goto done;
    }
    const mbz_model *model = model_by_fingerprint(opt, st.fingerprint);
    fs.p = frame;
    fs.n = frame_n;
    mbz_stats scanned;
    rc = mbz_scan_blocks(scan_read, &fs, scan_block, &fs, &scanned, &err);
    if (rc != MBZ_OK || !model || scanned.frames != 1) {
        msg_error(name, "cannot explain this frame (%s)",
                  rc != MBZ_OK ? err.msg : !model ? "unknown model" : "not one frame");
        goto done;
    }
    const mbz_block_info *bl = fs.b;
    long nbl = (long)fs.nb;
    size_t block_len = (size_t)1 << fs.end.block_log;
    cost = malloc((n ? n : 1) * sizeof *cost);
    if (!cost) {
        msg_error(name, "out of memory");
        goto done;
    }
    rc = mbz_explain_costs(model, (unsigned)fs.end.flags, data, n, block_len, cost, &err);
    if (rc != MBZ_OK) {
        msg_mbz(name, rc, &err);
        goto done;
    }

    int ofd = -1;
    if (opt->output && strcmp(opt->output, "-") != 0) {
        /* a temporary file renamed into place (fileops.c), as every output */
        if ((ofd = output_open(opt, opt->output, name, NULL)) < 0)
            goto done;
        out = fdopen(dup(ofd), "w");
        if (!out) {
            msg_error(opt->output, "%s", strerror(errno));
            output_abort(ofd);
            goto done;
        }
    } else {
        out = stdout;
    }
    write_page(out, name, data, n, total, cost, frame, frame_n, &st, model, block_len, bl, nbl);
    if (out != stdout) {
        if (ferror(out) | (fclose(out) != 0)) {
            msg_error(opt->output, "write error: %s", strerror(errno));
            output_abort(ofd);
            goto done;
        }
        if (fchmod(ofd, new_file_mode()) != 0)
            msg_warn(opt->output, "cannot set permissions: %s", strerror(errno));
        if (output_finish(opt, ofd, opt->output) != 0)
            goto done;
    } else if (ferror(out)) {
        msg_error(NULL, "write error");
    }
    if (opt->verbose && opt->output)
        fprintf(stderr, "%s: %s: %zu bytes explained, %.3f bits/byte -> %s\n", PROGNAME, name,
                n, n ? 8.0 * (double)frame_n / (double)n : 0.0, opt->output);
done:
    free(fs.b);
    free(cost);
    free(frame);
    free(data);
}
