package storage

import (
	"context"
	"fmt"
	"testing"
	"time"
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

// BenchmarkAddSpend adds a batch of 100 deltas (25 services and 25 tokens,
// day and month each) per call, as the gateway's spend writer does about
// once a second; each call is one transaction and one sync. "new" adds to
// a fresh window each call (every total is created), "existing" to the same
// totals (every total is read, added to and rewritten).
func BenchmarkAddSpend(b *testing.B) {
	s := openTest(b)
	ctx := context.Background()
	var scopes []string
	for range 25 {
		scopes = append(scopes, "svc/"+NewID(ServiceIDPrefix), "tok/"+NewID(TokenIDPrefix))
	}
	batch := func(d time.Time) []SpendDelta {
		deltas := make([]SpendDelta, 0, 2*len(scopes))
		for i, k := range scopes {
			deltas = append(deltas,
				SpendDelta{Key: k, Window: WindowDay, Start: d, Amount: int64(1000 + i)},
				SpendDelta{Key: k, Window: WindowMonth, Start: time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, time.UTC), Amount: int64(1000 + i)})
		}
		return deltas
	}
	b.Run("existing", func(b *testing.B) {
		deltas := batch(time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC))
		b.ReportAllocs()
		for b.Loop() {
			if err := s.AddSpend(ctx, deltas); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("new", func(b *testing.B) {
		d := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
		b.ReportAllocs()
		for b.Loop() {
			if err := s.AddSpend(ctx, batch(d)); err != nil {
				b.Fatal(err)
			}
			d = d.AddDate(0, 0, 1)
		}
	})
}

// BenchmarkSpendTotals reads the day totals of 20,000 scopes, as at
// startup, from a reopened store.
func BenchmarkSpendTotals(b *testing.B) {
	const n = 20_000
	dir := b.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	d := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	var deltas []SpendDelta
	for i := range n {
		k := "tok/" + NewID(TokenIDPrefix)
		deltas = append(deltas, SpendDelta{Key: k, Window: WindowDay, Start: d, Amount: int64(i)},
			SpendDelta{Key: k, Window: WindowDay, Start: d.AddDate(0, 0, -1), Amount: 1}, // another window: not read
			SpendDelta{Key: k, Window: WindowMonth, Start: d.AddDate(0, 0, -20), Amount: 1})
	}
	if err := s.AddSpend(ctx, deltas); err != nil {
		b.Fatal(err)
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	if s, err = Open(dir, Options{}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	b.ReportAllocs()
	for b.Loop() {
		got, err := s.SpendTotals(ctx, WindowDay, d)
		if err != nil {
			b.Fatal(err)
		}
		if len(got) != n-1 { // the first amount is 0: not written
			b.Fatalf("%d totals", len(got))
		}
	}
}
