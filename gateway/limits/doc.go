// Package limits is the in-memory admission engine for rate limits (rpm,
// rpd, tpm) and USD budgets (daily, monthly), checked atomically across every
// scope a request counts against (typically "svc/<id>" and "tok/<id>").
//
// # Reserve, then settle
//
// [Engine.Admit] reserves the request's worst case in every scope, or
// rejects it and touches nothing. The caller then ends the request with
// exactly one [Reservation.Settle] (actual tokens and cost replace the
// reserved ones; the actual may exceed the reservation and is charged in
// full) or [Reservation.Release] (nothing was consumed: everything reserved
// is returned, the request counts included). Because budgets are checked
// against spent + reserved, concurrent requests cannot overspend: settled
// spend in a window is at most the budget plus, over the requests settled
// in it, Σ max(0, actual − reserved), which is 0 when the provider honours
// max_tokens and prices are right.
//
// Money is integer micro-USD throughout.
//
// # Rate limits: rpm and tpm are GCRA (token bucket with burst = limit)
//
// Each rpm and tpm limit is a leaky bucket of capacity L units that drains
// at L units per minute, continuously (GCRA / token bucket with burst L; the
// state is one level and one timestamp per limit). A request needing n units
// is admitted when level + n ≤ L. So a scope can use its whole minute's
// allowance at once, and then gets L/60 per second back; no instant burst
// is ever larger than L (a fixed window allows 2L around its boundary), the
// sustained rate is exactly L per minute, and any interval of length T
// admits at most L + L·T/1min. The time until a request fits is exact, which
// is what Retry-After reports.
//
// tpm reserves Request.Tokens (input estimate + max output) at admission;
// Settle replaces it with the actual count. Using more than reserved puts
// the bucket above L ("debt"); later requests, even those reserving 0
// tokens, wait until it has drained below the limit. A request that needs
// more tokens than the whole limit (n > L) is admitted only when the bucket
// is empty, and its debt then delays what follows: the long-run rate holds,
// and large requests are never refused for ever.
//
// Release returns the request's rpm unit and its reserved tokens to the
// buckets (capped at empty). Settle keeps the rpm unit.
//
// # Calendar windows: rpd and budgets
//
// rpd and the daily budget count per UTC calendar day, the monthly budget per
// UTC calendar month; they reset at 00:00:00Z and on the 1st at 00:00:00Z.
// A budget admits a request of worst-case cost c when spent + reserved + c ≤
// budget, and refuses everything once spent + reserved ≥ budget (a 0-cost
// request included), so an exhausted budget stays exhausted until the window
// ends. Budget rejections report the window end as ResetAt, even though a
// request held back by others' reservations may fit earlier, once those
// settle.
//
// Rollover rule: a reservation belongs to the windows (day, month) in which
// it was admitted. If it is settled after the window rolled over, its actual
// cost is charged to the old window (visible in [Engine.Drain] deltas for
// that window) and neither reserved against nor charged to the new one.
// Likewise a Release after midnight does not give back an rpd count in the
// new day. Reservations still in flight at midnight therefore do not hold
// back the new day's budget.
//
// # Usage snapshot
//
// [Engine.Spent] reports settled spend today and this month, the cost held by
// in-flight reservations (whatever their window), requests today, and
// requests "this minute": a sliding 60-second estimate, the count of the
// current clock minute plus the previous minute's count weighted by the part
// of it still inside the last 60 seconds. Spend and request counts are kept
// for every scope, whether or not it has limits.
//
// # Persistence and restarts
//
// Only settled spend is meant to survive a restart: [Engine.Load] seeds it for
// the current day and month at startup, and [Engine.Drain] hands the settled
// deltas (per key, window and window start) to the single writer that persists
// them. Rate-limit buckets, request counts and reservations are not persisted:
// rpm, rpd and tpm start empty after a restart; budgets do not.
//
// # Concurrency and memory
//
// State lives in 256 shards keyed by a hash of the scope key, each with its
// own mutex. Admit locks the shards of all the request's scopes in ascending
// shard order (so no deadlock), checks every limit, then charges every scope
// or none. There is no global lock. Settle and Release lock one shard at a
// time: each scope's accounting is independent once admitted.
//
// A key's state is dropped as soon as it is indistinguishable from a fresh
// one: buckets drained, no reservation in flight, and nothing counted in the
// current day and month. A key with spend this month therefore stays until
// the month ends; any key untouched for more than a month and a day is
// certainly gone. Shards are swept at most every few minutes, by Admit on the
// shards it locks and by Drain.
package limits
