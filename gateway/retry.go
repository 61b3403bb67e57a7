package gateway

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/health"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/provider"
)

// Retries and fallbacks. A request that fails before any byte of an answer
// reached the client (the connection to the provider failed, or it
// answered 408, 429, 529 or a 5xx) is retried on the same target, up to the route's retries, after a
// jittered exponential backoff that honours the provider's Retry-After;
// then the route's next target is tried. A provider that timed out, or asks
// to be retried after more than maxRetryAfter, is not retried: the next
// target is tried at once. Once an answer is relayed nothing is retried: a
// stream that breaks mid-way ends with an error event.

// Backoff defaults.
const (
	// DefaultRetryBackoff is the first retry's base delay; each retry
	// doubles it, up to maxRetryBackoff, and the delay is drawn at random
	// between half of it and all of it.
	DefaultRetryBackoff = 250 * time.Millisecond
	maxRetryBackoff     = 4 * time.Second
	// maxRetryAfter bounds how long the gateway waits on a provider's
	// Retry-After: a provider that asks for longer is not retried, the
	// next target is tried instead (or its answer relayed).
	maxRetryAfter = 5 * time.Second
)

// retryable reports whether a provider's answer status is worth another
// attempt: it was overloaded, rate limited or failed, not the request.
func retryable(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, 529: // 529: Anthropic's overloaded
		return true
	}
	return status >= 500
}

// send calls the request's provider, retrying and falling back to the
// route's other targets as described above. It returns the answer to relay
// (which is the last error answer when every attempt failed with one) and
// the call that got it, or an error when no provider answered at all.
func (g *Gateway) send(r *http.Request, x *exchange) (*http.Response, *provider.Call, error) {
	ctx := r.Context()
	var (
		last     *http.Response // the last error answer, kept to relay
		lastCall *provider.Call
		lastErr  error
	)
	keep := func(resp *http.Response, call *provider.Call, err error) {
		if last != nil && resp != nil {
			last.Body.Close()
		}
		if resp != nil {
			last, lastCall = resp, call
		}
		lastErr = err
	}
	tried := 0
	for ti := 0; ti < len(x.plan); ti++ {
		t := x.plan[ti]
		key := health.Key(t.Provider, t.Model)
		if !g.health.Usable(providerHealth(t.Provider)) || !g.health.Allow(key) {
			if ti < len(x.plan)-1 || tried > 0 {
				continue // the circuit is open: try the next target
			}
			// Every target's circuit is open: try the last one all the
			// same rather than fail without asking anyone.
		}
		tried++
		if ti > 0 || x.provider.Name() != t.Provider || x.upstream != t.Model {
			if err := g.useTarget(x, t); err != nil {
				g.health.Release(key)
				continue // this target cannot answer such a request
			}
			x.cost.price, x.cost.priced = g.prices().Lookup(x.provider.Type(), x.upstream)
		}
		call, err := g.prepare(x, r)
		if err != nil {
			g.health.Release(key)
			if ti == 0 {
				return nil, nil, err // the client's request, as the first target takes it
			}
			g.log.Debug("fallback target cannot take the request", zap.String("provider", t.Provider), zap.Error(err))
			continue
		}
		for attempt := 0; attempt <= x.retries; attempt++ {
			if attempt > 0 {
				if err := sleepCtx(ctx, g.backoff(attempt, last)); err != nil {
					keep(nil, nil, g.sendError(x, ctx, err))
					break
				}
			}
			x.attempts++
			resp, err := x.provider.Send(ctx, call)
			if ctx.Err() != nil { // the client left, or the route's total timeout ran out
				g.health.Release(key)
				if resp != nil {
					resp.Body.Close()
				}
				if last != nil {
					last.Body.Close()
				}
				return nil, nil, g.sendError(x, ctx, context.Cause(ctx))
			}
			if x.keyID != "" {
				// A stored key has a circuit of its own: a key that is rate
				// limited or refused is avoided by the next draw.
				kh := keyHealth(x.provider.Name(), x.keyID)
				switch {
				case err == nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden):
					g.health.Failure(kh, "status "+strconv.Itoa(resp.StatusCode))
					if x.badKeys == nil {
						x.badKeys = map[string]bool{}
					}
					x.badKeys[x.provider.Name()+"/"+x.keyID] = true
				case err == nil:
					g.health.Success(kh)
				}
				if err == nil && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden) && attempt < x.retries {
					// This key is refused: another key of the provider may
					// not be.
					keep(resp, call, nil)
					if call, err = g.prepare(x, r); err != nil {
						break
					}
					continue
				}
			}
			if err == nil && !retryable(resp.StatusCode) {
				g.health.Success(key) // a 4xx is the request's fault, not the target's
				if last != nil {
					last.Body.Close()
				}
				x.target = ti
				if ti > 0 {
					x.cacheStore = false // a fallback's answer is not the routed model's
				}
				return resp, call, nil
			}
			if err != nil {
				g.log.Warn("provider request failed", zap.String("provider", x.provider.Name()), zap.Int("attempt", x.attempts), zap.Error(err))
				keep(nil, nil, g.sendError(x, ctx, err))
				if errors.Is(err, provider.ErrNotSent) {
					g.health.Release(key)
					break // nothing to retry: the call could not be built
				}
				g.health.Failure(key, failureReason(err))
				if isTimeout(err) {
					break // a provider that let the time run out is not asked again
				}
			} else {
				g.log.Info("provider answered with a retryable error", zap.String("provider", x.provider.Name()),
					zap.Int("status", resp.StatusCode), zap.Int("attempt", x.attempts))
				g.health.Failure(key, "status "+strconv.Itoa(resp.StatusCode))
				keep(resp, call, nil)
				x.target = ti
				if d, ok := retryAfter(resp.Header); ok && d > maxRetryAfter && x.keyID == "" {
					break // the provider will not be back soon: try the next target
				}
			}
			if x.keyID != "" {
				// Draw the key again: a retry may go out with another.
				if call, err = g.prepare(x, r); err != nil {
					break
				}
			}
			if attempt < x.retries && !g.health.Allow(key) {
				break // the circuit opened: no point in retrying here
			}
		}
		if ctx.Err() != nil {
			break
		}
	}
	if ctx.Err() != nil {
		if last != nil {
			last.Body.Close()
		}
		return nil, nil, g.sendError(x, ctx, context.Cause(ctx))
	}
	if last != nil {
		// Relay the last provider's error answer, from that provider.
		if x.plan[x.target].Provider != x.provider.Name() || x.plan[x.target].Model != x.upstream {
			g.useTarget(x, x.plan[x.target])
		}
		return last, lastCall, nil
	}
	if lastErr == nil {
		lastErr = badRequest("no target of this route can answer the request")
	}
	return nil, nil, lastErr
}

// backoff is the wait before retry attempt n (from 1): the provider's
// Retry-After when it gave one, else a jittered exponential delay.
func (g *Gateway) backoff(n int, last *http.Response) time.Duration {
	if last != nil {
		if d, ok := retryAfter(last.Header); ok && d <= maxRetryAfter {
			return d
		}
	}
	d := g.retryBackoff << (n - 1)
	if d > maxRetryBackoff || d <= 0 {
		d = maxRetryBackoff
	}
	return d/2 + rand.N(d/2+1)
}

// retryAfter reads a provider's wish to be retried later: Retry-After-Ms
// (OpenAI), else Retry-After in seconds or as an HTTP date.
func retryAfter(h http.Header) (time.Duration, bool) {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 {
			return time.Duration(ms * float64(time.Millisecond)), true
		}
	}
	v := h.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
}

// failureReason describes a failed call for the health report, without
// any detail that could carry a secret.
func failureReason(err error) string {
	switch {
	case errors.Is(err, provider.ErrFirstByteTimeout):
		return "first-byte timeout"
	case isTimeout(err):
		return "timeout"
	case errors.Is(err, provider.ErrIdleTimeout):
		return "idle timeout"
	}
	return "connection failed"
}

// isTimeout reports whether a provider call failed because a time limit
// ran out.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, provider.ErrFirstByteTimeout) ||
		errors.As(err, &ne) && ne.Timeout()
}

// sleepCtx waits d, or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
