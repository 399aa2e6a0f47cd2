/*  fuzz_membership_snapshot.c — the membership view's snapshot
    (eventlog/membership.c restore), read from disk at every start.

    Input: a MembershipSnapshot (judged as the snapshot of the community it
    names, unless its first byte is odd). Properties: restore fails only with
    EDECODE or ECORRUPT; a state that restores answers queries and
    re-serialises canonically (restore of its own snapshot gives the same
    bytes).
*/
#include <string.h>
#include "fuzz.h"
#include "fuzz_world.h"
#include "hearth_error.h"
#include "membership.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    /*  The community the snapshot names when it names one (so the fuzzer
        gets past the first check; the node's own id is compared there). */
    uint8_t community [32] = { 0xc0, 0x11 };
    Hearth__MembershipSnapshot *peek = hearth__membership_snapshot__unpack (NULL, size, data);
    if (peek && size > 0 && peek->community_id.len == 32 && (data [0] & 1) == 0)
        memcpy (community, peek->community_id.data, 32);
    if (peek)
        hearth__membership_snapshot__free_unpacked (peek, NULL);
    membership_t *m = membership_new (community);
    FUZZ_CHECK (m);
    int rc = membership_restore (m, data, size);
    if (rc != 0) {
        FUZZ_CHECK (rc == HEARTH_EDECODE || rc == HEARTH_ECORRUPT);
        membership_destroy (&m);
        return 0;
    }
    const uint8_t *cid = membership_community_id (m);
    FUZZ_CHECK (cid);
    (void) membership_count (m);
    (void) membership_level (m, cid);
    (void) membership_revoked (m, cid);
    (void) membership_invite_pending (m, cid, 0);
    uint8_t *s1 = NULL, *s2 = NULL;
    size_t l1 = 0, l2 = 0;
    FUZZ_CHECK (membership_snapshot (m, &s1, &l1) == 0);
    membership_t *copy = membership_new (community);
    FUZZ_CHECK (copy && membership_restore (copy, s1, l1) == 0);
    FUZZ_CHECK (membership_snapshot (copy, &s2, &l2) == 0);
    FUZZ_CHECK (l1 == l2 && memcmp (s1, s2, l1) == 0);
    FUZZ_CHECK (membership_count (copy) == membership_count (m));
    free (s1);
    free (s2);
    membership_destroy (&copy);
    membership_destroy (&m);
    return 0;
}

void
fuzz_seeds (fuzz_emit_fn *emit, void *arg)
{
    fuzz_world_t w;
    fuzz_world_open (&w, "membership-seeds", 1);
    uint8_t *buf = NULL;
    size_t len = 0;
    if (membership_snapshot (eventlog_membership (w.log), &buf, &len) != 0)
        abort ();
    emit (arg, buf, len);
    free (buf);
    membership_t *empty = membership_new (eventlog_community_id (w.log));
    membership_snapshot (empty, &buf, &len);
    emit (arg, buf, len);
    free (buf);
    membership_destroy (&empty);
    fuzz_world_close (&w);
}
