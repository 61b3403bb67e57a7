package limits

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(s string) *fakeClock {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return &fakeClock{t: t}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func (c *fakeClock) Set(s string) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func newEngine(start string) (*Engine, *fakeClock) {
	clk := newClock(start)
	return New(Options{Now: clk.Now}), clk
}

func mustAdmit(t *testing.T, e *Engine, r Request) *Reservation {
	t.Helper()
	res, rej := e.Admit(r)
	if rej != nil {
		t.Fatalf("Admit: unexpected rejection: %v", rej)
	}
	return res
}

func mustReject(t *testing.T, e *Engine, r Request, limit string) *Rejection {
	t.Helper()
	res, rej := e.Admit(r)
	if rej == nil {
		res.Release()
		t.Fatalf("Admit: admitted, want rejection by %s", limit)
	}
	if rej.Limit != limit {
		t.Fatalf("Admit: rejected by %s (%v), want %s", rej.Limit, rej, limit)
	}
	return rej
}

func req(tokens, cost int64, scopes ...Scope) Request {
	return Request{Scopes: scopes, Tokens: tokens, Cost: cost}
}

const t0 = "2026-11-21T10:00:00Z"

func TestRPM(t *testing.T) {
	e, clk := newEngine(t0)
	s := Scope{Key: "svc/a", RPM: 3}
	for range 3 {
		mustAdmit(t, e, req(0, 0, s)).Settle(0, 0)
	}
	rej := mustReject(t, e, req(0, 0, s), LimitRPM)
	if rej.Value != 3 || rej.Used != 3 || rej.Scope != "svc/a" || rej.Budget() {
		t.Fatalf("rejection = %+v", rej)
	}
	// One request drains every 20 s.
	if want := clk.Now().Add(20 * time.Second); !rej.ResetAt.Equal(want) {
		t.Fatalf("ResetAt = %v, want %v", rej.ResetAt, want)
	}
	if got := rej.RetryAfter(clk.Now()); got != 20*time.Second {
		t.Fatalf("RetryAfter = %v", got)
	}
	clk.Advance(19 * time.Second)
	mustReject(t, e, req(0, 0, s), LimitRPM)
	clk.Advance(time.Second)
	mustAdmit(t, e, req(0, 0, s))
	mustReject(t, e, req(0, 0, s), LimitRPM)
	// A full minute idle restores the whole burst.
	clk.Advance(time.Minute)
	for range 3 {
		mustAdmit(t, e, req(0, 0, s))
	}
	mustReject(t, e, req(0, 0, s), LimitRPM)
}

// TestRPMSustained hammers a scope for five minutes: the first instant gets
// the burst L, then exactly L per minute; never 2L around a boundary.
func TestRPMSustained(t *testing.T) {
	e, clk := newEngine(t0)
	s := Scope{Key: "svc/a", RPM: 60}
	admitted := make([]time.Time, 0, 400)
	for range 5 * 60 * 10 { // every 100 ms
		if res, rej := e.Admit(req(0, 0, s)); rej == nil {
			res.Settle(0, 0)
			admitted = append(admitted, clk.Now())
		}
		clk.Advance(100 * time.Millisecond)
	}
	// 60 at once, then 1/s for 299.9 s.
	if n := len(admitted); n != 60+299 {
		t.Fatalf("admitted %d in 5 min, want %d", n, 60+299)
	}
	// Any window of 1 s after the initial burst admits at most 1 + burst
	// regained; check no sliding minute after the first one exceeds 61.
	for i := range admitted {
		if admitted[i].Before(newClock(t0).Now().Add(time.Minute)) {
			continue
		}
		n := 0
		for j := i; j < len(admitted) && admitted[j].Sub(admitted[i]) < time.Minute; j++ {
			n++
		}
		if n > 61 {
			t.Fatalf("%d requests in the minute after %v", n, admitted[i])
		}
	}
}

func TestRPD(t *testing.T) {
	e, clk := newEngine("2026-11-21T23:59:00Z")
	s := Scope{Key: "tok/x", RPD: 2}
	mustAdmit(t, e, req(0, 0, s)).Settle(0, 0)
	mustAdmit(t, e, req(0, 0, s)).Settle(0, 0)
	rej := mustReject(t, e, req(0, 0, s), LimitRPD)
	if rej.Used != 2 || rej.Value != 2 || !rej.ResetAt.Equal(newClock("2026-11-22T00:00:00Z").Now()) {
		t.Fatalf("rejection = %+v", rej)
	}
	if got := rej.RetryAfter(clk.Now()); got != time.Minute {
		t.Fatalf("RetryAfter = %v", got)
	}
	clk.Advance(59 * time.Second)
	mustReject(t, e, req(0, 0, s), LimitRPD)
	clk.Advance(time.Second) // midnight UTC
	mustAdmit(t, e, req(0, 0, s))
	if got := e.Spent("tok/x").RequestsToday; got != 1 {
		t.Fatalf("RequestsToday = %d", got)
	}
}

func TestTPM(t *testing.T) {
	e, clk := newEngine(t0)
	s := Scope{Key: "svc/a", TPM: 1000}
	r1 := mustAdmit(t, e, req(600, 0, s))
	rej := mustReject(t, e, req(600, 0, s), LimitTPM)
	// 200 tokens over: they drain in 200/1000 min = 12 s.
	if rej.Used != 600 || rej.Requested != 600 || !rej.ResetAt.Equal(clk.Now().Add(12*time.Second)) {
		t.Fatalf("rejection = %+v", rej)
	}
	// Settling for less frees the difference at once.
	r1.Settle(100, 0)
	r2 := mustAdmit(t, e, req(600, 0, s))
	// Settling for more puts the bucket in debt: 100 + 3000 = 3100 > 1000.
	r2.Settle(3000, 0)
	rej = mustReject(t, e, req(0, 0, s), LimitTPM)
	if rej.Used != 3100 || !rej.ResetAt.Equal(clk.Now().Add(126*time.Second)) { // 2100/1000 min
		t.Fatalf("debt rejection = %+v", rej)
	}
	clk.Advance(126 * time.Second)
	mustAdmit(t, e, req(0, 0, s)).Release()
	mustReject(t, e, req(1, 0, s), LimitTPM)
	clk.Advance(60 * time.Second)
	mustAdmit(t, e, req(1000, 0, s)).Release()
	// Release returns reserved tokens.
	r := mustAdmit(t, e, req(1000, 0, s))
	mustReject(t, e, req(1, 0, s), LimitTPM)
	r.Release()
	mustAdmit(t, e, req(1000, 0, s))
}

func TestTPMOversize(t *testing.T) {
	e, clk := newEngine(t0)
	s := Scope{Key: "svc/a", TPM: 1000}
	// More than the whole limit fits an idle bucket only.
	mustAdmit(t, e, req(5000, 0, s)).Settle(5000, 0)
	clk.Advance(time.Minute)
	rej := mustReject(t, e, req(5000, 0, s), LimitTPM)
	if rej.Used != 4000 || !rej.ResetAt.Equal(clk.Now().Add(4*time.Minute)) {
		t.Fatalf("rejection = %+v", rej)
	}
	// Small requests wait only until the debt is under the limit.
	rej = mustReject(t, e, req(10, 0, s), LimitTPM)
	if !rej.ResetAt.Equal(clk.Now().Add(3*time.Minute + 600*time.Millisecond)) {
		t.Fatalf("small rejection ResetAt = %v", rej.ResetAt.Sub(clk.Now()))
	}
	clk.Advance(4 * time.Minute)
	mustAdmit(t, e, req(5000, 0, s))
}

func TestBudgets(t *testing.T) {
	for _, tc := range []struct {
		name  string
		scope Scope
		limit string
		reset string
	}{
		{"daily", Scope{Key: "tok/x", DailyBudget: 5_000_000}, LimitDailyBudget, "2026-11-22T00:00:00Z"},
		{"monthly", Scope{Key: "tok/x", MonthlyBudget: 5_000_000}, LimitMonthlyBudget, "2026-12-01T00:00:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newEngine(t0)
			s := tc.scope
			r1 := mustAdmit(t, e, req(0, 2_000_000, s))
			r2 := mustAdmit(t, e, req(0, 2_000_000, s))
			rej := mustReject(t, e, req(0, 2_000_000, s), tc.limit)
			if !rej.Budget() || rej.Used != 4_000_000 || rej.Value != 5_000_000 || rej.Requested != 2_000_000 ||
				rej.ResetAt.Format(time.RFC3339) != tc.reset {
				t.Fatalf("rejection = %+v", rej)
			}
			mustAdmit(t, e, req(0, 1_000_000, s)).Settle(0, 1_000_000) // exactly fills it
			rej = mustReject(t, e, req(0, 0, s), tc.limit)             // exhausted: even 0 is refused
			if rej.Used != 5_000_000 {
				t.Fatalf("rejection = %+v", rej)
			}
			r1.Settle(0, 500_000) // less than reserved: frees 1.5
			mustAdmit(t, e, req(0, 1_500_000, s)).Release()
			mustReject(t, e, req(0, 1_500_001, s), tc.limit)
			r2.Settle(0, 2_500_000) // more than reserved: charged in full
			snap := e.Spent("tok/x")
			if snap.SpentToday != 4_000_000 || snap.SpentMonth != 4_000_000 || snap.Reserved != 0 {
				t.Fatalf("snapshot = %+v", snap)
			}
			mustAdmit(t, e, req(0, 1_000_000, s))
			mustReject(t, e, req(0, 1, s), tc.limit)
		})
	}
}

func TestBudgetOverspendOnlyByExcess(t *testing.T) {
	e, _ := newEngine(t0)
	s := Scope{Key: "svc/a", DailyBudget: 1_000_000}
	r := mustAdmit(t, e, req(0, 1_000_000, s))
	r.Settle(0, 1_200_000)
	if got := e.Spent("svc/a").SpentToday; got != 1_200_000 {
		t.Fatalf("spent = %d", got)
	}
	rej := mustReject(t, e, req(0, 0, s), LimitDailyBudget)
	if rej.Used != 1_200_000 {
		t.Fatalf("rejection = %+v", rej)
	}
}

func TestDayRollover(t *testing.T) {
	e, clk := newEngine("2026-11-21T23:59:59Z")
	s := Scope{Key: "tok/x", DailyBudget: 3_000_000, MonthlyBudget: 10_000_000, RPD: 1}
	old := mustAdmit(t, e, req(0, 3_000_000, s))
	mustReject(t, e, req(0, 1, s), LimitDailyBudget)
	clk.Advance(2 * time.Second) // 2026-11-22T00:00:01Z
	// The old day's reservation does not hold back the new day, but still
	// counts against the month.
	r := mustAdmit(t, e, req(0, 3_000_000, s))
	if snap := e.Spent("tok/x"); snap.Reserved != 6_000_000 || snap.RequestsToday != 1 {
		t.Fatalf("snapshot = %+v", snap)
	}
	rej := mustReject(t, e, req(0, 4_000_001, Scope{Key: "tok/x", MonthlyBudget: 10_000_000}), LimitMonthlyBudget)
	if rej.Used != 6_000_000 {
		t.Fatalf("monthly rejection = %+v", rej)
	}
	// Settled after midnight: charged to the old day, the month, not today.
	old.Settle(0, 2_000_000)
	snap := e.Spent("tok/x")
	if snap.SpentToday != 0 || snap.SpentMonth != 2_000_000 || snap.Reserved != 3_000_000 {
		t.Fatalf("snapshot = %+v", snap)
	}
	r.Release()
	mustAdmit(t, e, req(0, 3_000_000, s)).Settle(0, 1_000_000)
	d := e.Drain()
	want := []Delta{
		{"tok/x", WindowDay, newClock("2026-11-21T00:00:00Z").Now(), 2_000_000},
		{"tok/x", WindowDay, newClock("2026-11-22T00:00:00Z").Now(), 1_000_000},
		{"tok/x", WindowMonth, newClock("2026-11-01T00:00:00Z").Now(), 3_000_000},
	}
	checkDeltas(t, d, want)
}

func TestMonthRollover(t *testing.T) {
	e, clk := newEngine("2026-11-30T23:59:00Z")
	s := Scope{Key: "svc/a", MonthlyBudget: 5_000_000}
	r := mustAdmit(t, e, req(0, 5_000_000, s))
	rej := mustReject(t, e, req(0, 1, s), LimitMonthlyBudget)
	if rej.ResetAt.Format(time.RFC3339) != "2026-12-01T00:00:00Z" || rej.RetryAfter(clk.Now()) != time.Minute {
		t.Fatalf("rejection = %+v", rej)
	}
	clk.Set("2026-12-01T00:00:00Z")
	r2 := mustAdmit(t, e, req(0, 5_000_000, s))
	r.Settle(0, 4_000_000)
	if snap := e.Spent("svc/a"); snap.SpentMonth != 0 || snap.SpentToday != 0 || snap.Reserved != 5_000_000 {
		t.Fatalf("snapshot = %+v", snap)
	}
	r2.Settle(0, 1)
	checkDeltas(t, e.Drain(), []Delta{
		{"svc/a", WindowDay, newClock("2026-11-30T00:00:00Z").Now(), 4_000_000},
		{"svc/a", WindowDay, newClock("2026-12-01T00:00:00Z").Now(), 1},
		{"svc/a", WindowMonth, newClock("2026-11-01T00:00:00Z").Now(), 4_000_000},
		{"svc/a", WindowMonth, newClock("2026-12-01T00:00:00Z").Now(), 1},
	})
	// December and the year boundary.
	clk.Set("2026-12-31T23:59:59.5Z")
	mustAdmit(t, e, req(0, 4_999_999, s))
	rej = mustReject(t, e, req(0, 1, s), LimitMonthlyBudget)
	if rej.ResetAt.Format(time.RFC3339) != "2027-01-01T00:00:00Z" || rej.RetryAfter(clk.Now()) != time.Second {
		t.Fatalf("rejection = %+v", rej)
	}
	clk.Advance(time.Second)
	mustAdmit(t, e, req(0, 5_000_000, s))
}

func TestClockBackwards(t *testing.T) {
	e, clk := newEngine("2026-11-22T00:00:01Z")
	s := Scope{Key: "svc/a", DailyBudget: 1_000_000, RPM: 1}
	mustAdmit(t, e, req(0, 1_000_000, s)).Settle(0, 1_000_000)
	clk.Set("2026-11-21T23:59:59Z") // a step back across midnight keeps today's window
	rej := mustReject(t, e, req(0, 0, s), LimitDailyBudget)
	if rej.ResetAt.Format(time.RFC3339) != "2026-11-23T00:00:00Z" {
		t.Fatalf("rejection = %+v", rej)
	}
	if snap := e.Spent("svc/a"); snap.SpentToday != 1_000_000 {
		t.Fatalf("snapshot = %+v", snap)
	}
}

func TestRetryAfter(t *testing.T) {
	now := newClock(t0).Now()
	for _, tc := range []struct {
		in   time.Duration
		want time.Duration
	}{
		{-time.Hour, time.Second},
		{0, time.Second},
		{200 * time.Millisecond, time.Second},
		{time.Second, time.Second},
		{time.Second + time.Nanosecond, 2 * time.Second},
		{12 * time.Second, 12 * time.Second},
		{12*time.Second + time.Millisecond, 13 * time.Second},
		{14 * time.Hour, 14 * time.Hour},
	} {
		r := &Rejection{ResetAt: now.Add(tc.in)}
		if got := r.RetryAfter(now); got != tc.want {
			t.Errorf("RetryAfter(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestRejectionMessages(t *testing.T) {
	e, _ := newEngine("2026-11-21T13:00:00Z")
	for _, tc := range []struct {
		name  string
		setup func()
		r     Request
		want  string
	}{
		{"rpm", func() {
			s := Scope{Key: "svc/abc", RPM: 60}
			for range 60 {
				e.Admit(req(0, 0, s))
			}
		}, req(0, 0, Scope{Key: "svc/abc", RPM: 60}),
			`rate limit "rpm" of svc/abc reached: 60 requests per minute; retry in 1s`},
		{"rpm-burst", func() {
			s := Scope{Key: "svc/def", RPM: 5}
			for range 5 {
				e.Admit(req(0, 0, s))
			}
		}, req(0, 0, Scope{Key: "svc/def", RPM: 5}),
			`rate limit "rpm" of svc/def reached: 5 requests per minute; retry in 12s`},
		{"tpm", func() {
			e.Admit(req(9500, 0, Scope{Key: "svc/t", TPM: 10000}))
		}, req(800, 0, Scope{Key: "svc/t", TPM: 10000}),
			`rate limit "tpm" of svc/t reached: 10000 tokens per minute, 9500 in use, and this request reserves 800; retry in 2s`},
		{"tpm-oversize", func() {
			e.Admit(req(2000, 0, Scope{Key: "svc/o", TPM: 10000}))
		}, req(20000, 0, Scope{Key: "svc/o", TPM: 10000}),
			`rate limit "tpm" of svc/o reached: 10000 tokens per minute, 2000 in use, and this request reserves 20000, more than the whole limit, so it waits until none are in use (lower max_tokens to reserve less); retry in 12s`},
		{"rpd", func() {
			e.Admit(req(0, 0, Scope{Key: "tok/d", RPD: 1}))
		}, req(0, 0, Scope{Key: "tok/d", RPD: 1}),
			`rate limit "rpd" of tok/d reached: 1 requests per UTC day; resets at 2026-11-22T00:00:00Z (retry in 11h0m0s)`},
		{"daily-exhausted", func() {
			r, _ := e.Admit(req(0, 5_000_000, Scope{Key: "tok/x", DailyBudget: 5_000_000}))
			r.Settle(0, 5_000_000)
		}, req(0, 10, Scope{Key: "tok/x", DailyBudget: 5_000_000}),
			`daily budget of tok/x exhausted: $5.000000 spent or reserved of $5.000000; resets at 2026-11-22T00:00:00Z`},
		{"monthly-short", func() {
			e.Admit(req(0, 4_800_000, Scope{Key: "tok/m", MonthlyBudget: 5_000_000}))
		}, req(0, 300_000, Scope{Key: "tok/m", MonthlyBudget: 5_000_000}),
			`monthly budget of tok/m would be exceeded: this request may cost up to $0.300000 and $4.800000 of $5.000000 is spent or reserved (lower max_tokens to reserve less, or retry when requests in flight finish); resets at 2026-12-01T00:00:00Z`},
		{"too-small", func() {}, req(0, 12_000_000, Scope{Key: "svc/s", MonthlyBudget: 10_000_000}),
			`monthly budget of svc/s too small for this request: it may cost up to $12.000000, more than the whole budget of $10.000000 (lower max_tokens to reserve less)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.setup()
			_, rej := e.Admit(tc.r)
			if rej == nil {
				t.Fatal("admitted")
			}
			if got := rej.Error(); got != tc.want {
				t.Fatalf("Error() =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
	if got := USD(-1_500_001); got != "-$1.500001" {
		t.Fatalf("USD = %q", got)
	}
}

func TestAtomicity(t *testing.T) {
	e, _ := newEngine(t0)
	svc := Scope{Key: "svc/a", RPM: 10, RPD: 10, TPM: 1000, DailyBudget: 10_000_000, MonthlyBudget: 20_000_000}
	for _, tok := range []Scope{
		{Key: "tok/rpm", RPM: 1},
		{Key: "tok/rpd", RPD: 1},
		{Key: "tok/tpm", TPM: 100},
		{Key: "tok/day", DailyBudget: 1_000_000},
		{Key: "tok/month", MonthlyBudget: 1_000_000},
	} {
		mustAdmit(t, e, req(100, 1_000_000, tok)) // fills the token's limit
		before := e.Spent("svc/a")
		res, rej := e.Admit(req(100, 1_000_000, svc, tok))
		if rej == nil || rej.Scope != tok.Key {
			t.Fatalf("%s: got %v, %v", tok.Key, res, rej)
		}
		if after := e.Spent("svc/a"); after != before {
			t.Fatalf("%s: svc changed: %+v -> %+v", tok.Key, before, after)
		}
	}
	// Nothing was charged to svc/a: its whole rpm and tpm are available.
	for range 10 {
		mustAdmit(t, e, req(100, 1_000_000, svc))
	}
	mustReject(t, e, req(0, 0, svc), LimitDailyBudget)
}

func TestRejectionPriority(t *testing.T) {
	e, _ := newEngine(t0)
	svc := Scope{Key: "svc/a", RPM: 1}
	tok := Scope{Key: "tok/a", RPM: 2, DailyBudget: 1_000_000}
	mustAdmit(t, e, req(0, 1_000_000, svc, tok))
	// svc's rpm and tok's budget both refuse: the budget is reported.
	rej := mustReject(t, e, req(0, 1, svc, tok), LimitDailyBudget)
	if rej.Scope != "tok/a" {
		t.Fatalf("rejection = %+v", rej)
	}
	// Two rate limits: the one that resets last.
	e2, _ := newEngine(t0)
	a, b := Scope{Key: "a", RPM: 60}, Scope{Key: "b", RPM: 1}
	mustAdmit(t, e2, req(0, 0, a, b))
	for range 59 {
		mustAdmit(t, e2, req(0, 0, a))
	}
	rej = mustReject(t, e2, req(0, 0, a, b), LimitRPM)
	if rej.Scope != "b" {
		t.Fatalf("rejection = %+v", rej)
	}
}

func TestSettleAndRelease(t *testing.T) {
	e, clk := newEngine(t0)
	s := Scope{Key: "svc/a", RPM: 2, RPD: 2, TPM: 1000, DailyBudget: 1_000_000}
	r := mustAdmit(t, e, req(500, 600_000, s))
	if snap := e.Spent("svc/a"); snap.Reserved != 600_000 || snap.RequestsToday != 1 || snap.RequestsThisMinute != 1 {
		t.Fatalf("snapshot = %+v", snap)
	}
	r.Release()
	r.Release()
	r.Settle(1000, 1_000_000) // after Release: nothing
	if snap := e.Spent("svc/a"); snap != (Snapshot{}) {
		t.Fatalf("after Release: %+v", snap)
	}
	// Everything returned: the full rpm, rpd, tpm and budget are available.
	r1 := mustAdmit(t, e, req(500, 500_000, s))
	r2 := mustAdmit(t, e, req(500, 500_000, s))
	mustReject(t, e, req(0, 0, s), LimitDailyBudget)
	r1.Settle(200, 100_000)
	r1.Settle(200, 100_000)
	r1.Release()
	if snap := e.Spent("svc/a"); snap.SpentToday != 100_000 || snap.Reserved != 500_000 || snap.RequestsToday != 2 {
		t.Fatalf("snapshot = %+v", snap)
	}
	r2.Settle(900, 100_000)
	mustReject(t, e, req(0, 0, s), LimitRPD)
	clk.Advance(time.Minute)
	if snap := e.Spent("svc/a"); snap.SpentToday != 200_000 || snap.Reserved != 0 || snap.RequestsThisMinute != 2 {
		t.Fatalf("snapshot = %+v", snap)
	}
	clk.Advance(30 * time.Second)
	if snap := e.Spent("svc/a"); snap.RequestsThisMinute != 1 {
		t.Fatalf("half a minute later: %+v", snap)
	}
	var nilRes *Reservation
	nilRes.Settle(1, 1)
	nilRes.Release()
	checkDeltas(t, e.Drain(), []Delta{
		{"svc/a", WindowDay, newClock("2026-11-21T00:00:00Z").Now(), 200_000},
		{"svc/a", WindowMonth, newClock("2026-11-01T00:00:00Z").Now(), 200_000},
	})
}

func TestSettleFromDefer(t *testing.T) {
	e, _ := newEngine(t0)
	s := Scope{Key: "svc/a", DailyBudget: 1_000_000}
	func() {
		defer func() { _ = recover() }()
		res, _ := e.Admit(req(0, 1_000_000, s))
		defer res.Release()
		defer res.Settle(0, 300_000) // runs first; Release then does nothing
		panic("upstream blew up")
	}()
	if snap := e.Spent("svc/a"); snap.SpentToday != 300_000 || snap.Reserved != 0 {
		t.Fatalf("snapshot = %+v", snap)
	}
}

func TestDuplicateScopes(t *testing.T) {
	e, _ := newEngine(t0)
	s := Scope{Key: "svc/a", RPM: 2}
	mustAdmit(t, e, req(0, 0, s, s))
	mustAdmit(t, e, req(0, 0, s, Scope{Key: "svc/a"}))
	mustReject(t, e, req(0, 0, s), LimitRPM)
	if got := e.Spent("svc/a").RequestsToday; got != 2 {
		t.Fatalf("RequestsToday = %d", got)
	}
}

func TestLimitChange(t *testing.T) {
	e, clk := newEngine(t0)
	mustAdmit(t, e, req(0, 0, Scope{Key: "svc/a", RPM: 10}))
	mustAdmit(t, e, req(0, 0, Scope{Key: "svc/a", RPM: 10}))
	// Lowered to 1: the 2 in use are over it until 1 drains (1 min at 1/min).
	rej := mustReject(t, e, req(0, 0, Scope{Key: "svc/a", RPM: 1}), LimitRPM)
	if rej.Used != 2 || !rej.ResetAt.Equal(clk.Now().Add(2*time.Minute)) {
		t.Fatalf("rejection = %+v", rej)
	}
	// Removed: unlimited.
	for range 100 {
		mustAdmit(t, e, req(0, 0, Scope{Key: "svc/a"}))
	}
	// Huge limits saturate instead of overflowing.
	big := Scope{Key: "svc/big", RPM: 1 << 62, TPM: 1 << 62, RPD: 1 << 62, DailyBudget: 1 << 62, MonthlyBudget: 1 << 62}
	mustAdmit(t, e, req(1<<61, 1<<60, big)).Settle(1<<62, 1<<60)
	rej = mustReject(t, e, req(0, 1<<60, big), LimitTPM)
	if rej.Value != maxRate || rej.Used <= maxRate || rej.ResetAt.Before(clk.Now()) {
		t.Fatalf("rejection = %+v", rej)
	}
	mustAdmit(t, e, req(0, 1<<60, Scope{Key: "svc/big", DailyBudget: 1 << 62})).Settle(0, 1<<62)
	mustReject(t, e, req(0, 0, Scope{Key: "svc/big", DailyBudget: 1 << 62}), LimitDailyBudget)
}

func TestLoadDrainRoundTrip(t *testing.T) {
	e, clk := newEngine(t0)
	day := newClock("2026-11-21T00:00:00Z").Now()
	month := newClock("2026-11-01T00:00:00Z").Now()
	e.Load("svc/a", day.Add(5*time.Hour), 1_000_000, month.Add(48*time.Hour), 7_000_000)
	e.Load("svc/a", day, 1_000_000, month, 7_000_000)            // idempotent
	e.Load("svc/b", day.Add(-24*time.Hour), 9, month, 3_000_000) // stale day ignored
	if snap := e.Spent("svc/a"); snap.SpentToday != 1_000_000 || snap.SpentMonth != 7_000_000 {
		t.Fatalf("loaded snapshot = %+v", snap)
	}
	if snap := e.Spent("svc/b"); snap.SpentToday != 0 || snap.SpentMonth != 3_000_000 {
		t.Fatalf("loaded snapshot = %+v", snap)
	}
	if d := e.Drain(); len(d) != 0 {
		t.Fatalf("Load produced deltas: %+v", d)
	}
	// Loaded spend counts against budgets.
	a := Scope{Key: "svc/a", DailyBudget: 2_000_000, MonthlyBudget: 10_000_000}
	mustReject(t, e, req(0, 1_000_001, a), LimitDailyBudget)
	mustAdmit(t, e, req(0, 1_000_000, a)).Settle(0, 400_000)
	mustAdmit(t, e, req(0, 0, Scope{Key: "svc/b"})).Settle(0, 250_000)
	mustAdmit(t, e, req(0, 0, Scope{Key: "svc/b"})).Settle(0, 0)
	d1 := e.Drain()
	checkDeltas(t, d1, []Delta{
		{"svc/a", WindowDay, day, 400_000},
		{"svc/a", WindowMonth, month, 400_000},
		{"svc/b", WindowDay, day, 250_000},
		{"svc/b", WindowMonth, month, 250_000},
	})
	if d := e.Drain(); len(d) != 0 {
		t.Fatalf("second Drain = %+v", d)
	}

	// Persist: loaded + drained; a restarted engine loads the sums.
	persisted := map[string]int64{"svc/a/day": 1_000_000, "svc/a/month": 7_000_000, "svc/b/month": 3_000_000}
	for _, d := range d1 {
		persisted[d.Key+"/"+d.Window] += d.Amount
	}
	clk.Advance(time.Hour)
	e2 := New(Options{Now: clk.Now})
	for _, k := range []string{"svc/a", "svc/b"} {
		e2.Load(k, day, persisted[k+"/day"], month, persisted[k+"/month"])
		s1, s2 := e.Spent(k), e2.Spent(k)
		if s1.SpentToday != s2.SpentToday || s1.SpentMonth != s2.SpentMonth {
			t.Fatalf("%s: before restart %+v, after %+v", k, s1, s2)
		}
	}
	if snap := e2.Spent("svc/a"); snap.SpentToday != 1_400_000 || snap.SpentMonth != 7_400_000 {
		t.Fatalf("restarted snapshot = %+v", snap)
	}
	// Load after local settles keeps the local spend on top.
	mustAdmit(t, e2, req(0, 0, Scope{Key: "svc/c"})).Settle(0, 5)
	e2.Load("svc/c", day, 100, time.Time{}, 0)
	if snap := e2.Spent("svc/c"); snap.SpentToday != 105 || snap.SpentMonth != 5 {
		t.Fatalf("snapshot = %+v", snap)
	}
}

func checkDeltas(t *testing.T, got, want []Delta) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("deltas = %+v, want %+v", got, want)
	}
	for i := range got {
		if got[i].Key != want[i].Key || got[i].Window != want[i].Window || !got[i].Start.Equal(want[i].Start) ||
			got[i].Amount != want[i].Amount || got[i].Start.Location() != time.UTC {
			t.Fatalf("delta %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestEviction churns keys over three simulated months: the number of keys
// held stays bounded by those active in the current month, and heap use
// does not grow with the churn.
func TestEviction(t *testing.T) {
	e, clk := newEngine("2026-10-01T00:00:00Z")
	const perDay = 600
	n := 0
	var maxLen int
	heapAt := map[int]uint64{}
	for day := range 106 {
		for range perDay {
			n++
			svc := Scope{Key: fmt.Sprintf("rate/%d", n), RPM: 10, TPM: 1000}
			mustAdmit(t, e, req(10, 0, svc)).Settle(5, 0)
			if n%4 == 0 { // some keys spend money
				mustAdmit(t, e, req(0, 10, Scope{Key: fmt.Sprintf("spend/%d", n)})).Settle(0, 7)
			}
			clk.Advance(24 * time.Hour / perDay)
		}
		e.Drain() // the writer drains (and sweeps) regularly
		maxLen = max(maxLen, e.Len())
		if day == 44 || day == 105 { // Nov 14 and Jan 14: same point of the month
			heapAt[day] = heapInUse()
		}
	}
	// At most: one month of spending keys (≤ 31·500) + a few minutes of
	// rate-only keys.
	if maxLen > 31*perDay/4+perDay {
		t.Fatalf("held up to %d keys", maxLen)
	}
	// Two months later, heap use is about the same.
	t.Logf("max keys held %d of %d created; heap in use %d then %d bytes", maxLen, n+n/4, heapAt[44], heapAt[105])
	if heapAt[105] > heapAt[44]+2<<20 {
		t.Fatalf("heap grew from %d to %d bytes", heapAt[44], heapAt[105])
	}
	// Spending keys of the month go at the next month start; rate-only
	// keys as soon as their buckets drain.
	clk.Set("2027-03-01T00:10:00Z")
	e.Sweep()
	if got := e.Len(); got != 0 {
		t.Fatalf("after the month ended, %d keys held", got)
	}
	// A key with a reservation in flight is never dropped.
	r := mustAdmit(t, e, req(0, 0, Scope{Key: "inflight"}))
	clk.Advance(90 * 24 * time.Hour)
	e.Sweep()
	if e.Len() != 1 {
		t.Fatal("in-flight key dropped")
	}
	r.Settle(0, 1)
	if snap := e.Spent("inflight"); snap.SpentMonth != 0 || snap.Reserved != 0 {
		t.Fatalf("snapshot = %+v", snap)
	}
	e.Sweep()
	if e.Len() != 0 {
		t.Fatal("settled key kept")
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}
