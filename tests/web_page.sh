#!/usr/bin/env bash
# web_page.sh — the marketplace page in a real headless Chromium: two
# connected nodes with HTTP listeners on free ports; tests/web_page.py opens
# node A's page, posts through the form (a mistake first), sees the post on
# node B's page, searches for it on B, edits it on A and sees the new title on
# B, filters B's list by a place, expires it on A and sees it gone on B,
# then the German page and the node view; then B stops trusting loopback and
# the browser must log in with B's token before its form may post. Screenshots (phone 390x844 and
# desktop) are written to the test's work dir and copied to
# $HEARTH_TEST_OUTPUT/web (ctest: build/test-output/web), kept either way.
#
# Skipped (exit 77) only when chromium or chromedriver is missing
# (scripts/deps.sh installs them with the test packages).
TEST_NAME=web_page
. "$(dirname "$0")/node_lib.sh"
. "$(dirname "$0")/mesh_lib.sh"

CHROMIUM=${CHROMIUM:-$(command -v chromium || true)}
CHROMEDRIVER=${CHROMEDRIVER:-$(command -v chromedriver || true)}
if [ -z "$CHROMIUM" ] || [ -z "$CHROMEDRIVER" ]; then
    echo "SKIP: web_page needs chromium and chromedriver (Debian: chromium chromium-driver;" \
         "scripts/deps.sh installs them)"
    TEST_PASSED=1
    exit 77
fi
OUTPUT=${HEARTH_TEST_OUTPUT:-$WORK/output}/web

C="$WORK/c"
step "two nodes, each with an HTTP listener on a free port"
cluster up 2 "$C" --sync-interval-ms 1000 >"$WORK/up.log" \
    || fail "cluster up: $(cat "$WORK/up.log")"
. "$C/cluster.env"

# http_url DIR LOG: the node's page address, from node.id (its "http_url")
# or, failing that, the line the node logs when its listener is up.
http_url () {
    local url
    url=$(ctl "$1" call node.id 2>/dev/null | json "d['output'].get('http_url') or ''" 2>/dev/null || true)
    if [ -z "$url" ]; then
        url=$(grep -o 'http://127\.0\.0\.1:[0-9][0-9]*/' "$2" | tail -n 1 || true)
    fi
    [ -n "$url" ] && echo "${url%/}"
}
URL_A=""
URL_B=""
_urls () {
    URL_A=$(http_url "$NODE_1_DIR" "$C/n1.log") && URL_B=$(http_url "$NODE_2_DIR" "$C/n2.log")
}
wait_until 30 _urls || fail "no HTTP address for the nodes (logs: $C/n1.log $C/n2.log)"
_urls
echo "node A: $URL_A  node B: $URL_B"
"$PYTHON" - "$URL_A" "$URL_B" <<'PY' || fail "a page does not answer"
import sys, urllib.request
for url in sys.argv[1:]:
    with urllib.request.urlopen(url + "/", timeout=10) as r:
        assert r.status == 200 and "text/html" in r.headers["Content-Type"], url
PY

step "the browser scenario (tests/web_page.py)"
mkdir -p "$OUTPUT"
rm -f "$OUTPUT"/*.png "$OUTPUT"/*.html
set +e
"$PYTHON" "$(dirname "$0")/web_page.py" --a "$URL_A" --b "$URL_B" --out "$WORK/shots" \
    --chromedriver "$CHROMEDRIVER" --chromium "$CHROMIUM" --deadline "${MESH_DEADLINE_S:-60}"
RC=$?
set -e
if [ "$RC" = 0 ]; then
    step "node B stops trusting loopback: the page refuses, then the token logs the browser in"
    printf 'http\n    trust_loopback = off\n' >>"$NODE_2_DIR/hearth.cfg"
    cluster stop "$C" 2 >/dev/null && cluster start "$C" 2 >/dev/null || fail "restart of node B"
    wait_until 30 _urls || fail "no HTTP address for node B after its restart"
    _urls
    set +e
    "$PYTHON" "$(dirname "$0")/web_page.py" --phase login --b "$URL_B" \
        --token-file "$NODE_2_DIR/http.token" --out "$WORK/shots" \
        --chromedriver "$CHROMEDRIVER" --chromium "$CHROMIUM" --deadline "${MESH_DEADLINE_S:-60}"
    RC=$?
    set -e
fi
# Keep the screenshots among the test outputs, whatever happened.
cp "$WORK"/shots/*.png "$WORK"/shots/*.html "$OUTPUT"/ 2>/dev/null || true
echo "screenshots: $OUTPUT"
[ "$RC" = 0 ] || fail "browser scenario (chromedriver logs: $WORK/shots/chromedriver-*.log)"
passed
