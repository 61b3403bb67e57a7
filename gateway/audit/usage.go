package audit

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/storage"
)

// Usage scopes.
const (
	// ScopeAll is the gateway-wide usage scope.
	ScopeAll = "all"
	// ServiceScopePrefix and TokenScopePrefix start the scope keys of a
	// service and a token, followed by its ID.
	ServiceScopePrefix = "svc/"
	TokenScopePrefix   = "tok/"
)

// maxKeyLen is the longest scope key the store accepts.
const maxKeyLen = 256

const daySecs = 86400

// Scope kinds of a cell.
const (
	kindAll uint8 = iota
	kindSvc
	kindTok
)

// cell identifies one scope's totals in one window. The scope is a kind
// and an ID, so Add needs no string concatenation.
type cell struct {
	kind  uint8
	id    string
	month bool
	start int64 // unix seconds of the window start
}

func (c cell) key() string {
	switch c.kind {
	case kindSvc:
		return ServiceScopePrefix + c.id
	case kindTok:
		return TokenScopePrefix + c.id
	}
	return ScopeAll
}

// Usage accumulates per-window usage totals from audit records until they
// are drained by the gateway's single store writer. It is safe for
// concurrent use.
type Usage struct {
	mu    sync.Mutex
	cells map[cell]*storage.Usage
}

// NewUsage returns an empty accumulator.
func NewUsage() *Usage {
	return &Usage{cells: make(map[cell]*storage.Usage)}
}

// Valid record times: a window starting at the zero time, or after year
// 9999, is refused by the store.
var (
	minTime = time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Add counts rec in the scopes "svc/"+ServiceID, "tok/"+TokenID (when set)
// and "all", each in the UTC day and the UTC month containing rec.Time: one
// request, its tokens, a cache hit if it was one, and its cost as spend.
// Records without a ServiceID (requests that failed to authenticate) are
// ignored; negative numbers count as 0; a zero or out-of-range Time counts
// as now; a scope whose key would exceed 256 bytes is skipped.
func (u *Usage) Add(rec *storage.AuditRecord) {
	if rec == nil || rec.ServiceID == "" {
		return
	}
	t := rec.Time
	if t.Before(minTime) || !t.Before(maxTime) {
		t = time.Now()
	}
	t = t.UTC()
	sec := t.Unix()
	day := sec - ((sec%daySecs)+daySecs)%daySecs
	month := day - int64(t.Day()-1)*daySecs

	d := storage.Usage{
		Requests:      1,
		InputTokens:   max(rec.InputTokens, 0),
		OutputTokens:  max(rec.OutputTokens, 0),
		CachedTokens:  max(rec.CachedTokens, 0),
		SpendMicroUSD: max(rec.CostMicroUSD, 0),
	}
	if rec.CacheHit {
		d.CacheHits = 1
	}
	svc := len(ServiceScopePrefix)+len(rec.ServiceID) <= maxKeyLen
	tok := rec.TokenID != "" && len(TokenScopePrefix)+len(rec.TokenID) <= maxKeyLen

	u.mu.Lock()
	defer u.mu.Unlock()
	for _, m := range [2]bool{false, true} {
		start := day
		if m {
			start = month
		}
		u.add(cell{kindAll, "", m, start}, &d)
		if svc {
			u.add(cell{kindSvc, rec.ServiceID, m, start}, &d)
		}
		if tok {
			u.add(cell{kindTok, rec.TokenID, m, start}, &d)
		}
	}
}

// add adds d to c's totals; u.mu is held.
func (u *Usage) add(c cell, d *storage.Usage) {
	p := u.cells[c]
	if p == nil {
		v := *d
		u.cells[c] = &v
		return
	}
	p.Requests = sat(p.Requests, d.Requests)
	p.InputTokens = sat(p.InputTokens, d.InputTokens)
	p.OutputTokens = sat(p.OutputTokens, d.OutputTokens)
	p.CachedTokens = sat(p.CachedTokens, d.CachedTokens)
	p.CacheHits = sat(p.CacheHits, d.CacheHits)
	p.SpendMicroUSD = sat(p.SpendMicroUSD, d.SpendMicroUSD)
}

// sat adds two non-negative numbers, saturating at math.MaxInt64.
func sat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// Drain returns the usage accumulated since the previous Drain, one delta
// per (Key, Window, Start) sorted by them, and forgets it; nil when there
// is none. Start is in UTC.
func (u *Usage) Drain() []storage.UsageDelta {
	u.mu.Lock()
	cells := u.cells
	if len(cells) == 0 {
		u.mu.Unlock()
		return nil
	}
	u.cells = make(map[cell]*storage.Usage, len(cells))
	u.mu.Unlock()

	out := make([]storage.UsageDelta, 0, len(cells))
	for c, v := range cells {
		w := storage.WindowDay
		if c.month {
			w = storage.WindowMonth
		}
		out = append(out, storage.UsageDelta{Key: c.key(), Window: w, Start: time.Unix(c.start, 0).UTC(), Usage: *v})
	}
	slices.SortFunc(out, func(a, b storage.UsageDelta) int {
		return cmp.Or(cmp.Compare(a.Key, b.Key), cmp.Compare(a.Window, b.Window), a.Start.Compare(b.Start))
	})
	return out
}

// Pending returns what is accumulated but not yet drained for scope (e.g.
// "svc/<id>", "tok/<id>" or "all") in the window (storage.WindowDay or
// storage.WindowMonth) starting at start (any location; only the instant
// counts), so a usage report can add it to the stored totals. It is zero
// for an unknown scope, window or start.
func (u *Usage) Pending(scope, window string, start time.Time) storage.Usage {
	var c cell
	switch {
	case scope == ScopeAll:
		c.kind = kindAll
	case strings.HasPrefix(scope, ServiceScopePrefix) && len(scope) > len(ServiceScopePrefix):
		c.kind, c.id = kindSvc, scope[len(ServiceScopePrefix):]
	case strings.HasPrefix(scope, TokenScopePrefix) && len(scope) > len(TokenScopePrefix):
		c.kind, c.id = kindTok, scope[len(TokenScopePrefix):]
	default:
		return storage.Usage{}
	}
	switch window {
	case storage.WindowDay:
	case storage.WindowMonth:
		c.month = true
	default:
		return storage.Usage{}
	}
	if start.Nanosecond() != 0 {
		return storage.Usage{} // not a window start
	}
	c.start = start.Unix()
	u.mu.Lock()
	defer u.mu.Unlock()
	if p := u.cells[c]; p != nil {
		return *p
	}
	return storage.Usage{}
}
