package provider

import (
	"context"
	"fmt"
	"net/http"
)

// DefaultOpenAIURL is the openai adapter's default base URL.
const DefaultOpenAIURL = "https://api.openai.com/v1"

// openAI is the adapter for OpenAI and every server that speaks its API
// (vLLM, Ollama, llama.cpp, Groq, DeepSeek, OpenRouter…). The base URL
// includes the version prefix, as the official SDKs take it.
type openAI struct{ base }

func newOpenAI(cfg Config) (*openAI, error) {
	def := DefaultOpenAIURL
	if cfg.Type == "openai_compatible" {
		def = ""
	}
	b, err := newBase(cfg, def)
	if err != nil {
		return nil, err
	}
	return &openAI{b}, nil
}

func (p *openAI) Dialect() Dialect { return DialectOpenAI }

func (p *openAI) Supports(op Operation) bool {
	switch op {
	case OpChatCompletions, OpResponses, OpEmbeddings:
		return true
	}
	return false
}

var openAIPaths = map[Operation]string{
	OpChatCompletions: "/chat/completions",
	OpResponses:       "/responses",
	OpEmbeddings:      "/embeddings",
}

func (p *openAI) Send(ctx context.Context, c *Call) (*http.Response, error) {
	path, ok := openAIPaths[c.Op]
	if !ok {
		return nil, fmt.Errorf("%w: provider %q does not support %s", ErrNotSent, p.cfg.Name, c.Op)
	}
	u, err := p.endpoint(c, nil, path)
	if err != nil {
		return nil, err
	}
	return p.send(ctx, c, u, func(h http.Header, key string) {
		if key != "" {
			h.Set("Authorization", "Bearer "+key)
		}
	})
}
