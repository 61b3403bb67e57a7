package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLoadCompare measures what the llm_gateway handler costs compared with
// a plain Caddy reverse_proxy: both proxy the same fake OpenAI upstream
// (running in this test process) from one Caddy process, and a load
// generator in this process drives each of them with a fixed number of
// concurrent connections, non-streaming and streaming.
//
// It runs only when LLMGW_LOADBENCH=1:
//
//	LLMGW_LOADBENCH=1 go test ./bench -run TestLoadCompare -v -timeout 20m
//
// Settings (environment):
//
//	LLMGW_LOADBENCH_DURATION          measured time per scenario and round (default 10s)
//	LLMGW_LOADBENCH_WARMUP            unmeasured warm-up per scenario and round (default 2s)
//	LLMGW_LOADBENCH_CONCURRENCY       concurrent connections (default 50)
//	LLMGW_LOADBENCH_ROUNDS            run the four scenarios this many times, alternating
//	                                  the order of the two targets, and merge (default 1)
//	LLMGW_LOADBENCH_CHUNKS            content chunks per streamed answer (default 10)
//	LLMGW_LOADBENCH_FIRST_BYTE_DELAY  upstream pause before answering (default 0)
//	LLMGW_LOADBENCH_CHUNK_DELAY       upstream pause between stream events (default 0)
//	LLMGW_LOADBENCH_USAGE=1           the client sets stream_options.include_usage
//	LLMGW_LOADBENCH_PROXY_IDLE        reverse_proxy keepalive_idle_conns_per_host
//	                                  (default: Caddy's, 32)
//	LLMGW_LOADBENCH_OUT               also write the Markdown report to this file
//	LLMGW_LOADBENCH_PPROF             directory: save a Caddy CPU profile per scenario
//	LLMGW_CADDY                       a Caddy binary to use instead of building ../xcaddy
//
// With the default zero upstream delays every scenario saturates the CPUs,
// and the test measures the cost of each proxy per request; with upstream
// delays (say 200ms and 20ms) it does not, and latency differences show the
// time each proxy adds to a request.
//
// Errors (a non-200 answer, a failed read, an incomplete answer) fail the
// test. The performance targets (llm_gateway throughput ≥ 0.8× reverse_proxy,
// added p99 < 1 ms) are reported, not enforced: the numbers depend on the
// machine and on whatever else runs on it.
func TestLoadCompare(t *testing.T) {
	if os.Getenv("LLMGW_LOADBENCH") != "1" {
		t.Skip("load benchmark; set LLMGW_LOADBENCH=1 to run it")
	}
	cfg := loadConfig{
		Duration:       envDuration(t, "LLMGW_LOADBENCH_DURATION", 10*time.Second),
		Warmup:         envDuration(t, "LLMGW_LOADBENCH_WARMUP", 2*time.Second),
		Concurrency:    envInt(t, "LLMGW_LOADBENCH_CONCURRENCY", 50),
		Rounds:         envInt(t, "LLMGW_LOADBENCH_ROUNDS", 1),
		Chunks:         envInt(t, "LLMGW_LOADBENCH_CHUNKS", 10),
		FirstByteDelay: envDuration(t, "LLMGW_LOADBENCH_FIRST_BYTE_DELAY", 0),
		ChunkDelay:     envDuration(t, "LLMGW_LOADBENCH_CHUNK_DELAY", 0),
		Usage:          os.Getenv("LLMGW_LOADBENCH_USAGE") == "1",
		ProxyIdle:      envInt(t, "LLMGW_LOADBENCH_PROXY_IDLE", -1),
	}
	pprofDir := os.Getenv("LLMGW_LOADBENCH_PPROF")

	const key = "sk-bench-upstream-key"
	up := startUpstream(t, key, cfg.Chunks, cfg.FirstByteDelay, cfg.ChunkDelay)

	bin := os.Getenv("LLMGW_CADDY")
	if bin == "" {
		cfg.Source = sourceFingerprint(t)
		bin = buildCaddy(t)
	}
	cd := startCaddy(t, bin, up, key, cfg.ProxyIdle)
	cfg.CaddyVersion = cd.version
	cfg.GatewayAuth = cd.gatewayAuth

	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        4 * cfg.Concurrency,
		MaxIdleConnsPerHost: max(cfg.Concurrency, 50),
		MaxConnsPerHost:     cfg.Concurrency,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second}

	plain, streamed := requestBodies(cfg.Usage)
	cfg.BodySize = len(plain)
	var scenarios []scenario
	for _, stream := range []bool{false, true} {
		body := plain
		if stream {
			body = streamed
		}
		scenarios = append(scenarios,
			scenario{Target: "reverse_proxy", URL: cd.proxyURL, Key: key, Stream: stream, Body: body},
			scenario{Target: "llm_gateway", URL: cd.gatewayURL, Key: cd.gatewayKey, Stream: stream, Body: body})
	}
	for _, sc := range scenarios {
		if err := checkOnce(client, sc); err != nil {
			t.Fatalf("%s: %v\ncaddy log:\n%s", sc.Name(), err, cd.log())
		}
	}

	load0 := loadAvg()
	results := make([]*loadResult, len(scenarios))
	for round := range cfg.Rounds {
		for i := range scenarios {
			if round%2 == 1 {
				i ^= 1 // odd rounds run llm_gateway before reverse_proxy
			}
			sc := scenarios[i]
			if cfg.Warmup > 0 {
				warm := runLoad(client, sc, cfg.Concurrency, cfg.Warmup)
				if warm.Errors > 0 {
					t.Errorf("%s warm-up: %d errors, first: %s", sc.Name(), warm.Errors, strings.Join(warm.ErrorSamples, "; "))
				}
			}
			var prof chan error
			if pprofDir != "" {
				prof = make(chan error, 1)
				path := filepath.Join(pprofDir, fmt.Sprintf("caddy-%s-%d.pprof", sc.File(), round+1))
				go func() { prof <- cd.cpuProfile(path, cfg.Duration) }()
			}
			mem0 := cd.memStats()
			conns0, caddy0, self0, sys0 := up.conns.Load(), cd.cpuTime(), selfCPU(), systemCPU()
			res := runLoad(client, sc, cfg.Concurrency, cfg.Duration)
			mem1 := cd.memStats()
			res.CaddyAllocBytes, res.CaddyMallocs = mem1.bytes-mem0.bytes, mem1.mallocs-mem0.mallocs
			res.CaddyCPU = cd.cpuTime() - caddy0
			res.TestCPU = selfCPU() - self0
			res.SystemCPU = systemCPU() - sys0
			res.UpstreamConns = up.conns.Load() - conns0
			if prof != nil {
				if err := <-prof; err != nil {
					t.Logf("%s: CPU profile: %v", sc.Name(), err)
				}
			}
			t.Logf("round %d: %-26s %8.0f req/s  p50 %9s  p99 %9s  Caddy CPU/req %4.0f µs  errors %d",
				round+1, sc.Name(), res.RPS(), ms(res.Latency.P50), ms(res.Latency.P99), float64(res.cpuPerRequest())/1e3, res.Errors)
			if res.Errors > 0 {
				t.Errorf("%s: %d of %d requests failed; first: %s", sc.Name(), res.Errors, res.Requests+res.Errors, strings.Join(res.ErrorSamples, "; "))
			}
			if results[i] == nil {
				results[i] = res
			} else {
				results[i].merge(res)
			}
			tr.CloseIdleConnections()
		}
	}
	for _, r := range results {
		r.finish()
	}
	cfg.LoadBefore, cfg.LoadAfter = load0, loadAvg()

	report := markdownReport(cfg, results)
	t.Log("\n" + report)
	if out := os.Getenv("LLMGW_LOADBENCH_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(report), 0o644); err != nil {
			t.Errorf("writing %s: %v", out, err)
		}
	}
}

type loadConfig struct {
	Duration, Warmup      time.Duration
	Concurrency, Rounds   int
	Chunks                int
	FirstByteDelay        time.Duration
	ChunkDelay            time.Duration
	Usage                 bool
	ProxyIdle             int
	BodySize              int
	CaddyVersion          string
	Source                string // fingerprint of the plugin sources built
	GatewayAuth           string // how llm_gateway clients authenticate
	LoadBefore, LoadAfter string
}

type scenario struct {
	Target string // reverse_proxy or llm_gateway
	URL    string
	Key    string // sent as Authorization: Bearer
	Stream bool
	Body   []byte
}

func (s scenario) Mode() string {
	if s.Stream {
		return "streaming"
	}
	return "non-streaming"
}

func (s scenario) Name() string { return s.Target + " " + s.Mode() }
func (s scenario) File() string { return s.Target + "-" + s.Mode() }

// requestBodies returns a realistic chat request (~1 KB) and its streaming
// twin: same messages and parameters, plus "stream": true.
func requestBodies(includeUsage bool) (plain, streamed []byte) {
	const messages = `"messages":[` +
		`{"role":"system","content":"You are a concise travel assistant for a European rail booking service. Answer in at most three sentences. Prefer facts the traveller can act on: stations, typical journey times and connections. If you are unsure, say so instead of guessing."},` +
		`{"role":"user","content":"I land at Charles de Gaulle at 14:10 on a Friday. Can I make a 16:00 train from Gare de Lyon to Lyon?"},` +
		`{"role":"assistant","content":"It is tight but usually possible: RER B to Châtelet-Les Halles and RER A or D on to Gare de Lyon takes about 50 minutes, plus immigration and baggage. Allow extra time on a Friday afternoon."},` +
		`{"role":"user","content":"What if my flight is 40 minutes late? Is there a later direct train, and roughly how long does the trip to Lyon Part-Dieu take?"}` +
		`]`
	common := `{"model":"gpt-4o-mini",` + messages + `,"temperature":0.3,"top_p":1,"max_tokens":256,"presence_penalty":0,"frequency_penalty":0,"user":"user-7f3a9c21"`
	plain = []byte(common + `}`)
	if includeUsage {
		streamed = []byte(common + `,"stream":true,"stream_options":{"include_usage":true}}`)
	} else {
		streamed = []byte(common + `,"stream":true}`)
	}
	return plain, streamed
}

// ---- the load generator ----

type percentiles struct{ P50, P90, P99, Max time.Duration }

func percentilesOf(d []time.Duration) percentiles {
	if len(d) == 0 {
		return percentiles{}
	}
	slices.Sort(d)
	at := func(p float64) time.Duration { // nearest rank
		i := int(p*float64(len(d))+0.999999) - 1
		return d[min(max(i, 0), len(d)-1)]
	}
	return percentiles{P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: d[len(d)-1]}
}

type loadResult struct {
	scenario
	Requests      int // successful
	Errors        int
	ErrorSamples  []string
	Elapsed       time.Duration
	Latency, TTFB percentiles
	CaddyCPU      time.Duration // user+system CPU time of the Caddy process
	TestCPU       time.Duration // of this process: load generator and upstream
	SystemCPU     time.Duration // of the whole machine, all processes
	UpstreamConns int64         // connections the upstream accepted while measuring
	// Heap bytes and objects Caddy allocated while measuring (from the Go
	// metrics on its admin endpoint; 0 when unavailable).
	CaddyAllocBytes, CaddyMallocs float64

	lat, ttfb []time.Duration
}

func (r *loadResult) RPS() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

// cpuPerRequest is Caddy's CPU time per successful request.
func (r *loadResult) cpuPerRequest() time.Duration {
	if r.Requests == 0 || r.CaddyCPU < 0 {
		return 0
	}
	return r.CaddyCPU / time.Duration(r.Requests)
}

// cores is CPU time d spread over the measured time, in CPUs.
func (r *loadResult) cores(d time.Duration) float64 { return d.Seconds() / r.Elapsed.Seconds() }

// merge adds the measurements of another round of the same scenario.
func (r *loadResult) merge(o *loadResult) {
	r.Requests += o.Requests
	r.Errors += o.Errors
	r.ErrorSamples = append(r.ErrorSamples, o.ErrorSamples...)
	r.Elapsed += o.Elapsed
	r.CaddyCPU += o.CaddyCPU
	r.TestCPU += o.TestCPU
	r.SystemCPU += o.SystemCPU
	r.UpstreamConns += o.UpstreamConns
	r.CaddyAllocBytes += o.CaddyAllocBytes
	r.CaddyMallocs += o.CaddyMallocs
	r.lat = append(r.lat, o.lat...)
	r.ttfb = append(r.ttfb, o.ttfb...)
}

// finish computes the percentiles.
func (r *loadResult) finish() {
	r.Latency = percentilesOf(r.lat)
	r.TTFB = percentilesOf(r.ttfb)
}

// runLoad drives sc with conc concurrent workers for dur. Every worker sends
// requests back to back on the shared transport; requests begun before the
// deadline are completed and counted.
func runLoad(client *http.Client, sc scenario, conc int, dur time.Duration) *loadResult {
	type worker struct {
		lat, ttfb []time.Duration
		errs      int
		samples   []string
	}
	workers := make([]worker, conc)
	start := time.Now()
	deadline := start.Add(dur)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			w := &workers[i]
			buf := make([]byte, 32<<10)
			for time.Now().Before(deadline) {
				lat, ttfb, err := doRequest(client, sc, buf)
				if err != nil {
					w.errs++
					if len(w.samples) < 3 {
						w.samples = append(w.samples, err.Error())
					}
					time.Sleep(time.Millisecond) // do not spin on a dead target
					continue
				}
				w.lat = append(w.lat, lat)
				w.ttfb = append(w.ttfb, ttfb)
			}
		})
	}
	wg.Wait()
	res := &loadResult{scenario: sc, Elapsed: time.Since(start)}
	var lat, ttfb []time.Duration
	for _, w := range workers {
		lat = append(lat, w.lat...)
		ttfb = append(ttfb, w.ttfb...)
		res.Errors += w.errs
		for _, s := range w.samples {
			if len(res.ErrorSamples) < 5 {
				res.ErrorSamples = append(res.ErrorSamples, s)
			}
		}
	}
	res.Requests = len(lat)
	res.lat, res.ttfb = lat, ttfb
	res.finish()
	return res
}

// doRequest sends one request and reads the whole answer. It returns the
// latency to the end of the answer and to its first body byte. An answer
// that is not a 200 or is incomplete is an error.
func doRequest(client *http.Client, sc scenario, buf []byte) (lat, ttfb time.Duration, err error) {
	req, err := http.NewRequest(http.MethodPost, sc.URL, bytes.NewReader(sc.Body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+sc.Key)
	if sc.Stream {
		req.Header.Set("Accept", "text/event-stream")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	// Keep the first bytes (for errors) and the last ones (to check the end).
	var head, tail []byte
	n := 0
	for {
		k, rerr := resp.Body.Read(buf)
		if k > 0 {
			if n == 0 {
				ttfb = time.Since(start)
			}
			n += k
			if len(head) < 256 {
				head = append(head, buf[:min(k, 256-len(head))]...)
			}
			tail = append(tail, buf[:k]...)
			if len(tail) > 64 {
				tail = tail[len(tail)-64:]
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return 0, 0, fmt.Errorf("reading the answer: %w", rerr)
		}
	}
	lat = time.Since(start)
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("status %d: %q", resp.StatusCode, head)
	}
	if sc.Stream {
		if !bytes.HasSuffix(tail, []byte("data: [DONE]\n\n")) {
			return 0, 0, fmt.Errorf("stream did not end with data: [DONE] (%d bytes, ends %q)", n, tail)
		}
	} else if !bytes.Contains(head, []byte(`"object":"chat.completion"`)) || !bytes.HasSuffix(bytes.TrimSpace(tail), []byte("}")) {
		return 0, 0, fmt.Errorf("not a chat.completion (%d bytes): %q", n, head)
	}
	return lat, ttfb, nil
}

// checkOnce sends one request of sc and checks that it succeeds.
func checkOnce(client *http.Client, sc scenario) error {
	_, _, err := doRequest(client, sc, make([]byte, 32<<10))
	return err
}

// ---- the report ----

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func markdownReport(cfg loadConfig, results []*loadResult) string {
	var b strings.Builder
	rounds := ""
	if cfg.Rounds > 1 {
		rounds = fmt.Sprintf(" × %d rounds (alternating which target goes first)", cfg.Rounds)
	}
	proxyIdle := "Caddy's default keepalive_idle_conns_per_host (32)"
	if cfg.ProxyIdle >= 0 {
		proxyIdle = fmt.Sprintf("keepalive_idle_conns_per_host %d", cfg.ProxyIdle)
	}
	fmt.Fprintf(&b, "Load: %d concurrent connections, %s measured per scenario%s after a %s warm-up each; "+
		"request body %d bytes (model gpt-4o-mini, client include_usage=%v); "+
		"upstream: first-byte delay %s, %d content chunks per stream, delay between events %s; reverse_proxy with %s.\n",
		cfg.Concurrency, cfg.Duration, rounds, cfg.Warmup, cfg.BodySize, cfg.Usage,
		cfg.FirstByteDelay, cfg.Chunks, cfg.ChunkDelay, proxyIdle)
	built := "binary from $LLMGW_CADDY"
	if cfg.Source != "" {
		built = "built from the checkout, plugin sources sha256 " + cfg.Source
	}
	fmt.Fprintf(&b, "Caddy %s (%s) in its own process; load generator and fake upstream in the test process (GOMAXPROCS %d); %d CPUs; "+
		"load average before %s, after %s. llm_gateway client auth: %s.\n\n",
		cfg.CaddyVersion, built, runtime.GOMAXPROCS(0), runtime.NumCPU(), cfg.LoadBefore, cfg.LoadAfter, cfg.GatewayAuth)

	b.WriteString("| scenario | req/s | p50 | p90 | p99 | TTFB p50 | TTFB p90 | TTFB p99 | Caddy CPU/req | Caddy heap alloc/req | CPUs used: Caddy / test / other | upstream conns opened | errors |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range results {
		ttfb := [3]string{"–", "–", "–"}
		if r.Stream {
			ttfb = [3]string{ms(r.TTFB.P50), ms(r.TTFB.P90), ms(r.TTFB.P99)}
		}
		cpus := "–"
		if r.SystemCPU > 0 && r.CaddyCPU >= 0 && r.TestCPU >= 0 {
			other := max(r.SystemCPU-r.CaddyCPU-r.TestCPU, 0)
			cpus = fmt.Sprintf("%.2f / %.2f / %.2f", r.cores(r.CaddyCPU), r.cores(r.TestCPU), r.cores(other))
		}
		alloc := "–"
		if r.CaddyMallocs > 0 && r.Requests > 0 {
			alloc = fmt.Sprintf("%.1f KB in %.0f objects", r.CaddyAllocBytes/float64(r.Requests)/1024, r.CaddyMallocs/float64(r.Requests))
		}
		fmt.Fprintf(&b, "| %s | %.0f | %s | %s | %s | %s | %s | %s | %.0f µs | %s | %s | %d | %d |\n",
			r.Name(), r.RPS(), ms(r.Latency.P50), ms(r.Latency.P90), ms(r.Latency.P99),
			ttfb[0], ttfb[1], ttfb[2], float64(r.cpuPerRequest())/float64(time.Microsecond), alloc, cpus, r.UpstreamConns, r.Errors)
	}

	b.WriteString("\n| mode | throughput llm_gateway / reverse_proxy | target ≥ 0.80 | added p99 (llm_gateway − reverse_proxy) | target < 1 ms | added p50 | added TTFB p99 | Caddy CPU/req llm_gateway / reverse_proxy |\n")
	b.WriteString("|---|---:|:---:|---:|:---:|---:|---:|---:|\n")
	for _, stream := range []bool{false, true} {
		var rp, gw *loadResult
		for _, r := range results {
			if r.Stream != stream {
				continue
			}
			switch r.Target {
			case "reverse_proxy":
				rp = r
			case "llm_gateway":
				gw = r
			}
		}
		if rp == nil || gw == nil || rp.RPS() == 0 {
			continue
		}
		ratio := gw.RPS() / rp.RPS()
		added := gw.Latency.P99 - rp.Latency.P99
		ttfb := "–"
		if stream {
			ttfb = signedMS(gw.TTFB.P99 - rp.TTFB.P99)
		}
		cpu := "–"
		if rp.cpuPerRequest() > 0 {
			cpu = fmt.Sprintf("%.2f×", float64(gw.cpuPerRequest())/float64(rp.cpuPerRequest()))
		}
		fmt.Fprintf(&b, "| %s | %.2f× | %s | %s | %s | %s | %s | %s |\n",
			rp.Mode(), ratio, passFail(ratio >= 0.8), signedMS(added), passFail(added < time.Millisecond),
			signedMS(gw.Latency.P50-rp.Latency.P50), ttfb, cpu)
	}
	return b.String()
}

func signedMS(d time.Duration) string {
	if d >= 0 {
		return "+" + ms(d)
	}
	return "−" + ms(-d)
}

func passFail(ok bool) string {
	if ok {
		return "pass"
	}
	return "**fail**"
}

// ---- Caddy ----

// buildCaddy builds ../xcaddy (Caddy with the plugin) into a temp dir.
func buildCaddy(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "caddy")
	cmd := exec.Command("go", "build", "-o", bin, "./xcaddy")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./xcaddy: %v\n%s", err, out)
	}
	return bin
}

// sourceFingerprint hashes the module's non-test Go files (all but bench/
// and the test-only fakeprovider), so a report says which code it measured
// even in a checkout without commits.
func sourceFingerprint(t *testing.T) string {
	t.Helper()
	var files []string
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "bench", "testdata", "fakeprovider":
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	h := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(h, "%s %d\n", filepath.ToSlash(f), len(b))
		h.Write(b)
	}
	return fmt.Sprintf("%x (%d files)", h.Sum(nil)[:6], len(files))
}

type caddyProc struct {
	cmd                  *exec.Cmd
	adminURL             string
	proxyURL, gatewayURL string
	gatewayKey           string // the token llm_gateway clients send
	gatewayAuth          string // how it was obtained, for the report
	logPath              string
	version              string
}

func (c *caddyProc) log() string {
	b, _ := os.ReadFile(c.logPath)
	if len(b) > 8<<10 {
		b = b[len(b)-8<<10:]
	}
	return string(b)
}

// cpuTime is the user+system CPU time the Caddy process has used so far
// (-1 where there is no /proc).
func (c *caddyProc) cpuTime() time.Duration {
	return procCPU(fmt.Sprintf("/proc/%d/stat", c.cmd.Process.Pid))
}

// selfCPU is the CPU time this process has used so far.
func selfCPU() time.Duration { return procCPU("/proc/self/stat") }

// clkTck is USER_HZ, the unit of /proc CPU times: 100 on every Linux
// platform Go supports.
const clkTck = 100

// procCPU reads utime+stime from a /proc/<pid>/stat file.
func procCPU(path string) time.Duration {
	b, err := os.ReadFile(path)
	if err != nil {
		return -1
	}
	// Fields after the command name, which is in parentheses: state is
	// field 3, utime 14, stime 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return -1
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return time.Duration(ut+st) * time.Second / clkTck
}

// systemCPU is the busy CPU time of the whole machine so far, from the cpu
// line of /proc/stat (everything but idle and iowait; -1 without /proc).
func systemCPU() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return -1
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 8 || f[0] != "cpu" {
		return -1
	}
	var busy int64
	for i, v := range f[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i >= 8 { // guest time is already counted in user
			break
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return -1
		}
		busy += n
	}
	return time.Duration(busy) * time.Second / clkTck
}

// loadAvg is the 1-, 5- and 15-minute load average, as /proc/loadavg has it.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

type memStats struct{ bytes, mallocs float64 }

// memStats reads Caddy's cumulative heap allocation counters from the Go
// metrics on its admin endpoint (zero when unavailable).
func (c *caddyProc) memStats() memStats {
	var m memStats
	resp, err := http.Get(c.adminURL + "/metrics")
	if err != nil {
		return m
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return m
	}
	for line := range strings.Lines(string(body)) {
		name, value, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		switch name {
		case "go_memstats_alloc_bytes_total":
			m.bytes, _ = strconv.ParseFloat(value, 64)
		case "go_memstats_mallocs_total":
			m.mallocs, _ = strconv.ParseFloat(value, 64)
		}
	}
	return m
}

// cpuProfile saves a CPU profile of Caddy over the next d (minus a little,
// so it ends within the measured window).
func (c *caddyProc) cpuProfile(path string, d time.Duration) error {
	secs := max(int(d.Seconds())-1, 1)
	ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", c.adminURL, secs), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s", resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

const caddyfileTemplate = `{
	admin 127.0.0.1:%[1]d
	auto_https off
	persist_config off
}

# Site A: plain Caddy reverse proxy to the fake upstream.
:%[2]d {
	bind 127.0.0.1
	reverse_proxy %[4]s%[7]s
}

# Site B: the LLM gateway in front of the same upstream.
:%[3]d {
	bind 127.0.0.1
	llm_gateway {
		provider up openai_compatible {
			base_url %[5]s
			api_key %[6]s
		}
		route * up
	}
}
`

// startCaddy runs bin with a Caddyfile serving site A (reverse_proxy) and
// site B (llm_gateway) on two loopback ports, and waits until both answer.
// Clients of site A send the upstream key, which reverse_proxy passes on;
// clients of site B send a gateway token (see gatewayToken), and
// llm_gateway sends its provider's api_key, the same upstream key.
func startCaddy(t *testing.T, bin string, up *upstream, key string, proxyIdle int) *caddyProc {
	t.Helper()
	proxyOpts := ""
	if proxyIdle >= 0 {
		proxyOpts = fmt.Sprintf(" {\n\t\ttransport http {\n\t\t\tkeepalive_idle_conns_per_host %d\n\t\t}\n\t}", proxyIdle)
	}
	return startCaddyFile(t, bin, key, func(admin, portA, portB int) string {
		return fmt.Sprintf(caddyfileTemplate, admin, portA, portB, up.Host, up.URL, key, proxyOpts)
	})
}

// startCaddyFile runs bin with the Caddyfile render makes for its admin
// port and two site ports, and waits until both sites answer a chat
// completion: site A with keyA as its client key, or with the gateway
// token when keyA is empty (site A is then an llm_gateway too); site B
// with the gateway token.
func startCaddyFile(t *testing.T, bin, keyA string, render func(admin, portA, portB int) string) *caddyProc {
	t.Helper()
	dir := t.TempDir()
	admin, portA, portB := freePort(t), freePort(t), freePort(t)
	caddyfile := render(admin, portA, portB)
	cfgPath := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(cfgPath, []byte(caddyfile), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &caddyProc{
		adminURL:   fmt.Sprintf("http://127.0.0.1:%d", admin),
		proxyURL:   fmt.Sprintf("http://127.0.0.1:%d/v1/chat/completions", portA),
		gatewayURL: fmt.Sprintf("http://127.0.0.1:%d/v1/chat/completions", portB),
		logPath:    filepath.Join(dir, "caddy.log"),
	}
	if out, err := exec.Command(bin, "version").Output(); err == nil {
		c.version = strings.Fields(string(out) + " ?")[0]
	}
	logf, err := os.Create(c.logPath)
	if err != nil {
		t.Fatal(err)
	}
	c.cmd = exec.Command(bin, "run", "--config", cfgPath, "--adapter", "caddyfile")
	c.cmd.Dir = dir
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	// Keep Caddy's data and config dirs out of $HOME.
	c.cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+filepath.Join(dir, "data"), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"))
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- c.cmd.Wait(); logf.Close() }()
	t.Cleanup(func() {
		c.cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			c.cmd.Process.Kill()
			<-exited
		}
	})

	probe := &http.Client{Timeout: 5 * time.Second}
	defer probe.CloseIdleConnections()
	plain, _ := requestBodies(false)
	deadline := time.Now().Add(60 * time.Second)
	waitFor := func(what string, try func() error) {
		t.Helper()
		for {
			select {
			case err := <-exited:
				t.Fatalf("caddy exited: %v\n%s", err, c.log())
			default:
			}
			err := try()
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %s: %v\ncaddy log:\n%s", what, err, c.log())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitFor("the admin endpoint", func() error {
		_, err := adminCall(probe, c.adminURL, http.MethodGet, "/config/", nil)
		return err
	})
	if keyA != "" {
		waitFor("site A (reverse_proxy)", func() error {
			_, _, err := doRequest(probe, scenario{URL: c.proxyURL, Key: keyA, Body: plain}, make([]byte, 32<<10))
			return err
		})
	}
	c.gatewayKey, c.gatewayAuth = gatewayToken(t, probe, c.adminURL, keyA)
	if keyA == "" {
		waitFor("site A", func() error {
			_, _, err := doRequest(probe, scenario{URL: c.proxyURL, Key: c.gatewayKey, Body: plain}, make([]byte, 32<<10))
			return err
		})
	}
	waitFor("site B (llm_gateway)", func() error {
		_, _, err := doRequest(probe, scenario{URL: c.gatewayURL, Key: c.gatewayKey, Body: plain}, make([]byte, 32<<10))
		return err
	})
	return c
}

// gatewayToken creates a service and a gateway token through the
// llm_gateway admin API, for the clients of site B. A gateway without that
// API (before gateway tokens existed) takes any client credential; the
// clients then send the upstream key, as they do to reverse_proxy.
func gatewayToken(t *testing.T, client *http.Client, adminURL, upstreamKey string) (token, how string) {
	t.Helper()
	body, err := adminCall(client, adminURL, http.MethodPost, "/llm_gateway/services", map[string]any{"name": "loadbench"})
	var se *statusError
	if errors.As(err, &se) && se.status == http.StatusNotFound {
		return upstreamKey, "none (no gateway token API in this build)"
	}
	if err != nil {
		t.Fatalf("creating a service: %v", err)
	}
	var svc struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &svc); err != nil || svc.ID == "" {
		t.Fatalf("creating a service: answer %s", body)
	}
	body, err = adminCall(client, adminURL, http.MethodPost, "/llm_gateway/services/"+url.PathEscape(svc.ID)+"/tokens", map[string]any{"name": "loadbench"})
	if err != nil {
		t.Fatalf("creating a token: %v", err)
	}
	var tok struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.Token == "" {
		t.Fatalf("creating a token: answer without a token (%d bytes)", len(body))
	}
	return tok.Token, "gateway token of a service with no model restrictions, created through the admin API"
}

type statusError struct {
	status int
	body   string
}

func (e *statusError) Error() string { return fmt.Sprintf("status %d: %s", e.status, e.body) }

// adminCall calls Caddy's admin API, sending in as JSON when not nil.
func adminCall(client *http.Client, adminURL, method, path string, in any) ([]byte, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, adminURL+path, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return out, &statusError{resp.StatusCode, strings.TrimSpace(string(out))}
	}
	return out, nil
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		t.Fatalf("%s=%q: want a duration such as 10s", name, v)
	}
	return d
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}
