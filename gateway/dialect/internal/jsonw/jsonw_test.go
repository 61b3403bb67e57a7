package jsonw

import (
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

// stringSamples exercise every branch of AppendString.
var stringSamples = []string{
	"", "a", "plain ASCII text that is longer than eight bytes",
	`quote " and backslash \ inside`, "\x00\x01\x1f\x7f", "tab\tnewline\nreturn\rbell\bfeed\f",
	"<html> & 'single'", "héllo wörld — ünïcødé ✓ 日本語 🎉", "\u2028\u2029",
	"invalid \xff\xfe bytes", "truncated \xe2\x82", "\xef\xbf\xbd is U+FFFD",
	strings.Repeat("0123456789abcdef", 20) + "\n" + strings.Repeat("x", 13) + `"`,
	"12345678\"", "1234567\"8", "\x80abcdefgh",
}

// TestAppendString checks AppendString against jsontext.AppendQuote, the
// reference quoting (without HTML escaping, replacing invalid UTF-8).
func TestAppendString(t *testing.T) {
	for _, s := range stringSamples {
		want, _ := jsontext.AppendQuote(nil, s)
		if got := AppendString(nil, s); string(got) != string(want) {
			t.Errorf("AppendString(%q) = %s, want %s", s, got, want)
		}
		if got := AppendStringBytes([]byte("x"), []byte(s)); string(got) != "x"+string(want) {
			t.Errorf("AppendStringBytes(%q) = %s, want x%s", s, got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range stringSamples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := jsontext.AppendQuote(nil, s)
		if got := AppendString(nil, s); string(got) != string(want) {
			t.Errorf("AppendString(%q) = %s, want %s", s, got, want)
		}
	})
}
