package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// spendLayout returns the key layout of a window's start, or false for an
// unknown window.
func spendLayout(window string) (string, bool) {
	switch window {
	case WindowDay:
		return spendDayLayout, true
	case WindowMonth:
		return spendMonthLayout, true
	}
	return "", false
}

func checkSpendKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: scope key is empty", ErrInvalid)
	case len(key) > maxSpendKeyLen:
		return fmt.Errorf("%w: scope key is longer than %d bytes", ErrInvalid, maxSpendKeyLen)
	}
	return nil
}

// spendStart checks that start begins a window of that kind and returns it
// as written in keys.
func spendStart(window string, start time.Time) (string, error) {
	layout, ok := spendLayout(window)
	if !ok {
		return "", fmt.Errorf("%w: window %q (want %q or %q)", ErrInvalid, window, WindowDay, WindowMonth)
	}
	u := start.UTC()
	switch {
	case start.IsZero():
		return "", fmt.Errorf("%w: %s window start is not set", ErrInvalid, window)
	case u.Year() < 1 || u.Year() > 9999:
		return "", fmt.Errorf("%w: %s window start %v is outside the years 1-9999", ErrInvalid, window, u)
	case u.Hour() != 0 || u.Minute() != 0 || u.Second() != 0 || u.Nanosecond() != 0,
		window == WindowMonth && u.Day() != 1:
		return "", fmt.Errorf("%w: %v is not the start of a UTC %s", ErrInvalid, start, window)
	}
	return u.Format(layout), nil
}

// addSaturating adds two non-negative amounts, saturating at MaxInt64.
func addSaturating(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// spendValue encodes a total: 8 bytes, big-endian.
func spendValue(total int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(total)) }

// decodeSpend decodes the total stored in item.
func decodeSpend(item *badger.Item) (int64, error) {
	var total int64
	err := item.Value(func(v []byte) error {
		if len(v) != 8 || v[0]&0x80 != 0 {
			return fmt.Errorf("corrupt spend total at %q: %x", item.Key(), v)
		}
		total = int64(binary.BigEndian.Uint64(v))
		return nil
	})
	return total, err
}

// spendCell is the sum of a batch's deltas to one (key, window, start).
type spendCell struct {
	key, window, start string
	amount             int64
}

// AddSpend adds each delta to the total of its (Key, Window, Start); see
// Store. Deltas are summed per (Key, Window, Start) first; each such sum is
// then one read and two writes of the same total (spendw/ and spendk/, see
// Badger) in a transaction of at most SpendBatchSize sums, retried on
// conflicts, so concurrent calls add up too. One sync covers the call.
func (b *Badger) AddSpend(ctx context.Context, deltas []SpendDelta) error {
	done, err := b.begin(ctx)
	if err != nil {
		return fmt.Errorf("adding spend: %w", err)
	}
	defer done()
	type cellID struct{ key, window, start string }
	index := make(map[cellID]int, len(deltas))
	cells := make([]spendCell, 0, len(deltas))
	for i, d := range deltas {
		if err := checkSpendKey(d.Key); err != nil {
			return fmt.Errorf("adding spend: delta %d: %w", i, err)
		}
		start, err := spendStart(d.Window, d.Start)
		if err != nil {
			return fmt.Errorf("adding spend: delta %d (%q): %w", i, d.Key, err)
		}
		if d.Amount < 0 {
			return fmt.Errorf("adding spend: delta %d (%q): %w: amount %d is negative", i, d.Key, ErrInvalid, d.Amount)
		}
		if d.Amount == 0 {
			continue
		}
		id := cellID{d.Key, d.Window, start}
		if j, ok := index[id]; ok {
			cells[j].amount = addSaturating(cells[j].amount, d.Amount)
			continue
		}
		index[id] = len(cells)
		cells = append(cells, spendCell{key: d.Key, window: d.Window, start: start, amount: d.Amount})
	}
	if err := applyBatches(b, cells, addSpendCells); err != nil {
		return fmt.Errorf("adding spend: %w", err)
	}
	return nil
}

// applyBatches applies cells in transactions of at most SpendBatchSize
// (each retried on conflicts), then syncs once. When a transaction fails
// after others were applied, those are made durable before the error is
// returned.
func applyBatches[C any](b *Badger, cells []C, apply func(*badger.Txn, []C) error) error {
	applied := false
	for len(cells) > 0 {
		chunk := cells[:min(SpendBatchSize, len(cells))]
		cells = cells[len(chunk):]
		if err := b.update(func(txn *badger.Txn) error { return apply(txn, chunk) }); err != nil {
			if applied {
				err = errors.Join(err, b.syncCommitted())
			}
			return err
		}
		applied = true
	}
	if !applied {
		return nil
	}
	return b.syncCommitted()
}

// addSpendCells adds each cell to its stored total in txn. It may run again
// (a conflict retry): it only reads cells.
func addSpendCells(txn *badger.Txn, cells []spendCell) error {
	for _, c := range cells {
		wk := spendWindowKey(c.window, c.start, c.key)
		var total int64
		item, err := txn.Get(wk)
		switch {
		case errors.Is(err, badger.ErrKeyNotFound):
		case err != nil:
			return err
		default:
			if total, err = decodeSpend(item); err != nil {
				return err
			}
		}
		// Badger keeps the slices until commit: each Set gets its own key;
		// the value is shared, never modified.
		val := spendValue(addSaturating(total, c.amount))
		if err := txn.Set(wk, val); err != nil {
			return err
		}
		if err := txn.Set(spendScopeKey(c.key, c.window, c.start), val); err != nil {
			return err
		}
	}
	return nil
}

// SpendTotals returns every scope's total in one window; see Store. It
// scans spendw/<window>/<start>/ only.
func (b *Badger) SpendTotals(ctx context.Context, window string, start time.Time) (map[string]int64, error) {
	done, err := b.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading spend totals: %w", err)
	}
	defer done()
	s, err := spendStart(window, start)
	if err != nil {
		return nil, fmt.Errorf("reading spend totals: %w", err)
	}
	totals := make(map[string]int64)
	err = b.db.View(func(txn *badger.Txn) error {
		prefix := spendWindowPrefix(window, s)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 100})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			total, err := decodeSpend(it.Item())
			if err != nil {
				return err
			}
			totals[string(it.Item().Key()[len(prefix):])] = total
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s spend totals of %s: %w", window, s, err)
	}
	return totals, nil
}

// SpendHistory returns a scope's totals in the windows starting in
// [from, to); see Store. It scans spendk/<len>/<key>/<window>/ from the
// window containing from until the first start at or after to.
func (b *Badger) SpendHistory(ctx context.Context, key, window string, from, to time.Time) ([]SpendTotal, error) {
	done, err := b.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading spend history: %w", err)
	}
	defer done()
	if err := checkSpendKey(key); err != nil {
		return nil, fmt.Errorf("reading spend history: %w", err)
	}
	layout, ok := spendLayout(window)
	if !ok {
		return nil, fmt.Errorf("reading spend history of %q: %w: spend window %q", key, ErrInvalid, window)
	}
	var list []SpendTotal
	err = b.db.View(func(txn *badger.Txn) error {
		return scopeHistory(txn, spendScopePrefix(key, window), layout, from, to, func(start time.Time, item *badger.Item) error {
			total, err := decodeSpend(item)
			if err != nil {
				return err
			}
			list = append(list, SpendTotal{Start: start, Amount: total})
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s spend history of %q: %w", window, key, err)
	}
	return list, nil
}

// scopeHistory calls fn, oldest first, with every item under prefix (one
// scope's totals in one kind of window: spendk/ or usage/) whose start,
// the rest of its key in layout, is in [from, to). It seeks to the window
// containing from (keys sort in time order) and stops at the first start
// at or after to.
func scopeHistory(txn *badger.Txn, prefix []byte, layout string, from, to time.Time, fn func(start time.Time, item *badger.Item) error) error {
	if !from.Before(to) || from.UTC().Year() > 9999 {
		return nil
	}
	seek := prefix
	if f := from.UTC(); f.Year() >= 1 {
		seek = append(bytes.Clone(prefix), f.Format(layout)...)
	}
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 32})
	defer it.Close()
	for it.Seek(seek); it.ValidForPrefix(prefix); it.Next() {
		item := it.Item()
		start, err := time.Parse(layout, string(item.Key()[len(prefix):]))
		if err != nil {
			return fmt.Errorf("corrupt key %q: %w", item.Key(), err)
		}
		if start.Before(from) {
			continue // the window containing from started before it
		}
		if !start.Before(to) {
			break
		}
		if err := fn(start, item); err != nil {
			return err
		}
	}
	return nil
}

// GetPricingOverrides returns the stored pricing overrides document, or nil
// if none was stored.
func (b *Badger) GetPricingOverrides(ctx context.Context) ([]byte, error) {
	done, err := b.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading pricing overrides: %w", err)
	}
	defer done()
	var doc []byte
	err = b.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(keyPricingOverrides))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		doc, err = item.ValueCopy(nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading pricing overrides: %w", err)
	}
	return doc, nil
}

// PutPricingOverrides stores the pricing overrides document, synced;
// ErrInvalid unless it is valid JSON of at most MaxPricingOverridesSize
// bytes.
func (b *Badger) PutPricingOverrides(ctx context.Context, doc []byte) error {
	done, err := b.begin(ctx)
	if err != nil {
		return fmt.Errorf("storing pricing overrides: %w", err)
	}
	defer done()
	switch {
	case len(doc) > MaxPricingOverridesSize:
		return fmt.Errorf("storing pricing overrides: %w: document of %d bytes is larger than %d", ErrInvalid, len(doc), MaxPricingOverridesSize)
	case !json.Valid(doc):
		return fmt.Errorf("storing pricing overrides: %w: document is not valid JSON", ErrInvalid)
	}
	val := bytes.Clone(doc) // Badger keeps it until commit; the caller may reuse doc
	err = b.commit(func(txn *badger.Txn) error { return txn.Set([]byte(keyPricingOverrides), val) })
	if err != nil {
		return fmt.Errorf("storing pricing overrides: %w", err)
	}
	return nil
}
