package admin

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
)

// cliReq is a request the fake admin API received.
type cliReq struct {
	method string
	path   string // escaped, as sent
	query  string // raw query, as sent
	body   string // JSON, compared by value; "" means no body
	ctype  string // Content-Type
}

// cliAnswer is a canned answer.
type cliAnswer struct {
	status int
	body   string
}

// cliFake is an admin API that records requests and gives canned answers
// in order, repeating the last.
type cliFake struct {
	srv     *httptest.Server
	mu      sync.Mutex
	reqs    []cliReq
	answers []cliAnswer
}

func newCLIFake(t *testing.T, answers ...cliAnswer) *cliFake {
	t.Helper()
	f := &cliFake{answers: answers}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		n := len(f.reqs)
		f.reqs = append(f.reqs, cliReq{method: r.Method, path: r.URL.EscapedPath(), query: r.URL.RawQuery,
			body: string(b), ctype: r.Header.Get("Content-Type")})
		a := cliAnswer{status: http.StatusOK, body: "{}"}
		if len(f.answers) > 0 {
			a = f.answers[min(n, len(f.answers)-1)]
		}
		f.mu.Unlock()
		if a.status == http.StatusNoContent {
			w.WriteHeader(a.status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *cliFake) addr() string { return strings.TrimPrefix(f.srv.URL, "http://") }

func (f *cliFake) requests() []cliReq {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]cliReq(nil), f.reqs...)
}

// runCLI runs the llm-gateway command in-process with args and stdin.
func runCLI(args []string, stdin string) (stdout, stderr string, err error) {
	var out, errb bytes.Buffer
	cmd := newCLI()
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetIn(strings.NewReader(stdin))
	err = cmd.Execute()
	return out.String(), errb.String(), err
}

func cliOK(body string) cliAnswer      { return cliAnswer{http.StatusOK, body} }
func cliCreated(body string) cliAnswer { return cliAnswer{http.StatusCreated, body} }

const (
	cliSvc1 = `{"id":"svc_1","name":"billing","active":true,"allowed_models":["gpt-4o*"],"limits":{"rpm":60},` +
		`"budget":{"daily_usd":5},"labels":{"team":"pay"},"pinned_keys":{},"created_at":"2025-01-02T03:04:05.123Z",` +
		`"updated_at":"2025-01-03T00:00:00Z"}`
	cliSvc2 = `{"id":"svc_2","name":"search","active":false,"allowed_models":[],"limits":{},"budget":{},` +
		`"labels":{},"pinned_keys":{"openai":"pk_1"},"created_at":"2025-02-01T00:00:00Z","updated_at":"2025-02-01T00:00:00Z"}`
	cliTok1 = `{"id":"tok_1","service_id":"svc_1","name":"ci","prefix":"llmgw_3kT9","labels":{},"limits":{},` +
		`"created_at":"2025-01-02T03:04:05Z","expires_at":"2099-01-01T00:00:00Z","last_used_at":null,"revoked":false,"revoked_at":null}`
	cliTok2 = `{"id":"tok_2","service_id":"svc_1","name":"old","prefix":"llmgw_Zz01","labels":{},"limits":{},` +
		`"created_at":"2025-01-01T00:00:00Z","expires_at":null,"last_used_at":"2025-01-05T06:07:08Z","revoked":true,"revoked_at":"2025-01-06T00:00:00Z"}`
	cliTokNew = `{"id":"tok_3","token":"llmgw_SECRETplaintext0123456789","service_id":"svc_1","name":"ci","prefix":"llmgw_SECR",` +
		`"labels":{},"limits":{"rpm":10},"created_at":"2025-01-02T03:04:05Z","expires_at":"2099-02-01T03:04:05Z",` +
		`"last_used_at":null,"revoked":false,"revoked_at":null}`
	cliKey1 = `{"id":"pk_1","provider":"openai","label":"primary","priority":0,"last4":"abcd","created_at":"2025-01-02T03:04:05Z"}`
	cliKey2 = `{"id":"pk_2","provider":"openai","label":"backup","priority":10,"last4":"wxyz","created_at":"2025-01-03T00:00:00Z"}`
)

func TestCLICommands(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		stdin   string
		answers []cliAnswer
		want    []cliReq
		stdout  string   // exact, if not empty or if emptyOut
		empty   bool     // stdout must be empty
		has     []string // substrings of stdout
		stderr  []string // substrings of stderr
		noShow  string   // must appear in neither stdout nor stderr
	}{
		{
			name:    "services list",
			args:    []string{"services", "list"},
			answers: []cliAnswer{cliOK(`{"data":[` + cliSvc1 + `,` + cliSvc2 + `],"next":""}`)},
			want:    []cliReq{{method: "GET", path: "/llm_gateway/services"}},
			stdout: "" +
				"ID     NAME     ACTIVE  MODELS   LIMITS  BUDGET  CREATED\n" +
				"svc_1  billing  yes     gpt-4o*  60 rpm  $5/day  2025-01-02T03:04:05Z\n" +
				"svc_2  search   no      any      none    none    2025-02-01T00:00:00Z\n",
		},
		{
			name:    "services list with a next page tells how to go on",
			args:    []string{"services", "ls", "--limit", "1"},
			answers: []cliAnswer{cliOK(`{"data":[` + cliSvc1 + `],"next":"svc_1"}`)},
			want:    []cliReq{{method: "GET", path: "/llm_gateway/services", query: "limit=1"}},
			has:     []string{"svc_1  billing"},
			stderr:  []string{"More services: add --cursor svc_1, or use --all."},
		},
		{
			name: "services list --all follows next and joins the pages",
			args: []string{"services", "list", "--all", "--limit", "1", "--json"},
			answers: []cliAnswer{
				cliOK(`{"data":[` + cliSvc1 + `],"next":"svc_1"}`),
				cliOK(`{"data":[` + cliSvc2 + `],"next":""}`),
			},
			want: []cliReq{
				{method: "GET", path: "/llm_gateway/services", query: "limit=1"},
				{method: "GET", path: "/llm_gateway/services", query: "cursor=svc_1&limit=1"},
			},
			has: []string{"{\n  \"data\": [\n    {\n      \"id\": \"svc_1\"", "\"id\": \"svc_2\"", "\"next\": \"\"\n}\n"},
		},
		{
			name:    "services list empty",
			args:    []string{"services", "list"},
			answers: []cliAnswer{cliOK(`{"data":[],"next":""}`)},
			want:    []cliReq{{method: "GET", path: "/llm_gateway/services"}},
			stdout:  "No services.\n",
		},
		{
			name: "services create",
			args: []string{"services", "create", "billing", "--allow-model", "gpt-4o*", "--allow-model", "claude-*",
				"--rpm", "60", "--tpm", "0", "--daily-usd", "5", "--monthly-usd", "100.5", "--label", "team=pay", "--label", "env=prod"},
			answers: []cliAnswer{cliCreated(cliSvc1)},
			want: []cliReq{{method: "POST", path: "/llm_gateway/services", ctype: "application/json",
				body: `{"name":"billing","allowed_models":["gpt-4o*","claude-*"],"limits":{"rpm":60,"tpm":0},` +
					`"budget":{"daily_usd":5,"monthly_usd":100.5},"labels":{"team":"pay","env":"prod"}}`}},
			stdout: "" +
				"ID:              svc_1\n" +
				"Name:            billing\n" +
				"Active:          yes\n" +
				"Allowed models:  gpt-4o*\n" +
				"Limits:          60 rpm\n" +
				"Budget:          $5/day\n" +
				"Labels:          team=pay\n" +
				"Pinned keys:     -\n" +
				"Created:         2025-01-02T03:04:05Z\n" +
				"Updated:         2025-01-03T00:00:00Z\n",
		},
		{
			name:    "services create with only a name",
			args:    []string{"services", "create", "search"},
			answers: []cliAnswer{cliCreated(cliSvc2)},
			want:    []cliReq{{method: "POST", path: "/llm_gateway/services", ctype: "application/json", body: `{"name":"search"}`}},
			has:     []string{"Pinned keys:     openai=pk_1\n"},
		},
		{
			name:    "services show escapes the id",
			args:    []string{"services", "show", "svc/1 ?x"},
			answers: []cliAnswer{cliOK(cliSvc1)},
			want:    []cliReq{{method: "GET", path: "/llm_gateway/services/svc%2F1%20%3Fx"}},
			has:     []string{"ID:              svc_1\n"},
		},
		{
			name:    "services show --json prints the answer as is",
			args:    []string{"services", "show", "svc_2", "--json"},
			answers: []cliAnswer{cliOK(`{"id":"svc_2","extra":{"x":[1,2]}}`)},
			want:    []cliReq{{method: "GET", path: "/llm_gateway/services/svc_2"}},
			stdout:  "{\n  \"id\": \"svc_2\",\n  \"extra\": {\n    \"x\": [\n      1,\n      2\n    ]\n  }\n}\n",
		},
		{
			name:    "services update of plain fields is one PATCH",
			args:    []string{"services", "update", "svc_1", "--active=false", "--name", "billing-2", "--allow-model", "o3*"},
			answers: []cliAnswer{cliOK(cliSvc1)},
			want: []cliReq{{method: "PATCH", path: "/llm_gateway/services/svc_1", ctype: "application/json",
				body: `{"active":false,"name":"billing-2","allowed_models":["o3*"]}`}},
			has: []string{"ID:              svc_1\n"},
		},
		{
			name:    "services update --any-model empties the list",
			args:    []string{"services", "update", "svc_1", "--any-model"},
			answers: []cliAnswer{cliOK(cliSvc1)},
			want: []cliReq{{method: "PATCH", path: "/llm_gateway/services/svc_1", ctype: "application/json",
				body: `{"allowed_models":[]}`}},
		},
		{
			name: "services update merges maps and limits into the current service",
			args: []string{"services", "update", "svc_1", "--label", "env=prod", "--unlabel", "team",
				"--pin", "openai=pk_9", "--rpd", "100", "--monthly-usd", "50"},
			answers: []cliAnswer{cliOK(cliSvc1)},
			want: []cliReq{
				{method: "GET", path: "/llm_gateway/services/svc_1"},
				{method: "PATCH", path: "/llm_gateway/services/svc_1", ctype: "application/json",
					body: `{"labels":{"env":"prod"},"pinned_keys":{"openai":"pk_9"},"limits":{"rpm":60,"rpd":100},` +
						`"budget":{"daily_usd":5,"monthly_usd":50}}`},
			},
		},
		{
			name:    "services update --unpin",
			args:    []string{"services", "update", "svc_2", "--unpin", "openai"},
			answers: []cliAnswer{cliOK(cliSvc2)},
			want: []cliReq{
				{method: "GET", path: "/llm_gateway/services/svc_2"},
				{method: "PATCH", path: "/llm_gateway/services/svc_2", ctype: "application/json", body: `{"pinned_keys":{}}`},
			},
		},
		{
			name:    "services deactivate",
			args:    []string{"services", "deactivate", "svc_1"},
			answers: []cliAnswer{cliOK(cliSvc1)},
			want:    []cliReq{{method: "DELETE", path: "/llm_gateway/services/svc_1", ctype: "application/json"}},
			stdout:  "Service svc_1 (billing) deactivated.\n",
		},
		{
			name:    "tokens list",
			args:    []string{"tokens", "list", "--service", "svc_1", "--limit", "5"},
			answers: []cliAnswer{cliOK(`{"data":[` + cliTok1 + `,` + cliTok2 + `],"next":""}`)},
			want:    []cliReq{{method: "GET", path: "/llm_gateway/tokens", query: "limit=5&service=svc_1"}},
			stdout: "" +
				"ID     SERVICE  NAME  PREFIX      STATUS   EXPIRES               LAST USED             CREATED\n" +
				"tok_1  svc_1    ci    llmgw_3kT9  active   2099-01-01T00:00:00Z  never                 2025-01-02T03:04:05Z\n" +
				"tok_2  svc_1    old   llmgw_Zz01  revoked  never                 2025-01-05T06:07:08Z  2025-01-01T00:00:00Z\n",
		},
		{
			name: "tokens list --all with a cursor",
			args: []string{"tokens", "list", "--all", "--cursor", "tok_0"},
			answers: []cliAnswer{
				cliOK(`{"data":[` + cliTok1 + `],"next":"tok_1"}`),
				cliOK(`{"data":[` + cliTok2 + `],"next":""}`),
			},
			want: []cliReq{
				{method: "GET", path: "/llm_gateway/tokens", query: "cursor=tok_0"},
				{method: "GET", path: "/llm_gateway/tokens", query: "cursor=tok_1"},
			},
			has: []string{"tok_1  svc_1", "tok_2  svc_1"},
		},
		{
			name:    "tokens create prints the token once with a warning",
			args:    []string{"tokens", "create", "svc_1", "--name", "ci", "--expires-in", "720h", "--rpm", "10", "--label", "ci=yes"},
			answers: []cliAnswer{cliCreated(cliTokNew)},
			want: []cliReq{{method: "POST", path: "/llm_gateway/services/svc_1/tokens", ctype: "application/json",
				body: `{"name":"ci","expires_in":"720h","limits":{"rpm":10},"labels":{"ci":"yes"}}`}},
			has:    []string{"Token:      llmgw_SECRETplaintext0123456789\n", "ID:         tok_3\n", "Expires:    2099-02-01T03:04:05Z\n"},
			stderr: []string{"warning: this is the only time the token is shown"},
		},
		{
			name:    "tokens create --json includes the token; the warning stays on stderr",
			args:    []string{"tokens", "create", "svc_1", "--expires-at", "2099-01-02T03:04:05+02:00", "--json"},
			answers: []cliAnswer{cliCreated(cliTokNew)},
			want: []cliReq{{method: "POST", path: "/llm_gateway/services/svc_1/tokens", ctype: "application/json",
				body: `{"expires_at":"2099-01-02T03:04:05+02:00"}`}},
			has:    []string{"{\n  \"id\": \"tok_3\",\n  \"token\": \"llmgw_SECRETplaintext0123456789\","},
			stderr: []string{"warning: this is the only time the token is shown"},
		},
		{
			name:    "tokens create with a budget",
			args:    []string{"tokens", "create", "svc_1", "--daily-usd", "2.5", "--monthly-usd", "40"},
			answers: []cliAnswer{cliCreated(cliTokNew)},
			want: []cliReq{{method: "POST", path: "/llm_gateway/services/svc_1/tokens", ctype: "application/json",
				body: `{"budget":{"daily_usd":2.5,"monthly_usd":40}}`}},
			has:    []string{"Token:      llmgw_SECRETplaintext0123456789\n"},
			stderr: []string{"warning: this is the only time the token is shown"},
		},
		{
			name:    "tokens create with no flags sends an empty object",
			args:    []string{"tokens", "create", "svc_1"},
			answers: []cliAnswer{cliCreated(cliTokNew)},
			want:    []cliReq{{method: "POST", path: "/llm_gateway/services/svc_1/tokens", ctype: "application/json", body: `{}`}},
			has:     []string{"Token:      llmgw_SECRETplaintext0123456789\n", "Status:     active\n"},
			stderr:  []string{"warning: this is the only time the token is shown"},
		},
		{
			name:    "tokens show",
			args:    []string{"tokens", "show", "tok_2"},
			answers: []cliAnswer{cliOK(cliTok2)},
			want:    []cliReq{{method: "GET", path: "/llm_gateway/tokens/tok_2"}},
			stdout: "" +
				"ID:         tok_2\n" +
				"Service:    svc_1\n" +
				"Name:       old\n" +
				"Prefix:     llmgw_Zz01\n" +
				"Status:     revoked\n" +
				"Limits:     none\n" +
				"Budget:     none\n" +
				"Labels:     -\n" +
				"Expires:    never\n" +
				"Last used:  2025-01-05T06:07:08Z\n" +
				"Created:    2025-01-01T00:00:00Z\n" +
				"Revoked:    2025-01-06T00:00:00Z\n",
		},
		{
			name:    "tokens update",
			args:    []string{"tokens", "update", "tok_1", "--name", "deploy", "--expires-at", "2099-05-05T00:00:00Z"},
			answers: []cliAnswer{cliOK(cliTok1)},
			want: []cliReq{{method: "PATCH", path: "/llm_gateway/tokens/tok_1", ctype: "application/json",
				body: `{"name":"deploy","expires_at":"2099-05-05T00:00:00Z"}`}},
			has: []string{"ID:         tok_1\n"},
		},
		{
			name:    "tokens update labels reads the token first",
			args:    []string{"tokens", "update", "tok_1", "--label", "a=b", "--tpm", "1000"},
			answers: []cliAnswer{cliOK(cliTok1)},
			want: []cliReq{
				{method: "GET", path: "/llm_gateway/tokens/tok_1"},
				{method: "PATCH", path: "/llm_gateway/tokens/tok_1", ctype: "application/json",
					body: `{"labels":{"a":"b"},"limits":{"tpm":1000}}`},
			},
		},
		{
			name:    "tokens revoke",
			args:    []string{"tokens", "revoke", "tok_1"},
			answers: []cliAnswer{cliOK(cliTok1)},
			want:    []cliReq{{method: "DELETE", path: "/llm_gateway/tokens/tok_1", ctype: "application/json"}},
			stdout:  "Token tok_1 revoked.\n",
		},
		{
			name:    "tokens revoke-all",
			args:    []string{"tokens", "revoke-all", "svc_1"},
			answers: []cliAnswer{cliOK(`{"revoked":3}`)},
			want:    []cliReq{{method: "POST", path: "/llm_gateway/services/svc_1/tokens/revoke", ctype: "application/json"}},
			stdout:  "Revoked 3 token(s) of service svc_1.\n",
		},
		{
			name:    "tokens revoke-all --json",
			args:    []string{"tokens", "revoke-all", "svc_1", "--json"},
			answers: []cliAnswer{cliOK(`{"revoked":3}`)},
			want:    []cliReq{{method: "POST", path: "/llm_gateway/services/svc_1/tokens/revoke", ctype: "application/json"}},
			stdout:  "{\n  \"revoked\": 3\n}\n",
		},
		{
			name:    "keys list",
			args:    []string{"keys", "list", "openai"},
			answers: []cliAnswer{cliOK(`{"data":[` + cliKey1 + `,` + cliKey2 + `],"next":""}`)},
			want:    []cliReq{{method: "GET", path: "/llm_gateway/providers/openai/keys"}},
			stdout: "" +
				"ID    LABEL    PRIORITY  KEY       CREATED\n" +
				"pk_1  primary  0         ****abcd  2025-01-02T03:04:05Z\n" +
				"pk_2  backup   10        ****wxyz  2025-01-03T00:00:00Z\n",
		},
		{
			name:    "keys list escapes the provider",
			args:    []string{"keys", "list", "azure/eu"},
			answers: []cliAnswer{cliOK(`{"data":[],"next":""}`)},
			want:    []cliReq{{method: "GET", path: "/llm_gateway/providers/azure%2Feu/keys"}},
			stdout:  "No keys for azure/eu.\n",
		},
		{
			name:    "keys add reads the key from stdin and never prints it",
			args:    []string{"keys", "add", "openai", "--label", "primary", "--priority", "2"},
			stdin:   "sk-TOPSECRET-key-abcd\r\nignored second line\n",
			answers: []cliAnswer{cliCreated(cliKey1)},
			want: []cliReq{{method: "POST", path: "/llm_gateway/providers/openai/keys", ctype: "application/json",
				body: `{"key":"sk-TOPSECRET-key-abcd","label":"primary","priority":2}`}},
			stdout: "" +
				"ID:        pk_1\n" +
				"Provider:  openai\n" +
				"Label:     primary\n" +
				"Priority:  0\n" +
				"Key:       ****abcd\n" +
				"Endpoint:  (the provider's)\n" +
				"Created:   2025-01-02T03:04:05Z\n",
			noShow: "TOPSECRET",
		},
		{
			name:    "keys add without a trailing newline, --json",
			args:    []string{"keys", "add", "openai", "--json"},
			stdin:   "sk-TOPSECRET-key-abcd",
			answers: []cliAnswer{cliCreated(cliKey1)},
			want: []cliReq{{method: "POST", path: "/llm_gateway/providers/openai/keys", ctype: "application/json",
				body: `{"key":"sk-TOPSECRET-key-abcd"}`}},
			has:    []string{"\"last4\": \"abcd\""},
			noShow: "TOPSECRET",
		},
		{
			name:    "keys delete",
			args:    []string{"keys", "delete", "openai", "pk_1"},
			answers: []cliAnswer{{status: http.StatusNoContent}},
			want:    []cliReq{{method: "DELETE", path: "/llm_gateway/providers/openai/keys/pk_1", ctype: "application/json"}},
			stdout:  "Key pk_1 of openai deleted.\n",
		},
		{
			name:    "keys delete --json prints nothing for an empty answer",
			args:    []string{"keys", "rm", "openai", "pk_1", "--json"},
			answers: []cliAnswer{{status: http.StatusNoContent}},
			want:    []cliReq{{method: "DELETE", path: "/llm_gateway/providers/openai/keys/pk_1", ctype: "application/json"}},
			empty:   true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newCLIFake(t, tc.answers...)
			stdout, stderr, err := runCLI(append(tc.args, "--address", f.addr()), tc.stdin)
			if err != nil {
				t.Fatalf("error: %v\nstderr: %s", err, stderr)
			}
			checkCLIRequests(t, f.requests(), tc.want)
			if tc.stdout != "" || tc.empty {
				if stdout != tc.stdout {
					t.Errorf("stdout:\n%s\nwant:\n%s", stdout, tc.stdout)
				}
			}
			for _, h := range tc.has {
				if !strings.Contains(stdout, h) {
					t.Errorf("stdout lacks %q:\n%s", h, stdout)
				}
			}
			for _, h := range tc.stderr {
				if !strings.Contains(stderr, h) {
					t.Errorf("stderr lacks %q:\n%s", h, stderr)
				}
			}
			if len(tc.stderr) == 0 && stderr != "" {
				t.Errorf("unexpected stderr: %s", stderr)
			}
			if tc.noShow != "" && (strings.Contains(stdout, tc.noShow) || strings.Contains(stderr, tc.noShow)) {
				t.Errorf("output shows %q:\nstdout: %s\nstderr: %s", tc.noShow, stdout, stderr)
			}
		})
	}
}

func checkCLIRequests(t *testing.T, got, want []cliReq) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d requests, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.method != w.method || g.path != w.path || g.query != w.query || g.ctype != w.ctype {
			t.Errorf("request %d: %s %s ?%s (Content-Type %q), want %s %s ?%s (Content-Type %q)",
				i, g.method, g.path, g.query, g.ctype, w.method, w.path, w.query, w.ctype)
		}
		if (g.body == "") != (w.body == "") {
			t.Errorf("request %d: body %q, want %q", i, g.body, w.body)
			continue
		}
		if w.body != "" {
			var gv, wv any
			if err := json.Unmarshal([]byte(g.body), &gv); err != nil {
				t.Errorf("request %d: body is not JSON: %q", i, g.body)
				continue
			}
			if err := json.Unmarshal([]byte(w.body), &wv); err != nil {
				t.Fatalf("test case: bad JSON %q", w.body)
			}
			if !reflect.DeepEqual(gv, wv) {
				t.Errorf("request %d: body %s, want %s", i, g.body, w.body)
			}
		}
	}
}

// TestCLIErrors: API errors and bad local input print "error: ..." and fail;
// bad input fails before any request.
func TestCLIErrors(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		stdin    string
		answer   cliAnswer
		requests int
		stderr   string // "error: <message>\n" is a substring of stderr
	}{
		{
			name:     "API error message",
			args:     []string{"services", "show", "svc_x"},
			answer:   cliAnswer{http.StatusNotFound, `{"error":"no service with id \"svc_x\""}`},
			requests: 1,
			stderr:   "error: no service with id \"svc_x\"\n",
		},
		{
			name:     "API conflict on create",
			args:     []string{"services", "create", "billing"},
			answer:   cliAnswer{http.StatusConflict, `{"error":"a service named \"billing\" already exists"}`},
			requests: 1,
			stderr:   "error: a service named \"billing\" already exists\n",
		},
		{
			name:     "API error that is not JSON",
			args:     []string{"tokens", "list"},
			answer:   cliAnswer{http.StatusBadGateway, "upstream\tdown\n"},
			requests: 1,
			stderr:   "error: HTTP 502: \"upstream\\tdown\"\n",
		},
		{
			name:     "API error on a list page of --all",
			args:     []string{"services", "list", "--all"},
			answer:   cliAnswer{http.StatusBadRequest, `{"error":"limit must be a whole number from 1 to 1000"}`},
			requests: 1,
			stderr:   "error: limit must be a whole number from 1 to 1000\n",
		},
		{
			name:     "API error never echoes the provider key",
			args:     []string{"keys", "add", "openai"},
			stdin:    "sk-TOPSECRET-key\n",
			answer:   cliAnswer{http.StatusBadRequest, `{"error":"bad key sk-TOPSECRET-key"}`},
			requests: 1,
			stderr:   "error: bad key [redacted]\n",
		},
		{
			name:     "answer that is not JSON",
			args:     []string{"services", "show", "svc_1"},
			answer:   cliOK("<html>"),
			requests: 1,
			stderr:   "error: the admin API answered something that is not the expected JSON",
		},
		{
			name:     "tokens create without the token in the answer",
			args:     []string{"tokens", "create", "svc_1"},
			answer:   cliCreated(cliTok1),
			requests: 1,
			stderr:   "error: the admin API's answer has no token\n",
		},
		{name: "bad duration", args: []string{"tokens", "create", "svc_1", "--expires-in", "soon"},
			stderr: `error: --expires-in "soon": want a positive duration`},
		{name: "negative duration", args: []string{"tokens", "create", "svc_1", "--expires-in", "-1h"},
			stderr: `error: --expires-in "-1h": want a positive duration`},
		{name: "bad expiry time", args: []string{"tokens", "create", "svc_1", "--expires-at", "tomorrow"},
			stderr: `error: --expires-at "tomorrow": want an RFC 3339 time`},
		{name: "expiry in the past", args: []string{"tokens", "update", "tok_1", "--expires-at", "2001-01-01T00:00:00Z"},
			stderr: "error: --expires-at 2001-01-01T00:00:00Z is not in the future"},
		{name: "both expiries", args: []string{"tokens", "create", "svc_1", "--expires-in", "1h", "--expires-at", "2099-01-01T00:00:00Z"},
			stderr: "error: give --expires-in or --expires-at, not both"},
		{name: "bad label", args: []string{"services", "create", "billing", "--label", "team"},
			stderr: `error: --label "team": want key=value`},
		{name: "label without key", args: []string{"tokens", "create", "svc_1", "--label", "=x"},
			stderr: `error: --label "=x": want key=value`},
		{name: "label twice", args: []string{"services", "create", "billing", "--label", "a=1", "--label", "a=2"},
			stderr: `error: --label: "a" is given twice`},
		{name: "label and unlabel", args: []string{"services", "update", "svc_1", "--label", "a=1", "--unlabel", "a"},
			stderr: `error: "a" is given to both --label and --unlabel`},
		{name: "bad pin", args: []string{"services", "update", "svc_1", "--pin", "openai"},
			stderr: `error: --pin "openai": want provider=key-id`},
		{name: "pin without key id", args: []string{"services", "update", "svc_1", "--pin", "openai="},
			stderr: "error: --pin openai=: the key ID is missing"},
		{name: "negative limit", args: []string{"services", "create", "billing", "--rpm", "-1"},
			stderr: "error: --rpm must be 0 (unlimited) or more, got -1"},
		{name: "negative budget", args: []string{"services", "update", "svc_1", "--daily-usd", "-2"},
			stderr: "error: --daily-usd must be a number of dollars, 0 or more"},
		{name: "NaN budget", args: []string{"services", "create", "x", "--monthly-usd", "NaN"},
			stderr: "error: --monthly-usd must be a number of dollars, 0 or more"},
		{name: "flag that is not a number", args: []string{"services", "create", "billing", "--rpm", "many"},
			stderr: `error: invalid argument "many" for "--rpm" flag`},
		{name: "empty model", args: []string{"services", "create", "billing", "--allow-model", ""},
			stderr: "error: --allow-model must not be empty"},
		{name: "models and any-model", args: []string{"services", "update", "svc_1", "--allow-model", "a", "--any-model"},
			stderr: "error: give --allow-model or --any-model, not both"},
		{name: "nothing to update", args: []string{"services", "update", "svc_1"},
			stderr: "error: nothing to change; give at least one flag"},
		{name: "nothing to update on a token", args: []string{"tokens", "update", "tok_1"},
			stderr: "error: nothing to change; give at least one flag"},
		{name: "empty name", args: []string{"tokens", "create", "svc_1", "--name", " "},
			stderr: "error: --name must not be empty"},
		{name: "bad limit", args: []string{"services", "list", "--limit", "0"},
			stderr: "error: --limit must be from 1 to 1000, got 0"},
		{name: "limit too large", args: []string{"tokens", "list", "--limit", "5000"},
			stderr: "error: --limit must be from 1 to 1000, got 5000"},
		{name: "empty service filter", args: []string{"tokens", "list", "--service", ""},
			stderr: "error: --service must not be empty"},
		{name: "missing argument", args: []string{"services", "show"},
			stderr: "error: missing <id>; usage: llm-gateway services show <id>"},
		{name: "missing second argument", args: []string{"keys", "delete", "openai"},
			stderr: "error: missing <id>"},
		{name: "too many arguments", args: []string{"tokens", "revoke", "tok_1", "tok_2"},
			stderr: "error: too many arguments: want <id>, got 2"},
		{name: "argument to list", args: []string{"services", "list", "extra"},
			stderr: `error: unexpected argument "extra"`},
		{name: "empty argument", args: []string{"tokens", "show", ""},
			stderr: "error: <id> must not be empty"},
		{name: "dot-dot argument", args: []string{"services", "show", ".."},
			stderr: `error: <id> ".." is not a valid identifier`},
		{name: "unknown subcommand", args: []string{"services", "frobnicate"},
			stderr: `error: unknown command "frobnicate" for "llm-gateway services"`},
		{name: "no key on stdin", args: []string{"keys", "add", "openai"}, stdin: "\n",
			stderr: "error: no key on stdin"},
		{name: "key with spaces", args: []string{"keys", "add", "openai"}, stdin: "sk-one two\n",
			stderr: "error: the key on stdin contains spaces or control characters"},
		{name: "key too long", args: []string{"keys", "add", "openai"}, stdin: strings.Repeat("k", 5000),
			stderr: "error: the key on stdin is longer than 4096 bytes"},
		{name: "negative priority", args: []string{"keys", "add", "openai", "--priority", "-1"}, stdin: "sk-key-1234\n",
			stderr: "error: --priority must be 0 (preferred) or more, got -1"},
		{name: "adapter without config", args: []string{"services", "list", "--adapter", "caddyfile"},
			stderr: "error: --adapter needs --config"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newCLIFake(t, tc.answer)
			stdout, stderr, err := runCLI(append(tc.args, "--address", f.addr()), tc.stdin)
			if err == nil {
				t.Fatalf("no error; stdout: %s", stdout)
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr:\n%s\nwant it to contain:\n%s", stderr, tc.stderr)
			}
			if !strings.HasPrefix(stderr, "error: ") {
				t.Errorf("stderr does not start with \"error: \": %q", stderr)
			}
			if strings.Contains(stdout+stderr, "TOPSECRET") {
				t.Errorf("the key was printed:\nstdout: %s\nstderr: %s", stdout, stderr)
			}
			if n := len(f.requests()); n != tc.requests {
				t.Errorf("%d requests sent, want %d", n, tc.requests)
			}
		})
	}
}

// TestCLIAdminFromEnv: without --address, CADDY_ADMIN gives the admin
// endpoint.
func TestCLIAdminFromEnv(t *testing.T) {
	f := newCLIFake(t, cliOK(`{"data":[],"next":""}`))
	t.Setenv("CADDY_ADMIN", f.addr())
	stdout, stderr, err := runCLI([]string{"keys", "list", "openai"}, "")
	if err != nil {
		t.Fatalf("error: %v\nstderr: %s", err, stderr)
	}
	if stdout != "No keys for openai.\n" {
		t.Errorf("stdout: %q", stdout)
	}
	checkCLIRequests(t, f.requests(), []cliReq{{method: "GET", path: "/llm_gateway/providers/openai/keys"}})

	// --address wins over CADDY_ADMIN.
	g := newCLIFake(t, cliOK(`{"data":[],"next":""}`))
	if _, stderr, err := runCLI([]string{"keys", "list", "openai", "--address", g.addr()}, ""); err != nil {
		t.Fatalf("error: %v\nstderr: %s", err, stderr)
	}
	if len(g.requests()) != 1 || len(f.requests()) != 1 {
		t.Errorf("requests: %d to --address, %d to CADDY_ADMIN; want 1 and 1", len(g.requests()), len(f.requests()))
	}
}

// TestCLIUnreachable: a connection error says where it tried to connect.
func TestCLIUnreachable(t *testing.T) {
	f := newCLIFake(t)
	addr := f.addr()
	f.srv.Close()
	_, stderr, err := runCLI([]string{"services", "list", "--address", addr}, "")
	if err == nil {
		t.Fatal("no error")
	}
	if want := "error: cannot reach Caddy's admin endpoint at " + addr; !strings.HasPrefix(stderr, want) {
		t.Errorf("stderr: %q, want prefix %q", stderr, want)
	}
}

// TestCLIRegistered: the command is registered with Caddy and its tree is
// complete.
func TestCLIRegistered(t *testing.T) {
	if c, ok := caddycmd.Commands()[cliName]; !ok || c.CobraFunc == nil {
		t.Fatalf("%s is not registered with Caddy", cliName)
	}
	cmd := newCLI()
	want := map[string][]string{
		"services": {"create", "deactivate", "list", "show", "update"},
		"tokens":   {"create", "list", "revoke", "revoke-all", "show", "update"},
		"keys":     {"add", "delete", "list"},
		"cache":    {"purge", "stats"},
		"usage":    nil,
		"audit":    nil,
	}
	for _, g := range cmd.Commands() {
		var names []string
		for _, c := range g.Commands() {
			names = append(names, c.Name())
		}
		if !reflect.DeepEqual(names, want[g.Name()]) {
			t.Errorf("%s: %v, want %v", g.Name(), names, want[g.Name()])
		}
		delete(want, g.Name())
	}
	if len(want) != 0 {
		t.Errorf("missing groups: %v", want)
	}
	// Help of keys add says where the key comes from.
	stdout, _, err := runCLI([]string{"keys", "add", "--help"}, "")
	if err != nil || !strings.Contains(stdout, "never from a flag or an argument") {
		t.Errorf("keys add --help: %v\n%s", err, stdout)
	}
}
