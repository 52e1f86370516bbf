#!/usr/bin/env bash
# Builds Airlock (warnings are errors) and runs every test: unit, integration, end-to-end with the
# real npm SDK clients, keychain tests against a real gnome-keyring in a private D-Bus session,
# and (with clang) the fuzz targets for a bounded time. Needs `installer/deps.sh --test` first.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="${AIRLOCK_BUILD_DIR:-$root/build}"
jobs="${AIRLOCK_JOBS:-$(nproc)}"

echo "== configure and build ($build)"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAIRLOCK_WERROR=ON >/dev/null
cmake --build "$build" --parallel "$jobs"

echo "== npm packages for the end-to-end tests"
(cd "$root/tests/e2e" && npm ci --no-audit --no-fund --loglevel=error)
# The coding agents themselves (Claude Code, Codex CLI, Gemini CLI) for the agents_* tests.
(cd "$root/tests/e2e/agents" && npm ci --no-audit --no-fund --loglevel=error)
export AIRLOCK_REQUIRE_AGENTS=1

# A fresh HOME per run: the keyring, config and data dirs of the tests never touch the user's.
test_home=$(mktemp -d /tmp/airlock-test-home.XXXXXX)
trap 'rm -rf "$test_home"' EXIT
export HOME="$test_home" XDG_DATA_HOME="$test_home/.local/share" XDG_CONFIG_HOME="$test_home/.config"
export XDG_RUNTIME_DIR="$test_home/run"; mkdir -p -m 0700 "$XDG_RUNTIME_DIR"
export QT_QPA_PLATFORM=offscreen AIRLOCK_MANAGED_CONFIG="$test_home/no-managed.json"

echo "== tests"
status=0
dbus-run-session -- sh -c '
  printf airlock-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
  ctest --test-dir "$1" --output-on-failure --timeout 600 -j "$2" -LE fuzz
' sh "$build" "$jobs" || status=$?

if [ "${AIRLOCK_SKIP_FUZZ:-0}" != 1 ] && command -v clang++ >/dev/null; then
  echo "== fuzz targets (clang, libFuzzer + ASan/UBSan, ${AIRLOCK_FUZZ_SECONDS:-20}s each)"
  fuzz_build="$build-fuzz"
  CC=clang CXX=clang++ cmake -S "$root" -B "$fuzz_build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DAIRLOCK_FUZZ=ON -DAIRLOCK_BUILD_GUI=OFF -DAIRLOCK_FUZZ_SECONDS="${AIRLOCK_FUZZ_SECONDS:-20}" >/dev/null
  cmake --build "$fuzz_build" --parallel "$jobs" --target airlock_fuzz_targets
  ctest --test-dir "$fuzz_build" --output-on-failure -L fuzz || status=$?
fi
exit $status
