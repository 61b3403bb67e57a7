package audit

import (
	"cmp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Redaction markers and limits.
const (
	// Redacted replaces every secret found in a body.
	Redacted = "[REDACTED]"
	// Truncated ends a body cut at its limit.
	Truncated = "…[truncated]"
	// DefaultBodyLimit is the limit of Redact when given none: 64 KiB.
	DefaultBodyLimit = 64 << 10
	// MinSecretLen is the length under which NewRedactor ignores a secret:
	// replacing very short strings would mangle bodies and protect little.
	MinSecretLen = 8
)

// credentialNames are the JSON field names whose values are redacted,
// matched case-insensitively at the end of the name, so "x-api-key",
// "openai_api_key", "apiKey", "client_secret" and "db_password" are all
// covered. Lower case.
var credentialNames = []string{
	"api_key", "api-key", "apikey",
	"authorization",
	"password", "passwd",
	"secret",
	"access_token", "access-token", "accesstoken",
	"refresh_token", "refresh-token", "refreshtoken",
	"private_key", "private-key", "privatekey",
}

// The patterns are matched by small scanners rather than regular
// expressions: Go's regexp runs its NFA over every byte when a pattern has
// no literal prefix (about 1 ms for a 4 KB body here); the scanners find
// candidates with strings.Index and are linear.
//
// They run in this order: the ones recognising a secret by its context (a
// "Bearer" scheme, a field name) first, so a key shape running into the
// context (a key followed by "Bearer" with no space) cannot hide it.
var patterns = []func(string) string{
	redactBearer,
	redactJSONFields,
	redactEscapedJSONFields,
	redactGatewayTokens,
	redactSKKeys,
	redactGoogleKeys,
}

// tailGuard bounds how much of a pattern's secret cut at the end of the
// text can stay unrecognised: less than "AIza" + 35 characters. (A JSON
// value cut at the end is redacted to the end.)
const tailGuard = 64

// Redactor removes secrets from captured bodies. It is safe for concurrent
// use; a nil *Redactor redacts the patterns only.
type Redactor struct {
	exact   []string // the secrets, longest first
	longest int      // length of the longest one
}

// NewRedactor returns a Redactor that, besides the built-in patterns,
// removes each of secrets (typically the configured provider keys) wherever
// it appears. Empty secrets and secrets shorter than MinSecretLen bytes are
// ignored.
func NewRedactor(secrets ...string) *Redactor {
	var keep []string
	for _, s := range secrets {
		if len(s) >= MinSecretLen {
			keep = append(keep, s)
		}
	}
	r := &Redactor{}
	if len(keep) == 0 {
		return r
	}
	slices.SortFunc(keep, func(a, b string) int { return cmp.Or(cmp.Compare(len(b), len(a)), cmp.Compare(a, b)) })
	r.exact = slices.Compact(keep)
	r.longest = len(keep[0])
	return r
}

// redactExact replaces every occurrence of the exact secrets. Occurrences
// are found first, overlapping ones (of one secret or of several) merged,
// and each merged range replaced once, so no fragment of a secret can
// remain between two replacements.
func (r *Redactor) redactExact(s string) string {
	var spans [][2]int
	for _, x := range r.exact {
		for i := 0; ; {
			j := strings.Index(s[i:], x)
			if j < 0 {
				break
			}
			spans = append(spans, [2]int{i + j, i + j + len(x)})
			i += j + 1
		}
	}
	if spans == nil {
		return s
	}
	slices.SortFunc(spans, func(a, b [2]int) int { return cmp.Compare(a[0], b[0]) })
	e := editor{s: s}
	from, to := spans[0][0], spans[0][1]
	for _, sp := range spans[1:] {
		if sp[0] <= to {
			to = max(to, sp[1])
			continue
		}
		e.replace(from, to, Redacted)
		from, to = sp[0], sp[1]
	}
	e.replace(from, to, Redacted)
	return e.result()
}

// Redact returns body with every secret replaced by Redacted, made valid
// UTF-8, then cut to at most limit bytes (limit ≤ 0 means
// DefaultBodyLimit) on a character boundary, with Truncated appended when
// anything was cut. Redaction comes first, so no part of a secret survives
// a cut; a cut that would fall inside a Redacted marker moves before it.
//
// Only a prefix of a large body is examined: enough that, redacted, it
// still runs well past limit, so the cost depends on limit rather than on
// the body's size.
func (r *Redactor) Redact(body []byte, limit int) string {
	if limit <= 0 {
		limit = DefaultBodyLimit
	}
	// A secret cut at the end of the examined prefix may stay partly
	// unrecognised, but only within its last t bytes (less than a pattern's
	// minimum or the longest exact secret). Redaction at most about
	// doubles text (`"apikey":1` becomes `"apikey":"[REDACTED]"`), so in
	// the redacted prefix that part lies within the last 4t bytes: once
	// those are beyond limit, the cut at limit drops them.
	t := tailGuard
	if r != nil {
		t += r.longest
	}
	guard := 4 * t
	n := len(body)
	if limit < n {
		n = min(n, limit+limit/4+guard)
	}
	for {
		out := r.redact(string(body[:n]))
		if n == len(body) || len(out) >= limit+guard {
			return truncate(out, limit)
		}
		n = min(len(body), 2*n)
	}
}

// redact applies the exact secrets and the patterns to s.
func (r *Redactor) redact(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if r != nil && r.exact != nil {
		s = r.redactExact(s)
	}
	for _, p := range patterns {
		s = p(s)
	}
	return s
}

// truncate cuts the valid UTF-8 string s to at most limit bytes, on a
// character boundary and not inside a Redacted marker.
func truncate(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	for i := max(0, cut-len(Redacted)+1); i < cut; i++ {
		if strings.HasPrefix(s[i:], Redacted) {
			cut = i
			break
		}
	}
	return s[:cut] + Truncated
}
