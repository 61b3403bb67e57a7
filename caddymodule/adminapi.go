package caddymodule

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/admin"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/seal"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/storage"
)

func init() {
	caddy.RegisterModule(AdminAPI{})
}

// AdminAPI mounts the gateway's management API on Caddy's admin endpoint
// under /llm_gateway/: services, tokens and provider keys. It works whether
// or not any site uses llm_gateway: without an llm_gateway app it manages
// the default storage directory.
type AdminAPI struct {
	dir    string
	sealer *seal.Sealer
	log    *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (AdminAPI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "admin.api.llm_gateway", New: func() caddy.Module { return new(AdminAPI) }}
}

// Provision finds the storage directory and encryption key of the
// llm_gateway app, if the config has one. Admin modules are provisioned on
// every config load, before apps, and get no configuration of their own.
func (a *AdminAPI) Provision(ctx caddy.Context) error {
	a.log = ctx.Logger()
	a.dir = filepath.Join(caddy.AppDataDir(), "llm_gateway")
	appMod, err := ctx.AppIfConfigured("llm_gateway")
	switch {
	case err == nil:
		app := appMod.(*App)
		a.dir, a.sealer = app.dir, app.sealer
	case errors.Is(err, caddy.ErrNotConfigured):
	default:
		return err
	}
	return nil
}

// Routes returns the management routes.
func (a *AdminAPI) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{{Pattern: "/llm_gateway/", Handler: caddy.AdminHandlerFunc(a.serve)}}
}

// serve holds the storage for the duration of one management request.
func (a *AdminAPI) serve(w http.ResponseWriter, r *http.Request) error {
	st, err := acquireState(a.dir, a.log)
	if err != nil {
		return caddy.APIError{HTTPStatus: http.StatusServiceUnavailable, Err: err}
	}
	defer releaseState(a.dir)
	return admin.NewAPI(adminBackend{st, a.sealer}).ServeHTTP(w, r)
}

// adminBackend is the state, with the sealer of the config the admin
// module was provisioned with.
type adminBackend struct {
	*state
	sealer *seal.Sealer
}

func (b adminBackend) Store(ctx context.Context) (storage.Store, error) { return b.state.Store(ctx) }
func (b adminBackend) Sealer() *seal.Sealer                             { return b.sealer }

// Interface guards
var (
	_ caddy.AdminRouter = (*AdminAPI)(nil)
	_ caddy.Provisioner = (*AdminAPI)(nil)
)
