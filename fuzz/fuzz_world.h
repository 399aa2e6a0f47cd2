/*  fuzz_world.h — one real node's state in a scratch directory (identity,
    event log, market, control bus), for the targets that need stored
    state (control requests, view snapshots) and for the seed generators,
    which take real events, invites and snapshots from it. Test code only.
*/
#ifndef HEARTH_FUZZ_WORLD_H
#define HEARTH_FUZZ_WORLD_H

#include <stddef.h>
#include <stdint.h>
#include "fuzz.h"
#include "eventlog.h"
#include "identity.h"
#include "market.h"
#include "node_bus.h"
#include "node_stats.h"

typedef struct {
    char          dir [512];
    char          keys [600];
    char          address [300];   /* this node's peer address */
    identity_t   *id;               /* owned */
    eventlog_t   *log;              /* owned */
    market_t     *market;           /* owned */
    node_stats_t *stats;            /* owned */
    node_bus_t   *bus;              /* owned */
} fuzz_world_t;

/*  A new community in a fresh scratch dir, views loaded. populate: also
    post a few listings, expire one and invite a member, through the bus
    (the same paths a client takes). Aborts on failure (test code). */
void fuzz_world_open (fuzz_world_t *w, const char *name, int populate);
void fuzz_world_close (fuzz_world_t *w);

/*  One control request through the bus; the reply text (malloc'd). */
char *fuzz_world_call (fuzz_world_t *w, const char *request);

/*  Every stored event's SignedEvent wire bytes, through emit. */
void fuzz_world_events (fuzz_world_t *w, fuzz_emit_fn *emit, void *arg);

/*  The invite blob text (malloc'd) of a fresh community.invite. */
char *fuzz_world_invite (fuzz_world_t *w);

/*  Requests the seed generators use (valid ones of every capability). */
extern const char *const fuzz_world_requests [];

#endif
