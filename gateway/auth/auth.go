// Package auth authenticates gateway tokens.
//
// A token is checked in three steps: its format and checksum (no storage
// read for garbage), then an in-memory LRU of verified tokens (no storage
// read on the hot path), then the store. Any change to tokens or services
// invalidates the cache, so a revocation takes effect on the very next
// request.
package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/token"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/storage"
)

// Errors of Verify. Their messages are safe to show to the client.
var (
	ErrMissing         = errors.New("no gateway token: send it as `Authorization: Bearer <token>`, `x-api-key`, `api-key` or `x-goog-api-key`")
	ErrInvalid         = errors.New("invalid gateway token")
	ErrExpired         = errors.New("gateway token has expired")
	ErrRevoked         = errors.New("gateway token has been revoked")
	ErrServiceInactive = errors.New("the token's service is inactive")
)

// Identity is who a request acts for.
type Identity struct {
	Token   *storage.Token
	Service *storage.Service

	touched atomic.Int64 // unix seconds of the last recorded use
}

// Lookup is what the verifier reads from storage.
type Lookup interface {
	GetTokenByHash(ctx context.Context, hash [32]byte) (*storage.Token, error)
	GetService(ctx context.Context, id string) (*storage.Service, error)
	TouchTokens(ctx context.Context, lastUsed map[string]time.Time) error
}

// DefaultCacheSize is the number of verified tokens kept in memory.
const DefaultCacheSize = 1 << 16

// touchEvery bounds how often one token's last-used time is recorded.
const touchEvery = time.Minute

// Verifier verifies tokens. It is safe for concurrent use.
type Verifier struct {
	store Lookup
	cache *lru.Cache[[32]byte, *Identity]
	gen   atomic.Uint64
	now   func() time.Time

	mu   sync.Mutex
	used map[string]time.Time // token ID -> last use, not yet written
}

// NewVerifier returns a Verifier reading from store.
func NewVerifier(store Lookup, cacheSize int) *Verifier {
	if cacheSize <= 0 {
		cacheSize = DefaultCacheSize
	}
	c, _ := lru.New[[32]byte, *Identity](cacheSize) // only fails for a size ≤ 0
	return &Verifier{store: store, cache: c, now: time.Now, used: map[string]time.Time{}}
}

// Verify returns the identity of a plaintext token.
func (v *Verifier) Verify(ctx context.Context, plaintext string) (*Identity, error) {
	if plaintext == "" {
		return nil, ErrMissing
	}
	hash, err := token.Check(plaintext)
	if err != nil {
		return nil, ErrInvalid
	}
	id, ok := v.cache.Get(hash)
	if !ok {
		if id, err = v.load(ctx, hash); err != nil {
			return nil, err
		}
	}
	now := v.now()
	switch {
	case id.Token.Revoked:
		return nil, ErrRevoked
	case !id.Token.ExpiresAt.IsZero() && !now.Before(id.Token.ExpiresAt):
		return nil, ErrExpired
	case !id.Service.Active:
		return nil, ErrServiceInactive
	}
	if last := id.touched.Load(); now.Unix()-last >= int64(touchEvery/time.Second) && id.touched.CompareAndSwap(last, now.Unix()) {
		v.mu.Lock()
		v.used[id.Token.ID] = now
		v.mu.Unlock()
	}
	return id, nil
}

func (v *Verifier) load(ctx context.Context, hash [32]byte) (*Identity, error) {
	gen := v.gen.Load()
	t, err := v.store.GetTokenByHash(ctx, hash)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrInvalid
	}
	if err != nil {
		return nil, fmt.Errorf("looking up token: %w", err)
	}
	// The store found the record by hash; check it in constant time anyway,
	// so a corrupted index can never authenticate the wrong token.
	if subtle.ConstantTimeCompare(t.Hash[:], hash[:]) != 1 {
		return nil, ErrInvalid
	}
	s, err := v.store.GetService(ctx, t.ServiceID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrInvalid
	}
	if err != nil {
		return nil, fmt.Errorf("looking up service: %w", err)
	}
	id := &Identity{Token: t, Service: s}
	// Cache only if nothing changed while we read: an invalidation that
	// raced with this lookup must not be undone by a stale entry.
	if v.gen.Load() == gen {
		v.cache.Add(hash, id)
	}
	return id, nil
}

// Invalidate drops every cached token. Call it after any change to tokens
// or services.
func (v *Verifier) Invalidate() {
	v.gen.Add(1)
	v.cache.Purge()
}

// FlushLastUsed writes the recorded last-used times to the store.
func (v *Verifier) FlushLastUsed(ctx context.Context) error {
	v.mu.Lock()
	if len(v.used) == 0 {
		v.mu.Unlock()
		return nil
	}
	batch := v.used
	v.used = map[string]time.Time{}
	v.mu.Unlock()
	return v.store.TouchTokens(ctx, batch)
}

// FromRequest returns the gateway token a request carries, from the first
// of: `Authorization: Bearer`, `x-api-key`, `api-key`, `x-goog-api-key`,
// the `key` query parameter.
func FromRequest(r *http.Request) string {
	if a := r.Header.Get("Authorization"); a != "" {
		if len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
			return strings.TrimSpace(a[7:])
		}
		return a // malformed: fails the format check
	}
	for _, h := range []string{"X-Api-Key", "Api-Key", "X-Goog-Api-Key"} {
		if v := r.Header.Get(h); v != "" {
			return v
		}
	}
	return r.URL.Query().Get("key")
}
