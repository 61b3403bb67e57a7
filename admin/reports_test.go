package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/health"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/storage"
)

type usageRow struct {
	Period       string  `json:"period"`
	Requests     int64   `json:"requests"`
	InputTokens  int64   `json:"input_tokens"`
	OutputTokens int64   `json:"output_tokens"`
	CachedTokens int64   `json:"cached_tokens"`
	SpendUSD     float64 `json:"spend_usd"`
	CacheHits    int64   `json:"cache_hits"`
}

func TestUsageReport(t *testing.T) {
	e := newAPIEnv(t, false)
	svc := e.createService("billing")
	tok := e.createToken(svc.ID, nil)
	day := func(d int) time.Time { return time.Date(2026, 10, d, 0, 0, 0, 0, time.UTC) }
	month := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	u := storage.Usage{Requests: 2, InputTokens: 100, OutputTokens: 40, CachedTokens: 10, CacheHits: 1, SpendMicroUSD: 1_500_000}
	var deltas []storage.UsageDelta
	for _, scope := range []string{"svc/" + svc.ID, "tok/" + tok.ID, "all"} {
		for _, d := range []int{30, 31} {
			deltas = append(deltas, storage.UsageDelta{Key: scope, Window: storage.WindowDay, Start: day(d), Usage: u})
		}
		u2 := u
		u2.Requests, u2.SpendMicroUSD = 4, 3_000_000
		deltas = append(deltas, storage.UsageDelta{Key: scope, Window: storage.WindowMonth, Start: month, Usage: u2})
	}
	if err := e.b.st.AddUsage(context.Background(), deltas); err != nil {
		t.Fatal(err)
	}
	get := func(query string, want int) []usageRow {
		t.Helper()
		r := e.do("GET", "/llm_gateway/usage?"+query, nil)
		wantStatus(t, query, r, want)
		var out apiList[usageRow]
		if want == http.StatusOK {
			r.decode(t, &out)
		}
		return out.Data
	}
	wantDay := usageRow{Requests: 2, InputTokens: 100, OutputTokens: 40, CachedTokens: 10, SpendUSD: 1.5, CacheHits: 1}
	for _, q := range []string{"service=" + svc.ID, "token=" + tok.ID, ""} {
		rows := get(q+"&from=2026-10-01&to=2026-11-01", http.StatusOK)
		if len(rows) != 2 || rows[0].Period != "2026-10-30" || rows[1].Period != "2026-10-31" {
			t.Fatalf("%s: rows %+v", q, rows)
		}
		want := wantDay
		want.Period = "2026-10-30"
		if rows[0] != want {
			t.Errorf("%s: row %+v, want %+v", q, rows[0], want)
		}
		rows = get(q+"&period=month&from=2026-01&to=2026-12", http.StatusOK)
		if len(rows) != 1 || rows[0].Period != "2026-10" || rows[0].Requests != 4 || rows[0].SpendUSD != 3 {
			t.Errorf("%s: month rows %+v", q, rows)
		}
	}
	if rows := get("service="+svc.ID+"&from=2026-10-31T00:00:00Z&to=2026-11-01", http.StatusOK); len(rows) != 1 {
		t.Errorf("one day: %+v", rows)
	}
	// The default window is the last 30 days, today included.
	now := time.Now().UTC()
	inWindow := 0
	for _, d := range []int{30, 31} {
		if now.Sub(day(d)) < 30*24*time.Hour {
			inWindow++
		}
	}
	if rows := get("service="+svc.ID, http.StatusOK); len(rows) != inWindow {
		t.Errorf("the default window holds %+v, want %d days", rows, inWindow)
	}
	for _, bad := range []struct {
		query  string
		status int
	}{
		{"service=svc_nope", http.StatusNotFound},
		{"token=tok_nope", http.StatusNotFound},
		{"service=" + svc.ID + "&token=" + tok.ID, http.StatusBadRequest},
		{"period=week", http.StatusBadRequest},
		{"from=yesterday", http.StatusBadRequest},
		{"from=2026-10-02&to=2026-10-01", http.StatusBadRequest},
		{"from=2000-01-01&to=2026-01-01", http.StatusBadRequest},
	} {
		get(bad.query, bad.status)
	}
}

type auditRow struct {
	ID        string  `json:"id"`
	ServiceID string  `json:"service_id"`
	TokenID   string  `json:"token_id"`
	Status    int     `json:"status"`
	CostUSD   float64 `json:"cost_usd"`
	LatencyMS float64 `json:"latency_ms"`
	CacheHit  bool    `json:"cache_hit"`
}

func TestAuditList(t *testing.T) {
	e := newAPIEnv(t, false)
	base := time.Now().Add(-time.Hour).UTC()
	var recs []storage.AuditRecord
	for i := range 7 {
		svc := "svc_a"
		if i%2 == 1 {
			svc = "svc_b"
		}
		status := 200
		if i == 3 {
			status = 429
		}
		recs = append(recs, storage.AuditRecord{ID: storage.NewID(storage.AuditIDPrefix), Time: base.Add(time.Duration(i) * time.Second),
			ServiceID: svc, TokenID: "tok_" + svc[4:], Surface: "openai", Status: status, CostMicroUSD: int64(i) * 1000,
			Latency: 1500 * time.Microsecond})
	}
	if err := e.b.st.AppendAudit(context.Background(), recs, time.Hour); err != nil {
		t.Fatal(err)
	}
	page := func(query string) apiList[auditRow] {
		t.Helper()
		r := e.do("GET", "/llm_gateway/audit?"+query, nil)
		wantStatus(t, query, r, http.StatusOK)
		var out apiList[auditRow]
		r.decode(t, &out)
		return out
	}
	// Newest first, paged by cursor.
	var ids []string
	cursor := ""
	for range 10 {
		p := page("limit=3&cursor=" + cursor)
		for _, row := range p.Data {
			ids = append(ids, row.ID)
		}
		if cursor = p.Next; cursor == "" {
			break
		}
	}
	if len(ids) != 7 || ids[0] != recs[6].ID || ids[6] != recs[0].ID {
		t.Fatalf("ids %v", ids)
	}
	first := page("limit=1").Data[0]
	if first.CostUSD != 0.006 || first.LatencyMS != 1.5 {
		t.Errorf("record %+v: want cost_usd 0.006, latency_ms 1.5", first)
	}
	if p := page("service=svc_b"); len(p.Data) != 3 || p.Data[0].ServiceID != "svc_b" {
		t.Errorf("service filter: %+v", p.Data)
	}
	if p := page("token=tok_a"); len(p.Data) != 4 {
		t.Errorf("token filter: %+v", p.Data)
	}
	if p := page("status=429"); len(p.Data) != 1 || p.Data[0].ID != recs[3].ID {
		t.Errorf("status filter: %+v", p.Data)
	}
	from := base.Add(5 * time.Second).Format(time.RFC3339Nano)
	if p := page("from=" + from); len(p.Data) != 2 {
		t.Errorf("from filter: %+v", p.Data)
	}
	for _, bad := range []string{"status=abc", "status=42", "service=a/b", "from=soon", "limit=0", "cursor=../x"} {
		r := e.do("GET", "/llm_gateway/audit?"+bad, nil)
		if r.status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", bad, r.status)
		}
	}
}

func TestCacheEndpoints(t *testing.T) {
	e := newAPIEnv(t, false)
	for i := range 3 {
		if err := e.b.st.PutCache(context.Background(), []byte(fmt.Sprintf("key-%d", i)), []byte("answer"), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	var stats map[string]int64
	r := e.do("GET", "/llm_gateway/cache", nil)
	wantStatus(t, "stats", r, http.StatusOK)
	r.decode(t, &stats)
	if stats["stored_entries"] != 3 {
		t.Fatalf("stats %v", stats)
	}
	r = e.do("DELETE", "/llm_gateway/cache", nil)
	wantStatus(t, "purge", r, http.StatusOK)
	var purged map[string]int
	r.decode(t, &purged)
	if purged["purged"] != 3 {
		t.Fatalf("purge answer %s", r.body)
	}
	r = e.do("GET", "/llm_gateway/cache", nil)
	r.decode(t, &stats)
	if stats["stored_entries"] != 0 {
		t.Fatalf("after purge: %v", stats)
	}
	// A cross-site purge is refused like every mutation.
	r = e.do("DELETE", "/llm_gateway/cache", nil, withHeader("Origin", "https://evil.example"))
	wantStatus(t, "cross-origin purge", r, http.StatusForbidden)
}

// TestProvidersHealth: GET /llm_gateway/providers reports each target's
// circuit.
func TestProvidersHealth(t *testing.T) {
	e := newAPIEnv(t, false)
	for range health.DefaultThreshold {
		e.b.health.Failure(health.Key("openai", "gpt-4o-mini"), "status 503")
	}
	e.b.health.Success(health.Key("anthropic", "claude-haiku-4-5"))
	r := e.do("GET", "/llm_gateway/providers", nil)
	wantStatus(t, "providers", r, http.StatusOK)
	var out struct {
		Targets []health.TargetHealth `json:"targets"`
	}
	r.decode(t, &out)
	if len(out.Targets) != 2 {
		t.Fatalf("targets %s", r.body)
	}
	a, o := out.Targets[0], out.Targets[1]
	if a.Provider != "anthropic" || a.State != health.Closed || a.Successes != 1 {
		t.Errorf("anthropic %+v", a)
	}
	if o.Provider != "openai" || o.Model != "gpt-4o-mini" || o.State != health.Open || o.OpenUntil == nil ||
		o.ConsecutiveFailures != health.DefaultThreshold || o.LastError != "status 503" {
		t.Errorf("openai %+v", o)
	}
}
