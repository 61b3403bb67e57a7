package pricing

import (
	"math"
	"math/big"
	"testing"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/meter"
)

// refWorstCase is WorstCase computed with math/big: every input token at
// the highest of the three input rates, ceil(sum/1e6), saturated at
// math.MaxInt64, negatives clamped to 0.
func refWorstCase(p Price, inputTokens, maxOutput int64) int64 {
	rate := max(p.Input, 0)
	for _, r := range []int64{p.CachedInput, p.CacheWrite} {
		if r <= 0 {
			r = max(p.Input, 0)
		}
		rate = max(rate, r)
	}
	return refCost(Price{Input: rate, Output: p.Output}, meter.Usage{InputTokens: inputTokens, OutputTokens: maxOutput})
}

// checkUSD checks that USD(micro) is exactly micro micro-USD: parsed as a
// decimal (math/big, no float), it gives micro back.
func checkUSD(t *testing.T, micro int64) {
	t.Helper()
	s := USD(micro)
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		t.Fatalf("USD(%d) = %q is not a decimal", micro, s)
	}
	r.Mul(r, big.NewRat(MicroPerUSD, 1))
	if !r.IsInt() || !r.Num().IsInt64() || r.Num().Int64() != micro {
		t.Fatalf("USD(%d) = %q, which is %s micro-USD", micro, s, r.RatString())
	}
}

// FuzzCost checks that Cost and WorstCase are never negative, never
// overflow (they match math/big references, which saturate at
// math.MaxInt64), are monotonic in each token count, that Cost never
// exceeds the worst-case reservation for the same token counts, and that
// both format exactly as dollars. (Costs are integers: there is no NaN or
// Inf to check; the policies' float64 dollars are made from them.)
func FuzzCost(f *testing.F) {
	f.Add(int64(2_500_000), int64(10_000_000), int64(1_250_000), int64(0), int64(1), int64(0), int64(0), int64(1))
	f.Add(int64(3_000_000), int64(15_000_000), int64(300_000), int64(3_750_000), int64(1000), int64(20_000), int64(500), int64(800))
	f.Add(int64(MaxPricePerMillion), int64(MaxPricePerMillion), int64(0), int64(0), int64(math.MaxInt64), int64(math.MaxInt64), int64(math.MaxInt64), int64(math.MaxInt64))
	f.Add(int64(-1), int64(-1), int64(-1), int64(-1), int64(-1), int64(-1), int64(-1), int64(-1))
	f.Add(int64(1), int64(1), int64(1), int64(1), int64(999_999), int64(0), int64(0), int64(0))
	f.Add(int64(1), int64(-5), int64(MaxPricePerMillion), int64(-1), int64(math.MaxInt64/2), int64(math.MaxInt64/2), int64(3), int64(math.MinInt64))
	f.Add(int64(math.MaxInt64), int64(math.MaxInt64), int64(math.MaxInt64), int64(math.MaxInt64), int64(math.MaxInt64), int64(math.MaxInt64), int64(math.MaxInt64), int64(math.MaxInt64))
	f.Fuzz(func(t *testing.T, in, out, cached, write, nIn, nCached, nWrite, nOut int64) {
		p := Price{Input: in, Output: out, CachedInput: cached, CacheWrite: write}
		u := meter.Usage{InputTokens: nIn, CachedInputTokens: nCached, CacheWriteTokens: nWrite, OutputTokens: nOut}
		c := p.Cost(u)
		if c < 0 {
			t.Fatalf("Cost(%+v, %+v) = %d < 0", p, u, c)
		}
		if ref := refCost(p, u); c != ref {
			t.Fatalf("Cost(%+v, %+v) = %d, math/big reference %d", p, u, c, ref)
		}
		checkUSD(t, c)
		if usd := float64(c) / 1e6; math.IsNaN(usd) || math.IsInf(usd, 0) || usd < 0 {
			t.Fatalf("Cost %d is %v dollars", c, usd)
		}
		w := p.WorstCase(nIn, nOut)
		if w < 0 {
			t.Fatalf("WorstCase(%+v, %d, %d) = %d < 0", p, nIn, nOut, w)
		}
		if ref := refWorstCase(p, nIn, nOut); w != ref {
			t.Fatalf("WorstCase(%+v, %d, %d) = %d, math/big reference %d", p, nIn, nOut, w, ref)
		}
		checkUSD(t, w)
		// Monotonic: adding tokens to any one count never lowers the cost.
		bump := func(v int64) int64 {
			if v < 0 {
				return 1
			}
			if v > math.MaxInt64-1000 {
				return math.MaxInt64
			}
			return v + 1000
		}
		for i, more := range []meter.Usage{
			{InputTokens: bump(nIn), CachedInputTokens: nCached, CacheWriteTokens: nWrite, OutputTokens: nOut},
			{InputTokens: nIn, CachedInputTokens: bump(nCached), CacheWriteTokens: nWrite, OutputTokens: nOut},
			{InputTokens: nIn, CachedInputTokens: nCached, CacheWriteTokens: bump(nWrite), OutputTokens: nOut},
			{InputTokens: nIn, CachedInputTokens: nCached, CacheWriteTokens: nWrite, OutputTokens: bump(nOut)},
		} {
			if c2 := p.Cost(more); c2 < c {
				t.Fatalf("count %d: Cost went down from %d to %d when adding tokens (%+v -> %+v)", i, c, c2, u, more)
			}
		}
		if w2 := p.WorstCase(bump(nIn), nOut); w2 < w {
			t.Fatalf("WorstCase went down from %d to %d with more input tokens", w, w2)
		}
		if w2 := p.WorstCase(nIn, bump(nOut)); w2 < w {
			t.Fatalf("WorstCase went down from %d to %d with more output tokens", w, w2)
		}
		// The reservation for the same prompt and output covers the cost.
		total := int64(0)
		for _, n := range []int64{nIn, nCached, nWrite} {
			n = max(n, 0)
			if total > math.MaxInt64-n {
				return // the caller could not express this prompt size either
			}
			total += n
		}
		if w := p.WorstCase(total, nOut); w < c {
			t.Fatalf("WorstCase(%d, %d) = %d below Cost = %d for %+v", total, nOut, w, c, p)
		}
	})
}

// FuzzParseUSDPerMillion checks that parsing never panics, accepted values
// are within [0, MaxPricePerMillion], and accepted values round-trip
// through USD.
func FuzzParseUSDPerMillion(f *testing.F) {
	for _, s := range []string{"2.50", "0.075", "15", "0", "$3", " 1.5 ", "100000", "100000.000001", "-1", "1e3", "NaN", "", ".5", "1.", "1.2345678", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseUSDPerMillion(s)
		if err != nil {
			return
		}
		if v < 0 || v > MaxPricePerMillion {
			t.Fatalf("ParseUSDPerMillion(%q) = %d, out of range", s, v)
		}
		back, err := ParseUSDPerMillion(USD(v))
		if err != nil || back != v {
			t.Fatalf("round trip %q -> %d -> %q -> %d, %v", s, v, USD(v), back, err)
		}
	})
}
