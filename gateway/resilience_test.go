package gateway_test

import (
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/fakeprovider"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/route"
)

// TestResilienceFigure is the resilience target: with one of two targets
// of a route failing half of its requests (500), at least 99.9% of client
// requests succeed. It reports the latency the faults add (p50, p99),
// retries' backoff included, against the same load with both targets
// healthy. LLMGW_RESILIENCE_N sets the requests per run (default 1000);
// the figures in docs/performance.md come from 10000.
func TestResilienceFigure(t *testing.T) {
	if testing.Short() {
		t.Skip("load figure")
	}
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("LLMGW_RESILIENCE_N")); err == nil && v > 0 {
		n = v
	}
	run := func(t *testing.T, flaky bool) (ok int, lat []time.Duration) {
		f := newFixture(t, func(c *gateway.Config) {
			c.RetryBackoff = 0 // the default backoff: the figure includes it
			c.Routes = append([]route.Rule{{Pattern: "pair", Targets: []route.Target{
				{Provider: "openai", Model: "gpt-4o-mini"},
				{Provider: "azure", Model: "gpt-4o-deployment"},
			}}}, c.Routes...)
		})
		if flaky {
			f.openai.Set(fakeprovider.Behavior{Status: 500, FailRate: 0.5})
		}
		var okN atomic.Int64
		lat = make([]time.Duration, n)
		var next atomic.Int64
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				for {
					i := int(next.Add(1)) - 1
					if i >= n {
						return
					}
					start := time.Now()
					resp, _ := f.post(t, "/v1/chat/completions", `{"model":"pair","messages":[{"role":"user","content":"hi"}]}`)
					lat[i] = time.Since(start)
					if resp.StatusCode == 200 {
						okN.Add(1)
					}
				}
			})
		}
		wg.Wait()
		slices.Sort(lat)
		return int(okN.Load()), lat
	}
	pct := func(lat []time.Duration, p float64) time.Duration { return lat[int(float64(len(lat)-1)*p)] }
	run(t, false) // warm up: the first run pays for the process's first connections
	_, base := run(t, false)
	ok, faulty := run(t, true)
	rate := float64(ok) / float64(n)
	t.Logf("%d requests, one of two targets failing 50%%: %.2f%% succeeded", n, 100*rate)
	t.Logf("latency healthy p50 %v p99 %v; faulty p50 %v p99 %v; added p99 %v",
		pct(base, .5), pct(base, .99), pct(faulty, .5), pct(faulty, .99), pct(faulty, .99)-pct(base, .99))
	if rate < 0.999 {
		t.Fatalf("%.3f%% of requests succeeded, want at least 99.9%%", 100*rate)
	}
}
