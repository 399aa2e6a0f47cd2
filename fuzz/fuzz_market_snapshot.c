/*  fuzz_market_snapshot.c — the market view's snapshot records
    (market/market_view.c restore path), as a node reads them back from
    disk at start-up.

    Input: a mode byte; even: the rest is one whole serialisation
    (market_view_restore); odd: the rest is chunks as parts (fuzz.h), fed
    through restore_begin / restore_chunk / restore_end as the event log
    does. Properties: restore fails only with its documented codes and
    leaves the view as it was; a state that restores reads back (list,
    each, search, counts) and re-serialises canonically: restoring its own
    serialisation gives the same bytes and digest.
*/
#include <string.h>
#include "fuzz.h"
#include "fuzz_world.h"
#include "hearth_error.h"
#include "market_view.h"

#define S_CHUNKS 8

static int
s_visit (void *arg, const market_post_t *post)
{
    (void) post;
    (*(size_t *) arg)++;
    return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    market_view_t *view = market_view_new ();
    FUZZ_CHECK (view);
    uint8_t before [32], after [32];
    FUZZ_CHECK (market_view_digest (view, before) == 0);
    int rc;
    if (!(data [0] & 1))
        rc = market_view_restore (view, data + 1, size - 1);
    else {
        fuzz_reader_t r = { data, size, 1 };
        FUZZ_CHECK (market_view_restore_begin (view) == 0);
        int crc = 0;
        for (int c = 0; c < S_CHUNKS && r.pos < r.size && crc == 0; c++) {
            size_t len;
            const uint8_t *chunk = fuzz_part (&r, &len);
            crc = market_view_restore_chunk (view, chunk, len);
            FUZZ_CHECK (crc == 0 || crc == HEARTH_EDECODE || crc == HEARTH_ECORRUPT
                     || crc == HEARTH_EINVAL);
        }
        rc = market_view_restore_end (view, 1);
        if (crc)
            FUZZ_CHECK (rc != 0);
    }
    if (rc != 0) {
        FUZZ_CHECK (rc == HEARTH_EDECODE || rc == HEARTH_ECORRUPT);
        FUZZ_CHECK (market_view_digest (view, after) == 0);
        FUZZ_CHECK (memcmp (before, after, 32) == 0);
        market_view_destroy (&view);
        return 0;
    }
    /*  Read it back. */
    static market_post_t posts [MARKET_LIST_MAX_LIMIT];
    market_query_t q = { .limit = MARKET_LIST_MAX_LIMIT };
    size_t listed = market_view_list (view, &q, NULL, 0, posts, MARKET_LIST_MAX_LIMIT);
    FUZZ_CHECK (listed <= market_view_count (view));
    size_t visited = 0;
    market_view_each (view, NULL, s_visit, &visited);
    FUZZ_CHECK (visited == market_view_count (view));
    for (size_t i = 0; i < listed; i++) {
        market_post_t p;
        FUZZ_CHECK (market_view_get (view, posts [i].event_id, NULL, &p) == 0);
    }
    double scores [8];
    market_post_t found [8];
    FUZZ_CHECK (market_view_search (view, "apples bike", 8, NULL, 0, found, scores) >= 0);
    /*  Canonical: its own serialisation restores to the same bytes. */
    uint8_t *s1 = NULL, *s2 = NULL;
    size_t l1 = 0, l2 = 0;
    FUZZ_CHECK (market_view_snapshot (view, &s1, &l1) == 0);
    market_view_t *copy = market_view_new ();
    FUZZ_CHECK (copy && market_view_restore (copy, s1, l1) == 0);
    FUZZ_CHECK (market_view_snapshot (copy, &s2, &l2) == 0);
    FUZZ_CHECK (l1 == l2 && memcmp (s1, s2, l1) == 0);
    FUZZ_CHECK (market_view_digest (view, before) == 0 && market_view_digest (copy, after) == 0);
    FUZZ_CHECK (memcmp (before, after, 32) == 0);
    free (s1);
    free (s2);
    market_view_destroy (&copy);
    market_view_destroy (&view);
    return 0;
}

typedef struct {
    uint8_t *buf;
    size_t   len;
} s_chunks_t;

static int
s_record (void *arg, const uint8_t *rec, size_t len)
{
    s_chunks_t *c = (s_chunks_t *) arg;
    fuzz_part_append (&c->buf, &c->len, rec, len);
    return 0;
}

void
fuzz_seeds (fuzz_emit_fn *emit, void *arg)
{
    fuzz_world_t w;
    fuzz_world_open (&w, "market-seeds", 1);
    market_view_t *view = market_view (w.market);
    uint8_t *snap = NULL;
    size_t len = 0;
    if (market_view_snapshot (view, &snap, &len) != 0)
        abort ();
    uint8_t *whole = (uint8_t *) malloc (len + 1);
    whole [0] = 0;
    memcpy (whole + 1, snap, len);
    emit (arg, whole, len + 1);
    free (whole);
    free (snap);
    /*  The same state as chunks of one record each. */
    uint8_t mode = 1;
    s_chunks_t c = { NULL, 0 };
    c.buf = (uint8_t *) malloc (1);
    c.buf [0] = mode;
    c.len = 1;
    market_view_records (view, s_record, &c);
    emit (arg, c.buf, c.len);
    free (c.buf);
    /*  An empty view. */
    market_view_t *empty = market_view_new ();
    market_view_snapshot (empty, &snap, &len);
    whole = (uint8_t *) malloc (len + 1);
    whole [0] = 0;
    memcpy (whole + 1, snap, len);
    emit (arg, whole, len + 1);
    free (whole);
    free (snap);
    market_view_destroy (&empty);
    fuzz_world_close (&w);
}
