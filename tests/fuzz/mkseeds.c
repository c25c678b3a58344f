/*
 * mkseeds.c - write the seed inputs of the fuzz harnesses (tools/fuzz.sh) and of
 * their replay in `make check` (tests/fuzz.am):
 *
 *   mkseeds DIR   ->  DIR/frame/        frames: order-2 (modelled, stored, run-length,
 *                                       multi-block, concatenated, empty) and tiny
 *                                       MEGABYTE model frames with a modelled block
 *                     DIR/modelfile/    model files (mkmodel --tiny seeds 1, 2 and a
 *                                       smaller shape)
 *                     DIR/roundtrip/    option byte + data
 *                     DIR/archive/      archives for fuzz_archive, written by hand
 *                                       (ustar, pax, GNU, cpio newc, zip), benign and
 *                                       hostile (.., absolute names, symbolic and hard
 *                                       links out, devices, huge sizes, xattrs), and
 *                                       .mbz frames of some of them
 *
 * The tiny model (random weights) cannot compress text, so its modelled seed block
 * is made of bytes the model itself finds likely: each byte is the most probable one
 * under the model given the bytes before it (greedy sampling through the internal
 * predictor interface, src/lib/predictor.h).
 */
#include <sys/stat.h>

#include "fuzz_common.h"
#include "predictor.h"

static const char text[] =
    "A compressor is trusted with data people cannot get back. It must never crash,\n"
    "must detect every corruption, and must never lose a byte. The quick brown fox\n"
    "jumps over the lazy dog; the quick brown fox jumps over the lazy dog again.\n";

static char *dir;

static void put(const char *sub, const char *name, const void *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    mkdir(path, 0777);
    snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static void frame(const char *name, const mbz_model *m, int level, const void *src, size_t n)
{
    mbz_options o;
    mbz_options_init(&o);
    o.level = level;
    o.threads = 1;
    o.model = m;
    void *z;
    size_t zn;
    mbz_error e;
    if (mbz_compress_buffer(&o, src, n, &z, &zn, NULL, &e) != MBZ_OK) {
        fprintf(stderr, "mkseeds: %s: %s\n", name, e.msg);
        exit(1);
    }
    put("frame", name, z, zn);
    free(z);
}

/* n bytes the model predicts well: greedy argmax of its own tables. */
static uint8_t *likely_bytes(const mbz_model *m, size_t n)
{
    uint8_t *d = calloc(n, 1);
    uint16_t f[MBZ_SYMBOLS];
    mbz_predictor *p;
    if (!d || m->ops->create(m->impl, n, &p) != MBZ_OK)
        exit(1);
    for (size_t i = 0; i < n; i++) {
        if (m->ops->predict(p, d, i, f) != MBZ_OK)
            exit(1);
        unsigned best = 0;
        for (unsigned s = 1; s < MBZ_SYMBOLS; s++)
            if (f[s] > f[best])
                best = s;
        d[i] = (uint8_t)best;
    }
    m->ops->destroy(p);
    return d;
}


/* ------------------------------------------------------------ archives by hand */

/* The victims of fuzz_archive: x is extracted in BASE/1/2/3/x and each of
 * BASE/1/2/3, BASE/1/2, BASE/1, BASE holds a file "canary"; the absolute name is
 * the one fuzz_archive checks. */
#define UP1 "../canary"
#define UP4 "../../../../canary"
#define ABS "/tmp/mbzip-fuzz-escape"

typedef struct {
    uint8_t *p;
    size_t n, cap;
} abuf;

static void ab_put(abuf *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p)
            exit(1);
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void ab_zero(abuf *b, size_t n)
{
    static const uint8_t z[512];
    while (n) {
        size_t k = n < sizeof z ? n : sizeof z;
        ab_put(b, z, k);
        n -= k;
    }
}

static void octal(char *f, size_t w, uint64_t v)
{
    snprintf(f, w, "%0*llo", (int)w - 1, (unsigned long long)v);
}

/* One tar header (ustar; `size` is the declared size, written in base 256 when it
 * does not fit 11 octal digits), then `n` bytes of data padded to 512. */
static void tar_entry_dev(abuf *b, const char *name, char type, unsigned mode, const char *link,
                          uint64_t size, const void *data, size_t n, unsigned major, unsigned minor)
{
    char h[512];
    memset(h, 0, sizeof h);
    size_t nl = strlen(name);
    if (nl > 100) {                     /* ustar prefix/name split at a slash */
        const char *s = name + nl - 100;
        while (*s && *s != '/')
            s++;
        if (*s == '/' && (size_t)(s - name) <= 155) {
            memcpy(h + 345, name, (size_t)(s - name));
            name = s + 1;
            nl = strlen(name);
        }
        if (nl > 100)
            nl = 100;
    }
    memcpy(h, name, nl);
    octal(h + 100, 8, mode);
    octal(h + 108, 8, 1000);
    octal(h + 116, 8, 1000);
    if (size <= 077777777777ull) {
        octal(h + 124, 12, size);
    } else {
        h[124] = (char)0x80;
        for (int i = 0; i < 8; i++)
            h[135 - i] = (char)(size >> (8 * i));
    }
    octal(h + 136, 12, 1700000000);
    h[156] = type;
    if (link)
        memcpy(h + 157, link, strlen(link) < 100 ? strlen(link) : 100);
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    memcpy(h + 265, "user", 4);
    memcpy(h + 297, "user", 4);
    octal(h + 329, 8, major);
    octal(h + 337, 8, minor);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += (uint8_t)h[i];
    snprintf(h + 148, 8, "%06o", sum);
    h[155] = ' ';
    ab_put(b, h, sizeof h);
    ab_put(b, data, n);
    ab_zero(b, (512 - n % 512) % 512);
}

static void tar_entry(abuf *b, const char *name, char type, unsigned mode, const char *link,
                      uint64_t size, const void *data, size_t n)
{
    tar_entry_dev(b, name, type, mode, link, size, data, n, 0, 0);
}

static void tar_file(abuf *b, const char *name, const char *body)
{
    tar_entry(b, name, '0', 0644, NULL, strlen(body), body, strlen(body));
}

/* A pax extended header ('x') with the records "key=value" given, then the entry. */
static void tar_pax(abuf *b, const char *const *kv, size_t nkv)
{
    abuf rec = { 0 };
    for (size_t i = 0; i < nkv; i++) {
        /* "LEN key=value\n", LEN counting itself */
        size_t len = strlen(kv[i]) + 2, d = 1;
        for (;;) {
            char num[24];
            int k = snprintf(num, sizeof num, "%zu", len + d);
            if ((size_t)k == d)
                break;
            d = (size_t)k;
        }
        char line[4096];
        int k = snprintf(line, sizeof line, "%zu %s\n", len + d, kv[i]);
        ab_put(&rec, line, (size_t)k);
    }
    tar_entry(b, "PaxHeaders/x", 'x', 0644, NULL, rec.n, rec.p, rec.n);
    free(rec.p);
}

static void tar_end(abuf *b)
{
    ab_zero(b, 1024);
}

static void put_archive(const char *name, abuf *b, int also_mbz)
{
    put("archive", name, b->p, b->n);
    if (also_mbz) {
        mbz_options o;
        mbz_options_init(&o);
        o.level = 1;
        o.threads = 1;
        o.model = mbz_model_order2();
        void *z;
        size_t zn;
        mbz_error e;
        if (mbz_compress_buffer(&o, b->p, b->n, &z, &zn, NULL, &e) != MBZ_OK) {
            fprintf(stderr, "mkseeds: %s: %s\n", name, e.msg);
            exit(1);
        }
        char zname[256];
        snprintf(zname, sizeof zname, "%s.mbz", name);
        put("archive", zname, z, zn);
        free(z);
    }
    free(b->p);
    memset(b, 0, sizeof *b);
}

static uint32_t crc32_of(const void *p, size_t n)
{
    const uint8_t *s = p;
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= s[i];
        for (int k = 0; k < 8; k++)
            c = c >> 1 ^ (0xedb88320u & (0u - (c & 1)));
    }
    return ~c;
}

static void le16(abuf *b, unsigned v)
{
    uint8_t x[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
    ab_put(b, x, 2);
}

static void le32(abuf *b, uint32_t v)
{
    uint8_t x[4];
    fz_put_le32(x, v);
    ab_put(b, x, 4);
}

/* A zip of stored entries (names[i] -> texts[i]). */
static void zip_stored(abuf *b, const char *const *names, const char *const *texts, int n)
{
    abuf cd = { 0 };
    for (int i = 0; i < n; i++) {
        uint32_t off = (uint32_t)b->n, crc = crc32_of(texts[i], strlen(texts[i]));
        uint32_t len = (uint32_t)strlen(texts[i]);
        unsigned nl = (unsigned)strlen(names[i]);
        le32(b, 0x04034b50); le16(b, 10); le16(b, 0); le16(b, 0); le16(b, 0); le16(b, 0x21);
        le32(b, crc); le32(b, len); le32(b, len); le16(b, nl); le16(b, 0);
        ab_put(b, names[i], nl);
        ab_put(b, texts[i], len);
        le32(&cd, 0x02014b50); le16(&cd, 0x031e); le16(&cd, 10); le16(&cd, 0); le16(&cd, 0);
        le16(&cd, 0); le16(&cd, 0x21); le32(&cd, crc); le32(&cd, len); le32(&cd, len);
        le16(&cd, nl); le16(&cd, 0); le16(&cd, 0); le16(&cd, 0); le16(&cd, 0);
        le32(&cd, 0100644u << 16); le32(&cd, off);
        ab_put(&cd, names[i], nl);
    }
    uint32_t cdoff = (uint32_t)b->n;
    ab_put(b, cd.p, cd.n);
    le32(b, 0x06054b50); le16(b, 0); le16(b, 0); le16(b, (unsigned)n); le16(b, (unsigned)n);
    le32(b, (uint32_t)cd.n); le32(b, cdoff); le16(b, 0);
    free(cd.p);
}

/* One cpio "newc" entry. */
static void cpio_entry(abuf *b, const char *name, unsigned mode, const char *data)
{
    char h[111];
    size_t nl = strlen(name) + 1, n = strlen(data);
    snprintf(h, sizeof h, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
             1u, mode, 1000u, 1000u, 1u, 1700000000u, (unsigned)n, 0u, 0u, 0u, 0u,
             (unsigned)nl, 0u);
    ab_put(b, h, 110);
    ab_put(b, name, nl);
    ab_zero(b, (4 - (110 + nl) % 4) % 4);
    ab_put(b, data, n);
    ab_zero(b, (4 - n % 4) % 4);
}

static void archive_seeds(void)
{
    abuf b = { 0 };
    /* a small valid tar: directories, files, links inside, a FIFO */
    tar_entry(&b, "d/", '5', 0755, NULL, 0, NULL, 0);
    tar_file(&b, "d/a.txt", text);
    tar_file(&b, "d/empty", "");
    tar_entry(&b, "d/l", '2', 0777, "a.txt", 0, NULL, 0);
    tar_entry(&b, "d/h", '1', 0644, "d/a.txt", 0, NULL, 0);
    tar_entry(&b, "d/sub/", '5', 0700, NULL, 0, NULL, 0);
    tar_file(&b, "d/sub/b", "bee\n");
    tar_entry(&b, "d/fifo", '6', 0600, NULL, 0, NULL, 0);
    tar_end(&b);
    put_archive("tar-basic", &b, 1);

    /* ".." names (zip-slip), up to the canaries */
    tar_file(&b, "ok.txt", "ok\n");
    tar_file(&b, "../escape-dotdot", "pwned\n");
    tar_file(&b, "a/../../escape-nested", "pwned\n");
    tar_file(&b, "./../../escape-2", "pwned\n");
    tar_file(&b, UP1, "pwned\n");
    tar_file(&b, "d/../" UP4, "pwned\n");
    tar_end(&b);
    put_archive("tar-dotdot", &b, 1);

    /* absolute names: file, directory, hard link target, symbolic link then through */
    tar_file(&b, ABS "/abs", "pwned\n");
    tar_entry(&b, ABS "/", '5', 0755, NULL, 0, NULL, 0);
    tar_entry(&b, "habs", '1', 0644, ABS "/abs", 0, NULL, 0);
    tar_entry(&b, "sabs", '2', 0777, "/tmp", 0, NULL, 0);
    tar_file(&b, "sabs/mbzip-fuzz-escape", "pwned\n");
    tar_file(&b, "ok.txt", "ok\n");
    tar_end(&b);
    put_archive("tar-absolute", &b, 0);

    /* symbolic links pointing out, then written through */
    tar_entry(&b, "up", '2', 0777, "../../../..", 0, NULL, 0);
    tar_file(&b, "up/escape-symlink", "pwned\n");
    tar_entry(&b, "lc", '2', 0777, UP1, 0, NULL, 0);
    tar_file(&b, "lc", "pwned\n");
    tar_entry(&b, "dd", '2', 0777, "..", 0, NULL, 0);
    tar_file(&b, "dd/canary", "pwned\n");
    tar_entry(&b, "in/", '5', 0755, NULL, 0, NULL, 0);
    tar_entry(&b, "in/l4", '2', 0777, "../" UP4, 0, NULL, 0);
    tar_entry(&b, "in/l4", '0', 0644, NULL, 6, "pwned\n", 6);
    tar_end(&b);
    put_archive("tar-symlink-out", &b, 1);

    /* hard links out (to the canaries), one carrying data */
    static const char *const pax[] = { "mtime=1700000000" };
    tar_entry(&b, "h1", '1', 0644, UP1, 0, NULL, 0);
    tar_pax(&b, pax, 1);   /* pax: a hard link may carry data */
    tar_entry(&b, "h2", '1', 0644, "../" UP1, 6, "pwned\n", 6);
    tar_entry(&b, "h3", '1', 0644, UP4, 0, NULL, 0);
    tar_file(&b, "h1", "pwned\n");
    tar_file(&b, "t", "target\n");
    tar_entry(&b, "h4", '1', 0644, "t", 0, NULL, 0);
    tar_pax(&b, pax, 1);
    tar_entry(&b, "h4", '1', 0644, "t", 4, "more", 4);
    tar_end(&b);
    put_archive("tar-hardlink-out", &b, 1);

    /* huge declared sizes: octal 8 GiB, base-256 2^62, pax 2^64-1, all short of data */
    tar_entry(&b, "big-octal", '0', 0644, NULL, 077777777777ull, "x", 1);
    tar_end(&b);
    put_archive("tar-huge-octal", &b, 1);
    tar_entry(&b, "big-256", '0', 0644, NULL, (uint64_t)1 << 62, "y", 1);
    tar_end(&b);
    put_archive("tar-huge-base256", &b, 0);
    {
        static const char *const kv[] = { "size=18446744073709551615" };
        tar_pax(&b, kv, 1);
        tar_entry(&b, "big-pax", '0', 0644, NULL, 1, "z", 1);
        tar_end(&b);
        put_archive("tar-huge-pax", &b, 0);
    }

    /* devices and FIFOs (refused unless root) */
    tar_entry_dev(&b, "null", '3', 0644, NULL, 0, NULL, 0, 1, 3);
    tar_entry_dev(&b, "disk", '4', 0644, NULL, 0, NULL, 0, 8, 0);
    tar_entry(&b, "fifo", '6', 0644, NULL, 0, NULL, 0);
    tar_file(&b, "after.txt", "after\n");
    tar_end(&b);
    put_archive("tar-devices", &b, 0);

    /* long names: pax path, GNU 'L' long name and 'K' long link, ustar prefix */
    {
        char longname[400], kv0[420], gnu[300];
        memset(longname, 'n', sizeof longname);
        for (size_t i = 50; i < sizeof longname - 1; i += 50)
            longname[i] = '/';
        longname[sizeof longname - 1] = '\0';
        snprintf(kv0, sizeof kv0, "path=%s", longname);
        const char *kv[] = { kv0, "mtime=1700000000.5", "uname=nobody" };
        tar_pax(&b, kv, 3);
        tar_file(&b, "short", "pax long name\n");
        memset(gnu, 'g', sizeof gnu);
        gnu[sizeof gnu - 1] = '\0';
        tar_entry(&b, "././@LongLink", 'L', 0644, NULL, sizeof gnu, gnu, sizeof gnu);
        tar_file(&b, "gnu-short", "gnu long name\n");
        tar_entry(&b, "././@LongLink", 'K', 0644, NULL, sizeof gnu, gnu, sizeof gnu);
        tar_entry(&b, "gnu-link", '2', 0777, "x", 0, NULL, 0);
        tar_file(&b, "pfx/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/"
                     "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
                 "prefix\n");
        tar_end(&b);
        put_archive("tar-longnames", &b, 0);
    }

    /* extended attributes (only user.* are restored) and ACLs */
    {
        static const char *const kv[] = {
            "SCHILY.xattr.user.comment=hello",
            "SCHILY.xattr.security.capability=0123456789",
            "SCHILY.xattr.trusted.x=1",
            "LIBARCHIVE.xattr.user.b64=aGVsbG8",
            "SCHILY.acl.access=user::rw-,group::r--,other::r--,user:1000:rwx,mask::rwx",
        };
        tar_pax(&b, kv, 5);
        tar_file(&b, "attrs", "xattrs\n");
        tar_end(&b);
        put_archive("tar-xattrs", &b, 0);
    }

    /* modes and repeats: a directory 0000 with contents, setuid, the same name twice,
     * a file where a directory was */
    tar_entry(&b, "locked/", '5', 0000, NULL, 0, NULL, 0);
    tar_file(&b, "locked/f", "in a locked directory\n");
    tar_entry(&b, "suid", '0', 04755, NULL, 3, "#!\n", 3);
    tar_file(&b, "twice", "first\n");
    tar_file(&b, "twice", "second\n");
    tar_entry(&b, "dir/", '5', 0755, NULL, 0, NULL, 0);
    tar_file(&b, "dir", "now a file\n");
    tar_file(&b, ".", "dot\n");
    tar_file(&b, "", "empty name\n");
    tar_end(&b);
    put_archive("tar-modes", &b, 1);

    /* an empty archive (end blocks only) */
    tar_end(&b);
    put_archive("tar-empty", &b, 1);

    /* cpio newc: a file, a symbolic link out and a file through it */
    cpio_entry(&b, "c.txt", 0100644, "cpio\n");
    cpio_entry(&b, "cl", 0120777, UP1);
    cpio_entry(&b, "cl", 0100644, "pwned\n");
    cpio_entry(&b, "../cpio-escape", 0100644, "pwned\n");
    cpio_entry(&b, "TRAILER!!!", 0, "");
    put_archive("cpio-newc", &b, 0);

    /* zip, stored entries, one with ".." */
    {
        static const char *const names[] = { "z/a.txt", "../zip-escape", "z/b.txt" };
        static const char *const texts[] = { "zip a\n", "pwned\n", "zip b\n" };
        zip_stored(&b, names, texts, 3);
        put_archive("zip-stored", &b, 0);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: mkseeds DIR\n");
        return 2;
    }
    dir = argv[1];
    mkdir(dir, 0777);
    const mbz_model *o2 = mbz_model_order2();

    /* order-2 frames */
    frame("o2-text", o2, 1, text, sizeof text - 1);
    frame("o2-empty", o2, 1, "", 0);
    uint8_t rnd[600];
    uint64_t x = 12345;
    for (size_t i = 0; i < sizeof rnd; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        rnd[i] = (uint8_t)(x >> 56);
    }
    frame("o2-stored", o2, 1, rnd, sizeof rnd);
    uint8_t run[3000];
    memset(run, 'x', sizeof run);
    frame("o2-rle", o2, 1, run, sizeof run);
    /* two blocks at level 1 (block size from an empty frame's header): run-length, modelled */
    size_t bs;
    {
        void *z;
        size_t zn;
        mbz_options o;
        mbz_options_init(&o);
        o.level = 1;
        if (mbz_compress_buffer(&o, "", 0, &z, &zn, NULL, NULL) != MBZ_OK || zn < 20)
            return 1;
        bs = (size_t)1 << ((uint8_t *)z)[7];
        free(z);
    }
    size_t bn = bs + 200;
    uint8_t *two = malloc(bn);
    memset(two, 'y', bs);
    memcpy(two + bs, text, 200);
    frame("o2-2blocks-l1", o2, 1, two, bn);
    free(two);
    {   /* concatenation of text + empty + stored */
        void *a, *b, *c;
        size_t an, bn2, cn;
        mbz_options o;
        mbz_options_init(&o);
        o.level = 1;
        o.threads = 1;
        mbz_compress_buffer(&o, text, 40, &a, &an, NULL, NULL);
        mbz_compress_buffer(&o, "", 0, &b, &bn2, NULL, NULL);
        mbz_compress_buffer(&o, rnd, 100, &c, &cn, NULL, NULL);
        uint8_t *cat = malloc(an + bn2 + cn);
        memcpy(cat, a, an);
        memcpy(cat + an, b, bn2);
        memcpy(cat + an + bn2, c, cn);
        put("frame", "o2-concat", cat, an + bn2 + cn);
        free(a);
        free(b);
        free(c);
        free(cat);
    }

    /* tiny MEGABYTE model frames, and model files */
    uint8_t *mb;
    size_t mn;
    mbz_model *tiny = fz_tiny_model(1, &mb, &mn);
    put("modelfile", "tiny-seed1.mbzm", mb, mn);
    free(mb);
    mbz_model *tiny2 = fz_tiny_model(2, &mb, &mn);
    put("modelfile", "tiny-seed2.mbzm", mb, mn);
    free(mb);
    mbz_model_free(tiny2);
    {
        mbzm_hparams hp;
        memset(&hp, 0, sizeof hp);
        hp.patch = 2; hp.d_emb = 4; hp.g_layers = 1; hp.g_heads = 1; hp.g_ff = 8;
        hp.l_dim = 8; hp.l_layers = 1; hp.l_heads = 2; hp.l_ff = 8; hp.ctx_patches = 4;
        if (mkmodel_build(&hp, 3, &mb, &mn) == MBZ_OK) {
            put("modelfile", "small-shape.mbzm", mb, mn);
            free(mb);
        }
    }
    uint8_t *likely = likely_bytes(tiny, 700);
    frame("tiny-modelled", tiny, 1, likely, 700);
    frame("tiny-text", tiny, 1, text, 60);
    frame("tiny-rle", tiny, 1, run, 100);

    /* round trip: option byte + data */
    uint8_t rt[1 + sizeof text];
    static const uint8_t sels[] = { 0x00, 0x01, 0x02, 0x05, 0x10, 0x24, 0x41, 0x11 };
    for (size_t i = 0; i < sizeof sels; i++) {
        char name[32];
        rt[0] = sels[i];
        memcpy(rt + 1, text, sizeof text - 1);
        snprintf(name, sizeof name, "text-%02x", sels[i]);
        put("roundtrip", name, rt, sizeof text);
    }
    uint8_t rt2[1 + 300];
    rt2[0] = 0x01;
    memcpy(rt2 + 1, likely, 300);
    put("roundtrip", "tiny-likely", rt2, sizeof rt2);
    rt2[0] = 0x00;
    memcpy(rt2 + 1, rnd, 300);
    put("roundtrip", "random", rt2, sizeof rt2);
    free(likely);
    mbz_model_free(tiny);

    archive_seeds();

    /* media (fuzz_media): a WAV header and a PGM header before tones, for the
     * detector; a tone for each model's round trip */
    {
        static uint8_t md[1 + 60 + 6000];
        size_t k = 0;
        md[k++] = 0;
        static const uint8_t wav[44] = { 'R', 'I', 'F', 'F', 0x24, 0x10, 0, 0, 'W', 'A', 'V', 'E', 'f', 'm', 't', ' ',
                                         16, 0, 0, 0, 1, 0, 1, 0, 0x40, 0x1f, 0, 0, 0x80, 0x3e, 0, 0,
                                         2, 0, 16, 0, 'd', 'a', 't', 'a', 0, 0x10, 0, 0 };
        memcpy(md + k, wav, sizeof wav);
        k += sizeof wav;
        for (int i = 0; i < 2048; i++) {
            int v = (i * 37 % 200) - 100;
            md[k++] = (uint8_t)v;
            md[k++] = (uint8_t)(v >> 8);
        }
        put("media", "detect-wav", md, k);
        k = 1;
        memcpy(md + k, "P5 64 70 255\n", 13);
        k += 13;
        for (int i = 0; i < 64 * 70; i++)
            md[k++] = (uint8_t)(i % 64 + i / 64);
        put("media", "detect-pgm", md, k);
        md[0] = 128;
        put("media", "audio-roundtrip", md, 1 + 7 + 2000);
        /* revision 4 (selector 134: (134 >> 1) % 4 = 3) with data[4] odd: a whole
         * WAV file, the canonical header written over the first 44 bytes */
        md[0] = 134;
        md[5] |= 1;
        put("media", "audio-wav-roundtrip", md, 1 + 7 + 2000);
        md[5] &= (uint8_t)~1u;
        md[0] = 129;
        put("media", "image-roundtrip", md, 1 + 7 + 3000);
        md[0] = 64;
        put("media", "decode", md, 600);
    }
    printf("seeds written to %s\n", dir);
    return 0;
}
