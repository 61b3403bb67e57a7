package gemini

import (
	"bytes"
	"strings"

	"github.com/go-json-experiment/json"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
)

// DecodeError reads a Gemini error body, {"error": {"code", "message",
// "status", "details"}} (or the same wrapped in a one-element array, as
// streamGenerateContent without alt=sse sends it), into an UpstreamError
// whose Type is the status ("INVALID_ARGUMENT"…) and Status the code. It
// reports false when the body holds no error object.
func DecodeError(body []byte) (*llm.UpstreamError, bool) {
	body = bytes.TrimSpace(body)
	var e errorBody
	var err error
	if len(body) > 0 && body[0] == '[' {
		var list []errorBody
		if err = json.Unmarshal(body, &list, lenient); err == nil && len(list) > 0 {
			e = list[0]
		}
	} else {
		err = json.Unmarshal(body, &e, lenient)
	}
	if err != nil || e.Error == nil || (e.Error.Message == "" && e.Error.Status == "" && e.Error.Code == 0) {
		return nil, false
	}
	return upstreamError(e.Error), true
}

// upstreamError converts an error object.
func upstreamError(e *apiError) *llm.UpstreamError {
	u := &llm.UpstreamError{Type: e.Status, Message: e.Message, Status: e.Code}
	if u.Status == 0 {
		u.Status = statusCodes[e.Status]
	}
	return u
}

// statusNames maps HTTP statuses to the canonical Google status names
// (google.rpc.Code) the API sends.
var statusNames = map[int]string{
	400: "INVALID_ARGUMENT",
	401: "UNAUTHENTICATED",
	403: "PERMISSION_DENIED",
	404: "NOT_FOUND",
	409: "ABORTED",
	412: "FAILED_PRECONDITION",
	429: "RESOURCE_EXHAUSTED",
	499: "CANCELLED",
	500: "INTERNAL",
	501: "UNIMPLEMENTED",
	503: "UNAVAILABLE",
	504: "DEADLINE_EXCEEDED",
}

// statusCodes maps status names (Google's, and the other dialects' error
// types) to HTTP statuses.
var statusCodes = map[string]int{
	"INVALID_ARGUMENT":    400,
	"FAILED_PRECONDITION": 400,
	"OUT_OF_RANGE":        400,
	"UNAUTHENTICATED":     401,
	"PERMISSION_DENIED":   403,
	"NOT_FOUND":           404,
	"ABORTED":             409,
	"ALREADY_EXISTS":      409,
	"RESOURCE_EXHAUSTED":  429,
	"CANCELLED":           499,
	"INTERNAL":            500,
	"UNKNOWN":             500,
	"DATA_LOSS":           500,
	"UNIMPLEMENTED":       501,
	"UNAVAILABLE":         503,
	"DEADLINE_EXCEEDED":   504,

	"invalid_request_error": 400,
	"authentication_error":  401,
	"permission_error":      403,
	"not_found_error":       404,
	"request_too_large":     413,
	"rate_limit_error":      429,
	"rate_limit_exceeded":   429,
	"insufficient_quota":    429,
	"api_error":             500,
	"server_error":          500,
	"overloaded_error":      503,
	"timeout_error":         504,
}

// errorObject builds the Gemini error object for an upstream error of
// any dialect: the code is its HTTP status (else the one its type
// implies, else 500) and the status Google's name for that code.
func errorObject(u *llm.UpstreamError) apiError {
	e := apiError{Code: 500, Status: "INTERNAL"}
	if u == nil {
		e.Message = "upstream error"
		return e
	}
	e.Message = u.Message
	if e.Message == "" {
		e.Message = "upstream error"
	}
	code := u.Status
	if code == 0 {
		code = statusCodes[u.Type]
	}
	if code != 0 {
		e.Code = code
	}
	switch {
	case isGoogleStatus(u.Type):
		e.Status = u.Type
	case statusNames[e.Code] != "":
		e.Status = statusNames[e.Code]
	case e.Code >= 500:
		e.Status = "INTERNAL"
	default:
		e.Status = "UNKNOWN"
	}
	return e
}

// isGoogleStatus reports whether s is a canonical Google status name.
func isGoogleStatus(s string) bool {
	if s == "" || strings.ToUpper(s) != s {
		return false
	}
	_, ok := statusCodes[s]
	return ok
}
