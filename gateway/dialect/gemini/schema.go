package gemini

import (
	"bytes"
	"errors"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// maxSchemaDepth bounds the nesting convertSchema follows.
const maxSchemaDepth = 64

var (
	errSchemaDepth  = errors.New("schema nested too deeply")
	errSchemaObject = errors.New("a schema must be an object")
)

// convertSchema turns a Gemini Schema (the OpenAPI 3.0 subset of
// FunctionDeclaration.parameters and GenerationConfig.responseSchema) into
// the JSON Schema the other dialects take, in one streaming pass: type
// names become lower case ("OBJECT" → "object"), nullable becomes a "null"
// member of type, format "enum" and propertyOrdering (Gemini-only) are
// dropped, example becomes examples, int64 counts sent as strings
// ("maxItems": "3") become numbers, snake_case keywords become camelCase,
// and anything else is copied. Property order is kept.
func convertSchema(in jsontext.Value) (jsontext.Value, error) {
	var buf bytes.Buffer
	buf.Grow(len(in))
	// The schema was checked (for duplicate names too) when the request
	// was decoded.
	dec := jsontext.NewDecoder(bytes.NewReader(in), lenient)
	enc := jsontext.NewEncoder(&buf, lenient)
	// Only a schema that says "nullable" anywhere needs the type of each
	// object held back until its end (where nullable is known).
	c := schemaConverter{dec: dec, enc: enc, deferType: bytes.Contains(in, []byte("nullable"))}
	if err := c.schema(0); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// schemaConverter copies a schema from dec to enc.
type schemaConverter struct {
	dec       *jsontext.Decoder
	enc       *jsontext.Encoder
	deferType bool
	name      [32]byte // scratch for folded keyword names
}

// fold folds a keyword name (lower case, no "_" or "-") into c.name; names
// too long to be a keyword fold to "".
func (c *schemaConverter) fold(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b == '_' || b == '-' {
			continue
		}
		if n == len(c.name) {
			return ""
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		c.name[n] = b
		n++
	}
	return string(c.name[:n])
}

// schema converts the schema object that comes next.
func (c *schemaConverter) schema(depth int) error {
	if depth > maxSchemaDepth {
		return errSchemaDepth
	}
	dec, enc := c.dec, c.enc
	if dec.PeekKind() != '{' {
		return errSchemaObject
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	if err := enc.WriteToken(jsontext.BeginObject); err != nil {
		return err
	}
	var typ string
	nullable := false
	for dec.PeekKind() == '"' {
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		raw := tok.String()
		switch c.fold(raw) {
		case "type":
			var t string
			if t, err = c.lowerString(); err != nil {
				return err
			}
			if t == "" || t == "type_unspecified" {
				continue
			}
			if c.deferType {
				typ = t
				continue
			}
			err = c.write(jsontext.String("type"), jsontext.String(t))
		case "nullable":
			var v jsontext.Value
			if v, err = dec.ReadValue(); err != nil {
				return err
			}
			nullable = string(v) == "true"
			continue
		case "format":
			var v jsontext.Value
			if v, err = dec.ReadValue(); err != nil {
				return err
			}
			if string(v) == `"enum"` {
				continue
			}
			err = c.writeRaw("format", v)
		case "propertyordering":
			err = dec.SkipValue()
		case "properties":
			err = c.properties(depth)
		case "items":
			if err = enc.WriteToken(jsontext.String("items")); err == nil {
				err = c.schema(depth + 1)
			}
		case "anyof":
			err = c.anyOf(depth)
		case "example":
			var v jsontext.Value
			if v, err = dec.ReadValue(); err == nil {
				if err = enc.WriteToken(jsontext.String("examples")); err == nil {
					if err = enc.WriteToken(jsontext.BeginArray); err == nil {
						if err = enc.WriteValue(v); err == nil {
							err = enc.WriteToken(jsontext.EndArray)
						}
					}
				}
			}
		case "minitems", "maxitems", "minlength", "maxlength", "minproperties", "maxproperties":
			var v jsontext.Value
			if v, err = dec.ReadValue(); err == nil {
				if len(v) > 1 && v[0] == '"' { // an int64 in proto JSON: a string
					v = v[1 : len(v)-1]
				}
				err = c.writeRaw(camelKeyword(c.fold(raw)), v)
			}
		default:
			// description, title, enum, required, default, pattern,
			// minimum, maximum…: copied (snake_case names fixed).
			var v jsontext.Value
			if v, err = dec.ReadValue(); err == nil {
				err = c.writeRaw(camelKeyword(raw), v)
			}
		}
		if err != nil {
			return err
		}
	}
	if _, err := dec.ReadToken(); err != nil { // '}'
		return err
	}
	if typ != "" {
		if err := enc.WriteToken(jsontext.String("type")); err != nil {
			return err
		}
		if nullable && typ != "null" {
			if err := c.write(jsontext.BeginArray, jsontext.String(typ)); err != nil {
				return err
			}
			if err := c.write(jsontext.String("null"), jsontext.EndArray); err != nil {
				return err
			}
		} else if err := enc.WriteToken(jsontext.String(typ)); err != nil {
			return err
		}
	}
	return enc.WriteToken(jsontext.EndObject)
}

// properties converts a "properties" object, whose values are schemas.
func (c *schemaConverter) properties(depth int) error {
	dec, enc := c.dec, c.enc
	if dec.PeekKind() != '{' {
		return errors.New("properties must be an object")
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	if err := c.write(jsontext.String("properties"), jsontext.BeginObject); err != nil {
		return err
	}
	for dec.PeekKind() == '"' {
		name, err := dec.ReadToken()
		if err != nil {
			return err
		}
		if err := enc.WriteToken(name); err != nil {
			return err
		}
		if err := c.schema(depth + 1); err != nil {
			return err
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	return enc.WriteToken(jsontext.EndObject)
}

// anyOf converts an "anyOf" array of schemas.
func (c *schemaConverter) anyOf(depth int) error {
	dec, enc := c.dec, c.enc
	if dec.PeekKind() != '[' {
		return errors.New("anyOf must be an array")
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	if err := c.write(jsontext.String("anyOf"), jsontext.BeginArray); err != nil {
		return err
	}
	for dec.PeekKind() != ']' {
		if err := c.schema(depth + 1); err != nil {
			return err
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	return enc.WriteToken(jsontext.EndArray)
}

// lowerString reads a string token and returns it in lower case.
func (c *schemaConverter) lowerString() (string, error) {
	tok, err := c.dec.ReadToken()
	if err != nil {
		return "", err
	}
	if tok.Kind() != '"' {
		return "", errors.New("type must be a string")
	}
	return strings.ToLower(tok.String()), nil
}

// write writes two tokens.
func (c *schemaConverter) write(a, b jsontext.Token) error {
	if err := c.enc.WriteToken(a); err != nil {
		return err
	}
	return c.enc.WriteToken(b)
}

// writeRaw writes a member with a raw value.
func (c *schemaConverter) writeRaw(name string, v jsontext.Value) error {
	if err := c.enc.WriteToken(jsontext.String(name)); err != nil {
		return err
	}
	return c.enc.WriteValue(v)
}

// camelKeyword returns the camelCase form of a snake_case schema keyword
// ("any_of" → "anyOf"); other names are returned as they are.
func camelKeyword(s string) string {
	switch s {
	case "minitems":
		return "minItems"
	case "maxitems":
		return "maxItems"
	case "minlength":
		return "minLength"
	case "maxlength":
		return "maxLength"
	case "minproperties":
		return "minProperties"
	case "maxproperties":
		return "maxProperties"
	}
	if strings.IndexByte(s, '_') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	up := false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '_':
			up = len(b) > 0
		case up && 'a' <= s[i] && s[i] <= 'z':
			b = append(b, s[i]-('a'-'A'))
			up = false
		default:
			b = append(b, s[i])
			up = false
		}
	}
	return string(b)
}
