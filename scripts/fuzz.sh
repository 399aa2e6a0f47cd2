#!/usr/bin/env bash
# fuzz.sh TARGET SECONDS [LIBFUZZER_ARGS...] — build the libFuzzer build
# (clang, ASan + UBSan) in build-fuzz/ and run fuzz/fuzz_TARGET.c for
# SECONDS with its corpus (docs/fuzzing.md).
#
#   scripts/fuzz.sh event 600            # ten minutes on the event decoder
#   scripts/fuzz.sh list                 # the targets
#
# The committed corpus fuzz/corpus/TARGET is read; new inputs go to a
# scratch dir (build-fuzz/finds/TARGET), crashes to build-fuzz/artifacts/.
# With HEARTH_FUZZ_MERGE=1 the scratch finds that add coverage are merged
# back into the committed corpus afterwards (libFuzzer -merge=1).
# Runs under nice; HEARTH_FUZZ_BUILD overrides the build dir.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# Targets: fuzz/fuzz_NAME.c, except the driver and helpers.
targets=$(cd "$root/fuzz" && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//' \
          | grep -vxE 'main|util|world' | tr '\n' ' ')
if [ "${1:-}" = list ]; then
    echo "$targets"
    exit 0
fi
if [ $# -lt 2 ]; then
    echo "usage: $0 TARGET SECONDS [LIBFUZZER_ARGS...]   (targets: $targets)" >&2
    exit 2
fi
target=$1 seconds=$2
shift 2
case " $targets " in
    *" $target "*) ;;
    *) echo "unknown target '$target' (targets: $targets)" >&2; exit 2 ;;
esac

. "$root/scripts/deps.sh"
hearth_install_missing "${HEARTH_BUILD_PACKAGES[@]}" "${HEARTH_FUZZ_PACKAGES[@]}"

build=${HEARTH_FUZZ_BUILD:-$root/build-fuzz}
if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" -DHEARTH_FUZZ=ON -DCMAKE_C_COMPILER=clang-14 \
          -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
# One build at a time in a build dir (two targets fuzzed side by side).
flock "$build/.build-lock" nice cmake --build "$build" -j2 --target "fuzz_$target"

corpus=$root/fuzz/corpus/$target
scratch=$build/finds/$target
artifacts=$build/artifacts/$target
mkdir -p "$corpus" "$scratch" "$artifacts"
echo "fuzzing $target for $seconds s: corpus $corpus, new inputs in $scratch"
rc=0
nice "$build/fuzz/fuzz_$target" -max_total_time="$seconds" -print_final_stats=1 \
     -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$artifacts/" "$@" \
     "$scratch" "$corpus" || rc=$?
if [ "${HEARTH_FUZZ_MERGE:-0}" = 1 ] && [ $rc = 0 ]; then
    nice "$build/fuzz/fuzz_$target" -merge=1 "$corpus" "$scratch"
fi
exit $rc
