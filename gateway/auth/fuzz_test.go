package auth

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// presented is what a client sends a gateway token in: the four headers
// FromRequest reads, in its order of precedence, and the key query
// parameter.
type presented struct {
	authorization, xAPIKey, apiKey, googAPIKey, key string
}

// headers lists the presented headers in FromRequest's order of
// precedence.
func (p presented) headers() []struct{ name, value string } {
	return []struct{ name, value string }{
		{"Authorization", p.authorization},
		{"X-Api-Key", p.xAPIKey},
		{"Api-Key", p.apiKey},
		{"X-Goog-Api-Key", p.googAPIKey},
	}
}

// request builds the request in memory: header values are stored exactly
// as given, whatever bytes they hold.
func (p presented) request() *http.Request {
	r := httptest.NewRequest("POST", "/v1/chat/completions?key="+url.QueryEscape(p.key), nil)
	for _, h := range p.headers() {
		if h.value != "" {
			r.Header.Set(h.name, h.value)
		}
	}
	return r
}

// wireRequest builds the request as net/http's server would read it from
// the connection, or returns nil when the values cannot be sent on the
// wire at all.
func (p presented) wireRequest() *http.Request {
	var b strings.Builder
	b.WriteString("POST /v1/chat/completions?key=" + url.QueryEscape(p.key) + " HTTP/1.1\r\nHost: gw\r\n")
	for _, h := range p.headers() {
		if h.value == "" {
			continue
		}
		if strings.ContainsAny(h.value, "\r\n\x00") {
			return nil
		}
		b.WriteString(h.name + ": " + h.value + "\r\n")
	}
	b.WriteString("\r\n")
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(b.String())))
	if err != nil {
		return nil
	}
	return r
}

// checkFromRequest checks FromRequest on r against the values r carries
// (after whatever parsing built r) and the raw values the client meant to
// send (p).
func checkFromRequest(t *testing.T, how string, r *http.Request, p presented) {
	t.Helper()
	got := FromRequest(r)

	// Never invented: the token is a part of something the client sent.
	if got != "" {
		found := false
		for _, v := range []string{p.authorization, p.xAPIKey, p.apiKey, p.googAPIKey, p.key} {
			if strings.Contains(v, got) {
				found = true
				break
			}
		}
		if !found {
			t.Fatalf("%s: FromRequest = %q, which is none of the presented values %+v", how, got, p)
		}
	}

	// Precedence: a non-empty Authorization decides alone; otherwise the
	// first non-empty API-key header; otherwise ?key=.
	if a := r.Header.Get("Authorization"); a != "" {
		want := a
		if len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
			want = strings.TrimSpace(a[7:])
		}
		if got != want {
			t.Fatalf("%s: Authorization %q: FromRequest = %q, want %q", how, a, got, want)
		}
		return
	}
	want := r.URL.Query().Get("key")
	for _, h := range []string{"X-Api-Key", "Api-Key", "X-Goog-Api-Key"} {
		if v := r.Header.Get(h); v != "" {
			want = v
			break
		}
	}
	if got != want {
		t.Fatalf("%s: FromRequest = %q, want %q (headers %v, query %q)", how, got, want, r.Header, r.URL.RawQuery)
	}
}

// FuzzFromRequest builds requests from fuzzed header values and a fuzzed
// ?key= parameter, both in memory (any bytes) and as read from the wire.
// FromRequest must not panic, must return something the client sent (never
// an invented value), must follow its documented precedence, and must
// return X for `Authorization: Bearer X`.
func FuzzFromRequest(f *testing.F) {
	seeds := []struct {
		bearer                                          bool
		authorization, xAPIKey, apiKey, googAPIKey, key string
	}{
		{true, "llmgw_abc", "", "", "", ""},
		{false, "bearer   llmgw_abc ", "", "", "", ""},
		{false, "Basic Zm9v", "", "", "", ""},
		{false, "", "llmgw_x", "llmgw_a", "llmgw_g", "llmgw_q"},
		{false, "", "", "llmgw_a", "llmgw_g", "llmgw_q"},
		{false, "", "", "", "llmgw_g", "llmgw_q"},
		{false, "", "", "", "", "llmgw_q"},
		{false, "", "", "", "", ""},
		{true, "", "llmgw_x", "", "", ""}, // "Bearer " alone
		{true, " \t ", "llmgw_x", "", "", ""},
		{false, "BEARER", "llmgw_x", "", "", ""},
		{false, "Bearer", "", "", "", "llmgw_q"},
		{false, "bEaReR\tllmgw_tab", "", "", "", ""},
		{true, "llmgw_\u00e9\u0000\r\nx", "", "", "", "a b&key=c"},
		{false, "B\xffarer llmgw_x", "", "", "", "%zz"},
		{true, "\u00a0llmgw_nbsp\u2003", "", "", "", ""},
		{false, "Bearer\u212a llmgw", "", "", "", ""}, // Kelvin sign: folds to k, not to a letter of "bearer"
	}
	for _, s := range seeds {
		f.Add(s.bearer, s.authorization, s.xAPIKey, s.apiKey, s.googAPIKey, s.key)
	}
	f.Fuzz(func(t *testing.T, bearer bool, authorization, xAPIKey, apiKey, googAPIKey, key string) {
		p := presented{authorization, xAPIKey, apiKey, googAPIKey, key}
		if bearer {
			p.authorization = "Bearer " + authorization
		}
		checkFromRequest(t, "in memory", p.request(), p)
		if r := p.wireRequest(); r != nil {
			checkFromRequest(t, "from the wire", r, p)
		}
		// `Authorization: Bearer X` yields X, whatever else is sent.
		if bearer && authorization != "" && authorization == strings.TrimSpace(authorization) {
			if got := FromRequest(p.request()); got != authorization {
				t.Fatalf("Authorization: Bearer %q: FromRequest = %q", authorization, got)
			}
		}
	})
}
