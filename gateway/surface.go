package gateway

import (
	"net/http"

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
)

// dialect is the wire protocol of a surface's bodies.
func (s Surface) dialect() provider.Dialect {
	if s == SurfaceAnthropic {
		return provider.DialectAnthropic
	}
	return provider.DialectOpenAI
}

// endpoint is one inbound API operation.
type endpoint struct {
	surface Surface
	op      provider.Operation
	// deployment: the model is the {deployment} path segment (Azure).
	deployment bool
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

	// Everything else: a JSON 404 (or 405) in the shape the path suggests.
	mux.HandleFunc("/", g.serveUnknown)
}

func (g *Gateway) serveUnknown(w http.ResponseWriter, r *http.Request) {
	s := SurfaceOpenAI
	if len(r.URL.Path) >= len("/v1/messages") && r.URL.Path[:len("/v1/messages")] == "/v1/messages" {
		s = SurfaceAnthropic
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
