// Package pricing turns token usage into money.
//
// Money is integer micro-USD everywhere inside the gateway (1 USD =
// 1,000,000 micro-USD); floats never touch a price or a cost. List prices
// are quoted per million tokens, so a Price field holds micro-USD per
// million tokens: $2.50 / 1M tokens is 2_500_000, and one token at that
// price costs 2.5 micro-USD, which Cost rounds up to 3. Rounding is always
// upward, once per request, so rounding never under-bills. The known limits
// of the list prices themselves (only the lowest tier of tiered long-prompt
// prices, 1-hour cache writes billed as 5-minute ones, audio input billed as
// text) are recorded in the notes of prices.json.
//
// The package holds an embedded table of provider list prices
// (prices.json, see Default), resolves a (provider type, model) pair to a
// Price (Table.Lookup), lets operators override prices per model
// (Table.WithOverrides), and parses and formats dollar amounts exactly
// (ParseUSDPerMillion, USD).
//
// A model whose price is unknown is reported as unknown (Lookup returns
// false); callers refuse such models where a budget applies. Unknown is
// never treated as free.
package pricing

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strings"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/meter"
)

// MicroPerUSD is the number of micro-USD in one US dollar.
const MicroPerUSD = 1_000_000

// tokensPerPriceUnit is the number of tokens a Price field is quoted for.
const tokensPerPriceUnit = 1_000_000

// MaxPricePerMillion is the largest accepted price: $100,000 per million
// tokens, in micro-USD. Anything above is treated as a typo.
const MaxPricePerMillion = 100_000 * MicroPerUSD

// Price is a model's list price, in micro-USD per million tokens (so
// $2.50 / 1M tokens = 2_500_000).
//
// CachedInput and CacheWrite of 0 mean "same as Input": a model without a
// separate cache price bills those tokens at the full input rate, which can
// over-bill but never under-bills. A price field cannot therefore express
// "free"; use a tiny price instead if that is ever needed.
type Price struct {
	// Input is the price of uncached prompt tokens.
	Input int64 `json:"input"`
	// Output is the price of completion tokens, reasoning tokens included.
	Output int64 `json:"output"`
	// CachedInput is the price of prompt tokens read from the provider's
	// prompt cache; 0 = same as Input.
	CachedInput int64 `json:"cached_input"`
	// CacheWrite is the price of prompt tokens written to the provider's
	// prompt cache (Anthropic's 5-minute cache writes); 0 = same as Input.
	CacheWrite int64 `json:"cache_write"`
	// MaxOutput is the model's output cap in tokens, used for worst-case
	// reservations when a request sets no max_tokens; 0 = unknown.
	MaxOutput int64 `json:"max_output_tokens"`
}

// EffectiveCachedInput is the price applied to cached prompt tokens:
// CachedInput, or Input when CachedInput is 0.
func (p Price) EffectiveCachedInput() int64 {
	if p.CachedInput > 0 {
		return p.CachedInput
	}
	return nonNeg(p.Input)
}

// EffectiveCacheWrite is the price applied to cache-write prompt tokens:
// CacheWrite, or Input when CacheWrite is 0.
func (p Price) EffectiveCacheWrite() int64 {
	if p.CacheWrite > 0 {
		return p.CacheWrite
	}
	return nonNeg(p.Input)
}

// Cost is the price of u in micro-USD, rounded up (never under-bills).
//
// Each count is multiplied by its rate and the products are summed in
// 128-bit arithmetic before a single division by one million, so the only
// rounding is the final ceiling and no product can overflow. A result that
// does not fit in an int64 saturates at math.MaxInt64. Negative counts and
// negative prices are treated as 0. u.Estimated does not change the price.
func (p Price) Cost(u meter.Usage) int64 {
	var acc acc128
	acc.addMul(nonNeg(u.InputTokens), nonNeg(p.Input))
	acc.addMul(nonNeg(u.CachedInputTokens), p.EffectiveCachedInput())
	acc.addMul(nonNeg(u.CacheWriteTokens), p.EffectiveCacheWrite())
	acc.addMul(nonNeg(u.OutputTokens), nonNeg(p.Output))
	return acc.ceilDivMillion()
}

// WorstCase is the cost of inputTokens of input and maxOutput of output,
// rounded up; it is what a budget reserves before a request runs.
//
// Since the reservation happens before the provider says how much of the
// prompt it read from or wrote to its cache, every input token is priced at
// the highest of the input, cached-input and cache-write rates (Anthropic
// bills cache writes at 1.25x input), so the reservation is never below the
// settled cost of the same token counts. Negative counts count as 0; the
// caller chooses maxOutput (the request's max_tokens, or MaxOutput).
func (p Price) WorstCase(inputTokens, maxOutput int64) int64 {
	rate := nonNeg(p.Input)
	rate = max(rate, p.EffectiveCachedInput(), p.EffectiveCacheWrite())
	var acc acc128
	acc.addMul(nonNeg(inputTokens), rate)
	acc.addMul(nonNeg(maxOutput), nonNeg(p.Output))
	return acc.ceilDivMillion()
}

// Validate reports whether every price field is within [0, MaxPricePerMillion],
// Input is positive and MaxOutput is not negative. The admin API and the
// Caddyfile adapter use it before accepting an override.
func (p Price) Validate() error {
	fields := []struct {
		name string
		v    int64
	}{
		{"input", p.Input},
		{"output", p.Output},
		{"cached_input", p.CachedInput},
		{"cache_write", p.CacheWrite},
	}
	for _, f := range fields {
		if f.v < 0 {
			return fmt.Errorf("pricing: %s price is negative", f.name)
		}
		if f.v > MaxPricePerMillion {
			return fmt.Errorf("pricing: %s price %s per million tokens is above the $%s limit",
				f.name, USD(f.v), USD(MaxPricePerMillion))
		}
	}
	if p.Input == 0 {
		return errors.New("pricing: input price must be positive")
	}
	if p.MaxOutput < 0 {
		return errors.New("pricing: max_output_tokens is negative")
	}
	return nil
}

func nonNeg(v int64) int64 {
	if v < 0 {
		return 0
	}
	return v
}

// acc128 is an unsigned 128-bit accumulator. Four products of two values
// below 2^63 sum to less than 2^128, so it cannot overflow in Cost or
// WorstCase.
type acc128 struct{ hi, lo uint64 }

func (a *acc128) addMul(x, y int64) {
	hi, lo := bits.Mul64(uint64(x), uint64(y))
	var carry uint64
	a.lo, carry = bits.Add64(a.lo, lo, 0)
	a.hi, _ = bits.Add64(a.hi, hi, carry)
}

// ceilDivMillion is ceil(a / 1e6), saturated at math.MaxInt64.
func (a acc128) ceilDivMillion() int64 {
	const d = tokensPerPriceUnit
	if a.hi >= d { // the quotient needs more than 64 bits
		return math.MaxInt64
	}
	q, r := bits.Div64(a.hi, a.lo, d)
	if r != 0 {
		q++
		if q == 0 { // wrapped past 2^64-1
			return math.MaxInt64
		}
	}
	if q > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(q)
}

// ParseUSDPerMillion parses a decimal dollar amount per million tokens, such
// as "2.50", "0.075" or "15", into micro-USD per million tokens, exactly: the
// decimal string is parsed digit by digit, never through a float.
//
// Accepted: an optional leading "$", one or more digits, and optionally a
// "." followed by one to six digits; surrounding spaces are ignored. Zero is
// accepted (an embedding model's output price). Rejected: the empty string,
// signs (so every negative), exponents, NaN and Inf, thousands separators,
// more than six decimals (finer than one micro-USD), and values above
// $100,000 per million tokens.
func ParseUSDPerMillion(s string) (int64, error) {
	orig := s
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "$")
	if s == "" {
		return 0, fmt.Errorf("pricing: empty price %q", orig)
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" {
		return 0, fmt.Errorf("pricing: price %q has no digits before the decimal point", orig)
	}
	if hasDot && frac == "" {
		return 0, fmt.Errorf("pricing: price %q has no digits after the decimal point", orig)
	}
	if !allDigits(intPart) || !allDigits(frac) {
		return 0, fmt.Errorf("pricing: price %q is not a plain decimal dollar amount", orig)
	}
	if len(frac) > 6 {
		return 0, fmt.Errorf("pricing: price %q has more than 6 decimals (below one micro-USD)", orig)
	}
	intPart = strings.TrimLeft(intPart, "0")
	if len(intPart) > 6 { // at least $1,000,000: far above the limit
		return 0, fmt.Errorf("pricing: price %q is above the $100,000 per million tokens limit", orig)
	}
	var v int64
	for _, c := range intPart {
		v = v*10 + int64(c-'0')
	}
	v *= MicroPerUSD
	scale := int64(MicroPerUSD / 10)
	for _, c := range frac {
		v += int64(c-'0') * scale
		scale /= 10
	}
	if v > MaxPricePerMillion {
		return 0, fmt.Errorf("pricing: price %q is above the $100,000 per million tokens limit", orig)
	}
	return v, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// USD formats micro-USD as a decimal dollar string without float error:
// 1234567 is "1.234567", 2500000 is "2.50", 3 is "0.000003", -1500000 is
// "-1.50". At least two decimals are shown and trailing zeros beyond them
// are dropped, so the result always parses back exactly (ParseUSDPerMillion
// accepts every non-negative result up to its limit). There is no "$" sign.
func USD(micro int64) string {
	neg := micro < 0
	u := uint64(micro)
	if neg {
		u = -u // two's complement: correct for math.MinInt64 too
	}
	whole := u / MicroPerUSD
	frac := u % MicroPerUSD
	fs := fmt.Sprintf("%06d", frac)
	fs = strings.TrimRight(fs, "0")
	for len(fs) < 2 {
		fs += "0"
	}
	sign := ""
	if neg {
		sign = "-"
	}
	return fmt.Sprintf("%s%d.%s", sign, whole, fs)
}
