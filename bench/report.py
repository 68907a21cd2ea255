#!/usr/bin/env python3
"""Turns bench/run.sh's JSON lines into the Markdown report (see docs/benchmarks.md).

argv: results.jsonl, idle-RSS JSON ({"nginx": kB, ...}), a one-line run description,
optionally the recording check as JSON ({"rows": N, "drain_s": S, ...} or null), and optionally
cn-wakeup-probe's JSON (or null).
"""
import json
import sys

STREAMS1000_IDEAL_S = 34 * 0.100  # 35 events (30 deltas) with 100 ms between consecutive events


def main():
    rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    idle = json.loads(sys.argv[2])
    print(f"## claude-nexus benchmark ({sys.argv[3]})\n")
    by = {(r["scenario"], r["target"]): r for r in rows}
    scenarios = list(dict.fromkeys(r["scenario"] for r in rows))
    targets = list(dict.fromkeys(r["target"] for r in rows))

    print("| scenario | target | req/s | p50 µs | p90 µs | p99 µs | max µs | TTFB p50 µs | TTFB p99 µs "
          "| errors | added p99 µs vs direct | added TTFB p50 µs | req/s vs nginx | server CPU s / 1k req "
          "| of which I/O threads | backlog after |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s in scenarios:
        if s == "streams1000":
            continue
        direct = (by.get((s, "direct")) or {}).get("result")
        nginx = (by.get((s, "nginx")) or {}).get("result")
        for t in targets:
            row = by.get((s, t))
            res = row and row["result"]
            if not res:
                print(f"| {s} | {t} | failed | | | | | | | | | | | | | |")
                continue
            lat, ttfb = res["latency_us"], res["ttfb_us"]
            added_p99 = added_ttfb = ratio = "–"
            if direct and t != "direct":
                added_p99 = f"{lat['p99'] - direct['latency_us']['p99']:+d}"
                added_ttfb = f"{ttfb['p50'] - direct['ttfb_us']['p50']:+d}"
            if nginx and t not in ("direct", "nginx") and nginx["rps"] > 0:
                ratio = f"{res['rps'] / nginx['rps']:.2f}"
            total = res["total_ok"] + res["errors"]
            cpu = f"{row['cpu_ns'] / 1e9 / total * 1000:.3f}" if total else "–"
            io = f"{row['io_ns'] / 1e9 / total * 1000:.3f}" if total and "io_ns" in row else "–"
            backlog = f"{row['backlog_records']}" if "backlog_records" in row else "–"
            if row.get("backlog_spill_bytes", 0) > 0:
                backlog += f" + {row['backlog_spill_bytes'] / 1e6:.1f} MB spilled"
            print(f"| {s} | {t} | {res['rps']:.0f} | {lat['p50']} | {lat['p90']} | {lat['p99']} | "
                  f"{lat['max']} | {ttfb['p50']} | {ttfb['p99']} | {res['errors']} | {added_p99} | "
                  f"{added_ttfb} | {ratio} | {cpu} | {io} | {backlog} |")
    print("\n(direct: the CPU column is the fake upstream's own; for the proxies it is the proxy process,"
          " and for claude-nexus the part spent by its I/O threads; the rest is recording. Backlog after:"
          " records not yet in the store when the scenario ended.)\n")
    recording = json.loads(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[4] != "null" else None
    if recording and "claude-nexus" in targets:
        answered = sum(r["result"]["total_ok"] + r["result"]["errors"] for r in rows
                       if r["target"] == "claude-nexus" and r.get("result"))
        verdict = "every answered request recorded" if recording["rows"] >= answered else "RECORDS MISSING"
        print(f"Recording check: {recording['rows']} rows in claude-nexus's SQLite database for {answered} "
              f"answered requests ({verdict}); the backlog drained {recording['drain_s']} s after the last "
              f"scenario (left: {recording['queued']} queued, {recording['spill_bytes']} spill bytes).\n")

    print("| target | idle RSS MiB | peak RSS MiB (throughput runs) | peak RSS MiB (1000 streams) "
          "| 1000 streams: ok / errors | max stream s (ideal %.1f) | verdict |" % STREAMS1000_IDEAL_S)
    print("|---|---:|---:|---:|---:|---:|---|")
    for t in targets:
        before = [by[(s, t)]["hwm_kb"] for s in scenarios if s != "streams1000" and (s, t) in by]
        s1000 = by.get(("streams1000", t))
        res = s1000 and s1000["result"]
        idle_mib = f"{idle[t] / 1024:.1f}" if t in idle else "–"
        peak = f"{max(before) / 1024:.1f}" if before else "–"
        if res:
            peak1000 = f"{s1000['hwm_kb'] / 1024:.1f}"
            max_s = res["latency_us"]["max"] / 1e6
            ok = res["measured"] == 1000 and res["errors"] == 0 and max_s < 2 * STREAMS1000_IDEAL_S
            verdict = "all completed, no stall" if ok else "INCOMPLETE or STALLED"
            print(f"| {t} | {idle_mib} | {peak} | {peak1000} | {res['measured']} / {res['errors']} | "
                  f"{max_s:.2f} | {verdict} |")
        else:
            print(f"| {t} | {idle_mib} | {peak} | – | failed | – | – |")
    if "claude-nexus" not in targets:
        print("\nclaude-nexus: not measured (binary missing or did not start).")
    probe = json.loads(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[5] != "null" else None
    if probe:
        print(f"\nWake-up probe (cn-wakeup-probe, CPU {probe['from']} -> CPU {probe['to']}): a round trip that "
              f"wakes a thread on CPU {probe['to']} takes p50 {probe['idle']['p50']:.1f} µs (p99 "
              f"{probe['idle']['p99']:.1f}) when that CPU is idle, p50 {probe['busy']['p50']:.1f} µs (p99 "
              f"{probe['busy']['p99']:.1f}) when an idle-priority thread runs there: "
              f"{probe['penalty_p50_us']:+.1f} µs per wake-up of a busy CPU. claude-nexus's recording "
              f"writer runs beside its I/O thread, so a request whose events arrive while it runs pays "
              f"this (docs/benchmarks.md, \"The c=1 tail\").")


if __name__ == "__main__":
    main()
