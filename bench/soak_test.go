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
	if testing.Short() {
		t.Skip("soak")
	}
	conc, dur := 100, 5*time.Second
	if os.Getenv("LLMGW_SOAK") == "1" {
		conc, dur = 500, 60*time.Second
	}
	conc = envInt(t, "LLMGW_SOAK_CONCURRENCY", conc)
	dur = envDuration(t, "LLMGW_SOAK_DURATION", dur)
	bin := os.Getenv("LLMGW_CADDY")
	if bin == "" {
		bin = buildCaddy(t)
	}
	const key = "sk-soak-upstream-key"
	up := startUpstream(t, key, 20, 0, time.Millisecond)
	cd := startCaddyFile(t, bin, "", func(admin, portA, portB int) string {
		return fmt.Sprintf(auditCaddyfile, admin, portA, portB, up.URL, key, "")
	})
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: conc,
		MaxConnsPerHost:     conc,
		DisableCompression:  true,
	}
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second}
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
	rss0, g0 := rssOf(t, cd.cmd.Process.Pid), goroutinesOf(t, cd.adminURL)

	var wg sync.WaitGroup
	results := make([]*loadResult, 2)
	for i, sc := range []scenario{
		{Target: "soak", URL: cd.proxyURL, Key: cd.gatewayKey, Body: plain},
		{Target: "soak", URL: cd.gatewayURL, Key: cd.gatewayKey, Stream: true, Body: stream},
	} {
		wg.Go(func() { results[i] = runLoad(client, sc, conc/2, dur) })
	}
	wg.Wait()
	rssPeak := rssOf(t, cd.cmd.Process.Pid)
	settle()
	rss1, g1 := rssOf(t, cd.cmd.Process.Pid), goroutinesOf(t, cd.adminURL)

	requests, errs := 0, 0
	for _, r := range results {
		requests += r.Requests
		errs += r.Errors
		t.Logf("%s: %d requests, %.0f req/s, p50 %s, p99 %s, %d errors %v", r.Name(), r.Requests, r.RPS(), ms(r.Latency.P50), ms(r.Latency.P99), r.Errors, r.ErrorSamples)
	}
	t.Logf("%d connections for %s: %d requests, %d errors; RSS %d MiB at the start, %d MiB at the end of the load, %d MiB after it; goroutines %d before, %d after",
		conc, dur, requests, errs, rss0>>20, rssPeak>>20, rss1>>20, g0, g1)
	if errs != 0 {
		t.Errorf("%d requests failed", errs)
	}
	if g1 > g0+20 {
		t.Errorf("goroutines did not return to their baseline: %d before the load, %d after", g0, g1)
	}
}

// rssOf reads a process's resident memory, in bytes, from /proc.
func rssOf(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("reading the memory of Caddy: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc status")
	return 0
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
