#!/usr/bin/env bash
# mesh_update.sh — market.update across three nodes: an edit made on A is
# pushed to B and C like a post (reconciliation is set to run once an hour,
# so only the push can carry it within the deadline), where the title,
# updated_at, the edit count and search follow it; B may not edit A's post
# (locally: unauthorized; over the mesh: refused like post); an expired post
# is not_found; a client_id makes the edit idempotent; market get names who
# expired a post.
TEST_NAME=mesh_update
. "$(dirname "$0")/node_lib.sh"
. "$(dirname "$0")/mesh_lib.sh"

C="$WORK/c"
step "cluster of three, reconciliation once an hour"
cluster up 3 "$C" --sync-interval-ms 3600000 >"$WORK/up.log" || fail "cluster up: $(cat "$WORK/up.log")"
. "$C/cluster.env"
A=$NODE_1_DIR
B=$NODE_2_DIR
N3=$NODE_3_DIR

# title_on DIR ID TITLE: the node serves post ID with TITLE, edited (updated_at, history).
title_on () {
    ctl "$1" --json market get "$2" | json "d['post']['title'] == '$3' and 'updated_at' in d['post'] and d['post']['history'] >= 1" | grep -qx true
}
# search_has DIR QUERY ID: a search for QUERY finds post ID.
search_has () {
    ctl "$1" --json market search "$2" | json "any(p['event_id'] == '$3' for p in d['posts'])" | grep -qx true
}
updates_on () {
    ctl "$1" --json stats | json "d['events']['by_type']['market.post.updated']"
}

step "a post on A reaches B and C"
E1=$(ctl "$A" --json market post --category offer --title "Schubkarre zu verleihen" --body "Verzinkt, im Hof." --tag garten | json "d['event_id']")
for n in "$B" "$N3"; do
    wait_until "$MESH_DEADLINE_S" has_post "$n" "Schubkarre zu verleihen" || fail "A's post never reached $n"
done
assert_json "$(ctl "$B" --json market get "$E1")" "'updated_at' not in d['post'] and 'history' not in d['post']" "a post never edited has no updated_at"

step "A edits it; B and C see the edit and search follows it"
PUSHED_BEFORE=$(stat_of "$A" "d['mesh']['events_pushed']")
U1=$(ctl "$A" --json market update "$E1" --title "Rasenmäher zu verleihen" --tag garten --tag werkzeug --client-id edit-1 | json "d['event_id']")
[ -n "$U1" ] || fail "market update printed no event id"
for n in "$B" "$N3"; do
    wait_until "$MESH_DEADLINE_S" title_on "$n" "$E1" "Rasenmäher zu verleihen" || fail "the edit never reached $n: $(ctl "$n" --json market get "$E1")"
    assert_json "$(ctl "$n" --json market get "$E1")" "d['post']['history'] == 1 and d['post']['tags'] == ['garten', 'werkzeug'] and d['post']['body'] == 'Verzinkt, im Hof.'" "the edit's fields on $n"
    wait_until "$MESH_DEADLINE_S" search_has "$n" "rasenmäher" "$E1" || fail "search on $n does not find the new title"
    search_has "$n" "schubkarre" "$E1" && fail "search on $n still finds the old title"
done
assert_json "$(stat_of "$A" "d['mesh']['events_pushed'] > $PUSHED_BEFORE")" "d" "A pushed the edit"
assert_json "$(ctl "$B" --json market list)" "[p.get('history') for p in d['posts'] if p['event_id'] == '$E1'] == [1]" "list items carry the edit count"
ctl "$B" market get "$E1" | grep -q "^updated_at  .*(1 edit)" || fail "human market get shows the edit: $(ctl "$B" market get "$E1")"
wait_until "$MESH_DEADLINE_S" eval '[ "$(digest "$A")" = "$(digest "$B")" ] && [ "$(digest "$A")" = "$(digest "$N3")" ]' \
    || fail "views differ: $(digest "$A") / $(digest "$B") / $(digest "$N3")"

step "the same client_id answers the same event and appends nothing"
U1_AGAIN=$(ctl "$A" --json market update "$E1" --title "Rasenmäher zu verleihen" --tag garten --tag werkzeug --client-id edit-1 | json "d['event_id']")
[ "$U1_AGAIN" = "$U1" ] || fail "client_id retry gave $U1_AGAIN, not $U1"
[ "$(updates_on "$A")" = 1 ] || fail "A holds $(updates_on "$A") update events, not 1"

step "B may not edit A's post, locally nor over the mesh"
expect_exit 1 ctl "$B" market update "$E1" --title "Gekapert"
[[ "$OUT" == *unauthorized* ]] || fail "B's edit of A's post not refused as unauthorized: $OUT"
expect_exit 1 ctl "$B" --node "$NODE_1_ADDRESS" market update "$E1" --title "Gekapert"
[[ "$OUT" == *unauthorized* ]] || fail "remote edit not refused: $OUT"
[ "$(updates_on "$B")" = 1 ] || fail "B appended an update"

step "an expired post is not_found, and get says who expired it"
ctl "$A" market expire "$E1" --reason fulfilled >/dev/null || fail "expire"
expect_exit 1 ctl "$A" --json market update "$E1" --title "Noch da"
assert_json "$OUT" "d['error'] == 'not_found'" "edit of an expired post"
expect_exit 1 ctl "$A" --json market update 01ARZ3NDEKTSV4RRFFQ69G5FAV --title "Nie"
assert_json "$OUT" "d['error'] == 'not_found'" "edit of an unknown post"
wait_until "$MESH_DEADLINE_S" eval "ctl '$B' --json market get '$E1' | json \"d['post']['expired']\" | grep -qx true" || fail "the expiry never reached B"
assert_json "$(ctl "$B" --json market get "$E1")" "d['post']['expired_by'] == '$NODE_1_ID' and d['post']['expiry_reason'] == 'fulfilled' and d['post']['expired_at'].endswith('Z')" "B names who expired it"
ctl "$B" market get "$E1" | grep -q "^expired_by  .*($NODE_1_ID) at " || fail "human get names who expired it: $(ctl "$B" market get "$E1")"
[ "$(updates_on "$A")" = 1 ] || fail "a refused edit appended an event"

step "down"
cluster down "$C" >/dev/null
passed
