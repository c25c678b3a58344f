/*
 * list.c - mbzip -l: a table of compressed files, read from their seek indexes
 * when every frame has one (mbz_seekable_*), else from their headers
 * (mbz_scan_stream), like gzip -l and xz -l.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int header_done;
static int files_listed;
static uint64_t tot_comp, tot_uncomp, tot_blocks, tot_frames, tot_stored;

static void print_header(int verbose)
{
    if (verbose)
        printf("%12s %14s %7s %9s %7s %7s %7s %5s  %-16s  %s\n", "compressed", "uncompressed",
               "ratio", "bits/byte", "blocks", "stored", "frames", "level", "model", "name");
    else
        printf("%12s %14s %7s %9s %7s  %-16s  %s\n", "compressed", "uncompressed", "ratio",
               "bits/byte", "blocks", "model", "name");
    header_done = 1;
}

static void print_row(int verbose, uint64_t comp, uint64_t uncomp, uint64_t blocks, uint64_t stored,
                      uint64_t frames, int level, const char *model, const char *name)
{
    char ratio[32], bpb[32], lvl[16];
    if (uncomp) {
        snprintf(ratio, sizeof ratio, "%.1f%%", pct_saved(uncomp, comp));
        snprintf(bpb, sizeof bpb, "%.3f", bits_per_byte(uncomp, comp));
    } else {
        strcpy(ratio, "-");
        strcpy(bpb, "-");
    }
    if (level > 0)
        snprintf(lvl, sizeof lvl, "%d", level);
    else
        strcpy(lvl, "-");
    if (verbose)
        printf("%12" PRIu64 " %14" PRIu64 " %7s %9s %7" PRIu64 " %7" PRIu64 " %7" PRIu64
               " %5s  %-16s  %s\n",
               comp, uncomp, ratio, bpb, blocks, stored, frames, lvl, model, name);
    else
        printf("%12" PRIu64 " %14" PRIu64 " %7s %9s %7" PRIu64 "  %-16s  %s\n", comp, uncomp,
               ratio, bpb, blocks, model, name);
}

/* A file whose every frame has a seek index is listed from the indexes (two reads
 * per frame from the end: mbz_seekable_open), as xz -l reads xz's index; 1 when
 * that was done, 0 to scan the stream instead. */
static int list_from_indexes(const struct options *opt, int fd, mbz_stats *st)
{
    struct file_at at;
    mbz_options o;
    mbz_seekable *s;
    mbz_error err;
    if (file_at_init(&at, fd, fd == STDIN_FILENO) != 0)
        return 0;
    cli_options(opt, &o, NULL);
    if (mbz_seekable_open(&o, file_pread, &at, at.size, &s, &err) != MBZ_OK)
        return 0;               /* the scan says why */
    mbz_seekable_info info;
    mbz_seekable_get_info(s, &info);
    int all = info.frames_indexed == info.frames && info.indexes_damaged == 0;
    if (all) {
        memset(st, 0, sizeof *st);
        st->frame_bytes = at.size;
        st->content_size = mbz_seekable_content_size(s);
        st->blocks = info.blocks;
        st->blocks_stored = info.blocks_stored;
        st->frames = info.frames;
        st->level = info.level;
        st->fingerprint = info.fingerprint;
    }
    mbz_seekable_close(s);
    return all;
}

void list_file(const struct options *opt, const char *name, int fd)
{
    struct fdio in = { fd, 0 };
    mbz_stats st;
    mbz_error err;
    memset(&st, 0, sizeof st);
    memset(&err, 0, sizeof err);
    if (!list_from_indexes(opt, fd, &st)) {
        int rc = mbz_scan_stream(fdio_read, &in, &st, &err);
        if (rc != MBZ_OK) {
            fflush(stdout);
            msg_mbz(name, rc, &err);
            return;
        }
        if (st.indexes_damaged)
            warn_index_damaged(name, st.indexes_damaged);
    }
    if (!header_done)
        print_header(opt->verbose);
    uint64_t comp = st.frame_bytes ? st.frame_bytes : in.count;
    char model[32];
    snprintf(model, sizeof model, "%016" PRIx64, st.fingerprint);
    print_row(opt->verbose, comp, st.content_size, st.blocks, st.blocks_stored, st.frames,
              st.level, model, name);
    files_listed++;
    tot_comp += comp;
    tot_uncomp += st.content_size;
    tot_blocks += st.blocks;
    tot_stored += st.blocks_stored;
    tot_frames += st.frames;
}

void list_totals(const struct options *opt)
{
    if (files_listed > 1)
        print_row(opt->verbose, tot_comp, tot_uncomp, tot_blocks, tot_stored, tot_frames, 0, "-",
                  "(totals)");
    fflush(stdout);
}
