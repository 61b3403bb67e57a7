package translate

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// ChatStream converts an Anthropic Messages SSE stream into OpenAI
// chat.completion.chunk payloads. Feed it every upstream event in order with
// [ChatStream.Event]; it is not safe for concurrent use.
type ChatStream struct {
	created      int64
	includeUsage bool

	id, model string
	started   bool // role chunk emitted
	finished  bool // finish_reason chunk emitted
	done      bool // message_stop seen

	stopReason string
	counts     tokenCounts

	blocks   map[int]*streamBlock // by Anthropic content block index
	nextTool int                  // next OpenAI tool_calls index
}

// streamBlock tracks one Anthropic content block.
type streamBlock struct {
	kind       string // content block type
	tool       int    // OpenAI tool_calls index (tool_use blocks)
	sawDelta   bool   // an input_json_delta arrived
	startInput json.RawMessage
}

// NewChatStream returns a converter for one upstream stream. created is the
// unix time put in every chunk's "created". includeUsage says whether the
// client asked for stream_options.include_usage; when true every chunk
// carries "usage": null and, right before the end, a final usage-only chunk
// ("choices": [] and "usage" set) is emitted, as OpenAI does. When false no
// chunk carries a usage field.
func NewChatStream(created int64, includeUsage bool) *ChatStream {
	return &ChatStream{created: created, includeUsage: includeUsage, blocks: map[int]*streamBlock{}}
}

// Done reports whether the upstream stream has finished (message_stop seen),
// so the caller can write `data: [DONE]`.
func (s *ChatStream) Done() bool { return s.done }

// Upstream event payloads.
type (
	messageStartEvent struct {
		Message anthResponse `json:"message"`
	}
	contentBlockStartEvent struct {
		Index        int `json:"index"`
		ContentBlock struct {
			Type  string          `json:"type"`
			Text  string          `json:"text"`
			ID    string          `json:"id"`
			Name  string          `json:"name"`
			Input json.RawMessage `json:"input"`
		} `json:"content_block"`
	}
	contentBlockDeltaEvent struct {
		Index int `json:"index"`
		Delta struct {
			Type        string `json:"type"`
			Text        string `json:"text"`
			PartialJSON string `json:"partial_json"`
		} `json:"delta"`
	}
	contentBlockStopEvent struct {
		Index int `json:"index"`
	}
	messageDeltaEvent struct {
		Delta struct {
			StopReason *string `json:"stop_reason"`
		} `json:"delta"`
		Usage *anthUsage `json:"usage"`
	}
)

// OpenAI chat.completion.chunk object.
type chatChunk struct {
	ID      string          `json:"id"`
	Object  string          `json:"object"`
	Created int64           `json:"created"`
	Model   string          `json:"model"`
	Choices []chunkChoice   `json:"choices"`
	Usage   json.RawMessage `json:"usage,omitempty"`
}

type chunkChoice struct {
	Index        int        `json:"index"`
	Delta        chunkDelta `json:"delta"`
	Logprobs     any        `json:"logprobs"` // always null
	FinishReason *string    `json:"finish_reason"`
}

type chunkDelta struct {
	Role      string          `json:"role,omitempty"`
	Content   *string         `json:"content,omitempty"`
	ToolCalls []chunkToolCall `json:"tool_calls,omitempty"`
}

type chunkToolCall struct {
	Index    int           `json:"index"`
	ID       string        `json:"id,omitempty"`
	Type     string        `json:"type,omitempty"`
	Function chunkFunction `json:"function"`
}

type chunkFunction struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

// Event consumes one upstream SSE event (its `event:` name and its `data:`
// payload) and returns zero or more OpenAI chunk JSON payloads to send as
// `data: <payload>` lines, in order. When name is empty the event type is
// taken from the payload's "type" field.
//
// It does NOT return the `[DONE]` sentinel; [ChatStream.Done] reports when
// the upstream stream has finished (message_stop seen) so the caller can
// write `data: [DONE]`. An upstream `error` event returns an *UpstreamError
// so the caller can forward an error (MessagesErrorToChat(0, data) renders
// it as an OpenAI error body); Done stays false. `ping`, unknown event types,
// thinking/signature deltas and events after message_stop produce nothing.
// A malformed payload of a known event type returns a non-*UpstreamError
// error.
func (s *ChatStream) Event(name string, data []byte) ([][]byte, error) {
	if name == "" {
		var peek struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(data, &peek)
		name = peek.Type
	}
	if s.done {
		return nil, nil
	}
	switch name {
	case "message_start":
		var ev messageStartEvent
		if err := decodeEvent(name, data, &ev); err != nil {
			return nil, err
		}
		s.id, s.model = ev.Message.ID, ev.Message.Model
		s.counts.update(ev.Message.Usage)
		if s.started {
			return nil, nil
		}
		s.started = true
		empty := ""
		return s.emit(chunkDelta{Role: "assistant", Content: &empty}, nil)

	case "content_block_start":
		var ev contentBlockStartEvent
		if err := decodeEvent(name, data, &ev); err != nil {
			return nil, err
		}
		cb := ev.ContentBlock
		blk := &streamBlock{kind: cb.Type}
		s.blocks[ev.Index] = blk
		switch cb.Type {
		case "text":
			if cb.Text != "" {
				text := cb.Text
				return s.emit(chunkDelta{Content: &text}, nil)
			}
		case "tool_use":
			blk.tool = s.nextTool
			blk.startInput = cb.Input
			s.nextTool++
			return s.emit(chunkDelta{ToolCalls: []chunkToolCall{{
				Index:    blk.tool,
				ID:       cb.ID,
				Type:     "function",
				Function: chunkFunction{Name: cb.Name},
			}}}, nil)
		}
		return nil, nil

	case "content_block_delta":
		var ev contentBlockDeltaEvent
		if err := decodeEvent(name, data, &ev); err != nil {
			return nil, err
		}
		blk := s.blocks[ev.Index]
		switch ev.Delta.Type {
		case "text_delta":
			if ev.Delta.Text == "" || (blk != nil && blk.kind != "text") {
				return nil, nil
			}
			text := ev.Delta.Text
			return s.emit(chunkDelta{Content: &text}, nil)
		case "input_json_delta":
			if blk == nil || blk.kind != "tool_use" {
				return nil, nil // e.g. server_tool_use input
			}
			blk.sawDelta = true
			if ev.Delta.PartialJSON == "" {
				return nil, nil
			}
			return s.emit(chunkDelta{ToolCalls: []chunkToolCall{{
				Index:    blk.tool,
				Function: chunkFunction{Arguments: ev.Delta.PartialJSON},
			}}}, nil)
		}
		return nil, nil // thinking_delta, signature_delta, citations_delta, ...

	case "content_block_stop":
		var ev contentBlockStopEvent
		if err := decodeEvent(name, data, &ev); err != nil {
			return nil, err
		}
		blk := s.blocks[ev.Index]
		if blk == nil || blk.kind != "tool_use" || blk.sawDelta {
			return nil, nil
		}
		// No input_json_delta arrived: the input given at block start is final.
		args := compactArguments(blk.startInput)
		if args == "{}" {
			return nil, nil
		}
		return s.emit(chunkDelta{ToolCalls: []chunkToolCall{{
			Index:    blk.tool,
			Function: chunkFunction{Arguments: args},
		}}}, nil)

	case "message_delta":
		var ev messageDeltaEvent
		if err := decodeEvent(name, data, &ev); err != nil {
			return nil, err
		}
		s.counts.update(ev.Usage)
		if ev.Delta.StopReason == nil || *ev.Delta.StopReason == "" {
			return nil, nil
		}
		s.stopReason = *ev.Delta.StopReason
		return s.finish()

	case "message_stop":
		out, err := s.finish()
		if err != nil {
			return nil, err
		}
		if s.includeUsage {
			usage, err := marshal(s.counts.chat())
			if err != nil {
				return nil, err
			}
			chunk, err := s.chunk([]chunkChoice{}, usage)
			if err != nil {
				return nil, err
			}
			out = append(out, chunk)
		}
		s.done = true
		return out, nil

	case "error":
		if ue := parseAnthropicError(data); ue != nil {
			return nil, ue
		}
		return nil, &UpstreamError{Type: "api_error", Message: rawErrorMessage(0, data)}

	default: // ping and event types added in the future
		return nil, nil
	}
}

// finish emits the finish_reason chunk once.
func (s *ChatStream) finish() ([][]byte, error) {
	if s.finished {
		return nil, nil
	}
	s.finished = true
	reason := FinishReason(s.stopReason)
	return s.emit(chunkDelta{}, &reason)
}

// emit builds a single-choice chunk.
func (s *ChatStream) emit(delta chunkDelta, finishReason *string) ([][]byte, error) {
	var usage json.RawMessage
	if s.includeUsage {
		usage = json.RawMessage("null")
	}
	chunk, err := s.chunk([]chunkChoice{{Index: 0, Delta: delta, FinishReason: finishReason}}, usage)
	if err != nil {
		return nil, err
	}
	return [][]byte{chunk}, nil
}

// chunk encodes a chat.completion.chunk with the stream's id, model and
// created time.
func (s *ChatStream) chunk(choices []chunkChoice, usage json.RawMessage) ([]byte, error) {
	return marshal(chatChunk{
		ID:      s.id,
		Object:  "chat.completion.chunk",
		Created: s.created,
		Model:   s.model,
		Choices: choices,
		Usage:   usage,
	})
}

// decodeEvent unmarshals an event payload.
func decodeEvent(name string, data []byte, dst any) error {
	if err := json.Unmarshal(bytes.TrimSpace(data), dst); err != nil {
		return fmt.Errorf("translate: malformed %s event: %w", name, err)
	}
	return nil
}
