package gateway_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/audit"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/cache"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/provider"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/route"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/storage"
)

// canned is an in-memory provider transport, so the benchmarks measure the
// gateway's own work and not a network round trip.
type canned struct{ json, sse, anthropicJSON, anthropicSSE, geminiJSON, geminiSSE string }

func (c canned) RoundTrip(r *http.Request) (*http.Response, error) {
	io.Copy(io.Discard, r.Body)
	r.Body.Close()
	stream := r.Header.Get("Accept") == "text/event-stream"
	anthropic := strings.HasSuffix(r.URL.Path, "/messages")
	body, ct := c.json, "application/json"
	switch {
	case strings.HasSuffix(r.URL.Path, ":streamGenerateContent"):
		body, ct = c.geminiSSE, "text/event-stream"
	case strings.HasSuffix(r.URL.Path, ":generateContent"):
		body = c.geminiJSON
	case stream && anthropic:
		body, ct = c.anthropicSSE, "text/event-stream"
	case stream:
		body, ct = c.sse, "text/event-stream"
	case anthropic:
		body = c.anthropicJSON
	}
	return &http.Response{
		StatusCode: 200, Header: http.Header{"Content-Type": {ct}},
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: -1, Request: r,
	}, nil
}

func cannedResponses() canned {
	var sse strings.Builder
	for i := range 20 {
		sse.WriteString(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"token` + string(rune('a'+i)) + ` "},"finish_reason":null}],"usage":null}` + "\n\n")
	}
	sse.WriteString(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}` + "\n\n")
	sse.WriteString(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":20,"total_tokens":29}}` + "\n\n")
	sse.WriteString("data: [DONE]\n\n")

	var asse strings.Builder
	asse.WriteString("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-5\",\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\n\n")
	asse.WriteString("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n")
	for i := range 20 {
		asse.WriteString("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"token" + string(rune('a'+i)) + " \"}}\n\n")
	}
	asse.WriteString("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n")
	asse.WriteString("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":20}}\n\n")
	asse.WriteString("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
	var gsse strings.Builder
	for i := range 20 {
		gsse.WriteString(`data: {"candidates": [{"content": {"parts": [{"text": "token` + string(rune('a'+i)) + ` "}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 9,"candidatesTokenCount": ` + fmt.Sprint(i+1) + `,"totalTokenCount": ` + fmt.Sprint(i+10) + `},"modelVersion": "gemini-2.5-flash","responseId": "r1"}` + "\r\n\r\n")
	}
	gsse.WriteString(`data: {"candidates": [{"content": {"parts": [{"text": ""}],"role": "model"},"finishReason": "STOP","index": 0}],"usageMetadata": {"promptTokenCount": 9,"candidatesTokenCount": 20,"totalTokenCount": 29},"modelVersion": "gemini-2.5-flash","responseId": "r1"}` + "\r\n\r\n")
	return canned{
		geminiJSON:    `{"candidates": [{"content": {"parts": [{"text": "` + strings.Repeat("token ", 600) + `"}],"role": "model"},"finishReason": "STOP","index": 0}],"usageMetadata": {"promptTokenCount": 9,"candidatesTokenCount": 600,"totalTokenCount": 609},"modelVersion": "gemini-2.5-flash","responseId": "r1"}`,
		geminiSSE:     gsse.String(),
		json:          `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"` + strings.Repeat("token ", 600) + `","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":600,"total_tokens":609}}`,
		sse:           sse.String(),
		anthropicJSON: `{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"` + strings.Repeat("token ", 600) + `"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":9,"output_tokens":600}}`,
		anthropicSSE:  asse.String(),
	}
}

// BenchmarkHandler measures one request through the gateway's handler
// path (decode, route, prepare, relay) with an in-memory provider. The
// request body is about 4 KB.
func BenchmarkHandler(b *testing.B) {
	rt := cannedResponses()
	mk := func(name, typ string) provider.Provider {
		p, err := provider.New(provider.Config{Name: name, Type: typ, BaseURL: "http://upstream.invalid/v1", APIKey: "k", Transport: rt})
		if err != nil {
			b.Fatal(err)
		}
		return p
	}
	g, err := gateway.New(gateway.Config{
		Providers: []provider.Provider{mk("openai", "openai"), mk("anthropic", "anthropic"), mk("gemini", "gemini")},
		Routes:    []route.Rule{{Pattern: "gpt-*", Targets: []route.Target{{Provider: "openai"}}}},
		Auth:      testAuth(),
	})
	if err != nil {
		b.Fatal(err)
	}
	content := strings.Repeat("lorem ipsum dolor sit amet ", 140) // ~3.8 KB
	anthropicBody := `{"model":"%s","max_tokens":1024,"system":"Be brief.","messages":[{"role":"user","content":"` + content + `"}]%s}`
	geminiBody := `{"systemInstruction":{"parts":[{"text":"Be brief."}]},"contents":[{"role":"user","parts":[{"text":"` + content + `"}]}]}`
	cases := []struct{ name, path, body string }{
		{"anthropic_passthrough", "/v1/messages", fmt.Sprintf(anthropicBody, "claude-sonnet-4-5", "")},
		{"anthropic_to_openai", "/v1/messages", fmt.Sprintf(anthropicBody, "gpt-4o-mini", "")},
		{"anthropic_to_openai_stream", "/v1/messages", fmt.Sprintf(anthropicBody, "gpt-4o-mini", `,"stream":true`)},
		{"gemini_passthrough", "/v1beta/models/gemini-2.5-flash:generateContent", geminiBody},
		{"gemini_to_anthropic", "/v1beta/models/claude-sonnet-4-5:generateContent", geminiBody},
		{"openai_to_gemini", "", `{"model":"gemini-2.5-flash","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"` + content + `"}]}`},
		{"openai_to_gemini_stream", "", `{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"` + content + `"}]}`},
		{"openai", "", `{"model":"gpt-4o-mini","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"` + content + `"}]}`},
		{"openai_stream", "", `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"` + content + `"}]}`},
		{"anthropic_translated", "", `{"model":"claude-sonnet-4-5","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"` + content + `"}]}`},
		{"anthropic_translated_stream", "", `{"model":"claude-sonnet-4-5","stream":true,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"` + content + `"}]}`},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.body)))
			for b.Loop() {
				path := c.path
				if path == "" {
					path = "/v1/chat/completions"
				}
				req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(c.body))
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

// BenchmarkHandlerObserved is BenchmarkHandler's openai case with the
// cache and the observer in the path: a cache hit (whole and streamed),
// and a miss that is observed (what the audit record and usage totals
// cost the request path, without the store).
func BenchmarkHandlerObserved(b *testing.B) {
	rt := cannedResponses()
	p, err := provider.New(provider.Config{Name: "openai", Type: "openai", BaseURL: "http://upstream.invalid/v1", APIKey: "k", Transport: rt})
	if err != nil {
		b.Fatal(err)
	}
	c := cache.New(nil, cache.Options{})
	defer c.Close()
	usage := audit.NewUsage()
	w := audit.NewWriter(discardSink{}, audit.Options{})
	defer w.Close()
	observe := gateway.ObserverFunc(func(o *gateway.Outcome) { usage.Add(&o.AuditRecord); w.Add(o.AuditRecord) })
	content := strings.Repeat("lorem ipsum dolor sit amet ", 140) // ~3.8 KB
	body := `{"model":"gpt-4o-mini","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"` + content + `"}]}`
	stream := `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"` + content + `"}]}`
	cases := []struct {
		name, body string
		cfg        func(*gateway.Config)
	}{
		{"cache_hit", body, func(cfg *gateway.Config) { cfg.Cache = c }},
		{"cache_hit_stream", stream, func(cfg *gateway.Config) { cfg.Cache = c }},
		{"observed_miss", body, func(cfg *gateway.Config) { cfg.Observer = observe }},
		{"unobserved_miss", body, func(cfg *gateway.Config) {}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			cfg := gateway.Config{Providers: []provider.Provider{p}, Auth: testAuth()}
			tc.cfg(&cfg)
			g, err := gateway.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(tc.body))
				req.Header.Set("Authorization", "Bearer "+testToken)
				rec := httptest.NewRecorder()
				g.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
		})
	}
}

// discardSink accepts audit records and drops them.
type discardSink struct{}

func (discardSink) AppendAudit(context.Context, []storage.AuditRecord, time.Duration) error {
	return nil
}
