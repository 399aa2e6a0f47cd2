#!/usr/bin/env bash
# mesh_outsider_counts.sh — every kind of outsider attempt on the peer socket
# is counted, on the stats socket in JSON and Prometheus: raw junk over TCP,
# a ZeroMQ NULL-mechanism connection, a CURVE client holding the wrong
# server key, an unknown CURVE client key (ZAP). And a remote call with a
# 65-byte capability name is answered with bad_request at once instead of
# leaving its caller to wait out its timeout.
TEST_NAME=mesh_outsider_counts
. "$(dirname "$0")/node_lib.sh"
. "$(dirname "$0")/mesh_lib.sh"
: "${MESH_OUTSIDER:?set MESH_OUTSIDER to the mesh_outsider binary}"

C="$WORK/c"
X="$WORK/x"
cluster up 2 "$C" --sync-interval-ms 500 >"$WORK/up.log" || fail "cluster up: $(cat "$WORK/up.log")"
. "$C/cluster.env"
ENDPOINT=${NODE_1_ADDRESS#*@}

# counter_grows NAME BEFORE: the mesh counter NAME of node 1 is above BEFORE.
counter_grows () {
    [ "$(stat_of "$NODE_1_DIR" "d['mesh']['$1'] > $2")" = true ]
}
# attempt KIND COUNTER: one attempt of KIND; COUNTER must grow.
attempt () {
    local kind=$1 counter=$2 before
    before=$(stat_of "$NODE_1_DIR" "d['mesh']['$counter']")
    "$MESH_OUTSIDER" attack "$kind" "$ENDPOINT" >"$WORK/$kind.out" 2>&1 || fail "$kind attempt: $(cat "$WORK/$kind.out")"
    wait_until "$MESH_DEADLINE_S" counter_grows "$counter" "$before" || fail "a $kind attempt was not counted in $counter"
}

step "raw junk over TCP"
attempt junk handshake_junk
step "a NULL-mechanism ZeroMQ connection"
attempt null handshake_mechanism
step "a CURVE client with the wrong server key"
attempt wrongkey handshake_crypto
step "an unknown CURVE client key"
ctl "$X" init --community elsewhere >/dev/null
DENIED=$(stat_of "$NODE_1_DIR" "d['mesh']['zap_denied']")
expect_exit 1 ctl "$X" --timeout 5000 --node "$NODE_1_ADDRESS" market list
wait_until "$MESH_DEADLINE_S" counter_grows zap_denied "$DENIED" || fail "the unknown key was not counted"

step "Prometheus has them; the members still sync"
PROM=$(ctl "$NODE_1_DIR" stats --prometheus)
for reason in junk mechanism crypto; do
    grep -q "^hearth_mesh_handshake_failed_total{reason=\"$reason\"} [1-9]" <<<"$PROM" \
        || fail "prometheus handshake_failed $reason: $(grep handshake_failed <<<"$PROM")"
done
if command -v promtool >/dev/null 2>&1; then
    promtool check metrics <<<"$PROM" >"$WORK/promtool.out" 2>&1 || fail "promtool: $(cat "$WORK/promtool.out")"
fi
ctl "$NODE_1_DIR" stats | grep -q "outsiders: junk [1-9]" || fail "stats table: $(ctl "$NODE_1_DIR" stats)"
post "$NODE_2_DIR" "still here" >/dev/null
wait_until "$MESH_DEADLINE_S" has_post "$NODE_1_DIR" "still here" || fail "the members stopped syncing"
assert_json "$(ctl "$NODE_1_DIR" --json stats)" "d['mesh']['handshake_junk'] + d['mesh']['handshake_mechanism'] + d['mesh']['handshake_crypto'] < 20" \
    "members' own connections were not counted as outsiders"

step "a remote call with a 65-byte capability name is answered"
CAP=$(printf 'c%.0s' $(seq 1 65))
expect_exit 1 ctl "$NODE_2_DIR" --timeout 20000 --node "$NODE_1_ADDRESS" call "$CAP"
[[ "$OUT" == *bad_request* && "$OUT" == *"over 64 bytes"* ]] || fail "65-byte capability: $OUT"
# A 64-byte name is a well-formed call for a capability this node does not serve.
expect_exit 1 ctl "$NODE_2_DIR" --timeout 20000 --node "$NODE_1_ADDRESS" call "${CAP:1}"
[[ "$OUT" != *timeout* && "$OUT" != *"did not answer"* ]] || fail "64-byte capability: $OUT"

cluster down "$C" >/dev/null
passed
