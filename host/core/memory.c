#include "memory.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define HUGE_PAGE ((size_t)2 << 20)

void *img_alloc_large(size_t size, size_t align)
{
    if (size < HUGE_PAGE) {
        /* aligned_alloc wants a multiple of the alignment. */
        size_t rounded = (size + align - 1) & ~(align - 1);
        return aligned_alloc(align, rounded ? rounded : align);
    }
    if (size > SIZE_MAX - HUGE_PAGE)
        return NULL;
    size_t rounded = (size + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    void *p = aligned_alloc(HUGE_PAGE, rounded);
#ifdef MADV_HUGEPAGE
    /* Advice only: a kernel without THP, or with it off, keeps small pages. */
    if (p)
        (void)madvise(p, rounded, MADV_HUGEPAGE);
#endif
    return p;
}
