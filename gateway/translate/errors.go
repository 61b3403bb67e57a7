package translate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Error is a client-side problem with the request that makes it
// untranslatable (maps to HTTP 400). Param names the offending request field
// in OpenAI's notation (for example "messages[2].content[1].image_url.url"),
// or is empty when the problem is not tied to one field.
type Error struct{ Param, Message string }

// Error returns the message, prefixed with the offending parameter when known.
func (e *Error) Error() string {
	if e.Param == "" {
		return e.Message
	}
	return e.Param + ": " + e.Message
}

// errorf builds an *Error for param with a formatted message.
func errorf(param, format string, args ...any) *Error {
	return &Error{Param: param, Message: fmt.Sprintf(format, args...)}
}

// UpstreamError is an error reported by the upstream inside a stream or body.
// Type is the Anthropic error type (for example "overloaded_error").
type UpstreamError struct{ Type, Message string }

// Error returns a description including the upstream error type.
func (e *UpstreamError) Error() string {
	if e.Type == "" {
		return "upstream error: " + e.Message
	}
	return "upstream error (" + e.Type + "): " + e.Message
}

// maxRawErrorLen bounds how much of a non-JSON upstream body is copied into
// an error message.
const maxRawErrorLen = 512

// anthropicError is the Anthropic error envelope
// {"type":"error","error":{"type":"...","message":"..."},"request_id":"..."}.
type anthropicError struct {
	Type  string `json:"type"`
	Error *struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// parseAnthropicError returns the error carried by body when body is an
// Anthropic error envelope, and nil otherwise.
func parseAnthropicError(body []byte) *UpstreamError {
	var env anthropicError
	if err := json.Unmarshal(body, &env); err != nil || env.Error == nil {
		return nil
	}
	if env.Type != "error" && env.Type != "" {
		return nil
	}
	if env.Error.Type == "" && env.Error.Message == "" {
		return nil
	}
	return &UpstreamError{Type: env.Error.Type, Message: env.Error.Message}
}

// chatError is the OpenAI error body.
type chatError struct {
	Error chatErrorDetail `json:"error"`
}

type chatErrorDetail struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// MessagesErrorToChat converts an Anthropic error body
// ({"type":"error","error":{...}}) into the OpenAI error body
// {"error":{"message","type","param","code"}}. If body is not an Anthropic
// error it wraps the raw text (truncated to 512 bytes) as the message. status
// is the upstream HTTP status; it only matters when body does not carry an
// error type (pass 0 when unknown, for example for an in-stream error event).
//
// The OpenAI "type" is invalid_request_error (for invalid_request_error and
// request_too_large), authentication_error, permission_error,
// not_found_error, rate_limit_error, or server_error (api_error,
// overloaded_error and anything unknown at status >= 500). "code" carries the
// original Anthropic error type verbatim, or null when there is none. "param"
// is always null.
func MessagesErrorToChat(status int, body []byte) []byte {
	var detail chatErrorDetail
	if ue := parseAnthropicError(body); ue != nil {
		detail.Message = ue.Message
		if detail.Message == "" {
			detail.Message = ue.Type
		}
		detail.Type = chatErrorType(ue.Type, status)
		if ue.Type != "" {
			code := ue.Type
			detail.Code = &code
		}
	} else {
		detail.Type = chatErrorType("", status)
		detail.Message = rawErrorMessage(status, body)
	}
	out, err := marshal(chatError{Error: detail})
	if err != nil { // cannot happen: only strings and nil pointers
		return []byte(`{"error":{"message":"upstream error","type":"server_error","param":null,"code":null}}`)
	}
	return out
}

// chatErrorType maps an Anthropic error type (or, when unknown, the HTTP
// status) to an OpenAI error type.
func chatErrorType(anthropicType string, status int) string {
	switch anthropicType {
	case "invalid_request_error", "request_too_large":
		return "invalid_request_error"
	case "authentication_error", "permission_error", "not_found_error", "rate_limit_error":
		return anthropicType
	case "api_error", "overloaded_error":
		return "server_error"
	}
	switch {
	case status == http.StatusUnauthorized:
		return "authentication_error"
	case status == http.StatusForbidden:
		return "permission_error"
	case status == http.StatusNotFound:
		return "not_found_error"
	case status == http.StatusTooManyRequests:
		return "rate_limit_error"
	case status >= 400 && status < 500:
		return "invalid_request_error"
	default:
		return "server_error"
	}
}

// rawErrorMessage describes a non-Anthropic error body.
func rawErrorMessage(status int, body []byte) string {
	text := strings.TrimSpace(strings.ToValidUTF8(string(truncate(bytes.TrimSpace(body), maxRawErrorLen)), "\uFFFD"))
	if len(bytes.TrimSpace(body)) > maxRawErrorLen {
		text += "…"
	}
	prefix := "upstream error"
	if status > 0 {
		prefix = fmt.Sprintf("upstream returned HTTP %d", status)
		if st := http.StatusText(status); st != "" {
			prefix += " " + st
		}
	}
	if text == "" {
		return prefix + " with an empty body"
	}
	return prefix + ": " + text
}

// truncate cuts b to at most n bytes without splitting a UTF-8 sequence.
func truncate(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	cut := n
	for cut > 0 && cut > n-utf8.UTFMax && !utf8.RuneStart(b[cut]) {
		cut--
	}
	return b[:cut]
}

// marshal encodes v as compact JSON without HTML escaping.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
