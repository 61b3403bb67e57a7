package gemini

import (
	"bytes"
	"fmt"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/sse"
)

// partKind is the kind of the part a stream is in.
type partKind uint8

const (
	kindNone partKind = iota
	kindText
	kindThinking
	kindTool
)

// streamDecoder reads a streamGenerateContent?alt=sse stream: every event
// is `data: <GenerateContentResponse>`, with no event names and no
// terminal marker.
type streamDecoder struct {
	started, done bool
	kind          partKind
	index         int // the current part's index; -1 before the first
	calls         bool
	ids           callIDs
	usage         llm.Usage
	haveUsage     bool
	ev            llm.Event // reused: emit's argument is only valid during the call
}

// NewStreamDecoder returns a decoder of a Gemini stream. The first chunk
// opens the answer (EventStart with its responseId and modelVersion); text
// and thought parts become EventText and EventThinking deltas (a new part
// index whenever the kind changes); a functionCall, which arrives whole,
// becomes EventToolCall and one EventToolArgs with all its arguments. A
// part's thoughtSignature travels in the Signature of its event: on
// EventThinking, and (as in the non-streamed answer) on EventToolCall and
// EventText too; a signature on an empty part goes with the text part
// being streamed, or else opens a thinking part of its own. A chunk's
// usageMetadata becomes an EventUsage when it changed. Since the
// stream has no terminal marker, the chunk that carries a finishReason
// (or a prompt blockReason) ends it: EventFinish, EventUsage and EventEnd,
// and later chunks are ignored. An {"error": …} chunk is an EventError.
func NewStreamDecoder() llm.StreamDecoder {
	return &streamDecoder{index: -1}
}

func (d *streamDecoder) emit(emit func(*llm.Event), ev llm.Event) {
	d.ev = ev
	emit(&d.ev)
}

// Decode reads one chunk.
func (d *streamDecoder) Decode(name string, data []byte, emit func(*llm.Event)) error {
	if d.done {
		return nil
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil
	}
	var ch generateResponse
	if err := json.Unmarshal(data, &ch, lenient); err != nil {
		return fmt.Errorf("gemini: decoding stream chunk: %w", err)
	}
	if ch.Error != nil {
		d.done = true
		d.emit(emit, llm.Event{Type: llm.EventError, Error: upstreamError(ch.Error)})
		return nil
	}
	if !d.started {
		d.started = true
		d.ids.prefix = callPrefix(ch.ResponseID)
		ev := llm.Event{Type: llm.EventStart, ID: ch.ResponseID, Model: ch.ModelVersion}
		if u := decodeUsage(ch.UsageMetadata); u.Input > 0 {
			ev.Usage = llm.Usage{Input: u.Input, CacheRead: u.CacheRead}
		}
		d.emit(emit, ev)
	}
	var finish string
	if c := firstCandidate(ch.Candidates); c != nil {
		if c.Content != nil {
			for i := range c.Content.Parts {
				d.part(&c.Content.Parts[i], emit)
			}
		}
		finish = c.FinishReason
	}
	changed := false
	if ch.UsageMetadata != nil {
		if u := decodeUsage(ch.UsageMetadata); !d.haveUsage || u != d.usage {
			d.usage, d.haveUsage, changed = u, true, true
		}
	}
	blocked := len(ch.Candidates) == 0 && ch.PromptFeedback != nil && ch.PromptFeedback.BlockReason != ""
	if finish == "" && !blocked {
		if changed {
			d.emit(emit, llm.Event{Type: llm.EventUsage, Usage: d.usage})
		}
		return nil
	}
	f := decodeFinish(finish, d.calls)
	if blocked {
		f = llm.FinishContentFilter
	}
	d.done = true
	d.emit(emit, llm.Event{Type: llm.EventFinish, Finish: f})
	if d.haveUsage {
		d.emit(emit, llm.Event{Type: llm.EventUsage, Usage: d.usage})
	}
	d.emit(emit, llm.Event{Type: llm.EventEnd})
	return nil
}

// part emits the events of one part of a chunk.
func (d *streamDecoder) part(p *part, emit func(*llm.Event)) {
	sig := p.ThoughtSignature
	switch {
	case p.FunctionCall != nil:
		d.index++
		d.kind = kindTool
		d.calls = true
		args := p.FunctionCall.Args
		if !isPresent(args) {
			args = emptyObject
		}
		d.emit(emit, llm.Event{Type: llm.EventToolCall, Index: d.index, ID: d.ids.call(p.FunctionCall), Name: p.FunctionCall.Name, Signature: sig})
		d.emit(emit, llm.Event{Type: llm.EventToolArgs, Index: d.index, Text: string(args)})
	case p.Thought:
		text := deref(p.Text)
		if text == "" && sig == "" {
			return
		}
		d.open(kindThinking)
		if text != "" {
			d.emit(emit, llm.Event{Type: llm.EventThinking, Index: d.index, Text: text})
		}
		if sig != "" {
			d.emit(emit, llm.Event{Type: llm.EventThinking, Index: d.index, Signature: sig})
		}
	case p.Text != nil && *p.Text != "":
		d.open(kindText)
		d.emit(emit, llm.Event{Type: llm.EventText, Index: d.index, Text: *p.Text, Signature: sig})
	case sig != "":
		// A signature alone belongs to the part it follows.
		switch d.kind {
		case kindText:
			d.emit(emit, llm.Event{Type: llm.EventText, Index: d.index, Signature: sig})
		default:
			d.open(kindThinking)
			d.emit(emit, llm.Event{Type: llm.EventThinking, Index: d.index, Signature: sig})
		}
	}
	// Other parts (empty text, inline images…) are not relayed.
}

// open moves to a new part unless the stream is already in one of kind k.
func (d *streamDecoder) open(k partKind) {
	if d.kind != k {
		d.index++
		d.kind = k
	}
}

// streamEncoder writes a streamGenerateContent?alt=sse stream.
type streamEncoder struct {
	id, model string
	usage     llm.Usage
	haveUsage bool
	finish    llm.Finish
	done      bool

	// The tool calls being buffered, in the order they began: Gemini
	// sends calls whole, and their arguments may arrive interleaved.
	tools     []pendingTool
	toolCalls []functionCall
	toolParts []part

	// Reused for every chunk.
	chunk   generateResponse
	cand    [1]candidate
	cont    content
	parts   [1]part
	usageMD usageMetadata
	buf     bytes.Buffer
}

// pendingTool is a tool call whose arguments are being gathered.
type pendingTool struct {
	index     int
	name, sig string
	args      []byte
}

// NewStreamEncoder returns an encoder of a Gemini stream. Every event it
// writes is `data: <GenerateContentResponse>`: one per text or thinking
// delta (a thought part has "thought": true), one per run of tool calls
// (buffered until the next text or thinking, since Gemini sends calls
// whole, without IDs, and arguments may arrive interleaved), and at
// EventEnd a last chunk with the finishReason and the usage (carrying the
// last tool calls, or else an empty text part, so that every chunk has a
// candidate with content, as the SDKs' chat history expects). Every chunk
// carries the usage known so far, the model and the response ID (a
// made-up one when the stream has none). Signatures that are not standard
// base64 (another provider's) are left out: the SDKs decode them as bytes.
// EventError writes {"error": {"code", "message", "status"}} and ends the
// stream; nothing is written after it or after EventEnd.
func NewStreamEncoder(o llm.ResponseOptions) llm.StreamEncoder {
	return &streamEncoder{}
}

// Encode appends the chunks e turns into.
func (s *streamEncoder) Encode(dst []byte, e *llm.Event) []byte {
	if s.done {
		return dst
	}
	switch e.Type {
	case llm.EventStart:
		s.id, s.model = e.ID, e.Model
		if e.Usage != (llm.Usage{}) {
			s.usage, s.haveUsage = e.Usage, true
		}
	case llm.EventText, llm.EventThinking:
		sig := clientSignature(e.Signature)
		if e.Text == "" && sig == "" {
			return dst
		}
		if ps := s.toolPartList(); ps != nil {
			dst = s.write(dst, ps, "")
		}
		s.parts[0] = part{Text: &e.Text, Thought: e.Type == llm.EventThinking && e.Text != "", ThoughtSignature: sig}
		dst = s.write(dst, s.parts[:], "")
	case llm.EventToolCall:
		s.tools = append(s.tools, pendingTool{index: e.Index, name: e.Name, sig: clientSignature(e.Signature)})
	case llm.EventToolArgs:
		for i := len(s.tools) - 1; i >= 0; i-- {
			if s.tools[i].index == e.Index {
				s.tools[i].args = append(s.tools[i].args, e.Text...)
				break
			}
		}
	case llm.EventFinish:
		s.finish = e.Finish
	case llm.EventUsage:
		s.usage, s.haveUsage = e.Usage, true
	case llm.EventEnd:
		ps := s.toolPartList()
		if ps == nil {
			s.parts[0] = part{Text: &emptyText}
			ps = s.parts[:]
		}
		s.done = true
		dst = s.write(dst, ps, encodeFinish(s.finish))
	case llm.EventError:
		s.done = true
		s.buf.Reset()
		err := errorBody{Error: new(apiError)}
		*err.Error = errorObject(e.Error)
		if json.MarshalWrite(&s.buf, &err, lenient) != nil {
			s.buf.Reset()
			s.buf.WriteString(`{"error":{"code":500,"message":"upstream error","status":"INTERNAL"}}`)
		}
		dst = sse.AppendEvent(dst, "", s.buf.Bytes())
	}
	return dst
}

// toolPartList returns the buffered tool calls as functionCall parts and
// forgets them; nil when there are none.
func (s *streamEncoder) toolPartList() []part {
	if len(s.tools) == 0 {
		return nil
	}
	s.toolCalls = s.toolCalls[:0]
	s.toolParts = s.toolParts[:0]
	for i := range s.tools {
		t := &s.tools[i]
		args := jsontext.Value(bytes.TrimSpace(t.args))
		if len(args) == 0 || !args.IsValid() {
			args = emptyObject
		}
		s.toolCalls = append(s.toolCalls, functionCall{Name: t.name, Args: args})
	}
	for i := range s.tools {
		s.toolParts = append(s.toolParts, part{FunctionCall: &s.toolCalls[i], ThoughtSignature: s.tools[i].sig})
	}
	s.tools = s.tools[:0]
	return s.toolParts
}

// write appends one chunk holding parts (and finishReason, when not "").
func (s *streamEncoder) write(dst []byte, parts []part, finishReason string) []byte {
	if s.id == "" {
		s.id = newResponseID()
	}
	s.cont = content{Parts: parts, Role: "model"}
	s.cand[0] = candidate{Content: &s.cont, FinishReason: finishReason}
	s.chunk = generateResponse{Candidates: s.cand[:], ModelVersion: s.model, ResponseID: s.id}
	if s.haveUsage {
		s.usageMD = encodeUsage(&s.usage)
		s.chunk.UsageMetadata = &s.usageMD
	}
	s.buf.Reset()
	if err := json.MarshalWrite(&s.buf, &s.chunk, lenient); err != nil {
		// Only invalid UTF-8 in the text can fail: replace it.
		for i := range parts {
			if parts[i].Text != nil {
				t := string(bytes.ToValidUTF8([]byte(*parts[i].Text), []byte("\uFFFD")))
				parts[i].Text = &t
			}
		}
		s.buf.Reset()
		if err := json.MarshalWrite(&s.buf, &s.chunk, lenient); err != nil {
			return dst
		}
	}
	return sse.AppendEvent(dst, "", s.buf.Bytes())
}
