package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/storage"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestOptionsDefaults(t *testing.T) {
	tests := []struct {
		name      string
		backend   bool
		o         Options
		maxBytes  int64
		queueSize int
	}{
		{"memory only", false, Options{}, DefaultMemoryBytes, 0},
		{"with a backend", true, Options{}, DefaultMemoryBytes, DefaultQueueSize},
		{"set", true, Options{MemoryBytes: 1 << 20, QueueSize: 7}, 1 << 20, 7},
		{"memory off", true, Options{MemoryBytes: -1}, 0, DefaultQueueSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b Backend
			if tt.backend {
				b = newFakeBackend(time.Now)
			}
			c := newTest(t, b, tt.o)
			if c.maxBytes != tt.maxBytes || c.maxEntry != tt.maxBytes/8 || cap(c.queue) != tt.queueSize {
				t.Errorf("budget, largest entry, queue = %d, %d, %d, want %d, %d, %d",
					c.maxBytes, c.maxEntry, cap(c.queue), tt.maxBytes, tt.maxBytes/8, tt.queueSize)
			}
		})
	}
}

func TestMemoryBudget(t *testing.T) {
	const (
		small  = 100                     // body bytes of a small entry
		sSize  = small + entryOverhead   // its Size
		budget = 24 * sSize              // room for 24 small entries
		big    = 3*sSize - entryOverhead // body of an entry as large as 3 small ones: budget/8
	)
	type step struct {
		get  bool // Get n instead of Put
		n    int
		body int
	}
	puts := func(from, to int) (s []step) {
		for n := from; n < to; n++ {
			s = append(s, step{n: n, body: small})
		}
		return s
	}
	tests := []struct {
		name      string
		steps     []step
		entries   int
		bytes     int64
		evictions uint64
		present   []int
		absent    []int
	}{
		{"fills up", puts(0, 24), 24, budget, 0, []int{0, 23}, nil},
		{"evicts the oldest", puts(0, 25), 24, budget, 1, []int{1, 24}, []int{0}},
		{"a Get keeps an entry", append(append(puts(0, 24), step{get: true, n: 0}), puts(24, 25)...), 24, budget, 1, []int{0, 24}, []int{1}},
		{"a large entry evicts several", append(puts(0, 24), step{n: 99, body: big}), 22, 21*sSize + 3*sSize, 3, []int{3, 99}, []int{0, 1, 2}},
		{"replacing counts once", []step{{n: 0, body: small}, {n: 0, body: 2 * small}, {n: 1, body: small}}, 2, 2*small + entryOverhead + sSize, 0, []int{0, 1}, nil},
		{"too large skips memory", []step{{n: 0, body: big + 1}}, 0, 0, 0, nil, []int{0}},
		{"too large replaces what it skips", []step{{n: 0, body: small}, {n: 0, body: big + 1}}, 0, 0, 0, nil, []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			c := newTest(t, nil, Options{MemoryBytes: budget, Now: clk.Now})
			expires := clk.Now().Add(time.Hour)
			for _, s := range tt.steps {
				if s.get {
					c.Get(t.Context(), key(s.n))
				} else {
					c.Put(key(s.n), entry(s.body, expires))
				}
			}
			st := c.Stats(t.Context())
			if st.MemoryEntries != tt.entries || st.MemoryBytes != tt.bytes || st.Evictions != tt.evictions {
				t.Errorf("entries, bytes, evictions = %d, %d, %d, want %d, %d, %d",
					st.MemoryEntries, st.MemoryBytes, st.Evictions, tt.entries, tt.bytes, tt.evictions)
			}
			for _, n := range tt.present {
				if _, ok := c.Get(t.Context(), key(n)); !ok {
					t.Errorf("entry %d missing", n)
				}
			}
			for _, n := range tt.absent {
				if _, ok := c.Get(t.Context(), key(n)); ok {
					t.Errorf("entry %d present", n)
				}
			}
		})
	}
}

func TestExpiry(t *testing.T) {
	clk := newClock()
	f := newFakeBackend(clk.Now)
	c := newTest(t, f, Options{Now: clk.Now})
	k := key(1)
	c.Put(k, entry(10, clk.Now().Add(time.Minute)))
	f.waitWritten(t, k)
	if _, ok := c.Get(t.Context(), k); !ok {
		t.Fatal("miss before the expiry")
	}
	clk.Advance(time.Minute) // expires at exactly this instant
	if _, ok := c.Get(t.Context(), k); ok {
		t.Fatal("hit at the expiry")
	}
	c.Put(key(2), entry(10, clk.Now()))                   // already expired: ignored
	c.Put(key(3), entry(10, clk.Now().Add(-time.Second))) // likewise
	if _, ok := c.Get(t.Context(), key(2)); ok {
		t.Error("an expired Put was stored")
	}
	st := c.Stats(t.Context())
	want := Stats{Hits: 1, MemoryHits: 1, Misses: 2, Stores: 1, Expirations: 1, StoredEntries: 1, StoredBytes: st.StoredBytes}
	if st != want {
		t.Errorf("stats = %+v, want %+v", st, want)
	}
}

func TestBackendHitIsPromoted(t *testing.T) {
	clk := newClock()
	f := newFakeBackend(clk.Now)
	k := key(1)
	want := &Entry{Status: 200, ContentType: "text/event-stream", Events: [][]byte{[]byte("data: 1\n\n"), {}}, Stored: clk.Now(), Expires: clk.Now().Add(time.Hour)}
	storeDirectly(t, f, k, want, time.Hour)
	c := newTest(t, f, Options{Now: clk.Now})

	got, ok := c.Get(t.Context(), k)
	if !ok {
		t.Fatal("miss")
	}
	sameEntry(t, got, want)
	again, ok := c.Get(t.Context(), k)
	if !ok || again != got {
		t.Fatalf("second Get = %p, %v, want the promoted %p", again, ok, got)
	}
	if n := f.getCount(); n != 1 {
		t.Errorf("backend read %d times, want 1", n)
	}
	st := c.Stats(t.Context())
	if st.StoredHits != 1 || st.MemoryHits != 1 || st.Hits != 2 || st.Misses != 0 || st.MemoryEntries != 1 || st.MemoryBytes != int64(want.Size()) {
		t.Errorf("stats = %+v", st)
	}
}

// storeDirectly writes e to f as the writer would.
func storeDirectly(t *testing.T, f *fakeBackend, k Key, e *Entry, ttl time.Duration) {
	t.Helper()
	data, err := e.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	f.data[k] = fakeValue{data, ttl, f.now().Add(ttl)}
}

func TestBackendFailuresAreMisses(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(f *fakeBackend, k Key, now time.Time)
		logged string // the debug message expected, "" for none
	}{
		{"absent", func(*fakeBackend, Key, time.Time) {}, ""},
		{"error", func(f *fakeBackend, _ Key, _ time.Time) { f.getErr = errors.New("disk on fire") }, "reading the response cache"},
		{"not found, wrapped", func(f *fakeBackend, _ Key, _ time.Time) {
			f.getErr = fmt.Errorf("badger: %w", storage.ErrNotFound)
		}, ""},
		{"corrupt", func(f *fakeBackend, k Key, now time.Time) {
			f.data[k] = fakeValue{[]byte{entryVersion, 1, 2, 3}, time.Hour, now.Add(time.Hour)}
		}, "decoding a stored response"},
		{"expired, though the backend kept it", func(f *fakeBackend, k Key, now time.Time) {
			data, _ := (&Entry{Status: 200, Body: []byte("{}"), Expires: now}).MarshalBinary()
			f.data[k] = fakeValue{data, time.Hour, now.Add(time.Hour)}
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			f := newFakeBackend(clk.Now)
			k := key(1)
			tt.setup(f, k, clk.Now())
			core, logs := observer.New(zapcore.DebugLevel)
			c := newTest(t, f, Options{Now: clk.Now, Logger: zap.New(core)})
			if e, ok := c.Get(t.Context(), k); ok || e != nil {
				t.Fatalf("Get = %v, %v, want a miss", e, ok)
			}
			if st := c.Stats(t.Context()); st.Misses != 1 || st.Hits != 0 || st.MemoryEntries != 0 {
				t.Errorf("stats = %+v", st)
			}
			var msgs []string
			for _, e := range logs.All() {
				if e.Level != zapcore.DebugLevel {
					t.Errorf("logged at %v: %s", e.Level, e.Message)
				}
				msgs = append(msgs, e.Message)
			}
			if tt.logged == "" && len(msgs) > 0 || tt.logged != "" && !slices.Equal(msgs, []string{tt.logged}) {
				t.Errorf("logged %q, want %q", msgs, tt.logged)
			}
		})
	}
}

func TestPutWritesBehind(t *testing.T) {
	for _, e := range entryCases[:3] {
		t.Run(e.name, func(t *testing.T) {
			clk := newClock()
			f := newFakeBackend(clk.Now)
			c := newTest(t, f, Options{Now: clk.Now})
			k := key(1)
			put := e.e
			put.Stored, put.Expires = time.Time{}, clk.Now().Add(10*time.Minute)
			c.Put(k, &put)
			f.waitWritten(t, k)
			v, ok := f.stored(k)
			if !ok {
				t.Fatal("not stored")
			}
			if v.ttl != 10*time.Minute {
				t.Errorf("ttl = %v, want 10m", v.ttl)
			}
			var got Entry
			if err := got.UnmarshalBinary(v.value); err != nil {
				t.Fatal(err)
			}
			want := put
			want.Stored = clk.Now() // set by Put
			sameEntry(t, &got, &want)
			if st := c.Stats(t.Context()); st.Stores != 1 || st.StoredEntries != 1 || st.StoredBytes != int64(len(v.value)) || st.DroppedWrites != 0 {
				t.Errorf("stats = %+v", st)
			}
		})
	}
}

func TestQueueFullDrops(t *testing.T) {
	clk := newClock()
	f := newFakeBackend(clk.Now).blocking()
	c := newTest(t, f, Options{Now: clk.Now, QueueSize: 1})
	expires := clk.Now().Add(time.Hour)
	c.Put(key(0), entry(1, expires))
	f.waitEntered(t, key(0)) // the writer is busy with 0
	c.Put(key(1), entry(1, expires))
	c.Put(key(2), entry(1, expires)) // finds the queue full
	if st := c.Stats(t.Context()); st.DroppedWrites != 1 || st.Stores != 3 || st.MemoryEntries != 3 {
		t.Errorf("stats = %+v", st)
	}
	close(f.gate)
	c.Close()
	for n, want := range []bool{true, true, false} {
		if _, ok := f.stored(key(n)); ok != want {
			t.Errorf("entry %d stored: %v, want %v", n, ok, want)
		}
	}
	if _, ok := c.Get(t.Context(), key(2)); !ok {
		t.Error("a dropped write is not served from memory")
	}
}

func TestPurge(t *testing.T) {
	clk := newClock()
	f := newFakeBackend(clk.Now).blocking()
	c := newTest(t, f, Options{Now: clk.Now})
	expires := clk.Now().Add(time.Hour)
	a, b := key(1), key(2)
	c.Put(a, entry(1, expires))
	f.waitEntered(t, a) // a's write is under way, and holds up the writer
	c.Put(b, entry(1, expires))

	purged := make(chan error, 1)
	go func() {
		_, err := c.Purge(context.Background())
		purged <- err
	}()
	select {
	case err := <-purged:
		t.Fatalf("Purge returned (%v) during a write", err)
	case <-time.After(20 * time.Millisecond):
	}
	close(f.gate)
	if err := <-purged; err != nil {
		t.Fatal(err)
	}
	c.Close() // would write b, were it still queued

	// Neither write may come after the purge.
	ops := f.opLog()
	if i := slices.Index(ops, "purge"); i < 0 || i != len(ops)-1 {
		t.Errorf("backend operations %q, want the purge last", ops)
	}
	for _, k := range []Key{a, b} {
		if _, ok := f.stored(k); ok {
			t.Errorf("%s stored after the purge", k)
		}
		if _, ok := c.Get(t.Context(), k); ok {
			t.Errorf("%s served after the purge", k)
		}
	}
	if st := c.Stats(t.Context()); st.MemoryEntries != 0 || st.MemoryBytes != 0 || st.StoredEntries != 0 || st.Evictions != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestPurgeThenPut(t *testing.T) {
	clk := newClock()
	f := newFakeBackend(clk.Now)
	c := newTest(t, f, Options{Now: clk.Now})
	expires := clk.Now().Add(time.Hour)
	c.Put(key(1), entry(1, expires))
	f.waitWritten(t, key(1))
	n, err := c.Purge(t.Context())
	if err != nil || n != 1 {
		t.Fatalf("Purge = %d, %v, want 1", n, err)
	}
	c.Put(key(2), entry(1, expires))
	f.waitWritten(t, key(2))
	if _, ok := c.Get(t.Context(), key(2)); !ok {
		t.Error("a Put after Purge is not served")
	}
	if ops, want := f.opLog(), []string{"put " + key(1).String()[:8], "purge", "put " + key(2).String()[:8]}; !slices.Equal(ops, want) {
		t.Errorf("backend operations %q, want %q", ops, want)
	}
}

func TestPurgeMemoryOnly(t *testing.T) {
	clk := newClock()
	c := newTest(t, nil, Options{Now: clk.Now})
	for n := range 3 {
		c.Put(key(n), entry(1, clk.Now().Add(time.Hour)))
	}
	n, err := c.Purge(t.Context())
	if err != nil || n != 3 {
		t.Fatalf("Purge = %d, %v, want 3", n, err)
	}
	if st := c.Stats(t.Context()); st.MemoryEntries != 0 || st.MemoryBytes != 0 || st.Evictions != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestPurgeWaitsWithinItsContext(t *testing.T) {
	clk := newClock()
	f := newFakeBackend(clk.Now).blocking()
	c := newTest(t, f, Options{Now: clk.Now})
	c.Put(key(1), entry(1, clk.Now().Add(time.Hour)))
	f.waitEntered(t, key(1))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	if _, err := c.Purge(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Purge error = %v, want DeadlineExceeded", err)
	}
	close(f.gate)
}

func TestCloseFlushes(t *testing.T) {
	clk := newClock()
	f := newFakeBackend(clk.Now)
	c := New(f, Options{Now: clk.Now})
	const n = 50
	for i := range n {
		c.Put(key(i), entry(i, clk.Now().Add(time.Hour)))
	}
	c.Close()
	for i := range n {
		if _, ok := f.stored(key(i)); !ok {
			t.Errorf("entry %d not written by Close", i)
		}
	}
	c.Put(key(n), entry(1, clk.Now().Add(time.Hour)))
	if _, ok := c.Get(t.Context(), key(n)); ok {
		t.Error("a Put after Close was stored")
	}
	if st := c.Stats(t.Context()); st.Stores != n || st.StoredEntries != n {
		t.Errorf("stats = %+v", st)
	}
	c.Close() // idempotent
}

func TestCloseGivesUp(t *testing.T) {
	clk := newClock()
	f := newFakeBackend(clk.Now).blocking()
	c := New(f, Options{Now: clk.Now})
	c.closeWait = 20 * time.Millisecond
	c.Put(key(1), entry(1, clk.Now().Add(time.Hour)))
	f.waitEntered(t, key(1)) // never released
	c.Put(key(2), entry(1, clk.Now().Add(time.Hour)))
	done := make(chan struct{})
	go func() { c.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(waitTimeout):
		t.Fatal("Close did not give up")
	}
	if st := c.Stats(t.Context()); st.DroppedWrites != 1 || st.WriteErrors != 1 || st.StoredEntries != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestMemoryOff(t *testing.T) {
	clk := newClock()
	f := newFakeBackend(clk.Now)
	c := newTest(t, f, Options{Now: clk.Now, MemoryBytes: -1})
	c.Put(key(1), entry(1, clk.Now().Add(time.Hour)))
	f.waitWritten(t, key(1))
	for range 2 {
		if _, ok := c.Get(t.Context(), key(1)); !ok {
			t.Fatal("miss")
		}
	}
	if st := c.Stats(t.Context()); st.MemoryEntries != 0 || st.StoredHits != 2 || st.MemoryHits != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestStatsStoredError(t *testing.T) {
	c := newTest(t, failingStats{newFakeBackend(time.Now)}, Options{})
	if st := c.Stats(t.Context()); st.StoredError == "" || st.StoredEntries != 0 {
		t.Errorf("stats = %+v, want a StoredError", st)
	}
}

type failingStats struct{ *fakeBackend }

func (failingStats) CacheStats(context.Context) (int, int64, error) {
	return 0, 0, errors.New("closed")
}

func TestStatsJSON(t *testing.T) {
	b, err := json.Marshal(Stats{StoredError: "x"})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	want := []string{"dropped_writes", "evictions", "expirations", "hits", "memory_bytes", "memory_entries", "memory_hits",
		"misses", "stored_bytes", "stored_entries", "stored_error", "stored_hits", "stores", "write_errors"}
	var got []string
	for k := range m {
		got = append(got, k)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("JSON fields %q, want %q", got, want)
	}
}

func TestConcurrentUse(t *testing.T) {
	f := newFakeBackend(time.Now)
	c := newTest(t, f, Options{MemoryBytes: 40 * (entryOverhead + 64), QueueSize: 8})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 300 {
				k := key((g*7 + i) % 60)
				switch i % 10 {
				case 0:
					c.Stats(t.Context())
				case 1:
					if g == 0 {
						c.Purge(t.Context())
					}
				case 2, 3, 4:
					c.Put(k, entry(i%64, time.Now().Add(time.Minute)))
				default:
					if e, ok := c.Get(t.Context(), k); ok && e.Size() == 0 {
						t.Error("empty entry")
					}
				}
			}
		})
	}
	wg.Wait()
	c.Close()
	st := c.Stats(t.Context())
	var want int64
	for _, it := range c.mem.Values() {
		want += it.size
	}
	if st.MemoryBytes != want || st.MemoryBytes > c.maxBytes {
		t.Errorf("memory bytes %d, the entries' %d, budget %d", st.MemoryBytes, want, c.maxBytes)
	}
}
