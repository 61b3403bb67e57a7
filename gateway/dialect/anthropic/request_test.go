package anthropic

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
)

var weatherSchema = raw(`{"properties":{"city":{"type":"string"},"units":{"enum":["celsius","fahrenheit"],"type":"string"}},"required":["city"],"type":"object"}`)

func TestDecodeRequestFixtures(t *testing.T) {
	weatherTool := llm.Tool{Name: "get_weather", Description: "Get weather", Parameters: weatherSchema}
	tests := []struct {
		file string
		want llm.Request
	}{{
		file: "anthropic_request_hello.json",
		want: llm.Request{
			Model: "claude-opus-4-6", MaxTokens: 1024,
			Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{text("Hello, world")}}},
		},
	}, {
		file: "anthropic_request_prompt_caching.json",
		want: llm.Request{
			Model: "claude-opus-4-6", MaxTokens: 1024,
			System: []llm.Part{
				text("You are an AI assistant tasked with analyzing literary works. Your goal is to provide insightful commentary on themes, characters, and writing style.\n"),
				text("<the entire contents of Pride and Prejudice>"),
			},
			Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{text("Analyze the major themes in Pride and Prejudice.")}}},
		},
	}, {
		file: "anthropic_request_thinking.json",
		want: llm.Request{
			Model: "claude-sonnet-4-6", MaxTokens: 16000,
			Reasoning: &llm.Reasoning{BudgetTokens: 10000},
			Messages:  []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{text("Are there an infinite number of prime numbers such that n mod 4 == 3?")}}},
		},
	}, {
		file: "anthropic_request_image_url.json",
		want: llm.Request{
			Model: "claude-opus-4-6", MaxTokens: 1024,
			Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{
				{Type: llm.PartImage, URL: "https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg"},
				text("Describe this image."),
			}}},
		},
	}, {
		file: "anthropic_request_recorded_stream.json",
		want: llm.Request{
			Model: "claude-3-7-sonnet-latest", MaxTokens: 512, Stream: true,
			Tools:    []llm.Tool{weatherTool},
			Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{text("Weather in SF?")}}},
		},
	}, {
		file: "anthropic_request_tool_error_history.json",
		want: llm.Request{
			Model: "claude-3-7-sonnet-latest", MaxTokens: 512,
			Tools: []llm.Tool{weatherTool},
			Messages: []llm.Message{
				{Role: llm.RoleUser, Parts: []llm.Part{text("Weather in San Francisco?")}},
				{Role: llm.RoleAssistant, Parts: []llm.Part{
					text("I'll check the current weather in San Francisco for you."),
					{Type: llm.PartToolCall, ID: "toolu_01XKSJ1fM9PHM9vpwH1p7PDT", Name: "get_weather", Arguments: raw(`{"city":"San Francisco"}`)},
				}},
				{Role: llm.RoleUser, Parts: []llm.Part{{
					Type: llm.PartToolResult, ID: "toolu_01XKSJ1fM9PHM9vpwH1p7PDT", Name: "get_weather", IsError: true,
					Content: []llm.Part{text("Error: Unexpected error, try again")},
				}}},
				{Role: llm.RoleAssistant, Parts: []llm.Part{
					text("I apologize for the error. Let me try checking the weather in San Francisco again."),
					{Type: llm.PartToolCall, ID: "toolu_01LELQc5n8mDyvS1bApN4qPi", Name: "get_weather", Arguments: raw(`{"city":"San Francisco"}`)},
				}},
				{Role: llm.RoleUser, Parts: []llm.Part{{
					Type: llm.PartToolResult, ID: "toolu_01LELQc5n8mDyvS1bApN4qPi", Name: "get_weather",
					Content: []llm.Part{text("Sunny 68°F")},
				}}},
			},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var got llm.Request
			if err := DecodeRequest(fixture(t, tt.file), &got); err != nil {
				t.Fatalf("DecodeRequest: %v", err)
			}
			if g, w := canonRequest(got), canonRequest(tt.want); !reflect.DeepEqual(g, w) {
				t.Errorf("got  %s\nwant %s", show(g), show(w))
			}
		})
	}
}

func TestDecodeRequestFields(t *testing.T) {
	tests := []struct {
		name, body string
		want       llm.Request
	}{{
		name: "sampling, stop, user, tool choice",
		body: `{"model":"m","max_tokens":10,"temperature":0.5,"top_p":0.9,"top_k":40,"stop_sequences":["END"],
			"metadata":{"user_id":"u-1"},"messages":[{"role":"user","content":"hi"}],
			"tools":[{"name":"f","input_schema":{"type":"object"},"cache_control":{"type":"ephemeral"}}],
			"tool_choice":{"type":"tool","name":"f","disable_parallel_tool_use":true}}`,
		want: llm.Request{
			Model: "m", MaxTokens: 10, Temperature: ptr(0.5), TopP: ptr(0.9), TopK: ptr(int64(40)),
			Stop: []string{"END"}, User: "u-1",
			Messages:          []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{text("hi")}}},
			Tools:             []llm.Tool{{Name: "f", Parameters: raw(`{"type":"object"}`)}},
			ToolChoice:        llm.ToolChoice{Mode: llm.ToolNamed, Name: "f"},
			ParallelToolCalls: ptr(false),
		},
	}, {
		name: "any, custom tool type, no schema",
		body: `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}],
			"tools":[{"type":"custom","name":"f"}],"tool_choice":{"type":"any"}}`,
		want: llm.Request{
			Model: "m", MaxTokens: 10,
			Messages:   []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{text("hi")}}},
			Tools:      []llm.Tool{{Name: "f"}},
			ToolChoice: llm.ToolChoice{Mode: llm.ToolRequired},
		},
	}, {
		name: "thinking history, base64 image, string tool result, empty text dropped",
		body: `{"model":"m","max_tokens":2000,"thinking":{"type":"disabled"},"system":"be brief","messages":[
			{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},{"type":"text","text":""}]},
			{"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":"sig"},{"type":"redacted_thinking","data":"opaque"},
				{"type":"tool_use","id":"toolu_1","name":"f","input":{}}]},
			{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"42"},{"type":"tool_result","tool_use_id":"toolu_unknown"}]},
			{"role":"assistant","content":""}]}`,
		want: llm.Request{
			Model: "m", MaxTokens: 2000, Reasoning: &llm.Reasoning{Disabled: true},
			System: []llm.Part{text("be brief")},
			Messages: []llm.Message{
				{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartImage, MediaType: "image/png", Data: "iVBORw0KGgo="}}},
				{Role: llm.RoleAssistant, Parts: []llm.Part{
					{Type: llm.PartThinking, Text: "hmm", Signature: "sig"},
					{Type: llm.PartRedactedThinking, Signature: "opaque"},
					{Type: llm.PartToolCall, ID: "toolu_1", Name: "f", Arguments: raw(`{}`)},
				}},
				{Role: llm.RoleUser, Parts: []llm.Part{
					{Type: llm.PartToolResult, ID: "toolu_1", Name: "f", Content: []llm.Part{text("42")}},
					{Type: llm.PartToolResult, ID: "toolu_unknown"},
				}},
			},
		},
	}, {
		name: "adaptive thinking with effort and structured output",
		body: `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"thinking":{"type":"adaptive"},
			"output_config":{"effort":"max","format":{"type":"json_schema","schema":{"type":"object"}}}}`,
		want: llm.Request{
			Model: "m", MaxTokens: 10,
			Messages:       []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{text("hi")}}},
			Reasoning:      &llm.Reasoning{Effort: "high"},
			ResponseFormat: &llm.ResponseFormat{Type: "json_schema", Name: "response", Schema: raw(`{"type":"object"}`), Strict: true},
		},
	}, {
		name: "JSON details: duplicate names, escaped names, integral fraction, nulls",
		body: `{"model":"a","mod\u0065l":"b","max_tokens":1024.0,"stop_sequences":null,"system":null,"temperature":null,
			"messages":[{"content":"hi \u00e9\n","role":"user"}],"metadata":{"user_id":null}}`,
		want: llm.Request{
			Model: "b", MaxTokens: 1024,
			Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{text("hi é\n")}}},
		},
	}, {
		name: "content nested in tool result content does not mix in",
		body: `{"model":"m","max_tokens":5,"system":[{"type":"text","text":"s","content":"x"}],"messages":[{"role":"user","content":[
			{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"a","content":[{"type":"text","text":"b"}]},{"type":"text","text":"c"}]}]}]}`,
		want: llm.Request{
			Model: "m", MaxTokens: 5, System: []llm.Part{text("s")},
			Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartToolResult, ID: "t", Content: []llm.Part{text("a"), text("c")}}}}},
		},
	}, {
		name: "effort without thinking",
		body: `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"output_config":{"effort":"low"}}`,
		want: llm.Request{
			Model: "m", MaxTokens: 10,
			Messages:  []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{text("hi")}}},
			Reasoning: &llm.Reasoning{Effort: "low"},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got llm.Request
			if err := DecodeRequest([]byte(tt.body), &got); err != nil {
				t.Fatalf("DecodeRequest: %v", err)
			}
			if g, w := canonRequest(got), canonRequest(tt.want); !reflect.DeepEqual(g, w) {
				t.Errorf("got  %s\nwant %s", show(g), show(w))
			}
		})
	}
}

func TestDecodeRequestErrors(t *testing.T) {
	const msgs = `"messages":[{"role":"user","content":"hi"}]`
	tests := []struct {
		name, body, param, contains string
	}{
		{"not JSON", `{"model":`, "", "not valid JSON"},
		{"not an object", `[1]`, "", "JSON object"},
		{"missing max_tokens", `{"model":"m",` + msgs + `}`, "max_tokens", "required"},
		{"zero max_tokens", `{"model":"m","max_tokens":0,` + msgs + `}`, "max_tokens", "at least 1"},
		{"fractional max_tokens", `{"model":"m","max_tokens":1.5,` + msgs + `}`, "max_tokens", "integer"},
		{"no messages", `{"model":"m","max_tokens":5,"messages":[]}`, "messages", "at least one"},
		{"bad role", `{"model":"m","max_tokens":5,"messages":[{"role":"system","content":"x"}]}`, "messages[0].role", "user"},
		{"content number", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":5}]}`, "messages[0].content", "string or an array"},
		{"text not a string", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":5}]}]}`, "messages[0].content[0].text", "expected a string, got a number"},
		{"document", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0="}}]}]}`, "messages[0].content[0].type", "document"},
		{"file image", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"file","file_id":"file_1"}}]}]}`, "messages[0].content[0].source.type", "Files API"},
		{"server tool block", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{}}]}]}`, "messages[1].content[0].type", "Anthropic's platform"},
		{"web search result", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"web_search_tool_result","tool_use_id":"srvtoolu_1","content":[]}]}]}`, "messages[1].content[0].type", "Anthropic's platform"},
		{"tool_use in user message", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_use","id":"t","name":"f","input":{}}]}]}`, "messages[0].content[0].type", "assistant"},
		{"tool_result in assistant message", `{"model":"m","max_tokens":5,"messages":[{"role":"assistant","content":[{"type":"tool_result","tool_use_id":"t"}]}]}`, "messages[0].content[0].type", "user"},
		{"tool input array", `{"model":"m","max_tokens":5,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":[1]}]}]}`, "messages[0].content[0].input", "object"},
		{"web search tool", `{"model":"m","max_tokens":5,` + msgs + `,"tools":[{"type":"web_search_20250305","name":"web_search","max_uses":5}]}`, "tools[0].type", "web_search_20250305"},
		{"bash tool", `{"model":"m","max_tokens":5,` + msgs + `,"tools":[{"type":"bash_20250124","name":"bash"}]}`, "tools[0].type", "bash_20250124"},
		{"mcp servers", `{"model":"m","max_tokens":5,` + msgs + `,"mcp_servers":[{"type":"url","url":"https://x","name":"x"}]}`, "mcp_servers", "MCP"},
		{"small budget", `{"model":"m","max_tokens":5000,` + msgs + `,"thinking":{"type":"enabled","budget_tokens":100}}`, "thinking.budget_tokens", "1024"},
		{"bad tool choice", `{"model":"m","max_tokens":5,` + msgs + `,"tool_choice":{"type":"required"}}`, "tool_choice.type", "auto"},
		{"system image", `{"model":"m","max_tokens":5,` + msgs + `,"system":[{"type":"image","source":{"type":"url","url":"https://x/y.png"}}]}`, "system[0].type", "text"},
		{"max_tokens string", `{"model":"m","max_tokens":"10",` + msgs + `}`, "max_tokens", "expected an integer, got a string"},
		{"trailing data", `{"model":"m","max_tokens":10,` + msgs + `} {}`, "", "not valid JSON"},
		{"invalid UTF-8", "{\"model\":\"m\xff\",\"max_tokens\":10," + msgs + "}", "", "not valid JSON"},
		{"message not an object", `{"model":"m","max_tokens":5,"messages":[5]}`, "messages[0]", "expected an object, got a number"},
		{"content null", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":null}]}`, "messages[0].content", "required"},
		{"temperature string", `{"model":"m","max_tokens":5,` + msgs + `,"temperature":"hot"}`, "temperature", "expected a number, got a string"},
		{"stream number", `{"model":"m","max_tokens":5,` + msgs + `,"stream":1}`, "stream", "expected a boolean, got a number"},
		{"tools object", `{"model":"m","max_tokens":5,` + msgs + `,"tools":{}}`, "tools", "expected an array, got an object"},
		{"schema string", `{"model":"m","max_tokens":5,` + msgs + `,"tools":[{"name":"f","input_schema":"x"}]}`, "tools[0].input_schema", "expected an object, got a string"},
		{"tool result with document", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"a"},{"type":"document","source":{"type":"text","media_type":"text/plain","data":"x"}}]}]}]}`, "messages[0].content[0].content[1].type", "document"},
		{"thinking in a user message", `{"model":"m","max_tokens":5,"messages":[{"content":[{"type":"thinking","thinking":"x","signature":"s"}],"role":"user"}]}`, "messages[0].content[0].type", "assistant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r llm.Request
			err := DecodeRequest([]byte(tt.body), &r)
			var le *llm.Error
			if !errors.As(err, &le) {
				t.Fatalf("got %v (%T), want *llm.Error", err, err)
			}
			if le.Param != tt.param || !strings.Contains(le.Message, tt.contains) {
				t.Errorf("got param %q message %q, want param %q message containing %q", le.Param, le.Message, tt.param, tt.contains)
			}
		})
	}
}

func TestEncodeRequest(t *testing.T) {
	opts := llm.EncodeOptions{Model: "claude-sonnet-4-5", DefaultMaxTokens: 1024}
	user := func(parts ...llm.Part) llm.Message { return llm.Message{Role: llm.RoleUser, Parts: parts} }
	assistant := func(parts ...llm.Part) llm.Message { return llm.Message{Role: llm.RoleAssistant, Parts: parts} }
	tests := []struct {
		name string
		req  llm.Request
		opts *llm.EncodeOptions
		want string
	}{{
		name: "minimal: default max_tokens, content as blocks",
		req:  llm.Request{Model: "gpt-4.1", Messages: []llm.Message{user(text("Hello!"))}},
		want: `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":[{"type":"text","text":"Hello!"}]}]}`,
	}, {
		name: "fallback max_tokens and model",
		req:  llm.Request{Model: "m", Messages: []llm.Message{user(text("x"))}},
		opts: &llm.EncodeOptions{},
		want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}]}`,
	}, {
		name: "one system text is a string",
		req:  llm.Request{System: []llm.Part{text(""), text("Be nice.")}, Messages: []llm.Message{user(text("x"))}},
		want: `{"model":"claude-sonnet-4-5","max_tokens":1024,"system":"Be nice.","messages":[{"role":"user","content":[{"type":"text","text":"x"}]}]}`,
	}, {
		name: "several system texts are blocks",
		req:  llm.Request{System: []llm.Part{text("A"), text("B")}, Messages: []llm.Message{user(text("x"))}},
		want: `{"model":"claude-sonnet-4-5","max_tokens":1024,"system":[{"type":"text","text":"A"},{"type":"text","text":"B"}],"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}]}`,
	}, {
		name: "merge same roles, drop empty, tool results first, sanitize ids",
		req: llm.Request{Messages: []llm.Message{
			user(text("q")),
			assistant(text("")),
			assistant(text("calling"), llm.Part{Type: llm.PartToolCall, ID: "functions.f:0", Name: "f", Arguments: raw(`{"a":1}`)},
				llm.Part{Type: llm.PartToolCall, ID: "call_2", Name: "f"}),
			user(text("also this")),
			user(llm.Part{Type: llm.PartToolResult, ID: "functions.f:0", Name: "f", Content: []llm.Part{text("one")}},
				llm.Part{Type: llm.PartToolResult, ID: "call_2", IsError: true, Content: []llm.Part{text("boom"), {Type: llm.PartImage, MediaType: "image/jpg", Data: "AAA"}}}),
		}},
		want: `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[
			{"role":"user","content":[{"type":"text","text":"q"}]},
			{"role":"assistant","content":[{"type":"text","text":"calling"},
				{"type":"tool_use","id":"functions_f_0","name":"f","input":{"a":1}},
				{"type":"tool_use","id":"call_2","name":"f","input":{}}]},
			{"role":"user","content":[
				{"type":"tool_result","tool_use_id":"functions_f_0","content":[{"type":"text","text":"one"}]},
				{"type":"tool_result","tool_use_id":"call_2","is_error":true,"content":[{"type":"text","text":"boom"},{"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"AAA"}}]},
				{"type":"text","text":"also this"}]}]}`,
	}, {
		name: "images: base64, url, data url",
		req: llm.Request{Messages: []llm.Message{user(
			llm.Part{Type: llm.PartImage, MediaType: "image/png", Data: "iVBOR"},
			llm.Part{Type: llm.PartImage, URL: "https://example.com/a.jpg"},
			llm.Part{Type: llm.PartImage, URL: "data:image/webp;base64,UklGR"},
		)}},
		want: `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":[
			{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBOR"}},
			{"type":"image","source":{"type":"url","url":"https://example.com/a.jpg"}},
			{"type":"image","source":{"type":"base64","media_type":"image/webp","data":"UklGR"}}]}]}`,
	}, {
		name: "thinking history: signed kept, unsigned dropped, redacted kept",
		req: llm.Request{Messages: []llm.Message{user(text("q")), assistant(
			llm.Part{Type: llm.PartThinking, Text: "from elsewhere"},
			llm.Part{Type: llm.PartThinking, Text: "mine", Signature: "sig"},
			llm.Part{Type: llm.PartRedactedThinking, Signature: "opaque"},
			text("answer"),
		)}},
		want: `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":[{"type":"text","text":"q"}]},
			{"role":"assistant","content":[{"type":"thinking","thinking":"mine","signature":"sig"},{"type":"redacted_thinking","data":"opaque"},{"type":"text","text":"answer"}]}]}`,
	}, {
		name: "sampling, stop, user, stream; seed and penalties dropped",
		req: llm.Request{Messages: []llm.Message{user(text("x"))}, MaxTokens: 50, Temperature: ptr(1.5), TopP: ptr(0.5), TopK: ptr(int64(3)),
			Seed: ptr(int64(7)), PresencePenalty: ptr(0.1), FrequencyPenalty: ptr(0.2),
			Stop: []string{"", "END"}, User: "u", Stream: true, IncludeUsage: true},
		want: `{"model":"claude-sonnet-4-5","max_tokens":50,"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}],
			"metadata":{"user_id":"u"},"stop_sequences":["END"],"stream":true,"temperature":1,"top_k":3,"top_p":0.5}`,
	}, {
		name: "tools: schema without type, nil schema, allowed, required, no parallel",
		req: llm.Request{Messages: []llm.Message{user(text("x"))},
			Tools: []llm.Tool{
				{Name: "a", Description: "A", Parameters: raw(`{"properties":{"x":{"type":"string"}}}`)},
				{Name: "b"},
				{Name: "c", Parameters: raw(`{}`)},
			},
			ToolChoice:        llm.ToolChoice{Mode: llm.ToolRequired, Allowed: []string{"a", "c"}},
			ParallelToolCalls: ptr(false)},
		want: `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}],
			"tools":[{"name":"a","description":"A","input_schema":{"type":"object","properties":{"x":{"type":"string"}}}},
				{"name":"c","input_schema":{"type":"object"}}],
			"tool_choice":{"type":"any","disable_parallel_tool_use":true}}`,
	}, {
		name: "no parallel adds auto; nil schema",
		req:  llm.Request{Messages: []llm.Message{user(text("x"))}, Tools: []llm.Tool{{Name: "b"}}, ParallelToolCalls: ptr(false)},
		want: `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}],
			"tools":[{"name":"b","input_schema":{"type":"object"}}],"tool_choice":{"type":"auto","disable_parallel_tool_use":true}}`,
	}, {
		name: "named and none tool choices",
		req: llm.Request{Messages: []llm.Message{user(text("x"))}, Tools: []llm.Tool{{Name: "b", Parameters: raw(`{"type":"object"}`)}},
			ToolChoice: llm.ToolChoice{Mode: llm.ToolNamed, Name: "b"}},
		want: `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}],
			"tools":[{"name":"b","input_schema":{"type":"object"}}],"tool_choice":{"type":"tool","name":"b"}}`,
	}, {
		name: "auto without tools is dropped",
		req:  llm.Request{Messages: []llm.Message{user(text("x"))}, ToolChoice: llm.ToolChoice{Mode: llm.ToolAuto}},
		want: `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}]}`,
	}, {
		name: "budget raises max_tokens",
		req:  llm.Request{Messages: []llm.Message{user(text("x"))}, MaxTokens: 1000, Reasoning: &llm.Reasoning{BudgetTokens: 2000}},
		want: `{"model":"claude-sonnet-4-5","max_tokens":3000,"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}],"thinking":{"type":"enabled","budget_tokens":2000}}`,
	}, {
		name: "small budget raised to 1024, max_tokens already above",
		req:  llm.Request{Messages: []llm.Message{user(text("x"))}, MaxTokens: 8000, Reasoning: &llm.Reasoning{BudgetTokens: 100}},
		want: `{"model":"claude-sonnet-4-5","max_tokens":8000,"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}],"thinking":{"type":"enabled","budget_tokens":1024}}`,
	}, {
		name: "effort high",
		req:  llm.Request{Messages: []llm.Message{user(text("x"))}, Reasoning: &llm.Reasoning{Effort: "high"}},
		want: `{"model":"claude-sonnet-4-5","max_tokens":17408,"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}],"thinking":{"type":"enabled","budget_tokens":16384}}`,
	}, {
		name: "thinking dropped in a tool loop without signed thinking",
		req: llm.Request{Reasoning: &llm.Reasoning{Effort: "high"}, Messages: []llm.Message{
			user(text("q")),
			assistant(llm.Part{Type: llm.PartToolCall, ID: "call_1", Name: "f", Arguments: raw(`{}`)}),
			user(llm.Part{Type: llm.PartToolResult, ID: "call_1", Content: []llm.Part{text("r")}}),
		}},
		want: `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":[{"type":"text","text":"q"}]},
			{"role":"assistant","content":[{"type":"tool_use","id":"call_1","name":"f","input":{}}]},
			{"role":"user","content":[{"type":"tool_result","tool_use_id":"call_1","content":[{"type":"text","text":"r"}]}]}]}`,
	}, {
		name: "thinking kept in a tool loop with signed thinking",
		req: llm.Request{Reasoning: &llm.Reasoning{BudgetTokens: 2000}, MaxTokens: 4000, Messages: []llm.Message{
			user(text("q")),
			assistant(llm.Part{Type: llm.PartThinking, Text: "t", Signature: "s"}, llm.Part{Type: llm.PartToolCall, ID: "toolu_1", Name: "f", Arguments: raw(`{}`)}),
			user(llm.Part{Type: llm.PartToolResult, ID: "toolu_1"}),
		}},
		want: `{"model":"claude-sonnet-4-5","max_tokens":4000,"messages":[{"role":"user","content":[{"type":"text","text":"q"}]},
			{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"s"},{"type":"tool_use","id":"toolu_1","name":"f","input":{}}]},
			{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1"}]}],"thinking":{"type":"enabled","budget_tokens":2000}}`,
	}, {
		name: "effort minimal and disabled send nothing",
		req:  llm.Request{Messages: []llm.Message{user(text("x"))}, Reasoning: &llm.Reasoning{Effort: "minimal"}},
		want: `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}]}`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := opts
			if tt.opts != nil {
				o = *tt.opts
			}
			got, err := EncodeRequest(&tt.req, o)
			if err != nil {
				t.Fatalf("EncodeRequest: %v", err)
			}
			assertJSONEqual(t, got, []byte(tt.want))
		})
	}
}

func TestEncodeRequestErrors(t *testing.T) {
	msgs := []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{text("x")}}}
	tests := []struct {
		name  string
		req   llm.Request
		param string
	}{
		{"n", llm.Request{Messages: msgs, Candidates: 2}, "n"},
		{"json_object", llm.Request{Messages: msgs, ResponseFormat: &llm.ResponseFormat{Type: "json_object"}}, "response_format"},
		{"json_schema", llm.Request{Messages: msgs, ResponseFormat: &llm.ResponseFormat{Type: "json_schema", Schema: raw(`{}`)}}, "response_format"},
		{"temperature", llm.Request{Messages: msgs, Temperature: ptr(2.5)}, "temperature"},
		{"top_p", llm.Request{Messages: msgs, TopP: ptr(1.5)}, "top_p"},
		{"no messages", llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{text("")}}}}, "messages"},
		{"required without tools", llm.Request{Messages: msgs, ToolChoice: llm.ToolChoice{Mode: llm.ToolRequired}}, "tool_choice"},
		{"named unknown tool", llm.Request{Messages: msgs, Tools: []llm.Tool{{Name: "a"}}, ToolChoice: llm.ToolChoice{Mode: llm.ToolNamed, Name: "b"}}, "tool_choice"},
		{"allowed unknown tool", llm.Request{Messages: msgs, Tools: []llm.Tool{{Name: "a"}}, ToolChoice: llm.ToolChoice{Mode: llm.ToolAuto, Allowed: []string{"b"}}}, "tool_choice"},
		{"schema not an object", llm.Request{Messages: msgs, Tools: []llm.Tool{{Name: "a", Parameters: raw(`[]`)}}}, "tools[0].parameters"},
		{"image type", llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartImage, MediaType: "image/tiff", Data: "AA"}}}}}, "messages[0].content[0]"},
		{"image scheme", llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartImage, URL: "gs://bucket/x.png"}}}}}, "messages[0].content[0]"},
		{"tool call args", llm.Request{Messages: []llm.Message{{Role: llm.RoleAssistant, Parts: []llm.Part{{Type: llm.PartToolCall, ID: "a", Name: "f", Arguments: raw(`"x"`)}}}}}, "messages[0].content[0]"},
		{"tool call in user message", llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartToolCall, ID: "a", Name: "f"}}}}}, "messages[0].content[0]"},
		{"tool result without id", llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartToolResult}}}}}, "messages[0].content[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := EncodeRequest(&tt.req, llm.EncodeOptions{Model: "m"})
			var le *llm.Error
			if !errors.As(err, &le) {
				t.Fatalf("got %v, want *llm.Error", err)
			}
			if le.Param != tt.param {
				t.Errorf("param %q (%s), want %q", le.Param, le.Message, tt.param)
			}
		})
	}
}

// TestRequestRoundTrip decodes the documented requests and encodes them
// again: the result must mean the same to the Messages API (content as
// blocks, cache_control dropped).
func TestRequestRoundTrip(t *testing.T) {
	tests := []struct{ file, want string }{
		{"anthropic_request_hello.json", `{"model":"claude-opus-4-6","max_tokens":1024,"messages":[{"role":"user","content":[{"type":"text","text":"Hello, world"}]}]}`},
		{"anthropic_request_thinking.json", `{"model":"claude-sonnet-4-6","max_tokens":16000,"thinking":{"type":"enabled","budget_tokens":10000},
			"messages":[{"role":"user","content":[{"type":"text","text":"Are there an infinite number of prime numbers such that n mod 4 == 3?"}]}]}`},
		{"anthropic_request_prompt_caching.json", `{"model":"claude-opus-4-6","max_tokens":1024,
			"system":[{"type":"text","text":"You are an AI assistant tasked with analyzing literary works. Your goal is to provide insightful commentary on themes, characters, and writing style.\n"},{"type":"text","text":"<the entire contents of Pride and Prejudice>"}],
			"messages":[{"role":"user","content":[{"type":"text","text":"Analyze the major themes in Pride and Prejudice."}]}]}`},
		{"anthropic_request_image_url.json", ""},
		{"anthropic_request_tool_error_history.json", ""},
		{"anthropic_request_recorded_stream.json", ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			in := fixture(t, tt.file)
			var r llm.Request
			if err := DecodeRequest(in, &r); err != nil {
				t.Fatal(err)
			}
			out, err := EncodeRequest(&r, llm.EncodeOptions{Model: r.Model})
			if err != nil {
				t.Fatal(err)
			}
			want := []byte(tt.want)
			if tt.want == "" {
				want = in // already in the canonical form
			}
			assertJSONEqual(t, out, want)
		})
	}
}

// TestAdaptiveThinking: Claude Opus 4.7 and later take only adaptive
// thinking; older models a budget.
func TestAdaptiveThinking(t *testing.T) {
	cases := []struct {
		model string
		re    llm.Reasoning
		want  string // a substring of the request
	}{
		{"claude-opus-4-7", llm.Reasoning{Effort: "low"}, `"thinking":{"type":"adaptive"},"output_config":{"effort":"low"}`},
		{"claude-opus-4-8", llm.Reasoning{BudgetTokens: 20000}, `"output_config":{"effort":"high"}`},
		{"claude-fable-5", llm.Reasoning{Effort: "xhigh"}, `"output_config":{"effort":"max"}`},
		{"claude-opus-5", llm.Reasoning{}, `"output_config":{"effort":"high"}`},
		{"claude-sonnet-4-6", llm.Reasoning{Effort: "medium"}, `"thinking":{"type":"enabled","budget_tokens":4096}`},
		{"claude-sonnet-4-5-20250929", llm.Reasoning{Effort: "high"}, `"thinking":{"type":"enabled","budget_tokens":16384}`},
		{"claude-opus-4-20250514", llm.Reasoning{BudgetTokens: 2000}, `"budget_tokens":2000`},
		{"claude-3-7-sonnet-20250219", llm.Reasoning{Effort: "low"}, `"budget_tokens":1024`},
		{"my-fine-tune", llm.Reasoning{Effort: "low"}, `"budget_tokens":1024`},
	}
	for _, c := range cases {
		r := &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "hi"}}}}, Reasoning: &c.re}
		b, err := EncodeRequest(r, llm.EncodeOptions{Model: c.model, DefaultMaxTokens: 32000})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), c.want) {
			t.Errorf("%s: %s does not contain %s", c.model, b, c.want)
		}
	}
}
