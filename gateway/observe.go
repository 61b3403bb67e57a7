package gateway

import (
	"net"
	"net/http"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/token"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/storage"
)

// RequestIDHeader is the response header that carries the request's
// audit record ID, when requests are observed.
const RequestIDHeader = "Llm-Gateway-Request-Id"

// DefaultCaptureLimit bounds each captured body when capture is on and no
// limit is configured.
const DefaultCaptureLimit = 64 << 10

// Observer receives the outcome of every request the pipeline served. It
// is called once per request, after the answer was sent and the request
// settled, on the request's goroutine: it must not block.
type Observer interface {
	Observe(o *Outcome)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(o *Outcome)

// Observe calls f(o).
func (f ObserverFunc) Observe(o *Outcome) { f(o) }

// Outcome is what happened to one request: its audit record, plus what
// metrics need beyond it. It holds no secret.
type Outcome struct {
	storage.AuditRecord
	// Cache is "HIT", "MISS" or "BYPASS", as the X-Cache header said.
	Cache string
	// Rejection names why the gateway itself refused the request, empty
	// when it did not: unauthenticated, forbidden, policy_denied,
	// model_not_allowed, budget, rate_limit, invalid_request, too_large,
	// not_found, unavailable.
	Rejection string
}

// Cache outcomes, as the X-Cache header says them.
const (
	cacheHit    = "HIT"
	cacheMiss   = "MISS"
	cacheBypass = "BYPASS"
)

// rejection classifies an error the gateway answered itself.
func rejection(ae *apiError) string {
	switch ae.code {
	case "policy_denied", "model_not_allowed":
		return ae.code
	}
	switch ae.status {
	case http.StatusUnauthorized:
		return "unauthenticated"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusPaymentRequired:
		return "budget"
	case http.StatusTooManyRequests:
		return "rate_limit"
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusBadRequest:
		return "invalid_request"
	case http.StatusServiceUnavailable:
		return "unavailable"
	}
	return ""
}

// remoteIP is the host of the connection's remote address.
func remoteIP(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// markFirstByte notes when the first byte of the answer was sent.
func (x *exchange) markFirstByte() {
	if x.ttfb == 0 {
		x.ttfb = max(time.Since(x.start), 1)
	}
}

// finish reports the request's outcome to the observer and logs it.
func (g *Gateway) finish(x *exchange) {
	if g.observer == nil && !g.log.Core().Enabled(zapcore.DebugLevel) {
		return
	}
	o := &Outcome{Cache: x.cacheStatus, Rejection: x.rejection}
	rec := &o.AuditRecord
	rec.ID = x.reqID
	rec.Time = x.start
	rec.Surface = string(x.ep.surface)
	rec.Operation = string(x.ep.op)
	rec.Model = token.Redact(x.model) // client input: never repeat a token
	rec.Stream = x.stream
	rec.Status = x.status
	rec.ErrorType = x.errType
	rec.CacheHit = x.cacheStatus == cacheHit
	rec.Latency = time.Since(x.start)
	rec.TTFB = x.ttfb
	rec.ClientIP = x.clientIP
	if x.id != nil {
		rec.ServiceID, rec.TokenID = x.id.Service.ID, x.id.Token.ID
	}
	if x.provider != nil {
		rec.Provider, rec.UpstreamModel = x.provider.Name(), token.Redact(x.upstream)
	}
	rec.Attempts = x.attempts
	if c := &x.cost; c.charged {
		rec.InputTokens = c.chargedUsage.InputTokens + c.chargedUsage.CacheWriteTokens
		rec.OutputTokens = c.chargedUsage.OutputTokens
		rec.CachedTokens = c.chargedUsage.CachedInputTokens
		rec.UsageEstimated = c.chargedUsage.Estimated
		rec.CostMicroUSD = c.chargedCost
	}
	if g.capture > 0 {
		if x.body != nil {
			rec.RequestBody = g.redactor.Redact(x.clientBody, g.capture)
		}
		if x.captured != nil && len(x.captured.buf) > 0 {
			rec.ResponseBody = g.redactor.Redact(x.captured.buf, g.capture)
		}
	}
	if ce := g.log.Check(zapcore.DebugLevel, "llm request"); ce != nil {
		ce.Write(
			zap.String("surface", rec.Surface),
			zap.String("operation", rec.Operation),
			zap.String("model", rec.Model),
			zap.String("provider", rec.Provider),
			zap.String("upstream_model", rec.UpstreamModel),
			zap.Int("attempts", rec.Attempts),
			zap.Bool("stream", rec.Stream),
			zap.Int("status", rec.Status),
			zap.String("error_type", rec.ErrorType),
			zap.String("cache", o.Cache),
			zap.Int64("input_tokens", rec.InputTokens),
			zap.Int64("output_tokens", rec.OutputTokens),
			zap.Int64("cached_tokens", rec.CachedTokens),
			zap.Bool("usage_estimated", rec.UsageEstimated),
			zap.Int64("cost_micro_usd", rec.CostMicroUSD),
			zap.Duration("duration", rec.Latency),
		)
	}
	if g.observer != nil {
		g.observer.Observe(o)
	}
}
