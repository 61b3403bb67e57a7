package storage

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

func mustAddUsage(t testing.TB, b *Badger, deltas ...UsageDelta) {
	t.Helper()
	if err := b.AddUsage(context.Background(), deltas); err != nil {
		t.Fatal(err)
	}
}

func usageDelta(key, window string, start time.Time, u Usage) UsageDelta {
	return UsageDelta{Key: key, Window: window, Start: start, Usage: u}
}

// usageHistory is every total of the scope in that kind of window.
func usageHistory(t testing.TB, b *Badger, key, window string) []UsageTotal {
	t.Helper()
	got, err := b.UsageHistory(context.Background(), key, window, time.Time{}, day(9999, 1, 1))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestAddUsageAccumulates(t *testing.T) {
	d1, d2, m1 := day(2026, 11, 21), day(2026, 11, 22), month(2026, 11)
	one := Usage{Requests: 1, InputTokens: 100, OutputTokens: 20, CachedTokens: 50, CacheHits: 1, SpendMicroUSD: 1234}
	full := Usage{math.MaxInt64, math.MaxInt64, math.MaxInt64, math.MaxInt64, math.MaxInt64, math.MaxInt64}
	type scope struct{ key, window string }
	tests := []struct {
		name    string
		batches [][]UsageDelta
		want    map[scope][]UsageTotal // every scope asked must hold exactly this
	}{
		{
			name:    "one delta",
			batches: [][]UsageDelta{{usageDelta("svc/a", WindowDay, d1, one)}},
			want: map[scope][]UsageTotal{
				{"svc/a", WindowDay}: {{d1, one}}, {"svc/a", WindowMonth}: nil, {"svc", WindowDay}: nil, {"svc/a/", WindowDay}: nil,
			},
		},
		{
			name: "across calls and within a batch",
			batches: [][]UsageDelta{
				{usageDelta("svc/a", WindowDay, d1, one), usageDelta("svc/a", WindowDay, d1, Usage{Requests: 2})},
				{usageDelta("svc/a", WindowDay, d1, Usage{OutputTokens: 5}), usageDelta("tok/t", WindowDay, d1, one)},
			},
			want: map[scope][]UsageTotal{
				{"svc/a", WindowDay}: {{d1, Usage{Requests: 3, InputTokens: 100, OutputTokens: 25, CachedTokens: 50, CacheHits: 1, SpendMicroUSD: 1234}}},
				{"tok/t", WindowDay}: {{d1, one}},
			},
		},
		{
			name: "windows apart",
			batches: [][]UsageDelta{{
				usageDelta("all", WindowDay, d1, one), usageDelta("all", WindowDay, d2, Usage{Requests: 7}),
				usageDelta("all", WindowMonth, m1, Usage{Requests: 8}),
				// The 1st of a month is also a day: still kept apart.
				usageDelta("all", WindowDay, m1, Usage{Requests: 9}),
			}},
			want: map[scope][]UsageTotal{
				{"all", WindowDay}:   {{m1, Usage{Requests: 9}}, {d1, one}, {d2, Usage{Requests: 7}}},
				{"all", WindowMonth}: {{m1, Usage{Requests: 8}}},
			},
		},
		{
			name:    "zero deltas write nothing",
			batches: [][]UsageDelta{{usageDelta("svc/a", WindowDay, d1, Usage{})}, nil, {}},
			want:    map[scope][]UsageTotal{{"svc/a", WindowDay}: nil},
		},
		{
			name:    "one counter is enough",
			batches: [][]UsageDelta{{usageDelta("svc/a", WindowDay, d1, Usage{CacheHits: 1})}},
			want:    map[scope][]UsageTotal{{"svc/a", WindowDay}: {{d1, Usage{CacheHits: 1}}}},
		},
		{
			name: "start in another location",
			batches: [][]UsageDelta{
				{usageDelta("svc/a", WindowDay, d1.In(time.FixedZone("UTC+5", 5*3600)), Usage{Requests: 1})},
				{usageDelta("svc/a", WindowDay, d1, Usage{Requests: 1})},
			},
			want: map[scope][]UsageTotal{{"svc/a", WindowDay}: {{d1, Usage{Requests: 2}}}},
		},
		{
			name: "saturates per counter",
			batches: [][]UsageDelta{
				{usageDelta("svc/a", WindowDay, d1, Usage{Requests: math.MaxInt64 - 1, InputTokens: 5})},
				{usageDelta("svc/a", WindowDay, d1, Usage{Requests: 5, InputTokens: 5}), usageDelta("svc/b", WindowDay, d1, full), usageDelta("svc/b", WindowDay, d1, full)},
				{usageDelta("svc/a", WindowDay, d1, Usage{SpendMicroUSD: math.MaxInt64}), usageDelta("svc/a", WindowDay, d1, Usage{SpendMicroUSD: 1})},
			},
			want: map[scope][]UsageTotal{
				{"svc/a", WindowDay}: {{d1, Usage{Requests: math.MaxInt64, InputTokens: 10, SpendMicroUSD: math.MaxInt64}}},
				{"svc/b", WindowDay}: {{d1, full}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := openTest(t)
			for _, batch := range tt.batches {
				mustAddUsage(t, b, batch...)
			}
			for s, want := range tt.want {
				got := usageHistory(t, b, s.key, s.window)
				if len(got) != 0 || len(want) != 0 {
					if !reflect.DeepEqual(got, want) {
						t.Errorf("%s usage of %q =\n%+v\nwant\n%+v", s.window, s.key, got, want)
					}
				}
			}
		})
	}
}

func TestUsageInvalid(t *testing.T) {
	ctx := context.Background()
	b := openTest(t)
	d1 := day(2026, 11, 21)
	u := Usage{Requests: 1}
	good := usageDelta("svc/a", WindowDay, d1, u)
	tests := []struct {
		name  string
		delta UsageDelta
	}{
		{"empty key", usageDelta("", WindowDay, d1, u)},
		{"key too long", usageDelta(strings.Repeat("k", maxSpendKeyLen+1), WindowDay, d1, u)},
		{"negative requests", usageDelta("svc/a", WindowDay, d1, Usage{Requests: -1})},
		{"negative input tokens", usageDelta("svc/a", WindowDay, d1, Usage{Requests: 1, InputTokens: -1})},
		{"negative output tokens", usageDelta("svc/a", WindowDay, d1, Usage{OutputTokens: -5})},
		{"negative cached tokens", usageDelta("svc/a", WindowDay, d1, Usage{CachedTokens: math.MinInt64})},
		{"negative cache hits", usageDelta("svc/a", WindowDay, d1, Usage{CacheHits: -1})},
		{"negative spend", usageDelta("svc/a", WindowDay, d1, Usage{SpendMicroUSD: -1})},
		{"empty window", usageDelta("svc/a", "", d1, u)},
		{"unknown window", usageDelta("svc/a", "week", d1, u)},
		{"zero start", usageDelta("svc/a", WindowDay, time.Time{}, u)},
		{"day not midnight", usageDelta("svc/a", WindowDay, d1.Add(time.Minute), u)},
		{"month not the 1st", usageDelta("svc/a", WindowMonth, d1, u)},
		{"year 10000", usageDelta("svc/a", WindowDay, day(10000, 1, 1), u)},
		// Invalid even though it would write nothing.
		{"zero usage, bad window", usageDelta("svc/a", "year", d1, Usage{})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The good delta first: nothing of a batch with an invalid
			// delta is written.
			wantErr(t, b.AddUsage(ctx, []UsageDelta{good, tt.delta}), ErrInvalid)
			if got := usageHistory(t, b, "svc/a", WindowDay); len(got) != 0 {
				t.Fatalf("batch with an invalid delta wrote %+v", got)
			}
		})
	}
	reads := []struct {
		name        string
		key, window string
	}{
		{"empty key", "", WindowDay},
		{"key too long", strings.Repeat("k", maxSpendKeyLen+1), WindowDay},
		{"unknown window", "svc/a", "year"},
		{"empty window", "svc/a", ""},
	}
	for _, tt := range reads {
		t.Run("history "+tt.name, func(t *testing.T) {
			_, err := b.UsageHistory(ctx, tt.key, tt.window, d1, d1.AddDate(0, 0, 1))
			wantErr(t, err, ErrInvalid)
		})
	}
	// The longest key is fine.
	mustAddUsage(t, b, usageDelta(strings.Repeat("k", maxSpendKeyLen), WindowDay, d1, u))
}

func TestUsageHistory(t *testing.T) {
	ctx := context.Background()
	b := openTest(t)
	const key = "tok/t"
	days := []time.Time{day(2026, 10, 30), day(2026, 10, 31), day(2026, 11, 1), day(2026, 11, 3), day(2026, 12, 31), day(2027, 1, 1)}
	months := []time.Time{month(2026, 9), month(2026, 10), month(2027, 1)}
	usageN := func(n int) Usage {
		return Usage{Requests: int64(n), InputTokens: int64(10 * n), OutputTokens: int64(n), CachedTokens: 0, CacheHits: int64(n % 2), SpendMicroUSD: int64(1000 * n)}
	}
	var deltas []UsageDelta
	for i, d := range days {
		deltas = append(deltas, usageDelta(key, WindowDay, d, usageN(i+1)))
	}
	for i, m := range months {
		deltas = append(deltas, usageDelta(key, WindowMonth, m, usageN(100*(i+1))))
	}
	// Neighbours that must not show up: other scopes, one of them with key
	// as a prefix, and spend totals of the same scope.
	deltas = append(deltas, usageDelta("tok/u", WindowDay, days[2], usageN(7)), usageDelta(key+"/x", WindowDay, days[2], usageN(8)), usageDelta("tok", WindowDay, days[2], usageN(9)))
	mustAddUsage(t, b, deltas...)
	mustAddSpend(t, b, dayDelta(key, day(2026, 11, 2), 5))

	dayTotals := func(idx ...int) []UsageTotal {
		var l []UsageTotal
		for _, i := range idx {
			l = append(l, UsageTotal{Start: days[i], Usage: usageN(i + 1)})
		}
		return l
	}
	tests := []struct {
		name     string
		window   string
		from, to time.Time
		want     []UsageTotal
	}{
		{"all days", WindowDay, time.Time{}, day(9999, 12, 31), dayTotals(0, 1, 2, 3, 4, 5)},
		{"from inclusive, to exclusive", WindowDay, days[1], days[3], dayTotals(1, 2)},
		{"from just after a start", WindowDay, days[1].Add(time.Nanosecond), days[4], dayTotals(2, 3)},
		{"from in a gap", WindowDay, day(2026, 11, 2), day(2027, 1, 1), dayTotals(3, 4)},
		{"empty range", WindowDay, days[2], days[2], nil},
		{"reversed range", WindowDay, days[3], days[1], nil},
		{"far future", WindowDay, day(10000, 1, 1), day(10001, 1, 1), nil},
		{"months from mid-month", WindowMonth, day(2026, 9, 15), day(2027, 1, 2), []UsageTotal{{months[1], usageN(200)}, {months[2], usageN(300)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := b.UsageHistory(ctx, key, tt.window, tt.from, tt.to)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 && len(tt.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("UsageHistory(%s, %v, %v) =\n%+v\nwant\n%+v", tt.window, tt.from, tt.to, got, tt.want)
			}
			for _, s := range got {
				if s.Start.Location() != time.UTC {
					t.Fatalf("start %v not in UTC", s.Start)
				}
			}
		})
	}
	// Spend and usage of one scope stay apart.
	if hist, err := b.SpendHistory(ctx, key, WindowDay, time.Time{}, day(9999, 1, 1)); err != nil || len(hist) != 1 {
		t.Fatalf("spend history %v, %v", hist, err)
	}
	if got := usageHistory(t, b, "tok/none", WindowDay); len(got) != 0 {
		t.Fatalf("usage of an unknown scope: %+v", got)
	}
	if k := usageScopeKey("svc/a", WindowMonth, "2026-11"); string(k) != "usage/005/svc/a/month/2026-11" {
		t.Errorf("usage key %q", k)
	}
}

// TestUsageKeysDoNotCollide stores usage under scope keys that share
// prefixes or contain '/', and reads each back alone.
func TestUsageKeysDoNotCollide(t *testing.T) {
	b := openTest(t)
	keys := []string{"svc/a", "svc/a/b", "svc/a/", "svc/a/day", "svc", "/", "a\x00", "\xff", "005/svc/a", "all", "all/", strings.Repeat("/", maxSpendKeyLen)}
	d := day(2026, 11, 21)
	var deltas []UsageDelta
	for i, k := range keys {
		deltas = append(deltas, usageDelta(k, WindowDay, d, Usage{Requests: int64(i + 1)}))
	}
	mustAddUsage(t, b, deltas...)
	for i, k := range keys {
		if got := usageHistory(t, b, k, WindowDay); len(got) != 1 || got[0].Requests != int64(i+1) {
			t.Errorf("usage of %q = %+v, want %d requests", k, got, i+1)
		}
	}
}

// TestAddUsageConcurrent checks that concurrent AddUsage calls on the same
// totals all count (conflicting transactions are retried).
func TestAddUsageConcurrent(t *testing.T) {
	ctx := context.Background()
	b := openTest(t)
	d, m := day(2026, 11, 21), month(2026, 11)
	const writers, calls = 8, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range calls {
				u := Usage{Requests: 1, InputTokens: 10, OutputTokens: 2, CachedTokens: 3, CacheHits: 1, SpendMicroUSD: 100}
				deltas := []UsageDelta{
					usageDelta("all", WindowDay, d, u), usageDelta("all", WindowMonth, m, u),
					usageDelta(fmt.Sprintf("tok/%d", w), WindowDay, d, Usage{Requests: int64(i)}),
				}
				if err := b.AddUsage(ctx, deltas); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	const n = writers * calls
	want := Usage{Requests: n, InputTokens: 10 * n, OutputTokens: 2 * n, CachedTokens: 3 * n, CacheHits: n, SpendMicroUSD: 100 * n}
	for _, w := range []string{WindowDay, WindowMonth} {
		if got := usageHistory(t, b, "all", w); len(got) != 1 || got[0].Usage != want {
			t.Fatalf("%s usage %+v, want %+v", w, got, want)
		}
	}
	for w := range writers {
		if got := usageHistory(t, b, fmt.Sprintf("tok/%d", w), WindowDay); len(got) != 1 || got[0].Requests != calls*(calls-1)/2 {
			t.Fatalf("writer %d: %+v", w, got)
		}
	}
}

// TestAddUsageLargeBatch adds more distinct totals than one transaction
// takes, with the longest keys, and a repeat across the boundary.
func TestAddUsageLargeBatch(t *testing.T) {
	b := openTest(t)
	d := day(2026, 11, 21)
	n := SpendBatchSize + 10
	pad := strings.Repeat("p", maxSpendKeyLen-10)
	key := func(i int) string { return fmt.Sprintf("%s%010d", pad, i) }
	var deltas []UsageDelta
	for i := range n {
		deltas = append(deltas, usageDelta(key(i), WindowDay, d, Usage{Requests: 1, SpendMicroUSD: int64(i)}))
	}
	deltas = append(deltas, usageDelta(key(0), WindowDay, d, Usage{Requests: 1})) // lands in the first transaction's total
	mustAddUsage(t, b, deltas...)
	if got := usageHistory(t, b, key(0), WindowDay); len(got) != 1 || got[0].Requests != 2 {
		t.Fatalf("first total %+v", got)
	}
	if got := usageHistory(t, b, key(n-1), WindowDay); len(got) != 1 || got[0].Usage != (Usage{Requests: 1, SpendMicroUSD: int64(n - 1)}) {
		t.Fatalf("last total %+v", got)
	}
}

// TestUsageCorrupt stores values of the wrong shape: reads and adds fail
// with an error naming the key.
func TestUsageCorrupt(t *testing.T) {
	ctx := context.Background()
	d := day(2026, 11, 21)
	tests := []struct {
		name string
		val  []byte
	}{
		{"short", make([]byte, 47)},
		{"long", make([]byte, 49)},
		{"empty", nil},
		{"negative counter", append(make([]byte, 40), 0x80, 0, 0, 0, 0, 0, 0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := openTest(t)
			k := usageScopeKey("svc/a", WindowDay, d.Format(spendDayLayout))
			if err := b.db.Update(func(txn *badger.Txn) error { return txn.Set(k, tt.val) }); err != nil {
				t.Fatal(err)
			}
			_, err := b.UsageHistory(ctx, "svc/a", WindowDay, d, d.AddDate(0, 0, 1))
			if err == nil || !strings.Contains(err.Error(), "corrupt usage totals") || !strings.Contains(err.Error(), string(k)) {
				t.Fatalf("history error %v", err)
			}
			err = b.AddUsage(ctx, []UsageDelta{usageDelta("svc/a", WindowDay, d, Usage{Requests: 1})})
			if err == nil || !strings.Contains(err.Error(), string(k)) {
				t.Fatalf("add error %v", err)
			}
		})
	}
}
