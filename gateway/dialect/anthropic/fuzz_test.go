package anthropic

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
	"github.com/go-json-experiment/json/jsontext"
)

// FuzzDecodeRequest checks that any body either decodes or fails with an
// *llm.Error, and that a decoded request encodes to valid JSON or fails
// with an *llm.Error.
func FuzzDecodeRequest(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "anthropic_request_*.json"))
	for _, file := range files {
		b, _ := os.ReadFile(file)
		f.Add(b)
	}
	f.Add(benchRequest())
	f.Add([]byte(`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"image","source":{"type":"url","url":"https://x/y.png"}}]}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var r llm.Request
		err := DecodeRequest(body, &r)
		if err != nil {
			var le *llm.Error
			if !errors.As(err, &le) {
				t.Fatalf("DecodeRequest returned %T: %v", err, err)
			}
			return
		}
		out, err := EncodeRequest(&r, llm.EncodeOptions{Model: "m"})
		if err != nil {
			var le *llm.Error
			if !errors.As(err, &le) {
				t.Fatalf("EncodeRequest returned %T: %v", err, err)
			}
			return
		}
		// Schemas and other opaque values are copied verbatim, as a
		// passthrough would send them: a name repeated inside one is the
		// client's (RFC 8259 allows it), so only the syntax is checked.
		if !jsontext.Value(out).IsValid(jsontext.AllowDuplicateNames(true)) {
			t.Fatalf("EncodeRequest wrote invalid JSON: %s", out)
		}
		var again llm.Request
		if err := DecodeRequest(out, &again); err != nil {
			t.Fatalf("the encoded request does not decode: %v\n%s", err, out)
		}
	})
}

// FuzzStreamDecoder checks that no event makes the decoder panic and that
// the encoder always writes well-formed events.
func FuzzStreamDecoder(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "anthropic_stream_*.sse"))
	for _, file := range files {
		b, _ := os.ReadFile(file)
		for _, ev := range readSSE(f, b) {
			f.Add(ev.name, ev.data)
		}
	}
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		d := NewStreamDecoder()
		e := NewStreamEncoder(llm.ResponseOptions{})
		var out []byte
		for range 2 {
			_ = d.Decode(name, data, func(ev *llm.Event) { out = e.Encode(out, ev) })
		}
		out = e.Encode(out, &llm.Event{Type: llm.EventEnd})
		for _, ev := range strings.Split(strings.TrimSuffix(string(out), "\n\n"), "\n\n") {
			_, data, ok := strings.Cut(ev, "\ndata: ")
			if !ok || !jsontext.Value(data).IsValid() {
				t.Fatalf("malformed event %q", ev)
			}
		}
	})
}
