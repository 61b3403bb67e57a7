package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/storage"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var errBoom = errors.New("boom")

// fakeSink records every AppendAudit call and the records it accepted.
type fakeSink struct {
	mu    sync.Mutex
	sizes []int
	ttls  []time.Duration
	recs  []storage.AuditRecord
	// fail, when set, decides the outcome of call i (0-based).
	fail func(i int) error
	// block, when set, makes every call wait for a value (or its ctx);
	// entered receives a value as each call starts.
	block   chan struct{}
	entered chan struct{}

	inflight   atomic.Int32
	concurrent atomic.Bool // two calls overlapped
	badChunk   atomic.Bool // a chunk was empty or larger than AuditBatchSize
}

func (f *fakeSink) AppendAudit(ctx context.Context, recs []storage.AuditRecord, ttl time.Duration) error {
	if f.inflight.Add(1) > 1 {
		f.concurrent.Store(true)
	}
	defer f.inflight.Add(-1)
	if len(recs) == 0 || len(recs) > storage.AuditBatchSize {
		f.badChunk.Store(true)
	}
	if f.entered != nil {
		f.entered <- struct{}{}
	}
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	i := len(f.sizes)
	f.sizes = append(f.sizes, len(recs))
	f.ttls = append(f.ttls, ttl)
	if f.fail != nil {
		if err := f.fail(i); err != nil {
			return err
		}
	}
	f.recs = append(f.recs, recs...) // a copy: the writer reuses its buffers
	return nil
}

func (f *fakeSink) setFail(fn func(int) error) {
	f.mu.Lock()
	f.fail = fn
	f.mu.Unlock()
}

func (f *fakeSink) stored() []storage.AuditRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.recs)
}

func (f *fakeSink) check(t *testing.T) {
	t.Helper()
	if f.concurrent.Load() {
		t.Error("two AppendAudit calls were in flight at once")
	}
	if f.badChunk.Load() {
		t.Error("a chunk was empty or larger than storage.AuditBatchSize")
	}
}

func rec(marker string) storage.AuditRecord {
	return storage.AuditRecord{Time: time.Now(), ServiceID: "svc_1", Surface: "openai", Operation: marker, Status: 200}
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func closeWriter(t *testing.T, w *Writer) {
	t.Helper()
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestWriterBatches(t *testing.T) {
	for _, tc := range []struct {
		n         int
		retention time.Duration
		want      []int // chunk sizes; nil: only check the invariants
	}{
		{0, 0, []int{}},
		{1, 0, []int{1}},
		{999, 48 * time.Hour, []int{999}},
		{1000, time.Hour, []int{1000}},
		{1001, 0, []int{1000, 1}},
		{2047, 0, []int{1000, 1000, 47}},
		{5000, 0, nil}, // the writer wakes early at 2048 and 4096
	} {
		t.Run(fmt.Sprintf("%d-%s", tc.n, tc.retention), func(t *testing.T) {
			sink := &fakeSink{}
			w := NewWriter(sink, Options{Retention: tc.retention, FlushEvery: time.Hour})
			for i := range tc.n {
				w.Add(rec(fmt.Sprint(i)))
			}
			if err := w.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			closeWriter(t, w)
			sink.check(t)

			if tc.want != nil && !slices.Equal(sink.sizes, tc.want) {
				t.Errorf("chunk sizes %v, want %v", sink.sizes, tc.want)
			}
			wantTTL := tc.retention
			if wantTTL == 0 {
				wantTTL = 720 * time.Hour
			}
			for _, ttl := range sink.ttls {
				if ttl != wantTTL {
					t.Fatalf("ttl %v, want %v", ttl, wantTTL)
				}
			}
			got := sink.stored()
			if len(got) != tc.n {
				t.Fatalf("stored %d, want %d", len(got), tc.n)
			}
			for i, r := range got {
				if r.Operation != fmt.Sprint(i) {
					t.Fatalf("record %d is %q: out of order", i, r.Operation)
				}
			}
			if s := w.Stats(); s != (Stats{Written: uint64(tc.n)}) {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

// TestWriterExactlyOnce: 8 goroutines add 10,000 records while the writer
// flushes every millisecond and someone else calls Flush in a loop; after
// Close the sink holds each record exactly once.
func TestWriterExactlyOnce(t *testing.T) {
	const goroutines, each = 8, 1250
	sink := &fakeSink{}
	w := NewWriter(sink, Options{FlushEvery: time.Millisecond})

	stop := make(chan struct{})
	flusher := make(chan struct{})
	go func() {
		defer close(flusher)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := w.Flush(context.Background()); err != nil {
				t.Error(err)
			}
		}
	}()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				w.Add(rec(fmt.Sprintf("%d/%d", g, i)))
			}
		})
	}
	wg.Wait()
	close(stop)
	<-flusher
	closeWriter(t, w)
	sink.check(t)

	got := sink.stored()
	markers := map[string]int{}
	ids := map[string]int{}
	for _, r := range got {
		markers[r.Operation]++
		ids[r.ID]++
	}
	if len(got) != goroutines*each || len(markers) != goroutines*each || len(ids) != goroutines*each {
		t.Fatalf("stored %d records, %d distinct markers, %d distinct IDs; want %d of each",
			len(got), len(markers), len(ids), goroutines*each)
	}
	for g := range goroutines {
		for i := range each {
			if m := fmt.Sprintf("%d/%d", g, i); markers[m] != 1 {
				t.Fatalf("record %s stored %d times", m, markers[m])
			}
		}
	}
	if s := w.Stats(); s != (Stats{Written: goroutines * each}) {
		t.Fatalf("stats %+v", s)
	}
}

// TestWriterRetry: a failed chunk and those after it are written by the
// next attempt, before the records added meanwhile, and nothing twice.
func TestWriterRetry(t *testing.T) {
	sink := &fakeSink{}
	sink.setFail(func(i int) error {
		if i == 1 {
			return errBoom
		}
		return nil
	})
	w := NewWriter(sink, Options{FlushEvery: time.Hour})
	defer closeWriter(t, w)
	for i := range 1500 {
		w.Add(rec(fmt.Sprint(i)))
	}
	err := w.Flush(context.Background())
	if !errors.Is(err, errBoom) || !strings.Contains(err.Error(), "audit: writing 500 records") {
		t.Fatalf("Flush = %v, want a wrapped errBoom", err)
	}
	if s := w.Stats(); s != (Stats{Written: 1000, Pending: 500, Failures: 1}) {
		t.Fatalf("after the failure: stats %+v", s)
	}
	for i := 1500; i < 1510; i++ {
		w.Add(rec(fmt.Sprint(i)))
	}
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if want := []int{1000, 500, 510}; !slices.Equal(sink.sizes, want) {
		t.Fatalf("chunk sizes %v, want %v", sink.sizes, want)
	}
	got := sink.stored()
	if len(got) != 1510 {
		t.Fatalf("stored %d, want 1510", len(got))
	}
	for i, r := range got {
		if r.Operation != fmt.Sprint(i) {
			t.Fatalf("record %d is %q", i, r.Operation)
		}
	}
	if s := w.Stats(); s != (Stats{Written: 1510, Failures: 1}) {
		t.Fatalf("stats %+v", s)
	}
	sink.check(t)
}

// TestWriterBackgroundRetry: the goroutine retries on its own, logs the
// failure once (without record contents) and the recovery once.
func TestWriterBackgroundRetry(t *testing.T) {
	const secret = "marker-that-must-not-be-logged"
	core, logs := observer.New(zapcore.DebugLevel)
	sink := &fakeSink{}
	sink.setFail(func(i int) error {
		if i < 3 {
			return fmt.Errorf("disk full: %w", errBoom)
		}
		return nil
	})
	w := NewWriter(sink, Options{FlushEvery: 2 * time.Millisecond, Logger: zap.New(core)})
	for range 100 {
		r := rec(secret)
		r.RequestBody = secret
		w.Add(r)
	}
	waitFor(t, "the records to be written", func() bool { return w.Stats().Written == 100 })
	closeWriter(t, w)
	sink.check(t)

	if got := sink.stored(); len(got) != 100 {
		t.Fatalf("stored %d, want 100", len(got))
	}
	if s := w.Stats(); s != (Stats{Written: 100, Failures: 3}) {
		t.Fatalf("stats %+v", s)
	}
	failed := logs.FilterMessageSnippet("not written").All()
	if len(failed) != 1 || failed[0].Level != zapcore.ErrorLevel {
		t.Fatalf("failure logs: %+v", failed)
	}
	if f := failed[0].ContextMap(); !strings.Contains(fmt.Sprint(f["error"]), "disk full") || f["pending"] == int64(0) {
		t.Fatalf("failure log fields %v", f)
	}
	if n := logs.FilterMessageSnippet("recovered").Len(); n != 1 {
		t.Fatalf("%d recovery logs, want 1", n)
	}
	for _, e := range logs.All() {
		if strings.Contains(fmt.Sprint(e.Message, e.ContextMap()), secret) {
			t.Fatalf("a log holds record contents: %+v", e)
		}
	}
}

func TestWriterMaxPending(t *testing.T) {
	t.Run("new records dropped", func(t *testing.T) {
		sink := &fakeSink{}
		w := NewWriter(sink, Options{FlushEvery: time.Hour, MaxPending: 100})
		for i := range 150 {
			w.Add(rec(fmt.Sprint(i)))
		}
		if s := w.Stats(); s != (Stats{Dropped: 50, Pending: 100}) {
			t.Fatalf("stats %+v", s)
		}
		closeWriter(t, w)
		got := sink.stored()
		if len(got) != 100 || got[0].Operation != "0" || got[99].Operation != "99" {
			t.Fatalf("stored %d records, want the first 100", len(got))
		}
		if s := w.Stats(); s != (Stats{Written: 100, Dropped: 50}) {
			t.Fatalf("stats %+v", s)
		}
	})

	t.Run("while the store fails", func(t *testing.T) {
		sink := &fakeSink{}
		sink.setFail(func(int) error { return errBoom })
		w := NewWriter(sink, Options{FlushEvery: time.Hour, MaxPending: 100})
		for i := range 100 {
			w.Add(rec(fmt.Sprint(i)))
		}
		if err := w.Flush(context.Background()); !errors.Is(err, errBoom) {
			t.Fatalf("Flush = %v", err)
		}
		for i := range 5 {
			w.Add(rec(fmt.Sprint("late", i)))
		}
		if s := w.Stats(); s != (Stats{Dropped: 5, Pending: 100, Failures: 1}) {
			t.Fatalf("stats %+v", s)
		}
		sink.setFail(nil)
		closeWriter(t, w)
		got := sink.stored()
		if len(got) != 100 || got[0].Operation != "0" || got[99].Operation != "99" {
			t.Fatalf("stored %d records, want the first 100", len(got))
		}
	})

	t.Run("drops logged once a minute", func(t *testing.T) {
		core, logs := observer.New(zapcore.DebugLevel)
		sink := &fakeSink{}
		sink.setFail(func(int) error { return errBoom })
		w := NewWriter(sink, Options{FlushEvery: time.Millisecond, MaxPending: 10, Logger: zap.New(core)})
		for range 30 {
			w.Add(rec("x"))
		}
		dropLogs := func() []observer.LoggedEntry { return logs.FilterMessageSnippet("dropped").All() }
		waitFor(t, "the drop log", func() bool { return len(dropLogs()) > 0 })
		for range 30 {
			w.Add(rec("x"))
		}
		waitFor(t, "more attempts", func() bool { return w.Stats().Failures > 20 })
		sink.setFail(nil)
		closeWriter(t, w)
		got := dropLogs()
		if len(got) != 1 || got[0].Level != zapcore.ErrorLevel {
			t.Fatalf("drop logs: %+v", got)
		}
		// Normally 20; fewer if a tick came in the middle of the first Adds.
		if f := got[0].ContextMap(); f["dropped"] == uint64(0) || f["dropped"].(uint64) > 20 || f["max_pending"] != int64(10) {
			t.Fatalf("drop log fields %v", f)
		}
		if s := w.Stats(); s.Dropped != 50 || s.Written != 10 {
			t.Fatalf("stats %+v", s)
		}
	})
}

func TestWriterClose(t *testing.T) {
	sink := &fakeSink{}
	w := NewWriter(sink, Options{FlushEvery: time.Hour})
	w.Add(rec("before"))
	closeWriter(t, w)
	w.Add(rec("after"))
	closeWriter(t, w) // idempotent
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := sink.stored()
	if len(got) != 1 || got[0].Operation != "before" {
		t.Fatalf("stored %+v", got)
	}
	if s := w.Stats(); s != (Stats{Written: 1, Dropped: 1}) {
		t.Fatalf("stats %+v", s)
	}
}

func TestWriterCloseError(t *testing.T) {
	sink := &fakeSink{}
	sink.setFail(func(int) error { return errBoom })
	w := NewWriter(sink, Options{FlushEvery: time.Hour})
	for range 3 {
		w.Add(rec("x"))
	}
	if err := w.Close(); !errors.Is(err, errBoom) {
		t.Fatalf("Close = %v, want errBoom", err)
	}
	if err := w.Close(); !errors.Is(err, errBoom) {
		t.Fatalf("second Close = %v, want the same error", err)
	}
	if s := w.Stats(); s.Pending != 3 {
		t.Fatalf("stats %+v", s)
	}
	sink.setFail(nil)
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := w.Stats(); s != (Stats{Written: 3, Failures: 1}) {
		t.Fatalf("stats %+v", s)
	}
}

// TestWriterIDs: IDs are set when empty, kept otherwise, unique, and
// increase in the order records are added.
func TestWriterIDs(t *testing.T) {
	sink := &fakeSink{}
	w := NewWriter(sink, Options{FlushEvery: time.Hour})
	for i := range 1500 {
		r := rec(fmt.Sprint(i))
		if i == 700 {
			r.ID = "req_preset"
		}
		w.Add(r)
	}
	closeWriter(t, w)
	got := sink.stored()
	if len(got) != 1500 {
		t.Fatalf("stored %d", len(got))
	}
	prev := ""
	for i, r := range got {
		if i == 700 {
			if r.ID != "req_preset" {
				t.Fatalf("preset ID replaced by %q", r.ID)
			}
			continue
		}
		if len(r.ID) != len("req_")+26 || !strings.HasPrefix(r.ID, storage.AuditIDPrefix+"_") {
			t.Fatalf("ID %q", r.ID)
		}
		if r.ID <= prev {
			t.Fatalf("ID %q after %q", r.ID, prev)
		}
		prev = r.ID
	}
}

func TestWriterWakesEarly(t *testing.T) {
	sink := &fakeSink{}
	w := NewWriter(sink, Options{FlushEvery: time.Hour})
	defer closeWriter(t, w)
	for range wakeEvery {
		w.Add(rec("x"))
	}
	waitFor(t, "an early write", func() bool { return w.Stats().Written == wakeEvery })
	sink.check(t)
}

// TestWriterFlushContext: Flush waiting behind a write in progress gives up
// with its context; the write in progress is not disturbed.
func TestWriterFlushContext(t *testing.T) {
	sink := &fakeSink{block: make(chan struct{}), entered: make(chan struct{}, 1)}
	w := NewWriter(sink, Options{FlushEvery: time.Hour})
	w.Add(rec("x"))
	first := make(chan error, 1)
	go func() { first <- w.Flush(context.Background()) }()
	<-sink.entered

	w.Add(rec("y"))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := w.Flush(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Flush = %v, want DeadlineExceeded", err)
	}
	if s := w.Stats(); s.Pending != 2 {
		t.Fatalf("stats %+v", s)
	}
	sink.block <- struct{}{}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	go func() {
		<-sink.entered
		sink.block <- struct{}{}
	}()
	closeWriter(t, w)
	if got := sink.stored(); len(got) != 2 {
		t.Fatalf("stored %d, want 2", len(got))
	}
	sink.check(t)
}
