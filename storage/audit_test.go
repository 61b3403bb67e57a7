package storage

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// auditIDAt is a valid audit record ID of time t; n makes it unique within
// the millisecond (and orders IDs of one millisecond).
func auditIDAt(t time.Time, n int) string {
	id := []byte(minIDAt(AuditIDPrefix, t))
	for i := len(id) - 1; n > 0; i-- {
		id[i] = crockford[n&31]
		n >>= 5
	}
	return string(id)
}

// auditRec is a record of time at with a matching ID.
func auditRec(at time.Time, n int, serviceID, tokenID string, status int) AuditRecord {
	return AuditRecord{
		ID: auditIDAt(at, n), Time: at, ServiceID: serviceID, TokenID: tokenID,
		Surface: "openai", Operation: "chat.completions", Model: "gpt-4o", Status: status,
	}
}

func mustAppendAudit(t testing.TB, b *Badger, ttl time.Duration, recs ...AuditRecord) {
	t.Helper()
	if err := b.AppendAudit(context.Background(), recs, ttl); err != nil {
		t.Fatal(err)
	}
}

// listAllAudit walks every page of ListAudit and checks that pages hold at
// most limit records, are newest first across pages, and end with "".
func listAllAudit(t testing.TB, b *Badger, f AuditFilter, limit int) []AuditRecord {
	t.Helper()
	var all []AuditRecord
	cursor := ""
	for calls := 0; ; calls++ {
		if calls > 100_000 {
			t.Fatal("ListAudit does not come to an end")
		}
		page, next, err := b.ListAudit(context.Background(), f, Page{Limit: limit, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		if want := pageLimit(Page{Limit: limit}); len(page) > want {
			t.Fatalf("page of %d records, limit %d", len(page), want)
		}
		if len(page) > 0 && next != "" && next != page[len(page)-1].ID && len(page) == pageLimit(Page{Limit: limit}) {
			t.Fatalf("full page ends with %s, next is %s", page[len(page)-1].ID, next)
		}
		all = append(all, page...)
		if next == "" {
			break
		}
		if next >= cursor && cursor != "" {
			t.Fatalf("cursor %s does not move back from %s", next, cursor)
		}
		cursor = next
	}
	for i := 1; i < len(all); i++ {
		if all[i].ID >= all[i-1].ID {
			t.Fatalf("record %d (%s) is not older than record %d (%s)", i, all[i].ID, i-1, all[i-1].ID)
		}
	}
	return all
}

func auditIDs(recs []AuditRecord) []string {
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	return ids
}

// wantAudit is what ListAudit should give for f over recs: the matching
// records, newest first.
func wantAudit(recs []AuditRecord, f AuditFilter) []string {
	var ids []string
	for i := range recs {
		if f.matches(&recs[i]) {
			ids = append(ids, recs[i].ID)
		}
	}
	slices.Sort(ids)
	slices.Reverse(ids)
	return ids
}

func TestMinIDAt(t *testing.T) {
	zeros := strings.Repeat("0", 16)
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.UnixMilli(0), "req_0000000000" + zeros},
		{time.UnixMilli(1), "req_0000000001" + zeros},
		{time.UnixMilli(32), "req_0000000010" + zeros},
		{time.UnixMilli(1).Add(999 * time.Microsecond), "req_0000000001" + zeros}, // truncated to the millisecond
		{time.UnixMilli(-5), "req_0000000000" + zeros},
		{time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), "req_0000000000" + zeros},
		{time.UnixMilli(1<<48 - 1), "req_7ZZZZZZZZZ" + zeros},
		{time.UnixMilli(1 << 48), "req_7ZZZZZZZZZ" + zeros},
		{time.Date(20000, 1, 1, 0, 0, 0, 0, time.UTC), "req_7ZZZZZZZZZ" + zeros},
	}
	for _, tt := range tests {
		got := minIDAt(AuditIDPrefix, tt.t)
		if got != tt.want {
			t.Errorf("minIDAt(%v) = %s, want %s", tt.t, got, tt.want)
		}
		if !validID(AuditIDPrefix, got) {
			t.Errorf("minIDAt(%v) = %s, which validID rejects", tt.t, got)
		}
	}
	// Against NewID: an ID made between two instants sorts between the
	// smallest IDs of their milliseconds.
	for range 100 {
		before := time.Now()
		id := NewID(AuditIDPrefix)
		after := time.Now()
		if lo, hi := minIDAt(AuditIDPrefix, before), minIDAt(AuditIDPrefix, after.Add(time.Millisecond)); id < lo || id >= hi {
			t.Fatalf("NewID made between %v and %v is %s, outside [%s, %s)", before, after, id, lo, hi)
		}
	}
	// Later times give larger IDs.
	prev := ""
	for ms := int64(1_700_000_000_000); ms < 1_700_000_000_000+5000; ms += 7 {
		id := minIDAt(TokenIDPrefix, time.UnixMilli(ms))
		if id <= prev {
			t.Fatalf("minIDAt(%d) = %s is not after %s", ms, id, prev)
		}
		prev = id
	}
}

func TestAppendAuditInvalid(t *testing.T) {
	ctx := context.Background()
	b := openTest(t)
	at := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	good := auditRec(at, 1, "svc_a", "tok_a", 200)
	long := strings.Repeat("x", maxAuditRefLen+1)
	tests := []struct {
		name string
		rec  AuditRecord
	}{
		{"no ID", AuditRecord{Time: at, Status: 200}},
		{"ID of another kind", AuditRecord{ID: NewID(TokenIDPrefix), Time: at}},
		{"ID too short", AuditRecord{ID: good.ID[:len(good.ID)-1], Time: at}},
		{"ID lower case", AuditRecord{ID: strings.ToLower(auditIDAt(at, 2)), Time: at}},
		{"ID with a slash", AuditRecord{ID: "req_" + strings.Repeat("0", 25) + "/", Time: at}},
		{"service ID with a slash", auditRec(at, 3, "svc/a", "", 200)},
		{"service ID only a slash", auditRec(at, 3, "/", "", 200)},
		{"service ID too long", auditRec(at, 3, long, "", 200)},
		{"token ID with a slash", auditRec(at, 3, "svc_a", "tok/../a", 200)},
		{"token ID too long", auditRec(at, 3, "", long, 200)},
		{"service ID not UTF-8", auditRec(at, 3, "svc_\xff", "", 200)},
		{"token ID not UTF-8", auditRec(at, 3, "", "tok_\xc3", 200)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The good record first: nothing of a batch with an invalid
			// record is written.
			wantErr(t, b.AppendAudit(ctx, []AuditRecord{good, tt.rec}, 0), ErrInvalid)
			if got := listAllAudit(t, b, AuditFilter{}, 0); len(got) != 0 {
				t.Fatalf("batch with an invalid record wrote %v", auditIDs(got))
			}
		})
	}
	// The longest service and token IDs are fine, and so is an empty batch.
	mustAppendAudit(t, b, 0)
	mustAppendAudit(t, b, 0, auditRec(at, 4, long[1:], long[1:], 200))
	got := listAllAudit(t, b, AuditFilter{ServiceID: long[1:], TokenID: long[1:]}, 0)
	if len(got) != 1 {
		t.Fatalf("%d records with the longest IDs, want 1", len(got))
	}
}

func TestAuditRoundTrip(t *testing.T) {
	ctx := context.Background()
	b := openTest(t)
	rec := AuditRecord{
		ID: NewID(AuditIDPrefix), Time: time.Date(2026, 11, 21, 12, 30, 1, 123456789, time.UTC),
		ServiceID: NewID(ServiceIDPrefix), TokenID: NewID(TokenIDPrefix),
		Surface: "anthropic", Operation: "messages", Model: "claude-sonnet", Provider: "anthropic", UpstreamModel: "claude-sonnet-4",
		Stream: true, Status: 502, ErrorType: "upstream_error", InputTokens: 1200, OutputTokens: 340, CachedTokens: 1000,
		UsageEstimated: true, CostMicroUSD: 4321, CacheHit: true, Latency: 1500 * time.Millisecond, TTFB: 230 * time.Millisecond,
		ClientIP: "203.0.113.7", RequestBody: `{"messages":[]}`, ResponseBody: "event: error\n",
	}
	mustAppendAudit(t, b, time.Hour, rec)
	for _, f := range []AuditFilter{{}, {ServiceID: rec.ServiceID}, {TokenID: rec.TokenID}, {Status: 502}} {
		got, next, err := b.ListAudit(ctx, f, Page{})
		if err != nil || next != "" || len(got) != 1 {
			t.Fatalf("ListAudit(%+v) = %d records, %q, %v", f, len(got), next, err)
		}
		if !reflect.DeepEqual(got[0], rec) {
			t.Fatalf("read back\n%+v\nwant\n%+v", got[0], rec)
		}
	}
	// Writing the same ID again replaces the record; the old service's
	// index entry no longer lists it.
	moved := rec
	moved.ServiceID, moved.Status = NewID(ServiceIDPrefix), 200
	mustAppendAudit(t, b, time.Hour, moved)
	if got := listAllAudit(t, b, AuditFilter{}, 0); len(got) != 1 || got[0].ServiceID != moved.ServiceID {
		t.Fatalf("after rewrite: %+v", got)
	}
	if got := listAllAudit(t, b, AuditFilter{ServiceID: rec.ServiceID}, 0); len(got) != 0 {
		t.Fatalf("the old service still lists %v", auditIDs(got))
	}
	if got := listAllAudit(t, b, AuditFilter{ServiceID: moved.ServiceID}, 0); len(got) != 1 {
		t.Fatalf("the new service lists %v", auditIDs(got))
	}
}

func TestListAuditFilters(t *testing.T) {
	b := openTest(t)
	base := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	// Service and token IDs that are prefixes of one another, or hold
	// bytes that sort around the separator.
	services := []string{"svc_A", "svc_AB", "svc_A.", "svc_A\x00", ""}
	tokens := []string{"tok_1", "tok_12", "tok_1.", "tok_10", ""}
	statuses := []int{200, 200, 429, 500, 401}
	var recs []AuditRecord
	for i := range 300 {
		// Several records per millisecond, in order.
		r := auditRec(base.Add(time.Duration(i/3)*time.Millisecond), i%3+1, services[i%len(services)], tokens[i%len(tokens)], statuses[i%len(statuses)])
		recs = append(recs, r)
	}
	// Written in a shuffled order and in several calls: order comes from
	// the IDs.
	shuffled := slices.Clone(recs)
	for i := range shuffled {
		j := (i * 7919) % len(shuffled)
		shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
	}
	mustAppendAudit(t, b, 0, shuffled[:100]...)
	mustAppendAudit(t, b, time.Hour, shuffled[100:]...)

	filters := []struct {
		name string
		f    AuditFilter
	}{
		{"all", AuditFilter{}},
		{"service", AuditFilter{ServiceID: "svc_A"}},
		{"service with a longer neighbour", AuditFilter{ServiceID: "svc_AB"}},
		{"service with a NUL", AuditFilter{ServiceID: "svc_A\x00"}},
		{"token", AuditFilter{TokenID: "tok_1"}},
		{"token sorting before the separator", AuditFilter{TokenID: "tok_1."}},
		{"token sorting after the separator", AuditFilter{TokenID: "tok_10"}},
		{"service and token", AuditFilter{ServiceID: "svc_AB", TokenID: "tok_12"}},
		{"service and token never together", AuditFilter{ServiceID: "svc_A", TokenID: "tok_12"}},
		{"status", AuditFilter{Status: 429}},
		{"service and status", AuditFilter{ServiceID: "svc_A.", Status: 500}},
		{"token and status", AuditFilter{TokenID: "tok_1", Status: 200}},
		{"status nobody has", AuditFilter{Status: 418}},
		{"unknown service", AuditFilter{ServiceID: "svc_Z"}},
		{"service with a slash", AuditFilter{ServiceID: "svc_A/"}},
		{"token with a slash", AuditFilter{TokenID: "/"}},
		{"service too long", AuditFilter{ServiceID: strings.Repeat("s", maxAuditRefLen+1)}},
		{"from", AuditFilter{From: base.Add(50 * time.Millisecond)}},
		{"to", AuditFilter{To: base.Add(50 * time.Millisecond)}},
		{"from and to", AuditFilter{From: base.Add(20 * time.Millisecond), To: base.Add(30*time.Millisecond + 1)}},
		{"from and to with service", AuditFilter{ServiceID: "svc_A", From: base.Add(20 * time.Millisecond), To: base.Add(80 * time.Millisecond)}},
		{"empty range", AuditFilter{From: base.Add(20 * time.Millisecond), To: base.Add(20 * time.Millisecond)}},
		{"reversed range", AuditFilter{From: base.Add(30 * time.Millisecond), To: base.Add(20 * time.Millisecond)}},
		{"before everything", AuditFilter{To: base}},
		{"after everything", AuditFilter{From: base.Add(time.Second)}},
		{"far past and future", AuditFilter{From: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}},
	}
	for _, tt := range filters {
		want := wantAudit(recs, tt.f)
		for _, limit := range []int{1, 7, 100, 0} {
			t.Run(fmt.Sprintf("%s/limit %d", tt.name, limit), func(t *testing.T) {
				got := auditIDs(listAllAudit(t, b, tt.f, limit))
				if !slices.Equal(got, want) {
					t.Fatalf("got %d records %v\nwant %d %v", len(got), got, len(want), want)
				}
			})
		}
	}
	// Sanity: the filters above are not all trivial.
	if n := len(wantAudit(recs, AuditFilter{ServiceID: "svc_A", From: base.Add(20 * time.Millisecond), To: base.Add(80 * time.Millisecond)})); n == 0 || n >= 60 {
		t.Fatalf("range with service selects %d records", n)
	}
}

func TestListAuditCursor(t *testing.T) {
	ctx := context.Background()
	b := openTest(t)
	base := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	var recs []AuditRecord
	for i := range 10 {
		recs = append(recs, auditRec(base.Add(time.Duration(i)*time.Second), 1, "svc_a", "", 200))
	}
	mustAppendAudit(t, b, 0, recs...)
	ids := wantAudit(recs, AuditFilter{}) // newest first

	// Page by page.
	page, next, err := b.ListAudit(ctx, AuditFilter{}, Page{Limit: 4})
	if err != nil || !slices.Equal(auditIDs(page), ids[:4]) || next != ids[3] {
		t.Fatalf("first page %v, %q, %v", auditIDs(page), next, err)
	}
	page, next, err = b.ListAudit(ctx, AuditFilter{}, Page{Limit: 6, Cursor: next})
	if err != nil || !slices.Equal(auditIDs(page), ids[4:]) || next != "" {
		t.Fatalf("last page %v, %q, %v", auditIDs(page), next, err)
	}

	tests := []struct {
		name   string
		f      AuditFilter
		cursor string
		want   []string
	}{
		{"a stored ID", AuditFilter{}, ids[2], ids[3:]},
		{"the oldest", AuditFilter{}, ids[9], nil},
		{"the newest through the index", AuditFilter{ServiceID: "svc_a"}, ids[0], ids[1:]},
		{"an ID not stored, between two", AuditFilter{}, auditIDAt(base.Add(4500*time.Millisecond), 0), ids[5:]},
		{"an ID after all", AuditFilter{}, auditIDAt(base.Add(time.Hour), 0), ids},
		{"an ID before all", AuditFilter{}, auditIDAt(base.Add(-time.Hour), 0), nil},
		{"with an earlier To", AuditFilter{To: base.Add(3 * time.Second)}, ids[1], ids[7:]},
		{"with a later To", AuditFilter{To: base.Add(8 * time.Second)}, ids[5], ids[6:]},
		{"with From", AuditFilter{From: base.Add(3 * time.Second)}, ids[4], ids[5:7]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, next, err := b.ListAudit(ctx, tt.f, Page{Cursor: tt.cursor})
			if err != nil || next != "" || !slices.Equal(auditIDs(got), tt.want) {
				t.Fatalf("got %v, %q, %v; want %v", auditIDs(got), next, err, tt.want)
			}
		})
	}

	for _, cursor := range []string{"x", "req_", ids[0] + "0", strings.ToLower(ids[0]), NewID(TokenIDPrefix), ids[0][:len(ids[0])-1] + "/"} {
		_, _, err := b.ListAudit(ctx, AuditFilter{}, Page{Cursor: cursor})
		wantErr(t, err, ErrInvalid)
	}
}

// TestListAuditTimeSlack stores records whose IDs were made a little after
// their Time, as when the ID is made once the request is authenticated:
// From and To still find them by Time.
func TestListAuditTimeSlack(t *testing.T) {
	b := openTest(t)
	base := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	var recs []AuditRecord
	for i := range 40 {
		at := base.Add(time.Duration(i) * time.Second)
		r := auditRec(at.Add(time.Duration(i%5)*10*time.Second), i+1, "svc_a", "", 200) // ID up to 40s later
		r.Time = at
		recs = append(recs, r)
	}
	mustAppendAudit(t, b, 0, recs...)
	for _, f := range []AuditFilter{
		{From: base.Add(10 * time.Second), To: base.Add(20 * time.Second)},
		{To: base.Add(5 * time.Second)},
		{From: base.Add(35 * time.Second)},
		{ServiceID: "svc_a", From: base.Add(13 * time.Second), To: base.Add(14 * time.Second)},
	} {
		want := wantAudit(recs, f)
		if len(want) == 0 {
			t.Fatalf("filter %+v selects nothing", f)
		}
		if got := auditIDs(listAllAudit(t, b, f, 3)); !slices.Equal(got, want) {
			t.Errorf("filter %+v: got %v, want %v", f, got, want)
		}
	}
}

// TestListAuditScanCap checks that a filter that rarely matches stops
// after auditMinScan keys with a cursor, and that From and To seek instead
// of scanning.
func TestListAuditScanCap(t *testing.T) {
	ctx := context.Background()
	b := openTest(t)
	base := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	old := auditRec(base, 1, "svc_a", "tok_a", 500)
	recs := []AuditRecord{old}
	n := auditMinScan + 50
	// Newer records, 10ms apart: they span more than auditTimeSlack.
	for i := range n {
		recs = append(recs, auditRec(base.Add(time.Hour+time.Duration(i)*10*time.Millisecond), 1, "svc_a", "tok_a", 200))
	}
	mustAppendAudit(t, b, 0, recs...) // also more than AuditBatchSize in one call
	if got := listAllAudit(t, b, AuditFilter{TokenID: "tok_a"}, MaxPageSize); len(got) != n+1 {
		t.Fatalf("%d records, want %d", len(got), n+1)
	}

	for _, f := range []AuditFilter{{Status: 500}, {ServiceID: "svc_a", Status: 500}, {TokenID: "tok_a", Status: 500}} {
		t.Run(fmt.Sprintf("%+v", f), func(t *testing.T) {
			page, next, err := b.ListAudit(ctx, f, Page{Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) != 0 || next == "" {
				t.Fatalf("first call: %d records, next %q; want none and a cursor", len(page), next)
			}
			// The cursor is the last key examined: auditMinScan from the top.
			if want := recs[len(recs)-auditMinScan].ID; next != want {
				t.Fatalf("cursor %s, want %s", next, want)
			}
			page, next, err = b.ListAudit(ctx, f, Page{Limit: 10, Cursor: next})
			if err != nil || next != "" || len(page) != 1 || page[0].ID != old.ID {
				t.Fatalf("second call: %v, %q, %v", auditIDs(page), next, err)
			}
		})
	}
	// To seeks past the newer records: one call finds the old one.
	page, next, err := b.ListAudit(ctx, AuditFilter{Status: 500, To: base.Add(time.Second)}, Page{Limit: 10})
	if err != nil || len(page) != 1 || next != "" {
		t.Fatalf("with To: %v, %q, %v", auditIDs(page), next, err)
	}
	// From stops the scan auditTimeSlack (6,000 records) before it: the
	// end, not a cursor after auditMinScan records.
	page, next, err = b.ListAudit(ctx, AuditFilter{Status: 200, From: base.Add(time.Hour + time.Duration(n-5)*10*time.Millisecond)}, Page{Limit: 10})
	if err != nil || len(page) != 5 || next != "" {
		t.Fatalf("with From: %d records, %q, %v", len(page), next, err)
	}
}

// expiresAtOf returns the Badger expiry of the entry at key.
func expiresAtOf(t testing.TB, b *Badger, key []byte) uint64 {
	t.Helper()
	var exp uint64
	err := b.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if err != nil {
			return err
		}
		exp = item.ExpiresAt()
		return nil
	})
	if err != nil {
		t.Fatalf("reading %q: %v", key, err)
	}
	return exp
}

func TestAuditTTL(t *testing.T) {
	b := openTest(t)
	at := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		ttl      time.Duration
		min, max time.Duration // of the expiry after the call; 0 for never
	}{
		{"forever", 0, 0, 0},
		{"negative", -time.Hour, 0, 0},
		{"an hour", time.Hour, time.Hour, time.Hour + 2*time.Second},
		{"a nanosecond", time.Nanosecond, time.Nanosecond, 2 * time.Second},
		{"thirty days", 30 * 24 * time.Hour, 30 * 24 * time.Hour, 30*24*time.Hour + 2*time.Second},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := auditRec(at, i+1, "svc_a", "tok_a", 200)
			before := time.Now()
			mustAppendAudit(t, b, tt.ttl, r)
			after := time.Now()
			exp := expiresAtOf(t, b, auditKey(r.ID))
			for _, k := range [][]byte{auditServiceKey("svc_a", r.ID), auditTokenKey("tok_a", r.ID)} {
				if e := expiresAtOf(t, b, k); e != exp {
					t.Fatalf("index entry %q expires at %d, the record at %d", k, e, exp)
				}
			}
			if tt.max == 0 {
				if exp != 0 {
					t.Fatalf("expires at %d, want never", exp)
				}
				return
			}
			if lo, hi := before.Add(tt.min), after.Add(tt.max); exp < uint64(lo.Unix()) || exp > uint64(hi.Unix()) {
				t.Fatalf("expires at %v, want between %v and %v", time.Unix(int64(exp), 0), lo, hi)
			}
			if exp <= uint64(before.Unix()) {
				t.Fatalf("expires at %d, in the second it was written (%d)", exp, before.Unix())
			}
		})
	}
}

// TestListAuditSkipsMissing expires a record and removes another one's
// record behind its index entries, directly in the database: lists skip
// both.
func TestListAuditSkipsMissing(t *testing.T) {
	b := openTest(t)
	at := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	var recs []AuditRecord
	for i := range 5 {
		recs = append(recs, auditRec(at.Add(time.Duration(i)*time.Second), 1, "svc_a", "tok_a", 200))
	}
	mustAppendAudit(t, b, time.Hour, recs...)
	err := b.db.Update(func(txn *badger.Txn) error {
		// recs[1] expired a second ago (all its entries, as with a TTL);
		// recs[3]'s record is gone, its index entries are left.
		for _, k := range [][]byte{auditKey(recs[1].ID), auditServiceKey("svc_a", recs[1].ID), auditTokenKey("tok_a", recs[1].ID)} {
			e := badger.NewEntry(k, nil)
			if string(k) == string(auditKey(recs[1].ID)) {
				e.Value = []byte("{}")
			}
			e.ExpiresAt = uint64(time.Now().Unix() - 1)
			if err := txn.SetEntry(e); err != nil {
				return err
			}
		}
		return txn.Delete(auditKey(recs[3].ID))
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{recs[4].ID, recs[2].ID, recs[0].ID}
	for _, f := range []AuditFilter{{}, {ServiceID: "svc_a"}, {TokenID: "tok_a"}, {ServiceID: "svc_a", TokenID: "tok_a"}} {
		for _, limit := range []int{1, 2, 0} {
			if got := auditIDs(listAllAudit(t, b, f, limit)); !slices.Equal(got, want) {
				t.Errorf("filter %+v, limit %d: %v, want %v", f, limit, got, want)
			}
		}
	}
}

// TestExpiryForReal waits for a one-second TTL to pass, once, for audit
// records and cache entries.
func TestExpiryForReal(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for entries to expire")
	}
	ctx := context.Background()
	b := openTest(t)
	r := auditRec(time.Now().UTC().Round(0), 1, "svc_a", "tok_a", 200)
	keep := auditRec(time.Now().UTC().Round(0), 2, "svc_a", "tok_a", 200)
	mustAppendAudit(t, b, time.Second, r)
	mustAppendAudit(t, b, 0, keep)
	if err := b.PutCache(ctx, []byte("k"), []byte("v"), time.Second); err != nil {
		t.Fatal(err)
	}
	if err := b.PutCache(ctx, []byte("stays"), []byte("v"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := listAllAudit(t, b, AuditFilter{ServiceID: "svc_a"}, 0); len(got) != 2 {
		t.Fatalf("%d records before expiry", len(got))
	}
	if _, err := b.GetCache(ctx, []byte("k")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(4 * time.Second)
	for {
		_, err := b.GetCache(ctx, []byte("k"))
		if isNotFound(err) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("cache entry with a TTL of 1s still there after 4s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The audit record expired at the same second or before.
	for _, f := range []AuditFilter{{}, {ServiceID: "svc_a"}, {TokenID: "tok_a"}} {
		if got := auditIDs(listAllAudit(t, b, f, 0)); !slices.Equal(got, []string{keep.ID}) {
			t.Fatalf("filter %+v after expiry: %v", f, got)
		}
	}
	if n, _, err := b.CacheStats(ctx); err != nil || n != 1 {
		t.Fatalf("CacheStats after expiry: %d, %v", n, err)
	}
}

func TestAuditPersistsAndClosed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	recs := []AuditRecord{auditRec(at, 1, "svc_a", "tok_a", 200), auditRec(at, 2, "", "", 401)}
	mustAppendAudit(t, b, time.Hour, recs...)
	u := Usage{Requests: 1, InputTokens: 2, OutputTokens: 3, CachedTokens: 4, CacheHits: 5, SpendMicroUSD: 6}
	mustAddUsage(t, b, UsageDelta{Key: "all", Window: WindowDay, Start: day(2026, 11, 21), Usage: u})
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	wantErr(t, b.AppendAudit(ctx, recs, 0), ErrClosed)
	_, _, err = b.ListAudit(ctx, AuditFilter{}, Page{})
	wantErr(t, err, ErrClosed)
	wantErr(t, b.AddUsage(ctx, nil), ErrClosed)
	_, err = b.UsageHistory(ctx, "all", WindowDay, time.Time{}, day(3000, 1, 1))
	wantErr(t, err, ErrClosed)
	_, err = b.GetCache(ctx, []byte("k"))
	wantErr(t, err, ErrClosed)
	wantErr(t, b.PutCache(ctx, []byte("k"), nil, time.Hour), ErrClosed)
	_, err = b.PurgeCache(ctx)
	wantErr(t, err, ErrClosed)
	_, _, err = b.CacheStats(ctx)
	wantErr(t, err, ErrClosed)

	b2, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	if got := listAllAudit(t, b2, AuditFilter{}, 0); !reflect.DeepEqual(got, []AuditRecord{recs[1], recs[0]}) {
		t.Fatalf("after reopen: %+v", got)
	}
	if got := listAllAudit(t, b2, AuditFilter{TokenID: "tok_a"}, 0); len(got) != 1 {
		t.Fatalf("token index after reopen: %v", auditIDs(got))
	}
	hist, err := b2.UsageHistory(ctx, "all", WindowDay, time.Time{}, day(3000, 1, 1))
	if err != nil || len(hist) != 1 || hist[0].Usage != u {
		t.Fatalf("usage after reopen: %+v, %v", hist, err)
	}

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	wantErr(t, b2.AppendAudit(canceled, recs, 0), context.Canceled)
	_, _, err = b2.ListAudit(canceled, AuditFilter{}, Page{})
	wantErr(t, err, context.Canceled)
	wantErr(t, b2.AddUsage(canceled, nil), context.Canceled)
	wantErr(t, b2.PutCache(canceled, []byte("k"), nil, time.Hour), context.Canceled)
}

// TestAuditConcurrent appends and lists from several goroutines.
func TestAuditConcurrent(t *testing.T) {
	ctx := context.Background()
	b := openTest(t)
	const writers, calls, per = 4, 10, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers+1)
	for w := range writers {
		wg.Go(func() {
			for range calls {
				recs := make([]AuditRecord, per)
				for i := range recs {
					recs[i] = AuditRecord{ID: NewID(AuditIDPrefix), Time: now(), ServiceID: fmt.Sprintf("svc_%d", w), Status: 200}
				}
				if err := b.AppendAudit(ctx, recs, time.Hour); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			if _, _, err := b.ListAudit(ctx, AuditFilter{ServiceID: "svc_0"}, Page{Limit: 5}); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := listAllAudit(t, b, AuditFilter{}, 0); len(got) != writers*calls*per {
		t.Fatalf("%d records, want %d", len(got), writers*calls*per)
	}
	for w := range writers {
		if got := listAllAudit(t, b, AuditFilter{ServiceID: fmt.Sprintf("svc_%d", w)}, 0); len(got) != calls*per {
			t.Fatalf("service %d: %d records, want %d", w, len(got), calls*per)
		}
	}
}

// TestAuditIndexPrefixesDisjoint extends TestKeyPrefixes to the audit
// index keys: no service's (token's) prefix is a prefix of another's.
func TestAuditIndexPrefixesDisjoint(t *testing.T) {
	ids := []string{"a", "ab", "a.", "a0", "a\x00", "é", strings.Repeat("z", maxAuditRefLen), "svc_" + strings.Repeat("0", 26)}
	id := NewID(AuditIDPrefix)
	for _, x := range ids {
		if !validAuditRef(x) {
			t.Fatalf("validAuditRef(%q) = false", x)
		}
		for _, y := range ids {
			if x != y && strings.HasPrefix(string(auditServicePrefix(y)), string(auditServicePrefix(x))) {
				t.Errorf("service prefix %q is a prefix of %q", auditServicePrefix(x), auditServicePrefix(y))
			}
		}
		if k := auditServiceKey(x, id); !strings.HasPrefix(string(k), string(auditServicePrefix(x))) || !strings.HasPrefix(string(k), prefixAuditSvc) {
			t.Errorf("service key %q", k)
		}
		if k := auditTokenKey(x, id); !strings.HasPrefix(string(k), string(auditTokenPrefix(x))) || !strings.HasPrefix(string(k), prefixAuditTok) {
			t.Errorf("token key %q", k)
		}
	}
	for _, bad := range []string{"", "/", "a/", "/a", strings.Repeat("z", maxAuditRefLen+1), "\xff", "a\xc3"} {
		if validAuditRef(bad) {
			t.Errorf("validAuditRef(%q) = true", bad)
		}
	}
	if k := auditKey(id); string(k) != "audit/"+id {
		t.Errorf("audit key %q", k)
	}
}
