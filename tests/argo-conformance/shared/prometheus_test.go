package conformance

// Prometheus cases: Argo's real plugin client calls Run/Resume on configs whose arms are
// PromQL queries against a REAL Prometheus holding the synthetic scenarios (started by
// run.sh through scripts/prometheus-testenv). Skipped only when CANARY_JUDGE_PROM_URL is
// unset. Queries are written with the scenario already substituted, as Argo does with
// {{args.X}} before the plugin sees the config; the window is pinned (until = the data's
// end) so verdicts are deterministic.
//
//	CANARY_JUDGE_PROM_URL    base URL of the test Prometheus
//	CANARY_JUDGE_PROM_START  analysis start (Unix s), from DIR/expected.json
//	CANARY_JUDGE_PROM_END    analysis end (Unix s)

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/argoproj/argo-rollouts/metricproviders/plugin/rpc"
	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func promQueries(scenario, track string) (events, traffic, ratio, buckets string) {
	sel := fmt.Sprintf(`scenario=%q,track=%q`, scenario, track)
	traffic = fmt.Sprintf(`sum(increase(http_requests_total{%s}[1m]))`, sel)
	events = fmt.Sprintf(`sum(increase(http_requests_total{%s,code=~"5.."}[1m]))`, sel)
	ratio = events + " / " + traffic
	buckets = fmt.Sprintf(`sum by (le) (increase(http_request_duration_seconds_bucket{%s}[1m]))`, sel)
	return
}

// promConfig is the Kayenta-style score of examples/prometheus/kayenta-score.yaml as plugin
// JSON. window: since/until Unix seconds as strings ("" = not set).
// source names one of the operator's data sources written by setup (trust_test.go).
func promConfig(source, scenario string, window map[string]any, extra map[string]any) json.RawMessage {
	ce, ct, cr, cb := promQueries(scenario, "canary")
	be, bt, _, bb := promQueries(scenario, "baseline")
	cfg := map[string]any{
		"source": source,
		"window": window,
		"scoring": map[string]any{"mode": "kayenta", "pass": 75, "marginal": 50,
			"group_weights": map[string]any{"errors": 40, "latency": 60}},
		"metrics": []any{
			map[string]any{"name": "5xx-ratio", "method": "threshold", "group": "errors", "critical": true,
				"params": map[string]any{"aggregate": "mean", "max": 0.05, "min_requests": 100},
				"canary": map[string]any{"query": cr, "traffic": map[string]any{"query": ct}}},
			map[string]any{"name": "5xx-errors", "method": "count-sequential", "group": "errors", "margin": 0.5,
				"canary":   map[string]any{"events": map[string]any{"query": ce}, "traffic": map[string]any{"query": ct}},
				"baseline": map[string]any{"events": map[string]any{"query": be}, "traffic": map[string]any{"query": bt}}},
			map[string]any{"name": "latency-p99", "method": "quantile-sequential", "group": "latency", "margin": 0.5,
				"params":   map[string]any{"thresholds": []float64{0.25, 0.5}},
				"canary":   map[string]any{"histogram": map[string]any{"query": cb}},
				"baseline": map[string]any{"histogram": map[string]any{"query": bb}}},
		},
	}
	for k, v := range extra {
		cfg[k] = v
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		panic(err)
	}
	return raw
}

// onlyMetric keeps metric i of a plugin config (e.g. just the sequential count test).
func onlyMetric(cfg json.RawMessage, i int) json.RawMessage {
	var m map[string]any
	if err := json.Unmarshal(cfg, &m); err != nil {
		panic(err)
	}
	m["metrics"] = []any{m["metrics"].([]any)[i]}
	delete(m, "scoring")
	out, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return out
}

func runStartedAt(m v1alpha1.Metric, started time.Time) *v1alpha1.AnalysisRun {
	ar := analysisRun(m)
	s := metav1.NewTime(started)
	ar.Status.StartedAt = &s
	return ar
}

func prometheusCases(t *testing.T, get func(*testing.T) rpc.MetricProviderPlugin, judged bool) {
	url := os.Getenv("CANARY_JUDGE_PROM_URL")
	if url == "" {
		t.Run("prometheus", func(t *testing.T) { t.Skip("CANARY_JUDGE_PROM_URL is not set") })
		return
	}
	start, err1 := strconv.ParseInt(os.Getenv("CANARY_JUDGE_PROM_START"), 10, 64)
	end, err2 := strconv.ParseInt(os.Getenv("CANARY_JUDGE_PROM_END"), 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("CANARY_JUDGE_PROM_START/END must be Unix seconds")
	}
	pinned := map[string]any{"since": strconv.FormatInt(start, 10), "until": strconv.FormatInt(end, 10)}

	cases := []struct {
		scenario string
		phase    v1alpha1.AnalysisPhase
		verdict  string
	}{
		{"healthy", v1alpha1.AnalysisPhaseSuccessful, "pass"},
		{"errors", v1alpha1.AnalysisPhaseFailed, "fail"},
		{"latency", v1alpha1.AnalysisPhaseFailed, "fail"},
		// The canary went silent before the end: its sequential metrics are in error, and a
		// metric in error is never neutral, so the run is Inconclusive, not a pass.
		{"stopped", v1alpha1.AnalysisPhaseInconclusive, "inconclusive"},
	}
	for _, c := range cases {
		t.Run("prometheus_"+c.scenario, func(t *testing.T) {
			cfg := promConfig("default", c.scenario, pinned, nil)
			t0 := time.Now()
			m := get(t).Run(analysisRun(metric(cfg, "", "")), metric(cfg, "", ""))
			t.Logf("scenario %s: phase %s in %v", c.scenario, m.Phase, time.Since(t0))
			checkCompleted(t, m)
			if !judged {
				return
			}
			if m.Phase != c.phase {
				t.Fatalf("phase %s, want %s: %s %v", m.Phase, c.phase, m.Message, m.Metadata)
			}
			if v := verdictOf(t, m); v["verdict"] != c.verdict {
				t.Errorf("verdict %v, want %s", v["verdict"], c.verdict)
			}
			q := m.Metadata["5xx-errors.canary.query"]
			if !strings.Contains(q, `scenario="`+c.scenario+`"`) || !strings.Contains(q, `code=~"5.."`) {
				t.Errorf("resolved query missing from metadata: %q", q)
			}
			for _, k := range []string{"window", "5xx-errors.canary.events", "5xx-errors.baseline.traffic",
				"latency-p99.canary.points", "5xx-errors.step", "latency-p99.reason", "5xx-errors.verdict"} {
				if m.Metadata[k] == "" {
					t.Errorf("metadata %q missing: %v", k, m.Metadata)
				}
			}
		})
	}

	// No traffic / absent canary: every metric is `nodata` with its policy (inconclusive);
	// with half or more of the metrics without data the run is Inconclusive. Never a pass.
	for _, sc := range []string{"no_traffic", "absent"} {
		t.Run("prometheus_"+sc, func(t *testing.T) {
			cfg := promConfig("default", sc, pinned, nil)
			m := get(t).Run(analysisRun(metric(cfg, "", "")), metric(cfg, "", ""))
			t.Logf("scenario %s: phase %s", sc, m.Phase)
			checkCompleted(t, m)
			if !judged {
				return
			}
			if m.Phase != v1alpha1.AnalysisPhaseInconclusive {
				t.Fatalf("phase %s, want Inconclusive: %s", m.Phase, m.Message)
			}
			if got := m.Metadata["5xx-errors.verdict"]; got != "inconclusive" {
				t.Errorf("5xx-errors.verdict = %q, want inconclusive (no-data policy): %v", got, m.Metadata)
			}
			if m.Metadata["5xx-errors.canary.no_data"] == "" && sc == "absent" {
				t.Errorf("absent canary: no_data reason missing: %v", m.Metadata)
			}
		})
	}

	t.Run("prometheus_window_from_status_startedAt", func(t *testing.T) {
		cfg := promConfig("default", "healthy", map[string]any{"until": strconv.FormatInt(end, 10)}, nil)
		m := get(t).Run(runStartedAt(metric(cfg, "", ""), time.Unix(start, 0)), metric(cfg, "", ""))
		if !judged {
			return
		}
		if m.Phase != v1alpha1.AnalysisPhaseSuccessful {
			t.Fatalf("phase %s: %s", m.Phase, m.Message)
		}
		want := time.Unix(start, 0).UTC().Format(time.RFC3339)
		if !strings.HasPrefix(m.Metadata["window"], want) {
			t.Errorf("window %q does not start at status.startedAt %s", m.Metadata["window"], want)
		}
		if m.Metadata["5xx-errors.canary.points"] != "61" {
			t.Errorf("points %q, want 61", m.Metadata["5xx-errors.canary.points"])
		}
	})

	// Hold with sequential methods: a short window is inconclusive → Running with ResumeAt;
	// Resume re-fetches the whole (longer) window and decides.
	t.Run("prometheus_hold_then_decide", func(t *testing.T) {
		hold := map[string]any{"hold": map[string]any{"max_duration": "10m", "resume_every": "30s"}}
		short := map[string]any{"since": strconv.FormatInt(end-180, 10), "until": strconv.FormatInt(end, 10)}
		cfg := onlyMetric(promConfig("default", "healthy", short, hold), 1)
		m := get(t).Run(analysisRun(metric(cfg, "", "")), metric(cfg, "", ""))
		if !judged {
			return
		}
		if m.Phase != v1alpha1.AnalysisPhaseRunning || m.ResumeAt == nil {
			t.Fatalf("want Running with ResumeAt, got %s: %s %v", m.Phase, m.Message, m.Metadata)
		}
		full := onlyMetric(promConfig("default", "healthy", pinned, hold), 1)
		r := get(t).Resume(analysisRun(metric(full, "", "")), metric(full, "", ""), m)
		if r.Phase != v1alpha1.AnalysisPhaseSuccessful {
			t.Fatalf("after Resume: %s: %s", r.Phase, r.Message)
		}
		if r.Metadata["canary-judge.hold.deadline"] != "" && r.ResumeAt != nil {
			t.Errorf("decided measurement still held: %+v", r)
		}
	})

	// Faults: an Error measurement naming the address and the cause, within the timeout.
	// The fault servers are operator sources with a 1 s timeout, started by setup.
	faults := []struct{ name, source, address, cause string }{
		{"refusing", "refusing", faultAddr["refusing"], "refused"},
		{"slow_past_timeout", "slow", faultAddr["slow"], "timeout"},
		{"error_json_503", "error-json", faultAddr["error-json"], "too many queries"},
		{"bad_promql_on_real_prometheus", "default", url, "bad_data"},
	}
	for _, f := range faults {
		t.Run("prometheus_fault_"+f.name, func(t *testing.T) {
			cfg := promConfig(f.source, "healthy", pinned, nil)
			if f.name == "bad_promql_on_real_prometheus" {
				cfg = json.RawMessage(strings.Replace(string(cfg), "sum by (le)", "sum by (le", 1))
			}
			t0 := time.Now()
			m := get(t).Run(analysisRun(metric(cfg, "", "")), metric(cfg, "", ""))
			took := time.Since(t0)
			t.Logf("fault %s: phase %s in %v: %s", f.name, m.Phase, took, m.Message)
			if !judged {
				return
			}
			if m.Phase != v1alpha1.AnalysisPhaseError {
				t.Fatalf("phase %s, want Error: %s", m.Phase, m.Message)
			}
			if !strings.Contains(m.Message, f.address) || !strings.Contains(m.Message, f.cause) {
				t.Errorf("message must name %s and %q: %s", f.address, f.cause, m.Message)
			}
			if took > 4*time.Second {
				t.Errorf("took %v with a 1s per-query timeout", took)
			}
		})
	}
}
