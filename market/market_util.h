/*  market_util.h — small internal helpers shared by the market sources
    (not part of any public API).
*/
#ifndef HEARTH_MARKET_UTIL_H
#define HEARTH_MARKET_UTIL_H

#include <stddef.h>
#include <stdlib.h>
#include "hearth_error.h"

/*  Grow *array (elements of elem bytes, *cap of them) to hold at least
    need, doubling from first (or from *cap). 0 or HEARTH_ENOMEM; on
    failure *array and *cap are unchanged. */
static inline int
market_util_reserve (void **array, size_t *cap, size_t need, size_t elem, size_t first)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap? *cap: first;
    while (n < need)
        n *= 2;
    void *grown = realloc (*array, n * elem);
    if (!grown)
        return HEARTH_ENOMEM;
    *array = grown;
    *cap = n;
    return 0;
}

#endif
