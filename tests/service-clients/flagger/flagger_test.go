// Flagger's own code against canary-judge serve: the webhook caller (status <= 202 passes,
// a 4xx body becomes the error text) and the Prometheus metric provider (vector parsing,
// vector(1) availability probe).
package flagger

import (
	"os"
	"strings"
	"testing"

	flaggerv1 "github.com/fluxcd/flagger/pkg/apis/flagger/v1beta1"
	"github.com/fluxcd/flagger/pkg/controller"
	"github.com/fluxcd/flagger/pkg/metrics/providers"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func base(t *testing.T) string {
	u := os.Getenv("CANARY_JUDGE_HTTP")
	if u == "" {
		t.Fatal("CANARY_JUDGE_HTTP is not set (run scripts/service-check)")
	}
	return strings.TrimRight(u, "/")
}

func canary(name string) flaggerv1.Canary {
	return flaggerv1.Canary{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"}}
}

func hook(t *testing.T, typ flaggerv1.HookType, path string, meta map[string]string) flaggerv1.CanaryWebhook {
	return flaggerv1.CanaryWebhook{Name: "canary-judge", Type: typ, URL: base(t) + path, Timeout: "9s", Metadata: &meta}
}

func TestWebhookRolloutPass(t *testing.T) {
	err := controller.CallWebhook(canary("pass"), flaggerv1.CanaryPhaseProgressing,
		hook(t, flaggerv1.RolloutHook, "/flagger/rollout", map[string]string{"template": "inline-pass"}))
	if err != nil {
		t.Fatalf("passing analysis must be accepted by Flagger, got %v", err)
	}
}

func TestWebhookRolloutFailCarriesReason(t *testing.T) {
	err := controller.CallWebhook(canary("fail"), flaggerv1.CanaryPhaseProgressing,
		hook(t, flaggerv1.RolloutHook, "/flagger/rollout", map[string]string{"template": "inline-fail"}))
	if err == nil {
		t.Fatal("failing analysis must be rejected by Flagger")
	}
	// Flagger turns a non-retried 4xx into an error whose text is our body.
	if !strings.HasPrefix(err.Error(), "canary-judge fail: ") || !strings.Contains(err.Error(), "latency-ms") ||
		strings.Count(strings.TrimSpace(err.Error()), "\n") != 0 {
		t.Fatalf("error should carry the one-line reason naming the failing metric, got %q", err)
	}
}

func TestWebhookInconclusivePassesByDefault(t *testing.T) {
	err := controller.CallWebhook(canary("incon"), flaggerv1.CanaryPhaseProgressing,
		hook(t, flaggerv1.RolloutHook, "/flagger/rollout", map[string]string{"template": "inline-inconclusive"}))
	if err != nil {
		t.Fatalf("inconclusive answers 200 by default, got %v", err)
	}
}

func TestWebhookPreRolloutAndConfirmPromotion(t *testing.T) {
	for _, c := range []struct {
		typ  flaggerv1.HookType
		path string
	}{{flaggerv1.PreRolloutHook, "/flagger/pre-rollout"}, {flaggerv1.ConfirmPromotionHook, "/flagger/confirm-promotion"}} {
		if err := controller.CallWebhook(canary("gate"), flaggerv1.CanaryPhaseProgressing,
			hook(t, c.typ, c.path, map[string]string{"template": "inline-pass"})); err != nil {
			t.Fatalf("%s pass: %v", c.path, err)
		}
		if err := controller.CallWebhook(canary("gate"), flaggerv1.CanaryPhaseProgressing,
			hook(t, c.typ, c.path, map[string]string{"template": "inline-fail"})); err == nil {
			t.Fatalf("%s fail must be rejected", c.path)
		}
	}
}

func TestWebhookUnknownTemplateIsRejectedWithName(t *testing.T) {
	err := controller.CallWebhook(canary("x"), flaggerv1.CanaryPhaseProgressing,
		hook(t, flaggerv1.RolloutHook, "/flagger/rollout", map[string]string{"template": "no-such"}))
	if err == nil || !strings.Contains(err.Error(), "no-such") {
		t.Fatalf("unknown template must be a 4xx naming it, got %v", err)
	}
}

func TestWebhookPrometheusBacked(t *testing.T) {
	// The real Prometheus behind the service holds a canary with 3x the baseline's errors.
	err := controller.CallWebhook(canary("errors"), flaggerv1.CanaryPhaseProgressing,
		hook(t, flaggerv1.RolloutHook, "/flagger/rollout",
			map[string]string{"template": "errors", "scenario": "errors", "lookback": "60m"}))
	if err == nil || !strings.Contains(err.Error(), "canary-judge fail: ") || !strings.Contains(err.Error(), "http-errors") {
		t.Fatalf("3x errors must fail through Prometheus, got %v", err)
	}
	err = controller.CallWebhook(canary("healthy"), flaggerv1.CanaryPhaseProgressing,
		hook(t, flaggerv1.RolloutHook, "/flagger/rollout",
			map[string]string{"template": "errors", "scenario": "healthy", "lookback": "60m"}))
	if err != nil {
		t.Fatalf("healthy canary must not be rejected, got %v", err)
	}
}

func provider(t *testing.T) *providers.PrometheusProvider {
	p, err := providers.NewPrometheusProvider(flaggerv1.MetricTemplateProvider{Type: "prometheus", Address: base(t)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPrometheusProviderIsOnline(t *testing.T) {
	ok, err := provider(t).IsOnline()
	if err != nil || !ok {
		t.Fatalf("vector(1) probe: ok=%v err=%v", ok, err)
	}
}

func TestPrometheusProviderVerdicts(t *testing.T) {
	p := provider(t)
	cases := map[string]float64{
		`canary_judge{template="inline-pass"}`:         1,
		`canary_judge{template="inline-fail"}`:         0,
		`canary_judge{template="errors", scenario="errors", lookback="60m"}`: 0,
	}
	for q, want := range cases {
		got, err := p.RunQuery(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if got != want {
			t.Fatalf("%s: got %v want %v", q, got, want)
		}
	}
	score, err := p.RunQuery(`canary_judge_score{template="inline-pass"}`)
	if err != nil || score < 0 || score > 100 {
		t.Fatalf("score query: %v %v", score, err)
	}
	if _, err := p.RunQuery(`canary_judge{template="no-such"}`); err == nil || !strings.Contains(err.Error(), "no-such") {
		t.Fatalf("unknown template must be an error naming it, got %v", err)
	}
}
