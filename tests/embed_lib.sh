# embed_lib.sh — the embedding test server (tests/embed_server.py) for the
# tests that run hearthd against it; source after node_lib.sh. Sets the EXIT
# trap so the server stops with the test.

SERVER="$(dirname "${BASH_SOURCE[0]}")/embed_server.py"

# start_server: the test server on a free port; sets SRV_PID and SRV_PORT.
start_server () {
    rm -f "$WORK/port"
    "$PYTHON" "$SERVER" --port-file "$WORK/port" >"$WORK/server.log" 2>&1 &
    SRV_PID=$!
    wait_until 10 test -s "$WORK/port" || fail "embed_server.py did not start"
    SRV_PORT=$(cat "$WORK/port")
}
stop_server () {
    kill "$SRV_PID" 2>/dev/null || true
    wait "$SRV_PID" 2>/dev/null || true
}
trap 'stop_server; _cleanup' EXIT

# srv_mode MODE [DELAY_MS]: how the server answers from now on.
srv_mode () {
    "$PYTHON" -c 'import json,sys,urllib.request as u; u.urlopen(u.Request("http://127.0.0.1:%s/mode" % sys.argv[1], data=json.dumps({"mode": sys.argv[2], "delay_ms": int(sys.argv[3])}).encode(), method="POST")).read()' "$SRV_PORT" "$1" "${2:-0}"
}
# srv_texts: texts the server has embedded so far.
srv_texts () {
    "$PYTHON" -c 'import json,sys,urllib.request as u; print(json.load(u.urlopen("http://127.0.0.1:%s/stats" % sys.argv[1]))["texts"])' "$SRV_PORT"
}
