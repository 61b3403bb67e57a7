package chat

import (
	"bytes"
	"strings"
	"testing"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/sse"
)

// benchRequest is a ~4 KB request: a system prompt, a few turns, a tool
// call with its result, and three tools.
func benchRequest() []byte {
	var b strings.Builder
	b.WriteString(`{"model":"gpt-4.1","stream":true,"stream_options":{"include_usage":true},"max_completion_tokens":1024,"temperature":0.7,"messages":[`)
	b.WriteString(`{"role":"system","content":"You are a helpful assistant that answers questions about the weather. Be concise, cite the tool results, and never invent figures. When unsure, ask a clarifying question before calling a tool."},`)
	for i := 0; i < 4; i++ {
		b.WriteString(`{"role":"user","content":"What is the weather like in Boston today? I am planning a walk along the Charles River this afternoon and want to know whether to bring an umbrella."},`)
		b.WriteString(`{"role":"assistant","content":"Let me check the current conditions in Boston for you.","tool_calls":[{"id":"call_abc12` + string(rune('0'+i)) + `","type":"function","function":{"name":"get_current_weather","arguments":"{\n\"location\": \"Boston, MA\",\n\"unit\": \"celsius\"\n}"}}]},`)
		b.WriteString(`{"role":"tool","tool_call_id":"call_abc12` + string(rune('0'+i)) + `","content":"{\"temperature\": 22, \"unit\": \"celsius\", \"description\": \"Sunny\", \"precipitation_probability\": 0.1}"},`)
		b.WriteString(`{"role":"assistant","content":"It is 22 °C and sunny in Boston with a 10% chance of rain: no umbrella needed for your walk."},`)
	}
	b.WriteString(`{"role":"user","content":[{"type":"text","text":"And what about this place?"},{"type":"image_url","image_url":{"url":"https://upload.wikimedia.org/wikipedia/commons/thumb/d/dd/Gfp-wisconsin-madison-the-nature-boardwalk.jpg/2560px-Gfp-wisconsin-madison-the-nature-boardwalk.jpg"}}]}],`)
	b.WriteString(`"tools":[`)
	for i, name := range []string{"get_current_weather", "get_forecast", "get_air_quality"} {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"type":"function","function":{"name":"` + name + `","description":"Get the weather data in a given location","parameters":{"type":"object","properties":{"location":{"type":"string","description":"The city and state, e.g. San Francisco, CA"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["location"]}}}`)
	}
	b.WriteString(`],"tool_choice":"auto","parallel_tool_calls":false}`)
	return []byte(b.String())
}

// benchResponse is a ~3.6 KB chat.completion with text and a tool call.
func benchResponse() []byte {
	text := strings.Repeat("Santorini is a gem in the Aegean Sea, known for its stunning sunsets, white-washed buildings, and crystal-clear waters. ", 27)
	return []byte(`{"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion","created":1741569952,"model":"gpt-4.1-2025-04-14","choices":[{"index":0,"message":{"role":"assistant","content":"` +
		text + `","refusal":null,"annotations":[],"tool_calls":[{"id":"call_FXoAjBUMcVv1k40fficJ9cSs","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"Santorini, Greece\"}"}}]},"logprobs":null,"finish_reason":"tool_calls"}],` +
		`"usage":{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default"}`)
}

func TestBenchInputs(t *testing.T) {
	req, resp := benchRequest(), benchResponse()
	t.Logf("request %d bytes, response %d bytes", len(req), len(resp))
	var r llm.Request
	if err := DecodeRequest(req, &r); err != nil {
		t.Fatal(err)
	}
	if _, err := EncodeRequest(&r, llm.EncodeOptions{Model: "m"}); err != nil {
		t.Fatal(err)
	}
	var a llm.Response
	if err := DecodeResponse(resp, &a); err != nil {
		t.Fatal(err)
	}
	if _, err := EncodeResponse(&a, llm.ResponseOptions{}); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkDecodeRequest(b *testing.B) {
	body := benchRequest()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var r llm.Request
		if err := DecodeRequest(body, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeRequest(b *testing.B) {
	var r llm.Request
	if err := DecodeRequest(benchRequest(), &r); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeRequest(&r, llm.EncodeOptions{Model: "gpt-4.1-mini"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRequestDecodeEncode is the request half of a translation
// through this dialect.
func BenchmarkRequestDecodeEncode(b *testing.B) {
	body := benchRequest()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var r llm.Request
		if err := DecodeRequest(body, &r); err != nil {
			b.Fatal(err)
		}
		if _, err := EncodeRequest(&r, llm.EncodeOptions{Model: "gpt-4.1-mini"}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeResponse(b *testing.B) {
	body := benchResponse()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var r llm.Response
		if err := DecodeResponse(body, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeResponse(b *testing.B) {
	var r llm.Response
	if err := DecodeResponse(benchResponse(), &r); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeResponse(&r, llm.ResponseOptions{Created: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkResponseDecodeEncode is the response half of a translation
// through this dialect.
func BenchmarkResponseDecodeEncode(b *testing.B) {
	body := benchResponse()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var r llm.Response
		if err := DecodeResponse(body, &r); err != nil {
			b.Fatal(err)
		}
		if _, err := EncodeResponse(&r, llm.ResponseOptions{Created: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStreamDecodeEncode decodes and re-encodes the recorded stream
// of the SDK's tests (198 events), per event.
func BenchmarkStreamDecodeEncode(b *testing.B) {
	in := fixture(b, "openai_stream_tool_calls.sse")
	var events []sse.Event
	rd := sse.NewReader(bytes.NewReader(in))
	for {
		ev, err := rd.Next()
		if err != nil {
			break
		}
		events = append(events, sse.Event{Name: ev.Name, Data: bytes.Clone(ev.Data)})
	}
	rd.Release()
	b.ReportAllocs()
	var dst []byte
	for b.Loop() {
		d := NewStreamDecoder()
		e := NewStreamEncoder(llm.ResponseOptions{Created: 1, IncludeUsage: true})
		emit := func(ev *llm.Event) { dst = e.Encode(dst, ev) }
		for i := range events {
			dst = dst[:0]
			if err := d.Decode(events[i].Name, events[i].Data, emit); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(events)), "ns/event")
}
