package provider

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// DefaultAnthropicURL is the anthropic adapter's default base URL.
const DefaultAnthropicURL = "https://api.anthropic.com"

// DefaultAnthropicVersion is the anthropic-version header sent when neither
// the configuration nor the client names one.
const DefaultAnthropicVersion = "2023-06-01"

// anthropic is the adapter for the Anthropic Messages API.
type anthropic struct{ base }

func newAnthropic(cfg Config) (*anthropic, error) {
	if cfg.APIVersion == "" {
		cfg.APIVersion = DefaultAnthropicVersion
	}
	b, err := newBase(cfg, DefaultAnthropicURL)
	if err != nil {
		return nil, err
	}
	return &anthropic{b}, nil
}

func (p *anthropic) Dialect() Dialect { return DialectAnthropic }

func (p *anthropic) Supports(op Operation) bool {
	return op == OpMessages || op == OpCountTokens
}

func (p *anthropic) Send(ctx context.Context, c *Call) (*http.Response, error) {
	var path string
	switch c.Op {
	case OpMessages:
		path = "/v1/messages"
	case OpCountTokens:
		path = "/v1/messages/count_tokens"
	default:
		return nil, fmt.Errorf("%w: provider %q does not support %s", ErrNotSent, p.cfg.Name, c.Op)
	}
	u, err := p.endpoint(c, nil, path)
	if err != nil {
		return nil, err
	}
	return p.send(ctx, c, u, func(h http.Header, key string) {
		if key != "" {
			h.Set("x-api-key", key)
		}
		if h.Get("anthropic-version") == "" {
			h.Set("anthropic-version", p.cfg.APIVersion)
		}
	})
}

// MaxOutputTokens is the largest max_tokens the Anthropic model accepts, used
// as the default when an OpenAI-dialect request names none (Anthropic
// requires one). Models not listed get 32000, which every current model
// accepts.
func MaxOutputTokens(model string) int {
	for _, m := range anthropicOutputCaps {
		if strings.HasPrefix(model, m.prefix) {
			return m.tokens
		}
	}
	return 32000
}

// anthropicOutputCaps are the models' documented output limits, most
// specific prefix first.
var anthropicOutputCaps = []struct {
	prefix string
	tokens int
}{
	{"claude-3-haiku", 4096},
	{"claude-3-opus", 4096},
	{"claude-3-sonnet", 4096},
	{"claude-3-5-haiku", 8192},
	{"claude-3-5-sonnet", 8192},
	{"claude-3-7-sonnet", 64000},
	{"claude-sonnet-4", 64000},
	{"claude-haiku-4", 64000},
	{"claude-opus-4-0", 32000},
	{"claude-opus-4-1", 32000},
	{"claude-opus-4-2", 32000}, // claude-opus-4-20250514
	{"claude-opus-4", 64000},
}
