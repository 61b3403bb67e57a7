package admin

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/pricing"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/storage"
)

// priceJSON is a price in dollars per million tokens.
type priceJSON struct {
	InputUSD       float64 `json:"input_usd"`
	OutputUSD      float64 `json:"output_usd"`
	CachedInputUSD float64 `json:"cached_input_usd,omitempty"`
	CacheWriteUSD  float64 `json:"cache_write_usd,omitempty"`
	MaxOutput      int64   `json:"max_output_tokens,omitempty"`
}

type priceEntryJSON struct {
	ProviderType string `json:"provider_type"`
	Model        string `json:"model"`
	Source       string `json:"source"`
	AsOf         string `json:"as_of,omitempty"`
	priceJSON
}

func dollars(micro int64) float64 { return float64(micro) / 1e6 }

func priceOf(p pricing.Price) priceJSON {
	return priceJSON{InputUSD: dollars(p.Input), OutputUSD: dollars(p.Output), CachedInputUSD: dollars(p.CachedInput),
		CacheWriteUSD: dollars(p.CacheWrite), MaxOutput: p.MaxOutput}
}

func (in priceJSON) price(model string) (pricing.Price, error) {
	conv := func(field string, usd float64) (int64, error) {
		v, err := pricing.ParseUSDPerMillion(strconv.FormatFloat(usd, 'f', -1, 64))
		if err != nil {
			return 0, apiErr(http.StatusBadRequest, "overrides[%q].%s: %v", model, field, err)
		}
		return v, nil
	}
	var p pricing.Price
	var err error
	if p.Input, err = conv("input_usd", in.InputUSD); err != nil {
		return p, err
	}
	if p.Output, err = conv("output_usd", in.OutputUSD); err != nil {
		return p, err
	}
	if p.CachedInput, err = conv("cached_input_usd", in.CachedInputUSD); err != nil {
		return p, err
	}
	if p.CacheWrite, err = conv("cache_write_usd", in.CacheWriteUSD); err != nil {
		return p, err
	}
	if in.MaxOutput < 0 {
		return p, apiErr(http.StatusBadRequest, "overrides[%q].max_output_tokens must be 0 (unknown) or more", model)
	}
	p.MaxOutput = in.MaxOutput
	if p.Input == 0 && p.Output == 0 {
		return p, apiErr(http.StatusBadRequest, "overrides[%q]: a price needs input_usd or output_usd", model)
	}
	return p, nil
}

// getPricing answers the effective price table: the embedded list prices
// and the overrides stored through this API, in dollars per million tokens.
// Caddyfile `price` lines apply on top, per site.
func (a *API) getPricing(w http.ResponseWriter, r *http.Request, _ storage.Store) error {
	return writeJSON(w, http.StatusOK, a.pricingAnswer())
}

func (a *API) pricingAnswer() any {
	t := pricing.Default().WithOverrides(a.b.Prices())
	entries := t.Entries()
	data := make([]priceEntryJSON, 0, len(entries))
	for _, e := range entries {
		data = append(data, priceEntryJSON{ProviderType: e.ProviderType, Model: e.Model, Source: e.Source, AsOf: e.AsOf, priceJSON: priceOf(e.Price)})
	}
	overrides := map[string]priceJSON{}
	for m, p := range a.b.Prices() {
		overrides[m] = priceOf(p)
	}
	return map[string]any{"data": data, "next": "", "overrides": overrides}
}

// putPricing replaces the stored overrides: {"overrides": {"<model>":
// {"input_usd", "output_usd", "cached_input_usd", "cache_write_usd",
// "max_output_tokens"}}}, prices in dollars per million tokens.
func (a *API) putPricing(w http.ResponseWriter, r *http.Request, st storage.Store) error {
	var in struct {
		Overrides map[string]priceJSON `json:"overrides"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Overrides == nil {
		return apiErr(http.StatusBadRequest, "overrides is required (send {} to remove every override)")
	}
	models := make([]string, 0, len(in.Overrides))
	for m := range in.Overrides {
		models = append(models, m)
	}
	sort.Strings(models)
	out := make(map[string]pricing.Price, len(in.Overrides))
	for _, m := range models {
		if m == "" || len(m) > 256 {
			return apiErr(http.StatusBadRequest, "overrides: model names must be 1-256 characters")
		}
		p, err := in.Overrides[m].price(m)
		if err != nil {
			return err
		}
		out[m] = p
	}
	doc, err := json.Marshal(out)
	if err != nil {
		return err
	}
	if err := st.PutPricingOverrides(r.Context(), doc); err != nil {
		return err
	}
	a.b.SetPrices(out)
	return writeJSON(w, http.StatusOK, a.pricingAnswer())
}
