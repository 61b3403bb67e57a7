package anthropic

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// ---- decoding ----

// The kinds of content block a stream holds.
const (
	blockSkip uint8 = iota // a block the neutral model has no place for
	blockText
	blockThinking
	blockTool
	blockRedacted
)

// NewStreamDecoder returns a decoder of an Anthropic Messages stream.
//
// message_start becomes EventStart (with the input usage), content blocks
// become part events (parts are numbered in the order they produce their
// first event, so an empty text block takes no index), message_delta
// becomes EventFinish and EventUsage (Anthropic's counts are cumulative;
// the usage is the running total), message_stop EventEnd and an error
// event EventError. ping, citations deltas and server tool blocks are
// skipped.
func NewStreamDecoder() llm.StreamDecoder { return &streamDecoder{} }

type streamDecoder struct {
	blocks []blockState // by content block index
	next   int          // the next part index
	usage  usageState
	ev     llm.Event
	p      parser // reads content_block_delta, most of a stream's events
	in     eventIn
}

// blockState follows one content block.
type blockState struct {
	kind    uint8
	part    int  // its part index, -1 until it has emitted an event
	sawArgs bool // tool_use: a non-empty input_json_delta arrived
	input   jsontext.Value
}

// maxBlocks bounds the content block index an upstream may use.
const maxBlocks = 1 << 14

// Decode reads one event.
func (d *streamDecoder) Decode(name string, data []byte, emit func(*llm.Event)) error {
	d.in = eventIn{}
	in := &d.in
	if name == "content_block_delta" {
		if d.readDelta(data, in) {
			d.delta(in, emit)
			return nil
		}
		*in = eventIn{}
	}
	if err := json.Unmarshal(data, in); err != nil {
		if name == "error" {
			d.emit(emit, llm.Event{Type: llm.EventError, Error: &llm.UpstreamError{Type: "api_error", Message: "upstream stream error: " + truncate(string(data), 512)}})
			return nil
		}
		return fmt.Errorf("anthropic: malformed %s event: %w", name, err)
	}
	if name == "" {
		name = in.Type
	}
	switch name {
	case "message_start":
		if in.Message == nil {
			return fmt.Errorf("anthropic: message_start event without a message")
		}
		d.usage.update(in.Message.Usage)
		d.emit(emit, llm.Event{Type: llm.EventStart, ID: in.Message.ID, Model: in.Message.Model, Usage: d.usage.usage()})

	case "content_block_start":
		if in.Index < 0 || in.Index >= maxBlocks || in.ContentBlock == nil {
			return fmt.Errorf("anthropic: malformed content_block_start event")
		}
		for len(d.blocks) <= in.Index {
			d.blocks = append(d.blocks, blockState{part: -1})
		}
		b := &d.blocks[in.Index]
		*b = blockState{part: -1}
		cb := in.ContentBlock
		switch cb.Type {
		case "text":
			b.kind = blockText
			if cb.Text != "" {
				d.emit(emit, llm.Event{Type: llm.EventText, Index: d.part(b), Text: cb.Text})
			}
		case "thinking":
			b.kind = blockThinking
			if cb.Thinking != "" || cb.Signature != "" {
				d.emit(emit, llm.Event{Type: llm.EventThinking, Index: d.part(b), Text: cb.Thinking, Signature: cb.Signature})
			}
		case "redacted_thinking":
			b.kind = blockRedacted
			d.emit(emit, llm.Event{Type: llm.EventRedactedThinking, Index: d.part(b), Signature: cb.Data})
		case "tool_use":
			b.kind = blockTool
			if cb.Input.Kind() == '{' && !isEmptyObject(cb.Input) {
				b.input = cb.Input
			}
			d.emit(emit, llm.Event{Type: llm.EventToolCall, Index: d.part(b), ID: cb.ID, Name: cb.Name})
		}

	case "content_block_delta":
		d.delta(in, emit)

	case "content_block_stop":
		b := d.block(in.Index)
		if b == nil || b.kind != blockTool || b.sawArgs {
			return nil
		}
		// No input arrived in deltas: the input given at the start (or {})
		// is the whole of the arguments.
		args := string(emptyObject)
		if b.input != nil {
			args = string(b.input)
		}
		b.sawArgs = true
		d.emit(emit, llm.Event{Type: llm.EventToolArgs, Index: d.part(b), Text: args})

	case "message_delta":
		if in.Delta.StopReason != nil {
			e := llm.Event{Type: llm.EventFinish, Finish: finishReason(*in.Delta.StopReason)}
			if e.Finish == llm.FinishStopSequence && in.Delta.StopSequence != nil {
				e.StopSequence = *in.Delta.StopSequence
			}
			d.emit(emit, e)
		}
		d.usage.update(in.Usage)
		if d.usage.seen {
			d.emit(emit, llm.Event{Type: llm.EventUsage, Usage: d.usage.usage()})
		}

	case "message_stop":
		d.emit(emit, llm.Event{Type: llm.EventEnd})

	case "error":
		ue := &llm.UpstreamError{Type: "api_error", Message: "upstream stream error"}
		if in.Error != nil {
			ue = upstreamError(in.Error)
		}
		d.emit(emit, llm.Event{Type: llm.EventError, Error: ue})
	}
	// ping and event types added later are skipped.
	return nil
}

// delta handles a content_block_delta event.
func (d *streamDecoder) delta(in *eventIn, emit func(*llm.Event)) {
	b := d.block(in.Index)
	if b == nil {
		return
	}
	switch in.Delta.Type {
	case "text_delta":
		if b.kind == blockText && in.Delta.Text != "" {
			d.emit(emit, llm.Event{Type: llm.EventText, Index: d.part(b), Text: in.Delta.Text})
		}
	case "thinking_delta":
		if b.kind == blockThinking && in.Delta.Thinking != "" {
			d.emit(emit, llm.Event{Type: llm.EventThinking, Index: d.part(b), Text: in.Delta.Thinking})
		}
	case "signature_delta":
		if b.kind == blockThinking && in.Delta.Signature != "" {
			d.emit(emit, llm.Event{Type: llm.EventThinking, Index: d.part(b), Signature: in.Delta.Signature})
		}
	case "input_json_delta":
		if b.kind == blockTool && in.Delta.PartialJSON != "" {
			b.sawArgs = true
			d.emit(emit, llm.Event{Type: llm.EventToolArgs, Index: d.part(b), Text: in.Delta.PartialJSON})
		}
	}
}

// readDelta reads a content_block_delta event without reflection. It
// reports false for anything unexpected, left to json.Unmarshal.
func (d *streamDecoder) readDelta(data []byte, in *eventIn) bool {
	p := &d.p
	p.buf = *bytes.NewBuffer(data)
	p.d.Reset(&p.buf, decodeOptions)
	defer func() { p.buf = bytes.Buffer{} }()
	if ok, err := p.enter('{'); !ok || err != nil {
		return false
	}
	for p.more() {
		name, err := p.name()
		if err != nil {
			return false
		}
		switch string(name) {
		case "type":
			in.Type, err = p.sym()
		case "index":
			var n int64
			n, _, err = p.integer()
			in.Index = int(n)
		case "delta":
			err = p.deltaObject(&in.Delta)
		default:
			err = p.d.SkipValue()
		}
		if err != nil {
			return false
		}
	}
	return p.leave() == nil && p.end() == nil
}

// deltaObject reads the delta of a content_block_delta event.
func (p *parser) deltaObject(dl *deltaIn) error {
	if ok, err := p.enter('{'); !ok {
		if err == nil {
			err = errNotObject
		}
		return err
	}
	for p.more() {
		name, err := p.name()
		if err != nil {
			return err
		}
		switch string(name) {
		case "type":
			dl.Type, err = p.deltaType()
		case "text":
			dl.Text, err = p.str()
		case "partial_json":
			dl.PartialJSON, err = p.str()
		case "thinking":
			dl.Thinking, err = p.str()
		case "signature":
			dl.Signature, err = p.str()
		default:
			err = p.d.SkipValue()
		}
		if err != nil {
			return err
		}
	}
	return p.leave()
}

// deltaType reads a delta's type.
func (p *parser) deltaType() (string, error) {
	v, err := p.d.ReadValue()
	if err != nil {
		return "", err
	}
	switch string(v) {
	case `"text_delta"`:
		return "text_delta", nil
	case `"input_json_delta"`:
		return "input_json_delta", nil
	case `"thinking_delta"`:
		return "thinking_delta", nil
	case `"signature_delta"`:
		return "signature_delta", nil
	}
	return "", errNotObject // other deltas (citations…) go the slow way
}

// errNotObject makes readDelta give up.
var errNotObject = errors.New("unexpected delta")

// emit hands e to the caller through the decoder's reused event.
func (d *streamDecoder) emit(emit func(*llm.Event), e llm.Event) {
	d.ev = e
	emit(&d.ev)
}

// block returns the state of content block i, nil when unknown.
func (d *streamDecoder) block(i int) *blockState {
	if i < 0 || i >= len(d.blocks) {
		return nil
	}
	return &d.blocks[i]
}

// part returns b's part index, giving it the next one on first use.
func (d *streamDecoder) part(b *blockState) int {
	if b.part < 0 {
		b.part = d.next
		d.next++
	}
	return b.part
}

// isEmptyObject reports whether v is {} (with any spacing).
func isEmptyObject(v jsontext.Value) bool {
	n := 0
	for _, c := range v {
		switch c {
		case ' ', '\t', '\r', '\n':
		default:
			n++
		}
	}
	return n == 2
}

// ---- encoding ----

// NewStreamEncoder returns an encoder of an Anthropic Messages stream, the
// event sequence the Anthropic SDKs expect:
//
//	message_start (the message with empty content, the input usage when known)
//	per part: content_block_start, content_block_delta…, content_block_stop
//	message_delta (stop_reason, stop_sequence, usage) and message_stop at EventEnd
//
// A block is stopped when the next part starts, and before message_delta.
// message_start is written before the first other event when EventStart did
// not come. EventError writes an error event and nothing follows it.
func NewStreamEncoder(o llm.ResponseOptions) llm.StreamEncoder {
	return &streamEncoder{open: -1}
}

type streamEncoder struct {
	started, done bool
	calledTools   bool
	open          int // the content block index of the open block, -1 when none
	openPart      int // the part index of the open block
	next          int // the next content block index
	blocks        []partBlock
	finish        llm.Finish
	stopSequence  string
	usage         llm.Usage
	haveUsage     bool
}

// partBlock maps a part to its content block.
type partBlock struct {
	part, block int
	kind        uint8
}

// Encode appends the events e turns into.
func (s *streamEncoder) Encode(dst []byte, e *llm.Event) []byte {
	if s.done {
		return dst
	}
	switch e.Type {
	case llm.EventStart:
		if !s.started {
			dst = s.start(dst, e.ID, e.Model, e.Usage)
		}
	case llm.EventText:
		if e.Text == "" {
			return dst
		}
		dst = s.ensureStarted(dst)
		var idx int
		dst, idx = s.blockFor(dst, e.Index, blockText, "", "")
		dst = appendDeltaHead(dst, idx, "text_delta")
		dst = appendKey(dst, "text", e.Text)
		dst = append(dst, "}}\n\n"...)
	case llm.EventThinking:
		if e.Text == "" && e.Signature == "" {
			return dst
		}
		dst = s.ensureStarted(dst)
		var idx int
		dst, idx = s.blockFor(dst, e.Index, blockThinking, "", "")
		if e.Text != "" {
			dst = appendDeltaHead(dst, idx, "thinking_delta")
			dst = appendKey(dst, "thinking", e.Text)
			dst = append(dst, "}}\n\n"...)
		}
		if e.Signature != "" {
			dst = appendDeltaHead(dst, idx, "signature_delta")
			dst = appendKey(dst, "signature", e.Signature)
			dst = append(dst, "}}\n\n"...)
		}
	case llm.EventRedactedThinking:
		dst = s.ensureStarted(dst)
		dst = s.closeOpen(dst)
		idx := s.next
		s.next++
		s.blocks = append(s.blocks, partBlock{part: e.Index, block: idx, kind: blockRedacted})
		dst = append(dst, "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":"...)
		dst = strconv.AppendInt(dst, int64(idx), 10)
		dst = append(dst, ",\"content_block\":{\"type\":\"redacted_thinking\""...)
		dst = appendKey(dst, "data", e.Signature)
		dst = append(dst, "}}\n\n"...)
		dst = appendStop(dst, idx)
	case llm.EventToolCall:
		dst = s.ensureStarted(dst)
		dst = s.closeOpen(dst)
		s.calledTools = true
		id := e.ID
		if id == "" {
			id = newID("toolu_")
		}
		dst, _ = s.blockFor(dst, e.Index, blockTool, id, e.Name)
	case llm.EventToolArgs:
		if e.Text == "" {
			return dst
		}
		dst = s.ensureStarted(dst)
		var idx int
		dst, idx = s.blockFor(dst, e.Index, blockTool, "", "")
		dst = appendDeltaHead(dst, idx, "input_json_delta")
		dst = appendKey(dst, "partial_json", e.Text)
		dst = append(dst, "}}\n\n"...)
	case llm.EventFinish:
		s.finish, s.stopSequence = e.Finish, e.StopSequence
	case llm.EventUsage:
		s.usage, s.haveUsage = e.Usage, true
	case llm.EventEnd:
		dst = s.ensureStarted(dst)
		dst = s.closeOpen(dst)
		dst = s.end(dst)
		s.done = true
	case llm.EventError:
		ue := e.Error
		if ue == nil {
			ue = &llm.UpstreamError{Message: "upstream error"}
		}
		msg := ue.Message
		if msg == "" {
			msg = ue.Type
		}
		dst = append(dst, "event: error\ndata: {\"type\":\"error\",\"error\":{"...)
		dst = appendString(append(dst, "\"type\":"...), errorType(ue))
		dst = appendKey(dst, "message", msg)
		dst = append(dst, "}}\n\n"...)
		s.done = true
	}
	return dst
}

// ensureStarted writes message_start if it was not written yet.
func (s *streamEncoder) ensureStarted(dst []byte) []byte {
	if s.started {
		return dst
	}
	return s.start(dst, "", "", llm.Usage{})
}

// start writes message_start.
func (s *streamEncoder) start(dst []byte, id, model string, u llm.Usage) []byte {
	s.started = true
	if id == "" {
		id = newID("msg_")
	}
	wu := wireUsage(u)
	dst = append(dst, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":"...)
	dst = appendString(dst, id)
	dst = append(dst, ",\"type\":\"message\",\"role\":\"assistant\",\"model\":"...)
	dst = appendString(dst, model)
	dst = append(dst, ",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":"...)
	dst = appendUsage(dst, wu, true)
	return append(dst, "}}\n\n"...)
}

// blockFor returns the content block index of part, starting a block of
// kind for it when the part is new (and stopping the open one). A delta for
// a part whose block was already stopped goes to that block.
func (s *streamEncoder) blockFor(dst []byte, part int, kind uint8, id, name string) ([]byte, int) {
	if s.open >= 0 && s.openPart == part && s.blocks[len(s.blocks)-1].kind == kind {
		return dst, s.open
	}
	if kind != blockTool || id == "" { // a new tool call always opens a block
		for i := len(s.blocks) - 1; i >= 0; i-- {
			if b := s.blocks[i]; b.part == part && b.kind == kind {
				return dst, b.block
			}
		}
	}
	dst = s.closeOpen(dst)
	idx := s.next
	s.next++
	s.open, s.openPart = idx, part
	s.blocks = append(s.blocks, partBlock{part: part, block: idx, kind: kind})
	dst = append(dst, "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":"...)
	dst = strconv.AppendInt(dst, int64(idx), 10)
	switch kind {
	case blockText:
		dst = append(dst, ",\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"...)
	case blockThinking:
		dst = append(dst, ",\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}\n\n"...)
	case blockTool:
		if id == "" {
			id = newID("toolu_")
		}
		s.calledTools = true
		dst = append(dst, ",\"content_block\":{\"type\":\"tool_use\",\"id\":"...)
		dst = appendString(dst, id)
		dst = appendKey(dst, "name", name)
		dst = append(dst, ",\"input\":{}}}\n\n"...)
	}
	return dst, idx
}

// closeOpen stops the open block.
func (s *streamEncoder) closeOpen(dst []byte) []byte {
	if s.open < 0 {
		return dst
	}
	dst = appendStop(dst, s.open)
	s.open = -1
	return dst
}

// end writes message_delta and message_stop.
func (s *streamEncoder) end(dst []byte) []byte {
	dst = append(dst, "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"...)
	reason := stopReason(s.finish, s.calledTools)
	dst = appendString(dst, reason)
	dst = append(dst, ",\"stop_sequence\":"...)
	if reason == "stop_sequence" && s.stopSequence != "" {
		dst = appendString(dst, s.stopSequence)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, "},\"usage\":"...)
	dst = appendUsage(dst, wireUsage(s.usage), s.haveUsage && s.usage.Input > 0)
	dst = append(dst, "}\n\n"...)
	return append(dst, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"...)
}

// appendDeltaHead appends the start of a content_block_delta event, up to
// and including the delta's type.
func appendDeltaHead(dst []byte, idx int, typ string) []byte {
	dst = append(dst, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":"...)
	dst = strconv.AppendInt(dst, int64(idx), 10)
	dst = append(dst, ",\"delta\":{\"type\":\""...)
	dst = append(dst, typ...)
	return append(dst, '"')
}

// appendStop appends a content_block_stop event.
func appendStop(dst []byte, idx int) []byte {
	dst = append(dst, "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":"...)
	dst = strconv.AppendInt(dst, int64(idx), 10)
	return append(dst, "}\n\n"...)
}
