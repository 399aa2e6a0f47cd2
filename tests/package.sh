#!/usr/bin/env bash
# package.sh — Hearth installs like a Debian service (docs/operations.md,
# "Installing"): `cpack -G DEB` makes a package whose Depends name the
# package of every shared library the binaries load (dpkg-shlibdeps); it
# unpacks into a clean root where `hearthd --version` runs; its systemd unit
# passes `systemd-analyze verify` (man pages included); the man pages
# render without warnings; bash completion completes commands and options;
# and the README's commands work as written with the installed binaries on
# PATH (bare `hearthctl`, `hearthd`).
# Needs CPACK_CONFIG (ctest sets it); exits 77 (skipped) without cpack or dpkg.
TEST_NAME=package
. "$(dirname "$0")/node_lib.sh"
SRC="$(cd "$(dirname "$0")/.." && pwd)"

for tool in cpack dpkg-deb dpkg-shlibdeps readelf; do
    command -v "$tool" >/dev/null || { echo "SKIP: no $tool"; TEST_PASSED=1; exit 77; }
done

step "cpack -G DEB"
cpack -G DEB --config "$CPACK_CONFIG" -B "$WORK/pkg" >"$WORK/cpack.log" 2>&1 || fail "cpack: $(tail -20 "$WORK/cpack.log")"
DEB=$(ls "$WORK"/pkg/hearth_*.deb)
[ -f "$DEB" ] || fail "no .deb made"

step "the package installs into a clean root and hearthd --version runs"
ROOT="$WORK/root"
dpkg -x "$DEB" "$ROOT"
for f in usr/bin/hearthd usr/bin/hearthctl usr/lib/systemd/system/hearth.service usr/lib/sysusers.d/hearth.conf \
         usr/share/man/man8/hearthd.8.gz usr/share/man/man1/hearthctl.1.gz \
         usr/share/bash-completion/completions/hearthctl usr/share/doc/hearth/README.md; do
    [ -e "$ROOT/$f" ] || [ -e "$ROOT/${f%.gz}" ] || fail "the package lacks /$f"
done
V=$("$ROOT/usr/bin/hearthd" --version) || fail "hearthd --version failed"
[[ "$V" == "hearthd "* ]] || fail "hearthd --version: $V"
"$ROOT/usr/bin/hearthctl" --version | grep -q "^hearthctl " || fail "hearthctl --version"

step "Depends names the package of every shared library the binaries need"
DEPENDS=$(dpkg-deb -f "$DEB" Depends)
LIBS=$(ldconfig -p)       # once: a reader that stops early would SIGPIPE it
for bin in hearthd hearthctl; do
    for lib in $(readelf -d "$ROOT/usr/bin/$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
        path=$(printf '%s\n' "$LIBS" | awk -v l="$lib" '$1 == l && /x86-64/ {p = $NF} END {print p}')
        pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1 || true)
        [ -n "$pkg" ] || pkg=$(dpkg -S "$path" 2>/dev/null | head -1 | cut -d: -f1 || true)
        [ -n "$pkg" ] || fail "cannot tell the package of $lib ($path)"
        [[ ", $DEPENDS," == *", $pkg "* || ", $DEPENDS," == *", $pkg,"* ]] \
            || fail "$bin needs $lib from $pkg, not in Depends: $DEPENDS"
    done
done

step "the unit: Type=notify, its own user, StateDirectory, hardening; systemd-analyze verify"
UNIT="$ROOT/usr/lib/systemd/system/hearth.service"
for line in "Type=notify" "User=hearth" "StateDirectory=hearth" "NoNewPrivileges=yes" "ProtectSystem=strict" \
            "ExecStart=/usr/bin/hearthd --data-dir /var/lib/hearth \$HEARTHD_ARGS"; do
    grep -qxF "$line" "$UNIT" || fail "the unit lacks $line"
done
if command -v systemd-analyze >/dev/null; then
    # Verified as shipped but for ExecStart, which names the unpacked binary
    # (the root is not /); the man pages it documents are found in the root.
    mkdir -p "$WORK/verify"
    sed "s|^ExecStart=/usr/bin/|ExecStart=$ROOT/usr/bin/|" "$UNIT" >"$WORK/verify/hearth.service"
    OUT=$(MANPATH="$ROOT/usr/share/man" systemd-analyze verify "$WORK/verify/hearth.service" 2>&1) \
        || fail "systemd-analyze verify: $OUT"
    [ -z "$OUT" ] || fail "systemd-analyze verify warns: $OUT"
else
    echo "(no systemd-analyze here: unit verification skipped)"
fi

step "man pages render without warnings"
for page in "$ROOT"/usr/share/man/man1/hearthctl.1* "$ROOT"/usr/share/man/man8/hearthd.8*; do
    WARN=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
    [ -z "$WARN" ] || fail "$page: $WARN"
    MANWIDTH=80 man -l "$page" 2>/dev/null | grep -q "EXIT STATUS" || fail "$page has no EXIT STATUS"
done

step "bash completion: every command, subcommands, options"
complete_words () {
    bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _hearthctl; echo "${COMPREPLY[*]}"' \
        _ "$ROOT/usr/share/bash-completion/completions/hearthctl" "$@"
}
ALL=" $(complete_words hearthctl "") "
for cmd in $("$ROOT/usr/bin/hearthctl" --help | sed -n 's/^  \([a-z]\+\) .*/\1/p'); do
    [[ "$ALL" == *" $cmd "* ]] || fail "completion lacks the command $cmd"
done
[ "$(complete_words hearthctl --data-dir /x market po)" = post ] || fail "completion of market po"
[[ " $(complete_words hearthctl market post --ti) " == *" --title "* ]] || fail "completion of --ti"
[[ " $(complete_words hearthctl events "") " == *" export "* ]] || fail "completion of events export"

step "the README's commands work as written with the installed binaries"
export PATH="$ROOT/usr/bin:$PATH" HEARTH_DATA_DIR="$WORK/home/.hearth" HOME="$WORK/home"
mkdir -p "$HOME"
[ "$(command -v hearthctl)" = "$ROOT/usr/bin/hearthctl" ] || fail "hearthctl is not the installed one"
hearthctl init >/dev/null || fail "bare hearthctl init"
hearthd --listen 'tcp://127.0.0.1:*' --http 127.0.0.1:0 >"$WORK/hearthd.log" 2>&1 &
DAEMON_PIDS+=("$!")
wait_until "$NODE_START_DEADLINE_S" hearthctl --timeout 2000 peers || fail "installed hearthd did not start"
# The "Using it" block, with the post id it names replaced by a real one.
sed -n '/^## Using it/,/^## /p' "$SRC/README.md" | sed -n '/^```sh$/,/^```$/p' | sed '1d;$d' >"$WORK/using.sh"
grep -q "^hearthctl market post" "$WORK/using.sh" || fail "README has no Using it block"
EXAMPLE_ID=$(grep -o 'expire [0-9A-Z]\{26\}' "$WORK/using.sh" | cut -d' ' -f2)
POSTED=$(hearthctl --json market post --category offer --title "Example" --body "for the README" | json "d['event_id']")
sed -i "s/$EXAMPLE_ID/$POSTED/" "$WORK/using.sh"
bash -e "$WORK/using.sh" >"$WORK/using.out" 2>&1 || fail "README commands failed: $(cat "$WORK/using.out")"
grep -q "Water canister" "$WORK/using.out" || fail "README post not listed: $(cat "$WORK/using.out")"
passed
