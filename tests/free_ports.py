#!/usr/bin/env python3
"""free_ports.py — TCP ports on 127.0.0.1 for the tests, scripts/cluster.sh
and the bench drivers: the one place that picks a port for a process to
bind later.

    free_ports.py [N]        print N distinct ports (default 1), space-separated
    free_ports.py --release  drop the leases of this run (HEARTH_PORTS_RUN)

    import free_ports; free_ports.free_ports(n, exclude=())  -> [port, ...]

Why not bind port 0 and release it: such a port lies in the kernel's
ephemeral range (/proc/sys/net/ipv4/ip_local_port_range), which the kernel
hands to every outgoing connection (ZeroMQ dials, hearthctl, curl) and
every port-0 bind (each hearthd's HTTP listener) on the machine. Between
the release and the node's own bind, any of those may take it; under a
parallel `ctest -j2` that happens ("Address already in use" at start-up).
A port below the ephemeral range is never handed out by the kernel, and a
client dialling a port nobody listens on cannot connect to itself there.

The policy:
  - the range is [20000, low bound of the ephemeral range); if that holds
    fewer than max(1000, 4 N) ports, the ports above the ephemeral range;
    failing both, [1024, low bound). Without /proc: 32768-60999 (Linux's
    default). HEARTH_PORT_RANGE=LO-HI sets it (tests of this file);
  - ports are drawn at random from the range, so parallel runs rarely try
    the same one, and each is kept only if it binds now on 127.0.0.1
    (without SO_REUSEADDR: a port still in TIME_WAIT or in any use is
    skipped);
  - each port handed out gets a lease: a file named after it in
    $HEARTH_PORT_LEASES (default /tmp/hearth-port-leases-UID), taken under
    an flock of the directory. A lease younger than HEARTH_PORT_LEASE_S
    (default 3600 s) keeps the port from every other caller, so a test
    that stops a node and restarts it on the same port does not find it
    given to a parallel test in between;
  - with HEARTH_PORTS_RUN set (tests/node_lib.sh sets it to a file in the
    test's $WORK), the ports of the run are listed there: the run never
    gets the same port twice, however old its leases, and `--release`
    (node_lib.sh's cleanup) drops its leases when the test is over.
Exit status 1 (and a message) if not enough ports are free.
"""
import errno
import fcntl
import os
import random
import socket
import sys
import time

PORT_LO = 20000                 # below: ports that services commonly use
EPHEMERAL_DEFAULT = (32768, 60999)
LEASE_S_DEFAULT = 3600


def ephemeral_range():
    """The kernel's ephemeral port range (low, high), inclusive."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split()[:2])
        if 1 <= lo <= hi <= 65535:
            return lo, hi
    except (OSError, ValueError):
        pass
    return EPHEMERAL_DEFAULT


def port_range(n):
    """[lo, hi) to draw n ports from, outside the ephemeral range
    ($HEARTH_PORT_RANGE "LO-HI", inclusive, if set: for tests of this file)."""
    given = os.environ.get("HEARTH_PORT_RANGE")
    if given:
        lo, hi = (int(x) for x in given.split("-"))
        return lo, hi + 1
    eph_lo, eph_hi = ephemeral_range()
    need = max(1000, 4 * n)
    if eph_lo - PORT_LO >= need:
        return PORT_LO, eph_lo
    if 65536 - (eph_hi + 1) >= need:
        return eph_hi + 1, 65536
    return 1024, max(eph_lo, 1024 + n)


def _lease_dir():
    d = os.environ.get("HEARTH_PORT_LEASES") or "/tmp/hearth-port-leases-%d" % os.getuid()
    os.makedirs(d, mode=0o700, exist_ok=True)
    return d


def _run_file():
    return os.environ.get("HEARTH_PORTS_RUN") or None


def _run_ports(path):
    if not path:
        return set()
    try:
        with open(path) as f:
            return {int(x) for x in f.read().split()}
    except (OSError, ValueError):
        return set()


def _binds(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def _leased(d, port, now, lease_s):
    try:
        return now - os.stat(os.path.join(d, str(port))).st_mtime < lease_s
    except FileNotFoundError:
        return False


def free_ports(n, exclude=()):
    """n distinct ports on 127.0.0.1, free now, leased to this caller."""
    lo, hi = port_range(n)
    lease_s = float(os.environ.get("HEARTH_PORT_LEASE_S") or LEASE_S_DEFAULT)
    d = _lease_dir()
    run = _run_file()
    owner = run or "pid %d" % os.getpid()
    with open(os.path.join(d, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        avoid = set(exclude) | _run_ports(run)
        now = time.time()
        cands = list(range(lo, hi))
        random.SystemRandom().shuffle(cands)
        ports = []
        for p in cands:
            if len(ports) == n:
                break
            if p in avoid or _leased(d, p, now, lease_s) or not _binds(p):
                continue
            with open(os.path.join(d, str(p)), "w") as f:
                f.write(owner + "\n")
            ports.append(p)
        if len(ports) < n:
            raise RuntimeError("only %d of %d ports free in %d-%d" % (len(ports), n, lo, hi - 1))
        if run:
            with open(run, "a") as f:
                f.write(" ".join(str(p) for p in ports) + "\n")
    return ports


def release():
    """Drop the leases this run (HEARTH_PORTS_RUN) holds."""
    run = _run_file()
    if not run:
        return
    d = _lease_dir()
    with open(os.path.join(d, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for p in _run_ports(run):
            path = os.path.join(d, str(p))
            try:
                with open(path) as f:
                    mine = f.read().strip() == run
                if mine:
                    os.unlink(path)
            except OSError as e:
                if e.errno != errno.ENOENT:
                    raise


def main(argv):
    if argv[1:] == ["--release"]:
        release()
        return 0
    if len(argv) > 2 or (len(argv) == 2 and not argv[1].isdigit()):
        sys.stderr.write("usage: free_ports.py [N] | --release\n")
        return 2
    try:
        print(" ".join(str(p) for p in free_ports(int(argv[1]) if len(argv) == 2 else 1)))
    except RuntimeError as e:
        sys.stderr.write("free_ports.py: %s\n" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
