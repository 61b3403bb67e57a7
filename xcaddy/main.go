// Command caddy is the custom Caddy that `xcaddy build --with
// github.com/caddy-llm-gateway/caddy-llm-gateway` produces: the standard
// Caddy modules plus the llm_gateway plugin. `go run ./xcaddy run` starts it.
package main

import (
	_ "time/tzdata"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	// plug in Caddy modules here
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/caddy-llm-gateway/caddy-llm-gateway"
)

func main() {
	caddycmd.Main()
}
