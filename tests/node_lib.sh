# node_lib.sh — helpers shared by the node integration tests (sourced).
#
# Needs HEARTHD and HEARTHCTL (paths to the binaries; ctest sets them).
# Each test gets its own temp dir ($WORK); every hearthd it starts is killed
# on exit, whatever happened; $WORK is removed on success and kept (path
# printed) on failure for a post-mortem. Tests wait for conditions with
# deadlines (wait_until), never for fixed times.

set -euo pipefail

: "${HEARTHD:?set HEARTHD to the hearthd binary}"
: "${HEARTHCTL:?set HEARTHCTL to the hearthctl binary}"

# The system python3 (Debian package): a version-manager shim on PATH can
# cost ~150 ms per start, and the tests start python hundreds of times.
if [ -x /usr/bin/python3 ]; then
    PYTHON=${PYTHON:-/usr/bin/python3}
else
    PYTHON=${PYTHON:-python3}
fi

# Deadline for a daemon to come up or go down: generous for sanitizer builds.
NODE_START_DEADLINE_S=${NODE_START_DEADLINE_S:-30}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/hearth-${TEST_NAME:-test}-XXXXXX")
DAEMON_PIDS=()
TEST_PASSED=0

# Ports for a node to bind later come from tests/free_ports.py, never from
# binding port 0 and releasing it (that port is in the kernel's ephemeral
# range, where any outgoing connection or port-0 bind on the machine may
# take it first): random ports below that range, checked by binding,
# leased so parallel tests do not pick the same, and never twice in this
# test (the run's list is $HEARTH_PORTS_RUN; scripts/cluster.sh and the
# Python helpers use it too). The leases are dropped at exit.
FREE_PORTS_PY=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/free_ports.py
export HEARTH_PORTS_RUN="$WORK/ports.run"

# free_ports [N]: N (default 1) distinct free ports on 127.0.0.1, one line.
free_ports () {
    "$PYTHON" "$FREE_PORTS_PY" "${1:-1}"
}

_cleanup () {
    local pid
    for pid in "${DAEMON_PIDS[@]}"; do
        kill -9 "$pid" 2>/dev/null || true
    done
    for pid in "${DAEMON_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    "$PYTHON" "$FREE_PORTS_PY" --release 2>/dev/null || true
    if [ "$TEST_PASSED" = 1 ]; then
        rm -rf "$WORK"
    else
        echo "test data kept in $WORK" >&2
    fi
}
trap _cleanup EXIT

fail () {
    echo "FAIL: $*" >&2
    exit 1
}

step () {
    echo "--- $*"
}

passed () {
    TEST_PASSED=1
    echo "PASS: ${TEST_NAME:-test}"
}

# wait_until SECONDS CMD...: run CMD every 50 ms until it succeeds; fail
# after SECONDS. Polling, not a fixed sleep: it returns as soon as CMD holds.
wait_until () {
    local deadline=$1; shift
    local end=$(( $(date +%s%N) + deadline * 1000000000 ))
    until "$@" >/dev/null 2>&1; do
        if [ "$(date +%s%N)" -gt "$end" ]; then
            return 1
        fi
        sleep 0.05
    done
}

# ctl DIR ARGS...: hearthctl on DIR.
ctl () {
    local dir=$1; shift
    "$HEARTHCTL" --data-dir "$dir" "$@"
}

_node_answers () {
    "$HEARTHCTL" --data-dir "$1" --timeout 2000 call node.id >/dev/null 2>&1
}

_pid_alive () {
    kill -0 "$1" 2>/dev/null
}

_pid_gone () {
    ! kill -0 "$1" 2>/dev/null
}

# start_node DIR [ARGS...]: start hearthd on DIR (log in DIR.log), wait
# until it answers; sets NODE_PID. Its HTTP listener takes any free port
# (tests run in parallel; a later --http in ARGS wins): `http_url_of DIR`.
start_node () {
    local dir=$1; shift
    "$HEARTHD" --data-dir "$dir" --http 127.0.0.1:0 "$@" >>"$dir.log" 2>&1 &
    NODE_PID=$!
    DAEMON_PIDS+=("$NODE_PID")
    local end=$(( $(date +%s) + NODE_START_DEADLINE_S ))
    until _node_answers "$dir"; do
        if ! _pid_alive "$NODE_PID"; then
            cat "$dir.log" >&2
            fail "hearthd exited during start-up"
        fi
        [ "$(date +%s)" -le "$end" ] || fail "hearthd did not answer within ${NODE_START_DEADLINE_S}s"
        sleep 0.05
    done
}

# http_url_of DIR: the node's HTTP listener ("http://127.0.0.1:PORT/"; null when off).
http_url_of () {
    "$HEARTHCTL" --data-dir "$1" call node.id | json "d['output']['http_url']"
}

# stop_node PID: SIGTERM, wait for a clean exit (status 0).
stop_node () {
    local pid=$1
    kill -TERM "$pid"
    wait_until "$NODE_START_DEADLINE_S" _pid_gone "$pid" || fail "hearthd $pid ignored SIGTERM"
    local status=0
    wait "$pid" || status=$?
    [ "$status" = 0 ] || fail "hearthd $pid exited with status $status after SIGTERM"
}

# kill_node PID: SIGKILL and reap.
kill_node () {
    kill -9 "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# json EXPR: evaluate a Python expression over the JSON document on stdin,
# bound to `d`; prints the result (JSON for containers, plain for scalars).
json () {
    "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
r = eval(sys.argv[1])
if isinstance(r, (dict, list)) or r is None or isinstance(r, bool):
    print(json.dumps(r))
else:
    print(r)
' "$1"
}

# assert_json JSON_TEXT EXPR MESSAGE: fail unless EXPR (Python, over `d`) is true.
assert_json () {
    local result
    result=$(printf '%s' "$1" | json "$2") || fail "$3 (not JSON: $1)"
    [ "$result" = "true" ] || fail "$3: $2 is $result in: $1"
}

# expect_exit CODE CMD...: run CMD, fail unless it exits with CODE; its
# stdout+stderr are left in $OUT.
expect_exit () {
    local want=$1; shift
    local status=0
    OUT=$("$@" 2>&1) || status=$?
    [ "$status" = "$want" ] || fail "expected exit $want, got $status from: $* -> $OUT"
}
