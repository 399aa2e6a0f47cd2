#!/usr/bin/env bash
# mesh_wal_damage.sh — a node whose write-ahead log was damaged gets back
# what it lost from its peer. Two nodes; node 2 is killed (its recent
# events only in its WAL) and its WAL damaged:
#   - a torn tail holding only received (unsynced) events: node 2 starts
#     as usual, reports the dropped tail in stats, and re-fetches it;
#   - the WAL truncated to 60 % after node 2's own acknowledged posts:
#     node 2 refuses to start (twice), starts with --recover-wal, reports
#     the loss in stats, and converges back to the full set (its own lost
#     posts come back from node 1, which had received them).
TEST_NAME=mesh_wal_damage
. "$(dirname "$0")/node_lib.sh"
. "$(dirname "$0")/mesh_lib.sh"

C="$WORK/c"
step "cluster of two"
cluster up 2 "$C" --sync-interval-ms 1000 >"$WORK/up.log" || fail "cluster up: $(cat "$WORK/up.log")"
. "$C/cluster.env"
N1="$NODE_1_DIR"
N2="$NODE_2_DIR"

# post_n DIR PREFIX COUNT: acknowledged posts titled PREFIX1..PREFIXCOUNT.
post_n () {
    local i
    for i in $(seq 1 "$3"); do
        post "$1" "$2$i" >/dev/null || fail "post $2$i on $1"
    done
}

events_of () {
    ctl "$1" --json stats | json "d['events']['total']"
}

wal_of () {
    local logs
    logs=$(ls "$1"/db/*.log)
    [ "$(echo "$logs" | wc -l)" = 1 ] || fail "expected one WAL in $1/db: $logs"
    echo "$logs"
}

same_events () {
    [ "$(events_of "$N1")" = "$(events_of "$N2")" ]
}

# node2_refuses: hearthd on node 2's dir exits 1 naming the lost events.
node2_refuses () {
    expect_exit 1 "$HEARTHD" --data-dir "$N2" --listen "tcp://127.0.0.1:$NODE_2_PORT"
    echo "$OUT" | grep -q "acknowledged event(s) after the damage would be lost" \
        || fail "node 2 did not name the damage: $OUT"
}

step "node 1 posts; node 2 receives them (unsynced) and is killed"
post_n "$N1" a 30
wait_until "$MESH_DEADLINE_S" same_events || fail "node 2 did not receive node 1's posts"
cluster kill "$C" 2
W=$(wal_of "$N2")
size=$(stat -c %s "$W")
truncate -s $((size - 100)) "$W"

step "torn tail of received events: node 2 starts, says so, re-fetches"
cluster start "$C" 2
assert_json "$(ctl "$N2" --json stats)" "d['storage']['wal_tail_dropped'] == 1 and d['storage']['health'] == 'ok'" "torn tail reported"
cluster wait-converged "$C" "$MESH_DEADLINE_S" || fail "no convergence after the torn tail"
grep -q "WARN.*torn record" "$C/n2.log" || fail "torn tail not logged"

step "node 2 posts (acknowledged, synced), node 1 has them; node 2 is killed"
post_n "$N2" b 60
wait_until "$MESH_DEADLINE_S" same_events || fail "node 1 did not receive node 2's posts"
FULL=$(events_of "$N1")
cluster kill "$C" 2
W=$(wal_of "$N2")
size=$(stat -c %s "$W")
truncate -s $((size * 6 / 10)) "$W"

step "WAL truncated to 60 %: refused twice, then --recover-wal"
node2_refuses
node2_refuses
start_node "$N2" --listen "tcp://127.0.0.1:$NODE_2_PORT" --sync-interval-ms 1000 --recover-wal
stats=$(ctl "$N2" --json stats)
assert_json "$stats" "d['storage']['health'] == 'damaged' and d['storage']['wal_events_lost'] > 0" "loss reported in stats"
lost=$(printf '%s' "$stats" | json "d['storage']['wal_events_lost']")
# (No count check here: node 2 may have fetched everything back already.)
echo "node 2 lost $lost acknowledged arrival(s)"

step "node 2 converges back to the full set from node 1"
wait_until "$MESH_DEADLINE_S" same_events || fail "node 2 holds $(events_of "$N2") of $FULL"
[ "$(digest "$N1")" = "$(digest "$N2")" ] || fail "digests differ: $(digest "$N1") / $(digest "$N2")"
assert_json "$(ctl "$N2" call node.verify_views)" "d['output']['equal'] is True" "node 2: live view equals a re-fold"
own=$(ctl "$N2" --json market list --limit 500 | json "sum(1 for p in d['posts'] if p['title'].startswith('b'))")
[ "$own" = 60 ] || fail "node 2 holds $own of its own 60 posts"

stop_node "$NODE_PID"
cluster down "$C" >/dev/null
passed
