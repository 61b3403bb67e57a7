package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// now is the clock of the store; UTC without a monotonic reading, so a
// record reads back equal to what was stored.
func now() time.Time { return time.Now().UTC().Round(0) }

func checkServiceName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: service name is empty", ErrInvalid)
	case len(name) > maxNameLen:
		return fmt.Errorf("%w: service name is longer than %d bytes", ErrInvalid, maxNameLen)
	}
	return nil
}

// CreateService stores a new service. It fills s.ID, s.CreatedAt and
// s.UpdatedAt; ErrConflict if another service has the same name (names are
// compared byte for byte).
func (b *Badger) CreateService(ctx context.Context, s *Service) error {
	done, err := b.begin(ctx)
	if err != nil {
		return fmt.Errorf("creating service: %w", err)
	}
	defer done()
	if err := checkServiceName(s.Name); err != nil {
		return fmt.Errorf("creating service: %w", err)
	}
	rec := *s
	rec.ID = NewID(ServiceIDPrefix)
	rec.CreatedAt = now()
	rec.UpdatedAt = rec.CreatedAt
	err = b.commit(func(txn *badger.Txn) error {
		taken, err := exists(txn, serviceNameKey(rec.Name))
		if err != nil {
			return err
		}
		if taken {
			return fmt.Errorf("service name %q: %w", rec.Name, ErrConflict)
		}
		if err := txn.Set(serviceNameKey(rec.Name), []byte(rec.ID)); err != nil {
			return err
		}
		return setJSON(txn, serviceKey(rec.ID), &rec)
	})
	if err != nil {
		return fmt.Errorf("creating service: %w", err)
	}
	*s = rec
	return nil
}

// GetService returns the service with the given ID, or ErrNotFound.
func (b *Badger) GetService(ctx context.Context, id string) (*Service, error) {
	done, err := b.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading service: %w", err)
	}
	defer done()
	if !validID(ServiceIDPrefix, id) {
		return nil, fmt.Errorf("reading service %q: %w", id, ErrNotFound)
	}
	var s Service
	err = b.db.View(func(txn *badger.Txn) error { return getJSON(txn, serviceKey(id), &s) })
	if err != nil {
		return nil, fmt.Errorf("reading service %q: %w", id, err)
	}
	return &s, nil
}

// UpdateService replaces the stored service s.ID with s, keeping its
// CreatedAt and setting UpdatedAt (both written back into s). ErrNotFound if
// there is no such service; ErrConflict if s is renamed to a name another
// service has. A rename frees the old name.
func (b *Badger) UpdateService(ctx context.Context, s *Service) error {
	done, err := b.begin(ctx)
	if err != nil {
		return fmt.Errorf("updating service: %w", err)
	}
	defer done()
	if !validID(ServiceIDPrefix, s.ID) {
		return fmt.Errorf("updating service %q: %w", s.ID, ErrNotFound)
	}
	if err := checkServiceName(s.Name); err != nil {
		return fmt.Errorf("updating service %q: %w", s.ID, err)
	}
	rec := *s
	err = b.commit(func(txn *badger.Txn) error {
		var old Service
		if err := getJSON(txn, serviceKey(rec.ID), &old); err != nil {
			return err
		}
		if old.Name != rec.Name {
			taken, err := exists(txn, serviceNameKey(rec.Name))
			if err != nil {
				return err
			}
			if taken {
				return fmt.Errorf("service name %q: %w", rec.Name, ErrConflict)
			}
			if err := txn.Delete(serviceNameKey(old.Name)); err != nil {
				return err
			}
			if err := txn.Set(serviceNameKey(rec.Name), []byte(rec.ID)); err != nil {
				return err
			}
		}
		rec.CreatedAt = old.CreatedAt
		rec.UpdatedAt = now()
		return setJSON(txn, serviceKey(rec.ID), &rec)
	})
	if err != nil {
		return fmt.Errorf("updating service %q: %w", s.ID, err)
	}
	*s = rec
	return nil
}

// ListServices returns up to p.Limit services in creation order after
// p.Cursor, and the cursor of the next page ("" on the last page).
func (b *Badger) ListServices(ctx context.Context, p Page) ([]Service, string, error) {
	done, err := b.begin(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("listing services: %w", err)
	}
	defer done()
	var (
		list []Service
		next string
	)
	err = b.db.View(func(txn *badger.Txn) error {
		list, next, err = listPage(txn, []byte(prefixService), p, true, func(_ string, item *badger.Item) (Service, bool, error) {
			var s Service
			err := decodeItem(item, &s)
			return s, err == nil, err
		})
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("listing services: %w", err)
	}
	return list, next, nil
}

// serviceExists reports ErrNotFound unless the service is stored.
func serviceExists(txn *badger.Txn, id string) error {
	if !validID(ServiceIDPrefix, id) {
		return fmt.Errorf("service %q: %w", id, ErrNotFound)
	}
	ok, err := exists(txn, serviceKey(id))
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("service %q: %w", id, ErrNotFound)
	}
	return nil
}
