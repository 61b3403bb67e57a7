package provider

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
)

// DefaultGeminiURL is the gemini adapter's default base URL: the Gemini
// Developer API endpoint, without a version, as the official SDKs take it.
const DefaultGeminiURL = "https://generativelanguage.googleapis.com"

// DefaultGeminiVersion is the API version the gemini adapter appends to a
// base URL that names none.
const DefaultGeminiVersion = "v1beta"

// gemini is the adapter for the Gemini Developer API (Google AI Studio
// keys). A call goes to
//
//	POST {base}/v1beta/models/{model}:generateContent
//	POST {base}/v1beta/models/{model}:streamGenerateContent?alt=sse  (c.Stream)
//
// The base URL is taken as the official SDKs take it, without a version:
// /v1beta is appended. A base URL whose last path segment already is a
// version (v1, v1beta or v1alpha, as in a proxy configured with
// https://proxy.example/gemini/v1) is used as is.
//
// The key is sent only in the x-goog-api-key header, never as the ?key=
// query parameter the API also accepts: URLs end up in logs and error
// messages.
//
// The model is the path segment before the ":method" suffix. A leading
// "models/" (the form of the API's resource names) is dropped. A model that
// still holds a '/' or a ':' is refused: the API reads the path after
// unescaping it, so even escaped, "a:b" could pick another method and "a/b"
// another resource.
type gemini struct{ base }

func newGemini(cfg Config) (*gemini, error) {
	b, err := newBase(cfg, DefaultGeminiURL)
	if err != nil {
		return nil, err
	}
	return &gemini{b}, nil
}

func (p *gemini) Dialect() Dialect { return DialectGemini }

func (p *gemini) Supports(op Operation) bool { return op == OpGenerateContent }

func (p *gemini) Send(ctx context.Context, c *Call) (*http.Response, error) {
	if c.Op != OpGenerateContent {
		return nil, fmt.Errorf("%w: provider %q does not support %s", ErrNotSent, p.cfg.Name, c.Op)
	}
	seg, err := geminiModel(c.Model)
	if err != nil {
		return nil, err
	}
	version, err := p.versionPrefix(c)
	if err != nil {
		return nil, err
	}
	method, query := ":generateContent", url.Values(nil)
	if c.Stream {
		method, query = ":streamGenerateContent", url.Values{"alt": {"sse"}}
	}
	u, err := p.endpoint(c, query, version, "/models/", seg, method)
	if err != nil {
		return nil, err
	}
	return p.send(ctx, c, u, func(h http.Header, key string) {
		// Only the configured key authenticates, whatever the call carries.
		h.Del("Authorization")
		h.Del("X-Goog-Api-Key")
		if key != "" {
			h.Set("X-Goog-Api-Key", key)
		}
	})
}

// versionPrefix is "/v1beta", or "" when the base URL of the call already
// ends in an API version.
func (p *gemini) versionPrefix(c *Call) (string, error) {
	u := p.baseURL
	if c.BaseURL != "" {
		o, err := ParseBaseURL(c.BaseURL)
		if err != nil {
			return "", err
		}
		u = o
	}
	switch path.Base(u.Path) {
	case "v1", "v1beta", "v1alpha":
		return "", nil
	}
	return "/" + DefaultGeminiVersion, nil
}

// geminiModel escapes a Gemini model name as the {model} path segment,
// dropping a leading "models/" and refusing names with '/' or ':'.
func geminiModel(model string) (string, error) {
	name := strings.TrimPrefix(model, "models/")
	if strings.ContainsAny(name, "/:") {
		return "", fmt.Errorf("%w: model name %q cannot be used in a Gemini URL path: it contains '/' or ':'", ErrNotSent, model)
	}
	return segment(name)
}
