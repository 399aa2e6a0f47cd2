/*  hearth_memory.c — process-wide heap policy (see hearth_memory.h). */
#include "hearth_memory.h"
#ifdef __GLIBC__
#include <malloc.h>
#endif

void
hearth_memory_setup (void)
{
#ifdef __GLIBC__
    mallopt (M_MMAP_THRESHOLD, HEARTH_MEMORY_MMAP_THRESHOLD);
#endif
}

void
hearth_memory_release (void)
{
#ifdef __GLIBC__
    malloc_trim (0);
#endif
}
