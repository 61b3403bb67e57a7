package storage

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestNewIDSortsInCreationOrder(t *testing.T) {
	const n = 20000 // many per millisecond, and across milliseconds
	ids := make([]string, n)
	for i := range ids {
		ids[i] = NewID(TokenIDPrefix)
		if i == n/2 {
			time.Sleep(2 * time.Millisecond)
		}
	}
	if !slices.IsSorted(ids) {
		t.Fatal("IDs are not in creation order")
	}
	if len(slices.Compact(slices.Clone(ids))) != n {
		t.Fatal("duplicate IDs")
	}
	for _, id := range ids[:10] {
		if !validID(TokenIDPrefix, id) {
			t.Fatalf("NewID gave %q, which validID rejects", id)
		}
	}
}

func TestNewIDTimestamp(t *testing.T) {
	before := time.Now().UnixMilli()
	id := NewID(ServiceIDPrefix)
	after := time.Now().UnixMilli()
	// The first 10 characters are the 48-bit millisecond time (the first
	// carries 3 bits, the next nine 5 each).
	var ms int64
	for _, c := range strings.TrimPrefix(id, "svc_")[:10] {
		ms = ms<<5 | int64(strings.IndexRune(crockford, c))
	}
	if ms < before || ms > after+1 {
		t.Fatalf("ID %s encodes %d ms, want between %d and %d", id, ms, before, after)
	}
}

func TestValidID(t *testing.T) {
	good := NewID(ServiceIDPrefix)
	tests := []struct {
		prefix, id string
		want       bool
	}{
		{ServiceIDPrefix, good, true},
		{TokenIDPrefix, good, false},
		{ServiceIDPrefix, "", false},
		{ServiceIDPrefix, "svc_", false},
		{ServiceIDPrefix, good[:len(good)-1], false},
		{ServiceIDPrefix, good + "0", false},
		{ServiceIDPrefix, "svc_" + strings.Repeat("0", 25) + "/", false},
		{ServiceIDPrefix, "svc_" + strings.Repeat("0", 25) + "I", false},
		{ServiceIDPrefix, "svc_" + strings.Repeat("0", 25) + "a", false},
		{ServiceIDPrefix, "svc-" + strings.Repeat("0", 26), false},
		{ServiceIDPrefix, "svc_" + strings.Repeat("Z", 26), true},
	}
	for _, tt := range tests {
		if got := validID(tt.prefix, tt.id); got != tt.want {
			t.Errorf("validID(%q, %q) = %v, want %v", tt.prefix, tt.id, got, tt.want)
		}
	}
}

// TestKeyPrefixes checks the rules of the key layout (keys.go): every
// prefix ends in '/', and none is a prefix of another.
func TestKeyPrefixes(t *testing.T) {
	for _, p := range keyPrefixes {
		if !strings.HasSuffix(p, "/") {
			t.Errorf("prefix %q does not end in '/'", p)
		}
		for _, q := range keyPrefixes {
			if p != q && strings.HasPrefix(q, p) {
				t.Errorf("prefix %q is a prefix of %q", p, q)
			}
		}
	}
	if !strings.HasPrefix(keySchema, "meta/") {
		t.Errorf("schema key %q is outside meta/", keySchema)
	}
}

func TestPageLimit(t *testing.T) {
	tests := []struct{ in, want int }{
		{-1, DefaultPageSize}, {0, DefaultPageSize}, {1, 1}, {100, 100},
		{MaxPageSize, MaxPageSize}, {MaxPageSize + 1, MaxPageSize},
	}
	for _, tt := range tests {
		if got := pageLimit(Page{Limit: tt.in}); got != tt.want {
			t.Errorf("pageLimit(%d) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
