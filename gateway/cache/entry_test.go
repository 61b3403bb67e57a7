package cache

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"
	"time"
)

var (
	t0 = time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.UTC)
	t1 = t0.Add(time.Hour)
)

// entryCases are entries of every shape, for the round trip and the fuzz
// seeds.
var entryCases = []struct {
	name string
	e    Entry
}{
	{"whole", Entry{Status: 200, ContentType: "application/json", Body: []byte(`{"id":"chatcmpl-1","choices":[]}`), Stored: t0, Expires: t1}},
	{"stream", Entry{Status: 200, ContentType: "text/event-stream", Events: [][]byte{
		[]byte("data: {\"a\":1}\n\n"), []byte("event: ping\ndata: {}\n\n"), []byte("data: [DONE]\n\n"),
	}, Stored: t0, Expires: t1}},
	{"stream with empty and binary chunks", Entry{Status: 200, ContentType: "text/event-stream", Events: [][]byte{
		{}, {0, 1, 2, 0xff, 0xfe, '\n'}, {}, bytes.Repeat([]byte{0x80}, 300), {},
	}, Stored: t0, Expires: t1}},
	{"binary body", Entry{Status: 200, ContentType: "application/octet-stream", Body: []byte{0, 0xff, 0x80, 0, '\r', '\n'}, Stored: t0, Expires: t1}},
	{"large body", Entry{Status: 200, ContentType: "application/json", Body: bytes.Repeat([]byte("0123456789"), 10000), Stored: t0, Expires: t1}},
	{"empty", Entry{}},
	{"zero times, odd status", Entry{Status: -1, Body: []byte("x")}},
	{"times before 1970 and far ahead", Entry{Status: 599, Stored: time.Date(1900, 1, 1, 0, 0, 0, 1, time.UTC), Expires: time.Date(3000, 1, 1, 0, 0, 0, 999999999, time.UTC)}},
	{"body and events", Entry{Status: 201, Body: []byte("b"), Events: [][]byte{[]byte("e")}}},
}

// sameEntry compares two entries field by field (times with Equal, nil
// and empty byte slices alike).
func sameEntry(t *testing.T, got, want *Entry) {
	t.Helper()
	if got.Status != want.Status || got.ContentType != want.ContentType {
		t.Errorf("status, content type = %d, %q, want %d, %q", got.Status, got.ContentType, want.Status, want.ContentType)
	}
	if !got.Stored.Equal(want.Stored) || !got.Expires.Equal(want.Expires) || got.Stored.IsZero() != want.Stored.IsZero() || got.Expires.IsZero() != want.Expires.IsZero() {
		t.Errorf("stored, expires = %v, %v, want %v, %v", got.Stored, got.Expires, want.Stored, want.Expires)
	}
	if !bytes.Equal(got.Body, want.Body) {
		t.Errorf("body = %q, want %q", got.Body, want.Body)
	}
	if len(got.Events) != len(want.Events) {
		t.Fatalf("%d events, want %d", len(got.Events), len(want.Events))
	}
	for i := range got.Events {
		if !bytes.Equal(got.Events[i], want.Events[i]) {
			t.Errorf("event %d = %q, want %q", i, got.Events[i], want.Events[i])
		}
	}
}

func crc32c(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

func TestEntryRoundTrip(t *testing.T) {
	for _, tt := range entryCases {
		t.Run(tt.name, func(t *testing.T) {
			data, err := tt.e.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var got Entry
			if err := got.UnmarshalBinary(data); err != nil {
				t.Fatal(err)
			}
			sameEntry(t, &got, &tt.e)
			if got.Stream() != tt.e.Stream() || got.Size() != tt.e.Size() {
				t.Errorf("stream, size = %v, %d, want %v, %d", got.Stream(), got.Size(), tt.e.Stream(), tt.e.Size())
			}
			// The entry owns its bytes: the input can be reused.
			clear(data)
			sameEntry(t, &got, &tt.e)
			// Appending to one field cannot overwrite the next.
			if len(got.Events) > 1 {
				_ = append(got.Events[0], "overwrite"...)
				sameEntry(t, &got, &tt.e)
			}
		})
	}
}

func TestEntryStreamAndSize(t *testing.T) {
	tests := []struct {
		name   string
		e      Entry
		stream bool
		size   int
	}{
		{"empty", Entry{}, false, entryOverhead},
		{"body", Entry{ContentType: "ab", Body: make([]byte, 100)}, false, entryOverhead + 102},
		{"events", Entry{Events: [][]byte{make([]byte, 10), {}}}, true, entryOverhead + 10 + 2*eventOverhead},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.e.Stream(); got != tt.stream {
				t.Errorf("Stream() = %v, want %v", got, tt.stream)
			}
			if got := tt.e.Size(); got != tt.size {
				t.Errorf("Size() = %d, want %d", got, tt.size)
			}
		})
	}
}

func TestEntryUnmarshalCorrupt(t *testing.T) {
	valid, err := entryCases[2].e.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	// reChecksum replaces the checksum of b, so only its structure is wrong.
	reChecksum := func(b []byte) []byte {
		b = b[:len(b)-4]
		return binary.BigEndian.AppendUint32(b, crc32c(b))
	}
	head := []byte{entryVersion, 0, 0, 0, 0, 0, 0} // status, content type, two times
	tests := []struct {
		name string
		in   []byte
	}{
		{"nil", nil},
		{"empty", []byte{}},
		{"unknown version", append([]byte{2}, valid[1:]...)},
		{"version 0", append([]byte{0}, valid[1:]...)},
		{"version only", []byte{entryVersion}},
		{"checksum damaged", append(valid[:len(valid)-1:len(valid)-1], valid[len(valid)-1]^1)},
		{"trailing byte", reChecksum(append(append([]byte(nil), valid[:len(valid)-4]...), 0, 0, 0, 0, 0))},
		{"no checksum", valid[:len(valid)-4]},
		{"body longer than the input", reChecksum(append(append([]byte(nil), head...), 0xff, 0xff, 0x03, 'a', 0, 0, 0, 0, 0))},
		{"event count beyond the input", reChecksum(append(append([]byte(nil), head...), 0, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0))},
		{"overlong varint", reChecksum(append([]byte{entryVersion}, bytes.Repeat([]byte{0xff}, 11)...))},
		{"nanoseconds out of range", reChecksum(append(binary.AppendUvarint([]byte{entryVersion, 0, 0, 0}, uint64(time.Second)), 0, 0, 0, 0, 0, 0, 0, 0))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkCorrupt(t, tt.in)
		})
	}
	t.Run("every truncation", func(t *testing.T) {
		for n := range len(valid) {
			checkCorrupt(t, valid[:n])
		}
	})
	t.Run("every bit flip", func(t *testing.T) {
		for i := range len(valid) * 8 {
			b := append([]byte(nil), valid...)
			b[i/8] ^= 1 << (i % 8)
			checkCorrupt(t, b)
		}
	})
}

// checkCorrupt checks in is rejected with ErrCorrupt, the entry untouched.
func checkCorrupt(t *testing.T, in []byte) {
	t.Helper()
	e := Entry{Status: 418}
	err := e.UnmarshalBinary(in)
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("UnmarshalBinary(%x) error = %v, want ErrCorrupt", in, err)
	}
	if e.Status != 418 {
		t.Fatalf("UnmarshalBinary(%x) changed the entry on error", in)
	}
}

// FuzzUnmarshalBinary checks UnmarshalBinary never panics, and that what
// it accepts survives a round trip. The seeds in testdata/fuzz are the
// entryCases marshalled and damaged; more are added here.
func FuzzUnmarshalBinary(f *testing.F) {
	for _, tt := range entryCases {
		data, err := tt.e.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var e Entry
		if err := e.UnmarshalBinary(data); err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		again, err := e.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var back Entry
		if err := back.UnmarshalBinary(again); err != nil {
			t.Fatalf("re-marshalled entry rejected: %v", err)
		}
		sameEntry(t, &back, &e)
	})
}
