/*  gossip_budget.h — a per-peer byte budget for the work a node does as a
    responder to a peer's sync requests: reconciliation replies (Negentropy
    v1 ranges and id lists, rateless symbols) and fetch answers (events by
    hash). Without it a 13-byte rateless opening draws a reply of up to a
    frame (1 MiB) and a fetch of 1,024 hashes up to 16 MiB (docs/sync.md §7.6).

    The rule: a reply is never more than a small multiple of what the peer
    is owed.
      - Credit. Each peer has a credit in bytes. It earns
        GOSSIP_BUDGET_EARN_RATIO bytes per byte received from the peer (any
        frame on its links) plus GOSSIP_BUDGET_BASE_BPS per second, and
        holds at most GOSSIP_BUDGET_BURST_BYTES from the base rate and
        GOSSIP_BUDGET_BANK_BYTES from earnings. Reconciliation replies and
        fetched events the peer is not owed spend it. A request is served
        only while the credit is >= 0; one reply may overdraw it (a reply
        is cut to one frame, a fetch answer is cut between frames), so the
        debt is at most one frame and is repaid before the next request.
      - Owed events. Every hash announced to the peer adds one owed
        event: the peer may fetch it. Every id a reconciliation reply names
        (one per 32 bytes of it: an IdList names one id per 32 bytes, a
        rateless symbol of 41+ bytes decodes to at most one) adds one too,
        as long as the peer's grant lasts: a bucket of twice the node's
        items plus GOSSIP_BUDGET_GRANT_MIN, refilled once per
        GOSSIP_BUDGET_GRANT_PERIOD_S. A fetched event that is owed spends
        an owed event, not credit. So a peer that lacks a million events
        gets them at the speed it asks for them (the join), while fetching
        what it was never told about is paid from the credit, and a peer
        that claims to lack everything again and again (a "re-join" loop)
        gets the log for free at most twice per grant period.
      - Pace. What credit pays also spends a pace bucket
        (GOSSIP_BUDGET_PACE_BPS, burst GOSSIP_BUDGET_PACE_BURST), served
        only while >= 0 like the credit: a peer that sends fast cannot buy
        more than that per second.
      - Sessions. Reconciliation openings take a token of the open bucket
        (GOSSIP_BUDGET_OPEN_RATE per second, burst GOSSIP_BUDGET_OPEN_BURST)
        and every later round a token of the round bucket: repeated and
        duplicate sessions are rate-limited even when their replies are
        small, since each costs store queries, which read pages of the
        backed store from disk (docs/performance.md, "The backed
        reconciliation store"; gossip_bench store).
    Over budget the request is deferred (the caller holds it and asks again
    at its tick), never dropped: an honest peer waits, its session does not
    fail. What a peer sends beyond what the caller holds (a newer opening
    replaces a held one; more held fetches than GOSSIP_BUDGET_HELD_FETCHES)
    is refused and counted by the caller.

    Bounds, sustained, for one peer: bytes of reconciliation replies and
    unowed events <= min (EARN_RATIO x bytes in + BASE_BPS x seconds +
    BURST, PACE_BPS x seconds + PACE_BURST) + one frame; owed events <= the hashes announced to it + the grant (2 x
    items + GOSSIP_BUDGET_GRANT_MIN per GOSSIP_BUDGET_GRANT_PERIOD_S).

    Pure: no I/O, no clock; the caller passes monotonic times in ms, so
    every decision is tested deterministically (test_gossip_budget.c).
*/
#ifndef HEARTH_GOSSIP_BUDGET_H
#define HEARTH_GOSSIP_BUDGET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  Reply bytes earned per byte received from the peer. Below the 10x goal
    so the base rate fits under it for a peer that sends at all; an honest
    join earns far more than it spends (34 bytes per fetched hash earn 272
    bytes, while its reconciliation lists cost 32 bytes per id). */
#define GOSSIP_BUDGET_EARN_RATIO        8
/*  Reply bytes per second earned regardless of traffic: a periodic
    rateless check answers with ~3 KB (64 symbols) and a partition heal of
    1,000 events with ~40 KB of ids, every few tens of seconds per peer. */
#define GOSSIP_BUDGET_BASE_BPS          (16 * 1024)
/*  Most credit the base rate fills: a (re)connect's sessions are served
    at once, a long idle time does not bank a flood. */
#define GOSSIP_BUDGET_BURST_BYTES       (256 * 1024)
/*  Most credit held from earnings: the answers to a window of fetches
    (4 x 1,024 events of ~400 bytes) paid by the fetches' own bytes,
    without capping what they earn at the burst. Earned, so it keeps the
    8x bound. */
#define GOSSIP_BUDGET_BANK_BYTES        (16 * 1024 * 1024)
/*  Pace: bytes paid from credit per second per peer at most, and the
    burst. Credit bounds the ratio to what the peer sends; the pace bounds
    the work a fast sender can buy (serving unowed events costs a RocksDB
    read and CURVE encryption each, so credit alone lets a fetch flood buy
    several times its bytes and most of a core: docs/performance.md, "Sync
    floods from a member"; scripts/bench.sh flood). A join's id lists come
    one frame per session, a session per 32,768 fetched ids, far below the
    pace; its events are owed and not paced. */
#define GOSSIP_BUDGET_PACE_BPS          (4 * 1024 * 1024)
#define GOSSIP_BUDGET_PACE_BURST        (4 * 1024 * 1024)
/*  Reconciliation openings per second per peer, and the burst: an honest
    peer opens on (re)connect (up to 3 in a row: v1 probe, switch to
    rateless, fall back to v1), on its periodic check and after each
    32,768 fetched ids of a join (about one a second). */
#define GOSSIP_BUDGET_OPEN_RATE         2
#define GOSSIP_BUDGET_OPEN_BURST        8
/*  Later rounds of sessions per second per peer, and the burst: a v1
    session takes log16(n / d) + 2 rounds, a rateless one up to ~10. */
#define GOSSIP_BUDGET_ROUND_RATE        20
#define GOSSIP_BUDGET_ROUND_BURST       40
/*  Owed events per peer at most (one join of a log at the
    MARKET_VIEW_MAX_POSTS scale, with room): a peer cannot bank more. */
#define GOSSIP_BUDGET_OWED_MAX          (4u * 1024 * 1024)
/*  The grant of owed events from reconciliation replies, per peer: twice
    the node's items (a join names most ids once, some twice: closing
    ranges, a session per 32,768 fetched ids) plus this many (the
    newest-items IdList every session names), refilled once per period.
    A peer that used it up fetches from its credit, which still serves
    small differences at once; only a second full join within the period
    runs at the credit's pace. */
#define GOSSIP_BUDGET_GRANT_MIN         1024
#define GOSSIP_BUDGET_GRANT_PERIOD_S    3600
/*  Bytes of reconciliation reply per owed event (one id). */
#define GOSSIP_BUDGET_ID_BYTES          32
/*  Fetch requests the caller holds per link while they wait for credit:
    an honest peer has at most 4 anti-entropy and 4 announcement fetches
    outstanding (GOSSIP_FETCH_WINDOW, GOSSIP_ANNOUNCE_FETCH_WINDOW). */
#define GOSSIP_BUDGET_HELD_FETCHES      8
/*  Peers whose budgets are kept: as GOSSIP_ADMIT_MAX_PEERS. When full,
    the least recently seen peer is forgotten and starts again full. */
#define GOSSIP_BUDGET_MAX_PEERS         256

typedef enum {
    GOSSIP_BUDGET_OPEN = 0,         /* a reconciliation opening (neg_open) */
    GOSSIP_BUDGET_ROUND,            /* a later reconciliation message (neg_msg) */
    GOSSIP_BUDGET_FETCH,            /* a fetch: events by hash */
    GOSSIP_BUDGET_KIND_COUNT
} gossip_budget_kind_t;

typedef enum {
    GOSSIP_BUDGET_GO = 0,           /* serve it now */
    GOSSIP_BUDGET_DEFER             /* hold it; ask again after *wait_ms */
} gossip_budget_verdict_t;

/*  Why a request waits or was refused (counters and labels). */
typedef enum {
    GOSSIP_BUDGET_REASON_DEBT = 0,      /* credit or pace < 0 (and no owed events for a fetch) */
    GOSSIP_BUDGET_REASON_OPEN_RATE,     /* open bucket empty */
    GOSSIP_BUDGET_REASON_ROUND_RATE,    /* round bucket empty */
    GOSSIP_BUDGET_REASON_SUPERSEDED,    /* caller: a held opening replaced by a newer one */
    GOSSIP_BUDGET_REASON_HELD_FULL,     /* caller: GOSSIP_BUDGET_HELD_FETCHES held, refused */
    GOSSIP_BUDGET_REASON_COUNT
} gossip_budget_reason_t;

typedef struct {
    uint32_t earn_ratio;
    uint32_t base_bps;
    uint64_t burst_bytes;
    uint64_t bank_bytes;
    uint64_t pace_bps, pace_burst;
    uint32_t open_rate, open_burst;
    uint32_t round_rate, round_burst;
    uint64_t owed_max;
    uint64_t grant_min;
    uint32_t grant_period_s;
    size_t   max_peers;
} gossip_budget_limits_t;

/*  Counters (the stats socket renders them). */
typedef struct {
    uint64_t bytes_in;              /* bytes received from peers (earning) */
    uint64_t bytes_charged;         /* reply bytes paid from credit */
    uint64_t bytes_owed;            /* fetched-event bytes paid by owed events */
    uint64_t events_owed;           /* owed events added (ids named, hashes announced) */
    uint64_t events_ungranted;      /* ids named beyond the peer's grant: not owed */
    uint64_t deferred [GOSSIP_BUDGET_REASON_COUNT];  /* DEBT..ROUND_RATE: deferrals */
    uint64_t refused [GOSSIP_BUDGET_REASON_COUNT];   /* SUPERSEDED, HELD_FULL: refusals */
} gossip_budget_stats_t;

/*  Fill limits with the GOSSIP_BUDGET_* constants. */
void gossip_budget_limits_defaults (gossip_budget_limits_t *limits);

typedef struct _gossip_budget_t gossip_budget_t;

/*  New budget state with `limits` (copied; NULL = the defaults). NULL on
    OOM or when a rate, burst or max_peers is 0. */
gossip_budget_t *gossip_budget_new (const gossip_budget_limits_t *limits);
/*  Destroy; safe on NULL; nulls *self_p. */
void gossip_budget_destroy (gossip_budget_t **self_p);

/*  `bytes` received from `peer` (32 bytes) at now_ms: earns credit. */
void gossip_budget_earn (gossip_budget_t *self, const uint8_t peer [32], uint64_t bytes, uint64_t now_ms);

/*  The node's items (its log's events): sizes every peer's grant. */
void gossip_budget_set_items (gossip_budget_t *self, uint64_t items);

/*  `events` ids or hashes named to `peer` that it may fetch (capped at
    owed_max). */
void gossip_budget_owe (gossip_budget_t *self, const uint8_t peer [32], uint64_t events, uint64_t now_ms);

/*  May a request of `kind` from `peer` be served at now_ms? GO takes the
    open or round token. DEFER counts the reason and sets *wait_ms (if
    not NULL) to when to ask again (>= 1). A fetch goes while the peer has
    owed events or credit >= 0. */
gossip_budget_verdict_t gossip_budget_ask (gossip_budget_t *self, const uint8_t peer [32],
                                           gossip_budget_kind_t kind, uint64_t now_ms, uint64_t *wait_ms);

/*  A reconciliation reply of `bytes` was sent to `peer`: spends credit
    and adds bytes / GOSSIP_BUDGET_ID_BYTES owed events, as far as the
    peer's grant goes. */
void gossip_budget_reply (gossip_budget_t *self, const uint8_t peer [32], uint64_t bytes, uint64_t now_ms);

/*  May one more fetched event go to `peer` in the answer being built?
    True while it has owed events or credit >= 0. */
int gossip_budget_event_ok (gossip_budget_t *self, const uint8_t peer [32], uint64_t now_ms);

/*  A fetched event of `bytes` goes to `peer`: spends an owed event if it
    has one (returns 1), else credit (returns 0). */
int gossip_budget_event (gossip_budget_t *self, const uint8_t peer [32], uint64_t bytes, uint64_t now_ms);

/*  The caller refused a request for `reason` (SUPERSEDED, HELD_FULL). */
void gossip_budget_refused (gossip_budget_t *self, gossip_budget_reason_t reason);

/*  The peer's credit in bytes (negative: debt) and owed events, for tests
    and the peers listing; 0 for an unknown peer. */
int64_t  gossip_budget_credit (gossip_budget_t *self, const uint8_t peer [32], uint64_t now_ms);
uint64_t gossip_budget_owed (const gossip_budget_t *self, const uint8_t peer [32]);

/*  Counters; borrowed until destroy. */
const gossip_budget_stats_t *gossip_budget_stats (const gossip_budget_t *self);

/*  Stable name of a reason ("debt", "open_rate", ...), for logs and labels. */
const char *gossip_budget_reason_name (gossip_budget_reason_t reason);

#ifdef __cplusplus
}
#endif
#endif
