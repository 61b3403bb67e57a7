// Package audit records what the gateway did with each request, off the
// request path: the [Writer] that stores audit records in batches, the
// [Usage] accumulator that turns records into per-window usage totals, and
// the [Redactor] that strips secrets from captured bodies.
//
// # Writing in batches
//
// [Writer.Add] only appends the record to an in-memory list under a mutex
// (it never waits for storage), so it costs well under a microsecond. The
// list is made of chunks of at most [storage.AuditBatchSize] records, so
// Add never copies what was added before, and written chunks are recycled.
// One goroutine per Writer takes the whole list every [Options.FlushEvery]
// (1 s by default), or earlier once a couple of thousand records have piled
// up, swaps in an empty one, and hands each chunk to the [Sink] in one
// AppendAudit call. Only one write is ever in flight: [Writer.Flush] and
// [Writer.Close] take the same turn as the background goroutine. A failed
// chunk and the chunks after it go back to the front of the list, so the
// next attempt (the next tick, or the next Flush) writes them again, in
// order, before the records added meanwhile; chunks already written are
// never written again by the Writer.
//
// # Loss window
//
// Records live only in memory until their chunk is written. A clean shutdown
// ([Writer.Close]) writes everything; a hard kill (kill -9, power loss)
// loses what was added since the last write, i.e. about FlushEvery of
// traffic (plus whatever a failing store had not accepted).
//
// # Bounded memory
//
// At most [Options.MaxPending] records (100,000 by default) are held,
// counting those being written. When the store is slow or down and that
// many are held, new records are dropped, counted in [Stats.Dropped], and
// reported at error level at most once a minute. Requests are never slowed
// down or refused because auditing cannot keep up. Logs never include the
// content of a record.
//
// # Usage
//
// [Usage] adds each authenticated request to its service, its token and the
// gateway-wide "all" scope, in the UTC day and UTC month that contain the
// request's time. The gateway's single store writer drains the deltas about
// once a second, like the spend deltas of package limits, so usage totals are
// written in one transaction per second, not one per request.
//
// # Redaction
//
// [Redactor.Redact] replaces gateway tokens, common provider-key shapes,
// bearer credentials, the values of JSON fields named like credentials and
// the configured provider keys with "[REDACTED]", and only then truncates,
// so a cut never reveals part of a secret.
package audit
