package meter

import (
	"bytes"
	"testing"
)

// Complete streams, as documented: the provider's usage is read exactly.
func TestStreamFixtures(t *testing.T) {
	tests := []struct {
		file        string
		dialect, op string
		want        Usage
	}{
		{"openai_chat_stream.sse", DialectOpenAI, OpChatCompletions,
			Usage{InputTokens: 19, OutputTokens: 10}},
		{"openai_responses_stream.sse", DialectOpenAI, OpResponses,
			Usage{InputTokens: 37, OutputTokens: 11}},
		{"anthropic_stream_text.sse", DialectAnthropic, OpMessages,
			Usage{InputTokens: 25, OutputTokens: 15}},
		{"anthropic_stream_tool_use.sse", DialectAnthropic, OpMessages,
			Usage{InputTokens: 472, OutputTokens: 89}},
		// message_delta repeats input_tokens 849: still 849, not 1698.
		{"anthropic_stream_repeat_input.sse", DialectAnthropic, OpMessages,
			Usage{InputTokens: 849, OutputTokens: 47}},
		// Every chunk carries usageMetadata; the last one is the total.
		{"gemini_stream_thinking.sse", DialectGemini, OpGenerateContent,
			Usage{InputTokens: 28, OutputTokens: 643 + 1174}},
	}
	for _, tt := range tests {
		evs := readEvents(t, tt.file)
		for _, named := range []bool{true, false} {
			name := tt.file
			if !named {
				name += "/unnamed"
				evs = unnamed(evs)
			}
			t.Run(name, func(t *testing.T) {
				s := feed(tt.dialect, tt.op, evs, nil)
				if !s.Reported() {
					t.Fatal("usage not reported")
				}
				if got := s.Usage(); got != tt.want {
					t.Errorf("got %+v, want %+v", got, tt.want)
				}
			})
		}
	}
}

func TestStreamAnthropicCumulative(t *testing.T) {
	start := `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5",
		"usage":{"input_tokens":100,"cache_read_input_tokens":50,"cache_creation_input_tokens":25,"output_tokens":1}}}`
	tests := []struct {
		name string
		evs  []event
		want Usage
	}{
		{
			name: "two deltas 10 then 25: output 25, not 35",
			evs: sse("message_start", start,
				"message_delta", `{"type":"message_delta","delta":{"stop_reason":null},"usage":{"output_tokens":10}}`,
				"message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":25}}`),
			want: Usage{InputTokens: 100, CachedInputTokens: 50, CacheWriteTokens: 25, OutputTokens: 25},
		},
		{
			name: "message_delta repeats the input and cache counts",
			evs: sse("message_start", start,
				"message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn"},
					"usage":{"input_tokens":100,"cache_read_input_tokens":50,"cache_creation_input_tokens":25,"output_tokens":30}}`),
			want: Usage{InputTokens: 100, CachedInputTokens: 50, CacheWriteTokens: 25, OutputTokens: 30},
		},
		{
			name: "message_delta repeats zeros and nulls: message_start's counts stand",
			evs: sse("message_start", start,
				"message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn"},
					"usage":{"input_tokens":0,"cache_read_input_tokens":null,"output_tokens":30}}`),
			want: Usage{InputTokens: 100, CachedInputTokens: 50, CacheWriteTokens: 25, OutputTokens: 30},
		},
		{
			name: "server tools: the cumulative input count grows",
			evs: sse("message_start", start,
				"message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn"},
					"usage":{"input_tokens":2500,"cache_read_input_tokens":50,"cache_creation_input_tokens":25,"output_tokens":410,
					"server_tool_use":{"web_search_requests":1}}}`),
			want: Usage{InputTokens: 2500, CachedInputTokens: 50, CacheWriteTokens: 25, OutputTokens: 410},
		},
		{
			name: "a usage-less message_delta then the counted one",
			evs: sse("message_start", start,
				"message_delta", `{"type":"message_delta","delta":{"stop_reason":null}}`,
				"message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":7}}`),
			want: Usage{InputTokens: 100, CachedInputTokens: 50, CacheWriteTokens: 25, OutputTokens: 7},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := feed(DialectAnthropic, OpMessages, tt.evs, nil)
			if !s.Reported() {
				t.Fatal("usage not reported")
			}
			if got := s.Usage(); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestStreamGeminiLastChunkWins(t *testing.T) {
	tests := []struct {
		name string
		evs  []event
		want Usage
	}{
		{
			name: "cumulative counts: 5 then 12 is 12",
			evs: sse(
				"", `{"candidates":[{"content":{"parts":[{"text":"Hello"}],"role":"model"},"index":0}],
					"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":5,"totalTokenCount":15}}`,
				"", `{"candidates":[{"content":{"parts":[{"text":" world"}],"role":"model"},"finishReason":"STOP","index":0}],
					"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":12,"totalTokenCount":22}}`),
			want: Usage{InputTokens: 10, OutputTokens: 12},
		},
		{
			name: "vertex: counts only in the final chunk",
			evs: sse(
				"", `{"candidates":[{"content":{"role":"model","parts":[{"text":"Hello!"}]}}],"usageMetadata":{"trafficType":"ON_DEMAND"}}`,
				"", `{"candidates":[{"content":{"role":"model","parts":[{"text":"","thoughtSignature":"AY89a18i"}]},"finishReason":"STOP"}],
					"usageMetadata":{"promptTokenCount":1,"candidatesTokenCount":9,"totalTokenCount":10,"trafficType":"ON_DEMAND"}}`),
			want: Usage{InputTokens: 1, OutputTokens: 9},
		},
		{
			name: "cached content and tool-use prompt",
			evs: sse(
				"", `{"candidates":[{"content":{"parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}}],"role":"model"},"finishReason":"STOP"}],
					"usageMetadata":{"promptTokenCount":5000,"cachedContentTokenCount":4200,"toolUsePromptTokenCount":7,"candidatesTokenCount":30,"thoughtsTokenCount":12,"totalTokenCount":5049}}`),
			want: Usage{InputTokens: 807, CachedInputTokens: 4200, OutputTokens: 42},
		},
		{
			name: "blocked prompt",
			evs: sse(
				"", `{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":8,"totalTokenCount":8}}`),
			want: Usage{InputTokens: 8},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := feed(DialectGemini, OpGenerateContent, tt.evs, nil)
			if !s.Reported() {
				t.Fatal("usage not reported")
			}
			if got := s.Usage(); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestStreamOpenAIChatUsageChunk(t *testing.T) {
	evs := readEvents(t, "openai_chat_stream.sse")
	// The client asked for usage itself: the gateway forwards the same
	// chunks ("usage": null on each, then the usage chunk) and meters the
	// same chunk it forwards.
	clientAsked := feed(DialectOpenAI, OpChatCompletions, evs, nil)
	// The gateway asked for the client: a server that omits "usage": null
	// on content chunks must read the same.
	var stripped []event
	for _, e := range evs {
		stripped = append(stripped, event{data: bytes.ReplaceAll(e.data, []byte(`,"usage":null`), nil)})
	}
	gatewayAsked := feed(DialectOpenAI, OpChatCompletions, stripped, nil)
	want := Usage{InputTokens: 19, OutputTokens: 10}
	for name, s := range map[string]*Stream{"client asked": clientAsked, "gateway asked": gatewayAsked} {
		if !s.Reported() || s.Usage() != want {
			t.Errorf("%s: reported %v, usage %+v; want %+v", name, s.Reported(), s.Usage(), want)
		}
	}

	// Cached and reasoning tokens in the usage chunk.
	s := feed(DialectOpenAI, OpChatCompletions, sse(
		"", `{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}],"usage":null}`,
		"", `{"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":2006,"completion_tokens":300,"total_tokens":2306,
			"prompt_tokens_details":{"cached_tokens":1920},"completion_tokens_details":{"reasoning_tokens":256}}}`,
		"", `[DONE]`), nil)
	want = Usage{InputTokens: 86, CachedInputTokens: 1920, OutputTokens: 300}
	if !s.Reported() || s.Usage() != want {
		t.Errorf("cached: reported %v, usage %+v; want %+v", s.Reported(), s.Usage(), want)
	}
}

// OpenAI-compatible servers (vLLM's continuous_usage_stats) put cumulative
// usage on every chunk: provisional until the stream finishes.
func TestStreamOpenAIChatContinuousUsage(t *testing.T) {
	chunks := sse(
		"", `{"choices":[{"index":0,"delta":{"role":"assistant","content":"The"},"finish_reason":null}],"usage":{"prompt_tokens":12,"completion_tokens":1,"total_tokens":13}}`,
		"", `{"choices":[{"index":0,"delta":{"content":" answer is forty-two, as computed by Deep Thought"},"finish_reason":null}],"usage":{"prompt_tokens":12,"completion_tokens":2,"total_tokens":14}}`,
		"", `{"choices":[{"index":0,"delta":{"content":"."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":13,"total_tokens":25}}`,
		"", `[DONE]`,
	)
	cut := feed(DialectOpenAI, OpChatCompletions, chunks[:2], nil)
	if cut.Reported() {
		t.Fatal("provisional usage reported as final")
	}
	u := cut.Usage()
	if !u.Estimated || u.InputTokens != 12 || u.OutputTokens <= 2 {
		t.Errorf("cut: %+v; want estimated, input 12 from the provider, output above the provisional 2", u)
	}
	done := feed(DialectOpenAI, OpChatCompletions, chunks, nil)
	if want := (Usage{InputTokens: 12, OutputTokens: 13}); !done.Reported() || done.Usage() != want {
		t.Errorf("complete: reported %v, %+v; want %+v", done.Reported(), done.Usage(), want)
	}
	// A last usage chunk with choices but no finish_reason is confirmed by [DONE].
	odd := sse(
		"", `{"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}],"usage":{"prompt_tokens":3,"completion_tokens":1}}`,
		"", `[DONE]`)
	if s := feed(DialectOpenAI, OpChatCompletions, odd, nil); !s.Reported() || s.Usage() != (Usage{InputTokens: 3, OutputTokens: 1}) {
		t.Errorf("[DONE] after usage: reported %v, %+v", s.Reported(), s.Usage())
	}
}

func TestStreamResponsesTerminalEvents(t *testing.T) {
	usage := `"usage":{"input_tokens":81,"input_tokens_details":{"cached_tokens":64},"output_tokens":1035,"output_tokens_details":{"reasoning_tokens":832},"total_tokens":1116}`
	for _, typ := range []string{"response.completed", "response.incomplete", "response.failed"} {
		s := feed(DialectOpenAI, OpResponses, sse(
			"response.reasoning_summary_text.delta", `{"type":"response.reasoning_summary_text.delta","item_id":"rs_1","output_index":0,"summary_index":0,"delta":"**Thinking**"}`,
			typ, `{"type":"`+typ+`","sequence_number":9,"response":{"id":"resp_1","object":"response","status":"x",`+usage+`}}`), nil)
		want := Usage{InputTokens: 17, CachedInputTokens: 64, OutputTokens: 1035}
		if !s.Reported() || s.Usage() != want {
			t.Errorf("%s: reported %v, %+v; want %+v", typ, s.Reported(), s.Usage(), want)
		}
	}
	// A failure without usage leaves an estimate.
	s := feed(DialectOpenAI, OpResponses, sse(
		"response.output_text.delta", `{"type":"response.output_text.delta","delta":"Partial answer"}`,
		"response.failed", `{"type":"response.failed","response":{"id":"resp_1","status":"failed","error":{"code":"server_error","message":"x"},"usage":null}}`),
		readFixture(t, "openai_request_default.json"))
	if u := s.Usage(); s.Reported() || !u.Estimated || u.OutputTokens == 0 || u.InputTokens == 0 {
		t.Errorf("failed without usage: reported %v, %+v", s.Reported(), u)
	}
}

// Streams cut before the usage arrived are estimated: input from the
// provider when it sent it early, else from the request; output from the
// streamed text, never zero when text was delivered.
func TestStreamCut(t *testing.T) {
	openaiReq := readFixture(t, "openai_request_default.json")
	geminiReq := readFixture(t, "gemini_request.json")
	tests := []struct {
		name        string
		dialect, op string
		evs         []event
		req         []byte
		input       int64 // expected InputTokens
		minOut      int64
	}{
		{
			name: "openai chat cut before the usage chunk", dialect: DialectOpenAI, op: OpChatCompletions,
			evs: until(readEvents(t, "openai_chat_stream.sse"), `"choices":[]`), req: openaiReq,
			input: EstimateRequestTokens(DialectOpenAI, OpChatCompletions, openaiReq), minOut: 5,
		},
		{
			name: "openai responses cut before response.completed", dialect: DialectOpenAI, op: OpResponses,
			evs: until(readEvents(t, "openai_responses_stream.sse"), `response.output_text.done`), req: openaiReq,
			input: EstimateRequestTokens(DialectOpenAI, OpResponses, openaiReq), minOut: 5,
		},
		{
			name: "anthropic cut before message_delta: input from message_start", dialect: DialectAnthropic, op: OpMessages,
			evs: until(readEvents(t, "anthropic_stream_tool_use.sse"), `"message_delta"`), req: openaiReq,
			input: 472, minOut: 20,
		},
		{
			name: "anthropic cut mid tool input", dialect: DialectAnthropic, op: OpMessages,
			evs: until(readEvents(t, "anthropic_stream_tool_use.sse"), `renheit`), req: openaiReq,
			input: 472, minOut: 15,
		},
		{
			name: "gemini cut: the provider's partial count beats the text", dialect: DialectGemini, op: OpGenerateContent,
			evs: until(readEvents(t, "gemini_stream_thinking.sse"), `"candidatesTokenCount": 142`), req: geminiReq,
			input: 28, minOut: 95 + 1174,
		},
		{
			name: "anthropic stream with no usage at all", dialect: DialectAnthropic, op: OpMessages,
			evs: readEvents(t, "anthropic_stream_thinking.sse"), req: openaiReq,
			input: EstimateRequestTokens(DialectAnthropic, OpMessages, openaiReq), minOut: 30,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := feed(tt.dialect, tt.op, tt.evs, tt.req)
			if s.Reported() {
				t.Fatal("cut stream reported as complete")
			}
			u := s.Usage()
			if !u.Estimated {
				t.Error("not marked Estimated")
			}
			if u.InputTokens != tt.input || u.InputTokens <= 0 {
				t.Errorf("input %d, want %d (> 0)", u.InputTokens, tt.input)
			}
			if u.OutputTokens < tt.minOut {
				t.Errorf("output %d, want at least %d", u.OutputTokens, tt.minOut)
			}
		})
	}
}

// A stream cut before any content: no output, but the input is billed.
func TestStreamCutImmediately(t *testing.T) {
	req := readFixture(t, "openai_request_functions.json")
	for _, c := range []struct {
		dialect, op string
		evs         []event
	}{
		{DialectOpenAI, OpChatCompletions, nil},
		{DialectOpenAI, OpChatCompletions, until(readEvents(t, "openai_chat_stream.sse"), `"Hello"`)},
		{DialectOpenAI, OpResponses, until(readEvents(t, "openai_responses_stream.sse"), `output_text.delta`)},
		{DialectAnthropic, OpMessages, nil},
		{DialectGemini, OpGenerateContent, nil},
	} {
		s := feed(c.dialect, c.op, c.evs, req)
		u := s.Usage()
		if s.Reported() || !u.Estimated || u.OutputTokens != 0 || u.InputTokens <= 0 {
			t.Errorf("%s/%s after %d events: reported %v, %+v; want estimated, output 0, input > 0",
				c.dialect, c.op, len(c.evs), s.Reported(), u)
		}
		if want := EstimateRequestTokens(c.dialect, c.op, req); u.InputTokens != want {
			t.Errorf("%s/%s: input %d, want the request estimate %d", c.dialect, c.op, u.InputTokens, want)
		}
	}
}

func TestStreamOutputNeverZeroWhenContentDelivered(t *testing.T) {
	tests := []struct {
		dialect, op string
		ev          event
	}{
		{DialectOpenAI, OpChatCompletions, event{data: []byte(`{"choices":[{"index":0,"delta":{"content":"!"}}]}`)}},
		{DialectOpenAI, OpChatCompletions, event{data: []byte(`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":""}}]}}]}`)}},
		{DialectOpenAI, OpChatCompletions, event{data: []byte(`{"choices":[{"index":0,"delta":{"reasoning_content":"Hm"}}]}`)}},
		{DialectOpenAI, OpResponses, event{"response.function_call_arguments.delta", []byte(`{"type":"response.function_call_arguments.delta","delta":"{"}`)}},
		{DialectAnthropic, OpMessages, event{"content_block_delta", []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"x"}}`)}},
		{DialectGemini, OpGenerateContent, event{data: []byte(`{"candidates":[{"content":{"parts":[{"text":"a"}],"role":"model"}}]}`)}},
	}
	for _, tt := range tests {
		s := feed(tt.dialect, tt.op, []event{tt.ev}, nil)
		if u := s.Usage(); u.OutputTokens < 1 || !u.Estimated {
			t.Errorf("%s %s: %+v", tt.dialect, tt.ev.data, u)
		}
	}
}

func TestStreamCountTokensIsFree(t *testing.T) {
	s := NewStream(DialectAnthropic, OpCountTokens)
	s.SetRequest(readFixture(t, "openai_request_default.json"))
	s.Event("", readFixture(t, "anthropic_count_tokens.json"))
	if !s.Reported() || s.Usage() != (Usage{}) {
		t.Errorf("reported %v, %+v; want reported zero usage", s.Reported(), s.Usage())
	}
}

func TestStreamSetInputEstimate(t *testing.T) {
	s := NewStream(DialectOpenAI, OpChatCompletions)
	s.SetRequest(readFixture(t, "openai_request_default.json"))
	s.SetInputEstimate(1234)
	if u := s.Usage(); u.InputTokens != 1234 || !u.Estimated {
		t.Errorf("%+v", u)
	}
	s.SetInputEstimate(-1)
	if u := s.Usage(); u.InputTokens != 0 {
		t.Errorf("negative estimate: %+v", u)
	}
}

func TestStreamZeroAndUnknown(t *testing.T) {
	var zero Stream
	zero.Event("message_delta", []byte(`{"usage":{"output_tokens":5}}`))
	if zero.Reported() || zero.Usage() != (Usage{Estimated: true}) {
		t.Errorf("zero Stream: %v %+v", zero.Reported(), zero.Usage())
	}
	s := NewStream("cohere", "chat")
	s.SetRequest([]byte(`{"message":"hello there"}`))
	s.Event("", []byte(`{"text":"hi"}`))
	if u := s.Usage(); s.Reported() || u.InputTokens == 0 || u.OutputTokens != 0 {
		t.Errorf("unknown dialect: %+v", u)
	}
}

// The counted text of a stream is the text of its deltas, not of the
// protocol around them.
func TestStreamCountsOnlyGeneratedText(t *testing.T) {
	text := "Okay, let's check the weather for San Francisco, CA:"
	args := `{"location": "San Francisco, CA", "unit": "fahrenheit"}`
	want := EstimateTokens([]byte(text + "get_weather" + args))
	s := feed(DialectAnthropic, OpMessages, until(readEvents(t, "anthropic_stream_tool_use.sse"), `"message_delta"`), nil)
	if got := s.text.tokens(); got != want {
		t.Errorf("anthropic: counted %d tokens, want %d", got, want)
	}
	s = feed(DialectOpenAI, OpResponses, until(readEvents(t, "openai_responses_stream.sse"), `"response.completed"`), nil)
	if got, want := s.text.tokens(), EstimateTokens([]byte("Hi there! How can I assist you today?")); got != want {
		t.Errorf("responses: counted %d tokens, want %d", got, want)
	}
	s = feed(DialectOpenAI, OpChatCompletions, until(readEvents(t, "openai_chat_stream.sse"), `"choices":[]`), nil)
	if got, want := s.text.tokens(), EstimateTokens([]byte("Hello there, how may I assist you today?")); got != want {
		t.Errorf("chat: counted %d tokens, want %d", got, want)
	}
}

func TestStreamResponsesDeltaKinds(t *testing.T) {
	tests := []struct {
		typ     string
		counted bool
	}{
		{"response.output_text.delta", true},
		{"response.refusal.delta", true},
		{"response.reasoning_text.delta", true},
		{"response.reasoning_summary_text.delta", true},
		{"response.function_call_arguments.delta", true},
		{"response.custom_tool_call_input.delta", true},
		{"response.mcp_call_arguments.delta", true},
		{"response.code_interpreter_call_code.delta", true},
		{"response.audio.transcript.delta", true},
		{"response.audio.delta", false},
		{"response.output_audio.delta", false},
		{"response.output_text.done", false},
		{"response.output_item.done", false},
	}
	for _, tt := range tests {
		data := []byte(`{"type":"` + tt.typ + `","item_id":"x","output_index":0,"delta":"UklGRiQAAABXQVZFZm10IBAAAAABAAEA","text":"done text"}`)
		for _, name := range []string{tt.typ, ""} {
			s := NewStream(DialectOpenAI, OpResponses)
			s.Event(name, data)
			if got := !s.text.empty(); got != tt.counted {
				t.Errorf("%s (event name %q): counted %v, want %v", tt.typ, name, got, tt.counted)
			}
		}
	}
}

// Re-serialising proxies may change the member order of a chunk.
func TestStreamGeminiMemberOrder(t *testing.T) {
	s := feed(DialectGemini, OpGenerateContent, sse(
		"", `{"usageMetadata":{"totalTokenCount":19,"candidatesTokenCount":4,"promptTokenCount":15},
			"candidates":[{"finishReason":"STOP","index":0,"content":{"role":"model","parts":[{"text":"Paris."}]}}]}`), nil)
	if want := (Usage{InputTokens: 15, OutputTokens: 4}); !s.Reported() || s.Usage() != want {
		t.Errorf("reported %v, %+v; want %+v", s.Reported(), s.Usage(), want)
	}
	if s.text.empty() {
		t.Error("text not counted")
	}
}
