/*
 * fuzz_archive.c - the archive paths of the mbzip command line (mbzip -x and
 * mbzip --repack, src/cli/archive.c) on arbitrary bytes.
 *
 * The harness is linked with the CLI's own sources (src/cli/archive.c, io.c,
 * fileops.c, list.c; everything but main.c, whose option state `g` is defined here)
 * and calls archive_operand() exactly as `mbzip -x -C x FILE` and `mbzip --repack
 * FILE` do: the code under test is the CLI's, not a copy. Each input is written to
 * a file and goes one of two ways:
 *   - it starts with the mbzip magic: it is an .mbz file; `mbzip -x` it (frame
 *     decoded in the CLI's decompression thread, the tar inside read and extracted);
 *   - it starts with "MBZT", an archive member table (archive_members.c): it is
 *     compressed (level 1, order-2) as the content and the index annex of one
 *     frame, so that the listing and member extraction read it as the table;
 *   - anything else is a raw archive:
 *       1. wrapped in a frame (one stored block, made here) and extracted with
 *          `mbzip -x`, so that the mutations reach the tar reader and
 *          archive_write_disk through the CLI (no frame checksum stands in the way);
 *       2. `mbzip --repack`ed (every format and filter libarchive reads: tar, cpio,
 *          zip, 7z, ar, iso, ...), and the .tar.mbz it makes, if any, extracted with
 *          `mbzip -x`: for every input but a ustar/GNU tar, and for a quarter of
 *          those (chosen by the input's bytes), as the order-2 coding of the
 *          repacked tar (at least a 10 KiB record) is slow.
 * The xor of the input's bytes chooses -f (overwrite) for the extractions. After
 * each extraction the same file is listed (`mbzip -l -r`, with the member "a" when
 * -f was chosen), which reads it through random access.
 *
 * Layout (a private directory under $TMPDIR, made once, removed at exit):
 *     BASE/canary  BASE/1/canary  BASE/1/2/canary  BASE/1/2/3/canary   (victims)
 *     BASE/1/2/3/  the working directory: the input file, the repacked output
 *     BASE/1/2/3/x the extraction directory, fresh for each extraction, removed after
 * Properties (a violation aborts, which libFuzzer reports as a crash):
 *   - no crash, leak, sanitizer report or hang;
 *   - nothing escapes x: after each run of the CLI, BASE, BASE/1, BASE/1/2 and the
 *     working directory hold exactly what they held before (no new name), every
 *     canary keeps its content, size, mode, owner, times and link count 1 (no write,
 *     chmod, chown or hard link through a symbolic link, a hard link or ".."), and
 *     /tmp/mbzip-fuzz-escape (the absolute name the seeds use) does not exist;
 *   - the working directory is the same before and after (-C is undone);
 *   - the exit status is 0, 1 or 2; a repack that fails (status 1) leaves no output
 *     and no temporary file, one that succeeds leaves its .tar.mbz.
 *
 * Run as root, the CLI takes its root paths (owners restored, device nodes
 * allowed), but the harness sets the thread's filesystem user and group IDs to
 * nobody (setfsuid) around each call, which drops CAP_MKNOD, CAP_CHOWN,
 * CAP_DAC_OVERRIDE and CAP_FOWNER: a hostile input that beat the checks could not
 * create a device node or write a root-owned file. The private directory and its
 * canaries belong to nobody then, so an escape into them is still seen.
 *
 * Work is bounded: files are limited to 64 MiB (RLIMIT_FSIZE, SIGXFSZ ignored, so
 * writes fail with EFBIG), and an .mbz whose blocks declare more than 8 MiB in all
 * (the sum of their content sizes, header checks not verified), or a repacked
 * archive of more than 8 MiB, is not extracted. libarchive itself is the system's
 * library, not instrumented: libFuzzer's coverage comes from the CLI and libmbz.
 *
 * MBZ_FUZZ_VERBOSE=1 shows the CLI's messages (otherwise sent to /dev/null).
 */
#include "config.h"   /* _GNU_SOURCE (openat, setfsuid), before any system header */

#include "fuzz_common.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/fsuid.h>
#endif

#include "cli.h"

/* The CLI's options (src/cli/main.c defines them in mbzip). */
/* the options a command line would give (main.c is not linked) */
static struct options g;

/* Sanitizer reports go to the saved stderr while the CLI's is /dev/null. */
extern void __sanitizer_set_report_fd(void *fd) __attribute__((weak));

#define FZ_NOBODY 65534
#define FZ_LEVELS 4                     /* BASE, BASE/1, BASE/1/2, BASE/1/2/3 */
#define FZ_CONTENT_LIMIT ((uint64_t)8 << 20)
#define FZ_FSIZE_LIMIT ((rlim_t)64 << 20)
#define FZ_ESCAPE "/tmp/mbzip-fuzz-escape"
static const char canary_text[] = "canary: must never change\n";

static char dirs[FZ_LEVELS][PATH_MAX];  /* dirs[FZ_LEVELS - 1] is the working directory */
static char *work;
static struct stat canary_st[FZ_LEVELS];
static int drop;                        /* root: run the CLI with fsuid nobody */
static int verbose;
static int saved_err = -1, devnull = -1, orig_cwd = -1;
static struct stat work_st;

static void rm_tree_at(int dfd, const char *name)
{
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        /* extracted directories may have any mode (0000 too) */
        fchmodat(dfd, name, 0700, 0);
        int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) {
            DIR *d = fdopendir(fd);
            if (d) {
                struct dirent *e;
                while ((e = readdir(d)) != NULL)
                    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
                        rm_tree_at(dirfd(d), e->d_name);
                closedir(d);
            } else {
                close(fd);
            }
        }
        unlinkat(dfd, name, AT_REMOVEDIR);
    } else {
        unlinkat(dfd, name, 0);
    }
}

static void rm_tree(const char *path)
{
    rm_tree_at(AT_FDCWD, path);
}

static void cleanup_at_exit(void)
{
    if (dirs[0][0])
        rm_tree(dirs[0]);
}

static void join(char *out, const char *dir, const char *name)
{
    if ((size_t)snprintf(out, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX)
        fuzz_fail("path too long: %s/%s", dir, name);
}

static void put_file(const char *dir, const char *name, const void *p, size_t n)
{
    char path[PATH_MAX];
    join(path, dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0)
        fuzz_fail("cannot write %s: %s", path, strerror(errno));
    if (drop && chown(path, FZ_NOBODY, FZ_NOBODY) != 0)
        fuzz_fail("chown %s: %s", path, strerror(errno));
}

/* The filesystem identity of this thread (and of the threads it starts). */
static void fs_nobody(void)
{
#ifdef __linux__
    if (!drop)
        return;
    setfsgid(FZ_NOBODY);
    setfsuid(FZ_NOBODY);
    if (setfsuid((uid_t)-1) != FZ_NOBODY || setfsgid((gid_t)-1) != FZ_NOBODY)
        fuzz_fail("setfsuid/setfsgid(%d) did not take", FZ_NOBODY);
#endif
}

static void fs_root(void)
{
#ifdef __linux__
    if (!drop)
        return;
    setfsuid(0);
    setfsgid(0);
#endif
}

/* ------------------------------------------------------------ checks */

/* The names in dir, sorted, '/'-joined: "canary/x/". */
static void dir_names(const char *dir, char *out, size_t cap)
{
    DIR *d = opendir(dir);
    if (!d)
        fuzz_fail("cannot read %s: %s", dir, strerror(errno));
    char *names[64];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n == 64)
            fuzz_fail("%s: more than 64 names (something escaped)", dir);
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        size_t k = strlen(out);
        snprintf(out + k, cap - k, "%s/", names[i]);
        free(names[i]);
    }
}

/* BASE..BASE/1/2 hold "canary" and the next level; the working directory holds
 * "canary" plus `expect` (a sorted "a/b/" list). */
static void check_contained(const char *what, const char *expect)
{
    char got[4096], want[4096];
    for (int i = 0; i < FZ_LEVELS; i++) {
        if (i < FZ_LEVELS - 1)
            snprintf(want, sizeof want, "%s/canary/", strrchr(dirs[i + 1], '/') + 1);
        else
            snprintf(want, sizeof want, "%s", expect);
        dir_names(dirs[i], got, sizeof got);
        if (strcmp(got, want) != 0)
            fuzz_fail("%s: %s holds '%s', expected '%s' (something escaped or was left)",
                      what, dirs[i], got, want);

        char path[PATH_MAX];
        join(path, dirs[i], "canary");
        struct stat st;
        const struct stat *c = &canary_st[i];
        if (lstat(path, &st) != 0)
            fuzz_fail("%s: %s: %s", what, path, strerror(errno));
        if (st.st_ino != c->st_ino || st.st_mode != c->st_mode || st.st_nlink != 1 ||
            st.st_uid != c->st_uid || st.st_gid != c->st_gid || st.st_size != c->st_size ||
            st.st_mtim.tv_sec != c->st_mtim.tv_sec || st.st_mtim.tv_nsec != c->st_mtim.tv_nsec ||
            st.st_ctim.tv_sec != c->st_ctim.tv_sec || st.st_ctim.tv_nsec != c->st_ctim.tv_nsec)
            fuzz_fail("%s: %s was changed (mode %o, links %lu, size %lld)", what, path,
                      (unsigned)st.st_mode, (unsigned long)st.st_nlink, (long long)st.st_size);
        char buf[sizeof canary_text];
        FILE *f = fopen(path, "rb");
        size_t k = f ? fread(buf, 1, sizeof buf, f) : 0;
        if (f)
            fclose(f);
        if (k != sizeof canary_text - 1 || memcmp(buf, canary_text, k) != 0)
            fuzz_fail("%s: %s was overwritten", what, path);
    }
    struct stat st;
    if (lstat(FZ_ESCAPE, &st) == 0)
        fuzz_fail("%s: %s was created", what, FZ_ESCAPE);
}

/* ------------------------------------------------------------ running the CLI */

/* archive_operand(name) in the working directory; the exit status it set. */
static int run_cli(const char *name, int repack)
{
    msg_init(0);
    g.repack = repack;
    g.mode = repack ? MODE_COMPRESS : MODE_DECOMPRESS;
    g.dir = repack ? NULL : "x";
    if (chdir(work) != 0)
        fuzz_fail("chdir %s: %s", work, strerror(errno));
    if (!verbose) {
        fflush(stderr);
        dup2(devnull, STDERR_FILENO);
    }
    fs_nobody();
    archive_operand(&g, name);
    fs_root();
    if (!verbose) {
        fflush(stderr);
        dup2(saved_err, STDERR_FILENO);
    }
    struct stat st;
    if (stat(".", &st) != 0 || st.st_ino != work_st.st_ino || st.st_dev != work_st.st_dev)
        fuzz_fail("%s %s: the working directory changed", repack ? "--repack" : "-x", name);
    if (fchdir(orig_cwd) != 0)
        fuzz_fail("cannot return to the directory: %s", strerror(errno));
    int status = msg_exit_status();
    if (status < 0 || status > 2)
        fuzz_fail("exit status %d", status);
    return status;
}

/* mbzip -l -r NAME [a]: the listing path, which reads a regular file through random
 * access (mbz_seekable) and lets libarchive skip entry data; with the member "a"
 * when the input's bytes say so. Only the exit status is checked (no file is
 * written); stdout goes to /dev/null. */
static void list(const char *name, int with_member)
{
    static char member_a[] = "a";
    static char *members[1] = { member_a };
    msg_init(0);
    g.repack = 0;
    g.mode = MODE_LIST;
    g.dir = NULL;
    g.members = with_member ? members : NULL;
    g.n_members = with_member;
    if (chdir(work) != 0)
        fuzz_fail("chdir %s: %s", work, strerror(errno));
    fflush(stdout);
    int saved_out = dup(STDOUT_FILENO);
    dup2(devnull, STDOUT_FILENO);
    if (!verbose) {
        fflush(stderr);
        dup2(devnull, STDERR_FILENO);
    }
    archive_operand(&g, name);
    fflush(stdout);
    dup2(saved_out, STDOUT_FILENO);
    close(saved_out);
    if (!verbose) {
        fflush(stderr);
        dup2(saved_err, STDERR_FILENO);
    }
    g.members = NULL;
    g.n_members = 0;
    if (fchdir(orig_cwd) != 0)
        fuzz_fail("cannot return to the directory: %s", strerror(errno));
    if (msg_exit_status() < 0 || msg_exit_status() > 2)
        fuzz_fail("-l -r %s: exit status %d", name, msg_exit_status());
}

/* mbzip -x -C x NAME into a fresh x; `files` are the other names in the working
 * directory (sorted "a/b/" list without canary and x). */
static void extract(const char *name, const char *files)
{
    char x[PATH_MAX], what[64], expect[1024];
    join(x, work, "x");
    if (mkdir(x, 0700) != 0 || (drop && chown(x, FZ_NOBODY, FZ_NOBODY) != 0))
        fuzz_fail("mkdir %s: %s", x, strerror(errno));
    run_cli(name, 0);
    snprintf(what, sizeof what, "-x%s %s", g.force ? " -f" : "", name);
    snprintf(expect, sizeof expect, "canary/%sx/", files);
    check_contained(what, expect);
    list(name, g.force);
    rm_tree(x);
    struct stat st;
    if (lstat(x, &st) == 0)
        fuzz_fail("cannot remove %s", x);
}

/* The sum of the content sizes that the blocks of these frames declare. */
static uint64_t declared_content(const uint8_t *d, size_t n)
{
    uint64_t total = 0;
    size_t pos = 0;
    while (n - pos >= 20 && memcmp(d + pos, "\x89MBZ", 4) == 0) {
        pos += 20;
        for (;;) {
            if (n - pos < 21)
                return total;
            const uint8_t *bh = d + pos;
            pos += 21;
            if (bh[0] == 0)
                break;
            uint32_t ps = fz_le32(bh + 5);
            total += fz_le32(bh + 1);
            if (ps > n - pos)
                return total;
            pos += ps;
        }
    }
    return total;
}

/* A frame holding data as one stored block (none if n = 0), written by hand as in
 * doc/format.md: a stored block decodes at memcpy speed, where the order-2 model of
 * level 1 codes well under 1 MB/s. Its size in *fn. */
static uint8_t *stored_frame(const uint8_t *d, size_t n, size_t *fn)
{
    if (n > ((size_t)1 << 18))
        fuzz_fail("input of %zu bytes: more than one block", n);
    uint8_t *f = malloc(n + 62), *p = f;
    if (!f)
        abort();
    memcpy(p, "\x89MBZ\x01\x00\x01\x12", 8);       /* version 1, level 1, 2^18 */
    for (int i = 0; i < 8; i++)
        p[8 + i] = (uint8_t)(FZ_ORDER2_FP >> (8 * i));
    fz_put_le32(p + 16, (uint32_t)XXH64(p, 16, 0));
    p += 20;
    uint64_t sum = XXH64(d, n, 0);
    if (n) {
        p[0] = 1;
        fz_put_le32(p + 1, (uint32_t)n);
        fz_put_le32(p + 5, (uint32_t)n);
        for (int i = 0; i < 8; i++)
            p[9 + i] = (uint8_t)(sum >> (8 * i));
        fz_put_le32(p + 17, (uint32_t)XXH64(p, 17, 0));
        memcpy(p + 21, d, n);
        p += 21 + n;
    }
    p[0] = 0;
    for (int i = 0; i < 8; i++) {
        p[1 + i] = (uint8_t)((uint64_t)n >> (8 * i));
        p[9 + i] = (uint8_t)(sum >> (8 * i));
    }
    fz_put_le32(p + 17, (uint32_t)XXH64(p, 17, 0));
    *fn = (size_t)(p + 21 - f);
    return f;
}

static uint64_t file_content(const char *name)
{
    char path[PATH_MAX];
    join(path, work, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fuzz_fail("%s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    uint8_t *p = malloc(n > 0 ? (size_t)n : 1);
    if (!p || fread(p, 1, (size_t)n, f) != (size_t)n)
        fuzz_fail("cannot read %s", path);
    fclose(f);
    uint64_t c = declared_content(p, (size_t)n);
    free(p);
    return c;
}

static void remove_work(const char *name)
{
    char path[PATH_MAX];
    join(path, work, name);
    if (unlink(path) != 0)
        fuzz_fail("cannot remove %s: %s", path, strerror(errno));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *v = getenv("MBZ_FUZZ_VERBOSE");
    verbose = v && *v && strcmp(v, "0") != 0;
    drop = geteuid() == 0;
#ifndef __linux__
    drop = 0;
#endif
    /* Bounded files: writes past 64 MiB fail with EFBIG (the CLI reports it). */
    struct rlimit rl;
    if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > FZ_FSIZE_LIMIT)) {
        rl.rlim_cur = FZ_FSIZE_LIMIT;
        setrlimit(RLIMIT_FSIZE, &rl);
    }
    signal(SIGXFSZ, SIG_IGN);

    orig_cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    saved_err = dup(STDERR_FILENO);
    devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (orig_cwd < 0 || saved_err < 0 || devnull < 0)
        fuzz_fail("cannot open the working directory, stderr or /dev/null");
    if (__sanitizer_set_report_fd)
        __sanitizer_set_report_fd((void *)(intptr_t)saved_err);

    /* The private tree; with fsuid nobody it must be reachable by nobody, which a
     * private TMPDIR may not be: then /tmp. */
    const char *tmp = getenv("TMPDIR");
    for (int attempt = 0; attempt < 2; attempt++) {
        if (attempt == 1 || !tmp || !*tmp)
            tmp = "/tmp";
        snprintf(dirs[0], PATH_MAX, "%s/mbzip-fuzz-archive.XXXXXX", tmp);
        if (!mkdtemp(dirs[0]))
            fuzz_fail("mkdtemp %s: %s", dirs[0], strerror(errno));
        if (!drop)
            break;
        chmod(dirs[0], 0755);
        if (chown(dirs[0], FZ_NOBODY, FZ_NOBODY) != 0)
            fuzz_fail("chown %s: %s", dirs[0], strerror(errno));
        fs_nobody();
        int ok = access(dirs[0], W_OK | X_OK) == 0;
        fs_root();
        if (ok)
            break;
        rmdir(dirs[0]);
        if (attempt == 1)
            fuzz_fail("%s is not reachable by uid %d", dirs[0], FZ_NOBODY);
    }
    atexit(cleanup_at_exit);
    for (int i = 0; i < FZ_LEVELS; i++) {
        char path[PATH_MAX];
        if (i > 0) {
            char sub[16];
            snprintf(sub, sizeof sub, "%d", i);
            join(path, dirs[i - 1], sub);
            memcpy(dirs[i], path, sizeof path);
            if (mkdir(dirs[i], 0755) != 0 || (drop && chown(dirs[i], FZ_NOBODY, FZ_NOBODY) != 0))
                fuzz_fail("mkdir %s: %s", dirs[i], strerror(errno));
        }
        put_file(dirs[i], "canary", canary_text, sizeof canary_text - 1);
        join(path, dirs[i], "canary");
        if (chmod(path, 0644) != 0 || lstat(path, &canary_st[i]) != 0)
            fuzz_fail("%s: %s", path, strerror(errno));
    }
    work = dirs[FZ_LEVELS - 1];
    if (stat(work, &work_st) != 0)
        fuzz_fail("%s: %s", work, strerror(errno));

    g.threads = 1;
    g.level = 1;
    g.quiet = 0;
    g.verbose = 0;
    g.suffix = MBZ_SUFFIX;
    g.archive = 1;
    return 0;
}

struct annex_src {
    const uint8_t *p;
    size_t n;
};

static void annex_of_input(void *user, const void **data, size_t *n)
{
    const struct annex_src *a = user;
    *data = a->p;
    *n = a->n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int once;
    if (!once) {
        /* libFuzzer installs its own SIGXFSZ handler (-handle_xfsz) after
         * LLVMFuzzerInitialize: ignore it again, so that writes fail with EFBIG */
        signal(SIGXFSZ, SIG_IGN);
        once = 1;
    }
    uint8_t x = 0;
    for (size_t i = 0; i < size; i++)
        x ^= data[i];
    g.force = x & 1;

    if (size >= 4 && memcmp(data, "\x89MBZ", 4) == 0) {
        /* an .mbz file: mbzip -x it */
        if (declared_content(data, size) > FZ_CONTENT_LIMIT)
            return 0;
        put_file(work, "in.tar.mbz", data, size);
        extract("in.tar.mbz", "in.tar.mbz/");
        remove_work("in.tar.mbz");
        check_contained("after -x", "canary/");
        return 0;
    }

    if (size >= 4 && memcmp(data, "MBZT", 4) == 0) {
        /* a member table (src/cli/archive_members.c): the input is both the content
         * and the annex of an indexed frame, so that -l -r reads the table from the
         * annex and -x of member "a" (with -f) extracts from where it says */
        mbz_options o;
        mbz_options_init(&o);
        o.level = 1;
        o.threads = 1;
        o.no_mix = 1;
        o.index = 1;
        o.index_annex = annex_of_input;
        struct annex_src src = { data, size };
        o.index_annex_user = &src;
        void *z = NULL;
        size_t zn;
        mbz_error e;
        if (mbz_compress_buffer(&o, data, size, &z, &zn, NULL, &e) != MBZ_OK)
            fuzz_fail("indexed frame: %s", e.msg);
        put_file(work, "table.tar.mbz", z, zn);
        free(z);
        extract("table.tar.mbz", "table.tar.mbz/");
        remove_work("table.tar.mbz");
        check_contained("after -x", "canary/");
        return 0;
    }

    /* 1. raw bytes in a stored frame: the tar reader of mbzip -x */
    size_t zn;
    uint8_t *z = stored_frame(data, size, &zn);
    put_file(work, "raw.tar.mbz", z, zn);
    free(z);
    extract("raw.tar.mbz", "raw.tar.mbz/");
    remove_work("raw.tar.mbz");

    /* 2. mbzip --repack (any format libarchive reads), then -x of the result: for
     * anything but a ustar/GNU tar (those only reach it through the repacked
     * result), and for a quarter of the tars (the order-2 coding of the repacked
     * tar, at least one 10 KiB record, costs most of the time) */
    if (size >= 262 && memcmp(data + 257, "ustar", 5) == 0 && (x & 6) != 0)
        return 0;
    put_file(work, "in.tar", data, size);
    int st = run_cli("in.tar", 1);
    char path[PATH_MAX];
    struct stat sb;
    join(path, work, "in.tar.mbz");
    int made = lstat(path, &sb) == 0;
    if (st == 1 && made)
        fuzz_fail("--repack failed but left in.tar.mbz");
    if (st != 1 && !made)
        fuzz_fail("--repack succeeded (status %d) but made no in.tar.mbz", st);
    check_contained("--repack", made ? "canary/in.tar/in.tar.mbz/" : "canary/in.tar/");
    if (made) {
        if (file_content("in.tar.mbz") <= FZ_CONTENT_LIMIT)
            extract("in.tar.mbz", "in.tar/in.tar.mbz/");
        remove_work("in.tar.mbz");
    }
    remove_work("in.tar");
    check_contained("after --repack", "canary/");
    return 0;
}
