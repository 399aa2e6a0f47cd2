/*  negentropy.c — one Negentropy v1 reconciliation session; see negentropy.h.

    Each incoming message is decoded range by range against the store:
      Skip           nothing to do here (peer is satisfied with this range);
      Fingerprint    equal to ours -> satisfied; else split our items in the
                     range into NEGENTROPY_BUCKETS fingerprinted buckets, or
                     list them when fewer than NEGENTROPY_IDLIST_THRESHOLD;
      IdList         initiator: ids it lacks are "need", ours missing from
                     the list are "have", range settled; responder: answer
                     with the full list of its own ids in the range.
    The opening splits its newest bucket again, level by level, down to an
    IdList (s_refine_head): a partition's events, at the head of the order,
    then come back in the first answer.
    Settled ranges are merged into one Skip range written just before the
    next range that says something (trailing ones are implicit).

    Frame size limit: after each range that wrote output we check that
    S_RESERVE bytes remain. If not, the range's output is rolled back, the
    pending Skip (if any) is written, and a final range [previous bound,
    infinity) carrying the fingerprint of ALL our items from there on closes
    the message; the peer will find it unequal and split it. When we hold
    none there it is an empty IdList instead (s_write_closing), and a
    responder answers a matching fingerprint of nothing with one too. Ranges before it
    are settled exactly once, so have/need never repeat an id. A responder's
    IdList that does not fit is cut at a minimal bound and the remainder
    closed the same way.

    Unlike the C++ reference, whose frame-limit fallback fingerprints from the
    end of the dropped range (and the JavaScript Negentropy of
    @nostr-dev-kit/sync, which fingerprints from the end of an IdList it
    cut), the closing fingerprint here covers exactly the closing range, so
    it only differs when the sets really differ.

    A closing range [B, infinity) also spans parts the initiator had already
    settled in earlier rounds (the responder never read its Skips there), so
    the initiator can meet an id again. It reports each id once: a hash set
    (SipHash with a random per-session key, so a peer cannot aim collisions
    at it) indexes the have/need lists.

    The initiator keeps the ranges it asked about (s_question_t) and checks
    the answer against them (s_check_range, s_check_claims): an answer that
    contradicts them is refused instead of ending with items missing.

    Every message is decoded completely before anything is done with it, so
    a malformed message changes nothing. The byte level (the output buffer,
    decoding a peer's ranges) is in negentropy_wire.c.
*/
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "negentropy.h"
#include "negentropy_varint.h"
#include "negentropy_wire.h"
#include "hearth_error.h"

/*  Longest varint of a uint64: ceil(64 / 7) digits. */
/*  Longest encoded bound: timestamp varint, prefix length (one byte for
    0..32), 32 prefix bytes. */
#define S_BOUND_MAX         (NEGENTROPY_VARINT_MAX + 1 + NEGENTROPY_ID_SIZE)
/*  A Skip range: bound + mode byte. */
#define S_SKIP_RANGE_MAX    (S_BOUND_MAX + 1)
/*  The closing range: infinity bound (0x00 0x00), mode byte, fingerprint. */
#define S_CLOSING_RANGE     (2 + 1 + NEGENTROPY_FINGERPRINT_SIZE)
/*  A Fingerprint range: bound + mode byte + fingerprint. */
#define S_FP_RANGE_MAX      (S_BOUND_MAX + 1 + NEGENTROPY_FINGERPRINT_SIZE)
/*  Room kept free after each range so a message can always be closed. */
#define S_RESERVE           (S_SKIP_RANGE_MAX + S_CLOSING_RANGE)
/*  Ids per have/need list at most: a set slot packs index << 1 | list into
    31 bits (plus one for "empty"). */
#define S_MAX_IDS           (UINT32_C (1) << 30)
/*  First size of the reported-id set (slots, a power of two); it doubles
    before it is half full. */
#define S_SEEN_INITIAL      1024

/*  A question: one range of the initiator's last message that asked
    something (a Fingerprint or an IdList), checked against the answer. */
typedef struct {
    negentropy_bound_t lower, upper;
    size_t             count;           /* our items in it when we asked */
    uint8_t            mode;
    bool               claimed;         /* a non-Skip answer range lies inside it */
    bool               found;           /* an answer range over it showed a difference */
} s_question_t;

/*  The ids already reported, as indexes into the have (list 0) and need
    (list 1) buffers; open addressing, linear probing. */
typedef struct {
    uint32_t *slots;                    /* owned; 0 = empty, else 1 + (index << 1 | list) */
    size_t    cap;                      /* 0 or a power of two */
    size_t    count;
} s_seen_t;

struct _negentropy_t {
    negentropy_store_t *store;          /* borrowed */
    size_t   frame_size_limit;
    bool     initiator;
    bool     started;                   /* initiated, or answered a message */
    bool     done;
    uint64_t last_ts_out;               /* delta base of our bounds, reset per message */
    negentropy_buf_t out;               /* the message being built */
    negentropy_buf_t have;              /* 32-byte ids, cumulative */
    negentropy_buf_t need;
    negentropy_buf_t theirs;            /* scratch: a peer IdList, sorted */
    negentropy_buf_t matched;           /* scratch: one flag per peer id */
    s_seen_t seen;                      /* ids in have + need */
    negentropy_bound_t bound_out;       /* the last bound written in this message */
    negentropy_bound_t bound_before;    /* the one before it: the written range's lower bound */
    negentropy_buf_t asked;             /* initiator: s_question_t of the last message sent */
    negentropy_buf_t asking;            /* initiator: s_question_t of the message being built */
    negentropy_bound_t head_bound;      /* initiator: lower bound of the opening's newest
                                           top-level bucket ((0, "") for an IdList opening):
                                           ranges ending at or below it are "old" */
    uint8_t  seen_key [crypto_shorthash_KEYBYTES];
    int      store_rc;                  /* first store error of the message being built */
    negentropy_stats_t stats;
};

/* ---- the reported-id set -------------------------------------------------- */

static const uint8_t *
s_seen_id (const negentropy_t *self, uint32_t slot)
{
    uint32_t entry = slot - 1;
    const negentropy_buf_t *list = entry & 1? &self->need: &self->have;
    return list->data + (size_t) (entry >> 1) * NEGENTROPY_ID_SIZE;
}

/*  Slot holding id, or the empty slot where it would go (*found false). */
static size_t
s_seen_probe (const negentropy_t *self, const uint8_t *id, bool *found)
{
    uint8_t hash [crypto_shorthash_BYTES];
    crypto_shorthash (hash, id, NEGENTROPY_ID_SIZE, self->seen_key);
    uint64_t h;
    memcpy (&h, hash, sizeof h);
    size_t mask = self->seen.cap - 1;
    for (size_t i = (size_t) h & mask;; i = (i + 1) & mask) {
        uint32_t slot = self->seen.slots [i];
        if (slot == 0 || memcmp (s_seen_id (self, slot), id, NEGENTROPY_ID_SIZE) == 0) {
            *found = slot != 0;
            return i;
        }
    }
}

/*  Refill the set (its slots all zero) from the have and need lists. */
static void
s_seen_refill (negentropy_t *self)
{
    self->seen.count = 0;
    for (uint32_t list = 0; list < 2; list++) {
        const negentropy_buf_t *buf = list? &self->need: &self->have;
        for (size_t index = 0; index < buf->size / NEGENTROPY_ID_SIZE; index++) {
            bool found;
            size_t i = s_seen_probe (self, buf->data + index * NEGENTROPY_ID_SIZE, &found);
            assert (!found);
            self->seen.slots [i] = (uint32_t) (1 + (index << 1 | list));
            self->seen.count++;
        }
    }
}

/*  Add id to have (list 0) or need (list 1) unless it was reported before. */
static int
s_report (negentropy_t *self, uint32_t list, const uint8_t *id)
{
    if ((self->seen.count + 1) * 2 > self->seen.cap) {
        size_t cap = self->seen.cap? self->seen.cap * 2: S_SEEN_INITIAL;
        uint32_t *slots = (uint32_t *) calloc (cap, sizeof *slots);
        if (!slots)
            return HEARTH_ENOMEM;
        free (self->seen.slots);
        self->seen.slots = slots;
        self->seen.cap = cap;
        s_seen_refill (self);
    }
    bool found;
    size_t i = s_seen_probe (self, id, &found);
    if (found)
        return 0;
    negentropy_buf_t *buf = list? &self->need: &self->have;
    size_t index = buf->size / NEGENTROPY_ID_SIZE;
    if (index >= S_MAX_IDS)
        return HEARTH_ECAPACITY;
    negentropy_buf_put (buf, id, NEGENTROPY_ID_SIZE);
    if (buf->failed)
        return HEARTH_ENOMEM;
    self->seen.slots [i] = (uint32_t) (1 + (index << 1 | list));
    self->seen.count++;
    return 0;
}

/* ---- encoding (our bytes) ------------------------------------------------- */

static void
s_write_bound (negentropy_t *self, const negentropy_bound_t *bound)
{
    if (self->store_rc)
        return;                             /* a store query failed: the message is dropped */
    if (bound->ts == NEGENTROPY_TIMESTAMP_MAX) {
        negentropy_buf_varint (&self->out, 0);
        self->last_ts_out = NEGENTROPY_TIMESTAMP_MAX;
    }
    else {
        /*  Our bounds ascend: they are the peer's (checked ascending) or
            minimal bounds between our items inside the peer's ranges. */
        assert (bound->ts >= self->last_ts_out);
        negentropy_buf_varint (&self->out, bound->ts - self->last_ts_out + 1);
        self->last_ts_out = bound->ts;
    }
    negentropy_buf_varint (&self->out, bound->len);
    negentropy_buf_put (&self->out, bound->id, bound->len);
    self->bound_before = self->bound_out;
    self->bound_out = *bound;
}

static const negentropy_bound_t s_infinity = { .ts = NEGENTROPY_TIMESTAMP_MAX, .len = 0 };

/*  Initiator: remember the range just written (bound, then mode) as a
    question of this message, holding count of our items. */
static void
s_ask (negentropy_t *self, negentropy_mode_t mode, size_t count)
{
    if (!self->initiator)
        return;
    s_question_t q = { .lower = self->bound_before, .upper = self->bound_out,
                       .count = count, .mode = (uint8_t) mode };
    negentropy_buf_put (&self->asking, &q, sizeof q);
}

/*  Shortest bound b with prev < b <= curr (two adjacent stored items). */
static void
s_minimal_bound (const negentropy_item_t *prev, const negentropy_item_t *curr, negentropy_bound_t *bound)
{
    memset (bound, 0, sizeof *bound);
    bound->ts = curr->timestamp;
    if (curr->timestamp != prev->timestamp)
        return;
    size_t shared = 0;
    while (shared < NEGENTROPY_ID_SIZE && curr->id [shared] == prev->id [shared])
        shared++;
    assert (shared < NEGENTROPY_ID_SIZE);   /* stored items are distinct */
    bound->len = (uint8_t) (shared + 1);
    memcpy (bound->id, curr->id, bound->len);
}

/*  Keep the first error of a store query (a backed store reads pages from
    disk): the message being built is then dropped, never sent. */
static void
s_store_check (negentropy_t *self, int rc)
{
    if (rc && !self->store_rc)
        self->store_rc = rc < 0? rc: HEARTH_ECORRUPT;
}

/*  Minimal bound between stored items index-1 and index. */
static void
s_minimal_bound_at (negentropy_t *self, size_t index, negentropy_bound_t *bound)
{
    negentropy_item_t prev, curr;
    int rc = negentropy_store_get (self->store, index - 1, &prev);
    if (rc == 0)
        rc = negentropy_store_get (self->store, index, &curr);
    if (rc) {
        s_store_check (self, rc);
        memset (bound, 0, sizeof *bound);   /* any bound: the message is dropped */
        return;
    }
    s_minimal_bound (&prev, &curr, bound);
}

static int
s_put_id (const negentropy_item_t *item, size_t index, void *arg)
{
    (void) index;
    negentropy_buf_put ((negentropy_buf_t *) arg, item->id, NEGENTROPY_ID_SIZE);
    return 0;
}

static void
s_write_fingerprint_range (negentropy_t *self, const negentropy_bound_t *upper_bound,
                           size_t lower, size_t upper)
{
    uint8_t fp [NEGENTROPY_FINGERPRINT_SIZE];
    s_store_check (self, negentropy_store_fingerprint (self->store, lower, upper, fp));
    s_write_bound (self, upper_bound);
    negentropy_buf_varint (&self->out, NEGENTROPY_MODE_FINGERPRINT);
    negentropy_buf_put (&self->out, fp, sizeof fp);
    s_ask (self, NEGENTROPY_MODE_FINGERPRINT, upper - lower);
}

/*  Close the message with [previous bound, infinity) over our items [lower,
    total): their fingerprint, or an empty IdList when there are none. The
    reference implementations, whose frame-limit fallback fingerprints from
    the end of the range they dropped, answer a fingerprint of an empty
    range with another one when their own frame fills up, and an initiator
    that holds nothing there would find them equal: an empty IdList is
    always answered with the peer's ids. */
static void
s_write_closing (negentropy_t *self, size_t lower, size_t total)
{
    if (lower < total) {
        s_write_fingerprint_range (self, &s_infinity, lower, total);
        return;
    }
    s_write_bound (self, &s_infinity);
    negentropy_buf_varint (&self->out, NEGENTROPY_MODE_IDLIST);
    negentropy_buf_varint (&self->out, 0);
    s_ask (self, NEGENTROPY_MODE_IDLIST, 0);
}

/*  Room the head refinement needs before it splits one more level: 16
    fingerprint ranges plus, at the last level, an IdList of fewer than
    NEGENTROPY_IDLIST_THRESHOLD ids (bound, mode, count varint, ids). */
#define S_HEAD_LEVEL_MAX    (NEGENTROPY_BUCKETS * S_FP_RANGE_MAX \
                             + S_BOUND_MAX + 2 + NEGENTROPY_VARINT_MAX \
                             + (NEGENTROPY_IDLIST_THRESHOLD - 1) * NEGENTROPY_ID_SIZE)

static void s_split_range (negentropy_t *self, size_t lower, size_t upper,
                           const negentropy_bound_t *upper_bound, int head_depth);

/*  True if the last bucket of a split at head_depth (0 = the opening's top
    level) is itself split again instead of fingerprinted: see
    negentropy_initiate(). */
static bool
s_refine_head (const negentropy_t *self, int head_depth, size_t bucket_count)
{
    if (head_depth < 0)
        return false;                       /* not the opening's head */
    if (head_depth == 0 && bucket_count < NEGENTROPY_IDLIST_THRESHOLD)
        return false;                       /* small set: the reference's opening */
    return self->frame_size_limit == 0
        || self->out.size + S_HEAD_LEVEL_MAX <= self->frame_size_limit;
}

/*  Our items [lower, upper), ending at upper_bound: listed when few, else
    split into NEGENTROPY_BUCKETS fingerprinted buckets of near-equal size.
    head_depth >= 0: this is the opening's newest range, whose last bucket
    may be split again (s_refine_head); -1 otherwise. */
static void
s_split_range (negentropy_t *self, size_t lower, size_t upper, const negentropy_bound_t *upper_bound,
               int head_depth)
{
    size_t count = upper - lower;
    if (count < NEGENTROPY_IDLIST_THRESHOLD) {
        s_write_bound (self, upper_bound);
        negentropy_buf_varint (&self->out, NEGENTROPY_MODE_IDLIST);
        negentropy_buf_varint (&self->out, count);
        s_store_check (self, negentropy_store_iterate (self->store, lower, upper, s_put_id, &self->out));
        s_ask (self, NEGENTROPY_MODE_IDLIST, count);
        return;
    }
    size_t per_bucket = count / NEGENTROPY_BUCKETS;
    size_t with_extra = count % NEGENTROPY_BUCKETS;
    size_t curr = lower;
    for (size_t i = 0; i < NEGENTROPY_BUCKETS; i++) {
        size_t next = curr + per_bucket + (i < with_extra? 1: 0);
        negentropy_bound_t bound;
        if (next == upper)
            bound = *upper_bound;
        else
            s_minimal_bound_at (self, next, &bound);
        if (i + 1 == NEGENTROPY_BUCKETS && head_depth == 0)
            s_minimal_bound_at (self, curr, &self->head_bound);
        if (i + 1 == NEGENTROPY_BUCKETS && s_refine_head (self, head_depth, next - curr))
            s_split_range (self, curr, next, &bound, head_depth + 1);
        else
            s_write_fingerprint_range (self, &bound, curr, next);
        curr = next;
    }
}

/*  Write the pending Skip range up to prev_bound, if any. */
static void
s_flush_skip (negentropy_t *self, bool *skip, const negentropy_bound_t *prev_bound)
{
    if (!*skip)
        return;
    *skip = false;
    s_write_bound (self, prev_bound);
    negentropy_buf_varint (&self->out, NEGENTROPY_MODE_SKIP);
}

static int
s_id_cmp (const void *a, const void *b)
{
    return memcmp (a, b, NEGENTROPY_ID_SIZE);
}

typedef struct {
    negentropy_t *self;
    size_t        theirs;               /* distinct peer ids, sorted in self->theirs */
    bool          differ;               /* an item of ours is missing from the list */
} s_diff_ctx_t;


static int
s_diff_one (const negentropy_item_t *item, size_t index, void *arg)
{
    (void) index;
    s_diff_ctx_t *ctx = (s_diff_ctx_t *) arg;
    negentropy_t *self = ctx->self;
    const uint8_t *hit = ctx->theirs == 0? NULL
        : (const uint8_t *) bsearch (item->id, self->theirs.data, ctx->theirs,
                                     NEGENTROPY_ID_SIZE, s_id_cmp);
    if (hit) {
        self->matched.data [(size_t) (hit - self->theirs.data) / NEGENTROPY_ID_SIZE] = 1;
        return 0;
    }
    ctx->differ = true;
    return s_report (self, 0, item->id);   /* non-zero stops the walk */
}

/*  Initiator got the peer's full id list (count ids at ids, borrowed) for
    our items [lower, upper): record have and need. *differ: the list and our
    items differ (also when the ids were reported before). */
static int
s_diff_ids (negentropy_t *self, const uint8_t *ids, size_t count, size_t lower, size_t upper,
            bool *differ)
{
    size_t bytes = count * NEGENTROPY_ID_SIZE;  /* count <= message size / 32: no overflow */
    self->theirs.size = 0;
    self->matched.size = 0;
    negentropy_buf_put (&self->theirs, ids, bytes);
    if (!negentropy_buf_reserve (&self->matched, count))
        return HEARTH_ENOMEM;
    if (self->theirs.failed)
        return HEARTH_ENOMEM;
    if (count > 1)
        qsort (self->theirs.data, count, NEGENTROPY_ID_SIZE, s_id_cmp);
    size_t distinct = 0;                    /* a peer may repeat an id; count it once */
    for (size_t i = 0; i < count; i++) {
        const uint8_t *id = self->theirs.data + i * NEGENTROPY_ID_SIZE;
        if (distinct > 0 && memcmp (id, self->theirs.data + (distinct - 1) * NEGENTROPY_ID_SIZE,
                                    NEGENTROPY_ID_SIZE) == 0)
            continue;
        memmove (self->theirs.data + distinct * NEGENTROPY_ID_SIZE, id, NEGENTROPY_ID_SIZE);
        distinct++;
    }
    if (distinct > 0)
        memset (self->matched.data, 0, distinct);
    s_diff_ctx_t ctx = { self, distinct, false };
    int rc = negentropy_store_iterate (self->store, lower, upper, s_diff_one, &ctx);
    /*  Needs in the peer's order, not sorted by hash: a peer lists a range
        in its store order (timestamp, id), so a joiner fetches the oldest
        first and can store them as they come (a join's IdLists hold ~32,000
        ids, far more than a reorder window). A repeated id is reported once
        (matched is set after the first). */
    for (size_t i = 0; i < count && rc == 0; i++) {
        const uint8_t *hit = (const uint8_t *) bsearch (ids + i * NEGENTROPY_ID_SIZE, self->theirs.data,
                                                        distinct, NEGENTROPY_ID_SIZE, s_id_cmp);
        assert (hit);                       /* theirs holds every id of the list */
        uint8_t *matched = self->matched.data + (size_t) (hit - self->theirs.data) / NEGENTROPY_ID_SIZE;
        if (!*matched) {
            *matched = 1;
            ctx.differ = true;
            rc = s_report (self, 1, hit);
        }
    }
    *differ = ctx.differ;
    return rc;
}

/*  Responder answers an IdList for [lower, upper) with all its ids there, or
    as many as fit. Returns the number of ids written and sets *cut when the
    list was cut; -1 when not even one id fits (caller rolls back). */
static long
s_reply_ids (negentropy_t *self, size_t lower, size_t upper, const negentropy_bound_t *upper_bound,
             bool *cut)
{
    size_t count = upper - lower;
    *cut = false;
    if (self->frame_size_limit) {
        size_t overhead = self->out.size + S_RESERVE + S_BOUND_MAX + 1 + NEGENTROPY_VARINT_MAX;
        size_t room = self->frame_size_limit > overhead? self->frame_size_limit - overhead: 0;
        size_t fit = room / NEGENTROPY_ID_SIZE;
        if (fit < count) {
            if (fit == 0)
                return -1;
            count = fit;
            *cut = true;
        }
    }
    negentropy_bound_t bound = *upper_bound;
    if (*cut)
        s_minimal_bound_at (self, lower + count, &bound);
    s_write_bound (self, &bound);
    negentropy_buf_varint (&self->out, NEGENTROPY_MODE_IDLIST);
    negentropy_buf_varint (&self->out, count);
    s_store_check (self, negentropy_store_iterate (self->store, lower, lower + count, s_put_id,
                                                   &self->out));
    return (long) count;
}

/* ---- checking an answer against our questions ----------------------------- */

/*  A correct responder answers each of our questions with a Skip (a
    fingerprint equal to its own), with ranges that split it exactly (its
    fingerprint differs), or, once its frame is full, with one closing
    Fingerprint range [W, infinity) over all its items from the last range it
    wrote; it answers an IdList with its own ids (perhaps cut, then closed).
    So, while our items in a question have not changed since we asked:
      1. a Skip over an IdList question is wrong (the ids went unanswered);
      2. a Fingerprint question answered with ranges inside it claims a
         difference, which some range over it must show;
      3. a closing range equal to ours over only Fingerprint questions
         contradicts the split the responder dropped (that question differed);
      4. an id list cut inside an IdList question claims more ids in the
         rest of it: a closing fingerprint equal to ours right after it
         needs at least one item of ours there.
    Each is reported as an inconsistent answer instead of success with
    items missing. The C++ and JavaScript reference responders break 3 when
    given a fingerprint of an empty range (s_write_closing) and the
    responder of @nostr-dev-kit/sync breaks 4. */
typedef struct {
    size_t    cursor;                   /* first question not wholly before the answer range */
    bool      cut;                      /* the previous answer range cut an IdList question */
    negentropy_bound_t cut_at, cut_end;          /* where, and that question's upper bound */
    negentropy_bound_t checked;                  /* answer ranges up to here were checked */
} s_check_t;

/*  Our items in [lower, upper) now, into *count. */
static int
s_count (negentropy_t *self, const negentropy_bound_t *lower, const negentropy_bound_t *upper, size_t *count)
{
    size_t a, b;
    int rc = negentropy_store_lower_bound (self->store, lower->ts, lower->id, &a);
    if (!rc)
        rc = negentropy_store_lower_bound (self->store, upper->ts, upper->id, &b);
    if (rc)
        return rc;
    *count = b > a? b - a: 0;
    return 0;
}

/*  True (or a negative code) if our items in question q are as when we asked. */
static int
s_unchanged (negentropy_t *self, const s_question_t *q)
{
    size_t count;
    int rc = s_count (self, &q->lower, &q->upper, &count);
    return rc? rc: count == q->count;
}

static int
s_inconsistent (negentropy_t *self)
{
    self->stats.answers_inconsistent++;
    return HEARTH_EDECODE;
}

/*  Note answer range [lower, upper) of the given mode, which showed a
    difference (differ) or not. Returns 0 or a negative code. */
static int
s_check_range (negentropy_t *self, s_check_t *check, const negentropy_bound_t *lower, const negentropy_bound_t *upper,
               uint64_t mode, bool differ)
{
    s_question_t *qs = (s_question_t *) self->asked.data;
    size_t n = self->asked.size / sizeof *qs;
    bool cut = check->cut;
    check->cut = false;
    check->checked = *upper;
    if (negentropy_bound_cmp (lower, upper) >= 0)
        return 0;                           /* an empty range says nothing */
    while (check->cursor < n && negentropy_bound_cmp (&qs [check->cursor].upper, lower) <= 0)
        check->cursor++;
    size_t first = check->cursor, end = first;
    bool all_fp = true;
    for (; end < n && negentropy_bound_cmp (&qs [end].lower, upper) < 0; end++) {
        if (qs [end].mode == NEGENTROPY_MODE_IDLIST) {
            all_fp = false;
            if (mode == NEGENTROPY_MODE_SKIP)
                return s_inconsistent (self);                               /* 1 */
        }
        if (mode != NEGENTROPY_MODE_SKIP && differ)
            qs [end].found = true;
    }
    if (mode == NEGENTROPY_MODE_SKIP || end == first)
        return 0;
    s_question_t *q = &qs [first];
    bool inside = end == first + 1 && negentropy_bound_cmp (&q->lower, lower) <= 0
               && negentropy_bound_cmp (upper, &q->upper) <= 0;
    if (inside) {
        q->claimed = true;
        if (mode == NEGENTROPY_MODE_IDLIST && q->mode == NEGENTROPY_MODE_IDLIST
        &&  negentropy_bound_cmp (upper, &q->upper) < 0) {
            check->cut = true;
            check->cut_at = *upper;
            check->cut_end = q->upper;
        }
    }
    if (mode != NEGENTROPY_MODE_FINGERPRINT || differ)
        return 0;
    if (cut && negentropy_bound_cmp (lower, &check->cut_at) == 0) {                  /* 4 */
        size_t count;
        int rc = s_count (self, &check->cut_at, &check->cut_end, &count);
        if (rc)
            return rc;
        if (count == 0)
            return s_inconsistent (self);
    }
    if (!inside && all_fp) {                                                /* 3 */
        for (size_t i = first; i < end; i++) {
            int rc = s_unchanged (self, &qs [i]);
            if (rc <= 0)
                return rc;
        }
        return s_inconsistent (self);
    }
    return 0;
}

/*  After the answer: every question answered as differing showed it (2).
    Questions past the ranges we checked are left alone (we stopped early
    and ask about them again). */
static int
s_check_claims (negentropy_t *self, const s_check_t *check)
{
    s_question_t *qs = (s_question_t *) self->asked.data;
    size_t n = self->asked.size / sizeof *qs;
    for (size_t i = 0; i < n; i++) {
        if (qs [i].mode != NEGENTROPY_MODE_FINGERPRINT || !qs [i].claimed || qs [i].found
        ||  negentropy_bound_cmp (&qs [i].upper, &check->checked) > 0)
            continue;
        int rc = s_unchanged (self, &qs [i]);
        if (rc < 0)
            return rc;
        if (rc)
            return s_inconsistent (self);
    }
    return 0;
}

/*  Decode msg (already validated) and build self->out. */
static int
s_process (negentropy_t *self, const uint8_t *msg, size_t size)
{
    negentropy_reader_t r = { msg + 1, size - 1 };   /* past the version byte */
    uint64_t last_ts_in = 0;
    self->last_ts_out = 0;
    size_t total = negentropy_store_size (self->store);
    negentropy_bound_t prev_bound = { .ts = 0, .len = 0 };
    size_t prev_index = 0;
    bool skip = false, closed = false;
    s_check_t check = { 0 };
    s_question_t *qs = (s_question_t *) self->asked.data;
    for (size_t i = 0; i < self->asked.size / sizeof *qs; i++)
        qs [i].claimed = qs [i].found = false;  /* a message retried after an error */
    while (r.left > 0) {
        size_t mark = self->out.size, mark_asking = self->asking.size;
        uint64_t mark_ts = self->last_ts_out;
        negentropy_bound_t mark_bound = self->bound_out, mark_before = self->bound_before;
        bool mark_skip = skip;

        negentropy_range_t range;
        int rc = negentropy_read_range (&r, &last_ts_in, &prev_bound, &range);
        if (rc)
            return rc;
        self->stats.ranges_in++;
        size_t lower = prev_index;
        size_t upper;
        rc = negentropy_store_lower_bound (self->store, range.bound.ts, range.bound.id, &upper);
        if (rc)
            return rc;
        if (upper < lower)
            upper = lower;
        bool overflow = false, cut = false, differ = false, differ_seen = false;
        size_t cut_index = 0;

        if (range.mode == NEGENTROPY_MODE_SKIP)
            skip = true;
        else
        if (range.mode == NEGENTROPY_MODE_FINGERPRINT) {
            uint8_t ours [NEGENTROPY_FINGERPRINT_SIZE];
            rc = negentropy_store_fingerprint (self->store, lower, upper, ours);
            if (rc)
                return rc;
            if (memcmp (range.fingerprint, ours, NEGENTROPY_FINGERPRINT_SIZE) == 0 && upper == lower
                && !self->initiator) {
                /*  Equal, and empty here: answered with an empty IdList, not
                    a Skip. A reference initiator whose frame filled up closes
                    with the fingerprint of its items after the range it
                    dropped, which is this one when it held none there; an
                    IdList makes it compare all its items in the range. */
                s_flush_skip (self, &skip, &prev_bound);
                s_split_range (self, lower, upper, &range.bound, -1);
            }
            else
            if (memcmp (range.fingerprint, ours, NEGENTROPY_FINGERPRINT_SIZE) == 0)
                skip = true;
            else {
                differ = differ_seen = self->initiator;
                s_flush_skip (self, &skip, &prev_bound);
                s_split_range (self, lower, upper, &range.bound, -1);
            }
        }
        else
        if (self->initiator) {              /* IdList: settle the range */
            size_t reported = self->have.size + self->need.size;
            bool any;
            rc = s_diff_ids (self, range.ids, range.count, lower, upper, &any);
            if (rc)
                return rc;
            if (any)
                differ_seen = true;
            differ = self->have.size + self->need.size != reported;
            if (differ && negentropy_bound_cmp (&range.bound, &self->head_bound) > 0)
                self->stats.ids_differ_head += (self->have.size + self->need.size - reported)
                                               / NEGENTROPY_ID_SIZE;
            skip = true;
        }
        else {                              /* IdList: answer with ours */
            s_flush_skip (self, &skip, &prev_bound);
            long written = s_reply_ids (self, lower, upper, &range.bound, &cut);
            if (written < 0)
                overflow = true;
            else
                cut_index = lower + (size_t) written;
        }

        if (self->out.failed)
            return HEARTH_ENOMEM;
        if (self->store_rc)
            return self->store_rc;
        if (self->initiator) {
            rc = s_check_range (self, &check, &prev_bound, &range.bound, range.mode, differ_seen);
            if (rc)
                return rc;
        }
        if (cut) {
            s_write_closing (self, cut_index, total);
            closed = true;
            break;
        }
        if (overflow || (self->frame_size_limit && self->out.size + S_RESERVE > self->frame_size_limit)) {
            self->out.size = mark;
            self->asking.size = mark_asking;
            self->last_ts_out = mark_ts;
            self->bound_out = mark_bound;
            self->bound_before = mark_before;
            skip = mark_skip;
            s_flush_skip (self, &skip, &prev_bound);
            s_write_closing (self, lower, total);
            closed = true;
            break;
        }
        if (differ && negentropy_bound_cmp (&range.bound, &self->head_bound) <= 0)
            self->stats.ranges_differ_old++;
        else
        if (differ)
            self->stats.ranges_differ_head++;
        prev_index = upper;
        prev_bound = range.bound;
    }
    if (self->initiator && !closed) {       /* the implicit Skip to infinity, then the claims */
        int rc = s_check_range (self, &check, &prev_bound, &s_infinity, NEGENTROPY_MODE_SKIP, false);
        if (!rc)
            rc = s_check_claims (self, &check);
        if (rc)
            return rc;
    }
    else
    if (self->initiator) {
        int rc = s_check_claims (self, &check);
        if (rc)
            return rc;
    }
    if (self->asking.failed)
        return HEARTH_ENOMEM;
    return self->out.failed? HEARTH_ENOMEM: self->store_rc;
}

/*  Check the whole message: version byte and every range. Returns 0, or
    1 when a responder must answer with its version byte alone. */
static int
s_validate (const negentropy_t *self, const uint8_t *msg, size_t size)
{
    if (size == 0)
        return HEARTH_EDECODE;
    if (msg [0] >= NEGENTROPY_EXTENSION_MIN && msg [0] <= NEGENTROPY_EXTENSION_MAX)
        return self->initiator? HEARTH_EDECODE: 1;     /* a Hearth mode offer: decline */
    if (msg [0] < NEGENTROPY_PROTOCOL_VERSION_MIN || msg [0] > NEGENTROPY_PROTOCOL_VERSION_MAX)
        return HEARTH_EDECODE;
    if (msg [0] != NEGENTROPY_PROTOCOL_VERSION)
        return self->initiator? HEARTH_ESCHEMA: 1;
    negentropy_reader_t r = { msg + 1, size - 1 };
    uint64_t last_ts_in = 0;
    negentropy_bound_t prev = { .ts = 0, .len = 0 };
    while (r.left > 0) {
        negentropy_range_t range;
        int rc = negentropy_read_range (&r, &last_ts_in, &prev, &range);
        if (rc)
            return rc;
        prev = range.bound;
    }
    return 0;
}

/* ---- public --------------------------------------------------------------- */

negentropy_t *
negentropy_new (negentropy_store_t *store, size_t frame_size_limit)
{
    if (!store || (frame_size_limit != 0 && frame_size_limit < NEGENTROPY_FRAME_SIZE_MIN))
        return NULL;
    negentropy_t *self = (negentropy_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->store = store;
    self->frame_size_limit = frame_size_limit;
    if (sodium_init () < 0) {
        free (self);
        return NULL;
    }
    crypto_shorthash_keygen (self->seen_key);
    return self;
}

void
negentropy_destroy (negentropy_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    negentropy_t *self = *self_p;
    negentropy_buf_free (&self->out);
    negentropy_buf_free (&self->have);
    negentropy_buf_free (&self->need);
    negentropy_buf_free (&self->theirs);
    negentropy_buf_free (&self->matched);
    negentropy_buf_free (&self->asked);
    negentropy_buf_free (&self->asking);
    free (self->seen.slots);
    free (self);
    *self_p = NULL;
}

int
negentropy_initiate (negentropy_t *self, const uint8_t **msg_p, size_t *size_p)
{
    *msg_p = NULL;
    *size_p = 0;
    if (self->started)
        return HEARTH_EINVAL;
    self->started = true;
    self->initiator = true;
    self->last_ts_out = 0;
    self->out.size = 0;
    self->asking.size = 0;
    self->bound_out = self->bound_before = (negentropy_bound_t) { .ts = 0, .len = 0 };
    negentropy_buf_byte (&self->out, NEGENTROPY_PROTOCOL_VERSION);
    self->store_rc = 0;
    s_split_range (self, 0, negentropy_store_size (self->store), &s_infinity, 0);
    if (self->out.failed || self->asking.failed || self->store_rc) {
        int rc = self->out.failed || self->asking.failed? HEARTH_ENOMEM: self->store_rc;
        self->out.failed = self->asking.failed = false;
        self->store_rc = 0;
        self->started = self->initiator = false;
        return rc;
    }
    negentropy_buf_t asked = self->asked;          /* the opening's questions */
    self->asked = self->asking;
    self->asking = asked;
    self->stats.messages_out++;
    self->stats.bytes_out += self->out.size;
    *msg_p = self->out.data;
    *size_p = self->out.size;
    return 0;
}

int
negentropy_reconcile (negentropy_t *self, const uint8_t *msg, size_t size,
                      const uint8_t **reply_p, size_t *reply_size_p)
{
    *reply_p = NULL;
    *reply_size_p = 0;
    if (!msg && size > 0)
        return HEARTH_EINVAL;
    if (self->initiator && self->done)
        return HEARTH_EINVAL;
    self->started = true;
    self->stats.messages_in++;
    self->stats.bytes_in += size;

    self->out.size = 0;
    self->asking.size = 0;
    self->bound_out = self->bound_before = (negentropy_bound_t) { .ts = 0, .len = 0 };
    self->store_rc = 0;
    negentropy_buf_byte (&self->out, NEGENTROPY_PROTOCOL_VERSION);
    int rc = s_validate (self, msg, size);
    if (rc == 1) {
        self->stats.version_rejects++;  /* answer: our version byte alone */
        rc = 0;
    }
    else
    if (rc == 0) {
        size_t have_size = self->have.size, need_size = self->need.size;
        rc = s_process (self, msg, size);
        if (rc) {                           /* out of memory or a store error: undo this message's ids */
            self->have.size = have_size;
            self->need.size = need_size;
            if (self->seen.cap) {
                memset (self->seen.slots, 0, self->seen.cap * sizeof *self->seen.slots);
                s_seen_refill (self);
            }
        }
    }
    if (self->out.failed)
        rc = HEARTH_ENOMEM;
    self->out.failed = self->have.failed = self->need.failed = false;
    self->theirs.failed = self->matched.failed = self->asking.failed = false;
    if (rc)
        return rc;
    if (self->initiator) {                  /* this message's questions are checked against the next answer */
        negentropy_buf_t asked = self->asked;
        self->asked = self->asking;
        self->asking = asked;
    }
    if (self->initiator && self->out.size == 1) {
        self->done = true;                  /* nothing left to ask */
        return 0;
    }
    self->stats.messages_out++;
    self->stats.bytes_out += self->out.size;
    *reply_p = self->out.data;
    *reply_size_p = self->out.size;
    return 0;
}

bool
negentropy_done (const negentropy_t *self)
{
    return self->done;
}

bool
negentropy_is_initiator (const negentropy_t *self)
{
    return self->initiator;
}

const uint8_t *
negentropy_have_ids (const negentropy_t *self, size_t *count_p)
{
    *count_p = self->have.size / NEGENTROPY_ID_SIZE;
    return self->have.data;
}

const uint8_t *
negentropy_need_ids (const negentropy_t *self, size_t *count_p)
{
    *count_p = self->need.size / NEGENTROPY_ID_SIZE;
    return self->need.data;
}

void
negentropy_stats (const negentropy_t *self, negentropy_stats_t *stats)
{
    *stats = self->stats;
}
