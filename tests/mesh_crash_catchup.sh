#!/usr/bin/env bash
# mesh_crash_catchup.sh — a node killed (SIGKILL) while the others write
# catches up on restart with nothing missing: every post the others
# acknowledged before, during and after the crash is on it, and its view
# equals theirs and a full re-fold of its own log.
TEST_NAME=mesh_crash_catchup
. "$(dirname "$0")/node_lib.sh"
. "$(dirname "$0")/mesh_lib.sh"

C="$WORK/c"
step "cluster of three"
cluster up 3 "$C" --sync-interval-ms 1000 >"$WORK/up.log" || fail "cluster up: $(cat "$WORK/up.log")"
. "$C/cluster.env"
: >"$WORK/acked"

# writer I: post on node I until $WORK/stop exists; record acknowledged ids.
writer () {
    local i=$1 n=0 dir_var="NODE_$1_DIR" id
    while [ ! -e "$WORK/stop" ]; do
        n=$((n + 1))
        if id=$(post "${!dir_var}" "w$i-$n" 2>/dev/null); then
            echo "$id" >>"$WORK/acked"
        fi
    done
}
acked_at_least () {
    [ "$(wc -l <"$WORK/acked")" -ge "$1" ]
}

step "nodes 1 and 2 write; node 3 is killed mid-stream"
writer 1 & W1=$!
writer 2 & W2=$!
wait_until "$MESH_DEADLINE_S" acked_at_least 10 || fail "writers made no progress"
# Node 3 also writes locally just before its crash: what it acknowledged
# must survive and reach the others too.
post "$NODE_3_DIR" "n3 before crash" >>"$WORK/acked"
cluster kill "$C" 3
KILLED_AT=$(wc -l <"$WORK/acked")
wait_until "$MESH_DEADLINE_S" acked_at_least $((KILLED_AT + 20)) || fail "writers stalled while node 3 was down"

step "node 3 restarts while the writers go on, then they stop"
cluster start "$C" 3
wait_until "$MESH_DEADLINE_S" acked_at_least $((KILLED_AT + 30)) || fail "writers stalled after the restart"
touch "$WORK/stop"
wait "$W1" "$W2"
ACKED=$(wc -l <"$WORK/acked")
echo "$ACKED posts acknowledged; node 3 was killed after $KILLED_AT"

step "every node converges with nothing missing"
cluster wait-converged "$C" "$MESH_DEADLINE_S" || fail "no convergence after the crash"
for i in 1 2 3; do
    dir_var="NODE_${i}_DIR"
    missing=$("$PYTHON" - "${!dir_var}" "$HEARTHCTL" "$WORK/acked" <<'PY'
import json, subprocess, sys
d, ctl, acked = sys.argv[1:4]
ids = {l.strip() for l in open(acked) if l.strip()}
out = subprocess.run([ctl, "--data-dir", d, "--json", "events"], capture_output=True, check=True, text=True).stdout
stored = {e["event_id"] for e in json.loads(out)["events"] if e["event_type"] == "market.post.created"}
print(" ".join(sorted(ids - stored)))
PY
)
    [ -z "$missing" ] || fail "node $i is missing acknowledged posts: $missing"
    assert_json "$(ctl "${!dir_var}" call node.verify_views)" "d['output']['equal'] is True" "node $i: live view equals a re-fold"
done
assert_json "$(ctl "$NODE_3_DIR" --json stats)" "d['mesh']['events_received'] > 0" "node 3 received what it missed"
grep -q "removing stale socket file" "$C/n3.log" || fail "node 3's restart did not clean up after the kill"

cluster down "$C" >/dev/null
passed
