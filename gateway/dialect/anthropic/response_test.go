package anthropic

import (
	"errors"
	"reflect"
	"regexp"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
)

func TestDecodeResponseFixtures(t *testing.T) {
	tests := []struct {
		file string
		want llm.Response
	}{{
		file: "anthropic_message.json",
		want: llm.Response{ID: "msg_013Zva2CMHLNnXjNJJKqJ2EF", Model: "claude-3-5-sonnet-20240620",
			Parts: []llm.Part{text("Hi! My name is Claude.")}, Finish: llm.FinishStop,
			Usage: llm.Usage{Input: 2095, Output: 503}},
	}, {
		file: "anthropic_message_full_usage.json",
		want: llm.Response{ID: "msg_013Zva2CMHLNnXjNJJKqJ2EF", Model: "claude-opus-5",
			Parts: []llm.Part{text("Hi! My name is Claude.")}, Finish: llm.FinishStop,
			Usage: llm.Usage{Input: 2095 + 2051 + 2051, Output: 503, CacheRead: 2051, CacheWrite: 2051}},
	}, {
		file: "anthropic_message_tool_use.json",
		want: llm.Response{ID: "msg_01Aq9w938a90dw8q", Model: "claude-opus-4-7", Finish: llm.FinishToolCalls,
			Parts: []llm.Part{
				text("I'll check the current weather in San Francisco for you."),
				{Type: llm.PartToolCall, ID: "toolu_01A09q90qw90lq917835lq9", Name: "get_weather", Arguments: raw(`{"location":"San Francisco, CA","unit":"celsius"}`)},
			}},
	}, {
		file: "anthropic_message_recorded_tool_use.json",
		want: llm.Response{ID: "msg_014tfMBTf8yzH6aC9ohZ94k3", Model: "claude-3-7-sonnet-20250219", Finish: llm.FinishToolCalls,
			Parts: []llm.Part{
				text("I'll check the current weather in San Francisco for you."),
				{Type: llm.PartToolCall, ID: "toolu_01XKSJ1fM9PHM9vpwH1p7PDT", Name: "get_weather", Arguments: raw(`{"city":"San Francisco"}`)},
			},
			Usage: llm.Usage{Input: 395, Output: 67}},
	}}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var got llm.Response
			if err := DecodeResponse(fixture(t, tt.file), &got); err != nil {
				t.Fatal(err)
			}
			if g, w := canonResponse(got), canonResponse(tt.want); !reflect.DeepEqual(g, w) {
				t.Errorf("got  %s\nwant %s", show(g), show(w))
			}
		})
	}
}

func TestDecodeResponseVariants(t *testing.T) {
	body := `{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[
		{"type":"thinking","thinking":"Let me think","signature":"sig"},
		{"type":"redacted_thinking","data":"opaque"},
		{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{"query":"q"}},
		{"type":"web_search_tool_result","tool_use_id":"srvtoolu_1","content":[]},
		{"type":"text","text":"Done","citations":[{"type":"char_location","cited_text":"x"}]},
		{"type":"tool_use","id":"toolu_1","name":"f","input":null}],
		"stop_reason":"stop_sequence","stop_sequence":"###",
		"usage":{"input_tokens":10,"output_tokens":20,"output_tokens_details":{"thinking_tokens":7},"cache_read_input_tokens":null}}`
	var got llm.Response
	if err := DecodeResponse([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	want := llm.Response{ID: "msg_1", Model: "m", Finish: llm.FinishStopSequence, StopSequence: "###",
		Parts: []llm.Part{
			{Type: llm.PartThinking, Text: "Let me think", Signature: "sig"},
			{Type: llm.PartRedactedThinking, Signature: "opaque"},
			text("Done"),
			{Type: llm.PartToolCall, ID: "toolu_1", Name: "f", Arguments: raw(`{}`)},
		},
		Usage: llm.Usage{Input: 10, Output: 20, Reasoning: 7}}
	if g, w := canonResponse(got), canonResponse(want); !reflect.DeepEqual(g, w) {
		t.Errorf("got  %s\nwant %s", show(g), show(w))
	}

	for reason, finish := range map[string]llm.Finish{
		"end_turn": llm.FinishStop, "max_tokens": llm.FinishLength, "model_context_window_exceeded": llm.FinishLength,
		"tool_use": llm.FinishToolCalls, "refusal": llm.FinishRefusal, "pause_turn": llm.FinishPause, "something_new": llm.FinishStop,
	} {
		var r llm.Response
		if err := DecodeResponse([]byte(`{"type":"message","content":[],"stop_reason":"`+reason+`"}`), &r); err != nil {
			t.Fatal(err)
		}
		if r.Finish != finish {
			t.Errorf("stop_reason %s: got %s, want %s", reason, r.Finish, finish)
		}
	}
}

func TestDecodeResponseError(t *testing.T) {
	var r llm.Response
	err := DecodeResponse(fixture(t, "anthropic_error_invalid_request.json"), &r)
	var ue *llm.UpstreamError
	if !errors.As(err, &ue) || ue.Type != "invalid_request_error" || ue.Status != 400 {
		t.Fatalf("got %#v", err)
	}
	if err := DecodeResponse([]byte(`not json`), &r); err == nil {
		t.Fatal("no error for a body that is not JSON")
	}
}

func TestEncodeResponse(t *testing.T) {
	r := llm.Response{ID: "msg_1", Model: "gpt-4.1", Finish: llm.FinishStop,
		Parts: []llm.Part{
			{Type: llm.PartThinking, Text: "hmm"},
			text(""),
			text("Let me look."),
			{Type: llm.PartToolCall, ID: "call_abc", Name: "get_weather", Arguments: raw(`{"city": "Paris"}`)},
			{Type: llm.PartRedactedThinking, Signature: "opaque"},
		},
		Usage: llm.Usage{Input: 100, Output: 30, CacheRead: 60, CacheWrite: 10, Reasoning: 5}}
	got, err := EncodeResponse(&r, llm.ResponseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"msg_1","type":"message","role":"assistant","model":"gpt-4.1","content":[
		{"type":"thinking","thinking":"hmm","signature":""},
		{"type":"text","text":"Let me look."},
		{"type":"tool_use","id":"call_abc","name":"get_weather","input":{"city":"Paris"}},
		{"type":"redacted_thinking","data":"opaque"}],
		"stop_reason":"tool_use","stop_sequence":null,
		"usage":{"input_tokens":30,"cache_creation_input_tokens":10,"cache_read_input_tokens":60,"output_tokens":30}}`
	assertJSONEqual(t, got, []byte(want))

	// Field order as documented.
	if !regexp.MustCompile(`^\{"id":"msg_1","type":"message","role":"assistant","model":"gpt-4.1","content":\[`).Match(got) {
		t.Errorf("unexpected field order: %s", got)
	}
}

func TestEncodeResponseIDsAndReasons(t *testing.T) {
	r := llm.Response{Parts: []llm.Part{{Type: llm.PartToolCall, Name: "f"}}, Finish: llm.FinishStopSequence, StopSequence: "END"}
	got, err := EncodeResponse(&r, llm.ResponseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	msg := sdkMessage(t, got)
	if !regexp.MustCompile(`^msg_[0-9a-f]{24}$`).MatchString(msg.ID) || !regexp.MustCompile(`^toolu_[0-9a-f]{24}$`).MatchString(msg.Content[0].ID) {
		t.Errorf("made-up ids: %q %q", msg.ID, msg.Content[0].ID)
	}
	if msg.StopReason != "stop_sequence" || msg.StopSequence != "END" || string(msg.Content[0].Input) != "{}" {
		t.Errorf("got %s", got)
	}
	for finish, reason := range map[llm.Finish]string{
		llm.FinishStop: "end_turn", llm.FinishLength: "max_tokens", llm.FinishToolCalls: "tool_use",
		llm.FinishContentFilter: "refusal", llm.FinishRefusal: "refusal", llm.FinishPause: "pause_turn", "": "end_turn",
	} {
		b, err := EncodeResponse(&llm.Response{ID: "msg_x", Finish: finish}, llm.ResponseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var m anthropic.Message
		if err := m.UnmarshalJSON(b); err != nil {
			t.Fatal(err)
		}
		if string(m.StopReason) != reason {
			t.Errorf("finish %q: got %q, want %q", finish, m.StopReason, reason)
		}
	}
}

// TestEncodeResponseSDK has the SDK parse EncodeResponse's output of each
// documented answer, and checks it reads what the original says.
func TestEncodeResponseSDK(t *testing.T) {
	for _, file := range []string{"anthropic_message.json", "anthropic_message_full_usage.json", "anthropic_message_tool_use.json", "anthropic_message_recorded_tool_use.json"} {
		t.Run(file, func(t *testing.T) {
			orig := fixture(t, file)
			var r llm.Response
			if err := DecodeResponse(orig, &r); err != nil {
				t.Fatal(err)
			}
			out, err := EncodeResponse(&r, llm.ResponseOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got, want := sdkMessage(t, out), sdkMessage(t, orig)
			compareMessages(t, got, want)
		})
	}
}

// compareMessages compares what a client reads in two messages.
func compareMessages(t *testing.T, got, want *anthropic.Message) {
	t.Helper()
	if want.Type == "" {
		want.Type = "message" // the docs example leaves it out
	}
	if got.ID != want.ID || got.Model != want.Model || got.Role != want.Role || got.Type != want.Type {
		t.Errorf("header: got %s %s %s %s, want %s %s %s %s", got.ID, got.Model, got.Role, got.Type, want.ID, want.Model, want.Role, want.Type)
	}
	stop := want.StopReason
	if stop == "" {
		stop = "end_turn" // our answers always say why they stopped
	}
	if got.StopReason != stop || got.StopSequence != want.StopSequence {
		t.Errorf("stop: got %q %q, want %q %q", got.StopReason, got.StopSequence, stop, want.StopSequence)
	}
	gu, wu := got.Usage, want.Usage
	if gu.InputTokens != wu.InputTokens || gu.OutputTokens != wu.OutputTokens ||
		gu.CacheReadInputTokens != wu.CacheReadInputTokens || gu.CacheCreationInputTokens != wu.CacheCreationInputTokens {
		t.Errorf("usage: got %+v, want %+v", gu, wu)
	}
	if len(got.Content) != len(want.Content) {
		t.Fatalf("got %d blocks, want %d:\n got %s\nwant %s", len(got.Content), len(want.Content), got.RawJSON(), want.RawJSON())
	}
	for i := range got.Content {
		g, w := got.Content[i], want.Content[i]
		if g.Type != w.Type || g.Text != w.Text || g.Thinking != w.Thinking || g.Signature != w.Signature ||
			g.Data != w.Data || g.ID != w.ID || g.Name != w.Name {
			t.Errorf("block %d: got %s, want %s", i, g.RawJSON(), w.RawJSON())
		}
		if g.Type == "tool_use" && !reflect.DeepEqual(generic(t, g.Input), generic(t, w.Input)) {
			t.Errorf("block %d input: got %s, want %s", i, g.Input, w.Input)
		}
	}
}
