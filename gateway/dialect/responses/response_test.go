package responses

import (
	"encoding/json"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/openai/openai-go/v3/responses"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
)

// echoFields are the response object's fields that echo the request (or
// server state), and the IDs the encoder makes up: only their presence is
// checked against the reference.
var echoFields = map[string]bool{
	"completed_at": true, "instructions": true, "reasoning": true, "store": true, "temperature": true,
	"top_p": true, "tools": true, "text": true, "service_tier": true, "id": true, "item_id": true,
}

// conforms checks that got has every key the reference want has (at every
// depth), with equal values except for echo fields and item IDs.
func conforms(t *testing.T, path string, got, want any) {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			t.Errorf("%s: got %T, want an object", path, got)
			return
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				t.Errorf("%s.%s: missing", path, k)
				continue
			}
			if echoFields[k] {
				continue
			}
			conforms(t, path+"."+k, gv, wv)
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			t.Errorf("%s: got %v, want %d elements", path, got, len(w))
			return
		}
		for i := range w {
			conforms(t, path+"["+strconv.Itoa(i)+"]", g[i], w[i])
		}
	default:
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %v, want %v", path, got, want)
		}
	}
}

func unmarshalMap(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	return m
}

// TestEncodeResponseReferenceExamples encodes the answers of the API
// reference examples and compares them with the reference, then reads
// them with the official SDK.
func TestEncodeResponseReferenceExamples(t *testing.T) {
	tests := []struct {
		fixture string
		resp    llm.Response
		text    string
	}{
		{"response_text_input.json", llm.Response{
			ID: "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b", Model: "gpt-4.1-2025-04-14",
			Parts:  []llm.Part{text("In a peaceful grove beneath a silver moon, a unicorn named Lumina discovered a hidden pool that reflected the stars. As she dipped her horn into the water, the pool began to shimmer, revealing a pathway to a magical realm of endless night skies. Filled with wonder, Lumina whispered a wish for all who dream to find their own hidden magic, and as she glanced back, her hoofprints sparkled like stardust.")},
			Finish: llm.FinishStop, Usage: llm.Usage{Input: 36, Output: 87},
		}, "In a peaceful grove"},
		{"response_functions.json", llm.Response{
			ID: "resp_67ca09c5efe0819096d0511c92b8c890096610f474011cc0", Model: "gpt-4.1-2025-04-14",
			Parts:  []llm.Part{{Type: llm.PartToolCall, ID: "call_unLAR8MvFNptuiZK6K6HCy5k", Name: "get_current_weather", Arguments: jsontext.Value(`{"location":"Boston, MA","unit":"celsius"}`)}},
			Finish: llm.FinishToolCalls, Usage: llm.Usage{Input: 291, Output: 23},
		}, ""},
		{"response_reasoning.json", llm.Response{
			ID: "resp_67ccd7eca01881908ff0b5146584e408072912b2993db808", Model: "o1-2024-12-17",
			Parts:  []llm.Part{text("The classic tongue twister...")},
			Finish: llm.FinishStop, Usage: llm.Usage{Input: 81, Output: 1035, Reasoning: 832},
		}, "The classic tongue twister..."},
		{"response_python_snapshot.json", llm.Response{
			ID: "resp_689a0b2545288193953c892439b42e2800b2e36c65a1fd4b", Model: "gpt-4o-mini-2024-07-18",
			Parts:  []llm.Part{text("I can't provide real-time updates, but you can easily check the current weather in San Francisco using a weather website or app. Typically, San Francisco has cool, foggy summers and mild winters, so it's good to be prepared for variable weather!")},
			Finish: llm.FinishStop, Usage: llm.Usage{Input: 14, Output: 50},
		}, "I can't provide real-time updates"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			ref := unmarshalMap(t, fixture(t, tt.fixture))
			b, err := EncodeResponse(&tt.resp, llm.ResponseOptions{Created: int64(ref["created_at"].(float64))})
			if err != nil {
				t.Fatal(err)
			}
			got := unmarshalMap(t, b)
			conforms(t, "response", got, ref)
			if got["id"] != ref["id"] {
				t.Errorf("id = %v, want %v", got["id"], ref["id"])
			}

			var sdk responses.Response
			if err := json.Unmarshal(b, &sdk); err != nil {
				t.Fatalf("the SDK cannot read the response: %v", err)
			}
			if !strings.HasPrefix(sdk.OutputText(), tt.text) {
				t.Errorf("OutputText() = %q, want prefix %q", sdk.OutputText(), tt.text)
			}
			if sdk.Status != responses.ResponseStatusCompleted || sdk.Usage.TotalTokens != tt.resp.Usage.Input+tt.resp.Usage.Output ||
				sdk.Usage.OutputTokensDetails.ReasoningTokens != tt.resp.Usage.Reasoning {
				t.Errorf("status/usage = %v %+v", sdk.Status, sdk.Usage)
			}
			for _, it := range sdk.Output {
				if it.AsAny() == nil {
					t.Errorf("the SDK does not know output item %s", it.RawJSON())
				}
			}
		})
	}
}

// TestEncodeResponseStatus maps the finish reasons.
func TestEncodeResponseStatus(t *testing.T) {
	now = func() int64 { return 1700000099 }
	defer func() { now = nowDefault }()
	tests := []struct {
		finish      llm.Finish
		status      string
		reason      string
		lastStatus  string
		completedAt bool
	}{
		{llm.FinishStop, "completed", "", "completed", true},
		{llm.FinishStopSequence, "completed", "", "completed", true},
		{llm.FinishToolCalls, "completed", "", "completed", true},
		{llm.FinishPause, "completed", "", "completed", true},
		{"", "completed", "", "completed", true},
		{llm.FinishLength, "incomplete", "max_output_tokens", "incomplete", false},
		{llm.FinishContentFilter, "incomplete", "content_filter", "incomplete", false},
		{llm.FinishRefusal, "incomplete", "content_filter", "incomplete", false},
	}
	for _, tt := range tests {
		t.Run(string(tt.finish), func(t *testing.T) {
			r := llm.Response{ID: "x", Model: "m", Finish: tt.finish, Parts: []llm.Part{text("a"), text("b")}}
			b, err := EncodeResponse(&r, llm.ResponseOptions{Created: 1700000000})
			if err != nil {
				t.Fatal(err)
			}
			var sdk responses.Response
			if err := json.Unmarshal(b, &sdk); err != nil {
				t.Fatal(err)
			}
			if string(sdk.Status) != tt.status || sdk.IncompleteDetails.Reason != tt.reason {
				t.Errorf("status = %q reason = %q, want %q %q", sdk.Status, sdk.IncompleteDetails.Reason, tt.status, tt.reason)
			}
			if got := sdk.JSON.IncompleteDetails.Raw(); tt.reason == "" && got != "null" {
				t.Errorf("incomplete_details = %s, want null", got)
			}
			if got := sdk.CompletedAt != 0; got != tt.completedAt {
				t.Errorf("completed_at = %v", sdk.CompletedAt)
			}
			if s := sdk.Output[0].Status; s != "completed" {
				t.Errorf("first item status = %q", s)
			}
			if s := sdk.Output[1].Status; s != tt.lastStatus {
				t.Errorf("last item status = %q, want %q", s, tt.lastStatus)
			}
		})
	}
}

var nowDefault = now

// TestEncodeResponseParts checks every kind of part, and that sending the
// output back as input (stateless multi-turn use) restores the thinking
// signatures, redacted thinking and tool calls.
func TestEncodeResponseParts(t *testing.T) {
	r := llm.Response{
		ID: "msg_01abc", Model: "claude-sonnet-4-5",
		Parts: []llm.Part{
			{Type: llm.PartThinking, Text: "Let me think.", Signature: "EqQBCkYIARgCKkA="},
			{Type: llm.PartRedactedThinking, Signature: "EmwKAhgBEgy3va3pzix"},
			text("I'll check."),
			{Type: llm.PartImage, MediaType: "image/png", Data: "QUJD"},
			{Type: llm.PartToolCall, ID: "toolu_01", Name: "get_weather", Arguments: jsontext.Value(`{"city":"Paris"}`)},
			{Type: llm.PartToolCall, Name: "now"},
		},
		Finish: llm.FinishToolCalls,
		Usage:  llm.Usage{Input: 100, Output: 50, CacheRead: 60, CacheWrite: 10, Reasoning: 20},
	}
	b, err := EncodeResponse(&r, llm.ResponseOptions{Created: 1700000000})
	if err != nil {
		t.Fatal(err)
	}
	var sdk responses.Response
	if err := json.Unmarshal(b, &sdk); err != nil {
		t.Fatal(err)
	}
	if sdk.ID != "resp_msg_01abc" || sdk.Model != "claude-sonnet-4-5" || sdk.CreatedAt != 1700000000 {
		t.Errorf("id/model/created = %q %q %v", sdk.ID, sdk.Model, sdk.CreatedAt)
	}
	if u := sdk.Usage; u.InputTokens != 100 || u.InputTokensDetails.CachedTokens != 60 || u.OutputTokens != 50 ||
		u.OutputTokensDetails.ReasoningTokens != 20 || u.TotalTokens != 150 {
		t.Errorf("usage = %+v", u)
	}
	var types []string
	for _, it := range sdk.Output {
		types = append(types, it.Type)
	}
	if want := []string{"reasoning", "reasoning", "message", "function_call", "function_call"}; !slices.Equal(types, want) {
		t.Fatalf("output types = %v, want %v", types, want)
	}
	rs := sdk.Output[0].AsReasoning()
	if rs.ID != "rs_msg_01abc_0" || len(rs.Summary) != 1 || rs.Summary[0].Text != "Let me think." || rs.EncryptedContent != thinkingPrefix+"EqQBCkYIARgCKkA=" {
		t.Errorf("reasoning = %s", sdk.Output[0].RawJSON())
	}
	if rd := sdk.Output[1].AsReasoning(); len(rd.Summary) != 0 || rd.EncryptedContent != redactedPrefix+"EmwKAhgBEgy3va3pzix" {
		t.Errorf("redacted = %s", sdk.Output[1].RawJSON())
	}
	if sdk.OutputText() != "I'll check." {
		t.Errorf("OutputText() = %q", sdk.OutputText())
	}
	fc := sdk.Output[3].AsFunctionCall()
	if fc.ID != "fc_msg_01abc_3" || fc.CallID != "toolu_01" || fc.Name != "get_weather" || fc.Arguments != `{"city":"Paris"}` || fc.Status != "completed" {
		t.Errorf("function call = %s", sdk.Output[3].RawJSON())
	}
	if fc := sdk.Output[4].AsFunctionCall(); fc.CallID != "call_msg_01abc_4" || fc.Arguments != "{}" {
		t.Errorf("function call without id/arguments = %s", sdk.Output[4].RawJSON())
	}

	// Stateless multi-turn: the client appends the output to its input.
	m := unmarshalMap(t, b)
	input := append([]any{map[string]any{"role": "user", "content": "Weather in Paris?"}}, m["output"].([]any)...)
	input = append(input, map[string]any{"type": "function_call_output", "call_id": "toolu_01", "output": "sunny"})
	next, _ := json.Marshal(map[string]any{"model": "claude-sonnet-4-5", "input": input})
	got, err := decode(t, next)
	if err != nil {
		t.Fatal(err)
	}
	want := llm.Request{Model: "claude-sonnet-4-5", Messages: []llm.Message{
		user(text("Weather in Paris?")),
		assistant(
			llm.Part{Type: llm.PartThinking, Text: "Let me think.", Signature: "EqQBCkYIARgCKkA="},
			llm.Part{Type: llm.PartRedactedThinking, Signature: "EmwKAhgBEgy3va3pzix"},
			text("I'll check."),
			llm.Part{Type: llm.PartToolCall, ID: "toolu_01", Name: "get_weather", Arguments: jsontext.Value(`{"city":"Paris"}`)},
			llm.Part{Type: llm.PartToolCall, ID: "call_msg_01abc_4", Name: "now", Arguments: jsontext.Value(`{}`)}),
		user(llm.Part{Type: llm.PartToolResult, ID: "toolu_01", Name: "get_weather", Content: []llm.Part{text("sunny")}}),
	}}
	checkRequest(t, got, &want)
}

func TestResponseIDs(t *testing.T) {
	if x := newIDs("resp_abc"); x.response != "resp_abc" || x.item("msg_", 2) != "msg_abc_2" {
		t.Errorf("resp_ id: %+v", x)
	}
	if x := newIDs("msg_01"); x.response != "resp_msg_01" {
		t.Errorf("upstream id: %+v", x)
	}
	a, b := newIDs(""), newIDs("")
	if !regexp.MustCompile(`^resp_[0-9a-f]{32}$`).MatchString(a.response) || a.response == b.response {
		t.Errorf("made-up ids: %q %q", a.response, b.response)
	}
}
