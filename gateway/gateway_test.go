package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/auth"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/fakeprovider"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/provider"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/route"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/token"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/storage"
)

const (
	openAIKey    = "sk-upstream-openai-0123456789"
	azureKey     = "azure-upstream-key-0123456789"
	anthropicKey = "sk-ant-upstream-0123456789"
	geminiKey    = "AIza-upstream-gemini-0123456789"
)

// testToken is the gateway token every test request carries.
var testToken = func() string {
	t, _, err := token.New()
	if err != nil {
		panic(err)
	}
	return t
}()

// stubAuth accepts testToken, for the given service.
type stubAuth struct{ svc *storage.Service }

func (a stubAuth) Verify(_ context.Context, p string) (*auth.Identity, error) {
	switch p {
	case "":
		return nil, auth.ErrMissing
	case testToken:
		if !a.svc.Active {
			return nil, auth.ErrServiceInactive
		}
		return &auth.Identity{Token: &storage.Token{ID: "tok_test"}, Service: a.svc}, nil
	}
	return nil, auth.ErrInvalid
}

func testAuth() stubAuth {
	return stubAuth{svc: &storage.Service{ID: "svc_test", Name: "test", Active: true}}
}

// authed returns a request carrying testToken.
func authed(method, url string, body io.Reader) *http.Request {
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		panic(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	return req
}

// fixture is a gateway in front of one fake provider of each dialect.
type fixture struct {
	gw        *httptest.Server
	openai    *fakeprovider.Server
	azure     *fakeprovider.Server
	anthropic *fakeprovider.Server
	gemini    *fakeprovider.Server
}

func newFixture(t *testing.T, mutate ...func(*gateway.Config)) *fixture {
	t.Helper()
	f := &fixture{
		openai:    fakeprovider.New(t, fakeprovider.OpenAI, openAIKey),
		azure:     fakeprovider.New(t, fakeprovider.Azure, azureKey),
		anthropic: fakeprovider.New(t, fakeprovider.Anthropic, anthropicKey),
		gemini:    fakeprovider.New(t, fakeprovider.Gemini, geminiKey),
	}
	mk := func(c provider.Config) provider.Provider {
		p, err := provider.New(c)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg := gateway.Config{
		Providers: []provider.Provider{
			mk(provider.Config{Name: "openai", Type: "openai", BaseURL: f.openai.URL, APIKey: openAIKey, Models: []string{"gpt-4o-mini"}}),
			mk(provider.Config{Name: "azure", Type: "azure", BaseURL: f.azure.URL, APIKey: azureKey}),
			mk(provider.Config{Name: "anthropic", Type: "anthropic", BaseURL: f.anthropic.URL, APIKey: anthropicKey}),
			mk(provider.Config{Name: "gemini", Type: "gemini", BaseURL: f.gemini.URL, APIKey: geminiKey}),
		},
		Routes: []route.Rule{
			{Pattern: "az-*", Targets: []route.Target{{Provider: "azure"}}},
			{Pattern: "renamed", Targets: []route.Target{{Provider: "openai", Model: "gpt-4.1"}}},
		},
		Aliases:      map[string]string{"smart": "claude-sonnet-4-5"},
		Auth:         testAuth(),
		RetryBackoff: time.Millisecond,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	g, err := gateway.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.gw = httptest.NewServer(g)
	t.Cleanup(f.gw.Close)
	return f
}

func (f *fixture) post(t *testing.T, path, body string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.gw.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testToken)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// openAIError decodes an OpenAI-shaped error body.
func openAIError(t *testing.T, b []byte) (typ, code, msg string) {
	t.Helper()
	var e struct {
		Error struct {
			Message string  `json:"message"`
			Type    string  `json:"type"`
			Code    *string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &e); err != nil || e.Error.Message == "" {
		t.Fatalf("not an OpenAI error body: %s", b)
	}
	if e.Error.Code != nil {
		code = *e.Error.Code
	}
	return e.Error.Type, code, e.Error.Message
}

func anthropicError(t *testing.T, b []byte) (typ, msg string) {
	t.Helper()
	var e struct {
		Type  string `json:"type"`
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &e); err != nil || e.Type != "error" || e.Error.Message == "" {
		t.Fatalf("not an Anthropic error body: %s", b)
	}
	return e.Error.Type, e.Error.Message
}

const chatBody = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hi"}]}`

func TestBadInput(t *testing.T) {
	f := newFixture(t, func(c *gateway.Config) { c.MaxRequestBody = 1024 })
	big := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"` + strings.Repeat("x", 2000) + `"}]}`
	tests := []struct {
		name, path, body string
		status           int
		want             string // substring of the error message
	}{
		{"invalid JSON", "/v1/chat/completions", `{"model":`, 400, "invalid JSON"},
		{"not an object", "/v1/chat/completions", `["gpt-4o"]`, 400, "must be a JSON object"},
		{"missing model", "/v1/chat/completions", `{"messages":[]}`, 400, "must provide a model"},
		{"model not a string", "/v1/chat/completions", `{"model":42,"messages":[]}`, 400, `"model" must be a string`},
		{"stream not a bool", "/v1/chat/completions", `{"model":"gpt-4o-mini","stream":"yes"}`, 400, `"stream" must be a boolean`},
		{"duplicate model", "/v1/chat/completions", `{"model":"gpt-4o-mini","model":"claude-x"}`, 400, "duplicate key"},
		{"byte order mark", "/v1/chat/completions", "\ufeff" + chatBody, 400, "invalid"},
		{"too large", "/v1/chat/completions", big, 413, "larger than"},
		{"unknown model", "/v1/chat/completions", `{"model":"nope-1","messages":[]}`, 404, "nope-1"},
		{"control character in model", "/v1/chat/completions", `{"model":"a\u0000b","messages":[]}`, 400, "control character"},
		{"embeddings on anthropic", "/v1/embeddings", `{"model":"claude-sonnet-4-5","input":"x"}`, 400, "cannot answer embeddings"},
		{"embeddings on gemini", "/v1/embeddings", `{"model":"gemini-2.5-flash","input":"x"}`, 400, "cannot answer embeddings"},
		{"logprobs translated", "/v1/chat/completions", `{"model":"claude-sonnet-4-5","logprobs":true,"messages":[{"role":"user","content":"hi"}]}`, 400, "logprobs"},
		{"several answers translated", "/v1/chat/completions", `{"model":"gemini-2.5-flash","n":2,"messages":[{"role":"user","content":"hi"}]}`, 400, "single"},
		{"stateful responses translated", "/v1/responses", `{"model":"claude-sonnet-4-5","previous_response_id":"resp_1","input":"hi"}`, 400, "previous_response_id"},
		{"hosted tool translated", "/v1/responses", `{"model":"gemini-2.5-flash","tools":[{"type":"web_search"}],"input":"hi"}`, 400, "web_search"},
		{"unknown path", "/v1/nothing", `{}`, 404, "Unknown request URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := f.post(t, tt.path, tt.body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tt.status, b)
			}
			_, _, msg := openAIError(t, b)
			if !strings.Contains(msg, tt.want) {
				t.Fatalf("message %q does not contain %q", msg, tt.want)
			}
		})
	}
	if n := len(f.openai.Requests()) + len(f.anthropic.Requests()); n != 0 {
		t.Fatalf("bad requests reached a provider %d times", n)
	}

	t.Run("anthropic surface shape", func(t *testing.T) {
		resp, b := f.post(t, "/v1/messages", `{"model":"unknown-model","max_tokens":5,"messages":[]}`)
		if resp.StatusCode != 404 {
			t.Fatalf("status = %d", resp.StatusCode)
		}
		if typ, _ := anthropicError(t, b); typ != "not_found_error" {
			t.Fatalf("type = %q", typ)
		}
		resp, b = f.post(t, "/v1/messages", `{"model":`)
		if resp.StatusCode != 400 {
			t.Fatalf("status = %d", resp.StatusCode)
		}
		if typ, _ := anthropicError(t, b); typ != "invalid_request_error" {
			t.Fatalf("type = %q", typ)
		}
	})

	t.Run("wrong method", func(t *testing.T) {
		resp, err := http.Get(f.gw.URL + "/v1/chat/completions")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 405 {
			t.Fatalf("status = %d, body %s", resp.StatusCode, b)
		}
		openAIError(t, b)
	})

	t.Run("too large by chunked body", func(t *testing.T) {
		req := authed(http.MethodPost, f.gw.URL+"/v1/chat/completions", io.MultiReader(strings.NewReader(big)))
		req.ContentLength = -1 // chunked: the limit is enforced while reading
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 413 {
			t.Fatalf("status = %d", resp.StatusCode)
		}
	})
}

func TestPassthroughForwardsBytes(t *testing.T) {
	f := newFixture(t)
	// Odd spacing, key order and escapes must reach the provider unchanged.
	body := "{ \"messages\": [{\"role\":\"user\",\"content\":\"h\\u00e9llo\"}],\n  \"model\" : \"gpt-4o-mini\", \"temperature\":0.5 }"
	resp, b := f.post(t, "/v1/chat/completions", body)
	if resp.StatusCode != 200 {
		t.Fatalf("status = %d: %s", resp.StatusCode, b)
	}
	got := f.openai.LastRequest()
	if string(got.Body) != body {
		t.Fatalf("provider received\n%s\nwant\n%s", got.Body, body)
	}
	if got.Path != "/v1/chat/completions" || got.Header.Get("Authorization") != "Bearer "+openAIKey {
		t.Fatalf("provider got %s with auth %q", got.Path, got.Header.Get("Authorization"))
	}

	// A route to another upstream model edits only the model field.
	f.post(t, "/v1/chat/completions", strings.Replace(body, "gpt-4o-mini", "renamed", 1))
	got = f.openai.LastRequest()
	if string(got.Body) != strings.Replace(body, "gpt-4o-mini", "gpt-4.1", 1) {
		t.Fatalf("provider received %s", got.Body)
	}
}

// readEvents reads a whole SSE response into its data payloads.
func readEvents(t *testing.T, r io.Reader) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
		}
	}
	return out
}

func TestStreamUsageChunk(t *testing.T) {
	f := newFixture(t)
	f.openai.Set(fakeprovider.Behavior{Reply: "one two three", InputTokens: 9, OutputTokens: 3})
	tests := []struct {
		name          string
		streamOptions string
		wantUsage     bool
		wantUpstream  string
	}{
		{"client did not ask", ``, false, `{"include_usage":true}`},
		{"client asked", `,"stream_options":{"include_usage":true}`, true, `{"include_usage":true}`},
		{"client said no, other options kept", `,"stream_options":{"include_usage":false,"include_obfuscation":false}`, false, `{"include_usage":true,"include_obfuscation":false}`},
		{"null options", `,"stream_options":null`, false, `{"include_usage":true}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]` + tt.streamOptions + `}`
			resp, b := f.post(t, "/v1/chat/completions", body)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
				t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			var sent struct {
				StreamOptions json.RawMessage `json:"stream_options"`
			}
			json.Unmarshal(f.openai.LastRequest().Body, &sent)
			if !jsonEqual(sent.StreamOptions, []byte(tt.wantUpstream)) {
				t.Fatalf("upstream stream_options = %s, want %s", sent.StreamOptions, tt.wantUpstream)
			}
			events := readEvents(t, bytes.NewReader(b))
			if events[len(events)-1] != "[DONE]" {
				t.Fatalf("stream does not end with [DONE]: %q", events)
			}
			var text strings.Builder
			sawUsage := false
			for _, e := range events[:len(events)-1] {
				var c struct {
					Choices []struct {
						Delta struct{ Content string } `json:"delta"`
					} `json:"choices"`
					Usage *struct {
						PromptTokens int `json:"prompt_tokens"`
					} `json:"usage"`
				}
				if err := json.Unmarshal([]byte(e), &c); err != nil {
					t.Fatalf("bad chunk %q", e)
				}
				if len(c.Choices) == 0 && c.Usage != nil {
					sawUsage = true
					if c.Usage.PromptTokens != 9 {
						t.Fatalf("usage = %+v", c.Usage)
					}
				}
				for _, ch := range c.Choices {
					text.WriteString(ch.Delta.Content)
				}
			}
			if sawUsage != tt.wantUsage {
				t.Fatalf("usage chunk present = %v, want %v", sawUsage, tt.wantUsage)
			}
			if text.String() != "one two three" {
				t.Fatalf("text = %q", text.String())
			}
		})
	}
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}

func TestCredentialsStayApart(t *testing.T) {
	f := newFixture(t)
	clientSecret := testToken
	hdrs := []string{
		"api-key", clientSecret,
		"x-api-key", clientSecret,
		"x-goog-api-key", clientSecret,
		"Cookie", "session=" + clientSecret,
		"OpenAI-Organization", "org-" + clientSecret,
	}
	// Request fields that try to move the upstream host are forwarded as
	// data but never change where the request goes.
	body := `{"model":"gpt-4o-mini","api_base":"http://evil.example","base_url":"http://evil.example","messages":[{"role":"user","content":"x"}]}`
	cases := []struct {
		path string
		body string
		srv  *fakeprovider.Server
	}{
		{"/v1/chat/completions?key=" + clientSecret, body, f.openai},
		{"/openai/deployments/az-gpt/chat/completions?api-version=2024-10-21&key=" + clientSecret, body, f.azure},
		{"/v1/messages?key=" + clientSecret, `{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"x"}]}`, f.anthropic},
		{"/v1/chat/completions", `{"model":"smart","messages":[{"role":"user","content":"x"}]}`, f.anthropic},
	}
	for _, c := range cases {
		resp, b := f.post(t, c.path, c.body, hdrs...)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d: %s", c.path, resp.StatusCode, b)
		}
		got := c.srv.LastRequest()
		dump := fmt.Sprint(got.Header, got.RawQuery, got.Path)
		if strings.Contains(dump, clientSecret) {
			t.Fatalf("%s: client credential reached the provider: %s", c.path, dump)
		}
	}
	if h := f.openai.LastRequest().Header; h.Get("Authorization") != "Bearer "+openAIKey {
		t.Fatalf("openai auth = %q", h.Get("Authorization"))
	}
	if h := f.azure.LastRequest().Header; h.Get("api-key") != azureKey {
		t.Fatalf("azure auth = %q", h.Get("api-key"))
	}
	if h := f.anthropic.LastRequest().Header; h.Get("x-api-key") != anthropicKey {
		t.Fatalf("anthropic auth = %q", h.Get("x-api-key"))
	}
}

func TestAzureDeploymentIsOneSegment(t *testing.T) {
	f := newFixture(t, func(c *gateway.Config) {
		c.Routes = append(c.Routes, route.Rule{Pattern: "*", Targets: []route.Target{{Provider: "azure"}}})
	})
	tests := []struct {
		model   string
		rawPath string // what the provider must see; empty: refused before sending
	}{
		{"../../admin", "/openai/deployments/..%2F..%2Fadmin/chat/completions"},
		{"%2e%2e", "/openai/deployments/%252e%252e/chat/completions"},
		{"a?b", "/openai/deployments/a%3Fb/chat/completions"},
		{"a#b", "/openai/deployments/a%23b/chat/completions"},
		{`a\b`, "/openai/deployments/a%5Cb/chat/completions"},
		{"..", ""},
		{".", ""},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			f.azure.Reset()
			body, _ := json.Marshal(map[string]any{"model": tt.model, "messages": []any{map[string]string{"role": "user", "content": "x"}}})
			resp, b := f.post(t, "/v1/chat/completions", string(body))
			reqs := f.azure.Requests()
			if tt.rawPath == "" {
				if len(reqs) != 0 || resp.StatusCode < 400 {
					t.Fatalf("status %d, %d upstream requests; want refusal", resp.StatusCode, len(reqs))
				}
				return
			}
			if len(reqs) != 1 {
				t.Fatalf("status %d (%s), %d upstream requests", resp.StatusCode, b, len(reqs))
			}
			raw := reqs[0].RawPath
			if raw == "" {
				raw = reqs[0].Path
			}
			if raw != tt.rawPath {
				t.Fatalf("provider path = %q, want %q", raw, tt.rawPath)
			}
		})
	}
}

func TestProviderErrors(t *testing.T) {
	f := newFixture(t)
	t.Run("status and body relayed", func(t *testing.T) {
		f.openai.Set(fakeprovider.Behavior{Status: 429, Header: http.Header{"Retry-After": {"7"}}})
		defer f.openai.Set(fakeprovider.Behavior{})
		resp, b := f.post(t, "/v1/chat/completions", chatBody)
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "7" {
			t.Fatalf("status %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		openAIError(t, b)
	})
	t.Run("anthropic error translated for OpenAI clients", func(t *testing.T) {
		f.anthropic.Set(fakeprovider.Behavior{Status: 529})
		defer f.anthropic.Set(fakeprovider.Behavior{})
		resp, b := f.post(t, "/v1/chat/completions", `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"x"}]}`)
		if resp.StatusCode != 529 {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		openAIError(t, b)
	})
	t.Run("anthropic error kept for Anthropic clients", func(t *testing.T) {
		f.anthropic.Set(fakeprovider.Behavior{Status: 400})
		defer f.anthropic.Set(fakeprovider.Behavior{})
		resp, b := f.post(t, "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"x"}]}`)
		if resp.StatusCode != 400 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		anthropicError(t, b)
	})
	t.Run("non-JSON error body wrapped", func(t *testing.T) {
		f.openai.Set(fakeprovider.Behavior{Status: 502, ErrorBody: "<html>bad gateway</html>"})
		defer f.openai.Set(fakeprovider.Behavior{})
		resp, b := f.post(t, "/v1/chat/completions", chatBody)
		if resp.StatusCode != 502 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if _, _, msg := openAIError(t, b); !strings.Contains(msg, "bad gateway") {
			t.Fatalf("message %q", msg)
		}
	})
}

func TestUnreachableAndTimeouts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/v1"
	ln.Close()
	slow := fakeprovider.New(t, fakeprovider.OpenAI, openAIKey)
	mk := func(c provider.Config) provider.Provider {
		p, err := provider.New(c)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	g, err := gateway.New(gateway.Config{
		Providers: []provider.Provider{
			mk(provider.Config{Name: "dead", Type: "openai_compatible", BaseURL: dead}),
			mk(provider.Config{Name: "slow", Type: "openai_compatible", BaseURL: slow.URL, APIKey: openAIKey,
				HeaderTimeout: 200 * time.Millisecond, IdleTimeout: 200 * time.Millisecond}),
		},
		Routes: []route.Rule{
			{Pattern: "dead", Targets: []route.Target{{Provider: "dead"}}},
			{Pattern: "slow", Targets: []route.Target{{Provider: "slow"}}},
		},
		Auth: testAuth(),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	defer srv.Close()
	f := &fixture{gw: srv}

	resp, b := f.post(t, "/v1/chat/completions", `{"model":"dead","messages":[]}`)
	if resp.StatusCode != 502 {
		t.Fatalf("unreachable: status %d: %s", resp.StatusCode, b)
	}
	if _, _, msg := openAIError(t, b); strings.Contains(msg, ln.Addr().String()) {
		t.Fatalf("error body reveals the provider address: %s", msg)
	}

	slow.Set(fakeprovider.Behavior{FirstByteDelay: 2 * time.Second})
	resp, b = f.post(t, "/v1/chat/completions", `{"model":"slow","messages":[]}`)
	if resp.StatusCode != 504 {
		t.Fatalf("header timeout: status %d: %s", resp.StatusCode, b)
	}

	// Silence mid-stream: the stream ends with an error event, not [DONE].
	slow.Set(fakeprovider.Behavior{ChunkDelay: 2 * time.Second})
	resp, b = f.post(t, "/v1/chat/completions", `{"model":"slow","stream":true,"messages":[]}`)
	events := readEvents(t, bytes.NewReader(b))
	if resp.StatusCode != 200 || len(events) == 0 {
		t.Fatalf("idle timeout: status %d, events %q", resp.StatusCode, events)
	}
	last := events[len(events)-1]
	if last == "[DONE]" || !strings.Contains(last, `"error"`) || !strings.Contains(last, "stopped sending") {
		t.Fatalf("idle timeout: last event %q, want an error event", last)
	}
}

func TestStreamCutEndsWithError(t *testing.T) {
	f := newFixture(t)
	f.openai.Set(fakeprovider.Behavior{Reply: "a b c d e f", CutAfter: 2})
	_, b := f.post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"messages":[]}`)
	events := readEvents(t, bytes.NewReader(b))
	last := events[len(events)-1]
	if last == "[DONE]" || !strings.Contains(last, "ended before it was complete") {
		t.Fatalf("cut stream: events %q", events)
	}

	f.anthropic.Set(fakeprovider.Behavior{Reply: "a b c d e f", CutAfter: 3})
	_, b = f.post(t, "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"x"}]}`)
	if !bytes.HasSuffix(bytes.TrimSpace(b), []byte(`}`)) || !bytes.Contains(b, []byte("event: error")) {
		t.Fatalf("cut anthropic stream does not end with an error event:\n%s", b)
	}
}

func TestClientDisconnectCancelsUpstream(t *testing.T) {
	f := newFixture(t)
	f.openai.Set(fakeprovider.Behavior{Reply: strings.Repeat("word ", 50), ChunkDelay: 50 * time.Millisecond})
	req := authed(http.MethodPost, f.gw.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"gpt-4o-mini","stream":true,"messages":[]}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	// Read the first event, then hang up.
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !f.openai.WaitCanceled(1, 5*time.Second) {
		t.Fatal("the upstream request was not canceled after the client left")
	}
}

func TestProviderCredentialErrors(t *testing.T) {
	f := newFixture(t)
	// A provider that refuses the gateway's key: the client learns that,
	// and nothing of the key or the provider's message.
	for _, status := range []int{401, 403} {
		f.openai.Set(fakeprovider.Behavior{Status: status, ErrorBody: `{"error":{"message":"Incorrect API key provided: ` + openAIKey + `","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`})
		resp, b := f.post(t, "/v1/chat/completions", chatBody)
		if resp.StatusCode != status {
			t.Fatalf("status %d, want %d", resp.StatusCode, status)
		}
		if _, code, msg := openAIError(t, b); code != "provider_credentials" || strings.Contains(string(b), openAIKey[:12]) || !strings.Contains(msg, "api_key") {
			t.Fatalf("body %s", b)
		}
	}
	// Any other error body that echoes the key has it removed.
	f.openai.Set(fakeprovider.Behavior{Status: 400, ErrorBody: `{"error":{"message":"bad request for key ` + openAIKey + `","type":"invalid_request_error","param":null,"code":null}}`})
	_, b := f.post(t, "/v1/chat/completions", chatBody)
	if strings.Contains(string(b), openAIKey) || !strings.Contains(string(b), "[redacted]") {
		t.Fatalf("key not redacted: %s", b)
	}
}

func TestAzureInboundDeploymentPath(t *testing.T) {
	f := newFixture(t)
	// An encoded slash in the deployment segment stays inside that one
	// segment: the model is "az-a/b", escaped again upstream.
	// (The fake answers 404 for such a name; what matters is the path sent.)
	f.post(t, "/openai/deployments/az-a%2Fb/chat/completions?api-version=2024-10-21", chatBody)
	if got := f.azure.LastRequest().RawPath; got != "/openai/deployments/az-a%2Fb/chat/completions" {
		t.Fatalf("provider path %q", got)
	}
	// A dot-dot segment is cleaned away by the router before any handler
	// sees it, so it cannot name another deployment's path upstream.
	resp, _ := f.post(t, "/openai/deployments/../../admin/chat/completions", chatBody)
	if resp.StatusCode == 200 {
		t.Fatal("a traversal path was served")
	}
}
