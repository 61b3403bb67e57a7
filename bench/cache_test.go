package bench

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// TestCacheAndAuditCost measures, on the real binary over loopback:
//
//   - the latency of a cache hit for a ~4 KB answer, whole and streamed
//     (one client, requests back to back, so the figure is the gateway's
//     own time, not queueing);
//   - what the audit log costs: the throughput of the same non-streaming
//     load with the audit log on and off (two Caddy processes run one
//     after the other, alternating over rounds).
//
// It runs only when LLMGW_LOADBENCH=1, with the settings of TestLoadCompare
// (duration, warm-up, concurrency, rounds) and LLMGW_CACHEBENCH_REQUESTS
// (cache hits measured per kind, default 5000). Targets (reported, not
// enforced): hit p50 ≤ 200 µs; audit on vs off within 10%.
func TestCacheAndAuditCost(t *testing.T) {
	if os.Getenv("LLMGW_LOADBENCH") != "1" {
		t.Skip("load benchmark; set LLMGW_LOADBENCH=1 to run it")
	}
	dur := envDuration(t, "LLMGW_LOADBENCH_DURATION", 10*time.Second)
	warmup := envDuration(t, "LLMGW_LOADBENCH_WARMUP", 2*time.Second)
	conc := envInt(t, "LLMGW_LOADBENCH_CONCURRENCY", 50)
	rounds := envInt(t, "LLMGW_LOADBENCH_ROUNDS", 2)
	hits := envInt(t, "LLMGW_CACHEBENCH_REQUESTS", 5000)
	bin := os.Getenv("LLMGW_CADDY")
	if bin == "" {
		bin = buildCaddy(t)
	}
	const key = "sk-bench-upstream-key"
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: max(conc, 50),
		MaxConnsPerHost:     conc,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	var report strings.Builder

	// Cache hits: site A answers ~4 KB whole (700 content words), site B
	// streams ~4 KB (20 content chunks).
	{
		whole := startUpstream(t, key, 700, 0, 0)
		streamed := startUpstream(t, key, 20, 0, 0)
		cd := startCaddyFile(t, bin, "", func(admin, portA, portB int) string {
			return fmt.Sprintf(cacheCaddyfile, admin, portA, portB, whole.URL, streamed.URL, key)
		})
		plain, stream := requestBodies(false)
		fmt.Fprintf(&report, "Cache hits, one client, %d requests each (after one miss):\n\n", hits)
		fmt.Fprintf(&report, "| answer | size | p50 | p90 | p99 |\n|---|---|---|---|---|\n")
		for _, sc := range []scenario{
			{Target: "cached", URL: cd.proxyURL, Key: cd.gatewayKey, Body: plain},
			{Target: "cached", URL: cd.gatewayURL, Key: cd.gatewayKey, Stream: true, Body: stream},
		} {
			size := checkHit(t, client, sc)
			var lat []time.Duration
			buf := make([]byte, 32<<10)
			for range hits {
				l, _, err := doRequest(client, sc, buf)
				if err != nil {
					t.Fatalf("%s: %v", sc.Name(), err)
				}
				lat = append(lat, l)
			}
			p := percentilesOf(lat)
			fmt.Fprintf(&report, "| %s | %d B | %s | %s | %s |\n", sc.Mode(), size, us(p.P50), us(p.P90), us(p.P99))
			if p.P50 > 200*time.Microsecond {
				t.Logf("%s: hit p50 %s is above the 200 µs target", sc.Mode(), us(p.P50))
			}
		}
	}

	// The audit log's cost: site A of each process is the gateway with no
	// cache; one process has the audit log off.
	up := startUpstream(t, key, 10, 0, 0)
	procs := map[string]*caddyProc{}
	for _, mode := range []string{"on", "off"} {
		global := ""
		if mode == "off" {
			global = "\n\tllm_gateway {\n\t\taudit off\n\t}"
		}
		procs[mode] = startCaddyFile(t, bin, "", func(admin, portA, portB int) string {
			return fmt.Sprintf(auditCaddyfile, admin, portA, portB, up.URL, key, global)
		})
	}
	plain, _ := requestBodies(false)
	results := map[string]*loadResult{}
	for round := range rounds {
		order := []string{"on", "off"}
		if round%2 == 1 {
			order = []string{"off", "on"}
		}
		for _, mode := range order {
			cd := procs[mode]
			sc := scenario{Target: "audit " + mode, URL: cd.proxyURL, Key: cd.gatewayKey, Body: plain}
			if warmup > 0 {
				runLoad(client, sc, conc, warmup)
			}
			r := runLoad(client, sc, conc, dur)
			if r.Errors > 0 {
				t.Errorf("%s: %d errors, first: %s", sc.Name(), r.Errors, strings.Join(r.ErrorSamples, "; "))
			}
			if results[mode] == nil {
				results[mode] = r
			} else {
				results[mode].merge(r)
			}
		}
	}
	on, off := results["on"], results["off"]
	on.finish()
	off.finish()
	ratio := on.RPS() / off.RPS()
	fmt.Fprintf(&report, "\nAudit log, non-streaming, %d connections, %d rounds of %s:\n\n", conc, rounds, dur)
	fmt.Fprintf(&report, "| audit | req/s | p50 | p99 |\n|---|---|---|---|\n")
	for _, mode := range []string{"off", "on"} {
		r := results[mode]
		fmt.Fprintf(&report, "| %s | %.0f | %s | %s |\n", mode, r.RPS(), ms(r.Latency.P50), ms(r.Latency.P99))
	}
	fmt.Fprintf(&report, "\naudit on / off throughput: %.3f (target ≥ 0.90)\n", ratio)
	t.Log("\n" + report.String())
	if out := os.Getenv("LLMGW_LOADBENCH_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(report.String()), 0o644); err != nil {
			t.Error(err)
		}
	}
}

// checkHit primes the cache with one request (the readiness probe may have
// done it already), checks that the next one is a hit, and returns the
// answer's size.
func checkHit(t *testing.T, client *http.Client, sc scenario) int {
	t.Helper()
	var size int
	for i, want := range []string{"", "HIT"} {
		req, _ := http.NewRequest(http.MethodPost, sc.URL, bytes.NewReader(sc.Body))
		req.Header.Set("Authorization", "Bearer "+sc.Key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		resp.Body.Close()
		if got := resp.Header.Get("X-Cache"); resp.StatusCode != http.StatusOK || want != "" && got != want {
			t.Fatalf("%s request %d: status %d, X-Cache %q, want %s", sc.Mode(), i, resp.StatusCode, got, want)
		}
		size = b.Len()
	}
	return size
}

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond)) }

const cacheCaddyfile = `{
	admin 127.0.0.1:%[1]d
	auto_https off
	persist_config off
}

:%[2]d {
	bind 127.0.0.1
	llm_gateway {
		provider up openai_compatible {
			base_url %[4]s
			api_key %[6]s
		}
		route * up
		cache {
			ttl 1h
		}
	}
}

:%[3]d {
	bind 127.0.0.1
	llm_gateway {
		provider up openai_compatible {
			base_url %[5]s
			api_key %[6]s
		}
		route * up
		cache {
			ttl 1h
		}
	}
}
`

const auditCaddyfile = `{
	admin 127.0.0.1:%[1]d
	auto_https off
	persist_config off%[6]s
}

:%[2]d {
	bind 127.0.0.1
	llm_gateway {
		provider up openai_compatible {
			base_url %[4]s
			api_key %[5]s
		}
		route * up
	}
}

:%[3]d {
	bind 127.0.0.1
	llm_gateway {
		provider up openai_compatible {
			base_url %[4]s
			api_key %[5]s
		}
		route * up
	}
}
`
