package pricing

import (
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/meter"
)

// refCost is Cost computed with math/big: ceil(sum(count*rate)/1e6),
// saturated at math.MaxInt64, negatives clamped to 0.
func refCost(p Price, u meter.Usage) int64 {
	clamp := func(v int64) int64 { return max(v, 0) }
	cached := p.CachedInput
	if cached <= 0 {
		cached = clamp(p.Input)
	}
	write := p.CacheWrite
	if write <= 0 {
		write = clamp(p.Input)
	}
	sum := new(big.Int)
	add := func(n, r int64) {
		sum.Add(sum, new(big.Int).Mul(big.NewInt(clamp(n)), big.NewInt(clamp(r))))
	}
	add(u.InputTokens, p.Input)
	add(u.CachedInputTokens, cached)
	add(u.CacheWriteTokens, write)
	add(u.OutputTokens, p.Output)
	q, r := new(big.Int).QuoRem(sum, big.NewInt(1_000_000), new(big.Int))
	if r.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	if !q.IsInt64() {
		return math.MaxInt64
	}
	return q.Int64()
}

func TestCost(t *testing.T) {
	gpt4o := Price{Input: 2_500_000, Output: 10_000_000, CachedInput: 1_250_000, MaxOutput: 16_384}
	sonnet := Price{Input: 3_000_000, Output: 15_000_000, CachedInput: 300_000, CacheWrite: 3_750_000, MaxOutput: 64_000}
	noCache := Price{Input: 2_000_000, Output: 8_000_000} // cached and cache-write billed as input
	huge := Price{Input: MaxPricePerMillion, Output: MaxPricePerMillion, CachedInput: MaxPricePerMillion, CacheWrite: MaxPricePerMillion}

	tests := []struct {
		name  string
		price Price
		usage meter.Usage
		want  int64
	}{
		{"zero usage", gpt4o, meter.Usage{}, 0},
		{"one input token rounds 2.5 up to 3", Price{Input: 2_500_000, Output: 1}, meter.Usage{InputTokens: 1}, 3},
		{"one output token at $10/M is exactly 10", gpt4o, meter.Usage{OutputTokens: 1}, 10},
		{"one million input tokens", gpt4o, meter.Usage{InputTokens: 1_000_000}, 2_500_000},
		{"rounding happens once on the sum", Price{Input: 500_000, Output: 500_000}, meter.Usage{InputTokens: 1, OutputTokens: 1}, 1},
		{"sub-micro amounts still cost 1", Price{Input: 1, Output: 1}, meter.Usage{InputTokens: 1}, 1},
		{"input, cached and output", gpt4o, meter.Usage{InputTokens: 1000, CachedInputTokens: 200, OutputTokens: 500}, 7750},
		{"cached tokens at the cached price", gpt4o, meter.Usage{CachedInputTokens: 1000}, 1250},
		{"cache writes at the cache-write price", sonnet, meter.Usage{CacheWriteTokens: 1000}, 3750},
		{"anthropic mix", sonnet, meter.Usage{InputTokens: 100, CachedInputTokens: 10_000, CacheWriteTokens: 2000, OutputTokens: 300}, 300 + 3000 + 7500 + 4500},
		{"no cached price bills cached tokens as input", noCache, meter.Usage{CachedInputTokens: 1000}, 2000},
		{"no cache-write price bills writes as input", noCache, meter.Usage{CacheWriteTokens: 1000}, 2000},
		{"negative counts are zero", gpt4o, meter.Usage{InputTokens: -5, CachedInputTokens: -1, CacheWriteTokens: -1, OutputTokens: -100}, 0},
		{"negative count does not cancel a positive one", gpt4o, meter.Usage{InputTokens: 1000, OutputTokens: -1_000_000}, 2500},
		{"negative prices are zero", Price{Input: -1, Output: -5}, meter.Usage{InputTokens: 10, OutputTokens: 10}, 0},
		{"estimated usage costs the same", gpt4o, meter.Usage{OutputTokens: 1, Estimated: true}, 10},
		{"zero price is free", Price{Input: 20_000}, meter.Usage{OutputTokens: 1000}, 0},
		{"huge counts saturate", huge, meter.Usage{InputTokens: math.MaxInt64, OutputTokens: math.MaxInt64}, math.MaxInt64},
		{"huge single count saturates", Price{Input: 2_000_000}, meter.Usage{InputTokens: math.MaxInt64}, math.MaxInt64},
		{"product overflows int64 but result fits", Price{Input: MaxPricePerMillion}, meter.Usage{InputTokens: 1 << 40}, (1 << 40) * 100_000},
		{"exactly at the int64 limit", Price{Input: 1_000_000}, meter.Usage{InputTokens: math.MaxInt64}, math.MaxInt64},
		{"all four counts at max", huge, meter.Usage{InputTokens: math.MaxInt64, CachedInputTokens: math.MaxInt64, CacheWriteTokens: math.MaxInt64, OutputTokens: math.MaxInt64}, math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.price.Cost(tt.usage)
			if got != tt.want {
				t.Errorf("Cost(%+v) = %d, want %d", tt.usage, got, tt.want)
			}
			if ref := refCost(tt.price, tt.usage); got != ref {
				t.Errorf("Cost = %d, math/big reference = %d", got, ref)
			}
		})
	}
}

func TestCostMatchesBigReferenceNearBoundaries(t *testing.T) {
	counts := []int64{0, 1, 999_999, 1_000_000, 1_000_001, 1 << 31, 1 << 40, 1 << 53, math.MaxInt64 / 100_000_000_000, math.MaxInt64 / 1_000_000, math.MaxInt64 - 1, math.MaxInt64}
	rates := []int64{0, 1, 3, 999_999, 1_000_000, 2_500_000, 75_000, MaxPricePerMillion}
	for _, n := range counts {
		for _, r := range rates {
			p := Price{Input: r, Output: r, CachedInput: r / 10, CacheWrite: r + r/4}
			for _, u := range []meter.Usage{
				{InputTokens: n},
				{OutputTokens: n},
				{CachedInputTokens: n, CacheWriteTokens: n},
				{InputTokens: n, CachedInputTokens: 7, CacheWriteTokens: 3, OutputTokens: n / 2},
			} {
				if got, want := p.Cost(u), refCost(p, u); got != want {
					t.Fatalf("Cost(%+v, %+v) = %d, want %d", p, u, got, want)
				}
			}
		}
	}
}

func TestWorstCase(t *testing.T) {
	gpt4o := Price{Input: 2_500_000, Output: 10_000_000, CachedInput: 1_250_000}
	sonnet := Price{Input: 3_000_000, Output: 15_000_000, CachedInput: 300_000, CacheWrite: 3_750_000}
	tests := []struct {
		name       string
		price      Price
		in, maxOut int64
		want       int64
	}{
		{"nothing", gpt4o, 0, 0, 0},
		{"input and output", gpt4o, 1000, 500, 2500 + 5000},
		{"rounds up", Price{Input: 2_500_000, Output: 1}, 1, 0, 3},
		{"input priced at the cache-write rate when higher", sonnet, 1000, 100, 3750 + 1500},
		{"negative counts are zero", gpt4o, -10, -10, 0},
		{"saturates", Price{Input: MaxPricePerMillion, Output: MaxPricePerMillion}, math.MaxInt64, math.MaxInt64, math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.price.WorstCase(tt.in, tt.maxOut); got != tt.want {
				t.Errorf("WorstCase(%d, %d) = %d, want %d", tt.in, tt.maxOut, got, tt.want)
			}
		})
	}
	// The reservation covers every split of the same prompt.
	for _, split := range []meter.Usage{
		{InputTokens: 1000, OutputTokens: 100},
		{CachedInputTokens: 1000, OutputTokens: 100},
		{CacheWriteTokens: 1000, OutputTokens: 100},
		{InputTokens: 300, CachedInputTokens: 300, CacheWriteTokens: 400, OutputTokens: 100},
	} {
		if c, w := sonnet.Cost(split), sonnet.WorstCase(split.TotalInput(), split.OutputTokens); c > w {
			t.Errorf("Cost(%+v) = %d above WorstCase = %d", split, c, w)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := Price{Input: 1, Output: 0, MaxOutput: 0}
	if err := ok.Validate(); err != nil {
		t.Errorf("Validate(%+v) = %v, want nil", ok, err)
	}
	bad := []Price{
		{},
		{Input: -1, Output: 1},
		{Input: 1, Output: -1},
		{Input: 1, CachedInput: -1},
		{Input: 1, CacheWrite: -1},
		{Input: MaxPricePerMillion + 1},
		{Input: 1, Output: MaxPricePerMillion + 1},
		{Input: 1, MaxOutput: -1},
	}
	for _, p := range bad {
		if err := p.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", p)
		}
	}
}

func TestParseUSDPerMillion(t *testing.T) {
	valid := []struct {
		in   string
		want int64
	}{
		{"2.50", 2_500_000},
		{"2.5", 2_500_000},
		{"0.075", 75_000},
		{"15", 15_000_000},
		{"15.00", 15_000_000},
		{"0", 0},
		{"0.0", 0},
		{"0.000001", 1},
		{"0.123456", 123_456},
		{"$3", 3_000_000},
		{" 1.5 ", 1_500_000},
		{"007.5", 7_500_000},
		{"100000", MaxPricePerMillion},
		{"100000.000000", MaxPricePerMillion},
		{"99999.999999", MaxPricePerMillion - 1},
	}
	for _, tt := range valid {
		got, err := ParseUSDPerMillion(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseUSDPerMillion(%q) = %d, %v; want %d, nil", tt.in, got, err, tt.want)
		}
	}
	invalid := []string{
		"", " ", "$", "-1", "-0.5", "$-1", "+1", "1e3", "1E3", "1.5e-3", "NaN", "nan", "Inf", "+Inf", "infinity",
		"1,000", "1 000", "1.", ".5", "1.2345678", "0.0000001", "1.2.3", "0x10", "١",
		"100000.000001", "100001", "1000000", "99999999999999999999999", "abc", "2.50 USD", "2,50",
	}
	for _, in := range invalid {
		if got, err := ParseUSDPerMillion(in); err == nil {
			t.Errorf("ParseUSDPerMillion(%q) = %d, nil; want an error", in, got)
		}
	}
}

func TestUSD(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0.00"},
		{1, "0.000001"},
		{3, "0.000003"},
		{10_000, "0.01"},
		{75_000, "0.075"},
		{1_234_567, "1.234567"},
		{1_000_000, "1.00"},
		{2_500_000, "2.50"},
		{15_000_000, "15.00"},
		{-1_500_000, "-1.50"},
		{-1, "-0.000001"},
		{math.MaxInt64, "9223372036854.775807"},
		{math.MinInt64, "-9223372036854.775808"},
	}
	for _, tt := range tests {
		if got := USD(tt.in); got != tt.want {
			t.Errorf("USD(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
	for _, v := range []int64{0, 1, 75_000, 2_500_000, 123_456_789, MaxPricePerMillion} {
		back, err := ParseUSDPerMillion(USD(v))
		if err != nil || back != v {
			t.Errorf("ParseUSDPerMillion(USD(%d) = %q) = %d, %v", v, USD(v), back, err)
		}
	}
	if strings.Contains(USD(2_500_000), "$") {
		t.Error("USD must not add a currency sign")
	}
}

func BenchmarkLookupCost(b *testing.B) {
	t := Default().WithOverrides(map[string]Price{"my-local-model": {Input: 100_000, Output: 200_000}})
	u := meter.Usage{InputTokens: 1200, CachedInputTokens: 30_000, CacheWriteTokens: 500, OutputTokens: 800}
	b.ReportAllocs()
	var sink int64
	for b.Loop() {
		p, ok := t.Lookup(ProviderAnthropic, "claude-sonnet-4-5-20250929")
		if !ok {
			b.Fatal("no price")
		}
		sink += p.Cost(u)
	}
	_ = sink
}

func BenchmarkLookupCostExact(b *testing.B) {
	t := Default()
	u := meter.Usage{InputTokens: 1200, CachedInputTokens: 300, OutputTokens: 800}
	b.ReportAllocs()
	var sink int64
	for b.Loop() {
		p, ok := t.Lookup(ProviderOpenAI, "gpt-4.1")
		if !ok {
			b.Fatal("no price")
		}
		sink += p.Cost(u)
	}
	_ = sink
}
