#!/usr/bin/env python3
"""bench_mesh_scale.py — real hearthd processes on one machine (loopback), grown
by invites the way people grow a community, measured: membership, links per
node, post visibility, bytes, idle CPU, memory and log warnings.
(scripts/bench.sh mesh runs it; docs/performance.md has the figures.)

    bench_mesh_scale.py [--sizes 10,260] [--topology star|chain|star,chain]
                        [--posts 10] [--idle-seconds 60] [--batch 26]
                        [--member-deadline 120] [--dir DIR] [--keep]

For each topology and each size N (in that order, one community at a time,
the previous one stopped first) it:
  1. grows a community of N nodes, each a hearthd with its own data dir and
     port on 127.0.0.1: node 0 runs `hearthctl init --community`; every other
     node runs `hearthctl init --identity-only`, is invited (`hearthctl
     invite`) and joins (`hearthctl join`), then hearthd starts with only the
     inviter's address (written by join). star: node 0 invites everyone (the
     hub's worst case), in batches of --batch nodes started in parallel, each
     batch waited for (members, --batch-deadline) before the next; chain:
     node i is invited by node i-1, which must be a member first (sequential);
  2. waits (--member-deadline) until every node is a member in its own view
     (node.id level) and every node's log holds all N-1 joins (node 0's view
     and everyone else's);
  3. posts --posts posts, one at a time, each from a random member, and polls
     every other node with market.get until it has the post: visibility
     latency from the post's acceptance to the reply that shows it;
  4. reads every node's links (node.peers: connected, in/out) and bytes
     (node.stats);
  5. leaves the nodes alone for --idle-seconds and reads each hearthd's CPU
     time (/proc/PID/stat utime+stime) before and after: idle CPU-s per minute
     per node; then RSS (/proc/PID/status VmRSS) and the WARN/ERROR lines of
     every log, grouped by message.
At the end: a table, the goals of a district-sized street (every node a
member; max links <= 2 x mean; idle CPU per node the same at every size, as
the ratio of the largest size's median to the smallest's), and JSON lines in
DIR/results.jsonl (also printed with --jsonl).

Talks to each node's control socket (ipc://DIR/nI/control.sock) through
libzmq with ctypes, one DEALER per node, so probing 260 nodes spawns no
process. The probe's cost is bounded: one request in flight per node and at
most --poll-rate requests a second in all, so a node that lacks a post is
asked again every max(5 ms, pending nodes / poll-rate) after its answer.
So a latency is a bracket: the post reached the node after the last request
that did not find it was sent (lower bound) and before the reply that found
it arrived (upper bound, the figure reported as p50/p99; the lower bounds are
given as lo_p50/lo_p99). The summary gives the mean interval between two
polls of a node (the width of the bracket) and the probe's CPU.

Every node but node 0 runs at --node-nice (default 19, the lowest priority)
above this process (run the driver itself without `nice`): on two shared
cores 260 nodes of a daemon whose idle cost is too high ask for more CPU
than there is, and node 0, the one a user invites everyone from, must still
answer its invites (its own machine would not share its CPU with 259
others); it also leaves the machine to other work. Nice changes who waits,
not how much CPU a node uses, so the idle CPU figures hold as long as the
machine has idle time left: the idle record gives the machine's idle share
over the window (from /proc/stat) and says "saturated" when it had none, in
which case the per-node figure is what each node got, a lower bound of what
it asked for.

Every hearthd started is a child of this process, started with
PR_SET_PDEATHSIG, and stopped by its pid (SIGTERM, then SIGKILL) on any exit,
Ctrl-C included. The run's directory keeps results.jsonl and every node's
log; node data dirs are removed after a run that met every goal unless
--keep, and kept (with the logs) after one that did not.

Exit: 0 every goal met; 1 a goal missed (the figures are still written);
2 the run broke (an error; everything kept).
"""

import argparse
import heapq
import ctypes
import ctypes.util
import json
import os
import random
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
sys.dont_write_bytecode = True                  # no __pycache__ in the source tree
import free_ports as _free_ports                # noqa: E402 (tests/free_ports.py)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEARTHD = os.environ.get("HEARTHD", os.path.join(ROOT, "build", "node", "hearthd"))
HEARTHCTL = os.environ.get("HEARTHCTL", os.path.join(ROOT, "build", "node", "hearthctl"))
CLK_TCK = os.sysconf("SC_CLK_TCK")

# --------------------------------------------------------------------------
# libzmq through ctypes (no Python binding needed)

_zmq = ctypes.CDLL(ctypes.util.find_library("zmq") or "libzmq.so.5", use_errno=True)
ZMQ_DEALER = 5
ZMQ_LINGER = 17
ZMQ_POLLIN = 1
ZMQ_DONTWAIT = 1
ZMQ_MAX_SOCKETS = 2
_zmq.zmq_ctx_new.restype = ctypes.c_void_p
_zmq.zmq_ctx_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
_zmq.zmq_ctx_term.argtypes = [ctypes.c_void_p]
_zmq.zmq_socket.restype = ctypes.c_void_p
_zmq.zmq_socket.argtypes = [ctypes.c_void_p, ctypes.c_int]
_zmq.zmq_setsockopt.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
_zmq.zmq_connect.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
_zmq.zmq_close.argtypes = [ctypes.c_void_p]
_zmq.zmq_send.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int]
_zmq.zmq_recv.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]


class _PollItem(ctypes.Structure):
    _fields_ = [("socket", ctypes.c_void_p), ("fd", ctypes.c_int),
                ("events", ctypes.c_short), ("revents", ctypes.c_short)]


_zmq.zmq_poll.argtypes = [ctypes.POINTER(_PollItem), ctypes.c_int, ctypes.c_long]

RECV_MAX = 8 << 20
# Timeout of the calls that read every node at once (links, stats, the last
# membership pass): a node on a saturated machine can take tens of seconds.
SLOW_CALL_S = 60.0          # a node.peers reply of a 1,000-link node fits


class Control:
    """One DEALER per node to its control socket; one request in flight each.
    A call that times out closes its socket (a late reply must never be
    taken for the next call's)."""

    def __init__(self, max_nodes):
        self.ctx = _zmq.zmq_ctx_new()
        _zmq.zmq_ctx_set(self.ctx, ZMQ_MAX_SOCKETS, max_nodes + 64)
        self.socks = {}
        self.buf = ctypes.create_string_buffer(RECV_MAX)

    def _sock(self, d):
        s = self.socks.get(d)
        if s is None:
            s = _zmq.zmq_socket(self.ctx, ZMQ_DEALER)
            zero = ctypes.c_int(0)
            _zmq.zmq_setsockopt(s, ZMQ_LINGER, ctypes.byref(zero), 4)
            _zmq.zmq_connect(s, ("ipc://%s/control.sock" % d).encode())
            self.socks[d] = s
        return s

    def drop(self, d):
        s = self.socks.pop(d, None)
        if s is not None:
            _zmq.zmq_close(s)

    def send(self, d, capability, inp=None):
        frame = json.dumps({"capability": capability, "input": inp or {}}).encode()
        return _zmq.zmq_send(self._sock(d), frame, len(frame), 0) == len(frame)

    def recv(self, d):
        n = _zmq.zmq_recv(self.socks[d], self.buf, RECV_MAX, ZMQ_DONTWAIT)
        if n < 0:
            return None
        if n > RECV_MAX:
            return {"error": "reply too large"}
        try:
            return json.loads(self.buf.raw[:n])
        except ValueError:
            return {"error": "bad json"}

    def poll(self, dirs, timeout_ms):
        """The dirs among DIRS whose socket has a reply, waiting up to TIMEOUT_MS."""
        items = (_PollItem * len(dirs))()
        for i, d in enumerate(dirs):
            items[i].socket = self.socks[d]
            items[i].events = ZMQ_POLLIN
        rc = _zmq.zmq_poll(items, len(dirs), int(timeout_ms))
        if rc <= 0:
            return []
        return [d for i, d in enumerate(dirs) if items[i].revents & ZMQ_POLLIN]

    def call_many(self, calls, timeout_s=5.0):
        """CALLS: {dir: (capability, input)}; every call sent at once. Returns
        {dir: reply or None (no answer in TIMEOUT_S)}."""
        out = {}
        pending = []
        for d, (cap, inp) in calls.items():
            if self.send(d, cap, inp):
                pending.append(d)
            else:
                out[d] = None
        end = time.monotonic() + timeout_s
        while pending:
            left = end - time.monotonic()
            if left <= 0:
                break
            for d in self.poll(pending, left * 1000):
                r = self.recv(d)
                if r is not None:
                    out[d] = r
                    pending.remove(d)
        for d in pending:
            out[d] = None
            self.drop(d)
        return out

    def call(self, d, capability, inp=None, timeout_s=5.0):
        return self.call_many({d: (capability, inp)}, timeout_s)[d]

    def close(self):
        for d in list(self.socks):
            self.drop(d)
        _zmq.zmq_ctx_term(self.ctx)


# --------------------------------------------------------------------------
# processes

CHILDREN = {}               # pid -> Popen: every hearthd started, until reaped
KILLED = set()              # pids SIGKILLed after ignoring SIGTERM for the grace period
EXITS = {}                  # pid -> exit status of a stopped hearthd (negative: signal)


def _child_setup(nice):
    # The node dies with this process even on SIGKILL (Linux prctl).
    if nice:
        os.nice(nice)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)     # PR_SET_PDEATHSIG
    except OSError:
        pass


def stop_children(pids=None, grace_s=20.0):
    """SIGTERM the given (default: every) started hearthd by pid, wait, then SIGKILL."""
    pids = list(CHILDREN) if pids is None else pids
    for pid in pids:
        p = CHILDREN.get(pid)
        if p is not None and p.poll() is None:
            try:
                p.send_signal(signal.SIGTERM)
            except OSError:
                pass
    end = time.monotonic() + grace_s
    for pid in pids:
        p = CHILDREN.get(pid)
        if p is None:
            continue
        try:
            p.wait(max(0.0, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            KILLED.add(pid)
        EXITS[pid] = p.returncode
        CHILDREN.pop(pid, None)


def _on_signal(signum, _frame):
    raise KeyboardInterrupt("signal %d" % signum)


def ctl(d, *args, tries=3):
    """hearthctl --data-dir D ARGS...; its stdout, or an exception with its
    stderr. A node saturated by its links (a hub on two shared cores) can take
    seconds to answer: each try waits 60 s, and a timeout is tried again."""
    for attempt in range(tries):
        r = subprocess.run([HEARTHCTL, "--data-dir", d, "--timeout", "60000"] + list(args),
                           capture_output=True, text=True, timeout=120)
        if r.returncode == 0:
            return r.stdout.strip()
        err = (r.stderr or r.stdout).strip()
        if "ETIMEOUT" not in err or attempt == tries - 1:
            raise RuntimeError("hearthctl %s (%s): %s" % (" ".join(args), d, err))
        print("hearthctl %s (%s) timed out; again" % (args[0], d), file=sys.stderr, flush=True)


def free_ports(n):
    """N ports on 127.0.0.1 that bind now, below the kernel's ephemeral range,
    so an outgoing connection of a node cannot take a later node's port
    (tests/free_ports.py, shared with the tests and scripts/cluster.sh)."""
    return _free_ports.free_ports(n)


def proc_cpu_ticks(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])      # utime, stime (fields 14, 15)
    except (OSError, IndexError, ValueError):
        return None


def machine_ticks():
    """(all, idle) CPU ticks of the machine so far (/proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v[:8]), v[3] + v[4]


def proc_rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def proc_fds(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return None


def pct(xs, q):
    if not xs:
        return None
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(round(q / 100.0 * len(xs) + 0.5)) - 1))
    return xs[k]


def rnd(x, nd=3):
    return None if x is None else round(x, nd)


# --------------------------------------------------------------------------
# one community

# Mesh stats of a daemon with the overlay (absent before it): summed and
# maxed over the nodes in the links record.
OVERLAY_STATS = ("known_peers", "inbound_refused", "redirects_received")


class Community:
    def __init__(self, args, n, topology, base):
        self.args = args
        self.n = n
        self.topology = topology
        self.base = base
        self.dirs = [os.path.join(base, "n%d" % i) for i in range(n)]
        self.logs = [os.path.join(base, "n%d.log" % i) for i in range(n)]
        self.ports = []
        self.ids = [None] * n
        self.pids = [None] * n
        self.started_at = [None] * n
        self.ctl = Control(n)
        self.records = []
        self.notes = []
        self.pool = ThreadPoolExecutor(max_workers=args.jobs)

    def rec(self, kind, **kv):
        r = {"bench": "mesh", "record": kind, "n": self.n, "topology": self.topology}
        r.update(kv)
        self.records.append(r)
        return r

    def log(self, msg):
        print("[%s n=%d %s] %s" % (time.strftime("%H:%M:%S"), self.n, self.topology, msg), flush=True)

    # -- growth

    def start(self, i):
        # No HTTP listener: hundreds of nodes would need a port each (and fds).
        cmd = [HEARTHD, "--data-dir", self.dirs[i], "--listen", "tcp://127.0.0.1:%d" % self.ports[i],
               "--http", "off"]
        cmd += self.args.hearthd_arg
        nice = 0 if i == 0 else self.args.node_nice
        with open(self.logs[i], "ab") as lf:
            p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=lf, stderr=subprocess.STDOUT,
                                 start_new_session=True, preexec_fn=lambda: _child_setup(nice))
        CHILDREN[p.pid] = p
        self.pids[i] = p.pid
        self.started_at[i] = time.monotonic()

    def alive(self, i):
        p = CHILDREN.get(self.pids[i]) if self.pids[i] else None
        return p is not None and p.poll() is None

    def levels(self, idx, timeout_s=5.0):
        """{i: level or None} from node.id on each of IDX."""
        rep = self.ctl.call_many({self.dirs[i]: ("node.id", {}) for i in idx}, timeout_s)
        return {i: (rep[self.dirs[i]] or {}).get("output", {}).get("level") for i in idx}

    def wait_answering(self, idx, deadline_s):
        end = time.monotonic() + deadline_s
        left = set(idx)
        while left and time.monotonic() < end:
            dead = [i for i in left if not self.alive(i)]
            if dead:
                raise RuntimeError("hearthd exited at start: node(s) %s (see %s)"
                                   % (dead, ", ".join(self.logs[i] for i in dead[:3])))
            got = self.levels(left, 1.0)
            left = {i for i in left if got[i] is None}
            if left:
                time.sleep(0.05)
        if left:
            raise RuntimeError("node(s) %s did not answer within %ss" % (sorted(left), deadline_s))

    def wait_members(self, idx, deadline_s):
        """Wait until the nodes IDX are members in their own view; returns the ones that are not."""
        end = time.monotonic() + deadline_s
        left = set(idx)
        while left and time.monotonic() < end:
            got = self.levels(left, 2.0)
            left = {i for i in left if got[i] in (None, "none")}
            if left:
                time.sleep(0.2)
        return left

    def identity(self, i):
        self.ids[i] = ctl(self.dirs[i], "init", "--identity-only").splitlines()[-1].strip()

    def invite_join(self, inviter, i):
        inv = os.path.join(self.base, "invite-n%d.json" % i)
        ctl(self.dirs[inviter], "invite", self.ids[i], "--out", inv)
        ctl(self.dirs[i], "join", inv)

    def grow(self):
        a = self.args
        n = self.n
        self.ports = free_ports(n)
        t0 = time.monotonic()
        ctl(self.dirs[0], "init", "--community", "scale-%d-%s" % (n, self.topology))
        self.ids[0] = json.loads(ctl(self.dirs[0], "id", "--json"))["node_id"]
        self.start(0)
        self.wait_answering([0], 30)
        list(self.pool.map(self.identity, range(1, n)))
        self.log("node 0 up, %d identities made in %.1fs" % (n - 1, time.monotonic() - t0))
        late = set()
        if self.topology == "star":
            for b0 in range(1, n, a.batch):
                batch = list(range(b0, min(n, b0 + a.batch)))
                list(self.pool.map(lambda i: self.invite_join(0, i), batch))
                for i in batch:
                    self.start(i)
                self.wait_answering(batch, 60)
                missing = self.wait_members(batch, a.batch_deadline)
                late |= missing
                self.log("nodes %d..%d started; %d not members after %ss%s"
                         % (batch[0], batch[-1], len(missing), a.batch_deadline if missing else 0,
                            "" if not missing else " (%s)" % sorted(missing)[:8]))
        else:
            for i in range(1, n):
                if self.wait_members([i - 1], a.batch_deadline):
                    late.add(i - 1)
                    raise RuntimeError("chain broken: node %d is not a member after %ss, so it cannot invite node %d"
                                       % (i - 1, a.batch_deadline, i))
                self.invite_join(i - 1, i)
                self.start(i)
                self.wait_answering([i], 60)
                if i % 25 == 0:
                    self.log("node %d started" % i)
        t_started = time.monotonic()
        # Every node a member in its own view, and every node's log holding
        # every join (node 0's view included).
        end = t_started + a.member_deadline
        not_members = set(range(n))
        lacking = set(range(n))
        joins = {}

        def count_joins(timeout):
            # Ask the nodes still lacking joins for their counts; a node that
            # holds every other node's join leaves `lacking`.
            rep = self.ctl.call_many({self.dirs[i]: ("node.stats", {}) for i in lacking}, timeout)
            for i in list(lacking):
                r = rep[self.dirs[i]]
                if r and "output" in r:
                    joins[i] = r["output"]["events"]["by_type"].get("community.member.joined", 0)
                    if joins[i] >= n - 1:
                        lacking.discard(i)

        while time.monotonic() < end:
            if not_members:
                got = self.levels(not_members, 2.0)
                not_members = {i for i in not_members if got[i] in (None, "none")}
            if lacking:
                count_joins(5.0)
            if not not_members and not lacking:
                break
            time.sleep(2.0)
        t_members = time.monotonic()
        # A saturated node may answer late: ask the ones left once more with
        # a long timeout, so "no answer" is not taken for "not a member".
        unanswered = set()
        if not_members:
            got = self.levels(not_members, SLOW_CALL_S)
            unanswered = {i for i in not_members if got[i] is None}
            not_members = {i for i in not_members if got[i] == "none"}
        if lacking:
            count_joins(SLOW_CALL_S)
        members = n - len(not_members) - len(unanswered)
        r = self.rec("grow", seconds_to_start=rnd(t_started - t0, 1),
                     seconds_to_all_members=None if not_members or lacking or unanswered else rnd(t_members - t0, 1),
                     members=members, not_members=sorted(not_members)[:50],
                     unanswered=sorted(unanswered)[:50],
                     joins_seen_by_node0=joins.get(0),
                     nodes_missing_joins=len(lacking),
                     member_deadline_s=a.member_deadline)
        self.log("grown: %d/%d members, node 0 sees %s joins, %d nodes lack joins (%.1fs)"
                 % (members, n, r["joins_seen_by_node0"], len(lacking), t_members - t0))
        self.members = [i for i in range(n) if i not in not_members and i not in unanswered]

    # -- visibility

    def visibility(self):
        a = self.args
        rng = random.Random(a.seed + self.n)
        lat = []
        lat_lo = []
        missing = 0
        intervals = []
        probe_cpu0 = time.process_time()
        t_start = time.monotonic()
        for k in range(a.posts):
            if not self.members:
                break
            author = rng.choice(self.members)
            title = "scale post %d from node %d" % (k, author)
            rep = self.ctl.call(self.dirs[author], "market.post",
                                {"category": "info", "title": title, "body": "body of " + title}, 10.0)
            t_acc = time.monotonic()
            if not rep or "output" not in rep:
                self.notes.append("post %d on node %d failed: %s" % (k, author, rep))
                continue
            eid = rep["output"]["event_id"]
            others = [self.dirs[i] for i in self.members if i != author]
            seen, ivl = self.watch(eid, others, t_acc, a.post_deadline)
            intervals.append(ivl)
            lat.extend(hi for _, hi in seen.values())
            lat_lo.extend(lo for lo, _ in seen.values())
            missing += len(others) - len(seen)
            time.sleep(a.post_gap)
        probe_cpu = time.process_time() - probe_cpu0
        ms = [x * 1000 for x in lat]
        lo_ms = [x * 1000 for x in lat_lo]
        r = self.rec("visibility", posts=a.posts, pairs=len(ms) + missing,
                     non_members_not_watched=self.n - len(self.members), seen=len(ms), missing=missing,
                     p50_ms=rnd(pct(ms, 50), 1), p90_ms=rnd(pct(ms, 90), 1), p99_ms=rnd(pct(ms, 99), 1),
                     max_ms=rnd(max(ms) if ms else None, 1),
                     lo_p50_ms=rnd(pct(lo_ms, 50), 1), lo_p99_ms=rnd(pct(lo_ms, 99), 1),
                     poll_interval_ms_mean=rnd(statistics.mean(intervals) * 1000 if intervals else None, 1),
                     probe_cpu_s=rnd(probe_cpu, 2), seconds=rnd(time.monotonic() - t_start, 1))
        self.log("visibility: %d/%d pairs, p50 %s ms, p99 %s ms, max %s ms (poll interval ~%s ms)"
                 % (r["seen"], r["pairs"], r["p50_ms"], r["p99_ms"], r["max_ms"], r["poll_interval_ms_mean"]))

    def watch(self, eid, dirs, t_acc, deadline_s):
        """Poll DIRS with market.get EID until each has it: {dir: (lower, upper)
        bound of its arrival in seconds after T_ACC}, and the mean interval
        between two polls of one node."""
        rate = float(self.args.poll_rate)
        burst = max(1.0, rate * 0.005)
        pending = set(dirs)
        heap = [(0.0, d) for d in dirs]          # (when due, dir) of nodes not in flight
        inflight = {}
        seen = {}
        gaps = []
        last_sent = {}
        last_neg = {}                            # dir -> send time of its last "not found"
        end = t_acc + deadline_s
        tokens, last = burst, time.monotonic()
        while pending and time.monotonic() < end:
            now = time.monotonic()
            tokens = min(burst, tokens + (now - last) * rate)
            last = now
            while heap and heap[0][0] <= now and tokens >= 1.0:
                _, d = heapq.heappop(heap)
                if self.ctl.send(d, "market.get", {"event_id": eid}):
                    inflight[d] = now
                    if d in last_sent:
                        gaps.append(now - last_sent[d])
                    last_sent[d] = now
                    tokens -= 1.0
                else:
                    heapq.heappush(heap, (now + 0.005, d))
            if inflight:
                ready = self.ctl.poll(list(inflight), 2)
            else:
                ready = []
                time.sleep(0.001)
            t = time.monotonic()
            ivl = max(0.005, len(pending) / rate)
            for d in ready:
                r = self.ctl.recv(d)
                if r is None:
                    continue
                inflight.pop(d, None)
                if "output" in r:
                    seen[d] = (max(0.0, last_neg.get(d, t_acc) - t_acc), t - t_acc)
                    pending.discard(d)
                else:
                    last_neg[d] = last_sent[d]
                    heapq.heappush(heap, (t + ivl, d))
            for d, ts in list(inflight.items()):
                if t - ts > 5.0:                   # no answer: a fresh socket
                    self.ctl.drop(d)
                    inflight.pop(d)
                    heapq.heappush(heap, (t, d))
        for d in inflight:
            self.ctl.drop(d)
        return seen, (statistics.mean(gaps) if gaps else 0.0)

    # -- links and bytes

    def mesh_state(self):
        calls = {self.dirs[i]: ("node.peers", {}) for i in range(self.n)}
        peers = self.ctl.call_many(calls, SLOW_CALL_S)
        stats = self.ctl.call_many({self.dirs[i]: ("node.stats", {}) for i in range(self.n)}, SLOW_CALL_S)
        out = []
        for i in range(self.n):
            p = (peers[self.dirs[i]] or {}).get("output", {}).get("peers")
            s = (stats[self.dirs[i]] or {}).get("output", {}).get("mesh")
            if p is None or s is None:
                out.append(None)
                continue
            up = [x for x in p if x.get("connected")]
            out.append({"links": len(up),
                        "in": sum(1 for x in up if x.get("direction") == "in"),
                        "out": sum(1 for x in up if x.get("direction") == "out"),
                        "neighbours": len({x["node_id"] for x in up}),
                        "known": len(p),
                        "bytes_in": s.get("bytes_in", 0), "bytes_out": s.get("bytes_out", 0),
                        # Overlay counters, where the daemon has them.
                        "ov": {k: s[k] for k in OVERLAY_STATS if k in s}})
        return out

    def links(self, state):
        ok = [(i, s) for i, s in enumerate(state) if s]
        links = [s["links"] for _, s in ok]
        if not links:
            return self.rec("links", nodes_answering=0)
        mean = statistics.mean(links)
        top = sorted(ok, key=lambda x: -x[1]["links"])[:5]
        r = self.rec("links", nodes_answering=len(ok), max=max(links), mean=rnd(mean, 2), min=min(links),
                     median=statistics.median(links), max_over_mean=rnd(max(links) / mean if mean else None, 2),
                     node0=state[0]["links"] if state[0] else None,
                     node0_in=state[0]["in"] if state[0] else None,
                     hubs=[{"node": i, "links": s["links"], "in": s["in"], "out": s["out"]} for i, s in top],
                     neighbours_max=max(s["neighbours"] for _, s in ok),
                     neighbours_mean=rnd(statistics.mean(s["neighbours"] for _, s in ok), 2),
                     nodes_over_2x_mean=sum(1 for x in links if x > 2 * mean),
                     zero_link_nodes=sum(1 for x in links if x == 0))
        for k in OVERLAY_STATS:
            v = [x["ov"][k] for _, x in ok if k in x["ov"]]
            if v:
                r["overlay_" + k] = {"sum": sum(v), "max": max(v), "mean": rnd(statistics.mean(v), 1)}
        self.log("links per node: max %d (node %d), mean %.2f, min %d; node 0 %s (%s in)"
                 % (r["max"], top[0][0], mean, r["min"], r["node0"], r["node0_in"]))
        return r

    def bytes_delta(self, before, after, per):
        d = []
        for b, a in zip(before, after):
            if b and a:
                d.append((a["bytes_in"] + a["bytes_out"] - b["bytes_in"] - b["bytes_out"]) / per)
        if not d:
            return None
        return {"mean": rnd(statistics.mean(d), 0), "median": rnd(statistics.median(d), 0),
                "max": rnd(max(d), 0), "node0": rnd(d[0], 0) if before[0] and after[0] else None}

    # -- idle

    def idle(self):
        a = self.args
        time.sleep(a.settle_seconds)
        live = [i for i in range(self.n) if self.alive(i)]
        before = self.mesh_state()
        c0 = {i: proc_cpu_ticks(self.pids[i]) for i in live}
        m0 = machine_ticks()
        l0 = os.getloadavg()
        t0 = time.monotonic()
        time.sleep(a.idle_seconds)
        c1 = {i: proc_cpu_ticks(self.pids[i]) for i in live}
        m1 = machine_ticks()
        t1 = time.monotonic()
        l1 = os.getloadavg()
        after = self.mesh_state()
        minutes = (t1 - t0) / 60.0
        per = {i: (c1[i] - c0[i]) / CLK_TCK / minutes for i in live if c0[i] is not None and c1[i] is not None}
        vals = list(per.values())
        others = [v for i, v in per.items() if i != 0]
        r = self.rec("idle_cpu", window_s=rnd(t1 - t0, 1), nodes=len(vals),
                     cpu_s_per_min_median=rnd(statistics.median(vals), 3),
                     cpu_s_per_min_mean=rnd(statistics.mean(vals), 3),
                     cpu_s_per_min_p90=rnd(pct(vals, 90), 3), cpu_s_per_min_max=rnd(max(vals), 3),
                     cpu_s_per_min_min=rnd(min(vals), 3), cpu_s_per_min_node0=rnd(per.get(0), 3),
                     cpu_s_per_min_others_median=rnd(statistics.median(others), 3) if others else None,
                     busiest=sorted(per, key=lambda i: -per[i])[:5],
                     cores_used_all_nodes=rnd(sum(vals) / 60.0, 2),
                     loadavg_1m=[l0[0], l1[0]],
                     machine_idle_pct=rnd(100.0 * (m1[1] - m0[1]) / max(1, m1[0] - m0[0]), 1),
                     saturated=(m1[1] - m0[1]) < 0.05 * (m1[0] - m0[0]),
                     idle_bytes_per_min_per_node=self.bytes_delta(before, after, minutes))
        self.idle_rec = r
        self.log("idle: median %.3f CPU-s/min per node (node 0 %.3f, max %.3f), all nodes %.2f cores"
                 % (r["cpu_s_per_min_median"], per.get(0, float("nan")), r["cpu_s_per_min_max"],
                    r["cores_used_all_nodes"]))
        rss = [(i, proc_rss_kib(self.pids[i])) for i in live]
        rss = [(i, k) for i, k in rss if k]
        mib = [k / 1024.0 for _, k in rss]
        fds = [proc_fds(self.pids[i]) for i in live]
        fds = [x for x in fds if x is not None]
        self.rec("rss", nodes=len(mib), mib_median=rnd(statistics.median(mib), 1),
                 mib_mean=rnd(statistics.mean(mib), 1), mib_max=rnd(max(mib), 1),
                 mib_node0=rnd(dict(rss).get(0, 0) / 1024.0, 1), mib_total=rnd(sum(mib), 0),
                 fds_max=max(fds) if fds else None, fds_node0=proc_fds(self.pids[0]))
        return r

    # -- logs

    def scan_logs(self):
        counts = {"WARN": 0, "ERROR": 0}
        by_msg = {}
        abandoned = 0
        nodes_warn = 0
        crash = 0
        crash_lines = {}
        for i, path in enumerate(self.logs):
            try:
                with open(path, errors="replace") as f:
                    lines = f.readlines()
            except OSError:
                continue
            warned = False
            for line in lines:
                if "Assertion failed" in line or "Sanitizer" in line or "runtime error:" in line:
                    crash += 1
                    crash_lines[line.strip()[:160]] = crash_lines.get(line.strip()[:160], 0) + 1
                m = re.match(r"\S+ (WARN|ERROR)\s+\[(\w+)\] (.*)", line)
                if not m:
                    continue
                warned = True
                counts[m.group(1)] += 1
                if "abandoned: no progress" in line:
                    abandoned += 1
                msg = re.sub(r"ed25519:[A-Za-z0-9_-]+|\b[0-9A-Z]{26}\b|\d+(\.\d+)?", "#", m.group(3))
                msg = "%s [%s] %s" % (m.group(1), m.group(2), msg[:120])
                by_msg[msg] = by_msg.get(msg, 0) + 1
            nodes_warn += warned
        top = sorted(by_msg.items(), key=lambda x: -x[1])[:8]
        r = self.rec("logs", warn=counts["WARN"], error=counts["ERROR"], abandoned_no_progress=abandoned,
                     nodes_with_warnings=nodes_warn,
                     crash_lines=crash, crashes=[{"count": c, "line": m} for m, c in crash_lines.items()], top=[{"count": c, "message": m} for m, c in top])
        self.log("logs: %d WARN, %d ERROR, %d 'abandoned: no progress' on %d node(s)"
                 % (r["warn"], r["error"], abandoned, nodes_warn))

    # -- all of it

    def run(self):
        os.makedirs(self.base)
        self.grow()
        time.sleep(self.args.settle_seconds)
        s0 = self.mesh_state()
        tp = time.monotonic()
        self.visibility()
        s1 = self.mesh_state()
        tp = time.monotonic() - tp
        self.links(s1)
        posts = max(1, self.args.posts)
        b = self.bytes_delta(s0, s1, posts)
        pb = self.rec("post_bytes", bytes_per_post_per_node=b, phase_s=rnd(tp, 1),
                      note="gossip message bytes in+out per node during the posts phase, / posts; "
                           "net_*: less the idle window's bytes a minute over the phase's length")
        idle = self.idle()
        ib = idle.get("idle_bytes_per_min_per_node")
        if b and ib:
            for k in ("mean", "median", "max"):
                pb["net_" + k] = rnd(max(0.0, b[k] - ib[k] * tp / 60.0 / posts), 0)

    def stop(self):
        pids = [p for p in self.pids if p]
        early = {pid: CHILDREN[pid].returncode for pid in pids
                 if pid in CHILDREN and CHILDREN[pid].poll() is not None}
        stop_children(pids)
        bad = {i: EXITS.get(p) for i, p in enumerate(self.pids)
               if p and EXITS.get(p) not in (0, None) and p not in KILLED}
        killed = sum(1 for p in pids if p in KILLED)
        self.rec("exits", nodes=len(pids), exited_before_stop=len(early), nonzero_exits=len(bad),
                 killed_after_grace=killed,
                 nonzero=[{"node": i, "status": st} for i, st in sorted(bad.items())[:20]],
                 note="status of each hearthd after SIGTERM at the end (negative: killed by that signal)")
        if bad:
            self.log("%d node(s) exited with a non-zero status: %s" % (len(bad), sorted(bad.items())[:10]))
        self.ctl.close()
        self.pool.shutdown()


# --------------------------------------------------------------------------
# the run

def goals(records, sizes):
    g = []
    by = {}
    records = [r for r in records if "topology" in r]
    for r in records:
        by.setdefault((r["topology"], r["n"], r["record"]), r)
    for topo in sorted({r["topology"] for r in records}):
        for n in sizes:
            gr = by.get((topo, n, "grow"))
            li = by.get((topo, n, "links"))
            vi = by.get((topo, n, "visibility"))
            if gr:
                g.append({"topology": topo, "n": n, "goal": "every node a member",
                          "value": "%d/%d" % (gr["members"], n),
                          "met": gr["members"] == n and gr["nodes_missing_joins"] == 0})
            if li and li.get("max") is not None:
                g.append({"topology": topo, "n": n, "goal": "max links <= 2 x mean",
                          "value": "%d vs 2 x %.2f (%d/%d nodes answered)" % (li["max"], li["mean"], li["nodes_answering"], n),
                          "met": li["max"] <= 2 * li["mean"] and li["nodes_answering"] == n})
            if vi:
                g.append({"topology": topo, "n": n, "goal": "every post on every node",
                          "value": "%d/%d pairs" % (vi["seen"], vi["pairs"]), "met": vi["missing"] == 0})
        lo = by.get((topo, min(sizes), "idle_cpu"))
        hi = by.get((topo, max(sizes), "idle_cpu"))
        if lo and hi and lo is not hi:
            ratio = hi["cpu_s_per_min_median"] / lo["cpu_s_per_min_median"] if lo["cpu_s_per_min_median"] else None
            mratio = hi["cpu_s_per_min_max"] / lo["cpu_s_per_min_max"] if lo["cpu_s_per_min_max"] else None
            g.append({"topology": topo, "n": max(sizes), "goal": "idle CPU per node independent of size",
                      "value": "median %.3f at %d vs %.3f at %d CPU-s/min: x%.2f (busiest node: x%.2f)"
                               % (hi["cpu_s_per_min_median"], max(sizes), lo["cpu_s_per_min_median"],
                                  min(sizes), ratio or float("nan"), mratio or float("nan")),
                      "ratio": rnd(ratio, 3), "max_ratio": rnd(mratio, 3),
                      # Within noise: the idle window's tick count resolution and
                      # a shared machine; 1.25 is the bound this bench applies.
                      "met": ratio is not None and ratio <= 1.25})
    return g


def table(records, gl):
    by = {}
    records = [r for r in records if "topology" in r]
    for r in records:
        by[(r["topology"], r["n"], r["record"])] = r
    keys = sorted({(r["topology"], r["n"]) for r in records}, key=lambda k: (k[0], k[1]))
    rows = [
        ("members", lambda t, n: "%s/%d" % (by[(t, n, "grow")]["members"], n) if (t, n, "grow") in by else "-"),
        ("s to all members", lambda t, n: by.get((t, n, "grow"), {}).get("seconds_to_all_members")),
        ("nodes answering (links)", lambda t, n: by.get((t, n, "links"), {}).get("nodes_answering")),
        ("links max/mean/min", lambda t, n: "%s/%s/%s" % (by[(t, n, "links")]["max"], by[(t, n, "links")]["mean"],
                                                          by[(t, n, "links")]["min"]) if (t, n, "links") in by and "max" in by[(t, n, "links")] else "-"),
        ("links node 0 (in)", lambda t, n: "%s (%s)" % (by[(t, n, "links")].get("node0"), by[(t, n, "links")].get("node0_in")) if (t, n, "links") in by else "-"),
        ("visible p50/p99 ms", lambda t, n: "%s/%s" % (by[(t, n, "visibility")]["p50_ms"], by[(t, n, "visibility")]["p99_ms"]) if (t, n, "visibility") in by else "-"),
        ("  lower bounds p50/p99", lambda t, n: "%s/%s" % (by[(t, n, "visibility")]["lo_p50_ms"], by[(t, n, "visibility")]["lo_p99_ms"]) if (t, n, "visibility") in by else "-"),
        ("post pairs missing", lambda t, n: by.get((t, n, "visibility"), {}).get("missing")),
        ("poll interval ms", lambda t, n: by.get((t, n, "visibility"), {}).get("poll_interval_ms_mean")),
        ("B/post/node median", lambda t, n: ((by.get((t, n, "post_bytes")) or {}).get("bytes_per_post_per_node") or {}).get("median")),
        ("  net of idle traffic", lambda t, n: by.get((t, n, "post_bytes"), {}).get("net_median")),
        ("B/post/node max", lambda t, n: ((by.get((t, n, "post_bytes")) or {}).get("bytes_per_post_per_node") or {}).get("max")),
        ("idle CPU-s/min median", lambda t, n: by.get((t, n, "idle_cpu"), {}).get("cpu_s_per_min_median")),
        ("idle CPU-s/min node 0", lambda t, n: by.get((t, n, "idle_cpu"), {}).get("cpu_s_per_min_node0")),
        ("idle CPU-s/min max", lambda t, n: by.get((t, n, "idle_cpu"), {}).get("cpu_s_per_min_max")),
        ("machine idle % (window)", lambda t, n: by.get((t, n, "idle_cpu"), {}).get("machine_idle_pct")),
        ("idle cores, all nodes", lambda t, n: by.get((t, n, "idle_cpu"), {}).get("cores_used_all_nodes")),
        ("idle B/min/node median", lambda t, n: ((by.get((t, n, "idle_cpu")) or {}).get("idle_bytes_per_min_per_node") or {}).get("median")),
        ("idle B/min node 0", lambda t, n: ((by.get((t, n, "idle_cpu")) or {}).get("idle_bytes_per_min_per_node") or {}).get("node0")),
        ("RSS MiB median/max", lambda t, n: "%s/%s" % (by[(t, n, "rss")]["mib_median"], by[(t, n, "rss")]["mib_max"]) if (t, n, "rss") in by else "-"),
        ("fds node 0", lambda t, n: by.get((t, n, "rss"), {}).get("fds_node0")),
        ("log WARN/ERROR", lambda t, n: "%s/%s" % (by[(t, n, "logs")]["warn"], by[(t, n, "logs")]["error"]) if (t, n, "logs") in by else "-"),
        ("'abandoned: no progress'", lambda t, n: by.get((t, n, "logs"), {}).get("abandoned_no_progress")),
        ("crash lines in logs", lambda t, n: by.get((t, n, "logs"), {}).get("crash_lines")),
        ("SIGKILLed (SIGTERM > 20 s)", lambda t, n: by.get((t, n, "exits"), {}).get("killed_after_grace")),
        ("non-zero exits at stop", lambda t, n: by.get((t, n, "exits"), {}).get("nonzero_exits")),
    ]
    w = 26
    out = ["%-*s" % (w, "") + "".join("%16s" % ("%s %d" % k) for k in keys)]
    for name, f in rows:
        cells = []
        for t, n in keys:
            try:
                v = f(t, n)
            except (KeyError, TypeError):
                v = "-"
            cells.append("%16s" % ("-" if v is None else v))
        out.append("%-*s" % (w, name) + "".join(cells))
    out.append("")
    for x in gl:
        out.append("goal %-40s %-6s %s %d: %s" % (x["goal"], "MET" if x["met"] else "MISSED", x["topology"], x["n"], x["value"]))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default=os.environ.get("MESH_SIZES", "10,260"), help="community sizes, smallest first")
    ap.add_argument("--topology", default=os.environ.get("MESH_TOPOLOGY", "star"), help="star, chain or star,chain")
    ap.add_argument("--posts", type=int, default=int(os.environ.get("MESH_POSTS", "10")))
    ap.add_argument("--post-gap", type=float, default=0.5, help="seconds between a post seen everywhere and the next")
    ap.add_argument("--post-deadline", type=float, default=30.0, help="seconds a post may take to reach every node")
    ap.add_argument("--poll-rate", type=float, default=3000.0, help="market.get requests a second, all nodes together")
    ap.add_argument("--idle-seconds", type=float, default=float(os.environ.get("MESH_IDLE_SECONDS", "60")))
    ap.add_argument("--settle-seconds", type=float, default=5.0, help="pause after growing (before the posts) and after the posts (before the idle window)")
    ap.add_argument("--batch", type=int, default=26, help="star: nodes invited and started together")
    ap.add_argument("--batch-deadline", type=float, default=60.0, help="seconds a batch (chain: a node) may take to become members")
    ap.add_argument("--member-deadline", type=float, default=float(os.environ.get("MESH_MEMBER_DEADLINE", "120")),
                    help="seconds after the last start for every node to be a member")
    ap.add_argument("--node-nice", type=int, default=int(os.environ.get("MESH_NODE_NICE", "19")),
                    help="nice increment of every node but node 0 (the inviter, which must answer its "
                         "invites while the others share the cores with it)")
    ap.add_argument("--jobs", type=int, default=4, help="hearthctl processes at once while growing")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dir", default=os.environ.get("MESH_DIR"))
    ap.add_argument("--keep", action="store_true", help="keep the node data dirs even after a run that met its goals")
    ap.add_argument("--jsonl", action="store_true", help="also print the JSON lines")
    ap.add_argument("--hearthd-arg", action="append", default=[], help="extra hearthd argument (repeatable)")
    a = ap.parse_args()
    sizes = sorted(int(x) for x in a.sizes.split(","))
    topologies = [t.strip() for t in a.topology.split(",")]
    for t in topologies:
        if t not in ("star", "chain"):
            ap.error("unknown topology %s" % t)
    for b in (HEARTHD, HEARTHCTL):
        if not os.access(b, os.X_OK):
            ap.error("no %s: build first (scripts/bench.sh mesh builds it) or set HEARTHD/HEARTHCTL" % b)
    base = a.dir or "/tmp/hearth-mesh-%s" % time.strftime("%Y%m%d-%H%M%S")
    os.makedirs(base, exist_ok=True)
    # Each node holds one fd per link and RocksDB's files; this process one
    # ZeroMQ socket (and its fds) per node: lift the soft limit to the hard one.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft < 4 * max(sizes) + 256:
        print("warning: open files limit %d is low for %d nodes (ulimit -n)" % (soft, max(sizes)), file=sys.stderr)
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    machine = {"bench": "mesh", "record": "machine", "cpus": os.cpu_count(),
               "loadavg": os.getloadavg(), "nofile": soft,
               "git": subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                                     capture_output=True, text=True).stdout.strip(),
               "sizes": sizes, "topologies": topologies, "posts": a.posts, "idle_seconds": a.idle_seconds,
               "dir": base}
    print("mesh scale run in %s: sizes %s, %s; %d CPUs, load %s, ulimit -n %d"
          % (base, sizes, "+".join(topologies), os.cpu_count(), machine["loadavg"], soft), flush=True)
    records = [machine]
    status = 2
    comm = None
    try:
        for topo in topologies:
            for n in sizes:
                comm = Community(a, n, topo, os.path.join(base, "%s-%d" % (topo, n)))
                try:
                    comm.run()
                finally:
                    comm.stop()           # the exit statuses, then the logs up to the end
                    comm.scan_logs()
                    records += comm.records
                    comm = None
        gl = goals(records, sizes)
        for x in gl:
            records.append(dict({"bench": "mesh", "record": "goal"}, **x))
        print()
        print(table(records, gl))
        status = 0 if all(x["met"] for x in gl) else 1
    except KeyboardInterrupt as e:
        print("interrupted (%s); stopping every node" % (e or "Ctrl-C"), file=sys.stderr)
        status = 2
    except Exception as e:       # noqa: BLE001 — report, keep everything, stop the nodes
        print("run broke: %s" % e, file=sys.stderr)
        records.append({"bench": "mesh", "record": "broke", "error": str(e)})
        status = 2
    finally:
        stop_children()
        with open(os.path.join(base, "results.jsonl"), "a") as f:
            for r in records:
                f.write(json.dumps(r) + "\n")
        if a.jsonl:
            for r in records:
                print(json.dumps(r))
        if status == 0 and not a.keep:
            for sub in os.listdir(base):
                p = os.path.join(base, sub)
                if os.path.isdir(p):
                    for s in os.listdir(p):
                        if re.fullmatch(r"n\d+", s):
                            shutil.rmtree(os.path.join(p, s), ignore_errors=True)
        print("results: %s/results.jsonl; logs: %s/*/n*.log%s"
              % (base, base, "" if status == 0 and not a.keep else "; data dirs kept"), flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
