package seal

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	s, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("sk-proj-canary-0123456789")
	sealed, err := s.Seal(secret, []byte("openai/pk_1"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, secret) {
		t.Fatal("sealed value contains the plaintext")
	}
	got, err := s.Open(sealed, []byte("openai/pk_1"))
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := s.Open(sealed, []byte("openai/pk_2")); err == nil {
		t.Fatal("opened with another record's aad")
	}
	other, _ := New(bytes.Repeat([]byte{8}, 32))
	if _, err := other.Open(sealed, []byte("openai/pk_1")); err == nil {
		t.Fatal("opened with another key")
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := s.Open(sealed, []byte("openai/pk_1")); err == nil {
		t.Fatal("opened an altered value")
	}
	again, _ := s.Seal(secret, nil)
	if bytes.Equal(again[:12], sealed[:12]) {
		t.Fatal("nonce reused")
	}
}

func TestNoKey(t *testing.T) {
	var s *Sealer
	if _, err := s.Seal([]byte("x"), nil); !errors.Is(err, ErrNoKey) || !strings.Contains(err.Error(), "openssl rand -base64 32") {
		t.Fatalf("err = %v", err)
	}
}

func TestParseKey(t *testing.T) {
	raw := bytes.Repeat([]byte{0xab}, 32)
	for _, s := range []string{base64.StdEncoding.EncodeToString(raw), base64.RawURLEncoding.EncodeToString(raw), hex.EncodeToString(raw), " " + base64.StdEncoding.EncodeToString(raw) + "\n"} {
		k, err := ParseKey(s)
		if err != nil || !bytes.Equal(k, raw) {
			t.Errorf("ParseKey(%q) = %x, %v", s, k, err)
		}
	}
	for _, s := range []string{"", "short", base64.StdEncoding.EncodeToString(raw[:16]), "passphrase-of-some-length"} {
		if _, err := ParseKey(s); err == nil {
			t.Errorf("ParseKey(%q) accepted", s)
		}
	}
}
