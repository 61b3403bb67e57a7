package caddymodule_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/azure"
	"github.com/openai/openai-go/v3/option"
)

// TestFilesSDK: the OpenAI SDK's files API (upload, list, retrieve,
// content, delete) works through the gateway, on the OpenAI and the Azure
// surfaces; uploads reach the provider with its own key, never the
// client's token; Llm-Gateway-Provider picks another provider.
func TestFilesSDK(t *testing.T) {
	u := startCaddy(t)
	ctx := context.Background()
	const data = `{"custom_id":"r1","method":"POST","url":"/v1/chat/completions","body":{}}` + "\n"

	cases := []struct {
		name   string
		client openai.Client
		up     interface{ Files() map[string][]byte }
	}{
		{"openai surface", openai.NewClient(option.WithBaseURL(gatewayURL+"/v1"), option.WithAPIKey(clientToken), option.WithMaxRetries(0)), u.openai},
		{"azure surface", openai.NewClient(azure.WithEndpoint(gatewayURL, "2024-10-21"), azure.WithAPIKey(clientToken),
			azure.WithUnsafeAllowHTTP(), option.WithMaxRetries(0)), u.azure},
		{"provider header", openai.NewClient(option.WithBaseURL(gatewayURL+"/v1"), option.WithAPIKey(clientToken), option.WithMaxRetries(0),
			option.WithHeader("Llm-Gateway-Provider", "azure")), u.azure},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := c.client.Files.New(ctx, openai.FileNewParams{
				File:    openai.File(strings.NewReader(data), "batch.jsonl", "application/jsonl"),
				Purpose: openai.FilePurposeBatch,
			})
			if err != nil {
				t.Fatal(err)
			}
			if f.Filename != "batch.jsonl" || f.Bytes != int64(len(data)) || f.Purpose != "batch" {
				t.Fatalf("uploaded %+v", f)
			}
			if got := string(c.up.Files()[f.ID]); got != data {
				t.Fatalf("the provider stored %q", got)
			}
			list, err := c.client.Files.List(ctx, openai.FileListParams{Purpose: openai.String("batch")})
			if err != nil || !containsFile(list.Data, f.ID) {
				t.Fatalf("list: %v %+v", err, list)
			}
			got, err := c.client.Files.Get(ctx, f.ID)
			if err != nil || got.ID != f.ID {
				t.Fatalf("get: %v %+v", err, got)
			}
			resp, err := c.client.Files.Content(ctx, f.ID)
			if err != nil {
				t.Fatal(err)
			}
			content, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(content) != data {
				t.Fatalf("content %q", content)
			}
			del, err := c.client.Files.Delete(ctx, f.ID)
			if err != nil || !del.Deleted {
				t.Fatalf("delete: %v %+v", err, del)
			}
			if _, err := c.client.Files.Get(ctx, f.ID); err == nil || !strings.Contains(err.Error(), "404") {
				t.Fatalf("get after delete: %v", err)
			}
		})
	}
	assertUpstreamAuth(t, u.openai, "Authorization", "Bearer "+openAIKey)
	assertUpstreamAuth(t, u.azure, "api-key", azureKey)
	if p := u.azure.LastRequest().Path; !strings.HasPrefix(p, "/openai/files") {
		t.Fatalf("azure got %s", p)
	}

	// No token, no upload.
	anon := openai.NewClient(option.WithBaseURL(gatewayURL+"/v1"), option.WithAPIKey("llmgw_nope"), option.WithMaxRetries(0))
	if _, err := anon.Files.List(ctx, openai.FileListParams{}); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("unauthenticated list: %v", err)
	}
	// A provider without a files API is refused clearly.
	c := openai.NewClient(option.WithBaseURL(gatewayURL+"/v1"), option.WithAPIKey(clientToken), option.WithMaxRetries(0),
		option.WithHeader("Llm-Gateway-Provider", "anthropic"))
	var apiErr *openai.Error
	if _, err := c.Files.List(ctx, openai.FileListParams{}); !errors.As(err, &apiErr) || apiErr.StatusCode != 400 ||
		!strings.Contains(apiErr.RawJSON(), "no files API") {
		t.Fatalf("files on anthropic: %v", err)
	}
}

func containsFile(fs []openai.FileObject, id string) bool {
	for _, f := range fs {
		if f.ID == id {
			return true
		}
	}
	return false
}
