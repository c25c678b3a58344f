/*
 * range.c - mbcat --offset=N [--length=M] FILE.mbz: write one range of the
 * decompressed content to standard output (mbzip -dc with the same options).
 *
 * A file that can be read at any offset goes through the library's random access
 * (mbz_seekable_*, mbz.h): only the blocks that hold the range are decoded, plus,
 * at levels with a history across blocks, the earlier blocks of their history (at
 * most 16). A pipe cannot be read that way: it is decompressed from the start, only
 * the range is written, and decoding stops after it. Either way every block that
 * is decoded is checked against its checksum; the whole-frame checksum needs a
 * full decompression (mbzip -t).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static int range_seekable(const struct options *opt, const char *name, struct file_at *f)
{
    mbz_options o;
    cli_options(opt, &o, NULL);
    mbz_error err;
    memset(&err, 0, sizeof err);
    mbz_seekable *s;
    int rc = mbz_seekable_open(&o, file_pread, f, f->size, &s, &err);
    if (rc != MBZ_OK) {
        msg_mbz(name, rc, &err);
        return -1;
    }
    mbz_seekable_info info;
    mbz_seekable_get_info(s, &info);
    if (info.indexes_damaged)
        warn_index_damaged(name, info.indexes_damaged);
    uint64_t total = mbz_seekable_content_size(s);
    uint64_t at = opt->range_offset < total ? opt->range_offset : total;
    uint64_t left = total - at < opt->range_length ? total - at : opt->range_length;
    size_t cap = 1 << 20;
    uint8_t *buf = malloc(cap);
    struct fdio out = { STDOUT_FILENO, 0 };
    if (!buf) {
        msg_error(name, "out of memory");
        rc = MBZ_ERR_NOMEM;
    }
    while (rc == MBZ_OK && left > 0) {
        size_t want = left < cap ? (size_t)left : cap, got;
        rc = mbz_seekable_read(s, at, buf, want, &got, &err);
        if (rc != MBZ_OK) {
            msg_mbz(name, rc, &err);
        } else if (got != want) {
            msg_error(name, "internal error: short read at offset %llu", (unsigned long long)at);
            rc = MBZ_ERR_INTERNAL;
        } else if (fdio_write(&out, buf, got) != 0) {
            msg_error(NULL, "write error: %s", strerror(errno));
            rc = MBZ_ERR_IO;
        }
        at += got;
        left -= got;
    }
    free(buf);
    mbz_seekable_close(s);
    return rc == MBZ_OK ? 0 : -1;
}

/* The pipe path: a write callback that passes on only the range. */
struct range_sink {
    struct fdio out;
    uint64_t pos, lo, hi;
    volatile int stop;
};

static int range_write(void *user, const void *buf, size_t n)
{
    struct range_sink *r = user;
    uint64_t from = r->pos, to = r->pos + n;
    r->pos = to;
    if (to > r->lo && from < r->hi) {
        uint64_t a = from > r->lo ? from : r->lo, b = to < r->hi ? to : r->hi;
        if (fdio_write(&r->out, (const uint8_t *)buf + (a - from), (size_t)(b - a)) != 0)
            return -1;
    }
    if (to >= r->hi)
        r->stop = 1;     /* the library checks it between batches of blocks */
    return 0;
}

static int range_stream(const struct options *opt, const char *name, int fd)
{
    mbz_options o;
    cli_options(opt, &o, NULL);
    struct range_sink r = { { STDOUT_FILENO, 0 }, 0, opt->range_offset, 0, 0 };
    r.hi = UINT64_MAX - opt->range_offset < opt->range_length ? UINT64_MAX
                                                     : opt->range_offset + opt->range_length;
    o.cancel = &r.stop;
    struct fdio in = { fd, 0 };
    mbz_error err;
    memset(&err, 0, sizeof err);
    int rc = mbz_decompress_stream(&o, fdio_read, &in, range_write, &r, NULL, &err);
    if (rc == MBZ_ERR_CANCELLED && r.stop)
        rc = MBZ_OK;
    if (rc != MBZ_OK) {
        msg_mbz(name, rc, &err);
        return -1;
    }
    return 0;
}

void range_operand(const struct options *opt, const char *name)
{
    int is_stdin = strcmp(name, "-") == 0;
    const char *shown = is_stdin ? "(stdin)" : name;
    int fd = STDIN_FILENO;
    if (!is_stdin) {
        fd = open(name, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            msg_error(name, "%s", strerror(errno));
            return;
        }
    } else if (!opt->force && isatty(fd)) {
        msg_error(NULL, "compressed data not read from a terminal. "
                        "Use -f to force decompression.");
        return;
    }
    struct stat sb;
    struct file_at f;
    if (fstat(fd, &sb) != 0)
        msg_error(shown, "%s", strerror(errno));
    else if (S_ISDIR(sb.st_mode))
        msg_error(shown, "is a directory");
    else if (file_at_init(&f, fd, is_stdin) == 0)
        range_seekable(opt, shown, &f);
    else
        range_stream(opt, shown, fd);
    if (!is_stdin)
        close(fd);
}
