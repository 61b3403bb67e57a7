package caddymodule_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

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
		route down {
			to openai gpt-4o-down
			to anthropic claude-haiku-4-5 priority 1
			retries 4
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

	// The admin API reports each target's health.
	var out struct {
		Targets []struct {
			Provider, Model, State string
			Failures, Successes    int
			LastError              string `json:"last_error"`
		} `json:"targets"`
	}
	adminJSON(t, "GET", "/llm_gateway/providers", "", 200, &out)
	found := 0
	for _, h := range out.Targets {
		switch {
		case h.Provider == "openai" && h.Model == "gpt-4o-mini":
			found++
			if h.Failures != 2 || h.State != "closed" || h.LastError != "status 503" {
				t.Errorf("openai target %+v", h)
			}
		case h.Provider == "anthropic" && h.Model == "claude-haiku-4-5":
			found++
			if h.Successes != 1 || h.State != "closed" {
				t.Errorf("anthropic target %+v", h)
			}
		}
	}
	if found != 2 {
		t.Errorf("targets %+v", out.Targets)
	}

	// Five failures in a row open a circuit: the admin API and the metrics
	// say so.
	resp, err = client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "down",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	if err != nil || resp.Choices[0].Message.Content != "Answered by the fallback" {
		t.Fatalf("down: %v", err)
	}
	adminJSON(t, "GET", "/llm_gateway/providers", "", 200, &out)
	open := false
	for _, h := range out.Targets {
		open = open || h.Provider == "openai" && h.Model == "gpt-4o-down" && h.State == "open"
	}
	if !open {
		t.Errorf("the circuit of openai/gpt-4o-down is not open: %+v", out.Targets)
	}
	_, metricsText := adminDo(t, "GET", "/metrics", "")
	if !strings.Contains(string(metricsText), `caddy_llm_gateway_circuit_open{model="gpt-4o-down",provider="openai"} 1`) {
		t.Errorf("the circuit metric is missing:\n%s", grepLines(string(metricsText), "circuit"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestHealthCheckThroughCaddy: a provider's health_check probes it; a
// provider that fails its probes is skipped by requests, and the admin API
// shows its circuit.
func TestHealthCheckThroughCaddy(t *testing.T) {
	openaiUp := fakeprovider.New(t, fakeprovider.OpenAI, openAIKey)
	anthropicUp := fakeprovider.New(t, fakeprovider.Anthropic, anthropicKey)
	openaiUp.Set(fakeprovider.Behavior{Status: 503})
	initGateway(t, fmt.Sprintf(`	llm_gateway {
		provider openai openai {
			base_url %s
			api_key %s
			health_check 20ms
		}
		provider anthropic anthropic {
			base_url %s
			api_key %s
		}
		route resilient {
			to openai gpt-4o-mini
			to anthropic claude-haiku-4-5 priority 1
		}
	}
`, openaiUp.URL, openAIKey, anthropicUp.URL, anthropicKey))
	_, tok := mintToken(t, "health-check")
	var out struct {
		Targets []struct{ Provider, Model, State string } `json:"targets"`
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		adminJSON(t, "GET", "/llm_gateway/providers", "", 200, &out)
		if len(out.Targets) == 1 && out.Targets[0].Provider == "openai" && out.Targets[0].Model == "*" && out.Targets[0].State == "open" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the failing provider's circuit did not open: %+v", out.Targets)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, r := range openaiUp.Requests() {
		if r.Method != "GET" || r.Path != "/v1/models" || r.Header.Get("Authorization") != "Bearer "+openAIKey {
			t.Fatalf("probe %s %s", r.Method, r.Path)
		}
	}
	client := openai.NewClient(option.WithBaseURL(gatewayURL+"/v1"), option.WithAPIKey(tok), option.WithMaxRetries(0))
	if _, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "resilient",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	}); err != nil {
		t.Fatal(err)
	}
	for _, r := range openaiUp.Requests() {
		if r.Method == "POST" {
			t.Fatal("a request went to the provider whose probes fail")
		}
	}
	if len(anthropicUp.Requests()) != 1 {
		t.Fatalf("the fallback got %d requests", len(anthropicUp.Requests()))
	}
}
