package chat

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/sse"
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

// decodeJSON unmarshals b into a generic value, failing the test on error.
func decodeJSON(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("invalid JSON %q: %v", b, err)
	}
	return v
}

// assertJSONEqual compares two JSON documents semantically.
func assertJSONEqual(t testing.TB, got, want []byte) {
	t.Helper()
	g, w := decodeJSON(t, got), decodeJSON(t, want)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("JSON mismatch\n got: %s\nwant: %s", pretty(g), pretty(w))
	}
}

func pretty(v any) string {
	b, _ := json.Marshal(v, json.Deterministic(true), jsontext.Multiline(true))
	return string(b)
}

// raw is a compact JSON value for expectations.
func raw(s string) jsontext.Value {
	v := jsontext.Value(s)
	if err := v.Compact(); err != nil {
		panic(err)
	}
	return v
}

// compactParts compacts the JSON values of parts, so that expectations
// need not match the whitespace of fixtures.
func compactParts(parts []llm.Part) {
	for i := range parts {
		if parts[i].Arguments != nil {
			parts[i].Arguments = raw(string(parts[i].Arguments))
		}
		compactParts(parts[i].Content)
	}
}

// normalizeRequest compacts every JSON value of r.
func normalizeRequest(r *llm.Request) {
	for i := range r.Tools {
		if r.Tools[i].Parameters != nil {
			r.Tools[i].Parameters = raw(string(r.Tools[i].Parameters))
		}
	}
	if r.ResponseFormat != nil && r.ResponseFormat.Schema != nil {
		r.ResponseFormat.Schema = raw(string(r.ResponseFormat.Schema))
	}
	compactParts(r.System)
	for i := range r.Messages {
		compactParts(r.Messages[i].Parts)
	}
}

// assertDeepEqual compares values and prints both as JSON on mismatch.
func assertDeepEqual(t testing.TB, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got, jsontext.Multiline(true))
		w, _ := json.Marshal(want, jsontext.Multiline(true))
		t.Errorf("mismatch\n got: %s\nwant: %s", g, w)
	}
}

// assertLLMError checks that err is an *llm.Error with param and a
// message containing msg.
func assertLLMError(t testing.TB, err error, param, msg string) {
	t.Helper()
	if err == nil {
		t.Fatal("expected an error, got none")
	}
	var le *llm.Error
	if !errors.As(err, &le) {
		t.Fatalf("error %v (%T) is not *llm.Error", err, err)
	}
	if le.Param != param {
		t.Errorf("Param = %q, want %q (message %q)", le.Param, param, le.Message)
	}
	if !strings.Contains(le.Message, msg) {
		t.Errorf("Message = %q, want it to contain %q", le.Message, msg)
	}
}

func ptr[T any](v T) *T { return &v }

// decodeStream feeds an SSE stream to a new decoder, reading it with the
// gateway's SSE reader, and returns the events (copied).
func decodeStream(t testing.TB, stream []byte) []llm.Event {
	t.Helper()
	d := NewStreamDecoder()
	rd := sse.NewReader(bytes.NewReader(stream))
	defer rd.Release()
	var events []llm.Event
	for {
		ev, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
		if err := d.Decode(ev.Name, ev.Data, func(e *llm.Event) { events = append(events, *e) }); err != nil {
			t.Fatalf("Decode(%q): %v", ev.Data, err)
		}
	}
	return events
}

// encodeStream writes events with a new encoder.
func encodeStream(o llm.ResponseOptions, events []llm.Event) []byte {
	s := NewStreamEncoder(o)
	var out []byte
	for i := range events {
		out = s.Encode(out, &events[i])
	}
	return out
}

// sseData returns the data of every event of an SSE stream.
func sseData(t testing.TB, stream []byte) []string {
	t.Helper()
	rd := sse.NewReader(bytes.NewReader(stream))
	defer rd.Release()
	var out []string
	for {
		ev, err := rd.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
		if ev.Name != "" {
			t.Errorf("event %q has a name (%q); chat streams have none", ev.Data, ev.Name)
		}
		out = append(out, string(ev.Data))
	}
}
