//! Monte-Carlo measurement of error rates: A/A false-fail rates under repeated looks and
//! looks-to-detection under regressions, for every method.
//!
//! Each simulated rollout produces `looks` disjoint intervals of canary and baseline data and
//! a method "fails the rollout" at the first look whose verdict is Fail, as Argo would with
//! `failureLimit: 0`. The anytime-valid methods are stateless and sticky, so one call on the
//! whole series tells the first failing look (`extra["first_fail_look"]`); a subset of
//! rollouts re-checks that against calling the public function on every prefix. The classic
//! fixed-n tests (Mann–Whitney, Welch, a naive z-test, a fixed threshold) are called at every
//! look, which is exactly the repeated-significance-testing the sequential methods avoid.
//! Everything is seeded, so the same config gives the same table on every machine.

use crate::stats::counts::{self, CountParams, CountSeries};
use crate::stats::mann_whitney::{self, MannWhitneyParams};
use crate::stats::msprt::{self, MsprtParams};
use crate::stats::quantile::{self, HistogramSeries, QuantileParams};
use crate::stats::threshold::{self, Aggregate, ThresholdParams, Traffic};
use crate::stats::welch::{self, WelchParams};
use crate::stats::{Alternative, Decision, Harm, StatsError, Verdict};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Binomial, Distribution, Normal};
use serde::{Deserialize, Serialize};
use statrs::distribution::ContinuousCDF;

pub mod axes;
pub mod oracle;

/// Every method the simulation can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SimMethod {
    /// count-sequential with the per-interval traffic share (grid mixture).
    CountVarying,
    /// count-sequential with a fixed share (Beta mixture); run on fixed-share data.
    CountConstant,
    /// quantile-sequential on Prometheus-style histograms.
    QuantileHistogram,
    /// quantile-sequential on raw samples (Howard–Ramdas).
    QuantileSamples,
    /// msprt on per-interval values.
    Msprt,
    /// mann-whitney (strict rule, margin 0, so fail_margin 0) repeated at every look.
    MannWhitney,
    /// mann-whitney (strict rule, its default margin 0.1 = fail_margin) at every look.
    MannWhitneyDefault,
    /// welch (margin 0, so fail_margin 0) repeated at every look.
    Welch,
    /// welch (its default margin 0.1 = fail_margin) repeated at every look.
    WelchDefault,
    /// Local one-sided z-test at level α repeated at every look (cumulative data).
    NaiveZ,
    /// threshold (ratio of the current interval's values) at every look.
    Threshold,
}

impl SimMethod {
    /// All methods, in table order.
    pub const ALL: [SimMethod; 11] = [
        SimMethod::CountVarying,
        SimMethod::CountConstant,
        SimMethod::QuantileHistogram,
        SimMethod::QuantileSamples,
        SimMethod::Msprt,
        SimMethod::MannWhitney,
        SimMethod::MannWhitneyDefault,
        SimMethod::Welch,
        SimMethod::WelchDefault,
        SimMethod::NaiveZ,
        SimMethod::Threshold,
    ];

    /// Name as shown in the table.
    pub fn name(self) -> &'static str {
        match self {
            SimMethod::CountVarying => "count-seq (varying share)",
            SimMethod::CountConstant => "count-seq (constant share)",
            SimMethod::QuantileHistogram => "quantile-seq (histogram)",
            SimMethod::QuantileSamples => "quantile-seq (samples)",
            SimMethod::Msprt => "msprt",
            SimMethod::MannWhitney => "mann-whitney m0 every look",
            SimMethod::MannWhitneyDefault => "mann-whitney m0.1 every look",
            SimMethod::Welch => "welch m0 every look",
            SimMethod::WelchDefault => "welch m0.1 every look",
            SimMethod::NaiveZ => "naive z every look",
            SimMethod::Threshold => "threshold every look",
        }
    }

    /// Whether the method promises false-fail ≤ α under any number of looks.
    pub fn anytime_valid(self) -> bool {
        matches!(
            self,
            SimMethod::CountVarying
                | SimMethod::CountConstant
                | SimMethod::QuantileHistogram
                | SimMethod::QuantileSamples
                | SimMethod::Msprt
        )
    }
}

/// What to simulate. `Default` is the configuration behind the published table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimulationConfig {
    /// Simulated rollouts per (data, scenario).
    pub rollouts: usize,
    /// Looks (disjoint intervals) per rollout.
    pub looks: usize,
    /// Seed of every random draw.
    pub seed: u64,
    /// Significance level given to every method.
    pub alpha: f64,
    /// Methods to run (others are skipped).
    pub methods: Vec<SimMethod>,
    /// Requests per interval, both arms together, before the shared load wave (±30%).
    pub requests_per_look: f64,
    /// Baseline error rate.
    pub base_error_rate: f64,
    /// Canary/baseline error-rate ratio in the error regression.
    pub error_ratio: f64,
    /// Raw latency samples per arm per look (quantile-seq samples).
    pub samples_per_look: usize,
    /// Canary latency multiplier in the "+20% p99" regression.
    pub latency_scale: f64,
    /// Canary log-latency σ multiplier in the spread-only latency regression.
    pub latency_spread: f64,
    /// Canary mean shift, in baseline standard deviations, in the value regression.
    pub mean_shift_sd: f64,
    /// Canary standard-deviation multiplier in the spread-only value regression.
    pub value_spread: f64,
    /// Rollouts per (data, scenario) on which each sequential method is re-run on every
    /// prefix through its public function and compared with the one-call first-fail look.
    pub verify_rollouts: usize,
}

impl Default for SimulationConfig {
    fn default() -> Self {
        SimulationConfig {
            rollouts: 2000,
            looks: 50,
            seed: 20_261_126,
            alpha: 0.05,
            methods: SimMethod::ALL.to_vec(),
            requests_per_look: 2000.0,
            base_error_rate: 0.01,
            error_ratio: 2.0,
            samples_per_look: 100,
            latency_scale: 1.2,
            latency_spread: 1.3,
            mean_shift_sd: 0.7,
            value_spread: 2.0,
            verify_rollouts: 20,
        }
    }
}

/// One line of the table: one method on one kind of data under one scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimulationRow {
    /// Method (see [`SimMethod::name`]).
    pub method: String,
    /// Whether the method is anytime-valid.
    pub anytime_valid: bool,
    /// The data the method saw.
    pub data: String,
    /// `A/A` (no difference) or the regression simulated.
    pub scenario: String,
    /// True for A/A rows, where every Fail is a false fail.
    pub null: bool,
    /// Rollouts simulated.
    pub rollouts: usize,
    /// Fraction of rollouts failed at some look.
    pub fail_rate: f64,
    /// Monte-Carlo standard error of `fail_rate`, sqrt(p(1−p)/n).
    pub std_error: f64,
    /// Median over all rollouts of the first failing look (undetected = never); `None`
    /// when at least half were never failed.
    pub median_looks_to_fail: Option<f64>,
    /// Calls that returned an error (counted as "no fail").
    pub errors: usize,
    /// Every parameter of the method behind the row (margin, fail_margin, burn-in, …).
    pub settings: String,
    /// Looks (fractional) the best fixed-sample test needs for this effect at the same α with
    /// 80 % power, knowing the effect and looking once ([`oracle`]); `None` for A/A rows and
    /// effects the oracle cannot see within 100× the rollout.
    pub oracle_looks: Option<f64>,
    /// `median_looks_to_fail / max(oracle_looks, 1)`: what not knowing the effect and looking
    /// at every interval cost (see [`ratio`]). `None` when either is unknown.
    pub oracle_ratio: Option<f64>,
}

/// Result of the prefix re-check of the one-call sticky answers.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Verification {
    /// Rollouts re-checked (per method, summed).
    pub rollouts: usize,
    /// Public-function calls made on prefixes.
    pub looks: usize,
    /// Prefixes whose verdict disagreed with "Fail iff look ≥ first failing look".
    pub mismatches: usize,
}

/// Everything the simulation measured; `Display` prints the plain text table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimulationReport {
    /// The configuration that produced it.
    pub config: SimulationConfig,
    /// One row per (method, data, scenario).
    pub rows: Vec<SimulationRow>,
    /// Prefix re-check of the sequential methods.
    pub verification: Verification,
}

impl std::fmt::Display for SimulationReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.config;
        writeln!(
            f,
            "canary-judge simulation: {} rollouts x {} looks, alpha = {}, seed = {}",
            c.rollouts, c.looks, c.alpha, c.seed
        )?;
        writeln!(
            f,
            "{:<28} {:<5} {:<34} {:<26} {:>7} {:>7} {:>8} {:>6} {:>6} {:>4}  settings",
            "method",
            "anyt.",
            "data",
            "scenario",
            "fail",
            "s.e.",
            "med.look",
            "oracle",
            "x orc",
            "err"
        )?;
        writeln!(f, "{}", "-".repeat(200))?;
        for r in &self.rows {
            let med = match r.median_looks_to_fail {
                Some(m) => format!("{m:.0}"),
                None => format!(">{}", c.looks),
            };
            writeln!(
                f,
                "{:<28} {:<5} {:<34} {:<26} {:>7.4} {:>7.4} {:>8} {:>6} {:>6} {:>4}  {}",
                r.method,
                if r.anytime_valid { "yes" } else { "no" },
                r.data,
                r.scenario,
                r.fail_rate,
                r.std_error,
                med,
                opt(r.oracle_looks, 1),
                opt(r.oracle_ratio, 2),
                r.errors,
                r.settings
            )?;
        }
        let v = &self.verification;
        writeln!(
            f,
            "prefix re-check of sequential methods: {} rollouts, {} calls, {} mismatches",
            v.rollouts, v.looks, v.mismatches
        )
    }
}

/// `-` for `None`, else the number with `digits` decimals.
pub(crate) fn opt(v: Option<f64>, digits: usize) -> String {
    match v {
        Some(x) => format!("{x:.digits$}"),
        None => "-".into(),
    }
}

/// The kinds of data simulated; each has its own scenarios and methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Errors,
    Latency,
    Values,
}

impl Family {
    fn scenarios(self) -> usize {
        match self {
            Family::Errors => 2,
            Family::Latency | Family::Values => 3,
        }
    }
    fn methods(self) -> &'static [SimMethod] {
        match self {
            Family::Errors => &[
                SimMethod::CountVarying,
                SimMethod::CountConstant,
                SimMethod::MannWhitney,
                SimMethod::MannWhitneyDefault,
                SimMethod::Welch,
                SimMethod::WelchDefault,
                SimMethod::NaiveZ,
                SimMethod::Threshold,
            ],
            Family::Latency => &[
                SimMethod::QuantileHistogram,
                SimMethod::QuantileSamples,
                SimMethod::MannWhitney,
                SimMethod::MannWhitneyDefault,
                SimMethod::Welch,
                SimMethod::WelchDefault,
                SimMethod::NaiveZ,
                SimMethod::Threshold,
            ],
            Family::Values => &[
                SimMethod::Msprt,
                SimMethod::MannWhitney,
                SimMethod::MannWhitneyDefault,
                SimMethod::Welch,
                SimMethod::WelchDefault,
                SimMethod::NaiveZ,
                SimMethod::Threshold,
            ],
        }
    }
}

/// Histogram bucket bounds (ms) of the latency data, Prometheus style.
const LATENCY_BOUNDS: [f64; 6] = [50.0, 100.0, 250.0, 500.0, 1000.0, f64::INFINITY];
/// Baseline latency: log-normal with median 100 ms and σ = 0.5 (p99 ≈ 320 ms).
const LATENCY_MEDIAN: f64 = 100.0;
const LATENCY_SIGMA: f64 = 0.5;
/// Per-interval values: normal with mean 100 and sd 10.
const VALUE_MEAN: f64 = 100.0;
const VALUE_SD: f64 = 10.0;

/// One rollout's data; only the parts of its family are filled.
#[derive(Default)]
struct Rollout {
    /// Error counts with the stepping canary share.
    errors_c: CountSeries,
    errors_b: CountSeries,
    /// Error counts with a fixed 50% share.
    fixed_c: CountSeries,
    fixed_b: CountSeries,
    hist_c: HistogramSeries,
    hist_b: HistogramSeries,
    samples_c: Vec<f64>,
    samples_b: Vec<f64>,
    /// Per-interval values for the classic tests (error ratio, p99 estimate or raw value).
    values_c: Vec<f64>,
    values_b: Vec<f64>,
    /// Per-interval requests for the threshold's traffic guard (None for plain values).
    traffic: Option<(Vec<f64>, Vec<f64>)>,
}

/// splitmix64 (Steele et al. 2014): independent, reproducible seeds per rollout.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn rollout_rng(seed: u64, family: usize, scenario: usize, rollout: usize) -> StdRng {
    let s = mix(mix(mix(seed ^ family as u64) ^ scenario as u64) ^ rollout as u64);
    StdRng::seed_from_u64(s)
}

fn binomial(rng: &mut StdRng, n: f64, p: f64) -> f64 {
    let n = n.max(0.0).round() as u64;
    match Binomial::new(n, p.clamp(0.0, 1.0)) {
        Ok(b) => b.sample(rng) as f64,
        Err(_) => 0.0,
    }
}

/// Canary traffic share of an Argo canary stepping 5% → 20% → 50% over the rollout.
fn stepping_share(look: usize, looks: usize) -> f64 {
    if look * 3 < looks {
        0.05
    } else if look * 3 < 2 * looks {
        0.20
    } else {
        0.50
    }
}

/// Shared load wave (both arms): ±30% over the rollout, like a diurnal swing.
fn load(look: usize, looks: usize) -> f64 {
    1.0 + 0.3 * (2.0 * std::f64::consts::PI * look as f64 / looks as f64).sin()
}

/// Interpolated quantile of one interval's cumulative bucket counts, as Prometheus'
/// `histogram_quantile` does (linear within the bucket, lower edge 0 for the first bucket,
/// the highest finite bound when the rank falls in the +Inf bucket).
fn histogram_quantile(q: f64, bounds: &[f64], cumulative: &[f64]) -> Option<f64> {
    let total = *cumulative.last()?;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let mut prev_bound = 0.0;
    let mut prev_count = 0.0;
    for (&b, &c) in bounds.iter().zip(cumulative) {
        if c >= rank {
            if !b.is_finite() {
                return Some(prev_bound);
            }
            let width = c - prev_count;
            let frac = if width > 0.0 {
                (rank - prev_count) / width
            } else {
                1.0
            };
            return Some(prev_bound + (b - prev_bound) * frac);
        }
        prev_bound = b;
        prev_count = c;
    }
    Some(prev_bound)
}

fn generate(cfg: &SimulationConfig, family: Family, scenario: usize, rng: &mut StdRng) -> Rollout {
    let mut r = Rollout::default();
    let looks = cfg.looks;
    match family {
        Family::Errors => {
            let ratio = if scenario == 1 { cfg.error_ratio } else { 1.0 };
            let (pb, pc) = (cfg.base_error_rate, cfg.base_error_rate * ratio);
            let (mut tc, mut tb) = (Vec::new(), Vec::new());
            for look in 0..looks {
                let total = (cfg.requests_per_look * load(look, looks)).round();
                let nc = (total * stepping_share(look, looks)).round();
                let nb = total - nc;
                let ec = binomial(rng, nc, pc);
                let eb = binomial(rng, nb, pb);
                r.errors_c.events.push(ec);
                r.errors_c.traffic.push(nc);
                r.errors_b.events.push(eb);
                r.errors_b.traffic.push(nb);
                r.values_c.push(if nc > 0.0 { ec / nc } else { 0.0 });
                r.values_b.push(if nb > 0.0 { eb / nb } else { 0.0 });
                tc.push(nc);
                tb.push(nb);
                let half = (total / 2.0).round();
                r.fixed_c.events.push(binomial(rng, half, pc));
                r.fixed_c.traffic.push(half);
                r.fixed_b.events.push(binomial(rng, half, pb));
                r.fixed_b.traffic.push(half);
            }
            r.traffic = Some((tc, tb));
        }
        Family::Latency => {
            let (scale, spread) = match scenario {
                1 => (cfg.latency_scale, 1.0),
                2 => (1.0, cfg.latency_spread),
                _ => (1.0, 1.0),
            };
            let mu_b = LATENCY_MEDIAN.ln();
            let mu_c = mu_b + scale.ln();
            let (sd_b, sd_c) = (LATENCY_SIGMA, LATENCY_SIGMA * spread);
            let probs = |mu: f64, sd: f64| -> Vec<f64> {
                let normal = statrs::distribution::Normal::standard();
                LATENCY_BOUNDS
                    .iter()
                    .map(|b| {
                        if b.is_finite() {
                            normal.cdf((b.ln() - mu) / sd)
                        } else {
                            1.0
                        }
                    })
                    .collect()
            };
            let (pc, pb) = (probs(mu_c, sd_c), probs(mu_b, sd_b));
            r.hist_c.bounds = LATENCY_BOUNDS.to_vec();
            r.hist_b.bounds = LATENCY_BOUNDS.to_vec();
            let (mut tc, mut tb) = (Vec::new(), Vec::new());
            for look in 0..looks {
                let total = (cfg.requests_per_look * load(look, looks)).round();
                let nc = (total * stepping_share(look, looks)).round();
                let nb = total - nc;
                let row_c = multinomial_cumulative(rng, nc, &pc);
                let row_b = multinomial_cumulative(rng, nb, &pb);
                r.values_c
                    .push(histogram_quantile(0.99, &LATENCY_BOUNDS, &row_c).unwrap_or(0.0));
                r.values_b
                    .push(histogram_quantile(0.99, &LATENCY_BOUNDS, &row_b).unwrap_or(0.0));
                r.hist_c.intervals.push(row_c);
                r.hist_b.intervals.push(row_b);
                tc.push(nc);
                tb.push(nb);
                let (Ok(lc), Ok(lb)) = (Normal::new(mu_c, sd_c), Normal::new(mu_b, sd_b)) else {
                    continue;
                };
                for _ in 0..cfg.samples_per_look {
                    r.samples_c.push(lc.sample(rng).exp());
                    r.samples_b.push(lb.sample(rng).exp());
                }
            }
            r.traffic = Some((tc, tb));
        }
        Family::Values => {
            let (shift, spread) = match scenario {
                1 => (cfg.mean_shift_sd * VALUE_SD, 1.0),
                2 => (0.0, cfg.value_spread),
                _ => (0.0, 1.0),
            };
            let (Ok(dc), Ok(db)) = (
                Normal::new(VALUE_MEAN + shift, VALUE_SD * spread),
                Normal::new(VALUE_MEAN, VALUE_SD),
            ) else {
                return r;
            };
            for _ in 0..looks {
                r.values_c.push(dc.sample(rng));
                r.values_b.push(db.sample(rng));
            }
        }
    }
    r
}

/// Cumulative bucket counts of `n` requests with cumulative bucket probabilities `cdf`, by
/// sequential conditional binomials.
fn multinomial_cumulative(rng: &mut StdRng, n: f64, cdf: &[f64]) -> Vec<f64> {
    let mut out = Vec::with_capacity(cdf.len());
    let mut left = n;
    let mut prev_p = 0.0;
    let mut cum = 0.0;
    for (j, &p) in cdf.iter().enumerate() {
        let k = if j + 1 == cdf.len() {
            left
        } else {
            let mass_left = 1.0 - prev_p;
            let cond = if mass_left > 0.0 {
                (p - prev_p) / mass_left
            } else {
                0.0
            };
            binomial(rng, left, cond)
        };
        left -= k;
        cum += k;
        out.push(cum);
        prev_p = p;
    }
    out
}

/// First failing look (1-based) of one method on one rollout, and whether a call erred.
struct Outcome {
    first_fail: Option<usize>,
    errors: usize,
}

fn first_fail_from(d: &Result<Decision, StatsError>) -> Outcome {
    match d {
        Ok(d) if d.verdict == Verdict::Fail => Outcome {
            first_fail: d
                .extra
                .get("first_fail_look")
                .map(|v| v.round() as usize)
                .or(Some(usize::MAX)),
            errors: 0,
        },
        Ok(_) => Outcome {
            first_fail: None,
            errors: 0,
        },
        Err(_) => Outcome {
            first_fail: None,
            errors: 1,
        },
    }
}

fn prefix_counts(s: &CountSeries, k: usize) -> CountSeries {
    CountSeries {
        events: s.events[..k].to_vec(),
        traffic: s.traffic[..k].to_vec(),
    }
}

fn prefix_hist(h: &HistogramSeries, k: usize) -> HistogramSeries {
    HistogramSeries {
        bounds: h.bounds.clone(),
        intervals: h.intervals[..k].to_vec(),
    }
}

struct Params {
    msprt: MsprtParams,
    counts: CountParams,
    counts_fixed: CountParams,
    quantile: QuantileParams,
    mann_whitney: MannWhitneyParams,
    mann_whitney_default: MannWhitneyParams,
    welch: WelchParams,
    welch_default: WelchParams,
    threshold_ratio: f64,
    z_crit: f64,
}

/// Every sequential method runs with `fail_margin` 0 (fail on any shown harm): that is the
/// largest A/A false-fail rate any `fail_margin` ≥ 0 can have (a fail beyond a band is also a
/// fail beyond 0), and the power figures stay those of the tests themselves. The pass margins
/// are the methods' defaults. The repeated Mann–Whitney and Welch tests run twice: with margin
/// 0 (so fail_margin 0, the textbook test) and with their default margin 0.1 (fail_margin =
/// margin, what a user gets by default). Each row's `settings` says which.
fn params(cfg: &SimulationConfig) -> Params {
    Params {
        msprt: MsprtParams {
            alpha: cfg.alpha,
            fail_margin: Some(0.0),
            ..MsprtParams::default()
        },
        counts: CountParams {
            alpha: cfg.alpha,
            fail_margin: Some(0.0),
            ..CountParams::default()
        },
        counts_fixed: CountParams {
            alpha: cfg.alpha,
            share: Some(0.5),
            fail_margin: Some(0.0),
            ..CountParams::default()
        },
        quantile: QuantileParams {
            alpha: cfg.alpha,
            quantiles: vec![0.5, 0.9],
            fail_margin: Some(0.0),
            ..QuantileParams::default()
        },
        mann_whitney: MannWhitneyParams {
            alternative: Alternative::Greater,
            alpha: cfg.alpha,
            margin: 0.0,
            harm: Harm::Increase,
            ..MannWhitneyParams::default()
        },
        mann_whitney_default: MannWhitneyParams {
            alternative: Alternative::Greater,
            alpha: cfg.alpha,
            harm: Harm::Increase,
            ..MannWhitneyParams::default()
        },
        welch: WelchParams {
            alternative: Alternative::Greater,
            alpha: cfg.alpha,
            margin: 0.0,
            harm: Harm::Increase,
            ..WelchParams::default()
        },
        welch_default: WelchParams {
            alternative: Alternative::Greater,
            alpha: cfg.alpha,
            harm: Harm::Increase,
            ..WelchParams::default()
        },
        threshold_ratio: 1.2,
        z_crit: statrs::distribution::Normal::standard().inverse_cdf(1.0 - cfg.alpha),
    }
}

/// Runs one method on one rollout. Sequential methods: one call on the whole series.
/// Classic methods: one call per look until the first Fail.
fn run_method(
    m: SimMethod,
    family: Family,
    r: &Rollout,
    p: &Params,
    cfg: &SimulationConfig,
) -> Outcome {
    let looks = cfg.looks;
    match m {
        SimMethod::CountVarying => {
            first_fail_from(&counts::compare(&r.errors_c, &r.errors_b, &p.counts))
        }
        SimMethod::CountConstant => {
            first_fail_from(&counts::compare(&r.fixed_c, &r.fixed_b, &p.counts_fixed))
        }
        SimMethod::QuantileHistogram => first_fail_from(&quantile::compare_histograms(
            &r.hist_c,
            &r.hist_b,
            &p.quantile,
        )),
        SimMethod::Msprt => first_fail_from(&msprt::compare(&r.values_c, &r.values_b, &p.msprt)),
        SimMethod::QuantileSamples => Outcome {
            first_fail: samples_first_fail(r, &p.quantile, cfg),
            errors: 0,
        },
        SimMethod::MannWhitney
        | SimMethod::MannWhitneyDefault
        | SimMethod::Welch
        | SimMethod::WelchDefault
        | SimMethod::Threshold => {
            let mut errors = 0;
            for k in 1..=looks {
                let (c, b) = (&r.values_c[..k], &r.values_b[..k]);
                let d = match m {
                    SimMethod::MannWhitney => mann_whitney::compare(c, b, &p.mann_whitney),
                    SimMethod::MannWhitneyDefault => {
                        mann_whitney::compare(c, b, &p.mann_whitney_default)
                    }
                    SimMethod::Welch => welch::compare(c, b, &p.welch),
                    SimMethod::WelchDefault => welch::compare(c, b, &p.welch_default),
                    _ => {
                        let traffic = r.traffic.as_ref().map(|(tc, tb)| Traffic {
                            canary: tc[k - 1],
                            baseline: Some(tb[k - 1]),
                        });
                        let tp = ThresholdParams {
                            aggregate: Aggregate::Last,
                            min: None,
                            max: None,
                            max_ratio: Some(p.threshold_ratio),
                            min_ratio: None,
                            max_difference: None,
                            min_difference: None,
                            min_samples: 1,
                            min_requests: traffic.map(|_| 100.0),
                        };
                        threshold::evaluate(c, Some(b), traffic, &tp)
                    }
                };
                match d {
                    Ok(d) if d.verdict == Verdict::Fail => {
                        return Outcome {
                            first_fail: Some(k),
                            errors,
                        };
                    }
                    Ok(_) => {}
                    Err(_) => errors += 1,
                }
            }
            Outcome {
                first_fail: None,
                errors,
            }
        }
        SimMethod::NaiveZ => Outcome {
            first_fail: naive_z_first_fail(family, r, p.z_crit, looks),
            errors: 0,
        },
    }
}

/// A fixed-n one-sided z-test recomputed on the cumulative data at every look: two-proportion
/// pooled z for counts, difference of means with plug-in variances for values.
fn naive_z_first_fail(family: Family, r: &Rollout, z_crit: f64, looks: usize) -> Option<usize> {
    let (mut ec, mut nc, mut eb, mut nb) = (0.0, 0.0, 0.0, 0.0);
    let (mut sx, mut sxx, mut sy, mut syy) = (0.0, 0.0, 0.0, 0.0);
    for k in 1..=looks {
        let z = if family == Family::Errors {
            ec += r.errors_c.events[k - 1];
            nc += r.errors_c.traffic[k - 1];
            eb += r.errors_b.events[k - 1];
            nb += r.errors_b.traffic[k - 1];
            let pooled = (ec + eb) / (nc + nb);
            let se = (pooled * (1.0 - pooled) * (1.0 / nc + 1.0 / nb)).sqrt();
            (ec / nc - eb / nb) / se
        } else {
            let (x, y) = (r.values_c[k - 1], r.values_b[k - 1]);
            sx += x;
            sxx += x * x;
            sy += y;
            syy += y * y;
            let n = k as f64;
            if k < 2 {
                continue;
            }
            let vx = (sxx - sx * sx / n) / (n - 1.0);
            let vy = (syy - sy * sy / n) / (n - 1.0);
            (sx / n - sy / n) / ((vx + vy) / n).sqrt()
        };
        if z.is_finite() && z > z_crit {
            return Some(k);
        }
    }
    None
}

/// First look at which the raw-sample rule fails, from each arm's running-intersected
/// quantile CSs recorded at look boundaries (the same code path as `compare_samples`).
fn samples_first_fail(r: &Rollout, q: &QuantileParams, cfg: &SimulationConfig) -> Option<usize> {
    let c = quantile::lil_constant(q.alpha / 2.0, quantile::LIL_A);
    let t_min = q.min_samples.max(1) as f64;
    let at: Vec<usize> = (1..=cfg.looks).map(|k| k * cfg.samples_per_look).collect();
    let bc = quantile::quantile_cs_path(&r.samples_c, &q.quantiles, t_min, c, &at);
    let bb = quantile::quantile_cs_path(&r.samples_b, &q.quantiles, t_min, c, &at);
    (0..cfg.looks).find_map(|k| {
        let n = at[k];
        (quantile::judge_samples(&bc[k], &bb[k], n, n, q) == Verdict::Fail).then_some(k + 1)
    })
}

/// Re-runs a sequential method through its public function on every prefix and counts looks
/// whose verdict disagrees with the one-call answer. Returns (calls, mismatches).
fn verify(
    m: SimMethod,
    r: &Rollout,
    p: &Params,
    cfg: &SimulationConfig,
    first: Option<usize>,
) -> (usize, usize) {
    let mut mismatches = 0;
    for k in 1..=cfg.looks {
        let d = match m {
            SimMethod::CountVarying => counts::compare(
                &prefix_counts(&r.errors_c, k),
                &prefix_counts(&r.errors_b, k),
                &p.counts,
            ),
            SimMethod::CountConstant => counts::compare(
                &prefix_counts(&r.fixed_c, k),
                &prefix_counts(&r.fixed_b, k),
                &p.counts_fixed,
            ),
            SimMethod::QuantileHistogram => quantile::compare_histograms(
                &prefix_hist(&r.hist_c, k),
                &prefix_hist(&r.hist_b, k),
                &p.quantile,
            ),
            SimMethod::QuantileSamples => {
                let n = k * cfg.samples_per_look;
                quantile::compare_samples(&r.samples_c[..n], &r.samples_b[..n], &p.quantile)
            }
            SimMethod::Msprt => msprt::compare(&r.values_c[..k], &r.values_b[..k], &p.msprt),
            _ => return (0, 0),
        };
        let failed = matches!(&d, Ok(d) if d.verdict == Verdict::Fail);
        let expected = first.is_some_and(|f| k >= f);
        if failed != expected {
            mismatches += 1;
        }
    }
    (cfg.looks, mismatches)
}

fn family_label(family: Family, m: SimMethod, cfg: &SimulationConfig) -> String {
    match (family, m) {
        (Family::Errors, SimMethod::CountConstant) => {
            format!("errors {}%, fixed share 50%", cfg.base_error_rate * 100.0)
        }
        (Family::Errors, SimMethod::CountVarying) => {
            format!("errors {}%, share 5/20/50%", cfg.base_error_rate * 100.0)
        }
        (Family::Errors, SimMethod::NaiveZ) => "cumulative errors, 5/20/50%".into(),
        (Family::Errors, _) => "per-interval error ratio, 5/20/50%".into(),
        (Family::Latency, SimMethod::QuantileHistogram) => "latency histogram, 5/20/50%".into(),
        (Family::Latency, SimMethod::QuantileSamples) => {
            format!("latency samples, {}/look/arm", cfg.samples_per_look)
        }
        (Family::Latency, _) => "per-interval p99 from histogram".into(),
        (Family::Values, _) => "values N(100, 10) per interval".into(),
    }
}

fn scenario_label(family: Family, scenario: usize, cfg: &SimulationConfig) -> String {
    match (family, scenario) {
        (_, 0) => "A/A".into(),
        (Family::Errors, _) => format!("error rate x{}", cfg.error_ratio),
        (Family::Latency, 1) => format!(
            "p99 +{:.0}% (latency x{})",
            (cfg.latency_scale - 1.0) * 100.0,
            cfg.latency_scale
        ),
        (Family::Latency, _) => format!("spread only (log-sd x{})", cfg.latency_spread),
        (Family::Values, 1) => format!("mean +{} sd", cfg.mean_shift_sd),
        (Family::Values, _) => format!("spread only (sd x{})", cfg.value_spread),
    }
}

/// Runs every configured method on every (data, scenario) and tabulates false-fail rates
/// (A/A) and detection (regressions). Deterministic for a given config.
pub fn run(cfg: &SimulationConfig) -> SimulationReport {
    let p = params(cfg);
    let mut rows = Vec::new();
    let mut verification = Verification::default();
    let looks = cfg.looks.max(1);
    let cfg_eff = SimulationConfig {
        looks,
        ..cfg.clone()
    };
    for (fi, family) in [Family::Errors, Family::Latency, Family::Values]
        .into_iter()
        .enumerate()
    {
        let methods: Vec<SimMethod> = family
            .methods()
            .iter()
            .copied()
            .filter(|m| cfg.methods.contains(m))
            .collect();
        if methods.is_empty() {
            continue;
        }
        for scenario in 0..family.scenarios() {
            let mut firsts: Vec<Vec<Option<usize>>> = vec![Vec::new(); methods.len()];
            let mut errors = vec![0usize; methods.len()];
            for rollout in 0..cfg.rollouts {
                let mut rng = rollout_rng(cfg.seed, fi, scenario, rollout);
                let data = generate(&cfg_eff, family, scenario, &mut rng);
                for (mi, &m) in methods.iter().enumerate() {
                    let out = run_method(m, family, &data, &p, &cfg_eff);
                    if rollout < cfg.verify_rollouts && m.anytime_valid() {
                        let (calls, bad) = verify(m, &data, &p, &cfg_eff, out.first_fail);
                        verification.rollouts += 1;
                        verification.looks += calls;
                        verification.mismatches += bad;
                    }
                    firsts[mi].push(out.first_fail);
                    errors[mi] += out.errors;
                }
            }
            for (mi, &m) in methods.iter().enumerate() {
                let mut row = summarize(
                    m,
                    family_label(family, m, cfg),
                    scenario_label(family, scenario, cfg),
                    scenario == 0,
                    &firsts[mi],
                    errors[mi],
                );
                row.settings = settings(m, &p);
                row.oracle_looks = main_oracle(family, m, scenario, &cfg_eff);
                row.oracle_ratio = ratio(row.median_looks_to_fail, row.oracle_looks);
                rows.push(row);
            }
        }
    }
    SimulationReport {
        config: cfg.clone(),
        rows,
        verification,
    }
}

fn summarize(
    m: SimMethod,
    data: String,
    scenario: String,
    null: bool,
    firsts: &[Option<usize>],
    errors: usize,
) -> SimulationRow {
    let n = firsts.len();
    let failed = firsts.iter().filter(|f| f.is_some()).count();
    let rate = if n > 0 { failed as f64 / n as f64 } else { 0.0 };
    let mut sorted: Vec<usize> = firsts.iter().map(|f| f.unwrap_or(usize::MAX)).collect();
    sorted.sort_unstable();
    let median = sorted
        .get(n.saturating_sub(1) / 2)
        .filter(|&&v| v != usize::MAX)
        .map(|&v| v as f64);
    SimulationRow {
        method: m.name().into(),
        anytime_valid: m.anytime_valid(),
        data,
        scenario,
        null,
        rollouts: n,
        fail_rate: rate,
        std_error: if n > 0 {
            (rate * (1.0 - rate) / n as f64).sqrt()
        } else {
            0.0
        },
        median_looks_to_fail: median,
        errors,
        settings: String::new(),
        oracle_looks: None,
        oracle_ratio: None,
    }
}

/// Median detection look over the oracle's look, the oracle floored at one look: a method
/// that judges whole intervals cannot fail before the first one ends, so when the oracle needs
/// less than one interval of data (high traffic) the ratio measures the method against that
/// first look, not against a fraction of an interval no dashboard shows.
pub(crate) fn ratio(median: Option<f64>, oracle: Option<f64>) -> Option<f64> {
    match (median, oracle) {
        (Some(m), Some(o)) if o > 0.0 => Some(m / o.max(1.0)),
        _ => None,
    }
}

/// `fail_margin` as the method uses it (`None` means "= margin").
fn fm(fail_margin: Option<f64>, margin: f64) -> f64 {
    fail_margin.unwrap_or(margin)
}

/// Count-test parameters as settings text.
pub(crate) fn count_settings(c: &CountParams) -> String {
    let share = match c.share {
        Some(s) => format!("share {s} (Beta k {})", c.prior_strength),
        None => "per-interval share".into(),
    };
    format!(
        "margin {}, fail_margin {}, {share}, min_requests {}, min_events {}, min_rate {:e}",
        c.margin,
        fm(c.fail_margin, c.margin),
        c.min_requests,
        c.min_events,
        c.min_rate
    )
}

/// msprt parameters as settings text.
pub(crate) fn msprt_settings(m: &MsprtParams) -> String {
    let tau = match m.tau {
        Some(t) => format!("tau {t}"),
        None => "tau margin x burn-in mean".into(),
    };
    format!(
        "margin {}, fail_margin {}, burn-in {}, {tau}, harm {:?}",
        m.margin,
        fm(m.fail_margin, m.margin),
        m.burn_in.max(2),
        m.harm
    )
}

/// Quantile-test parameters as settings text.
pub(crate) fn quantile_settings(q: &QuantileParams, histogram: bool) -> String {
    let what = if histogram {
        "every finite bucket bound".to_string()
    } else {
        format!("quantiles {:?}", q.quantiles)
    };
    format!(
        "{what}, margin {}, fail_margin {}, min_samples {}",
        q.margin,
        fm(q.fail_margin, q.margin),
        q.min_samples
    )
}

/// Every parameter behind a main-table row of method `m`.
fn settings(m: SimMethod, p: &Params) -> String {
    let mw = |w: &MannWhitneyParams| {
        format!(
            "strict rule, one-sided, margin {}, fail_margin {}, min_samples {}",
            w.margin,
            fm(w.fail_margin, w.margin),
            w.min_samples
        )
    };
    let welch = |w: &WelchParams| {
        format!(
            "one-sided, margin {}, fail_margin {}, min_samples {}",
            w.margin,
            fm(w.fail_margin, w.margin),
            w.min_samples
        )
    };
    match m {
        SimMethod::CountVarying => count_settings(&p.counts),
        SimMethod::CountConstant => count_settings(&p.counts_fixed),
        SimMethod::QuantileHistogram => quantile_settings(&p.quantile, true),
        SimMethod::QuantileSamples => quantile_settings(&p.quantile, false),
        SimMethod::Msprt => msprt_settings(&p.msprt),
        SimMethod::MannWhitney => mw(&p.mann_whitney),
        SimMethod::MannWhitneyDefault => mw(&p.mann_whitney_default),
        SimMethod::Welch => welch(&p.welch),
        SimMethod::WelchDefault => welch(&p.welch_default),
        SimMethod::NaiveZ => "one-sided z at alpha on cumulative data, no correction".into(),
        SimMethod::Threshold => format!(
            "last interval's ratio <= {}, min_requests 100",
            p.threshold_ratio
        ),
    }
}

/// Non-cumulative bucket probabilities of a log-normal latency over [`LATENCY_BOUNDS`].
fn bucket_probs(mu: f64, sd: f64) -> Vec<f64> {
    let normal = statrs::distribution::Normal::standard();
    let mut prev = 0.0;
    LATENCY_BOUNDS
        .iter()
        .map(|b| {
            let c = if b.is_finite() {
                normal.cdf((b.ln() - mu) / sd)
            } else {
                1.0
            };
            let q = c - prev;
            prev = c;
            q
        })
        .collect()
}

/// The oracle of a main-table row (every method there runs with fail_margin 0 or, for the
/// margin-0.1 rows, is compared with the same oracle, so the null is "no effect").
fn main_oracle(
    family: Family,
    m: SimMethod,
    scenario: usize,
    cfg: &SimulationConfig,
) -> Option<f64> {
    if scenario == 0 {
        return None;
    }
    let looks = cfg.looks;
    let max = 100 * looks;
    let alpha = cfg.alpha;
    let arms = |look: usize| {
        let total = (cfg.requests_per_look * load(look, looks)).round();
        let nc = (total * stepping_share(look, looks)).round();
        (nc, total - nc, total)
    };
    match family {
        Family::Errors => {
            let (pb, pc) = (cfg.base_error_rate, cfg.base_error_rate * cfg.error_ratio);
            oracle::oracle_looks(alpha, max, |k| {
                let (nc, nb, total) = arms(k);
                let (nc, nb) = if m == SimMethod::CountConstant {
                    let half = (total / 2.0).round();
                    (half, half)
                } else {
                    (nc, nb)
                };
                vec![oracle::Cell::counts(
                    nc * pc + nb * pb,
                    nc / (nc + nb),
                    1.0,
                    cfg.error_ratio,
                )]
            })
        }
        Family::Latency => {
            let n = cfg.samples_per_look as f64;
            if m == SimMethod::QuantileSamples {
                return oracle::oracle_looks(alpha, max, |_| {
                    vec![if scenario == 1 {
                        let var = LATENCY_SIGMA * LATENCY_SIGMA;
                        oracle::Cell::means(n, cfg.latency_scale.ln(), var, var)
                    } else {
                        oracle::Cell::spread(n, cfg.latency_spread)
                    }]
                });
            }
            let (scale, spread) = if scenario == 1 {
                (cfg.latency_scale, 1.0)
            } else {
                (1.0, cfg.latency_spread)
            };
            let mu_b = LATENCY_MEDIAN.ln();
            let qb = bucket_probs(mu_b, LATENCY_SIGMA);
            let qc = bucket_probs(mu_b + scale.ln(), LATENCY_SIGMA * spread);
            oracle::oracle_looks(alpha, max, |k| {
                let (nc, nb, _) = arms(k);
                qc.iter()
                    .zip(&qb)
                    .filter(|&(_, &b)| b > 0.0)
                    .map(|(&c, &b)| {
                        oracle::Cell::counts(nc * c + nb * b, nc / (nc + nb), 1.0, c / b)
                    })
                    .collect()
            })
        }
        Family::Values => oracle::oracle_looks(alpha, max, |_| {
            vec![if scenario == 1 {
                let var = VALUE_SD * VALUE_SD;
                oracle::Cell::means(1.0, cfg.mean_shift_sd * VALUE_SD, var, var)
            } else {
                oracle::Cell::spread(1.0, cfg.value_spread)
            }]
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_quantile_interpolates_like_prometheus() {
        let bounds = [1.0, 2.0, f64::INFINITY];
        // 50 at ≤1, 100 at ≤2: median rank 50 → 1.0; 0.75 rank 75 → 1.5.
        assert_eq!(
            histogram_quantile(0.5, &bounds, &[50.0, 100.0, 100.0]),
            Some(1.0)
        );
        assert_eq!(
            histogram_quantile(0.75, &bounds, &[50.0, 100.0, 100.0]),
            Some(1.5)
        );
        assert_eq!(
            histogram_quantile(0.99, &bounds, &[50.0, 60.0, 100.0]),
            Some(2.0)
        );
    }

    #[test]
    fn same_seed_same_report() {
        let cfg = SimulationConfig {
            rollouts: 20,
            looks: 10,
            verify_rollouts: 2,
            methods: vec![SimMethod::CountVarying, SimMethod::Msprt, SimMethod::NaiveZ],
            ..SimulationConfig::default()
        };
        assert_eq!(run(&cfg), run(&cfg));
    }
}
