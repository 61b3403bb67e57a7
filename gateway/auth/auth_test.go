package auth

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/token"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/storage"
)

// memStore is a minimal Lookup that counts reads.
type memStore struct {
	tokens   map[[32]byte]*storage.Token
	services map[string]*storage.Service
	reads    atomic.Int64
	touched  map[string]time.Time
}

func (m *memStore) GetTokenByHash(_ context.Context, h [32]byte) (*storage.Token, error) {
	m.reads.Add(1)
	if t, ok := m.tokens[h]; ok {
		c := *t
		return &c, nil
	}
	return nil, storage.ErrNotFound
}

func (m *memStore) GetService(_ context.Context, id string) (*storage.Service, error) {
	m.reads.Add(1)
	if s, ok := m.services[id]; ok {
		c := *s
		return &c, nil
	}
	return nil, storage.ErrNotFound
}

func (m *memStore) TouchTokens(_ context.Context, u map[string]time.Time) error {
	for k, v := range u {
		m.touched[k] = v
	}
	return nil
}

func newStore(t *testing.T) (*memStore, string) {
	plain, hash, err := token.New()
	if err != nil {
		t.Fatal(err)
	}
	m := &memStore{
		tokens:   map[[32]byte]*storage.Token{hash: {ID: "tok_1", ServiceID: "svc_1", Hash: hash}},
		services: map[string]*storage.Service{"svc_1": {ID: "svc_1", Active: true}},
		touched:  map[string]time.Time{},
	}
	return m, plain
}

func TestVerify(t *testing.T) {
	m, plain := newStore(t)
	v := NewVerifier(m, 0)
	ctx := context.Background()

	id, err := v.Verify(ctx, plain)
	if err != nil || id.Token.ID != "tok_1" || id.Service.ID != "svc_1" {
		t.Fatalf("Verify = %+v, %v", id, err)
	}
	reads := m.reads.Load()
	for range 100 {
		if _, err := v.Verify(ctx, plain); err != nil {
			t.Fatal(err)
		}
	}
	if m.reads.Load() != reads {
		t.Fatal("verified tokens are read from storage again")
	}

	// Garbage costs no storage read.
	m.reads.Store(0)
	for _, s := range []string{"", "sk-foo", "llmgw_" + plain[6:len(plain)-1] + "x", "' OR '1'='1"} {
		if _, err := v.Verify(ctx, s); !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrMissing) {
			t.Fatalf("Verify(%q) = %v", s, err)
		}
	}
	if m.reads.Load() != 0 {
		t.Fatalf("malformed tokens caused %d storage reads", m.reads.Load())
	}
	// A well-formed unknown token is looked up, and refused.
	other, _, _ := token.New()
	if _, err := v.Verify(ctx, other); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown token: %v", err)
	}
}

func TestRevocationAndExpiry(t *testing.T) {
	m, plain := newStore(t)
	v := NewVerifier(m, 0)
	ctx := context.Background()
	hash, _ := token.Check(plain)
	if _, err := v.Verify(ctx, plain); err != nil {
		t.Fatal(err)
	}

	m.tokens[hash].Revoked = true
	v.Invalidate()
	if _, err := v.Verify(ctx, plain); !errors.Is(err, ErrRevoked) {
		t.Fatalf("after revocation: %v", err)
	}

	m.tokens[hash].Revoked = false
	m.tokens[hash].ExpiresAt = time.Now().Add(time.Hour)
	v.Invalidate()
	if _, err := v.Verify(ctx, plain); err != nil {
		t.Fatal(err)
	}
	v.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	if _, err := v.Verify(ctx, plain); !errors.Is(err, ErrExpired) {
		t.Fatalf("after expiry: %v", err)
	}
	v.now = time.Now

	m.services["svc_1"].Active = false
	v.Invalidate()
	if _, err := v.Verify(ctx, plain); !errors.Is(err, ErrServiceInactive) {
		t.Fatalf("inactive service: %v", err)
	}
}

func TestLastUsedWrittenBehind(t *testing.T) {
	m, plain := newStore(t)
	v := NewVerifier(m, 0)
	ctx := context.Background()
	for range 10 {
		v.Verify(ctx, plain)
	}
	if len(m.touched) != 0 {
		t.Fatal("last-used written on the request path")
	}
	if err := v.FlushLastUsed(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.touched["tok_1"]; !ok || len(m.touched) != 1 {
		t.Fatalf("touched = %v", m.touched)
	}
}

func TestFromRequest(t *testing.T) {
	tests := []struct {
		header, value, query, want string
	}{
		{"Authorization", "Bearer llmgw_abc", "", "llmgw_abc"},
		{"Authorization", "bearer   llmgw_abc ", "", "llmgw_abc"},
		{"Authorization", "Basic Zm9v", "", "Basic Zm9v"},
		{"x-api-key", "llmgw_x", "", "llmgw_x"},
		{"api-key", "llmgw_a", "", "llmgw_a"},
		{"x-goog-api-key", "llmgw_g", "", "llmgw_g"},
		{"", "", "llmgw_q", "llmgw_q"},
		{"", "", "", ""},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("POST", "/v1/x?key="+tt.query, nil)
		if tt.header != "" {
			r.Header.Set(tt.header, tt.value)
		}
		if got := FromRequest(r); got != tt.want {
			t.Errorf("%s=%q ?key=%q: got %q, want %q", tt.header, tt.value, tt.query, got, tt.want)
		}
	}
}

// BenchmarkVerifyCached measures the hot path: a token verified before.
func BenchmarkVerifyCached(b *testing.B) {
	plain, hash, _ := token.New()
	m := &memStore{
		tokens:   map[[32]byte]*storage.Token{hash: {ID: "tok_1", ServiceID: "svc_1", Hash: hash}},
		services: map[string]*storage.Service{"svc_1": {ID: "svc_1", Active: true}},
		touched:  map[string]time.Time{},
	}
	v := NewVerifier(m, 0)
	ctx := context.Background()
	v.Verify(ctx, plain)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, plain); err != nil {
			b.Fatal(err)
		}
	}
}
