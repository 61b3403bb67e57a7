package anthropic

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// DecodeResponse reads a whole Message answer into r. Text, thinking,
// redacted thinking and tool_use blocks become parts; server tool blocks
// (server_tool_use, web_search_tool_result…) and citations are dropped. An
// error body is returned as an *llm.UpstreamError.
func DecodeResponse(body []byte, r *llm.Response) error {
	var in messageRespIn
	if err := json.Unmarshal(body, &in); err != nil {
		return fmt.Errorf("anthropic: reading the response: %w", err)
	}
	if in.Type == "error" && in.Error != nil {
		return upstreamError(in.Error)
	}
	if in.Type != "" && in.Type != "message" {
		return fmt.Errorf("anthropic: unexpected response type %q", in.Type)
	}
	*r = llm.Response{ID: in.ID, Model: in.Model}
	if len(in.Content) > 0 {
		r.Parts = make([]llm.Part, 0, len(in.Content))
	}
	for i := range in.Content {
		b := &in.Content[i]
		switch b.Type {
		case "text":
			if b.Text != "" {
				r.Parts = append(r.Parts, llm.Part{Type: llm.PartText, Text: b.Text})
			}
		case "thinking":
			r.Parts = append(r.Parts, llm.Part{Type: llm.PartThinking, Text: b.Thinking, Signature: b.Signature})
		case "redacted_thinking":
			r.Parts = append(r.Parts, llm.Part{Type: llm.PartRedactedThinking, Signature: b.Data})
		case "tool_use":
			args := b.Input
			if args.Kind() != '{' {
				args = jsontext.Value(emptyObject)
			}
			r.Parts = append(r.Parts, llm.Part{Type: llm.PartToolCall, ID: b.ID, Name: b.Name, Arguments: args})
		}
	}
	if in.StopReason != nil {
		r.Finish = finishReason(*in.StopReason)
	} else {
		r.Finish = llm.FinishStop
	}
	if in.StopSequence != nil && r.Finish == llm.FinishStopSequence {
		r.StopSequence = *in.StopSequence
	}
	var u usageState
	u.update(in.Usage)
	r.Usage = u.usage()
	return nil
}

// finishReason maps a stop_reason. Unknown reasons are a natural stop.
func finishReason(stop string) llm.Finish {
	switch stop {
	case "stop_sequence":
		return llm.FinishStopSequence
	case "max_tokens", "model_context_window_exceeded":
		return llm.FinishLength
	case "tool_use":
		return llm.FinishToolCalls
	case "refusal":
		return llm.FinishRefusal
	case "pause_turn":
		return llm.FinishPause
	default: // end_turn and reasons added later
		return llm.FinishStop
	}
}

// stopReason maps a finish reason back. A natural stop of an answer that
// called tools is tool_use (some providers say "stop" there, and Anthropic
// clients look for tool_use).
func stopReason(f llm.Finish, calledTools bool) string {
	switch f {
	case llm.FinishStopSequence:
		return "stop_sequence"
	case llm.FinishLength:
		return "max_tokens"
	case llm.FinishToolCalls:
		return "tool_use"
	case llm.FinishContentFilter, llm.FinishRefusal:
		return "refusal"
	case llm.FinishPause:
		return "pause_turn"
	}
	if calledTools {
		return "tool_use"
	}
	return "end_turn"
}

// usageState accumulates Anthropic's token counts, which are cumulative:
// a later value replaces an earlier one.
type usageState struct {
	seen                                        bool
	input, output, cacheRead, cacheWrite, think int64
}

func (s *usageState) update(u *usageIn) {
	if u == nil {
		return
	}
	set := func(dst *int64, src *int64) {
		if src != nil {
			*dst = *src
			s.seen = true
		}
	}
	set(&s.input, u.InputTokens)
	set(&s.output, u.OutputTokens)
	set(&s.cacheRead, u.CacheReadInputTokens)
	set(&s.cacheWrite, u.CacheCreationInputTokens)
	if u.OutputTokensDetails != nil {
		set(&s.think, u.OutputTokensDetails.ThinkingTokens)
	}
}

// usage returns the counts in the neutral sense: Input includes the
// cached and cache-written tokens.
func (s *usageState) usage() llm.Usage {
	return llm.Usage{
		Input:      s.input + s.cacheRead + s.cacheWrite,
		Output:     s.output,
		CacheRead:  s.cacheRead,
		CacheWrite: s.cacheWrite,
		Reasoning:  s.think,
	}
}

// wireUsage returns u in Anthropic's sense: input_tokens excludes the
// cached and cache-written tokens.
func wireUsage(u llm.Usage) usageOut {
	return usageOut{
		InputTokens:              max(u.Input-u.CacheRead-u.CacheWrite, 0),
		CacheCreationInputTokens: u.CacheWrite,
		CacheReadInputTokens:     u.CacheRead,
		OutputTokens:             u.Output,
	}
}

// EncodeResponse writes r as an Anthropic Message. Text parts become text
// blocks (empty ones are dropped), thinking parts thinking blocks (with
// their signature, "" when there is none), redacted thinking
// redacted_thinking blocks and tool calls tool_use blocks. An empty ID is
// made up (msg_…), as are empty tool call IDs (toolu_…).
func EncodeResponse(r *llm.Response, o llm.ResponseOptions) ([]byte, error) {
	out := messageRespOut{
		ID:      r.ID,
		Model:   r.Model,
		Content: make([]blockOut, 0, len(r.Parts)),
		Usage:   wireUsage(r.Usage),
	}
	if out.ID == "" {
		out.ID = newID("msg_")
	}
	calledTools := false
	for i := range r.Parts {
		p := &r.Parts[i]
		switch p.Type {
		case llm.PartText:
			if p.Text != "" {
				out.Content = append(out.Content, blockOut{Type: "text", Text: &p.Text})
			}
		case llm.PartThinking:
			out.Content = append(out.Content, blockOut{Type: "thinking", Thinking: &p.Text, Signature: &p.Signature})
		case llm.PartRedactedThinking:
			out.Content = append(out.Content, blockOut{Type: "redacted_thinking", Data: &p.Signature})
		case llm.PartToolCall:
			calledTools = true
			id := p.ID
			if id == "" {
				id = newID("toolu_")
			}
			args := p.Arguments
			if args.Kind() != '{' || !args.IsValid() {
				args = jsontext.Value(emptyObject) // as the SDKs read a cut-off input
			}
			out.Content = append(out.Content, blockOut{Type: "tool_use", ID: id, Name: &p.Name, Input: args})
		}
	}
	out.StopReason = stopReason(r.Finish, calledTools)
	if out.StopReason == "stop_sequence" && r.StopSequence != "" {
		out.StopSequence = &r.StopSequence
	}
	n := 512
	for i := range r.Parts {
		p := &r.Parts[i]
		n += len(p.Text) + len(p.Signature) + len(p.Arguments) + len(p.ID) + len(p.Name) + 96
	}
	return appendMessage(make([]byte, 0, n), &out), nil
}

// newID makes up an ID: prefix and 24 random hex digits.
func newID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}
