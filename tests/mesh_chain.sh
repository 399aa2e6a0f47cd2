#!/usr/bin/env bash
# mesh_chain.sh — a 7-node cluster where each node knows only one other (a
# line: node i was invited by node i-1 and dials only it) converges: a post
# on every node reaches every other, through up to six hops.
TEST_NAME=mesh_chain
. "$(dirname "$0")/node_lib.sh"
. "$(dirname "$0")/mesh_lib.sh"

C="$WORK/c"
step "chain of seven"
cluster up 7 "$C" --chain --sync-interval-ms 1000 >"$WORK/up.log" || fail "cluster up: $(cat "$WORK/up.log")"
. "$C/cluster.env"
for i in 2 3 4 5 6 7; do
    grep -c "^    peer = " "$C/n$i/hearth.cfg" | grep -qx 1 || fail "node $i knows more than one peer"
    prev=$((i - 1))
    addr_var="NODE_${prev}_ADDRESS"
    grep -q "peer = \"${!addr_var}\"" "$C/n$i/hearth.cfg" || fail "node $i does not know node $prev"
done

step "every node posts once"
for i in 1 2 3 4 5 6 7; do
    dir_var="NODE_${i}_DIR"
    post "${!dir_var}" "chain $i" >/dev/null &
done
wait
cluster wait-converged "$C" "$MESH_DEADLINE_S" || fail "the chain did not converge"
for i in 1 2 3 4 5 6 7; do
    dir_var="NODE_${i}_DIR"
    [ "$(posts_of "${!dir_var}")" = "chain 1 chain 2 chain 3 chain 4 chain 5 chain 6 chain 7" ] \
        || fail "node $i lists: $(posts_of "${!dir_var}")"
done

step "a post at one end reaches the other end"
post "$NODE_7_DIR" "end to end" >/dev/null
wait_until "$MESH_DEADLINE_S" has_post "$NODE_1_DIR" "end to end" || fail "node 7's post never reached node 1"

cluster down "$C" >/dev/null
passed
