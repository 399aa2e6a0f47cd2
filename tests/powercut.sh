#!/usr/bin/env bash
# powercut.sh — power loss: a running hearthd loses exactly the bytes it had
# not synced, and still loses no acknowledged post.
#
# Node A runs with tests/fault_shim.c in its "keeps only synced data" mode
# (FAULT_SHIM_SHADOW): at every fsync the shim records the synced bytes of
# the file and the directory's listing. Node B, a peer on an ordinary disk,
# posts while A posts, so A holds received events that it wrote without
# fsync (eventlog.h, "Durability"). Each cycle: both post (every
# acknowledged event id is recorded), A stops posting while B goes on until
# A has received more, then A is SIGKILLed and the "reboot"
# (tests/powercut_restore.py) rebuilds A's event log from the last synced
# state. Checks after each cut, with A started alone (no peers): every post
# A acknowledged is stored, its market view equals a full re-fold
# (node.verify_views), and the received events it lost are counted; then A
# rejoins and must fetch every post B acknowledged again (anti-entropy), and
# both nodes must hold the same events and view digest.
# HEARTH_POWERCUT_CYCLES cycles (default 3; 200 with HEARTH_LONG=1).
TEST_NAME=powercut
. "$(dirname "$0")/node_lib.sh"
. "$(dirname "$0")/mesh_lib.sh"

: "${FAULT_SHIM:?set FAULT_SHIM to the fault_shim library}"
: "${POWERCUT_RESTORE:?set POWERCUT_RESTORE to tests/powercut_restore.py}"
if [ "${HEARTH_LONG:-0}" = 1 ]; then
    CYCLES=${HEARTH_POWERCUT_CYCLES:-200}
else
    CYCLES=${HEARTH_POWERCUT_CYCLES:-3}
fi
# Upper bound of the random extra posting time before A stops, in ms.
MAX_EXTRA_MS=${HEARTH_POWERCUT_MAX_EXTRA_MS:-300}
# A preloaded library comes before a sanitizer runtime: let ASan accept it.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

C="$WORK/c"
SHADOW="$WORK/shadow"
ACKED_A="$WORK/acked_a"
ACKED_B="$WORK/acked_b"
: >"$ACKED_A"
: >"$ACKED_B"
: >"$WORK/empty.cfg"

step "cluster of two; A restarts under the power-loss shim"
cluster up 2 "$C" --sync-interval-ms 300 >"$WORK/up.log" || fail "cluster up: $(cat "$WORK/up.log")"
. "$C/cluster.env"
A=$NODE_1_DIR
B=$NODE_2_DIR
cluster stop "$C" 1

# start_a [ARGS...]: A under the shim; the state on disk now is what a
# power cut falls back to until the next fsync.
start_a () {
    rm -rf "$SHADOW"
    FAULT_SHIM_DIR="$A/db" FAULT_SHIM_SHADOW="$SHADOW" LD_PRELOAD="$FAULT_SHIM" \
        start_node "$A" "$@"
    A_PID=$NODE_PID
}

# post_loop DIR ACKED STOPFILE TAG: post until STOPFILE exists, recording
# every acknowledged event id.
post_loop () {
    local dir=$1 acked=$2 stop=$3 tag=$4 n=0 out
    while [ ! -e "$stop" ]; do
        n=$((n + 1))
        if out=$("$HEARTHCTL" --data-dir "$dir" --json --timeout 5000 market post --category info \
                 --title "$tag $n" --body "power cut test $tag $n" --tag powercut 2>/dev/null); then
            printf '%s\n' "$out" | sed -n 's/.*"event_id":"\([0-9A-Z]*\)".*/\1/p' >>"$acked"
        fi
    done
}

# stored_ids DIR: every stored market post id of the node, one per line.
stored_ids () {
    ctl "$1" --json events | json "'\n'.join(e['event_id'] for e in d['events'] if e['event_type'] == 'market.post.created')"
}

# missing FILE DIR: the ids of FILE the node does not store.
missing () {
    local ids
    ids=$(stored_ids "$2") || return 2
    grep -vxF -f <(printf '%s\n' "$ids") "$1" || true
}

_holds_all () {
    [ -z "$(missing "$1" "$2")" ]
}

_received_at_least () {
    [ "$(stat_of "$A" "d['events']['received_accepted']")" -ge "$1" ]
}

_same_digest () {
    [ "$(digest "$A")" = "$(digest "$B")" ]
}

LOST_RECEIVED=0
DROPPED=0
STARTED=$(date +%s%N)
start_a --listen "tcp://127.0.0.1:$NODE_1_PORT" --sync-interval-ms 300
for cycle in $(seq 1 "$CYCLES"); do
    step "cycle $cycle/$CYCLES"
    rm -f "$WORK/stop_a" "$WORK/stop_b"
    before_a=$(wc -l <"$ACKED_A")
    post_loop "$A" "$ACKED_A" "$WORK/stop_a" "a$cycle" &
    LOOP_A=$!
    post_loop "$B" "$ACKED_B" "$WORK/stop_b" "b$cycle" &
    LOOP_B=$!
    wait_until 30 eval '[ "$(wc -l <"$ACKED_A")" -ge $((before_a + 2)) ]' || fail "A acknowledged no post in cycle $cycle"
    sleep "0.$(printf '%03d' $((RANDOM % MAX_EXTRA_MS)))"
    # A stops posting (its last synced write), B goes on: what A receives
    # from now on sits in its WAL unsynced until the cut.
    touch "$WORK/stop_a"
    wait "$LOOP_A"
    received=$(stat_of "$A" "d['events']['received_accepted']")
    wait_until 30 _received_at_least $((received + 2)) || fail "A received nothing from B in cycle $cycle"
    kill_node "$A_PID"
    touch "$WORK/stop_b"
    wait "$LOOP_B"

    restored=$("$PYTHON" "$POWERCUT_RESTORE" "$A/db" "$SHADOW") || fail "restore after the cut"
    echo "    power cut: $restored"
    dropped=$(sed -n 's/.*dropped \([0-9]*\) byte.*/\1/p' <<<"$restored")
    DROPPED=$((DROPPED + ${dropped:-0}))

    # A alone: nothing from B can come back before we look.
    start_a --config "$WORK/empty.cfg"
    miss=$(missing "$ACKED_A" "$A")
    [ -z "$miss" ] || fail "cycle $cycle: acknowledged posts of A lost at the power cut: $miss"
    assert_json "$(ctl "$A" call node.verify_views)" "d['output']['equal'] is True" "cycle $cycle: A's view equals a full re-fold"
    lost=$(missing "$ACKED_B" "$A" | wc -l)
    LOST_RECEIVED=$((LOST_RECEIVED + lost))
    echo "    A kept all $(wc -l <"$ACKED_A") acknowledged posts; $lost received post(s) lost with the unsynced WAL tail"
    stop_node "$A_PID"

    # A rejoins: anti-entropy fetches what it lost.
    start_a --listen "tcp://127.0.0.1:$NODE_1_PORT" --sync-interval-ms 300
    wait_until "$MESH_DEADLINE_S" _holds_all "$ACKED_B" "$A" \
        || fail "cycle $cycle: A never fetched again: $(missing "$ACKED_B" "$A" | head -5)"
    wait_until "$MESH_DEADLINE_S" _holds_all "$ACKED_A" "$B" || fail "cycle $cycle: B lacks A's posts"
    wait_until "$MESH_DEADLINE_S" _same_digest || fail "cycle $cycle: digests differ: $(digest "$A") vs $(digest "$B")"
done
ELAPSED_MS=$(( ($(date +%s%N) - STARTED) / 1000000 ))
assert_json "$(ctl "$A" call node.verify_views)" "d['output']['equal'] is True" "A's view equals a full re-fold at the end"
echo "powercut: $CYCLES cycle(s), $(wc -l <"$ACKED_A") posts acknowledged by A and $(wc -l <"$ACKED_B") by B," \
     "lost 0; $LOST_RECEIVED received post(s) lost at the cuts and fetched again;" \
     "$DROPPED unsynced byte(s) dropped; ${ELAPSED_MS} ms"
stop_node "$A_PID"
passed
