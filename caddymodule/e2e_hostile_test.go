//go:build linux

package caddymodule_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/fakeprovider"
)

// TestE2ENeverReachesAdmin: requests that name Caddy's admin address in
// every place a client controls (the model, override fields of the body,
// the query, forwarding headers, the Host header, the provider header of
// the files API, deployment and model path segments, escaped traversals)
// never make the gateway connect to the admin endpoint: Caddy logs no
// admin request while they run, the running config is unchanged, and the
// providers saw only their own API paths.
func TestE2ENeverReachesAdmin(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	const oKey, aKey, azKey, gKey = "sk-hostile-openai-1", "sk-hostile-anthropic-1", "hostile-azure-1", "hostile-gemini-1"
	openaiUp := fakeprovider.New(t, fakeprovider.OpenAI, oKey)
	anthropicUp := fakeprovider.New(t, fakeprovider.Anthropic, aKey)
	azureUp := fakeprovider.New(t, fakeprovider.Azure, azKey)
	geminiUp := fakeprovider.New(t, fakeprovider.Gemini, gKey)
	env := newE2EEnv(t)
	p := env.start(t, e2eConfig{Gateway: fmt.Sprintf(`		provider openai openai {
			base_url %s
			api_key %s
		}
		provider anthropic anthropic {
			base_url %s
			api_key %s
		}
		provider azure azure {
			base_url %s
			api_key %s
		}
		provider gemini gemini {
			base_url %s
			api_key %s
		}`, openaiUp.URL, oKey, anthropicUp.URL, aKey, azureUp.URL, azKey, geminiUp.URL, gKey)})
	tok := p.mintToken(t, p.createService(t, "hostile")).Token
	_, configBefore, err := p.admin(http.MethodGet, "/config/", "")
	if err != nil {
		t.Fatal(err)
	}

	admin := p.adminAddr
	targets := []string{
		"http://" + admin + "/load", "http://" + admin + "/stop", "//" + admin + "/config/",
		admin + "/load", "@" + admin + "/stop", "gpt-4o-mini@" + admin, "http://localhost:" + strings.Split(admin, ":")[1] + "/stop",
		"../../../../stop", "..%2F..%2F..%2Fstop", "%2e%2e/%2e%2e/load", "gpt-4o-mini/../../../stop", "gpt-4o-mini#" + admin,
	}
	type req struct {
		path string
		body string
		hdr  []string
	}
	var reqs []req
	for _, m := range targets {
		mq := fmt.Sprintf("%q", m)
		esc := url.PathEscape(m)
		reqs = append(reqs,
			req{path: "/v1/chat/completions", body: `{"model":` + mq + `,"messages":[{"role":"user","content":"hi"}]}`},
			req{path: "/v1/chat/completions", body: `{"model":` + mq + `,"stream":true,"messages":[{"role":"user","content":"hi"}]}`},
			req{path: "/v1/messages", body: `{"model":` + mq + `,"max_tokens":8,"messages":[{"role":"user","content":"hi"}]}`},
			req{path: "/v1/embeddings", body: `{"model":` + mq + `,"input":"hi"}`},
			req{path: "/v1/responses", body: `{"model":` + mq + `,"input":"hi"}`},
			req{path: "/openai/deployments/" + esc + "/chat/completions?api-version=2024-10-21", body: `{"messages":[{"role":"user","content":"hi"}]}`},
			req{path: "/v1beta/models/" + esc + ":generateContent", body: `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`},
			req{path: "/v1/chat/completions?api_base=" + url.QueryEscape(m) + "&base_url=" + url.QueryEscape(m),
				body: `{"model":"gpt-4o-mini","api_base":` + mq + `,"base_url":` + mq + `,"baseURL":` + mq + `,"endpoint":` + mq +
					`,"url":` + mq + `,"azure_endpoint":` + mq + `,"messages":[{"role":"user","content":"hi"}]}`,
				hdr: []string{"X-Forwarded-Host", admin, "Forwarded", "host=" + admin, "X-Original-URL", m, "X-Rewrite-URL", m}},
			req{path: "/v1/messages", body: `{"model":"claude-sonnet-4-5","max_tokens":8,"base_url":` + mq + `,"messages":[{"role":"user","content":"hi"}]}`,
				hdr: []string{"X-Forwarded-Host", admin}},
			req{path: "/v1/files", body: "", hdr: []string{"Llm-Gateway-Provider", m}},
		)
	}
	reqs = append(reqs, req{path: "/v1/chat/completions", body: `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`,
		hdr: []string{"Host", admin}})

	// Caddy writes its log asynchronously: wait for the line of the last
	// admin call above, then count.
	adminLines := func() []string { return p.logLines(`"logger":"admin.api"`) }
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		l := adminLines()
		if len(l) > 0 && strings.Contains(l[len(l)-1], `"method":"GET"`) && strings.Contains(l[len(l)-1], `"uri":"/config/"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Caddy did not log the admin call GET /config/")
		}
	}
	adminLogs := len(adminLines())
	for _, r := range reqs {
		method := http.MethodPost
		if r.body == "" {
			method = http.MethodGet
		}
		hr, err := http.NewRequest(method, p.url+r.path, strings.NewReader(r.body))
		if err != nil {
			// A path no client could send: Go refuses to build it.
			continue
		}
		hr.Header.Set("Authorization", "Bearer "+tok)
		hr.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(r.hdr); i += 2 {
			if r.hdr[i] == "Host" {
				hr.Host = r.hdr[i+1]
				continue
			}
			hr.Header.Set(r.hdr[i], r.hdr[i+1])
		}
		resp, err := e2eHTTP.Do(hr)
		if err != nil {
			t.Fatalf("%s %s: %v", method, r.path, err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 && resp.StatusCode != http.StatusBadGateway {
			t.Errorf("%s %s %s: status %d", method, r.path, r.body, resp.StatusCode)
		}
	}
	time.Sleep(200 * time.Millisecond) // let a stray admin request reach the log
	if l := adminLines(); len(l) != adminLogs {
		t.Fatalf("Caddy's admin endpoint received %d requests while only gateway requests were sent:\n%s", len(l)-adminLogs,
			strings.Join(l[adminLogs:], "\n"))
	}
	_, configAfter, err := p.admin(http.MethodGet, "/config/", "")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(configBefore, configAfter) {
		t.Fatalf("the running config changed:\nbefore %s\nafter  %s", configBefore, configAfter)
	}
	// The providers saw nothing but their own API paths.
	for name, up := range map[string]*fakeprovider.Server{"openai": openaiUp, "anthropic": anthropicUp, "azure": azureUp, "gemini": geminiUp} {
		for _, r := range up.Requests() {
			if strings.Contains(r.RawPath, "..") || strings.Contains(strings.ToLower(r.RawPath), "%2e") ||
				strings.Contains(r.Path, "/load") || strings.Contains(r.Path, "/stop") || strings.Contains(r.Path, "/config") {
				t.Errorf("%s received %s %s", name, r.Method, r.RawPath)
			}
		}
	}
	t.Logf("%d hostile requests; the admin endpoint got none", len(reqs))
}
