package storage

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkGetTokenByHash looks up tokens by hash in a store of 20,000
// tokens (more than one memtable holds, so reads go to tables): the
// authentication path on a cache miss. "miss" is an unknown hash.
func BenchmarkGetTokenByHash(b *testing.B) {
	const n = 20_000
	dir := b.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	svc := mustService(b, s, "bench")
	createTokens(b, s, svc.ID, "bench", n, 16)
	// Reopen, as after a restart, so that flushes and compactions of the
	// bulk load do not run during the measurement.
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	if s, err = Open(dir, Options{}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	hashes := make([][32]byte, n)
	for i := range hashes {
		hashes[i] = hashOf(fmt.Sprintf("bench-%d", i))
	}
	ctx := context.Background()

	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := s.GetTokenByHash(ctx, hashes[i%n]); err != nil {
				b.Fatal(err)
			}
			i += 7919 // a prime: jump around the key space
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := s.GetTokenByHash(ctx, hashes[i%n]); err != nil {
					b.Error(err)
					return
				}
				i += 7919
			}
		})
	})
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		h := hashOf("not a token")
		for b.Loop() {
			if _, err := s.GetTokenByHash(ctx, h); !isNotFound(err) {
				b.Fatal(err)
			}
		}
	})
}
