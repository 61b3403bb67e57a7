package caddymodule

import (
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/provider"
)

func init() {
	caddy.RegisterModule(OpenAI{})
	caddy.RegisterModule(OpenAICompatible{})
	caddy.RegisterModule(Azure{})
	caddy.RegisterModule(Anthropic{})
	caddy.RegisterModule(Gemini{})
}

// ProviderModule is implemented by every module in the
// llm_gateway.providers namespace. A third-party provider is a Caddy module
// in that namespace whose Provider returns its adapter; its
// UnmarshalCaddyfile receives the tokens `provider <name> <type> {…}`.
type ProviderModule interface {
	caddy.Module
	// Provider returns the provisioned adapter.
	Provider() provider.Provider
}

// ProviderConfig is the configuration every built-in provider module takes.
type ProviderConfig struct {
	// Name identifies the provider in routes, logs and the model list.
	Name string `json:"name"`

	// BaseURL is the provider's base URL as its official SDK takes it.
	// Defaults: openai https://api.openai.com/v1, anthropic
	// https://api.anthropic.com, gemini
	// https://generativelanguage.googleapis.com. Required for openai_compatible (for
	// example http://localhost:11434/v1 for Ollama) and azure (the resource
	// endpoint, https://NAME.openai.azure.com).
	BaseURL string `json:"base_url,omitempty"`

	// APIKey is the credential sent to the provider. Write it as a
	// placeholder, {env.OPENAI_API_KEY} or {file./run/secrets/key}, which
	// is resolved when the config is loaded and keeps the key out of the
	// JSON config. It is never logged or shown in errors.
	APIKey string `json:"api_key,omitempty"`

	// APIVersion is Azure's api-version (default 2024-10-21; "v1" selects
	// the v1 API paths) or Anthropic's anthropic-version header (default
	// 2023-06-01).
	APIVersion string `json:"api_version,omitempty"`

	// Models lists the models this provider serves. They appear in
	// /v1/models, and a request for one of them is routed here when no
	// route matches.
	Models []string `json:"models,omitempty"`

	// DialTimeout bounds connecting to the provider. Default 10s.
	DialTimeout caddy.Duration `json:"dial_timeout,omitempty"`

	// HeaderTimeout bounds the wait for the provider's response headers.
	// A non-streaming answer arrives whole, so this must cover the longest
	// generation. Default 10m.
	HeaderTimeout caddy.Duration `json:"header_timeout,omitempty"`

	// IdleTimeout bounds a silence while reading the provider's answer,
	// such as between two events of a stream. Default 5m.
	IdleTimeout caddy.Duration `json:"idle_timeout,omitempty"`

	// HealthCheck, when set, probes the provider at this interval (an
	// authenticated GET of its model list); failing probes open the
	// provider's circuit, so its targets are skipped before a request
	// meets the failure. Default: no probes (circuits learn from real
	// requests).
	HealthCheck caddy.Duration `json:"health_check,omitempty"`

	adapter provider.Provider
	key     string // resolved APIKey
}

// Provider returns the provisioned adapter.
func (pc *ProviderConfig) Provider() provider.Provider { return pc.adapter }

func (pc *ProviderConfig) provision(ctx caddy.Context, typ string) error {
	repl := caddy.NewReplacer()
	cfg := provider.Config{
		Name:          pc.Name,
		Type:          typ,
		BaseURL:       repl.ReplaceAll(pc.BaseURL, ""),
		APIKey:        repl.ReplaceAll(pc.APIKey, ""),
		APIVersion:    repl.ReplaceAll(pc.APIVersion, ""),
		Models:        pc.Models,
		DialTimeout:   time.Duration(pc.DialTimeout),
		HeaderTimeout: time.Duration(pc.HeaderTimeout),
		IdleTimeout:   time.Duration(pc.IdleTimeout),
	}
	if cfg.APIKey == "" && typ != "openai_compatible" {
		ctx.Logger().Warn("provider has no api_key; the provider will refuse its requests",
			zap.String("provider", pc.Name), zap.String("type", typ))
	}
	a, err := provider.New(cfg)
	if err != nil {
		return err
	}
	pc.adapter = a
	pc.key = cfg.APIKey
	return nil
}

// healthCheck is the provider's health check interval; 0 for none.
func (pc *ProviderConfig) healthCheck() time.Duration { return time.Duration(pc.HealthCheck) }

// secret returns the provider's resolved key, so captured bodies can be
// scrubbed of it.
func (pc *ProviderConfig) secret() string { return pc.key }

// UnmarshalCaddyfile parses a provider block. Syntax:
//
//	provider <name> <type> {
//		base_url       <url>
//		api_key        <key>
//		api_version    <version>
//		models         <id...>
//		dial_timeout   <duration>
//		header_timeout <duration>
//		idle_timeout   <duration>
//		health_check   <interval>
//	}
func (pc *ProviderConfig) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // "provider"
	var typ string
	if !d.Args(&pc.Name, &typ) {
		return d.ArgErr()
	}
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		sub := d.Val()
		switch sub {
		case "base_url", "api_key", "api_version":
			var v string
			if !d.Args(&v) || d.NextArg() {
				return d.Errf("%s takes exactly one value", sub)
			}
			switch sub {
			case "base_url":
				pc.BaseURL = v
			case "api_key":
				pc.APIKey = v
			case "api_version":
				pc.APIVersion = v
			}
		case "models":
			m := d.RemainingArgs()
			if len(m) == 0 {
				return d.Errf("models needs at least one model name")
			}
			pc.Models = append(pc.Models, m...)
		case "dial_timeout", "header_timeout", "idle_timeout", "health_check":
			var v string
			if !d.Args(&v) || d.NextArg() {
				return d.Errf("%s takes exactly one duration", sub)
			}
			dur, err := caddy.ParseDuration(v)
			if err != nil {
				return d.Errf("%s: invalid duration %q: %v", sub, v, err)
			}
			if dur <= 0 {
				return d.Errf("%s must be positive", sub)
			}
			switch sub {
			case "dial_timeout":
				pc.DialTimeout = caddy.Duration(dur)
			case "header_timeout":
				pc.HeaderTimeout = caddy.Duration(dur)
			case "idle_timeout":
				pc.IdleTimeout = caddy.Duration(dur)
			case "health_check":
				pc.HealthCheck = caddy.Duration(dur)
			}
		default:
			return d.Errf("unrecognized provider subdirective %q", sub)
		}
	}
	return nil
}

// OpenAI is the provider module for the OpenAI API.
type OpenAI struct{ ProviderConfig }

// OpenAICompatible is the provider module for any server that speaks the
// OpenAI API: vLLM, Ollama, llama.cpp, Groq, DeepSeek, OpenRouter… It
// requires base_url; api_key is optional.
type OpenAICompatible struct{ ProviderConfig }

// Azure is the provider module for Azure OpenAI. base_url is the resource
// endpoint; a route's upstream model is the deployment name.
type Azure struct{ ProviderConfig }

// Anthropic is the provider module for the Anthropic Messages API.
type Anthropic struct{ ProviderConfig }

// Gemini is the provider module for the Gemini API
// (generativelanguage.googleapis.com); the key is sent in x-goog-api-key.
type Gemini struct{ ProviderConfig }

// CaddyModule returns the Caddy module information.
func (Gemini) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "llm_gateway.providers.gemini", New: func() caddy.Module { return new(Gemini) }}
}

// Provision builds the adapter.
func (p *Gemini) Provision(ctx caddy.Context) error { return p.provision(ctx, "gemini") }

// CaddyModule returns the Caddy module information.
func (OpenAI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "llm_gateway.providers.openai", New: func() caddy.Module { return new(OpenAI) }}
}

// CaddyModule returns the Caddy module information.
func (OpenAICompatible) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "llm_gateway.providers.openai_compatible", New: func() caddy.Module { return new(OpenAICompatible) }}
}

// CaddyModule returns the Caddy module information.
func (Azure) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "llm_gateway.providers.azure", New: func() caddy.Module { return new(Azure) }}
}

// CaddyModule returns the Caddy module information.
func (Anthropic) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "llm_gateway.providers.anthropic", New: func() caddy.Module { return new(Anthropic) }}
}

// Provision builds the adapter.
func (p *OpenAI) Provision(ctx caddy.Context) error { return p.provision(ctx, "openai") }

// Provision builds the adapter.
func (p *OpenAICompatible) Provision(ctx caddy.Context) error {
	return p.provision(ctx, "openai_compatible")
}

// Provision builds the adapter.
func (p *Azure) Provision(ctx caddy.Context) error { return p.provision(ctx, "azure") }

// Provision builds the adapter.
func (p *Anthropic) Provision(ctx caddy.Context) error { return p.provision(ctx, "anthropic") }

// Interface guards
var (
	_ ProviderModule        = (*OpenAI)(nil)
	_ ProviderModule        = (*OpenAICompatible)(nil)
	_ ProviderModule        = (*Azure)(nil)
	_ ProviderModule        = (*Anthropic)(nil)
	_ ProviderModule        = (*Gemini)(nil)
	_ caddy.Provisioner     = (*OpenAI)(nil)
	_ caddyfile.Unmarshaler = (*OpenAI)(nil)
)
