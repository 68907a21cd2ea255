#!/usr/bin/env bash
# claude-nexus benchmark: direct (loadgen -> fake upstream) vs nginx vs claude-nexus, side by side.
# See docs/benchmarks.md. Usage: bench/run.sh   (env knobs below; the whole run takes < 5 minutes
# once built). Prints a Markdown report and keeps it, with the raw JSON lines, in bench/results/.
#
#   BENCH_BUILD_DIR  build directory (default build/bench, Release)
#   BENCH_DURATION   measured seconds per scenario (default 3)   BENCH_WARMUP  warm-up seconds (1)
#   BENCH_PIN        1 = pin proxies to CPU 0, loadgen + fake upstream to CPU 1 (default 1 on >= 2
#                    CPUs), 0 = no pinning
#   BENCH_RECORDER_CPUS  with BENCH_PIN=1, where claude-nexus's background threads (recording
#                    writer at idle priority, spill, log) run: "same" (default) = CPU 0 with the I/O
#                    thread, so the whole proxy, recording included, gets one CPU like nginx's
#                    worker; "other" = the other CPUs (shared with the loadgen and fake upstream);
#                    "all" = any CPU
#   BENCH_CORUNNER   1 = with BENCH_PIN=1, keep CPU 0 busy with a do-nothing loop at idle priority
#                    (SCHED_IDLE) during the measurements: what any proxy pays on this machine for
#                    sharing its CPU with background work (docs/benchmarks.md, "The c=1 tail")
#   BENCH_SKIP_BUILD 1 = use the binaries already in BENCH_BUILD_DIR
#   CN_NEXUS_BIN     claude-nexus binary (default <build>/src/app/claude-nexus)
#   BENCH_SCENARIOS  space-separated subset of: json-c1 json-c16 json-c64 stream-c16 streams1000
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BENCH_BUILD_DIR:-$ROOT/build/bench}
DUR=${BENCH_DURATION:-3}
WARM=${BENCH_WARMUP:-1}
OUT=$(mktemp -d /tmp/cn-bench.XXXXXX)
RESULTS=$OUT/results.jsonl
: >"$RESULTS"
PIDS=()

log() { echo "[bench] $*" >&2; }
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true

# --- build ----------------------------------------------------------------------------------
if [[ ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
  log "building Release in $BUILD"
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCN_BUILD_BENCH=ON \
    -DCN_BUILD_TESTS=OFF >"$OUT/cmake.log" 2>&1 || { cat "$OUT/cmake.log" >&2; exit 1; }
  nice -n 10 cmake --build "$BUILD" --target fake-upstream cn-loadgen cn-wakeup-probe -j2 >"$OUT/build.log" 2>&1 ||
    { tail -40 "$OUT/build.log" >&2; exit 1; }
  if cmake --build "$BUILD" --target help 2>/dev/null | grep -q '^claude-nexus:'; then
    nice -n 10 cmake --build "$BUILD" --target claude-nexus -j2 >>"$OUT/build.log" 2>&1 ||
      log "claude-nexus failed to build (see $OUT/build.log); measuring without it"
  fi
fi
FAKE_BIN=$(find "$BUILD" -name fake-upstream -type f -perm -u+x | head -1)
LOADGEN=$BUILD/bench/cn-loadgen
NEXUS_BIN=${CN_NEXUS_BIN:-$BUILD/src/app/claude-nexus}
[[ -x $FAKE_BIN && -x $LOADGEN ]] || { log "missing fake-upstream or cn-loadgen in $BUILD"; exit 1; }

if ! command -v nginx >/dev/null; then
  log "installing nginx-light"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx-light >"$OUT/apt.log" 2>&1 ||
    log "nginx install failed (see $OUT/apt.log); measuring without it"
fi

# --- CPU pinning: the proxy under test gets CPU 0, the environment (loadgen, fake) CPU 1 -------
PIN=${BENCH_PIN:-auto}
if [[ $PIN == auto ]]; then [[ $(nproc) -ge 2 ]] && PIN=1 || PIN=0; fi
if [[ $PIN == 1 ]] && command -v taskset >/dev/null; then
  ENV_CPU=(taskset -c 1); PROXY_CPU=(taskset -c 0)
else
  ENV_CPU=(); PROXY_CPU=()
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {  # port timeout_s: true once something accepts on 127.0.0.1:port
  local deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
# CPU time in nanoseconds from the scheduler's own accounting (/proc/<pid>/task/<tid>/schedstat,
# field 1): exact, where utime+stime in /proc/<pid>/stat are tick samples that, on a VM with an
# idle tick, charge a whole tick to whoever runs when it fires (they overstated claude-nexus's
# I/O thread at c=1 by ~1.6x against perf's task-clock).
# cpu_ns <pid> [io|bg]: all threads, or claude-nexus's I/O threads (cn-io-*), or the others.
cpu_ns() {
  local sum=0 t comm
  for t in /proc/$1/task/*; do
    if [[ -n ${2:-} ]]; then
      comm=$(cat "$t/comm" 2>/dev/null) || continue
      [[ ($2 == io && $comm == cn-io-*) || ($2 == bg && $comm != cn-io-*) ]] || continue
    fi
    sum=$((sum + $(awk '{print $1}' "$t/schedstat" 2>/dev/null || echo 0)))
  done
  echo "$sum"
}
# nexus_backlog <port>: records not yet in the store (queued in memory + bytes pending in spill files).
nexus_backlog() {
  curl -s --max-time 2 "http://127.0.0.1:$1/health" |
    python3 -c 'import json,sys; s=json.load(sys.stdin)["storage"]; print(s.get("queued",0), s.get("spilledPending",0))' 2>/dev/null ||
    echo "-1 -1"
}
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

# --- start the servers ------------------------------------------------------------------------
"${ENV_CPU[@]}" "$FAKE_BIN" --port 0 --threads 1 >"$OUT/fake.out" 2>"$OUT/fake.err" &
FAKE_PID=$!; PIDS+=("$FAKE_PID")
for _ in $(seq 50); do grep -q '^listening ' "$OUT/fake.out" && break; sleep 0.1; done
FAKE_PORT=$(awk '/^listening /{print $2}' "$OUT/fake.out")
[[ -n $FAKE_PORT ]] || { log "fake-upstream did not start"; cat "$OUT/fake.err" >&2; exit 1; }
log "fake upstream on $FAKE_PORT (pid $FAKE_PID)"

TARGETS=("direct:$FAKE_PORT:$FAKE_PID")
declare -A IDLE_RSS

if command -v nginx >/dev/null; then
  NGINX_PORT=$(free_port)
  mkdir -p "$OUT/nginx-tmp"
  cat >"$OUT/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $OUT/nginx.pid;
error_log $OUT/nginx-error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  client_body_temp_path $OUT/nginx-tmp/body;
  proxy_temp_path $OUT/nginx-tmp/proxy;
  upstream fake { server 127.0.0.1:$FAKE_PORT; keepalive 256; }
  server {
    listen 127.0.0.1:$NGINX_PORT backlog=4096;
    client_max_body_size 64m;
    location / {
      proxy_pass http://fake;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 300s;
    }
  }
}
EOF
  "${PROXY_CPU[@]}" nginx -p "$OUT" -c "$OUT/nginx.conf" -e "$OUT/nginx-error.log" &
  NGINX_PID=$!; PIDS+=("$NGINX_PID")
  if wait_port "$NGINX_PORT" 10; then
    IDLE_RSS[nginx]=$(status_kb "$NGINX_PID" VmRSS)
    TARGETS+=("nginx:$NGINX_PORT:$NGINX_PID")
    log "nginx on $NGINX_PORT (pid $NGINX_PID)"
  else
    log "nginx did not start: $(tail -3 "$OUT/nginx-error.log" 2>/dev/null)"
  fi
fi

if [[ -x $NEXUS_BIN ]]; then
  NEXUS_PORT=$(free_port)
  mkdir -p "$OUT/nexus-data"
  PORT=$NEXUS_PORT DASHBOARD_PORT=0 HOST=127.0.0.1 CLAUDE_API_BASE_URL=http://127.0.0.1:$FAKE_PORT \
    DATA_DIR=$OUT/nexus-data LOG_LEVEL=warn IO_THREADS=${BENCH_NEXUS_IO_THREADS:-$([[ $PIN == 1 ]] && echo 1 || echo 0)} \
    "${PROXY_CPU[@]}" "$NEXUS_BIN" serve >"$OUT/nexus.log" 2>&1 &
  NEXUS_PID=$!; PIDS+=("$NEXUS_PID")
  if wait_port "$NEXUS_PORT" 20; then
    sleep 0.5  # let start-up allocations settle before reading idle RSS
    IDLE_RSS[claude-nexus]=$(status_kb "$NEXUS_PID" VmRSS)
    case ${BENCH_RECORDER_CPUS:-same} in
      other) BG_CPUS="1-$(($(nproc) - 1))" ;;
      all) BG_CPUS="0-$(($(nproc) - 1))" ;;
      *) BG_CPUS="" ;;
    esac
    if [[ $PIN == 1 && -n $BG_CPUS ]]; then
      for t in /proc/$NEXUS_PID/task/*; do
        [[ $(cat "$t/comm") == cn-io-* ]] || taskset -p -c "$BG_CPUS" "${t##*/}" >/dev/null
      done
    fi
    TARGETS+=("claude-nexus:$NEXUS_PORT:$NEXUS_PID")
    log "claude-nexus on $NEXUS_PORT (pid $NEXUS_PID)"
  else
    log "claude-nexus did not start listening within 20 s: $(tail -5 "$OUT/nexus.log")"
  fi
else
  log "SKIPPING claude-nexus: $NEXUS_BIN does not exist yet (build target claude-nexus missing)"
fi

# --- measure ------------------------------------------------------------------------------------
# measure <scenario> <loadgen args...>: runs the scenario against every target in turn (interleaved
# per scenario so background noise on the shared machine hits all targets alike).
SCENARIOS=" ${BENCH_SCENARIOS:-json-c1 json-c16 json-c64 stream-c16 streams1000} "
measure() {
  local scenario=$1; shift
  [[ $SCENARIOS == *" $scenario "* ]] || return 0
  for t in "${TARGETS[@]}"; do
    IFS=: read -r name port pid <<<"$t"
    [[ -d /proc/$pid ]] || { log "$name (pid $pid) died; skipping $scenario"; continue; }
    if [[ $scenario == streams1000 ]]; then echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true; fi
    local c0 c1 io0 io1 result extra=""
    c0=$(cpu_ns "$pid")
    io0=$(cpu_ns "$pid" io)
    result=$("${ENV_CPU[@]}" "$LOADGEN" --port "$port" --label "$name" "$@" 2>>"$OUT/loadgen.log") || true
    c1=$(cpu_ns "$pid")
    io1=$(cpu_ns "$pid" io)
    [[ -n $result ]] || result=null
    if [[ $name == claude-nexus ]]; then
      read -r queued spilled <<<"$(nexus_backlog "$port")"
      extra=",\"io_ns\":$((io1 - io0)),\"backlog_records\":$queued,\"backlog_spill_bytes\":$spilled"
    fi
    echo "{\"target\":\"$name\",\"scenario\":\"$scenario\",\"cpu_ns\":$((c1 - c0)),\"hwm_kb\":$(status_kb "$pid" VmHWM)$extra,\"result\":$result}" >>"$RESULTS"
    log "$scenario $name: $(tail -1 "$OUT/loadgen.log")"
  done
}

if [[ ${BENCH_CORUNNER:-0} == 1 && $PIN == 1 ]]; then
  taskset -c 0 chrt --idle 0 sh -c 'while :; do :; done' &
  PIDS+=("$!")
  log "co-runner: an idle-priority busy loop on CPU 0 (pid $!)"
fi

# --- machine check: what waking a thread on a busy CPU 0 costs here (docs/benchmarks.md) -------
PROBE_JSON=null
if [[ $PIN == 1 && -x $BUILD/bench/cn-wakeup-probe ]]; then
  PROBE_JSON=$("$BUILD/bench/cn-wakeup-probe" --from 1 --to 0 2>>"$OUT/probe.log") || PROBE_JSON=null
  log "wake-up probe (CPU 1 -> CPU 0): $PROBE_JSON"
fi

COMMON=(--duration "$DUR" --warmup "$WARM")
measure json-c1 --mode json -c 1 "${COMMON[@]}"
measure json-c16 --mode json -c 16 "${COMMON[@]}"
measure json-c64 --mode json -c 64 "${COMMON[@]}"
measure stream-c16 --mode stream -c 16 --deltas 10 --delay-ms 20 "${COMMON[@]}"
measure streams1000 --mode stream -c 1000 -n 1000 --deltas 30 --delay-ms 100 --timeout 30

# --- recording check: wait for the writer to drain, then count what claude-nexus stored ---------
RECORDING_JSON=null
if [[ -n ${NEXUS_PID:-} && -d /proc/$NEXUS_PID ]]; then
  drain_start=$SECONDS
  while ((SECONDS - drain_start < 300)); do
    read -r queued spilled <<<"$(nexus_backlog "$NEXUS_PORT")"
    [[ $queued == 0 && $spilled == 0 ]] && break
    sleep 0.5
  done
  drain_s=$((SECONDS - drain_start))
  rows=$(python3 -c 'import sqlite3,sys; c=sqlite3.connect("file:"+sys.argv[1]+"?mode=ro", uri=True); print(c.execute("select count(*) from api_requests").fetchone()[0])' \
    "$OUT/nexus-data/claude-nexus.db" 2>/dev/null || echo -1)
  RECORDING_JSON="{\"drain_s\":$drain_s,\"rows\":$rows,\"queued\":$queued,\"spill_bytes\":$spilled}"
  log "recording: $rows rows stored; backlog drained in ${drain_s}s (left: $queued queued, $spilled spill bytes)"
fi

# --- report ------------------------------------------------------------------------------------
IDLE_JSON="{"
for k in "${!IDLE_RSS[@]}"; do IDLE_JSON+="\"$k\":${IDLE_RSS[$k]},"; done
IDLE_JSON="${IDLE_JSON%,}}"
mkdir -p "$ROOT/bench/results"
STAMP=$(date +%Y%m%d-%H%M%S)
cp "$RESULTS" "$ROOT/bench/results/$STAMP.jsonl"
PIN_DESC="pin=$PIN"
[[ $PIN == 1 ]] && PIN_DESC+=" (I/O thread on CPU 0; recorder threads: ${BENCH_RECORDER_CPUS:-same})"
[[ ${BENCH_CORUNNER:-0} == 1 && $PIN == 1 ]] && PIN_DESC+=", idle-priority co-runner on CPU 0"
python3 "$ROOT/bench/report.py" "$RESULTS" "$IDLE_JSON" "$PIN_DESC, duration=${DUR}s, warm-up=${WARM}s, $(nproc) CPUs" "$RECORDING_JSON" "$PROBE_JSON" |
  tee "$ROOT/bench/results/$STAMP.md"
log "raw results and logs: $OUT; report: bench/results/$STAMP.md"
