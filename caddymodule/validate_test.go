package caddymodule_test

import "github.com/caddyserver/caddy/v2"

// caddytestValidate provisions an adapted JSON config without starting it,
// as `caddy validate` does.
func caddytestValidate(cfgJSON []byte) error {
	var cfg caddy.Config
	if err := caddy.StrictUnmarshalJSON(cfgJSON, &cfg); err != nil {
		return err
	}
	return caddy.Validate(&cfg)
}
