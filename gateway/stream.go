package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/cache"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/provider"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/sse"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/translate"
)

// relayStream relays a server-sent event stream event by event. Each event
// is flushed as soon as the gateway has caught up with what the provider
// sent. A stream that ends without its terminal event ends with an explicit
// error event, never a clean-looking end.
func (g *Gateway) relayStream(w http.ResponseWriter, r *http.Request, x *exchange, resp *http.Response) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	h.Del("Content-Length")
	x.status = http.StatusOK
	x.markFirstByte()
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if err := rc.Flush(); err != nil {
		return // the client is gone
	}

	rd := sse.NewReader(resp.Body)
	defer rd.Release()
	var conv *translate.Stream
	if x.mode == translated {
		var err error
		conv, err = translate.NewStream(x.to, x.from, llm.ResponseOptions{Created: time.Now().Unix(), IncludeUsage: x.clientUsage})
		if err != nil { // the route stage checked the pair; cannot happen
			g.log.Error("translating a stream", zap.Error(err))
			w.Write(streamErrorEvent(x, "the gateway cannot translate this stream"))
			return
		}
	}
	var rec *cache.Recorder
	if x.cacheStore {
		rec = cache.NewRecorder(g.cacheMax)
	}
	capture := g.newCapture()
	x.captured = capture
	var out []byte
	// finished: the terminal event arrived; clean: it said success, so the
	// stream may be cached.
	finished, clean, failed := false, false, false
	for {
		ev, err := rd.Next()
		if err != nil {
			if err == io.EOF && finished {
				if rec != nil && clean && !rec.Over() && x.cost.stream.Reported() {
					g.storeAnswer(x, &cache.Entry{Status: http.StatusOK, ContentType: "text/event-stream", Events: rec.Events()})
				}
				return
			}
			if clientGone(r.Context()) {
				x.errType = "client_disconnected"
				return // the client left; the upstream request is canceled with it
			}
			g.log.Warn("provider stream broke", zap.String("provider", x.provider.Name()), zap.Error(err))
			x.errType = "stream_interrupted"
			msg := streamBreakMessage(x, err)
			if errors.Is(context.Cause(r.Context()), errTotalTimeout) {
				msg = "the stream from provider " + strconv.Quote(x.provider.Name()) + " ran past the route's total timeout"
			}
			w.Write(streamErrorEvent(x, msg))
			rc.Flush()
			return
		}
		x.cost.stream.Event(ev.Name, ev.Data)
		out = out[:0]
		switch {
		case conv != nil:
			var err error
			out, err = conv.Event(out, ev.Name, ev.Data)
			if err != nil {
				g.log.Warn("untranslatable provider event", zap.String("provider", x.provider.Name()), zap.Error(err))
				x.errType = "provider_error"
				out = append(out, streamErrorEvent(x, "provider "+strconv.Quote(x.provider.Name())+" sent an event the gateway could not read")...)
				w.Write(out)
				rc.Flush()
				return
			}
			if conv.Done() && !finished {
				finished, clean = true, conv.Failed() == nil
				if !clean {
					x.errType = "provider_error"
				}
			}
		case x.provider.Dialect() == provider.DialectOpenAI && x.ep.op == provider.OpChatCompletions:
			if bytes.Equal(ev.Data, sse.Done) {
				finished = true
				clean = !failed
			} else if !x.clientUsage && isUsageChunk(ev.Data) {
				continue // the gateway asked for it; the client did not
			} else if isErrorChunk(ev.Data) {
				failed = true
				x.errType = "provider_error"
			}
			out = append(out, ev.Raw...)
		case x.ep.surface == SurfaceGemini:
			// A Gemini stream has no terminal event: it ends after the
			// chunk that carries the finish reason.
			if isErrorChunk(ev.Data) {
				finished, failed = true, true
				x.errType = "provider_error"
			} else if bytes.Contains(ev.Data, []byte(`"finishReason"`)) || bytes.Contains(ev.Data, []byte(`"blockReason"`)) {
				finished = true
			}
			clean = finished && !failed
			out = append(out, ev.Raw...)
		default: // Responses API and Anthropic Messages, relayed as sent
			if ok, known := terminalEvents[ev.Name]; known {
				finished, clean = true, ok
				if !ok {
					x.errType = "provider_error"
				}
			}
			out = append(out, ev.Raw...)
		}
		if _, err := w.Write(out); err != nil {
			return
		}
		if rec != nil {
			rec.Add(out)
		}
		if capture != nil {
			capture.Write(out)
		}
		if !rd.Buffered() {
			if err := rc.Flush(); err != nil {
				return
			}
		}
	}
}

// terminalEvents end a Responses API or Anthropic stream; true for a
// successful end.
var terminalEvents = map[string]bool{
	"response.completed":  true,
	"response.failed":     false,
	"response.incomplete": false,
	"message_stop":        true,
	"error":               false,
}

// isErrorChunk reports whether an OpenAI stream chunk is an error: OpenAI
// and compatible servers send {"error": {...}} mid-stream.
func isErrorChunk(data []byte) bool {
	if !bytes.Contains(data, []byte(`"error"`)) {
		return false
	}
	var c struct {
		Error json.RawMessage `json:"error"`
	}
	return json.Unmarshal(data, &c) == nil && len(c.Error) > 0 && string(c.Error) != "null"
}

// isUsageChunk reports whether an OpenAI chunk is the usage chunk that
// stream_options.include_usage adds: no choices, usage set.
func isUsageChunk(data []byte) bool {
	// Every chunk of such a stream carries "usage"; only the last has a
	// value. Skip the decode for the common `"usage":null` chunks.
	i := bytes.Index(data, []byte(`"usage"`))
	if i < 0 || bytes.HasPrefix(data[i+len(`"usage"`):], []byte(`:null`)) {
		return false
	}
	var c struct {
		Choices []json.RawMessage `json:"choices"`
		Usage   json.RawMessage   `json:"usage"`
	}
	if json.Unmarshal(data, &c) != nil {
		return false
	}
	return len(c.Choices) == 0 && len(c.Usage) > 0 && string(c.Usage) != "null"
}

func streamBreakMessage(x *exchange, err error) string {
	if errors.Is(err, provider.ErrFirstByteTimeout) {
		return "provider " + strconv.Quote(x.provider.Name()) + " sent nothing within the route's first-byte timeout"
	}
	if errors.Is(err, provider.ErrIdleTimeout) {
		return "provider " + strconv.Quote(x.provider.Name()) + " stopped sending mid-stream"
	}
	return "the stream from provider " + strconv.Quote(x.provider.Name()) + " ended before it was complete"
}

// streamErrorEvent is an error event in the surface's stream dialect.
func streamErrorEvent(x *exchange, msg string) []byte {
	switch {
	case x.ep.surface == SurfaceAnthropic:
		b, _ := json.Marshal(map[string]any{"type": "error", "error": map[string]string{"type": "api_error", "message": msg}})
		return sse.AppendEvent(nil, "error", b)
	case x.ep.surface == SurfaceGemini:
		b, _ := json.Marshal(map[string]any{"error": map[string]any{"code": http.StatusBadGateway, "message": msg, "status": "UNAVAILABLE"}})
		return sse.AppendEvent(nil, "", b)
	case x.ep.op == provider.OpResponses:
		b, _ := json.Marshal(map[string]any{"type": "error", "code": "stream_interrupted", "message": msg, "param": nil, "sequence_number": 0})
		return sse.AppendEvent(nil, "error", b)
	default:
		b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": "api_error", "param": nil, "code": "stream_interrupted"}})
		return sse.AppendEvent(nil, "", b)
	}
}
