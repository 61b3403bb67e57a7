package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
func month(y int, m time.Month) time.Time      { return day(y, m, 1) }

func dayDelta(key string, start time.Time, amount int64) SpendDelta {
	return SpendDelta{Key: key, Window: WindowDay, Start: start, Amount: amount}
}

func monthDelta(key string, start time.Time, amount int64) SpendDelta {
	return SpendDelta{Key: key, Window: WindowMonth, Start: start, Amount: amount}
}

func mustAddSpend(t testing.TB, b *Badger, deltas ...SpendDelta) {
	t.Helper()
	if err := b.AddSpend(context.Background(), deltas); err != nil {
		t.Fatal(err)
	}
}

func mustSpendTotals(t testing.TB, b *Badger, window string, start time.Time) map[string]int64 {
	t.Helper()
	got, err := b.SpendTotals(context.Background(), window, start)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestAddSpendAccumulates(t *testing.T) {
	d1, d2 := day(2026, 11, 21), day(2026, 11, 22)
	m1, m2 := month(2026, 11), month(2026, 12)
	type window struct {
		name  string
		start time.Time
	}
	tests := []struct {
		name    string
		batches [][]SpendDelta
		want    map[window]map[string]int64 // every window asked must hold exactly this
	}{
		{
			name:    "one delta",
			batches: [][]SpendDelta{{dayDelta("svc/a", d1, 5)}},
			want:    map[window]map[string]int64{{WindowDay, d1}: {"svc/a": 5}, {WindowMonth, m1}: {}},
		},
		{
			name: "across calls",
			batches: [][]SpendDelta{
				{dayDelta("svc/a", d1, 5)},
				{dayDelta("svc/a", d1, 7)},
				{dayDelta("svc/a", d1, 0), dayDelta("tok/t", d1, 1)},
			},
			want: map[window]map[string]int64{{WindowDay, d1}: {"svc/a": 12, "tok/t": 1}},
		},
		{
			name: "repeated within one batch",
			batches: [][]SpendDelta{
				{dayDelta("svc/a", d1, 1), dayDelta("svc/a", d1, 2), dayDelta("tok/t", d1, 10), dayDelta("svc/a", d1, 3)},
				{dayDelta("svc/a", d1, 4), dayDelta("svc/a", d1, 4)},
			},
			want: map[window]map[string]int64{{WindowDay, d1}: {"svc/a": 14, "tok/t": 10}},
		},
		{
			name: "day and month apart",
			batches: [][]SpendDelta{{
				dayDelta("svc/a", d1, 1), monthDelta("svc/a", m1, 100),
				dayDelta("svc/a", d2, 2), monthDelta("svc/a", m2, 200),
				// The 1st of a month is also a day: still kept apart.
				dayDelta("svc/b", m2, 3), monthDelta("svc/b", m2, 300),
			}},
			want: map[window]map[string]int64{
				{WindowDay, d1}:                    {"svc/a": 1},
				{WindowDay, d2}:                    {"svc/a": 2},
				{WindowDay, m2}:                    {"svc/b": 3},
				{WindowMonth, m1}:                  {"svc/a": 100},
				{WindowMonth, m2}:                  {"svc/a": 200, "svc/b": 300},
				{WindowDay, m1}:                    {},
				{WindowMonth, m2.AddDate(0, 1, 0)}: {},
			},
		},
		{
			name:    "zero amounts write nothing",
			batches: [][]SpendDelta{{dayDelta("svc/a", d1, 0), monthDelta("svc/a", m1, 0)}},
			want:    map[window]map[string]int64{{WindowDay, d1}: {}, {WindowMonth, m1}: {}},
		},
		{
			name:    "empty batch",
			batches: [][]SpendDelta{nil, {}},
			want:    map[window]map[string]int64{{WindowDay, d1}: {}},
		},
		{
			name: "start in another location",
			batches: [][]SpendDelta{
				{dayDelta("svc/a", d1.In(time.FixedZone("UTC+5", 5*3600)), 1)},
				{dayDelta("svc/a", d1, 1)},
			},
			want: map[window]map[string]int64{{WindowDay, d1}: {"svc/a": 2}},
		},
		{
			name: "saturates",
			batches: [][]SpendDelta{
				{dayDelta("svc/a", d1, math.MaxInt64-1), dayDelta("svc/b", d1, math.MaxInt64)},
				{dayDelta("svc/a", d1, 5), dayDelta("svc/b", d1, 1), dayDelta("svc/c", d1, math.MaxInt64), dayDelta("svc/c", d1, math.MaxInt64)},
				{dayDelta("svc/a", d1, math.MaxInt64)},
			},
			want: map[window]map[string]int64{{WindowDay, d1}: {"svc/a": math.MaxInt64, "svc/b": math.MaxInt64, "svc/c": math.MaxInt64}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := openTest(t)
			for _, batch := range tt.batches {
				mustAddSpend(t, b, batch...)
			}
			for w, want := range tt.want {
				if got := mustSpendTotals(t, b, w.name, w.start); !maps.Equal(got, want) {
					t.Errorf("SpendTotals(%s, %s) = %v, want %v", w.name, w.start.Format(time.DateOnly), got, want)
				}
			}
		})
	}
}

func TestSpendInvalid(t *testing.T) {
	ctx := context.Background()
	b := openTest(t)
	d1 := day(2026, 11, 21)
	good := dayDelta("svc/a", d1, 1)
	tests := []struct {
		name  string
		delta SpendDelta
	}{
		{"empty key", dayDelta("", d1, 1)},
		{"key too long", dayDelta(strings.Repeat("k", maxSpendKeyLen+1), d1, 1)},
		{"negative amount", dayDelta("svc/a", d1, -1)},
		{"min amount", dayDelta("svc/a", d1, math.MinInt64)},
		{"empty window", SpendDelta{Key: "svc/a", Start: d1, Amount: 1}},
		{"unknown window", SpendDelta{Key: "svc/a", Window: "week", Start: d1, Amount: 1}},
		{"window case", SpendDelta{Key: "svc/a", Window: "Day", Start: d1, Amount: 1}},
		{"zero start", dayDelta("svc/a", time.Time{}, 1)},
		{"day not midnight", dayDelta("svc/a", d1.Add(time.Hour), 1)},
		{"day off by a nanosecond", dayDelta("svc/a", d1.Add(-time.Nanosecond), 1)},
		{"local midnight that is not UTC", dayDelta("svc/a", time.Date(2026, 11, 21, 0, 0, 0, 0, time.FixedZone("UTC+5", 5*3600)), 1)},
		{"month not the 1st", monthDelta("svc/a", d1, 1)},
		{"month not midnight", monthDelta("svc/a", month(2026, 11).Add(time.Second), 1)},
		{"year 10000", dayDelta("svc/a", day(10000, 1, 1), 1)},
		{"year 0", dayDelta("svc/a", day(0, 1, 1), 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The good delta first: nothing of a batch with an invalid
			// delta is written.
			wantErr(t, b.AddSpend(ctx, []SpendDelta{good, tt.delta}), ErrInvalid)
			if got := mustSpendTotals(t, b, WindowDay, d1); len(got) != 0 {
				t.Fatalf("batch with an invalid delta wrote %v", got)
			}
			if tt.delta.Key != "" && len(tt.delta.Key) <= maxSpendKeyLen && tt.delta.Amount >= 0 {
				// The window or start is what is wrong: the reads refuse it too.
				_, err := b.SpendTotals(ctx, tt.delta.Window, tt.delta.Start)
				wantErr(t, err, ErrInvalid)
			}
		})
	}

	reads := []struct {
		name string
		op   func() error
	}{
		{"history empty key", func() error { _, err := b.SpendHistory(ctx, "", WindowDay, d1, d1.AddDate(0, 0, 1)); return err }},
		{"history key too long", func() error {
			_, err := b.SpendHistory(ctx, strings.Repeat("k", maxSpendKeyLen+1), WindowDay, d1, d1.AddDate(0, 0, 1))
			return err
		}},
		{"history unknown window", func() error { _, err := b.SpendHistory(ctx, "svc/a", "year", d1, d1.AddDate(0, 0, 1)); return err }},
		{"totals unknown window", func() error { _, err := b.SpendTotals(ctx, "", d1); return err }},
	}
	for _, tt := range reads {
		t.Run(tt.name, func(t *testing.T) { wantErr(t, tt.op(), ErrInvalid) })
	}
	// The longest key is fine.
	mustAddSpend(t, b, dayDelta(strings.Repeat("k", maxSpendKeyLen), d1, 1))
}

func TestSpendHistory(t *testing.T) {
	ctx := context.Background()
	b := openTest(t)
	const key = "tok/t"
	days := []time.Time{day(2026, 10, 30), day(2026, 10, 31), day(2026, 11, 1), day(2026, 11, 3), day(2026, 12, 31), day(2027, 1, 1)}
	months := []time.Time{month(2026, 9), month(2026, 10), month(2026, 11), month(2027, 1)}
	var deltas []SpendDelta
	for i, d := range days {
		deltas = append(deltas, dayDelta(key, d, int64(i+1)))
	}
	for i, m := range months {
		deltas = append(deltas, monthDelta(key, m, int64(100*(i+1))))
	}
	// Neighbours that must not show up: other scopes, one of them with
	// key as a prefix.
	deltas = append(deltas, dayDelta("tok/u", days[2], 1000), dayDelta(key+"/x", days[2], 2000), dayDelta("tok", days[2], 3000))
	mustAddSpend(t, b, deltas...)

	dayTotals := func(idx ...int) []SpendTotal {
		var l []SpendTotal
		for _, i := range idx {
			l = append(l, SpendTotal{Start: days[i], Amount: int64(i + 1)})
		}
		return l
	}
	monthTotals := func(idx ...int) []SpendTotal {
		var l []SpendTotal
		for _, i := range idx {
			l = append(l, SpendTotal{Start: months[i], Amount: int64(100 * (i + 1))})
		}
		return l
	}
	tests := []struct {
		name     string
		window   string
		from, to time.Time
		want     []SpendTotal
	}{
		{"all days", WindowDay, time.Time{}, day(9999, 12, 31), dayTotals(0, 1, 2, 3, 4, 5)},
		{"from inclusive, to exclusive", WindowDay, days[1], days[3], dayTotals(1, 2)},
		{"to just after a start", WindowDay, days[1], days[3].Add(time.Nanosecond), dayTotals(1, 2, 3)},
		{"from just after a start", WindowDay, days[1].Add(time.Nanosecond), days[4], dayTotals(2, 3)},
		{"from in a gap", WindowDay, day(2026, 11, 2), day(2027, 1, 1), dayTotals(3, 4)},
		{"across a year", WindowDay, day(2026, 12, 1), day(2027, 2, 1), dayTotals(4, 5)},
		{"from in another location", WindowDay, days[1].In(time.FixedZone("UTC-3", -3*3600)), days[2], dayTotals(1)},
		{"empty range", WindowDay, days[2], days[2], nil},
		{"reversed range", WindowDay, days[3], days[1], nil},
		{"before everything", WindowDay, day(2000, 1, 1), day(2026, 10, 30), nil},
		{"after everything", WindowDay, day(2027, 1, 2), day(2100, 1, 1), nil},
		{"far future from", WindowDay, day(10000, 1, 1), day(10001, 1, 1), nil},
		{"months", WindowMonth, month(2026, 10), month(2027, 1), monthTotals(1, 2)},
		{"months from mid-month", WindowMonth, day(2026, 9, 15), day(2027, 1, 2), monthTotals(1, 2, 3)},
		{"all months", WindowMonth, time.Time{}, day(9999, 1, 1), monthTotals(0, 1, 2, 3)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := b.SpendHistory(ctx, key, tt.window, tt.from, tt.to)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 && len(tt.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("SpendHistory(%s, %v, %v) =\n%v\nwant\n%v", tt.window, tt.from, tt.to, got, tt.want)
			}
			for _, s := range got {
				if s.Start.Location() != time.UTC {
					t.Fatalf("start %v not in UTC", s.Start)
				}
			}
		})
	}
	got, err := b.SpendHistory(ctx, "tok/none", WindowDay, time.Time{}, day(3000, 1, 1))
	if err != nil || len(got) != 0 {
		t.Fatalf("history of an unknown scope: %v, %v", got, err)
	}
}

// TestSpendKeysDoNotCollide stores totals under scope keys that share
// prefixes, contain '/', look like parts of the key layout or hold bytes
// that sort around the separators, and reads each back alone.
func TestSpendKeysDoNotCollide(t *testing.T) {
	ctx := context.Background()
	b := openTest(t)
	keys := []string{
		"svc/a", "svc/a/b", "svc/a/", "svc/a/day", "svc/a/day/2026-11-21", "svc/a/month/",
		"svc", "svc/", "/", "//", "a", "a\x00", "\x00", "\xff", "\xff\xff", "svc/a\x00", "svc/a.", "svc/a0",
		"005/svc/a", "005/svc/a/day/", "day/2026-11-21/svc/a", "2026-11-21/svc/a", "spendk/005/svc/a",
		"tok/" + strings.Repeat("x", maxSpendKeyLen-4), strings.Repeat("/", maxSpendKeyLen),
		"ünïcödé/🙂", "with space", "svc/a\n",
	}
	d, m := day(2026, 11, 21), month(2026, 11)
	var deltas []SpendDelta
	wantDay, wantMonth := map[string]int64{}, map[string]int64{}
	for i, k := range keys {
		deltas = append(deltas, dayDelta(k, d, int64(i+1)), monthDelta(k, m, int64(1000*(i+1))))
		wantDay[k], wantMonth[k] = int64(i+1), int64(1000*(i+1))
	}
	mustAddSpend(t, b, deltas...)
	// A second batch in reverse order: each total grows by its own delta.
	for i := range deltas {
		deltas[i].Amount = 1
	}
	slicesReverse(deltas)
	mustAddSpend(t, b, deltas...)
	for k := range wantDay {
		wantDay[k]++
		wantMonth[k]++
	}
	if got := mustSpendTotals(t, b, WindowDay, d); !maps.Equal(got, wantDay) {
		t.Fatalf("day totals\n%v\nwant\n%v", got, wantDay)
	}
	if got := mustSpendTotals(t, b, WindowMonth, m); !maps.Equal(got, wantMonth) {
		t.Fatalf("month totals\n%v\nwant\n%v", got, wantMonth)
	}
	for _, k := range keys {
		for _, w := range []struct {
			window string
			want   int64
		}{{WindowDay, wantDay[k]}, {WindowMonth, wantMonth[k]}} {
			got, err := b.SpendHistory(ctx, k, w.window, time.Time{}, day(9999, 1, 1))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Amount != w.want {
				t.Errorf("%s history of %q = %v, want one total of %d", w.window, k, got, w.want)
			}
		}
	}
}

func slicesReverse[T any](s []T) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}

// TestSpendScopePrefixesDisjoint extends TestKeyPrefixes to the spend key
// families: no scope's spendk/ prefix is a prefix of another scope's (or
// window's), and every key stays under its family's prefix.
func TestSpendScopePrefixesDisjoint(t *testing.T) {
	keys := []string{"a", "a/", "a/b", "ab", "a\x00", "\xff", "/", "005/a", "day", "a/day", strings.Repeat("z", maxSpendKeyLen), strings.Repeat("/", 99), strings.Repeat("/", 100)}
	for _, w := range []string{WindowDay, WindowMonth} {
		for _, k := range keys {
			p := spendScopePrefix(k, w)
			if !bytes.HasPrefix(p, []byte(prefixSpendKey)) || !bytes.HasSuffix(p, []byte("/")) {
				t.Errorf("scope prefix %q", p)
			}
			if got := spendScopeKey(k, w, "2026-11-21"); !bytes.Equal(got, append(bytes.Clone(p), "2026-11-21"...)) {
				t.Errorf("scope key %q does not extend its prefix %q", got, p)
			}
			if got := spendWindowKey(w, "2026-11", k); !bytes.HasPrefix(got, spendWindowPrefix(w, "2026-11")) {
				t.Errorf("window key %q", got)
			}
			for _, w2 := range []string{WindowDay, WindowMonth} {
				for _, k2 := range keys {
					if (k != k2 || w != w2) && bytes.HasPrefix(spendScopePrefix(k2, w2), p) {
						t.Errorf("scope prefix %q is a prefix of %q", p, spendScopePrefix(k2, w2))
					}
				}
			}
		}
	}
	if !strings.HasPrefix(keyPricingOverrides, prefixConfig) {
		t.Errorf("pricing overrides key %q is outside %q", keyPricingOverrides, prefixConfig)
	}
	if p := spendWindowPrefix(WindowDay, "2026-11-21"); string(p) != "spendw/day/2026-11-21/" {
		t.Errorf("window prefix %q", p)
	}
	if k := spendScopeKey("svc/a", WindowMonth, "2026-11"); string(k) != "spendk/005/svc/a/month/2026-11" {
		t.Errorf("scope key %q", k)
	}
}

// TestAddSpendConcurrent checks that concurrent AddSpend calls on the same
// totals all count (conflicting transactions are retried).
func TestAddSpendConcurrent(t *testing.T) {
	ctx := context.Background()
	b := openTest(t)
	d, m := day(2026, 11, 21), month(2026, 11)
	const writers, calls = 8, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range calls {
				deltas := []SpendDelta{dayDelta("svc/shared", d, 1), monthDelta("svc/shared", m, 2), dayDelta(fmt.Sprintf("tok/%d", w), d, int64(i))}
				if err := b.AddSpend(ctx, deltas); err != nil {
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
	want := map[string]int64{"svc/shared": writers * calls}
	for w := range writers {
		want[fmt.Sprintf("tok/%d", w)] = calls * (calls - 1) / 2
	}
	if got := mustSpendTotals(t, b, WindowDay, d); !maps.Equal(got, want) {
		t.Fatalf("day totals %v, want %v", got, want)
	}
	if got := mustSpendTotals(t, b, WindowMonth, m); !maps.Equal(got, map[string]int64{"svc/shared": 2 * writers * calls}) {
		t.Fatalf("month totals %v", got)
	}
}

// TestAddSpendLargeBatch adds more distinct totals than one transaction
// takes, with the longest keys, and repeats within the batch across
// transaction boundaries.
func TestAddSpendLargeBatch(t *testing.T) {
	b := openTest(t)
	d := day(2026, 11, 21)
	n := 2*SpendBatchSize + 100
	if testing.Short() {
		n = SpendBatchSize + 10
	}
	pad := strings.Repeat("p", maxSpendKeyLen-10)
	key := func(i int) string { return fmt.Sprintf("%s%010d", pad, i) }
	var deltas []SpendDelta
	for i := range n {
		deltas = append(deltas, dayDelta(key(i), d, 1), monthDelta(key(i), month(2026, 11), 1))
	}
	deltas = append(deltas, dayDelta(key(0), d, 1)) // lands in the first transaction's total
	mustAddSpend(t, b, deltas...)
	got := mustSpendTotals(t, b, WindowDay, d)
	if len(got) != n || got[key(0)] != 2 || got[key(n-1)] != 1 {
		t.Fatalf("%d day totals (want %d), first %d (want 2), last %d (want 1)", len(got), n, got[key(0)], got[key(n-1)])
	}
	if got := mustSpendTotals(t, b, WindowMonth, month(2026, 11)); len(got) != n {
		t.Fatalf("%d month totals, want %d", len(got), n)
	}
}

func TestSpendPersistsAndClosed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := day(2026, 11, 21)
	mustAddSpend(t, b, dayDelta("svc/a", d, 42))
	doc := []byte(`{"models":{"gpt-4o":{"input":2.5}}}`)
	if err := b.PutPricingOverrides(ctx, doc); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	wantErr(t, b.AddSpend(ctx, []SpendDelta{dayDelta("svc/a", d, 1)}), ErrClosed)
	wantErr(t, b.AddSpend(ctx, nil), ErrClosed)
	_, err = b.SpendTotals(ctx, WindowDay, d)
	wantErr(t, err, ErrClosed)
	_, err = b.SpendHistory(ctx, "svc/a", WindowDay, d, d.AddDate(0, 0, 1))
	wantErr(t, err, ErrClosed)
	_, err = b.GetPricingOverrides(ctx)
	wantErr(t, err, ErrClosed)
	wantErr(t, b.PutPricingOverrides(ctx, doc), ErrClosed)

	b2, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	if got := mustSpendTotals(t, b2, WindowDay, d); !maps.Equal(got, map[string]int64{"svc/a": 42}) {
		t.Fatalf("after reopen: %v", got)
	}
	if got, err := b2.GetPricingOverrides(ctx); err != nil || !bytes.Equal(got, doc) {
		t.Fatalf("overrides after reopen: %s, %v", got, err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	wantErr(t, b2.AddSpend(canceled, []SpendDelta{dayDelta("svc/a", d, 1)}), context.Canceled)
}

func TestPricingOverrides(t *testing.T) {
	ctx := context.Background()
	b := openTest(t)
	got, err := b.GetPricingOverrides(ctx)
	if err != nil || got != nil {
		t.Fatalf("before any put: %q, %v; want nil", got, err)
	}
	big := []byte(`"` + strings.Repeat("x", 2<<20) + `"`) // above Badger's value threshold
	tests := []struct {
		name string
		doc  []byte
		want error
	}{
		{"object", []byte(`{"gpt-4o":{"input_per_mtok":2.5}}`), nil},
		{"replaced", []byte(`{"claude":{"output_per_mtok":15}}`), nil},
		{"empty object", []byte(`{}`), nil},
		{"null", []byte(`null`), nil},
		{"large", big, nil},
		{"whitespace", []byte(" [1, 2]\n"), nil},
		{"nil", nil, ErrInvalid},
		{"empty", []byte{}, ErrInvalid},
		{"not JSON", []byte(`{"a":`), ErrInvalid},
		{"two values", []byte(`{} {}`), ErrInvalid},
		{"too large", []byte(`"` + strings.Repeat("x", MaxPricingOverridesSize-1) + `"`), ErrInvalid},
	}
	last := []byte(nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := bytes.Clone(tt.doc)
			err := b.PutPricingOverrides(ctx, doc)
			wantErr(t, err, tt.want)
			if err == nil {
				last = tt.doc
				for i := range doc {
					doc[i] = 'Z' // the caller may reuse its buffer
				}
			}
			got, err := b.GetPricingOverrides(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, last) || (last != nil && !json.Valid(got)) {
				t.Fatalf("read back %d bytes %.40q, want %d bytes %.40q", len(got), got, len(last), last)
			}
			if len(got) > 0 {
				got[0] = 'Z' // a copy: does not change what is stored
				if again, _ := b.GetPricingOverrides(ctx); !bytes.Equal(again, last) {
					t.Fatal("GetPricingOverrides returned the stored bytes, not a copy")
				}
			}
		})
	}
}
