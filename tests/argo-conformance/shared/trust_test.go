package conformance

// The trust boundary (issue 12), through Argo's own plugin client: the operator's data
// sources come from a file the platform team passes to the plugin (args on v1.9, the
// environment on v1.6); an AnalysisTemplate names a source and may not make the plugin read
// the controller's files or environment, nor reach an address outside the operator's
// allow-list. A loopback recorder stands for "anywhere a hostile template points": for every
// refused template it must receive nothing, and no secret may appear in the measurement or
// in the plugin's log lines that the host re-logs.

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/argoproj/argo-rollouts/metricproviders/plugin/rpc"
	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
)

const (
	// What the controller holds and a template must never obtain.
	controllerSecretFileValue = "controller-token-from-file-5ecret"
	controllerSecretEnvName   = "CJ_CONFORMANCE_CONTROLLER_SECRET"
	controllerSecretEnvValue  = "controller-token-from-env-5ecret"
	// A team's own token, as Argo resolves `{{args.token}}` from a Secret of its namespace.
	tenantToken = "tenant-token-from-secretkeyref-77"
)

// recorder counts every request it receives (and keeps their Authorization headers); it
// answers like a Prometheus with no series.
type recorder struct {
	mu    sync.Mutex
	reqs  []string
	auths []string
	url   string
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req.Method+" "+req.URL.Path)
	r.auths = append(r.auths, req.Header.Get("Authorization"))
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"status":"success","data":{"resultType":"matrix","result":[]}}`))
}

func (r *recorder) snapshot() ([]string, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.reqs...), append([]string(nil), r.auths...)
}

var (
	rec                  *recorder
	faultAddr            = map[string]string{}
	controllerSecretPath string
)

func listen(t *testing.T, h http.Handler) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if h == nil {
		addr := "http://" + l.Addr().String()
		l.Close()
		return addr
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(l)
	return "http://" + l.Addr().String()
}

// writeSources starts the recorder and the fault servers, plants the controller's secrets
// (a file and an environment variable the plugin inherits) and writes the operator's
// sources file into dir. Returns its path.
func writeSources(t *testing.T, dir string) string {
	rec = &recorder{}
	rec.url = listen(t, rec)
	faultAddr["refusing"] = listen(t, nil)
	faultAddr["slow"] = listen(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(5 * time.Second)
	}))
	faultAddr["error-json"] = listen(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(503)
		w.Write([]byte(`{"status":"error","errorType":"unavailable","error":"too many queries"}`))
	}))
	controllerSecretPath = filepath.Join(dir, "controller-token")
	if err := os.WriteFile(controllerSecretPath, []byte(controllerSecretFileValue+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Setenv(controllerSecretEnvName, controllerSecretEnvValue)
	prom := os.Getenv("CANARY_JUDGE_PROM_URL")
	if prom == "" {
		prom = faultAddr["refusing"]
	}
	text := fmt.Sprintf(`sources:
  - name: default
    default: true
    address: %q
    timeout: 5s
  - name: bench
    address: %q
    timeout: 10s
    step: 15s
  - name: refusing
    address: %q
    timeout: 1s
  - name: slow
    address: %q
    timeout: 1s
  - name: error-json
    address: %q
    timeout: 1s
  - name: payments-only
    namespaces: [payments]
    address: %q
tenant_prometheus:
  allowed_addresses: [%q]
  max_timeout: 2s
`, prom, prom, faultAddr["refusing"], faultAddr["slow"], faultAddr["error-json"], rec.url, rec.url+"/tenant")
	path := filepath.Join(dir, "sources.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// tenantConfig is a one-metric count test whose queries go wherever `prom` (a template's own
// prometheus block) or `source` say.
func tenantConfig(prom map[string]any, source string) json.RawMessage {
	q := `sum(increase(http_requests_total{code=~"5.."}[1m]))`
	cfg := map[string]any{
		"window": map[string]any{"window": "10m"},
		"metrics": []any{map[string]any{
			"name": "errors", "method": "threshold", "params": map[string]any{"max": 1},
			"canary": map[string]any{"query": q},
		}},
	}
	if prom != nil {
		cfg["prometheus"] = prom
	}
	if source != "" {
		cfg["source"] = source
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		panic(err)
	}
	return raw
}

func mustNotShow(t *testing.T, m v1alpha1.Measurement, secrets ...string) {
	t.Helper()
	md, _ := json.Marshal(m.Metadata)
	for _, s := range secrets {
		for where, text := range map[string]string{
			"Message": m.Message, "Value": m.Value, "Metadata": string(md), "plugin log": hostLog.String(),
		} {
			if strings.Contains(text, s) {
				t.Errorf("secret %q appears in %s", s, where)
			}
		}
	}
}

func trustCases(t *testing.T, get func(*testing.T) rpc.MetricProviderPlugin, judged bool) {
	if !judged {
		t.Run("trust", func(t *testing.T) { t.Skip("reference plugin has no data sources") })
		return
	}
	tenant := rec.url + "/tenant"
	hostile := []struct {
		name, field string
		m           v1alpha1.Metric
	}{
		{"bearer_token_file", "prometheus.bearer_token.file", metric(tenantConfig(map[string]any{
			"address": tenant, "bearer_token": map[string]any{"file": controllerSecretPath}}, ""), "", "")},
		{"bearer_token_sa_token_file", "prometheus.bearer_token.file", metric(tenantConfig(map[string]any{
			"address": tenant, "bearer_token": map[string]any{"file": "/var/run/secrets/kubernetes.io/serviceaccount/token"}}, ""), "", "")},
		{"bearer_token_env", "prometheus.bearer_token.env", metric(tenantConfig(map[string]any{
			"address": tenant, "bearer_token": map[string]any{"env": controllerSecretEnvName}}, ""), "", "")},
		{"basic_auth_password_file", "prometheus.basic_auth.password.file", metric(tenantConfig(map[string]any{
			"address": tenant, "basic_auth": map[string]any{"username": "u", "password": map[string]any{"file": controllerSecretPath}}}, ""), "", "")},
		{"basic_auth_password_env", "prometheus.basic_auth.password.env", metric(tenantConfig(map[string]any{
			"address": tenant, "basic_auth": map[string]any{"username": "u", "password": map[string]any{"env": controllerSecretEnvName}}}, ""), "", "")},
		{"ca_file", "prometheus.ca_file", metric(tenantConfig(map[string]any{
			"address": tenant, "ca_file": controllerSecretPath}, ""), "", "")},
		{"header_from_env", "prometheus.headers.X-Api-Key.env", metric(tenantConfig(map[string]any{
			"address": tenant, "headers": map[string]any{"X-Api-Key": map[string]any{"env": controllerSecretEnvName}}}, ""), "", "")},
		{"header_from_file", "prometheus.headers.X-Api-Key.file", metric(tenantConfig(map[string]any{
			"address": tenant, "headers": map[string]any{"X-Api-Key": map[string]any{"file": controllerSecretPath}}}, ""), "", "")},
		{"address_outside_allow_list", "prometheus.address", metric(tenantConfig(map[string]any{
			"address": rec.url + "/elsewhere"}, ""), "", "")},
		{"address_outside_allow_list_with_inline_token", "prometheus.address", metric(tenantConfig(map[string]any{
			"address": rec.url, "bearer_token": map[string]any{"value": tenantToken}}, ""), "", "")},
		{"unknown_source", "`source: nope` is not a configured data source", metric(tenantConfig(nil, "nope"), "", "")},
		{"source_of_another_namespace", "may not be used from namespace `shop`", metric(tenantConfig(nil, "payments-only"), "", "")},
		{"source_and_prometheus", "not both", metric(tenantConfig(map[string]any{"address": tenant}, "default"), "", "")},
		{"file_series_outside_data_dir", "outside the data directory", metric(json.RawMessage(
			`{"metrics":[{"name":"x","method":"welch","canary":{"file":"`+controllerSecretPath+`"},"baseline":{"values":[1,2]}}]}`), "", "")},
	}
	for _, h := range hostile {
		t.Run("trust_refuses_"+h.name, func(t *testing.T) {
			before, _ := rec.snapshot()
			m := get(t).Run(analysisRun(h.m), h.m)
			after, _ := rec.snapshot()
			t.Logf("%s: phase %s: %s", h.name, m.Phase, m.Message)
			if m.Phase != v1alpha1.AnalysisPhaseError {
				t.Fatalf("phase %s, want Error: %s", m.Phase, m.Message)
			}
			if !strings.Contains(m.Message, h.field) {
				t.Errorf("message must name %q: %s", h.field, m.Message)
			}
			if len(after) != len(before) {
				t.Errorf("the recorder received %d request(s): %v", len(after)-len(before), after[len(before):])
			}
			mustNotShow(t, m, controllerSecretFileValue, controllerSecretEnvValue, tenantToken)
		})
	}

	// Allowed: the team's own Prometheus at an allow-listed address, with the token Argo
	// resolved from the team's Secret. It is sent there (and only there) and shown nowhere.
	t.Run("trust_tenant_prometheus_with_inline_token", func(t *testing.T) {
		before, _ := rec.snapshot()
		cfg := tenantConfig(map[string]any{"address": tenant, "timeout": "1h",
			"bearer_token": map[string]any{"value": tenantToken}}, "")
		m := get(t).Run(analysisRun(metric(cfg, "", "")), metric(cfg, "", ""))
		reqs, auths := rec.snapshot()
		t.Logf("phase %s: %s; requests %v", m.Phase, m.Message, reqs[len(before):])
		if m.Phase == v1alpha1.AnalysisPhaseError {
			t.Fatalf("allowed tenant Prometheus gave Error: %s", m.Message)
		}
		if len(reqs) == len(before) {
			t.Fatal("no request reached the allow-listed address")
		}
		for i := len(before); i < len(reqs); i++ {
			if !strings.HasPrefix(reqs[i], "POST /tenant/api/v1/") && !strings.HasPrefix(reqs[i], "GET /tenant/api/v1/") {
				t.Errorf("request outside the allowed path: %s", reqs[i])
			}
			if auths[i] != "Bearer "+tenantToken {
				t.Errorf("request %d Authorization = %q, want the team's token", i, auths[i])
			}
		}
		mustNotShow(t, m, tenantToken, controllerSecretFileValue, controllerSecretEnvValue)
	})

	// The operator's named source reaches its own address; nothing goes to the recorder.
	t.Run("trust_named_source_by_default", func(t *testing.T) {
		before, _ := rec.snapshot()
		cfg := tenantConfig(nil, "")
		m := get(t).Run(analysisRun(metric(cfg, "", "")), metric(cfg, "", ""))
		after, _ := rec.snapshot()
		if m.Phase == v1alpha1.AnalysisPhaseError && os.Getenv("CANARY_JUDGE_PROM_URL") != "" {
			t.Fatalf("default source gave Error: %s", m.Message)
		}
		if len(after) != len(before) {
			t.Errorf("the recorder received %v", after[len(before):])
		}
	})
}
