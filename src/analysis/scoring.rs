//! Aggregate scoring (`statistics.md` §6.2(g), after Kayenta's WeightedSumScorer and
//! ThresholdScoreClassifier, §1.2): per-group weighted pass fractions, group weights, critical
//! and no-data overrides, pass/marginal thresholds; and the statistical mode that splits the
//! family-wise α across metrics by weight (weighted Bonferroni, §6.1 "Multiplicity").

use super::config::{AnalysisConfig, ScoringConfig, ScoringMode};
use super::report::{GroupScore, MetricOutcome, MetricReport};
use crate::stats::Verdict;

/// The scorer's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreSummary {
    /// Overall verdict.
    pub verdict: Verdict,
    /// Score 0–100 rounded to two decimals, as Kayenta rounds it.
    pub score: Option<f64>,
    /// Per-group details.
    pub groups: Vec<GroupScore>,
    /// Why.
    pub reason: String,
}

/// Per metric, the α to use instead of its own (`None` = keep its own). In statistical mode
/// every non-muted metric with a significance level gets α_k = α·w_k/Σw (equal shares if all
/// weights are 0), which keeps the family-wise false-fail rate ≤ α for anytime-valid methods.
pub fn allocate_alpha(config: &AnalysisConfig) -> Vec<Option<f64>> {
    if config.scoring.mode != ScoringMode::Statistical {
        return vec![None; config.metrics.len()];
    }
    let family: Vec<bool> = config
        .metrics
        .iter()
        .map(|m| !m.muted && m.method.name().has_alpha())
        .collect();
    let total: f64 = config
        .metrics
        .iter()
        .zip(&family)
        .filter(|(_, in_family)| **in_family)
        .map(|(m, _)| m.weight)
        .sum();
    let count = family.iter().filter(|f| **f).count() as f64;
    config
        .metrics
        .iter()
        .zip(&family)
        .map(|(m, in_family)| {
            if !*in_family {
                return None;
            }
            // α·w/Σw (multiplying before dividing keeps 0.05·1/5 at exactly 0.01).
            let alpha = if total > 0.0 {
                config.scoring.alpha * m.weight / total
            } else {
                config.scoring.alpha / count
            };
            // A zero-weight metric gets no α at all; the smallest positive level keeps the
            // method's parameter check happy while it can practically never reject.
            Some(alpha.max(f64::MIN_POSITIVE))
        })
        .collect()
}

fn counts_in_score(m: &MetricReport) -> Option<bool> {
    // Some(passed) when the metric enters the denominator, None when it is left out.
    match m.decision.verdict {
        Verdict::Pass => Some(true),
        Verdict::Fail => Some(false),
        Verdict::Inconclusive if m.must_have_data => Some(false),
        Verdict::Inconclusive => None,
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Group scores and the weighted summary over `scored` metrics.
fn group_scores(
    scored: &[&MetricReport],
    config: &ScoringConfig,
) -> (Vec<GroupScore>, Option<f64>) {
    let mut names: Vec<&str> = Vec::new();
    for m in scored {
        if !names.contains(&m.group.as_str()) {
            names.push(&m.group);
        }
    }
    let explicit: f64 = names
        .iter()
        .filter_map(|g| config.group_weights.get(*g))
        .sum();
    let unweighted = names
        .iter()
        .filter(|g| !config.group_weights.contains_key(**g))
        .count();
    let share = if unweighted > 0 {
        (100.0 - explicit).max(0.0) / unweighted as f64
    } else {
        0.0
    };
    let mut groups = Vec::with_capacity(names.len());
    for g in names {
        let (mut num, mut den, mut counted, mut passed) = (0.0, 0.0, 0, 0);
        for m in scored.iter().filter(|m| m.group == g && m.weight > 0.0) {
            if let Some(ok) = counts_in_score(m) {
                counted += 1;
                den += m.weight;
                if ok {
                    passed += 1;
                    num += m.weight;
                }
            }
        }
        groups.push(GroupScore {
            name: g.to_string(),
            weight: config.group_weights.get(g).copied().unwrap_or(share),
            score: (den > 0.0).then(|| 100.0 * num / den),
            counted,
            passed,
        });
    }
    let (sum, wsum) = groups
        .iter()
        .filter_map(|g| g.score.map(|s| (s * g.weight, g.weight)))
        .fold((0.0, 0.0), |(a, b), (s, w)| (a + s, b + w));
    let summary = (wsum > 0.0).then(|| round2(sum / wsum));
    (groups, summary)
}

/// Combine per-metric results into one verdict (Kayenta or statistical mode).
///
/// Kayenta mode: muted metrics are left out; inconclusive and no-data metrics are left out of
/// the denominator unless `must_have_data`; groups with nothing counted are left out and the
/// remaining group weights renormalised (Kayenta would count such a group as 100, which
/// passes analyses that showed nothing); a critical metric that fails forces 0; ≥ 50% no-data
/// metrics give Inconclusive (Kayenta's 0 with `fail_on_mostly_no_data`); score ≥ pass → Pass, ≥ marginal → Inconclusive, else Fail. A critical
/// metric that is still inconclusive keeps the verdict from being Pass.
///
/// A metric in `error` (its input or parameters were rejected) is never neutral: the run is
/// then at most Inconclusive, and Fail (score 0) when that metric is critical or
/// `must_have_data`; the reason names it.
///
/// Statistical mode: the same, but only non-critical metrics feed the score, and Pass needs
/// every critical metric to pass (non-inferiority shown) and the score ≥ pass.
pub fn aggregate(metrics: &[MetricReport], config: &ScoringConfig) -> ScoreSummary {
    let active: Vec<&MetricReport> = metrics.iter().filter(|m| !m.muted).collect();
    if active.is_empty() {
        return ScoreSummary {
            verdict: Verdict::Inconclusive,
            score: None,
            groups: Vec::new(),
            reason: "every metric is muted".into(),
        };
    }
    let statistical = config.mode == ScoringMode::Statistical;
    let scored: Vec<&MetricReport> = active
        .iter()
        .copied()
        .filter(|m| !(statistical && m.critical))
        .collect();
    let (groups, score) = group_scores(&scored, config);
    let zero = |reason: String| ScoreSummary {
        verdict: Verdict::Fail,
        score: Some(0.0),
        groups: groups.clone(),
        reason,
    };

    if let Some(m) = active
        .iter()
        .find(|m| m.critical && m.decision.verdict == Verdict::Fail)
    {
        return zero(format!(
            "critical metric `{}` failed: {}",
            m.name, m.decision.reason
        ));
    }
    // A metric whose input or parameters were rejected (`MetricOutcome::Error`) says nothing
    // about the canary, so it must never count as neutral: a run that could not judge one of
    // its metrics cannot pass. It fails outright when the metric is critical or must have
    // data (the user said the run is meaningless without it), and is at most inconclusive
    // otherwise. The reason names the metric so the broken input can be found.
    let errored: Vec<&&MetricReport> = active
        .iter()
        .filter(|m| m.outcome == MetricOutcome::Error)
        .collect();
    if let Some(m) = errored.iter().find(|m| m.critical || m.must_have_data) {
        let flag = if m.critical {
            "critical"
        } else {
            "must_have_data"
        };
        return zero(format!(
            "{flag} metric `{}` could not be judged: {}",
            m.name, m.decision.reason
        ));
    }
    let error_note = (!errored.is_empty()).then(|| {
        let names: Vec<String> = errored.iter().map(|m| format!("`{}`", m.name)).collect();
        format!(
            "metric{} {} could not be judged ({})",
            if names.len() > 1 { "s" } else { "" },
            names.join(", "),
            errored[0].decision.reason
        )
    });
    let nodata = active
        .iter()
        .filter(|m| m.outcome == MetricOutcome::NoData)
        .count();
    if nodata * 2 >= active.len() {
        let reason = format!(
            "{nodata} of {} metrics have no data (50% or more)",
            active.len()
        );
        if config.fail_on_mostly_no_data {
            return zero(reason);
        }
        // A must-have-data metric without data is a failure, not a reason to wait.
        if let Some(m) = active
            .iter()
            .find(|m| m.outcome == MetricOutcome::NoData && m.decision.verdict == Verdict::Fail)
        {
            return zero(format!("{reason}; `{}` must have data", m.name));
        }
        return ScoreSummary {
            verdict: Verdict::Inconclusive,
            score: None,
            groups: groups.clone(),
            reason,
        };
    }
    let critical_open: Vec<&str> = active
        .iter()
        .filter(|m| m.critical && m.decision.verdict != Verdict::Pass)
        .map(|m| m.name.as_str())
        .collect();
    let thresholds = format!("pass ≥ {}, marginal ≥ {}", config.pass, config.marginal);
    let (verdict, reason) = match score {
        None if statistical && scored.is_empty() => {
            if critical_open.is_empty() {
                (
                    Verdict::Pass,
                    "every critical metric passed (no other metrics)".to_string(),
                )
            } else {
                (
                    Verdict::Inconclusive,
                    format!(
                        "critical metrics not yet passed: {}",
                        critical_open.join(", ")
                    ),
                )
            }
        }
        None => (
            Verdict::Inconclusive,
            "no metric reached a pass or fail verdict yet".to_string(),
        ),
        Some(s) if s < config.marginal => (
            Verdict::Fail,
            format!("score {s:.2} is below marginal ({thresholds})"),
        ),
        Some(s) if s < config.pass => (
            Verdict::Inconclusive,
            format!("score {s:.2} is marginal ({thresholds})"),
        ),
        Some(s) if !critical_open.is_empty() => (
            Verdict::Inconclusive,
            format!(
                "score {s:.2} reaches pass, but critical metrics have not passed yet: {}",
                critical_open.join(", ")
            ),
        ),
        Some(s) => (
            Verdict::Pass,
            format!("score {s:.2} reaches pass ({thresholds})"),
        ),
    };
    let (verdict, reason) = match (verdict, error_note) {
        (Verdict::Pass, Some(note)) => (
            Verdict::Inconclusive,
            format!("{note}, so the run cannot pass although {reason}"),
        ),
        (v, Some(note)) => (v, format!("{reason}; {note}")),
        (v, None) => (v, reason),
    };
    ScoreSummary {
        verdict,
        score,
        groups,
        reason,
    }
}
