/*  riblt.h — rateless invertible Bloom lookup table coded symbols (Yang,
    Gilad, Alizadeh, "Practical Rateless Set Reconciliation", SIGCOMM 2024;
    reference: github.com/yangl1996/riblt). The value type shared by
    riblt_encoder (a set's first symbols), riblt_decoder (peels a difference)
    and riblt_session (Hearth's wire mode). Pure: no I/O, no clock.

    A set is encoded as an endless stream of coded symbols 0, 1, 2, ...; each
    symbol is (XOR of the ids mapped to it, XOR of their 64-bit hashes, how
    many there are). Item x is mapped to symbol 0 and then to a pseudo-random,
    ever sparser sequence of indexes seeded by its hash: index i is in the
    sequence with probability 1/(1 + i/2). Subtracting two sets' symbols
    leaves the symbols of their symmetric difference, which peel apart
    ("pure" symbols hold one item: count +-1 and hash(id) equal to the hash
    field) after about 1.35-1.7 symbols per differing item, whatever the
    sets' sizes.

    Items are Hearth event hashes (32 bytes). The mapping uses IEEE-754
    double arithmetic (one sqrt, as the reference): correctly rounded on
    every platform Hearth targets; this file must not be built with
    -ffast-math.
*/
#ifndef HEARTH_RIBLT_H
#define HEARTH_RIBLT_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  Bytes in an item id (an event hash; = NEGENTROPY_ID_SIZE). */
#define RIBLT_ID_SIZE   32

/*  One coded symbol, a plain value. */
typedef struct {
    uint8_t  id [RIBLT_ID_SIZE];    /* XOR of the ids */
    uint64_t hash;                  /* XOR of riblt_hash() of the ids */
    int64_t  count;                 /* items added minus items removed */
} riblt_symbol_t;

/*  An item's walk through the symbol indexes, a plain value. */
typedef struct {
    uint64_t prng;                  /* generator state */
    uint64_t index;                 /* the current index; starts at 0 */
} riblt_mapping_t;

/*  64-bit hash of an id: the purity check and the mapping seed. Not keyed:
    both peers must agree on it. Nonlinear, so the XOR of several ids'
    hashes is not the hash of their XOR. */
uint64_t riblt_hash (const uint8_t id [RIBLT_ID_SIZE]);

/*  Start the walk of an item whose hash is hash: mapping->index = 0. */
void riblt_mapping_init (riblt_mapping_t *mapping, uint64_t hash);

/*  Step to the item's next symbol index and return it (strictly larger than
    the previous one; UINT64_MAX once past every index a uint64 can hold). */
uint64_t riblt_mapping_next (riblt_mapping_t *mapping);

/*  Add (direction +1) or remove (-1) an item to/from symbol. */
void riblt_symbol_apply (riblt_symbol_t *symbol, const uint8_t id [RIBLT_ID_SIZE],
                         uint64_t hash, int64_t direction);

/*  True if symbol holds exactly one item (count +-1 and the hash matches). */
bool riblt_symbol_is_pure (const riblt_symbol_t *symbol);

/*  True if symbol is empty (count 0, id and hash all zero). */
bool riblt_symbol_is_empty (const riblt_symbol_t *symbol);

#ifdef __cplusplus
}
#endif
#endif
