/*  gossip_stats.h — the mesh counters, one row each: the one place a mesh
    counter is defined. The row makes the field of gossip_stats_t, the key
    in the "mesh" object of the stats JSON (the field's name), the
    Prometheus series (node_stats.c) and the line in hearthctl's stats table
    (node_render.c). docs/operations.md lists the Prometheus families.

    Columns of GOSSIP_STATS_COUNTERS (X):
      field   the C field and the JSON key
      type    Prometheus type: "counter" (monotonic since start) or "gauge"
      family  Prometheus metric name
      label   NULL, or the series' label pair (key="value") when several
              rows share one labelled family
      nth     the series' place in its family's Prometheus text (0 first;
              0 for a family of one series); the family's HELP and TYPE are
              written once, where the table first names the family
      group   the stats table's line for the row (rows of one group are
              printed on one line, groups in the order the table first
              names them), or NULL: not in that table
      words   the row's words in that line
      help    the family's HELP text, on its nth == 0 row (NULL elsewhere)

    Rows are in the order of the JSON keys. To add a counter: add a row
    (and count it in gossip); JSON, Prometheus and the table follow. Keep a
    labelled family's label set fixed: the label values are the rows.
    Which thread updates the counters: see gossip.h (gossip_stats).
*/
#ifndef HEARTH_GOSSIP_STATS_H
#define HEARTH_GOSSIP_STATS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GOSSIP_STATS_COUNTERS(X) \
    X (peers_connected, "gauge", "hearth_mesh_peers_connected", NULL, 0, NULL, NULL, \
       "Peer links currently connected.") \
    /*  Events over links. */ \
    X (events_pushed, "counter", "hearth_mesh_events_pushed_total", NULL, 0, "events", "pushed", \
       "Events sent to peers in full unasked (eager push, reconciliation) since start.") \
    X (events_pulled, "counter", "hearth_mesh_events_pulled_total", NULL, 0, "events", "pulled", \
       "Events received after a fetch (anti-entropy) since start.") \
    X (events_received, "counter", "hearth_mesh_events_received_total", NULL, 0, "events", "received", \
       "Events received over peer links (push and fetch) since start.") \
    X (events_duplicate, "counter", "hearth_mesh_events_duplicate_total", NULL, 0, "events", "duplicates", \
       "Events received over peer links that were already stored, since start.") \
    X (sync_wanted, "gauge", "hearth_mesh_sync_wanted_events", NULL, 0, NULL, NULL, \
       "Events this node knows it lacks and still wants from peers (reconciliation need lists " \
       "not yet fetched, and announced or requested hashes not yet stored), now.") \
    /*  Lazy push: event hashes announced to and by peers. */ \
    X (announce_sent, "counter", "hearth_mesh_announced_hashes_total", "direction=\"out\"", 1, \
       "announced", "out", NULL) \
    X (announce_received, "counter", "hearth_mesh_announced_hashes_total", "direction=\"in\"", 0, \
       "announced", "in", \
       "Event hashes announced (lazy push), by direction: out = to peers, in = from peers.") \
    X (announce_requested, "counter", "hearth_mesh_announce_requested_total", NULL, 0, "announced", \
       "requested", \
       "Announced event hashes this node lacked and fetched (retries included), since start.") \
    X (announce_retried, "counter", "hearth_mesh_announce_retried_total", NULL, 0, "announced", "retried", \
       "Announced event hashes asked again from another announcer (no answer, or answered " \
       "without the event), since start.") \
    X (announce_dropped, "counter", "hearth_mesh_announce_dropped_total", NULL, 0, "announced", "dropped", \
       "Announced event hashes ignored because a limit was reached, since start.") \
    /*  Reconciliation sessions this node initiated (docs/sync.md). */ \
    X (reconcile_rounds, "counter", "hearth_mesh_reconcile_rounds_total", NULL, 0, "reconcile", "sessions", \
       "Reconciliation sessions this node initiated and completed since start.") \
    X (reconcile_rateless, "counter", "hearth_mesh_reconcile_rateless_total", NULL, 0, "reconcile", \
       "rateless", "Of those, sessions in the rateless IBLT mode.") \
    X (reconcile_round_trips, "counter", "hearth_mesh_reconcile_round_trips_total", NULL, 0, "reconcile", \
       "round trips", "Answers received to this node's reconciliation messages since start.") \
    X (reconcile_fallbacks, "counter", "hearth_mesh_reconcile_fallbacks_total", NULL, 0, "reconcile", \
       "fallbacks", "Rateless sessions replaced by Negentropy v1 (peer declined, difference too large).") \
    X (reconcile_switches, "counter", "hearth_mesh_reconcile_switches_total", NULL, 0, "reconcile", \
       "switches", \
       "Negentropy v1 sessions after a (re)connect replaced by rateless ones (scattered differences).") \
    X (reconcile_bytes, "counter", "hearth_mesh_reconcile_bytes_total", NULL, 0, "reconcile", "bytes", \
       "Reconciliation message bytes sent and received since start, both modes.") \
    X (reconcile_bytes_rateless, "counter", "hearth_mesh_reconcile_rateless_bytes_total", NULL, 0, \
       "reconcile", "rateless bytes", "Of those, bytes of rateless IBLT mode messages.") \
    /*  All links. */ \
    X (bytes_in, "counter", "hearth_mesh_bytes_total", "direction=\"in\"", 0, "links", "bytes in", \
       "Bytes on all peer links, by direction.") \
    X (bytes_out, "counter", "hearth_mesh_bytes_total", "direction=\"out\"", 1, "links", "bytes out", NULL) \
    X (zap_denied, "counter", "hearth_mesh_zap_denied_total", NULL, 0, "links", "ZAP denials", \
       "Peer handshakes refused by the members-only ZAP handler since start.") \
    /*  Outsiders on the listening socket, from its ZeroMQ monitor (the ZAP \
        handler never sees these): connections that closed before the \
        handshake gave any verdict, or failed it as malformed ZMTP (not \
        ZeroMQ at all, a port scan, a cut greeting); that asked for another \
        security mechanism (NULL, PLAIN); whose CURVE handshake failed its \
        cryptography (a client holding the wrong server key). */ \
    X (handshake_junk, "counter", "hearth_mesh_handshake_failed_total", "reason=\"junk\"", 0, \
       "outsiders", "junk", \
       "Connections to the peer socket that failed before ZAP, by reason: junk (no or " \
       "malformed ZeroMQ handshake), mechanism (not CURVE), crypto (CURVE failed: wrong " \
       "server key).") \
    X (handshake_mechanism, "counter", "hearth_mesh_handshake_failed_total", "reason=\"mechanism\"", 1, \
       "outsiders", "wrong mechanism", NULL) \
    X (handshake_crypto, "counter", "hearth_mesh_handshake_failed_total", "reason=\"crypto\"", 2, \
       "outsiders", "wrong server key", NULL) \
    /*  Members only, both ways: links to or from a key that is not (or no \
        longer) a member closed, or out links never dialled for it; peer \
        addresses learned from hellos or LAN beacons dropped because their \
        key is not a member. */ \
    X (nonmember_links, "counter", "hearth_mesh_nonmember_links_total", NULL, 0, "outsiders", \
       "non-member links closed", \
       "Links to or from a key that is not (or no longer) a member closed, or out links " \
       "not dialled for that reason, since start.") \
    X (nonmember_addresses, "counter", "hearth_mesh_nonmember_addresses_total", NULL, 0, "outsiders", \
       "non-member addresses dropped", \
       "Peer addresses from hellos or LAN beacons dropped because their key is not a " \
       "member, since start.") \
    X (frames_dropped, "counter", "hearth_mesh_frames_dropped_total", NULL, 0, "links", "frames dropped", \
       "Malformed or oversized frames from peers dropped since start.") \
    X (store_rebuilds, "counter", "hearth_mesh_store_rebuilds_total", NULL, 0, "links", "store rebuilds", \
       "Reconciliation store rebuilt from the log after a page read disagreed with it " \
       "(or an insert failed), since start; nonzero points to disk trouble.") \
    /*  The per-peer budget of responder work (gossip_budget.h, docs/sync.md). */ \
    X (budget_bytes_charged, "counter", "hearth_mesh_sync_reply_bytes_total", "paid=\"credit\"", 0, \
       "budget", "reply bytes from credit", \
       "Bytes of replies to peers' sync requests (reconciliation, fetch), by what paid for " \
       "them: the peer's credit or events it was owed (docs/sync.md, the budget).") \
    X (budget_bytes_owed, "counter", "hearth_mesh_sync_reply_bytes_total", "paid=\"owed\"", 1, \
       "budget", "reply bytes owed", NULL) \
    X (budget_deferred_debt, "counter", "hearth_mesh_sync_deferred_total", "reason=\"debt\"", 0, \
       "budget", "held for debt", \
       "Peers' sync requests held until their budget allowed them, by reason.") \
    X (budget_deferred_open, "counter", "hearth_mesh_sync_deferred_total", "reason=\"open_rate\"", 1, \
       "budget", "held for open rate", NULL) \
    X (budget_deferred_round, "counter", "hearth_mesh_sync_deferred_total", "reason=\"round_rate\"", 2, \
       "budget", "held for round rate", NULL) \
    X (budget_refused_superseded, "counter", "hearth_mesh_sync_refused_total", "reason=\"superseded\"", 0, \
       "budget", "refused superseded", "Peers' sync requests refused over their budget, by reason.") \
    X (budget_refused_fetch, "counter", "hearth_mesh_sync_refused_total", "reason=\"held_full\"", 1, \
       "budget", "refused held full", NULL) \
    /*  Events this node refused, remembered so sync does not fetch them \
        again (gossip_refused.h, docs/sync.md §7.4 "Refused events"). */ \
    X (refused_known, "gauge", "hearth_mesh_refused_events", NULL, 0, "refused", "remembered now", \
       "Hashes of received events this node refused, remembered so sync does not fetch " \
       "them again (at most GOSSIP_REFUSED_MAX, docs/limits.md).") \
    X (refused_remembered, "counter", "hearth_mesh_refused_remembered_total", NULL, 0, "refused", \
       "remembered", "Refused events remembered by hash since start.") \
    X (refused_evicted, "counter", "hearth_mesh_refused_evicted_total", NULL, 0, "refused", "evicted", \
       "Remembered refusals forgotten to make room for newer ones since start.") \
    X (refused_skipped, "counter", "hearth_mesh_refused_skipped_total", NULL, 0, "refused", "skipped", \
       "Event hashes a peer offered or announced that were not fetched because this node " \
       "refused those events before, since start.") \
    X (refused_retried, "counter", "hearth_mesh_refused_retried_total", NULL, 0, "refused", "retried", \
       "Remembered refusals that may pass later (future-dated, not a member yet) fetched " \
       "again after their backoff, since start.") \
    X (refused_sweeps, "counter", "hearth_mesh_refused_sweeps_total", NULL, 0, "refused", "sweeps", \
       "Runs of reconciliation sessions stopped at their cap of new ids that remembered " \
       "what they saw refused in a per-link filter, since start.") \
    /*  The overlay: the known-peer table and the links chosen from it \
        (gossip_overlay.h, docs/sync.md "Overlay"). */ \
    X (links_out, "gauge", "hearth_mesh_links", "direction=\"out\"", 0, "overlay", "out links", \
       "Peer links the overlay counts now, by direction: out = dialled by this node and up, " \
       "in = accepted (members and invitees).") \
    X (links_in, "gauge", "hearth_mesh_links", "direction=\"in\"", 1, "overlay", "in links", NULL) \
    X (known_peers, "gauge", "hearth_mesh_known_peers", NULL, 0, "overlay", "known", \
       "Members in the known-peer table (seeds included), kept across restarts.") \
    X (overlay_dials, "counter", "hearth_mesh_overlay_dials_total", NULL, 0, "overlay", "dials", \
       "Out links opened to members the overlay chose, since start.") \
    X (overlay_dial_failures, "counter", "hearth_mesh_overlay_dial_failures_total", NULL, 0, "overlay", \
       "dial failures", "Out links not up in time, refused with a redirect, or not startable, since start.") \
    X (overlay_closes_bootstrap, "counter", "hearth_mesh_overlay_closes_total", "reason=\"bootstrap\"", 0, \
       "overlay", "closed bootstrap", \
       "Out links the overlay closed, by reason: bootstrap (a seed once random links were up), " \
       "shuffle (replaced by a random member), surplus (a racing dial).") \
    X (overlay_closes_shuffle, "counter", "hearth_mesh_overlay_closes_total", "reason=\"shuffle\"", 1, \
       "overlay", "closed shuffle", NULL) \
    X (overlay_closes_surplus, "counter", "hearth_mesh_overlay_closes_total", "reason=\"surplus\"", 2, \
       "overlay", "closed surplus", NULL) \
    X (inbound_refused, "counter", "hearth_mesh_inbound_refused_total", NULL, 0, "overlay", "in refused", \
       "In links refused because this node's in links were full (each answered with a redirect), " \
       "since start.") \
    X (redirects_received, "counter", "hearth_mesh_redirects_received_total", NULL, 0, "overlay", \
       "redirects received", "Redirects received: a peer refused our link and named others, since start.") \
    X (known_evicted, "counter", "hearth_mesh_known_evicted_total", NULL, 0, "overlay", "evicted", \
       "Known-peer entries dropped to make room (GOSSIP_OVERLAY_KNOWN_MAX), since start.") \
    X (known_load_skipped, "counter", "hearth_mesh_known_load_skipped_total", NULL, 0, "overlay", \
       "load skipped", "Stored known-peer records not loaded at start (damaged, or over the cap; a " \
       "table that is not one counts 1), since start.")

/*  One uint64_t field per row. */
#define GOSSIP_STATS_FIELD(field, type, family, label, nth, group, words, help) uint64_t field;

/*  Counters for the stats socket: the table's rows, then the one figure
    rendered apart (a time, not a count). */
typedef struct {
    GOSSIP_STATS_COUNTERS (GOSSIP_STATS_FIELD)
    uint64_t last_sync_ms;               /* wall ms of the last completed session, 0 = never */
} gossip_stats_t;

#ifdef __cplusplus
}
#endif
#endif
