package responses

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/openai/openai-go/v3/packages/ssestream"
	"github.com/openai/openai-go/v3/responses"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/sse"
)

type rawEvent struct {
	name string
	data []byte
}

// parseSSE reads a stream with the gateway's SSE reader, skipping blocks
// that are no events (the "..." of the reference example).
func parseSSE(t *testing.T, b []byte) []rawEvent {
	t.Helper()
	r := sse.NewReader(bytes.NewReader(b))
	defer r.Release()
	var out []rawEvent
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
		if ev.Name == "" && len(ev.Data) == 0 {
			continue
		}
		out = append(out, rawEvent{ev.Name, bytes.Clone(ev.Data)})
	}
}

// encodeAll runs events through a new encoder, one Encode call each.
func encodeAll(events []llm.Event) []byte {
	enc := NewStreamEncoder(llm.ResponseOptions{Created: 1741290958})
	var out []byte
	for i := range events {
		out = enc.Encode(out, &events[i])
	}
	return out
}

// readWithSDK reads a stream the way the official Go SDK does (its SSE
// decoder and stream type).
func readWithSDK(b []byte) ([]responses.ResponseStreamEventUnion, error) {
	res := &http.Response{
		StatusCode: 200,
		Header:     http.Header{"Content-Type": []string{"text/event-stream"}},
		Body:       io.NopCloser(bytes.NewReader(b)),
	}
	stream := ssestream.NewStream[responses.ResponseStreamEventUnion](ssestream.NewDecoder(res), nil)
	defer stream.Close()
	var events []responses.ResponseStreamEventUnion
	for stream.Next() {
		events = append(events, stream.Current())
	}
	return events, stream.Err()
}

// itemState is what the validator knows of an output item.
type itemState struct {
	typ, id      string
	text         strings.Builder
	partAdded    bool
	summaryAdded bool
	textDone     bool
	partDone     bool
	done         bool
	name         string
	doneItem     responses.ResponseOutputItemUnion
}

// validate checks a stream against the rules the official SDKs rely on (the
// Python SDK's ResponseStreamState, made stricter): sequence numbers count
// from 0, response.created comes first, items are added in output order
// before their content events, deltas add up to the done events, and the
// terminal event's output holds exactly the finished items. It returns the
// terminal event (nil when the stream ended otherwise).
func validate(t *testing.T, events []responses.ResponseStreamEventUnion) *responses.ResponseStreamEventUnion {
	t.Helper()
	return check(t, events, true)
}

// validateLoose is validate without the check that tool arguments are JSON.
func validateLoose(t *testing.T, events []responses.ResponseStreamEventUnion) {
	t.Helper()
	check(t, events, false)
}

func check(t *testing.T, events []responses.ResponseStreamEventUnion, strictJSON bool) *responses.ResponseStreamEventUnion {
	t.Helper()
	var items []*itemState
	get := func(i int, ev *responses.ResponseStreamEventUnion, typ string) *itemState {
		t.Helper()
		if int(ev.OutputIndex) >= len(items) {
			t.Fatalf("event %d (%s): output_index %d before its output_item.added", i, ev.Type, ev.OutputIndex)
		}
		it := items[ev.OutputIndex]
		if it.typ != typ || it.done {
			t.Fatalf("event %d (%s): item %d is a %s (done %v)", i, ev.Type, ev.OutputIndex, it.typ, it.done)
		}
		if ev.ItemID != "" && ev.ItemID != it.id {
			t.Fatalf("event %d (%s): item_id %q, want %q", i, ev.Type, ev.ItemID, it.id)
		}
		return it
	}
	for i := range events {
		ev := &events[i]
		if ev.SequenceNumber != int64(i) {
			t.Fatalf("event %d (%s): sequence_number %d", i, ev.Type, ev.SequenceNumber)
		}
		if ev.AsAny() == nil {
			t.Fatalf("event %d: the SDK does not know type %q", i, ev.Type)
		}
		if i == 0 && ev.Type != "response.created" && ev.Type != "error" {
			t.Fatalf("first event is %s", ev.Type)
		}
		if i == 1 && ev.Type != "response.in_progress" && ev.Type != "error" {
			t.Fatalf("second event is %s", ev.Type)
		}
		switch ev.Type {
		case "response.created", "response.in_progress":
			r := ev.Response
			if r.Status != "in_progress" || len(r.Output) != 0 || r.Object != "response" || r.ID == "" {
				t.Fatalf("event %d: %s", i, ev.RawJSON())
			}
		case "response.output_item.added":
			if len(items) > 0 && !items[len(items)-1].done {
				t.Fatalf("event %d: item added while item %d is open", i, len(items)-1)
			}
			if int(ev.OutputIndex) != len(items) {
				t.Fatalf("event %d: output_index %d, want %d", i, ev.OutputIndex, len(items))
			}
			it := &itemState{typ: ev.Item.Type, id: ev.Item.ID, name: ev.Item.Name}
			if it.id == "" {
				t.Fatalf("event %d: item without id", i)
			}
			switch it.typ {
			case "message":
				if ev.Item.Status != "in_progress" || len(ev.Item.Content) != 0 || ev.Item.Role != "assistant" {
					t.Fatalf("event %d: %s", i, ev.RawJSON())
				}
			case "function_call":
				if ev.Item.Arguments.OfString != "" || ev.Item.CallID == "" || ev.Item.Name == "" {
					t.Fatalf("event %d: %s", i, ev.RawJSON())
				}
			case "reasoning":
				if len(ev.Item.Summary) != 0 {
					t.Fatalf("event %d: %s", i, ev.RawJSON())
				}
			}
			items = append(items, it)
		case "response.content_part.added":
			it := get(i, ev, "message")
			if it.partAdded || ev.ContentIndex != 0 || ev.Part.Type != "output_text" || ev.Part.Text != "" {
				t.Fatalf("event %d: %s", i, ev.RawJSON())
			}
			it.partAdded = true
		case "response.output_text.delta":
			it := get(i, ev, "message")
			if !it.partAdded || it.textDone || ev.ContentIndex != 0 {
				t.Fatalf("event %d: delta outside its content part", i)
			}
			it.text.WriteString(ev.Delta)
		case "response.output_text.done":
			it := get(i, ev, "message")
			if ev.Text != it.text.String() {
				t.Fatalf("event %d: text %q, deltas %q", i, ev.Text, it.text.String())
			}
			it.textDone = true
		case "response.content_part.done":
			it := get(i, ev, "message")
			if !it.textDone || ev.Part.Text != it.text.String() {
				t.Fatalf("event %d: %s", i, ev.RawJSON())
			}
			it.partDone = true
		case "response.reasoning_summary_part.added":
			it := get(i, ev, "reasoning")
			if it.summaryAdded || ev.SummaryIndex != 0 {
				t.Fatalf("event %d: %s", i, ev.RawJSON())
			}
			it.summaryAdded = true
		case "response.reasoning_summary_text.delta":
			it := get(i, ev, "reasoning")
			if !it.summaryAdded || it.textDone {
				t.Fatalf("event %d: summary delta outside its part", i)
			}
			it.text.WriteString(ev.Delta)
		case "response.reasoning_summary_text.done":
			it := get(i, ev, "reasoning")
			if ev.Text != it.text.String() {
				t.Fatalf("event %d: text %q, deltas %q", i, ev.Text, it.text.String())
			}
			it.textDone = true
		case "response.reasoning_summary_part.done":
			it := get(i, ev, "reasoning")
			if !it.textDone || ev.Part.Text != it.text.String() {
				t.Fatalf("event %d: %s", i, ev.RawJSON())
			}
			it.partDone = true
		case "response.function_call_arguments.delta":
			it := get(i, ev, "function_call")
			if it.textDone {
				t.Fatalf("event %d: arguments delta after done", i)
			}
			it.text.WriteString(ev.Delta)
		case "response.function_call_arguments.done":
			it := get(i, ev, "function_call")
			if ev.Arguments != it.text.String() || strictJSON && !json.Valid([]byte(ev.Arguments)) {
				t.Fatalf("event %d: arguments %q, deltas %q", i, ev.Arguments, it.text.String())
			}
			var withName struct{ Name string }
			_ = json.Unmarshal([]byte(ev.RawJSON()), &withName)
			if withName.Name != it.name {
				t.Fatalf("event %d: name %q, want %q", i, withName.Name, it.name)
			}
			it.textDone = true
		case "response.output_item.done":
			it := get(i, ev, ev.Item.Type)
			switch it.typ {
			case "message":
				if !it.partDone || len(ev.Item.Content) != 1 || ev.Item.Content[0].Text != it.text.String() {
					t.Fatalf("event %d: %s", i, ev.RawJSON())
				}
			case "function_call":
				if !it.textDone || ev.Item.Arguments.OfString != it.text.String() {
					t.Fatalf("event %d: %s", i, ev.RawJSON())
				}
			case "reasoning":
				if it.summaryAdded != it.partDone || (it.summaryAdded && (len(ev.Item.Summary) != 1 || ev.Item.Summary[0].Text != it.text.String())) {
					t.Fatalf("event %d: %s", i, ev.RawJSON())
				}
			}
			it.done, it.doneItem = true, ev.Item
		case "response.completed", "response.incomplete":
			if i != len(events)-1 {
				t.Fatalf("event %d: %s is not the last event", i, ev.Type)
			}
			out := ev.Response.Output
			if len(out) != len(items) {
				t.Fatalf("terminal output has %d items, the stream %d", len(out), len(items))
			}
			for j, it := range items {
				if !it.done || out[j].RawJSON() != it.doneItem.RawJSON() {
					t.Fatalf("terminal output[%d] = %s, done item %s", j, out[j].RawJSON(), it.doneItem.RawJSON())
				}
			}
			return ev
		case "error":
			if i != len(events)-1 {
				t.Fatalf("event %d: error is not the last event", i)
			}
		default:
			t.Fatalf("event %d: unexpected %s", i, ev.Type)
		}
	}
	return nil
}

// rawErrorEvent decodes raw error event data.
func decodeErrorEvent(t *testing.T, data []byte) responses.ResponseErrorEvent {
	t.Helper()
	var ev responses.ResponseErrorEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestStreamMatchesReference encodes the reference streaming example and
// compares it with the reference: the same events in the same order (runs
// of deltas counted once), each with every field the reference has.
func TestStreamMatchesReference(t *testing.T) {
	// The reference example ends without the blank line after its last event.
	ref := parseSSE(t, append(fixture(t, "stream_streaming.sse"), '\n'))
	got := parseSSE(t, encodeAll([]llm.Event{
		{Type: llm.EventStart, ID: "resp_67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654", Model: "gpt-4.1-2025-04-14"},
		{Type: llm.EventText, Index: 0, Text: "Hi"},
		{Type: llm.EventText, Index: 0, Text: " there! How can I assist you today?"},
		{Type: llm.EventFinish, Finish: llm.FinishStop},
		{Type: llm.EventUsage, Usage: llm.Usage{Input: 37, Output: 11}},
		{Type: llm.EventEnd},
	}))
	collapse := func(evs []rawEvent) []rawEvent {
		var out []rawEvent
		for _, e := range evs {
			if len(out) > 0 && strings.HasSuffix(e.name, ".delta") && out[len(out)-1].name == e.name {
				continue
			}
			out = append(out, e)
		}
		return out
	}
	ref, got = collapse(ref), collapse(got)
	var refNames, gotNames []string
	for _, e := range ref {
		refNames = append(refNames, e.name)
	}
	for _, e := range got {
		gotNames = append(gotNames, e.name)
	}
	if !reflect.DeepEqual(gotNames, refNames) {
		t.Fatalf("events\ngot:  %v\nwant: %v", gotNames, refNames)
	}
	for i := range ref {
		conforms(t, ref[i].name, unmarshalMap(t, got[i].data), unmarshalMap(t, ref[i].data))
	}
}

type streamCase struct {
	name   string
	events []llm.Event
	// resp is the same answer as a whole, when the terminal response must
	// equal what EncodeResponse makes of it.
	resp     *llm.Response
	status   string
	reason   string
	types    []string
	text     string
	errorMsg string
}

var streamCases = []streamCase{
	{
		name: "text",
		events: []llm.Event{
			{Type: llm.EventStart, ID: "msg_1", Model: "claude", Usage: llm.Usage{Input: 10}},
			{Type: llm.EventText, Index: 0, Text: "Hello"},
			{Type: llm.EventText, Index: 0, Text: ", world"},
			{Type: llm.EventUsage, Usage: llm.Usage{Input: 10, Output: 3}},
			{Type: llm.EventFinish, Finish: llm.FinishStop},
			{Type: llm.EventEnd},
		},
		resp:   &llm.Response{ID: "msg_1", Model: "claude", Parts: []llm.Part{text("Hello, world")}, Finish: llm.FinishStop, Usage: llm.Usage{Input: 10, Output: 3}},
		status: "completed", types: []string{"message"}, text: "Hello, world",
	},
	{
		name: "thinking, text and tool calls",
		events: []llm.Event{
			{Type: llm.EventStart, ID: "msg_2", Model: "claude"},
			{Type: llm.EventThinking, Index: 0, Text: "The user wants "},
			{Type: llm.EventThinking, Index: 0, Text: "the weather."},
			{Type: llm.EventThinking, Index: 0, Signature: "EqQBCkY="},
			{Type: llm.EventText, Index: 1, Text: "Checking."},
			{Type: llm.EventToolCall, Index: 2, ID: "toolu_1", Name: "get_weather"},
			{Type: llm.EventToolArgs, Index: 2, Text: `{"city":`},
			{Type: llm.EventToolArgs, Index: 2, Text: `"Paris"}`},
			{Type: llm.EventToolCall, Index: 3, ID: "toolu_2", Name: "now"},
			{Type: llm.EventUsage, Usage: llm.Usage{Input: 100, Output: 40, CacheRead: 80, Reasoning: 12}},
			{Type: llm.EventFinish, Finish: llm.FinishToolCalls},
			{Type: llm.EventEnd},
		},
		resp: &llm.Response{ID: "msg_2", Model: "claude", Parts: []llm.Part{
			{Type: llm.PartThinking, Text: "The user wants the weather.", Signature: "EqQBCkY="},
			text("Checking."),
			{Type: llm.PartToolCall, ID: "toolu_1", Name: "get_weather", Arguments: jsontext.Value(`{"city":"Paris"}`)},
			{Type: llm.PartToolCall, ID: "toolu_2", Name: "now", Arguments: jsontext.Value(`{}`)},
		}, Finish: llm.FinishToolCalls, Usage: llm.Usage{Input: 100, Output: 40, CacheRead: 80, Reasoning: 12}},
		status: "completed", types: []string{"reasoning", "message", "function_call", "function_call"}, text: "Checking.",
	},
	{
		name: "redacted and signature-only thinking",
		events: []llm.Event{
			{Type: llm.EventStart, ID: "msg_3", Model: "claude"},
			{Type: llm.EventRedactedThinking, Index: 0, Signature: "opaque"},
			{Type: llm.EventThinking, Index: 1, Signature: "sig"},
			{Type: llm.EventText, Index: 2, Text: "ok"},
			{Type: llm.EventFinish, Finish: llm.FinishStop},
			{Type: llm.EventUsage, Usage: llm.Usage{Input: 1, Output: 1}},
			{Type: llm.EventEnd},
		},
		resp: &llm.Response{ID: "msg_3", Model: "claude", Parts: []llm.Part{
			{Type: llm.PartRedactedThinking, Signature: "opaque"},
			{Type: llm.PartThinking, Signature: "sig"},
			text("ok"),
		}, Finish: llm.FinishStop, Usage: llm.Usage{Input: 1, Output: 1}},
		status: "completed", types: []string{"reasoning", "reasoning", "message"}, text: "ok",
	},
	{
		name: "length",
		events: []llm.Event{
			{Type: llm.EventStart, ID: "resp_4", Model: "gemini"},
			{Type: llm.EventText, Index: 0, Text: "Once upon"},
			{Type: llm.EventFinish, Finish: llm.FinishLength},
			{Type: llm.EventUsage, Usage: llm.Usage{Input: 5, Output: 2}},
			{Type: llm.EventEnd},
		},
		resp:   &llm.Response{ID: "resp_4", Model: "gemini", Parts: []llm.Part{text("Once upon")}, Finish: llm.FinishLength, Usage: llm.Usage{Input: 5, Output: 2}},
		status: "incomplete", reason: "max_output_tokens", types: []string{"message"}, text: "Once upon",
	},
	{
		name: "refusal",
		events: []llm.Event{
			{Type: llm.EventStart, ID: "msg_5", Model: "claude"},
			{Type: llm.EventText, Index: 0, Text: "I can't"},
			{Type: llm.EventFinish, Finish: llm.FinishRefusal},
			{Type: llm.EventEnd},
		},
		resp:   &llm.Response{ID: "msg_5", Model: "claude", Parts: []llm.Part{text("I can't")}, Finish: llm.FinishRefusal},
		status: "incomplete", reason: "content_filter", types: []string{"message"}, text: "I can't",
	},
	{
		name: "no start event, tool call without id",
		events: []llm.Event{
			{Type: llm.EventToolCall, Index: 0, Name: "lookup"},
			{Type: llm.EventToolArgs, Index: 0, Text: `{"q":"x"}`},
			{Type: llm.EventToolArgs, Index: 7, Text: `ignored`},
			{Type: llm.EventFinish, Finish: llm.FinishToolCalls},
			{Type: llm.EventUsage, Usage: llm.Usage{Input: 2, Output: 2}},
			{Type: llm.EventEnd},
		},
		status: "completed", types: []string{"function_call"},
	},
	{
		name: "empty answer",
		events: []llm.Event{
			{Type: llm.EventStart, ID: "msg_6", Model: "claude"},
			{Type: llm.EventFinish, Finish: llm.FinishStop},
			{Type: llm.EventEnd},
		},
		resp:   &llm.Response{ID: "msg_6", Model: "claude", Finish: llm.FinishStop},
		status: "completed",
	},
	{
		name: "error mid-stream",
		events: []llm.Event{
			{Type: llm.EventStart, ID: "msg_7", Model: "claude"},
			{Type: llm.EventText, Index: 0, Text: "Hel"},
			{Type: llm.EventError, Error: &llm.UpstreamError{Type: "overloaded_error", Message: "Overloaded", Status: 529}},
			{Type: llm.EventText, Index: 0, Text: "lo"},
			{Type: llm.EventEnd},
		},
		errorMsg: "Overloaded",
	},
	{
		name: "error first",
		events: []llm.Event{
			{Type: llm.EventError, Error: &llm.UpstreamError{Message: "boom"}},
			{Type: llm.EventEnd},
		},
		errorMsg: "boom",
	},
}

// TestStreamWithSDK reads every case with the official Go SDK, validates
// the event sequence and compares the terminal response with
// EncodeResponse's.
func TestStreamWithSDK(t *testing.T) {
	for _, tc := range streamCases {
		t.Run(tc.name, func(t *testing.T) {
			b := encodeAll(tc.events)
			events, err := readWithSDK(b)
			if tc.errorMsg != "" {
				var se *ssestream.StreamError
				if !errors.As(err, &se) || !strings.Contains(se.Message, tc.errorMsg) {
					t.Fatalf("stream error = %v, want one with %q", err, tc.errorMsg)
				}
				validate(t, events)
				raw := parseSSE(t, b)
				last := raw[len(raw)-1]
				if last.name != "error" {
					t.Fatalf("last event %s", last.name)
				}
				ev := decodeErrorEvent(t, last.data)
				if ev.Type != "error" || ev.Message != tc.errorMsg || ev.Code == "" || ev.SequenceNumber != int64(len(raw)-1) || !ev.JSON.Param.Valid() && ev.JSON.Param.Raw() != "null" {
					t.Errorf("error event %s", last.data)
				}
				return
			}
			if err != nil {
				t.Fatalf("the SDK failed: %v\n%s", err, b)
			}
			term := validate(t, events)
			if term == nil {
				t.Fatal("no terminal event")
			}
			wantType := "response.completed"
			if tc.status == "incomplete" {
				wantType = "response.incomplete"
			}
			r := term.Response
			if term.Type != wantType || string(r.Status) != tc.status || r.IncompleteDetails.Reason != tc.reason {
				t.Errorf("terminal %s status %q reason %q", term.Type, r.Status, r.IncompleteDetails.Reason)
			}
			var types []string
			for _, it := range r.Output {
				types = append(types, it.Type)
			}
			if !reflect.DeepEqual(types, tc.types) {
				t.Errorf("output types %v, want %v", types, tc.types)
			}
			if r.OutputText() != tc.text {
				t.Errorf("OutputText() = %q, want %q", r.OutputText(), tc.text)
			}
			if tc.resp != nil {
				whole, err := EncodeResponse(tc.resp, llm.ResponseOptions{Created: 1741290958})
				if err != nil {
					t.Fatal(err)
				}
				w := unmarshalMap(t, whole)
				g := unmarshalMap(t, []byte(r.RawJSON()))
				delete(w, "completed_at")
				delete(g, "completed_at")
				if !reflect.DeepEqual(g, w) {
					gb, _ := json.Marshal(g)
					wb, _ := json.Marshal(w)
					t.Errorf("terminal response differs from EncodeResponse\nstream: %s\nwhole:  %s", gb, wb)
				}
			}
		})
	}
}

// TestStreamReasoningEvents checks the reasoning events in detail.
func TestStreamReasoningEvents(t *testing.T) {
	b := encodeAll(streamCases[1].events)
	var names []string
	for _, e := range parseSSE(t, b) {
		names = append(names, e.name)
	}
	want := []string{
		"response.created", "response.in_progress",
		"response.output_item.added", "response.reasoning_summary_part.added",
		"response.reasoning_summary_text.delta", "response.reasoning_summary_text.delta",
		"response.reasoning_summary_text.done", "response.reasoning_summary_part.done", "response.output_item.done",
		"response.output_item.added", "response.content_part.added", "response.output_text.delta",
		"response.output_text.done", "response.content_part.done", "response.output_item.done",
		"response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.delta",
		"response.function_call_arguments.done", "response.output_item.done",
		"response.output_item.added", "response.function_call_arguments.delta",
		"response.function_call_arguments.done", "response.output_item.done",
		"response.completed",
	}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("events\ngot:  %v\nwant: %v", names, want)
	}
	events, err := readWithSDK(b)
	if err != nil {
		t.Fatal(err)
	}
	done := events[8].AsResponseOutputItemDone().Item.AsReasoning()
	if done.EncryptedContent != thinkingPrefix+"EqQBCkY=" || done.Summary[0].Text != "The user wants the weather." {
		t.Errorf("reasoning item %s", events[8].RawJSON())
	}
}

// TestStreamEncodeAfterEnd checks that nothing follows the terminal event.
func TestStreamEncodeAfterEnd(t *testing.T) {
	for _, last := range []llm.Event{{Type: llm.EventEnd}, {Type: llm.EventError, Error: &llm.UpstreamError{Message: "x"}}} {
		enc := NewStreamEncoder(llm.ResponseOptions{})
		dst := enc.Encode(nil, &llm.Event{Type: llm.EventStart, ID: "a"})
		dst = enc.Encode(dst, &last)
		n := len(dst)
		for _, e := range []llm.Event{{Type: llm.EventText, Text: "x"}, {Type: llm.EventEnd}, {Type: llm.EventError}} {
			dst = enc.Encode(dst, &e)
		}
		if len(dst) != n {
			t.Errorf("after %v the encoder wrote %q", last.Type, dst[n:])
		}
	}
}

// TestStreamRandom encodes random event sequences (parts interleaved in any
// order, events out of place) and checks that the SDK reads every one and
// that it satisfies the validator.
func TestStreamRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	types := []llm.EventType{llm.EventStart, llm.EventText, llm.EventThinking, llm.EventRedactedThinking,
		llm.EventToolCall, llm.EventToolArgs, llm.EventFinish, llm.EventUsage}
	finishes := []llm.Finish{llm.FinishStop, llm.FinishLength, llm.FinishToolCalls, llm.FinishContentFilter}
	for n := range 500 {
		var events []llm.Event
		for range rng.IntN(30) {
			e := llm.Event{Type: types[rng.IntN(len(types))], Index: rng.IntN(4)}
			switch e.Type {
			case llm.EventStart:
				e.ID, e.Model = "msg_r", "m"
			case llm.EventText, llm.EventThinking:
				e.Text = []string{"", "a", "b\n", "\"q\"", "\xff"}[rng.IntN(5)]
				if e.Type == llm.EventThinking && rng.IntN(3) == 0 {
					e.Signature = "s"
				}
			case llm.EventRedactedThinking:
				e.Signature = "r"
			case llm.EventToolCall:
				e.ID, e.Name = []string{"", "call_x"}[rng.IntN(2)], "f"
			case llm.EventToolArgs:
				e.Text = []string{`{"a":`, `1}`, ``}[rng.IntN(3)]
			case llm.EventFinish:
				e.Finish = finishes[rng.IntN(len(finishes))]
			case llm.EventUsage:
				e.Usage = llm.Usage{Input: 1, Output: 2}
			}
			events = append(events, e)
		}
		switch rng.IntN(3) {
		case 0:
			events = append(events, llm.Event{Type: llm.EventEnd})
		case 1:
			events = append(events, llm.Event{Type: llm.EventError, Error: &llm.UpstreamError{Message: "x"}})
		}
		b := encodeAll(events)
		evs, err := readWithSDK(b)
		if err != nil && !strings.Contains(err.Error(), "received error while streaming") {
			t.Fatalf("case %d: %v\n%s", n, err, b)
		}
		t.Run("", func(t *testing.T) {
			// Arguments may be invalid JSON when the random fragments do
			// not add up; the validator's JSON check does not apply.
			defer func() {
				if t.Failed() {
					t.Logf("case %d stream:\n%s", n, b)
				}
			}()
			validateLoose(t, evs)
		})
	}
}
