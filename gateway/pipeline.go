package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/auth"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/cache"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/health"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/meter"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/provider"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/reqjson"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/route"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/token"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/translate"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/storage"
)

// exchange is the state of one request as it moves through the pipeline.
type exchange struct {
	ep    endpoint
	start time.Time
	id    *auth.Identity // who the request acts for

	body   *reqjson.Object // the client's request body
	model  string          // the model the client asked for
	stream bool

	provider provider.Provider
	upstream string // the upstream model
	mode     mode
	// plan holds the route's targets in the order to try them (plan[0]
	// first); retries is how many times to retry on each.
	plan     []route.Target
	retries  int
	timeouts route.Timeouts
	// attempts counts the calls made to providers; target is the index in
	// plan of the target that answered.
	attempts int
	target   int
	keyID    string // the stored provider key of the current call, if any
	// badKeys are the stored keys this request saw refused or rate
	// limited: its retries draw another.
	badKeys map[string]bool
	// upOp is the operation asked of the provider (differs from ep.op
	// when translating).
	upOp provider.Operation
	// from and to are the client's and the provider's formats, when
	// translating.
	from, to translate.Format
	// clientUsage: the client asked for the usage chunk of an OpenAI
	// stream; when false the gateway asked for it and removes it.
	clientUsage bool

	status int // the status answered to the client, once known

	cost cost // admission, metering and settlement

	reqID       string // the audit record's ID
	clientBody  []byte // the body as the client sent it (before any edit)
	clientIP    string
	cacheStatus string        // X-Cache: HIT, MISS or BYPASS
	cacheKey    cache.Key     // set when the answer may be stored
	cacheStore  bool          // store a complete, successful answer under cacheKey
	ttfb        time.Duration // time to the first byte of the answer
	errType     string        // the error's code or type, when the request failed
	rejection   string        // why the gateway refused it, when it did
	captured    *head         // the answer, when bodies are captured
}

// mode is how a request reaches its provider.
type mode int

const (
	// passthrough: same dialect; the body is forwarded as sent, with at
	// most the model and stream_options fields edited.
	passthrough mode = iota
	// translated: a chat exchange served by a provider of another dialect,
	// translated both ways (see package translate).
	translated
	// countLocal: an Anthropic count_tokens request for a model whose
	// provider cannot count tokens; the gateway estimates the count.
	countLocal
)

// formatOf is the translation format of an operation in a dialect.
func formatOf(d provider.Dialect, op provider.Operation) translate.Format {
	switch d {
	case provider.DialectAnthropic:
		return translate.Messages
	case provider.DialectGemini:
		return translate.Gemini
	}
	if op == provider.OpResponses {
		return translate.Responses
	}
	return translate.Chat
}

// chatOps is the operation that serves a chat exchange in each dialect.
var chatOps = map[provider.Dialect]provider.Operation{
	provider.DialectOpenAI:    provider.OpChatCompletions,
	provider.DialectAnthropic: provider.OpMessages,
	provider.DialectGemini:    provider.OpGenerateContent,
}

// isChat reports whether op is a chat exchange, which every dialect can
// serve through translation.
func isChat(op provider.Operation) bool {
	switch op {
	case provider.OpChatCompletions, provider.OpResponses, provider.OpMessages, provider.OpGenerateContent:
		return true
	}
	return false
}

// serve runs one request through the pipeline:
//
//	authenticate → decode → route (allowed models) → admit (policies, rate
//	limits, budget reservation) → prepare (translate, provider key) → send
//	→ relay (whole or streamed, metered) → settle
//
// Authentication comes first, so an unauthenticated client cannot make the
// gateway read a large body. Every stage that fails answers in the
// surface's error shape. Settlement runs deferred: every admitted request
// is settled exactly once, whatever happened (provider error, timeout,
// client gone, panic).
func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, ep endpoint) {
	x := &exchange{ep: ep, start: time.Now(), cacheStatus: cacheBypass}
	defer g.finish(x)
	defer g.settle(x)
	w.Header().Set("X-Cache", cacheBypass)
	if !g.begin(w, r, x) {
		return
	}
	if err := g.decode(x, w, r); err != nil {
		g.fail(w, x, err)
		return
	}
	if err := g.route(x); err != nil {
		g.fail(w, x, err)
		return
	}
	if err := g.admit(x, r); err != nil {
		g.fail(w, x, err)
		return
	}
	if x.mode == countLocal {
		g.countTokens(w, x)
		return
	}
	if g.lookup(w, r, x) {
		return // answered from the cache
	}
	if x.timeouts.Total > 0 {
		// The whole exchange with providers, relay included; the client's
		// own departure is told apart by the cause.
		ctx, cancel := context.WithTimeoutCause(r.Context(), x.timeouts.Total, errTotalTimeout)
		defer cancel()
		r = r.WithContext(ctx)
	}
	resp, call, err := g.send(r, x)
	if err != nil {
		g.fail(w, x, err)
		return
	}
	defer resp.Body.Close()
	x.cost.sent = true
	x.cost.upstreamOK = resp.StatusCode < 400
	if x.stream {
		x.cost.stream = meter.NewStream(string(x.provider.Dialect()), string(call.Op))
		if x.cost.estimated {
			x.cost.stream.SetInputEstimate(x.cost.estInput)
		} else {
			x.cost.stream.SetRequest(call.Body) // estimated only if the stream is cut
		}
	}
	g.relay(w, r, x, resp)
}

// begin gives the request its audit record ID and client IP, then
// authenticates it; it reports whether the request may go on (it has
// answered the client when not).
func (g *Gateway) begin(w http.ResponseWriter, r *http.Request, x *exchange) bool {
	if g.observer != nil {
		// The audit record's ID, made on arrival so it sorts by arrival
		// time; the client gets it to quote.
		x.reqID = storage.NewID(storage.AuditIDPrefix)
		w.Header().Set(RequestIDHeader, x.reqID)
	}
	x.clientIP = g.clientIP(r)
	id, aerr := g.authenticate(r)
	if aerr != nil {
		g.fail(w, x, aerr)
		return false
	}
	x.id = id
	return true
}

// authenticate verifies the request's gateway token.
func (g *Gateway) authenticate(r *http.Request) (*auth.Identity, *apiError) {
	id, err := g.auth.Verify(r.Context(), auth.FromRequest(r))
	switch {
	case err == nil:
		return id, nil
	case errors.Is(err, auth.ErrServiceInactive):
		return nil, &apiError{status: http.StatusForbidden, kind: kindPermission, code: "service_inactive", message: err.Error()}
	case errors.Is(err, auth.ErrMissing), errors.Is(err, auth.ErrInvalid), errors.Is(err, auth.ErrExpired), errors.Is(err, auth.ErrRevoked):
		return nil, &apiError{status: http.StatusUnauthorized, kind: kindAuthentication, code: "invalid_api_key", message: err.Error()}
	default:
		g.log.Error("authenticating a request", zap.Error(err))
		return nil, &apiError{status: http.StatusServiceUnavailable, kind: kindInternal, message: "authentication is unavailable; try again"}
	}
}

// modelAllowed reports whether the service may use the requested model: it
// must match one of the service's allowed globs, if it has any.
func modelAllowed(s *storage.Service, model string) bool {
	if len(s.AllowedModels) == 0 {
		return true
	}
	for _, glob := range s.AllowedModels {
		if route.Match(glob, model) {
			return true
		}
	}
	return false
}

// readBody reads r to its end. A body announced at up to 64 KiB (a usual
// request) is read into one buffer of that size; a larger or unannounced
// one is left to io.ReadAll, whose memory grows only with what arrives.
func readBody(r io.Reader, announced int64) ([]byte, error) {
	if announced <= 0 || announced > 64<<10 {
		return io.ReadAll(r)
	}
	b := make([]byte, announced+1) // one more byte to see the end
	n, err := io.ReadFull(r, b)
	switch err {
	case io.ErrUnexpectedEOF, io.EOF:
		return b[:n], nil
	case nil: // longer than announced: net/http stops at Content-Length, other readers may not
		rest, err := io.ReadAll(r)
		return append(b, rest...), err
	}
	return b[:n], err
}

// decode reads and checks the request body.
func (g *Gateway) decode(x *exchange, w http.ResponseWriter, r *http.Request) error {
	if r.ContentLength > g.maxBody {
		return tooLarge(g.maxBody)
	}
	raw, err := readBody(http.MaxBytesReader(w, r.Body, g.maxBody), r.ContentLength)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(g.maxBody)
		}
		return badRequest("reading the request body: " + err.Error())
	}
	x.clientBody = raw
	if x.body, err = reqjson.Parse(raw); err != nil {
		return badRequest(err.Error())
	}
	switch {
	case x.ep.method:
		model, op, stream, aerr := geminiMethod(r.PathValue("method"))
		if aerr != nil {
			return aerr
		}
		x.model, x.stream, x.ep.op = strings.TrimPrefix(model, "models/"), stream, op
	case x.ep.deployment:
		x.model = r.PathValue("deployment")
	default:
		m, _, err := x.body.String("model")
		if err != nil {
			return &apiError{status: http.StatusBadRequest, kind: kindInvalidRequest, param: "model", message: err.Error()}
		}
		x.model = m
	}
	if err := validModel(x.model); err != nil {
		return &apiError{status: http.StatusBadRequest, kind: kindInvalidRequest, param: "model", message: err.Error()}
	}
	if x.ep.method {
		return nil // the method says whether to stream
	}
	if x.stream, _, err = x.body.Bool("stream"); err != nil {
		return &apiError{status: http.StatusBadRequest, kind: kindInvalidRequest, param: "stream", message: err.Error()}
	}
	return nil
}

func tooLarge(limit int64) *apiError {
	return &apiError{status: http.StatusRequestEntityTooLarge, kind: kindTooLarge, code: "request_too_large",
		message: fmt.Sprintf("request body is larger than the gateway's limit of %d bytes", limit)}
}

// route checks that the service may use the model, then picks the
// provider and upstream model, and how to reach them.
func (g *Gateway) route(x *exchange) error {
	if !modelAllowed(x.id.Service, x.model) {
		return &apiError{status: http.StatusForbidden, kind: kindPermission, code: "model_not_allowed", param: "model",
			message: fmt.Sprintf("service %q may not use model %q", x.id.Service.Name, x.model)}
	}
	res, ok := g.router.Resolve(x.model)
	if !ok {
		return &apiError{status: http.StatusNotFound, kind: kindNotFound, code: "model_not_found", param: "model",
			message: fmt.Sprintf("The model `%s` does not exist or is not routed by this gateway.", token.Redact(x.model))}
	}
	x.plan = append(make([]route.Target, 0, 1+len(res.Fallbacks)), route.Target{Provider: res.Provider, Model: res.Model})
	x.plan = append(x.plan, res.Fallbacks...)
	x.retries, x.timeouts = res.Retries, res.Timeouts
	return g.useTarget(x, x.plan[0])
}

// useTarget makes t the exchange's provider and upstream model, and
// decides how to reach it; it fails when t cannot answer the request.
func (g *Gateway) useTarget(x *exchange, t route.Target) error {
	p := g.providers[t.Provider]
	x.provider, x.upstream = p, t.Model
	x.upOp = x.ep.op
	switch {
	case p.Dialect() == x.ep.surface.dialect() && p.Supports(x.ep.op):
		x.mode = passthrough
	case isChat(x.ep.op) && p.Supports(chatOps[p.Dialect()]):
		x.mode = translated
		x.upOp = chatOps[p.Dialect()]
		x.from, x.to = formatOf(x.ep.surface.dialect(), x.ep.op), formatOf(p.Dialect(), x.upOp)
	case x.ep.op == provider.OpCountTokens:
		x.mode = countLocal
	default:
		return badRequest(fmt.Sprintf("model %q is served by provider %q (%s), which cannot answer %s requests of the %s API",
			x.model, p.Name(), p.Type(), x.ep.op, x.ep.surface))
	}
	return nil
}

// prepare builds the upstream call: the body in the provider's dialect and
// the client headers allowed through.
func (g *Gateway) prepare(x *exchange, r *http.Request) (*provider.Call, error) {
	c := &provider.Call{Op: x.ep.op, Model: x.upstream, Stream: x.stream, Header: http.Header{},
		FirstByteTimeout: x.timeouts.FirstByte, IdleTimeout: x.timeouts.Idle}
	if g.keys != nil {
		name := x.provider.Name()
		k, err := g.keys.ProviderKey(r.Context(), name, x.id.Service, func(id string) bool {
			return !x.badKeys[name+"/"+id] && g.health.Usable(keyHealth(name, id))
		})
		if err != nil {
			return nil, fmt.Errorf("choosing the key of provider %q: %w", name, err)
		}
		c.APIKey, c.BaseURL, x.keyID = k.Key, k.BaseURL, k.ID
	}
	if x.mode == translated {
		body, err := g.translateRequest(x)
		if err != nil {
			return nil, err
		}
		c.Op, c.Body = x.upOp, body
		return c, nil
	}
	if x.ep.surface == SurfaceGemini {
		c.Body = x.body.Bytes() // the model is in the URL
		return c, nil
	}
	if m, _, _ := x.body.String("model"); m != x.upstream {
		x.body.SetString("model", x.upstream)
	}
	if x.stream && x.ep.op == provider.OpChatCompletions {
		if err := askForUsage(x); err != nil {
			return nil, err
		}
	}
	c.Body = x.body.Bytes()
	for _, h := range forwardHeaders[x.ep.surface.dialect()] {
		if v := r.Header.Values(h); len(v) > 0 {
			c.Header[h] = v
		}
	}
	return c, nil
}

// forwardHeaders are the client headers passed to a same-dialect provider:
// protocol feature switches, never credentials.
var forwardHeaders = map[provider.Dialect][]string{
	provider.DialectOpenAI:    {"Openai-Beta"},
	provider.DialectAnthropic: {"Anthropic-Version", "Anthropic-Beta"},
}

// translateRequest writes the client's request in the provider's format.
func (g *Gateway) translateRequest(x *exchange) ([]byte, error) {
	req, err := translate.DecodeRequest(x.from, x.clientBody)
	if err == nil {
		req.Model, req.Stream = x.model, x.stream
		// Anthropic requires max_tokens: default it to the model's output
		// cap (from the price table, else the adapter's own table).
		maxOut := x.cost.price.MaxOutput
		if maxOut <= 0 {
			maxOut = int64(provider.MaxOutputTokens(x.upstream))
		}
		var body []byte
		body, err = translate.EncodeRequest(x.to, req, llm.EncodeOptions{Model: x.upstream, DefaultMaxTokens: maxOut})
		if err == nil {
			x.clientUsage = req.IncludeUsage
			return body, nil
		}
	}
	var te *llm.Error
	if errors.As(err, &te) {
		return nil, &apiError{status: http.StatusBadRequest, kind: kindInvalidRequest, param: te.Param, message: te.Message}
	}
	return nil, fmt.Errorf("translating the request from %s to %s: %w", x.from, x.to, err)
}

// askForUsage makes an OpenAI chat stream end with a usage chunk, noting
// whether the client asked for it itself.
func askForUsage(x *exchange) error {
	raw, ok := x.body.Raw("stream_options")
	if !ok || string(raw) == "null" {
		x.body.Set("stream_options", []byte(`{"include_usage":true}`))
		return nil
	}
	so, err := reqjson.Parse(raw)
	if err != nil {
		return &apiError{status: http.StatusBadRequest, kind: kindInvalidRequest, param: "stream_options",
			message: "stream_options: " + err.Error()}
	}
	include, _, err := so.Bool("include_usage")
	if err != nil {
		return &apiError{status: http.StatusBadRequest, kind: kindInvalidRequest, param: "stream_options.include_usage",
			message: err.Error()}
	}
	x.clientUsage = include
	if !include {
		so.Set("include_usage", []byte("true"))
		x.body.Set("stream_options", so.Bytes())
	}
	return nil
}

// sendError classifies a failure to get response headers from a provider.
func (g *Gateway) sendError(x *exchange, ctx context.Context, err error) error {
	if clientGone(ctx) {
		return errClientGone
	}
	if ctx.Err() != nil {
		return &apiError{status: http.StatusGatewayTimeout, kind: kindTimeout, code: "upstream_timeout",
			message: fmt.Sprintf("the providers of model %q did not answer within the route's total timeout", x.model)}
	}
	g.log.Warn("provider request failed", zap.String("provider", x.provider.Name()), zap.Error(err))
	if errors.Is(err, provider.ErrFirstByteTimeout) {
		return &apiError{status: http.StatusGatewayTimeout, kind: kindTimeout, code: "upstream_timeout",
			message: fmt.Sprintf("provider %q sent nothing within the route's first-byte timeout", x.provider.Name())}
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return &apiError{status: http.StatusGatewayTimeout, kind: kindTimeout, code: "upstream_timeout",
			message: fmt.Sprintf("provider %q did not answer in time", x.provider.Name())}
	}
	return &apiError{status: http.StatusBadGateway, kind: kindUpstream, code: "upstream_unreachable",
		message: fmt.Sprintf("provider %q is unreachable", x.provider.Name())}
}

// keyHealth is the health key of a stored provider key.
func keyHealth(provider, id string) string { return health.Key(provider, "key:"+id) }

// errTotalTimeout is the cause of an exchange cut by its route's total
// timeout.
var errTotalTimeout = errors.New("the route's total timeout ran out")

// clientGone reports whether ctx ended because the client went away (and
// not because of the route's total timeout).
func clientGone(ctx context.Context) bool {
	return ctx.Err() != nil && !errors.Is(context.Cause(ctx), errTotalTimeout)
}

// errClientGone means the client went away; nothing can be answered.
var errClientGone = errors.New("client disconnected")

// fail answers err to the client in the surface's error shape.
func (g *Gateway) fail(w http.ResponseWriter, x *exchange, err error) {
	if errors.Is(err, errClientGone) {
		x.status = statusClientClosed
		x.errType = "client_disconnected"
		return
	}
	var ae *apiError
	if !errors.As(err, &ae) {
		g.log.Error("request failed", zap.Error(err))
		ae = &apiError{status: http.StatusInternalServerError, kind: kindInternal, message: "internal gateway error"}
	}
	x.status = ae.status
	x.errType = ae.code
	if x.errType == "" {
		x.errType = openAITypes[ae.kind]
	}
	if !x.cost.sent {
		x.rejection = rejection(ae)
	}
	x.markFirstByte()
	writeError(w, x.ep.surface, ae)
}

// statusClientClosed records a request whose client left before an answer
// (nginx's convention).
const statusClientClosed = 499

// countTokens answers a count_tokens request (Anthropic) or a countTokens
// one (Gemini) whose model's provider cannot count tokens with the
// gateway's own estimate of the request's input tokens.
func (g *Gateway) countTokens(w http.ResponseWriter, x *exchange) {
	d := x.ep.surface.dialect()
	body := x.clientBody
	if d == provider.DialectGemini {
		// {"contents": […]} or {"generateContentRequest": {…}}.
		if raw, ok := x.body.Raw("generateContentRequest"); ok {
			body = raw
		}
	}
	n := strconv.FormatInt(meter.EstimateRequestTokens(string(d), string(provider.OpCountTokens), body), 10)
	x.status = http.StatusOK
	x.markFirstByte()
	w.Header().Set("Llm-Gateway-Token-Count", "estimated")
	if d == provider.DialectGemini {
		writeJSON(w, http.StatusOK, []byte(`{"totalTokens":`+n+`}`))
		return
	}
	writeJSON(w, http.StatusOK, []byte(`{"input_tokens":`+n+`}`))
}
