#!/usr/bin/env python3
"""Markdown table for scripts/bench-service from wrk text and ghz JSON outputs in DIR.

Exits 1 when any case saw errors (non-2xx HTTP answers, socket errors, non-OK gRPC codes):
a benchmark of failing requests measures nothing.
"""

import json
import os
import re
import sys

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def ms(text):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text.strip())
    if not m:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(m.group(1)) * UNITS[m.group(2)]


def wrk(path):
    text = open(path).read()
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", text).group(1))
    pct = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)", text, re.M))
    errors = 0
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    if m:
        errors += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        errors += sum(int(x) for x in m.groups())
    total = int(re.search(r"(\d+) requests in", text).group(1))
    return {"rps": rps, "p50": ms(pct["50"]), "p99": ms(pct["99"]), "errors": errors, "n": total}


def ghz(path, conns):
    d = json.load(open(path))
    lat = {int(x["percentage"]): x["latency"] / 1e6 for x in d.get("latencyDistribution") or []}
    codes = d.get("statusCodeDistribution") or {}
    failed = sum(v for k, v in codes.items() if k != "OK")
    # ghz's duration mode (-z) closes the connection while the last `conns` calls are in
    # flight; those end as Unavailable "transport is closing" or, when the cancel wins the
    # race, Canceled "the client connection is closing". Not server errors: at most `conns`
    # of them are excluded from the error count (and from the timings: ghz reports only
    # completed calls' latency).
    closing = sum(v for k, v in (d.get("errorDistribution") or {}).items()
                  if "transport is closing" in k or "client connection is closing" in k)
    cut = min(closing, conns)
    return {"rps": d["rps"], "p50": lat.get(50, float("nan")), "p99": lat.get(99, float("nan")),
            "errors": failed - cut, "n": d["count"] - cut, "cut_at_end": cut}


def main():
    out = sys.argv[1]
    conns = int(sys.argv[2]) if len(sys.argv) > 2 else 32
    rows = [
        ("HTTP", "GET /healthz (floor)", wrk, "wrk-healthz.txt", None),
        ("HTTP", "POST /v1/analyze, Mann–Whitney 300/300", wrk, "wrk-analyze-mann-whitney.txt", "HTTP"),
        ("HTTP", "POST /v1/analyze, Welch 300/300", wrk, "wrk-analyze-welch.txt", "HTTP"),
        ("HTTP", "POST /v1/analyze, threshold 300", wrk, "wrk-analyze-threshold.txt", "HTTP"),
        ("gRPC", "grpc.health.v1.Health/Check (floor)", ghz, "ghz-health.json", None),
        ("gRPC", "Judge/Compare, Mann–Whitney 300/300", ghz, "ghz-compare-mann-whitney.json", "gRPC"),
        ("gRPC", "Judge/Compare, Welch 300/300", ghz, "ghz-compare-welch.json", "gRPC"),
        ("gRPC", "Judge/Compare, threshold 300", ghz, "ghz-compare-threshold.json", "gRPC"),
        ("HTTP, 1 at a time", "POST /v1/analyze, Welch 300/300", wrk, "wrk-analyze-welch-c1.txt", None),
        ("gRPC, 1 at a time", "grpc.health.v1.Health/Check (floor)", ghz, "ghz-health-c1.json", None),
        ("gRPC, 1 at a time", "Judge/Compare, Welch 300/300", ghz, "ghz-compare-welch-c1.json", "gRPC, 1 at a time"),
    ]
    floors = {}
    bad = False
    print("| protocol | request | requests | req/s | p50 | p99 | req/s vs floor | p50 above floor |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    results = {}
    for proto, name, parse, file, floor_of in rows:
        r = parse(os.path.join(out, file)) if parse is wrk else parse(os.path.join(out, file), conns)
        results[file] = r
        if r["errors"]:
            bad = True
        if floor_of is None:
            is_floor = "floor" in name or "Health/Check" in name
            if is_floor:
                floors[proto] = r
            rel, extra = ("1 (floor)" if is_floor else "—"), "—"
        else:
            f = floors[proto]
            rel = f"{r['rps'] / f['rps']:.2f}×"
            extra = f"+{r['p50'] - f['p50']:.3f} ms"
        err = f" ({r['errors']} errors!)" if r["errors"] else ""
        print(f"| {proto} | {name}{err} | {r['n']} | {r['rps']:,.0f} | {r['p50']:.3f} ms | "
              f"{r['p99']:.3f} ms | {rel} | {extra} |")
    with open(os.path.join(out, "table.json"), "w") as f:
        json.dump(results, f, indent=1)
    if bad:
        print("ERROR: some requests failed; see the raw outputs", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
