#!/usr/bin/env bash
# mesh_revoke.sh — when a key stops being a member every link to it closes,
# inbound and outbound, on every node that learns of the revocation: its
# connections are shut down (so it must pass ZAP again, and is refused), it
# gets no further event and its posts get in nowhere. mesh_outsider appends
# community.member.revoked, signed by the root, to the root's stopped log: a
# proposal with no endorsement window, which takes effect on the root's one
# signature because nobody else may sign (the policy's 3 capped at 1;
# tests/mesh_governance.sh does it with the CLI and co-signers). The same
# for an invitee whose invite expires while it is connected, before it joins.
TEST_NAME=mesh_revoke
. "$(dirname "$0")/node_lib.sh"
. "$(dirname "$0")/mesh_lib.sh"
: "${MESH_OUTSIDER:?set MESH_OUTSIDER to the mesh_outsider binary}"

C="$WORK/c"
step "cluster of three; node 2 also knows node 3's address"
cluster up 3 "$C" --sync-interval-ms 500 >"$WORK/up.log" || fail "cluster up: $(cat "$WORK/up.log")"
. "$C/cluster.env"
sed -i "s|^EXTRA_ARGS=.*|EXTRA_ARGS='--peer $NODE_3_ADDRESS'|" "$C/cluster.env"
cluster stop "$C" 2 >/dev/null
cluster start "$C" 2 >/dev/null || fail "node 2 did not restart"
# links DIR NODE_ID DIRECTION: 1 if DIR has a connected link in DIRECTION with NODE_ID.
link_up () {
    ctl "$1" peers --json | json "any(p['connected'] and p['node_id'] == '$2' and p['direction'] == '$3' for p in d['peers'])" | grep -qx true
}
# Nodes 2 and 3 link (the overlay dials a member only when no link with it
# is up either way, so which of them dialled is a race): note the way.
linked_23 () {
    link_up "$NODE_2_DIR" "$NODE_3_ID" out || link_up "$NODE_2_DIR" "$NODE_3_ID" in
}
wait_until "$MESH_DEADLINE_S" linked_23 || fail "nodes 2 and 3 did not link"
IN_23=0
link_up "$NODE_2_DIR" "$NODE_3_ID" in && IN_23=1
echo "node 2's link with node 3: $([ "$IN_23" = 1 ] && echo "in (node 3 dialled)" || echo "out (node 2 dialled)")"
post "$NODE_3_DIR" "before revocation" >/dev/null
cluster wait-converged "$C" "$MESH_DEADLINE_S" >/dev/null || fail "the cluster did not converge"

step "the root revokes node 3"
cluster stop "$C" 1 >/dev/null
"$MESH_OUTSIDER" revoke "$NODE_1_DIR" "$NODE_3_ID" >"$WORK/revoke.out" 2>&1 || fail "revoke: $(cat "$WORK/revoke.out")"
DENIED_2=$(stat_of "$NODE_2_DIR" "d['mesh']['zap_denied']")
cluster start "$C" 1 >/dev/null || fail "node 1 did not restart"
revoked_on () {
    ctl "$1" events --json | json "any(e['event_type'] == 'community.member.revoked' for e in d['events'])" | grep -qx true
}
wait_until "$MESH_DEADLINE_S" revoked_on "$NODE_2_DIR" || fail "the revocation did not reach node 2"

step "node 2 closes its links with node 3; node 3's redial is refused"
no_link () {
    ! link_up "$NODE_2_DIR" "$NODE_3_ID" out && ! link_up "$NODE_2_DIR" "$NODE_3_ID" in
}
wait_until "$MESH_DEADLINE_S" no_link || fail "node 2 still has a link with node 3: $(ctl "$NODE_2_DIR" peers)"
# An in connection was shut down, so node 3 dials again and meets ZAP.
if [ "$IN_23" = 1 ]; then
    wait_until "$MESH_DEADLINE_S" eval '[ "$(stat_of "$NODE_2_DIR" "d[\"mesh\"][\"zap_denied\"] > $DENIED_2")" = true ]' \
        || fail "node 3's connection to node 2 was not closed (no refused redial)"
fi
wait_until "$MESH_DEADLINE_S" eval '[ "$(stat_of "$NODE_3_DIR" "d[\"mesh\"][\"peers_connected\"] == 0")" = true ]' \
    || fail "node 3 still has links up: $(ctl "$NODE_3_DIR" peers)"

wait_until "$MESH_DEADLINE_S" eval '[ "$(stat_of "$NODE_2_DIR" "d[\"mesh\"][\"nonmember_links\"] >= 1")" = true ]' \
    || fail "node 2 did not count closing its links with node 3"

step "nothing crosses any more"
post "$NODE_3_DIR" "after revocation" >/dev/null
post "$NODE_1_DIR" "members news" >/dev/null
wait_until "$MESH_DEADLINE_S" has_post "$NODE_2_DIR" "members news" || fail "members stopped syncing"
# The two members go on reconciling (whichever of them initiates: a node
# skips the periodic session with a peer that just synced with it, so with
# one link between them one side may do all of it).
rounds_12 () {
    echo $(( $(stat_of "$NODE_1_DIR" "d['mesh']['reconcile_rounds']") + $(stat_of "$NODE_2_DIR" "d['mesh']['reconcile_rounds']") ))
}
ROUNDS=$(rounds_12)
wait_until "$MESH_DEADLINE_S" eval '[ "$(rounds_12)" -ge $((ROUNDS + 2)) ]' \
    || fail "nodes 1 and 2 stopped reconciling"
lacks_post "$NODE_3_DIR" "members news" || fail "the revoked node still receives posts"
lacks_post "$NODE_2_DIR" "after revocation" && lacks_post "$NODE_1_DIR" "after revocation" \
    || fail "the revoked node's post got in"

step "an invitee's link closes when its invite expires unredeemed"
Y="$WORK/y"
ctl "$Y" init --identity-only >/dev/null
Y_ID=$(ctl "$Y" id --json | json "d['node_id']")
ctl "$NODE_1_DIR" invite "$Y_ID" --ttl 10 --out "$WORK/y.json" >/dev/null
"$MESH_OUTSIDER" hello "$Y/keys" "$NODE_1_ADDRESS" 0 >"$WORK/hello.out" 2>&1 &
HELLO_PID=$!
DAEMON_PIDS+=("$HELLO_PID")
wait_until "$MESH_DEADLINE_S" link_up "$NODE_1_DIR" "$Y_ID" in || fail "the invitee's link did not come up"
DENIED_1=$(stat_of "$NODE_1_DIR" "d['mesh']['zap_denied']")
EXPIRES=$(json "d['expires_at']" <"$WORK/y.json")
_past () {
    "$PYTHON" -c 'import calendar,sys,time; sys.exit(0 if time.time() > calendar.timegm(time.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%SZ")) + 0.2 else 1)' "$EXPIRES"
}
wait_until "$MESH_DEADLINE_S" _past || fail "clock"
wait_until "$MESH_DEADLINE_S" eval '! link_up "$NODE_1_DIR" "$Y_ID" in' || fail "the expired invitee's link is still up"
# Its connection was shut down: its DEALER redials and ZAP refuses it.
wait_until "$MESH_DEADLINE_S" eval '[ "$(stat_of "$NODE_1_DIR" "d[\"mesh\"][\"zap_denied\"] > $DENIED_1")" = true ]' \
    || fail "the expired invitee's connection was not closed (no refused redial)"
kill -TERM "$HELLO_PID"
wait "$HELLO_PID" 2>/dev/null || true

cluster down "$C" >/dev/null
passed
