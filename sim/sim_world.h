/*  sim_world.h — a Hearth mesh in one process: nodes that run the real
    overlay (gossip_overlay.h), the real lazy-pull bookkeeping
    (gossip_want.h) and real Negentropy sessions (negentropy.h over an
    in-memory store), joined by a simulated network, driven by one event
    queue and one seed (docs/simulation.md).

    What is modelled rather than run: the transport (a CURVE handshake is a
    round trip of a fixed size, a link is a FIFO channel whose messages take
    a random latency, a lost transmission is resent after an RTO), the
    daemon's shell (gossip.c, gossip_push.c, gossip_sync.c: reproduced here
    message for message, see docs/simulation.md for what is left out), the
    event log (a post is a 32-byte hash and a lamport; every node is a
    member; the store holds only the run's posts).

    Time is simulated ms from 0. Same config (seed included) and the same
    calls give the same run, byte for byte.

    Threading: none.
*/
#ifndef HEARTH_SIM_WORLD_H
#define HEARTH_SIM_WORLD_H

#include <stddef.h>
#include <stdint.h>
#include "gossip_overlay.h"

#define SIM_NONE  UINT32_MAX

typedef struct {
    uint32_t nodes_max;         /* nodes the run may create */
    uint32_t posts_max;         /* posts the run may make */
    uint64_t seed;
    uint32_t lat_min_ms;        /* one-way latency: min + (max - min) * u^3, u uniform */
    uint32_t lat_max_ms;
    double   loss;              /* probability a transmission is lost (and resent after rto_ms) */
    uint32_t rto_ms;
    uint32_t tick_ms;           /* the shell's tick: timeouts, retries, the overlay's plan */
    uint32_t sync_interval_ms;  /* periodic reconciliation with one random link */
    gossip_overlay_config_t overlay;
} sim_config_t;

/*  Bytes a node received, by what they were for. */
typedef enum {
    SIM_BYTES_DATA = 0,         /* push, announce, fetch, events: moving posts */
    SIM_BYTES_SYNC,             /* Negentropy messages and neg_done */
    SIM_BYTES_OVERLAY,          /* handshakes, hellos, redirects, closes */
    SIM_BYTES_KINDS
} sim_bytes_kind_t;

typedef struct {
    uint64_t bytes_in [SIM_BYTES_KINDS];
    uint64_t events_in;         /* post copies received (pushed or fetched), duplicates included */
    uint64_t events_dup;        /* of those, already held */
    uint64_t announces_in;      /* hashes announced to it */
    uint64_t redirects;         /* dials refused with a redirect */
    uint64_t sessions;          /* reconciliations it initiated and finished */
} sim_node_stats_t;

typedef struct _sim_world_t sim_world_t;

/*  Fill cfg with the defaults (LAN/wifi latency 1-30 ms, no loss, the
    daemon's intervals, gossip_overlay_config_defaults). */
void sim_config_defaults (sim_config_t *cfg);

/*  New world with no nodes; NULL on a bad config or out of memory. */
sim_world_t *sim_world_new (const sim_config_t *cfg);

/*  Free; safe on NULL; nulls *self_p. */
void sim_world_destroy (sim_world_t **self_p);

/*  Simulated now, ms. */
uint64_t sim_world_now (const sim_world_t *self);

/*  Add and start a node. inviter: SIM_NONE for the founder, else the node
    whose invite it holds: the only address it knows (a seed), and the one
    that admits it as an invitee. Returns its index, or SIM_NONE (full). */
uint32_t sim_world_add_node (sim_world_t *self, uint32_t inviter);

/*  Stop a node (its process ends: peers see its links close after one
    latency; its known table is saved as the daemon saves it; its posts
    stay). Start it again (a restart: a fresh shell loading the saved
    table). No-ops when already in that state. */
void sim_world_stop (sim_world_t *self, uint32_t node);
void sim_world_start (sim_world_t *self, uint32_t node);

/*  Node `author` posts now (eager push to its links). Returns the post's
    index, or SIM_NONE (posts_max reached or the node is down). */
uint32_t sim_world_post (sim_world_t *self, uint32_t author);

/*  Cut the nodes with side[i] != 0 from the others (side has one byte per
    node ever added, copied) until sim_world_heal. */
void sim_world_partition (sim_world_t *self, const uint8_t *side);
void sim_world_heal (sim_world_t *self);

/*  Run events until simulated time `until` (inclusive). */
void sim_world_run_until (sim_world_t *self, uint64_t until);

/*  Lookups. */
uint32_t sim_world_nodes (const sim_world_t *self);
uint32_t sim_world_posts (const sim_world_t *self);
int      sim_world_alive (const sim_world_t *self, uint32_t node);
/*  Hops the post took to reach node (0 at its author), or -1 if it has not. */
int      sim_world_hops (const sim_world_t *self, uint32_t node, uint32_t post);
/*  When node got post (ms), valid when sim_world_hops >= 0. */
uint64_t sim_world_arrival (const sim_world_t *self, uint32_t node, uint32_t post);
uint64_t sim_world_post_time (const sim_world_t *self, uint32_t post);
/*  Up links of node: out links it dialled that are up, in links it
    admitted; and into peers (up to max) the peer of each up link (a peer
    linked both ways appears twice). Returns the number of up links. */
size_t   sim_world_links (const sim_world_t *self, uint32_t node, size_t *out_up, size_t *in_up,
                          uint32_t *peers, size_t max);
/*  Distinct peers of node's up links. */
size_t   sim_world_degree (const sim_world_t *self, uint32_t node);
const sim_node_stats_t *sim_world_stats (const sim_world_t *self, uint32_t node);
/*  The node's overlay (NULL while stopped): borrowed. */
gossip_overlay_t *sim_world_overlay (const sim_world_t *self, uint32_t node);
/*  Events handled and messages delivered so far; most events queued at once. */
uint64_t sim_world_events (const sim_world_t *self);
uint64_t sim_world_messages (const sim_world_t *self);
size_t   sim_world_queue_peak (const sim_world_t *self);

/*  Wire sizes the world charges (bytes including transport framing), for
    the baseline of bytes per post: one event pushed alone, and one
    announcement frame carrying one hash. */
size_t sim_world_event_frame_bytes (void);
size_t sim_world_announce_frame_bytes (void);

#endif
