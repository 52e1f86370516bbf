#!/usr/bin/env bash
# Builds Airlock and starts airlockd with its default configuration (127.0.0.1:8484, built-in
# OpenAI/Anthropic/Gemini providers with the client's own key passed through), plus the tray app
# when a display is available. Extra arguments go to airlockd, e.g. --upstream openai=http://gw:4000.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/installer/deps.sh"
build="${AIRLOCK_BUILD_DIR:-$root/build}"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --parallel
# With a desktop and no extra daemon flags: the tray app, which starts and supervises airlockd.
if [ $# -eq 0 ] && [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -x "$build/app/airlock/airlock" ]; then
  exec "$build/app/airlock/airlock" --airlockd "$build/app/airlockd/airlockd"
fi
exec "$build/app/airlockd/airlockd" "$@"
