#!/usr/bin/env bash
# sync_progress.sh — a node fetching a few thousand events logs progress
# lines while it syncs ("sync: fetched N events (R/s), ~M remaining from
# PEER", or "none known remaining" at a moment nothing is wanted from a
# link) and a "sync: done" line after, with the interval shortened for the
# test (HEARTH_SYNC_PROGRESS_MS); the wanted gauge is back at 0 and the
# Prometheus text stays promtool-clean, the new per-peer and process
# families included.
TEST_NAME=sync_progress
. "$(dirname "$0")/node_lib.sh"
. "$(dirname "$0")/mesh_lib.sh"
: "${SYNC_SEED:?set SYNC_SEED to bench_sync_seed}"
EVENTS=${EVENTS:-10000}

C="$WORK/c"
step "two members; node 1 gets $EVENTS signed posts while both are down"
cluster up 2 "$C" >"$WORK/up.log" || fail "cluster up: $(cat "$WORK/up.log")"
. "$C/cluster.env"
cluster down "$C" >/dev/null
"$SYNC_SEED" gen "$NODE_1_DIR" "$EVENTS" "$WORK/seed.frames" --tag progress >/dev/null \
    || fail "seed gen"
OUT=$("$SYNC_SEED" ingest "$NODE_1_DIR" "$WORK/seed.frames") || fail "seed ingest: $OUT"
assert_json "$OUT" "d['accepted'] == $EVENTS" "every seeded event accepted"
cluster start "$C" 1 >/dev/null
WANT=$(stat_of "$NODE_1_DIR" "d['events']['total']")

step "node 2 syncs them and logs its progress"
HEARTH_SYNC_PROGRESS_MS=20 cluster start "$C" 2 >/dev/null
_synced () {
    [ "$(stat_of "$NODE_2_DIR" "d['events']['total']")" = "$WANT" ]
}
wait_until "$MESH_DEADLINE_S" _synced || fail "node 2 did not get all $WANT events"
_done () {
    grep -q "INFO  \[gossip\] sync: done, fetched [0-9]* events in" "$C/n2.log"
}
wait_until "$MESH_DEADLINE_S" _done || fail "no 'sync: done' line: $(grep 'sync:' "$C/n2.log")"
# What the progress lines guarantee, whatever the machine's speed: at least
# one (the run lasts over the 20 ms interval: a "done" line comes only after
# one), each naming the peer with the most still wanted at that moment or,
# when nothing is wanted from a link then (a fast sync fetched it all
# between two ticks), saying none is known (gossip_progress.h; s_progress_tick).
PROGRESS=$(grep "INFO  \[gossip\] sync: fetched" "$C/n2.log") || fail "no progress line: $(grep 'sync:' "$C/n2.log")"
BAD=$(grep -vE "INFO  \[gossip\] sync: fetched [0-9]+ events \([0-9]+/s\), (~[0-9]+ remaining from ed25519:[A-Z0-9-]+( \(\+[0-9]+ more\))?|none known remaining \(the next session may find more\))$" \
      <<<"$PROGRESS") || true
[ -z "$BAD" ] || fail "progress lines not in either form: $BAD"
grep 'sync:' "$C/n2.log"

step "in JSON lines the figures are fields as well"
cluster stop "$C" 2 >/dev/null
cluster stop "$C" 1 >/dev/null
"$SYNC_SEED" gen "$NODE_1_DIR" "$EVENTS" "$WORK/more.frames" --tag more >/dev/null || fail "seed gen"
OUT=$("$SYNC_SEED" ingest "$NODE_1_DIR" "$WORK/more.frames") || fail "seed ingest: $OUT"
printf 'log\n    format = json\n' >>"$NODE_2_DIR/hearth.cfg"
cp "$C/n2.log" "$C/n2.log.before"
cluster start "$C" 1 >/dev/null
WANT=$(stat_of "$NODE_1_DIR" "d['events']['total']")
HEARTH_SYNC_PROGRESS_MS=20 cluster start "$C" 2 >/dev/null
wait_until "$MESH_DEADLINE_S" _synced || fail "node 2 did not get all $WANT events"
_done_json () {
    grep -q '"msg":"sync: done, fetched' "$C/n2.log"
}
wait_until "$MESH_DEADLINE_S" _done_json || fail "no JSON 'sync: done' line"
tail -n +"$(( $(wc -l <"$C/n2.log.before") + 1 ))" "$C/n2.log" | "$PYTHON" -c '
import json, sys
lines = [json.loads(l) for l in sys.stdin if l.strip()]
progress = [l for l in lines if l["msg"].startswith("sync: fetched")]
done = [l for l in lines if l["msg"].startswith("sync: done")]
assert progress and done, lines[-5:]
assert all(isinstance(l["sync_fetched"], int) and isinstance(l["sync_rate"], int)
           and isinstance(l["sync_remaining"], int) for l in progress), progress
# The peer with the most still wanted, or "" when none is known at that
# moment (a fast sync): a named peer means something is still wanted.
for l in progress:
    if l["peer"]:
        assert l["peer"].startswith("ed25519:") and l["sync_remaining"] > 0, l
        assert ("remaining from " + l["peer"]) in l["msg"], l
    else:
        assert "none known remaining" in l["msg"], l
assert isinstance(done[-1]["sync_ms"], int) and done[-1]["sync_fetched"] > 0, done
' || fail "JSON progress lines and their fields"

step "the wanted gauge is back at 0; promtool-clean metrics with the new families"
wait_until 20 eval '[ "$(stat_of "$NODE_2_DIR" "d[\"mesh\"][\"sync_wanted\"]")" = 0 ]' \
    || fail "sync_wanted not 0 after the sync"
PROM=$(ctl "$NODE_2_DIR" stats --prometheus)
for family in process_resident_memory_bytes process_cpu_seconds_total process_open_fds \
              process_max_fds process_start_time_seconds hearth_market_view_bytes \
              hearth_mesh_sync_wanted_events; do
    grep -qE "^$family [0-9.e+]+$" <<<"$PROM" || fail "no $family sample"
done
grep -qE '^hearth_mesh_peer_last_seen_timestamp_seconds\{peer="ed25519:[A-Z0-9-]+",link="(in|out)"\} [0-9]+$' \
    <<<"$PROM" || fail "no per-peer last-seen"
grep -qE '^hearth_mesh_peer_lag_events\{peer="ed25519:[A-Z0-9-]+",link="(in|out)"\} -?[0-9]+$' \
    <<<"$PROM" || fail "no per-peer lag"
if command -v promtool >/dev/null; then
    promtool check metrics <<<"$PROM" || fail "promtool check metrics"
fi
assert_json "$(ctl "$NODE_2_DIR" --json stats)" \
    "d['process']['resident_bytes'] > 0 and d['process']['open_fds'] > 0 and d['market']['search']['view_bytes'] > 0" \
    "process and view memory in the JSON stats"
passed
