#!/usr/bin/env bash
# market_near.sh — "near me" end to end with a real hearthd: located and
# unlocated posts through hearthctl, `market list` and `market search`
# with --near/--radius-km (text shows the distance, --json carries
# distance_km), nearest first with --order distance, and bad filters
# refused by the node with the field named, and by hearthctl before
# calling it (docs/cli.md, docs/market.md "Near me").
TEST_NAME=market_near
. "$(dirname "$0")/node_lib.sh"

D="$WORK/node"

step "a node with located and unlocated posts"
ctl "$D" init --community "Nahkiez" >/dev/null
start_node "$D"
post () {  # TITLE [LAT LNG]
    if [ $# -eq 3 ]; then
        ctl "$D" --json market post --category offer --title "$1" --body "Leiter zu verleihen" \
            --tag leiter --lat "$2" --lng "$3" | json "d['event_id']"
    else
        ctl "$D" --json market post --category offer --title "$1" --body "Leiter zu verleihen" \
            --tag leiter | json "d['event_id']"
    fi
}
ALEX=$(post "Leiter am Alex" 52.5219 13.4132)
EAST=$(post "Leiter einen Kilometer weiter" 52.5219 13.4295)
POTSDAM=$(post "Leiter in Potsdam" 52.3906 13.0645)
NOWHERE=$(post "Leiter ohne Ort")
FIJI=$(post "Leiter auf Taveuni" -16.80 -179.99)

step "list --near --radius-km: only posts within, newest first, each with distance_km"
OUT=$(ctl "$D" --json market list --near 52.5219,13.4132 --radius-km 2)
assert_json "$OUT" "[p['event_id'] for p in d['posts']] == ['$EAST', '$ALEX']" "2 km, newest first"
assert_json "$OUT" "1.0 < d['posts'][0]['distance_km'] < 1.2 and d['posts'][1]['distance_km'] < 0.001" "distances"
OUT=$(ctl "$D" --json market list --near "52.5219, 13.4132" --radius-km 50 --order distance)
assert_json "$OUT" "[p['event_id'] for p in d['posts']] == ['$ALEX', '$EAST', '$POTSDAM']" "50 km, nearest first"
OUT=$(ctl "$D" --json market list --near 0,0 --radius-km 20037.5)
assert_json "$OUT" "len(d['posts']) == 4 and '$NOWHERE' not in [p['event_id'] for p in d['posts']]" \
    "the whole Earth: every located post, never the unlocated one"
OUT=$(ctl "$D" --json market list)
assert_json "$OUT" "len(d['posts']) == 5 and all('distance_km' not in p for p in d['posts'])" \
    "no filter: every post, no distance"

step "across the antimeridian"
OUT=$(ctl "$D" --json market list --near -16.80,179.99 --radius-km 5)
assert_json "$OUT" "[p['event_id'] for p in d['posts']] == ['$FIJI']" "2 km across ±180"

step "text output shows the distance"
OUT=$(ctl "$D" market list --near 52.5219,13.4132 --radius-km 50 --order distance)
printf '%s\n' "$OUT" | head -1 | grep -q "DISTANCE" || fail "no DISTANCE column: $OUT"
printf '%s\n' "$OUT" | grep "Leiter am Alex" | grep -Eq "^ +0 m " || fail "Alex is not at 0 m: $OUT"
printf '%s\n' "$OUT" | grep "Potsdam" | grep -Eq "^ +2[0-9]\.[0-9]{2} km " || fail "Potsdam distance: $OUT"
OUT=$(ctl "$D" market list)
printf '%s\n' "$OUT" | head -1 | grep -q "DISTANCE" && fail "a DISTANCE column without --near: $OUT"

step "search --near: relevance within the circle, or nearest first"
OUT=$(ctl "$D" --json market search leiter --near 52.5219,13.4132 --radius-km 2)
assert_json "$OUT" "sorted(p['event_id'] for p in d['posts']) == sorted(['$ALEX', '$EAST'])" "search within 2 km"
assert_json "$OUT" "all('distance_km' in p and 'score' in p for p in d['posts'])" "search carries distance and score"
OUT=$(ctl "$D" --json market search leiter --near 52.39,13.06 --radius-km 100 --order distance)
assert_json "$OUT" "[p['event_id'] for p in d['posts']] == ['$POTSDAM', '$ALEX', '$EAST']" "search nearest first"
OUT=$(ctl "$D" market search leiter --near 52.39,13.06 --radius-km 100 --order distance)
printf '%s\n' "$OUT" | head -1 | grep -q "SCORE *DISTANCE" || fail "search text columns: $OUT"

step "an edited place moves the post; a removed place drops it from the filter"
ctl "$D" market update "$EAST" --location 52.3906,13.0650,Potsdam >/dev/null || fail "update --location"
OUT=$(ctl "$D" --json market list --near 52.5219,13.4132 --radius-km 2)
assert_json "$OUT" "[p['event_id'] for p in d['posts']] == ['$ALEX']" "moved away: no longer within 2 km"
OUT=$(ctl "$D" --json market list --near 52.3906,13.0645 --radius-km 2 --order distance)
assert_json "$OUT" "[p['event_id'] for p in d['posts']] == ['$POTSDAM', '$EAST']" "moved to Potsdam"
ctl "$D" market update "$EAST" --no-location >/dev/null || fail "update --no-location"
OUT=$(ctl "$D" --json market list --near 52.3906,13.0645 --radius-km 2)
assert_json "$OUT" "[p['event_id'] for p in d['posts']] == ['$POTSDAM']" "place removed: left out"
OUT=$(ctl "$D" --json market search leiter --near 52.3906,13.0645 --radius-km 2)
assert_json "$OUT" "[p['event_id'] for p in d['posts']] == ['$POTSDAM']" "search: place removed, left out"

step "bad filters: the node names the field"
expect_exit 1 ctl "$D" --json market list --near 91,13 --radius-km 2
assert_json "$OUT" "d['error'] == 'bad_request' and 'location_filter.center.lat' in d['message']" "lat 91"
expect_exit 1 ctl "$D" --json market list --near 52,-181 --radius-km 2
assert_json "$OUT" "d['error'] == 'bad_request' and 'location_filter.center.lng' in d['message']" "lng -181"
expect_exit 1 ctl "$D" --json market list --near 52,13 --radius-km 0
assert_json "$OUT" "d['error'] == 'bad_request' and 'location_filter.radius_km' in d['message']" "radius 0"
expect_exit 1 ctl "$D" --json market search leiter --near 52,13 --radius-km 30000
assert_json "$OUT" "d['error'] == 'bad_request' and 'location_filter.radius_km' in d['message']" "radius 30000"
expect_exit 1 ctl "$D" --json market list --order distance
assert_json "$OUT" "d['error'] == 'bad_request' and 'location_filter' in d['message']" "distance without a filter"
expect_exit 1 ctl "$D" market list --near 52,13 --radius-km 2 --order farthest
[[ "$OUT" == *'order must be "newest" or "distance"'* ]] || fail "unknown order: $OUT"
expect_exit 1 ctl "$D" --json call market.list '{"location_filter": {"center": {"lat": 52}, "radius_km": 2}}'
assert_json "$OUT" "'location_filter.center.lng is required' in d['message']" "raw call without lng"

step "bad options: hearthctl says what it needs"
expect_exit 2 ctl "$D" market list --near 52.52,13.40
[[ "$OUT" == *"--near needs --radius-km"* ]] || fail "--near alone: $OUT"
expect_exit 2 ctl "$D" market list --radius-km 2
[[ "$OUT" == *"--radius-km needs --near"* ]] || fail "--radius-km alone: $OUT"
expect_exit 2 ctl "$D" market list --near 52.52 --radius-km 2
[[ "$OUT" == *"--near must be LAT,LNG"* ]] || fail "--near without a comma: $OUT"
expect_exit 2 ctl "$D" market list --near 52.52,nan --radius-km 2
[[ "$OUT" == *"--near must be LAT,LNG"* ]] || fail "--near with nan: $OUT"
expect_exit 2 ctl "$D" market search leiter --near 52.52,13.4 --radius-km inf
[[ "$OUT" == *"--radius-km must be"* ]] || fail "--radius-km inf: $OUT"
expect_exit 2 ctl "$D" market list --nera 52.52,13.4 --radius-km 2
[[ "$OUT" == *"did you mean '--near'"* ]] || fail "typo: $OUT"
OUT=$(ctl "$D" market list --help)
[[ "$OUT" == *"--near LAT,LNG"* && "$OUT" == *"--radius-km"* && "$OUT" == *"--order"* ]] || fail "list --help: $OUT"
OUT=$(ctl "$D" market search --help)
[[ "$OUT" == *"--near LAT,LNG"* && "$OUT" == *"relevance"* ]] || fail "search --help: $OUT"

stop_node "$NODE_PID"
passed
