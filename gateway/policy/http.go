package policy

import (
	"net"
	"net/http"
	"strings"
)

// Limits of what HTTPHeaders exposes.
const (
	// MaxHeaders is how many headers a policy sees at most.
	MaxHeaders = 64
	// MaxHeaderValue is the length, in bytes, at which a header value is cut.
	MaxHeaderValue = 1024
)

// hiddenHeaders never reach a policy: credentials and cookies.
var hiddenHeaders = map[string]bool{"Authorization": true, "Proxy-Authorization": true, "Cookie": true,
	"Api-Key": true, "X-Api-Key": true, "X-Goog-Api-Key": true}

// HTTPHeaders returns the request headers a policy sees (Request.Headers):
// the first value of each, under its lower-cased name, cut at
// MaxHeaderValue bytes, at most MaxHeaders of them, and never a credential
// (Authorization, Proxy-Authorization, Cookie, Api-Key, X-Api-Key,
// X-Goog-Api-Key). h is keyed by canonical names, as net/http reads them.
func HTTPHeaders(h http.Header) map[string]string {
	out := make(map[string]string, min(len(h), MaxHeaders))
	for k, v := range h {
		if hiddenHeaders[k] || len(v) == 0 || len(out) == MaxHeaders {
			continue
		}
		val := v[0]
		if len(val) > MaxHeaderValue {
			val = val[:MaxHeaderValue]
		}
		out[strings.ToLower(k)] = val
	}
	return out
}

// ClientIP returns the host part of a request's remote address
// (Request.ClientIP), or "" when it has none.
func ClientIP(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return ""
	}
	return host
}
