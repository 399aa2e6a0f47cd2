#!/usr/bin/env bash
# storage_damage.sh — a damaged event log is refused, on every start, and
# never replaced; `hearthctl repair` recovers it into a copy. Real hearthd
# processes on damaged copies of one real data dir (posts acknowledged,
# then SIGKILL, so they are still in the write-ahead log):
#   - CURRENT missing, or damaged: every start and `init` fail naming it,
#     no file is deleted; repair --apply brings every event back;
#   - the WAL truncated to 60 %, or 64 garbage bytes in its middle: every
#     start fails naming the acknowledged events that would be lost;
#     --recover-wal starts on what is readable and reports it in stats;
#     repair keeps the records after the garbage;
#   - an intact WAL after SIGKILL opens with every event, no warning;
#   - a flipped block in a table file: a read reports "corrupt" (not "in
#     use by another process") and `events --json` stays valid JSON.
TEST_NAME=storage_damage
. "$(dirname "$0")/node_lib.sh"

# 100 posts make a WAL of ~75 KB: more than two of its 32 KiB blocks, so
# records after a damaged block exist for repair to keep.
N=${HEARTH_DAMAGE_POSTS:-100}
ORIG="$WORK/orig"

# post_n DIR FROM TO: acknowledged info posts titled tFROM..tTO.
post_n () {
    local dir=$1 i
    for i in $(seq "$2" "$3"); do
        ctl "$dir" --json market post --category info --title "t$i" --body "post $i" >/dev/null \
            || fail "post $i on $dir"
    done
}

# total DIR: events stored (stats) of the running node on DIR.
total () {
    ctl "$1" --json stats | json "d['events']['total']"
}

# copy_of NAME: a fresh copy of the original data dir (no sockets).
copy_of () {
    rm -rf "$WORK/$1"
    cp -a "$ORIG" "$WORK/$1"
    rm -f "$WORK/$1"/*.sock
    echo "$WORK/$1"
}

# wal_of DIR: the data dir's write-ahead log file (exactly one).
wal_of () {
    local logs
    logs=$(ls "$1"/db/*.log)
    [ "$(echo "$logs" | wc -l)" = 1 ] || fail "expected one WAL in $1/db: $logs"
    echo "$logs"
}

# refuses DIR PATTERN [ARGS...]: hearthd on DIR exits 1 and its message
# matches PATTERN.
refuses () {
    local dir=$1 pattern=$2; shift 2
    expect_exit 1 "$HEARTHD" --data-dir "$dir" "$@"
    echo "$OUT" | grep -q -- "$pattern" || fail "hearthd on $dir: no '$pattern' in: $OUT"
}

step "a node with $N acknowledged posts, killed (they stay in the WAL)"
ctl "$ORIG" init >/dev/null
start_node "$ORIG"
post_n "$ORIG" 1 "$N"
EVENTS=$(total "$ORIG")
kill_node "$NODE_PID"
echo "$EVENTS events"

step "intact WAL after SIGKILL: every event, no storage warning"
D=$(copy_of intact)
start_node "$D"
[ "$(total "$D")" = "$EVENTS" ] || fail "intact copy holds $(total "$D") of $EVENTS"
assert_json "$(ctl "$D" --json stats)" "d['storage'] == {'health': 'ok', 'wal_damaged': 0, 'wal_events_lost': 0, 'wal_tail_dropped': 0}" "clean storage stats"
stop_node "$NODE_PID"

step "CURRENT missing: refused on every start and by init; nothing deleted"
D=$(copy_of nocurrent)
rm "$D/db/CURRENT"
before=$(cd "$D/db" && ls *.sst *.log MANIFEST-* | sort)
refuses "$D" "CURRENT is missing"
refuses "$D" "CURRENT is missing"
expect_exit 1 "$HEARTHCTL" --data-dir "$D" init
echo "$OUT" | grep -q "refusing to initialise" || fail "init over a damaged db: $OUT"
after=$(cd "$D/db" && ls *.sst *.log MANIFEST-* | sort)
[ "$before" = "$after" ] || fail "database files changed: [$before] -> [$after]"
[ ! -e "$D/db/CURRENT" ] || fail "a CURRENT was created"

step "repair (dry run) reports every event and changes nothing; --apply brings them back"
out=$(ctl "$D" --json repair)
assert_json "$out" "d['events'] == $EVENTS and d['missing'] == 0 and d['applied'] is False and d['community_id'] is not None" "dry-run repair report"
[ ! -e "$D/db/CURRENT" ] || fail "a dry run changed the db"
ls -d "$D"/db.repair-* >/dev/null 2>&1 && fail "a dry run left its copy"
out=$(ctl "$D" --json repair --apply)
assert_json "$out" "d['events'] == $EVENTS and d['applied'] is True" "repair --apply report"
damaged=$(printf '%s' "$out" | json "d['damaged_kept']")
[ -d "$damaged" ] || fail "the damaged original is not kept at $damaged"
start_node "$D"
[ "$(total "$D")" = "$EVENTS" ] || fail "repaired node holds $(total "$D") of $EVENTS"
assert_json "$(ctl "$D" call node.verify_views)" "d['output']['equal'] is True" "views of the repaired node"
expect_exit 1 "$HEARTHCTL" --data-dir "$D" repair
echo "$OUT" | grep -q "ELOCKED\|stop it first" || fail "repair of a running node: $OUT"
stop_node "$NODE_PID"

step "CURRENT damaged: refused, naming it"
D=$(copy_of badcurrent)
printf 'garbage' >"$D/db/CURRENT"
refuses "$D" "CURRENT is damaged"
refuses "$D" "CURRENT is damaged"
printf 'MANIFEST-999999\n' >"$D/db/CURRENT"
refuses "$D" "MANIFEST-999999, which is missing"

step "WAL truncated to 60 %: refused on every start; --recover-wal reports the loss"
D=$(copy_of truncated)
W=$(wal_of "$D")
size=$(stat -c %s "$W")
truncate -s $((size * 6 / 10)) "$W"
refuses "$D" "acknowledged event(s) after the damage would be lost"
refuses "$D" "acknowledged event(s) after the damage would be lost"
[ "$(stat -c %s "$W")" = $((size * 6 / 10)) ] || fail "a refused start changed the WAL"
start_node "$D" --recover-wal
kept=$(total "$D")
[ "$kept" -lt "$EVENTS" ] || fail "a truncated WAL kept all $EVENTS events?"
stats=$(ctl "$D" --json stats)
assert_json "$stats" "d['storage']['health'] == 'damaged' and d['storage']['wal_damaged'] == 1 and d['storage']['wal_events_lost'] == $EVENTS - $kept" "stats report the loss"
prom=$(ctl "$D" stats --prometheus)
echo "$prom" | grep -qx "hearth_storage_wal_damaged 1" || fail "prometheus gauge: $prom"
grep -q "ERROR.*write-ahead log.*is damaged" "$D.log" || fail "no error logged"
stop_node "$NODE_PID"
start_node "$D"
assert_json "$(ctl "$D" --json stats)" "d['storage']['health'] == 'ok'" "the next start is clean"
stop_node "$NODE_PID"
echo "kept $kept of $EVENTS after truncation"

step "64 garbage bytes mid-WAL: refused; repair keeps the records after them"
D=$(copy_of garbage)
W=$(wal_of "$D")
size=$(stat -c %s "$W")
head -c 64 /dev/urandom | dd of="$W" bs=1 seek=$((size / 2)) conv=notrunc status=none
refuses "$D" "acknowledged event(s) after the damage would be lost"
P=$(copy_of garbage_pit)
cp "$W" "$(wal_of "$P")"
start_node "$P" --recover-wal
pit=$(total "$P")
kill_node "$NODE_PID"
out=$(ctl "$D" --json repair --apply)
salvaged=$(printf '%s' "$out" | json "d['events']")
assert_json "$out" "d['missing'] == $EVENTS - d['events'] and d['method'] == 'salvage'" "repair report adds up"
[ "$salvaged" -gt "$pit" ] || fail "repair kept $salvaged events, no more than point-in-time's $pit"
start_node "$D"
[ "$(total "$D")" = "$salvaged" ] || fail "repaired node holds $(total "$D"), repair said $salvaged"
assert_json "$(ctl "$D" call node.verify_views)" "d['output']['equal'] is True" "views after repair"
stop_node "$NODE_PID"
echo "garbage: point-in-time keeps $pit, repair keeps $salvaged of $EVENTS"

step "a flipped block in a table file: 'corrupt', and valid JSON from events"
D=$(copy_of sst)
# Events 1..N go into table files at this start (recovery flushes the WAL);
# more posts, and the next start flushes those into new files: damage the
# largest of the new ones (the events column family), so the first pages
# of a scan read fine and a later one fails.
start_node "$D"
stop_node "$NODE_PID"
old_ssts=$(cd "$D/db" && ls *.sst | sort)
start_node "$D"
post_n "$D" $((N + 1)) $((N + 150))
stop_node "$NODE_PID"
start_node "$D"
stop_node "$NODE_PID"
new_sst=$(cd "$D/db" && ls -S *.sst | grep -vxF "$old_ssts" | head -n 1)
[ -n "$new_sst" ] || fail "no new table file"
size=$(stat -c %s "$D/db/$new_sst")
for at in 30 40 50 60; do
    printf '\xde\xad\xbe\xef\xde\xad\xbe\xef' | dd of="$D/db/$new_sst" bs=1 seek=$((size * at / 100)) conv=notrunc status=none
done
start_node "$D"
status=0
out=$("$HEARTHCTL" --data-dir "$D" --json events 2>/dev/null) || status=$?
[ "$status" = 1 ] || fail "events over a corrupt block exited $status"
# Which page meets the damaged block depends on how RocksDB laid out and
# compacted the files: the pages read before it (possibly none) come first,
# then the error, in one valid JSON object either way.
assert_json "$out" "isinstance(d.get('events', []), list) and d['error'] == 'internal_error' and d['hearth_error'] == 'ECORRUPT' and 'corrupt' in d['message']" "events --json: the pages read, then the error"
status=0
err=$("$HEARTHCTL" --data-dir "$D" events 2>&1 >/dev/null) || status=$?
[ "$status" = 1 ] || fail "events (text) exited $status"
echo "$err" | grep -q "ECORRUPT" || fail "text error does not name ECORRUPT: $err"
echo "$err" | grep -q "in use" && fail "corruption reported as a lock: $err"
stop_node "$NODE_PID"

# A sanitizer build reports into the nodes' logs, not their exit status.
reports=$(grep -l -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$WORK"/*.log 2>/dev/null || true)
[ -z "$reports" ] || fail "sanitizer reports in: $reports"
passed
