package chat

import (
	"bytes"
	"cmp"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
)

// chunk is a chat.completion.chunk as this package reads it (or an error
// object sent in its place).
type chunk struct {
	ID      string        `json:"id"`
	Model   string        `json:"model"`
	Choices []chunkChoice `json:"choices"`
	Usage   *usage        `json:"usage"`
	Error   *errorBody    `json:"error"`
}

type chunkChoice struct {
	Index        int64      `json:"index"`
	Delta        chunkDelta `json:"delta"`
	FinishReason string     `json:"finish_reason"`
}

type chunkDelta struct {
	Content          textValue       `json:"content"`
	Refusal          string          `json:"refusal"`
	ReasoningContent string          `json:"reasoning_content"`
	Reasoning        string          `json:"reasoning"`
	ToolCalls        []chunkToolCall `json:"tool_calls"`
}

type chunkToolCall struct {
	Index    int64  `json:"index"`
	ID       string `json:"id"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// streamTool is a tool call of the stream being decoded.
type streamTool struct {
	index int64  // OpenAI's tool_calls index
	id    string // its ID
	part  int    // its part index
}

// streamDecoder reads a Chat Completions stream.
type streamDecoder struct {
	c        chunk
	ev       llm.Event
	started  bool
	finished bool
	done     bool
	nextPart int
	cur      int          // part receiving text or thinking deltas, or -1
	curType  llm.PartType // its type
	tools    []streamTool
}

// NewStreamDecoder returns a decoder of a Chat Completions stream:
// chat.completion.chunk events ending with "[DONE]". Each call to Decode
// takes the data of one event.
func NewStreamDecoder() llm.StreamDecoder {
	return &streamDecoder{cur: -1}
}

var doneData = []byte("[DONE]")

// Decode reads one event. The first chunk that carries an ID, a choice or
// the usage opens the answer (EventStart); content deltas become
// EventText, reasoning_content (or reasoning) deltas EventThinking,
// refusal deltas EventText; a tool call seen for the first time opens a
// part (EventToolCall) and its argument fragments follow as EventToolArgs;
// finish_reason becomes EventFinish and a usage object EventUsage; "[DONE]"
// is EventEnd and an error object EventError. Only the first choice is
// read.
func (d *streamDecoder) Decode(name string, data []byte, emit func(*llm.Event)) error {
	if d.done {
		return nil
	}
	data = bytes.TrimSpace(data)
	if bytes.Equal(data, doneData) {
		d.start(emit)
		d.done = true
		d.emit(emit, llm.Event{Type: llm.EventEnd})
		return nil
	}
	if len(data) == 0 {
		return nil
	}
	d.c = chunk{}
	if err := json.Unmarshal(data, &d.c, decodeOpts); err != nil {
		if name != "error" {
			return fmt.Errorf("chat: reading a stream chunk: %w", err)
		}
		d.c = chunk{}
	}
	c := &d.c
	if c.Error != nil || name == "error" {
		var ue *llm.UpstreamError
		ok := false
		if c.Error != nil {
			ue, ok = c.Error.upstream()
		}
		if !ok {
			ue = &llm.UpstreamError{Message: "the upstream reported an error: " + truncate(data, 512)}
		}
		d.done = true
		d.emit(emit, llm.Event{Type: llm.EventError, Error: ue})
		return nil
	}
	if c.ID == "" && len(c.Choices) == 0 && c.Usage == nil {
		return nil // e.g. Azure's prompt_filter_results chunk
	}
	if !d.started {
		d.started = true
		d.emit(emit, llm.Event{Type: llm.EventStart, ID: c.ID, Model: c.Model})
	}
	for i := range c.Choices {
		ch := &c.Choices[i]
		if ch.Index != 0 {
			continue
		}
		dl := &ch.Delta
		if t := cmp.Or(dl.ReasoningContent, dl.Reasoning); t != "" {
			d.emit(emit, llm.Event{Type: llm.EventThinking, Index: d.part(llm.PartThinking), Text: t})
		}
		if dl.Content != "" {
			d.emit(emit, llm.Event{Type: llm.EventText, Index: d.part(llm.PartText), Text: string(dl.Content)})
		}
		if dl.Refusal != "" {
			d.emit(emit, llm.Event{Type: llm.EventText, Index: d.part(llm.PartText), Text: dl.Refusal})
		}
		for k := range dl.ToolCalls {
			d.toolCall(&dl.ToolCalls[k], emit)
		}
		if ch.FinishReason != "" && !d.finished {
			d.finished = true
			d.emit(emit, llm.Event{Type: llm.EventFinish, Finish: finishReason(ch.FinishReason, len(d.tools) > 0)})
		}
	}
	if c.Usage != nil {
		d.emit(emit, llm.Event{Type: llm.EventUsage, Usage: c.Usage.neutral()})
	}
	return nil
}

// start emits EventStart if the answer has not started.
func (d *streamDecoder) start(emit func(*llm.Event)) {
	if !d.started {
		d.started = true
		d.emit(emit, llm.Event{Type: llm.EventStart})
	}
}

// emit sends e through the decoder's reused event.
func (d *streamDecoder) emit(emit func(*llm.Event), e llm.Event) {
	d.ev = e
	emit(&d.ev)
}

// part returns the index of the part a text or thinking delta belongs to:
// the current one if it has the same type, else a new one.
func (d *streamDecoder) part(t llm.PartType) int {
	if d.cur < 0 || d.curType != t {
		d.cur, d.curType = d.nextPart, t
		d.nextPart++
	}
	return d.cur
}

// toolCall handles a tool_calls delta: a call not seen before (a new
// index, or a new ID at a known index) opens a part; arguments go to the
// call's part.
func (d *streamDecoder) toolCall(tc *chunkToolCall, emit func(*llm.Event)) {
	var t *streamTool
	for i := len(d.tools) - 1; i >= 0; i-- {
		if d.tools[i].index == tc.Index {
			t = &d.tools[i]
			break
		}
	}
	if t == nil || tc.ID != "" && tc.ID != t.id {
		id := tc.ID
		if id == "" {
			id = "call_" + strconv.Itoa(len(d.tools))
		}
		d.tools = append(d.tools, streamTool{index: tc.Index, id: id, part: d.nextPart})
		t = &d.tools[len(d.tools)-1]
		d.cur, d.curType = d.nextPart, llm.PartToolCall
		d.nextPart++
		d.emit(emit, llm.Event{Type: llm.EventToolCall, Index: t.part, ID: id, Name: tc.Function.Name})
	}
	if tc.Function.Arguments != "" {
		d.emit(emit, llm.Event{Type: llm.EventToolArgs, Index: t.part, Text: tc.Function.Arguments})
	}
}

// truncate returns at most n bytes of b as a string, for error messages.
func truncate(b []byte, n int) string {
	if len(b) > n {
		return strings.ToValidUTF8(string(b[:n]), "") + "…"
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// streamEncoder writes a Chat Completions stream.
type streamEncoder struct {
	o        llm.ResponseOptions
	head     []byte // {"id":...,"object":"chat.completion.chunk","created":...,"model":...
	started  bool
	done     bool
	finish   llm.Finish
	usage    llm.Usage
	calls    int   // tool calls written
	callPart []int // part index of each tool call written
}

// NewStreamEncoder returns an encoder writing chat.completion.chunk events
// as OpenAI streams them, stamped with o.Created. When o.IncludeUsage is
// set, every chunk has "usage":null and a last chunk with "choices":[]
// carries the usage, as OpenAI does for stream_options.include_usage.
func NewStreamEncoder(o llm.ResponseOptions) llm.StreamEncoder {
	return &streamEncoder{o: o}
}

// Encode appends the chunks e turns into. EventStart writes the first
// chunk (role "assistant", content ""); text and tool call events write a
// chunk each (tool calls numbered from 0 in the order they start);
// thinking is dropped; the finish reason and the usage are held until
// EventEnd, which writes the finish chunk, the usage chunk and
// "data: [DONE]". EventError writes an error object and ends the stream.
func (s *streamEncoder) Encode(dst []byte, e *llm.Event) []byte {
	if s.done {
		return dst
	}
	switch e.Type {
	case llm.EventStart:
		s.usage = e.Usage // the input, when reported at the start
		return s.start(dst, e.ID, e.Model)
	case llm.EventText:
		if e.Text == "" {
			return dst
		}
		dst = s.start(dst, "", "")
		dst = s.openChunk(dst)
		dst = append(dst, `{"content":`...)
		dst = appendString(dst, e.Text)
		dst = append(dst, '}')
		return s.closeChunk(dst, "")
	case llm.EventToolCall:
		dst = s.start(dst, "", "")
		n := s.calls
		s.calls++
		s.callPart = append(s.callPart, e.Index)
		dst = s.openChunk(dst)
		dst = append(dst, `{"tool_calls":[{"index":`...)
		dst = strconv.AppendInt(dst, int64(n), 10)
		dst = append(dst, `,"id":`...)
		dst = appendString(dst, e.ID)
		dst = append(dst, `,"type":"function","function":{"name":`...)
		dst = appendString(dst, e.Name)
		dst = append(dst, `,"arguments":""}}]}`...)
		return s.closeChunk(dst, "")
	case llm.EventToolArgs:
		n := -1
		for i, p := range s.callPart {
			if p == e.Index {
				n = i
			}
		}
		if n < 0 || e.Text == "" {
			return dst
		}
		dst = s.openChunk(dst)
		dst = append(dst, `{"tool_calls":[{"index":`...)
		dst = strconv.AppendInt(dst, int64(n), 10)
		dst = append(dst, `,"function":{"arguments":`...)
		dst = appendString(dst, e.Text)
		dst = append(dst, `}}]}`...)
		return s.closeChunk(dst, "")
	case llm.EventFinish:
		s.finish = e.Finish
	case llm.EventUsage:
		s.usage = e.Usage
	case llm.EventEnd:
		dst = s.start(dst, "", "")
		dst = s.openChunk(dst)
		dst = append(dst, "{}"...)
		dst = s.closeChunk(dst, chatFinish(s.finish, s.calls > 0))
		if s.o.IncludeUsage {
			dst = append(dst, "data: "...)
			dst = append(dst, s.head...)
			dst = append(dst, `,"choices":[],"usage":`...)
			dst = appendUsage(dst, &s.usage)
			dst = append(dst, "}\n\n"...)
		}
		s.done = true
		return append(dst, "data: [DONE]\n\n"...)
	case llm.EventError:
		s.done = true
		return appendErrorChunk(dst, e.Error)
	}
	return dst
}

// start writes the first chunk unless written; an empty id is made up.
func (s *streamEncoder) start(dst []byte, id, model string) []byte {
	if s.started {
		return dst
	}
	s.started = true
	if id == "" {
		id = newID()
	}
	h := make([]byte, 0, 80+len(id)+len(model))
	h = append(h, `{"id":`...)
	h = appendString(h, id)
	h = append(h, `,"object":"chat.completion.chunk","created":`...)
	h = strconv.AppendInt(h, s.o.Created, 10)
	h = append(h, `,"model":`...)
	h = appendString(h, model)
	s.head = h
	dst = s.openChunk(dst)
	dst = append(dst, `{"role":"assistant","content":""}`...)
	return s.closeChunk(dst, "")
}

// openChunk starts a chunk event up to its delta.
func (s *streamEncoder) openChunk(dst []byte) []byte {
	dst = append(dst, "data: "...)
	dst = append(dst, s.head...)
	return append(dst, `,"choices":[{"index":0,"delta":`...)
}

// closeChunk ends a chunk event after its delta, with finish (null when
// empty).
func (s *streamEncoder) closeChunk(dst []byte, finish string) []byte {
	dst = append(dst, `,"logprobs":null,"finish_reason":`...)
	if finish == "" {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '"')
		dst = append(dst, finish...)
		dst = append(dst, '"')
	}
	dst = append(dst, "}]"...)
	if s.o.IncludeUsage {
		dst = append(dst, `,"usage":null`...)
	}
	return append(dst, "}\n\n"...)
}

// appendUsage writes a usage object.
func appendUsage(dst []byte, u *llm.Usage) []byte {
	dst = append(dst, `{"prompt_tokens":`...)
	dst = strconv.AppendInt(dst, u.Input, 10)
	dst = append(dst, `,"completion_tokens":`...)
	dst = strconv.AppendInt(dst, u.Output, 10)
	dst = append(dst, `,"total_tokens":`...)
	dst = strconv.AppendInt(dst, u.Input+u.Output, 10)
	dst = append(dst, `,"prompt_tokens_details":{"cached_tokens":`...)
	dst = strconv.AppendInt(dst, u.CacheRead, 10)
	dst = append(dst, `},"completion_tokens_details":{"reasoning_tokens":`...)
	dst = strconv.AppendInt(dst, u.Reasoning, 10)
	return append(dst, "}}"...)
}
