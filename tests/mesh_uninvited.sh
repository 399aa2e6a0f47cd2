#!/usr/bin/env bash
# mesh_uninvited.sh — a node with a fresh key that was never invited, pointed
# at the cluster, gets no event and injects none: it does not dial keys that
# are not members of its own community (counted), and its remote queries
# are refused by the members' ZAP handler (counted).
TEST_NAME=mesh_uninvited
. "$(dirname "$0")/node_lib.sh"
. "$(dirname "$0")/mesh_lib.sh"

C="$WORK/c"
X="$WORK/x"
step "cluster of two, with a post"
cluster up 2 "$C" --sync-interval-ms 500 >"$WORK/up.log" || fail "cluster up: $(cat "$WORK/up.log")"
. "$C/cluster.env"
post "$NODE_1_DIR" "members only" >/dev/null
wait_until "$MESH_DEADLINE_S" has_post "$NODE_2_DIR" "members only" || fail "cluster does not sync"
BEFORE=$(digest "$NODE_1_DIR")
DENIED_BEFORE=$(stat_of "$NODE_1_DIR" "d['mesh']['zap_denied']")

step "an outsider (its own key and community) is given both members as peers"
ctl "$X" init --community outsider >/dev/null
X_PORT=$(free_ports) || fail "no free port"
start_node "$X" --listen "tcp://127.0.0.1:$X_PORT" --peer "$NODE_1_ADDRESS" --peer "$NODE_2_ADDRESS" --sync-interval-ms 500
X_PID=$NODE_PID
post "$X" "injected" >/dev/null
# Members only both ways: the members are not members of the outsider's
# community, so it does not even dial them (counted on its side).
wait_until "$MESH_DEADLINE_S" eval '[ "$(stat_of "$X" "d[\"mesh\"][\"nonmember_links\"] >= 2")" = true ]' \
    || fail "the outsider's links to non-members were not refused"
grep -q '^hearth_mesh_nonmember_links_total [1-9]' <(ctl "$X" stats --prometheus) || fail "prometheus non-member links"
# A few more sync intervals.
ROUNDS=$(stat_of "$NODE_2_DIR" "d['mesh']['reconcile_rounds']")
wait_until "$MESH_DEADLINE_S" eval '[ "$(stat_of "$NODE_2_DIR" "d[\"mesh\"][\"reconcile_rounds\"] >= $ROUNDS + 3")" = true ]' \
    || fail "the members stopped reconciling"

step "nothing crossed in either direction"
# Its own community.created and its own post, nothing else.
assert_json "$(ctl "$X" --json stats)" "d['events']['total'] == 2 and d['events']['received_accepted'] == 0 and d['mesh']['events_received'] == 0 and d['mesh']['peers_connected'] == 0" "the outsider got nothing"
lacks_post "$X" "members only" || fail "the outsider can read the members' post"
assert_json "$(ctl "$X" peers --json)" "not any(p['connected'] for p in d['peers'])" "no link of the outsider is up"
[ "$(digest "$NODE_1_DIR")" = "$BEFORE" ] || fail "node 1's events changed"
lacks_post "$NODE_1_DIR" "injected" && lacks_post "$NODE_2_DIR" "injected" || fail "the outsider's post got in"
assert_json "$(ctl "$NODE_1_DIR" --json stats)" "d['events']['rejected']['not_member'] == 0 and d['events']['rejected']['wrong_community'] == 0" "no outsider event even reached the pipeline"

step "the outsider's remote queries are refused by ZAP, and counted"
expect_exit 1 ctl "$X" --timeout 5000 --node "$NODE_1_ADDRESS" market list
[[ "$OUT" == *unauthorized* ]] || fail "outsider remote list: $OUT"
wait_until "$MESH_DEADLINE_S" eval '[ "$(stat_of "$NODE_1_DIR" "d[\"mesh\"][\"zap_denied\"] > $DENIED_BEFORE")" = true ]' \
    || fail "the outsider's handshake was not counted as denied"
grep -q '^hearth_mesh_zap_denied_total [1-9]' <(ctl "$NODE_1_DIR" stats --prometheus) || fail "prometheus zap denials"

stop_node "$X_PID"
cluster down "$C" >/dev/null
passed
