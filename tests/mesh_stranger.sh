#!/usr/bin/env bash
# mesh_stranger.sh — members only in both directions, whoever dials: a
# listener holding a never-invited key (a CURVE server that admits anyone,
# as an attacker's would) is named to the members as a --peer and in a
# hello; no member dials it, so it receives no handshake and no frame, while
# the members still converge. The hello also claims Lamport head UINT64_MAX:
# `peers` shows the lag saturated, not wrapped negative.
TEST_NAME=mesh_stranger
. "$(dirname "$0")/node_lib.sh"
. "$(dirname "$0")/mesh_lib.sh"
: "${MESH_OUTSIDER:?set MESH_OUTSIDER to the mesh_outsider binary}"

C="$WORK/c"
Y="$WORK/y"
step "a stranger listens with a never-invited key"
"$MESH_OUTSIDER" stranger "$WORK/stranger.addr" >"$WORK/stranger.out" 2>"$WORK/stranger.log" &
STRANGER_PID=$!
DAEMON_PIDS+=("$STRANGER_PID")
wait_until "$MESH_DEADLINE_S" test -s "$WORK/stranger.addr" || fail "the stranger did not start"
STRANGER=$(cat "$WORK/stranger.addr")

step "cluster of two; node 2 restarts with the stranger as a --peer"
cluster up 2 "$C" --sync-interval-ms 500 >"$WORK/up.log" || fail "cluster up: $(cat "$WORK/up.log")"
. "$C/cluster.env"
sed -i "s|^EXTRA_ARGS=.*|EXTRA_ARGS='--peer $STRANGER'|" "$C/cluster.env"
cluster stop "$C" 2 >/dev/null
cluster start "$C" 2 >/dev/null || fail "node 2 did not restart"
step "an invitee's hello names the stranger to node 1 and claims head 2^64-1"
ctl "$Y" init --identity-only >/dev/null
Y_ID=$(ctl "$Y" id --json | json "d['node_id']")
ctl "$NODE_1_DIR" invite "$Y_ID" --out "$WORK/y.json" >/dev/null
"$MESH_OUTSIDER" hello "$Y/keys" "$NODE_1_ADDRESS" 18446744073709551615 "$STRANGER" >"$WORK/hello.out" 2>&1 &
HELLO_PID=$!
DAEMON_PIDS+=("$HELLO_PID")
wait_until "$MESH_DEADLINE_S" grep -q 'hello sent' "$WORK/hello.out" || fail "the hello was not sent"

lag_of_y () {
    ctl "$NODE_1_DIR" peers --json | json "[p['lag'] for p in d['peers'] if p['node_id'] == '$Y_ID' and p['lag'] is not None]"
}
wait_until "$MESH_DEADLINE_S" eval '[ "$(lag_of_y)" != "[]" ]' || fail "node 1 did not read the hello"

step "the members converge; the stranger got nothing"
post "$NODE_1_DIR" "from one" >/dev/null
post "$NODE_2_DIR" "from two" >/dev/null
cluster wait-converged "$C" "$MESH_DEADLINE_S" >/dev/null || fail "the members did not converge"
has_post "$NODE_1_DIR" "from two" && has_post "$NODE_2_DIR" "from one" || fail "posts did not cross"
# Another anti-entropy round on each side after the posts.
ROUNDS=$(stat_of "$NODE_2_DIR" "d['mesh']['reconcile_rounds']")
wait_until "$MESH_DEADLINE_S" eval '[ "$(stat_of "$NODE_2_DIR" "d[\"mesh\"][\"reconcile_rounds\"] >= $ROUNDS + 2")" = true ]' \
    || fail "node 2 stopped reconciling"
if grep -q . "$WORK/stranger.out"; then
    fail "the stranger was dialled or sent frames: $(sort "$WORK/stranger.out" | uniq -c | tr '\n' ';')"
fi
for i in 1 2; do
    d=$(node_dir "$C" "$i")
    assert_json "$(ctl "$d" peers --json)" "all(p['node_id'] != '$(echo "$STRANGER" | cut -d@ -f1)' or not p['connected'] for p in d['peers'])" \
        "node $i has no up link to the stranger"
done

step "the lag of a peer claiming head 2^64-1 saturates"
wait_until "$MESH_DEADLINE_S" eval '[ "$(lag_of_y)" = "[9223372036854775807]" ]' \
    || fail "lag of a peer at head 2^64-1: $(lag_of_y) (want [9223372036854775807])"
ctl "$NODE_1_DIR" peers | grep -q "9223372036854775807" || fail "peers table lag: $(ctl "$NODE_1_DIR" peers)"

step "both refusals were counted"
wait_until "$MESH_DEADLINE_S" eval '[ "$(stat_of "$NODE_2_DIR" "d[\"mesh\"][\"nonmember_links\"] >= 1")" = true ]' \
    || fail "node 2 did not refuse its link to the stranger"
grep -q "not dialling .* it is not a member" "$C/n2.log" || fail "node 2 did not say why it does not dial the stranger"

wait_until "$MESH_DEADLINE_S" eval '[ "$(stat_of "$NODE_1_DIR" "d[\"mesh\"][\"nonmember_addresses\"] >= 1")" = true ]' \
    || fail "node 1 did not drop the stranger's address from the hello"
grep -q '^hearth_mesh_nonmember_addresses_total [1-9]' <(ctl "$NODE_1_DIR" stats --prometheus) \
    || fail "prometheus non-member addresses"

kill -TERM "$HELLO_PID" "$STRANGER_PID"
wait "$HELLO_PID" "$STRANGER_PID" 2>/dev/null || true
cluster down "$C" >/dev/null
passed
