package fakeprovider

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Dialect names the wire format a fake [Server] speaks.
type Dialect string

// The dialects a fake [Server] can speak.
const (
	// OpenAI is the OpenAI REST API (https://api.openai.com/v1).
	OpenAI Dialect = "openai"
	// Azure is the Azure OpenAI data-plane inference API, both the dated
	// deployment paths (/openai/deployments/{id}/...?api-version=) and the
	// v1 paths (/openai/v1/...).
	Azure Dialect = "azure"
	// Anthropic is the Anthropic Messages API (https://api.anthropic.com/v1).
	Anthropic Dialect = "anthropic"
	// Gemini is the Gemini Developer API
	// (https://generativelanguage.googleapis.com/v1beta), also served under
	// /v1.
	Gemini Dialect = "gemini"
)

// Defaults used for the zero fields of a [Behavior].
const (
	// DefaultReply is the assistant text answered when Behavior.Reply is empty.
	DefaultReply = "Hello from the fake provider."
	// DefaultInputTokens is the input (prompt) token count reported when
	// Behavior.InputTokens is 0.
	DefaultInputTokens = 11
	// DefaultOutputTokens is the output (completion) token count reported when
	// Behavior.OutputTokens is 0.
	DefaultOutputTokens = 7
	// DefaultEmbeddingDimensions is the length of the vectors returned by the
	// embeddings endpoints when the request has no "dimensions".
	DefaultEmbeddingDimensions = 8
)

// Behavior says how a fake [Server] answers. The zero value answers every
// well-formed request successfully with [DefaultReply]. Tests may change it
// at any time with [Server.Set]; a request uses the Behavior current when it
// arrived.
type Behavior struct {
	// Reply is the assistant text. Empty means [DefaultReply]. Streams send
	// it as several deltas, split before each space (the spaces are kept, so
	// the deltas concatenate to Reply).
	Reply string
	// ToolCall, when non-nil and the request declares tools, makes the model
	// answer with this single tool call instead of text (finish_reason
	// "tool_calls" for chat completions, a function_call output item for the
	// Responses API, stop_reason "tool_use" for Anthropic, a functionCall
	// part with finishReason "STOP" for Gemini, whose requests declare tools
	// as tools[].functionDeclarations).
	ToolCall *ToolCall
	// InputTokens, OutputTokens and CachedTokens are the usage reported.
	// 0 means the default (11, 7 and 0); a negative value reports 0.
	//
	// They land in each dialect's own fields, unchanged: OpenAI/Azure chat
	// prompt_tokens / completion_tokens / prompt_tokens_details.cached_tokens;
	// Responses input_tokens / output_tokens / input_tokens_details.cached_tokens;
	// Anthropic input_tokens / output_tokens / cache_read_input_tokens (and
	// count_tokens answers InputTokens); Gemini promptTokenCount /
	// candidatesTokenCount / cachedContentTokenCount (Gemini's prompt count
	// includes the cached tokens, so set InputTokens >= CachedTokens there).
	InputTokens, OutputTokens, CachedTokens int
	// ReasoningTokens are the thinking tokens reported besides
	// OutputTokens: Gemini's thoughtsTokenCount (also added to its
	// totalTokenCount). 0 reports none. Only the Gemini dialect uses it.
	ReasoningTokens int
	// BlockReason, when set, makes a Gemini model refuse the prompt: the
	// answer (200, or a single stream chunk) has no candidates and a
	// promptFeedback with this blockReason ("SAFETY", "OTHER",
	// "BLOCKLIST", "PROHIBITED_CONTENT", "IMAGE_SAFETY"), and usage
	// counting only the prompt. Other dialects ignore it.
	BlockReason string
	// FinishReason, when set, replaces the finishReason of a Gemini
	// candidate ("STOP", or the tool call's "STOP", by default): for
	// example "MAX_TOKENS", or "SAFETY" for an answer stopped by the
	// safety filters. For the reasons that withhold the answer (SAFETY,
	// RECITATION, BLOCKLIST, PROHIBITED_CONTENT, SPII, IMAGE_SAFETY) a
	// whole answer's candidate has no content, and a stream sends the text
	// and then a last chunk with the reason and no content. Other dialects
	// ignore it.
	FinishReason string
	// Status, when >= 400, makes every authenticated request fail with this
	// HTTP status. The body is ErrorBody when set, else the dialect's
	// documented error body for that status.
	Status int
	// ErrorBody is the raw body sent with Status (Content-Type application/json).
	ErrorBody string
	// Header holds extra response headers (for example Retry-After). They are
	// set on every response, replacing a default header of the same name.
	Header http.Header
	// FirstByteDelay is slept before anything is written (including errors).
	// It ends early when the client goes away.
	FirstByteDelay time.Duration
	// ChunkDelay is slept between two stream events. It ends early when the
	// client goes away.
	ChunkDelay time.Duration
	// CutAfter, when > 0, cuts a stream after this many SSE events (every
	// event counts, including pings, Azure's prompt-filter chunk and
	// "data: [DONE]"): the connection is closed abruptly, without the final
	// events or the end of the chunked body. A stream with no more events
	// than CutAfter is not cut.
	CutAfter int
	// ErrorAfter, when > 0, ends a stream after this many SSE events with
	// the error event the provider documents for a failure mid-stream,
	// then closes the body normally: Anthropic's `event: error` with an
	// overloaded_error, OpenAI's and Azure's `data: {"error": {...}}`
	// chunk (a server_error), Gemini's `data: {"error": {...}}` chunk in
	// the API's error shape (code 500, status INTERNAL), which is how the
	// API reports a failure after the stream started and the SDKs read it.
	// A stream with no more events than ErrorAfter is not affected.
	ErrorAfter int
	// Hang makes the server never answer: the handler waits until the client
	// goes away (counted by [Server.Canceled]) or the server is closed.
	Hang bool
	// ResetConn makes the server close the connection as soon as the
	// request is read, without an answer (a connection reset for the
	// client).
	ResetConn bool
	// FailFirst, when > 0, applies Status, ResetConn and Hang only to the
	// first FailFirst requests after Set; later requests are answered
	// normally. It models a provider's bad moment, for retry tests.
	FailFirst int
	// FailRate, when > 0, applies Status, ResetConn and Hang to each
	// request with this probability (0..1), at random; the others are
	// answered normally. It models a flaky provider.
	FailRate float64
	// Models lists the model ids answered by the models endpoints. Empty
	// means a small default list for the dialect.
	Models []string
}

// ToolCall is the function call a fake model makes when Behavior.ToolCall is
// set and the request declares tools.
type ToolCall struct {
	// ID is the tool call id (OpenAI "call_...", Anthropic "toolu_...");
	// empty means a generated one. Gemini sends it as functionCall.id
	// only when set: the Gemini API names calls by function name.
	ID string
	// Name is the function (tool) name.
	Name string
	// Arguments is the JSON object string of the arguments; empty means "{}".
	Arguments string
}

// Request is one HTTP request received by a fake [Server].
type Request struct {
	// Method is the HTTP method.
	Method string
	// Path is the unescaped URL path.
	Path string
	// RawPath is the escaped URL path as sent on the wire
	// (url.URL.EscapedPath), so it is never empty.
	RawPath string
	// RawQuery is the encoded query without '?'.
	RawQuery string
	// Header holds the request headers (net/http moves Host to the request,
	// so it is not among them).
	Header http.Header
	// Body is the full request body.
	Body []byte
}

// Decode unmarshals the request body as JSON into v.
func (r Request) Decode(v any) error { return json.Unmarshal(r.Body, v) }

// Server is a fake LLM provider listening on a loopback httptest server.
// All methods are safe for concurrent use.
type Server struct {
	// URL is the base URL to configure a client or gateway with:
	// "<srv>/v1" for OpenAI, "<srv>" for Azure, for Anthropic (whose SDK
	// appends /v1 itself) and for Gemini (whose SDK appends /v1beta).
	URL string
	// Root is the httptest server's URL ("http://127.0.0.1:port"), without
	// any path.
	Root string
	// Dialect is the wire format this server speaks.
	Dialect Dialect

	t    testing.TB
	key  string
	srv  *httptest.Server
	done chan struct{}

	mu       sync.Mutex
	behavior Behavior
	sinceSet int // requests received since the last Set
	requests []Request
	files    map[string]*storedFile // the files API's uploads
	canceled int
	open     int
}

// New starts a fake provider of dialect d on a loopback httptest server and
// registers a t.Cleanup that stops it. key is the credential every request
// must carry: "Authorization: Bearer <key>" for OpenAI, "api-key: <key>" for
// Azure (the /openai/v1 paths also accept "Authorization: Bearer <key>"),
// "x-api-key: <key>" for Anthropic, and "x-goog-api-key: <key>" (or the
// ?key= query parameter) for Gemini. A missing or wrong key is answered 401
// in the dialect's documented error shape; Gemini, like the real API,
// answers a wrong key 400 INVALID_ARGUMENT (API_KEY_INVALID) and a missing
// one 403 PERMISSION_DENIED.
func New(t testing.TB, d Dialect, key string) *Server {
	t.Helper()
	s := &Server{Dialect: d, t: t, key: key, done: make(chan struct{})}
	var h func(*exchange)
	switch d {
	case OpenAI:
		h = s.serveOpenAI
	case Azure:
		h = s.serveAzure
	case Anthropic:
		h = s.serveAnthropic
	case Gemini:
		h = s.serveGemini
	default:
		t.Fatalf("fakeprovider: unknown dialect %q", d)
	}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.serve(w, r, h)
	}))
	s.Root = s.srv.URL
	s.URL = s.srv.URL
	if d == OpenAI {
		s.URL += "/v1"
	}
	t.Cleanup(s.close)
	return s
}

func (s *Server) close() {
	close(s.done)
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// Set replaces the Behavior used for the requests that arrive from now on.
func (s *Server) Set(b Behavior) {
	b.Header = b.Header.Clone()
	b.Models = append([]string(nil), b.Models...)
	if b.ToolCall != nil {
		tc := *b.ToolCall
		if tc.Arguments != "" && !json.Valid([]byte(tc.Arguments)) {
			s.t.Errorf("fakeprovider: ToolCall.Arguments is not valid JSON: %q", tc.Arguments)
		}
		b.ToolCall = &tc
	}
	s.mu.Lock()
	s.behavior = b
	s.sinceSet = 0
	s.mu.Unlock()
}

// Requests returns a copy of every request received since New or the last
// Reset, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		out[i] = r.clone()
	}
	return out
}

// LastRequest returns a copy of the last request received. It fails the test
// (t.Fatalf on the t given to New) when there is none, so call it from the
// test's goroutine.
func (s *Server) LastRequest() Request {
	s.t.Helper()
	s.mu.Lock()
	n := len(s.requests)
	var r Request
	if n > 0 {
		r = s.requests[n-1].clone()
	}
	s.mu.Unlock()
	if n == 0 {
		s.t.Fatalf("fakeprovider: %s server received no request", s.Dialect)
	}
	return r
}

// Reset forgets the requests received so far. Canceled and Open are not
// reset.
func (s *Server) Reset() {
	s.mu.Lock()
	s.requests = nil
	s.mu.Unlock()
}

// Canceled reports how many requests ended because the client went away
// while the server was still answering (waiting in Hang, FirstByteDelay or
// ChunkDelay, or writing a stream). A stream cut by CutAfter is not counted.
func (s *Server) Canceled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.canceled
}

// Open reports how many requests are being served right now.
func (s *Server) Open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.open
}

// WaitCanceled waits up to timeout for Canceled to reach at least n and
// reports whether it did. The server notices a client going away
// asynchronously, so tests should wait rather than read Canceled at once.
func (s *Server) WaitCanceled(n int, timeout time.Duration) bool {
	return s.waitFor(timeout, func() bool { return s.Canceled() >= n })
}

// WaitIdle waits up to timeout until no request is being served and reports
// whether that happened.
func (s *Server) WaitIdle(timeout time.Duration) bool {
	return s.waitFor(timeout, func() bool { return s.Open() == 0 })
}

func (s *Server) waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (r Request) clone() Request {
	r.Header = r.Header.Clone()
	r.Body = bytes.Clone(r.Body)
	return r
}

// exchange is one request being answered.
type exchange struct {
	s   *Server
	w   http.ResponseWriter
	r   *http.Request
	ctx context.Context
	b   Behavior
	// body is the request body.
	body []byte
	// requestID is the Anthropic request id (request-id header and the
	// request_id of error bodies).
	requestID string
	// events counts the SSE events written; cut is set when CutAfter
	// stopped the stream; gone when the client went away.
	events int
	cut    bool
	gone   bool
	failed bool // ErrorAfter ended the stream with an error event
}

// errCanceled reports that the client went away or the server is closing.
var errCanceled = errors.New("fakeprovider: request canceled")

func (s *Server) serve(w http.ResponseWriter, r *http.Request, h func(*exchange)) {
	s.mu.Lock()
	s.open++
	b := s.behavior
	s.sinceSet++
	if b.FailFirst > 0 && s.sinceSet > b.FailFirst || b.FailRate > 0 && mrand.Float64() >= b.FailRate {
		b.Status, b.ResetConn, b.Hang = 0, false, false
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.open--
		s.mu.Unlock()
	}()

	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.requests = append(s.requests, Request{
		Method:   r.Method,
		Path:     r.URL.Path,
		RawPath:  r.URL.EscapedPath(),
		RawQuery: r.URL.RawQuery,
		Header:   r.Header.Clone(),
		Body:     body,
	})
	s.mu.Unlock()

	x := &exchange{s: s, w: w, r: r, ctx: r.Context(), b: b, body: body}
	defer func() {
		if x.gone {
			s.mu.Lock()
			s.canceled++
			s.mu.Unlock()
		}
		if x.cut {
			// Abort the response: net/http closes the connection without
			// terminating the chunked body, as a dropped upstream would.
			panic(http.ErrAbortHandler)
		}
	}()

	if b.ResetConn {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				if tc, ok := conn.(interface{ SetLinger(int) error }); ok {
					tc.SetLinger(0) // RST, not FIN
				}
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	if b.Hang {
		select {
		case <-x.ctx.Done():
			x.markGone()
		case <-s.done:
		}
		return
	}
	if b.FirstByteDelay > 0 && x.sleep(b.FirstByteDelay) != nil {
		return
	}
	h(x)
}

// sleep waits d, returning errCanceled early when the client goes away
// (which marks the exchange gone) or the server closes.
func (x *exchange) sleep(d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-x.ctx.Done():
		x.markGone()
		return errCanceled
	case <-x.s.done:
		return errCanceled
	}
}

// header sets the default headers of a response, then Behavior.Header.
func (x *exchange) header(contentType string, defaults http.Header) {
	h := x.w.Header()
	for k, v := range defaults {
		h[k] = v
	}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	for k, v := range x.b.Header {
		h[http.CanonicalHeaderKey(k)] = append([]string(nil), v...)
	}
}

// writeJSON answers status with v marshaled as JSON.
func (x *exchange) writeJSON(status int, defaults http.Header, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("fakeprovider: marshal response: %v", err))
	}
	x.writeRaw(status, defaults, data)
}

// writeRaw answers status with a JSON body.
func (x *exchange) writeRaw(status int, defaults http.Header, body []byte) {
	x.header("application/json", defaults)
	x.w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	x.w.WriteHeader(status)
	_, _ = x.w.Write(body)
}

// startStream writes the headers of a text/event-stream response.
func (x *exchange) startStream(defaults http.Header) {
	x.header("text/event-stream; charset=utf-8", defaults)
	x.w.Header().Set("Cache-Control", "no-cache")
	x.w.WriteHeader(http.StatusOK)
	_ = http.NewResponseController(x.w).Flush()
}

// event writes one SSE event ("event: name\n" only when name is not empty,
// then "data: <data>\n\n"; Gemini ends its lines with "\r\n", as the API
// does) and flushes it. data is marshaled as JSON unless
// it is a string, written as is. It sleeps ChunkDelay before every event but
// the first, and returns errCanceled when the stream must stop: the client
// went away, the server is closing, or CutAfter events were already written.
func (x *exchange) event(name string, data any) error {
	if x.gone || x.cut || x.failed {
		return errCanceled
	}
	if x.b.CutAfter > 0 && x.events >= x.b.CutAfter {
		x.cut = true
		return errCanceled
	}
	if x.b.ErrorAfter > 0 && x.events >= x.b.ErrorAfter {
		x.b.ErrorAfter = 0 // the error event itself is written below
		switch x.s.Dialect {
		case Anthropic:
			x.event("error", map[string]any{"type": "error", "error": map[string]any{"type": "overloaded_error", "message": "Overloaded"}})
		case Gemini:
			x.event("", geminiErrorBody(http.StatusInternalServerError, geminiInternalMessage, nil))
		default:
			x.event("", map[string]any{"error": map[string]any{"message": "The server had an error while processing your request. Sorry about that!",
				"type": "server_error", "param": nil, "code": nil}})
		}
		x.failed = true
		return errCanceled
	}
	if x.events > 0 && x.b.ChunkDelay > 0 {
		if err := x.sleep(x.b.ChunkDelay); err != nil {
			return err
		}
	}
	if x.ctx.Err() != nil {
		x.markGone()
		return errCanceled
	}
	var payload []byte
	switch d := data.(type) {
	case string:
		payload = []byte(d)
	default:
		var err error
		if payload, err = json.Marshal(d); err != nil {
			panic(fmt.Sprintf("fakeprovider: marshal event: %v", err))
		}
	}
	eol := "\n"
	if x.s.Dialect == Gemini {
		eol = "\r\n"
	}
	var buf bytes.Buffer
	if name != "" {
		buf.WriteString("event: ")
		buf.WriteString(name)
		buf.WriteString(eol)
	}
	buf.WriteString("data: ")
	buf.Write(payload)
	buf.WriteString(eol + eol)
	x.events++
	_, err := x.w.Write(buf.Bytes())
	if err == nil {
		err = http.NewResponseController(x.w).Flush()
	}
	if err != nil {
		x.markGone()
		return errCanceled
	}
	return nil
}

// markGone records that the client went away, unless the server is closing.
func (x *exchange) markGone() {
	select {
	case <-x.s.done:
	default:
		x.gone = true
	}
}

// reply is the assistant text of a Behavior.
func (b Behavior) reply() string {
	if b.Reply == "" {
		return DefaultReply
	}
	return b.Reply
}

func tokens(v, def int) int {
	switch {
	case v < 0:
		return 0
	case v == 0:
		return def
	}
	return v
}

func (b Behavior) inputTokens() int  { return tokens(b.InputTokens, DefaultInputTokens) }
func (b Behavior) outputTokens() int { return tokens(b.OutputTokens, DefaultOutputTokens) }
func (b Behavior) cachedTokens() int { return tokens(b.CachedTokens, 0) }

// toolCall returns the tool call to answer with, or nil when the model
// answers text (no ToolCall configured, or the request declares no tools).
func (b Behavior) toolCall(tools json.RawMessage) *ToolCall {
	if b.ToolCall == nil || !nonEmptyArray(tools) {
		return nil
	}
	tc := *b.ToolCall
	if tc.Arguments == "" {
		tc.Arguments = "{}"
	}
	return &tc
}

func nonEmptyArray(raw json.RawMessage) bool {
	var a []json.RawMessage
	return json.Unmarshal(raw, &a) == nil && len(a) > 0
}

// splitText splits s before each space, keeping the spaces, so that the
// pieces concatenate to s: "Hello from x" -> "Hello", " from", " x".
func splitText(s string) []string {
	var out []string
	start := 0
	for i := 1; i < len(s); i++ {
		if s[i] == ' ' && s[i-1] != ' ' {
			out = append(out, s[start:i])
			start = i
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// splitArgs splits a JSON arguments string into a few pieces of at most n
// bytes (on UTF-8 boundaries), as providers stream tool arguments.
func splitArgs(s string, n int) []string {
	var out []string
	for len(s) > n {
		i := n
		for i > 0 && !utf8Start(s[i]) {
			i--
		}
		if i == 0 {
			i = n
		}
		out = append(out, s[:i])
		s = s[i:]
	}
	if s != "" {
		out = append(out, s)
	}
	return out
}

func utf8Start(c byte) bool { return c&0xC0 != 0x80 }

// randomID returns prefix followed by n random characters from the
// alphabet providers use in ids.
func randomID(prefix string, n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return prefix + string(b)
}

// randomHex returns prefix followed by 2n random hex digits.
func randomHex(prefix string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// randomUUID returns a random (version 4) UUID string.
func randomUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// bearer returns the token of an "Authorization: Bearer <token>" header.
func bearer(h http.Header) (string, bool) {
	v := h.Get("Authorization")
	scheme, token, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(token), true
}

// jsonString returns s as a JSON string literal.
func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

var (
	jsonNull   = json.RawMessage("null")
	emptyArray = json.RawMessage("[]")
)

// requestBody holds the request fields the fakes look at.
type requestBody struct {
	Model         string `json:"model"`
	Stream        bool   `json:"stream"`
	StreamOptions *struct {
		IncludeUsage       bool  `json:"include_usage"`
		IncludeObfuscation *bool `json:"include_obfuscation"`
	} `json:"stream_options"`
	Tools              json.RawMessage `json:"tools"`
	Messages           json.RawMessage `json:"messages"`
	Input              json.RawMessage `json:"input"`
	Instructions       json.RawMessage `json:"instructions"`
	MaxOutputTokens    json.RawMessage `json:"max_output_tokens"`
	MaxTokens          json.RawMessage `json:"max_tokens"`
	EncodingFormat     string          `json:"encoding_format"`
	Dimensions         int             `json:"dimensions"`
	Metadata           json.RawMessage `json:"metadata"`
	PreviousResponseID string          `json:"previous_response_id"`
	Temperature        json.RawMessage `json:"temperature"`
	TopP               json.RawMessage `json:"top_p"`
	ToolChoice         json.RawMessage `json:"tool_choice"`
}

// parseBody decodes a JSON object request body.
func parseBody(body []byte) (requestBody, error) {
	var rb requestBody
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return rb, errors.New("request body is not a JSON object")
	}
	err := json.Unmarshal(trimmed, &rb)
	return rb, err
}

// present reports whether a raw JSON field was sent and is not null.
func present(raw json.RawMessage) bool {
	return len(raw) > 0 && !bytes.Equal(bytes.TrimSpace(raw), jsonNull)
}
