package gateway_test

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/fakeprovider"
)

// TestNoGoroutineLeak drives every kind of exchange, including failures,
// cut streams and clients that hang up, and checks that no goroutine
// outlives it.
func TestNoGoroutineLeak(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	t.Run("traffic", func(t *testing.T) {
		f := newFixture(t)
		f.post(t, "/v1/chat/completions", chatBody)
		f.post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"messages":[]}`)
		f.post(t, "/v1/chat/completions", `{"model":"smart","stream":true,"messages":[{"role":"user","content":"x"}]}`)
		f.post(t, "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"x"}]}`)
		f.post(t, "/v1/responses", `{"model":"gpt-4o-mini","stream":true,"input":"x"}`)
		f.post(t, "/v1/chat/completions", `{"model":`)

		f.openai.Set(fakeprovider.Behavior{Reply: "a b c d e", CutAfter: 2})
		f.post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"messages":[]}`)

		f.openai.Set(fakeprovider.Behavior{Reply: strings.Repeat("w ", 100), ChunkDelay: 20 * time.Millisecond})
		for range 5 {
			req := authed(http.MethodPost, f.gw.URL+"/v1/chat/completions",
				strings.NewReader(`{"model":"gpt-4o-mini","stream":true,"messages":[]}`))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			bufio.NewReader(resp.Body).ReadString('\n')
			resp.Body.Close()
		}
		if !f.openai.WaitCanceled(5, 5*time.Second) {
			t.Fatalf("upstream requests not canceled: %d", f.openai.Canceled())
		}
		http.DefaultClient.CloseIdleConnections()
	})
}
