/*
 * zalloc.h - zeroed allocations for the large hash tables of the binary stage
 * (library-internal). A table of 2 MiB or more is an anonymous mapping aligned to
 * 2 MiB and marked for transparent huge pages (Linux's MADV_HUGEPAGE), so that
 * touching it costs one page fault per 2 MiB instead of one per 4 KiB: each fault
 * is dear (it zeroes a page and, for the zero page shared before a first write, flushes
 * the TLBs of the other cores), and a hashed table is touched everywhere. Elsewhere, and
 * for smaller tables, calloc.
 */
#ifndef MBZ_ZALLOC_H
#define MBZ_ZALLOC_H

#include <stddef.h>

/* n bytes of zeros, or NULL. */
void *mbz_zeroed_alloc(size_t n);
/* Free what mbz_zeroed_alloc(n) returned (NULL is fine). */
void mbz_zeroed_free(void *p, size_t n);

#endif
