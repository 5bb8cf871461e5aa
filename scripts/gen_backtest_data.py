#!/usr/bin/env python3
"""Several days of one stable version for `canary-judge backtest`: six identical pods
(`app="shop"`, `pod="web-0"` .. `"web-5"`) serving requests with 1 % errors, in OpenMetrics
text for `promtool tsdb create-blocks-from openmetrics`.

Ground truth: every pod has the same error rate, so any split of the pods into two arms is an
A/A comparison (a fail is a false fail), and an injected errors x k is a true regression of
exactly k. Scrapes every 15 s aligned to whole minutes; each minute's increments land on its
last scrape, so `increase(...[1m])` at a minute boundary is exactly that minute's count (the
range holds samples at both of its ends: no extrapolation) and one-minute steps never count
an interval twice. Seeded: the same arguments give the same file.
"""

import argparse
import json
import random
import time

SCRAPE = 15
PODS = [f"web-{i}" for i in range(6)]
ERROR_RATE = 0.01


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="OpenMetrics file to write")
    ap.add_argument("--expected", required=True, help="JSON file with the ground truth")
    ap.add_argument("--days", type=float, default=3.0, help="length of the data in days")
    ap.add_argument("--lag", type=int, default=600, help="seconds between last sample and now")
    ap.add_argument("--seed", type=int, default=15)
    args = ap.parse_args()

    rng = random.Random(args.seed)
    end = (int(time.time()) - args.lag) // 3600 * 3600
    minutes = int(args.days * 1440)
    start = end - minutes * 60
    series = {}  # (pod, code) -> [(t, value)]
    for pod in PODS:
        ok = err = 0
        ok_s, err_s = [], []
        for m in range(minutes + 1):
            t0 = start + m * 60
            if m > 0:
                requests = 80 + rng.randrange(41)  # 80..120 per pod and minute
                errors = sum(1 for _ in range(requests) if rng.random() < ERROR_RATE)
                ok += requests - errors
                err += errors
            # Sample at the minute boundary carries the minute that just ended; the three
            # scrapes inside the next minute repeat it.
            for k in range(4 if m < minutes else 1):
                ok_s.append((t0 + k * SCRAPE, ok))
                err_s.append((t0 + k * SCRAPE, err))
        series[(pod, "200")] = ok_s
        series[(pod, "500")] = err_s

    with open(args.out, "w") as f:
        f.write("# HELP http_requests_total Requests served.\n")
        f.write("# TYPE http_requests counter\n")
        for (pod, code), points in series.items():
            labels = f'app="shop",code="{code}",pod="{pod}"'
            for t, v in points:
                f.write(f"http_requests_total{{{labels}}} {v} {t}\n")
        f.write("# EOF\n")
    with open(args.expected, "w") as f:
        json.dump(
            {
                "data_start": start,
                "data_end": end,
                "pods": PODS,
                "error_rate": ERROR_RATE,
                "step_seconds": 60,
            },
            f,
        )


if __name__ == "__main__":
    main()
