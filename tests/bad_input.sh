#!/usr/bin/env bash
# bad_input.sh — hostile client input on the control and stats sockets:
# garbage, oversized and wrong-typed frames get wire-code error replies and
# the daemon keeps serving (the cases are in control_garbage.c).
TEST_NAME=bad_input
. "$(dirname "$0")/node_lib.sh"
: "${CONTROL_GARBAGE:?set CONTROL_GARBAGE to the control_garbage binary}"

D="$WORK/node"
step "init and start"
ctl "$D" init >/dev/null
start_node "$D"
PID=$NODE_PID
ctl "$D" market post --category offer --title "Something" --body "to keep the view non-empty" >/dev/null

step "send garbage"
"$CONTROL_GARBAGE" "$D" || fail "control_garbage reported failures"

step "the daemon is alive and consistent"
_pid_alive "$PID" || fail "hearthd died"
assert_json "$(ctl "$D" --json market list)" "len(d['posts']) == 1" "posts intact"
assert_json "$(ctl "$D" call node.verify_views)" "d['output']['equal'] is True" "view consistent"
STATS=$(ctl "$D" --json stats)
assert_json "$STATS" "d['requests']['invalid']['errors']['bad_request'] >= 10" "invalid frames counted"
assert_json "$STATS" "d['requests']['unknown']['errors']['not_found'] >= 1" "unknown capability counted"
stop_node "$PID"
passed
