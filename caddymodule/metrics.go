package caddymodule

import (
	"errors"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/health"
)

// The gateway's Prometheus collectors. They are package-level, so their
// values survive config reloads: Caddy makes a new registry for every
// config, and each handler registers these same collectors into it.
//
// Labels carry no secret and have bounded values: surfaces, providers and
// statuses come from the configuration and HTTP; models are capped at
// maxModelLabels distinct values (the rest count as "_other"), since a
// glob route passes client-chosen model names upstream.
var metrics = struct {
	requests   *prometheus.CounterVec
	tokens     *prometheus.CounterVec
	cost       *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	ttfb       *prometheus.HistogramVec
	rejections *prometheus.CounterVec
	circuit    *prometheus.GaugeVec
}{
	requests: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "llm_gateway", Name: "requests_total",
		Help: "Requests served by the LLM gateway, by surface, provider, upstream model, status and cache outcome.",
	}, []string{"surface", "provider", "model", "status", "cache"}),
	tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "llm_gateway", Name: "tokens_total",
		Help: "Tokens metered, by provider, upstream model and type (input, output, cached).",
	}, []string{"provider", "model", "type"}),
	cost: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "llm_gateway", Name: "cost_usd_total",
		Help: "Cost charged for requests, in US dollars, by provider and upstream model.",
	}, []string{"provider", "model"}),
	duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "caddy", Subsystem: "llm_gateway", Name: "request_duration_seconds",
		Help:    "Time from a request's arrival to the end of its answer, for requests sent to a provider or answered from the cache.",
		Buckets: []float64{.005, .025, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300},
	}, []string{"provider", "model"}),
	ttfb: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "caddy", Subsystem: "llm_gateway", Name: "time_to_first_byte_seconds",
		Help:    "Time from a request's arrival to the first byte of its answer (the provider's latency to first token, for streams).",
		Buckets: []float64{.005, .025, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"provider", "model"}),
	rejections: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "llm_gateway", Name: "rejections_total",
		Help: "Requests the gateway refused itself, by reason (unauthenticated, forbidden, policy_denied, model_not_allowed, budget, rate_limit, invalid_request, too_large, not_found, unavailable).",
	}, []string{"reason"}),
	circuit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "caddy", Subsystem: "llm_gateway", Name: "circuit_open",
		Help: "1 while a target's (provider and upstream model) circuit is open or half-open after consecutive failures, 0 once it closes. Set for targets that have changed state.",
	}, []string{"provider", "model"}),
}

// registerMetrics registers the collectors into a config's registry
// (which may be nil: metrics are then not exported).
func registerMetrics(reg *prometheus.Registry) error {
	if reg == nil {
		return nil
	}
	for _, c := range []prometheus.Collector{metrics.requests, metrics.tokens, metrics.cost, metrics.duration, metrics.ttfb, metrics.rejections, metrics.circuit} {
		var already prometheus.AlreadyRegisteredError
		if err := reg.Register(c); err != nil && !errors.As(err, &already) {
			return err
		}
	}
	return nil
}

// maxModelLabels bounds the distinct model label values.
const maxModelLabels = 256

// modelLabels remembers which model label values are in use.
var modelLabels struct {
	sync.Mutex
	seen map[string]bool
}

// modelLabel returns m as a label value, or "_other" once maxModelLabels
// distinct values are in use.
func modelLabel(m string) string {
	modelLabels.Lock()
	defer modelLabels.Unlock()
	if modelLabels.seen[m] {
		return m
	}
	if len(modelLabels.seen) >= maxModelLabels {
		return "_other"
	}
	if modelLabels.seen == nil {
		modelLabels.seen = map[string]bool{}
	}
	modelLabels.seen[m] = true
	return m
}

// statusLabels are the label values of the statuses, made once.
var statusLabels = func() []string {
	s := make([]string, 600)
	for i := range s {
		s[i] = strconv.Itoa(i)
	}
	return s
}()

// observeMetrics counts one request's outcome.
func observeMetrics(o *gateway.Outcome) {
	rec := &o.AuditRecord
	if o.Rejection != "" {
		metrics.rejections.WithLabelValues(o.Rejection).Inc()
	}
	model := ""
	if rec.UpstreamModel != "" {
		model = modelLabel(rec.UpstreamModel)
	}
	status := "other"
	if rec.Status >= 0 && rec.Status < len(statusLabels) {
		status = statusLabels[rec.Status]
	}
	metrics.requests.WithLabelValues(rec.Surface, rec.Provider, model, status, o.Cache).Inc()
	if rec.Provider == "" {
		return // refused before routing
	}
	if rec.InputTokens > 0 {
		metrics.tokens.WithLabelValues(rec.Provider, model, "input").Add(float64(rec.InputTokens))
	}
	if rec.OutputTokens > 0 {
		metrics.tokens.WithLabelValues(rec.Provider, model, "output").Add(float64(rec.OutputTokens))
	}
	if rec.CachedTokens > 0 {
		metrics.tokens.WithLabelValues(rec.Provider, model, "cached").Add(float64(rec.CachedTokens))
	}
	if rec.CostMicroUSD > 0 {
		metrics.cost.WithLabelValues(rec.Provider, model).Add(float64(rec.CostMicroUSD) / 1e6)
	}
	if o.Rejection == "" {
		metrics.duration.WithLabelValues(rec.Provider, model).Observe(rec.Latency.Seconds())
		if rec.TTFB > 0 {
			metrics.ttfb.WithLabelValues(rec.Provider, model).Observe(rec.TTFB.Seconds())
		}
	}
}

// observeCircuit records a target's circuit state change.
func observeCircuit(provider, model string, s health.State) {
	m := modelLabel(model)
	if m == "_other" {
		return // one gauge cannot stand for several targets
	}
	v := 0.0
	if s != health.Closed {
		v = 1
	}
	metrics.circuit.WithLabelValues(provider, m).Set(v)
}
