package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/auth"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/storage"
)

func TestAuthentication(t *testing.T) {
	f := newFixture(t)
	do := func(path, body string, hdr ...string) (*http.Response, []byte) {
		req, _ := http.NewRequest(http.MethodPost, f.gw.URL+path, strings.NewReader(body))
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	msgBody := `{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"x"}]}`
	tests := []struct {
		name, path, body string
		hdr              []string
		status           int
	}{
		{"no token", "/v1/chat/completions", chatBody, nil, 401},
		{"garbage token", "/v1/chat/completions", chatBody, []string{"Authorization", "Bearer sk-not-ours"}, 401},
		{"Basic auth", "/v1/chat/completions", chatBody, []string{"Authorization", "Basic dXNlcjpwYXNz"}, 401},
		{"bearer", "/v1/chat/completions", chatBody, []string{"Authorization", "Bearer " + testToken}, 200},
		{"x-api-key", "/v1/messages", msgBody, []string{"x-api-key", testToken}, 200},
		{"api-key", "/openai/deployments/az-x/chat/completions", chatBody, []string{"api-key", testToken}, 200},
		{"x-goog-api-key", "/v1/chat/completions", chatBody, []string{"x-goog-api-key", testToken}, 200},
		{"query key", "/v1/chat/completions?key=" + testToken, chatBody, nil, 200},
		{"anthropic surface without token", "/v1/messages", msgBody, nil, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := do(tt.path, tt.body, tt.hdr...)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			if tt.status == 401 {
				if strings.HasPrefix(tt.path, "/v1/messages") {
					if typ, _ := anthropicError(t, b); typ != "authentication_error" {
						t.Fatalf("type %q", typ)
					}
				} else if _, code, _ := openAIError(t, b); code != "invalid_api_key" {
					t.Fatalf("code %q", code)
				}
			}
		})
	}
	// An unauthenticated request is refused before its body is read or any
	// provider is called.
	if n := len(f.openai.Requests()); n != 3 {
		t.Fatalf("openai saw %d requests, want the 3 authenticated ones sent to it", n)
	}
}

// serviceAuth authenticates testToken for a given service.
func serviceAuth(s *storage.Service) stubAuth { return stubAuth{svc: s} }

func TestServicePermissions(t *testing.T) {
	svc := &storage.Service{ID: "svc_1", Name: "reports", Active: true, AllowedModels: []string{"gpt-4o*", "smart"}}
	f := newFixture(t, func(c *gateway.Config) { c.Auth = serviceAuth(svc) })

	resp, b := f.post(t, "/v1/chat/completions", chatBody)
	if resp.StatusCode != 200 {
		t.Fatalf("allowed model: %d %s", resp.StatusCode, b)
	}
	resp, b = f.post(t, "/v1/chat/completions", `{"model":"claude-sonnet-4-5","messages":[]}`)
	if resp.StatusCode != 403 {
		t.Fatalf("disallowed model: %d", resp.StatusCode)
	}
	if _, code, msg := openAIError(t, b); code != "model_not_allowed" || !strings.Contains(msg, "reports") {
		t.Fatalf("code %q msg %q", code, msg)
	}

	// /v1/models lists only what the service may use.
	req := authed(http.MethodGet, f.gw.URL+"/v1/models", nil)
	mresp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Data []struct{ ID string } `json:"data"`
	}
	json.NewDecoder(mresp.Body).Decode(&list)
	mresp.Body.Close()
	if len(list.Data) != 2 || list.Data[0].ID != "gpt-4o-mini" || list.Data[1].ID != "smart" {
		t.Fatalf("models %+v", list.Data)
	}
	mresp, _ = http.Get(f.gw.URL + "/v1/models")
	mresp.Body.Close()
	if mresp.StatusCode != 401 {
		t.Fatalf("models without a token: %d", mresp.StatusCode)
	}

	svc.Active = false
	resp, b = f.post(t, "/v1/chat/completions", chatBody)
	if resp.StatusCode != 403 {
		t.Fatalf("inactive service: %d", resp.StatusCode)
	}
	if _, code, _ := openAIError(t, b); code != "service_inactive" {
		t.Fatalf("code %q", code)
	}
}

// keyFor is a KeySource that gives one service its own OpenAI key.
type keyFor struct{ service, key string }

func (k keyFor) ProviderKey(_ context.Context, provider string, s *storage.Service, _ func(string) bool) (gateway.ProviderKey, error) {
	if provider == "openai" && s.ID == k.service {
		return gateway.ProviderKey{ID: "key_1", Key: k.key}, nil
	}
	return gateway.ProviderKey{}, nil
}

func TestStoredProviderKey(t *testing.T) {
	f := newFixture(t, func(c *gateway.Config) { c.Keys = keyFor{service: "svc_test", key: "sk-stored-key"} })
	f.post(t, "/v1/chat/completions", chatBody)
	if got := f.openai.LastRequest().Header.Get("Authorization"); got != "Bearer sk-stored-key" {
		t.Fatalf("provider saw %q", got)
	}
}

var _ gateway.Authenticator = (*auth.Verifier)(nil)
