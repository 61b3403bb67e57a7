package gateway_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/auth"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/policy"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/token"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/storage"
)

// Hostile input: what a client can put in a request never moves the
// gateway off its configured hosts, reads the body two ways, exhausts
// memory or reaches storage without a well-formed token.

// TestNoRequestFieldChangesTheHost: fields and names that try to point the
// gateway elsewhere (a base URL in the body, a URL or a path traversal as
// the model, Host-like headers, a query) never reach any host but the
// configured providers.
func TestNoRequestFieldChangesTheHost(t *testing.T) {
	var trapped atomic.Int64
	trap := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		trapped.Add(1)
		w.WriteHeader(http.StatusTeapot)
	}))
	defer trap.Close()
	f := newFixture(t)
	tu, _ := url.Parse(trap.URL)
	inject := `"api_base":"` + trap.URL + `","base_url":"` + trap.URL + `","baseURL":"` + trap.URL + `","endpoint":"` + trap.URL +
		`","url":"` + trap.URL + `","host":"` + tu.Host + `","azure_endpoint":"` + trap.URL + `",`
	models := []string{
		"gpt-4o-mini", trap.URL, trap.URL + "/v1/chat/completions", "//" + tu.Host + "/x", "../../../" + tu.Host,
		"@" + tu.Host, "gpt-4o-mini@" + tu.Host, "gpt-4o-mini#@" + tu.Host, "az-../../x", "az-%2e%2e%2fx",
		"claude-sonnet-4-5/../../" + tu.Host, "gemini-2.5-flash:generateContent?key=x&base=" + trap.URL,
	}
	hdr := []string{"X-Forwarded-Host", tu.Host, "X-Original-URL", trap.URL, "Forwarded", "host=" + tu.Host}
	for _, m := range models {
		q := url.QueryEscape(trap.URL)
		reqs := []struct{ path, body string }{
			{"/v1/chat/completions?base_url=" + q, `{` + inject + `"model":"` + m + `","messages":[{"role":"user","content":"hi"}]}`},
			{"/v1/responses", `{` + inject + `"model":"` + m + `","input":"hi"}`},
			{"/v1/embeddings", `{` + inject + `"model":"` + m + `","input":"hi"}`},
			{"/v1/messages", `{` + inject + `"model":"` + m + `","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`},
			{"/openai/deployments/" + url.PathEscape(m) + "/chat/completions?api-version=x", `{` + inject + `"messages":[{"role":"user","content":"hi"}]}`},
			{"/v1beta/models/" + url.PathEscape(m) + ":generateContent", `{` + inject + `"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`},
		}
		for _, r := range reqs {
			resp, b := f.post(t, r.path, r.body, hdr...)
			if resp.StatusCode >= 500 && resp.StatusCode != http.StatusBadGateway {
				t.Errorf("%s model %q: status %d: %s", r.path, m, resp.StatusCode, b)
			}
		}
	}
	if n := trapped.Load(); n != 0 {
		t.Fatalf("the trap host was reached %d times", n)
	}
}

// TestParserDifferentials: a body the gateway could read one way and the
// provider another gets a rejection, never a skipped check; the
// Content-Type does not change the decision.
func TestParserDifferentials(t *testing.T) {
	f := newFixture(t, func(c *gateway.Config) {
		c.Auth = serviceAuth(&storage.Service{ID: "svc_test", Name: "test", Active: true, AllowedModels: []string{"gpt-4o-mini"}})
	})
	allowed := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1", "multipart/form-data"} {
		resp, b := f.post(t, "/v1/chat/completions", allowed, "Content-Type", ct)
		if resp.StatusCode != 200 {
			t.Errorf("Content-Type %q: %d %s", ct, resp.StatusCode, b)
		}
	}
	refused := []struct{ name, body string }{
		{"duplicate model: the allowed one last", `{"model":"claude-sonnet-4-5","model":"gpt-4o-mini","messages":[]}`},
		{"duplicate model: the allowed one first", `{"model":"gpt-4o-mini","model":"claude-sonnet-4-5","messages":[]}`},
		{"model not a string", `{"model":["gpt-4o-mini"],"messages":[]}`},
		{"model null", `{"model":null,"messages":[]}`},
		{"byte-order mark", "\ufeff" + allowed},
		{"escaped key", `{"mod\u0065l":"claude-sonnet-4-5","model":"gpt-4o-mini","messages":[]}`},
		{"trailing data", allowed + `{"model":"claude-sonnet-4-5"}`},
		{"invalid UTF-8 in the model", "{\"model\":\"gpt-4o-mini\xff\",\"messages\":[]}"},
		{"NUL in the model", `{"model":"gpt-4o-mini\u0000","messages":[]}`},
	}
	before := len(f.anthropic.Requests())
	for _, c := range refused {
		resp, b := f.post(t, "/v1/chat/completions", c.body)
		if resp.StatusCode == 200 || resp.StatusCode >= 500 {
			t.Errorf("%s: %d %s", c.name, resp.StatusCode, b)
		}
	}
	if n := len(f.anthropic.Requests()) - before; n != 0 {
		t.Fatalf("a refused body reached the disallowed model's provider %d times", n)
	}
}

// TestDeepAndHugeJSON: deeply nested and oversized bodies are refused with
// 400 or 413 on every surface, without a crash or a provider call.
func TestDeepAndHugeJSON(t *testing.T) {
	f := newFixture(t)
	deep := strings.Repeat("[", 200000) + strings.Repeat("]", 200000)
	deepObj := strings.Repeat(`{"a":`, 100000) + "1" + strings.Repeat("}", 100000)
	huge := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"` + strings.Repeat("x", gateway.DefaultMaxRequestBody) + `"}]}`
	paths := []string{"/v1/chat/completions", "/v1/responses", "/v1/messages", "/v1beta/models/gemini-2.5-flash:generateContent",
		"/openai/deployments/az-x/chat/completions"}
	for _, p := range paths {
		for _, c := range []struct {
			name, body string
			status     int
		}{
			{"deep array in a field", `{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":` + deep + `}],"contents":` + deep + `,"input":` + deep + `}`, 400},
			{"deep object in a field", `{"model":"gemini-2.5-flash","max_tokens":5,"messages":` + deepObj + `,"contents":` + deepObj + `}`, 400},
			{"deep body", deep, 400},
			{"huge body", huge, 413},
		} {
			resp, b := f.post(t, p, c.body)
			if resp.StatusCode != c.status {
				t.Errorf("%s %s: %d, want %d: %.200s", p, c.name, resp.StatusCode, c.status, b)
			}
		}
	}
	if n := len(f.openai.Requests()) + len(f.anthropic.Requests()) + len(f.gemini.Requests()) + len(f.azure.Requests()); n != 0 {
		t.Fatalf("refused bodies reached providers %d times", n)
	}
}

// TestHostileBodiesBoundedMemory: what the gateway allocates for a hostile
// body is bounded by the body limit, not by what the client sends. A deep
// body costs a small multiple of its size; a body announced larger than
// the limit costs nothing to refuse; a chunked body ten times the limit
// costs no more than one just over it.
func TestHostileBodiesBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates hundreds of megabytes")
	}
	f := newFixture(t)
	h := f.gw.Config.Handler
	const limit = gateway.DefaultMaxRequestBody
	prefix := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"`
	// perRequest is the heap allocated by one request, on average over a
	// few, whose body body() makes; size is its Content-Length (-1:
	// chunked).
	perRequest := func(t *testing.T, want int, size int64, body func() io.Reader) uint64 {
		t.Helper()
		const n = 4
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for range n {
			req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", body())
			req.ContentLength = size
			req.Header.Set("Authorization", "Bearer "+testToken)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != want {
				t.Fatalf("status %d, want %d: %.200s", rec.Code, want, rec.Body.Bytes())
			}
		}
		runtime.ReadMemStats(&after)
		return (after.TotalAlloc - before.TotalAlloc) / n
	}
	stream := func(n int64) func() io.Reader {
		return func() io.Reader {
			return io.MultiReader(strings.NewReader(prefix), io.LimitReader(repeatReader('x'), n))
		}
	}
	deep := strings.Repeat("[", 200000) + strings.Repeat("]", 200000)
	deepObj := strings.Repeat(`{"a":`, 100000) + "1" + strings.Repeat("}", 100000)
	for _, c := range []struct{ name, body string }{{"deep arrays", deep}, {"deep objects", deepObj},
		{"deep arrays in a field", prefix[:len(prefix)-len(`"content":"`)] + `"content":` + deep + `}]}`}} {
		b := c.body
		got := perRequest(t, 400, int64(len(b)), func() io.Reader { return strings.NewReader(b) })
		t.Logf("%s (%d KiB): %d KiB allocated", c.name, len(b)>>10, got>>10)
		if bound := uint64(allocFactor * (4*len(b) + 1<<20)); got > bound {
			t.Errorf("%s of %d bytes allocated %d bytes, more than %d", c.name, len(b), got, bound)
		}
	}
	announced := perRequest(t, 413, 10*limit, stream(10*limit))
	justOver := perRequest(t, 413, -1, stream(limit+1))
	tenTimes := perRequest(t, 413, -1, stream(10*limit))
	t.Logf("announced 10× the limit: %d KiB; chunked, just over the limit: %d KiB; chunked, 10× the limit: %d KiB",
		announced>>10, justOver>>10, tenTimes>>10)
	if announced > allocFactor*256<<10 {
		t.Errorf("a body announced over the limit allocated %d bytes before its refusal", announced)
	}
	if tenTimes > justOver+justOver/10+1<<20 || tenTimes > allocFactor*3*limit {
		t.Errorf("a chunked body 10× the limit allocated %d bytes, one just over it %d", tenTimes, justOver)
	}
}

// repeatReader reads the same byte forever.
type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// countingLookup counts storage reads.
type countingLookup struct{ reads atomic.Int64 }

func (c *countingLookup) GetTokenByHash(context.Context, [32]byte) (*storage.Token, error) {
	c.reads.Add(1)
	return nil, storage.ErrNotFound
}

func (c *countingLookup) GetService(context.Context, string) (*storage.Service, error) {
	c.reads.Add(1)
	return nil, storage.ErrNotFound
}

func (c *countingLookup) TouchTokens(context.Context, map[string]time.Time) error { return nil }

// TestInvalidTokensReadNoStorage: thousands of malformed tokens (wrong
// prefix, length, alphabet or checksum), in every place a token can
// travel, are refused 401 without a single storage read.
func TestInvalidTokensReadNoStorage(t *testing.T) {
	lookup := &countingLookup{}
	f := newFixture(t, func(c *gateway.Config) { c.Auth = auth.NewVerifier(lookup, 0) })
	good, _, _ := token.New()
	places := []func(tok string) (string, []string){
		func(tok string) (string, []string) {
			return "/v1/chat/completions", []string{"Authorization", "Bearer " + tok}
		},
		func(tok string) (string, []string) {
			return "/v1/chat/completions", []string{"Authorization", "", "X-Api-Key", tok}
		},
		func(tok string) (string, []string) {
			return "/v1/messages", []string{"Authorization", "", "Api-Key", tok}
		},
		func(tok string) (string, []string) {
			return "/v1beta/models/gemini-2.5-flash:generateContent", []string{"Authorization", "", "X-Goog-Api-Key", tok}
		},
		func(tok string) (string, []string) {
			return "/v1beta/models/gemini-2.5-flash:generateContent?key=" + url.QueryEscape(tok), []string{"Authorization", ""}
		},
	}
	n := 0
	for i := range 1000 {
		// The case and the place vary independently.
		place := (i / 5) % len(places)
		var bad string
		switch i % 5 {
		case 0: // one character changed: the checksum no longer matches
			b := []byte(good)
			b[len(token.Prefix)+i%20] ^= 1
			bad = string(b)
		case 1:
			bad = good[:len(good)-1]
		case 2:
			bad = "sk-" + good
		case 3:
			bad = strings.Replace(good, good[len(good)-3:len(good)-2], "!", 1)
		case 4:
			bad = fmt.Sprintf("llmgw_%d", i)
		}
		path, hdr := places[place](bad)
		resp, b := f.post(t, path, `{"model":"gpt-4o-mini","messages":[]}`, hdr...)
		if resp.StatusCode != 401 {
			t.Fatalf("token %q via %v: %d %s", bad, hdr, resp.StatusCode, b)
		}
		n++
	}
	if r := lookup.reads.Load(); r != 0 {
		t.Fatalf("%d malformed tokens caused %d storage reads", n, r)
	}
}

// TestCapsNoPolicyMisses: an output cap or a temperature written so that a
// provider could read it but the gateway's checks would not (as a string,
// in exponent or decimal notation, twice under two names, in the other
// spelling of a Gemini field, with a repeated key inside
// generationConfig) is refused or counted at its largest; a policy
// bounding both never lets a larger value through.
func TestCapsNoPolicyMisses(t *testing.T) {
	bound, err := policy.Compile("bounded", `request.max_tokens <= 1000 && (!has(request.temperature) || request.temperature <= 1.0)`)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, func(c *gateway.Config) { c.Policies = policy.Set{bound} })
	const chat, gem = "/v1/chat/completions", "/v1beta/models/gemini-2.5-flash:generateContent"
	msgs := `"messages":[{"role":"user","content":"hi"}]`
	contents := `"contents":[{"role":"user","parts":[{"text":"hi"}]}]`
	cases := []struct {
		name, path, body string
		status           int
	}{
		{"chat: within bounds", chat, `{"model":"gpt-4o-mini","max_tokens":500,"temperature":0.5,` + msgs + `}`, 200},
		{"chat: null cap", chat, `{"model":"gpt-4o-mini","max_tokens":null,` + msgs + `}`, 200},
		{"chat: cap over the bound", chat, `{"model":"gpt-4o-mini","max_tokens":5000,` + msgs + `}`, 403},
		{"chat: cap as a string", chat, `{"model":"gpt-4o-mini","max_tokens":"5000",` + msgs + `}`, 400},
		{"chat: cap in exponent notation", chat, `{"model":"gpt-4o-mini","max_tokens":5e3,` + msgs + `}`, 400},
		{"chat: cap as a decimal", chat, `{"model":"gpt-4o-mini","max_tokens":5000.0,` + msgs + `}`, 400},
		{"chat: two caps, the large one second", chat, `{"model":"gpt-4o-mini","max_completion_tokens":10,"max_tokens":5000,` + msgs + `}`, 403},
		{"chat: two caps, the large one first", chat, `{"model":"gpt-4o-mini","max_completion_tokens":5000,"max_tokens":10,` + msgs + `}`, 403},
		{"chat: temperature as a string", chat, `{"model":"gpt-4o-mini","temperature":"2",` + msgs + `}`, 400},
		{"chat: temperature over the bound", chat, `{"model":"gpt-4o-mini","temperature":2,` + msgs + `}`, 403},
		{"messages: cap as a string", "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":"5000",` + msgs + `}`, 400},
		{"gemini: within bounds", gem, `{` + contents + `,"generationConfig":{"maxOutputTokens":500,"temperature":0.5}}`, 200},
		{"gemini: cap over the bound", gem, `{` + contents + `,"generationConfig":{"maxOutputTokens":5000}}`, 403},
		{"gemini: cap as a string", gem, `{` + contents + `,"generationConfig":{"maxOutputTokens":"5000"}}`, 400},
		{"gemini: snake_case config", gem, `{` + contents + `,"generation_config":{"max_output_tokens":5000}}`, 403},
		{"gemini: both spellings of the cap", gem, `{` + contents + `,"generationConfig":{"maxOutputTokens":10,"max_output_tokens":5000}}`, 403},
		{"gemini: repeated key in the config", gem, `{` + contents + `,"generationConfig":{"maxOutputTokens":10,"maxOutputTokens":5000}}`, 400},
		{"gemini: temperature over the bound", gem, `{` + contents + `,"generationConfig":{"temperature":1.5}}`, 403},
		{"gemini: temperature as a string", gem, `{` + contents + `,"generation_config":{"temperature":"1.5"}}`, 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(f.openai.Requests()) + len(f.anthropic.Requests()) + len(f.gemini.Requests())
			resp, b := f.post(t, c.path, c.body)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, b)
			}
			sent := len(f.openai.Requests()) + len(f.anthropic.Requests()) + len(f.gemini.Requests()) - before
			if c.status != 200 && sent != 0 {
				t.Errorf("a refused request reached a provider %d times", sent)
			}
		})
	}
}
