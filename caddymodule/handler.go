// Package caddymodule is the Caddy glue of the LLM gateway: module
// registration, Caddyfile parsing and the module lifecycle. The engine
// lives in package gateway, which has no Caddy import.
package caddymodule

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/audit"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/policy"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/pricing"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/provider"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/route"
)

func init() {
	caddy.RegisterModule(Handler{})
	httpcaddyfile.RegisterHandlerDirective("llm_gateway", parseCaddyfile)
	httpcaddyfile.RegisterDirectiveOrder("llm_gateway", httpcaddyfile.Before, "reverse_proxy")
}

// Handler turns a site into one OpenAI-, Azure- and Anthropic-compatible
// endpoint for every configured LLM provider. It answers every request it
// receives (use a matcher to give it only some paths):
//
//	POST /v1/chat/completions, /v1/responses, /v1/embeddings; GET /v1/models
//	POST /openai/deployments/{deployment}/chat/completions, …/embeddings, …/responses
//	POST /openai/chat/completions, /openai/v1/chat/completions, … (Azure)
//	POST /v1/messages, /v1/messages/count_tokens (Anthropic)
//
// Caddyfile syntax:
//
//	llm_gateway [<matcher>] {
//		provider <name> <type> {
//			base_url       <url>
//			api_key        <key>
//			api_version    <version>
//			models         <id...>
//			dial_timeout   <duration>
//			header_timeout <duration>
//			idle_timeout   <duration>
//		}
//		route <model-glob> <provider> [<upstream-model>]
//		route <model-glob> {
//			to <provider> [<upstream-model>] [weight <n>] [priority <n>]
//		}
//		alias <name> <model>
//		max_request_body <size>
//		price <model> <input> <output> [<cached-input>]   # USD per million tokens
//		policy <name> <cel-expression>
//		cache {
//			ttl            <duration>
//			max_entry_size <size>
//			shared
//		}
//		capture_bodies [<max-size>]
//	}
//
// Every answer carries X-Cache: HIT, MISS or BYPASS.
type Handler struct {
	// Providers are the upstream LLM providers, in order. Each object's
	// "type" names its module in the llm_gateway.providers namespace
	// (openai, openai_compatible, azure, anthropic, gemini). The order decides the
	// family defaults: gpt-* goes to the first openai or azure provider,
	// claude-* to the first anthropic provider.
	ProvidersRaw []json.RawMessage `json:"providers,omitempty" caddy:"namespace=llm_gateway.providers inline_key=type"`

	// Routes send model globs to providers; the first match wins. A model
	// no route matches goes to a provider that lists it in its models, then
	// to its family default.
	Routes []Route `json:"routes,omitempty"`

	// Aliases rename a requested model before routing.
	Aliases map[string]string `json:"aliases,omitempty"`

	// MaxRequestBody bounds a request body in bytes; a larger one gets 413.
	// Default 8 MiB.
	MaxRequestBody int64 `json:"max_request_body,omitempty"`

	// Prices override list prices for this site, by model (for every
	// provider type). Overrides set through the admin API win over these.
	Prices map[string]PriceConfig `json:"prices,omitempty"`

	// Policies are CEL expressions every request of this site must
	// satisfy, before its service's own policy. A denied request gets 403
	// naming the policy. See docs/policies.md.
	Policies []PolicyConfig `json:"policies,omitempty"`

	// Cache turns on the response cache: an exact repeat of a request
	// (same service, surface, provider, upstream model and body) is
	// answered from the cache, streams included, for free. Absent: no
	// caching.
	Cache *CacheConfig `json:"cache,omitempty"`

	// CaptureBodies, when positive, records request and answer bodies in
	// the audit log, up to this many bytes each, with secrets redacted.
	// Default 0: no bodies are recorded.
	CaptureBodies int64 `json:"capture_bodies,omitempty"`

	gw  *gateway.Gateway
	app *App
}

// Route sends the models that match a glob to one or more targets.
type Route struct {
	// Match is a glob over the requested model name: * matches any run of
	// characters (slashes included), ? one character.
	Match string `json:"match"`
	// To lists the targets. Traffic is spread by weight among the targets
	// with the lowest priority number; the others are fallbacks, tried in
	// order when a target fails.
	To []Target `json:"to"`
	// Retries is how many times a request that failed before any byte
	// reached the client (a connection error, 429 or 5xx) is retried on a
	// target before the next target is tried. Default 2.
	Retries *int `json:"retries,omitempty"`
	// FirstByteTimeout bounds the wait for the first byte of a target's
	// answer; a target that misses it is not retried, the next target is
	// tried. Default: the provider's header_timeout.
	FirstByteTimeout caddy.Duration `json:"first_byte_timeout,omitempty"`
	// IdleTimeout bounds a silence while reading an answer (between stream
	// events). Default: the provider's idle_timeout.
	IdleTimeout caddy.Duration `json:"idle_timeout,omitempty"`
	// TotalTimeout bounds the whole exchange with providers, retries and
	// the relay of the answer included. Default: none.
	TotalTimeout caddy.Duration `json:"total_timeout,omitempty"`
}

// Target is one provider (and optionally another model name) a route sends
// requests to.
type Target struct {
	// Provider is the name of a configured provider.
	Provider string `json:"provider"`
	// Model is the model name sent upstream (for Azure, the deployment).
	// Default: the requested model.
	Model string `json:"model,omitempty"`
	// Weight is the target's share of traffic among targets of the same
	// priority. Default 1.
	Weight int `json:"weight,omitempty"`
	// Priority orders targets: lower numbers are used first. Default 0.
	Priority int `json:"priority,omitempty"`
}

// CacheConfig configures the response cache of a site.
type CacheConfig struct {
	// TTL is how long an answer stays cached. Default 1h.
	TTL caddy.Duration `json:"ttl,omitempty"`
	// MaxEntrySize is the largest answer cached, in bytes. Default 1 MiB.
	MaxEntrySize int64 `json:"max_entry_size,omitempty"`
	// Shared lets every service use every entry. By default entries are
	// scoped to the service that made them: identical requests of two
	// services never share an answer.
	Shared bool `json:"shared,omitempty"`
}

// PriceConfig is a model's price in dollars per million tokens, written as
// decimal strings so no float rounding happens ("2.50").
type PriceConfig struct {
	Input       string `json:"input"`
	Output      string `json:"output"`
	CachedInput string `json:"cached_input,omitempty"`
}

// PolicyConfig is a named CEL policy.
type PolicyConfig struct {
	Name       string `json:"name"`
	Expression string `json:"expression"`
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.llm_gateway",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision loads the provider modules and builds the gateway. It opens
// nothing and starts nothing, so `caddy validate` and reloads are cheap.
func (h *Handler) Provision(ctx caddy.Context) error {
	logger := ctx.Logger()
	appMod, err := ctx.App("llm_gateway")
	if err != nil {
		return fmt.Errorf("loading the llm_gateway app: %w", err)
	}
	h.app = appMod.(*App)
	mods, err := ctx.LoadModule(h, "ProvidersRaw")
	if err != nil {
		return fmt.Errorf("loading providers: %w", err)
	}
	var providers []provider.Provider
	var secrets []string
	checks := map[string]time.Duration{}
	for _, m := range mods.([]any) {
		pm, ok := m.(ProviderModule)
		if !ok {
			return fmt.Errorf("module %T is not an LLM provider", m)
		}
		providers = append(providers, pm.Provider())
		if s, ok := m.(interface{ secret() string }); ok {
			secrets = append(secrets, s.secret())
		}
		if hc, ok := m.(interface{ healthCheck() time.Duration }); ok && hc.healthCheck() > 0 {
			checks[pm.Provider().Name()] = hc.healthCheck()
		}
	}
	if err := registerMetrics(ctx.GetMetricsRegistry()); err != nil {
		return fmt.Errorf("registering metrics: %w", err)
	}
	rules := make([]route.Rule, 0, len(h.Routes))
	for _, r := range h.Routes {
		rule := route.Rule{Pattern: r.Match, Retries: r.Retries, Timeouts: route.Timeouts{
			FirstByte: time.Duration(r.FirstByteTimeout), Idle: time.Duration(r.IdleTimeout), Total: time.Duration(r.TotalTimeout),
		}}
		for _, t := range r.To {
			rule.Targets = append(rule.Targets, route.Target(t))
		}
		rules = append(rules, rule)
	}
	overrides := make(map[string]pricing.Price, len(h.Prices))
	for model, pc := range h.Prices {
		p, err := pc.price()
		if err != nil {
			return fmt.Errorf("price of %q: %w", model, err)
		}
		overrides[model] = p
	}
	var policies policy.Set
	for _, pc := range h.Policies {
		p, err := policy.Compile(pc.Name, pc.Expression)
		if err != nil {
			return fmt.Errorf("policy %q: %w", pc.Name, err)
		}
		policies = append(policies, p)
	}
	cfg := gateway.Config{
		Providers:      providers,
		Routes:         rules,
		Aliases:        h.Aliases,
		MaxRequestBody: h.MaxRequestBody,
		Logger:         logger,
		Auth:           h.app.st.verifier,
		Keys:           h.app.st,
		Prices:         h.app.st.priceTable(overrides),
		Limits:         h.app.st.limits,
		Policies:       policies,
		Observer:       h.app.st,
		ClientIP:       clientIP,
		Health:         h.app.st.health,
	}
	if c := h.Cache; c != nil {
		cfg.Cache = h.app.st.cache
		cfg.CacheTTL = time.Duration(c.TTL)
		cfg.CacheMaxEntry = int(c.MaxEntrySize)
		cfg.CacheShared = c.Shared
	}
	if h.CaptureBodies > 0 {
		cfg.CaptureBodies = true
		cfg.CaptureLimit = int(h.CaptureBodies)
		cfg.Redactor = audit.NewRedactor(secrets...)
	}
	gw, err := gateway.New(cfg)
	if err != nil {
		return err
	}
	h.gw = gw
	// Health checks run while this config does: ctx ends when it stops.
	for name, every := range checks {
		if err := gw.ProbeLoop(ctx, name, every); err != nil {
			return fmt.Errorf("health check: %w", err)
		}
	}
	logger.Debug("llm gateway provisioned", zap.Int("providers", len(providers)), zap.Int("routes", len(rules)))
	return nil
}

// clientIP is the client address Caddy determined, which honours the
// server's trusted_proxies.
func clientIP(r *http.Request) string {
	if ip, ok := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string); ok && ip != "" {
		return ip
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

func (pc PriceConfig) price() (pricing.Price, error) {
	var p pricing.Price
	var err error
	if p.Input, err = pricing.ParseUSDPerMillion(pc.Input); err != nil {
		return p, fmt.Errorf("input: %w", err)
	}
	if p.Output, err = pricing.ParseUSDPerMillion(pc.Output); err != nil {
		return p, fmt.Errorf("output: %w", err)
	}
	if pc.CachedInput != "" {
		if p.CachedInput, err = pricing.ParseUSDPerMillion(pc.CachedInput); err != nil {
			return p, fmt.Errorf("cached input: %w", err)
		}
	}
	return p, nil
}

// ServeHTTP answers the request; it never calls next. The request holds
// the storage open until it has settled, even across a config reload.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	h.app.inflight.enter()
	defer h.app.inflight.leave()
	h.gw.ServeHTTP(w, r)
	return nil
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
