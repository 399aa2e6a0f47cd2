#!/usr/bin/env bash
# daemon_sighup.sh — hearthd's habits as a service: SIGHUP reloads the
# config (what can change live changes, what needs a restart is named, a
# broken file is refused and the node keeps serving with its sockets),
# forces the synonym file to be re-read, and reopens a log file logrotate
# moved (and says so when it cannot); CZMQ's own log lines come out in Hearth's format; JSON log lines
# parse whatever a message holds; journald priority prefixes appear when
# stderr is the journal (JOURNAL_STREAM names it) and not otherwise.
TEST_NAME=daemon_sighup
. "$(dirname "$0")/node_lib.sh"

D="$WORK/node"
mkdir -p "$WORK/logs"
LOG="$WORK/logs/hearthd.log"
CFG="$WORK/hearth.cfg"
ctl "$D" init >/dev/null
printf '# test\n' >"$D/synonyms.txt"
printf 'log\n    level = info\n' >"$CFG"

# log_has FILE TEXT: FILE has a line containing TEXT (fixed string).
log_has () {
    grep -qF -- "$2" "$1"
}

# hup PID FILE TEXT: SIGHUP, then wait for TEXT in FILE (the reload's
# own line; the node logs it after the reload ran).
hup () {
    kill -HUP "$1"
    wait_until 20 log_has "$2" "$3" || fail "no '$3' in $2 after SIGHUP"
}

# sockets_there: the node still answers and both socket files stand.
sockets_there () {
    _pid_alive "$PID" || fail "hearthd died"
    [ -S "$D/control.sock" ] && [ -S "$D/stats.sock" ] || fail "socket files gone"
    ctl "$D" --json id >/dev/null || fail "the node does not answer"
}

step "a config with a ZPL syntax error: CZMQ's line in Hearth's format, text and JSON"
printf 'log\n    level = "info\n' >"$WORK/bad.cfg"
expect_exit 2 "$HEARTHD" --data-dir "$D" --config "$WORK/bad.cfg"
grep -qE '^[0-9T:.-]+Z ERROR [[]zconfig[]] ' <<<"$OUT" || fail "CZMQ's line not in Hearth's format: $OUT"
grep -qE '^[0-9-]+ [0-9:]+ E ' <<<"$OUT" && fail "a line in CZMQ's own format: $OUT"
expect_exit 2 "$HEARTHD" --data-dir "$D" --config "$WORK/bad.cfg" --log-format json
printf '%s\n' "$OUT" | "$PYTHON" -c '
import json, sys
lines = [json.loads(l) for l in sys.stdin if l.strip()]
assert any(l["module"] == "zconfig" and l["level"] == "error" for l in lines), lines
assert any(l["module"] == "hearthd" and "not valid ZPL" in l["msg"] for l in lines), lines
' || fail "JSON lines of a config error: $OUT"
expect_exit 2 "$HEARTHD" --data-dir "$D" --log-format yaml
grep -q "log-format must be text, json or journal" <<<"$OUT" || fail "bad --log-format: $OUT"

step "start with a log file and a config file"
start_node "$D" --config "$CFG" --log-file "$LOG"
PID=$NODE_PID
log_has "$LOG" "format text, file $LOG" || fail "the log file lacks the start-up lines"
[ ! -s "$D.log" ] || fail "lines went to stderr besides the log file: $(cat "$D.log")"
ctl "$D" market get 01ARZ3NDEKTSV4RRFFQ69G5FAV >/dev/null 2>&1 || true
log_has "$LOG" "DEBUG" && fail "a DEBUG line at level info"

step "SIGHUP: the log level changes live"
printf 'log\n    level = debug\n' >"$CFG"
hup "$PID" "$LOG" "applied log/level"
ctl "$D" market get 01ARZ3NDEKTSV4RRFFQ69G5FAV >/dev/null 2>&1 || true
wait_until 10 log_has "$LOG" "DEBUG [bus] market.get: not_found" || fail "no DEBUG line after the reload"
sockets_there

step "SIGHUP: a key that needs a restart is named and not applied"
printf 'log\n    level = debug\nmesh\n    listen = tcp://127.0.0.1:1\nmarket\n    default_ttl_seconds = 3600\n' >"$CFG"
hup "$PID" "$LOG" "changed but NOT applied until hearthd restarts: mesh/listen"
log_has "$LOG" "applied market/default_ttl_seconds" || fail "the market TTL was not applied"
sockets_there
ctl "$D" --json peers | grep -q '"address":null\|"address": null' || true

step "SIGHUP with a broken config: one error line, the node keeps serving"
printf 'log\n    level = "debug\n' >"$CFG"
hup "$PID" "$LOG" "config reload refused, the running configuration stays"
grep -qE 'ERROR [[]zconfig[]] ' "$LOG" || fail "CZMQ's line of the broken reload not in Hearth's format"
sockets_there
printf 'log\n    level = debug\n    colour = blue\n' >"$CFG"
hup "$PID" "$LOG" "unknown setting log/colour"
sockets_there
ctl "$D" market get 01ARZ3NDEKTSV4RRFFQ69G5FAV >/dev/null 2>&1 || true
[ "$(grep -c "DEBUG \[bus\] market.get" "$LOG")" -ge 2 ] || true   # rate-limited: not asserted

step "SIGHUP re-reads the synonym file at once (no search needed to notice it)"
V=$(ctl "$D" --json market post --category offer --title "Velo zu verleihen" --body "Mit Korb." | json "d['event_id']")
assert_json "$(ctl "$D" --json market search Drahtesel)" "d['posts'] == []" "no synonym yet"
printf 'log\n    level = debug\n' >"$CFG"
printf 'drahtesel, velo, fahrrad\n' >>"$D/synonyms.txt"
hup "$PID" "$LOG" "search synonyms: 1 rules from $D/synonyms.txt"
assert_json "$(ctl "$D" --json market search Drahtesel)" "[p['event_id'] for p in d['posts']] == ['$V']" \
    "the reloaded synonyms in search"

step "logrotate: the moved log file is reopened"
mv "$LOG" "$LOG.1"
kill -HUP "$PID"
wait_until 20 test -s "$LOG" || fail "no new log file after SIGHUP"
wait_until 20 log_has "$LOG" "SIGHUP: reopening the log" || fail "the new file lacks the reload line"
lines_old=$(wc -l <"$LOG.1")
ctl "$D" market get 01ARZ3NDEKTSV4RRFFQ69G5FAV >/dev/null 2>&1 || true
[ "$(wc -l <"$LOG.1")" = "$lines_old" ] || fail "lines still go to the moved file"
sockets_there

step "a log file that cannot be reopened: an error line in the old file, the node keeps serving"
mv "$WORK/logs" "$WORK/logs.gone"
kill -HUP "$PID"
wait_until 20 log_has "$WORK/logs.gone/hearthd.log" "cannot reopen the log file $LOG" \
    || fail "no error line for the log file that cannot be reopened"
sockets_there
mv "$WORK/logs.gone" "$WORK/logs"
rm -f "$LOG"
kill -HUP "$PID"
wait_until 20 log_has "$LOG" "SIGHUP: reopening the log" || fail "the log file was not reopened once possible"

step "SIGHUP switches to JSON lines; every line parses, hostile content included"
printf 'log\n    level = debug\n    format = json\n' >"$CFG"
hup "$PID" "$LOG" '"msg":"config reloaded from'
# Quotes, a newline, a control byte, a backslash through a request; raw
# invalid UTF-8 and control bytes through a refused config value.
# (request errors are logged at most once a second: ask until it shows)
_hostile_logged () {
    ctl "$D" market get $'q"uo\nte\x01\\x' >/dev/null 2>&1 || true
    grep -qF 'q\"uo\nte\u0001\\x' "$LOG"
}
wait_until 20 _hostile_logged || fail "the hostile request was not logged"
printf 'log\n    level = debug\n    format = json\nmesh\n    listen = tcp://\xff\xfe\x01"x\\\n' >"$CFG"
kill -HUP "$PID"
wait_until 20 log_has "$LOG" "config reload refused" || fail "the hostile config was not refused"
"$PYTHON" - "$LOG" <<'PY' || fail "a JSON log line does not parse"
import json, sys
seen_hostile = seen_bad_utf8 = False
started = False
for raw in open(sys.argv[1], "rb"):
    line = raw.decode("utf-8")          # strict: the file is valid UTF-8
    if not started:
        started = '"msg":"config reloaded from' in line
        if not started:
            continue
    d = json.loads(line)
    assert set(d) >= {"ts", "level", "module", "msg"}, d
    if 'q"uo\nte\x01\\x' in d["msg"]:
        seen_hostile = True
    if "\ufffd\ufffd\u0001\"x\\" in d["msg"]:
        seen_bad_utf8 = True
assert started and seen_hostile and seen_bad_utf8, (started, seen_hostile, seen_bad_utf8)
PY
sockets_there
stop_node "$PID"

step "journald priorities when stderr is the journal (JOURNAL_STREAM names it)"
J="$WORK/journal.log"
: >"$J"
JOURNAL_STREAM="$(stat -c '%d:%i' "$J")" "$HEARTHD" --data-dir "$D" >>"$J" 2>&1 &
NODE_PID=$!
DAEMON_PIDS+=("$NODE_PID")
wait_until 30 _node_answers "$D" || fail "the node did not start under JOURNAL_STREAM"
grep -qE '^<6>[0-9T:.-]+Z INFO  [[]hearthd[]] ' "$J" || fail "no <6> prefix on info lines: $(head -3 "$J")"
grep -vE '^<[3467]>' "$J" | grep -q . && fail "a line without a priority prefix: $(grep -vE '^<[3467]>' "$J" | head -1)"
stop_node "$NODE_PID"
# The same variable naming another file: no prefix (stderr is not the journal).
: >"$J"
JOURNAL_STREAM="$(stat -c '%d:%i' "$CFG")" "$HEARTHD" --data-dir "$D" >>"$J" 2>&1 &
NODE_PID=$!
DAEMON_PIDS+=("$NODE_PID")
wait_until 30 _node_answers "$D" || fail "the node did not start"
grep -q '^<' "$J" && fail "priority prefix although stderr is not the journal"
stop_node "$NODE_PID"
# --log-format journal: prefixes without the timestamp, wherever stderr goes.
: >"$J"
"$HEARTHD" --data-dir "$D" --log-format journal >>"$J" 2>&1 &
NODE_PID=$!
DAEMON_PIDS+=("$NODE_PID")
wait_until 30 _node_answers "$D" || fail "the node did not start"
grep -qE '^<6>INFO  [[]hearthd[]] ' "$J" || fail "--log-format journal lines: $(head -3 "$J")"
stop_node "$NODE_PID"

step "systemctl reload: SIGHUP sends RELOADING=1 (with MONOTONIC_USEC) before and READY=1 after"
# A stand-in for systemd's notify socket: one line per datagram.
"$PYTHON" - "$WORK/notify.sock" "$WORK/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[2] + ".bound", "w").close()
while True:
    data = s.recv(4096).decode()
    with open(sys.argv[2], "a") as f:
        f.write(data.replace("\n", " ") + "\n")
    if "STOPPING=1" in data:
        break
PY
NOTIFY_PID=$!
DAEMON_PIDS+=("$NOTIFY_PID")
wait_until 10 test -e "$WORK/notify.log.bound" || fail "notify listener did not start"
NOTIFY_SOCKET="$WORK/notify.sock" "$HEARTHD" --data-dir "$D" --http off --log-file "$LOG" >>"$D.log" 2>&1 &
NODE_PID=$!
DAEMON_PIDS+=("$NODE_PID")
wait_until 30 log_has "$WORK/notify.log" "READY=1" || fail "no READY=1 at start"
kill -HUP "$NODE_PID"
_reloaded () { [ "$(grep -c "READY=1" "$WORK/notify.log")" -ge 2 ]; }
wait_until 20 _reloaded || fail "no READY=1 after SIGHUP: $(cat "$WORK/notify.log")"
"$PYTHON" - "$WORK/notify.log" <<'PY' || fail "notifications: $(cat "$WORK/notify.log")"
import re, sys, time
lines = open(sys.argv[1]).read().splitlines()
assert "READY=1" in lines[0], lines
assert "RELOADING=1" in lines[1], lines
usec = int(re.search(r"MONOTONIC_USEC=(\d+)", lines[1]).group(1))
now = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
assert 0 < usec <= now, (usec, now)
assert "READY=1" in lines[2] and "RELOADING" not in lines[2], lines
PY
stop_node "$NODE_PID"
wait_until 10 log_has "$WORK/notify.log" "STOPPING=1" || fail "no STOPPING=1"
passed
