#!/usr/bin/env bash
# mesh_lamport_zero.sh — a data dir that holds an event at Lamport 0 (as an
# older version accepted from a hostile member) does not split the views:
# the node drops it at start (counted in dropped_on_open) and rebuilds its
# views, so `events` lists every stored event, `market list` every post,
# node.verify_views finds the live view equal to a re-fold, and its peer
# ends with the same event set and view.
TEST_NAME=mesh_lamport_zero
. "$(dirname "$0")/node_lib.sh"
. "$(dirname "$0")/mesh_lib.sh"
: "${HOSTILE_EVENTS:?set HOSTILE_EVENTS to the hostile_events binary}"

C="$WORK/c"
step "cluster of two, five posts"
cluster up 2 "$C" --sync-interval-ms 500 >"$WORK/up.log" || fail "cluster up: $(cat "$WORK/up.log")"
. "$C/cluster.env"
A=$NODE_1_DIR
B=$NODE_2_DIR
for i in 1 2 3 4 5; do post "$A" "post $i" >/dev/null; done
wait_until "$MESH_DEADLINE_S" eval '[ "$(digest "$A")" = "$(digest "$B")" ]' || fail "the two nodes did not converge"

step "node 1's log gets a post at Lamport 0"
cluster stop "$C" 1
"$HOSTILE_EVENTS" "$A" lamport0-post 1 >"$WORK/zero.json" || fail "hostile_events lamport0-post"
cluster start "$C" 1

step "every scan, list and verify sees the same events"
STATS=$(ctl "$A" --json stats)
TOTAL=$(printf '%s' "$STATS" | json "d['events']['total']")
LISTED=$(ctl "$A" --json events --limit 500 | json "len(d['events'])")
[ "$LISTED" = "$TOTAL" ] || fail "events lists $LISTED of $TOTAL stored events"
assert_json "$STATS" "d['events'].get('dropped_on_open') == 1" "the Lamport-0 event is dropped and counted"
assert_json "$(ctl "$A" call node.verify_views)" "d['output']['equal'] is True" "live view equals a re-fold"
assert_json "$(ctl "$A" --json market list --limit 500)" "sorted(p['title'] for p in d['posts']) == ['post %d' % i for i in range(1, 6)]" "market list"
assert_json "$(ctl "$A" --json market search "Lamport zero")" "all(p['title'] != 'Lamport zero 0' for p in d['posts'])" "search does not find it"
grep -q "dropped 1 stored event with Lamport 0" "$C/n1.log" || fail "the drop is not logged"

step "the peers hold the same set"
post "$A" "post 6" >/dev/null
wait_until "$MESH_DEADLINE_S" eval '[ "$(digest "$A")" = "$(digest "$B")" ]' || fail "the two nodes did not converge"
assert_json "$(ctl "$B" call node.verify_views)" "d['output']['equal'] is True" "node 2's live view equals a re-fold"
assert_json "$(ctl "$B" --json stats)" "d['events']['rejected']['lamport_bound'] == 0" "node 2 was never offered it"

cluster down "$C" >/dev/null
passed
