package storage

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"
)

// ID prefixes of the records.
const (
	ServiceIDPrefix     = "svc"
	TokenIDPrefix       = "tok"
	ProviderKeyIDPrefix = "pk"
)

// idLen is the length of the part of an ID after the underscore.
const idLen = 26

// crockford is Crockford's base32 alphabet. Its characters are in ASCII
// order, so the lexical order of encoded IDs is their numeric order.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// idState makes IDs strictly increasing within the process: an ID created
// in the same millisecond as the previous one (or after the clock went back)
// reuses that millisecond and adds one to the previous random part.
var idState struct {
	sync.Mutex
	ms uint64 // 48-bit Unix milliseconds of the last ID
	hi uint16 // top 16 of the 80 random bits
	lo uint64 // low 64 of the 80 random bits
}

// NewID returns prefix + "_" + 26 characters of Crockford base32 encoding
// 128 bits: a 48-bit Unix millisecond timestamp followed by 80 bits from
// crypto/rand (the ULID layout). IDs sort lexically in creation order, also
// within one millisecond in one process, so lists come out in creation order
// and a list cursor is simply the last ID returned. Records use the prefixes
// ServiceIDPrefix, TokenIDPrefix, ProviderKeyIDPrefix and AuditIDPrefix. IDs
// are unique, not secret.
func NewID(prefix string) string {
	now := uint64(time.Now().UnixMilli()) & (1<<48 - 1)

	idState.Lock()
	if now > idState.ms {
		var r [10]byte
		_, _ = rand.Read(r[:]) // never fails (crypto/rand, Go ≥ 1.24)
		idState.ms = now
		idState.hi = binary.BigEndian.Uint16(r[:2])
		idState.lo = binary.BigEndian.Uint64(r[2:])
	} else {
		idState.lo++
		if idState.lo == 0 {
			idState.hi++
			if idState.hi == 0 {
				idState.ms++ // 2^80 IDs in one millisecond: borrow the next one
			}
		}
	}
	hi := idState.ms<<16 | uint64(idState.hi)
	lo := idState.lo
	idState.Unlock()

	// hi:lo is the 128-bit value; 26 base32 digits hold 130 bits, so the
	// first digit carries only the top 3 bits.
	buf := make([]byte, len(prefix)+1+idLen)
	n := copy(buf, prefix)
	buf[n] = '_'
	out := buf[n+1:]
	for i := idLen - 1; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(buf)
}

// validID reports whether id has the shape NewID(prefix) gives. Stored
// records are only ever looked up by IDs of this shape, so an arbitrary
// string from a request can never reach into another part of the key space.
func validID(prefix, id string) bool {
	if len(id) != len(prefix)+1+idLen || id[:len(prefix)] != prefix || id[len(prefix)] != '_' {
		return false
	}
	for i := len(prefix) + 1; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z') || c == 'I' || c == 'L' || c == 'O' || c == 'U' {
			return false
		}
	}
	return true
}

// minIDAt returns the smallest ID of that prefix that NewID could make at
// t's millisecond: the 48-bit Unix millisecond time, then 80 zero bits. Every
// ID made at or after that millisecond sorts at or after it, every ID made
// before it sorts before it. Times before 1970 give the first millisecond,
// times after the 48-bit range (year 10889) the last.
func minIDAt(prefix string, t time.Time) string {
	ms := uint64(max(t.UnixMilli(), 0))
	ms = min(ms, 1<<48-1)
	buf := make([]byte, len(prefix)+1+idLen)
	n := copy(buf, prefix)
	buf[n] = '_'
	out := buf[n+1:]
	// The first 10 characters hold the 48 bits of time (3 + 9 × 5).
	for i := 9; i >= 0; i-- {
		out[i] = crockford[ms&31]
		ms >>= 5
	}
	for i := 10; i < idLen; i++ {
		out[i] = '0'
	}
	return string(buf)
}
