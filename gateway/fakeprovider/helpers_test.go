package fakeprovider_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// post sends body to url with the given headers and returns the status,
// the whole response body and the response headers.
func post(t *testing.T, url, body string, h http.Header) (int, []byte, http.Header) {
	t.Helper()
	return do(t, http.MethodPost, url, body, h)
}

func do(t *testing.T, method, url, body string, h http.Header) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return resp.StatusCode, data, resp.Header
}
