#!/usr/bin/env bash
# mesh_inbound_cap.sh — a node's in links are capped, and a member dialling
# past the cap is refused visibly: counted (inbound_refused), logged, and
# sent a redirect naming other members, which the dialler counts
# (redirects_received) before it dials another member. Node 0 accepts 2
# members' links (mesh/links_in_max = 2; invitees have their own reserve);
# 6 joiners, all invited by node 0, each dial every member they know
# (mesh/links_out = 6). Every joiner becomes a member and converges, node
# 0's in links never exceed the cap plus the invitee reserve, and no
# reconciliation is abandoned for lack of progress (what a silently dropped
# link used to cause). Then the joiners restart one by one, members now,
# so each dials node 0 as a member: past the first two they are refused
# and redirected, and everything still converges.
TEST_NAME=mesh_inbound_cap
. "$(dirname "$0")/node_lib.sh"
. "$(dirname "$0")/mesh_lib.sh"

J=6
IN_MAX=2
INVITEE_RESERVE=16                      # GOSSIP_OVERLAY_INVITEE_RESERVE
LINE=$(free_ports $((J + 1))) || fail "no free ports"
read -r -a PORTS <<<"$LINE"
declare -a DIR PID
for i in $(seq 0 "$J"); do DIR[$i]="$WORK/n$i"; done

# run I: start node I on its port (its config says the rest).
run () {
    start_node "${DIR[$1]}" --listen "tcp://127.0.0.1:${PORTS[$1]}" --sync-interval-ms 1000
    PID[$1]=$NODE_PID
}
in_links_ok () {
    local n
    n=$(stat_of "${DIR[0]}" "d['mesh']['links_in']")
    [ "$n" -le $((IN_MAX + INVITEE_RESERVE)) ] || fail "node 0 has $n in links, over $IN_MAX + $INVITEE_RESERVE"
}
level_of () {
    ctl "$1" call node.id | json "d['output']['level']"
}
is_member () {
    [ "$(level_of "$1")" != none ]
}
all_converged () {
    local first d i
    first=$(digest "${DIR[0]}") || return 1
    for i in $(seq 1 "$J"); do
        in_links_ok
        d=$(digest "${DIR[$i]}") || return 1
        [ "$d" = "$first" ] || return 1
    done
}

step "node 0 creates the community; it accepts $IN_MAX members' in links"
ctl "${DIR[0]}" init --community street >/dev/null
printf 'mesh\n    links_in_max = %d\n' "$IN_MAX" >>"${DIR[0]}/hearth.cfg"
run 0

step "$J joiners, all invited by node 0, each dialling every member it knows"
for i in $(seq 1 "$J"); do
    id=$(ctl "${DIR[$i]}" init --identity-only 2>/dev/null)
    ctl "${DIR[0]}" invite "$id" --out "$WORK/invite-$i.json" >/dev/null
    ctl "${DIR[$i]}" join "$WORK/invite-$i.json" >/dev/null
    printf 'mesh\n    links_out = %d\n' "$J" >>"${DIR[$i]}/hearth.cfg"
    run "$i"
    in_links_ok
done
for i in $(seq 1 "$J"); do
    wait_until "$MESH_DEADLINE_S" is_member "${DIR[$i]}" || fail "joiner $i did not become a member"
done
post "${DIR[0]}" "welcome" >/dev/null
wait_until "$MESH_DEADLINE_S" all_converged || fail "the street did not converge"

step "the joiners restart, members now: node 0 refuses those past its cap with a redirect"
for i in $(seq 1 "$J"); do
    stop_node "${PID[$i]}"
    run "$i"
    in_links_ok
done
refused () {
    in_links_ok
    [ "$(stat_of "${DIR[0]}" "d['mesh']['inbound_refused'] > 0")" = true ]
}
wait_until "$MESH_DEADLINE_S" refused || fail "node 0 refused no in link: $(ctl "${DIR[0]}" peers)"
redirected () {
    local i
    for i in $(seq 1 "$J"); do
        [ "$(stat_of "${DIR[$i]}" "d['mesh']['redirects_received'] > 0")" = true ] && return 0
    done
    return 1
}
wait_until "$MESH_DEADLINE_S" redirected || fail "no joiner received a redirect"
grep -q "refused the link from .*: member in links full" "${DIR[0]}.log" || fail "node 0 did not log a refusal"
for i in $(seq 1 "$J"); do
    post "${DIR[$i]}" "after the restart $i" >/dev/null
done
wait_until "$MESH_DEADLINE_S" all_converged || fail "no convergence after the refusals"
for i in $(seq 1 "$J"); do
    has_post "${DIR[0]}" "after the restart $i" || fail "node 0 lacks joiner $i's post"
done
in_links_ok
echo "node 0: $(stat_of "${DIR[0]}" "'in links %d, refused %d' % (d['mesh']['links_in'], d['mesh']['inbound_refused'])")"
! grep -l "abandoned: no progress" "$WORK"/n*.log || fail "a reconciliation was abandoned for lack of progress"
passed
