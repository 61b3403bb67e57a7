package anthropic

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
)

// These tests use the official Go SDK as the client: it builds the
// requests DecodeRequest reads and parses the answers and streams the
// encoders write.

// sdkClient returns a client of a test server answering with h.
func sdkClient(t *testing.T, h http.HandlerFunc) anthropic.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return anthropic.NewClient(option.WithBaseURL(srv.URL), option.WithAPIKey("test"), option.WithMaxRetries(0))
}

// minimalParams is a valid request for calls whose request does not matter.
var minimalParams = anthropic.MessageNewParams{
	Model:     "claude-sonnet-4-5",
	MaxTokens: 1024,
	Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Hello"))},
}

// sdkMessage has the SDK read body as the answer of Messages.New.
func sdkMessage(t *testing.T, body []byte) *anthropic.Message {
	t.Helper()
	c := sdkClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	msg, err := c.Messages.New(context.Background(), minimalParams)
	if err != nil {
		t.Fatalf("SDK Messages.New: %v", err)
	}
	return msg
}

// sdkAccumulate has the SDK read stream as the answer of
// Messages.NewStreaming and accumulate it into a Message.
func sdkAccumulate(t *testing.T, stream []byte) (anthropic.Message, error) {
	t.Helper()
	c := sdkClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write(stream)
	})
	s := c.Messages.NewStreaming(context.Background(), minimalParams)
	defer s.Close()
	var msg anthropic.Message
	for s.Next() {
		if err := msg.Accumulate(s.Current()); err != nil {
			t.Fatalf("Accumulate(%s): %v", s.Current().Type, err)
		}
	}
	return msg, s.Err()
}

// TestDecodeRequestFromSDK decodes the body the SDK sends for a request
// using most of the Messages API.
func TestDecodeRequestFromSDK(t *testing.T) {
	var body []byte
	c := sdkClient(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(fixture(t, "anthropic_message.json"))
	})
	params := anthropic.MessageNewParams{
		Model:         "claude-sonnet-4-5",
		MaxTokens:     8192,
		System:        []anthropic.TextBlockParam{{Text: "You are a weather bot.", CacheControl: anthropic.NewCacheControlEphemeralParam()}},
		Temperature:   anthropic.Float(1),
		TopK:          anthropic.Int(20),
		TopP:          anthropic.Float(0.95),
		StopSequences: []string{"###"},
		Metadata:      anthropic.MetadataParam{UserID: anthropic.String("user-42")},
		Thinking:      anthropic.ThinkingConfigParamOfEnabled(2048),
		Tools: []anthropic.ToolUnionParam{anthropic.ToolUnionParamOfTool(anthropic.ToolInputSchemaParam{
			Properties: map[string]any{"city": map[string]any{"type": "string"}},
			Required:   []string{"city"},
		}, "get_weather")},
		ToolChoice: anthropic.ToolChoiceUnionParam{OfAuto: &anthropic.ToolChoiceAutoParam{DisableParallelToolUse: anthropic.Bool(true)}},
		Messages: []anthropic.MessageParam{
			anthropic.NewUserMessage(anthropic.NewImageBlockBase64("image/png", "iVBORw0KGgo="), anthropic.NewTextBlock("Weather where this was taken?")),
			anthropic.NewAssistantMessage(
				anthropic.NewThinkingBlock("EqQBCgIYAhIM", "It looks like Paris."),
				anthropic.NewRedactedThinkingBlock("EmwKAhgBEgy3va3pzix"),
				anthropic.NewToolUseBlock("toolu_01A09q90qw90lq917835lq9", map[string]any{"city": "Paris"}, "get_weather"),
			),
			anthropic.NewUserMessage(anthropic.NewToolResultBlock("toolu_01A09q90qw90lq917835lq9", "15 degrees", false)),
		},
	}
	if _, err := c.Messages.New(context.Background(), params); err != nil {
		t.Fatal(err)
	}
	var got llm.Request
	if err := DecodeRequest(body, &got); err != nil {
		t.Fatalf("DecodeRequest(%s): %v", body, err)
	}
	want := llm.Request{
		Model: "claude-sonnet-4-5", MaxTokens: 8192,
		System:      []llm.Part{text("You are a weather bot.")},
		Temperature: ptr(1.0), TopK: ptr(int64(20)), TopP: ptr(0.95),
		Stop: []string{"###"}, User: "user-42",
		Reasoning:         &llm.Reasoning{BudgetTokens: 2048},
		Tools:             []llm.Tool{{Name: "get_weather", Parameters: raw(`{"properties":{"city":{"type":"string"}},"required":["city"],"type":"object"}`)}},
		ToolChoice:        llm.ToolChoice{Mode: llm.ToolAuto},
		ParallelToolCalls: ptr(false),
		Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartImage, MediaType: "image/png", Data: "iVBORw0KGgo="}, text("Weather where this was taken?")}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{
				{Type: llm.PartThinking, Text: "It looks like Paris.", Signature: "EqQBCgIYAhIM"},
				{Type: llm.PartRedactedThinking, Signature: "EmwKAhgBEgy3va3pzix"},
				{Type: llm.PartToolCall, ID: "toolu_01A09q90qw90lq917835lq9", Name: "get_weather", Arguments: raw(`{"city":"Paris"}`)},
			}},
			{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartToolResult, ID: "toolu_01A09q90qw90lq917835lq9", Name: "get_weather", Content: []llm.Part{text("15 degrees")}}}},
		},
	}
	if g, w := canonRequest(got), canonRequest(want); !reflect.DeepEqual(g, w) {
		t.Errorf("got  %s\nwant %s", show(g), show(w))
	}

	// Re-encoded, the request must be the same request to the API.
	out, err := EncodeRequest(&got, llm.EncodeOptions{Model: got.Model})
	if err != nil {
		t.Fatal(err)
	}
	var again llm.Request
	if err := DecodeRequest(out, &again); err != nil {
		t.Fatal(err)
	}
	if g, w := canonRequest(again), canonRequest(got); !reflect.DeepEqual(g, w) {
		t.Errorf("round trip changed the request\n got  %s\nwant %s", show(g), show(w))
	}
}

// TestDecodeRequestServerToolFromSDK checks the error for a server tool as
// the SDK sends it.
func TestDecodeRequestServerToolFromSDK(t *testing.T) {
	var body []byte
	c := sdkClient(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(fixture(t, "anthropic_message.json"))
	})
	params := minimalParams
	params.Tools = []anthropic.ToolUnionParam{{OfWebSearchTool20250305: &anthropic.WebSearchTool20250305Param{MaxUses: anthropic.Int(5)}}}
	if _, err := c.Messages.New(context.Background(), params); err != nil {
		t.Fatal(err)
	}
	var r llm.Request
	err := DecodeRequest(body, &r)
	le, ok := err.(*llm.Error)
	if !ok || le.Param != "tools[0].type" {
		t.Fatalf("got %v for %s, want an *llm.Error for tools[0].type", err, body)
	}
}
