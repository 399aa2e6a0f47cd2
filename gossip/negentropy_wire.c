/*  negentropy_wire.c — the byte level of a Negentropy v1 message (NIP-77),
    for the session in negentropy.c: the growable output buffer and the
    decoding of a peer's ranges. See negentropy_wire.h.

    Decoding reads peer bytes only through the bounded negentropy_reader_t
    cursor: it never reads past the message, refuses bounds whose prefix is
    longer than an id, ranges that go backwards, unknown modes and IdLists
    longer than what is left. A buffer latches its first allocation failure
    (`failed`), so writers need not check each call.
*/
#include <stdlib.h>
#include <string.h>
#include "negentropy_wire.h"
#include "hearth_error.h"
#include "hearth_vec.h"

/*  First output buffer allocation. */
#define S_BUF_INITIAL       4096

/* ---- buffers -------------------------------------------------------------- */

bool
negentropy_buf_reserve (negentropy_buf_t *buf, size_t more)
{
    if (buf->failed)
        return false;
    size_t need;
    if (__builtin_add_overflow (buf->size, more, &need)) {
        buf->failed = true;
        return false;
    }
    if (need <= buf->cap)
        return true;
    if (HEARTH_VEC_GROW (buf->data, buf->cap, need, S_BUF_INITIAL)) {
        buf->failed = true;
        return false;
    }
    return true;
}

void
negentropy_buf_put (negentropy_buf_t *buf, const void *bytes, size_t n)
{
    if (n == 0 || !negentropy_buf_reserve (buf, n))
        return;
    memcpy (buf->data + buf->size, bytes, n);
    buf->size += n;
}

void
negentropy_buf_byte (negentropy_buf_t *buf, uint8_t byte)
{
    negentropy_buf_put (buf, &byte, 1);
}

/*  Varint: 7-bit digits (0x7f), most significant first, 0x80 on all but
    the last. */
void
negentropy_buf_varint (negentropy_buf_t *buf, uint64_t value)
{
    uint8_t out [NEGENTROPY_VARINT_MAX];
    negentropy_buf_put (buf, out, negentropy_varint_encode (value, out));
}

void
negentropy_buf_free (negentropy_buf_t *buf)
{
    free (buf->data);
    memset (buf, 0, sizeof *buf);
}

/* ---- decoding (peer bytes) ------------------------------------------------ */

static int
s_read_bound (negentropy_reader_t *r, uint64_t *last_ts_in, negentropy_bound_t *bound)
{
    uint64_t encoded, len;
    int rc = negentropy_reader_varint (r, &encoded);
    if (rc)
        return rc;
    if (encoded == 0)
        bound->ts = NEGENTROPY_TIMESTAMP_MAX;
    else
    if (__builtin_add_overflow (encoded - 1, *last_ts_in, &bound->ts))
        bound->ts = NEGENTROPY_TIMESTAMP_MAX;   /* saturates at infinity, as the spec's reference */
    *last_ts_in = bound->ts;

    rc = negentropy_reader_varint (r, &len);
    if (rc)
        return rc;
    if (len > NEGENTROPY_ID_SIZE)
        return HEARTH_EDECODE;
    const uint8_t *prefix;
    rc = negentropy_reader_bytes (r, (size_t) len, &prefix);
    if (rc)
        return rc;
    memset (bound->id, 0, NEGENTROPY_ID_SIZE);
    memcpy (bound->id, prefix, (size_t) len);
    bound->len = (uint8_t) len;
    return 0;
}

/*  Decode the next range; prev is the previous range's upper bound (the
    bounds must not go backwards). */
int
negentropy_read_range (negentropy_reader_t *r, uint64_t *last_ts_in, const negentropy_bound_t *prev, negentropy_range_t *range)
{
    int rc = s_read_bound (r, last_ts_in, &range->bound);
    if (!rc)
        rc = negentropy_reader_varint (r, &range->mode);
    if (rc)
        return rc;
    if (negentropy_bound_cmp (&range->bound, prev) < 0)
        return HEARTH_EDECODE;              /* ranges must ascend */
    range->fingerprint = range->ids = NULL;
    range->count = 0;
    if (range->mode == NEGENTROPY_MODE_SKIP)
        return 0;
    if (range->mode == NEGENTROPY_MODE_FINGERPRINT)
        return negentropy_reader_bytes (r, NEGENTROPY_FINGERPRINT_SIZE, &range->fingerprint);
    if (range->mode == NEGENTROPY_MODE_IDLIST) {
        uint64_t count;
        if (negentropy_reader_varint (r, &count) || count > r->left / NEGENTROPY_ID_SIZE)
            return HEARTH_EDECODE;
        range->count = (size_t) count;
        return negentropy_reader_bytes (r, range->count * NEGENTROPY_ID_SIZE, &range->ids);
    }
    return HEARTH_EDECODE;                  /* unknown mode */
}
