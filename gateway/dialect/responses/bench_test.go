package responses

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
)

// benchRequest is a ~4 KB request in the shape of a tool-using
// conversation: instructions, messages, a function call and its output,
// and two function tools (built on the reference examples).
func benchRequest(b *testing.B) []byte {
	b.Helper()
	var fc, fn map[string]any
	if err := json.Unmarshal(fixture(b, "request_function_call_output.json"), &fc); err != nil {
		b.Fatal(err)
	}
	if err := json.Unmarshal(fixture(b, "request_functions.json"), &fn); err != nil {
		b.Fatal(err)
	}
	para := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 12)
	fc["instructions"] = para
	input := fc["input"].([]any)
	input = append(input,
		map[string]any{"type": "message", "role": "assistant", "content": []any{map[string]any{"type": "output_text", "text": para, "annotations": []any{}}}},
		map[string]any{"role": "user", "content": []any{map[string]any{"type": "input_text", "text": para}}},
		map[string]any{"role": "user", "content": para},
	)
	fc["input"] = input
	fc["tools"] = append(fc["tools"].([]any), fn["tools"].([]any)...)
	fc["tool_choice"] = "auto"
	fc["max_output_tokens"] = 1024
	fc["temperature"] = 0.7
	fc["stream"] = true
	body, err := json.Marshal(fc)
	if err != nil {
		b.Fatal(err)
	}
	return body
}

// benchResponse is an answer that encodes to ~3.6 KB: thinking, text and a
// tool call.
func benchResponse() *llm.Response {
	para := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 40)
	return &llm.Response{
		ID: "msg_01XFDUDYJgAACzvnptvVoYEL", Model: "claude-sonnet-4-5",
		Parts: []llm.Part{
			{Type: llm.PartThinking, Text: para[:600], Signature: strings.Repeat("EqQBCkYIARgCKkA", 10)},
			text(para),
			{Type: llm.PartToolCall, ID: "toolu_01A09q90qw90lq917835lq9", Name: "get_current_weather", Arguments: jsontext.Value(`{"location":"Boston, MA","unit":"celsius"}`)},
		},
		Finish: llm.FinishToolCalls,
		Usage:  llm.Usage{Input: 2095, Output: 503, CacheRead: 1800},
	}
}

func BenchmarkDecodeRequest(b *testing.B) {
	body := benchRequest(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var r llm.Request
		if err := DecodeRequest(body, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeResponse(b *testing.B) {
	r := benchResponse()
	out, err := EncodeResponse(r, llm.ResponseOptions{Created: 1741290958})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeResponse(r, llm.ResponseOptions{Created: 1741290958}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStreamEncode encodes a streamed answer of 200 text deltas.
func BenchmarkStreamEncode(b *testing.B) {
	events := []llm.Event{{Type: llm.EventStart, ID: "msg_01", Model: "claude-sonnet-4-5"}}
	for range 200 {
		events = append(events, llm.Event{Type: llm.EventText, Index: 0, Text: "The quick brown fox "})
	}
	events = append(events,
		llm.Event{Type: llm.EventFinish, Finish: llm.FinishStop},
		llm.Event{Type: llm.EventUsage, Usage: llm.Usage{Input: 100, Output: 800}},
		llm.Event{Type: llm.EventEnd})
	b.ReportAllocs()
	var dst []byte
	for b.Loop() {
		enc := NewStreamEncoder(llm.ResponseOptions{Created: 1741290958})
		for i := range events {
			dst = enc.Encode(dst[:0], &events[i])
		}
	}
}

func TestBenchBodies(t *testing.T) {
	body := benchRequest(&testing.B{})
	if len(body) < 3500 || len(body) > 4600 {
		t.Errorf("bench request is %d bytes", len(body))
	}
	out, _ := EncodeResponse(benchResponse(), llm.ResponseOptions{})
	if len(out) < 3200 || len(out) > 4000 {
		t.Errorf("bench response is %d bytes", len(out))
	}
}
