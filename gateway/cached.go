package gateway

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/cache"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/provider"
)

// The cache stage of the pipeline: after admission, a request whose exact
// answer is cached is answered from the cache; otherwise its complete,
// successful answer is stored on the way back.

// sharedScope is the cache scope of every service when the cache is shared.
const sharedScope = "shared"

// cacheable reports whether answers of an operation are cached. Counting
// tokens is free and instant; it is not worth an entry.
func cacheable(op provider.Operation) bool {
	switch op {
	case provider.OpChatCompletions, provider.OpMessages, provider.OpResponses, provider.OpEmbeddings, provider.OpGenerateContent:
		return true
	}
	return false
}

// cacheDirectives reads the client's Cache-Control: noCache asks for a
// fresh answer (which is then stored), noStore forbids storing it too.
func cacheDirectives(h http.Header) (noCache, noStore bool) {
	for _, v := range h.Values("Cache-Control") {
		for d := range strings.SplitSeq(v, ",") {
			d = strings.TrimSpace(d)
			if i := strings.IndexByte(d, '='); i >= 0 {
				d = d[:i]
			}
			switch strings.ToLower(d) {
			case "no-cache":
				noCache = true
			case "no-store":
				noCache, noStore = true, true
			}
		}
	}
	return noCache, noStore
}

// lookup answers the request from the cache when it holds the answer, and
// reports whether it did. Otherwise it notes where to store the answer.
func (g *Gateway) lookup(w http.ResponseWriter, r *http.Request, x *exchange) bool {
	if g.cache == nil || !cacheable(x.ep.op) {
		return false
	}
	noCache, noStore := cacheDirectives(r.Header)
	if noStore {
		return false
	}
	scope := ServiceScope(x.id.Service.ID)
	if g.shared {
		scope = sharedScope
	}
	op := string(x.ep.op)
	if x.ep.method && x.stream {
		op += ":stream" // a Gemini body does not say whether it streams
	}
	k, err := cache.NewKey(scope, string(x.ep.surface), op, x.provider.Name(), x.upstream, x.clientBody)
	if err != nil {
		return false // the body was valid JSON when decoded; cannot happen
	}
	x.cacheKey, x.cacheStore = k, true
	if noCache {
		return false // BYPASS, but the fresh answer refreshes the entry
	}
	if e, ok := g.cache.Get(r.Context(), k); ok {
		x.cacheStatus = cacheHit
		w.Header().Set("X-Cache", cacheHit)
		x.cost.hit = true
		x.cacheStore = false
		g.replay(w, x, e)
		return true
	}
	x.cacheStatus = cacheMiss
	w.Header().Set("X-Cache", cacheMiss)
	return false
}

// replay sends a cached answer as it was first sent: a whole body, or the
// same stream events. A replayed stream is written as fast as the client
// reads it.
func (g *Gateway) replay(w http.ResponseWriter, x *exchange, e *cache.Entry) {
	x.status = e.Status
	x.markFirstByte()
	h := w.Header()
	if ct := e.ContentType; ct != "" {
		h.Set("Content-Type", ct)
	}
	if !e.Stream() {
		h.Set("Content-Length", strconv.Itoa(len(e.Body)))
		w.WriteHeader(e.Status)
		w.Write(e.Body)
		if g.capture > 0 {
			x.captured = &head{buf: e.Body}
		}
		return
	}
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(e.Status)
	capture := g.newCapture()
	for _, ev := range e.Events {
		if _, err := w.Write(ev); err != nil {
			return
		}
		if capture != nil {
			capture.Write(ev)
		}
	}
	x.captured = capture
	http.NewResponseController(w).Flush()
}

// storeAnswer caches a complete, successful answer.
func (g *Gateway) storeAnswer(x *exchange, e *cache.Entry) {
	now := time.Now()
	e.Stored, e.Expires = now, now.Add(g.cacheTTL)
	g.cache.Put(x.cacheKey, e)
}

// newCapture returns a buffer for a captured answer, nil when bodies are
// not captured. It keeps a little more than the limit, so redaction sees
// a secret that straddles it whole.
func (g *Gateway) newCapture() *head {
	if g.capture <= 0 {
		return nil
	}
	return &head{limit: g.capture + 1024}
}

// head keeps the first limit bytes written to it.
type head struct {
	buf   []byte
	limit int
}

func (h *head) Write(p []byte) (int, error) {
	if room := h.limit - len(h.buf); room > 0 {
		h.buf = append(h.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}
