package caddymodule

import (
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/policy"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/route"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/storage"
)

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	var handler Handler
	err := handler.UnmarshalCaddyfile(h.Dispenser)
	return &handler, err
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	llm_gateway [<matcher>] {
//		provider <name> <type> { … }
//		route <model-glob> <provider> [<upstream-model>]
//		route <model-glob> {
//			to <provider> [<upstream-model>] [weight <n>] [priority <n>]
//		}
//		alias <name> <model>
//		max_request_body <size>
//		price <model> <input> <output> [<cached-input>]
//		policy <name> <cel-expression>
//		cache {
//			ttl            <duration>
//			max_entry_size <size>
//			shared
//		}
//		capture_bodies [<max-size>]
//	}
//
// Mistakes are reported with the file and line: unknown subdirectives,
// wrong argument counts, a route to a provider that is not defined, a
// provider or alias defined twice.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume directive name
	if d.NextArg() {
		return d.ArgErr()
	}
	providers := map[string]bool{}
	type ref struct {
		provider string
		at       caddyfile.Token
	}
	var refs []ref
	for d.NextBlock(0) {
		switch d.Val() {
		case "provider":
			if d.CountRemainingArgs() != 2 {
				return d.Errf("provider takes a name and a type: provider <name> <type> { … }")
			}
			seg := d.NextSegment() // provider <name> <type> [{ … }]
			name, typ := seg[1].Text, seg[2].Text
			if providers[name] {
				return d.Errf("provider %q is defined twice", name)
			}
			providers[name] = true
			if _, err := caddy.GetModule("llm_gateway.providers." + typ); err != nil {
				return d.Errf("provider %q: unknown type %q (built in: openai, openai_compatible, azure, anthropic, gemini)", name, typ)
			}
			// The module parses the whole segment, from the provider token on.
			sd := caddyfile.NewDispenser(seg)
			sd.Next() // position on "provider" for UnmarshalModule
			mod, err := caddyfile.UnmarshalModule(sd, "llm_gateway.providers."+typ)
			if err != nil {
				return err
			}
			h.ProvidersRaw = append(h.ProvidersRaw, caddyconfig.JSONModuleObject(mod, "type", typ, nil))
		case "route":
			at := d.Token()
			args := d.RemainingArgs()
			switch {
			case len(args) == 2 || len(args) == 3:
				t := Target{Provider: args[1]}
				if len(args) == 3 {
					t.Model = args[2]
				}
				if d.NextBlock(d.Nesting()) {
					return d.Errf("route with a provider on its line takes no block")
				}
				h.Routes = append(h.Routes, Route{Match: args[0], To: []Target{t}})
				refs = append(refs, ref{t.Provider, at})
			case len(args) == 1:
				r := Route{Match: args[0]}
				for nesting := d.Nesting(); d.NextBlock(nesting); {
					switch d.Val() {
					case "to":
						t, err := parseTarget(d)
						if err != nil {
							return err
						}
						r.To = append(r.To, t)
						refs = append(refs, ref{t.Provider, d.Token()})
					case "retries":
						var v string
						if !d.Args(&v) || d.NextArg() {
							return d.Errf("retries takes a number: retries <n>")
						}
						n, err := strconv.Atoi(v)
						if err != nil || n < 0 || n > route.MaxRetries {
							return d.Errf("retries must be a number from 0 to %d, not %q", route.MaxRetries, v)
						}
						r.Retries = &n
					case "first_byte_timeout", "idle_timeout", "total_timeout":
						name := d.Val()
						var v string
						if !d.Args(&v) || d.NextArg() {
							return d.Errf("%s takes a duration", name)
						}
						dur, err := caddy.ParseDuration(v)
						if err != nil || dur <= 0 {
							return d.Errf("%s: invalid duration %q", name, v)
						}
						switch name {
						case "first_byte_timeout":
							r.FirstByteTimeout = caddy.Duration(dur)
						case "idle_timeout":
							r.IdleTimeout = caddy.Duration(dur)
						default:
							r.TotalTimeout = caddy.Duration(dur)
						}
					default:
						return d.Errf("unrecognized route subdirective %q (want: to, retries, first_byte_timeout, idle_timeout, total_timeout)", d.Val())
					}
				}
				if len(r.To) == 0 {
					return d.Errf("route %q needs a provider: route <model-glob> <provider> [<upstream-model>], or a block of `to` lines", args[0])
				}
				h.Routes = append(h.Routes, r)
			default:
				return d.Errf("route takes a model glob, then a provider and an optional upstream model, or a block")
			}
		case "alias":
			var name, model string
			if !d.Args(&name, &model) || d.NextArg() {
				return d.Errf("alias takes a name and a model: alias <name> <model>")
			}
			if h.Aliases == nil {
				h.Aliases = map[string]string{}
			}
			if _, dup := h.Aliases[name]; dup {
				return d.Errf("alias %q is defined twice", name)
			}
			h.Aliases[name] = model
		case "price":
			args := d.RemainingArgs()
			if len(args) != 3 && len(args) != 4 {
				return d.Errf("price takes a model and USD per million tokens: price <model> <input> <output> [<cached-input>]")
			}
			pc := PriceConfig{Input: args[1], Output: args[2]}
			if len(args) == 4 {
				pc.CachedInput = args[3]
			}
			if _, err := pc.price(); err != nil {
				return d.Errf("price %s: %v", args[0], err)
			}
			if h.Prices == nil {
				h.Prices = map[string]PriceConfig{}
			}
			if _, dup := h.Prices[args[0]]; dup {
				return d.Errf("price of %q is given twice", args[0])
			}
			h.Prices[args[0]] = pc
		case "policy":
			var name, expr string
			if !d.Args(&name, &expr) || d.NextArg() {
				return d.Errf("policy takes a name and one CEL expression (quote it with backticks): policy <name> `<expression>`")
			}
			if _, err := policy.Compile(name, expr); err != nil {
				return d.Errf("policy %s: %v", name, err)
			}
			h.Policies = append(h.Policies, PolicyConfig{Name: name, Expression: expr})
		case "max_request_body":
			var v string
			if !d.Args(&v) || d.NextArg() {
				return d.ArgErr()
			}
			n, err := humanize.ParseBytes(v)
			if err != nil || n == 0 {
				return d.Errf("max_request_body: invalid size %q", v)
			}
			h.MaxRequestBody = int64(n)
		case "cache":
			if h.Cache != nil {
				return d.Err("cache is given twice")
			}
			if d.NextArg() {
				return d.Errf("cache takes no arguments, only a block: cache { ttl <duration> }")
			}
			h.Cache = &CacheConfig{}
			for nesting := d.Nesting(); d.NextBlock(nesting); {
				switch sub := d.Val(); sub {
				case "ttl":
					var v string
					if !d.Args(&v) || d.NextArg() {
						return d.Errf("ttl takes one duration")
					}
					dur, err := caddy.ParseDuration(v)
					if err != nil || dur <= 0 {
						return d.Errf("ttl %q: want a positive duration, e.g. 1h", v)
					}
					h.Cache.TTL = caddy.Duration(dur)
				case "max_entry_size":
					var v string
					if !d.Args(&v) || d.NextArg() {
						return d.Errf("max_entry_size takes one size")
					}
					n, err := humanize.ParseBytes(v)
					if err != nil || n == 0 || n > storage.MaxCacheValueSize/2 {
						return d.Errf("max_entry_size: invalid size %q (at most 32MiB)", v)
					}
					h.Cache.MaxEntrySize = int64(n)
				case "shared":
					if d.NextArg() {
						return d.ArgErr()
					}
					h.Cache.Shared = true
				default:
					return d.Errf("unrecognized cache subdirective %q (ttl, max_entry_size, shared)", sub)
				}
			}
		case "capture_bodies":
			h.CaptureBodies = gateway.DefaultCaptureLimit
			if d.NextArg() {
				n, err := humanize.ParseBytes(d.Val())
				if err != nil || n == 0 || n > 16<<20 {
					return d.Errf("capture_bodies: invalid size %q (at most 16MiB)", d.Val())
				}
				h.CaptureBodies = int64(n)
			}
			if d.NextArg() {
				return d.ArgErr()
			}
		default:
			return d.Errf("unrecognized llm_gateway subdirective %q", d.Val())
		}
	}
	for _, r := range refs {
		if !providers[r.provider] {
			rd := caddyfile.NewDispenser([]caddyfile.Token{r.at})
			rd.Next()
			return rd.Errf("route to provider %q, which is not defined in this llm_gateway block", r.provider)
		}
	}
	return nil
}

// parseTarget parses `to <provider> [<upstream-model>] [weight <n>] [priority <n>]`.
func parseTarget(d *caddyfile.Dispenser) (Target, error) {
	args := d.RemainingArgs()
	if len(args) == 0 {
		return Target{}, d.Errf("to needs a provider: to <provider> [<upstream-model>] [weight <n>] [priority <n>]")
	}
	t := Target{Provider: args[0]}
	rest := args[1:]
	if len(rest)%2 == 1 {
		t.Model, rest = rest[0], rest[1:]
	}
	for i := 0; i < len(rest); i += 2 {
		n, err := strconv.Atoi(rest[i+1])
		if err != nil || n < 0 {
			return t, d.Errf("%s must be a whole number ≥ 0, got %q", rest[i], rest[i+1])
		}
		switch rest[i] {
		case "weight":
			if n == 0 {
				return t, d.Errf("weight must be at least 1")
			}
			t.Weight = n
		case "priority":
			t.Priority = n
		default:
			return t, d.Errf("unknown target option %q (want weight or priority)", rest[i])
		}
	}
	return t, nil
}

// Interface guard
var _ caddyfile.Unmarshaler = (*Handler)(nil)
