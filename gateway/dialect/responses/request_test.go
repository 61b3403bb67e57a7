package responses

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/shared"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func text(s string) llm.Part { return llm.Part{Type: llm.PartText, Text: s} }

func user(parts ...llm.Part) llm.Message { return llm.Message{Role: llm.RoleUser, Parts: parts} }

func assistant(parts ...llm.Part) llm.Message {
	return llm.Message{Role: llm.RoleAssistant, Parts: parts}
}

func ptr[T any](v T) *T { return &v }

// compact rewrites every raw JSON value of r compactly, so that requests
// compare without regard to the fixture's whitespace.
func compact(t testing.TB, r *llm.Request) {
	t.Helper()
	c := func(v *jsontext.Value) {
		if len(*v) == 0 {
			return
		}
		w := v.Clone()
		if err := w.Compact(); err != nil {
			t.Fatalf("invalid raw JSON %q: %v", *v, err)
		}
		*v = w
	}
	for i := range r.Tools {
		c(&r.Tools[i].Parameters)
	}
	for i := range r.Messages {
		for j := range r.Messages[i].Parts {
			c(&r.Messages[i].Parts[j].Arguments)
		}
	}
	if r.ResponseFormat != nil {
		c(&r.ResponseFormat.Schema)
	}
}

func decode(t *testing.T, body []byte) (*llm.Request, error) {
	t.Helper()
	var r llm.Request
	err := DecodeRequest(body, &r)
	if err == nil {
		compact(t, &r)
	}
	return &r, err
}

func checkRequest(t *testing.T, got, want *llm.Request) {
	t.Helper()
	compact(t, want)
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("request mismatch\ngot:  %s\nwant: %s", g, w)
	}
}

// TestDecodeRequestReferenceExamples decodes the request examples of the
// API reference (and one of OpenAI's playground).
func TestDecodeRequestReferenceExamples(t *testing.T) {
	weatherParams := jsontext.Value(`{"type":"object","properties":{"location":{"type":"string","description":"The city and state, e.g. San Francisco, CA"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["location","unit"]}`)
	tests := []struct {
		fixture string
		want    llm.Request
	}{
		{"request_text_input.json", llm.Request{
			Model:    "gpt-4.1",
			Messages: []llm.Message{user(text("Tell me a three sentence bedtime story about a unicorn."))},
		}},
		{"request_image_input.json", llm.Request{
			Model: "gpt-4.1",
			Messages: []llm.Message{user(
				text("what is in this image?"),
				llm.Part{Type: llm.PartImage, URL: "https://upload.wikimedia.org/wikipedia/commons/thumb/d/dd/Gfp-wisconsin-madison-the-nature-boardwalk.jpg/2560px-Gfp-wisconsin-madison-the-nature-boardwalk.jpg"},
			)},
		}},
		{"request_streaming.json", llm.Request{
			Model:    "gpt-4.1",
			System:   []llm.Part{text("You are a helpful assistant.")},
			Messages: []llm.Message{user(text("Hello!"))},
			Stream:   true,
		}},
		{"request_functions.json", llm.Request{
			Model:      "gpt-4.1",
			Messages:   []llm.Message{user(text("What is the weather like in Boston today?"))},
			Tools:      []llm.Tool{{Name: "get_current_weather", Description: "Get the current weather in a given location", Parameters: weatherParams}},
			ToolChoice: llm.ToolChoice{Mode: llm.ToolAuto},
		}},
		{"request_reasoning.json", llm.Request{
			Model:     "o3-mini",
			Messages:  []llm.Message{user(text("How much wood would a woodchuck chuck?"))},
			Reasoning: &llm.Reasoning{Effort: "high"},
		}},
		{"request_function_call_output.json", llm.Request{
			Model:  "gpt-4o",
			System: []llm.Part{text("You are WeatherPal, a virtual assistant acclaimed for your meteorology expertise and your ability to provide accurate weather conditions across the United States.\nCurrent time of latest input: 2025-03-14T17:22:00Z")},
			Messages: []llm.Message{
				user(text("Toledo Ohio looking hot out right now?")),
				assistant(llm.Part{Type: llm.PartToolCall, ID: "call_qCYF1LIA9qAK0Nvp24dMqNUP", Name: "get_current_us_weather", Arguments: jsontext.Value(`{"us_city":"Toledo"}`)}),
				user(llm.Part{Type: llm.PartToolResult, ID: "call_qCYF1LIA9qAK0Nvp24dMqNUP", Name: "get_current_us_weather", Content: []llm.Part{text("Toledo, OH - Current conditions: 62F, partly cloudy")}}),
			},
			Tools: []llm.Tool{{
				Name:        "get_current_us_weather",
				Description: "Retrieves the current weather for a specified US city",
				Parameters:  jsontext.Value(`{"type":"object","required":["us_city"],"properties":{"us_city":{"type":"string","description":"The name of the US city for which to retrieve the current weather"}},"additionalProperties":false}`),
			}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			got, err := decode(t, fixture(t, tt.fixture))
			if err != nil {
				t.Fatal(err)
			}
			checkRequest(t, got, &tt.want)
		})
	}
}

// TestDecodeRequestRejects checks that what only an OpenAI upstream can do
// is refused with a client error naming the field.
func TestDecodeRequestRejects(t *testing.T) {
	tests := []struct {
		name, body, param, msg string
	}{
		{"reference web search", string(fixture(t, "request_web_search.json")), "tools[0].type", `tool type "web_search_preview" is only available from OpenAI upstreams`},
		{"reference file search", string(fixture(t, "request_file_search.json")), "tools[0].type", `tool type "file_search" is only available`},
		{"reference file input", string(fixture(t, "request_file_input.json")), "input[0].content[1].type", "input_file"},
		{"previous_response_id", `{"model":"m","previous_response_id":"resp_1","input":"hi"}`, "previous_response_id", "only available from OpenAI upstreams"},
		{"conversation string", `{"model":"m","conversation":"conv_1","input":"hi"}`, "conversation", "only available from OpenAI upstreams"},
		{"conversation object", `{"model":"m","conversation":{"id":"conv_1"},"input":"hi"}`, "conversation", "stored by OpenAI"},
		{"background", `{"model":"m","background":true,"input":"hi"}`, "background", "background responses"},
		{"prompt", `{"model":"m","prompt":{"id":"pmpt_1"},"input":"hi"}`, "prompt", "prompt templates"},
		{"item_reference", `{"model":"m","input":[{"type":"item_reference","id":"msg_1"}]}`, "input[0].type", "item_reference"},
		{"built-in call item", `{"model":"m","input":[{"type":"web_search_call","id":"ws_1","status":"completed","action":{"type":"search","query":"q"}}]}`, "input[0].type", `"web_search_call" is only available from OpenAI upstreams`},
		{"computer call output", `{"model":"m","input":[{"type":"computer_call_output","call_id":"c","output":{"type":"computer_screenshot","image_url":"https://x/y.png"}}]}`, "input[0].type", `"computer_call_output" is only available`},
		{"custom tool", `{"model":"m","input":"hi","tools":[{"type":"custom","name":"grammar"}]}`, "tools[0].type", `tool type "custom"`},
		{"mcp tool", `{"model":"m","input":"hi","tools":[{"type":"function","name":"f"},{"type":"mcp","server_label":"deepwiki"}]}`, "tools[1].type", `"mcp" is only available`},
		{"hosted tool choice", `{"model":"m","input":"hi","tool_choice":{"type":"file_search"}}`, "tool_choice.type", `"file_search" is only available`},
		{"allowed tools with mcp", `{"model":"m","input":"hi","tool_choice":{"type":"allowed_tools","mode":"auto","tools":[{"type":"function","name":"f"},{"type":"mcp","server_label":"x"}]}}`, "tool_choice.tools[1].type", "only available"},
		{"tool choice string", `{"model":"m","input":"hi","tool_choice":"any"}`, "tool_choice", "unsupported"},
		{"image file_id", `{"model":"m","input":[{"role":"user","content":[{"type":"input_image","file_id":"file-1"}]}]}`, "input[0].content[0].file_id", "file storage"},
		{"image ftp", `{"model":"m","input":[{"role":"user","content":[{"type":"input_image","image_url":"ftp://x/y.png"}]}]}`, "input[0].content[0].image_url", "unsupported image URL"},
		{"image data not base64", `{"model":"m","input":[{"role":"user","content":[{"type":"input_image","image_url":"data:image/png,abc"}]}]}`, "input[0].content[0].image_url", "base64"},
		{"image in system", `{"model":"m","input":[{"role":"system","content":[{"type":"input_image","image_url":"https://x/y.png"}]}]}`, "input[0].content[0].type", "user messages"},
		{"audio", `{"model":"m","input":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"x","format":"wav"}}]}]}`, "input[0].content[0].type", "audio"},
		{"unknown role", `{"model":"m","input":[{"role":"tool","content":"x"}]}`, "input[0].role", "unsupported role"},
		{"item without type", `{"model":"m","input":[{"content":"x"}]}`, "input[0].type", "needs a 'type'"},
		{"bad arguments", `{"model":"m","input":[{"type":"function_call","call_id":"c","name":"f","arguments":"[1]"}]}`, "input[1-1].arguments", "JSON object"},
		{"call without call_id", `{"model":"m","input":[{"type":"function_call","name":"f","arguments":"{}"}]}`, "input[0].call_id", "required"},
		{"output without call_id", `{"model":"m","input":[{"type":"function_call_output","output":"x"}]}`, "input[0].call_id", "required"},
		{"output file", `{"model":"m","input":[{"type":"function_call_output","call_id":"c","output":[{"type":"input_file","file_data":"x"}]}]}`, "input[0].output[0].type", "input_file"},
		{"no input", `{"model":"m"}`, "input", "required"},
		{"input number", `{"model":"m","input":3}`, "input", "string or an array"},
		{"wrong type", `{"model":"m","input":"x","max_output_tokens":"many"}`, "max_output_tokens", ""},
		{"bad max tokens", `{"model":"m","input":"x","max_output_tokens":0}`, "max_output_tokens", "positive"},
		{"bad effort", `{"model":"m","input":"x","reasoning":{"effort":"extreme"}}`, "reasoning.effort", "unsupported"},
		{"bad format", `{"model":"m","input":"x","text":{"format":{"type":"grammar"}}}`, "text.format.type", "unsupported"},
		{"schema missing", `{"model":"m","input":"x","text":{"format":{"type":"json_schema","name":"n"}}}`, "text.format.schema", "required"},
		{"nested type error", `{"model":"m","input":[{"role":"user","content":[{"type":"input_image","image_url":{"url":"https://x"}}]}]}`, "input[0].content[0].image_url", ""},
		{"not json", `{"model":`, "", "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r llm.Request
			err := DecodeRequest([]byte(tt.body), &r)
			var le *llm.Error
			if !errors.As(err, &le) {
				t.Fatalf("err = %v (%T), want *llm.Error", err, err)
			}
			wantParam := strings.ReplaceAll(tt.param, "[1-1]", "[0]")
			if le.Param != wantParam {
				t.Errorf("param = %q, want %q (%v)", le.Param, wantParam, le)
			}
			if !strings.Contains(le.Message, tt.msg) {
				t.Errorf("message = %q, want it to contain %q", le.Message, tt.msg)
			}
		})
	}
}

// TestDecodeRequestMapping covers the field mappings one by one.
func TestDecodeRequestMapping(t *testing.T) {
	tests := []struct {
		name string
		body string
		want llm.Request
	}{
		{"sampling and limits",
			`{"model":"m","input":"x","temperature":0.2,"top_p":0.9,"max_output_tokens":512,"parallel_tool_calls":false,"stream":true,"store":false,"metadata":{"a":"b"},"include":["reasoning.encrypted_content"],"truncation":"auto","service_tier":"flex","prompt_cache_key":"k","top_logprobs":3,"max_tool_calls":2,"instructions":null,"stream_options":{"include_obfuscation":false}}`,
			llm.Request{Model: "m", Messages: []llm.Message{user(text("x"))}, Temperature: ptr(0.2), TopP: ptr(0.9), MaxTokens: 512, ParallelToolCalls: ptr(false), Stream: true}},
		{"safety identifier wins over user",
			`{"model":"m","input":"x","user":"u1","safety_identifier":"s1"}`,
			llm.Request{Model: "m", Messages: []llm.Message{user(text("x"))}, User: "s1"}},
		{"user",
			`{"model":"m","input":"x","user":"u1"}`,
			llm.Request{Model: "m", Messages: []llm.Message{user(text("x"))}, User: "u1"}},
		{"reasoning none",
			`{"model":"m","input":"x","reasoning":{"effort":"none","summary":"auto"}}`,
			llm.Request{Model: "m", Messages: []llm.Message{user(text("x"))}, Reasoning: &llm.Reasoning{Disabled: true}}},
		{"reasoning summary only",
			`{"model":"m","input":"x","reasoning":{"summary":"detailed"}}`,
			llm.Request{Model: "m", Messages: []llm.Message{user(text("x"))}}},
		{"json object",
			`{"model":"m","input":"x","text":{"format":{"type":"json_object"},"verbosity":"low"}}`,
			llm.Request{Model: "m", Messages: []llm.Message{user(text("x"))}, ResponseFormat: &llm.ResponseFormat{Type: "json_object"}}},
		{"json schema",
			`{"model":"m","input":"x","text":{"format":{"type":"json_schema","name":"person","description":"d","schema":{"type":"object"},"strict":true}}}`,
			llm.Request{Model: "m", Messages: []llm.Message{user(text("x"))}, ResponseFormat: &llm.ResponseFormat{Type: "json_schema", Name: "person", Schema: jsontext.Value(`{"type":"object"}`), Strict: true}}},
		{"text format",
			`{"model":"m","input":"x","text":{"format":{"type":"text"}}}`,
			llm.Request{Model: "m", Messages: []llm.Message{user(text("x"))}}},
		{"tool choice none",
			`{"model":"m","input":"x","tool_choice":"none"}`,
			llm.Request{Model: "m", Messages: []llm.Message{user(text("x"))}, ToolChoice: llm.ToolChoice{Mode: llm.ToolNone}}},
		{"tool choice required",
			`{"model":"m","input":"x","tool_choice":"required"}`,
			llm.Request{Model: "m", Messages: []llm.Message{user(text("x"))}, ToolChoice: llm.ToolChoice{Mode: llm.ToolRequired}}},
		{"tool choice function",
			`{"model":"m","input":"x","tool_choice":{"type":"function","name":"f"}}`,
			llm.Request{Model: "m", Messages: []llm.Message{user(text("x"))}, ToolChoice: llm.ToolChoice{Mode: llm.ToolNamed, Name: "f"}}},
		{"allowed tools",
			`{"model":"m","input":"x","tool_choice":{"type":"allowed_tools","mode":"required","tools":[{"type":"function","name":"a"},{"type":"function","name":"b"}]}}`,
			llm.Request{Model: "m", Messages: []llm.Message{user(text("x"))}, ToolChoice: llm.ToolChoice{Mode: llm.ToolRequired, Allowed: []string{"a", "b"}}}},
		{"tool without parameters",
			`{"model":"m","input":"x","tools":[{"type":"function","name":"f","parameters":null,"strict":false}]}`,
			llm.Request{Model: "m", Messages: []llm.Message{user(text("x"))}, Tools: []llm.Tool{{Name: "f"}}}},
		{"developer and system messages join the system parts",
			`{"model":"m","instructions":"i","input":[{"role":"developer","content":"d"},{"role":"user","content":"u"},{"type":"message","role":"system","content":[{"type":"input_text","text":"s"}]}]}`,
			llm.Request{Model: "m", System: []llm.Part{text("i"), text("d"), text("s")}, Messages: []llm.Message{user(text("u"))}}},
		{"data URL image and empty text dropped",
			`{"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":""},{"type":"input_image","image_url":"data:image/jpg;base64,QUJD","detail":"high"}]}]}`,
			llm.Request{Model: "m", Messages: []llm.Message{user(llm.Part{Type: llm.PartImage, MediaType: "image/jpeg", Data: "QUJD"})}}},
		{"assistant history with refusal and a tool round trip",
			`{"model":"m","input":[
				{"role":"user","content":"q"},
				{"type":"message","id":"msg_1","status":"completed","role":"assistant","content":[{"type":"output_text","text":"a","annotations":[]},{"type":"refusal","refusal":"no"}]},
				{"type":"function_call","id":"fc_1","call_id":"c1","name":"f","arguments":""},
				{"type":"function_call","id":"fc_2","call_id":"c2","name":"g","arguments":"{\"x\":1}","status":"completed"},
				{"type":"function_call_output","call_id":"c2","output":[{"type":"input_text","text":"r2"},{"type":"input_image","image_url":"https://x/y.png"}]},
				{"type":"function_call_output","call_id":"c1","output":""},
				{"type":"function_call_output","call_id":"unknown","output":"r"},
				{"role":"user","content":[{"type":"input_text","text":"next"}]}
			]}`,
			llm.Request{Model: "m", Messages: []llm.Message{
				user(text("q")),
				assistant(text("a"), text("no"),
					llm.Part{Type: llm.PartToolCall, ID: "c1", Name: "f", Arguments: jsontext.Value(`{}`)},
					llm.Part{Type: llm.PartToolCall, ID: "c2", Name: "g", Arguments: jsontext.Value(`{"x":1}`)}),
				user(
					llm.Part{Type: llm.PartToolResult, ID: "c2", Name: "g", Content: []llm.Part{text("r2"), {Type: llm.PartImage, URL: "https://x/y.png"}}},
					llm.Part{Type: llm.PartToolResult, ID: "c1", Name: "f"},
					llm.Part{Type: llm.PartToolResult, ID: "unknown", Content: []llm.Part{text("r")}},
					text("next")),
			}}},
		{"reasoning items: ours kept, others dropped",
			`{"model":"m","input":[
				{"role":"user","content":"q"},
				{"type":"reasoning","id":"rs_openai","summary":[{"type":"summary_text","text":"openai"}],"encrypted_content":"gAAAAABo"},
				{"type":"reasoning","id":"rs_bare","summary":[{"type":"summary_text","text":"bare"}]},
				{"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"think "},{"type":"summary_text","text":"hard"}],"encrypted_content":"llmgw.thinking:sig=="},
				{"type":"reasoning","id":"rs_2","summary":[],"encrypted_content":"llmgw.redacted:opaque"},
				{"role":"assistant","content":"answer"}
			]}`,
			llm.Request{Model: "m", Messages: []llm.Message{
				user(text("q")),
				assistant(
					llm.Part{Type: llm.PartThinking, Text: "think hard", Signature: "sig=="},
					llm.Part{Type: llm.PartRedactedThinking, Signature: "opaque"},
					text("answer")),
			}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decode(t, []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			checkRequest(t, got, &tt.want)
		})
	}
}

// TestDecodeRequestFromSDK decodes what the official Go SDK sends.
func TestDecodeRequestFromSDK(t *testing.T) {
	call := responses.ResponseInputItemParamOfFunctionCall(`{"city":"Paris"}`, "call_1", "weather")
	out := responses.ResponseInputItemParamOfFunctionCallOutput("sunny")
	out.OfFunctionCallOutput.CallID = openai.String("call_1")
	reasoning := responses.ResponseInputItemParamOfReasoning("rs_1", []responses.ResponseReasoningItemSummaryParam{{Text: "hmm"}})
	reasoning.OfReasoning.EncryptedContent = openai.String(thinkingPrefix + "sig")
	params := responses.ResponseNewParams{
		Model:        "claude-sonnet",
		Instructions: openai.String("Be brief."),
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
			responses.ResponseInputItemParamOfMessage("What is the weather in Paris?", responses.EasyInputMessageRoleUser),
			reasoning,
			call,
			out,
			responses.ResponseInputItemParamOfMessage(responses.ResponseInputMessageContentListParam{
				responses.ResponseInputContentParamOfInputText("and now?"),
				{OfInputImage: &responses.ResponseInputImageParam{ImageURL: openai.String("https://example.com/a.png"), Detail: responses.ResponseInputImageDetailLow}},
			}, responses.EasyInputMessageRoleUser),
		}},
		Tools:             []responses.ToolUnionParam{responses.ToolParamOfFunction("weather", map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}, true)},
		ToolChoice:        responses.ResponseNewParamsToolChoiceUnion{OfFunctionTool: &responses.ToolChoiceFunctionParam{Name: "weather"}},
		ParallelToolCalls: openai.Bool(true),
		MaxOutputTokens:   openai.Int(1024),
		Temperature:       openai.Float(0.5),
		SafetyIdentifier:  openai.String("user-42"),
		Store:             openai.Bool(false),
		Include:           []responses.ResponseIncludable{responses.ResponseIncludableReasoningEncryptedContent},
		Reasoning:         shared.ReasoningParam{Effort: shared.ReasoningEffortLow},
		Text: responses.ResponseTextConfigParam{Format: responses.ResponseFormatTextConfigUnionParam{
			OfJSONSchema: &responses.ResponseFormatTextJSONSchemaConfigParam{Name: "w", Schema: map[string]any{"type": "object"}, Strict: openai.Bool(true)},
		}},
	}
	body, err := json.Marshal(params)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decode(t, body)
	if err != nil {
		t.Fatalf("%v\nbody: %s", err, body)
	}
	want := llm.Request{
		Model:  "claude-sonnet",
		System: []llm.Part{text("Be brief.")},
		Messages: []llm.Message{
			user(text("What is the weather in Paris?")),
			assistant(
				llm.Part{Type: llm.PartThinking, Text: "hmm", Signature: "sig"},
				llm.Part{Type: llm.PartToolCall, ID: "call_1", Name: "weather", Arguments: jsontext.Value(`{"city":"Paris"}`)}),
			user(
				llm.Part{Type: llm.PartToolResult, ID: "call_1", Name: "weather", Content: []llm.Part{text("sunny")}},
				text("and now?"),
				llm.Part{Type: llm.PartImage, URL: "https://example.com/a.png"}),
		},
		Tools:             []llm.Tool{{Name: "weather", Parameters: jsontext.Value(`{"properties":{"city":{"type":"string"}},"type":"object"}`)}},
		ToolChoice:        llm.ToolChoice{Mode: llm.ToolNamed, Name: "weather"},
		ParallelToolCalls: ptr(true),
		MaxTokens:         1024,
		Temperature:       ptr(0.5),
		User:              "user-42",
		Reasoning:         &llm.Reasoning{Effort: "low"},
		ResponseFormat:    &llm.ResponseFormat{Type: "json_schema", Name: "w", Schema: jsontext.Value(`{"type":"object"}`), Strict: true},
	}
	checkRequest(t, got, &want)
}

// FuzzDecodeRequest checks that no body makes the decoder panic and that
// every failure is a client error.
func FuzzDecodeRequest(f *testing.F) {
	for _, name := range []string{"request_text_input.json", "request_image_input.json", "request_functions.json",
		"request_function_call_output.json", "request_reasoning.json", "request_web_search.json"} {
		f.Add(fixture(f, name))
	}
	f.Add([]byte(`{"input":[{"type":"reasoning","encrypted_content":"llmgw.thinking:x","summary":[{"text":"a"}]},{"type":"function_call_output","call_id":"c","output":[{"type":"input_image","image_url":"data:image/png;base64,AA"}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var r llm.Request
		err := DecodeRequest(body, &r)
		var le *llm.Error
		if err != nil && !errors.As(err, &le) {
			t.Fatalf("error %v (%T) is not an *llm.Error", err, err)
		}
	})
}
