#!/usr/bin/env bash
# first_steps.sh — the first steps cannot trap (docs/cli.md, README):
# `run.sh --help` creates, installs and builds nothing; run.sh's first node
# listens for peers; run.sh makes an identity to be invited and joins with
# the invite instead of creating a community (and refuses to create one
# for an identity waiting for an invite); hearthd warns when it has no
# peer to dial; under systemd it reports READY=1 only once the log is open
# and its sockets are bound (sd_notify).
TEST_NAME=first_steps
. "$(dirname "$0")/node_lib.sh"
RUN_SH="$(cd "$(dirname "$0")/.." && pwd)/scripts/run.sh"
BIN=$(dirname "$HEARTHD")

step "run.sh --help creates, installs and builds nothing"
# Stand-ins for the tools run.sh would use to install or build: each
# leaves a mark if called.
mkdir -p "$WORK/fakebin"
for tool in cmake apt-get dpkg-query sudo hearthd hearthctl; do
    printf '#!/bin/sh\ntouch "%s/called-%s"\n' "$WORK" "$tool" >"$WORK/fakebin/$tool"
    chmod +x "$WORK/fakebin/$tool"
done
OUT=$(HOME="$WORK/home" HEARTH_DATA_DIR="$WORK/help-data" PATH="$WORK/fakebin:$PATH" \
      bash "$RUN_SH" --help) || fail "run.sh --help failed"
[[ "$OUT" == *"usage: scripts/run.sh"*"--join INVITE_FILE"* ]] || fail "run.sh --help output: $OUT"
[ ! -e "$WORK/help-data" ] && [ ! -e "$WORK/home" ] || fail "run.sh --help created a data dir"
ls "$WORK"/called-* >/dev/null 2>&1 && fail "run.sh --help ran $(ls "$WORK"/called-*)"

# run_sh DIR ARGS...: run.sh on DIR with the built binaries, in the
# background (log in DIR.run.log); sets RUN_PID.
run_sh () {
    local dir=$1; shift
    HEARTH_BIN_DIR="$BIN" HEARTH_DATA_DIR="$dir" HEARTH_COMMUNITY=Street HEARTH_HTTP=${HEARTH_HTTP:-127.0.0.1:0} \
        bash "$RUN_SH" "$@" >>"$dir.run.log" 2>&1 &
    RUN_PID=$!
    DAEMON_PIDS+=("$RUN_PID")
}

step "run.sh: the first node creates a community and listens for peers"
A="$WORK/a"
if "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("0.0.0.0", 7400))' 2>/dev/null; then
    # The documented default: all interfaces, port 7400 (CURVE, members only).
    run_sh "$A"
    wait_until "$NODE_START_DEADLINE_S" _node_answers "$A" || fail "run.sh node did not start: $(cat "$A.run.log")"
    grep -q "listening on tcp://0.0.0.0:7400" "$A.run.log" || fail "first node does not listen on the default: $(cat "$A.run.log")"
else
    echo "(port 7400 is taken on this machine: checking with HEARTH_LISTEN instead)"
    HEARTH_LISTEN='tcp://127.0.0.1:*' run_sh "$A"
    wait_until "$NODE_START_DEADLINE_S" _node_answers "$A" || fail "run.sh node did not start: $(cat "$A.run.log")"
fi
A_PID=$RUN_PID
A_ADDRESS=$(ctl "$A" id --json | json "d['address']")
[[ "$A_ADDRESS" == ed25519:*@tcp://* ]] || fail "first node has no peer address: $A_ADDRESS"
grep -q "this node waits for members to dial it" "$A.run.log" || fail "no info line about dialling nobody"

step "run.sh --identity-only, then a plain run.sh refuses to create a community"
B="$WORK/b"
B_ID=$(HEARTH_BIN_DIR="$BIN" HEARTH_DATA_DIR="$B" bash "$RUN_SH" --identity-only 2>/dev/null)
[[ "$B_ID" == ed25519:* ]] || fail "run.sh --identity-only printed $B_ID"
expect_exit 1 env HEARTH_BIN_DIR="$BIN" HEARTH_DATA_DIR="$B" bash "$RUN_SH"
[[ "$OUT" == *"waits for an invite"*"--join"* ]] || fail "run.sh on an identity-only dir: $OUT"
[ ! -e "$B/db" ] || fail "run.sh created a community for an identity waiting for an invite"

step "run.sh --join: joins with the invite and becomes a member"
ctl "$A" invite "$B_ID" --out "$WORK/invite.json" >/dev/null 2>&1 || fail "invite from the first node failed"
HEARTH_LISTEN='tcp://127.0.0.1:*' run_sh "$B" --join "$WORK/invite.json" --sync-interval-ms 500
B_PID=$RUN_PID
_joined () { grep -q "joined the community" "$B.run.log"; }
wait_until 60 _joined || fail "the joiner did not become a member: $(cat "$B.run.log")"
B_COMMUNITY=$(ctl "$B" call node.id | json "d['output']['community_id']")
A_COMMUNITY=$(ctl "$A" call node.id | json "d['output']['community_id']")
[ "$A_COMMUNITY" = "$B_COMMUNITY" ] || fail "joiner is in $B_COMMUNITY, not $A_COMMUNITY"

step "hearthd warns when it has no peer to dial and does not listen"
L="$WORK/lonely"
ctl "$L" init >/dev/null
start_node "$L"
grep -q "WARN .*no peer to dial and not listening" "$L.log" || fail "no warning for a node with nobody to dial: $(cat "$L.log")"
stop_node "$NODE_PID"

step "systemd: READY=1 only once the control socket answers"
# A stand-in for systemd's notify socket: records each datagram and
# whether the control socket existed when it arrived.
"$PYTHON" - "$WORK/notify.sock" "$L/control.sock" "$WORK/notify.log" <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[3] + ".bound", "w").close()
while True:
    data = s.recv(4096).decode()
    with open(sys.argv[3], "a") as f:
        f.write("%s control=%s\n" % (data.replace("\n", " "), os.path.exists(sys.argv[2])))
    if "STOPPING=1" in data:
        break
PY
NOTIFY_PID=$!
DAEMON_PIDS+=("$NOTIFY_PID")
_bound () { [ -e "$WORK/notify.log.bound" ]; }
wait_until 10 _bound || fail "notify listener did not start"
NOTIFY_SOCKET="$WORK/notify.sock" "$HEARTHD" --data-dir "$L" --http off >>"$L.log" 2>&1 &
N_PID=$!
DAEMON_PIDS+=("$N_PID")
_ready () { grep -q "READY=1" "$WORK/notify.log"; }
wait_until "$NODE_START_DEADLINE_S" _ready || fail "no READY=1 from hearthd"
grep "READY=1" "$WORK/notify.log" | grep -q "control=True" || fail "READY=1 before the control socket: $(cat "$WORK/notify.log")"
stop_node "$N_PID"
_stopping () { grep -q "STOPPING=1" "$WORK/notify.log"; }
wait_until 10 _stopping || fail "no STOPPING=1 from hearthd"

stop_node "$B_PID"
stop_node "$A_PID"
passed
