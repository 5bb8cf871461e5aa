#!/usr/bin/env python3
"""Reference values for canary-judge's anytime-valid methods (msprt, count-sequential,
quantile-sequential), computed independently of the Rust code with numpy/scipy special
functions and root finders. Writes tests/data/sequential_reference.json, which
tests/sequential_reference.rs compares against (relative tolerance 1e-9).

The formulas are those of docs statistics.md §3.1, §6.2(d)-(f):
  * msprt: Johari et al. two-sided normal mixture in information form, Howard et al. (2021)
    one-sided normal mixture; CS = running intersection of per-look bounds.
  * counts: Lindon-Malek Beta mixture restricted to theta > rho (constant share), grid
    mixture over r in {1.1,...,10} of per-interval binomial likelihood ratios (varying share),
    rate-ratio bounds from the Bennett ladder-mixture processes of src/stats/ratio_cs.rs,
    running min / max of roots over the anchored looks (every look with a fixed share).
  * quantiles: Howard & Ramdas (2022) uniform CDF band, C_alpha solved as confseq's
    EmpiricalProcessLILBound::find_optimal_C, order-statistic quantile CS, running
    intersection; histograms: slow = total - cumulative(le), count test at alpha/B.

Unlike the Rust code, this script recomputes everything from scratch at every prefix (no
incremental sums, no "only re-solve when the old bound is rejected" shortcut), so it also
checks those shortcuts.

Run:  pip install numpy scipy && python3 scripts/sequential_reference.py
"""

import json
import math
import os

import numpy as np
from scipy import optimize, special

GRID = [1.1, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0]
R_MIN, R_MAX = 1e-6, 1e6
LIL_A = 0.85


# ---------------------------------------------------------------- msprt
def default_tau(x, y, margin):
    centre = 0.5 * (np.mean(x) + np.mean(y))
    mde = margin * abs(centre)
    if mde > 0:
        return mde
    sd = math.sqrt(0.5 * (np.var(x, ddof=1) + np.var(y, ddof=1)))
    return sd if sd > 0 else 1.0


def one_sided_log_e(d, info, tau):
    rho = 1.0 / tau**2
    s = d * info
    vr = info + rho
    return 0.5 * math.log(4 * rho / vr) + s * s / (2 * vr) + special.log_ndtr(s / math.sqrt(vr))


def one_sided_radius(info, tau, alpha):
    rho = 1.0 / tau**2
    vr = info + rho
    c = math.log(1 / alpha) - 0.5 * math.log(4 * rho / vr)
    z = optimize.brentq(lambda z: 0.5 * z * z + special.log_ndtr(z) - c, 0.0,
                        math.sqrt(2 * (c + math.log(2))) + 1, xtol=1e-15, rtol=1e-15)
    return z * math.sqrt(vr) / info


def msprt(x, y, p):
    alpha, harm, margin = p["alpha"], p["harm"], p["margin"]
    burn = max(p["burn_in"], 2)
    tau = p.get("tau") or default_tau(x[:burn], y[:burn], margin)
    log_e, log_e_max, lo, hi = 0.0, 0.0, -math.inf, math.inf
    # Fail rule (issue 16, defect 5): harm beyond fail_margin * |baseline mean over the burn-in|
    # shown by the running confidence-sequence bounds.
    fail_band = p.get("fail_margin", margin) * abs(float(np.mean(y[:burn])))
    first_fail = None
    for t in range(burn, len(x) + 1):
        xs, ys = np.array(x[:t]), np.array(y[:t])
        info = 1.0 / (np.var(xs, ddof=1) / t + np.var(ys, ddof=1) / t)
        d = xs.mean() - ys.mean()
        if harm == "either":
            ti = tau * tau * info
            le = -0.5 * math.log1p(ti) + tau**2 * info**2 * d * d / (2 * (1 + ti))
            rad = math.sqrt((1 + ti) / (tau**2 * info**2) * (2 * math.log(1 / alpha) + math.log1p(ti)))
        else:
            le = one_sided_log_e(d if harm == "increase" else -d, info, tau)
            rad = one_sided_radius(info, tau, alpha)
        log_e = le
        log_e_max = max(log_e_max, le)
        lo, hi = max(lo, d - rad), min(hi, d + rad)
        shown = {"increase": lo > fail_band, "decrease": hi < -fail_band,
                 "either": lo > fail_band or hi < -fail_band}[harm]
        if first_fail is None and shown:
            first_fail = t
    mean_b = float(np.mean(y))
    margin_abs = margin * abs(mean_b)
    if first_fail is not None:
        verdict = "fail"
    elif (harm == "increase" and hi < margin_abs) or (harm == "decrease" and lo > -margin_abs) or (
            harm == "either" and hi < margin_abs and lo > -margin_abs):
        verdict = "pass"
    else:
        verdict = "inconclusive"
    return {
        "verdict": verdict,
        "e_value": math.exp(log_e),
        "p_value": min(1.0, math.exp(-log_e_max)),
        "effect": float(d),
        "ci_low": lo,
        "ci_high": hi,
        "extra": {"e_max": math.exp(log_e_max), "tau": tau, "fail_band": fail_band},
    }


# ---------------------------------------------------------------- counts
def grid_log_e(cells, r0, upper):
    """Fail test at r0 = 1 + fail_margin (issue 16, defect 5): alternatives r0 * g against r0."""
    sums = []
    for g in GRID:
        r = r0 * g if upper else r0 / g
        total = 0.0
        for ec, eb, pi in cells:
            e = ec + eb
            if e == 0:
                continue
            total += ec * math.log(r / r0) - e * math.log((r * pi + 1 - pi) / (r0 * pi + 1 - pi))
        sums.append(total)
    return special.logsumexp(sums) - math.log(len(GRID))


def beta_log_e(ec, eb, rho, k, theta0):
    """Beta(k rho, k (1 - rho)) prior restricted to theta > theta0, null theta0 = q(1 + fail_margin)."""
    a, b = k * rho, k * (1 - rho)
    return (special.betaln(a + ec, b + eb) - special.betaln(a, b)
            + math.log(special.betaincc(a + ec, b + eb, theta0)) - math.log(special.betaincc(a, b, theta0))
            - ec * math.log(theta0) - eb * math.log1p(-theta0))


def ladder_log_e(cells, r0, lower):
    """Rate-ratio confidence-sequence process (issue 16, defect 2): with q = r0 pi/(r0 pi + 1 - pi),
    S = sum(ec - e q), V = sum(e q (1 - q)), the equal-weight mixture over lambda in
    {1.25 * 2**-k, k = 0..20} of exp(lambda * (+S or -S) - V * (e**lambda - 1 - lambda))
    (Bennett's bound on the Bernoulli cumulant); `lower` tests H0: r <= r0 (evidence +S).
    The upper side (H0: r >= r0) also mixes in four coarse lambdas with the Poisson-type bound."""
    s = v = expected = 0.0
    for ec, eb, pi in cells:
        e = ec + eb
        if e == 0:
            continue
        q = r0 * pi / (r0 * pi + 1 - pi)
        s += ec - e * q
        v += e * q * (1 - q)
        expected += e * q
    ev = s if lower else -s
    terms = [lam * ev - v * math.expm1(lam) + v * lam for lam in (1.25 * 2.0 ** -k for k in range(21))]
    if not lower:
        # Upper side only: coarse lambdas with the Poisson-type bound q * (e**-lambda - 1 + lambda).
        terms += [lam * ev - expected * (math.expm1(-lam) + lam) for lam in (2.5, 1.25, 0.625, 0.3125)]
    return special.logsumexp(terms) - math.log(len(terms))


def anchor_looks(n):
    """Looks 1..8, then each next one the ceiling of 1.25 x the previous (ratio_cs::next_anchor)."""
    out, a = set(), 1
    while a <= n:
        out.add(a)
        a = a + 1 if a < 8 else max(a + 1, math.ceil(a * 1.25))
    return out


def counts(c, b, p):
    alpha = p["alpha"]
    anchors = anchor_looks(len(c["events"]))
    r_fail = 1 + p.get("fail_margin", p.get("margin", 0.2))
    thr = math.log(1 / alpha)
    share = p.get("share")
    k = p.get("prior_strength", 100.0)
    cells = []
    log_e, log_e_max = 0.0, 0.0
    r_u, r_l = math.inf, 0.0
    first_cross = None
    for i in range(len(c["events"])):
        ec, eb = c["events"][i], b["events"][i]
        nc, nb = c["traffic"][i], b["traffic"][i]
        pi = share if share is not None else (nc / (nc + nb) if nc + nb > 0 else 0.5)
        cells.append((ec, eb, pi))
        if share is not None:
            theta0 = r_fail * share / (r_fail * share + 1 - share)
            log_e = beta_log_e(sum(x[0] for x in cells), sum(x[1] for x in cells), share, k, theta0)
        else:
            log_e = grid_log_e(cells, r_fail, True)
        log_e_max = max(log_e_max, log_e)
        if first_cross is None and log_e >= thr:
            first_cross = i + 1
        # Rate-ratio bounds at the anchored looks only (every look with a fixed share).
        if share is None and i + 1 not in anchors and i + 1 != len(c["events"]):
            continue
        # Upper bound: smallest r0 whose H0: r >= r0 process rejects at this look.
        f_up = lambda lr: ladder_log_e(cells, math.exp(lr), False) - thr
        if f_up(math.log(R_MAX)) >= 0:
            root = R_MIN if f_up(math.log(R_MIN)) >= 0 else math.exp(
                optimize.brentq(f_up, math.log(R_MIN), math.log(R_MAX), xtol=1e-14, rtol=1e-15))
            r_u = min(r_u, root)
        f_lo = lambda lr: ladder_log_e(cells, math.exp(lr), True) - thr
        if f_lo(math.log(R_MIN)) >= 0:
            root = R_MAX if f_lo(math.log(R_MAX)) >= 0 else math.exp(
                optimize.brentq(f_lo, math.log(R_MIN), math.log(R_MAX), xtol=1e-14, rtol=1e-15))
            r_l = max(r_l, root)
    ec_t, eb_t = sum(c["events"]), sum(b["events"])
    nc_t, nb_t = sum(c["traffic"]), sum(b["traffic"])
    if eb_t == 0:
        ratio = None  # undefined (canary events over zero baseline events)
    elif share is not None:
        ratio = (ec_t / share) / (eb_t / (1 - share))
    else:
        ratio = (ec_t / nc_t) / (eb_t / nb_t)
    min_req = p.get("min_requests", 100.0)
    if nc_t < min_req or nb_t < min_req:
        verdict = "inconclusive"
    elif first_cross is not None:
        verdict = "fail"
    elif ec_t + eb_t >= p.get("min_events", 1.0) and r_u < 1 + p.get("margin", 0.2) and ec_t + eb_t > 0:
        verdict = "pass"
    else:
        verdict = "inconclusive"
    return {
        "verdict": verdict,
        "e_value": math.exp(log_e),
        "p_value": min(1.0, math.exp(-log_e_max)),
        "effect": ratio,
        "ci_low": r_l,
        "ci_high": r_u if math.isfinite(r_u) else None,
        "extra": {"e_max": math.exp(log_e_max)},
    }


# ---------------------------------------------------------------- quantiles
def lil_constant(alpha, A=LIL_A):
    def optimum_error(C):
        eta_upper = optimize.brentq(lambda eta: math.sqrt(eta / 2) + math.sqrt(2 * (eta - 1) / C) - A,
                                    1.0, 2 * A * A, xtol=1e-15, rtol=1e-15)

        def bound(eta):
            gsq = 2 / eta * (A - math.sqrt(2 * (eta - 1) / C)) ** 2
            if gsq <= 1 or eta <= 1:
                return math.inf
            return 4 * math.exp(-gsq * C) * (1 + 1 / ((gsq - 1) * math.log(eta)))

        res = optimize.minimize_scalar(bound, bounds=(1.0, eta_upper), method="bounded",
                                       options={"xatol": 1e-12, "maxiter": 1000})
        return res.fun

    return optimize.brentq(lambda C: optimum_error(C) - alpha, 1.0, 100.0, xtol=1e-14, rtol=1e-15)


def quantile_bounds(values, quantiles, t_min, C):
    out = [[-math.inf, math.inf] for _ in quantiles]
    for t in range(1, len(values) + 1):
        if t < t_min:
            continue
        r = LIL_A * math.sqrt((math.log(1 + math.log(t / t_min)) + C) / t)
        s = np.sort(values[:t])
        for q, p in enumerate(quantiles):
            k_lo = math.floor(t * (p - r)) + 1
            k_hi = math.ceil(t * (p + r))
            if k_lo >= 1:
                out[q][0] = max(out[q][0], float(s[k_lo - 1]))
            if k_hi <= t:
                out[q][1] = min(out[q][1], float(s[max(k_hi, 1) - 1]))
    return out


def samples(x, y, p):
    C = lil_constant(p["alpha"] / 2)
    t_min = max(p["min_samples"], 1)
    bc = quantile_bounds(x, p["quantiles"], t_min, C)
    bb = quantile_bounds(y, p["quantiles"], t_min, C)
    fm = p.get("fail_margin", p["margin"])
    fail = any(math.isfinite(c[0]) and math.isfinite(b[1]) and c[0] > b[1] + fm * abs(b[1]) for c, b in zip(bc, bb))
    enough = len(x) >= p["min_samples"] and len(y) >= p["min_samples"]
    ok = enough and all(math.isfinite(c[1]) and math.isfinite(b[0]) and c[1] <= b[0] + p["margin"] * abs(b[0])
                        for c, b in zip(bc, bb))
    extra = {"lil_c": C}
    for q, c, b in zip(p["quantiles"], bc, bb):
        for name, v in (("canary_low", c[0]), ("canary_high", c[1]), ("baseline_low", b[0]), ("baseline_high", b[1])):
            if math.isfinite(v):
                extra[f"{name}_p{q}"] = v
    return {"verdict": "fail" if fail else ("pass" if ok else "inconclusive"), "extra": extra}


def histograms(hc, hb, p):
    bounds = hc["bounds"]
    tested = [j for j in range(len(bounds) - 1) if math.isfinite(bounds[j])]
    B = len(tested)
    decisions = []
    for j in tested:
        def series(h):
            return {"events": [row[-1] - row[j] for row in h["intervals"]],
                    "traffic": [row[-1] for row in h["intervals"]]}
        decisions.append(counts(series(hc), series(hb),
                                {"alpha": p["alpha"] / B, "margin": p["margin"], "min_requests": float(p["min_samples"]),
                                 "fail_margin": p.get("fail_margin", p["margin"])}))
    verdict = ("fail" if any(d["verdict"] == "fail" for d in decisions)
               else "pass" if all(d["verdict"] == "pass" for d in decisions) else "inconclusive")
    worst = max(decisions, key=lambda d: d["ci_high"] if d["ci_high"] is not None else math.inf)
    return {
        "verdict": verdict,
        "e_value": max(d["e_value"] for d in decisions) / B,
        "p_value": min(1.0, B * min(d["p_value"] for d in decisions)),
        "effect": worst["effect"],
        "ci_low": worst["ci_low"],
        "ci_high": worst["ci_high"],
        "extra": {},
    }


# ---------------------------------------------------------------- cases
def clean(obj):
    """JSON has no infinities: drop infinite/None numbers so Rust sees them as absent."""
    if isinstance(obj, dict):
        return {k: clean(v) for k, v in obj.items() if not (isinstance(v, float) and not math.isfinite(v)) and v is not None}
    if isinstance(obj, list):
        return [clean(v) for v in obj]
    return obj


def main():
    rng = np.random.default_rng(20261126)
    cases = {"msprt": [], "counts": [], "samples": [], "histograms": []}

    def add_msprt(name, x, y, params):
        full = {"alpha": 0.05, "harm": "increase", "margin": 0.1, "burn_in": 30, **params}
        x, y = [float(v) for v in x], [float(v) for v in y]
        cases["msprt"].append({"name": name, "canary": x, "baseline": y, "params": full,
                               "expected": msprt(x, y, full)})

    add_msprt("aa_increase_default_tau", rng.normal(100, 10, 60), rng.normal(100, 10, 60), {})
    add_msprt("shift_increase_default_tau", rng.normal(108, 10, 60), rng.normal(100, 10, 60), {})
    add_msprt("decrease_tau_2", rng.normal(48, 3, 45), rng.normal(50, 4, 45), {"harm": "decrease", "tau": 2.0})
    add_msprt("either_burn_10", rng.normal(5, 1, 40), rng.normal(5.3, 2, 40), {"harm": "either", "burn_in": 10, "margin": 0.2})
    add_msprt("tight_pass", rng.normal(1000, 5, 80), rng.normal(1000, 5, 80), {"alpha": 0.01})

    def add_counts(name, ec, nc, eb, nb, params):
        full = {"alpha": 0.05, "margin": 0.2, "prior_strength": 100.0, "min_events": 1.0, "min_requests": 100.0, **params}
        c = {"events": [float(v) for v in ec], "traffic": [float(v) for v in nc]}
        b = {"events": [float(v) for v in eb], "traffic": [float(v) for v in nb]}
        cases["counts"].append({"name": name, "canary": c, "baseline": b, "params": full,
                                "expected": counts(c, b, full)})

    share = np.repeat([0.05, 0.2, 0.5], [10, 10, 10])
    total = rng.integers(1500, 2500, 30)
    nc = np.round(total * share)
    nb = total - nc
    add_counts("varying_share_aa", rng.binomial(nc.astype(int), 0.01), nc, rng.binomial(nb.astype(int), 0.01), nb, {})
    add_counts("varying_share_double", rng.binomial(nc.astype(int), 0.02), nc, rng.binomial(nb.astype(int), 0.01), nb, {})
    n = np.full(25, 4000.0)
    add_counts("constant_share_half_aa", rng.binomial(4000, 0.01, 25), n, rng.binomial(4000, 0.01, 25), n, {"share": 0.5})
    add_counts("constant_share_half_worse", rng.binomial(4000, 0.013, 25), n, rng.binomial(4000, 0.01, 25), n, {"share": 0.5})
    n1, n2 = np.full(20, 1000.0), np.full(20, 4000.0)
    add_counts("constant_share_fifth_k50", rng.binomial(1000, 0.02, 20), n1, rng.binomial(4000, 0.02, 20), n2,
               {"share": 0.2, "prior_strength": 50.0})
    add_counts("sparse_with_zero_baseline", [0, 1, 0, 2, 0, 1, 0, 0], [100] * 8, [0] * 8, [100] * 8, {"min_requests": 50.0})
    add_counts("better_canary", rng.binomial(3000, 0.005, 30), np.full(30, 3000.0), rng.binomial(3000, 0.01, 30), np.full(30, 3000.0), {"alpha": 0.01, "margin": 0.1})

    def add_samples(name, x, y, params):
        full = {"alpha": 0.05, "margin": 0.2, "quantiles": [0.5, 0.9, 0.99], "min_samples": 30, **params}
        x, y = [float(v) for v in x], [float(v) for v in y]
        cases["samples"].append({"name": name, "canary": x, "baseline": y, "params": full,
                                 "expected": samples(x, y, full)})

    add_samples("lognormal_aa", rng.lognormal(4.6, 0.5, 400), rng.lognormal(4.6, 0.5, 300), {})
    add_samples("lognormal_slow", rng.lognormal(5.0, 0.5, 500), rng.lognormal(4.6, 0.5, 500), {"quantiles": [0.5, 0.75, 0.9]})
    add_samples("wide_alpha_01", rng.normal(10, 1, 350), rng.normal(10, 1, 350), {"alpha": 0.1, "min_samples": 50})

    def add_hist(name, bounds, rows_c, rows_b, params):
        full = {"alpha": 0.05, "margin": 0.2, "quantiles": [0.5, 0.9, 0.99], "min_samples": 30, **params}
        hc = {"bounds": bounds, "intervals": rows_c}
        hb = {"bounds": bounds, "intervals": rows_b}
        cases["histograms"].append({"name": name, "canary": hc, "baseline": hb, "params": full,
                                    "expected": histograms(hc, hb, full)})

    def hist_rows(n_intervals, requests, scale, bounds):
        rows = []
        for _ in range(n_intervals):
            lat = rng.lognormal(math.log(100) + math.log(scale), 0.5, int(requests))
            rows.append([float(np.sum(lat <= b)) for b in bounds])
        return rows

    bounds = [25.0, 50.0, 100.0, 250.0, 500.0, math.inf]
    add_hist("hist_aa", [25.0, 50.0, 100.0, 250.0, 500.0, 1e308], hist_rows(20, 400, 1.0, bounds), hist_rows(20, 400, 1.0, bounds), {})
    add_hist("hist_slow", [25.0, 50.0, 100.0, 250.0, 500.0, 1e308], hist_rows(20, 400, 1.3, bounds), hist_rows(20, 400, 1.0, bounds), {})

    path = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "sequential_reference.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(clean(cases), f, indent=1)
        f.write("\n")
    print(f"wrote {sum(len(v) for v in cases.values())} cases to {os.path.normpath(path)}")


if __name__ == "__main__":
    main()
