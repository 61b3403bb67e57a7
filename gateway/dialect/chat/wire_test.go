package chat

import (
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
)

// FuzzDecodeRequest checks that any body either fails with an *llm.Error
// or decodes into a request that encodes into valid JSON.
func FuzzDecodeRequest(f *testing.F) {
	for _, name := range []string{"openai_request_default.json", "openai_request_stream.json", "openai_request_image.json",
		"openai_request_functions.json", "openai_request_tool_history.json"} {
		f.Add(fixture(f, name))
	}
	f.Add([]byte(`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":"data:image/png;base64,AAAA"}]},
		{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},
		{"role":"tool","tool_call_id":"c","content":"x"}],"stop":["a"],"n":2,"reasoning_effort":"low",
		"response_format":{"type":"json_schema","json_schema":{"name":"n","schema":{}}},
		"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":[{"type":"function","function":{"name":"f"}}]}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var r llm.Request
		if err := DecodeRequest(body, &r); err != nil {
			if _, ok := err.(*llm.Error); !ok {
				t.Fatalf("error %v is a %T, not an *llm.Error", err, err)
			}
			return
		}
		r.Candidates = 0 // several answers are refused by design
		out, err := EncodeRequest(&r, llm.EncodeOptions{Model: "m"})
		if err != nil {
			t.Fatalf("EncodeRequest of a decoded request: %v", err)
		}
		// Schemas and other opaque values are copied verbatim, as a
		// passthrough would send them: a name repeated inside one is the
		// client's (RFC 8259 allows it), so only the syntax is checked.
		if !jsontext.Value(out).IsValid(jsontext.AllowDuplicateNames(true)) {
			t.Fatalf("invalid JSON: %s", out)
		}
		var again llm.Request
		if err := DecodeRequest(out, &again); err != nil {
			t.Fatalf("the encoded request does not decode: %v\n%s", err, out)
		}
	})
}

// FuzzStream checks that the stream decoder never panics and that what it
// emits encodes into valid chunks.
func FuzzStream(f *testing.F) {
	f.Add([]byte(`{"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"hi","tool_calls":[{"index":0,"id":"x","function":{"name":"f","arguments":"{"}}]},"finish_reason":"stop"}],"usage":{"prompt_tokens":1}}`))
	f.Add([]byte(`{"error":{"message":"m","type":"t","code":429}}`))
	f.Add([]byte(`[DONE]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewStreamDecoder()
		e := NewStreamEncoder(llm.ResponseOptions{IncludeUsage: true})
		var out []byte
		emit := func(ev *llm.Event) { out = e.Encode(out, ev) }
		_ = d.Decode("", data, emit)
		_ = d.Decode("", []byte("[DONE]"), emit)
		for _, line := range strings.Split(string(out), "\n") {
			if d, ok := strings.CutPrefix(line, "data: "); ok && d != "[DONE]" && !jsontext.Value(d).IsValid() {
				t.Fatalf("invalid chunk %s", d)
			}
		}
	})
}
