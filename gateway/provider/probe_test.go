package provider_test

import (
	"context"
	"testing"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/fakeprovider"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/provider"
)

// TestProbe: every adapter can be probed; a provider that answers is
// healthy, one that fails (5xx, 429, refused credentials, unreachable)
// is not.
func TestProbe(t *testing.T) {
	cases := []struct {
		typ     string
		dialect fakeprovider.Dialect
	}{
		{"openai", fakeprovider.OpenAI},
		{"azure", fakeprovider.Azure},
		{"anthropic", fakeprovider.Anthropic},
		{"gemini", fakeprovider.Gemini},
	}
	for _, c := range cases {
		t.Run(c.typ, func(t *testing.T) {
			up := fakeprovider.New(t, c.dialect, "probe-key-0123456789")
			mk := func(key string) provider.Prober {
				p, err := provider.New(provider.Config{Name: c.typ, Type: c.typ, BaseURL: up.URL, APIKey: key})
				if err != nil {
					t.Fatal(err)
				}
				return p.(provider.Prober)
			}
			ctx := context.Background()
			if err := mk("probe-key-0123456789").Probe(ctx); err != nil {
				t.Fatalf("healthy provider: %v", err)
			}
			if got := up.LastRequest(); got.Method != "GET" {
				t.Fatalf("probe was a %s %s", got.Method, got.Path)
			}
			up.Set(fakeprovider.Behavior{Status: 503})
			if err := mk("probe-key-0123456789").Probe(ctx); err == nil {
				t.Fatal("a failing provider passed the probe")
			}
			up.Set(fakeprovider.Behavior{})
			if c.typ != "gemini" { // Gemini answers a wrong key with 400 INVALID_ARGUMENT
				if err := mk("wrong-key-0123456789").Probe(ctx); err == nil {
					t.Fatal("refused credentials passed the probe")
				}
			}
		})
	}
	p, _ := provider.New(provider.Config{Name: "x", Type: "openai", BaseURL: "http://127.0.0.1:1/v1", APIKey: "k"})
	if err := p.(provider.Prober).Probe(context.Background()); err == nil {
		t.Fatal("an unreachable provider passed the probe")
	}
}
