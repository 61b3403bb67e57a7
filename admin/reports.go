package admin

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/storage"
)

// The read side of the management API: usage reports, the audit log and
// the response cache.

// Reports is what the usage, audit and cache endpoints read; the backend
// implements it.
type Reports interface {
	// Usage returns a scope's ("svc/<id>", "tok/<id>" or "all") usage per
	// window starting in [from, to), oldest first, including what is not
	// yet written.
	Usage(ctx context.Context, scope, window string, from, to time.Time) ([]storage.UsageTotal, error)
	// FlushAudit writes the audit records still in memory.
	FlushAudit(ctx context.Context) error
	// CacheStats describes the response cache.
	CacheStats(ctx context.Context) any
	// PurgeCache empties the response cache and returns how many stored
	// entries it removed.
	PurgeCache(ctx context.Context) (int, error)
	// Health reports the circuit of each target (provider and upstream
	// model) requests went to.
	Health(ctx context.Context) any
}

// maxUsageWindows bounds the windows one usage report covers.
const maxUsageWindows = 1000

// usageJSON is one row of a usage report.
type usageJSON struct {
	Period       string  `json:"period"`
	Requests     int64   `json:"requests"`
	InputTokens  int64   `json:"input_tokens"`
	OutputTokens int64   `json:"output_tokens"`
	CachedTokens int64   `json:"cached_tokens"`
	SpendUSD     float64 `json:"spend_usd"`
	CacheHits    int64   `json:"cache_hits"`
}

// parseDate reads a report bound: a date (2026-11-21), a month (2026-11)
// or an RFC 3339 time.
func parseDate(field, v string) (time.Time, error) {
	for _, layout := range []string{time.DateOnly, "2006-01", time.RFC3339Nano} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, apiErr(http.StatusBadRequest, "%s %q: want a date (2026-11-21), a month (2026-11) or an RFC 3339 time", field, v)
}

func (a *API) usage(w http.ResponseWriter, r *http.Request, st storage.Store) error {
	q := r.URL.Query()
	svc, tok := q.Get("service"), q.Get("token")
	scope := "all"
	switch {
	case svc != "" && tok != "":
		return apiErr(http.StatusBadRequest, "give service or token, not both")
	case svc != "":
		if _, err := st.GetService(r.Context(), svc); err != nil {
			return notFound(err, "service", svc)
		}
		scope = "svc/" + svc
	case tok != "":
		if _, err := st.GetToken(r.Context(), tok); err != nil {
			return notFound(err, "token", tok)
		}
		scope = "tok/" + tok
	}
	period := q.Get("period")
	if period == "" {
		period = storage.WindowDay
	}
	now := time.Now().UTC()
	var from, to time.Time
	layout := time.DateOnly
	switch period {
	case storage.WindowDay:
		today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
		from, to = today.AddDate(0, 0, -29), today.AddDate(0, 0, 1)
	case storage.WindowMonth:
		month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
		from, to = month.AddDate(0, -11, 0), month.AddDate(0, 1, 0)
		layout = "2006-01"
	default:
		return apiErr(http.StatusBadRequest, "period must be day or month")
	}
	var err error
	if v := q.Get("from"); v != "" {
		if from, err = parseDate("from", v); err != nil {
			return err
		}
	}
	if v := q.Get("to"); v != "" {
		if to, err = parseDate("to", v); err != nil {
			return err
		}
	}
	if !from.Before(to) {
		return apiErr(http.StatusBadRequest, "from must be before to")
	}
	if windows := to.Sub(from).Hours() / 24; period == storage.WindowDay && windows > maxUsageWindows ||
		period == storage.WindowMonth && windows/28 > maxUsageWindows {
		return apiErr(http.StatusBadRequest, "the report would cover more than %d %ss; narrow from and to", maxUsageWindows, period)
	}
	rows, err := a.reports.Usage(r.Context(), scope, period, from, to)
	if err != nil {
		return err
	}
	out := list[usageJSON]{Data: make([]usageJSON, 0, len(rows))}
	for _, t := range rows {
		out.Data = append(out.Data, usageJSON{
			Period:       t.Start.UTC().Format(layout),
			Requests:     t.Requests,
			InputTokens:  t.InputTokens,
			OutputTokens: t.OutputTokens,
			CachedTokens: t.CachedTokens,
			SpendUSD:     dollars(t.SpendMicroUSD),
			CacheHits:    t.CacheHits,
		})
	}
	return writeJSON(w, http.StatusOK, out)
}

// auditJSON is an audit record as the API shows it.
type auditJSON struct {
	ID             string    `json:"id"`
	Time           time.Time `json:"time"`
	ServiceID      string    `json:"service_id,omitempty"`
	TokenID        string    `json:"token_id,omitempty"`
	Surface        string    `json:"surface"`
	Operation      string    `json:"operation,omitempty"`
	Model          string    `json:"model,omitempty"`
	Provider       string    `json:"provider,omitempty"`
	UpstreamModel  string    `json:"upstream_model,omitempty"`
	Stream         bool      `json:"stream"`
	Status         int       `json:"status"`
	ErrorType      string    `json:"error_type,omitempty"`
	InputTokens    int64     `json:"input_tokens"`
	OutputTokens   int64     `json:"output_tokens"`
	CachedTokens   int64     `json:"cached_tokens"`
	UsageEstimated bool      `json:"usage_estimated"`
	CostUSD        float64   `json:"cost_usd"`
	CacheHit       bool      `json:"cache_hit"`
	LatencyMS      float64   `json:"latency_ms"`
	TTFBMS         float64   `json:"ttfb_ms"`
	ClientIP       string    `json:"client_ip,omitempty"`
	RequestBody    string    `json:"request_body,omitempty"`
	ResponseBody   string    `json:"response_body,omitempty"`
}

func auditOf(rec *storage.AuditRecord) auditJSON {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return auditJSON{
		ID: rec.ID, Time: rec.Time.UTC(), ServiceID: rec.ServiceID, TokenID: rec.TokenID,
		Surface: rec.Surface, Operation: rec.Operation, Model: rec.Model, Provider: rec.Provider,
		UpstreamModel: rec.UpstreamModel, Stream: rec.Stream, Status: rec.Status, ErrorType: rec.ErrorType,
		InputTokens: rec.InputTokens, OutputTokens: rec.OutputTokens, CachedTokens: rec.CachedTokens,
		UsageEstimated: rec.UsageEstimated, CostUSD: dollars(rec.CostMicroUSD), CacheHit: rec.CacheHit,
		LatencyMS: ms(rec.Latency), TTFBMS: ms(rec.TTFB), ClientIP: rec.ClientIP,
		RequestBody: rec.RequestBody, ResponseBody: rec.ResponseBody,
	}
}

func (a *API) audit(w http.ResponseWriter, r *http.Request, st storage.Store) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := storage.AuditFilter{ServiceID: q.Get("service"), TokenID: q.Get("token")}
	if !validID(f.ServiceID) || !validID(f.TokenID) {
		return apiErr(http.StatusBadRequest, "service and token must be IDs")
	}
	if v := q.Get("status"); v != "" {
		if f.Status, err = strconv.Atoi(v); err != nil || f.Status < 100 || f.Status > 599 {
			return apiErr(http.StatusBadRequest, "status must be an HTTP status code")
		}
	}
	if v := q.Get("from"); v != "" {
		if f.From, err = parseDate("from", v); err != nil {
			return err
		}
	}
	if v := q.Get("to"); v != "" {
		if f.To, err = parseDate("to", v); err != nil {
			return err
		}
	}
	if err := a.reports.FlushAudit(r.Context()); err != nil {
		return apiErr(http.StatusServiceUnavailable, "writing pending audit records: %v", err)
	}
	recs, next, err := st.ListAudit(r.Context(), f, p)
	if err != nil {
		return err
	}
	out := list[auditJSON]{Data: make([]auditJSON, 0, len(recs)), Next: next}
	for i := range recs {
		out.Data = append(out.Data, auditOf(&recs[i]))
	}
	return writeJSON(w, http.StatusOK, out)
}

// validID accepts an empty string or something shaped like a record ID.
func validID(id string) bool {
	if len(id) > 64 {
		return false
	}
	for _, c := range []byte(id) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_') {
			return false
		}
	}
	return true
}

func (a *API) cacheStats(w http.ResponseWriter, r *http.Request, _ storage.Store) error {
	return writeJSON(w, http.StatusOK, a.reports.CacheStats(r.Context()))
}

// providers answers the health of every target requests went to:
// {"targets": [{provider, model, state, consecutive_failures, open_until,
// successes, failures, last_error}]}.
func (a *API) providers(w http.ResponseWriter, r *http.Request, _ storage.Store) error {
	return writeJSON(w, http.StatusOK, map[string]any{"targets": a.reports.Health(r.Context())})
}

func (a *API) purgeCache(w http.ResponseWriter, r *http.Request, _ storage.Store) error {
	n, err := a.reports.PurgeCache(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]int{"purged": n})
}
