#!/usr/bin/env bash
# cluster.sh — a street of Hearth nodes on one machine (loopback), for
# trying the mesh, for the mesh tests and for `scripts/bench.sh sync`.
#
#   scripts/cluster.sh up N DIR [--chain] [--sync-interval-ms MS] [--name NAME]
#                                [-- EXTRA_HEARTHD_ARGS...]
#       N nodes on 127.0.0.1 with free ports, one data dir each (DIR/n1 ..
#       DIR/nN). Node 1 creates the community; every other node creates only
#       its identity, is invited (hearthctl invite), joins (hearthctl join)
#       and starts with the inviter as its one --peer: by default everyone is
#       invited by node 1 (a star); with --chain node i is invited by node
#       i-1 and knows only it (a line). Returns once every node is a member
#       and has its links up; prints each node's data dir and address and
#       writes DIR/cluster.env (sourceable) for scripts.
#   scripts/cluster.sh down DIR         SIGTERM every node (by its pid file), wait
#   scripts/cluster.sh status DIR       one line per node: pid, level, peers, events, digest
#   scripts/cluster.sh start DIR I      (re)start node I with its saved arguments
#   scripts/cluster.sh stop DIR I       SIGTERM node I and wait for it to exit
#   scripts/cluster.sh kill DIR I       SIGKILL node I (a crash)
#   scripts/cluster.sh wait-converged DIR [SECONDS] [I...]
#       wait until the running nodes (or nodes I...) hold the same event set
#       and the same market view digest (node.view_digest)
#
# Binaries: $HEARTHD and $HEARTHCTL, else build/node/ of this checkout
# (scripts/run.sh builds it). Deadlines: $CLUSTER_DEADLINE_S (default 60)
# per condition; the script polls every 50 ms, it never sleeps a fixed time.
# Processes are only ever signalled by the pids in DIR/nI.pid.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
HEARTHD=${HEARTHD:-$ROOT/build/node/hearthd}
HEARTHCTL=${HEARTHCTL:-$ROOT/build/node/hearthctl}
CLUSTER_DEADLINE_S=${CLUSTER_DEADLINE_S:-60}
if [ -x /usr/bin/python3 ]; then PYTHON=${PYTHON:-/usr/bin/python3}; else PYTHON=${PYTHON:-python3}; fi

die () {
    echo "cluster.sh: $*" >&2
    exit 1
}

usage () {
    sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'
    exit "${1:-2}"
}

need_binaries () {
    [ -x "$HEARTHD" ] && [ -x "$HEARTHCTL" ] \
        || die "no hearthd/hearthctl at $HEARTHD: build first (scripts/run.sh) or set HEARTHD and HEARTHCTL"
}

# poll SECONDS CMD...: run CMD every 50 ms until it succeeds; 1 after SECONDS.
poll () {
    local deadline=$1; shift
    local end=$(( $(date +%s%N) + deadline * 1000000000 ))
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s%N)" -le "$end" ] || return 1
        sleep 0.05
    done
}

# jget EXPR: a Python expression over the JSON document on stdin (bound to d).
jget () {
    "$PYTHON" -c 'import json,sys; d=json.load(sys.stdin); r=eval(sys.argv[1]); print(json.dumps(r) if isinstance(r,(dict,list,bool)) or r is None else r)' "$1"
}

ctl () {
    local dir=$1; shift
    "$HEARTHCTL" --data-dir "$dir" --timeout 5000 "$@"
}

# free_ports N: N distinct free TCP ports on 127.0.0.1 for the nodes to
# bind: tests/free_ports.py (random ports below the kernel's ephemeral
# range, leased against parallel runs; see its header for why not port 0).
free_ports () {
    "$PYTHON" "$ROOT/tests/free_ports.py" "$1"
}

load_env () {
    local dir=$1
    [ -f "$dir/cluster.env" ] || die "$dir/cluster.env not found: run \`cluster.sh up N $dir\` first"
    # shellcheck disable=SC1091
    . "$dir/cluster.env"
}

pid_of () {
    local file="$CLUSTER_DIR/n$1.pid"
    [ -f "$file" ] && cat "$file"
}

# running PID: the process exists and is not a zombie. A node started by an
# earlier cluster.sh is an orphan: it stays a zombie until init reaps it,
# which can take seconds; it has exited all the same.
running () {
    local state
    kill -0 "$1" 2>/dev/null || return 1
    state=$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "$state" != Z ]
}

alive () {
    local pid
    pid=$(pid_of "$1") || return 1
    [ -n "$pid" ] && running "$pid"
}

answers () {
    "$HEARTHCTL" --data-dir "$CLUSTER_DIR/n$1" --timeout 2000 call node.id >/dev/null 2>&1
}

# start_node I: start hearthd for node I (its port and peers are in its
# config and cluster.env) and wait until it answers.
start_node () {
    local i=$1 dir="$CLUSTER_DIR/n$1" port_var="NODE_$1_PORT"
    alive "$i" && die "node $i is already running (pid $(pid_of "$i"))"
    # shellcheck disable=SC2086
    # Every node's HTTP listener on a free port of its own (node.id's
    # http_url), so nodes never collide on the default 7480.
    "$HEARTHD" --data-dir "$dir" --listen "tcp://127.0.0.1:${!port_var}" --http 127.0.0.1:0 \
        ${SYNC_INTERVAL_MS:+--sync-interval-ms "$SYNC_INTERVAL_MS"} $EXTRA_ARGS \
        >>"$CLUSTER_DIR/n$i.log" 2>&1 &
    echo $! >"$CLUSTER_DIR/n$i.pid"
    local end=$(( $(date +%s) + CLUSTER_DEADLINE_S ))
    until answers "$i"; do
        if ! alive "$i"; then
            tail -n 5 "$CLUSTER_DIR/n$i.log" >&2
            return 1
        fi
        [ "$(date +%s)" -le "$end" ] || die "node $i did not answer within ${CLUSTER_DEADLINE_S}s"
        sleep 0.05
    done
}

stop_node () {
    local i=$1 pid
    pid=$(pid_of "$i") || return 0
    if [ -n "$pid" ] && running "$pid"; then
        kill -TERM "$pid"
        poll "$CLUSTER_DEADLINE_S" eval "! running $pid" || die "node $i (pid $pid) ignored SIGTERM"
    fi
    rm -f "$CLUSTER_DIR/n$i.pid"
}

kill_node () {
    local i=$1 pid
    pid=$(pid_of "$i") || return 0
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
    poll "$CLUSTER_DEADLINE_S" eval "! running $pid" || true
    rm -f "$CLUSTER_DIR/n$i.pid"
}

is_member () {
    local level
    level=$(ctl "$CLUSTER_DIR/n$1" call node.id | jget "d['output']['level']") || return 1
    [ "$level" != none ]
}

# peers_connected I: connected peer links of node I.
peers_connected () {
    ctl "$CLUSTER_DIR/n$1" peers --json | jget "sum(1 for p in d['peers'] if p['connected'])"
}

has_links () {
    local want=$2 got
    got=$(peers_connected "$1") || return 1
    [ "$got" -ge "$want" ]
}

# Links node I has at least when the cluster is whole: star: node 1 has
# N-1, up to the 6 out links the overlay keeps (GOSSIP_OVERLAY_OUT: it
# dials 6 members at random, and the others choose it at random too),
# others 1; chain: the ends 1, the middle 2 (one in, one out).
expected_links () {
    local i=$1
    if [ "$N" = 1 ]; then echo 0
    elif [ "$TOPOLOGY" = star ]; then [ "$i" = 1 ] && echo $(( N - 1 < 6 ? N - 1 : 6 )) || echo 1
    else { [ "$i" = 1 ] || [ "$i" = "$N" ]; } && echo 1 || echo 2
    fi
}

write_env () {
    {
        echo "# written by scripts/cluster.sh up; sourceable"
        echo "CLUSTER_DIR='$CLUSTER_DIR'"
        echo "N=$N"
        echo "TOPOLOGY=$TOPOLOGY"
        echo "SYNC_INTERVAL_MS='$SYNC_INTERVAL_MS'"
        echo "EXTRA_ARGS='$EXTRA_ARGS'"
        echo "HEARTHD='$HEARTHD'"
        echo "HEARTHCTL='$HEARTHCTL'"
        local i v
        for i in $(seq 1 "$N"); do
            echo "NODE_${i}_DIR='$CLUSTER_DIR/n$i'"
            for v in PORT ID ADDRESS; do
                local name="NODE_${i}_$v"
                echo "$name='${!name:-}'"
            done
        done
    } >"$CLUSTER_DIR/cluster.env"
}

cmd_up () {
    [ $# -ge 2 ] || usage
    N=$1; shift
    CLUSTER_DIR=$1; shift
    [[ "$N" =~ ^[0-9]+$ ]] && [ "$N" -ge 1 ] || die "N must be a whole number >= 1"
    TOPOLOGY=star
    SYNC_INTERVAL_MS=
    EXTRA_ARGS=
    local name="street"
    while [ $# -gt 0 ]; do
        case "$1" in
            --chain) TOPOLOGY=chain ;;
            --sync-interval-ms) SYNC_INTERVAL_MS=$2; shift ;;
            --name) name=$2; shift ;;
            --) shift; EXTRA_ARGS="$*"; break ;;
            *) die "up: unknown option $1" ;;
        esac
        shift
    done
    need_binaries
    mkdir -p "$CLUSTER_DIR"
    CLUSTER_DIR=$(cd "$CLUSTER_DIR" && pwd)
    if [ -f "$CLUSTER_DIR/cluster.env" ]; then
        die "$CLUSTER_DIR already holds a cluster (cluster.env): \`cluster.sh down $CLUSTER_DIR\` and remove it first"
    fi
    local ports line i
    line=$(free_ports "$N") || die "no $N free ports"
    read -r -a ports <<<"$line"
    for i in $(seq 1 "$N"); do
        printf -v "NODE_${i}_PORT" '%s' "${ports[$((i - 1))]}"
    done
    write_env

    # Node 1: the community's root.
    ctl "$CLUSTER_DIR/n1" init --community "$name" >/dev/null
    NODE_1_ID=$(ctl "$CLUSTER_DIR/n1" id --json | jget "d['node_id']")
    start_node 1 || die "node 1 failed to start (see $CLUSTER_DIR/n1.log)"
    NODE_1_ADDRESS=$(ctl "$CLUSTER_DIR/n1" id --json | jget "d['address']")
    write_env

    for i in $(seq 2 "$N"); do
        local dir="$CLUSTER_DIR/n$i" inviter=1 id_var="NODE_${i}_ID" addr_var="NODE_${i}_ADDRESS"
        [ "$TOPOLOGY" = chain ] && inviter=$((i - 1))
        printf -v "$id_var" '%s' "$(ctl "$dir" init --identity-only 2>/dev/null)"
        # In a chain the inviter must be a member itself before it can invite.
        poll "$CLUSTER_DEADLINE_S" is_member "$inviter" \
            || die "node $inviter did not become a member within ${CLUSTER_DEADLINE_S}s (see $CLUSTER_DIR/n$inviter.log)"
        ctl "$CLUSTER_DIR/n$inviter" invite "${!id_var}" --out "$CLUSTER_DIR/invite-n$i.json" >/dev/null
        ctl "$dir" join "$CLUSTER_DIR/invite-n$i.json" >/dev/null
        start_node "$i" || die "node $i failed to start (see $CLUSTER_DIR/n$i.log)"
        printf -v "$addr_var" '%s' "$(ctl "$dir" id --json | jget "d['address']")"
        write_env
    done

    for i in $(seq 1 "$N"); do
        poll "$CLUSTER_DEADLINE_S" is_member "$i" \
            || die "node $i did not become a member within ${CLUSTER_DEADLINE_S}s (see $CLUSTER_DIR/n$i.log)"
        poll "$CLUSTER_DEADLINE_S" has_links "$i" "$(expected_links "$i")" \
            || die "node $i has $(peers_connected "$i" || echo '?') of $(expected_links "$i") links after ${CLUSTER_DEADLINE_S}s"
    done
    echo "cluster of $N node(s) ($TOPOLOGY) up in $CLUSTER_DIR; every node is a member and linked"
    for i in $(seq 1 "$N"); do
        local addr_var="NODE_${i}_ADDRESS"
        echo "node $i  $CLUSTER_DIR/n$i  ${!addr_var}"
    done
    echo "env: . $CLUSTER_DIR/cluster.env   stop: scripts/cluster.sh down $CLUSTER_DIR"
}

cmd_down () {
    [ $# -eq 1 ] || usage
    load_env "$1"
    local i
    for i in $(seq 1 "$N"); do
        stop_node "$i"
    done
    echo "cluster in $CLUSTER_DIR stopped"
}

digest_of () {
    ctl "$CLUSTER_DIR/n$1" call node.view_digest | jget "d['output']['events_digest'] + ' ' + d['output']['view_digest'] + ' ' + str(d['output']['events'])"
}

cmd_status () {
    [ $# -eq 1 ] || usage
    load_env "$1"
    local i
    printf '%-4s %-8s %-8s %-6s %-8s %s\n' NODE PID LEVEL LINKS EVENTS "EVENTS_DIGEST VIEW_DIGEST"
    for i in $(seq 1 "$N"); do
        if alive "$i"; then
            local level links digest
            level=$(ctl "$CLUSTER_DIR/n$i" call node.id | jget "d['output']['level']" 2>/dev/null || echo '?')
            links=$(peers_connected "$i" 2>/dev/null || echo '?')
            digest=$(digest_of "$i" 2>/dev/null || echo '? ? ?')
            read -r ed vd count <<<"$digest"
            printf '%-4s %-8s %-8s %-6s %-8s %.16s %.16s\n' "$i" "$(pid_of "$i")" "$level" "$links" "$count" "$ed" "$vd"
        else
            printf '%-4s %-8s\n' "$i" "stopped"
        fi
    done
}

# converged I...: all the given nodes answer with one digest triple.
converged () {
    local i first="" d
    for i in "$@"; do
        d=$(digest_of "$i") || return 1
        if [ -z "$first" ]; then first=$d; elif [ "$d" != "$first" ]; then return 1; fi
    done
}

cmd_wait_converged () {
    [ $# -ge 1 ] || usage
    load_env "$1"; shift
    local seconds=${1:-$CLUSTER_DEADLINE_S}
    [ $# -gt 0 ] && shift
    local nodes=("$@") i
    if [ ${#nodes[@]} -eq 0 ]; then
        for i in $(seq 1 "$N"); do alive "$i" && nodes+=("$i"); done
    fi
    poll "$seconds" converged "${nodes[@]}" || { cmd_status "$CLUSTER_DIR" >&2; die "nodes ${nodes[*]} did not converge within ${seconds}s"; }
}

[ $# -ge 1 ] || usage
command=$1; shift
case "$command" in
    up)     cmd_up "$@" ;;
    down)   cmd_down "$@" ;;
    status) cmd_status "$@" ;;
    start)  [ $# -eq 2 ] || usage; load_env "$1"; need_binaries; start_node "$2" || die "node $2 failed to start (see $CLUSTER_DIR/n$2.log)" ;;
    stop)   [ $# -eq 2 ] || usage; load_env "$1"; stop_node "$2" ;;
    kill)   [ $# -eq 2 ] || usage; load_env "$1"; kill_node "$2" ;;
    wait-converged) cmd_wait_converged "$@" ;;
    -h|--help|help) usage 0 ;;
    *) usage ;;
esac
