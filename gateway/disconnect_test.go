package gateway_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/fakeprovider"
)

// TestDisconnectMatrix: a client that leaves at any point of a stream
// (before the headers, after k events, after the content but before the
// usage, after [DONE]) leaves exactly one audit record; it is charged
// something when tokens were produced and never more than the worst case
// reserved; and the upstream request is cancelled within a second.
func TestDisconnectMatrix(t *testing.T) {
	const reply = "one two three four five six seven eight nine ten"
	cases := []struct {
		name string
		b    fakeprovider.Behavior
		// leave reads the answer and says when to hang up: it gets the
		// bytes read so far and reports whether to stop.
		leave    func(read []byte) bool
		produced bool // tokens were produced before the client left
		canceled bool // the upstream request was still running
	}{
		{"before the headers", fakeprovider.Behavior{FirstByteDelay: 3 * time.Second},
			func([]byte) bool { return true }, false, true},
		{"after 3 events", fakeprovider.Behavior{Reply: reply, ChunkDelay: 100 * time.Millisecond},
			func(b []byte) bool { return bytes.Count(b, []byte("\n\n")) >= 3 }, true, true},
		{"after the content, before the usage", fakeprovider.Behavior{Reply: reply, ChunkDelay: 100 * time.Millisecond},
			func(b []byte) bool { return bytes.Contains(b, []byte(`"finish_reason":"stop"`)) }, true, true},
		{"after [DONE]", fakeprovider.Behavior{Reply: reply},
			func(b []byte) bool { return bytes.Contains(b, []byte("[DONE]")) }, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obs := &outcomes{}
			f := newFixture(t, func(cfg *gateway.Config) { cfg.Observer = obs })
			f.openai.Set(c.b)
			body := `{"model":"gpt-4o-mini","stream":true,"max_tokens":100,"messages":[{"role":"user","content":"count to ten"}]}`
			conn, err := net.Dial("tcp", strings.TrimPrefix(f.gw.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
				testToken, len(body), body)
			if c.name == "before the headers" {
				time.Sleep(200 * time.Millisecond) // the provider has the request
			} else {
				rd := bufio.NewReader(conn)
				var read []byte
				buf := make([]byte, 512)
				conn.SetReadDeadline(time.Now().Add(10 * time.Second))
				for !c.leave(read) {
					n, err := rd.Read(buf)
					read = append(read, buf[:n]...)
					if err != nil {
						t.Fatalf("reading: %v after %q", err, read)
					}
				}
			}
			left := time.Now()
			conn.Close()
			if c.canceled && !f.openai.WaitCanceled(1, time.Second) {
				t.Errorf("the upstream request was not cancelled within 1 s of the client leaving")
			}
			if c.canceled {
				t.Logf("upstream cancelled %v after the client left", time.Since(left).Round(time.Millisecond))
			}
			// Exactly one record, and no second one later.
			for deadline := time.Now().Add(5 * time.Second); obs.count() == 0 && time.Now().Before(deadline); {
				time.Sleep(5 * time.Millisecond)
			}
			time.Sleep(100 * time.Millisecond)
			if n := obs.count(); n != 1 {
				t.Fatalf("%d audit records, want 1", n)
			}
			out := obs.last(t)
			worstOut := int64(100) // max_tokens
			switch {
			case c.produced && (out.CostMicroUSD <= 0 || out.InputTokens <= 0):
				t.Errorf("tokens were produced but nothing was charged: %+v", out.AuditRecord)
			case !c.produced && (out.CostMicroUSD != 0 || out.OutputTokens != 0):
				t.Errorf("nothing was produced but something was charged: %+v", out.AuditRecord)
			case out.OutputTokens > worstOut:
				t.Errorf("charged %d output tokens, more than the %d reserved", out.OutputTokens, worstOut)
			}
		})
	}
}
