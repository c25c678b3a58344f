/*
 * zalloc.c - zeroed allocations for large tables (zalloc.h).
 */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include "zalloc.h"
#if defined(__linux__)
#include <sys/mman.h>
#endif

#define HUGE_PAGE ((size_t)2 << 20)

#if defined(__linux__) && defined(MAP_ANONYMOUS) && defined(MADV_HUGEPAGE)
#define ZALLOC_MAP 1
#endif

void *mbz_zeroed_alloc(size_t n)
{
#ifdef ZALLOC_MAP
    if (n >= HUGE_PAGE && n % HUGE_PAGE == 0) {
        /* map one huge page more, then cut what lies outside the aligned n bytes */
        size_t len = n + HUGE_PAGE;
        void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            return NULL;
        uintptr_t p = (uintptr_t)m, a = (p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
        size_t head = a - p, tail = len - head - n;
        if (head)
            munmap(m, head);
        if (tail)
            munmap((void *)(a + n), tail);
        (void)madvise((void *)a, n, MADV_HUGEPAGE);  /* a hint: without it, 4 KiB pages */
        return (void *)a;
    }
#endif
    return calloc(1, n);
}

void mbz_zeroed_free(void *p, size_t n)
{
    if (!p)
        return;
#ifdef ZALLOC_MAP
    if (n >= HUGE_PAGE && n % HUGE_PAGE == 0) {
        munmap(p, n);
        return;
    }
#endif
    free(p);
}
