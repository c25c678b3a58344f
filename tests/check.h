/*
 * check.h - the plain-C test programs' CHECK(cond, fmt, ...): on failure print
 * "FAIL file:line: message" and count it in `failures` (main returns non-zero).
 */
#ifndef MBZ_TESTS_CHECK_H
#define MBZ_TESTS_CHECK_H

#include <stdio.h>

static int failures;
#define CHECK(c, ...)                                                 \
    do {                                                              \
        if (!(c)) {                                                   \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);      \
            fprintf(stderr, __VA_ARGS__);                             \
            fputc('\n', stderr);                                      \
            failures++;                                               \
        }                                                             \
    } while (0)

#endif
