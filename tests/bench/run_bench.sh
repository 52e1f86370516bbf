#!/usr/bin/env bash
# Airlock benchmark: the same workloads measured three ways in one run — direct to the upstream,
# through airlockd (realistic profile: attribution, ledger, and a signed policy with every
# guardrail on; BENCH_NO_POLICY=1 leaves the policy out), and through a peer gateway (Portkey's
# open-source gateway from npm) — and printed as ratios to direct, with the peer beside us.
#   tests/bench/run_bench.sh [BUILD_DIR]     (build first: tests/run_all.sh or cmake --build)
# Needs: nginx, wrk, node/npm, curl (installer/deps.sh --bench installs them).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build="${1:-${AIRLOCK_BUILD_DIR:-$root/build}}"
N="${BENCH_REQUESTS:-2000}"; ROUNDS="${BENCH_ROUNDS:-5}"; STREAMS="${BENCH_STREAMS:-1000}"
WRK_SECONDS="${BENCH_WRK_SECONDS:-5}"
up="$build/tests/bench/bench_upstream"; client="$build/tests/bench/bench_client"; daemon="$build/app/airlockd/airlockd"
for f in "$up" "$client" "$daemon"; do [ -x "$f" ] || { echo "missing $f: build first" >&2; exit 2; }; done
for t in nginx wrk node npm curl; do command -v "$t" >/dev/null || { echo "missing $t: run installer/deps.sh --bench" >&2; exit 2; }; done
ulimit -n 65536 2>/dev/null || ulimit -n 8192
work=$(mktemp -d /tmp/airlock-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { node -e 's=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
wait_http() { for _ in $(seq 600); do curl -s -o /dev/null "$1" && return 0; sleep 0.01; done; echo "no answer from $1" >&2; return 1; }
rss_mb() { awk '/VmRSS/{printf "%.1f", $2/1024}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
# Context switches a process's threads made by blocking, per thread: "tid count" lines. A thread
# that blocks again after running once has been woken once, so the growth over an idle window
# counts wake-ups (timers, polls) no matter which thread has them.
vcsw() { for t in /proc/"$1"/task/*; do echo "${t##*/} $(awk '/^voluntary_ctxt_switches/{print $2}' "$t/status" 2>/dev/null)"; done; }
# Wake-ups per second between two vcsw snapshots (files); threads born in between count from zero.
wakeups_per_s() {
  awk -v s="$3" 'NR==FNR{b[$1]=$2; next} $2!=""{w+=$2-($1 in b ? b[$1] : 0)} END{printf "%.1f", w/s}' "$1" "$2"
}
jget() { node -e "const o=JSON.parse(process.argv[1]);const v=Object.values(o)[0];console.log(v['$2'])" "$1"; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}'; }
fmt() { awk -v a="$1" 'BEGIN{printf (a>=100?"%.0f":"%.1f"), a}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b==0) print "-"; else printf "%.2f", a/b}'; }
minus() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", a-b}'; }

echo "== setting up (work dir $work)" >&2
# --- upstreams: nginx with a fixed JSON answer (the proxies' ceiling) and the paced fake provider
nginx_port=$(free_port)
json='{"id":"chatcmpl-bench","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}'
# A one-worker nginx in $work/NAME, the inside of its http block read from stdin; waits for PORT
# and sets started_pid.
start_nginx() {  # name, port
  local dir="$work/$1"
  mkdir -p "$dir/logs"
  { cat <<NGINX
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_max_body_size 16m;
  client_body_buffer_size 2m;
  keepalive_requests 1000000;
NGINX
    cat; echo "}"; } > "$dir/nginx.conf"
  nginx -p "$dir" -c "$dir/nginx.conf" -g 'daemon off;' &
  started_pid=$!; pids+=("$started_pid")
  wait_http "http://127.0.0.1:$2/"
}
start_nginx nginx "$nginx_port" <<NGINX
  server {
    listen 127.0.0.1:$nginx_port;
    location = /bundle.json { root $work/nginx/html; }
    location / { default_type application/json; return 200 '$json'; }
  }
NGINX
nginx_pid=$started_pid

start_fake() {  # name, flags -> sets fake_port
  "$up" "${@:2}" > "$work/$1.port" & pids+=("$!")
  for _ in $(seq 200); do [ -s "$work/$1.port" ] && break; sleep 0.02; done
  fake_port=$(sed -E 's/.*"port":([0-9]+).*/\1/' "$work/$1.port")
}
start_fake paced --chunks 20 --chunk-delay-ms 10; paced_port=$fake_port
start_fake long --chunks 1000000 --chunk-delay-ms 1000; long_port=$fake_port

# --- the floor of any proxy on this machine: a second nginx (its own process) doing nothing but
# proxy_pass with keep-alive upstreams. What airlockd adds beyond it is airlockd's own work; the
# rest is the extra hop (two more loopback writes and wake-ups per request).
hop_port=$(free_port); hop_stream_port=$(free_port)
start_nginx hop "$hop_port" <<NGINX
  upstream static_up { server 127.0.0.1:$nginx_port; keepalive 64; }
  upstream paced_up { server 127.0.0.1:$paced_port; keepalive 64; }
  server { listen 127.0.0.1:$hop_port;
    location / { proxy_pass http://static_up; proxy_http_version 1.1; proxy_set_header Connection ""; } }
  server { listen 127.0.0.1:$hop_stream_port;
    location / { proxy_pass http://paced_up; proxy_http_version 1.1; proxy_set_header Connection "";
                 proxy_buffering off; } }
NGINX
hop_pid=$started_pid

# --- the realistic profile: a signed policy bundle (served by the same nginx) with every
# guardrail detector on, model rules and budgets; attribution and the ledger are always on.
ctl="$build/app/airlockctl/airlockctl"
mkdir -p "$work/nginx/html" "$work/keys"
"$ctl" policy keygen --out "$work/keys" >/dev/null
cat > "$work/bundle.json" <<'BUNDLE'
{"version": 1, "issued_at": "2026-01-01T00:00:00Z", "expires_at": "2099-01-01T00:00:00Z",
 "profiles": {"default": {"mode": "enforce", "fail_mode": "closed",
   "models": {"allow": ["gpt-4o*", "gpt-4.1*", "claude-*"], "deny": ["*-preview"], "max_tokens": 4096},
   "budgets": [{"period": "day", "usd": 1000000, "warn_at": 0.9}, {"period": "month", "tokens": 100000000000, "scope": "device"}],
   "guardrails": {"detectors": {"email": "redact", "phone": "redact", "credit_card": "block", "us_ssn": "block",
                                "iban": "block", "ip_address": "warn", "api_key": "block", "private_key": "block", "jwt": "redact"},
                  "patterns": [{"name": "project-x", "regex": "PROJECT-X-[0-9]+", "action": "block"}]}}}}
BUNDLE
"$ctl" policy sign --key "$work/keys/policy-signing.key" "$work/bundle.json" > "$work/nginx/html/bundle.json"
# nginx's workers may run as another user (root starts them as nobody): let them read the bundle.
chmod a+rx "$work" "$work/nginx" "$work/nginx/html"; chmod a+r "$work/nginx/html/bundle.json"
cat > "$work/managed.json" <<MANAGED
{"policy": {"url": "http://127.0.0.1:$nginx_port/bundle.json", "trusted_keys": ["$work/keys/policy-signing.pub"], "poll_seconds": 3600}}
MANAGED
profile="attribution + ledger + signed policy (9 guardrail detectors + 1 pattern, model rules, budgets)"
[ "${BENCH_NO_POLICY:-0}" = 1 ] && { echo '{}' > "$work/managed.json"; profile="attribution + ledger"; }

# --- airlockd: started against an upstream (origin), realistic profile
airlock_port=$(free_port)
start_airlock() {  # upstream port -> sets airlock_pid, airlock_startup_ms
  local t0
  t0=$(date +%s%N)
  AIRLOCK_MANAGED_CONFIG="$work/managed.json" \
    "$daemon" --listen "127.0.0.1:$airlock_port" --data-dir "$work/airlock-data" \
    --upstream "openai=http://127.0.0.1:$1" 2>>"$work/airlockd.log" &
  airlock_pid=$!; pids+=("$airlock_pid")
  wait_http "http://127.0.0.1:$airlock_port/healthz"
  airlock_startup_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  if [ "${BENCH_NO_POLICY:-0}" != 1 ]; then  # the bundle must be in force before measuring
    AIRLOCK_MANAGED_CONFIG="$work/managed.json" "$ctl" --data-dir "$work/airlock-data" policy sync >/dev/null
  fi
}
stop_pid() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# --- peer: Portkey gateway, custom host pointed at the same upstream (per request header)
peer_dir="$root/tests/bench/peer"
if [ ! -d "$peer_dir/node_modules/@portkey-ai/gateway" ]; then
  (cd "$peer_dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
peer_port=$(free_port)
start_peer() {
  local t0; t0=$(date +%s%N)
  NODE_ENV=production node --import "$peer_dir/peer_preload.mjs" \
    "$peer_dir/node_modules/@portkey-ai/gateway/build/start-server.js" --port="$peer_port" --headless \
    >"$work/peer.log" 2>&1 &
  peer_pid=$!; pids+=("$peer_pid")
  wait_http "http://127.0.0.1:$peer_port/"
  peer_startup_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
}
peer_args() {  # upstream port -> sets peer_hdr (an array: header values contain spaces)
  peer_hdr=(--header "x-portkey-provider: openai" --header "x-portkey-custom-host: http://127.0.0.1:$1/v1")
}

start_airlock "$nginx_port"; start_peer
sleep 1
airlock_rss_idle=$(rss_mb "$airlock_pid"); peer_rss_idle=$(rss_mb "$peer_pid")

# --- 0. idle wake-ups: no traffic for a while; nothing should fire more than once a second
IDLE_S="${BENCH_IDLE_SECONDS:-10}"
echo "== idle wake-ups over ${IDLE_S}s" >&2
vcsw "$airlock_pid" > "$work/a0.vcsw"; vcsw "$peer_pid" > "$work/p0.vcsw"
sleep "$IDLE_S"
vcsw "$airlock_pid" > "$work/a1.vcsw"; vcsw "$peer_pid" > "$work/p1.vcsw"
WAKE_A=$(wakeups_per_s "$work/a0.vcsw" "$work/a1.vcsw" "$IDLE_S")
WAKE_P=$(wakeups_per_s "$work/p0.vcsw" "$work/p1.vcsw" "$IDLE_S")

# --- 1. sequential small requests (nginx upstream), rounds alternate so noise hits every path
echo "== sequential small requests: $ROUNDS rounds x $N" >&2
declare -a d50 d99 a50 a99 p50 p99 h50 h99
for _ in $(seq "$ROUNDS"); do
  r=$("$client" seq "127.0.0.1:$nginx_port" "$N"); d50+=("$(jget "$r" p50_us)"); d99+=("$(jget "$r" p99_us)")
  r=$("$client" seq "127.0.0.1:$airlock_port" "$N"); a50+=("$(jget "$r" p50_us)"); a99+=("$(jget "$r" p99_us)")
  r=$("$client" seq "127.0.0.1:$hop_port" "$N"); h50+=("$(jget "$r" p50_us)"); h99+=("$(jget "$r" p99_us)")
  peer_args "$nginx_port"
  r=$("$client" seq "127.0.0.1:$peer_port" "$N" "${peer_hdr[@]}"); p50+=("$(jget "$r" p50_us)"); p99+=("$(jget "$r" p99_us)")
done
D50=$(median "${d50[@]}"); D99=$(median "${d99[@]}"); A50=$(median "${a50[@]}"); A99=$(median "${a99[@]}")
P50=$(median "${p50[@]}"); P99=$(median "${p99[@]}"); H50=$(median "${h50[@]}"); H99=$(median "${h99[@]}")

# --- 1b. the same with every process on CPU 0. On this VM a wake-up that crosses CPUs costs
# ~15 µs, and where the scheduler puts the proxy (next to the client or not) moves the unpinned
# figures by tens of µs from run to run; on one CPU each proxy's own work shows.
cpus="0-$(($(nproc) - 1))"
tree_pids() { echo "$1"; pgrep -P "$1" || true; }
all_pids=$(for p in "$nginx_pid" "$hop_pid" "$airlock_pid" "$peer_pid"; do tree_pids "$p"; done)
echo "== sequential small requests, every process on CPU 0: $ROUNDS rounds x $N" >&2
for p in $all_pids; do taskset -a -p -c 0 "$p" >/dev/null 2>&1 || true; done
declare -a x_d x_a x_p x_h
for _ in $(seq "$ROUNDS"); do
  r=$(taskset -c 0 "$client" seq "127.0.0.1:$nginx_port" "$N"); x_d+=("$(jget "$r" p50_us)")
  r=$(taskset -c 0 "$client" seq "127.0.0.1:$airlock_port" "$N"); x_a+=("$(jget "$r" p50_us)")
  r=$(taskset -c 0 "$client" seq "127.0.0.1:$hop_port" "$N"); x_h+=("$(jget "$r" p50_us)")
  peer_args "$nginx_port"
  r=$(taskset -c 0 "$client" seq "127.0.0.1:$peer_port" "$N" "${peer_hdr[@]}"); x_p+=("$(jget "$r" p50_us)")
done
for p in $all_pids; do taskset -a -p -c "$cpus" "$p" >/dev/null 2>&1 || true; done
XD=$(median "${x_d[@]}"); XA=$(median "${x_a[@]}"); XP=$(median "${x_p[@]}"); XH=$(median "${x_h[@]}")

# --- 2. 1 MB request body
echo "== 1 MB request bodies" >&2
declare -a b_d b_a b_p b_h
for _ in $(seq "$ROUNDS"); do
  r=$("$client" seq "127.0.0.1:$nginx_port" 100 --body-bytes 1048576); b_d+=("$(jget "$r" p50_us)")
  r=$("$client" seq "127.0.0.1:$airlock_port" 100 --body-bytes 1048576); b_a+=("$(jget "$r" p50_us)")
  r=$("$client" seq "127.0.0.1:$hop_port" 100 --body-bytes 1048576); b_h+=("$(jget "$r" p50_us)")
  peer_args "$nginx_port"
  r=$("$client" seq "127.0.0.1:$peer_port" 100 --body-bytes 1048576 "${peer_hdr[@]}"); b_p+=("$(jget "$r" p50_us)")
done
BD=$(median "${b_d[@]}"); BA=$(median "${b_a[@]}"); BP=$(median "${b_p[@]}"); BH=$(median "${b_h[@]}")
# Large bodies leave freed heap for the next one; airlockd hands it back 2 s after the last.
airlock_rss_big=$(rss_mb "$airlock_pid"); sleep 3; airlock_rss_big_later=$(rss_mb "$airlock_pid")

# --- 3. throughput with 64 connections (wrk), and CPU per request of each proxy
echo "== throughput, 64 connections, ${WRK_SECONDS}s each" >&2
cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hello"}]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench"
LUA
cp "$work/post.lua" "$work/post_peer.lua"
printf 'wrk.headers["x-portkey-provider"] = "openai"\nwrk.headers["x-portkey-custom-host"] = "http://127.0.0.1:%s/v1"\n' "$nginx_port" >> "$work/post_peer.lua"
rps() { wrk -t2 -c64 -d"${WRK_SECONDS}s" -s "$2" "$1" | awk '/Requests\/sec/{print $2}'; }
TD=$(rps "http://127.0.0.1:$nginx_port/v1/chat/completions" "$work/post.lua")
c0=$(cpu_ticks "$airlock_pid"); TA=$(rps "http://127.0.0.1:$airlock_port/v1/chat/completions" "$work/post.lua"); c1=$(cpu_ticks "$airlock_pid")
hz=$(getconf CLK_TCK)
CPU_A=$(awk -v t=$((c1 - c0)) -v hz="$hz" -v r="$TA" -v s="$WRK_SECONDS" 'BEGIN{printf "%.1f", (t/hz)*1e6/(r*s)}')
c0=$(cpu_ticks "$peer_pid"); TP=$(rps "http://127.0.0.1:$peer_port/v1/chat/completions" "$work/post_peer.lua"); c1=$(cpu_ticks "$peer_pid")
CPU_P=$(awk -v t=$((c1 - c0)) -v hz="$hz" -v r="$TP" -v s="$WRK_SECONDS" 'BEGIN{printf "%.1f", (t/hz)*1e6/(r*s)}')
airlock_rss_load=$(rss_mb "$airlock_pid")

# --- 4. streaming with paced chunks: time to first byte and the gap between chunks
echo "== streaming, paced upstream" >&2
stop_pid "$airlock_pid"; start_airlock "$paced_port"
declare -a s_d s_a s_p s_h g_d g_a g_p
for _ in $(seq "$ROUNDS"); do
  r=$("$client" ttfb "127.0.0.1:$paced_port" 100); s_d+=("$(jget "$r" p50_us)"); g_d+=("$(jget "$r" chunk_gap_mean_us)")
  r=$("$client" ttfb "127.0.0.1:$airlock_port" 100); s_a+=("$(jget "$r" p50_us)"); g_a+=("$(jget "$r" chunk_gap_mean_us)")
  r=$("$client" ttfb "127.0.0.1:$hop_stream_port" 100); s_h+=("$(jget "$r" p50_us)")
  peer_args "$paced_port"
  r=$("$client" ttfb "127.0.0.1:$peer_port" 100 "${peer_hdr[@]}"); s_p+=("$(jget "$r" p50_us)"); g_p+=("$(jget "$r" chunk_gap_mean_us)")
done
SD=$(median "${s_d[@]}"); SA=$(median "${s_a[@]}"); SP=$(median "${s_p[@]}"); SH=$(median "${s_h[@]}")
GD=$(median "${g_d[@]}"); GA=$(median "${g_a[@]}"); GP=$(median "${g_p[@]}")

# --- 5. open streams held at once: RSS
echo "== $STREAMS open streams" >&2
stop_pid "$airlock_pid"; start_airlock "$long_port"
hold() {  # pid to measure, port, client args... -> sets held_rss, held_started
  local pid=$1 port=$2; shift 2
  rm -f "$work/hold.json"
  "$client" hold "127.0.0.1:$port" "$STREAMS" 6 "$@" > "$work/hold.json" &
  local h=$!
  for _ in $(seq 1500); do grep -q streams_started "$work/hold.json" 2>/dev/null && break; sleep 0.02; done
  sleep 1
  held_rss=$(rss_mb "$pid")
  wait "$h" || true
  held_started=$(sed -E 's/.*:([0-9]+).*/\1/' "$work/hold.json")
}
hold "$airlock_pid" "$airlock_port"; A_RSS_STREAMS=$held_rss; A_STARTED=$held_started
stop_pid "$peer_pid"; start_peer
peer_args "$long_port"
hold "$peer_pid" "$peer_port" "${peer_hdr[@]}"; P_RSS_STREAMS=$held_rss; P_STARTED=$held_started

# --- report
cat <<OUT
### Benchmark $(date -u +%Y-%m-%d) — $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), Debian $(cut -d. -f1 /etc/debian_version)

airlockd profile: ${profile}. Peer: @portkey-ai/gateway $(node -e 'console.log(require(process.argv[1]).version)' "$peer_dir/node_modules/@portkey-ai/gateway/package.json"). Medians of ${ROUNDS} alternating rounds; "ratio" is through ÷ direct. "nginx hop" is a second nginx doing only proxy_pass (keep-alive upstream): the cost of any extra hop on this machine.

| workload | direct | airlockd | added | ratio | Portkey | added | ratio | nginx hop | added |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| small request p50 (µs), ${N} sequential | $(fmt "$D50") | $(fmt "$A50") | $(minus "$A50" "$D50") | $(ratio "$A50" "$D50") | $(fmt "$P50") | $(minus "$P50" "$D50") | $(ratio "$P50" "$D50") | $(fmt "$H50") | $(minus "$H50" "$D50") |
| small request p50, all on CPU 0 (µs) | $(fmt "$XD") | $(fmt "$XA") | $(minus "$XA" "$XD") | $(ratio "$XA" "$XD") | $(fmt "$XP") | $(minus "$XP" "$XD") | $(ratio "$XP" "$XD") | $(fmt "$XH") | $(minus "$XH" "$XD") |
| small request p99 (µs) | $(fmt "$D99") | $(fmt "$A99") | $(minus "$A99" "$D99") | $(ratio "$A99" "$D99") | $(fmt "$P99") | $(minus "$P99" "$D99") | $(ratio "$P99" "$D99") | $(fmt "$H99") | $(minus "$H99" "$D99") |
| 1 MB request body p50 (µs) | $(fmt "$BD") | $(fmt "$BA") | $(minus "$BA" "$BD") | $(ratio "$BA" "$BD") | $(fmt "$BP") | $(minus "$BP" "$BD") | $(ratio "$BP" "$BD") | $(fmt "$BH") | $(minus "$BH" "$BD") |
| stream time to first byte p50 (µs) | $(fmt "$SD") | $(fmt "$SA") | $(minus "$SA" "$SD") | $(ratio "$SA" "$SD") | $(fmt "$SP") | $(minus "$SP" "$SD") | $(ratio "$SP" "$SD") | $(fmt "$SH") | $(minus "$SH" "$SD") |
| stream gap between chunks, mean (µs) | $(fmt "$GD") | $(fmt "$GA") | $(minus "$GA" "$GD") | $(ratio "$GA" "$GD") | $(fmt "$GP") | $(minus "$GP" "$GD") | $(ratio "$GP" "$GD") | | |
| throughput, 64 connections (req/s) | $(fmt "$TD") | $(fmt "$TA") | | $(ratio "$TA" "$TD") | $(fmt "$TP") | | $(ratio "$TP" "$TD") | | |

| proxy | airlockd | Portkey | airlockd ÷ Portkey |
| --- | ---: | ---: | ---: |
| CPU per request at 64 connections (µs) | $CPU_A | $CPU_P | $(ratio "$CPU_A" "$CPU_P") |
| RSS idle (MB) | $airlock_rss_idle | $peer_rss_idle | $(ratio "$airlock_rss_idle" "$peer_rss_idle") |
| idle wake-ups per second (all threads, ${IDLE_S} s without traffic) | $WAKE_A | $WAKE_P | $(ratio "$WAKE_A" "$WAKE_P") |
| RSS right after / 3 s after the 1 MB bodies (MB) | $airlock_rss_big / $airlock_rss_big_later | | |
| RSS after the throughput run (MB) | $airlock_rss_load | | |
| RSS with open streams (MB) | $A_RSS_STREAMS (${A_STARTED} streams) | $P_RSS_STREAMS (${P_STARTED} streams) | $(ratio "$A_RSS_STREAMS" "$P_RSS_STREAMS") |
| start-up to first answer (ms) | $airlock_startup_ms | $peer_startup_ms | $(ratio "$airlock_startup_ms" "$peer_startup_ms") |
OUT
