#!/usr/bin/env bash
# data_io.sh — data in and out (docs/cli.md, docs/operations.md "Backups"):
# `events export` lines that anyone can verify with libsodium alone
# (tests/verify_export.py: ctypes + the standard library), `backup DIR` as
# an online checkpoint made by the running node, the restore path (a node
# started on the backup has the same events as the original had), and
# `events import` through the receive pipeline: the missing events are
# accepted, the rest duplicates, hostile lines counted and refused, never
# fatal.
TEST_NAME=data_io
. "$(dirname "$0")/node_lib.sh"
VERIFY="$(cd "$(dirname "$0")" && pwd)/verify_export.py"

A="$WORK/a"
ctl "$A" init --community "Data" >/dev/null
start_node "$A"
A_PID=$NODE_PID
post () { ctl "$A" --json market post --category offer --title "$1" --body "body of $1" | json "d['event_id']"; }
digest () { ctl "$1" call node.view_digest | json "d['output']['events_digest']"; }
total () { ctl "$1" --json stats | json "d['events']['total']"; }

step "backup DIR while the node runs: a checkpoint plus the keys and config"
P1=$(post "Ladder")
DIGEST_AT_BACKUP=$(digest "$A")
COUNT_AT_BACKUP=$(total "$A")
OUT=$(ctl "$A" --json backup "$WORK/backup") || fail "backup: $OUT"
assert_json "$OUT" "d['data_dir'] == '$WORK/backup' and d['seq'] == $COUNT_AT_BACKUP" "backup output"
[ -f "$WORK/backup/db/CURRENT" ] || fail "no checkpoint in the backup"
[ "$(stat -c %a "$WORK/backup/keys/device.ed25519")" = 600 ] || fail "backed-up key is not 0600"
cmp -s "$A/keys/device.ed25519" "$WORK/backup/keys/device.ed25519" || fail "key differs in the backup"
expect_exit 1 ctl "$A" backup "$WORK/backup"
[[ "$OUT" == *"already exists"* ]] || fail "backup over an existing dir: $OUT"
_pid_alive "$A_PID" || fail "the node stopped during the backup"

step "more events after the backup; export carries the exact signed bytes"
P2=$(post "Drill")
post "Wheelbarrow" >/dev/null
ctl "$A" market expire "$P1" --reason fulfilled >/dev/null || fail "expire"
ALL=$(total "$A")
ctl "$A" events export --out "$WORK/export.jsonl" 2>/dev/null || fail "export"
[ "$(stat -c %a "$WORK/export.jsonl")" = 600 ] || fail "export file is not 0600"
"$PYTHON" "$VERIFY" "$WORK/export.jsonl" --expect "$ALL" || fail "export does not verify with libsodium alone"
# The same lines on stdout.
ctl "$A" events export >"$WORK/stdout.jsonl" || fail "export to stdout"
cmp -s "$WORK/export.jsonl" "$WORK/stdout.jsonl" || fail "export --out and stdout differ"
# The verifier is not a rubber stamp: one changed byte of a body fails it.
"$PYTHON" - "$WORK/export.jsonl" "$WORK/tampered.jsonl" <<'PY'
import base64, json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
d = json.loads(lines[-1])
body = bytearray(base64.b64decode(d["signed"]["body"]))
body[-1] ^= 1
d["signed"]["body"] = base64.b64encode(bytes(body)).decode()
lines[-1] = json.dumps(d)
open(sys.argv[2], "w", encoding="utf-8").write("\n".join(lines) + "\n")
PY
! "$PYTHON" "$VERIFY" "$WORK/tampered.jsonl" >/dev/null || fail "a tampered export verified"

step "restore: a node started on the backup has the events the original had then"
cp -a "$WORK/backup" "$WORK/restored"
R="$WORK/restored"
start_node "$R"
R_PID=$NODE_PID
[ "$(digest "$R")" = "$DIGEST_AT_BACKUP" ] || fail "restored events differ from the original's at backup time"
[ "$(total "$R")" = "$COUNT_AT_BACKUP" ] || fail "restored node has $(total "$R") events, not $COUNT_AT_BACKUP"
ctl "$R" market get "$P1" >/dev/null || fail "the post made before the backup is missing"
expect_exit 1 ctl "$R" market get "$P2"

step "import: the missing events accepted, the rest duplicates, hostile lines counted"
# Hostile lines: not JSON, not base64, a forged signature, an empty object,
# a line of another community's event (signed by another key).
"$PYTHON" - "$WORK/export.jsonl" "$WORK/hostile.jsonl" <<'PY'
import base64, json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
d = json.loads(lines[-1])
sig = bytearray(base64.b64decode(d["signed"]["signature"]))
sig[0] ^= 0xff
d["signed"]["signature"] = base64.b64encode(bytes(sig)).decode()
out = ["this is not json", '{"signed":{"body":"!!!","signature":"???"}}', json.dumps(d), "{}",
       '{"signed":{"body":"' + base64.b64encode(b"\x0a\x03abc").decode() + '","signature":"'
       + base64.b64encode(bytes(64)).decode() + '"}}']
open(sys.argv[2], "w", encoding="utf-8").write("\n".join(out) + "\n")
PY
cat "$WORK/hostile.jsonl" "$WORK/export.jsonl" >"$WORK/import.jsonl"
OUT=$(ctl "$R" --json events import "$WORK/import.jsonl") || fail "import: $OUT"
MISSING=$((ALL - COUNT_AT_BACKUP))
assert_json "$OUT" "d['lines'] == $ALL + 5 and d['accepted'] == $MISSING and d['duplicate'] == $COUNT_AT_BACKUP" "import counts: $OUT"
assert_json "$OUT" "d['malformed'] == 3 and d['refused'] == 2 and d['refused_by_reason'].get('bad_signature') == 1" "hostile lines counted: $OUT"
[ "$(digest "$R")" = "$(digest "$A")" ] || fail "after the import the restored node differs from the original"
ctl "$R" market get "$P2" >/dev/null || fail "an imported post is missing"
assert_json "$(ctl "$R" call node.verify_views)" "d['output']['equal'] is True" "views equal a full re-fold after the import"
OUT=$(ctl "$R" events import "$WORK/export.jsonl") || fail "second import: $OUT"
[[ "$OUT" == *"0 accepted, $ALL duplicate, 0 refused, 0 malformed"* ]] || fail "second import: $OUT"
expect_exit 1 ctl "$R" events import "$WORK/no-such-file"

step "backup of a stopped node says so"
stop_node "$R_PID"
expect_exit 4 ctl "$R" backup "$WORK/backup2"
[ ! -e "$WORK/backup2" ] || fail "a failed backup left its directory"
stop_node "$A_PID"
passed
