package audit

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/storage"
)

// nopSink accepts everything at once.
type nopSink struct{}

func (nopSink) AppendAudit(context.Context, []storage.AuditRecord, time.Duration) error { return nil }

func benchRecord() storage.AuditRecord {
	return storage.AuditRecord{
		Time: time.Now(), ServiceID: "svc_01JABCDEFGHJKMNPQRSTVWXYZ0", TokenID: "tok_01JABCDEFGHJKMNPQRSTVWXYZ0",
		Surface: "openai", Operation: "chat.completions", Model: "gpt-4o-mini", Provider: "openai",
		UpstreamModel: "gpt-4o-mini-2024-07-18", Status: 200, InputTokens: 1200, OutputTokens: 300,
		CostMicroUSD: 360, Latency: 800 * time.Millisecond, TTFB: 200 * time.Millisecond, ClientIP: "10.0.0.1",
	}
}

// BenchmarkWriterAdd: Add from every P, IDs set by the writer or preset,
// with the writer goroutine draining into a sink that costs nothing; and
// from one goroutine. B/op includes chunks allocated when the writer
// goroutine lags behind the adders (it is woken, not run at once).
func BenchmarkWriterAdd(b *testing.B) {
	b.Run("serial", func(b *testing.B) {
		w := NewWriter(nopSink{}, Options{MaxPending: 1 << 30})
		r := benchRecord()
		b.ReportAllocs()
		for b.Loop() {
			w.Add(r)
		}
		b.StopTimer()
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	})
	for _, withID := range []bool{false, true} {
		b.Run(fmt.Sprint("preset_id=", withID), func(b *testing.B) {
			w := NewWriter(nopSink{}, Options{MaxPending: 1 << 30})
			r := benchRecord()
			if withID {
				r.ID = storage.NewID(storage.AuditIDPrefix)
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					w.Add(r)
				}
			})
			b.StopTimer()
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
			if s := w.Stats(); s.Dropped != 0 {
				b.Fatalf("stats %+v", s)
			}
		})
	}
}

func BenchmarkUsageAdd(b *testing.B) {
	u := NewUsage()
	r := benchRecord()
	b.ReportAllocs()
	for b.Loop() {
		u.Add(&r)
	}
}

// BenchmarkRedact: a 4 KB chat request with a few secrets in it, and one
// without any.
func BenchmarkRedact(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"model":"gpt-4o-mini","max_tokens":512,"messages":[`)
	for sb.Len() < 4000 {
		sb.WriteString(`{"role":"user","content":"Summarise the quarterly report in three bullet points, keep it short."},`)
	}
	clean := sb.String() + `{"role":"user","content":"thanks"}]}`
	dirty := strings.Replace(clean, "thanks", `my key is `+openAIKey+` and Bearer abc.def, {\"password\":\"x\"}`, 1)
	r := NewRedactor(providerKey, googleKey)
	for _, tc := range []struct{ name, body string }{{"clean", clean}, {"secrets", dirty}} {
		b.Run(tc.name, func(b *testing.B) {
			body := []byte(tc.body)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				r.Redact(body, 0)
			}
		})
	}
}
