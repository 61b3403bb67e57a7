package storage

import (
	"context"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestTokenCreateGet(t *testing.T) {
	ctx := context.Background()
	b := openTest(t)
	svc := mustService(t, b, "app")

	tok := &Token{
		ServiceID: svc.ID,
		Name:      "ci",
		Hash:      hashOf("secret-1"),
		Prefix:    "llmgw_3kT9",
		Labels:    map[string]string{"env": "ci"},
		Limits:    Limits{RPM: 10},
		Budget:    Budget{DailyMicroUSD: 1},
		ExpiresAt: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	if err := b.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if !validID(TokenIDPrefix, tok.ID) || tok.CreatedAt.IsZero() {
		t.Fatalf("ID %q / CreatedAt %v not filled", tok.ID, tok.CreatedAt)
	}
	byID, err := b.GetToken(ctx, tok.ID)
	if err != nil {
		t.Fatal(err)
	}
	byHash, err := b.GetTokenByHash(ctx, hashOf("secret-1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, got := range []*Token{byID, byHash} {
		if !reflect.DeepEqual(got, tok) {
			t.Fatalf("read back\n%+v\nwant\n%+v", got, tok)
		}
	}
}

func TestTokenErrors(t *testing.T) {
	ctx := context.Background()
	b := openTest(t)
	svc := mustService(t, b, "app")
	tok := mustToken(t, b, svc.ID, "taken")
	other := mustToken(t, b, svc.ID, "other")

	tests := []struct {
		name string
		op   func() error
		want error
	}{
		{"create for unknown service", func() error {
			return b.CreateToken(ctx, &Token{ServiceID: NewID(ServiceIDPrefix), Name: "x", Hash: hashOf("x")})
		}, ErrNotFound},
		{"create without service", func() error { return b.CreateToken(ctx, &Token{Name: "x", Hash: hashOf("x")}) }, ErrNotFound},
		{"create with garbage service", func() error {
			return b.CreateToken(ctx, &Token{ServiceID: svc.ID + "/x", Name: "x", Hash: hashOf("x")})
		}, ErrNotFound},
		{"create without name", func() error { return b.CreateToken(ctx, &Token{ServiceID: svc.ID, Hash: hashOf("x")}) }, ErrInvalid},
		{"create without hash", func() error { return b.CreateToken(ctx, &Token{ServiceID: svc.ID, Name: "x"}) }, ErrInvalid},
		{"create duplicate hash", func() error {
			return b.CreateToken(ctx, &Token{ServiceID: svc.ID, Name: "x", Hash: hashOf("taken")})
		}, ErrConflict},
		{"get unknown", func() error { _, err := b.GetToken(ctx, NewID(TokenIDPrefix)); return err }, ErrNotFound},
		{"get garbage", func() error { _, err := b.GetToken(ctx, "tok/"+tok.ID); return err }, ErrNotFound},
		{"get by unknown hash", func() error { _, err := b.GetTokenByHash(ctx, hashOf("nope")); return err }, ErrNotFound},
		{"update unknown", func() error {
			return b.UpdateToken(ctx, &Token{ID: NewID(TokenIDPrefix), ServiceID: svc.ID, Name: "x", Hash: hashOf("x")})
		}, ErrNotFound},
		{"update to a taken hash", func() error {
			u := *tok
			u.Hash = other.Hash
			return b.UpdateToken(ctx, &u)
		}, ErrConflict},
		{"move to unknown service", func() error {
			u := *tok
			u.ServiceID = NewID(ServiceIDPrefix)
			return b.UpdateToken(ctx, &u)
		}, ErrNotFound},
		{"update without name", func() error {
			u := *tok
			u.Name = ""
			return b.UpdateToken(ctx, &u)
		}, ErrInvalid},
		{"revoke unknown service", func() error { _, err := b.RevokeServiceTokens(ctx, NewID(ServiceIDPrefix), time.Now()); return err }, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantErr(t, tt.op(), tt.want) })
	}

	got, err := b.GetTokenByHash(ctx, hashOf("taken"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, tok) {
		t.Fatalf("token changed: %+v", got)
	}
	list, _, err := b.ListTokens(ctx, "", Page{})
	if err != nil || len(list) != 2 {
		t.Fatalf("%d tokens, %v; want 2", len(list), err)
	}
}

func TestUpdateToken(t *testing.T) {
	ctx := context.Background()
	b := openTest(t)
	a := mustService(t, b, "a")
	c := mustService(t, b, "c")
	tok := mustToken(t, b, a.ID, "first")

	// Rename, relabel, new hash, move to another service.
	u := *tok
	u.Name = "renamed"
	u.Labels = map[string]string{"k": "v"}
	u.Hash = hashOf("rotated")
	u.ServiceID = c.ID
	u.CreatedAt = time.Time{}
	if err := b.UpdateToken(ctx, &u); err != nil {
		t.Fatal(err)
	}
	if !u.CreatedAt.Equal(tok.CreatedAt) {
		t.Fatalf("CreatedAt %v, want %v", u.CreatedAt, tok.CreatedAt)
	}
	if _, err := b.GetTokenByHash(ctx, hashOf("first")); !isNotFound(err) {
		t.Fatalf("old hash still finds the token: %v", err)
	}
	got, err := b.GetTokenByHash(ctx, hashOf("rotated"))
	if err != nil || !reflect.DeepEqual(got, &u) {
		t.Fatalf("by new hash: %+v, %v", got, err)
	}
	if ids := tokenIDs(t, b, a.ID); len(ids) != 0 {
		t.Fatalf("old service still lists %v", ids)
	}
	if ids := tokenIDs(t, b, c.ID); !slices.Equal(ids, []string{tok.ID}) {
		t.Fatalf("new service lists %v", ids)
	}

	// Revocation sticks; LastUsed only moves forward.
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	u.LastUsed = t0
	u.Revoked = true
	if err := b.UpdateToken(ctx, &u); err != nil {
		t.Fatal(err)
	}
	if u.RevokedAt.IsZero() {
		t.Fatal("RevokedAt not set on revocation")
	}
	revokedAt := u.RevokedAt
	stale := u
	stale.Revoked, stale.RevokedAt = false, time.Time{}
	stale.LastUsed = t0.Add(-time.Hour)
	stale.Name = "stale write"
	if err := b.UpdateToken(ctx, &stale); err != nil {
		t.Fatal(err)
	}
	got, err = b.GetToken(ctx, tok.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Revoked || !got.RevokedAt.Equal(revokedAt) || !got.LastUsed.Equal(t0) || got.Name != "stale write" {
		t.Fatalf("after a stale update: revoked %v at %v, last used %v, name %q", got.Revoked, got.RevokedAt, got.LastUsed, got.Name)
	}
}

func tokenIDs(t *testing.T, b *Badger, serviceID string) []string {
	t.Helper()
	list, next, err := b.ListTokens(context.Background(), serviceID, Page{Limit: MaxPageSize})
	if err != nil || next != "" {
		t.Fatalf("listing: next %q, %v", next, err)
	}
	var ids []string
	for _, tok := range list {
		ids = append(ids, tok.ID)
	}
	return ids
}

func TestListTokensPages(t *testing.T) {
	ctx := context.Background()
	b := openTest(t)
	a := mustService(t, b, "a")
	c := mustService(t, b, "c")
	// Interleave two services so that the per-service index is what
	// pages, not the order of all tokens.
	var wantA, wantAll []string
	for i := range 250 {
		tokA := mustToken(t, b, a.ID, "a-"+itoa(i))
		wantA = append(wantA, tokA.ID)
		wantAll = append(wantAll, tokA.ID)
		if i%5 == 0 {
			wantAll = append(wantAll, mustToken(t, b, c.ID, "c-"+itoa(i)).ID)
		}
	}

	tests := []struct {
		name      string
		serviceID string
		limit     int
		want      []string
		pages     []int
	}{
		{"one service, limit 100", a.ID, 100, wantA, []int{100, 100, 50}},
		{"one service, limit 125", a.ID, 125, wantA, []int{125, 125}},
		{"one service, default limit", a.ID, 0, wantA, []int{100, 100, 50}},
		{"all services, limit 100", "", 100, wantAll, []int{100, 100, 100}},
		{"all services, limit 1000", "", 1000, wantAll, []int{300}},
		{"unknown service", NewID(ServiceIDPrefix), 100, nil, []int{0}},
		{"garbage service", "svc/", 100, nil, []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				got    []string
				sizes  []int
				cursor string
			)
			for {
				list, next, err := b.ListTokens(ctx, tt.serviceID, Page{Limit: tt.limit, Cursor: cursor})
				if err != nil {
					t.Fatal(err)
				}
				sizes = append(sizes, len(list))
				for _, tok := range list {
					if tt.serviceID != "" && tok.ServiceID != tt.serviceID {
						t.Fatalf("token %s of service %s listed", tok.ID, tok.ServiceID)
					}
					got = append(got, tok.ID)
				}
				if next == "" {
					break
				}
				if len(sizes) > 10 {
					t.Fatal("pages do not end")
				}
				cursor = next
			}
			if !slices.Equal(sizes, tt.pages) {
				t.Errorf("page sizes %v, want %v", sizes, tt.pages)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("IDs are not every token once in creation order (%d of %d)", len(got), len(tt.want))
			}
		})
	}
}

func TestRevokeServiceTokens(t *testing.T) {
	ctx := context.Background()
	b := openTest(t)
	a := mustService(t, b, "a")
	c := mustService(t, b, "c")
	n := 2*batchSize + 7 // several revocation transactions
	createTokens(t, b, a.ID, "a", n, 8)
	keep := mustToken(t, b, c.ID, "keep")

	// One already revoked keeps its own time.
	early := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	first, err := b.GetTokenByHash(ctx, hashOf("a-0"))
	if err != nil {
		t.Fatal(err)
	}
	first.Revoked, first.RevokedAt = true, early
	if err := b.UpdateToken(ctx, first); err != nil {
		t.Fatal(err)
	}

	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	got, err := b.RevokeServiceTokens(ctx, a.ID, at)
	if err != nil {
		t.Fatal(err)
	}
	if got != n-1 {
		t.Fatalf("revoked %d, want %d", got, n-1)
	}
	list, _, err := b.ListTokens(ctx, a.ID, Page{Limit: MaxPageSize})
	if err != nil || len(list) != n {
		t.Fatalf("%d tokens, %v", len(list), err)
	}
	for _, tok := range list {
		want := at
		if tok.ID == first.ID {
			want = early
		}
		if !tok.Revoked || !tok.RevokedAt.Equal(want) {
			t.Fatalf("token %s: revoked %v at %v, want at %v", tok.ID, tok.Revoked, tok.RevokedAt, want)
		}
	}
	byHash, err := b.GetTokenByHash(ctx, hashOf("a-17"))
	if err != nil || !byHash.Revoked {
		t.Fatalf("by hash after revocation: %+v, %v", byHash, err)
	}
	other, err := b.GetToken(ctx, keep.ID)
	if err != nil || other.Revoked {
		t.Fatalf("other service's token: %+v, %v", other, err)
	}
	// Nothing left to revoke.
	if again, err := b.RevokeServiceTokens(ctx, a.ID, at); err != nil || again != 0 {
		t.Fatalf("second revocation: %d, %v", again, err)
	}
	// A service without tokens.
	if none, err := b.RevokeServiceTokens(ctx, mustService(t, b, "empty").ID, at); err != nil || none != 0 {
		t.Fatalf("service without tokens: %d, %v", none, err)
	}
}

func TestTouchTokens(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b, err := Open(dir, Options{SyncEvery: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = b.Close() }()
	svc := mustService(t, b, "app")
	x := mustToken(t, b, svc.ID, "x")
	y := mustToken(t, b, svc.ID, "y")
	t1 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	t2 := t1.Add(time.Minute)

	steps := []struct {
		name  string
		touch map[string]time.Time
		wantX time.Time
		wantY time.Time
	}{
		{"first use", map[string]time.Time{x.ID: t1}, t1, time.Time{}},
		{"later use", map[string]time.Time{x.ID: t2, y.ID: t1}, t2, t1},
		{"older time ignored", map[string]time.Time{x.ID: t1}, t2, t1},
		{"same time ignored", map[string]time.Time{y.ID: t1}, t2, t1},
		{"unknown IDs ignored", map[string]time.Time{NewID(TokenIDPrefix): t2, "garbage": t2, "": t2, svc.ID: t2}, t2, t1},
		{"nothing", nil, t2, t1},
	}
	for _, st := range steps {
		if err := b.TouchTokens(ctx, st.touch); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		gx, _ := b.GetToken(ctx, x.ID)
		gy, _ := b.GetToken(ctx, y.ID)
		if !gx.LastUsed.Equal(st.wantX) || !gy.LastUsed.Equal(st.wantY) {
			t.Fatalf("%s: last used x %v y %v, want %v %v", st.name, gx.LastUsed, gy.LastUsed, st.wantX, st.wantY)
		}
	}

	// Many tokens at once: several transactions.
	createTokens(t, b, svc.ID, "many", batchSize+10, 4)
	list, _, err := b.ListTokens(ctx, svc.ID, Page{Limit: MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	touch := map[string]time.Time{}
	for _, tok := range list {
		touch[tok.ID] = t2
	}
	if err := b.TouchTokens(ctx, touch); err != nil {
		t.Fatal(err)
	}

	// The periodic sync picks the writes up.
	deadline := time.Now().Add(5 * time.Second)
	for b.dirty.Load() {
		if time.Now().After(deadline) {
			t.Fatal("touched tokens not synced within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// And they are there after a reopen.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	list, _, err = b.ListTokens(ctx, svc.ID, Page{Limit: MaxPageSize})
	if err != nil || len(list) != len(touch) {
		t.Fatalf("%d tokens after reopen, %v", len(list), err)
	}
	for _, tok := range list {
		if !tok.LastUsed.Equal(t2) {
			t.Fatalf("token %s last used %v after reopen, want %v", tok.ID, tok.LastUsed, t2)
		}
	}
}

// TestConcurrentTokenWrites races touches, updates and a revocation on one
// token: transaction conflicts are retried inside the store, LastUsed ends
// at the latest time, and the revocation sticks.
func TestConcurrentTokenWrites(t *testing.T) {
	ctx := context.Background()
	b := openTest(t)
	svc := mustService(t, b, "app")
	tok := mustToken(t, b, svc.ID, "hot")
	base := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	const rounds = 50

	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := range rounds {
				at := base.Add(time.Duration(w*rounds+i) * time.Second)
				if err := b.TouchTokens(ctx, map[string]time.Time{tok.ID: at}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for w := range 2 {
		wg.Go(func() {
			for i := range rounds {
				u := *tok
				u.Name = "writer " + itoa(w) + " round " + itoa(i)
				u.Revoked = w == 1 && i == rounds/2
				if err := b.UpdateToken(ctx, &u); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	got, err := b.GetToken(ctx, tok.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := base.Add((2*rounds - 1) * time.Second); !got.LastUsed.Equal(want) {
		t.Errorf("LastUsed %v, want %v", got.LastUsed, want)
	}
	if !got.Revoked {
		t.Error("revocation lost to a concurrent update")
	}
}
