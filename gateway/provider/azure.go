package provider

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// DefaultAzureAPIVersion is the api-version sent to Azure OpenAI when the
// configuration names none: the latest generally available data-plane
// version of the deployment-scoped API.
const DefaultAzureAPIVersion = "2024-10-21"

// azure is the adapter for Azure OpenAI. The base URL is the resource
// endpoint (https://NAME.openai.azure.com); the model is the deployment
// name. With api_version "v1" requests go to the v1 API
// ({endpoint}/openai/v1/…, model in the body, no api-version); otherwise
// chat completions and embeddings go to the deployment URL
// ({endpoint}/openai/deployments/{deployment}/…?api-version=…) and
// responses to {endpoint}/openai/responses?api-version=….
type azure struct{ base }

func newAzure(cfg Config) (*azure, error) {
	if cfg.APIVersion == "" {
		cfg.APIVersion = DefaultAzureAPIVersion
	}
	b, err := newBase(cfg, "")
	if err != nil {
		return nil, err
	}
	return &azure{b}, nil
}

func (p *azure) Dialect() Dialect { return DialectOpenAI }

func (p *azure) Supports(op Operation) bool {
	switch op {
	case OpChatCompletions, OpResponses, OpEmbeddings:
		return true
	}
	return false
}

func (p *azure) Send(ctx context.Context, c *Call) (*http.Response, error) {
	path, ok := openAIPaths[c.Op]
	if !ok {
		return nil, fmt.Errorf("%w: provider %q does not support %s", ErrNotSent, p.cfg.Name, c.Op)
	}
	var u *url.URL
	var err error
	switch {
	case p.cfg.APIVersion == "v1":
		u, err = p.endpoint(c, nil, "/openai/v1", path)
	case c.Op == OpResponses:
		u, err = p.endpoint(c, url.Values{"api-version": {p.cfg.APIVersion}}, "/openai", path)
	default:
		seg, serr := segment(c.Model)
		if serr != nil {
			return nil, serr
		}
		u, err = p.endpoint(c, url.Values{"api-version": {p.cfg.APIVersion}}, "/openai/deployments/", seg, path)
	}
	if err != nil {
		return nil, err
	}
	return p.send(ctx, c, u, func(h http.Header, key string) {
		if key != "" {
			h.Set("api-key", key)
		}
	})
}
