//! Unit tests of config parsing and validation.

use super::*;

fn parse(yaml: &str) -> Result<AnalysisConfig, ConfigError> {
    AnalysisConfig::from_yaml_str(yaml)
}

#[test]
fn metric_level_knobs_land_in_the_method_params() {
    let cfg = parse(
        "metrics:\n  - name: m\n    method: msprt\n    harm: decrease\n    alpha: 0.01\n    margin: 0.3\n    min_samples: 12\n    canary: {values: [1]}\n    baseline: {values: [1]}\n",
    )
    .unwrap();
    let MethodParams::Msprt(p) = &cfg.metrics[0].method else {
        panic!("expected msprt")
    };
    assert_eq!(p.harm, Harm::Decrease);
    assert_eq!(p.alpha, 0.01);
    assert_eq!(p.margin, 0.3);
    assert_eq!(p.burn_in, 12);
}

#[test]
fn defaults_are_inherited_and_overridden() {
    let cfg = parse(
        "defaults: {nan_strategy: {replace: 0}, no_data: fail, group: web}\nmetrics:\n  - name: a\n    method: welch\n    canary: {values: [1]}\n    baseline: {values: [1]}\n  - name: b\n    method: welch\n    group: db\n    nan_strategy: remove\n    no_data: pass\n    canary: {values: [1]}\n    baseline: {values: [1]}\n",
    )
    .unwrap();
    let (a, b) = (&cfg.metrics[0], &cfg.metrics[1]);
    assert_eq!(a.nan_strategy, NanStrategy::Replace(0.0));
    assert_eq!(a.no_data, NoDataPolicy::Fail);
    assert!(a.must_have_data, "no_data: fail is Kayenta's mustHaveData");
    assert_eq!(a.group, "web");
    assert_eq!(b.nan_strategy, NanStrategy::Remove);
    assert_eq!(b.no_data, NoDataPolicy::Pass);
    assert_eq!(b.group, "db");
}

#[test]
fn arm_shapes_follow_the_method() {
    let cfg = parse(
        "metrics:\n  - name: e\n    method: count-sequential\n    canary: {events: {values: [1]}, traffic: {values: [100]}}\n    baseline: {events: {file: e.csv}, traffic: {query: 'sum(x)'}}\n  - name: h\n    method: quantile-sequential\n    canary: {histogram: {file: c.csv}}\n    baseline: {histogram: {file: b.csv}}\n  - name: t\n    method: threshold\n    params: {max: 1}\n    canary: {file: c.csv, traffic: {file: r.csv}}\n",
    )
    .unwrap();
    assert!(matches!(cfg.metrics[0].canary, ArmSpec::Counts { .. }));
    assert!(matches!(cfg.metrics[1].canary, ArmSpec::Histogram(_)));
    assert!(matches!(
        cfg.metrics[2].canary,
        ArmSpec::Values {
            traffic: Some(_),
            ..
        }
    ));
    assert!(cfg.metrics[2].baseline.is_none());
    // A relative threshold needs the baseline.
    let e = parse(
        "metrics:\n  - name: t\n    method: threshold\n    params: {max_ratio: 1.1}\n    canary: {values: [1]}\n",
    )
    .unwrap_err();
    assert!(e.to_string().contains("needs a baseline"), "{e}");
    // Mixed shapes between arms.
    let e = parse(
        "metrics:\n  - name: h\n    method: quantile-sequential\n    canary: {histogram: {file: c.csv}}\n    baseline: {file: b.csv}\n",
    )
    .unwrap_err();
    assert!(e.to_string().contains("same kind of data"), "{e}");
}

#[test]
fn method_names_round_trip() {
    for m in MethodName::ALL {
        assert_eq!(m.as_str().parse::<MethodName>(), Ok(m));
        let yaml: MethodName = serde_yaml_ng::from_str(m.as_str()).unwrap();
        assert_eq!(yaml, m);
    }
    assert!("t-test".parse::<MethodName>().is_err());
}

proptest::proptest! {
    /// Arbitrary text (and arbitrary JSON-ish text) is an error or a config, never a panic.
    #[test]
    fn arbitrary_text_never_panics(text in "(metrics|params|canary|values|file|\\{|\\}|\\[|\\]|:|,| |\n|-|[a-z0-9.]){0,120}") {
        let _ = AnalysisConfig::from_yaml_str(&text);
        let _ = AnalysisConfig::from_json_str(&text);
    }
}
