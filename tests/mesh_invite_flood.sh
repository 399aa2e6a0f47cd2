#!/usr/bin/env bash
# mesh_invite_flood.sh — one member cannot stop the community from inviting:
# a member's node serves thousands of invites that expired before they were
# signed (descending ids) and 40 live ones. Its peer refuses every expired
# one and all but MEMBERSHIP_INVITES_PER_MEMBER (32) live ones (type_rule),
# and the founder can still invite, also after a restart.
# 4096 expired invites by default; HEARTH_LONG=1 sends the 65,536 that filled
# the old table for good (~35 s); HEARTH_FLOOD=N any number.
TEST_NAME=mesh_invite_flood
. "$(dirname "$0")/node_lib.sh"
. "$(dirname "$0")/mesh_lib.sh"
: "${HOSTILE_EVENTS:?set HOSTILE_EVENTS to the hostile_events binary}"
if [ "${HEARTH_LONG:-0}" = 1 ]; then FLOOD=${HEARTH_FLOOD:-65536}; else FLOOD=${HEARTH_FLOOD:-4096}; fi
LIVE=40
CAP=32

C="$WORK/c"
step "cluster of two; node 2 is a plain member"
cluster up 2 "$C" --sync-interval-ms 500 >"$WORK/up.log" || fail "cluster up: $(cat "$WORK/up.log")"
. "$C/cluster.env"
A=$NODE_1_DIR
B=$NODE_2_DIR
INVITED0=$(stat_of "$A" "d['events']['by_type']['community.member.invited']")

step "node 2 serves $FLOOD expired and, above them, $LIVE live invites of its own"
# The live ones last (higher lamports): refused events are remembered and
# not fetched again (gossip_refused.h), so the flood below cannot hold them
# back (tests/mesh_refused_flood.sh is about that; this test is about the
# fold's budget).
cluster stop "$C" 2
"$HOSTILE_EVENTS" "$B" expired-invites "$FLOOD" >"$WORK/expired.json" || fail "hostile_events expired-invites"
"$HOSTILE_EVENTS" "$B" live-invites "$LIVE" >"$WORK/live.json" || fail "hostile_events live-invites"
cluster start "$C" 2

step "node 1 refuses the expired ones and the live ones over the budget"
_all_seen () {
    [ "$(stat_of "$A" "d['events']['by_type']['community.member.invited'] >= $INVITED0 + $CAP and d['events']['rejected']['type_rule'] >= $FLOOD + $LIVE - $CAP")" = true ]
}
wait_until "$MESH_DEADLINE_S" _all_seen || fail "node 1 never judged node 2's invites"
cluster stop "$C" 2
STATS=$(ctl "$A" --json stats)
assert_json "$STATS" "d['events']['by_type']['community.member.invited'] == $INVITED0 + $CAP" \
    "node 1 stores exactly $CAP of node 2's invites"
assert_json "$STATS" "d['events']['rejected']['type_rule'] >= $FLOOD + $LIVE - $CAP" "refusals counted"

step "the founder can still invite, also after a restart"
NEW_ID=$(ctl "$WORK/x" init --identity-only 2>/dev/null)
ctl "$A" invite "$NEW_ID" --out "$WORK/inv1.json" >/dev/null || fail "the founder's invite failed"
cluster stop "$C" 1
cluster start "$C" 1
NEW_ID2=$(ctl "$WORK/y" init --identity-only 2>/dev/null)
ctl "$A" invite "$NEW_ID2" --out "$WORK/inv2.json" >/dev/null || fail "the founder's invite failed after a restart"
assert_json "$(ctl "$A" --json stats)" "d['events']['by_type']['community.member.invited'] == $INVITED0 + $CAP + 2" \
    "the founder's invites are stored"

cluster down "$C" >/dev/null
passed
