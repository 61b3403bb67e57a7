package policy

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestHTTPHeaders(t *testing.T) {
	many := http.Header{}
	for i := range 100 {
		many.Set(fmt.Sprintf("X-H%d", i), "v")
	}
	tests := []struct {
		name  string
		in    http.Header
		check func(map[string]string) error
	}{
		{"credentials hidden", http.Header{"Authorization": {"Bearer s"}, "Proxy-Authorization": {"s"}, "Cookie": {"s"},
			"Api-Key": {"s"}, "X-Api-Key": {"s"}, "X-Goog-Api-Key": {"s"}, "X-Team": {"ml"}}, func(h map[string]string) error {
			if len(h) != 1 || h["x-team"] != "ml" {
				return fmt.Errorf("got %v", h)
			}
			return nil
		}},
		{"first value, lower-cased name", http.Header{"User-Agent": {"a", "b"}}, func(h map[string]string) error {
			if h["user-agent"] != "a" {
				return fmt.Errorf("got %v", h)
			}
			return nil
		}},
		{"long value cut", http.Header{"X-Long": {strings.Repeat("x", 5000)}}, func(h map[string]string) error {
			if len(h["x-long"]) != MaxHeaderValue {
				return fmt.Errorf("%d bytes", len(h["x-long"]))
			}
			return nil
		}},
		{"at most 64", many, func(h map[string]string) error {
			if len(h) != MaxHeaders {
				return fmt.Errorf("%d headers", len(h))
			}
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.check(HTTPHeaders(tt.in)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestClientIP(t *testing.T) {
	for in, want := range map[string]string{"203.0.113.7:443": "203.0.113.7", "[::1]:80": "::1", "bad": "", "": ""} {
		if got := ClientIP(in); got != want {
			t.Errorf("ClientIP(%q) = %q, want %q", in, got, want)
		}
	}
}
