#!/usr/bin/env bash
# mesh_two_nodes.sh — two nodes converge: a post on either
# node is listed on the other; remote market.list/search over the mesh as a
# member (post/expire refused; a location filter checked by the remote node); `id` shows the peer address; `peers`; the
# mesh stats in JSON and in promtool-valid Prometheus text.
TEST_NAME=mesh_two_nodes
. "$(dirname "$0")/node_lib.sh"
. "$(dirname "$0")/mesh_lib.sh"

C="$WORK/c"
step "cluster of two"
cluster up 2 "$C" --sync-interval-ms 1000 >"$WORK/up.log" || fail "cluster up: $(cat "$WORK/up.log")"
. "$C/cluster.env"
A=$NODE_1_DIR
B=$NODE_2_DIR
grep -q "every node is a member and linked" "$WORK/up.log" || fail "cluster up output"
grep -q "^node 2  $B  $NODE_2_ADDRESS" "$WORK/up.log" || fail "cluster up prints dirs and addresses"

step "id shows the peer address of the running node"
assert_json "$(ctl "$A" id --json)" "d['address'] == '$NODE_1_ADDRESS' and d['address'].startswith(d['node_id'] + '@tcp://127.0.0.1:')" "address of node 1"
assert_json "$(ctl "$B" call node.id)" "d['output']['level'] == 'member'" "node 2 joined as a member"
assert_json "$(ctl "$A" call node.id)" "d['output']['level'] == 'anchor'" "node 1 is the root"
grep -q "joined the community: invite" "$C/n2.log" || fail "node 2 does not log its join"

step "a post on either node shows on the other"
E1=$(post "$A" "ladder from A" --tag tools)
wait_until "$MESH_DEADLINE_S" has_post "$B" "ladder from A" || fail "A's post never reached B"
E2=$(post "$B" "pump from B")
wait_until "$MESH_DEADLINE_S" has_post "$A" "pump from B" || fail "B's post never reached A"
assert_json "$(ctl "$B" --json market get "$E1")" "d['post']['author'] == '$NODE_1_ID' and d['post']['tags'] == ['tools']" "B serves A's post with its author"
wait_until "$MESH_DEADLINE_S" eval '[ "$(digest "$A")" = "$(digest "$B")" ]' || fail "digests differ: $(digest "$A") vs $(digest "$B")"

step "remote queries as a member"
REMOTE=$(ctl "$B" --json --node "$NODE_1_ADDRESS" market list)
assert_json "$REMOTE" "sorted(p['event_id'] for p in d['posts']) == sorted(['$E1', '$E2'])" "remote list"
assert_json "$(ctl "$B" --json --node "$NODE_1_ADDRESS" market search ladder)" "d['posts'][0]['event_id'] == '$E1'" "remote search"
ctl "$B" --node "$NODE_1_ADDRESS" market list | grep -q "ladder from A" || fail "human remote list"
# A location filter reaches the remote node's checks: neither post has a location
assert_json "$(ctl "$B" --json --node "$NODE_1_ADDRESS" market list --near 0,0 --radius-km 20037.5)" "d['posts'] == []" "remote list near: unlocated posts left out"
assert_json "$(ctl "$B" --json --node "$NODE_1_ADDRESS" market search ladder --near 0,0 --radius-km 20037.5 --order distance)" "d['posts'] == []" "remote search near"
expect_exit 1 ctl "$B" --json --node "$NODE_1_ADDRESS" market list --near 52.52,13.4 --radius-km 99999
assert_json "$OUT" "d['error'] == 'bad_request' and 'location_filter.radius_km' in d['message']" "remote bad filter names the field"
expect_exit 1 ctl "$B" --node "$NODE_1_ADDRESS" market post --category info --title x --body y
[[ "$OUT" == *unauthorized* ]] || fail "remote post not refused: $OUT"
expect_exit 1 ctl "$B" --json --node "$NODE_1_ADDRESS" call node.stats
assert_json "$OUT" "d['error'] == 'unauthorized'" "remote node.stats refused"
expect_exit 2 ctl "$B" --node "ed25519:bad@tcp://127.0.0.1:1" market list
assert_json "$(ctl "$A" --json stats)" "d['mesh']['queries']['market.list']['ok'] >= 2 and d['mesh']['queries']['market.search']['ok'] >= 1 and d['mesh']['queries']['market.list']['in_flight'] == 0" "A counts the remote calls"
assert_json "$(ctl "$A" --json stats)" "[d['mesh']['queries'][c][k] for c in ('market.list', 'market.search') for k in ('max_concurrent', 'timeout_ms')] == [8, 5000, 4, 10000]" "the limits of the remote calls (docs/protocol.md)"
# Captured first: grep -q stops reading early, and with pipefail the writer's SIGPIPE would fail the check.
PROM=$(ctl "$A" stats --prometheus)
grep -q '^hearth_mesh_queries_total{capability="market.list",result="ok"} [1-9]' <<<"$PROM" || fail "prometheus remote calls"

step "a call nobody answers ends with timeout after the capability's timeout or a shorter --timeout"
# A port nobody listens on: leased to this test (no other test listens
# there) and below the ephemeral range (a dial cannot connect to itself).
DEAD_PORT=$(free_ports) || fail "no free port"
expect_exit 3 ctl "$B" --json --timeout 300 --node "$NODE_1_ID@tcp://127.0.0.1:$DEAD_PORT" market search ladder
assert_json "$OUT" "d['error'] == 'timeout' and 'within 300 ms' in d['message']" "remote search with --timeout 300"
expect_exit 3 ctl "$B" --timeout 60000 --node "$NODE_1_ID@tcp://127.0.0.1:$DEAD_PORT" market list
[[ "$OUT" == *"error: timeout (ETIMEOUT): "*"within 5000 ms"* ]] || fail "remote list waits at most market.list's 5 s: $OUT"

step "peers"
PEERS=$(ctl "$A" peers --json)
assert_json "$PEERS" "len(d['peers']) == 1 and d['peers'][0]['node_id'] == '$NODE_2_ID' and d['peers'][0]['connected'] is True" "A's peer"
assert_json "$PEERS" "d['peers'][0]['direction'] == 'in' and d['peers'][0]['bytes_in'] > 0 and d['peers'][0]['bytes_out'] > 0" "A's link is incoming, with bytes"
assert_json "$(ctl "$B" peers --json)" "d['peers'][0]['direction'] == 'out' and d['peers'][0]['address'] == '$NODE_1_ADDRESS'" "B dials A"
ctl "$A" peers | grep -q "1 peer link, 1 connected" || fail "human peers"

step "mesh stats"
STATS=$(ctl "$A" --json stats)
assert_json "$STATS" "d['mesh']['peers_connected'] == 1 and d['mesh']['events_pushed'] >= 1 and d['mesh']['events_received'] >= 1" "A's mesh counters"
assert_json "$STATS" "d['mesh']['bytes_in'] > 0 and d['mesh']['bytes_out'] > 0 and d['mesh']['zap_denied'] == 0" "A's byte counters"
wait_until "$MESH_DEADLINE_S" eval '[ "$(stat_of "$B" "d[\"mesh\"][\"reconcile_rounds\"] > 0 and d[\"mesh\"][\"last_sync\"] is not None")" = true ]' \
    || fail "B never completed a reconciliation"
ctl "$B" stats | grep -q "^mesh .*1 peer(s) connected" || fail "human stats show the mesh"
ctl "$A" stats --prometheus >"$WORK/a.prom"
grep -q '^hearth_mesh_peers_connected 1$' "$WORK/a.prom" || fail "prometheus peers connected"
grep -q '^hearth_mesh_peer_bytes_total{peer="' "$WORK/a.prom" || fail "prometheus per-peer bytes"
if command -v promtool >/dev/null 2>&1; then
    promtool check metrics <"$WORK/a.prom" || fail "promtool check metrics failed"
else
    echo "promtool not installed: skipping promtool check metrics (scripts/test.sh installs it)"
fi

step "status and down"
cluster status "$C" | grep -q "^2 .* member " || fail "cluster status"
cluster down "$C" >/dev/null
[ ! -e "$C/n1.pid" ] && [ ! -e "$A/control.sock" ] || fail "cluster down left a node running"
grep -q "signal received, shutting down" "$C/n2.log" || fail "node 2 not stopped by SIGTERM"

passed
