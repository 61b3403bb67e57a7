package translate

import (
	"errors"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
	"strings"
	"testing"
)

const testModel = "claude-sonnet-4-5"

// TestChatToMessagesRequestFixtures translates the documented OpenAI request
// examples.
func TestChatToMessagesRequestFixtures(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"openai_request_default.json", "expected/messages_request_default.json"},
		{"openai_request_stream.json", "expected/messages_request_stream.json"},
		{"openai_request_image.json", "expected/messages_request_image.json"},
		{"openai_request_functions.json", "expected/messages_request_functions.json"},
		{"openai_request_tool_history.json", "expected/messages_request_tool_history.json"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ChatToMessagesRequest(fixture(t, tt.in), testModel, 1024)
			if err != nil {
				t.Fatalf("ChatToMessagesRequest: %v", err)
			}
			assertJSONEqual(t, got, fixture(t, tt.want))
		})
	}
}

func TestChatToMessagesRequest(t *testing.T) {
	const weatherTool = `{"type":"function","function":{"name":"get_weather","description":"Get the weather","parameters":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}}}`
	const timeTool = `{"type":"function","function":{"name":"get_time"}}`
	const anthWeather = `{"name":"get_weather","description":"Get the weather","input_schema":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}}`
	const anthTime = `{"name":"get_time","input_schema":{"type":"object"}}`
	const hi = `{"role":"user","content":"hi"}`
	const anthHi = `{"role":"user","content":[{"type":"text","text":"hi"}]}`

	tests := []struct {
		name       string
		body       string
		defaultMax int
		want       string
	}{
		{
			name: "system and developer messages anywhere, multi-turn",
			body: `{"model":"gpt-4o","messages":[
				{"role":"system","content":"You are terse."},
				{"role":"user","content":"Hello there."},
				{"role":"assistant","content":"Hi, I'm Claude. How can I help you?"},
				{"role":"developer","content":[{"type":"text","text":"Answer in English."},{"type":"text","text":""}]},
				{"role":"user","content":"Can you explain LLMs in plain English?"}]}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":1024,
				"system":[{"type":"text","text":"You are terse."},{"type":"text","text":"Answer in English."}],
				"messages":[
					{"role":"user","content":[{"type":"text","text":"Hello there."}]},
					{"role":"assistant","content":[{"type":"text","text":"Hi, I'm Claude. How can I help you?"}]},
					{"role":"user","content":[{"type":"text","text":"Can you explain LLMs in plain English?"}]}]}`,
		},
		{
			name: "single system text uses the string form",
			body: `{"messages":[{"role":"system","content":[{"type":"text","text":"Be brief."}]},` + hi + `]}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":1024,"system":"Be brief.","messages":[` + anthHi + `]}`,
		},
		{
			name: "consecutive same-role messages are merged",
			body: `{"messages":[
				{"role":"user","content":"first"},
				{"role":"user","content":[{"type":"text","text":"second"}]},
				{"role":"assistant","content":"a1"},
				{"role":"assistant","content":[{"type":"text","text":"a2"}]},
				{"role":"system","content":"interleaved system"},
				{"role":"assistant","content":"a3"},
				{"role":"user","content":"third"}]}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":1024,"system":"interleaved system","messages":[
				{"role":"user","content":[{"type":"text","text":"first"},{"type":"text","text":"second"}]},
				{"role":"assistant","content":[{"type":"text","text":"a1"},{"type":"text","text":"a2"},{"type":"text","text":"a3"}]},
				{"role":"user","content":[{"type":"text","text":"third"}]}]}`,
		},
		{
			name: "empty messages are dropped and their neighbours merged",
			body: `{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":""},{"role":"user","content":"b"}]}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[
				{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]}`,
		},
		{
			name: "base64 image",
			body: `{"messages":[{"role":"user","content":[
				{"type":"text","text":"What is in this image?"},
				{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo=","detail":"high"}}]}]}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":[
				{"type":"text","text":"What is in this image?"},
				{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}]}]}`,
		},
		{
			name: "image/jpg data URL is normalised to image/jpeg",
			body: `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/jpg;base64,/9j/4AAQ"}}]}]}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":[
				{"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"/9j/4AAQ"}}]}]}`,
		},
		{
			name: "http image URL",
			body: `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"http://example.com/cat.png"}}]}]}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":[
				{"type":"image","source":{"type":"url","url":"http://example.com/cat.png"}}]}]}`,
		},
		{
			name: "image_url given as a bare string",
			body: `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":"https://example.com/cat.webp"}]}]}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":[
				{"type":"image","source":{"type":"url","url":"https://example.com/cat.webp"}}]}]}`,
		},
		{
			name: "allowed_tools mode auto with parallel_tool_calls false",
			body: `{"messages":[` + hi + `],"tools":[` + weatherTool + `,` + timeTool + `],"parallel_tool_calls":false,
				"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":[{"type":"function","function":{"name":"get_time"}}]}}}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[` + anthHi + `],
				"tools":[` + anthTime + `],"tool_choice":{"type":"auto","disable_parallel_tool_use":true}}`,
		},
		{
			name: "tools with tool_choice required",
			body: `{"messages":[` + hi + `],"tools":[` + weatherTool + `,` + timeTool + `],"tool_choice":"required"}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[` + anthHi + `],
				"tools":[` + anthWeather + `,` + anthTime + `],"tool_choice":{"type":"any"}}`,
		},
		{
			name: "tool_choice none",
			body: `{"messages":[` + hi + `],"tools":[` + timeTool + `],"tool_choice":"none"}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[` + anthHi + `],
				"tools":[` + anthTime + `],"tool_choice":{"type":"none"}}`,
		},
		{
			name: "named tool_choice",
			body: `{"messages":[` + hi + `],"tools":[` + weatherTool + `,` + timeTool + `],
				"tool_choice":{"type":"function","function":{"name":"get_time"}}}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[` + anthHi + `],
				"tools":[` + anthWeather + `,` + anthTime + `],"tool_choice":{"type":"tool","name":"get_time"}}`,
		},
		{
			name: "parallel_tool_calls false without tool_choice",
			body: `{"messages":[` + hi + `],"tools":[` + timeTool + `],"parallel_tool_calls":false}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[` + anthHi + `],
				"tools":[` + anthTime + `],"tool_choice":{"type":"auto","disable_parallel_tool_use":true}}`,
		},
		{
			name: "parallel_tool_calls false with required",
			body: `{"messages":[` + hi + `],"tools":[` + timeTool + `],"tool_choice":"required","parallel_tool_calls":false}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[` + anthHi + `],
				"tools":[` + anthTime + `],"tool_choice":{"type":"any","disable_parallel_tool_use":true}}`,
		},
		{
			name: "parallel_tool_calls false does not apply to none",
			body: `{"messages":[` + hi + `],"tools":[` + timeTool + `],"tool_choice":"none","parallel_tool_calls":false}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[` + anthHi + `],
				"tools":[` + anthTime + `],"tool_choice":{"type":"none"}}`,
		},
		{
			name: "parallel_tool_calls true is the default",
			body: `{"messages":[` + hi + `],"tools":[` + timeTool + `],"parallel_tool_calls":true}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[` + anthHi + `],"tools":[` + anthTime + `]}`,
		},
		{
			name: "allowed_tools narrows the tools",
			body: `{"messages":[` + hi + `],"tools":[` + weatherTool + `,` + timeTool + `],
				"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"required","tools":[{"type":"function","function":{"name":"get_weather"}}]}}}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[` + anthHi + `],
				"tools":[` + anthWeather + `],"tool_choice":{"type":"any"}}`,
		},
		{
			name: "tool_choice auto without tools is dropped",
			body: `{"messages":[` + hi + `],"tool_choice":"auto","parallel_tool_calls":false}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[` + anthHi + `]}`,
		},
		{
			name: "parameters without type get type object",
			body: `{"messages":[` + hi + `],"tools":[{"type":"function","function":{"name":"f","parameters":{"properties":{"x":{"type":"integer"}}},"strict":true}}]}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[` + anthHi + `],
				"tools":[{"name":"f","input_schema":{"type":"object","properties":{"x":{"type":"integer"}}}}]}`,
		},
		{
			name: "parallel tool_calls in history and merged tool results",
			body: `{"messages":[
				{"role":"user","content":"Weather and time in Paris?"},
				{"role":"assistant","content":"Let me check.","tool_calls":[
					{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"location\": \"Paris\", \"n\": 1.50}"}},
					{"id":"call_2","type":"function","function":{"name":"get_time","arguments":""}}]},
				{"role":"tool","tool_call_id":"call_1","content":"18C"},
				{"role":"tool","tool_call_id":"call_2","content":[{"type":"text","text":"12:00"}]},
				{"role":"user","content":"Thanks! And tomorrow?"}],
				"tools":[` + weatherTool + `,` + timeTool + `]}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[
				{"role":"user","content":[{"type":"text","text":"Weather and time in Paris?"}]},
				{"role":"assistant","content":[
					{"type":"text","text":"Let me check."},
					{"type":"tool_use","id":"call_1","name":"get_weather","input":{"location":"Paris","n":1.5}},
					{"type":"tool_use","id":"call_2","name":"get_time","input":{}}]},
				{"role":"user","content":[
					{"type":"tool_result","tool_use_id":"call_1","content":[{"type":"text","text":"18C"}]},
					{"type":"tool_result","tool_use_id":"call_2","content":[{"type":"text","text":"12:00"}]},
					{"type":"text","text":"Thanks! And tomorrow?"}]}],
				"tools":[` + anthWeather + `,` + anthTime + `]}`,
		},
		{
			name: "tool results are moved before user text in a merged message",
			body: `{"messages":[
				{"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_time","arguments":"{}"}}]},
				{"role":"user","content":"(text first)"},
				{"role":"tool","tool_call_id":"call_1","content":""}]}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[
				{"role":"assistant","content":[{"type":"tool_use","id":"call_1","name":"get_time","input":{}}]},
				{"role":"user","content":[{"type":"tool_result","tool_use_id":"call_1"},{"type":"text","text":"(text first)"}]}]}`,
		},
		{
			name: "assistant refusal is kept as text",
			body: `{"messages":[` + hi + `,{"role":"assistant","content":[{"type":"refusal","refusal":"I can't help with that."}]},{"role":"assistant","content":null,"refusal":"Sorry."}]}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[` + anthHi + `,
				{"role":"assistant","content":[{"type":"text","text":"I can't help with that."},{"type":"text","text":"Sorry."}]}]}`,
		},
		{
			name: "stop string",
			body: `{"messages":[` + hi + `],"stop":"\n\nHuman:"}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[` + anthHi + `],"stop_sequences":["\n\nHuman:"]}`,
		},
		{
			name: "stop array drops empty strings",
			body: `{"messages":[` + hi + `],"stop":["END","","STOP"]}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[` + anthHi + `],"stop_sequences":["END","STOP"]}`,
		},
		{
			name: "stop null",
			body: `{"messages":[` + hi + `],"stop":null}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[` + anthHi + `]}`,
		},
		{
			name: "sampling parameters and max_completion_tokens preferred",
			body: `{"messages":[` + hi + `],"temperature":0.7,"top_p":0.9,"max_completion_tokens":200,"max_tokens":100}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":200,"messages":[` + anthHi + `],"temperature":0.7,"top_p":0.9}`,
		},
		{
			name: "temperature above 1 is clamped",
			body: `{"messages":[` + hi + `],"temperature":1.5,"max_tokens":100}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":100,"messages":[` + anthHi + `],"temperature":1}`,
		},
		{
			name: "temperature 0 is kept",
			body: `{"messages":[` + hi + `],"temperature":0}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[` + anthHi + `],"temperature":0}`,
		},
		{
			name:       "default max_tokens from the caller",
			body:       `{"messages":[` + hi + `]}`,
			defaultMax: 8192,
			want:       `{"model":"claude-sonnet-4-5","max_tokens":8192,"messages":[` + anthHi + `]}`,
		},
		{
			name:       "fallback max_tokens when the caller passes 0",
			body:       `{"messages":[` + hi + `]}`,
			defaultMax: -1,
			want:       `{"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[` + anthHi + `]}`,
		},
		{
			name: "user becomes metadata.user_id, reasoning_effort a thinking budget, OpenAI-only fields are dropped",
			body: `{"model":"gpt-4o","messages":[` + hi + `],"user":"user-123","n":1,"logprobs":false,"seed":42,
				"presence_penalty":0.5,"frequency_penalty":0.5,"logit_bias":{"50256":-100},"store":true,
				"metadata":{"k":"v"},"stream":true,"stream_options":{"include_usage":true},
				"response_format":{"type":"text"},"service_tier":"auto","reasoning_effort":"low","some_future_field":1}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":2048,"messages":[` + anthHi + `],
				"metadata":{"user_id":"user-123"},"stream":true,"thinking":{"type":"enabled","budget_tokens":1024}}`,
		},
		{
			name: "safety_identifier is used when user is absent",
			body: `{"messages":[` + hi + `],"safety_identifier":"hash-1"}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[` + anthHi + `],"metadata":{"user_id":"hash-1"}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := tt.defaultMax
			if def == 0 {
				def = 1024
			}
			got, err := ChatToMessagesRequest([]byte(tt.body), testModel, def)
			if err != nil {
				t.Fatalf("ChatToMessagesRequest: %v", err)
			}
			assertJSONEqual(t, got, []byte(tt.want))
		})
	}
}

func TestChatToMessagesRequestErrors(t *testing.T) {
	const hi = `{"role":"user","content":"hi"}`
	img := func(url string) string {
		return `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"` + url + `"}}]}]}`
	}
	tests := []struct {
		name      string
		body      string
		wantParam string
		wantMsg   string // substring of the message
	}{
		{"invalid JSON", `{"messages": [`, "", "not valid JSON"},
		{"not an object", `[1,2]`, "", "must be a JSON object"},
		{"null body", `null`, "", "must be a JSON object"},
		{"invalid UTF-8", "{\"messages\":[{\"role\":\"user\",\"content\":\"\xff\"}]}", "", "UTF-8"},
		{"missing messages", `{"model":"gpt-4o"}`, "messages", "required"},
		{"null messages", `{"messages":null}`, "messages", "required"},
		{"empty messages", `{"messages":[]}`, "messages", "at least one message"},
		{"messages not an array", `{"messages":"hi"}`, "messages", "array"},
		{"message not an object", `{"messages":[1]}`, "messages[0]", "object"},
		{"only system messages", `{"messages":[{"role":"system","content":"x"}]}`, "messages", "non-empty content"},
		{"missing role", `{"messages":[{"content":"hi"}]}`, "messages[0].role", "required"},
		{"unknown role", `{"messages":[` + hi + `,{"role":"robot","content":"x"}]}`, "messages[1].role", `unknown role "robot"`},
		{"function role", `{"messages":[{"role":"function","name":"f","content":"x"}]}`, "messages[0].role", "tool"},
		{"content wrong type", `{"messages":[{"role":"user","content":42}]}`, "messages[0].content", "string or an array"},
		{"n greater than 1", `{"messages":[` + hi + `],"n":2}`, "n", "single answer"},
		{"n zero", `{"messages":[` + hi + `],"n":0}`, "n", "at least 1"},
		{"bad image scheme", img("ftp://example.com/cat.png"), "messages[0].content[0].image_url.url", `scheme "ftp"`},
		{"file image scheme", img("file:///etc/passwd"), "messages[0].content[0].image_url.url", `scheme "file"`},
		{"relative image URL", img("cat.png"), "messages[0].content[0].image_url.url", "no scheme"},
		{"non-base64 data URL", img("data:image/png,rawbytes"), "messages[0].content[0].image_url.url", "base64"},
		{"unsupported image type", img("data:image/bmp;base64,Qk0="), "messages[0].content[0].image_url.url", "image/bmp"},
		{"empty data URL", img("data:image/png;base64,"), "messages[0].content[0].image_url.url", "no image data"},
		{"missing image url", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]}`, "messages[0].content[0].image_url.url", "required"},
		{"input_audio part", `{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"x","format":"wav"}}]}]}`, "messages[0].content[0].type", "input_audio"},
		{"unknown part type", `{"messages":[{"role":"user","content":[{"type":"video"}]}]}`, "messages[0].content[0].type", "video"},
		{"image in system message", `{"messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]},` + hi + `]}`, "messages[0].content[0].type", "only \"text\""},
		{"invalid tool arguments", `{"messages":[` + hi + `,{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{oops"}}]}]}`, "messages[1].tool_calls[0].function.arguments", "not valid JSON"},
		{"non-object tool arguments", `{"messages":[` + hi + `,{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"[1]"}}]}]}`, "messages[1].tool_calls[0].function.arguments", "an array"},
		{"tool call without id", `{"messages":[` + hi + `,{"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]}]}`, "messages[1].tool_calls[0].id", "required"},
		{"custom tool call", `{"messages":[` + hi + `,{"role":"assistant","tool_calls":[{"id":"c1","type":"custom","custom":{"name":"f","input":"x"}}]}]}`, "messages[1].tool_calls[0].type", "custom"},
		{"legacy function_call in history", `{"messages":[` + hi + `,{"role":"assistant","function_call":{"name":"f","arguments":"{}"}}]}`, "messages[1].function_call", "tool_calls"},
		{"tool message without tool_call_id", `{"messages":[` + hi + `,{"role":"tool","content":"x"}]}`, "messages[1].tool_call_id", "required"},
		{"temperature too high", `{"messages":[` + hi + `],"temperature":2.5}`, "temperature", "between 0 and 2"},
		{"temperature negative", `{"messages":[` + hi + `],"temperature":-0.1}`, "temperature", "between 0 and 2"},
		{"temperature wrong type", `{"messages":[` + hi + `],"temperature":"hot"}`, "temperature", "a number"},
		{"top_p too high", `{"messages":[` + hi + `],"top_p":1.5}`, "top_p", "between 0 and 1"},
		{"max_tokens zero", `{"messages":[` + hi + `],"max_tokens":0}`, "max_tokens", "positive"},
		{"max_completion_tokens fractional", `{"messages":[` + hi + `],"max_completion_tokens":10.5}`, "max_completion_tokens", "integer"},
		{"stop wrong type", `{"messages":[` + hi + `],"stop":5}`, "stop", "string or an array"},
		{"logprobs true", `{"messages":[` + hi + `],"logprobs":true}`, "logprobs", "not supported"},
		{"json_schema response_format", `{"messages":[` + hi + `],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{}}}}`, "response_format", "json_schema"},
		{"json_object response_format", `{"messages":[` + hi + `],"response_format":{"type":"json_object"}}`, "response_format", "json_object"},
		{"audio modality", `{"messages":[` + hi + `],"modalities":["text","audio"]}`, "modalities", "audio"},
		{"legacy functions", `{"messages":[` + hi + `],"functions":[{"name":"f"}]}`, "functions", "tools"},
		{"custom tool", `{"messages":[` + hi + `],"tools":[{"type":"custom","custom":{"name":"x"}}]}`, "tools[0].type", "custom"},
		{"tool without name", `{"messages":[` + hi + `],"tools":[{"type":"function","function":{"description":"x"}}]}`, "tools[0].function.name", "required"},
		{"tool parameters not an object", `{"messages":[` + hi + `],"tools":[{"type":"function","function":{"name":"f","parameters":[1]}}]}`, "tools[0].function.parameters", "object"},
		{"named tool_choice not in tools", `{"messages":[` + hi + `],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"}}}`, "tool_choice.function.name", `"g"`},
		{"required tool_choice without tools", `{"messages":[` + hi + `],"tool_choice":"required"}`, "tool_choice", "requires 'tools'"},
		{"unknown tool_choice", `{"messages":[` + hi + `],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"sometimes"}`, "tool_choice", "sometimes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := ChatToMessagesRequest([]byte(tt.body), testModel, 1024)
			if err == nil {
				t.Fatalf("expected an error, got %s", out)
			}
			var te *llm.Error
			if !errors.As(err, &te) {
				t.Fatalf("error %v (%T) is not *Error", err, err)
			}
			if te.Param != tt.wantParam {
				t.Errorf("Param = %q, want %q (message %q)", te.Param, tt.wantParam, te.Message)
			}
			if !strings.Contains(te.Message, tt.wantMsg) {
				t.Errorf("Message = %q, want it to contain %q", te.Message, tt.wantMsg)
			}
		})
	}
}

// ChatToMessagesRequest translates an OpenAI chat request to the Messages
// API, as the gateway does for a chat client served by Anthropic.
func ChatToMessagesRequest(body []byte, model string, defaultMax int) ([]byte, error) {
	r, err := DecodeRequest(Chat, body)
	if err != nil {
		return nil, err
	}
	return EncodeRequest(Messages, r, llm.EncodeOptions{Model: model, DefaultMaxTokens: int64(defaultMax)})
}
