package gateway

import (
	"net/http"
	"strings"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/provider"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/token"
)

// Surface is an inbound API dialect: the paths, auth headers, bodies and
// error shapes a family of client SDKs expects.
type Surface string

// The surfaces the gateway serves.
const (
	SurfaceOpenAI    Surface = "openai"
	SurfaceAzure     Surface = "azure"
	SurfaceAnthropic Surface = "anthropic"
	SurfaceGemini    Surface = "gemini"
)

// dialect is the wire protocol of a surface's bodies.
func (s Surface) dialect() provider.Dialect {
	switch s {
	case SurfaceAnthropic:
		return provider.DialectAnthropic
	case SurfaceGemini:
		return provider.DialectGemini
	}
	return provider.DialectOpenAI
}

// endpoint is one inbound API operation.
type endpoint struct {
	surface Surface
	op      provider.Operation
	// deployment: the model is the {deployment} path segment (Azure).
	deployment bool
	// method: the model and the method are the {method} path segment,
	// "<model>:generateContent" or "<model>:streamGenerateContent" (Gemini).
	method bool
}

// routes registers every inbound path on mux.
func (g *Gateway) routes(mux *http.ServeMux) {
	post := func(pattern string, ep endpoint) {
		mux.HandleFunc("POST "+pattern, func(w http.ResponseWriter, r *http.Request) { g.serve(w, r, ep) })
	}
	// OpenAI.
	post("/v1/chat/completions", endpoint{surface: SurfaceOpenAI, op: provider.OpChatCompletions})
	post("/v1/responses", endpoint{surface: SurfaceOpenAI, op: provider.OpResponses})
	post("/v1/embeddings", endpoint{surface: SurfaceOpenAI, op: provider.OpEmbeddings})
	mux.HandleFunc("GET /v1/models", g.serveModels(SurfaceOpenAI))
	mux.HandleFunc("GET /v1/models/{model}", g.serveModel(SurfaceOpenAI))

	// Azure OpenAI: deployment URLs, model-in-body URLs and the v1 API.
	// api-version is accepted and ignored.
	for _, op := range []struct {
		path string
		op   provider.Operation
	}{
		{"/chat/completions", provider.OpChatCompletions},
		{"/embeddings", provider.OpEmbeddings},
		{"/responses", provider.OpResponses},
	} {
		post("/openai/deployments/{deployment}"+op.path, endpoint{surface: SurfaceAzure, op: op.op, deployment: true})
		post("/openai"+op.path, endpoint{surface: SurfaceAzure, op: op.op})
		post("/openai/v1"+op.path, endpoint{surface: SurfaceAzure, op: op.op})
	}
	mux.HandleFunc("GET /openai/models", g.serveModels(SurfaceAzure))
	mux.HandleFunc("GET /openai/v1/models", g.serveModels(SurfaceAzure))
	mux.HandleFunc("GET /openai/models/{model}", g.serveModel(SurfaceAzure))
	mux.HandleFunc("GET /openai/v1/models/{model}", g.serveModel(SurfaceAzure))

	// Anthropic.
	post("/v1/messages", endpoint{surface: SurfaceAnthropic, op: provider.OpMessages})
	post("/v1/messages/count_tokens", endpoint{surface: SurfaceAnthropic, op: provider.OpCountTokens})

	// Gemini: the v1beta API, and the same paths under /v1 (the Gen AI
	// SDK's default is v1beta; its HTTPOptions can select v1).
	post("/v1beta/models/{method}", endpoint{surface: SurfaceGemini, op: provider.OpGenerateContent, method: true})
	post("/v1/models/{method}", endpoint{surface: SurfaceGemini, op: provider.OpGenerateContent, method: true})

	// The OpenAI files API, passed through to an OpenAI or Azure provider.
	g.fileRoutes(mux)

	// Everything else: a JSON 404 (or 405) in the shape the path suggests.
	mux.HandleFunc("/", g.serveUnknown)
}

func (g *Gateway) serveUnknown(w http.ResponseWriter, r *http.Request) {
	s := SurfaceOpenAI
	switch p := r.URL.Path; {
	case strings.HasPrefix(p, "/v1/messages"):
		s = SurfaceAnthropic
	case strings.HasPrefix(p, "/v1beta/"), strings.HasPrefix(p, "/v1/models/") && strings.Contains(p, ":"):
		s = SurfaceGemini
	}
	for _, p := range g.postPaths {
		if p == r.URL.Path {
			writeError(w, s, &apiError{status: http.StatusMethodNotAllowed, kind: kindInvalidRequest,
				message: r.Method + " is not allowed on " + r.URL.Path + "; use POST"})
			return
		}
	}
	writeError(w, s, &apiError{status: http.StatusNotFound, kind: kindNotFound, code: "unknown_url",
		message: "Unknown request URL: " + r.Method + " " + token.Redact(r.URL.Path)})
}

// geminiMethods are the Gemini methods served, by the name in the path.
var geminiMethods = map[string]struct {
	op     provider.Operation
	stream bool
}{
	"generateContent":       {provider.OpGenerateContent, false},
	"streamGenerateContent": {provider.OpGenerateContent, true},
	"countTokens":           {provider.OpCountTokens, false},
}

// geminiMethod splits a Gemini {method} path segment, "<model>:<method>",
// into the model, the operation and whether the method streams.
func geminiMethod(seg string) (model string, op provider.Operation, stream bool, err *apiError) {
	i := strings.LastIndexByte(seg, ':')
	if i < 0 {
		return "", "", false, &apiError{status: http.StatusNotFound, kind: kindNotFound, code: "unknown_url",
			message: "Unknown request URL: no method in " + token.Redact(seg) + "; use <model>:generateContent, <model>:streamGenerateContent or <model>:countTokens"}
	}
	m, ok := geminiMethods[seg[i+1:]]
	if !ok {
		return "", "", false, &apiError{status: http.StatusNotFound, kind: kindNotFound, code: "unknown_url",
			message: "Unknown method " + token.Redact(seg[i+1:]) + "; this gateway serves generateContent, streamGenerateContent and countTokens"}
	}
	return seg[:i], m.op, m.stream, nil
}
