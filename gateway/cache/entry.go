package cache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"
)

// Entry is a complete, successful answer as the client received it. An
// Entry handed to Cache.Put, or returned by Cache.Get, is shared and must
// not be modified.
type Entry struct {
	// Status is the HTTP status code.
	Status int
	// ContentType is the Content-Type header.
	ContentType string
	// Body is a whole (non-streaming) answer.
	Body []byte
	// Events is a streamed answer: each chunk exactly as it was written
	// to the client between two flushes, so a replay flushes at the same
	// places.
	Events [][]byte
	// Stored is when the answer was stored.
	Stored time.Time
	// Expires is when the answer stops being served.
	Expires time.Time
}

// Overheads counted by Size besides the payload: the Entry itself and the
// LRU's bookkeeping, and each event's slice header.
const (
	entryOverhead = 160
	eventOverhead = 24
)

// Stream reports whether the entry is a streamed answer.
func (e *Entry) Stream() bool { return len(e.Events) > 0 }

// Size is roughly the memory the entry takes: its payload (body, events,
// content type) plus a small fixed overhead per entry and per event.
func (e *Entry) Size() int {
	n := entryOverhead + len(e.ContentType) + len(e.Body) + len(e.Events)*eventOverhead
	for _, ev := range e.Events {
		n += len(ev)
	}
	return n
}

// entryVersion is the first byte of a marshalled Entry.
const entryVersion = 1

// ErrCorrupt is returned, wrapped, by UnmarshalBinary for input that is
// not a marshalled Entry: truncated, damaged, or of an unknown version.
var ErrCorrupt = errors.New("corrupt cache entry")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// MarshalBinary encodes the entry:
//
//	version        byte (1)
//	status         varint
//	content type   uvarint length, bytes
//	stored         varint Unix seconds, uvarint nanoseconds
//	expires        varint Unix seconds, uvarint nanoseconds
//	body           uvarint length, bytes
//	events         uvarint count, then each: uvarint length, bytes
//	checksum       CRC-32C of all of the above, 4 bytes big-endian
func (e *Entry) MarshalBinary() ([]byte, error) {
	const v = binary.MaxVarintLen64
	n := 1 + v + v + len(e.ContentType) + 4*v + v + len(e.Body) + v + len(e.Events)*v + 4
	for _, ev := range e.Events {
		n += len(ev)
	}
	b := make([]byte, 0, n)
	b = append(b, entryVersion)
	b = binary.AppendVarint(b, int64(e.Status))
	b = appendBytes(b, []byte(e.ContentType))
	b = appendTime(b, e.Stored)
	b = appendTime(b, e.Expires)
	b = appendBytes(b, e.Body)
	b = binary.AppendUvarint(b, uint64(len(e.Events)))
	for _, ev := range e.Events {
		b = appendBytes(b, ev)
	}
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli)), nil
}

func appendBytes(b, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

func appendTime(b []byte, t time.Time) []byte {
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

// UnmarshalBinary decodes what MarshalBinary encoded. It copies data, which
// the caller may reuse. Input that is truncated, damaged (the checksum
// covers every byte), carries trailing bytes or an unknown version is an
// error wrapping ErrCorrupt; the entry is then left unchanged.
func (e *Entry) UnmarshalBinary(data []byte) error {
	if len(data) == 0 {
		return fmt.Errorf("%w: empty", ErrCorrupt)
	}
	if data[0] != entryVersion {
		return fmt.Errorf("%w: unknown version %d", ErrCorrupt, data[0])
	}
	// One copy holds every byte slice of the entry.
	d := decoder{b: append([]byte(nil), data[1:]...)}
	var out Entry
	out.Status = int(d.varint("status"))
	out.ContentType = string(d.bytes("content type"))
	out.Stored = d.time("stored")
	out.Expires = d.time("expires")
	if body := d.bytes("body"); len(body) > 0 {
		out.Body = body
	}
	// Each event takes at least its length byte, which bounds the count
	// before anything is allocated for it.
	if n := d.uvarint("event count"); n > uint64(len(d.b)) {
		d.fail("event count %d exceeds the input", n)
	} else if n > 0 && d.err == nil {
		out.Events = make([][]byte, n)
		for i := range out.Events {
			out.Events[i] = d.bytes("event")
		}
	}
	if d.err != nil {
		return d.err
	}
	if len(d.b) != 4 {
		return fmt.Errorf("%w: %d bytes after the events, want a 4-byte checksum", ErrCorrupt, len(d.b))
	}
	body := data[:len(data)-4]
	if got, want := crc32.Checksum(body, castagnoli), binary.BigEndian.Uint32(d.b); got != want {
		return fmt.Errorf("%w: checksum %08x, want %08x", ErrCorrupt, got, want)
	}
	*e = out
	return nil
}

// decoder reads the fields of a marshalled Entry, remembering the first
// error; after one, every read returns a zero value.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
	}
}

func (d *decoder) uvarint(field string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad %s", field)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint(field string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad %s", field)
		return 0
	}
	d.b = d.b[n:]
	return v
}

// bytes returns the next length-prefixed field, a view of d.b capped so
// appending to it cannot overwrite the next one.
func (d *decoder) bytes(field string) []byte {
	n := d.uvarint(field + " length")
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail("%s of %d bytes exceeds the input", field, n)
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

func (d *decoder) time(field string) time.Time {
	sec := d.varint(field)
	nsec := d.uvarint(field)
	if d.err != nil {
		return time.Time{}
	}
	if nsec >= uint64(time.Second) {
		d.fail("bad %s nanoseconds %d", field, nsec)
		return time.Time{}
	}
	if sec == zeroUnix && nsec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

// zeroUnix is the Unix time of the zero time.Time.
var zeroUnix = time.Time{}.Unix()
