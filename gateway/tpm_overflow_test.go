package gateway_test

import (
	"strings"
	"testing"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/storage"
)

// TestTPMHugeMaxTokens: a max_tokens near math.MaxInt64 is refused by a
// tpm limit that is not empty, like any cap above the limit. The input
// estimate plus the cap used to overflow to a negative count, which the
// limits engine reads as 0 tokens: the request went through without a tpm
// reservation.
func TestTPMHugeMaxTokens(t *testing.T) {
	tests := []struct {
		name, path, first, body string
	}{
		{"chat max_tokens", "/v1/chat/completions", chatBody,
			`{"model":"gpt-4o-mini","max_tokens":9223372036854775807,"messages":[{"role":"user","content":"Say hi"}]}`},
		{"chat max_completion_tokens", "/v1/chat/completions", chatBody,
			`{"model":"gpt-4o-mini","max_completion_tokens":9223372036854775800,"messages":[{"role":"user","content":"Say hi"}]}`},
		{"anthropic max_tokens", "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"x"}]}`,
			`{"model":"claude-sonnet-4-5","max_tokens":9223372036854775807,"messages":[{"role":"user","content":"Say hi"}]}`},
		{"gemini maxOutputTokens", "/v1beta/models/gemini-2.5-flash:generateContent", `{"contents":[{"role":"user","parts":[{"text":"x"}]}]}`,
			`{"contents":[{"role":"user","parts":[{"text":"Say hi"}]}],"generationConfig":{"maxOutputTokens":9223372036854775807}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &storage.Service{ID: "svc_t", Name: "tpm", Active: true, Limits: storage.Limits{TPM: 100_000}}
			f, _ := costFixture(t, svc)
			// A first request leaves tokens in the bucket: only an empty
			// bucket admits a request above the whole limit.
			if resp, b := f.post(t, tt.path, tt.first); resp.StatusCode != 200 {
				t.Fatalf("first request: status %d: %s", resp.StatusCode, b)
			}
			called := len(f.openai.Requests()) + len(f.anthropic.Requests()) + len(f.gemini.Requests())
			resp, b := f.post(t, tt.path, tt.body)
			if resp.StatusCode != 429 || !strings.Contains(string(b), "tpm") {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			if n := len(f.openai.Requests()) + len(f.anthropic.Requests()) + len(f.gemini.Requests()); n != called {
				t.Fatalf("provider called %d more times", n-called)
			}
		})
	}
}
