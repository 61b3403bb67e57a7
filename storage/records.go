package storage

import "time"

// AuditIDPrefix is the ID prefix of audit records: IDs sort by creation
// time, so a list newest first walks the IDs backwards.
const AuditIDPrefix = "req"

// AuditRecord is what the gateway records about one request, whatever its
// outcome (rejections included). It never holds a token, a provider key or
// an auth header; bodies only when capture is configured, redacted.
type AuditRecord struct {
	// ID is NewID(AuditIDPrefix), set by the writer before storing. Make
	// it when the request arrives, when Time is taken: ListAudit seeks a
	// filter's From and To by the time in the IDs, allowing an ID to be up
	// to a minute away from its Time, so a record whose ID was made more
	// than a minute after its Time may be missed by a filter with To.
	ID   string    `json:"id"`
	Time time.Time `json:"time"` // when the request arrived
	// ServiceID and TokenID are empty for requests that failed to
	// authenticate. When set they are indexed, so they must be UTF-8 of
	// at most 128 bytes without '/'.
	ServiceID string `json:"service_id,omitempty"`
	TokenID   string `json:"token_id,omitempty"`
	Surface   string `json:"surface"`             // openai, azure, anthropic, gemini
	Operation string `json:"operation,omitempty"` // chat.completions, messages, ...
	Model     string `json:"model,omitempty"`     // as the client asked
	// Provider and UpstreamModel are the target that answered (or, when
	// none did, the last one tried).
	Provider      string `json:"provider,omitempty"`
	UpstreamModel string `json:"upstream_model,omitempty"`
	// Attempts counts the calls made to providers, retries and fallbacks
	// included.
	Attempts int  `json:"attempts,omitempty"`
	Stream   bool `json:"stream,omitempty"`
	Status   int  `json:"status"`
	// ErrorType is the error's type when the request failed, e.g.
	// "rate_limit_exceeded", "budget_exceeded", "upstream_error".
	ErrorType    string `json:"error_type,omitempty"`
	InputTokens  int64  `json:"input_tokens,omitempty"`
	OutputTokens int64  `json:"output_tokens,omitempty"`
	CachedTokens int64  `json:"cached_tokens,omitempty"`
	// UsageEstimated: the provider's usage was not seen (a cut stream);
	// the tokens and cost are the gateway's estimate.
	UsageEstimated bool  `json:"usage_estimated,omitempty"`
	CostMicroUSD   int64 `json:"cost_micro_usd,omitempty"`
	CacheHit       bool  `json:"cache_hit,omitempty"`
	// Latency is the whole request; TTFB the time to the first byte of the
	// answer sent to the client.
	Latency  time.Duration `json:"latency_ns,omitempty"`
	TTFB     time.Duration `json:"ttfb_ns,omitempty"`
	ClientIP string        `json:"client_ip,omitempty"`
	// RequestBody and ResponseBody are set only when body capture is
	// configured: redacted and truncated.
	RequestBody  string `json:"request_body,omitempty"`
	ResponseBody string `json:"response_body,omitempty"`
}

// AuditFilter selects audit records; zero fields match everything, and a
// record must match every field that is set.
type AuditFilter struct {
	// ServiceID and TokenID select one service's or token's records
	// through an index (the service's when both are set).
	ServiceID string
	TokenID   string
	// Status is the HTTP status.
	Status int
	// From and To bound the record time: From ≤ Time < To.
	From, To time.Time
}

// UsageDelta is usage to add to a scope's totals in one window, like
// SpendDelta (same Key, Window and Start rules). A delta whose counters
// are all zero writes nothing.
type UsageDelta struct {
	Key    string
	Window string
	Start  time.Time
	Usage
}

// Usage is what a scope consumed in a window. Every field is 0 or more.
type Usage struct {
	Requests      int64 `json:"requests"`
	InputTokens   int64 `json:"input_tokens"`
	OutputTokens  int64 `json:"output_tokens"`
	CachedTokens  int64 `json:"cached_tokens"`
	CacheHits     int64 `json:"cache_hits"`
	SpendMicroUSD int64 `json:"spend_micro_usd"`
}

// UsageTotal is a scope's usage in the window starting at Start (UTC).
type UsageTotal struct {
	Start time.Time
	Usage
}

// Limits of the audit log and the cache.
const (
	// AuditBatchSize is how many records one AppendAudit batch writes at
	// most (in as many Badger transactions as their size needs).
	AuditBatchSize = 1000
	// MaxCacheKeySize is the longest key of a cache entry, in bytes: room
	// for a hash and a short tag.
	MaxCacheKeySize = 64
	// MaxCacheValueSize is the largest cached value PutCache accepts, in
	// bytes (the size of a value-log file).
	MaxCacheValueSize = 64 << 20
)
