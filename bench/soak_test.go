package bench

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSoak is the reliability suite's load figure: many concurrent
// connections through the built Caddy to a fake provider, half of them
// streaming, for a while. There must be no error; the process's resident
// memory is reported at the start and the end; and once the clients and
// the provider let their connections go, Caddy's goroutines return to
// their baseline.
//
// The bounded form (100 connections for 5 s) runs with the tests;
// LLMGW_SOAK=1 runs the figure (500 connections for 60 s), and
// LLMGW_SOAK_CONCURRENCY and LLMGW_SOAK_DURATION override either.
func TestSoak(t *testing.T) {
	conc, dur := figureForm(t, "LLMGW_SOAK", form{100, 5 * time.Second}, form{500, 60 * time.Second}, "_CONCURRENCY")
	up, cd := startLoadGateway(t, time.Millisecond)
	client, tr := loadClient(conc)
	plain, stream := requestBodies(false)

	// Warm up, then take the baseline with every connection closed.
	runLoad(client, scenario{Target: "soak", URL: cd.proxyURL, Key: cd.gatewayKey, Body: plain}, 4, time.Second)
	settle := func() {
		tr.CloseIdleConnections()
		up.srv.SetKeepAlivesEnabled(false) // the provider drops the gateway's idle connections
		up.srv.SetKeepAlivesEnabled(true)
		time.Sleep(2 * time.Second)
	}
	settle()
	mem0, g0 := memOf(t, cd.cmd.Process.Pid), goroutinesOf(t, cd.adminURL)

	// Sample the resident memory six times during the load: a leak shows
	// as growth after the first sample, once the connections' buffers and
	// the caches have been allocated.
	samples := make(chan []memSample, 1)
	stop := make(chan struct{})
	go func() {
		var s []memSample
		tick := time.NewTicker(dur / 6)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				samples <- s
				return
			case <-tick.C:
				if n, err := readMem(cd.cmd.Process.Pid); err == nil {
					s = append(s, n)
				}
			}
		}
	}()

	var wg sync.WaitGroup
	results := make([]*loadResult, 2)
	for i, sc := range []scenario{
		{Target: "soak", URL: cd.proxyURL, Key: cd.gatewayKey, Body: plain},
		{Target: "soak", URL: cd.gatewayURL, Key: cd.gatewayKey, Stream: true, Body: stream},
	} {
		wg.Go(func() { results[i] = runLoad(client, sc, conc/2, dur) })
	}
	wg.Wait()
	memEnd := memOf(t, cd.cmd.Process.Pid)
	close(stop)
	during := <-samples
	settle()
	mem1, g1 := memOf(t, cd.cmd.Process.Pid), goroutinesOf(t, cd.adminURL)

	requests, errs := 0, 0
	for _, r := range results {
		requests += r.Requests
		errs += r.Errors
		t.Logf("%s: %d requests, %.0f req/s, p50 %s, p99 %s, %d errors %v", r.Name(), r.Requests, r.RPS(), ms(r.Latency.P50), ms(r.Latency.P99), r.Errors, r.ErrorSamples)
	}
	t.Logf("%d connections for %s: %d requests, %d errors; RSS (anonymous) %s at the start, %s at the end of the load, %s after it; goroutines %d before, %d after",
		conc, dur, requests, errs, mem0, memEnd, mem1, g0, g1)
	mib := make([]string, len(during))
	for i, v := range during {
		mib[i] = v.String()
	}
	t.Logf("RSS (anonymous) during the load, every %s: %s", dur/6, strings.Join(mib, ", "))
	if errs != 0 {
		t.Errorf("%d requests failed", errs)
	}
	// Flat: from the first sample (a sixth into the load) to its end, the
	// process's own memory may move with the garbage collector's cycles
	// but not grow with the number of requests served. Only the long form
	// has enough requests for a leak to show. The resident total also
	// counts pages of Badger's memory-mapped files, which the kernel
	// reclaims as page cache, so the check is on anonymous memory.
	if dur >= 30*time.Second && len(during) > 0 && memEnd.anon > during[0].anon*3/2 {
		t.Errorf("anonymous memory grew during the load: %d MiB a sixth in, %d MiB at the end", during[0].anon>>20, memEnd.anon>>20)
	}
	if g1 > g0+20 {
		t.Errorf("goroutines did not return to their baseline: %d before the load, %d after", g0, g1)
	}
}

// form is the size of a figure's run: how many (connections, requests
// per second) and for how long.
type form struct {
	n   int
	dur time.Duration
}

// figureForm skips the test in -short mode and returns the bounded form,
// or the long one when the environment variable env is "1"; env+nSuffix
// and env+"_DURATION" override either part.
func figureForm(t *testing.T, env string, bounded, long form, nSuffix string) (int, time.Duration) {
	t.Helper()
	if testing.Short() {
		t.Skip("a figure of the reliability suite")
	}
	f := bounded
	if os.Getenv(env) == "1" {
		f = long
	}
	return envInt(t, env+nSuffix, f.n), envDuration(t, env+"_DURATION", f.dur)
}

// startLoadGateway starts a fake provider answering in 20 chunks, each
// chunkDelay apart, and Caddy (the binary in LLMGW_CADDY, else one built
// from this checkout) with two llm_gateway sites in front of it.
func startLoadGateway(t *testing.T, chunkDelay time.Duration) (*upstream, *caddyProc) {
	t.Helper()
	bin := os.Getenv("LLMGW_CADDY")
	if bin == "" {
		bin = buildCaddy(t)
	}
	const key = "sk-load-upstream-key"
	up := startUpstream(t, key, 20, 0, chunkDelay)
	cd := startCaddyFile(t, bin, "", func(admin, portA, portB int) string {
		return fmt.Sprintf(auditCaddyfile, admin, portA, portB, up.URL, key, "")
	})
	return up, cd
}

// loadClient is an HTTP client for conns concurrent connections to one
// host.
func loadClient(conns int) (*http.Client, *http.Transport) {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		DisableCompression:  true,
	}
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}, tr
}

// memSample is a process's resident memory, in bytes: all of it, and the
// anonymous part (its heap and stacks, not the pages of mapped files).
type memSample struct{ rss, anon int64 }

func (m memSample) String() string { return fmt.Sprintf("%d (%d) MiB", m.rss>>20, m.anon>>20) }

// memOf reads a process's resident memory from /proc.
func memOf(t *testing.T, pid int) memSample {
	t.Helper()
	m, err := readMem(pid)
	if err != nil {
		t.Fatalf("reading the memory of Caddy: %v", err)
	}
	return m
}

// readMem reads VmRSS and RssAnon from /proc/<pid>/status.
func readMem(pid int) (memSample, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memSample{}, err
	}
	defer f.Close()
	var m memSample
	found := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		for _, field := range []struct {
			name string
			to   *int64
		}{{"VmRSS:", &m.rss}, {"RssAnon:", &m.anon}} {
			if v, ok := strings.CutPrefix(sc.Text(), field.name); ok {
				kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				if err != nil {
					return memSample{}, fmt.Errorf("parsing %s %q: %w", field.name, v, err)
				}
				*field.to = kb << 10
				found++
			}
		}
	}
	if found != 2 {
		return memSample{}, fmt.Errorf("no VmRSS or RssAnon in /proc/%d/status", pid)
	}
	return m, nil
}

// goroutinesOf reads Caddy's go_goroutines metric from its admin endpoint.
func goroutinesOf(t *testing.T, adminURL string) int {
	t.Helper()
	resp, err := http.Get(adminURL + "/metrics")
	if err != nil {
		t.Fatalf("reading Caddy's metrics: %v", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err == nil {
				return int(n)
			}
		}
	}
	t.Fatal("no go_goroutines metric")
	return 0
}
