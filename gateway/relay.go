package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/cache"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/meter"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/provider"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/translate"
)

// responseHeaders are the provider response headers passed to the client.
var responseHeaders = []string{"Retry-After", "Retry-After-Ms", "X-Request-Id", "Request-Id", "Openai-Processing-Ms"}

// maxErrorBody bounds how much of a provider's error body is read.
const maxErrorBody = 64 << 10

// maxTranslatedBody bounds a non-streaming answer that must be translated
// (and so held in memory whole).
const maxTranslatedBody = 64 << 20

// relay sends the provider's answer to the client.
func (g *Gateway) relay(w http.ResponseWriter, r *http.Request, x *exchange, resp *http.Response) {
	for _, h := range responseHeaders {
		if v := resp.Header.Values(h); len(v) > 0 {
			w.Header()[h] = v
		}
	}
	switch {
	case resp.StatusCode >= 400:
		g.relayError(w, x, resp)
	case x.stream && isEventStream(resp.Header):
		g.relayStream(w, r, x, resp)
	default:
		g.relayWhole(w, x, resp)
	}
}

func isEventStream(h http.Header) bool {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	return mt == "text/event-stream"
}

// relayError answers a provider error with the provider's status and its
// body in the surface's shape.
func (g *Gateway) relayError(w http.ResponseWriter, x *exchange, resp *http.Response) {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	x.status = resp.StatusCode
	x.errType = "provider_error"
	x.markFirstByte()
	pd, sd := x.provider.Dialect(), x.ep.surface.dialect()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		// The provider refused the gateway's own credentials: its message
		// (which may quote part of the key) is for the operator, not the
		// client.
		g.log.Warn("provider refused the gateway's credentials", zap.String("provider", x.provider.Name()), zap.Int("status", resp.StatusCode))
		x.errType = "provider_credentials"
		k := kindAuthentication
		if resp.StatusCode == http.StatusForbidden {
			k = kindPermission
		}
		writeError(w, x.ep.surface, &apiError{status: resp.StatusCode, kind: k, code: "provider_credentials",
			message: fmt.Sprintf("provider %q refused the gateway's credentials (status %d); the gateway operator must check its api_key", x.provider.Name(), resp.StatusCode)})
	case pd == sd && isErrorShape(sd, body):
		writeJSON(w, resp.StatusCode, body)
	default:
		writeError(w, x.ep.surface, upstreamError(x, resp.StatusCode, body))
	}
}

// isErrorShape reports whether body is an error in dialect d's shape.
func isErrorShape(d provider.Dialect, body []byte) bool {
	var v struct {
		Type  string          `json:"type"`
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &v) != nil || len(v.Error) == 0 || v.Error[0] != '{' {
		return false
	}
	return d != provider.DialectAnthropic || v.Type == "error"
}

// upstreamError wraps a provider error body the surface cannot take as is.
func upstreamError(x *exchange, status int, body []byte) *apiError {
	msg := string(bytes.TrimSpace(body))
	if ue, ok := translate.DecodeError(formatOf(x.provider.Dialect(), provider.OpChatCompletions), body); ok && ue.Message != "" {
		msg = ue.Message
	}
	if len(msg) > 1024 {
		msg = msg[:1024] + "…"
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	k := kindOf(status)
	return &apiError{status: status, kind: k, message: fmt.Sprintf("provider %q answered %d: %s", x.provider.Name(), status, msg)}
}

// relayWhole relays a non-streaming answer.
func (g *Gateway) relayWhole(w http.ResponseWriter, x *exchange, resp *http.Response) {
	x.status = resp.StatusCode
	if x.mode == passthrough {
		ct := resp.Header.Get("Content-Type")
		if ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		if resp.ContentLength >= 0 {
			w.Header().Set("Content-Length", fmt.Sprint(resp.ContentLength))
		}
		x.markFirstByte()
		w.WriteHeader(resp.StatusCode)
		capture := &capped{limit: maxMeteredBody}
		if err := copyBody(w, io.TeeReader(resp.Body, capture)); err != nil {
			g.log.Debug("relaying answer", zap.Error(err))
			return // cut: settled at the worst case
		}
		x.cost.usage, x.cost.metered = meter.FromBody(string(x.provider.Dialect()), string(x.upOp), capture.buf)
		if g.capture > 0 && !capture.over {
			x.captured = &head{buf: capture.buf}
		}
		if x.cacheStore && resp.StatusCode == http.StatusOK && !capture.over && len(capture.buf) <= g.cacheMax && json.Valid(capture.buf) {
			g.storeAnswer(x, &cache.Entry{Status: resp.StatusCode, ContentType: ct, Body: capture.buf})
		}
		return
	}
	buf := readBufs.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 1<<20 { // keep the pool's buffers small
			buf.Reset()
			readBufs.Put(buf)
		}
	}()
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, maxTranslatedBody)); err != nil {
		g.fail(w, x, g.readError(x, err))
		return
	}
	// The answer is translated into a new buffer before buf is reused.
	body := buf.Bytes()
	x.cost.usage, x.cost.metered = meter.FromBody(string(x.provider.Dialect()), string(x.upOp), body)
	out, err := translate.Response(x.to, x.from, body, llm.ResponseOptions{Created: time.Now().Unix()})
	if err != nil {
		g.log.Warn("untranslatable provider answer", zap.String("provider", x.provider.Name()), zap.Error(err))
		g.fail(w, x, &apiError{status: http.StatusBadGateway, kind: kindUpstream,
			message: fmt.Sprintf("provider %q sent an answer the gateway could not read", x.provider.Name())})
		return
	}
	x.markFirstByte()
	writeJSON(w, resp.StatusCode, out)
	if g.capture > 0 {
		x.captured = &head{buf: out}
	}
	if x.cacheStore && resp.StatusCode == http.StatusOK && len(out) <= g.cacheMax {
		g.storeAnswer(x, &cache.Entry{Status: resp.StatusCode, ContentType: "application/json", Body: out})
	}
}

// maxMeteredBody bounds how much of a relayed answer is kept to read its
// usage; a larger answer is settled at its reserved worst case.
const maxMeteredBody = 16 << 20

// capped keeps the first limit bytes written to it.
type capped struct {
	buf   []byte
	limit int
	over  bool
}

func (c *capped) Write(p []byte) (int, error) {
	if !c.over {
		if len(c.buf)+len(p) > c.limit {
			c.over, c.buf = true, nil
		} else {
			c.buf = append(c.buf, p...)
		}
	}
	return len(p), nil
}

// readBufs holds the buffers whole answers are read into for translation.
var readBufs = sync.Pool{New: func() any { return bytes.NewBuffer(make([]byte, 0, 16<<10)) }}

// copyBufs holds the buffers copyBody relays answers through.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// copyBody copies an answer to the client through a pooled buffer. (A
// plain io.Copy ends in the response writer's ReadFrom, which allocates a
// fresh 32 KB buffer for every answer.)
func copyBody(w io.Writer, r io.Reader) error {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	_, err := io.CopyBuffer(struct{ io.Writer }{w}, struct{ io.Reader }{r}, *bp)
	return err
}

// readError classifies a failure while reading a provider's body.
func (g *Gateway) readError(x *exchange, err error) error {
	if errors.Is(err, provider.ErrIdleTimeout) || errors.Is(err, provider.ErrFirstByteTimeout) {
		return &apiError{status: http.StatusGatewayTimeout, kind: kindTimeout, code: "upstream_timeout",
			message: fmt.Sprintf("provider %q stopped sending", x.provider.Name())}
	}
	return &apiError{status: http.StatusBadGateway, kind: kindUpstream,
		message: fmt.Sprintf("reading the answer of provider %q failed", x.provider.Name())}
}
