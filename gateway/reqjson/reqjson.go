// Package reqjson reads and edits the top-level fields of a JSON request
// body without re-encoding it: bytes the gateway does not change reach the
// provider exactly as the client sent them.
//
// Parsing is strict where a lenient parser would let a request slip past a
// check that another parser later reads differently: the body must be a
// single JSON object, a top-level key may appear only once, and nothing but
// white space may follow the object. Keys are compared exactly (JSON escapes
// decoded), never case-insensitively.
package reqjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Object is a parsed JSON object: the original bytes plus the span of each
// top-level value. Edits made with Set are applied by Bytes.
type Object struct {
	src    []byte
	fields []field
	edits  map[string][]byte
	byKey  map[string]int // built once an object has many keys, so lookups stay O(1)
	added  []string       // keys set with Set that the source did not have, in order
}

type field struct {
	key        string
	start, end int // value span in src
}

// Parse parses b, which must hold exactly one JSON object.
//
// The whole body is checked with json.Valid (the standard library's
// fastest validator); the top level is then walked by hand to find each
// value's span, which json.Decoder would give only at several times the
// cost.
func Parse(b []byte) (*Object, error) {
	if !json.Valid(b) {
		var v any
		err := json.Unmarshal(b, &v) // only to describe the error
		if err == nil {
			err = errors.New("invalid JSON")
		}
		return nil, syntaxError(err)
	}
	i := skipSpace(b, 0)
	if b[i] != '{' {
		return nil, errors.New("request body must be a JSON object")
	}
	o := &Object{src: b}
	i = skipSpace(b, i+1)
	for b[i] != '}' {
		// b is valid JSON, so here stands a key string, a colon, a value,
		// then a comma or the closing brace.
		kEnd := skipString(b, i)
		key, err := decodeKey(b[i:kEnd])
		if err != nil {
			return nil, err
		}
		start := skipSpace(b, skipSpace(b, kEnd)+1) // past the colon
		end := skipValue(b, start)
		if _, dup := o.index(key); dup {
			return nil, fmt.Errorf("invalid JSON: duplicate key %q", key)
		}
		o.fields = append(o.fields, field{key: key, start: start, end: end})
		if o.byKey != nil {
			o.byKey[key] = len(o.fields) - 1
		} else if len(o.fields) > manyKeys {
			o.byKey = make(map[string]int, 2*manyKeys)
			for i, f := range o.fields {
				o.byKey[f.key] = i
			}
		}
		i = skipSpace(b, end)
		if b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return o, nil
}

func syntaxError(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF || strings.Contains(err.Error(), "unexpected end of JSON input") {
		return errors.New("invalid JSON: unexpected end of input")
	}
	return fmt.Errorf("invalid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string starting at b[i].
func skipString(b []byte, i int) int {
	for i++; ; i++ {
		switch b[i] {
		case '\\':
			i++ // the escaped byte; \uXXXX's digits are plain bytes
		case '"':
			return i + 1
		}
	}
}

// skipValue returns the index just past the value starting at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; ; i++ {
			switch b[i] {
			case '"':
				i = skipString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
	default: // number, true, false, null
		for i < len(b) && !strings.ContainsRune(",}] \t\n\r", rune(b[i])) {
			i++
		}
		return i
	}
}

// decodeKey decodes a key string literal as encoding/json does: escapes
// decoded, invalid UTF-8 replaced by U+FFFD.
func decodeKey(lit []byte) (string, error) {
	plain := true
	for _, c := range lit {
		if c == '\\' || c >= utf8.RuneSelf {
			plain = false
			break
		}
	}
	if plain {
		return string(lit[1 : len(lit)-1]), nil
	}
	var k string
	if err := json.Unmarshal(lit, &k); err != nil {
		return "", syntaxError(err)
	}
	return k, nil
}

// manyKeys is where linear key lookup gives way to a map; request bodies
// have a dozen top-level keys, hostile ones may have millions.
const manyKeys = 16

func (o *Object) index(key string) (int, bool) {
	if o.byKey != nil {
		i, ok := o.byKey[key]
		return i, ok
	}
	for i, f := range o.fields {
		if f.key == key {
			return i, true
		}
	}
	return -1, false
}

// Raw returns the current value of key (after edits) and whether it is present.
func (o *Object) Raw(key string) (json.RawMessage, bool) {
	if v, ok := o.edits[key]; ok {
		return v, true
	}
	i, ok := o.index(key)
	if !ok {
		return nil, false
	}
	f := o.fields[i]
	return o.src[f.start:f.end], true
}

// Has reports whether key is present and not null.
func (o *Object) Has(key string) bool {
	v, ok := o.Raw(key)
	return ok && string(v) != "null"
}

// String returns the string value of key. A missing key or null gives
// ok=false; a value of another type is an error naming the field.
func (o *Object) String(key string) (s string, ok bool, err error) {
	v, present := o.Raw(key)
	if !present || string(v) == "null" {
		return "", false, nil
	}
	if len(v) == 0 || v[0] != '"' {
		return "", false, fmt.Errorf("%q must be a string", key)
	}
	if err := json.Unmarshal(v, &s); err != nil {
		return "", false, fmt.Errorf("%q: %w", key, err)
	}
	return s, true, nil
}

// Bool returns the boolean value of key. A missing key or null gives
// ok=false; a value of another type is an error naming the field.
func (o *Object) Bool(key string) (b bool, ok bool, err error) {
	v, present := o.Raw(key)
	if !present || string(v) == "null" {
		return false, false, nil
	}
	switch string(v) {
	case "true":
		return true, true, nil
	case "false":
		return false, true, nil
	}
	return false, false, fmt.Errorf("%q must be a boolean", key)
}

// Set replaces the value of key, or adds key when absent. value must be
// valid JSON; it is not checked.
func (o *Object) Set(key string, value []byte) {
	if o.edits == nil {
		o.edits = make(map[string][]byte, 2)
	}
	if _, ok := o.edits[key]; !ok {
		if _, present := o.index(key); !present {
			o.added = append(o.added, key)
		}
	}
	o.edits[key] = value
}

// SetString sets key to the JSON string s.
func (o *Object) SetString(key, s string) {
	b, _ := json.Marshal(s) // a string always marshals
	o.Set(key, b)
}

// Edited reports whether Set was called.
func (o *Object) Edited() bool { return len(o.edits) > 0 }

// Bytes returns the object with edits applied. Without edits it returns the
// source bytes unchanged.
func (o *Object) Bytes() []byte {
	if len(o.edits) == 0 {
		return o.src
	}
	n := len(o.src)
	for k, v := range o.edits {
		n += len(v) + len(k) + 4
	}
	out := make([]byte, 0, n)
	pos := 0
	for _, f := range o.fields {
		v, ok := o.edits[f.key]
		if !ok {
			continue
		}
		out = append(out, o.src[pos:f.start]...)
		out = append(out, v...)
		pos = f.end
	}
	if len(o.added) == 0 {
		return append(out, o.src[pos:]...)
	}
	// Insert added keys before the closing brace.
	closing := bytes.LastIndexByte(o.src, '}')
	out = append(out, o.src[pos:closing]...)
	for i, k := range o.added {
		if len(o.fields) > 0 || i > 0 {
			out = append(out, ',')
		}
		kb, _ := json.Marshal(k)
		out = append(out, kb...)
		out = append(out, ':')
		out = append(out, o.edits[k]...)
	}
	return append(out, o.src[closing:]...)
}

// Len returns the number of elements of key's value when it is an array,
// and false otherwise, without decoding the elements.
func (o *Object) Len(key string) (int, bool) {
	v, ok := o.Raw(key)
	// Edited values are not validated by Parse: check them.
	if _, edited := o.edits[key]; !ok || len(v) == 0 || v[0] != '[' || edited && !json.Valid(v) {
		return 0, false
	}
	i := skipSpace(v, 1)
	if v[i] == ']' {
		return 0, true
	}
	n := 0
	for {
		i = skipSpace(v, skipValue(v, i))
		n++
		if v[i] == ']' {
			return n, true
		}
		i = skipSpace(v, i+1) // past the comma
	}
}
