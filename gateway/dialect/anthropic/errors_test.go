package anthropic

import (
	"testing"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
)

func TestDecodeError(t *testing.T) {
	tests := []struct {
		name string
		body string
		want *llm.UpstreamError
	}{
		{"docs example", string(fixture(t, "anthropic_error_invalid_request.json")),
			&llm.UpstreamError{Type: "invalid_request_error", Message: "messages: roles must alternate between \"user\" and \"assistant\"", Status: 400}},
		{"overloaded", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`,
			&llm.UpstreamError{Type: "overloaded_error", Message: "Overloaded", Status: 529}},
		{"unknown type", `{"type":"error","error":{"type":"new_error","message":"x"}}`,
			&llm.UpstreamError{Type: "new_error", Message: "x"}},
		{"OpenAI shape", `{"error":{"message":"bad","type":"invalid_request_error","param":null,"code":null}}`,
			&llm.UpstreamError{Type: "invalid_request_error", Message: "bad", Status: 400}},
		{"message", `{"type":"message","content":[]}`, nil},
		{"empty error", `{"type":"error","error":{}}`, nil},
		{"not JSON", `<html>502</html>`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := DecodeError([]byte(tt.body))
			if ok != (tt.want != nil) {
				t.Fatalf("ok = %v, want %v", ok, tt.want != nil)
			}
			if ok && *got != *tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestErrorType(t *testing.T) {
	tests := []struct {
		in   llm.UpstreamError
		want string
	}{
		{llm.UpstreamError{Type: "overloaded_error"}, "overloaded_error"},
		{llm.UpstreamError{Type: "server_error", Status: 500}, "api_error"},
		{llm.UpstreamError{Type: "server_error"}, "api_error"},
		{llm.UpstreamError{Status: 429}, "rate_limit_error"},
		{llm.UpstreamError{Type: "RESOURCE_EXHAUSTED"}, "rate_limit_error"},
		{llm.UpstreamError{Type: "UNAVAILABLE"}, "overloaded_error"},
		{llm.UpstreamError{Status: 401}, "authentication_error"},
		{llm.UpstreamError{Type: "INVALID_ARGUMENT"}, "invalid_request_error"},
	}
	for _, tt := range tests {
		if got := errorType(&tt.in); got != tt.want {
			t.Errorf("errorType(%+v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
