#!/usr/bin/env bash
# cli_e2e.sh — hearthctl + hearthd end to end, real processes, real RocksDB,
# real sockets: init, run, post, list, get, expire, search, stats, events,
# stop, restart, list again; permissions, stale sockets, locked data dir.
TEST_NAME=cli_e2e
. "$(dirname "$0")/node_lib.sh"

D="$WORK/node"
ULID_RE='^[0-9A-HJKMNP-TV-Z]{26}$'
SHORT_RE='^ed25519:[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$'
FULL_RE='^ed25519:[A-Za-z0-9_-]{43}$'
RFC3339_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$'

step "init creates identity and community"
INIT=$(ctl "$D" --json init --community "Lindenstraße")
assert_json "$INIT" "sorted(d) == ['community_id','community_name','data_dir','node_id','short_id']" "init --json shape"
NODE_ID=$(printf '%s' "$INIT" | json "d['node_id']")
[[ "$NODE_ID" =~ $FULL_RE ]] || fail "node_id $NODE_ID is not a full NodeID"
[[ "$(printf '%s' "$INIT" | json "d['short_id']")" =~ $SHORT_RE ]] || fail "short id form"
[ "$(stat -c %a "$D/keys/device.ed25519")" = 600 ] || fail "seed file is not 0600"
[ "$(stat -c %a "$D")" = 700 ] || fail "data dir is not 0700"
[ -f "$D/hearth.cfg" ] || fail "init wrote no config template"

step "init twice is refused"
expect_exit 1 ctl "$D" init
[[ "$OUT" == *"already initialised"* ]] || fail "second init: $OUT"

step "id works without a daemon, with the docs/protocol.md shape"
ID=$(ctl "$D" id --json)
assert_json "$ID" "sorted(d) == ['address','http_url','node_id','short_id'] and d['address'] is None and d['http_url'] is None" "id --json shape"
assert_json "$ID" "d['node_id'] == '$NODE_ID'" "id matches init"
ctl "$D" id | grep -q "short_id" || fail "human id output"

step "commands needing the daemon say it is not running"
# Its own message and exit status (4), not a network failure (partition).
expect_exit 4 ctl "$D" market list
[[ "$OUT" == "hearthctl: hearthd is not running for $D"* ]] || fail "no-daemon message: $OUT"
[[ "$OUT" != *partition* ]] || fail "a stopped daemon is reported as partition: $OUT"
expect_exit 4 ctl "$D" --json market list
assert_json "$OUT" "d['error'] == 'not_running' and 'not running' in d['message']" "no-daemon json body"

step "hearthd starts; control socket is 0600"
start_node "$D"
PID=$NODE_PID
[ "$(stat -c %a "$D/control.sock")" = 600 ] || fail "control.sock mode $(stat -c %a "$D/control.sock")"
[ "$(stat -c %a "$D/stats.sock")" = 600 ] || fail "stats.sock mode"
grep -q "control socket ipc://$D/control.sock" "$D.log" || fail "daemon does not log where it listens"

step "id shows the running node's HTTP URL, in text and JSON"
URL=$(http_url_of "$D")
[[ "$URL" == http://127.0.0.1:*/ ]] || fail "node.id http_url: $URL"
assert_json "$(ctl "$D" id --json)" "d['http_url'] == '$URL'" "id --json http_url"
ctl "$D" id | grep -qx "http_url  $URL" || fail "id text has no http_url: $(ctl "$D" id)"

step "a second hearthd on the same data dir is refused"
expect_exit 1 "$HEARTHD" --data-dir "$D"
[[ "$OUT" == *"locked"* ]] || fail "second daemon message: $OUT"
expect_exit 1 ctl "$D" init
[[ "$OUT" == *"hearthd is running"* ]] || fail "init while running: $OUT"

step "post: without client id, with client id, idempotent"
P1=$(ctl "$D" --json market post --category offer --title "Water canister 20 l" \
      --body "Clean drinking-water canister to lend" --tag water --tag tools)
assert_json "$P1" "sorted(d) == ['event_id','lamport'] and isinstance(d['lamport'], int)" "post shape"
E1=$(printf '%s' "$P1" | json "d['event_id']")
[[ "$E1" =~ $ULID_RE ]] || fail "event_id $E1 is not a ULID"
P2=$(ctl "$D" --json market post --category request --title "Bike pump" --body "Need a bike pump for a day" \
      --tag bike --client-id c-0001 --lat 52.52 --lng 13.405 --label "Lindenstraße 5" --ttl 3600)
E2=$(printf '%s' "$P2" | json "d['event_id']")
P2B=$(ctl "$D" --json market post --category request --title "Bike pump" --body "Need a bike pump for a day" \
      --tag bike --client-id c-0001 --lat 52.52 --lng 13.405 --label "Lindenstraße 5" --ttl 3600)
[ "$P2" = "$P2B" ] || fail "same client id gave another result: $P2 vs $P2B"
P3=$(ctl "$D" --json market post --category info --title "Street party on Saturday" \
      --body "Bring chairs and something to share" --tag party)
E3=$(printf '%s' "$P3" | json "d['event_id']")
P4=$(ctl "$D" --json market post --category emergency --title "Water main broken" \
      --body "No tap water in house 12; bottled water needed" --tag water)
E4=$(printf '%s' "$P4" | json "d['event_id']")
ctl "$D" market post --category offer --title "Ladder" --body "Long ladder to lend" | grep -q "^posted " \
    || fail "human post output"

step "post validation errors"
expect_exit 1 ctl "$D" market post --category gift --title t --body b
[[ "$OUT" == *bad_request* ]] || fail "bad category: $OUT"
expect_exit 1 ctl "$D" --json market post --category offer --title t --body b --ttl 2592001
assert_json "$OUT" "d['error'] == 'bad_request'" "ttl over max"
expect_exit 2 ctl "$D" market post --category offer --title t
expect_exit 2 ctl "$D" market post --category offer --title t --body b --lat 1
expect_exit 2 ctl "$D" market post --category offer --title t --body b --ttl soon

step "list: shape, order, filters"
LIST=$(ctl "$D" --json market list)
assert_json "$LIST" "sorted(d) == ['max_lamport','posts'] and len(d['posts']) == 5" "list shape"
assert_json "$LIST" "all({'event_id','lamport','author','category','title','body','tags','created_at','expires_at'} <= set(p) for p in d['posts'])" "post fields"
assert_json "$LIST" "all(set(p) <= {'event_id','lamport','author','category','title','body','location','tags','created_at','expires_at'} for p in d['posts'])" "no extra post fields"
assert_json "$LIST" "[p['lamport'] for p in d['posts']] == sorted([p['lamport'] for p in d['posts']], reverse=True)" "newest first"
assert_json "$LIST" "all(p['author'] == '$NODE_ID' for p in d['posts'])" "author is the node"
assert_json "$LIST" "d['max_lamport'] == max(p['lamport'] for p in d['posts'])" "max_lamport"
assert_json "$LIST" "[p for p in d['posts'] if p['event_id'] == '$E2'][0]['location'] == {'lat': 52.52, 'lng': 13.405, 'label': 'Lindenstraße 5'}" "location round trip"
case "$LIST" in *'"lat":52.52,"lng":13.405,'*) ;; *) fail "coordinates not printed in their shortest form" ;; esac
assert_json "$LIST" "'location' not in [p for p in d['posts'] if p['event_id'] == '$E1'][0]" "no location when none given"
for p in created_at expires_at; do
    for v in $(printf '%s' "$LIST" | json "' '.join(p['$p'] for p in d['posts'])"); do
        [[ "$v" =~ $RFC3339_RE ]] || fail "$p $v is not RFC 3339 UTC"
    done
done
assert_json "$(ctl "$D" --json market list --category request)" "[p['event_id'] for p in d['posts']] == ['$E2']" "category filter"
assert_json "$(ctl "$D" --json market list --tag water)" "sorted(p['event_id'] for p in d['posts']) == sorted(['$E1','$E4'])" "tag filter"
# Tags match ANY of the given tags (market_view.h).
assert_json "$(ctl "$D" --json market list --tag bike --tag party)" "sorted(p['event_id'] for p in d['posts']) == sorted(['$E2','$E3'])" "tags match any"
assert_json "$(ctl "$D" --json market list --tag water --category emergency)" "[p['event_id'] for p in d['posts']] == ['$E4']" "tag and category"
L2=$(printf '%s' "$P2" | json "d['lamport']")
assert_json "$(ctl "$D" --json market list --since-lamport "$L2")" "all(p['lamport'] > $L2 for p in d['posts']) and len(d['posts']) == 3" "since_lamport is exclusive"
assert_json "$(ctl "$D" --json market list --limit 2)" "len(d['posts']) == 2" "limit"
ctl "$D" market list | grep -q "Water canister 20 l" || fail "human list shows titles"

step "get"
GET=$(ctl "$D" --json market get "$E2")
assert_json "$GET" "d['post']['event_id'] == '$E2' and d['post']['title'] == 'Bike pump' and d['post']['tags'] == ['bike']" "get"
ctl "$D" market get "$E2" | grep -q "Need a bike pump" || fail "human get shows the body"
expect_exit 1 ctl "$D" market get 01ARZ3NDEKTSV4RRFFQ69G5FAV
[[ "$OUT" == *not_found* ]] || fail "get unknown: $OUT"

step "search ranks relevant posts first, with a score"
SEARCH=$(ctl "$D" --json market search water canister -k 3)
assert_json "$SEARCH" "d['posts'][0]['event_id'] == '$E1'" "best match first"
assert_json "$SEARCH" "len(d['posts']) <= 3 and all(isinstance(p['score'], (int, float)) for p in d['posts'])" "k and score"
assert_json "$SEARCH" "[p['score'] for p in d['posts']] == sorted([p['score'] for p in d['posts']], reverse=True)" "scores descending"
assert_json "$SEARCH" "'$E3' not in [p['event_id'] for p in d['posts']]" "unrelated post not returned"
ctl "$D" market search pump | grep -q "Bike pump" || fail "human search"

step "expire"
EXP=$(ctl "$D" --json market expire "$E1" --reason fulfilled)
assert_json "$EXP" "sorted(d) == ['event_id','lamport'] and d['event_id'] != '$E1'" "expire shape"
assert_json "$(ctl "$D" --json market list)" "'$E1' not in [p['event_id'] for p in d['posts']] and len(d['posts']) == 4" "expired post not listed"
assert_json "$(ctl "$D" --json market search water canister)" "'$E1' not in [p['event_id'] for p in d['posts']]" "expired post not searched"
expect_exit 1 ctl "$D" market expire 01ARZ3NDEKTSV4RRFFQ69G5FAV --reason withdrawn
[[ "$OUT" == *not_found* ]] || fail "expire unknown: $OUT"
expect_exit 1 ctl "$D" --json market expire 01ARZ3NDEKTSV4RRFFQ69G5FAV --reason withdrawn
assert_json "$OUT" "d['error'] == 'not_found'" "expire unknown --json body"
expect_exit 2 ctl "$D" market expire "$E3"

step "stats (json, human, prometheus)"
STATS=$(ctl "$D" --json stats)
assert_json "$STATS" "d['events']['total'] == 7 and d['events']['by_type']['market.post.created'] == 5" "event counts"
assert_json "$STATS" "d['events']['by_type']['market.post.expired'] == 1 and d['events']['lamport_head'] == 7" "expired count, head"
assert_json "$STATS" "d['market']['posts_active'] == 4 and d['market']['posts_total'] == 5" "post counts"
assert_json "$STATS" "d['requests']['market.post']['ok'] >= 5 and d['requests']['market.post']['errors']['bad_request'] >= 2" "request counts"
assert_json "$STATS" "d['events']['disk_bytes'] > 0 and d['node_id'] == '$NODE_ID'" "disk bytes"
ctl "$D" stats | grep -q "lamport head" || fail "human stats"
PROM="$WORK/metrics.prom"
ctl "$D" stats --prometheus >"$PROM"
grep -q '^hearth_requests_total{capability="market.post",result="ok"} ' "$PROM" || fail "prometheus requests"
grep -q '^hearth_eventlog_lamport_head ' "$PROM" || fail "prometheus lamport head"
if command -v promtool >/dev/null 2>&1; then
    promtool check metrics <"$PROM" || fail "promtool check metrics failed"
else
    echo "promtool not installed: skipping promtool check metrics (scripts/test.sh installs it)"
fi

step "events --json: JSON envelopes"
EVENTS=$(ctl "$D" --json events)
assert_json "$EVENTS" "len(d['events']) == $(printf '%s' "$STATS" | json "d['events']['total']")" "every event listed"
assert_json "$EVENTS" "all({'schema_version','event_id','lamport','wall_clock','community_id','author','event_type','data','signature'} <= set(e) for e in d['events'])" "envelope fields"
assert_json "$EVENTS" "d['events'][0]['event_type'] == 'community.created' and all(e['schema_version'] == 1 for e in d['events'])" "first event"
assert_json "$EVENTS" "[e['lamport'] for e in d['events']] == sorted(e['lamport'] for e in d['events'])" "lamport order"
assert_json "$EVENTS" "all(e['signature'].startswith('ed25519:') and e['author'].startswith('ed25519:') for e in d['events'])" "tagged binary"
assert_json "$EVENTS" "d['max_lamport'] == d['events'][-1]['lamport']" "events max_lamport"
for v in $(printf '%s' "$EVENTS" | json "' '.join(e['wall_clock'] for e in d['events'])"); do
    [[ "$v" =~ $RFC3339_RE ]] || fail "wall_clock $v is not RFC 3339 UTC"
done
assert_json "$(ctl "$D" --json events --since-lamport 2)" "all(e['lamport'] > 2 for e in d['events'])" "events since"
assert_json "$(ctl "$D" --json events --limit 2)" "len(d['events']) == 2" "events limit"
ctl "$D" events | grep -q "market.post.created" || fail "human events"

step "stop with SIGTERM, then the node is reported as not running"
LIST_BEFORE=$(ctl "$D" --json market list)
stop_node "$PID"
[ ! -e "$D/control.sock" ] || fail "control.sock left behind after a clean stop"
grep -q "signal received, shutting down" "$D.log" || fail "no shutdown log line"
expect_exit 4 ctl "$D" market list
[[ "$OUT" == *"hearthd is not running"* ]] || fail "stopped node: $OUT"

step "restart: same posts, idempotency survives"
start_node "$D"
PID=$NODE_PID
LIST_AFTER=$(ctl "$D" --json market list)
[ "$LIST_BEFORE" = "$LIST_AFTER" ] || fail "list changed across restart: $LIST_BEFORE vs $LIST_AFTER"
P2C=$(ctl "$D" --json market post --category request --title "Bike pump" --body "Need a bike pump for a day" \
      --tag bike --client-id c-0001 --lat 52.52 --lng 13.405 --label "Lindenstraße 5" --ttl 3600)
[ "$(printf '%s' "$P2C" | json "d['event_id']")" = "$E2" ] || fail "client id not idempotent after restart: $P2C"
assert_json "$(ctl "$D" call node.verify_views)" "d['output']['equal'] is True" "views equal a full re-fold after restart"

step "a stale socket file after SIGKILL is detected and removed"
kill_node "$PID"
[ -e "$D/control.sock" ] || fail "expected a stale control.sock after SIGKILL"
expect_exit 4 ctl "$D" --timeout 60000 market list
[[ "$OUT" == *"hearthd is not running"* ]] || fail "stale socket: $OUT"
start_node "$D"
PID=$NODE_PID
grep -q "removing stale socket file" "$D.log" || fail "stale socket not reported"
[ "$(ctl "$D" --json market list)" = "$LIST_AFTER" ] || fail "posts lost after SIGKILL"
stop_node "$PID"

step "--rebuild-views re-folds the views from the whole log"
start_node "$D" --rebuild-views
PID=$NODE_PID
grep -q "rebuilding every view" "$D.log" || fail "no rebuild log line"
[ "$(ctl "$D" --json market list)" = "$LIST_AFTER" ] || fail "posts differ after --rebuild-views"
assert_json "$(ctl "$D" call node.verify_views)" "d['output']['equal'] is True" "views equal after rebuild"
stop_node "$PID"

step "a key file readable by others is refused"
chmod 644 "$D/keys/device.ed25519"
expect_exit 1 "$HEARTHD" --data-dir "$D"
[[ "$OUT" == *"chmod 600"* ]] || fail "bad key permissions message: $OUT"
expect_exit 1 ctl "$D" id
[[ "$OUT" == *"chmod 600"* ]] || fail "id with bad key permissions: $OUT"
chmod 600 "$D/keys/device.ed25519"

step "hearthd refuses an uninitialised dir and bad config"
mkdir -p "$WORK/empty"
expect_exit 1 "$HEARTHD" --data-dir "$WORK/empty"
[[ "$OUT" == *"hearthctl --data-dir"*"init"* ]] || fail "uninitialised dir message: $OUT"
expect_exit 1 "$HEARTHD" --data-dir "$WORK/nonexistent"
printf 'market\n    sweep_intervall_seconds = 5\n' >"$WORK/bad.cfg"
expect_exit 2 "$HEARTHD" --data-dir "$D" --config "$WORK/bad.cfg"
[[ "$OUT" == *"sweep_intervall_seconds"* ]] || fail "config typo message: $OUT"
expect_exit 2 "$HEARTHD" --data-dir "$D" --listen udp://0.0.0.0:7400
[[ "$OUT" == *"tcp://HOST:PORT"* ]] || fail "bad --listen message: $OUT"
expect_exit 2 "$HEARTHD" --data-dir "$D" --peer tcp://127.0.0.1:7400
[[ "$OUT" == *"NODE_ID@tcp://HOST:PORT"* ]] || fail "bad --peer message: $OUT"
expect_exit 2 "$HEARTHD" --data-dir "$D" --discovery maybe
expect_exit 2 "$HEARTHD" --data-dir "$D" --sync-interval-ms 5

passed
