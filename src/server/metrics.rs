//! The service's own metrics in Prometheus text format: analyses by verdict and door,
//! analysis latency, Prometheus query errors, analyses in flight. Kept in one registry that
//! `/metrics` encodes; no timestamps on live metrics (exposition-format advice).

use std::sync::atomic::AtomicI64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::stats::Verdict;

/// Labels of the analyses counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AnalysisLabels {
    door: &'static str,
    verdict: &'static str,
}

/// Labels of the latency histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DoorLabels {
    door: &'static str,
}

/// All metrics; cheap to share behind an `Arc`.
pub struct Metrics {
    registry: Registry,
    analyses: Family<AnalysisLabels, Counter>,
    latency: Family<DoorLabels, Histogram>,
    prometheus_errors: Counter,
    in_flight: Gauge<i64, AtomicI64>,
}

/// Decrements the in-flight gauge when dropped, so every exit path counts.
pub struct InFlight(Gauge<i64, AtomicI64>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl Metrics {
    /// Registers every metric under the `canary_judge_` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("canary_judge");
        let analyses = Family::<AnalysisLabels, Counter>::default();
        registry.register(
            "analyses",
            "Analyses answered, by front door and verdict (error when no verdict)",
            analyses.clone(),
        );
        let latency = Family::<DoorLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ])
        });
        registry.register(
            "analysis_duration_seconds",
            "Time from request to verdict, by front door",
            latency.clone(),
        );
        let prometheus_errors = Counter::default();
        registry.register(
            "prometheus_query_errors",
            "Analyses that failed because Prometheus was unreachable, slow or erroring",
            prometheus_errors.clone(),
        );
        let in_flight = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "analyses_in_flight",
            "Analyses running now",
            in_flight.clone(),
        );
        Metrics {
            registry,
            analyses,
            latency,
            prometheus_errors,
            in_flight,
        }
    }

    /// Counts one analysis in flight until the guard drops.
    pub fn in_flight_guard(&self) -> InFlight {
        self.in_flight.inc();
        InFlight(self.in_flight.clone())
    }

    /// Records one finished analysis (`Err` = no verdict).
    pub fn observe<E>(&self, door: &'static str, verdict: Result<Verdict, E>, took: Duration) {
        let verdict = match verdict {
            Ok(Verdict::Pass) => "pass",
            Ok(Verdict::Fail) => "fail",
            Ok(Verdict::Inconclusive) => "inconclusive",
            Err(_) => "error",
        };
        self.analyses
            .get_or_create(&AnalysisLabels { door, verdict })
            .inc();
        self.latency
            .get_or_create(&DoorLabels { door })
            .observe(took.as_secs_f64());
    }

    /// Counts one Prometheus failure.
    pub fn prometheus_error(&self) {
        self.prometheus_errors.inc();
    }

    /// The text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
