package provider

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// Prober is implemented by adapters that can be checked for health
// without a generation: an authenticated GET of the provider's model list.
// Every built-in adapter implements it.
type Prober interface {
	// Probe reports whether the provider answers: nil when it does (any
	// status but 401, 403, 429 and 5xx), else why not.
	Probe(ctx context.Context) error
}

// maxProbeBody bounds how much of a probe's answer is read.
const maxProbeBody = 1 << 20

// probe GETs u with the provider's auth and judges the answer.
func (b *base) probe(ctx context.Context, u *url.URL, auth func(h http.Header, key string)) error {
	ctx, cancel := context.WithCancelCause(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		cancel(nil)
		return fmt.Errorf("%w: building request: %w", ErrNotSent, err)
	}
	req.URL = u
	req.Header.Set("Accept", "application/json")
	resp, err := b.do(ctx, cancel, req, "", auth, 0, 0)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxProbeBody))
	switch s := resp.StatusCode; {
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		return fmt.Errorf("status %d: the provider refuses the gateway's credentials", s)
	case s == http.StatusTooManyRequests || s >= 500:
		return fmt.Errorf("status %d", s)
	}
	return nil
}

// Probe lists the models: GET {base_url}/models.
func (p *openAI) Probe(ctx context.Context) error {
	u, err := p.endpoint(&Call{}, nil, "/models")
	if err != nil {
		return err
	}
	return p.probe(ctx, u, func(h http.Header, key string) {
		if key != "" {
			h.Set("Authorization", "Bearer "+key)
		}
	})
}

// Probe lists the models: {endpoint}/openai/v1/models, or
// {endpoint}/openai/models?api-version=… for a dated API version.
func (p *azure) Probe(ctx context.Context) error {
	var u *url.URL
	var err error
	if p.cfg.APIVersion == "v1" {
		u, err = p.endpoint(&Call{}, nil, "/openai/v1/models")
	} else {
		u, err = p.endpoint(&Call{}, url.Values{"api-version": {p.cfg.APIVersion}}, "/openai/models")
	}
	if err != nil {
		return err
	}
	return p.probe(ctx, u, func(h http.Header, key string) {
		if key != "" {
			h.Set("api-key", key)
		}
	})
}

// Probe lists the models: GET {base_url}/v1/models.
func (p *anthropic) Probe(ctx context.Context) error {
	u, err := p.endpoint(&Call{}, nil, "/v1/models")
	if err != nil {
		return err
	}
	return p.probe(ctx, u, func(h http.Header, key string) {
		if key != "" {
			h.Set("x-api-key", key)
		}
		h.Set("anthropic-version", p.cfg.APIVersion)
	})
}

// Probe lists the models: GET {base_url}/v1beta/models.
func (p *gemini) Probe(ctx context.Context) error {
	version, err := p.versionPrefix(&Call{})
	if err != nil {
		return err
	}
	u, err := p.endpoint(&Call{}, nil, version, "/models")
	if err != nil {
		return err
	}
	return p.probe(ctx, u, func(h http.Header, key string) {
		if key != "" {
			h.Set("X-Goog-Api-Key", key)
		}
	})
}
