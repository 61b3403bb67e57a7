package chat

import (
	"errors"
	"net/http"
	"reflect"
	"strconv"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
)

// kindError is the error a polymorphic field's decoder returns for a value of
// the wrong kind: what it expected.
type kindError string

func (w kindError) Error() string { return "expected " + string(w) }

// decodeError turns an error of json.Unmarshal on a request body into an
// *llm.Error naming the offending parameter in OpenAI's notation.
func decodeError(err error) error {
	var se *json.SemanticError
	if errors.As(err, &se) {
		param := pointerParam(se.JSONPointer)
		var w kindError
		if errors.As(se.Err, &w) {
			return &llm.Error{Param: param, Message: w.Error()}
		}
		msg := "expected " + typeName(se.GoType)
		if se.JSONKind == '0' && len(se.JSONValue) > 0 && len(se.JSONValue) < 32 {
			msg += ", got " + string(se.JSONValue)
		} else if se.JSONKind != 0 && se.JSONKind != '0' {
			msg += ", got " + kindName(se.JSONKind)
		}
		if param == "" {
			if se.JSONKind != 0 && se.JSONKind != '{' {
				return &llm.Error{Message: "the request body must be a JSON object"}
			}
			return &llm.Error{Message: "the request body cannot be read: " + err.Error()}
		}
		return &llm.Error{Param: param, Message: msg}
	}
	var syn *jsontext.SyntacticError
	if errors.As(err, &syn) {
		return &llm.Error{Message: "the request body is not valid JSON: " + syn.Error()}
	}
	return &llm.Error{Message: "the request body cannot be read: " + err.Error()}
}

// pointerParam turns a JSON pointer (/messages/2/content/1) into OpenAI's
// parameter notation (messages[2].content[1]).
func pointerParam(p jsontext.Pointer) string {
	var b []byte
	for tok := range p.Tokens() {
		if isIndex(tok) {
			b = append(b, '[')
			b = append(b, tok...)
			b = append(b, ']')
			continue
		}
		if len(b) > 0 {
			b = append(b, '.')
		}
		b = append(b, tok...)
	}
	return string(b)
}

// isIndex reports whether a pointer token is an array index.
func isIndex(tok string) bool {
	if tok == "" {
		return false
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] < '0' || tok[i] > '9' {
			return false
		}
	}
	return true
}

// typeName describes the JSON a Go type is read from.
func typeName(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "a valid value"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.Float64, reflect.Float32:
		return "a number"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	default:
		return "a valid value"
	}
}

// errorBody is the OpenAI error object, also used by most OpenAI-compatible
// servers. Code is a string at OpenAI and a number at some others.
type errorBody struct {
	Message string         `json:"message"`
	Type    string         `json:"type"`
	Code    jsontext.Value `json:"code"`
	Status  string         `json:"status"` // Gemini's OpenAI-compatible endpoint
}

// upstream converts an error object; ok is false when it holds nothing.
func (e *errorBody) upstream() (*llm.UpstreamError, bool) {
	ue := &llm.UpstreamError{Type: e.Type, Message: e.Message}
	var code string
	switch e.Code.Kind() {
	case '"':
		_ = json.Unmarshal(e.Code, &code)
	case '0':
		if n, err := strconv.Atoi(string(e.Code)); err == nil && n >= 100 && n <= 599 {
			ue.Status = n
		}
	}
	if ue.Type == "" {
		ue.Type = code
	}
	if ue.Type == "" {
		ue.Type = e.Status
	}
	if ue.Type == "" && ue.Message == "" {
		return nil, false
	}
	return ue, true
}

// DecodeError reads an OpenAI error body, {"error":{"message","type",
// "param","code"}}. The type (or, when there is none, the code) becomes
// UpstreamError.Type. It also reads the shapes some OpenAI-compatible
// servers send: {"error":"message"}, and a one-element array holding the
// error object (Gemini). ok is false when body holds no error.
func DecodeError(body []byte) (*llm.UpstreamError, bool) {
	if jsontext.Value(body).Kind() == '[' {
		var list []jsontext.Value
		if json.Unmarshal(body, &list, decodeOpts) != nil || len(list) == 0 {
			return nil, false
		}
		body = list[0]
	}
	var env struct {
		Error jsontext.Value `json:"error"`
	}
	if json.Unmarshal(body, &env, decodeOpts) != nil {
		return nil, false
	}
	switch env.Error.Kind() {
	case '"':
		var msg string
		if json.Unmarshal(env.Error, &msg) != nil || msg == "" {
			return nil, false
		}
		return &llm.UpstreamError{Message: msg}, true
	case '{':
		var eb errorBody
		if json.Unmarshal(env.Error, &eb, decodeOpts) != nil {
			return nil, false
		}
		return eb.upstream()
	}
	return nil, false
}

// errorType maps an error type from any dialect (OpenAI, Anthropic, Gemini
// statuses) or, failing that, an HTTP status to an OpenAI error type.
func errorType(t string, status int) string {
	switch t {
	case "invalid_request_error", "authentication_error", "permission_error",
		"not_found_error", "rate_limit_error", "server_error", "insufficient_quota":
		return t
	case "request_too_large", "INVALID_ARGUMENT", "FAILED_PRECONDITION", "OUT_OF_RANGE":
		return "invalid_request_error"
	case "UNAUTHENTICATED":
		return "authentication_error"
	case "PERMISSION_DENIED":
		return "permission_error"
	case "NOT_FOUND":
		return "not_found_error"
	case "RESOURCE_EXHAUSTED", "rate_limit_exceeded":
		return "rate_limit_error"
	case "api_error", "overloaded_error", "INTERNAL", "UNAVAILABLE", "DEADLINE_EXCEEDED":
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

// appendErrorChunk appends the SSE event OpenAI sends for an error in a
// stream: data: {"error":{"message","type","param":null,"code"}}. The code
// is the provider's own error type, or null.
func appendErrorChunk(dst []byte, e *llm.UpstreamError) []byte {
	msg, typ, status := "upstream error", "", 0
	if e != nil {
		if e.Message != "" {
			msg = e.Message
		}
		typ, status = e.Type, e.Status
	}
	dst = append(dst, `data: {"error":{"message":`...)
	dst = appendString(dst, msg)
	dst = append(dst, `,"type":`...)
	dst = appendString(dst, errorType(typ, status))
	dst = append(dst, `,"param":null,"code":`...)
	if typ == "" {
		dst = append(dst, "null"...)
	} else {
		dst = appendString(dst, typ)
	}
	return append(dst, "}}\n\n"...)
}
