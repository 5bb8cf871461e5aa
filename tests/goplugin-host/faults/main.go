// Command faults is a test-only go-plugin host that drives the Rust example plugin
// (examples/goplugin_echo.rs) through hashicorp/go-plugin's real netrpc client and yamux,
// with a fault-injecting proxy between the two: the proxy reads whole yamux frames in each
// direction and re-emits them split into random pieces, coalesced with following frames,
// delayed, stalled (so the sender's 256 KiB window runs out), with a stream reset injected
// mid-call, or with one direction of the session closed. Every call must either complete with
// the right result or fail with an error within its deadline (never hang), the plugin must
// never crash, and after a recoverable fault it must keep serving later calls.
//
// It lives in the goplugin-host module (same go-plugin v1.6.3 / yamux v0.1.1 pins).
//
// Usage: PLUGIN_BIN=<path to goplugin_echo> [FAULT_SEED=1] [FAULT_ROUNDS=3] go run ./faults
package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/rpc"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
)

const (
	cookieKey   = "GOPLUGIN_ECHO_COOKIE"
	cookieValue = "echo"
	callTimeout = 20 * time.Second
)

type echoPlugin struct{}

func (echoPlugin) Server(*plugin.MuxBroker) (interface{}, error) { return nil, errors.New("host only") }
func (echoPlugin) Client(_ *plugin.MuxBroker, c *rpc.Client) (interface{}, error) {
	return c, nil
}

var (
	failed bool
	passed int
)

func check(name string, ok bool, detail string, args ...interface{}) {
	status := "PASS"
	if !ok {
		status = "FAIL"
		failed = true
	} else {
		passed++
	}
	fmt.Printf("%s %s: %s\n", status, name, fmt.Sprintf(detail, args...))
}

// --- the fault-injecting proxy -------------------------------------------------------------

type faults struct {
	split    bool          // write each frame in random small pieces
	coalesce bool          // hold frames back and write several at once
	delay    time.Duration // up to this long before each write
	// stall pauses forwarding plugin->host for this long once a Data frame larger than
	// 64 KiB has been seen in either direction (the 600 KiB call), so windows run out.
	stall time.Duration
}

const headerLen = 12

type frame struct {
	hdr     [headerLen]byte
	payload []byte
}

func (f frame) kind() byte     { return f.hdr[1] }
func (f frame) stream() uint32 { return binary.BigEndian.Uint32(f.hdr[4:8]) }
func (f frame) bytes() []byte  { return append(f.hdr[:], f.payload...) }
func (f frame) length() uint32 { return binary.BigEndian.Uint32(f.hdr[8:12]) }
func rstFrame(stream uint32) frame {
	var f frame
	f.hdr[1] = 1 // WindowUpdate
	binary.BigEndian.PutUint16(f.hdr[2:4], 8)
	binary.BigEndian.PutUint32(f.hdr[4:8], stream)
	return f
}

func readFrame(r io.Reader) (frame, error) {
	var f frame
	if _, err := io.ReadFull(r, f.hdr[:]); err != nil {
		return f, err
	}
	if f.kind() == 0 {
		f.payload = make([]byte, f.length())
		if _, err := io.ReadFull(r, f.payload); err != nil {
			return f, err
		}
	}
	return f, nil
}

// direction forwards frames from src to dst with faults; inject carries frames to write
// into this direction (at frame boundaries).
type direction struct {
	name   string
	src    net.Conn
	dst    net.Conn
	f      faults
	rng    *rand.Rand
	inject chan frame
	watch  func(frame) // sees every frame read
	mu     sync.Mutex  // guards dst writes
	big    chan struct{}
}

func (d *direction) write(b []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f.delay > 0 {
		time.Sleep(time.Duration(d.rng.Int63n(int64(d.f.delay))))
	}
	if !d.f.split {
		_, err := d.dst.Write(b)
		return err
	}
	for len(b) > 0 {
		n := 1 + d.rng.Intn(min(len(b), 1+d.rng.Intn(64)))
		if _, err := d.dst.Write(b[:n]); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

func (d *direction) run(stallFor func() time.Duration) {
	frames := make(chan frame, 64)
	go func() {
		defer close(frames)
		for {
			f, err := readFrame(d.src)
			if err != nil {
				return
			}
			if d.watch != nil {
				d.watch(f)
			}
			frames <- f
		}
	}()
	var pending bytes.Buffer
	flush := func() error {
		if pending.Len() == 0 {
			return nil
		}
		err := d.write(pending.Bytes())
		pending.Reset()
		return err
	}
	for {
		select {
		case f, ok := <-frames:
			if !ok {
				_ = flush()
				if hc, ok := d.dst.(halfCloser); ok {
					_ = hc.CloseWrite()
				}
				return
			}
			if s := stallFor(); s > 0 {
				time.Sleep(s)
			}
			pending.Write(f.bytes())
			// Coalesce: keep collecting while more frames are queued (up to a few).
			if d.f.coalesce && len(frames) > 0 && d.rng.Intn(4) != 0 && pending.Len() < 1<<20 {
				continue
			}
			if err := flush(); err != nil {
				return
			}
		case f := <-d.inject:
			if err := flush(); err != nil {
				return
			}
			if err := d.write(f.bytes()); err != nil {
				return
			}
		}
	}
}

type proxy struct {
	toPlugin, toHost *direction
	host, plug       net.Conn
	sleepStream      chan uint32
	addr             string
}

// halfCloser is a connection that can shut its write side (a unix socket).
type halfCloser interface{ CloseWrite() error }

// prefixConn is a connection whose first bytes were already read: Read returns them first.
type prefixConn struct {
	net.Conn
	r io.Reader
}

func (c *prefixConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// CloseWrite half-closes the underlying unix connection.
func (c *prefixConn) CloseWrite() error {
	if uc, ok := c.Conn.(*net.UnixConn); ok {
		return uc.CloseWrite()
	}
	return nil
}

// newProxy listens on a fresh unix socket and, on the first connection, connects to the
// plugin's socket and forwards with faults.
func newProxy(dir, pluginAddr string, f faults, seed int64) (*proxy, error) {
	addr := filepath.Join(dir, fmt.Sprintf("proxy%d", seed))
	l, err := net.Listen("unix", addr)
	if err != nil {
		return nil, err
	}
	p := &proxy{sleepStream: make(chan uint32, 16), addr: addr}
	var stallOnce sync.Once
	var stallUntil time.Time
	var stallMu sync.Mutex
	bigSeen := func(fr frame) {
		if fr.kind() == 0 && len(fr.payload) > 64<<10 && f.stall > 0 {
			stallOnce.Do(func() {
				stallMu.Lock()
				stallUntil = time.Now().Add(f.stall)
				stallMu.Unlock()
			})
		}
	}
	stallFor := func() time.Duration {
		stallMu.Lock()
		defer stallMu.Unlock()
		if d := time.Until(stallUntil); d > 0 {
			return d
		}
		return 0
	}
	ready := make(chan error, 1)
	go func() {
		defer l.Close()
		// go-plugin's client may open a connection and close it unused before the one it
		// talks on (seen with Reattach in v1.6.3); the plugin accepts one session, so only
		// a connection that sends a first frame is forwarded to it.
		var host net.Conn
		var first frame
		for {
			c, err := l.Accept()
			if err != nil {
				ready <- err
				return
			}
			if first, err = readFrame(c); err != nil {
				c.Close()
				continue
			}
			host = &prefixConn{Conn: c, r: io.MultiReader(bytes.NewReader(first.bytes()), c)}
			break
		}
		plug, err := net.Dial("unix", pluginAddr)
		if err != nil {
			host.Close()
			ready <- err
			return
		}
		p.host, p.plug = host, plug
		p.toPlugin = &direction{name: "host->plugin", src: host, dst: plug, f: f,
			rng: rand.New(rand.NewSource(seed)), inject: make(chan frame, 4)}
		p.toHost = &direction{name: "plugin->host", src: plug, dst: host, f: f,
			rng: rand.New(rand.NewSource(seed + 1)), inject: make(chan frame, 4)}
		p.toPlugin.watch = func(fr frame) {
			bigSeen(fr)
			if fr.kind() == 0 && bytes.Contains(fr.payload, []byte("Plugin.Sleep")) {
				select {
				case p.sleepStream <- fr.stream():
				default:
				}
			}
		}
		p.toHost.watch = bigSeen
		ready <- nil
		go p.toPlugin.run(func() time.Duration { return 0 })
		go p.toHost.run(stallFor)
	}()
	go func() {
		if err := <-ready; err != nil {
			fmt.Println("proxy:", err)
		}
	}()
	return p, nil
}

// --- plugin process and client -------------------------------------------------------------

type session struct {
	cmd    *exec.Cmd
	exited chan error
	client *plugin.Client
	rpc    plugin.ClientProtocol
	proxy  *proxy
}

func startPlugin(bin, dir string) (*exec.Cmd, string, chan error, error) {
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), cookieKey+"="+cookieValue, "PLUGIN_PROTOCOL_VERSIONS=1",
		"PLUGIN_UNIX_SOCKET_DIR="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return nil, "", nil, fmt.Errorf("handshake: %w", err)
	}
	parts := strings.Split(strings.TrimSpace(line), "|")
	if len(parts) < 5 || parts[2] != "unix" {
		return nil, "", nil, fmt.Errorf("handshake line %q", line)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	return cmd, parts[3], exited, nil
}

func connect(bin, dir string, f faults, seed int64) (*session, error) {
	cmd, addr, exited, err := startPlugin(bin, dir)
	if err != nil {
		return nil, err
	}
	p, err := newProxy(dir, addr, f, seed)
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, err
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig: plugin.HandshakeConfig{ProtocolVersion: 1, MagicCookieKey: cookieKey, MagicCookieValue: cookieValue},
		Plugins:         map[string]plugin.Plugin{"echo": echoPlugin{}},
		Reattach: &plugin.ReattachConfig{Protocol: plugin.ProtocolNetRPC, ProtocolVersion: 1,
			Addr: &net.UnixAddr{Name: p.addr, Net: "unix"}, Pid: cmd.Process.Pid},
		Logger: hclog.New(&hclog.LoggerOptions{Name: "host", Level: hclog.Warn, Output: os.Stderr}),
	})
	rpcClient, err := client.Client()
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, err
	}
	return &session{cmd: cmd, exited: exited, client: client, rpc: rpcClient, proxy: p}, nil
}

// call runs one net/rpc call with a deadline; a timeout is reported as a hang.
func call(c *rpc.Client, method string, arg, reply interface{}) (err error, hung bool) {
	done := c.Go(method, arg, reply, make(chan *rpc.Call, 1))
	select {
	case r := <-done.Done:
		return r.Error, false
	case <-time.After(callTimeout):
		return errors.New("timeout"), true
	}
}

func dispense(s *session) (*rpc.Client, error) {
	type res struct {
		c   *rpc.Client
		err error
	}
	ch := make(chan res, 1)
	go func() {
		raw, err := s.rpc.Dispense("echo")
		if err != nil {
			ch <- res{nil, err}
			return
		}
		ch <- res{raw.(*rpc.Client), nil}
	}()
	select {
	case r := <-ch:
		return r.c, r.err
	case <-time.After(callTimeout):
		return nil, errors.New("dispense timed out")
	}
}

// workload runs a mix of calls concurrently and checks each: the right result or (when
// errorsOK) an error, never a hang.
func workload(name string, c *rpc.Client, rng *rand.Rand, errorsOK bool) {
	var wg sync.WaitGroup
	type outcome struct {
		what     string
		ok, hung bool
		detail   string
	}
	results := make(chan outcome, 64)
	// The seeded stream is drawn here, in order, before the calls run: a math/rand.Rand is not
	// safe for concurrent use (two goroutines reading it at once crashed the host).
	echoLen := make([]int, 12)
	bigs := make([][]byte, 12)
	for i := 0; i < 12; i++ {
		switch i % 4 {
		case 0:
			echoLen[i] = rng.Intn(3000)
		case 3:
			bigs[i] = make([]byte, 200<<10+rng.Intn(400<<10))
			rng.Read(bigs[i])
		}
	}
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			switch i % 4 {
			case 0:
				want := fmt.Sprintf("echo %d %s", i, strings.Repeat("x", echoLen[i]))
				var s string
				err, hung := call(c, "Plugin.Echo", want, &s)
				results <- outcome{"echo", (err == nil && s == want) || (errorsOK && err != nil && !hung), hung, fmt.Sprint(err)}
			case 1:
				ms := 10 + i*5
				var s string
				err, hung := call(c, "Plugin.Sleep", ms, &s)
				results <- outcome{"sleep", (err == nil && s == "slept "+strconv.Itoa(ms)) || (errorsOK && err != nil && !hung), hung, fmt.Sprint(err)}
			case 2:
				var s string
				err, hung := call(c, "Plugin.Fail", "boom", &s)
				results <- outcome{"fail", (err != nil && err.Error() == "fail: boom") || (errorsOK && err != nil && !hung), hung, fmt.Sprint(err)}
			default:
				big := bigs[i]
				var back []byte
				err, hung := call(c, "Plugin.Big", big, &back)
				ok := err == nil && len(back) == len(big)
				for j := 0; ok && j < len(big); j++ {
					ok = back[len(big)-1-j] == big[j]
				}
				results <- outcome{"big", ok || (errorsOK && err != nil && !hung), hung, fmt.Sprint(err)}
			}
		}(i)
	}
	wg.Wait()
	close(results)
	good, total, hung := 0, 0, 0
	var bad []string
	for r := range results {
		total++
		if r.ok {
			good++
		} else {
			bad = append(bad, r.what+": "+r.detail)
		}
		if r.hung {
			hung++
		}
	}
	check(name, good == total, "%d/%d calls right (hangs: %d) %v", good, total, hung, bad)
}

// finish kills the session and checks the plugin exited without crashing.
func finish(name string, s *session, expectExit bool) {
	if !expectExit {
		s.client.Kill() // Control.Quit through the (faulty) session, then the process
	}
	select {
	case err := <-s.exited:
		check(name+"/plugin-exit", err == nil, "plugin exit: %v", err)
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		check(name+"/plugin-exit", false, "plugin did not exit within 10s after the session ended")
	}
}

func main() {
	bin := os.Getenv("PLUGIN_BIN")
	if bin == "" {
		fmt.Println("FAIL setup: PLUGIN_BIN not set")
		os.Exit(2)
	}
	seed, _ := strconv.ParseInt(os.Getenv("FAULT_SEED"), 10, 64)
	if seed == 0 {
		seed = 1
	}
	rounds, _ := strconv.Atoi(os.Getenv("FAULT_ROUNDS"))
	if rounds <= 0 {
		rounds = 2
	}
	dir, err := os.MkdirTemp("", "goplugin-faults")
	if err != nil {
		fmt.Println("FAIL setup:", err)
		os.Exit(2)
	}
	defer os.RemoveAll(dir)

	recoverable := []struct {
		name string
		f    faults
	}{
		{"split", faults{split: true}},
		{"coalesce", faults{coalesce: true}},
		{"split+coalesce+delay", faults{split: true, coalesce: true, delay: 3 * time.Millisecond}},
		{"window-exhaustion", faults{split: true, stall: 1500 * time.Millisecond}},
	}
	for round := 0; round < rounds; round++ {
		for i, sc := range recoverable {
			s0 := seed*1000 + int64(round*100+i)
			name := fmt.Sprintf("%s#%d", sc.name, round)
			s, err := connect(bin, dir, sc.f, s0)
			if err != nil {
				check(name, false, "connect: %v", err)
				continue
			}
			c, err := dispense(s)
			if err != nil {
				check(name, false, "dispense: %v", err)
				finish(name, s, false)
				continue
			}
			rng := rand.New(rand.NewSource(s0))
			workload(name, c, rng, false)
			check(name+"/ping", s.rpc.Ping() == nil, "Control.Ping after the workload")
			finish(name, s, false)
		}

		// A stream reset mid-call: both ends are told the broker stream carrying a pending
		// Plugin.Sleep is reset. The pending call must fail (not hang); a new Dispense gets a
		// new stream and the plugin serves it.
		name := fmt.Sprintf("reset-mid-call#%d", round)
		if s, err := connect(bin, dir, faults{split: true}, seed*1000+int64(round*100+50)); err != nil {
			check(name, false, "connect: %v", err)
		} else if c, err := dispense(s); err != nil {
			check(name, false, "dispense: %v", err)
			finish(name, s, false)
		} else {
			var reply string
			pending := c.Go("Plugin.Sleep", 3000, &reply, make(chan *rpc.Call, 1))
			var stream uint32
			select {
			case stream = <-s.proxy.sleepStream:
			case <-time.After(callTimeout):
			}
			time.Sleep(200 * time.Millisecond)
			s.proxy.toPlugin.inject <- rstFrame(stream)
			s.proxy.toHost.inject <- rstFrame(stream)
			select {
			case r := <-pending.Done:
				check(name+"/pending", r.Error != nil, "pending call on the reset stream %d: err=%v", stream, r.Error)
			case <-time.After(callTimeout):
				check(name+"/pending", false, "pending call on the reset stream %d hung", stream)
			}
			if c2, err := dispense(s); err != nil {
				check(name+"/redispense", false, "dispense after reset: %v", err)
			} else {
				workload(name+"/after", c2, rand.New(rand.NewSource(seed+int64(round))), false)
			}
			check(name+"/ping", s.rpc.Ping() == nil, "Control.Ping after the reset")
			finish(name, s, false)
		}

		// Half-closed sessions: one direction ends (EOF) while calls are in flight. Every
		// call completes or fails; the plugin ends the session and exits cleanly.
		for _, side := range []string{"host->plugin", "plugin->host"} {
			name := fmt.Sprintf("half-close-%s#%d", side, round)
			s, err := connect(bin, dir, faults{split: true}, seed*1000+int64(round*100+60))
			if err != nil {
				check(name, false, "connect: %v", err)
				continue
			}
			c, err := dispense(s)
			if err != nil {
				check(name, false, "dispense: %v", err)
				finish(name, s, false)
				continue
			}
			go func() {
				time.Sleep(150 * time.Millisecond)
				if side == "host->plugin" {
					_ = s.proxy.plug.(halfCloser).CloseWrite()
				} else {
					_ = s.proxy.host.(halfCloser).CloseWrite()
				}
			}()
			workload(name, c, rand.New(rand.NewSource(seed+int64(round))), true)
			// The plugin ends a half-closed session by itself and exits 0. Wait for that
			// before Kill: go-plugin's Kill SIGKILLs at once when its client cannot close
			// (as here), so calling it first would race the plugin's own clean exit.
			select {
			case err := <-s.exited:
				check(name+"/plugin-exit", err == nil, "plugin exit: %v", err)
			case <-time.After(5 * time.Second):
				_ = s.cmd.Process.Kill()
				check(name+"/plugin-exit", false, "plugin still running 5 s after the half-close")
			}
			// The host may not notice a half-close by itself; closing the client must not
			// hang either.
			closed := make(chan struct{})
			go func() { s.client.Kill(); close(closed) }()
			select {
			case <-closed:
			case <-time.After(callTimeout):
				check(name+"/kill", false, "client.Kill hung")
			}
		}
	}
	if failed {
		fmt.Printf("%d passed, FAIL\nRESULT: FAIL\n", passed)
		os.Exit(1)
	}
	fmt.Printf("%d checks passed\nRESULT: PASS\n", passed)
}
