/* bigalloc.c — see bigalloc.h. */
#define _DEFAULT_SOURCE /* madvise, MADV_HUGEPAGE */
#include "bigalloc.h"

#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

#define BIG_PAGE ((size_t)2 << 20)

void *recd_big_realloc(void *old, size_t old_bytes, size_t new_bytes)
{
    size_t sz;
    void *p;

    if (new_bytes < BIG_PAGE) {
        return realloc(old, new_bytes ? new_bytes : 1);
    }
    sz = (new_bytes + BIG_PAGE - 1) / BIG_PAGE * BIG_PAGE;   /* aligned_alloc: a multiple */
    p = aligned_alloc(BIG_PAGE, sz);
    if (p == NULL) {
        return NULL;
    }
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    (void)madvise(p, sz, MADV_HUGEPAGE);   /* a hint: without THP it fails, harmlessly */
#endif
    if (old != NULL) {
        memcpy(p, old, old_bytes < new_bytes ? old_bytes : new_bytes);
        free(old);
    }
    return p;
}
