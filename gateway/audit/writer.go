package audit

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/storage"
)

// Sink stores audit records. The Badger store implements it.
type Sink interface {
	// AppendAudit stores recs (at most storage.AuditBatchSize of them),
	// each expiring ttl after it is written. It must not keep recs after
	// it returns. An error means the records may not be stored; the Writer
	// then tries them again, so storing a record must be idempotent per
	// record ID (a write that failed late, say on a timeout, may have
	// stored them: storing again must overwrite, not duplicate).
	AppendAudit(ctx context.Context, recs []storage.AuditRecord, ttl time.Duration) error
}

// Defaults of Options.
const (
	DefaultRetention  = 30 * 24 * time.Hour
	DefaultFlushEvery = time.Second
	DefaultMaxPending = 100_000
)

const (
	// wakeEvery: every this many pending records, Add wakes the writer
	// goroutine without waiting for the next tick.
	wakeEvery = 2048
	// firstChunkCap is the capacity of a new chunk when not busy; it grows
	// by append up to storage.AuditBatchSize records.
	firstChunkCap = 64
	// keepChunks is how many written chunks are kept for reuse (about
	// 300 KB each when full, so at most about 5 MB, kept after a burst);
	// more are left to the garbage collector.
	keepChunks = 16
	// logEvery limits the error logs about drops and failed writes.
	logEvery = time.Minute
)

// Options configure a Writer. Zero values mean the defaults.
type Options struct {
	// Retention is the TTL of stored records; default 30 days (720h).
	Retention time.Duration
	// FlushEvery is how often pending records are written; default 1s. It
	// is what a hard kill can lose.
	FlushEvery time.Duration
	// MaxPending is how many records may be held in memory awaiting a
	// write, those being written included; default 100,000. Beyond it new
	// records are dropped and counted.
	MaxPending int
	// Logger receives write failures and drops (never record contents);
	// default none.
	Logger *zap.Logger
}

// Stats are a Writer's counters.
type Stats struct {
	// Written counts records the sink accepted.
	Written uint64 `json:"written"`
	// Dropped counts records refused because MaxPending records were held,
	// or because they were added after Close.
	Dropped uint64 `json:"dropped"`
	// Pending is the records held now, awaiting or being written.
	Pending int `json:"pending"`
	// Failures counts failed AppendAudit calls.
	Failures uint64 `json:"failures"`
}

// Writer writes audit records in batches, off the request path. It is safe
// for concurrent use. See the package documentation for the design.
type Writer struct {
	sink  Sink
	ttl   time.Duration
	every time.Duration
	max   int
	log   *zap.Logger

	// Pending records are kept in chunks of at most AuditBatchSize, each
	// written by one AppendAudit call: Add never copies what it appended
	// before, and a write takes the whole list by swapping it.
	mu       sync.Mutex
	pending  [][]storage.AuditRecord
	npending int                     // records in pending
	spare    [][]storage.AuditRecord // an empty list to swap in
	free     [][]storage.AuditRecord // written chunks, emptied, for reuse
	inflight int                     // records taken by the write in progress
	closed   bool

	// turn is held (a value sent) by whoever writes: the goroutine, Flush
	// or Close. It is a channel so Flush can give up on its context.
	turn chan struct{}
	wake chan struct{}
	stop chan struct{}
	done chan struct{}

	closeOnce sync.Once
	closeErr  error

	written  atomic.Uint64
	dropped  atomic.Uint64
	failures atomic.Uint64

	// Owned by the goroutine: what was last reported in the logs.
	loggedDrops uint64
	lastDropLog time.Time
	failing     int // consecutive failed attempts
	lastFailLog time.Time
}

// NewWriter returns a Writer storing into s (which must not be nil) and
// starts its goroutine; Close stops it.
func NewWriter(s Sink, o Options) *Writer {
	if o.Retention <= 0 {
		o.Retention = DefaultRetention
	}
	if o.FlushEvery <= 0 {
		o.FlushEvery = DefaultFlushEvery
	}
	if o.MaxPending <= 0 {
		o.MaxPending = DefaultMaxPending
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	w := &Writer{
		sink:  s,
		ttl:   o.Retention,
		every: o.FlushEvery,
		max:   o.MaxPending,
		log:   o.Logger,
		turn:  make(chan struct{}, 1),
		wake:  make(chan struct{}, 1),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	go w.run()
	return w
}

// Add queues rec for writing. It never waits for storage. It sets rec.ID to
// storage.NewID(storage.AuditIDPrefix) when empty, so records added one
// after the other get increasing IDs. The record is dropped (and counted)
// when MaxPending records are held or the Writer is closed.
func (w *Writer) Add(rec storage.AuditRecord) {
	if rec.ID == "" {
		rec.ID = storage.NewID(storage.AuditIDPrefix)
	}
	w.mu.Lock()
	if w.closed || w.npending+w.inflight >= w.max {
		w.mu.Unlock()
		w.dropped.Add(1)
		return
	}
	last := len(w.pending) - 1
	if last < 0 || len(w.pending[last]) == storage.AuditBatchSize {
		w.pending = append(w.pending, w.newChunk(last >= 0))
		last++
	}
	w.pending[last] = append(w.pending[last], rec)
	w.npending++
	n := w.npending
	w.mu.Unlock()
	if n%wakeEvery == 0 {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// newChunk returns an empty chunk, reused if one is free; w.mu is held.
// A new one is small unless busy (the previous chunk filled up), so a
// quiet gateway holds little memory and a busy one copies nothing.
func (w *Writer) newChunk(busy bool) []storage.AuditRecord {
	if n := len(w.free); n > 0 {
		c := w.free[n-1]
		w.free[n-1] = nil
		w.free = w.free[:n-1]
		return c
	}
	if busy {
		return make([]storage.AuditRecord, 0, storage.AuditBatchSize)
	}
	return make([]storage.AuditRecord, 0, firstChunkCap)
}

// recycle keeps a written chunk, already cleared, for reuse; w.mu is
// held.
func (w *Writer) recycle(c []storage.AuditRecord) {
	if len(w.free) < keepChunks {
		w.free = append(w.free, c[:0])
	}
}

// Flush writes every record pending when it is called, waiting for a write
// in progress first. It returns the first error; the records not written
// stay pending. Records added while it runs are left for the next write.
func (w *Writer) Flush(ctx context.Context) error {
	select {
	case w.turn <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("audit: flush: %w", ctx.Err())
	}
	defer func() { <-w.turn }()
	return w.write(ctx)
}

// Close stops the goroutine and writes what is pending. Records added
// afterwards are dropped. It returns the final write's error, if any (the
// records not written then stay pending, and Flush may try again); calling
// it again returns the same result.
func (w *Writer) Close() error {
	w.closeOnce.Do(func() {
		w.mu.Lock()
		w.closed = true
		w.mu.Unlock()
		close(w.stop)
		<-w.done
		w.closeErr = w.Flush(context.Background())
	})
	return w.closeErr
}

// Stats returns the counters.
func (w *Writer) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return Stats{
		Written:  w.written.Load(), // changed with inflight, under w.mu
		Dropped:  w.dropped.Load(),
		Pending:  w.npending + w.inflight,
		Failures: w.failures.Load(),
	}
}

// run is the writer goroutine.
func (w *Writer) run() {
	defer close(w.done)
	t := time.NewTicker(w.every)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
		case <-w.wake:
			if w.failing > 0 {
				continue // retry on the ticks only, not on every wake
			}
		}
		select {
		case w.turn <- struct{}{}:
		case <-w.stop:
			return
		}
		err := w.write(context.Background())
		<-w.turn
		w.report(err)
	}
}

// write writes every pending record, one chunk per AppendAudit call. The
// caller holds the turn.
func (w *Writer) write(ctx context.Context) error {
	w.mu.Lock()
	batch := w.pending
	w.pending, w.spare = w.spare[:0], nil
	w.inflight, w.npending = w.npending, 0
	w.mu.Unlock()

	for i, c := range batch {
		err := ctx.Err()
		if err == nil {
			err = w.sink.AppendAudit(ctx, c, w.ttl)
		}
		if err != nil {
			w.failures.Add(1)
			n := w.requeue(batch[i:])
			return fmt.Errorf("audit: writing %d records: %w", n, err)
		}
		clear(c) // release the strings, outside the lock
		w.mu.Lock()
		w.written.Add(uint64(len(c)))
		w.inflight -= len(c)
		w.recycle(c)
		w.mu.Unlock()
		batch[i] = nil
	}

	w.mu.Lock()
	w.spare = batch[:0]
	w.mu.Unlock()
	return nil
}

// requeue puts the chunks not written back in front of those added
// meanwhile and returns how many records they hold. The total held does
// not change, so it stays within MaxPending.
func (w *Writer) requeue(rest [][]storage.AuditRecord) int {
	n := 0
	for _, c := range rest {
		n += len(c)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	added := w.pending
	w.pending = append(rest[:len(rest):len(rest)], added...)
	clear(added)
	w.spare = added[:0]
	w.npending += n
	w.inflight = 0
	return n
}

// report logs a failed write (at most once a minute while the failures
// last, and once when writes recover) and drops not yet logged (at most
// once a minute). It runs on the writer goroutine.
func (w *Writer) report(err error) {
	now := time.Now()
	switch {
	case err != nil:
		w.failing++
		if w.failing == 1 || now.Sub(w.lastFailLog) >= logEvery {
			w.lastFailLog = now
			w.log.Error("audit records not written; retrying",
				zap.Error(err),
				zap.Int("consecutive_failures", w.failing),
				zap.Int("pending", w.Stats().Pending))
		}
	case w.failing > 0:
		w.log.Info("audit writes recovered", zap.Int("failed_attempts", w.failing))
		w.failing = 0
	}
	if d := w.dropped.Load(); d > w.loggedDrops && now.Sub(w.lastDropLog) >= logEvery {
		w.log.Error("audit records dropped: too many pending",
			zap.Uint64("dropped", d-w.loggedDrops),
			zap.Uint64("dropped_total", d),
			zap.Int("max_pending", w.max))
		w.loggedDrops, w.lastDropLog = d, now
	}
}
