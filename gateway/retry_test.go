package gateway_test

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/fakeprovider"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/health"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/limits"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/route"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/storage"
)

// TestRetriesAndFallbacks drives each fault of a provider's bad moment
// and checks what the client gets, how many calls each provider got, and
// what the audit record says.
func TestRetriesAndFallbacks(t *testing.T) {
	const single = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`
	const resilient = `{"model":"resilient","messages":[{"role":"user","content":"hi"}]}`
	const resilientStream = `{"model":"resilient","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	cases := []struct {
		name      string
		body      string
		openai    fakeprovider.Behavior
		status    int
		openaiN   int // requests the openai fake gets
		fallbackN int // requests the anthropic fake gets
		provider  string
		attempts  int
	}{
		{"500 twice, then success", single, fakeprovider.Behavior{Status: 500, FailFirst: 2}, 200, 3, 0, "openai", 3},
		{"429 with Retry-After, then success", single,
			fakeprovider.Behavior{Status: 429, FailFirst: 1, Header: http.Header{"Retry-After": {"0.05"}}}, 200, 2, 0, "openai", 2},
		{"connection reset, then success", single, fakeprovider.Behavior{ResetConn: true, FailFirst: 1}, 200, 2, 0, "openai", 2},
		{"always 500, no fallback: the provider's error", single, fakeprovider.Behavior{Status: 500}, 500, 3, 0, "openai", 3},
		{"always 503: the fallback answers", resilient, fakeprovider.Behavior{Status: 503}, 200, 3, 1, "anthropic", 4},
		{"always reset: the fallback answers, streamed", resilientStream, fakeprovider.Behavior{ResetConn: true}, 200, 3, 1, "anthropic", 4},
		{"429 for a minute: straight to the fallback", resilient,
			fakeprovider.Behavior{Status: 429, Header: http.Header{"Retry-After": {"60"}}}, 200, 1, 1, "anthropic", 2},
		{"400 is the client's: never retried", resilient, fakeprovider.Behavior{Status: 400}, 400, 1, 0, "openai", 1},
		{"retries 0", `{"model":"no-retries","messages":[{"role":"user","content":"hi"}]}`,
			fakeprovider.Behavior{Status: 500, FailFirst: 1}, 500, 1, 0, "openai", 1},
		{"a stream cut mid-way is not retried", resilientStream, fakeprovider.Behavior{CutAfter: 2}, 200, 1, 0, "openai", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// A fixture per case: each starts with every circuit closed.
			obs := &outcomes{}
			f := newResilientFixture(t, obs)
			f.openai.Set(c.openai)
			before := obs.count()
			resp, b := f.post(t, "/v1/chat/completions", c.body)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, b)
			}
			if n := len(f.openai.Requests()); n != c.openaiN {
				t.Errorf("openai got %d requests, want %d", n, c.openaiN)
			}
			if n := len(f.anthropic.Requests()); n != c.fallbackN {
				t.Errorf("anthropic got %d requests, want %d", n, c.fallbackN)
			}
			// The outcome is reported after the answer is written.
			for deadline := time.Now().Add(5 * time.Second); obs.count() == before && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			out := obs.last(t)
			if out.Attempts != c.attempts || out.Provider != c.provider || out.Status != c.status {
				t.Errorf("audit: %d attempts, provider %q, status %d; want %d, %q, %d",
					out.Attempts, out.Provider, out.Status, c.attempts, c.provider, c.status)
			}
			if c.status == 200 && !strings.Contains(c.body, `"stream":true`) && !strings.Contains(string(b), `"finish_reason"`) {
				t.Errorf("answer %s", b)
			}
			if c.status == 200 && out.InputTokens == 0 && c.openai.CutAfter == 0 {
				t.Errorf("the answering attempt was not metered: %+v", out.AuditRecord)
			}
			if c.status >= 400 && (out.CostMicroUSD != 0 || out.InputTokens != 0) {
				t.Errorf("failed attempts were charged: %+v", out.AuditRecord)
			}
			if c.openai.CutAfter > 0 && out.InputTokens == 0 && !out.UsageEstimated {
				t.Errorf("a cut stream was not charged: %+v", out.AuditRecord)
			}
		})
	}
}

// newResilientFixture is a gateway whose route "resilient" falls back
// from openai to anthropic, and whose route "no-retries" retries nothing.
func newResilientFixture(t *testing.T, obs gateway.Observer, mutate ...func(*gateway.Config)) *fixture {
	return newFixture(t, append([]func(*gateway.Config){func(c *gateway.Config) {
		c.Observer = obs
		c.Routes = append([]route.Rule{
			{Pattern: "resilient", Targets: []route.Target{
				{Provider: "openai", Model: "gpt-4o-mini"},
				{Provider: "anthropic", Model: "claude-sonnet-4-5", Priority: 1},
			}},
			{Pattern: "no-retries", Retries: new(int), Targets: []route.Target{{Provider: "openai", Model: "gpt-4o-mini"}}},
			{Pattern: "timed", Timeouts: route.Timeouts{FirstByte: 150 * time.Millisecond}, Targets: []route.Target{
				{Provider: "openai", Model: "gpt-4o-mini"},
				{Provider: "anthropic", Model: "claude-sonnet-4-5", Priority: 1},
			}},
			{Pattern: "timed-alone", Timeouts: route.Timeouts{FirstByte: 150 * time.Millisecond},
				Targets: []route.Target{{Provider: "openai", Model: "gpt-4o-mini"}}},
			{Pattern: "idle", Timeouts: route.Timeouts{Idle: 100 * time.Millisecond},
				Targets: []route.Target{{Provider: "openai", Model: "gpt-4o-mini"}}},
			{Pattern: "total", Timeouts: route.Timeouts{Total: 300 * time.Millisecond},
				Targets: []route.Target{{Provider: "openai", Model: "gpt-4o-mini"}}},
		}, c.Routes...)
	}}, mutate...)...)
}

// TestRouteTimeouts: a slow first byte moves on to the fallback without a
// retry; a hang with nothing to fall back to is a 504; a stream that goes
// silent, or runs past the total timeout, ends with an error event.
func TestRouteTimeouts(t *testing.T) {
	chat := func(model string, stream bool) string {
		s := ""
		if stream {
			s = `"stream":true,`
		}
		return `{"model":"` + model + `",` + s + `"messages":[{"role":"user","content":"hi"}]}`
	}
	long := strings.Repeat("word ", 40)
	cases := []struct {
		name      string
		body      string
		openai    fakeprovider.Behavior
		status    int
		openaiN   int
		fallbackN int
		lastEvent string // for streams: what the last event holds
	}{
		{"slow first byte: the fallback answers", chat("timed", false), fakeprovider.Behavior{FirstByteDelay: time.Second}, 200, 1, 1, ""},
		{"slow first byte of a stream: the fallback answers", chat("timed", true), fakeprovider.Behavior{FirstByteDelay: time.Second}, 200, 1, 1, "[DONE]"},
		{"hang, nothing to fall back to", chat("timed-alone", false), fakeprovider.Behavior{Hang: true}, 504, 1, 0, ""},
		{"a first byte in time is enough", chat("timed-alone", true), fakeprovider.Behavior{Reply: long, ChunkDelay: 20 * time.Millisecond}, 200, 1, 0, "[DONE]"},
		{"silence mid-stream", chat("idle", true), fakeprovider.Behavior{Reply: long, ChunkDelay: 300 * time.Millisecond}, 200, 1, 0, "stopped sending"},
		{"past the total timeout", chat("total", true), fakeprovider.Behavior{Reply: long, ChunkDelay: 50 * time.Millisecond}, 200, 1, 0, "total timeout"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obs := &outcomes{}
			f := newResilientFixture(t, obs)
			f.openai.Set(c.openai)
			resp, b := f.post(t, "/v1/chat/completions", c.body)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, b)
			}
			for deadline := time.Now().Add(5 * time.Second); obs.count() == 0 && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			out := obs.last(t)
			if out.Attempts != c.openaiN+c.fallbackN {
				t.Errorf("audit: %d attempts, want %d", out.Attempts, c.openaiN+c.fallbackN)
			}
			switch {
			case c.status >= 400 && (out.CostMicroUSD != 0 || out.InputTokens != 0 || out.ErrorType != "upstream_timeout"):
				t.Errorf("a failed request was charged: %+v", out.AuditRecord)
			case c.lastEvent != "" && c.lastEvent != "[DONE]" && (out.ErrorType != "stream_interrupted" || out.InputTokens == 0 && !out.UsageEstimated):
				t.Errorf("a cut stream must be charged for what it produced: %+v", out.AuditRecord)
			case c.status == 200 && out.InputTokens == 0:
				t.Errorf("the answer was not metered: %+v", out.AuditRecord)
			}
			if n := len(f.openai.Requests()); n != c.openaiN {
				t.Errorf("openai got %d requests, want %d", n, c.openaiN)
			}
			if n := len(f.anthropic.Requests()); n != c.fallbackN {
				t.Errorf("anthropic got %d requests, want %d", n, c.fallbackN)
			}
			if c.lastEvent != "" {
				events := readEvents(t, strings.NewReader(string(b)))
				if len(events) == 0 || !strings.Contains(events[len(events)-1], c.lastEvent) {
					t.Errorf("the stream ends with %q, want %q", events[len(events)-1:], c.lastEvent)
				}
			}
		})
	}
}

// TestCircuitBreaker: consecutive failures open a target's circuit, after
// which requests go straight to the fallback; after the cooldown one probe
// is let through, and its success closes the circuit.
func TestCircuitBreaker(t *testing.T) {
	clk := struct {
		sync.Mutex
		t time.Time
	}{t: time.Unix(1_000_000, 0)}
	now := func() time.Time { clk.Lock(); defer clk.Unlock(); return clk.t }
	tracker := health.New(health.Options{Threshold: 5, Cooldown: time.Minute, Now: now})
	f := newResilientFixture(t, &outcomes{}, func(c *gateway.Config) { c.Health = tracker })
	const body = `{"model":"resilient","messages":[{"role":"user","content":"hi"}]}`
	f.openai.Set(fakeprovider.Behavior{Status: 503})
	steps := []struct {
		openaiN, anthropicN int
		state               health.State
	}{
		{3, 1, health.Closed}, // 3 failures
		{2, 1, health.Open},   // the 5th failure opens the circuit: no third retry
		{0, 1, health.Open},   // open: straight to the fallback
	}
	for i, s := range steps {
		f.openai.Reset()
		f.anthropic.Reset()
		resp, b := f.post(t, "/v1/chat/completions", body)
		if resp.StatusCode != 200 {
			t.Fatalf("step %d: %d %s", i, resp.StatusCode, b)
		}
		if o, a := len(f.openai.Requests()), len(f.anthropic.Requests()); o != s.openaiN || a != s.anthropicN {
			t.Fatalf("step %d: openai %d, anthropic %d requests; want %d, %d", i, o, a, s.openaiN, s.anthropicN)
		}
		if st := targetState(tracker, "openai", "gpt-4o-mini"); st != s.state {
			t.Fatalf("step %d: circuit %s, want %s", i, st, s.state)
		}
	}
	// The provider is back; after the cooldown a probe closes the circuit.
	f.openai.Set(fakeprovider.Behavior{})
	clk.Lock()
	clk.t = clk.t.Add(time.Minute)
	clk.Unlock()
	f.openai.Reset()
	f.anthropic.Reset()
	if resp, b := f.post(t, "/v1/chat/completions", body); resp.StatusCode != 200 || len(f.openai.Requests()) != 1 || len(f.anthropic.Requests()) != 0 {
		t.Fatalf("probe: %d %s", resp.StatusCode, b)
	}
	if st := targetState(tracker, "openai", "gpt-4o-mini"); st != health.Closed {
		t.Fatalf("after a good probe the circuit is %s", st)
	}
}

func targetState(tr *health.Tracker, provider, model string) health.State {
	for _, h := range tr.Snapshot() {
		if h.Provider == provider && h.Model == model {
			return h.State
		}
	}
	return ""
}

// TestRetryWaitsForRetryAfter: the gateway waits what the provider asked
// before it retries.
func TestRetryWaitsForRetryAfter(t *testing.T) {
	f := newFixture(t)
	f.openai.Set(fakeprovider.Behavior{Status: 429, FailFirst: 1, Header: http.Header{"Retry-After-Ms": {"300"}}})
	start := time.Now()
	resp, b := f.post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	reqs := f.openai.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	if waited := time.Since(start); waited < 300*time.Millisecond {
		t.Fatalf("retried after %v, before the 300 ms the provider asked for", waited)
	}
}

// twoKeys stores two keys of the same priority for the openai provider,
// each belonging to its own fake server.
type twoKeys struct{ a, b *fakeprovider.Server }

func (k twoKeys) ProviderKey(_ context.Context, provider string, _ *storage.Service, usable func(string) bool) (gateway.ProviderKey, error) {
	if provider != "openai" {
		return gateway.ProviderKey{}, nil
	}
	keys := []gateway.ProviderKey{{ID: "key_a", Key: "sk-key-a-0123456789", BaseURL: k.a.URL}, {ID: "key_b", Key: "sk-key-b-0123456789", BaseURL: k.b.URL}}
	var ok []gateway.ProviderKey
	for _, key := range keys {
		if usable(key.ID) {
			ok = append(ok, key)
		}
	}
	if len(ok) == 0 {
		ok = keys
	}
	return ok[rand.IntN(len(ok))], nil
}

// TestKeyFailover: a stored key that is rate limited (or refused) is
// avoided by the request's retry, which goes out with the provider's other
// key; a key whose circuit opened is left alone by later requests.
func TestKeyFailover(t *testing.T) {
	a := fakeprovider.New(t, fakeprovider.OpenAI, "sk-key-a-0123456789")
	b := fakeprovider.New(t, fakeprovider.OpenAI, "sk-key-b-0123456789")
	a.Set(fakeprovider.Behavior{Status: 429})
	obs := &outcomes{}
	f := newResilientFixture(t, obs, func(c *gateway.Config) { c.Keys = twoKeys{a, b} })
	for i := range 20 {
		resp, body := f.post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`)
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, body)
		}
	}
	// Key a failed at most once per request until its circuit opened
	// (five failures), then never again.
	if n := len(a.Requests()); n < 1 || n > health.DefaultThreshold {
		t.Fatalf("the rate-limited key was tried %d times", n)
	}
	if n := len(b.Requests()); n != 20 {
		t.Fatalf("the good key answered %d requests, want 20", n)
	}
}

// TestActiveHealthCheck: a provider probed as failing is skipped before
// any request meets it, and used again once the probes pass.
func TestActiveHealthCheck(t *testing.T) {
	tracker := health.New(health.Options{Threshold: 2, Cooldown: 50 * time.Millisecond})
	f := newResilientFixture(t, &outcomes{}, func(c *gateway.Config) { c.Health = tracker })
	g := f.gw.Config.Handler.(*gateway.Gateway)
	f.openai.Set(fakeprovider.Behavior{Status: 503})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := g.ProbeLoop(ctx, "openai", 10*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := g.ProbeLoop(ctx, "nope", time.Second); err == nil {
		t.Fatal("an unknown provider was probed")
	}
	waitState := func(want health.State) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); targetState(tracker, "openai", "*") != want; {
			if time.Now().After(deadline) {
				t.Fatalf("the provider's circuit is %s, want %s", targetState(tracker, "openai", "*"), want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	posts := func() int {
		n := 0
		for _, r := range f.openai.Requests() {
			if r.Method == "POST" {
				n++
			}
		}
		return n
	}
	waitState(health.Open)
	const body = `{"model":"resilient","messages":[{"role":"user","content":"hi"}]}`
	if resp, b := f.post(t, "/v1/chat/completions", body); resp.StatusCode != 200 || posts() != 0 || len(f.anthropic.Requests()) != 1 {
		t.Fatalf("with the provider down: %d %s; openai got %d requests", resp.StatusCode, b, posts())
	}
	f.openai.Set(fakeprovider.Behavior{})
	waitState(health.Closed)
	if resp, b := f.post(t, "/v1/chat/completions", body); resp.StatusCode != 200 || posts() != 1 {
		t.Fatalf("with the provider back: %d %s; openai got %d requests", resp.StatusCode, b, posts())
	}
}

// TestBudgetedFallbackNeedsAPrice: a request charged to a USD budget never
// falls back to a target without a known price, since its answer could
// not be charged; a request without a budget does, and a priced fallback
// still answers a budgeted one.
func TestBudgetedFallbackNeedsAPrice(t *testing.T) {
	routes := func(c *gateway.Config) {
		c.Routes = append([]route.Rule{
			{Pattern: "to-unpriced", Targets: []route.Target{
				{Provider: "openai", Model: "gpt-4o-mini"},
				{Provider: "anthropic", Model: "claude-in-house-unpriced", Priority: 1},
			}},
			{Pattern: "to-priced", Targets: []route.Target{
				{Provider: "openai", Model: "gpt-4o-mini"},
				{Provider: "anthropic", Model: "claude-sonnet-4-5", Priority: 1},
			}},
		}, c.Routes...)
	}
	cases := []struct {
		name       string
		budget     storage.Budget
		model      string
		status     int
		anthropicN int
	}{
		{"budgeted, unpriced fallback: not used", storage.Budget{DailyMicroUSD: 1_000_000}, "to-unpriced", 503, 0},
		{"no budget, unpriced fallback: used", storage.Budget{}, "to-unpriced", 200, 1},
		{"budgeted, priced fallback: used", storage.Budget{DailyMicroUSD: 1_000_000}, "to-priced", 200, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			svc := &storage.Service{ID: "svc_fb", Name: "fallback", Active: true, Budget: c.budget}
			f, eng := costFixture(t, svc, routes)
			f.openai.Set(fakeprovider.Behavior{Status: 503})
			resp, b := f.post(t, "/v1/chat/completions", `{"model":"`+c.model+`","messages":[{"role":"user","content":"hi"}]}`)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, b)
			}
			if n := len(f.anthropic.Requests()); n != c.anthropicN {
				t.Errorf("the fallback got %d requests, want %d", n, c.anthropicN)
			}
			if c.budget != (storage.Budget{}) {
				// Settlement follows the answer.
				var spent limits.Snapshot
				for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
					if spent = eng.Spent(gateway.ServiceScope(svc.ID)); spent.Reserved == 0 {
						break
					}
				}
				if c.status == 200 && spent.SpentToday <= 0 {
					t.Errorf("the fallback's answer was not charged: %+v", spent)
				}
				if spent.Reserved != 0 {
					t.Errorf("a reservation was left: %+v", spent)
				}
			}
		})
	}
}
