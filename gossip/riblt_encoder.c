/*  riblt_encoder.c — a set's first coded symbols, updated per insert; see
    riblt_encoder.h. */
#include <stdlib.h>
#include "riblt_encoder.h"
#include "hearth_error.h"

struct _riblt_encoder_t {
    riblt_symbol_t *symbols;            /* owned, `length` of them */
    size_t          length;
    uint64_t        items;
};

riblt_encoder_t *
riblt_encoder_new (size_t symbols)
{
    if (symbols == 0 || symbols > RIBLT_ENCODER_SYMBOLS_MAX)
        return NULL;
    riblt_encoder_t *self = (riblt_encoder_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->symbols = (riblt_symbol_t *) calloc (symbols, sizeof *self->symbols);
    if (!self->symbols) {
        free (self);
        return NULL;
    }
    self->length = symbols;
    return self;
}

void
riblt_encoder_destroy (riblt_encoder_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->symbols);
    free (*self_p);
    *self_p = NULL;
}

void
riblt_encoder_add (riblt_encoder_t *self, const uint8_t id [RIBLT_ID_SIZE])
{
    uint64_t hash = riblt_hash (id);
    riblt_mapping_t mapping;
    riblt_mapping_init (&mapping, hash);
    for (uint64_t i = 0; i < self->length; i = riblt_mapping_next (&mapping))
        riblt_symbol_apply (&self->symbols [i], id, hash, 1);
    self->items++;
}

static int
s_add_item (const negentropy_item_t *item, size_t index, void *arg)
{
    (void) index;
    riblt_encoder_add ((riblt_encoder_t *) arg, item->id);
    return 0;
}

int
riblt_encoder_add_store (riblt_encoder_t *self, const negentropy_store_t *store)
{
    return negentropy_store_iterate (store, 0, negentropy_store_size (store), s_add_item, self);
}

uint64_t
riblt_encoder_items (const riblt_encoder_t *self)
{
    return self->items;
}

const riblt_symbol_t *
riblt_encoder_symbols (const riblt_encoder_t *self, size_t *count_p)
{
    *count_p = self->length;
    return self->symbols;
}
