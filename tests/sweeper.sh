#!/usr/bin/env bash
# sweeper.sh — the config file and the sweeper timer: with
# market/sweep_interval_seconds = 1 (from --config), a post with a 1-second
# ttl is expired by the sweeper with reason stale (this node is the root,
# an anchor, so it sweeps), vanishes from list and search, and the stats
# count it. Also checks the extra --stats tcp:// endpoint answers.
TEST_NAME=sweeper
. "$(dirname "$0")/node_lib.sh"

D="$WORK/node"
ctl "$D" init >/dev/null
cat >"$WORK/fast.cfg" <<'CFG'
# test config: sweep every second
market
    sweep_interval_seconds = 1
CFG
PORT=$(free_ports) || fail "no free port"

step "start with --config and --stats tcp://127.0.0.1:$PORT"
start_node "$D" --config "$WORK/fast.cfg" --stats "tcp://127.0.0.1:$PORT"
PID=$NODE_PID
grep -q "sweeper every 1 s" "$D.log" || fail "config file not applied"

step "the tcp stats endpoint answers hearthctl stats; other capabilities get a clear refusal"
OUT=$("$HEARTHCTL" --node "tcp://127.0.0.1:$PORT" --json stats) || fail "hearthctl --node STATS stats: $OUT"
assert_json "$OUT" "d['node_id'] == '$(ctl "$D" --json id | json "d['node_id']")'" "stats over the tcp endpoint"
OUT=$("$HEARTHCTL" --node "tcp://127.0.0.1:$PORT" stats --prometheus) || fail "stats --prometheus: $OUT"
[[ "$OUT" == *"hearth_uptime_seconds"* ]] || fail "prometheus text over the tcp endpoint: $OUT"
expect_exit 1 "$HEARTHCTL" --node "tcp://127.0.0.1:$PORT" --json call node.id
assert_json "$OUT" "d['error'] == 'bad_request' and 'stats socket' in d['message'] and 'control socket' in d['message']" "tcp stats endpoint"

step "a short-lived post is swept as stale"
SHORT=$(ctl "$D" --json market post --category info --title "Gone soon" --body "one second" --ttl 1 | json "d['event_id']")
LONG=$(ctl "$D" --json market post --category info --title "Stays" --body "a week" | json "d['event_id']")
_swept () {
    [ "$(ctl "$D" --json stats | json "d['market']['sweep_expired']")" -ge 1 ]
}
wait_until 30 _swept || fail "the sweeper expired nothing within 30 s"
EVENTS=$(ctl "$D" --json events)
assert_json "$EVENTS" "[(e['data']['target_event_id'], e['data']['reason']) for e in d['events'] if e['event_type'] == 'market.post.expired'] == [('$SHORT', 'stale')]" "one stale expiry of the short post"
assert_json "$(ctl "$D" --json market list)" "[p['event_id'] for p in d['posts']] == ['$LONG']" "swept post not listed"
assert_json "$(ctl "$D" --json market get "$SHORT")" "d['post']['expired'] is True and d['post']['expiry_reason'] == 'stale'" "get shows the stale expiry"
ctl "$D" events | grep -q "$SHORT (stale)" || fail "human events summary of the expiry"

step "later passes do not expire it again"
_two_more_sweeps () {
    [ "$(ctl "$D" --json stats | json "d['market']['sweeps']")" -ge "$1" ]
}
SWEEPS=$(ctl "$D" --json stats | json "d['market']['sweeps']")
wait_until 30 _two_more_sweeps $((SWEEPS + 2)) || fail "sweeper stopped running"
assert_json "$(ctl "$D" --json stats)" "d['market']['sweep_expired'] == 1 and d['market']['sweep_errors'] == 0" "swept once"
assert_json "$(ctl "$D" call node.verify_views)" "d['output']['equal'] is True" "view consistent"
stop_node "$PID"
passed
