#!/usr/bin/env bash
# mesh_governance.sh — moderation with real processes and the CLI
# (docs/decisions/0030-governance-proposals-and-endorsements.md):
#   - the founder (node 1) makes nodes 2 and 3 trusted (`member promote`);
#     `peers` shows the levels;
#   - node 5 writes an invite for a newcomer, then node 2 proposes to revoke
#     node 5: three may sign (founder, 2, 3), so it waits for two
#     endorsements (`member endorse` on nodes 3 and 1), and takes effect on
#     the last one: every node closes its links with node 5, node 5's redial
#     is refused, its new post reaches nobody, and the newcomer's invite
#     (signed by node 5) can no longer be redeemed; its earlier post stays
#     until trusted node 2 expires it as stale;
#   - a demotion: node 2 proposes to demote node 3, two may sign, the
#     founder's endorsement completes it;
#   - the cap: with no other trusted member left, the founder demotes node 2
#     and revokes node 4 alone (the default threshold 3 capped at 1).
# The time from the threshold to each node closing its links is read from
# the logs and printed (not asserted).
TEST_NAME=mesh_governance
. "$(dirname "$0")/node_lib.sh"
. "$(dirname "$0")/mesh_lib.sh"

C="$WORK/c"
step "a street of five"
cluster up 5 "$C" --sync-interval-ms 500 >"$WORK/up.log" || fail "cluster up: $(cat "$WORK/up.log")"
. "$C/cluster.env"

# level_on DIR NODE_ID: its level in DIR's member list.
level_on () {
    ctl "$1" --json member list | json "[m['level'] for m in d['members'] if m['node_id'] == '$2'][0]"
}
level_everywhere () {
    local want=$2 i dir
    for i in 1 2 3 4 5; do
        dir="$C/n$i"
        [ -n "${3:-}" ] && [[ " $3 " == *" $i "* ]] && continue   # skipped nodes
        [ "$(level_on "$dir" "$1")" = "$want" ] || return 1
    done
}
# linked DIR NODE_ID: DIR has a connected link with NODE_ID either way.
linked () {
    ctl "$1" --json peers | json "any(p['connected'] and p['node_id'] == '$2' for p in d['peers'])" | grep -qx true
}

step "the founder makes nodes 2 and 3 trusted"
ctl "$NODE_1_DIR" member promote "$NODE_2_ID" --reason "runs the tool shed" >"$WORK/promote2.out" \
    || fail "promote 2: $(cat "$WORK/promote2.out")"
grep -q "it took effect" "$WORK/promote2.out" || fail "a promotion by the founder did not take effect: $(cat "$WORK/promote2.out")"
# By short id (the CLI resolves it with member list).
SHORT_3=$(ctl "$NODE_1_DIR" --json member list | json "[m['short_id'] for m in d['members'] if m['node_id'] == '$NODE_3_ID'][0]")
ctl "$NODE_1_DIR" --json member promote "$SHORT_3" >"$WORK/promote3.json" || fail "promote 3 by short id: $(cat "$WORK/promote3.json")"
assert_json "$(cat "$WORK/promote3.json")" "d['proposal']['state'] == 'done' and d['proposal']['action'] == 'promote'" \
    "promoting node 3"
wait_until "$MESH_DEADLINE_S" level_everywhere "$NODE_2_ID" trusted || fail "node 2 is not trusted everywhere"
wait_until "$MESH_DEADLINE_S" level_everywhere "$NODE_3_ID" trusted || fail "node 3 is not trusted everywhere"
ctl "$NODE_1_DIR" --json peers | json "[p['level'] for p in d['peers'] if p['node_id'] == '$NODE_2_ID']" | grep -q trusted \
    || fail "peers does not show node 2 as trusted: $(ctl "$NODE_1_DIR" peers)"
ctl "$NODE_1_DIR" peers | grep -q "trusted" || fail "the peers table lacks the level column"
# A plain member may not propose.
expect_exit 1 ctl "$NODE_4_DIR" member revoke "$NODE_5_ID"

step "node 5 invites a newcomer and posts"
NEWCOMER_DIR="$WORK/newcomer"
NEWCOMER_ID=$(ctl "$NEWCOMER_DIR" init --identity-only 2>/dev/null)
ctl "$NODE_5_DIR" invite "$NEWCOMER_ID" --out "$WORK/newcomer-invite.json" >/dev/null || fail "node 5 could not invite"
EARLIER=$(post "$NODE_5_DIR" "before revocation")
cluster wait-converged "$C" "$MESH_DEADLINE_S" >/dev/null || fail "the cluster did not converge"

step "node 2 proposes to revoke node 5; it waits for two more signatures"
PROPOSAL=$(ctl "$NODE_2_DIR" --json member revoke "$NODE_5_ID" --reason "stolen laptop" | json "d['proposal']['proposal_id']") \
    || fail "node 2 could not propose"
proposal_on () {
    ctl "$1" --json member proposals | json "any(p['proposal_id'] == '$PROPOSAL' for p in d['proposals'])" | grep -qx true
}
wait_until "$MESH_DEADLINE_S" proposal_on "$NODE_3_DIR" || fail "the proposal did not reach node 3"
assert_json "$(ctl "$NODE_3_DIR" --json member proposals)" \
    "[(p['signatures'], p['threshold'], p['eligible'], p['state']) for p in d['proposals']] == [(1, 3, 3, 'open')]" \
    "the proposal on node 3"
ctl "$NODE_3_DIR" member endorse "$PROPOSAL" >"$WORK/endorse3.out" || fail "node 3 could not endorse: $(cat "$WORK/endorse3.out")"
grep -q "waiting for 1 more" "$WORK/endorse3.out" || fail "after two of three: $(cat "$WORK/endorse3.out")"
# Signing twice is refused with a reason.
expect_exit 1 ctl "$NODE_3_DIR" member endorse "$PROPOSAL"
[ "$(level_on "$NODE_1_DIR" "$NODE_5_ID")" = member ] || fail "node 5 was revoked before the threshold"
linked "$NODE_1_DIR" "$NODE_5_ID" || wait_until "$MESH_DEADLINE_S" linked "$NODE_1_DIR" "$NODE_5_ID" \
    || fail "node 5's link with the founder is down before the threshold"

step "the founder's endorsement completes it: every node drops node 5"
wait_until "$MESH_DEADLINE_S" eval 'ctl "$NODE_1_DIR" --json member proposals | json "[p[\"signatures\"] for p in d[\"proposals\"]]" | grep -qx "\[2\]"' \
    || fail "node 3's endorsement did not reach the founder"
DENIED_1=$(stat_of "$NODE_1_DIR" "d['mesh']['zap_denied']")
ctl "$NODE_1_DIR" --json member endorse "$PROPOSAL" >"$WORK/endorse1.json" || fail "founder endorse: $(cat "$WORK/endorse1.json")"
assert_json "$(cat "$WORK/endorse1.json")" "d['proposal']['state'] == 'done' and d['proposal']['signatures'] == 3" \
    "the founder's endorsement"
no_link_5 () {
    local i
    for i in 1 2 3 4; do
        linked "$C/n$i" "$NODE_5_ID" && return 1
    done
    return 0
}
wait_until "$MESH_DEADLINE_S" no_link_5 || fail "a node still has a link with node 5"
wait_until "$MESH_DEADLINE_S" level_everywhere "$NODE_5_ID" revoked 5 || fail "node 5 is not revoked everywhere"
wait_until "$MESH_DEADLINE_S" eval '[ "$(stat_of "$NODE_5_DIR" "d[\"mesh\"][\"peers_connected\"] == 0")" = true ]' \
    || fail "node 5 still has links up: $(ctl "$NODE_5_DIR" peers)"
# Node 5 dials the founder again and meets ZAP.
wait_until "$MESH_DEADLINE_S" eval '[ "$(stat_of "$NODE_1_DIR" "d[\"mesh\"][\"zap_denied\"] > $DENIED_1")" = true ]' \
    || fail "node 5's reconnect was not refused"
ctl "$NODE_1_DIR" --json member list | json "[m['revoked_by'] for m in d['members'] if m['node_id'] == '$NODE_5_ID'][0]" \
    | grep -qE '^[0-9A-Z]{26}$' || fail "member list does not say which signature revoked node 5"

step "node 5's new post reaches nobody; its invite is dead"
ctl "$NODE_5_DIR" --json market post --category info --title "after revocation" --body "x" >/dev/null 2>&1 || true
post "$NODE_1_DIR" "members news" >/dev/null
wait_until "$MESH_DEADLINE_S" has_post "$NODE_4_DIR" "members news" || fail "members stopped syncing"
rounds () {
    echo $(( $(stat_of "$NODE_1_DIR" "d['mesh']['reconcile_rounds']") + $(stat_of "$NODE_4_DIR" "d['mesh']['reconcile_rounds']") ))
}
ROUNDS=$(rounds)
wait_until "$MESH_DEADLINE_S" eval '[ "$(rounds)" -ge $((ROUNDS + 2)) ]' || fail "the members stopped reconciling"
for i in 1 2 3 4; do
    lacks_post "$C/n$i" "after revocation" || fail "node 5's post reached node $i"
    has_post "$C/n$i" "before revocation" || fail "node 5's earlier post vanished on node $i"
done
lacks_post "$NODE_5_DIR" "members news" || fail "the revoked node still receives posts"
# A trusted member takes the revoked author's earlier post down as stale.
ctl "$NODE_2_DIR" market expire "$EARLIER" --reason stale >/dev/null || fail "trusted node 2 could not expire node 5's post"
wait_until "$MESH_DEADLINE_S" lacks_post "$NODE_4_DIR" "before revocation" || fail "the stale expiry did not reach node 4"
cluster stop "$C" 5 >/dev/null
ctl "$NEWCOMER_DIR" join "$WORK/newcomer-invite.json" --peer "$NODE_1_ADDRESS" >/dev/null || fail "newcomer join (local step)"
DENIED_1=$(stat_of "$NODE_1_DIR" "d['mesh']['zap_denied']")
NEWCOMER_PORT=$(( NODE_5_PORT ))
"$HEARTHD" --data-dir "$NEWCOMER_DIR" --listen "tcp://127.0.0.1:$NEWCOMER_PORT" --sync-interval-ms 500 \
    >"$WORK/newcomer.log" 2>&1 &
DAEMON_PIDS+=($!)
wait_until "$MESH_DEADLINE_S" eval '[ "$(stat_of "$NODE_1_DIR" "d[\"mesh\"][\"zap_denied\"] > $DENIED_1")" = true ]' \
    || fail "the founder did not refuse the newcomer whose inviter was revoked"
[ "$(ctl "$NEWCOMER_DIR" call node.id | json "d['output']['level']")" = none ] || fail "the newcomer became a member"
ctl "$NODE_1_DIR" --json member list | json "all(m['node_id'] != '$NEWCOMER_ID' for m in d['members'])" | grep -qx true \
    || fail "the founder lists the newcomer as a member"

step "demotion: node 2 proposes to demote node 3, two may sign"
DEMOTE=$(ctl "$NODE_2_DIR" --json member demote "$NODE_3_ID" | json "d['proposal']['proposal_id']") || fail "node 2 could not propose"
assert_json "$(ctl "$NODE_2_DIR" --json member proposals)" \
    "[(p['action'], p['signatures'], p['threshold']) for p in d['proposals']] == [('demote', 1, 2)]" \
    "the demotion on node 2"
wait_until "$MESH_DEADLINE_S" eval 'ctl "$NODE_1_DIR" --json member proposals | grep -q "$DEMOTE"' || fail "the demotion did not reach the founder"
ctl "$NODE_1_DIR" member endorse "$DEMOTE" | grep -q "it took effect" || fail "the founder's endorsement did not complete the demotion"
wait_until "$MESH_DEADLINE_S" level_everywhere "$NODE_3_ID" member 5 || fail "node 3 is not a member again everywhere"

step "the cap: the founder alone demotes node 2 and revokes node 4"
ctl "$NODE_1_DIR" --json member demote "$NODE_2_ID" | json "d['proposal']['threshold'], d['proposal']['state']" \
    | grep -qx "(1, 'done')" || fail "the founder alone could not demote the last trusted member"
wait_until "$MESH_DEADLINE_S" level_everywhere "$NODE_2_ID" member 5 || fail "node 2 is not a member again everywhere"
ctl "$NODE_1_DIR" --json member revoke "$NODE_4_ID" | json "d['proposal']['state']" | grep -qx done \
    || fail "the founder alone could not revoke node 4"
no_link_4 () {
    local i
    for i in 1 2 3; do
        linked "$C/n$i" "$NODE_4_ID" && return 1
    done
    return 0
}
wait_until "$MESH_DEADLINE_S" no_link_4 || fail "a node still has a link with node 4"

step "time from the threshold to each node closing node 5's links (from the logs, not asserted)"
"$PYTHON" - "$C" "$NODE_5_ID" <<'EOF'
import datetime, re, subprocess, sys
c, node5 = sys.argv[1], sys.argv[2]
def ts(line):
    m = re.match(r'(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z', line)
    return datetime.datetime.fromisoformat(m.group(1)) if m else None
short = None
for line in open(f'{c}/n1.log'):
    m = re.search(r'revocation of (\S+) took effect', line)
    if m:
        short, t0 = m.group(1), ts(line)
        break
if not short:
    print('no threshold line in node 1\'s log'); sys.exit(0)
print(f'threshold reached on node 1 at {t0.time()} (revocation of {short})')
for i in range(1, 5):
    closes = [ts(l) for l in open(f'{c}/n{i}.log')
              if short in l and ('closing' in l) and ts(l) and ts(l) >= t0]
    effect = [ts(l) for l in open(f'{c}/n{i}.log') if f'revocation of {short} took effect' in l]
    if closes:
        print(f'node {i}: revocation known +{(effect[0]-t0).total_seconds()*1000:.0f} ms, '
              f'links closed +{(closes[0]-t0).total_seconds()*1000:.0f} ms' if effect else
              f'node {i}: links closed +{(closes[0]-t0).total_seconds()*1000:.0f} ms')
    else:
        print(f'node {i}: no link with node 5 to close (no close line)')
EOF
passed
