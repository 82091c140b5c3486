/* Large buffers (images, whole files) that are filled once, right after allocation.
 *
 * A 4K image is 25 MB: touched 4 KiB at a time, that is 6000 page faults, and on a
 * virtual machine each costs microseconds, tens of milliseconds per image before any
 * pixel is decoded. Buffers of 2 MiB or more are therefore aligned to 2 MiB and marked
 * for transparent huge pages (madvise MADV_HUGEPAGE: the kernel's default policy on
 * Debian is "madvise"), so the same bytes cost a dozen faults. Where the kernel says
 * no, the buffer is an ordinary one. */
#ifndef IMG_CORE_MEMORY_H
#define IMG_CORE_MEMORY_H

#include <stddef.h>

/* size bytes aligned to `align` (a power of two, at most 2 MiB), or NULL. Release with
 * free(). */
void *img_alloc_large(size_t size, size_t align);

#endif
