package responses

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
)

// The prefixes of the encrypted_content this codec writes on reasoning
// items, so that a client sending the items back (stateless multi-turn use,
// as the Responses API documents it) returns the provider's thinking
// signature, or its redacted thinking, unchanged.
const (
	thinkingPrefix = "llmgw.thinking:"
	redactedPrefix = "llmgw.redacted:"
)

// now is the clock (a variable for tests).
var now = func() int64 { return time.Now().Unix() }

// marshalOpts replace invalid UTF-8 rather than fail: an answer is never
// lost over a bad byte from upstream.
var marshalOpts = jsontext.AllowInvalidUTF8(true)

// responseObject is the Responses API `response` object. The request's
// configuration (instructions, tools, temperature…) is not known to the
// encoder, so those fields hold the API's defaults or null.
type responseObject struct {
	ID                 string        `json:"id"`
	Object             string        `json:"object"`
	CreatedAt          int64         `json:"created_at"`
	Status             string        `json:"status"`
	CompletedAt        *int64        `json:"completed_at"`
	Background         bool          `json:"background"`
	Error              *objectError  `json:"error"`
	IncompleteDetails  *incomplete   `json:"incomplete_details"`
	Instructions       *string       `json:"instructions"`
	MaxOutputTokens    *int64        `json:"max_output_tokens"`
	MaxToolCalls       *int64        `json:"max_tool_calls"`
	Model              string        `json:"model"`
	Output             []outputItem  `json:"output"`
	ParallelToolCalls  bool          `json:"parallel_tool_calls"`
	PreviousResponseID *string       `json:"previous_response_id"`
	PromptCacheKey     *string       `json:"prompt_cache_key"`
	Reasoning          reasoningEcho `json:"reasoning"`
	SafetyIdentifier   *string       `json:"safety_identifier"`
	ServiceTier        string        `json:"service_tier"`
	Store              bool          `json:"store"`
	Temperature        *float64      `json:"temperature"`
	Text               textEcho      `json:"text"`
	ToolChoice         string        `json:"tool_choice"`
	Tools              []struct{}    `json:"tools"`
	TopLogprobs        int64         `json:"top_logprobs"`
	TopP               *float64      `json:"top_p"`
	Truncation         string        `json:"truncation"`
	Usage              *usage        `json:"usage"`
	User               *string       `json:"user"`
	Metadata           struct{}      `json:"metadata"`
}

type objectError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type incomplete struct {
	Reason string `json:"reason"`
}

type reasoningEcho struct {
	Effort  *string `json:"effort"`
	Summary *string `json:"summary"`
}

type textEcho struct {
	Format struct {
		Type string `json:"type"`
	} `json:"format"`
}

type usage struct {
	InputTokens        int64 `json:"input_tokens"`
	InputTokensDetails struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	OutputTokens        int64 `json:"output_tokens"`
	OutputTokensDetails struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
	TotalTokens int64 `json:"total_tokens"`
}

func makeUsage(u llm.Usage) *usage {
	var o usage
	o.InputTokens = u.Input
	o.InputTokensDetails.CachedTokens = u.CacheRead
	o.OutputTokens = u.Output
	o.OutputTokensDetails.ReasoningTokens = u.Reasoning
	o.TotalTokens = u.Input + u.Output
	return &o
}

// outputItem is an item of a response's output: a message, a
// function_call or a reasoning item. Fields that do not apply to the type
// are left out.
type outputItem struct {
	ID               string        `json:"id"`
	Type             string        `json:"type"`
	Status           string        `json:"status,omitzero"`
	Role             string        `json:"role,omitzero"`
	Content          []outputText  `json:"content,omitzero"`
	Summary          []summaryPart `json:"summary,omitzero"`
	EncryptedContent string        `json:"encrypted_content,omitzero"`
	CallID           string        `json:"call_id,omitzero"`
	Name             string        `json:"name,omitzero"`
	Arguments        *string       `json:"arguments,omitzero"`
}

// outputText is an output_text content part.
type outputText struct {
	Type        string     `json:"type"`
	Text        string     `json:"text"`
	Annotations []struct{} `json:"annotations"`
	Logprobs    []struct{} `json:"logprobs"`
}

// The output item kinds.
const (
	typeMessage      = "message"
	typeFunctionCall = "function_call"
	typeReasoning    = "reasoning"
)

func messageItem(id, status, text string, withContent bool) outputItem {
	it := outputItem{ID: id, Type: typeMessage, Status: status, Role: "assistant", Content: []outputText{}}
	if withContent {
		it.Content = append(it.Content, outputText{Type: "output_text", Text: text})
	}
	return it
}

func functionCallItem(id, status, callID, name, args string) outputItem {
	return outputItem{ID: id, Type: typeFunctionCall, Status: status, CallID: callID, Name: name, Arguments: &args}
}

// reasoningItem is a reasoning item: the thinking text as its one summary
// part, the signature (or redacted data) as its encrypted_content.
func reasoningItem(id, text, encrypted string) outputItem {
	it := outputItem{ID: id, Type: typeReasoning, Summary: []summaryPart{}, EncryptedContent: encrypted}
	if text != "" {
		it.Summary = append(it.Summary, summaryPart{Type: "summary_text", Text: text})
	}
	return it
}

// ids makes up the IDs of a response and its items: the upstream answer ID
// (or a random one) behind the resp_ prefix, and item IDs derived from it.
type ids struct {
	response, suffix string
}

func newIDs(upstream string) ids {
	var x ids
	switch {
	case strings.HasPrefix(upstream, "resp_"):
		x.response = upstream
	case upstream != "":
		x.response = "resp_" + upstream
	default:
		x.response = fmt.Sprintf("resp_%016x%016x", rand.Uint64(), rand.Uint64())
	}
	x.suffix = strings.TrimPrefix(x.response, "resp_")
	return x
}

// item returns the ID of output item i: prefix_suffix_i.
func (x ids) item(prefix string, i int) string {
	return prefix + x.suffix + "_" + strconv.Itoa(i)
}

// callID returns the call_id of a tool call: the provider's, or a made-up
// one for providers without IDs.
func (x ids) callID(id string, i int) string {
	if id != "" {
		return id
	}
	return x.item("call_", i)
}

// statusOf maps a finish reason onto the response status and, for an
// incomplete response, its incomplete_details.reason.
func statusOf(f llm.Finish) (status, reason string) {
	switch f {
	case llm.FinishLength:
		return "incomplete", "max_output_tokens"
	case llm.FinishContentFilter, llm.FinishRefusal:
		return "incomplete", "content_filter"
	default:
		return "completed", ""
	}
}

// newResponseObject fills the response object's fixed fields.
func newResponseObject(id, model string, created int64, status string) responseObject {
	o := responseObject{
		ID: id, Object: "response", CreatedAt: created, Status: status, Model: model,
		Output: []outputItem{}, ParallelToolCalls: true, ServiceTier: "default",
		ToolChoice: "auto", Truncation: "disabled",
	}
	o.Text.Format.Type = "text"
	return o
}

// finish sets what a finished response adds: its status, when it
// completed, why it is incomplete and its usage.
func (o *responseObject) finish(status, reason string, u llm.Usage) {
	o.Status = status
	if status == "completed" {
		t := now()
		o.CompletedAt = &t
	}
	if reason != "" {
		o.IncompleteDetails = &incomplete{Reason: reason}
	}
	o.Usage = makeUsage(u)
}

func created(o llm.ResponseOptions) int64 {
	if o.Created != 0 {
		return o.Created
	}
	return now()
}

// EncodeResponse writes r as a Responses API `response` object: a
// reasoning item per thinking part, a message item per text part and a
// function_call item per tool call, in order, with the usage. A length
// finish gives status "incomplete" (reason max_output_tokens), a
// content_filter or refusal finish status "incomplete" (reason
// content_filter). Image parts have no place in the output and are
// dropped.
func EncodeResponse(r *llm.Response, o llm.ResponseOptions) ([]byte, error) {
	x := newIDs(r.ID)
	status, reason := statusOf(r.Finish)
	obj := newResponseObject(x.response, r.Model, created(o), status)
	obj.Output = make([]outputItem, 0, len(r.Parts))
	itemStatus := "completed"
	for i := range r.Parts {
		p := &r.Parts[i]
		if status == "incomplete" && i == len(r.Parts)-1 {
			itemStatus = "incomplete"
		}
		n := len(obj.Output)
		switch p.Type {
		case llm.PartText:
			obj.Output = append(obj.Output, messageItem(x.item("msg_", n), itemStatus, p.Text, true))
		case llm.PartThinking:
			obj.Output = append(obj.Output, reasoningItem(x.item("rs_", n), p.Text, envelope(thinkingPrefix, p.Signature)))
		case llm.PartRedactedThinking:
			obj.Output = append(obj.Output, reasoningItem(x.item("rs_", n), "", envelope(redactedPrefix, p.Signature)))
		case llm.PartToolCall:
			args := string(p.Arguments)
			if args == "" {
				args = "{}"
			}
			obj.Output = append(obj.Output, functionCallItem(x.item("fc_", n), itemStatus, x.callID(p.ID, n), p.Name, args))
		}
	}
	obj.finish(status, reason, r.Usage)
	b, err := json.Marshal(&obj, marshalOpts)
	if err != nil {
		return nil, fmt.Errorf("responses: encoding the response object: %w", err)
	}
	return b, nil
}

// envelope wraps a provider's signature for encrypted_content; nothing when
// there is none.
func envelope(prefix, sig string) string {
	if sig == "" {
		return ""
	}
	return prefix + sig
}
