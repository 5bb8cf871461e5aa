// Command refplugin is a minimal Go metric-provider plugin built on Argo Rollouts' own SDK
// (rpc.RpcMetricProviderPlugin + go-plugin). It is a test-only reference for the conformance
// harness's mechanics (process start, Ping, concurrency, idle gaps, Quit) and a baseline for
// benchmarks; it does not judge anything: Run answers Successful with the plugin config as
// its value, or Error when that config is not JSON.
package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/argoproj/argo-rollouts/metricproviders/plugin/rpc"
	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/argoproj/argo-rollouts/utils/plugin/types"
	goPlugin "github.com/hashicorp/go-plugin"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

type reference struct{}

func (reference) InitPlugin() types.RpcError { return types.RpcError{} }

func (reference) Run(_ *v1alpha1.AnalysisRun, m v1alpha1.Metric) v1alpha1.Measurement {
	start := metav1.Now()
	out := v1alpha1.Measurement{StartedAt: &start}
	if len(m.Provider.Plugin) != 1 {
		out.Phase = v1alpha1.AnalysisPhaseError
		out.Message = fmt.Sprintf("expected one plugin entry, got %d", len(m.Provider.Plugin))
	}
	for _, raw := range m.Provider.Plugin {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			out.Phase = v1alpha1.AnalysisPhaseError
			out.Message = "config is not JSON: " + err.Error()
		} else {
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
