#!/usr/bin/env python3
"""Time scipy/numpy on the same data as the criterion benchmarks (benches/stats.rs) and print
the Rust/Python ratio table, checking that both sides give the same answers.

`cargo bench --bench stats` writes the data of every case as raw little-endian f64 files and
the Rust results as rust_results.json into the data directory (default target/bench-data);
criterion writes its timings under target/criterion. This script reads both, times the Python
side on the same numbers, and prints one row per kernel and size.

What each Python side computes (the nearest reference for the Rust kernel):
  mann_whitney  scipy.stats.mannwhitneyu two-sided and `greater` (the harm side), plus the
                Hodges-Lehmann estimate and the 95 % and 90 % (TOST) shift intervals by
                inverting the asymptotic test, from the materialised m*n differences
                (np.subtract.outer, one np.partition for all needed order statistics). That is
                everything mann_whitney::compare (strict rule) reports. O(mn) memory: skipped
                at 10^6 per arm (10^12 differences, 8 TB).
  u_test        scipy.stats.mannwhitneyu two-sided only (against mann_whitney::u_test).
  welch         scipy.stats.ttest_ind(equal_var=False) two-sided with .confidence_interval(0.95),
                a second ttest_ind for the harm side (`greater`), and the two TOST p-values
                with scipy.stats.t.sf/cdf at the +-10 % band: everything welch::compare reports.
  msprt         numpy, vectorised over all looks: running means/variances by cumulative
                sums, the one-sided normal-mixture log e-value at every look, the one-sided
                radius by vectorised Newton on z^2/2 + log_ndtr(z) = c, running intersection.
  counts        numpy, vectorised: the grid-mixture e-process at every look (cumulative sums
                per grid ratio), e_max, last e-value and the rate ratio. The running
                rate-ratio confidence bounds are NOT computed (they need a root search per look
                over all earlier cells; the scalar reference is O(n^2)), so Python does less work.
                It is timed twice: against counts::e_process (the same work: like for like) and
                against counts::compare (which also tracks the bounds: not like for like).
  quantile      scripts/sequential_reference.py `samples` (scalar loop re-sorting every prefix,
                O(n^2 log n)): the only Python version there is; skipped at 10^6.

Usage: scripts/bench-scipy.py [--data DIR] [--criterion DIR] [--budget SECONDS] [--json OUT]
"""

import argparse
import importlib.util
import json
import math
import os
import sys
import time

import numpy as np
import scipy
from scipy import special, stats

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SIZES = [100, 10_000, 1_000_000]


def load(data, name):
    return np.fromfile(os.path.join(data, name + ".f64"), dtype="<f8")


def timeit(fn, budget):
    """Median wall time of fn() over repeats, at least 1, at most ~budget seconds in total."""
    times = []
    start = time.perf_counter()
    result = None
    while True:
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
        if len(times) >= 5 and time.perf_counter() - start > budget:
            break
        if time.perf_counter() - start > budget and len(times) >= 1:
            break
        if len(times) >= 200:
            break
    return float(np.median(times)), len(times), result


# ------------------------------------------------------------------ Mann-Whitney + HL + CI
def u_sigma(m, n, tie):
    big = m + n
    return math.sqrt(m * n / 12.0 * ((big + 1) - tie / (big * (big - 1))))


def arm_tie(v):
    _, counts = np.unique(v, return_counts=True)
    t = counts.astype(float)
    return float(np.sum(t**3 - t))


def inverted_ranks(m, n, zq, sigma0):
    """Counts c_gt, c_ge of differences above the root (R wilcox.test inversion with the
    continuity correction, solved exactly on the count scale as the Rust code documents)."""
    mn = m * n
    half = mn / 2.0

    def stat(c):
        dz = c - half
        corr = 0.5 if dz > 0 else (-0.5 if dz < 0 else 0.0)
        return (dz - corr) / sigma0

    def first(pred):
        lo, hi = 0, mn + 1
        while lo < hi:
            mid = (lo + hi) // 2
            if pred(stat(mid)):
                hi = mid
            else:
                lo = mid + 1
        return lo

    return first(lambda z: z > zq), first(lambda z: z >= zq)


def mw_compare(x, y, conf=0.95, alpha=0.05):
    two = stats.mannwhitneyu(x, y, alternative="two-sided")
    harm = stats.mannwhitneyu(x, y, alternative="greater")
    m, n = len(x), len(y)
    mn = m * n
    diffs = np.subtract.outer(x, y).ravel()
    sigma0 = u_sigma(m, n, arm_tie(x) + arm_tie(y))
    wanted = {}
    # Hodges-Lehmann: numpy median convention (mean of the two middle values when mn is even).
    if mn % 2:
        hl_ranks = [mn // 2]
    else:
        hl_ranks = [mn // 2 - 1, mn // 2]
    intervals = {}
    for level in (conf, 1 - 2 * alpha):
        z = -special.ndtri((1 - level) / 2)
        ends = []
        for zq in (z, -z):
            c_gt, c_ge = inverted_ranks(m, n, zq, sigma0)
            ends.append((c_gt, c_ge))
        intervals[level] = ends
    lo_d, hi_d = None, None
    need = set(hl_ranks)
    for ends in intervals.values():
        for c_gt, c_ge in ends:
            for c in (c_gt, c_ge):
                if 0 < c <= mn:
                    need.add(mn - c)  # c-th largest = (mn-c+1)-th smallest, 0-based mn-c
    order = sorted(need)
    part = np.partition(diffs, order)
    for k in order:
        wanted[k] = float(part[k])
    lo_d, hi_d = float(diffs.min()), float(diffs.max())

    def largest(c):
        if c == 0:
            return hi_d
        if c > mn:
            return lo_d
        return wanted[mn - c]

    def root(c_gt, c_ge):
        r = 0.5 * (largest(c_gt) + largest(c_ge)) if c_ge < c_gt else largest(c_gt)
        return min(max(r, lo_d), hi_d)

    hl = float(np.mean([wanted[k] for k in hl_ranks]))
    ci = {lvl: (root(*e[0]), root(*e[1])) for lvl, e in intervals.items()}
    return {
        "statistic": float(two.statistic),
        "p_value": float(two.pvalue),
        "p_harm": float(harm.pvalue),
        "effect": hl,
        "ci_low": ci[conf][0],
        "ci_high": ci[conf][1],
        "equivalence_ci_low": ci[1 - 2 * alpha][0],
        "equivalence_ci_high": ci[1 - 2 * alpha][1],
    }


def mw_rust(dec):
    return {
        "statistic": dec["statistic"],
        "p_value": dec["p_value"],
        "p_harm": dec["extra"]["p_harm"],
        "effect": dec["effect"],
        "ci_low": dec["ci_low"],
        "ci_high": dec["ci_high"],
        "equivalence_ci_low": dec["extra"]["equivalence_ci_low"],
        "equivalence_ci_high": dec["extra"]["equivalence_ci_high"],
    }


# ------------------------------------------------------------------ Welch
def welch_py(x, y, margin=0.1):
    r = stats.ttest_ind(x, y, equal_var=False)
    ci = r.confidence_interval(0.95)
    harm = stats.ttest_ind(x, y, equal_var=False, alternative="greater")
    d = float(np.mean(x) - np.mean(y))
    se = d / float(r.statistic)
    band = margin * abs(float(np.mean(y)))
    return {"statistic": float(r.statistic), "p_value": float(r.pvalue), "df": float(r.df),
            "ci_low": float(ci.low), "ci_high": float(ci.high), "p_harm": float(harm.pvalue),
            "tost_p_lower": float(stats.t.sf((d + band) / se, r.df)),
            "tost_p_upper": float(stats.t.cdf((d - band) / se, r.df))}


def welch_rust(dec):
    return {"statistic": dec["statistic"], "p_value": dec["p_value"], "df": dec["df"],
            "ci_low": dec["ci_low"], "ci_high": dec["ci_high"], "p_harm": dec["extra"]["p_harm"],
            "tost_p_lower": dec["extra"]["tost_p_lower"], "tost_p_upper": dec["extra"]["tost_p_upper"]}


# ------------------------------------------------------------------ mSPRT (harm = increase)
def running_mean_var(v):
    shift = v[0]
    s = np.cumsum(v - shift)
    s2 = np.cumsum((v - shift) ** 2)
    t = np.arange(1, len(v) + 1, dtype=float)
    mean = s / t
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.maximum((s2 - s * s / t) / (t - 1), 0.0)
    return mean + shift, var


def msprt_py(x, y, p):
    alpha, margin = p["alpha"], p["margin"]
    burn = max(p["burn_in"], 2)
    if p.get("tau"):
        tau = p["tau"]
    else:
        centre = 0.5 * (np.mean(x[:burn]) + np.mean(y[:burn]))
        tau = margin * abs(centre) or math.sqrt(0.5 * (np.var(x[:burn], ddof=1) + np.var(y[:burn], ddof=1))) or 1.0
    mx, vx = running_mean_var(x)
    my, vy = running_mean_var(y)
    t = np.arange(1, len(x) + 1, dtype=float)
    sl = slice(burn - 1, None)
    info = 1.0 / (vx[sl] / t[sl] + vy[sl] / t[sl])
    d = mx[sl] - my[sl]
    rho = 1.0 / tau**2
    vr = info + rho
    s = d * info
    log_e = 0.5 * np.log(4 * rho / vr) + s * s / (2 * vr) + special.log_ndtr(s / np.sqrt(vr))
    c = math.log(1 / alpha) - 0.5 * np.log(4 * rho / vr)
    z = np.sqrt(2 * (c + math.log(2)))  # above the root; g is convex increasing: Newton from the right
    for _ in range(60):
        g = 0.5 * z * z + special.log_ndtr(z) - c
        dg = z + np.exp(-0.5 * z * z - 0.5 * math.log(2 * math.pi) - special.log_ndtr(z))
        step = g / dg
        z = z - step
        if np.max(np.abs(step)) < 1e-15:
            break
    radius = z * np.sqrt(vr) / info
    lo = float(np.max(d - radius))
    hi = float(np.min(d + radius))
    log_e_max = max(0.0, float(np.max(log_e)))
    return {"e_value": math.exp(min(float(log_e[-1]), 700)), "p_value": min(1.0, math.exp(-log_e_max)),
            "effect": float(d[-1]), "ci_low": lo, "ci_high": hi}


def seq_rust(dec, keys):
    return {k: dec[k] for k in keys}


# ------------------------------------------------------------------ counts (e-process only)
GRID = np.array([1.1, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0])


def counts_py(ce, ct, be, bt, r0=1.2):
    """The Fail e-process against rate ratio <= r0 = 1 + fail_margin (default: margin 0.2)."""
    pi = np.where(ct + bt > 0, ct / np.where(ct + bt > 0, ct + bt, 1), 0.5)
    e = ce + be
    # per grid ratio g: cumulative sum of ec*log g - e*log((r0*g*pi + 1 - pi)/(r0*pi + 1 - pi))
    terms = ce[None, :] * np.log(GRID)[:, None] - e[None, :] * np.log(
        (r0 * GRID[:, None] * pi[None, :] + 1 - pi[None, :]) / (r0 * pi[None, :] + 1 - pi[None, :]))
    cum = np.cumsum(terms, axis=1)
    log_e = special.logsumexp(cum, axis=0) - math.log(len(GRID))
    log_e_max = max(0.0, float(np.max(log_e)))
    ratio = (ce.sum() / ct.sum()) / (be.sum() / bt.sum())
    return {"e_value": math.exp(min(float(log_e[-1]), 700)), "p_value": min(1.0, math.exp(-log_e_max)),
            "effect": float(ratio)}


# ------------------------------------------------------------------ comparison helpers
def agree(rust, py, rtol):
    worst = 0.0
    for k, pv in py.items():
        rv = rust.get(k)
        if rv is None or pv is None:
            if not (rv is None and (pv is None or not math.isfinite(pv))):
                return False, f"{k}: rust {rv} python {pv}"
            continue
        scale = max(abs(rv), abs(pv), 1e-300)
        err = abs(rv - pv) / scale
        if abs(rv - pv) < 1e-13:
            err = 0.0
        worst = max(worst, err)
        if err > rtol:
            return False, f"{k}: rust {rv!r} python {pv!r} (rel {err:.1e})"
    return True, f"max rel diff {worst:.1e}"


def criterion_ns(crit_dir, group, n):
    path = os.path.join(crit_dir, group, str(n), "new", "estimates.json")
    try:
        with open(path) as f:
            est = json.load(f)
    except OSError:
        return None
    return est["median"]["point_estimate"]


def fmt_time(sec):
    if sec is None:
        return "—"
    if sec < 1e-3:
        return f"{sec * 1e6:.1f} µs"
    if sec < 1:
        return f"{sec * 1e3:.2f} ms"
    return f"{sec:.2f} s"


def slope(ns, ts):
    pts = [(math.log10(n), math.log10(t)) for n, t in zip(ns, ts) if t]
    if len(pts) < 2:
        return None
    xs, ys = zip(*pts)
    return float(np.polyfit(xs, ys, 1)[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.path.join(ROOT, "target", "bench-data"))
    ap.add_argument("--criterion", default=os.path.join(ROOT, "target", "criterion"))
    ap.add_argument("--budget", type=float, default=2.0, help="seconds of repeats per Python case")
    ap.add_argument("--json", default=None, help="also write the table as JSON here")
    args = ap.parse_args()

    with open(os.path.join(args.data, "rust_results.json")) as f:
        rust = json.load(f)
    spec = importlib.util.spec_from_file_location("seqref", os.path.join(HERE, "sequential_reference.py"))
    seqref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(seqref)

    rows = []

    def row(kernel, group, n, py_fn, rust_vals, rtol, skip=None):
        rust_ns = criterion_ns(args.criterion, group, n)
        rust_s = rust_ns / 1e9 if rust_ns is not None else None
        if skip:
            rows.append({"kernel": kernel, "n": n, "rust_s": rust_s, "py_s": None, "reps": 0,
                         "ratio": None, "agree": None, "note": skip})
            return
        py_s, reps, out = timeit(py_fn, args.budget)
        ok, note = agree(rust_vals, out, rtol) if rust_vals is not None else (None, "")
        rows.append({"kernel": kernel, "n": n, "rust_s": rust_s, "py_s": py_s, "reps": reps,
                     "ratio": py_s / rust_s if rust_s else None, "agree": ok, "note": note})

    for n in SIZES:
        key = f"{n}"
        x, y = load(args.data, f"mann_whitney_{n}_canary"), load(args.data, f"mann_whitney_{n}_baseline")
        r = rust[f"mann_whitney/{key}"]
        row("Mann–Whitney + HL + CIs (compare, strict)", "mann_whitney_compare", n, lambda: mw_compare(x, y),
            mw_rust(r["decision"]), 1e-9,
            skip="numpy HL/CI needs the m·n = 10^12 differences (8 TB)" if n >= 1_000_000 else None)
        row("Mann–Whitney U test only", "mann_whitney_u_test", n,
            lambda: {"statistic": float(stats.mannwhitneyu(x, y).statistic),
                     "p_value": float(stats.mannwhitneyu(x, y).pvalue)},
            {"statistic": r["u_test"]["u1"], "p_value": r["u_test"]["p_value"]}, 1e-9)

    for n in SIZES:
        x, y = load(args.data, f"welch_{n}_canary"), load(args.data, f"welch_{n}_baseline")
        dec = rust[f"welch/{n}"]["decision"]
        row("Welch t-test + CI + harm p + TOST", "welch", n,
            lambda: welch_py(x, y, rust[f"welch/{n}"]["params"]["margin"]),
            welch_rust(dec), 1e-9)
        # the TOST interval is compared separately through extra keys when present
    for n in SIZES:
        x, y = load(args.data, f"msprt_{n}_canary"), load(args.data, f"msprt_{n}_baseline")
        r = rust[f"msprt/{n}"]
        row("mSPRT (one-sided mixture, every look)", "msprt", n, lambda: msprt_py(x, y, r["params"]),
            seq_rust(r["decision"], ["e_value", "p_value", "effect", "ci_low", "ci_high"]), 1e-6)
    for n in SIZES:
        ce, ct = load(args.data, f"counts_{n}_canary_events"), load(args.data, f"counts_{n}_canary_traffic")
        be, bt = load(args.data, f"counts_{n}_baseline_events"), load(args.data, f"counts_{n}_baseline_traffic")
        r = rust[f"counts/{n}"]
        # Like for like: Rust counts::e_process computes what counts_py computes.
        ep = r["e_process"]
        row("count test e-process only (counts::e_process)", "counts_e_process", n,
            lambda: counts_py(ce, ct, be, bt),
            {"e_value": ep["e_value"], "p_value": ep["p_value"], "effect": ep["rate_ratio"]}, 1e-6)
        # Not like for like: Rust also tracks the rate-ratio confidence bounds.
        row("count test compare (Rust +CS bounds; Python e-process only)", "counts", n,
            lambda: counts_py(ce, ct, be, bt),
            seq_rust(r["decision"], ["e_value", "p_value", "effect"]), 1e-6)
    for n in SIZES:
        x, y = load(args.data, f"quantile_{n}_canary"), load(args.data, f"quantile_{n}_baseline")
        r = rust[f"quantile/{n}"]

        def q_py(x=x, y=y, p=r["params"]):
            out = seqref.samples(x, y, p)
            return {k: v for k, v in out["extra"].items()}

        rust_extra = {k: v for k, v in r["decision"]["extra"].items()}
        row("quantile CS (raw samples, p50/p90/p99)", "quantile", n, q_py,
            rust_extra, 1e-9,
            skip="the only Python version re-sorts every prefix (O(n² log n), hours at 10^6)" if n >= 1_000_000 else None)

    print(f"scipy {scipy.__version__}, numpy {np.__version__}, Python {sys.version.split()[0]}")
    print(f"{'kernel':50} {'n/arm':>9} {'Rust':>10} {'Python':>10} {'ratio':>8}  agree")
    for r in rows:
        ratio = f"{r['ratio']:.1f}×" if r["ratio"] else "—"
        ag = {True: "yes", False: "NO", None: "—"}[r["agree"]]
        print(f"{r['kernel']:50} {r['n']:>9} {fmt_time(r['rust_s']):>10} {fmt_time(r['py_s']):>10} {ratio:>8}  {ag} ({r['note']})")
    print("\nGrowth exponent b in time ∝ n^b (least squares over the sizes measured):")
    for kernel in dict.fromkeys(r["kernel"] for r in rows):
        rs = [r for r in rows if r["kernel"] == kernel]
        br = slope([r["n"] for r in rs], [r["rust_s"] for r in rs])
        bp = slope([r["n"] for r in rs], [r["py_s"] for r in rs])
        print(f"  {kernel:50} Rust {br:.2f}" + (f"   Python {bp:.2f}" if bp is not None else "") if br is not None else f"  {kernel}: no Rust timings")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0 if all(r["agree"] is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
