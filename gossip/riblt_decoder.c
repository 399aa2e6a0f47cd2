/*  riblt_decoder.c — the peeling decoder; see riblt_decoder.h.

    symbols [0, received) hold remote minus local. A pure symbol (count +1:
    a remote-only item; -1: local-only) gives an item; the item is then
    removed from every received symbol its mapping hits, which may make
    others pure (a stack of candidates). Each peeled item keeps its mapping
    positioned at its first index not yet received, so a later batch has the
    peeled items removed as it arrives. The remote-only and local-only ids
    are kept in a hash set as well, to refuse an id peeled twice.
*/
#include <stdlib.h>
#include <string.h>
#include "riblt_decoder.h"
#include "hearth_error.h"
#include "hearth_vec.h"

/*  First capacity of the growable arrays (elements). */
#define S_INITIAL   64

/*  One peeled item. */
typedef struct {
    uint8_t         id [RIBLT_ID_SIZE];
    uint64_t        hash;
    int64_t         direction;      /* +1 remote-only, -1 local-only */
    riblt_mapping_t mapping;        /* at its first index >= received */
} s_item_t;

struct _riblt_decoder_t {
    riblt_symbol_t *symbols;        /* owned: remote - local, `received` of them */
    size_t          received, symbols_cap;
    s_item_t       *items;          /* owned: peeled items */
    size_t          items_count, items_cap;
    size_t         *stack;          /* owned: candidate pure symbol indexes */
    size_t          stack_count, stack_cap;
    uint8_t        *remote_ids, *local_ids;    /* owned: 32-byte ids */
    size_t          remote_count, local_count;
    size_t          remote_cap, local_cap;
    uint32_t       *set;            /* owned: 0 empty, else 1 + item index */
    size_t          set_cap;        /* a power of two, > 2 x items */
    bool            failed;
};

static int
s_push (riblt_decoder_t *self, size_t index)
{
    if (HEARTH_VEC_GROW (self->stack, self->stack_cap, self->stack_count + 1, S_INITIAL))
        return HEARTH_ENOMEM;
    self->stack [self->stack_count++] = index;
    return 0;
}

/*  Slot of id in the set, or the empty slot where it would go. */
static size_t
s_set_probe (const riblt_decoder_t *self, const uint8_t *id, uint64_t hash)
{
    size_t mask = self->set_cap - 1;
    for (size_t i = (size_t) hash & mask;; i = (i + 1) & mask) {
        uint32_t slot = self->set [i];
        if (slot == 0 || memcmp (self->items [slot - 1].id, id, RIBLT_ID_SIZE) == 0)
            return i;
    }
}

/*  Make room in the set for one more item (rehash when half full). */
static int
s_set_reserve (riblt_decoder_t *self)
{
    if ((self->items_count + 1) * 2 <= self->set_cap)
        return 0;
    size_t cap = self->set_cap? self->set_cap * 2: 2 * S_INITIAL;
    uint32_t *set = (uint32_t *) calloc (cap, sizeof *set);
    if (!set)
        return HEARTH_ENOMEM;
    free (self->set);
    self->set = set;
    self->set_cap = cap;
    for (size_t k = 0; k < self->items_count; k++)
        self->set [s_set_probe (self, self->items [k].id, self->items [k].hash)] = (uint32_t) (k + 1);
    return 0;
}

/*  Remove item from symbols [0, received) (or from its saved position) and
    queue those that became pure; leaves its mapping at >= received. */
static int
s_remove_item (riblt_decoder_t *self, s_item_t *item)
{
    uint64_t i = item->mapping.index;
    while (i < self->received) {
        riblt_symbol_t *symbol = &self->symbols [i];
        riblt_symbol_apply (symbol, item->id, item->hash, -item->direction);
        if (riblt_symbol_is_pure (symbol) && s_push (self, (size_t) i))
            return HEARTH_ENOMEM;
        i = riblt_mapping_next (&item->mapping);
    }
    return 0;
}

/*  Peel until no candidate is left. */
static int
s_peel (riblt_decoder_t *self)
{
    while (self->stack_count > 0) {
        size_t index = self->stack [--self->stack_count];
        riblt_symbol_t *symbol = &self->symbols [index];
        if (!riblt_symbol_is_pure (symbol))
            continue;                       /* changed since it was queued */
        if (self->items_count >= 2 * self->received + RIBLT_DECODER_ITEMS_SLACK)
            return HEARTH_EDECODE;
        if (HEARTH_VEC_GROW (self->items, self->items_cap, self->items_count + 1, S_INITIAL)
         || s_set_reserve (self))
            return HEARTH_ENOMEM;
        s_item_t item;
        memcpy (item.id, symbol->id, RIBLT_ID_SIZE);
        item.hash = symbol->hash;
        item.direction = symbol->count;
        size_t slot = s_set_probe (self, item.id, item.hash);
        if (self->set [slot])
            return HEARTH_EDECODE;          /* peeled twice: not an honest difference */
        uint8_t **list = item.direction > 0? &self->remote_ids: &self->local_ids;
        size_t *count = item.direction > 0? &self->remote_count: &self->local_count;
        size_t *cap = item.direction > 0? &self->remote_cap: &self->local_cap;
        if (hearth_vec_grow (list, cap, *count + 1, RIBLT_ID_SIZE, S_INITIAL))   /* 32-byte ids */
            return HEARTH_ENOMEM;
        memcpy (*list + *count * RIBLT_ID_SIZE, item.id, RIBLT_ID_SIZE);
        (*count)++;
        riblt_mapping_init (&item.mapping, item.hash);
        self->items [self->items_count] = item;
        self->set [slot] = (uint32_t) (self->items_count + 1);
        self->items_count++;
        int rc = s_remove_item (self, &self->items [self->items_count - 1]);
        if (rc)
            return rc;
    }
    return 0;
}

riblt_decoder_t *
riblt_decoder_new (void)
{
    return (riblt_decoder_t *) calloc (1, sizeof (riblt_decoder_t));
}

void
riblt_decoder_destroy (riblt_decoder_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    riblt_decoder_t *self = *self_p;
    free (self->symbols);
    free (self->items);
    free (self->stack);
    free (self->remote_ids);
    free (self->local_ids);
    free (self->set);
    free (self);
    *self_p = NULL;
}

int
riblt_decoder_add (riblt_decoder_t *self, const riblt_symbol_t *remote,
                   const riblt_symbol_t *local, size_t count)
{
    if (self->failed)
        return HEARTH_EDECODE;
    if (count > RIBLT_DECODER_SYMBOLS_MAX - self->received)
        return HEARTH_ETOOBIG;
    if (count == 0)
        return 0;
    size_t first = self->received;
    if (HEARTH_VEC_GROW (self->symbols, self->symbols_cap, first + count, S_INITIAL))
        return HEARTH_ENOMEM;
    for (size_t k = 0; k < count; k++) {
        riblt_symbol_t *symbol = &self->symbols [first + k];
        for (int b = 0; b < RIBLT_ID_SIZE; b++)
            symbol->id [b] = remote [k].id [b] ^ local [k].id [b];
        symbol->hash = remote [k].hash ^ local [k].hash;
        symbol->count = (int64_t) ((uint64_t) remote [k].count - (uint64_t) local [k].count);
    }
    self->received = first + count;
    /*  Items peeled before: remove them from the new symbols. */
    int rc = 0;
    for (size_t k = 0; k < self->items_count && rc == 0; k++)
        rc = s_remove_item (self, &self->items [k]);
    for (size_t k = first; k < self->received && rc == 0; k++)
        if (riblt_symbol_is_pure (&self->symbols [k]))
            rc = s_push (self, k);
    if (rc == 0)
        rc = s_peel (self);
    if (rc)
        self->failed = true;                /* symbols half-peeled: no way back */
    return rc;
}

size_t
riblt_decoder_received (const riblt_decoder_t *self)
{
    return self->received;
}

bool
riblt_decoder_decoded (const riblt_decoder_t *self)
{
    if (self->failed || self->received == 0)
        return false;
    for (size_t k = 0; k < self->received; k++)
        if (!riblt_symbol_is_empty (&self->symbols [k]))
            return false;
    return true;
}

const uint8_t *
riblt_decoder_remote_ids (const riblt_decoder_t *self, size_t *count_p)
{
    *count_p = self->remote_count;
    return self->remote_ids;
}

const uint8_t *
riblt_decoder_local_ids (const riblt_decoder_t *self, size_t *count_p)
{
    *count_p = self->local_count;
    return self->local_ids;
}
