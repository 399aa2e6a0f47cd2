/*  hearth_vec.c — growing a plain C array; see hearth_vec.h. */
#include <stdint.h>
#include <stdlib.h>
#include "hearth_vec.h"

void *
hearth_vec_reserve (void *array, size_t *cap, size_t need, size_t size, size_t min_cap)
{
    if (need <= *cap)
        return array;
    if (size == 0)
        return NULL;
    size_t limit = SIZE_MAX / size;         /* most elements a block can hold */
    if (need > limit)
        return NULL;
    size_t grown = *cap? *cap: (min_cap? min_cap: 1);
    while (grown < need)
        grown = grown > limit / 2? limit: grown * 2;
    void *block = realloc (array, grown * size);
    if (!block)
        return NULL;
    *cap = grown;
    return block;
}
