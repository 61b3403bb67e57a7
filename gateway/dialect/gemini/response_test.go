package gemini

import (
	stdjson "encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
	"google.golang.org/genai"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
)

func TestDecodeResponse(t *testing.T) {
	tests := []struct {
		name, body string
		check      func(t *testing.T, r *llm.Response)
	}{
		{"thoughts usage", string(fixture(t, "response_text_thoughts.json")), func(t *testing.T, r *llm.Response) {
			if r.ID != "3w4Vad6yF-y1vdIP_q_zgAw" || r.Model != "gemini-3-flash-preview" || r.Finish != llm.FinishStop {
				t.Errorf("id %q model %q finish %q", r.ID, r.Model, r.Finish)
			}
			if len(r.Parts) != 1 || r.Parts[0].Type != llm.PartText || !strings.HasPrefix(r.Parts[0].Text, "```\n---\n") {
				t.Errorf("parts = %+v", r.Parts)
			}
			if want := (llm.Usage{Input: 34, Output: 418 + 438, Reasoning: 438}); r.Usage != want {
				t.Errorf("usage = %+v, want %+v", r.Usage, want)
			}
		}},
		{"function call", string(fixture(t, "response_function_call.json")), func(t *testing.T, r *llm.Response) {
			if r.Finish != llm.FinishToolCalls || len(r.Parts) != 1 {
				t.Fatalf("finish %q parts %+v", r.Finish, r.Parts)
			}
			p := r.Parts[0]
			if p.Type != llm.PartToolCall || p.Name != "find_theaters" || p.ID != "call_0" || compactJSON(t, p.Arguments) != `{"movie":"Barbie","location":"Mountain View, CA"}` {
				t.Errorf("call = %+v", p)
			}
			if r.Usage != (llm.Usage{}) {
				t.Errorf("usage = %+v", r.Usage)
			}
		}},
		{"multi-turn function call", string(fixture(t, "response_function_call_multiturn.json")), func(t *testing.T, r *llm.Response) {
			if len(r.Parts) != 1 || r.Parts[0].Name != "find_movies" || compactJSON(t, r.Parts[0].Arguments) != `{"location":"Mountain View, CA","description":"comedy"}` || r.Finish != llm.FinishToolCalls {
				t.Errorf("got %+v", r)
			}
		}},
		{"call ids from response id", `{"candidates":[{"content":{"role":"model","parts":[{"thought":true,"text":"plan"},{"text":"ok","thoughtSignature":"c2ln"},{"functionCall":{"name":"a","args":{"x":1}},"thoughtSignature":"c2lnMg=="},{"functionCall":{"name":"b"}},{"inlineData":{"mimeType":"image/png","data":"AA=="}}]},"finishReason":"MAX_TOKENS"}],"usageMetadata":{"promptTokenCount":100,"cachedContentTokenCount":60,"toolUsePromptTokenCount":5,"candidatesTokenCount":7,"thoughtsTokenCount":3,"totalTokenCount":115},"responseId":"a+b/c=","modelVersion":"gemini-2.5-pro"}`, func(t *testing.T, r *llm.Response) {
			want := []llm.Part{
				{Type: llm.PartThinking, Text: "plan"},
				{Type: llm.PartText, Text: "ok", Signature: "c2ln"},
				{Type: llm.PartToolCall, ID: "call_abc_0", Name: "a", Arguments: jsontext.Value(`{"x":1}`), Signature: "c2lnMg=="},
				{Type: llm.PartToolCall, ID: "call_abc_1", Name: "b", Arguments: jsontext.Value(`{}`)},
			}
			if !reflect.DeepEqual(r.Parts, want) {
				t.Errorf("parts = %+v", r.Parts)
			}
			if r.Finish != llm.FinishLength {
				t.Errorf("finish = %q", r.Finish)
			}
			if want := (llm.Usage{Input: 105, CacheRead: 60, Output: 10, Reasoning: 3}); r.Usage != want {
				t.Errorf("usage = %+v, want %+v", r.Usage, want)
			}
		}},
		{"prompt blocked", `{"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[{"category":"HARM_CATEGORY_DANGEROUS_CONTENT","probability":"HIGH"}]},"usageMetadata":{"promptTokenCount":8,"totalTokenCount":8}}`, func(t *testing.T, r *llm.Response) {
			if r.Finish != llm.FinishContentFilter || len(r.Parts) != 0 || r.Usage.Input != 8 {
				t.Errorf("got %+v", r)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r llm.Response
			if err := DecodeResponse([]byte(tt.body), &r); err != nil {
				t.Fatal(err)
			}
			tt.check(t, &r)
		})
	}
	var r llm.Response
	if err := DecodeResponse([]byte(`{"candidates":`), &r); err == nil {
		t.Error("truncated body: no error")
	}
}

func TestDecodeFinish(t *testing.T) {
	tests := []struct {
		reason string
		calls  bool
		want   llm.Finish
	}{
		{"STOP", false, llm.FinishStop},
		{"STOP", true, llm.FinishToolCalls},
		{"MAX_TOKENS", true, llm.FinishLength},
		{"SAFETY", false, llm.FinishContentFilter},
		{"RECITATION", false, llm.FinishContentFilter},
		{"BLOCKLIST", false, llm.FinishContentFilter},
		{"PROHIBITED_CONTENT", false, llm.FinishContentFilter},
		{"SPII", false, llm.FinishContentFilter},
		{"IMAGE_SAFETY", false, llm.FinishContentFilter},
		{"LANGUAGE", false, llm.FinishContentFilter},
		{"MALFORMED_FUNCTION_CALL", false, llm.FinishStop},
		{"OTHER", false, llm.FinishStop},
		{"FINISH_REASON_UNSPECIFIED", true, llm.FinishToolCalls},
	}
	for _, tt := range tests {
		if got := decodeFinish(tt.reason, tt.calls); got != tt.want {
			t.Errorf("decodeFinish(%q, %v) = %q, want %q", tt.reason, tt.calls, got, tt.want)
		}
	}
}

func TestEncodeResponse(t *testing.T) {
	tests := []struct {
		name string
		resp llm.Response
		want string
	}{
		{
			name: "text",
			resp: llm.Response{ID: "resp-1", Model: "claude-sonnet-4-5", Parts: []llm.Part{{Type: llm.PartText, Text: "Hi!"}}, Finish: llm.FinishStopSequence, StopSequence: "END", Usage: llm.Usage{Input: 10, Output: 5}},
			want: `{"candidates":[{"content":{"parts":[{"text":"Hi!"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":5,"totalTokenCount":15},"modelVersion":"claude-sonnet-4-5","responseId":"resp-1"}`,
		},
		{
			name: "thinking and tools",
			resp: llm.Response{ID: "r", Model: "m", Parts: []llm.Part{
				{Type: llm.PartThinking, Text: "Plan.", Signature: "c2ln"},
				{Type: llm.PartRedactedThinking, Signature: "xyz"},
				{Type: llm.PartToolCall, ID: "toolu_1", Name: "f", Arguments: jsontext.Value(`{"a":1}`)},
				{Type: llm.PartToolCall, ID: "toolu_2", Name: "g", Signature: "gAAAA-_not-std"},
			}, Finish: llm.FinishToolCalls, Usage: llm.Usage{Input: 100, CacheRead: 40, CacheWrite: 10, Output: 30, Reasoning: 12}},
			want: `{"candidates":[{"content":{"parts":[{"text":"Plan.","thought":true,"thoughtSignature":"c2ln"},{"functionCall":{"name":"f","args":{"a":1}}},{"functionCall":{"name":"g","args":{}}}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":100,"candidatesTokenCount":18,"totalTokenCount":130,"cachedContentTokenCount":40,"thoughtsTokenCount":12},"modelVersion":"m","responseId":"r"}`,
		},
		{
			name: "length",
			resp: llm.Response{ID: "r", Parts: []llm.Part{{Type: llm.PartText, Text: "cut"}}, Finish: llm.FinishLength},
			want: `{"candidates":[{"content":{"parts":[{"text":"cut"}],"role":"model"},"finishReason":"MAX_TOKENS","index":0}],"usageMetadata":{"promptTokenCount":0,"candidatesTokenCount":0,"totalTokenCount":0},"responseId":"r"}`,
		},
		{
			name: "refusal",
			resp: llm.Response{ID: "r", Finish: llm.FinishRefusal},
			want: `{"candidates":[{"finishReason":"SAFETY","index":0}],"usageMetadata":{"promptTokenCount":0,"candidatesTokenCount":0,"totalTokenCount":0},"responseId":"r"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EncodeResponse(&tt.resp, llm.ResponseOptions{Created: 1})
			if err != nil {
				t.Fatal(err)
			}
			jsonEqual(t, got, tt.want)
		})
	}
	b, err := EncodeResponse(&llm.Response{Finish: llm.FinishStop}, llm.ResponseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ ResponseID string }
	if err := stdjson.Unmarshal(b, &v); err != nil || len(v.ResponseID) != 22 {
		t.Errorf("made-up response ID %q (%v)", v.ResponseID, err)
	}
}

// TestEncodeResponseGenAI checks that the official Go SDK reads what
// EncodeResponse writes.
func TestEncodeResponseGenAI(t *testing.T) {
	r := llm.Response{ID: "r1", Model: "gpt-5", Parts: []llm.Part{
		{Type: llm.PartThinking, Text: "thinking", Signature: "c2lnLTE="},
		{Type: llm.PartText, Text: "Calling."},
		{Type: llm.PartToolCall, ID: "call_x", Name: "get_weather", Arguments: jsontext.Value(`{"city":"Paris"}`), Signature: "c2lnLTI="},
	}, Finish: llm.FinishToolCalls, Usage: llm.Usage{Input: 20, CacheRead: 5, Output: 9, Reasoning: 4}}
	b, err := EncodeResponse(&r, llm.ResponseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var g genai.GenerateContentResponse
	if err := stdjson.Unmarshal(b, &g); err != nil {
		t.Fatalf("genai cannot read %s: %v", b, err)
	}
	if txt := g.Candidates[0].Content.Parts[1].Text; txt != "Calling." || g.ResponseID != "r1" || g.ModelVersion != "gpt-5" {
		t.Errorf("text %q id %q model %q", txt, g.ResponseID, g.ModelVersion)
	}
	calls := g.FunctionCalls()
	if len(calls) != 1 || calls[0].Name != "get_weather" || calls[0].Args["city"] != "Paris" {
		t.Errorf("calls = %+v", calls)
	}
	c := g.Candidates[0]
	if c.FinishReason != genai.FinishReasonStop || !c.Content.Parts[0].Thought || string(c.Content.Parts[0].ThoughtSignature) != "sig-1" || string(c.Content.Parts[2].ThoughtSignature) != "sig-2" {
		t.Errorf("candidate = %+v", c)
	}
	u := g.UsageMetadata
	if u.PromptTokenCount != 20 || u.CachedContentTokenCount != 5 || u.CandidatesTokenCount != 5 || u.ThoughtsTokenCount != 4 || u.TotalTokenCount != 29 {
		t.Errorf("usage = %+v", u)
	}
	// And the answer decodes back to what was encoded (but for the IDs
	// Gemini does not carry).
	var back llm.Response
	if err := DecodeResponse(b, &back); err != nil {
		t.Fatal(err)
	}
	r.Parts[2].ID = "call_r1_0"
	if !reflect.DeepEqual(back.Parts, r.Parts) || back.Usage != r.Usage || back.Finish != r.Finish {
		t.Errorf("round trip:\n got %+v\nwant %+v", back, r)
	}
}
