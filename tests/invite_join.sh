#!/usr/bin/env bash
# invite_join.sh — invites and joins without the network (docs/protocol.md
# §12): init --identity-only, invite through the running daemon (blob shape,
# canonical form, file mode, the invite event), join and its refusals
# (another key, a tampered blob, an expired invite), a joined data dir that
# hearthd starts on and waits to sync its invite.
TEST_NAME=invite_join
. "$(dirname "$0")/node_lib.sh"

A="$WORK/a"
B="$WORK/b"
C="$WORK/c"
FULL_RE='^ed25519:[A-Za-z0-9_-]{43}$'
RFC3339_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'

step "init --identity-only prints the NodeID and creates only keys"
B_ID=$(ctl "$B" init --identity-only 2>/dev/null)
[[ "$B_ID" =~ $FULL_RE ]] || fail "identity-only output is not a NodeID: $B_ID"
[ -f "$B/keys/device.ed25519" ] && [ ! -e "$B/db" ] || fail "identity-only created more than keys"
[ "$(ctl "$B" init --identity-only 2>/dev/null)" = "$B_ID" ] || fail "identity-only is not idempotent"
assert_json "$(ctl "$B" --json init --identity-only)" "d['node_id'] == '$B_ID' and d['created'] is False" "identity-only --json"
expect_exit 2 ctl "$B" init --identity-only --community X
C_ID=$(ctl "$C" init --identity-only 2>/dev/null)

step "hearthd refuses a dir with only keys, naming init and join"
expect_exit 1 "$HEARTHD" --data-dir "$B"
[[ "$OUT" == *"join INVITE_FILE"* ]] || fail "keys-only start message: $OUT"

step "invite through the running root node"
ctl "$A" init --community "Lindenstraße" >/dev/null
start_node "$A"
A_PID=$NODE_PID
A_ID=$(ctl "$A" id --json | json "d['node_id']")
# A does not listen for peers: an invite naming nowhere to connect to is
# refused before anything is appended, unless an endpoint is given (here
# one where nothing listens: this test stays off the network).
EVENTS_BEFORE=$(ctl "$A" --json stats | json "d['events']['total']")
expect_exit 1 ctl "$A" invite "$B_ID" --out "$WORK/useless.json"
[[ "$OUT" == *"does not listen for peers"*"--endpoint"* ]] || fail "invite without endpoint: $OUT"
[ ! -e "$WORK/useless.json" ] || fail "an invite nobody can use was written"
[ "$(ctl "$A" --json stats | json "d['events']['total']")" = "$EVENTS_BEFORE" ] || fail "a refused invite appended an event"
ENDPOINT="$A_ID@tcp://127.0.0.1:9"
ctl "$A" invite "$B_ID" --endpoint "$ENDPOINT" --out "$WORK/invite.json" >"$WORK/invite.out" 2>&1 || fail "invite: $(cat "$WORK/invite.out")"
assert_json "$(cat "$WORK/invite.json")" "d['bootstrap_endpoints'] == ['$ENDPOINT']" "the given endpoint is in the invite"
grep -q "only loopback endpoints" "$WORK/invite.out" || fail "no loopback warning: $(cat "$WORK/invite.out")"
[ "$(stat -c %a "$WORK/invite.json")" = 600 ] || fail "invite file is not 0600"
BLOB=$(cat "$WORK/invite.json")
assert_json "$BLOB" "sorted(d) == sorted(['schema_version','community_id','community_name','inviter_node_id','invitee_node_id','initial_level','bootstrap_endpoints','invite_event_id','expires_at','signature'])" "blob fields"
assert_json "$BLOB" "d['schema_version'] == 1 and d['community_id'] == '$A_ID' and d['inviter_node_id'] == '$A_ID' and d['invitee_node_id'] == '$B_ID'" "blob ids"
assert_json "$BLOB" "d['community_name'] == 'Lindenstraße' and d['initial_level'] == 'member' and d['signature'].startswith('ed25519:')" "blob values"
EXPIRES=$(printf '%s' "$BLOB" | json "d['expires_at']")
[[ "$EXPIRES" =~ $RFC3339_RE ]] || fail "expires_at $EXPIRES"
# Default lifetime 24 h (within a minute of now + 86400 s).
"$PYTHON" - "$EXPIRES" <<'PY' || fail "default invite lifetime is not 24 h"
import calendar, sys, time
t = calendar.timegm(time.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%SZ"))
sys.exit(0 if abs(t - (time.time() + 86400)) < 60 else 1)
PY
# The canonical form (what is signed) is Python's sorted compact UTF-8 JSON.
"$PYTHON" - "$WORK/invite.json" <<'PY' || fail "invite file is not in canonical key order"
import json, sys
raw = open(sys.argv[1], encoding="utf-8").read().strip()
d = json.loads(raw)
assert raw == json.dumps(d, sort_keys=True, separators=(",", ":"), ensure_ascii=False), raw
PY
EVENT=$(printf '%s' "$BLOB" | json "d['invite_event_id']")
assert_json "$(ctl "$A" --json events)" "[e for e in d['events'] if e['event_id'] == '$EVENT'][0]['event_type'] == 'community.member.invited'" "invite event in the log"
# Without --out the blob goes to stdout.
T_BLOB=$(ctl "$A" invite "$C_ID" --endpoint "$ENDPOINT" --level trusted --ttl 600 2>/dev/null)
assert_json "$T_BLOB" "d['initial_level'] == 'trusted' and d['invitee_node_id'] == '$C_ID'" "trusted invite on stdout"

step "invite refusals"
expect_exit 1 ctl "$A" invite "$A_ID" --endpoint "$ENDPOINT"
[[ "$OUT" == *"already a member"* ]] || fail "inviting a member: $OUT"
expect_exit 1 ctl "$A" invite ed25519:nope --endpoint "$ENDPOINT"
[[ "$OUT" == *bad_request* ]] || fail "bad node id: $OUT"
expect_exit 2 ctl "$A" invite "$B_ID" --level anchor
expect_exit 2 ctl "$A" invite "$B_ID" --ttl 0
expect_exit 1 ctl "$A" invite "$B_ID" --endpoint "$ENDPOINT" --ttl 99999999
[[ "$OUT" == *bad_request* ]] || fail "ttl over the cap: $OUT"
expect_exit 2 ctl "$A" invite

step "join refuses another key, a tampered blob, an expired invite"
expect_exit 1 ctl "$C" join "$WORK/invite.json"
[[ "$OUT" == *unauthorized* && "$OUT" == *"not for this node"* ]] || fail "join with another key: $OUT"
sed 's/"initial_level":"member"/"initial_level":"trusted"/' "$WORK/invite.json" >"$WORK/tampered.json"
expect_exit 1 ctl "$B" join "$WORK/tampered.json"
[[ "$OUT" == *invalid_signature* ]] || fail "tampered blob: $OUT"
printf '{"schema_version":1}' >"$WORK/short.json"
expect_exit 1 ctl "$B" join "$WORK/short.json"
[[ "$OUT" == *bad_request* && "$OUT" == *missing* ]] || fail "incomplete blob: $OUT"
expect_exit 1 ctl "$B" join "$WORK/nonexistent.json"
ctl "$A" invite "$B_ID" --endpoint "$ENDPOINT" --ttl 1 --out "$WORK/short-lived.json" >/dev/null 2>&1
_expired () {
    local out
    out=$(ctl "$B" join "$WORK/short-lived.json" 2>&1) && return 1
    [[ "$out" == *expired* ]]
}
wait_until 10 _expired || fail "an expired invite was not refused"

step "join refuses a signed invite that names no endpoint"
# Signed like a real one (libsodium through ctypes, A's seed), with no
# bootstrap endpoint: the joiner would wait for ever, so join refuses it.
"$PYTHON" - "$WORK/invite.json" "$A/keys/device.ed25519" "$WORK/no-endpoint.json" <<'PY' || fail "cannot make the test invite"
import base64, ctypes, ctypes.util, json, sys
sodium = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
d = json.load(open(sys.argv[1], encoding="utf-8"))
d["bootstrap_endpoints"] = []
del d["signature"]
seed = open(sys.argv[2], "rb").read()
pk, sk = ctypes.create_string_buffer(32), ctypes.create_string_buffer(64)
assert sodium.crypto_sign_seed_keypair(pk, sk, seed) == 0
msg = json.dumps(d, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
sig = ctypes.create_string_buffer(64)
sodium.crypto_sign_detached(sig, None, msg, ctypes.c_ulonglong(len(msg)), sk)
d["signature"] = "ed25519:" + base64.urlsafe_b64encode(sig.raw).decode().rstrip("=")
open(sys.argv[3], "w", encoding="utf-8").write(json.dumps(d, sort_keys=True, separators=(",", ":"), ensure_ascii=False))
PY
STORED_BEFORE=$(cat "$B/invite.json" 2>/dev/null || true)
expect_exit 1 ctl "$B" join "$WORK/no-endpoint.json"
[[ "$OUT" == *"names no bootstrap endpoint"*"--peer"* ]] || fail "join of an invite without endpoints: $OUT"
[ "$(cat "$B/invite.json" 2>/dev/null || true)" = "$STORED_BEFORE" ] || fail "a refused join stored the invite"

step "join: adopts the community, stores the invite"
JOIN=$(ctl "$B" --json join "$WORK/invite.json")
assert_json "$JOIN" "d['community_id'] == '$A_ID' and d['community_name'] == 'Lindenstraße' and d['invite_event_id'] == '$EVENT'" "join output"
[ "$(stat -c %a "$B/invite.json")" = 600 ] || fail "stored invite is not 0600"
cmp -s "$B/invite.json" "$WORK/invite.json" || fail "stored invite differs from the blob"
ctl "$B" join "$WORK/invite.json" | grep -q "already in community" || fail "second join"

step "hearthd on the joined dir starts and waits for its invite"
start_node "$B"
B_PID=$NODE_PID
grep -q "joining: waiting to sync invite $EVENT" "$B.log" || fail "no joining log line: $(cat "$B.log")"
assert_json "$(ctl "$B" --json stats)" "d['events']['total'] == 0" "nothing synced without a network"
expect_exit 1 ctl "$B" market post --category info --title t --body b
[[ "$OUT" == *unauthorized* ]] || fail "a non-member posted: $OUT"
stop_node "$B_PID"
stop_node "$A_PID"

passed
