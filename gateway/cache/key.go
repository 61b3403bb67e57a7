package cache

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sync"
)

// Key identifies a cached answer: the SHA-256 of what makes two requests
// the same request. See NewKey.
type Key [32]byte

// String returns the key in hex, for logs.
func (k Key) String() string { return hex.EncodeToString(k[:]) }

// keyDomain starts every hashed key. Changing what NewKey hashes must
// change it, so old stored answers are no longer found.
const keyDomain = "caddy-llm-gateway/cache/key/v1\x00"

// maxPooledScratch bounds the buffer a keyScratch keeps for reuse, so one
// huge request body does not stay pinned in the pool.
const maxPooledScratch = 1 << 20

// keyScratch is NewKey's reusable buffer: the hashed bytes and the JSON
// nesting stack.
type keyScratch struct {
	buf   []byte
	stack []byte
}

var scratchPool = sync.Pool{New: func() any { return &keyScratch{buf: make([]byte, 0, 8<<10)} }}

// NewKey returns the key of a request: the SHA-256 of its scope (such as
// "svc/<id>" for one service's own cache or "shared"), surface, operation,
// provider name, upstream model, and canonical JSON body.
//
// Every field is length-prefixed, so no two field lists hash alike. The
// canonical body is the body as json.Compact leaves it: the whitespace
// between tokens does not matter, but everything else does, the order of
// object keys included ({"a":1,"b":2} and {"b":2,"a":1} are different
// requests), as do number spellings and string escapes. A body that is not
// valid JSON is an error.
//
// NewKey reuses pooled buffers: it allocates nothing on success.
func NewKey(scope, surface, operation, provider, model string, body []byte) (Key, error) {
	s := scratchPool.Get().(*keyScratch)
	defer func() {
		if cap(s.buf) <= maxPooledScratch {
			scratchPool.Put(s)
		}
	}()
	b := append(s.buf[:0], keyDomain...)
	b = appendField(b, scope)
	b = appendField(b, surface)
	b = appendField(b, operation)
	b = appendField(b, provider)
	b = appendField(b, model)
	n := len(b)
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 0) // the body's length, known once it is compacted
	var err error
	b, s.stack, err = appendCompact(b, body, s.stack)
	s.buf = b
	if err != nil {
		return Key{}, fmt.Errorf("cache key: request body: %w", err)
	}
	binary.BigEndian.PutUint64(b[n:], uint64(len(b)-n-8))
	return sha256.Sum256(b), nil
}

// appendField appends s with its length before it.
func appendField(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}
