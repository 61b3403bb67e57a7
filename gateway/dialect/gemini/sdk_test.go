package gemini

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"google.golang.org/genai"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
)

// TestGenAISDK plays the gateway for the official Go SDK: it decodes the
// requests the SDK sends and answers with EncodeResponse and the stream
// encoder, and checks what the SDK makes of the answers, including the
// chat history it sends back on the next turn.
func TestGenAISDK(t *testing.T) {
	var (
		mu   sync.Mutex
		reqs []llm.Request
		errs []error
	)
	answers := map[int][]llm.Event{
		0: { // a thought, then a signed tool call
			{Type: llm.EventStart, ID: "resp_a", Model: "claude-x", Usage: llm.Usage{Input: 30}},
			{Type: llm.EventThinking, Index: 0, Text: "The user wants the weather."},
			{Type: llm.EventThinking, Index: 0, Signature: "c2lnLTA="},
			{Type: llm.EventToolCall, Index: 1, ID: "toolu_1", Name: "get_weather", Signature: "c2lnLTE="},
			{Type: llm.EventToolArgs, Index: 1, Text: `{"city":`},
			{Type: llm.EventToolArgs, Index: 1, Text: `"Paris"}`},
			{Type: llm.EventFinish, Finish: llm.FinishToolCalls},
			{Type: llm.EventUsage, Usage: llm.Usage{Input: 30, Output: 12, Reasoning: 7}},
			{Type: llm.EventEnd},
		},
		1: {
			{Type: llm.EventStart, ID: "resp_b", Model: "claude-x"},
			{Type: llm.EventText, Index: 0, Text: "It is "},
			{Type: llm.EventText, Index: 0, Text: "sunny."},
			{Type: llm.EventFinish, Finish: llm.FinishStop},
			{Type: llm.EventUsage, Usage: llm.Usage{Input: 50, Output: 4}},
			{Type: llm.EventEnd},
		},
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req llm.Request
		err := DecodeRequest(body, &req)
		mu.Lock()
		n := len(reqs)
		reqs = append(reqs, req)
		if err != nil {
			errs = append(errs, err)
		}
		mu.Unlock()
		if strings.HasSuffix(r.URL.Path, ":streamGenerateContent") {
			w.Header().Set("Content-Type", "text/event-stream")
			enc := NewStreamEncoder(llm.ResponseOptions{})
			var out []byte
			for _, e := range answers[n] {
				out = enc.Encode(out, &e)
			}
			_, _ = w.Write(out)
			return
		}
		out, err := EncodeResponse(&llm.Response{ID: "resp_c", Model: "gpt-x", Parts: []llm.Part{{Type: llm.PartText, Text: "Hello there."}}, Finish: llm.FinishStop, Usage: llm.Usage{Input: 3, Output: 2}}, llm.ResponseOptions{})
		if err != nil {
			t.Error(err)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(out)
	}))
	defer ts.Close()

	ctx := context.Background()
	client, err := genai.NewClient(ctx, &genai.ClientConfig{
		APIKey:      "test-key",
		Backend:     genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: ts.URL},
		HTTPClient:  ts.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	budget := int32(1024)
	temp := float32(0.25)
	config := &genai.GenerateContentConfig{
		SystemInstruction: genai.NewContentFromText("Answer briefly.", genai.RoleUser),
		Temperature:       &temp,
		MaxOutputTokens:   256,
		StopSequences:     []string{"STOP!"},
		SafetySettings:    []*genai.SafetySetting{{Category: genai.HarmCategoryHarassment, Threshold: genai.HarmBlockThresholdBlockNone}},
		ThinkingConfig:    &genai.ThinkingConfig{IncludeThoughts: true, ThinkingBudget: &budget},
		Tools: []*genai.Tool{{FunctionDeclarations: []*genai.FunctionDeclaration{{
			Name:        "get_weather",
			Description: "Current weather of a city.",
			Parameters: &genai.Schema{
				Type:       genai.TypeObject,
				Properties: map[string]*genai.Schema{"city": {Type: genai.TypeString, Description: "City name"}},
				Required:   []string{"city"},
			},
		}}}},
		ToolConfig: &genai.ToolConfig{FunctionCallingConfig: &genai.FunctionCallingConfig{Mode: genai.FunctionCallingConfigModeAny, AllowedFunctionNames: []string{"get_weather"}}},
	}
	chat, err := client.Chats.Create(ctx, "gemini-2.5-flash", config, nil)
	if err != nil {
		t.Fatal(err)
	}

	// Turn 1: a streamed tool call.
	var calls []*genai.FunctionCall
	var thought string
	var last *genai.GenerateContentResponse
	for resp, err := range chat.SendMessageStream(ctx, genai.Part{Text: "Weather in Paris?"}) {
		if err != nil {
			t.Fatal(err)
		}
		calls = append(calls, resp.FunctionCalls()...)
		for _, p := range resp.Candidates[0].Content.Parts {
			if p.Thought {
				thought += p.Text
			}
		}
		last = resp
	}
	if len(calls) != 1 || calls[0].Name != "get_weather" || calls[0].Args["city"] != "Paris" || calls[0].ID != "" {
		t.Errorf("calls = %+v", calls)
	}
	if thought != "The user wants the weather." {
		t.Errorf("thought = %q", thought)
	}
	if c := last.Candidates[0]; c.FinishReason != genai.FinishReasonStop || last.UsageMetadata.ThoughtsTokenCount != 7 || last.UsageMetadata.CandidatesTokenCount != 5 || last.ResponseID != "resp_a" {
		t.Errorf("last chunk = %+v usage %+v", c, last.UsageMetadata)
	}
	var signed bool
	for _, c := range chat.History(true) {
		for _, p := range c.Parts {
			if p.FunctionCall != nil && string(p.ThoughtSignature) == "sig-1" {
				signed = true
			}
		}
	}
	if !signed {
		t.Errorf("the SDK's curated history lacks the signed call: %+v", chat.History(true))
	}

	// Turn 2: the tool's result, answered with streamed text.
	var text string
	for resp, err := range chat.SendMessageStream(ctx, genai.Part{FunctionResponse: &genai.FunctionResponse{Name: "get_weather", Response: map[string]any{"output": "sunny"}}}) {
		if err != nil {
			t.Fatal(err)
		}
		text += resp.Text()
	}
	if text != "It is sunny." {
		t.Errorf("text = %q", text)
	}

	// A whole answer.
	resp, err := client.Models.GenerateContent(ctx, "gemini-2.5-flash", genai.Text("Hi"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Text() != "Hello there." || resp.UsageMetadata.TotalTokenCount != 5 || resp.ResponseID != "resp_c" {
		t.Errorf("answer = %+v", resp)
	}

	// What the gateway read from the SDK's requests.
	mu.Lock()
	defer mu.Unlock()
	if len(errs) > 0 {
		t.Fatalf("DecodeRequest: %v", errs)
	}
	if len(reqs) != 3 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if len(r.System) != 1 || r.System[0].Text != "Answer briefly." || *r.Temperature != 0.25 || r.MaxTokens != 256 || r.Stop[0] != "STOP!" {
		t.Errorf("first request = %+v", r)
	}
	if r.Reasoning == nil || r.Reasoning.BudgetTokens != 1024 {
		t.Errorf("reasoning = %+v", r.Reasoning)
	}
	if r.ToolChoice.Mode != llm.ToolNamed || r.ToolChoice.Name != "get_weather" {
		t.Errorf("tool choice = %+v", r.ToolChoice)
	}
	if len(r.Tools) != 1 || r.Tools[0].Name != "get_weather" {
		t.Fatalf("tools = %+v", r.Tools)
	}
	jsonEqual(t, r.Tools[0].Parameters, `{"type":"object","properties":{"city":{"type":"string","description":"City name"}},"required":["city"]}`)
	// The second request carries the history: the thought, the signed
	// call and its result, paired by name.
	var call, result *llm.Part
	for i := range reqs[1].Messages {
		m := &reqs[1].Messages[i]
		for j := range m.Parts {
			switch p := &m.Parts[j]; p.Type {
			case llm.PartToolCall:
				call = p
			case llm.PartToolResult:
				result = p
			}
		}
	}
	if call == nil || result == nil {
		t.Fatalf("second request = %+v", reqs[1])
	}
	if call.Name != "get_weather" || call.Signature != "c2lnLTE=" || call.ID != result.ID || result.Name != "get_weather" || result.Content[0].Text != `{"output":"sunny"}` {
		t.Errorf("call %+v\nresult %+v", call, result)
	}
}
