package responses

import (
	"strconv"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/sse"
)

// NewStreamEncoder returns an encoder that writes a neutral stream as the
// Responses API event stream: response.created and response.in_progress,
// then for each part an output item (added, its deltas, done), then
// response.completed (or response.incomplete) carrying the whole response
// with its usage. Every event carries a sequence_number counting from 0.
// A failed stream ends with an `error` event.
func NewStreamEncoder(o llm.ResponseOptions) llm.StreamEncoder {
	return &streamEncoder{created: created(o)}
}

// streamEncoder is the state of one stream.
type streamEncoder struct {
	created int64
	seq     int64
	started bool
	done    bool
	ids     ids
	model   string
	items   []outputItem // finished items, for the final response
	cur     part
	finish  llm.Finish
	usage   llm.Usage
}

// part is the output item being streamed.
type part struct {
	open           bool
	kind           llm.PartType
	index          int // the neutral part index
	outIndex       int // the output_index
	itemID         string
	text           []byte // text, thinking text or tool arguments so far
	signature      string
	callID, name   string
	summaryStarted bool
}

// Encode appends the events e turns into to dst.
func (s *streamEncoder) Encode(dst []byte, e *llm.Event) []byte {
	if s.done {
		return dst
	}
	switch e.Type {
	case llm.EventStart:
		if !s.started {
			dst = s.start(dst, e.ID, e.Model)
		} else if s.model == "" {
			s.model = e.Model
		}
		if e.Usage != (llm.Usage{}) {
			s.usage = e.Usage
		}
	case llm.EventText:
		dst = s.open(dst, e.Index, llm.PartText, "", "")
		if e.Text != "" {
			s.cur.text = append(s.cur.text, e.Text...)
			dst = s.delta(dst, "response.output_text.delta", `,"content_index":0,"delta":`, e.Text, `,"logprobs":[]}`)
		}
	case llm.EventThinking:
		dst = s.open(dst, e.Index, llm.PartThinking, "", "")
		if e.Text != "" {
			if !s.cur.summaryStarted {
				s.cur.summaryStarted = true
				dst = s.event(dst, "response.reasoning_summary_part.added", &summaryPartEvent{
					ItemID: s.cur.itemID, OutputIndex: s.cur.outIndex, Part: summaryPart{Type: "summary_text"},
				})
			}
			s.cur.text = append(s.cur.text, e.Text...)
			dst = s.delta(dst, "response.reasoning_summary_text.delta", `,"summary_index":0,"delta":`, e.Text, `}`)
		}
		s.cur.signature += e.Signature
	case llm.EventRedactedThinking:
		dst = s.ensureStarted(dst)
		dst = s.close(dst, false)
		item := reasoningItem(s.ids.item("rs_", len(s.items)), "", envelope(redactedPrefix, e.Signature))
		added := item
		added.EncryptedContent = ""
		dst = s.event(dst, "response.output_item.added", &itemEvent{OutputIndex: len(s.items), Item: &added})
		dst = s.event(dst, "response.output_item.done", &itemEvent{OutputIndex: len(s.items), Item: &item})
		s.items = append(s.items, item)
	case llm.EventToolCall:
		dst = s.open(dst, e.Index, llm.PartToolCall, e.ID, e.Name)
	case llm.EventToolArgs:
		if s.cur.open && s.cur.kind == llm.PartToolCall && s.cur.index == e.Index && e.Text != "" {
			s.cur.text = append(s.cur.text, e.Text...)
			dst = s.delta(dst, "response.function_call_arguments.delta", `,"delta":`, e.Text, `}`)
		}
	case llm.EventFinish:
		dst = s.ensureStarted(dst)
		s.finish = e.Finish
		dst = s.close(dst, true)
	case llm.EventUsage:
		s.usage = e.Usage
	case llm.EventEnd:
		dst = s.ensureStarted(dst)
		dst = s.close(dst, true)
		status, reason := statusOf(s.finish)
		obj := s.response("in_progress")
		obj.Output = s.items
		obj.finish(status, reason, s.usage)
		name := "response.completed"
		if status == "incomplete" {
			name = "response.incomplete"
		}
		dst = s.event(dst, name, &responseEvent{Response: &obj})
		s.done = true
	case llm.EventError:
		dst = s.errorEvent(dst, e.Error)
		s.done = true
	}
	return dst
}

// start writes response.created and response.in_progress.
func (s *streamEncoder) start(dst []byte, id, model string) []byte {
	s.started = true
	s.ids = newIDs(id)
	s.model = model
	obj := s.response("in_progress")
	dst = s.event(dst, "response.created", &responseEvent{Response: &obj})
	return s.event(dst, "response.in_progress", &responseEvent{Response: &obj})
}

// ensureStarted starts the response when the stream had no EventStart.
func (s *streamEncoder) ensureStarted(dst []byte) []byte {
	if s.started {
		return dst
	}
	return s.start(dst, "", "")
}

func (s *streamEncoder) response(status string) responseObject {
	return newResponseObject(s.ids.response, s.model, s.created, status)
}

// open makes part index (of kind) the current output item, closing the
// previous one and writing the new item's opening events.
func (s *streamEncoder) open(dst []byte, index int, kind llm.PartType, callID, name string) []byte {
	dst = s.ensureStarted(dst)
	if s.cur.open && s.cur.index == index && s.cur.kind == kind {
		return dst
	}
	dst = s.close(dst, false)
	n := len(s.items)
	text := s.cur.text[:0]
	s.cur = part{open: true, kind: kind, index: index, outIndex: n, text: text}
	var item outputItem
	switch kind {
	case llm.PartText:
		s.cur.itemID = s.ids.item("msg_", n)
		item = messageItem(s.cur.itemID, "in_progress", "", false)
	case llm.PartThinking:
		s.cur.itemID = s.ids.item("rs_", n)
		item = reasoningItem(s.cur.itemID, "", "")
	case llm.PartToolCall:
		s.cur.itemID = s.ids.item("fc_", n)
		s.cur.callID, s.cur.name = s.ids.callID(callID, n), name
		item = functionCallItem(s.cur.itemID, "in_progress", s.cur.callID, name, "")
	}
	dst = s.event(dst, "response.output_item.added", &itemEvent{OutputIndex: n, Item: &item})
	if kind == llm.PartText {
		dst = s.event(dst, "response.content_part.added", &contentPartEvent{
			ItemID: s.cur.itemID, OutputIndex: n, Part: outputText{Type: "output_text"},
		})
	}
	return dst
}

// close writes the closing events of the current output item. final says
// the answer ends with it, so an incomplete answer marks it incomplete.
func (s *streamEncoder) close(dst []byte, final bool) []byte {
	if !s.cur.open {
		return dst
	}
	c := &s.cur
	c.open = false
	status := "completed"
	if st, _ := statusOf(s.finish); final && st == "incomplete" {
		status = "incomplete"
	}
	text := string(c.text)
	var item outputItem
	switch c.kind {
	case llm.PartText:
		dst = s.event(dst, "response.output_text.done", &textDoneEvent{
			ItemID: c.itemID, OutputIndex: c.outIndex, Text: text,
		})
		dst = s.event(dst, "response.content_part.done", &contentPartEvent{
			ItemID: c.itemID, OutputIndex: c.outIndex, Part: outputText{Type: "output_text", Text: text},
		})
		item = messageItem(c.itemID, status, text, true)
	case llm.PartThinking:
		if c.summaryStarted {
			dst = s.event(dst, "response.reasoning_summary_text.done", &summaryTextDoneEvent{
				ItemID: c.itemID, OutputIndex: c.outIndex, Text: text,
			})
			dst = s.event(dst, "response.reasoning_summary_part.done", &summaryPartEvent{
				ItemID: c.itemID, OutputIndex: c.outIndex, Part: summaryPart{Type: "summary_text", Text: text},
			})
		}
		item = reasoningItem(c.itemID, text, envelope(thinkingPrefix, c.signature))
	case llm.PartToolCall:
		if len(c.text) == 0 {
			text = "{}"
			dst = s.delta(dst, "response.function_call_arguments.delta", `,"delta":`, text, `}`)
		}
		dst = s.event(dst, "response.function_call_arguments.done", &argumentsDoneEvent{
			ItemID: c.itemID, OutputIndex: c.outIndex, Name: c.name, Arguments: text,
		})
		item = functionCallItem(c.itemID, status, c.callID, c.name, text)
	}
	dst = s.event(dst, "response.output_item.done", &itemEvent{OutputIndex: c.outIndex, Item: &item})
	s.items = append(s.items, item)
	return dst
}

// errorEvent writes the `error` event. Besides the documented flat fields
// it carries them as an "error" object, which the official SDKs (Python,
// Node, Go) turn into a stream error for the caller.
func (s *streamEncoder) errorEvent(dst []byte, ue *llm.UpstreamError) []byte {
	code, msg := "server_error", "the upstream provider reported an error"
	if ue != nil {
		if ue.Type != "" {
			code = ue.Type
		}
		if ue.Message != "" {
			msg = ue.Message
		}
	}
	return s.event(dst, "error", &errorEvent{
		Code: code, Message: msg,
		Error: errorBody{Type: code, Code: code, Message: msg},
	})
}

// event appends one event: its type and sequence number are added to v.
func (s *streamEncoder) event(dst []byte, name string, v eventBody) []byte {
	v.setHeader(name, s.seq)
	s.seq++
	b, err := json.Marshal(v, marshalOpts)
	if err != nil {
		// Only a type the marshaler cannot handle fails; none is used.
		panic("responses: encoding a stream event: " + err.Error())
	}
	return sse.AppendEvent(dst, name, b)
}

// delta appends a delta event of the current item, written by hand (the
// events of the hot path): {"type":name,"sequence_number":n,"item_id":…,
// "output_index":…<mid><quoted text><tail>.
func (s *streamEncoder) delta(dst []byte, name, mid, text, tail string) []byte {
	dst = append(dst, "event: "...)
	dst = append(dst, name...)
	dst = append(dst, "\ndata: {\"type\":\""...)
	dst = append(dst, name...)
	dst = append(dst, `","sequence_number":`...)
	dst = strconv.AppendInt(dst, s.seq, 10)
	s.seq++
	dst = append(dst, `,"item_id":`...)
	dst, _ = jsontext.AppendQuote(dst, s.cur.itemID)
	dst = append(dst, `,"output_index":`...)
	dst = strconv.AppendInt(dst, int64(s.cur.outIndex), 10)
	dst = append(dst, mid...)
	dst, _ = jsontext.AppendQuote(dst, text) // invalid UTF-8 is replaced
	dst = append(dst, tail...)
	return append(dst, "\n\n"...)
}

// eventBody is an event's JSON body; setHeader fills type and
// sequence_number.
type eventBody interface {
	setHeader(name string, seq int64)
}

type header struct {
	Type           string `json:"type"`
	SequenceNumber int64  `json:"sequence_number"`
}

func (h *header) setHeader(name string, seq int64) { h.Type, h.SequenceNumber = name, seq }

type responseEvent struct {
	header
	Response *responseObject `json:"response"`
}

type itemEvent struct {
	header
	OutputIndex int         `json:"output_index"`
	Item        *outputItem `json:"item"`
}

type contentPartEvent struct {
	header
	ItemID       string     `json:"item_id"`
	OutputIndex  int        `json:"output_index"`
	ContentIndex int        `json:"content_index"`
	Part         outputText `json:"part"`
}

type textDoneEvent struct {
	header
	ItemID       string     `json:"item_id"`
	OutputIndex  int        `json:"output_index"`
	ContentIndex int        `json:"content_index"`
	Text         string     `json:"text"`
	Logprobs     []struct{} `json:"logprobs"`
}

type summaryPartEvent struct {
	header
	ItemID       string      `json:"item_id"`
	OutputIndex  int         `json:"output_index"`
	SummaryIndex int         `json:"summary_index"`
	Part         summaryPart `json:"part"`
}

type summaryTextDoneEvent struct {
	header
	ItemID       string `json:"item_id"`
	OutputIndex  int    `json:"output_index"`
	SummaryIndex int    `json:"summary_index"`
	Text         string `json:"text"`
}

type argumentsDoneEvent struct {
	header
	ItemID      string `json:"item_id"`
	OutputIndex int    `json:"output_index"`
	Name        string `json:"name"`
	Arguments   string `json:"arguments"`
}

type errorEvent struct {
	header
	Code    string    `json:"code"`
	Message string    `json:"message"`
	Param   *string   `json:"param"`
	Error   errorBody `json:"error"`
}

type errorBody struct {
	Type    string  `json:"type"`
	Code    string  `json:"code"`
	Message string  `json:"message"`
	Param   *string `json:"param"`
}
