//! Kayenta's transforms before the test: NaN strategy, IQR outlier fences, R-7 percentiles.

use super::*;

/// R-7 percentile (linear interpolation between closest ranks, h = (n−1)p; Hyndman & Fan 1996
/// definition 7, numpy's default, Kayenta's DescriptiveStatistics) of a sorted, non-empty
/// slice; p in [0, 1].
pub fn percentile_r7(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * p.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Apply the NaN strategy and the outlier filter to one arm (Kayenta §1.1 steps 1–2):
/// fences lower = min(P1, Q1 − f·IQR), upper = max(P99, Q3 + f·IQR) with R-7 percentiles;
/// values outside are dropped. Infinities are always an error.
pub fn preprocess(
    arm: &'static str,
    values: &[f64],
    nan: NanStrategy,
    outliers: OutlierStrategy,
    factor: f64,
) -> Result<Vec<f64>, StatsError> {
    if let Some(index) = values.iter().position(|v| v.is_infinite()) {
        return Err(StatsError::NonFinite { arm, index });
    }
    let cleaned: Vec<f64> = match nan {
        NanStrategy::Reject => {
            crate::stats::check_finite(arm, values)?;
            values.to_vec()
        }
        NanStrategy::Remove => values.iter().copied().filter(|v| !v.is_nan()).collect(),
        NanStrategy::Replace(r) => values
            .iter()
            .map(|&v| if v.is_nan() { r } else { v })
            .collect(),
    };
    if outliers == OutlierStrategy::Keep || cleaned.is_empty() {
        return Ok(cleaned);
    }
    if !(factor >= 0.0 && factor.is_finite()) {
        return Err(StatsError::InvalidParameter {
            name: "outlier_factor",
            why: format!("must be a finite number ≥ 0, got {factor}"),
        });
    }
    let mut sorted = cleaned.clone();
    sorted.sort_unstable_by(f64::total_cmp);
    let q1 = percentile_r7(&sorted, 0.25);
    let q3 = percentile_r7(&sorted, 0.75);
    let iqr = q3 - q1;
    let lower = percentile_r7(&sorted, 0.01).min(q1 - factor * iqr);
    let upper = percentile_r7(&sorted, 0.99).max(q3 + factor * iqr);
    Ok(cleaned
        .into_iter()
        .filter(|v| *v >= lower && *v <= upper)
        .collect())
}
