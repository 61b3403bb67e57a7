package sse

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

type got struct{ name, data string }

func readAll(t *testing.T, r io.Reader) ([]got, string, error) {
	t.Helper()
	rd := NewReader(r)
	var evs []got
	var raw strings.Builder
	for {
		ev, err := rd.Next()
		if err != nil {
			return evs, raw.String(), err
		}
		evs = append(evs, got{ev.Name, string(ev.Data)})
		raw.Write(ev.Raw)
	}
}

const anthropicStream = "event: message_start\ndata: {\"type\":\"message_start\"}\n\n" +
	"event: ping\ndata: {\"type\": \"ping\"}\n\n" +
	"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"Hi\"}}\n\n" +
	"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"

func TestReader(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []got
		wantErr error
	}{
		{"openai", "data: {\"a\":1}\n\ndata: [DONE]\n\n", []got{{"", `{"a":1}`}, {"", "[DONE]"}}, io.EOF},
		{"anthropic", anthropicStream, []got{{"message_start", `{"type":"message_start"}`}, {"ping", `{"type": "ping"}`}, {"content_block_delta", `{"type":"content_block_delta","delta":{"text":"Hi"}}`}, {"message_stop", `{"type":"message_stop"}`}}, io.EOF},
		{"crlf", "event: a\r\ndata: 1\r\n\r\n", []got{{"a", "1"}}, io.EOF},
		{"multi-line data", "data: a\ndata: b\n\n", []got{{"", "a\nb"}}, io.EOF},
		{"comments and keep-alives", ": ping\n\n: x\ndata: 1\nid: 7\nretry: 5\n\n", []got{{"", "1"}}, io.EOF},
		{"no space after colon", "data:x\n\n", []got{{"", "x"}}, io.EOF},
		{"cut mid-event", "data: {\"a\":1}\n\ndata: {\"b\"", []got{{"", `{"a":1}`}}, io.ErrUnexpectedEOF},
		{"trailing blank lines", "data: 1\n\n\n\n", []got{{"", "1"}}, io.EOF},
		{"empty", "", nil, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, _, err := readAll(t, strings.NewReader(tt.in))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if len(evs) != len(tt.want) {
				t.Fatalf("events = %q, want %q", evs, tt.want)
			}
			for i := range evs {
				if evs[i] != tt.want[i] {
					t.Fatalf("event %d = %q, want %q", i, evs[i], tt.want[i])
				}
			}
		})
	}
}

// TestSplitAtEveryByte feeds the stream in two pieces split at every byte
// boundary, and one byte at a time, and expects the same events and the
// same raw bytes each time.
func TestSplitAtEveryByte(t *testing.T) {
	want, wantRaw, _ := readAll(t, strings.NewReader(anthropicStream))
	if wantRaw != anthropicStream {
		t.Fatalf("raw bytes differ from input:\n%q\n%q", wantRaw, anthropicStream)
	}
	for i := 0; i <= len(anthropicStream); i++ {
		r := io.MultiReader(iotest.OneByteReader(strings.NewReader(anthropicStream[:i])), strings.NewReader(anthropicStream[i:]))
		evs, raw, err := readAll(t, r)
		if err != io.EOF || raw != wantRaw || len(evs) != len(want) {
			t.Fatalf("split at %d: %d events, err %v", i, len(evs), err)
		}
	}
}

func TestTooLarge(t *testing.T) {
	big := "data: " + strings.Repeat("x", MaxEventSize) + "\n\n"
	_, _, err := readAll(t, strings.NewReader(big))
	if !errors.Is(err, ErrEventTooLarge) {
		t.Fatalf("error = %v, want ErrEventTooLarge", err)
	}
}

func TestAppendEvent(t *testing.T) {
	if got := string(AppendEvent(nil, "", []byte(`{"a":1}`))); got != "data: {\"a\":1}\n\n" {
		t.Fatalf("got %q", got)
	}
	if got := string(AppendEvent(nil, "message_stop", []byte("a\nb"))); got != "event: message_stop\ndata: a\ndata: b\n\n" {
		t.Fatalf("got %q", got)
	}
	// Round trip.
	ev, err := NewReader(bytes.NewReader(AppendEvent(nil, "x", []byte("l1\nl2")))).Next()
	if err != nil || ev.Name != "x" || string(ev.Data) != "l1\nl2" {
		t.Fatalf("round trip: %v %v", ev, err)
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte(anthropicStream))
	f.Add([]byte("data: {\"a\":1}\r\n\r\ndata: [DONE]\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rd := NewReader(bytes.NewReader(b))
		total := 0
		for {
			ev, err := rd.Next()
			if err != nil {
				break
			}
			// An event's raw bytes come from the input, never invented,
			// and its data is never longer than its raw form.
			if !bytes.Contains(b, ev.Raw) || len(ev.Data) > len(ev.Raw) {
				t.Fatalf("event %v not taken from the input", ev)
			}
			total += len(ev.Raw)
		}
		if total > len(b) {
			t.Fatalf("events hold %d bytes of a %d-byte input", total, len(b))
		}
	})
}
