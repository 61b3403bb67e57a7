package chat

import (
	stdjson "encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
)

const testCreated = 1741569952

func TestDecodeResponseFixtures(t *testing.T) {
	tests := []struct {
		file string
		want llm.Response
	}{
		{"openai_response_default.json", llm.Response{
			ID:     "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
			Model:  "gpt-4.1-2025-04-14",
			Parts:  []llm.Part{text("Hello! How can I assist you today?")},
			Finish: llm.FinishStop,
			Usage:  llm.Usage{Input: 19, Output: 10},
		}},
		{"openai_response_tool_calls.json", llm.Response{
			ID:     "chatcmpl-abc123",
			Model:  "gpt-4o-mini",
			Parts:  []llm.Part{call("call_abc123", "get_current_weather", `{"location":"Boston, MA"}`)},
			Finish: llm.FinishToolCalls,
			Usage:  llm.Usage{Input: 82, Output: 17},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var got llm.Response
			if err := DecodeResponse(fixture(t, tt.file), &got); err != nil {
				t.Fatalf("DecodeResponse: %v", err)
			}
			compactParts(got.Parts)
			assertDeepEqual(t, got, tt.want)
		})
	}
}

func TestDecodeResponse(t *testing.T) {
	completion := func(message, finish, usage string) string {
		return `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":` +
			message + `,"logprobs":null,"finish_reason":` + finish + `}],"usage":` + usage + `}`
	}
	tests := []struct {
		name, body string
		want       llm.Response
	}{
		{
			name: "reasoning_content, refusal, cached and reasoning tokens",
			body: completion(`{"role":"assistant","reasoning_content":"Let me think.","content":"42","refusal":"but no more"}`, `"length"`,
				`{"prompt_tokens":100,"completion_tokens":50,"total_tokens":150,"prompt_tokens_details":{"cached_tokens":80,"cache_write_tokens":10},"completion_tokens_details":{"reasoning_tokens":30}}`),
			want: llm.Response{ID: "chatcmpl-1", Model: "m",
				Parts:  []llm.Part{{Type: llm.PartThinking, Text: "Let me think."}, text("42"), text("but no more")},
				Finish: llm.FinishLength, Usage: llm.Usage{Input: 100, Output: 50, CacheRead: 80, CacheWrite: 10, Reasoning: 30}},
		},
		{
			name: "reasoning (vLLM), content as parts, DeepSeek cache hits",
			body: completion(`{"role":"assistant","reasoning":"hmm","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}`, `"stop"`,
				`{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"prompt_cache_hit_tokens":4,"prompt_cache_miss_tokens":6}`),
			want: llm.Response{ID: "chatcmpl-1", Model: "m",
				Parts:  []llm.Part{{Type: llm.PartThinking, Text: "hmm"}, text("ab")},
				Finish: llm.FinishStop, Usage: llm.Usage{Input: 10, Output: 5, CacheRead: 4}},
		},
		{
			name: "stop with tool calls is tool_calls; empty arguments are {}",
			body: completion(`{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":""}}]}`, `"stop"`, `null`),
			want: llm.Response{ID: "chatcmpl-1", Model: "m", Parts: []llm.Part{call("call_1", "f", `{}`)}, Finish: llm.FinishToolCalls},
		},
		{
			name: "content_filter",
			body: completion(`{"role":"assistant","content":null}`, `"content_filter"`, `null`),
			want: llm.Response{ID: "chatcmpl-1", Model: "m", Parts: []llm.Part{}, Finish: llm.FinishContentFilter},
		},
		{
			name: "legacy function_call finish",
			body: completion(`{"role":"assistant","content":"x"}`, `"function_call"`, `null`),
			want: llm.Response{ID: "chatcmpl-1", Model: "m", Parts: []llm.Part{text("x")}, Finish: llm.FinishToolCalls},
		},
		{
			name: "unknown or null finish is stop",
			body: completion(`{"role":"assistant","content":"x"}`, `null`, `null`),
			want: llm.Response{ID: "chatcmpl-1", Model: "m", Parts: []llm.Part{text("x")}, Finish: llm.FinishStop},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got llm.Response
			if err := DecodeResponse([]byte(tt.body), &got); err != nil {
				t.Fatalf("DecodeResponse: %v", err)
			}
			compactParts(got.Parts)
			assertDeepEqual(t, got, tt.want)
		})
	}
}

func TestDecodeResponseErrors(t *testing.T) {
	var r llm.Response
	err := DecodeResponse(fixture(t, "openai_error_quota.json"), &r)
	var ue *llm.UpstreamError
	if !errors.As(err, &ue) || ue.Type != "insufficient_quota" || !strings.HasPrefix(ue.Message, "You exceeded your current quota") {
		t.Errorf("error body: got %v (%T)", err, err)
	}
	for _, body := range []string{
		`not json`,
		`{"id":"x","choices":[]}`,
		`{"id":"x","choices":[{"index":0,"message":{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{bad"}}]}}]}`,
	} {
		if err := DecodeResponse([]byte(body), &r); err == nil {
			t.Errorf("DecodeResponse(%s): no error", body)
		}
	}
}

func TestEncodeResponse(t *testing.T) {
	tests := []struct {
		name string
		resp llm.Response
		want string
	}{
		{
			name: "text parts concatenated, thinking dropped, full usage",
			resp: llm.Response{ID: "msg_1", Model: "claude-x",
				Parts:  []llm.Part{{Type: llm.PartThinking, Text: "hmm", Signature: "s"}, text("Hello, "), text("world"), text("!")},
				Finish: llm.FinishStopSequence, StopSequence: "END",
				Usage: llm.Usage{Input: 100, Output: 7, CacheRead: 50, CacheWrite: 25, Reasoning: 3}},
			want: `{"id":"msg_1","object":"chat.completion","created":1741569952,"model":"claude-x",
				"choices":[{"index":0,"message":{"role":"assistant","content":"Hello, world!","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],
				"usage":{"prompt_tokens":100,"completion_tokens":7,"total_tokens":107,"prompt_tokens_details":{"cached_tokens":50},"completion_tokens_details":{"reasoning_tokens":3}}}`,
		},
		{
			name: "only tool calls: content is null",
			resp: llm.Response{ID: "msg_1", Model: "claude-x",
				Parts:  []llm.Part{call("toolu_1", "a", `{"x": 1}`), {Type: llm.PartToolCall, ID: "toolu_2", Name: "b"}},
				Finish: llm.FinishToolCalls, Usage: llm.Usage{Input: 10, Output: 5}},
			want: `{"id":"msg_1","object":"chat.completion","created":1741569952,"model":"claude-x",
				"choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":null,"annotations":[],"tool_calls":[
					{"id":"toolu_1","type":"function","function":{"name":"a","arguments":"{\"x\":1}"}},
					{"id":"toolu_2","type":"function","function":{"name":"b","arguments":"{}"}}]},"logprobs":null,"finish_reason":"tool_calls"}],
				"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}`,
		},
		{
			name: "refusal is content_filter, stop with tool calls is tool_calls",
			resp: llm.Response{ID: "r", Model: "m", Parts: []llm.Part{text("No.")}, Finish: llm.FinishRefusal},
			want: `{"id":"r","object":"chat.completion","created":1741569952,"model":"m",
				"choices":[{"index":0,"message":{"role":"assistant","content":"No.","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"content_filter"}],
				"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EncodeResponse(&tt.resp, llm.ResponseOptions{Created: testCreated})
			if err != nil {
				t.Fatalf("EncodeResponse: %v", err)
			}
			assertJSONEqual(t, got, []byte(tt.want))
		})
	}
}

func TestEncodeResponseFinish(t *testing.T) {
	for _, tt := range []struct {
		finish llm.Finish
		tools  bool
		want   string
	}{
		{llm.FinishStop, false, "stop"},
		{llm.FinishStop, true, "tool_calls"},
		{llm.FinishStopSequence, false, "stop"},
		{llm.FinishPause, false, "stop"},
		{"", false, "stop"},
		{llm.FinishLength, true, "length"},
		{llm.FinishToolCalls, true, "tool_calls"},
		{llm.FinishContentFilter, false, "content_filter"},
		{llm.FinishRefusal, false, "content_filter"},
	} {
		r := llm.Response{ID: "x", Finish: tt.finish}
		if tt.tools {
			r.Parts = []llm.Part{call("c", "f", `{}`)}
		}
		body, err := EncodeResponse(&r, llm.ResponseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var c openai.ChatCompletion
		if err := stdjson.Unmarshal(body, &c); err != nil {
			t.Fatal(err)
		}
		if got := c.Choices[0].FinishReason; got != tt.want {
			t.Errorf("finish %q (tools %v): got %q, want %q", tt.finish, tt.tools, got, tt.want)
		}
	}
}

// TestEncodeResponseSDK checks that the official SDK reads what
// EncodeResponse writes, including a made-up ID.
func TestEncodeResponseSDK(t *testing.T) {
	r := llm.Response{Model: "claude-x",
		Parts:  []llm.Part{text("Let me check."), call("toolu_1", "get_weather", `{"location": "Paris"}`)},
		Finish: llm.FinishToolCalls,
		Usage:  llm.Usage{Input: 30, Output: 12, CacheRead: 20, Reasoning: 4}}
	body, err := EncodeResponse(&r, llm.ResponseOptions{Created: testCreated})
	if err != nil {
		t.Fatal(err)
	}
	var c openai.ChatCompletion
	if err := stdjson.Unmarshal(body, &c); err != nil {
		t.Fatalf("the SDK cannot read %s: %v", body, err)
	}
	if !strings.HasPrefix(c.ID, "chatcmpl-") || len(c.ID) != len("chatcmpl-")+29 {
		t.Errorf("ID = %q", c.ID)
	}
	if c.Object != "chat.completion" || c.Created != testCreated || c.Model != "claude-x" || len(c.Choices) != 1 {
		t.Errorf("completion = %+v", c)
	}
	ch := c.Choices[0]
	m := ch.Message
	if m.Content != "Let me check." || m.Role != "assistant" || m.JSON.Refusal.Valid() || m.JSON.Refusal.Raw() != "null" ||
		m.JSON.Annotations.Raw() != "[]" || ch.JSON.Logprobs.Raw() != "null" {
		t.Errorf("message = %+v", m)
	}
	if len(m.ToolCalls) != 1 || m.ToolCalls[0].ID != "toolu_1" || m.ToolCalls[0].Type != "function" ||
		m.ToolCalls[0].Function.Name != "get_weather" || m.ToolCalls[0].Function.Arguments != `{"location":"Paris"}` {
		t.Errorf("tool calls = %+v", m.ToolCalls)
	}
	if ch.FinishReason != "tool_calls" || ch.Index != 0 {
		t.Errorf("choice = %+v", ch)
	}
	u := c.Usage
	if u.PromptTokens != 30 || u.CompletionTokens != 12 || u.TotalTokens != 42 ||
		u.PromptTokensDetails.CachedTokens != 20 || u.CompletionTokensDetails.ReasoningTokens != 4 {
		t.Errorf("usage = %+v", u)
	}
	// The answer reads back as it was written.
	var back llm.Response
	if err := DecodeResponse(body, &back); err != nil {
		t.Fatal(err)
	}
	r.ID = c.ID
	r.Usage.CacheWrite = 0
	compactParts(r.Parts)
	assertDeepEqual(t, back, r)
}

// TestResponseFixturesRoundTrip reads the documented answers and writes
// them back: the SDK reads the same content, tool calls, finish reason and
// usage.
func TestResponseFixturesRoundTrip(t *testing.T) {
	for _, file := range []string{"openai_response_default.json", "openai_response_tool_calls.json"} {
		t.Run(file, func(t *testing.T) {
			in := fixture(t, file)
			var r llm.Response
			if err := DecodeResponse(in, &r); err != nil {
				t.Fatal(err)
			}
			out, err := EncodeResponse(&r, llm.ResponseOptions{Created: testCreated})
			if err != nil {
				t.Fatal(err)
			}
			var want, got openai.ChatCompletion
			if err := stdjson.Unmarshal(in, &want); err != nil {
				t.Fatal(err)
			}
			if err := stdjson.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			wm, gm := want.Choices[0].Message, got.Choices[0].Message
			if got.ID != want.ID || got.Model != want.Model || gm.Content != wm.Content ||
				got.Choices[0].FinishReason != want.Choices[0].FinishReason ||
				got.Usage.PromptTokens != want.Usage.PromptTokens || got.Usage.CompletionTokens != want.Usage.CompletionTokens ||
				got.Usage.TotalTokens != want.Usage.TotalTokens || len(gm.ToolCalls) != len(wm.ToolCalls) {
				t.Errorf("round trip differs:\n got %s\nfrom %s", out, in)
			}
			for i := range wm.ToolCalls {
				if gm.ToolCalls[i].ID != wm.ToolCalls[i].ID || gm.ToolCalls[i].Function.Name != wm.ToolCalls[i].Function.Name {
					t.Errorf("tool call %d: got %+v, want %+v", i, gm.ToolCalls[i], wm.ToolCalls[i])
				}
				assertJSONEqual(t, []byte(gm.ToolCalls[i].Function.Arguments), []byte(wm.ToolCalls[i].Function.Arguments))
			}
		})
	}
}
