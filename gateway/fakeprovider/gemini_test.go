package fakeprovider_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/fakeprovider"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/meter"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/sse"
)

const geminiKey = "AIzaSyFake-0123456789abcdefghijklmno"

// The Gemini JSON shapes, as the Gen AI SDK (google.golang.org/genai
// types.go) declares them.
type (
	gPart struct {
		Text         string `json:"text,omitempty"`
		Thought      bool   `json:"thought,omitempty"`
		FunctionCall *struct {
			ID   string          `json:"id,omitempty"`
			Name string          `json:"name"`
			Args json.RawMessage `json:"args"`
		} `json:"functionCall,omitempty"`
	}
	gContent struct {
		Parts []gPart `json:"parts"`
		Role  string  `json:"role"`
	}
	gSafetyRating struct {
		Category    string `json:"category"`
		Probability string `json:"probability"`
		Blocked     bool   `json:"blocked"`
	}
	gCandidate struct {
		Content       *gContent       `json:"content"`
		FinishReason  string          `json:"finishReason"`
		SafetyRatings []gSafetyRating `json:"safetyRatings"`
		Index         *int            `json:"index"`
	}
	gModalityCount struct {
		Modality   string `json:"modality"`
		TokenCount int    `json:"tokenCount"`
	}
	gCounts struct {
		PromptTokenCount        int `json:"promptTokenCount"`
		CandidatesTokenCount    int `json:"candidatesTokenCount"`
		CachedContentTokenCount int `json:"cachedContentTokenCount"`
		ThoughtsTokenCount      int `json:"thoughtsTokenCount"`
		TotalTokenCount         int `json:"totalTokenCount"`
	}
	gUsage struct {
		gCounts
		PromptTokensDetails []gModalityCount `json:"promptTokensDetails"`
		CacheTokensDetails  []gModalityCount `json:"cacheTokensDetails"`
	}
	gResponse struct {
		Candidates     []gCandidate `json:"candidates"`
		PromptFeedback *struct {
			BlockReason   string          `json:"blockReason"`
			SafetyRatings []gSafetyRating `json:"safetyRatings"`
		} `json:"promptFeedback"`
		UsageMetadata *gUsage `json:"usageMetadata"`
		ModelVersion  string  `json:"modelVersion"`
		ResponseID    string  `json:"responseId"`
	}
	gError struct {
		Error struct {
			Code    int              `json:"code"`
			Message string           `json:"message"`
			Status  string           `json:"status"`
			Details []map[string]any `json:"details"`
		} `json:"error"`
	}
)

// text is the concatenated text of the first candidate.
func (r gResponse) text() string {
	var b strings.Builder
	if len(r.Candidates) > 0 && r.Candidates[0].Content != nil {
		for _, p := range r.Candidates[0].Content.Parts {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

func geminiHeader(key string) http.Header { return http.Header{"x-goog-api-key": {key}} }

const (
	geminiHello = `{"contents":[{"role":"user","parts":[{"text":"Say hello"}]}]}`
	geminiTools = `{"contents":[{"role":"user","parts":[{"text":"Weather in Paris?"}]}],
		"tools":[{"functionDeclarations":[{"name":"get_weather","parameters":{"type":"OBJECT","properties":{"city":{"type":"STRING"}}}}]}]}`
	// pngBase64 is a 1x1 PNG.
	pngBase64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)

func generate(t *testing.T, srv *fakeprovider.Server, model, body string) (int, gResponse, http.Header, []byte) {
	t.Helper()
	status, data, hdr := post(t, srv.URL+"/v1beta/models/"+model+":generateContent", body, geminiHeader(geminiKey))
	var r gResponse
	if status == http.StatusOK {
		if err := json.Unmarshal(data, &r); err != nil {
			t.Fatalf("answer is not a GenerateContentResponse: %v\n%s", err, data)
		}
	}
	return status, r, hdr, data
}

func TestGeminiGenerateContent(t *testing.T) {
	weather := &fakeprovider.ToolCall{Name: "get_weather", Arguments: `{"city":"Paris"}`}
	tests := []struct {
		name       string
		b          fakeprovider.Behavior
		body       string
		text       string // expected text ("" = none)
		call       string // expected function call name
		args       string
		finish     string
		noContent  bool
		usage      gCounts
		wantRating bool
	}{
		{
			name: "default", body: geminiHello, text: fakeprovider.DefaultReply, finish: "STOP",
			usage: gCounts{PromptTokenCount: 11, CandidatesTokenCount: 7, TotalTokenCount: 18},
		},
		{
			name: "usage with cache and thoughts",
			b:    fakeprovider.Behavior{Reply: "Cached.", InputTokens: 1000, CachedTokens: 800, OutputTokens: 20, ReasoningTokens: 300},
			body: geminiHello, text: "Cached.", finish: "STOP",
			usage: gCounts{PromptTokenCount: 1000, CachedContentTokenCount: 800, CandidatesTokenCount: 20, ThoughtsTokenCount: 300, TotalTokenCount: 1320},
		},
		{
			name: "tool call", b: fakeprovider.Behavior{ToolCall: weather},
			body: geminiTools, call: "get_weather", args: `{"city":"Paris"}`, finish: "STOP",
			usage: gCounts{PromptTokenCount: 11, CandidatesTokenCount: 7, TotalTokenCount: 18},
		},
		{
			name: "tool call with id and no arguments", b: fakeprovider.Behavior{ToolCall: &fakeprovider.ToolCall{ID: "call-1", Name: "get_weather"}},
			body: geminiTools, call: "get_weather", args: `{}`, finish: "STOP",
			usage: gCounts{PromptTokenCount: 11, CandidatesTokenCount: 7, TotalTokenCount: 18},
		},
		{
			name: "tool call needs function declarations", b: fakeprovider.Behavior{ToolCall: weather},
			body: `{"contents":[{"parts":[{"text":"x"}]}],"tools":[{"googleSearch":{}}]}`, text: fakeprovider.DefaultReply, finish: "STOP",
			usage: gCounts{PromptTokenCount: 11, CandidatesTokenCount: 7, TotalTokenCount: 18},
		},
		{
			name: "tool call without tools answers text", b: fakeprovider.Behavior{ToolCall: weather},
			body: geminiHello, text: fakeprovider.DefaultReply, finish: "STOP",
			usage: gCounts{PromptTokenCount: 11, CandidatesTokenCount: 7, TotalTokenCount: 18},
		},
		{
			name: "max tokens keeps the content", b: fakeprovider.Behavior{FinishReason: "MAX_TOKENS", OutputTokens: 64},
			body: geminiHello, text: fakeprovider.DefaultReply, finish: "MAX_TOKENS",
			usage: gCounts{PromptTokenCount: 11, CandidatesTokenCount: 64, TotalTokenCount: 75},
		},
		{
			name: "safety finish withholds the content", b: fakeprovider.Behavior{FinishReason: "SAFETY"},
			body: geminiHello, finish: "SAFETY", noContent: true, wantRating: true,
			usage: gCounts{PromptTokenCount: 11, CandidatesTokenCount: 7, TotalTokenCount: 18},
		},
		{
			name: "zero counts are left out", b: fakeprovider.Behavior{InputTokens: -1, OutputTokens: -1},
			body: geminiHello, text: fakeprovider.DefaultReply, finish: "STOP",
		},
		{
			name: "snake_case names, system instruction, generation config and an inline image",
			body: `{"system_instruction":{"parts":[{"text":"Be brief."}]},
				"contents":[{"role":"user","parts":[{"text":"What is this?"},{"inline_data":{"mime_type":"image/png","data":"` + pngBase64 + `"}}]},
					{"role":"model","parts":[{"text":"A pixel."}]},
					{"role":"user","parts":[{"inlineData":{"mimeType":"image/png","data":"` + strings.TrimRight(strings.NewReplacer("+", "-", "/", "_").Replace(pngBase64), "=") + `"}}]}],
				"generation_config":{"temperature":0.2,"maxOutputTokens":100,"thinkingConfig":{"thinkingBudget":0}},
				"safetySettings":[{"category":"HARM_CATEGORY_HARASSMENT","threshold":"BLOCK_NONE"}]}`,
			text: fakeprovider.DefaultReply, finish: "STOP",
			usage: gCounts{PromptTokenCount: 11, CandidatesTokenCount: 7, TotalTokenCount: 18},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakeprovider.New(t, fakeprovider.Gemini, geminiKey)
			srv.Set(tt.b)
			status, r, hdr, data := generate(t, srv, "gemini-2.5-flash", tt.body)
			if status != http.StatusOK {
				t.Fatalf("status %d: %s", status, data)
			}
			if ct := hdr.Get("Content-Type"); ct != "application/json; charset=UTF-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			if !bytes.HasPrefix(data, []byte("{\n  \"candidates\": [")) {
				t.Errorf("answer not pretty-printed as the API prints it:\n%s", data)
			}
			if r.ModelVersion != "gemini-2.5-flash" || len(r.ResponseID) < 16 || r.PromptFeedback != nil {
				t.Errorf("response = %s", data)
			}
			if len(r.Candidates) != 1 {
				t.Fatalf("candidates: %s", data)
			}
			c := r.Candidates[0]
			if c.Index == nil || *c.Index != 0 || c.FinishReason != tt.finish {
				t.Errorf("candidate = %s", data)
			}
			if tt.noContent != (c.Content == nil) {
				t.Errorf("content = %+v, want none: %v", c.Content, tt.noContent)
			}
			if c.Content != nil && (c.Content.Role != "model" || len(c.Content.Parts) != 1) {
				t.Errorf("content = %s", data)
			}
			if got := r.text(); got != tt.text {
				t.Errorf("text = %q, want %q", got, tt.text)
			}
			if tt.call != "" {
				fc := c.Content.Parts[0].FunctionCall
				var args bytes.Buffer
				if fc == nil || fc.Name != tt.call || json.Compact(&args, fc.Args) != nil || args.String() != tt.args {
					t.Errorf("function call = %s", data)
				}
				if id := tt.b.ToolCall.ID; fc != nil && fc.ID != id {
					t.Errorf("function call id = %q, want %q", fc.ID, id)
				}
			}
			if (len(c.SafetyRatings) > 0) != tt.wantRating {
				t.Errorf("safety ratings = %+v", c.SafetyRatings)
			}
			u := r.UsageMetadata.gCounts
			details, cacheDetails := r.UsageMetadata.PromptTokensDetails, r.UsageMetadata.CacheTokensDetails
			if u != tt.usage {
				t.Errorf("usage = %+v, want %+v", u, tt.usage)
			}
			if tt.usage.PromptTokenCount > 0 && (len(details) != 1 || details[0] != (gModalityCount{"TEXT", tt.usage.PromptTokenCount})) {
				t.Errorf("promptTokensDetails = %+v", details)
			}
			if (tt.usage.CachedContentTokenCount > 0) != (len(cacheDetails) == 1) {
				t.Errorf("cacheTokensDetails = %+v", cacheDetails)
			}
			if tt.usage == (gCounts{}) && strings.Contains(string(data), "TokenCount") {
				t.Errorf("zero counts sent: %s", data)
			}
			req := srv.LastRequest()
			if req.Method != http.MethodPost || req.Path != "/v1beta/models/gemini-2.5-flash:generateContent" || req.Header.Get("x-goog-api-key") != geminiKey || string(req.Body) != tt.body {
				t.Errorf("recorded %s %s %v", req.Method, req.Path, req.Header)
			}
		})
	}
}

func TestGeminiPromptBlocked(t *testing.T) {
	tests := []struct {
		reason  string
		ratings bool
	}{{"SAFETY", true}, {"PROHIBITED_CONTENT", false}, {"OTHER", false}}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			srv := fakeprovider.New(t, fakeprovider.Gemini, geminiKey)
			srv.Set(fakeprovider.Behavior{BlockReason: tt.reason, InputTokens: 9})
			status, r, _, data := generate(t, srv, "gemini-2.5-pro", geminiHello)
			if status != 200 || len(r.Candidates) != 0 || r.PromptFeedback == nil || r.PromptFeedback.BlockReason != tt.reason {
				t.Fatalf("%d %s", status, data)
			}
			if (len(r.PromptFeedback.SafetyRatings) > 0) != tt.ratings {
				t.Errorf("safety ratings = %+v", r.PromptFeedback.SafetyRatings)
			}
			if u := r.UsageMetadata; u.PromptTokenCount != 9 || u.TotalTokenCount != 9 || u.CandidatesTokenCount != 0 {
				t.Errorf("usage = %+v", u)
			}
			status, body, _ := post(t, srv.URL+"/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse", geminiHello, geminiHeader(geminiKey))
			if chunks := sseChunks(t, body); status != 200 || len(chunks) != 1 || chunks[0].PromptFeedback == nil || chunks[0].PromptFeedback.BlockReason != tt.reason {
				t.Errorf("stream: %d %s", status, body)
			}
		})
	}
}

// sseChunks reads a Gemini SSE body with the gateway's SSE reader and
// decodes each event as a GenerateContentResponse.
func sseChunks(t *testing.T, body []byte) []gResponse {
	t.Helper()
	rd := sse.NewReader(bytes.NewReader(body))
	defer rd.Release()
	var out []gResponse
	for {
		ev, err := rd.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("reading the stream: %v\n%q", err, body)
		}
		var r gResponse
		if ev.Name != "" || json.Unmarshal(ev.Data, &r) != nil {
			t.Fatalf("bad event %s", ev)
		}
		out = append(out, r)
	}
}

func TestGeminiStream(t *testing.T) {
	tests := []struct {
		name      string
		b         fakeprovider.Behavior
		body      string
		chunks    int
		text      string
		call      string
		finish    string
		lastEmpty bool // the last chunk has no content (a withheld answer)
	}{
		{"text", fakeprovider.Behavior{Reply: "Streaming is fun today", InputTokens: 30, OutputTokens: 12, CachedTokens: 4, ReasoningTokens: 50},
			geminiHello, 4, "Streaming is fun today", "", "STOP", false},
		{"one word", fakeprovider.Behavior{Reply: "Hi"}, geminiHello, 1, "Hi", "", "STOP", false},
		{"tool call", fakeprovider.Behavior{ToolCall: &fakeprovider.ToolCall{Name: "get_weather", Arguments: `{"city":"Paris","days":3}`}},
			geminiTools, 1, "", "get_weather", "STOP", false},
		{"safety stop after the text", fakeprovider.Behavior{Reply: "a b c", FinishReason: "SAFETY"},
			geminiHello, 4, "a b c", "", "SAFETY", true},
		{"max tokens", fakeprovider.Behavior{Reply: "a b", FinishReason: "MAX_TOKENS"},
			geminiHello, 2, "a b", "", "MAX_TOKENS", false},
	}
	for _, tt := range tests {
		for _, version := range []string{"v1beta", "v1"} {
			t.Run(tt.name+"/"+version, func(t *testing.T) {
				srv := fakeprovider.New(t, fakeprovider.Gemini, geminiKey)
				srv.Set(tt.b)
				status, body, hdr := post(t, srv.URL+"/"+version+"/models/gemini-2.5-flash:streamGenerateContent?alt=sse", tt.body, geminiHeader(geminiKey))
				if status != 200 || hdr.Get("Content-Type") != "text/event-stream" {
					t.Fatalf("%d %v %s", status, hdr, body)
				}
				// The wire: "data: <one line>\r\n\r\n" per chunk, nothing else.
				for _, e := range strings.SplitAfter(string(body), "\r\n\r\n") {
					if e == "" {
						continue
					}
					line, ok := strings.CutSuffix(e, "\r\n\r\n")
					if !ok || !strings.HasPrefix(line, "data: {") || strings.ContainsAny(line, "\r\n") {
						t.Fatalf("bad framing %q", e)
					}
				}
				if bytes.Contains(body, []byte("[DONE]")) {
					t.Error("stream ends with [DONE]")
				}
				chunks := sseChunks(t, body)
				if len(chunks) != tt.chunks {
					t.Fatalf("%d chunks, want %d:\n%s", len(chunks), tt.chunks, body)
				}
				var text strings.Builder
				prevOut := 0
				in, cached, out, thoughts := tokens(tt.b.InputTokens, 11), tokens(tt.b.CachedTokens, 0), tokens(tt.b.OutputTokens, 7), tt.b.ReasoningTokens
				for i, c := range chunks {
					last := i == len(chunks)-1
					if c.ResponseID != chunks[0].ResponseID || c.ModelVersion != "gemini-2.5-flash" || len(c.Candidates) != 1 {
						t.Errorf("chunk %d = %+v", i, c)
					}
					cand := c.Candidates[0]
					if (cand.FinishReason != "") != last || last && cand.FinishReason != tt.finish {
						t.Errorf("chunk %d finishReason %q", i, cand.FinishReason)
					}
					if last && tt.lastEmpty != (cand.Content == nil) {
						t.Errorf("last chunk content = %+v", cand.Content)
					}
					text.WriteString(c.text())
					if tt.call != "" {
						if fc := cand.Content.Parts[0].FunctionCall; fc == nil || fc.Name != tt.call || string(fc.Args) != tt.b.ToolCall.Arguments {
							t.Errorf("function call chunk = %+v", cand.Content.Parts[0])
						}
					}
					u := c.UsageMetadata
					if u == nil || u.PromptTokenCount != in || u.CachedContentTokenCount != cached || u.ThoughtsTokenCount != thoughts ||
						u.TotalTokenCount != in+u.CandidatesTokenCount+thoughts || u.CandidatesTokenCount < prevOut {
						t.Errorf("chunk %d usage = %+v", i, u)
					} else {
						prevOut = u.CandidatesTokenCount
					}
					if last && u != nil && u.CandidatesTokenCount != out {
						t.Errorf("final candidatesTokenCount %d, want %d", u.CandidatesTokenCount, out)
					}
				}
				if text.String() != tt.text {
					t.Errorf("text = %q, want %q", text.String(), tt.text)
				}
				if r := srv.LastRequest(); r.Path != "/"+version+"/models/gemini-2.5-flash:streamGenerateContent" || r.RawQuery != "alt=sse" {
					t.Errorf("recorded %s?%s", r.Path, r.RawQuery)
				}
			})
		}
	}
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

// Without alt=sse, streamGenerateContent answers a JSON array of the
// chunks.
func TestGeminiStreamJSONArray(t *testing.T) {
	srv := fakeprovider.New(t, fakeprovider.Gemini, geminiKey)
	srv.Set(fakeprovider.Behavior{Reply: "one two three"})
	status, body, hdr := post(t, srv.URL+"/v1beta/models/gemini-2.5-flash:streamGenerateContent", geminiHello, geminiHeader(geminiKey))
	var chunks []gResponse
	if err := json.Unmarshal(body, &chunks); err != nil || status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
		t.Fatalf("%d %v %s", status, err, body)
	}
	var text strings.Builder
	for _, c := range chunks {
		text.WriteString(c.text())
	}
	if len(chunks) != 3 || text.String() != "one two three" || chunks[2].Candidates[0].FinishReason != "STOP" {
		t.Errorf("chunks = %s", body)
	}
	// The meter reads the last usage of the array.
	if u, ok := meter.FromBody(meter.DialectGemini, meter.OpGenerateContent, body); !ok || u != (meter.Usage{InputTokens: 11, OutputTokens: 7}) {
		t.Errorf("metered %+v %v", u, ok)
	}
}

func TestGeminiErrors(t *testing.T) {
	longB64 := "not*base64"
	tests := []struct {
		name      string
		b         fakeprovider.Behavior
		method    string
		path      string // after the server URL; default generateContent
		header    http.Header
		body      string
		status    int
		code      string // error.status
		message   string // error.message, or a prefix of it ending in "..."
		detail    string // @type of a detail
		violation string // a fieldViolations[].field
	}{
		{name: "no key", header: http.Header{}, body: geminiHello, status: 403, code: "PERMISSION_DENIED",
			message: "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API."},
		{name: "wrong key", header: geminiHeader("AIzaWrong"), body: geminiHello, status: 400, code: "INVALID_ARGUMENT",
			message: "API key not valid. Please pass a valid API key.", detail: "type.googleapis.com/google.rpc.ErrorInfo"},
		{name: "wrong key in the query", path: "/v1beta/models/m:generateContent?key=AIzaWrong", header: http.Header{}, body: geminiHello, status: 400, code: "INVALID_ARGUMENT",
			message: "API key not valid. Please pass a valid API key."},
		{name: "bearer token is not a key", header: http.Header{"Authorization": {"Bearer " + geminiKey}}, body: geminiHello, status: 403, code: "PERMISSION_DENIED",
			message: "Method doesn't allow..."},
		{name: "not JSON", body: `{"contents":`, status: 400, code: "INVALID_ARGUMENT", message: "Invalid JSON payload received. Unexpected token."},
		{name: "unknown top-level name", body: `{"contents":[{"parts":[{"text":"x"}]}],"stream":true}`, status: 400, code: "INVALID_ARGUMENT",
			message: `Invalid JSON payload received. Unknown name "stream": Cannot find field.`, detail: "type.googleapis.com/google.rpc.BadRequest"},
		{name: "unknown names everywhere", body: `{"foo":1,"contents":[{"role":"user","parts":[{"text":"x","bar":2}],"baz":3}]}`, status: 400, code: "INVALID_ARGUMENT",
			message: "Invalid JSON payload received. Unknown name \"foo\": Cannot find field.\n" +
				"Invalid JSON payload received. Unknown name \"bar\" at 'contents[0].parts[0]': Cannot find field.\n" +
				"Invalid JSON payload received. Unknown name \"baz\" at 'contents[0]': Cannot find field.",
			violation: "contents[0].parts[0]"},
		{name: "OpenAI messages", body: `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"hi"}]}`, status: 400, code: "INVALID_ARGUMENT",
			message: `Invalid JSON payload received. Unknown name "messages": Cannot find field.`},
		{name: "unknown inline data name", body: `{"contents":[{"parts":[{"inlineData":{"mimeType":"image/png","data":"` + pngBase64 + `","displayName":"x"}}]}]}`,
			status: 400, code: "INVALID_ARGUMENT", message: `Invalid JSON payload received. Unknown name "displayName" at 'contents[0].parts[0].inline_data': Cannot find field.`},
		{name: "inline data not base64", body: `{"contents":[{"parts":[{"inlineData":{"mimeType":"image/png","data":"` + longB64 + `"}}]}]}`,
			status: 400, code: "INVALID_ARGUMENT", message: `Invalid value at 'contents[0].parts[0].inline_data.data' (TYPE_BYTES), Base64 decoding failed for "not*base64"`,
			violation: "contents[0].parts[0].inline_data.data"},
		{name: "parts not an array", body: `{"contents":[{"parts":"hi"}]}`, status: 400, code: "INVALID_ARGUMENT",
			message: `Invalid value at 'contents[0].parts' (type.googleapis.com/google.ai.generativelanguage.v1beta.Part), "hi"`},
		{name: "no contents", body: `{}`, status: 400, code: "INVALID_ARGUMENT", message: "* GenerateContentRequest.contents: contents is not specified\n"},
		{name: "empty contents", body: `{"contents":[]}`, status: 400, code: "INVALID_ARGUMENT", message: "* GenerateContentRequest.contents: contents is not specified\n"},
		{name: "empty parts", body: `{"contents":[{"role":"user","parts":[{"text":"a"}]},{"role":"model","parts":[]}]}`, status: 400, code: "INVALID_ARGUMENT",
			message: "* GenerateContentRequest.contents[1].parts: contents.parts must not be empty.\n"},
		{name: "part without data", body: `{"contents":[{"parts":[{"thought":true}]}]}`, status: 400, code: "INVALID_ARGUMENT",
			message: "* GenerateContentRequest.contents[0].parts[0].data: required oneof field 'data' must have one initialized field\n"},
		{name: "bad role", body: `{"contents":[{"role":"assistant","parts":[{"text":"x"}]}]}`, status: 400, code: "INVALID_ARGUMENT",
			message: "Please use a valid role: user, model."},
		{name: "unknown path", path: "/v1beta/nothing", body: geminiHello, status: 404, code: "NOT_FOUND", message: "Requested entity was not found."},
		{name: "unknown method", path: "/v1beta/models/m:embedContent", body: geminiHello, status: 404, code: "NOT_FOUND", message: "Requested entity was not found."},
		{name: "GET generateContent", method: http.MethodGet, body: "", status: 404, code: "NOT_FOUND", message: "Requested entity was not found."},
		{name: "unknown model", method: http.MethodGet, path: "/v1/models/gemini-0", status: 404, code: "NOT_FOUND",
			message: "models/gemini-0 is not found for API version v1, or is not supported for getModel."},
		{name: "status 400", b: fakeprovider.Behavior{Status: 400}, body: geminiHello, status: 400, code: "INVALID_ARGUMENT", message: "Request contains an invalid argument."},
		{name: "status 404", b: fakeprovider.Behavior{Status: 404}, body: geminiHello, status: 404, code: "NOT_FOUND",
			message: "models/gemini-2.5-flash is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods."},
		{name: "status 429", b: fakeprovider.Behavior{Status: 429}, body: geminiHello, status: 429, code: "RESOURCE_EXHAUSTED",
			message: "You exceeded your current quota...", detail: "type.googleapis.com/google.rpc.RetryInfo"},
		{name: "status 500", b: fakeprovider.Behavior{Status: 500}, body: geminiHello, status: 500, code: "INTERNAL",
			message: "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"},
		{name: "status 503", b: fakeprovider.Behavior{Status: 503}, body: geminiHello, status: 503, code: "UNAVAILABLE", message: "The model is overloaded. Please try again later."},
		{name: "status 504", b: fakeprovider.Behavior{Status: 504}, body: geminiHello, status: 504, code: "DEADLINE_EXCEEDED", message: "Deadline expired before operation could complete."},
		{name: "status needs a key first", b: fakeprovider.Behavior{Status: 503}, header: http.Header{}, body: geminiHello, status: 403, code: "PERMISSION_DENIED", message: "Method doesn't allow..."},
		{name: "error body", b: fakeprovider.Behavior{Status: 418, ErrorBody: `{"error":{"code":418,"message":"teapot","status":"UNKNOWN"}}`}, body: geminiHello,
			status: 418, code: "UNKNOWN", message: "teapot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakeprovider.New(t, fakeprovider.Gemini, geminiKey)
			srv.Set(tt.b)
			method, path, h := tt.method, tt.path, tt.header
			if method == "" {
				method = http.MethodPost
			}
			if path == "" {
				path = "/v1beta/models/gemini-2.5-flash:generateContent"
			}
			if h == nil {
				h = geminiHeader(geminiKey)
			}
			status, body, hdr := do(t, method, srv.URL+path, tt.body, h)
			var e gError
			if err := json.Unmarshal(body, &e); err != nil || status != tt.status {
				t.Fatalf("%d %s (%v)", status, body, err)
			}
			if !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
				t.Errorf("Content-Type = %q", hdr.Get("Content-Type"))
			}
			if e.Error.Code != tt.status || e.Error.Status != tt.code {
				t.Errorf("error = %s", body)
			}
			if prefix, ok := strings.CutSuffix(tt.message, "..."); ok && !strings.HasPrefix(e.Error.Message, prefix) || !ok && e.Error.Message != tt.message {
				t.Errorf("message = %q\nwant      %q", e.Error.Message, tt.message)
			}
			var types, fields []string
			for _, d := range e.Error.Details {
				types = append(types, d["@type"].(string))
				if vs, ok := d["fieldViolations"].([]any); ok {
					for _, v := range vs {
						f, _ := v.(map[string]any)["field"].(string)
						fields = append(fields, f)
					}
				}
			}
			if tt.detail != "" && !contains(types, tt.detail) {
				t.Errorf("details = %v, want a %s", types, tt.detail)
			}
			if tt.violation != "" && !contains(fields, tt.violation) {
				t.Errorf("violations = %q, want %q", fields, tt.violation)
			}
		})
	}
}

// TestGeminiRateLimitRetryDelay: the 429's RetryInfo follows a Retry-After
// set in Behavior.Header.
func TestGeminiRateLimitRetryDelay(t *testing.T) {
	srv := fakeprovider.New(t, fakeprovider.Gemini, geminiKey)
	srv.Set(fakeprovider.Behavior{Status: 429, Header: http.Header{"Retry-After": {"12"}}})
	status, body, hdr := post(t, srv.URL+"/v1beta/models/gemini-2.5-flash:generateContent", geminiHello, geminiHeader(geminiKey))
	if status != 429 || hdr.Get("Retry-After") != "12" || !strings.Contains(string(body), `"retryDelay": "12s"`) {
		t.Errorf("%d %v %s", status, hdr, body)
	}
}

func TestGeminiCountTokensAndModels(t *testing.T) {
	srv := fakeprovider.New(t, fakeprovider.Gemini, geminiKey)
	srv.Set(fakeprovider.Behavior{InputTokens: 42, CachedTokens: 2})
	h := geminiHeader(geminiKey)
	for _, body := range []string{geminiHello, `{"generateContentRequest":{"model":"models/gemini-2.5-flash",` + geminiHello[1:] + `}`} {
		status, data, _ := post(t, srv.URL+"/v1beta/models/gemini-2.5-flash:countTokens", body, h)
		var n struct {
			TotalTokens             int `json:"totalTokens"`
			CachedContentTokenCount int `json:"cachedContentTokenCount"`
		}
		if err := json.Unmarshal(data, &n); err != nil || status != 200 || n.TotalTokens != 42 || n.CachedContentTokenCount != 2 {
			t.Errorf("countTokens %s: %d %s", body, status, data)
		}
	}
	if status, data, _ := post(t, srv.URL+"/v1beta/models/gemini-2.5-flash:countTokens", `{"generateContentRequest":{"contents":[],"x":1}}`, h); status != 400 ||
		!strings.Contains(string(data), `Unknown name \"x\" at 'generate_content_request'`) {
		t.Errorf("countTokens with a bad request: %d %s", status, data)
	}

	status, data, _ := do(t, http.MethodGet, srv.URL+"/v1beta/models", "", h)
	var list struct {
		Models []struct {
			Name                       string   `json:"name"`
			SupportedGenerationMethods []string `json:"supportedGenerationMethods"`
		} `json:"models"`
	}
	if err := json.Unmarshal(data, &list); err != nil || status != 200 || len(list.Models) != 3 || list.Models[0].Name != "models/gemini-2.5-flash" ||
		!contains(list.Models[0].SupportedGenerationMethods, "generateContent") {
		t.Errorf("models: %d %s", status, data)
	}
	srv.Set(fakeprovider.Behavior{Models: []string{"models/custom-1", "custom-2"}})
	for _, id := range []string{"custom-1", "custom-2"} {
		if status, data, _ := do(t, http.MethodGet, srv.URL+"/v1beta/models/"+id, "", h); status != 200 || !strings.Contains(string(data), `"name": "models/`+id+`"`) {
			t.Errorf("model %s: %d %s", id, status, data)
		}
	}
}

// TestGeminiStreamFaults: CutAfter drops the connection mid-stream,
// ErrorAfter ends the stream with the API's error chunk, and a client
// that goes away is counted.
func TestGeminiStreamFaults(t *testing.T) {
	url := func(srv *fakeprovider.Server) string {
		return srv.URL + "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
	}
	t.Run("cut", func(t *testing.T) {
		srv := fakeprovider.New(t, fakeprovider.Gemini, geminiKey)
		srv.Set(fakeprovider.Behavior{Reply: "one two three four", CutAfter: 2})
		req, _ := http.NewRequest(http.MethodPost, url(srv), strings.NewReader(geminiHello))
		req.Header = geminiHeader(geminiKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err == nil {
			t.Errorf("cut stream read without error: %q", body)
		}
		if n := strings.Count(string(body), "\r\n\r\n"); n != 2 || strings.Contains(string(body), "finishReason") {
			t.Errorf("cut stream = %q", body)
		}
	})
	t.Run("error after", func(t *testing.T) {
		srv := fakeprovider.New(t, fakeprovider.Gemini, geminiKey)
		srv.Set(fakeprovider.Behavior{Reply: "one two three four", ErrorAfter: 2})
		status, body, _ := post(t, url(srv), geminiHello, geminiHeader(geminiKey))
		events := strings.Split(strings.TrimSuffix(string(body), "\r\n\r\n"), "\r\n\r\n")
		if status != 200 || len(events) != 3 {
			t.Fatalf("%d %q", status, body)
		}
		var e gError
		if err := json.Unmarshal([]byte(strings.TrimPrefix(events[2], "data: ")), &e); err != nil ||
			e.Error.Code != 500 || e.Error.Status != "INTERNAL" || !strings.HasPrefix(e.Error.Message, "An internal error has occurred") {
			t.Errorf("error chunk = %q", events[2])
		}
	})
	t.Run("client goes away", func(t *testing.T) {
		srv := fakeprovider.New(t, fakeprovider.Gemini, geminiKey)
		srv.Set(fakeprovider.Behavior{Reply: strings.Repeat("a ", 40), ChunkDelay: 30 * time.Millisecond})
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url(srv), strings.NewReader(geminiHello))
		req.Header = geminiHeader(geminiKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bufio.NewReader(resp.Body).ReadString('}'); err != nil {
			t.Fatal(err)
		}
		cancel()
		_ = resp.Body.Close()
		if !srv.WaitCanceled(1, 5*time.Second) || !srv.WaitIdle(5*time.Second) {
			t.Errorf("Canceled = %d, Open = %d", srv.Canceled(), srv.Open())
		}
	})
	t.Run("hang", func(t *testing.T) {
		srv := fakeprovider.New(t, fakeprovider.Gemini, geminiKey)
		srv.Set(fakeprovider.Behavior{Hang: true})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url(srv), strings.NewReader(geminiHello))
		req.Header = geminiHeader(geminiKey)
		if resp, err := http.DefaultClient.Do(req); !errors.Is(err, context.DeadlineExceeded) {
			if err == nil {
				resp.Body.Close()
			}
			t.Fatalf("hang: %v", err)
		}
		if !srv.WaitCanceled(1, 5*time.Second) {
			t.Errorf("Canceled = %d", srv.Canceled())
		}
	})
}

// TestGeminiMetering: the meter reads the fake's whole and streamed answers
// as the Gemini usageMetadata defines them (promptTokenCount includes the
// cached tokens; thoughts are output), and estimates its requests.
func TestGeminiMetering(t *testing.T) {
	tests := []struct {
		name string
		b    fakeprovider.Behavior
		body string
		want meter.Usage
	}{
		{"default", fakeprovider.Behavior{}, geminiHello, meter.Usage{InputTokens: 11, OutputTokens: 7}},
		{"cached and thoughts", fakeprovider.Behavior{Reply: "The answer is 42.", InputTokens: 1000, CachedTokens: 800, OutputTokens: 20, ReasoningTokens: 300},
			geminiHello, meter.Usage{InputTokens: 200, CachedInputTokens: 800, OutputTokens: 320}},
		{"tool call", fakeprovider.Behavior{ToolCall: &fakeprovider.ToolCall{Name: "get_weather", Arguments: `{"city":"Paris"}`}, InputTokens: 50, OutputTokens: 5},
			geminiTools, meter.Usage{InputTokens: 50, OutputTokens: 5}},
		{"safety finish", fakeprovider.Behavior{Reply: "a b c", FinishReason: "SAFETY", OutputTokens: 3}, geminiHello, meter.Usage{InputTokens: 11, OutputTokens: 3}},
		{"blocked prompt", fakeprovider.Behavior{BlockReason: "SAFETY", InputTokens: 9}, geminiHello, meter.Usage{InputTokens: 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakeprovider.New(t, fakeprovider.Gemini, geminiKey)
			srv.Set(tt.b)
			h := geminiHeader(geminiKey)
			_, body, _ := post(t, srv.URL+"/v1beta/models/gemini-2.5-flash:generateContent", tt.body, h)
			if u, ok := meter.FromBody(meter.DialectGemini, meter.OpGenerateContent, body); !ok || u != tt.want {
				t.Errorf("FromBody = %+v %v, want %+v", u, ok, tt.want)
			}

			_, body, _ = post(t, srv.URL+"/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", tt.body, h)
			s := meter.NewStream(meter.DialectGemini, meter.OpGenerateContent)
			s.SetRequest([]byte(tt.body))
			rd := sse.NewReader(bytes.NewReader(body))
			defer rd.Release()
			events := 0
			for {
				ev, err := rd.Next()
				if err != nil {
					if err != io.EOF {
						t.Fatal(err)
					}
					break
				}
				// Before the last chunk the usage is not final.
				if s.Reported() {
					t.Errorf("usage final after %d of the events", events)
				}
				s.Event(ev.Name, ev.Data)
				events++
			}
			if u := s.Usage(); !s.Reported() || u != tt.want {
				t.Errorf("stream usage = %+v (reported %v), want %+v", u, s.Reported(), tt.want)
			}
		})
	}

	// A cut stream: the partial usageMetadata gives the input, the text so
	// far (or the partial count) the output.
	srv := fakeprovider.New(t, fakeprovider.Gemini, geminiKey)
	srv.Set(fakeprovider.Behavior{Reply: "one two three four five six", InputTokens: 100, CachedTokens: 40, OutputTokens: 60, CutAfter: 3})
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", strings.NewReader(geminiHello))
	req.Header = geminiHeader(geminiKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	s := meter.NewStream(meter.DialectGemini, meter.OpGenerateContent)
	for _, c := range sseChunks(t, body) {
		data, _ := json.Marshal(c)
		s.Event("", data)
	}
	if u := s.Usage(); s.Reported() || !u.Estimated || u.InputTokens != 60 || u.CachedInputTokens != 40 || u.OutputTokens != 30 {
		t.Errorf("cut stream usage = %+v", u)
	}

	// The request estimate reads contents, parts and system instructions,
	// and counts inline data as one image without reading its bytes.
	text := `{"systemInstruction":{"parts":[{"text":"You are a terse assistant."}]},"contents":[{"role":"user","parts":[{"text":"Describe the attached image in one sentence."}]}]}`
	image := `{"systemInstruction":{"parts":[{"text":"You are a terse assistant."}]},"contents":[{"role":"user","parts":[{"text":"Describe the attached image in one sentence."},` +
		`{"inlineData":{"mimeType":"image/png","data":"` + strings.Repeat(pngBase64, 50) + `"}}]}]}`
	est := meter.EstimateRequestTokens(meter.DialectGemini, meter.OpGenerateContent, []byte(text))
	prose := meter.EstimateTokens([]byte("You are a terse assistant.Describe the attached image in one sentence."))
	if est < prose || est > prose+20 {
		t.Errorf("estimate %d for %d tokens of text", est, prose)
	}
	if got := meter.EstimateRequestTokens(meter.DialectGemini, meter.OpGenerateContent, []byte(image)); got != est+meter.ImageTokens {
		t.Errorf("estimate with an image = %d, want %d", got, est+meter.ImageTokens)
	}
}
