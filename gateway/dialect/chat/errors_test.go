package chat

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
		{"documented error", string(fixture(t, "openai_error_quota.json")), &llm.UpstreamError{Type: "insufficient_quota",
			Message: "You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors."}},
		{"code when there is no type", `{"error":{"message":"m","type":null,"param":null,"code":"invalid_api_key"}}`, &llm.UpstreamError{Type: "invalid_api_key", Message: "m"}},
		{"numeric code is a status", `{"error":{"message":"m","type":"BadRequestError","code":400}}`, &llm.UpstreamError{Type: "BadRequestError", Message: "m", Status: 400}},
		{"string error", `{"error":"model not found"}`, &llm.UpstreamError{Message: "model not found"}},
		{"Gemini array", `[{"error":{"code":429,"message":"Resource exhausted","status":"RESOURCE_EXHAUSTED"}}]`, &llm.UpstreamError{Type: "RESOURCE_EXHAUSTED", Message: "Resource exhausted", Status: 429}},
		{"not an error", `{"id":"chatcmpl-1","choices":[]}`, nil},
		{"empty error", `{"error":{}}`, nil},
		{"not JSON", `Bad Gateway`, nil},
		{"empty array", `[]`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := DecodeError([]byte(tt.body))
			if ok != (tt.want != nil) {
				t.Fatalf("ok = %v, error %+v", ok, got)
			}
			if ok {
				assertDeepEqual(t, got, tt.want)
			}
		})
	}
}

func TestErrorType(t *testing.T) {
	for _, tt := range []struct {
		typ    string
		status int
		want   string
	}{
		{"invalid_request_error", 0, "invalid_request_error"},
		{"insufficient_quota", 429, "insufficient_quota"},
		{"overloaded_error", 0, "server_error"},
		{"api_error", 0, "server_error"},
		{"request_too_large", 0, "invalid_request_error"},
		{"RESOURCE_EXHAUSTED", 0, "rate_limit_error"},
		{"UNAUTHENTICATED", 0, "authentication_error"},
		{"PERMISSION_DENIED", 0, "permission_error"},
		{"NOT_FOUND", 0, "not_found_error"},
		{"INVALID_ARGUMENT", 0, "invalid_request_error"},
		{"UNAVAILABLE", 0, "server_error"},
		{"something", 401, "authentication_error"},
		{"", 403, "permission_error"},
		{"", 404, "not_found_error"},
		{"", 429, "rate_limit_error"},
		{"", 422, "invalid_request_error"},
		{"", 0, "server_error"},
	} {
		if got := errorType(tt.typ, tt.status); got != tt.want {
			t.Errorf("errorType(%q, %d) = %q, want %q", tt.typ, tt.status, got, tt.want)
		}
	}
}
