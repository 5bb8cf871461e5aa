package conformance

// Issue 7 part 3: one analysis step against a REAL Prometheus, timed through Argo's own
// plugin client, beside the raw range queries the step sends, issued by a minimal Go client
// in the same process, against the same server, data and window. Not a conformance case:
// it runs only with CANARY_JUDGE_BENCH_PROM=1 (scripts/bench-prometheus sets it) and writes
// its timings as JSON to CANARY_JUDGE_BENCH_OUT.
//
//	CANARY_JUDGE_BENCH_PROM=1   enable
//	CANARY_JUDGE_BENCH_N        measured iterations per variant (default 300)
//	CANARY_JUDGE_BENCH_OUT      JSON output file
//	CANARY_JUDGE_PROM_URL/_START/_END as for the Prometheus cases

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/argoproj/argo-rollouts/metricproviders/plugin/client"
	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
)

// benchQueries are the four range queries of benches/prometheus/two-metrics.yaml with the
// scenario filled in: error rate and p99 latency, canary and baseline.
func benchQueries(scenario string) []string {
	var out []string
	for _, track := range []string{"canary", "baseline"} {
		out = append(out, fmt.Sprintf(
			`sum(rate(http_requests_total{scenario=%q,track=%q,code=~"5.."}[1m]))`, scenario, track))
	}
	for _, track := range []string{"canary", "baseline"} {
		out = append(out, fmt.Sprintf(
			`histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{scenario=%q,track=%q}[1m])))`,
			scenario, track))
	}
	return out
}

// benchConfig is benches/prometheus/two-metrics.yaml as plugin JSON.
func benchConfig(address, scenario, since, until string) json.RawMessage {
	q := benchQueries(scenario)
	cfg := map[string]any{
		"source": "bench", // the operator source written by setup (trust_test.go)
		"window": map[string]any{"since": since, "until": until},
		"metrics": []any{
			map[string]any{"name": "error-rate", "method": "mann-whitney",
				"canary": map[string]any{"query": q[0]}, "baseline": map[string]any{"query": q[1]}},
			map[string]any{"name": "latency-p99", "method": "mann-whitney",
				"canary": map[string]any{"query": q[2]}, "baseline": map[string]any{"query": q[3]}},
		},
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		panic(err)
	}
	return raw
}

// rawQuery sends one query_range exactly as canary-judge does (POST form with query, start,
// end, step, timeout) and reads the whole body.
func rawQuery(c *http.Client, base, q, start, end string) (int, error) {
	form := url.Values{"query": {q}, "start": {start}, "end": {end}, "step": {"15"}, "timeout": {"10000ms"}}
	resp, err := c.PostForm(base+"/api/v1/query_range", form)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"resultType":"matrix"`) {
		return 0, fmt.Errorf("status %d: %.200s", resp.StatusCode, body)
	}
	return len(body), nil
}

type benchStats struct {
	Name   string  `json:"name"`
	N      int     `json:"n"`
	MeanMs float64 `json:"mean_ms"`
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P99Ms  float64 `json:"p99_ms"`
	MinMs  float64 `json:"min_ms"`
}

func summarize(name string, d []time.Duration) benchStats {
	ms := make([]float64, len(d))
	sum := 0.0
	for i, x := range d {
		ms[i] = float64(x.Nanoseconds()) / 1e6
		sum += ms[i]
	}
	sort.Float64s(ms)
	q := func(p float64) float64 { return ms[int(p*float64(len(ms)-1)+0.5)] }
	return benchStats{Name: name, N: len(ms), MeanMs: sum / float64(len(ms)), P50Ms: q(0.5),
		P90Ms: q(0.9), P99Ms: q(0.99), MinMs: ms[0]}
}

func TestBenchPrometheusStep(t *testing.T) {
	if os.Getenv("CANARY_JUDGE_BENCH_PROM") != "1" {
		t.Skip("benchmark: set CANARY_JUDGE_BENCH_PROM=1 (scripts/bench-prometheus)")
	}
	base := os.Getenv("CANARY_JUDGE_PROM_URL")
	start, end := os.Getenv("CANARY_JUDGE_PROM_START"), os.Getenv("CANARY_JUDGE_PROM_END")
	if base == "" || start == "" || end == "" {
		t.Fatal("CANARY_JUDGE_PROM_URL, _START and _END are required")
	}
	n := 300
	if s := os.Getenv("CANARY_JUDGE_BENCH_N"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 10 {
			t.Fatalf("CANARY_JUDGE_BENCH_N=%q: need an integer ≥ 10", s)
		}
		n = v
	}
	setup(t)
	scenario := "healthy"
	cfg := benchConfig(base, scenario, start, end)
	m := metric(cfg, "", "")
	ar := analysisRun(m)
	p, err := client.GetMetricPlugin(m)
	if err != nil {
		t.Fatalf("GetMetricPlugin: %v", err)
	}
	queries := benchQueries(scenario)
	// One keep-alive client for the whole run: the raw side pays no connection setup.
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	seq := func() error {
		for _, q := range queries {
			if _, err := rawQuery(hc, base, q, start, end); err != nil {
				return err
			}
		}
		return nil
	}
	par := func() error {
		var wg sync.WaitGroup
		errs := make([]error, len(queries))
		for i, q := range queries {
			wg.Add(1)
			go func(i int, q string) {
				defer wg.Done()
				_, errs[i] = rawQuery(hc, base, q, start, end)
			}(i, q)
		}
		wg.Wait()
		for _, e := range errs {
			if e != nil {
				return e
			}
		}
		return nil
	}
	run := func() error {
		meas := p.Run(ar, m)
		if meas.Phase == v1alpha1.AnalysisPhaseError || !strings.Contains(meas.Value, "latency-p99") {
			return fmt.Errorf("Run: phase %s, message %q, value %.300s", meas.Phase, meas.Message, meas.Value)
		}
		return nil
	}
	// The answer being timed: both metrics judged from 241 points per arm.
	meas := p.Run(ar, m)
	t.Logf("Run: phase %s, value %.400s", meas.Phase, meas.Value)
	variants := []struct {
		name string
		f    func() error
	}{{"raw queries, sequential", seq}, {"raw queries, 4 concurrent", par}, {"plugin Run", run}}
	for i := 0; i < 20; i++ { // warm-up: connections, caches, Prometheus' own
		for _, v := range variants {
			if err := v.f(); err != nil {
				t.Fatalf("%s: %v", v.name, err)
			}
		}
	}
	times := make([][]time.Duration, len(variants))
	for i := 0; i < n; i++ { // interleaved, so drift in load hits every variant alike
		for j, v := range variants {
			t0 := time.Now()
			if err := v.f(); err != nil {
				t.Fatalf("%s: %v", v.name, err)
			}
			times[j] = append(times[j], time.Since(t0))
		}
	}
	var out []benchStats
	for j, v := range variants {
		s := summarize(v.name, times[j])
		out = append(out, s)
		t.Logf("%-28s mean %.3f ms  p50 %.3f ms  p90 %.3f ms  p99 %.3f ms", s.Name, s.MeanMs, s.P50Ms, s.P90Ms, s.P99Ms)
	}
	if path := os.Getenv("CANARY_JUDGE_BENCH_OUT"); path != "" {
		raw, _ := json.MarshalIndent(out, "", " ")
		if err := os.WriteFile(path, raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
