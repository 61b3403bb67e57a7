// Package sse reads and writes server-sent events as the LLM providers send
// them: `event:` and `data:` fields, events separated by a blank line.
//
// The Reader keeps each event's raw bytes so a gateway can forward an event
// exactly as it arrived while still looking at its fields.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
)

// MaxEventSize bounds one event, so a hostile or broken upstream cannot make
// the gateway buffer without limit. The largest real events (a Responses
// API `response.completed` carrying the whole answer) stay far below it.
const MaxEventSize = 16 << 20

// ErrEventTooLarge is returned when an event exceeds MaxEventSize.
var ErrEventTooLarge = errors.New("sse: event exceeds the maximum size")

// Event is one server-sent event.
type Event struct {
	// Name is the `event:` field, empty when the event has none.
	Name string
	// Data is the `data:` field; several data lines are joined with "\n".
	Data []byte
	// Raw is the event as received, including its terminating blank line.
	Raw []byte
}

// Reader reads events from a stream.
type Reader struct {
	br  *bufio.Reader
	raw []byte
	ev  Event
}

// readers recycles the buffered readers of finished streams.
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 8<<10) }}

// NewReader returns a Reader that reads from r. Call Release when done.
func NewReader(r io.Reader) *Reader {
	br := readers.Get().(*bufio.Reader)
	br.Reset(r)
	return &Reader{br: br}
}

// Release returns the Reader's buffer for reuse; the Reader, and any event
// it returned, must not be used afterwards.
func (r *Reader) Release() {
	if r.br != nil {
		r.br.Reset(nil)
		readers.Put(r.br)
		r.br = nil
	}
}

// Next returns the next event that has data or a name. Comment lines and
// fields other than event and data are kept in Raw but otherwise ignored.
// At the end of the stream it returns io.EOF; a stream that ends in the
// middle of an event returns io.ErrUnexpectedEOF. The returned event is
// valid until the next call.
func (r *Reader) Next() (*Event, error) {
	r.raw = r.raw[:0]
	r.ev = Event{}
	var data []byte
	hasData := false
	for {
		line, err := r.readLine()
		if err != nil {
			if err == io.EOF && len(r.raw) > 0 {
				if len(bytes.TrimSpace(r.raw)) == 0 {
					return nil, io.EOF
				}
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		content := bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if len(content) == 0 { // blank line: end of event
			if !hasData && r.ev.Name == "" {
				r.raw = r.raw[:0]
				continue // a lone comment or stray blank line
			}
			r.ev.Data = data
			r.ev.Raw = r.raw
			return &r.ev, nil
		}
		if content[0] == ':' {
			continue
		}
		name, value, _ := bytes.Cut(content, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(name) {
		case "event":
			r.ev.Name = string(value)
		case "data":
			if hasData {
				data = append(data, '\n')
			}
			data = append(data, value...)
			hasData = true
		}
	}
}

// readLine appends the next line (with its newline) to r.raw and returns it.
func (r *Reader) readLine() ([]byte, error) {
	start := len(r.raw)
	for {
		chunk, err := r.br.ReadSlice('\n')
		if len(r.raw)+len(chunk) > MaxEventSize {
			return nil, ErrEventTooLarge
		}
		r.raw = append(r.raw, chunk...)
		switch err {
		case nil:
			return r.raw[start:], nil
		case bufio.ErrBufferFull:
			continue
		default:
			if err == io.EOF && len(r.raw) > start {
				return r.raw[start:], nil // last line without a newline
			}
			return nil, err
		}
	}
}

// AppendEvent appends an event with the given name (omitted when empty) and
// data to dst in wire form. Data containing newlines becomes several data
// lines.
func AppendEvent(dst []byte, name string, data []byte) []byte {
	if name != "" {
		dst = append(dst, "event: "...)
		dst = append(dst, name...)
		dst = append(dst, '\n')
	}
	for {
		line, rest, found := bytes.Cut(data, []byte("\n"))
		dst = append(dst, "data: "...)
		dst = append(dst, line...)
		dst = append(dst, '\n')
		if !found {
			break
		}
		data = rest
	}
	return append(dst, '\n')
}

// Done is the data of OpenAI's terminal event.
var Done = []byte("[DONE]")

// String renders an event for debugging.
func (e *Event) String() string {
	return fmt.Sprintf("event=%q data=%q", e.Name, e.Data)
}

// Buffered reports whether bytes of a further event have already arrived,
// so a caller can hold its flush until it has caught up with the stream.
func (r *Reader) Buffered() bool { return r.br.Buffered() > 0 }
