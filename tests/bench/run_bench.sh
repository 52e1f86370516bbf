#!/usr/bin/env bash
# Foundation benchmark: added latency of airlockd over going direct to the same upstream, measured
# in the same run (rounds alternate direct/through so machine noise hits both), plus RSS idle and
# with open streams. Usage: tests/bench/run_bench.sh [BUILD_DIR]   (builds nothing; build first)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build="${1:-${AIRLOCK_BUILD_DIR:-$root/build}}"
N="${BENCH_REQUESTS:-2000}"; ROUNDS="${BENCH_ROUNDS:-5}"; STREAMS="${BENCH_STREAMS:-200}"
up="$build/tests/bench/bench_upstream"; client="$build/tests/bench/bench_client"; daemon="$build/app/airlockd/airlockd"
work=$(mktemp -d /tmp/airlock-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

upstream_port=0
start_upstream() {  # args: name, extra flags; sets upstream_port (no subshell, so the pid is kept)
  local f="$work/$1.port"; shift
  "$up" "$@" > "$f" &
  pids+=("$!")
  for _ in $(seq 100); do [ -s "$f" ] && break; sleep 0.05; done
  upstream_port=$(sed -E 's/.*"port":([0-9]+).*/\1/' "$f")
}
free_port() { node -e 's=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
rss_kb() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }
field() { node -e "const o=JSON.parse(process.argv[1]);console.log(Object.values(o)[0]['$2'])" "$1"; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}'; }

start_upstream fast --chunks 20 --chunk-delay-ms 5; fast=$upstream_port
port=$(free_port)
t0=$(date +%s%N)
"$daemon" --listen "127.0.0.1:$port" --data-dir "$work/data" --upstream "openai=http://127.0.0.1:$fast" 2>"$work/airlockd.log" &
dpid=$!; pids+=("$dpid")
until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.01; done
startup_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
sleep 1
rss_idle=$(rss_kb "$dpid")

declare -a d50 d99 a50 a99 t_d t_a
for r in $(seq "$ROUNDS"); do
  dj=$("$client" seq "127.0.0.1:$fast" "$N"); aj=$("$client" seq "127.0.0.1:$port" "$N")
  d50+=("$(field "$dj" p50_us)"); d99+=("$(field "$dj" p99_us)")
  a50+=("$(field "$aj" p50_us)"); a99+=("$(field "$aj" p99_us)")
  td=$("$client" ttfb "127.0.0.1:$fast" 200); ta=$("$client" ttfb "127.0.0.1:$port" 200)
  t_d+=("$(field "$td" p50_us)"); t_a+=("$(field "$ta" p50_us)")
done
D50=$(median "${d50[@]}"); D99=$(median "${d99[@]}"); A50=$(median "${a50[@]}"); A99=$(median "${a99[@]}")
TD=$(median "${t_d[@]}"); TA=$(median "${t_a[@]}")
rss_after_load=$(rss_kb "$dpid")

# Long-lived streams from a second upstream, held open while RSS is read.
start_upstream slow --chunks 100000 --chunk-delay-ms 1000; slow=$upstream_port
kill "$dpid"; wait "$dpid" 2>/dev/null || true
"$daemon" --listen "127.0.0.1:$port" --data-dir "$work/data" --upstream "openai=http://127.0.0.1:$slow" 2>>"$work/airlockd.log" &
dpid=$!; pids+=("$dpid")
until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.01; done
"$client" hold "127.0.0.1:$port" "$STREAMS" 4 > "$work/hold.json" &
hold=$!
for _ in $(seq 300); do grep -q streams_started "$work/hold.json" 2>/dev/null && break; sleep 0.05; done
sleep 1
rss_streams=$(rss_kb "$dpid")
started=$(sed -E 's/.*:([0-9]+).*/\1/' "$work/hold.json")
wait "$hold" || true

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
added() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.0f", a-b}'; }
cat <<OUT
## airlockd foundation benchmark ($(date -u +%Y-%m-%d), $(nproc) cores, $(uname -m), ${ROUNDS} rounds x ${N} sequential requests, medians of rounds)

| measure | direct | through airlockd | added | ratio |
| --- | ---: | ---: | ---: | ---: |
| small request p50 (µs) | $D50 | $A50 | $(added "$A50" "$D50") | $(ratio "$A50" "$D50") |
| small request p99 (µs) | $D99 | $A99 | $(added "$A99" "$D99") | $(ratio "$A99" "$D99") |
| stream time to first byte p50 (µs) | $TD | $TA | $(added "$TA" "$TD") | $(ratio "$TA" "$TD") |

| airlockd | value |
| --- | ---: |
| start-up to first /healthz answer | ${startup_ms} ms |
| RSS idle | $((rss_idle / 1024)) MB |
| RSS after the latency runs | $((rss_after_load / 1024)) MB |
| RSS with ${started} open streams | $((rss_streams / 1024)) MB |
OUT
