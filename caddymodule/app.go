package caddymodule

import (
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"go.uber.org/zap"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/seal"
)

func init() {
	caddy.RegisterModule(App{})
	httpcaddyfile.RegisterGlobalOption("llm_gateway", parseGlobalOption)
}

// App is the llm_gateway app: it owns the gateway's storage (an embedded
// Badger database, opened when the app starts and shared across config
// reloads) and the encryption key that seals provider keys. Every
// llm_gateway handler uses it; it exists with defaults even when the
// global option is absent.
//
// Caddyfile global option:
//
//	{
//		llm_gateway {
//			storage_dir    <path>
//			encryption_key <key>
//			audit {
//				retention <duration>
//				off
//			}
//		}
//	}
type App struct {
	// StorageDir is the directory of the Badger database. Default:
	// llm_gateway under Caddy's data directory. Placeholders are resolved.
	StorageDir string `json:"storage_dir,omitempty"`

	// EncryptionKey seals provider keys added through the admin API with
	// AES-256-GCM: 32 bytes as base64 (openssl rand -base64 32) or hex.
	// Write it as {env.LLM_GATEWAY_ENCRYPTION_KEY}, resolved at load time,
	// so it never appears in the JSON config. Without it, adding provider
	// keys is refused.
	EncryptionKey string `json:"encryption_key,omitempty"`

	// Audit configures the audit log: one record per request, rejections
	// included, written in batches every second and kept for the
	// retention. On by default.
	Audit *AuditConfig `json:"audit,omitempty"`

	dir    string
	sealer *seal.Sealer
	st     *state
	log    *zap.Logger

	// inflight counts requests of this config's handlers, so the storage
	// stays open until the last one settles after a reload.
	inflight *inflight
}

// AuditConfig configures the audit log.
type AuditConfig struct {
	// Disabled turns the audit log off. Usage totals and metrics are kept.
	Disabled bool `json:"disabled,omitempty"`
	// Retention is how long a record is kept. Default 30 days.
	Retention caddy.Duration `json:"retention,omitempty"`
}

// DefaultAuditRetention is how long audit records are kept by default.
const DefaultAuditRetention = 30 * 24 * time.Hour

// CaddyModule returns the Caddy module information.
func (App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "llm_gateway", New: func() caddy.Module { return new(App) }}
}

// Provision resolves the configuration. It opens nothing, so `caddy
// validate` works while a server is running on the same storage.
func (a *App) Provision(ctx caddy.Context) error {
	a.log = ctx.Logger()
	repl := caddy.NewReplacer()
	a.dir = repl.ReplaceAll(a.StorageDir, "")
	if a.dir == "" {
		a.dir = filepath.Join(caddy.AppDataDir(), "llm_gateway")
	}
	abs, err := filepath.Abs(a.dir)
	if err != nil {
		return fmt.Errorf("storage_dir: %w", err)
	}
	a.dir = abs
	if k := repl.ReplaceAll(a.EncryptionKey, ""); k != "" {
		raw, err := seal.ParseKey(k)
		if err != nil {
			return err
		}
		if a.sealer, err = seal.New(raw); err != nil {
			return err
		}
	} else if a.EncryptionKey != "" {
		a.log.Warn("encryption_key is empty (is its environment variable set?); adding provider keys through the admin API is refused until it is",
			zap.String("encryption_key", a.EncryptionKey)) // the placeholder, not a secret
	}
	st, err := acquireState(a.dir, a.log)
	if err != nil {
		return err
	}
	a.st = st
	dir := a.dir
	a.inflight = &inflight{release: func() { releaseState(dir) }}
	return nil
}

// Start opens the storage: a second process on the same directory fails
// here, with a message naming the directory.
func (a *App) Start() error {
	if _, err := a.st.open(); err != nil {
		return fmt.Errorf("llm_gateway: %w", err)
	}
	a.st.sealer.Store(a.sealer)
	a.st.KeysChanged() // the key may differ from the previous config's
	on, retention := true, DefaultAuditRetention
	if a.Audit != nil {
		on = !a.Audit.Disabled
		if a.Audit.Retention > 0 {
			retention = time.Duration(a.Audit.Retention)
		}
	}
	a.st.auditOn.Store(on)
	a.st.retention.Store(int64(retention))
	return nil
}

// Stop does nothing: the storage outlives the config until its last
// request settles (see Cleanup).
func (a *App) Stop() error { return nil }

// Cleanup lets go of the storage once this config's in-flight requests
// have finished.
func (a *App) Cleanup() error {
	if a.inflight != nil {
		a.inflight.close()
	}
	return nil
}

// inflight runs release once closed and idle.
type inflight struct {
	mu      sync.Mutex
	n       int
	closed  bool
	release func()
}

func (f *inflight) enter() {
	f.mu.Lock()
	f.n++
	f.mu.Unlock()
}

func (f *inflight) leave() {
	f.mu.Lock()
	f.n--
	run := f.closed && f.n == 0
	f.mu.Unlock()
	if run {
		f.release()
	}
}

func (f *inflight) close() {
	f.mu.Lock()
	f.closed = true
	run := f.n == 0
	f.mu.Unlock()
	if run {
		f.release()
	}
}

// parseGlobalOption parses the llm_gateway global option.
func parseGlobalOption(d *caddyfile.Dispenser, existing any) (any, error) {
	if existing != nil {
		return nil, d.Err("the llm_gateway global option is given twice")
	}
	var a App
	d.Next() // the option name
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "storage_dir":
			if !d.Args(&a.StorageDir) || d.NextArg() {
				return nil, d.Errf("storage_dir takes one path")
			}
		case "encryption_key":
			if !d.Args(&a.EncryptionKey) || d.NextArg() {
				return nil, d.Errf("encryption_key takes one value, normally {env.LLM_GATEWAY_ENCRYPTION_KEY}")
			}
		case "audit":
			if a.Audit != nil {
				return nil, d.Err("audit is given twice")
			}
			a.Audit = &AuditConfig{}
			switch args := d.RemainingArgs(); {
			case len(args) == 1 && args[0] == "off":
				a.Audit.Disabled = true
				continue
			case len(args) > 0:
				return nil, d.Errf("audit takes no arguments but off, or a block: audit { retention <duration> }")
			}
			for d.NextBlock(1) {
				switch d.Val() {
				case "retention":
					var v string
					if !d.Args(&v) || d.NextArg() {
						return nil, d.Errf("retention takes one duration, e.g. 30d")
					}
					dur, err := caddy.ParseDuration(v)
					if err != nil || dur <= 0 {
						return nil, d.Errf("retention %q: want a positive duration, e.g. 720h or 30d", v)
					}
					a.Audit.Retention = caddy.Duration(dur)
				case "off":
					if d.NextArg() {
						return nil, d.ArgErr()
					}
					a.Audit.Disabled = true
				default:
					return nil, d.Errf("unrecognized audit subdirective %q (retention, off)", d.Val())
				}
			}
		default:
			return nil, d.Errf("unrecognized llm_gateway global subdirective %q", d.Val())
		}
	}
	return httpcaddyfile.App{Name: "llm_gateway", Value: caddyconfig.JSON(a, nil)}, nil
}

// Interface guards
var (
	_ caddy.App          = (*App)(nil)
	_ caddy.Provisioner  = (*App)(nil)
	_ caddy.CleanerUpper = (*App)(nil)
)
