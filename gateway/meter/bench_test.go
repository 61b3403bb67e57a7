package meter

import (
	"fmt"
	"strings"
	"testing"
)

// Typical text-delta events, as each provider sends them.
var benchDeltas = []struct {
	name, dialect, op, event, data string
}{
	{"openai_chat", DialectOpenAI, OpChatCompletions, "",
		`{"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_fc9f1d7035","choices":[{"index":0,"delta":{"content":" wooden"},"logprobs":null,"finish_reason":null}],"usage":null}`},
	{"openai_responses", DialectOpenAI, OpResponses, "response.output_text.delta",
		`{"type":"response.output_text.delta","sequence_number":12,"item_id":"msg_67c9fdcf37fc8190ba82116e33fb28c507b8b0ad4e5eb654","output_index":0,"content_index":0,"delta":" assist","logprobs":[]}`},
	{"anthropic", DialectAnthropic, OpMessages, "content_block_delta",
		`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" weather"}}`},
	{"gemini", DialectGemini, OpGenerateContent, "",
		`{"candidates": [{"content": {"parts": [{"text": "4.  7\n5.  11\n6.  13\n7.  17\n8.  19\n9.  23\n10. 29\n11. 31"}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 28,"candidatesTokenCount": 95,"totalTokenCount": 1297,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 28}],"thoughtsTokenCount": 1174},"modelVersion": "gemini-2.5-flash","responseId": "WEXbaMnpF7iPjMcP27mckQE"}`},
}

// BenchmarkStreamEvent meters one typical text-delta event per dialect.
// (Gemini's chunks all carry usageMetadata, which is read every time.)
func BenchmarkStreamEvent(b *testing.B) {
	for _, d := range benchDeltas {
		data := []byte(d.data)
		b.Run(d.name, func(b *testing.B) {
			s := NewStream(d.dialect, d.op)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				s.Event(d.event, data)
			}
		})
	}
	// The same events without event names (type read from the data).
	for _, d := range benchDeltas[1:3] {
		data := []byte(d.data)
		b.Run(d.name+"_unnamed", func(b *testing.B) {
			s := NewStream(d.dialect, d.op)
			b.ReportAllocs()
			for b.Loop() {
				s.Event("", data)
			}
		})
	}
}

// BenchmarkStreamUsageEvent meters the event that carries the usage.
func BenchmarkStreamUsageEvent(b *testing.B) {
	events := []struct{ name, dialect, op, event, file, marker string }{
		{"openai_chat", DialectOpenAI, OpChatCompletions, "", "openai_chat_stream.sse", `"choices":[]`},
		{"openai_responses", DialectOpenAI, OpResponses, "response.completed", "openai_responses_stream.sse", `"response.completed"`},
		{"anthropic", DialectAnthropic, OpMessages, "message_delta", "anthropic_stream_repeat_input.sse", `"message_delta"`},
	}
	for _, e := range events {
		evs := readEvents(b, e.file)
		var data []byte
		for _, ev := range evs {
			if strings.Contains(string(ev.data), e.marker) {
				data = ev.data
			}
		}
		b.Run(e.name, func(b *testing.B) {
			s := NewStream(e.dialect, e.op)
			b.ReportAllocs()
			for b.Loop() {
				s.Event(e.event, data)
			}
		})
	}
}

// benchBody4K pads a fixture answer's text to 4 KB.
func benchBody4K(b *testing.B, file, marker string) []byte {
	body := string(readFixture(b, file))
	if !strings.Contains(body, marker) {
		b.Fatalf("%s: no %q", file, marker)
	}
	const word = "lorem "
	pad := strings.Repeat(word, (4096-len(body)+len(word)-1)/len(word))
	return []byte(strings.Replace(body, marker, marker+pad, 1))
}

// BenchmarkFromBody reads the usage of a 4 KB answer in each dialect.
func BenchmarkFromBody(b *testing.B) {
	bodies := []struct{ name, dialect, op, file, marker string }{
		{"openai_chat", DialectOpenAI, OpChatCompletions, "openai_chat_completion.json", `"content": "The image shows`},
		{"openai_responses", DialectOpenAI, OpResponses, "openai_responses.json", `"text": "In a peaceful grove`},
		{"anthropic", DialectAnthropic, OpMessages, "anthropic_message_full_usage.json", `"text": "Hi!`},
		{"gemini", DialectGemini, OpGenerateContent, "gemini_generate_content_cached.json", `"text": "The movie`},
	}
	for _, c := range bodies {
		body := benchBody4K(b, c.file, c.marker)
		b.Run(fmt.Sprintf("%s_%dB", c.name, len(body)), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := FromBody(c.dialect, c.op, body); !ok {
					b.Fatal("no usage")
				}
			}
		})
	}
}

func BenchmarkEstimateTokens(b *testing.B) {
	text := readFixture(b, "estimate/en_prose.txt")
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		EstimateTokens(text)
	}
}

func BenchmarkEstimateRequestTokens(b *testing.B) {
	body := readFixture(b, "openai_request_functions.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		EstimateRequestTokens(DialectOpenAI, OpChatCompletions, body)
	}
}
