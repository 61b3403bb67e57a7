package chat

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
)

// completion is a chat.completion object as this package reads it.
type completion struct {
	ID      string     `json:"id"`
	Model   string     `json:"model"`
	Choices []choice   `json:"choices"`
	Usage   *usage     `json:"usage"`
	Error   *errorBody `json:"error"`
}

type choice struct {
	Index        int64       `json:"index"`
	Message      respMessage `json:"message"`
	FinishReason string      `json:"finish_reason"`
}

type respMessage struct {
	Content          textValue      `json:"content"`
	Refusal          string         `json:"refusal"`
	ReasoningContent string         `json:"reasoning_content"`
	Reasoning        string         `json:"reasoning"`
	ToolCalls        []respToolCall `json:"tool_calls"`
}

type respToolCall struct {
	ID       string `json:"id"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// textValue is an answer's content: a string, null, or (as some
// OpenAI-compatible servers send it) an array of parts whose text parts
// are concatenated.
type textValue string

// UnmarshalJSONFrom reads a string, null or an array of parts.
func (t *textValue) UnmarshalJSONFrom(d *jsontext.Decoder) error {
	switch d.PeekKind() {
	case 'n':
		_, err := d.ReadToken()
		return err
	case '"':
		tok, err := d.ReadToken()
		*t = textValue(tok.String())
		return err
	case '[':
		var parts []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		if err := json.UnmarshalDecode(d, &parts); err != nil {
			return err
		}
		var b strings.Builder
		for _, p := range parts {
			if p.Type == "text" || p.Type == "" {
				b.WriteString(p.Text)
			}
		}
		*t = textValue(b.String())
		return nil
	default:
		return kindError("a string, null or an array of content parts")
	}
}

// usage is the usage object of answers and chunks. The cache fields of
// DeepSeek (prompt_cache_hit_tokens) and of some routers
// (prompt_tokens_details.cache_write_tokens) are read too.
type usage struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	PromptTokensDetails *struct {
		CachedTokens     int64 `json:"cached_tokens"`
		CacheWriteTokens int64 `json:"cache_write_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails *struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
	PromptCacheHitTokens int64 `json:"prompt_cache_hit_tokens"`
}

// neutral converts the usage: OpenAI's counts are already totals in the
// sense of package llm.
func (u *usage) neutral() llm.Usage {
	n := llm.Usage{Input: u.PromptTokens, Output: u.CompletionTokens, CacheRead: u.PromptCacheHitTokens}
	if d := u.PromptTokensDetails; d != nil {
		if d.CachedTokens > 0 {
			n.CacheRead = d.CachedTokens
		}
		n.CacheWrite = d.CacheWriteTokens
	}
	if d := u.CompletionTokensDetails; d != nil {
		n.Reasoning = d.ReasoningTokens
	}
	return n
}

// finishReason maps an OpenAI finish_reason. "stop" with tool calls is
// FinishToolCalls: OpenAI says "stop" when tool_choice forced the call,
// and the other dialects' clients look for a tool-use reason.
func finishReason(reason string, toolCalls bool) llm.Finish {
	switch reason {
	case "length":
		return llm.FinishLength
	case "tool_calls", "function_call":
		return llm.FinishToolCalls
	case "content_filter":
		return llm.FinishContentFilter
	}
	if toolCalls {
		return llm.FinishToolCalls
	}
	return llm.FinishStop
}

// DecodeResponse reads a chat.completion body (its first choice) into r,
// which it resets first. A body holding an OpenAI error object returns it
// as an *llm.UpstreamError.
func DecodeResponse(body []byte, r *llm.Response) error {
	*r = llm.Response{}
	var c completion
	if err := json.Unmarshal(body, &c, decodeOpts); err != nil {
		return fmt.Errorf("chat: reading the response: %w", err)
	}
	if c.Error != nil && len(c.Choices) == 0 {
		if ue, ok := c.Error.upstream(); ok {
			return ue
		}
	}
	if len(c.Choices) == 0 {
		return fmt.Errorf("chat: the response has no choices")
	}
	ch := &c.Choices[0]
	for i := range c.Choices {
		if c.Choices[i].Index == 0 {
			ch = &c.Choices[i]
			break
		}
	}
	m := &ch.Message
	r.ID, r.Model = c.ID, c.Model
	r.Parts = make([]llm.Part, 0, 2+len(m.ToolCalls))
	if t := cmp.Or(m.ReasoningContent, m.Reasoning); t != "" {
		r.Parts = append(r.Parts, llm.Part{Type: llm.PartThinking, Text: t})
	}
	if m.Content != "" {
		r.Parts = append(r.Parts, llm.Part{Type: llm.PartText, Text: string(m.Content)})
	}
	if m.Refusal != "" {
		r.Parts = append(r.Parts, llm.Part{Type: llm.PartText, Text: m.Refusal})
	}
	for k := range m.ToolCalls {
		tc := &m.ToolCalls[k]
		args, err := toolArguments(respCallParam, 0, k, tc.Function.Arguments)
		if err != nil {
			return fmt.Errorf("chat: reading the response: %w", err)
		}
		id := tc.ID
		if id == "" { // some compatible servers send none
			id = "call_" + strconv.Itoa(k)
		}
		r.Parts = append(r.Parts, llm.Part{Type: llm.PartToolCall, ID: id, Name: tc.Function.Name, Arguments: args})
	}
	r.Finish = finishReason(ch.FinishReason, len(m.ToolCalls) > 0)
	if c.Usage != nil {
		r.Usage = c.Usage.neutral()
	}
	return nil
}

// respCallParam names a tool call of an answer in error messages.
func respCallParam(_, k int, field string) string {
	return fmt.Sprintf("choices[0].message.tool_calls[%d].%s", k, field)
}

// chatFinish maps a neutral finish reason to an OpenAI finish_reason.
// toolCalls says whether the answer called tools: then a natural stop is
// "tool_calls", as OpenAI's clients expect.
func chatFinish(f llm.Finish, toolCalls bool) string {
	switch f {
	case llm.FinishLength:
		return "length"
	case llm.FinishToolCalls:
		return "tool_calls"
	case llm.FinishContentFilter, llm.FinishRefusal:
		return "content_filter"
	}
	if toolCalls {
		return "tool_calls"
	}
	return "stop" // stop, stop_sequence, pause_turn, none
}

// EncodeResponse writes r as a chat.completion body stamped with
// o.Created. Text parts are concatenated into message.content (null when
// there is none), tool calls become message.tool_calls, thinking is
// dropped. An ID is made up when r has none.
func EncodeResponse(r *llm.Response, o llm.ResponseOptions) ([]byte, error) {
	size := 512 + len(r.ID) + len(r.Model)
	texts, calls := 0, 0
	for i := range r.Parts {
		p := &r.Parts[i]
		switch p.Type {
		case llm.PartText:
			texts++
			size += len(p.Text) + len(p.Text)/16
		case llm.PartToolCall:
			calls++
			size += 64 + len(p.ID) + len(p.Name) + len(p.Arguments)*5/4
		}
	}
	id := r.ID
	if id == "" {
		id = newID()
	}
	b := make([]byte, 0, size)
	b = append(b, `{"id":`...)
	b = appendString(b, id)
	b = append(b, `,"object":"chat.completion","created":`...)
	b = strconv.AppendInt(b, o.Created, 10)
	b = append(b, `,"model":`...)
	b = appendString(b, r.Model)
	b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
	if texts == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, '"')
		for i := range r.Parts {
			if r.Parts[i].Type == llm.PartText {
				b = appendStringBody(b, r.Parts[i].Text)
			}
		}
		b = append(b, '"')
	}
	b = append(b, `,"refusal":null,"annotations":[]`...)
	if calls > 0 {
		b = append(b, `,"tool_calls":[`...)
		first := true
		var err error
		for i := range r.Parts {
			if p := &r.Parts[i]; p.Type == llm.PartToolCall {
				b = comma(b, &first)
				if b, err = appendToolCall(b, p); err != nil {
					return nil, fmt.Errorf("chat: tool call %q: %w", p.ID, err)
				}
			}
		}
		b = append(b, ']')
	}
	b = append(b, `},"logprobs":null,"finish_reason":"`...)
	b = append(b, chatFinish(r.Finish, calls > 0)...)
	b = append(b, `"}],"usage":`...)
	b = appendUsage(b, &r.Usage)
	return append(b, '}'), nil
}

// idChars are the characters of made-up IDs.
const idChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// newID makes up a completion ID in OpenAI's style: "chatcmpl-" and 29
// random letters and digits.
func newID() string {
	var b [9 + 29]byte
	copy(b[:], "chatcmpl-")
	for i := 9; i < len(b); {
		x := rand.Uint64()
		for j := 0; j < 10 && i < len(b); j++ {
			b[i] = idChars[x%uint64(len(idChars))]
			x /= uint64(len(idChars))
			i++
		}
	}
	return string(b[:])
}
