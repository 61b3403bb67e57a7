package provider

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Forwarder is implemented by adapters that pass other API requests
// through unchanged: the OpenAI files API (/v1/files…). The openai and
// azure adapters implement it.
type Forwarder interface {
	Forward(ctx context.Context, f *Forward) (*http.Response, error)
}

// Forward is one request passed through to a provider.
type Forward struct {
	// Method is the HTTP method.
	Method string
	// Path is the path below the API root, already escaped, starting with
	// "/files". Each element comes from the gateway's own route patterns
	// (and a file ID that was escaped as one segment).
	Path string
	// Query holds the client's query values that are allowed through.
	Query url.Values
	// ContentType is the request body's media type (a multipart upload).
	ContentType string
	// Body is the request body, nil for none; ContentLength its length,
	// -1 when unknown.
	Body          io.Reader
	ContentLength int64
	// APIKey and BaseURL replace the provider's own, as in Call.
	APIKey, BaseURL string
}

// Forward sends f to the OpenAI API: {base_url}{path}.
func (p *openAI) Forward(ctx context.Context, f *Forward) (*http.Response, error) {
	u, err := p.endpoint(&Call{BaseURL: f.BaseURL}, f.Query, f.Path)
	if err != nil {
		return nil, err
	}
	return p.forward(ctx, f, u, func(h http.Header, key string) {
		if key != "" {
			h.Set("Authorization", "Bearer "+key)
		}
	})
}

// Forward sends f to Azure OpenAI: {endpoint}/openai/v1{path} for the v1
// API, else {endpoint}/openai{path}?api-version=….
func (p *azure) Forward(ctx context.Context, f *Forward) (*http.Response, error) {
	var u *url.URL
	var err error
	c := &Call{BaseURL: f.BaseURL}
	if p.cfg.APIVersion == "v1" {
		u, err = p.endpoint(c, f.Query, "/openai/v1", f.Path)
	} else {
		q := url.Values{}
		for k, v := range f.Query {
			q[k] = v
		}
		q.Set("api-version", p.cfg.APIVersion)
		u, err = p.endpoint(c, q, "/openai", f.Path)
	}
	if err != nil {
		return nil, err
	}
	return p.forward(ctx, f, u, func(h http.Header, key string) {
		if key != "" {
			h.Set("api-key", key)
		}
	})
}

// forward sends a passed-through request, with the provider's auth.
func (b *base) forward(ctx context.Context, f *Forward, u *url.URL, auth func(h http.Header, key string)) (*http.Response, error) {
	if !strings.HasPrefix(f.Path, "/files") {
		return nil, fmt.Errorf("%w: provider %q: %s cannot be passed through", ErrNotSent, b.cfg.Name, f.Path)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	req, err := http.NewRequestWithContext(ctx, f.Method, u.String(), f.Body)
	if err != nil {
		cancel(nil)
		return nil, fmt.Errorf("%w: building request: %w", ErrNotSent, err)
	}
	req.URL = u
	if f.Body != nil {
		req.ContentLength = f.ContentLength
	}
	if f.ContentType != "" {
		req.Header.Set("Content-Type", f.ContentType)
	}
	return b.do(ctx, cancel, req, f.APIKey, auth, 0, 0)
}
