#!/usr/bin/env bash
# search_dicts.sh — search's dictionaries and synonyms in a running hearthd:
# init writes the default synonyms.txt; dictionary paths come from the
# config (a missing one is logged once at start, the node works); the first
# search loads the lexicon in the background and the stats say so; then a
# German query finds an English post, a compound part finds the compound;
# an edit of synonyms.txt takes effect without a restart; a restart maps
# the compiled cache instead of compiling again. Small dictionary files in
# the Debian formats keep it fast.
TEST_NAME=search_dicts
. "$(dirname "$0")/node_lib.sh"

D="$WORK/node"
step "init writes the default community synonyms"
ctl "$D" init >/dev/null
[ -s "$D/synonyms.txt" ] || fail "no $D/synonyms.txt after init"
grep -q "rollstuhl" "$D/synonyms.txt" || fail "the default synonyms lack the mobility aids"

cat >"$WORK/de-en" <<'DING'
# Version :: test
Rollstuhl {m} | Rollstühle {pl} :: wheelchair | wheelchairs
Strom {m} :: power; electricity
Ausfall {m} :: failure; outage
DING
printf '3\nStrom/S\nAusfall/S\nWasser/N\n' >"$WORK/de.dic"
cat >"$WORK/search.cfg" <<CFG
search
    dict_translations = $WORK/de-en
    dict_synonyms_de = $WORK/missing.dat
    dict_synonyms_en = none
    dict_words_de = $WORK/de.dic
CFG
# Only this test's synonyms, not the default ones
printf '# test\n' >"$D/synonyms.txt"

step "start: the missing dictionary is logged once, the node works"
start_node "$D" --config "$WORK/search.cfg"
PID=$NODE_PID
[ "$(grep -c "synonyms_de: $WORK/missing.dat is missing" "$D.log")" = 1 ] || fail "missing dictionary not logged once"
W=$(ctl "$D" --json market post --category offer --title "Wheelchair available to borrow" --body "Folding, light." | json "d['event_id']")
S=$(ctl "$D" --json market post --category info --title "Stromausfall in der Straße" --body "Seit heute morgen." | json "d['event_id']")
assert_json "$(ctl "$D" --json stats)" "d['market']['search']['lexicon'] == 'not_loaded'" "no lexicon before the first search"

step "the first search starts the load; the stats show it"
ctl "$D" --json market search Rollstuhl >/dev/null
_loaded () {
    ctl "$D" --json market search Rollstuhl >/dev/null
    [ "$(ctl "$D" --json stats | json "d['market']['search']['lexicon']")" = loaded ]
}
wait_until 120 _loaded || fail "the lexicon did not load within 120 s"
assert_json "$(ctl "$D" --json stats)" "d['market']['search']['sources'] == {'translations': True, 'synonyms_de': False, 'synonyms_en': False, 'words_de': True} and d['market']['search']['lexicon_bytes'] > 0 and d['market']['search']['index_bytes'] > 0" "stats of the search resources"
PROM=$(ctl "$D" stats --prometheus)
grep -q "^hearth_market_search_lexicon_bytes [1-9]" <<<"$PROM" || fail "prometheus lacks the lexicon gauge"
grep -q "search dictionaries compiled" "$D.log" || fail "the load is not logged"

step "a German query finds the English post, a part finds the compound"
assert_json "$(ctl "$D" --json market search Rollstuhl)" "[p['event_id'] for p in d['posts']] == ['$W']" "Rollstuhl -> Wheelchair"
assert_json "$(ctl "$D" --json market search Ausfall)" "[p['event_id'] for p in d['posts']] == ['$S']" "Ausfall -> Stromausfall"

step "synonyms.txt is re-read when it changes"
V=$(ctl "$D" --json market post --category offer --title "Velo zu verleihen" --body "Mit Korb." | json "d['event_id']")
assert_json "$(ctl "$D" --json market search Drahtesel)" "d['posts'] == []" "no synonym yet"
printf 'drahtesel, velo, fahrrad\n' >>"$D/synonyms.txt"
_synonym () {
    ctl "$D" --json market search Drahtesel | json "d['posts'][0]['event_id']" | grep -q "$V"
}
wait_until 30 _synonym || fail "the edited synonyms.txt was not used within 30 s"
grep -q "search synonyms: 1 rules" "$D.log" || fail "the reload is not logged"
! grep -q "no embed.text provider" "$D.log" || fail "a search logged the embedding provider warning"

step "a restart maps the compiled cache"
stop_node "$PID"
[ -s "$D/lexicon.bin" ] || fail "no lexicon cache in the data dir"
start_node "$D" --config "$WORK/search.cfg"
ctl "$D" --json market search Rollstuhl >/dev/null
wait_until 60 _loaded || fail "the lexicon did not load after the restart"
grep -q "search dictionaries mapped" "$D.log" || fail "the restart compiled again"
assert_json "$(ctl "$D" --json market search Rollstuhl)" "[p['event_id'] for p in d['posts']] == ['$W']" "Rollstuhl after the restart"
passed
