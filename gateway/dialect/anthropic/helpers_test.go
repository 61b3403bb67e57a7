package anthropic

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/sse"
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// fixture reads a file from testdata.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("reading fixture: %v", err)
	}
	return b
}

// rawEvent is one server-sent event of a fixture.
type rawEvent struct {
	name string
	data []byte
}

// readSSE splits an SSE stream into events.
func readSSE(t testing.TB, stream []byte) []rawEvent {
	t.Helper()
	r := sse.NewReader(bytes.NewReader(stream))
	defer r.Release()
	var out []rawEvent
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("reading SSE: %v", err)
		}
		out = append(out, rawEvent{name: ev.Name, data: bytes.Clone(ev.Data)})
	}
}

// decodeStream runs a stream through a fresh decoder and returns the
// events it emitted.
func decodeStream(t testing.TB, stream []byte) []llm.Event {
	t.Helper()
	d := NewStreamDecoder()
	var got []llm.Event
	for _, ev := range readSSE(t, stream) {
		if err := d.Decode(ev.name, ev.data, func(e *llm.Event) { got = append(got, *e) }); err != nil {
			t.Fatalf("Decode(%s): %v", ev.name, err)
		}
	}
	return got
}

// encodeStream runs events through a fresh encoder.
func encodeStream(events []llm.Event) []byte {
	enc := NewStreamEncoder(llm.ResponseOptions{})
	var out []byte
	for i := range events {
		out = enc.Encode(out, &events[i])
	}
	return out
}

// generic decodes JSON into a generic value for semantic comparison.
func generic(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	return v
}

// assertJSONEqual compares two JSON documents semantically.
func assertJSONEqual(t testing.TB, got, want []byte) {
	t.Helper()
	if !reflect.DeepEqual(generic(t, got), generic(t, want)) {
		t.Errorf("JSON mismatch\n got: %s\nwant: %s", compact(got), compact(want))
	}
}

// compact returns b without insignificant space (or b when invalid).
func compact(b []byte) string {
	v := jsontext.Value(bytes.Clone(b))
	if v.Compact() != nil {
		return string(b)
	}
	return string(v)
}

// show renders a value for a failure message.
func show(v any) string {
	b, err := json.Marshal(v, json.Deterministic(true))
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// canonValue compacts a JSON value so that formatting does not matter.
func canonValue(v jsontext.Value) jsontext.Value {
	if v == nil {
		return nil
	}
	c := jsontext.Value(bytes.Clone(v))
	if err := c.Canonicalize(); err != nil {
		return v
	}
	return c
}

func canonParts(parts []llm.Part) []llm.Part {
	if len(parts) == 0 {
		return nil
	}
	out := make([]llm.Part, len(parts))
	for i, p := range parts {
		p.Arguments = canonValue(p.Arguments)
		p.Content = canonParts(p.Content)
		out[i] = p
	}
	return out
}

// canonRequest makes two requests that mean the same compare equal.
func canonRequest(r llm.Request) llm.Request {
	r.System = canonParts(r.System)
	if len(r.Messages) == 0 {
		r.Messages = nil
	} else {
		msgs := make([]llm.Message, len(r.Messages))
		for i, m := range r.Messages {
			msgs[i] = llm.Message{Role: m.Role, Parts: canonParts(m.Parts)}
		}
		r.Messages = msgs
	}
	if len(r.Tools) == 0 {
		r.Tools = nil
	} else {
		tools := make([]llm.Tool, len(r.Tools))
		for i, tl := range r.Tools {
			tl.Parameters = canonValue(tl.Parameters)
			tools[i] = tl
		}
		r.Tools = tools
	}
	if len(r.Stop) == 0 {
		r.Stop = nil
	}
	if r.ResponseFormat != nil {
		rf := *r.ResponseFormat
		rf.Schema = canonValue(rf.Schema)
		r.ResponseFormat = &rf
	}
	return r
}

func canonResponse(r llm.Response) llm.Response {
	r.Parts = canonParts(r.Parts)
	return r
}

func ptr[T any](v T) *T { return &v }

func text(s string) llm.Part { return llm.Part{Type: llm.PartText, Text: s} }

func raw(s string) jsontext.Value { return jsontext.Value(s) }
