package limits

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// burst runs n goroutines released at once by a barrier. Each admits req(i);
// once every goroutine has tried (a second barrier, so no settle can free
// budget before all have been decided), the admitted ones settle a random
// actual cost in [1, worst]. It returns the admitted indices and the total
// settled.
func burst(t *testing.T, e *Engine, n int, worst int64, mk func(i int) Request) (admitted []int, settled int64) {
	t.Helper()
	var (
		start   = make(chan struct{})
		decided sync.WaitGroup
		settle  = make(chan struct{})
		done    sync.WaitGroup
		mu      sync.Mutex
		total   atomic.Int64
	)
	decided.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			<-start
			res, rej := e.Admit(mk(i))
			decided.Done()
			<-settle
			if rej != nil {
				if !rej.Budget() {
					t.Errorf("rejected by %s, want a budget", rej.Limit)
				}
				return
			}
			mu.Lock()
			admitted = append(admitted, i)
			mu.Unlock()
			actual := 1 + rand.Int64N(worst)
			total.Add(actual)
			res.Settle(0, actual)
		}()
	}
	close(start)
	decided.Wait()
	close(settle)
	done.Wait()
	return admitted, total.Load()
}

// TestGuaranteeOneScope: a budget B covers exactly k = ⌊B/C⌋ worst-case
// reservations; k are admitted and settled spend never exceeds B.
func TestGuaranteeOneScope(t *testing.T) {
	for _, n := range []int{200, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			const C = 50_000 // $0.05 worst case
			B := int64(n/10)*C + 37_000
			k := int(B / C)
			e, _ := newEngine(t0)
			s := Scope{Key: "svc/a", DailyBudget: B, MonthlyBudget: 10 * B}
			admitted, settled := burst(t, e, n, C, func(int) Request { return req(0, C, s) })
			if len(admitted) != k {
				t.Fatalf("admitted %d, want exactly k = %d", len(admitted), k)
			}
			snap := e.Spent("svc/a")
			if settled > B || snap.SpentToday != settled || snap.SpentMonth != settled || snap.Reserved != 0 {
				t.Fatalf("budget %d, settled %d, snapshot %+v", B, settled, snap)
			}
			var drained int64
			for _, d := range e.Drain() {
				if d.Window == WindowDay {
					drained += d.Amount
				}
			}
			if drained != settled {
				t.Fatalf("drained %d, settled %d", drained, settled)
			}
		})
	}
}

// TestGuaranteeNested: tokens within a service, both with budgets; each
// holds, and the binding one decides how many are admitted.
func TestGuaranteeNested(t *testing.T) {
	const C, tokens = 50_000, 10
	for _, tc := range []struct {
		name         string
		n            int
		svcB, tokB   int64
		wantAdmitted int
	}{
		{"svc-binds-200", 200, 50*C + 1, 7 * C, 50},
		{"tok-binds-200", 200, 100 * C, 7*C + C/2, 70},
		{"svc-binds-1000", 1000, 50*C + C - 1, 7 * C, 50},
		{"tok-binds-1000", 1000, 100 * C, 7*C + 3, 70},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newEngine(t0)
			svc := Scope{Key: "svc/a", MonthlyBudget: tc.svcB}
			tok := func(i int) Scope {
				return Scope{Key: fmt.Sprintf("tok/%d", i%tokens), DailyBudget: tc.tokB}
			}
			admitted, settled := burst(t, e, tc.n, C, func(i int) Request { return req(0, C, svc, tok(i)) })
			if len(admitted) != tc.wantAdmitted {
				t.Fatalf("admitted %d, want %d", len(admitted), tc.wantAdmitted)
			}
			if snap := e.Spent("svc/a"); settled > tc.svcB || snap.SpentMonth != settled || snap.Reserved != 0 {
				t.Fatalf("svc budget %d, settled %d, snapshot %+v", tc.svcB, settled, snap)
			}
			var sum int64
			for j := range tokens {
				snap := e.Spent(fmt.Sprintf("tok/%d", j))
				if snap.SpentToday > tc.tokB || snap.Reserved != 0 || snap.RequestsToday > tc.tokB/C {
					t.Fatalf("tok/%d: budget %d, snapshot %+v", j, tc.tokB, snap)
				}
				sum += snap.SpentToday
			}
			if sum != settled {
				t.Fatalf("tokens spent %d, settled %d", sum, settled)
			}
		})
	}
}

// TestGuaranteeInterleaved: settles run while others are still being
// admitted, and refused requests retry until the budget can no longer fit
// a worst case. Spent (and spent + reserved) never exceeds B, budget freed
// by cheap requests is used by later ones, and in the end less than C is
// left.
func TestGuaranteeInterleaved(t *testing.T) {
	for _, nested := range []bool{false, true} {
		t.Run(fmt.Sprint("nested=", nested), func(t *testing.T) {
			const n, C = 1000, 50_000
			const B = 20*C + 12_345
			e, _ := newEngine(t0)
			svc := Scope{Key: "svc/a", DailyBudget: B}
			mk := func(i int) Request { return req(0, C, svc) }
			if nested {
				svc.DailyBudget = 10 * B // the tokens bind, each with B/4
				mk = func(i int) Request {
					return req(0, C, svc, Scope{Key: fmt.Sprintf("tok/%d", i%4), MonthlyBudget: B / 4})
				}
			}
			var (
				start    = make(chan struct{})
				wg       sync.WaitGroup
				admitted atomic.Int64
				settled  atomic.Int64
				stop     = make(chan struct{})
				mon      sync.WaitGroup
			)
			keys := []string{"svc/a"}
			limit := map[string]int64{"svc/a": B}
			if nested {
				keys = []string{"tok/0", "tok/1", "tok/2", "tok/3"}
				for _, k := range keys {
					limit[k] = B / 4
				}
			}
			// A monitor watches the invariant while the storm runs.
			mon.Add(1)
			go func() {
				defer mon.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					for _, k := range keys {
						s := e.Spent(k)
						spent := max(s.SpentToday, s.SpentMonth)
						if spent > limit[k] || spent+s.Reserved > limit[k] {
							t.Errorf("%s: spent %d + reserved %d over budget %d", k, spent, s.Reserved, limit[k])
							return
						}
					}
					runtime.Gosched()
				}
			}()
			wg.Add(n)
			for i := range n {
				go func() {
					defer wg.Done()
					<-start
					r := mk(i)
					for {
						res, rej := e.Admit(r)
						if rej == nil {
							admitted.Add(1)
							actual := 1 + rand.Int64N(C)
							settled.Add(actual)
							res.Settle(0, actual)
							return
						}
						// Give up once no worst case can ever fit again.
						snap := e.Spent(rej.Scope)
						spent := max(snap.SpentToday, snap.SpentMonth)
						if snap.Reserved == 0 && rej.Value-spent < C {
							return
						}
						runtime.Gosched()
					}
				}()
			}
			close(start)
			wg.Wait()
			close(stop)
			mon.Wait()
			var total int64
			for _, k := range keys {
				s := e.Spent(k)
				spent := max(s.SpentToday, s.SpentMonth)
				if spent > limit[k] || spent <= limit[k]-C || s.Reserved != 0 {
					t.Fatalf("%s: budget %d, snapshot %+v", k, limit[k], s)
				}
				total += spent
			}
			if total != settled.Load() {
				t.Fatalf("spent %d, settled %d", total, settled.Load())
			}
			k := int64(B / C)
			if nested {
				k = 4 * ((B / 4) / C)
			}
			if admitted.Load() < k {
				t.Fatalf("admitted %d < k = %d", admitted.Load(), k)
			}
			t.Logf("admitted %d (k = %d), spent %d of %d", admitted.Load(), k, total, func() int64 {
				if nested {
					return 4 * (B / 4)
				}
				return B
			}())
		})
	}
}

// TestGuaranteeRates: the same storm against rpm and tpm admits exactly the
// burst.
func TestGuaranteeRates(t *testing.T) {
	e, _ := newEngine(t0)
	s := Scope{Key: "svc/a", RPM: 300, TPM: 1_000_000}
	tok := Scope{Key: "tok/a", TPM: 10_000}
	var ok atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	wg.Add(1000)
	for range 1000 {
		go func() {
			defer wg.Done()
			<-start
			if res, rej := e.Admit(req(100, 0, s, tok)); rej == nil {
				ok.Add(1)
				defer res.Settle(100, 0)
			} else if rej.Budget() {
				t.Error("budget rejection")
			}
		}()
	}
	close(start)
	wg.Wait()
	if ok.Load() != 100 { // tok's tpm: 10000 / 100
		t.Fatalf("admitted %d, want 100", ok.Load())
	}
}

// TestDrainSeesWholeSettlements: a request's settlement in its scopes (a
// service and its token) is never split between two drains, so persisted
// totals of the two scopes always agree.
func TestDrainSeesWholeSettlements(t *testing.T) {
	e := New(Options{})
	// Two keys that land in different shards.
	a, b := "svc/a", "tok/b"
	for i := 0; shardOf(a) == shardOf(b); i++ {
		b = fmt.Sprintf("tok/b%d", i)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				res, rej := e.Admit(Request{Scopes: []Scope{{Key: a}, {Key: b}}, Cost: 1})
				if rej != nil {
					t.Error(rej)
					return
				}
				res.Settle(0, 1)
			}
		})
	}
	sums := map[string]int64{}
	for range 2000 {
		for _, d := range e.Drain() {
			if d.Window == WindowDay {
				sums[d.Key] += d.Amount
			}
		}
		if sums[a] != sums[b] {
			close(stop)
			wg.Wait()
			t.Fatalf("a drain split a settlement: %s %d, %s %d", a, sums[a], b, sums[b])
		}
	}
	close(stop)
	wg.Wait()
	if sums[a] == 0 {
		t.Fatal("nothing settled")
	}
}
