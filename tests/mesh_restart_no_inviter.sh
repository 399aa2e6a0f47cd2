#!/usr/bin/env bash
# mesh_restart_no_inviter.sh — a member restarted while its inviter is down
# links to the other members it knows and catches up. A street of eight,
# all invited by node 1 (each joiner's config names only node 1): once every
# node's known-peer table holds the others, node 1 and node 2 stop, node 8
# (the last to join, so the one no earlier joiner ever dialled) stops, the
# others post, and node 8 starts again. It must link from its stored table
# (not through node 1, which is down; before the table a restarted node
# dialled only its inviter, and sat with no link) and converge with the
# posts made while it was down; `hearthctl peers --known` lists the members.
# The time from its start to its first link up is printed (the goal is
# under 2 s), not asserted.
TEST_NAME=mesh_restart_no_inviter
. "$(dirname "$0")/node_lib.sh"
. "$(dirname "$0")/mesh_lib.sh"

C="$WORK/c"
N=8
step "a street of $N, all invited by node 1"
cluster up "$N" "$C" --sync-interval-ms 1000 >"$WORK/up.log" || fail "cluster up: $(cat "$WORK/up.log")"
. "$C/cluster.env"
for i in $(seq 2 "$N"); do
    [ "$(grep -c '^    peer = ' "$C/n$i/hearth.cfg")" = 1 ] && grep -q "peer = \"$NODE_1_ADDRESS\"" "$C/n$i/hearth.cfg" \
        || fail "node $i should configure node 1 alone"
done

# knows_all I: node I's known-peer table holds every other node.
knows_all () {
    local i=$1 ids="" j id_var
    for j in $(seq 1 "$N"); do
        [ "$j" = "$i" ] && continue
        id_var="NODE_${j}_ID"
        ids="$ids '${!id_var}',"
    done
    ctl "$C/n$i" --json peers --known | json "{p['node_id'] for p in d['known']} >= {$ids}" | grep -qx true
}
post "$NODE_3_DIR" "before the restart" >/dev/null
cluster wait-converged "$C" "$MESH_DEADLINE_S" || fail "the street did not converge"
for i in $(seq 1 "$N"); do
    wait_until "$MESH_DEADLINE_S" knows_all "$i" || fail "node $i does not know every other node: $(ctl "$C/n$i" peers --known)"
done

step "node 1 (the inviter) and node 8 stop; node $N stops; the others post"
cluster stop "$C" 1
cluster stop "$C" 2
cluster stop "$C" "$N"
for i in 3 4 5 6 7; do
    dir_var="NODE_${i}_DIR"
    post "${!dir_var}" "while 8 was down $i" >/dev/null
done

step "node 8 starts again while node 1 is down"
: >"$C/n8.log"
T0=$(date +%s%N)
cluster start "$C" "$N" || fail "node 8 did not start"
linked () {
    [ "$(stat_of "$NODE_8_DIR" "d['mesh']['peers_connected'] >= 1")" = true ]
}
wait_until "$MESH_DEADLINE_S" linked || fail "node 8 has no link while node 1 is down: $(ctl "$NODE_8_DIR" peers)"
echo "node 8: a link seen up $(( ($(date +%s%N) - T0) / 1000000 )) ms after \`cluster start\` began (polled: an upper bound)"
# Start to first link up, from node 8's own log (its first line comes once
# its event log is open).
"$PYTHON" - "$C/n8.log" <<'PY'
import datetime, re, sys
def ms(line):
    t = datetime.datetime.strptime(line[:23], "%Y-%m-%dT%H:%M:%S.%f")
    return t.timestamp() * 1000
lines = [l for l in open(sys.argv[1]) if re.match(r"\d{4}-\d\d-\d\dT", l)]
first = ms(lines[0])
up = next(l for l in lines if re.search(r"\] link (to|from) .* up", l))
print("node 8: first link up %.0f ms after its log opened (goal: under 2000 ms from start)" % (ms(up) - first))
PY
grep -q "known peers: [0-9]* loaded from the store" "$C/n8.log" || fail "node 8 did not load its known-peer table"

step "node 8 converges with what was posted while it was down"
cluster wait-converged "$C" "$MESH_DEADLINE_S" 3 4 5 6 7 8 || fail "node 8 did not converge while node 1 is down"
for i in 3 4 5 6 7; do
    has_post "$NODE_8_DIR" "while 8 was down $i" || fail "node 8 lacks node $i's post"
done
knows_all "$N" || fail "node 8's table lost members"
ctl "$NODE_8_DIR" peers --known >"$WORK/known.txt" || fail "peers --known failed"
cat "$WORK/known.txt"
grep -q "^7 known peers, [1-9][0-9]* linked now" "$WORK/known.txt" || fail "peers --known does not list the 7 others"

cluster down "$C" >/dev/null
passed
