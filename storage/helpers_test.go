package storage

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// Every test closes its stores: no Badger, GC or sync goroutine may
	// outlive them.
	goleak.VerifyTestMain(m)
}

// openTest opens a store in a fresh directory, closed when the test ends.
func openTest(t testing.TB) *Badger {
	t.Helper()
	b, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Error(err)
		}
	})
	return b
}

func hashOf(s string) [32]byte { return sha256.Sum256([]byte(s)) }

func mustService(t testing.TB, b *Badger, name string) *Service {
	t.Helper()
	s := &Service{Name: name, Active: true}
	if err := b.CreateService(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	return s
}

func mustToken(t testing.TB, b *Badger, serviceID, secret string) *Token {
	t.Helper()
	tok := &Token{ServiceID: serviceID, Name: "token " + secret, Hash: hashOf(secret), Prefix: "llmgw_" + secret[:min(4, len(secret))]}
	if err := b.CreateToken(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	return tok
}

// createTokens stores n tokens of the service with the given number of
// writers; the secrets are tag-0 … tag-(n-1).
func createTokens(tb testing.TB, b *Badger, serviceID, tag string, n, writers int) {
	tb.Helper()
	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		errOnce sync.Once
		first   error
	)
	for range writers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				tok := newTestToken(serviceID, fmt.Sprintf("%s-%d", tag, i))
				if err := b.CreateToken(context.Background(), tok); err != nil {
					errOnce.Do(func() { first = err })
					return
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		tb.Fatal(first)
	}
}

// newTestToken is a token record of realistic size.
func newTestToken(serviceID, secret string) *Token {
	return &Token{
		ServiceID: serviceID,
		Name:      "ci runner " + secret,
		Hash:      hashOf(secret),
		Prefix:    "llmgw_3kT9",
		Labels:    map[string]string{"team": "research", "env": "prod"},
		Limits:    Limits{RPM: 600, TPM: 100000},
	}
}

func wantErr(t testing.TB, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
