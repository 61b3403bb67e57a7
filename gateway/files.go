package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/provider"
)

// The OpenAI files API (/v1/files…) is passed through to an OpenAI or
// Azure OpenAI provider: uploads (multipart, streamed, never held whole),
// listing, retrieval, content download and deletion. Files have no model,
// so the provider is the one the client names in the ProviderHeader, or
// else the first openai (on the OpenAI surface) or azure (on the Azure
// surface) provider of the configuration, falling back to the other type.
// Requests are authenticated and audited like any other; they cost
// nothing and reserve nothing.

// ProviderHeader names the provider a files request goes to.
const ProviderHeader = "Llm-Gateway-Provider"

// opFiles is the operation of a files API request, in audit records.
const opFiles provider.Operation = "files"

// MaxFileUpload bounds a file upload: OpenAI's own limit per file.
const MaxFileUpload = 512 << 20

// fileQuery are the query parameters of the files API passed through.
var fileQuery = []string{"purpose", "limit", "order", "after"}

func (g *Gateway) fileRoutes(mux *http.ServeMux) {
	for _, root := range []struct {
		prefix  string
		surface Surface
	}{{"/v1", SurfaceOpenAI}, {"/openai", SurfaceAzure}, {"/openai/v1", SurfaceAzure}} {
		s := root.surface
		h := func(w http.ResponseWriter, r *http.Request) { g.serveFiles(w, r, s) }
		mux.HandleFunc("POST "+root.prefix+"/files", h)
		mux.HandleFunc("GET "+root.prefix+"/files", h)
		mux.HandleFunc("GET "+root.prefix+"/files/{id}", h)
		mux.HandleFunc("DELETE "+root.prefix+"/files/{id}", h)
		mux.HandleFunc("GET "+root.prefix+"/files/{id}/content", h)
	}
}

// serveFiles passes one files API request through.
func (g *Gateway) serveFiles(w http.ResponseWriter, r *http.Request, s Surface) {
	x := &exchange{ep: endpoint{surface: s, op: opFiles}, start: time.Now(), cacheStatus: cacheBypass}
	defer g.finish(x)
	if !g.begin(w, r, x) {
		return
	}
	p, fwd, aerr := g.fileProvider(r, s)
	if aerr != nil {
		g.fail(w, x, aerr)
		return
	}
	x.provider = p
	f := &provider.Forward{Method: r.Method, Path: "/files", Query: url.Values{}, ContentLength: -1}
	if fid := r.PathValue("id"); fid != "" {
		seg, err := fileSegment(fid)
		if err != nil {
			g.fail(w, x, err)
			return
		}
		f.Path += "/" + seg
		if len(r.URL.Path) > len("/content") && r.URL.Path[len(r.URL.Path)-len("/content"):] == "/content" {
			f.Path += "/content"
		}
	}
	q := r.URL.Query()
	for _, k := range fileQuery {
		if v, ok := q[k]; ok {
			f.Query[k] = v
		}
	}
	if r.Method == http.MethodPost {
		if r.ContentLength > MaxFileUpload {
			g.fail(w, x, &apiError{status: http.StatusRequestEntityTooLarge, kind: kindTooLarge, code: "request_too_large",
				message: fmt.Sprintf("file uploads are limited to %d bytes", MaxFileUpload)})
			return
		}
		f.Body, f.ContentLength = http.MaxBytesReader(w, r.Body, MaxFileUpload), r.ContentLength
		f.ContentType = r.Header.Get("Content-Type")
	}
	if g.keys != nil {
		k, err := g.keys.ProviderKey(r.Context(), p.Name(), x.id.Service, func(string) bool { return true })
		if err != nil {
			g.fail(w, x, fmt.Errorf("choosing the key of provider %q: %w", p.Name(), err))
			return
		}
		f.APIKey, f.BaseURL = k.Key, k.BaseURL
	}
	resp, err := fwd.Forward(r.Context(), f)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			g.fail(w, x, &apiError{status: http.StatusRequestEntityTooLarge, kind: kindTooLarge, code: "request_too_large",
				message: fmt.Sprintf("file uploads are limited to %d bytes", MaxFileUpload)})
			return
		}
		g.fail(w, x, g.sendError(x, r.Context(), err))
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		g.relayError(w, x, resp)
		return
	}
	for _, h := range append([]string{"Content-Type", "Content-Disposition"}, responseHeaders...) {
		if v := resp.Header.Values(h); len(v) > 0 {
			w.Header()[h] = v
		}
	}
	if resp.ContentLength >= 0 {
		w.Header().Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
	x.status = resp.StatusCode
	x.markFirstByte()
	w.WriteHeader(resp.StatusCode)
	if err := copyBody(w, resp.Body); err != nil {
		g.log.Debug("relaying a file", zap.Error(err))
	}
}

// fileProvider picks the provider of a files request.
func (g *Gateway) fileProvider(r *http.Request, s Surface) (provider.Provider, provider.Forwarder, *apiError) {
	if name := r.Header.Get(ProviderHeader); name != "" {
		p, ok := g.providers[name]
		if !ok {
			return nil, nil, &apiError{status: http.StatusNotFound, kind: kindNotFound, code: "provider_not_found",
				message: fmt.Sprintf("no provider is named %q", name)}
		}
		f, ok := p.(provider.Forwarder)
		if !ok || (p.Type() != "openai" && p.Type() != "azure") {
			return nil, nil, badRequest(fmt.Sprintf("provider %q (%s) has no files API; files go to openai and azure providers", name, p.Type()))
		}
		return p, f, nil
	}
	prefer := []string{"openai", "azure"}
	if s == SurfaceAzure {
		prefer = []string{"azure", "openai"}
	}
	for _, typ := range prefer {
		for _, name := range g.order {
			if p := g.providers[name]; p.Type() == typ {
				if f, ok := p.(provider.Forwarder); ok {
					return p, f, nil
				}
			}
		}
	}
	return nil, nil, badRequest("no openai or azure provider is configured, so the files API is unavailable")
}

// fileSegment checks a file ID and escapes it as one path segment.
func fileSegment(id string) (string, *apiError) {
	if id == "" || id == "." || id == ".." || len(id) > 256 {
		return "", badRequest("invalid file id")
	}
	for _, r := range id {
		if r < 0x20 || r == 0x7f {
			return "", badRequest("invalid file id")
		}
	}
	return url.PathEscape(id), nil
}
