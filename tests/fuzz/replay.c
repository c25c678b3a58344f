/*
 * replay.c - a main() for the fuzz harnesses without libFuzzer: runs
 * LLVMFuzzerTestOneInput once on each FILE (directories: each regular file in them).
 * `make check` builds every harness with it (tests/fuzz.am) and replays the
 * committed corpus, so past crashers stay fixed with any compiler, and under the
 * sanitizer build too. A violated property aborts (exit status >= 128).
 *
 *   replay_frame FILE|DIR...
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static long count;

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (!buf)
            return 1;
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (n < cap)
            break;
        cap *= 2;
        buf = realloc(buf, cap);
    }
    fclose(f);
    fprintf(stderr, "replay %s (%zu bytes)\n", path, n);
    uint8_t *exact = malloc(n ? n : 1); /* exact size, so ASan sees overreads */
    memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    count++;
    return 0;
}

static int run_path(const char *path)
{
    struct stat s;
    if (stat(path, &s) != 0) {
        perror(path);
        return 1;
    }
    if (!S_ISDIR(s.st_mode))
        return run_file(path);
    DIR *d = opendir(path);
    if (!d) {
        perror(path);
        return 1;
    }
    int bad = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        size_t len = strlen(path) + strlen(e->d_name) + 2;
        char *p = malloc(len);
        snprintf(p, len, "%s/%s", path, e->d_name);
        if (stat(p, &s) == 0 && S_ISREG(s.st_mode))
            bad |= run_file(p);
        free(p);
    }
    closedir(d);
    return bad;
}

int main(int argc, char **argv)
{
    int bad = 0;
    LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++)
        bad |= run_path(argv[i]);
    printf("%ld inputs replayed, no property violated\n", count);
    return bad;
}
