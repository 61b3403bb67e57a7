package anthropic

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// DecodeError reads an Anthropic error body,
// {"type":"error","error":{"type":"…","message":"…"},"request_id":"…"}. It
// reports false when body does not have that shape. Status is derived from
// the error type (invalid_request_error 400, authentication_error 401,
// permission_error 403, not_found_error 404, request_too_large 413,
// rate_limit_error 429, api_error 500, timeout_error 504,
// overloaded_error 529), or 0 when the type is unknown.
func DecodeError(body []byte) (*llm.UpstreamError, bool) {
	var env struct {
		Type  string   `json:"type"`
		Error *errorIn `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.Error == nil {
		return nil, false
	}
	if env.Type != "error" && env.Type != "" {
		return nil, false
	}
	if env.Error.Type == "" && env.Error.Message == "" {
		return nil, false
	}
	return upstreamError(env.Error), true
}

// upstreamError converts an Anthropic error object.
func upstreamError(e *errorIn) *llm.UpstreamError {
	return &llm.UpstreamError{Type: e.Type, Message: e.Message, Status: errorStatus(e.Type)}
}

// errorStatus is the HTTP status Anthropic documents for an error type.
func errorStatus(typ string) int {
	switch typ {
	case "invalid_request_error":
		return http.StatusBadRequest
	case "authentication_error":
		return http.StatusUnauthorized
	case "billing_error":
		return http.StatusPaymentRequired
	case "permission_error":
		return http.StatusForbidden
	case "not_found_error":
		return http.StatusNotFound
	case "request_too_large":
		return http.StatusRequestEntityTooLarge
	case "rate_limit_error":
		return http.StatusTooManyRequests
	case "api_error":
		return http.StatusInternalServerError
	case "timeout_error":
		return http.StatusGatewayTimeout
	case "overloaded_error":
		return 529
	}
	return 0
}

// errorType is the Anthropic error type to report an upstream error as: its
// own type when it is an Anthropic one, else one derived from its status or
// from common type names of the other dialects.
func errorType(e *llm.UpstreamError) string {
	if errorStatus(e.Type) != 0 {
		return e.Type
	}
	switch e.Status {
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return "invalid_request_error"
	case http.StatusUnauthorized:
		return "authentication_error"
	case http.StatusPaymentRequired:
		return "billing_error"
	case http.StatusForbidden:
		return "permission_error"
	case http.StatusNotFound:
		return "not_found_error"
	case http.StatusRequestEntityTooLarge:
		return "request_too_large"
	case http.StatusTooManyRequests:
		return "rate_limit_error"
	case http.StatusServiceUnavailable, 529:
		return "overloaded_error"
	case http.StatusGatewayTimeout:
		return "timeout_error"
	}
	switch strings.ToLower(e.Type) {
	case "invalid_request_error", "invalid_argument", "failed_precondition":
		return "invalid_request_error"
	case "authentication_error", "unauthenticated":
		return "authentication_error"
	case "permission_error", "permission_denied":
		return "permission_error"
	case "not_found_error", "not_found":
		return "not_found_error"
	case "rate_limit_error", "rate_limit_exceeded", "insufficient_quota", "resource_exhausted":
		return "rate_limit_error"
	case "unavailable", "overloaded":
		return "overloaded_error"
	case "deadline_exceeded":
		return "timeout_error"
	}
	return "api_error"
}

// requestError turns an error reading a request body into an *llm.Error:
// the parser's own errors pass, JSON syntax errors are described.
func requestError(err error) error {
	var le *llm.Error
	if errors.As(err, &le) {
		return le
	}
	var syn *jsontext.SyntacticError
	if errors.As(err, &syn) {
		return llm.Errorf("", "the request body is not valid JSON: %v", syn.Err)
	}
	return llm.Errorf("", "the request body is not valid JSON: %v", err)
}

// pointerParam renders a JSON pointer (/messages/0/content/1) in the
// dotted notation of API errors (messages[0].content[1]).
func pointerParam(p jsontext.Pointer) string {
	var b strings.Builder
	for tok := range p.Tokens() {
		if _, err := strconv.Atoi(tok); err == nil && b.Len() > 0 {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

// jsonKind describes a JSON kind.
func jsonKind(k jsontext.Kind) string {
	switch k {
	case '"':
		return "a string"
	case '0':
		return "a number"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case '{':
		return "an object"
	case '[':
		return "an array"
	}
	return "an invalid value"
}
