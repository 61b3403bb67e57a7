package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

const (
	// auditTimeSlack is how far an audit record's ID time may be from its
	// Time for a From or To filter to still find it: ListAudit seeks by ID
	// time that much beyond each bound and checks Time on the records
	// between.
	auditTimeSlack = time.Minute
	// auditMinScan is how many keys one ListAudit call examines at least
	// before it stops with a cursor (10 per record asked for, if more):
	// a filter that rarely matches costs a bounded amount per call.
	auditMinScan = 10_000
)

func checkAuditRecord(r *AuditRecord) error {
	switch {
	case !validID(AuditIDPrefix, r.ID):
		return fmt.Errorf("%w: audit record ID %q is not an ID of prefix %q", ErrInvalid, r.ID, AuditIDPrefix)
	case r.ServiceID != "" && !validAuditRef(r.ServiceID):
		return fmt.Errorf("%w: audit record %s: service ID %q is longer than %d bytes, contains '/' or is not UTF-8", ErrInvalid, r.ID, r.ServiceID, maxAuditRefLen)
	case r.TokenID != "" && !validAuditRef(r.TokenID):
		return fmt.Errorf("%w: audit record %s: token ID %q is longer than %d bytes, contains '/' or is not UTF-8", ErrInvalid, r.ID, r.TokenID, maxAuditRefLen)
	}
	return nil
}

// AppendAudit stores audit records; see Store. Every record is checked
// first. Records are written in batches of at most AuditBatchSize (Badger
// splits a batch into as many transactions as its size needs), each
// record's index entries before the record, so a record is never visible
// without them. One sync covers the call.
func (b *Badger) AppendAudit(ctx context.Context, recs []AuditRecord, ttl time.Duration) error {
	done, err := b.begin(ctx)
	if err != nil {
		return fmt.Errorf("appending audit records: %w", err)
	}
	defer done()
	for i := range recs {
		if err := checkAuditRecord(&recs[i]); err != nil {
			return fmt.Errorf("appending audit records: record %d: %w", i, err)
		}
	}
	if len(recs) == 0 {
		return nil
	}
	var exp uint64 // 0: never expires
	if ttl > 0 {
		exp = expiresAt(ttl)
	}
	for len(recs) > 0 {
		chunk := recs[:min(AuditBatchSize, len(recs))]
		recs = recs[len(chunk):]
		if err := b.writeAudit(chunk, exp); err != nil {
			// Part of the batch may have been committed: make it durable
			// before reporting.
			return errors.Join(fmt.Errorf("appending audit records: %w", err), b.syncCommitted())
		}
	}
	if err := b.syncCommitted(); err != nil {
		return fmt.Errorf("appending audit records: %w", err)
	}
	return nil
}

// writeAudit writes records and their index entries, expiring at exp (Unix
// seconds, 0 for never), in a write batch. Blind writes never conflict.
func (b *Badger) writeAudit(recs []AuditRecord, exp uint64) error {
	wb := b.db.NewWriteBatch()
	defer wb.Cancel()
	set := func(key, val []byte) error {
		e := badger.NewEntry(key, val)
		e.ExpiresAt = exp
		return wb.SetEntry(e)
	}
	for i := range recs {
		r := &recs[i]
		val, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("record %s: %w", r.ID, err)
		}
		if r.ServiceID != "" {
			if err := set(auditServiceKey(r.ServiceID, r.ID), nil); err != nil {
				return err
			}
		}
		if r.TokenID != "" {
			if err := set(auditTokenKey(r.TokenID, r.ID), nil); err != nil {
				return err
			}
		}
		if err := set(auditKey(r.ID), val); err != nil {
			return err
		}
	}
	return wb.Flush()
}

// matches reports whether r passes every set field of f.
func (f *AuditFilter) matches(r *AuditRecord) bool {
	switch {
	case f.ServiceID != "" && r.ServiceID != f.ServiceID,
		f.TokenID != "" && r.TokenID != f.TokenID,
		f.Status != 0 && r.Status != f.Status,
		!f.From.IsZero() && r.Time.Before(f.From),
		!f.To.IsZero() && !r.Time.Before(f.To):
		return false
	}
	return true
}

// ListAudit returns up to p.Limit audit records matching f, newest first,
// older than p.Cursor; see Store. It walks audit/ backwards, or the index of
// f.ServiceID (else of f.TokenID) when set, from the ID time of f.To (plus
// auditTimeSlack) or the cursor down to the ID time of f.From (minus
// auditTimeSlack), and examines at most max(10*limit, auditMinScan) keys;
// when it stops there it returns the last ID examined as next.
func (b *Badger) ListAudit(ctx context.Context, f AuditFilter, p Page) ([]AuditRecord, string, error) {
	done, err := b.begin(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("listing audit records: %w", err)
	}
	defer done()
	if p.Cursor != "" && !validID(AuditIDPrefix, p.Cursor) {
		return nil, "", fmt.Errorf("listing audit records: %w: cursor %q", ErrInvalid, p.Cursor)
	}
	if f.ServiceID != "" && !validAuditRef(f.ServiceID) || f.TokenID != "" && !validAuditRef(f.TokenID) ||
		!f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return nil, "", nil // no record can match
	}
	var prefix []byte
	index := true
	switch {
	case f.ServiceID != "":
		prefix = auditServicePrefix(f.ServiceID)
	case f.TokenID != "":
		prefix = auditTokenPrefix(f.TokenID)
	default:
		prefix, index = []byte(prefixAudit), false
	}
	// Keys in [lo, hi) are examined: hi excludes the cursor and IDs made
	// after To, lo IDs made before From.
	hi := append(bytes.Clone(prefix), 0xff) // above every ID
	if !f.To.IsZero() {
		hi = append(bytes.Clone(prefix), minIDAt(AuditIDPrefix, f.To.Add(auditTimeSlack))...)
	}
	if p.Cursor != "" {
		if c := append(bytes.Clone(prefix), p.Cursor...); bytes.Compare(c, hi) < 0 {
			hi = c
		}
	}
	lo := prefix
	if !f.From.IsZero() {
		lo = append(bytes.Clone(prefix), minIDAt(AuditIDPrefix, f.From.Add(-auditTimeSlack))...)
	}
	limit := pageLimit(p)
	maxScan := max(10*limit, auditMinScan)
	var (
		list []AuditRecord
		next string
	)
	err = b.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{
			Reverse:        true,
			Prefix:         prefix,
			PrefetchValues: !index,
			PrefetchSize:   min(limit, 100),
		})
		defer it.Close()
		var lastListed, lastSeen string
		scanned := 0
		for it.Seek(hi); it.ValidForPrefix(prefix); it.Next() {
			item := it.Item()
			key := item.Key()
			if bytes.Compare(key, hi) >= 0 {
				continue // the cursor itself (a reverse seek lands at or below hi)
			}
			if bytes.Compare(key, lo) < 0 {
				return nil
			}
			// Another key in range: stop here with a cursor if the page is
			// full or the scan budget spent.
			if len(list) == limit {
				next = lastListed
				return nil
			}
			if scanned == maxScan {
				next = lastSeen
				return nil
			}
			scanned++
			id := string(key[len(prefix):])
			lastSeen = id
			var r AuditRecord
			if index {
				err := getJSON(txn, auditKey(id), &r)
				if errors.Is(err, ErrNotFound) {
					continue // the record expired (or was never written)
				}
				if err != nil {
					return fmt.Errorf("record %s: %w", id, err)
				}
			} else if err := decodeItem(item, &r); err != nil {
				return fmt.Errorf("record %s: %w", id, err)
			}
			if !f.matches(&r) {
				continue
			}
			list = append(list, r)
			lastListed = id
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("listing audit records: %w", err)
	}
	return list, next, nil
}
