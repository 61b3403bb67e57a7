package bench

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/token"
)

// TestInvalidTokenFlood is the reliability suite's figure for a flood of
// invalid tokens. Three quarters of the flood is malformed (refused on
// format and checksum, with no storage read) and a quarter is well formed
// but unknown (one point lookup each); every one must get a 401. The
// control is the same flood of requests for an endpoint that does not
// exist (404), the cheapest answer the gateway gives. The test measures
// Caddy's CPU per request of each kind alone, then valid traffic alone,
// beside the control and beside the invalid tokens; every valid request
// must succeed. Latencies are reported, not asserted: timing on a shared
// machine is a measurement, not a test.
//
// The bounded form (2 s per phase, 1,000 invalid tokens per second) runs
// with the tests; LLMGW_FLOOD=1 runs the figure (20 s per phase, 2,000
// per second), and LLMGW_FLOOD_RATE and LLMGW_FLOOD_DURATION override
// either. LLMGW_FLOOD_PROFILE=<prefix> writes Caddy's CPU profiles of
// valid traffic beside each flood to <prefix>-control.pprof and
// <prefix>-invalid.pprof.
func TestInvalidTokenFlood(t *testing.T) {
	rate, dur := figureForm(t, "LLMGW_FLOOD", form{1000, 2 * time.Second}, form{2000, 20 * time.Second}, "_RATE")
	const conc = 8 // valid clients, each sending back to back
	_, cd := startLoadGateway(t, 0)
	client, _ := loadClient(conc)
	plain, _ := requestBodies(false)
	valid := scenario{Target: "valid", URL: cd.gatewayURL, Key: cd.gatewayKey, Body: plain}
	runLoad(client, valid, conc, time.Second) // warm up

	// Invalid tokens, all distinct: malformed ones (a changed character, a
	// wrong length, a foreign prefix) and well-formed unknown ones.
	bad := make([]string, 5000)
	for i := range bad {
		good, _, err := token.New()
		if err != nil {
			t.Fatal(err)
		}
		switch i % 4 {
		case 0:
			b := []byte(good)
			b[len(token.Prefix)+i%20] ^= 1
			bad[i] = string(b)
		case 1:
			bad[i] = good[:len(good)-1-i%5]
		case 2:
			bad[i] = "sk-" + good
		default:
			bad[i] = good // well formed, never issued
		}
	}

	floodClient, _ := loadClient(64)
	var wrong sync.Map // what went wrong, with a sample
	// flood sends requests to url until stop is closed, each with the next
	// of toks: one every 1/rate seconds (an open loop, whatever the
	// gateway's speed), at most 256 in flight. Every answer must be want.
	// It returns how many were sent.
	flood := func(stop <-chan struct{}, url string, toks []string, want int) int64 {
		var n atomic.Int64
		sem := make(chan struct{}, 256)
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		var inflight sync.WaitGroup
		for i := 0; ; i++ {
			select {
			case <-stop:
				inflight.Wait()
				return n.Load()
			case <-tick.C:
			}
			select {
			case sem <- struct{}{}:
			default:
				continue // the gateway is behind: this one is not sent
			}
			tok := toks[i%len(toks)]
			inflight.Go(func() {
				defer func() { <-sem }()
				n.Add(1)
				status, err := post(floodClient, url, tok, plain)
				switch {
				case err != nil:
					wrong.LoadOrStore("error", err.Error())
				case status != want:
					wrong.LoadOrStore(fmt.Sprintf("status %d, want %d", status, want), tok[:min(len(tok), 8)]+"…")
				}
			})
		}
	}
	// The control: as many requests for a path the gateway does not
	// serve, with a valid token, answered 404 at once. Whatever they cost
	// is what any request costs Caddy and the gateway.
	control := func(stop <-chan struct{}) int64 {
		return flood(stop, strings.TrimSuffix(cd.gatewayURL, "/chat/completions")+"/no-such-endpoint", []string{cd.gatewayKey}, http.StatusNotFound)
	}
	invalid := func(stop <-chan struct{}) int64 {
		return flood(stop, cd.gatewayURL, bad, http.StatusUnauthorized)
	}
	// alone runs f for dur and returns how many it sent and the CPU Caddy
	// spent on each.
	alone := func(f func(<-chan struct{}) int64) (int64, time.Duration) {
		stop := make(chan struct{})
		time.AfterFunc(dur, func() { close(stop) })
		cpu0 := cd.cpuTime()
		n := f(stop)
		if n == 0 {
			return 0, 0
		}
		return n, (cd.cpuTime() - cpu0) / time.Duration(n)
	}
	// with measures valid traffic while f runs, if f is not nil.
	with := func(f func(<-chan struct{}) int64) (*loadResult, int64, time.Duration) {
		stop := make(chan struct{})
		var n int64
		var wg sync.WaitGroup
		if f != nil {
			wg.Go(func() { n = f(stop) })
		}
		cpu0 := cd.cpuTime()
		r := runLoad(client, valid, conc, dur)
		cpu := cd.cpuTime() - cpu0
		close(stop)
		wg.Wait()
		if r.Errors != 0 {
			t.Errorf("valid traffic failed %d times: %v", r.Errors, r.ErrorSamples)
		}
		return r, n, cpu / time.Duration(max(r.Requests, 1))
	}

	// profile writes Caddy's CPU profile while run runs, to
	// $LLMGW_FLOOD_PROFILE-name.pprof when that is set.
	profile := func(name string, run func()) {
		prefix := os.Getenv("LLMGW_FLOOD_PROFILE")
		if prefix == "" {
			run()
			return
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := cd.cpuProfile(prefix+"-"+name+".pprof", dur); err != nil {
				t.Errorf("profiling %s: %v", name, err)
			}
		})
		run()
		wg.Wait()
	}

	base, _, validCPU := with(nil)
	nControl, controlCPU := alone(control)
	nInvalid, invalidCPU := alone(invalid)
	var withControl, withInvalid *loadResult
	var nControl2, nInvalid2 int64
	profile("control", func() { withControl, nControl2, _ = with(control) })
	profile("invalid", func() { withInvalid, nInvalid2, _ = with(invalid) })

	wrong.Range(func(k, v any) bool {
		t.Errorf("flood: %v (%v)", k, v)
		return true
	})
	t.Logf("Caddy CPU per request: %s for a valid chat completion, %s for a 404 (the control), %s for a refused token",
		us(validCPU), us(controlCPU), us(invalidCPU))
	t.Logf("valid traffic, %d clients: p50 %s, p99 %s, %.0f req/s alone", conc, ms(base.Latency.P50), ms(base.Latency.P99), base.RPS())
	t.Logf("  beside %d 404s (%d/s): p50 %s, p99 %s, %.0f req/s", nControl2, rate, ms(withControl.Latency.P50), ms(withControl.Latency.P99), withControl.RPS())
	t.Logf("  beside %d invalid tokens (%d/s): p50 %s, p99 %s, %.0f req/s", nInvalid2, rate, ms(withInvalid.Latency.P50), ms(withInvalid.Latency.P99), withInvalid.RPS())
	t.Logf("alone: %d 404s and %d invalid tokens in %s each", nControl, nInvalid, dur)
}

// post sends one chat request with tok and returns the status, reading and
// discarding the answer so that the connection is reused.
func post(client *http.Client, url, tok string, body []byte) (int, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, fmt.Errorf("reading the answer: %w", err)
	}
	return resp.StatusCode, nil
}
