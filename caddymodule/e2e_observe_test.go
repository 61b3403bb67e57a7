//go:build linux

package caddymodule_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/fakeprovider"
)

// exampleConfig renders Caddyfile.example for a test: its own ports and
// storage directory, and the openai provider pointed at a fake. Everything
// else (the access-log filter, the cache, the audit log) is as shipped.
func exampleConfig(t *testing.T, e *e2eEnv, openaiURL string) func(adminPort, httpPort int) string {
	t.Helper()
	raw, err := os.ReadFile("../Caddyfile.example")
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	for _, r := range []struct{ old, new string }{
		{"admin localhost:2019", "admin 127.0.0.1:%[1]d"},
		{"# storage_dir /var/lib/caddy/llm_gateway", "storage_dir " + e.storage},
		{"\n:8080 {", "\n:%[2]d {"},
		{"provider openai openai {", "provider openai openai {\n\t\t\tbase_url " + openaiURL},
	} {
		if !strings.Contains(text, r.old) {
			t.Fatalf("Caddyfile.example no longer contains %q", r.old)
		}
		text = strings.Replace(text, r.old, r.new, 1)
	}
	text = strings.ReplaceAll(text, "%", "%%")
	text = strings.ReplaceAll(text, "%%[1]d", "%[1]d")
	text = strings.ReplaceAll(text, "%%[2]d", "%[2]d")
	return func(adminPort, httpPort int) string { return fmt.Sprintf(text, adminPort, httpPort) }
}

// TestE2EExampleConfig runs the shipped Caddyfile.example and checks what
// it promises beyond routing:
//   - its access-log filter: a gateway token sent in any of the places a
//     client may put it (Authorization, x-api-key, api-key, x-goog-api-key,
//     ?key=) never appears in the access log, or anywhere in Caddy's output;
//   - its cache: a repeated request is a HIT, streams included, and the
//     replayed stream is byte for byte the live one;
//   - the audit log and usage report: one record per request (rejections
//     included), usage counts matching;
//   - metrics at the admin /metrics, kept across a config reload.
func TestE2EExampleConfig(t *testing.T) {
	const providerKey = "sk-example-e2e-provider-key-0123456789"
	up := fakeprovider.New(t, fakeprovider.OpenAI, providerKey)
	e := newE2EEnv(t, "OPENAI_API_KEY="+providerKey, "LLM_GATEWAY_ENCRYPTION_KEY="+e2eEncryptionKey)
	p := e.start(t, e2eConfig{Render: exampleConfig(t, e, up.URL)})
	svc := p.createService(t, "example")
	tok := p.mintToken(t, svc)

	send := func(where, body string, header http.Header) (*http.Response, []byte) {
		t.Helper()
		u := p.url + "/v1/chat/completions"
		req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		switch where {
		case "authorization":
			req.Header.Set("Authorization", "Bearer "+tok.Token)
		case "key":
			req.URL.RawQuery = "key=" + tok.Token
		default:
			req.Header.Set(where, tok.Token)
		}
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := e2eHTTP.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, b
	}

	// Every way in, each answered; the first is a MISS, then HITs.
	places := []string{"authorization", "X-Api-Key", "Api-Key", "X-Goog-Api-Key", "key"}
	body := e2eChatMessage("gpt-4o-mini", false, "cache me")
	for i, where := range places {
		resp, b := send(where, body, nil)
		want := "HIT"
		if i == 0 {
			want = "MISS"
		}
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Cache") != want {
			t.Fatalf("%s: status %d, X-Cache %q (want %s): %s", where, resp.StatusCode, resp.Header.Get("X-Cache"), want, b)
		}
	}
	if n := len(up.Requests()); n != 1 {
		t.Fatalf("the provider got %d requests for one cached answer, want 1", n)
	}
	// no-cache bypasses; a stream is recorded, then replayed identically.
	if resp, _ := send("authorization", body, http.Header{"Cache-Control": {"no-cache"}}); resp.Header.Get("X-Cache") != "BYPASS" {
		t.Errorf("no-cache: X-Cache %q, want BYPASS", resp.Header.Get("X-Cache"))
	}
	stream := e2eChatMessage("gpt-4o-mini", true, "stream me")
	live, liveBody := send("authorization", stream, nil)
	replayed, replayBody := send("authorization", stream, nil)
	if live.Header.Get("X-Cache") != "MISS" || replayed.Header.Get("X-Cache") != "HIT" {
		t.Fatalf("stream: X-Cache %q then %q, want MISS then HIT", live.Header.Get("X-Cache"), replayed.Header.Get("X-Cache"))
	}
	if !bytes.Equal(liveBody, replayBody) || replayed.Header.Get("Content-Type") != "text/event-stream" {
		t.Errorf("the replayed stream differs from the live one:\nlive:   %q\nreplay: %q", liveBody, replayBody)
	}
	// A rejection: a wrong token.
	req, _ := http.NewRequest(http.MethodPost, p.url+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("X-Api-Key", "llmgw_not-a-token")
	if resp, err := e2eHTTP.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bad token: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	const requests = 5 + 1 + 2 + 1

	// The access log has a line per request, and no token anywhere.
	deadline := time.Now().Add(10 * time.Second)
	for len(p.logLines(`"logger":"http.log.access`)) < requests && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(p.logLines(`"logger":"http.log.access`)); n < requests {
		t.Fatalf("%d access log lines, want %d", n, requests)
	}
	if out := p.log(); strings.Contains(out, tok.Token) || strings.Contains(out, tok.Token[len("llmgw_"):]) || strings.Contains(out, providerKey) {
		t.Fatal("a token or the provider key appears in Caddy's output")
	}

	// The audit log: one record per request, newest first.
	var audit struct {
		Data []struct {
			ServiceID string  `json:"service_id"`
			Status    int     `json:"status"`
			CacheHit  bool    `json:"cache_hit"`
			Input     int64   `json:"input_tokens"`
			Cost      float64 `json:"cost_usd"`
			ErrorType string  `json:"error_type"`
		} `json:"data"`
	}
	p.adminJSON(t, "GET", "/llm_gateway/audit?limit=100", "", http.StatusOK, &audit)
	if len(audit.Data) != requests {
		t.Fatalf("%d audit records, want %d", len(audit.Data), requests)
	}
	hits, rejected := 0, 0
	for _, r := range audit.Data {
		switch {
		case r.Status == http.StatusUnauthorized && r.ServiceID == "" && r.ErrorType == "invalid_api_key":
			rejected++
		case r.CacheHit:
			hits++
			if r.Cost != 0 || r.Input != 0 {
				t.Errorf("a cache hit is recorded with cost %v and %d input tokens", r.Cost, r.Input)
			}
		case r.ServiceID != svc || r.Status != http.StatusOK:
			t.Errorf("unexpected record %+v", r)
		}
	}
	if hits != 5 || rejected != 1 {
		t.Errorf("%d hits and %d rejections recorded, want 5 and 1", hits, rejected)
	}
	var usage struct {
		Data []struct {
			Requests  int64   `json:"requests"`
			CacheHits int64   `json:"cache_hits"`
			Spend     float64 `json:"spend_usd"`
			Output    int64   `json:"output_tokens"`
		} `json:"data"`
	}
	p.adminJSON(t, "GET", "/llm_gateway/usage?service="+svc, "", http.StatusOK, &usage)
	if len(usage.Data) != 1 || usage.Data[0].Requests != requests-1 || usage.Data[0].CacheHits != 5 || usage.Data[0].Spend <= 0 || usage.Data[0].Output <= 0 {
		t.Errorf("usage %+v, want one day of %d requests with 5 cache hits and some spend", usage.Data, requests-1)
	}

	// Metrics at the admin endpoint, kept across a reload.
	before := metricValue(t, p, `caddy_llm_gateway_requests_total{cache="HIT",model="gpt-4o-mini",provider="openai",status="200",surface="openai"}`)
	if before != 5 {
		t.Errorf("requests_total of hits is %v, want 5", before)
	}
	if v := metricValue(t, p, `caddy_llm_gateway_rejections_total{reason="unauthenticated"}`); v != 1 {
		t.Errorf("rejections_total unauthenticated is %v, want 1", v)
	}
	cfg, _ := os.ReadFile(p.config)
	loadReq, _ := http.NewRequest(http.MethodPost, p.adminURL+"/load", bytes.NewReader(cfg))
	loadReq.Header.Set("Content-Type", "text/caddyfile")
	loadReq.Header.Set("Cache-Control", "must-revalidate") // force a reload of an identical config
	if resp, err := e2eHTTP.Do(loadReq); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("reload: %v %v", resp, err)
	}
	// The old server closes its keep-alive connections at the reload
	// (Caddy's behaviour, see the README's limits): start afresh.
	e2eHTTP.CloseIdleConnections()
	send("authorization", body, nil)
	if after := metricValue(t, p, `caddy_llm_gateway_requests_total{cache="HIT",model="gpt-4o-mini",provider="openai",status="200",surface="openai"}`); after != before+1 {
		t.Errorf("after a reload requests_total of hits is %v, want %v", after, before+1)
	}
	if out := p.log(); strings.Contains(out, tok.Token) {
		t.Fatal("a token appears in Caddy's output")
	}
}

// metricValue reads one sample from the admin endpoint's /metrics.
func metricValue(t *testing.T, p *caddyProc, series string) float64 {
	t.Helper()
	resp, err := e2eHTTP.Get(p.adminURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var names []string
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "caddy_llm_gateway") {
			names = append(names, line)
		}
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("no sample %s in /metrics; the gateway's are:\n%s", series, strings.Join(names, "\n"))
	return 0
}
