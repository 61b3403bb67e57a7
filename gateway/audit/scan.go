package audit

import "strings"

// editor builds a copy of s with some ranges replaced, in increasing
// order; when nothing is replaced, the result is s itself (no copy).
type editor struct {
	s      string
	b      strings.Builder
	last   int // end of the last replaced range
	edited bool
}

func (e *editor) replace(from, to int, with string) {
	if !e.edited {
		e.edited = true
		e.b.Grow(len(e.s))
	}
	e.b.WriteString(e.s[e.last:from])
	e.b.WriteString(with)
	e.last = to
}

func (e *editor) result() string {
	if !e.edited {
		return e.s
	}
	e.b.WriteString(e.s[e.last:])
	return e.b.String()
}

func isBase62(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z'
}

// isKeyChar: base62, '_' and '-', the characters of provider keys.
func isKeyChar(c byte) bool { return isBase62(c) || c == '_' || c == '-' }

func isWordChar(c byte) bool { return isBase62(c) || c == '_' }

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' || 'a' <= c && c <= 'f'
}

// isSpace is JSON and HTTP white space (and form feed).
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

// run returns the end of the run of bytes satisfying ok that starts at i.
func run(s string, i int, ok func(byte) bool) int {
	for i < len(s) && ok(s[i]) {
		i++
	}
	return i
}

func skipSpace(s string, i int) int { return run(s, i, isSpace) }

// quoteOrBackslash returns the index of the first '"' or '\\' in s from i,
// or -1.
func quoteOrBackslash(s string, i int) int {
	q := strings.IndexByte(s[i:], '"')
	if q < 0 {
		q = len(s) - i
	}
	if b := strings.IndexByte(s[i:i+q], '\\'); b >= 0 {
		return i + b
	}
	if i+q == len(s) {
		return -1
	}
	return i + q
}

// redactShape replaces every prefix followed by at least minRun key
// characters (of class ok), from the prefix to the end of the run, when
// at(s, p) accepts the prefix's position p.
func redactShape(s, prefix string, minRun int, ok func(byte) bool, at func(s string, p int) bool) string {
	if !strings.Contains(s, prefix) {
		return s
	}
	e := editor{s: s}
	for i := 0; ; {
		j := strings.Index(s[i:], prefix)
		if j < 0 {
			break
		}
		p := i + j
		end := run(s, p+len(prefix), ok)
		if end-p-len(prefix) >= minRun && (at == nil || at(s, p)) {
			e.replace(p, end, Redacted)
			i = end
		} else {
			i = p + 1
		}
	}
	return e.result()
}

// redactGatewayTokens: "llmgw_" + 49 base62 characters. Any run of 8 or
// more is removed, so a cut or altered token goes too; the display form
// (prefix + 4 characters) stays readable.
func redactGatewayTokens(s string) string {
	return redactShape(s, "llmgw_", 8, isBase62, nil)
}

// redactSKKeys: OpenAI (sk-, sk-proj-, sk-svcacct-), Anthropic (sk-ant-)
// and OpenAI-compatible keys, "sk-" and 20 or more key characters. "sk-"
// must not follow a letter, digit or underscore ("task-…", "disk-…" stay),
// except as the end of an escape (\n or \u0022 in JSON, %22 in a URL),
// which counts as a boundary, or when what follows mixes upper case, lower
// case and digits, as a key does.
func redactSKKeys(s string) string {
	return redactShape(s, "sk-", 20, isKeyChar, func(s string, p int) bool {
		switch {
		case p == 0 || !isWordChar(s[p-1]):
			return true
		case p >= 2 && s[p-2] == '\\' && strings.IndexByte("nrtbf", s[p-1]) >= 0:
			return true
		case p >= 6 && s[p-6] == '\\' && s[p-5] == 'u' && isHex(s[p-4]) && isHex(s[p-3]) && isHex(s[p-2]) && isHex(s[p-1]):
			return true
		case p >= 3 && s[p-3] == '%' && isHex(s[p-2]) && isHex(s[p-1]):
			return true
		case looksRandom(s[p+len("sk-") : run(s, p+len("sk-"), isKeyChar)]):
			// Glued to a word ("0sk-…", "keysk-…") but mixing upper
			// case, lower case and digits as keys do and hyphenated
			// words do not.
			return true
		}
		return false
	})
}

// looksRandom reports whether s has an upper-case letter, a lower-case
// letter and a digit.
func looksRandom(s string) bool {
	var up, lo, digit bool
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'A' <= c && c <= 'Z':
			up = true
		case 'a' <= c && c <= 'z':
			lo = true
		case '0' <= c && c <= '9':
			digit = true
		}
	}
	return up && lo && digit
}

// redactGoogleKeys: "AIza" + 35 key characters.
func redactGoogleKeys(s string) string {
	return redactShape(s, "AIza", 35, isKeyChar, nil)
}

// indexFold returns the index of the first occurrence of the lower-case
// ASCII word in s, ignoring ASCII case, or -1. It looks for the first
// letter in either case with IndexByte, remembering where the next of each
// is, so it stays linear.
func indexFold(s, word string) int {
	const unknown = -2
	lo, up := word[0], word[0]-'a'+'A'
	nextLo, nextUp := unknown, unknown // next index of each, -1 if none
	for i := 0; i+len(word) <= len(s); {
		if nextLo == unknown || nextLo >= 0 && nextLo < i {
			nextLo = indexByteFrom(s, i, lo)
		}
		if nextUp == unknown || nextUp >= 0 && nextUp < i {
			nextUp = indexByteFrom(s, i, up)
		}
		j := nextLo
		if nextUp >= 0 && (j < 0 || nextUp < j) {
			j = nextUp
		}
		if j < 0 || j+len(word) > len(s) {
			return -1
		}
		if hasPrefixFold(s[j:], word) {
			return j
		}
		i = j + 1
	}
	return -1
}

// indexByteFrom returns the index of the first c in s from i, or -1.
func indexByteFrom(s string, i int, c byte) int {
	if j := strings.IndexByte(s[i:], c); j >= 0 {
		return i + j
	}
	return -1
}

// hasPrefixFold reports whether s starts with word (lower case, ASCII),
// ignoring ASCII case.
func hasPrefixFold(s, word string) bool {
	if len(s) < len(word) {
		return false
	}
	for i := 0; i < len(word); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != word[i] {
			return false
		}
	}
	return true
}

// redactBearer: "Bearer <credential>", any case, "Bearer" followed by
// spaces or tabs. The credential runs up to white space or a quote; a
// JSON escape (\/, \\) does not end it, an escaped quote (\") does. No word
// boundary is needed before "Bearer", so "\nBearer x" in a JSON string is
// caught.
func redactBearer(s string) string {
	const word = "bearer"
	e := editor{s: s}
	for i := 0; ; {
		j := indexFold(s[i:], word)
		if j < 0 {
			break
		}
		q := i + j + len(word)
		c := q
		for c < len(s) && (s[c] == ' ' || s[c] == '\t') {
			c++
		}
		end := c
		if c > q {
			for end < len(s) {
				b := s[end]
				if b == '\\' && end+1 < len(s) && s[end+1] != '"' && !isSpace(s[end+1]) {
					end += 2
					continue
				}
				if b == '\\' || b == '"' || b == '\'' || isSpace(b) {
					break
				}
				end++
			}
		}
		if end > c {
			e.replace(c, end, Redacted)
		}
		i = max(end, q)
	}
	return e.result()
}

// credentialName reports whether the JSON field name key ends with one of
// credentialNames, ignoring ASCII case.
func credentialName(key string) bool {
	if len(key) < len("passwd") {
		return false
	}
	switch key[len(key)-1] | 0x20 {
	case 'y', 'n', 'd', 't':
	default:
		return false
	}
	for _, n := range credentialNames {
		if len(key) >= len(n) && hasPrefixFold(key[len(key)-len(n):], n) {
			return true
		}
	}
	return false
}

// jsonNumber returns the end of a JSON number-like value at i
// (-?[0-9][0-9A-Za-z.+-]*), or -1.
func jsonNumber(s string, i int) int {
	j := i
	if j < len(s) && s[j] == '-' {
		j++
	}
	if j >= len(s) || s[j] < '0' || s[j] > '9' {
		return -1
	}
	return run(s, j, func(c byte) bool { return isBase62(c) || c == '.' || c == '+' || c == '-' })
}

// redactJSONFields replaces the value of every JSON field named like a
// credential (see credentialNames): a string, or a number. An unterminated
// string (a body cut before) is redacted to the end.
func redactJSONFields(s string) string {
	e := editor{s: s}
	for i := 0; ; {
		j := strings.IndexByte(s[i:], '"')
		if j < 0 {
			break
		}
		q := i + j // a possible key's opening quote
		k := quoteOrBackslash(s, q+1)
		if k < 0 {
			break
		}
		if s[k] != '"' || !credentialName(s[q+1:k]) {
			i = k // a closing quote may open the next key
			continue
		}
		v := skipSpace(s, k+1)
		if v >= len(s) || s[v] != ':' {
			i = k
			continue
		}
		v = skipSpace(s, v+1)
		end := -1
		if v < len(s) && s[v] == '"' {
			end = len(s) // unterminated: to the end
			for r := v + 1; r < len(s); r++ {
				if s[r] == '\\' {
					r++
				} else if s[r] == '"' {
					end = r + 1
					break
				}
			}
		} else {
			end = jsonNumber(s, v)
		}
		if end < 0 {
			i = k
			continue
		}
		e.replace(v, end, `"`+Redacted+`"`)
		i = end
	}
	return e.result()
}

// redactEscapedJSONFields does the same inside a JSON string holding JSON
// (tool-call arguments): \"password\":\"…\". Inside such a value, \\\" is
// an escaped quote and \\\\ an escaped backslash.
func redactEscapedJSONFields(s string) string {
	const quote = `\"`
	e := editor{s: s}
	for i := 0; ; {
		j := strings.Index(s[i:], quote)
		if j < 0 {
			break
		}
		q := i + j
		k := quoteOrBackslash(s, q+2)
		if k < 0 {
			break
		}
		if !strings.HasPrefix(s[k:], quote) || !credentialName(s[q+2:k]) {
			i = q + 1
			continue
		}
		v := skipSpace(s, k+2)
		if v >= len(s) || s[v] != ':' {
			i = q + 1
			continue
		}
		v = skipSpace(s, v+1)
		end := -1
		if strings.HasPrefix(s[v:], quote) {
			end = escapedStringEnd(s, v+2)
		} else {
			end = jsonNumber(s, v)
		}
		if end < 0 {
			i = q + 1
			continue
		}
		e.replace(v, end, quote+Redacted+quote)
		i = end
	}
	return e.result()
}

// escapedStringEnd returns the end of an escaped JSON string whose content
// starts at r: past its closing \", or len(s) when only backslashes (or
// nothing) follow the content; -1 otherwise.
func escapedStringEnd(s string, r int) int {
	for r < len(s) {
		switch {
		case strings.HasPrefix(s[r:], `\\\\`), strings.HasPrefix(s[r:], `\\\"`):
			r += 4 // an escaped backslash or quote of the inner JSON
		case strings.HasPrefix(s[r:], `\\`) && r+2 < len(s) && s[r+2] != '"' && s[r+2] != '\\':
			r += 3 // another escape of the inner JSON: \\n
		case s[r] == '\\' && r+1 < len(s) && s[r+1] != '"' && s[r+1] != '\\':
			r += 2 // an escape of the outer JSON: \/
		case s[r] != '"' && s[r] != '\\':
			r++
		default:
			if strings.HasPrefix(s[r:], `\"`) {
				return r + 2
			}
			if run(s, r, func(c byte) bool { return c == '\\' }) == len(s) {
				return len(s)
			}
			return -1
		}
	}
	return len(s)
}
