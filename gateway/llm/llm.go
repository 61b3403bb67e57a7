// Package llm is the dialect-neutral model of a chat exchange: a request, a
// whole response and the events of a streamed response. Every wire dialect
// the gateway speaks (OpenAI Chat Completions, OpenAI Responses, Anthropic
// Messages, Gemini generateContent) has a codec package under
// gateway/dialect that decodes its bodies into these types and encodes them
// back, so that translating from any dialect to any other is one decode and
// one encode.
//
// The model holds what the dialects have in common and what can be carried
// across faithfully. A codec that meets a field it cannot express fails with
// an *Error (an HTTP 400 for the client), rather than silently dropping
// something that changes the answer (n > 1, a JSON schema the target cannot
// enforce…). Hints without an equivalent (an image "detail", a cache marker)
// are dropped, and each codec's package documentation says which.
//
// Conventions every codec follows:
//
//   - Usage counts are totals in OpenAI's sense: Input includes cached and
//     cache-written prompt tokens, Output includes reasoning tokens.
//     CacheRead, CacheWrite and Reasoning are the parts of those totals.
//   - Tool call arguments are always a JSON object (never a string holding
//     one); an empty or absent argument list is {}.
//   - A tool result names the call it answers by ID and, where the decoder
//     can find it in the conversation, by Name (Gemini needs the name, the
//     other dialects the ID). Decoders of dialects without call IDs (Gemini)
//     make up stable ones, and encoders of such dialects drop them.
//   - Images are base64 data with a media type, or a URL. Codecs never fetch
//     a URL.
//   - Part indexes in a stream count the parts of the response in the order
//     they begin: 0, 1, 2… A text part, a thinking part and a tool call
//     never share an index.
package llm

import (
	"fmt"

	"github.com/go-json-experiment/json/jsontext"
)

// Role is who said a message.
type Role string

// The roles of a conversation. System instructions are not messages: they
// are Request.System. Tool results are parts of user messages.
const (
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
)

// PartType is the kind of a content part.
type PartType uint8

// The kinds of content part.
const (
	// PartText is text: Text.
	PartText PartType = iota + 1
	// PartImage is an image: MediaType and base64 Data, or URL.
	PartImage
	// PartToolCall is the assistant calling a tool: ID, Name, Arguments.
	PartToolCall
	// PartToolResult is a tool's result in a user message: ID (the call
	// answered), Name (the tool, when known), Content (text and image
	// parts), IsError.
	PartToolResult
	// PartThinking is the model's visible reasoning: Text, and the
	// provider's Signature where it gives one (Anthropic requires it back
	// on the next turn).
	PartThinking
	// PartRedactedThinking is reasoning the provider encrypted: Signature
	// holds the opaque data.
	PartRedactedThinking
)

// Part is one piece of a message's content.
type Part struct {
	Type PartType
	// Text is the text of a text or thinking part.
	Text string
	// Signature is a thinking part's signature, or a redacted thinking
	// part's opaque data. Gemini also signs text and function call parts
	// (thoughtSignature); its codec keeps those here and gives them back.
	Signature string
	// MediaType ("image/png"…) and Data (base64, no data: prefix) hold an
	// inline image; URL a remote one.
	MediaType, Data, URL string
	// ID is a tool call's ID, or the ID of the call a tool result answers.
	ID string
	// Name is the tool's name, for a call and (when known) a result.
	Name string
	// Arguments is a tool call's arguments: a JSON object.
	Arguments jsontext.Value
	// Content is a tool result's content: text and image parts.
	Content []Part
	// IsError marks a tool result that reports a failure.
	IsError bool
}

// Message is one turn of the conversation.
type Message struct {
	Role  Role
	Parts []Part
}

// Tool is a function the model may call.
type Tool struct {
	Name        string
	Description string
	// Parameters is the JSON Schema of the arguments, an object schema;
	// nil when the tool takes none.
	Parameters jsontext.Value
}

// ToolMode says whether and how the model must call tools.
type ToolMode string

// The tool modes. The zero value leaves the choice to the provider's
// default (auto when tools are given).
const (
	ToolAuto     ToolMode = "auto"
	ToolNone     ToolMode = "none"
	ToolRequired ToolMode = "required" // some tool must be called
	ToolNamed    ToolMode = "tool"     // ToolChoice.Name must be called
)

// ToolChoice is the request's tool_choice.
type ToolChoice struct {
	Mode ToolMode
	// Name is the tool to call when Mode is ToolNamed.
	Name string
	// Allowed, when not empty, restricts the callable tools to these names
	// (OpenAI allowed_tools, Gemini allowedFunctionNames).
	Allowed []string
}

// Reasoning asks for the model's extended thinking.
type Reasoning struct {
	// Effort is "minimal", "low", "medium", "high" or "xhigh" (OpenAI);
	// empty when the client gave a budget instead. A Reasoning with
	// neither an effort nor a budget asks for thinking at the provider's
	// default.
	Effort string
	// BudgetTokens is the thinking budget (Anthropic budget_tokens, Gemini
	// thinkingBudget); 0 when the client gave an effort.
	BudgetTokens int64
	// Disabled: the client turned thinking off explicitly.
	Disabled bool
}

// ResponseFormat asks for JSON output.
type ResponseFormat struct {
	// Type is "json_object" or "json_schema".
	Type string
	// Name and Schema describe a json_schema format; Strict asks for exact
	// adherence.
	Name   string
	Schema jsontext.Value
	Strict bool
}

// Request is a chat request.
type Request struct {
	// Model is the model the client asked for (the gateway routes on it
	// and encoders write the upstream model from EncodeOptions instead).
	Model string
	// System holds the system (and developer) instructions, in order, as
	// text parts.
	System   []Part
	Messages []Message
	Tools    []Tool
	// ToolChoice is the tool choice; the zero value is none given.
	ToolChoice ToolChoice
	// ParallelToolCalls is nil unless the client said whether the model
	// may call several tools in one turn.
	ParallelToolCalls *bool
	// MaxTokens caps the output; 0 when not given.
	MaxTokens int64
	// Sampling parameters; nil when not given.
	Temperature, TopP, PresencePenalty, FrequencyPenalty *float64
	TopK, Seed                                           *int64
	// Stop holds stop sequences.
	Stop []string
	// Stream asks for a streamed answer.
	Stream bool
	// IncludeUsage: an OpenAI chat client asked for the usage chunk
	// (stream_options.include_usage).
	IncludeUsage bool
	// User identifies the end user to the provider (abuse monitoring).
	User string
	// Reasoning is nil unless the client configured thinking.
	Reasoning *Reasoning
	// ResponseFormat is nil for free text.
	ResponseFormat *ResponseFormat
	// Candidates is how many answers the client wants (OpenAI n, Gemini
	// candidateCount); 0 when not given. Encoders of dialects that return
	// one answer reject values above 1.
	Candidates int64
}

// Finish is why the model stopped.
type Finish string

// The finish reasons. Decoders map their dialect's reasons onto these;
// encoders map them back (stop_sequence is "stop" in OpenAI's dialects,
// refusal is "content_filter", and so on).
const (
	FinishStop          Finish = "stop"           // a natural end
	FinishStopSequence  Finish = "stop_sequence"  // a stop sequence matched: Response.StopSequence
	FinishLength        Finish = "length"         // the output cap
	FinishToolCalls     Finish = "tool_calls"     // the model called tools
	FinishContentFilter Finish = "content_filter" // a safety system stopped or blocked the answer
	FinishRefusal       Finish = "refusal"        // the model refused (Anthropic)
	FinishPause         Finish = "pause_turn"     // a long turn paused (Anthropic server tools)
)

// Usage counts tokens. See the package documentation for what each
// count includes.
type Usage struct {
	Input, Output, CacheRead, CacheWrite, Reasoning int64
}

// Response is a whole chat answer.
type Response struct {
	// ID is the provider's answer ID; encoders make one up when empty.
	ID string
	// Model is the model that answered.
	Model string
	// Parts holds the answer: text, thinking and tool call parts, in order.
	Parts        []Part
	Finish       Finish
	StopSequence string
	Usage        Usage
}

// EventType is the kind of a stream event.
type EventType uint8

// The stream events, in the order a stream sends them: one EventStart,
// then part events, then EventFinish and EventUsage (either order, the
// last EventUsage holding the totals), then EventEnd. EventError ends a
// stream that failed; nothing follows it.
const (
	// EventStart opens the answer: ID, Model, and Usage when the provider
	// reports the input at the start.
	EventStart EventType = iota + 1
	// EventText is a text delta for part Index: Text.
	EventText
	// EventThinking is a thinking delta for part Index: Text, or
	// Signature (which may arrive alone). Gemini may also sign a text or
	// tool call event: its Signature is then set.
	EventThinking
	// EventRedactedThinking is a whole redacted thinking part: Index,
	// Signature (the opaque data).
	EventRedactedThinking
	// EventToolCall opens tool call part Index: ID, Name.
	EventToolCall
	// EventToolArgs is a fragment of the JSON arguments of tool call part
	// Index: Text. Concatenated, the fragments form a JSON object.
	EventToolArgs
	// EventFinish says why the answer ended: Finish, StopSequence.
	EventFinish
	// EventUsage carries the usage so far, as totals (a later EventUsage
	// replaces an earlier one).
	EventUsage
	// EventEnd marks the successful end of the stream.
	EventEnd
	// EventError reports an error the provider sent mid-stream: Error.
	EventError
)

// Event is one step of a streamed answer.
type Event struct {
	Type         EventType
	Index        int
	Text         string
	Signature    string
	ID, Name     string
	Model        string
	Finish       Finish
	StopSequence string
	Usage        Usage
	Error        *UpstreamError
}

// StreamDecoder reads a provider's stream, one server-sent event at a time.
type StreamDecoder interface {
	// Decode reads one event (its SSE event name, which may be empty, and
	// its data) and calls emit for each neutral event it holds, in order.
	// The *Event passed to emit is only valid during the call. Decode
	// returns an error only for data it cannot read at all; an error the
	// provider reports is an EventError.
	Decode(name string, data []byte, emit func(*Event)) error
}

// StreamEncoder writes a stream in a client's dialect.
type StreamEncoder interface {
	// Encode appends the server-sent events (complete, with their
	// "event:"/"data:" lines and blank line) that e turns into to dst and
	// returns dst. It may hold information back (a finish reason until
	// the usage is known) and write it at EventEnd, where it also writes
	// the dialect's terminal event ("data: [DONE]", message_stop…).
	Encode(dst []byte, e *Event) []byte
}

// EncodeOptions are what an encoder of requests needs beyond the request.
type EncodeOptions struct {
	// Model is the upstream model to name in the body (dialects that put
	// the model in the URL ignore it).
	Model string
	// DefaultMaxTokens is the output cap to send when the request has none
	// and the target dialect requires one (Anthropic).
	DefaultMaxTokens int64
}

// ResponseOptions are what an encoder of responses and streams needs
// beyond the response.
type ResponseOptions struct {
	// Created is the Unix time to stamp on OpenAI objects.
	Created int64
	// IncludeUsage: write the usage chunk of an OpenAI chat stream (the
	// client asked for it).
	IncludeUsage bool
}

// Error is a problem with a request that makes it untranslatable: the
// client gets it as a 400.
type Error struct {
	// Param names the offending field in the client's dialect
	// ("messages[2].content[1].image_url.url"), or is empty.
	Param   string
	Message string
}

// Error returns the message, prefixed with the parameter when known.
func (e *Error) Error() string {
	if e.Param == "" {
		return e.Message
	}
	return e.Param + ": " + e.Message
}

// Errorf builds an *Error for param with a formatted message.
func Errorf(param, format string, args ...any) *Error {
	return &Error{Param: param, Message: fmt.Sprintf(format, args...)}
}

// UpstreamError is an error a provider reported in a body or a stream.
type UpstreamError struct {
	// Type is the provider's error type or status ("overloaded_error",
	// "server_error", "RESOURCE_EXHAUSTED"…), as it sent it.
	Type    string
	Message string
	// Status is the HTTP status the error corresponds to, when known.
	Status int
}

// Error describes the upstream error.
func (e *UpstreamError) Error() string {
	if e.Type == "" {
		return "upstream error: " + e.Message
	}
	return "upstream error (" + e.Type + "): " + e.Message
}
