package gateway

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/limits"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/meter"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/policy"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/pricing"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/provider"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/reqjson"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/storage"
	"go.uber.org/zap"
)

// The cost-control stages of the pipeline: admit (policy, rate limits and
// budget reservation, before the provider is called) and settle (after it
// answered, whatever happened).

// defaultMaxOutput is reserved for a request that names no output cap, for
// a model whose cap is unknown.
const defaultMaxOutput = 16384

// cost is the cost-control state of one exchange.
type cost struct {
	estInput   int64 // estimated input tokens of the request (see inputEstimate)
	estimated  bool  // estInput is computed
	maxOut     int64 // the output cap reserved for
	price      pricing.Price
	priced     bool
	res        *limits.Reservation
	sent       bool // the provider was called
	upstreamOK bool // the provider answered 2xx
	stream     *meter.Stream
	usage      meter.Usage
	metered    bool // usage is known (reported or estimated)
	hit        bool // answered from the cache: free

	// What settlement charged, for the audit record.
	charged      bool
	chargedUsage meter.Usage
	chargedCost  int64
}

// ServiceScope and TokenScope name the limit scopes of a service and a
// token, as the limits engine and the spend ledger know them.
func ServiceScope(id string) string { return "svc/" + id }

// TokenScope names the limit scope of a token.
func TokenScope(id string) string { return "tok/" + id }

// admit runs the request's policies, then reserves its worst case against
// every rate limit and budget it touches.
func (g *Gateway) admit(x *exchange, r *http.Request) error {
	svc, tok := x.id.Service, x.id.Token
	samp, err := samplingOf(x)
	if err != nil {
		return err
	}
	requestedMax := samp.maxTokens
	x.cost.price, x.cost.priced = g.prices().Lookup(x.provider.Type(), x.upstream)
	x.cost.maxOut = requestedMax
	if x.cost.maxOut <= 0 {
		x.cost.maxOut = x.cost.price.MaxOutput
	}
	if x.cost.maxOut <= 0 {
		x.cost.maxOut = defaultMaxOutput
	}
	switch x.ep.op {
	case provider.OpEmbeddings:
		x.cost.maxOut = 0 // embeddings produce no output tokens
	case provider.OpCountTokens:
		x.cost.estimated, x.cost.maxOut = true, 0 // counting tokens is free
	}
	budgeted := x.budgeted()
	if budgeted && g.limits != nil && len(x.plan) > 1 {
		// A fallback without a price could not be charged to the budget:
		// the rule for the primary target below holds for every target.
		kept := x.plan[:1]
		for _, t := range x.plan[1:] {
			if p, ok := g.providers[t.Provider]; ok {
				if _, priced := g.prices().Lookup(p.Type(), t.Model); !priced {
					g.log.Debug("fallback target skipped: no price, and the request is budgeted",
						zap.String("provider", t.Provider), zap.String("model", t.Model))
					continue
				}
			}
			kept = append(kept, t)
		}
		x.plan = kept
	}
	// The input estimate walks the whole body: make it only when a
	// reservation or a policy needs it (a cut answer makes it later).
	worst := int64(0)
	if budgeted || svc.Limits.TPM > 0 || tok.Limits.TPM > 0 || len(g.policies) > 0 || svc.Policy != "" {
		if x.cost.priced {
			worst = x.cost.price.WorstCase(x.inputEstimate(), x.cost.maxOut)
		}
		// A fallback target may answer instead: reserve the dearest.
		for _, t := range x.plan[min(1, len(x.plan)):] {
			if p, ok := g.providers[t.Provider]; ok {
				if price, ok := g.prices().Lookup(p.Type(), t.Model); ok {
					worst = max(worst, price.WorstCase(x.inputEstimate(), x.cost.maxOut))
				}
			}
		}
	}

	if err := g.checkPolicies(x, r, samp, worst); err != nil {
		return err
	}
	if g.limits == nil {
		return nil
	}
	if budgeted && !x.cost.priced {
		return &apiError{status: http.StatusPaymentRequired, kind: kindBilling, code: "price_unknown",
			message: fmt.Sprintf("model %q of provider %q has no known price, so its cost cannot be counted against this service's budget; "+
				"the operator can set one with `price` in the Caddyfile or PUT /llm_gateway/pricing", x.upstream, x.provider.Name())}
	}
	res, rej := g.limits.Admit(limits.Request{
		Scopes: []limits.Scope{scopeOf(ServiceScope(svc.ID), svc.Limits, svc.Budget), scopeOf(TokenScope(tok.ID), tok.Limits, tok.Budget)},
		Tokens: x.tpmEstimate(),
		Cost:   worst,
	})
	if rej != nil {
		if rej.Budget() {
			return &apiError{status: http.StatusPaymentRequired, kind: kindBilling, code: "budget_exceeded", message: rej.Error()}
		}
		return &apiError{status: http.StatusTooManyRequests, kind: kindRateLimit, code: "rate_limit_exceeded", message: rej.Error(),
			retryAfter: rej.RetryAfter(time.Now())}
	}
	x.cost.res = res
	return nil
}

// budgeted reports whether the request's service or token has a USD
// budget.
func (x *exchange) budgeted() bool {
	return x.id.Service.Budget != (storage.Budget{}) || x.id.Token.Budget != (storage.Budget{})
}

// inputEstimate is the request's estimated input tokens, computed once.
func (x *exchange) inputEstimate() int64 {
	if !x.cost.estimated {
		x.cost.estInput = meter.EstimateRequestTokens(string(x.ep.surface.dialect()), string(x.ep.op), x.body.Bytes())
		x.cost.estimated = true
	}
	return x.cost.estInput
}

// tpmEstimate is what a request reserves against tpm: its estimated input
// plus its output cap, when a tpm limit applies.
func (x *exchange) tpmEstimate() int64 {
	if x.id.Service.Limits.TPM == 0 && x.id.Token.Limits.TPM == 0 {
		return 0
	}
	return addTokens(x.inputEstimate(), x.cost.maxOut)
}

// addTokens is a + b for token counts ≥ 0, saturated at math.MaxInt64. The
// output cap is the client's max_tokens, which can be anything up to
// math.MaxInt64: a plain sum would wrap negative, and the limits engine
// counts a negative reservation as 0 tokens.
func addTokens(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

func scopeOf(key string, l storage.Limits, b storage.Budget) limits.Scope {
	return limits.Scope{Key: key, RPM: l.RPM, RPD: l.RPD, TPM: l.TPM, DailyBudget: b.DailyMicroUSD, MonthlyBudget: b.MonthlyMicroUSD}
}

// sampling is what a request asks of the sampler that the gateway's
// checks read: the output cap (0 when none) and the temperature.
type sampling struct {
	maxTokens   int64
	temperature float64
	hasTemp     bool
}

// samplingOf reads a request's output cap and temperature where its surface
// puts them: the body, or a Gemini request's generationConfig in each
// spelling Google's JSON parser accepts (generationConfig,
// generation_config; maxOutputTokens, max_output_tokens). Where several are
// given (max_tokens and max_completion_tokens too), the largest counts.
//
// A value the gateway cannot read as a number (a whole one for a cap) is
// refused, as is a generationConfig with a repeated key: a lenient
// provider would read "100000", 1e5 or the other copy as a value no policy
// or reservation saw.
func samplingOf(x *exchange) (sampling, error) {
	var s sampling
	objs, prefixes := []*reqjson.Object{x.body}, []string{""}
	caps := []string{"max_completion_tokens", "max_tokens", "max_output_tokens"}
	if x.ep.surface == SurfaceGemini {
		objs, prefixes = nil, nil
		caps = []string{"maxOutputTokens", "max_output_tokens"}
		for _, f := range []string{"generationConfig", "generation_config"} {
			raw, ok := x.body.Raw(f)
			if !ok || string(raw) == "null" {
				continue
			}
			gc, err := reqjson.Parse(raw)
			if err != nil {
				return s, &apiError{status: http.StatusBadRequest, kind: kindInvalidRequest, param: f, message: f + ": " + err.Error()}
			}
			objs, prefixes = append(objs, gc), append(prefixes, f+".")
		}
	}
	for i, o := range objs {
		for _, f := range caps {
			raw, ok := o.Raw(f)
			if !ok || string(raw) == "null" {
				continue
			}
			v, err := strconv.ParseInt(string(raw), 10, 64)
			if err != nil {
				return s, &apiError{status: http.StatusBadRequest, kind: kindInvalidRequest, param: prefixes[i] + f,
					message: fmt.Sprintf("%s%s must be a whole number of tokens, not %.40s", prefixes[i], f, raw)}
			}
			s.maxTokens = max(s.maxTokens, v)
		}
		if raw, ok := o.Raw("temperature"); ok && string(raw) != "null" {
			v, err := strconv.ParseFloat(string(raw), 64)
			if err != nil {
				return s, &apiError{status: http.StatusBadRequest, kind: kindInvalidRequest, param: prefixes[i] + "temperature",
					message: fmt.Sprintf("%stemperature must be a number, not %.40s", prefixes[i], raw)}
			}
			if !s.hasTemp || v > s.temperature {
				s.temperature, s.hasTemp = v, true
			}
		}
	}
	return s, nil
}

// settle replaces the reservation with what the request consumed. It runs
// once per admitted request, in the pipeline's deferred finish.
//
// It also notes what was charged, for the audit record: a request without
// limits is metered and priced all the same.
func (g *Gateway) settle(x *exchange) {
	c := &x.cost
	switch {
	case c.hit:
		c.charged = true // a cached answer is free; the request still counts
		c.res.Settle(0, 0)
		return
	case !c.sent:
		c.res.Release() // no provider was called: nothing was consumed
		return
	case !c.upstreamOK:
		c.charged = true
		c.res.Settle(0, 0) // providers do not bill errors; the request still counts
		return
	}
	c.charged = true
	u, ok := x.meteredUsage()
	if !ok {
		// The answer was cut before its usage could be read: charge the
		// worst case reserved, never more and never nothing.
		worst := int64(0)
		if c.priced {
			worst = c.price.WorstCase(x.inputEstimate(), c.maxOut)
		}
		c.chargedUsage = meter.Usage{InputTokens: x.inputEstimate(), OutputTokens: c.maxOut, Estimated: true}
		c.chargedCost = worst
		c.res.Settle(addTokens(x.inputEstimate(), c.maxOut), worst)
		return
	}
	cost := int64(0)
	if c.priced {
		cost = c.price.Cost(u)
	}
	c.chargedUsage, c.chargedCost = u, cost
	c.res.Settle(u.Total(), cost)
}

// meteredUsage is the usage of the exchange, from the provider's own
// counts or, for a cut stream, an estimate.
func (x *exchange) meteredUsage() (meter.Usage, bool) {
	if x.cost.metered || x.cost.stream == nil {
		return x.cost.usage, x.cost.metered // a whole answer (also one a stream request got)
	}
	return x.cost.stream.Usage(), true
}

// ---- policies ----

// policyCache holds compiled service policies, by service ID.
type policyCache struct {
	mu sync.Mutex
	m  map[string]*policy.Policy
}

func (pc *policyCache) get(s *storage.Service) (*policy.Policy, error) {
	pc.mu.Lock()
	p, ok := pc.m[s.ID]
	pc.mu.Unlock()
	if ok && p.Source() == s.Policy {
		return p, nil
	}
	p, err := policy.Compile("service "+s.Name, s.Policy)
	if err != nil {
		return nil, err
	}
	pc.mu.Lock()
	if pc.m == nil {
		pc.m = map[string]*policy.Policy{}
	}
	pc.m[s.ID] = p
	pc.mu.Unlock()
	return p, nil
}

// checkPolicies evaluates the global policies, then the service's. A
// policy that cannot be evaluated denies the request (fail closed).
func (g *Gateway) checkPolicies(x *exchange, r *http.Request, samp sampling, worst int64) error {
	set := g.policies
	if src := x.id.Service.Policy; src != "" {
		p, err := g.svcPolicies.get(x.id.Service)
		if err != nil {
			return &apiError{status: http.StatusForbidden, kind: kindPermission, code: "policy_denied",
				message: fmt.Sprintf("the policy of service %q does not compile, so its requests are denied: %v", x.id.Service.Name, err)}
		}
		set = append(set[:len(set):len(set)], p)
	}
	if len(set) == 0 {
		return nil
	}
	in := g.policyInput(x, r, samp, worst)
	denied, err := set.Eval(r.Context(), in) // each policy bounds its own time and cost
	switch {
	case err != nil && denied != nil:
		return &apiError{status: http.StatusForbidden, kind: kindPermission, code: "policy_denied",
			message: fmt.Sprintf("policy %q could not be evaluated, so the request is denied: %v", denied.Name(), err)}
	case err != nil:
		return &apiError{status: http.StatusForbidden, kind: kindPermission, code: "policy_denied",
			message: fmt.Sprintf("a policy could not be evaluated, so the request is denied: %v", err)}
	case denied != nil:
		return &apiError{status: http.StatusForbidden, kind: kindPermission, code: "policy_denied",
			message: fmt.Sprintf("request denied by policy %q", denied.Name())}
	}
	return nil
}

func (g *Gateway) policyInput(x *exchange, r *http.Request, samp sampling, worst int64) *policy.Input {
	in := &policy.Input{
		Request: policy.Request{
			Model:                x.model,
			Provider:             x.provider.Name(),
			Surface:              string(x.ep.surface),
			Stream:               x.stream,
			MaxTokens:            samp.maxTokens,
			Temperature:          samp.temperature,
			HasTemperature:       samp.hasTemp,
			EstimatedInputTokens: x.inputEstimate(),
			EstimatedCostUSD:     float64(worst) / 1e6,
			Headers:              policy.HTTPHeaders(r.Header),
			ClientIP:             policy.ClientIP(r.RemoteAddr),
		},
		Service: policy.Subject{ID: x.id.Service.ID, Name: x.id.Service.Name, Labels: x.id.Service.Labels},
		Token:   policy.Subject{ID: x.id.Token.ID, Name: x.id.Token.Name, Labels: x.id.Token.Labels},
		Now:     time.Now(),
	}
	for _, f := range []string{"messages", "input", "contents"} {
		if n, ok := x.body.Len(f); ok {
			in.Request.MessageCount = int64(n)
			break
		}
	}
	if g.limits != nil {
		s := g.limits.Spent(ServiceScope(x.id.Service.ID))
		in.Usage = policy.Usage{SpentTodayUSD: float64(s.SpentToday) / 1e6, SpentMonthUSD: float64(s.SpentMonth) / 1e6,
			RequestsThisMinute: s.RequestsThisMinute}
	}
	return in
}
