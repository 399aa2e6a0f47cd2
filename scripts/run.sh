#!/usr/bin/env bash
# run.sh — from a clone to a running node: install missing packages, build
# (Release, into build/), create an identity and a community in the data dir
# if it has none, then run hearthd in the foreground (Ctrl-C stops it).
#
#   ./scripts/run.sh [hearthd flags...]
#   HEARTH_DATA_DIR=/srv/hearth HEARTH_COMMUNITY="Lindenstraße" ./scripts/run.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/scripts/deps.sh"

hearth_install_missing "${HEARTH_BUILD_PACKAGES[@]}"

BUILD="$ROOT/build"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j "$(nproc)" --target hearthd hearthctl

DATA=${HEARTH_DATA_DIR:-$HOME/.hearth}
if [ ! -f "$DATA/keys/device.ed25519" ] || [ ! -d "$DATA/db" ]; then
    "$BUILD/node/hearthctl" --data-dir "$DATA" init --community "${HEARTH_COMMUNITY:-hearth}"
fi
echo "talk to it from another terminal with: $BUILD/node/hearthctl --data-dir $DATA market list"
exec "$BUILD/node/hearthd" --data-dir "$DATA" "$@"
