//! Engine and scoring: config parsing and its errors, NaN and no-data handling, Kayenta-style
//! scores (critical, muted, no-data, weights) and the statistical mode's α split, plus the
//! bundled examples end to end.

use canary_judge::analysis::config::{ScoringConfig, ScoringMode};
use canary_judge::analysis::scoring::aggregate;
use canary_judge::analysis::{
    AnalysisConfig, ArmData, ConfigError, SeriesSet, evaluate, load_config_file, load_series,
};
use canary_judge::analysis::{MetricOutcome, MetricReport};
use canary_judge::stats::{Decision, Verdict};
use std::path::Path;

fn report(name: &str, group: &str, weight: f64, verdict: Verdict) -> MetricReport {
    MetricReport {
        name: name.into(),
        method: "welch".into(),
        group: group.into(),
        weight,
        critical: false,
        muted: false,
        must_have_data: false,
        outcome: match verdict {
            Verdict::Pass => MetricOutcome::Pass,
            Verdict::Fail => MetricOutcome::Fail,
            Verdict::Inconclusive => MetricOutcome::Inconclusive,
        },
        alpha: Some(0.05),
        decision: Decision::new("welch", verdict, "test"),
    }
}

fn nodata(name: &str) -> MetricReport {
    let mut r = report(name, "default", 1.0, Verdict::Inconclusive);
    r.outcome = MetricOutcome::NoData;
    r
}

fn kayenta() -> ScoringConfig {
    ScoringConfig::default()
}

#[test]
fn all_pass_scores_100_and_passes() {
    let s = aggregate(
        &[
            report("a", "default", 1.0, Verdict::Pass),
            report("b", "default", 1.0, Verdict::Pass),
        ],
        &kayenta(),
    );
    assert_eq!(s.score, Some(100.0));
    assert_eq!(s.verdict, Verdict::Pass);
}

#[test]
fn critical_fail_forces_score_zero() {
    let mut bad = report("errors", "default", 1.0, Verdict::Fail);
    bad.critical = true;
    let metrics: Vec<MetricReport> = (0..9)
        .map(|i| report(&format!("m{i}"), "default", 1.0, Verdict::Pass))
        .chain([bad])
        .collect();
    let s = aggregate(&metrics, &kayenta());
    assert_eq!(s.score, Some(0.0));
    assert_eq!(s.verdict, Verdict::Fail);
    assert!(
        s.reason.contains("critical metric `errors` failed"),
        "{}",
        s.reason
    );
    // Without the critical flag the same results score 90 and pass.
    let mut plain = metrics.clone();
    plain[9].critical = false;
    let s = aggregate(&plain, &kayenta());
    assert_eq!(s.score, Some(90.0));
    assert_eq!(s.verdict, Verdict::Pass);
}

#[test]
fn muted_metrics_are_excluded_from_the_score() {
    let mut muted = report("noisy", "default", 1.0, Verdict::Fail);
    muted.muted = true;
    muted.critical = true; // muted wins: not even a critical failure counts
    let s = aggregate(
        &[report("a", "default", 1.0, Verdict::Pass), muted.clone()],
        &kayenta(),
    );
    assert_eq!(s.score, Some(100.0));
    assert_eq!(s.verdict, Verdict::Pass);
    muted.muted = false;
    muted.critical = false;
    let s = aggregate(
        &[report("a", "default", 1.0, Verdict::Pass), muted],
        &kayenta(),
    );
    assert_eq!(s.score, Some(50.0));
    assert_eq!(s.verdict, Verdict::Inconclusive);
}

#[test]
fn half_or_more_nodata_is_inconclusive_or_zero_with_kayentas_rule() {
    let half_missing = [
        report("a", "default", 1.0, Verdict::Pass),
        nodata("b"),
        nodata("c"),
        report("d", "default", 1.0, Verdict::Pass),
    ];
    // Default: no data is not evidence of harm, so the run is inconclusive with no score.
    let s = aggregate(&half_missing, &kayenta());
    assert_eq!(s.score, None);
    assert_eq!(s.verdict, Verdict::Inconclusive);
    assert!(s.reason.contains("2 of 4"), "{}", s.reason);
    // Kayenta's NODATA_THRESHOLD on request: score 0, fail.
    let mut strict = kayenta();
    strict.fail_on_mostly_no_data = true;
    let s = aggregate(&half_missing, &strict);
    assert_eq!(s.score, Some(0.0));
    assert_eq!(s.verdict, Verdict::Fail);
    assert!(s.reason.contains("2 of 4"), "{}", s.reason);
    // One in three is below the threshold: the no-data metric is left out of the denominator.
    let s = aggregate(
        &[
            report("a", "default", 1.0, Verdict::Pass),
            nodata("b"),
            report("d", "default", 1.0, Verdict::Pass),
        ],
        &kayenta(),
    );
    assert_eq!(s.score, Some(100.0));
}

#[test]
fn metric_and_group_weights() {
    let mut cfg = kayenta();
    cfg.group_weights.insert("errors".into(), 60.0);
    // errors: pass (w 1) + fail (w 3) → 25; latency: all pass → 100 with the remaining 40.
    let metrics = [
        report("e1", "errors", 1.0, Verdict::Pass),
        report("e2", "errors", 3.0, Verdict::Fail),
        report("l1", "latency", 1.0, Verdict::Pass),
    ];
    let s = aggregate(&metrics, &cfg);
    assert_eq!(s.score, Some(55.0));
    assert_eq!(s.verdict, Verdict::Inconclusive);
    let latency = s.groups.iter().find(|g| g.name == "latency").unwrap();
    assert_eq!(latency.weight, 40.0);
    // Two unweighted groups share what is left equally.
    let mut cfg = kayenta();
    cfg.group_weights.insert("errors".into(), 50.0);
    let metrics = [
        report("e1", "errors", 1.0, Verdict::Pass),
        report("l1", "latency", 1.0, Verdict::Fail),
        report("c1", "cpu", 1.0, Verdict::Pass),
    ];
    let s = aggregate(&metrics, &cfg);
    assert_eq!(s.score, Some(75.0));
    assert_eq!(s.verdict, Verdict::Pass);
}

#[test]
fn inconclusive_left_out_unless_must_have_data() {
    let mut inc = report("b", "default", 1.0, Verdict::Inconclusive);
    let s = aggregate(
        &[report("a", "default", 1.0, Verdict::Pass), inc.clone()],
        &kayenta(),
    );
    assert_eq!(s.score, Some(100.0));
    inc.must_have_data = true;
    let s = aggregate(
        &[report("a", "default", 1.0, Verdict::Pass), inc],
        &kayenta(),
    );
    assert_eq!(s.score, Some(50.0));
}

#[test]
fn nothing_decided_is_inconclusive_not_a_free_pass() {
    let s = aggregate(
        &[
            report("a", "default", 1.0, Verdict::Inconclusive),
            report("b", "default", 1.0, Verdict::Inconclusive),
        ],
        &kayenta(),
    );
    assert_eq!(s.score, None);
    assert_eq!(s.verdict, Verdict::Inconclusive);
}

#[test]
fn critical_inconclusive_blocks_a_pass() {
    let mut c = report("c", "default", 1.0, Verdict::Inconclusive);
    c.critical = true;
    let s = aggregate(&[report("a", "default", 1.0, Verdict::Pass), c], &kayenta());
    assert_eq!(s.score, Some(100.0));
    assert_eq!(s.verdict, Verdict::Inconclusive);
}

#[test]
fn statistical_mode_verdicts() {
    let cfg = ScoringConfig {
        mode: ScoringMode::Statistical,
        ..Default::default()
    };
    let mut crit = report("errors", "default", 1.0, Verdict::Pass);
    crit.critical = true;
    let other = report("latency", "default", 1.0, Verdict::Pass);
    let s = aggregate(&[crit.clone(), other.clone()], &cfg);
    assert_eq!(s.verdict, Verdict::Pass);
    // The critical metric is not part of the score in statistical mode.
    let mut failing_other = other.clone();
    failing_other.decision.verdict = Verdict::Fail;
    let s = aggregate(&[crit.clone(), failing_other], &cfg);
    assert_eq!(s.score, Some(0.0));
    assert_eq!(s.verdict, Verdict::Fail);
    // Critical still open: no pass even with a perfect score.
    crit.decision.verdict = Verdict::Inconclusive;
    let s = aggregate(&[crit.clone(), other.clone()], &cfg);
    assert_eq!(s.score, Some(100.0));
    assert_eq!(s.verdict, Verdict::Inconclusive);
    // Critical fail: fail at once.
    crit.decision.verdict = Verdict::Fail;
    let s = aggregate(&[crit, other], &cfg);
    assert_eq!(s.verdict, Verdict::Fail);
    assert_eq!(s.score, Some(0.0));
}

const SPLIT: &str = r#"
scoring: {mode: statistical, alpha: 0.04}
metrics:
  - name: small
    method: welch
    weight: 1
    alpha: 0.5
    canary: {values: [1, 2, 3]}
    baseline: {values: [1, 2, 3]}
  - name: big
    method: msprt
    weight: 3
    canary: {values: [1, 2, 3]}
    baseline: {values: [1, 2, 3]}
  - name: bound
    method: threshold
    weight: 5
    params: {max: 10}
    canary: {values: [1, 2, 3]}
  - name: quiet
    method: mann-whitney
    muted: true
    alpha: 0.2
    canary: {values: [1, 2, 3]}
    baseline: {values: [1, 2, 3]}
"#;

#[test]
fn statistical_mode_splits_alpha_by_weight() {
    let cfg = AnalysisConfig::from_yaml_str(SPLIT).unwrap();
    let r = evaluate(&cfg, &load_series(&cfg, Path::new(".")).unwrap());
    let alpha = |n: &str| r.metrics.iter().find(|m| m.name == n).unwrap().alpha;
    // Thresholds have no α and muted metrics are outside the family: 0.04 · {1/4, 3/4}.
    assert!((alpha("small").unwrap() - 0.01).abs() < 1e-15);
    assert!((alpha("big").unwrap() - 0.03).abs() < 1e-15);
    assert_eq!(alpha("bound"), None);
    assert_eq!(alpha("quiet"), Some(0.2));
    // In Kayenta mode each metric keeps its own α.
    let cfg = AnalysisConfig::from_yaml_str(&SPLIT.replace("mode: statistical", "mode: kayenta"))
        .unwrap();
    let r = evaluate(&cfg, &load_series(&cfg, Path::new(".")).unwrap());
    assert_eq!(r.metrics[0].alpha, Some(0.5));
}

fn welch_config(extra: &str) -> AnalysisConfig {
    AnalysisConfig::from_yaml_str(&format!(
        "metrics:\n  - name: cpu\n    method: welch\n{extra}    canary: {{values: [1]}}\n    baseline: {{values: [1]}}\n"
    ))
    .unwrap()
}

fn noisy(center: f64, n: usize) -> Vec<f64> {
    // Deterministic spread around `center` (sd about 0.03·center).
    (0..n)
        .map(|i| center * (1.0 + 0.05 * ((i as f64 * 2.399).sin())))
        .collect()
}

#[test]
fn no_data_is_inconclusive_by_default_and_fails_with_must_have_data() {
    let data = SeriesSet::default().with(
        "cpu",
        ArmData::values(vec![]),
        Some(ArmData::values(noisy(1.0, 20))),
    );
    let r = evaluate(&welch_config(""), &data);
    assert_eq!(r.metrics[0].outcome, MetricOutcome::NoData);
    assert_eq!(r.metrics[0].decision.verdict, Verdict::Inconclusive);
    assert!(
        r.metrics[0]
            .decision
            .reason
            .contains("canary series is empty")
    );
    // One metric, all of it without data: the ≥ 50% rule makes the run inconclusive.
    assert_eq!(r.score, None);
    assert_eq!(r.verdict, Verdict::Inconclusive);

    let r = evaluate(&welch_config("    must_have_data: true\n"), &data);
    assert_eq!(r.metrics[0].outcome, MetricOutcome::NoData);
    assert_eq!(r.metrics[0].decision.verdict, Verdict::Fail);
    assert_eq!(r.verdict, Verdict::Fail);

    // A metric missing from the series set altogether is no data as well.
    let r = evaluate(&welch_config(""), &SeriesSet::default());
    assert_eq!(r.metrics[0].outcome, MetricOutcome::NoData);
}

#[test]
fn nan_strategy_remove_and_replace() {
    let mut canary = noisy(1.0, 20);
    canary[3] = f64::NAN;
    canary[7] = f64::INFINITY;
    let data = SeriesSet::default().with(
        "cpu",
        ArmData::values(canary),
        Some(ArmData::values(noisy(1.0, 20))),
    );
    let r = evaluate(&welch_config(""), &data);
    assert_eq!(r.metrics[0].decision.n_canary, 18);
    let r = evaluate(&welch_config("    nan_strategy: {replace: 0}\n"), &data);
    assert_eq!(r.metrics[0].decision.n_canary, 20);
    let e = AnalysisConfig::from_yaml_str(
        "metrics:\n  - name: a\n    method: welch\n    nan_strategy: {replase: 0}\n    canary: {values: [1]}\n    baseline: {values: [1]}\n",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("nan_strategy") && e.contains("`replase`"), "{e}");
}

#[test]
fn engine_runs_real_statistics() {
    // Same distribution: Welch's TOST shows equivalence within ±10%.
    let data = SeriesSet::default().with(
        "cpu",
        ArmData::values(noisy(1.0, 40)),
        Some(ArmData::values(noisy(1.0, 40))),
    );
    let r = evaluate(&welch_config(""), &data);
    assert_eq!(
        r.metrics[0].outcome,
        MetricOutcome::Pass,
        "{:?}",
        r.metrics[0]
    );
    assert_eq!(r.verdict, Verdict::Pass);
    assert_eq!(r.score, Some(100.0));
    // Canary 30% higher: harm shown.
    let data = SeriesSet::default().with(
        "cpu",
        ArmData::values(noisy(1.3, 40)),
        Some(ArmData::values(noisy(1.0, 40))),
    );
    let r = evaluate(&welch_config(""), &data);
    assert_eq!(
        r.metrics[0].outcome,
        MetricOutcome::Fail,
        "{:?}",
        r.metrics[0]
    );
    assert_eq!(r.verdict, Verdict::Fail);
    // The report serializes with the fields front doors rely on.
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["verdict"], "fail");
    assert_eq!(json["metrics"][0]["decision"]["method"], "welch");
    assert_eq!(json["metrics"][0]["outcome"], "fail");
}

#[test]
fn data_of_the_wrong_shape_is_an_error_outcome() {
    let data = SeriesSet::default().with(
        "cpu",
        ArmData::Counts(canary_judge::stats::counts::CountSeries {
            events: vec![1.0],
            traffic: vec![100.0],
        }),
        Some(ArmData::values(vec![1.0])),
    );
    let r = evaluate(&welch_config(""), &data);
    assert_eq!(r.metrics[0].outcome, MetricOutcome::Error);
    assert_eq!(r.metrics[0].decision.verdict, Verdict::Inconclusive);
}

fn config_error(yaml: &str) -> String {
    match AnalysisConfig::from_yaml_str(yaml) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("config should have been rejected:\n{yaml}"),
    }
}

#[test]
fn config_errors_name_the_field() {
    let e = config_error(
        "metrics:\n  - name: a\n    method: welch\n    alpah: 0.1\n    canary: {values: [1]}\n    baseline: {values: [1]}\n",
    );
    assert!(
        e.contains("metrics[0]") && e.contains("unknown field `alpah`") && e.contains("line 4"),
        "{e}"
    );
    let e = config_error("metrics:\n  - method: welch\n    canary: {values: [1]}\n");
    assert!(e.contains("missing field `name`"), "{e}");
    let e = config_error(
        "metrics:\n  - name: a\n    method: welch\n    weight: heavy\n    canary: {values: [1]}\n    baseline: {values: [1]}\n",
    );
    assert!(
        e.contains("metrics[0].weight") && e.contains("invalid type"),
        "{e}"
    );
    let e = config_error(
        "metrics:\n  - name: a\n    method: welch\n    params: {confidance: 0.9}\n    canary: {values: [1]}\n    baseline: {values: [1]}\n",
    );
    assert!(
        e.contains("metrics[0] (a).params") && e.contains("`confidance`"),
        "{e}"
    );
    let e = config_error("metrics:\n  - name: a\n    method: t-test\n    canary: {values: [1]}\n");
    assert!(e.contains("unknown variant `t-test`"), "{e}");
    let e = config_error("scoring: {pas: 80}\nmetrics: []\n");
    assert!(e.contains("scoring") && e.contains("`pas`"), "{e}");
}

#[test]
fn config_semantic_errors() {
    let base = "    canary: {values: [1]}\n    baseline: {values: [1]}\n";
    let cases = [
        (
            "    method: welch\n    alpha: 0.1\n    params: {alpha: 0.2}\n",
            "not both",
        ),
        (
            "    method: count-sequential\n    harm: decrease\n",
            "has no `harm`",
        ),
        ("    method: welch\n    alpha: 1.5\n", "between 0 and 1"),
        ("    method: welch\n    weight: -1\n", "non-negative"),
        (
            "    method: count-sequential\n",
            "count-sequential takes `events` and `traffic`",
        ),
        (
            "    method: welch\n    must_have_data: true\n    no_data: pass\n",
            "conflicts",
        ),
    ];
    for (body, want) in cases {
        let e = config_error(&format!("metrics:\n  - name: m\n{body}{base}"));
        assert!(e.contains(want), "{body}: {e}");
    }
    let e = config_error("metrics:\n  - name: m\n    method: welch\n    canary: {values: [1]}\n");
    assert!(
        e.contains("metrics[0] (m).baseline") && e.contains("needs a baseline"),
        "{e}"
    );
    let e = config_error(&format!(
        "metrics:\n  - name: m\n    method: welch\n{base}  - name: m\n    method: welch\n{base}"
    ));
    assert!(e.contains("used twice"), "{e}");
    let e = config_error(&format!(
        "scoring: {{group_weights: {{erors: 10}}}}\nmetrics:\n  - name: m\n    method: welch\n    group: errors\n{base}"
    ));
    assert!(e.contains("group_weights.erors"), "{e}");
    let e = config_error(&format!(
        "scoring: {{pass: 40, marginal: 60}}\nmetrics:\n  - name: m\n    method: welch\n{base}"
    ));
    assert!(e.contains("scoring.marginal"), "{e}");
}

#[test]
fn json_config_and_errors() {
    let ok = r#"{"metrics":[{"name":"cpu","method":"welch","canary":{"values":[1,2]},"baseline":{"file":"b.csv"}}]}"#;
    let cfg = AnalysisConfig::from_json_str(ok).unwrap();
    assert_eq!(cfg.metrics[0].name, "cpu");
    let e = AnalysisConfig::from_json_str(&ok.replace("\"name\"", "\"nmae\"")).unwrap_err();
    assert!(matches!(e, ConfigError::Syntax(_)));
    assert!(
        e.to_string().contains("`nmae`") && e.to_string().contains("metrics[0]"),
        "{e}"
    );
    // Also embeddable in another document through serde (validation runs there too).
    let v: serde_json::Value = serde_json::from_str(ok).unwrap();
    let embedded: AnalysisConfig = serde_json::from_value(v).unwrap();
    assert_eq!(embedded, cfg);
}

#[test]
fn query_sources_report_that_prometheus_is_not_built() {
    let cfg = AnalysisConfig::from_yaml_str(
        "metrics:\n  - name: m\n    method: welch\n    canary: {query: 'rate(x[1m])'}\n    baseline: {values: [1]}\n",
    )
    .unwrap();
    let e = load_series(&cfg, Path::new(".")).unwrap_err();
    assert!(e.is_data_source());
    assert!(
        e.to_string()
            .contains("Prometheus source not available in this build yet"),
        "{e}"
    );
}

fn example(name: &str) -> canary_judge::analysis::AnalysisReport {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name);
    let (cfg, base) = load_config_file(&path).unwrap();
    let data = load_series(&cfg, &base).unwrap();
    evaluate(&cfg, &data)
}

#[test]
fn bundled_examples_give_their_documented_verdicts() {
    let healthy = example("checkout.yaml");
    assert_eq!(healthy.verdict, Verdict::Pass, "{healthy:#?}");
    assert!(
        healthy
            .metrics
            .iter()
            .all(|m| m.outcome != MetricOutcome::Error)
    );
    let stat = example("checkout-statistical.yaml");
    assert_eq!(stat.verdict, Verdict::Pass, "{stat:#?}");
    let bad = example("checkout-regression.yaml");
    assert_eq!(bad.verdict, Verdict::Fail);
    assert_eq!(bad.score, Some(0.0));
    assert!(bad.reason.contains("5xx-ratio"), "{}", bad.reason);
    let early = example("checkout-early.yaml");
    assert_eq!(early.verdict, Verdict::Inconclusive, "{early:#?}");
}

#[test]
fn readme_config_example_is_valid() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme.find("```yaml\n").expect("README has a yaml example") + "```yaml\n".len();
    let len = readme[start..].find("```").unwrap();
    let cfg = AnalysisConfig::from_yaml_str(&readme[start..start + len]).unwrap();
    assert_eq!(cfg.metrics.len(), 4);
    assert_eq!(cfg.scoring.group_weights.len(), 2);
}
