package translate

import (
	"bytes"
	"encoding/json"
	"io"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/sse"
)

// namedEvents are the client formats whose every event has an `event:`
// name, equal to the "type" of its data.
var namedEvents = map[Format]bool{Messages: true, Responses: true}

// checkClientStream checks that out is a well-formed event stream for a
// client of format to: valid UTF-8 without a bare carriage return (which an
// EventSource would take for a line break), only `event:` and `data:` lines,
// every event ended by a blank line, every data a JSON value (or the
// [DONE] that ends a Chat Completions stream, last), and for the formats
// with event names, a name on every event equal to its data's "type".
func checkClientStream(t *testing.T, to Format, out []byte) {
	t.Helper()
	if !utf8.Valid(out) {
		t.Fatalf("to %s: invalid UTF-8:\n%q", to, out)
	}
	if bytes.IndexByte(out, '\r') >= 0 {
		t.Fatalf("to %s: a carriage return in the stream:\n%q", to, out)
	}
	if len(out) > 0 && !bytes.HasSuffix(out, []byte("\n\n")) {
		t.Fatalf("to %s: the stream does not end with a blank line:\n%q", to, out)
	}
	for line := range bytes.Lines(out) {
		if !bytes.Equal(line, []byte("\n")) && !bytes.HasPrefix(line, []byte("data: ")) && !bytes.HasPrefix(line, []byte("event: ")) {
			t.Fatalf("to %s: line %q is neither data nor an event name:\n%q", to, line, out)
		}
	}
	rd := sse.NewReader(bytes.NewReader(out))
	defer rd.Release()
	read, done := 0, false
	for {
		ev, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("to %s: reading the stream: %v\n%q", to, err, out)
		}
		read += len(ev.Raw)
		if done {
			t.Fatalf("to %s: event %q after [DONE]", to, ev.Raw)
		}
		if bytes.Equal(ev.Data, sse.Done) && to == Chat {
			done = true
			continue
		}
		if !json.Valid(ev.Data) {
			t.Fatalf("to %s: data is not JSON: %q", to, ev.Data)
		}
		if namedEvents[to] {
			var typed struct{ Type string }
			if err := json.Unmarshal(ev.Data, &typed); err != nil || ev.Name == "" || typed.Type != ev.Name {
				t.Fatalf("to %s: event %q has data of type %q (%v)", to, ev.Name, typed.Type, err)
			}
		} else if ev.Name != "" {
			t.Fatalf("to %s: a named event %q", to, ev.Name)
		}
	}
	if read != len(out) {
		t.Fatalf("to %s: %d of %d bytes are not in events:\n%q", to, len(out)-read, len(out), out)
	}
}

// FuzzStream feeds arbitrary bytes, as an upstream event stream in one of
// the provider formats, to the translation to every client format, as the
// gateway does (stopping at the first event it cannot read). It must not
// panic, must write nothing after the end of the stream, and must write a
// well-formed stream (see checkClientStream).
func FuzzStream(f *testing.F) {
	for _, fx := range streamFixtures(f) {
		if len(fx.data) <= 16<<10 { // the big ones slow the fuzzer down
			f.Add(uint8(slices.Index(providerFormats, fx.from)), fx.data)
		}
	}
	for _, s := range []struct {
		from   Format
		stream string
	}{
		{Chat, "data: {\"choices\":[{\"delta\":{\"content\":\"a\\r\\nb\\u2028\"}}]}\n\ndata: [DONE]\n\n"},
		{Chat, "data: {\"id\":\"x\",\"choices\":[{\"index\":7,\"delta\":{\"tool_calls\":[{\"index\":3,\"function\":{\"arguments\":\"{\\\"a\\\":\"}}]}}]}\n\ndata: {\"choices\":[{\"finish_reason\":\"tool_calls\"}]}\n\n"},
		{Chat, "data: {\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}\n\n"},
		{Chat, "data: {\"choices\":[{\"delta\":{\"content\":\"\xff\xfe\"}}]}\n\n"},
		{Messages, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"c\",\"usage\":{\"input_tokens\":-1}}}\n\nevent: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":99,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}\n\n"},
		{Messages, "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"\",\"name\":\"f\",\"input\":{}}}\n\nevent: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\r\\n\"}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"},
		{Messages, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"},
		{Gemini, "data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"f\",\"args\":{\"a\":\r\n1}}}]},\"finishReason\":\"STOP\"}]}\n\n"},
		{Gemini, "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"hi\",\"thought\":true,\"thoughtSignature\":\"!!\"}]}}],\"usageMetadata\":{\"promptTokenCount\":9223372036854775807,\"candidatesTokenCount\":1}}\n\n"},
		{Gemini, "data: [DONE]\n\ndata: {}\n\ndata: null\n\ndata: []\n\n"},
	} {
		f.Add(uint8(slices.Index(providerFormats, s.from)), []byte(s.stream))
	}
	f.Fuzz(func(t *testing.T, which uint8, stream []byte) {
		from := providerFormats[int(which)%len(providerFormats)]
		for _, to := range clientFormats {
			s, err := NewStream(from, to, llm.ResponseOptions{Created: 1, IncludeUsage: which&0x80 == 0})
			if err != nil {
				t.Fatal(err)
			}
			var out []byte
			rd := sse.NewReader(bytes.NewReader(stream))
			for {
				ev, err := rd.Next()
				if err != nil {
					break
				}
				ended, before := s.Done(), len(out)
				out, err = s.Event(out, ev.Name, ev.Data)
				if ended && len(out) != before {
					t.Fatalf("%s to %s: output after the end: %q", from, to, out[before:])
				}
				if err != nil {
					break // the gateway ends the client's stream with its own error event
				}
			}
			rd.Release()
			if s.Failed() != nil && !s.Done() {
				t.Fatalf("%s to %s: failed but not done", from, to)
			}
			checkClientStream(t, to, out)
		}
	})
}
