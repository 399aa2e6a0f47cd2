#!/usr/bin/env bash
# http_api.sh — the node's HTTP listener (docs/http.md) with real hearthd
# processes and curl: /health, /ready (503 while the configured peer is
# down, 200 once linked), /metrics through promtool, the API's market and
# node routes with the control socket's error codes, hostile input (413,
# 400, 404, 421, cross-site and unauthorized writes, 415), http/hosts, the write token,
# the rate limit (429, counted), idle connections and the per-address cap,
# --http off, and a taken port.
TEST_NAME=http_api
. "$(dirname "$0")/node_lib.sh"
. "$(dirname "$0")/mesh_lib.sh"

for tool in curl promtool ss; do
    command -v "$tool" >/dev/null || fail "$tool is missing (scripts/deps.sh installs it)"
done

# code ARGS...: the HTTP status curl gets.
code () {
    curl -s -o /dev/null -w '%{http_code}' "$@"
}
# metric URL NAME_AND_LABELS: a series' value from /metrics.
metric () {
    curl -s "${1}metrics" | awk -v s="$2" '$1 == s { print $2 }'
}
_status_is () {
    [ "$(code "$2")" = "$1" ]
}
_metric_at_least () {
    local value
    value=$(metric "$1" "$2")
    [ -n "$value" ] && [ "$value" -ge "$3" ]
}

step "a street of two; node 2 has node 1 as its configured peer"
C="$WORK/c"
cluster up 2 "$C" --sync-interval-ms 200 >/dev/null
N1=$(node_dir "$C" 1)
N2=$(node_dir "$C" 2)
U1=$(http_url_of "$N1")
U2=$(http_url_of "$N2")
[[ "$U1" == http://127.0.0.1:*/ ]] || fail "node 1 has no http_url: $U1"
grep -q "page and HTTP API at $U1" "$N1.log" || fail "node 1 does not log its page URL"

step "/health answers 200; /ready 200 when joined and linked"
[ "$(curl -s "${U1}health")" = ok ] || fail "/health"
wait_until "$MESH_DEADLINE_S" _status_is 200 "${U2}ready" || fail "/ready of node 2: $(curl -s "${U2}ready")"

step "/ready is 503 with the reason while node 2's only peer is down, 200 once back"
cluster stop "$C" 1 >/dev/null
wait_until "$MESH_DEADLINE_S" _status_is 503 "${U2}ready" || fail "/ready stayed $(code "${U2}ready")"
[[ "$(curl -s "${U2}ready")" == "not ready: "*"no peer link"* ]] || fail "503 reason: $(curl -s "${U2}ready")"
[ "$(code "${U2}health")" = 200 ] || fail "/health while not ready"
cluster start "$C" 1 >/dev/null
U1=$(http_url_of "$N1")        # a new free port after the restart
PORT1=${U1#http://127.0.0.1:}
PORT1=${PORT1%/}
wait_until "$MESH_DEADLINE_S" _status_is 200 "${U2}ready" || fail "/ready did not come back: $(curl -s "${U2}ready")"

step "/metrics is the stats socket's Prometheus text and passes promtool"
curl -s -D "$WORK/metrics.h" "${U1}metrics" >"$WORK/metrics.txt"
grep -qi "^content-type: text/plain; version=0.0.4" "$WORK/metrics.h" || fail "metrics content type: $(cat "$WORK/metrics.h")"
promtool check metrics <"$WORK/metrics.txt" || fail "promtool check metrics failed"
grep -q '^hearth_http_responses_total{class="2xx"}' "$WORK/metrics.txt" || fail "no http counters in /metrics"
ctl "$N1" stats --prometheus >"$WORK/socket.txt"
# The same families (the values move: the node syncs, counts requests).
diff <(grep "^# TYPE" "$WORK/metrics.txt") <(grep "^# TYPE" "$WORK/socket.txt") \
    || fail "/metrics has other families than the stats socket"

step "post, list, get, search and expire through the API; the post reaches node 2"
JSON=(-H 'Content-Type: application/json')
OUT=$(curl -sf -X POST "${JSON[@]}" -d '{"category":"offer","title":"Lastenrad zu verleihen","body":"cargo bike, weekends","tags":["bike","cargo"]}' "${U1}api/v1/market/posts") \
    || fail "post through the API"
ID=$(printf '%s' "$OUT" | json "d['output']['event_id']")
OUT=$(curl -sf "${U1}api/v1/market/posts?tag=bike&tag=cargo&limit=5&category=offer")
assert_json "$OUT" "[p['event_id'] for p in d['output']['posts']] == ['$ID']" "list with repeated tags"
OUT=$(curl -sf "${U1}api/v1/market/posts/$ID")
assert_json "$OUT" "d['output']['post']['title'] == 'Lastenrad zu verleihen'" "get"
OUT=$(curl -sf "${U1}api/v1/market/search?q=Lastenrad&k=3")
assert_json "$OUT" "d['output']['posts'][0]['event_id'] == '$ID'" "search"
_on_node2 () { [ "$(code "${U2}api/v1/market/posts/$ID")" = 200 ]; }
wait_until "$MESH_DEADLINE_S" _on_node2 || fail "the post did not reach node 2's API"
OUT=$(curl -sf "${U1}api/v1/node")
assert_json "$OUT" "d['output']['http_url'] == '$U1' and d['output']['level'] == 'anchor'" "node"
OUT=$(curl -sf "${U1}api/v1/node/peers")
assert_json "$OUT" "len(d['output']['peers']) >= 1" "peers"
OUT=$(curl -sf "${U1}api/v1/node/stats")
assert_json "$OUT" "d['output']['http']['responses']['2xx'] >= 1" "stats"
OUT=$(curl -sf -X POST "${JSON[@]}" -d '{"reason":"fulfilled"}' "${U1}api/v1/market/posts/$ID/expire") || fail "expire"
OUT=$(curl -sf "${U1}api/v1/market/posts/$ID")
assert_json "$OUT" "d['output']['post']['expired'] == True" "expired after expire"

step "the same error codes and bodies as the control socket"
MISSING=01M97EHVARN53DBEZNCXFVNDKX
for call in "market.get|{\"event_id\":\"$MISSING\"}|GET|api/v1/market/posts/$MISSING|404" \
            "market.post|{\"category\":\"offer\"}|POST|api/v1/market/posts|400" \
            "market.list|{\"limit\":0}|GET|api/v1/market/posts?limit=0|400" \
            "market.search|{\"query\":\"\"}|GET|api/v1/market/search?q=|400" \
            "market.expire|{\"event_id\":\"$MISSING\",\"reason\":\"fulfilled\"}|POST|api/v1/market/posts/$MISSING/expire|404"; do
    IFS='|' read -r cap input method path want <<<"$call"
    SOCKET=$(ctl "$N1" call "$cap" "$input" 2>/dev/null || true)
    body=()
    [ "$method" = POST ] && body=(-X POST "${JSON[@]}" -d "$(printf '%s' "$input" | json "json.dumps({k: v for k, v in d.items() if k != 'event_id'})")")
    HTTP=$(curl -s -w '\n%{http_code}' "${body[@]}" "${U1}$path")
    status=${HTTP##*$'\n'}
    HTTP=${HTTP%$'\n'*}
    [ "$status" = "$want" ] || fail "$cap: status $status, not $want: $HTTP"
    [ "$(printf '%s' "$HTTP" | json "d['error']")" = "$(printf '%s' "$SOCKET" | json "d['error']")" ] \
        || fail "$cap: HTTP $HTTP vs control socket $SOCKET"
done

step "hostile input: oversized body 413, bad JSON 400, unknown route 404, wrong Host 421"
"$PYTHON" -c 'import sys; sys.stdout.write("{\"title\":\"" + "x" * 1100000 + "\"}")' >"$WORK/big.json"
[ "$(code -X POST "${JSON[@]}" --data-binary @"$WORK/big.json" "${U1}api/v1/market/posts")" = 413 ] || fail "oversized body"
[ "$(code -X POST "${JSON[@]}" -H 'Transfer-Encoding: chunked' --data-binary @"$WORK/big.json" "${U1}api/v1/market/posts")" = 413 ] \
    || fail "oversized chunked body"
OUT=$(curl -s -X POST "${JSON[@]}" -d '{"category": "offer",' "${U1}api/v1/market/posts")
assert_json "$OUT" "d['error'] == 'bad_request'" "bad JSON"
[ "$(code -X POST "${JSON[@]}" -d '[1,2]' "${U1}api/v1/market/posts")" = 400 ] || fail "a JSON array body"
OUT=$(curl -s "${U1}api/v1/nothing")
assert_json "$OUT" "d['error'] == 'not_found'" "unknown route"
[ "$(code "${U1}api/v1/nothing")" = 404 ] || fail "unknown route status"
for admin in events events/import node/backup community/invite node/verify_views; do
    [ "$(code "${U1}api/v1/$admin")" = 404 ] || fail "admin route $admin is exposed"
done
[ "$(code -X DELETE "${U1}api/v1/node")" = 405 ] || fail "DELETE"
[ "$(code -H "Host: evil.example:$PORT1" "${U1}api/v1/node")" = 421 ] || fail "a rebinding Host"
[ "$(code -H "Host: 127.0.0.1:1" "${U1}health")" = 421 ] || fail "a Host with another port"
[ "$(code -H "Host: localhost:$PORT1" "${U1}health")" = 200 ] || fail "localhost Host"
[ "$(code -H "X-Big: $(head -c 40000 /dev/zero | tr '\0' b)" "${U1}health")" = 431 ] || fail "oversized header"

step "cross-site writes are refused: Origin, Sec-Fetch-Site, a form content type"
POST=(-X POST -d '{"category":"info","title":"t","body":"b"}')
[ "$(code "${POST[@]}" "${JSON[@]}" -H 'Origin: http://evil.example' "${U1}api/v1/market/posts")" = 403 ] || fail "cross-origin POST"
[ "$(code "${POST[@]}" "${JSON[@]}" -H 'Origin: null' "${U1}api/v1/market/posts")" = 403 ] || fail "Origin null"
[ "$(code "${POST[@]}" "${JSON[@]}" -H 'Sec-Fetch-Site: cross-site' "${U1}api/v1/market/posts")" = 403 ] || fail "Sec-Fetch-Site"
[ "$(code "${POST[@]}" -H 'Content-Type: text/plain' "${U1}api/v1/market/posts")" = 415 ] || fail "text/plain POST"
[ "$(code "${POST[@]}" -H 'Content-Type: application/x-www-form-urlencoded' "${U1}api/v1/market/posts")" = 415 ] || fail "form POST"
[ "$(code "${POST[@]}" "${JSON[@]}" -H "Origin: http://127.0.0.1:$PORT1" "${U1}api/v1/market/posts")" = 200 ] || fail "same-origin POST"
# A form POST to the page without the csrf field reaches the page with may_write 0, counted.
BEFORE=$(metric "$U1" 'hearth_http_refused_total{reason="csrf"}')
curl -s -o /dev/null -X POST -d 'title=x' "${U1}post"
[ "$(metric "$U1" 'hearth_http_refused_total{reason="csrf"}')" -gt "$BEFORE" ] || fail "a form without csrf is not counted"
# No CORS, and the security headers on every answer.
curl -s -D "$WORK/h.txt" -o /dev/null -H 'Origin: http://evil.example' "${U1}"
grep -qi '^access-control' "$WORK/h.txt" && fail "CORS headers sent: $(cat "$WORK/h.txt")"
for header in "content-security-policy: default-src 'self'" "x-frame-options: deny" "x-content-type-options: nosniff" \
              "referrer-policy: no-referrer"; do
    grep -qi "^$header" "$WORK/h.txt" || fail "missing $header: $(cat "$WORK/h.txt")"
done

step "with trust_loopback off, writes need the token of DIR/http.token"
T="$WORK/t"
ctl "$T" init >/dev/null
printf 'http\n    trust_loopback = off\n    hosts = "hearth.local, Markt.example.org"\n' >"$WORK/t.cfg"
start_node "$T" --config "$WORK/t.cfg"
T_PID=$NODE_PID
UT=$(http_url_of "$T")
# http/hosts: the listed names pass the Host check (any port: a reverse
# proxy's), an unlisted name is still 421.
[ "$(code -H "Host: hearth.local" "${UT}health")" = 200 ] || fail "a listed Host name"
[ "$(code -H "Host: markt.example.org:8443" "${UT}api/v1/node")" = 200 ] || fail "a listed Host name with a proxy's port"
[ "$(code -H "Host: evil.example" "${UT}health")" = 421 ] || fail "an unlisted Host name"
[ "$(code -H "Host: hearth.local.evil.example" "${UT}health")" = 421 ] || fail "a name that contains a listed one"
[ "$(stat -c %a "$T/http.token")" = 600 ] || fail "http.token mode $(stat -c %a "$T/http.token")"
TOKEN=$(cat "$T/http.token")
[[ "$TOKEN" =~ ^[0-9a-f]{64}$ ]] || fail "token is not 64 hex digits"
[ "$(code "${POST[@]}" "${JSON[@]}" "${UT}api/v1/market/posts")" = 401 ] || fail "write without token"
WRONG=${TOKEN%?}0
[ "$WRONG" != "$TOKEN" ] || WRONG=${TOKEN%?}1
[ "$(code "${POST[@]}" "${JSON[@]}" -H "Authorization: Bearer $WRONG" "${UT}api/v1/market/posts")" = 401 ] || fail "wrong token"
[ "$(code "${POST[@]}" "${JSON[@]}" -H "Authorization: Bearer $TOKEN" "${UT}api/v1/market/posts")" = 200 ] || fail "Bearer token"
[ "$(code "${POST[@]}" "${JSON[@]}" -b "hearth_token=$TOKEN" "${UT}api/v1/market/posts")" = 200 ] || fail "token cookie"
[ "$(code "${UT}api/v1/market/posts")" = 200 ] || fail "reads need no token"
# POST /login with the token sets the cookie; a wrong token does not.
[ "$(code -X POST -d "token=nope" "${UT}login")" = 403 ] || fail "login with a wrong token"
curl -s -D "$WORK/login.h" -o /dev/null -X POST --data-urlencode "token=$TOKEN" "${UT}login"
grep -qi "^set-cookie: hearth_token=$TOKEN; Path=/; HttpOnly; SameSite=Strict" "$WORK/login.h" \
    || fail "login: $(cat "$WORK/login.h")"
grep -qi "^location: /" "$WORK/login.h" || fail "login does not redirect"
[ "$(code -X POST -H 'Origin: http://evil.example' --data-urlencode "token=$TOKEN" "${UT}login")" = 403 ] \
    || fail "cross-site login"
[ "$(metric "$UT" 'hearth_http_refused_total{reason="unauthorized"}')" = 3 ] || fail "unauthorized not counted"
stop_node "$T_PID"
chmod 644 "$T/http.token"
expect_exit 1 "$HEARTHD" --data-dir "$T" --http 127.0.0.1:0
[[ "$OUT" == *"http.token"*"chmod 600"* ]] || fail "a readable token file: $OUT"

step "a flood from one address gets 429 with Retry-After, counted; other addresses are served"
URLS=()
for _ in $(seq 1 300); do URLS+=("${U1}health"); done
FLOOD=$(curl -s --interface 127.0.0.3 -D "$WORK/flood.h" -o /dev/null -w '%{http_code}\n' "${URLS[@]}" | sort | uniq -c)
[[ "$FLOOD" == *" 429"* ]] || fail "no 429 in a flood: $FLOOD"
grep -qi "^retry-after: [1-9]" "$WORK/flood.h" || fail "no Retry-After with the 429s"
[ "$(code "${U1}health")" = 200 ] || fail "another address was limited too"
_metric_at_least "$U1" 'hearth_http_refused_total{reason="rate_limited"}' 100 || fail "429s not counted"

step "idle connections from one address do not stop /health; over the per-address cap they are counted"
"$PYTHON" - "$PORT1" "$U1" <<'PY' || fail "idle connections"
import socket, sys, time, urllib.request
port, url = int(sys.argv[1]), sys.argv[2]
idle = []
for _ in range(40):                     # NODE_HTTP_MAX_PER_ADDRESS is 32
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    s.connect(("127.0.0.1", port))
    s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")   # never finished
    idle.append(s)
def refused():
    for line in urllib.request.urlopen(url + "metrics", timeout=10).read().decode().splitlines():
        if line.startswith('hearth_http_refused_total{reason="connections"}'):
            return int(line.split()[1])
    return 0
deadline = time.time() + 30
while refused() < 8:
    if time.time() > deadline:
        sys.exit("refused connections not counted: %d" % refused())
    time.sleep(0.05)
assert urllib.request.urlopen(url + "health", timeout=10).status == 200
for s in idle:
    s.close()
PY

step "--http off leaves nothing listening"
O="$WORK/o"
ctl "$O" init >/dev/null
start_node "$O" --http off
[ "$(http_url_of "$O")" = null ] || fail "http_url with --http off"
LISTENING=$(ss -ltnpH 2>/dev/null | grep "pid=$NODE_PID," || true)
[ -z "$LISTENING" ] || fail "a node with --http off (and no --listen) listens: $LISTENING"
grep -q "HTTP listener off" "$O.log" || fail "no log line for --http off"
stop_node "$NODE_PID"

step "a node on a taken port fails at start naming the address and the flag"
expect_exit 1 "$HEARTHD" --data-dir "$O" --http "127.0.0.1:$PORT1"
[[ "$OUT" == *"cannot listen for HTTP on 127.0.0.1:$PORT1"*"--http"* ]] || fail "taken port: $OUT"
expect_exit 2 "$HEARTHD" --data-dir "$O" --http nowhere:80
[[ "$OUT" == *"--http"* ]] || fail "bad --http: $OUT"
printf 'http\n    hosts = "hearth.local:7480"\n' >"$WORK/bad-hosts.cfg"
STATUS=0
OUT=$("$HEARTHD" --data-dir "$O" --config "$WORK/bad-hosts.cfg" --http 127.0.0.1:0 2>&1) || STATUS=$?
[ "$STATUS" != 0 ] && [[ "$OUT" == *"http/hosts"*"not a host name"* ]] || fail "a bad http/hosts: $STATUS $OUT"

passed
