package anthropic

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strconv"
	"sync"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
	"github.com/go-json-experiment/json/jsontext"
)

// parser reads a JSON body token by token. DecodeRequest uses it rather
// than reflection: requests are the largest bodies the gateway reads, and
// walking the tokens while building the neutral request directly is about
// twice as fast.
//
// Its methods return *llm.Error for values of the wrong type, naming the
// value by its path, and the decoder's error for malformed JSON.
type parser struct {
	buf bytes.Buffer
	d   jsontext.Decoder
	// The decoded request's parts, nested parts (tool result contents,
	// system) and raw JSON values are carved out of these, rather than
	// allocated one by one. They belong to the request once decoded.
	parts, nested []llm.Part
	arena         []byte
	size          int // the body's length
}

var parsers = sync.Pool{New: func() any { return new(parser) }}

// decodeOptions: duplicate names are accepted (the last one wins, as in
// Anthropic's API).
var decodeOptions = jsontext.AllowDuplicateNames(true)

func getParser(body []byte) *parser {
	p := parsers.Get().(*parser)
	p.buf = *bytes.NewBuffer(body)
	p.d.Reset(&p.buf, decodeOptions)
	p.size = len(body)
	return p
}

func putParser(p *parser) {
	p.buf = bytes.Buffer{}
	p.d.Reset(&p.buf)
	p.parts, p.nested, p.arena = nil, nil, nil
	parsers.Put(p)
}

// partsFrom returns the parts appended to slab since start, capped so that
// appending to the result cannot overwrite later parts.
func partsFrom(slab []llm.Part, start int) []llm.Part {
	if len(slab) == start {
		return nil
	}
	return slab[start:len(slab):len(slab)]
}

// param is the path of the value last read, in API notation.
func (p *parser) param() string { return pointerParam(p.d.StackPointer()) }

// mismatch skips a value of the wrong kind and reports it.
func (p *parser) mismatch(want string) error {
	k := p.d.PeekKind()
	if err := p.d.SkipValue(); err != nil {
		return err
	}
	return p.wrongKind(want, k)
}

// wrongKind reports a value of kind k, just read, where want was expected.
func (p *parser) wrongKind(want string, k jsontext.Kind) error {
	return llm.Errorf(p.param(), "expected %s, got %s", want, jsonKind(k))
}

// enter reads the start of an object ('{') or array ('['). It reports
// false, having read it, for null.
func (p *parser) enter(k jsontext.Kind) (bool, error) {
	switch p.d.PeekKind() {
	case k:
		_, err := p.d.ReadToken()
		return err == nil, err
	case 'n':
		_, err := p.d.ReadToken()
		return false, err
	}
	if k == '{' {
		return false, p.mismatch("an object")
	}
	return false, p.mismatch("an array")
}

// more reports whether the object or array being read has another member.
func (p *parser) more() bool {
	k := p.d.PeekKind()
	return k != '}' && k != ']' && k != 0
}

// leave reads the end of an object or array.
func (p *parser) leave() error {
	_, err := p.d.ReadToken()
	return err
}

// members reads an object, calling f with each member's name, positioned
// on the member's value (which f must read or skip). ok is false when the
// value is null (nothing is read then) or not an object.
func (p *parser) members(f func(name string) error) (ok bool, err error) {
	if ok, err = p.enter('{'); !ok {
		return false, err
	}
	for p.more() {
		name, err := p.name()
		if err != nil {
			return true, err
		}
		if err := f(string(name)); err != nil {
			return true, err
		}
	}
	return true, p.leave()
}

// name reads an object member's name. The bytes are valid until the next
// read.
func (p *parser) name() ([]byte, error) {
	v, err := p.d.ReadValue()
	if err != nil {
		return nil, err
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return v[1 : len(v)-1], nil
	}
	return jsontext.AppendUnquote(nil, v)
}

// str reads a string; null is "".
func (p *parser) str() (string, error) {
	v, err := p.d.ReadValue()
	if err != nil {
		return "", err
	}
	switch v[0] {
	case '"':
		if bytes.IndexByte(v, '\\') < 0 {
			return string(v[1 : len(v)-1]), nil
		}
		b, err := jsontext.AppendUnquote(nil, v)
		return string(b), err
	case 'n':
		return "", nil
	}
	return "", p.wrongKind("a string", v.Kind())
}

// sym reads a string that is usually one of a few names of kinds (block
// types, roles, media types…), returning a constant rather than a new
// string for those; null is "".
func (p *parser) sym() (string, error) {
	v, err := p.d.ReadValue()
	if err != nil {
		return "", err
	}
	switch v[0] {
	case '"':
	case 'n':
		return "", nil
	default:
		return "", p.wrongKind("a string", v.Kind())
	}
	switch string(v[1 : len(v)-1]) {
	case "text":
		return "text", nil
	case "image":
		return "image", nil
	case "tool_use":
		return "tool_use", nil
	case "tool_result":
		return "tool_result", nil
	case "thinking":
		return "thinking", nil
	case "redacted_thinking":
		return "redacted_thinking", nil
	case "user":
		return "user", nil
	case "assistant":
		return "assistant", nil
	case "base64":
		return "base64", nil
	case "url":
		return "url", nil
	case "image/png":
		return "image/png", nil
	case "image/jpeg":
		return "image/jpeg", nil
	case "image/gif":
		return "image/gif", nil
	case "image/webp":
		return "image/webp", nil
	case "auto":
		return "auto", nil
	case "any":
		return "any", nil
	case "none":
		return "none", nil
	case "tool":
		return "tool", nil
	case "enabled":
		return "enabled", nil
	case "disabled":
		return "disabled", nil
	case "adaptive":
		return "adaptive", nil
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return string(v[1 : len(v)-1]), nil
	}
	b, err := jsontext.AppendUnquote(nil, v)
	return string(b), err
}

// boolean reads a boolean; null is false.
func (p *parser) boolean() (bool, error) {
	v, err := p.d.ReadValue()
	if err != nil {
		return false, err
	}
	switch v[0] {
	case 't':
		return true, nil
	case 'f', 'n':
		return false, nil
	}
	return false, p.wrongKind("a boolean", v.Kind())
}

// number reads a number; it reports false for null.
func (p *parser) number() (float64, bool, error) {
	v, err := p.d.ReadValue()
	if err != nil {
		return 0, false, err
	}
	switch v.Kind() {
	case '0':
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return 0, false, llm.Errorf(p.param(), "number out of range")
		}
		return f, true, nil
	case 'n':
		return 0, false, nil
	}
	return 0, false, p.wrongKind("a number", v.Kind())
}

// integer reads an integer; it reports false for null.
func (p *parser) integer() (int64, bool, error) {
	v, err := p.d.ReadValue()
	if err != nil {
		return 0, false, err
	}
	switch v.Kind() {
	case '0':
		n, ok := parseInt(v)
		if !ok {
			return 0, false, llm.Errorf(p.param(), "expected an integer, got %s", v)
		}
		return n, true, nil
	case 'n':
		return 0, false, nil
	}
	return 0, false, p.wrongKind("an integer", v.Kind())
}

// parseInt parses a JSON integer (digits, an optional minus sign, and an
// integral fraction or exponent such as 1024.0 or 1e3).
func parseInt(v []byte) (int64, bool) {
	neg := len(v) > 0 && v[0] == '-'
	if neg {
		v = v[1:]
	}
	var n int64
	for i, c := range v {
		if c < '0' || c > '9' {
			return parseIntSlow(v[i:], n, neg)
		}
		if n > (math.MaxInt64-9)/10 {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, len(v) > 0
}

// parseIntSlow finishes parseInt for a number with a fraction, which must
// be zero (1024.0). Exponents are not accepted.
func parseIntSlow(rest []byte, n int64, neg bool) (int64, bool) {
	if rest[0] != '.' || len(rest) < 2 {
		return 0, false
	}
	for _, c := range rest[1:] {
		if c != '0' {
			return 0, false
		}
	}
	if neg {
		n = -n
	}
	return n, true
}

// raw reads a value as it is (a copy).
func (p *parser) raw() (jsontext.Value, error) {
	v, err := p.d.ReadValue()
	if err != nil {
		return nil, err
	}
	if len(v) == 4 && string(v) == "null" {
		return nil, nil
	}
	if cap(p.arena)-len(p.arena) < len(v) {
		p.arena = make([]byte, 0, max(2*cap(p.arena), 4*len(v), 256))
	}
	start := len(p.arena)
	p.arena = append(p.arena, v...)
	return p.arena[start:len(p.arena):len(p.arena)], nil
}

// strings reads an array of strings.
func (p *parser) strings() ([]string, error) {
	ok, err := p.enter('[')
	if !ok {
		return nil, err
	}
	var out []string
	for p.more() {
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, p.leave()
}

// end checks that nothing but space follows the value read.
func (p *parser) end() error {
	if _, err := p.d.ReadToken(); err != io.EOF {
		if err == nil {
			err = errors.New("unexpected data after the JSON value")
		}
		return err
	}
	return nil
}
