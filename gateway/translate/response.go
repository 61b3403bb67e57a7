package translate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// anthResponse is the subset of the Anthropic Message object this package
// reads (also used for the message in a message_start event).
type anthResponse struct {
	Type       string          `json:"type"`
	ID         string          `json:"id"`
	Model      string          `json:"model"`
	Content    []anthRespBlock `json:"content"`
	StopReason *string         `json:"stop_reason"`
	Usage      *anthUsage      `json:"usage"`
}

type anthRespBlock struct {
	Type  string          `json:"type"`
	Text  string          `json:"text"`
	ID    string          `json:"id"`
	Name  string          `json:"name"`
	Input json.RawMessage `json:"input"`
}

// anthUsage is Anthropic's usage object; nil fields were absent or null.
type anthUsage struct {
	InputTokens              *int64 `json:"input_tokens"`
	OutputTokens             *int64 `json:"output_tokens"`
	CacheCreationInputTokens *int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int64 `json:"cache_read_input_tokens"`
}

// tokenCounts accumulates the Anthropic token counts of one message.
type tokenCounts struct {
	input, output, cacheRead, cacheCreation int64
}

// update replaces the counts present in u (Anthropic reports cumulative
// values, so the latest value wins).
func (t *tokenCounts) update(u *anthUsage) {
	if u == nil {
		return
	}
	set := func(dst *int64, src *int64) {
		if src != nil {
			*dst = *src
		}
	}
	set(&t.input, u.InputTokens)
	set(&t.output, u.OutputTokens)
	set(&t.cacheRead, u.CacheReadInputTokens)
	set(&t.cacheCreation, u.CacheCreationInputTokens)
}

// chat returns the OpenAI usage object for these counts.
func (t tokenCounts) chat() *chatUsage {
	prompt := t.input + t.cacheRead + t.cacheCreation
	return &chatUsage{
		PromptTokens:        prompt,
		CompletionTokens:    t.output,
		TotalTokens:         prompt + t.output,
		PromptTokensDetails: promptTokensDetails{CachedTokens: t.cacheRead},
	}
}

// OpenAI chat.completion object.
type chatCompletion struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"`
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []chatChoice `json:"choices"`
	Usage   *chatUsage   `json:"usage"`
}

type chatChoice struct {
	Index        int         `json:"index"`
	Message      chatMessage `json:"message"`
	Logprobs     any         `json:"logprobs"` // always null
	FinishReason string      `json:"finish_reason"`
}

type chatMessage struct {
	Role      string         `json:"role"`
	Content   *string        `json:"content"`
	ToolCalls []chatToolCall `json:"tool_calls,omitempty"`
	Refusal   *string        `json:"refusal"` // always null
}

type chatToolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function chatFunction `json:"function"`
}

type chatFunction struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

type chatUsage struct {
	PromptTokens        int64               `json:"prompt_tokens"`
	CompletionTokens    int64               `json:"completion_tokens"`
	TotalTokens         int64               `json:"total_tokens"`
	PromptTokensDetails promptTokensDetails `json:"prompt_tokens_details"`
}

type promptTokensDetails struct {
	CachedTokens int64 `json:"cached_tokens"`
}

// MessagesToChatResponse converts a non-streaming Anthropic Messages response
// body into an OpenAI chat.completion object body. created is the unix time
// to put in "created".
//
// Text blocks are concatenated into message.content (null when there is no
// text block), tool_use blocks become message.tool_calls with the input
// re-encoded as a compact JSON arguments string, and thinking,
// redacted_thinking and server-tool blocks are dropped. If body is an
// Anthropic error envelope the error is returned as an *UpstreamError.
func MessagesToChatResponse(body []byte, created int64) ([]byte, error) {
	if ue := parseAnthropicError(body); ue != nil {
		return nil, ue
	}
	var msg anthResponse
	if err := json.Unmarshal(body, &msg); err != nil {
		return nil, fmt.Errorf("translate: invalid Anthropic Messages response: %w", err)
	}
	if msg.Type != "" && msg.Type != "message" {
		return nil, fmt.Errorf("translate: unexpected Anthropic response type %q", msg.Type)
	}

	var text strings.Builder
	hasText := false
	var calls []chatToolCall
	for _, b := range msg.Content {
		switch b.Type {
		case "text":
			hasText = true
			text.WriteString(b.Text)
		case "tool_use":
			calls = append(calls, chatToolCall{
				ID:       b.ID,
				Type:     "function",
				Function: chatFunction{Name: b.Name, Arguments: compactArguments(b.Input)},
			})
		}
	}
	message := chatMessage{Role: "assistant", ToolCalls: calls}
	if hasText {
		s := text.String()
		message.Content = &s
	}

	stop := ""
	if msg.StopReason != nil {
		stop = *msg.StopReason
	}
	var counts tokenCounts
	counts.update(msg.Usage)

	return marshal(chatCompletion{
		ID:      msg.ID,
		Object:  "chat.completion",
		Created: created,
		Model:   msg.Model,
		Choices: []chatChoice{{
			Index:        0,
			Message:      message,
			FinishReason: FinishReason(stop),
		}},
		Usage: counts.chat(),
	})
}

// compactArguments renders a tool_use input as a compact JSON string,
// defaulting to "{}".
func compactArguments(input json.RawMessage) string {
	if len(bytes.TrimSpace(input)) == 0 || bytes.Equal(bytes.TrimSpace(input), []byte("null")) {
		return "{}"
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, input); err != nil {
		return string(input)
	}
	return buf.String()
}

// FinishReason maps an Anthropic stop_reason to an OpenAI finish_reason:
// end_turn, stop_sequence and pause_turn -> "stop"; max_tokens and
// model_context_window_exceeded -> "length"; tool_use -> "tool_calls";
// refusal -> "content_filter". Empty or unknown values map to "stop".
func FinishReason(stopReason string) string {
	switch stopReason {
	case "max_tokens", "model_context_window_exceeded":
		return "length"
	case "tool_use":
		return "tool_calls"
	case "refusal":
		return "content_filter"
	default: // end_turn, stop_sequence, pause_turn, unknown
		return "stop"
	}
}

// StopReason maps an OpenAI finish_reason to an Anthropic stop_reason:
// "stop" -> "end_turn", "length" -> "max_tokens", "tool_calls" and
// "function_call" -> "tool_use", "content_filter" -> "refusal". Empty or
// unknown values map to "end_turn".
func StopReason(finishReason string) string {
	switch finishReason {
	case "length":
		return "max_tokens"
	case "tool_calls", "function_call":
		return "tool_use"
	case "content_filter":
		return "refusal"
	default: // stop, unknown
		return "end_turn"
	}
}
