# deps.sh — install the Debian packages Hearth needs, only those missing
# (sourced by run.sh and test.sh). Uses sudo only when not root.

# Packages to build and run Hearth (Debian 12 names).
HEARTH_BUILD_PACKAGES=(build-essential cmake pkg-config librocksdb-dev libczmq-dev libzmq3-dev
                       libsodium-dev protobuf-c-compiler libprotobuf-c-dev libjansson-dev
                       libsystemd-dev libcurl4-openssl-dev libmicrohttpd-dev
                       libstemmer-dev libutf8proc-dev
                       trans-de-en mythes-de mythes-en-us hunspell-de-de)
# (the last four are search's dictionaries, read at run time: German <-> English
# translations, German and English synonyms, the German word list for
# compounds; docs/operations.md, "Search dictionaries")
# Extra packages for the tests: promtool (Prometheus) checks the metrics
# text; python3 checks JSON shapes in the integration tests; curl talks to
# the node's HTTP listener (tests/http_api.sh); Chromium and its WebDriver
# run the marketplace page in a real browser (tests/web_page.sh).
HEARTH_TEST_PACKAGES=(prometheus python3 curl chromium chromium-driver)
# Extra packages for scripts/fuzz.sh only (not the default build): clang
# and its compiler-rt, which holds libFuzzer (-fsanitize=fuzzer) and the
# sanitizer runtimes for clang.
HEARTH_FUZZ_PACKAGES=(clang-14 libclang-rt-14-dev)
# The browser test of the marketplace page (tests/web_page.sh): headless
# Chromium and its WebDriver.
HEARTH_TEST_PACKAGES+=(chromium chromium-driver)

# hearth_install_missing PKG...: apt-get install the ones not installed.
hearth_install_missing () {
    local missing=() pkg
    for pkg in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$pkg")
        fi
    done
    if [ ${#missing[@]} -eq 0 ]; then
        return 0
    fi
    local sudo=()
    if [ "$(id -u)" != 0 ]; then
        if ! command -v sudo >/dev/null 2>&1; then
            echo "missing packages: ${missing[*]}; install them as root (apt-get install ${missing[*]})" >&2
            return 1
        fi
        sudo=(sudo)
    fi
    echo "installing missing packages: ${missing[*]}"
    "${sudo[@]}" apt-get update -q
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}
