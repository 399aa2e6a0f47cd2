#!/usr/bin/env bash
# mesh_embed.sh — embed.text over the mesh, real processes: node 1 has an
# embedding backend (tests/embed_server.py), node 2 has none. Node 2 finds
# node 1 through node.capabilities, embeds its posts and queries with node
# 1's embed.text (the provider change logged once, named in meta and
# stats), a remote market.search waits for its embedding on node 1, and
# when the backend dies node 2's searches fall back to lexical ranking.
TEST_NAME=mesh_embed
. "$(dirname "$0")/node_lib.sh"
. "$(dirname "$0")/mesh_lib.sh"

SERVER="$(dirname "$0")/embed_server.py"
"$PYTHON" "$SERVER" --port-file "$WORK/port" >"$WORK/server.log" 2>&1 &
SRV_PID=$!
trap 'kill "$SRV_PID" 2>/dev/null || true; _mesh_cleanup' EXIT
wait_until 10 test -s "$WORK/port" || fail "embed_server.py did not start"
SRV_PORT=$(cat "$WORK/port")

C="$WORK/c"
step "two nodes; node 1 gets an embedding backend"
cluster up 2 "$C" --sync-interval-ms 1000 >"$WORK/up.log" || fail "cluster up: $(cat "$WORK/up.log")"
. "$C/cluster.env"
A=$NODE_1_DIR
B=$NODE_2_DIR
cat >>"$A/hearth.cfg" <<CFG
search
    embed_url = "http://127.0.0.1:$SRV_PORT/v1/embeddings"
    embed_model = "test-embed"
CFG
cluster stop "$C" 1 >/dev/null
cluster start "$C" 1 >/dev/null

# embed_of DIR EXPR: a Python expression over the node's stats "embed" part (bound to e).
embed_of () {
    ctl "$1" --json stats | json "(lambda e: $2)(d['embed'])"
}
embed_true () {
    [ "$(embed_of "$1" "$2")" = "true" ]
}

step "node 2 finds node 1's embed.text"
wait_until "$MESH_DEADLINE_S" embed_true "$A" "e['provider'] == 'local'" || fail "A's backend: $(embed_of "$A" e)"
assert_json "$(ctl "$A" call node.capabilities)" "d['output']['capabilities'] == [{'name': 'embed.text', 'model': 'test-embed', 'dim': 64}]" "A advertises embed.text"
wait_until "$MESH_DEADLINE_S" embed_true "$B" "e['provider'] == '$NODE_1_ID' and e['model'] == 'test-embed'" \
    || fail "B never found A's embed.text: $(embed_of "$B" e)"
grep -q "using embed.text of member $NODE_1_ID" "$C/n2.log" || fail "B does not log its provider"
assert_json "$(ctl "$B" call node.capabilities)" "d['output']['capabilities'] == []" "B advertises nothing"

step "node 2's posts are embedded by node 1, and its searches fuse"
E_DE=$(post "$A" "Rollstuhl zu verleihen")
E_EN=$(post "$B" "Wheelchair available to borrow")
wait_until "$MESH_DEADLINE_S" has_post "$B" "Rollstuhl zu verleihen" || fail "A's post never reached B"
wait_until "$MESH_DEADLINE_S" embed_true "$B" "e['cache']['entries'] == 2" || fail "B's cache: $(embed_of "$B" e)"
OUT=$(ctl "$B" --json market search wheelchair)
assert_json "$OUT" "d['meta']['ranking'] == 'fused' and d['meta']['provider'] == '$NODE_1_ID' and d['meta']['semantic'] == 'ok'" "B's search is fused with A's embeddings"
assert_json "$OUT" "[p['event_id'] for p in d['posts']] == ['$E_EN', '$E_DE']" "B finds the German post by an English word"
assert_json "$(embed_of "$A" e)" "d['served']['ok'] >= 2" "A counts the embed.text calls it served"
assert_json "$(ctl "$A" --json stats)" "d['mesh']['queries']['embed.text']['ok'] >= 2 and d['mesh']['queries']['embed.text']['max_concurrent'] == 8 and d['mesh']['queries']['embed.text']['timeout_ms'] == 15000" "embed.text admission on A"

step "a remote market.search waits for its embedding on node 1"
OUT=$(ctl "$B" --json --node "$NODE_1_ADDRESS" market search rollstuhl)
assert_json "$OUT" "d['meta']['ranking'] == 'fused' and d['meta']['provider'] == 'local' and [p['event_id'] for p in d['posts']] == ['$E_DE', '$E_EN']" "remote fused search"

step "embed.text input is checked"
expect_exit 1 ctl "$B" --json --node "$NODE_1_ADDRESS" call embed.text '{"texts":[]}'
assert_json "$OUT" "d['error'] == 'bad_request'" "empty texts refused"
expect_exit 1 ctl "$B" --json --node "$NODE_1_ADDRESS" call embed.text '{"texts":["x"],"model":"other"}'
assert_json "$OUT" "d['error'] == 'not_found'" "another model is not_found"
OUT=$(ctl "$B" --json --node "$NODE_1_ADDRESS" call embed.text '{"texts":["Rollstuhl","wheelchair"]}')
assert_json "$OUT" "d['output']['dim'] == 64 and len(d['output']['embeddings']) == 2 and d['output']['embeddings'][0] == d['output']['embeddings'][1]" "embed.text answers"

step "the backend dies: node 2 ranks lexically, and says so once"
kill "$SRV_PID"
wait "$SRV_PID" 2>/dev/null || true
OUT=$(ctl "$B" --json market search rollstuhl)
assert_json "$OUT" "d['meta']['ranking'] == 'lexical' and d['posts'][0]['event_id'] == '$E_DE'" "B answers lexically"
wait_until "$MESH_DEADLINE_S" embed_true "$B" "e['provider'] is None" || fail "B still has a provider: $(embed_of "$B" e)"
for i in 1 2 3; do ctl "$B" --json market search rollstuhl >/dev/null; done
[ "$(grep -c "WARN .*no embed.text provider available" "$C/n2.log")" = 1 ] || fail "B logs the lost provider more than once: $(grep -c "WARN .*no embed.text provider available" "$C/n2.log")"
PROM=$(ctl "$A" stats --prometheus)
if command -v promtool >/dev/null; then
    promtool check metrics <<<"$PROM" >"$WORK/promtool.log" 2>&1 || fail "promtool: $(cat "$WORK/promtool.log")"
fi
passed
