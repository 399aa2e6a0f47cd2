/*  negentropy_varint.h — the Varint of Negentropy's wire (NIP-77), shared by
    the v1 session (negentropy.c) and Hearth's rateless mode
    (riblt_session.c): base-128 digits, most significant first, 0x80 on all
    but the last. Decoding reads peer bytes through a bounded cursor that
    never reads past `left` and refuses varints over 64 bits.
*/
#ifndef HEARTH_NEGENTROPY_VARINT_H
#define HEARTH_NEGENTROPY_VARINT_H

#include <stddef.h>
#include <stdint.h>
#include "hearth_error.h"

/*  Digits of a 64-bit value at most: ceil(64 / 7). */
#define NEGENTROPY_VARINT_MAX 10

/*  Cursor over a peer message. */
typedef struct {
    const uint8_t *p;       /* borrowed for the cursor's life */
    size_t         left;
} negentropy_reader_t;

/*  Encode value into out; returns the number of bytes (1..10). */
static inline size_t
negentropy_varint_encode (uint64_t value, uint8_t out [NEGENTROPY_VARINT_MAX])
{
    uint8_t digits [NEGENTROPY_VARINT_MAX];
    size_t n = 0;
    do {
        digits [n++] = (uint8_t) (value & 0x7f);
        value >>= 7;
    } while (value);
    for (size_t i = 0; i < n; i++)
        out [i] = (uint8_t) (digits [n - 1 - i] | (i + 1 < n? 0x80: 0));
    return n;
}

/*  The next n bytes (borrowed from the message), or HEARTH_EDECODE. */
static inline int
negentropy_reader_bytes (negentropy_reader_t *r, size_t n, const uint8_t **bytes)
{
    if (r->left < n)
        return HEARTH_EDECODE;
    *bytes = r->p;
    r->p += n;
    r->left -= n;
    return 0;
}

/*  A varint of at most 64 bits; longer or truncated ones: HEARTH_EDECODE. */
static inline int
negentropy_reader_varint (negentropy_reader_t *r, uint64_t *value)
{
    uint64_t v = 0;
    for (size_t i = 0; i < NEGENTROPY_VARINT_MAX; i++) {
        if (r->left == 0)
            return HEARTH_EDECODE;
        uint8_t byte = *r->p++;
        r->left--;
        if (v >> 57)                        /* shifting by 7 would lose bits */
            return HEARTH_EDECODE;
        v = (v << 7) | (byte & 0x7f);
        if (!(byte & 0x80)) {
            *value = v;
            return 0;
        }
    }
    return HEARTH_EDECODE;
}

#endif
