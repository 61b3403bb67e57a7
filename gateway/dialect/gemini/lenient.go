package gemini

import (
	"bytes"
	"errors"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// wrapSingles rewrites a request body that gives a single object where the
// API takes a list of contents or of parts ("contents": {...}, "parts":
// {...}, as the REST cookbook's curl examples do) into the list form. The
// API accepts both; decoding into the wire types takes only lists, so a
// body that fails to decode is retried through this (rare, slower) path.
func wrapSingles(body []byte) ([]byte, error) {
	return rewriteObject(body, func(name string, v jsontext.Value) (jsontext.Value, error) {
		switch foldName(name) {
		case "contents":
			v = wrapObject(v)
			return rewriteArray(v, func(c jsontext.Value) (jsontext.Value, error) {
				return rewriteObject(c, wrapParts)
			})
		case "systeminstruction":
			return rewriteObject(v, wrapParts)
		}
		return v, nil
	})
}

// wrapParts wraps a content's "parts" when it is a single object.
func wrapParts(name string, v jsontext.Value) (jsontext.Value, error) {
	if foldName(name) == "parts" {
		return wrapObject(v), nil
	}
	return v, nil
}

// wrapObject returns [v] when v is an object, else v.
func wrapObject(v jsontext.Value) jsontext.Value {
	if len(v) > 0 && v[0] == '{' {
		return append(append([]byte{'['}, v...), ']')
	}
	return v
}

// foldName folds a JSON name the way `case:ignore` matches it.
func foldName(s string) string {
	return strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(s))
}

// rewriteObject rewrites the members of the object v with fix; any other
// value is returned as is.
func rewriteObject(v jsontext.Value, fix func(name string, v jsontext.Value) (jsontext.Value, error)) (jsontext.Value, error) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || v[0] != '{' {
		return v, nil
	}
	dec := jsontext.NewDecoder(bytes.NewReader(v))
	if _, err := dec.ReadToken(); err != nil {
		return nil, err
	}
	out := []byte{'{'}
	for dec.PeekKind() == '"' {
		tok, err := dec.ReadToken()
		if err != nil {
			return nil, err
		}
		name := tok.String()
		val, err := dec.ReadValue()
		if err != nil {
			return nil, err
		}
		val, err = fix(name, val.Clone())
		if err != nil {
			return nil, err
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		if out, err = jsontext.AppendQuote(out, name); err != nil {
			return nil, err
		}
		out = append(append(out, ':'), val...)
	}
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '}' {
		return nil, errors.New("malformed object")
	}
	return append(out, '}'), nil
}

// rewriteArray rewrites the elements of the array v with fix; any other
// value is returned as is.
func rewriteArray(v jsontext.Value, fix func(v jsontext.Value) (jsontext.Value, error)) (jsontext.Value, error) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || v[0] != '[' {
		return v, nil
	}
	dec := jsontext.NewDecoder(bytes.NewReader(v))
	if _, err := dec.ReadToken(); err != nil {
		return nil, err
	}
	out := []byte{'['}
	for dec.PeekKind() != ']' && dec.PeekKind() != 0 {
		val, err := dec.ReadValue()
		if err != nil {
			return nil, err
		}
		if val, err = fix(val.Clone()); err != nil {
			return nil, err
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, val...)
	}
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != ']' {
		return nil, errors.New("malformed array")
	}
	return append(out, ']'), nil
}
