#!/usr/bin/env python3
"""Request bodies for scripts/bench-service (issue 7 part 4), written into OUT_DIR.

Realistic inline comparisons: per-request latency samples of a few hundred points per arm
(log-normal, median ~100 ms, canary 2 % slower) judged by Mann-Whitney and by Welch, and a
threshold on the canary's error ratios. Fixed seeds: every run sends the same bytes.

  http-<case>.json  POST /v1/analyze body (inline config)
  grpc-<case>.json  canaryjudge.v1.Judge/Compare request as JSON (for ghz -D)
"""

import json
import os
import random
import sys

N = 300


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rnd = random.Random(7)
    lat_b = [round(rnd.lognormvariate(4.6, 0.5), 3) for _ in range(N)]
    lat_c = [round(rnd.lognormvariate(4.62, 0.5), 3) for _ in range(N)]
    ratio = [round(max(0.0, rnd.gauss(0.01, 0.003)), 5) for _ in range(N)]
    cases = {
        "mann-whitney": ("mann-whitney", {}, lat_c, lat_b),
        "welch": ("welch", {}, lat_c, lat_b),
        "threshold": ("threshold", {"aggregate": "mean", "max": 0.05}, ratio, []),
    }
    for name, (method, params, canary, baseline) in cases.items():
        metric = {"name": name, "method": method, "canary": {"values": canary}}
        if params:
            metric["params"] = params
        if baseline:
            metric["baseline"] = {"values": baseline}
        with open(os.path.join(out, f"http-{name}.json"), "w") as f:
            json.dump({"config": {"metrics": [metric]}}, f)
        req = {"method": method, "canary": canary, "baseline": baseline}
        if params:
            req["params_json"] = json.dumps(params)
        with open(os.path.join(out, f"grpc-{name}.json"), "w") as f:
            json.dump(req, f)


if __name__ == "__main__":
    main()
