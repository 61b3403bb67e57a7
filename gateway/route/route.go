// Package route decides which provider, and which upstream model, serves a
// requested model name.
//
// Resolution order: an alias is replaced by its model; then the first route
// whose glob matches wins; then a provider that lists the model among its
// models; then the family defaults (gpt-*, o1*, o3*, o4*, chatgpt-*,
// text-embedding-* to the first openai or azure provider, claude-* to the
// first anthropic provider, gemini-* to the first gemini provider).
package route

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Target is one place a route can send a request.
type Target struct {
	// Provider is the provider's name.
	Provider string
	// Model is the upstream model; empty means the requested model.
	Model string
	// Weight spreads traffic among targets of the same priority. Default 1.
	Weight int
	// Priority orders targets: lower numbers are used first. Default 0.
	Priority int
}

// Rule sends models matching Pattern to Targets.
type Rule struct {
	// Pattern is a glob: * matches any run of characters (including /), ?
	// matches one character; everything else matches itself.
	Pattern string
	// Targets are where matching requests go.
	Targets []Target
	// Retries is how many times a failed request is tried again on the
	// same target before the next target is tried; nil means
	// DefaultRetries.
	Retries *int
	// Timeouts bound each call to a target; zero values leave the
	// provider's own.
	Timeouts Timeouts
}

// Timeouts bound the calls of a route.
type Timeouts struct {
	// FirstByte bounds the wait for the first byte of an answer (a
	// reasoning model may think for a minute first). A target that misses
	// it is not retried; the next target is tried.
	FirstByte time.Duration
	// Idle bounds a silence between two reads of the answer (between the
	// events of a stream).
	Idle time.Duration
	// Total bounds the whole exchange with the provider, retries and the
	// answer's relay included.
	Total time.Duration
}

// DefaultRetries is how many times a request is retried on one target when
// its route does not say.
const DefaultRetries = 2

// MaxRetries bounds a route's retries.
const MaxRetries = 10

// ProviderInfo is what the router needs to know about a provider.
type ProviderInfo struct {
	Name   string
	Type   string
	Models []string
}

// Resolution is where one request goes.
type Resolution struct {
	// Provider is the provider's name.
	Provider string
	// Model is the upstream model.
	Model string
	// Fallbacks are the route's other targets (their Model resolved), in
	// the order to try them when this one fails: the rest of the same
	// priority by weight, then the next priorities.
	Fallbacks []Target
	// Retries is how many times to retry on each target.
	Retries int
	// Timeouts are the route's.
	Timeouts Timeouts
}

// Router resolves model names. It is safe for concurrent use.
type Router struct {
	aliases  map[string]string
	rules    []Rule
	listed   map[string]string // model listed by a provider -> provider
	families []family
	names    map[string]bool
}

type family struct {
	patterns []string
	provider string
}

// New builds a router. It fails on a route or alias that refers to a
// provider or model that does not exist, or on an alias cycle.
func New(providers []ProviderInfo, rules []Rule, aliases map[string]string) (*Router, error) {
	r := &Router{aliases: aliases, listed: map[string]string{}, names: map[string]bool{}}
	for _, p := range providers {
		if r.names[p.Name] {
			return nil, fmt.Errorf("provider %q is defined twice", p.Name)
		}
		r.names[p.Name] = true
		for _, m := range p.Models {
			if _, ok := r.listed[m]; !ok {
				r.listed[m] = p.Name
			}
		}
	}
	for _, rule := range rules {
		if rule.Pattern == "" {
			return nil, errors.New("route with an empty model pattern")
		}
		if len(rule.Targets) == 0 {
			return nil, fmt.Errorf("route %q has no target", rule.Pattern)
		}
		for i, t := range rule.Targets {
			if !r.names[t.Provider] {
				return nil, fmt.Errorf("route %q: unknown provider %q", rule.Pattern, t.Provider)
			}
			if t.Weight < 0 {
				return nil, fmt.Errorf("route %q: negative weight", rule.Pattern)
			}
			if t.Weight == 0 {
				rule.Targets[i].Weight = 1
			}
		}
		if t := rule.Timeouts; t.FirstByte < 0 || t.Idle < 0 || t.Total < 0 {
			return nil, fmt.Errorf("route %q: negative timeout", rule.Pattern)
		}
		if rule.Retries != nil && (*rule.Retries < 0 || *rule.Retries > MaxRetries) {
			return nil, fmt.Errorf("route %q: retries must be between 0 and %d", rule.Pattern, MaxRetries)
		}
		r.rules = append(r.rules, rule)
	}
	for alias := range aliases {
		seen := map[string]bool{alias: true}
		for m, ok := aliases[alias]; ok; m, ok = aliases[m] {
			if seen[m] {
				return nil, fmt.Errorf("alias %q: cycle through %q", alias, m)
			}
			seen[m] = true
		}
	}
	firstOf := func(types ...string) string {
		for _, p := range providers {
			for _, t := range types {
				if p.Type == t {
					return p.Name
				}
			}
		}
		return ""
	}
	for _, f := range []family{
		{[]string{"gpt-*", "o1*", "o3*", "o4*", "chatgpt-*", "text-embedding-*"}, firstOf("openai", "azure")},
		{[]string{"claude-*"}, firstOf("anthropic")},
		{[]string{"gemini-*"}, firstOf("gemini")},
	} {
		if f.provider != "" {
			r.families = append(r.families, f)
		}
	}
	return r, nil
}

// Resolve returns where model goes, and false when nothing serves it.
func (r *Router) Resolve(model string) (Resolution, bool) {
	for i := 0; i < 8; i++ { // alias chains are acyclic (checked in New); bound them anyway
		m, ok := r.aliases[model]
		if !ok {
			break
		}
		model = m
	}
	for _, rule := range r.rules {
		if Match(rule.Pattern, model) {
			res := Resolution{Retries: DefaultRetries, Timeouts: rule.Timeouts}
			if rule.Retries != nil {
				res.Retries = *rule.Retries
			}
			ts := order(rule.Targets)
			for i := range ts {
				if ts[i].Model == "" {
					ts[i].Model = model
				}
			}
			res.Provider, res.Model = ts[0].Provider, ts[0].Model
			if len(ts) > 1 {
				res.Fallbacks = ts[1:]
			}
			return res, true
		}
	}
	if p, ok := r.listed[model]; ok {
		return Resolution{Provider: p, Model: model, Retries: DefaultRetries}, true
	}
	for _, f := range r.families {
		for _, pat := range f.patterns {
			if Match(pat, model) {
				return Resolution{Provider: f.provider, Model: model, Retries: DefaultRetries}, true
			}
		}
	}
	return Resolution{}, false
}

// order returns the targets in the order to try them: by priority (lowest
// number first), and within a priority drawn at random by weight, without
// replacement, so that the first target is spread by weight and the others
// follow as fallbacks.
func order(ts []Target) []Target {
	out := make([]Target, 0, len(ts))
	if len(ts) == 1 {
		return append(out, ts[0])
	}
	rest := slices.Clone(ts)
	slices.SortStableFunc(rest, func(a, b Target) int { return a.Priority - b.Priority })
	for len(rest) > 0 {
		// The targets of the best remaining priority are rest[:n].
		n := 1
		for n < len(rest) && rest[n].Priority == rest[0].Priority {
			n++
		}
		total := 0
		for _, t := range rest[:n] {
			total += t.Weight
		}
		k, x := 0, rand.IntN(total)
		for ; k < n-1; k++ {
			if x < rest[k].Weight {
				break
			}
			x -= rest[k].Weight
		}
		out = append(out, rest[k])
		rest = slices.Delete(rest, k, k+1)
	}
	return out
}

// Model is an entry of the model list.
type Model struct {
	// ID is the name a client requests.
	ID string
	// Provider is the provider that serves it.
	Provider string
}

// Models lists the model names clients can request by name: every model a
// provider lists, every route pattern without wildcards, and every alias,
// each with the provider it resolves to, without duplicates, in
// configuration order.
func (r *Router) Models(providers []ProviderInfo, rules []Rule, aliases []string) []Model {
	var out []Model
	seen := map[string]bool{}
	add := func(id string) {
		if seen[id] {
			return
		}
		if res, ok := r.Resolve(id); ok {
			seen[id] = true
			out = append(out, Model{ID: id, Provider: res.Provider})
		}
	}
	for _, p := range providers {
		for _, m := range p.Models {
			add(m)
		}
	}
	for _, rule := range rules {
		if !strings.ContainsAny(rule.Pattern, "*?") {
			add(rule.Pattern)
		}
	}
	for _, a := range aliases {
		add(a)
	}
	return out
}

// Match reports whether name matches the glob pattern: * matches any run of
// characters, including none and including /; ? matches exactly one
// character.
func Match(pattern, name string) bool {
	// Iterative glob with single backtrack point: linear in practice,
	// O(len(pattern)·len(name)) at worst, never exponential.
	p, n := 0, 0
	star, mark := -1, 0
	for n < len(name) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == name[n]):
			p++
			n++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, n
			p++
		case star >= 0:
			p = star + 1
			mark++
			n = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
