/* unit_common.h - helpers shared by the core unit tests. */
#ifndef MBZ_UNIT_COMMON_H
#define MBZ_UNIT_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deterministic PRNG (xorshift64*): tests must not depend on the clock. */
static inline uint64_t test_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(2685821657736338717);
}

/* Read $top_srcdir/corpora/<name>; abort the test program if it is missing, so a
 * broken environment fails loudly instead of testing nothing. */
static inline unsigned char *read_corpus(const char *name, size_t *n)
{
    const char *top = getenv("top_srcdir");
    char path[4096];
    snprintf(path, sizeof path, "%s/corpora/%s", top ? top : ".", name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s (is top_srcdir set?)\n", path);
        exit(1);
    }
    size_t cap = 1 << 20, len = 0;
    unsigned char *b = malloc(cap);
    size_t k;
    while (b && (k = fread(b + len, 1, cap - len, f)) > 0) {
        len += k;
        if (len == cap)
            b = realloc(b, cap *= 2);
    }
    fclose(f);
    if (!b)
        exit(1);
    *n = len;
    return b;
}

#endif
