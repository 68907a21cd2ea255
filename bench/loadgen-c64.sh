#!/usr/bin/env bash
# claude-nexus vs nginx at 64 connections, measured with a load generator that can saturate nginx
# (the shared `loadgen`: one thread, epoll; see docs/benchmarks.md "64 connections, loadgen").
# Load generator and fake upstream on CPU 0, the proxy under test alone on CPU 1, the default
# configuration (recording into SQLite, info logging, IO_THREADS from the CPU mask), the same
# 2 KB Claude-Code-shaped body for both, runs interleaved. Prints one line per run and the
# medians: req/s, ratio to nginx, CPU ms per 1,000 requests and peak RSS of the proxy.
#   LOADGEN_SRC   loadgen.cpp (default ../shared/tools/loadgen/loadgen.cpp beside the checkout)
#   BENCH_BUILD_DIR  Release build with claude-nexus and fake-upstream (default build/bench;
#                 built when missing)     REPS (default 5)   DUR seconds (default 5)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRC=${LOADGEN_SRC:-$ROOT/../shared/tools/loadgen/loadgen.cpp}
BUILD=${BENCH_BUILD_DIR:-$ROOT/build/bench}
REPS=${REPS:-5}
DUR=${DUR:-5}
OUT=$(mktemp -d /tmp/cn-lg64.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
[[ -f $SRC ]] || { echo "loadgen source not found: $SRC (set LOADGEN_SRC)" >&2; exit 1; }
g++ -O2 -std=c++17 -o "$OUT/loadgen" "$SRC"
if [[ ! -x $BUILD/src/app/claude-nexus ]]; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCN_BUILD_BENCH=ON \
    -DCN_BUILD_TESTS=OFF >/dev/null
  cmake --build "$BUILD" --target claude-nexus fake-upstream >/dev/null
fi
FAKE=$(find "$BUILD" -name fake-upstream -type f -perm -u+x | head -1)
command -v nginx >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

taskset -c 0 "$FAKE" --port 0 --threads 1 >"$OUT/fake.out" 2>"$OUT/fake.err" & PIDS+=($!)
for _ in $(seq 50); do grep -q '^listening ' "$OUT/fake.out" && break; sleep 0.1; done
FAKE_PORT=$(awk '/^listening /{print $2}' "$OUT/fake.out")

NGINX_PORT=$(free_port); mkdir -p "$OUT/nginx-tmp"
cat >"$OUT/nginx.conf" <<CONF
daemon off; master_process off; worker_processes 1; pid $OUT/nginx.pid;
error_log $OUT/nginx-error.log warn;
events { worker_connections 16384; }
http { access_log off; client_body_temp_path $OUT/nginx-tmp/body; proxy_temp_path $OUT/nginx-tmp/proxy;
  upstream fake { server 127.0.0.1:$FAKE_PORT; keepalive 256; }
  server { listen 127.0.0.1:$NGINX_PORT backlog=4096; client_max_body_size 64m;
    location / { proxy_pass http://fake; proxy_http_version 1.1; proxy_set_header Connection "";
                 proxy_buffering off; proxy_request_buffering off; } } }
CONF
taskset -c 1 nginx -p "$OUT" -c "$OUT/nginx.conf" -e "$OUT/nginx-error.log" & NGINX_PID=$!; PIDS+=($NGINX_PID)
NEXUS_PORT=$(free_port); mkdir -p "$OUT/data"
PORT=$NEXUS_PORT DASHBOARD_PORT=0 HOST=127.0.0.1 CLAUDE_API_BASE_URL=http://127.0.0.1:$FAKE_PORT DATA_DIR=$OUT/data \
  taskset -c 1 "$BUILD/src/app/claude-nexus" serve >"$OUT/nexus.log" 2>&1 & NEXUS_PID=$!; PIDS+=($NEXUS_PID)
wait_port "$NGINX_PORT"; wait_port "$NEXUS_PORT"

# A 2 KB body shaped like Claude Code's (system blocks, tools, metadata), unique per request.
python3 - "$OUT/body.json" <<'PY'
import json, sys
body = {"model": "claude-sonnet-4-5-20250929", "max_tokens": 32000, "stream": False,
        "metadata": {"user_id": "user_" + "a" * 64 + "_account__session_@@SEQ@@@@@@@"},
        "system": [{"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude."},
                   {"type": "text", "text": "Project instructions. " * 30}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Fix the failing test. " * 20}]}],
        "tools": [{"name": "Bash", "description": "Run a command", "input_schema": {"type": "object"}}]}
open(sys.argv[1], "w").write(json.dumps(body))
PY
run() {  # label port pid
  taskset -c 0 "$OUT/loadgen" --url "http://127.0.0.1:$2/v1/messages" -c 64 -d "$DUR" -w 1 \
    --body-file "$OUT/body.json" -H 'x-api-key: sk-ant-api03-bench' -H 'anthropic-version: 2023-06-01' \
    --label "$1" --case json-c64 --sample "$1=$3" 2>>"$OUT/loadgen.err"
}
for i in $(seq "$REPS"); do
  run nginx "$NGINX_PORT" "$NGINX_PID" >>"$OUT/results.jsonl"
  run claude-nexus "$NEXUS_PORT" "$NEXUS_PID" >>"$OUT/results.jsonl"
done
python3 - "$OUT/results.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = {}
for r in rows:
    label = r.get("label")
    rps = r.get("rps")
    s = (r.get("procs") or {}).get(label, {})
    cpu = s.get("cpu_s")
    rss = s.get("peak_rss_kb")
    n = r.get("requests")
    errs = r.get("errors") or 0
    print(f"{label:13s} {rps:10.0f} req/s  errors {errs}  cpu {cpu}s  peak rss {rss} kB  requests {n}")
    by.setdefault(label, []).append((rps, cpu, rss, n))
med = {k: (statistics.median(v[0] for v in vals),
           statistics.median((v[1] or 0) / max(1, v[3] or 1) * 1e6 for v in vals),
           max((v[2] or 0) for v in vals)) for k, vals in by.items()}
for k, (rps, cpu_ms_per_1k, rss) in med.items():
    print(f"median {k:13s} {rps:10.0f} req/s  {cpu_ms_per_1k:.1f} ms CPU / 1,000 req  peak RSS {rss / 1024:.1f} MiB")
if "nginx" in med and "claude-nexus" in med:
    print(f"ratio claude-nexus / nginx: {med['claude-nexus'][0] / med['nginx'][0]:.2f}x req/s, "
          f"{med['claude-nexus'][1] / max(1e-9, med['nginx'][1]):.2f}x CPU per request")
PY
echo "raw: $OUT/results.jsonl" >&2
