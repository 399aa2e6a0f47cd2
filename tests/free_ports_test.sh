#!/usr/bin/env bash
# free_ports_test.sh — tests/free_ports.py, the ports every test, cluster.sh
# and the bench drivers bind: outside the kernel's ephemeral range (where an
# outgoing connection or a port-0 bind could take them first), bindable,
# never twice in one run, leased against other runs until released.
TEST_NAME=free_ports
. "$(dirname "$0")/node_lib.sh"

step "ports below the ephemeral range, distinct, bindable now"
read -r EPH_LO _ </proc/sys/net/ipv4/ip_local_port_range
PORTS=$(free_ports 50) || fail "free_ports 50"
"$PYTHON" - "$EPH_LO" $PORTS <<'PY' || fail "ports: $PORTS"
import socket, sys
eph_lo, ports = int(sys.argv[1]), [int(p) for p in sys.argv[2:]]
assert len(ports) == 50 and len(set(ports)) == 50, ports
assert all(1024 <= p < eph_lo for p in ports), (eph_lo, ports)
for p in ports:
    socket.socket().bind(("127.0.0.1", p))
PY
MORE=$(free_ports 50) || fail "free_ports 50 again"
for p in $MORE; do
    [[ " $PORTS " != *" $p "* ]] || fail "port $p handed out twice in one run"
done

# One port, leased to this test in the shared table; the cases below use a
# table of their own and a range of that port alone.
P=$(free_ports) || fail "free_ports"
LEASES="$WORK/leases"
RUN_A="$WORK/a.run" RUN_B="$WORK/b.run"
# fp RUN ARGS...: free_ports.py as run RUN, on that table and range.
fp () {
    local run=$1; shift
    HEARTH_PORT_LEASES=$LEASES HEARTH_PORT_RANGE="$P-$P" HEARTH_PORTS_RUN=$run "$PYTHON" "$FREE_PORTS_PY" "$@"
}

step "a run gets a port once; another run not while the lease holds"
[ "$(fp "$RUN_A" 1)" = "$P" ] || fail "run A did not get $P"
expect_exit 1 fp "$RUN_A" 1
[[ "$OUT" == *"only 0 of 1 ports free"* ]] || fail "run A got $P twice: $OUT"
expect_exit 1 fp "$RUN_B" 1

step "released at the end of run A: run B gets it"
fp "$RUN_A" --release || fail "release"
[ "$(fp "$RUN_B" 1)" = "$P" ] || fail "run B did not get $P after the release"

step "a stale lease (older than HEARTH_PORT_LEASE_S) is taken over"
[ "$(HEARTH_PORT_LEASE_S=0 fp "$WORK/c.run" 1)" = "$P" ] || fail "stale lease kept"

step "a port in use is skipped"
rm -rf "$LEASES"
"$PYTHON" - "$P" "$FREE_PORTS_PY" "$WORK/d.run" "$LEASES" <<'PY' || fail "a bound port was handed out"
import os, socket, subprocess, sys
port = int(sys.argv[1])
s = socket.socket()
s.bind(("127.0.0.1", port))
s.listen()
r = subprocess.run([sys.executable, sys.argv[2], "1"], capture_output=True, text=True,
                   env=dict(os.environ, HEARTH_PORTS_RUN=sys.argv[3], HEARTH_PORT_LEASES=sys.argv[4],
                            HEARTH_PORT_RANGE="%d-%d" % (port, port)))
assert r.returncode == 1 and r.stdout == "", (r.returncode, r.stdout, r.stderr)
PY

step "the run file lists every port handed out (node_lib.sh releases them at exit)"
[ "$(wc -w <"$HEARTH_PORTS_RUN")" = 101 ] || fail "the run file lists $(wc -w <"$HEARTH_PORTS_RUN") ports"

passed
