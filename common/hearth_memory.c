/*  hearth_memory.c — heap policy and trimming (see hearth_memory.h). */
#include <stdlib.h>                         /* first: defines __GLIBC__ (features.h) */
#include "hearth_memory.h"
#ifdef __GLIBC__
#include <malloc.h>
#endif

int
hearth_memory_setup (void)
{
#ifdef __GLIBC__
    return mallopt (M_MMAP_THRESHOLD, HEARTH_MEMORY_MMAP_THRESHOLD) == 1? 0: -1;
#else
    return 0;
#endif
}

void
hearth_memory_release (void)
{
#ifdef __GLIBC__
    malloc_trim (0);
#endif
}
