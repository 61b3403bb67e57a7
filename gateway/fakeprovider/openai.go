package fakeprovider

// The OpenAI wire format, as documented by the OpenAI API reference
// (https://platform.openai.com/docs/api-reference): chat completions (object
// and chunk object), the Responses API (object and streaming events),
// embeddings, models and the error object. Azure OpenAI serves the same
// bodies, decorated in azure.go.

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"
)

// serveOpenAI answers a request to an OpenAI fake.
func (s *Server) serveOpenAI(x *exchange) {
	if !x.openAIAuth() {
		return
	}
	if x.b.Status >= 400 {
		x.statusError()
		return
	}
	path := x.r.URL.Path
	switch {
	case path == "/v1/chat/completions" && x.r.Method == http.MethodPost:
		x.chatCompletions("")
	case path == "/v1/responses" && x.r.Method == http.MethodPost:
		x.responses()
	case path == "/v1/embeddings" && x.r.Method == http.MethodPost:
		x.embeddings("")
	case path == "/v1/files" || strings.HasPrefix(path, "/v1/files/"):
		x.files(strings.TrimPrefix(path, "/v1/"))
	case path == "/v1/models" && x.r.Method == http.MethodGet:
		x.listModels()
	case strings.HasPrefix(path, "/v1/models/") && x.r.Method == http.MethodGet:
		x.retrieveModel(strings.TrimPrefix(path, "/v1/models/"))
	default:
		x.openAIError(http.StatusNotFound, fmt.Sprintf("Invalid URL (%s %s)", x.r.Method, path), "invalid_request_error", "", "")
	}
}

// openAIAuth checks "Authorization: Bearer <key>", answering 401 as OpenAI
// does when it is missing or wrong.
func (x *exchange) openAIAuth() bool {
	token, ok := bearer(x.r.Header)
	switch {
	case !ok || token == "":
		x.openAIError(http.StatusUnauthorized, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.", "invalid_request_error", "", "")
		return false
	case token != x.s.key:
		x.openAIError(http.StatusUnauthorized, fmt.Sprintf("Incorrect API key provided: %s. You can find your API key at https://platform.openai.com/account/api-keys.", maskKey(token)), "invalid_request_error", "", "invalid_api_key")
		return false
	}
	return true
}

// maskKey hides the middle of a key as OpenAI's error messages do.
func maskKey(k string) string {
	if len(k) <= 8 {
		return strings.Repeat("*", len(k))
	}
	return k[:3] + strings.Repeat("*", len(k)-7) + k[len(k)-4:]
}

// openAIHeaders are the headers OpenAI (or Azure) sends on every response.
func (x *exchange) openAIHeaders() http.Header {
	if x.s.Dialect == Azure {
		return x.azureHeaders()
	}
	return http.Header{
		"X-Request-Id":                   {randomHex("req_", 16)},
		"Openai-Version":                 {"2020-10-01"},
		"Openai-Organization":            {"fake-org"},
		"Openai-Processing-Ms":           {"42"},
		"X-Ratelimit-Limit-Requests":     {"10000"},
		"X-Ratelimit-Remaining-Requests": {"9999"},
		"X-Ratelimit-Reset-Requests":     {"6ms"},
		"X-Ratelimit-Limit-Tokens":       {"30000000"},
		"X-Ratelimit-Remaining-Tokens":   {"29999980"},
		"X-Ratelimit-Reset-Tokens":       {"0s"},
	}
}

// openAIErrorBody is OpenAI's error object.
type openAIErrorBody struct {
	Error openAIErrorDetail `json:"error"`
}

type openAIErrorDetail struct {
	Message string          `json:"message"`
	Type    string          `json:"type"`
	Param   json.RawMessage `json:"param"`
	Code    json.RawMessage `json:"code"`
}

// openAIError answers status with {"error":{"message","type","param","code"}};
// an empty param or code is sent as null.
func (x *exchange) openAIError(status int, message, typ, param, code string) {
	nullable := func(s string) json.RawMessage {
		if s == "" {
			return jsonNull
		}
		return jsonString(s)
	}
	x.writeJSON(status, x.openAIHeaders(), openAIErrorBody{Error: openAIErrorDetail{
		Message: message, Type: typ, Param: nullable(param), Code: nullable(code),
	}})
}

// statusError answers Behavior.Status with Behavior.ErrorBody or the
// dialect's documented error body for that status.
func (x *exchange) statusError() {
	status := x.b.Status
	if x.b.ErrorBody != "" {
		var defaults http.Header
		switch x.s.Dialect {
		case Anthropic:
			defaults = x.anthropicHeaders()
		default:
			defaults = x.openAIHeaders()
		}
		x.writeRaw(status, defaults, []byte(x.b.ErrorBody))
		return
	}
	switch x.s.Dialect {
	case Anthropic:
		x.anthropicStatusError(status)
	case Azure:
		x.azureStatusError(status)
	default:
		x.openAIStatusError(status)
	}
}

// openAIStatusError answers status with the body OpenAI documents for it.
func (x *exchange) openAIStatusError(status int) {
	var model string
	if rb, err := parseBody(x.body); err == nil {
		model = rb.Model
	}
	if model == "" {
		model = "gpt-4o"
	}
	switch {
	case status == http.StatusBadRequest:
		x.openAIError(status, "Invalid request.", "invalid_request_error", "", "")
	case status == http.StatusUnauthorized:
		x.openAIError(status, fmt.Sprintf("Incorrect API key provided: %s. You can find your API key at https://platform.openai.com/account/api-keys.", maskKey(x.s.key)), "invalid_request_error", "", "invalid_api_key")
	case status == http.StatusForbidden:
		x.openAIError(status, "You are not allowed to sample from this model", "invalid_request_error", "", "")
	case status == http.StatusNotFound:
		x.openAIError(status, fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", model), "invalid_request_error", "", "model_not_found")
	case status == http.StatusTooManyRequests:
		x.openAIError(status, fmt.Sprintf("Rate limit reached for %s in organization org-fake on requests per min (RPM): Limit 500, Used 500, Requested 1. Please try again in 120ms. Visit https://platform.openai.com/account/rate-limits to learn more.", model), "requests", "", "rate_limit_exceeded")
	case status == http.StatusServiceUnavailable:
		x.openAIError(status, "The server is overloaded or not ready yet.", "server_error", "", "")
	case status >= 500:
		x.openAIError(status, "The server had an error while processing your request. Sorry about that!", "server_error", "", "")
	default:
		x.openAIError(status, http.StatusText(status), "invalid_request_error", "", "")
	}
}

// parseOpenAIBody decodes a JSON request body, answering 400 as OpenAI
// does when it is not a JSON object, or has no model while needModel.
func (x *exchange) parseOpenAIBody(needModel bool) (requestBody, bool) {
	rb, err := parseBody(x.body)
	if err != nil {
		x.openAIError(http.StatusBadRequest, "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)", "invalid_request_error", "", "")
		return rb, false
	}
	if needModel && rb.Model == "" {
		x.openAIError(http.StatusBadRequest, "you must provide a model parameter", "invalid_request_error", "", "")
		return rb, false
	}
	return rb, true
}

func (x *exchange) missingParam(name string) {
	x.openAIError(http.StatusBadRequest, fmt.Sprintf("Missing required parameter: '%s'.", name), "invalid_request_error", name, "missing_required_parameter")
}

// ---- chat completions ----

// chatCompletion is the chat completion object.
type chatCompletion struct {
	ID                  string          `json:"id"`
	Object              string          `json:"object"`
	Created             int64           `json:"created"`
	Model               string          `json:"model"`
	Choices             []chatChoice    `json:"choices"`
	Usage               chatUsage       `json:"usage"`
	ServiceTier         string          `json:"service_tier,omitempty"`
	SystemFingerprint   string          `json:"system_fingerprint"`
	PromptFilterResults json.RawMessage `json:"prompt_filter_results,omitempty"`
}

type chatChoice struct {
	Index                int             `json:"index"`
	Message              chatMessage     `json:"message"`
	Logprobs             json.RawMessage `json:"logprobs"`
	FinishReason         string          `json:"finish_reason"`
	ContentFilterResults json.RawMessage `json:"content_filter_results,omitempty"`
}

type chatMessage struct {
	Role        string          `json:"role"`
	Content     json.RawMessage `json:"content"`
	Refusal     json.RawMessage `json:"refusal"`
	ToolCalls   []chatToolCall  `json:"tool_calls,omitempty"`
	Annotations []any           `json:"annotations"`
}

type chatToolCall struct {
	Index    *int             `json:"index,omitempty"`
	ID       string           `json:"id,omitempty"`
	Type     string           `json:"type,omitempty"`
	Function chatToolFunction `json:"function"`
}

type chatToolFunction struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

// chatUsage is the usage object of chat completions (CompletionUsage).
type chatUsage struct {
	PromptTokens        int `json:"prompt_tokens"`
	CompletionTokens    int `json:"completion_tokens"`
	TotalTokens         int `json:"total_tokens"`
	PromptTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
		AudioTokens  int `json:"audio_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails struct {
		ReasoningTokens          int `json:"reasoning_tokens"`
		AudioTokens              int `json:"audio_tokens"`
		AcceptedPredictionTokens int `json:"accepted_prediction_tokens"`
		RejectedPredictionTokens int `json:"rejected_prediction_tokens"`
	} `json:"completion_tokens_details"`
}

func (b Behavior) chatUsage() chatUsage {
	u := chatUsage{PromptTokens: b.inputTokens(), CompletionTokens: b.outputTokens()}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	u.PromptTokensDetails.CachedTokens = b.cachedTokens()
	return u
}

// chatChunk is the chat completion chunk object.
type chatChunk struct {
	ID                  string          `json:"id"`
	Object              string          `json:"object"`
	Created             int64           `json:"created"`
	Model               string          `json:"model"`
	ServiceTier         string          `json:"service_tier,omitempty"`
	SystemFingerprint   json.RawMessage `json:"system_fingerprint,omitempty"`
	Choices             []chunkChoice   `json:"choices"`
	Usage               json.RawMessage `json:"usage,omitempty"`
	Obfuscation         string          `json:"obfuscation,omitempty"`
	PromptFilterResults json.RawMessage `json:"prompt_filter_results,omitempty"`
}

type chunkChoice struct {
	Index                int             `json:"index"`
	Delta                chatDelta       `json:"delta"`
	Logprobs             json.RawMessage `json:"logprobs"`
	FinishReason         json.RawMessage `json:"finish_reason"`
	ContentFilterResults json.RawMessage `json:"content_filter_results,omitempty"`
}

type chatDelta struct {
	Role      string          `json:"role,omitempty"`
	Content   json.RawMessage `json:"content,omitempty"`
	Refusal   json.RawMessage `json:"refusal,omitempty"`
	ToolCalls []chatToolCall  `json:"tool_calls,omitempty"`
}

const systemFingerprint = "fp_fake0000001"

// chatCompletions answers POST .../chat/completions. deployment, when not
// empty (Azure deployment paths), is the model answered and the body's
// model is not required.
func (x *exchange) chatCompletions(deployment string) {
	rb, ok := x.parseOpenAIBody(deployment == "")
	if !ok {
		return
	}
	if !present(rb.Messages) {
		x.missingParam("messages")
		return
	}
	model := rb.Model
	if deployment != "" {
		model = deployment
	}
	tc := x.b.toolCall(rb.Tools)
	if tc != nil && tc.ID == "" {
		tc.ID = randomID("call_", 24)
	}
	id := randomID("chatcmpl-", 29)
	created := time.Now().Unix()
	if rb.Stream {
		includeUsage := rb.StreamOptions != nil && rb.StreamOptions.IncludeUsage
		x.chatStream(id, created, model, tc, includeUsage, rb.obfuscate() && x.s.Dialect == OpenAI)
		return
	}

	choice := chatChoice{Logprobs: jsonNull, FinishReason: "stop"}
	choice.Message = chatMessage{Role: "assistant", Refusal: jsonNull, Annotations: []any{}}
	if tc != nil {
		choice.FinishReason = "tool_calls"
		choice.Message.Content = jsonNull
		choice.Message.ToolCalls = []chatToolCall{{
			ID: tc.ID, Type: "function",
			Function: chatToolFunction{Name: tc.Name, Arguments: tc.Arguments},
		}}
	} else {
		choice.Message.Content = jsonString(x.b.reply())
	}
	resp := chatCompletion{
		ID: id, Object: "chat.completion", Created: created, Model: model,
		Choices:           []chatChoice{choice},
		Usage:             x.b.chatUsage(),
		ServiceTier:       "default",
		SystemFingerprint: systemFingerprint,
	}
	if x.s.Dialect == Azure {
		resp.ServiceTier = ""
		resp.PromptFilterResults = azurePromptFilterResults
		resp.Choices[0].ContentFilterResults = azureContentFilterResults
		if tc != nil {
			resp.Choices[0].ContentFilterResults = json.RawMessage("{}")
		}
	}
	x.writeJSON(http.StatusOK, x.openAIHeaders(), resp)
}

// chatStream streams a chat completion as chunk objects, "data: {...}"
// events without event names, ending with "data: [DONE]". With
// includeUsage (stream_options.include_usage) every chunk has "usage": null
// and a last chunk with "choices": [] carries the usage. With obfuscate
// (OpenAI's default, stream_options.include_obfuscation) every chunk has
// an "obfuscation" padding string.
func (x *exchange) chatStream(id string, created int64, model string, tc *ToolCall, includeUsage, obfuscate bool) {
	azure := x.s.Dialect == Azure
	x.startStream(x.openAIHeaders())

	chunk := func(delta chatDelta, finish string, filter json.RawMessage) chatChunk {
		c := chatChunk{
			ID: id, Object: "chat.completion.chunk", Created: created, Model: model,
			SystemFingerprint: jsonString(systemFingerprint),
			Choices: []chunkChoice{{
				Delta: delta, Logprobs: jsonNull, FinishReason: jsonNull,
			}},
		}
		if !azure {
			c.ServiceTier = "default"
		} else {
			c.Choices[0].ContentFilterResults = filter
		}
		if finish != "" {
			c.Choices[0].FinishReason = jsonString(finish)
		}
		if includeUsage {
			c.Usage = jsonNull
		}
		return c
	}
	var events []any
	if azure {
		// Azure first sends the prompt's filter results in a chunk without
		// choices, id, model or object.
		pre := chatChunk{Choices: []chunkChoice{}, PromptFilterResults: azurePromptFilterResults}
		if includeUsage {
			pre.Usage = jsonNull
		}
		events = append(events, pre)
	}
	empty := json.RawMessage("{}")
	if tc != nil {
		zero := 0
		events = append(events, chunk(chatDelta{
			Role: "assistant", Content: jsonNull, Refusal: jsonNull,
			ToolCalls: []chatToolCall{{
				Index: &zero, ID: tc.ID, Type: "function",
				Function: chatToolFunction{Name: tc.Name, Arguments: ""},
			}},
		}, "", empty))
		for _, piece := range splitArgs(tc.Arguments, 8) {
			events = append(events, chunk(chatDelta{ToolCalls: []chatToolCall{{
				Index: &zero, Function: chatToolFunction{Arguments: piece},
			}}}, "", empty))
		}
		events = append(events, chunk(chatDelta{}, "tool_calls", empty))
	} else {
		events = append(events, chunk(chatDelta{Role: "assistant", Content: jsonString(""), Refusal: jsonNull}, "", empty))
		for _, piece := range splitText(x.b.reply()) {
			events = append(events, chunk(chatDelta{Content: jsonString(piece)}, "", azureContentFilterResults))
		}
		events = append(events, chunk(chatDelta{}, "stop", empty))
	}
	if includeUsage {
		u, _ := json.Marshal(x.b.chatUsage())
		last := chatChunk{
			ID: id, Object: "chat.completion.chunk", Created: created, Model: model,
			SystemFingerprint: jsonString(systemFingerprint),
			Choices:           []chunkChoice{},
			Usage:             u,
		}
		if !azure {
			last.ServiceTier = "default"
		}
		events = append(events, last)
	}
	if obfuscate {
		for i, e := range events {
			if c, ok := e.(chatChunk); ok {
				c.Obfuscation = obfuscation()
				events[i] = c
			}
		}
	}
	events = append(events, "[DONE]")
	for _, e := range events {
		if x.event("", e) != nil {
			return
		}
	}
}

// obfuscation returns a random padding string for the "obfuscation" field
// of streamed deltas.
func obfuscation() string {
	b := make([]byte, 1)
	_, _ = rand.Read(b)
	return randomID("", 4+int(b[0])%12)
}

// obfuscate reports whether stream obfuscation is on: it is by default,
// off with stream_options.include_obfuscation false.
func (rb requestBody) obfuscate() bool {
	o := rb.StreamOptions
	return o == nil || o.IncludeObfuscation == nil || *o.IncludeObfuscation
}

// ---- Responses API ----

// responseObject is the Responses API response object.
type responseObject struct {
	ID                 string          `json:"id"`
	Object             string          `json:"object"`
	CreatedAt          int64           `json:"created_at"`
	Status             string          `json:"status"`
	Background         bool            `json:"background"`
	Error              json.RawMessage `json:"error"`
	IncompleteDetails  json.RawMessage `json:"incomplete_details"`
	Instructions       json.RawMessage `json:"instructions"`
	MaxOutputTokens    json.RawMessage `json:"max_output_tokens"`
	Model              string          `json:"model"`
	Output             []any           `json:"output"`
	ParallelToolCalls  bool            `json:"parallel_tool_calls"`
	PreviousResponseID json.RawMessage `json:"previous_response_id"`
	Reasoning          struct {
		Effort  json.RawMessage `json:"effort"`
		Summary json.RawMessage `json:"summary"`
	} `json:"reasoning"`
	ServiceTier string          `json:"service_tier"`
	Store       bool            `json:"store"`
	Temperature json.RawMessage `json:"temperature"`
	Text        struct {
		Format struct {
			Type string `json:"type"`
		} `json:"format"`
	} `json:"text"`
	ToolChoice json.RawMessage `json:"tool_choice"`
	Tools      json.RawMessage `json:"tools"`
	TopP       json.RawMessage `json:"top_p"`
	Truncation string          `json:"truncation"`
	Usage      *responseUsage  `json:"usage"`
	User       json.RawMessage `json:"user"`
	Metadata   json.RawMessage `json:"metadata"`
}

// responseUsage is the usage object of the Responses API.
type responseUsage struct {
	InputTokens        int `json:"input_tokens"`
	InputTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	OutputTokens        int `json:"output_tokens"`
	OutputTokensDetails struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
	TotalTokens int `json:"total_tokens"`
}

// outputMessage is a "message" output item.
type outputMessage struct {
	ID      string       `json:"id"`
	Type    string       `json:"type"`
	Status  string       `json:"status"`
	Content []outputText `json:"content"`
	Role    string       `json:"role"`
}

// outputText is an "output_text" content part.
type outputText struct {
	Type        string `json:"type"`
	Annotations []any  `json:"annotations"`
	Logprobs    []any  `json:"logprobs"`
	Text        string `json:"text"`
}

// functionCallItem is a "function_call" output item.
type functionCallItem struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Status    string `json:"status"`
	Arguments string `json:"arguments"`
	CallID    string `json:"call_id"`
	Name      string `json:"name"`
}

// responseEvent is one Responses API streaming event; each type uses a
// subset of the fields.
type responseEvent struct {
	Type           string          `json:"type"`
	SequenceNumber int             `json:"sequence_number"`
	Response       *responseObject `json:"response,omitempty"`
	OutputIndex    *int            `json:"output_index,omitempty"`
	ItemID         string          `json:"item_id,omitempty"`
	ContentIndex   *int            `json:"content_index,omitempty"`
	Item           any             `json:"item,omitempty"`
	Part           *outputText     `json:"part,omitempty"`
	Delta          *string         `json:"delta,omitempty"`
	Text           *string         `json:"text,omitempty"`
	Name           string          `json:"name,omitempty"`
	Arguments      *string         `json:"arguments,omitempty"`
	Logprobs       json.RawMessage `json:"logprobs,omitempty"`
	Obfuscation    string          `json:"obfuscation,omitempty"`
}

// responses answers POST .../responses (OpenAI, and Azure's
// /openai/responses and /openai/v1/responses).
func (x *exchange) responses() {
	rb, ok := x.parseOpenAIBody(true)
	if !ok {
		return
	}
	tc := x.b.toolCall(rb.Tools)
	if tc != nil && tc.ID == "" {
		tc.ID = randomID("call_", 24)
	}
	orNull := func(raw json.RawMessage, def string) json.RawMessage {
		if present(raw) {
			return raw
		}
		return json.RawMessage(def)
	}
	resp := responseObject{
		ID: randomHex("resp_", 24), Object: "response", CreatedAt: time.Now().Unix(),
		Status: "in_progress", Error: jsonNull, IncompleteDetails: jsonNull,
		Instructions:       orNull(rb.Instructions, "null"),
		MaxOutputTokens:    orNull(rb.MaxOutputTokens, "null"),
		Model:              rb.Model,
		Output:             []any{},
		ParallelToolCalls:  true,
		PreviousResponseID: jsonNull,
		ServiceTier:        "default",
		Store:              true,
		Temperature:        orNull(rb.Temperature, "1.0"),
		ToolChoice:         orNull(rb.ToolChoice, `"auto"`),
		Tools:              orNull(rb.Tools, "[]"),
		TopP:               orNull(rb.TopP, "1.0"),
		Truncation:         "disabled",
		User:               jsonNull,
		Metadata:           orNull(rb.Metadata, "{}"),
	}
	resp.Reasoning.Effort, resp.Reasoning.Summary = jsonNull, jsonNull
	resp.Text.Format.Type = "text"
	if rb.PreviousResponseID != "" {
		resp.PreviousResponseID = jsonString(rb.PreviousResponseID)
	}
	usage := &responseUsage{InputTokens: x.b.inputTokens(), OutputTokens: x.b.outputTokens()}
	usage.InputTokensDetails.CachedTokens = x.b.cachedTokens()
	usage.TotalTokens = usage.InputTokens + usage.OutputTokens

	text := x.b.reply()
	msg := outputMessage{ID: randomHex("msg_", 24), Type: "message", Status: "completed", Role: "assistant"}
	part := outputText{Type: "output_text", Annotations: []any{}, Logprobs: []any{}, Text: text}
	var call functionCallItem
	if tc != nil {
		call = functionCallItem{ID: randomHex("fc_", 24), Type: "function_call", Status: "completed",
			Arguments: tc.Arguments, CallID: tc.ID, Name: tc.Name}
	}
	final := resp
	final.Status = "completed"
	final.Usage = usage
	if tc != nil {
		final.Output = []any{call}
	} else {
		msg.Content = []outputText{part}
		final.Output = []any{msg}
	}
	if !rb.Stream {
		x.writeJSON(http.StatusOK, x.openAIHeaders(), final)
		return
	}

	obfuscate := rb.obfuscate()
	zero := 0
	var events []responseEvent
	add := func(e responseEvent) {
		e.SequenceNumber = len(events)
		events = append(events, e)
	}
	obf := func() string {
		if !obfuscate {
			return ""
		}
		return obfuscation()
	}
	add(responseEvent{Type: "response.created", Response: &resp})
	add(responseEvent{Type: "response.in_progress", Response: &resp})
	if tc != nil {
		started := call
		started.Status, started.Arguments = "in_progress", ""
		add(responseEvent{Type: "response.output_item.added", OutputIndex: &zero, Item: started})
		for _, piece := range splitArgs(tc.Arguments, 8) {
			add(responseEvent{Type: "response.function_call_arguments.delta", ItemID: call.ID, OutputIndex: &zero, Delta: &piece, Obfuscation: obf()})
		}
		add(responseEvent{Type: "response.function_call_arguments.done", ItemID: call.ID, OutputIndex: &zero, Name: call.Name, Arguments: &call.Arguments})
		add(responseEvent{Type: "response.output_item.done", OutputIndex: &zero, Item: call})
	} else {
		started := msg
		started.Status, started.Content = "in_progress", []outputText{}
		emptyPart := part
		emptyPart.Text = ""
		add(responseEvent{Type: "response.output_item.added", OutputIndex: &zero, Item: started})
		add(responseEvent{Type: "response.content_part.added", ItemID: msg.ID, OutputIndex: &zero, ContentIndex: &zero, Part: &emptyPart})
		for _, piece := range splitText(text) {
			add(responseEvent{Type: "response.output_text.delta", ItemID: msg.ID, OutputIndex: &zero, ContentIndex: &zero, Delta: &piece, Logprobs: emptyArray, Obfuscation: obf()})
		}
		add(responseEvent{Type: "response.output_text.done", ItemID: msg.ID, OutputIndex: &zero, ContentIndex: &zero, Text: &text, Logprobs: emptyArray})
		add(responseEvent{Type: "response.content_part.done", ItemID: msg.ID, OutputIndex: &zero, ContentIndex: &zero, Part: &part})
		add(responseEvent{Type: "response.output_item.done", OutputIndex: &zero, Item: msg})
	}
	add(responseEvent{Type: "response.completed", Response: &final})

	x.startStream(x.openAIHeaders())
	for _, e := range events {
		if x.event(e.Type, e) != nil {
			return
		}
	}
}

// ---- embeddings ----

type embeddingList struct {
	Object string      `json:"object"`
	Data   []embedding `json:"data"`
	Model  string      `json:"model"`
	Usage  struct {
		PromptTokens int `json:"prompt_tokens"`
		TotalTokens  int `json:"total_tokens"`
	} `json:"usage"`
}

type embedding struct {
	Object    string `json:"object"`
	Index     int    `json:"index"`
	Embedding any    `json:"embedding"`
}

// embeddings answers POST .../embeddings: one deterministic unit vector
// per input (a string, an array of strings, an array of tokens or an array
// of token arrays), as floats or, with "encoding_format": "base64", as
// base64 of little-endian float32s.
func (x *exchange) embeddings(deployment string) {
	rb, ok := x.parseOpenAIBody(deployment == "")
	if !ok {
		return
	}
	model := rb.Model
	if deployment != "" {
		model = deployment
	}
	if !present(rb.Input) {
		x.missingParam("input")
		return
	}
	inputs, ok := embeddingInputs(rb.Input)
	if !ok {
		x.openAIError(http.StatusBadRequest, "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.", "invalid_request_error", "", "")
		return
	}
	dims := DefaultEmbeddingDimensions
	if rb.Dimensions < 0 || rb.Dimensions > 3072 {
		x.openAIError(http.StatusBadRequest, fmt.Sprintf("Invalid value for 'dimensions' = %d. Must be between 1 and 3072.", rb.Dimensions), "invalid_request_error", "dimensions", "")
		return
	}
	if rb.Dimensions > 0 {
		dims = rb.Dimensions
	}
	if rb.EncodingFormat != "" && rb.EncodingFormat != "float" && rb.EncodingFormat != "base64" {
		x.openAIError(http.StatusBadRequest, fmt.Sprintf("Invalid value for 'encoding_format': '%s'. Supported values are: 'float' and 'base64'.", rb.EncodingFormat), "invalid_request_error", "encoding_format", "")
		return
	}
	resp := embeddingList{Object: "list", Model: model, Data: []embedding{}}
	for i, in := range inputs {
		vec := EmbeddingVector(in, dims)
		var v any = vec
		if rb.EncodingFormat == "base64" {
			buf := make([]byte, 4*len(vec))
			for j, f := range vec {
				binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(f))
			}
			v = base64.StdEncoding.EncodeToString(buf)
		}
		resp.Data = append(resp.Data, embedding{Object: "embedding", Index: i, Embedding: v})
	}
	resp.Usage.PromptTokens = x.b.inputTokens()
	resp.Usage.TotalTokens = resp.Usage.PromptTokens
	x.writeJSON(http.StatusOK, x.openAIHeaders(), resp)
}

// embeddingInputs splits an embeddings input into the raw JSON of each
// input that gets its own vector.
func embeddingInputs(raw json.RawMessage) ([]json.RawMessage, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []json.RawMessage{raw}, true
	}
	var arr []json.RawMessage
	if json.Unmarshal(raw, &arr) != nil || len(arr) == 0 {
		return nil, false
	}
	var n float64
	if json.Unmarshal(arr[0], &n) == nil {
		// A single array of tokens.
		return []json.RawMessage{raw}, true
	}
	return arr, true
}

// EmbeddingVector returns the unit vector of dims float32s the fakes answer
// for one embeddings input, given as its raw JSON (for example `"hello"`
// with the quotes). Tests can use it to check the vectors a gateway relays.
func EmbeddingVector(input json.RawMessage, dims int) []float32 {
	vec := make([]float32, dims)
	var sum float64
	seed := sha256.Sum256(input)
	for i := range vec {
		h := sha256.Sum256(append(seed[:], byte(i), byte(i>>8)))
		f := float64(binary.LittleEndian.Uint32(h[:4]))/math.MaxUint32*2 - 1
		vec[i] = float32(f)
		sum += f * f
	}
	norm := math.Sqrt(sum)
	if norm == 0 {
		norm = 1
	}
	for i := range vec {
		vec[i] = float32(float64(vec[i]) / norm)
	}
	return vec
}

// ---- models ----

type modelObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// defaultOpenAIModels are the models listed when Behavior.Models is empty.
var defaultOpenAIModels = []string{"gpt-4o", "gpt-4o-mini", "text-embedding-3-small"}

func (x *exchange) modelIDs(defaults []string) []string {
	if len(x.b.Models) > 0 {
		return x.b.Models
	}
	return defaults
}

// listModels answers GET .../models with a list object.
func (x *exchange) listModels() {
	list := struct {
		Object string        `json:"object"`
		Data   []modelObject `json:"data"`
	}{Object: "list", Data: []modelObject{}}
	for _, id := range x.modelIDs(defaultOpenAIModels) {
		list.Data = append(list.Data, modelObject{ID: id, Object: "model", Created: 1686935002, OwnedBy: "system"})
	}
	x.writeJSON(http.StatusOK, x.openAIHeaders(), list)
}

// retrieveModel answers GET .../models/{model}.
func (x *exchange) retrieveModel(id string) {
	for _, m := range x.modelIDs(defaultOpenAIModels) {
		if m == id {
			x.writeJSON(http.StatusOK, x.openAIHeaders(), modelObject{ID: id, Object: "model", Created: 1686935002, OwnedBy: "system"})
			return
		}
	}
	x.openAIError(http.StatusNotFound, fmt.Sprintf("The model '%s' does not exist", id), "invalid_request_error", "model", "model_not_found")
}
