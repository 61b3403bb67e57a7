package pricing

import (
	"math"
	"testing"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/meter"
)

// FuzzCost checks that Cost is never negative, matches the math/big
// reference, is monotonic in each token count, and never exceeds the
// worst-case reservation for the same token counts.
func FuzzCost(f *testing.F) {
	f.Add(int64(2_500_000), int64(10_000_000), int64(1_250_000), int64(0), int64(1), int64(0), int64(0), int64(1))
	f.Add(int64(3_000_000), int64(15_000_000), int64(300_000), int64(3_750_000), int64(1000), int64(20_000), int64(500), int64(800))
	f.Add(int64(MaxPricePerMillion), int64(MaxPricePerMillion), int64(0), int64(0), int64(math.MaxInt64), int64(math.MaxInt64), int64(math.MaxInt64), int64(math.MaxInt64))
	f.Add(int64(-1), int64(-1), int64(-1), int64(-1), int64(-1), int64(-1), int64(-1), int64(-1))
	f.Add(int64(1), int64(1), int64(1), int64(1), int64(999_999), int64(0), int64(0), int64(0))
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
