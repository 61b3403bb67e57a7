package fakeprovider

// The Azure OpenAI data-plane inference API, as documented by the Azure
// OpenAI REST API reference: the dated deployment paths
//
//	POST /openai/deployments/{deployment-id}/chat/completions?api-version=...
//	POST /openai/deployments/{deployment-id}/embeddings?api-version=...
//	POST /openai/responses?api-version=...
//
// which require the api-version query parameter, and the v1 paths
// /openai/v1/{chat/completions,responses,embeddings,models} where it is
// optional and the body's model names the deployment. Bodies are OpenAI's
// (openai.go); chat completions carry Azure's content filtering
// annotations (prompt_filter_results, content_filter_results) and streams
// start with Azure's prompt-filter chunk that has no choices.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// serveAzure answers a request to an Azure OpenAI fake.
func (s *Server) serveAzure(x *exchange) {
	path := x.r.URL.Path
	v1, isV1 := strings.CutPrefix(path, "/openai/v1/")
	if !x.azureAuth(isV1) {
		return
	}
	if x.b.Status >= 400 {
		x.statusError()
		return
	}
	post, get := x.r.Method == http.MethodPost, x.r.Method == http.MethodGet
	if isV1 {
		switch {
		case v1 == "chat/completions" && post:
			x.chatCompletions("")
		case v1 == "responses" && post:
			x.responses()
		case v1 == "embeddings" && post:
			x.embeddings("")
		case v1 == "files" || strings.HasPrefix(v1, "files/"):
			x.files(v1)
		case v1 == "models" && get:
			x.listModels()
		case strings.HasPrefix(v1, "models/") && get:
			x.retrieveModel(strings.TrimPrefix(v1, "models/"))
		default:
			x.azureNotFound()
		}
		return
	}
	if x.r.URL.Query().Get("api-version") == "" {
		// Azure answers a dated path without api-version as an unknown
		// resource.
		x.azureNotFound()
		return
	}
	if path == "/openai/files" || strings.HasPrefix(path, "/openai/files/") {
		x.files(strings.TrimPrefix(path, "/openai/"))
		return
	}
	if path == "/openai/responses" && post {
		x.responses()
		return
	}
	rest, ok := strings.CutPrefix(path, "/openai/deployments/")
	deployment, op, _ := strings.Cut(rest, "/")
	switch {
	case ok && deployment != "" && op == "chat/completions" && post:
		x.chatCompletions(deployment)
	case ok && deployment != "" && op == "embeddings" && post:
		x.embeddings(deployment)
	default:
		x.azureNotFound()
	}
}

// azureAuth checks the "api-key" header (or, on the v1 paths, also
// "Authorization: Bearer <key>"), answering 401 as Azure does.
func (x *exchange) azureAuth(v1 bool) bool {
	if k := x.r.Header.Get("api-key"); k != "" && k == x.s.key {
		return true
	}
	if token, ok := bearer(x.r.Header); v1 && ok && token == x.s.key {
		return true
	}
	x.azureError(http.StatusUnauthorized, "401", "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.")
	return false
}

// azureHeaders are the headers Azure OpenAI sends on every response.
func (x *exchange) azureHeaders() http.Header {
	id := randomUUID()
	return http.Header{
		"Apim-Request-Id":                {id},
		"X-Request-Id":                   {id},
		"X-Ms-Region":                    {"East US"},
		"X-Ratelimit-Remaining-Requests": {"999"},
		"X-Ratelimit-Remaining-Tokens":   {"99980"},
	}
}

// azureError answers status with Azure's {"error":{"code","message"}} body.
func (x *exchange) azureError(status int, code, message string) {
	body := struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}{}
	body.Error.Code, body.Error.Message = code, message
	x.writeJSON(status, x.azureHeaders(), body)
}

func (x *exchange) azureNotFound() {
	x.azureError(http.StatusNotFound, "404", "Resource not found")
}

// azureStatusError answers status with the body Azure OpenAI sends for it.
func (x *exchange) azureStatusError(status int) {
	switch {
	case status == http.StatusBadRequest:
		x.openAIError(status, "Invalid request.", "invalid_request_error", "", "")
	case status == http.StatusUnauthorized:
		x.azureError(status, "401", "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.")
	case status == http.StatusForbidden:
		x.azureError(status, "PermissionDenied", "Principal does not have access to API/Operation.")
	case status == http.StatusNotFound:
		x.azureError(status, "DeploymentNotFound", "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.")
	case status == http.StatusTooManyRequests:
		version := x.r.URL.Query().Get("api-version")
		if version == "" {
			version = "v1"
		}
		x.azureError(status, "429", fmt.Sprintf("Requests to the %s Operation under Azure OpenAI API version %s have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 1 second. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit.", azureOperation(x.r.URL.Path), version))
	case status == http.StatusServiceUnavailable:
		x.azureError(status, "ServiceUnavailable", "The service is temporarily unable to process your request. Please try again later.")
	case status >= 500:
		x.openAIError(status, "The server had an error while processing your request. Sorry about that!", "server_error", "", "")
	default:
		x.azureError(status, fmt.Sprint(status), http.StatusText(status))
	}
}

// azureOperation names the operation of a path as Azure's rate limit
// messages do.
func azureOperation(path string) string {
	switch {
	case strings.HasSuffix(path, "/chat/completions"):
		return "ChatCompletions_Create"
	case strings.HasSuffix(path, "/embeddings"):
		return "Embeddings_Create"
	case strings.HasSuffix(path, "/responses"):
		return "Responses_Create"
	}
	return "Unknown"
}

// azurePromptFilterResults is Azure's prompt annotation for a prompt that
// passed every content filter.
var azurePromptFilterResults = json.RawMessage(`[{"prompt_index":0,"content_filter_results":{` +
	`"hate":{"filtered":false,"severity":"safe"},` +
	`"jailbreak":{"filtered":false,"detected":false},` +
	`"self_harm":{"filtered":false,"severity":"safe"},` +
	`"sexual":{"filtered":false,"severity":"safe"},` +
	`"violence":{"filtered":false,"severity":"safe"}}}]`)

// azureContentFilterResults is Azure's annotation of a completion choice
// that passed every content filter.
var azureContentFilterResults = json.RawMessage(`{` +
	`"hate":{"filtered":false,"severity":"safe"},` +
	`"protected_material_code":{"filtered":false,"detected":false},` +
	`"protected_material_text":{"filtered":false,"detected":false},` +
	`"self_harm":{"filtered":false,"severity":"safe"},` +
	`"sexual":{"filtered":false,"severity":"safe"},` +
	`"violence":{"filtered":false,"severity":"safe"}}`)
