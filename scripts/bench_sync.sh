#!/usr/bin/env bash
# bench_sync.sh — the sync benchmark (`scripts/bench.sh sync`
# calls it): real hearthd clusters on loopback, made with cluster.sh,
# measured from outside through hearthctl and the nodes' stats.
#
#   scripts/bench_sync.sh [CASE...]      (default: partition both heal5 latency)
#     partition   2 nodes, SHARED events in common, NEW more written on node 1
#                 while node 2 is down; node 2 restarts: time until it holds
#                 all of them, and node 2's mesh counters
#     both        the same with NEW/2 written on each side during the split
#     heal5       5 nodes in a chain split {1,2,3} | {4,5}, HEAL_EACH events
#                 written on each side; the sides restart: time from the
#                 returning link to equal event sets and view digests
#     latency     5 nodes, RATE posts/s on node 1 for LATENCY_SECONDS: accept-to-
#                 visible latency on the four others (bench/bench_sync_latency.c)
#     update      the same, every second call a market.update of the post made
#                 just before it: posts and updates in one run, p50/p99 of each
#                 and the ratio update/post (not in the default run)
#     gap         2 nodes, SHARED events in common except GAP that node 2 lacks
#                 at random places of the order (old events, not the head);
#                 node 2 starts: time until it holds them all, node 2's mesh
#                 counters per reconciliation mode. Seeded once, then run
#                 GAP_RUNS times for each mesh/reconcile setting in GAP_MODES
#                 (auto | v1 | rateless, both nodes; "default" = leave the
#                 config alone) from a copy of the seeded data dirs (not in
#                 the default run)
#     join        an empty node joining a big community: node 1 holds JOIN
#                 seeded posts (signed by node 1; started once, so its views
#                 are folded and snapshotted); node 2 was invited and joined
#                 (it holds only the membership). Each of JOIN_RUNS runs
#                 restores that pair, starts node 2 alone once for its idle
#                 RSS (it cannot link), then starts node 1, then node 2:
#                 time from node 2's launch and from its link-up until it
#                 holds all events, gossip bytes against the seeded bytes,
#                 CPU seconds of both hearthd (utime + stime from /proc, robust
#                 to the box's load, printed with each run), node 2's peak
#                 RSS (VmHWM: every moment, not a sample) over its idle RSS,
#                 its RSS once it holds everything and once the view digests
#                 agree, drops and link-downs; then node 2 restarts on the
#                 synced data: its RSS once it answers (views loaded), the
#                 state it holds for this data, and the join's peak over
#                 that (what joining cost beyond the state). With
#                 JOIN_CACHE=DIR the seeded pair is kept in DIR/join-JOIN and
#                 reused (1M takes minutes to seed; remove it after a change
#                 of the storage format; its ports must still be free). Not
#                 in the default run
#   SHARED (100000), NEW (1000), HEAL_EACH (5000), RATE (100), LATENCY_SECONDS (10),
#   GAP (1000), GAP_SEED (1: which events node 2 lacks), GAP_RUNS (1),
#   GAP_MODES ("auto v1"), JOIN (100000), JOIN_RUNS (1), JOIN_CACHE (unset),
#   JOIN_POLL_S (0.5: node 2's event count is polled this often, so the
#   join's times carry that resolution),
#   RECONCILE (unset: hearthd's default, auto; else
#   --reconcile for every node of the partition, both, heal5 and latency
#   cases) are environment variables; BUILD_DIR (build-bench) holds the Release
#   build; WORK (a fresh temp dir) holds the clusters, removed at the end
#   unless KEEP=1. Results: one line per figure on stdout, and JSON lines
#   in $WORK/results.jsonl (printed at the end).
#
# Shared and side events are made by bench/bench_sync_seed.c (signed by a member,
# loaded through the full receive pipeline into the stopped nodes), so a
# run does not spend minutes on 100k synced appends. "Written during a
# partition" = loaded into one side's node while the other side is down;
# their lamports follow the node's head, so they sit at the head of the
# order exactly as posts made during the split would.
#
# heal5 and latency also report what relaying cost over all five nodes:
# duplicates (events a node received that it already had, from the receive
# pipeline's count), hashes announced and hashes requested because of an
# announcement (lazy push; 0 on builds without it).
#
# Bytes are gossip message bytes as the nodes count them (protobuf frames;
# ZMTP, CURVE and TCP framing not included). Times are wall clock, polled
# every ~50 ms through hearthctl, so they carry that resolution.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
export HEARTHD=${HEARTHD:-$BUILD_DIR/node/hearthd}
export HEARTHCTL=${HEARTHCTL:-$BUILD_DIR/node/hearthctl}
SEED=${SEED:-$BUILD_DIR/bench/bench_sync_seed}
LATENCY=${LATENCY:-$BUILD_DIR/bench/bench_sync_latency}
CLUSTER="$ROOT/scripts/cluster.sh"
SHARED=${SHARED:-100000}
NEW=${NEW:-1000}
HEAL_EACH=${HEAL_EACH:-5000}
RATE=${RATE:-100}
LATENCY_SECONDS=${LATENCY_SECONDS:-10}
GAP=${GAP:-1000}
GAP_SEED=${GAP_SEED:-1}
GAP_RUNS=${GAP_RUNS:-1}
GAP_MODES=${GAP_MODES:-auto v1}
JOIN=${JOIN:-100000}
JOIN_RUNS=${JOIN_RUNS:-1}
JOIN_POLL_S=${JOIN_POLL_S:-0.5}
export CLUSTER_DEADLINE_S=${CLUSTER_DEADLINE_S:-600}
if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi

for bin in "$HEARTHD" "$HEARTHCTL" "$SEED" "$LATENCY"; do
    [ -x "$bin" ] || { echo "bench_sync: $bin missing: build with scripts/bench.sh sync" >&2; exit 1; }
done
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/hearth-bench-sync-XXXXXX")}
RESULTS="$WORK/results.jsonl"
: >"$RESULTS"
CLUSTERS=()
_cleanup () {
    local c
    for c in "${CLUSTERS[@]}"; do
        bash "$CLUSTER" down "$c" >/dev/null 2>&1 || true
    done
    [ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"
}
trap _cleanup EXIT

now_ms () { echo $(( $(date +%s%N) / 1000000 )); }
jget () { "$PYTHON" -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
ctl () { local d=$1; shift; "$HEARTHCTL" --data-dir "$d" --timeout 60000 "$@"; }
events_of () { ctl "$1" --json stats | jget "d['events']['total']"; }
cluster () { bash "$CLUSTER" "$@"; }
# cluster_up N DIR [--chain]: a cluster whose nodes run with $RECONCILE.
cluster_up () { bash "$CLUSTER" up "$@" ${RECONCILE:+-- --reconcile "$RECONCILE"}; }

# record NAME KEY=VALUE...: a JSON line in $RESULTS and a readable line.
record () {
    local name=$1; shift
    "$PYTHON" - "$name" "$@" >>"$RESULTS" <<'PY'
import json, sys
d = {"case": sys.argv[1]}
for kv in sys.argv[2:]:
    k, v = kv.split("=", 1)
    try:
        d[k] = json.loads(v)
    except ValueError:
        d[k] = v
print(json.dumps(d))
PY
    echo "  $name: $*"
}

# link_up_ms LOG: wall ms of the last "link … up" line of a node's log (the
# log's timestamps are UTC with ms), or 0.
link_up_ms () {
    "$PYTHON" - "$1" <<'PY'
import calendar, re, sys, time
last = 0
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{3})Z .*\blink (to|from) .* up$", line.rstrip())
    if m:
        last = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")) * 1000 + int(m.group(2))
print(last)
PY
}

# mesh_of DIR: "rounds reconcile_bytes bytes_in bytes_out" of a node.
mesh_of () {
    ctl "$1" --json stats | jget "' '.join(str(d['mesh'][k]) for k in ('reconcile_rounds','reconcile_bytes','bytes_in','bytes_out'))"
}

# relay_of DIR: "duplicates announce_sent announce_requested bytes_out" of a
# node: events it received that it already had (the receive pipeline's
# duplicate count, so nodes without lazy push report it too) and its
# lazy-push counters (0 on nodes without them).
relay_of () {
    ctl "$1" --json stats | jget "' '.join(str(x) for x in (d['events']['rejected'].get('duplicate', 0), d['mesh'].get('announce_sent', 0), d['mesh'].get('announce_requested', 0), d['mesh']['bytes_out']))"
}

# relay_sum DIR...: relay_of summed over nodes.
relay_sum () {
    local dup=0 ann=0 req=0 out=0 d a r o dir
    for dir in "$@"; do
        read -r d a r o <<<"$(relay_of "$dir")"
        dup=$((dup + d)); ann=$((ann + a)); req=$((req + r)); out=$((out + o))
    done
    echo "$dup $ann $req $out"
}

# modes_of DIR: "sessions rateless round_trips fallbacks switches
# reconcile_bytes rateless_bytes bytes_in bytes_out" of a node.
modes_of () {
    ctl "$1" --json stats | jget "' '.join(str(d['mesh'][k]) for k in ('reconcile_rounds','reconcile_rateless','reconcile_round_trips','reconcile_fallbacks','reconcile_switches','reconcile_bytes','reconcile_bytes_rateless','bytes_in','bytes_out'))"
}

# wait_events DIR COUNT [SECONDS]: poll every SECONDS (0.02) until the node
# holds COUNT events. (Each poll is a stats call, which counts the node's
# active posts: O(posts), so the join case polls less often.)
wait_events () {
    local dir=$1 want=$2 every=${3:-0.02} start
    start=$(now_ms)
    until [ "$(events_of "$dir" 2>/dev/null || echo 0)" -ge "$want" ]; do
        [ $(( $(now_ms) - start )) -lt 1800000 ] || { echo "bench_sync: $dir never reached $want events" >&2; exit 1; }
        sleep "$every"
    done
}

# seed DIR COUNT TAG: sign COUNT posts as DIR's node (stopped) into a frames
# file; prints the frames file and the bytes "FILE BYTES".
seed_gen () {
    local dir=$1 count=$2 tag=$3 out
    out=$("$SEED" gen "$dir" "$count" "$WORK/$tag.frames" --tag "$tag")
    echo "$WORK/$tag.frames $(echo "$out" | jget "d['bytes']")"
}

seed_ingest () {
    "$SEED" ingest "$1" "$2" >/dev/null
}

case_partition () {
    local mode=$1
    local c="$WORK/partition-$mode"
    echo "== $mode: 2 nodes, $SHARED shared, $NEW new written during a partition ($([ "$mode" = both ] && echo "half on each side" || echo "all on node 1"))"
    CLUSTERS+=("$c")
    cluster_up 2 "$c" >/dev/null
    . "$c/cluster.env"
    cluster down "$c" >/dev/null
    local t0 shared_file shared_bytes
    t0=$(now_ms)
    read -r shared_file shared_bytes <<<"$(seed_gen "$NODE_1_DIR" "$SHARED" shared-$mode)"
    seed_ingest "$NODE_1_DIR" "$shared_file"
    seed_ingest "$NODE_2_DIR" "$shared_file"
    rm -f "$shared_file"
    echo "  seeded $SHARED shared events ($shared_bytes bytes) into both nodes in $(( $(now_ms) - t0 )) ms"
    # Both start with identical sets: what a no-difference sync costs. (The
    # first start after seeding folds the seeded events into the views, so
    # this time is mostly that, not sync.)
    cluster start "$c" 1
    t0=$(now_ms)
    cluster start "$c" 2
    cluster wait-converged "$c" 600
    local base
    base=$(events_of "$NODE_1_DIR")
    read -r rounds rbytes bin bout <<<"$(mesh_of "$NODE_2_DIR")"
    record "$mode.identical" shared="$base" ms_to_equal_digests_incl_first_fold=$(( $(now_ms) - t0 )) \
        reconcile_rounds="$rounds" reconcile_bytes="$rbytes" bytes_total=$((bin + bout))
    cluster stop "$c" 2
    cluster stop "$c" 1
    # The partition: node 2 is down while node 1 (and, for "both", node 2
    # alone afterwards) write.
    local new1=$NEW new2=0 f1 b1 f2 b2=0
    if [ "$mode" = both ]; then new1=$((NEW / 2)); new2=$((NEW - new1)); fi
    read -r f1 b1 <<<"$(seed_gen "$NODE_1_DIR" "$new1" new1-$mode)"
    seed_ingest "$NODE_1_DIR" "$f1"
    if [ "$new2" -gt 0 ]; then
        read -r f2 b2 <<<"$(seed_gen "$NODE_2_DIR" "$new2" new2-$mode)"
        seed_ingest "$NODE_2_DIR" "$f2"
    fi
    local want=$((base + NEW))
    # Heal: node 1 runs; node 2 starts (its process start is in the time).
    cluster start "$c" 1
    t0=$(now_ms)
    cluster start "$c" 2
    local t_up
    t_up=$(now_ms)
    wait_events "$NODE_2_DIR" "$want"
    local t_have
    t_have=$(now_ms)
    wait_events "$NODE_1_DIR" "$want"
    cluster wait-converged "$c" 600
    local t_equal t_link
    t_equal=$(now_ms)
    t_link=$(link_up_ms "$c/n2.log")
    read -r rounds rbytes bin bout <<<"$(mesh_of "$NODE_2_DIR")"
    local modes
    read -r -a modes <<<"$(modes_of "$NODE_2_DIR")"
    local minimal=$((b1 + b2))
    record "$mode.heal" shared="$base" new="$NEW" node2_start_ms=$((t_up - t0)) \
        ms_until_all_events=$((t_have - t0)) ms_link_up_to_all_events=$((t_have - t_link)) \
        ms_to_equal_digests=$((t_equal - t0)) \
        reconcile_rounds="$rounds" rateless_sessions="${modes[1]}" round_trips="${modes[2]}" \
        switches="${modes[4]}" reconcile_bytes="$rbytes" bytes_in="$bin" bytes_out="$bout" \
        bytes_total=$((bin + bout)) minimal_bytes="$minimal" \
        reconcile_pct_of_minimal="$("$PYTHON" -c "print(round(100.0*$rbytes/$minimal, 2))")" \
        total_over_minimal="$("$PYTHON" -c "print(round(($bin+$bout)/$minimal, 3))")"
    cluster down "$c" >/dev/null
}

# set_mode DIR MODE: the node's reconciliation setting (mesh/reconcile in
# its hearth.cfg); "default" leaves the file as it is.
set_mode () {
    [ "$2" = default ] || printf 'mesh\n    reconcile = %s\n' "$2" >>"$1/hearth.cfg"
}

case_gap () {
    local c="$WORK/gap"
    echo "== gap: 2 nodes, $SHARED shared, node 2 lacks $GAP of them at random places (seed $GAP_SEED)"
    CLUSTERS+=("$c")
    cluster up 2 "$c" >/dev/null
    . "$c/cluster.env"
    cluster down "$c" >/dev/null
    local t0 shared_file shared_bytes out minimal
    t0=$(now_ms)
    read -r shared_file shared_bytes <<<"$(seed_gen "$NODE_1_DIR" "$SHARED" shared-gap)"
    out=$("$SEED" ingest "$NODE_1_DIR" "$shared_file")
    [ "$(echo "$out" | jget "d['accepted']")" = "$SHARED" ] || { echo "bench_sync: gap: node 1 $out" >&2; exit 1; }
    out=$("$SEED" ingest "$NODE_2_DIR" "$shared_file" --skip "$GAP" --skip-seed "$GAP_SEED")
    rm -f "$shared_file"
    minimal=$(echo "$out" | jget "d['skipped_bytes']")
    [ "$(echo "$out" | jget "d['skipped']")" = "$GAP" ] && [ "$(echo "$out" | jget "d['accepted']")" = $((SHARED - GAP)) ] \
        || { echo "bench_sync: gap: node 2 $out" >&2; exit 1; }
    echo "  seeded $SHARED shared events ($shared_bytes bytes) into node 1 and all but $GAP" \
         "($minimal bytes) into node 2 in $(( $(now_ms) - t0 )) ms"
    # Every run starts from these seeded, never started data dirs.
    local saved="$WORK/gap-seeded"
    mkdir -p "$saved"
    cp -a "$NODE_1_DIR" "$saved/n1"
    cp -a "$NODE_2_DIR" "$saved/n2"
    local mode run first=1
    for mode in $GAP_MODES; do
        for run in $(seq 1 "$GAP_RUNS"); do
            if [ "$first" = 0 ]; then
                rm -rf "$NODE_1_DIR" "$NODE_2_DIR"
                cp -a "$saved/n1" "$NODE_1_DIR"
                cp -a "$saved/n2" "$NODE_2_DIR"
            fi
            first=0
            set_mode "$NODE_1_DIR" "$mode"
            set_mode "$NODE_2_DIR" "$mode"
            echo "  run $run, reconcile = $mode (load $(cut -d' ' -f1-3 /proc/loadavg))"
            cluster start "$c" 1
            local want
            want=$(events_of "$NODE_1_DIR")
            # Node 2 dials node 1 and initiates: the path of a node that
            # restarts with the same log less GAP old events.
            t0=$(now_ms)
            cluster start "$c" 2
            local t_up t_have t_equal t_link
            t_up=$(now_ms)
            wait_events "$NODE_2_DIR" "$want"
            t_have=$(now_ms)
            local sessions rateless trips fallbacks switches rbytes rlbytes bin bout
            read -r sessions rateless trips fallbacks switches rbytes rlbytes bin bout <<<"$(modes_of "$NODE_2_DIR")"
            local n1
            n1=$(modes_of "$NODE_1_DIR")
            cluster wait-converged "$c" 600
            t_equal=$(now_ms)
            t_link=$(link_up_ms "$c/n2.log")
            record "gap.$mode" shared="$want" gap="$GAP" run="$run" node2_start_ms=$((t_up - t0)) \
                ms_link_up_to_all_events=$((t_have - t_link)) ms_until_all_events=$((t_have - t0)) \
                ms_to_equal_digests=$((t_equal - t0)) \
                sessions="$sessions" rateless_sessions="$rateless" round_trips="$trips" \
                fallbacks="$fallbacks" switches="$switches" reconcile_bytes="$rbytes" reconcile_bytes_rateless="$rlbytes" \
                reconcile_bytes_v1=$((rbytes - rlbytes)) bytes_in="$bin" bytes_out="$bout" \
                bytes_total=$((bin + bout)) minimal_bytes="$minimal" \
                reconcile_over_minimal="$("$PYTHON" -c "print(round($rbytes/$minimal, 3))")" \
                total_over_minimal="$("$PYTHON" -c "print(round(($bin+$bout)/$minimal, 3))")" \
                node1_counters="\"$n1\""
            cluster stop "$c" 2
            cluster stop "$c" 1
        done
    done
    rm -rf "$saved"
    cluster down "$c" >/dev/null
}

# ---- join: an empty node joining a big community ---------------------------

# proc_kb PID FIELD: a "kB" field of /proc/PID/status (VmRSS, VmHWM), in KiB.
proc_kb () { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
# cpu_ticks PID: utime + stime of a process so far, in clock ticks.
cpu_ticks () { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
ticks_s () { "$PYTHON" -c "print(round($1 / $(getconf CLK_TCK), 2))"; }
mib () { "$PYTHON" -c "print(round($1 / 1024.0, 1))"; }
load_now () { cut -d' ' -f1 /proc/loadavg; }

# ports_free PORT...: succeeds if every port can be bound on 127.0.0.1.
ports_free () {
    "$PYTHON" - "$@" <<'PY'
import socket, sys
for p in sys.argv[1:]:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", int(p)))
    except OSError:
        sys.exit(1)
    finally:
        s.close()
PY
}

# join_seed DIR: a 2-node cluster in DIR whose node 1 holds JOIN seeded
# posts and has started once on them (views folded, snapshotted at its
# stop), and whose node 2 was invited, joined and holds only the
# membership; both stopped. DIR/seed.env: JOIN_BYTES (the seeded
# SignedEvents' summed size, the minimal bytes to move them), JOIN_COMMIT.
join_seed () {
    local c=$1 t0 file bytes out t_seeded t_fold
    cluster up 2 "$c" >/dev/null
    . "$c/cluster.env"
    cluster down "$c" >/dev/null
    t0=$(now_ms)
    read -r file bytes <<<"$(seed_gen "$NODE_1_DIR" "$JOIN" join)"
    out=$("$SEED" ingest "$NODE_1_DIR" "$file")
    rm -f "$file"
    [ "$(echo "$out" | jget "d['accepted']")" = "$JOIN" ] || { echo "bench_sync: join: node 1 $out" >&2; exit 1; }
    t_seeded=$(now_ms)
    cluster start "$c" 1
    t_fold=$(now_ms)
    cluster stop "$c" 1
    echo "JOIN_BYTES=$bytes" >"$c/seed.env"
    echo "JOIN_COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" >>"$c/seed.env"
    echo "  seeded $JOIN events ($bytes bytes) into node 1 in $((t_seeded - t0)) ms (gen + ingest);" \
         "its first start (views folded) $((t_fold - t_seeded)) ms"
}

# join_restore SRC DST: a copy of the seeded cluster SRC at DST, its
# cluster.env pointed at DST and at this run's binaries.
join_restore () {
    local src=$1 dst=$2 old
    rm -rf "$dst"
    cp -a "$src" "$dst"
    rm -f "$dst"/n*.pid "$dst"/n*.log
    old=$(sed -n "s/^CLUSTER_DIR='\(.*\)'$/\1/p" "$dst/cluster.env")
    sed -i -e "s|'$old/|'$dst/|; s|^CLUSTER_DIR=.*|CLUSTER_DIR='$dst'|" \
        -e "s|^HEARTHD=.*|HEARTHD='$HEARTHD'|; s|^HEARTHCTL=.*|HEARTHCTL='$HEARTHCTL'|" "$dst/cluster.env"
}

case_join () {
    local c="$WORK/join" seeded
    echo "== join: an empty node 2 joins node 1's $JOIN events ($JOIN_RUNS run(s)${JOIN_CACHE:+, cache $JOIN_CACHE})"
    if [ -n "${JOIN_CACHE:-}" ]; then
        seeded="$JOIN_CACHE/join-$JOIN"
        if [ -f "$seeded/seed.env" ]; then
            echo "  seeded cluster from the cache: $seeded ($(grep JOIN_COMMIT "$seeded/seed.env"))"
        else
            rm -rf "$seeded"
            mkdir -p "$JOIN_CACHE"
            CLUSTERS+=("$seeded")
            join_seed "$seeded"
        fi
    else
        seeded="$WORK/join-seeded"
        CLUSTERS+=("$seeded")
        join_seed "$seeded"
    fi
    CLUSTERS+=("$c")
    . "$seeded/seed.env"
    local run
    for run in $(seq 1 "$JOIN_RUNS"); do
        join_restore "$seeded" "$c"
        . "$c/cluster.env"
        ports_free "$NODE_1_PORT" "$NODE_2_PORT" \
            || { echo "bench_sync: join: port $NODE_1_PORT or $NODE_2_PORT is taken; remove $seeded to seed anew" >&2; exit 1; }
        echo "  run $run (load $(cut -d' ' -f1-3 /proc/loadavg))"
        # Node 2's idle RSS: the same empty node started alone (node 1 is
        # down, so it never links), once it answers; then stopped.
        cluster start "$c" 2
        ctl "$NODE_2_DIR" --json stats >/dev/null
        local p2 idle_kb
        p2=$(cat "$c/n2.pid")
        idle_kb=$(proc_kb "$p2" VmRSS)
        cluster stop "$c" 2
        rm -f "$c/n2.log"
        # Node 1 serves; node 2 starts and joins (its start is in the time).
        cluster start "$c" 1
        local p1 want cpu1_0 load0 t0 t_up t_have t_link
        p1=$(cat "$c/n1.pid")
        want=$(events_of "$NODE_1_DIR")
        cpu1_0=$(cpu_ticks "$p1")
        load0=$(load_now)
        t0=$(now_ms)
        cluster start "$c" 2
        t_up=$(now_ms)
        p2=$(cat "$c/n2.pid")
        wait_events "$NODE_2_DIR" "$want" "$JOIN_POLL_S"
        t_have=$(now_ms)
        local hwm_kb rss_kb cpu1 cpu2 load1 rounds rbytes bin bout
        hwm_kb=$(proc_kb "$p2" VmHWM)
        rss_kb=$(proc_kb "$p2" VmRSS)
        cpu1=$(( $(cpu_ticks "$p1") - cpu1_0 ))
        cpu2=$(cpu_ticks "$p2")
        load1=$(load_now)
        t_link=$(link_up_ms "$c/n2.log")
        read -r rounds rbytes bin bout <<<"$(mesh_of "$NODE_2_DIR")"
        # (Every digest poll of wait-converged serializes both nodes' views.)
        cluster wait-converged "$c" 600
        local t_equal settled_kb hwm2_kb drops1 drops2 downs
        t_equal=$(now_ms)
        settled_kb=$(proc_kb "$p2" VmRSS)
        hwm2_kb=$(proc_kb "$p2" VmHWM)
        drops1=$(ctl "$NODE_1_DIR" --json stats | jget "d['mesh']['frames_dropped']")
        drops2=$(ctl "$NODE_2_DIR" --json stats | jget "d['mesh']['frames_dropped']")
        # Link-downs during the join: node 1 drops an in link silent for
        # 15 s (GOSSIP_LINK_SILENT_MS), e.g. a node 2 whose loop stalled.
        downs=$(cat "$c/n1.log" "$c/n2.log" | grep -c ' link .* down$' || true)
        record "join.run$run" events="$want" seeded_bytes="$JOIN_BYTES" load_at_start="$load0" load_at_end="$load1" \
            node2_start_ms=$((t_up - t0)) ms_until_all_events=$((t_have - t0)) \
            ms_link_up_to_all_events=$((t_have - t_link)) ms_to_equal_digests=$((t_equal - t0)) \
            cpu_s_node2="$(ticks_s "$cpu2")" cpu_s_node1_serving="$(ticks_s "$cpu1")" \
            reconcile_rounds="$rounds" reconcile_bytes="$rbytes" bytes_in="$bin" bytes_out="$bout" \
            bytes_total=$((bin + bout)) total_over_seeded="$("$PYTHON" -c "print(round(($bin+$bout)/$JOIN_BYTES, 3))")" \
            node2_idle_rss_mib="$(mib "$idle_kb")" node2_peak_rss_mib="$(mib "$hwm_kb")" \
            node2_peak_extra_mib="$(mib $((hwm_kb - idle_kb)))" node2_rss_at_all_events_mib="$(mib "$rss_kb")" \
            node2_rss_at_equal_digests_mib="$(mib "$settled_kb")" node2_peak_incl_digest_polls_mib="$(mib "$hwm2_kb")" \
            frames_dropped_node1="$drops1" frames_dropped_node2="$drops2" link_down_lines="$downs"
        # A restart on the synced data: views from the snapshot its stop
        # wrote, the reconciliation store from the log. What it holds is
        # the node's state for this data, however it got it (the market
        # view is in memory by design); the join's peak over it is what
        # joining itself cost (node2_join_peak_over_restart_mib).
        # wrote, the reconciliation store from the log. Its RSS is read as
        # soon as it answers (its views are loaded by then), before any
        # digest poll (node.view_digest hashes the view record by record,
        # but reads the whole view).
        cluster stop "$c" 2
        local t_r0 t_r1 r_rss r_hwm r_cpu
        t_r0=$(now_ms)
        cluster start "$c" 2
        t_r1=$(now_ms)
        p2=$(cat "$c/n2.pid")
        r_rss=$(proc_kb "$p2" VmRSS)
        r_hwm=$(proc_kb "$p2" VmHWM)
        r_cpu=$(cpu_ticks "$p2")
        cluster wait-converged "$c" 600
        record "join.run$run.restart" node2_restart_ms=$((t_r1 - t_r0)) load="$(load_now)" \
            cpu_s_node2_restart="$(ticks_s "$r_cpu")" \
            node2_rss_mib="$(mib "$r_rss")" node2_rss_extra_mib="$(mib $((r_rss - idle_kb)))" \
            node2_join_peak_over_restart_mib="$(mib $((hwm_kb - r_rss)))" \
            node2_peak_rss_mib="$(mib "$r_hwm")" \
            node2_rss_after_digest_polls_mib="$(mib "$(proc_kb "$p2" VmRSS)")"
        cluster down "$c" >/dev/null
    done
    [ -n "${JOIN_CACHE:-}" ] || rm -rf "$seeded"
}

case_heal5 () {
    local c="$WORK/heal5"
    echo "== heal5: 5 nodes in a chain, split {1,2,3} | {4,5}, $HEAL_EACH events written on each side"
    CLUSTERS+=("$c")
    cluster_up 5 "$c" --chain >/dev/null
    . "$c/cluster.env"
    local base
    base=$(events_of "$NODE_1_DIR")
    # Side B down; side A writes (loaded into node 1, spread by the side).
    cluster stop "$c" 4
    cluster stop "$c" 5
    cluster stop "$c" 1
    local fa ba fb bb
    read -r fa ba <<<"$(seed_gen "$NODE_1_DIR" "$HEAL_EACH" sideA)"
    seed_ingest "$NODE_1_DIR" "$fa"
    cluster start "$c" 1
    cluster wait-converged "$c" 600 1 2 3
    # Side A down (restarted later, it knows only its configured peers);
    # side B writes.
    cluster stop "$c" 1
    cluster stop "$c" 2
    cluster stop "$c" 3
    read -r fb bb <<<"$(seed_gen "$NODE_4_DIR" "$HEAL_EACH" sideB)"
    seed_ingest "$NODE_4_DIR" "$fb"
    cluster start "$c" 4
    cluster start "$c" 5
    cluster wait-converged "$c" 600 4 5
    [ "$(events_of "$NODE_5_DIR")" = $((base + HEAL_EACH)) ] || { echo "side B did not converge" >&2; exit 1; }
    # Heal: side A comes back; node 4 dials node 3 (its configured peer).
    local t0 t_link t_equal
    t0=$(now_ms)
    cluster start "$c" 1
    cluster start "$c" 2
    cluster start "$c" 3
    local t_started
    t_started=$(now_ms)
    until ctl "$NODE_4_DIR" peers --json | jget "any(p['connected'] and p['node_id'] == '$NODE_3_ID' for p in d['peers'])" | grep -qx True; do
        sleep 0.02
    done
    t_link=$(now_ms)
    cluster wait-converged "$c" 600
    t_equal=$(now_ms)
    local total_bytes=0 i sessions=0 rateless=0 switches=0 fallbacks=0 rbytes_all=0
    for i in 1 2 3 4 5; do
        local dir_var="NODE_${i}_DIR" m
        read -r rounds rbytes bin bout <<<"$(mesh_of "${!dir_var}")"
        total_bytes=$((total_bytes + bout))
        read -r -a m <<<"$(modes_of "${!dir_var}")"
        sessions=$((sessions + m[0])); rateless=$((rateless + m[1])); fallbacks=$((fallbacks + m[3]))
        switches=$((switches + m[4])); rbytes_all=$((rbytes_all + m[5]))
    done
    [ "$(events_of "$NODE_1_DIR")" = $((base + 2 * HEAL_EACH)) ] || { echo "heal5: wrong event count" >&2; exit 1; }
    local dup ann req sent
    read -r dup ann req sent <<<"$(relay_sum "$NODE_1_DIR" "$NODE_2_DIR" "$NODE_3_DIR" "$NODE_4_DIR" "$NODE_5_DIR")"
    record heal5 each_side="$HEAL_EACH" side_a_start_ms=$((t_started - t0)) \
        ms_link_back_after_start=$((t_link - t0)) ms_equal_after_link=$((t_equal - t_link)) \
        ms_equal_after_start=$((t_equal - t0)) bytes_sent_all_nodes="$total_bytes" \
        sessions_all_nodes="$sessions" rateless_all_nodes="$rateless" switches_all_nodes="$switches" \
        fallbacks_all_nodes="$fallbacks" reconcile_bytes_all_nodes="$rbytes_all" \
        minimal_bytes_one_copy=$((ba + bb)) \
        minimal_bytes_all_nodes=$((3 * bb + 2 * ba)) \
        total_over_minimal="$("$PYTHON" -c "print(round($total_bytes/$((3 * bb + 2 * ba)), 2))")" \
        duplicates_all_nodes="$dup" announced_all_nodes="$ann" announce_requested_all_nodes="$req"
    cluster down "$c" >/dev/null
}

case_latency () {
    local c="$WORK/latency"
    echo "== latency: 5 nodes, $RATE posts/s on node 1 for $LATENCY_SECONDS s"
    CLUSTERS+=("$c")
    cluster_up 5 "$c" >/dev/null
    . "$c/cluster.env"
    local out baseline
    # Baseline: the same probe watching only the posting node itself, i.e.
    # what the measurement adds (polling delay and one control round trip).
    baseline=$("$LATENCY" "$NODE_1_DIR" "$RATE" 2 "$NODE_1_DIR")
    out=$("$LATENCY" "$NODE_1_DIR" "$RATE" "$LATENCY_SECONDS" "$NODE_2_DIR" "$NODE_3_DIR" "$NODE_4_DIR" "$NODE_5_DIR")
    echo "$out" >>"$RESULTS"
    record latency.summary rate="$RATE" seconds="$LATENCY_SECONDS" \
        p50_ms="$(echo "$out" | jget "d['p50_ms']")" p90_ms="$(echo "$out" | jget "d['p90_ms']")" \
        p99_ms="$(echo "$out" | jget "d['p99_ms']")" max_ms="$(echo "$out" | jget "d['max_ms']")" \
        missing="$(echo "$out" | jget "d['pairs_missing']")" \
        probe_baseline_p50_ms="$(echo "$baseline" | jget "d['p50_ms']")" \
        probe_baseline_p99_ms="$(echo "$baseline" | jget "d['p99_ms']")"
    # What relaying cost over the whole case (the baseline's posts included).
    local dup ann req sent
    read -r dup ann req sent <<<"$(relay_sum "$NODE_1_DIR" "$NODE_2_DIR" "$NODE_3_DIR" "$NODE_4_DIR" "$NODE_5_DIR")"
    record latency.relay posts_incl_baseline="$(( $(echo "$out" | jget "d['posts']") + $(echo "$baseline" | jget "d['posts']") ))" \
        duplicates_all_nodes="$dup" announced_all_nodes="$ann" announce_requested_all_nodes="$req" \
        bytes_sent_all_nodes="$sent"
    cluster down "$c" >/dev/null
}

# Posts and updates in one run (UPDATES=1): the update's push latency
# against the post's, same nodes, same load, same probe.
case_update () {
    local c="$WORK/update"
    echo "== update: 5 nodes, $RATE calls/s on node 1 (every second a market.update) for $LATENCY_SECONDS s"
    CLUSTERS+=("$c")
    cluster_up 5 "$c" >/dev/null
    . "$c/cluster.env"
    local out
    out=$(UPDATES=1 "$LATENCY" "$NODE_1_DIR" "$RATE" "$LATENCY_SECONDS" "$NODE_2_DIR" "$NODE_3_DIR" "$NODE_4_DIR" "$NODE_5_DIR")
    echo "$out" >>"$RESULTS"
    record update.summary rate="$RATE" seconds="$LATENCY_SECONDS" \
        post_pairs="$(echo "$out" | jget "d['post']['pairs']")" \
        post_p50_ms="$(echo "$out" | jget "d['post']['p50_ms']")" post_p99_ms="$(echo "$out" | jget "d['post']['p99_ms']")" \
        update_pairs="$(echo "$out" | jget "d['update']['pairs']")" \
        update_p50_ms="$(echo "$out" | jget "d['update']['p50_ms']")" update_p99_ms="$(echo "$out" | jget "d['update']['p99_ms']")" \
        ratio_p50="$(echo "$out" | jget "round(d['update_post_ratio_p50'], 3)")" \
        ratio_p99="$(echo "$out" | jget "round(d['update_post_ratio_p99'], 3)")" \
        missing="$(echo "$out" | jget "d['pairs_missing']")"
    cluster down "$c" >/dev/null
}

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
CASES=("$@")
[ ${#CASES[@]} -gt 0 ] || CASES=(partition both heal5 latency)
for case_name in "${CASES[@]}"; do
    case "$case_name" in
        partition) case_partition partition ;;
        both)      case_partition both ;;
        heal5)     case_heal5 ;;
        latency)   case_latency ;;
        update)    case_update ;;
        gap)       case_gap ;;
        join)      case_join ;;
        *) echo "bench_sync: unknown case $case_name" >&2; exit 2 ;;
    esac
done
echo "== results ($RESULTS)"
cat "$RESULTS"
