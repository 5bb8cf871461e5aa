//! The report's charts, drawn with `plotters`' SVG backend into strings that the page
//! inlines. Text is SVG `<text>` (the browser picks the font), so no font file is read and
//! the page needs nothing from the network. Two charts per metric: the series as judged,
//! and the effect's band at every look with the margin, the harm side and the decision.

use super::model::{EffectScale, HarmSide, MetricTrace};
use plotters::prelude::*;

/// A chart could not be drawn (a plotters backend error, kept as its source).
#[derive(Debug, thiserror::Error)]
#[error("cannot draw the {chart} chart of metric `{metric}`")]
pub struct SvgError {
    /// Metric name.
    pub metric: String,
    /// `series` or `band`.
    pub chart: &'static str,
    /// What plotters said.
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

const WIDTH: u32 = 640;
const HEIGHT: u32 = 260;
const CANARY: RGBColor = RGBColor(214, 96, 39);
const BASELINE: RGBColor = RGBColor(49, 105, 172);
const BAND: RGBColor = RGBColor(120, 72, 160);
const HARM: RGBColor = RGBColor(200, 30, 30);
const PASS: RGBColor = RGBColor(30, 140, 60);

/// x axis unit: minutes when the step is known, else intervals.
fn x_of(intervals: usize, step: f64) -> f64 {
    if step > 0.0 {
        intervals as f64 * step / 60.0
    } else {
        intervals as f64
    }
}

fn x_label(step: f64) -> &'static str {
    if step > 0.0 {
        "minutes into the window"
    } else {
        "intervals"
    }
}

/// A y range that holds every value with some room, never empty.
fn y_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.08)
        .max(hi.abs().max(lo.abs()) * 1e-3)
        .max(1e-12);
    (lo - pad, hi + pad)
}

/// Makes plotters' fixed-size `<svg>` scale with the page (viewBox kept).
fn responsive(svg: String, kind: &str) -> String {
    let fixed = format!("<svg width=\"{WIDTH}\" height=\"{HEIGHT}\" ");
    svg.replacen(
        &fixed,
        &format!("<svg class=\"chart {kind}\" preserveAspectRatio=\"xMidYMid meet\" "),
        1,
    )
}

fn boxed<E: std::error::Error + Send + Sync + 'static>(
    metric: &str,
    chart: &'static str,
) -> impl FnOnce(E) -> SvgError {
    let metric = metric.to_string();
    move |e| SvgError {
        metric,
        chart,
        source: Box::new(e),
    }
}

/// Canary and baseline over time, in the unit the method judges, with the canary's traffic
/// share as a thin line on a second scale when the metric counts events.
pub fn series_chart(m: &MetricTrace, step: f64) -> Result<String, SvgError> {
    let mut buf = String::new();
    let n = m.series.canary.len().max(m.series.baseline.len()).max(1);
    let (ylo, yhi) = y_range(
        m.series
            .canary
            .iter()
            .chain(&m.series.baseline)
            .flatten()
            .copied(),
    );
    {
        let root = SVGBackend::with_string(&mut buf, (WIDTH, HEIGHT)).into_drawing_area();
        let err = |e| boxed(&m.name, "series")(e);
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("{}: {}", m.name, m.series.unit), ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(32)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..x_of(n, step), ylo..yhi)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(x_label(step))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(err)?;
        for (name, color, values) in [
            ("baseline", BASELINE, &m.series.baseline),
            ("canary", CANARY, &m.series.canary),
        ] {
            if values.is_empty() {
                continue;
            }
            let points: Vec<(f64, f64)> = values
                .iter()
                .enumerate()
                .filter_map(|(i, v)| v.map(|v| (x_of(i + 1, step), v)))
                .collect();
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))
                .map_err(err)?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.6))
            .border_style(BLACK.mix(0.3))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(responsive(buf, "series"))
}

/// The effect estimate and its interval (or confidence sequence) at every look as a shaded
/// band; "no change", the margin and the fail margin as lines; the harm side tinted; the
/// look of the verdict as a vertical line.
pub fn band_chart(m: &MetricTrace, step: f64) -> Result<String, SvgError> {
    let mut buf = String::new();
    let last = m.looks.last().map(|l| l.intervals).unwrap_or(1).max(1);
    let mirror = m.harm == HarmSide::Both;
    let lines = m
        .looks
        .iter()
        .flat_map(|l| [l.margin_line, l.fail_line])
        .flatten();
    let mirrored: Vec<f64> = match (mirror, m.null_value) {
        (true, Some(z)) => lines.clone().map(|v| 2.0 * z - v).collect(),
        _ => Vec::new(),
    };
    // The band can be very wide at the first looks; the range holds every estimate and
    // line, and bounds only up to 4× the estimates' spread so the later looks stay legible.
    let core = y_range(
        m.looks
            .iter()
            .filter_map(|l| l.effect)
            .chain(lines.clone())
            .chain(mirrored.iter().copied())
            .chain(m.null_value),
    );
    let spread = (core.1 - core.0).max(1e-12);
    let (ylo, yhi) = y_range(
        m.looks
            .iter()
            .flat_map(|l| [l.ci_low, l.ci_high])
            .flatten()
            .map(|v| v.clamp(core.0 - 2.0 * spread, core.1 + 2.0 * spread))
            .chain([core.0, core.1]),
    );
    let x_max = x_of(last, step);
    {
        let root = SVGBackend::with_string(&mut buf, (WIDTH, HEIGHT)).into_drawing_area();
        let err = |e| boxed(&m.name, "band")(e);
        root.fill(&WHITE).map_err(err)?;
        let scale = match m.scale {
            EffectScale::Difference => "canary − baseline",
            EffectScale::Ratio => "canary / baseline",
            EffectScale::Relative => "canary / baseline − 1",
            EffectScale::Absolute => "canary aggregate",
        };
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("{} ({}): effect {scale} at every look", m.name, m.method),
                ("sans-serif", 16),
            )
            .margin(8)
            .x_label_area_size(32)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..x_max, ylo..yhi)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(x_label(step))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(err)?;
        // Harm side beyond the (final) margin line, tinted.
        if let Some(margin) = m.looks.last().and_then(|l| l.fail_line.or(l.margin_line)) {
            let mut zones = Vec::new();
            match m.harm {
                HarmSide::Above => zones.push((margin.max(ylo), yhi)),
                HarmSide::Below => zones.push((ylo, margin.min(yhi))),
                HarmSide::Both => {
                    let z = m.null_value.unwrap_or(0.0);
                    let (a, b) = (margin.min(2.0 * z - margin), margin.max(2.0 * z - margin));
                    zones.push((ylo, a.min(yhi)));
                    zones.push((b.max(ylo), yhi));
                }
            }
            for (lo, hi) in zones.into_iter().filter(|(lo, hi)| hi > lo) {
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(0.0, lo), (x_max, hi)],
                        HARM.mix(0.07).filled(),
                    )))
                    .map_err(err)?;
            }
        }
        // The band: upper ends left to right, lower ends back.
        let banded: Vec<_> = m
            .looks
            .iter()
            .filter_map(|l| match (l.ci_low, l.ci_high) {
                (Some(a), Some(b)) => Some((x_of(l.intervals, step), a.max(ylo), b.min(yhi))),
                _ => None,
            })
            .collect();
        if !banded.is_empty() {
            let mut poly: Vec<(f64, f64)> = banded.iter().map(|(x, _, hi)| (*x, *hi)).collect();
            poly.extend(banded.iter().rev().map(|(x, lo, _)| (*x, *lo)));
            chart
                .draw_series(std::iter::once(Polygon::new(poly, BAND.mix(0.25).filled())))
                .map_err(err)?
                .label("interval / confidence sequence")
                .legend(|(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 18, y + 5)], BAND.mix(0.25).filled())
                });
        }
        let effect: Vec<(f64, f64)> = m
            .looks
            .iter()
            .filter_map(|l| l.effect.map(|e| (x_of(l.intervals, step), e)))
            .collect();
        chart
            .draw_series(LineSeries::new(effect.clone(), BAND.stroke_width(2)))
            .map_err(err)?
            .label("estimate")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BAND.stroke_width(2)));
        chart
            .draw_series(effect.iter().map(|p| Circle::new(*p, 2, BAND.filled())))
            .map_err(err)?;
        if let Some(z) = m.null_value {
            chart
                .draw_series(LineSeries::new(
                    [(0.0, z), (x_max, z)],
                    BLACK.mix(0.5).stroke_width(1),
                ))
                .map_err(err)?;
        }
        for (name, color, pick) in [("margin", PASS, 0usize), ("fail margin", HARM, 1usize)] {
            let mut pts: Vec<(f64, f64)> = Vec::new();
            let mut prev = 0.0;
            for l in &m.looks {
                let v = if pick == 0 {
                    l.margin_line
                } else {
                    l.fail_line
                };
                if let Some(v) = v {
                    pts.push((prev, v));
                    pts.push((x_of(l.intervals, step), v));
                }
                prev = x_of(l.intervals, step);
            }
            if pts.is_empty() {
                continue;
            }
            let mirrored: Vec<(f64, f64)> = match (mirror, m.null_value) {
                (true, Some(z)) => pts.iter().map(|(x, v)| (*x, 2.0 * z - v)).collect(),
                _ => Vec::new(),
            };
            chart
                .draw_series(LineSeries::new(pts, color.stroke_width(2)))
                .map_err(err)?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color));
            if !mirrored.is_empty() {
                chart
                    .draw_series(LineSeries::new(mirrored, color.stroke_width(2)))
                    .map_err(err)?;
            }
        }
        if let Some(look) = m
            .decided_look
            .and_then(|d| m.looks.iter().find(|l| l.look == d))
        {
            let x = x_of(look.intervals, step);
            let color = if m.verdict == crate::stats::Verdict::Fail {
                HARM
            } else {
                PASS
            };
            chart
                .draw_series(DashedLineSeries::new(
                    [(x, ylo), (x, yhi)],
                    6,
                    4,
                    color.stroke_width(2),
                ))
                .map_err(err)?
                .label(format!("{} at look {}", m.verdict, look.look))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.6))
            .border_style(BLACK.mix(0.3))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(responsive(buf, "band"))
}
