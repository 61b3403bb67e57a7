package cache

import (
	"slices"
	"testing"
)

func TestRecorder(t *testing.T) {
	tests := []struct {
		name   string
		limit  int
		chunks []string
		want   []string
		over   bool
	}{
		{"nothing", 10, nil, nil, false},
		{"within the limit", 10, []string{"abc", "", "defg"}, []string{"abc", "", "defg"}, false},
		{"exactly the limit", 6, []string{"abc", "def"}, []string{"abc", "def"}, false},
		{"one byte over", 5, []string{"abc", "def"}, nil, true},
		{"stays over", 5, []string{"abcdef", "a", "b"}, nil, true},
		{"limit 0 takes empty chunks", 0, []string{"", ""}, []string{"", ""}, false},
		{"limit 0", 0, []string{"", "a"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRecorder(tt.limit)
			buf := make([]byte, 0, 16)
			for _, c := range tt.chunks {
				buf = append(buf[:0], c...)
				r.Add(buf)
				clear(buf) // the caller reuses its buffer
			}
			if r.Over() != tt.over {
				t.Errorf("Over() = %v, want %v", r.Over(), tt.over)
			}
			var got []string
			for _, ev := range r.Events() {
				got = append(got, string(ev))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Events() = %q, want %q", got, tt.want)
			}
			if tt.over && r.Events() != nil {
				t.Error("Events() kept chunks once over")
			}
		})
	}
}

func TestRecorderOverStopsCopying(t *testing.T) {
	r := NewRecorder(4)
	r.Add([]byte("abcde"))
	chunk := []byte("x")
	if n := testing.AllocsPerRun(100, func() { r.Add(chunk) }); n != 0 {
		t.Errorf("Add allocates %v times once over", n)
	}
}
