// Package provider holds the upstream side of the gateway: the Provider
// interface every LLM provider adapter implements, and the adapters for
// OpenAI, OpenAI-compatible servers, Azure OpenAI, Anthropic and Gemini.
//
// An adapter knows where an operation lives on its provider (URL, path,
// query), how to authenticate, and which client headers it may pass on. It
// does not translate bodies: the gateway hands it a body already in the
// provider's dialect.
package provider

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Dialect is a wire protocol: the shape of request and response bodies.
type Dialect string

// The dialects the gateway speaks.
const (
	DialectOpenAI    Dialect = "openai"
	DialectAnthropic Dialect = "anthropic"
	DialectGemini    Dialect = "gemini"
)

// Operation is what a request asks a provider to do, independent of the
// dialect it is expressed in.
type Operation string

// The operations the gateway proxies.
const (
	OpChatCompletions Operation = "chat_completions"
	OpResponses       Operation = "responses"
	OpEmbeddings      Operation = "embeddings"
	OpMessages        Operation = "messages"
	OpCountTokens     Operation = "count_tokens"
	// OpGenerateContent is Gemini's models.generateContent (and, for a
	// streamed call, models.streamGenerateContent).
	OpGenerateContent Operation = "generate_content"
)

// Call is one upstream request.
type Call struct {
	// Op is the operation; the provider must support it natively.
	Op Operation
	// Model is the upstream model (for Azure, the deployment name).
	Model string
	// Body is the request body, in the provider's dialect, already naming
	// Model where the dialect carries the model in the body.
	Body []byte
	// Stream says whether a server-sent event stream is expected.
	Stream bool
	// Header holds client headers that the gateway allows through (protocol
	// feature flags such as anthropic-beta). Credentials never appear here.
	Header http.Header
	// APIKey, when set, replaces the provider's configured key for this
	// call (a key stored through the admin API).
	APIKey string
	// BaseURL, when set, replaces the provider's base URL for this call: a
	// stored key that belongs to another endpoint, such as another Azure
	// resource. It comes from the operator, never from a request.
	BaseURL string
	// FirstByteTimeout, when > 0, bounds the wait for the first byte of
	// the answer's body (headers included): a reasoning model may think
	// for a minute before its first token. The call then fails with
	// ErrFirstByteTimeout.
	FirstByteTimeout time.Duration
	// IdleTimeout, when > 0, replaces the provider's idle timeout for this
	// call.
	IdleTimeout time.Duration
}

// Provider is an LLM provider the gateway can send requests to.
type Provider interface {
	// Name is the name the configuration gives the provider.
	Name() string
	// Type is the adapter type: openai, openai_compatible, azure, anthropic…
	Type() string
	// Dialect is the wire protocol the provider speaks.
	Dialect() Dialect
	// Supports reports whether the provider serves op natively.
	Supports(op Operation) bool
	// Models lists the models the configuration says the provider serves.
	Models() []string
	// Send sends c upstream. The response body is closed by the caller. A
	// stall longer than the provider's idle timeout while reading the body
	// fails the read with ErrIdleTimeout.
	Send(ctx context.Context, c *Call) (*http.Response, error)
}

// ErrIdleTimeout is the cause of a response body read that failed because
// the provider sent nothing for longer than the idle timeout.
var ErrIdleTimeout = errors.New("provider sent nothing within the idle timeout")

// ErrFirstByteTimeout is the cause of a call that failed because the
// provider sent no byte of its answer within Call.FirstByteTimeout.
var ErrFirstByteTimeout = errors.New("provider sent nothing within the first-byte timeout")

// ErrNotSent is the cause of a Send that failed before anything was sent:
// the call could not be built (a model name that cannot be a URL path
// segment, an invalid base URL). Trying it again is pointless.
var ErrNotSent = errors.New("request not sent")

// Config is what every adapter is configured with.
type Config struct {
	// Name identifies the provider in routes and logs.
	Name string
	// Type selects the adapter.
	Type string
	// BaseURL is the provider's base URL, as its official SDK takes it.
	// Empty selects the adapter's default (none for openai_compatible and
	// azure).
	BaseURL string
	// APIKey is the credential sent upstream. Empty sends none.
	APIKey string
	// APIVersion is Azure's api-version query value (default 2024-10-21, or
	// "v1" for the v1 API paths) or Anthropic's anthropic-version header
	// (default 2023-06-01).
	APIVersion string
	// Models is what /v1/models lists for this provider.
	Models []string
	// DialTimeout bounds connecting to the provider. Default 10s.
	DialTimeout time.Duration
	// HeaderTimeout bounds the wait for response headers after the request
	// is sent. Non-streaming answers arrive whole, so this must cover the
	// longest generation. Default 10m.
	HeaderTimeout time.Duration
	// IdleTimeout bounds a pause while reading the response body, such as
	// between two events of a stream. Default 5m.
	IdleTimeout time.Duration
	// Transport overrides the HTTP transport (tests). Default: a transport
	// built from the timeouts above.
	Transport http.RoundTripper
}

// Default timeouts.
const (
	DefaultDialTimeout   = 10 * time.Second
	DefaultHeaderTimeout = 10 * time.Minute
	DefaultIdleTimeout   = 5 * time.Minute
)

// New builds the adapter for cfg.Type.
func New(cfg Config) (Provider, error) {
	if cfg.Name == "" {
		return nil, errors.New("provider has no name")
	}
	switch cfg.Type {
	case "openai", "openai_compatible":
		return newOpenAI(cfg)
	case "azure":
		return newAzure(cfg)
	case "anthropic":
		return newAnthropic(cfg)
	case "gemini":
		return newGemini(cfg)
	case "":
		return nil, fmt.Errorf("provider %q: no type", cfg.Name)
	default:
		return nil, fmt.Errorf("provider %q: unknown type %q (want openai, openai_compatible, azure, anthropic or gemini)", cfg.Name, cfg.Type)
	}
}

// Types lists the adapter types New accepts.
func Types() []string { return []string{"openai", "openai_compatible", "azure", "anthropic", "gemini"} }

// base holds what every adapter shares.
type base struct {
	cfg     Config
	baseURL *url.URL
	client  *http.Client
}

func newBase(cfg Config, defaultURL string) (base, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = defaultURL
	}
	if cfg.BaseURL == "" {
		return base{}, fmt.Errorf("provider %q (%s): base_url is required", cfg.Name, cfg.Type)
	}
	u, err := ParseBaseURL(cfg.BaseURL)
	if err != nil {
		return base{}, fmt.Errorf("provider %q: %w", cfg.Name, err)
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.HeaderTimeout <= 0 {
		cfg.HeaderTimeout = DefaultHeaderTimeout
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	rt := cfg.Transport
	if rt == nil {
		rt = newTransport(cfg)
	}
	return base{
		cfg:     cfg,
		baseURL: u,
		// Redirects are not followed: a provider API never redirects, and
		// following one could carry the key to another host.
		client: &http.Client{
			Transport: rt,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}, nil
}

// ParseBaseURL checks a provider base URL: absolute http or https, with no
// query, fragment or credentials.
func ParseBaseURL(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(s, "/"))
	if err != nil {
		return nil, fmt.Errorf("invalid base_url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("base_url %q must be an absolute http or https URL", s)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, errors.New("base_url must not carry a query, fragment or credentials")
	}
	return u, nil
}

func newTransport(cfg Config) *http.Transport {
	d := &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   cfg.DialTimeout,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: cfg.HeaderTimeout,
	}
}

func (b *base) Name() string     { return b.cfg.Name }
func (b *base) Type() string     { return b.cfg.Type }
func (b *base) Models() []string { return b.cfg.Models }

// endpoint joins the base URL (the call's, else the provider's) with
// elems, each already escaped.
func (b *base) endpoint(c *Call, query url.Values, elems ...string) (*url.URL, error) {
	u := *b.baseURL
	if c.BaseURL != "" {
		o, err := ParseBaseURL(c.BaseURL)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrNotSent, err)
		}
		u = *o
	}
	rawPath := u.EscapedPath() + strings.Join(elems, "")
	u.Path, _ = url.PathUnescape(rawPath)
	u.RawPath = rawPath
	if query != nil {
		u.RawQuery = query.Encode()
	}
	return &u, nil
}

// segment escapes a model or deployment name as exactly one path segment.
// Names that a server could read as more than one segment, or as a step up
// the path, are refused.
func segment(name string) (string, error) {
	if name == "" || name == "." || name == ".." {
		return "", fmt.Errorf("%w: model name %q cannot be used in a URL path", ErrNotSent, name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return "", fmt.Errorf("%w: model name contains a control character", ErrNotSent)
		}
	}
	return url.PathEscape(name), nil
}

// send builds and sends the request, setting auth and forwarded headers.
func (b *base) send(ctx context.Context, c *Call, u *url.URL, auth func(h http.Header, key string)) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(c.Body))
	if err != nil {
		cancel(nil)
		return nil, fmt.Errorf("%w: building request: %w", ErrNotSent, err)
	}
	req.URL = u // keep RawPath exactly as built
	for k, vs := range c.Header {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/json")
	if c.Stream {
		req.Header.Set("Accept", "text/event-stream")
		// A compressed stream may be held back by the decompressor.
		req.Header.Set("Accept-Encoding", "identity")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	return b.do(ctx, cancel, req, c.APIKey, auth, c.FirstByteTimeout, c.IdleTimeout)
}

// do sets the user agent and the provider's auth (key, else the
// configured key) on req and sends it. The answer's body fails reads after
// the idle timeout, and an error answer's body is redacted of the key.
func (b *base) do(ctx context.Context, cancel context.CancelCauseFunc, req *http.Request, key string, auth func(h http.Header, key string),
	firstByte, idle time.Duration) (*http.Response, error) {
	req.Header.Set("User-Agent", "caddy-llm-gateway")
	if key == "" {
		key = b.cfg.APIKey
	}
	auth(req.Header, key)
	var first *time.Timer
	if firstByte > 0 {
		first = time.AfterFunc(firstByte, func() { cancel(ErrFirstByteTimeout) })
	}
	resp, err := b.client.Do(req)
	if err != nil {
		if first != nil {
			first.Stop()
		}
		if errors.Is(context.Cause(ctx), ErrFirstByteTimeout) {
			err = ErrFirstByteTimeout
		}
		cancel(nil)
		return nil, redactURL(err)
	}
	if idle <= 0 {
		idle = b.cfg.IdleTimeout
	}
	resp.Body = newIdleBody(ctx, resp.Body, idle, cancel)
	resp.Body.(*idleBody).first = first
	if resp.StatusCode >= 400 {
		resp.Body = redactedErrorBody(resp.Body, key)
	}
	return resp, nil
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// redactedErrorBody reads an error answer (bounded) and removes the
// provider key from it, should the provider echo it back: error bodies are
// relayed to clients.
func redactedErrorBody(body io.ReadCloser, key string) io.ReadCloser {
	defer body.Close()
	data, _ := io.ReadAll(io.LimitReader(body, maxErrorBody))
	if len(key) >= 8 {
		data = bytes.ReplaceAll(data, []byte(key), []byte("[redacted]"))
	}
	return io.NopCloser(bytes.NewReader(data))
}

// redactURL drops the URL from a client error: it may carry an api-version
// or other details that do not belong in a message to the client, and a
// future adapter may put credentials there.
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s request: %w", ue.Op, ue.Err)
	}
	return err
}

// idleBody fails a read, and cancels the request, when the provider sends
// nothing for longer than timeout.
type idleBody struct {
	body    io.ReadCloser
	ctx     context.Context
	timeout time.Duration
	timer   *time.Timer
	cancel  context.CancelCauseFunc
	// first, when set, fails the call unless a first byte arrives in time;
	// it is stopped at the first byte.
	first *time.Timer
}

func newIdleBody(ctx context.Context, body io.ReadCloser, timeout time.Duration, cancel context.CancelCauseFunc) *idleBody {
	ib := &idleBody{body: body, ctx: ctx, timeout: timeout, cancel: cancel}
	ib.timer = time.AfterFunc(timeout, func() { cancel(ErrIdleTimeout) })
	return ib
}

func (ib *idleBody) Read(p []byte) (int, error) {
	n, err := ib.body.Read(p)
	if n > 0 {
		ib.timer.Reset(ib.timeout)
		if ib.first != nil {
			ib.first.Stop()
			ib.first = nil
		}
	}
	if err != nil && err != io.EOF {
		switch cause := context.Cause(ib.ctx); {
		case errors.Is(cause, ErrIdleTimeout):
			err = ErrIdleTimeout
		case errors.Is(cause, ErrFirstByteTimeout):
			err = ErrFirstByteTimeout
		}
	}
	return n, err
}

func (ib *idleBody) Close() error {
	ib.timer.Stop()
	if ib.first != nil {
		ib.first.Stop()
	}
	err := ib.body.Close()
	ib.cancel(nil)
	return err
}
