// Package storage holds the gateway's persisted records (services, tokens,
// sealed provider keys, spend and usage totals per budget window, the
// pricing overrides document, the audit log of requests, the response
// cache), the Store interface every backend implements, and its embedded
// Badger implementation.
//
// Every mutation is durable (synced to disk) before it returns, except
// TouchTokens, which records last-used times written behind in batches, and
// PutCache, whose entries a crash may lose. Audit records and cache entries
// may expire (a time to live given when they are written): after that they
// are gone as if never written.
package storage

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned when a record does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a record that must be unique already exists.
var ErrConflict = errors.New("already exists")

// Limits are request and token rates; zero means unlimited.
type Limits struct {
	// RPM is requests per minute.
	RPM int64 `json:"rpm,omitempty"`
	// RPD is requests per day.
	RPD int64 `json:"rpd,omitempty"`
	// TPM is tokens (input + output) per minute.
	TPM int64 `json:"tpm,omitempty"`
}

// Budget is spend allowed per UTC calendar window, in micro-USD; zero means
// no budget.
type Budget struct {
	DailyMicroUSD   int64 `json:"daily_micro_usd,omitempty"`
	MonthlyMicroUSD int64 `json:"monthly_micro_usd,omitempty"`
}

// Service is the unit of ownership and budgeting: an app, a team, a project.
type Service struct {
	ID            string            `json:"id"`
	Name          string            `json:"name"`
	Active        bool              `json:"active"`
	AllowedModels []string          `json:"allowed_models,omitempty"` // globs; empty allows every model
	Policy        string            `json:"policy,omitempty"`         // CEL source
	Limits        Limits            `json:"limits"`
	Budget        Budget            `json:"budget"`
	Labels        map[string]string `json:"labels,omitempty"`
	// PinnedKeys maps a provider name to the ID of the stored provider key
	// this service must use with that provider.
	PinnedKeys map[string]string `json:"pinned_keys,omitempty"`
	CreatedAt  time.Time         `json:"created_at"`
	UpdatedAt  time.Time         `json:"updated_at"`
}

// Token is a gateway token. The plaintext is never stored: only its
// SHA-256 and a display prefix.
type Token struct {
	ID        string            `json:"id"`
	ServiceID string            `json:"service_id"`
	Name      string            `json:"name"`
	Hash      [32]byte          `json:"hash"`   // SHA-256 of the plaintext
	Prefix    string            `json:"prefix"` // for display, e.g. "llmgw_3kT9"
	Labels    map[string]string `json:"labels,omitempty"`
	Limits    Limits            `json:"limits"`
	Budget    Budget            `json:"budget"`
	CreatedAt time.Time         `json:"created_at"`
	ExpiresAt time.Time         `json:"expires_at,omitzero"` // zero: never
	LastUsed  time.Time         `json:"last_used_at,omitzero"`
	Revoked   bool              `json:"revoked"`
	RevokedAt time.Time         `json:"revoked_at,omitzero"`
}

// ProviderKey is a provider credential added through the admin API, sealed
// with AES-256-GCM by the caller before it is stored.
type ProviderKey struct {
	ID       string `json:"id"`
	Provider string `json:"provider"`
	Label    string `json:"label"`
	Priority int    `json:"priority"` // lower is preferred
	Sealed   []byte `json:"sealed"`   // nonce || ciphertext, never the plaintext
	Last4    string `json:"last4"`
	// BaseURL, when set, is the endpoint this key belongs to (for example
	// one Azure resource among several); requests using the key go there.
	BaseURL   string    `json:"base_url,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Spend windows: UTC calendar days and months.
const (
	WindowDay   = "day"
	WindowMonth = "month"
)

// SpendDelta is an amount of settled spend (micro-USD) to add to a scope's
// total in one window.
type SpendDelta struct {
	// Key is the scope, e.g. "svc/<id>" or "tok/<id>": 1 to 256 bytes, any
	// bytes ('/' included).
	Key string
	// Window is WindowDay or WindowMonth.
	Window string
	// Start is the window's first instant: a UTC midnight for a day, the
	// UTC midnight of the 1st for a month (in any time.Location, only the
	// instant counts), in the years 1 to 9999 and not the zero time.
	Start time.Time
	// Amount is micro-USD, 0 or more. A zero amount writes nothing.
	Amount int64
}

// Limits of AddSpend and PutPricingOverrides.
const (
	// SpendBatchSize is how many distinct (Key, Window, Start) one AddSpend
	// transaction changes: with 256-byte keys about half of what a Badger
	// transaction can hold in the store's memory profile.
	SpendBatchSize = 1024
	// MaxPricingOverridesSize is the largest pricing overrides document,
	// in bytes.
	MaxPricingOverridesSize = 4 << 20
)

// SpendTotal is a scope's total spend (micro-USD) in the window starting at
// Start (UTC).
type SpendTotal struct {
	Start  time.Time
	Amount int64
}

// Page selects a window of a list: at most Limit records after Cursor.
type Page struct {
	// Limit is the page size; values ≤ 0 or above MaxPageSize mean
	// DefaultPageSize and MaxPageSize.
	Limit int
	// Cursor is the Next value of the previous page; empty starts at the
	// beginning.
	Cursor string
}

// Page sizes.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// Store holds the gateway's records. Implementations are safe for
// concurrent use. Lists are in creation order (IDs sort by creation time),
// except ListAudit, newest first.
type Store interface {
	CreateService(ctx context.Context, s *Service) error // fills ID, CreatedAt, UpdatedAt; ErrConflict on a duplicate name
	GetService(ctx context.Context, id string) (*Service, error)
	UpdateService(ctx context.Context, s *Service) error // sets UpdatedAt; ErrNotFound; ErrConflict on a duplicate name
	ListServices(ctx context.Context, p Page) (list []Service, next string, err error)

	CreateToken(ctx context.Context, t *Token) error // fills ID, CreatedAt; ErrNotFound if the service does not exist
	GetToken(ctx context.Context, id string) (*Token, error)
	GetTokenByHash(ctx context.Context, hash [32]byte) (*Token, error)
	UpdateToken(ctx context.Context, t *Token) error
	ListTokens(ctx context.Context, serviceID string, p Page) (list []Token, next string, err error) // serviceID "" lists all
	// RevokeServiceTokens revokes every token of a service and returns how
	// many were revoked.
	RevokeServiceTokens(ctx context.Context, serviceID string, at time.Time) (int, error)
	// TouchTokens records last-used times (written behind, not synced).
	// Unknown IDs are ignored; a time older than the stored one is ignored.
	TouchTokens(ctx context.Context, lastUsed map[string]time.Time) error

	CreateProviderKey(ctx context.Context, k *ProviderKey) error // fills ID, CreatedAt
	GetProviderKey(ctx context.Context, provider, id string) (*ProviderKey, error)
	ListProviderKeys(ctx context.Context, provider string) ([]ProviderKey, error) // by priority, then creation
	DeleteProviderKey(ctx context.Context, provider, id string) error

	// AddSpend adds each delta's Amount to the total of its (Key, Window,
	// Start), saturating at math.MaxInt64, and syncs before returning, so
	// a crash loses at most deltas whose call had not returned. Deltas with
	// the same (Key, Window, Start) add up. The gateway's single spend
	// writer calls it about once a second. Every delta is checked first:
	// ErrInvalid (and nothing written) if a key is empty or longer than 256
	// bytes, a window unknown, a start not the start of its window, or an
	// amount negative. A batch of up to SpendBatchSize distinct (Key,
	// Window, Start) is applied atomically; a larger one in transactions
	// of that many, so an error may come after some of them were applied.
	// Once started it runs to the end even if ctx is canceled.
	AddSpend(ctx context.Context, deltas []SpendDelta) error
	// SpendTotals returns every scope's total in the window starting at
	// start, by scope key (empty, not nil, when there is none): for loading
	// the in-memory counters at startup. It reads only that window's
	// totals. ErrInvalid for an unknown window or a start that is not the
	// start of a window.
	SpendTotals(ctx context.Context, window string, start time.Time) (map[string]int64, error)
	// SpendHistory returns the scope's totals in the windows of that kind
	// starting in [from, to), oldest first, Start in UTC; windows without
	// spend are absent. from and to need not be window starts; from ≥ to
	// gives none. It reads only that scope's totals from the window
	// containing from on. ErrInvalid for an empty or over-long key or an
	// unknown window.
	SpendHistory(ctx context.Context, key, window string, from, to time.Time) ([]SpendTotal, error)

	// GetPricingOverrides returns the document stored by
	// PutPricingOverrides, or nil if none was ever stored.
	GetPricingOverrides(ctx context.Context) ([]byte, error)
	// PutPricingOverrides stores the pricing overrides document (JSON whose
	// content the caller owns), replacing the previous one, synced.
	// ErrInvalid if doc is not valid JSON (an empty doc is not) or is
	// larger than MaxPricingOverridesSize.
	PutPricingOverrides(ctx context.Context, doc []byte) error

	// AppendAudit stores audit records, each kept for ttl (rounded up to a
	// whole second; ttl ≤ 0 keeps them forever), and syncs before
	// returning. Every record is checked first: ErrInvalid (and nothing
	// written) if an ID is not of the shape NewID(AuditIDPrefix) gives, or
	// a ServiceID or TokenID contains '/', is longer than 128 bytes or is
	// not UTF-8. A
	// record with an ID already stored replaces it. Records are written in
	// batches of at most AuditBatchSize, so an error may come after some of
	// them were written; once started it runs to the end even if ctx is
	// canceled.
	AppendAudit(ctx context.Context, recs []AuditRecord, ttl time.Duration) error
	// ListAudit returns up to p.Limit audit records that match f, newest
	// first (by ID), strictly older than p.Cursor, and the cursor of the
	// next page ("" at the end). It examines a bounded number of records
	// per call (at least 10,000): a filter that rarely matches may give a
	// short or empty page with a cursor to continue from. Expired records
	// are absent. ErrInvalid for a cursor that is not an audit record ID;
	// a ServiceID or TokenID no record can have matches nothing.
	ListAudit(ctx context.Context, f AuditFilter, p Page) (list []AuditRecord, next string, err error)

	// AddUsage adds each delta's counters to the totals of its (Key,
	// Window, Start), each saturating at math.MaxInt64, and syncs before
	// returning; deltas with the same (Key, Window, Start) add up, deltas
	// whose counters are all zero write nothing. ErrInvalid (and nothing
	// written) under the rules of AddSpend, or if a counter is negative.
	// Batches and atomicity are those of AddSpend. The gateway's scope keys
	// are "svc/<id>", "tok/<id>" and "all".
	AddUsage(ctx context.Context, deltas []UsageDelta) error
	// UsageHistory returns the scope's usage totals as SpendHistory returns
	// spend totals: windows starting in [from, to), oldest first, Start in
	// UTC, windows without usage absent. ErrInvalid for an empty or
	// over-long key or an unknown window.
	UsageHistory(ctx context.Context, key, window string, from, to time.Time) ([]UsageTotal, error)

	// GetCache returns a copy of the value cached under key; ErrNotFound
	// if there is none or it expired, ErrInvalid for a key that PutCache
	// refuses.
	GetCache(ctx context.Context, key []byte) ([]byte, error)
	// PutCache caches value under key (any 1 to MaxCacheKeySize bytes)
	// for ttl (> 0, rounded up to a whole second), replacing an entry with
	// that key. It is not synced: a crash may lose entries. ErrInvalid for
	// an empty or over-long key, ttl ≤ 0, or a value larger than
	// MaxCacheValueSize.
	PutCache(ctx context.Context, key, value []byte, ttl time.Duration) error
	// PurgeCache deletes every cache entry, returns how many it deleted,
	// and syncs before returning. Entries stored while it runs may survive.
	PurgeCache(ctx context.Context) (int, error)
	// CacheStats returns the number of live cache entries and the sum of
	// their value sizes in bytes (approximate for values of 1 MiB or more,
	// which Badger keeps in its value log).
	CacheStats(ctx context.Context) (entries int, bytes int64, err error)

	// Close releases the store.
	Close() error
}
