#!/usr/bin/env bash
# mesh_partition.sh — three-way partition, then heal: each
# of three nodes writes while cut off from the other two (partitions made by
# stopping and restarting nodes); once all run again every node holds the
# same events and the same market view digest. Then the hub is down while
# the two others restart and write at the same time: each finds the other
# in its stored known-peer table (neither configures the other's address),
# they link without the hub and converge, and the hub catches up when it
# returns.
TEST_NAME=mesh_partition
. "$(dirname "$0")/node_lib.sh"
. "$(dirname "$0")/mesh_lib.sh"

C="$WORK/c"
step "cluster of three (a star around node 1)"
cluster up 3 "$C" --sync-interval-ms 1000 >"$WORK/up.log" || fail "cluster up: $(cat "$WORK/up.log")"
. "$C/cluster.env"
DIRS=("$NODE_1_DIR" "$NODE_2_DIR" "$NODE_3_DIR")
BEFORE=$(post "$NODE_2_DIR" "before the split")
wait_until "$MESH_DEADLINE_S" has_post "$NODE_3_DIR" "before the split" || fail "initial post not synced"

step "three-way partition: each node writes alone"
cluster stop "$C" 2
cluster stop "$C" 3
post "$NODE_1_DIR" "alone 1a" >/dev/null
post "$NODE_1_DIR" "alone 1b" >/dev/null
cluster stop "$C" 1
cluster start "$C" 2
post "$NODE_2_DIR" "alone 2" >/dev/null
ctl "$NODE_2_DIR" market expire "$BEFORE" --reason withdrawn >/dev/null
assert_json "$(ctl "$NODE_2_DIR" peers --json)" "not any(p['connected'] for p in d['peers'])" "node 2 is cut off"
cluster stop "$C" 2
cluster start "$C" 3
post "$NODE_3_DIR" "alone 3" >/dev/null
cluster stop "$C" 3
for i in 1 2 3; do
    digest "${DIRS[$((i - 1))]}" >/dev/null 2>&1 && fail "node $i should be stopped"
done

step "heal: all three run again and converge"
cluster start "$C" 1
cluster start "$C" 2
cluster start "$C" 3
cluster wait-converged "$C" "$MESH_DEADLINE_S" || fail "no convergence after the heal"
for d in "${DIRS[@]}"; do
    [ "$(posts_of "$d")" = "alone 1a alone 1b alone 2 alone 3" ] || fail "$d lists: $(posts_of "$d")"
    assert_json "$(ctl "$d" call node.verify_views)" "d['output']['equal'] is True" "$d: live view equals a re-fold"
done
assert_json "$(ctl "$NODE_1_DIR" --json stats)" "d['mesh']['events_received'] >= 3" "node 1 received the others' writes"

step "the hub is down; two nodes restart, write at the same time and link from their known tables"
cluster stop "$C" 1
cluster stop "$C" 2
cluster stop "$C" 3
cluster start "$C" 2
cluster start "$C" 3
post "$NODE_2_DIR" "split 2" >/dev/null &
P2=$!
post "$NODE_3_DIR" "split 3" >/dev/null &
P3=$!
wait "$P2" && wait "$P3" || fail "posting during the split"
for i in 2 3; do
    ! grep -q "$( [ "$i" = 2 ] && echo "$NODE_3_ADDRESS" || echo "$NODE_2_ADDRESS")" "$C/n$i/hearth.cfg" \
        || fail "node $i configures the other's address: this step would not test the known table"
done
cluster wait-converged "$C" "$MESH_DEADLINE_S" 2 3 || fail "nodes 2 and 3 did not converge without the hub"
has_post "$NODE_3_DIR" "split 2" && has_post "$NODE_2_DIR" "split 3" || fail "the split posts did not cross"
cluster start "$C" 1
cluster wait-converged "$C" "$MESH_DEADLINE_S" || fail "no convergence after the hub returned"
for d in "${DIRS[@]}"; do
    [ "$(posts_of "$d")" = "alone 1a alone 1b alone 2 alone 3 split 2 split 3" ] || fail "$d lists: $(posts_of "$d")"
done

cluster down "$C" >/dev/null
passed
