// Command refplugin is a small Go metric-provider plugin built on Argo Rollouts' own SDK
// (rpc.RpcMetricProviderPlugin + go-plugin). It is test-only code with two uses:
//
//   - the baseline of the plugin-overhead benchmark (../bench): for a `threshold` metric with
//     inline canary values it does the same minimal work as a canary-judge Run — parse the
//     plugin config JSON, reduce the canary series with the configured aggregate (mean by
//     default, also median, sum, max, min, last) and compare it with the absolute `min` /
//     `max` bounds — and answers Successful or Failed with the aggregate in the value;
//   - a reference for the conformance harness's mechanics (process start, Ping, concurrency,
//     idle gaps, Quit): any other method is not judged, Run answers Successful with the plugin
//     config as its value, or Error when that config is not JSON.
//
// It is not a port of canary-judge: relative bounds, traffic guards, files and queries are
// not supported (Run answers Error naming the unsupported key).
package main

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/argoproj/argo-rollouts/metricproviders/plugin/rpc"
	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/argoproj/argo-rollouts/utils/plugin/types"
	goPlugin "github.com/hashicorp/go-plugin"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

type series struct {
	Values []float64 `json:"values"`
}

type thresholdParams struct {
	Aggregate     string   `json:"aggregate"`
	Min           *float64 `json:"min"`
	Max           *float64 `json:"max"`
	MinSamples    *int     `json:"min_samples"`
	MaxRatio      *float64 `json:"max_ratio"`
	MinRatio      *float64 `json:"min_ratio"`
	MaxDifference *float64 `json:"max_difference"`
	MinDifference *float64 `json:"min_difference"`
	MinRequests   *float64 `json:"min_requests"`
}

type metricConfig struct {
	Name     string          `json:"name"`
	Method   string          `json:"method"`
	Params   thresholdParams `json:"params"`
	Canary   series          `json:"canary"`
	Baseline *series         `json:"baseline"`
}

type config struct {
	Metrics []metricConfig `json:"metrics"`
}

type metricResult struct {
	Verdict   string  `json:"verdict"`
	Aggregate float64 `json:"aggregate"`
	N         int     `json:"n"`
	Reason    string  `json:"reason"`
}

type result struct {
	Verdict string                  `json:"verdict"`
	Metrics map[string]metricResult `json:"metrics"`
}

// aggregate reduces a non-empty series as canary-judge's threshold method does.
func aggregate(kind string, v []float64) (float64, error) {
	switch kind {
	case "", "mean":
		s := 0.0
		for _, x := range v {
			s += x
		}
		return s / float64(len(v)), nil
	case "median":
		s := slices.Clone(v)
		slices.Sort(s)
		n := len(s)
		if n%2 == 1 {
			return s[n/2], nil
		}
		return 0.5 * (s[n/2-1] + s[n/2]), nil
	case "sum":
		s := 0.0
		for _, x := range v {
			s += x
		}
		return s, nil
	case "max":
		return slices.Max(v), nil
	case "min":
		return slices.Min(v), nil
	case "last":
		return v[len(v)-1], nil
	}
	return 0, fmt.Errorf("unknown aggregate %q", kind)
}

// threshold judges one metric: Inconclusive below min_samples, fail when the aggregate is
// outside [min, max], else pass.
func threshold(m metricConfig) (metricResult, error) {
	p := m.Params
	if p.MaxRatio != nil || p.MinRatio != nil || p.MaxDifference != nil || p.MinDifference != nil || p.MinRequests != nil {
		return metricResult{}, fmt.Errorf("metric %q: refplugin supports only absolute min/max bounds", m.Name)
	}
	if p.Min == nil && p.Max == nil {
		return metricResult{}, fmt.Errorf("metric %q: set min or max", m.Name)
	}
	for i, x := range m.Canary.Values {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return metricResult{}, fmt.Errorf("metric %q: canary value %d is not finite", m.Name, i)
		}
	}
	need := 1
	if p.MinSamples != nil && *p.MinSamples > 1 {
		need = *p.MinSamples
	}
	r := metricResult{N: len(m.Canary.Values), Verdict: "inconclusive"}
	if len(m.Canary.Values) < need {
		r.Reason = fmt.Sprintf("too few canary points: %d (need at least %d)", r.N, need)
		return r, nil
	}
	c, err := aggregate(p.Aggregate, m.Canary.Values)
	if err != nil {
		return metricResult{}, fmt.Errorf("metric %q: %w", m.Name, err)
	}
	r.Aggregate = c
	r.Verdict = "pass"
	if p.Min != nil && c < *p.Min {
		r.Verdict, r.Reason = "fail", fmt.Sprintf("canary %v is below the minimum %v", c, *p.Min)
	} else if p.Max != nil && c > *p.Max {
		r.Verdict, r.Reason = "fail", fmt.Sprintf("canary %v is above the maximum %v", c, *p.Max)
	} else {
		r.Reason = "all bounds hold"
	}
	return r, nil
}

// judge returns the phase, value and metadata for a config whose metrics are all thresholds,
// and ok=false when some metric uses another method (then Run only echoes the config).
func judge(cfg config) (phase v1alpha1.AnalysisPhase, value string, md map[string]string, ok bool, err error) {
	if len(cfg.Metrics) == 0 {
		return "", "", nil, false, nil
	}
	for _, m := range cfg.Metrics {
		if m.Method != "threshold" {
			return "", "", nil, false, nil
		}
	}
	res := result{Verdict: "pass", Metrics: make(map[string]metricResult, len(cfg.Metrics))}
	md = map[string]string{}
	for _, m := range cfg.Metrics {
		r, err := threshold(m)
		if err != nil {
			return "", "", nil, true, err
		}
		res.Metrics[m.Name] = r
		md[m.Name+".verdict"] = r.Verdict
		md[m.Name+".effect"] = strconv.FormatFloat(r.Aggregate, 'g', -1, 64)
		switch {
		case r.Verdict == "fail":
			res.Verdict = "fail"
		case r.Verdict == "inconclusive" && res.Verdict == "pass":
			res.Verdict = "inconclusive"
		}
	}
	md["verdict"] = res.Verdict
	raw, err := json.Marshal(res)
	if err != nil {
		return "", "", nil, true, err
	}
	switch res.Verdict {
	case "pass":
		phase = v1alpha1.AnalysisPhaseSuccessful
	case "fail":
		phase = v1alpha1.AnalysisPhaseFailed
	default:
		phase = v1alpha1.AnalysisPhaseInconclusive
	}
	return phase, string(raw), md, true, nil
}

type reference struct{}

func (reference) InitPlugin() types.RpcError { return types.RpcError{} }

func (reference) Run(_ *v1alpha1.AnalysisRun, m v1alpha1.Metric) v1alpha1.Measurement {
	start := metav1.Now()
	out := v1alpha1.Measurement{StartedAt: &start}
	fail := func(msg string) v1alpha1.Measurement {
		out.Phase = v1alpha1.AnalysisPhaseError
		out.Message = msg
		end := metav1.Now()
		out.FinishedAt = &end
		return out
	}
	if len(m.Provider.Plugin) != 1 {
		return fail(fmt.Sprintf("expected one plugin entry, got %d", len(m.Provider.Plugin)))
	}
	for _, raw := range m.Provider.Plugin {
		var cfg config
		if err := json.Unmarshal(raw, &cfg); err != nil {
			var v any
			if json.Unmarshal(raw, &v) != nil {
				return fail("config is not JSON: " + err.Error())
			}
			// JSON, but not our shape: protocol-only reference behaviour (echo).
		}
		phase, value, md, judged, err := judge(cfg)
		switch {
		case err != nil:
			return fail(err.Error())
		case judged:
			out.Phase, out.Value, out.Metadata = phase, value, md
		default:
			out.Phase = v1alpha1.AnalysisPhaseSuccessful
			out.Value = string(raw)
		}
	}
	end := metav1.Now()
	out.FinishedAt = &end
	return out
}

func (reference) Resume(_ *v1alpha1.AnalysisRun, _ v1alpha1.Metric, m v1alpha1.Measurement) v1alpha1.Measurement {
	return m
}

func (reference) Terminate(_ *v1alpha1.AnalysisRun, _ v1alpha1.Metric, m v1alpha1.Measurement) v1alpha1.Measurement {
	now := metav1.NewTime(time.Now())
	m.Phase = v1alpha1.AnalysisPhaseSuccessful
	m.FinishedAt = &now
	return m
}

func (reference) GarbageCollect(*v1alpha1.AnalysisRun, v1alpha1.Metric, int) types.RpcError {
	return types.RpcError{}
}

func (reference) Type() string { return "go-reference" }

func (reference) GetMetadata(v1alpha1.Metric) map[string]string { return map[string]string{} }

func main() {
	goPlugin.Serve(&goPlugin.ServeConfig{
		HandshakeConfig: goPlugin.HandshakeConfig{
			ProtocolVersion:  1,
			MagicCookieKey:   "ARGO_ROLLOUTS_RPC_PLUGIN",
			MagicCookieValue: "metricprovider",
		},
		Plugins: map[string]goPlugin.Plugin{
			"RpcMetricProviderPlugin": &rpc.RpcMetricProviderPlugin{Impl: reference{}},
		},
	})
}
