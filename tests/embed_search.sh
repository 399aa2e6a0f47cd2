#!/usr/bin/env bash
# embed_search.sh — market.search with an embedding backend, real processes:
# hearthd against tests/embed_server.py (a deterministic OpenAI-compatible
# /v1/embeddings). Fused ranking (a German post found by an English query),
# post embeddings cached (a second search embeds only the query), expiry
# invalidation, LRU evictions, and a hostile or failing backend (wrong
# dimensions, NaN, an oversized body, not JSON, HTTP 500, slower than the
# deadline, killed mid-search): every search is answered, lexically, with
# the reason in meta; the state change is logged once and shown in stats;
# the backend is used again once it answers.
TEST_NAME=embed_search
. "$(dirname "$0")/node_lib.sh"

D="$WORK/node"

. "$(dirname "$0")/embed_lib.sh"
# embed EXPR: a Python expression over the node's stats "embed" part (bound to e).
embed () {
    ctl "$D" --json stats | json "(lambda e: $1)(d['embed'])"
}
embed_true () {
    [ "$(embed "$1")" = "true" ]
}
search () {
    ctl "$D" --json market search "$@"
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
    embed_timeout_ms = 1500
    embed_cache_entries = 4
    embed_query_prefix = "query: "
    embed_passage_prefix = "passage: "
EOF

step "the node finds its backend up and embeds the posts in the background"
start_node "$D"
NODE=$NODE_PID
wait_until 20 embed_true "e['backend']['state'] == 'up' and e['provider'] == 'local' and e['backend']['dim'] == 64" \
    || fail "backend not up: $(embed e)"
grep -q "semantic search: using this node's embedding backend" "$D.log" || fail "provider choice not logged"
E_DE=$(post "Rollstuhl zu verleihen" "Faltbar, bitte melden")
E_EN=$(post "Wheelchair available to borrow" "Call any time")
E_LADDER=$(post "Leiter abzugeben" "Drei Meter")
E_CAKE=$(post "Kuchen gesucht" "Für ein Fest")
wait_until 20 embed_true "e['cache']['entries'] == 4 and e['posts_embedded'] == 4" || fail "posts not embedded: $(embed e)"

step "fused search: the German post is found by an English word, lexical hits stay first"
OUT=$(search wheelchair)
assert_json "$OUT" "d['meta']['ranking'] == 'fused' and d['meta']['semantic'] == 'ok' and d['meta']['provider'] == 'local' and d['meta']['model'] == 'test-embed'" "fused meta"
assert_json "$OUT" "[p['event_id'] for p in d['posts']] == ['$E_EN', '$E_DE']" "wheelchair finds both, the lexical hit first, no padding"
OUT=$(search rollstuhl)
assert_json "$OUT" "[p['event_id'] for p in d['posts']] == ['$E_DE', '$E_EN']" "rollstuhl finds the English post"

step "post embeddings are cached: a search embeds only its query"
BEFORE=$(srv_texts)
search "wheelchair borrow" >/dev/null
search leiter >/dev/null
[ "$(srv_texts)" = $((BEFORE + 2)) ] || fail "searches embedded $(( $(srv_texts) - BEFORE )) texts, not 2"
assert_json "$(embed e)" "d['cache']['inserts'] == 4 and d['searches']['fused'] >= 4" "no re-embedding"

step "an expired post is dropped from the cache and never shown"
ctl "$D" market expire "$E_EN" --reason fulfilled >/dev/null
OUT=$(search wheelchair)
assert_json "$OUT" "[p['event_id'] for p in d['posts']] == ['$E_DE']" "the expired post is gone"
assert_json "$(embed e)" "d['cache']['invalidations'] >= 1 and d['cache']['entries'] == 3" "invalidated entry counted"

step "the LRU keeps the newest posts within its capacity"
post "Fahrrad zu verschenken" "Damenrad" >/dev/null
post "Bohrmaschine leihen" "Mit Akku" >/dev/null
wait_until 20 embed_true "e['posts_embedded'] == 6 and e['cache']['entries'] == 4 and e['cache']['evictions'] == 1" \
    || fail "no eviction: $(embed e['cache'])"

# hostile MODE KIND: the backend misbehaves; the next search is answered
# lexically with the reason, the failure is counted as KIND, the node says
# once that the backend is down; then it comes back.
hostile () {
    local mode=$1 kind=$2 meta=$3
    srv_mode "$mode" 3000
    local downs_before
    downs_before=$(grep -c "embedding backend .* is down:" "$D.log" || true)
    OUT=$(search rollstuhl)
    assert_json "$OUT" "d['meta']['ranking'] == 'lexical' and d['meta']['semantic'] == '$meta' and d['posts'][0]['event_id'] == '$E_DE'" "$mode: lexical answer"
    wait_until 10 embed_true "e['calls']['$kind'] >= 1 and e['backend']['state'] == 'down' and e['provider'] is None" \
        || fail "$mode: not counted as $kind: $(embed e)"
    # Down: searches go lexical at once, without a call and without a log line each.
    OUT=$(search rollstuhl)
    assert_json "$OUT" "d['meta']['semantic'] == 'no_provider' and d['meta']['provider'] is None" "$mode: no provider while down"
    OUT=$(search rollstuhl)
    [ "$(grep -c "embedding backend .* is down:" "$D.log")" = $((downs_before + 1)) ] || fail "$mode: down logged $(( $(grep -c "embedding backend .* is down:" "$D.log") - downs_before )) times"
    kill -0 "$NODE" || fail "$mode: hearthd died"
    srv_mode ok
    wait_until 20 embed_true "e['backend']['state'] == 'up' and e['provider'] == 'local'" || fail "$mode: backend not back"
}

step "hostile replies: wrong dimensions, NaN, oversized, not JSON, HTTP 500, late"
hostile wrongdim dimension error
hostile nan not_finite error
hostile huge too_big error
hostile garbage bad_reply error
hostile error unreachable error
hostile slow timeout timeout
grep -q "embedding backend .* is up" "$D.log" || fail "recovery not logged"
! grep -q "no embed.text provider; using lexical" "$D.log" || fail "the old per-search warning is back"

step "the backend is killed while a search waits: the search is answered, lexically"
srv_mode hang 10000
N0=$(srv_texts)
search rollstuhl >"$WORK/mid.json" 2>&1 &
SEARCH=$!
wait_until 10 eval '[ "$(srv_texts)" -gt "$N0" ]' || fail "the search never reached the backend"
stop_server
wait "$SEARCH" || fail "search failed: $(cat "$WORK/mid.json")"
assert_json "$(cat "$WORK/mid.json")" "d['meta']['ranking'] == 'lexical' and d['meta']['semantic'] in ('error', 'timeout') and d['posts'][0]['event_id'] == '$E_DE'" "search answered while the backend died"
OUT=$(search rollstuhl)
assert_json "$OUT" "d['meta']['semantic'] == 'no_provider'" "no provider after the backend died"
assert_json "$(ctl "$D" --json stats)" "d['embed']['backend']['state'] == 'down'" "stats say down"
PROM=$(ctl "$D" stats --prometheus)
grep -q '^hearth_embed_provider_up{kind="none"} 0' <<<"$PROM" || fail "prometheus provider gauge"

step "clean stop"
stop_node "$NODE"
passed
