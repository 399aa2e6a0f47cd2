#!/usr/bin/env bash
# cli_forgive.sh — hearthctl forgives (docs/cli.md): global options anywhere
# on the line; --help on every command, printed locally and never sent to
# the daemon; unknown commands, subcommands and options echoed with a
# suggestion; the missing field named; local failures one line with no
# library log line; a stopped daemon its own message and exit status 4.
TEST_NAME=cli_forgive
. "$(dirname "$0")/node_lib.sh"

D="$WORK/node"
ctl "$D" init --community Forgive >/dev/null

step "a stopped daemon: its own message and exit status 4, not partition"
expect_exit 4 "$HEARTHCTL" market list --data-dir "$D"
[ "$(printf '%s\n' "$OUT" | wc -l)" = 1 ] || fail "more than one line: $OUT"
[[ "$OUT" == "hearthctl: hearthd is not running for $D"*"hearthd --data-dir $D"* ]] || fail "not-running message: $OUT"
[[ "$OUT" != *partition* ]] || fail "not running reported as partition: $OUT"

start_node "$D"
PID=$NODE_PID
# Every request the node served, to prove --help never reaches it.
requests () { ctl "$D" --json stats | json "sum(c['total'] for c in d['requests'].values())"; }

step "global options anywhere on the line"
BEFORE=$(ctl "$D" --json market list)
for line in "--data-dir $D --json market list" "market --data-dir $D list --json" \
            "market list --json --data-dir $D" "--json market list --data-dir=$D" \
            "market list --data-dir $D --timeout 5000 --json"; do
    # shellcheck disable=SC2086
    OUT=$("$HEARTHCTL" $line) || fail "hearthctl $line failed: $OUT"
    [ "$OUT" = "$BEFORE" ] || fail "hearthctl $line: $OUT"
done
POSTED=$("$HEARTHCTL" market post --category info --title "--json" --body b --data-dir "$D" --json)
assert_json "$POSTED" "'event_id' in d" "post with --data-dir after the command"
assert_json "$(ctl "$D" --json market get "$(printf '%s' "$POSTED" | json "d['event_id']")")" "d['post']['title'] == '--json'" "an option's value is never taken for a global option"

step "--help on every command, locally"
SERVED=$(requests)
for cmd in "init" "id" "invite" "join" "market" "market post" "market list" "market get" "market expire" \
           "market search" "peers" "stats" "events" "events export" "events import" "backup" "repair" "call" \
           "member" "member list" "member promote" "member demote" "member revoke" "member endorse" \
           "member proposals"; do
    # shellcheck disable=SC2086
    OUT=$("$HEARTHCTL" --data-dir "$D" $cmd --help) || fail "$cmd --help failed"
    [[ "$OUT" == "usage: hearthctl"*"$cmd"* ]] || fail "$cmd --help: $OUT"
    # shellcheck disable=SC2086
    [ "$("$HEARTHCTL" --data-dir "$D" help $cmd)" = "$OUT" ] || fail "help $cmd differs from $cmd --help"
done
OUT=$("$HEARTHCTL" --data-dir "$D" call node.stats --help) || fail "call CAPABILITY --help failed"
[[ "$OUT" == "usage: hearthctl"*"call CAPABILITY"* ]] || fail "call --help: $OUT"
# One more request now is the stats call of `requests` itself.
[ "$(requests)" = "$((SERVED + 1))" ] || fail "--help reached the daemon ($SERVED then $(requests) requests)"

step "unknown words echoed with a suggestion"
expect_exit 2 ctl "$D" markt list
[[ "$OUT" == *"unknown command 'markt'; did you mean 'market'?"* ]] || fail "unknown command: $OUT"
expect_exit 2 ctl "$D" market lst
[[ "$OUT" == *"unknown subcommand 'lst'; did you mean 'market list'?"* ]] || fail "unknown subcommand: $OUT"
expect_exit 2 ctl "$D" market post --titel x --category info --body b
[[ "$OUT" == *"unknown option '--titel'; did you mean '--title'?"* ]] || fail "unknown option: $OUT"
expect_exit 2 "$HEARTHCTL" --dta-dir "$D" stats
[[ "$OUT" == *"unknown option '--dta-dir'; did you mean '--data-dir'?"* ]] || fail "unknown global option: $OUT"
expect_exit 2 ctl "$D" events --sinse-lamport 3
[[ "$OUT" == *"did you mean '--since-lamport'?"* ]] || fail "events option: $OUT"
expect_exit 2 ctl "$D" peers --knwon
[[ "$OUT" == *"unknown option '--knwon'; did you mean '--known'?"* ]] || fail "peers option: $OUT"
expect_exit 2 ctl "$D" market post --t x
[[ "$OUT" == *"ambiguous option '--t'"*"--title"* ]] || fail "ambiguous option: $OUT"
expect_exit 2 ctl "$D" market search -k
[[ "$OUT" == *"-k needs a value"* ]] || fail "missing value: $OUT"
expect_exit 2 "$HEARTHCTL" --node "not an endpoint" stats
[[ "$OUT" == *"--node must be a control endpoint"* ]] || fail "malformed --node taken for a stopped daemon: $OUT"
expect_exit 2 ctl "$D" --json market lst
assert_json "$OUT" "d['error'] == 'bad_request' and 'market list' in d['message']" "usage error as a JSON body"

step "the missing field named"
expect_exit 2 ctl "$D" market post --category info --body b
[[ "$OUT" == *"market post needs --title"* && "$OUT" != *"--category"*"needs"* ]] || fail "missing title: $OUT"
expect_exit 2 ctl "$D" market post --title t
[[ "$OUT" == *"market post needs --category and --body"* ]] || fail "missing two: $OUT"
expect_exit 2 ctl "$D" market expire 01M891AEMATDQSW92EDD42P587
[[ "$OUT" == *"needs --reason"* ]] || fail "expire without reason: $OUT"
expect_exit 2 ctl "$D" member revoke
[[ "$OUT" == *"member revoke needs the member's NODE_ID"* ]] || fail "revoke without a member: $OUT"
expect_exit 2 ctl "$D" member endorse
[[ "$OUT" == *"member endorse needs a PROPOSAL_ID"* ]] || fail "endorse without a proposal: $OUT"
expect_exit 2 ctl "$D" member promot x
[[ "$OUT" == *"did you mean 'member promote'?"* ]] || fail "member subcommand typo: $OUT"
expect_exit 2 ctl "$D" member revoke x --reasn y
[[ "$OUT" == *"did you mean '--reason'?"* ]] || fail "member option typo: $OUT"
expect_exit 2 ctl "$D" member revoke nobody
[[ "$OUT" == *"'nobody' is not a NodeID, short id or prefix of a member"* ]] || fail "unknown member: $OUT"
# The founder alone revokes nobody it cannot name; its own key is refused.
expect_exit 1 ctl "$D" member revoke "$(ctl "$D" --json id | json "d['node_id']")"
[[ "$OUT" == *"unauthorized"* ]] || fail "revoking the founder: $OUT"

step "local failures: one line, no library log line"
expect_exit 1 ctl "$WORK/nothing-here" join "$WORK/none.json"
[ "$(printf '%s\n' "$OUT" | wc -l)" = 1 ] || fail "more than one line: $OUT"
[[ "$OUT" == "hearthctl: error: no identity in $WORK/nothing-here"* && "$OUT" == *"(EKEYS)" ]] || fail "local failure: $OUT"
[[ "$OUT" != *"[identity]"* && "$OUT" != *internal_error* ]] || fail "library log line or internal_error: $OUT"
chmod 644 "$D/keys/device.ed25519"
expect_exit 1 ctl "$D" id
[ "$(printf '%s\n' "$OUT" | wc -l)" = 1 ] || fail "key permissions: more than one line: $OUT"
[[ "$OUT" == *"chmod 600"* ]] || fail "key permissions: $OUT"
chmod 600 "$D/keys/device.ed25519"

stop_node "$PID"
passed
