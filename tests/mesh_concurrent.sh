#!/usr/bin/env bash
# mesh_concurrent.sh — three nodes posting at the same time all end up with
# every post and one view; an expiry made on one node
# propagates and list and search exclude the post on every node.
TEST_NAME=mesh_concurrent
. "$(dirname "$0")/node_lib.sh"
. "$(dirname "$0")/mesh_lib.sh"

# Posts per node in the concurrent burst.
PER_NODE=${MESH_CONCURRENT_POSTS:-15}
C="$WORK/c"
step "cluster of three"
cluster up 3 "$C" --sync-interval-ms 1000 >"$WORK/up.log" || fail "cluster up: $(cat "$WORK/up.log")"
. "$C/cluster.env"
DIRS=("$NODE_1_DIR" "$NODE_2_DIR" "$NODE_3_DIR")

step "three nodes post concurrently ($PER_NODE each)"
burst () {
    local i=$1 n
    for n in $(seq 1 "$PER_NODE"); do
        post "${DIRS[$((i - 1))]}" "node$i post $n" >>"$WORK/ids.$i" || return 1
    done
}
burst 1 & P1=$!
burst 2 & P2=$!
burst 3 & P3=$!
wait "$P1" && wait "$P2" && wait "$P3" || fail "a post failed during the burst"
TOTAL=$((3 * PER_NODE))
all_have () {
    local d
    for d in "${DIRS[@]}"; do
        [ "$(ctl "$d" --json market list --limit 500 | json "len(d['posts'])")" = "$TOTAL" ] || return 1
    done
}
wait_until "$MESH_DEADLINE_S" all_have || fail "not every node lists all $TOTAL posts: $(for d in "${DIRS[@]}"; do ctl "$d" --json market list --limit 500 | json "len(d['posts'])"; done)"
same_digest () {
    [ "$(digest "$NODE_1_DIR")" = "$(digest "$NODE_2_DIR")" ] && [ "$(digest "$NODE_1_DIR")" = "$(digest "$NODE_3_DIR")" ]
}
wait_until "$MESH_DEADLINE_S" same_digest || fail "digests differ"
LIST1=$(ctl "$NODE_1_DIR" --json market list --limit 500)
for d in "$NODE_2_DIR" "$NODE_3_DIR"; do
    [ "$(ctl "$d" --json market list --limit 500)" = "$LIST1" ] || fail "$d lists the posts differently from node 1"
done
for i in 1 2 3; do
    for id in $(cat "$WORK/ids.$i"); do
        printf '%s' "$LIST1" | json "'$id' in [p['event_id'] for p in d['posts']]" | grep -qx true \
            || fail "post $id of node $i missing"
    done
done
for d in "${DIRS[@]}"; do
    assert_json "$(ctl "$d" call node.verify_views)" "d['output']['equal'] is True" "$d: live view equals a re-fold"
done

step "an expiry on node 2 of node 2's post propagates"
TARGET=$(head -n 1 "$WORK/ids.2")
ctl "$NODE_2_DIR" market expire "$TARGET" --reason fulfilled >/dev/null
gone_everywhere () {
    local d
    for d in "${DIRS[@]}"; do
        ctl "$d" --json market list --limit 500 | json "'$TARGET' not in [p['event_id'] for p in d['posts']]" | grep -qx true || return 1
    done
}
wait_until "$MESH_DEADLINE_S" gone_everywhere || fail "the expired post is still listed somewhere"
for d in "${DIRS[@]}"; do
    assert_json "$(ctl "$d" --json market search node2 post 1 -k 50)" "'$TARGET' not in [p['event_id'] for p in d['posts']]" "$d: search excludes the expired post"
    assert_json "$(ctl "$d" --json market list --limit 500)" "len(d['posts']) == $((TOTAL - 1))" "$d: the others stay listed"
done
wait_until "$MESH_DEADLINE_S" same_digest || fail "digests differ after the expiry"

step "an expiry by a non-author member is refused at the source and changes nothing"
OTHER=$(head -n 1 "$WORK/ids.1")
expect_exit 1 ctl "$NODE_3_DIR" market expire "$OTHER" --reason withdrawn
for d in "${DIRS[@]}"; do
    has_post "$d" "node1 post 1" || fail "$d lost node 1's post"
done

cluster down "$C" >/dev/null
passed
