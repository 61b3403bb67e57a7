package meter

import (
	"bytes"
	"strconv"
)

// A minimal, allocation-free JSON scanner: enough to walk the members of an
// object, the elements of an array, and skip any value, without decoding
// what the meter does not need. It trusts its input to be JSON (provider
// answers are); on malformed input it stops early and reports nothing, and
// it never panics or recurses, so hostile nesting cannot exhaust the stack.

// skipSpace returns the index of the first byte at or after i that is not
// JSON whitespace.
func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// stringEnd returns the index just past the closing quote of the string
// whose opening quote is b[i], or -1 when the string is not terminated.
func stringEnd(b []byte, i int) int {
	j := i + 1
	// Most strings (keys, ids, token-sized deltas) are short: scan them
	// inline, and leave longer ones to IndexByte.
	for end := min(len(b), j+24); j < end; j++ {
		switch b[j] {
		case '"':
			return j + 1
		case '\\':
			j++
		}
	}
	for j < len(b) {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return -1
		}
		q := j + k
		// The quote is escaped when an odd number of backslashes precede it.
		n := 0
		for p := q - 1; p > i && b[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return q + 1
		}
		j = q + 1
	}
	return -1
}

// valueEnd returns the index just past the JSON value that starts at b[i]
// (no leading whitespace), or -1 when there is none or it is cut short.
// Objects and arrays are skipped by counting brackets outside strings.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				e := stringEnd(b, j)
				if e < 0 {
					return -1
				}
				j = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	case '}', ']', ',', ':':
		return -1
	default: // number, true, false, null
		j := i
		for j < len(b) {
			switch b[j] {
			case ',', '}', ']', ' ', '\t', '\n', '\r', ':', '"', '{', '[':
				return j
			}
			j++
		}
		return j
	}
}

// object iterates over the members of a JSON object.
type object struct {
	b    []byte
	i    int
	done bool
}

// newObject starts iterating over v, which must hold a JSON object
// (leading whitespace allowed); anything else yields no members.
func newObject(v []byte) object {
	i := skipSpace(v, 0)
	if i >= len(v) || v[i] != '{' {
		return object{done: true}
	}
	return object{b: v, i: i + 1}
}

// next returns the next member: its raw key (between the quotes, escapes
// not decoded) and its raw value.
func (o *object) next() (key, val []byte, ok bool) {
	if o.done {
		return nil, nil, false
	}
	b := o.b
	i := skipSpace(b, o.i)
	if i < len(b) && b[i] == ',' {
		i = skipSpace(b, i+1)
	}
	if i >= len(b) || b[i] != '"' {
		o.done = true
		return nil, nil, false
	}
	e := stringEnd(b, i)
	if e < 0 {
		o.done = true
		return nil, nil, false
	}
	key = b[i+1 : e-1]
	i = skipSpace(b, e)
	if i >= len(b) || b[i] != ':' {
		o.done = true
		return nil, nil, false
	}
	i = skipSpace(b, i+1)
	ve := valueEnd(b, i)
	if ve < 0 {
		o.done = true
		return nil, nil, false
	}
	o.i = ve
	return key, b[i:ve], true
}

// array iterates over the elements of a JSON array.
type array struct {
	b    []byte
	i    int
	done bool
}

// newArray starts iterating over v, which must hold a JSON array.
func newArray(v []byte) array {
	i := skipSpace(v, 0)
	if i >= len(v) || v[i] != '[' {
		return array{done: true}
	}
	return array{b: v, i: i + 1}
}

// next returns the next element's raw value.
func (a *array) next() (val []byte, ok bool) {
	if a.done {
		return nil, false
	}
	b := a.b
	i := skipSpace(b, a.i)
	if i < len(b) && b[i] == ',' {
		i = skipSpace(b, i+1)
	}
	if i >= len(b) || b[i] == ']' {
		a.done = true
		a.i = i + 1
		return nil, false
	}
	ve := valueEnd(b, i)
	if ve < 0 {
		a.done = true
		return nil, false
	}
	a.i = ve
	return b[i:ve], true
}

// end returns the index just past the array's closing bracket, once next
// has reported its last element.
func (a *array) end() int { return a.i }

// field returns the value of the first member of object v named key.
func field(v []byte, key string) ([]byte, bool) {
	o := newObject(v)
	for k, val, ok := o.next(); ok; k, val, ok = o.next() {
		if string(k) == key {
			return val, true
		}
	}
	return nil, false
}

// keyValue finds the member named key anywhere in data at or after from,
// without walking the structure: it returns the member's value and the
// index just past it.
//
// This is sound for JSON because the byte sequence `"key"` followed by a
// colon cannot occur inside a string (every quote inside a string is
// escaped, so the byte before it is a backslash, never the key's last
// letter): a match is always a member name. It may be a member of a nested
// object, so it is only used for names that occur once in the events it
// reads (documented at each use). The search looks for the bare name, whose
// first letter is rarer in JSON than a quote, then checks the quotes.
func keyValue(data []byte, from int, key string) (val []byte, end int, ok bool) {
	i, ok := keyStart(data, from, key)
	if !ok {
		return nil, 0, false
	}
	e := valueEnd(data, i)
	if e < 0 {
		return nil, 0, false
	}
	return data[i:e], e, true
}

// keyStart is keyValue without finding the value's end: it returns where
// the value starts, for a caller that iterates over it anyway (the object
// and array iterators stop at the value's closing bracket).
func keyStart(data []byte, from int, key string) (int, bool) {
	for from < len(data) {
		k := bytes.Index(data[from:], []byte(key))
		if k < 0 {
			return 0, false
		}
		at := from + k
		from = at + 1
		after := at + len(key)
		if at == 0 || data[at-1] != '"' || after >= len(data) || data[after] != '"' {
			continue
		}
		i := skipSpace(data, after+1)
		if i >= len(data) || data[i] != ':' {
			continue
		}
		return skipSpace(data, i+1), true
	}
	return 0, false
}

// isObject reports whether v is a JSON object (not null, not a scalar).
func isObject(v []byte) bool { return len(v) > 0 && v[0] == '{' }

// isString reports whether v is a JSON string.
func isString(v []byte) bool { return len(v) >= 2 && v[0] == '"' }

// isArray reports whether v is a JSON array.
func isArray(v []byte) bool { return len(v) > 0 && v[0] == '[' }

// stringBody returns the raw bytes between a JSON string's quotes.
func stringBody(v []byte) []byte {
	if !isString(v) {
		return nil
	}
	return v[1 : len(v)-1]
}

// maxCount caps any token count read from an answer, so that sums of a
// few counts can never overflow int64, whatever a provider sends.
const maxCount = 1 << 50

// count parses a token count: a non-negative JSON number. Fractions are
// truncated, negatives read as 0, huge values are capped at maxCount, and
// null, strings or garbage report false.
func count(v []byte) (int64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	var n int64
	i := 0
	neg := false
	if v[0] == '-' {
		neg = true
		i = 1
	}
	start := i
	for ; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			break
		}
		if n < maxCount {
			n = n*10 + int64(c-'0')
		}
	}
	if i == start {
		return 0, false
	}
	if i < len(v) {
		if c := v[i]; c != '.' && c != 'e' && c != 'E' {
			return 0, false
		}
		// A fraction or an exponent: rare enough to afford strconv.
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return 0, false
		}
		switch {
		case f < 0:
			return 0, true
		case f > maxCount:
			return maxCount, true
		}
		return int64(f), true
	}
	if neg {
		return 0, true
	}
	if n > maxCount {
		n = maxCount
	}
	return n, true
}
