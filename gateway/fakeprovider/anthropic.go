package fakeprovider

// The Anthropic Messages API, as documented by the Anthropic API reference
// (https://docs.anthropic.com/en/api): POST /v1/messages (the Message
// object, and its stream of message_start, content_block_start, ping,
// content_block_delta, content_block_stop, message_delta and message_stop
// events), POST /v1/messages/count_tokens, GET /v1/models, and the error
// shape {"type":"error","error":{"type","message"},"request_id"}.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// serveAnthropic answers a request to an Anthropic fake.
func (s *Server) serveAnthropic(x *exchange) {
	x.requestID = randomID("req_011C", 20)
	switch key := x.r.Header.Get("x-api-key"); {
	case key == "":
		x.anthropicError(http.StatusUnauthorized, "authentication_error", "x-api-key header is required")
		return
	case key != s.key:
		x.anthropicError(http.StatusUnauthorized, "authentication_error", "invalid x-api-key")
		return
	}
	if x.r.Header.Get("anthropic-version") == "" {
		x.anthropicError(http.StatusBadRequest, "invalid_request_error", "anthropic-version: header is required")
		return
	}
	if x.b.Status >= 400 {
		x.statusError()
		return
	}
	path := x.r.URL.Path
	post, get := x.r.Method == http.MethodPost, x.r.Method == http.MethodGet
	switch {
	case path == "/v1/messages" && post:
		x.messages()
	case path == "/v1/messages/count_tokens" && post:
		x.countTokens()
	case path == "/v1/models" && get:
		x.anthropicModels()
	case strings.HasPrefix(path, "/v1/models/") && get:
		x.anthropicModel(strings.TrimPrefix(path, "/v1/models/"))
	case path == "/v1/messages" || path == "/v1/messages/count_tokens":
		x.anthropicError(http.StatusMethodNotAllowed, "invalid_request_error", "Method Not Allowed")
	default:
		x.anthropicError(http.StatusNotFound, "not_found_error", "Not Found")
	}
}

// anthropicHeaders are the headers Anthropic sends on every response.
func (x *exchange) anthropicHeaders() http.Header {
	if x.requestID == "" {
		x.requestID = randomID("req_011C", 20)
	}
	reset := time.Now().Add(time.Minute).UTC().Format(time.RFC3339)
	return http.Header{
		"Request-Id":                             {x.requestID},
		"Anthropic-Organization-Id":              {"00000000-0000-4000-8000-000000000000"},
		"Anthropic-Ratelimit-Requests-Limit":     {"4000"},
		"Anthropic-Ratelimit-Requests-Remaining": {"3999"},
		"Anthropic-Ratelimit-Requests-Reset":     {reset},
		"Anthropic-Ratelimit-Tokens-Limit":       {"400000"},
		"Anthropic-Ratelimit-Tokens-Remaining":   {"399980"},
		"Anthropic-Ratelimit-Tokens-Reset":       {reset},
	}
}

// anthropicError answers status with
// {"type":"error","error":{"type","message"},"request_id"}.
func (x *exchange) anthropicError(status int, typ, message string) {
	headers := x.anthropicHeaders()
	body := struct {
		Type  string `json:"type"`
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
		RequestID string `json:"request_id"`
	}{Type: "error", RequestID: x.requestID}
	body.Error.Type, body.Error.Message = typ, message
	x.writeJSON(status, headers, body)
}

// anthropicStatusError answers status with the error type Anthropic
// documents for it.
func (x *exchange) anthropicStatusError(status int) {
	typ, msg := "invalid_request_error", http.StatusText(status)
	switch status {
	case http.StatusUnauthorized:
		typ, msg = "authentication_error", "invalid x-api-key"
	case http.StatusForbidden:
		typ, msg = "permission_error", "Your API key does not have permission to use the specified resource."
	case http.StatusNotFound:
		typ, msg = "not_found_error", "The requested resource could not be found."
	case http.StatusRequestEntityTooLarge:
		typ, msg = "request_too_large", "Request exceeds the maximum allowed number of bytes."
	case http.StatusTooManyRequests:
		typ, msg = "rate_limit_error", "This request would exceed the rate limit for your organization. Please reduce the prompt length or the maximum tokens requested, or try again later."
	case 529:
		typ, msg = "overloaded_error", "Overloaded"
	default:
		if status >= 500 {
			typ, msg = "api_error", "Internal server error"
		}
	}
	x.anthropicError(status, typ, msg)
}

// anthropicUsage is the usage object of a Message.
type anthropicUsage struct {
	InputTokens              int `json:"input_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
	CacheCreation            struct {
		Ephemeral5mInputTokens int `json:"ephemeral_5m_input_tokens"`
		Ephemeral1hInputTokens int `json:"ephemeral_1h_input_tokens"`
	} `json:"cache_creation"`
	OutputTokens int    `json:"output_tokens"`
	ServiceTier  string `json:"service_tier"`
}

// anthropicDeltaUsage is the cumulative usage of a message_delta event.
type anthropicDeltaUsage struct {
	InputTokens              int `json:"input_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
	OutputTokens             int `json:"output_tokens"`
}

// anthropicMessage is the Message object.
type anthropicMessage struct {
	ID           string          `json:"id"`
	Type         string          `json:"type"`
	Role         string          `json:"role"`
	Model        string          `json:"model"`
	Content      []contentBlock  `json:"content"`
	StopReason   json.RawMessage `json:"stop_reason"`
	StopSequence json.RawMessage `json:"stop_sequence"`
	Usage        anthropicUsage  `json:"usage"`
}

// contentBlock is a "text" or "tool_use" content block.
type contentBlock struct {
	Type  string          `json:"type"`
	Text  *string         `json:"text,omitempty"`
	ID    string          `json:"id,omitempty"`
	Name  string          `json:"name,omitempty"`
	Input json.RawMessage `json:"input,omitempty"`
}

// parseAnthropicBody decodes a Messages request body, answering 400
// invalid_request_error when it is not a JSON object or lacks model or
// messages (or max_tokens, when needMaxTokens).
func (x *exchange) parseAnthropicBody(needMaxTokens bool) (requestBody, bool) {
	rb, err := parseBody(x.body)
	switch {
	case err != nil:
		x.anthropicError(http.StatusBadRequest, "invalid_request_error", "There was an error parsing the body of your request. Please make sure it is valid JSON.")
	case rb.Model == "":
		x.anthropicError(http.StatusBadRequest, "invalid_request_error", "model: Field required")
	case !present(rb.Messages):
		x.anthropicError(http.StatusBadRequest, "invalid_request_error", "messages: Field required")
	case needMaxTokens && !present(rb.MaxTokens):
		x.anthropicError(http.StatusBadRequest, "invalid_request_error", "max_tokens: Field required")
	default:
		return rb, true
	}
	return rb, false
}

// messages answers POST /v1/messages.
func (x *exchange) messages() {
	rb, ok := x.parseAnthropicBody(true)
	if !ok {
		return
	}
	tc := x.b.toolCall(rb.Tools)
	if tc != nil {
		if tc.ID == "" {
			tc.ID = randomID("toolu_01", 22)
		}
		if !json.Valid([]byte(tc.Arguments)) {
			tc.Arguments = "{}"
		}
	}
	usage := anthropicUsage{
		InputTokens:          x.b.inputTokens(),
		CacheReadInputTokens: x.b.cachedTokens(),
		OutputTokens:         x.b.outputTokens(),
		ServiceTier:          "standard",
	}
	msg := anthropicMessage{
		ID: randomID("msg_01", 22), Type: "message", Role: "assistant", Model: rb.Model,
		StopReason: jsonString("end_turn"), StopSequence: jsonNull, Usage: usage,
	}
	text := x.b.reply()
	if tc != nil {
		msg.StopReason = jsonString("tool_use")
		msg.Content = []contentBlock{{Type: "tool_use", ID: tc.ID, Name: tc.Name, Input: json.RawMessage(tc.Arguments)}}
	} else {
		msg.Content = []contentBlock{{Type: "text", Text: &text}}
	}
	if !rb.Stream {
		x.writeJSON(http.StatusOK, x.anthropicHeaders(), msg)
		return
	}

	zero := 0
	start := msg
	start.Content = []contentBlock{}
	start.StopReason = jsonNull
	start.Usage.OutputTokens = min(1, usage.OutputTokens)
	events := []anthropicEvent{
		{Type: "message_start", Message: &start},
	}
	if tc != nil {
		events = append(events,
			anthropicEvent{Type: "content_block_start", Index: &zero, ContentBlock: &contentBlock{Type: "tool_use", ID: tc.ID, Name: tc.Name, Input: json.RawMessage("{}")}},
			anthropicEvent{Type: "ping"})
		for _, piece := range splitArgs(tc.Arguments, 8) {
			events = append(events, anthropicEvent{Type: "content_block_delta", Index: &zero, Delta: blockDelta{Type: "input_json_delta", PartialJSON: &piece}})
		}
	} else {
		empty := ""
		events = append(events,
			anthropicEvent{Type: "content_block_start", Index: &zero, ContentBlock: &contentBlock{Type: "text", Text: &empty}},
			anthropicEvent{Type: "ping"})
		for _, piece := range splitText(text) {
			events = append(events, anthropicEvent{Type: "content_block_delta", Index: &zero, Delta: blockDelta{Type: "text_delta", Text: &piece}})
		}
	}
	events = append(events,
		anthropicEvent{Type: "content_block_stop", Index: &zero},
		anthropicEvent{
			Type:  "message_delta",
			Delta: messageDelta{StopReason: msg.StopReason, StopSequence: jsonNull},
			Usage: &anthropicDeltaUsage{
				InputTokens:          usage.InputTokens,
				CacheReadInputTokens: usage.CacheReadInputTokens,
				OutputTokens:         usage.OutputTokens,
			},
		},
		anthropicEvent{Type: "message_stop"},
	)
	x.startStream(x.anthropicHeaders())
	for _, e := range events {
		if x.event(e.Type, e) != nil {
			return
		}
	}
}

// anthropicEvent is one Messages streaming event ("event: <type>" with
// this as data); each type uses a subset of the fields.
type anthropicEvent struct {
	Type         string               `json:"type"`
	Message      *anthropicMessage    `json:"message,omitempty"`
	Index        *int                 `json:"index,omitempty"`
	ContentBlock *contentBlock        `json:"content_block,omitempty"`
	Delta        any                  `json:"delta,omitempty"`
	Usage        *anthropicDeltaUsage `json:"usage,omitempty"`
}

// blockDelta is the delta of a content_block_delta event.
type blockDelta struct {
	Type        string  `json:"type"`
	Text        *string `json:"text,omitempty"`
	PartialJSON *string `json:"partial_json,omitempty"`
}

// messageDelta is the delta of a message_delta event.
type messageDelta struct {
	StopReason   json.RawMessage `json:"stop_reason"`
	StopSequence json.RawMessage `json:"stop_sequence"`
}

// countTokens answers POST /v1/messages/count_tokens with
// {"input_tokens": InputTokens}.
func (x *exchange) countTokens() {
	if _, ok := x.parseAnthropicBody(false); !ok {
		return
	}
	x.writeJSON(http.StatusOK, x.anthropicHeaders(), map[string]int{"input_tokens": x.b.inputTokens()})
}

// defaultAnthropicModels are the models listed when Behavior.Models is empty.
var defaultAnthropicModels = []string{"claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001", "claude-opus-4-1-20250805"}

type anthropicModelInfo struct {
	Type        string `json:"type"`
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	CreatedAt   string `json:"created_at"`
}

func anthropicModelOf(id string) anthropicModelInfo {
	return anthropicModelInfo{Type: "model", ID: id, DisplayName: id, CreatedAt: "2025-01-01T00:00:00Z"}
}

// anthropicModels answers GET /v1/models.
func (x *exchange) anthropicModels() {
	ids := x.modelIDs(defaultAnthropicModels)
	list := struct {
		Data    []anthropicModelInfo `json:"data"`
		HasMore bool                 `json:"has_more"`
		FirstID json.RawMessage      `json:"first_id"`
		LastID  json.RawMessage      `json:"last_id"`
	}{Data: []anthropicModelInfo{}, FirstID: jsonNull, LastID: jsonNull}
	for _, id := range ids {
		list.Data = append(list.Data, anthropicModelOf(id))
	}
	if len(ids) > 0 {
		list.FirstID, list.LastID = jsonString(ids[0]), jsonString(ids[len(ids)-1])
	}
	x.writeJSON(http.StatusOK, x.anthropicHeaders(), list)
}

// anthropicModel answers GET /v1/models/{model_id}.
func (x *exchange) anthropicModel(id string) {
	for _, m := range x.modelIDs(defaultAnthropicModels) {
		if m == id {
			x.writeJSON(http.StatusOK, x.anthropicHeaders(), anthropicModelOf(id))
			return
		}
	}
	x.anthropicError(http.StatusNotFound, "not_found_error", fmt.Sprintf("model: %s", id))
}
