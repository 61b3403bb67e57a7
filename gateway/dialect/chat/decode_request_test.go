package chat

import (
	"testing"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
)

const weatherSchema = `{"type":"object","properties":{"location":{"type":"string","description":"The city and state, e.g. San Francisco, CA"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["location"]}`

func text(s string) llm.Part { return llm.Part{Type: llm.PartText, Text: s} }

func user(parts ...llm.Part) llm.Message { return llm.Message{Role: llm.RoleUser, Parts: parts} }

func assistant(parts ...llm.Part) llm.Message {
	return llm.Message{Role: llm.RoleAssistant, Parts: parts}
}

func call(id, name, args string) llm.Part {
	return llm.Part{Type: llm.PartToolCall, ID: id, Name: name, Arguments: raw(args)}
}

func result(id, name string, content ...llm.Part) llm.Part {
	return llm.Part{Type: llm.PartToolResult, ID: id, Name: name, Content: content}
}

// TestDecodeRequestFixtures reads the documented request examples.
func TestDecodeRequestFixtures(t *testing.T) {
	weatherTool := llm.Tool{Name: "get_current_weather", Description: "Get the current weather in a given location", Parameters: raw(weatherSchema)}
	tests := []struct {
		file string
		want llm.Request
	}{
		{"openai_request_default.json", llm.Request{
			Model:    "gpt-4.1",
			System:   []llm.Part{text("You are a helpful assistant.")},
			Messages: []llm.Message{user(text("Hello!"))},
		}},
		{"openai_request_stream.json", llm.Request{
			Model:    "gpt-4.1",
			System:   []llm.Part{text("You are a helpful assistant.")},
			Messages: []llm.Message{user(text("Hello!"))},
			Stream:   true,
		}},
		{"openai_request_image.json", llm.Request{
			Model: "gpt-4.1",
			Messages: []llm.Message{user(text("What is in this image?"), llm.Part{Type: llm.PartImage,
				URL: "https://upload.wikimedia.org/wikipedia/commons/thumb/d/dd/Gfp-wisconsin-madison-the-nature-boardwalk.jpg/2560px-Gfp-wisconsin-madison-the-nature-boardwalk.jpg"})},
			MaxTokens: 300,
		}},
		{"openai_request_functions.json", llm.Request{
			Model:      "gpt-4.1",
			Messages:   []llm.Message{user(text("What is the weather like in Boston today?"))},
			Tools:      []llm.Tool{weatherTool},
			ToolChoice: llm.ToolChoice{Mode: llm.ToolAuto},
		}},
		{"openai_request_tool_history.json", llm.Request{
			Model: "gpt-4.1",
			Messages: []llm.Message{
				user(text("What is the weather like in Boston today?")),
				assistant(call("call_abc123", "get_current_weather", `{"location":"Boston, MA"}`)),
				user(result("call_abc123", "get_current_weather", text(`{"temperature": 22, "unit": "celsius", "description": "Sunny"}`))),
			},
			Tools: []llm.Tool{weatherTool},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var got llm.Request
			if err := DecodeRequest(fixture(t, tt.file), &got); err != nil {
				t.Fatalf("DecodeRequest: %v", err)
			}
			normalizeRequest(&got)
			assertDeepEqual(t, got, tt.want)
		})
	}
}

func TestDecodeRequest(t *testing.T) {
	const hi = `{"role":"user","content":"hi"}`
	const timeTool = `{"type":"function","function":{"name":"get_time"}}`
	const weatherTool = `{"type":"function","function":{"name":"get_weather","description":"Get the weather","parameters":{"type":"object","properties":{"location":{"type":"string"}}},"strict":true}}`
	hiMsg := user(text("hi"))
	getTime := llm.Tool{Name: "get_time"}
	getWeather := llm.Tool{Name: "get_weather", Description: "Get the weather", Parameters: raw(`{"type":"object","properties":{"location":{"type":"string"}}}`)}

	tests := []struct {
		name string
		body string
		want llm.Request
	}{
		{
			name: "system and developer messages anywhere, in order",
			body: `{"model":"gpt-4o","messages":[
				{"role":"system","content":"You are terse."},
				{"role":"user","content":"Hello there."},
				{"role":"assistant","content":"Hi! How can I help?"},
				{"role":"developer","content":[{"type":"text","text":"Answer in English."},{"type":"text","text":""}]},
				{"role":"user","content":"Explain LLMs."}]}`,
			want: llm.Request{Model: "gpt-4o",
				System:   []llm.Part{text("You are terse."), text("Answer in English.")},
				Messages: []llm.Message{user(text("Hello there.")), assistant(text("Hi! How can I help?")), user(text("Explain LLMs."))}},
		},
		{
			name: "empty messages are dropped",
			body: `{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":""},{"role":"user","content":[]},{"role":"user","content":null},{"role":"user","content":"b"}]}`,
			want: llm.Request{Messages: []llm.Message{user(text("a")), user(text("b"))}},
		},
		{
			name: "base64 image, detail dropped",
			body: `{"messages":[{"role":"user","content":[
				{"type":"text","text":"What is in this image?"},
				{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo=","detail":"high"}}]}]}`,
			want: llm.Request{Messages: []llm.Message{user(text("What is in this image?"),
				llm.Part{Type: llm.PartImage, MediaType: "image/png", Data: "iVBORw0KGgo="})}},
		},
		{
			name: "image/jpg data URL is read as image/jpeg",
			body: `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"DATA:Image/JPG;BASE64,/9j/4AAQ"}}]}]}`,
			want: llm.Request{Messages: []llm.Message{user(llm.Part{Type: llm.PartImage, MediaType: "image/jpeg", Data: "/9j/4AAQ"})}},
		},
		{
			name: "image_url given as a bare string",
			body: `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":"https://example.com/cat.webp"}]}]}`,
			want: llm.Request{Messages: []llm.Message{user(llm.Part{Type: llm.PartImage, URL: "https://example.com/cat.webp"})}},
		},
		{
			name: "parallel tool calls in history, tool results merged, names resolved",
			body: `{"messages":[
				{"role":"user","content":"Weather and time in Paris?"},
				{"role":"assistant","content":"Let me check.","tool_calls":[
					{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"location\": \"Paris\", \"n\": 1.50}"}},
					{"id":"call_2","type":"function","function":{"name":"get_time","arguments":""}}]},
				{"role":"tool","tool_call_id":"call_1","content":"18C"},
				{"role":"tool","tool_call_id":"call_2","content":[{"type":"text","text":"12:00"}]},
				{"role":"tool","tool_call_id":"call_unknown","content":""},
				{"role":"user","content":"Thanks! And tomorrow?"}]}`,
			want: llm.Request{Messages: []llm.Message{
				user(text("Weather and time in Paris?")),
				assistant(text("Let me check."), call("call_1", "get_weather", `{"location":"Paris","n":1.50}`), call("call_2", "get_time", `{}`)),
				user(result("call_1", "get_weather", text("18C")), result("call_2", "get_time", text("12:00")), result("call_unknown", "")),
				user(text("Thanks! And tomorrow?")),
			}},
		},
		{
			name: "tool results separated by a user message are not merged",
			body: `{"messages":[
				{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},
				{"role":"tool","tool_call_id":"c1","content":"one"},
				{"role":"user","content":"text"},
				{"role":"tool","tool_call_id":"c1","content":"two"}]}`,
			want: llm.Request{Messages: []llm.Message{
				assistant(call("c1", "f", `{}`)),
				user(result("c1", "f", text("one"))),
				user(text("text")),
				user(result("c1", "f", text("two"))),
			}},
		},
		{
			name: "assistant refusal is kept as text",
			body: `{"messages":[` + hi + `,{"role":"assistant","content":[{"type":"refusal","refusal":"I can't help with that."}]},{"role":"assistant","content":null,"refusal":"Sorry."}]}`,
			want: llm.Request{Messages: []llm.Message{hiMsg, assistant(text("I can't help with that.")), assistant(text("Sorry."))}},
		},
		{
			name: "sampling, max_completion_tokens preferred, n, seed, stop string",
			body: `{"messages":[` + hi + `],"temperature":0.7,"top_p":0.9,"presence_penalty":-0.5,"frequency_penalty":1.5,
				"max_completion_tokens":200,"max_tokens":100,"n":2,"seed":42,"stop":"\n\nHuman:"}`,
			want: llm.Request{Messages: []llm.Message{hiMsg}, Temperature: ptr(0.7), TopP: ptr(0.9), PresencePenalty: ptr(-0.5),
				FrequencyPenalty: ptr(1.5), MaxTokens: 200, Candidates: 2, Seed: ptr(int64(42)), Stop: []string{"\n\nHuman:"}},
		},
		{
			name: "temperature 0 and max_tokens are kept, stop array drops empty strings",
			body: `{"messages":[` + hi + `],"temperature":0,"max_tokens":100,"stop":["END","","STOP"]}`,
			want: llm.Request{Messages: []llm.Message{hiMsg}, Temperature: ptr(0.0), MaxTokens: 100, Stop: []string{"END", "STOP"}},
		},
		{
			name: "null members are absent",
			body: `{"messages":[` + hi + `],"stop":null,"temperature":null,"tools":null,"tool_choice":null,"response_format":null,"n":null,"audio":null,"functions":null}`,
			want: llm.Request{Messages: []llm.Message{hiMsg}},
		},
		{
			name: "stream with include_usage, user, dropped fields",
			body: `{"model":"gpt-4o","messages":[` + hi + `],"user":"user-123","safety_identifier":"x","n":1,"logprobs":false,"top_logprobs":null,
				"logit_bias":{"50256":-100},"store":true,"metadata":{"k":"v"},"stream":true,"stream_options":{"include_usage":true},
				"response_format":{"type":"text"},"service_tier":"auto","prediction":{"type":"content","content":"x"},"verbosity":"low",
				"modalities":["text"],"some_future_field":1}`,
			want: llm.Request{Model: "gpt-4o", Messages: []llm.Message{hiMsg}, User: "user-123", Candidates: 1, Stream: true, IncludeUsage: true},
		},
		{
			name: "safety_identifier when user is absent",
			body: `{"messages":[` + hi + `],"safety_identifier":"hash-1"}`,
			want: llm.Request{Messages: []llm.Message{hiMsg}, User: "hash-1"},
		},
		{
			name: "reasoning_effort",
			body: `{"messages":[` + hi + `],"reasoning_effort":"minimal"}`,
			want: llm.Request{Messages: []llm.Message{hiMsg}, Reasoning: &llm.Reasoning{Effort: "minimal"}},
		},
		{
			name: "reasoning_effort none disables thinking",
			body: `{"messages":[` + hi + `],"reasoning_effort":"none"}`,
			want: llm.Request{Messages: []llm.Message{hiMsg}, Reasoning: &llm.Reasoning{Disabled: true}},
		},
		{
			name: "json_object response format",
			body: `{"messages":[` + hi + `],"response_format":{"type":"json_object"}}`,
			want: llm.Request{Messages: []llm.Message{hiMsg}, ResponseFormat: &llm.ResponseFormat{Type: "json_object"}},
		},
		{
			name: "json_schema response format",
			body: `{"messages":[` + hi + `],"response_format":{"type":"json_schema","json_schema":{"name":"math","description":"d","strict":true,
				"schema":{"type":"object","properties":{"x":{"type":"number"}},"required":["x"],"additionalProperties":false}}}}`,
			want: llm.Request{Messages: []llm.Message{hiMsg}, ResponseFormat: &llm.ResponseFormat{Type: "json_schema", Name: "math", Strict: true,
				Schema: raw(`{"type":"object","properties":{"x":{"type":"number"}},"required":["x"],"additionalProperties":false}`)}},
		},
		{
			name: "tools, required, parallel_tool_calls false, strict dropped",
			body: `{"messages":[` + hi + `],"tools":[` + weatherTool + `,` + timeTool + `],"tool_choice":"required","parallel_tool_calls":false}`,
			want: llm.Request{Messages: []llm.Message{hiMsg}, Tools: []llm.Tool{getWeather, getTime},
				ToolChoice: llm.ToolChoice{Mode: llm.ToolRequired}, ParallelToolCalls: ptr(false)},
		},
		{
			name: "tool_choice none",
			body: `{"messages":[` + hi + `],"tools":[` + timeTool + `],"tool_choice":"none"}`,
			want: llm.Request{Messages: []llm.Message{hiMsg}, Tools: []llm.Tool{getTime}, ToolChoice: llm.ToolChoice{Mode: llm.ToolNone}},
		},
		{
			name: "named tool_choice",
			body: `{"messages":[` + hi + `],"tools":[` + weatherTool + `,` + timeTool + `],"tool_choice":{"type":"function","function":{"name":"get_time"}}}`,
			want: llm.Request{Messages: []llm.Message{hiMsg}, Tools: []llm.Tool{getWeather, getTime},
				ToolChoice: llm.ToolChoice{Mode: llm.ToolNamed, Name: "get_time"}},
		},
		{
			name: "allowed_tools",
			body: `{"messages":[` + hi + `],"tools":[` + weatherTool + `,` + timeTool + `],
				"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"required","tools":[{"type":"function","function":{"name":"get_weather"}}]}}}`,
			want: llm.Request{Messages: []llm.Message{hiMsg}, Tools: []llm.Tool{getWeather, getTime},
				ToolChoice: llm.ToolChoice{Mode: llm.ToolRequired, Allowed: []string{"get_weather"}}},
		},
		{
			name: "tool_choice auto without tools is dropped",
			body: `{"messages":[` + hi + `],"tool_choice":"auto","parallel_tool_calls":true}`,
			want: llm.Request{Messages: []llm.Message{hiMsg}, ParallelToolCalls: ptr(true)},
		},
		{
			name: "duplicate member names keep the last value",
			body: `{"messages":[` + hi + `],"temperature":0.1,"temperature":0.2}`,
			want: llm.Request{Messages: []llm.Message{hiMsg}, Temperature: ptr(0.2)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got llm.Request
			if err := DecodeRequest([]byte(tt.body), &got); err != nil {
				t.Fatalf("DecodeRequest: %v", err)
			}
			normalizeRequest(&got)
			assertDeepEqual(t, got, tt.want)
		})
	}
}

// TestDecodeRequestResets checks that a reused Request holds nothing of
// an earlier decode.
func TestDecodeRequestResets(t *testing.T) {
	r := llm.Request{Model: "old", MaxTokens: 5, Stop: []string{"x"}}
	if err := DecodeRequest([]byte(`{"messages":[{"role":"user","content":"hi"}]}`), &r); err != nil {
		t.Fatal(err)
	}
	assertDeepEqual(t, r, llm.Request{Messages: []llm.Message{user(text("hi"))}})
}

// TestDecodeRequestOwnsValues checks that the JSON values kept from the
// body do not alias it (the caller may reuse its buffer).
func TestDecodeRequestOwnsValues(t *testing.T) {
	body := []byte(`{"messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]}],
		"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]}`)
	var r llm.Request
	if err := DecodeRequest(body, &r); err != nil {
		t.Fatal(err)
	}
	for i := range body {
		body[i] = 'x'
	}
	if string(r.Tools[0].Parameters) != `{"type":"object"}` || string(r.Messages[0].Parts[0].Arguments) != `{"a":1}` {
		t.Errorf("values alias the body: %s %s", r.Tools[0].Parameters, r.Messages[0].Parts[0].Arguments)
	}
	if !jsontext.Value(r.Tools[0].Parameters).IsValid() {
		t.Error("invalid parameters")
	}
}

func TestDecodeRequestErrors(t *testing.T) {
	const hi = `{"role":"user","content":"hi"}`
	img := func(url string) string {
		return `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"` + url + `"}}]}]}`
	}
	const imgParam = "messages[0].content[0].image_url.url"
	tests := []struct {
		name      string
		body      string
		wantParam string
		wantMsg   string // substring of the message
	}{
		{"invalid JSON", `{"messages": [`, "", "not valid JSON"},
		{"not an object", `[1,2]`, "", "must be a JSON object"},
		{"null body", `null`, "", "must be a JSON object"},
		{"empty body", ``, "", "not valid JSON"},
		{"invalid UTF-8", "{\"messages\":[{\"role\":\"user\",\"content\":\"\xff\"}]}", "", "UTF-8"},
		{"missing messages", `{"model":"gpt-4o"}`, "messages", "required"},
		{"null messages", `{"messages":null}`, "messages", "required"},
		{"empty messages", `{"messages":[]}`, "messages", "at least one message"},
		{"messages not an array", `{"messages":"hi"}`, "messages", "expected an array"},
		{"message not an object", `{"messages":[1]}`, "messages[0]", "expected an object"},
		{"only system messages", `{"messages":[{"role":"system","content":"x"}]}`, "messages", "non-empty content"},
		{"missing role", `{"messages":[{"content":"hi"}]}`, "messages[0].role", "required"},
		{"role not a string", `{"messages":[{"role":1,"content":"hi"}]}`, "messages[0].role", "expected a string"},
		{"unknown role", `{"messages":[` + hi + `,{"role":"robot","content":"x"}]}`, "messages[1].role", `unknown role "robot"`},
		{"function role", `{"messages":[{"role":"function","name":"f","content":"x"}]}`, "messages[0].role", "tool"},
		{"content wrong type", `{"messages":[{"role":"user","content":42}]}`, "messages[0].content", "string or an array"},
		{"part text wrong type", `{"messages":[{"role":"user","content":[{"type":"text","text":5}]}]}`, "messages[0].content[0].text", "expected a string"},
		{"n zero", `{"messages":[` + hi + `],"n":0}`, "n", "at least 1"},
		{"n fractional", `{"messages":[` + hi + `],"n":1.5}`, "n", "expected an integer"},
		{"bad image scheme", img("ftp://example.com/cat.png"), imgParam, `scheme "ftp"`},
		{"file image scheme", img("file:///etc/passwd"), imgParam, `scheme "file"`},
		{"relative image URL", img("cat.png"), imgParam, "no scheme"},
		{"http URL without host", img("http:///cat.png"), imgParam, "missing host"},
		{"non-base64 data URL", img("data:image/png,rawbytes"), imgParam, "base64"},
		{"malformed data URL", img("data:image/png;base64"), imgParam, "malformed"},
		{"unsupported image type", img("data:image/bmp;base64,Qk0="), imgParam, "image/bmp"},
		{"empty data URL", img("data:image/png;base64,"), imgParam, "no image data"},
		{"missing image url", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]}`, imgParam, "required"},
		{"missing image_url", `{"messages":[{"role":"user","content":[{"type":"image_url"}]}]}`, "messages[0].content[0].image_url", "required"},
		{"image_url wrong type", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":3}]}]}`, "messages[0].content[0].image_url", "expected an object"},
		{"input_audio part", `{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"x","format":"wav"}}]}]}`, "messages[0].content[0].type", "input_audio"},
		{"file part", `{"messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"f"}}]}]}`, "messages[0].content[0].type", "file"},
		{"unknown part type", `{"messages":[{"role":"user","content":[{"type":"video"}]}]}`, "messages[0].content[0].type", "video"},
		{"image in system message", `{"messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]},` + hi + `]}`, "messages[0].content[0].type", "only \"text\""},
		{"refusal in user message", `{"messages":[{"role":"tool","tool_call_id":"c","content":[{"type":"refusal","refusal":"x"}]}]}`, "messages[0].content[0].type", "refusal"},
		{"invalid tool arguments", `{"messages":[` + hi + `,{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{oops"}}]}]}`, "messages[1].tool_calls[0].function.arguments", "not valid JSON"},
		{"trailing data after tool arguments", `{"messages":[` + hi + `,{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{} {}"}}]}]}`, "messages[1].tool_calls[0].function.arguments", "not valid JSON"},
		{"non-object tool arguments", `{"messages":[` + hi + `,{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"[1]"}}]}]}`, "messages[1].tool_calls[0].function.arguments", "an array"},
		{"tool arguments not a string", `{"messages":[` + hi + `,{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":{}}}]}]}`, "messages[1].tool_calls[0].function.arguments", "expected a string"},
		{"tool call without id", `{"messages":[` + hi + `,{"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]}]}`, "messages[1].tool_calls[0].id", "required"},
		{"tool call without function", `{"messages":[` + hi + `,{"role":"assistant","tool_calls":[{"id":"c1","type":"function"}]}]}`, "messages[1].tool_calls[0].function", "required"},
		{"tool call without name", `{"messages":[` + hi + `,{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"arguments":"{}"}}]}]}`, "messages[1].tool_calls[0].function.name", "required"},
		{"custom tool call", `{"messages":[` + hi + `,{"role":"assistant","tool_calls":[{"id":"c1","type":"custom","custom":{"name":"f","input":"x"}}]}]}`, "messages[1].tool_calls[0].type", "custom"},
		{"legacy function_call in history", `{"messages":[` + hi + `,{"role":"assistant","function_call":{"name":"f","arguments":"{}"}}]}`, "messages[1].function_call", "tool_calls"},
		{"assistant audio in history", `{"messages":[` + hi + `,{"role":"assistant","audio":{"id":"audio_1"}}]}`, "messages[1].audio", "audio"},
		{"tool message without tool_call_id", `{"messages":[` + hi + `,{"role":"tool","content":"x"}]}`, "messages[1].tool_call_id", "required"},
		{"temperature too high", `{"messages":[` + hi + `],"temperature":2.5}`, "temperature", "between 0 and 2"},
		{"temperature negative", `{"messages":[` + hi + `],"temperature":-0.1}`, "temperature", "between 0 and 2"},
		{"temperature wrong type", `{"messages":[` + hi + `],"temperature":"hot"}`, "temperature", "expected a number"},
		{"top_p too high", `{"messages":[` + hi + `],"top_p":1.5}`, "top_p", "between 0 and 1"},
		{"presence_penalty out of range", `{"messages":[` + hi + `],"presence_penalty":3}`, "presence_penalty", "between -2 and 2"},
		{"max_tokens zero", `{"messages":[` + hi + `],"max_tokens":0}`, "max_tokens", "positive"},
		{"max_completion_tokens negative", `{"messages":[` + hi + `],"max_completion_tokens":-1}`, "max_completion_tokens", "positive"},
		{"max_completion_tokens fractional", `{"messages":[` + hi + `],"max_completion_tokens":10.5}`, "max_completion_tokens", "integer"},
		{"stream not a boolean", `{"messages":[` + hi + `],"stream":"yes"}`, "stream", "expected a boolean"},
		{"stop wrong type", `{"messages":[` + hi + `],"stop":5}`, "stop", "string or an array"},
		{"stop array of numbers", `{"messages":[` + hi + `],"stop":[5]}`, "stop[0]", "expected a string"},
		{"logprobs true", `{"messages":[` + hi + `],"logprobs":true}`, "logprobs", "not supported"},
		{"audio modality", `{"messages":[` + hi + `],"modalities":["text","audio"]}`, "modalities", "audio"},
		{"audio output", `{"messages":[` + hi + `],"audio":{"voice":"alloy","format":"wav"}}`, "audio", "audio"},
		{"web search", `{"messages":[` + hi + `],"web_search_options":{}}`, "web_search_options", "web search"},
		{"legacy functions", `{"messages":[` + hi + `],"functions":[{"name":"f"}]}`, "functions", "tools"},
		{"legacy function_call", `{"messages":[` + hi + `],"function_call":"auto"}`, "function_call", "tool_choice"},
		{"unknown reasoning_effort", `{"messages":[` + hi + `],"reasoning_effort":"max"}`, "reasoning_effort", `"max"`},
		{"unknown response_format", `{"messages":[` + hi + `],"response_format":{"type":"yaml"}}`, "response_format.type", `"yaml"`},
		{"json_schema without json_schema", `{"messages":[` + hi + `],"response_format":{"type":"json_schema"}}`, "response_format.json_schema", "required"},
		{"json_schema without name", `{"messages":[` + hi + `],"response_format":{"type":"json_schema","json_schema":{"schema":{}}}}`, "response_format.json_schema.name", "required"},
		{"json_schema schema not an object", `{"messages":[` + hi + `],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":[]}}}`, "response_format.json_schema.schema", "object"},
		{"custom tool", `{"messages":[` + hi + `],"tools":[{"type":"custom","custom":{"name":"x"}}]}`, "tools[0].type", "custom"},
		{"tool without function", `{"messages":[` + hi + `],"tools":[{"type":"function"}]}`, "tools[0].function", "required"},
		{"tool without name", `{"messages":[` + hi + `],"tools":[{"type":"function","function":{"description":"x"}}]}`, "tools[0].function.name", "required"},
		{"tool parameters not an object", `{"messages":[` + hi + `],"tools":[{"type":"function","function":{"name":"f","parameters":[1]}}]}`, "tools[0].function.parameters", "object"},
		{"named tool_choice not in tools", `{"messages":[` + hi + `],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"}}}`, "tool_choice.function.name", `"g"`},
		{"named tool_choice without name", `{"messages":[` + hi + `],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{}}}`, "tool_choice.function.name", "required"},
		{"named tool_choice without tools", `{"messages":[` + hi + `],"tool_choice":{"type":"function","function":{"name":"f"}}}`, "tool_choice", "requires 'tools'"},
		{"required tool_choice without tools", `{"messages":[` + hi + `],"tool_choice":"required"}`, "tool_choice", "requires 'tools'"},
		{"unknown tool_choice", `{"messages":[` + hi + `],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"sometimes"}`, "tool_choice", "sometimes"},
		{"tool_choice wrong type", `{"messages":[` + hi + `],"tool_choice":1}`, "tool_choice", "a string or an object"},
		{"custom tool_choice", `{"messages":[` + hi + `],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"custom","custom":{"name":"f"}}}`, "tool_choice.type", "custom"},
		{"allowed_tools bad mode", `{"messages":[` + hi + `],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"none","tools":[]}}}`, "tool_choice.allowed_tools.mode", `"none"`},
		{"allowed_tools empty", `{"messages":[` + hi + `],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":[]}}}`, "tool_choice.allowed_tools.tools", "non-empty"},
		{"allowed_tools unknown tool", `{"messages":[` + hi + `],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":[{"type":"function","function":{"name":"g"}}]}}}`, "tool_choice.allowed_tools.tools[0]", `"g"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r llm.Request
			err := DecodeRequest([]byte(tt.body), &r)
			assertLLMError(t, err, tt.wantParam, tt.wantMsg)
		})
	}
}
