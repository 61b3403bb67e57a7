package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"testing"
)

func TestNewKey(t *testing.T) {
	type fields struct{ scope, surface, op, provider, model, body string }
	base := fields{"svc/7", "openai", "chat", "openai", "gpt-4o", `{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}`}
	tests := []struct {
		name string
		f    fields
		same bool
	}{
		{"identical", base, true},
		{"whitespace", fields{"svc/7", "openai", "chat", "openai", "gpt-4o", "{\n  \"model\": \"gpt-4o\",\r\n\t\"messages\": [ { \"role\": \"user\", \"content\": \"Hi\" } ]\n}\n"}, true},
		{"whitespace inside a string", fields{"svc/7", "openai", "chat", "openai", "gpt-4o", `{"model":"gpt-4o","messages":[{"role":"user","content":"Hi "}]}`}, false},
		{"scope", fields{"shared", "openai", "chat", "openai", "gpt-4o", base.body}, false},
		{"surface", fields{"svc/7", "anthropic", "chat", "openai", "gpt-4o", base.body}, false},
		{"operation", fields{"svc/7", "openai", "responses", "openai", "gpt-4o", base.body}, false},
		{"provider", fields{"svc/7", "openai", "chat", "azure", "gpt-4o", base.body}, false},
		{"model", fields{"svc/7", "openai", "chat", "openai", "gpt-4o-mini", base.body}, false},
		{"body", fields{"svc/7", "openai", "chat", "openai", "gpt-4o", `{"model":"gpt-4o","messages":[{"role":"user","content":"Ho"}]}`}, false},
		{"key order", fields{"svc/7", "openai", "chat", "openai", "gpt-4o", `{"messages":[{"role":"user","content":"Hi"}],"model":"gpt-4o"}`}, false},
		{"number spelling", fields{"svc/7", "openai", "chat", "openai", "gpt-4o", `{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}],"n":1.0}`}, false},
		// Length prefixes: moving a boundary between fields changes the key.
		{"boundary scope/surface", fields{"svc/7o", "penai", "chat", "openai", "gpt-4o", base.body}, false},
		{"boundary provider/model", fields{"svc/7", "openai", "chat", "openaigpt-4o", "", base.body}, false},
		{"boundary model/body", fields{"svc/7", "openai", "chat", "openai", "gpt-4o{}", base.body}, false},
	}
	want, err := NewKey(base.scope, base.surface, base.op, base.provider, base.model, []byte(base.body))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[Key]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.f
			got, err := NewKey(f.scope, f.surface, f.op, f.provider, f.model, []byte(f.body))
			if err != nil {
				t.Fatal(err)
			}
			if (got == want) != tt.same {
				t.Errorf("key equal to the base's: %v, want %v", got == want, tt.same)
			}
			if !tt.same {
				if other, ok := seen[got]; ok {
					t.Errorf("same key as %q", other)
				}
				seen[got] = tt.name
			}
		})
	}
}

func TestNewKeyLayout(t *testing.T) {
	// The key is the SHA-256 of the domain, the length-prefixed fields and
	// the compacted body after its 8-byte length, as documented.
	var b []byte
	b = append(b, keyDomain...)
	for _, f := range []string{"shared", "openai", "chat", "openai", "gpt-4o"} {
		b = append(b, byte(len(f)))
		b = append(b, f...)
	}
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 7)
	b = append(b, `{"a":1}`...)
	got, err := NewKey("shared", "openai", "chat", "openai", "gpt-4o", []byte("{ \"a\": 1 }"))
	if err != nil {
		t.Fatal(err)
	}
	if want := Key(sha256.Sum256(b)); got != want {
		t.Errorf("key = %s, want %s", got, want)
	}
}

func TestNewKeyInvalidJSON(t *testing.T) {
	for _, body := range []string{
		"", " ", "{", "}", `{"a":}`, `{"a" 1}`, `{a:1}`, `[1,]`, `[1 2]`, `{} {}`, `nul`, `tru`, `01`, `1.`, `.5`, `-`, `1e`, `+1`,
		"\"a\x01\"", `"\x"`, `"\u12"`, `"abc`, `{"a":1,}`, "\xef\xbb\xbf{}", `'a'`, `NaN`,
	} {
		t.Run(body, func(t *testing.T) {
			if _, err := NewKey("shared", "openai", "chat", "openai", "gpt-4o", []byte(body)); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestNewKeyNoAllocs(t *testing.T) {
	body := benchBody(4 << 10)
	NewKey("shared", "openai", "chat", "openai", "gpt-4o", body) // warm the pool
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := NewKey("shared", "openai", "chat", "openai", "gpt-4o", body); err != nil {
			t.Fatal(err)
		}
	})
	// The race detector's sync.Pool drops items at random.
	if allocs > 0 && !raceEnabled {
		t.Errorf("NewKey allocates %v times per call", allocs)
	}
}

// compactCases are valid and invalid documents for comparing appendCompact
// with json.Compact.
var compactCases = []string{
	`{}`, `[]`, `""`, `0`, `-0`, `1.5e+10`, `-12.25E-3`, `true`, `false`, `null`,
	" { \"a\" : [ 1 , 2 , { } , [ ] , \"x y\" ] , \"b\" : null }\n",
	`{"a":"\"\\\/\b\f\n\r\t\u00e9\uD83D\uDE00"}`,
	"\"caf\xc3\xa9 \xff invalid utf-8 kept\"",
	`[[[[[[[[[[]]]]]]]]]]`, `{"a":{"b":{"c":[true,false,null]}}}`,
	"\t\r\n 42 \t\r\n",
	"", " ", "{", "[", `{"a"}`, `{"a":1,}`, `[1,]`, `[,]`, `{,}`, `{"a":1 "b":2}`, `]`, `1 2`,
	`00`, `-01`, `1.`, `1e+`, `-`, `.1`, `tr`, `truee`, `nulll`, `"\u00g0"`, `"\a"`, "\"\x1f\"", "\"tab\there\"",
	"\xef\xbb\xbf1", "\x00", `{"a":1}}`, `[1]]`, `{"a":[}`,
}

func TestAppendCompactMatchesEncodingJSON(t *testing.T) {
	cases := append([]string(nil), compactCases...)
	cases = append(cases,
		strings.Repeat("[", maxDepth)+strings.Repeat("]", maxDepth),
		strings.Repeat("[", maxDepth+1)+strings.Repeat("]", maxDepth+1),
		strings.Repeat(`{"a":`, maxDepth)+"1"+strings.Repeat("}", maxDepth),
		strings.Repeat(`{"a":`, maxDepth+1)+"1"+strings.Repeat("}", maxDepth+1),
		string(benchBody(4<<10)),
	)
	for _, in := range cases {
		name := in
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			checkCompact(t, []byte(in))
		})
	}
}

// checkCompact compares appendCompact with json.Compact on in.
func checkCompact(t *testing.T, in []byte) {
	t.Helper()
	var want bytes.Buffer
	wantErr := json.Compact(&want, in)
	got, _, err := appendCompact([]byte("prefix"), in, nil)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("appendCompact(%q) error = %v, json.Compact's = %v", in, err, wantErr)
	}
	if err == nil && string(got) != "prefix"+want.String() {
		t.Fatalf("appendCompact(%q) = %q, json.Compact's = %q", in, got, "prefix"+want.String())
	}
}

// FuzzAppendCompact checks appendCompact accepts exactly what json.Compact
// accepts, and produces the same.
func FuzzAppendCompact(f *testing.F) {
	for _, c := range compactCases {
		f.Add([]byte(c))
	}
	f.Add(benchBody(1 << 10))
	f.Fuzz(func(t *testing.T, in []byte) { checkCompact(t, in) })
}
