#!/usr/bin/env bash
# bench.sh — Hearth's benchmarks (not tests: they measure, they do not judge).
#
#   scripts/bench.sh ingest [N] [bench_ingest options...]
#       Release build into build-bench (if needed), then bench_ingest: N
#       (default 100000) signed events through the receive pipeline into a
#       fresh RocksDB, against bare libsodium verification of the same
#       events, with 1 and 2 threads. See docs/performance.md.
#
#   scripts/bench.sh ed25519 [N] [bench_ed25519 options...]
#       Release build, then bench_ed25519: Ed25519 batch verification
#       (batches of 16, 64, 256) against libsodium's single verify, on one
#       core, same signatures, same run. See docs/performance.md.
#
#   scripts/bench.sh flood [KIND...]
#       Release build, then bench_gossip flood for each KIND (default: rateless
#       v1 fetch all): a member floods a node with sync requests while the
#       node pushes to an honest peer; the bytes the node sent the flooder per
#       byte it read from it, its budget counters, and the honest push latency
#       before and during the flood. FLOOD_POSTS (1000: 10 s of posts at
#       100/s, the flood during the second half), FLOOD_LOG (10000 posts in
#       the flooded node's log). See docs/performance.md.
#
#   scripts/bench.sh idle [SIZE...]
#       Release build, then bench/bench_idle.sh: a lone node and meshes of
#       SIZE nodes (default 1 10 40) idle at once for IDLE_SECONDS (60); CPU
#       per minute per node, ratio to the lone node, wake-ups per second,
#       bytes per link. HEARTHD/HEARTHCTL run other binaries (a baseline).
#       See docs/performance.md, "Idle cost".
#   scripts/bench.sh sim [NODES...] [hearth_sim options...]
#       Release build, then the in-process simulation of a mesh (sim/,
#       docs/simulation.md) at each NODES (default: 1000 10000): star
#       invites, posts, a partition into halves, a restart with the inviter
#       down, churn; the figures as a table and JSON lines, the goals, and
#       CPU time and peak memory per run. SIM_SEED (default 1), SIM_POSTS
#       (default 50).
#   scripts/bench.sh mesh [bench_mesh_scale.py options...]   (alias: scale)
#       Release build, then bench/bench_mesh_scale.py: communities of real
#       hearthd processes on 127.0.0.1 (default 10 and 260 nodes, star:
#       everyone invited by node 0), grown with init/invite/join; membership,
#       links per node, post visibility p50/p99, bytes, idle CPU-s a minute per
#       node (ratio between the sizes), RSS, log warnings. A table, and JSON
#       lines in the run's dir. Options: --sizes 10,260 --topology star,chain
#       --posts 10 --idle-seconds 60 --dir DIR --keep (see --help).
#   scripts/bench.sh search-fused [N] [bench_fused options...]
#       Release build, then bench_fused: market.search p50/p99 at N (default
#       100000) active posts, lexical (the baseline) against fused with every
#       post's embedding cached (384 dims, deterministic in-process embedder;
#       the query's embedding excluded and reported apart, in process and
#       over HTTP to tests/embed_server.py). See docs/performance.md.
#   scripts/bench.sh search [SCALES]
#       Release build, then bench_search twice in one run, on the same data:
#       first main's search (BASELINE_REF, default main, built aside from
#       `git archive` in BUILD_DIR/search-baseline), then this tree's with
#       the Debian dictionaries and the default community synonyms. Each
#       prints per query class nDCG@10, recall@10 and MRR on the relevance
#       set in tests/search, then for each of SCALES (default
#       100000,1000000) synthetic posts the index build time, memory per
#       post and p50/p99 latency per class. See docs/performance.md.
#   scripts/bench.sh near [N] [bench_near options...]
#       Release build, then bench_near: N (default 100000) located posts
#       (60 % around ten towns, 40 % over a country-sized box) in one
#       process; market.list p50/p99 (thread CPU time and wall clock) with
#       a location filter of 0.5, 2, 10 and 50 km at random centres, newest
#       first and by distance, against market.list without a filter (the
#       baseline, same run) and against the filter done as a plain scan;
#       the spatial index's first build and bytes per post. See
#       docs/performance.md, "Near me".
#   scripts/bench.sh page [N] [bench_page options...]
#       Release build, then bench_page: the marketplace page's main views
#       (newest, category+tag, search, one post) timed in process through
#       node_page_handle (server time) on a node of N (default 100000)
#       active posts, p50/p99, against the same views on a node of 1,000
#       posts and the raw capability calls at N, measured in the same run
#       (--base B, --runs R). See docs/performance.md, "Marketplace page".
#
# Environment: BUILD_DIR (default <repo>/build-bench).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build-bench}"

usage () {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
}

# Configure (Release) once, then build only the targets asked for.
build () {
    if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
        cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
    fi
    cmake --build "$BUILD_DIR" -j"$(nproc)" --target "$@" >/dev/null
}

cmd="${1:-help}"
shift || true
case "$cmd" in
    ingest)
        n="${1:-100000}"
        shift || true
        build bench_ingest
        echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
        "$BUILD_DIR/bench/bench_ingest" "$n" "$@"
        ;;
    ed25519)
        build bench_ed25519
        echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
        "$BUILD_DIR/bench/bench_ed25519" "$@"
        ;;
    sync)
        # Sync benchmark: clusters of real nodes (cluster.sh),
        # cases and options in scripts/bench_sync.sh.
        build hearthd hearthctl bench_sync_seed bench_sync_latency
        BUILD_DIR="$BUILD_DIR" exec "$ROOT/scripts/bench_sync.sh" "$@"
        ;;
    flood)
        build bench_gossip
        echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
        kinds="${*:-rateless v1 fetch all}"
        for kind in $kinds; do
            echo "== flood $kind (load $(cut -d' ' -f1-3 /proc/loadavg))"
            "$BUILD_DIR/bench/bench_gossip" flood "$kind" "${FLOOD_POSTS:-1000}" "${FLOOD_LOG:-10000}"
        done
        ;;
    idle)
        build hearthd hearthctl
        HEARTHD="${HEARTHD:-$BUILD_DIR/node/hearthd}" HEARTHCTL="${HEARTHCTL:-$BUILD_DIR/node/hearthctl}" \
            exec "$ROOT/bench/bench_idle.sh" "$@"
        ;;
    sim)
        build hearth_sim
        echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
        sizes=()
        while [ $# -gt 0 ] && [[ "$1" =~ ^[0-9]+$ ]]; do sizes+=("$1"); shift; done
        [ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000)
        for n in "${sizes[@]}"; do
            echo "== sim $n nodes: $BUILD_DIR/sim/hearth_sim --nodes $n --posts ${SIM_POSTS:-50} --seed ${SIM_SEED:-1} $*"
            "$BUILD_DIR/sim/hearth_sim" --nodes "$n" --posts "${SIM_POSTS:-50}" --seed "${SIM_SEED:-1}" "$@" 2>&1
        done
        ;;
    mesh|scale)
        build hearthd hearthctl
        HEARTHD="$BUILD_DIR/node/hearthd" HEARTHCTL="$BUILD_DIR/node/hearthctl" \
            exec python3 "$ROOT/bench/bench_mesh_scale.py" "$@"
        ;;
    search-fused)
        n="${1:-100000}"
        shift || true
        build bench_fused
        echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
        portfile=$(mktemp)
        rm -f "$portfile"
        python3 "$ROOT/tests/embed_server.py" --dim 384 --port-file "$portfile" >/dev/null 2>&1 &
        server=$!
        trap 'kill "$server" 2>/dev/null || true; rm -f "$portfile"' EXIT
        for _ in $(seq 100); do [ -s "$portfile" ] && break; sleep 0.05; done
        "$BUILD_DIR/bench/bench_fused" "$n" --url "http://127.0.0.1:$(cat "$portfile")/v1/embeddings" "$@"
        ;;
    near)
        n="${1:-100000}"
        shift || true
        build bench_near
        echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
        "$BUILD_DIR/bench/bench_near" "$n" "$@"
        ;;
    search)
        scales="${1:-100000,1000000}"
        build bench_search
        echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
        ref="${BASELINE_REF:-main}"
        base="$BUILD_DIR/search-baseline"
        rm -rf "$base/src"
        mkdir -p "$base/src"
        git -C "$ROOT" archive "$ref" | tar -x -C "$base/src"
        cmake -S "$base/src" -B "$base/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
        cmake --build "$base/build" -j"$(nproc)" --target hearth_market hearth_common >/dev/null
        cc -O2 -std=c11 -D_GNU_SOURCE -DBENCH_SEARCH_BASELINE -I"$ROOT/bench" -I"$base/src/market/include" \
           "$ROOT/bench/bench_search.c" "$base/build/market/libhearth_market.a" \
           "$base/build/common/libhearth_common.a" -lsodium -lm -o "$base/bench_search"
        echo "== before: $ref ($(git -C "$ROOT" rev-parse --short "$ref"))"
        "$base/bench_search" --set "$ROOT/tests/search" --scale "$scales"
        echo
        echo "== after: this tree ($(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet || echo +changes))"
        "$BUILD_DIR/bench/bench_search" --set "$ROOT/tests/search" --cache "$BUILD_DIR/search-lexicon.bin" \
            --scale "$scales"
        ;;
    page)
        n="${1:-100000}"
        shift || true
        build bench_page
        echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
        "$BUILD_DIR/bench/bench_page" "$n" "$@"
        ;;
    help|-h|--help)
        usage
        ;;
    *)
        echo "bench.sh: unknown benchmark '$cmd'" >&2
        usage >&2
        exit 2
        ;;
esac
