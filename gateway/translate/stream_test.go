package translate

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
)

// TestChatStreamFixtures converts the documented Anthropic streams with
// include_usage on and compares the full chunk sequence.
func TestChatStreamFixtures(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"anthropic_stream_text.sse", "expected/chat_chunks_text.json"},
		{"anthropic_stream_tool_use.sse", "expected/chat_chunks_tool_use.json"},
		{"anthropic_stream_thinking.sse", "expected/chat_chunks_thinking.json"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			events := parseSSE(t, fixture(t, tt.in))
			chunks, s := runStream(t, events, true)
			if !s.Done() {
				t.Error("Done() = false after message_stop")
			}
			assertJSONEqual(t, jsonArray(chunks), fixture(t, tt.want))
		})
	}
}

// TestChatStreamIncludeUsage checks the difference include_usage makes: with
// it, every chunk has "usage": null and a final usage-only chunk is added;
// without it, no chunk has a usage field at all.
func TestChatStreamIncludeUsage(t *testing.T) {
	for _, name := range []string{"anthropic_stream_text.sse", "anthropic_stream_tool_use.sse"} {
		t.Run(name, func(t *testing.T) {
			events := parseSSE(t, fixture(t, name))
			with, _ := runStream(t, events, true)
			without, s := runStream(t, events, false)
			if !s.Done() {
				t.Error("Done() = false after message_stop")
			}
			if len(with) != len(without)+1 {
				t.Fatalf("include_usage on: %d chunks, off: %d chunks; want exactly one more", len(with), len(without))
			}
			for i, c := range without {
				m := decodeJSON(t, c).(map[string]any)
				if _, ok := m["usage"]; ok {
					t.Errorf("chunk %d has a usage field without include_usage: %s", i, c)
				}
				// Apart from "usage": null, the chunk is the same as with include_usage.
				w := decodeJSON(t, with[i]).(map[string]any)
				if u, ok := w["usage"]; !ok || u != nil {
					t.Errorf("chunk %d with include_usage: usage = %v (present %v), want null", i, u, ok)
				}
				delete(w, "usage")
				assertJSONEqual(t, c, mustMarshal(t, w))
			}
			last := decodeJSON(t, with[len(with)-1]).(map[string]any)
			if choices, ok := last["choices"].([]any); !ok || len(choices) != 0 {
				t.Errorf("final chunk choices = %v, want []", last["choices"])
			}
			if _, ok := last["usage"].(map[string]any); !ok {
				t.Errorf("final chunk usage = %v, want an object", last["usage"])
			}
		})
	}
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ev builds an event from its payload, taking the name from "type".
func ev(data string) sseEvent {
	var peek struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal([]byte(data), &peek)
	return sseEvent{name: peek.Type, data: []byte(data)}
}

const (
	evStart = `{"type":"message_start","message":{"id":"msg_x","type":"message","role":"assistant","content":[],"model":"claude-x","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":10,"cache_read_input_tokens":5,"cache_creation_input_tokens":3,"output_tokens":1}}}`
	evStop  = `{"type":"message_stop"}`
)

func chunkJSON(delta string, finish string) string {
	f := "null"
	if finish != "" {
		f = `"` + finish + `"`
	}
	return `{"id":"msg_x","object":"chat.completion.chunk","created":1694268190,"model":"claude-x","choices":[{"index":0,"delta":` + delta + `,"logprobs":null,"finish_reason":` + f + `}]}`
}

func usageJSON(prompt, completion, cached int) string {
	return `{"id":"msg_x","object":"chat.completion.chunk","created":1694268190,"model":"claude-x","choices":[],"usage":{"prompt_tokens":` +
		strconv.Itoa(prompt) + `,"completion_tokens":` + strconv.Itoa(completion) + `,"total_tokens":` + strconv.Itoa(prompt+completion) +
		`,"prompt_tokens_details":{"cached_tokens":` + strconv.Itoa(cached) + `}}}`
}

// withNullUsage adds "usage": null to a chunk, as include_usage does.
func withNullUsage(chunk string) string {
	return strings.TrimSuffix(chunk, "}") + `,"usage":null}`
}

func TestChatStreamEvents(t *testing.T) {
	role := chunkJSON(`{"role":"assistant","content":""}`, "")
	tests := []struct {
		name         string
		events       []sseEvent
		includeUsage bool
		want         []string
	}{
		{
			name: "message_delta usage is cumulative: the last value wins",
			events: []sseEvent{
				ev(evStart),
				ev(`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`),
				ev(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}`),
				ev(`{"type":"content_block_stop","index":0}`),
				ev(`{"type":"message_delta","delta":{"stop_reason":null},"usage":{"output_tokens":7}}`),
				ev(`{"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"output_tokens":20}}`),
				ev(evStop),
			},
			includeUsage: true,
			want: []string{
				withNullUsage(role),
				withNullUsage(chunkJSON(`{"content":"Hi"}`, "")),
				withNullUsage(chunkJSON(`{}`, "length")),
				usageJSON(18, 20, 5),
			},
		},
		{
			name: "message_delta can update input and cache counts; finish_reason is sent once",
			events: []sseEvent{
				ev(evStart),
				ev(`{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"input_tokens":12,"cache_read_input_tokens":6,"cache_creation_input_tokens":0,"output_tokens":4}}`),
				ev(`{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":9}}`),
				ev(evStop),
			},
			includeUsage: true,
			want: []string{
				withNullUsage(role),
				withNullUsage(chunkJSON(`{}`, "stop")),
				usageJSON(18, 9, 6),
			},
		},
		{
			name: "message_stop without message_delta still finishes",
			events: []sseEvent{
				ev(evStart),
				ev(evStop),
			},
			want: []string{role, chunkJSON(`{}`, "stop")},
		},
		{
			name: "several tool calls are numbered from 0; server tool input is dropped",
			events: []sseEvent{
				ev(evStart),
				ev(`{"type":"content_block_start","index":0,"content_block":{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{}}}`),
				ev(`{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"query\":\"q\"}"}}`),
				ev(`{"type":"content_block_stop","index":0}`),
				ev(`{"type":"content_block_start","index":1,"content_block":{"type":"web_search_tool_result","tool_use_id":"srvtoolu_1","content":[]}}`),
				ev(`{"type":"content_block_stop","index":1}`),
				ev(`{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_a","name":"a","input":{}}}`),
				ev(`{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"x\":1}"}}`),
				ev(`{"type":"content_block_stop","index":2}`),
				ev(`{"type":"content_block_start","index":3,"content_block":{"type":"tool_use","id":"toolu_b","name":"b","input":{}}}`),
				ev(`{"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":"{}"}}`),
				ev(`{"type":"content_block_stop","index":3}`),
				ev(`{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":30}}`),
				ev(evStop),
			},
			want: []string{
				role,
				chunkJSON(`{"tool_calls":[{"index":0,"id":"toolu_a","type":"function","function":{"name":"a","arguments":""}}]}`, ""),
				chunkJSON(`{"tool_calls":[{"index":0,"function":{"arguments":"{\"x\":1}"}}]}`, ""),
				chunkJSON(`{"tool_calls":[{"index":1,"id":"toolu_b","type":"function","function":{"name":"b","arguments":""}}]}`, ""),
				chunkJSON(`{"tool_calls":[{"index":1,"function":{"arguments":"{}"}}]}`, ""),
				chunkJSON(`{}`, "tool_calls"),
			},
		},
		{
			name: "tool input given at block start without deltas is sent at block stop",
			events: []sseEvent{
				ev(evStart),
				ev(`{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_a","name":"a","input":{"k": "v"}}}`),
				ev(`{"type":"content_block_stop","index":0}`),
				ev(`{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":3}}`),
				ev(evStop),
			},
			want: []string{
				role,
				chunkJSON(`{"tool_calls":[{"index":0,"id":"toolu_a","type":"function","function":{"name":"a","arguments":""}}]}`, ""),
				chunkJSON(`{"tool_calls":[{"index":0,"function":{"arguments":"{\"k\":\"v\"}"}}]}`, ""),
				chunkJSON(`{}`, "tool_calls"),
			},
		},
		{
			name: "ping, unknown events and deltas, and events after message_stop produce nothing",
			events: []sseEvent{
				ev(`{"type":"ping"}`),
				ev(evStart),
				ev(`{"type":"ping"}`),
				ev(`{"type":"some_future_event","foo":1}`),
				ev(`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`),
				ev(`{"type":"content_block_delta","index":0,"delta":{"type":"citations_delta","citation":{}}}`),
				ev(`{"type":"content_block_delta","index":0,"delta":{"type":"some_future_delta"}}`),
				ev(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":""}}`),
				ev(`{"type":"content_block_stop","index":0}`),
				ev(`{"type":"message_delta","delta":{"stop_reason":"refusal"},"usage":{"output_tokens":2}}`),
				ev(evStop),
				ev(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"late"}}`),
				ev(evStop),
			},
			want: []string{role, chunkJSON(`{}`, "content_filter")},
		},
		{
			name: "event name taken from the payload when empty; text in content_block_start is emitted",
			events: []sseEvent{
				{data: []byte(evStart)},
				{data: []byte(`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":"Pre"}}`)},
				{data: []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"fix"}}`)},
				{data: []byte(evStop)},
			},
			want: []string{role, chunkJSON(`{"content":"Pre"}`, ""), chunkJSON(`{"content":"fix"}`, ""), chunkJSON(`{}`, "stop")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chunks, s := runStream(t, tt.events, tt.includeUsage)
			if !s.Done() {
				t.Error("Done() = false after message_stop")
			}
			assertJSONEqual(t, jsonArray(chunks), []byte("["+strings.Join(tt.want, ",")+"]"))
			for _, c := range chunks {
				if bytes.Contains(c, []byte("[DONE]")) {
					t.Errorf("chunk contains [DONE]: %s", c)
				}
			}
		})
	}
}

func TestChatStreamDone(t *testing.T) {
	events := parseSSE(t, fixture(t, "anthropic_stream_text.sse"))
	s := NewChatStream(1, false)
	for i, e := range events {
		if s.Done() {
			t.Fatalf("Done() = true before event %d (%s)", i, e.name)
		}
		if _, err := s.Event(e.name, e.data); err != nil {
			t.Fatal(err)
		}
	}
	if !s.Done() {
		t.Fatal("Done() = false after message_stop")
	}
}

func TestChatStreamErrorEvent(t *testing.T) {
	tests := []struct {
		name     string
		data     []byte
		wantType string
		wantMsg  string
	}{
		{"documented overloaded error", parseSSE(t, fixture(t, "anthropic_stream_error.sse"))[0].data, "overloaded_error", "Overloaded"},
		{"malformed error payload", []byte(`not json`), "api_error", "upstream error: not json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewChatStream(1, true)
			if _, err := s.Event("message_start", []byte(evStart)); err != nil {
				t.Fatal(err)
			}
			chunks, err := s.Event("error", tt.data)
			if len(chunks) != 0 {
				t.Errorf("error event produced chunks: %q", chunks)
			}
			var ue *UpstreamError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v (%T), want *UpstreamError", err, err)
			}
			if ue.Type != tt.wantType || ue.Message != tt.wantMsg {
				t.Errorf("got %+v, want type %q message %q", ue, tt.wantType, tt.wantMsg)
			}
			if s.Done() {
				t.Error("Done() = true after an error event")
			}
		})
	}
}

func TestChatStreamMalformedEvent(t *testing.T) {
	s := NewChatStream(1, false)
	_, err := s.Event("content_block_delta", []byte(`{"type":"content_block_delta","index":"zero"`))
	if err == nil {
		t.Fatal("expected an error for a malformed payload")
	}
	var ue *UpstreamError
	if errors.As(err, &ue) {
		t.Errorf("malformed payload reported as *UpstreamError: %v", err)
	}
}
