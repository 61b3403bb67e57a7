// Package admin is the gateway's management surface: the HTTP API mounted
// on Caddy's admin endpoint under /llm_gateway/ (module
// admin.api.llm_gateway, registered by caddymodule) and the
// `caddy llm-gateway` CLI that calls it.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/policy"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/pricing"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/provider"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/seal"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/token"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/storage"
)

// Backend is what the API manages.
type Backend interface {
	// Store returns the open store.
	Store(ctx context.Context) (storage.Store, error)
	// Sealer seals provider keys; it may have no key.
	Sealer() *seal.Sealer
	// TokensChanged is called after any change to tokens or services.
	TokensChanged()
	// KeysChanged is called after any change to provider keys.
	KeysChanged()
	// Prices returns the pricing overrides stored through the API.
	Prices() map[string]pricing.Price
	// SetPrices replaces them in memory, once stored.
	SetPrices(map[string]pricing.Price)
	Reports
}

// MaxBodySize caps a management request body.
const MaxBodySize = 1 << 20

// API serves the management API. Errors are caddy.APIError values, which
// Caddy's admin server writes as {"error": "..."}.
type API struct {
	b       Backend
	reports Reports
	mux     *http.ServeMux
}

// NewAPI returns the API over b.
func NewAPI(b Backend) *API {
	a := &API{b: b, reports: b, mux: http.NewServeMux()}
	h := func(pattern string, f func(http.ResponseWriter, *http.Request, storage.Store) error) {
		a.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			st, err := b.Store(r.Context())
			if err != nil {
				writeErr(w, apiErr(http.StatusServiceUnavailable, "storage is unavailable: %v", err))
				return
			}
			if err := f(w, r, st); err != nil {
				writeErr(w, err)
			}
		})
	}
	h("GET /llm_gateway/services", a.listServices)
	h("POST /llm_gateway/services", a.createService)
	h("GET /llm_gateway/services/{id}", a.getService)
	h("PATCH /llm_gateway/services/{id}", a.updateService)
	h("DELETE /llm_gateway/services/{id}", a.deactivateService)
	h("POST /llm_gateway/services/{id}/tokens", a.createToken)
	h("POST /llm_gateway/services/{id}/tokens/revoke", a.revokeServiceTokens)
	h("GET /llm_gateway/tokens", a.listTokens)
	h("GET /llm_gateway/tokens/{id}", a.getToken)
	h("PATCH /llm_gateway/tokens/{id}", a.updateToken)
	h("DELETE /llm_gateway/tokens/{id}", a.revokeToken)
	h("GET /llm_gateway/pricing", a.getPricing)
	h("PUT /llm_gateway/pricing", a.putPricing)
	h("GET /llm_gateway/providers/{name}/keys", a.listKeys)
	h("POST /llm_gateway/providers/{name}/keys", a.createKey)
	h("GET /llm_gateway/providers/{name}/keys/{id}", a.getKey)
	h("DELETE /llm_gateway/providers/{name}/keys/{id}", a.deleteKey)
	h("GET /llm_gateway/usage", a.usage)
	h("GET /llm_gateway/audit", a.audit)
	h("GET /llm_gateway/cache", a.cacheStats)
	h("DELETE /llm_gateway/cache", a.purgeCache)
	h("GET /llm_gateway/providers", a.providers)
	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, apiErr(http.StatusNotFound, "no such management endpoint: %s %s", r.Method, token.Redact(r.URL.Path)))
	})
	return a
}

// ServeHTTP serves one management request. It answers itself (errors
// included) and returns nil, so the admin server adds nothing.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) error {
	if err := checkRequest(r); err != nil {
		writeErr(w, err)
		return nil
	}
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodySize)
	}
	a.mux.ServeHTTP(w, r)
	return nil
}

// checkRequest refuses mutations that a browser could send cross-site:
// a body that is not JSON, or a foreign Origin.
func checkRequest(r *http.Request) error {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return nil
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return apiErr(http.StatusForbidden, "cross-origin management requests are refused (Origin %q)", o)
		}
	}
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return apiErr(http.StatusForbidden, "cross-site management requests are refused")
	}
	if r.ContentLength != 0 || r.Header.Get("Content-Type") != "" {
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if mt != "application/json" && (r.ContentLength > 0 || r.ContentLength == -1) {
			return apiErr(http.StatusUnsupportedMediaType, "management requests must send Content-Type: application/json")
		}
	}
	return nil
}

func apiErr(status int, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return caddy.APIError{HTTPStatus: status, Err: err, Message: err.Error()}
}

func writeErr(w http.ResponseWriter, err error) {
	var ae caddy.APIError
	if !errors.As(err, &ae) {
		switch {
		case errors.Is(err, storage.ErrNotFound):
			ae = caddy.APIError{HTTPStatus: http.StatusNotFound, Message: "not found"}
		case errors.Is(err, storage.ErrConflict):
			ae = caddy.APIError{HTTPStatus: http.StatusConflict, Message: err.Error()}
		case errors.Is(err, storage.ErrInvalid):
			ae = caddy.APIError{HTTPStatus: http.StatusBadRequest, Message: err.Error()}
		case errors.Is(err, storage.ErrClosed):
			ae = caddy.APIError{HTTPStatus: http.StatusServiceUnavailable, Message: "storage is closing; try again"}
		default:
			ae = caddy.APIError{HTTPStatus: http.StatusInternalServerError, Message: "internal error: " + err.Error()}
		}
	}
	if ae.Message == "" && ae.Err != nil {
		ae.Message = ae.Err.Error()
	}
	writeJSON(w, ae.HTTPStatus, map[string]string{"error": ae.Message})
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err = w.Write(b)
	return err
}

// decode reads a JSON body strictly: unknown fields and trailing data are
// errors.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return apiErr(http.StatusRequestEntityTooLarge, "request body is larger than %d bytes", MaxBodySize)
		}
		if err == io.EOF {
			return apiErr(http.StatusBadRequest, "request body is empty; send a JSON object")
		}
		return apiErr(http.StatusBadRequest, "invalid JSON body: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return apiErr(http.StatusBadRequest, "invalid JSON body: data after the object")
	}
	return nil
}

// page reads limit and cursor.
func page(r *http.Request) (storage.Page, error) {
	q := r.URL.Query()
	p := storage.Page{Cursor: q.Get("cursor")}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > storage.MaxPageSize {
			return p, apiErr(http.StatusBadRequest, "limit must be a whole number from 1 to %d", storage.MaxPageSize)
		}
		p.Limit = n
	}
	return p, nil
}

type list[T any] struct {
	Data []T    `json:"data"`
	Next string `json:"next"`
}

// ---- money and limits ----

// budgetJSON is a budget in dollars.
type budgetJSON struct {
	DailyUSD   float64 `json:"daily_usd,omitempty"`
	MonthlyUSD float64 `json:"monthly_usd,omitempty"`
}

func toMicro(field string, usd float64) (int64, error) {
	if math.IsNaN(usd) || math.IsInf(usd, 0) || usd < 0 || usd > 1e9 {
		return 0, apiErr(http.StatusBadRequest, "%s must be a number of dollars from 0 to 1e9", field)
	}
	return int64(math.Round(usd * 1e6)), nil
}

func (b budgetJSON) storage() (storage.Budget, error) {
	d, err := toMicro("budget.daily_usd", b.DailyUSD)
	if err != nil {
		return storage.Budget{}, err
	}
	m, err := toMicro("budget.monthly_usd", b.MonthlyUSD)
	return storage.Budget{DailyMicroUSD: d, MonthlyMicroUSD: m}, err
}

func budgetOf(b storage.Budget) budgetJSON {
	return budgetJSON{DailyUSD: float64(b.DailyMicroUSD) / 1e6, MonthlyUSD: float64(b.MonthlyMicroUSD) / 1e6}
}

// checkLimits validates rate limits: whole numbers ≥ 0 (0 = unlimited).
func checkLimits(field string, l *storage.Limits) error {
	if l == nil {
		return nil
	}
	if l.RPM < 0 || l.RPD < 0 || l.TPM < 0 {
		return apiErr(http.StatusBadRequest, "%s: rpm, rpd and tpm must be 0 (unlimited) or more", field)
	}
	return nil
}

// checkPolicy compiles a CEL policy: a policy that does not compile is
// refused with the compiler's message.
func checkPolicy(name, src string) error {
	if src == "" {
		return nil
	}
	if _, err := policy.Compile(name, src); err != nil {
		return apiErr(http.StatusBadRequest, "policy: %v", err)
	}
	return nil
}

var labelKey = regexp.MustCompile(`^[A-Za-z0-9_.\-/]{1,63}$`)

func checkLabels(l map[string]string) error {
	if len(l) > 64 {
		return apiErr(http.StatusBadRequest, "labels: at most 64")
	}
	for k, v := range l {
		if !labelKey.MatchString(k) {
			return apiErr(http.StatusBadRequest, "labels: key %q must be 1-63 characters of letters, digits, _ . - /", k)
		}
		if len(v) > 256 {
			return apiErr(http.StatusBadRequest, "labels: value of %q is longer than 256 characters", k)
		}
	}
	return nil
}

func checkName(field, n string) error {
	if strings.TrimSpace(n) == "" || len(n) > 128 || strings.ContainsFunc(n, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return apiErr(http.StatusBadRequest, "%s must be 1-128 printable characters", field)
	}
	return nil
}

// checkGlobs checks allowed_models entries: model names or globs (* and ?,
// as in routes).
func checkGlobs(globs []string) error {
	for _, g := range globs {
		if g == "" || len(g) > 256 {
			return apiErr(http.StatusBadRequest, "allowed_models: each entry must be a model name or glob of 1-256 characters")
		}
	}
	return nil
}

// ---- services ----

type serviceJSON struct {
	ID            string            `json:"id"`
	Name          string            `json:"name"`
	Active        bool              `json:"active"`
	AllowedModels []string          `json:"allowed_models"`
	Policy        string            `json:"policy,omitempty"`
	Limits        storage.Limits    `json:"limits"`
	Budget        budgetJSON        `json:"budget"`
	Labels        map[string]string `json:"labels"`
	PinnedKeys    map[string]string `json:"pinned_keys"`
	CreatedAt     time.Time         `json:"created_at"`
	UpdatedAt     time.Time         `json:"updated_at"`
}

func serviceOf(s *storage.Service) serviceJSON {
	j := serviceJSON{ID: s.ID, Name: s.Name, Active: s.Active, AllowedModels: s.AllowedModels, Policy: s.Policy,
		Limits: s.Limits, Budget: budgetOf(s.Budget), Labels: s.Labels, PinnedKeys: s.PinnedKeys,
		CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
	if j.AllowedModels == nil {
		j.AllowedModels = []string{}
	}
	if j.Labels == nil {
		j.Labels = map[string]string{}
	}
	if j.PinnedKeys == nil {
		j.PinnedKeys = map[string]string{}
	}
	return j
}

// serviceInput is the body of a create or update; nil fields are left
// unchanged by an update.
type serviceInput struct {
	Name          *string            `json:"name"`
	Active        *bool              `json:"active"`
	AllowedModels *[]string          `json:"allowed_models"`
	Policy        *string            `json:"policy"`
	Limits        *storage.Limits    `json:"limits"`
	Budget        *budgetJSON        `json:"budget"`
	Labels        *map[string]string `json:"labels"`
	PinnedKeys    *map[string]string `json:"pinned_keys"`
}

func (in *serviceInput) apply(ctx context.Context, st storage.Store, s *storage.Service) error {
	if in.Name != nil {
		if err := checkName("name", *in.Name); err != nil {
			return err
		}
		s.Name = *in.Name
	}
	if in.Policy != nil {
		if len(*in.Policy) > 16<<10 {
			return apiErr(http.StatusBadRequest, "policy: longer than 16 KB")
		}
		if err := checkPolicy("service "+s.Name, *in.Policy); err != nil {
			return err
		}
		s.Policy = *in.Policy
	}
	if in.Limits != nil {
		if err := checkLimits("limits", in.Limits); err != nil {
			return err
		}
		s.Limits = *in.Limits
	}
	if in.Budget != nil {
		b, err := in.Budget.storage()
		if err != nil {
			return err
		}
		s.Budget = b
	}
	if in.Active != nil {
		s.Active = *in.Active
	}
	if in.AllowedModels != nil {
		if err := checkGlobs(*in.AllowedModels); err != nil {
			return err
		}
		s.AllowedModels = *in.AllowedModels
	}
	if in.Labels != nil {
		if err := checkLabels(*in.Labels); err != nil {
			return err
		}
		s.Labels = *in.Labels
	}
	if in.PinnedKeys != nil {
		for provider, id := range *in.PinnedKeys {
			if _, err := st.GetProviderKey(ctx, provider, id); err != nil {
				if errors.Is(err, storage.ErrNotFound) {
					return apiErr(http.StatusBadRequest, "pinned_keys: provider %q has no stored key %q", provider, id)
				}
				return err
			}
		}
		s.PinnedKeys = *in.PinnedKeys
	}
	return nil
}

func (a *API) listServices(w http.ResponseWriter, r *http.Request, st storage.Store) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	ss, next, err := st.ListServices(r.Context(), p)
	if err != nil {
		return err
	}
	out := list[serviceJSON]{Data: make([]serviceJSON, 0, len(ss)), Next: next}
	for i := range ss {
		out.Data = append(out.Data, serviceOf(&ss[i]))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) createService(w http.ResponseWriter, r *http.Request, st storage.Store) error {
	var in serviceInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Name == nil {
		return apiErr(http.StatusBadRequest, "name is required")
	}
	s := &storage.Service{Active: true}
	if err := in.apply(r.Context(), st, s); err != nil {
		return err
	}
	if err := st.CreateService(r.Context(), s); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return apiErr(http.StatusConflict, "a service named %q already exists", s.Name)
		}
		return err
	}
	a.b.TokensChanged()
	return writeJSON(w, http.StatusCreated, serviceOf(s))
}

func (a *API) getService(w http.ResponseWriter, r *http.Request, st storage.Store) error {
	s, err := st.GetService(r.Context(), r.PathValue("id"))
	if err != nil {
		return notFound(err, "service", r.PathValue("id"))
	}
	return writeJSON(w, http.StatusOK, serviceOf(s))
}

func notFound(err error, what, id string) error {
	if errors.Is(err, storage.ErrNotFound) {
		return apiErr(http.StatusNotFound, "no %s with id %q", what, token.Redact(id))
	}
	return err
}

func (a *API) updateService(w http.ResponseWriter, r *http.Request, st storage.Store) error {
	var in serviceInput
	if err := decode(r, &in); err != nil {
		return err
	}
	s, err := st.GetService(r.Context(), r.PathValue("id"))
	if err != nil {
		return notFound(err, "service", r.PathValue("id"))
	}
	if err := in.apply(r.Context(), st, s); err != nil {
		return err
	}
	if err := st.UpdateService(r.Context(), s); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return apiErr(http.StatusConflict, "a service named %q already exists", s.Name)
		}
		return err
	}
	a.b.TokensChanged()
	return writeJSON(w, http.StatusOK, serviceOf(s))
}

func (a *API) deactivateService(w http.ResponseWriter, r *http.Request, st storage.Store) error {
	s, err := st.GetService(r.Context(), r.PathValue("id"))
	if err != nil {
		return notFound(err, "service", r.PathValue("id"))
	}
	s.Active = false
	if err := st.UpdateService(r.Context(), s); err != nil {
		return err
	}
	a.b.TokensChanged()
	return writeJSON(w, http.StatusOK, serviceOf(s))
}

// ---- tokens ----

type tokenJSON struct {
	ID        string            `json:"id"`
	Token     string            `json:"token,omitempty"` // the plaintext, only in the answer to a create
	ServiceID string            `json:"service_id"`
	Name      string            `json:"name"`
	Prefix    string            `json:"prefix"`
	Labels    map[string]string `json:"labels"`
	Limits    storage.Limits    `json:"limits"`
	Budget    budgetJSON        `json:"budget"`
	CreatedAt time.Time         `json:"created_at"`
	ExpiresAt *time.Time        `json:"expires_at"`
	LastUsed  *time.Time        `json:"last_used_at"`
	Revoked   bool              `json:"revoked"`
	RevokedAt *time.Time        `json:"revoked_at"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func tokenOf(t *storage.Token) tokenJSON {
	j := tokenJSON{ID: t.ID, ServiceID: t.ServiceID, Name: t.Name, Prefix: t.Prefix, Labels: t.Labels, Limits: t.Limits, Budget: budgetOf(t.Budget),
		CreatedAt: t.CreatedAt, ExpiresAt: timePtr(t.ExpiresAt), LastUsed: timePtr(t.LastUsed), Revoked: t.Revoked,
		RevokedAt: timePtr(t.RevokedAt)}
	if j.Labels == nil {
		j.Labels = map[string]string{}
	}
	return j
}

type tokenInput struct {
	Name      *string            `json:"name"`
	ExpiresIn *string            `json:"expires_in"`
	ExpiresAt *time.Time         `json:"expires_at"`
	Limits    *storage.Limits    `json:"limits"`
	Budget    *budgetJSON        `json:"budget"`
	Labels    *map[string]string `json:"labels"`
}

func (in *tokenInput) apply(t *storage.Token, now time.Time) error {
	if in.Limits != nil {
		if err := checkLimits("limits", in.Limits); err != nil {
			return err
		}
		t.Limits = *in.Limits
	}
	if in.Budget != nil {
		b, err := in.Budget.storage()
		if err != nil {
			return err
		}
		t.Budget = b
	}
	if in.Name != nil {
		if err := checkName("name", *in.Name); err != nil {
			return err
		}
		t.Name = *in.Name
	}
	if in.ExpiresIn != nil && in.ExpiresAt != nil {
		return apiErr(http.StatusBadRequest, "give expires_in or expires_at, not both")
	}
	if in.ExpiresIn != nil {
		d, err := caddy.ParseDuration(*in.ExpiresIn)
		if err != nil || d <= 0 {
			return apiErr(http.StatusBadRequest, "expires_in must be a positive duration such as \"720h\" or \"30d\"")
		}
		t.ExpiresAt = now.Add(d).UTC()
	}
	if in.ExpiresAt != nil {
		if !in.ExpiresAt.After(now) {
			return apiErr(http.StatusBadRequest, "expires_at must be in the future")
		}
		if in.ExpiresAt.UTC().Year() > 9999 {
			return apiErr(http.StatusBadRequest, "expires_at must be before the year 10000")
		}
		t.ExpiresAt = in.ExpiresAt.UTC()
	}
	if in.Labels != nil {
		if err := checkLabels(*in.Labels); err != nil {
			return err
		}
		t.Labels = *in.Labels
	}
	return nil
}

func (a *API) createToken(w http.ResponseWriter, r *http.Request, st storage.Store) error {
	var in tokenInput
	if err := decode(r, &in); err != nil {
		return err
	}
	svcID := r.PathValue("id")
	if _, err := st.GetService(r.Context(), svcID); err != nil {
		return notFound(err, "service", svcID)
	}
	t := &storage.Token{ServiceID: svcID, Name: "default"}
	if err := in.apply(t, time.Now()); err != nil {
		return err
	}
	plain, hash, err := token.New()
	if err != nil {
		return fmt.Errorf("generating a token: %w", err)
	}
	t.Hash, t.Prefix = hash, token.Display(plain)
	if err := st.CreateToken(r.Context(), t); err != nil {
		return notFound(err, "service", svcID)
	}
	a.b.TokensChanged()
	out := tokenOf(t)
	out.Token = plain
	return writeJSON(w, http.StatusCreated, out)
}

func (a *API) revokeServiceTokens(w http.ResponseWriter, r *http.Request, st storage.Store) error {
	svcID := r.PathValue("id")
	if _, err := st.GetService(r.Context(), svcID); err != nil {
		return notFound(err, "service", svcID)
	}
	n, err := st.RevokeServiceTokens(r.Context(), svcID, time.Now().UTC())
	if err != nil {
		return err
	}
	a.b.TokensChanged()
	return writeJSON(w, http.StatusOK, map[string]int{"revoked": n})
}

func (a *API) listTokens(w http.ResponseWriter, r *http.Request, st storage.Store) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	ts, next, err := st.ListTokens(r.Context(), r.URL.Query().Get("service"), p)
	if err != nil {
		return err
	}
	out := list[tokenJSON]{Data: make([]tokenJSON, 0, len(ts)), Next: next}
	for i := range ts {
		out.Data = append(out.Data, tokenOf(&ts[i]))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) getToken(w http.ResponseWriter, r *http.Request, st storage.Store) error {
	t, err := st.GetToken(r.Context(), r.PathValue("id"))
	if err != nil {
		return notFound(err, "token", r.PathValue("id"))
	}
	return writeJSON(w, http.StatusOK, tokenOf(t))
}

func (a *API) updateToken(w http.ResponseWriter, r *http.Request, st storage.Store) error {
	var in tokenInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.ExpiresIn != nil {
		return apiErr(http.StatusBadRequest, "expires_in is for creating a token; to change the expiry send expires_at")
	}
	t, err := st.GetToken(r.Context(), r.PathValue("id"))
	if err != nil {
		return notFound(err, "token", r.PathValue("id"))
	}
	if err := in.apply(t, time.Now()); err != nil {
		return err
	}
	if err := st.UpdateToken(r.Context(), t); err != nil {
		return err
	}
	a.b.TokensChanged()
	return writeJSON(w, http.StatusOK, tokenOf(t))
}

func (a *API) revokeToken(w http.ResponseWriter, r *http.Request, st storage.Store) error {
	t, err := st.GetToken(r.Context(), r.PathValue("id"))
	if err != nil {
		return notFound(err, "token", r.PathValue("id"))
	}
	if !t.Revoked {
		t.Revoked, t.RevokedAt = true, time.Now().UTC()
		if err := st.UpdateToken(r.Context(), t); err != nil {
			return err
		}
	}
	a.b.TokensChanged()
	return writeJSON(w, http.StatusOK, tokenOf(t))
}

// ---- provider keys ----

var providerName = regexp.MustCompile(`^[A-Za-z0-9_.\-]{1,64}$`)

type keyJSON struct {
	ID        string    `json:"id"`
	Provider  string    `json:"provider"`
	Label     string    `json:"label"`
	Priority  int       `json:"priority"`
	Last4     string    `json:"last4"`
	BaseURL   string    `json:"base_url,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

func keyOf(k *storage.ProviderKey) keyJSON {
	return keyJSON{ID: k.ID, Provider: k.Provider, Label: k.Label, Priority: k.Priority, Last4: k.Last4,
		BaseURL: k.BaseURL, CreatedAt: k.CreatedAt}
}

func providerParam(r *http.Request) (string, error) {
	p := r.PathValue("name")
	if !providerName.MatchString(p) || strings.Trim(p, ".") == "" {
		return "", apiErr(http.StatusBadRequest, "provider name must be 1-64 letters, digits, _ . -")
	}
	return p, nil
}

// KeyAAD binds a sealed provider key to its provider.
func KeyAAD(provider string) []byte { return []byte("llm_gateway provider key/" + provider) }

func (a *API) listKeys(w http.ResponseWriter, r *http.Request, st storage.Store) error {
	p, err := providerParam(r)
	if err != nil {
		return err
	}
	ks, err := st.ListProviderKeys(r.Context(), p)
	if err != nil {
		return err
	}
	out := list[keyJSON]{Data: make([]keyJSON, 0, len(ks))}
	for i := range ks {
		out.Data = append(out.Data, keyOf(&ks[i]))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) getKey(w http.ResponseWriter, r *http.Request, st storage.Store) error {
	p, err := providerParam(r)
	if err != nil {
		return err
	}
	k, err := st.GetProviderKey(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return notFound(err, "key", r.PathValue("id"))
	}
	return writeJSON(w, http.StatusOK, keyOf(k))
}

func (a *API) createKey(w http.ResponseWriter, r *http.Request, st storage.Store) error {
	p, err := providerParam(r)
	if err != nil {
		return err
	}
	var in struct {
		Key      string `json:"key"`
		Label    string `json:"label"`
		Priority int    `json:"priority"`
		BaseURL  string `json:"base_url"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if len(in.Key) < 8 || len(in.Key) > 4096 || strings.ContainsFunc(in.Key, func(r rune) bool { return r <= 0x20 || r == 0x7f }) {
		return apiErr(http.StatusBadRequest, "key must be 8-4096 printable characters without spaces")
	}
	if in.Label == "" {
		in.Label = "default"
	}
	if err := checkName("label", in.Label); err != nil {
		return err
	}
	if in.Priority < 0 || in.Priority > 1000 {
		return apiErr(http.StatusBadRequest, "priority must be from 0 (preferred) to 1000")
	}
	if in.BaseURL != "" {
		if _, err := provider.ParseBaseURL(in.BaseURL); err != nil {
			return apiErr(http.StatusBadRequest, "%v", err)
		}
	}
	sealer := a.b.Sealer()
	if !sealer.CanSeal() {
		return apiErr(http.StatusBadRequest, "%s", seal.ErrNoKey.Error())
	}
	sealed, err := sealer.Seal([]byte(in.Key), KeyAAD(p))
	if err != nil {
		return fmt.Errorf("sealing the key: %w", err)
	}
	k := &storage.ProviderKey{Provider: p, Label: in.Label, Priority: in.Priority, Sealed: sealed,
		Last4: in.Key[len(in.Key)-4:], BaseURL: strings.TrimRight(in.BaseURL, "/")}
	if err := st.CreateProviderKey(r.Context(), k); err != nil {
		return err
	}
	a.b.KeysChanged()
	return writeJSON(w, http.StatusCreated, keyOf(k))
}

func (a *API) deleteKey(w http.ResponseWriter, r *http.Request, st storage.Store) error {
	p, err := providerParam(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := st.DeleteProviderKey(r.Context(), p, id); err != nil {
		return notFound(err, "key", id)
	}
	a.b.KeysChanged()
	w.WriteHeader(http.StatusNoContent)
	return nil
}
