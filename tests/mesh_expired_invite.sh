#!/usr/bin/env bash
# mesh_expired_invite.sh — an expired invite is refused: `join` refuses it,
# and an invitee that joined in time but first connects after the expiry is
# refused by the members' ZAP handler (counted), gets no event and never
# becomes a member.
TEST_NAME=mesh_expired_invite
. "$(dirname "$0")/node_lib.sh"
. "$(dirname "$0")/mesh_lib.sh"

C="$WORK/c"
L="$WORK/late"
step "cluster of two"
cluster up 2 "$C" --sync-interval-ms 500 >"$WORK/up.log" || fail "cluster up: $(cat "$WORK/up.log")"
. "$C/cluster.env"

step "join refuses an invite that has expired"
LATE_ID=$(ctl "$L" init --identity-only 2>/dev/null)
ctl "$NODE_1_DIR" invite "$LATE_ID" --ttl 1 --out "$WORK/short.json" >/dev/null
_join_refused () {
    local out
    out=$(ctl "$L" join "$WORK/short.json" 2>&1) && return 2
    [[ "$out" == *expired* ]]
}
wait_until "$MESH_DEADLINE_S" _join_refused || fail "join accepted an expired invite"

step "an invitee that joined in time but connects after the expiry is refused"
ctl "$NODE_1_DIR" invite "$LATE_ID" --ttl 2 --out "$WORK/two.json" >/dev/null
ctl "$L" join "$WORK/two.json" >/dev/null || fail "join within the lifetime"
EXPIRES=$(json "d['expires_at']" <"$WORK/two.json")
_past () {
    "$PYTHON" -c 'import calendar,sys,time; sys.exit(0 if time.time() > calendar.timegm(time.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%SZ")) + 0.2 else 1)' "$EXPIRES"
}
wait_until "$MESH_DEADLINE_S" _past || fail "clock"
DENIED=$(stat_of "$NODE_1_DIR" "d['mesh']['zap_denied']")
L_PORT=$(free_ports) || fail "no free port"
start_node "$L" --listen "tcp://127.0.0.1:$L_PORT" --sync-interval-ms 500
L_PID=$NODE_PID
wait_until "$MESH_DEADLINE_S" eval '[ "$(stat_of "$NODE_1_DIR" "d[\"mesh\"][\"zap_denied\"] > $DENIED")" = true ]' \
    || fail "the late invitee's handshake was not refused"
wait_until "$MESH_DEADLINE_S" grep -q "expired at .* before this node could join" "$L.log" \
    || fail "the late node does not say its invite expired"
assert_json "$(ctl "$L" --json stats)" "d['events']['total'] == 0 and d['mesh']['peers_connected'] == 0" "the late node got nothing"
assert_json "$(ctl "$L" call node.id)" "d['output']['level'] == 'none'" "the late node is no member"
assert_json "$(ctl "$NODE_1_DIR" --json events)" "not any(e['event_type'] == 'community.member.joined' and e['author'] == '$LATE_ID' for e in d['events'])" "no join of the late node"

step "a fresh invite lets it in"
stop_node "$L_PID"
ctl "$NODE_1_DIR" invite "$LATE_ID" --out "$WORK/fresh.json" >/dev/null
ctl "$L" join "$WORK/fresh.json" >/dev/null
start_node "$L" --listen "tcp://127.0.0.1:$L_PORT" --sync-interval-ms 500
L_PID=$NODE_PID
wait_until "$MESH_DEADLINE_S" eval '[ "$(ctl "$L" call node.id | json "d[\"output\"][\"level\"]")" = member ]' \
    || fail "the re-invited node did not become a member"
wait_until "$MESH_DEADLINE_S" eval '[ "$(digest "$L")" = "$(digest "$NODE_1_DIR")" ]' || fail "the re-invited node did not sync"

stop_node "$L_PID"
cluster down "$C" >/dev/null
passed
