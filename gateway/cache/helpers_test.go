package cache

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/storage"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// Every test closes its caches: no writer goroutine may outlive them.
	goleak.VerifyTestMain(m)
}

// waitTimeout bounds every wait for the writer goroutine.
const waitTimeout = 5 * time.Second

// clock is a settable Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeBackend is an in-memory Backend that records what it is asked.
type fakeBackend struct {
	now func() time.Time

	mu     sync.Mutex
	data   map[Key]fakeValue
	ops    []string // "put <key>" and "purge", in order
	gets   int
	getErr error // returned by GetCache when set

	// written receives the key of every completed PutCache.
	written chan Key
	// With gate set, PutCache sends its key to entered, then waits for
	// gate (or its context).
	gate    chan struct{}
	entered chan Key
}

type fakeValue struct {
	value   []byte
	ttl     time.Duration
	expires time.Time
}

func newFakeBackend(now func() time.Time) *fakeBackend {
	return &fakeBackend{now: now, data: map[Key]fakeValue{}, written: make(chan Key, 1024)}
}

// blocking makes PutCache wait for release.
func (f *fakeBackend) blocking() *fakeBackend {
	f.gate = make(chan struct{})
	f.entered = make(chan Key, 1024)
	return f
}

func (f *fakeBackend) GetCache(_ context.Context, key []byte) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gets++
	if f.getErr != nil {
		return nil, f.getErr
	}
	v, ok := f.data[Key(key)]
	if !ok || !f.now().Before(v.expires) {
		return nil, fmt.Errorf("cache entry: %w", storage.ErrNotFound)
	}
	return v.value, nil
}

func (f *fakeBackend) PutCache(ctx context.Context, key, value []byte, ttl time.Duration) error {
	k := Key(key)
	if f.gate != nil {
		f.entered <- k
		select {
		case <-f.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.mu.Lock()
	f.data[k] = fakeValue{append([]byte(nil), value...), ttl, f.now().Add(ttl)}
	f.ops = append(f.ops, "put "+k.String()[:8])
	f.mu.Unlock()
	f.written <- k
	return nil
}

func (f *fakeBackend) PurgeCache(context.Context) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.data)
	clear(f.data)
	f.ops = append(f.ops, "purge")
	return n, nil
}

func (f *fakeBackend) CacheStats(context.Context) (int, int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var b int64
	for _, v := range f.data {
		b += int64(len(v.value))
	}
	return len(f.data), b, nil
}

// stored returns what is stored under k.
func (f *fakeBackend) stored(k Key) (fakeValue, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.data[k]
	return v, ok
}

func (f *fakeBackend) opLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.ops...)
}

func (f *fakeBackend) getCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gets
}

// waitWritten waits for the backend to have written k.
func (f *fakeBackend) waitWritten(t *testing.T, k Key) {
	t.Helper()
	timeout := time.After(waitTimeout)
	for {
		select {
		case got := <-f.written:
			if got == k {
				return
			}
		case <-timeout:
			t.Fatalf("key %s was not written", k)
		}
	}
}

// waitEntered waits for a blocked PutCache of k.
func (f *fakeBackend) waitEntered(t *testing.T, k Key) {
	t.Helper()
	select {
	case got := <-f.entered:
		if got != k {
			t.Fatalf("PutCache of %s, want %s", got, k)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("no PutCache of %s", k)
	}
}

// newTest returns a cache closed when the test ends.
func newTest(t testing.TB, b Backend, o Options) *Cache {
	t.Helper()
	c := New(b, o)
	t.Cleanup(c.Close)
	return c
}

// key returns a distinct key for n.
func key(n int) Key {
	k, err := NewKey("shared", "openai", "chat", "openai", "gpt-4o", fmt.Appendf(nil, `{"n":%d}`, n))
	if err != nil {
		panic(err)
	}
	return k
}

// entry returns a whole answer of body bytes (so of Size body+overhead),
// expiring at expires.
func entry(body int, expires time.Time) *Entry {
	b := make([]byte, body)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return &Entry{Status: 200, ContentType: "", Body: b, Expires: expires}
}
