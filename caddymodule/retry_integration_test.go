package caddymodule_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/fakeprovider"
)

// TestFallbackThroughCaddy: a route block's retries and its fallback
// target, through a real Caddy: the first target fails every attempt, the
// fallback answers, and the client sees only the answer.
func TestFallbackThroughCaddy(t *testing.T) {
	openaiUp := fakeprovider.New(t, fakeprovider.OpenAI, openAIKey)
	anthropicUp := fakeprovider.New(t, fakeprovider.Anthropic, anthropicKey)
	initGateway(t, fmt.Sprintf(`	llm_gateway {
		provider openai openai {
			base_url %s
			api_key %s
		}
		provider anthropic anthropic {
			base_url %s
			api_key %s
		}
		route resilient {
			to openai gpt-4o-mini
			to anthropic claude-haiku-4-5 priority 1
			retries 1
		}
	}
`, openaiUp.URL, openAIKey, anthropicUp.URL, anthropicKey))
	_, tok := mintToken(t, "fallback")
	openaiUp.Set(fakeprovider.Behavior{Status: 503})
	anthropicUp.Set(fakeprovider.Behavior{Reply: "Answered by the fallback"})

	client := openai.NewClient(option.WithBaseURL(gatewayURL+"/v1"), option.WithAPIKey(tok), option.WithMaxRetries(0))
	resp, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "resilient",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Content; got != "Answered by the fallback" {
		t.Fatalf("content %q", got)
	}
	if n := len(openaiUp.Requests()); n != 2 {
		t.Errorf("the first target got %d requests, want 2 (retries 1)", n)
	}
	if n := len(anthropicUp.Requests()); n != 1 {
		t.Errorf("the fallback got %d requests, want 1", n)
	}
}
