package translate

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMessagesErrorToChat(t *testing.T) {
	streamErr := parseSSE(t, fixture(t, "anthropic_stream_error.sse"))[0].data
	tests := []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{
			name:   "documented invalid_request_error body",
			status: 400,
			body:   string(fixture(t, "anthropic_error_invalid_request.json")),
			want:   `{"error":{"message":"messages: roles must alternate between \"user\" and \"assistant\"","type":"invalid_request_error","param":null,"code":"invalid_request_error"}}`,
		},
		{
			name:   "documented in-stream overloaded_error, status unknown",
			status: 0,
			body:   string(streamErr),
			want:   `{"error":{"message":"Overloaded","type":"server_error","param":null,"code":"overloaded_error"}}`,
		},
		{
			name:   "authentication_error",
			status: 401,
			body:   `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`,
			want:   `{"error":{"message":"invalid x-api-key","type":"authentication_error","param":null,"code":"authentication_error"}}`,
		},
		{
			name:   "rate_limit_error",
			status: 429,
			body:   `{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}`,
			want:   `{"error":{"message":"Number of request tokens has exceeded your per-minute rate limit","type":"rate_limit_error","param":null,"code":"rate_limit_error"}}`,
		},
		{
			name:   "request_too_large",
			status: 413,
			body:   `{"type":"error","error":{"type":"request_too_large","message":"Request exceeds the maximum allowed number of bytes."}}`,
			want:   `{"error":{"message":"Request exceeds the maximum allowed number of bytes.","type":"invalid_request_error","param":null,"code":"request_too_large"}}`,
		},
		{
			name:   "unknown error type falls back to the status",
			status: 404,
			body:   `{"type":"error","error":{"type":"some_new_error","message":"nope"}}`,
			want:   `{"error":{"message":"nope","type":"not_found_error","param":null,"code":"some_new_error"}}`,
		},
		{
			name:   "non-JSON body",
			status: 502,
			body:   "<html><body>Bad Gateway</body></html>\n",
			want:   `{"error":{"message":"upstream returned HTTP 502 Bad Gateway: <html><body>Bad Gateway</body></html>","type":"server_error","param":null,"code":null}}`,
		},
		{
			name:   "JSON that is not an Anthropic error",
			status: 429,
			body:   `{"message":"slow down"}`,
			want:   `{"error":{"message":"upstream returned HTTP 429 Too Many Requests: {\"message\":\"slow down\"}","type":"rate_limit_error","param":null,"code":null}}`,
		},
		{
			name:   "empty body",
			status: 503,
			body:   "",
			want:   `{"error":{"message":"upstream returned HTTP 503 Service Unavailable with an empty body","type":"server_error","param":null,"code":null}}`,
		},
		{
			name:   "non-Anthropic body, 4xx",
			status: 400,
			body:   "bad",
			want:   `{"error":{"message":"upstream returned HTTP 400 Bad Request: bad","type":"invalid_request_error","param":null,"code":null}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertJSONEqual(t, MessagesErrorToChat(tt.status, []byte(tt.body)), []byte(tt.want))
		})
	}
}

func TestMessagesErrorToChatTruncates(t *testing.T) {
	// Multi-byte characters so that the cut falls inside one.
	body := strings.Repeat("é", 5000)
	out := MessagesErrorToChat(500, []byte(body))
	var got struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("invalid JSON: %v", err)
	}
	msg := got.Error.Message
	if !utf8.ValidString(msg) || strings.ContainsRune(msg, utf8.RuneError) {
		t.Errorf("message is not clean UTF-8: %q", msg)
	}
	if len(msg) > maxRawErrorLen+100 {
		t.Errorf("message is %d bytes, want it truncated near %d", len(msg), maxRawErrorLen)
	}
	if !strings.HasSuffix(msg, "…") {
		t.Errorf("truncated message should end with an ellipsis: %q", msg[len(msg)-10:])
	}
}

func TestUpstreamErrorString(t *testing.T) {
	if got := (&UpstreamError{Type: "overloaded_error", Message: "Overloaded"}).Error(); got != "upstream error (overloaded_error): Overloaded" {
		t.Errorf("Error() = %q", got)
	}
	if got := (&UpstreamError{Message: "boom"}).Error(); got != "upstream error: boom" {
		t.Errorf("Error() = %q", got)
	}
}
