package storage

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"
)

// CreateProviderKey stores a sealed provider key. It fills k.ID and
// k.CreatedAt. ErrInvalid if k.Provider is empty, longer than 128 bytes or
// contains '/'.
func (b *Badger) CreateProviderKey(ctx context.Context, k *ProviderKey) error {
	done, err := b.begin(ctx)
	if err != nil {
		return fmt.Errorf("creating provider key: %w", err)
	}
	defer done()
	if !validProvider(k.Provider) {
		return fmt.Errorf("creating provider key: %w: provider name %q", ErrInvalid, k.Provider)
	}
	rec := *k
	rec.ID = NewID(ProviderKeyIDPrefix)
	rec.CreatedAt = now()
	err = b.commit(func(txn *badger.Txn) error {
		return setJSON(txn, providerKeyKey(rec.Provider, rec.ID), &rec)
	})
	if err != nil {
		return fmt.Errorf("creating provider key for %q: %w", rec.Provider, err)
	}
	*k = rec
	return nil
}

// GetProviderKey returns the provider's key with the given ID, or
// ErrNotFound.
func (b *Badger) GetProviderKey(ctx context.Context, provider, id string) (*ProviderKey, error) {
	done, err := b.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading provider key: %w", err)
	}
	defer done()
	if !validProvider(provider) || !validID(ProviderKeyIDPrefix, id) {
		return nil, fmt.Errorf("reading provider key %q of %q: %w", id, provider, ErrNotFound)
	}
	var k ProviderKey
	err = b.db.View(func(txn *badger.Txn) error { return getJSON(txn, providerKeyKey(provider, id), &k) })
	if err != nil {
		return nil, fmt.Errorf("reading provider key %q of %q: %w", id, provider, err)
	}
	return &k, nil
}

// ListProviderKeys returns every key of the provider, by Priority (lower
// first), then in creation order. A provider has few keys, so there is no
// paging.
func (b *Badger) ListProviderKeys(ctx context.Context, provider string) ([]ProviderKey, error) {
	done, err := b.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing provider keys: %w", err)
	}
	defer done()
	if !validProvider(provider) {
		return nil, nil
	}
	var list []ProviderKey
	err = b.db.View(func(txn *badger.Txn) error {
		prefix := providerKeysPrefix(provider)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 16})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			var k ProviderKey
			if err := decodeItem(it.Item(), &k); err != nil {
				return err
			}
			list = append(list, k)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing provider keys of %q: %w", provider, err)
	}
	// Iteration gives creation order; a stable sort keeps it within a
	// priority.
	slices.SortStableFunc(list, func(a, b ProviderKey) int { return cmp.Compare(a.Priority, b.Priority) })
	return list, nil
}

// DeleteProviderKey deletes the provider's key with the given ID;
// ErrNotFound if there is none.
func (b *Badger) DeleteProviderKey(ctx context.Context, provider, id string) error {
	done, err := b.begin(ctx)
	if err != nil {
		return fmt.Errorf("deleting provider key: %w", err)
	}
	defer done()
	if !validProvider(provider) || !validID(ProviderKeyIDPrefix, id) {
		return fmt.Errorf("deleting provider key %q of %q: %w", id, provider, ErrNotFound)
	}
	err = b.commit(func(txn *badger.Txn) error {
		key := providerKeyKey(provider, id)
		ok, err := exists(txn, key)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNotFound
		}
		return txn.Delete(key)
	})
	if err != nil {
		return fmt.Errorf("deleting provider key %q of %q: %w", id, provider, err)
	}
	return nil
}
