package health

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestCircuit(t *testing.T) {
	clk := &clock{t: time.Unix(1000, 0)}
	tr := New(Options{Threshold: 3, Cooldown: 10 * time.Second, Now: clk.now})
	k := Key("openai", "gpt-4o")
	steps := []struct {
		do    func()
		allow bool
		state State
	}{
		{func() { tr.Allow(k) }, true, Closed},
		{func() { tr.Failure(k, "503") }, true, Closed},
		{func() { tr.Failure(k, "503") }, true, Closed},
		{func() { tr.Success(k) }, true, Closed}, // a success resets the count
		{func() { tr.Failure(k, "503"); tr.Failure(k, "503") }, true, Closed},
		{func() { tr.Failure(k, "reset") }, false, Open}, // the third in a row opens it
		{func() { clk.advance(9 * time.Second) }, false, Open},
		{func() { clk.advance(time.Second) }, true, HalfOpen}, // cooldown over: one probe
	}
	for i, s := range steps {
		s.do()
		h := tr.Snapshot()[0]
		if h.State != s.state {
			t.Fatalf("step %d: state %s, want %s", i, h.State, s.state)
		}
		if got := tr.Allow(k); got != s.allow {
			t.Fatalf("step %d: Allow = %v, want %v", i, got, s.allow)
		}
	}
	// The probe is in flight: nobody else gets through.
	if tr.Allow(k) {
		t.Fatal("a second probe was let through")
	}
	tr.Failure(k, "503") // the probe failed: open again
	if tr.Allow(k) {
		t.Fatal("a failed probe did not reopen the circuit")
	}
	clk.advance(10 * time.Second)
	if !tr.Allow(k) {
		t.Fatal("no probe after the second cooldown")
	}
	tr.Success(k)
	h := tr.Snapshot()[0]
	if h.State != Closed || h.ConsecutiveFailures != 0 || h.Failures != 6 || h.Successes != 2 || h.LastError != "503" {
		t.Fatalf("after a good probe: %+v", h)
	}
	// A probe whose client left gives its turn back.
	for range 3 {
		tr.Failure(k, "x")
	}
	clk.advance(10 * time.Second)
	if !tr.Allow(k) {
		t.Fatal("no probe")
	}
	tr.Release(k)
	if !tr.Allow(k) {
		t.Fatal("a released probe was not given back")
	}
}

// TestOneProbeAtATime: when a circuit is half-open, concurrent requests
// let exactly one through.
func TestOneProbeAtATime(t *testing.T) {
	clk := &clock{t: time.Unix(1000, 0)}
	tr := New(Options{Threshold: 1, Cooldown: time.Second, Now: clk.now})
	tr.Failure("p/m", "x")
	clk.advance(time.Second)
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			if tr.Allow("p/m") {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if allowed.Load() != 1 {
		t.Fatalf("%d probes let through", allowed.Load())
	}
}

// TestMaxTargets: a tracker holds a bounded number of targets; the others
// are always allowed and not reported.
func TestMaxTargets(t *testing.T) {
	tr := New(Options{Threshold: 1, MaxTargets: 2})
	for _, k := range []string{"p/a", "p/b", "p/c"} {
		tr.Failure(k, "x")
	}
	if tr.Allow("p/a") || !tr.Allow("p/c") || len(tr.Snapshot()) != 2 {
		t.Fatalf("snapshot %+v", tr.Snapshot())
	}
}

// TestOnChange: every change of state is reported, once.
func TestOnChange(t *testing.T) {
	clk := &clock{t: time.Unix(1000, 0)}
	var got []string
	tr := New(Options{Threshold: 2, Cooldown: time.Second, Now: clk.now,
		OnChange: func(p, m string, s State) { got = append(got, p+"/"+m+":"+string(s)) }})
	tr.Failure("p/m", "x")
	tr.Failure("p/m", "x")
	tr.Allow("p/m")
	clk.advance(time.Second)
	tr.Allow("p/m")
	tr.Success("p/m")
	tr.Success("p/m")
	want := "p/m:open p/m:half_open p/m:closed"
	if s := strings.Join(got, " "); s != want {
		t.Fatalf("changes %q, want %q", s, want)
	}
}
