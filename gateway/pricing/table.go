package pricing

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Provider types with list prices in the embedded table, and the two that
// resolve through other rules.
const (
	ProviderOpenAI           = "openai"
	ProviderAzure            = "azure"
	ProviderAnthropic        = "anthropic"
	ProviderGemini           = "gemini"
	ProviderOpenAICompatible = "openai_compatible"
)

// Entry sources.
const (
	SourceList     = "list"
	SourceOverride = "override"
)

// OverrideProviderType is the ProviderType of an override Entry: an
// override applies to every provider type.
const OverrideProviderType = "*"

// Entry is one row of the effective price table, as listed by the admin API
// (GET /llm_gateway/pricing).
type Entry struct {
	// ProviderType is the provider type the price applies to, or "*" for an
	// override (which applies to every provider type).
	ProviderType string `json:"provider_type"`
	// Model is the model name as matched by Lookup.
	Model string `json:"model"`
	// Source is "list" (the embedded provider list price) or "override".
	Source string `json:"source"`
	// AsOf is the date the list price was read (YYYY-MM-DD); empty for
	// overrides.
	AsOf string `json:"as_of,omitempty"`
	// Price is the price.
	Price Price `json:"price"`
	// URL is the page the list price was read from; empty for overrides.
	URL string `json:"url,omitempty"`
}

// Table maps (provider type, model) to a price. It is immutable after
// construction and safe for concurrent use; WithOverrides returns a new
// table.
type Table struct {
	// list is the embedded table: provider type -> model -> row. Aliases
	// are extra keys pointing at the same row.
	list map[string]map[string]*listRow
	// rows are the canonical rows, sorted by provider type then model.
	rows []*listRow
	// overrides are operator prices by normalized model name.
	overrides map[string]Price
	// asOf is the table-wide reading date.
	asOf string
}

type listRow struct {
	providerType string
	model        string
	price        Price
	asOf         string
	url          string
}

//go:embed prices.json
var embeddedPrices []byte

var defaultTable = sync.OnceValue(func() *Table {
	t, err := parseTable(embeddedPrices)
	if err != nil {
		panic("pricing: embedded prices.json is invalid: " + err.Error())
	}
	return t
})

// Default is the embedded list-price table (prices.json). It has no
// overrides; derive a table with operator prices with WithOverrides.
func Default() *Table { return defaultTable() }

// AsOf is the date the embedded list prices were read (YYYY-MM-DD).
func (t *Table) AsOf() string { return t.asOf }

// Lookup finds the price of model as served by a provider of the given type
// ("openai", "azure", "anthropic", "gemini", "openai_compatible").
//
// Model names are matched case-insensitively, after trimming spaces and a
// leading "models/" (the Gemini API's resource prefix). Resolution, first
// match wins:
//
//  1. an override for exactly that model;
//  2. the embedded entry for that provider type and model (or alias);
//  3. for "azure", the embedded "openai" entry for that model: Azure
//     OpenAI's Global Standard token prices equal OpenAI's list prices
//     (Data Zone and Regional deployments cost more: override them);
//  4. when the model is a dated snapshot (a trailing -YYYY-MM-DD or
//     -YYYYMMDD, e.g. "gpt-4o-2024-08-06" or
//     "claude-sonnet-4-5-20250929"), steps 1 to 3 again for the base name
//     ("gpt-4o", "claude-sonnet-4-5"): an override of the base model covers
//     its snapshots unless the snapshot has a price of its own.
//
// "openai_compatible" providers (self-hosted models) and unknown provider
// types have no embedded prices: only overrides resolve for them.
//
// Lookup returns false when no price is known. Callers refuse such models
// where a budget applies; an unknown price is never free.
func (t *Table) Lookup(providerType, model string) (Price, bool) {
	name := normalizeModel(model)
	if name == "" {
		return Price{}, false
	}
	pt := strings.ToLower(strings.TrimSpace(providerType))
	if p, ok := t.lookupName(pt, name); ok {
		return p, true
	}
	if base, ok := snapshotBase(name); ok {
		return t.lookupName(pt, base)
	}
	return Price{}, false
}

func (t *Table) lookupName(pt, name string) (Price, bool) {
	if p, ok := t.overrides[name]; ok {
		return p, true
	}
	if r, ok := t.list[pt][name]; ok {
		return r.price, true
	}
	if pt == ProviderAzure {
		if r, ok := t.list[ProviderOpenAI][name]; ok {
			return r.price, true
		}
	}
	return Price{}, false
}

// WithOverrides returns a new table in which overrides (model -> price) win
// over the embedded entries for every provider type. Model names are
// normalized as in Lookup; if two keys normalize to the same name, the one
// that sorts last wins, so give each model once. Overrides
// replace (not merge with) the receiver's overrides. The map is copied; the
// receiver is unchanged. Prices are used as given: validate them with
// Price.Validate before calling (ParseUSDPerMillion already rejects
// negative and absurd values).
func (t *Table) WithOverrides(o map[string]Price) *Table {
	n := &Table{
		list:      t.list,
		rows:      t.rows,
		overrides: make(map[string]Price, len(o)),
		asOf:      t.asOf,
	}
	for _, k := range slices.Sorted(maps.Keys(o)) {
		name := normalizeModel(k)
		if name == "" {
			continue
		}
		n.overrides[name] = o[k]
	}
	return n
}

// Overrides returns a copy of the table's overrides, keyed by normalized
// model name.
func (t *Table) Overrides() map[string]Price {
	return maps.Clone(t.overrides)
}

// Entries lists the effective table, sorted by provider type then model:
// one "override" entry per override (provider type "*", which sorts
// first), then the embedded "list" entries, each with the date its price
// was read and the page it was read from. A list entry whose model has an
// override is left out, since the override is what Lookup returns for it.
// Aliases and the azure fallback are not listed.
func (t *Table) Entries() []Entry {
	out := make([]Entry, 0, len(t.overrides)+len(t.rows))
	for _, m := range slices.Sorted(maps.Keys(t.overrides)) {
		out = append(out, Entry{
			ProviderType: OverrideProviderType,
			Model:        m,
			Source:       SourceOverride,
			Price:        t.overrides[m],
		})
	}
	for _, r := range t.rows {
		if _, ok := t.overrides[r.model]; ok {
			continue
		}
		out = append(out, Entry{
			ProviderType: r.providerType,
			Model:        r.model,
			Source:       SourceList,
			AsOf:         r.asOf,
			Price:        r.price,
			URL:          r.url,
		})
	}
	return out
}

// normalizeModel lower-cases and trims a model name and drops the Gemini
// API's "models/" resource prefix.
func normalizeModel(model string) string {
	m := strings.ToLower(strings.TrimSpace(model))
	m = strings.TrimPrefix(m, "models/")
	return m
}

// snapshotBase strips a trailing dated-snapshot suffix, -YYYY-MM-DD or
// -YYYYMMDD, from a model name ("gpt-4o-2024-08-06" -> "gpt-4o"). It
// reports false when there is no such suffix or nothing before it.
func snapshotBase(name string) (string, bool) {
	// -YYYY-MM-DD
	if n := len(name); n > 11 && name[n-11] == '-' && name[n-6] == '-' && name[n-3] == '-' &&
		digits(name[n-10:n-6]) && digits(name[n-5:n-3]) && digits(name[n-2:]) {
		return name[:n-11], true
	}
	// -YYYYMMDD
	if n := len(name); n > 9 && name[n-9] == '-' && digits(name[n-8:]) {
		return name[:n-9], true
	}
	return "", false
}

func digits(s string) bool { return s != "" && allDigits(s) }

// priceFile is the layout of prices.json.
type priceFile struct {
	AsOf     string      `json:"as_of"`
	AsOfNote string      `json:"as_of_note"`
	Sources  []string    `json:"sources"`
	Notes    []string    `json:"notes"`
	Models   []priceItem `json:"models"`
}

type priceItem struct {
	Provider    string   `json:"provider"`
	Model       string   `json:"model"`
	Aliases     []string `json:"aliases"`
	Kind        string   `json:"kind"` // "chat" (default) or "embedding"
	Input       string   `json:"input"`
	Output      string   `json:"output"`
	CachedInput string   `json:"cached_input"`
	CacheWrite  string   `json:"cache_write"`
	MaxOutput   int64    `json:"max_output_tokens"`
	Source      string   `json:"source"`
	AsOf        string   `json:"as_of"`
	Note        string   `json:"note"`
}

var datePattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// listProviders are the provider types that may have embedded prices.
var listProviders = map[string]bool{
	ProviderOpenAI:    true,
	ProviderAnthropic: true,
	ProviderGemini:    true,
}

// parseTable builds a table from a prices.json document, checking every
// row: a known provider type, a normalized unique model name, exact decimal
// prices, a positive input price, a positive output price and output cap
// for chat models, an http(s) source and valid dates.
func parseTable(data []byte) (*Table, error) {
	var f priceFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if !datePattern.MatchString(f.AsOf) {
		return nil, fmt.Errorf("as_of %q is not a YYYY-MM-DD date", f.AsOf)
	}
	if len(f.Sources) == 0 {
		return nil, fmt.Errorf("no sources")
	}
	t := &Table{list: map[string]map[string]*listRow{}, asOf: f.AsOf}
	for i, it := range f.Models {
		r, err := parseItem(it, f.AsOf)
		if err != nil {
			return nil, fmt.Errorf("models[%d] (%s %s): %w", i, it.Provider, it.Model, err)
		}
		byModel := t.list[r.providerType]
		if byModel == nil {
			byModel = map[string]*listRow{}
			t.list[r.providerType] = byModel
		}
		for _, name := range append([]string{r.model}, it.Aliases...) {
			if name != normalizeModel(name) || name == "" {
				return nil, fmt.Errorf("models[%d]: name %q is not normalized (lower case, no spaces, no models/ prefix)", i, name)
			}
			if _, dup := byModel[name]; dup {
				return nil, fmt.Errorf("models[%d]: duplicate model %q for provider %q", i, name, r.providerType)
			}
			byModel[name] = r
		}
		t.rows = append(t.rows, r)
	}
	slices.SortFunc(t.rows, func(a, b *listRow) int {
		if c := strings.Compare(a.providerType, b.providerType); c != 0 {
			return c
		}
		return strings.Compare(a.model, b.model)
	})
	return t, nil
}

func parseItem(it priceItem, defaultAsOf string) (*listRow, error) {
	if !listProviders[it.Provider] {
		return nil, fmt.Errorf("provider %q cannot have list prices", it.Provider)
	}
	kind := it.Kind
	if kind == "" {
		kind = "chat"
	}
	if kind != "chat" && kind != "embedding" {
		return nil, fmt.Errorf("unknown kind %q", it.Kind)
	}
	parse := func(field, s string, optional bool) (int64, error) {
		if s == "" && optional {
			return 0, nil
		}
		v, err := ParseUSDPerMillion(s)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", field, err)
		}
		return v, nil
	}
	var p Price
	var err error
	if p.Input, err = parse("input", it.Input, false); err != nil {
		return nil, err
	}
	if p.Output, err = parse("output", it.Output, false); err != nil {
		return nil, err
	}
	if p.CachedInput, err = parse("cached_input", it.CachedInput, true); err != nil {
		return nil, err
	}
	if p.CacheWrite, err = parse("cache_write", it.CacheWrite, true); err != nil {
		return nil, err
	}
	p.MaxOutput = it.MaxOutput
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if kind == "chat" {
		if p.Output <= 0 {
			return nil, fmt.Errorf("chat model without an output price")
		}
		if p.MaxOutput <= 0 {
			return nil, fmt.Errorf("chat model without max_output_tokens")
		}
	}
	if !strings.HasPrefix(it.Source, "https://") && !strings.HasPrefix(it.Source, "http://") {
		return nil, fmt.Errorf("source %q is not a URL", it.Source)
	}
	asOf := it.AsOf
	if asOf == "" {
		asOf = defaultAsOf
	}
	if !datePattern.MatchString(asOf) {
		return nil, fmt.Errorf("as_of %q is not a YYYY-MM-DD date", asOf)
	}
	return &listRow{
		providerType: it.Provider,
		model:        it.Model,
		price:        p,
		asOf:         asOf,
		url:          it.Source,
	}, nil
}
