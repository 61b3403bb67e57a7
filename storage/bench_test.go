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

// BenchmarkAppendAudit appends batches of 500 audit records of realistic
// size (no bodies), as the gateway's audit writer does: one write batch
// and one sync per call.
func BenchmarkAppendAudit(b *testing.B) {
	s := openTest(b)
	ctx := context.Background()
	const n = 500
	services := make([]string, 10)
	for i := range services {
		services[i] = NewID(ServiceIDPrefix)
	}
	recs := make([]AuditRecord, n)
	b.ReportAllocs()
	for b.Loop() {
		for i := range recs {
			recs[i] = AuditRecord{
				ID: NewID(AuditIDPrefix), Time: now(), ServiceID: services[i%len(services)], TokenID: NewID(TokenIDPrefix),
				Surface: "openai", Operation: "chat.completions", Model: "gpt-4o-mini", Provider: "openai", UpstreamModel: "gpt-4o-mini-2024-07-18",
				Status: 200, InputTokens: 1200, OutputTokens: 350, CostMicroUSD: 390, Latency: 1200 * time.Millisecond, TTFB: 300 * time.Millisecond,
				ClientIP: "203.0.113.7",
			}
		}
		if err := s.AppendAudit(ctx, recs, 30*24*time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
}

// BenchmarkGetCache reads 4 KiB cache entries among 10,000, from a
// reopened store: a cache hit.
func BenchmarkGetCache(b *testing.B) {
	const n = 10_000
	dir := b.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	keys := make([][]byte, n)
	val := make([]byte, 4<<10)
	for i := range keys {
		h := hashOf(fmt.Sprintf("request-%d", i))
		keys[i] = h[:]
		if err := s.PutCache(ctx, keys[i], val, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	if s, err = Open(dir, Options{}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })

	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := s.GetCache(ctx, keys[i%n]); err != nil {
				b.Fatal(err)
			}
			i += 7919
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := s.GetCache(ctx, keys[i%n]); err != nil {
					b.Error(err)
					return
				}
				i += 7919
			}
		})
	})
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		k := []byte("not cached")
		for b.Loop() {
			if _, err := s.GetCache(ctx, k); !isNotFound(err) {
				b.Fatal(err)
			}
		}
	})
}
