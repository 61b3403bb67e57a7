package provider

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/fakeprovider"
)

const geminiKey = "AIzaSyTest-0123456789abcdefghijklmnop"

// recorder is a RoundTripper that answers 200 {} and keeps the requests.
type recorder struct{ reqs []*http.Request }

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.reqs = append(r.reqs, req)
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(strings.NewReader("{}")),
		Request:    req,
	}, nil
}

func (r *recorder) last(t *testing.T) *http.Request {
	t.Helper()
	if len(r.reqs) == 0 {
		t.Fatal("no request sent")
	}
	return r.reqs[len(r.reqs)-1]
}

func newTestGemini(t *testing.T, baseURL, key string) (Provider, *recorder) {
	t.Helper()
	rt := &recorder{}
	p, err := New(Config{Name: "g", Type: "gemini", BaseURL: baseURL, APIKey: key, Transport: rt})
	if err != nil {
		t.Fatal(err)
	}
	return p, rt
}

func sendTo(t *testing.T, p Provider, c *Call) {
	t.Helper()
	resp, err := p.Send(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
}

func TestGeminiAdapter(t *testing.T) {
	p, err := New(Config{Name: "g", Type: "gemini"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Type() != "gemini" || p.Dialect() != DialectGemini || p.Name() != "g" {
		t.Errorf("adapter = %s %s %s", p.Name(), p.Type(), p.Dialect())
	}
	for _, op := range []Operation{OpChatCompletions, OpResponses, OpEmbeddings, OpMessages, OpCountTokens, OpGenerateContent} {
		if got, want := p.Supports(op), op == OpGenerateContent; got != want {
			t.Errorf("Supports(%s) = %v", op, got)
		}
	}
	if _, err := p.Send(context.Background(), &Call{Op: OpEmbeddings, Model: "text-embedding-004"}); err == nil || !strings.Contains(err.Error(), "does not support embeddings") {
		t.Errorf("embeddings: %v", err)
	}
	if !slices.Contains(Types(), "gemini") {
		t.Errorf("Types() = %v", Types())
	}
}

func TestGeminiURL(t *testing.T) {
	tests := []struct {
		name    string
		base    string // provider base_url ("" = default)
		callURL string // Call.BaseURL
		model   string
		stream  bool
		want    string
	}{
		{"default", "", "", "gemini-2.5-flash", false,
			"https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"},
		{"default stream", "", "", "gemini-2.5-flash", true,
			"https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"},
		{"trailing slash", "https://generativelanguage.googleapis.com/", "", "gemini-2.5-pro", false,
			"https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:generateContent"},
		{"base ends in v1beta", "https://generativelanguage.googleapis.com/v1beta", "", "gemini-2.5-pro", false,
			"https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:generateContent"},
		{"base ends in v1beta/", "http://proxy.local:8080/gemini/v1beta/", "", "gemini-2.5-pro", true,
			"http://proxy.local:8080/gemini/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse"},
		{"base ends in v1", "https://generativelanguage.googleapis.com/v1", "", "gemini-2.5-pro", false,
			"https://generativelanguage.googleapis.com/v1/models/gemini-2.5-pro:generateContent"},
		{"base ends in v1alpha", "https://generativelanguage.googleapis.com/v1alpha", "", "gemini-2.5-pro", false,
			"https://generativelanguage.googleapis.com/v1alpha/models/gemini-2.5-pro:generateContent"},
		{"proxy path without version", "http://proxy.local/gemini", "", "gemini-2.5-pro", false,
			"http://proxy.local/gemini/v1beta/models/gemini-2.5-pro:generateContent"},
		{"version-like prefix is not a version", "http://proxy.local/v1betas", "", "m", false,
			"http://proxy.local/v1betas/v1beta/models/m:generateContent"},
		{"call base URL", "", "http://other.local/v1", "gemini-2.0-flash", false,
			"http://other.local/v1/models/gemini-2.0-flash:generateContent"},
		{"call base URL without version", "https://generativelanguage.googleapis.com/v1", "http://other.local", "m", true,
			"http://other.local/v1beta/models/m:streamGenerateContent?alt=sse"},
		{"models/ prefix dropped", "", "", "models/gemini-2.5-flash", false,
			"https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"},
		{"space escaped", "", "", "my model", false,
			"https://generativelanguage.googleapis.com/v1beta/models/my%20model:generateContent"},
		{"query and fragment characters escaped", "", "", "a?b#c", false,
			"https://generativelanguage.googleapis.com/v1beta/models/a%3Fb%23c:generateContent"},
		{"percent escaped", "", "", "a%2Fb", false,
			"https://generativelanguage.googleapis.com/v1beta/models/a%252Fb:generateContent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, rt := newTestGemini(t, tt.base, geminiKey)
			sendTo(t, p, &Call{Op: OpGenerateContent, Model: tt.model, Stream: tt.stream, BaseURL: tt.callURL, Body: []byte(`{}`)})
			req := rt.last(t)
			if got := req.URL.String(); got != tt.want {
				t.Errorf("URL = %s\nwant  %s", got, tt.want)
			}
			if req.Method != http.MethodPost {
				t.Errorf("method = %s", req.Method)
			}
		})
	}
}

func TestGeminiModelRefused(t *testing.T) {
	tests := []struct{ name, model string }{
		{"empty", ""},
		{"only the prefix", "models/"},
		{"colon picks a method", "gemini-2.5-flash:countTokens"},
		{"colon after prefix", "models/a:b"},
		{"slash", "tunedModels/x"},
		{"slash after prefix", "models/a/b"},
		{"dot dot", ".."},
		{"dot dot after prefix", "models/.."},
		{"control character", "a\nb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, rt := newTestGemini(t, "", geminiKey)
			_, err := p.Send(context.Background(), &Call{Op: OpGenerateContent, Model: tt.model, Body: []byte(`{}`)})
			if err == nil {
				t.Fatalf("model %q accepted", tt.model)
			}
			if len(rt.reqs) != 0 {
				t.Errorf("a request was sent for model %q", tt.model)
			}
		})
	}
}

func TestGeminiAuth(t *testing.T) {
	tests := []struct {
		name    string
		cfgKey  string
		callKey string
		header  http.Header // client headers let through
		want    string      // x-goog-api-key sent; "" = none
	}{
		{"configured key", geminiKey, "", nil, geminiKey},
		{"stored key replaces it", geminiKey, "AIzaSyStored-key-0123456789", nil, "AIzaSyStored-key-0123456789"},
		{"no key", "", "", nil, ""},
		{"client header cannot set the key", geminiKey, "", http.Header{"X-Goog-Api-Key": {"client-key"}}, geminiKey},
		{"client header dropped without a key", "", "", http.Header{"X-Goog-Api-Key": {"client-key"}, "Authorization": {"Bearer x"}}, ""},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", tt.name, stream), func(t *testing.T) {
				p, rt := newTestGemini(t, "", tt.cfgKey)
				sendTo(t, p, &Call{Op: OpGenerateContent, Model: "gemini-2.5-flash", Stream: stream, APIKey: tt.callKey, Header: tt.header, Body: []byte(`{}`)})
				req := rt.last(t)
				if got := req.Header.Values("X-Goog-Api-Key"); tt.want == "" && len(got) != 0 || tt.want != "" && !slices.Equal(got, []string{tt.want}) {
					t.Errorf("x-goog-api-key = %q, want %q", got, tt.want)
				}
				if req.Header.Get("Authorization") != "" {
					t.Errorf("Authorization sent: %q", req.Header.Get("Authorization"))
				}
				u := req.URL.String()
				if q := req.URL.Query(); q.Has("key") || strings.Contains(u, "key=") {
					t.Errorf("key in the URL: %s", u)
				}
				for _, k := range []string{geminiKey, tt.callKey} {
					if k != "" && strings.Contains(u, k) {
						t.Errorf("key in the URL: %s", u)
					}
				}
				if ct := req.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type = %q", ct)
				}
				wantAccept := "application/json"
				if stream {
					wantAccept = "text/event-stream"
				}
				if a := req.Header.Get("Accept"); a != wantAccept {
					t.Errorf("Accept = %q, want %q", a, wantAccept)
				}
			})
		}
	}
}

// TestGeminiAgainstFake sends both kinds of call to the fake Gemini server,
// which checks the key and the body as the API does.
func TestGeminiAgainstFake(t *testing.T) {
	up := fakeprovider.New(t, fakeprovider.Gemini, geminiKey)
	up.Set(fakeprovider.Behavior{Reply: "Hi there"})
	p, err := New(Config{Name: "g", Type: "gemini", BaseURL: up.URL, APIKey: geminiKey})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"contents":[{"role":"user","parts":[{"text":"Say hi"}]}]}`)
	tests := []struct {
		stream   bool
		path     string
		rawQuery string
		want     string
	}{
		{false, "/v1beta/models/gemini-2.5-flash:generateContent", "", `"text": "Hi there"`},
		{true, "/v1beta/models/gemini-2.5-flash:streamGenerateContent", "alt=sse", `"finishReason":"STOP"`},
	}
	for _, tt := range tests {
		resp, err := p.Send(context.Background(), &Call{Op: OpGenerateContent, Model: "gemini-2.5-flash", Stream: tt.stream, Body: body})
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(data), tt.want) {
			t.Errorf("stream=%v: %d %s (%v)", tt.stream, resp.StatusCode, data, err)
		}
		req := up.LastRequest()
		if req.Path != tt.path || req.RawQuery != tt.rawQuery || req.Header.Get("x-goog-api-key") != geminiKey {
			t.Errorf("upstream got %s?%s %v", req.Path, req.RawQuery, req.Header)
		}
	}

	// A wrong key: the API's 400 API_KEY_INVALID comes back as is.
	bad, err := New(Config{Name: "g", Type: "gemini", BaseURL: up.URL, APIKey: "AIzaSyWrong-key-0123456789"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := bad.Send(context.Background(), &Call{Op: OpGenerateContent, Model: "gemini-2.5-flash", Body: body})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(data), "API_KEY_INVALID") {
		t.Errorf("wrong key: %d %s", resp.StatusCode, data)
	}
}
