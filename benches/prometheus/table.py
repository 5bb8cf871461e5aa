#!/usr/bin/env python3
"""Markdown table for scripts/bench-prometheus from DIR/plugin.json (Go harness through Argo's
plugin client) and DIR/hyperfine.json (CLI vs minimal client, process start included).

Overhead = canary-judge / reference - 1, where the reference sends the same queries with the
same concurrency as canary-judge (all four at once); the sequential reference is shown too.
"""

import json
import os
import statistics
import sys


def row(level, name, mean, p50, p90, p99, ref=None):
    if ref is None:
        rel = "—"
    else:
        rel = f"{p50 / ref[1]:.3f}× ({(p50 / ref[1] - 1) * 100:+.1f} %) / {mean / ref[0]:.3f}× ({(mean / ref[0] - 1) * 100:+.1f} %)"
    p90s = f"{p90:.2f} ms" if p90 is not None else "—"
    print(f"| {level} | {name} | {mean:.2f} ms | {p50:.2f} ms | {p90s} | {p99:.2f} ms | {rel} |")


def main():
    out = sys.argv[1]
    plugin = {s["name"]: s for s in json.load(open(os.path.join(out, "plugin.json")))}
    hf = {r["command"]: r for r in json.load(open(os.path.join(out, "hyperfine.json")))["results"]}
    print("| level | what | mean | p50 | p90 | p99 | vs concurrent raw queries: p50 / mean |")
    print("|---|---|---:|---:|---:|---:|---|")
    ref = plugin["raw queries, 4 concurrent"]
    ref_t = (ref["mean_ms"], ref["p50_ms"])
    for name in ("raw queries, 4 concurrent", "raw queries, sequential", "plugin Run"):
        s = plugin[name]
        row(f"Argo plugin client, {s['n']} interleaved rounds", name, s["mean_ms"], s["p50_ms"],
            s["p90_ms"], s["p99_ms"], None if name == "raw queries, 4 concurrent" else ref_t)
    stats = {}
    for name, r in hf.items():
        t = sorted(x * 1e3 for x in r["times"])
        q = lambda p: t[int(p * (len(t) - 1) + 0.5)]
        stats[name] = (r["mean"] * 1e3, statistics.median(t), q(0.9), q(0.99), len(t))
    ref_t = stats["raw queries, concurrent"][:2]
    for name in ("raw queries, concurrent", "raw queries, sequential", "canary-judge analyze"):
        mean, p50, p90, p99, n = stats[name]
        row(f"process per step (hyperfine, {n} runs)", name, mean, p50, p90, p99,
            None if name == "raw queries, concurrent" else ref_t)
    run, raw = plugin["plugin Run"], plugin["raw queries, 4 concurrent"]
    over = (run["p50_ms"] / raw["p50_ms"] - 1) * 100
    print()
    print(f"Headline: plugin Run p50 {run['p50_ms']:.2f} ms vs raw queries p50 {raw['p50_ms']:.2f} ms: "
          f"overhead {over:+.1f} % (goal ≤ 10 %: {'met' if over <= 10 else 'missed'})")


if __name__ == "__main__":
    main()
