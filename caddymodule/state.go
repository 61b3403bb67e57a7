package caddymodule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/admin"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/audit"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/auth"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/cache"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/health"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/limits"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/pricing"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/seal"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/storage"
)

// states holds one state per storage directory, shared by every config
// that uses the directory, so reloads and overlapping configs share one
// open database. A state is destroyed (its database closed) when the last
// user lets go.
var states = caddy.NewUsagePool()

// state is the process-wide, reload-surviving part of the gateway for one
// storage directory: the Badger store (opened on first use), the token
// verifier and its cache, and the decrypted provider keys.
type state struct {
	dir string
	log *zap.Logger

	mu     sync.Mutex
	db     *storage.Badger
	stop   chan struct{}
	closed chan struct{}

	verifier *auth.Verifier
	sealer   atomic.Pointer[seal.Sealer]

	keysMu sync.Mutex
	keys   map[string][]openKey // provider -> stored keys, by priority

	// limits holds rate-limit state and spend; settled spend is written
	// to the store by one writer, every spendEvery.
	limits *limits.Engine
	// pending holds spend a failed write could not store, for the next
	// attempt (only the writer goroutine touches it).
	pending []storage.SpendDelta
	// prices are the pricing overrides stored through the admin API.
	prices atomic.Pointer[map[string]pricing.Price]
	// pricesGen counts changes to prices, so handlers rebuild their tables.
	pricesGen atomic.Uint64

	// audit writes audit records in batches; auditOn and retention are
	// the settings of the config that started last.
	audit     *audit.Writer
	auditOn   atomic.Bool
	retention atomic.Int64 // time.Duration
	// usage accumulates usage totals, written by the single writer with
	// the spend; usageMu makes a drain-and-write atomic for readers.
	usage        *audit.Usage
	usageMu      sync.Mutex
	pendingUsage []storage.UsageDelta
	// cache is the response cache shared by every handler using the
	// directory, so reloads keep it warm.
	cache *cache.Cache
	// health holds the targets' circuits, shared by every handler and kept
	// across reloads.
	health *health.Tracker
}

// spendEvery is how often settled spend is written: a kill -9 loses at
// most the spend settled in the last interval.
const spendEvery = time.Second

// openKey is a stored provider key, unsealed.
type openKey struct {
	id, key, baseURL string
	priority         int
}

// acquireState returns the state of dir, creating it (without opening the
// database) when no one holds it. Each call must be paired with
// releaseState.
func acquireState(dir string, log *zap.Logger) (*state, error) {
	v, _, err := states.LoadOrNew(dir, func() (caddy.Destructor, error) {
		s := &state{dir: dir, log: log, keys: map[string][]openKey{}, limits: limits.New(limits.Options{}), usage: audit.NewUsage()}
		s.verifier = auth.NewVerifier(lookup{s}, 0)
		s.auditOn.Store(true)
		s.retention.Store(int64(DefaultAuditRetention))
		s.audit = audit.NewWriter(auditSink{s}, audit.Options{Logger: log})
		s.cache = cache.New(cacheBackend{s}, cache.Options{Logger: log})
		s.health = health.New(health.Options{OnChange: observeCircuit})
		return s, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*state), nil
}

func releaseState(dir string) {
	if _, err := states.Delete(dir); err != nil {
		// Delete only fails when the destructor does: the database did not
		// close cleanly. Nothing more can be done; say so.
		zap.L().Error("closing llm_gateway storage", zap.String("dir", dir), zap.Error(err))
	}
}

// lastUsedEvery is how often token last-used times are written.
const lastUsedEvery = 10 * time.Second

// Store opens the database on first use and returns it.
func (s *state) Store(context.Context) (storage.Store, error) {
	return s.open()
}

func (s *state) open() (*storage.Badger, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db != nil {
		return s.db, nil
	}
	db, err := storage.Open(s.dir, storage.Options{Logger: s.log})
	if err != nil {
		return nil, err
	}
	if err := s.loadSpend(db); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.loadPrices(db); err != nil {
		db.Close()
		return nil, err
	}
	s.db = db
	s.stop, s.closed = make(chan struct{}), make(chan struct{})
	go s.flushLastUsed()
	s.log.Info("llm_gateway storage opened", zap.String("dir", s.dir))
	return db, nil
}

// flushLastUsed is the single writer of written-behind data: settled
// spend every second, token last-used times every 10 s.
func (s *state) flushLastUsed() {
	defer close(s.closed)
	spend := time.NewTicker(spendEvery)
	defer spend.Stop()
	used := time.NewTicker(lastUsedEvery)
	defer used.Stop()
	for {
		select {
		case <-spend.C:
			s.writeSpend()
			s.writeUsage()
		case <-used.C:
			if err := s.verifier.FlushLastUsed(context.Background()); err != nil {
				s.log.Warn("writing token last-used times", zap.Error(err))
			}
		case <-s.stop:
			s.writeSpend()
			s.writeUsage()
			return
		}
	}
}

// writeSpend persists the spend settled since the last call.
func (s *state) writeSpend() {
	deltas := s.limits.Drain()
	s.mu.Lock()
	db := s.db
	s.mu.Unlock()
	if db == nil {
		return
	}
	if len(deltas) > 0 {
		batch := make([]storage.SpendDelta, 0, len(deltas))
		for _, d := range deltas {
			batch = append(batch, storage.SpendDelta{Key: d.Key, Window: d.Window, Start: d.Start, Amount: d.Amount})
		}
		s.pending = append(s.pending, batch...)
	}
	if len(s.pending) == 0 {
		return
	}
	if err := db.AddSpend(context.Background(), s.pending); err != nil {
		s.log.Error("writing settled spend; retrying next second", zap.Int("deltas", len(s.pending)), zap.Error(err))
		return
	}
	s.pending = s.pending[:0]
}

// writeUsage persists the usage totals accumulated since the last call.
func (s *state) writeUsage() {
	s.usageMu.Lock()
	defer s.usageMu.Unlock()
	s.pendingUsage = append(s.pendingUsage, s.usage.Drain()...)
	s.mu.Lock()
	db := s.db
	s.mu.Unlock()
	if db == nil || len(s.pendingUsage) == 0 {
		return
	}
	if err := db.AddUsage(context.Background(), s.pendingUsage); err != nil {
		if errors.Is(err, storage.ErrInvalid) {
			// Cannot happen (the accumulator makes valid deltas); retrying
			// would fail forever.
			s.log.Error("dropping invalid usage totals", zap.Int("deltas", len(s.pendingUsage)), zap.Error(err))
			s.pendingUsage = s.pendingUsage[:0]
			return
		}
		s.log.Error("writing usage totals; retrying next second", zap.Int("deltas", len(s.pendingUsage)), zap.Error(err))
		return
	}
	s.pendingUsage = s.pendingUsage[:0]
}

// Usage returns a scope's usage per window starting in [from, to): what
// is stored plus what is accumulated and not yet written.
func (s *state) Usage(ctx context.Context, scope, window string, from, to time.Time) ([]storage.UsageTotal, error) {
	db, err := s.open()
	if err != nil {
		return nil, err
	}
	s.usageMu.Lock()
	defer s.usageMu.Unlock()
	stored, err := db.UsageHistory(ctx, scope, window, from, to)
	if err != nil {
		return nil, err
	}
	byStart := make(map[int64]int, len(stored))
	for i, t := range stored {
		byStart[t.Start.Unix()] = i
	}
	add := func(start time.Time, u storage.Usage) {
		if u == (storage.Usage{}) || start.Before(windowStart(window, from)) || !start.Before(to) {
			return
		}
		i, ok := byStart[start.Unix()]
		if !ok {
			stored = append(stored, storage.UsageTotal{Start: start.UTC()})
			i = len(stored) - 1
			byStart[start.Unix()] = i
		}
		t := &stored[i].Usage
		t.Requests += u.Requests
		t.InputTokens += u.InputTokens
		t.OutputTokens += u.OutputTokens
		t.CachedTokens += u.CachedTokens
		t.CacheHits += u.CacheHits
		t.SpendMicroUSD += u.SpendMicroUSD
	}
	for _, d := range s.pendingUsage {
		if d.Key == scope && d.Window == window {
			add(d.Start, d.Usage)
		}
	}
	// The accumulator holds at most the current and previous windows.
	now := time.Now().UTC()
	for _, start := range []time.Time{windowStart(window, now), windowStart(window, windowStart(window, now).Add(-time.Nanosecond))} {
		add(start, s.usage.Pending(scope, window, start))
	}
	sort.Slice(stored, func(i, j int) bool { return stored[i].Start.Before(stored[j].Start) })
	return stored, nil
}

// windowStart is the start of the UTC day or month holding t.
func windowStart(window string, t time.Time) time.Time {
	t = t.UTC()
	if window == storage.WindowMonth {
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// Observe takes the outcome of one request: metrics, usage totals and the
// audit log.
func (s *state) Observe(o *gateway.Outcome) {
	observeMetrics(o)
	s.usage.Add(&o.AuditRecord)
	if s.auditOn.Load() {
		s.audit.Add(o.AuditRecord)
	}
}

// FlushAudit writes the pending audit records.
func (s *state) FlushAudit(ctx context.Context) error { return s.audit.Flush(ctx) }

// CacheStats describes the response cache.
func (s *state) CacheStats(ctx context.Context) any { return s.cache.Stats(ctx) }

// Health reports the circuit of every target requests went to.
func (s *state) Health(context.Context) any { return s.health.Snapshot() }

// PurgeCache empties the response cache.
func (s *state) PurgeCache(ctx context.Context) (int, error) { return s.cache.Purge(ctx) }

// auditSink writes audit records to the store, if it is open, with the
// retention of the config that started last.
type auditSink struct{ s *state }

func (a auditSink) AppendAudit(ctx context.Context, recs []storage.AuditRecord, _ time.Duration) error {
	a.s.mu.Lock()
	db := a.s.db
	a.s.mu.Unlock()
	if db == nil {
		return errors.New("the storage is not open")
	}
	return db.AppendAudit(ctx, recs, time.Duration(a.s.retention.Load()))
}

// cacheBackend stores cache entries in the store, opened on first use.
type cacheBackend struct{ s *state }

func (c cacheBackend) GetCache(ctx context.Context, key []byte) ([]byte, error) {
	db, err := c.s.open()
	if err != nil {
		return nil, err
	}
	return db.GetCache(ctx, key)
}

func (c cacheBackend) PutCache(ctx context.Context, key, value []byte, ttl time.Duration) error {
	db, err := c.s.open()
	if err != nil {
		return err
	}
	return db.PutCache(ctx, key, value, ttl)
}

func (c cacheBackend) PurgeCache(ctx context.Context) (int, error) {
	db, err := c.s.open()
	if err != nil {
		return 0, err
	}
	return db.PurgeCache(ctx)
}

func (c cacheBackend) CacheStats(ctx context.Context) (int, int64, error) {
	db, err := c.s.open()
	if err != nil {
		return 0, 0, err
	}
	return db.CacheStats(ctx)
}

// loadSpend seeds the limits engine with today's and this month's spend.
func (s *state) loadSpend(db *storage.Badger) error {
	now := time.Now().UTC()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	ctx := context.Background()
	days, err := db.SpendTotals(ctx, limits.WindowDay, day)
	if err != nil {
		return fmt.Errorf("loading today's spend: %w", err)
	}
	months, err := db.SpendTotals(ctx, limits.WindowMonth, month)
	if err != nil {
		return fmt.Errorf("loading this month's spend: %w", err)
	}
	for k, m := range months {
		s.limits.Load(k, day, days[k], month, m)
	}
	for k, d := range days {
		if _, ok := months[k]; !ok {
			s.limits.Load(k, day, d, month, 0)
		}
	}
	return nil
}

// loadPrices reads the pricing overrides stored through the admin API.
func (s *state) loadPrices(db *storage.Badger) error {
	doc, err := db.GetPricingOverrides(context.Background())
	if err != nil {
		return fmt.Errorf("loading pricing overrides: %w", err)
	}
	o := map[string]pricing.Price{}
	if len(doc) > 0 {
		if err := json.Unmarshal(doc, &o); err != nil {
			return fmt.Errorf("reading pricing overrides: %w", err)
		}
	}
	s.SetPrices(o)
	return nil
}

// priceTable returns the price function of a handler: list prices, the
// site's overrides, then the admin API's overrides, rebuilt only when the
// admin overrides change.
func (s *state) priceTable(site map[string]pricing.Price) func() *pricing.Table {
	type built struct {
		gen uint64
		t   *pricing.Table
	}
	var cache atomic.Pointer[built]
	return func() *pricing.Table {
		gen := s.pricesGen.Load()
		if c := cache.Load(); c != nil && c.gen == gen {
			return c.t
		}
		merged := make(map[string]pricing.Price, len(site))
		for m, p := range site {
			merged[m] = p
		}
		for m, p := range s.Prices() {
			merged[m] = p
		}
		t := pricing.Default().WithOverrides(merged)
		cache.Store(&built{gen: gen, t: t})
		return t
	}
}

// Prices returns the pricing overrides stored through the admin API.
func (s *state) Prices() map[string]pricing.Price {
	if p := s.prices.Load(); p != nil {
		return *p
	}
	return nil
}

// SetPrices replaces the stored pricing overrides in memory.
func (s *state) SetPrices(o map[string]pricing.Price) {
	s.prices.Store(&o)
	s.pricesGen.Add(1)
}

// Destruct closes the database once no config uses it any more.
func (s *state) Destruct() error {
	s.mu.Lock()
	db, stop, closed := s.db, s.stop, s.closed
	s.mu.Unlock()
	if db == nil {
		s.audit.Close()
		s.cache.Close()
		return nil
	}
	close(stop)
	<-closed
	// Before the database closes: the last audit records, queued cache
	// writes, last-used times.
	err := s.audit.Close()
	s.cache.Close()
	err = errors.Join(err, s.verifier.FlushLastUsed(context.Background()))
	s.mu.Lock()
	s.db = nil
	s.mu.Unlock()
	if cerr := db.Close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	s.log.Info("llm_gateway storage closed", zap.String("dir", s.dir))
	return err
}

// Sealer returns the sealer of the config that started last.
func (s *state) Sealer() *seal.Sealer { return s.sealer.Load() }

// TokensChanged drops every cached token, so changes apply to the next
// request.
func (s *state) TokensChanged() { s.verifier.Invalidate() }

// KeysChanged drops the unsealed provider keys.
func (s *state) KeysChanged() {
	s.keysMu.Lock()
	s.keys = map[string][]openKey{}
	s.keysMu.Unlock()
	s.verifier.Invalidate() // pinned keys live on cached services
}

// ProviderKey chooses the stored key for a request: the key the service
// pins for the provider, else the provider's preferred stored key, else ""
// (the key in the configuration).
func (s *state) ProviderKey(ctx context.Context, provider string, svc *storage.Service, usable func(id string) bool) (gateway.ProviderKey, error) {
	keys, err := s.providerKeys(ctx, provider)
	if err != nil {
		return gateway.ProviderKey{}, err
	}
	if id, ok := svc.PinnedKeys[provider]; ok {
		for _, k := range keys {
			if k.id == id {
				return gateway.ProviderKey{ID: k.id, Key: k.key, BaseURL: k.baseURL}, nil
			}
		}
		return gateway.ProviderKey{}, fmt.Errorf("service %s pins key %s of provider %q, which does not exist", svc.ID, id, provider)
	}
	return pickKey(keys, usable), nil
}

// pickKey spreads calls over the usable keys of the best priority (keys
// are sorted by priority), falling back to the next priority when none of
// a priority is usable, and to the best priority when none is usable at
// all. No stored key: the zero ProviderKey (the Caddyfile's key).
func pickKey(keys []openKey, usable func(id string) bool) gateway.ProviderKey {
	if len(keys) == 0 {
		return gateway.ProviderKey{}
	}
	for from := 0; from < len(keys); {
		to := from + 1
		for to < len(keys) && keys[to].priority == keys[from].priority {
			to++
		}
		var ok []int
		for i := from; i < to; i++ {
			if usable(keys[i].id) {
				ok = append(ok, i)
			}
		}
		if len(ok) > 0 {
			k := keys[ok[rand.IntN(len(ok))]]
			return gateway.ProviderKey{ID: k.id, Key: k.key, BaseURL: k.baseURL}
		}
		from = to
	}
	n := 1
	for n < len(keys) && keys[n].priority == keys[0].priority {
		n++
	}
	k := keys[rand.IntN(n)]
	return gateway.ProviderKey{ID: k.id, Key: k.key, BaseURL: k.baseURL}
}

func (s *state) providerKeys(ctx context.Context, provider string) ([]openKey, error) {
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	if keys, ok := s.keys[provider]; ok {
		return keys, nil
	}
	db, err := s.open()
	if err != nil {
		return nil, err
	}
	stored, err := db.ListProviderKeys(ctx, provider)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(stored, func(i, j int) bool { return stored[i].Priority < stored[j].Priority })
	keys := make([]openKey, 0, len(stored))
	for _, k := range stored {
		pt, err := s.Sealer().Open(k.Sealed, admin.KeyAAD(provider))
		if err != nil {
			return nil, fmt.Errorf("opening stored key %s of provider %q: %w", k.ID, provider, err)
		}
		keys = append(keys, openKey{id: k.ID, key: string(pt), baseURL: k.BaseURL, priority: k.Priority})
	}
	s.keys[provider] = keys
	return keys, nil
}

// lookup gives the verifier the store, opened on first use.
type lookup struct{ s *state }

func (l lookup) GetTokenByHash(ctx context.Context, h [32]byte) (*storage.Token, error) {
	db, err := l.s.open()
	if err != nil {
		return nil, err
	}
	return db.GetTokenByHash(ctx, h)
}

func (l lookup) GetService(ctx context.Context, id string) (*storage.Service, error) {
	db, err := l.s.open()
	if err != nil {
		return nil, err
	}
	return db.GetService(ctx, id)
}

func (l lookup) TouchTokens(ctx context.Context, used map[string]time.Time) error {
	l.s.mu.Lock()
	db := l.s.db
	l.s.mu.Unlock()
	if db == nil {
		return nil
	}
	return db.TouchTokens(ctx, used)
}

// Interface guards
var (
	_ caddy.Destructor = (*state)(nil)
	_ admin.Backend    = (*state)(nil)
	_ gateway.Observer = (*state)(nil)
)
