package meter

import (
	"bytes"
	"strings"
)

// streamKind selects the event handler of a Stream.
type streamKind uint8

const (
	kindUnknown   streamKind = iota
	kindFree                 // an operation that costs nothing (count_tokens)
	kindChat                 // OpenAI chat completions chunks
	kindResponses            // OpenAI Responses API events
	kindAnthropic            // Anthropic Messages events
	kindGemini               // Gemini streamGenerateContent (alt=sse) chunks
)

// Stream meters a server-sent event stream as it is relayed, one event at a
// time. Most events carry text deltas: Stream walks only the few fields
// that hold text or usage, without decoding or allocating, and reads usage
// only from the events that carry it:
//
//   - OpenAI chat completions: the chunk whose `usage` is an object (the
//     gateway always sets stream_options.include_usage; every other chunk
//     then has "usage": null). Usage in a chunk with choices, as sent by
//     some compatible servers on every chunk, is provisional until the chunk
//     has a finish_reason, the choices are empty, or [DONE] follows.
//   - OpenAI Responses API: response.completed, response.incomplete and
//     response.failed carry `response.usage`.
//   - Anthropic: message_start carries input and cache counts; message_delta
//     carries the cumulative output count, and newer API versions repeat the
//     input and cache counts there: each count keeps its largest value,
//     never a sum. The usage is complete once a message_delta carried
//     output_tokens and the input count is known.
//   - Gemini: every chunk may carry usageMetadata, each superseding the
//     last; the usage is complete once a candidate has a finishReason (or
//     the prompt was blocked) and a later-or-same chunk carried counts.
//
// It also counts the text of content, reasoning, refusal and tool-call
// argument deltas (by character class, keeping none of it), so that a cut
// stream can be estimated.
//
// Stream never keeps the data it is given: the caller may reuse its buffer
// after Event returns. An estimate is not capped here; capping it at the
// request's reservation is the settlement's job. A Stream is not safe for
// concurrent use. The zero Stream meters nothing.
type Stream struct {
	kind streamKind

	// text counts the output streamed so far.
	text textStats

	// got holds the provider's counts seen so far; gotInput and gotOutput
	// say which side they cover. reported says they are final.
	got       Usage
	gotInput  bool
	gotOutput bool
	reported  bool

	anthropic anthropicCounts
	finished  bool // Gemini: a finishReason or blockReason was seen

	// The request body, for the input estimate; reqTokens caches it.
	req       []byte
	reqTokens int64
	reqKnown  bool
	dialect   string
	op        string
}

// NewStream returns a Stream for an answer of the dialect and operation.
func NewStream(dialect, op string) *Stream {
	s := &Stream{dialect: dialect, op: op}
	switch dialect {
	case DialectOpenAI:
		if op == OpResponses {
			s.kind = kindResponses
		} else {
			s.kind = kindChat
		}
	case DialectAnthropic:
		if op == OpCountTokens {
			s.kind = kindFree
		} else {
			s.kind = kindAnthropic
		}
	case DialectGemini:
		if op == OpCountTokens {
			s.kind = kindFree
		} else {
			s.kind = kindGemini
		}
	}
	return s
}

// SetRequest gives the request body as sent upstream, for the input
// estimate of a cut stream. The Stream keeps a reference and reads it only
// if an estimate is needed, so the caller must not modify body afterwards.
func (s *Stream) SetRequest(body []byte) {
	s.req = body
	s.reqKnown = false
}

// SetInputEstimate sets the input estimate of a cut stream directly, for a
// caller that already computed EstimateRequestTokens (for admission) and
// wants to avoid a second pass over the body.
func (s *Stream) SetInputEstimate(n int64) {
	s.reqTokens = max(n, 0)
	s.reqKnown = true
}

// Reported reports whether the provider's complete usage arrived (or the
// operation is free), in which case Usage is exact and not Estimated.
func (s *Stream) Reported() bool { return s.reported || s.kind == kindFree }

// Usage returns the provider-reported usage if it arrived. Otherwise it
// returns an estimate, with Estimated set: the input is the provider's own
// input count when it sent one before the cut (Anthropic's message_start,
// Gemini's partial usageMetadata), else EstimateRequestTokens of the
// request; the output is the larger of the provider's partial count and
// the estimate of the text streamed so far, so it is never zero when
// content was delivered.
func (s *Stream) Usage() Usage {
	if s.kind == kindFree {
		return Usage{}
	}
	if s.reported {
		u := s.got
		u.Estimated = false
		return u
	}
	u := Usage{Estimated: true}
	if s.gotInput {
		u.InputTokens = s.got.InputTokens
		u.CachedInputTokens = s.got.CachedInputTokens
		u.CacheWriteTokens = s.got.CacheWriteTokens
	} else {
		u.InputTokens = s.requestTokens()
	}
	if !s.text.empty() {
		u.OutputTokens = s.text.tokens()
	}
	if s.gotOutput {
		u.OutputTokens = max(u.OutputTokens, s.got.OutputTokens)
	}
	return u
}

// requestTokens is the (cached) input estimate.
func (s *Stream) requestTokens() int64 {
	if !s.reqKnown {
		s.reqTokens = EstimateRequestTokens(s.dialect, s.op, s.req)
		s.reqKnown = true
	}
	return s.reqTokens
}

// Event meters one event: its `event:` name (empty when the stream has
// none) and its data (the `data:` field, several lines joined by "\n", as
// the gateway's sse package gives them; "[DONE]" included).
func (s *Stream) Event(name string, data []byte) {
	switch s.kind {
	case kindChat:
		s.chatEvent(data)
	case kindResponses:
		s.responsesEvent(name, data)
	case kindAnthropic:
		s.anthropicEvent(name, data)
	case kindGemini:
		s.geminiEvent(data)
	}
}

// eventType is the "type" member of an event's data, for streams whose
// events have no names.
func eventType(data []byte) []byte {
	t, _ := field(data, "type")
	return stringBody(t)
}

// chatEvent meters an OpenAI chat completion chunk. The names "choices"
// and "usage" occur only at the top level of a chunk, so they are found by
// name (keyStart) instead of walking the id, model and fingerprint fields.
func (s *Stream) chatEvent(data []byte) {
	if string(data) == "[DONE]" {
		// A compatible server's usage on its last chunk is final once the
		// stream says it is done.
		if s.gotInput && s.gotOutput {
			s.reported = true
		}
		return
	}
	choices, finished := false, false
	if i, ok := keyStart(data, 0, "choices"); ok {
		a := newArray(data[i:])
		for c, ok := a.next(); ok; c, ok = a.next() {
			choices = true
			co := newObject(c)
			for ck, cv, ok := co.next(); ok; ck, cv, ok = co.next() {
				switch string(ck) {
				case "delta":
					s.chatDelta(cv)
				case "text": // legacy completions
					s.text.addJSON(stringBody(cv))
				case "finish_reason":
					if len(stringBody(cv)) > 0 {
						finished = true
					}
				}
			}
		}
	}
	i, ok := keyStart(data, 0, "usage")
	if !ok || !isObject(data[i:]) {
		return
	}
	usage := data[i:]
	if u, ok := openAIUsage(usage); ok {
		s.got, s.gotInput, s.gotOutput = u, true, true
		if !choices || finished {
			s.reported = true
		}
	}
}

// chatDelta counts the text of a chat completion chunk's delta.
func (s *Stream) chatDelta(d []byte) {
	o := newObject(d)
	for k, v, ok := o.next(); ok; k, v, ok = o.next() {
		switch string(k) {
		case "content", "reasoning_content", "reasoning", "refusal":
			s.text.addJSON(stringBody(v))
		case "tool_calls":
			a := newArray(v)
			for c, ok := a.next(); ok; c, ok = a.next() {
				if f, ok := field(c, "function"); ok {
					s.functionDelta(f)
				}
			}
		case "function_call": // deprecated functions API
			s.functionDelta(v)
		}
	}
}

// functionDelta counts a tool call's name and argument text.
func (s *Stream) functionDelta(f []byte) {
	o := newObject(f)
	for k, v, ok := o.next(); ok; k, v, ok = o.next() {
		switch string(k) {
		case "name", "arguments":
			s.text.addJSON(stringBody(v))
		}
	}
}

// responsesEvent meters an OpenAI Responses API event.
func (s *Stream) responsesEvent(name string, data []byte) {
	var terminal, delta bool
	if name != "" {
		terminal = isTerminal(name)
		delta = !terminal && isTextDelta(name)
	} else {
		t := eventType(data)
		switch string(t) {
		case "response.completed", "response.incomplete", "response.failed":
			terminal = true
		default:
			delta = bytes.HasPrefix(t, []byte("response.")) && bytes.HasSuffix(t, []byte(".delta")) &&
				!bytes.HasSuffix(t, []byte("audio.delta"))
		}
	}
	switch {
	case terminal:
		r, ok := field(data, "response")
		if !ok {
			return
		}
		u, ok := field(r, "usage")
		if !ok || !isObject(u) {
			return
		}
		if got, ok := openAIUsage(u); ok {
			s.got, s.gotInput, s.gotOutput, s.reported = got, true, true, true
		}
	case delta:
		if d, ok := field(data, "delta"); ok {
			s.text.addJSON(stringBody(d))
		}
	}
}

// isTerminal reports whether a Responses event type ends the response and
// carries its usage.
func isTerminal(typ string) bool {
	switch typ {
	case "response.completed", "response.incomplete", "response.failed":
		return true
	}
	return false
}

// isTextDelta reports whether a Responses event type carries generated
// text in "delta": output text, refusals, reasoning text and summaries,
// function, custom tool and MCP call arguments, code interpreter code,
// audio transcripts. Audio itself (response.audio.delta,
// response.output_audio.delta) is base64, not text, and is left out.
func isTextDelta(typ string) bool {
	return strings.HasPrefix(typ, "response.") && strings.HasSuffix(typ, ".delta") &&
		!strings.HasSuffix(typ, "audio.delta")
}

// Anthropic event types the meter acts on.
const (
	anthOther = iota
	anthBlockDelta
	anthBlockStart
	anthMessageStart
	anthMessageDelta
)

func anthropicType(typ string) int {
	switch typ { // keep in step with anthropicTypeOf
	case "content_block_delta":
		return anthBlockDelta
	case "content_block_start":
		return anthBlockStart
	case "message_start":
		return anthMessageStart
	case "message_delta":
		return anthMessageDelta
	}
	return anthOther
}

// anthropicTypeOf is anthropicType for a type read from the data.
func anthropicTypeOf(typ []byte) int {
	switch string(typ) {
	case "content_block_delta":
		return anthBlockDelta
	case "content_block_start":
		return anthBlockStart
	case "message_start":
		return anthMessageStart
	case "message_delta":
		return anthMessageDelta
	}
	return anthOther
}

// anthropicEvent meters an Anthropic Messages event.
func (s *Stream) anthropicEvent(name string, data []byte) {
	var typ int
	if name != "" {
		typ = anthropicType(name)
	} else {
		typ = anthropicTypeOf(eventType(data))
	}
	switch typ {
	case anthBlockDelta:
		d, ok := field(data, "delta")
		if !ok {
			return
		}
		o := newObject(d)
		for k, v, ok := o.next(); ok; k, v, ok = o.next() {
			switch string(k) {
			case "text", "thinking", "partial_json":
				s.text.addJSON(stringBody(v))
			}
		}
	case anthBlockStart:
		cb, ok := field(data, "content_block")
		if !ok {
			return
		}
		o := newObject(cb)
		for k, v, ok := o.next(); ok; k, v, ok = o.next() {
			switch string(k) {
			case "text", "thinking", "name":
				s.text.addJSON(stringBody(v))
			}
		}
	case anthMessageStart:
		m, ok := field(data, "message")
		if !ok {
			return
		}
		if u, ok := field(m, "usage"); ok && isObject(u) {
			s.anthropicUsage(u, false)
		}
	case anthMessageDelta:
		if u, ok := field(data, "usage"); ok && isObject(u) {
			s.anthropicUsage(u, true)
		}
	}
}

// anthropicUsage merges an Anthropic usage object; final says it came in a
// message_delta, whose output count is the final one.
func (s *Stream) anthropicUsage(u []byte, final bool) {
	c := &s.anthropic
	sawOut := c.merge(u)
	s.got, s.gotInput, s.gotOutput = c.usage, c.haveIn, c.haveOut
	if final && sawOut && c.haveIn {
		s.reported = true
	}
}

// geminiEvent meters a Gemini streamGenerateContent chunk. Every chunk
// carries text and usage, so the few names the meter needs are found by
// name (keyStart, keyValue) rather than by walking the chunk: "parts" (once
// per candidate), "finishReason", "blockReason" and "usageMetadata" occur
// nowhere else in a GenerateContentResponse. (A function call's args could
// hold a "parts" member; its text would then be counted twice, in an
// estimate only.)
func (s *Stream) geminiEvent(data []byte) {
	rest := 0 // where the candidates' parts end: the other names follow
	for from := 0; ; {
		i, ok := keyStart(data, from, "parts")
		if !ok {
			break
		}
		a := newArray(data[i:])
		for p, ok := a.next(); ok; p, ok = a.next() {
			po := newObject(p)
			for pk, pv, ok := po.next(); ok; pk, pv, ok = po.next() {
				switch string(pk) {
				case "text":
					s.text.addJSON(stringBody(pv))
				case "functionCall", "executableCode":
					s.text.addRaw(pv)
				}
			}
		}
		from = max(i+a.end(), i+1)
		rest = from
	}
	if rest == 0 {
		// No candidate content: a blocked prompt has promptFeedback.
		if _, _, ok := keyValue(data, 0, "blockReason"); ok {
			s.finished = true
		}
	}
	for from := 0; ; {
		r, end, ok := keyValue(data, from, "finishReason")
		if !ok {
			break
		}
		from = end
		if b := stringBody(r); len(b) > 0 && string(b) != "FINISH_REASON_UNSPECIFIED" {
			s.finished = true
		}
	}
	i, ok := keyStart(data, rest, "usageMetadata")
	if !ok && rest > 0 {
		i, ok = keyStart(data, 0, "usageMetadata") // before the candidates
	}
	if !ok {
		return
	}
	meta := data[i:] // readGemini stops at the object's end
	if c := readGemini(meta); c.any {
		s.got, s.gotInput, s.gotOutput = c.usage, c.haveIn, c.haveOut
		if s.finished {
			s.reported = true
		}
	}
}
