package admin

import (
	"net/http"
	"strings"
	"testing"
)

// TestCLIReports covers the usage, audit and cache commands.
func TestCLIReports(t *testing.T) {
	const (
		usage = `{"data":[{"period":"2026-11-20","requests":3,"input_tokens":30,"output_tokens":12,"cached_tokens":4,"spend_usd":0.0015,"cache_hits":1},` +
			`{"period":"2026-11-21","requests":2,"input_tokens":20,"output_tokens":8,"cached_tokens":0,"spend_usd":0.001,"cache_hits":0}],"next":""}`
		audit1 = `{"id":"req_2","time":"2026-11-21T10:00:01Z","service_id":"svc_1","token_id":"tok_1","surface":"openai","model":"gpt-4o-mini",` +
			`"provider":"openai","stream":true,"status":200,"input_tokens":11,"output_tokens":7,"cost_usd":0.000006,"cache_hit":true,"latency_ms":12.5}`
		audit2 = `{"id":"req_1","time":"2026-11-21T10:00:00Z","surface":"openai","status":401,"error_type":"invalid_api_key","latency_ms":0.2}`
	)
	tests := []struct {
		name   string
		args   []string
		answer cliAnswer
		want   cliReq
		stdout string
		has    []string
		stderr []string
	}{
		{
			name:   "usage of a service per day, with a total",
			args:   []string{"usage", "--service", "svc_1", "--from", "2026-11-20"},
			answer: cliOK(usage),
			want:   cliReq{method: "GET", path: "/llm_gateway/usage", query: "from=2026-11-20&service=svc_1"},
			stdout: "" +
				"PERIOD      REQUESTS  INPUT  OUTPUT  CACHED  SPEND USD  CACHE HITS\n" +
				"2026-11-20  3         30     12      4       0.001500   1\n" +
				"2026-11-21  2         20     8       0       0.001000   0\n" +
				"TOTAL       5         50     20      4       0.002500   1\n",
		},
		{
			name:   "usage per month of a token as JSON",
			args:   []string{"usage", "--token", "tok_1", "--period", "month", "--json"},
			answer: cliOK(`{"data":[],"next":""}`),
			want:   cliReq{method: "GET", path: "/llm_gateway/usage", query: "period=month&token=tok_1"},
			stdout: "{\n  \"data\": [],\n  \"next\": \"\"\n}\n",
		},
		{
			name:   "usage empty",
			args:   []string{"usage"},
			answer: cliOK(`{"data":[],"next":""}`),
			want:   cliReq{method: "GET", path: "/llm_gateway/usage"},
			stdout: "No usage in this period.\n",
		},
		{
			name:   "audit with filters",
			args:   []string{"audit", "--service", "svc_1", "--status", "200", "--limit", "2"},
			answer: cliOK(`{"data":[` + audit1 + `,` + audit2 + `],"next":"req_1"}`),
			want:   cliReq{method: "GET", path: "/llm_gateway/audit", query: "limit=2&service=svc_1&status=200"},
			has: []string{
				"TIME                  SERVICE  TOKEN  MODEL        PROVIDER  STATUS               TOKENS IN/OUT  COST USD  LATENCY  FLAGS",
				"2026-11-21T10:00:01Z  svc_1    tok_1  gpt-4o-mini  openai    200                  11/7           0.000006  12ms     stream hit",
				"2026-11-21T10:00:00Z  -        -      -            -         401 invalid_api_key  0/0            0.000000  0ms      -",
			},
			stderr: []string{"More audit records: add --cursor req_1, or use --all."},
		},
		{
			name:   "cache stats",
			args:   []string{"cache", "stats"},
			answer: cliOK(`{"memory_entries":2,"hits":5,"misses":1}`),
			want:   cliReq{method: "GET", path: "/llm_gateway/cache"},
			stdout: "hits:            5\nmemory_entries:  2\nmisses:          1\n",
		},
		{
			name:   "cache purge",
			args:   []string{"cache", "purge"},
			answer: cliOK(`{"purged":7}`),
			want:   cliReq{method: "DELETE", path: "/llm_gateway/cache", ctype: "application/json"},
			stdout: "Cache purged: 7 stored entries removed.\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newCLIFake(t, tc.answer)
			stdout, stderr, err := runCLI(append(tc.args, "--address", f.addr()), "")
			if err != nil {
				t.Fatalf("error: %v\nstderr: %s", err, stderr)
			}
			checkCLIRequests(t, f.requests(), []cliReq{tc.want})
			if tc.stdout != "" && stdout != tc.stdout {
				t.Errorf("stdout:\n%s\nwant:\n%s", stdout, tc.stdout)
			}
			for _, h := range tc.has {
				if !strings.Contains(stdout, h) {
					t.Errorf("stdout lacks %q:\n%s", h, stdout)
				}
			}
			for _, h := range tc.stderr {
				if !strings.Contains(stderr, h) {
					t.Errorf("stderr lacks %q:\n%s", h, stderr)
				}
			}
		})
	}
	t.Run("usage refuses service and token together", func(t *testing.T) {
		f := newCLIFake(t, cliAnswer{http.StatusOK, "{}"})
		if _, _, err := runCLI([]string{"usage", "--service", "a", "--token", "b", "--address", f.addr()}, ""); err == nil || len(f.requests()) != 0 {
			t.Fatalf("err %v, %d requests", err, len(f.requests()))
		}
	})
}
