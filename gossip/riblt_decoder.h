/*  riblt_decoder.h — peels the symmetric difference of two sets out of
    their coded symbols (riblt.h) as the symbols stream in.

    Feed it, in index order from 0, batches of the peer's ("remote") symbols
    together with our own ("local") symbols of the same indexes; after each
    batch it has peeled what it could. It is decoded once every symbol
    received so far is empty: then the remote-only ids (the peer has them,
    we lack them) and the local-only ids (we have, the peer lacks) are
    exactly the difference (unless a 64-bit hash collides: probability about
    2^-64 per pure-symbol test). Pure: no I/O, no clock. The peer's symbols
    are untrusted: the number of items peeled is capped and an id peeled
    twice makes decoding fail (HEARTH_EDECODE), never crash.
*/
#ifndef HEARTH_RIBLT_DECODER_H
#define HEARTH_RIBLT_DECODER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "riblt.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  Symbols one decoder accepts in all: 2^24, as RIBLT_ENCODER_SYMBOLS_MAX. */
#define RIBLT_DECODER_SYMBOLS_MAX   (1u << 24)
/*  Slack of the peeled-item cap, which is 2 x symbols received + this: an
    honest difference of d items needs more than d symbols. */
#define RIBLT_DECODER_ITEMS_SLACK   64

typedef struct _riblt_decoder_t riblt_decoder_t;

/*  New decoder with no symbols, or NULL if out of memory. */
riblt_decoder_t *riblt_decoder_new (void);

/*  Free the decoder and set *self_p to NULL. Safe on NULL and *self_p NULL. */
void riblt_decoder_destroy (riblt_decoder_t **self_p);

/*  Add symbols [received, received + count): remote [k] is the peer's symbol
    and local [k] ours, both borrowed; then peel. Returns 0; HEARTH_ETOOBIG
    past RIBLT_DECODER_SYMBOLS_MAX symbols; HEARTH_EDECODE when the symbols
    peel into more items than the cap or an id twice (the decoder is then
    failed: every later call returns HEARTH_EDECODE); HEARTH_ENOMEM. */
int riblt_decoder_add (riblt_decoder_t *self, const riblt_symbol_t *remote,
                       const riblt_symbol_t *local, size_t count);

/*  Symbols added so far. */
size_t riblt_decoder_received (const riblt_decoder_t *self);

/*  True when at least one symbol was added and every one is now empty. */
bool riblt_decoder_decoded (const riblt_decoder_t *self);

/*  Ids peeled so far that only the peer has (remote-only), *count_p of
    them, 32 bytes each, contiguous. Owned by the decoder; valid until the
    next add or destroy. Exactly the difference once decoded. */
const uint8_t *riblt_decoder_remote_ids (const riblt_decoder_t *self, size_t *count_p);

/*  Ids peeled so far that only we have (local-only); as above. */
const uint8_t *riblt_decoder_local_ids (const riblt_decoder_t *self, size_t *count_p);

#ifdef __cplusplus
}
#endif
#endif
