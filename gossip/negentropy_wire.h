/*  negentropy_wire.h — private to gossip/ (hearth_recon): the byte level of
    a Negentropy v1 message that negentropy.c (the session) uses from
    negentropy_wire.c: a growable byte buffer, range bounds and the decoding
    of a peer's ranges. Nothing outside the library includes it.
*/
#ifndef HEARTH_NEGENTROPY_WIRE_H
#define HEARTH_NEGENTROPY_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "negentropy.h"
#include "negentropy_varint.h"

/*  A growable byte buffer; `failed` latches an allocation failure so writers
    need not check each call. */
typedef struct {
    uint8_t *data;          /* owned; free with negentropy_buf_free */
    size_t   size;
    size_t   cap;
    bool     failed;
} negentropy_buf_t;

/*  A range bound: (ts, id) with only the first len id bytes significant
    (the rest are zero). ts == NEGENTROPY_TIMESTAMP_MAX is infinity. */
typedef struct {
    uint64_t ts;
    uint8_t  id [NEGENTROPY_ID_SIZE];
    uint8_t  len;
} negentropy_bound_t;

/*  One decoded range of a peer message; pointers borrow the message. */
typedef struct {
    negentropy_bound_t bound;           /* upper bound */
    uint64_t           mode;
    const uint8_t     *fingerprint;     /* mode 1: 16 bytes; borrowed */
    const uint8_t     *ids;             /* mode 2: count x 32 bytes; borrowed */
    size_t             count;
} negentropy_range_t;

/*  Order of bounds: by ts, then by id bytes. Static inline: the session
    compares bounds for every range it reads and writes. */
static inline int
negentropy_bound_cmp (const negentropy_bound_t *a, const negentropy_bound_t *b)
{
    if (a->ts != b->ts)
        return a->ts < b->ts? -1: 1;
    return memcmp (a->id, b->id, NEGENTROPY_ID_SIZE);
}

/*  Room for `more` bytes after size; false (and buf->failed latched) if the
    size overflows or memory runs out. */
bool negentropy_buf_reserve (negentropy_buf_t *buf, size_t more);

/*  Append n bytes, one byte, a varint (nothing once failed). */
void negentropy_buf_put (negentropy_buf_t *buf, const void *bytes, size_t n);
void negentropy_buf_byte (negentropy_buf_t *buf, uint8_t byte);
void negentropy_buf_varint (negentropy_buf_t *buf, uint64_t value);

/*  Free the data and zero the buffer (reusable after). */
void negentropy_buf_free (negentropy_buf_t *buf);

/*  Decode the next range into *range (its pointers borrow the message);
    *last_ts_in is the delta base of the peer's bounds, prev the previous
    range's upper bound (the bounds must not go backwards). 0 or
    HEARTH_EDECODE. */
int negentropy_read_range (negentropy_reader_t *r, uint64_t *last_ts_in,
                           const negentropy_bound_t *prev, negentropy_range_t *range);

#endif
