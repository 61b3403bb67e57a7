// Package health tracks whether the gateway's targets (a provider and an
// upstream model) are answering, from the results of real requests, and
// breaks the circuit of a failing one.
//
// A target's circuit is closed while it answers. After Threshold
// consecutive failures (connection errors, timeouts, 408, 429, 5xx) it
// opens: requests skip the target for Cooldown. Then it is half-open: one
// request at a time is let through as a probe; a success closes the
// circuit, a failure opens it for another cooldown.
package health

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// State is a circuit's state.
type State string

// The circuit states.
const (
	Closed   State = "closed"    // healthy: requests go through
	Open     State = "open"      // failing: requests skip the target
	HalfOpen State = "half_open" // cooling down is over: one probe at a time
)

// Defaults.
const (
	DefaultThreshold = 5
	DefaultCooldown  = 30 * time.Second
	// DefaultMaxTargets bounds the targets a Tracker holds.
	DefaultMaxTargets = 4096
)

// Options configure a Tracker.
type Options struct {
	// Threshold is the consecutive failures that open a circuit; default
	// DefaultThreshold.
	Threshold int
	// Cooldown is how long an open circuit stays open; default
	// DefaultCooldown.
	Cooldown time.Duration
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// MaxTargets bounds the targets tracked (a family route makes every
	// requested model name a target); beyond it new targets are not
	// tracked and always allowed. Default DefaultMaxTargets.
	MaxTargets int
	// OnChange, when set, is called after a target's circuit changes
	// state (metrics). It must not call the Tracker.
	OnChange func(provider, model string, s State)
}

// Tracker holds the circuits of targets. It is safe for concurrent use.
type Tracker struct {
	opt Options
	mu  sync.Mutex
	m   map[string]*circuit
}

type circuit struct {
	state     State
	failures  int // consecutive
	openedAt  time.Time
	probing   bool // a half-open probe is in flight
	successes int64
	errors    int64
	lastError string
}

// New returns a Tracker.
func New(opt Options) *Tracker {
	if opt.Threshold <= 0 {
		opt.Threshold = DefaultThreshold
	}
	if opt.Cooldown <= 0 {
		opt.Cooldown = DefaultCooldown
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.MaxTargets <= 0 {
		opt.MaxTargets = DefaultMaxTargets
	}
	return &Tracker{opt: opt, m: map[string]*circuit{}}
}

// Key names a target.
func Key(provider, model string) string { return provider + "/" + model }

// get returns key's circuit, nil when the tracker is full.
func (t *Tracker) get(key string) *circuit {
	c, ok := t.m[key]
	if !ok {
		if len(t.m) >= t.opt.MaxTargets {
			return nil
		}
		c = &circuit{state: Closed}
		t.m[key] = c
	}
	return c
}

// changed notifies OnChange of a transition from before to the circuit's
// current state; it is called with t.mu held and returns the call to make
// once it is released.
func (t *Tracker) changed(key string, before State, c *circuit) func() {
	if t.opt.OnChange == nil || c.state == before {
		return func() {}
	}
	p, m, _ := strings.Cut(key, "/")
	s := c.state
	return func() { t.opt.OnChange(p, m, s) }
}

// Allow reports whether a request may go to the target now. A half-open
// target lets one probe through at a time; the caller must report its
// result with Success or Failure.
func (t *Tracker) Allow(key string) bool {
	t.mu.Lock()
	c := t.get(key)
	if c == nil {
		t.mu.Unlock()
		return true
	}
	before, ok := c.state, true
	switch c.state {
	case Open:
		if t.opt.Now().Sub(c.openedAt) < t.opt.Cooldown {
			ok = false
			break
		}
		c.state = HalfOpen
		fallthrough
	case HalfOpen:
		if c.probing {
			ok = false
			break
		}
		c.probing = true
	}
	notify := t.changed(key, before, c)
	t.mu.Unlock()
	notify()
	return ok
}

// Usable reports, without taking a probe, whether the target's circuit
// lets requests through (closed, or open past its cooldown).
func (t *Tracker) Usable(key string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	c, ok := t.m[key]
	return !ok || c.state != Open || t.opt.Now().Sub(c.openedAt) >= t.opt.Cooldown
}

// Success records that the target answered.
func (t *Tracker) Success(key string) {
	t.mu.Lock()
	c := t.get(key)
	if c == nil {
		t.mu.Unlock()
		return
	}
	before := c.state
	c.successes++
	c.failures, c.state, c.probing = 0, Closed, false
	notify := t.changed(key, before, c)
	t.mu.Unlock()
	notify()
}

// Failure records that the target failed; reason is a short description
// (no secrets) kept for the health report.
func (t *Tracker) Failure(key, reason string) {
	t.mu.Lock()
	c := t.get(key)
	if c == nil {
		t.mu.Unlock()
		return
	}
	before := c.state
	c.errors++
	c.failures++
	c.lastError = reason
	if c.state == HalfOpen || c.failures >= t.opt.Threshold {
		c.state, c.openedAt = Open, t.opt.Now()
	}
	c.probing = false
	notify := t.changed(key, before, c)
	t.mu.Unlock()
	notify()
}

// Release gives back a probe that got no verdict (the client left before
// the target answered).
func (t *Tracker) Release(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c, ok := t.m[key]; ok {
		c.probing = false
	}
}

// TargetHealth is one target's circuit, as reported.
type TargetHealth struct {
	Provider string `json:"provider"`
	Model    string `json:"model"`
	State    State  `json:"state"`
	// ConsecutiveFailures counts the failures since the last success.
	ConsecutiveFailures int `json:"consecutive_failures"`
	// OpenUntil is when an open circuit lets a probe through.
	OpenUntil *time.Time `json:"open_until,omitempty"`
	Successes int64      `json:"successes"`
	Failures  int64      `json:"failures"`
	LastError string     `json:"last_error,omitempty"`
}

// Snapshot reports every target seen so far, sorted by key.
func (t *Tracker) Snapshot() []TargetHealth {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]TargetHealth, 0, len(t.m))
	now := t.opt.Now()
	for key, c := range t.m {
		p, m, _ := strings.Cut(key, "/")
		h := TargetHealth{Provider: p, Model: m, State: c.state, ConsecutiveFailures: c.failures,
			Successes: c.successes, Failures: c.errors, LastError: c.lastError}
		if c.state == Open {
			until := c.openedAt.Add(t.opt.Cooldown)
			if !now.Before(until) {
				h.State = HalfOpen // a probe would be let through now
			} else {
				h.OpenUntil = &until
			}
		}
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b TargetHealth) int {
		return strings.Compare(Key(a.Provider, a.Model), Key(b.Provider, b.Model))
	})
	return out
}
