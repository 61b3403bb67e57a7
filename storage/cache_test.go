package storage

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

func mustPutCache(t testing.TB, b *Badger, key, value []byte, ttl time.Duration) {
	t.Helper()
	if err := b.PutCache(context.Background(), key, value, ttl); err != nil {
		t.Fatal(err)
	}
}

func mustCacheStats(t testing.TB, b *Badger) (int, int64) {
	t.Helper()
	n, size, err := b.CacheStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n, size
}

func TestCachePutGet(t *testing.T) {
	ctx := context.Background()
	b := openTest(t)
	big := bytes.Repeat([]byte("0123456789abcdef"), (2<<20)/16) // above Badger's value threshold: in the value log
	tests := []struct {
		name       string
		key, value []byte
	}{
		{"one byte key", []byte("k"), []byte("v")},
		{"longest key", bytes.Repeat([]byte{0xab}, MaxCacheKeySize), []byte("longest")},
		{"binary key", []byte{0, '/', 0xff, '/', 0}, []byte{0, 1, 2}},
		{"key like another prefix", []byte("svc/x"), []byte("not a service")},
		{"prefix of another key", []byte("svc/"), []byte("shorter")},
		{"empty value", []byte("empty"), nil},
		{"large value", []byte("large"), big},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, value := bytes.Clone(tt.key), bytes.Clone(tt.value)
			mustPutCache(t, b, key, value, time.Hour)
			// The caller may reuse its buffers.
			for i := range value {
				value[i] = 'Z'
			}
			key[0] ^= 1
			got, err := b.GetCache(ctx, tt.key)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil || !bytes.Equal(got, tt.value) {
				t.Fatalf("read back %d bytes %.20q, want %d bytes %.20q", len(got), got, len(tt.value), tt.value)
			}
			if len(got) > 0 {
				got[0] ^= 1 // a copy: does not change what is stored
				if again, _ := b.GetCache(ctx, tt.key); !bytes.Equal(again, tt.value) {
					t.Fatal("GetCache returned the stored bytes, not a copy")
				}
			}
		})
	}
	// Every entry is still there, apart from the others.
	for _, tt := range tests {
		if got, err := b.GetCache(ctx, tt.key); err != nil || !bytes.Equal(got, tt.value) {
			t.Fatalf("%s: %d bytes, %v", tt.name, len(got), err)
		}
	}
	// A put replaces.
	mustPutCache(t, b, []byte("k"), []byte("v2"), time.Hour)
	if got, err := b.GetCache(ctx, []byte("k")); err != nil || string(got) != "v2" {
		t.Fatalf("after replace: %q, %v", got, err)
	}
	// A cache entry is no other record, and another key finds nothing.
	if _, err := b.GetService(ctx, "svc/x"); !isNotFound(err) {
		t.Fatalf("GetService after caching svc/x: %v", err)
	}
	for _, k := range [][]byte{[]byte("kk"), []byte("K"), {0, '/', 0xff}, []byte("svc")} {
		_, err := b.GetCache(ctx, k)
		wantErr(t, err, ErrNotFound)
	}
}

func TestCacheInvalid(t *testing.T) {
	ctx := context.Background()
	b := openTest(t)
	tooBig := make([]byte, MaxCacheValueSize+1)
	tests := []struct {
		name       string
		key, value []byte
		ttl        time.Duration
	}{
		{"nil key", nil, []byte("v"), time.Hour},
		{"empty key", []byte{}, []byte("v"), time.Hour},
		{"key too long", bytes.Repeat([]byte("k"), MaxCacheKeySize+1), []byte("v"), time.Hour},
		{"zero ttl", []byte("k"), []byte("v"), 0},
		{"negative ttl", []byte("k"), []byte("v"), -time.Second},
		{"value too large", []byte("k"), tooBig, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, b.PutCache(ctx, tt.key, tt.value, tt.ttl), ErrInvalid)
			if n, _ := mustCacheStats(t, b); n != 0 {
				t.Fatalf("%d entries after an invalid put", n)
			}
		})
	}
	for _, k := range [][]byte{nil, {}, bytes.Repeat([]byte("k"), MaxCacheKeySize+1)} {
		_, err := b.GetCache(ctx, k)
		wantErr(t, err, ErrInvalid)
	}
	_, err := b.GetCache(ctx, []byte("absent"))
	wantErr(t, err, ErrNotFound)
}

// TestCacheLargestValue stores a value of MaxCacheValueSize bytes.
func TestCacheLargestValue(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 64 MiB")
	}
	ctx := context.Background()
	b := openTest(t)
	v := bytes.Repeat([]byte{1, 2, 3, 4, 5, 6, 7, 8}, MaxCacheValueSize/8)
	mustPutCache(t, b, []byte("largest"), v, time.Hour)
	got, err := b.GetCache(ctx, []byte("largest"))
	if err != nil || !bytes.Equal(got, v) {
		t.Fatalf("read back %d bytes, %v", len(got), err)
	}
	if n, size := mustCacheStats(t, b); n != 1 || size < MaxCacheValueSize-16 || size > MaxCacheValueSize+16 {
		t.Fatalf("stats %d entries, %d bytes", n, size)
	}
}

func TestCacheTTL(t *testing.T) {
	b := openTest(t)
	tests := []struct {
		name     string
		ttl      time.Duration
		min, max time.Duration // of the expiry after the call
	}{
		{"an hour", time.Hour, time.Hour, time.Hour + 2*time.Second},
		{"a second", time.Second, time.Second, 3 * time.Second},
		{"a nanosecond", time.Nanosecond, time.Nanosecond, 2 * time.Second},
		{"a day and a half second", 24*time.Hour + 500*time.Millisecond, 24*time.Hour + 500*time.Millisecond, 24*time.Hour + 2*time.Second},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := []byte(fmt.Sprintf("k%d", i))
			before := time.Now()
			mustPutCache(t, b, key, []byte("v"), tt.ttl)
			after := time.Now()
			exp := expiresAtOf(t, b, cacheKey(key))
			// Rounded up: never before ttl has passed, never in the second
			// of the write.
			if lo, hi := before.Add(tt.min), after.Add(tt.max); exp < uint64(lo.Unix()) || exp > uint64(hi.Unix()) {
				t.Fatalf("expires at %v, want between %v and %v", time.Unix(int64(exp), 0), lo, hi)
			}
			if exp <= uint64(before.Unix()) {
				t.Fatalf("expires at %d, in the second it was written (%d)", exp, before.Unix())
			}
		})
	}
}

func TestCacheStats(t *testing.T) {
	ctx := context.Background()
	b := openTest(t)
	if n, size := mustCacheStats(t, b); n != 0 || size != 0 {
		t.Fatalf("empty cache: %d entries, %d bytes", n, size)
	}
	var want int64
	for i := range 50 {
		v := bytes.Repeat([]byte("x"), i*10)
		mustPutCache(t, b, []byte(fmt.Sprintf("key-%d", i)), v, time.Hour)
		want += int64(len(v))
	}
	// Replacing an entry counts it once, with its new size.
	mustPutCache(t, b, []byte("key-1"), []byte("0123456789abcdefghij"), time.Hour)
	want += 10
	// Other records are not counted.
	mustService(t, b, "not cached")
	mustAppendAudit(t, b, 0, AuditRecord{ID: NewID(AuditIDPrefix), Time: now(), Status: 200})
	// Values in the value log (over the value threshold) count a few
	// bytes of their log entry's framing.
	if n, size := mustCacheStats(t, b); n != 50 || size < want || size > want+16*50 {
		t.Fatalf("%d entries, %d bytes; want 50, about %d", n, size, want)
	}
	// A large value, in the value log: its size is close.
	mustPutCache(t, b, []byte("large"), make([]byte, 3<<20), time.Hour)
	if n, size := mustCacheStats(t, b); n != 51 || size < want+3<<20 || size > want+3<<20+16*51 {
		t.Fatalf("with a large value: %d entries, %d bytes; want 51, about %d", n, size, want+3<<20)
	}
	// An expired entry is not counted.
	expireCacheEntry(t, b, []byte("key-2"))
	if n, _ := mustCacheStats(t, b); n != 50 {
		t.Fatalf("%d entries after one expired, want 50", n)
	}
	if _, err := b.GetCache(ctx, []byte("key-2")); !isNotFound(err) {
		t.Fatalf("expired entry: %v", err)
	}
}

// expireCacheEntry rewrites the entry at key as expired a second ago,
// directly in the database.
func expireCacheEntry(t testing.TB, b *Badger, key []byte) {
	t.Helper()
	err := b.db.Update(func(txn *badger.Txn) error {
		e := badger.NewEntry(cacheKey(key), []byte("old"))
		e.ExpiresAt = uint64(time.Now().Unix() - 1)
		return txn.SetEntry(e)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPurgeCache(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		entries int
	}{
		{"empty", 0},
		{"one", 1},
		{"one batch", batchSize},
		{"several batches", 2*batchSize + 17},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := openTest(t)
			var keys [][]byte
			for i := range tt.entries {
				k := []byte(fmt.Sprintf("%c-%d", 'a'+i%26, i))
				keys = append(keys, k)
				mustPutCache(t, b, k, []byte(strings.Repeat("v", i%100)), time.Hour)
			}
			// An expired entry is gone already: not counted.
			expireCacheEntry(t, b, []byte("expired"))
			// Records of other kinds, some under keys that share bytes
			// with cache/, stay.
			svc := mustService(t, b, "cache/x")
			mustAddUsage(t, b, usageDelta("cache/x", WindowDay, day(2026, 11, 21), Usage{Requests: 1}))
			mustAppendAudit(t, b, 0, auditRec(time.Now(), 0, svc.ID, "", 200))

			n, err := b.PurgeCache(ctx)
			if err != nil || n != tt.entries {
				t.Fatalf("PurgeCache = %d, %v; want %d", n, err, tt.entries)
			}
			if n, size := mustCacheStats(t, b); n != 0 || size != 0 {
				t.Fatalf("after purge: %d entries, %d bytes", n, size)
			}
			for _, k := range keys {
				if _, err := b.GetCache(ctx, k); !isNotFound(err) {
					t.Fatalf("GetCache(%q) after purge: %v", k, err)
				}
			}
			if n, err := b.PurgeCache(ctx); err != nil || n != 0 {
				t.Fatalf("second purge = %d, %v", n, err)
			}
			if _, err := b.GetService(ctx, svc.ID); err != nil {
				t.Fatal(err)
			}
			if got := usageHistory(t, b, "cache/x", WindowDay); len(got) != 1 {
				t.Fatalf("usage after purge: %+v", got)
			}
			if got := listAllAudit(t, b, AuditFilter{}, 0); len(got) != 1 {
				t.Fatalf("audit after purge: %d records", len(got))
			}
			// The cache works after a purge.
			mustPutCache(t, b, []byte("again"), []byte("v"), time.Hour)
			if got, err := b.GetCache(ctx, []byte("again")); err != nil || string(got) != "v" {
				t.Fatalf("after purge: %q, %v", got, err)
			}
		})
	}
}

// TestCacheConcurrent puts, gets, counts and purges from several
// goroutines.
func TestCacheConcurrent(t *testing.T) {
	ctx := context.Background()
	b := openTest(t)
	const writers, puts = 4, 200
	var wg sync.WaitGroup
	errs := make(chan error, writers+2)
	for w := range writers {
		wg.Go(func() {
			for i := range puts {
				k := []byte(fmt.Sprintf("w%d-%d", w, i%50))
				v := []byte(fmt.Sprintf("value %d", i))
				if err := b.PutCache(ctx, k, v, time.Hour); err != nil {
					errs <- err
					return
				}
				if got, err := b.GetCache(ctx, k); err != nil && !isNotFound(err) {
					errs <- err
					return
				} else if err == nil && !bytes.HasPrefix(got, []byte("value ")) {
					errs <- fmt.Errorf("read %q", got)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 5 {
			if _, err := b.PurgeCache(ctx); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Go(func() {
		for range 20 {
			if _, _, err := b.CacheStats(ctx); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	n, _ := mustCacheStats(t, b)
	if n > writers*50 {
		t.Fatalf("%d entries, at most %d keys were used", n, writers*50)
	}
	if purged, err := b.PurgeCache(ctx); err != nil || purged != n {
		t.Fatalf("final purge = %d, %v; want %d", purged, err, n)
	}
}
