/*  gossip_overlay.h — which members this node links to: the known-peer table
    (an address book of members that survives restarts) and the choice of a
    bounded, random set of links from it (docs/sync.md, "Overlay").

    Why. A node that links to whoever it heard of first makes hubs of the
    earliest members, and a node that remembers only its inviter is cut off
    while the inviter is down. The overlay follows HyParView's split: a
    small *active* set of links chosen at random from a larger *passive*
    table of known members, refreshed by shuffles, so every node carries
    about the same number of links whatever its age, and a restarted node
    can dial any known member.

    The rules, all in gossip_overlay_plan:
      - out links: the node keeps `out` out links to members chosen
        uniformly at random among known members it has no link with (either
        way) and that are not backing off after a failure;
      - a dial not up after `dial_timeout_ms` fails: the entry backs off
        (GOSSIP_OVERLAY_RETRY_MIN_MS doubling to _MAX), the link is closed
        and another member is dialled in the same plan; an up out link that
        goes down is redialled by the transport and treated the same way;
      - bootstrap: a seed (an address the operator or `join` configured)
        is dialled while fewer than `out` other members are known; such a
        bootstrap link is closed once `out` randomly chosen links are up,
        so nobody stays linked to its inviter forever (a seed can still be
        chosen at random like any member). With `pin_seeds` (no learning),
        seeds are the only links and are never closed;
      - surplus: more than `out` random out links (a racing dial) closes
        the newest;
      - shuffle: every `shuffle_ms` (jittered between 1/2 and 3/2 of it),
        when all out links are up and another eligible member is known,
        one random out link is closed and a random eligible member dialled,
        so the random graph keeps mixing and a healed partition gets links
        across it;
      - in links: gossip_overlay_in_admit accepts a member's in link while
        fewer than `in_max` member in links are up, and an invitee's (a key
        allowed to join, not yet a member) while fewer than
        `invitee_reserve` invitee in links are up; a refused dialler is
        told to try others (the shell sends a sample of this table).
    Expected degree: `out` out links plus about `out` in links (each node
    is chosen by about `out` others), at most out + in_max + invitee_reserve.

    Pure core: no I/O, no clock (now_ms is an argument: wall-clock ms in
    the daemon, simulated ms in the simulator), randomness only from the
    seed given to gossip_overlay_new (a splitmix64 stream), so a seed and a
    sequence of calls give the same decisions. Membership is the caller's:
    it learns only members' addresses and forgets revoked keys.

    Invariants: at most `known_max` known entries (plus seeds, which are
    never evicted); at most one entry per key; out links <= out + seeds +
    1 racing dial; counted in links <= in_max + invitee_reserve; our own
    key is never known or linked.

    Threading: none; the owner's thread only.
*/
#ifndef HEARTH_GOSSIP_OVERLAY_H
#define HEARTH_GOSSIP_OVERLAY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  Out links a node keeps (the active view's dialled half). With about as
    many in links, ~12 links a node: a random graph of that degree spans
    10,000 nodes in ~4 hops on average (log(10^4)/log(11) ~ 3.8), and
    stays connected after most of its nodes leave. In the simulation at
    10,000 nodes, 6 gives shortest paths of p99 6 hops and posts a p99 of
    7 (5 gave 6 and 8) for 12 % more bytes per post per node
    (docs/simulation.md). */
#define GOSSIP_OVERLAY_OUT                 6
/*  Member in links accepted; the next member dialling is told to try
    others. Twice the expected in-degree, so a random choice is almost
    never refused and no node carries more than out + in_max links. */
#define GOSSIP_OVERLAY_IN_MAX              (2 * GOSSIP_OVERLAY_OUT)
/*  In links of invitees (not yet members: joining through us) accepted
    beyond in_max: a joiner's only way in is its inviter. */
#define GOSSIP_OVERLAY_INVITEE_RESERVE     16
/*  Known members kept (the passive view), seeds not counted. Enough to
    find live members after most of a street went away; bounded so a
    10,000-node simulation (and a hostile hello stream) costs little. */
#define GOSSIP_OVERLAY_KNOWN_MAX           512
/*  Addresses a sample gives at most (a hello's or a redirect's peers). */
#define GOSSIP_OVERLAY_SAMPLE              16
/*  A dial (or a redial after a drop) not up after this fails and another
    member is dialled: a loopback or LAN handshake takes milliseconds, so
    a restarted node has links well within 2 s even when some of the
    members it picks are down. */
#define GOSSIP_OVERLAY_DIAL_TIMEOUT_MS     1500
/*  A failed member is not dialled again for this long, doubling per
    consecutive failure up to the max. */
#define GOSSIP_OVERLAY_RETRY_MIN_MS        2000
#define GOSSIP_OVERLAY_RETRY_MAX_MS        (5 * 60 * 1000)
/*  One out link is replaced by a random member this often (jittered). */
#define GOSSIP_OVERLAY_SHUFFLE_MS          (60 * 1000)

/*  Where an address came from (kept, shown by `hearthctl peers --known`). */
typedef enum {
    GOSSIP_OVERLAY_FROM_SEED = 0,          /* --peer, the config, join: bootstrap */
    GOSSIP_OVERLAY_FROM_HELLO,             /* a peer's hello or redirect */
    GOSSIP_OVERLAY_FROM_DISCOVERY,         /* a LAN beacon */
    GOSSIP_OVERLAY_FROM_INVITE,            /* an invite's endpoints */
    GOSSIP_OVERLAY_FROM_LINK               /* the peer itself (its hello's own address) */
} gossip_overlay_from_t;

typedef struct {
    size_t   out;                          /* out links kept, >= 1 */
    size_t   in_max;                       /* member in links accepted, >= 1 */
    size_t   invitee_reserve;              /* invitee in links accepted beyond, >= 0 */
    size_t   known_max;                    /* known entries kept (seeds aside), >= out */
    uint64_t dial_timeout_ms;              /* > 0 */
    uint64_t shuffle_ms;                   /* 0 = never shuffle */
    int      pin_seeds;                    /* 1: dial only seeds, never close them */
} gossip_overlay_config_t;

/*  A known member. Borrowed from the overlay until its next call that is
    not a lookup (find, at, count, sample, stats). */
typedef struct {
    uint8_t  key [32];
    const char *address;                   /* owned by the overlay: "NODE_ID@tcp://..." or any
                                              string the caller uses to dial (the simulator's) */
    uint64_t last_reached_ms;              /* now_ms of the last link up with it, 0 = never */
    uint64_t learned_ms;                   /* now_ms it was last learned or confirmed */
    uint64_t retry_at_ms;                  /* not dialled before this (backing off), 0 = free */
    uint32_t fails;                        /* failed dials since it was last reached */
    int      from;                         /* gossip_overlay_from_t of the first learning */
    int      seed;                         /* 1: a seed (never evicted) */
} gossip_overlay_peer_t;

typedef enum {
    GOSSIP_OVERLAY_DIAL = 1,               /* open an out link to key (address: gossip_overlay_find) */
    GOSSIP_OVERLAY_CLOSE                   /* close the out link to key (disconnect, forget the link) */
} gossip_overlay_verb_t;

typedef struct {
    int      verb;                         /* gossip_overlay_verb_t */
    uint8_t  key [32];
} gossip_overlay_action_t;

typedef struct {
    uint64_t dials;                        /* DIAL actions */
    uint64_t dial_failures;                /* dials (or redials) not up in time, or refused */
    uint64_t closes_bootstrap;             /* seed links closed once random links were up */
    uint64_t closes_shuffle;               /* out links replaced by a shuffle */
    uint64_t closes_surplus;               /* racing dials closed */
    uint64_t in_refused;                   /* in links refused: in_max or the invitee reserve full */
    uint64_t known_evicted;                /* known entries dropped to make room */
    uint64_t load_skipped;                 /* stored records not loaded (malformed, over the cap) */
} gossip_overlay_stats_t;

typedef struct _gossip_overlay_t gossip_overlay_t;

/*  Fill cfg with the defaults above. */
void gossip_overlay_config_defaults (gossip_overlay_config_t *cfg);

/*  New, empty overlay for the node with key self_key (32 bytes, copied).
    cfg is copied (NULL = defaults); rng_seed seeds its random choices.
    NULL on a bad config or out of memory. */
gossip_overlay_t *gossip_overlay_new (const uint8_t self_key [32], const gossip_overlay_config_t *cfg,
                                      uint64_t rng_seed);

/*  Free; safe on NULL; nulls *self_p. */
void gossip_overlay_destroy (gossip_overlay_t **self_p);

/*  A member's address (address copied; at most GOSSIP_MAX_ADDRESS - 1
    bytes). A known key gets the new address and learned_ms; a seed stays
    a seed, and learning a key as a seed makes it one. A new key over
    known_max evicts a random entry that is not a seed and not linked,
    preferring one that was never reached or is failing. Our own key is
    ignored. 1: a new entry, 0: updated or ignored, HEARTH_EINVAL (empty or
    too long address), HEARTH_ENOMEM. */
int gossip_overlay_learn (gossip_overlay_t *self, const uint8_t key [32], const char *address, int from,
                          uint64_t now_ms);

/*  Drop key (revoked, or no longer a member): its entry goes, and an out
    link to it is closed by the next plan. No-op for an unknown key. */
void gossip_overlay_forget (gossip_overlay_t *self, const uint8_t key [32]);

/*  The shell dialled key itself (an operator's `peers add`): tracked as a
    bootstrap out link from now_ms. */
void gossip_overlay_dialling (gossip_overlay_t *self, const uint8_t key [32], uint64_t now_ms);

/*  A link with key is up (out: its handshake and hello; in: admitted and
    its first frame read): last_reached_ms = now_ms, fails = 0. */
void gossip_overlay_link_up (gossip_overlay_t *self, const uint8_t key [32], int outgoing, uint64_t now_ms);

/*  A link with key went down. An out link stays, redialling, until it is up
    again or its dial times out; an in link is no longer counted. */
void gossip_overlay_link_down (gossip_overlay_t *self, const uint8_t key [32], int outgoing, uint64_t now_ms);

/*  The out link to key failed for good (the peer refused it as full and
    sent a redirect, the address does not parse, the peer is not who the
    address says): the entry backs off, the link is forgotten (the caller
    has closed it), and the next plan dials another. */
void gossip_overlay_dial_failed (gossip_overlay_t *self, const uint8_t key [32], uint64_t now_ms);

/*  May key's in link be accepted? member: 1 if key is a member, 0 if an
    invitee. 1: accepted and counted (as up: gossip_overlay_link_up need
    not be called for it); 0: refused (counted in in_refused); a key whose
    in link is already counted is always accepted. */
int gossip_overlay_in_admit (gossip_overlay_t *self, const uint8_t key [32], int member, uint64_t now_ms);

/*  key, whose in link was admitted as an invitee's, is a member now (its
    join reached us): the link moves to the members' count, so a node's
    links stay within out + in_max once its joiners are members.
    0: it fits, or key has no invitee in link; 1: the members' in links were
    full: the link is no longer counted (in_refused counted) and the caller
    tells the peer to try others (a redirect) and closes it. */
int gossip_overlay_in_member (gossip_overlay_t *self, const uint8_t key [32], uint64_t now_ms);

/*  What to do now: fills actions (up to max) with DIALs and CLOSEs by the
    rules in the banner and returns how many. The overlay records them as
    done (a DIAL is a dialling out link from now_ms, a CLOSE forgets the
    link); the caller performs each, and reports a dial it could not start
    with gossip_overlay_dial_failed. Call it on a timer (the daemon: every
    tick of a few hundred ms) and after learning or losing links. */
size_t gossip_overlay_plan (gossip_overlay_t *self, uint64_t now_ms, gossip_overlay_action_t *actions, size_t max);

/*  Up to max known entries chosen at random (not `exclude`, which may be
    NULL), those reached in the last hour or never failed first: the
    addresses to put in a hello or a redirect. Fills out with borrowed
    pointers; returns how many. */
size_t gossip_overlay_sample (gossip_overlay_t *self, const uint8_t *exclude, uint64_t now_ms,
                              const gossip_overlay_peer_t **out, size_t max);

/*  Lookups: the entry of key or NULL; the number of entries; the i-th
    (0 <= i < count, in no particular order). Borrowed (see the type). */
const gossip_overlay_peer_t *gossip_overlay_find (const gossip_overlay_t *self, const uint8_t key [32]);
size_t gossip_overlay_count (const gossip_overlay_t *self);
const gossip_overlay_peer_t *gossip_overlay_at (const gossip_overlay_t *self, size_t i);

/*  Links as the overlay counts them: out links dialling or up, out links
    up, member in links, invitee in links. Any pointer may be NULL. */
void gossip_overlay_links (const gossip_overlay_t *self, size_t *out_total, size_t *out_up, size_t *in_members,
                           size_t *in_invitees);

const gossip_overlay_stats_t *gossip_overlay_stats (const gossip_overlay_t *self);

/*  Has the table changed (entries added, dropped, reached, failed) since
    the last gossip_overlay_save? */
int gossip_overlay_dirty (const gossip_overlay_t *self);

/*  The table as bytes to store (a versioned record list: key, address,
    last_reached_ms, fails, from, seed): *buf_p is malloc'd, caller owns.
    Clears the dirty mark. 0 or HEARTH_ENOMEM. */
int gossip_overlay_save (gossip_overlay_t *self, uint8_t **buf_p, size_t *len_p);

/*  Learn the entries of a saved table (bytes from the disk: every field is
    checked; a malformed record ends the load, records before it are kept,
    skipped ones counted in load_skipped). Entries keep their
    last_reached_ms and fails, start with no backoff, and do not replace
    entries already known. Returns the number of entries loaded, or
    HEARTH_ECORRUPT when the header is not a table of a known version. */
int gossip_overlay_load (gossip_overlay_t *self, const uint8_t *buf, size_t len, uint64_t now_ms);

#ifdef __cplusplus
}
#endif

#endif
