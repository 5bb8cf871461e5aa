#!/usr/bin/env python3
"""Reference values for canary-judge's classical statistics (src/stats/{special,welch,mann_whitney}.rs).

Regenerate with:  pip install scipy numpy && python3 scripts/scipy_reference.py
It writes tests/data/scipy_reference.json deterministically (fixed seeds), which
tests/scipy_reference.rs compares against.

Sources of truth:
- scipy.stats.mannwhitneyu (statistic, p-value; methods exact/asymptotic/auto),
- scipy.stats.ttest_ind(equal_var=False) and its confidence_interval(),
- scipy.special.ndtr / ndtri / stdtr / stdtrit,
- Hodges-Lehmann interval, exact (no ties): R's wilcox.test rule, order statistics
  [D_(q), D_(mn-q+1)] with q = qwilcox(alpha/2, m, n), where qwilcox is R's algorithm run on the
  pmf of scipy's own exact null distribution of U (scipy.stats._mannwhitneyu._MWU);
- Hodges-Lehmann interval, asymptotic (ties / large samples): R's wilcox.test inversion of the
  continuity-corrected statistic ("wdiff"), evaluated literally (re-ranking with
  scipy.stats.rankdata) and solved by bisection to the float resolution of the bracket
  (200 halvings, i.e. to ~1e-16 of the range). The statistic is a step function; the root is
  reported as the midpoint of {d: f(d) = 0} when that set is an interval, else the location of
  the sign change, computed as (sup{f > 0} + inf{f < 0}) / 2.
"""

import json
import math
import os
import sys

import numpy as np
import scipy
from scipy import special, stats
from scipy.stats._mannwhitneyu import _MWU

ALTS = ["two-sided", "greater", "less"]


def fin(v):
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


# ----------------------------------------------------------------------------- Mann-Whitney

def mwu_cases(x, y):
    out = []
    for method in ["auto", "exact", "asymptotic"]:
        for cont in [True, False]:
            if method == "exact" and not cont:
                continue  # continuity does not enter the exact p-value
            for alt in ALTS:
                r = stats.mannwhitneyu(x, y, use_continuity=cont, alternative=alt, method=method)
                out.append({"method": method, "continuity": cont, "alternative": alt,
                            "statistic": fin(r.statistic), "pvalue": fin(r.pvalue)})
    return out


def qwilcox(p, pmf):
    """R's qwilcox (src/nmath/qwilcox.c) on a given pmf over 0..mn."""
    mn = len(pmf) - 1
    eps = np.finfo(float).eps
    acc = 0.0
    if p <= 0.5:
        target = p - 10 * eps
        for q in range(mn + 1):
            acc += pmf[q]
            if acc >= target:
                return q
        return mn
    target = 1 - p + 10 * eps
    for q in range(mn + 1):
        acc += pmf[q]
        if acc > target:
            return mn - q
    return 0


def exact_interval(x, y, conf, alt):
    m, n = len(x), len(y)
    dist = _MWU(m, n)
    mn = m * n
    pmf = np.array([dist.pmf(np.array([k]))[0] if k <= mn // 2 else dist.pmf(np.array([mn - k]))[0]
                    for k in range(mn + 1)])
    diffs = np.sort(np.subtract.outer(np.asarray(x), np.asarray(y)).ravel())
    a = 1 - conf
    if alt == "two-sided":
        qu = max(qwilcox(a / 2, pmf), 1)
        return diffs[qu - 1], diffs[mn - qu]
    qu = max(qwilcox(a, pmf), 1)
    if alt == "greater":
        return diffs[qu - 1], math.inf
    return -math.inf, diffs[mn - qu]


def wdiff(x, y, d, zq, alt, correct):
    """R wilcox.test's wdiff: continuity-corrected, tie-corrected statistic at shift d."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    nx, ny = len(x), len(y)
    dr = np.concatenate([x - d, y])
    r = stats.rankdata(dr)
    _, counts = np.unique(dr, return_counts=True)
    dz = r[:nx].sum() - nx * (nx + 1) / 2 - nx * ny / 2
    if correct:
        c = {"two-sided": np.sign(dz) * 0.5, "greater": 0.5, "less": -0.5}[alt]
    else:
        c = 0.0
    sigma = math.sqrt((nx * ny / 12) * ((nx + ny + 1) - (counts ** 3 - counts).sum() / ((nx + ny) * (nx + ny - 1))))
    if sigma == 0:
        raise ValueError("all tied")
    return (dz - c) / sigma - zq


def root(x, y, zq, alt, correct):
    mumin = min(x) - max(y)
    mumax = max(x) - min(y)
    if mumin == mumax:
        return mumin
    if wdiff(x, y, mumin, zq, alt, correct) <= 0:
        return mumin
    if wdiff(x, y, mumax, zq, alt, correct) >= 0:
        return mumax
    w = mumax - mumin
    # Bracket ends offset by irrational-looking fractions so that bisection midpoints never land
    # exactly on a jump point x_i - y_j (where the step function takes its mid-rank value).
    lo0, hi0 = mumin - 0.3183098861837907 * w, mumax + 0.2718281828459045 * w
    f = lambda d: wdiff(x, y, d, zq, alt, correct)
    lo, hi = lo0, hi0
    for _ in range(200):  # sup{d: f(d) > 0}
        mid = 0.5 * (lo + hi)
        if mid == lo or mid == hi:
            break
        if f(mid) > 0:
            lo = mid
        else:
            hi = mid
    sup_pos = 0.5 * (lo + hi)
    lo, hi = lo0, hi0
    for _ in range(200):  # inf{d: f(d) < 0}
        mid = 0.5 * (lo + hi)
        if mid == lo or mid == hi:
            break
        if f(mid) < 0:
            hi = mid
        else:
            lo = mid
    inf_neg = 0.5 * (lo + hi)
    return min(max(0.5 * (sup_pos + inf_neg), mumin), mumax)


def asymptotic_interval(x, y, conf, alt, correct):
    a = 1 - conf
    if alt == "two-sided":
        z = stats.norm.isf(a / 2)
        return root(x, y, z, alt, correct), root(x, y, -z, alt, correct)
    if alt == "greater":
        return root(x, y, stats.norm.isf(a), alt, correct), math.inf
    return -math.inf, root(x, y, stats.norm.ppf(a), alt, correct)


def hl_record(x, y, ties, intervals_exact=True, confs=(0.9, 0.95, 0.99)):
    rec = {"x": list(map(float, x)), "y": list(map(float, y)),
           "hodges_lehmann": float(np.median(np.subtract.outer(np.asarray(x, float), np.asarray(y, float)))),
           "exact": [], "asymptotic": []}
    for conf in confs:
        for alt in ALTS:
            if not ties and intervals_exact:
                lo, hi = exact_interval(x, y, conf, alt)
                rec["exact"].append({"confidence": conf, "alternative": alt, "low": fin(lo), "high": fin(hi)})
            for correct in [True, False]:
                lo, hi = asymptotic_interval(x, y, conf, alt, correct)
                rec["asymptotic"].append({"confidence": conf, "alternative": alt, "continuity": correct,
                                          "low": fin(lo), "high": fin(hi)})
    rec["estimate"] = [{"alternative": alt, "continuity": c, "value": fin(root(x, y, 0.0, alt, c))}
                       for alt in ALTS for c in [True, False]]
    return rec


# ----------------------------------------------------------------------------- main

def main():
    rng = np.random.default_rng(20261126)
    mwu = []
    hl = []

    def add(x, y, label, hl_too=True, exact_ci=True):
        x = [float(v) for v in x]
        y = [float(v) for v in y]
        allv = np.concatenate([x, y])
        ties = len(np.unique(allv)) < len(allv)
        mwu.append({"label": label, "x": x, "y": y, "ties": bool(ties), "results": mwu_cases(x, y)})
        if hl_too:
            hl.append(dict(hl_record(x, y, ties, exact_ci), label=label, ties=bool(ties)))

    # Small samples without ties: every size pair 1..8 x 1..8 (exact territory).
    for m in range(1, 9):
        for n in range(1, 9):
            x = rng.normal(0.3, 1.0, m).round(6)
            y = rng.normal(0.0, 1.0, n).round(6)
            add(x, y, f"small-noties-{m}x{n}", hl_too=(m * n > 1 and (m + n) % 3 == 0))
    # Small samples with ties.
    for (m, n) in [(3, 4), (5, 5), (6, 8), (8, 8), (2, 7), (7, 3)]:
        x = rng.integers(0, 4, m)
        y = rng.integers(0, 4, n)
        add(x, y, f"small-ties-{m}x{n}")
    # Medium / larger, continuous (no ties) and shifted.
    for (m, n, shift) in [(9, 9, 0.5), (12, 20, 0.0), (30, 30, 0.8), (45, 40, -0.3), (60, 75, 0.2),
                          (8, 120, 0.4), (5, 300, 1.0), (200, 180, 0.1), (300, 300, 0.05)]:
        x = rng.normal(shift, 1.0, m)
        y = rng.normal(0.0, 1.0, n)
        add(x, y, f"noties-{m}x{n}", hl_too=(m * n <= 40000), exact_ci=(m * n <= 3000))
    # Larger with ties (counts, rounded latencies).
    for (m, n, lam_x, lam_y) in [(20, 20, 2.0, 2.0), (40, 35, 3.0, 2.0), (100, 100, 0.3, 0.2),
                                 (150, 250, 10.0, 9.0)]:
        x = rng.poisson(lam_x, m)
        y = rng.poisson(lam_y, n)
        add(x, y, f"ties-poisson-{m}x{n}", hl_too=(m * n <= 40000))
    lat = lambda k, s: np.round(rng.lognormal(np.log(100 * s), 0.3, k), 0)
    add(lat(50, 1.1), lat(50, 1.0), "ties-latency-50x50")
    # Kayenta issue examples (statistics.md section 1.3).
    add([0, 1, 2, 1, 0, 0], [0] * 6, "kayenta-426-sparse-errors")
    add([100] * 7 + [1] * 3, [1] * 10, "spinnaker-6278-bimodal")
    add([1, 2, 3], [1, 2, 3], "identical")
    add([5.0, 5.0, 5.0], [7.0, 7.0, 7.0, 7.0], "both-constant-differ", hl_too=False)

    # ------------------------------------------------------------------ Welch
    welch = []
    confs = [0.8, 0.9, 0.95, 0.99]
    specs = [(5, 5, 0.0, 1, 1), (10, 7, 0.5, 1, 3), (30, 30, 0.1, 2, 2), (3, 40, 2.0, 0.5, 4),
             (100, 80, -0.2, 1, 1), (12, 250, 0.3, 5, 1), (2, 2, 1.0, 1, 1), (400, 500, 0.05, 1, 1.5),
             (6, 9, 10.0, 1, 1)]
    for i, (m, n, shift, sx, sy) in enumerate(specs):
        x = rng.normal(100 + shift, sx, m)
        y = rng.normal(100, sy, n)
        welch.append({"label": f"welch-{i}", "x": x.tolist(), "y": y.tolist(), "results": []})
    welch.append({"label": "welch-zero-var-baseline", "x": [1.0, 2.0, 3.0, 4.0, 6.0], "y": [2.0] * 7, "results": []})
    for case in welch:
        for alt in ALTS:
            r = stats.ttest_ind(case["x"], case["y"], equal_var=False, alternative=alt)
            for conf in confs:
                ci = r.confidence_interval(conf)
                case["results"].append({"alternative": alt, "confidence": conf, "statistic": fin(r.statistic),
                                        "pvalue": fin(r.pvalue), "df": fin(r.df), "low": fin(ci.low),
                                        "high": fin(ci.high)})

    # ------------------------------------------------------------------ special functions
    xs = [-38.0, -37.5, -30.0, -20.0, -12.3, -8.0, -5.0, -3.3, -2.0, -1.5, -1.0, -0.7071, -0.5, -0.1,
          0.0, 0.1, 0.3, 0.7072, 1.0, 1.386, 1.96, 2.5, 3.0, 4.5, 6.0, 8.0, 8.3]
    norm = [{"x": x, "cdf": fin(special.ndtr(x)), "sf": fin(special.ndtr(-x))} for x in xs]
    ps = [1e-300, 1e-200, 1e-100, 1e-50, 1e-20, 1e-12, 1e-8, 1e-5, 0.001, 0.01, 0.025, 0.05, 0.1, 0.2,
          0.3, 0.45, 0.5, 0.55, 0.7, 0.8, 0.9, 0.95, 0.975, 0.99, 0.999, 1 - 1e-8, 1 - 1e-12]
    norm_ppf = [{"p": p, "x": fin(special.ndtri(p))} for p in ps]
    dfs = [1.0, 1.5, 2.0, 3.7, 5.0, 10.0, 29.3, 100.0, 1000.0, 12345.6]
    ts = [-50.0, -10.0, -3.0, -1.0, -0.2, 0.0, 0.5, 2.0, 4.0, 8.0, 30.0, 200.0]
    tdist = [{"t": t, "df": df, "cdf": fin(special.stdtr(df, t)), "sf": fin(special.stdtr(df, -t))}
             for df in dfs for t in ts]
    tps = [1e-15, 1e-10, 1e-6, 0.001, 0.01, 0.025, 0.05, 0.1, 0.3, 0.5, 0.6, 0.9, 0.975, 0.995, 0.9999]
    t_ppf = [{"p": p, "df": df, "x": fin(special.stdtrit(df, p))} for df in dfs for p in tps]

    out = {
        "generator": "scripts/scipy_reference.py",
        "scipy_version": scipy.__version__,
        "numpy_version": np.__version__,
        "root_tolerance": "bisection to float resolution of the bracket (~1e-16 relative to its width)",
        "mannwhitneyu": mwu,
        "hodges_lehmann": hl,
        "welch": welch,
        "norm": norm,
        "norm_ppf": norm_ppf,
        "t": tdist,
        "t_ppf": t_ppf,
    }
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "tests", "data", "scipy_reference.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1, allow_nan=False)
        f.write("\n")
    print(f"wrote {path}: {len(mwu)} U-test samples, {len(hl)} HL samples, {len(welch)} Welch samples",
          file=sys.stderr)


if __name__ == "__main__":
    main()
