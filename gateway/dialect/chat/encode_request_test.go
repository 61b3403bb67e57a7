package chat

import (
	"errors"
	"strings"
	"testing"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
)

const testModel = "gpt-4.1-mini"

// TestRequestFixturesRoundTrip reads the documented requests and writes
// them back: the result is the same request, up to the documented
// normalisations (developer -> system, max_tokens -> max_completion_tokens,
// the upstream model, compact arguments, tool_choice auto kept).
func TestRequestFixturesRoundTrip(t *testing.T) {
	tests := []struct {
		file string
		want string
	}{
		{"openai_request_default.json", `{"model":"gpt-4.1-mini","messages":[
			{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Hello!"}]}`},
		{"openai_request_stream.json", `{"model":"gpt-4.1-mini","messages":[
			{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Hello!"}],
			"stream":true,"stream_options":{"include_usage":true}}`},
		{"openai_request_image.json", `{"model":"gpt-4.1-mini","messages":[{"role":"user","content":[
			{"type":"text","text":"What is in this image?"},
			{"type":"image_url","image_url":{"url":"https://upload.wikimedia.org/wikipedia/commons/thumb/d/dd/Gfp-wisconsin-madison-the-nature-boardwalk.jpg/2560px-Gfp-wisconsin-madison-the-nature-boardwalk.jpg"}}]}],
			"max_completion_tokens":300}`},
		{"openai_request_functions.json", `{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"What is the weather like in Boston today?"}],
			"tools":[{"type":"function","function":{"name":"get_current_weather","description":"Get the current weather in a given location","parameters":` + weatherSchema + `}}],
			"tool_choice":"auto"}`},
		{"openai_request_tool_history.json", `{"model":"gpt-4.1-mini","messages":[
			{"role":"user","content":"What is the weather like in Boston today?"},
			{"role":"assistant","tool_calls":[{"id":"call_abc123","type":"function","function":{"name":"get_current_weather","arguments":"{\"location\":\"Boston, MA\"}"}}]},
			{"role":"tool","tool_call_id":"call_abc123","content":"{\"temperature\": 22, \"unit\": \"celsius\", \"description\": \"Sunny\"}"}],
			"tools":[{"type":"function","function":{"name":"get_current_weather","description":"Get the current weather in a given location","parameters":` + weatherSchema + `}}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var r llm.Request
			if err := DecodeRequest(fixture(t, tt.file), &r); err != nil {
				t.Fatalf("DecodeRequest: %v", err)
			}
			got, err := EncodeRequest(&r, llm.EncodeOptions{Model: testModel, DefaultMaxTokens: 4096})
			if err != nil {
				t.Fatalf("EncodeRequest: %v", err)
			}
			assertJSONEqual(t, got, []byte(tt.want))
		})
	}
}

func TestEncodeRequest(t *testing.T) {
	img := llm.Part{Type: llm.PartImage, MediaType: "image/png", Data: "iVBORw0KGgo="}
	think := llm.Part{Type: llm.PartThinking, Text: "hmm", Signature: "sig"}
	tests := []struct {
		name string
		req  llm.Request
		want string
	}{
		{
			name: "system parts, several texts as an array, images, thinking dropped",
			req: llm.Request{
				System: []llm.Part{text("Be brief."), text("Answer in French.")},
				Messages: []llm.Message{
					user(text("Look:"), img, llm.Part{Type: llm.PartImage, URL: "https://example.com/a.jpg"}),
					assistant(think, text("Une image."), llm.Part{Type: llm.PartRedactedThinking, Signature: "x"}),
					assistant(think),
					user(text("Merci"), text("!")),
				},
			},
			want: `{"model":"gpt-4.1-mini","messages":[
				{"role":"system","content":[{"type":"text","text":"Be brief."},{"type":"text","text":"Answer in French."}]},
				{"role":"user","content":[{"type":"text","text":"Look:"},
					{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},
					{"type":"image_url","image_url":{"url":"https://example.com/a.jpg"}}]},
				{"role":"assistant","content":"Une image."},
				{"role":"user","content":[{"type":"text","text":"Merci"},{"type":"text","text":"!"}]}]}`,
		},
		{
			name: "tool calls and results: tool messages first, images of results carried to a user message",
			req: llm.Request{
				Messages: []llm.Message{
					user(text("Weather and a screenshot?")),
					assistant(text("Checking."), call("toolu_1", "get_weather", `{"location": "Paris"}`),
						llm.Part{Type: llm.PartToolCall, ID: "toolu_2", Name: "screenshot"}),
					user(result("toolu_1", "get_weather", text("18C"), text("sunny")),
						llm.Part{Type: llm.PartToolResult, ID: "toolu_2", IsError: true, Content: []llm.Part{img}},
						text("Thanks")),
				},
			},
			want: `{"model":"gpt-4.1-mini","messages":[
				{"role":"user","content":"Weather and a screenshot?"},
				{"role":"assistant","content":"Checking.","tool_calls":[
					{"id":"toolu_1","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"Paris\"}"}},
					{"id":"toolu_2","type":"function","function":{"name":"screenshot","arguments":"{}"}}]},
				{"role":"tool","tool_call_id":"toolu_1","content":[{"type":"text","text":"18C"},{"type":"text","text":"sunny"}]},
				{"role":"tool","tool_call_id":"toolu_2","content":""},
				{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},{"type":"text","text":"Thanks"}]}]}`,
		},
		{
			name: "every parameter",
			req: llm.Request{
				Model:    "claude-sonnet-4-5",
				Messages: []llm.Message{user(text("hi"))},
				Tools: []llm.Tool{{Name: "f", Description: "d", Parameters: raw(`{"type":"object"}`)},
					{Name: "g"}},
				ToolChoice:        llm.ToolChoice{Mode: llm.ToolRequired},
				ParallelToolCalls: ptr(false),
				MaxTokens:         1000,
				Temperature:       ptr(0.0),
				TopP:              ptr(0.5),
				TopK:              ptr(int64(40)),
				PresencePenalty:   ptr(0.1),
				FrequencyPenalty:  ptr(0.2),
				Seed:              ptr(int64(7)),
				Stop:              []string{"END"},
				Stream:            true,
				IncludeUsage:      false,
				User:              "u-1",
				Reasoning:         &llm.Reasoning{Effort: "low"},
				ResponseFormat:    &llm.ResponseFormat{Type: "json_schema", Schema: raw(`{"type":"object"}`), Strict: true},
			},
			want: `{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"hi"}],
				"tools":[{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object"}}},
					{"type":"function","function":{"name":"g"}}],
				"tool_choice":"required","parallel_tool_calls":false,
				"response_format":{"type":"json_schema","json_schema":{"name":"response","schema":{"type":"object"},"strict":true}},
				"reasoning_effort":"low","max_completion_tokens":1000,"temperature":0,"top_p":0.5,
				"presence_penalty":0.1,"frequency_penalty":0.2,"seed":7,"stop":["END"],"user":"u-1",
				"stream":true,"stream_options":{"include_usage":true}}`,
		},
		{
			name: "tool choice and parallel calls are not sent without tools",
			req:  llm.Request{Messages: []llm.Message{user(text("hi"))}, ToolChoice: llm.ToolChoice{Mode: llm.ToolNone}, ParallelToolCalls: ptr(true), Candidates: 1},
			want: `{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"hi"}]}`,
		},
		{
			name: "named tool choice",
			req:  llm.Request{Messages: []llm.Message{user(text("hi"))}, Tools: []llm.Tool{{Name: "f"}}, ToolChoice: llm.ToolChoice{Mode: llm.ToolNamed, Name: "f"}},
			want: `{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}],
				"tool_choice":{"type":"function","function":{"name":"f"}}}`,
		},
		{
			name: "allowed tools",
			req:  llm.Request{Messages: []llm.Message{user(text("hi"))}, Tools: []llm.Tool{{Name: "f"}, {Name: "g"}}, ToolChoice: llm.ToolChoice{Allowed: []string{"g"}}},
			want: `{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}},{"type":"function","function":{"name":"g"}}],
				"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":[{"type":"function","function":{"name":"g"}}]}}}`,
		},
		{
			name: "thinking budgets become efforts, disabled sends nothing",
			req:  llm.Request{Messages: []llm.Message{user(text("hi"))}, Reasoning: &llm.Reasoning{BudgetTokens: 1024}, ResponseFormat: &llm.ResponseFormat{Type: "json_object"}},
			want: `{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"hi"}],"reasoning_effort":"low","response_format":{"type":"json_object"}}`,
		},
		{
			name: "medium budget",
			req:  llm.Request{Messages: []llm.Message{user(text("hi"))}, Reasoning: &llm.Reasoning{BudgetTokens: 8192}},
			want: `{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"hi"}],"reasoning_effort":"medium"}`,
		},
		{
			name: "high budget",
			req:  llm.Request{Messages: []llm.Message{user(text("hi"))}, Reasoning: &llm.Reasoning{BudgetTokens: 8193}},
			want: `{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"hi"}],"reasoning_effort":"high"}`,
		},
		{
			name: "disabled",
			req:  llm.Request{Messages: []llm.Message{user(text("hi"))}, Reasoning: &llm.Reasoning{Disabled: true, BudgetTokens: 9000}},
			want: `{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"hi"}]}`,
		},
		{
			name: "strings are not HTML-escaped",
			req:  llm.Request{Messages: []llm.Message{user(text("<b>&</b>"))}},
			want: `{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"<b>&</b>"}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			model := testModel
			if strings.Contains(tt.want, "reasoning_effort") {
				// Only reasoning models take reasoning_effort.
				model = "o4-mini"
				tt.want = strings.Replace(tt.want, `"model":"gpt-4.1-mini"`, `"model":"o4-mini"`, 1)
			}
			got, err := EncodeRequest(&tt.req, llm.EncodeOptions{Model: model})
			if err != nil {
				t.Fatalf("EncodeRequest: %v", err)
			}
			assertJSONEqual(t, got, []byte(tt.want))
		})
	}
}

func TestEncodeRequestNoHTMLEscape(t *testing.T) {
	r := llm.Request{Messages: []llm.Message{user(text("<b>&</b>"))}}
	got, err := EncodeRequest(&r, llm.EncodeOptions{Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"model":"m","messages":[{"role":"user","content":"<b>&</b>"}]}`; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestEncodeRequestErrors(t *testing.T) {
	hi := user(text("hi"))
	tests := []struct {
		name string
		req  llm.Request
		msg  string
	}{
		{"image in system", llm.Request{System: []llm.Part{{Type: llm.PartImage, URL: "https://x"}}, Messages: []llm.Message{hi}}, "system instructions"},
		{"image in assistant message", llm.Request{Messages: []llm.Message{hi, assistant(llm.Part{Type: llm.PartImage, URL: "https://x"})}}, "message 1"},
		{"tool call in user message", llm.Request{Messages: []llm.Message{user(call("c", "f", `{}`))}}, "message 0"},
		{"tool call without ID", llm.Request{Messages: []llm.Message{hi, assistant(call("", "f", `{}`))}}, "no ID"},
		{"tool call with array arguments", llm.Request{Messages: []llm.Message{hi, assistant(call("c", "f", `[1]`))}}, "JSON object"},
		{"tool result without ID", llm.Request{Messages: []llm.Message{user(result("", "f"))}}, "no tool call ID"},
		{"image without data or URL", llm.Request{Messages: []llm.Message{user(llm.Part{Type: llm.PartImage})}}, "neither"},
		{"inline image without media type", llm.Request{Messages: []llm.Message{user(llm.Part{Type: llm.PartImage, Data: "AAAA"})}}, "media type"},
		{"unknown role", llm.Request{Messages: []llm.Message{{Role: "system", Parts: []llm.Part{text("x")}}}}, "unknown role"},
		{"unknown response format", llm.Request{Messages: []llm.Message{hi}, ResponseFormat: &llm.ResponseFormat{Type: "yaml"}}, "yaml"},
		{"unknown tool mode", llm.Request{Messages: []llm.Message{hi}, Tools: []llm.Tool{{Name: "f"}}, ToolChoice: llm.ToolChoice{Mode: "sometimes"}}, "sometimes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := EncodeRequest(&tt.req, llm.EncodeOptions{Model: testModel})
			assertLLMError(t, err, "", tt.msg)
		})
	}
}

// TestReasoningOnlyForReasoningModels: models that do not reason answer
// reasoning_effort with a 400, so it is sent only to those that do.
func TestReasoningOnlyForReasoningModels(t *testing.T) {
	r := &llm.Request{Messages: []llm.Message{user(text("hi"))}, Reasoning: &llm.Reasoning{Effort: "high"}}
	for model, want := range map[string]bool{
		"o3": true, "o4-mini": true, "gpt-5": true, "gpt-5.1-codex": true, "openai/gpt-oss-120b": true,
		"gpt-4.1": false, "gpt-4o-mini": false, "llama3.2": false, "my-deployment": false,
	} {
		b, err := EncodeRequest(r, llm.EncodeOptions{Model: model})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(string(b), `"reasoning_effort":"high"`); got != want {
			t.Errorf("%s: reasoning_effort sent %v, want %v", model, got, want)
		}
	}
}

// TestEncodeRequestRefusesSeveralAnswers: a translated answer is read from
// its first choice only, so asking for several is refused, not truncated.
func TestEncodeRequestRefusesSeveralAnswers(t *testing.T) {
	_, err := EncodeRequest(&llm.Request{Messages: []llm.Message{user(text("hi"))}, Candidates: 2}, llm.EncodeOptions{Model: "m"})
	var le *llm.Error
	if !errors.As(err, &le) {
		t.Fatalf("err %v, want an *llm.Error", err)
	}
}
