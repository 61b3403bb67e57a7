// Package fakeprovider runs fake LLM provider HTTP servers for tests. They
// speak the real wire formats of OpenAI, Azure OpenAI, Anthropic and Gemini,
// as the providers' API references document them (JSON bodies, response headers,
// SSE framing, usage objects, error bodies and status codes), so that a
// gateway under test meets what it will meet in production, and the
// official SDKs can parse everything they send.
//
// Usage:
//
//	func TestGateway(t *testing.T) {
//		up := fakeprovider.New(t, fakeprovider.OpenAI, "sk-upstream")
//		up.Set(fakeprovider.Behavior{Reply: "Hi there", InputTokens: 5})
//		gw := startGateway(t, up.URL, "sk-upstream") // base_url: up.URL
//		resp := postJSON(t, gw+"/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`)
//		// ... assert on resp ...
//		got := up.LastRequest()
//		if got.Path != "/v1/chat/completions" || got.Header.Get("Authorization") != "Bearer sk-upstream" {
//			t.Fatalf("upstream got %s %v", got.Path, got.Header)
//		}
//	}
//
// The endpoints served are, for [OpenAI] (URL is "<srv>/v1"):
// POST /v1/chat/completions, POST /v1/responses, POST /v1/embeddings,
// GET /v1/models and GET /v1/models/{model}; for [Azure] (URL is "<srv>"):
// POST /openai/deployments/{deployment}/chat/completions?api-version=...,
// POST /openai/deployments/{deployment}/embeddings?api-version=...,
// POST /openai/responses?api-version=..., and POST /openai/v1/chat/completions,
// /openai/v1/responses, /openai/v1/embeddings, GET /openai/v1/models;
// for [Anthropic] (URL is "<srv>"): POST /v1/messages,
// POST /v1/messages/count_tokens, GET /v1/models and GET /v1/models/{id};
// for [Gemini] (URL is "<srv>", the version is part of the path, under
// /v1beta and /v1 alike): POST /v1beta/models/{model}:generateContent,
// POST /v1beta/models/{model}:streamGenerateContent?alt=sse (SSE, each
// chunk "data: {...}\r\n\r\n", no terminating event; without alt=sse a
// JSON array of the chunks), POST /v1beta/models/{model}:countTokens,
// GET /v1beta/models and GET /v1beta/models/{model}. The Gemini fake checks
// request bodies as the API does (unknown member names, roles, empty parts,
// base64 inline data) and answers with the API's error bodies.
//
// A [Behavior] set with [Server.Set] chooses the answer: the reply text, a
// tool call, the usage reported, an error status, delays, a stream cut
// short or a request that hangs (and, for Gemini, a blocked prompt or
// another finish reason). [Server.Requests] records what the server
// received, and [Server.Canceled] and [Server.Open] let tests check that a
// gateway cancels upstream requests and leaks none.
package fakeprovider
