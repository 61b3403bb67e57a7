package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"go.uber.org/zap"
)

// ErrInvalid is returned when a record cannot be stored as given: an empty
// or over-long name, a provider name containing '/', a zero token hash. The
// admin API validates input before it reaches the store, so this signals a
// caller bug rather than user error.
var ErrInvalid = errors.New("invalid record")

// ErrClosed is returned by every method of a closed Badger.
var ErrClosed = errors.New("store closed")

// Defaults of Options.
const (
	DefaultGCInterval = 5 * time.Minute
	DefaultSyncEvery  = time.Second
)

const (
	// gcDiscardRatio is the share of stale data that makes a value-log file
	// worth rewriting.
	gcDiscardRatio = 0.7
	// maxTxnRetries bounds the attempts of a transaction that keeps losing
	// races (badger.ErrConflict) with concurrent ones on the same keys;
	// between attempts it waits a random time below retryBackoff << attempt
	// (capped at maxRetryBackoff), so contenders spread out.
	maxTxnRetries   = 20
	retryBackoff    = 50 * time.Microsecond
	maxRetryBackoff = 5 * time.Millisecond
	// batchSize is how many records one transaction of a bulk operation
	// (RevokeServiceTokens, TouchTokens) changes, far below Badger's
	// per-transaction limit (15% of a memtable).
	batchSize = 256
)

// Options configures Open. The zero value is ready to use.
type Options struct {
	// Logger receives Badger's warnings and errors (WARNING level and
	// above, under the name "badger"); nil discards them.
	Logger *zap.Logger
	// GCInterval is how often value-log garbage collection runs; default
	// 5m. Each run repeats RunValueLogGC(0.7) until it finds nothing to do.
	GCInterval time.Duration
	// SyncEvery is how often written-behind data (TouchTokens) is synced to
	// disk; default 1s. It bounds what a power loss can take: last-used
	// times of at most that long.
	SyncEvery time.Duration
}

// Badger is the embedded Store, on Badger v4 with a small-memory profile.
// Management writes are synced to disk before they return; TouchTokens is
// written behind and synced every Options.SyncEvery; PutCache is not synced
// at all (a later synced write carries it). Safe for concurrent use; one
// per directory per process (Badger locks the directory).
//
// Key layout. Records are JSON values (encoding/json of the record types,
// except that a token's hash is a base64 string) under a fixed prefix;
// indexes map a key to a record ID. A record and its index entries always
// change in one transaction.
//
//	meta/schema                      -> "1" (layout version, checked by Open)
//	svc/<serviceID>                  -> Service JSON
//	svcname/<name>                   -> serviceID       (unique name index)
//	tok/<tokenID>                    -> Token JSON
//	tokh/<32 raw SHA-256 bytes>      -> tokenID         (unique hash index)
//	toksvc/<serviceID>/<tokenID>     -> empty           (tokens of a service)
//	pkey/<provider>/<providerKeyID>  -> ProviderKey JSON
//	spendw/<window>/<start>/<scope>  -> total, 8 bytes big-endian (micro-USD)
//	spendk/<nnn>/<scope>/<window>/<start> -> the same total (nnn: len(scope), 3 digits)
//	cfg/pricing-overrides            -> the caller's JSON document
//	audit/<auditID>                  -> AuditRecord JSON  (TTL)
//	auditsvc/<serviceID>/<auditID>   -> empty             (records of a service, same TTL)
//	audittok/<tokenID>/<auditID>     -> empty             (records of a token, same TTL)
//	usage/<nnn>/<scope>/<window>/<start> -> six totals, 6 × 8 bytes big-endian
//	cache/<key bytes>                -> cached value      (TTL)
//
// A spend total is stored twice, in one transaction: spendw/ lists every
// scope of one window (SpendTotals), spendk/ one scope's windows in time
// order (SpendHistory). <window> is "day" or "month", <start> its UTC start
// as 2006-01-02 or 2006-01; a scope key is any 1-256 bytes, '/' included,
// and is made prefix-free in the middle of spendk/ keys by its length.
// Usage totals (Usage's six counters in field order) are laid out like
// spendk/; they are only read by scope, so there is no by-window copy.
//
// Audit records are written with their index entries, all expiring at the
// same second (Badger TTL; none when kept forever), the index entries first
// so a record is never visible without them; an index entry whose record
// is gone (a crash between the two) is skipped. Audit IDs sort by time, so
// ListAudit walks a prefix backwards and seeks to a time by the smallest ID
// of that millisecond (minIDAt). A cache key is any 1-64 bytes and only
// ends keys.
//
// IDs come from NewID and sort in creation order, so a prefix scan lists
// records in creation order and a page cursor is the last ID of the
// previous page. Every prefix ends in '/' and none is a prefix of another;
// IDs from requests are checked for the NewID shape before they go into a
// key; service names only end keys that are read by point lookup; provider
// names, which sit in the middle of scanned keys, may not contain '/'; spend
// scope keys end spendw/ keys and follow their length in spendk/ and usage/
// keys; the service and token IDs of audit records, in the middle of the
// audit index keys, may not contain '/'. So no user-supplied string can
// reach another record's keys.
//
// The spend, configuration, usage, audit and cache prefixes came after
// schema version 1 without changing it: they are new prefixes disjoint from
// the others, which no older scan reaches, so a database of either age
// opens with either build.
type Badger struct {
	db  *badger.DB
	dir string
	log *zap.Logger

	// mu is held for reading by every operation and for writing by Close,
	// so Close waits for operations in flight and later ones get ErrClosed
	// instead of touching a closed database (which panics in Badger).
	mu     sync.RWMutex
	closed bool

	dirty     atomic.Bool // TouchTokens wrote since the last sync
	commits   atomic.Uint64
	syncMu    sync.Mutex // serializes syncCommitted's syncs
	synced    uint64     // commits covered by the last successful sync
	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

var _ Store = (*Badger)(nil)

// badgerOptions is the small-memory profile measured in the project's
// reliability research (§3.2): about 35 MB of Go runtime memory instead of
// about 130 MB with Badger's server-sized defaults. With 100k tokens stored
// a serving process measured about 60 MB RSS (TestMemory100kTokens).
// Values of 256 bytes and more (audit records, cache entries) live in the
// value log, so compactions move only small pointers; expired ones are
// reclaimed by the value-log GC.
func badgerOptions(dir string, log *zap.Logger) badger.Options {
	return badger.DefaultOptions(dir).
		WithLogger(zapLogger{log}).
		WithMemTableSize(8 << 20).
		WithNumMemtables(2).
		WithNumLevelZeroTables(2).
		WithNumLevelZeroTablesStall(4).
		WithBaseTableSize(2 << 20).
		WithValueLogFileSize(64 << 20).
		WithBlockCacheSize(8 << 20).
		WithIndexCacheSize(8 << 20).
		WithNumCompactors(2). // zero would stop compactions and block writes
		WithCompression(options.None).
		WithValueThreshold(256). // audit records and cache entries go to the value log, sparing compactions
		WithSyncWrites(false)    // durability comes from explicit db.Sync() calls
}

// Open opens the database in dir, creating the directory (mode 0700) if
// needed. Badger takes an exclusive lock on the directory: when another
// process, or another Open in this process, holds it, Open fails at once
// with an error naming the directory. Close the returned store when done.
func Open(dir string, opts Options) (*Badger, error) {
	if dir == "" {
		return nil, errors.New("opening storage: no directory given")
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.GCInterval <= 0 {
		opts.GCInterval = DefaultGCInterval
	}
	if opts.SyncEvery <= 0 {
		opts.SyncEvery = DefaultSyncEvery
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("opening storage: %w", err)
	}
	log := opts.Logger.Named("badger")
	db, err := badger.Open(badgerOptions(dir, log))
	if err != nil {
		// Badger flattens the cause into its message (y.Wrapf), so the lock
		// failure is recognised by its text; the lock test pins it.
		if strings.Contains(err.Error(), "Cannot acquire directory lock") {
			return nil, fmt.Errorf("opening storage %q: the directory is locked, another Caddy process is probably using it (one process per storage directory): %w", dir, err)
		}
		return nil, fmt.Errorf("opening storage %q: %w", dir, err)
	}
	b := &Badger{db: db, dir: dir, log: log, stop: make(chan struct{})}
	if err := b.checkSchema(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("opening storage %q: %w", dir, err)
	}
	b.wg.Add(2)
	go b.gcLoop(opts.GCInterval)
	go b.syncLoop(opts.SyncEvery)
	return b, nil
}

// checkSchema records the key-layout version in a new database and refuses
// a database written with another layout.
func (b *Badger) checkSchema() error {
	var found string
	err := b.db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(keySchema))
		if errors.Is(err, badger.ErrKeyNotFound) {
			found = schemaVersion
			return txn.Set([]byte(keySchema), []byte(schemaVersion))
		}
		if err != nil {
			return err
		}
		v, err := item.ValueCopy(nil)
		found = string(v)
		return err
	})
	if err != nil {
		return fmt.Errorf("reading schema version: %w", err)
	}
	if found != schemaVersion {
		return fmt.Errorf("unsupported schema version %q (this build reads %q)", found, schemaVersion)
	}
	return b.db.Sync()
}

// Dir returns the absolute path of the database directory.
func (b *Badger) Dir() string { return b.dir }

// Close stops value-log GC and the periodic sync, waits for operations in
// flight, and closes the database (which flushes it to disk). Later calls
// return the first call's result.
func (b *Badger) Close() error {
	b.closeOnce.Do(func() {
		close(b.stop)
		b.wg.Wait()
		b.mu.Lock()
		b.closed = true
		b.mu.Unlock()
		if err := b.db.Close(); err != nil {
			b.closeErr = fmt.Errorf("closing storage %q: %w", b.dir, err)
		}
	})
	return b.closeErr
}

// gcLoop runs value-log GC every interval until Close.
func (b *Badger) gcLoop(interval time.Duration) {
	defer b.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
		}
		// Each successful call rewrites one file; stop when there is
		// nothing left worth rewriting (ErrNoRewrite) or on Close.
		for b.db.RunValueLogGC(gcDiscardRatio) == nil {
			select {
			case <-b.stop:
				return
			default:
			}
		}
	}
}

// syncLoop syncs written-behind data every interval until Close.
func (b *Badger) syncLoop(interval time.Duration) {
	defer b.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
		}
		if b.dirty.Swap(false) {
			if err := b.db.Sync(); err != nil {
				b.dirty.Store(true)
				b.log.Error("syncing written-behind data", zap.Error(err))
			}
		}
	}
}

// begin starts an operation: it checks ctx and that the store is open, and
// holds the read lock that Close waits for. Call the returned func when done.
func (b *Badger) begin(ctx context.Context) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return nil, ErrClosed
	}
	return b.mu.RUnlock, nil
}

// update runs fn in a read-write transaction, retrying when it lost a race
// with a concurrent transaction. fn must be safe to run again.
func (b *Badger) update(fn func(txn *badger.Txn) error) error {
	var err error
	for attempt := range maxTxnRetries {
		if attempt > 0 {
			time.Sleep(rand.N(min(retryBackoff<<attempt, maxRetryBackoff)))
		}
		err = b.db.Update(fn)
		if !errors.Is(err, badger.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("gave up after %d conflicting transactions: %w", maxTxnRetries, err)
}

// commit runs fn in a read-write transaction (see update) and syncs the
// database to disk before returning, so the change survives a crash or
// power loss once commit returns nil.
func (b *Badger) commit(fn func(txn *badger.Txn) error) error {
	if err := b.update(fn); err != nil {
		return err
	}
	return b.syncCommitted()
}

// syncCommitted makes every transaction committed so far durable. Concurrent
// callers share syncs (group commit): a caller whose commit is already
// covered by a sync that started after it returns at once, so N concurrent
// writers cost about two syncs, not N.
func (b *Badger) syncCommitted() error {
	mine := b.commits.Add(1)
	b.syncMu.Lock()
	defer b.syncMu.Unlock()
	if b.synced >= mine {
		return nil
	}
	upTo := b.commits.Load() // all of these committed before the sync below starts
	if err := b.db.Sync(); err != nil {
		return fmt.Errorf("syncing: %w", err)
	}
	b.synced = upTo
	return nil
}

// getJSON reads the JSON record at key into v; ErrNotFound if absent.
func getJSON(txn *badger.Txn, key []byte, v any) error {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	return decodeItem(item, v)
}

// decodeItem decodes the JSON value of item into v.
func decodeItem(item *badger.Item, v any) error {
	return item.Value(func(val []byte) error { return json.Unmarshal(val, v) })
}

// setJSON stores v as JSON at key.
func setJSON(txn *badger.Txn, key []byte, v any) error {
	val, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return txn.Set(key, val)
}

// exists reports whether key is present.
func exists(txn *badger.Txn, key []byte) (bool, error) {
	_, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}

// expiresAt is the Badger expiry (Unix seconds) of an entry written now
// with ttl > 0, rounded up to the next second so the entry lives at least
// ttl (and at most a second more).
func expiresAt(ttl time.Duration) uint64 {
	t := time.Now().Add(ttl)
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return uint64(s)
}

// pageLimit applies the defaults and cap of Page.Limit.
func pageLimit(p Page) int {
	switch {
	case p.Limit <= 0:
		return DefaultPageSize
	case p.Limit > MaxPageSize:
		return MaxPageSize
	}
	return p.Limit
}

// listPage walks the keys under prefix whose remainder (an ID) sorts after
// p.Cursor, calling load with that ID and the item for at most pageLimit(p)
// keys. It looks at one key more to know whether to return a next cursor.
// load may return false to skip a record (it does not count).
func listPage[T any](txn *badger.Txn, prefix []byte, p Page, values bool, load func(id string, item *badger.Item) (T, bool, error)) ([]T, string, error) {
	limit := pageLimit(p)
	it := txn.NewIterator(badger.IteratorOptions{
		PrefetchValues: values,
		PrefetchSize:   min(limit, 100),
		Prefix:         prefix,
	})
	defer it.Close()

	var (
		list   []T
		lastID string
	)
	for it.Seek(seekKey(prefix, p.Cursor)); it.ValidForPrefix(prefix); it.Next() {
		if len(list) == limit {
			return list, lastID, nil
		}
		id := string(it.Item().Key()[len(prefix):])
		v, ok, err := load(id, it.Item())
		if err != nil {
			return nil, "", err
		}
		if ok {
			list = append(list, v)
			lastID = id
		}
	}
	return list, "", nil
}

// scanIDs returns up to max IDs (key remainders) under prefix after cursor,
// reading keys only.
func scanIDs(txn *badger.Txn, prefix []byte, cursor string, max int) []string {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	var ids []string
	for it.Seek(seekKey(prefix, cursor)); it.ValidForPrefix(prefix) && len(ids) < max; it.Next() {
		ids = append(ids, string(it.Item().Key()[len(prefix):]))
	}
	return ids
}

// seekKey is where a scan of prefix resumes after cursor: the smallest key
// after prefix+cursor is prefix+cursor+"\x00".
func seekKey(prefix []byte, cursor string) []byte {
	if cursor == "" {
		return prefix
	}
	k := make([]byte, 0, len(prefix)+len(cursor)+1)
	return append(append(append(k, prefix...), cursor...), 0)
}
