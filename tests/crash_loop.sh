#!/usr/bin/env bash
# crash_loop.sh — crash safety of acknowledged posts: hearthd is
# killed with SIGKILL at random moments while `hearthctl market post` runs
# in a loop; after every restart each acknowledged post must be there and
# the live market view must equal a full re-fold of the log
# (node.verify_views). HEARTH_CRASH_CYCLES cycles (default 25).
TEST_NAME=crash_loop
. "$(dirname "$0")/node_lib.sh"

CYCLES=${HEARTH_CRASH_CYCLES:-25}
# Upper bound of the random extra run time before the kill, in ms: long
# enough for several synced appends, short enough to keep the suite fast.
MAX_EXTRA_MS=${HEARTH_CRASH_MAX_EXTRA_MS:-400}
D="$WORK/node"
ACKED="$WORK/acked"          # event_id per acknowledged post
IDEMPOTENT="$WORK/idempotent" # client_id event_id for posts with a client id
: >"$ACKED"
: >"$IDEMPOTENT"

ctl "$D" init >/dev/null

# post_loop CYCLE: post until $WORK/stop exists; record every acknowledged
# event_id. Every third post carries a client id, to re-check idempotency
# after the crash.
post_loop () {
    local cycle=$1 n=0 out id
    while [ ! -e "$WORK/stop" ]; do
        n=$((n + 1))
        if [ $((n % 3)) = 0 ]; then
            if out=$("$HEARTHCTL" --data-dir "$D" --json --timeout 5000 market post --category offer \
                     --title "crash $cycle/$n" --body "cycle $cycle post $n" --tag crash \
                     --client-id "c$cycle-$n" 2>/dev/null); then
                id=$(printf '%s' "$out" | sed -n 's/.*"event_id":"\([0-9A-Z]*\)".*/\1/p')
                echo "$id" >>"$ACKED"
                echo "c$cycle-$n $id" >>"$IDEMPOTENT"
            fi
        else
            if out=$("$HEARTHCTL" --data-dir "$D" --json --timeout 5000 market post --category info \
                     --title "crash $cycle/$n" --body "cycle $cycle post $n" 2>/dev/null); then
                echo "$out" | sed -n 's/.*"event_id":"\([0-9A-Z]*\)".*/\1/p' >>"$ACKED"
            fi
        fi
    done
}

_acked_at_least () {
    [ "$(wc -l <"$ACKED")" -ge "$1" ]
}

check_all_acked () {
    local list missing
    list=$(ctl "$D" --json market list --tag crash --limit 500)
    # Every acknowledged post must be readable by id (list is capped at
    # 500, get is not).
    missing=$("$PYTHON" - "$D" "$HEARTHCTL" "$ACKED" <<'PY'
import json, subprocess, sys
d, ctl, acked = sys.argv[1], sys.argv[2], sys.argv[3]
ids = [l.strip() for l in open(acked) if l.strip()]
# One events listing gives every stored post id; cheaper than a get each.
out = subprocess.run([ctl, "--data-dir", d, "--json", "events"], capture_output=True, check=True, text=True).stdout
stored = {e["event_id"] for e in json.loads(out)["events"] if e["event_type"] == "market.post.created"}
missing = [i for i in ids if i not in stored]
print(" ".join(missing))
PY
)
    [ -z "$missing" ] || fail "acknowledged posts missing after crash: $missing"
    # And through the market view, for a sample (the last acknowledged).
    local last
    last=$(tail -n 1 "$ACKED")
    if [ -n "$last" ]; then
        assert_json "$(ctl "$D" --json market get "$last")" "d['post']['event_id'] == '$last'" "market get of an acked post"
    fi
    assert_json "$(ctl "$D" call node.verify_views)" "d['output']['equal'] is True" "live view equals a full re-fold"
}

check_idempotent_sample () {
    local line cid id out
    line=$(tail -n 1 "$IDEMPOTENT")
    [ -n "$line" ] || return 0
    cid=${line% *}
    id=${line#* }
    out=$(ctl "$D" --json market post --category offer --title "crash retry" --body "retry" --tag crash --client-id "$cid")
    assert_json "$out" "d['event_id'] == '$id'" "client id $cid still maps to its post after the crash"
}

for cycle in $(seq 1 "$CYCLES"); do
    rm -f "$WORK/stop"
    start_node "$D"
    PID=$NODE_PID
    before=$(wc -l <"$ACKED")
    post_loop "$cycle" &
    LOOP=$!
    # At least one post of this cycle acknowledged, then a random extra
    # moment, so the kill lands anywhere in the append path.
    wait_until 30 _acked_at_least $((before + 1)) || fail "no post acknowledged in cycle $cycle"
    extra_ms=$((RANDOM % MAX_EXTRA_MS))
    sleep "$(printf '0.%03d' "$extra_ms")"
    kill -9 "$PID"
    wait "$PID" 2>/dev/null || true
    # Let the loop see the dead node and finish its current call.
    touch "$WORK/stop"
    wait "$LOOP"
    acked=$(wc -l <"$ACKED")
    start_node "$D"
    PID=$NODE_PID
    check_all_acked
    if [ $((cycle % 5)) = 0 ]; then
        check_idempotent_sample
    fi
    echo "cycle $cycle/$CYCLES: killed after $((acked - before)) acknowledged post(s) (+${extra_ms} ms); $acked acknowledged in all, all present"
    stop_node "$PID"
done

passed
