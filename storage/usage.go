package storage

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// usageCounters is the number of counters of Usage, each stored as 8 bytes.
const usageCounters = 6

// usageNames names the counters of Usage, in the order of counters.
var usageNames = [usageCounters]string{"requests", "input_tokens", "output_tokens", "cached_tokens", "cache_hits", "spend_micro_usd"}

// counters returns the counters of u in their stored order.
func (u Usage) counters() [usageCounters]int64 {
	return [usageCounters]int64{u.Requests, u.InputTokens, u.OutputTokens, u.CachedTokens, u.CacheHits, u.SpendMicroUSD}
}

func usageOf(c [usageCounters]int64) Usage {
	return Usage{Requests: c[0], InputTokens: c[1], OutputTokens: c[2], CachedTokens: c[3], CacheHits: c[4], SpendMicroUSD: c[5]}
}

// addUsage adds two usages of non-negative counters, each saturating at
// MaxInt64.
func addUsage(a, b Usage) Usage {
	x, y := a.counters(), b.counters()
	for i := range x {
		x[i] = addSaturating(x[i], y[i])
	}
	return usageOf(x)
}

// usageValue encodes usage totals: the counters, 8 bytes each, big-endian.
func usageValue(u Usage) []byte {
	v := make([]byte, 0, 8*usageCounters)
	for _, c := range u.counters() {
		v = binary.BigEndian.AppendUint64(v, uint64(c))
	}
	return v
}

// decodeUsage decodes the usage totals stored in item.
func decodeUsage(item *badger.Item) (Usage, error) {
	var c [usageCounters]int64
	err := item.Value(func(v []byte) error {
		if len(v) != 8*usageCounters {
			return fmt.Errorf("corrupt usage totals at %q: %d bytes", item.Key(), len(v))
		}
		for i := range c {
			n := binary.BigEndian.Uint64(v[8*i:])
			if n>>63 != 0 {
				return fmt.Errorf("corrupt usage totals at %q: %s is negative: %x", item.Key(), usageNames[i], v)
			}
			c[i] = int64(n)
		}
		return nil
	})
	return usageOf(c), err
}

// usageCell is the sum of a batch's deltas to one (key, window, start).
type usageCell struct {
	key, window, start string
	usage              Usage
}

// AddUsage adds each delta's counters to the totals of its (Key, Window,
// Start); see Store. Like AddSpend, deltas are summed per (Key, Window,
// Start) first; each sum is then one read and one write of
// usage/<len>/<key>/<window>/<start> in a transaction of at most
// SpendBatchSize sums, retried on conflicts, so concurrent calls add up
// too. One sync covers the call.
func (b *Badger) AddUsage(ctx context.Context, deltas []UsageDelta) error {
	done, err := b.begin(ctx)
	if err != nil {
		return fmt.Errorf("adding usage: %w", err)
	}
	defer done()
	type cellID struct{ key, window, start string }
	index := make(map[cellID]int, len(deltas))
	cells := make([]usageCell, 0, len(deltas))
	for i, d := range deltas {
		if err := checkSpendKey(d.Key); err != nil {
			return fmt.Errorf("adding usage: delta %d: %w", i, err)
		}
		start, err := spendStart(d.Window, d.Start)
		if err != nil {
			return fmt.Errorf("adding usage: delta %d (%q): %w", i, d.Key, err)
		}
		c := d.counters()
		for j, n := range c {
			if n < 0 {
				return fmt.Errorf("adding usage: delta %d (%q): %w: %s %d is negative", i, d.Key, ErrInvalid, usageNames[j], n)
			}
		}
		if c == [usageCounters]int64{} {
			continue
		}
		id := cellID{d.Key, d.Window, start}
		if j, ok := index[id]; ok {
			cells[j].usage = addUsage(cells[j].usage, d.Usage)
			continue
		}
		index[id] = len(cells)
		cells = append(cells, usageCell{key: d.Key, window: d.Window, start: start, usage: d.Usage})
	}
	if err := applyBatches(b, cells, addUsageCells); err != nil {
		return fmt.Errorf("adding usage: %w", err)
	}
	return nil
}

// addUsageCells adds each cell to its stored totals in txn. It may run
// again (a conflict retry): it only reads cells.
func addUsageCells(txn *badger.Txn, cells []usageCell) error {
	for _, c := range cells {
		k := usageScopeKey(c.key, c.window, c.start)
		var total Usage
		item, err := txn.Get(k)
		switch {
		case errors.Is(err, badger.ErrKeyNotFound):
		case err != nil:
			return err
		default:
			if total, err = decodeUsage(item); err != nil {
				return err
			}
		}
		if err := txn.Set(k, usageValue(addUsage(total, c.usage))); err != nil {
			return err
		}
	}
	return nil
}

// UsageHistory returns a scope's usage totals in the windows starting in
// [from, to); see Store. It scans usage/<len>/<key>/<window>/ from the
// window containing from until the first start at or after to.
func (b *Badger) UsageHistory(ctx context.Context, key, window string, from, to time.Time) ([]UsageTotal, error) {
	done, err := b.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading usage history: %w", err)
	}
	defer done()
	if err := checkSpendKey(key); err != nil {
		return nil, fmt.Errorf("reading usage history: %w", err)
	}
	layout, ok := spendLayout(window)
	if !ok {
		return nil, fmt.Errorf("reading usage history of %q: %w: window %q", key, ErrInvalid, window)
	}
	var list []UsageTotal
	err = b.db.View(func(txn *badger.Txn) error {
		return scopeHistory(txn, usageScopePrefix(key, window), layout, from, to, func(start time.Time, item *badger.Item) error {
			u, err := decodeUsage(item)
			if err != nil {
				return err
			}
			list = append(list, UsageTotal{Start: start, Usage: u})
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s usage history of %q: %w", window, key, err)
	}
	return list, nil
}
