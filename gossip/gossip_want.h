/*  gossip_want.h — event hashes that peers announced and this node lacks:
    whom to ask for each, which requests are out, and when to ask another
    announcer instead (lazy push, docs/sync.md §7.4).

    A peer that accepted an event from someone else does not forward the
    event; it announces its hash (GossipAnnounce). The receiver records each
    hash it lacks here, assigned to the peer that announced it first, and
    asks that peer for it (a GossipFetch, the same request and answer as
    anti-entropy's). Later announcers of the same hash are remembered (up to
    GOSSIP_WANT_ALTS). A hash whose request was answered without it, or
    whose peer sent no answer frame for `timeout_ms`, or whose peer went
    away, is assigned to the next announcer; with none left it is forgotten
    (counted; the caller reconciles with the peer instead). Anti-entropy
    stays the safety net for everything this gives up.

    A reconciliation's own fetches claim their hashes here too
    (gossip_want_claim), so whichever path asks first, a hash is asked of
    one peer at a time: concurrent sessions on several links, and
    announcements, skip what is already on its way.

    Pure core: no I/O, no clock (times are arguments, monotonic ms), no
    randomness (the hash-table key is an argument), single-threaded.
    Peers are small integers chosen by the caller (one per link, never
    reused while the link lives).

    Invariants: every tracked hash is in hand (received, not yet stored) or
    assigned to exactly one peer, either queued (to be requested) or
    requested under one of that peer's outstanding request ids (at most
    `window` for announcements, GOSSIP_WANT_WINDOW_MAX in all); a peer has at most `per_peer` hashes
    assigned; at most `max_hashes` hashes are tracked. Nothing a peer sends
    can grow this beyond those limits.
*/
#ifndef HEARTH_GOSSIP_WANT_H
#define HEARTH_GOSSIP_WANT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  Other announcers remembered per hash besides the one it is assigned to:
    enough to route around a slow or lying peer or two; beyond, anti-entropy
    repairs. */
#define GOSSIP_WANT_ALTS         4
/*  Requests outstanding per peer at most (the `window` limit's ceiling). */
#define GOSSIP_WANT_WINDOW_MAX   16

typedef struct {
    size_t   max_hashes;    /* hashes tracked at most, > 0 */
    size_t   per_peer;      /* hashes assigned to one peer at most, > 0 */
    size_t   window;        /* requests outstanding per peer, 1..GOSSIP_WANT_WINDOW_MAX */
    uint64_t timeout_ms;    /* a request whose peer sent no answer frame this long is given up, > 0 */
} gossip_want_limits_t;

typedef struct {
    uint64_t retried;       /* requested hashes moved to another announcer */
    uint64_t given_up;      /* hashes forgotten with no announcer left */
} gossip_want_stats_t;

typedef struct _gossip_want_t gossip_want_t;

/*  New, empty. key (16 bytes, copied) keys the SipHash of the hash table,
    so a peer cannot aim announced hashes at one bucket: pass random bytes.
    NULL on bad limits or out of memory. */
gossip_want_t *gossip_want_new (const gossip_want_limits_t *limits, const uint8_t key [16]);

/*  Free; safe on NULL; nulls *self_p. */
void gossip_want_destroy (gossip_want_t **self_p);

/*  `peer` announced `hash` (32 bytes), which the caller does not store.
    0: a new hash, assigned to peer and queued to be requested;
    1: already tracked (peer remembered as another announcer if there is room);
    HEARTH_ECAPACITY: not tracked, peer's share or the table is full;
    HEARTH_ENOMEM. */
int gossip_want_announce (gossip_want_t *self, uint32_t peer, const uint8_t hash [32]);

/*  Take up to max (> 0) of the hashes queued for peer, oldest first, into
    out (max * 32 bytes): they become requested under request_id (unique,
    non-zero) at time now. Returns how many; 0 when none are queued or the
    peer already has `window` such requests out (claims not counted) or
    GOSSIP_WANT_WINDOW_MAX requests of any kind. The caller sends one fetch
    with them. */
size_t gossip_want_take (gossip_want_t *self, uint32_t peer, uint64_t request_id, uint64_t now,
                         uint8_t *out, size_t max);

/*  The caller has asked peer for hash itself under request_id (non-zero;
    a reconciliation's fetch, sent at now): track it as requested there,
    so other asks skip it and it moves on like any other if the answer
    lacks it. A hash only queued for an announcer is taken over (the
    announcer stays as an alternate if there is room): nothing waits for an
    announcer's window. 0: claimed; 1: already requested elsewhere (left as
    it is); HEARTH_ECAPACITY: not tracked (the peer's share, the table, or
    the peer's GOSSIP_WANT_WINDOW_MAX requests are full); HEARTH_EINVAL;
    HEARTH_ENOMEM. */
int gossip_want_claim (gossip_want_t *self, uint32_t peer, uint64_t request_id, uint64_t now,
                       const uint8_t hash [32]);

/*  The event with this hash is in hand but not stored yet (fetched events
    are held to be stored in lamport order): it is no longer expected from
    any peer, yet still counts as asked for, so nobody asks for it again
    until gossip_want_arrived. No effect on an untracked hash. */
void gossip_want_in_hand (gossip_want_t *self, const uint8_t hash [32]);

/*  The event with this hash is stored, or was refused: forget it. */
void gossip_want_arrived (gossip_want_t *self, const uint8_t hash [32]);

/*  An answer frame for request_id came from peer at now. Returns 1 if the
    request is one of this peer's outstanding ones, else 0. With `last` the
    request is closed: the hashes it asked for that have not arrived move to
    another announcer (queued there) or are forgotten. */
int gossip_want_answered (gossip_want_t *self, uint32_t peer, uint64_t request_id, int last, uint64_t now);

/*  Close every request whose peer has sent no answer frame for timeout_ms
    since the request went out (a peer serving an earlier request of ours
    is not timed out); their hashes move on as in gossip_want_answered. */
void gossip_want_expire (gossip_want_t *self, uint64_t now);

/*  peer is gone (its link is down or destroyed): its hashes move to other
    announcers or are forgotten, and it is never chosen again. */
void gossip_want_peer_gone (gossip_want_t *self, uint32_t peer);

/*  1 if hash is tracked (announced or claimed, not yet arrived), else 0. */
int gossip_want_contains (const gossip_want_t *self, const uint8_t hash [32]);

/*  1 if hash is tracked and asked of some peer (not only queued), else 0. */
int gossip_want_requested (const gossip_want_t *self, const uint8_t hash [32]);

/*  Hashes assigned to peer (queued + requested), and of those queued. */
size_t gossip_want_assigned (const gossip_want_t *self, uint32_t peer);
size_t gossip_want_queued (const gossip_want_t *self, uint32_t peer);

/*  1 if a hash that peer announced was forgotten since the last call (no
    other announcer had it): the caller should reconcile with that peer.
    Clears the flag. */
int gossip_want_gave_up (gossip_want_t *self, uint32_t peer);

/*  Hashes tracked. */
size_t gossip_want_count (const gossip_want_t *self);
/*  Of those, hashes still expected from a peer (queued or requested; not
    in hand). */
size_t gossip_want_expected (const gossip_want_t *self);

/*  Counters; borrowed, live. */
const gossip_want_stats_t *gossip_want_stats (const gossip_want_t *self);

#ifdef __cplusplus
}
#endif
#endif
