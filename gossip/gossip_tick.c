/*  gossip_tick.c — when the tick runs and what it does on a link; see
    gossip_tick.h. Pure: reads the link's fields and the given time.
*/
#include "gossip_tick.h"

int
gossip_tick_link_busy (const gossip_link_t *l)
{
    if (l->outgoing && l->allowed == l->barred)
        return 1;                           /* to dial, or to close */
    if (!l->outgoing && !l->allowed && (l->connected || l->fd >= 0))
        return 1;                           /* to close */
    if (l->lost)
        return 1;
    if (!l->connected)
        return 0;
    return l->neg_out [0] || l->neg_out [1] || l->neg_held || l->n_fetch_held > 0
        || l->init || l->resync;
}

int
gossip_tick_ping_due (const gossip_link_t *l, uint64_t now)
{
    return l->outgoing && l->connected && now - l->last_send_mono >= GOSSIP_PING_MS;
}

int
gossip_tick_silent (const gossip_link_t *l, uint64_t now)
{
    return !l->outgoing && l->connected && now - l->last_recv_mono > GOSSIP_LINK_SILENT_MS;
}
