package gateway_test

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/auth"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/fakeprovider"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/limits"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/meter"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/policy"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/pricing"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/provider"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/route"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/storage"
)

// costFixture is a gateway with a limits engine, for a service svc.
func costFixture(t *testing.T, svc *storage.Service, mutate ...func(*gateway.Config)) (*fixture, *limits.Engine) {
	t.Helper()
	eng := limits.New(limits.Options{})
	f := newFixture(t, append([]func(*gateway.Config){func(c *gateway.Config) {
		c.Auth = serviceAuth(svc)
		c.Limits = eng
	}}, mutate...)...)
	return f, eng
}

const budgetBody = `{"model":"gpt-4o-mini","max_tokens":1000,"messages":[{"role":"user","content":"Say hi"}]}`

// worstCase is what the gateway reserves for budgetBody.
func worstCase(t *testing.T) int64 {
	p, ok := pricing.Default().Lookup("openai", "gpt-4o-mini")
	if !ok {
		t.Fatal("gpt-4o-mini has no list price")
	}
	return p.WorstCase(meter.EstimateRequestTokens("openai", "chat_completions", []byte(budgetBody)), 1000)
}

// TestBudgetNeverOverspent sends 200 concurrent requests against a daily
// budget that covers k of them: spend never exceeds the budget and at
// least k are admitted.
func TestBudgetNeverOverspent(t *testing.T) {
	const k = 10
	worst := worstCase(t)
	svc := &storage.Service{ID: "svc_b", Name: "budgeted", Active: true, Budget: storage.Budget{DailyMicroUSD: k * worst}}
	f, eng := costFixture(t, svc)
	// Slow answers keep every request in flight at once; usage at the cap.
	f.openai.Set(fakeprovider.Behavior{FirstByteDelay: 300 * time.Millisecond, InputTokens: 12, OutputTokens: 1000})

	var wg sync.WaitGroup
	var mu sync.Mutex
	status := map[int]int{}
	start := make(chan struct{})
	for range 200 {
		wg.Go(func() {
			<-start
			req := authed(http.MethodPost, f.gw.URL+"/v1/chat/completions", strings.NewReader(budgetBody))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			status[resp.StatusCode]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	snap := eng.Spent(gateway.ServiceScope(svc.ID))
	if status[200] < k || status[200]+status[402] != 200 {
		t.Fatalf("statuses %v: want at least %d admitted, the rest 402", status, k)
	}
	if snap.SpentToday > svc.Budget.DailyMicroUSD || snap.Reserved != 0 {
		t.Fatalf("spent %d (reserved %d) of a %d budget", snap.SpentToday, snap.Reserved, svc.Budget.DailyMicroUSD)
	}
	if snap.SpentToday == 0 {
		t.Fatal("nothing was charged")
	}
}

func TestRateLimitAnswers429(t *testing.T) {
	svc := &storage.Service{ID: "svc_r", Name: "limited", Active: true, Limits: storage.Limits{RPM: 2}}
	f, _ := costFixture(t, svc)
	for i := range 2 {
		if resp, b := f.post(t, "/v1/chat/completions", chatBody); resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, b)
		}
	}
	resp, b := f.post(t, "/v1/chat/completions", chatBody)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third request: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if _, code, msg := openAIError(t, b); code != "rate_limit_exceeded" || !strings.Contains(msg, "rpm") || !strings.Contains(msg, "retry in") {
		t.Fatalf("code %q msg %q", code, msg)
	}
	// The Anthropic surface answers in its own shape.
	resp, b = f.post(t, "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"x"}]}`)
	if typ, _ := anthropicError(t, b); resp.StatusCode != 429 || typ != "rate_limit_error" {
		t.Fatalf("anthropic surface: %d %s", resp.StatusCode, typ)
	}
}

func TestUnknownPriceRefusedUnderBudget(t *testing.T) {
	svc := &storage.Service{ID: "svc_u", Name: "budgeted", Active: true, Budget: storage.Budget{MonthlyMicroUSD: 5_000_000}}
	f, _ := costFixture(t, svc)
	// gpt-* routes to the openai provider by family, but this model has
	// no list price.
	resp, b := f.post(t, "/v1/chat/completions", `{"model":"gpt-unpriced-x","messages":[]}`)
	if resp.StatusCode != 402 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	if _, code, msg := openAIError(t, b); code != "price_unknown" || !strings.Contains(msg, "price") {
		t.Fatalf("code %q msg %q", code, msg)
	}
	if n := len(f.openai.Requests()); n != 0 {
		t.Fatalf("provider called %d times", n)
	}
}

func TestPolicies(t *testing.T) {
	noStream, err := policy.Compile("no_streaming", `!request.stream`)
	if err != nil {
		t.Fatal(err)
	}
	svc := &storage.Service{ID: "svc_p", Name: "research", Active: true, Labels: map[string]string{"team": "research"},
		Policy: `request.max_tokens <= 100`}
	f, _ := costFixture(t, svc, func(c *gateway.Config) { c.Policies = policy.Set{noStream} })

	resp, b := f.post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"max_tokens":10,"messages":[]}`)
	if _, code, msg := openAIError(t, b); resp.StatusCode != 403 || code != "policy_denied" || !strings.Contains(msg, `"no_streaming"`) {
		t.Fatalf("global policy: %d %s", resp.StatusCode, b)
	}
	resp, b = f.post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","max_tokens":1000,"messages":[]}`)
	if _, _, msg := openAIError(t, b); resp.StatusCode != 403 || !strings.Contains(msg, "research") {
		t.Fatalf("service policy: %d %s", resp.StatusCode, b)
	}
	if resp, b := f.post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","max_tokens":10,"messages":[]}`); resp.StatusCode != 200 {
		t.Fatalf("allowed: %d %s", resp.StatusCode, b)
	}
	// A service policy that does not compile denies, naming the service.
	svc.Policy = `request.model ==`
	resp, b = f.post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","max_tokens":10,"messages":[]}`)
	if resp.StatusCode != 403 || !strings.Contains(string(b), "does not compile") {
		t.Fatalf("broken policy: %d %s", resp.StatusCode, b)
	}
}

// TestSettlement checks what each outcome charges: the provider's own
// usage, nothing for provider errors and unreachable providers, and an
// estimate bounded by the reservation for a client that leaves mid-stream.
func TestSettlement(t *testing.T) {
	price, _ := pricing.Default().Lookup("openai", "gpt-4o-mini")
	svc := &storage.Service{ID: "svc_s", Name: "metered", Active: true, Budget: storage.Budget{DailyMicroUSD: 1_000_000_000}}
	f, eng := costFixture(t, svc)
	spent := func() (int64, int64) {
		s := eng.Spent(gateway.ServiceScope(svc.ID))
		return s.SpentToday, s.Reserved
	}

	f.openai.Set(fakeprovider.Behavior{InputTokens: 1000, CachedTokens: 400, OutputTokens: 500})
	f.post(t, "/v1/chat/completions", budgetBody)
	want := price.Cost(meter.Usage{InputTokens: 600, CachedInputTokens: 400, OutputTokens: 500})
	if got, res := spent(); got != want || res != 0 {
		t.Fatalf("non-streamed: spent %d (reserved %d), want %d", got, res, want)
	}

	f.post(t, "/v1/chat/completions", strings.Replace(budgetBody, `"max_tokens"`, `"stream":true,"max_tokens"`, 1))
	if got, _ := spent(); got != 2*want {
		t.Fatalf("streamed: spent %d, want %d", got, 2*want)
	}

	f.openai.Set(fakeprovider.Behavior{Status: 500})
	f.post(t, "/v1/chat/completions", budgetBody)
	if got, res := spent(); got != 2*want || res != 0 {
		t.Fatalf("after a provider error: spent %d reserved %d", got, res)
	}

	// A client that leaves mid-stream: charged more than nothing, never
	// more than the reservation.
	f.openai.Set(fakeprovider.Behavior{Reply: strings.Repeat("word ", 200), ChunkDelay: 20 * time.Millisecond})
	req := authed(http.MethodPost, f.gw.URL+"/v1/chat/completions",
		strings.NewReader(strings.Replace(budgetBody, `"max_tokens"`, `"stream":true,"max_tokens"`, 1)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	for range 6 {
		br.ReadString('\n')
	}
	resp.Body.Close()
	if !f.openai.WaitCanceled(1, 5*time.Second) {
		t.Fatal("upstream not canceled")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, res := spent()
		if res == 0 && got > 2*want {
			if got-2*want > worstCase(t) {
				t.Fatalf("cut stream charged %d, more than its reservation %d", got-2*want, worstCase(t))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cut stream not settled: spent %d reserved %d", got, res)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestFailurePathsRelease checks that a request that never got an answer
// (provider unreachable, timed out) releases its whole reservation.
func TestFailurePathsRelease(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/v1"
	ln.Close()
	slow := fakeprovider.New(t, fakeprovider.OpenAI, openAIKey)
	slow.Set(fakeprovider.Behavior{FirstByteDelay: 2 * time.Second})
	mk := func(c provider.Config) provider.Provider {
		p, err := provider.New(c)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	svc := &storage.Service{ID: "svc_f", Name: "failing", Active: true, Budget: storage.Budget{DailyMicroUSD: 1_000_000_000}}
	eng := limits.New(limits.Options{})
	g, err := gateway.New(gateway.Config{
		Providers: []provider.Provider{
			mk(provider.Config{Name: "dead", Type: "openai", BaseURL: dead, APIKey: "k"}),
			mk(provider.Config{Name: "slow", Type: "openai", BaseURL: slow.URL, APIKey: openAIKey, HeaderTimeout: 200 * time.Millisecond}),
		},
		Routes: []route.Rule{
			{Pattern: "gpt-4o", Targets: []route.Target{{Provider: "dead"}}},
			{Pattern: "gpt-4o-mini", Targets: []route.Target{{Provider: "slow"}}},
		},
		Auth:   serviceAuth(svc),
		Limits: eng,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	defer srv.Close()
	f := &fixture{gw: srv}
	for _, c := range []struct {
		model  string
		status int
	}{{"gpt-4o", 502}, {"gpt-4o-mini", 504}} {
		resp, b := f.post(t, "/v1/chat/completions", `{"model":"`+c.model+`","max_tokens":100,"messages":[]}`)
		if resp.StatusCode != c.status {
			t.Fatalf("%s: status %d: %s", c.model, resp.StatusCode, b)
		}
		if s := eng.Spent(gateway.ServiceScope(svc.ID)); s.Reserved != 0 || s.SpentToday != 0 {
			t.Fatalf("%s: reserved %d, spent %d after a failure", c.model, s.Reserved, s.SpentToday)
		}
	}
}

// BenchmarkAdmission measures what cost control adds to the handler path:
// the same request with and without a limits engine, a budget, rate
// limits and two policies (one global, one per service).
func BenchmarkAdmission(b *testing.B) {
	rt := cannedResponses()
	mk := func(name, typ string) provider.Provider {
		p, err := provider.New(provider.Config{Name: name, Type: typ, BaseURL: "http://upstream.invalid/v1", APIKey: "k", Transport: rt})
		if err != nil {
			b.Fatal(err)
		}
		return p
	}
	global, err := policy.Compile("models", `request.model in ["gpt-4o-mini", "gpt-4o"] && request.max_tokens <= 4096`)
	if err != nil {
		b.Fatal(err)
	}
	body := `{"model":"gpt-4o-mini","max_tokens":1000,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"` +
		strings.Repeat("lorem ipsum dolor sit amet ", 140) + `"}]}`
	for _, withCost := range []bool{false, true} {
		name := "without"
		svc := &storage.Service{ID: "svc_bench", Name: "bench", Active: true}
		cfg := gateway.Config{Providers: []provider.Provider{mk("openai", "openai")}}
		if withCost {
			name = "with_policies_limits_budget"
			svc.Labels = map[string]string{"team": "research"}
			svc.Policy = `service.labels["team"] == "research"`
			svc.Limits = storage.Limits{RPM: 1 << 40, TPM: 1 << 50}
			svc.Budget = storage.Budget{DailyMicroUSD: 1 << 60}
			cfg.Limits = limits.New(limits.Options{})
			cfg.Policies = policy.Set{global}
		}
		cfg.Auth = serviceAuth(svc)
		g, err := gateway.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+testToken)
				w := httptest.NewRecorder()
				g.ServeHTTP(w, req)
				if w.Code != 200 {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}

// TestFreeAndOutputlessOperations: counting tokens costs nothing and is
// admitted even on an exhausted budget's last cent; embeddings reserve no
// output.
func TestFreeAndOutputlessOperations(t *testing.T) {
	svc := &storage.Service{ID: "svc_e", Name: "embedder", Active: true, Budget: storage.Budget{DailyMicroUSD: 1}}
	f, eng := costFixture(t, svc)
	resp, b := f.post(t, "/v1/messages/count_tokens", `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != 200 {
		t.Fatalf("count_tokens under a 1 micro-USD budget: %d %s", resp.StatusCode, b)
	}
	// text-embedding-3-small at $0.02/M: a short input's worst case is a
	// fraction of a micro-USD, rounded up to 1: admitted on a 1 micro-USD budget
	// only because no output is reserved.
	resp, b = f.post(t, "/v1/embeddings", `{"model":"text-embedding-3-small","input":"hello"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("embeddings: %d %s", resp.StatusCode, b)
	}
	if s := eng.Spent(gateway.ServiceScope(svc.ID)); s.Reserved != 0 {
		t.Fatalf("reserved %d after settling", s.Reserved)
	}
}

// tokenAuth authenticates testToken as tok of svc.
type tokenAuth struct {
	svc *storage.Service
	tok *storage.Token
}

func (a tokenAuth) Verify(_ context.Context, p string) (*auth.Identity, error) {
	if p != testToken {
		return nil, auth.ErrInvalid
	}
	return &auth.Identity{Token: a.tok, Service: a.svc}, nil
}

// TestBudgetRaceNestedScopes: 1,000 concurrent requests against a token
// budget nested in a service budget: neither scope is overspent, and the
// tighter one (the token's) decides how many are admitted.
func TestBudgetRaceNestedScopes(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 concurrent requests")
	}
	worst := worstCase(t)
	svc := &storage.Service{ID: "svc_n", Name: "nested", Active: true, Budget: storage.Budget{DailyMicroUSD: 20 * worst}}
	tok := &storage.Token{ID: "tok_n", ServiceID: svc.ID, Budget: storage.Budget{DailyMicroUSD: 7 * worst}}
	eng := limits.New(limits.Options{})
	f := newFixture(t, func(c *gateway.Config) {
		c.Auth = tokenAuth{svc, tok}
		c.Limits = eng
	})
	f.openai.Set(fakeprovider.Behavior{FirstByteDelay: 300 * time.Millisecond, InputTokens: 12, OutputTokens: 1000})
	var wg sync.WaitGroup
	var mu sync.Mutex
	status := map[int]int{}
	start := make(chan struct{})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1000}}
	for range 1000 {
		wg.Go(func() {
			<-start
			req := authed(http.MethodPost, f.gw.URL+"/v1/chat/completions", strings.NewReader(budgetBody))
			resp, err := client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			status[resp.StatusCode]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	sv, tk := eng.Spent(gateway.ServiceScope(svc.ID)), eng.Spent(gateway.TokenScope(tok.ID))
	if status[200] != 7 || status[200]+status[402] != 1000 {
		t.Fatalf("statuses %v: want 7 admitted (the token's budget), the rest 402", status)
	}
	if tk.SpentToday > tok.Budget.DailyMicroUSD || sv.SpentToday > svc.Budget.DailyMicroUSD || tk.Reserved != 0 || sv.Reserved != 0 {
		t.Fatalf("token spent %d of %d, service %d of %d (reserved %d, %d)",
			tk.SpentToday, tok.Budget.DailyMicroUSD, sv.SpentToday, svc.Budget.DailyMicroUSD, tk.Reserved, sv.Reserved)
	}
	if tk.SpentToday == 0 || tk.SpentToday != sv.SpentToday {
		t.Fatalf("token spent %d, service %d: both scopes must be charged the same", tk.SpentToday, sv.SpentToday)
	}
}
