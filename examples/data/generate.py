#!/usr/bin/env python3
"""Regenerate the recorded series under examples/data/ (standard library only, seeded).

Three scenarios of a "checkout" service, one directory each:
  checkout/    healthy canary: same error rate, latency and CPU as the baseline (40 intervals)
  regression/  bad canary: 8% 5xx, +25% latency, +35% CPU (40 intervals)
  early/       first three intervals of a rollout, with very little canary traffic

Files per scenario and arm (canary-*, baseline-*):
  requests.csv     timestamp,value  requests per 1-minute interval
  errors.csv       timestamp,value  5xx responses per interval
  5xx-ratio.csv    timestamp,value  errors / requests
  latency-ms.csv   timestamp,value  mean latency per interval (ms)
  latency-hist.csv timestamp,le,count  cumulative latency histogram per interval (seconds)
  cpu.csv          timestamp,value  CPU cores per pod
Run: python3 examples/data/generate.py
"""
import bisect
import math
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
START = 1764000000
STEP = 60
BOUNDS = [0.05, 0.1, 0.2, 0.5, 1.0]  # plus +Inf

SCENARIOS = {
    # name: intervals, then per arm: requests/interval, error rate, latency ms (mean, sd),
    # histogram lognormal median (s), cpu (mean, sd)
    "checkout": dict(
        n=40,
        canary=dict(req=20000, err=0.004, lat=(120.0, 6.0), med=0.080, cpu=(0.80, 0.05)),
        baseline=dict(req=80000, err=0.004, lat=(120.0, 6.0), med=0.080, cpu=(0.80, 0.05)),
    ),
    "regression": dict(
        n=40,
        canary=dict(req=20000, err=0.080, lat=(150.0, 6.0), med=0.110, cpu=(1.08, 0.05)),
        baseline=dict(req=80000, err=0.004, lat=(120.0, 6.0), med=0.080, cpu=(0.80, 0.05)),
    ),
    "early": dict(
        n=3,
        canary=dict(req=25, err=0.004, lat=(120.0, 6.0), med=0.080, cpu=(0.80, 0.05)),
        baseline=dict(req=200, err=0.004, lat=(120.0, 6.0), med=0.080, cpu=(0.80, 0.05)),
    ),
}


def poisson(rng, lam):
    # Normal approximation for large means, Knuth's method for small ones.
    if lam > 50:
        return max(0, int(round(rng.gauss(lam, math.sqrt(lam)))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def write(path, header, rows):
    with open(path, "w") as f:
        f.write(header + "\n")
        for r in rows:
            f.write(",".join(str(x) for x in r) + "\n")


def arm(rng, spec, n, out, prefix):
    ts = [START + STEP * i for i in range(n)]
    req = [poisson(rng, spec["req"]) for _ in range(n)]
    err = [poisson(rng, r * spec["err"]) for r in req]
    ratio = [round(e / r, 6) if r else "NaN" for e, r in zip(err, req)]
    lat = [round(rng.gauss(*spec["lat"]), 3) for _ in range(n)]
    cpu = [round(rng.gauss(*spec["cpu"]), 4) for _ in range(n)]
    write(os.path.join(out, f"{prefix}-requests.csv"), "timestamp,value", zip(ts, req))
    write(os.path.join(out, f"{prefix}-errors.csv"), "timestamp,value", zip(ts, err))
    write(os.path.join(out, f"{prefix}-5xx-ratio.csv"), "timestamp,value", zip(ts, ratio))
    write(os.path.join(out, f"{prefix}-latency-ms.csv"), "timestamp,value", zip(ts, lat))
    write(os.path.join(out, f"{prefix}-cpu.csv"), "timestamp,value", zip(ts, cpu))
    rows = []
    mu, sigma = math.log(spec["med"]), 0.6
    for t, r in zip(ts, req):
        samples = sorted(rng.lognormvariate(mu, sigma) for _ in range(r))
        for b in BOUNDS:
            rows.append((t, b, bisect.bisect_right(samples, b)))
        rows.append((t, "+Inf", r))
    write(os.path.join(out, f"{prefix}-latency-hist.csv"), "timestamp,le,count", rows)


def main():
    for name, sc in SCENARIOS.items():
        out = os.path.join(HERE, name)
        os.makedirs(out, exist_ok=True)
        rng = random.Random(f"canary-judge-{name}")
        for prefix in ("canary", "baseline"):
            arm(rng, sc[prefix], sc["n"], out, prefix)


if __name__ == "__main__":
    main()
