#!/usr/bin/env bash
# mesh_discovery.sh — LAN discovery between real hearthd processes: two
# members that know no working peer address (their static peers removed,
# and both restarted on new ports, so the addresses in their stored
# known-peer tables lead nowhere) find each other by zbeacon
# (mesh/discovery = on), link, and a post on one shows on the other. Skipped (exit 77) on a host without an interface that can
# broadcast, as the node itself then runs without discovery (logged).
TEST_NAME=mesh_discovery
. "$(dirname "$0")/node_lib.sh"
. "$(dirname "$0")/mesh_lib.sh"

C="$WORK/c"
step "cluster of two, then forget every static peer and turn discovery on"
cluster up 2 "$C" --sync-interval-ms 1000 >"$WORK/up.log" || fail "cluster up: $(cat "$WORK/up.log")"
. "$C/cluster.env"
A=$NODE_1_DIR
B=$NODE_2_DIR
cluster stop "$C" 2 || fail "stop node 2"
cluster stop "$C" 1 || fail "stop node 1"
for d in "$A" "$B"; do
    sed -i '/^    peer = /d' "$d/hearth.cfg"
    printf 'mesh\n    discovery = on\n' >>"$d/hearth.cfg"
    ! grep -q '^    peer = ' "$d/hearth.cfg" || fail "$d still has a static peer"
done
# New ports: the known-peer tables still hold the old addresses.
PORTS=$(free_ports 2) || fail "no free ports"
read -r P1 P2 <<<"$PORTS"
sed -i -e "s|^NODE_1_PORT=.*|NODE_1_PORT='$P1'|" -e "s|^NODE_2_PORT=.*|NODE_2_PORT='$P2'|" "$C/cluster.env"
: >"$C/n1.log"
: >"$C/n2.log"
cluster start "$C" 1 || fail "start node 1"
cluster start "$C" 2 || fail "start node 2"
if grep -q "LAN discovery off: no interface that can broadcast" "$C/n1.log" "$C/n2.log"; then
    echo "SKIP: no broadcast interface on this host"
    TEST_PASSED=1
    exit 77
fi

step "they find each other on the LAN and link"
discovered () {
    grep -q "discovered .* on the LAN" "$C/n1.log" "$C/n2.log"
}
linked () {
    stat_of "$B" "d['mesh']['peers_connected'] >= 1" | grep -qx true
}
wait_until "$MESH_DEADLINE_S" discovered || fail "no node logged a discovered peer"
wait_until "$MESH_DEADLINE_S" linked || fail "node 2 never linked"

step "a post on node 1 shows on node 2"
post "$A" "generator at the school" >/dev/null
wait_until "$MESH_DEADLINE_S" has_post "$B" "generator at the school" || fail "the post never reached node 2"
passed
