/*  riblt_session.c — the Hearth rateless IBLT reconciliation mode; see
    riblt_session.h.

    Initiator: Request(0, 0) -> Symbols -> decoder; decoded: done; else
    Request the next batch, as many symbols again as it has (the total
    doubles), up to the cap; then HEARTH_ECAPACITY. Responder: answers each
    Request from its snapshot, cut to the frame limit. Each message is
    checked whole before anything is used.
*/
#include <stdlib.h>
#include <string.h>
#include "riblt_session.h"
#include "negentropy_varint.h"
#include "riblt_decoder.h"
#include "negentropy.h"
#include "hearth_error.h"
#include "hearth_vec.h"

/*  Longest varint of a uint64: ceil(64 / 7) digits. */
/*  Bytes of a symbol's fixed part: id XOR and hash XOR. */
#define S_SYMBOL_FIXED      (RIBLT_ID_SIZE + 8)
/*  Longest encoded symbol. */
#define S_SYMBOL_MAX        (S_SYMBOL_FIXED + NEGENTROPY_VARINT_MAX)
/*  Longest Symbols header: version, type, three varints. */
#define S_HEADER_MAX        (2 + 3 * NEGENTROPY_VARINT_MAX)

struct _riblt_session_t {
    riblt_encoder_t *encoder;           /* borrowed */
    size_t           frame_size_limit;
    bool             started, initiator, done, finished;
    riblt_symbol_t  *snapshot;          /* owned: our first `length` symbols */
    size_t           length;            /* min (encoder length, RIBLT_SYMBOLS_MAX) */
    uint64_t         items;             /* our set size at the snapshot */
    riblt_decoder_t *decoder;           /* owned, initiator only */
    riblt_symbol_t  *scratch;           /* owned: a peer batch, decoded */
    size_t           scratch_cap;
    uint64_t         asked_from, asked_count;  /* initiator: pending request */
    uint8_t         *out;               /* owned */
    size_t           out_size, out_cap;
    riblt_session_stats_t stats;
};

/* ---- bytes ---------------------------------------------------------------- */

static int
s_out_reserve (riblt_session_t *self, size_t more)
{
    if (self->out_size + more <= self->out_cap)
        return 0;
    return HEARTH_VEC_GROW (self->out, self->out_cap, self->out_size + more, 4096);
}

/*  Callers reserve first: these never fail. */
static void
s_put_byte (riblt_session_t *self, uint8_t byte)
{
    self->out [self->out_size++] = byte;
}

static void
s_put_varint (riblt_session_t *self, uint64_t value)
{
    uint8_t out [NEGENTROPY_VARINT_MAX];
    size_t n = negentropy_varint_encode (value, out);
    for (size_t i = 0; i < n; i++)
        s_put_byte (self, out [i]);
}

/* ---- both roles ----------------------------------------------------------- */

static int
s_snapshot (riblt_session_t *self)
{
    size_t length;
    const riblt_symbol_t *symbols = riblt_encoder_symbols (self->encoder, &length);
    if (length > RIBLT_SYMBOLS_MAX)
        length = RIBLT_SYMBOLS_MAX;
    self->snapshot = (riblt_symbol_t *) malloc (length * sizeof *symbols);
    if (!self->snapshot)
        return HEARTH_ENOMEM;
    memcpy (self->snapshot, symbols, length * sizeof *symbols);
    self->length = length;
    self->items = riblt_encoder_items (self->encoder);
    return 0;
}

static int
s_write_request (riblt_session_t *self, uint64_t from, uint64_t count)
{
    self->out_size = 0;
    if (s_out_reserve (self, S_HEADER_MAX))
        return HEARTH_ENOMEM;
    s_put_byte (self, RIBLT_PROTOCOL_VERSION);
    s_put_byte (self, RIBLT_MSG_REQUEST);
    s_put_varint (self, self->items);
    s_put_varint (self, from);
    s_put_varint (self, count);
    self->asked_from = from;
    self->asked_count = count;
    return 0;
}

/* ---- responder ------------------------------------------------------------ */

static int
s_respond (riblt_session_t *self, const uint8_t *msg, size_t size)
{
    if (size < 2 || msg [0] != RIBLT_PROTOCOL_VERSION || msg [1] != RIBLT_MSG_REQUEST)
        return HEARTH_EDECODE;
    negentropy_reader_t r = { msg + 2, size - 2 };
    uint64_t items, from, count;
    if (negentropy_reader_varint (&r, &items) || negentropy_reader_varint (&r, &from) || negentropy_reader_varint (&r, &count)
     || r.left != 0)
        return HEARTH_EDECODE;
    if (!self->snapshot) {
        int rc = s_snapshot (self);
        if (rc)
            return rc;
    }
    self->out_size = 0;
    if (s_out_reserve (self, S_HEADER_MAX))
        return HEARTH_ENOMEM;
    if (count == 0) {
        /*  First batch: the size difference is a lower bound of the set
            difference (exact when only one side has extra items). */
        uint64_t diff = items > self->items? items - self->items: self->items - items;
        if (diff > self->length)            /* cannot fit: also keeps the product small */
            count = UINT64_MAX;
        else
            count = diff * RIBLT_FIRST_BATCH_PERCENT / 100 + RIBLT_BATCH_MIN;
        if (count > self->length) {
            s_put_byte (self, RIBLT_PROTOCOL_VERSION);
            s_put_byte (self, RIBLT_MSG_TOO_LARGE);
            s_put_varint (self, self->items);
            return 0;
        }
    }
    uint64_t k = from >= self->length? 0: self->length - from;
    if (count < k)
        k = count;
    if (self->frame_size_limit) {
        uint64_t fit = (self->frame_size_limit - S_HEADER_MAX) / S_SYMBOL_MAX;
        if (fit < k)
            k = fit;
    }
    if (s_out_reserve (self, (size_t) k * S_SYMBOL_MAX))
        return HEARTH_ENOMEM;
    s_put_byte (self, RIBLT_PROTOCOL_VERSION);
    s_put_byte (self, RIBLT_MSG_SYMBOLS);
    s_put_varint (self, self->items);
    s_put_varint (self, from);
    s_put_varint (self, k);
    for (uint64_t i = 0; i < k; i++) {
        const riblt_symbol_t *symbol = &self->snapshot [from + i];
        memcpy (self->out + self->out_size, symbol->id, RIBLT_ID_SIZE);
        self->out_size += RIBLT_ID_SIZE;
        for (int b = 0; b < 8; b++)
            s_put_byte (self, (uint8_t) (symbol->hash >> (8 * b)));
        s_put_varint (self, (uint64_t) symbol->count);
    }
    self->stats.symbols_out += k;
    return 0;
}

/* ---- initiator ------------------------------------------------------------ */

static int
s_read_symbols (riblt_session_t *self, negentropy_reader_t *r, uint64_t k)
{
    if (k > r->left / (S_SYMBOL_FIXED + 1))
        return HEARTH_EDECODE;              /* cannot be there: checked before allocating */
    if (k > self->scratch_cap) {
        riblt_symbol_t *scratch = (riblt_symbol_t *) realloc (self->scratch, (size_t) k * sizeof *scratch);
        if (!scratch)
            return HEARTH_ENOMEM;
        self->scratch = scratch;
        self->scratch_cap = (size_t) k;
    }
    for (uint64_t i = 0; i < k; i++) {
        riblt_symbol_t *symbol = &self->scratch [i];
        if (r->left < S_SYMBOL_FIXED)
            return HEARTH_EDECODE;
        memcpy (symbol->id, r->p, RIBLT_ID_SIZE);
        symbol->hash = 0;
        for (int b = 7; b >= 0; b--)
            symbol->hash = (symbol->hash << 8) | r->p [RIBLT_ID_SIZE + b];
        r->p += S_SYMBOL_FIXED;
        r->left -= S_SYMBOL_FIXED;
        uint64_t count;
        if (negentropy_reader_varint (r, &count))
            return HEARTH_EDECODE;
        symbol->count = (int64_t) count;
    }
    return r->left == 0? 0: HEARTH_EDECODE;
}

/*  Estimate of the difference's size from the count fields of symbols
    [first, first + k) (just received, in self->scratch) before peeling.
    The count of symbol i is R - L, R and L the peer's and our items mapped
    there: about Poisson with means r/w and l/w, w = 1 + i/2, r + l = d the
    difference, r - l = delta the size difference. So E[count^2] =
    d/w + delta^2/w^2, and count^2 w - delta^2/w estimates d; averaged
    over the batch. Balanced differences (delta = 0) are what the first
    batch, sized from delta, cannot see. */
static uint64_t
s_estimate (const riblt_session_t *self, uint64_t peer_items, size_t first, size_t k)
{
    double delta = (double) peer_items - (double) self->items;
    double sum = 0;
    for (size_t j = 0; j < k; j++) {
        double w = 1.0 + (double) (first + j) / 2.0;
        double c = (double) self->scratch [j].count - (double) self->snapshot [first + j].count;
        sum += c * c * w - delta * delta / w;
    }
    double d = k? sum / (double) k: 0;
    return d <= 0? 0: d >= 1e18? UINT64_MAX: (uint64_t) d;
}

static int
s_initiator_step (riblt_session_t *self, const uint8_t *msg, size_t size)
{
    if (size == 0)
        return HEARTH_EDECODE;
    if (msg [0] >= NEGENTROPY_PROTOCOL_VERSION_MIN && msg [0] <= NEGENTROPY_PROTOCOL_VERSION_MAX)
        return HEARTH_ESCHEMA;              /* the peer speaks Negentropy only */
    if (size < 2 || msg [0] != RIBLT_PROTOCOL_VERSION)
        return HEARTH_EDECODE;
    negentropy_reader_t r = { msg + 2, size - 2 };
    uint64_t items, from, k;
    if (negentropy_reader_varint (&r, &items))
        return HEARTH_EDECODE;
    if (msg [1] == RIBLT_MSG_TOO_LARGE)
        return r.left == 0? HEARTH_ECAPACITY: HEARTH_EDECODE;
    if (msg [1] != RIBLT_MSG_SYMBOLS || negentropy_reader_varint (&r, &from) || negentropy_reader_varint (&r, &k))
        return HEARTH_EDECODE;
    size_t received = riblt_decoder_received (self->decoder);
    if (from != received || from != self->asked_from)
        return HEARTH_EDECODE;
    if (self->asked_count && k > self->asked_count)
        return HEARTH_EDECODE;              /* more than asked for */
    int rc = s_read_symbols (self, &r, k);
    if (rc)
        return rc;
    if (k == 0)
        return HEARTH_ECAPACITY;            /* the responder has no more symbols */
    self->stats.symbols_in += k;
    /*  A first batch (count 0: the responder chose) may run past our own
        symbols: use what we can subtract. */
    uint64_t used = k < self->length - received? k: self->length - received;
    rc = riblt_decoder_add (self->decoder, self->scratch, self->snapshot + received, (size_t) used);
    if (rc)
        return rc == HEARTH_ENOMEM? rc: HEARTH_ECAPACITY;
    if (riblt_decoder_decoded (self->decoder)) {
        self->done = true;
        self->out_size = 0;
        return 0;
    }
    received += (size_t) used;
    if (received >= self->length)
        return HEARTH_ECAPACITY;
    /*  Next batch: as many again (the total doubles), or more if the
        symbols' counts show a larger difference. */
    uint64_t next = received < RIBLT_BATCH_MIN? RIBLT_BATCH_MIN: received;
    uint64_t estimate = s_estimate (self, items, received - (size_t) used, (size_t) used);
    if (estimate > self->length)
        estimate = self->length;
    uint64_t target = estimate * RIBLT_FIRST_BATCH_PERCENT / 100 + RIBLT_BATCH_MIN;
    if (target > received && target - received > next)
        next = target - received;
    if (next > self->length - received)
        next = self->length - received;
    return s_write_request (self, received, next);
}

/* ---- public --------------------------------------------------------------- */

riblt_session_t *
riblt_session_new (riblt_encoder_t *encoder, size_t frame_size_limit)
{
    if (!encoder || (frame_size_limit != 0 && frame_size_limit < RIBLT_FRAME_SIZE_MIN))
        return NULL;
    riblt_session_t *self = (riblt_session_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->encoder = encoder;
    self->frame_size_limit = frame_size_limit;
    return self;
}

void
riblt_session_destroy (riblt_session_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    riblt_session_t *self = *self_p;
    free (self->snapshot);
    riblt_decoder_destroy (&self->decoder);
    free (self->scratch);
    free (self->out);
    free (self);
    *self_p = NULL;
}

int
riblt_session_initiate (riblt_session_t *self, const uint8_t **msg_p, size_t *size_p)
{
    *msg_p = NULL;
    *size_p = 0;
    if (self->started)
        return HEARTH_EINVAL;
    self->decoder = riblt_decoder_new ();
    int rc = self->decoder? s_snapshot (self): HEARTH_ENOMEM;
    if (rc == 0)
        rc = s_write_request (self, 0, 0);
    if (rc) {
        riblt_decoder_destroy (&self->decoder);
        free (self->snapshot);
        self->snapshot = NULL;
        return rc;
    }
    self->started = self->initiator = true;
    self->stats.messages_out++;
    self->stats.bytes_out += self->out_size;
    *msg_p = self->out;
    *size_p = self->out_size;
    return 0;
}

int
riblt_session_reconcile (riblt_session_t *self, const uint8_t *msg, size_t size,
                         const uint8_t **reply_p, size_t *reply_size_p)
{
    *reply_p = NULL;
    *reply_size_p = 0;
    if (!msg && size > 0)
        return HEARTH_EINVAL;
    if (self->initiator && (self->done || self->finished))
        return HEARTH_EINVAL;
    self->started = true;
    self->stats.messages_in++;
    self->stats.bytes_in += size;
    int rc = self->initiator? s_initiator_step (self, msg, size): s_respond (self, msg, size);
    if (rc) {
        if (self->initiator)
            self->finished = true;
        return rc;
    }
    if (self->out_size == 0)
        return 0;                           /* initiator done */
    self->stats.messages_out++;
    self->stats.bytes_out += self->out_size;
    *reply_p = self->out;
    *reply_size_p = self->out_size;
    return 0;
}

bool
riblt_session_done (const riblt_session_t *self)
{
    return self->done;
}

const uint8_t *
riblt_session_have_ids (const riblt_session_t *self, size_t *count_p)
{
    *count_p = 0;
    if (!self->done)
        return NULL;
    return riblt_decoder_local_ids (self->decoder, count_p);
}

const uint8_t *
riblt_session_need_ids (const riblt_session_t *self, size_t *count_p)
{
    *count_p = 0;
    if (!self->done)
        return NULL;
    return riblt_decoder_remote_ids (self->decoder, count_p);
}

void
riblt_session_stats (const riblt_session_t *self, riblt_session_stats_t *stats)
{
    *stats = self->stats;
}
