#!/bin/sh
# run_interop.sh — Negentropy interop: Hearth's C implementation against the
# JavaScript one in the npm package @nostr-dev-kit/sync, in both roles, on
# random sets of 12,000 items differing by 0%, 10%, 50% and 100%, and with
# one side empty, with and without frame size limits. Each run must find
# exactly the symmetric difference (as sets; Hearth's initiator must also
# never repeat an id).
#
#   run_interop.sh C_BIN WORK_DIR
#
# Installs the npm package under WORK_DIR (once). Exits 77 (ctest: skipped)
# when node/npm are missing or the npm registry cannot be reached.
set -eu

C_BIN=${1:?usage: run_interop.sh C_BIN WORK_DIR}
WORK=${2:?usage: run_interop.sh C_BIN WORK_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
DRIVER="$HERE/negentropy_interop.mjs"
PACKAGE=@nostr-dev-kit/sync
ITEMS=12000                      # the issue asks for 10,000+ per set
NPM_TIMEOUT=300                  # seconds for one npm call
RUN_TIMEOUT=300                  # seconds for one reconciliation run

skip () { echo "SKIP: $*"; exit 77; }

command -v node >/dev/null 2>&1 || skip "node not found"
command -v npm >/dev/null 2>&1 || skip "npm not found"
[ -x "$C_BIN" ] || { echo "FAIL: $C_BIN is not built"; exit 1; }

mkdir -p "$WORK"
if [ ! -f "$WORK/node_modules/$PACKAGE/package.json" ]; then
    if ! timeout "$NPM_TIMEOUT" npm ping >"$WORK/npm-ping.log" 2>&1; then
        cat "$WORK/npm-ping.log"
        skip "the npm registry cannot be reached (npm ping failed)"
    fi
    echo "installing $PACKAGE into $WORK"
    if ! timeout "$NPM_TIMEOUT" npm install --no-audit --no-fund --prefix "$WORK" "$PACKAGE" \
            >"$WORK/npm-install.log" 2>&1; then
        cat "$WORK/npm-install.log"
        echo "FAIL: npm install $PACKAGE failed although the registry answered"
        exit 1
    fi
fi
echo "using $PACKAGE $(node -p "require('$WORK/node_modules/$PACKAGE/package.json').version")"

failures=0
runs=0
seed=1
for case in 0 10 50 100 c-empty js-empty; do
    dir="$WORK/case-$case"
    case "$case" in
        *-empty) node "$DRIVER" gen --out "$dir" --n "$ITEMS" --diff 100 --seed "$seed" --empty "${case%-empty}" ;;
        *)       node "$DRIVER" gen --out "$dir" --n "$ITEMS" --diff "$case" --seed "$seed" ;;
    esac
    seed=$((seed + 1))
    # "JS_LIMIT C_LIMIT" pairs: none, one side at the 4 KiB minimum, both.
    for initiator in js c; do
        for limits in "0 0" "0 4096" "4096 0" "4096 4096"; do
            set -- $limits
            if [ "$initiator" = js ] && [ "$1" = 4096 ] && [ "$2" = 0 ]; then
                continue                     # three JS-initiated runs per case are enough
            fi
            if [ "$initiator" = c ] && [ "$1" != 0 ] && [ "$case" = c-empty ]; then
                # Known bug in @nostr-dev-kit/sync 1.0.0: a JS responder with a
                # frame limit that cuts an IdList fingerprints the rest from the
                # end of the range instead of the cut, so an empty initiator
                # sees a match and stops early (docs/sync.md).
                echo "not run: C initiator with no items vs JS responder with a frame limit (JS bug)"
                continue
            fi
            runs=$((runs + 1))
            if ! timeout "$RUN_TIMEOUT" node "$DRIVER" run --modules "$WORK" --c-bin "$C_BIN" \
                    --case "$dir" --initiator "$initiator" --js-limit "$1" --c-limit "$2"; then
                echo "FAIL: case $case, $initiator initiates, limits js=$1 c=$2"
                failures=$((failures + 1))
            fi
        done
    done
done
echo "$runs runs, $failures failed"
[ "$failures" -eq 0 ]
