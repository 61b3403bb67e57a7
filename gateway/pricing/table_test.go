package pricing

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/meter"
)

// TestEmbeddedPricesFile checks prices.json itself, independently of the
// loader: it parses, carries as_of and sources, and every entry has a
// source, a positive input price, an output price (except embeddings) and
// an output cap for chat models.
func TestEmbeddedPricesFile(t *testing.T) {
	var f priceFile
	dec := json.NewDecoder(bytes.NewReader(embeddedPrices))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("prices.json does not parse: %v", err)
	}
	if !regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`).MatchString(f.AsOf) {
		t.Errorf("as_of = %q, want a YYYY-MM-DD date", f.AsOf)
	}
	if f.AsOfNote == "" {
		t.Error("as_of_note is empty")
	}
	if len(f.Sources) == 0 {
		t.Error("sources is empty")
	}
	for _, s := range f.Sources {
		if !strings.HasPrefix(s, "https://") {
			t.Errorf("source %q is not an https URL", s)
		}
	}
	if len(f.Models) < 30 {
		t.Errorf("only %d models", len(f.Models))
	}
	for _, m := range f.Models {
		name := m.Provider + " " + m.Model
		in, err := ParseUSDPerMillion(m.Input)
		if err != nil || in <= 0 {
			t.Errorf("%s: input %q: %d, %v; want a positive price", name, m.Input, in, err)
		}
		out, err := ParseUSDPerMillion(m.Output)
		if err != nil {
			t.Errorf("%s: output %q: %v", name, m.Output, err)
		}
		switch m.Kind {
		case "embedding":
			if out != 0 {
				t.Errorf("%s: embedding with output price %d", name, out)
			}
		case "", "chat":
			if out <= 0 {
				t.Errorf("%s: chat model with output price %d", name, out)
			}
			if m.MaxOutput <= 0 {
				t.Errorf("%s: chat model without max_output_tokens", name)
			}
		default:
			t.Errorf("%s: unknown kind %q", name, m.Kind)
		}
		if !strings.HasPrefix(m.Source, "https://") {
			t.Errorf("%s: source %q is not an https URL", name, m.Source)
		}
		if m.Provider == ProviderAnthropic && m.CacheWrite == "" {
			t.Errorf("%s: Anthropic model without a cache-write price", name)
		}
		for _, opt := range []string{m.CachedInput, m.CacheWrite} {
			if opt == "" {
				continue
			}
			if v, err := ParseUSDPerMillion(opt); err != nil || v <= 0 {
				t.Errorf("%s: cache price %q: %d, %v", name, opt, v, err)
			}
		}
	}
	// The loader accepts the file too.
	if _, err := parseTable(embeddedPrices); err != nil {
		t.Fatalf("parseTable(prices.json): %v", err)
	}
}

// TestEmbeddedCoverage pins the models the gateway is expected to price out
// of the box, so that none disappears from the table unnoticed.
func TestEmbeddedCoverage(t *testing.T) {
	want := map[string][]string{
		ProviderOpenAI: {
			"gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano",
			"o1", "o3", "o3-mini", "o4-mini", "gpt-5", "gpt-5-mini", "gpt-5-nano",
			"gpt-5.1", "gpt-5.4", "gpt-5.4-mini", "gpt-5.5",
			"text-embedding-3-small", "text-embedding-3-large", "text-embedding-ada-002",
		},
		ProviderAnthropic: {
			"claude-opus-4-1", "claude-opus-4", "claude-sonnet-4-5", "claude-sonnet-4",
			"claude-3-7-sonnet", "claude-haiku-4-5", "claude-3-haiku",
			"claude-opus-4-5", "claude-opus-4-6", "claude-opus-4-7", "claude-opus-4-8",
			"claude-opus-5", "claude-opus-5-5", "claude-sonnet-4-6", "claude-sonnet-5",
			"claude-sonnet-5-5", "claude-haiku-5-5", "claude-fable-5", "claude-fable-5-1",
		},
		ProviderGemini: {"gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-2.0-flash"},
	}
	tab := Default()
	for pt, models := range want {
		for _, m := range models {
			if _, ok := tab.Lookup(pt, m); !ok {
				t.Errorf("Default().Lookup(%q, %q): no price", pt, m)
			}
		}
	}
}

func TestEmbeddedSpotPrices(t *testing.T) {
	tab := Default()
	tests := []struct {
		pt, model string
		want      Price
	}{
		{ProviderOpenAI, "gpt-4o", Price{Input: 2_500_000, Output: 10_000_000, CachedInput: 1_250_000, MaxOutput: 16_384}},
		{ProviderOpenAI, "gpt-5-nano", Price{Input: 50_000, Output: 400_000, CachedInput: 5_000, MaxOutput: 128_000}},
		{ProviderOpenAI, "text-embedding-3-small", Price{Input: 20_000}},
		{ProviderAnthropic, "claude-sonnet-4-5", Price{Input: 3_000_000, Output: 15_000_000, CachedInput: 300_000, CacheWrite: 3_750_000, MaxOutput: 64_000}},
		{ProviderAnthropic, "claude-opus-4-1", Price{Input: 15_000_000, Output: 75_000_000, CachedInput: 1_500_000, CacheWrite: 18_750_000, MaxOutput: 32_000}},
		{ProviderGemini, "gemini-2.5-pro", Price{Input: 1_250_000, Output: 10_000_000, MaxOutput: 65_535}},
	}
	for _, tt := range tests {
		got, ok := tab.Lookup(tt.pt, tt.model)
		if !ok || got != tt.want {
			t.Errorf("Lookup(%q, %q) = %+v, %v; want %+v", tt.pt, tt.model, got, ok, tt.want)
		}
	}
	// Anthropic's 5-minute cache writes are 1.25x input on every Claude row
	// read from the price list, except Claude 3 Haiku's historical $0.30
	// (1.2x, as Anthropic listed it).
	for _, e := range tab.Entries() {
		if e.ProviderType != ProviderAnthropic || e.Model == "claude-3-haiku" {
			continue
		}
		if e.Price.CacheWrite*4 != e.Price.Input*5 {
			t.Errorf("%s: cache write %s is not 1.25 x input %s", e.Model, USD(e.Price.CacheWrite), USD(e.Price.Input))
		}
	}
}

// testTable is a small table with known rows, including a dated snapshot
// with its own price, for resolution-order tests.
func testTable(t *testing.T) *Table {
	t.Helper()
	const doc = `{
	  "as_of": "2026-01-02",
	  "as_of_note": "test",
	  "sources": ["https://example.com/prices"],
	  "notes": [],
	  "models": [
	    {"provider": "openai", "model": "alpha", "input": "1", "output": "2", "max_output_tokens": 100, "source": "https://example.com/alpha"},
	    {"provider": "openai", "model": "alpha-2025-01-01", "input": "5", "output": "6", "max_output_tokens": 100, "source": "https://example.com/alpha-old", "as_of": "2025-06-01"},
	    {"provider": "anthropic", "model": "beta", "aliases": ["beta-0"], "input": "3", "output": "4", "cached_input": "0.3", "cache_write": "3.75", "max_output_tokens": 200, "source": "https://example.com/beta"},
	    {"provider": "gemini", "model": "gamma", "input": "0.1", "output": "0.4", "max_output_tokens": 300, "source": "https://example.com/gamma"},
	    {"provider": "openai", "model": "emb", "kind": "embedding", "input": "0.02", "output": "0", "source": "https://example.com/emb"}
	  ]
	}`
	tab, err := parseTable([]byte(doc))
	if err != nil {
		t.Fatalf("parseTable: %v", err)
	}
	return tab
}

func TestLookupResolution(t *testing.T) {
	base := testTable(t)
	alpha := Price{Input: 1_000_000, Output: 2_000_000, MaxOutput: 100}
	alphaOld := Price{Input: 5_000_000, Output: 6_000_000, MaxOutput: 100}
	beta := Price{Input: 3_000_000, Output: 4_000_000, CachedInput: 300_000, CacheWrite: 3_750_000, MaxOutput: 200}
	gamma := Price{Input: 100_000, Output: 400_000, MaxOutput: 300}
	ovAlpha := Price{Input: 7_000_000, Output: 8_000_000}
	ovLocal := Price{Input: 10_000, Output: 20_000}
	ov := base.WithOverrides(map[string]Price{"ALPHA": ovAlpha, " local-llama ": ovLocal})

	tests := []struct {
		name      string
		tab       *Table
		pt, model string
		want      Price
		ok        bool
	}{
		{"exact", base, "openai", "alpha", alpha, true},
		{"case and space insensitive", base, " OpenAI ", " Alpha ", alpha, true},
		{"exact dated entry beats its base", base, "openai", "alpha-2025-01-01", alphaOld, true},
		{"dated snapshot falls back to base", base, "openai", "alpha-2025-09-30", alpha, true},
		{"compact date snapshot", base, "anthropic", "beta-20250929", beta, true},
		{"alias", base, "anthropic", "beta-0", beta, true},
		{"alias of a dated snapshot", base, "anthropic", "beta-0-20250101", beta, true},
		{"gemini models/ prefix", base, "gemini", "models/gamma", gamma, true},
		{"azure falls back to openai", base, "azure", "alpha", alpha, true},
		{"azure dated snapshot", base, "azure", "alpha-2025-09-30", alpha, true},
		{"azure exact dated entry", base, "azure", "alpha-2025-01-01", alphaOld, true},
		{"azure does not reach anthropic", base, "azure", "beta", Price{}, false},
		{"wrong provider type", base, "anthropic", "alpha", Price{}, false},
		{"unknown model", base, "openai", "nope", Price{}, false},
		{"empty model", base, "openai", "", Price{}, false},
		{"only a date", base, "openai", "-2025-01-01", Price{}, false},
		{"openai_compatible has no list prices", base, "openai_compatible", "alpha", Price{}, false},
		{"unknown provider type has no list prices", base, "bedrock", "alpha", Price{}, false},
		{"not a date suffix", base, "openai", "alpha-123", Price{}, false},
		{"override beats exact", ov, "openai", "alpha", ovAlpha, true},
		{"override applies to every provider type", ov, "anthropic", "alpha", ovAlpha, true},
		{"override applies to azure", ov, "azure", "alpha", ovAlpha, true},
		{"override covers openai_compatible", ov, "openai_compatible", "local-llama", ovLocal, true},
		{"override of the base covers a snapshot", ov, "openai", "alpha-2025-09-30", ovAlpha, true},
		{"exact dated list entry beats an override of the base", ov, "openai", "alpha-2025-01-01", alphaOld, true},
		{"override does not leak to other models", ov, "anthropic", "beta", beta, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.tab.Lookup(tt.pt, tt.model)
			if ok != tt.ok || got != tt.want {
				t.Errorf("Lookup(%q, %q) = %+v, %v; want %+v, %v", tt.pt, tt.model, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestSnapshotBase(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"gpt-4o-2024-08-06", "gpt-4o", true},
		{"claude-sonnet-4-5-20250929", "claude-sonnet-4-5", true},
		{"claude-3-haiku-20240307", "claude-3-haiku", true},
		{"o3-2025-04-16", "o3", true},
		{"gpt-4o-mini", "", false},
		{"gemini-2.5-flash-preview-09-2025", "", false},
		{"gemini-2.0-flash-001", "", false},
		{"model-2024-8-6", "", false},
		{"2024-08-06", "", false},
		{"-20240101", "", false},
	}
	for _, tt := range tests {
		got, ok := snapshotBase(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("snapshotBase(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestWithOverridesIsACopy(t *testing.T) {
	base := testTable(t)
	o := map[string]Price{"alpha": {Input: 9, Output: 9}}
	ov := base.WithOverrides(o)
	o["alpha"] = Price{Input: 1, Output: 1}
	o["new"] = Price{Input: 1, Output: 1}
	if p, _ := ov.Lookup("openai", "alpha"); p.Input != 9 {
		t.Errorf("override changed after WithOverrides: %+v", p)
	}
	if _, ok := ov.Lookup("openai", "new"); ok {
		t.Error("an override added to the caller's map after WithOverrides is visible")
	}
	if p, _ := base.Lookup("openai", "alpha"); p.Input != 1_000_000 {
		t.Errorf("WithOverrides changed the receiver: %+v", p)
	}
	// Overrides replace, not merge.
	ov2 := ov.WithOverrides(map[string]Price{"other": {Input: 1, Output: 1}})
	if p, _ := ov2.Lookup("openai", "alpha"); p.Input != 1_000_000 {
		t.Errorf("WithOverrides merged with the previous overrides: %+v", p)
	}
	got := ov.Overrides()
	got["alpha"] = Price{}
	if p, _ := ov.Lookup("openai", "alpha"); p.Input != 9 {
		t.Error("Overrides returned the table's own map")
	}
	// Keys that normalize to the same name: the one sorting last wins.
	dup := base.WithOverrides(map[string]Price{"Alpha": {Input: 1, Output: 1}, "alpha": {Input: 2, Output: 2}})
	if p, _ := dup.Lookup("openai", "alpha"); p.Input != 2 {
		t.Errorf("duplicate normalized keys: got %+v", p)
	}
	// An empty name is ignored.
	if n := len(base.WithOverrides(map[string]Price{"  ": {Input: 1}}).Overrides()); n != 0 {
		t.Errorf("empty override name kept: %d overrides", n)
	}
}

func TestEntries(t *testing.T) {
	tab := testTable(t).WithOverrides(map[string]Price{"alpha": {Input: 7, Output: 8}, "local": {Input: 1, Output: 1}})
	got := tab.Entries()
	var keys []string
	for _, e := range got {
		keys = append(keys, e.ProviderType+"/"+e.Model+"/"+e.Source)
	}
	want := []string{
		"*/alpha/override",
		"*/local/override",
		"anthropic/beta/list",
		"gemini/gamma/list",
		// openai/alpha is overridden, so only its dated entry is listed.
		"openai/alpha-2025-01-01/list",
		"openai/emb/list",
	}
	if !slices.Equal(keys, want) {
		t.Errorf("Entries() = %v\nwant %v", keys, want)
	}
	for _, e := range got {
		switch e.Source {
		case SourceList:
			if e.AsOf == "" || e.URL == "" {
				t.Errorf("list entry %s without as_of or url: %+v", e.Model, e)
			}
		case SourceOverride:
			if e.AsOf != "" || e.URL != "" {
				t.Errorf("override entry %s with as_of or url: %+v", e.Model, e)
			}
		}
	}
	if e := got[4]; e.AsOf != "2025-06-01" {
		t.Errorf("per-entry as_of not kept: %+v", e)
	}
	if e := got[2]; e.AsOf != "2026-01-02" {
		t.Errorf("table as_of not applied: %+v", e)
	}
	// The default table lists every row once, sorted, all from the list.
	def := Default().Entries()
	if !slices.IsSortedFunc(def, func(a, b Entry) int {
		if c := strings.Compare(a.ProviderType, b.ProviderType); c != 0 {
			return c
		}
		return strings.Compare(a.Model, b.Model)
	}) {
		t.Error("Default().Entries() is not sorted by provider type then model")
	}
	for _, e := range def {
		if e.Source != SourceList || e.ProviderType == ProviderAzure || e.ProviderType == ProviderOpenAICompatible {
			t.Errorf("unexpected default entry %+v", e)
		}
	}
	b, err := json.Marshal(def[0])
	if err != nil || !strings.Contains(string(b), `"provider_type"`) || !strings.Contains(string(b), `"max_output_tokens"`) {
		t.Errorf("Entry JSON = %s, %v", b, err)
	}
}

func TestParseTableRejects(t *testing.T) {
	row := func(fields string) string {
		return `{"as_of":"2026-01-01","as_of_note":"n","sources":["https://x"],"notes":[],"models":[` + fields + `]}`
	}
	good := `{"provider":"openai","model":"m","input":"1","output":"1","max_output_tokens":1,"source":"https://x"}`
	if _, err := parseTable([]byte(row(good))); err != nil {
		t.Fatalf("good table rejected: %v", err)
	}
	bad := map[string]string{
		"not json":             `{`,
		"unknown field":        `{"as_of":"2026-01-01","sources":["https://x"],"models":[],"extra":1}`,
		"bad as_of":            `{"as_of":"Nov 2026","sources":["https://x"],"models":[]}`,
		"no sources":           `{"as_of":"2026-01-01","sources":[],"models":[]}`,
		"unknown provider":     row(`{"provider":"azure","model":"m","input":"1","output":"1","max_output_tokens":1,"source":"https://x"}`),
		"compatible provider":  row(`{"provider":"openai_compatible","model":"m","input":"1","output":"1","max_output_tokens":1,"source":"https://x"}`),
		"negative input":       row(`{"provider":"openai","model":"m","input":"-1","output":"1","max_output_tokens":1,"source":"https://x"}`),
		"zero input":           row(`{"provider":"openai","model":"m","input":"0","output":"1","max_output_tokens":1,"source":"https://x"}`),
		"missing output":       row(`{"provider":"openai","model":"m","input":"1","max_output_tokens":1,"source":"https://x"}`),
		"chat without output":  row(`{"provider":"openai","model":"m","input":"1","output":"0","max_output_tokens":1,"source":"https://x"}`),
		"chat without max out": row(`{"provider":"openai","model":"m","input":"1","output":"1","source":"https://x"}`),
		"float price":          row(`{"provider":"openai","model":"m","input":"1e-3","output":"1","max_output_tokens":1,"source":"https://x"}`),
		"bad cached":           row(`{"provider":"openai","model":"m","input":"1","output":"1","cached_input":"x","max_output_tokens":1,"source":"https://x"}`),
		"bad kind":             row(`{"provider":"openai","model":"m","kind":"image","input":"1","output":"1","max_output_tokens":1,"source":"https://x"}`),
		"no source":            row(`{"provider":"openai","model":"m","input":"1","output":"1","max_output_tokens":1}`),
		"bad entry as_of":      row(`{"provider":"openai","model":"m","input":"1","output":"1","max_output_tokens":1,"source":"https://x","as_of":"x"}`),
		"upper-case name":      row(`{"provider":"openai","model":"M","input":"1","output":"1","max_output_tokens":1,"source":"https://x"}`),
		"empty name":           row(`{"provider":"openai","model":"","input":"1","output":"1","max_output_tokens":1,"source":"https://x"}`),
		"duplicate":            row(good + "," + good),
		"alias duplicate":      row(good + `,{"provider":"openai","model":"n","aliases":["m"],"input":"1","output":"1","max_output_tokens":1,"source":"https://x"}`),
	}
	for name, doc := range bad {
		if _, err := parseTable([]byte(doc)); err == nil {
			t.Errorf("%s: parseTable accepted %s", name, doc)
		}
	}
}

// TestConcurrentUse exercises the table from many goroutines; run with
// -race.
func TestConcurrentUse(t *testing.T) {
	tab := Default()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := tab.WithOverrides(map[string]Price{"m": {Input: int64(i + 1), Output: 1}})
			for range 200 {
				p, ok := tab.Lookup(ProviderAzure, "gpt-4.1-2025-04-14")
				if !ok {
					t.Error("no price for azure gpt-4.1")
					return
				}
				_ = p.Cost(meter.Usage{InputTokens: 10, OutputTokens: 10})
				if q, ok := local.Lookup(ProviderOpenAICompatible, "m"); !ok || q.Input != int64(i+1) {
					t.Errorf("override lookup = %+v, %v", q, ok)
					return
				}
				_ = local.Entries()
			}
		}()
	}
	wg.Wait()
}
