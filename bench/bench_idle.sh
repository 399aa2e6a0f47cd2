#!/usr/bin/env bash
# bench_idle.sh — what an idle hearthd costs, alone and in meshes of growing
# size, measured in one run (scripts/bench.sh idle; docs/performance.md,
# "Idle cost").
#
#   bench/bench_idle.sh [SIZE...]        default sizes: 1 10 40
#
# One cluster per SIZE (scripts/cluster.sh up SIZE, a star: everyone invited
# by node 1, links then learned from hellos), all running at once; after
# IDLE_SETTLE_S (default 15) for joins and their first reconciliations, every
# node is sampled, left alone for IDLE_SECONDS (default 60), and sampled
# again. Nothing is posted meanwhile. Per cluster it prints, per node:
#   links        connected peer links (mean / max)
#   cpu s/min    utime+stime from /proc/PID/stat, CPU-seconds per minute
#                (mean / max; ratio of the mean to the first size's, the
#                lone node of the same run). Counted in 10 ms ticks: too
#                coarse for a node that idles well, hence:
#   run s/min    the same from /proc/PID/task/*/schedstat (ns, not ticks)
#   wake/s       context switches per second over all threads
#                (voluntary + involuntary, /proc/PID/task/*/status)
#   main wake/s  those of the main (zloop) thread
#   B/min/link   gossip bytes in+out per minute per link (`hearthctl peers`;
#                ZMTP heartbeats and CURVE framing are not counted there)
# then a least-squares line of run s/min against links over every node (the
# cost of a node and of each link), the ratio of the largest size's run
# s/min to the one before, and,
# for the first and the last size, the split by thread name.
#
# Environment: HEARTHD, HEARTHCTL (default build/node/ of this checkout),
# IDLE_SECONDS, IDLE_SETTLE_S, IDLE_DIR (scratch dir, default a fresh
# mktemp -d, removed at the end unless IDLE_KEEP=1).
# Processes are only ever signalled by the pids in the clusters' pid files.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
export HEARTHD=${HEARTHD:-$ROOT/build/node/hearthd}
export HEARTHCTL=${HEARTHCTL:-$ROOT/build/node/hearthctl}
export CLUSTER_DEADLINE_S=${CLUSTER_DEADLINE_S:-120}
IDLE_SECONDS=${IDLE_SECONDS:-60}
IDLE_SETTLE_S=${IDLE_SETTLE_S:-15}
if [ -x /usr/bin/python3 ]; then PYTHON=${PYTHON:-/usr/bin/python3}; else PYTHON=${PYTHON:-python3}; fi
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(1 10 40)
DIR=${IDLE_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/hearth-idle.XXXXXX")}
mkdir -p "$DIR"

cleanup () {
    local s
    for s in "${SIZES[@]}"; do
        [ -f "$DIR/c$s/cluster.env" ] && bash "$ROOT/scripts/cluster.sh" down "$DIR/c$s" >/dev/null 2>&1 || true
    done
    [ "${IDLE_KEEP:-0}" = 1 ] || rm -rf "$DIR"
}
trap cleanup EXIT

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "hearthd: $HEARTHD"
for s in "${SIZES[@]}"; do
    t0=$(date +%s)
    bash "$ROOT/scripts/cluster.sh" up "$s" "$DIR/c$s" >"$DIR/up$s.log" 2>&1 \
        || { cat "$DIR/up$s.log" >&2; exit 1; }
    echo "cluster of $s up in $(( $(date +%s) - t0 )) s"
done
echo "settling ${IDLE_SETTLE_S} s, then idle for ${IDLE_SECONDS} s (load $(cut -d' ' -f1-3 /proc/loadavg))"
sleep "$IDLE_SETTLE_S"

# sample OUT: one JSON document: per cluster, per node: pid, process ticks,
# per-thread (name, ticks, runtime ns, switches), per-peer bytes.
sample () {
    local out=$1 s i
    {
        for s in "${SIZES[@]}"; do
            for i in $(seq 1 "$s"); do
                local d="$DIR/c$s/n$i"
                echo "node $s $i $(cat "$DIR/c$s/n$i.pid") $d"
                # A loaded machine may answer slowly: three tries, else no
                # bytes for this node (its CPU figures do not need them).
                local try peers=null
                for try in 1 2 3; do
                    peers=$("$HEARTHCTL" --data-dir "$d" --timeout 30000 peers --json 2>/dev/null | tr -d '\n') \
                        && [ -n "$peers" ] && break
                    peers=null
                done
                echo "$peers"
            done
        done
    } >"$out.raw"
    "$PYTHON" - "$out.raw" "$out" <<'PY'
import json, os, sys, time
raw, out = sys.argv[1], sys.argv[2]
lines = open(raw).read().splitlines()
nodes = []
for k in range(0, len(lines), 2):
    _, size, idx, pid, d = lines[k].split(" ", 4)
    doc = json.loads(lines[k + 1])
    peers = doc["peers"] if doc else None
    st = open(f"/proc/{pid}/stat").read()
    f = st[st.rindex(")") + 2:].split()
    ticks = int(f[11]) + int(f[12])          # utime, stime (fields 14, 15)
    threads = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            name = open(f"/proc/{pid}/task/{tid}/comm").read().strip()
            tst = open(f"/proc/{pid}/task/{tid}/stat").read()
            tf = tst[tst.rindex(")") + 2:].split()
            run_ns = int(open(f"/proc/{pid}/task/{tid}/schedstat").read().split()[0])
            sw = 0
            for line in open(f"/proc/{pid}/task/{tid}/status"):
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    sw += int(line.split()[1])
        except OSError:
            continue                          # a thread that just ended
        threads.append({"tid": tid, "name": name, "ticks": int(tf[11]) + int(tf[12]),
                        "run_ns": run_ns, "switches": sw, "main": tid == pid})
    nodes.append({"size": int(size), "i": int(idx), "pid": int(pid), "ticks": ticks,
                  "threads": threads,
                  "links": sum(1 for p in peers if p["connected"]) if peers is not None else None,
                  "bytes": {p["node_id"] + p["direction"]: p["bytes_in"] + p["bytes_out"] for p in peers}
                           if peers is not None else None})
json.dump({"t": time.monotonic(), "nodes": nodes}, open(out, "w"))
PY
}

sample "$DIR/s0.json"
sleep "$IDLE_SECONDS"
sample "$DIR/s1.json"

"$PYTHON" - "$DIR/s0.json" "$DIR/s1.json" "$(getconf CLK_TCK)" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
hz = int(sys.argv[3])
dt = b["t"] - a["t"]
per_min = 60.0 / dt
before = {(n["size"], n["i"]): n for n in a["nodes"]}
rows, by_thread = {}, {}
for n in b["nodes"]:
    m = before[(n["size"], n["i"])]
    if m["pid"] != n["pid"]:
        sys.exit(f"node {n['i']} of the {n['size']}-node cluster restarted during the run")
    t0 = {t["tid"]: t for t in m["threads"]}
    run = sw = main_sw = 0
    for t in n["threads"]:
        o = t0.get(t["tid"], {"ticks": 0, "run_ns": 0, "switches": 0})
        d_run, d_sw, d_ticks = t["run_ns"] - o["run_ns"], t["switches"] - o["switches"], t["ticks"] - o["ticks"]
        run += d_run
        sw += d_sw
        if t["main"]:
            main_sw += d_sw
        name = "main (zloop)" if t["main"] else t["name"]
        agg = by_thread.setdefault(n["size"], {}).setdefault(name, [0, 0, 0])
        agg[0] += d_ticks
        agg[1] += d_run
        agg[2] += d_sw
    if n["bytes"] is None or m["bytes"] is None:
        link_bytes = []
        print(f"node {n['i']} of the {n['size']}-node cluster did not answer `peers`: no bytes or links for it",
              file=sys.stderr)
    else:
        link_bytes = [v - m["bytes"].get(k, 0) for k, v in n["bytes"].items()]
    rows.setdefault(n["size"], []).append({
        "links": n["links"] if n["links"] is not None else m["links"] if m["links"] is not None else 0,
        "cpu": (n["ticks"] - m["ticks"]) / hz * per_min,
        "run": run / 1e9 * per_min,
        "wake": sw / dt, "main_wake": main_sw / dt,
        "bpl": (sum(link_bytes) / len(link_bytes) * per_min) if link_bytes else 0.0})
def mean(xs): return sum(xs) / len(xs)
def ratio(a, b): return f"{a / b:.2f}" if b else "-"
sizes = sorted(rows)
lone = mean([r["cpu"] for r in rows[sizes[0]]])
lone_run = mean([r["run"] for r in rows[sizes[0]]])
print(f"idle {dt:.1f} s; per node: mean / max (ratio of the mean to the {sizes[0]}-node cluster's)")
print(f"{'nodes':>5} {'links':>9} {'cpu s/min':>18} {'ratio':>6} {'run s/min':>18} {'ratio':>6}"
      f" {'wake/s':>12} {'main wake/s':>12} {'B/min/link':>11}")
for s in sizes:
    r = rows[s]
    c, ru = mean([x["cpu"] for x in r]), mean([x["run"] for x in r])
    print(f"{s:>5} {mean([x['links'] for x in r]):>4.1f}/{max(x['links'] for x in r):<4d}"
          f" {c:>8.3f}/{max(x['cpu'] for x in r):<9.3f} {ratio(c, lone):>6}"
          f" {ru:>8.3f}/{max(x['run'] for x in r):<9.3f} {ratio(ru, lone_run):>6}"
          f" {mean([x['wake'] for x in r]):>5.0f}/{max(x['wake'] for x in r):<6.0f}"
          f" {mean([x['main_wake'] for x in r]):>5.0f}/{max(x['main_wake'] for x in r):<6.0f}"
          f" {mean([x['bpl'] for x in r]):>11.0f}")
pts = [(x["links"], x["run"]) for k in sizes for x in rows[k]]
if len({l for l, _ in pts}) > 1:
    ml, mr = mean([l for l, _ in pts]), mean([r for _, r in pts])
    slope = sum((l - ml) * (r - mr) for l, r in pts) / sum((l - ml) ** 2 for l, _ in pts)
    print(f"least squares over all {len(pts)} nodes: run s/min = {mr - slope * ml:.4f} + {slope:.5f} x links")
if len(sizes) > 2:
    a, b = (mean([x["run"] for x in rows[k]]) for k in sizes[-2:])
    print(f"run s/min per node, {sizes[-1]} nodes / {sizes[-2]} nodes: {ratio(b, a)}")
for s in (sizes[0], sizes[-1]):
    n = len(rows[s])
    print(f"by thread, {s}-node cluster, mean per node: name, cpu s/min (ticks), run s/min, wake/s")
    for name, (ticks, run, sw) in sorted(by_thread[s].items(), key=lambda kv: -kv[1][1]):
        print(f"  {name:<16} {ticks / hz * per_min / n:>8.3f} {run / 1e9 * per_min / n:>8.3f} {sw / dt / n:>8.1f}")
PY
