package caddymodule_test

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/fakeprovider"
)

// TestCacheReplayWithSDKs: the official SDKs read a replayed stream exactly
// as they read the live one (same chunks, same accumulated answer, tool
// calls included), and the provider is called once.
func TestCacheReplayWithSDKs(t *testing.T) {
	openaiUp := fakeprovider.New(t, fakeprovider.OpenAI, openAIKey)
	anthropicUp := fakeprovider.New(t, fakeprovider.Anthropic, anthropicKey)
	initGateway(t, fmt.Sprintf(`	encode
	llm_gateway {
		provider openai openai {
			base_url %s
			api_key %s
		}
		provider anthropic anthropic {
			base_url %s
			api_key %s
		}
		cache {
			ttl 10m
		}
	}
`, openaiUp.URL, openAIKey, anthropicUp.URL, anthropicKey))
	_, tok := mintToken(t, "cache-sdk")
	ctx := context.Background()

	t.Run("openai chat stream with a tool call", func(t *testing.T) {
		openaiUp.Set(fakeprovider.Behavior{ToolCall: &fakeprovider.ToolCall{Name: "get_weather", Arguments: `{"city":"Paris"}`}})
		client := openai.NewClient(option.WithBaseURL(gatewayURL+"/v1"), option.WithAPIKey(tok), option.WithMaxRetries(0))
		params := openai.ChatCompletionNewParams{
			Model:    "gpt-4o-mini",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("weather in Paris?")},
			Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{
				Name:       "get_weather",
				Parameters: openai.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}},
			})},
			StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
		}
		run := func(want string) (openai.ChatCompletion, []string) {
			var resp *http.Response
			stream := client.Chat.Completions.NewStreaming(ctx, params, option.WithResponseInto(&resp))
			var acc openai.ChatCompletionAccumulator
			var raw []string
			for stream.Next() {
				acc.AddChunk(stream.Current())
				raw = append(raw, stream.Current().RawJSON())
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if got := resp.Header.Get("X-Cache"); got != want {
				t.Fatalf("X-Cache %q, want %s", got, want)
			}
			return acc.ChatCompletion, raw
		}
		before := len(openaiUp.Requests())
		live, liveRaw := run("MISS")
		replay, replayRaw := run("HIT")
		if !reflect.DeepEqual(liveRaw, replayRaw) {
			t.Errorf("the SDK read different chunks:\nlive:   %q\nreplay: %q", liveRaw, replayRaw)
		}
		if len(replay.Choices) != 1 || len(replay.Choices[0].Message.ToolCalls) != 1 ||
			replay.Choices[0].Message.ToolCalls[0].Function.Arguments != `{"city":"Paris"}` || replay.Usage.TotalTokens == 0 {
			t.Errorf("replayed completion %+v", replay)
		}
		if live.RawJSON() != replay.RawJSON() {
			t.Errorf("accumulated answers differ:\n%s\n%s", live.RawJSON(), replay.RawJSON())
		}
		if n := len(openaiUp.Requests()) - before; n != 1 {
			t.Errorf("the provider got %d requests, want 1", n)
		}
	})

	t.Run("anthropic messages stream", func(t *testing.T) {
		anthropicUp.Set(fakeprovider.Behavior{Reply: "Cached words stream back", InputTokens: 20, OutputTokens: 5})
		client := anthropic.NewClient(aoption.WithBaseURL(gatewayURL), aoption.WithAPIKey(tok), aoption.WithMaxRetries(0))
		params := anthropic.MessageNewParams{
			Model:     "claude-sonnet-4-5",
			MaxTokens: 100,
			Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
		}
		run := func(want string) (anthropic.Message, []string) {
			var resp *http.Response
			stream := client.Messages.NewStreaming(ctx, params, aoption.WithResponseInto(&resp))
			var acc anthropic.Message
			var raw []string
			for stream.Next() {
				if err := acc.Accumulate(stream.Current()); err != nil {
					t.Fatal(err)
				}
				raw = append(raw, stream.Current().RawJSON())
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if got := resp.Header.Get("X-Cache"); got != want {
				t.Fatalf("X-Cache %q, want %s", got, want)
			}
			return acc, raw
		}
		before := len(anthropicUp.Requests())
		live, liveRaw := run("MISS")
		replay, replayRaw := run("HIT")
		if !reflect.DeepEqual(liveRaw, replayRaw) {
			t.Errorf("the SDK read different events:\nlive:   %q\nreplay: %q", liveRaw, replayRaw)
		}
		if replay.Content[0].Text != "Cached words stream back" || replay.StopReason != "end_turn" || replay.Usage.OutputTokens != 5 || live.ID != replay.ID {
			t.Errorf("replayed message %+v", replay)
		}
		if n := len(anthropicUp.Requests()) - before; n != 1 {
			t.Errorf("the provider got %d requests, want 1", n)
		}
	})
}
