package gateway_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/fakeprovider"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/route"
)

// TestRetriesAndFallbacks drives each fault of a provider's bad moment
// and checks what the client gets, how many calls each provider got, and
// what the audit record says.
func TestRetriesAndFallbacks(t *testing.T) {
	obs := &outcomes{}
	f := newFixture(t, func(c *gateway.Config) {
		c.Observer = obs
		c.Routes = append([]route.Rule{
			{Pattern: "resilient", Targets: []route.Target{
				{Provider: "openai", Model: "gpt-4o-mini"},
				{Provider: "anthropic", Model: "claude-sonnet-4-5", Priority: 1},
			}},
			{Pattern: "no-retries", Retries: new(int), Targets: []route.Target{{Provider: "openai", Model: "gpt-4o-mini"}}},
		}, c.Routes...)
	})
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
			f.openai.Set(c.openai)
			f.anthropic.Set(fakeprovider.Behavior{})
			f.openai.Reset()
			f.anthropic.Reset()
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
		})
	}
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
