package translate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fixture reads a file from testdata.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("reading fixture: %v", err)
	}
	return b
}

// decodeJSON unmarshals b into a generic value, failing the test on error.
func decodeJSON(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("invalid JSON %q: %v", b, err)
	}
	return normalizeNumbers(v)
}

// normalizeNumbers turns json.Number into float64 so that 1 and 1.0 compare
// equal.
func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalizeNumbers(e)
		}
	}
	return v
}

// assertJSONEqual compares two JSON documents semantically.
func assertJSONEqual(t testing.TB, got, want []byte) {
	t.Helper()
	g, w := decodeJSON(t, got), decodeJSON(t, want)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("JSON mismatch\n got: %s\nwant: %s", pretty(g), pretty(w))
	}
}

func pretty(v any) string {
	b, _ := json.MarshalIndent(v, "      ", "  ")
	return string(b)
}

// sseEvent is one parsed server-sent event.
type sseEvent struct {
	name string
	data []byte
}

// parseSSE splits an SSE stream into events (event: and data: fields only).
func parseSSE(t testing.TB, stream []byte) []sseEvent {
	t.Helper()
	var events []sseEvent
	var cur sseEvent
	var data []string
	flush := func() {
		if cur.name != "" || len(data) > 0 {
			cur.data = []byte(strings.Join(data, "\n"))
			events = append(events, cur)
		}
		cur, data = sseEvent{}, nil
	}
	sc := bufio.NewScanner(bytes.NewReader(stream))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			flush()
		case strings.HasPrefix(line, "event:"):
			cur.name = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			data = append(data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	flush()
	return events
}

// runStream feeds events to a new ChatStream and collects every chunk. It
// fails the test on any error.
func jsonArray(chunks [][]byte) []byte {
	return append(append([]byte("["), bytes.Join(chunks, []byte(","))...), ']')
}
