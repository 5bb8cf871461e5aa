//! Scenario axes of the simulation: the settings under which issue 16's defects hid from the
//! default table — traffic per interval from 10 to 10⁹ requests, services without errors,
//! small burn-ins at every variance scale, base rates or means that drift in both arms, and
//! margins down to 2 %. Each row runs one method with stated parameters on one seeded kind of
//! data and reports how often it failed (power, or the false-fail rate on A/A rows), how often
//! it passed at the last look, the median looks to the first fail and the first pass, and the
//! [`oracle`](super::oracle) for the effect.
//!
//! The data of a row depend only on the seed, the data description and the scenario (not on
//! the method or the row's position), so methods on the same data see the same draws.

use super::oracle::{self, Cell};
use super::{
    Family, SimulationConfig, binomial, count_settings, generate, load, mix, msprt_settings, opt,
    quantile_settings, ratio, samples_first_fail, stepping_share,
};
use crate::stats::counts::{self, CountParams, CountSeries};
use crate::stats::mann_whitney::{self, MannWhitneyParams};
use crate::stats::msprt::{self, MsprtParams};
use crate::stats::quantile::{self, QuantileParams};
use crate::stats::welch::{self, WelchParams};
use crate::stats::{Alternative, Decision, Harm, StatsError, Verdict};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};
use statrs::distribution::ContinuousCDF;

/// One axis of scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Axis {
    /// Requests per interval 10, 10³, 10⁵, 10⁹ (errors 1 %): power as a function of traffic.
    Traffic,
    /// No errors in either arm at 10 … 10⁹ requests per interval: when does a clean canary pass.
    ZeroErrors,
    /// Burn-ins (msprt 2, 5, 10, 30 × sd 0.1 … 1000; quantile and count minimums).
    BurnIn,
    /// Error rate or mean drifting in both arms together.
    Drift,
    /// Margins 10 %, 5 %, 2 % (count test at high traffic, msprt).
    Margin,
}

impl Axis {
    /// Every axis, in table order.
    pub const ALL: [Axis; 5] = [
        Axis::Traffic,
        Axis::ZeroErrors,
        Axis::BurnIn,
        Axis::Drift,
        Axis::Margin,
    ];

    fn name(self) -> &'static str {
        match self {
            Axis::Traffic => "traffic",
            Axis::ZeroErrors => "zero-errors",
            Axis::BurnIn => "burn-in",
            Axis::Drift => "drift",
            Axis::Margin => "margin",
        }
    }
}

/// What the axes run. `Default` is the configuration behind the published table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AxesConfig {
    /// Simulated rollouts per row.
    pub rollouts: usize,
    /// Looks (intervals) per rollout.
    pub looks: usize,
    /// Seed of every random draw.
    pub seed: u64,
    /// Significance level of every method.
    pub alpha: f64,
    /// Axes to run.
    pub axes: Vec<Axis>,
}

impl Default for AxesConfig {
    fn default() -> Self {
        AxesConfig {
            rollouts: 1000,
            looks: 50,
            seed: 20_261_202,
            alpha: 0.05,
            axes: Axis::ALL.to_vec(),
        }
    }
}

/// One row of the axes table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AxisRow {
    /// The axis (`traffic`, `zero-errors`, `burn-in`, `drift`, `margin`).
    pub axis: String,
    /// Method name.
    pub method: String,
    /// Whether the method promises false-fail ≤ α under any number of looks.
    pub anytime_valid: bool,
    /// The data the method saw.
    pub data: String,
    /// `A/A` or the effect simulated.
    pub scenario: String,
    /// True when every Fail is a false fail.
    pub null: bool,
    /// Rollouts simulated.
    pub rollouts: usize,
    /// Fraction of rollouts failed at some look.
    pub fail_rate: f64,
    /// Monte-Carlo standard error of a rate of α over `rollouts`, sqrt(α(1−α)/n): the yardstick
    /// of the A/A checks.
    pub alpha_std_error: f64,
    /// Fraction of rollouts whose last look passed.
    pub pass_rate: f64,
    /// Fraction of rollouts passed at some look (`None` when passes are not tracked): on the
    /// margin rows whose canary sits exactly at 1 + margin, every such pass is a false pass.
    pub pass_any_rate: Option<f64>,
    /// Median first failing look (`None`: fewer than half failed).
    pub median_looks_to_fail: Option<f64>,
    /// Median first passing look (`None`: fewer than half passed, or not tracked).
    pub median_looks_to_pass: Option<f64>,
    /// The oracle's looks for this effect (see [`oracle`]); `None` on A/A rows.
    pub oracle_looks: Option<f64>,
    /// Median looks to fail over the oracle's looks.
    pub oracle_ratio: Option<f64>,
    /// Calls that returned an error.
    pub errors: usize,
    /// Every parameter of the method behind the row.
    pub settings: String,
}

/// The axes table; `Display` prints it as text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AxesReport {
    /// The configuration that produced it.
    pub config: AxesConfig,
    /// One row per (axis, method, data, scenario).
    pub rows: Vec<AxisRow>,
}

impl std::fmt::Display for AxesReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.config;
        writeln!(
            f,
            "canary-judge simulation axes: {} rollouts x {} looks, alpha = {}, seed = {}",
            c.rollouts, c.looks, c.alpha, c.seed
        )?;
        writeln!(
            f,
            "{:<11} {:<22} {:<4} {:<36} {:<22} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>5} {:>3}  settings",
            "axis",
            "method",
            "any",
            "data",
            "scenario",
            "fail",
            "pass",
            "ever p",
            "m.fail",
            "m.pass",
            "oracle",
            "x orc",
            "err"
        )?;
        writeln!(f, "{}", "-".repeat(200))?;
        let med = |m: Option<f64>| match m {
            Some(v) => format!("{v:.0}"),
            None => format!(">{}", c.looks),
        };
        for r in &self.rows {
            writeln!(
                f,
                "{:<11} {:<22} {:<4} {:<36} {:<22} {:>6.4} {:>6.4} {:>6} {:>6} {:>6} {:>6} {:>5} {:>3}  {}",
                r.axis,
                r.method,
                if r.anytime_valid { "yes" } else { "no" },
                r.data,
                r.scenario,
                r.fail_rate,
                r.pass_rate,
                opt(r.pass_any_rate, 4),
                med(r.median_looks_to_fail),
                med(r.median_looks_to_pass),
                opt(r.oracle_looks, 1),
                opt(r.oracle_ratio, 2),
                r.errors,
                r.settings
            )?;
        }
        writeln!(
            f,
            "s.e. of a rate of alpha over {} rollouts: {:.4}",
            c.rollouts,
            (c.alpha * (1.0 - c.alpha) / c.rollouts.max(1) as f64).sqrt()
        )
    }
}

/// The data of a row.
#[derive(Debug, Clone, PartialEq)]
enum Data {
    /// Error counts, traffic `requests` per interval (both arms, ±30 % load wave), canary share
    /// stepping 5/20/50 % (or a fixed half), baseline rate drifting linearly from `rate` to
    /// `rate_end`, canary rate × `ratio`.
    Errors {
        requests: f64,
        rate: f64,
        rate_end: f64,
        ratio: f64,
        fixed_half: bool,
    },
    /// Per-interval values N(mean, sd²), the mean drifting linearly by `drift` over the rollout
    /// in both arms, the canary's shifted by `shift`.
    Values { sd: f64, drift: f64, shift: f64 },
    /// The main table's A/A latency data (histograms and 100 raw samples per look and arm).
    Latency,
}

const VALUE_MEAN: f64 = 100.0;

impl Data {
    fn label(&self) -> String {
        match *self {
            Data::Errors {
                requests,
                rate,
                rate_end,
                fixed_half,
                ..
            } => {
                let share = if fixed_half { "share 50%" } else { "5/20/50%" };
                let rate = if rate_end != rate {
                    format!("{}->{}%", rate * 100.0, rate_end * 100.0)
                } else {
                    format!("{}%", rate * 100.0)
                };
                format!("errors {rate}, {requests:e} req/look, {share}")
            }
            Data::Values { sd, drift, .. } => {
                if drift != 0.0 {
                    format!("values N(100->{}, {sd})", VALUE_MEAN + drift)
                } else {
                    format!("values N(100, {sd})")
                }
            }
            Data::Latency => "latency log-normal, hist + 100/look".into(),
        }
    }

    fn rate_at(rate: f64, rate_end: f64, look: usize, looks: usize) -> f64 {
        if looks <= 1 {
            return rate;
        }
        rate + (rate_end - rate) * (look.min(looks - 1) as f64 / (looks - 1) as f64)
    }
}

/// One rollout's generated data.
#[derive(Default)]
struct Drawn {
    count_c: CountSeries,
    count_b: CountSeries,
    values_c: Vec<f64>,
    values_b: Vec<f64>,
    latency: Option<super::Rollout>,
}

fn draw(data: &Data, looks: usize, rng: &mut StdRng, sim: &SimulationConfig) -> Drawn {
    let mut d = Drawn::default();
    match *data {
        Data::Errors {
            requests,
            rate,
            rate_end,
            ratio,
            fixed_half,
        } => {
            for look in 0..looks {
                let total = (requests * load(look, looks)).round();
                let nc = if fixed_half {
                    (total / 2.0).round()
                } else {
                    (total * stepping_share(look, looks)).round()
                };
                let nb = total - nc;
                let pb = Data::rate_at(rate, rate_end, look, looks);
                let ec = binomial(rng, nc, pb * ratio);
                let eb = binomial(rng, nb, pb);
                d.count_c.events.push(ec);
                d.count_c.traffic.push(nc);
                d.count_b.events.push(eb);
                d.count_b.traffic.push(nb);
                d.values_c.push(if nc > 0.0 { ec / nc } else { 0.0 });
                d.values_b.push(if nb > 0.0 { eb / nb } else { 0.0 });
            }
        }
        Data::Values { sd, drift, shift } => {
            let Ok(noise) = Normal::new(0.0, sd) else {
                return d;
            };
            for look in 0..looks {
                let mean =
                    VALUE_MEAN + drift * look as f64 / (looks.saturating_sub(1).max(1)) as f64;
                d.values_c.push(mean + shift + noise.sample(rng));
                d.values_b.push(mean + noise.sample(rng));
            }
        }
        Data::Latency => {
            d.latency = Some(generate(sim, Family::Latency, 0, rng));
        }
    }
    d
}

/// The method of a row, with its parameters.
#[derive(Debug, Clone, PartialEq)]
enum Method {
    Counts(CountParams),
    Msprt(MsprtParams),
    /// Raw latency samples (fail only: the prefix path of the main table).
    QuantileSamples(QuantileParams),
    QuantileHistogram(QuantileParams),
    MannWhitney(MannWhitneyParams),
    Welch(WelchParams),
    /// One-sided z-test on the cumulative data, repeated at every look.
    NaiveZ,
}

impl Method {
    fn name(&self) -> String {
        match self {
            Method::Counts(c) if c.share.is_some() => "count-seq (fixed share)".into(),
            Method::Counts(_) => "count-seq (varying)".into(),
            Method::Msprt(_) => "msprt".into(),
            Method::QuantileSamples(_) => "quantile-seq (samples)".into(),
            Method::QuantileHistogram(_) => "quantile-seq (hist)".into(),
            Method::MannWhitney(_) => "mann-whitney every look".into(),
            Method::Welch(_) => "welch every look".into(),
            Method::NaiveZ => "naive z every look".into(),
        }
    }

    fn anytime_valid(&self) -> bool {
        !matches!(
            self,
            Method::MannWhitney(_) | Method::Welch(_) | Method::NaiveZ
        )
    }

    fn settings(&self) -> String {
        match self {
            Method::Counts(c) => count_settings(c),
            Method::Msprt(m) => msprt_settings(m),
            Method::QuantileSamples(q) => quantile_settings(q, false),
            Method::QuantileHistogram(q) => quantile_settings(q, true),
            Method::MannWhitney(w) => format!(
                "strict rule, one-sided, margin {}, fail_margin {}, min_samples {}",
                w.margin,
                w.fail_margin.unwrap_or(w.margin),
                w.min_samples
            ),
            Method::Welch(w) => format!(
                "one-sided, margin {}, fail_margin {}, min_samples {}",
                w.margin,
                w.fail_margin.unwrap_or(w.margin),
                w.min_samples
            ),
            Method::NaiveZ => "one-sided z at alpha on cumulative data, no correction".into(),
        }
    }

    /// The null of the fail rule as the oracle sees it: rate ratio 1 + fail_margin for counts,
    /// the band fail_margin × mean for values.
    fn fail_margin(&self) -> f64 {
        match self {
            Method::Counts(c) => c.fail_margin.unwrap_or(c.margin),
            Method::Msprt(m) => m.fail_margin.unwrap_or(m.margin),
            Method::QuantileSamples(q) | Method::QuantileHistogram(q) => {
                q.fail_margin.unwrap_or(q.margin)
            }
            Method::MannWhitney(w) => w.fail_margin.unwrap_or(w.margin),
            Method::Welch(w) => w.fail_margin.unwrap_or(w.margin),
            Method::NaiveZ => 0.0,
        }
    }
}

/// One row to simulate.
struct Case {
    axis: Axis,
    method: Method,
    data: Data,
    scenario: String,
    null: bool,
    /// Whether the first passing look is tracked (a call on every prefix).
    track_pass: bool,
}

fn counts_params(alpha: f64, margin: Option<f64>, fail_margin: Option<f64>) -> CountParams {
    let d = CountParams::default();
    CountParams {
        alpha,
        margin: margin.unwrap_or(d.margin),
        fail_margin,
        ..d
    }
}

fn msprt_params(alpha: f64, burn_in: usize, margin: f64, fail_margin: Option<f64>) -> MsprtParams {
    MsprtParams {
        alpha,
        burn_in,
        margin,
        fail_margin,
        harm: Harm::Increase,
        ..MsprtParams::default()
    }
}

fn mw_params(alpha: f64) -> MannWhitneyParams {
    MannWhitneyParams {
        alternative: Alternative::Greater,
        alpha,
        margin: 0.0,
        harm: Harm::Increase,
        ..MannWhitneyParams::default()
    }
}

fn welch_params(alpha: f64) -> WelchParams {
    WelchParams {
        alternative: Alternative::Greater,
        alpha,
        margin: 0.0,
        harm: Harm::Increase,
        ..WelchParams::default()
    }
}

fn errors(requests: f64, rate: f64, ratio: f64, fixed_half: bool) -> Data {
    Data::Errors {
        requests,
        rate,
        rate_end: rate,
        ratio,
        fixed_half,
    }
}

fn effect_label(ratio: f64) -> String {
    if ratio == 1.0 {
        "A/A".into()
    } else {
        format!("error rate x{ratio}")
    }
}

/// Every row of the configured axes, in table order.
fn cases(cfg: &AxesConfig) -> Vec<Case> {
    let a = cfg.alpha;
    let mut out = Vec::new();
    let mut push = |axis, method, data, scenario: String, null, track_pass| {
        out.push(Case {
            axis,
            method,
            data,
            scenario,
            null,
            track_pass,
        })
    };
    for &axis in &cfg.axes {
        match axis {
            Axis::Traffic => {
                // Fail on any shown increase (fail_margin 0), so power is the test's own.
                for requests in [10.0, 1e3, 1e5, 1e9] {
                    for ratio in [1.0, 1.2, 2.0] {
                        for fixed in [false, true] {
                            let mut p = counts_params(a, None, Some(0.0));
                            if fixed {
                                p.share = Some(0.5);
                            }
                            push(
                                axis,
                                Method::Counts(p),
                                errors(requests, 0.01, ratio, fixed),
                                effect_label(ratio),
                                ratio == 1.0,
                                true,
                            );
                        }
                    }
                }
            }
            Axis::ZeroErrors => {
                for requests in [10.0, 1e3, 1e5, 1e9] {
                    for fixed in [false, true] {
                        let mut p = counts_params(a, None, None);
                        if fixed {
                            p.share = Some(0.5);
                        }
                        push(
                            axis,
                            Method::Counts(p),
                            errors(requests, 0.0, 1.0, fixed),
                            "A/A, no errors".into(),
                            true,
                            true,
                        );
                    }
                }
            }
            Axis::BurnIn => {
                for burn in [2, 5, 10, 30] {
                    for sd in [0.1, 1.0, 10.0, 1000.0] {
                        for shift_sd in [0.0, 0.7] {
                            push(
                                axis,
                                Method::Msprt(msprt_params(a, burn, 0.1, Some(0.0))),
                                Data::Values {
                                    sd,
                                    drift: 0.0,
                                    shift: shift_sd * sd,
                                },
                                if shift_sd == 0.0 {
                                    "A/A".into()
                                } else {
                                    format!("mean +{shift_sd} sd")
                                },
                                shift_sd == 0.0,
                                false,
                            );
                        }
                    }
                }
                for min_samples in [1, 10, 30] {
                    let q = QuantileParams {
                        alpha: a,
                        quantiles: vec![0.5, 0.9],
                        min_samples,
                        fail_margin: Some(0.0),
                        ..QuantileParams::default()
                    };
                    push(
                        axis,
                        Method::QuantileSamples(q.clone()),
                        Data::Latency,
                        "A/A".into(),
                        true,
                        false,
                    );
                    push(
                        axis,
                        Method::QuantileHistogram(q),
                        Data::Latency,
                        "A/A".into(),
                        true,
                        false,
                    );
                }
                for min_requests in [1.0, 100.0] {
                    for fixed in [false, true] {
                        let mut p = counts_params(a, None, Some(0.0));
                        p.min_requests = min_requests;
                        if fixed {
                            p.share = Some(0.5);
                        }
                        push(
                            axis,
                            Method::Counts(p),
                            errors(1e3, 0.01, 1.0, fixed),
                            "A/A".into(),
                            true,
                            false,
                        );
                    }
                }
            }
            Axis::Drift => {
                for ratio in [1.0, 2.0] {
                    let data = |fixed_half| Data::Errors {
                        requests: 2000.0,
                        rate: 0.005,
                        rate_end: 0.02,
                        ratio,
                        fixed_half,
                    };
                    for fixed in [false, true] {
                        let mut p = counts_params(a, None, Some(0.0));
                        if fixed {
                            p.share = Some(0.5);
                        }
                        push(
                            axis,
                            Method::Counts(p),
                            data(fixed),
                            effect_label(ratio),
                            ratio == 1.0,
                            false,
                        );
                    }
                    for m in [
                        Method::MannWhitney(mw_params(a)),
                        Method::Welch(welch_params(a)),
                        Method::NaiveZ,
                    ] {
                        push(
                            axis,
                            m,
                            data(false),
                            effect_label(ratio),
                            ratio == 1.0,
                            false,
                        );
                    }
                }
                for shift_sd in [0.0, 0.7] {
                    let data = Data::Values {
                        sd: 10.0,
                        drift: 50.0,
                        shift: shift_sd * 10.0,
                    };
                    let scenario = if shift_sd == 0.0 {
                        "A/A".to_string()
                    } else {
                        format!("mean +{shift_sd} sd")
                    };
                    for m in [
                        Method::Msprt(msprt_params(a, 30, 0.1, Some(0.0))),
                        Method::MannWhitney(mw_params(a)),
                        Method::Welch(welch_params(a)),
                    ] {
                        push(
                            axis,
                            m,
                            data.clone(),
                            scenario.clone(),
                            shift_sd == 0.0,
                            false,
                        );
                    }
                }
            }
            Axis::Margin => {
                // fail_margin = margin (the default): pass and fail are mirror images around
                // 1 + margin, so a canary exactly at 1 + margin must pass at most α of the time.
                for margin in [0.1, 0.05, 0.02] {
                    for requests in [1e5, 1e9] {
                        for ratio in [1.0, 1.0 + margin] {
                            push(
                                axis,
                                Method::Counts(counts_params(a, Some(margin), None)),
                                errors(requests, 0.01, ratio, false),
                                if ratio == 1.0 {
                                    "A/A".into()
                                } else {
                                    format!("ratio 1+margin ({ratio})")
                                },
                                true,
                                true,
                            );
                        }
                    }
                }
                for margin in [0.1, 0.05, 0.02] {
                    push(
                        axis,
                        Method::Msprt(msprt_params(a, 30, margin, None)),
                        Data::Values {
                            sd: 10.0,
                            drift: 0.0,
                            shift: 0.0,
                        },
                        "A/A".into(),
                        true,
                        true,
                    );
                }
            }
        }
    }
    out
}

/// FNV-1a of the data and scenario text: the seed of a row's data (stable when rows are added).
fn text_seed(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Verdict of `method` on the first `k` looks of `d`.
fn judge(method: &Method, d: &Drawn, k: usize) -> Result<Decision, StatsError> {
    let cut = |s: &CountSeries| CountSeries {
        events: s.events[..k].to_vec(),
        traffic: s.traffic[..k].to_vec(),
    };
    match method {
        Method::Counts(p) => counts::compare(&cut(&d.count_c), &cut(&d.count_b), p),
        Method::Msprt(p) => msprt::compare(&d.values_c[..k], &d.values_b[..k], p),
        Method::MannWhitney(p) => mann_whitney::compare(&d.values_c[..k], &d.values_b[..k], p),
        Method::Welch(p) => welch::compare(&d.values_c[..k], &d.values_b[..k], p),
        Method::QuantileHistogram(p) => {
            let Some(l) = &d.latency else {
                return Err(StatsError::InvalidParameter {
                    name: "data",
                    why: "no latency data".into(),
                });
            };
            let h = |h: &quantile::HistogramSeries| quantile::HistogramSeries {
                bounds: h.bounds.clone(),
                intervals: h.intervals[..k].to_vec(),
            };
            quantile::compare_histograms(&h(&l.hist_c), &h(&l.hist_b), p)
        }
        Method::QuantileSamples(_) | Method::NaiveZ => Err(StatsError::InvalidParameter {
            name: "method",
            why: "judged by its own path".into(),
        }),
    }
}

/// (first failing look, first passing look, last look passed, errors) of one rollout.
fn run_rollout(
    case: &Case,
    d: &Drawn,
    looks: usize,
    z_crit: f64,
    sim: &SimulationConfig,
) -> (Option<usize>, Option<usize>, bool, usize) {
    match &case.method {
        Method::QuantileSamples(q) => {
            let first = d
                .latency
                .as_ref()
                .and_then(|l| samples_first_fail(l, q, sim));
            return (first, None, false, 0);
        }
        Method::NaiveZ => {
            return (naive_z(d, looks, z_crit), None, false, 0);
        }
        _ => {}
    }
    let sticky = matches!(
        case.method,
        Method::Counts(_) | Method::Msprt(_) | Method::QuantileHistogram(_)
    );
    if sticky && !case.track_pass {
        // One call on the whole series: the sticky first failing look is in its extras.
        return match judge(&case.method, d, looks) {
            Ok(dec) => {
                let first = (dec.verdict == Verdict::Fail).then(|| {
                    dec.extra
                        .get("first_fail_look")
                        .map_or(looks, |v| v.round() as usize)
                });
                (first, None, dec.verdict == Verdict::Pass, 0)
            }
            Err(_) => (None, None, false, 1),
        };
    }
    let (mut first_fail, mut first_pass, mut last_pass, mut errors) = (None, None, false, 0);
    for k in 1..=looks {
        match judge(&case.method, d, k) {
            Ok(dec) => {
                last_pass = dec.verdict == Verdict::Pass;
                if last_pass && first_pass.is_none() {
                    first_pass = Some(k);
                }
                if dec.verdict == Verdict::Fail && first_fail.is_none() {
                    first_fail = Some(k);
                    if !case.track_pass {
                        break;
                    }
                }
            }
            Err(_) => errors += 1,
        }
    }
    (first_fail, first_pass, last_pass, errors)
}

/// The main table's naive z-test on cumulative counts or values.
fn naive_z(d: &Drawn, looks: usize, z_crit: f64) -> Option<usize> {
    let counts = !d.count_c.events.is_empty();
    let (mut ec, mut nc, mut eb, mut nb) = (0.0, 0.0, 0.0, 0.0);
    let (mut sx, mut sxx, mut sy, mut syy) = (0.0, 0.0, 0.0, 0.0);
    for k in 1..=looks.min(d.values_c.len()) {
        let z = if counts {
            ec += d.count_c.events[k - 1];
            nc += d.count_c.traffic[k - 1];
            eb += d.count_b.events[k - 1];
            nb += d.count_b.traffic[k - 1];
            let pooled = (ec + eb) / (nc + nb);
            (ec / nc - eb / nb) / (pooled * (1.0 - pooled) * (1.0 / nc + 1.0 / nb)).sqrt()
        } else {
            let (x, y) = (d.values_c[k - 1], d.values_b[k - 1]);
            sx += x;
            sxx += x * x;
            sy += y;
            syy += y * y;
            if k < 2 {
                continue;
            }
            let n = k as f64;
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

/// Oracle looks of a case (see [`oracle`]); `None` on null rows.
fn case_oracle(case: &Case, cfg: &AxesConfig) -> Option<f64> {
    if case.null {
        return None;
    }
    let looks = cfg.looks;
    let fm = case.method.fail_margin();
    match case.data {
        Data::Errors {
            requests,
            rate,
            rate_end,
            ratio,
            fixed_half,
        } => oracle::oracle_looks(cfg.alpha, 100 * looks, |k| {
            let total = (requests * load(k, looks)).round();
            let nc = if fixed_half {
                (total / 2.0).round()
            } else {
                (total * stepping_share(k, looks)).round()
            };
            let nb = total - nc;
            let pb = Data::rate_at(rate, rate_end, k, looks);
            vec![Cell::counts(
                nc * pb * ratio + nb * pb,
                nc / total,
                1.0 + fm,
                ratio,
            )]
        }),
        Data::Values { sd, shift, .. } => {
            let band = fm * VALUE_MEAN;
            oracle::oracle_looks(cfg.alpha, 100 * looks, |_| {
                vec![Cell::means(1.0, shift - band, sd * sd, sd * sd)]
            })
        }
        Data::Latency => None,
    }
}

/// Runs every row of the configured axes. Deterministic for a given config.
pub fn run(cfg: &AxesConfig) -> AxesReport {
    let looks = cfg.looks.max(1);
    let z_crit = statrs::distribution::Normal::standard().inverse_cdf(1.0 - cfg.alpha);
    let sim = SimulationConfig {
        looks,
        alpha: cfg.alpha,
        ..SimulationConfig::default()
    };
    let n = cfg.rollouts;
    let alpha_se = (cfg.alpha * (1.0 - cfg.alpha) / n.max(1) as f64).sqrt();
    let mut rows = Vec::new();
    for case in cases(cfg) {
        let key = format!("{}|{}", case.data.label(), case.scenario);
        let base = mix(cfg.seed ^ text_seed(&key));
        let (mut fails, mut passes, mut pass_last, mut errors) = (Vec::new(), Vec::new(), 0, 0);
        for rollout in 0..n {
            let mut rng = StdRng::seed_from_u64(mix(base ^ rollout as u64));
            let d = draw(&case.data, looks, &mut rng, &sim);
            let (f, p, last, e) = run_rollout(&case, &d, looks, z_crit, &sim);
            fails.push(f);
            passes.push(p);
            pass_last += usize::from(last);
            errors += e;
        }
        let median = |v: &[Option<usize>]| {
            let mut s: Vec<usize> = v.iter().map(|f| f.unwrap_or(usize::MAX)).collect();
            s.sort_unstable();
            s.get(s.len().saturating_sub(1) / 2)
                .filter(|&&x| x != usize::MAX)
                .map(|&x| x as f64)
        };
        let median_fail = median(&fails);
        let oracle_looks = case_oracle(&case, cfg);
        rows.push(AxisRow {
            axis: case.axis.name().into(),
            method: case.method.name(),
            anytime_valid: case.method.anytime_valid(),
            data: case.data.label(),
            scenario: case.scenario.clone(),
            null: case.null,
            rollouts: n,
            fail_rate: fails.iter().filter(|f| f.is_some()).count() as f64 / n.max(1) as f64,
            alpha_std_error: alpha_se,
            pass_rate: pass_last as f64 / n.max(1) as f64,
            pass_any_rate: case
                .track_pass
                .then(|| passes.iter().filter(|p| p.is_some()).count() as f64 / n.max(1) as f64),
            median_looks_to_fail: median_fail,
            median_looks_to_pass: if case.track_pass {
                median(&passes)
            } else {
                None
            },
            oracle_looks,
            oracle_ratio: ratio(median_fail, oracle_looks),
            errors,
            settings: case.method.settings(),
        });
    }
    AxesReport {
        config: cfg.clone(),
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_axes_report() {
        let cfg = AxesConfig {
            rollouts: 3,
            looks: 8,
            axes: vec![Axis::Traffic, Axis::Margin],
            ..AxesConfig::default()
        };
        let a = run(&cfg);
        assert_eq!(a, run(&cfg));
        assert!(a.rows.iter().any(|r| r.oracle_looks.is_some()));
    }

    #[test]
    fn data_depend_on_the_description_not_the_row() {
        assert_ne!(text_seed("a|A/A"), text_seed("b|A/A"));
        assert_eq!(text_seed("a|A/A"), text_seed("a|A/A"));
    }
}
