// Package token makes and checks gateway tokens.
//
// A token is "llmgw_", then 43 base62 characters encoding 32 random bytes,
// then 6 base62 characters of the CRC32 (IEEE) of everything before them,
// in the style of GitHub's tokens: the prefix makes leaked tokens easy to
// find, and the checksum lets a malformed or mistyped token be refused
// without any storage read. Only the SHA-256 of a token is stored.
package token

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"hash/crc32"
	"math/big"
	"strings"
)

// Prefix starts every gateway token.
const Prefix = "llmgw_"

const (
	randomLen   = 43 // base62 digits of 32 bytes: 62^43 > 2^256
	checksumLen = 6  // base62 digits of a CRC32: 62^6 > 2^32
	// Len is the length of a token.
	Len = len(Prefix) + randomLen + checksumLen
)

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// ErrMalformed is returned for a string that is not a well-formed token.
var ErrMalformed = errors.New("malformed gateway token")

// New returns a fresh token and its SHA-256.
func New() (plaintext string, hash [32]byte, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", hash, err
	}
	body := Prefix + encode(new(big.Int).SetBytes(b[:]), randomLen)
	plaintext = body + encode(big.NewInt(int64(crc32.ChecksumIEEE([]byte(body)))), checksumLen)
	return plaintext, sha256.Sum256([]byte(plaintext)), nil
}

// encode writes n in base62 with exactly width digits, zero-padded.
func encode(n *big.Int, width int) string {
	out := make([]byte, width)
	base := big.NewInt(62)
	mod := new(big.Int)
	for i := width - 1; i >= 0; i-- {
		n.DivMod(n, base, mod)
		out[i] = alphabet[mod.Int64()]
	}
	return string(out)
}

// Check verifies the format and checksum of s and returns its SHA-256. It
// reads no storage and does a constant amount of work for any input.
func Check(s string) ([32]byte, error) {
	if len(s) != Len || s[:len(Prefix)] != Prefix {
		return [32]byte{}, ErrMalformed
	}
	for i := len(Prefix); i < Len; i++ {
		if digit(s[i]) < 0 {
			return [32]byte{}, ErrMalformed
		}
	}
	var sum uint64
	for i := Len - checksumLen; i < Len; i++ {
		sum = sum*62 + uint64(digit(s[i]))
	}
	if sum != uint64(crc32.ChecksumIEEE([]byte(s[:Len-checksumLen]))) {
		return [32]byte{}, ErrMalformed
	}
	return sha256.Sum256([]byte(s)), nil
}

func digit(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 36
	}
	return -1
}

// Display is the part of a token that may be shown and logged: the prefix
// and the first four random characters.
func Display(plaintext string) string {
	if len(plaintext) < len(Prefix)+4 {
		return Prefix
	}
	return plaintext[:len(Prefix)+4]
}

// Redact replaces anything in s that looks like a gateway token with its
// display form, so text that echoes caller input (an id or path in an
// error message) never repeats a token.
func Redact(s string) string {
	for i := 0; ; {
		j := strings.Index(s[i:], Prefix)
		if j < 0 {
			return s
		}
		start := i + j
		end := start + len(Prefix)
		for end < len(s) && digit(s[end]) >= 0 {
			end++
		}
		if end-start > len(Prefix)+4 {
			s = s[:start] + s[start:start+len(Prefix)+4] + "…" + s[end:]
			end = start + len(Prefix) + 4 + len("…")
		}
		i = end
	}
}
