package meter

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// event is one server-sent event of a fixture.
type event struct {
	name string
	data []byte
}

// readFixture returns a testdata file.
func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readEvents splits an SSE fixture into events: `event:` and `data:`
// fields, events separated by a blank line, several data lines joined with
// "\n" (the same framing as the gateway's sse package).
func readEvents(t testing.TB, name string) []event {
	t.Helper()
	return parseEvents(readFixture(t, name))
}

func parseEvents(b []byte) []event {
	var evs []event
	var cur event
	has := false
	for _, line := range bytes.Split(b, []byte("\n")) {
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			if has {
				evs = append(evs, cur)
			}
			cur, has = event{}, false
			continue
		}
		if line[0] == ':' {
			continue
		}
		k, v, _ := bytes.Cut(line, []byte(":"))
		v = bytes.TrimPrefix(v, []byte(" "))
		switch string(k) {
		case "event":
			cur.name, has = string(v), true
		case "data":
			if cur.data != nil {
				cur.data = append(cur.data, '\n')
			}
			cur.data = append(cur.data, v...)
			has = true
		}
	}
	if has {
		evs = append(evs, cur)
	}
	return evs
}

// feed meters events on a new Stream.
func feed(dialect, op string, evs []event, request []byte) *Stream {
	s := NewStream(dialect, op)
	if request != nil {
		s.SetRequest(request)
	}
	for _, e := range evs {
		s.Event(e.name, e.data)
	}
	return s
}

// sse builds events from name/data pairs.
func sse(pairs ...string) []event {
	evs := make([]event, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		evs = append(evs, event{name: pairs[i], data: []byte(pairs[i+1])})
	}
	return evs
}

// unnamed strips the event names, as a stream without `event:` lines.
func unnamed(evs []event) []event {
	out := make([]event, len(evs))
	for i, e := range evs {
		out[i] = event{data: e.data}
	}
	return out
}

// until returns the events before the first one whose data contains s.
func until(evs []event, s string) []event {
	for i, e := range evs {
		if bytes.Contains(e.data, []byte(s)) {
			return evs[:i]
		}
	}
	return evs
}
