/*  riblt_encoder.h — the first coded symbols of one set (the node's event
    hashes), kept up to date on every insert, so a reconciliation session
    never walks the whole set: it copies a prefix of these symbols.

    Cost: an insert touches the symbols its mapping hits below the
    encoder's length, about 1 + 2 ln(length / 2) of them (~20 for 32,768);
    memory is 48 bytes per symbol (1.5 MiB for 32,768). Items are only ever
    added (Hearth's log is append-only). Pure; single-threaded: the gossip
    layer adds each accepted event's hash here and to the negentropy store.
*/
#ifndef HEARTH_RIBLT_ENCODER_H
#define HEARTH_RIBLT_ENCODER_H

#include <stddef.h>
#include <stdint.h>
#include "riblt.h"
#include "negentropy_store.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  Default length: decodes differences of up to ~20,000 items (at ~1.6
    symbols each), beyond which range reconciliation is cheaper anyway. */
#define RIBLT_ENCODER_SYMBOLS_DEFAULT   32768
/*  Longest encoder allowed: 2^24 symbols = 768 MiB, far past any use. */
#define RIBLT_ENCODER_SYMBOLS_MAX       (1u << 24)

typedef struct _riblt_encoder_t riblt_encoder_t;

/*  Empty set encoded as its first `symbols` coded symbols (1 ..
    RIBLT_ENCODER_SYMBOLS_MAX). NULL on a bad length or out of memory. */
riblt_encoder_t *riblt_encoder_new (size_t symbols);

/*  Free the encoder and set *self_p to NULL. Safe on NULL and *self_p NULL. */
void riblt_encoder_destroy (riblt_encoder_t **self_p);

/*  Add one item (id borrowed). The caller adds each item once: a second add
    of the same id would cancel the first. */
void riblt_encoder_add (riblt_encoder_t *self, const uint8_t id [RIBLT_ID_SIZE]);

/*  Add every item of store (the start-up scan; one pass). Returns 0 or the
    negative code of the store's iteration. */
int riblt_encoder_add_store (riblt_encoder_t *self, const negentropy_store_t *store);

/*  Items added so far. */
uint64_t riblt_encoder_items (const riblt_encoder_t *self);

/*  The symbols, *count_p of them (the encoder's length); owned by the
    encoder, valid until the next add or destroy. */
const riblt_symbol_t *riblt_encoder_symbols (const riblt_encoder_t *self, size_t *count_p);

#ifdef __cplusplus
}
#endif
#endif
