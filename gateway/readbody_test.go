package gateway

import (
	"bytes"
	"strings"
	"testing"
)

// TestReadBody: the body is read whole whatever its announced length.
func TestReadBody(t *testing.T) {
	small := strings.Repeat("a", 100)
	large := strings.Repeat("b", 100<<10)
	for _, c := range []struct {
		name      string
		body      string
		announced int64
	}{
		{"unannounced", small, -1},
		{"exact", small, 100},
		{"announced longer", small, 1000},
		{"announced shorter", small, 10},
		{"empty", "", 0},
		{"large, exact", large, int64(len(large))},
		{"large, unannounced", large, -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := readBody(strings.NewReader(c.body), c.announced)
			if err != nil || !bytes.Equal(got, []byte(c.body)) {
				t.Fatalf("got %d bytes, %v; want %d", len(got), err, len(c.body))
			}
		})
	}
}
