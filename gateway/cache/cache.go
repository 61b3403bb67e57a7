// Package cache is the gateway's response cache: it answers a request that
// was already answered with the stored answer, without asking the provider
// again.
//
// Matching is exact. A Key (see NewKey) hashes the scope, the surface, the
// operation, the provider, the upstream model and the request body in
// canonical JSON form, so only the same request, in the same scope, finds
// an answer. The scope keeps caches apart: "svc/<id>" gives a service its
// own answers, "shared" pools them between the services that opt in.
//
// Answers live in two tiers. A memory LRU, bounded in bytes, serves the hot
// entries with a hash lookup; behind it a persistent Backend (the gateway's
// Badger store) keeps everything until it expires, and survives restarts.
// Get looks in memory first, then in the backend, and promotes what it
// finds there into memory. Every entry carries its expiry: an expired entry
// is a miss in both tiers, and the backend is given the remaining lifetime
// as its TTL so it can drop the entry itself.
//
// Put never blocks the request that produced the answer: the entry goes
// into memory at once and into a bounded queue, which one background
// goroutine writes to the backend (write-behind). When the queue is full
// the write is dropped and counted; the entry is still served from memory.
// Purge empties both tiers and discards the queued writes, none of which
// can land after it.
//
// The cache stores what it is given and never checks an answer is whole:
// the caller decides completeness and must only Put complete, successful
// answers, never one cut short by a client gone or a provider failing
// mid-stream. A Recorder collects a stream's chunks for that purpose while
// they are relayed.
package cache

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/storage"
	lru "github.com/hashicorp/golang-lru/v2"
	"go.uber.org/zap"
)

// Backend persists entries, keyed by the bytes of a Key. The gateway's
// Badger store implements it. Its methods must return when their context
// is cancelled: Close relies on it to stop a write that takes too long.
type Backend interface {
	// GetCache returns the value stored under key, or an error wrapping
	// storage.ErrNotFound when there is none or it expired.
	GetCache(ctx context.Context, key []byte) ([]byte, error)
	// PutCache stores value under key for ttl.
	PutCache(ctx context.Context, key, value []byte, ttl time.Duration) error
	// PurgeCache removes every entry and returns how many there were.
	PurgeCache(ctx context.Context) (int, error)
	// CacheStats returns the number of entries stored and their size.
	CacheStats(ctx context.Context) (entries int, bytes int64, err error)
}

// Defaults of Options.
const (
	DefaultMemoryBytes = 64 << 20
	DefaultQueueSize   = 1024
)

// closeTimeout bounds how long Close spends writing the queued entries.
const closeTimeout = 3 * time.Second

// Options configures a Cache.
type Options struct {
	// MemoryBytes is the memory tier's capacity, in bytes of entries
	// (Entry.Size); 0 means DefaultMemoryBytes, a negative value turns
	// the memory tier off. An entry larger than an eighth of it is not
	// kept in memory.
	MemoryBytes int64
	// QueueSize bounds the writes waiting for the backend; 0 means
	// DefaultQueueSize. A Put finding the queue full drops its write.
	QueueSize int
	// Logger receives the backend's failures; nil means none.
	Logger *zap.Logger
	// Now is the clock, for tests; nil means time.Now.
	Now func() time.Time
}

// Stats describes the cache's contents and counts what happened to it
// since New.
type Stats struct {
	// MemoryEntries and MemoryBytes are the memory tier's contents.
	MemoryEntries int   `json:"memory_entries"`
	MemoryBytes   int64 `json:"memory_bytes"`
	// StoredEntries and StoredBytes are the backend's, 0 without one.
	StoredEntries int   `json:"stored_entries"`
	StoredBytes   int64 `json:"stored_bytes"`
	// StoredError is why the backend's figures are missing, if they are.
	StoredError string `json:"stored_error,omitempty"`
	// Hits is MemoryHits plus StoredHits: the Gets that found an answer,
	// in memory or in the backend.
	Hits       uint64 `json:"hits"`
	MemoryHits uint64 `json:"memory_hits"`
	StoredHits uint64 `json:"stored_hits"`
	// Misses are the Gets that found none.
	Misses uint64 `json:"misses"`
	// Stores are the entries Put accepted.
	Stores uint64 `json:"stores"`
	// DroppedWrites are the backend writes given up: the queue was full,
	// or Close ran out of time.
	DroppedWrites uint64 `json:"dropped_writes"`
	// WriteErrors are the backend writes that failed.
	WriteErrors uint64 `json:"write_errors"`
	// Evictions are the entries the memory tier dropped for room.
	Evictions uint64 `json:"evictions"`
	// Expirations are the expired entries removed from the memory tier.
	Expirations uint64 `json:"expirations"`
}

// item is a memory tier value: the entry and its size when added, so the
// byte count stays right whatever happens to the entry.
type item struct {
	e    *Entry
	size int64
}

// write is a queued backend write. gen is the Purge generation it was
// queued in: a write from before a Purge is discarded.
type write struct {
	key Key
	e   *Entry
	gen uint64
}

// Cache is the two-tier response cache. It is safe for concurrent use.
type Cache struct {
	backend  Backend
	log      *zap.Logger
	now      func() time.Time
	maxBytes int64 // the memory tier's budget
	maxEntry int64 // the largest entry the memory tier takes

	// mu guards the fields below and every memory tier change that may
	// call evicted, which relies on it.
	mu     sync.Mutex
	mem    *lru.Cache[Key, item]
	bytes  int64 // the sizes of the items in mem
	quiet  bool  // the removal under way is not an eviction
	closed bool

	gen       atomic.Uint64 // incremented by every Purge
	queue     chan write    // nil without a backend
	wlock     chan struct{} // held by a backend write or a Purge
	stop      chan struct{} // closed by Close
	done      chan struct{} // closed when the writer returns
	ctx       context.Context
	cancel    context.CancelFunc
	closeOnce sync.Once
	closeWait time.Duration

	memHits, storedHits, misses, stores, dropped, writeErrors, evictions, expirations atomic.Uint64
}

// New returns a cache in front of b, which may be nil for a memory-only
// cache. With a backend it starts the goroutine that writes to it, which
// Close stops.
func New(b Backend, o Options) *Cache {
	switch {
	case o.MemoryBytes == 0:
		o.MemoryBytes = DefaultMemoryBytes
	case o.MemoryBytes < 0:
		o.MemoryBytes = 0
	}
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &Cache{
		backend:   b,
		log:       o.Logger,
		now:       o.Now,
		maxBytes:  o.MemoryBytes,
		maxEntry:  o.MemoryBytes / 8,
		wlock:     make(chan struct{}, 1),
		closeWait: closeTimeout,
	}
	// The byte budget is what bounds the memory tier; the LRU's own bound,
	// on the count, is one no budget can reach since every entry takes
	// at least entryOverhead.
	var err error
	c.mem, err = lru.NewWithEvict(int(min(o.MemoryBytes/entryOverhead+1, math.MaxInt32)), c.evicted)
	if err != nil {
		panic(fmt.Sprintf("cache: creating the memory tier: %v", err)) // only for a size ≤ 0
	}
	if b != nil {
		c.queue = make(chan write, o.QueueSize)
		c.stop = make(chan struct{})
		c.done = make(chan struct{})
		c.ctx, c.cancel = context.WithCancel(context.Background())
		go c.run()
	}
	return c
}

// evicted is the memory tier's eviction callback, run with c.mu held (see
// mu): it keeps the byte count and counts the evictions made for room.
func (c *Cache) evicted(_ Key, it item) {
	c.bytes -= it.size
	if !c.quiet {
		c.evictions.Add(1)
	}
}

// Get returns the answer stored under k, if there is one that has not
// expired: from memory, or else from the backend, promoting it into memory.
// A backend failure is a miss. The entry is shared with every other Get:
// it must be treated as read-only.
func (c *Cache) Get(ctx context.Context, k Key) (*Entry, bool) {
	if it, ok := c.mem.Get(k); ok {
		if c.now().Before(it.e.Expires) {
			c.memHits.Add(1)
			return it.e, true
		}
		c.expire(k, it.e)
	}
	if c.backend != nil {
		if e, ok := c.load(ctx, k); ok {
			c.storedHits.Add(1)
			return e, true
		}
	}
	c.misses.Add(1)
	return nil, false
}

// expire removes the expired e from memory, unless a Put replaced it.
func (c *Cache) expire(k Key, e *Entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if it, ok := c.mem.Peek(k); ok && it.e == e {
		c.remove(k)
		c.expirations.Add(1)
	}
}

// load reads k from the backend and promotes what it finds into memory
// (unless a Purge ran meanwhile). It is apart from Get so that k's escape
// to the backend costs Get's memory hits nothing.
func (c *Cache) load(ctx context.Context, k Key) (*Entry, bool) {
	gen := c.gen.Load()
	data, err := c.backend.GetCache(ctx, k[:])
	if err != nil {
		if !errors.Is(err, storage.ErrNotFound) {
			c.log.Debug("reading the response cache", zap.Stringer("key", k), zap.Error(err))
		}
		return nil, false
	}
	e := new(Entry)
	if err := e.UnmarshalBinary(data); err != nil {
		c.log.Debug("decoding a stored response", zap.Stringer("key", k), zap.Error(err))
		return nil, false
	}
	if !c.now().Before(e.Expires) {
		return nil, false
	}
	c.mu.Lock()
	if gen == c.gen.Load() {
		c.add(k, e)
	}
	c.mu.Unlock()
	return e, true
}

// add puts e into memory under k, replacing what was there, and evicts
// the oldest entries until the tier is within its budget. An entry too
// large for the tier only removes the one it replaces. c.mu is held.
func (c *Cache) add(k Key, e *Entry) {
	c.remove(k)
	size := int64(e.Size())
	if size > c.maxEntry {
		return
	}
	c.mem.Add(k, item{e, size})
	c.bytes += size
	for c.bytes > c.maxBytes {
		if _, _, ok := c.mem.RemoveOldest(); !ok {
			break
		}
	}
}

// remove takes k out of memory without counting an eviction. c.mu is held.
func (c *Cache) remove(k Key) {
	c.quiet = true
	c.mem.Remove(k)
	c.quiet = false
}

// Put stores the answer e under k: in memory at once (if it fits), in the
// backend soon after, for the time left until e.Expires. An entry that has
// already expired is ignored, as is every Put after Close. Put sets
// e.Stored when it is zero; e belongs to the cache afterwards and must not
// be modified. Put never blocks.
func (c *Cache) Put(k Key, e *Entry) {
	if e == nil {
		return
	}
	now := c.now()
	if !now.Before(e.Expires) {
		return
	}
	if e.Stored.IsZero() {
		e.Stored = now
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.add(k, e)
	c.stores.Add(1)
	if c.queue != nil {
		select {
		case c.queue <- write{k, e, c.gen.Load()}:
		default:
			c.dropped.Add(1)
		}
	}
}

// run is the writer goroutine: it writes the queued entries to the backend
// until Close, then what is left in the queue.
func (c *Cache) run() {
	defer close(c.done)
	for {
		select {
		case w := <-c.queue:
			c.write(w)
		case <-c.stop:
			for {
				select {
				case w := <-c.queue:
					c.write(w)
				default:
					return
				}
			}
		}
	}
}

// write writes one queued entry, unless a Purge came after its Put.
func (c *Cache) write(w write) {
	if c.ctx.Err() != nil { // Close gave up waiting
		c.dropped.Add(1)
		return
	}
	if w.gen != c.gen.Load() {
		return
	}
	value, err := w.e.MarshalBinary()
	if err != nil {
		c.writeErrors.Add(1)
		c.log.Warn("encoding a response for the cache", zap.Stringer("key", w.key), zap.Error(err))
		return
	}
	select {
	case c.wlock <- struct{}{}:
	case <-c.ctx.Done():
		c.dropped.Add(1)
		return
	}
	defer func() { <-c.wlock }()
	// Holding wlock, no Purge can start before this write is done: checked
	// here, the generation stays right.
	if w.gen != c.gen.Load() {
		return
	}
	ttl := w.e.Expires.Sub(c.now())
	if ttl <= 0 {
		return
	}
	if err := c.backend.PutCache(c.ctx, w.key[:], value, ttl); err != nil {
		c.writeErrors.Add(1)
		c.log.Warn("writing the response cache", zap.Stringer("key", w.key), zap.Error(err))
	}
}

// Purge empties the cache: the memory tier, the queued writes, and the
// backend, once any write in progress is done, so that nothing Put before
// Purge reaches the backend after it. It returns the number of entries
// removed from the backend, or from memory when there is no backend.
func (c *Cache) Purge(ctx context.Context) (int, error) {
	select {
	case c.wlock <- struct{}{}:
	case <-ctx.Done():
		return 0, fmt.Errorf("purging the response cache: %w", ctx.Err())
	}
	defer func() { <-c.wlock }()
	c.mu.Lock()
	c.gen.Add(1)
	n := c.mem.Len()
	c.quiet = true
	c.mem.Purge()
	c.quiet = false
	c.mu.Unlock()
	if c.queue != nil {
	discard:
		for {
			select {
			case <-c.queue:
			default:
				break discard
			}
		}
	}
	if c.backend == nil {
		return n, nil
	}
	n, err := c.backend.PurgeCache(ctx)
	if err != nil {
		return n, fmt.Errorf("purging the stored response cache: %w", err)
	}
	return n, nil
}

// Stats returns the cache's figures, the backend's included; a backend
// failure leaves them at 0 and sets StoredError.
func (c *Cache) Stats(ctx context.Context) Stats {
	c.mu.Lock()
	s := Stats{MemoryEntries: c.mem.Len(), MemoryBytes: c.bytes}
	c.mu.Unlock()
	s.MemoryHits = c.memHits.Load()
	s.StoredHits = c.storedHits.Load()
	s.Hits = s.MemoryHits + s.StoredHits
	s.Misses = c.misses.Load()
	s.Stores = c.stores.Load()
	s.DroppedWrites = c.dropped.Load()
	s.WriteErrors = c.writeErrors.Load()
	s.Evictions = c.evictions.Load()
	s.Expirations = c.expirations.Load()
	if c.backend != nil {
		n, b, err := c.backend.CacheStats(ctx)
		if err != nil {
			s.StoredError = fmt.Sprintf("reading the stored response cache's figures: %v", err)
		} else {
			s.StoredEntries, s.StoredBytes = n, b
		}
	}
	return s
}

// Close writes the queued entries to the backend, giving up after a few
// seconds, and stops the writer goroutine. Later Puts are ignored; Get,
// Purge and Stats keep working. Close is idempotent.
func (c *Cache) Close() {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		if c.queue == nil {
			return
		}
		close(c.stop)
		t := time.NewTimer(c.closeWait)
		defer t.Stop()
		select {
		case <-c.done:
		case <-t.C:
			c.log.Warn("response cache: gave up writing the queued entries", zap.Duration("after", c.closeWait))
			c.cancel() // the write in progress, and the others, are dropped
			<-c.done
		}
		c.cancel()
	})
}
