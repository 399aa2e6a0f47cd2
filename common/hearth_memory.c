/*  hearth_memory.c — hand freed heap back to the OS (see hearth_memory.h). */
#include <stdlib.h>                         /* first: defines __GLIBC__ (features.h) */
#include "hearth_memory.h"
#ifdef __GLIBC__
#include <malloc.h>
#endif

void
hearth_memory_release (void)
{
#ifdef __GLIBC__
    malloc_trim (0);
#endif
}
