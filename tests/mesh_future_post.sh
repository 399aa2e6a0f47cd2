#!/usr/bin/env bash
# mesh_future_post.sh — a post dated 9999-12-31 cannot outlive the ttl
# limit: a member's node serves one; its peer refuses it at receive time
# (future_dated, more than EVENT_MAX_FUTURE_SKEW_MS ahead of its clock),
# and the node that holds it does not list it (not live until its date),
# while its live view still equals a re-fold.
TEST_NAME=mesh_future_post
. "$(dirname "$0")/node_lib.sh"
. "$(dirname "$0")/mesh_lib.sh"
: "${HOSTILE_EVENTS:?set HOSTILE_EVENTS to the hostile_events binary}"

C="$WORK/c"
step "cluster of two"
cluster up 2 "$C" --sync-interval-ms 500 >"$WORK/up.log" || fail "cluster up: $(cat "$WORK/up.log")"
. "$C/cluster.env"
A=$NODE_1_DIR
B=$NODE_2_DIR

step "node 2 serves a post dated 9999-12-31"
cluster stop "$C" 2
"$HOSTILE_EVENTS" "$B" future-post 1 >"$WORK/future.json" || fail "hostile_events future-post"
cluster start "$C" 2
post "$B" "marker" >/dev/null

step "node 1 refuses it, counted"
wait_until "$MESH_DEADLINE_S" has_post "$A" "marker" || fail "node 2's marker post never reached node 1"
wait_until "$MESH_DEADLINE_S" eval '[ "$(stat_of "$A" "d[\"events\"][\"rejected\"][\"future_dated\"] >= 1")" = true ]' \
    || fail "node 1 did not refuse the far-future post"
lacks_post "$A" "Forever 0" || fail "node 1 lists the far-future post"
assert_json "$(ctl "$A" --json stats)" "d['events']['by_type']['market.post.created'] == 1" "node 1 stores only the marker"

step "node 2 holds it but does not list it"
lacks_post "$B" "Forever 0" || fail "node 2 lists a post dated 9999"
has_post "$B" "marker" || fail "node 2 lost its marker"
assert_json "$(ctl "$B" call node.verify_views)" "d['output']['equal'] is True" "node 2's live view equals a re-fold"

cluster down "$C" >/dev/null
passed
