package gateway_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/fakeprovider"
)

// geminiError decodes a Gemini-shaped error body.
func geminiError(t *testing.T, b []byte) (code int, status, msg string) {
	t.Helper()
	var e struct {
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Status  string `json:"status"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &e); err != nil || e.Error.Status == "" {
		t.Fatalf("not a Gemini error: %s", b)
	}
	return e.Error.Code, e.Error.Status, e.Error.Message
}

// TestGeminiSurfaceErrors: every refusal on the Gemini surface is in the
// Gemini API's error shape, with a status a Gemini client understands.
func TestGeminiSurfaceErrors(t *testing.T) {
	f := newFixture(t)
	const body = `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`
	cases := []struct {
		name, path, body string
		hdr              []string
		status           int
		rpc              string
	}{
		{"unknown model", "/v1beta/models/nosuch-model:generateContent", body, nil, 404, "NOT_FOUND"},
		{"unknown method", "/v1beta/models/gemini-2.5-flash:embedContent", body, nil, 404, "NOT_FOUND"},
		{"no method", "/v1beta/models/gemini-2.5-flash", body, nil, 404, "NOT_FOUND"},
		{"invalid JSON", "/v1beta/models/gemini-2.5-flash:generateContent", `{"contents":`, nil, 400, "INVALID_ARGUMENT"},
		{"bad token", "/v1beta/models/gemini-2.5-flash:generateContent", body, []string{"Authorization", "Bearer llmgw_wrong"}, 401, "UNAUTHENTICATED"},
		{"provider refuses", "/v1/models/gemini-2.5-flash:generateContent", body, []string{"X-Fake", "1"}, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.status == 0 {
				f.gemini.Set(fakeprovider.Behavior{Status: 429})
				defer f.gemini.Set(fakeprovider.Behavior{})
				c.status, c.rpc = 429, "RESOURCE_EXHAUSTED"
			}
			resp, b := f.post(t, c.path, c.body, c.hdr...)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, b)
			}
			code, status, msg := geminiError(t, b)
			if code != c.status || status != c.rpc || msg == "" {
				t.Fatalf("error %d %s %q, want %d %s", code, status, msg, c.status, c.rpc)
			}
			if strings.Contains(string(b), geminiKey) {
				t.Fatal("the provider key leaked")
			}
		})
	}
}

// TestGeminiPassthrough: a Gemini client reaching a gemini provider gets
// the provider's bytes; the key travels only in x-goog-api-key; a stream
// that breaks ends with a Gemini error chunk.
func TestGeminiPassthrough(t *testing.T) {
	f := newFixture(t)
	f.gemini.Set(fakeprovider.Behavior{Reply: "Hi there from Gemini", InputTokens: 4, OutputTokens: 3})
	const body = `{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"maxOutputTokens":50}}`
	resp, b := f.post(t, "/v1beta/models/gemini-2.5-flash:generateContent", body)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "Hi there from Gemini") {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	up := f.gemini.LastRequest()
	if up.Path != "/v1beta/models/gemini-2.5-flash:generateContent" || up.RawQuery != "" ||
		up.Header.Get("X-Goog-Api-Key") != geminiKey || !jsonEqual(up.Body, []byte(body)) {
		t.Fatalf("provider got %s?%s %v %s", up.Path, up.RawQuery, up.Header, up.Body)
	}

	f.gemini.Set(fakeprovider.Behavior{Reply: "one two three four five", CutAfter: 2})
	resp, b = f.post(t, "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", body)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	events := readEvents(t, strings.NewReader(string(b)))
	last := events[len(events)-1]
	if !strings.Contains(last, `"error"`) || !strings.Contains(last, `"UNAVAILABLE"`) {
		t.Fatalf("a cut stream ends with %q", last)
	}
}

// TestCountTokensEstimated: count_tokens for a model whose provider
// cannot count tokens is answered with the gateway's estimate.
func TestCountTokensEstimated(t *testing.T) {
	f := newFixture(t)
	before := len(f.openai.Requests())
	resp, b := f.post(t, "/v1/messages/count_tokens",
		`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello there, how many tokens is this?"}]}`)
	if resp.StatusCode != 200 || resp.Header.Get("Llm-Gateway-Token-Count") != "estimated" {
		t.Fatalf("%d %v %s", resp.StatusCode, resp.Header, b)
	}
	var v struct {
		InputTokens int64 `json:"input_tokens"`
	}
	if err := json.Unmarshal(b, &v); err != nil || v.InputTokens < 5 || v.InputTokens > 40 {
		t.Fatalf("count %s", b)
	}
	if len(f.openai.Requests()) != before {
		t.Fatal("the provider was called")
	}

	// Gemini's countTokens, for any provider, in Gemini's shape.
	for _, model := range []string{"gemini-2.5-flash", "claude-sonnet-4-5"} {
		resp, b = f.post(t, "/v1beta/models/"+model+":countTokens",
			`{"contents":[{"role":"user","parts":[{"text":"Hello there, how many tokens is this?"}]}]}`)
		var g struct {
			TotalTokens int64 `json:"totalTokens"`
		}
		if resp.StatusCode != 200 || json.Unmarshal(b, &g) != nil || g.TotalTokens < 5 || g.TotalTokens > 40 {
			t.Fatalf("%s countTokens: %d %s", model, resp.StatusCode, b)
		}
	}
}

// TestTranslatedProviderError: a provider error reaches a client of
// another dialect in the client's shape, with the provider's status and
// message.
func TestTranslatedProviderError(t *testing.T) {
	f := newFixture(t)
	f.gemini.Set(fakeprovider.Behavior{Status: http.StatusTooManyRequests})
	resp, b := f.post(t, "/v1/chat/completions", `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != 429 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	typ, _, msg := openAIError(t, b)
	if typ != "rate_limit_error" || !strings.Contains(msg, "gemini") {
		t.Fatalf("error %s %q", typ, msg)
	}
	f.anthropic.Set(fakeprovider.Behavior{Status: http.StatusBadRequest})
	resp, b = f.post(t, "/v1beta/models/claude-sonnet-4-5:generateContent", `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`)
	if resp.StatusCode != 400 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	if _, status, _ := geminiError(t, b); status != "INVALID_ARGUMENT" {
		t.Fatalf("status %s", status)
	}
}

// TestGeminiSafetyToOtherDialects: a Gemini safety block reaches clients
// of other dialects as their content-filter finish reason, not as an
// empty success.
func TestGeminiSafetyToOtherDialects(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name string
		b    fakeprovider.Behavior
	}{
		{"blocked prompt", fakeprovider.Behavior{BlockReason: "SAFETY"}},
		{"blocked answer", fakeprovider.Behavior{FinishReason: "SAFETY"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f.gemini.Set(c.b)
			resp, b := f.post(t, "/v1/chat/completions", `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"hi"}]}`)
			var cc struct {
				Choices []struct {
					FinishReason string `json:"finish_reason"`
				} `json:"choices"`
			}
			if resp.StatusCode != 200 || json.Unmarshal(b, &cc) != nil || len(cc.Choices) != 1 || cc.Choices[0].FinishReason != "content_filter" {
				t.Fatalf("chat: %d %s", resp.StatusCode, b)
			}
			resp, b = f.post(t, "/v1/messages", `{"model":"gemini-2.5-flash","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}`)
			var m struct {
				StopReason string `json:"stop_reason"`
			}
			if resp.StatusCode != 200 || json.Unmarshal(b, &m) != nil || m.StopReason != "refusal" {
				t.Fatalf("messages: %d %s", resp.StatusCode, b)
			}
		})
	}
}
