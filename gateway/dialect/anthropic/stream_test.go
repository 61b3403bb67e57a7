package anthropic

import (
	"reflect"
	"strings"
	"testing"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
)

// collapse joins consecutive deltas of one part, so that expectations do
// not depend on how the upstream split its text.
func collapse(events []llm.Event) []llm.Event {
	var out []llm.Event
	for _, e := range events {
		if n := len(out); n > 0 {
			last := &out[n-1]
			mergeable := e.Type == llm.EventText || e.Type == llm.EventToolArgs || (e.Type == llm.EventThinking && e.Signature == "" && last.Signature == "")
			if mergeable && last.Type == e.Type && last.Index == e.Index {
				last.Text += e.Text
				continue
			}
		}
		out = append(out, e)
	}
	return out
}

func TestDecodeStreamFixtures(t *testing.T) {
	tests := []struct {
		file string
		want []llm.Event
	}{{
		file: "anthropic_stream_text.sse",
		want: []llm.Event{
			{Type: llm.EventStart, ID: "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", Model: "claude-sonnet-4-5-20250929", Usage: llm.Usage{Input: 25, Output: 1}},
			{Type: llm.EventText, Index: 0, Text: "Hello!"},
			{Type: llm.EventFinish, Finish: llm.FinishStop},
			{Type: llm.EventUsage, Usage: llm.Usage{Input: 25, Output: 15}},
			{Type: llm.EventEnd},
		},
	}, {
		file: "anthropic_stream_tool_use.sse",
		want: []llm.Event{
			{Type: llm.EventStart, ID: "msg_014p7gG3wDgGV9EUtLvnow3U", Model: "claude-sonnet-4-5-20250929", Usage: llm.Usage{Input: 472, Output: 2}},
			{Type: llm.EventText, Index: 0, Text: "Okay, let's check the weather for San Francisco, CA:"},
			{Type: llm.EventToolCall, Index: 1, ID: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", Name: "get_weather"},
			{Type: llm.EventToolArgs, Index: 1, Text: `{"location": "San Francisco, CA", "unit": "fahrenheit"}`},
			{Type: llm.EventFinish, Finish: llm.FinishToolCalls},
			{Type: llm.EventUsage, Usage: llm.Usage{Input: 472, Output: 89}},
			{Type: llm.EventEnd},
		},
	}, {
		file: "anthropic_stream_thinking.sse",
		want: []llm.Event{
			{Type: llm.EventStart, ID: "msg_01...", Model: "claude-sonnet-4-5-20250929"},
			{Type: llm.EventThinking, Index: 0, Text: "Let me solve this step by step:\n\n1. First break down 27 * 453\n2. 453 = 400 + 50 + 3\n3. 27 * 400 = 10,800\n4. 27 * 50 = 1,350\n5. 27 * 3 = 81\n6. 10,800 + 1,350 + 81 = 12,231"},
			{Type: llm.EventThinking, Index: 0, Signature: "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds..."},
			{Type: llm.EventText, Index: 1, Text: "27 * 453 = 12,231"},
			{Type: llm.EventFinish, Finish: llm.FinishStop},
			{Type: llm.EventEnd},
		},
	}, {
		file: "anthropic_stream_error.sse",
		want: []llm.Event{{Type: llm.EventError, Error: &llm.UpstreamError{Type: "overloaded_error", Message: "Overloaded", Status: 529}}},
	}, {
		file: "anthropic_stream_recorded_tool_use.sse",
		want: []llm.Event{
			{Type: llm.EventStart, ID: "msg_01P7nF1bmxyzFZjF8zwbUDBM", Model: "claude-3-7-sonnet-20250219", Usage: llm.Usage{Input: 394, Output: 1}},
			{Type: llm.EventText, Index: 0, Text: "I'd be happy to check the weather in San Francisco for you. Let me get that information for you right away."},
			{Type: llm.EventToolCall, Index: 1, ID: "toolu_017QoD96fYwGzCWvLfaPADWg", Name: "get_weather"},
			{Type: llm.EventToolArgs, Index: 1, Text: `{"city": "San Francisco"}`},
			{Type: llm.EventFinish, Finish: llm.FinishToolCalls},
			{Type: llm.EventUsage, Usage: llm.Usage{Input: 394, Output: 79}},
			{Type: llm.EventEnd},
		},
	}, {
		file: "anthropic_stream_refusal_thinking.sse",
		want: []llm.Event{
			{Type: llm.EventStart, ID: "msg_primary", Model: "primary-model", Usage: llm.Usage{Input: 28, Output: 5}},
			{Type: llm.EventThinking, Index: 0, Text: "Simple educational question. Benign."},
			{Type: llm.EventThinking, Index: 0, Signature: "sig-thinking-a"},
			{Type: llm.EventText, Index: 1, Text: "Hi"},
			{Type: llm.EventFinish, Finish: llm.FinishRefusal},
			{Type: llm.EventUsage, Usage: llm.Usage{Input: 28, Output: 106, Reasoning: 67}},
			{Type: llm.EventEnd},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got := collapse(decodeStream(t, fixture(t, tt.file)))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", show(got), show(tt.want))
			}
		})
	}
}

func TestDecodeStreamEdgeCases(t *testing.T) {
	stream := "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"m\",\"usage\":{\"input_tokens\":5,\"cache_read_input_tokens\":100,\"cache_creation_input_tokens\":20,\"output_tokens\":0}}}\n\n" +
		// an empty text block takes no part index
		"data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
		"data: {\"type\":\"content_block_stop\",\"index\":0}\n\n" +
		// a server tool block is skipped, its input too
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"server_tool_use\",\"id\":\"srvtoolu_1\",\"name\":\"web_search\",\"input\":{}}}\n\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"q\\\":1}\"}}\n\n" +
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n" +
		// a tool call whose input came whole at the start, one with none
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_a\",\"name\":\"f\",\"input\":{\"x\":1}}}\n\n" +
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":2}\n\n" +
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":3,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_b\",\"name\":\"g\",\"input\":{}}}\n\n" +
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":3}\n\n" +
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":4,\"content_block\":{\"type\":\"redacted_thinking\",\"data\":\"opaque\"}}\n\n" +
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":4}\n\n" +
		"event: ping\ndata: {\"type\": \"ping\"}\n\n" +
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"stop_sequence\",\"stop_sequence\":\"###\"},\"usage\":{\"output_tokens\":9,\"input_tokens\":null}}\n\n" +
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
	got := decodeStream(t, []byte(stream))
	want := []llm.Event{
		{Type: llm.EventStart, ID: "msg_1", Model: "m", Usage: llm.Usage{Input: 125, CacheRead: 100, CacheWrite: 20}},
		{Type: llm.EventToolCall, Index: 0, ID: "toolu_a", Name: "f"},
		{Type: llm.EventToolArgs, Index: 0, Text: `{"x":1}`},
		{Type: llm.EventToolCall, Index: 1, ID: "toolu_b", Name: "g"},
		{Type: llm.EventToolArgs, Index: 1, Text: `{}`},
		{Type: llm.EventRedactedThinking, Index: 2, Signature: "opaque"},
		{Type: llm.EventFinish, Finish: llm.FinishStopSequence, StopSequence: "###"},
		{Type: llm.EventUsage, Usage: llm.Usage{Input: 125, Output: 9, CacheRead: 100, CacheWrite: 20}},
		{Type: llm.EventEnd},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%s\nwant\n%s", show(got), show(want))
	}

	d := NewStreamDecoder()
	if err := d.Decode("content_block_delta", []byte(`{"type":`), func(*llm.Event) {}); err == nil {
		t.Error("no error for a malformed event")
	}
	var ev []llm.Event
	if err := d.Decode("error", []byte(`upstream exploded`), func(e *llm.Event) { ev = append(ev, *e) }); err != nil || len(ev) != 1 || ev[0].Type != llm.EventError {
		t.Errorf("non-JSON error event: %v %v", err, ev)
	}
}

func TestEncodeStreamExact(t *testing.T) {
	events := []llm.Event{
		{Type: llm.EventStart, ID: "msg_1", Model: "m", Usage: llm.Usage{Input: 30, CacheRead: 10}},
		{Type: llm.EventText, Index: 0, Text: "Hi "},
		{Type: llm.EventText, Index: 0, Text: "<there>\n"},
		{Type: llm.EventToolCall, Index: 1, ID: "call_1", Name: "f"},
		{Type: llm.EventToolArgs, Index: 1, Text: `{"a":`},
		{Type: llm.EventToolArgs, Index: 1, Text: `1}`},
		{Type: llm.EventUsage, Usage: llm.Usage{Input: 30, CacheRead: 10, Output: 12}},
		{Type: llm.EventFinish, Finish: llm.FinishStop},
		{Type: llm.EventEnd},
		{Type: llm.EventText, Index: 2, Text: "ignored after the end"},
	}
	want := `event: message_start
data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":20,"cache_creation_input_tokens":0,"cache_read_input_tokens":10,"output_tokens":0}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi "}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"<there>\n"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"call_1","name":"f","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"1}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"input_tokens":20,"cache_creation_input_tokens":0,"cache_read_input_tokens":10,"output_tokens":12}}

event: message_stop
data: {"type":"message_stop"}

`
	if got := string(encodeStream(events)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestStreamSDK decodes each documented stream, encodes the events again
// and has the SDK accumulate both: a client must read the same message.
func TestStreamSDK(t *testing.T) {
	for _, file := range []string{
		"anthropic_stream_text.sse", "anthropic_stream_tool_use.sse", "anthropic_stream_thinking.sse",
		"anthropic_stream_recorded_tool_use.sse", "anthropic_stream_refusal_thinking.sse",
	} {
		t.Run(file, func(t *testing.T) {
			orig := fixture(t, file)
			want, err := sdkAccumulate(t, orig)
			if err != nil {
				t.Fatal(err)
			}
			if len(want.Content) == 0 {
				t.Fatal("the SDK read no content from the fixture")
			}
			out := encodeStream(decodeStream(t, orig))
			got, err := sdkAccumulate(t, out)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			compareMessages(t, &got, &want)
		})
	}
}

func TestEncodeStreamSDKCases(t *testing.T) {
	t.Run("lazy start, thinking, interleaved tool calls", func(t *testing.T) {
		out := encodeStream([]llm.Event{
			{Type: llm.EventThinking, Index: 0, Text: "think"},
			{Type: llm.EventThinking, Index: 0, Signature: "sig"},
			{Type: llm.EventRedactedThinking, Index: 1, Signature: "opaque"},
			{Type: llm.EventToolCall, Index: 2, ID: "call_a", Name: "f"},
			{Type: llm.EventToolCall, Index: 3, Name: "g"},
			{Type: llm.EventToolArgs, Index: 2, Text: `{"x":`},
			{Type: llm.EventToolArgs, Index: 3, Text: `{}`},
			{Type: llm.EventToolArgs, Index: 2, Text: `1}`},
			{Type: llm.EventUsage, Usage: llm.Usage{Output: 7}},
			{Type: llm.EventFinish, Finish: llm.FinishStop},
			{Type: llm.EventEnd},
		})
		if !strings.HasPrefix(string(out), "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_") {
			t.Fatalf("no lazy message_start:\n%s", out)
		}
		msg, err := sdkAccumulate(t, out)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if len(msg.Content) != 4 || msg.Content[0].Thinking != "think" || msg.Content[0].Signature != "sig" ||
			msg.Content[1].Data != "opaque" || msg.Content[2].ID != "call_a" || string(msg.Content[2].Input) != `{"x":1}` ||
			!strings.HasPrefix(msg.Content[3].ID, "toolu_") || msg.Content[3].Name != "g" || string(msg.Content[3].Input) != `{}` {
			t.Errorf("got %s\nfrom\n%s", msg.RawJSON(), out)
		}
		if msg.StopReason != "tool_use" || msg.Usage.OutputTokens != 7 {
			t.Errorf("stop %q usage %+v", msg.StopReason, msg.Usage)
		}
	})
	t.Run("error mid-stream", func(t *testing.T) {
		out := encodeStream([]llm.Event{
			{Type: llm.EventStart, ID: "msg_1", Model: "m"},
			{Type: llm.EventText, Index: 0, Text: "partial"},
			{Type: llm.EventError, Error: &llm.UpstreamError{Type: "RESOURCE_EXHAUSTED", Message: "quota", Status: 429}},
			{Type: llm.EventEnd},
		})
		if !strings.HasSuffix(string(out), "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"quota\"}}\n\n") {
			t.Fatalf("got\n%s", out)
		}
		_, err := sdkAccumulate(t, out)
		if err == nil || !strings.Contains(err.Error(), "quota") {
			t.Errorf("SDK error: %v", err)
		}
	})
	t.Run("stop sequence and cache usage", func(t *testing.T) {
		out := encodeStream([]llm.Event{
			{Type: llm.EventStart, ID: "msg_1", Model: "m", Usage: llm.Usage{Input: 100, CacheRead: 80, CacheWrite: 5}},
			{Type: llm.EventText, Index: 0, Text: "a"},
			{Type: llm.EventFinish, Finish: llm.FinishStopSequence, StopSequence: "###"},
			{Type: llm.EventUsage, Usage: llm.Usage{Input: 100, CacheRead: 80, CacheWrite: 5, Output: 3}},
			{Type: llm.EventEnd},
		})
		msg, err := sdkAccumulate(t, out)
		if err != nil {
			t.Fatal(err)
		}
		if msg.StopReason != "stop_sequence" || msg.StopSequence != "###" || msg.Usage.InputTokens != 15 ||
			msg.Usage.CacheReadInputTokens != 80 || msg.Usage.CacheCreationInputTokens != 5 || msg.Usage.OutputTokens != 3 {
			t.Errorf("got %s", msg.RawJSON())
		}
	})
}
