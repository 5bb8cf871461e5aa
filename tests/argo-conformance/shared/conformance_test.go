// Package conformance drives canary-judge's Argo Rollouts metric plugin exactly as the Argo
// Rollouts controller does: a (fake) ConfigMap `argo-rollouts-config` registers the binary,
// Argo's own config/plugin packages copy it into ./plugin-bin, Argo's plugin client starts it
// over go-plugin, and every RPC method is called with real v1alpha1 objects. The same source
// is compiled against two host generations (see ../v19 and ../v16 go.mod).
//
// Environment:
//
//	CANARY_JUDGE_BIN       path of the plugin binary (required)
//	CONFORMANCE_IDLE=1     include the >75 s idle-gap case (yamux StreamOpenTimeout)
//	CONFORMANCE_REFERENCE=1  the binary is the Go reference plugin: skip judging semantics
//	CANARY_JUDGE_PROM_URL  test Prometheus for the Prometheus cases (prometheus_test.go)
package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/argoproj/argo-rollouts/metricproviders/plugin/client"
	"github.com/argoproj/argo-rollouts/metricproviders/plugin/rpc"
	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/argoproj/argo-rollouts/utils/config"
	"github.com/hashicorp/go-hclog"
	goPlugin "github.com/hashicorp/go-plugin"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	netrpc "net/rpc"
)

const (
	pluginName   = "canary-judge/judge"
	brokenName   = "canary-judge/broken-init"
	namespace    = "argo-rollouts"
	dataDirEnv   = "CANARY_JUDGE_DATA_DIR"
	idleGap      = 80 * time.Second
	quitDeadline = 3 * time.Second
)

// syncBuffer collects the host's hclog output (where go-plugin re-logs plugin stderr).
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var hostLog syncBuffer

func reference() bool { return os.Getenv("CONFORMANCE_REFERENCE") == "1" }

// samples are deterministic values around 100 (+shift), as in the Rust unit tests: 40 per
// arm with shift 0 pass Welch's equivalence test at a 10 % margin, shift 30 fails, 3 samples
// are inconclusive.
func samples(n int, shift float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = 100 + shift + float64((i*37)%11) - 5
	}
	return out
}

func welchConfig(n int, shift float64, extra map[string]any) json.RawMessage {
	cfg := map[string]any{
		"metrics": []any{map[string]any{
			"name":     "latency",
			"method":   "welch",
			"margin":   0.1,
			"canary":   map[string]any{"values": samples(n, shift)},
			"baseline": map[string]any{"values": samples(n, 0)},
		}},
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

func metric(cfg json.RawMessage, success, failure string) v1alpha1.Metric {
	return v1alpha1.Metric{
		Name:             "judge",
		SuccessCondition: success,
		FailureCondition: failure,
		Provider: v1alpha1.MetricProvider{
			Plugin: map[string]json.RawMessage{pluginName: cfg},
		},
	}
}

var ist = time.FixedZone("IST", 5*3600+1800)
var pdt = time.FixedZone("PDT", -7*3600)

func analysisRun(m v1alpha1.Metric) *v1alpha1.AnalysisRun {
	started := metav1.NewTime(time.Date(2026, 3, 4, 10, 11, 12, 0, ist))
	created := metav1.NewTime(time.Date(2026, 3, 4, 4, 41, 0, 0, time.UTC))
	val := "checkout"
	return &v1alpha1.AnalysisRun{
		ObjectMeta: metav1.ObjectMeta{
			Name:              "checkout-7d9f-2",
			Namespace:         "shop",
			UID:               k8stypes.UID("5f0c3a8e-1111-2222-3333-444455556666"),
			Labels:            map[string]string{"rollouts-pod-template-hash": "7d9f"},
			Annotations:       map[string]string{},
			CreationTimestamp: created,
			ManagedFields: []metav1.ManagedFieldsEntry{{
				Manager: "rollouts-controller", Operation: metav1.ManagedFieldsOperationUpdate,
				FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{}}`)},
			}},
		},
		Spec: v1alpha1.AnalysisRunSpec{
			Metrics: []v1alpha1.Metric{m},
			Args:    []v1alpha1.Argument{{Name: "service", Value: &val}},
		},
		Status: v1alpha1.AnalysisRunStatus{
			Phase:     v1alpha1.AnalysisPhaseRunning,
			StartedAt: &started,
			MetricResults: []v1alpha1.MetricResult{{
				Name:  "judge",
				Phase: v1alpha1.AnalysisPhaseRunning,
				Measurements: []v1alpha1.Measurement{{
					Phase:      v1alpha1.AnalysisPhaseInconclusive,
					StartedAt:  &started,
					FinishedAt: &started,
					Value:      `{"verdict":"inconclusive"}`,
				}},
			}},
		},
	}
}

// pluginPIDs lists the processes whose parent is this test process and whose command is the
// plugin copied into ./plugin-bin/<name>.
func pluginPIDs(t *testing.T, name string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("read /proc: %v", err)
	}
	want := filepath.Join("plugin-bin", name)
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may contain spaces, so split after the last ')'.
		s := string(stat)
		rest := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(rest) < 2 || rest[1] != strconv.Itoa(os.Getpid()) || rest[0] == "Z" {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if strings.Contains(string(cmd), want) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func onePID(t *testing.T, name string) int {
	t.Helper()
	pids := pluginPIDs(t, name)
	if len(pids) != 1 {
		t.Fatalf("expected exactly one %s plugin process, found %v", name, pids)
	}
	return pids[0]
}

// rawClient digs the *net/rpc.Client out of Argo's MetricsPluginRPC, so calls Argo's typed
// client cannot make (unknown methods, mismatched argument types) go over the same process
// and stream as the controller's.
func rawClient(t *testing.T, p rpc.MetricProviderPlugin) *netrpc.Client {
	t.Helper()
	v := reflect.ValueOf(p)
	if v.Kind() != reflect.Ptr {
		t.Fatalf("unexpected plugin client type %T", p)
	}
	f := v.Elem().FieldByName("client")
	if !f.IsValid() {
		t.Fatalf("%T has no client field", p)
	}
	return *(**netrpc.Client)(unsafe.Pointer(f.UnsafeAddr()))
}

func checkCompleted(t *testing.T, m v1alpha1.Measurement) {
	t.Helper()
	if m.StartedAt == nil || m.FinishedAt == nil {
		t.Errorf("completed measurement lacks StartedAt/FinishedAt: %+v", m)
	} else if m.FinishedAt.Before(m.StartedAt) {
		t.Errorf("FinishedAt %v before StartedAt %v", m.FinishedAt, m.StartedAt)
	}
	if m.ResumeAt != nil {
		t.Errorf("completed measurement has ResumeAt %v", m.ResumeAt)
	}
}

func verdictOf(t *testing.T, m v1alpha1.Measurement) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(m.Value), &v); err != nil {
		t.Fatalf("Value is not JSON: %q (%v); measurement %+v", m.Value, err, m)
	}
	return v
}

func setup(t *testing.T) {
	bin := os.Getenv("CANARY_JUDGE_BIN")
	if bin == "" {
		t.Fatal("CANARY_JUDGE_BIN must name the plugin binary")
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(abs); err != nil {
		t.Fatalf("plugin binary: %v", err)
	}
	// The controller copies plugins to ./plugin-bin relative to its working directory.
	dir := t.TempDir()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	t.Setenv("POD_NAMESPACE", namespace)
	hclog.DefaultOutput = &hostLog
	// The operator's data sources, passed as the platform team would (trust_test.go).
	sources := writeSources(t, dir)
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "argo-rollouts-config", Namespace: namespace},
		Data: map[string]string{
			"metricProviderPlugins": pluginEntry(pluginName, "file://"+abs, sources) +
				pluginEntry(brokenName, "file://"+abs, sources),
		},
	}
	kube := fake.NewSimpleClientset(cm)
	if _, err := config.InitializeConfig(kube, "argo-rollouts-config"); err != nil {
		t.Fatalf("InitializeConfig: %v", err)
	}
	if err := downloadPlugins(kube); err != nil {
		t.Fatalf("DownloadPlugins: %v", err)
	}
}

func TestConformance(t *testing.T) {
	t.Logf("host: %s", hostGeneration)
	setup(t)
	judged := !reference()

	var p rpc.MetricProviderPlugin
	var pid int
	t.Run("start_dispense_init_ping", func(t *testing.T) {
		var err error
		start := time.Now()
		p, err = client.GetMetricPlugin(metric(welchConfig(40, 0, nil), "", ""))
		if err != nil {
			t.Fatalf("GetMetricPlugin: %v", err)
		}
		pid = onePID(t, pluginName)
		t.Logf("plugin pid %d started, dispensed, initialised and pinged in %v", pid, time.Since(start))
	})
	if p == nil {
		t.FailNow()
	}
	get := func(t *testing.T) rpc.MetricProviderPlugin {
		t.Helper()
		// What the controller does before every measurement: lookup + Control.Ping.
		q, err := client.GetMetricPlugin(metric(welchConfig(3, 0, nil), "", ""))
		if err != nil {
			t.Fatalf("GetMetricPlugin: %v", err)
		}
		return q
	}

	t.Run("type", func(t *testing.T) {
		if got := get(t).Type(); judged && got != "canary-judge" {
			t.Errorf("Type() = %q", got)
		}
	})

	verdictCases := []struct {
		name    string
		cfg     json.RawMessage
		phase   v1alpha1.AnalysisPhase
		verdict string
	}{
		{"verdict_pass", welchConfig(40, 0, nil), v1alpha1.AnalysisPhaseSuccessful, "pass"},
		{"verdict_fail", welchConfig(40, 30, nil), v1alpha1.AnalysisPhaseFailed, "fail"},
		{"verdict_inconclusive", welchConfig(3, 0, nil), v1alpha1.AnalysisPhaseInconclusive, "inconclusive"},
	}
	for _, c := range verdictCases {
		t.Run(c.name, func(t *testing.T) {
			m := get(t).Run(analysisRun(metric(c.cfg, "", "")), metric(c.cfg, "", ""))
			checkCompleted(t, m)
			if !judged {
				return
			}
			if m.Phase != c.phase {
				t.Fatalf("phase %s, want %s: %+v", m.Phase, c.phase, m)
			}
			v := verdictOf(t, m)
			if v["verdict"] != c.verdict {
				t.Errorf("value verdict %v, want %s", v["verdict"], c.verdict)
			}
			for _, k := range []string{"verdict", "latency.verdict", "latency.effect", "latency.n", "latency.reason", "latency.method"} {
				if _, ok := m.Metadata[k]; !ok {
					t.Errorf("metadata lacks %q: %v", k, m.Metadata)
				}
			}
			if m.Metadata["latency.verdict"] != c.verdict {
				t.Errorf("latency.verdict = %q", m.Metadata["latency.verdict"])
			}
		})
	}

	errorCases := []struct {
		name, want string
		m          v1alpha1.Metric
		run        *v1alpha1.AnalysisRun
	}{
		{"error_unknown_method_in_config", "bogus",
			metric(json.RawMessage(`{"metrics":[{"name":"x","method":"bogus","canary":{"values":[1]}}]}`), "", ""), nil},
		{"error_missing_series_file", "no-such-file.csv",
			metric(json.RawMessage(`{"metrics":[{"name":"x","method":"welch","canary":{"file":"no-such-file.csv"},"baseline":{"values":[1,2]}}]}`), "", ""), nil},
		{"error_file_outside_data_dir", "outside the data directory",
			metric(json.RawMessage(`{"metrics":[{"name":"x","method":"welch","canary":{"file":"../../../../etc/passwd"},"baseline":{"values":[1,2]}}]}`), "", ""), nil},
		{"error_absolute_file_path", "outside the data directory",
			metric(json.RawMessage(`{"metrics":[{"name":"x","method":"welch","canary":{"file":"/etc/passwd"},"baseline":{"values":[1,2]}}]}`), "", ""), nil},
		{"error_config_not_json", "not a JSON object", metric(json.RawMessage(`"just a string"`), "", ""), nil},
		{"error_no_plugin_entry", "no provider.plugin entry", v1alpha1.Metric{Name: "judge"}, nil},
		{"error_several_plugin_entries", "2 provider.plugin entries", v1alpha1.Metric{Name: "judge", Provider: v1alpha1.MetricProvider{
			Plugin: map[string]json.RawMessage{pluginName: welchConfig(3, 0, nil), "other/plugin": json.RawMessage(`{}`)}}}, nil},
		{"error_bad_condition", "successCondition", metric(welchConfig(40, 0, nil), "result.verdict ==", ""), nil},
		{"error_condition_not_bool", "expected bool", metric(welchConfig(40, 0, nil), "result.score", ""), nil},
		{"error_missing_analysis_run", "RunArgs.AnalysisRun", metric(welchConfig(40, 0, nil), "", ""), &v1alpha1.AnalysisRun{}},
	}
	for _, c := range errorCases {
		t.Run(c.name, func(t *testing.T) {
			run := c.run
			if run == nil {
				run = analysisRun(c.m)
			} else {
				run = nil // a nil *AnalysisRun travels as an absent field
			}
			m := get(t).Run(run, c.m)
			if !judged {
				return
			}
			if m.Phase != v1alpha1.AnalysisPhaseError {
				t.Fatalf("phase %s, want Error: %+v", m.Phase, m)
			}
			if !strings.HasPrefix(m.Message, "failed to run via plugin: ") || !strings.Contains(m.Message, c.want) {
				t.Errorf("message %q should name %q", m.Message, c.want)
			}
			if m.FinishedAt == nil {
				t.Errorf("error measurement without FinishedAt")
			}
		})
	}

	conditionCases := []struct {
		name             string
		cfg              json.RawMessage
		success, failure string
		phase            v1alpha1.AnalysisPhase
	}{
		{"success_true", welchConfig(40, 0, nil), "result.verdict == 'pass'", "", v1alpha1.AnalysisPhaseSuccessful},
		{"success_false_is_failed", welchConfig(3, 0, nil), "result.verdict == 'pass'", "", v1alpha1.AnalysisPhaseFailed},
		{"failure_false_is_successful", welchConfig(3, 0, nil), "", "result.verdict == 'fail'", v1alpha1.AnalysisPhaseSuccessful},
		{"failure_true", welchConfig(40, 30, nil), "", "result.metrics.latency.verdict == 'fail'", v1alpha1.AnalysisPhaseFailed},
		{"both_neither_is_inconclusive", welchConfig(3, 0, nil), "result.verdict == 'pass'", "result.verdict == 'fail'", v1alpha1.AnalysisPhaseInconclusive},
		{"failure_checked_first", welchConfig(40, 0, nil), "true", "result.score >= 0", v1alpha1.AnalysisPhaseFailed},
		{"functions_and_words", welchConfig(40, 0, nil), "default(result.score, 0) > 50 and len(result.metrics) == 1 and not isNil(result)", "", v1alpha1.AnalysisPhaseSuccessful},
		{"in_and_index", welchConfig(40, 30, nil), `result["verdict"] in ['fail', 'inconclusive'] && asFloat(result.metrics.latency.effect) > 0`, "", v1alpha1.AnalysisPhaseSuccessful},
	}
	for _, c := range conditionCases {
		t.Run("condition_"+c.name, func(t *testing.T) {
			m := get(t).Run(analysisRun(metric(c.cfg, c.success, c.failure)), metric(c.cfg, c.success, c.failure))
			if judged && m.Phase != c.phase {
				t.Errorf("phase %s, want %s (%s)", m.Phase, c.phase, m.Message)
			}
		})
	}

	t.Run("unknown_method_same_stream", func(t *testing.T) {
		raw := rawClient(t, get(t))
		var reply string
		err := raw.Call("Plugin.NoSuchMethod", "an argument to skip", &reply)
		if err == nil || !strings.Contains(err.Error(), "NoSuchMethod") {
			t.Fatalf("want an rpc error naming the method, got %v", err)
		}
		// The stream must still be in sync afterwards.
		if got := get(t).Type(); judged && got != "canary-judge" {
			t.Errorf("Type() after unknown method = %q", got)
		}
	})

	t.Run("mismatched_argument_type", func(t *testing.T) {
		raw := rawClient(t, get(t))
		var args any = rpc.GetMetadataArgs{Metric: metric(welchConfig(40, 0, nil), "", "")}
		var m v1alpha1.Measurement
		err := raw.Call("Plugin.Run", &args, &m)
		if !judged {
			return // a Go plugin answers with an rpc error ("invalid args")
		}
		if err != nil {
			t.Fatalf("Run with GetMetadataArgs: rpc error %v", err)
		}
		if judged && (m.Phase != v1alpha1.AnalysisPhaseError || !strings.Contains(m.Message, "AnalysisRun")) {
			t.Errorf("want an Error measurement naming AnalysisRun, got %+v", m)
		}
	})

	t.Run("concurrent_32_runs", func(t *testing.T) {
		q := get(t)
		var wg sync.WaitGroup
		errs := make(chan string, 32)
		for i := 0; i < 32; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				shift, want := 0.0, v1alpha1.AnalysisPhaseSuccessful
				if i%2 == 1 {
					shift, want = 30, v1alpha1.AnalysisPhaseFailed
				}
				cfg := welchConfig(40, shift, nil)
				m := q.Run(analysisRun(metric(cfg, "", "")), metric(cfg, "", ""))
				if judged && m.Phase != want {
					errs <- fmt.Sprintf("run %d: phase %s want %s (%s)", i, m.Phase, want, m.Message)
				} else if !judged && m.Phase == "" {
					errs <- fmt.Sprintf("run %d: empty phase", i)
				}
			}(i)
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
	})

	t.Run("sequential_run_latency", func(t *testing.T) {
		// Not a pass/fail bound: records what one measurement costs through the whole stack
		// (gob of a full AnalysisRun, yamux, engine, reply), for comparison with refplugin.
		cfg := welchConfig(40, 0, nil)
		run, m := analysisRun(metric(cfg, "", "")), metric(cfg, "", "")
		q := get(t)
		const n = 200
		start := time.Now()
		for i := 0; i < n; i++ {
			if got := q.Run(run, m); got.Phase == v1alpha1.AnalysisPhaseError {
				t.Fatalf("run %d: %s", i, got.Message)
			}
		}
		t.Logf("%d sequential Runs: mean %v per call", n, time.Since(start)/n)
	})

	t.Run("argument_over_256KiB", func(t *testing.T) {
		cfg := welchConfig(40000, 0, nil)
		run := analysisRun(metric(cfg, "", ""))
		run.Annotations = map[string]string{"big": strings.Repeat("x", 300*1024)}
		if len(cfg) < 256*1024 {
			t.Fatalf("config only %d bytes", len(cfg))
		}
		m := get(t).Run(run, metric(cfg, "", ""))
		if judged && m.Phase != v1alpha1.AnalysisPhaseSuccessful {
			t.Fatalf("phase %s (%s)", m.Phase, m.Message)
		}
		t.Logf("config %d bytes + 300 KiB annotation (whole AnalysisRun twice): phase %s", len(cfg), m.Phase)
	})

	holdCfg := welchConfig(3, 0, map[string]any{"hold": map[string]any{"max_duration": "10m", "resume_every": "30s"}})
	var held v1alpha1.Measurement
	t.Run("hold_run_returns_running_with_resume_at", func(t *testing.T) {
		held = get(t).Run(analysisRun(metric(holdCfg, "", "")), metric(holdCfg, "", ""))
		if !judged {
			return
		}
		if held.Phase != v1alpha1.AnalysisPhaseRunning || held.ResumeAt == nil || held.StartedAt == nil || held.FinishedAt != nil {
			t.Fatalf("want Running with ResumeAt and no FinishedAt, got %+v", held)
		}
		if d := held.ResumeAt.Sub(held.StartedAt.Time); d < 29*time.Second || d > 31*time.Second {
			t.Errorf("ResumeAt - StartedAt = %v, want 30s", d)
		}
	})

	// The controller stores measurements through the API server: times come back truncated to
	// seconds, and a controller in another zone hands them over with its local offset.
	roundTrip := func(m v1alpha1.Measurement, loc *time.Location) v1alpha1.Measurement {
		conv := func(t *metav1.Time) *metav1.Time {
			if t == nil {
				return nil
			}
			c := metav1.NewTime(t.Time.Truncate(time.Second).In(loc))
			return &c
		}
		m.StartedAt, m.FinishedAt, m.ResumeAt = conv(m.StartedAt), conv(m.FinishedAt), conv(m.ResumeAt)
		return m
	}
	for _, loc := range []*time.Location{time.UTC, ist, pdt} {
		t.Run("resume_held_measurement_"+loc.String(), func(t *testing.T) {
			if !judged {
				t.Skip("reference plugin does not hold")
			}
			in := roundTrip(held, loc)
			m := get(t).Resume(analysisRun(metric(holdCfg, "", "")), metric(holdCfg, "", ""), in)
			if m.Phase != v1alpha1.AnalysisPhaseRunning || m.ResumeAt == nil {
				t.Fatalf("want still Running, got %+v", m)
			}
			if m.StartedAt == nil || !m.StartedAt.Equal(in.StartedAt) {
				t.Errorf("StartedAt changed: %v -> %v", in.StartedAt, m.StartedAt)
			}
			if m.Metadata["canary-judge.hold.deadline"] != held.Metadata["canary-judge.hold.deadline"] {
				t.Errorf("hold deadline changed: %v", m.Metadata)
			}
		})
	}

	t.Run("resume_decides_when_data_decide", func(t *testing.T) {
		failCfg := welchConfig(40, 30, map[string]any{"hold": map[string]any{"max_duration": "10m", "resume_every": "30s"}})
		m := get(t).Resume(analysisRun(metric(failCfg, "", "")), metric(failCfg, "", ""), roundTrip(held, ist))
		if !judged {
			return
		}
		if m.Phase != v1alpha1.AnalysisPhaseFailed {
			t.Fatalf("phase %s, want Failed: %+v", m.Phase, m)
		}
		checkCompleted(t, m)
	})

	t.Run("resume_past_deadline_completes", func(t *testing.T) {
		in := roundTrip(held, pdt)
		in.Metadata = map[string]string{}
		for k, v := range held.Metadata {
			in.Metadata[k] = v
		}
		in.Metadata["canary-judge.hold.deadline"] = "2020-01-01T00:00:00Z"
		m := get(t).Resume(analysisRun(metric(holdCfg, "", "")), metric(holdCfg, "", ""), in)
		if judged && m.Phase != v1alpha1.AnalysisPhaseInconclusive {
			t.Fatalf("phase %s, want Inconclusive: %+v", m.Phase, m)
		}
	})

	t.Run("terminate_held_measurement", func(t *testing.T) {
		in := roundTrip(held, ist)
		m := get(t).Terminate(analysisRun(metric(holdCfg, "", "")), metric(holdCfg, "", ""), in)
		if m.Phase != v1alpha1.AnalysisPhaseSuccessful || m.FinishedAt == nil {
			t.Fatalf("want Successful with FinishedAt, got %+v", m)
		}
		if judged && (m.ResumeAt != nil || !m.StartedAt.Equal(in.StartedAt)) {
			t.Errorf("terminated measurement: %+v", m)
		}
		_, off := m.StartedAt.Zone()
		t.Logf("StartedAt came back as %s (offset %d s)", m.StartedAt.Time, off)
	})

	t.Run("nil_and_empty_maps", func(t *testing.T) {
		cfg := welchConfig(40, 0, nil)
		run := analysisRun(metric(cfg, "", ""))
		run.Labels, run.Annotations = nil, map[string]string{}
		for _, md := range []map[string]string{nil, {}} {
			in := v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseRunning, Metadata: md}
			m := get(t).Terminate(run, metric(cfg, "", ""), in)
			if m.Phase != v1alpha1.AnalysisPhaseSuccessful {
				t.Errorf("Terminate with metadata %#v: %+v", md, m)
			}
			m = get(t).Resume(run, metric(cfg, "", ""), in)
			if judged && m.Phase != v1alpha1.AnalysisPhaseSuccessful {
				t.Errorf("Resume with metadata %#v: %+v", md, m)
			}
		}
	})

	t.Run("garbage_collect", func(t *testing.T) {
		cfg := welchConfig(40, 0, nil)
		if e := get(t).GarbageCollect(analysisRun(metric(cfg, "", "")), metric(cfg, "", ""), 10); e.HasError() {
			t.Errorf("GarbageCollect: %v", e)
		}
		if e := get(t).GarbageCollect(nil, metric(cfg, "", ""), 0); e.HasError() {
			t.Errorf("GarbageCollect with nil run: %v", e)
		}
	})

	t.Run("get_metadata", func(t *testing.T) {
		md := get(t).GetMetadata(metric(holdCfg, "", ""))
		if judged && (md["metrics"] != "latency:welch" || md["plugin"] != pluginName || md["hold.resume_every"] != "30s") {
			t.Errorf("GetMetadata = %v", md)
		}
		bad := get(t).GetMetadata(metric(json.RawMessage(`[]`), "", ""))
		if judged && !strings.Contains(bad["error"], "failed to get metadata via plugin") {
			t.Errorf("GetMetadata on bad config = %v", bad)
		}
	})

	t.Run("failed_init_then_run_reports_it", func(t *testing.T) {
		if !judged {
			t.Skip("reference plugin has no init check")
		}
		broken := v1alpha1.Metric{Name: "judge", Provider: v1alpha1.MetricProvider{
			Plugin: map[string]json.RawMessage{brokenName: welchConfig(40, 0, nil)}}}
		os.Setenv(dataDirEnv, "/nonexistent/canary-judge-data")
		_, err := client.GetMetricPlugin(broken)
		os.Unsetenv(dataDirEnv)
		if err == nil {
			t.Fatal("GetMetricPlugin should report the failed InitPlugin once")
		}
		t.Logf("first GetMetricPlugin: %v", err)
		q, err := client.GetMetricPlugin(broken) // the controller's next reconcile
		if err != nil {
			t.Fatalf("second GetMetricPlugin: %v", err)
		}
		m := q.Run(analysisRun(broken), broken)
		if m.Phase != v1alpha1.AnalysisPhaseError || !strings.Contains(m.Message, dataDirEnv) {
			t.Errorf("Run after failed init: %+v", m)
		}
	})

	t.Run("same_pid_after_error_cases", func(t *testing.T) {
		if got := onePID(t, pluginName); got != pid {
			t.Fatalf("plugin pid changed from %d to %d: the process was restarted", pid, got)
		}
	})

	prometheusCases(t, get, judged)
	trustCases(t, get, judged)

	t.Run("idle_gap_over_75s", func(t *testing.T) {
		if os.Getenv("CONFORMANCE_IDLE") != "1" {
			t.Skip("set CONFORMANCE_IDLE=1 to include the 80 s idle gap")
		}
		time.Sleep(idleGap)
		cfg := welchConfig(40, 0, nil)
		m := get(t).Run(analysisRun(metric(cfg, "", "")), metric(cfg, "", ""))
		if m.Phase == v1alpha1.AnalysisPhaseError || (judged && m.Phase != v1alpha1.AnalysisPhaseSuccessful) {
			t.Fatalf("after %v idle: %+v", idleGap, m)
		}
		if got := onePID(t, pluginName); got != pid {
			t.Fatalf("plugin restarted during the idle gap (%d -> %d)", pid, got)
		}
		if strings.Contains(hostLog.String(), "aborted stream open") {
			t.Errorf("host yamux aborted a stream open")
		}
	})

	t.Run("quit_and_exit", func(t *testing.T) {
		pids := append(pluginPIDs(t, pluginName), pluginPIDs(t, brokenName)...)
		start := time.Now()
		goPlugin.CleanupClients()
		for _, pid := range pids {
			for {
				if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); os.IsNotExist(err) {
					break
				}
				if time.Since(start) > quitDeadline {
					t.Fatalf("plugin %d still alive %v after Control.Quit", pid, quitDeadline)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		t.Logf("%d plugin process(es) exited %v after CleanupClients", len(pids), time.Since(start))
		logs := hostLog.String()
		if strings.Contains(logs, "plugin failed to exit gracefully") {
			t.Errorf("host had to kill the plugin:\n%s", logs)
		}
		if judged {
			if !strings.Contains(logs, "plugin initialised") {
				t.Errorf("plugin's hclog lines were not re-logged by the host:\n%s", logs)
			}
			if strings.Contains(logs, "timestamp=0001-01-01") {
				t.Errorf("host could not parse the plugin's @timestamp")
			}
		}
	})

	if t.Failed() {
		t.Logf("host log:\n%s", tail(hostLog.String(), 60))
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
