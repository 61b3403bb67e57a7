package anthropic

import "github.com/go-json-experiment/json/jsontext"

// This file holds the wire types of the Anthropic Messages API: the shapes
// this package writes (…Out, written by hand in encode.go, exactly the
// documented fields in the order of the API reference) and the answers and
// stream events it reads (…In, read with json.Unmarshal, unknown fields
// ignored). Requests are read token by token (decode_request.go).

// ---- requests, written ----

// requestOut is the body EncodeRequest writes (see appendRequest).
type requestOut struct {
	Model          string
	MaxTokens      int64
	SystemText     string     // system as a string, or
	SystemBlocks   []blockOut // system as text blocks
	Messages       []messageOut
	UserID         string
	StopSequences  []string
	Stream         bool
	Temperature    *float64
	TopK           *int64
	TopP           *float64
	ThinkingBudget int64 // thinking {enabled, budget_tokens} when > 0
	// ThinkingEffort, when set, asks for adaptive thinking instead:
	// thinking {type: adaptive} and output_config {effort}.
	ThinkingEffort string
	Tools          []toolOut
	ToolChoice     *toolChoiceOut
}

type messageOut struct {
	Role    string
	Content []blockOut
}

// blockOut is a content block written in a request or a response (see
// appendBlock). The pointer fields are written when set, even empty.
type blockOut struct {
	Type      string
	Text      *string
	Source    *sourceOut
	ID        string
	Name      *string
	Input     jsontext.Value
	ToolUseID string
	Content   []blockOut // tool_result
	IsError   bool
	Thinking  *string
	Signature *string
	Data      *string
}

type sourceOut struct {
	Type      string // base64 or url
	MediaType string
	Data      string
	URL       string
}

type toolOut struct {
	Name        string
	Description string
	InputSchema jsontext.Value
}

type toolChoiceOut struct {
	Type                   string
	Name                   string
	DisableParallelToolUse bool
}

// ---- responses, read ----

// messageRespIn is a Message object (a whole answer, or the message of a
// message_start event).
type messageRespIn struct {
	Type         string        `json:"type"`
	ID           string        `json:"id"`
	Model        string        `json:"model"`
	Content      []blockRespIn `json:"content"`
	StopReason   *string       `json:"stop_reason"`
	StopSequence *string       `json:"stop_sequence"`
	Usage        *usageIn      `json:"usage"`
	Error        *errorIn      `json:"error"`
}

// blockRespIn is a content block of an answer.
type blockRespIn struct {
	Type      string         `json:"type"`
	Text      string         `json:"text"`
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	Input     jsontext.Value `json:"input"`
	Thinking  string         `json:"thinking"`
	Signature string         `json:"signature"`
	Data      string         `json:"data"`
}

// usageIn is Anthropic's usage object; nil fields were absent or null
// (message_delta sends null for the counts it does not update).
type usageIn struct {
	InputTokens              *int64              `json:"input_tokens"`
	OutputTokens             *int64              `json:"output_tokens"`
	CacheCreationInputTokens *int64              `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int64              `json:"cache_read_input_tokens"`
	OutputTokensDetails      *outputTokenDetails `json:"output_tokens_details"`
}

type outputTokenDetails struct {
	ThinkingTokens *int64 `json:"thinking_tokens"`
}

// errorIn is the error object of an error body or event.
type errorIn struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// ---- responses, written ----

// messageRespOut is the Message object EncodeResponse writes (see
// appendMessage).
type messageRespOut struct {
	ID           string
	Model        string
	Content      []blockOut
	StopReason   string
	StopSequence *string
	Usage        usageOut
}

// usageOut is a usage object in Anthropic's sense.
type usageOut struct {
	InputTokens              int64
	CacheCreationInputTokens int64
	CacheReadInputTokens     int64
	OutputTokens             int64
}

// ---- stream events, read ----

// eventIn is any stream event: message_start, content_block_start,
// content_block_delta, content_block_stop, message_delta, message_stop,
// ping, error.
type eventIn struct {
	Type         string         `json:"type"`
	Message      *messageRespIn `json:"message"`
	Index        int            `json:"index"`
	ContentBlock *blockRespIn   `json:"content_block"`
	Delta        deltaIn        `json:"delta"`
	Usage        *usageIn       `json:"usage"`
	Error        *errorIn       `json:"error"`
}

// deltaIn is the delta of a content_block_delta or a message_delta event.
type deltaIn struct {
	Type         string  `json:"type"`
	Text         string  `json:"text"`
	PartialJSON  string  `json:"partial_json"`
	Thinking     string  `json:"thinking"`
	Signature    string  `json:"signature"`
	StopReason   *string `json:"stop_reason"`
	StopSequence *string `json:"stop_sequence"`
}
