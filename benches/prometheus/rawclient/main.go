// Command rawclient is the reference for scripts/bench-prometheus (issue 7 part 3): it sends
// the range queries of one canary-judge analysis step, and nothing else, as canary-judge
// sends them (POST /api/v1/query_range with query, start, end, step, timeout; the whole
// body read and the status checked). One process per step, like `canary-judge analyze`, so
// both sides of the hyperfine comparison pay a process start.
//
//	rawclient -url URL -queries FILE -start S -end E -step 15 [-parallel]
//
// FILE holds one query per line (taken from canary-judge's own --json report).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

func main() {
	base := flag.String("url", "", "Prometheus base URL")
	file := flag.String("queries", "", "file with one PromQL query per line")
	start := flag.String("start", "", "window start, Unix seconds")
	end := flag.String("end", "", "window end, Unix seconds")
	step := flag.String("step", "15", "step in seconds")
	parallel := flag.Bool("parallel", false, "send all queries at once (else one after another)")
	flag.Parse()
	f, err := os.Open(*file)
	if err != nil {
		fail(err)
	}
	var queries []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if q := strings.TrimSpace(sc.Text()); q != "" {
			queries = append(queries, q)
		}
	}
	if len(queries) == 0 {
		fail(fmt.Errorf("%s holds no query", *file))
	}
	c := &http.Client{Timeout: 10 * time.Second}
	one := func(q string) error {
		form := url.Values{"query": {q}, "start": {*start}, "end": {*end}, "step": {*step}, "timeout": {"10000ms"}}
		resp, err := c.PostForm(*base+"/api/v1/query_range", form)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"resultType":"matrix"`) {
			return fmt.Errorf("%q: status %d: %.200s", q, resp.StatusCode, body)
		}
		return nil
	}
	errs := make([]error, len(queries))
	if *parallel {
		var wg sync.WaitGroup
		for i, q := range queries {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = one(q) }()
		}
		wg.Wait()
	} else {
		for i, q := range queries {
			errs[i] = one(q)
		}
	}
	for _, e := range errs {
		if e != nil {
			fail(e)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "rawclient:", err)
	os.Exit(1)
}
