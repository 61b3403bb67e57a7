// Package seal encrypts provider keys at rest with AES-256-GCM under the
// gateway's encryption key.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// ErrNoKey is returned when sealing is asked of a gateway that has no
// encryption key.
var ErrNoKey = errors.New("no encryption_key is configured: generate one with `openssl rand -base64 32`, " +
	"put it in an environment variable, and set `encryption_key {env.LLM_GATEWAY_ENCRYPTION_KEY}` in the llm_gateway global option")

// Sealer seals and opens secrets. The zero value and a nil *Sealer have no
// key and refuse to seal.
type Sealer struct {
	aead cipher.AEAD
}

// ParseKey decodes an encryption key: 32 bytes, written as standard or URL
// base64 (`openssl rand -base64 32`) or as 64 hex digits.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 64 {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, errors.New("encryption_key must be 32 bytes written as base64 (openssl rand -base64 32) or 64 hex digits")
}

// New returns a Sealer for a 32-byte key.
func New(key []byte) (*Sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("encryption key is %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("creating cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("creating GCM: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// CanSeal reports whether s has a key.
func (s *Sealer) CanSeal() bool { return s != nil && s.aead != nil }

// Seal encrypts plaintext; aad binds the result to its context (for
// example the provider name and key ID), so a sealed value cannot be moved
// to another record. The result is nonce || ciphertext.
func (s *Sealer) Seal(plaintext, aad []byte) ([]byte, error) {
	if !s.CanSeal() {
		return nil, ErrNoKey
	}
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return s.aead.Seal(nonce, nonce, plaintext, aad), nil
}

// Open decrypts what Seal produced with the same aad.
func (s *Sealer) Open(sealed, aad []byte) ([]byte, error) {
	if !s.CanSeal() {
		return nil, ErrNoKey
	}
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, errors.New("sealed value is too short")
	}
	pt, err := s.aead.Open(nil, sealed[:n], sealed[n:], aad)
	if err != nil {
		return nil, errors.New("sealed value does not open with this encryption key (wrong key, or the record was altered)")
	}
	return pt, nil
}
