package audit

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/storage"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func delta(key, window, start string, u storage.Usage) storage.UsageDelta {
	return storage.UsageDelta{Key: key, Window: window, Start: at(start), Usage: u}
}

func TestUsageAdd(t *testing.T) {
	one := storage.Usage{Requests: 1, InputTokens: 10, OutputTokens: 20, CachedTokens: 3, CacheHits: 1, SpendMicroUSD: 500}
	req := storage.Usage{Requests: 1}
	for _, tc := range []struct {
		name string
		recs []storage.AuditRecord
		want []storage.UsageDelta
	}{
		{
			name: "unauthenticated ignored",
			recs: []storage.AuditRecord{{Time: at("2026-03-15T10:00:00Z"), Status: 401, InputTokens: 5}},
		},
		{
			name: "service, token and all",
			recs: []storage.AuditRecord{{
				Time: at("2026-03-15T10:00:00Z"), ServiceID: "svc_A", TokenID: "tok_B",
				InputTokens: 10, OutputTokens: 20, CachedTokens: 3, CacheHit: true, CostMicroUSD: 500,
			}},
			want: []storage.UsageDelta{
				delta("all", "day", "2026-03-15T00:00:00Z", one),
				delta("all", "month", "2026-03-01T00:00:00Z", one),
				delta("svc/svc_A", "day", "2026-03-15T00:00:00Z", one),
				delta("svc/svc_A", "month", "2026-03-01T00:00:00Z", one),
				delta("tok/tok_B", "day", "2026-03-15T00:00:00Z", one),
				delta("tok/tok_B", "month", "2026-03-01T00:00:00Z", one),
			},
		},
		{
			name: "no token, negatives clamped",
			recs: []storage.AuditRecord{{
				Time: at("2026-03-15T10:00:00Z"), ServiceID: "svc_A",
				InputTokens: -1, OutputTokens: -2, CachedTokens: -3, CostMicroUSD: -4,
			}},
			want: []storage.UsageDelta{
				delta("all", "day", "2026-03-15T00:00:00Z", req),
				delta("all", "month", "2026-03-01T00:00:00Z", req),
				delta("svc/svc_A", "day", "2026-03-15T00:00:00Z", req),
				delta("svc/svc_A", "month", "2026-03-01T00:00:00Z", req),
			},
		},
		{
			name: "last instant of a month, first of the next",
			recs: []storage.AuditRecord{
				{Time: at("2026-01-31T23:59:59.999Z"), ServiceID: "s"},
				{Time: at("2026-02-01T00:00:00Z"), ServiceID: "s"},
			},
			want: []storage.UsageDelta{
				delta("all", "day", "2026-01-31T00:00:00Z", req),
				delta("all", "day", "2026-02-01T00:00:00Z", req),
				delta("all", "month", "2026-01-01T00:00:00Z", req),
				delta("all", "month", "2026-02-01T00:00:00Z", req),
				delta("svc/s", "day", "2026-01-31T00:00:00Z", req),
				delta("svc/s", "day", "2026-02-01T00:00:00Z", req),
				delta("svc/s", "month", "2026-01-01T00:00:00Z", req),
				delta("svc/s", "month", "2026-02-01T00:00:00Z", req),
			},
		},
		{
			name: "UTC windows whatever the location",
			// 2026-03-01 05:00 at UTC+14 is 2026-02-28 15:00 UTC.
			recs: []storage.AuditRecord{{Time: time.Date(2026, 3, 1, 5, 0, 0, 0, time.FixedZone("LINT", 14*3600)), ServiceID: "s"}},
			want: []storage.UsageDelta{
				delta("all", "day", "2026-02-28T00:00:00Z", req),
				delta("all", "month", "2026-02-01T00:00:00Z", req),
				delta("svc/s", "day", "2026-02-28T00:00:00Z", req),
				delta("svc/s", "month", "2026-02-01T00:00:00Z", req),
			},
		},
		{
			name: "sums per scope",
			recs: []storage.AuditRecord{
				{Time: at("2026-03-15T10:00:00Z"), ServiceID: "a", TokenID: "t1", InputTokens: 1, CostMicroUSD: 10},
				{Time: at("2026-03-15T11:00:00Z"), ServiceID: "a", TokenID: "t2", InputTokens: 2, CostMicroUSD: 20, CacheHit: true},
				{Time: at("2026-03-16T11:00:00Z"), ServiceID: "b", OutputTokens: 4},
			},
			want: []storage.UsageDelta{
				delta("all", "day", "2026-03-15T00:00:00Z", storage.Usage{Requests: 2, InputTokens: 3, CacheHits: 1, SpendMicroUSD: 30}),
				delta("all", "day", "2026-03-16T00:00:00Z", storage.Usage{Requests: 1, OutputTokens: 4}),
				delta("all", "month", "2026-03-01T00:00:00Z", storage.Usage{Requests: 3, InputTokens: 3, OutputTokens: 4, CacheHits: 1, SpendMicroUSD: 30}),
				delta("svc/a", "day", "2026-03-15T00:00:00Z", storage.Usage{Requests: 2, InputTokens: 3, CacheHits: 1, SpendMicroUSD: 30}),
				delta("svc/a", "month", "2026-03-01T00:00:00Z", storage.Usage{Requests: 2, InputTokens: 3, CacheHits: 1, SpendMicroUSD: 30}),
				delta("svc/b", "day", "2026-03-16T00:00:00Z", storage.Usage{Requests: 1, OutputTokens: 4}),
				delta("svc/b", "month", "2026-03-01T00:00:00Z", storage.Usage{Requests: 1, OutputTokens: 4}),
				delta("tok/t1", "day", "2026-03-15T00:00:00Z", storage.Usage{Requests: 1, InputTokens: 1, SpendMicroUSD: 10}),
				delta("tok/t1", "month", "2026-03-01T00:00:00Z", storage.Usage{Requests: 1, InputTokens: 1, SpendMicroUSD: 10}),
				delta("tok/t2", "day", "2026-03-15T00:00:00Z", storage.Usage{Requests: 1, InputTokens: 2, CacheHits: 1, SpendMicroUSD: 20}),
				delta("tok/t2", "month", "2026-03-01T00:00:00Z", storage.Usage{Requests: 1, InputTokens: 2, CacheHits: 1, SpendMicroUSD: 20}),
			},
		},
		{
			name: "over-long token key skipped",
			recs: []storage.AuditRecord{{Time: at("2026-03-15T10:00:00Z"), ServiceID: "s", TokenID: strings.Repeat("x", 253)}},
			want: []storage.UsageDelta{
				delta("all", "day", "2026-03-15T00:00:00Z", req),
				delta("all", "month", "2026-03-01T00:00:00Z", req),
				delta("svc/s", "day", "2026-03-15T00:00:00Z", req),
				delta("svc/s", "month", "2026-03-01T00:00:00Z", req),
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := NewUsage()
			for i := range tc.recs {
				u.Add(&tc.recs[i])
			}
			got := u.Drain()
			if !slices.EqualFunc(got, tc.want, func(a, b storage.UsageDelta) bool {
				return a.Key == b.Key && a.Window == b.Window && a.Start.Equal(b.Start) &&
					a.Start.Location() == time.UTC && a.Usage == b.Usage
			}) {
				t.Fatalf("Drain:\n got %v\nwant %v", got, tc.want)
			}
			if again := u.Drain(); again != nil {
				t.Fatalf("second Drain = %v, want nil", again)
			}
		})
	}
}

func TestUsagePending(t *testing.T) {
	u := NewUsage()
	u.Add(&storage.AuditRecord{Time: at("2026-03-15T10:00:00Z"), ServiceID: "a", TokenID: "t", InputTokens: 7, CostMicroUSD: 9})
	u.Add(&storage.AuditRecord{Time: at("2026-03-15T12:00:00Z"), ServiceID: "a", InputTokens: 1})
	u.Add(nil) // ignored

	day, month := at("2026-03-15T00:00:00Z"), at("2026-03-01T00:00:00Z")
	dayTokyo := day.In(time.FixedZone("JST", 9*3600))
	for _, tc := range []struct {
		scope, window string
		start         time.Time
		want          storage.Usage
	}{
		{"svc/a", storage.WindowDay, day, storage.Usage{Requests: 2, InputTokens: 8, SpendMicroUSD: 9}},
		{"svc/a", storage.WindowDay, dayTokyo, storage.Usage{Requests: 2, InputTokens: 8, SpendMicroUSD: 9}},
		{"svc/a", storage.WindowMonth, month, storage.Usage{Requests: 2, InputTokens: 8, SpendMicroUSD: 9}},
		{"tok/t", storage.WindowDay, day, storage.Usage{Requests: 1, InputTokens: 7, SpendMicroUSD: 9}},
		{"all", storage.WindowMonth, month, storage.Usage{Requests: 2, InputTokens: 8, SpendMicroUSD: 9}},
		{"svc/a", storage.WindowMonth, day, storage.Usage{}},                    // not that month's start
		{"svc/a", storage.WindowDay, day.Add(time.Nanosecond), storage.Usage{}}, // not a window start
		{"svc/a", "week", day, storage.Usage{}},
		{"svc/b", storage.WindowDay, day, storage.Usage{}},
		{"svc/", storage.WindowDay, day, storage.Usage{}},
		{"a", storage.WindowDay, day, storage.Usage{}},
	} {
		if got := u.Pending(tc.scope, tc.window, tc.start); got != tc.want {
			t.Errorf("Pending(%s, %s, %s) = %+v, want %+v", tc.scope, tc.window, tc.start, got, tc.want)
		}
	}
	if d := u.Drain(); len(d) != 6 {
		t.Fatalf("Drain returned %d deltas, want 6", len(d))
	}
	if got := u.Pending("svc/a", storage.WindowDay, day); got != (storage.Usage{}) {
		t.Fatalf("Pending after Drain = %+v", got)
	}
}

func TestUsageSaturates(t *testing.T) {
	u := NewUsage()
	r := &storage.AuditRecord{Time: at("2026-03-15T10:00:00Z"), ServiceID: "a", CostMicroUSD: math.MaxInt64, InputTokens: math.MaxInt64 - 1}
	u.Add(r)
	u.Add(r)
	got := u.Pending("all", storage.WindowDay, at("2026-03-15T00:00:00Z"))
	if got.SpendMicroUSD != math.MaxInt64 || got.InputTokens != math.MaxInt64 || got.Requests != 2 {
		t.Fatalf("got %+v", got)
	}
}

func TestUsageZeroTimeIsNow(t *testing.T) {
	u := NewUsage()
	before := time.Now().UTC()
	u.Add(&storage.AuditRecord{ServiceID: "a"})
	after := time.Now().UTC()
	d := u.Drain()
	if len(d) != 4 {
		t.Fatalf("deltas %v", d)
	}
	y, m, dd := d[0].Start.Date()
	if !(d[0].Window == storage.WindowDay && (inDay(before, y, m, dd) || inDay(after, y, m, dd))) {
		t.Fatalf("zero time counted in %v", d[0])
	}
}

func inDay(t time.Time, y int, m time.Month, d int) bool {
	ty, tm, td := t.Date()
	return ty == y && tm == m && td == d
}

// TestUsageConcurrent: Adds racing with Drains lose nothing.
func TestUsageConcurrent(t *testing.T) {
	const goroutines, each = 8, 2000
	u := NewUsage()
	var total storage.Usage
	var mu sync.Mutex
	drain := func() {
		for _, d := range u.Drain() {
			if d.Key == "all" && d.Window == storage.WindowMonth {
				mu.Lock()
				total.Requests += d.Requests
				total.SpendMicroUSD += d.SpendMicroUSD
				mu.Unlock()
			}
		}
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for {
			select {
			case <-stop:
				return
			default:
				drain()
			}
		}
	}()
	for g := range goroutines {
		wg.Go(func() {
			r := storage.AuditRecord{Time: at("2026-03-15T10:00:00Z"), ServiceID: fmt.Sprint("s", g), TokenID: "t", CostMicroUSD: 3}
			for range each {
				u.Add(&r)
			}
		})
	}
	wg.Wait()
	close(stop)
	<-drained
	drain()
	if total.Requests != goroutines*each || total.SpendMicroUSD != 3*goroutines*each {
		t.Fatalf("total %+v", total)
	}
}
