package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/admin"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/health"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/pricing"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/seal"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/token"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/storage"
)

// ---- test backend and HTTP helpers ----

// apiBackend is an admin.Backend over a real Badger store in a temporary
// directory, counting change notifications.
type apiBackend struct {
	st            *storage.Badger
	sealer        *seal.Sealer
	tokensChanged atomic.Int64
	keysChanged   atomic.Int64
	prices        map[string]pricing.Price
	health        *health.Tracker
}

func (b *apiBackend) Store(context.Context) (storage.Store, error) { return b.st, nil }
func (b *apiBackend) Sealer() *seal.Sealer                         { return b.sealer }
func (b *apiBackend) TokensChanged()                               { b.tokensChanged.Add(1) }
func (b *apiBackend) KeysChanged()                                 { b.keysChanged.Add(1) }
func (b *apiBackend) Prices() map[string]pricing.Price             { return b.prices }
func (b *apiBackend) SetPrices(p map[string]pricing.Price)         { b.prices = p }
func (b *apiBackend) FlushAudit(context.Context) error             { return nil }
func (b *apiBackend) Usage(ctx context.Context, scope, window string, from, to time.Time) ([]storage.UsageTotal, error) {
	return b.st.UsageHistory(ctx, scope, window, from, to)
}
func (b *apiBackend) CacheStats(ctx context.Context) any {
	n, size, err := b.st.CacheStats(ctx)
	if err != nil {
		return map[string]string{"error": err.Error()}
	}
	return map[string]int64{"stored_entries": int64(n), "stored_bytes": size}
}
func (b *apiBackend) PurgeCache(ctx context.Context) (int, error) { return b.st.PurgeCache(ctx) }
func (b *apiBackend) Health(context.Context) any                  { return b.health.Snapshot() }

// apiEnv is an API served over HTTP with its backend.
type apiEnv struct {
	t   *testing.T
	b   *apiBackend
	dir string // the Badger directory
	srv *httptest.Server

	mu      sync.Mutex
	secrets []string // must not appear in any later answer
}

// newAPIEnv serves an API over a fresh store; withSealer gives it an
// encryption key.
func newAPIEnv(t *testing.T, withSealer bool) *apiEnv {
	t.Helper()
	dir := t.TempDir()
	st, err := storage.Open(dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	b := &apiBackend{st: st, health: health.New(health.Options{})}
	if withSealer {
		key := bytes.Repeat([]byte{0x5a}, 32)
		if b.sealer, err = seal.New(key); err != nil {
			t.Fatal(err)
		}
	}
	api := admin.NewAPI(b)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := api.ServeHTTP(w, r); err != nil {
			t.Errorf("ServeHTTP returned %v; the API must answer itself", err)
		}
	}))
	t.Cleanup(srv.Close) // runs before the store is closed
	return &apiEnv{t: t, b: b, dir: dir, srv: srv}
}

// addSecret records a string that no answer (nor the store's files) may
// contain from now on.
func (e *apiEnv) addSecret(s string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.secrets = append(e.secrets, s)
}

func (e *apiEnv) secretList() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.secrets...)
}

// apiResp is an answer of the API.
type apiResp struct {
	status int
	header http.Header
	body   []byte
}

// decode decodes the JSON body into v.
func (r apiResp) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

// reqOpt changes a request before it is sent.
type reqOpt func(*http.Request)

func withHeader(k, v string) reqOpt { return func(r *http.Request) { r.Header.Set(k, v) } }

// noContentType sends the body without a Content-Type.
func noContentType(r *http.Request) { r.Header.Del("Content-Type") }

// do sends a request. body is nil (no body), a string (sent as is) or a
// value marshalled to JSON; a body goes with Content-Type application/json
// unless an option changes it. Every answer is checked: no recorded secret
// in it, and an error answer is {"error": "..."} with a 4xx status.
func (e *apiEnv) do(method, path string, body any, opts ...reqOpt) apiResp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, o := range opts {
		o(req)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	rb, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	r := apiResp{status: res.StatusCode, header: res.Header, body: rb}
	for _, s := range e.secretList() {
		if bytes.Contains(rb, []byte(s)) {
			e.t.Errorf("%s %s: answer %d contains the secret %q: %s", method, path, r.status, s, rb)
		}
	}
	if r.status >= 400 {
		checkErrorShape(e.t, method+" "+path, r)
	}
	return r
}

// checkErrorShape checks that r is a 4xx {"error": "<non-empty>"} answer.
func checkErrorShape(t *testing.T, what string, r apiResp) {
	t.Helper()
	if r.status < 400 || r.status > 499 {
		t.Errorf("%s: status %d, want a 4xx error: %s", what, r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: error Content-Type %q, want application/json: %s", what, ct, r.body)
	}
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Errorf("%s: error answer is not a JSON object: %v: %q", what, err, r.body)
		return
	}
	msg, ok := m["error"].(string)
	if len(m) != 1 || !ok || msg == "" {
		t.Errorf(`%s: error answer is not {"error": "<message>"}: %s`, what, r.body)
	}
}

// wantStatus fails the test unless r has the status.
func wantStatus(t *testing.T, what string, r apiResp, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, r.status, status, r.body)
	}
}

// wantError checks that r is an error answer with the status whose message
// contains every one of parts (case-insensitive).
func wantError(t *testing.T, what string, r apiResp, status int, parts ...string) {
	t.Helper()
	if r.status != status {
		t.Errorf("%s: status %d, want %d: %s", what, r.status, status, r.body)
		return
	}
	var m struct{ Error string }
	_ = json.Unmarshal(r.body, &m)
	for _, p := range parts {
		if !strings.Contains(strings.ToLower(m.Error), strings.ToLower(p)) {
			t.Errorf("%s: error %q does not mention %q", what, m.Error, p)
		}
	}
}

// counts returns the TokensChanged and KeysChanged counts.
func (e *apiEnv) counts() (tokens, keys int64) {
	return e.b.tokensChanged.Load(), e.b.keysChanged.Load()
}

// Records as the API shows them.
type (
	apiService struct {
		ID            string            `json:"id"`
		Name          string            `json:"name"`
		Active        bool              `json:"active"`
		AllowedModels []string          `json:"allowed_models"`
		Labels        map[string]string `json:"labels"`
		PinnedKeys    map[string]string `json:"pinned_keys"`
		CreatedAt     time.Time         `json:"created_at"`
		UpdatedAt     time.Time         `json:"updated_at"`
	}
	apiToken struct {
		ID        string            `json:"id"`
		Token     string            `json:"token"`
		ServiceID string            `json:"service_id"`
		Name      string            `json:"name"`
		Prefix    string            `json:"prefix"`
		Labels    map[string]string `json:"labels"`
		CreatedAt time.Time         `json:"created_at"`
		ExpiresAt *time.Time        `json:"expires_at"`
		Revoked   bool              `json:"revoked"`
		RevokedAt *time.Time        `json:"revoked_at"`
	}
	apiKey struct {
		ID        string    `json:"id"`
		Provider  string    `json:"provider"`
		Label     string    `json:"label"`
		Priority  int       `json:"priority"`
		Last4     string    `json:"last4"`
		CreatedAt time.Time `json:"created_at"`
	}
	apiList[T any] struct {
		Data []T    `json:"data"`
		Next string `json:"next"`
	}
)

func (e *apiEnv) createService(name string) apiService {
	e.t.Helper()
	r := e.do("POST", "/llm_gateway/services", map[string]any{"name": name})
	wantStatus(e.t, "creating service "+name, r, http.StatusCreated)
	var s apiService
	r.decode(e.t, &s)
	return s
}

// createToken mints a token and records its plaintext as a secret.
func (e *apiEnv) createToken(serviceID string, body map[string]any) apiToken {
	e.t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	r := e.do("POST", "/llm_gateway/services/"+serviceID+"/tokens", body)
	wantStatus(e.t, "creating token", r, http.StatusCreated)
	var tok apiToken
	r.decode(e.t, &tok)
	if tok.Token == "" {
		e.t.Fatalf("create answer has no token: %s", r.body)
	}
	e.addSecret(tok.Token)
	return tok
}

// createKey stores a provider key, recording it as a secret first.
func (e *apiEnv) createKey(provider, key string, priority int) apiKey {
	e.t.Helper()
	e.addSecret(key)
	r := e.do("POST", "/llm_gateway/providers/"+provider+"/keys", map[string]any{"key": key, "priority": priority})
	wantStatus(e.t, "creating key", r, http.StatusCreated)
	var k apiKey
	r.decode(e.t, &k)
	return k
}

func getJSON[T any](e *apiEnv, path string) T {
	e.t.Helper()
	r := e.do("GET", path, nil)
	wantStatus(e.t, "GET "+path, r, http.StatusOK)
	var v T
	r.decode(e.t, &v)
	return v
}

// checkFilesLack reads every file under dir and fails if one contains a
// secret; canary must be found somewhere, proving the data is on disk in
// readable form.
func checkFilesLack(t *testing.T, dir, canary string, secrets []string) {
	t.Helper()
	foundCanary := false
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(canary)) {
			foundCanary = true
		}
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("file %s contains the secret %q", path, s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !foundCanary {
		t.Fatalf("canary %q is in no file under %s: the scan proves nothing", canary, dir)
	}
}

// unknownID returns a well-formed ID that no record has.
func unknownID(prefix string) string { return storage.NewID(prefix) }

// ---- services ----

func TestAPIServiceCreate(t *testing.T) {
	e := newAPIEnv(t, false)
	e.createService("taken")
	huge := `{"name": "big", "labels": {"a": "` + strings.Repeat("x", admin.MaxBodySize) + `"}}`

	tests := []struct {
		name   string
		body   any // as for apiEnv.do
		status int
		msg    []string // parts of the error message
	}{
		{"minimal", `{"name": "billing"}`, 201, nil},
		{"full", map[string]any{"name": "search", "allowed_models": []string{"gpt-4o*", "claude-?"},
			"labels": map[string]string{"team": "search"}, "active": false}, 201, nil},
		{"name of 128", map[string]any{"name": strings.Repeat("n", 128)}, 201, nil},
		{"zero limits, budget and policy", `{"name": "zeros", "limits": {}, "budget": {"daily_usd": 0}, "policy": ""}`, 201, nil},
		{"duplicate name", `{"name": "taken"}`, 409, []string{"taken", "already exists"}},
		{"no name", `{"allowed_models": []}`, 400, []string{"name is required"}},
		{"empty name", `{"name": ""}`, 400, []string{"name must be"}},
		{"blank name", `{"name": "   "}`, 400, []string{"name must be"}},
		{"control character in name", `{"name": "a\nb"}`, 400, []string{"name must be"}},
		{"name of 129", map[string]any{"name": strings.Repeat("n", 129)}, 400, []string{"1-128"}},
		{"unknown field", `{"name": "x", "nmae": "y"}`, 400, []string{`unknown field "nmae"`}},
		{"invalid JSON", `{"name": `, 400, []string{"invalid JSON"}},
		{"not an object", `["name"]`, 400, []string{"invalid JSON"}},
		{"wrong type", `{"name": 5}`, 400, []string{"invalid JSON"}},
		{"data after the object", `{"name": "x"} {}`, 400, []string{"data after"}},
		{"empty body", "", 400, []string{"empty"}},
		{"body over 1 MiB", huge, 413, []string{"larger than"}},
		{"negative limits", `{"name": "x", "limits": {"rpm": -1}}`, 400, []string{"limits", "0 (unlimited)"}},
		{"negative budget", `{"name": "x", "budget": {"daily_usd": -1}}`, 400, []string{"budget"}},
		{"policy that does not compile", `{"name": "x", "policy": "request.model =="}`, 400, []string{"policy"}},
		{"policy that is not a bool", `{"name": "x", "policy": "1 + 1"}`, 400, []string{"policy"}},
		{"policy on an unknown variable", `{"name": "x", "policy": "requests.model == 'a'"}`, 400, []string{"policy", "requests"}},
		{"bad label key", `{"name": "x", "labels": {"a b": "c"}}`, 400, []string{"labels"}},
		{"empty model glob", `{"name": "x", "allowed_models": [""]}`, 400, []string{"allowed_models"}},
		{"unknown pinned key", map[string]any{"name": "x", "pinned_keys": map[string]string{"openai": unknownID("pk")}},
			400, []string{"pinned_keys", "openai"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			r := e.do("POST", "/llm_gateway/services", tt.body)
			if tt.status != 201 {
				wantError(t, tt.name, r, tt.status, tt.msg...)
				return
			}
			wantStatus(t, tt.name, r, 201)
			var raw map[string]json.RawMessage
			r.decode(t, &raw)
			var s apiService
			r.decode(t, &s)
			if !strings.HasPrefix(s.ID, "svc_") || s.CreatedAt.IsZero() || !s.UpdatedAt.Equal(s.CreatedAt) {
				t.Errorf("bad id or times: %s", r.body)
			}
			if _, ok := raw["policy"]; ok {
				t.Errorf("empty policy is shown: %s", r.body)
			}
			if tt.name == "minimal" {
				if !s.Active || s.Name != "billing" {
					t.Errorf("defaults: %s", r.body)
				}
				for field, want := range map[string]string{"allowed_models": "[]", "labels": "{}", "pinned_keys": "{}",
					"limits": "{}", "budget": "{}"} {
					if got := string(raw[field]); got != want {
						t.Errorf("%s = %s, want %s", field, got, want)
					}
				}
			}
			// It reads back the same.
			if got := getJSON[apiService](e, "/llm_gateway/services/"+s.ID); got.Name != s.Name || got.Active != s.Active {
				t.Errorf("read back %+v, created %+v", got, s)
			}
		})
	}
}

func TestAPIServiceReadUpdateDeactivate(t *testing.T) {
	e := newAPIEnv(t, false)
	s := e.createService("billing")
	e.createService("other")
	path := "/llm_gateway/services/" + s.ID

	got := getJSON[apiService](e, path)
	if got.ID != s.ID || got.Name != "billing" || !got.Active || !got.CreatedAt.Equal(s.CreatedAt) {
		t.Fatalf("GET = %+v, created %+v", got, s)
	}

	r := e.do("PATCH", path, map[string]any{"name": "billing-v2", "allowed_models": []string{"gpt-4o"},
		"labels": map[string]string{"team": "pay"}})
	wantStatus(t, "PATCH", r, 200)
	var up apiService
	r.decode(t, &up)
	if up.Name != "billing-v2" || len(up.AllowedModels) != 1 || up.Labels["team"] != "pay" || !up.Active ||
		!up.CreatedAt.Equal(s.CreatedAt) || up.UpdatedAt.Before(s.UpdatedAt) {
		t.Errorf("PATCH = %s", r.body)
	}
	// An empty PATCH changes nothing but the update time.
	r = e.do("PATCH", path, `{}`)
	wantStatus(t, "empty PATCH", r, 200)
	if got := getJSON[apiService](e, path); got.Name != "billing-v2" || got.Labels["team"] != "pay" {
		t.Errorf("after empty PATCH: %+v", got)
	}
	// The old name is free again.
	e.createService("billing")

	for _, tt := range []struct {
		name, body string
		status     int
		msg        string
	}{
		{"rename to a taken name", `{"name": "other"}`, 409, "already exists"},
		{"empty name", `{"name": ""}`, 400, "name"},
		{"unknown field", `{"id": "svc_x"}`, 400, `unknown field "id"`},
		{"invalid JSON", `{`, 400, "invalid JSON"},
		{"negative limits", `{"limits": {"tpm": -1000}}`, 400, "limits"},
		{"negative budget", `{"budget": {"daily_usd": -1.5}}`, 400, "budget"},
		{"policy that does not compile", `{"policy": "request.model !="}`, 400, "policy"},
	} {
		wantError(t, tt.name, e.do("PATCH", path, tt.body), tt.status, tt.msg)
	}
	if got := getJSON[apiService](e, path); got.Name != "billing-v2" {
		t.Errorf("a refused PATCH changed the service: %+v", got)
	}

	// Deactivate: active false, still readable and listed.
	r = e.do("DELETE", path, nil)
	wantStatus(t, "DELETE", r, 200)
	var del apiService
	r.decode(t, &del)
	if del.Active || del.ID != s.ID {
		t.Errorf("DELETE = %s", r.body)
	}
	if got := getJSON[apiService](e, path); got.Active || got.Name != "billing-v2" {
		t.Errorf("after DELETE: %+v", got)
	}
	// And can be reactivated.
	r = e.do("PATCH", path, `{"active": true}`)
	wantStatus(t, "reactivate", r, 200)
	if got := getJSON[apiService](e, path); !got.Active {
		t.Errorf("after reactivation: %+v", got)
	}

	for _, id := range []string{unknownID("svc"), "nope", "svc_", unknownID("tok")} {
		for _, m := range []struct{ method, body string }{{"GET", ""}, {"PATCH", `{"name": "z"}`}, {"DELETE", ""}} {
			var body any
			if m.body != "" {
				body = m.body
			}
			wantError(t, m.method+" "+id, e.do(m.method, "/llm_gateway/services/"+id, body), 404, "no service")
		}
	}
}

func TestAPIServiceList(t *testing.T) {
	e := newAPIEnv(t, false)
	var want []string
	for _, n := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		want = append(want, e.createService("svc-"+n).ID)
	}

	all := getJSON[apiList[apiService]](e, "/llm_gateway/services")
	if len(all.Data) != len(want) || all.Next != "" {
		t.Fatalf("unpaged list: %d records, next %q", len(all.Data), all.Next)
	}

	var got []string
	cursor, pages := "", 0
	for {
		p := getJSON[apiList[apiService]](e, "/llm_gateway/services?limit=3&cursor="+cursor)
		pages++
		for _, s := range p.Data {
			got = append(got, s.ID)
		}
		if p.Next == "" {
			break
		}
		if len(p.Data) != 3 {
			t.Fatalf("page %d has %d records and a next cursor", pages, len(p.Data))
		}
		cursor = p.Next
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
	}
	if pages != 3 || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("pages = %d, ids = %v, want 3 pages of %v", pages, got, want)
	}

	// A page that ends exactly at the last record.
	p := getJSON[apiList[apiService]](e, "/llm_gateway/services?limit=7")
	if len(p.Data) != 7 {
		t.Errorf("limit=7: %d records", len(p.Data))
	}
	if p.Next != "" {
		// Allowed only if the page after it is empty and final.
		q := getJSON[apiList[apiService]](e, "/llm_gateway/services?limit=7&cursor="+p.Next)
		if len(q.Data) != 0 || q.Next != "" {
			t.Errorf("after the last record: %+v", q)
		}
	}
	if p := getJSON[apiList[apiService]](e, "/llm_gateway/services?limit=1000"); len(p.Data) != 7 {
		t.Errorf("limit=1000: %d records", len(p.Data))
	}
	// An empty list is [], not null.
	empty := newAPIEnv(t, false)
	if r := empty.do("GET", "/llm_gateway/services", nil); !bytes.Equal(r.body, []byte(`{"data":[],"next":""}`)) {
		t.Errorf("empty list = %s", r.body)
	}

	for _, l := range []string{"0", "-1", "abc", "1001", "1.5", "%20"} {
		wantError(t, "limit="+l, e.do("GET", "/llm_gateway/services?limit="+l, nil), 400, "limit")
		wantError(t, "tokens limit="+l, e.do("GET", "/llm_gateway/tokens?limit="+l, nil), 400, "limit")
	}
}

// ---- tokens ----

func TestAPITokenCreate(t *testing.T) {
	e := newAPIEnv(t, false)
	svc := e.createService("billing")
	before := time.Now()

	tok := e.createToken(svc.ID, map[string]any{"name": "ci", "labels": map[string]string{"env": "ci"}})
	if _, err := token.Check(tok.Token); err != nil {
		t.Errorf("token %q does not pass token.Check: %v", tok.Token, err)
	}
	if len(tok.Token) != token.Len || !strings.HasPrefix(tok.Token, token.Prefix) {
		t.Errorf("token %q is not llmgw_ + %d characters", tok.Token, token.Len-len(token.Prefix))
	}
	if tok.Prefix == "" || !strings.HasPrefix(tok.Token, tok.Prefix) || len(tok.Prefix) >= len(tok.Token) {
		t.Errorf("prefix %q is not a proper prefix of the token", tok.Prefix)
	}
	if !strings.HasPrefix(tok.ID, "tok_") || tok.ServiceID != svc.ID || tok.Name != "ci" || tok.Labels["env"] != "ci" ||
		tok.ExpiresAt != nil || tok.Revoked || tok.RevokedAt != nil || tok.CreatedAt.Before(before.Add(-time.Second)) {
		t.Errorf("created token = %+v", tok)
	}
	// The stored hash is the token's.
	h, _ := token.Check(tok.Token)
	if st, err := e.b.st.GetTokenByHash(context.Background(), h); err != nil || st.ID != tok.ID {
		t.Errorf("GetTokenByHash = %v, %v", st, err)
	}
	// Default name.
	if def := e.createToken(svc.ID, nil); def.Name != "default" || def.Token == tok.Token {
		t.Errorf("default token = %+v", def)
	}

	tests := []struct {
		name   string
		body   string
		status int
		msg    string
		expiry time.Duration // for 201: expected time from now to expires_at
		at     string        // for 201: expected expires_at
	}{
		{name: "expires_in hours", body: `{"expires_in": "720h"}`, status: 201, expiry: 720 * time.Hour},
		{name: "expires_in days", body: `{"expires_in": "30d"}`, status: 201, expiry: 720 * time.Hour},
		{name: "expires_in mixed", body: `{"expires_in": "1h30m"}`, status: 201, expiry: 90 * time.Minute},
		{name: "expires_at", body: `{"expires_at": "2099-01-02T03:04:05+02:00"}`, status: 201, at: "2099-01-02T01:04:05Z"},
		{name: "both", body: `{"expires_in": "1h", "expires_at": "2099-01-01T00:00:00Z"}`, status: 400, msg: "not both"},
		{name: "past expires_at", body: `{"expires_at": "2001-01-01T00:00:00Z"}`, status: 400, msg: "future"},
		{name: "garbage expires_at", body: `{"expires_at": "tomorrow"}`, status: 400, msg: "invalid JSON"},
		{name: "expires_at past year 9999 in UTC", body: `{"expires_at": "9999-12-31T23:59:59-23:00"}`, status: 400, msg: "expires_at"},
		{name: "garbage expires_in", body: `{"expires_in": "soon"}`, status: 400, msg: "expires_in"},
		{name: "negative expires_in", body: `{"expires_in": "-1h"}`, status: 400, msg: "expires_in"},
		{name: "zero expires_in", body: `{"expires_in": "0s"}`, status: 400, msg: "expires_in"},
		{name: "overflowing expires_in", body: `{"expires_in": "1e9d"}`, status: 400, msg: "expires_in"},
		{name: "negative limits", body: `{"limits": {"rpm": -5}}`, status: 400, msg: "limits"},
		{name: "empty name", body: `{"name": ""}`, status: 400, msg: "name"},
		{name: "bad label", body: `{"labels": {"": "x"}}`, status: 400, msg: "labels"},
		{name: "unknown field", body: `{"service_id": "x"}`, status: 400, msg: "unknown field"},
		{name: "invalid JSON", body: `{"name"`, status: 400, msg: "invalid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			r := e.do("POST", "/llm_gateway/services/"+svc.ID+"/tokens", tt.body)
			if tt.status != 201 {
				wantError(t, tt.name, r, tt.status, tt.msg)
				return
			}
			wantStatus(t, tt.name, r, 201)
			var tok apiToken
			r.decode(t, &tok)
			e.addSecret(tok.Token)
			if tok.ExpiresAt == nil {
				t.Fatalf("no expires_at: %s", r.body)
			}
			if tt.at != "" {
				if got := tok.ExpiresAt.Format(time.RFC3339); got != tt.at {
					t.Errorf("expires_at = %s, want %s", got, tt.at)
				}
				return
			}
			if d := time.Until(*tok.ExpiresAt) - tt.expiry; d > 0 || d < -time.Minute {
				t.Errorf("expires_at = %s, want about now + %s", tok.ExpiresAt, tt.expiry)
			}
		})
	}
	e.t = t

	for _, id := range []string{unknownID("svc"), "nope"} {
		wantError(t, "unknown service", e.do("POST", "/llm_gateway/services/"+id+"/tokens", `{}`), 404, "no service")
	}
}

func TestAPITokenSecretNeverShownAgain(t *testing.T) {
	e := newAPIEnv(t, false)
	svc := e.createService("canary-service-name")
	tok := e.createToken(svc.ID, map[string]any{"name": "t1"})
	other := e.createToken(svc.ID, map[string]any{"name": "t2", "expires_in": "1h"})
	// Every answer from here on is checked by e.do for both plaintexts.
	for _, p := range []string{"/llm_gateway/tokens", "/llm_gateway/tokens?service=" + svc.ID, "/llm_gateway/tokens/" + tok.ID} {
		r := e.do("GET", p, nil)
		wantStatus(t, p, r, 200)
		if bytes.Contains(r.body, []byte(`"token"`)) {
			t.Errorf("GET %s shows a token field: %s", p, r.body)
		}
	}
	wantStatus(t, "PATCH", e.do("PATCH", "/llm_gateway/tokens/"+tok.ID, `{"name": "renamed"}`), 200)
	wantStatus(t, "revoke", e.do("DELETE", "/llm_gateway/tokens/"+tok.ID, nil), 200)
	wantStatus(t, "revoke all", e.do("POST", "/llm_gateway/services/"+svc.ID+"/tokens/revoke", nil), 200)
	wantStatus(t, "deactivate", e.do("DELETE", "/llm_gateway/services/"+svc.ID, nil), 200)
	// Errors about the tokens do not show them either.
	wantError(t, "bad PATCH", e.do("PATCH", "/llm_gateway/tokens/"+other.ID, `{"expires_in": "1h"}`), 400)
	wantError(t, "bad PATCH", e.do("PATCH", "/llm_gateway/tokens/"+other.ID, `{"name": 1}`), 400)

	checkFilesLack(t, e.dir, "canary-service-name", []string{tok.Token, other.Token})
}

func TestAPITokenListFilter(t *testing.T) {
	e := newAPIEnv(t, false)
	a := e.createService("a")
	b := e.createService("b")
	var wantA, wantAll []string
	for i := range 3 {
		ta := e.createToken(a.ID, nil)
		wantA = append(wantA, ta.ID)
		wantAll = append(wantAll, ta.ID)
		if i < 2 {
			wantAll = append(wantAll, e.createToken(b.ID, nil).ID)
		}
	}
	ids := func(l apiList[apiToken]) string {
		var s []string
		for _, t := range l.Data {
			s = append(s, t.ID)
		}
		return strings.Join(s, ",")
	}
	if got := getJSON[apiList[apiToken]](e, "/llm_gateway/tokens?service="+a.ID); ids(got) != strings.Join(wantA, ",") {
		t.Errorf("tokens of a = %s, want %v", ids(got), wantA)
	}
	if got := getJSON[apiList[apiToken]](e, "/llm_gateway/tokens?service="+b.ID); len(got.Data) != 2 {
		t.Errorf("tokens of b = %s", ids(got))
	} else {
		for _, tk := range got.Data {
			if tk.ServiceID != b.ID {
				t.Errorf("token %s of service %s listed for b", tk.ID, tk.ServiceID)
			}
		}
	}
	if got := getJSON[apiList[apiToken]](e, "/llm_gateway/tokens"); ids(got) != strings.Join(wantAll, ",") {
		t.Errorf("all tokens = %s, want %v", ids(got), wantAll)
	}
	for _, svc := range []string{unknownID("svc"), "nope"} {
		if r := e.do("GET", "/llm_gateway/tokens?service="+svc, nil); r.status != 200 || !bytes.Equal(r.body, []byte(`{"data":[],"next":""}`)) {
			t.Errorf("tokens of unknown service %s: %d %s", svc, r.status, r.body)
		}
	}
	// Paging with a filter.
	p1 := getJSON[apiList[apiToken]](e, "/llm_gateway/tokens?limit=2&service="+a.ID)
	p2 := getJSON[apiList[apiToken]](e, "/llm_gateway/tokens?limit=2&service="+a.ID+"&cursor="+p1.Next)
	if p1.Next == "" || p2.Next != "" || ids(p1)+","+ids(p2) != strings.Join(wantA, ",") {
		t.Errorf("paged tokens of a: %s (next %q), %s (next %q)", ids(p1), p1.Next, ids(p2), p2.Next)
	}
}

func TestAPITokenUpdateAndRevoke(t *testing.T) {
	e := newAPIEnv(t, false)
	svc := e.createService("billing")
	tok := e.createToken(svc.ID, map[string]any{"name": "ci"})
	path := "/llm_gateway/tokens/" + tok.ID

	r := e.do("PATCH", path, `{"name": "deploy", "expires_at": "2098-05-06T07:08:09Z", "labels": {"k": "v"}}`)
	wantStatus(t, "PATCH", r, 200)
	var up apiToken
	r.decode(t, &up)
	if up.Name != "deploy" || up.ExpiresAt == nil || up.ExpiresAt.Format(time.RFC3339) != "2098-05-06T07:08:09Z" ||
		up.Labels["k"] != "v" || up.Prefix != tok.Prefix || !up.CreatedAt.Equal(tok.CreatedAt) {
		t.Errorf("PATCH = %s", r.body)
	}
	for _, tt := range []struct{ name, body, msg string }{
		{"expires_in", `{"expires_in": "1h"}`, "expires_at"},
		{"past expires_at", `{"expires_at": "2000-01-01T00:00:00Z"}`, "future"},
		{"expires_at past year 9999 in UTC", `{"expires_at": "9999-12-31T23:30:00-01:00"}`, "expires_at"},
		{"negative limits", `{"limits": {"rpd": -1}}`, "limits"},
		{"unknown field", `{"revoked": true}`, "unknown field"},
	} {
		wantError(t, tt.name, e.do("PATCH", path, tt.body), 400, tt.msg)
	}

	r = e.do("DELETE", path, nil)
	wantStatus(t, "revoke", r, 200)
	var rev apiToken
	r.decode(t, &rev)
	if !rev.Revoked || rev.RevokedAt == nil || time.Since(*rev.RevokedAt) > time.Minute {
		t.Fatalf("revoke = %s", r.body)
	}
	// Idempotent: the first revocation time stays.
	r = e.do("DELETE", path, nil)
	wantStatus(t, "revoke again", r, 200)
	var again apiToken
	r.decode(t, &again)
	if !again.Revoked || again.RevokedAt == nil || !again.RevokedAt.Equal(*rev.RevokedAt) {
		t.Errorf("second revoke = %s, first revoked_at %s", r.body, rev.RevokedAt)
	}
	if got := getJSON[apiToken](e, path); !got.Revoked || !got.RevokedAt.Equal(*rev.RevokedAt) {
		t.Errorf("GET after revoke = %+v", got)
	}
	// A PATCH does not un-revoke.
	wantStatus(t, "PATCH revoked", e.do("PATCH", path, `{"name": "x"}`), 200)
	if got := getJSON[apiToken](e, path); !got.Revoked {
		t.Errorf("PATCH un-revoked the token")
	}

	for _, id := range []string{unknownID("tok"), "nope", unknownID("svc")} {
		for _, m := range []struct{ method, body string }{{"GET", ""}, {"PATCH", `{"name": "z"}`}, {"DELETE", ""}} {
			var body any
			if m.body != "" {
				body = m.body
			}
			wantError(t, m.method+" "+id, e.do(m.method, "/llm_gateway/tokens/"+id, body), 404, "no token")
		}
	}
}

func TestAPIRevokeServiceTokens(t *testing.T) {
	e := newAPIEnv(t, false)
	svc := e.createService("billing")
	other := e.createService("other")
	var ids []string
	for range 3 {
		ids = append(ids, e.createToken(svc.ID, nil).ID)
	}
	keep := e.createToken(other.ID, nil)
	wantStatus(t, "revoke one", e.do("DELETE", "/llm_gateway/tokens/"+ids[0], nil), 200)

	path := "/llm_gateway/services/" + svc.ID + "/tokens/revoke"
	for _, want := range []string{`{"revoked":2}`, `{"revoked":0}`} {
		r := e.do("POST", path, nil)
		wantStatus(t, "revoke all", r, 200)
		if string(r.body) != want {
			t.Errorf("revoke all = %s, want %s", r.body, want)
		}
	}
	for _, tk := range getJSON[apiList[apiToken]](e, "/llm_gateway/tokens?service="+svc.ID).Data {
		if !tk.Revoked || tk.RevokedAt == nil {
			t.Errorf("token %s not revoked", tk.ID)
		}
	}
	if got := getJSON[apiToken](e, "/llm_gateway/tokens/"+keep.ID); got.Revoked {
		t.Errorf("a token of another service was revoked")
	}
	// A JSON body is accepted (and ignored).
	wantStatus(t, "revoke all with body", e.do("POST", path, `{}`), 200)
	for _, id := range []string{unknownID("svc"), "nope"} {
		wantError(t, "unknown service", e.do("POST", "/llm_gateway/services/"+id+"/tokens/revoke", nil), 404, "no service")
	}
}

// TestAPIChangeNotifications checks that every successful mutation, and
// nothing else, tells the backend what changed.
func TestAPIChangeNotifications(t *testing.T) {
	e := newAPIEnv(t, true)
	svc := e.createService("billing")
	tok := e.createToken(svc.ID, nil)
	key := e.createKey("openai", "sk-notify-0123456789", 0)
	spare := e.createKey("openai", "sk-notify-spare-0123", 1)
	e.addSecret("sk-notify-second-key")
	evil := []reqOpt{withHeader("Origin", "http://evil.example")}
	svcPath, tokPath, keysPath := "/llm_gateway/services/"+svc.ID, "/llm_gateway/tokens/"+tok.ID, "/llm_gateway/providers/openai/keys"

	steps := []struct {
		name         string
		method, path string
		body         any
		opts         []reqOpt
		status       int
		tokens, keys int64 // expected increments
	}{
		{"list services", "GET", "/llm_gateway/services", nil, nil, 200, 0, 0},
		{"get service", "GET", svcPath, nil, nil, 200, 0, 0},
		{"list tokens", "GET", "/llm_gateway/tokens", nil, nil, 200, 0, 0},
		{"get token", "GET", tokPath, nil, nil, 200, 0, 0},
		{"list keys", "GET", keysPath, nil, nil, 200, 0, 0},
		{"get key", "GET", keysPath + "/" + key.ID, nil, nil, 200, 0, 0},
		{"create service", "POST", "/llm_gateway/services", `{"name": "n2"}`, nil, 201, 1, 0},
		{"refused create service", "POST", "/llm_gateway/services", `{"name": "n2"}`, nil, 409, 0, 0},
		{"update service", "PATCH", svcPath, `{"labels": {"a": "b"}}`, nil, 200, 1, 0},
		{"refused update service", "PATCH", svcPath, `{"limits": {"rpm": -1}}`, nil, 400, 0, 0},
		{"pin key", "PATCH", svcPath, map[string]any{"pinned_keys": map[string]string{"openai": key.ID}}, nil, 200, 1, 0},
		{"create token", "POST", svcPath + "/tokens", `{"name": "x"}`, nil, 201, 1, 0},
		{"refused create token", "POST", svcPath + "/tokens", `{"expires_in": "x"}`, nil, 400, 0, 0},
		{"update token", "PATCH", tokPath, `{"name": "y"}`, nil, 200, 1, 0},
		{"revoke token", "DELETE", tokPath, nil, nil, 200, 1, 0},
		{"revoke service tokens", "POST", svcPath + "/tokens/revoke", nil, nil, 200, 1, 0},
		{"refused revoke", "DELETE", "/llm_gateway/tokens/" + unknownID("tok"), nil, nil, 404, 0, 0},
		{"deactivate service", "DELETE", svcPath, nil, nil, 200, 1, 0},
		{"create key", "POST", keysPath, `{"key": "sk-notify-second-key"}`, nil, 201, 0, 1},
		{"refused create key", "POST", keysPath, `{"key": "short"}`, nil, 400, 0, 0},
		{"delete key", "DELETE", keysPath + "/" + spare.ID, nil, nil, 204, 0, 1},
		{"refused delete key", "DELETE", keysPath + "/" + unknownID("pk"), nil, nil, 404, 0, 0},
		{"cross-origin mutation", "POST", "/llm_gateway/services", `{"name": "n3"}`, evil, 403, 0, 0},
		{"cross-origin key", "POST", keysPath, `{"key": "sk-notify-second-key"}`, evil, 403, 0, 0},
	}
	for _, s := range steps {
		t0, k0 := e.counts()
		r := e.do(s.method, s.path, s.body, s.opts...)
		if r.status != s.status {
			t.Fatalf("%s: status %d, want %d: %s", s.name, r.status, s.status, r.body)
		}
		t1, k1 := e.counts()
		if t1-t0 != s.tokens || k1-k0 != s.keys {
			t.Errorf("%s: TokensChanged +%d, KeysChanged +%d; want +%d, +%d", s.name, t1-t0, k1-k0, s.tokens, s.keys)
		}
	}
}

// ---- provider keys ----

func TestAPIProviderKeysWithoutSealer(t *testing.T) {
	e := newAPIEnv(t, false)
	e.addSecret("sk-live-0123456789abcdef")
	r := e.do("POST", "/llm_gateway/providers/openai/keys", `{"key": "sk-live-0123456789abcdef"}`)
	wantError(t, "POST without a key", r, 400, "encryption_key", "openssl rand -base64 32")
	if r := e.do("GET", "/llm_gateway/providers/openai/keys", nil); r.status != 200 || string(r.body) != `{"data":[],"next":""}` {
		t.Errorf("list = %d %s", r.status, r.body)
	}
	if _, k := e.counts(); k != 0 {
		t.Errorf("KeysChanged called %d times", k)
	}
}

func TestAPIProviderKeys(t *testing.T) {
	e := newAPIEnv(t, true)
	const secret = "sk-proj-S3cretValue0123456789WXYZ"
	e.addSecret(secret)
	r := e.do("POST", "/llm_gateway/providers/openai/keys", map[string]any{"key": secret, "label": "canary-key-label", "priority": 5})
	wantStatus(t, "POST", r, 201)
	var k apiKey
	r.decode(t, &k)
	if !strings.HasPrefix(k.ID, "pk_") || k.Provider != "openai" || k.Label != "canary-key-label" || k.Priority != 5 ||
		k.Last4 != "WXYZ" || k.CreatedAt.IsZero() {
		t.Errorf("created key = %s", r.body)
	}
	// The stored value is sealed for this provider.
	st, err := e.b.st.GetProviderKey(context.Background(), "openai", k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(st.Sealed, []byte(secret)) {
		t.Error("the stored value contains the plaintext")
	}
	if pt, err := e.b.sealer.Open(st.Sealed, admin.KeyAAD("openai")); err != nil || string(pt) != secret {
		t.Errorf("Open = %q, %v", pt, err)
	}
	if _, err := e.b.sealer.Open(st.Sealed, admin.KeyAAD("anthropic")); err == nil {
		t.Error("the sealed key opens for another provider")
	}

	got := getJSON[apiKey](e, "/llm_gateway/providers/openai/keys/"+k.ID)
	if got != k {
		t.Errorf("GET = %+v, created %+v", got, k)
	}
	if r := e.do("GET", "/llm_gateway/providers/openai/keys/"+k.ID, nil); bytes.Contains(r.body, []byte("sealed")) {
		t.Errorf("GET shows the sealed value: %s", r.body)
	}
	checkFilesLack(t, e.dir, "canary-key-label", []string{secret})

	// Listing: by priority, then creation; other providers apart.
	k10 := e.createKey("openai", "sk-priority-ten-000", 10)
	k0a := e.createKey("openai", "sk-priority-zero-aa", 0)
	k0b := e.createKey("openai", "sk-priority-zero-bb", 0)
	ka := e.createKey("anthropic", "sk-ant-0123456789", 0)
	var order []string
	for _, x := range getJSON[apiList[apiKey]](e, "/llm_gateway/providers/openai/keys").Data {
		order = append(order, x.ID)
	}
	if want := []string{k0a.ID, k0b.ID, k.ID, k10.ID}; strings.Join(order, ",") != strings.Join(want, ",") {
		t.Errorf("list order = %v, want %v", order, want)
	}
	if l := getJSON[apiList[apiKey]](e, "/llm_gateway/providers/anthropic/keys"); len(l.Data) != 1 || l.Data[0].ID != ka.ID {
		t.Errorf("anthropic keys = %+v", l)
	}
	wantError(t, "key of another provider", e.do("GET", "/llm_gateway/providers/anthropic/keys/"+k.ID, nil), 404, "no key")
	wantError(t, "delete via another provider", e.do("DELETE", "/llm_gateway/providers/anthropic/keys/"+k.ID, nil), 404, "no key")

	// Delete: 204, then gone.
	_, k0 := e.counts()
	r = e.do("DELETE", "/llm_gateway/providers/openai/keys/"+k.ID, nil)
	wantStatus(t, "DELETE", r, 204)
	if len(r.body) != 0 {
		t.Errorf("204 with a body: %q", r.body)
	}
	if _, k1 := e.counts(); k1 != k0+1 {
		t.Errorf("KeysChanged not called after delete")
	}
	wantError(t, "GET deleted", e.do("GET", "/llm_gateway/providers/openai/keys/"+k.ID, nil), 404, "no key")
	wantError(t, "DELETE deleted", e.do("DELETE", "/llm_gateway/providers/openai/keys/"+k.ID, nil), 404, "no key")
	wantError(t, "GET garbage id", e.do("GET", "/llm_gateway/providers/openai/keys/nope", nil), 404, "no key")
}

func TestAPIProviderKeyValidation(t *testing.T) {
	e := newAPIEnv(t, true)
	okKey := `{"key": "sk-valid-key-123"}`
	long := strings.Repeat("p", 65)
	for _, name := range []string{"..%2Fx", "a%2Fb", "a%20b", long, "caf%C3%A9"} {
		for _, m := range []struct {
			method, suffix string
			body           any
		}{
			{"GET", "", nil}, {"POST", "", okKey}, {"GET", "/" + unknownID("pk"), nil}, {"DELETE", "/" + unknownID("pk"), nil},
		} {
			p := "/llm_gateway/providers/" + name + "/keys" + m.suffix
			wantError(t, m.method+" "+p, e.do(m.method, p, m.body), 400, "provider name")
		}
	}
	if _, k := e.counts(); k != 0 {
		t.Errorf("KeysChanged called %d times for refused requests", k)
	}
	// 64 characters and the allowed punctuation are fine.
	e.createKey(strings.Repeat("p", 64), "sk-sixty-four-ok", 0)
	e.createKey("azure_openai.eu-1", "sk-punctuation-ok", 0)

	for _, tt := range []struct {
		name string
		key  string
		body string // when set, sent instead of {"key": key}
		msg  string
	}{
		{name: "too short", key: "sk-1234", msg: "8-4096"},
		{name: "empty", key: "", msg: "8-4096"},
		{name: "space inside", key: "sk-has space-0123", msg: "without spaces"},
		{name: "tab", key: "sk-has\ttab-0123", msg: "without spaces"},
		{name: "newline", key: "sk-newline-0123\n", msg: "without spaces"},
		{name: "too long", key: "sk-" + strings.Repeat("k", 4094), msg: "8-4096"},
		{name: "no key", body: `{"label": "x"}`, msg: "8-4096"},
		{name: "negative priority", key: "sk-priority-neg-1", body: `{"key": "sk-priority-neg-1", "priority": -1}`, msg: "priority"},
		{name: "priority over 1000", key: "sk-priority-big-1", body: `{"key": "sk-priority-big-1", "priority": 1001}`, msg: "priority"},
		{name: "label too long", key: "sk-label-long-11", body: `{"key": "sk-label-long-11", "label": "` + strings.Repeat("l", 129) + `"}`, msg: "label"},
		{name: "unknown field", key: "sk-unknown-field1", body: `{"key": "sk-unknown-field1", "secret": "x"}`, msg: "unknown field"},
		{name: "wrong type", body: `{"key": 12345678}`, msg: "invalid JSON"},
	} {
		body := tt.body
		if body == "" {
			j, _ := json.Marshal(map[string]string{"key": tt.key})
			body = string(j)
		}
		if len(tt.key) >= 4 {
			e.addSecret(tt.key) // never echoed, even when refused
		}
		wantError(t, tt.name, e.do("POST", "/llm_gateway/providers/openai/keys", body), 400, tt.msg)
	}
	if n := len(getJSON[apiList[apiKey]](e, "/llm_gateway/providers/openai/keys").Data); n != 0 {
		t.Errorf("refused keys were stored: %d", n)
	}
}

func TestAPIPinnedKeys(t *testing.T) {
	e := newAPIEnv(t, true)
	svc := e.createService("billing")
	path := "/llm_gateway/services/" + svc.ID
	k := e.createKey("openai", "sk-pinned-0123456789", 0)

	for _, tt := range []struct {
		name string
		pins map[string]string
	}{
		{"unknown key", map[string]string{"openai": unknownID("pk")}},
		{"garbage id", map[string]string{"openai": "nope"}},
		{"key of another provider", map[string]string{"anthropic": k.ID}},
		{"bad provider name", map[string]string{"../x": k.ID}},
	} {
		wantError(t, tt.name, e.do("PATCH", path, map[string]any{"pinned_keys": tt.pins}), 400, "pinned_keys")
	}
	r := e.do("PATCH", path, map[string]any{"pinned_keys": map[string]string{"openai": k.ID}})
	wantStatus(t, "pin", r, 200)
	var s apiService
	r.decode(t, &s)
	if s.PinnedKeys["openai"] != k.ID {
		t.Errorf("pinned_keys = %v", s.PinnedKeys)
	}
	if got := getJSON[apiService](e, path); got.PinnedKeys["openai"] != k.ID {
		t.Errorf("GET pinned_keys = %v", got.PinnedKeys)
	}
	// Creating with a pin works too; an empty map unpins.
	r = e.do("POST", "/llm_gateway/services", map[string]any{"name": "pinned", "pinned_keys": map[string]string{"openai": k.ID}})
	wantStatus(t, "create pinned", r, 201)
	r = e.do("PATCH", path, `{"pinned_keys": {}}`)
	wantStatus(t, "unpin", r, 200)
	if got := getJSON[apiService](e, path); len(got.PinnedKeys) != 0 {
		t.Errorf("after unpin: %v", got.PinnedKeys)
	}
}

// ---- request hygiene ----

func TestAPIRequestHygiene(t *testing.T) {
	e := newAPIEnv(t, false)
	svc := e.createService("billing")
	svcPath := "/llm_gateway/services/" + svc.ID
	self := e.srv.URL // the same origin

	tests := []struct {
		name         string
		method, path string
		body         any
		opts         []reqOpt
		status       int
		msg          string
	}{
		{"POST text/plain", "POST", "/llm_gateway/services", `{"name": "a"}`, []reqOpt{withHeader("Content-Type", "text/plain")}, 415, "application/json"},
		{"PATCH text/plain", "PATCH", svcPath, `{"name": "a"}`, []reqOpt{withHeader("Content-Type", "text/plain")}, 415, "application/json"},
		{"POST form", "POST", "/llm_gateway/services", `name=a`, []reqOpt{withHeader("Content-Type", "application/x-www-form-urlencoded")}, 415, "application/json"},
		{"POST without Content-Type", "POST", "/llm_gateway/services", `{"name": "a"}`, []reqOpt{noContentType}, 415, "application/json"},
		{"POST JSON with charset", "POST", "/llm_gateway/services", `{"name": "charset"}`, []reqOpt{withHeader("Content-Type", "application/json; charset=utf-8")}, 201, ""},
		{"POST foreign Origin", "POST", "/llm_gateway/services", `{"name": "a"}`, []reqOpt{withHeader("Origin", "http://evil.example")}, 403, "cross-origin"},
		{"PATCH foreign Origin", "PATCH", svcPath, `{"name": "a"}`, []reqOpt{withHeader("Origin", "http://evil.example")}, 403, "cross-origin"},
		{"DELETE foreign Origin", "DELETE", svcPath, nil, []reqOpt{withHeader("Origin", "http://evil.example")}, 403, "cross-origin"},
		{"POST null Origin", "POST", "/llm_gateway/services", `{"name": "a"}`, []reqOpt{withHeader("Origin", "null")}, 403, "cross-origin"},
		{"POST cross-site", "POST", "/llm_gateway/services", `{"name": "a"}`, []reqOpt{withHeader("Sec-Fetch-Site", "cross-site")}, 403, "cross-site"},
		{"DELETE cross-site", "DELETE", svcPath, nil, []reqOpt{withHeader("Sec-Fetch-Site", "cross-site")}, 403, "cross-site"},
		{"POST same Origin", "POST", "/llm_gateway/services", `{"name": "same-origin"}`, []reqOpt{withHeader("Origin", self)}, 201, ""},
		{"POST same-origin fetch", "POST", "/llm_gateway/services", `{"name": "same-site"}`, []reqOpt{withHeader("Sec-Fetch-Site", "same-origin")}, 201, ""},
		{"DELETE without body", "DELETE", svcPath, nil, nil, 200, ""},
		{"GET foreign Origin", "GET", svcPath, nil, []reqOpt{withHeader("Origin", "http://evil.example")}, 200, ""},
		{"GET cross-site", "GET", "/llm_gateway/services", nil, []reqOpt{withHeader("Sec-Fetch-Site", "cross-site")}, 200, ""},
		{"GET text/plain", "GET", "/llm_gateway/tokens", nil, []reqOpt{withHeader("Content-Type", "text/plain")}, 200, ""},
		{"unknown path", "GET", "/llm_gateway/nope", nil, nil, 404, "no such management endpoint"},
		{"unknown subpath", "GET", svcPath + "/extra", nil, nil, 404, "no such management endpoint"},
		{"trailing slash", "GET", "/llm_gateway/services/", nil, nil, 404, ""},
		{"empty token id", "GET", "/llm_gateway/tokens/", nil, nil, 404, ""},
		{"root", "GET", "/llm_gateway/", nil, nil, 404, ""},
		{"PUT on services", "PUT", "/llm_gateway/services", `{"name": "a"}`, nil, 0, ""},
		{"DELETE on list", "DELETE", "/llm_gateway/services", nil, nil, 0, ""},
		{"POST on token", "POST", "/llm_gateway/tokens/" + unknownID("tok"), `{}`, nil, 0, ""},
		{"PATCH on key", "PATCH", "/llm_gateway/providers/openai/keys/" + unknownID("pk"), `{}`, nil, 0, ""},
		{"GET on revoke", "GET", svcPath + "/tokens/revoke", nil, nil, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			t0, _ := e.counts()
			r := e.do(tt.method, tt.path, tt.body, tt.opts...)
			switch {
			case tt.status == 0: // wrong method: any JSON 4xx (checked by do)
				if r.status < 400 || r.status > 499 {
					t.Errorf("status %d, want a 4xx: %s", r.status, r.body)
				}
			case tt.status >= 400:
				wantError(t, tt.name, r, tt.status, tt.msg)
			default:
				wantStatus(t, tt.name, r, tt.status)
			}
			if t1, _ := e.counts(); r.status >= 400 && t1 != t0 {
				t.Errorf("a refused request notified a change")
			}
		})
	}
	e.t = t
	// Nothing refused was stored.
	for _, s := range getJSON[apiList[apiService]](e, "/llm_gateway/services").Data {
		if s.Name == "a" {
			t.Errorf("a refused request created a service")
		}
	}
}

func TestAPIPricing(t *testing.T) {
	e := newAPIEnv(t, false)
	type price struct {
		InputUSD  float64 `json:"input_usd"`
		OutputUSD float64 `json:"output_usd"`
	}
	type answer struct {
		Data []struct {
			ProviderType string `json:"provider_type"`
			Model        string `json:"model"`
			Source       string `json:"source"`
			AsOf         string `json:"as_of"`
			price
		} `json:"data"`
		Overrides map[string]price `json:"overrides"`
	}
	list := getJSON[answer](e, "/llm_gateway/pricing")
	var sawList bool
	for _, d := range list.Data {
		if d.Source == "list" && d.Model == "gpt-4o-mini" && d.ProviderType == "openai" && d.AsOf != "" && d.InputUSD > 0 {
			sawList = true
		}
	}
	if !sawList || len(list.Overrides) != 0 {
		t.Fatalf("GET /pricing before any override: %+v", list.Overrides)
	}

	for _, tt := range []struct {
		name, body, msg string
	}{
		{"no overrides field", `{}`, "overrides is required"},
		{"negative price", `{"overrides":{"m":{"input_usd":-1,"output_usd":1}}}`, "input_usd"},
		{"absurd price", `{"overrides":{"m":{"input_usd":1e9,"output_usd":1}}}`, "input_usd"},
		{"no price at all", `{"overrides":{"m":{}}}`, "needs input_usd or output_usd"},
		{"empty model", `{"overrides":{"":{"input_usd":1,"output_usd":1}}}`, "model names"},
		{"unknown field", `{"overrides":{"m":{"input":1}}}`, "unknown field"},
	} {
		wantError(t, tt.name, e.do("PUT", "/llm_gateway/pricing", tt.body), 400, tt.msg)
	}

	r := e.do("PUT", "/llm_gateway/pricing", `{"overrides":{"gpt-4o-mini":{"input_usd":0.2,"output_usd":0.8},"my-local":{"input_usd":0,"output_usd":0.000001}}}`)
	wantStatus(t, "PUT /pricing", r, 200)
	got := getJSON[answer](e, "/llm_gateway/pricing")
	if got.Overrides["gpt-4o-mini"] != (price{0.2, 0.8}) || got.Overrides["my-local"].OutputUSD != 0.000001 {
		t.Fatalf("overrides %+v", got.Overrides)
	}
	stored, err := e.b.st.GetPricingOverrides(context.Background())
	if err != nil || !strings.Contains(string(stored), "gpt-4o-mini") {
		t.Fatalf("stored overrides %s, %v", stored, err)
	}
	wantStatus(t, "PUT {}", e.do("PUT", "/llm_gateway/pricing", `{"overrides":{}}`), 200)
	if got := getJSON[answer](e, "/llm_gateway/pricing"); len(got.Overrides) != 0 {
		t.Fatalf("overrides not cleared: %+v", got.Overrides)
	}
}
