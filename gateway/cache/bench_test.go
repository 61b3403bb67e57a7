package cache

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// benchBody returns a pretty-printed Chat Completions request of about n
// bytes, as a client library might send it.
func benchBody(n int) []byte {
	var sb strings.Builder
	sb.WriteString("{\n  \"model\": \"gpt-4o\",\n  \"temperature\": 0.2,\n  \"stream\": true,\n  \"messages\": [\n")
	sb.WriteString("    {\"role\": \"system\", \"content\": \"You are a helpful assistant. Answer briefly, in the user's language.\"}")
	for i := 0; sb.Len() < n-100; i++ {
		fmt.Fprintf(&sb, ",\n    {\"role\": \"user\", \"content\": \"Question %d: what is the weather like in Paris in June? \\\"Exactly\\\", please.\"}", i)
	}
	sb.WriteString("\n  ],\n  \"max_tokens\": 1024\n}\n")
	return []byte(sb.String())
}

func BenchmarkNewKey(b *testing.B) {
	body := benchBody(4 << 10)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewKey("svc/01JZ8Q", "openai", "chat", "openai", "gpt-4o", body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetMemoryHit(b *testing.B) {
	c := New(nil, Options{})
	defer c.Close()
	keys := make([]Key, 1024)
	for i := range keys {
		keys[i] = key(i)
		c.Put(keys[i], entry(2<<10, time.Now().Add(time.Hour)))
	}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, ok := c.Get(ctx, keys[i&1023]); !ok {
			b.Fatal("miss")
		}
		i++
	}
}

// nopBackend takes every write and forgets it.
type nopBackend struct{}

func (nopBackend) GetCache(context.Context, []byte) ([]byte, error)              { return nil, nil }
func (nopBackend) PutCache(context.Context, []byte, []byte, time.Duration) error { return nil }
func (nopBackend) PurgeCache(context.Context) (int, error)                       { return 0, nil }
func (nopBackend) CacheStats(context.Context) (int, int64, error)                { return 0, 0, nil }

func BenchmarkPut(b *testing.B) {
	for _, bc := range []struct {
		name    string
		backend Backend
	}{{"memory", nil}, {"write_behind", nopBackend{}}} {
		b.Run(bc.name, func(b *testing.B) {
			c := New(bc.backend, Options{})
			defer c.Close()
			keys := make([]Key, 1024)
			entries := make([]*Entry, len(keys))
			expires := time.Now().Add(time.Hour)
			for i := range keys {
				keys[i] = key(i)
				entries[i] = entry(2<<10, expires)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				c.Put(keys[i&1023], entries[i&1023])
				i++
			}
		})
	}
}
