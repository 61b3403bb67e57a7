package storage

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestServiceCreateGetUpdate(t *testing.T) {
	ctx := context.Background()
	b := openTest(t)

	s := &Service{
		Name:          "search",
		Active:        true,
		AllowedModels: []string{"gpt-4o*", "claude-*"},
		Policy:        `request.model != "o1"`,
		Limits:        Limits{RPM: 60, RPD: 1000, TPM: 50000},
		Budget:        Budget{DailyMicroUSD: 5_000_000, MonthlyMicroUSD: 100_000_000},
		Labels:        map[string]string{"team": "search"},
		PinnedKeys:    map[string]string{"openai": "pk_X"},
		ID:            "svc_ignored",
	}
	before := time.Now()
	if err := b.CreateService(ctx, s); err != nil {
		t.Fatal(err)
	}
	if !validID(ServiceIDPrefix, s.ID) {
		t.Fatalf("ID %q not generated", s.ID)
	}
	if s.CreatedAt.Before(before.Add(-time.Second)) || !s.UpdatedAt.Equal(s.CreatedAt) {
		t.Fatalf("times not filled: created %v updated %v", s.CreatedAt, s.UpdatedAt)
	}
	got, err := b.GetService(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Fatalf("read back\n%+v\nwant\n%+v", got, s)
	}

	time.Sleep(2 * time.Millisecond)
	upd := *got
	upd.Active = false
	upd.Limits.RPM = 1
	upd.CreatedAt = time.Time{} // ignored: CreatedAt never changes
	if err := b.UpdateService(ctx, &upd); err != nil {
		t.Fatal(err)
	}
	if !upd.CreatedAt.Equal(s.CreatedAt) || !upd.UpdatedAt.After(s.UpdatedAt) {
		t.Fatalf("update times: created %v (want %v), updated %v (want after %v)", upd.CreatedAt, s.CreatedAt, upd.UpdatedAt, s.UpdatedAt)
	}
	got, err = b.GetService(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, &upd) {
		t.Fatalf("read back\n%+v\nwant\n%+v", got, &upd)
	}
}

func TestServiceErrors(t *testing.T) {
	ctx := context.Background()
	b := openTest(t)
	alpha := mustService(t, b, "alpha")
	mustService(t, b, "beta")

	tests := []struct {
		name string
		op   func() error
		want error
	}{
		{"create duplicate name", func() error { return b.CreateService(ctx, &Service{Name: "alpha"}) }, ErrConflict},
		{"create empty name", func() error { return b.CreateService(ctx, &Service{}) }, ErrInvalid},
		{"create over-long name", func() error { return b.CreateService(ctx, &Service{Name: strings.Repeat("x", maxNameLen+1)}) }, ErrInvalid},
		{"get unknown", func() error { _, err := b.GetService(ctx, NewID(ServiceIDPrefix)); return err }, ErrNotFound},
		{"get empty ID", func() error { _, err := b.GetService(ctx, ""); return err }, ErrNotFound},
		{"get path-like ID", func() error { _, err := b.GetService(ctx, "../svcname/alpha"); return err }, ErrNotFound},
		{"get token ID", func() error { _, err := b.GetService(ctx, NewID(TokenIDPrefix)); return err }, ErrNotFound},
		{"update unknown", func() error { return b.UpdateService(ctx, &Service{ID: NewID(ServiceIDPrefix), Name: "gamma"}) }, ErrNotFound},
		{"update garbage ID", func() error { return b.UpdateService(ctx, &Service{ID: "svc/x", Name: "gamma"}) }, ErrNotFound},
		{"rename to a taken name", func() error { return b.UpdateService(ctx, &Service{ID: alpha.ID, Name: "beta"}) }, ErrConflict},
		{"rename to empty", func() error { return b.UpdateService(ctx, &Service{ID: alpha.ID}) }, ErrInvalid},
		{"canceled context", func() error {
			c, cancel := context.WithCancel(ctx)
			cancel()
			return b.CreateService(c, &Service{Name: "delta"})
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantErr(t, tt.op(), tt.want) })
	}

	// The failures changed nothing.
	got, err := b.GetService(ctx, alpha.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, alpha) {
		t.Fatalf("alpha changed: %+v", got)
	}
	list, _, err := b.ListServices(ctx, Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("%d services, want 2", len(list))
	}
}

func TestServiceRenameFreesOldName(t *testing.T) {
	ctx := context.Background()
	b := openTest(t)
	s := mustService(t, b, "old")
	s.Name = "new"
	if err := b.UpdateService(ctx, s); err != nil {
		t.Fatal(err)
	}
	wantErr(t, b.CreateService(ctx, &Service{Name: "new"}), ErrConflict)
	other := mustService(t, b, "old") // the old name is free again
	if other.ID == s.ID {
		t.Fatal("same ID")
	}
	// An update that keeps the name is not a conflict with itself.
	s.Active = false
	if err := b.UpdateService(ctx, s); err != nil {
		t.Fatal(err)
	}
}

// TestServiceNamesCannotReachOtherKeys stores names that look like keys of
// the layout: they are names like any other.
func TestServiceNamesCannotReachOtherKeys(t *testing.T) {
	ctx := context.Background()
	b := openTest(t)
	base := mustService(t, b, "a")
	names := []string{"a/", "a/b", "../svc/" + base.ID, "svc/" + base.ID, "\x00", "tokh/", "a\x00", " a", "A", "名前"}
	for _, n := range names {
		mustService(t, b, n)
	}
	for _, n := range names {
		wantErr(t, b.CreateService(ctx, &Service{Name: n}), ErrConflict)
	}
	got, err := b.GetService(ctx, base.ID)
	if err != nil || got.Name != "a" {
		t.Fatalf("base service: %+v, %v", got, err)
	}
	list, _, err := b.ListServices(ctx, Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(names)+1 {
		t.Fatalf("%d services, want %d", len(list), len(names)+1)
	}
}

func TestListServicesPages(t *testing.T) {
	ctx := context.Background()
	b := openTest(t)
	var want []string
	for i := range 25 {
		want = append(want, mustService(t, b, "svc-"+string(rune('a'+i))).ID)
	}
	tests := []struct {
		limit int
		pages []int
	}{
		{10, []int{10, 10, 5}},
		{5, []int{5, 5, 5, 5, 5}},
		{25, []int{25}},
		{24, []int{24, 1}},
		{0, []int{25}},
		{MaxPageSize + 5, []int{25}},
	}
	for _, tt := range tests {
		var (
			got    []string
			sizes  []int
			cursor string
		)
		for {
			list, next, err := b.ListServices(ctx, Page{Limit: tt.limit, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, len(list))
			for _, s := range list {
				got = append(got, s.ID)
			}
			if next == "" {
				break
			}
			if next != list[len(list)-1].ID {
				t.Fatalf("limit %d: next %q is not the last ID %q", tt.limit, next, list[len(list)-1].ID)
			}
			cursor = next
		}
		if !reflect.DeepEqual(sizes, tt.pages) || !reflect.DeepEqual(got, want) {
			t.Errorf("limit %d: pages %v (want %v), IDs in order: %v", tt.limit, sizes, tt.pages, reflect.DeepEqual(got, want))
		}
	}
	// A cursor that is no ID still positions: after everything.
	list, next, err := b.ListServices(ctx, Page{Cursor: "svc_ZZZZ"})
	if err != nil || len(list) != 0 || next != "" {
		t.Fatalf("cursor past the end: %d services, next %q, %v", len(list), next, err)
	}
}

// TestConcurrentSameName races writers for one name: exactly one wins,
// the others get ErrConflict (transaction conflicts are retried inside).
func TestConcurrentSameName(t *testing.T) {
	ctx := context.Background()
	b := openTest(t)
	var (
		won, lost atomic.Int32
		wg        sync.WaitGroup
	)
	for range 16 {
		wg.Go(func() {
			err := b.CreateService(ctx, &Service{Name: "contested"})
			switch {
			case err == nil:
				won.Add(1)
			case errors.Is(err, ErrConflict):
				lost.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if won.Load() != 1 || lost.Load() != 15 {
		t.Fatalf("%d created, %d conflicts; want 1 and 15", won.Load(), lost.Load())
	}
}
