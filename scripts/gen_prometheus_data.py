#!/usr/bin/env python3
"""Synthetic canary/baseline metrics in OpenMetrics text for `promtool tsdb create-blocks-from
openmetrics`, plus the exact per-minute values that PromQL's increase(...[1m]) must return.

Why this shape: scrapes every 15 s aligned to whole minutes, and within each minute every
scrape adds the same increment. For an evaluation time t on a minute boundary, the window
[t-60s, t] then holds 5 samples spanning exactly 60 s, so increase() needs no extrapolation
and equals 4 x (per-scrape increment of the minute ending at t), exactly. The tests compare
the source's output with those numbers.

Pitfalls honoured (Prometheus 2.42): timestamps in SECONDS, every series in time order,
file ends with `# EOF`, counters named `_total`, data ends a few minutes before now.

Scenarios (label `scenario`, arms by label `track` = canary | baseline):
  healthy    both arms alike
  errors     canary has 3x the baseline's 5xx responses
  latency    canary's latency histogram is shifted to slower buckets (higher p99)
  no_traffic canary series exist but never increase (zero requests)
  absent     canary has no series at all (only the baseline exists)
  stopped    canary stops reporting 20 minutes before the end of the data
"""

import argparse
import json
import time

SCRAPE = 15
BOUNDS = ["0.05", "0.1", "0.25", "0.5", "1", "+Inf"]
# Cumulative share of requests at or below each bound, per latency profile.
PROFILE = {
    "fast": [0.40, 0.72, 0.92, 0.96, 1.0, 1.0],
    "slow": [0.20, 0.40, 0.60, 0.80, 0.92, 1.0],
}
SCENARIOS = {
    # scenario: {track: (errors per scrape, latency profile, present, stop_before_end_s)}
    "healthy": {"canary": (1, "fast", True, 0), "baseline": (1, "fast", True, 0)},
    "errors": {"canary": (3, "fast", True, 0), "baseline": (1, "fast", True, 0)},
    "latency": {"canary": (1, "slow", True, 0), "baseline": (1, "fast", True, 0)},
    "no_traffic": {"canary": (0, "fast", True, 0), "baseline": (1, "fast", True, 0)},
    "absent": {"canary": (0, "fast", False, 0), "baseline": (1, "fast", True, 0)},
    "stopped": {"canary": (1, "fast", True, 20 * 60), "baseline": (1, "fast", True, 0)},
}


def requests_per_scrape(minute, scenario, track):
    """Deterministic, varying traffic: 20..30 requests per scrape, different per arm."""
    if scenario == "no_traffic" and track == "canary":
        return 0
    salt = 3 if track == "canary" else 0
    return 20 + (minute * 7 + salt) % 11


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="OpenMetrics file to write")
    ap.add_argument("--expected", required=True, help="JSON file with the expected values")
    ap.add_argument("--end", type=int, default=0, help="last sample time (Unix s); 0 = now - lag")
    ap.add_argument("--lag", type=int, default=180, help="seconds between last sample and now")
    ap.add_argument("--minutes", type=int, default=90, help="length of the data in minutes")
    ap.add_argument("--window", type=int, default=60, help="analysis window in minutes")
    args = ap.parse_args()

    end = args.end or (int(time.time()) - args.lag) // 60 * 60
    start = end - args.minutes * 60
    times = list(range(start, end + 1, SCRAPE))

    expected = {
        "data_start": start,
        "data_end": end,
        "analysis_start": end - args.window * 60,
        "analysis_end": end,
        "step_seconds": 60,
        "bounds": BOUNDS,
        "scenarios": {},
    }
    counters = []  # (labels, [(t, value)])
    buckets = []
    counts = []
    sums = []
    for scenario, arms in SCENARIOS.items():
        expected["scenarios"][scenario] = {}
        for track, (err_per_scrape, profile, present, stop_before) in arms.items():
            labels = f'scenario="{scenario}",track="{track}"'
            last = end - stop_before
            ok_v, err_v, cum, total_sum = 0, 0, [0] * len(BOUNDS), 0.0
            ok_s, err_s, b_s, c_s, s_s = [], [], [[] for _ in BOUNDS], [], []
            per_minute = {}
            for t in times:
                if t > last:
                    break
                if t > start:
                    minute = (t - start + 59) // 60  # minute (t-60s, t] ends at start+60*minute
                    req = requests_per_scrape(minute, scenario, track)
                    err = min(err_per_scrape, req)
                    ok_v += req - err
                    err_v += err
                    split = [round(req * share) for share in PROFILE[profile]]
                    for i, n in enumerate(split):
                        cum[i] += n
                    total_sum += req * (0.08 if profile == "fast" else 0.3)
                    per_minute[start + 60 * minute] = (req, err, split)
                ok_s.append((t, ok_v))
                err_s.append((t, err_v))
                for i in range(len(BOUNDS)):
                    b_s[i].append((t, cum[i]))
                c_s.append((t, cum[-1]))
                s_s.append((t, round(total_sum, 3)))
            if not present:
                expected["scenarios"][scenario][track] = None
                continue
            counters.append((labels + ',code="200"', ok_s))
            counters.append((labels + ',code="500"', err_s))
            for i, le in enumerate(BOUNDS):
                buckets.append((labels + f',le="{le}"', b_s[i]))
            counts.append((labels, c_s))
            sums.append((labels, s_s))
            # Expected increase(...[1m]) at each analysis grid point = 4 x per-scrape increment.
            grid = range(expected["analysis_start"], end + 1, 60)
            expected["scenarios"][scenario][track] = {
                "last_sample": last,
                "points": [
                    {
                        "t": t,
                        "requests": 4 * per_minute[t][0],
                        "errors": 4 * per_minute[t][1],
                        "buckets": [4 * n for n in per_minute[t][2]],
                    }
                    for t in grid
                    if t in per_minute
                ],
            }

    with open(args.out, "w", encoding="ascii") as f:
        f.write("# HELP http_requests Requests by status code.\n# TYPE http_requests counter\n")
        for labels, samples in counters:
            for t, v in samples:
                f.write(f"http_requests_total{{{labels}}} {v} {t}\n")
        f.write("# HELP http_request_duration_seconds Request latency.\n")
        f.write("# TYPE http_request_duration_seconds histogram\n")
        for labels, samples in buckets:
            for t, v in samples:
                f.write(f"http_request_duration_seconds_bucket{{{labels}}} {v} {t}\n")
        for labels, samples in counts:
            for t, v in samples:
                f.write(f"http_request_duration_seconds_count{{{labels}}} {v} {t}\n")
        for labels, samples in sums:
            for t, v in samples:
                f.write(f"http_request_duration_seconds_sum{{{labels}}} {v} {t}\n")
        f.write("# EOF\n")
    with open(args.expected, "w", encoding="ascii") as f:
        json.dump(expected, f, indent=1)


if __name__ == "__main__":
    main()
