#!/usr/bin/env bash
# http_search_semantic.sh — GET /api/v1/market/search on a node with an
# embedding backend (tests/embed_server.py) goes the control socket's way:
# the same fused answer and meta as `hearthctl market search`, the
# connection suspended while the query embedding is on its way. With a
# slow backend: at most NODE_HTTP_MAX_WAITING (16) searches wait, one more
# is 503 with Retry-After (counted as "busy"); a client that hangs up while
# its search waits is counted and nothing breaks; SIGTERM while a search
# waits answers it 503 (ESHUTDOWN) and the node exits cleanly (no abort of
# libmicrohttpd, no use of a freed request in the ASan build).
TEST_NAME=http_search_semantic
. "$(dirname "$0")/node_lib.sh"

command -v curl >/dev/null || fail "curl is missing (scripts/deps.sh installs it)"
D="$WORK/node"
MAX_WAITING=16

. "$(dirname "$0")/embed_lib.sh"
embed_true () {
    [ "$(ctl "$D" --json stats | json "(lambda e: $1)(d['embed'])")" = "true" ]
}
# http_stat EXPR: a Python expression over the stats' "http" part (bound to h).
http_stat () {
    ctl "$D" --json stats | json "(lambda h: $1)(d['http'])"
}
http_true () {
    [ "$(http_stat "$1")" = "true" ]
}
backend_up () {
    srv_mode ok
    wait_until 20 embed_true "e['backend']['state'] == 'up' and e['provider'] == 'local'" \
        || fail "backend not up"
}
post () {
    ctl "$D" --json market post --category offer --title "$1" --body "$2" | json "d['event_id']"
}

start_server
ctl "$D" init --community "Lindenstraße" >/dev/null
cat >>"$D/hearth.cfg" <<EOF
search
    embed_url = "http://127.0.0.1:$SRV_PORT/v1/embeddings"
    embed_model = "test-embed"
    embed_timeout_ms = 3000
EOF
start_node "$D"
NODE=$NODE_PID
U=$(http_url_of "$D")
wait_until 20 embed_true "e['backend']['state'] == 'up'" || fail "backend not up"
E_DE=$(post "Rollstuhl zu verleihen" "Faltbar, bitte melden")
E_EN=$(post "Wheelchair available to borrow" "Call any time")
post "Leiter abzugeben" "Drei Meter" >/dev/null
wait_until 20 embed_true "e['posts_embedded'] == 3" || fail "posts not embedded"

step "the API's search is the control socket's: fused, same posts, same meta"
for q in wheelchair rollstuhl; do
    CTL=$(ctl "$D" --json market search "$q")
    API=$(curl -sf "${U}api/v1/market/search?q=$q") || fail "API search $q"
    assert_json "$API" "d['output']['meta']['ranking'] == 'fused' and d['output']['meta']['semantic'] == 'ok'" "$q: fused over HTTP"
    "$PYTHON" - "$CTL" "$API" <<'PY' || fail "$q: the API and hearthctl disagree: $CTL / $API"
import json, sys
ctl, api = json.loads(sys.argv[1]), json.loads(sys.argv[2])["output"]
for d in (ctl, api):
    d["meta"].pop("embed_ms", None)
assert ctl == api, (ctl, api)
PY
done
assert_json "$(curl -sf "${U}api/v1/market/search?q=wheelchair")" \
    "[p['event_id'] for p in d['output']['posts']] == ['$E_EN', '$E_DE']" "the German post found by an English word"
http_true "h['deferred'] >= 3 and h['waiting'] == 0" || fail "searches not deferred: $(http_stat h)"

step "slow backend: $MAX_WAITING searches wait, one more is 503 with Retry-After"
srv_mode slow 8000
CURLS=()
for i in $(seq 1 $MAX_WAITING); do
    curl -s -o "$WORK/wait.$i.json" -w '%{http_code}' --max-time 60 "${U}api/v1/market/search?q=rollstuhl" \
        >"$WORK/wait.$i.code" &
    CURLS+=($!)
done
wait_until 20 http_true "h['waiting'] == $MAX_WAITING" || fail "searches not waiting: $(http_stat h)"
curl -s -D "$WORK/busy.h" -o "$WORK/busy.json" -w '%{http_code}' "${U}api/v1/market/search?q=rollstuhl" >"$WORK/busy.code"
[ "$(cat "$WORK/busy.code")" = 503 ] || fail "over the bound: $(cat "$WORK/busy.code") $(cat "$WORK/busy.json")"
grep -qi '^retry-after: 1' "$WORK/busy.h" || fail "no Retry-After: $(cat "$WORK/busy.h")"
assert_json "$(cat "$WORK/busy.json")" "d['error'] == 'capacity_exceeded'" "busy body"
# The health check does not wait behind them.
[ "$(curl -s "${U}health")" = ok ] || fail "/health while searches wait"
for pid in "${CURLS[@]}"; do
    wait "$pid" || true
done
for i in $(seq 1 $MAX_WAITING); do
    [ "$(cat "$WORK/wait.$i.code")" = 200 ] || fail "waiting search $i: $(cat "$WORK/wait.$i.code")"
    assert_json "$(cat "$WORK/wait.$i.json")" "d['output']['meta']['ranking'] == 'lexical' and d['output']['meta']['semantic'] == 'timeout' and d['output']['posts'][0]['event_id'] == '$E_DE'" "search $i answered lexically at its deadline"
done
http_true "h['waiting'] == 0 and h['refused']['busy'] == 1" || fail "busy not counted: $(http_stat h)"
# Read the whole text first: `curl | grep -q` fails under pipefail when grep
# exits at its match and curl's next write gets SIGPIPE.
METRICS=$(curl -s "${U}metrics")
grep -q '^hearth_http_refused_total{reason="busy"} 1' <<<"$METRICS" || fail "busy not in /metrics"

step "a client hangs up while its search waits: counted, the node carries on"
backend_up
srv_mode slow 8000
BEFORE=$(http_stat "h['abandoned']")
curl -s -o /dev/null --max-time 1 "${U}api/v1/market/search?q=rollstuhl" || true
wait_until 20 http_true "h['waiting'] == 0 and h['abandoned'] == $BEFORE + 1" || fail "abandoned not counted: $(http_stat h)"
kill -0 "$NODE" || fail "hearthd died"
assert_json "$(curl -sf "${U}api/v1/market/search?q=rollstuhl")" "d['output']['posts'][0]['event_id'] == '$E_DE'" "search after the hang-up"

step "SIGTERM while a search waits: answered 503 (ESHUTDOWN), clean exit"
backend_up
srv_mode slow 8000
curl -s -o "$WORK/term.json" -w '%{http_code}' --max-time 60 "${U}api/v1/market/search?q=rollstuhl" >"$WORK/term.code" &
CURL=$!
wait_until 20 http_true "h['waiting'] == 1" || fail "search not waiting: $(http_stat h)"
stop_node "$NODE"
wait "$CURL" || true
[ "$(cat "$WORK/term.code")" = 503 ] || fail "waiting search at shutdown: $(cat "$WORK/term.code") $(cat "$WORK/term.json")"
assert_json "$(cat "$WORK/term.json")" "d['error'] == 'partition' and d['hearth_error'] == 'ESHUTDOWN'" "shutdown body"
grep -q "HTTP request waiting for a search answered 503" "$D.log" || fail "shutdown not logged"
! grep -qiE "AddressSanitizer|runtime error|MHD_stop_daemon|abort" "$D.log" || fail "hearthd complained: $(tail -20 "$D.log")"
passed
