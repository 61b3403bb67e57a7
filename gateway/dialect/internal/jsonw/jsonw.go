// Package jsonw appends JSON strings fast, for the dialect codecs that
// write their fixed shapes by hand.
package jsonw

import (
	"math/bits"
	"unicode/utf8"
	"unsafe"
)

// AppendString appends s as a JSON string. Invalid UTF-8 is replaced with
// U+FFFD; nothing is escaped that JSON does not require (no HTML escaping).
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = AppendStringBody(dst, s)
	return append(dst, '"')
}

// AppendStringBytes is AppendString for bytes.
func AppendStringBytes(dst []byte, b []byte) []byte {
	return AppendString(dst, unsafe.String(unsafe.SliceData(b), len(b)))
}

const (
	swarLo = 0x0101010101010101
	swarHi = 0x8080808080808080
)

// AppendStringBody appends the escaped characters of s, without quotes.
// Runs of 8 bytes that need no escaping (no control character, quote,
// backslash or non-ASCII byte) are checked a word at a time.
func AppendStringBody(dst []byte, s string) []byte {
	start, i := 0, 0
	for i < len(s) {
		if i+8 <= len(s) {
			_ = s[i+7]
			w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
				uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
			// The lowest byte with its high bit set in mask is the first
			// byte to handle: below 0x20, a quote, a backslash or from
			// 0x80 (bytes above it may be flagged by borrows).
			q, bs := w^(swarLo*'"'), w^(swarLo*'\\')
			mask := ((w - swarLo*0x20) | (q - swarLo) | (bs - swarLo) | w) & swarHi
			if mask == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(mask) >> 3
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\ufffd"...)
			i++
			start = i
			continue
		}
		i += n
	}
	return append(dst, s[start:]...)
}

const hexDigits = "0123456789abcdef"
