package token

import (
	"crypto/sha256"
	"strings"
	"testing"
)

func TestNewAndCheck(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		tok, hash, err := New()
		if err != nil {
			t.Fatal(err)
		}
		if len(tok) != Len || !strings.HasPrefix(tok, Prefix) || seen[tok] {
			t.Fatalf("bad or repeated token %q", tok)
		}
		seen[tok] = true
		got, err := Check(tok)
		if err != nil || got != hash || hash != sha256.Sum256([]byte(tok)) {
			t.Fatalf("Check(%q) = %x, %v", tok, got, err)
		}
		if d := Display(tok); len(d) != len(Prefix)+4 || !strings.HasPrefix(tok, d) {
			t.Fatalf("Display = %q", d)
		}
	}
}

func TestCheckRejects(t *testing.T) {
	good, _, _ := New()
	flip := func(i int) string {
		b := []byte(good)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	tests := map[string]string{
		"empty":            "",
		"prefix only":      Prefix,
		"short":            good[:Len-1],
		"long":             good + "0",
		"wrong prefix":     "llmgx_" + good[len(Prefix):],
		"bad character":    good[:10] + "-" + good[11:],
		"random changed":   flip(10),
		"checksum changed": flip(Len - 1),
		"sql":              "' OR '1'='1",
		"bearer text":      "Bearer " + good,
	}
	for name, s := range tests {
		if _, err := Check(s); err != ErrMalformed {
			t.Errorf("%s: Check(%q) = %v, want ErrMalformed", name, s, err)
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	tok, _, _ := New()
	for b.Loop() {
		if _, err := Check(tok); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzCheck(f *testing.F) {
	good, _, _ := New()
	f.Add(good)
	f.Add("llmgw_")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := Check(s)
		if err != nil {
			return
		}
		// Anything accepted has the exact shape and hashes to its SHA-256.
		if len(s) != Len || !strings.HasPrefix(s, Prefix) || h != sha256.Sum256([]byte(s)) {
			t.Fatalf("accepted %q", s)
		}
	})
}

func TestRedact(t *testing.T) {
	tok, _, _ := New()
	tests := map[string]string{
		"no token /llm_gateway/tokens/tok_1": "no token /llm_gateway/tokens/tok_1",
		"no token with id " + tok:            "no token with id " + tok[:len(Prefix)+4] + "…",
		tok + " and " + tok:                  tok[:len(Prefix)+4] + "… and " + tok[:len(Prefix)+4] + "…",
		"llmgw_ab":                           "llmgw_ab",
		"/v1/" + tok + "/x":                  "/v1/" + tok[:len(Prefix)+4] + "…/x",
	}
	for in, want := range tests {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
