//! Look by look: the engine called on growing prefixes of the series, as a controller that
//! looks every `every` intervals would have called it. This is the only place the report,
//! `replay` and `backtest` get per-look answers from, and it has no statistics of its own:
//! each look is one [`analysis::evaluate`] call on the first k intervals.

use crate::analysis::{self, AnalysisConfig, AnalysisReport, ArmData, MetricData, SeriesSet};

/// The first `k` intervals of one arm (all of it when shorter).
fn prefix_arm(arm: &ArmData, k: usize) -> ArmData {
    let cut = |v: &[f64]| v[..k.min(v.len())].to_vec();
    match arm {
        ArmData::Values { values, traffic } => ArmData::Values {
            values: cut(values),
            traffic: traffic.as_deref().map(cut),
        },
        ArmData::Counts(c) => ArmData::Counts(crate::stats::counts::CountSeries {
            events: cut(&c.events),
            traffic: cut(&c.traffic),
        }),
        ArmData::Histogram(h) => ArmData::Histogram(crate::stats::quantile::HistogramSeries {
            bounds: h.bounds.clone(),
            intervals: h.intervals[..k.min(h.intervals.len())].to_vec(),
        }),
    }
}

/// The data a look after `k` intervals sees: every arm cut to its first `k` intervals.
pub fn prefix(data: &SeriesSet, k: usize) -> SeriesSet {
    SeriesSet {
        metrics: data
            .metrics
            .iter()
            .map(|(name, md)| {
                (
                    name.clone(),
                    MetricData {
                        canary: md.canary.as_ref().map(|a| prefix_arm(a, k)),
                        baseline: md.baseline.as_ref().map(|a| prefix_arm(a, k)),
                    },
                )
            })
            .collect(),
    }
}

/// Intervals in one arm.
pub fn arm_len(arm: &ArmData) -> usize {
    match arm {
        ArmData::Values { values, .. } => values.len(),
        ArmData::Counts(c) => c.events.len(),
        ArmData::Histogram(h) => h.intervals.len(),
    }
}

/// Intervals in the longest arm of any metric.
pub fn total_intervals(data: &SeriesSet) -> usize {
    data.metrics
        .values()
        .flat_map(|md| md.canary.iter().chain(md.baseline.iter()))
        .map(arm_len)
        .max()
        .unwrap_or(0)
}

/// The prefix lengths at which looks happen: every `every` intervals, and always the last
/// interval (so the last look judges exactly what `analyze` judges).
pub fn look_points(total: usize, every: usize) -> Vec<usize> {
    let every = every.max(1);
    let mut points: Vec<usize> = (1..=total / every).map(|i| i * every).collect();
    if points.last() != Some(&total) && total > 0 {
        points.push(total);
    }
    points
}

/// One look: how many intervals it saw and what the engine answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Look {
    /// 1-based look number.
    pub look: usize,
    /// Intervals seen.
    pub intervals: usize,
    /// The engine's report on that prefix.
    pub report: AnalysisReport,
}

/// Calls the engine at every look; `progress` is told after each one (look, number of
/// looks) so a front door can draw a progress bar.
pub fn replay(
    config: &AnalysisConfig,
    data: &SeriesSet,
    every: usize,
    mut progress: impl FnMut(usize, usize),
) -> Vec<Look> {
    let points = look_points(total_intervals(data), every);
    let n = points.len();
    points
        .into_iter()
        .enumerate()
        .map(|(i, k)| {
            let report = analysis::evaluate(config, &prefix(data, k));
            progress(i + 1, n);
            Look {
                look: i + 1,
                intervals: k,
                report,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_points_end_on_the_last_interval() {
        assert_eq!(look_points(10, 3), vec![3, 6, 9, 10]);
        assert_eq!(look_points(9, 3), vec![3, 6, 9]);
        assert_eq!(look_points(2, 5), vec![2]);
        assert!(look_points(0, 1).is_empty());
        assert_eq!(look_points(3, 0), vec![1, 2, 3]);
    }

    #[test]
    fn prefix_cuts_every_arm_alike() {
        let data = SeriesSet::default()
            .with(
                "m",
                ArmData::Counts(crate::stats::counts::CountSeries {
                    events: vec![1.0, 2.0, 3.0],
                    traffic: vec![10.0, 20.0, 30.0],
                }),
                Some(ArmData::values(vec![5.0, 6.0])),
            )
            .with("n", ArmData::values(vec![1.0; 5]), None);
        assert_eq!(total_intervals(&data), 5);
        let p = prefix(&data, 2);
        let m = p.get("m").unwrap();
        assert_eq!(
            m.canary,
            Some(ArmData::Counts(crate::stats::counts::CountSeries {
                events: vec![1.0, 2.0],
                traffic: vec![10.0, 20.0],
            }))
        );
        assert_eq!(m.baseline, Some(ArmData::values(vec![5.0, 6.0])));
        assert_eq!(total_intervals(&p), 2);
    }
}
