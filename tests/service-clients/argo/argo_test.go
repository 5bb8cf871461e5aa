// Argo Rollouts' own metric providers against canary-judge serve: the `web` provider (JSON
// body, jsonPath, success/failure conditions → Successful/Failed/Inconclusive) and the
// `prometheus` provider (client_golang: POST form first, vector result).
package argo

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/argoproj/argo-rollouts/metricproviders/prometheus"
	"github.com/argoproj/argo-rollouts/metricproviders/webmetric"
	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	log "github.com/sirupsen/logrus"
)

func base(t *testing.T) string {
	u := os.Getenv("CANARY_JUDGE_HTTP")
	if u == "" {
		t.Fatal("CANARY_JUDGE_HTTP is not set (run scripts/service-check)")
	}
	return strings.TrimRight(u, "/")
}

func webMetric(t *testing.T, body string) v1alpha1.Metric {
	return v1alpha1.Metric{
		Name:             "canary-judge",
		SuccessCondition: `result == "pass"`,
		FailureCondition: `result == "fail"`,
		Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{
			Method:   v1alpha1.WebMetricMethodPost,
			URL:      base(t) + "/v1/analyze",
			JSONBody: json.RawMessage(body),
			JSONPath: "{$.verdict}",
		}},
	}
}

func runWeb(t *testing.T, metric v1alpha1.Metric) v1alpha1.Measurement {
	client, err := webmetric.NewWebMetricHttpClient(metric)
	if err != nil {
		t.Fatal(err)
	}
	parser, err := webmetric.NewWebMetricJsonParser(metric)
	if err != nil {
		t.Fatal(err)
	}
	p := webmetric.NewWebMetricProvider(*log.NewEntry(log.New()), client, parser)
	return p.Run(&v1alpha1.AnalysisRun{}, metric)
}

func TestWebProviderVerdicts(t *testing.T) {
	cases := map[string]v1alpha1.AnalysisPhase{
		`{"template":"inline-pass"}`:         v1alpha1.AnalysisPhaseSuccessful,
		`{"template":"inline-fail"}`:         v1alpha1.AnalysisPhaseFailed,
		`{"template":"inline-inconclusive"}`: v1alpha1.AnalysisPhaseInconclusive,
		`{"template":"errors","vars":{"scenario":"errors"},"lookback":"60m"}`: v1alpha1.AnalysisPhaseFailed,
	}
	for body, want := range cases {
		m := runWeb(t, webMetric(t, body))
		if m.Phase != want {
			t.Fatalf("%s: phase %s (%s), want %s", body, m.Phase, m.Message, want)
		}
	}
}

func TestWebProviderInlineConfig(t *testing.T) {
	body := `{"config":{"metrics":[{"name":"latency","method":"threshold","params":{"max":100},
	  "canary":{"values":[10,20,30]}}]}}`
	m := runWeb(t, webMetric(t, body))
	if m.Phase != v1alpha1.AnalysisPhaseSuccessful {
		t.Fatalf("inline config: %s %s", m.Phase, m.Message)
	}
}

func TestWebProviderBadInputIsError(t *testing.T) {
	// A 4xx is outside 200-299: Argo records a measurement Error, not a verdict.
	m := runWeb(t, webMetric(t, `{"template":"no-such"}`))
	if m.Phase != v1alpha1.AnalysisPhaseError || !strings.Contains(m.Message, "404") {
		t.Fatalf("unknown template: %s %s", m.Phase, m.Message)
	}
}

func TestPrometheusProvider(t *testing.T) {
	for q, want := range map[string]v1alpha1.AnalysisPhase{
		`canary_judge{template="inline-pass"}`: v1alpha1.AnalysisPhaseSuccessful,
		`canary_judge{template="inline-fail"}`: v1alpha1.AnalysisPhaseFailed,
		`canary_judge{template="errors", scenario="errors", lookback="60m"}`: v1alpha1.AnalysisPhaseFailed,
	} {
		metric := v1alpha1.Metric{
			Name:             "canary-judge",
			SuccessCondition: "result[0] == 1",
			FailureCondition: "result[0] == 0",
			Provider:         v1alpha1.MetricProvider{Prometheus: &v1alpha1.PrometheusMetric{Address: base(t), Query: q}},
		}
		api, err := prometheus.NewPrometheusAPI(metric)
		if err != nil {
			t.Fatal(err)
		}
		p, err := prometheus.NewPrometheusProvider(api, *log.NewEntry(log.New()), metric)
		if err != nil {
			t.Fatal(err)
		}
		m := p.Run(&v1alpha1.AnalysisRun{}, metric)
		if m.Phase != want {
			t.Fatalf("%s: phase %s (%s) value %q, want %s", q, m.Phase, m.Message, m.Value, want)
		}
	}
}
