# mesh_lib.sh — helpers of the mesh integration tests (sourced after
# node_lib.sh): clusters made with scripts/cluster.sh under $WORK, cleaned up
# on exit by the pids in their pid files only.
#
# Needs CLUSTER_SH (ctest sets it) besides HEARTHD and HEARTHCTL.

: "${CLUSTER_SH:?set CLUSTER_SH to scripts/cluster.sh}"
export HEARTHD HEARTHCTL
# Per-condition deadline of cluster.sh: generous for sanitizer builds; the
# script polls, so a healthy run never waits for it.
export CLUSTER_DEADLINE_S=${CLUSTER_DEADLINE_S:-60}
# Deadline of the tests' own convergence waits.
MESH_DEADLINE_S=${MESH_DEADLINE_S:-60}

_mesh_cleanup () {
    local file pid
    for file in "$WORK"/*/n*.pid; do
        [ -f "$file" ] || continue
        pid=$(cat "$file")
        [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
    done
    _cleanup
}
trap _mesh_cleanup EXIT

# A node's sanitizer report (ASan, LSan, UBSan) goes to its log, not to the
# test's exit status: count any as a failure.
_sanitizer_reports () {
    grep -l -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$WORK"/*.log "$WORK"/*/n*.log 2>/dev/null || true
}

passed () {
    local reports
    reports=$(_sanitizer_reports)
    [ -z "$reports" ] || fail "sanitizer reports in: $reports"
    TEST_PASSED=1
    echo "PASS: ${TEST_NAME:-test}"
}

cluster () {
    bash "$CLUSTER_SH" "$@"
}

# node_dir CLUSTER I
node_dir () {
    echo "$1/n$2"
}

# stat_of DIR EXPR: evaluate EXPR over the node's stats JSON.
stat_of () {
    ctl "$1" --json stats | json "$2"
}

# posts_of DIR: sorted titles of the node's listed posts, one line.
posts_of () {
    ctl "$1" --json market list --limit 500 | json "' '.join(sorted(p['title'] for p in d['posts']))"
}

# has_post DIR TITLE
has_post () {
    ctl "$1" --json market list --limit 500 | json "any(p['title'] == '$2' for p in d['posts'])" | grep -qx true
}

# lacks_post DIR TITLE
lacks_post () {
    ctl "$1" --json market list --limit 500 | json "all(p['title'] != '$2' for p in d['posts'])" | grep -qx true
}

# post DIR TITLE [ARGS...]: post an info item; prints its event id. Fails
# (status 1) with the node's whole answer on stderr if it holds no event id,
# so a refused post says why.
post () {
    local dir=$1 title=$2 reply status=0 err="$WORK/post.$BASHPID.stderr"; shift 2
    reply=$(ctl "$dir" --json market post --category info --title "$title" --body "body of $title" "$@" \
            2>"$err") || status=$?
    if printf '%s' "$reply" | json "d['event_id']" 2>/dev/null; then
        rm -f "$err"
        return 0
    fi
    echo "post '$title' on $dir: no event_id (hearthctl exit $status): $reply $(cat "$err")" >&2
    return 1
}

# digest DIR: "events_digest view_digest events" of node.view_digest.
digest () {
    ctl "$1" call node.view_digest | json "d['output']['events_digest'] + ' ' + d['output']['view_digest'] + ' ' + str(d['output']['events'])"
}
