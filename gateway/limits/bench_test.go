package limits

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Limits high enough never to refuse during a benchmark, but all set, so
// every check and every counter runs.
func benchScopes(svc, tok string) []Scope {
	return []Scope{
		{Key: svc, RPM: 1_000_000_000, RPD: 1 << 60, TPM: maxRate, DailyBudget: 1 << 60, MonthlyBudget: 1 << 60},
		{Key: tok, RPM: 1_000_000_000, RPD: 1 << 60, TPM: maxRate, DailyBudget: 1 << 60, MonthlyBudget: 1 << 60},
	}
}

// BenchmarkAdmitSettle is one request's whole admission cost: Admit on two
// scopes with every limit set, then Settle. It reports p50 and p99 of the
// pair, measured one by one.
func BenchmarkAdmitSettle(b *testing.B) {
	e := New(Options{})
	r := Request{Scopes: benchScopes("svc/bench", "tok/bench"), Tokens: 1200, Cost: 3_000}
	lat := make([]time.Duration, 0, min(b.N, 1<<20))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		t := time.Now()
		res, rej := e.Admit(r)
		if rej != nil {
			b.Fatal(rej)
		}
		res.Settle(1000, 2_000)
		d := time.Since(t)
		if len(lat) < cap(lat) {
			lat = append(lat, d)
		} else {
			lat[i%len(lat)] = d
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}

// BenchmarkAdmitParallel: every goroutine on one hot pair of scopes, or each
// on its own.
func BenchmarkAdmitParallel(b *testing.B) {
	b.Run("hot", func(b *testing.B) {
		e := New(Options{})
		r := Request{Scopes: benchScopes("svc/hot", "tok/hot"), Tokens: 1200, Cost: 3_000}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				res, rej := e.Admit(r)
				if rej != nil {
					b.Error(rej)
					return
				}
				res.Settle(1000, 2_000)
			}
		})
	})
	b.Run("distinct", func(b *testing.B) {
		e := New(Options{})
		var id atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			n := id.Add(1)
			r := Request{Scopes: benchScopes(fmt.Sprintf("svc/%d", n), fmt.Sprintf("tok/%d", n)), Tokens: 1200, Cost: 3_000}
			for pb.Next() {
				res, rej := e.Admit(r)
				if rej != nil {
					b.Error(rej)
					return
				}
				res.Settle(1000, 2_000)
			}
		})
	})
}

// BenchmarkConcurrentBudget1000: 1,000 admissions released at once against
// one budget that covers 20 worst cases; reports the overspend (must be 0)
// and how many were admitted.
func BenchmarkConcurrentBudget1000(b *testing.B) {
	const n, C = 1000, 50_000
	const B = 20 * C
	var overspend, admittedTotal int64
	for range b.N {
		e := New(Options{})
		s := Scope{Key: "svc/a", DailyBudget: B}
		var (
			start    = make(chan struct{})
			wg       sync.WaitGroup
			admitted atomic.Int64
		)
		wg.Add(n)
		for range n {
			go func() {
				defer wg.Done()
				<-start
				if res, rej := e.Admit(Request{Scopes: []Scope{s}, Cost: C}); rej == nil {
					admitted.Add(1)
					res.Settle(0, C) // worst case, every time
				}
			}()
		}
		close(start)
		wg.Wait()
		if spent := e.Spent("svc/a").SpentToday; spent > B {
			overspend += spent - B
		}
		admittedTotal += admitted.Load()
	}
	if overspend != 0 {
		b.Fatalf("overspent by %d micro-USD", overspend)
	}
	b.ReportMetric(float64(overspend), "overspend-µUSD")
	b.ReportMetric(float64(admittedTotal)/float64(b.N), "admitted/op")
}
