package translate

import (
	"errors"
	"testing"
)

const testCreated = 1741569952

// TestMessagesToChatResponseFixtures translates the documented Anthropic
// response examples.
func TestMessagesToChatResponseFixtures(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"anthropic_message.json", "expected/chat_response_message.json"},
		{"anthropic_message_full_usage.json", "expected/chat_response_full_usage.json"},
		{"anthropic_message_tool_use.json", "expected/chat_response_tool_use.json"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := MessagesToChatResponse(fixture(t, tt.in), testCreated)
			if err != nil {
				t.Fatalf("MessagesToChatResponse: %v", err)
			}
			assertJSONEqual(t, got, fixture(t, tt.want))
		})
	}
}

func TestMessagesToChatResponse(t *testing.T) {
	const zeroUsage = `{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0,"prompt_tokens_details":{"cached_tokens":0}}`
	completion := func(message, finish, usage string) string {
		return `{"id":"msg_1","object":"chat.completion","created":1741569952,"model":"claude-x",
			"choices":[{"index":0,"message":` + message + `,"logprobs":null,"finish_reason":"` + finish + `"}],"usage":` + usage + `}`
	}
	tests := []struct {
		name, body, want string
	}{
		{
			name: "only tool calls: content is null",
			body: `{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","stop_reason":"tool_use","content":[
				{"type":"tool_use","id":"toolu_1","name":"a","input":{"x": 1}},
				{"type":"tool_use","id":"toolu_2","name":"b","input":{}}],
				"usage":{"input_tokens":10,"output_tokens":5}}`,
			want: completion(`{"role":"assistant","content":null,"refusal":null,"tool_calls":[
				{"id":"toolu_1","type":"function","function":{"name":"a","arguments":"{\"x\":1}"}},
				{"id":"toolu_2","type":"function","function":{"name":"b","arguments":"{}"}}]}`, "tool_calls",
				`{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":0}}`),
		},
		{
			name: "thinking dropped, text blocks concatenated, cache usage",
			body: `{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","stop_reason":"max_tokens","content":[
				{"type":"thinking","thinking":"hmm","signature":"sig"},
				{"type":"redacted_thinking","data":"xyz"},
				{"type":"text","text":"Hello, "},
				{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{"query":"q"}},
				{"type":"text","text":"world"}],
				"usage":{"input_tokens":100,"output_tokens":7,"cache_read_input_tokens":50,"cache_creation_input_tokens":25}}`,
			want: completion(`{"role":"assistant","content":"Hello, world","refusal":null}`, "length",
				`{"prompt_tokens":175,"completion_tokens":7,"total_tokens":182,"prompt_tokens_details":{"cached_tokens":50}}`),
		},
		{
			name: "refusal stop reason",
			body: `{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","stop_reason":"refusal","content":[],"usage":null}`,
			want: completion(`{"role":"assistant","content":null,"refusal":null}`, "content_filter", zeroUsage),
		},
		{
			name: "null tool input and missing usage",
			body: `{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","stop_reason":"pause_turn","content":[
				{"type":"tool_use","id":"toolu_1","name":"a","input":null}]}`,
			want: completion(`{"role":"assistant","content":null,"refusal":null,"tool_calls":[
				{"id":"toolu_1","type":"function","function":{"name":"a","arguments":"{}"}}]}`, "stop", zeroUsage),
		},
		{
			name: "HTML characters are not escaped away",
			body: `{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","stop_reason":"stop_sequence","stop_sequence":"</s>","content":[
				{"type":"text","text":"a < b && c > d"}]}`,
			want: completion(`{"role":"assistant","content":"a < b && c > d","refusal":null}`, "stop", zeroUsage),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MessagesToChatResponse([]byte(tt.body), testCreated)
			if err != nil {
				t.Fatalf("MessagesToChatResponse: %v", err)
			}
			assertJSONEqual(t, got, []byte(tt.want))
		})
	}
}

func TestMessagesToChatResponseErrors(t *testing.T) {
	t.Run("error body", func(t *testing.T) {
		_, err := MessagesToChatResponse(fixture(t, "anthropic_error_invalid_request.json"), testCreated)
		var ue *UpstreamError
		if !errors.As(err, &ue) {
			t.Fatalf("err = %v (%T), want *UpstreamError", err, err)
		}
		if ue.Type != "invalid_request_error" || ue.Message != `messages: roles must alternate between "user" and "assistant"` {
			t.Errorf("got %+v", ue)
		}
	})
	for _, body := range []string{`not json`, `{"type":"completion"}`, `[]`} {
		t.Run(body, func(t *testing.T) {
			_, err := MessagesToChatResponse([]byte(body), testCreated)
			if err == nil {
				t.Fatal("expected an error")
			}
			var ue *UpstreamError
			var te *Error
			if errors.As(err, &ue) || errors.As(err, &te) {
				t.Errorf("err = %T, want a plain error", err)
			}
		})
	}
}

func TestFinishReason(t *testing.T) {
	tests := map[string]string{
		"end_turn":                      "stop",
		"stop_sequence":                 "stop",
		"pause_turn":                    "stop",
		"max_tokens":                    "length",
		"model_context_window_exceeded": "length",
		"tool_use":                      "tool_calls",
		"refusal":                       "content_filter",
		"":                              "stop",
		"something_new":                 "stop",
	}
	for in, want := range tests {
		if got := FinishReason(in); got != want {
			t.Errorf("FinishReason(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStopReason(t *testing.T) {
	tests := map[string]string{
		"stop":           "end_turn",
		"length":         "max_tokens",
		"tool_calls":     "tool_use",
		"function_call":  "tool_use",
		"content_filter": "refusal",
		"":               "end_turn",
		"something_new":  "end_turn",
	}
	for in, want := range tests {
		if got := StopReason(in); got != want {
			t.Errorf("StopReason(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestReasonRoundTrip checks that the documented values survive a round trip.
func TestReasonRoundTrip(t *testing.T) {
	for _, fr := range []string{"stop", "length", "tool_calls", "content_filter"} {
		if got := FinishReason(StopReason(fr)); got != fr {
			t.Errorf("FinishReason(StopReason(%q)) = %q", fr, got)
		}
	}
	for _, sr := range []string{"end_turn", "max_tokens", "tool_use", "refusal"} {
		if got := StopReason(FinishReason(sr)); got != sr {
			t.Errorf("StopReason(FinishReason(%q)) = %q", sr, got)
		}
	}
}
