package gemini

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
		{"array of one", string(fixture(t, "error_api_key_invalid.json")), &llm.UpstreamError{Type: "INVALID_ARGUMENT", Message: "API key not valid. Please pass a valid API key.", Status: 400}},
		{"object", string(fixture(t, "error_unavailable.json")), &llm.UpstreamError{Type: "UNAVAILABLE", Message: "overloaded", Status: 503}},
		{"status without code", `{"error":{"message":"slow down","status":"RESOURCE_EXHAUSTED"}}`, &llm.UpstreamError{Type: "RESOURCE_EXHAUSTED", Message: "slow down", Status: 429}},
		{"other dialect", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, &llm.UpstreamError{Message: "Overloaded", Status: 0}},
		{"not an error", `{"candidates":[]}`, nil},
		{"empty error", `{"error":{}}`, nil},
		{"not JSON", `<html>502</html>`, nil},
		{"empty", ``, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := DecodeError([]byte(tt.body))
			if ok != (tt.want != nil) {
				t.Fatalf("ok = %v, error %+v", ok, got)
			}
			if ok && *got != *tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSignatureShapes(t *testing.T) {
	tests := []struct {
		sig      string
		std, any bool
	}{
		{"c2lnLTE=", true, true},
		{"c2ln", true, true},
		{"YQ==", true, true},
		{"skip_thought_signature_validator", false, true},
		{"gAAAAABo-x_y", false, true},
		{"YQ", false, true},
		{"Y===", false, false},
		{"a=bc", false, false},
		{"not base64!", false, false},
		{"abcde", false, false},
	}
	for _, tt := range tests {
		if got := stdBase64(tt.sig); got != tt.std {
			t.Errorf("stdBase64(%q) = %v", tt.sig, got)
		}
		if got := anyBase64(tt.sig); got != tt.any {
			t.Errorf("anyBase64(%q) = %v", tt.sig, got)
		}
	}
}
