package bench

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// upstream is a minimal fake OpenAI server for load tests. It speaks the
// real wire format of POST /v1/chat/completions, non-streaming and
// streaming, and does as little else as possible: it records nothing, so
// it can take hundreds of thousands of requests, and it costs the same for
// every proxy in front of it.
//
// (gateway/fakeprovider is the faithful fake for functional tests; it keeps
// every request it receives, which a load test cannot afford.)
type upstream struct {
	URL  string // "http://127.0.0.1:port/v1", the base_url of an OpenAI SDK
	Host string // "127.0.0.1:port"
	Key  string // the API key every request must carry as a Bearer token

	words          []string      // the reply, one content chunk per word
	firstByteDelay time.Duration // slept before answering (the model "thinking")
	chunkDelay     time.Duration // slept between two stream events

	srv      *http.Server
	conns    atomic.Int64 // TCP connections accepted
	requests atomic.Int64
	seq      atomic.Int64
}

// replyWords is the assistant reply: ten content chunks.
var replyWords = []string{"The", " capital", " of", " France", " is", " Paris,", " a", " city", " on", " the Seine."}

func startUpstream(t testing.TB, key string, chunks int, firstByteDelay, chunkDelay time.Duration) *upstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &upstream{Key: key, firstByteDelay: firstByteDelay, chunkDelay: chunkDelay}
	for i := range chunks {
		u.words = append(u.words, replyWords[i%len(replyWords)])
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", u.chat)
	u.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				u.conns.Add(1)
			}
		},
	}
	go u.srv.Serve(ln)
	u.Host = ln.Addr().String()
	u.URL = "http://" + u.Host + "/v1"
	t.Cleanup(func() { u.srv.Close() })
	return u
}

type chatRequest struct {
	Model         string `json:"model"`
	Stream        bool   `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

const (
	fingerprint      = "fp_0ba0d124f1"
	promptTokens     = 212
	completionTokens = 10
)

func (u *upstream) chat(w http.ResponseWriter, r *http.Request) {
	u.requests.Add(1)
	if r.Header.Get("Authorization") != "Bearer "+u.Key {
		writeJSON(w, http.StatusUnauthorized, []byte(`{"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`))
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	var req chatRequest
	if err := json.Unmarshal(body, &req); err != nil || req.Model == "" {
		writeJSON(w, http.StatusBadRequest, []byte(`{"error":{"message":"We could not parse the JSON body of your request.","type":"invalid_request_error","param":null,"code":null}}`))
		return
	}
	if u.firstByteDelay > 0 && !sleepCtx(r, u.firstByteDelay) {
		return
	}
	id := "chatcmpl-bench" + strconv.FormatInt(u.seq.Add(1), 10)
	created := time.Now().Unix()
	model, _ := json.Marshal(req.Model)
	h := w.Header()
	h.Set("X-Request-Id", "req_"+id[len("chatcmpl-"):])
	h.Set("Openai-Processing-Ms", "42")
	h.Set("Openai-Version", "2020-10-01")
	if !req.Stream {
		writeJSON(w, http.StatusOK, u.completion(id, created, model))
		return
	}
	includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	u.stream(w, r, id, created, model, includeUsage)
}

func writeJSON(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

func (u *upstream) content() string {
	n := 0
	for _, w := range u.words {
		n += len(w)
	}
	b := make([]byte, 0, n)
	for _, w := range u.words {
		b = append(b, w...)
	}
	return string(b)
}

// completion is a chat.completion object as OpenAI sends it.
func (u *upstream) completion(id string, created int64, model []byte) []byte {
	text, _ := json.Marshal(u.content())
	b := make([]byte, 0, 1024)
	b = append(b, `{"id":"`...)
	b = append(b, id...)
	b = append(b, `","object":"chat.completion","created":`...)
	b = strconv.AppendInt(b, created, 10)
	b = append(b, `,"model":`...)
	b = append(b, model...)
	b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
	b = append(b, text...)
	b = append(b, `,"refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":`...)
	b = appendUsage(b)
	b = append(b, `,"service_tier":"default","system_fingerprint":"`+fingerprint+`"}`...)
	return b
}

func appendUsage(b []byte) []byte {
	b = append(b, `{"prompt_tokens":`...)
	b = strconv.AppendInt(b, promptTokens, 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, completionTokens, 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, promptTokens+completionTokens, 10)
	b = append(b, `,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`...)
	return b
}

// stream answers a chat.completion.chunk event stream: a role chunk, one
// chunk per word, a finish chunk, the usage chunk (choices: []) when the
// request asked for it, then [DONE]. As OpenAI does, every chunk carries
// "usage":null when usage was asked for. Each event is flushed.
func (u *upstream) stream(w http.ResponseWriter, r *http.Request, id string, created int64, model []byte, includeUsage bool) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)

	prefix := make([]byte, 0, 160)
	prefix = append(prefix, `data: {"id":"`...)
	prefix = append(prefix, id...)
	prefix = append(prefix, `","object":"chat.completion.chunk","created":`...)
	prefix = strconv.AppendInt(prefix, created, 10)
	prefix = append(prefix, `,"model":`...)
	prefix = append(prefix, model...)
	prefix = append(prefix, `,"service_tier":"default","system_fingerprint":"`+fingerprint+`","choices":`...)
	suffix := "}\n\n"
	if includeUsage {
		suffix = `,"usage":null}` + "\n\n"
	}

	buf := make([]byte, 0, 512)
	send := func(b []byte) bool {
		if _, err := w.Write(b); err != nil {
			return false
		}
		if rc.Flush() != nil {
			return false
		}
		return true
	}
	pause := func() bool { return u.chunkDelay <= 0 || sleepCtx(r, u.chunkDelay) }
	choice := func(delta []byte, finish string) []byte {
		buf = append(buf[:0], prefix...)
		buf = append(buf, `[{"index":0,"delta":`...)
		buf = append(buf, delta...)
		buf = append(buf, `,"logprobs":null,"finish_reason":`...)
		buf = append(buf, finish...)
		buf = append(buf, "}]"...)
		buf = append(buf, suffix...)
		return buf
	}

	if !send(choice([]byte(`{"role":"assistant","content":"","refusal":null}`), "null")) {
		return
	}
	for _, word := range u.words {
		if !pause() {
			return
		}
		text, _ := json.Marshal(word)
		if !send(choice(append(append([]byte(`{"content":`), text...), '}'), "null")) {
			return
		}
	}
	if !pause() || !send(choice([]byte(`{}`), `"stop"`)) {
		return
	}
	if includeUsage {
		buf = append(buf[:0], prefix...)
		buf = append(buf, `[],"usage":`...)
		buf = appendUsage(buf)
		buf = append(buf, "}\n\n"...)
		if !send(buf) {
			return
		}
	}
	send([]byte("data: [DONE]\n\n"))
}

// sleepCtx sleeps d, or less when the client goes away (then it returns false).
func sleepCtx(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}
