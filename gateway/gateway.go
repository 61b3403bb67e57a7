// Package gateway is the engine of the LLM gateway: the inbound API
// surfaces (OpenAI, Azure OpenAI, Anthropic), the request pipeline, and the
// relay of answers and streams back to the client. It has no Caddy import;
// the caddymodule package wires it into Caddy.
package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/audit"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/auth"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/cache"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/health"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/limits"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/policy"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/pricing"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/provider"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/route"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/token"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/storage"
)

// DefaultMaxRequestBody is the request body limit when Config names none.
// It leaves room for a few inline images.
const DefaultMaxRequestBody = 8 << 20

// Config configures a Gateway.
type Config struct {
	// Providers are the upstreams, in configuration order (which decides
	// the family defaults: the first openai or azure provider serves gpt-*).
	Providers []provider.Provider
	// Routes send model globs to providers; the first match wins.
	Routes []route.Rule
	// Aliases rename models before routing.
	Aliases map[string]string
	// MaxRequestBody bounds a request body in bytes; larger ones get 413.
	// Default DefaultMaxRequestBody.
	MaxRequestBody int64
	// Logger receives the gateway's logs. Default: no logs.
	Logger *zap.Logger
	// Auth verifies the gateway token of every request. Required.
	Auth Authenticator
	// Keys chooses stored provider keys. Nil: every provider uses its
	// configured key.
	Keys KeySource
	// Prices returns the effective price table; it is called per request,
	// so changes made through the admin API apply at once. Nil: the
	// embedded list prices.
	Prices func() *pricing.Table
	// Limits admits requests against rate limits and budgets, and holds
	// the spend. Nil: no rate limits or budgets.
	Limits *limits.Engine
	// Policies are CEL policies every request must pass, before its
	// service's own.
	Policies policy.Set
	// Cache answers repeated requests from stored answers. Nil: no cache
	// (every response says X-Cache: BYPASS).
	Cache *cache.Cache
	// CacheTTL is how long an answer stays cached; default DefaultCacheTTL.
	CacheTTL time.Duration
	// CacheMaxEntry is the largest answer cached, in bytes; default
	// DefaultCacheMaxEntry.
	CacheMaxEntry int
	// CacheShared lets services share cache entries. By default each
	// service has its own: identical requests of two services never share
	// an answer.
	CacheShared bool
	// Observer receives the outcome of every request the pipeline serves,
	// rejections included: the audit log, usage totals and metrics. Nil:
	// none.
	Observer Observer
	// CaptureBodies records request and answer bodies in the outcomes,
	// redacted by Redactor and truncated to CaptureLimit bytes (default
	// 64 KiB). Off by default.
	CaptureBodies bool
	// CaptureLimit bounds each captured body, in bytes.
	CaptureLimit int
	// RetryBackoff is the base delay before retrying a failed provider
	// call (doubled at each retry, jittered); default DefaultRetryBackoff.
	RetryBackoff time.Duration
	// Health tracks the targets' circuits; nil makes one with the default
	// threshold and cooldown. Give the same tracker to successive
	// configurations to keep what they learnt across reloads.
	Health *health.Tracker
	// Redactor removes secrets from captured bodies; default one that
	// knows only the token and key shapes.
	Redactor *audit.Redactor
	// ClientIP returns the client address of a request (behind trusted
	// proxies, the original client's). Default: the connection's address.
	ClientIP func(*http.Request) string
}

// Cache defaults.
const (
	DefaultCacheTTL      = time.Hour
	DefaultCacheMaxEntry = 1 << 20
)

// Authenticator verifies gateway tokens; *auth.Verifier is the
// implementation.
type Authenticator interface {
	Verify(ctx context.Context, plaintext string) (*auth.Identity, error)
}

// KeySource chooses the credential a request sends to a provider.
type KeySource interface {
	// ProviderKey returns the key to use with the provider on behalf of
	// the service: the service's pinned key if it has one, else one of the
	// stored keys of the best priority among those usable says may be
	// used (spread over them), else one of the next priority. A zero
	// ProviderKey means the provider's configured key and base URL.
	ProviderKey(ctx context.Context, provider string, s *storage.Service, usable func(id string) bool) (ProviderKey, error)
}

// ProviderKey is a stored provider key, chosen for one call.
type ProviderKey struct {
	// ID identifies the key (its circuit is tracked like a target's).
	ID string
	// Key is the credential; BaseURL the endpoint it belongs to (empty:
	// the provider's).
	Key, BaseURL string
}

// Gateway serves the inbound API surfaces. It is an http.Handler and safe
// for concurrent use.
type Gateway struct {
	maxBody  int64
	log      *zap.Logger
	auth     Authenticator
	keys     KeySource
	prices   func() *pricing.Table
	limits   *limits.Engine
	policies policy.Set
	cache    *cache.Cache
	cacheTTL time.Duration
	cacheMax int
	shared   bool
	observer Observer
	capture  int // body capture limit; 0: no capture
	redactor *audit.Redactor
	clientIP func(*http.Request) string

	retryBackoff time.Duration
	health       *health.Tracker

	svcPolicies policyCache
	router      *route.Router
	providers   map[string]provider.Provider
	order       []string // provider names, in configuration order
	models      []route.Model
	mux         *http.ServeMux
	postPaths   []string
}

// New builds a Gateway from cfg.
func New(cfg Config) (*Gateway, error) {
	if cfg.Auth == nil {
		return nil, errors.New("no authenticator")
	}
	g := &Gateway{
		maxBody:   cfg.MaxRequestBody,
		log:       cfg.Logger,
		auth:      cfg.Auth,
		keys:      cfg.Keys,
		prices:    cfg.Prices,
		limits:    cfg.Limits,
		policies:  cfg.Policies,
		cache:     cfg.Cache,
		cacheTTL:  cfg.CacheTTL,
		cacheMax:  cfg.CacheMaxEntry,
		shared:    cfg.CacheShared,
		observer:  cfg.Observer,
		redactor:  cfg.Redactor,
		clientIP:  cfg.ClientIP,
		providers: make(map[string]provider.Provider, len(cfg.Providers)),
	}
	if g.cacheTTL <= 0 {
		g.cacheTTL = DefaultCacheTTL
	}
	if g.cacheMax <= 0 {
		g.cacheMax = DefaultCacheMaxEntry
	}
	if cfg.CaptureBodies {
		g.capture = cfg.CaptureLimit
		if g.capture <= 0 {
			g.capture = DefaultCaptureLimit
		}
		if g.redactor == nil {
			g.redactor = audit.NewRedactor()
		}
	}
	if g.clientIP == nil {
		g.clientIP = remoteIP
	}
	g.health = cfg.Health
	if g.health == nil {
		g.health = health.New(health.Options{})
	}
	g.retryBackoff = cfg.RetryBackoff
	if g.retryBackoff <= 0 {
		g.retryBackoff = DefaultRetryBackoff
	}
	if g.maxBody <= 0 {
		g.maxBody = DefaultMaxRequestBody
	}
	if g.log == nil {
		g.log = zap.NewNop()
	}
	if g.prices == nil {
		def := pricing.Default()
		g.prices = func() *pricing.Table { return def }
	}
	infos := make([]route.ProviderInfo, 0, len(cfg.Providers))
	for _, p := range cfg.Providers {
		if _, dup := g.providers[p.Name()]; dup {
			return nil, fmt.Errorf("provider %q is defined twice", p.Name())
		}
		g.providers[p.Name()] = p
		g.order = append(g.order, p.Name())
		infos = append(infos, route.ProviderInfo{Name: p.Name(), Type: p.Type(), Models: p.Models()})
	}
	rules := slices.Clone(cfg.Routes)
	r, err := route.New(infos, rules, cfg.Aliases)
	if err != nil {
		return nil, fmt.Errorf("routes: %w", err)
	}
	g.router = r
	aliases := make([]string, 0, len(cfg.Aliases))
	for a := range cfg.Aliases {
		aliases = append(aliases, a)
	}
	slices.Sort(aliases)
	g.models = r.Models(infos, rules, aliases)
	g.mux = http.NewServeMux()
	g.routes(g.mux)
	g.postPaths = []string{"/v1/chat/completions", "/v1/responses", "/v1/embeddings", "/v1/messages",
		"/v1/messages/count_tokens", "/openai/chat/completions", "/openai/embeddings", "/openai/responses",
		"/openai/v1/chat/completions", "/openai/v1/embeddings", "/openai/v1/responses"}
	return g, nil
}

// Health reports the circuits of the targets requests went to.
func (g *Gateway) Health() []health.TargetHealth { return g.health.Snapshot() }

// ServeHTTP serves one request of any surface.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mux.ServeHTTP(w, r)
}

// serveModels answers the models the caller's service may use, in
// OpenAI's list shape.
func (g *Gateway) serveModels(s Surface) http.HandlerFunc {
	type model struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := g.authenticate(r)
		if err != nil {
			writeError(w, s, err)
			return
		}
		data := make([]model, 0, len(g.models))
		for _, m := range g.models {
			if modelAllowed(id.Service, m.ID) {
				data = append(data, model{ID: m.ID, Object: "model", OwnedBy: m.Provider})
			}
		}
		body, _ := json.Marshal(map[string]any{"object": "list", "data": data})
		writeJSON(w, http.StatusOK, body)
	}
}

// serveModel answers one model of the list, or 404.
func (g *Gateway) serveModel(s Surface) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ident, err := g.authenticate(r)
		if err != nil {
			writeError(w, s, err)
			return
		}
		id := r.PathValue("model")
		for _, m := range g.models {
			if m.ID == id && modelAllowed(ident.Service, m.ID) {
				body, _ := json.Marshal(map[string]any{"id": m.ID, "object": "model", "created": 0, "owned_by": m.Provider})
				writeJSON(w, http.StatusOK, body)
				return
			}
		}
		writeError(w, s, &apiError{status: http.StatusNotFound, kind: kindNotFound, code: "model_not_found",
			message: fmt.Sprintf("The model `%s` does not exist or is not served by this gateway.", token.Redact(id))})
	}
}

// validModel rejects model names no provider could have: empty, too long,
// or with control characters.
func validModel(m string) error {
	if m == "" {
		return errors.New("you must provide a model parameter")
	}
	if len(m) > 256 {
		return errors.New("model name is longer than 256 bytes")
	}
	if strings.ContainsFunc(m, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return errors.New("model name contains a control character")
	}
	return nil
}
