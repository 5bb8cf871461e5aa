// Command bench measures the overhead of an Argo Rollouts metric plugin as the Argo Rollouts
// controller sees it, for two binaries in the same run: canary-judge and the Go reference
// plugin (../refplugin, built on Argo's own SDK). It drives both through Argo's real plugin
// client (argo-rollouts v1.9.2, go-plugin v1.6.3 — the versions of ../v19): a fake clientset
// holds ConfigMap `argo-rollouts-config`, config.InitializeConfig + plugin.DownloadPlugins copy
// the binaries into ./plugin-bin, and client.GetMetricPlugin starts them (spawn, handshake
// line, yamux, Dispense, InitPlugin, Control.Ping).
//
// Measured per binary:
//   - startup: GetMetricPlugin from a cold process (median/p90 over -startups spawns) and
//     the same plus the first Run. Argo caches one client per plugin name and restarts it
//     only when the process has exited, so each sample ends with goPlugin.CleanupClients()
//     (Control.Quit, wait for exit) and the next GetMetricPlugin spawns a fresh process
//     under the same name;
//   - Run round trip p50/p99 over -calls sequential calls after -warmup calls, in -rounds
//     rounds alternating the binaries;
//   - -concurrency-way throughput over -conc-calls calls, and its p99;
//   - VmRSS / VmHWM of the plugin process (/proc/<pid>/status) right after start and after
//     all calls.
//
// It prints a markdown table with the ratios canary-judge / Go. It is a benchmark, not a
// test: no timing is asserted, but every call must return the expected phase.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/argoproj/argo-rollouts/metricproviders/plugin/client"
	"github.com/argoproj/argo-rollouts/metricproviders/plugin/rpc"
	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/argoproj/argo-rollouts/utils/config"
	"github.com/argoproj/argo-rollouts/utils/plugin"
	plugintypes "github.com/argoproj/argo-rollouts/utils/plugin/types"
	"github.com/hashicorp/go-hclog"
	goPlugin "github.com/hashicorp/go-plugin"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
)

const namespace = "argo-rollouts"

type options struct {
	startups, warmup, calls, rounds, conc, concCalls, points int
	pinCPU                                                   int
	keepDir                                                  bool
}

// subject is one plugin binary under test.
type subject struct {
	label, name, src string
	bin              string // the copy DownloadPlugins made, which is what runs
	metric           v1alpha1.Metric
	run              *v1alpha1.AnalysisRun

	startInit, startFirst []time.Duration
	seq, conc             []time.Duration
	seqRoundP50           []time.Duration
	concWall              time.Duration
	rssIdle               int64
	rssAfter, hwmAfter    int64
	seqCPU                time.Duration // plugin CPU (user+sys) over the measured sequential calls
	firstValue            string
}

// samples returns n deterministic points around 120 (a latency series in ms), all finite.
func samples(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = 120 + float64((i*37)%23) - 11 + 0.25*float64(i%4)
	}
	return out
}

// thresholdConfig is the plugin config both binaries judge: one threshold metric with the
// canary series inline (mean vs max 200), the same JSON for both.
func thresholdConfig(points int) json.RawMessage {
	cfg := map[string]any{
		"metrics": []any{map[string]any{
			"name":   "latency",
			"method": "threshold",
			"params": map[string]any{"aggregate": "mean", "max": 200.0},
			"canary": map[string]any{"values": samples(points)},
		}},
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		panic(err) // a static map of floats always marshals
	}
	return raw
}

// analysisRun is a realistic AnalysisRun as the controller sends it: the metric (with its
// config) inside the spec, labels, managed fields, one earlier measurement.
func analysisRun(m v1alpha1.Metric) *v1alpha1.AnalysisRun {
	started := metav1.NewTime(time.Date(2026, 3, 4, 10, 11, 12, 0, time.UTC))
	val := "checkout"
	return &v1alpha1.AnalysisRun{
		ObjectMeta: metav1.ObjectMeta{
			Name:              "checkout-7d9f-2",
			Namespace:         "shop",
			UID:               k8stypes.UID("5f0c3a8e-1111-2222-3333-444455556666"),
			Labels:            map[string]string{"rollouts-pod-template-hash": "7d9f"},
			CreationTimestamp: started,
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
				Name:  m.Name,
				Phase: v1alpha1.AnalysisPhaseRunning,
				Measurements: []v1alpha1.Measurement{{
					Phase: v1alpha1.AnalysisPhaseSuccessful, StartedAt: &started, FinishedAt: &started,
					Value: `{"verdict":"pass"}`,
				}},
			}},
		},
	}
}

func main() {
	var o options
	cj := flag.String("canary-judge", "", "canary-judge release binary")
	ref := flag.String("reference", "", "Go reference plugin binary (../refplugin)")
	flag.IntVar(&o.startups, "startups", 20, "cold starts per binary")
	flag.IntVar(&o.warmup, "warmup", 500, "sequential warm-up calls per round (not measured)")
	flag.IntVar(&o.calls, "calls", 10000, "measured sequential Run calls per round")
	flag.IntVar(&o.rounds, "rounds", 2, "sequential rounds per binary (alternating binaries)")
	flag.IntVar(&o.conc, "concurrency", 32, "concurrent callers")
	flag.IntVar(&o.concCalls, "conc-calls", 20000, "calls in the concurrent phase")
	flag.IntVar(&o.points, "points", 300, "inline canary points in the threshold config")
	flag.IntVar(&o.pinCPU, "pin-plugin-cpu", -1, "move every plugin thread to this CPU after start (-1: no)")
	flag.BoolVar(&o.keepDir, "keep-dir", false, "keep the working directory (plugin copies), e.g. for perf report")
	flag.Parse()
	if *cj == "" || *ref == "" {
		fmt.Fprintln(os.Stderr, "usage: bench -canary-judge BIN -reference BIN [flags]")
		os.Exit(2)
	}
	if err := benchmark(o, *cj, *ref); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		goPlugin.CleanupClients()
		os.Exit(1)
	}
}

func benchmark(o options, cjBin, refBin string) error {
	subjects := []*subject{
		{label: "canary-judge (Rust)", name: "bench/canary-judge", src: cjBin},
		{label: "Go reference (Argo SDK)", name: "bench/go-reference", src: refBin},
	}
	dir, err := os.MkdirTemp("", "plugin-bench-")
	if err != nil {
		return err
	}
	if o.keepDir {
		fmt.Fprintf(os.Stderr, "working directory (kept): %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	if err := os.Chdir(dir); err != nil {
		return err
	}
	os.Setenv("POD_NAMESPACE", namespace)
	hclog.DefaultOutput = io.Discard // plugin stderr is re-logged by the host; not measured here
	var reg strings.Builder
	for _, s := range subjects {
		abs, err := filepath.Abs(s.src)
		if err != nil {
			return err
		}
		if _, err := os.Stat(abs); err != nil {
			return fmt.Errorf("plugin binary: %w", err)
		}
		fmt.Fprintf(&reg, "- name: %q\n  location: %q\n", s.name, "file://"+abs)
	}
	kube := fake.NewSimpleClientset(&corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "argo-rollouts-config", Namespace: namespace},
		Data:       map[string]string{"metricProviderPlugins": reg.String()},
	})
	if _, err := config.InitializeConfig(kube, "argo-rollouts-config"); err != nil {
		return fmt.Errorf("InitializeConfig: %w", err)
	}
	if err := plugin.DownloadPlugins(plugin.FileDownloaderImpl{}, kube); err != nil {
		return fmt.Errorf("DownloadPlugins: %w", err)
	}
	cfg := thresholdConfig(o.points)
	for _, s := range subjects {
		p, _, err := plugin.GetPluginInfo(s.name, plugintypes.PluginTypeMetricProvider)
		if err != nil {
			return err
		}
		if s.bin, err = filepath.Abs(p); err != nil {
			return err
		}
		s.metric = v1alpha1.Metric{
			Name:     "latency-judge",
			Provider: v1alpha1.MetricProvider{Plugin: map[string]json.RawMessage{s.name: cfg}},
		}
		s.run = analysisRun(s.metric)
	}
	fmt.Fprintf(os.Stderr, "config: %d bytes, %d inline points; AnalysisRun carries it again in spec.metrics\n", len(cfg), o.points)

	// 1. Startup, alternating binaries; one unmeasured start each first (page cache, dyld).
	for i := -1; i < o.startups; i++ {
		for _, s := range subjects {
			init, first, err := coldStart(s)
			if err != nil {
				return err
			}
			if i >= 0 {
				s.startInit = append(s.startInit, init)
				s.startFirst = append(s.startFirst, first)
			}
		}
	}
	fmt.Fprintln(os.Stderr, "startup done")

	// 2. One long-lived process per binary, as the controller keeps it.
	clients := map[*subject]rpc.MetricProviderPlugin{}
	pids := map[*subject]int{}
	for _, s := range subjects {
		p, err := client.GetMetricPlugin(s.metric)
		if err != nil {
			return fmt.Errorf("%s: GetMetricPlugin: %w", s.label, err)
		}
		pid, err := pluginPID(s.bin)
		if err != nil {
			return err
		}
		if o.pinCPU >= 0 {
			if err := pin(pid, o.pinCPU); err != nil {
				return fmt.Errorf("pin %s: %w", s.label, err)
			}
		}
		clients[s], pids[s] = p, pid
		m := p.Run(s.run, s.metric)
		if m.Phase != v1alpha1.AnalysisPhaseSuccessful {
			return fmt.Errorf("%s: first Run: phase %s (%s)", s.label, m.Phase, m.Message)
		}
		s.firstValue = m.Value
		if s.rssIdle, _, err = rss(pid); err != nil {
			return err
		}
	}

	// 3. Sequential round trips, rounds alternating the binaries.
	for r := 0; r < o.rounds; r++ {
		for _, s := range subjects {
			p := clients[s]
			for i := 0; i < o.warmup; i++ {
				if err := check(s, p.Run(s.run, s.metric)); err != nil {
					return err
				}
			}
			lat := make([]time.Duration, o.calls)
			cpu0, err := cpuTime(pids[s])
			if err != nil {
				return err
			}
			for i := range lat {
				t0 := time.Now()
				m := p.Run(s.run, s.metric)
				lat[i] = time.Since(t0)
				if err := check(s, m); err != nil {
					return err
				}
			}
			cpu1, err := cpuTime(pids[s])
			if err != nil {
				return err
			}
			s.seqCPU += cpu1 - cpu0
			s.seqRoundP50 = append(s.seqRoundP50, pct(lat, 50))
			s.seq = append(s.seq, lat...)
		}
	}
	fmt.Fprintln(os.Stderr, "sequential done")

	// 4. Concurrent throughput.
	for _, s := range subjects {
		p := clients[s]
		if err := concurrent(s, p, o.conc, o.conc*20, nil); err != nil { // warm-up
			return err
		}
		s.conc = make([]time.Duration, o.concCalls)
		t0 := time.Now()
		if err := concurrent(s, p, o.conc, o.concCalls, s.conc); err != nil {
			return err
		}
		s.concWall = time.Since(t0)
	}
	fmt.Fprintln(os.Stderr, "concurrent done")

	// 5. Memory after all calls.
	for _, s := range subjects {
		var err error
		if s.rssAfter, s.hwmAfter, err = rss(pids[s]); err != nil {
			return err
		}
	}
	goPlugin.CleanupClients()

	report(o, subjects)
	return nil
}

func check(s *subject, m v1alpha1.Measurement) error {
	if m.Phase != v1alpha1.AnalysisPhaseSuccessful {
		return fmt.Errorf("%s: Run phase %s, want Successful (%s)", s.label, m.Phase, m.Message)
	}
	return nil
}

// coldStart spawns a fresh process through Argo's client and returns the time to a usable
// plugin (GetMetricPlugin: spawn, handshake, Dispense, InitPlugin, Ping) and to the end of
// the first Run, then stops every plugin process (Control.Quit) so the next call spawns anew.
func coldStart(s *subject) (time.Duration, time.Duration, error) {
	t0 := time.Now()
	p, err := client.GetMetricPlugin(s.metric)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: GetMetricPlugin: %w", s.label, err)
	}
	init := time.Since(t0)
	m := p.Run(s.run, s.metric)
	first := time.Since(t0)
	if err := check(s, m); err != nil {
		return 0, 0, err
	}
	pid, err := pluginPID(s.bin)
	if err != nil {
		return 0, 0, err
	}
	goPlugin.CleanupClients()
	for deadline := time.Now().Add(5 * time.Second); ; {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); errors.Is(err, os.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			return 0, 0, fmt.Errorf("%s: pid %d still alive after Quit", s.label, pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return init, first, nil
}

// concurrent makes n Run calls from c goroutines; lat (if not nil) receives each latency.
func concurrent(s *subject, p rpc.MetricProviderPlugin, c, n int, lat []time.Duration) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr error
	var once sync.Once
	for g := 0; g < c; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				m := p.Run(s.run, s.metric)
				if lat != nil {
					lat[i] = time.Since(t0)
				}
				if err := check(s, m); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// pluginPID finds the one live child of this process whose executable is bin.
func pluginPID(bin string) (int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	var found []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(stat)
		rest := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(rest) < 2 || rest[1] != strconv.Itoa(os.Getpid()) || rest[0] == "Z" {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && exe == bin {
			found = append(found, pid)
		}
	}
	if len(found) != 1 {
		return 0, fmt.Errorf("expected one child process running %s, found %v", bin, found)
	}
	return found[0], nil
}

// rss reads VmRSS and VmHWM (KiB) from /proc/<pid>/status.
func rss(pid int) (int64, int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	var vmRSS, vmHWM int64 = -1, -1
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			vmRSS = v
		case "VmHWM:":
			vmHWM = v
		}
	}
	if vmRSS < 0 || vmHWM < 0 {
		return 0, 0, fmt.Errorf("no VmRSS/VmHWM in /proc/%d/status", pid)
	}
	return vmRSS, vmHWM, nil
}

// cpuTime is the user+system CPU time of pid (all its threads, live or ended) from
// /proc/<pid>/stat, in clock ticks of 10 ms (USER_HZ is 100 on Linux).
func cpuTime(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	// After the comm: state(0) ppid(1) ... utime(11) stime(12).
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	k, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad utime/stime in /proc/%d/stat", pid)
	}
	return time.Duration(u+k) * 10 * time.Millisecond, nil
}

// pin moves every thread of pid to one CPU (threads it creates later inherit the mask).
func pin(pid, cpu int) error {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return err
	}
	var mask [16]uint64
	mask[cpu/64] |= 1 << (uint(cpu) % 64)
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		_, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_SETAFFINITY, uintptr(tid),
			unsafe.Sizeof(mask), uintptr(unsafe.Pointer(&mask[0])))
		if errno != 0 {
			return fmt.Errorf("sched_setaffinity(%d): %w", tid, errno)
		}
	}
	return nil
}

// pct is the nearest-rank percentile of d (d is sorted in place).
func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	i := int(math.Ceil(p/100*float64(len(d)))) - 1
	return d[max(0, min(i, len(d)-1))]
}

func us(d time.Duration) string { return fmt.Sprintf("%.1f µs", float64(d.Nanoseconds())/1e3) }
func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Nanoseconds())/1e6) }
func mib(k int64) string        { return fmt.Sprintf("%.1f MiB", float64(k)/1024) }
func ratio(a, b float64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func report(o options, s []*subject) {
	a, b := s[0], s[1]
	size := func(x *subject) int64 {
		fi, err := os.Stat(x.src)
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	type row struct {
		what         string
		va, vb       string
		fa, fb       float64
		inverseRatio bool
	}
	perCall := func(x *subject) time.Duration { return x.seqCPU / time.Duration(max(1, len(x.seq))) }
	tput := func(x *subject) float64 { return float64(len(x.conc)) / x.concWall.Seconds() }
	rows := []row{
		{what: fmt.Sprintf("start → usable (GetMetricPlugin), median of %d", o.startups), va: ms(pct(a.startInit, 50)), vb: ms(pct(b.startInit, 50)), fa: float64(pct(a.startInit, 50)), fb: float64(pct(b.startInit, 50))},
		{what: "start → usable, p90", va: ms(pct(a.startInit, 90)), vb: ms(pct(b.startInit, 90)), fa: float64(pct(a.startInit, 90)), fb: float64(pct(b.startInit, 90))},
		{what: "start → first Run done, median", va: ms(pct(a.startFirst, 50)), vb: ms(pct(b.startFirst, 50)), fa: float64(pct(a.startFirst, 50)), fb: float64(pct(b.startFirst, 50))},
		{what: fmt.Sprintf("Run round trip p50 (%d × %d sequential)", o.rounds, o.calls), va: us(pct(a.seq, 50)), vb: us(pct(b.seq, 50)), fa: float64(pct(a.seq, 50)), fb: float64(pct(b.seq, 50))},
		{what: "Run round trip p99", va: us(pct(a.seq, 99)), vb: us(pct(b.seq, 99)), fa: float64(pct(a.seq, 99)), fb: float64(pct(b.seq, 99))},
		{what: "plugin CPU per sequential Run (user+sys)", va: us(perCall(a)), vb: us(perCall(b)), fa: float64(perCall(a)), fb: float64(perCall(b))},
		{what: fmt.Sprintf("%d-way throughput (%d calls)", o.conc, o.concCalls), va: fmt.Sprintf("%.0f calls/s", tput(a)), vb: fmt.Sprintf("%.0f calls/s", tput(b)), fa: tput(a), fb: tput(b)},
		{what: fmt.Sprintf("%d-way Run p99", o.conc), va: us(pct(a.conc, 99)), vb: us(pct(b.conc, 99)), fa: float64(pct(a.conc, 99)), fb: float64(pct(b.conc, 99))},
		{what: "VmRSS after start (idle)", va: mib(a.rssIdle), vb: mib(b.rssIdle), fa: float64(a.rssIdle), fb: float64(b.rssIdle)},
		{what: "VmRSS after all calls", va: mib(a.rssAfter), vb: mib(b.rssAfter), fa: float64(a.rssAfter), fb: float64(b.rssAfter)},
		{what: "VmHWM (peak RSS) after all calls", va: mib(a.hwmAfter), vb: mib(b.hwmAfter), fa: float64(a.hwmAfter), fb: float64(b.hwmAfter)},
		{what: "binary size", va: mib(size(a) / 1024), vb: mib(size(b) / 1024), fa: float64(size(a)), fb: float64(size(b))},
	}
	fmt.Printf("| measure | %s | %s | ratio canary-judge / Go |\n|---|---:|---:|---:|\n", a.label, b.label)
	for _, r := range rows {
		fmt.Printf("| %s | %s | %s | %s |\n", r.what, r.va, r.vb, ratio(r.fa, r.fb))
	}
	fmt.Println()
	per := func(x *subject) string {
		var p []string
		for _, d := range x.seqRoundP50 {
			p = append(p, us(d))
		}
		return strings.Join(p, ", ")
	}
	fmt.Printf("Per-round sequential p50: canary-judge %s; Go %s.\n", per(a), per(b))
	fmt.Printf("Goals: p50 ≤ 0.5× Go: %s (%.2f×); RSS after calls ≤ 1/3 of Go: %s (%.2f×).\n",
		met(float64(pct(a.seq, 50)) <= 0.5*float64(pct(b.seq, 50))), float64(pct(a.seq, 50))/float64(pct(b.seq, 50)),
		met(3*a.rssAfter <= b.rssAfter), float64(a.rssAfter)/float64(b.rssAfter))
	fmt.Printf("Host: %s, GOMAXPROCS %d; plugin pinned to CPU %d (-1 = not pinned).\n", runtime.Version(), runtime.GOMAXPROCS(0), o.pinCPU)
	fmt.Printf("First Run value: canary-judge %.160s\n                 Go reference %.160s\n", a.firstValue, b.firstValue)
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "missed"
}
