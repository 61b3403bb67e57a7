package caddymodule_test

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/azure"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/shared"

	_ "github.com/caddy-llm-gateway/caddy-llm-gateway"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/fakeprovider"
)

const (
	openAIKey    = "sk-upstream-openai-it-0123456789"
	azureKey     = "azure-upstream-key-it-0123456789"
	anthropicKey = "sk-ant-upstream-it-0123456789"
	gatewayURL   = "http://localhost:9080"
	adminURL     = "http://localhost:2999"
	encodedURL   = "http://localhost:9081"
)

// clientToken is the gateway token of the current test, minted through
// the admin API by startCaddy.
var clientToken string

// upstreams are fake providers of each dialect behind a running Caddy.
type upstreams struct {
	openai, azure, anthropic *fakeprovider.Server
	dir                      string // storage directory
	service                  string // the service clientToken belongs to
}

// adminDo calls the management API.
func adminDo(t *testing.T, method, path, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, adminURL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// adminJSON calls the management API, expects status want, and decodes.
func adminJSON(t *testing.T, method, path, body string, want int, v any) {
	t.Helper()
	status, b := adminDo(t, method, path, body)
	if status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, b)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
}

// mintToken creates a service and a token of it.
func mintToken(t *testing.T, service string) (serviceID, tok string) {
	t.Helper()
	var svc struct{ ID string }
	adminJSON(t, "POST", "/llm_gateway/services", `{"name":"`+service+`"}`, 201, &svc)
	var tk struct{ Token string }
	adminJSON(t, "POST", "/llm_gateway/services/"+svc.ID+"/tokens", `{"name":"ci"}`, 201, &tk)
	return svc.ID, tk.Token
}

// startCaddy loads a Caddyfile with llm_gateway in front of fresh fake
// providers into the in-process Caddy that caddytest runs. Port 9080 serves
// the gateway alone, port 9081 the gateway behind `encode`.
func startCaddy(t *testing.T) *upstreams {
	t.Helper()
	u := startCaddyAt(t, t.TempDir())
	u.service, clientToken = mintToken(t, "it-"+strings.ReplaceAll(t.Name(), "/", "-"))
	return u
}

// startCaddyAt is startCaddy on a given storage directory, without
// minting a token.
func startCaddyAt(t *testing.T, dir string) *upstreams {
	t.Helper()
	u := &upstreams{
		openai:    fakeprovider.New(t, fakeprovider.OpenAI, openAIKey),
		azure:     fakeprovider.New(t, fakeprovider.Azure, azureKey),
		anthropic: fakeprovider.New(t, fakeprovider.Anthropic, anthropicKey),
	}
	t.Setenv("LLMGW_IT_OPENAI_KEY", openAIKey)
	t.Setenv("LLMGW_IT_AZURE_KEY", azureKey)
	t.Setenv("LLMGW_IT_ANTHROPIC_KEY", anthropicKey)
	block := fmt.Sprintf(`llm_gateway {
		provider openai openai {
			base_url %s
			api_key {env.LLMGW_IT_OPENAI_KEY}
			models gpt-4o-mini text-embedding-3-small
		}
		provider azure azure {
			base_url %s
			api_key {env.LLMGW_IT_AZURE_KEY}
		}
		provider anthropic anthropic {
			base_url %s
			api_key {env.LLMGW_IT_ANTHROPIC_KEY}
			models claude-sonnet-4-5
		}
		route az-* azure
		route fast openai gpt-4o-mini
		alias smart claude-sonnet-4-5
	}`, u.openai.URL, u.azure.URL, u.anthropic.URL)
	u.dir = dir
	t.Setenv("LLMGW_IT_ENCRYPTION_KEY", testEncryptionKey)
	tester := caddytest.NewTester(t)
	tester.InitServer(fmt.Sprintf(`{
	admin localhost:2999
	http_port 9080
	https_port 9443
	grace_period 1ns
	skip_install_trust
	auto_https off
	llm_gateway {
		storage_dir %s
		encryption_key {env.LLMGW_IT_ENCRYPTION_KEY}
	}
}
:9080 {
	%s
}
:9081 {
	encode
	%s
}
`, u.dir, block, block), "caddyfile")
	// Cleanups run last-registered first: unload the gateway, which closes
	// its storage, before t.TempDir's cleanup removes the directory.
	t.Cleanup(func() { unload(t) })
	return u
}

// initGateway loads a config with the tests' global options (admin on
// :2999, a temporary storage directory) and one site on :9080 whose
// contents are site, and unloads it when the test ends.
func initGateway(t *testing.T, site string) {
	t.Helper()
	t.Setenv("LLMGW_IT_ENCRYPTION_KEY", testEncryptionKey)
	tester := caddytest.NewTester(t)
	tester.InitServer(fmt.Sprintf(`{
	admin localhost:2999
	http_port 9080
	https_port 9443
	grace_period 1ns
	skip_install_trust
	auto_https off
	llm_gateway {
		storage_dir %s
		encryption_key {env.LLMGW_IT_ENCRYPTION_KEY}
	}
}
:9080 {
%s}
`, t.TempDir(), site), "caddyfile")
	t.Cleanup(func() { unload(t) })
}

// unload replaces the running config with one without llm_gateway.
func unload(t *testing.T) {
	req, _ := http.NewRequest("POST", adminURL+"/load", strings.NewReader(`{"admin":{"listen":"localhost:2999"}}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("unloading the config: %v", err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("unloading the config: status %d", resp.StatusCode)
	}
}

// testEncryptionKey is a fixed 32-byte key, base64.
const testEncryptionKey = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA="

func openAIClient(base string) openai.Client {
	return openai.NewClient(option.WithBaseURL(base+"/v1"), option.WithAPIKey(clientToken), option.WithMaxRetries(0))
}

func assertUpstreamAuth(t *testing.T, srv *fakeprovider.Server, header, want string) {
	t.Helper()
	got := srv.LastRequest()
	if v := got.Header.Get(header); v != want {
		t.Fatalf("provider saw %s = %q, want the provider key", header, v)
	}
	for k, vs := range got.Header {
		for _, v := range vs {
			if strings.Contains(v, clientToken) {
				t.Fatalf("client token reached the provider in %s", k)
			}
		}
	}
}

func TestOpenAISDK(t *testing.T) {
	u := startCaddy(t)
	ctx := context.Background()
	client := openAIClient(gatewayURL)
	u.openai.Set(fakeprovider.Behavior{Reply: "Hello from upstream", InputTokens: 12, OutputTokens: 4})

	t.Run("chat", func(t *testing.T) {
		resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model:    "gpt-4o-mini",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Choices[0].Message.Content != "Hello from upstream" || resp.Usage.PromptTokens != 12 || resp.Usage.CompletionTokens != 4 {
			t.Fatalf("got %q, usage %+v", resp.Choices[0].Message.Content, resp.Usage)
		}
		assertUpstreamAuth(t, u.openai, "Authorization", "Bearer "+openAIKey)
	})

	t.Run("chat stream", func(t *testing.T) {
		stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
			Model:         "fast",
			Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
			StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
		})
		var acc openai.ChatCompletionAccumulator
		for stream.Next() {
			acc.AddChunk(stream.Current())
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if acc.Choices[0].Message.Content != "Hello from upstream" || acc.Usage.TotalTokens != 16 {
			t.Fatalf("got %q, usage %+v", acc.Choices[0].Message.Content, acc.Usage)
		}
		if acc.Choices[0].FinishReason != "stop" {
			t.Fatalf("finish reason %q", acc.Choices[0].FinishReason)
		}
	})

	t.Run("chat tool call", func(t *testing.T) {
		u.openai.Set(fakeprovider.Behavior{ToolCall: &fakeprovider.ToolCall{Name: "get_weather", Arguments: `{"city":"Paris"}`}})
		defer u.openai.Set(fakeprovider.Behavior{Reply: "Hello from upstream", InputTokens: 12, OutputTokens: 4})
		resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model:    "gpt-4o-mini",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("weather?")},
			Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
				Name: "get_weather", Parameters: shared.FunctionParameters{"type": "object"},
			})},
		})
		if err != nil {
			t.Fatal(err)
		}
		tc := resp.Choices[0].Message.ToolCalls
		if len(tc) != 1 || tc[0].Function.Name != "get_weather" || resp.Choices[0].FinishReason != "tool_calls" {
			t.Fatalf("tool calls %+v, finish %q", tc, resp.Choices[0].FinishReason)
		}
	})

	t.Run("responses", func(t *testing.T) {
		resp, err := client.Responses.New(ctx, responses.ResponseNewParams{
			Model: "gpt-4o-mini",
			Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")},
		})
		if err != nil {
			t.Fatal(err)
		}
		if resp.OutputText() != "Hello from upstream" || resp.Usage.InputTokens != 12 {
			t.Fatalf("got %q, usage %+v", resp.OutputText(), resp.Usage)
		}
		if p := u.openai.LastRequest().Path; p != "/v1/responses" {
			t.Fatalf("provider path %q", p)
		}
	})

	t.Run("responses stream", func(t *testing.T) {
		stream := client.Responses.NewStreaming(ctx, responses.ResponseNewParams{
			Model: "gpt-4o-mini",
			Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")},
		})
		var text strings.Builder
		completed := false
		for stream.Next() {
			ev := stream.Current()
			switch ev.Type {
			case "response.output_text.delta":
				text.WriteString(ev.Delta)
			case "response.completed":
				completed = ev.Response.Usage.OutputTokens == 4
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if text.String() != "Hello from upstream" || !completed {
			t.Fatalf("text %q, completed with usage %v", text.String(), completed)
		}
	})

	t.Run("embeddings", func(t *testing.T) {
		resp, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{
			Model: "text-embedding-3-small",
			Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"a", "b"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Data) != 2 || len(resp.Data[0].Embedding) == 0 {
			t.Fatalf("embeddings %+v", resp.Data)
		}
	})

	t.Run("models", func(t *testing.T) {
		page, err := client.Models.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range page.Data {
			ids = append(ids, m.ID+"@"+m.OwnedBy)
		}
		want := "gpt-4o-mini@openai text-embedding-3-small@openai claude-sonnet-4-5@anthropic fast@openai smart@anthropic"
		if strings.Join(ids, " ") != want {
			t.Fatalf("models %v, want %s", ids, want)
		}
	})

	t.Run("unknown model", func(t *testing.T) {
		_, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model:    "no-such-model",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		})
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "model_not_found" {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestAzureSDK(t *testing.T) {
	u := startCaddy(t)
	ctx := context.Background()
	// An AzureOpenAI client needs only its endpoint and key changed.
	client := openai.NewClient(
		azure.WithEndpoint(gatewayURL, "2024-10-21"),
		azure.WithAPIKey(clientToken),
		azure.WithUnsafeAllowHTTP(),
		option.WithMaxRetries(0),
	)
	u.azure.Set(fakeprovider.Behavior{Reply: "Hello from Azure"})

	resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:    "az-gpt4o",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content != "Hello from Azure" {
		t.Fatalf("content %q", resp.Choices[0].Message.Content)
	}
	got := u.azure.LastRequest()
	if got.Path != "/openai/deployments/az-gpt4o/chat/completions" || !strings.Contains(got.RawQuery, "api-version=") {
		t.Fatalf("provider got %s?%s", got.Path, got.RawQuery)
	}
	assertUpstreamAuth(t, u.azure, "api-key", azureKey)

	stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
		Model:    "az-gpt4o",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil || acc.Choices[0].Message.Content != "Hello from Azure" {
		t.Fatalf("stream: %v, %q", err, acc.Choices[0].Message.Content)
	}

	emb, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{
		Model: "az-embed",
		Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("x")},
	})
	if err != nil || len(emb.Data) != 1 {
		t.Fatalf("embeddings: %v", err)
	}
	if p := u.azure.LastRequest().Path; p != "/openai/deployments/az-embed/embeddings" {
		t.Fatalf("provider path %q", p)
	}

	// The Azure surface reaches any provider: here OpenAI by model name.
	u.openai.Set(fakeprovider.Behavior{Reply: "Hello from OpenAI"})
	resp, err = client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:    "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	if err != nil || resp.Choices[0].Message.Content != "Hello from OpenAI" {
		t.Fatalf("azure surface to openai: %v", err)
	}

	r, err := client.Responses.New(ctx, responses.ResponseNewParams{
		Model: "az-gpt4o",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")},
	})
	if err != nil || r.OutputText() != "Hello from Azure" {
		t.Fatalf("responses: %v", err)
	}
	if p := u.azure.LastRequest().Path; p != "/openai/responses" {
		t.Fatalf("provider path %q", p)
	}
}

func TestAnthropicSDK(t *testing.T) {
	u := startCaddy(t)
	ctx := context.Background()
	client := anthropic.NewClient(aoption.WithBaseURL(gatewayURL), aoption.WithAPIKey(clientToken), aoption.WithMaxRetries(0))
	u.anthropic.Set(fakeprovider.Behavior{Reply: "Hello from Claude", InputTokens: 20, OutputTokens: 5})
	params := anthropic.MessageNewParams{
		Model:     "claude-sonnet-4-5",
		MaxTokens: 100,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
	}
	msg, err := client.Messages.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Content) != 1 || msg.Content[0].Text != "Hello from Claude" || msg.Usage.OutputTokens != 5 {
		t.Fatalf("message %+v", msg)
	}
	assertUpstreamAuth(t, u.anthropic, "x-api-key", anthropicKey)

	stream := client.Messages.NewStreaming(ctx, params)
	var acc anthropic.Message
	for stream.Next() {
		if err := acc.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if acc.Content[0].Text != "Hello from Claude" || acc.StopReason != "end_turn" || acc.Usage.OutputTokens != 5 {
		t.Fatalf("streamed message %+v", acc)
	}

	n, err := client.Messages.CountTokens(ctx, anthropic.MessageCountTokensParams{
		Model:    "claude-sonnet-4-5",
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
	})
	if err != nil || n.InputTokens == 0 {
		t.Fatalf("count_tokens: %v %+v", err, n)
	}

	_, err = client.Messages.New(ctx, anthropic.MessageNewParams{
		Model: "no-such-model", MaxTokens: 5,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
	})
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Fatalf("unknown model: %v", err)
	}
}

// TestOpenAISDKOnAnthropic drives an Anthropic provider through the OpenAI
// chat completions API: the request is translated to the Messages API and
// the answer back, streaming included.
func TestOpenAISDKOnAnthropic(t *testing.T) {
	u := startCaddy(t)
	ctx := context.Background()
	client := openAIClient(gatewayURL)
	u.anthropic.Set(fakeprovider.Behavior{Reply: "Bonjour from Claude", InputTokens: 30, OutputTokens: 6, CachedTokens: 10})

	params := openai.ChatCompletionNewParams{
		Model: "smart",
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage("Answer in French."),
			openai.UserMessage("hello"),
			openai.AssistantMessage("Salut"),
			openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
				openai.TextContentPart("and this picture?"),
				openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: "data:image/png;base64,iVBORw0KGgo="}),
			}),
		},
		Temperature: openai.Float(0.2),
		Stop:        openai.ChatCompletionNewParamsStopUnion{OfStringArray: []string{"END"}},
	}
	resp, err := client.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content != "Bonjour from Claude" || resp.Choices[0].FinishReason != "stop" {
		t.Fatalf("choice %+v", resp.Choices[0])
	}
	if resp.Usage.CompletionTokens != 6 || resp.Usage.PromptTokensDetails.CachedTokens != 10 {
		t.Fatalf("usage %+v", resp.Usage)
	}
	var sent struct {
		Model     string `json:"model"`
		MaxTokens int    `json:"max_tokens"`
		System    any    `json:"system"`
		Messages  []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
		StopSequences []string `json:"stop_sequences"`
		Temperature   float64  `json:"temperature"`
	}
	got := u.anthropic.LastRequest()
	if err := json.Unmarshal(got.Body, &sent); err != nil {
		t.Fatal(err)
	}
	if got.Path != "/v1/messages" || sent.Model != "claude-sonnet-4-5" || sent.MaxTokens != 64000 ||
		!strings.Contains(fmt.Sprint(sent.System), "Answer in French.") || len(sent.Messages) != 3 ||
		sent.StopSequences[0] != "END" || sent.Temperature != 0.2 {
		t.Fatalf("provider received %s", got.Body)
	}
	if !strings.Contains(string(sent.Messages[2].Content), `"type":"base64"`) {
		t.Fatalf("image not translated: %s", sent.Messages[2].Content)
	}
	assertUpstreamAuth(t, u.anthropic, "x-api-key", anthropicKey)

	t.Run("stream", func(t *testing.T) {
		params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
		stream := client.Chat.Completions.NewStreaming(ctx, params)
		var acc openai.ChatCompletionAccumulator
		for stream.Next() {
			acc.AddChunk(stream.Current())
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if acc.Choices[0].Message.Content != "Bonjour from Claude" || acc.Choices[0].FinishReason != "stop" || acc.Usage.CompletionTokens != 6 {
			t.Fatalf("streamed %+v usage %+v", acc.Choices[0], acc.Usage)
		}
	})

	t.Run("tools", func(t *testing.T) {
		u.anthropic.Set(fakeprovider.Behavior{ToolCall: &fakeprovider.ToolCall{ID: "toolu_01", Name: "get_weather", Arguments: `{"city":"Paris"}`}})
		tp := openai.ChatCompletionNewParams{
			Model:    "claude-sonnet-4-5",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("weather in Paris?")},
			Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
				Name: "get_weather", Description: openai.String("Weather by city"),
				Parameters: shared.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}},
			})},
		}
		resp, err := client.Chat.Completions.New(ctx, tp)
		if err != nil {
			t.Fatal(err)
		}
		tc := resp.Choices[0].Message.ToolCalls
		if len(tc) != 1 || tc[0].ID != "toolu_01" || tc[0].Function.Name != "get_weather" ||
			!jsonEq(tc[0].Function.Arguments, `{"city":"Paris"}`) || resp.Choices[0].FinishReason != "tool_calls" {
			t.Fatalf("tool calls %+v finish %q", tc, resp.Choices[0].FinishReason)
		}
		if b := u.anthropic.LastRequest().Body; !strings.Contains(string(b), `"input_schema"`) {
			t.Fatalf("tools not translated: %s", b)
		}

		stream := client.Chat.Completions.NewStreaming(ctx, tp)
		var acc openai.ChatCompletionAccumulator
		for stream.Next() {
			acc.AddChunk(stream.Current())
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		tc = acc.Choices[0].Message.ToolCalls
		if len(tc) != 1 || tc[0].Function.Name != "get_weather" || !jsonEq(tc[0].Function.Arguments, `{"city":"Paris"}`) ||
			acc.Choices[0].FinishReason != "tool_calls" {
			t.Fatalf("streamed tool calls %+v finish %q", tc, acc.Choices[0].FinishReason)
		}
	})
}

func jsonEq(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return fmt.Sprint(x) == fmt.Sprint(y)
}

// TestStreamingThroughEncode checks that each event reaches the client as
// it is produced, also when Caddy's encode handler is in the route.
func TestStreamingThroughEncode(t *testing.T) {
	u := startCaddy(t)
	for _, base := range []string{gatewayURL, encodedURL} {
		t.Run(base, func(t *testing.T) {
			u.openai.Set(fakeprovider.Behavior{Reply: "one two three four five", ChunkDelay: 300 * time.Millisecond})
			req, _ := http.NewRequest(http.MethodPost, base+"/v1/chat/completions",
				strings.NewReader(`{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"x"}]}`))
			req.Header.Set("Accept-Encoding", "gzip")
			req.Header.Set("Authorization", "Bearer "+clientToken)
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body io.Reader = resp.Body
			if ce := resp.Header.Get("Content-Encoding"); ce == "gzip" {
				// encode compresses the stream and flushes the compressor
				// with every event.
				if body, err = gzip.NewReader(resp.Body); err != nil {
					t.Fatal(err)
				}
			} else if ce != "" {
				t.Fatalf("unexpected Content-Encoding %q", ce)
			}
			br := bufio.NewReader(body)
			line, err := br.ReadString('\n')
			if err != nil || !strings.HasPrefix(line, "data: ") {
				t.Fatalf("first line %q, %v", line, err)
			}
			// The first event arrived while the provider is still streaming.
			if u.openai.Open() != 1 {
				t.Fatal("the first event was held back until the stream ended")
			}
		})
	}
}

func TestClientDisconnectCancelsUpstream(t *testing.T) {
	u := startCaddy(t)
	u.anthropic.Set(fakeprovider.Behavior{Reply: strings.Repeat("word ", 100), ChunkDelay: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	client := anthropic.NewClient(aoption.WithBaseURL(gatewayURL), aoption.WithAPIKey(clientToken), aoption.WithMaxRetries(0))
	stream := client.Messages.NewStreaming(ctx, anthropic.MessageNewParams{
		Model: "claude-sonnet-4-5", MaxTokens: 100,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
	})
	for i := 0; i < 3 && stream.Next(); i++ {
	}
	cancel()
	stream.Close()
	if !u.anthropic.WaitCanceled(1, 5*time.Second) {
		t.Fatal("the upstream request was not canceled when the client left")
	}
}

// TestStoredProviderKeys adds provider keys through the admin API: the
// preferred stored key replaces the Caddyfile key, and a service can pin a
// key of another Azure resource.
func TestStoredProviderKeys(t *testing.T) {
	u := startCaddy(t)
	ctx := context.Background()
	client := openAIClient(gatewayURL)
	chat := func() error {
		_, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model:    "az-gpt4o",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		})
		return err
	}
	if err := chat(); err != nil {
		t.Fatal(err)
	}
	assertUpstreamAuth(t, u.azure, "api-key", azureKey) // the Caddyfile key

	// A stored key with a better priority takes over on the next request.
	const storedKey = "azure-stored-key-0123456789"
	other := fakeprovider.New(t, fakeprovider.Azure, storedKey)
	var k struct {
		ID    string
		Last4 string `json:"last4"`
	}
	adminJSON(t, "POST", "/llm_gateway/providers/azure/keys",
		`{"key":"`+storedKey+`","label":"second resource","priority":0,"base_url":"`+other.URL+`"}`, 201, &k)
	if k.Last4 != "6789" {
		t.Fatalf("last4 %q", k.Last4)
	}
	status, b := adminDo(t, "GET", "/llm_gateway/providers/azure/keys", "")
	if status != 200 || strings.Contains(string(b), storedKey) {
		t.Fatalf("key list: %d %s", status, b)
	}
	if err := chat(); err != nil {
		t.Fatal(err)
	}
	assertUpstreamAuth(t, other, "api-key", storedKey)

	// Two keys of the same priority share the traffic; a lower priority
	// is not used while they exist.
	const thirdKey = "azure-third-key-0123456789"
	third := fakeprovider.New(t, fakeprovider.Azure, thirdKey)
	var k3 struct{ ID string }
	adminJSON(t, "POST", "/llm_gateway/providers/azure/keys",
		`{"key":"`+thirdKey+`","label":"third resource","priority":0,"base_url":"`+third.URL+`"}`, 201, &k3)
	var spare struct{ ID string }
	adminJSON(t, "POST", "/llm_gateway/providers/azure/keys",
		`{"key":"azure-spare-key-0123456789","label":"spare","priority":5,"base_url":"`+u.azure.URL+`"}`, 201, &spare)
	before := len(u.azure.Requests())
	for range 40 {
		if err := chat(); err != nil {
			t.Fatal(err)
		}
	}
	if a, b := len(other.Requests())-1, len(third.Requests()); a < 5 || b < 5 || a+b != 40 || len(u.azure.Requests()) != before {
		t.Fatalf("40 requests went %d / %d to the two priority-0 keys and %d to the others", a, b, len(u.azure.Requests())-before)
	}
	for _, id := range []string{k3.ID, spare.ID} {
		if status, _ := adminDo(t, "DELETE", "/llm_gateway/providers/azure/keys/"+id, ""); status != 204 {
			t.Fatalf("delete: %d", status)
		}
	}

	// Pinned by another service; the first service keeps the preferred key.
	pinnedBefore := len(other.Requests())
	adminJSON(t, "PATCH", "/llm_gateway/services/"+u.service, `{"pinned_keys":{"azure":"`+k.ID+`"}}`, 200, nil)
	if err := chat(); err != nil {
		t.Fatal(err)
	}
	if n := len(other.Requests()) - pinnedBefore; n != 1 {
		t.Fatalf("second resource saw %d requests, want 1", n)
	}

	// Deleting the key returns the provider to its Caddyfile key for
	// services that do not pin it.
	adminJSON(t, "PATCH", "/llm_gateway/services/"+u.service, `{"pinned_keys":{}}`, 200, nil)
	if status, _ := adminDo(t, "DELETE", "/llm_gateway/providers/azure/keys/"+k.ID, ""); status != 204 {
		t.Fatalf("delete: %d", status)
	}
	if err := chat(); err != nil {
		t.Fatal(err)
	}
	assertUpstreamAuth(t, u.azure, "api-key", azureKey)
}

// TestAuthThroughCaddy checks authentication and service permissions on
// every surface of a running Caddy.
func TestAuthThroughCaddy(t *testing.T) {
	u := startCaddy(t)
	post := func(path, body string, hdr ...string) int {
		req, _ := http.NewRequest("POST", gatewayURL+path, strings.NewReader(body))
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	chat := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}]}`
	msg := `{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"x"}]}`
	for _, c := range []struct {
		path, body string
		hdr        []string
		want       int
	}{
		{"/v1/chat/completions", chat, nil, 401},
		{"/v1/chat/completions", chat, []string{"Authorization", "Bearer llmgw_nope"}, 401},
		{"/v1/chat/completions", chat, []string{"Authorization", "Bearer " + clientToken}, 200},
		{"/v1/messages", msg, []string{"x-api-key", clientToken}, 200},
		{"/openai/deployments/az-1/chat/completions?api-version=2024-10-21", chat, []string{"api-key", clientToken}, 200},
		{"/v1/chat/completions?key=" + clientToken, chat, nil, 200},
	} {
		if got := post(c.path, c.body, c.hdr...); got != c.want {
			t.Errorf("%s %v: status %d, want %d", c.path, c.hdr, got, c.want)
		}
	}

	// Allowed models and deactivation apply to the next request.
	adminJSON(t, "PATCH", "/llm_gateway/services/"+u.service, `{"allowed_models":["claude-*"]}`, 200, nil)
	if got := post("/v1/chat/completions", chat, "Authorization", "Bearer "+clientToken); got != 403 {
		t.Fatalf("model outside allowed_models: %d", got)
	}
	if got := post("/v1/messages", msg, "x-api-key", clientToken); got != 200 {
		t.Fatalf("allowed model: %d", got)
	}
	adminJSON(t, "DELETE", "/llm_gateway/services/"+u.service, "", 200, nil)
	if got := post("/v1/messages", msg, "x-api-key", clientToken); got != 403 {
		t.Fatalf("inactive service: %d", got)
	}
	adminJSON(t, "PATCH", "/llm_gateway/services/"+u.service, `{"active":true}`, 200, nil)
	if got := post("/v1/messages", msg, "x-api-key", clientToken); got != 200 {
		t.Fatalf("reactivated service: %d", got)
	}
	adminJSON(t, "POST", "/llm_gateway/services/"+u.service+"/tokens/revoke", "", 200, nil)
	if got := post("/v1/messages", msg, "x-api-key", clientToken); got != 401 {
		t.Fatalf("revoked token: %d", got)
	}
}

// TestAdminWithoutGateway checks that the management API works on a Caddy
// whose config has no llm_gateway at all: it manages the default storage
// directory under Caddy's data dir.
func TestAdminWithoutGateway(t *testing.T) {
	data := t.TempDir()
	t.Setenv("XDG_DATA_HOME", data)
	tester := caddytest.NewTester(t)
	tester.InitServer(`{
	admin localhost:2999
	http_port 9080
	https_port 9443
	grace_period 1ns
	skip_install_trust
	auto_https off
}
:9080 {
	respond "no gateway here"
}
`, "caddyfile")
	t.Cleanup(func() { unload(t) })
	var svc struct{ ID string }
	adminJSON(t, "POST", "/llm_gateway/services", `{"name":"made-without-a-gateway"}`, 201, &svc)
	var got struct {
		Data []struct{ ID string } `json:"data"`
	}
	adminJSON(t, "GET", "/llm_gateway/services", "", 200, &got)
	if len(got.Data) != 1 || got.Data[0].ID != svc.ID {
		t.Fatalf("services %+v", got.Data)
	}
	// Without an llm_gateway app there is no encryption key: adding a
	// provider key is refused with a message saying how to set one.
	status, b := adminDo(t, "POST", "/llm_gateway/providers/openai/keys", `{"key":"sk-0123456789"}`)
	if status != 400 || !strings.Contains(string(b), "openssl rand -base64 32") {
		t.Fatalf("key without encryption_key: %d %s", status, b)
	}
	if _, err := os.Stat(filepath.Join(data, "caddy", "llm_gateway")); err != nil {
		t.Fatalf("default storage directory not used: %v", err)
	}
}

// TestCostControl drives rate limits, budgets and policies set through the
// admin API, and pricing overrides, on a running Caddy.
func TestCostControl(t *testing.T) {
	u := startCaddy(t)
	post := func(body string) (int, http.Header, string) {
		req, _ := http.NewRequest("POST", gatewayURL+"/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+clientToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	chat := `{"model":"gpt-4o-mini","max_tokens":100,"messages":[{"role":"user","content":"x"}]}`
	svc := "/llm_gateway/services/" + u.service

	// Rate limit: rpm 1.
	adminJSON(t, "PATCH", svc, `{"limits":{"rpm":1}}`, 200, nil)
	if s, _, b := post(chat); s != 200 {
		t.Fatalf("first request: %d %s", s, b)
	}
	s, h, b := post(chat)
	if s != 429 || h.Get("Retry-After") == "" || !strings.Contains(b, "rpm") {
		t.Fatalf("over rpm: %d Retry-After %q %s", s, h.Get("Retry-After"), b)
	}
	adminJSON(t, "PATCH", svc, `{"limits":{}}`, 200, nil)

	// Policy: compiled on save; a bad one is refused with the compiler's message.
	status, body := adminDo(t, "PATCH", svc, `{"policy":"request.max_tokens <="}`)
	if status != 400 || !strings.Contains(string(body), "policy") {
		t.Fatalf("bad policy: %d %s", status, body)
	}
	adminJSON(t, "PATCH", svc, `{"policy":"request.max_tokens <= 50"}`, 200, nil)
	if s, _, b := post(chat); s != 403 || !strings.Contains(b, "policy") {
		t.Fatalf("policy: %d %s", s, b)
	}
	adminJSON(t, "PATCH", svc, `{"policy":""}`, 200, nil)

	// Budget: a price override makes each request cost at most $1 (100
	// output tokens at $10,000 per million), so a $2.50 budget admits two.
	adminJSON(t, "PUT", "/llm_gateway/pricing", `{"overrides":{"gpt-4o-mini":{"input_usd":0.01,"output_usd":10000}}}`, 200, nil)
	u.openai.Set(fakeprovider.Behavior{InputTokens: 5, OutputTokens: 100})
	adminJSON(t, "PATCH", svc, `{"budget":{"daily_usd":2.5}}`, 200, nil)
	for i := range 2 {
		if s, _, b := post(chat); s != 200 {
			t.Fatalf("request %d under budget: %d %s", i, s, b)
		}
	}
	s, _, b = post(chat)
	if s != 402 || !strings.Contains(b, "budget") {
		t.Fatalf("over budget: %d %s", s, b)
	}

	// Spend survives a reload: the same storage, a new config.
	var pricing struct {
		Overrides map[string]map[string]float64 `json:"overrides"`
	}
	adminJSON(t, "GET", "/llm_gateway/pricing", "", 200, &pricing)
	if pricing.Overrides["gpt-4o-mini"]["output_usd"] != 10000 {
		t.Fatalf("pricing overrides %v", pricing.Overrides)
	}
	time.Sleep(1500 * time.Millisecond) // the spend writer runs every second
	unload(t)
	u2 := startCaddyAt(t, u.dir)
	_ = u2
	adminJSON(t, "PATCH", svc, `{"budget":{"daily_usd":2.5}}`, 200, nil)
	if s, _, b := post(chat); s != 402 {
		t.Fatalf("after reload, the spent budget was forgotten: %d %s", s, b)
	}
}
