package fakeprovider_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/fakeprovider"
)

const anthropicKey = "sk-ant-test-0123456789"

func anthropicClient(srv *fakeprovider.Server, key string, retries int) anthropic.Client {
	return anthropic.NewClient(
		option.WithBaseURL(srv.URL),
		option.WithAPIKey(key),
		option.WithMaxRetries(retries),
	)
}

func messageParams(tools bool) anthropic.MessageNewParams {
	p := anthropic.MessageNewParams{
		Model:     "claude-sonnet-4-5",
		MaxTokens: 256,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Say hello"))},
	}
	if tools {
		p.Tools = []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{
			Name:        "get_weather",
			InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{"city": map[string]any{"type": "string"}}},
		}}}
	}
	return p
}

func TestAnthropicMessages(t *testing.T) {
	srv := fakeprovider.New(t, fakeprovider.Anthropic, anthropicKey)
	client := anthropicClient(srv, anthropicKey, 0)
	ctx := context.Background()

	msg, err := client.Messages.New(ctx, messageParams(false))
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Content) != 1 || msg.Content[0].Type != "text" || msg.Content[0].Text != fakeprovider.DefaultReply {
		t.Errorf("content = %s", msg.RawJSON())
	}
	if msg.StopReason != anthropic.StopReasonEndTurn || msg.Model != "claude-sonnet-4-5" || msg.Role != "assistant" || !strings.HasPrefix(msg.ID, "msg_") {
		t.Errorf("message = %s", msg.RawJSON())
	}
	if u := msg.Usage; u.InputTokens != 11 || u.OutputTokens != 7 || u.CacheReadInputTokens != 0 {
		t.Errorf("usage = %+v", u)
	}
	req := srv.LastRequest()
	if req.Path != "/v1/messages" || req.Header.Get("x-api-key") != anthropicKey || req.Header.Get("anthropic-version") == "" {
		t.Errorf("request = %s %v", req.Path, req.Header)
	}

	// Tool use, not streamed.
	srv.Set(fakeprovider.Behavior{ToolCall: &fakeprovider.ToolCall{ID: "toolu_01abc", Name: "get_weather", Arguments: `{"city":"Paris"}`}, CachedTokens: 9})
	msg, err = client.Messages.New(ctx, messageParams(true))
	if err != nil {
		t.Fatal(err)
	}
	if msg.StopReason != anthropic.StopReasonToolUse || len(msg.Content) != 1 {
		t.Fatalf("message = %s", msg.RawJSON())
	}
	tu := msg.Content[0].AsToolUse()
	if tu.ID != "toolu_01abc" || tu.Name != "get_weather" || string(tu.Input) != `{"city":"Paris"}` {
		t.Errorf("tool_use = %s", msg.Content[0].RawJSON())
	}
	if msg.Usage.CacheReadInputTokens != 9 {
		t.Errorf("usage = %+v", msg.Usage)
	}
	// Without tools in the request the model answers text.
	if msg, err = client.Messages.New(ctx, messageParams(false)); err != nil || msg.Content[0].Text != fakeprovider.DefaultReply {
		t.Errorf("no tools: %v %v", msg, err)
	}
}

func TestAnthropicStream(t *testing.T) {
	srv := fakeprovider.New(t, fakeprovider.Anthropic, anthropicKey)
	client := anthropicClient(srv, anthropicKey, 0)
	ctx := context.Background()
	srv.Set(fakeprovider.Behavior{Reply: "Streaming is fun", InputTokens: 30, OutputTokens: 12, CachedTokens: 4})

	stream := client.Messages.NewStreaming(ctx, messageParams(false))
	var msg anthropic.Message
	var types []string
	for stream.Next() {
		ev := stream.Current()
		types = append(types, ev.Type)
		if err := msg.Accumulate(ev); err != nil {
			t.Fatal(err)
		}
		if ev.Type == "message_delta" && (ev.Usage.OutputTokens != 12 || ev.Usage.InputTokens != 30 || ev.Usage.CacheReadInputTokens != 4) {
			t.Errorf("message_delta usage not cumulative: %s", ev.RawJSON())
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	// The SDK skips ping events.
	want := "message_start,content_block_start,content_block_delta,content_block_delta,content_block_delta,content_block_stop,message_delta,message_stop"
	if strings.Join(types, ",") != want {
		t.Errorf("events = %v", types)
	}
	if msg.Content[0].Text != "Streaming is fun" || msg.StopReason != anthropic.StopReasonEndTurn {
		t.Errorf("message = %+v", msg)
	}
	if u := msg.Usage; u.InputTokens != 30 || u.OutputTokens != 12 || u.CacheReadInputTokens != 4 {
		t.Errorf("usage = %+v", u)
	}

	srv.Set(fakeprovider.Behavior{ToolCall: &fakeprovider.ToolCall{Name: "get_weather", Arguments: `{"city":"Paris","days":3}`}})
	stream = client.Messages.NewStreaming(ctx, messageParams(true))
	msg = anthropic.Message{}
	for stream.Next() {
		if err := msg.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	tu := msg.Content[0].AsToolUse()
	if msg.StopReason != anthropic.StopReasonToolUse || tu.Name != "get_weather" || !strings.HasPrefix(tu.ID, "toolu_") || string(tu.Input) != `{"city":"Paris","days":3}` {
		t.Errorf("tool_use = %s (%s)", msg.Content[0].RawJSON(), tu.Input)
	}
}

func TestAnthropicStreamWire(t *testing.T) {
	srv := fakeprovider.New(t, fakeprovider.Anthropic, anthropicKey)
	h := http.Header{"x-api-key": {anthropicKey}, "anthropic-version": {"2023-06-01"}}
	status, body, hdr := post(t, srv.URL+"/v1/messages", `{"model":"claude","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"x"}]}`, h)
	if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/event-stream") || hdr.Get("Cache-Control") != "no-cache" || !strings.HasPrefix(hdr.Get("Request-Id"), "req_") {
		t.Fatalf("status %d headers %v", status, hdr)
	}
	var names []string
	for _, e := range strings.Split(strings.TrimSuffix(string(body), "\n\n"), "\n\n") {
		line1, line2, ok := strings.Cut(e, "\n")
		name := strings.TrimPrefix(line1, "event: ")
		var data struct{ Type string }
		if !ok || !strings.HasPrefix(line1, "event: ") || !strings.HasPrefix(line2, "data: ") ||
			json.Unmarshal([]byte(strings.TrimPrefix(line2, "data: ")), &data) != nil || data.Type != name {
			t.Fatalf("bad event %q", e)
		}
		names = append(names, name)
	}
	want := "message_start,content_block_start,ping,content_block_delta,content_block_delta,content_block_delta,content_block_delta,content_block_delta,content_block_stop,message_delta,message_stop"
	if strings.Join(names, ",") != want {
		t.Errorf("events = %v", names)
	}
}

func TestAnthropicCountTokensAndModels(t *testing.T) {
	srv := fakeprovider.New(t, fakeprovider.Anthropic, anthropicKey)
	client := anthropicClient(srv, anthropicKey, 0)
	ctx := context.Background()
	srv.Set(fakeprovider.Behavior{InputTokens: 42})
	n, err := client.Messages.CountTokens(ctx, anthropic.MessageCountTokensParams{
		Model:    "claude-sonnet-4-5",
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("count me"))},
	})
	if err != nil {
		t.Fatal(err)
	}
	if n.InputTokens != 42 || n.RawJSON() != `{"input_tokens":42}` {
		t.Errorf("count = %s", n.RawJSON())
	}
	if p := srv.LastRequest().Path; p != "/v1/messages/count_tokens" {
		t.Errorf("path = %s", p)
	}
	page, err := client.Models.List(ctx, anthropic.ModelListParams{})
	if err != nil || len(page.Data) != 3 || page.Data[0].Type != "model" {
		t.Errorf("models = %v, %v", page, err)
	}
}

func TestAnthropicErrors(t *testing.T) {
	srv := fakeprovider.New(t, fakeprovider.Anthropic, anthropicKey)
	ctx := context.Background()

	wrong := anthropicClient(srv, "sk-ant-wrong", 0)
	_, err := wrong.Messages.New(ctx, messageParams(false))
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong key: %v", err)
	}
	if apiErr.Type() != anthropic.ErrorTypeAuthenticationError || !strings.HasPrefix(apiErr.RequestID, "req_") {
		t.Errorf("wrong key error = %s (request id %q)", apiErr.RawJSON(), apiErr.RequestID)
	}

	h := http.Header{"x-api-key": {anthropicKey}}
	status, body, _ := post(t, srv.URL+"/v1/messages", `{"model":"c","max_tokens":5,"messages":[]}`, h)
	if status != 400 || !strings.Contains(string(body), `"type":"invalid_request_error"`) || !strings.Contains(string(body), "anthropic-version") {
		t.Errorf("no anthropic-version: %d %s", status, body)
	}
	h.Set("anthropic-version", "2023-06-01")
	status, body, hdr := post(t, srv.URL+"/v1/messages", `{"model":"c","messages":[{"role":"user","content":"x"}]}`, h)
	var e struct {
		Type  string `json:"type"`
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal(body, &e); err != nil || status != 400 || e.Type != "error" || e.Error.Type != "invalid_request_error" ||
		e.Error.Message != "max_tokens: Field required" || e.RequestID != hdr.Get("Request-Id") {
		t.Errorf("no max_tokens: %d %s", status, body)
	}
	status, body, _ = do(t, http.MethodGet, srv.URL+"/v1/nothing", "", h)
	if status != 404 || !strings.Contains(string(body), "not_found_error") {
		t.Errorf("unknown path: %d %s", status, body)
	}

	client := anthropicClient(srv, anthropicKey, 0)
	srv.Set(fakeprovider.Behavior{Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"12"}}})
	_, err = client.Messages.New(ctx, messageParams(false))
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.Type() != anthropic.ErrorTypeRateLimitError {
		t.Fatalf("429: %v", err)
	}
	if apiErr.Response.Header.Get("Retry-After") != "12" {
		t.Errorf("retry-after = %q", apiErr.Response.Header.Get("Retry-After"))
	}
	srv.Set(fakeprovider.Behavior{Status: 529})
	_, err = client.Messages.New(ctx, messageParams(false))
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 529 || apiErr.Type() != anthropic.ErrorTypeOverloadedError {
		t.Errorf("529: %v", err)
	}
}

func TestAnthropicStreamCutAndCancel(t *testing.T) {
	srv := fakeprovider.New(t, fakeprovider.Anthropic, anthropicKey)
	client := anthropicClient(srv, anthropicKey, 0)
	srv.Set(fakeprovider.Behavior{CutAfter: 4})

	stream := client.Messages.NewStreaming(context.Background(), messageParams(false))
	var types []string
	for stream.Next() {
		types = append(types, stream.Current().Type)
	}
	if stream.Err() == nil {
		t.Error("cut stream reported no error")
	}
	if contains(types, "message_stop") || contains(types, "message_delta") {
		t.Errorf("cut stream has final events: %v", types)
	}

	srv.Set(fakeprovider.Behavior{ChunkDelay: 30 * time.Millisecond, Reply: strings.Repeat("a ", 40)})
	ctx, cancel := context.WithCancel(context.Background())
	stream = client.Messages.NewStreaming(ctx, messageParams(false))
	stream.Next()
	cancel()
	for stream.Next() {
	}
	if !srv.WaitCanceled(1, 5*time.Second) || !srv.WaitIdle(5*time.Second) {
		t.Errorf("Canceled = %d, Open = %d", srv.Canceled(), srv.Open())
	}
}

// TestAnthropicStreamErrorEvent: ErrorAfter ends the stream with the
// documented error event, which the SDK reports as the stream's error.
func TestAnthropicStreamErrorEvent(t *testing.T) {
	srv := fakeprovider.New(t, fakeprovider.Anthropic, anthropicKey)
	client := anthropicClient(srv, anthropicKey, 0)
	srv.Set(fakeprovider.Behavior{ErrorAfter: 3})
	stream := client.Messages.NewStreaming(context.Background(), messageParams(false))
	n := 0
	for stream.Next() {
		n++
	}
	if err := stream.Err(); err == nil || !strings.Contains(err.Error(), "overloaded_error") {
		t.Errorf("stream error %v, want the overloaded_error event", err)
	}
	if n == 0 || n > 3 { // the SDK does not surface pings
		t.Errorf("%d events before the error, want 1 to 3", n)
	}
}
