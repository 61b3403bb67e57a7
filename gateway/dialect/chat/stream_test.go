package chat

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/ssestream"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
)

// sdkStream reads an SSE stream with the official SDK, accumulating the
// chunks as its users do. It returns the accumulation and the stream's
// error.
func sdkStream(t testing.TB, stream []byte) (openai.ChatCompletionAccumulator, []openai.ChatCompletionChunk, error) {
	t.Helper()
	res := &http.Response{
		StatusCode: 200,
		Header:     http.Header{"Content-Type": []string{"text/event-stream"}},
		Body:       io.NopCloser(bytes.NewReader(stream)),
	}
	s := ssestream.NewStream[openai.ChatCompletionChunk](ssestream.NewDecoder(res), nil)
	defer s.Close()
	var acc openai.ChatCompletionAccumulator
	var chunks []openai.ChatCompletionChunk
	for s.Next() {
		c := s.Current()
		chunks = append(chunks, c)
		if !acc.AddChunk(c) {
			t.Fatalf("the SDK accumulator rejects chunk %d: %s", len(chunks), c.RawJSON())
		}
	}
	return acc, chunks, s.Err()
}

// joined summarises events: the text, thinking and arguments of each part
// concatenated, keyed by part index.
func joined(events []llm.Event) map[int]string {
	out := map[int]string{}
	for _, e := range events {
		switch e.Type {
		case llm.EventText, llm.EventThinking, llm.EventToolArgs:
			out[e.Index] += e.Text
		}
	}
	return out
}

func TestStreamDecoderFixtures(t *testing.T) {
	t.Run("openai_stream_default.sse", func(t *testing.T) {
		got := decodeStream(t, fixture(t, "openai_stream_default.sse"))
		assertDeepEqual(t, got, []llm.Event{
			{Type: llm.EventStart, ID: "chatcmpl-123", Model: "gpt-4o-mini"},
			{Type: llm.EventText, Index: 0, Text: "Hello"},
			{Type: llm.EventFinish, Finish: llm.FinishStop},
			{Type: llm.EventEnd},
		})
	})
	t.Run("openai_stream_tool_calls.sse", func(t *testing.T) {
		in := fixture(t, "openai_stream_tool_calls.sse")
		got := decodeStream(t, in)
		acc, _, err := sdkStream(t, in)
		if err != nil {
			t.Fatal(err)
		}
		if got[0] != (llm.Event{Type: llm.EventStart, ID: "chatcmpl-A3Tguz3LSXTHBTY2NAPBCSyfBltxF", Model: "gpt-4o-2024-05-13"}) {
			t.Errorf("first event = %+v", got[0])
		}
		parts := joined(got)
		if parts[0] != acc.Choices[0].Message.Content || !strings.HasPrefix(parts[0], "Let's take a journey") {
			t.Errorf("text = %q, want the SDK's %q", parts[0], acc.Choices[0].Message.Content)
		}
		if parts[1] != `{"location":"Santorini, Greece"}` {
			t.Errorf("arguments = %q", parts[1])
		}
		var calls, finishes, usages []llm.Event
		for _, e := range got {
			switch e.Type {
			case llm.EventToolCall:
				calls = append(calls, e)
			case llm.EventFinish:
				finishes = append(finishes, e)
			case llm.EventUsage:
				usages = append(usages, e)
			}
		}
		assertDeepEqual(t, calls, []llm.Event{{Type: llm.EventToolCall, Index: 1, ID: "call_FXoAjBUMcVv1k40fficJ9cSs", Name: "get_weather"}})
		assertDeepEqual(t, finishes, []llm.Event{{Type: llm.EventFinish, Finish: llm.FinishToolCalls}})
		assertDeepEqual(t, usages, []llm.Event{
			{Type: llm.EventUsage, Usage: llm.Usage{Input: 10, Output: 100, CacheRead: 20, Reasoning: 5}},
			{Type: llm.EventUsage, Usage: llm.Usage{Input: 0, Output: 50, CacheRead: 10, Reasoning: 3}},
		})
		if last := got[len(got)-1]; last.Type != llm.EventEnd {
			t.Errorf("last event = %+v", last)
		}
	})
}

// chunkEvents builds a stream of data events.
func chunkEvents(data ...string) []byte {
	var b []byte
	for _, d := range data {
		b = append(b, "data: "+d+"\n\n"...)
	}
	return b
}

func TestStreamDecoder(t *testing.T) {
	const head = `{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":`
	ch := func(delta, finish string) string {
		if finish == "" {
			finish = "null"
		}
		return head + delta + `,"finish_reason":` + finish + `}],"usage":null}`
	}
	start := llm.Event{Type: llm.EventStart, ID: "c1", Model: "m"}
	end := llm.Event{Type: llm.EventEnd}
	tests := []struct {
		name   string
		stream []byte
		want   []llm.Event
	}{
		{
			name: "Azure prompt filter chunk skipped; reasoning then text; usage with finish",
			stream: chunkEvents(
				`{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}`,
				ch(`{"role":"assistant","content":""}`, ""),
				ch(`{"reasoning_content":"Think"}`, ""),
				ch(`{"reasoning_content":"ing."}`, ""),
				ch(`{"content":"Answer"}`, ""),
				head+`{},"finish_reason":"length"}],"usage":{"prompt_tokens":5,"completion_tokens":9,"total_tokens":14,"completion_tokens_details":{"reasoning_tokens":4}}}`,
				"[DONE]"),
			want: []llm.Event{start,
				{Type: llm.EventThinking, Index: 0, Text: "Think"},
				{Type: llm.EventThinking, Index: 0, Text: "ing."},
				{Type: llm.EventText, Index: 1, Text: "Answer"},
				{Type: llm.EventFinish, Finish: llm.FinishLength},
				{Type: llm.EventUsage, Usage: llm.Usage{Input: 5, Output: 9, Reasoning: 4}},
				end},
		},
		{
			name: "text after a tool call opens a new part; refusal is text; stop with tool calls is tool_calls",
			stream: chunkEvents(
				ch(`{"content":"A"}`, ""),
				ch(`{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":""}}]}`, ""),
				ch(`{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}`, ""),
				ch(`{"refusal":"B"}`, ""),
				ch(`{}`, `"stop"`),
				"[DONE]"),
			want: []llm.Event{start,
				{Type: llm.EventText, Index: 0, Text: "A"},
				{Type: llm.EventToolCall, Index: 1, ID: "call_1", Name: "f"},
				{Type: llm.EventToolArgs, Index: 1, Text: "{}"},
				{Type: llm.EventText, Index: 2, Text: "B"},
				{Type: llm.EventFinish, Finish: llm.FinishToolCalls},
				end},
		},
		{
			name: "parallel calls at one index with different IDs, whole arguments, a call without ID",
			stream: chunkEvents(
				ch(`{"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{\"x\":1}"}},{"index":0,"id":"b","function":{"name":"g","arguments":"{}"}}]}`, ""),
				ch(`{"tool_calls":[{"index":1,"function":{"name":"h","arguments":"{"}}]}`, ""),
				ch(`{"tool_calls":[{"index":1,"function":{"arguments":"}"}}]}`, `"tool_calls"`),
				"[DONE]"),
			want: []llm.Event{start,
				{Type: llm.EventToolCall, Index: 0, ID: "a", Name: "f"},
				{Type: llm.EventToolArgs, Index: 0, Text: `{"x":1}`},
				{Type: llm.EventToolCall, Index: 1, ID: "b", Name: "g"},
				{Type: llm.EventToolArgs, Index: 1, Text: `{}`},
				{Type: llm.EventToolCall, Index: 2, ID: "call_2", Name: "h"},
				{Type: llm.EventToolArgs, Index: 2, Text: "{"},
				{Type: llm.EventToolArgs, Index: 2, Text: "}"},
				{Type: llm.EventFinish, Finish: llm.FinishToolCalls},
				end},
		},
		{
			name: "other choices are ignored; content_filter",
			stream: chunkEvents(
				`{"id":"c1","model":"m","choices":[{"index":1,"delta":{"content":"other"}},{"index":0,"delta":{"content":"mine"},"finish_reason":"content_filter"}]}`,
				"[DONE]"),
			want: []llm.Event{start,
				{Type: llm.EventText, Index: 0, Text: "mine"},
				{Type: llm.EventFinish, Finish: llm.FinishContentFilter},
				end},
		},
		{
			name:   "an error chunk ends the stream",
			stream: chunkEvents(ch(`{"content":"A"}`, ""), `{"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}}`, ch(`{"content":"B"}`, ""), "[DONE]"),
			want: []llm.Event{start,
				{Type: llm.EventText, Index: 0, Text: "A"},
				{Type: llm.EventError, Error: &llm.UpstreamError{Type: "server_error", Message: "The server had an error"}}},
		},
		{
			name:   "an error event that is not JSON",
			stream: []byte("event: error\ndata: upstream exploded\n\n"),
			want:   []llm.Event{{Type: llm.EventError, Error: &llm.UpstreamError{Message: "the upstream reported an error: upstream exploded"}}},
		},
		{
			name:   "an empty stream",
			stream: chunkEvents("[DONE]", ch(`{"content":"late"}`, "")),
			want:   []llm.Event{{Type: llm.EventStart}, end},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertDeepEqual(t, decodeStream(t, tt.stream), tt.want)
		})
	}
}

func TestStreamDecoderInvalid(t *testing.T) {
	d := NewStreamDecoder()
	if err := d.Decode("", []byte(`{"id":`), func(*llm.Event) {}); err == nil {
		t.Error("no error for a truncated chunk")
	}
	if err := d.Decode("", []byte(`{"id":"x","choices":[{"index":0,"delta":{"content":5}}]}`), func(*llm.Event) {}); err == nil {
		t.Error("no error for a number as content")
	}
}

// textEvents is an answer with text, a thinking part and two tool calls.
var textEvents = []llm.Event{
	{Type: llm.EventStart, ID: "msg_1", Model: "claude-x"},
	{Type: llm.EventThinking, Index: 0, Text: "hmm"},
	{Type: llm.EventThinking, Index: 0, Signature: "sig"},
	{Type: llm.EventText, Index: 1, Text: "Hel"},
	{Type: llm.EventText, Index: 1, Text: "lo"},
	{Type: llm.EventToolCall, Index: 2, ID: "toolu_1", Name: "get_weather"},
	{Type: llm.EventToolArgs, Index: 2, Text: `{"location":`},
	{Type: llm.EventToolArgs, Index: 2, Text: `"Paris"}`},
	{Type: llm.EventToolCall, Index: 3, ID: "toolu_2", Name: "get_time"},
	{Type: llm.EventFinish, Finish: llm.FinishToolCalls},
	{Type: llm.EventUsage, Usage: llm.Usage{Input: 30, Output: 12, CacheRead: 20, Reasoning: 4}},
	{Type: llm.EventEnd},
}

func TestStreamEncoder(t *testing.T) {
	const head = `{"id":"msg_1","object":"chat.completion.chunk","created":1694268190,"model":"claude-x","choices":[{"index":0,"delta":`
	chunk := func(delta, finish string) string {
		return head + delta + `,"logprobs":null,"finish_reason":` + finish + `}],"usage":null}`
	}
	want := []string{
		chunk(`{"role":"assistant","content":""}`, "null"),
		chunk(`{"content":"Hel"}`, "null"),
		chunk(`{"content":"lo"}`, "null"),
		chunk(`{"tool_calls":[{"index":0,"id":"toolu_1","type":"function","function":{"name":"get_weather","arguments":""}}]}`, "null"),
		chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"{\"location\":"}}]}`, "null"),
		chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}`, "null"),
		chunk(`{"tool_calls":[{"index":1,"id":"toolu_2","type":"function","function":{"name":"get_time","arguments":""}}]}`, "null"),
		chunk(`{}`, `"tool_calls"`),
		`{"id":"msg_1","object":"chat.completion.chunk","created":1694268190,"model":"claude-x","choices":[],
			"usage":{"prompt_tokens":30,"completion_tokens":12,"total_tokens":42,"prompt_tokens_details":{"cached_tokens":20},"completion_tokens_details":{"reasoning_tokens":4}}}`,
		`[DONE]`,
	}
	out := encodeStream(llm.ResponseOptions{Created: 1694268190, IncludeUsage: true}, textEvents)
	got := sseData(t, out)
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d:\n%s", len(got), len(want), out)
	}
	for i := range want {
		if want[i] == "[DONE]" {
			if got[i] != want[i] {
				t.Errorf("event %d = %s, want [DONE]", i, got[i])
			}
			continue
		}
		assertJSONEqual(t, []byte(got[i]), []byte(want[i]))
	}

	// Without include_usage: no usage anywhere, no usage chunk.
	out = encodeStream(llm.ResponseOptions{Created: 1694268190}, textEvents)
	plain := sseData(t, out)
	if len(plain) != len(want)-1 {
		t.Fatalf("without include_usage: %d events, want %d", len(plain), len(want)-1)
	}
	for i, d := range plain[:len(plain)-1] {
		if strings.Contains(d, `"usage"`) {
			t.Errorf("event %d has a usage without include_usage: %s", i, d)
		}
		assertJSONEqual(t, []byte(d), []byte(strings.Replace(want[i], `,"usage":null`, "", 1)))
	}
}

func TestStreamEncoderEdges(t *testing.T) {
	o := llm.ResponseOptions{Created: 7}
	t.Run("events before start, no finish, made-up id", func(t *testing.T) {
		out := encodeStream(o, []llm.Event{
			{Type: llm.EventText, Index: 0, Text: "x"},
			{Type: llm.EventText, Index: 0, Text: ""},
			{Type: llm.EventToolArgs, Index: 5, Text: "orphan"},
			{Type: llm.EventRedactedThinking, Index: 1, Signature: "s"},
			{Type: llm.EventEnd},
			{Type: llm.EventText, Index: 0, Text: "after the end"},
		})
		got := sseData(t, out)
		if len(got) != 4 || got[3] != "[DONE]" {
			t.Fatalf("events:\n%s", out)
		}
		c := decodeJSON(t, []byte(got[0])).(map[string]any)
		if id, _ := c["id"].(string); !strings.HasPrefix(id, "chatcmpl-") {
			t.Errorf("id = %v", c["id"])
		}
		for _, d := range got[:3] {
			if !strings.Contains(d, `"id":"`+c["id"].(string)+`"`) {
				t.Errorf("chunk with another id: %s", d)
			}
		}
		if !strings.Contains(got[2], `"finish_reason":"stop"`) {
			t.Errorf("finish chunk = %s", got[2])
		}
	})
	t.Run("error", func(t *testing.T) {
		out := encodeStream(o, []llm.Event{
			{Type: llm.EventStart, ID: "x", Model: "m"},
			{Type: llm.EventError, Error: &llm.UpstreamError{Type: "overloaded_error", Message: "Overloaded"}},
			{Type: llm.EventEnd},
		})
		got := sseData(t, out)
		if len(got) != 2 {
			t.Fatalf("events:\n%s", out)
		}
		assertJSONEqual(t, []byte(got[1]), []byte(`{"error":{"message":"Overloaded","type":"server_error","param":null,"code":"overloaded_error"}}`))
		_, _, err := sdkStream(t, out)
		var se *ssestream.StreamError
		if !errors.As(err, &se) || !strings.Contains(se.Message, "Overloaded") {
			t.Errorf("the SDK reports %v", err)
		}
	})
	t.Run("usage reported at the start only", func(t *testing.T) {
		got := sseData(t, encodeStream(llm.ResponseOptions{IncludeUsage: true}, []llm.Event{
			{Type: llm.EventStart, ID: "x", Model: "m", Usage: llm.Usage{Input: 12}},
			{Type: llm.EventEnd},
		}))
		if len(got) != 4 {
			t.Fatalf("events: %q", got)
		}
		assertJSONEqual(t, []byte(got[2]), []byte(`{"id":"x","object":"chat.completion.chunk","created":0,"model":"m","choices":[],
			"usage":{"prompt_tokens":12,"completion_tokens":0,"total_tokens":12,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}`))
	})
	t.Run("error without details", func(t *testing.T) {
		got := sseData(t, encodeStream(o, []llm.Event{{Type: llm.EventError}}))
		assertJSONEqual(t, []byte(got[0]), []byte(`{"error":{"message":"upstream error","type":"server_error","param":null,"code":null}}`))
	})
}

// TestStreamEncoderSDK checks that the official SDK and its accumulator
// read what the encoder writes.
func TestStreamEncoderSDK(t *testing.T) {
	out := encodeStream(llm.ResponseOptions{Created: 1694268190, IncludeUsage: true}, textEvents)
	acc, chunks, err := sdkStream(t, out)
	if err != nil {
		t.Fatalf("the SDK fails: %v", err)
	}
	if len(chunks) != 9 {
		t.Errorf("the SDK read %d chunks, want 9", len(chunks))
	}
	c := acc.ChatCompletion
	if c.ID != "msg_1" || c.Model != "claude-x" || c.Created != 1694268190 || len(c.Choices) != 1 {
		t.Fatalf("accumulated: %+v", c)
	}
	m := c.Choices[0].Message
	if m.Content != "Hello" || m.Role != "assistant" {
		t.Errorf("message = %+v", m)
	}
	if len(m.ToolCalls) != 2 || m.ToolCalls[0].ID != "toolu_1" || m.ToolCalls[0].Function.Name != "get_weather" ||
		m.ToolCalls[0].Function.Arguments != `{"location":"Paris"}` || m.ToolCalls[1].ID != "toolu_2" ||
		m.ToolCalls[1].Function.Name != "get_time" || m.ToolCalls[1].Function.Arguments != "" {
		t.Errorf("tool calls = %+v", m.ToolCalls)
	}
	if c.Choices[0].FinishReason != "tool_calls" {
		t.Errorf("finish = %q", c.Choices[0].FinishReason)
	}
	if u := c.Usage; u.PromptTokens != 30 || u.CompletionTokens != 12 || u.TotalTokens != 42 ||
		u.PromptTokensDetails.CachedTokens != 20 || u.CompletionTokensDetails.ReasoningTokens != 4 {
		t.Errorf("usage = %+v", u)
	}
}

// TestStreamFixturesRoundTrip decodes the documented streams and encodes
// them again: the SDK accumulates the same answer from both.
func TestStreamFixturesRoundTrip(t *testing.T) {
	for _, file := range []string{"openai_stream_default.sse", "openai_stream_tool_calls.sse"} {
		t.Run(file, func(t *testing.T) {
			in := fixture(t, file)
			events := decodeStream(t, in)
			out := encodeStream(llm.ResponseOptions{Created: 1694268190, IncludeUsage: true}, events)
			want, _, err := sdkStream(t, in)
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := sdkStream(t, out)
			if err != nil {
				t.Fatal(err)
			}
			wm, gm := want.Choices[0].Message, got.Choices[0].Message
			if got.ID != want.ID || got.Model != want.Model || gm.Content != wm.Content ||
				got.Choices[0].FinishReason != want.Choices[0].FinishReason || len(gm.ToolCalls) != len(wm.ToolCalls) {
				t.Errorf("round trip differs: got %+v\nwant %+v", got.ChatCompletion, want.ChatCompletion)
			}
			for i := range wm.ToolCalls {
				if gm.ToolCalls[i].ID != wm.ToolCalls[i].ID || gm.ToolCalls[i].Function.Name != wm.ToolCalls[i].Function.Name ||
					gm.ToolCalls[i].Function.Arguments != wm.ToolCalls[i].Function.Arguments {
					t.Errorf("tool call %d: got %+v, want %+v", i, gm.ToolCalls[i], wm.ToolCalls[i])
				}
			}
		})
	}
}
