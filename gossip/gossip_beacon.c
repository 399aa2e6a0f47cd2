/*  gossip_beacon.c — LAN discovery (zbeacon): publish this node's beacon
    and learn nodes of our community that publish theirs; see gossip.h
    (cfg.discovery).

    Invariants: a beacon's key is dialled only if it is a member (or the
    view knows no member yet); a node listening on loopback only is
    dialled only from the same host.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gossip_internal.h"
#include "hearth_codec.h"
#include "hearth_error.h"
#include "hearth_log.h"

#define S_LOG "gossip"

/* ---- tuning (named, explained) --------------------------------------------------- */

/*  LAN discovery (zbeacon): UDP port, beacon interval, and the beacon:
    "HRTH" | version 1 | community id (32) | node key (32) | port (2, BE) |
    loopback-only flag (1): 72 bytes (zbeacon allows 255). */
#define GOSSIP_BEACON_PORT          7400
#define GOSSIP_BEACON_IVL_MS        1000
#define GOSSIP_BEACON_MAGIC         "HRTH"
#define GOSSIP_BEACON_VERSION       1
#define GOSSIP_BEACON_SIZE          (4 + 1 + 32 + 32 + 2 + 1)

/*  A beacon of a node of our community we have no link with: learn it
    (the overlay dials it). A
    node listening on loopback only is dialled on 127.0.0.1, and only when
    its beacon came from this host. */
static int
s_on_beacon (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    gossip_t *self = (gossip_t *) arg;
    zmsg_t *msg = zmsg_recv (sock);
    if (!msg)
        return 0;
    char *ip = zmsg_popstr (msg);
    zframe_t *data = zmsg_pop (msg);
    const uint8_t *cid = eventlog_community_id (self->log);
    if (ip && data && cid && zframe_size (data) == GOSSIP_BEACON_SIZE) {
        const uint8_t *b = zframe_data (data);
        const uint8_t *key = b + 37;
        unsigned port = (unsigned) b [69] << 8 | b [70];
        int loopback = b [71];
        if (memcmp (b, GOSSIP_BEACON_MAGIC, 4) == 0 && b [4] == GOSSIP_BEACON_VERSION
        &&  memcmp (b + 5, cid, 32) == 0 && port > 0
        &&  memcmp (key, identity_public_key (self->id), 32) != 0
        &&  !gossip_link_find (self, 0, key) && !gossip_link_find (self, 1, key)
        &&  strlen (ip) < 64 && !strchr (ip, ':')
        &&  (!loopback || (self->beacon_host && streq (ip, self->beacon_host)))) {
            char id [HEARTH_NODE_ID_SIZE], address [GOSSIP_MAX_ADDRESS];
            hearth_node_id_format (key, id);
            snprintf (address, sizeof address, "%s@tcp://%s:%u", id, loopback? "127.0.0.1": ip, port);
            if (!gossip_is_member (self, key)
            &&  membership_count (eventlog_membership (self->log)) > 0) {
                self->stats.nonmember_addresses++;
                hearth_log_limited (HEARTH_LOG_INFO, S_LOG, "beacon.nonmember",
                                    "a LAN beacon names %s, which is not a member: not dialled", address);
            }
            else {
                /*  Into the known-peer table (new, or at a new address):
                    the overlay dials it like any known member. */
                const gossip_overlay_peer_t *p = gossip_overlay_find (self->overlay, key);
                int fresh = !p || !streq (p->address, address);
                if (fresh && gossip_overlay_learn (self->overlay, key, address, GOSSIP_OVERLAY_FROM_DISCOVERY,
                                                   hearth_now_ms ()) >= 0) {
                    self->overlay_due = 1;
                    hlog_info (S_LOG, "discovered %s on the LAN", address);
                }
            }
        }
    }
    freen (ip);
    zframe_destroy (&data);
    zmsg_destroy (&msg);
    return 0;
}

/*  Start the beacon: publish ours (if listening) and hear others'. A host
    without a broadcast interface runs without discovery (logged). */
int
gossip_beacon_start (gossip_t *self)
{
    const uint8_t *cid = eventlog_community_id (self->log);
    if (!cid) {
        hlog_warn (S_LOG, "LAN discovery needs a community; off until the next start");
        return 0;
    }
    self->beacon = zactor_new (zbeacon, NULL);
    if (!self->beacon)
        return HEARTH_ENOMEM;
    zsock_send (self->beacon, "si", "CONFIGURE", GOSSIP_BEACON_PORT);
    self->beacon_host = zstr_recv (self->beacon);
    if (!self->beacon_host || !*self->beacon_host) {
        hlog_warn (S_LOG, "LAN discovery off: no interface that can broadcast");
        zactor_destroy (&self->beacon);
        freen (self->beacon_host);
        self->beacon_host = NULL;
        return 0;
    }
    const char *at = strchr (self->address, '@');
    const char *port = strrchr (self->address, ':');
    if (at && port) {
        uint8_t b [GOSSIP_BEACON_SIZE];
        memcpy (b, GOSSIP_BEACON_MAGIC, 4);
        b [4] = GOSSIP_BEACON_VERSION;
        memcpy (b + 5, cid, 32);
        memcpy (b + 37, identity_public_key (self->id), 32);
        unsigned p = (unsigned) atoi (port + 1);
        b [69] = (uint8_t) (p >> 8);
        b [70] = (uint8_t) p;
        const char *host = at + 1 + 6;      /* after "tcp://" */
        b [71] = strncmp (host, "127.", 4) == 0 || strncmp (host, "localhost:", 10) == 0
              || strncmp (host, "[::1]", 5) == 0;
        zsock_send (self->beacon, "sbi", "PUBLISH", b, sizeof b, GOSSIP_BEACON_IVL_MS);
    }
    zsock_send (self->beacon, "sb", "SUBSCRIBE", GOSSIP_BEACON_MAGIC, (size_t) 4);
    if (zloop_reader (self->loop, (zsock_t *) self->beacon, s_on_beacon, self) != 0)
        return HEARTH_ENOMEM;
    hlog_info (S_LOG, "LAN discovery on (UDP %d, %s)", GOSSIP_BEACON_PORT, self->beacon_host);
    return 0;
}
