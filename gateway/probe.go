package gateway

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/health"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/provider"
)

// Active health checks. A provider configured with a health check interval
// is probed (an authenticated GET of its model list) at that interval; the
// results feed the provider's own circuit, health.Key(name, "*"), which
// requests consult alongside each target's: while it is open, the
// provider's targets are skipped like targets whose own circuit is open.

// providerHealth is the health key of a provider as a whole.
func providerHealth(name string) string { return health.Key(name, "*") }

// ProbeLoop probes provider name every interval until ctx ends. It returns
// an error at once when the provider is unknown or cannot be probed.
func (g *Gateway) ProbeLoop(ctx context.Context, name string, every time.Duration) error {
	p, ok := g.providers[name]
	if !ok {
		return fmt.Errorf("no provider is named %q", name)
	}
	pr, ok := p.(provider.Prober)
	if !ok {
		return fmt.Errorf("provider %q (%s) cannot be probed", name, p.Type())
	}
	if every <= 0 {
		return fmt.Errorf("provider %q: health check interval must be positive", name)
	}
	go func() {
		// The first probe waits an interval too: a config that is only
		// validated (and stopped at once) probes nothing.
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			g.probeOnce(ctx, name, pr, every)
		}
	}()
	return nil
}

func (g *Gateway) probeOnce(ctx context.Context, name string, pr provider.Prober, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, min(timeout, 30*time.Second))
	defer cancel()
	key := providerHealth(name)
	if err := pr.Probe(ctx); err != nil {
		if ctx.Err() != nil && context.Cause(ctx) == context.Canceled {
			return // shutting down
		}
		g.log.Warn("provider health check failed", zap.String("provider", name), zap.Error(err))
		g.health.Failure(key, "health check failed")
		return
	}
	g.health.Success(key)
}
