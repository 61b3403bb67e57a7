package cache

import (
	"encoding/binary"
	"fmt"
)

// maxDepth is encoding/json's nesting limit, so appendCompact accepts
// exactly the documents json.Compact accepts.
const maxDepth = 10000

// plain marks the bytes a JSON string holds as they are: everything but
// the quote, the backslash and the control characters.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendCompact appends src, one JSON value, to dst with the insignificant
// whitespace removed. It produces what json.Compact produces and rejects
// what it rejects, at several times its speed: strings and numbers are
// copied as they are (so `{"a":1.0}` and `{"a":1}` stay different), only
// the space, tab, CR and LF between tokens go. stack is scratch space for
// the nesting, returned for reuse.
func appendCompact(dst, src, stack []byte) (out, stk []byte, err error) {
	const (
		value = iota // a value is expected
		key          // an object member is expected
		after        // a value has ended
	)
	stack = stack[:0]
	state := value
	i := 0
	for {
		switch state {
		case value:
			i = skipSpace(src, i)
			if i >= len(src) {
				return dst, stack, syntaxError(src, i, "a value")
			}
			switch c := src[i]; {
			case c == '{' || c == '[':
				if len(stack) >= maxDepth {
					return dst, stack, fmt.Errorf("invalid JSON: nested deeper than %d", maxDepth)
				}
				stack = append(stack, c)
				dst = append(dst, c)
				i = skipSpace(src, i+1)
				if i < len(src) && src[i] == c+2 { // '}' and ']' follow '{' and '[' by two
					dst = append(dst, c+2)
					stack = stack[:len(stack)-1]
					i++
					state = after
				} else if c == '{' {
					state = key
				}
			case c == '"':
				j, err := stringEnd(src, i)
				if err != nil {
					return dst, stack, err
				}
				dst = append(dst, src[i:j]...)
				i, state = j, after
			case c == '-' || c >= '0' && c <= '9':
				j, err := numberEnd(src, i)
				if err != nil {
					return dst, stack, err
				}
				dst = append(dst, src[i:j]...)
				i, state = j, after
			case c == 't' && hasLiteral(src, i, "true"),
				c == 'f' && hasLiteral(src, i, "false"),
				c == 'n' && hasLiteral(src, i, "null"):
				j := i + 4
				if c == 'f' {
					j++
				}
				dst = append(dst, src[i:j]...)
				i, state = j, after
			default:
				return dst, stack, syntaxError(src, i, "a value")
			}
		case key:
			i = skipSpace(src, i)
			if i >= len(src) || src[i] != '"' {
				return dst, stack, syntaxError(src, i, "an object key")
			}
			j, err := stringEnd(src, i)
			if err != nil {
				return dst, stack, err
			}
			dst = append(dst, src[i:j]...)
			i = skipSpace(src, j)
			if i >= len(src) || src[i] != ':' {
				return dst, stack, syntaxError(src, i, "':'")
			}
			dst = append(dst, ':')
			i++
			state = value
		case after:
			i = skipSpace(src, i)
			if len(stack) == 0 {
				if i < len(src) {
					return dst, stack, syntaxError(src, i, "the end")
				}
				return dst, stack, nil
			}
			if i >= len(src) {
				return dst, stack, syntaxError(src, i, "',' or the container's end")
			}
			top := stack[len(stack)-1]
			switch src[i] {
			case ',':
				dst = append(dst, ',')
				i++
				if top == '{' {
					state = key
				} else {
					state = value
				}
			case top + 2:
				dst = append(dst, top+2)
				stack = stack[:len(stack)-1]
				i++
			default:
				return dst, stack, syntaxError(src, i, "',' or the container's end")
			}
		}
	}
}

// syntaxError describes what was expected at offset i of src.
func syntaxError(src []byte, i int, want string) error {
	if i >= len(src) {
		return fmt.Errorf("invalid JSON: unexpected end, want %s", want)
	}
	return fmt.Errorf("invalid JSON: unexpected %q at offset %d, want %s", src[i], i, want)
}

// skipSpace returns the offset of the first byte at or after i that is not
// JSON whitespace.
func skipSpace(src []byte, i int) int {
	for i < len(src) {
		switch src[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// hasLiteral reports whether src holds lit at offset i.
func hasLiteral(src []byte, i int, lit string) bool {
	return len(src)-i >= len(lit) && string(src[i:i+len(lit)]) == lit
}

// stringEnd returns the offset just past the JSON string starting at the
// quote at offset i.
func stringEnd(src []byte, i int) (int, error) {
	j := i + 1
	for {
		for len(src)-j >= 8 && !hasSpecial(binary.LittleEndian.Uint64(src[j:])) {
			j += 8
		}
		for j < len(src) && plain[src[j]] {
			j++
		}
		if j >= len(src) {
			return 0, fmt.Errorf("invalid JSON: string at offset %d not terminated", i)
		}
		switch src[j] {
		case '"':
			return j + 1, nil
		case '\\':
			if j+1 >= len(src) {
				return 0, fmt.Errorf("invalid JSON: string at offset %d not terminated", i)
			}
			switch src[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if len(src)-j < 6 || !isHex(src[j+2]) || !isHex(src[j+3]) || !isHex(src[j+4]) || !isHex(src[j+5]) {
					return 0, fmt.Errorf("invalid JSON: bad \\u escape at offset %d", j)
				}
				j += 6
			default:
				return 0, fmt.Errorf("invalid JSON: bad escape at offset %d", j)
			}
		default:
			return 0, fmt.Errorf("invalid JSON: control character %#x in string at offset %d", src[j], j)
		}
	}
}

// hasSpecial reports whether any of the 8 bytes in x is not plain: a quote,
// a backslash or a control character. (Each test is the exact "has a byte
// less than n" bit trick; XOR turns "equal to c" into "zero".)
func hasSpecial(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	less := func(x, n uint64) uint64 { return (x - ones*n) & ^x & highs }
	return less(x, 0x20)|less(x^(ones*'"'), 1)|less(x^(ones*'\\'), 1) != 0
}

// numberEnd returns the offset just past the JSON number starting at
// offset i: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func numberEnd(src []byte, i int) (int, error) {
	j := i
	if src[j] == '-' {
		j++
	}
	switch {
	case j < len(src) && src[j] == '0':
		j++
	case j < len(src) && src[j] >= '1' && src[j] <= '9':
		j = digitsEnd(src, j+1)
	default:
		return 0, fmt.Errorf("invalid JSON: bad number at offset %d", i)
	}
	if j < len(src) && src[j] == '.' {
		k := digitsEnd(src, j+1)
		if k == j+1 {
			return 0, fmt.Errorf("invalid JSON: bad number at offset %d", i)
		}
		j = k
	}
	if j < len(src) && (src[j] == 'e' || src[j] == 'E') {
		j++
		if j < len(src) && (src[j] == '+' || src[j] == '-') {
			j++
		}
		k := digitsEnd(src, j)
		if k == j {
			return 0, fmt.Errorf("invalid JSON: bad number at offset %d", i)
		}
		j = k
	}
	return j, nil
}

// digitsEnd returns the offset of the first non-digit at or after i.
func digitsEnd(src []byte, i int) int {
	for i < len(src) && src[i] >= '0' && src[i] <= '9' {
		i++
	}
	return i
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
