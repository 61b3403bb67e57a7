package gateway

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// kind classifies a gateway error; each surface names it in its own words.
type kind int

const (
	kindInvalidRequest kind = iota
	kindAuthentication
	kindPermission
	kindNotFound
	kindTooLarge
	kindRateLimit
	kindBilling
	kindUpstream
	kindTimeout
	kindInternal
)

// apiError is an error answered to the client.
type apiError struct {
	status  int
	kind    kind
	code    string // OpenAI's machine-readable code, may be empty
	message string
	param   string // the offending request field, may be empty
	// retryAfter, when set, is sent as the Retry-After header (429).
	retryAfter time.Duration
}

func (e *apiError) Error() string { return e.message }

func badRequest(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, kind: kindInvalidRequest, message: msg}
}

// openAITypes and anthropicTypes name each kind as the provider does.
var (
	openAITypes = map[kind]string{
		kindInvalidRequest: "invalid_request_error",
		kindAuthentication: "authentication_error",
		kindPermission:     "permission_error",
		kindNotFound:       "invalid_request_error",
		kindTooLarge:       "invalid_request_error",
		kindRateLimit:      "rate_limit_error",
		kindBilling:        "insufficient_quota",
		kindUpstream:       "api_error",
		kindTimeout:        "timeout_error",
		kindInternal:       "api_error",
	}
	anthropicTypes = map[kind]string{
		kindInvalidRequest: "invalid_request_error",
		kindAuthentication: "authentication_error",
		kindPermission:     "permission_error",
		kindNotFound:       "not_found_error",
		kindTooLarge:       "request_too_large",
		kindRateLimit:      "rate_limit_error",
		kindBilling:        "billing_error",
		kindUpstream:       "api_error",
		kindTimeout:        "timeout_error",
		kindInternal:       "api_error",
	}
	// geminiStatuses name each kind as a google.rpc status, as the Gemini
	// API reports errors.
	geminiStatuses = map[kind]string{
		kindInvalidRequest: "INVALID_ARGUMENT",
		kindAuthentication: "UNAUTHENTICATED",
		kindPermission:     "PERMISSION_DENIED",
		kindNotFound:       "NOT_FOUND",
		kindTooLarge:       "INVALID_ARGUMENT",
		kindRateLimit:      "RESOURCE_EXHAUSTED",
		kindBilling:        "RESOURCE_EXHAUSTED",
		kindUpstream:       "UNAVAILABLE",
		kindTimeout:        "DEADLINE_EXCEEDED",
		kindInternal:       "INTERNAL",
	}
)

// errorBody renders e in the shape of surface s.
func errorBody(s Surface, e *apiError) []byte {
	var v any
	switch s {
	case SurfaceAnthropic:
		v = map[string]any{
			"type":  "error",
			"error": map[string]string{"type": anthropicTypes[e.kind], "message": e.message},
		}
	case SurfaceGemini:
		v = map[string]any{"error": map[string]any{
			"code":    e.status,
			"message": e.message,
			"status":  geminiStatuses[e.kind],
		}}
	default: // OpenAI and Azure
		var code, param any // null when empty, as OpenAI sends them
		if e.code != "" {
			code = e.code
		}
		if e.param != "" {
			param = e.param
		}
		v = map[string]any{"error": map[string]any{
			"message": e.message,
			"type":    openAITypes[e.kind],
			"param":   param,
			"code":    code,
		}}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // messages quote `<token>` and the like
	enc.Encode(v)            // maps of strings always encode
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// writeError answers e in the shape of surface s.
func writeError(w http.ResponseWriter, s Surface, e *apiError) {
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64((e.retryAfter+time.Second-1)/time.Second), 10))
	}
	writeJSON(w, e.status, errorBody(s, e))
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// kindOf classifies an HTTP error status.
func kindOf(status int) kind {
	switch {
	case status == http.StatusBadRequest || status == http.StatusUnprocessableEntity:
		return kindInvalidRequest
	case status == http.StatusUnauthorized:
		return kindAuthentication
	case status == http.StatusForbidden:
		return kindPermission
	case status == http.StatusNotFound:
		return kindNotFound
	case status == http.StatusRequestEntityTooLarge:
		return kindTooLarge
	case status == http.StatusTooManyRequests:
		return kindRateLimit
	case status == http.StatusGatewayTimeout || status == http.StatusRequestTimeout:
		return kindTimeout
	}
	return kindUpstream
}
