package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

func checkCacheKey(key []byte) error {
	switch {
	case len(key) == 0:
		return fmt.Errorf("%w: cache key is empty", ErrInvalid)
	case len(key) > MaxCacheKeySize:
		return fmt.Errorf("%w: cache key of %d bytes is longer than %d", ErrInvalid, len(key), MaxCacheKeySize)
	}
	return nil
}

// GetCache returns a copy of the cached value stored under key; see Store.
func (b *Badger) GetCache(ctx context.Context, key []byte) ([]byte, error) {
	done, err := b.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading cache entry: %w", err)
	}
	defer done()
	if err := checkCacheKey(key); err != nil {
		return nil, fmt.Errorf("reading cache entry: %w", err)
	}
	var val []byte
	err = b.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(cacheKey(key))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return ErrNotFound // absent or expired
		}
		if err != nil {
			return err
		}
		val, err = item.ValueCopy(nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading cache entry: %w", err)
	}
	if val == nil {
		val = []byte{} // stored empty: not nil, which would look like nothing
	}
	return val, nil
}

// PutCache stores value under key for ttl (rounded up to a whole second);
// see Store. The write is not synced: the periodic sync does not cover it
// either, the next synced write of any kind does.
func (b *Badger) PutCache(ctx context.Context, key, value []byte, ttl time.Duration) error {
	done, err := b.begin(ctx)
	if err != nil {
		return fmt.Errorf("storing cache entry: %w", err)
	}
	defer done()
	if err := checkCacheKey(key); err != nil {
		return fmt.Errorf("storing cache entry: %w", err)
	}
	switch {
	case ttl <= 0:
		return fmt.Errorf("storing cache entry: %w: time to live %v is not positive", ErrInvalid, ttl)
	case len(value) > MaxCacheValueSize:
		return fmt.Errorf("storing cache entry: %w: value of %d bytes is larger than %d", ErrInvalid, len(value), MaxCacheValueSize)
	}
	// Badger copies key and value when the transaction commits, before
	// Update returns: value need not be cloned.
	k, exp := cacheKey(key), expiresAt(ttl)
	err = b.update(func(txn *badger.Txn) error {
		e := badger.NewEntry(k, value)
		e.ExpiresAt = exp
		return txn.SetEntry(e)
	})
	if err != nil {
		return fmt.Errorf("storing cache entry: %w", err)
	}
	return nil
}

// PurgeCache deletes every cache entry and returns how many it deleted;
// see Store. It deletes batchSize keys per transaction, found by a
// keys-only scan of cache/, and syncs once at the end. (Badger's
// DropPrefix would make concurrent writes of every kind fail while it
// runs.) Entries stored while it runs may survive it.
func (b *Badger) PurgeCache(ctx context.Context) (int, error) {
	done, err := b.begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("purging cache: %w", err)
	}
	defer done()
	prefix := []byte(prefixCache)
	total := 0
	cursor := ""
	for {
		var keys []string
		err := b.update(func(txn *badger.Txn) error {
			keys = scanIDs(txn, prefix, cursor, batchSize)
			for _, k := range keys {
				if err := txn.Delete(cacheKey([]byte(k))); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			// Make what was deleted so far durable before reporting.
			return total, errors.Join(fmt.Errorf("purging cache: %w", err), b.syncCommitted())
		}
		total += len(keys)
		if len(keys) < batchSize {
			break
		}
		cursor = keys[len(keys)-1]
	}
	if total == 0 {
		return 0, nil
	}
	if err := b.syncCommitted(); err != nil {
		return total, fmt.Errorf("purging cache: %w", err)
	}
	return total, nil
}

// CacheStats counts the live cache entries and sums the sizes of their
// values; see Store. It scans the keys of cache/ without reading values.
func (b *Badger) CacheStats(ctx context.Context) (int, int64, error) {
	done, err := b.begin(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("reading cache stats: %w", err)
	}
	defer done()
	var (
		entries int
		size    int64
	)
	err = b.db.View(func(txn *badger.Txn) error {
		prefix := []byte(prefixCache)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			entries++
			size += it.Item().ValueSize()
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("reading cache stats: %w", err)
	}
	return entries, size, nil
}
