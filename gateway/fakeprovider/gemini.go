package fakeprovider

// The Gemini Developer API, as documented by the Gemini API reference
// (https://ai.google.dev/api/generate-content, /api/tokens, /api/models)
// and spoken by the Gen AI SDKs (googleapis/go-genai): under /v1beta and
// /v1,
//
//	POST models/{model}:generateContent
//	POST models/{model}:streamGenerateContent?alt=sse
//	POST models/{model}:streamGenerateContent   (a JSON array of chunks)
//	POST models/{model}:countTokens
//	GET  models and models/{model}
//
// authenticated by the x-goog-api-key header or the ?key= query parameter.
// Bodies use the REST API's camelCase names (lowerCamelCase proto JSON; the
// API also accepts the snake_case proto names, and so does the fake). Whole
// answers are pretty-printed, as the API prints them; stream chunks are one
// line each, framed "data: <chunk>\r\n\r\n" with no terminating event.
// Errors are Google's {"error":{"code","message","status","details"}}.
//
// Request bodies are checked as the API checks them: unknown member names
// in the request, its contents, parts and inline data are refused with 400
// INVALID_ARGUMENT "Invalid JSON payload received. Unknown name ..." and a
// google.rpc.BadRequest detail, as is inline data that is not base64;
// missing contents, empty parts, a part with no data and a role other than
// user or model are refused with the API's messages.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// geminiInternalMessage is the message of the API's 500 INTERNAL errors.
const geminiInternalMessage = "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"

// serveGemini answers a request to a Gemini fake.
func (s *Server) serveGemini(x *exchange) {
	if !x.geminiAuth() {
		return
	}
	version, rest, ok := geminiRoute(x.r.URL.EscapedPath())
	model, method := "", ""
	if name, found := strings.CutPrefix(rest, "models/"); ok && found {
		escaped, m, _ := strings.Cut(name, ":")
		model, _ = url.PathUnescape(escaped)
		method = m
	}
	if x.b.Status >= 400 {
		x.geminiStatusError(version, model)
		return
	}
	post, get := x.r.Method == http.MethodPost, x.r.Method == http.MethodGet
	switch {
	case !ok:
		x.geminiNotFound()
	case rest == "models" && get:
		x.geminiModels()
	case model == "" || strings.Contains(model, "/"):
		x.geminiNotFound()
	case method == "" && get:
		x.geminiModel(version, model)
	case method == "generateContent" && post:
		x.generateContent(version, model, false)
	case method == "streamGenerateContent" && post:
		x.generateContent(version, model, true)
	case method == "countTokens" && post:
		x.geminiCountTokens(version, model)
	default:
		x.geminiNotFound()
	}
}

// geminiRoute splits an escaped path into the API version and the rest:
// "/v1beta/models/m:generateContent" -> "v1beta", "models/m:generateContent".
func geminiRoute(path string) (version, rest string, ok bool) {
	for _, v := range []string{"v1beta", "v1"} {
		if r, found := strings.CutPrefix(path, "/"+v+"/"); found {
			return v, r, true
		}
	}
	return "", "", false
}

// geminiAuth checks the key, answering as the API does: 403
// PERMISSION_DENIED without one, 400 INVALID_ARGUMENT API_KEY_INVALID for a
// wrong one.
func (x *exchange) geminiAuth() bool {
	key := x.r.Header.Get("x-goog-api-key")
	if key == "" {
		key = x.r.URL.Query().Get("key")
	}
	switch {
	case key == "":
		x.geminiError(http.StatusForbidden, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.", nil)
		return false
	case key != x.s.key:
		const msg = "API key not valid. Please pass a valid API key."
		x.geminiError(http.StatusBadRequest, msg, []any{
			map[string]any{
				"@type":    "type.googleapis.com/google.rpc.ErrorInfo",
				"reason":   "API_KEY_INVALID",
				"domain":   "googleapis.com",
				"metadata": map[string]string{"service": "generativelanguage.googleapis.com"},
			},
			map[string]any{
				"@type":   "type.googleapis.com/google.rpc.LocalizedMessage",
				"locale":  "en-US",
				"message": msg,
			},
		})
		return false
	}
	return true
}

// geminiHeaders are the headers the Gemini API sends on every response.
func (x *exchange) geminiHeaders(contentType string) http.Header {
	return http.Header{
		"Content-Type":           {contentType},
		"Vary":                   {"Origin", "X-Origin", "Referer"},
		"Server":                 {"scaffolding on HTTPServer2"},
		"Server-Timing":          {"gfet4t7; dur=412"},
		"X-Xss-Protection":       {"0"},
		"X-Frame-Options":        {"SAMEORIGIN"},
		"X-Content-Type-Options": {"nosniff"},
	}
}

// geminiWrite answers status with v as pretty-printed JSON, as the API
// prints its answers.
func (x *exchange) geminiWrite(status int, v any) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("fakeprovider: marshal response: %v", err))
	}
	x.geminiWriteRaw(status, append(data, '\n'))
}

func (x *exchange) geminiWriteRaw(status int, body []byte) {
	x.header("", x.geminiHeaders("application/json; charset=UTF-8"))
	x.w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	x.w.WriteHeader(status)
	_, _ = x.w.Write(body)
}

// geminiStatus is the body of the API's errors (google.rpc.Status).
type geminiStatus struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Status  string `json:"status"`
	Details []any  `json:"details,omitempty"`
}

// geminiErrorBody is {"error": {"code","message","status","details"}}.
func geminiErrorBody(code int, message string, details []any) any {
	return struct {
		Error geminiStatus `json:"error"`
	}{geminiStatus{Code: code, Message: message, Status: geminiCode(code), Details: details}}
}

// geminiCode is the google.rpc.Code name the API gives an HTTP status.
func geminiCode(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "INVALID_ARGUMENT"
	case http.StatusUnauthorized:
		return "UNAUTHENTICATED"
	case http.StatusForbidden:
		return "PERMISSION_DENIED"
	case http.StatusNotFound:
		return "NOT_FOUND"
	case http.StatusConflict:
		return "ABORTED"
	case http.StatusTooManyRequests:
		return "RESOURCE_EXHAUSTED"
	case 499:
		return "CANCELLED"
	case http.StatusInternalServerError:
		return "INTERNAL"
	case http.StatusNotImplemented:
		return "NOT_IMPLEMENTED"
	case http.StatusServiceUnavailable:
		return "UNAVAILABLE"
	case http.StatusGatewayTimeout:
		return "DEADLINE_EXCEEDED"
	}
	return "UNKNOWN"
}

// geminiError answers status with the API's error body.
func (x *exchange) geminiError(status int, message string, details []any) {
	x.geminiWrite(status, geminiErrorBody(status, message, details))
}

// geminiBadRequest answers 400 INVALID_ARGUMENT for violations of the
// request's JSON, with their google.rpc.BadRequest detail.
func (x *exchange) geminiBadRequest(vs []fieldViolation) {
	msgs := make([]string, len(vs))
	for i, v := range vs {
		msgs[i] = v.Description
	}
	x.geminiError(http.StatusBadRequest, strings.Join(msgs, "\n"), []any{map[string]any{
		"@type":           "type.googleapis.com/google.rpc.BadRequest",
		"fieldViolations": vs,
	}})
}

func (x *exchange) geminiNotFound() {
	x.geminiError(http.StatusNotFound, "Requested entity was not found.", nil)
}

// geminiStatusError answers Behavior.Status with Behavior.ErrorBody or the
// error the Gemini API sends for that status.
func (x *exchange) geminiStatusError(version, model string) {
	status := x.b.Status
	if x.b.ErrorBody != "" {
		x.geminiWriteRaw(status, []byte(x.b.ErrorBody))
		return
	}
	if model == "" {
		model = "gemini-2.5-flash"
	}
	if version == "" {
		version = "v1beta"
	}
	var msg string
	var details []any
	switch status {
	case http.StatusBadRequest:
		msg = "Request contains an invalid argument."
	case http.StatusUnauthorized:
		msg = "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
	case http.StatusForbidden:
		msg = "The caller does not have permission"
	case http.StatusNotFound:
		msg = fmt.Sprintf("models/%s is not found for API version %s, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.", model, version)
	case http.StatusTooManyRequests:
		delay := "7s"
		if ra, err := strconv.Atoi(x.b.Header.Get("Retry-After")); err == nil && ra >= 0 {
			delay = strconv.Itoa(ra) + "s"
		}
		msg = "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits."
		details = []any{
			map[string]any{
				"@type": "type.googleapis.com/google.rpc.QuotaFailure",
				"violations": []any{map[string]any{
					"quotaMetric":     "generativelanguage.googleapis.com/generate_content_free_tier_requests",
					"quotaId":         "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
					"quotaDimensions": map[string]string{"location": "global", "model": model},
					"quotaValue":      "10",
				}},
			},
			map[string]any{
				"@type": "type.googleapis.com/google.rpc.Help",
				"links": []any{map[string]string{"description": "Learn more about Gemini API quotas", "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}},
			},
			map[string]any{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay},
		}
	case http.StatusInternalServerError:
		msg = geminiInternalMessage
	case http.StatusServiceUnavailable:
		msg = "The model is overloaded. Please try again later."
	case http.StatusGatewayTimeout:
		msg = "Deadline expired before operation could complete."
	default:
		msg = http.StatusText(status)
	}
	x.geminiError(status, msg, details)
}

// Request checking.

// fieldViolation is one google.rpc.BadRequest.FieldViolation.
type fieldViolation struct {
	Field       string `json:"field,omitempty"`
	Description string `json:"description"`
}

// member is one member of a JSON object.
type member struct {
	name  string
	value json.RawMessage
}

// members decodes a JSON object into its members, in order.
func members(raw json.RawMessage) ([]member, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	var out []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		name, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		out = append(out, member{name, v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, false
	}
	return out, true
}

// Known member names. The API takes both the lowerCamelCase JSON names and
// the snake_case proto names; the value is the proto name, which error
// paths use.
var (
	geminiRequestFields = names("model", "contents", "tools", "toolConfig", "safetySettings",
		"systemInstruction", "generationConfig", "cachedContent", "serviceTier", "store")
	geminiContentFields = names("role", "parts")
	// geminiPartData are the members of the Part.data oneof.
	geminiPartData = names("text", "inlineData", "fileData", "functionCall", "functionResponse",
		"executableCode", "codeExecutionResult")
	geminiPartMeta    = names("thought", "thoughtSignature", "videoMetadata", "partMetadata", "mediaResolution")
	geminiBlobFields  = names("mimeType", "data")
	geminiCountFields = names("contents", "generateContentRequest")
)

// names maps each lowerCamelCase name and its snake_case form to the
// snake_case form.
func names(camel ...string) map[string]string {
	m := make(map[string]string, 2*len(camel))
	for _, c := range camel {
		var b strings.Builder
		for _, r := range c {
			if r >= 'A' && r <= 'Z' {
				b.WriteByte('_')
				r += 'a' - 'A'
			}
			b.WriteRune(r)
		}
		m[c], m[b.String()] = b.String(), b.String()
	}
	return m
}

// at joins a proto field path: at("", "contents") = "contents",
// at("contents[0]", "parts") = "contents[0].parts".
func at(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// unknownName is the violation of a member the message does not have.
func unknownName(path, name string) fieldViolation {
	if path == "" {
		return fieldViolation{Description: fmt.Sprintf("Invalid JSON payload received. Unknown name %q: Cannot find field.", name)}
	}
	return fieldViolation{Field: path, Description: fmt.Sprintf("Invalid JSON payload received. Unknown name %q at '%s': Cannot find field.", name, path)}
}

// invalidValue is the violation of a value of the wrong type.
func invalidValue(path, typ string, raw json.RawMessage) fieldViolation {
	return fieldViolation{Field: path, Description: fmt.Sprintf("Invalid value at '%s' (%s), %s", path, typ, bytes.TrimSpace(raw))}
}

// geminiCheck walks a request body, collecting the JSON violations (the
// API's "Invalid JSON payload received" errors, answered before anything
// else) and the semantic errors (its "* GenerateContentRequest..." lines).
type geminiCheck struct {
	version      string
	violations   []fieldViolation
	errs         []string
	badRole      bool
	hasFunctions bool
}

func (c *geminiCheck) typeURL(msg string) string {
	return "type.googleapis.com/google.ai.generativelanguage." + c.version + "." + msg
}

// object returns the members of an object value, recording a violation
// when the value is not an object (of proto message msg).
func (c *geminiCheck) object(path, msg string, raw json.RawMessage) ([]member, bool) {
	ms, ok := members(raw)
	if !ok {
		c.violations = append(c.violations, invalidValue(path, c.typeURL(msg), raw))
	}
	return ms, ok
}

// array returns the elements of an array value (null is empty).
func (c *geminiCheck) array(path, msg string, raw json.RawMessage) []json.RawMessage {
	if !present(raw) {
		return nil
	}
	var a []json.RawMessage
	if err := json.Unmarshal(raw, &a); err != nil {
		c.violations = append(c.violations, invalidValue(path, c.typeURL(msg), raw))
	}
	return a
}

// request checks a GenerateContentRequest at path ("" at the top).
func (c *geminiCheck) request(path string, raw json.RawMessage) {
	ms, ok := c.object(path, "GenerateContentRequest", raw)
	if !ok {
		return
	}
	var contents []json.RawMessage
	for _, m := range ms {
		name, known := geminiRequestFields[m.name]
		if !known {
			c.violations = append(c.violations, unknownName(path, m.name))
			continue
		}
		switch name {
		case "contents":
			contents = c.array(at(path, name), "Content", m.value)
			for i, content := range contents {
				c.content(fmt.Sprintf("%s[%d]", at(path, name), i), content, true)
			}
		case "system_instruction":
			if present(m.value) {
				c.content(at(path, name), m.value, false)
			}
		case "tools":
			for _, tool := range c.array(at(path, name), "Tool", m.value) {
				var t map[string]json.RawMessage
				if json.Unmarshal(tool, &t) == nil &&
					(nonEmptyArray(t["functionDeclarations"]) || nonEmptyArray(t["function_declarations"])) {
					c.hasFunctions = true
				}
			}
		}
	}
	if len(contents) == 0 {
		c.errs = append(c.errs, "* GenerateContentRequest.contents: contents is not specified\n")
	}
}

// content checks a Content; conversation turns must have parts and a role
// of user or model (or none).
func (c *geminiCheck) content(path string, raw json.RawMessage, turn bool) {
	ms, ok := c.object(path, "Content", raw)
	if !ok {
		return
	}
	var parts []json.RawMessage
	for _, m := range ms {
		name, known := geminiContentFields[m.name]
		if !known {
			c.violations = append(c.violations, unknownName(path, m.name))
			continue
		}
		switch name {
		case "role":
			var role string
			if err := json.Unmarshal(m.value, &role); err != nil && present(m.value) {
				c.violations = append(c.violations, invalidValue(at(path, name), "TYPE_STRING", m.value))
			} else if turn && role != "" && role != "user" && role != "model" {
				c.badRole = true
			}
		case "parts":
			parts = c.array(at(path, name), "Part", m.value)
			for i, p := range parts {
				c.part(fmt.Sprintf("%s[%d]", at(path, name), i), p)
			}
		}
	}
	if turn && len(parts) == 0 {
		c.errs = append(c.errs, fmt.Sprintf("* GenerateContentRequest.%s.parts: contents.parts must not be empty.\n", path))
	}
}

// part checks a Part: known members, exactly the data oneof set, text a
// string, inline data with base64 data.
func (c *geminiCheck) part(path string, raw json.RawMessage) {
	ms, ok := c.object(path, "Part", raw)
	if !ok {
		return
	}
	data := 0
	for _, m := range ms {
		if _, meta := geminiPartMeta[m.name]; meta {
			continue
		}
		name, known := geminiPartData[m.name]
		if !known {
			c.violations = append(c.violations, unknownName(path, m.name))
			continue
		}
		if present(m.value) {
			data++
		}
		switch name {
		case "text":
			var s string
			if err := json.Unmarshal(m.value, &s); err != nil && present(m.value) {
				c.violations = append(c.violations, invalidValue(at(path, name), "TYPE_STRING", m.value))
			}
		case "inline_data":
			c.blob(at(path, name), m.value)
		}
	}
	switch {
	case data == 0:
		c.errs = append(c.errs, fmt.Sprintf("* GenerateContentRequest.%s.data: required oneof field 'data' must have one initialized field\n", path))
	case data > 1:
		c.errs = append(c.errs, fmt.Sprintf("* GenerateContentRequest.%s.data: oneof field 'data' is already set. Cannot set 'data' more than once\n", path))
	}
}

// blob checks inline data: mimeType and base64 data (standard or URL-safe
// alphabet, padded or not, as proto JSON accepts).
func (c *geminiCheck) blob(path string, raw json.RawMessage) {
	ms, ok := c.object(path, "Blob", raw)
	if !ok {
		return
	}
	for _, m := range ms {
		name, known := geminiBlobFields[m.name]
		if !known {
			c.violations = append(c.violations, unknownName(path, m.name))
			continue
		}
		if name != "data" {
			continue
		}
		var s string
		if err := json.Unmarshal(m.value, &s); err != nil {
			c.violations = append(c.violations, invalidValue(at(path, name), "TYPE_BYTES", m.value))
		} else if !isBase64(s) {
			c.violations = append(c.violations, fieldViolation{Field: at(path, name),
				Description: fmt.Sprintf("Invalid value at '%s' (TYPE_BYTES), Base64 decoding failed for %q", at(path, name), s)})
		}
	}
}

func isBase64(s string) bool {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if _, err := enc.DecodeString(s); err == nil {
			return true
		}
	}
	return false
}

// answerCheck answers 400 for the first failing stage of the check, as the
// API does, and reports whether the request passed.
func (x *exchange) answerCheck(c *geminiCheck) bool {
	switch {
	case len(c.violations) > 0:
		x.geminiBadRequest(c.violations)
	case len(c.errs) > 0:
		x.geminiError(http.StatusBadRequest, strings.Join(c.errs, ""), nil)
	case c.badRole:
		x.geminiError(http.StatusBadRequest, "Please use a valid role: user, model.", nil)
	default:
		return true
	}
	return false
}

// parseGeminiBody checks the body as a JSON object, answering 400 when it
// is not one.
func (x *exchange) parseGeminiBody() (json.RawMessage, bool) {
	body := json.RawMessage(bytes.TrimSpace(x.body))
	if _, ok := members(body); !ok {
		const msg = "Invalid JSON payload received. Unexpected token."
		x.geminiBadRequest([]fieldViolation{{Description: msg}})
		return nil, false
	}
	return body, true
}

// Answers.

// geminiResponse is a GenerateContentResponse (and a stream chunk).
type geminiResponse struct {
	Candidates     []geminiCandidate     `json:"candidates,omitempty"`
	PromptFeedback *geminiPromptFeedback `json:"promptFeedback,omitempty"`
	UsageMetadata  geminiUsage           `json:"usageMetadata"`
	ModelVersion   string                `json:"modelVersion"`
	ResponseID     string                `json:"responseId"`
}

type geminiCandidate struct {
	Content       *geminiContent       `json:"content,omitempty"`
	FinishReason  string               `json:"finishReason,omitempty"`
	SafetyRatings []geminiSafetyRating `json:"safetyRatings,omitempty"`
	Index         int                  `json:"index"`
}

type geminiContent struct {
	Parts []geminiPart `json:"parts"`
	Role  string       `json:"role"`
}

type geminiPart struct {
	Text         *string             `json:"text,omitempty"`
	FunctionCall *geminiFunctionCall `json:"functionCall,omitempty"`
}

type geminiFunctionCall struct {
	ID   string          `json:"id,omitempty"`
	Name string          `json:"name"`
	Args json.RawMessage `json:"args"`
}

type geminiPromptFeedback struct {
	BlockReason   string               `json:"blockReason"`
	SafetyRatings []geminiSafetyRating `json:"safetyRatings,omitempty"`
}

type geminiSafetyRating struct {
	Category    string `json:"category"`
	Probability string `json:"probability"`
	Blocked     bool   `json:"blocked,omitempty"`
}

// geminiUsage is a UsageMetadata. Like every proto3 JSON answer, it leaves
// out the counts that are 0.
type geminiUsage struct {
	PromptTokenCount        int                   `json:"promptTokenCount,omitempty"`
	CandidatesTokenCount    int                   `json:"candidatesTokenCount,omitempty"`
	CachedContentTokenCount int                   `json:"cachedContentTokenCount,omitempty"`
	TotalTokenCount         int                   `json:"totalTokenCount,omitempty"`
	PromptTokensDetails     []geminiModalityCount `json:"promptTokensDetails,omitempty"`
	CacheTokensDetails      []geminiModalityCount `json:"cacheTokensDetails,omitempty"`
	ThoughtsTokenCount      int                   `json:"thoughtsTokenCount,omitempty"`
}

type geminiModalityCount struct {
	Modality   string `json:"modality"`
	TokenCount int    `json:"tokenCount"`
}

// geminiUsage is the usage with candidates output tokens so far.
func (b Behavior) geminiUsage(candidates int) geminiUsage {
	in, cached, thoughts := b.inputTokens(), b.cachedTokens(), max(b.ReasoningTokens, 0)
	u := geminiUsage{
		PromptTokenCount:        in,
		CandidatesTokenCount:    candidates,
		CachedContentTokenCount: cached,
		TotalTokenCount:         in + candidates + thoughts,
		ThoughtsTokenCount:      thoughts,
	}
	if in > 0 {
		u.PromptTokensDetails = []geminiModalityCount{{"TEXT", in}}
	}
	if cached > 0 {
		u.CacheTokensDetails = []geminiModalityCount{{"TEXT", cached}}
	}
	return u
}

// withholding reports whether a finish reason withholds the answer.
func withholding(reason string) bool {
	switch reason {
	case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY":
		return true
	}
	return false
}

// geminiSafetyRatings are the ratings of content blocked for safety: one
// category rated HIGH and blocked, the others NEGLIGIBLE.
func geminiSafetyRatings() []geminiSafetyRating {
	return []geminiSafetyRating{
		{Category: "HARM_CATEGORY_SEXUALLY_EXPLICIT", Probability: "NEGLIGIBLE"},
		{Category: "HARM_CATEGORY_HATE_SPEECH", Probability: "HIGH", Blocked: true},
		{Category: "HARM_CATEGORY_HARASSMENT", Probability: "NEGLIGIBLE"},
		{Category: "HARM_CATEGORY_DANGEROUS_CONTENT", Probability: "NEGLIGIBLE"},
	}
}

// generateContent answers models.generateContent and, when stream,
// models.streamGenerateContent: with ?alt=sse as server-sent events,
// otherwise as a JSON array of the chunks, written at once (CutAfter,
// ErrorAfter and ChunkDelay apply to the SSE form only).
func (x *exchange) generateContent(version, model string, stream bool) {
	body, ok := x.parseGeminiBody()
	if !ok {
		return
	}
	c := &geminiCheck{version: version}
	c.request("", body)
	if !x.answerCheck(c) {
		return
	}
	chunks := x.geminiChunks(model, stream, c.hasFunctions)
	switch {
	case !stream:
		x.geminiWrite(http.StatusOK, chunks[0])
	case x.r.URL.Query().Get("alt") == "sse":
		x.header("", x.geminiHeaders("text/event-stream"))
		x.w.Header().Set("Content-Disposition", "attachment")
		x.w.WriteHeader(http.StatusOK)
		_ = http.NewResponseController(x.w).Flush()
		for _, ch := range chunks {
			if x.event("", ch) != nil {
				return
			}
		}
	default:
		parts := make([][]byte, len(chunks))
		for i, ch := range chunks {
			parts[i], _ = json.MarshalIndent(ch, "", "  ")
		}
		x.geminiWriteRaw(http.StatusOK, append(append([]byte("["), bytes.Join(parts, []byte("\n,\r\n"))...), "]"...))
	}
}

// geminiChunks builds the answer: one response when !stream, else the
// stream's chunks. Every chunk carries usageMetadata with the prompt
// counts and the candidates tokens so far; the last has the finishReason
// and the full usage.
func (x *exchange) geminiChunks(model string, stream, hasFunctions bool) []geminiResponse {
	b := x.b
	id := randomID("", 23)
	chunk := func(cands []geminiCandidate, u geminiUsage) geminiResponse {
		return geminiResponse{Candidates: cands, UsageMetadata: u, ModelVersion: model, ResponseID: id}
	}
	out := b.outputTokens()
	if b.BlockReason != "" {
		u := b.geminiUsage(0)
		r := chunk(nil, u)
		r.PromptFeedback = &geminiPromptFeedback{BlockReason: b.BlockReason}
		if b.BlockReason == "SAFETY" {
			r.PromptFeedback.SafetyRatings = geminiSafetyRatings()
		}
		return []geminiResponse{r}
	}
	reason := b.FinishReason
	if reason == "" {
		reason = "STOP"
	}
	var ratings []geminiSafetyRating
	if reason == "SAFETY" {
		ratings = geminiSafetyRatings()
	}
	content := func(parts ...geminiPart) *geminiContent { return &geminiContent{Parts: parts, Role: "model"} }

	var pieces []geminiPart
	if b.ToolCall != nil && hasFunctions {
		tc := b.ToolCall
		args := json.RawMessage(tc.Arguments)
		if !isJSONObject(args) {
			args = json.RawMessage("{}")
		}
		pieces = []geminiPart{{FunctionCall: &geminiFunctionCall{ID: tc.ID, Name: tc.Name, Args: args}}}
	} else if !stream {
		text := b.reply()
		pieces = []geminiPart{{Text: &text}}
	} else {
		for _, s := range splitText(b.reply()) {
			pieces = append(pieces, geminiPart{Text: &s})
		}
	}
	if !stream {
		cand := geminiCandidate{Content: content(pieces...), FinishReason: reason, SafetyRatings: ratings}
		if withholding(reason) {
			cand.Content = nil
		}
		return []geminiResponse{chunk([]geminiCandidate{cand}, b.geminiUsage(out))}
	}
	var chunks []geminiResponse
	for i, p := range pieces {
		cand := geminiCandidate{Content: content(p)}
		last := i == len(pieces)-1
		if last && !withholding(reason) {
			cand.FinishReason, cand.SafetyRatings = reason, ratings
		}
		chunks = append(chunks, chunk([]geminiCandidate{cand}, b.geminiUsage(out*(i+1)/len(pieces))))
	}
	if withholding(reason) {
		cand := geminiCandidate{FinishReason: reason, SafetyRatings: ratings}
		chunks = append(chunks, chunk([]geminiCandidate{cand}, b.geminiUsage(out)))
	}
	return chunks
}

func isJSONObject(raw json.RawMessage) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal(raw, &m) == nil && m != nil
}

// geminiCountTokens answers models.countTokens: {"totalTokens":
// InputTokens, ...}. The body holds contents or a generateContentRequest.
func (x *exchange) geminiCountTokens(version, model string) {
	body, ok := x.parseGeminiBody()
	if !ok {
		return
	}
	c := &geminiCheck{version: version}
	ms, _ := members(body)
	for _, m := range ms {
		name, known := geminiCountFields[m.name]
		switch {
		case !known:
			c.violations = append(c.violations, unknownName("", m.name))
		case name == "contents":
			for i, content := range c.array(name, "Content", m.value) {
				c.content(fmt.Sprintf("contents[%d]", i), content, true)
			}
		case name == "generate_content_request":
			c.request(name, m.value)
		}
	}
	if !x.answerCheck(c) {
		return
	}
	in, cached := x.b.inputTokens(), x.b.cachedTokens()
	resp := struct {
		TotalTokens             int                   `json:"totalTokens"`
		CachedContentTokenCount int                   `json:"cachedContentTokenCount,omitempty"`
		PromptTokensDetails     []geminiModalityCount `json:"promptTokensDetails,omitempty"`
		CacheTokensDetails      []geminiModalityCount `json:"cacheTokensDetails,omitempty"`
	}{TotalTokens: in, CachedContentTokenCount: cached}
	if in > 0 {
		resp.PromptTokensDetails = []geminiModalityCount{{"TEXT", in}}
	}
	if cached > 0 {
		resp.CacheTokensDetails = []geminiModalityCount{{"TEXT", cached}}
	}
	x.geminiWrite(http.StatusOK, resp)
}

// defaultGeminiModels are the models listed when Behavior.Models is empty.
var defaultGeminiModels = []string{"gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.5-flash-lite"}

// geminiModelInfo is a Model resource.
type geminiModelInfo struct {
	Name                       string   `json:"name"`
	Version                    string   `json:"version"`
	DisplayName                string   `json:"displayName"`
	Description                string   `json:"description"`
	InputTokenLimit            int      `json:"inputTokenLimit"`
	OutputTokenLimit           int      `json:"outputTokenLimit"`
	SupportedGenerationMethods []string `json:"supportedGenerationMethods"`
	Temperature                float64  `json:"temperature"`
	TopP                       float64  `json:"topP"`
	TopK                       int      `json:"topK"`
	MaxTemperature             float64  `json:"maxTemperature"`
	Thinking                   bool     `json:"thinking"`
}

func geminiModelOf(id string) geminiModelInfo {
	return geminiModelInfo{
		Name: "models/" + id, Version: "001", DisplayName: id, Description: "A fake Gemini model.",
		InputTokenLimit: 1048576, OutputTokenLimit: 65536,
		SupportedGenerationMethods: []string{"generateContent", "countTokens", "createCachedContent", "batchGenerateContent"},
		Temperature:                1, TopP: 0.95, TopK: 64, MaxTemperature: 2, Thinking: true,
	}
}

// geminiModelIDs are the ids of the models served, without "models/".
func (x *exchange) geminiModelIDs() []string {
	ids := x.modelIDs(defaultGeminiModels)
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = strings.TrimPrefix(id, "models/")
	}
	return out
}

// geminiModels answers GET models.
func (x *exchange) geminiModels() {
	list := struct {
		Models []geminiModelInfo `json:"models"`
	}{Models: []geminiModelInfo{}}
	for _, id := range x.geminiModelIDs() {
		list.Models = append(list.Models, geminiModelOf(id))
	}
	x.geminiWrite(http.StatusOK, list)
}

// geminiModel answers GET models/{model}.
func (x *exchange) geminiModel(version, id string) {
	for _, m := range x.geminiModelIDs() {
		if m == id {
			x.geminiWrite(http.StatusOK, geminiModelOf(id))
			return
		}
	}
	x.geminiError(http.StatusNotFound, fmt.Sprintf("models/%s is not found for API version %s, or is not supported for getModel.", id, version), nil)
}
