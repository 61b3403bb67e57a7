package gateway_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/audit"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/auth"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/cache"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/fakeprovider"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/provider"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/route"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/token"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/storage"
)

// outcomes collects what the gateway reports.
type outcomes struct {
	mu   sync.Mutex
	list []gateway.Outcome
}

func (o *outcomes) Observe(out *gateway.Outcome) {
	o.mu.Lock()
	o.list = append(o.list, *out)
	o.mu.Unlock()
}

func (o *outcomes) last(t *testing.T) gateway.Outcome {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.list) == 0 {
		t.Fatal("no outcome was reported")
	}
	return o.list[len(o.list)-1]
}

func (o *outcomes) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.list)
}

// cacheFixture is a gateway with a memory-only cache and an observer.
func cacheFixture(t *testing.T, mutate ...func(*gateway.Config)) (*fixture, *outcomes, *cache.Cache) {
	t.Helper()
	c := cache.New(nil, cache.Options{})
	t.Cleanup(c.Close)
	obs := &outcomes{}
	f := newFixture(t, append([]func(*gateway.Config){func(cfg *gateway.Config) {
		cfg.Cache = c
		cfg.Observer = obs
	}}, mutate...)...)
	return f, obs, c
}

// TestCacheHitReplaysTheAnswer sends each kind of request twice: the
// second is answered from the cache, byte for byte as the first, without
// reaching the provider, free and recorded as a hit.
func TestCacheHitReplaysTheAnswer(t *testing.T) {
	f, obs, _ := cacheFixture(t)
	tests := []struct {
		name, path, body string
		up               *fakeprovider.Server
		contentType      string
	}{
		{"chat", "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"a"}]}`, f.openai, "application/json"},
		{"chat stream", "/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"b"}]}`, f.openai, "text/event-stream"},
		{"chat stream with usage", "/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"c"}]}`, f.openai, "text/event-stream"},
		{"responses stream", "/v1/responses", `{"model":"gpt-4o-mini","stream":true,"input":"d"}`, f.openai, "text/event-stream"},
		{"embeddings", "/v1/embeddings", `{"model":"text-embedding-3-small","input":"e"}`, f.openai, "application/json"},
		{"messages", "/v1/messages", `{"model":"claude-haiku-4-5","max_tokens":100,"messages":[{"role":"user","content":"f"}]}`, f.anthropic, "application/json"},
		{"messages stream", "/v1/messages", `{"model":"claude-haiku-4-5","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"g"}]}`, f.anthropic, "text/event-stream"},
		{"chat to anthropic stream", "/v1/chat/completions", `{"model":"claude-haiku-4-5","stream":true,"messages":[{"role":"user","content":"h"}]}`, f.anthropic, "text/event-stream"},
		{"chat to anthropic", "/v1/chat/completions", `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"i"}]}`, f.anthropic, "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(tt.up.Requests())
			first, firstBody := f.post(t, tt.path, tt.body)
			if first.StatusCode != http.StatusOK || first.Header.Get("X-Cache") != "MISS" {
				t.Fatalf("first: status %d, X-Cache %q: %s", first.StatusCode, first.Header.Get("X-Cache"), firstBody)
			}
			if o := obs.last(t); o.Cache != "MISS" || o.CacheHit || o.CostMicroUSD <= 0 && tt.name != "embeddings" {
				t.Errorf("first outcome: %+v", o)
			}
			second, secondBody := f.post(t, tt.path, tt.body)
			if second.StatusCode != http.StatusOK || second.Header.Get("X-Cache") != "HIT" {
				t.Fatalf("second: status %d, X-Cache %q", second.StatusCode, second.Header.Get("X-Cache"))
			}
			if string(firstBody) != string(secondBody) {
				t.Errorf("the replayed answer differs:\nlive:   %q\nreplay: %q", firstBody, secondBody)
			}
			if ct := second.Header.Get("Content-Type"); !strings.HasPrefix(ct, tt.contentType) {
				t.Errorf("replay Content-Type %q, want %s", ct, tt.contentType)
			}
			if n := len(tt.up.Requests()) - before; n != 1 {
				t.Errorf("the provider got %d requests, want 1", n)
			}
			o := obs.last(t)
			if o.Cache != "HIT" || !o.CacheHit || o.CostMicroUSD != 0 || o.InputTokens != 0 || o.Status != http.StatusOK || o.ServiceID != "svc_test" {
				t.Errorf("hit outcome: %+v", o)
			}
			// Whitespace does not matter; any other change does.
			if resp, _ := f.post(t, tt.path, " "+strings.ReplaceAll(tt.body, `":`, `": `)+"\n"); resp.Header.Get("X-Cache") != "HIT" {
				t.Errorf("reformatted body: X-Cache %q, want HIT", resp.Header.Get("X-Cache"))
			}
		})
	}
}

// multiAuth authenticates one token per service.
type multiAuth map[string]*auth.Identity

func (m multiAuth) Verify(_ context.Context, p string) (*auth.Identity, error) {
	if id, ok := m[p]; ok {
		return id, nil
	}
	return nil, auth.ErrInvalid
}

func newToken(t *testing.T) string {
	t.Helper()
	tok, _, err := token.New()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestCacheIsScopedPerService: two services sending identical bodies never
// share an entry, unless the cache is shared.
func TestCacheIsScopedPerService(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(map[bool]string{false: "scoped", true: "shared"}[shared], func(t *testing.T) {
			a, b := newToken(t), newToken(t)
			ids := multiAuth{
				a: {Service: &storage.Service{ID: "svc_a", Active: true}, Token: &storage.Token{ID: "tok_a"}},
				b: {Service: &storage.Service{ID: "svc_b", Active: true}, Token: &storage.Token{ID: "tok_b"}},
			}
			f, _, _ := cacheFixture(t, func(c *gateway.Config) { c.Auth = ids; c.CacheShared = shared })
			send := func(tok string) string {
				req := authed(http.MethodPost, f.gw.URL+"/v1/chat/completions", strings.NewReader(chatBody))
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.Header.Get("X-Cache")
			}
			want := []string{"MISS", "MISS", "HIT", "HIT"}
			if shared {
				want = []string{"MISS", "HIT", "HIT", "HIT"}
			}
			got := []string{send(a), send(b), send(a), send(b)}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("X-Cache %v, want %v", got, want)
			}
		})
	}
}

// TestCacheNeverStoresPartialAnswers: cut streams, provider errors, errors
// inside a stream, and client directives.
func TestCacheNeverStoresPartialAnswers(t *testing.T) {
	stream := `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"x"}]}`
	messages := `{"model":"claude-haiku-4-5","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"x"}]}`
	tests := []struct {
		name      string
		behavior  fakeprovider.Behavior
		path      string
		body      string
		anthropic bool
		header    []string
	}{
		{"cut stream", fakeprovider.Behavior{CutAfter: 2}, "/v1/chat/completions", stream, false, nil},
		{"stream cut before usage", fakeprovider.Behavior{CutAfter: 4, Reply: "a b c"}, "/v1/chat/completions", stream, false, nil},
		{"provider error", fakeprovider.Behavior{Status: 500}, "/v1/chat/completions", chatBody, false, nil},
		{"rate limited stream", fakeprovider.Behavior{Status: 429}, "/v1/chat/completions", stream, false, nil},
		{"error inside a stream", fakeprovider.Behavior{ErrorAfter: 2}, "/v1/chat/completions", stream, false, nil},
		{"anthropic error event", fakeprovider.Behavior{ErrorAfter: 3}, "/v1/messages", messages, true, nil},
		{"anthropic cut", fakeprovider.Behavior{CutAfter: 3}, "/v1/messages", messages, true, nil},
		{"translated error event", fakeprovider.Behavior{ErrorAfter: 3}, "/v1/chat/completions", strings.Replace(stream, "gpt-4o-mini", "claude-haiku-4-5", 1), true, nil},
		{"no-store", fakeprovider.Behavior{}, "/v1/chat/completions", chatBody, false, []string{"Cache-Control", "no-store"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, obs, c := cacheFixture(t)
			up := f.openai
			if tt.anthropic {
				up = f.anthropic
			}
			up.Set(tt.behavior)
			resp, _ := f.post(t, tt.path, tt.body, tt.header...)
			want := "MISS"
			if tt.header != nil {
				want = "BYPASS"
			}
			if got := resp.Header.Get("X-Cache"); got != want {
				t.Errorf("X-Cache %q, want %s", got, want)
			}
			if o := obs.last(t); tt.header == nil && o.ErrorType == "" {
				t.Errorf("the failure is not recorded: %+v", o)
			}
			if st := c.Stats(context.Background()); st.MemoryEntries != 0 || st.Stores != 0 {
				t.Fatalf("stored %+v, want nothing", st)
			}
			up.Set(fakeprovider.Behavior{})
			if resp, _ := f.post(t, tt.path, tt.body, tt.header...); resp.Header.Get("X-Cache") == "HIT" {
				t.Fatal("a failed answer was served from the cache")
			}
		})
	}
	t.Run("no-cache refreshes", func(t *testing.T) {
		f, _, _ := cacheFixture(t)
		f.post(t, "/v1/chat/completions", chatBody)
		if resp, _ := f.post(t, "/v1/chat/completions", chatBody, "Cache-Control", "no-cache"); resp.Header.Get("X-Cache") != "BYPASS" {
			t.Fatalf("no-cache: X-Cache %q", resp.Header.Get("X-Cache"))
		}
		if n := len(f.openai.Requests()); n != 2 {
			t.Fatalf("provider got %d requests, want 2", n)
		}
	})
	t.Run("no cache configured", func(t *testing.T) {
		f := newFixture(t)
		if resp, _ := f.post(t, "/v1/chat/completions", chatBody); resp.Header.Get("X-Cache") != "BYPASS" {
			t.Fatalf("X-Cache %q, want BYPASS", resp.Header.Get("X-Cache"))
		}
		if resp, _ := f.post(t, "/v1/chat/completions", `{`); resp.Header.Get("X-Cache") != "BYPASS" {
			t.Fatalf("error: X-Cache %q, want BYPASS", resp.Header.Get("X-Cache"))
		}
	})
}

// TestOutcomes: every request is reported once, rejections included, with
// the reason and no secret.
func TestOutcomes(t *testing.T) {
	obs := &outcomes{}
	f := newFixture(t, func(c *gateway.Config) {
		c.Observer = obs
		c.CaptureBodies = true
		c.Redactor = audit.NewRedactor(openAIKey)
	})
	tests := []struct {
		name      string
		token     string
		body      string
		status    int
		rejection string
		errType   string
	}{
		{"ok", testToken, chatBody, 200, "", ""},
		{"no token", "", chatBody, 401, "unauthenticated", "invalid_api_key"},
		{"bad token", "llmgw_nope", chatBody, 401, "unauthenticated", "invalid_api_key"},
		{"bad json", testToken, `{"model":`, 400, "invalid_request", "invalid_request_error"},
		{"unknown model", testToken, `{"model":"nope-1","messages":[]}`, 404, "not_found", "model_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := obs.count()
			req, _ := http.NewRequest(http.MethodPost, f.gw.URL+"/v1/chat/completions", strings.NewReader(tt.body))
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if obs.count() != n+1 {
				t.Fatalf("%d outcomes reported, want 1", obs.count()-n)
			}
			o := obs.last(t)
			if o.Status != tt.status || o.Rejection != tt.rejection || o.ErrorType != tt.errType || o.Surface != "openai" || o.Time.IsZero() || o.Latency <= 0 || o.ClientIP != "127.0.0.1" {
				t.Errorf("outcome %+v", o)
			}
			if tt.status == 200 && (o.InputTokens != 11 || o.OutputTokens != 7 || o.CostMicroUSD <= 0 || o.Provider != "openai" || o.TTFB <= 0 ||
				o.ServiceID != "svc_test" || o.TokenID != "tok_test" || !strings.Contains(o.ResponseBody, fakeprovider.DefaultReply)) {
				t.Errorf("ok outcome %+v", o)
			}
			if tt.status == 401 && (o.ServiceID != "" || o.TokenID != "") {
				t.Errorf("a rejected request is attributed: %+v", o)
			}
		})
	}
	t.Run("captured bodies are redacted", func(t *testing.T) {
		body := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"my token is ` + testToken + ` and key ` + openAIKey + `"}]}`
		f.post(t, "/v1/chat/completions", body)
		o := obs.last(t)
		if strings.Contains(o.RequestBody, testToken) || strings.Contains(o.RequestBody, openAIKey) || !strings.Contains(o.RequestBody, "[REDACTED]") {
			t.Fatalf("request body captured as %q", o.RequestBody)
		}
	})
}

// TestRejectionOutcomes: the gateway's own refusals are reported with
// their reason: rate limit, budget, policy, model not allowed, inactive.
func TestRejectionOutcomes(t *testing.T) {
	tests := []struct {
		name      string
		svc       storage.Service
		policy    string
		body      string
		status    int
		rejection string
		errType   string
	}{
		{"rate limit", storage.Service{Limits: storage.Limits{RPM: 1}}, "", chatBody, 429, "rate_limit", "rate_limit_exceeded"},
		{"budget", storage.Service{Budget: storage.Budget{DailyMicroUSD: 1}}, "", budgetBody, 402, "budget", "budget_exceeded"},
		{"policy", storage.Service{}, "false", chatBody, 403, "policy_denied", "policy_denied"},
		{"model not allowed", storage.Service{AllowedModels: []string{"claude-*"}}, "", chatBody, 403, "model_not_allowed", "model_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := tt.svc
			svc.ID, svc.Name, svc.Active, svc.Policy = "svc_rej", "rejected", true, tt.policy
			obs := &outcomes{}
			f, _ := costFixture(t, &svc, func(c *gateway.Config) { c.Observer = obs })
			if tt.status == 429 {
				f.post(t, "/v1/chat/completions", tt.body) // uses the one request per minute
			}
			resp, _ := f.post(t, "/v1/chat/completions", tt.body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			o := obs.last(t)
			if o.Status != tt.status || o.Rejection != tt.rejection || o.ErrorType != tt.errType || o.ServiceID != "svc_rej" || o.CostMicroUSD != 0 {
				t.Errorf("outcome %+v", o)
			}
		})
	}
}

// TestStreamErrorThenDoneIsNotCached: an OpenAI-compatible server that
// sends an error chunk and still ends with [DONE] gets its stream relayed,
// recorded as a provider error, and not cached.
func TestStreamErrorThenDoneIsNotCached(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}`+"\n\n")
		io.WriteString(w, `data: {"error":{"message":"overloaded","type":"server_error","param":null,"code":null}}`+"\n\n")
		io.WriteString(w, `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`+"\n\n")
		io.WriteString(w, "data: [DONE]\n\n")
	}))
	defer upstream.Close()
	f, obs, c := cacheFixture(t, func(cfg *gateway.Config) {
		p, err := provider.New(provider.Config{Name: "raw", Type: "openai_compatible", BaseURL: upstream.URL + "/v1"})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Providers = append(cfg.Providers, p)
		cfg.Routes = append(cfg.Routes, route.Rule{Pattern: "raw-*", Targets: []route.Target{{Provider: "raw"}}})
	})
	body := `{"model":"raw-1","stream":true,"messages":[{"role":"user","content":"x"}]}`
	for range 2 {
		resp, b := f.post(t, "/v1/chat/completions", body)
		if resp.Header.Get("X-Cache") != "MISS" || !strings.Contains(string(b), `"overloaded"`) {
			t.Fatalf("X-Cache %q, body %s", resp.Header.Get("X-Cache"), b)
		}
		if o := obs.last(t); o.ErrorType != "provider_error" {
			t.Errorf("outcome %+v, want a provider_error", o)
		}
	}
	if st := c.Stats(context.Background()); st.Stores != 0 {
		t.Fatalf("stored %+v", st)
	}
}
