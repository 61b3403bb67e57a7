package fakeprovider_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/azure"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/fakeprovider"
)

const (
	azureKey     = "0123456789abcdef0123456789abcdef"
	azureVersion = "2024-10-21"
)

func azureClient(srv *fakeprovider.Server, key string) openai.Client {
	return openai.NewClient(
		azure.WithEndpoint(srv.URL, azureVersion),
		azure.WithAPIKey(key),
		azure.WithUnsafeAllowHTTP(),
		option.WithMaxRetries(0),
	)
}

func TestAzureChatCompletion(t *testing.T) {
	srv := fakeprovider.New(t, fakeprovider.Azure, azureKey)
	client := azureClient(srv, azureKey)
	ctx := context.Background()
	params := chatParams(false)
	params.Model = "my-gpt4o-deployment"

	resp, err := client.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content != fakeprovider.DefaultReply || resp.Model != "my-gpt4o-deployment" || resp.Usage.TotalTokens != 18 {
		t.Errorf("completion = %s", resp.RawJSON())
	}
	if _, ok := resp.JSON.ExtraFields["prompt_filter_results"]; !ok {
		t.Errorf("no prompt_filter_results: %s", resp.RawJSON())
	}
	if _, ok := resp.Choices[0].JSON.ExtraFields["content_filter_results"]; !ok {
		t.Errorf("no content_filter_results: %s", resp.RawJSON())
	}
	req := srv.LastRequest()
	if req.Path != "/openai/deployments/my-gpt4o-deployment/chat/completions" || req.RawQuery != "api-version="+azureVersion {
		t.Errorf("request = %s?%s", req.Path, req.RawQuery)
	}
	if req.Header.Get("api-key") != azureKey || req.Header.Get("Authorization") != "" {
		t.Errorf("auth headers = %v", req.Header)
	}

	// Streaming with usage: Azure's prompt-filter chunk (no choices) first.
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	stream := client.Chat.Completions.NewStreaming(ctx, params)
	var acc openai.ChatCompletionAccumulator
	var chunks []openai.ChatCompletionChunk
	for stream.Next() {
		if !acc.AddChunk(stream.Current()) {
			t.Fatalf("accumulator rejected %s", stream.Current().RawJSON())
		}
		chunks = append(chunks, stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if acc.Choices[0].Message.Content != fakeprovider.DefaultReply || acc.Usage.TotalTokens != 18 || acc.Choices[0].FinishReason != "stop" {
		t.Errorf("accumulated = %+v", acc.ChatCompletion)
	}
	first := chunks[0]
	if len(first.Choices) != 0 || first.ID != "" || !strings.Contains(first.RawJSON(), "prompt_filter_results") {
		t.Errorf("first chunk = %s", first.RawJSON())
	}
	if !strings.Contains(chunks[2].RawJSON(), `"content_filter_results":{"hate"`) {
		t.Errorf("content chunk = %s", chunks[2].RawJSON())
	}

	// A tool call.
	srv.Set(fakeprovider.Behavior{ToolCall: weatherCall})
	tparams := chatParams(true)
	tparams.Model = "dep"
	resp, err = client.Chat.Completions.New(ctx, tparams)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].FinishReason != "tool_calls" || resp.Choices[0].Message.ToolCalls[0].Function.Arguments != weatherCall.Arguments {
		t.Errorf("tool call = %s", resp.RawJSON())
	}
	stream = client.Chat.Completions.NewStreaming(ctx, tparams)
	acc = openai.ChatCompletionAccumulator{}
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil || acc.Choices[0].Message.ToolCalls[0].Function.Name != "get_weather" || acc.Choices[0].Message.ToolCalls[0].Function.Arguments != weatherCall.Arguments {
		t.Errorf("streamed tool call = %+v, %v", acc.Choices, err)
	}
}

func TestAzureEmbeddingsAndResponses(t *testing.T) {
	srv := fakeprovider.New(t, fakeprovider.Azure, azureKey)
	client := azureClient(srv, azureKey)
	ctx := context.Background()

	emb, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{
		Model: "emb-deployment",
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"a", "b", "c"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(emb.Data) != 3 || emb.Model != "emb-deployment" || emb.Usage.PromptTokens != 11 {
		t.Errorf("embeddings = %s", emb.RawJSON())
	}
	if p := srv.LastRequest().Path; p != "/openai/deployments/emb-deployment/embeddings" {
		t.Errorf("path = %s", p)
	}

	params := responses.ResponseNewParams{Model: "resp-deployment", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")}}
	resp, err := client.Responses.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if resp.OutputText() != fakeprovider.DefaultReply || resp.Model != "resp-deployment" {
		t.Errorf("response = %s", resp.RawJSON())
	}
	if r := srv.LastRequest(); r.Path != "/openai/responses" || r.RawQuery != "api-version="+azureVersion {
		t.Errorf("request = %s?%s", r.Path, r.RawQuery)
	}
	stream := client.Responses.NewStreaming(ctx, params)
	var last string
	for stream.Next() {
		last = stream.Current().Type
	}
	if stream.Err() != nil || last != "response.completed" {
		t.Errorf("stream: last %q, err %v", last, stream.Err())
	}
}

func TestAzureV1(t *testing.T) {
	srv := fakeprovider.New(t, fakeprovider.Azure, azureKey)
	ctx := context.Background()
	// The v1 API takes the plain OpenAI client, with the key as api-key or
	// as a bearer token.
	for _, auth := range []option.RequestOption{option.WithHeader("api-key", azureKey), option.WithAPIKey(azureKey)} {
		client := openai.NewClient(option.WithBaseURL(srv.URL+"/openai/v1/"), auth, option.WithMaxRetries(0))
		params := chatParams(false)
		params.Model = "v1-deployment"
		resp, err := client.Chat.Completions.New(ctx, params)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Model != "v1-deployment" || resp.Choices[0].Message.Content != fakeprovider.DefaultReply {
			t.Errorf("completion = %s", resp.RawJSON())
		}
		if r := srv.LastRequest(); r.Path != "/openai/v1/chat/completions" || r.RawQuery != "" {
			t.Errorf("request = %s?%s", r.Path, r.RawQuery)
		}
		if _, err := client.Responses.New(ctx, responses.ResponseNewParams{Model: "v1-deployment", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("x")}}); err != nil {
			t.Error(err)
		}
		if _, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "e", Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("x")}}); err != nil {
			t.Error(err)
		}
		if page, err := client.Models.List(ctx); err != nil || len(page.Data) == 0 {
			t.Errorf("models: %v", err)
		}
	}
}

func TestAzureErrors(t *testing.T) {
	srv := fakeprovider.New(t, fakeprovider.Azure, azureKey)
	ctx := context.Background()

	wrong := azureClient(srv, "wrong")
	_, err := wrong.Chat.Completions.New(ctx, chatParams(false))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized || apiErr.Code != "401" || !strings.Contains(apiErr.Message, "Access denied") {
		t.Fatalf("wrong key: %v", err)
	}

	status, body, _ := post(t, srv.URL+"/openai/deployments/d/chat/completions", `{"messages":[]}`, http.Header{"api-key": {azureKey}})
	if status != http.StatusNotFound || string(body) != `{"error":{"code":"404","message":"Resource not found"}}` {
		t.Errorf("no api-version: %d %s", status, body)
	}
	status, body, _ = post(t, srv.URL+"/openai/deployments/d/chat/completions?api-version=2024-10-21", `{"messages":[{"role":"user","content":"x"}]}`, http.Header{"Authorization": {"Bearer " + azureKey}})
	if status != http.StatusUnauthorized {
		t.Errorf("bearer on a dated path: %d %s", status, body)
	}
	status, body, hdr := post(t, srv.URL+"/openai/deployments/d/chat/completions?api-version=2024-10-21", `{"messages":[{"role":"user","content":"x"}]}`, http.Header{"api-key": {azureKey}})
	if status != 200 || hdr.Get("Apim-Request-Id") == "" {
		t.Errorf("deployment path without body model: %d %s", status, body)
	}

	srv.Set(fakeprovider.Behavior{Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"3"}}})
	client := azureClient(srv, azureKey)
	_, err = client.Chat.Completions.New(ctx, chatParams(false))
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.Code != "429" || !strings.Contains(apiErr.Message, "ChatCompletions_Create") {
		t.Fatalf("429: %v", err)
	}
	if apiErr.Response.Header.Get("Retry-After") != "3" {
		t.Errorf("Retry-After = %q", apiErr.Response.Header.Get("Retry-After"))
	}
}
