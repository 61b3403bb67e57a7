package limits

import (
	"fmt"
	"time"
)

// Rejection says why Admit refused a request: which scope, which limit, its
// value, what is used, and when capacity returns.
type Rejection struct {
	Scope string // Scope.Key
	Limit string // "rpm" | "rpd" | "tpm" | "daily_budget" | "monthly_budget"
	Value int64  // the configured limit (requests, tokens, or micro-USD)
	// Used is what the window holds: for rpm and tpm the bucket level
	// (reserved + settled, debt included), for rpd the requests today, for
	// budgets spent + reserved (micro-USD).
	Used int64
	// Requested is what this request needed: 1 for rpm and rpd, its
	// reserved tokens for tpm, its worst-case cost for budgets.
	Requested int64
	// ResetAt is when the request would fit, as far as this limit goes
	// (for rpm and tpm exact, if nothing else is admitted meanwhile); for
	// rpd and budgets the end of the window.
	ResetAt time.Time

	at time.Time // when the request was refused, for Error
}

// Budget reports whether a budget (402), rather than a rate limit (429),
// refused the request.
func (r *Rejection) Budget() bool {
	return r.Limit == LimitDailyBudget || r.Limit == LimitMonthlyBudget
}

// RetryAfter is the wait until ResetAt, rounded up to whole seconds, at
// least 1s: the value for a Retry-After header.
func (r *Rejection) RetryAfter(now time.Time) time.Duration {
	d := r.ResetAt.Sub(now)
	if d <= time.Second {
		return time.Second
	}
	return (d + time.Second - 1).Truncate(time.Second)
}

// Error is a message a developer can act on.
func (r *Rejection) Error() string {
	at := r.at
	if at.IsZero() {
		at = time.Now()
	}
	retry := r.RetryAfter(at)
	reset := r.ResetAt.UTC().Format(time.RFC3339)
	switch r.Limit {
	case LimitRPM:
		return fmt.Sprintf("rate limit %q of %s reached: %d requests per minute; retry in %s",
			r.Limit, r.Scope, r.Value, retry)
	case LimitTPM:
		if r.Requested > r.Value {
			return fmt.Sprintf("rate limit %q of %s reached: %d tokens per minute, %d in use, and this request reserves %d, "+
				"more than the whole limit, so it waits until none are in use (lower max_tokens to reserve less); retry in %s",
				r.Limit, r.Scope, r.Value, r.Used, r.Requested, retry)
		}
		return fmt.Sprintf("rate limit %q of %s reached: %d tokens per minute, %d in use, and this request reserves %d; retry in %s",
			r.Limit, r.Scope, r.Value, r.Used, r.Requested, retry)
	case LimitRPD:
		return fmt.Sprintf("rate limit %q of %s reached: %d requests per UTC day; resets at %s (retry in %s)",
			r.Limit, r.Scope, r.Value, reset, retry)
	case LimitDailyBudget, LimitMonthlyBudget:
		name := "daily"
		if r.Limit == LimitMonthlyBudget {
			name = "monthly"
		}
		switch {
		case r.Used >= r.Value:
			return fmt.Sprintf("%s budget of %s exhausted: %s spent or reserved of %s; resets at %s",
				name, r.Scope, USD(r.Used), USD(r.Value), reset)
		case r.Requested > r.Value:
			return fmt.Sprintf("%s budget of %s too small for this request: it may cost up to %s, more than the whole budget of %s "+
				"(lower max_tokens to reserve less)", name, r.Scope, USD(r.Requested), USD(r.Value))
		default:
			return fmt.Sprintf("%s budget of %s would be exceeded: this request may cost up to %s and %s of %s is spent or reserved "+
				"(lower max_tokens to reserve less, or retry when requests in flight finish); resets at %s",
				name, r.Scope, USD(r.Requested), USD(r.Used), USD(r.Value), reset)
		}
	}
	return fmt.Sprintf("limit %q of %s reached", r.Limit, r.Scope)
}

// USD formats micro-USD as dollars with six decimals, e.g. "$5.000000".
func USD(micro int64) string {
	sign := ""
	u := uint64(micro)
	if micro < 0 {
		sign, u = "-", uint64(-micro)
	}
	return fmt.Sprintf("%s$%d.%06d", sign, u/1_000_000, u%1_000_000)
}
