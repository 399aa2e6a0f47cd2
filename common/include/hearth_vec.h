/*  hearth_vec.h — growing a plain C array: one function with the
    overflow checks, so every growable array doubles the same way.

    The array stays the caller's (a T * field, a size_t capacity and a
    count beside it); this only finds room:

        if (HEARTH_VEC_GROW (self->items, self->cap, self->n + 1, 16))
            return HEARTH_ENOMEM;             // self->items still valid
        self->items [self->n++] = item;

    Capacity doubles (starting at min_cap), so n appends cost O(n) copies.
*/
#ifndef HEARTH_VEC_H
#define HEARTH_VEC_H

#include <stddef.h>
#include <string.h>
#include "hearth_error.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  Room for need elements of size bytes each in array (NULL or a malloc'd
    block of *cap elements). Returns array itself if *cap >= need, else the
    block realloc'd to the smallest min_cap * 2^k >= need elements, with
    *cap set to that. NULL, with array (still owned by the caller) and *cap
    untouched, if out of memory or the byte size would overflow size_t;
    size must not be 0. */
void *hearth_vec_reserve (void *array, size_t *cap, size_t need, size_t size, size_t min_cap);

/*  hearth_vec_reserve on the pointer at array_p (any T **, copied in and
    out with memcpy, so no pointer is accessed through another type).
    0, or HEARTH_ENOMEM with *array_p and *cap untouched. */
static inline int
hearth_vec_grow (void *array_p, size_t *cap, size_t need, size_t size, size_t min_cap)
{
    if (need <= *cap)
        return 0;               /* the common case, inline */
    void *array;
    memcpy (&array, array_p, sizeof array);
    void *grown = hearth_vec_reserve (array, cap, need, size, min_cap);
    if (!grown)
        return HEARTH_ENOMEM;
    memcpy (array_p, &grown, sizeof grown);
    return 0;
}

/*  Room for need elements in array (an lvalue T *), capacity cap (an
    lvalue size_t). 0 or HEARTH_ENOMEM. */
#define HEARTH_VEC_GROW(array, cap, need, min_cap) \
    hearth_vec_grow (&(array), &(cap), (need), sizeof *(array), (min_cap))

#ifdef __cplusplus
}
#endif
#endif
