// Command e2eapp is the application stand-in of the end-to-end tests: it plays the pods of
// one or more Argo Rollouts and serves Prometheus metrics per version, as a real
// application's pods would after the usual pod-label relabeling.
//
// Every 100 ms it reads each followed Rollout and its ReplicaSets through the Kubernetes API,
// derives the live canary weight (the traffic-routing weight in status.canary.weights if
// set, else the setWeight in effect at status.currentStepIndex; 0 once aborted or promoted)
// and sends that share of the scenario's requests per second to the canary's pod-template
// hash, the rest to the stable one. Whether a request fails (code 500) and how long it
// takes come from the scenario's per-version error rate and mean latency, drawn from a
// seeded random stream. The scenario file is re-read when it changes.
//
// Metrics (GET /metrics): http_requests_total{namespace,service,rollouts_pod_template_hash,
// version,code} and the http_request_duration_seconds histogram with the same labels minus
// code. GET /state returns the live weights and request totals as JSON.
//
// Scenario file (JSON):
//
//	{"seed": 1, "rollouts": {"NAMESPACE/NAME": {"rps": 200,
//	    "versions": {"v1": {"error_rate": 0.01, "latency_ms": 40},
//	                 "v2": {"error_rate": 0.08, "latency_ms": 40, "traffic": 0}}}}}
//
// "traffic" multiplies the requests a version receives (default 1; 0 = no traffic).
// The version of a hash is its ReplicaSet's pod-template label "version".
//
// A Flagger Canary (`"flagger": true` in its entry) is followed through its two Deployments
// instead: NAME (the canary) and NAME-primary, which Flagger's `kubernetes` provider (blue/green)
// creates. The primary receives "rps" requests per second while it has ready replicas, the
// canary "canary_rps" (default: rps) while it has; their series carry deployment="NAME" or
// deployment="NAME-primary" in place of a pod-template hash, and the version of each is its
// pod-template label "version".
package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"math/rand"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

type versionSpec struct {
	ErrorRate float64  `json:"error_rate"`
	LatencyMs float64  `json:"latency_ms"`
	Traffic   *float64 `json:"traffic"`
}

type rolloutSpec struct {
	RPS       float64                `json:"rps"`
	Versions  map[string]versionSpec `json:"versions"`
	Flagger   bool                   `json:"flagger"`
	CanaryRPS *float64               `json:"canary_rps"`
}

type scenario struct {
	Seed     int64                  `json:"seed"`
	Rollouts map[string]rolloutSpec `json:"rollouts"`
}

var buckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

type seriesKey struct {
	ns, svc, hash, version, deployment string
}

type series struct {
	ok, errors uint64
	bucket     []uint64 // cumulative counts per bucket (non-cumulative stored, summed on output)
	sum        float64
}

type rolloutState struct {
	Weight    float64           `json:"weight"`
	Canary    string            `json:"canary_hash"`
	Stable    string            `json:"stable_hash"`
	Versions  map[string]string `json:"versions"`
	Requests  map[string]uint64 `json:"requests"` // per hash
	Errors    map[string]uint64 `json:"errors"`   // per hash
	LastError string            `json:"last_error,omitempty"`
	carry     map[string]float64
}

type app struct {
	mu     sync.Mutex
	series map[seriesKey]*series
	state  map[string]*rolloutState
	sc     scenario
	rng    *rand.Rand
	client *http.Client
	server string
	token  string
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "listen address")
	portFile := flag.String("port-file", "", "write the chosen port here")
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig (server, certificate-authority, token)")
	scenarioFile := flag.String("scenario", "", "scenario JSON file (re-read on change)")
	flag.Parse()

	a := &app{series: map[seriesKey]*series{}, state: map[string]*rolloutState{}}
	if err := a.loadKubeconfig(*kubeconfig); err != nil {
		log.Fatalf("kubeconfig: %v", err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	if *portFile != "" {
		port := ln.Addr().(*net.TCPAddr).Port
		if err := os.WriteFile(*portFile+".tmp", []byte(fmt.Sprintf("%d\n", port)), 0o644); err != nil {
			log.Fatal(err)
		}
		if err := os.Rename(*portFile+".tmp", *portFile); err != nil {
			log.Fatal(err)
		}
	}
	go a.loop(*scenarioFile)
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", a.metrics)
	mux.HandleFunc("/state", a.stateJSON)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	log.Fatal(http.Serve(ln, mux))
}

func (a *app) loadKubeconfig(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var ca string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(line, "server: "); ok {
			a.server = strings.TrimSpace(v)
		} else if v, ok := strings.CutPrefix(line, "certificate-authority: "); ok {
			ca = strings.TrimSpace(v)
		} else if v, ok := strings.CutPrefix(line, "token: "); ok {
			a.token = strings.TrimSpace(v)
		}
	}
	if a.server == "" || a.token == "" || ca == "" {
		return fmt.Errorf("%s: need server, certificate-authority and token", path)
	}
	pem, err := os.ReadFile(ca)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return fmt.Errorf("%s: no certificate", ca)
	}
	a.client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return nil
}

func (a *app) get(path string, out any) error {
	req, _ := http.NewRequest("GET", a.server+path, nil)
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := a.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, strings.TrimSpace(string(b)))
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

type rollout struct {
	Spec struct {
		Strategy struct {
			Canary *struct {
				Steps []struct {
					SetWeight *float64 `json:"setWeight"`
				} `json:"steps"`
			} `json:"canary"`
		} `json:"strategy"`
	} `json:"spec"`
	Status struct {
		CurrentPodHash   string `json:"currentPodHash"`
		StableRS         string `json:"stableRS"`
		CurrentStepIndex *int   `json:"currentStepIndex"`
		Abort            bool   `json:"abort"`
		Canary           struct {
			Weights *struct {
				Canary struct {
					Weight float64 `json:"weight"`
				} `json:"canary"`
			} `json:"weights"`
		} `json:"canary"`
	} `json:"status"`
}

type rsList struct {
	Items []struct {
		Metadata struct {
			Namespace       string            `json:"namespace"`
			Labels          map[string]string `json:"labels"`
			OwnerReferences []struct {
				Kind string `json:"kind"`
				Name string `json:"name"`
			} `json:"ownerReferences"`
		} `json:"metadata"`
		Spec struct {
			Template struct {
				Metadata struct {
					Labels map[string]string `json:"labels"`
				} `json:"metadata"`
			} `json:"template"`
		} `json:"spec"`
	} `json:"items"`
}

// canaryWeight is the share of traffic (0..1) the canary hash receives.
func canaryWeight(r *rollout) float64 {
	st := r.Status
	if st.Abort || st.CurrentPodHash == "" || st.CurrentPodHash == st.StableRS {
		return 0
	}
	if st.Canary.Weights != nil {
		return st.Canary.Weights.Canary.Weight / 100
	}
	c := r.Spec.Strategy.Canary
	if c == nil || st.CurrentStepIndex == nil {
		return 0
	}
	idx := *st.CurrentStepIndex
	if idx >= len(c.Steps) {
		return 1
	}
	w := 0.0
	for i := 0; i <= idx && i < len(c.Steps); i++ {
		if c.Steps[i].SetWeight != nil {
			w = *c.Steps[i].SetWeight
		}
	}
	return w / 100
}

type observed struct {
	weight         float64
	canary, stable string
	versions       map[string]string // hash -> version label
	err            string
	// Flagger Canaries: ready replicas per Deployment (NAME, NAME-primary).
	ready map[string]int
}

type deployList struct {
	Items []struct {
		Metadata struct {
			Namespace string `json:"namespace"`
			Name      string `json:"name"`
		} `json:"metadata"`
		Spec struct {
			Template struct {
				Metadata struct {
					Labels map[string]string `json:"labels"`
				} `json:"metadata"`
			} `json:"template"`
		} `json:"spec"`
		Status struct {
			ReadyReplicas int `json:"readyReplicas"`
		} `json:"status"`
	} `json:"items"`
}

// refreshFlagger lists every Deployment (one request) and records, under "flagger:NS/NAME",
// the ready replicas and version of NAME and NAME-primary for every NAME-primary found.
func (a *app) refreshFlagger(out map[string]observed) error {
	var dl deployList
	if err := a.get("/apis/apps/v1/deployments", &dl); err != nil {
		return err
	}
	byName := map[string]int{}
	for i, d := range dl.Items {
		byName[d.Metadata.Namespace+"/"+d.Metadata.Name] = i
	}
	for _, d := range dl.Items {
		name, ok := strings.CutSuffix(d.Metadata.Name, "-primary")
		if !ok {
			continue
		}
		o := observed{versions: map[string]string{}, ready: map[string]int{}}
		for _, n := range []string{name, d.Metadata.Name} {
			if i, found := byName[d.Metadata.Namespace+"/"+n]; found {
				it := dl.Items[i]
				o.versions[n] = it.Spec.Template.Metadata.Labels["version"]
				o.ready[n] = it.Status.ReadyReplicas
			}
		}
		out["flagger:"+d.Metadata.Namespace+"/"+name] = o
	}
	return nil
}

// refresh lists every Rollout and ReplicaSet (two requests, whatever the number of
// Rollouts) and derives each followed Rollout's live weights.
func (a *app) refresh() map[string]observed {
	out := map[string]observed{}
	var rl struct {
		Items []struct {
			Metadata struct {
				Namespace string `json:"namespace"`
				Name      string `json:"name"`
			} `json:"metadata"`
			rollout
		} `json:"items"`
	}
	var rs rsList
	err := a.get("/apis/argoproj.io/v1alpha1/rollouts", &rl)
	if err == nil {
		err = a.get("/apis/apps/v1/replicasets", &rs)
	}
	if err == nil {
		err = a.refreshFlagger(out)
	}
	if err != nil {
		out[""] = observed{err: err.Error()}
		return out
	}
	for i := range rl.Items {
		r := &rl.Items[i]
		key := r.Metadata.Namespace + "/" + r.Metadata.Name
		o := observed{weight: canaryWeight(&r.rollout), canary: r.Status.CurrentPodHash,
			stable: r.Status.StableRS, versions: map[string]string{}}
		for _, it := range rs.Items {
			if it.Metadata.Namespace != r.Metadata.Namespace {
				continue
			}
			owned := false
			for _, or := range it.Metadata.OwnerReferences {
				owned = owned || (or.Kind == "Rollout" && or.Name == r.Metadata.Name)
			}
			if h := it.Metadata.Labels["rollouts-pod-template-hash"]; owned && h != "" {
				o.versions[h] = it.Spec.Template.Metadata.Labels["version"]
			}
		}
		out[key] = o
	}
	return out
}

func (a *app) loop(path string) {
	var mtime time.Time
	var size int64 = -1
	last := time.Now()
	var obs map[string]observed
	var obsAt time.Time
	tick := time.NewTicker(100 * time.Millisecond)
	for range tick.C {
		if fi, err := os.Stat(path); err == nil && (!fi.ModTime().Equal(mtime) || fi.Size() != size) {
			if b, err := os.ReadFile(path); err == nil {
				var sc scenario
				if err := json.Unmarshal(b, &sc); err != nil {
					log.Printf("scenario %s: %v", path, err)
				} else {
					a.mu.Lock()
					a.sc = sc
					if a.rng == nil {
						a.rng = rand.New(rand.NewSource(sc.Seed))
					}
					a.mu.Unlock()
					mtime, size = fi.ModTime(), fi.Size()
				}
			}
		}
		now := time.Now()
		if now.Sub(obsAt) >= 250*time.Millisecond {
			obs, obsAt = a.refresh(), now
			if o, bad := obs[""]; bad {
				log.Printf("refresh: %s", o.err)
			}
		}
		dt := now.Sub(last).Seconds()
		last = now
		a.mu.Lock()
		sc := a.sc
		names := make([]string, 0, len(sc.Rollouts))
		for n := range sc.Rollouts {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			a.step(n, sc.Rollouts[n], obs, dt)
		}
		a.mu.Unlock()
	}
}

// step sends dt seconds of traffic to one Rollout's pods (a.mu held).
func (a *app) step(name string, spec rolloutSpec, obs map[string]observed, dt float64) {
	ns, svc, ok := strings.Cut(name, "/")
	if !ok {
		return
	}
	st := a.state[name]
	if st == nil {
		st = &rolloutState{Versions: map[string]string{}, Requests: map[string]uint64{},
			Errors: map[string]uint64{}, carry: map[string]float64{}}
		a.state[name] = st
	}
	key := name
	if spec.Flagger {
		key = "flagger:" + name
	}
	o, found := obs[key]
	if !found {
		st.LastError = "rollout not found"
		return // not created yet: no traffic
	}
	st.LastError = ""
	for h, v := range o.versions {
		st.Versions[h] = v
	}
	shares := map[string]float64{}
	deployment := map[string]string{}
	if spec.Flagger {
		// Shares are multiples of rps: the primary's rps, the canary's canary_rps.
		st.Canary, st.Stable = svc, svc+"-primary"
		canaryShare := 1.0
		if spec.CanaryRPS != nil && spec.RPS > 0 {
			canaryShare = *spec.CanaryRPS / spec.RPS
		}
		st.Weight = 0
		if o.ready[st.Canary] > 0 {
			shares[st.Canary] = canaryShare
			st.Weight = canaryShare / (1 + canaryShare)
		}
		if o.ready[st.Stable] > 0 {
			shares[st.Stable] = 1
		}
		deployment[st.Canary], deployment[st.Stable] = st.Canary, st.Stable
	} else {
		st.Weight, st.Canary, st.Stable = o.weight, o.canary, o.stable
		if st.Stable != "" {
			shares[st.Stable] += 1 - st.Weight
		}
		if st.Canary != "" {
			shares[st.Canary] += st.Weight
		}
	}
	hashes := make([]string, 0, len(shares))
	for h := range shares {
		hashes = append(hashes, h)
	}
	sort.Strings(hashes)
	for _, h := range hashes {
		ver := st.Versions[h]
		vs := spec.Versions[ver]
		mult := 1.0
		if vs.Traffic != nil {
			mult = *vs.Traffic
		}
		k := seriesKey{ns, svc, h, ver, deployment[h]}
		if spec.Flagger {
			k.hash = ""
		}
		s := a.series[k]
		if s == nil { // exported from the first tick on, zero included, so increase() sees the start
			s = &series{bucket: make([]uint64, len(buckets)+1)}
			a.series[k] = s
		}
		st.carry[h] += spec.RPS * shares[h] * mult * dt
		n := int(st.carry[h])
		st.carry[h] -= float64(n)
		for i := 0; i < n; i++ {
			if a.rng.Float64() < vs.ErrorRate {
				s.errors++
				st.Errors[h]++
			} else {
				s.ok++
			}
			st.Requests[h]++
			lat := a.rng.ExpFloat64() * vs.LatencyMs / 1000
			s.sum += lat
			j := sort.SearchFloat64s(buckets, lat)
			s.bucket[j]++
		}
	}
}

func esc(v string) string { return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v) }

func (a *app) metrics(w http.ResponseWriter, _ *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	keys := make([]seriesKey, 0, len(a.series))
	for k := range a.series {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
	var b strings.Builder
	lbl := func(k seriesKey) string {
		return fmt.Sprintf(`namespace="%s",service="%s",rollouts_pod_template_hash="%s",version="%s",deployment="%s"`,
			esc(k.ns), esc(k.svc), esc(k.hash), esc(k.version), esc(k.deployment))
	}
	b.WriteString("# HELP http_requests_total Requests by code.\n# TYPE http_requests_total counter\n")
	for _, k := range keys {
		s := a.series[k]
		fmt.Fprintf(&b, "http_requests_total{%s,code=\"200\"} %d\n", lbl(k), s.ok)
		fmt.Fprintf(&b, "http_requests_total{%s,code=\"500\"} %d\n", lbl(k), s.errors)
	}
	b.WriteString("# HELP http_request_duration_seconds Request latency.\n# TYPE http_request_duration_seconds histogram\n")
	for _, k := range keys {
		s := a.series[k]
		var cum uint64
		for i, le := range buckets {
			cum += s.bucket[i]
			fmt.Fprintf(&b, "http_request_duration_seconds_bucket{%s,le=\"%g\"} %d\n", lbl(k), le, cum)
		}
		cum += s.bucket[len(buckets)]
		fmt.Fprintf(&b, "http_request_duration_seconds_bucket{%s,le=\"+Inf\"} %d\n", lbl(k), cum)
		fmt.Fprintf(&b, "http_request_duration_seconds_sum{%s} %s\n", lbl(k), fmtFloat(s.sum))
		fmt.Fprintf(&b, "http_request_duration_seconds_count{%s} %d\n", lbl(k), cum)
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	io.WriteString(w, b.String())
}

func fmtFloat(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "0"
	}
	return fmt.Sprintf("%g", f)
}

func (a *app) stateJSON(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	name := r.URL.Query().Get("rollout")
	w.Header().Set("Content-Type", "application/json")
	if name != "" {
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		json.NewEncoder(w).Encode(a.state[name])
		return
	}
	json.NewEncoder(w).Encode(a.state)
}
