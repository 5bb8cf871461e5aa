// Command gob-golden records reference gob byte streams produced by Go's real encoding/gob and
// net/rpc with the real Argo Rollouts v1alpha1 types, for canary-judge's Rust gob codec tests.
//
// Usage:
//
//	go run .                         # (re)write ../golden/gob/*.bin and ../golden/gob/index.json
//	go run . verify FILE KIND...     # decode FILE (bytes written by the Rust encoder) with real
//	                                 # gob, one value per KIND, print them; exit 1 on any error
//	go run . encode-one NAME         # (internal) write one reply golden to stdout from a fresh
//	                                 # process, so that gob's process-global type ids start at 65
//
// KIND is one of: response, measurement, rpcerror, map, string, uint32, empty.
package main

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"net"
	"net/rpc"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"sync"
	"time"

	rpc_ "github.com/argoproj/argo-rollouts/metricproviders/plugin/rpc"
	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/argoproj/argo-rollouts/utils/plugin/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Fixed instants so the recordings are reproducible.
var (
	t0      = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	t1      = time.Date(2024, 1, 2, 3, 4, 35, 123456789, time.UTC)
	ist     = time.FixedZone("IST", 5*3600+30*60)
	odd     = time.FixedZone("LMT", -(4*3600 + 56*60 + 2)) // offset not a whole minute: binary v2
	utcZero = time.FixedZone("", 0)                        // a Local zone that happens to be UTC
)

func mt(t time.Time) *metav1.Time { m := metav1.NewTime(t); return &m }
func sp(s string) *string         { return &s }

func judgeMetric() v1alpha1.Metric {
	count := intstr.FromInt32(3)
	failureLimit := intstr.FromString("1")
	return v1alpha1.Metric{
		Name:             "error-rate",
		Interval:         "30s",
		Count:            &count,
		SuccessCondition: `result == "Pass"`,
		FailureLimit:     &failureLimit,
		Provider: v1alpha1.MetricProvider{
			Plugin: map[string]json.RawMessage{
				"canary-judge/judge": json.RawMessage(`{"method":"welch","canary":{"query":"rate(errors[1m])"}}`),
			},
		},
	}
}

func analysisRun() *v1alpha1.AnalysisRun {
	metric := judgeMetric()
	return &v1alpha1.AnalysisRun{
		ObjectMeta: metav1.ObjectMeta{
			Name:              "checkout-7d9f-2-judge",
			Namespace:         "shop",
			UID:               "6f1c2a7e-1111-4c2d-9e3f-0123456789ab",
			ResourceVersion:   "48213",
			Generation:        2,
			CreationTimestamp: metav1.NewTime(t0.In(utcZero)),
			Labels:            map[string]string{"rollouts-pod-template-hash": "7d9f"},
			Annotations:       map[string]string{"rollout.argoproj.io/revision": "2"},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "argoproj.io/v1alpha1", Kind: "Rollout", Name: "checkout",
				UID: "0a0b0c0d-2222-4c2d-9e3f-0123456789ab",
			}},
			ManagedFields: []metav1.ManagedFieldsEntry{{
				Manager:    "rollouts-controller",
				Operation:  metav1.ManagedFieldsOperationUpdate,
				APIVersion: "argoproj.io/v1alpha1",
				Time:       mt(t0),
				FieldsType: "FieldsV1",
				FieldsV1:   &metav1.FieldsV1{Raw: []byte(`{"f:status":{".":{}}}`)},
			}},
		},
		Spec: v1alpha1.AnalysisRunSpec{
			Metrics: []v1alpha1.Metric{metric},
			Args: []v1alpha1.Argument{
				{Name: "service", Value: sp("checkout")},
				{Name: "token", ValueFrom: &v1alpha1.ValueFrom{SecretKeyRef: &v1alpha1.SecretKeyRef{Name: "judge", Key: "token"}}},
			},
		},
		Status: v1alpha1.AnalysisRunStatus{
			Phase:     v1alpha1.AnalysisPhaseRunning,
			StartedAt: mt(t0),
			MetricResults: []v1alpha1.MetricResult{{
				Name:  "error-rate",
				Phase: v1alpha1.AnalysisPhaseRunning,
				Measurements: []v1alpha1.Measurement{{
					Phase:      v1alpha1.AnalysisPhaseSuccessful,
					StartedAt:  mt(t0),
					FinishedAt: mt(t0.Add(2 * time.Second)),
					Value:      "Pass",
					Metadata:   map[string]string{"p_value": "0.42"},
				}},
				Count:      1,
				Successful: 1,
				Metadata:   map[string]string{"judge": "welch"},
			}},
			RunSummary: v1alpha1.RunSummary{Count: 1, Successful: 1},
		},
	}
}

// lastMeasurement is what Resume/Terminate carry: round-tripped through the API (seconds).
func lastMeasurement() v1alpha1.Measurement {
	return v1alpha1.Measurement{
		Phase:     v1alpha1.AnalysisPhaseRunning,
		StartedAt: mt(t0.Add(30 * time.Second)),
		Metadata:  map[string]string{"state": "step-2"},
		ResumeAt:  mt(t0.Add(60 * time.Second)),
	}
}

// judgePlugin is a deterministic plugin implementation served through argo's real
// rpc.RpcMetricProviderPlugin server.
type judgePlugin struct{}

func (judgePlugin) InitPlugin() types.RpcError { return types.RpcError{} }
func (judgePlugin) Run(*v1alpha1.AnalysisRun, v1alpha1.Metric) v1alpha1.Measurement {
	return v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseSuccessful, StartedAt: mt(t0), FinishedAt: mt(t1),
		Value: "Pass", Metadata: map[string]string{"p_value": "0.42"}}
}
func (judgePlugin) Resume(_ *v1alpha1.AnalysisRun, _ v1alpha1.Metric, m v1alpha1.Measurement) v1alpha1.Measurement {
	m.Phase = v1alpha1.AnalysisPhaseInconclusive
	m.Message = "not enough data"
	m.FinishedAt = mt(t1.In(ist))
	return m
}
func (judgePlugin) Terminate(_ *v1alpha1.AnalysisRun, _ v1alpha1.Metric, m v1alpha1.Measurement) v1alpha1.Measurement {
	m.Phase = v1alpha1.AnalysisPhaseFailed
	m.Metadata = nil
	m.ResumeAt = nil
	return m
}
func (judgePlugin) GarbageCollect(*v1alpha1.AnalysisRun, v1alpha1.Metric, int) types.RpcError {
	return types.RpcError{ErrorString: "not-implemented"}
}
func (judgePlugin) Type() string { return "RPCPlugin" }
func (judgePlugin) GetMetadata(v1alpha1.Metric) map[string]string {
	return map[string]string{"judge": "welch"}
}

// teeConn records everything written to the wrapped connection.
type teeConn struct {
	net.Conn
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *teeConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.buf.Write(p)
	c.mu.Unlock()
	return c.Conn.Write(p)
}

type indexEntry struct {
	File        string `json:"file"`
	Description string `json:"description"`
}

// recordSession runs a net/rpc client (the controller's side, argo's MetricsPluginRPC) against a
// net/rpc server (argo's MetricsRPCServer) over an in-memory pipe and returns both directions.
func recordSession() (hostToPlugin, pluginToHost []byte, err error) {
	hostEnd, pluginEnd := net.Pipe()
	hostTee := &teeConn{Conn: hostEnd}
	pluginTee := &teeConn{Conn: pluginEnd}

	server := rpc.NewServer()
	srvObj, _ := (&rpc_.RpcMetricProviderPlugin{Impl: judgePlugin{}}).Server(nil)
	if err := server.RegisterName("Plugin", srvObj); err != nil {
		return nil, nil, err
	}
	done := make(chan struct{})
	go func() { server.ServeConn(pluginTee); close(done) }()

	client := rpc.NewClient(hostTee)
	cliObj, _ := (rpc_.RpcMetricProviderPlugin{}).Client(nil, client)
	p := cliObj.(rpc_.MetricProviderPlugin)

	ar := analysisRun()
	if e := p.InitPlugin(); e.HasError() {
		return nil, nil, e
	}
	m := p.Run(ar, judgeMetric())
	if m.Phase != v1alpha1.AnalysisPhaseSuccessful {
		return nil, nil, fmt.Errorf("Run: %+v", m)
	}
	p.Resume(ar, judgeMetric(), lastMeasurement())
	p.Terminate(ar, judgeMetric(), lastMeasurement())
	gcMetric := judgeMetric()
	p.GarbageCollect(ar, gcMetric, 10)
	p.GetMetadata(judgeMetric())
	if typ := p.Type(); typ != "RPCPlugin" {
		return nil, nil, fmt.Errorf("Type: %q", typ)
	}
	// An unknown method: the server answers with an error header and an empty-struct body.
	var reply string
	if err := client.Call("Plugin.Nope", "x", &reply); err == nil {
		return nil, nil, fmt.Errorf("Plugin.Nope succeeded")
	}
	client.Close()
	<-done
	hostTee.mu.Lock()
	pluginTee.mu.Lock()
	defer hostTee.mu.Unlock()
	defer pluginTee.mu.Unlock()
	return bytes.Clone(hostTee.buf.Bytes()), bytes.Clone(pluginTee.buf.Bytes()), nil
}

// replyValues are the single-value goldens: each is encoded by a fresh process with one
// gob.Encoder, exactly as a net/rpc server would write a reply body (or header).
var replyValues = []struct {
	name, desc string
	value      func() any
}{
	{"response_header", "rpc.Response{ServiceMethod: Plugin.Run, Seq: 1}", func() any {
		return &rpc.Response{ServiceMethod: "Plugin.Run", Seq: 1}
	}},
	{"response_header_error", "rpc.Response{ServiceMethod: Plugin.Fail, Seq: 6, Error: boom}", func() any {
		return &rpc.Response{ServiceMethod: "Plugin.Fail", Seq: 6, Error: "boom"}
	}},
	{"measurement_utc", "Measurement{Successful, StartedAt/FinishedAt UTC (with nanos), Value 0.93}", func() any {
		return &v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseSuccessful, StartedAt: mt(t0), FinishedAt: mt(t1), Value: "0.93"}
	}},
	{"measurement_offset", "Measurement{Failed, Message, StartedAt +05:30, FinishedAt -04:56:02 (binary v2)}", func() any {
		return &v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseFailed, Message: "canary worse", StartedAt: mt(t0.In(ist)), FinishedAt: mt(t1.In(odd))}
	}},
	{"measurement_metadata", "Measurement{Running, StartedAt, one-key Metadata, ResumeAt}", func() any {
		return &v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseRunning, StartedAt: mt(t0), Metadata: map[string]string{"state": "step-2"}, ResumeAt: mt(t1)}
	}},
	{"measurement_empty", "Measurement{} (all fields zero)", func() any { return &v1alpha1.Measurement{} }},
	{"rpcerror_empty", "types.RpcError{}", func() any { return &types.RpcError{} }},
	{"rpcerror_x", "types.RpcError{ErrorString: x}", func() any { return &types.RpcError{ErrorString: "x"} }},
	{"map_nil", "map[string]string(nil)", func() any { var m map[string]string; return &m }},
	{"map_empty", "map[string]string{}", func() any { m := map[string]string{}; return &m }},
	{"map_one", "map[string]string{k: v}", func() any { m := map[string]string{"k": "v"}; return &m }},
	{"string", "string RPCPlugin", func() any { s := "RPCPlugin"; return &s }},
	{"uint32", "uint32 1 (Dispense reply)", func() any { u := uint32(1); return &u }},
	{"empty_struct", "struct{}{} (net/rpc error body)", func() any { return &struct{}{} }},
}

func encodeOne(name string) error {
	for _, rv := range replyValues {
		if rv.name == name {
			return gob.NewEncoder(os.Stdout).Encode(rv.value())
		}
	}
	return fmt.Errorf("unknown reply value %q", name)
}

func record(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var index []indexEntry
	h2p, p2h, err := recordSession()
	if err != nil {
		return err
	}
	const calls = "InitPlugin(nil any) seq0, Run(RunArgs) seq1, Resume(TerminateAndResumeArgs) seq2, " +
		"Terminate(TerminateAndResumeArgs) seq3, GarbageCollect(GarbageCollectArgs, Limit 10) seq4, " +
		"GetMetadata(GetMetadataArgs) seq5, Type(nil any) seq6, Plugin.Nope(string x) seq7"
	for _, f := range []struct {
		file string
		data []byte
		desc string
	}{
		{"host_requests.bin", h2p, "net/rpc client -> server (controller side, argo MetricsPluginRPC): " + calls},
		{"plugin_replies.bin", p2h, "net/rpc server -> client (argo MetricsRPCServer): Response header + reply per call; Plugin.Nope gets an error header and struct{} body"},
	} {
		if err := os.WriteFile(filepath.Join(dir, f.file), f.data, 0o644); err != nil {
			return err
		}
		index = append(index, indexEntry{f.file, f.desc})
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	for _, rv := range replyValues {
		out, err := exec.Command(self, "encode-one", rv.name).Output()
		if err != nil {
			return fmt.Errorf("encode-one %s: %w", rv.name, err)
		}
		file := "reply_" + rv.name + ".bin"
		if err := os.WriteFile(filepath.Join(dir, file), out, 0o644); err != nil {
			return err
		}
		index = append(index, indexEntry{file, "fresh gob.Encoder, one value: " + rv.desc})
	}
	sort.Slice(index, func(i, j int) bool { return index[i].File < index[j].File })
	js, _ := json.MarshalIndent(index, "", "  ")
	return os.WriteFile(filepath.Join(dir, "index.json"), append(js, '\n'), 0o644)
}

func verify(file string, kinds []string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	r := bytes.NewReader(data)
	dec := gob.NewDecoder(r)
	for i, kind := range kinds {
		var v any
		switch kind {
		case "response":
			v = new(rpc.Response)
		case "measurement":
			v = new(v1alpha1.Measurement)
		case "rpcerror":
			v = new(types.RpcError)
		case "map":
			v = new(map[string]string)
		case "string":
			v = new(string)
		case "uint32":
			v = new(uint32)
		case "empty":
			v = new(struct{})
		default:
			return fmt.Errorf("unknown kind %q", kind)
		}
		if err := dec.Decode(v); err != nil {
			return fmt.Errorf("value %d (%s): %w", i, kind, err)
		}
		if m, ok := v.(*v1alpha1.Measurement); ok {
			fmt.Printf("%d %s: %s\n", i, kind, describeMeasurement(m))
		} else {
			fmt.Printf("%d %s: %+v\n", i, kind, reflect.ValueOf(v).Elem().Interface())
		}
	}
	if r.Len() != 0 {
		return fmt.Errorf("%d trailing bytes", r.Len())
	}
	return nil
}

func describeMeasurement(m *v1alpha1.Measurement) string {
	ts := func(t *metav1.Time) string {
		if t == nil {
			return "nil"
		}
		return t.Time.Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("phase=%q message=%q startedAt=%s finishedAt=%s value=%q metadata=%v resumeAt=%s",
		m.Phase, m.Message, ts(m.StartedAt), ts(m.FinishedAt), m.Value, m.Metadata, ts(m.ResumeAt))
}

func main() {
	var err error
	switch {
	case len(os.Args) >= 2 && os.Args[1] == "encode-one" && len(os.Args) == 3:
		err = encodeOne(os.Args[2])
	case len(os.Args) >= 4 && os.Args[1] == "verify":
		err = verify(os.Args[2], os.Args[3:])
	case len(os.Args) == 1:
		err = record(filepath.Join("..", "golden", "gob"))
	default:
		err = fmt.Errorf("usage: go run . | go run . verify FILE KIND...")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gob-golden:", err)
		os.Exit(1)
	}
}
