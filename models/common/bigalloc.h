/* bigalloc.h — large model arrays on transparent huge pages.
 *
 * The models' big arrays (per-item statistics and accumulators, per-session records, factor
 * matrices, the item text matrix) are read at random rows, several thousand times per batch:
 * with 4 KiB pages most of those reads also miss the TLB, and under virtualisation a miss walks
 * two page tables. recd_big_realloc() grows such an array like realloc(), but from 2 MiB up it
 * allocates 2 MiB-aligned memory advised MADV_HUGEPAGE, so the kernel backs it with 2 MiB
 * pages when transparent huge pages are "madvise" or "always" (docs/OPERATIONS.md). Contents
 * and results are unchanged; only the page size differs.
 *
 * Ownership: the returned block replaces `old` (which is freed on success and kept on
 * failure, as with realloc); free it with free(). */
#ifndef RECD_BIGALLOC_H
#define RECD_BIGALLOC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Grow (or create, old = NULL) a block of old_bytes to new_bytes: the first
 * min(old_bytes, new_bytes) bytes are kept, the rest is uninitialised. NULL on allocation
 * failure (old untouched). */
void *recd_big_realloc(void *old, size_t old_bytes, size_t new_bytes);

#ifdef __cplusplus
}
#endif

#endif
