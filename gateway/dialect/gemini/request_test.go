package gemini

import (
	"bytes"
	stdjson "encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
)

// fixture reads a file of testdata.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// jsonEqual fails unless got and want hold the same JSON value.
func jsonEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := stdjson.Unmarshal(got, &g); err != nil {
		t.Fatalf("invalid JSON %s: %v", got, err)
	}
	if err := stdjson.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("invalid wanted JSON %s: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("JSON mismatch\n got: %s\nwant: %s", got, want)
	}
}

// compactJSON returns v without insignificant whitespace.
func compactJSON(t *testing.T, v jsontext.Value) string {
	t.Helper()
	c := v.Clone()
	if err := c.Compact(); err != nil {
		t.Fatalf("invalid JSON %s: %v", v, err)
	}
	return string(c)
}

func f64(v float64) *float64 { return &v }
func i64(v int64) *int64     { return &v }

func TestDecodeRequest(t *testing.T) {
	tests := []struct {
		file  string
		check func(t *testing.T, r *llm.Request)
	}{
		{"request_function_calling.json", func(t *testing.T, r *llm.Request) {
			if len(r.Messages) != 1 || r.Messages[0].Role != llm.RoleUser || r.Messages[0].Parts[0].Text != "Which theaters in Mountain View show Barbie movie?" {
				t.Errorf("messages = %+v", r.Messages)
			}
			if len(r.Tools) != 3 || r.Tools[1].Name != "find_theaters" || !strings.HasPrefix(r.Tools[1].Description, "find theaters based on location") {
				t.Fatalf("tools = %+v", r.Tools)
			}
			want := `{"type":"object","properties":{"location":{"type":"string","description":"The city and state, e.g. San Francisco, CA or a zip code e.g. 95616"},"movie":{"type":"string","description":"Any movie title"}},"required":["location"]}`
			if got := compactJSON(t, r.Tools[1].Parameters); got != want {
				t.Errorf("parameters = %s, want %s", got, want)
			}
			if r.ToolChoice.Mode != "" || r.Model != "" || r.Stream {
				t.Errorf("tool choice %+v, model %q, stream %v", r.ToolChoice, r.Model, r.Stream)
			}
		}},
		{"request_function_calling_multiturn.json", func(t *testing.T, r *llm.Request) {
			if len(r.Messages) != 5 {
				t.Fatalf("%d messages", len(r.Messages))
			}
			call := r.Messages[1].Parts[0]
			if r.Messages[1].Role != llm.RoleAssistant || call.Type != llm.PartToolCall || call.ID != "call_0" || call.Name != "find_theaters" {
				t.Errorf("call = %+v", call)
			}
			if got := compactJSON(t, call.Arguments); got != `{"location":"Mountain View, CA","movie":"Barbie"}` {
				t.Errorf("arguments = %s", got)
			}
			res := r.Messages[2].Parts[0]
			if r.Messages[2].Role != llm.RoleUser || res.Type != llm.PartToolResult || res.ID != "call_0" || res.Name != "find_theaters" || res.IsError || len(res.Content) != 1 {
				t.Fatalf("result = %+v", res)
			}
			if !strings.HasPrefix(res.Content[0].Text, `{"name":"find_theaters","content":{"movie":"Barbie","theaters":[{"name":"AMC Mountain View 16"`) {
				t.Errorf("result text = %s", res.Content[0].Text)
			}
			if got := compactJSON(t, r.Tools[0].Parameters); !strings.HasPrefix(got, `{"type":"object","properties":{"location":{"type":"string"`) {
				t.Errorf("upper-case OpenAPI types not converted: %s", got)
			}
		}},
		{"request_function_calling_config.json", func(t *testing.T, r *llm.Request) {
			if len(r.System) != 1 || !strings.HasPrefix(r.System[0].Text, "You are a helpful lighting system bot.") {
				t.Errorf("system = %+v", r.System)
			}
			want := llm.ToolChoice{Mode: llm.ToolRequired, Allowed: []string{"set_light_color", "stop_lights"}}
			if !reflect.DeepEqual(r.ToolChoice, want) {
				t.Errorf("tool choice = %+v, want %+v", r.ToolChoice, want)
			}
			if got := compactJSON(t, r.Tools[0].Parameters); got != `{"type":"object"}` {
				t.Errorf("parameters = %s", got)
			}
		}},
		{"request_thought_signatures.json", func(t *testing.T, r *llm.Request) {
			var calls, results []llm.Part
			for _, m := range r.Messages {
				for _, p := range m.Parts {
					switch p.Type {
					case llm.PartToolCall:
						calls = append(calls, p)
					case llm.PartToolResult:
						results = append(results, p)
					}
				}
			}
			if len(calls) != 2 || calls[0].Signature != "c2lnLTE=" || calls[1].Signature != "c2lnLTI=" || calls[1].ID != "call_1" {
				t.Errorf("calls = %+v", calls)
			}
			if len(results) != 2 || results[0].ID != "call_0" || results[1].ID != "call_1" || results[1].Content[0].Text != `{"status":"success"}` {
				t.Errorf("results = %+v", results)
			}
		}},
		{"request_structured_output.json", func(t *testing.T, r *llm.Request) {
			rf := r.ResponseFormat
			if rf == nil || rf.Type != "json_schema" || rf.Name != "response" {
				t.Fatalf("response format = %+v", rf)
			}
			want := `{"type":"array","items":{"type":"object","properties":{"recipeName":{"type":"string"},"ingredients":{"type":"array","items":{"type":"string"}}}}}`
			if got := compactJSON(t, rf.Schema); got != want {
				t.Errorf("schema = %s, want %s", got, want)
			}
		}},
		{"request_generation_config.json", func(t *testing.T, r *llm.Request) {
			want := llm.Request{
				Messages:    []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "Explain how AI works"}}}},
				MaxTokens:   800,
				Temperature: f64(1), TopP: f64(0.8), TopK: i64(10),
				Stop: []string{"Title"},
			}
			if !reflect.DeepEqual(*r, want) {
				t.Errorf("got %+v\nwant %+v", *r, want)
			}
		}},
		{"request_image.json", func(t *testing.T, r *llm.Request) {
			ps := r.Messages[0].Parts
			if len(ps) != 2 || ps[0].Type != llm.PartImage || ps[0].MediaType != "image/jpeg" || !strings.HasPrefix(ps[0].Data, "/9j/") || ps[1].Text != "Caption this image." {
				t.Errorf("parts = %+v", ps)
			}
		}},
		{"request_thinking.json", func(t *testing.T, r *llm.Request) {
			if r.Reasoning == nil || *r.Reasoning != (llm.Reasoning{}) {
				t.Errorf("reasoning = %+v, want empty (dynamic thinking)", r.Reasoning)
			}
			if len(r.System) != 1 || r.System[0].Text != "Think deep. Always double check the answer before making the conclusion." {
				t.Errorf("system = %+v", r.System)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var r llm.Request
			r.Model = "stale" // DecodeRequest resets r
			if err := DecodeRequest(fixture(t, tt.file), &r); err != nil {
				t.Fatal(err)
			}
			tt.check(t, &r)
		})
	}
}

func TestDecodeRequestCases(t *testing.T) {
	tests := []struct {
		name, body string
		check      func(t *testing.T, r *llm.Request)
	}{
		{"thinking budget", `{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"thinkingConfig":{"thinkingBudget":1024,"includeThoughts":true}}}`, func(t *testing.T, r *llm.Request) {
			if r.Reasoning == nil || *r.Reasoning != (llm.Reasoning{BudgetTokens: 1024}) {
				t.Errorf("reasoning = %+v", r.Reasoning)
			}
		}},
		{"thinking off", `{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"thinkingConfig":{"thinkingBudget":0}}}`, func(t *testing.T, r *llm.Request) {
			if r.Reasoning == nil || !r.Reasoning.Disabled {
				t.Errorf("reasoning = %+v", r.Reasoning)
			}
		}},
		{"thinking level", `{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"thinkingConfig":{"thinkingLevel":"HIGH"}}}`, func(t *testing.T, r *llm.Request) {
			if r.Reasoning == nil || r.Reasoning.Effort != "high" {
				t.Errorf("reasoning = %+v", r.Reasoning)
			}
		}},
		{"json mode", `{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"response_mime_type":"application/json","candidate_count":1,"seed":7,"presencePenalty":0.5,"frequencyPenalty":0.25}}`, func(t *testing.T, r *llm.Request) {
			if r.ResponseFormat == nil || r.ResponseFormat.Type != "json_object" || r.Candidates != 1 || *r.Seed != 7 || *r.PresencePenalty != 0.5 || *r.FrequencyPenalty != 0.25 {
				t.Errorf("got %+v", r)
			}
		}},
		{"json schema", `{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"responseMimeType":"application/json","responseJsonSchema":{"type":"object","additionalProperties":false}}}`, func(t *testing.T, r *llm.Request) {
			if r.ResponseFormat == nil || r.ResponseFormat.Type != "json_schema" || compactJSON(t, r.ResponseFormat.Schema) != `{"type":"object","additionalProperties":false}` {
				t.Errorf("response format = %+v", r.ResponseFormat)
			}
		}},
		{"named tool", `{"contents":[{"parts":[{"text":"hi"}]}],"tools":[{"functionDeclarations":[{"name":"f","parametersJsonSchema":{"type":"object","properties":{"a":{"type":["string","null"]}}}}]}],"toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["f"]}}}`, func(t *testing.T, r *llm.Request) {
			if !reflect.DeepEqual(r.ToolChoice, llm.ToolChoice{Mode: llm.ToolNamed, Name: "f"}) {
				t.Errorf("tool choice = %+v", r.ToolChoice)
			}
			if got := compactJSON(t, r.Tools[0].Parameters); got != `{"type":"object","properties":{"a":{"type":["string","null"]}}}` {
				t.Errorf("parametersJsonSchema changed: %s", got)
			}
		}},
		{"tool choice none and validated", `{"contents":[{"parts":[{"text":"hi"}]}],"toolConfig":{"functionCallingConfig":{"mode":"VALIDATED","allowedFunctionNames":["f","g"]}}}`, func(t *testing.T, r *llm.Request) {
			if !reflect.DeepEqual(r.ToolChoice, llm.ToolChoice{Mode: llm.ToolAuto, Allowed: []string{"f", "g"}}) {
				t.Errorf("tool choice = %+v", r.ToolChoice)
			}
		}},
		{"thinking history", `{"contents":[{"role":"user","parts":[{"text":"q"}]},{"role":"model","parts":[{"text":"hmm","thought":true,"thoughtSignature":"c2ln"},{"text":"a","thoughtSignature":"dGV4dA=="},{"text":"","thoughtSignature":"ZW5k"}]}]}`, func(t *testing.T, r *llm.Request) {
			want := []llm.Part{
				{Type: llm.PartThinking, Text: "hmm", Signature: "c2ln"},
				{Type: llm.PartText, Text: "a", Signature: "dGV4dA=="},
				{Type: llm.PartThinking, Signature: "ZW5k"},
			}
			if !reflect.DeepEqual(r.Messages[1].Parts, want) {
				t.Errorf("parts = %+v", r.Messages[1].Parts)
			}
		}},
		{"pairing by name and id", `{"contents":[
			{"role":"model","parts":[{"functionCall":{"name":"a","args":{}}},{"functionCall":{"name":"b"}},{"functionCall":{"name":"a","args":{"x":1}}},{"functionCall":{"id":"own","name":"c"}}]},
			{"role":"user","parts":[{"functionResponse":{"name":"a","response":{"r":2}}},{"functionResponse":{"id":"own","name":"c","response":{"error":"boom"}}},{"functionResponse":{"name":"a","response":{"r":1}}},{"functionResponse":{"name":"b","response":{"output":"ok","error":"no"}}}]}]}`,
			func(t *testing.T, r *llm.Request) {
				calls := r.Messages[0].Parts
				var ids []string
				for _, c := range calls {
					ids = append(ids, c.ID)
				}
				if !reflect.DeepEqual(ids, []string{"call_0", "call_1", "call_2", "own"}) || string(calls[1].Arguments) != "{}" {
					t.Errorf("calls = %+v", calls)
				}
				res := r.Messages[1].Parts
				got := []string{res[0].ID, res[1].ID, res[2].ID, res[3].ID}
				if !reflect.DeepEqual(got, []string{"call_0", "own", "call_2", "call_1"}) {
					t.Errorf("result IDs = %v", got)
				}
				if res[0].IsError || !res[1].IsError || res[3].IsError {
					t.Errorf("IsError = %v %v %v", res[0].IsError, res[1].IsError, res[3].IsError)
				}
			}},
		{"multimodal function response and file data", `{"contents":[{"role":"model","parts":[{"functionCall":{"name":"shot"}}]},{"role":"user","parts":[{"functionResponse":{"name":"shot","response":{},"parts":[{"inlineData":{"mimeType":"image/png","data":"iVBORw=="}}]}},{"fileData":{"fileUri":"https://example.com/a.webp"}}]}]}`, func(t *testing.T, r *llm.Request) {
			res := r.Messages[1].Parts[0]
			if len(res.Content) != 2 || res.Content[0].Text != "{}" || !reflect.DeepEqual(res.Content[1], llm.Part{Type: llm.PartImage, MediaType: "image/png", Data: "iVBORw=="}) {
				t.Errorf("result = %+v", res)
			}
			if img := r.Messages[1].Parts[1]; img.Type != llm.PartImage || img.URL != "https://example.com/a.webp" || img.MediaType != "image/webp" {
				t.Errorf("image = %+v", img)
			}
		}},
		{"unmatched responses", `{"contents":[{"role":"user","parts":[{"functionResponse":{"name":"a","response":{"x":1}}},{"functionResponse":{"id":"zz","name":"b","response":{}}}]}]}`, func(t *testing.T, r *llm.Request) {
			if res := r.Messages[0].Parts; res[0].ID != "call_0" || res[1].ID != "zz" {
				t.Errorf("results = %+v", res)
			}
		}},
		{"safety settings dropped", `{"contents":[{"parts":[{"text":"hi"}]}],"safetySettings":[{"category":"HARM_CATEGORY_HARASSMENT","threshold":"BLOCK_NONE"}],"generationConfig":{"responseModalities":["TEXT"]}}`, func(t *testing.T, r *llm.Request) {
			if len(r.Messages) != 1 {
				t.Errorf("messages = %+v", r.Messages)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r llm.Request
			if err := DecodeRequest([]byte(tt.body), &r); err != nil {
				t.Fatal(err)
			}
			tt.check(t, &r)
		})
	}
}

func TestDecodeRequestErrors(t *testing.T) {
	tests := []struct {
		name, body, param string
	}{
		{"invalid JSON", `{"contents":`, ""},
		{"pdf", `{"contents":[{"parts":[{"inlineData":{"mimeType":"application/pdf","data":"JVBE"}}]}]}`, "contents[0].parts[0].inlineData.mimeType"},
		{"video file", `{"contents":[{"parts":[{"text":"x"},{"fileData":{"mimeType":"video/mp4","fileUri":"https://x/v.mp4"}}]}]}`, "contents[0].parts[1].fileData.mimeType"},
		{"google search", `{"contents":[{"parts":[{"text":"x"}]}],"tools":[{"googleSearch":{}}]}`, "tools[0]"},
		{"code execution part", `{"contents":[{"role":"model","parts":[{"executableCode":{"language":"PYTHON","code":"1"}}]}]}`, "contents[0].parts[0]"},
		{"unknown role", `{"contents":[{"role":"system","parts":[{"text":"x"}]}]}`, "contents[0].role"},
		{"call in user turn", `{"contents":[{"role":"user","parts":[{"functionCall":{"name":"f"}}]}]}`, "contents[0].parts[0].functionCall"},
		{"response in model turn", `{"contents":[{"role":"model","parts":[{"functionResponse":{"name":"f","response":{}}}]}]}`, "contents[0].parts[0].functionResponse"},
		{"cached content", `{"contents":[{"parts":[{"text":"x"}]}],"cachedContent":"cachedContents/abc"}`, "cachedContent"},
		{"enum MIME type", `{"contents":[{"parts":[{"text":"x"}]}],"generationConfig":{"responseMimeType":"text/x.enum"}}`, "generationConfig.responseMimeType"},
		{"audio output", `{"contents":[{"parts":[{"text":"x"}]}],"generationConfig":{"responseModalities":["AUDIO"]}}`, "generationConfig.responseModalities"},
		{"bad mode", `{"contents":[{"parts":[{"text":"x"}]}],"toolConfig":{"functionCallingConfig":{"mode":"SOMETIMES"}}}`, "toolConfig.functionCallingConfig.mode"},
		{"empty part", `{"contents":[{"parts":[{}]}]}`, "contents[0].parts[0]"},
		{"image system", `{"systemInstruction":{"parts":[{"inlineData":{"mimeType":"image/png","data":"x"}}]},"contents":[]}`, "systemInstruction.parts[0]"},
		{"nameless function", `{"contents":[],"tools":[{"functionDeclarations":[{"description":"d"}]}]}`, "tools[0].functionDeclarations[0].name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r llm.Request
			err := DecodeRequest([]byte(tt.body), &r)
			var le *llm.Error
			if !errors.As(err, &le) {
				t.Fatalf("error = %v, want an *llm.Error", err)
			}
			if le.Param != tt.param {
				t.Errorf("param = %q, want %q (%v)", le.Param, tt.param, err)
			}
		})
	}
}

func TestEncodeRequest(t *testing.T) {
	yes := true
	tests := []struct {
		name string
		req  llm.Request
		want string
	}{
		{
			name: "conversation with tools",
			req: llm.Request{
				Model:  "ignored",
				Stream: true,
				System: []llm.Part{{Type: llm.PartText, Text: "Be brief."}, {Type: llm.PartText, Text: "Use tools."}},
				Messages: []llm.Message{
					{Role: llm.RoleUser, Parts: []llm.Part{
						{Type: llm.PartText, Text: "Weather in Paris? See"},
						{Type: llm.PartImage, MediaType: "image/png", Data: "iVBORw=="},
						{Type: llm.PartImage, URL: "https://example.com/map.webp"},
						{Type: llm.PartImage, URL: "data:image/gif;base64,R0lG"},
					}},
					{Role: llm.RoleAssistant, Parts: []llm.Part{
						{Type: llm.PartThinking, Text: "Look it up.", Signature: "c2ln"},
						{Type: llm.PartRedactedThinking, Signature: "opaque"},
						{Type: llm.PartText, Text: "Checking."},
						{Type: llm.PartToolCall, ID: "toolu_1", Name: "get_weather", Arguments: jsontext.Value(`{"city":"Paris"}`)},
						{Type: llm.PartToolCall, ID: "toolu_2", Name: "get_time"},
					}},
					{Role: llm.RoleUser, Parts: []llm.Part{
						{Type: llm.PartToolResult, ID: "toolu_1", Content: []llm.Part{{Type: llm.PartText, Text: `{"temp": 21}`}}},
					}},
					{Role: llm.RoleUser, Parts: []llm.Part{
						{Type: llm.PartToolResult, ID: "toolu_2", Name: "get_time", IsError: true, Content: []llm.Part{{Type: llm.PartText, Text: "clock broken"}}},
						{Type: llm.PartText, Text: "Go on."},
					}},
				},
				Tools: []llm.Tool{
					{Name: "get_weather", Description: "Weather.", Parameters: jsontext.Value(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}`)},
					{Name: "get_time"},
				},
				ToolChoice:        llm.ToolChoice{Mode: llm.ToolNamed, Name: "get_weather"},
				ParallelToolCalls: &yes,
				MaxTokens:         100,
				Temperature:       f64(0.5),
				TopK:              i64(3),
				Stop:              []string{"END"},
				User:              "u1",
				Reasoning:         &llm.Reasoning{Effort: "low"},
				ResponseFormat:    &llm.ResponseFormat{Type: "json_schema", Name: "x", Strict: true, Schema: jsontext.Value(`{"type":"object"}`)},
			},
			want: `{
			"systemInstruction":{"parts":[{"text":"Be brief."},{"text":"Use tools."}]},
			"contents":[
				{"role":"user","parts":[
					{"text":"Weather in Paris? See"},
					{"inlineData":{"mimeType":"image/png","data":"iVBORw=="}},
					{"fileData":{"mimeType":"image/webp","fileUri":"https://example.com/map.webp"}},
					{"inlineData":{"mimeType":"image/gif","data":"R0lG"}}]},
				{"role":"model","parts":[
					{"text":"Look it up.","thought":true,"thoughtSignature":"c2ln"},
					{"text":"Checking."},
					{"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"skip_thought_signature_validator"},
					{"functionCall":{"name":"get_time","args":{}}}]},
				{"role":"user","parts":[
					{"functionResponse":{"name":"get_weather","response":{"temp": 21}}},
					{"functionResponse":{"name":"get_time","response":{"error":"clock broken"}}},
					{"text":"Go on."}]}],
			"tools":[{"functionDeclarations":[
				{"name":"get_weather","description":"Weather.","parametersJsonSchema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}},
				{"name":"get_time"}]}],
			"toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["get_weather"]}},
			"generationConfig":{"temperature":0.5,"topK":3,"maxOutputTokens":100,"stopSequences":["END"],
				"responseMimeType":"application/json","responseJsonSchema":{"type":"object"},
				"thinkingConfig":{"includeThoughts":true,"thinkingBudget":1024}}}`,
		},
		{
			name: "signed call, text result, disabled thinking",
			req: llm.Request{
				Messages: []llm.Message{
					{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "q"}}},
					{Role: llm.RoleAssistant, Parts: []llm.Part{{Type: llm.PartToolCall, ID: "call_0", Name: "f", Arguments: jsontext.Value(`{}`), Signature: "c2lnLTE="}}},
					{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartToolResult, ID: "call_0", Name: "f", Content: []llm.Part{{Type: llm.PartText, Text: "42 \"units\""}, {Type: llm.PartImage, URL: "https://e.com/x.png"}}}}},
				},
				ToolChoice: llm.ToolChoice{Mode: llm.ToolRequired},
				Reasoning:  &llm.Reasoning{Disabled: true},
			},
			want: `{"contents":[
				{"role":"user","parts":[{"text":"q"}]},
				{"role":"model","parts":[{"functionCall":{"name":"f","args":{}},"thoughtSignature":"c2lnLTE="}]},
				{"role":"user","parts":[{"functionResponse":{"name":"f","response":{"output":"42 \"units\""},"parts":[{"fileData":{"mimeType":"image/png","fileUri":"https://e.com/x.png"}}]}}]}],
				"toolConfig":{"functionCallingConfig":{"mode":"ANY"}},
				"generationConfig":{"thinkingConfig":{"thinkingBudget":0}}}`,
		},
		{
			name: "auto with allowed, json object, budget, foreign signature",
			req: llm.Request{
				Messages: []llm.Message{
					{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "q"}}},
					{Role: llm.RoleAssistant, Parts: []llm.Part{{Type: llm.PartThinking, Text: "t", Signature: "not base64!"}, {Type: llm.PartText, Text: "a"}}},
					{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "again"}}},
				},
				ToolChoice:     llm.ToolChoice{Mode: llm.ToolAuto, Allowed: []string{"f"}},
				Reasoning:      &llm.Reasoning{BudgetTokens: 2048},
				ResponseFormat: &llm.ResponseFormat{Type: "json_object"},
			},
			want: `{"contents":[
				{"role":"user","parts":[{"text":"q"}]},
				{"role":"model","parts":[{"text":"t","thought":true},{"text":"a"}]},
				{"role":"user","parts":[{"text":"again"}]}],
				"toolConfig":{"functionCallingConfig":{"mode":"VALIDATED","allowedFunctionNames":["f"]}},
				"generationConfig":{"responseMimeType":"application/json","thinkingConfig":{"includeThoughts":true,"thinkingBudget":2048}}}`,
		},
		{
			name: "empty reasoning and none",
			req: llm.Request{
				Messages:   []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "q"}}}},
				ToolChoice: llm.ToolChoice{Mode: llm.ToolNone},
				Reasoning:  &llm.Reasoning{},
			},
			want: `{"contents":[{"role":"user","parts":[{"text":"q"}]}],"toolConfig":{"functionCallingConfig":{"mode":"NONE"}},"generationConfig":{"thinkingConfig":{"includeThoughts":true}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EncodeRequest(&tt.req, llm.EncodeOptions{Model: "gemini-2.5-flash", DefaultMaxTokens: 4096})
			if err != nil {
				t.Fatal(err)
			}
			jsonEqual(t, got, tt.want)
		})
	}
}

func TestEncodeRequestErrors(t *testing.T) {
	tests := []struct {
		name string
		req  llm.Request
	}{
		{"nameless result", llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartToolResult, ID: "toolu_9", Content: []llm.Part{{Type: llm.PartText, Text: "x"}}}}}}}},
		{"candidates", llm.Request{Candidates: 2, Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "x"}}}}}},
		{"effort", llm.Request{Reasoning: &llm.Reasoning{Effort: "extreme"}, Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "x"}}}}}},
		{"image without source", llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartImage}}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := EncodeRequest(&tt.req, llm.EncodeOptions{})
			var le *llm.Error
			if !errors.As(err, &le) {
				t.Fatalf("error = %v, want an *llm.Error", err)
			}
			if tt.name == "nameless result" && !strings.Contains(le.Message, "toolu_9") {
				t.Errorf("message %q does not name the call", le.Message)
			}
		})
	}
}

// TestRequestRoundTrip decodes each request fixture, encodes it and decodes
// the result again: the two neutral requests must match (but for the
// signature placeholder the encoder adds to unsigned calls).
func TestRequestRoundTrip(t *testing.T) {
	files := []string{
		"request_function_calling.json", "request_function_calling_multiturn.json",
		"request_function_calling_config.json", "request_thought_signatures.json",
		"request_structured_output.json", "request_generation_config.json",
		"request_image.json", "request_thinking.json",
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			var first, second llm.Request
			if err := DecodeRequest(fixture(t, f), &first); err != nil {
				t.Fatal(err)
			}
			b, err := EncodeRequest(&first, llm.EncodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := DecodeRequest(b, &second); err != nil {
				t.Fatalf("%v\n%s", err, b)
			}
			normalize := func(r *llm.Request) {
				for i := range r.Messages {
					for j := range r.Messages[i].Parts {
						p := &r.Messages[i].Parts[j]
						if p.Signature == skipSignature {
							p.Signature = ""
						}
						if p.Arguments != nil {
							p.Arguments = jsontext.Value(compactJSON(t, p.Arguments))
						}
					}
				}
				for i := range r.Tools {
					r.Tools[i].Parameters = jsontext.Value(compactJSON(t, r.Tools[i].Parameters))
				}
				if r.ResponseFormat != nil {
					r.ResponseFormat.Schema = jsontext.Value(compactJSON(t, r.ResponseFormat.Schema))
				}
			}
			normalize(&first)
			normalize(&second)
			if !reflect.DeepEqual(first, second) {
				t.Errorf("round trip changed the request\nfirst:  %+v\nsecond: %+v\nbody: %s", first, second, b)
			}
		})
	}
}

func TestConvertSchema(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"type":"OBJECT","properties":{"z":{"type":"STRING","nullable":true,"format":"enum","enum":["a","b"]},"a":{"type":"ARRAY","items":{"type":"INTEGER","format":"int64"},"minItems":"1","maxItems":3}},"required":["z"],"propertyOrdering":["z","a"]}`,
			`{"type":"object","properties":{"z":{"type":["string","null"],"enum":["a","b"]},"a":{"type":"array","items":{"type":"integer","format":"int64"},"minItems":1,"maxItems":3}},"required":["z"]}`},
		{`{"anyOf":[{"type":"NUMBER","minimum":0},{"type":"BOOLEAN"}],"description":"d","title":"T","example":5,"default":1}`,
			`{"title":"T","description":"d","anyOf":[{"type":"number","minimum":0},{"type":"boolean"}],"default":1,"examples":[5]}`},
		{`{"type":"TYPE_UNSPECIFIED","pattern":"^a$","min_length":2}`, `{"pattern":"^a$","minLength":2}`},
		{`{"type":"OBJECT","additional_properties":false,"property_ordering":["a"],"any_of":[{"type":"STRING","nullable":false}],"max_properties":"4"}`,
			`{"type":"object","additionalProperties":false,"anyOf":[{"type":"string"}],"maxProperties":4}`},
	}
	for _, tt := range tests {
		got, err := convertSchema(jsontext.Value(tt.in))
		if err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		jsonEqual(t, got, tt.want)
	}
	for _, bad := range []string{`{"properties":[1]}`, `{"anyOf":[1]}`, `{"type":1}`, `[]`, `{"items":"x"}`} {
		if _, err := convertSchema(jsontext.Value(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	deep := strings.Repeat(`{"items":`, 100) + `{}` + strings.Repeat(`}`, 100)
	if _, err := convertSchema(jsontext.Value(deep)); err == nil {
		t.Error("deep schema: no error")
	}
}

// TestThinkingOnlyForThinkingModels: Gemini 1.x and 2.0 models refuse a
// thinkingConfig, and the Pro models a budget of 0.
func TestThinkingOnlyForThinkingModels(t *testing.T) {
	msgs := []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "hi"}}}}
	cases := []struct {
		model string
		re    llm.Reasoning
		want  bool // a thinkingConfig is sent
	}{
		{"gemini-2.5-flash", llm.Reasoning{Effort: "low"}, true},
		{"gemini-2.5-flash", llm.Reasoning{Disabled: true}, true},
		{"gemini-2.5-pro", llm.Reasoning{Disabled: true}, false},
		{"gemini-2.5-pro", llm.Reasoning{BudgetTokens: 2048}, true},
		{"gemini-3-pro-preview", llm.Reasoning{Effort: "high"}, true},
		{"gemini-2.0-flash", llm.Reasoning{Effort: "high"}, false},
		{"gemini-1.5-pro", llm.Reasoning{BudgetTokens: 1024}, false},
	}
	for _, c := range cases {
		b, err := EncodeRequest(&llm.Request{Messages: msgs, Reasoning: &c.re}, llm.EncodeOptions{Model: c.model})
		if err != nil {
			t.Fatal(err)
		}
		if got := bytes.Contains(b, []byte(`"thinkingConfig"`)); got != c.want {
			t.Errorf("%s %+v: thinkingConfig sent %v, want %v: %s", c.model, c.re, got, c.want, b)
		}
	}
}
