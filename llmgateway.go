// Package llmgateway is the Caddy LLM Gateway plugin. Importing it (as
// `xcaddy build --with github.com/caddy-llm-gateway/caddy-llm-gateway`
// does) registers the llm_gateway HTTP handler, its Caddyfile directive and
// the llm_gateway.providers.* modules.
package llmgateway

import (
	// The Caddy modules of the gateway and its CLI commands.
	_ "github.com/caddy-llm-gateway/caddy-llm-gateway/admin"
	_ "github.com/caddy-llm-gateway/caddy-llm-gateway/caddymodule"
)
