#!/usr/bin/env bash
# Takes the README's dashboard screenshots from a real run: airlockd in front of the fake
# provider, real traffic from a few differently named apps, then `airlock --screenshot-dir`
# under Xvfb. Usage: tests/gui/screenshots.sh [BUILD_DIR] [OUT_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build="${1:-$root/build}"
out="${2:-$root/docs/screenshots}"
airlockd="$build/app/airlockd/airlockd"
airlock="$build/app/airlock/airlock"
for bin in "$airlockd" "$airlock"; do
  [ -x "$bin" ] || { echo "missing $bin (build the airlock and airlockd targets)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/airlock-shots.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
# A private HOME: no keychain, config or autostart entry of the person running this is touched.
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" XDG_DATA_HOME="$work/home/.local/share"
export XDG_RUNTIME_DIR="$work/run" AIRLOCK_MANAGED_CONFIG="$work/no-managed.json"
mkdir -p "$HOME" -m 0700 "$XDG_RUNTIME_DIR"
unset HTTP_PROXY HTTPS_PROXY http_proxy https_proxy

node "$root/tests/e2e/fake_provider.mjs" --port 0 > "$work/fake.json" &
pids+=($!)
for _ in $(seq 100); do grep -q port "$work/fake.json" 2>/dev/null && break; sleep 0.1; done
fake_port=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).port)' "$work/fake.json")
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')

# A signed policy served from loopback, so the Policy and Apps pages show real rules, budget
# gauges and refusals. Budgets are small on purpose: the demo traffic crosses them.
airlockctl="$build/app/airlockctl/airlockctl"
mkdir -p "$work/policy"
"$airlockctl" policy keygen --out "$work/policy" >/dev/null
cat > "$work/policy/bundle.json" <<JSON
{"version": 4, "issued_at": "$(date -u +%Y-%m-%dT00:00:00Z)", "expires_at": "$(date -u -d '+30 days' +%Y-%m-%dT00:00:00Z)",
 "profiles": {"default": {
   "mode": "enforce", "fail_mode": "open",
   "models": {"allow": ["gpt-4o*", "gpt-4.1*", "claude-*"], "deny": ["*-preview"], "max_tokens": 8192},
   "budgets": [{"period": "day", "usd": 0.08, "warn_at": 0.5},
               {"period": "month", "tokens": 400000, "scope": "device", "warn_at": 0.8}],
   "rate_limits": [{"rpm": 120, "concurrent": 8}],
   "guardrails": {"detectors": {"credit_card": "block", "private_key": "block", "email": "redact"}},
   "apps": {"curl": {"models": {"allow": ["gpt-4o-mini"]}, "rate_limits": [{"rpm": 30}]}}}}}
JSON
"$airlockctl" policy sign --key "$work/policy/policy-signing.key" "$work/policy/bundle.json" > "$work/policy/signed.json"
node -e '
const http = require("http"), fs = require("fs");
const body = fs.readFileSync(process.argv[1]);
const s = http.createServer((q, r) => { r.writeHead(200, {"content-type": "application/json"}); r.end(body); });
s.listen(0, "127.0.0.1", () => console.log(JSON.stringify({port: s.address().port})));
' "$work/policy/signed.json" > "$work/policy.json" &
pids+=($!)
for _ in $(seq 100); do grep -q port "$work/policy.json" 2>/dev/null && break; sleep 0.1; done
policy_port=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).port)' "$work/policy.json")
# One fallback route, so the Providers page has router health to show.
cat > "$work/config.json" <<JSON
{"policy": {"url": "http://127.0.0.1:$policy_port/bundle.json",
            "trusted_keys": ["$work/policy/policy-signing.pub"], "poll_seconds": 300},
 "providers": [{"name": "primary", "format": "openai", "base_url": "http://127.0.0.1:$fake_port"},
               {"name": "backup", "format": "anthropic", "base_url": "http://127.0.0.1:$fake_port"}],
 "routes": {"gpt-4o-mini": {"strategy": "fallback",
   "targets": [{"provider": "primary", "model": "gpt-4o-mini"}, {"provider": "backup", "model": "claude-haiku-4-5"}],
   "retry": {"max_attempts": 2}, "circuit": {"failure_threshold": 3, "cooldown_ms": 60000}}}}
JSON

data="$work/data"
"$airlockd" --config "$work/config.json" --listen "127.0.0.1:$port" --data-dir "$data" \
  --upstream "openai=http://127.0.0.1:$fake_port" --upstream "anthropic=http://127.0.0.1:$fake_port" \
  --upstream "gemini=http://127.0.0.1:$fake_port" 2> "$work/airlockd.log" &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
"$airlockctl" --data-dir "$data" policy sync >/dev/null || { echo "policy sync failed" >&2; cat "$work/airlockd.log" >&2; exit 1; }

# Differently named scripts are different apps to Airlock (attribution names node scripts).
mkdir -p "$work/apps"
cat > "$work/apps/send.mjs" <<'JS'
export async function send(base, kind, model, words, n, extra = {}) {
  for (let i = 0; i < n; i++) {
    const prompt = Array.from({ length: words }, (_, k) => `word${k}`).join(' ');
    const [path, body, headers] = kind === 'anthropic'
      ? ['/v1/messages', { model, max_tokens: 200, messages: [{ role: 'user', content: prompt }] },
         { 'x-api-key': 'sk-ant-demo', 'anthropic-version': '2023-06-01' }]
      : ['/v1/chat/completions', { model, messages: [{ role: 'user', content: prompt }] },
         { authorization: 'Bearer sk-demo' }];
    await fetch(base + path, { method: 'POST', body: JSON.stringify(body),
      headers: { 'content-type': 'application/json', ...headers, ...extra } }).then((r) => r.text());
  }
}
JS
cat > "$work/apps/research-notes.mjs" <<'JS'
import { send } from './send.mjs';
const base = process.argv[2];
await send(base, 'anthropic', 'claude-sonnet-4-5', 1800, 6, { 'x-fake-chunks': '600' });
await send(base, 'anthropic', 'claude-haiku-4-5', 400, 8, { 'x-fake-chunks': '120' });
JS
cat > "$work/apps/code-review-bot.mjs" <<'JS'
import { send } from './send.mjs';
const base = process.argv[2];
await send(base, 'openai', 'gpt-4o', 2500, 5, { 'x-fake-chunks': '400' });
await send(base, 'openai', 'gpt-4o-mini', 900, 12, { 'x-fake-chunks': '200' });
await send(base, 'openai', 'gpt-4o', 50, 2, { 'x-fake-fault': 'status:503' });
await send(base, 'openai', 'gpt-4o-preview', 50, 2);
JS
cat > "$work/apps/meeting-summarizer.mjs" <<'JS'
import { send } from './send.mjs';
const base = process.argv[2];
await send(base, 'openai', 'gpt-4.1-mini', 3000, 4, { 'x-fake-chunks': '300' });
JS
for app in research-notes code-review-bot meeting-summarizer; do
  (cd "$work/apps" && node "$app.mjs" "http://127.0.0.1:$port")
done
for i in 1 2 3; do
  curl -s "http://127.0.0.1:$port/v1/chat/completions" -H 'authorization: Bearer sk-demo' \
    -H 'content-type: application/json' \
    -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hello from a shell script"}]}' >/dev/null
done
curl -s "http://127.0.0.1:$port/v1/chat/completions" -H 'authorization: Bearer sk-demo' \
  -H 'content-type: application/json' \
  -d '{"model":"gpt-4o","messages":[{"role":"user","content":"a model curl may not use"}]}' >/dev/null

mkdir -p "$out"
# Keep traffic flowing while the pages are captured, so the live table is really live.
(cd "$work/apps" && for i in $(seq 40); do node meeting-summarizer.mjs "http://127.0.0.1:$port"; sleep 0.5; done) &
pids+=($!)
xvfb-run -a -s "-screen 0 1600x1000x24" \
  "$airlock" --data-dir "$data" --no-supervise --screenshot-dir "$out"
ls -l "$out"
