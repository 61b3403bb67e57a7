package chat

import (
	"fmt"
	"math"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/dialect/internal/jsonw"
)

// The encoders of this package append JSON by hand: the shapes they write
// are fixed, and appending is several times faster than marshaling
// intermediate structs. The tests read every shape back with the official
// SDK and compare it with the documented examples.

// appendString appends s as a JSON string (see jsonw.AppendString).
func appendString(dst []byte, s string) []byte { return jsonw.AppendString(dst, s) }

// appendStringBytes is appendString for bytes.
func appendStringBytes(dst []byte, b []byte) []byte { return jsonw.AppendStringBytes(dst, b) }

// appendStringBody appends the escaped characters of s, without quotes.
func appendStringBody(dst []byte, s string) []byte { return jsonw.AppendStringBody(dst, s) }

// appendRaw appends a JSON value compacted, after checking it is valid.
func appendRaw(dst []byte, v jsontext.Value) ([]byte, error) {
	out, err := jsontext.AppendFormat(dst, v, decodeOpts)
	if err != nil {
		return dst, fmt.Errorf("invalid JSON value: %w", err)
	}
	return out, nil
}

// appendFloat appends a JSON number; NaN and infinities have none.
func appendFloat(dst []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, fmt.Errorf("%v is not a JSON number", f)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64), nil
}
