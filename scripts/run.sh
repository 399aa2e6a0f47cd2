#!/usr/bin/env bash
# run.sh — from a clone to a running node: install missing packages, build
# (Release, into build/), set up the data dir if it has nothing yet, then
# run hearthd in the foreground (Ctrl-C stops it). See --help.
set -euo pipefail

usage () {
    cat <<EOF
usage: scripts/run.sh [--identity-only | --join INVITE_FILE] [hearthd flags...]

  (no option)          first run: create an identity and a new community in the data dir
                       (name: \$HEARTH_COMMUNITY, default "hearth"); later runs: just start
  --identity-only      create only this node's identity (to be invited), print its NodeID
                       and exit; a member then runs \`hearthctl invite NODE_ID --out invite.json\`
  --join INVITE_FILE   join the community of that invite (identity made first if needed;
                       the invite must be for it), then start
  --help               this help; creates, installs and builds nothing

The node listens for peers on tcp://0.0.0.0:7400 (CURVE, members only) unless the config
has mesh/listen, a --listen flag is given, or HEARTH_LISTEN says otherwise (none = off).
Its marketplace page and HTTP API answer at http://127.0.0.1:7480/ unless the config has
http/listen, an --http flag is given, or HEARTH_HTTP says otherwise (HOST:PORT, or off).
Environment: HEARTH_DATA_DIR (default ~/.hearth), HEARTH_COMMUNITY, HEARTH_LISTEN, HEARTH_HTTP,
HEARTH_BIN_DIR (use hearthd/hearthctl from there: no package install, no build).
Other arguments go to hearthd (docs/cli.md).
EOF
}

MODE=start
JOIN_FILE=
HEARTHD_ARGS=()
while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --identity-only) MODE=identity; shift ;;
        --join)
            [ $# -ge 2 ] || { echo "run.sh: --join needs an INVITE_FILE" >&2; exit 2; }
            MODE=join; JOIN_FILE=$2; shift 2 ;;
        --join=*) MODE=join; JOIN_FILE=${1#--join=}; shift ;;
        *) HEARTHD_ARGS+=("$1"); shift ;;
    esac
done
if [ "$MODE" = join ] && [ ! -r "$JOIN_FILE" ]; then
    echo "run.sh: cannot read the invite $JOIN_FILE" >&2
    exit 2
fi

ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "${HEARTH_BIN_DIR:-}" ]; then
    BIN=$HEARTH_BIN_DIR
else
    . "$ROOT/scripts/deps.sh"
    hearth_install_missing "${HEARTH_BUILD_PACKAGES[@]}"
    BUILD="$ROOT/build"
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$BUILD" -j "$(nproc)" --target hearthd hearthctl
    BIN="$BUILD/node"
fi
HEARTHCTL="$BIN/hearthctl"
DATA=${HEARTH_DATA_DIR:-$HOME/.hearth}

has_key ()       { [ -f "$DATA/keys/device.ed25519" ]; }
has_community () { [ -d "$DATA/db" ]; }

case "$MODE" in
    identity)
        exec "$HEARTHCTL" --data-dir "$DATA" init --identity-only ;;
    join)
        has_key || "$HEARTHCTL" --data-dir "$DATA" init --identity-only >/dev/null
        "$HEARTHCTL" --data-dir "$DATA" join "$JOIN_FILE" ;;
    start)
        if ! has_key; then
            "$HEARTHCTL" --data-dir "$DATA" init --community "${HEARTH_COMMUNITY:-hearth}"
        elif ! has_community && [ ! -f "$DATA/invite.json" ]; then
            # An identity made to be invited: creating a community now would
            # make a later join impossible.
            echo "run.sh: $DATA has an identity but no community: it waits for an invite." >&2
            echo "  join with: scripts/run.sh --join invite.json" >&2
            echo "  (or start a new community: $HEARTHCTL --data-dir $DATA init --community NAME)" >&2
            exit 1
        fi ;;
esac

# cfg_value SECTION KEY: the value of SECTION/KEY in the data dir's config
# file (ZPL: sections at the margin, "key = value" indented), if set.
cfg_value () {
    awk -v s="$1" -v k="$2" '
        /^[^[:space:]#]/ { section = $1 }
        section == s && $1 == k && $2 == "=" { sub (/^[^=]*=[[:space:]]*/, ""); gsub (/"/, ""); v = $0; found = 1 }
        END { if (found) print v; exit !found }' "$DATA/hearth.cfg" 2>/dev/null
}

# Listen for peers so neighbours can dial in, unless told otherwise.
LISTEN=()
HTTP=()
given_listen=0
http_given=
previous=
for a in "${HEARTHD_ARGS[@]+"${HEARTHD_ARGS[@]}"}"; do
    case "$a" in
        --listen|--listen=*) given_listen=1 ;;
        --http=*) http_given=${a#--http=} ;;
    esac
    [ "$previous" = --http ] && http_given=$a
    previous=$a
done
if [ "$given_listen" = 0 ]; then
    if [ -n "${HEARTH_LISTEN:-}" ]; then
        LISTEN=(--listen "$HEARTH_LISTEN")
    elif ! cfg_value mesh listen >/dev/null; then
        LISTEN=(--listen "tcp://0.0.0.0:7400")
    fi
fi
# The page: the flag, else HEARTH_HTTP, else the config, else hearthd's default.
if [ -z "$http_given" ] && [ -n "${HEARTH_HTTP:-}" ]; then
    HTTP=(--http "$HEARTH_HTTP")
    http_given=$HEARTH_HTTP
fi
[ -n "$http_given" ] || http_given=$(cfg_value http listen) || http_given=127.0.0.1:7480
echo "talk to it from another terminal with: $HEARTHCTL --data-dir $DATA market list"
case "$http_given" in
    off) echo "the web page is off (--http off)" ;;
    *:0) echo "the marketplace page: hearthd picks a free port and logs it (\"page and HTTP API at\")" ;;
    *)   echo "the marketplace page: http://$http_given/ (open it in a browser on this machine)" ;;
esac
exec "$BIN/hearthd" --data-dir "$DATA" "${LISTEN[@]+"${LISTEN[@]}"}" "${HTTP[@]+"${HTTP[@]}"}" \
    "${HEARTHD_ARGS[@]+"${HEARTHD_ARGS[@]}"}"
