package policy

import (
	"context"
	"slices"
	"testing"
	"time"
)

// benchPolicy is the realistic policy of the gateway's latency target: a
// model allow-list, a max_tokens cap and a service label check.
const benchPolicy = `request.model in ["gpt-4o", "gpt-4o-mini", "o3-mini", "claude-sonnet-4-5"] &&
	request.max_tokens <= 4096 &&
	service.labels["team"] == "research"`

func benchInput() *Input {
	return &Input{
		Request: Request{
			Model: "gpt-4o-mini", Provider: "openai", Surface: "openai", MaxTokens: 1024,
			MessageCount: 3, EstimatedInputTokens: 420, EstimatedCostUSD: 0.002,
			Headers:  map[string]string{"user-agent": "bench/1.0", "x-env": "prod"},
			ClientIP: "203.0.113.7",
		},
		Service: Subject{ID: "svc_1", Name: "search", Labels: map[string]string{"team": "research", "tier": "gold"}},
		Token:   Subject{ID: "tok_1", Name: "ci", Labels: map[string]string{"env": "ci"}},
		Usage:   Usage{SpentTodayUSD: 1.5, SpentMonthUSD: 30, RequestsThisMinute: 12},
		Now:     time.Date(2025, 6, 3, 14, 0, 0, 0, time.UTC),
	}
}

func benchEval(b *testing.B, src string) {
	p, err := Compile("bench", src)
	if err != nil {
		b.Fatal(err)
	}
	in := benchInput()
	ctx := context.Background()
	if ok, err := p.Eval(ctx, in); err != nil || !ok {
		b.Fatalf("Eval = %v, %v; want true, nil", ok, err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Eval(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEval measures the realistic policy: model in a list, a
// max_tokens cap, a service label.
func BenchmarkEval(b *testing.B) { benchEval(b, benchPolicy) }

// BenchmarkEvalLatency reports the p50 and p99 of single evaluations of the
// realistic policy (the gateway's target is p50 <= 20 µs for policy, limits
// and budget admission together).
func BenchmarkEvalLatency(b *testing.B) {
	p, err := Compile("bench", benchPolicy)
	if err != nil {
		b.Fatal(err)
	}
	in := benchInput()
	ctx := context.Background()
	lat := make([]time.Duration, 0, 1<<16)
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		if _, err := p.Eval(ctx, in); err != nil {
			b.Fatal(err)
		}
		if len(lat) < cap(lat) {
			lat = append(lat, time.Since(start))
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}

// BenchmarkEvalParallel is BenchmarkEval on every CPU at once.
func BenchmarkEvalParallel(b *testing.B) {
	p, err := Compile("bench", benchPolicy)
	if err != nil {
		b.Fatal(err)
	}
	in := benchInput()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := p.Eval(context.Background(), in); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkEvalOfficeHours uses a named time zone (cached, see env.go).
func BenchmarkEvalOfficeHours(b *testing.B) {
	benchEval(b, `now.getDayOfWeek("Europe/Paris") in [1, 2, 3, 4, 5] && now.getHours("Europe/Paris") >= 8 && now.getHours("Europe/Paris") < 20`)
}

// BenchmarkEvalHeadersExists loops over the request headers.
func BenchmarkEvalHeadersExists(b *testing.B) {
	benchEval(b, `!request.headers.exists(k, k.startsWith("x-debug"))`)
}

// BenchmarkCompile is the cost of saving a policy.
func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile("bench", benchPolicy); err != nil {
			b.Fatal(err)
		}
	}
}
