/*  market_util.h — small internal helpers shared by the market sources
    (not part of any public API).
*/
#ifndef HEARTH_MARKET_UTIL_H
#define HEARTH_MARKET_UTIL_H

#include <stddef.h>
#include <stdlib.h>
#include "hearth_error.h"
#include "hearth_vec.h"

/*  Grow *array (elements of elem bytes, *cap of them) to hold at least
    need, doubling from first (or from *cap). 0 or HEARTH_ENOMEM; on
    failure *array and *cap are unchanged. hearth_vec_grow under the old
    name, for the callers not converted to HEARTH_VEC_GROW yet. */
static inline int
market_util_reserve (void **array, size_t *cap, size_t need, size_t elem, size_t first)
{
    return hearth_vec_grow (array, cap, need, elem, first);
}

#endif
