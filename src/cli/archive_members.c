/*
 * archive_members.c - the member table of an archive made by mbzip -r or --repack
 * (doc/format.md, "Archive member table"): for every tar entry, where its header
 * starts in the decompressed stream and what `mbzip -l -v` shows of it. It travels
 * as the annex of the frame's seek index (mbz_options.index_annex), so that
 * listing an archive in a file reads no compressed data at all and extracting a
 * member decodes only the blocks from its header on (from the start of its
 * history: large members start one, archive_impl.h).
 *
 * The table only finds things: an extracted member is always read from its own tar
 * header in the stream (and must have the name the table gives it), so the secure
 * extraction rules and the data's checksums apply as without it.
 */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "archive_impl.h"

static const unsigned char table_magic[5] = { 'M', 'B', 'Z', 'T', 1 };

static int reserve(struct member_table *t, size_t more)
{
    if (t->cap - t->len >= more)
        return 0;
    size_t cap = t->cap ? t->cap : 4096;
    while (cap - t->len < more)
        cap *= 2;
    unsigned char *p = realloc(t->buf, cap);
    if (!p)
        return -1;
    t->buf = p;
    t->cap = cap;
    return 0;
}

static void put_uint(struct member_table *t, uint64_t v)
{
    do {
        unsigned char b = v & 0x7f;
        v >>= 7;
        t->buf[t->len++] = b | (v ? 0x80 : 0);
    } while (v);
}

static void put_int(struct member_table *t, int64_t v)
{
    put_uint(t, v < 0 ? ~((uint64_t)v << 1) : (uint64_t)v << 1);
}

static void put_str(struct member_table *t, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    put_uint(t, n);
    if (n)
        memcpy(t->buf + t->len, s, n);
    t->len += n;
}

static size_t str_room(const char *s)
{
    return (s ? strlen(s) : 0) + 10;
}

int member_table_add(struct member_table *t, uint64_t offset, struct archive_entry *e)
{
    const char *hl = archive_entry_hardlink(e);
    const char *sl = archive_entry_filetype(e) == AE_IFLNK ? archive_entry_symlink(e) : NULL;
    size_t room = 10 * 7 + str_room(archive_entry_uname(e)) + str_room(archive_entry_gname(e)) +
                  str_room(archive_entry_pathname(e)) + 1 + str_room(hl) + str_room(sl);
    if (offset < t->last || reserve(t, room) != 0)
        return -1;
    put_uint(t, offset - t->last);
    t->last = offset;
    /* a hard link's type is the tar reader's: none (it shows as 'h' in -lv) */
    put_uint(t, (uint64_t)(hl ? archive_entry_mode(e) & ~(mode_t)AE_IFMT : archive_entry_mode(e)));
    /* the size the tar header gets: only regular files that are not hard links
     * carry data (a directory's st_size is not archived) */
    int64_t size = archive_entry_filetype(e) == AE_IFREG && !hl ? archive_entry_size(e) : 0;
    put_uint(t, size > 0 ? (uint64_t)size : 0);
    put_int(t, (int64_t)archive_entry_mtime(e));
    put_int(t, (int64_t)archive_entry_uid(e));
    put_int(t, (int64_t)archive_entry_gid(e));
    put_str(t, archive_entry_uname(e));
    put_str(t, archive_entry_gname(e));
    /* the name as the tar header has it: the pax writer ends a directory's with '/' */
    const char *path = archive_entry_pathname(e);
    size_t pn = path ? strlen(path) : 0;
    if (archive_entry_filetype(e) == AE_IFDIR && pn > 0 && path[pn - 1] != '/') {
        put_uint(t, pn + 1);
        memcpy(t->buf + t->len, path, pn);
        t->buf[t->len + pn] = '/';
        t->len += pn + 1;
    } else {
        put_str(t, path);
    }
    put_str(t, hl);
    put_str(t, sl);
    t->count++;
    return 0;
}

unsigned char *member_table_take(struct member_table *t, size_t *n)
{
    size_t head = sizeof table_magic + 10;
    unsigned char *blob = malloc(head + t->len);
    if (!blob)
        return NULL;
    memcpy(blob, table_magic, sizeof table_magic);
    struct member_table h = { blob, sizeof table_magic, head, 0, 0 };
    put_uint(&h, t->count);
    if (t->len)                     /* (an empty table has no buffer at all) */
        memcpy(blob + h.len, t->buf, t->len);
    *n = h.len + t->len;
    t->len = 0;
    t->count = 0;
    t->last = 0;
    return blob;
}

void member_table_free(struct member_table *t)
{
    free(t->buf);
    memset(t, 0, sizeof *t);
}

/* ------------------------------------------------------------------ reading */

struct cursor {
    const unsigned char *p, *end;
};

static int get_uint(struct cursor *c, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (c->p == c->end)
            return -1;
        unsigned char b = *c->p++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

static int get_int(struct cursor *c, int64_t *v)
{
    uint64_t u;
    if (get_uint(c, &u) != 0)
        return -1;
    *v = (u & 1) ? (int64_t)~(u >> 1) : (int64_t)(u >> 1);
    return 0;
}

/* A string into buf (NUL-terminated; *buf grown as needed). */
static int get_str(struct cursor *c, char **buf, size_t *cap)
{
    uint64_t n;
    if (get_uint(c, &n) != 0 || n > (uint64_t)(c->end - c->p) || n >= SIZE_MAX)
        return -1;
    if (*cap < n + 1) {
        char *nb = realloc(*buf, n + 1);
        if (!nb)
            return -1;
        *buf = nb;
        *cap = n + 1;
    }
    memcpy(*buf, c->p, n);
    (*buf)[n] = 0;
    c->p += n;
    return 0;
}

int member_table_walk(const void *annex, size_t n, uint64_t content_start, member_fn fn,
                      void *user)
{
    struct cursor c = { annex, (const unsigned char *)annex + n };
    uint64_t count, at = content_start;
    if (n < sizeof table_magic || memcmp(annex, table_magic, sizeof table_magic) != 0)
        return -1;
    c.p += sizeof table_magic;
    if (get_uint(&c, &count) != 0)
        return -1;
    struct archive_entry *e = archive_entry_new();
    char *s[5] = { NULL };
    size_t cap[5] = { 0 };
    int rc = e ? 0 : -1;
    for (uint64_t i = 0; rc == 0 && i < count; i++) {
        uint64_t delta, mode, size;
        int64_t mtime, uid, gid;
        if (get_uint(&c, &delta) != 0 || delta > UINT64_MAX - at || get_uint(&c, &mode) != 0 ||
            get_uint(&c, &size) != 0 || size > INT64_MAX || get_int(&c, &mtime) != 0 ||
            get_int(&c, &uid) != 0 || get_int(&c, &gid) != 0 || mode > UINT32_MAX) {
            rc = -1;
            break;
        }
        for (int k = 0; rc == 0 && k < 5; k++)
            rc = get_str(&c, &s[k], &cap[k]);
        if (rc != 0)
            break;
        at += delta;
        archive_entry_clear(e);
        archive_entry_set_mode(e, (mode_t)mode);
        archive_entry_set_size(e, (la_int64_t)size);
        archive_entry_set_mtime(e, (time_t)mtime, 0);
        archive_entry_set_uid(e, uid);
        archive_entry_set_gid(e, gid);
        if (*s[0])
            archive_entry_copy_uname(e, s[0]);
        if (*s[1])
            archive_entry_copy_gname(e, s[1]);
        archive_entry_copy_pathname(e, s[2]);
        if (*s[3])
            archive_entry_copy_hardlink(e, s[3]);
        if (*s[4])
            archive_entry_copy_symlink(e, s[4]);
        rc = fn(user, at, e);
    }
    if (rc == 0 && c.p != c.end)
        rc = -1;
    for (int k = 0; k < 5; k++)
        free(s[k]);
    if (e)
        archive_entry_free(e);
    return rc;
}
