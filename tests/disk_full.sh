#!/usr/bin/env bash
# disk_full.sh — a full disk is survived: writes are refused with a clear
# "disk full" error (capacity_exceeded), reads and sync to a peer go on,
# view snapshots are skipped (taken every 2 events here) and the daemon
# never aborts; once space is back, posts succeed again without a restart,
# snapshots resume, and nothing acknowledged is lost.
#
# Node A's data dir is a small tmpfs filled up with a file (the real thing);
# where mounting is not allowed, tests/fault_shim.c makes A's writes under
# its event log fail with ENOSPC instead (HEARTH_DISK_FULL_MODE=shim forces
# it). Node B is a peer on an ordinary disk.
TEST_NAME=disk_full
. "$(dirname "$0")/node_lib.sh"
. "$(dirname "$0")/mesh_lib.sh"

: "${FAULT_SHIM:?set FAULT_SHIM to the fault_shim library}"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
C="$WORK/c"
ACKED_A="$WORK/acked_a"
ACKED_B="$WORK/acked_b"
TRIGGER="$WORK/full"
: >"$ACKED_A"
: >"$ACKED_B"
BODY=$(head -c 7900 /dev/zero | tr '\0' 'x')
MOUNTED=""

_disk_full_cleanup () {
    local pid file
    for pid in "${DAEMON_PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    for pid in "${DAEMON_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ -n "$MOUNTED" ]; then
        umount "$MOUNTED" 2>/dev/null || umount -l "$MOUNTED" 2>/dev/null || true
    fi
    _mesh_cleanup
}
trap _disk_full_cleanup EXIT

step "cluster of two; A's data dir on a disk that will fill"
cluster up 2 "$C" --sync-interval-ms 300 >"$WORK/up.log" || fail "cluster up: $(cat "$WORK/up.log")"
. "$C/cluster.env"
A=$NODE_1_DIR
B=$NODE_2_DIR
cluster stop "$C" 1
MODE=${HEARTH_DISK_FULL_MODE:-tmpfs}
if [ "$MODE" = tmpfs ]; then
    mv "$A" "$A.before"
    mkdir "$A"
    if mount -t tmpfs -o size=24m,mode=0700 tmpfs "$A" 2>/dev/null; then
        MOUNTED=$A
        cp -a "$A.before/." "$A/"
    else
        rmdir "$A"
        mv "$A.before" "$A"
        MODE=shim
    fi
fi
echo "    mode: $MODE"
FAULT_SHIM_DIR="$A/db" FAULT_SHIM_ENOSPC="$TRIGGER" LD_PRELOAD="$FAULT_SHIM" \
    start_node "$A" --listen "tcp://127.0.0.1:$NODE_1_PORT" --sync-interval-ms 300 --snapshot-every 2
A_PID=$NODE_PID

# post_a TITLE: one post on A with a large body; records its id if acknowledged.
post_a () {
    local out
    out=$("$HEARTHCTL" --data-dir "$A" --json --timeout 10000 market post --category info \
          --title "$1" --body "$BODY" --tag diskfull 2>&1) || { printf '%s\n' "$out" >"$WORK/last_refusal"; return 1; }
    printf '%s\n' "$out" | sed -n 's/.*"event_id":"\([0-9A-Z]*\)".*/\1/p' >>"$ACKED_A"
}

stored_ids () {
    ctl "$1" --json events | json "'\n'.join(e['event_id'] for e in d['events'] if e['event_type'] == 'market.post.created')"
}

missing () {
    local ids
    ids=$(stored_ids "$2") || return 2
    grep -vxF -f <(printf '%s\n' "$ids") "$1" || true
}

_holds_all () {
    [ -z "$(missing "$1" "$2")" ]
}

_alive_a () {
    kill -0 "$A_PID" 2>/dev/null || fail "hearthd A died: $(tail -n 5 "$A.log")"
}

step "posts before the disk fills reach B"
for i in 1 2 3; do post_a "before $i" || fail "post before the fill: $(cat "$WORK/last_refusal")"; done
wait_until "$MESH_DEADLINE_S" _holds_all "$ACKED_A" "$B" || fail "B lacks A's first posts"
cluster stop "$C" 2

step "fill the disk; A refuses posts with a clear disk-full error"
if [ "$MODE" = tmpfs ]; then
    dd if=/dev/zero of="$A/filler" bs=64k 2>/dev/null || true
else
    echo sst >"$TRIGGER"                # table files fail first: snapshots cannot be written
    for i in 1 2 3 4 5 6; do post_a "sst full $i" || fail "post with only table files failing: $(cat "$WORK/last_refusal")"; done
    : >"$TRIGGER"                       # now every write
fi
refused=0
for i in $(seq 1 3000); do
    if ! post_a "full $i"; then refused=1; break; fi
    _alive_a
done
[ "$refused" = 1 ] || fail "A never refused a post on a full disk"
_alive_a
assert_json "$(cat "$WORK/last_refusal")" "d['error'] == 'capacity_exceeded' and 'disk full' in d['message']" "the refusal names a full disk"
expect_exit 1 ctl "$A" market post --category info --title "refused" --body x
[[ "$OUT" == *"capacity_exceeded"*"disk full"* ]] || fail "human refusal does not say disk full: $OUT"
echo "    $(wc -l <"$ACKED_A") posts acknowledged, then: $(json "d['message']" <"$WORK/last_refusal")"

step "while full: reads served, stats count the episode and the skipped snapshots"
_alive_a
LAST=$(tail -n 1 "$ACKED_A")
assert_json "$(ctl "$A" --json market get "$LAST")" "d['post']['event_id'] == '$LAST'" "market get while full"
assert_json "$(ctl "$A" --json market list --tag diskfull --limit 500)" "len(d['posts']) == $(wc -l <"$ACKED_A")" "market list while full"
assert_json "$(ctl "$A" --json market search before)" "len(d['posts']) == 3" "market search while full"
STATS=$(ctl "$A" --json stats)
assert_json "$STATS" "d['events']['disk_full'] == 1 and d['events']['disk_full_episodes'] >= 1 and d['events']['snapshots_skipped'] >= 1" "disk-full stats"
PROM=$(ctl "$A" stats --prometheus)
grep -q '^hearth_eventlog_disk_full 1$' <<<"$PROM" || fail "prometheus disk_full gauge"
grep -q '^hearth_eventlog_disk_full_episodes_total [1-9]' <<<"$PROM" || fail "prometheus disk_full_episodes"
grep -q '^hearth_eventlog_snapshots_skipped_total [1-9]' <<<"$PROM" || fail "prometheus snapshots_skipped"
if command -v promtool >/dev/null 2>&1; then
    promtool check metrics <<<"$PROM" || fail "promtool check metrics failed"
fi

step "while full: a peer syncs everything A acknowledged from it"
cluster start "$C" 2
wait_until "$MESH_DEADLINE_S" _holds_all "$ACKED_A" "$B" || fail "B did not get A's posts from a full A: $(missing "$ACKED_A" "$B" | head -3)"
OUT=$(ctl "$B" --json market post --category info --title "from B while A is full" --body x) || fail "post on B"
json "d['event_id']" <<<"$OUT" >>"$ACKED_B"
_alive_a

step "space comes back: posts succeed again without a restart"
if [ "$MODE" = tmpfs ]; then
    rm -f "$A/filler"
else
    rm -f "$TRIGGER"
fi
_post_again () {
    kill -0 "$A_PID" 2>/dev/null || return 0     # dead: said below
    post_a "after"
}
wait_until 60 _post_again || fail "A still refuses posts once space is back: $(cat "$WORK/last_refusal")"
_alive_a
assert_json "$(ctl "$A" --json stats)" "d['events']['disk_full'] == 0" "disk_full gauge back to 0"
WRITTEN=$(stat_of "$A" "d['events']['snapshots_written']")
_snapshot_after () {
    kill -0 "$A_PID" 2>/dev/null || return 0     # dead: said below
    post_a "after snapshot" && [ "$(stat_of "$A" "d['events']['snapshots_written']")" -gt "$WRITTEN" ]
}
wait_until 60 _snapshot_after || fail "no view snapshot after space came back"
_alive_a
wait_until "$MESH_DEADLINE_S" _holds_all "$ACKED_B" "$A" || fail "A never stored B's post refused while full"
wait_until "$MESH_DEADLINE_S" _holds_all "$ACKED_A" "$B" || fail "B lacks A's posts made after the disk came back"

step "clean stop, restart: nothing acknowledged lost, views equal a re-fold"
stop_node "$A_PID"
if grep -q "Assertion\|Aborted" "$A.log"; then fail "RocksDB assertion in A's log"; fi
start_node "$A" --listen "tcp://127.0.0.1:$NODE_1_PORT" --sync-interval-ms 300
A_PID=$NODE_PID
miss=$(missing "$ACKED_A" "$A")
[ -z "$miss" ] || fail "acknowledged posts lost: $miss"
assert_json "$(ctl "$A" call node.verify_views)" "d['output']['equal'] is True" "A's view equals a full re-fold"
wait_until "$MESH_DEADLINE_S" eval '[ "$(digest "$A")" = "$(digest "$B")" ]' || fail "digests differ: $(digest "$A") vs $(digest "$B")"
echo "disk_full ($MODE): $(wc -l <"$ACKED_A") posts acknowledged by A, none lost;" \
     "$(stat_of "$A" "d['events']['events_total'] if 'events_total' in d['events'] else d['events']['total']") events stored"
stop_node "$A_PID"
passed
