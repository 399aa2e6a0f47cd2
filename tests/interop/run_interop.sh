#!/bin/sh
# run_interop.sh — Negentropy interop: Hearth's C implementation against a
# JavaScript one from npm, in both roles, on random sets of 12,000 items
# differing by 0%, 10%, 50% and 100%, with one side empty, and with one
# side's own items all after the shared ones (so the other side holds
# nothing past a late bound: the empty closing range), with and without
# frame size limits on either side. Each run must find exactly the symmetric
# difference (as sets; Hearth's initiator must also never repeat an id), or,
# where the JavaScript side is known to answer wrongly, Hearth's initiator
# must refuse the answer: never report success with items missing.
#
#   run_interop.sh C_BIN WORK_DIR [sync|nostr-tools]
#
#   sync         @nostr-dev-kit/sync, its own JavaScript implementation of v1
#                (the default)
#   nostr-tools  the nip77 module of nostr-tools, a port of the reference's
#                JavaScript, with the reference's frame-limit fallback; a
#                client only: as a responder it skips IdLists instead of
#                answering them, so every run where Hearth initiates may end
#                in a refusal
#
# Installs the npm package under WORK_DIR (once). Exits 77 (ctest: skipped)
# when node/npm are missing or the npm registry cannot be reached.
set -eu

C_BIN=${1:?usage: run_interop.sh C_BIN WORK_DIR [sync|nostr-tools]}
WORK=${2:?usage: run_interop.sh C_BIN WORK_DIR [sync|nostr-tools]}
IMPL=${3:-sync}
HERE=$(cd "$(dirname "$0")" && pwd)
DRIVER="$HERE/interop_negentropy.mjs"
case "$IMPL" in
    sync)        PACKAGE=@nostr-dev-kit/sync; CASES="0 10 50 100 c-empty js-empty" ;;
    nostr-tools) PACKAGE=nostr-tools; CASES="0 10 50 100 c-empty js-empty c-head js-head" ;;
    *)           echo "FAIL: unknown implementation $IMPL"; exit 2 ;;
esac
ITEMS=12000                      # the issue asks for 10,000+ per set
NPM_TIMEOUT=300                  # seconds for one npm call
RUN_TIMEOUT=300                  # seconds for one reconciliation run

skip () { echo "SKIP: $*"; exit 77; }

command -v node >/dev/null 2>&1 || skip "node not found"
command -v npm >/dev/null 2>&1 || skip "npm not found"
[ -x "$C_BIN" ] || { echo "FAIL: $C_BIN is not built"; exit 1; }

mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
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
refusals=0
seed=1
for case in $CASES; do
    dir="$WORK/case-$IMPL-$case"
    case "$case" in
        *-empty) node "$DRIVER" gen --out "$dir" --n "$ITEMS" --diff 100 --seed "$seed" --empty "${case%-empty}" ;;
        *-head)  node "$DRIVER" gen --out "$dir" --n "$ITEMS" --diff 50 --seed "$seed" --head "${case%-head}" ;;
        *)       node "$DRIVER" gen --out "$dir" --n "$ITEMS" --diff "$case" --seed "$seed" ;;
    esac
    seed=$((seed + 1))
    # "JS_LIMIT C_LIMIT" pairs: none, one side at the 4 KiB minimum, both.
    for initiator in js c; do
        for limits in "0 0" "0 4096" "4096 0" "4096 4096"; do
            set -- $limits
            if [ "$IMPL" = sync ] && [ "$initiator" = js ] && [ "$1" = 4096 ] && [ "$2" = 0 ]; then
                continue                     # three JS-initiated runs per case are enough
            fi
            allow=0
            if [ "$IMPL" = nostr-tools ] && [ "$initiator" = c ]; then
                allow=1                      # its responder skips IdLists (see above)
            fi
            if [ "$IMPL" = sync ] && [ "$initiator" = c ] && [ "$1" != 0 ] && [ "$case" = c-empty ]; then
                # @nostr-dev-kit/sync 1.0.0: a JS responder with a frame limit
                # that cuts an IdList fingerprints the rest from the end of
                # the range instead of the cut; an empty initiator would see
                # a match and stop early, so Hearth refuses it (docs/sync.md).
                allow=1
            fi
            runs=$((runs + 1))
            out=$(timeout "$RUN_TIMEOUT" node "$DRIVER" run --modules "$WORK" --c-bin "$C_BIN" \
                    --case "$dir" --initiator "$initiator" --js-limit "$1" --c-limit "$2" \
                    --impl "$IMPL" --allow-refusal "$allow") || {
                echo "$out"
                echo "FAIL: $IMPL, case $case, $initiator initiates, limits js=$1 c=$2"
                failures=$((failures + 1))
                continue
            }
            echo "$out"
            case "$out" in *'"refused":true'*) refusals=$((refusals + 1)) ;; esac
        done
    done
done
echo "$IMPL: $runs runs, $refusals refused by Hearth's initiator (allowed), $failures failed"
[ "$failures" -eq 0 ]
