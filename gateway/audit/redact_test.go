package audit

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/token"
)

// Key-shaped test values, built so no literal looks like a real secret.
var (
	openAIKey    = "sk-" + strings.Repeat("T3Bl", 12)
	projectKey   = "sk-proj-" + strings.Repeat("aB3_x-Z9", 20)
	anthropicKey = "sk-ant-api03-" + strings.Repeat("Qw7-", 24) + "AA"
	googleKey    = "AIza" + strings.Repeat("Sy9_k", 7)
	providerKey  = "prov-secret-" + strings.Repeat("9f", 10)
)

func TestRedact(t *testing.T) {
	gwToken, _, err := token.New()
	if err != nil {
		t.Fatal(err)
	}
	r := NewRedactor(providerKey, "short", "", "abcdefgh", "abcdefgh12345", "gh12345678", "abcdefgh", "5678abcdef")
	for _, tc := range []struct {
		name  string
		body  string
		limit int
		want  string
	}{
		{"empty", "", 0, ""},
		{"plain", `{"model":"gpt-4o","max_tokens":100,"token":"hello"}`, 0, `{"model":"gpt-4o","max_tokens":100,"token":"hello"}`},
		{"gateway token", `{"t":"` + gwToken + `"}`, 0, `{"t":"[REDACTED]"}`},
		{"gateway token in prose", "my token is " + gwToken + ", ok", 0, "my token is [REDACTED], ok"},
		{"gateway token display form kept", "token llmgw_3kT9 failed", 0, "token llmgw_3kT9 failed"},
		{"openai key", "key=" + openAIKey + "&x=1", 0, "key=[REDACTED]&x=1"},
		{"openai project key", `"` + projectKey + `"`, 0, `"[REDACTED]"`},
		{"anthropic key", "use " + anthropicKey + " now", 0, "use [REDACTED] now"},
		{"sk- inside a word kept", "task-force-deployment-planning-2026 disk-usage-monitoring-service", 0,
			"task-force-deployment-planning-2026 disk-usage-monitoring-service"},
		{"sk- key glued to a word", "key0sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8t and Task-Force-Deployment-Planning-Q", 0,
			"key0" + Redacted + " and Task-Force-Deployment-Planning-Q"},
		{"sk- after a JSON escape", `{"c":"line\n` + openAIKey + `\u0022` + openAIKey + `"}`, 0, `{"c":"line\n[REDACTED]\u0022[REDACTED]"}`},
		{"sk- after a URL escape", "q=%22" + projectKey + "%22", 0, "q=%22[REDACTED]%22"},
		{"key running into Bearer", openAIKey + "Bearer xyz", 0, "[REDACTED] [REDACTED]"},
		{"bearer after a JSON escape", `{"h":"a\nBearer tok"}`, 0, `{"h":"a\nBearer [REDACTED]"}`},
		{"google key", "?key=" + googleKey, 0, "?key=[REDACTED]"},
		{"bearer header", "Authorization: Bearer abc.def-ghi\nNext: 1", 0, "Authorization: Bearer [REDACTED]\nNext: 1"},
		{"bearer lower case", "bearer xyz'", 0, "bearer [REDACTED]'"},
		{"bearer in json with escapes", `{"h":"Bearer ab\/c\\","x":1}`, 0, `{"h":"Bearer [REDACTED]","x":1}`},
		{"bearer before an escaped quote", `"say \"Bearer tok\" ok"`, 0, `"say \"Bearer [REDACTED]\" ok"`},
		{"json api_key", `{"api_key":"v1"}`, 0, `{"api_key":"[REDACTED]"}`},
		{"json apikey", `{"apikey": "v1"}`, 0, `{"apikey": "[REDACTED]"}`},
		{"json api-key", `{"api-key":"v1"}`, 0, `{"api-key":"[REDACTED]"}`},
		{"json x-api-key", `{"X-Api-Key" : "v1", "n": 2}`, 0, `{"X-Api-Key" : "[REDACTED]", "n": 2}`},
		{"json authorization", `{"Authorization":"Basic dXNlcjpwYXNz"}`, 0, `{"Authorization":"[REDACTED]"}`},
		{"json password", `{"PASSWORD":"a\"b\\c","user":"bob"}`, 0, `{"PASSWORD":"[REDACTED]","user":"bob"}`},
		{"json secret", `{"secret":"s"}`, 0, `{"secret":"[REDACTED]"}`},
		{"json access_token", `{"access_token":"at"}`, 0, `{"access_token":"[REDACTED]"}`},
		{"json refresh_token", `{"refresh_token":"rt"}`, 0, `{"refresh_token":"[REDACTED]"}`},
		{"json client_secret", `{"client_secret":"cs"}`, 0, `{"client_secret":"[REDACTED]"}`},
		{"json camelCase and suffixes", `{"apiKey":"a","openai_api_key":"b","dbPassword":"c"}`, 0,
			`{"apiKey":"[REDACTED]","openai_api_key":"[REDACTED]","dbPassword":"[REDACTED]"}`},
		{"json number value", `{"password":123456,"n":1}`, 0, `{"password":"[REDACTED]","n":1}`},
		{"json empty value", `{"password":""}`, 0, `{"password":"[REDACTED]"}`},
		{"json unterminated value", `{"password":"hunter`, 0, `{"password":"[REDACTED]"`},
		{"json value mentioning a key kept", `{"q":"what is my password","a":"no"}`, 0, `{"q":"what is my password","a":"no"}`},
		{"escaped json", `{"arguments":"{\"password\":\"hunter2\",\"user\":\"bob\"}"}`, 0,
			`{"arguments":"{\"password\":\"[REDACTED]\",\"user\":\"bob\"}"}`},
		{"escaped json with inner quote", `{"arguments":"{\"api_key\": \"a\\\"b\\\\\",\"n\":1}"}`, 0,
			`{"arguments":"{\"api_key\": \"[REDACTED]\",\"n\":1}"}`},
		{"exact secret", "upstream said: bad key " + providerKey + ".", 0, "upstream said: bad key [REDACTED]."},
		{"exact secrets longest first", "x abcdefgh12345 y abcdefgh z", 0, "x [REDACTED] y [REDACTED] z"},
		{"short secret ignored", "short and sweet", 0, "short and sweet"},
		{"overlapping exact secrets merged", "xx" + "gh12345678abcdefgh12345" + "yy", 0, "xx[REDACTED]yy"},
		{"repeated exact secret", "<abcdefghabcdefgh12345>", 0, "<[REDACTED]>"},
		{"invalid utf-8", "a\xffb\xc3", 0, "a\uFFFDb\uFFFD"},
		{"no cut at the limit", "abcde", 5, "abcde"},
		{"cut", "abcdef", 5, "abcde" + Truncated},
		{"cut inside a rune", "ab€cd", 3, "ab" + Truncated},
		{"cut after a rune", "ab€cd", 5, "ab€" + Truncated},
		{"cut inside a secret", ":" + openAIKey + strings.Repeat("y", 100), 5, ":" + Truncated},
		{"cut inside an exact secret", "x" + providerKey + strings.Repeat("y", 100), 20, "x[REDACTED]yyyyyyyyy" + Truncated},
		{"cut just after a marker", ":" + openAIKey + " yy", 11, ":[REDACTED]" + Truncated},
		{"default limit", strings.Repeat("a", 70000), 0, strings.Repeat("a", 64<<10) + Truncated},
		{"secret far beyond the limit", strings.Repeat("a", 10) + strings.Repeat("b", 1<<20) + openAIKey, 10, strings.Repeat("a", 10) + Truncated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := r.Redact([]byte(tc.body), tc.limit)
			if got != tc.want {
				t.Fatalf("Redact(%q, %d)\n got %q\nwant %q", tc.body, tc.limit, got, tc.want)
			}
			if !utf8.ValidString(got) {
				t.Fatalf("invalid UTF-8: %q", got)
			}
		})
	}
}

func TestRedactNil(t *testing.T) {
	var r *Redactor
	if got := r.Redact([]byte("k="+openAIKey), 0); got != "k=[REDACTED]" {
		t.Fatalf("got %q", got)
	}
	if got := NewRedactor().Redact([]byte(providerKey), 0); got != providerKey {
		t.Fatalf("got %q", got)
	}
}

// TestRedactLargeBodies: when only a prefix of the body is examined, the
// result is the one redacting the whole body would give, even when
// redaction shrinks or grows the text a lot and secrets straddle the
// examined prefix; and no secret ever shows, whole or in part.
func TestRedactLargeBodies(t *testing.T) {
	r := NewRedactor(providerKey)
	secrets := []string{openAIKey, projectKey, anthropicKey, googleKey, providerKey}
	pieces := []string{
		"hello ", "é€𝄞 ", "\n", `{"n":1,`, `"password":"p4ss-word-xyz",`, `"apikey":1,`, "Bearer b3arer-cred ",
		`\"secret\":\"in-escaped-json\"`, "\xff",
	}
	pieces = append(pieces, secrets...)
	// No run of 12 characters of a secret may show, at the end or anywhere.
	grams := map[string]bool{}
	for _, s := range secrets {
		for i := 0; i+12 <= len(s); i++ {
			grams[s[i:i+12]] = true
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 3000 {
		var b strings.Builder
		n := 1 + rng.IntN(400)
		if iter%10 == 0 {
			n = 1000 + rng.IntN(2000)
		}
		for range n {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		body := b.String()
		limit := 1 + rng.IntN(len(body)+50)
		if iter%3 == 0 {
			limit = 1 + rng.IntN(200)
		}
		got := r.Redact([]byte(body), limit)
		want := truncate(r.redact(body), limit)
		if got != want {
			t.Fatalf("limit %d, body %q:\n got %q\nwant %q", limit, body, got, want)
		}
		if len(got) > limit+len(Truncated) || !utf8.ValidString(got) {
			t.Fatalf("limit %d: got %d bytes %q", limit, len(got), got)
		}
		for k := 0; k+12 <= len(got); k++ {
			if grams[got[k:k+12]] {
				t.Fatalf("limit %d: %q of a secret shows in %q", limit, got[k:k+12], got)
			}
		}
		for _, s := range []string{"p4ss", "b3arer", "in-escaped"} {
			if strings.Contains(got, s) {
				t.Fatalf("limit %d: %q shows in %q", limit, s, got)
			}
		}
	}
}

func FuzzRedact(f *testing.F) {
	r := NewRedactor(providerKey)
	f.Add([]byte(`{"password":"x","k":"`+openAIKey+`"}`), 20)
	f.Add([]byte("Bearer abc"), 8)
	f.Add([]byte("ab€cd"), 3)
	f.Fuzz(func(t *testing.T, body []byte, limit int) {
		limit %= 1 << 16
		got := r.Redact(body, limit)
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8 %q", got)
		}
		if limit <= 0 {
			limit = DefaultBodyLimit
		}
		if len(got) > limit+len(Truncated) {
			t.Fatalf("%d bytes for limit %d", len(got), limit)
		}
		if strings.Contains(got, providerKey) || strings.Contains(got, openAIKey) {
			t.Fatalf("secret in %q", got)
		}
		if want := truncate(r.redact(string(body)), limit); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
}
