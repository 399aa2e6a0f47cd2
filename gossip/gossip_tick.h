/*  gossip_tick.h — when the mesh's housekeeping tick runs, and what it
    does on a link (private to the gossip module; the tick is s_on_tick in
    gossip.c).

    An idle node should cost next to nothing, whatever the number of its
    links: every wake-up of the loop thread costs a poll of each of its
    ZeroMQ sockets (two per out link), so the tick runs at GOSSIP_TICK_MS
    only while some work moves on every tick (a reconciliation session and
    its transfers, a resend, a peer's requests held for its budget, a
    resync, announced hashes to fetch, a link to close or dial), and at
    GOSSIP_TICK_IDLE_MS otherwise, for what only time changes: pings,
    silent links, redials, membership re-checks. Work that appears between
    ticks (a frame read, a membership event, a send the queue refused)
    calls gossip_tick_soon (gossip_link.c); anything that does not waits at
    most GOSSIP_TICK_IDLE_MS, since the idle tick does everything the fast
    one does. Eager pushes and announcements never wait for the tick: a
    local append is pushed at once, announcements have their own timer.

    Pure core: the functions read a link's fields and the time they are
    given; no I/O, no clock.

    Threading: the owner's zloop thread (or a test), like the link.
*/
#ifndef HEARTH_GOSSIP_TICK_H
#define HEARTH_GOSSIP_TICK_H

#include <stdint.h>
#include "gossip_link.h"

/*  The tick while work is pending: paces transfers, resends and held
    requests (a busy link's latency to the next step). */
#define GOSSIP_TICK_MS              20
/*  The tick while nothing is pending: the slack of pings, silence checks
    and redials, and the longest a piece of work that did not wake the
    tick waits. Four wake-ups a second. */
#define GOSSIP_TICK_IDLE_MS         250
/*  An out link that has sent nothing this long sends a ping, so the other
    side sees it alive (and learns our head). Three pings fit in
    GOSSIP_LINK_SILENT_MS. */
#define GOSSIP_PING_MS              5000
/*  An in link silent this long is down (three pings missed). */
#define GOSSIP_LINK_SILENT_MS       15000

/*  1 if the tick has work on l every time it runs (so it should run at
    GOSSIP_TICK_MS): a membership verdict to enforce (an out link allowed
    but not dialled or dialled but not allowed, an in link from a key no
    longer allowed still open), a lost connection to take down, and on an
    up link a resend, a held reconciliation message or fetch of the peer,
    an initiator session, or a resync to start. Announced hashes to fetch
    are the node's (gossip_want_count), not a link's. */
int gossip_tick_link_busy (const gossip_link_t *l);

/*  1 if l is an up out link that has sent nothing for GOSSIP_PING_MS at
    `now` (monotonic ms): it should ping. */
int gossip_tick_ping_due (const gossip_link_t *l, uint64_t now);

/*  1 if l is an up in link that has heard nothing for more than
    GOSSIP_LINK_SILENT_MS at `now`: it is down. */
int gossip_tick_silent (const gossip_link_t *l, uint64_t now);

#endif
