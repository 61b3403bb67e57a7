//go:build linux

package caddymodule_test

// End-to-end tests: the real Caddy binary with the plugin (../xcaddy),
// run as a separate process in front of fake providers that run in the test
// process, driven through its admin endpoint and its gateway site. They are
// skipped under -short; e2e_helpers_test.go has the process plumbing.
//
//	go test -count=1 -run E2E -v ./caddymodule/
//
// LLMGW_CADDY=<binary> skips the build; LLMGW_E2E_SEED=<n> replays the
// random choices of TestE2EKillDurability.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/fakeprovider"
)

// e2eProviderKey is the fake OpenAI's key in the tests that are not about
// secrets; the children get it as LLMGW_E2E_OPENAI_KEY.
const e2eProviderKey = "sk-e2e-upstream-0123456789"

// e2eGateway is an llm_gateway block body sending every model to one
// openai_compatible provider at baseURL, plus extra lines.
func e2eGateway(baseURL string, extra ...string) string {
	s := fmt.Sprintf(`		provider openai openai_compatible {
			base_url %s
			api_key {env.LLMGW_E2E_OPENAI_KEY}
		}
		route * openai`, baseURL)
	for _, e := range extra {
		s += "\n\t\t" + e
	}
	return s
}

// ---- 1. kill -9 durability ----

// tri is a fact the test knows to be true or false, or does not know: a
// mutation that was sent but not answered before the kill may or may not
// have been applied.
type tri int8

const (
	unknown tri = iota
	yes
	no
)

func triOf(b bool) tri {
	if b {
		return yes
	}
	return no
}

func (v tri) String() string { return [...]string{"unknown", "true", "false"}[v] }

type durService struct {
	id     string
	active tri
}

type durToken struct {
	id, plain, service string
	revoked            tri
}

// durModel is what the admin API acknowledged: every service and token
// whose creation was answered, and their revoked and active flags.
type durModel struct {
	services []*durService
	tokens   []*durToken
	seq      int
	acked    int
}

// durOp is one management call and what its answer means for the model.
type durOp struct {
	name               string
	method, path, body string
	want               int
	acked              func(body []byte) error // the call was answered
	unsure             func()                  // the call got no answer
}

func (m *durModel) service(id string) *durService {
	for _, s := range m.services {
		if s.id == id {
			return s
		}
	}
	return nil
}

// next picks a random management call.
func (m *durModel) next(rng *mrand.Rand) durOp {
	var unrevoked []*durToken
	for _, tk := range m.tokens {
		if tk.revoked != yes {
			unrevoked = append(unrevoked, tk)
		}
	}
	var active, inactive []*durService
	for _, s := range m.services {
		if s.active == yes {
			active = append(active, s)
		} else {
			inactive = append(inactive, s)
		}
	}
	r := rng.IntN(100)
	switch {
	case len(m.services) == 0 || r < 12:
		m.seq++
		name := fmt.Sprintf("kill-%d-%d", m.seq, rng.Uint32())
		return durOp{
			name: "create service " + name, method: "POST", path: "/llm_gateway/services",
			body: fmt.Sprintf(`{"name":%q}`, name), want: http.StatusCreated,
			acked: func(b []byte) error {
				var s e2eService
				if err := json.Unmarshal(b, &s); err != nil || s.ID == "" || !s.Active {
					return fmt.Errorf("answer %s: %v", b, err)
				}
				m.services = append(m.services, &durService{id: s.ID, active: yes})
				return nil
			},
			unsure: func() {}, // an unanswered creation leaves nothing the test knows of
		}
	case r < 60 || (r < 75 && len(unrevoked) == 0) || (r >= 75 && len(active) == 0 && len(inactive) == 0):
		s := m.services[rng.IntN(len(m.services))]
		return durOp{
			name: "mint token of " + s.id, method: "POST", path: "/llm_gateway/services/" + s.id + "/tokens",
			body: `{"name":"kill"}`, want: http.StatusCreated,
			acked: func(b []byte) error {
				var tk e2eToken
				if err := json.Unmarshal(b, &tk); err != nil || tk.ID == "" || tk.Token == "" {
					return fmt.Errorf("answer %s: %v", b, err)
				}
				m.tokens = append(m.tokens, &durToken{id: tk.ID, plain: tk.Token, service: s.id, revoked: no})
				return nil
			},
			unsure: func() {},
		}
	case r < 75:
		tk := unrevoked[rng.IntN(len(unrevoked))]
		return durOp{
			name: "revoke token " + tk.id, method: "DELETE", path: "/llm_gateway/tokens/" + tk.id, want: http.StatusOK,
			acked:  func([]byte) error { tk.revoked = yes; return nil },
			unsure: func() { tk.revoked = unknown },
		}
	case r < 84:
		s := m.services[rng.IntN(len(m.services))]
		var toks []*durToken
		for _, tk := range m.tokens {
			if tk.service == s.id && tk.revoked != yes {
				toks = append(toks, tk)
			}
		}
		return durOp{
			name: "revoke the tokens of " + s.id, method: "POST", path: "/llm_gateway/services/" + s.id + "/tokens/revoke", want: http.StatusOK,
			acked: func([]byte) error {
				for _, tk := range toks {
					tk.revoked = yes
				}
				return nil
			},
			unsure: func() {
				for _, tk := range toks {
					tk.revoked = unknown
				}
			},
		}
	case (r < 93 && len(active) > 0) || len(inactive) == 0:
		s := active[rng.IntN(len(active))]
		return durOp{
			name: "deactivate " + s.id, method: "DELETE", path: "/llm_gateway/services/" + s.id, want: http.StatusOK,
			acked:  func([]byte) error { s.active = no; return nil },
			unsure: func() { s.active = unknown },
		}
	default:
		s := inactive[rng.IntN(len(inactive))]
		return durOp{
			name: "reactivate " + s.id, method: "PATCH", path: "/llm_gateway/services/" + s.id,
			body: `{"active":true}`, want: http.StatusOK,
			acked:  func([]byte) error { s.active = yes; return nil },
			unsure: func() { s.active = unknown },
		}
	}
}

// run sends op. It returns false when no answer came (the process is
// gone); an answer with another status than expected fails the test.
func (m *durModel) run(t *testing.T, p *caddyProc, op durOp) bool {
	status, body, err := p.admin(op.method, op.path, op.body)
	if err != nil {
		op.unsure()
		return false
	}
	if status != op.want {
		t.Errorf("%s: status %d, want %d: %s", op.name, status, op.want, body)
		op.unsure()
		return true
	}
	if err := op.acked(body); err != nil {
		t.Errorf("%s: %v", op.name, err)
	}
	m.acked++
	return true
}

// verify checks, after a restart, that every acknowledged creation exists
// and every acknowledged flag holds, through the admin API and through the
// gateway (200 for a usable token, 401 revoked, 403 inactive service).
// Facts the test did not know are learned from what the process reports.
func (m *durModel) verify(t *testing.T, p *caddyProc, when string) {
	t.Helper()
	for _, s := range m.services {
		status, body, err := p.admin("GET", "/llm_gateway/services/"+s.id, "")
		if err != nil || status != http.StatusOK {
			t.Fatalf("%s: acknowledged service %s is gone: %d %s %v", when, s.id, status, body, err)
		}
		var got e2eService
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		if s.active != unknown && s.active != triOf(got.Active) {
			t.Errorf("%s: service %s active = %v, acknowledged %v", when, s.id, got.Active, s.active)
		}
		s.active = triOf(got.Active)
	}
	for _, tk := range m.tokens {
		status, body, err := p.admin("GET", "/llm_gateway/tokens/"+tk.id, "")
		if err != nil || status != http.StatusOK {
			t.Fatalf("%s: acknowledged token %s is gone: %d %s %v", when, tk.id, status, body, err)
		}
		var got e2eToken
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		if tk.revoked != unknown && tk.revoked != triOf(got.Revoked) {
			t.Errorf("%s: token %s revoked = %v, acknowledged %v", when, tk.id, got.Revoked, tk.revoked)
		}
		tk.revoked = triOf(got.Revoked)
		want := http.StatusOK
		switch {
		case tk.revoked == yes:
			want = http.StatusUnauthorized
		case m.service(tk.service).active == no:
			want = http.StatusForbidden
		}
		if status, body := p.chatStatus(t, tk.plain); status != want {
			t.Errorf("%s: token %s (revoked %v, service active %v) got %d from the gateway, want %d: %s",
				when, tk.id, tk.revoked, m.service(tk.service).active, status, want, body)
		}
	}
}

// e2eSeed returns $LLMGW_E2E_SEED or a random seed, and logs it.
func e2eSeed(t *testing.T) uint64 {
	t.Helper()
	seed := mrand.Uint64()
	if s := os.Getenv("LLMGW_E2E_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("LLMGW_E2E_SEED: %v", err)
		}
	}
	t.Logf("seed %d (LLMGW_E2E_SEED=%d replays it)", seed, seed)
	return seed
}

// TestE2EKillDurability kills Caddy with SIGKILL, again and again, right
// after an acknowledged management call or while calls are in flight, and
// checks after every restart on the same storage directory that the
// database reopens and that nothing acknowledged was lost: every created
// service and token exists (the token works: 200), every revocation holds
// (401), every deactivation holds (403).
func TestE2EKillDurability(t *testing.T) {
	up := fakeprovider.New(t, fakeprovider.OpenAI, e2eProviderKey)
	env := newE2EEnv(t, "LLMGW_E2E_OPENAI_KEY="+e2eProviderKey)
	cfg := e2eConfig{Gateway: e2eGateway(up.URL)}
	seed := e2eSeed(t)
	rng := mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	m := &durModel{}

	// The bounded form runs in CI; LLMGW_RELIABILITY=long runs the
	// reliability suite's figure: 20 hard kills.
	cycles := 10
	if os.Getenv("LLMGW_RELIABILITY") == "long" {
		cycles = 20
	}
	for cycle := range cycles {
		p := env.start(t, cfg)
		if len(p.logLines("llm_gateway storage opened")) != 1 {
			t.Fatalf("cycle %d: the storage was not opened at start:\n%s", cycle, p.log())
		}
		m.verify(t, p, fmt.Sprintf("after kill %d", cycle))
		if t.Failed() {
			return
		}
		if cycle%2 == 0 {
			// Kill right after the k-th acknowledged call.
			k := 1 + rng.IntN(8)
			for range k {
				if op := m.next(rng); !m.run(t, p, op) {
					t.Fatalf("cycle %d: %s got no answer", cycle, op.name)
				}
			}
			p.kill(t)
			continue
		}
		// Kill at a random moment while calls are in flight.
		delay := time.Duration(5+rng.IntN(150)) * time.Millisecond
		opRng := mrand.New(mrand.NewPCG(rng.Uint64(), rng.Uint64()))
		done := make(chan struct{})
		go func() {
			defer close(done)
			for m.run(t, p, m.next(opRng)) {
			}
		}()
		time.Sleep(delay)
		p.kill(t)
		<-done
	}

	// A last restart, then a clean stop and another start: the database
	// also reopens after Caddy closed it.
	p := env.start(t, cfg)
	m.verify(t, p, fmt.Sprintf("after kill %d", cycles))
	p.stop(t)
	if len(p.logLines("llm_gateway storage closed")) != 1 {
		t.Errorf("a clean stop did not close the storage")
	}
	p = env.start(t, cfg)
	m.verify(t, p, "after a clean stop")
	revoked := 0
	for _, tk := range m.tokens {
		if tk.revoked == yes {
			revoked++
		}
	}
	t.Logf("%d kills, %d acknowledged management calls; %d services, %d tokens (%d revoked) checked after each restart",
		cycles, m.acked, len(m.services), len(m.tokens), revoked)
}

// ---- 2. reloads under load ----

// TestE2EReloadUnderLoad reloads the config 20 times, alternately with
// `caddy reload` and POST /load, each time with a changed config, while
// plain and streamed chat completions run without pause. Every request
// that reached Caddy must succeed with the whole answer, streams that span
// reloads included, and the storage must stay open, once, through all of
// it.
//
// A request can also fail before Caddy sees it, and that is Caddy's (and
// Linux's) doing, not the gateway's: on Linux each config listens on its
// own SO_REUSEPORT socket, and closing the old one resets the connections
// still waiting in its accept queue; with keep-alive, the old server
// closes its idle connections while a client may be sending on one. Plain
// Caddy with a static respond handler loses about as many requests the same
// way. Each request carries a tag in its message: a request that failed
// without an answer during a reload (or up to 1s after) and never reached
// the fake provider is counted as dropped before Caddy; only more than one
// such drop per client and reload fails the test.
func TestE2EReloadUnderLoad(t *testing.T) {
	const reply = "one two three four five six seven eight nine ten"
	// The bounded form runs in CI; LLMGW_RELIABILITY=long runs the
	// reliability suite's figure: 50 reloads during 100 live streams.
	plainers, streamers, reloads := 8, 4, 20
	if os.Getenv("LLMGW_RELIABILITY") == "long" {
		plainers, streamers, reloads = 16, 100, 50
	}
	up := fakeprovider.New(t, fakeprovider.OpenAI, e2eProviderKey)
	// About 13 events 120ms apart: a stream lasts about 1.5s.
	up.Set(fakeprovider.Behavior{Reply: reply, ChunkDelay: 120 * time.Millisecond})
	env := newE2EEnv(t, "LLMGW_E2E_OPENAI_KEY="+e2eProviderKey)
	config := func(n int) e2eConfig {
		return e2eConfig{Gateway: e2eGateway(up.URL, fmt.Sprintf("alias reload-marker-%d gpt-4o-mini", n))}
	}
	p := env.start(t, config(0))
	svcID := p.createService(t, "reload")
	tok := p.mintToken(t, svcID).Token

	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: plainers + streamers}}
	defer client.CloseIdleConnections()
	type lost struct {
		tag    string
		stream bool
		err    error
		at     time.Time
	}
	var (
		mu        sync.Mutex
		failures  []string
		failed    int
		noAnswer  []lost         // transport errors, classified at the end
		spans     [][2]time.Time // start and end of each complete stream
		plainDone atomic.Int64
		tags      atomic.Int64
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		failed++
		if len(failures) < 10 {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	for i := range plainers + streamers {
		stream := i >= plainers
		wg.Go(func() {
			for ctx.Err() == nil {
				start := time.Now()
				tag := fmt.Sprintf("req-%d", tags.Add(1))
				status, body, err := p.post(client, tok, "/v1/chat/completions", e2eChatMessage("gpt-4o-mini", stream, tag))
				switch {
				case err != nil && status == 0:
					mu.Lock()
					noAnswer = append(noAnswer, lost{tag, stream, err, time.Now()})
					mu.Unlock()
				case err != nil:
					fail("%s stream=%v: status %d, then %v: %s", tag, stream, status, err, body)
				case status != http.StatusOK:
					fail("%s stream=%v: status %d: %s", tag, stream, status, body)
				case stream:
					if text, err := streamContent(body); err != nil || text != reply {
						fail("%s stream: text %q, %v:\n%s", tag, text, err, body)
					} else {
						mu.Lock()
						spans = append(spans, [2]time.Time{start, time.Now()})
						mu.Unlock()
					}
				default:
					if text, err := chatContent(body); err != nil || text != reply {
						fail("%s chat: text %q, %v: %s", tag, text, err, body)
					} else {
						plainDone.Add(1)
					}
				}
				if !stream {
					time.Sleep(10 * time.Millisecond) // leave the CPUs some room for the reloads
				}
			}
		})
	}

	var (
		reloadedAt []time.Time
		windows    [][2]time.Time // from the start of each reload to 1s after its end
	)
	began := time.Now()
	for n := 1; n <= reloads; n++ {
		time.Sleep(300 * time.Millisecond)
		text := p.rewrite(t, config(n))
		windowStart := time.Now()
		if n%2 == 0 {
			cmd := exec.Command(env.bin, "reload", "--config", p.config, "--adapter", "caddyfile", "--address", p.adminAddr)
			cmd.Env = env.env
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("reload %d: caddy reload: %v\n%s", n, err, out)
			}
		} else {
			req, _ := http.NewRequest(http.MethodPost, p.adminURL+"/load", strings.NewReader(text))
			req.Header.Set("Content-Type", "text/caddyfile")
			resp, err := e2eHTTP.Do(req)
			if err != nil {
				t.Fatalf("reload %d: POST /load: %v", n, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("reload %d: POST /load: %d %s", n, resp.StatusCode, body)
			}
		}
		reloadedAt = append(reloadedAt, time.Now())
		windows = append(windows, [2]time.Time{windowStart, time.Now().Add(time.Second)})
		if _, cfg, _ := p.admin("GET", "/config/", ""); !bytes.Contains(cfg, []byte(fmt.Sprintf(`"reload-marker-%d"`, n))) {
			t.Fatalf("reload %d did not take effect: %s", n, cfg)
		}
	}
	reloadTime := time.Since(began)
	cancel()
	wg.Wait() // requests in flight complete; the loops stop

	// A request without an answer failed in the gateway if the gateway
	// passed it on to the provider, or if it failed away from any reload;
	// otherwise Caddy never saw it.
	reached := map[string]bool{}
	tagRE := regexp.MustCompile(`req-[0-9]+`)
	for _, r := range up.Requests() {
		for _, tag := range tagRE.FindAll(r.Body, -1) {
			reached[string(tag)] = true
		}
	}
	dropped := 0
	for _, l := range noAnswer {
		nearReload := false
		for _, w := range windows {
			nearReload = nearReload || (!l.at.Before(w[0]) && !l.at.After(w[1]))
		}
		switch {
		case reached[l.tag]:
			fail("%s stream=%v reached the gateway, which did not answer: %v", l.tag, l.stream, l.err)
		case !nearReload:
			fail("%s stream=%v got no answer, away from any reload: %v", l.tag, l.stream, l.err)
		default:
			dropped++
		}
	}
	crossing := 0
	for _, s := range spans {
		for _, r := range reloadedAt {
			if s[0].Before(r) && s[1].After(r) {
				crossing++
				break
			}
		}
	}
	t.Logf("%d reloads in %s; %d chat completions and %d streams succeeded, %d streams spanned a reload; %d failed; "+
		"%d of %d requests dropped before reaching Caddy's handlers",
		reloads, reloadTime.Round(time.Millisecond), plainDone.Load(), len(spans), crossing, failed, dropped, tags.Load())
	if failed > 0 {
		t.Errorf("%d requests failed during reloads; first ones:\n%s", failed, strings.Join(failures, "\n"))
	}
	if dropped > reloads*(plainers+streamers) {
		t.Errorf("%d requests were dropped before reaching Caddy's handlers, more than one per client and reload; first: %v", dropped, noAnswer[0].err)
	}
	if plainDone.Load() < 100 || len(spans) < 2*streamers || crossing < streamers {
		t.Errorf("too little load to mean anything: %d chat completions, %d streams, %d spanning a reload",
			plainDone.Load(), len(spans), crossing)
	}

	for _, bad := range []string{"Cannot acquire directory lock", "panic", "DB Closed", "store closed", "storage is unavailable", `"level":"error"`, `"level":"fatal"`} {
		if lines := p.logLinesFold(bad); len(lines) > 0 {
			t.Errorf("the log has %d lines with %q, first: %s", len(lines), bad, lines[0])
		}
	}
	if n := len(p.logLines("llm_gateway storage opened")); n != 1 {
		t.Errorf("the storage was opened %d times, want once: reloads must share the open database", n)
	}
	if n := len(p.logLines("llm_gateway storage closed")); n != 0 {
		t.Errorf("the storage was closed %d times during reloads", n)
	}
	// Every request that reached the gateway was settled and audited once:
	// as many successful records as answers.
	ok200, records := 0, 0
	for cursor, pages := "", 0; pages < 1000; pages++ {
		var page struct {
			Data []struct {
				Status int `json:"status"`
			} `json:"data"`
			Next string `json:"next"`
		}
		p.adminJSON(t, "GET", "/llm_gateway/audit?service="+svcID+"&limit=1000&cursor="+cursor, "", http.StatusOK, &page)
		for _, r := range page.Data {
			records++
			if r.Status == http.StatusOK {
				ok200++
			}
		}
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	if answered := int(plainDone.Load()) + len(spans); ok200 != answered || records != answered+failed {
		t.Errorf("%d audit records (%d successful) for %d answers and %d failures", records, ok200, answered, failed)
	} else {
		t.Logf("%d requests answered, %d audit records", answered, records)
	}
	// Every config let go of the storage: a clean stop closes it.
	p.stop(t)
	if n := len(p.logLines("llm_gateway storage closed")); n != 1 {
		t.Errorf("after the stop the storage was closed %d times, want once (a config still holds it?)", n)
	}
}

// ---- 3 and 4. the storage lock: a second process, caddy validate ----

// TestE2EStorageLock runs Caddy, then on the same storage directory a
// second Caddy, which must exit non-zero at once naming the directory, and
// `caddy validate` and `caddy adapt --validate`, which must succeed. The
// first keeps serving throughout.
func TestE2EStorageLock(t *testing.T) {
	up := fakeprovider.New(t, fakeprovider.OpenAI, e2eProviderKey)
	env := newE2EEnv(t, "LLMGW_E2E_OPENAI_KEY="+e2eProviderKey)
	cfg := e2eConfig{Gateway: e2eGateway(up.URL)}
	first := env.start(t, cfg)
	svc := first.createService(t, "lock")
	tok := first.mintToken(t, svc)

	serves := func(t *testing.T) {
		t.Helper()
		if status, body := first.chatStatus(t, tok.Token); status != http.StatusOK {
			t.Fatalf("the first process stopped serving: %d %s", status, body)
		}
		other := first.mintToken(t, svc) // and its storage still takes writes
		if status, body := first.chatStatus(t, other.Token); status != http.StatusOK {
			t.Fatalf("a token minted by the first process: %d %s", status, body)
		}
	}

	t.Run("second process fails fast", func(t *testing.T) {
		start := time.Now()
		second := env.spawn(t, cfg)
		code, exited := second.waitExit(15 * time.Second)
		elapsed := time.Since(start)
		if !exited {
			t.Fatalf("a second Caddy on the same storage directory still runs after 15s:\n%s", second.log())
		}
		t.Logf("the second process exited with code %d after %s", code, elapsed.Round(time.Millisecond))
		if code == 0 {
			t.Errorf("the second process exited 0")
		}
		if elapsed > 5*time.Second {
			t.Errorf("the second process took %s to fail, want under 5s", elapsed)
		}
		if !strings.Contains(second.log(), env.storage) {
			t.Errorf("the second process's output does not name the storage directory %s:\n%s", env.storage, second.log())
		}
		serves(t)
	})

	t.Run("validate while running", func(t *testing.T) {
		for _, args := range [][]string{
			{"validate", "--config", first.config, "--adapter", "caddyfile"},
			{"adapt", "--config", first.config, "--adapter", "caddyfile", "--validate"},
		} {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			cmd := exec.CommandContext(ctx, env.bin, args...)
			cmd.Env = env.env
			out, err := cmd.CombinedOutput()
			cancel()
			if err != nil {
				t.Errorf("caddy %s while another process holds the storage: %v\n%s", strings.Join(args, " "), err, out)
			}
			if bytes.Contains(out, []byte("Cannot acquire directory lock")) {
				t.Errorf("caddy %s tried to open the storage:\n%s", args[0], out)
			}
		}
		serves(t)
	})
}

// ---- 5. canary secrets ----

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// e2eExchange is something the test received (or read) that must not hold
// a secret, except the one it may: the answer that mints a token carries
// that token.
type e2eExchange struct {
	what  string
	data  []byte
	holds string
}

// TestE2ECanarySecrets drives every path, failures included, with unique
// canary secrets: a provider key in the Caddyfile (through {env.X}), a
// provider key added through the admin API and pinned by a service, and
// gateway tokens (one used, one revoked). Then no canary may appear in
// Caddy's whole output (debug logs and a filtered access log), in any
// answer received (gateway errors, admin answers), in GET /config/, or in
// any file Caddy wrote (the Badger files, autosave.json): the plaintext,
// base64 or hex. The fake providers must have received their keys, which
// shows the secrets were really used.
func TestE2ECanarySecrets(t *testing.T) {
	configKey := "sk-canary-config-" + randomHex(t, 16)
	storedKey := "sk-canary-stored-" + randomHex(t, 16)
	openaiUp := fakeprovider.New(t, fakeprovider.OpenAI, configKey)
	pinnedUp := fakeprovider.New(t, fakeprovider.OpenAI, storedKey)
	unreachable := fmt.Sprintf("http://127.0.0.1:%d/v1", freePort(t))
	env := newE2EEnv(t, "LLMGW_E2E_CANARY_KEY="+configKey)
	gateway := fmt.Sprintf(`		provider openai openai_compatible {
			base_url %s
			api_key {env.LLMGW_E2E_CANARY_KEY}
		}
		provider pinned openai_compatible {
			base_url %s
		}
		provider down openai_compatible {
			base_url %s
			api_key {env.LLMGW_E2E_CANARY_KEY}
			dial_timeout 2s
		}
		route gpt-* openai
		route pinned-* pinned
		route down-* down
		cache {
			ttl 1h
		}
		capture_bodies 1MB`, openaiUp.URL, pinnedUp.URL, unreachable)
	p := env.start(t, e2eConfig{Gateway: gateway, Debug: true, Persist: true, AccessLog: true})

	var seen []e2eExchange
	record := func(what string, resp *http.Response, body []byte, holds string) {
		var h bytes.Buffer
		_ = resp.Header.Write(&h)
		seen = append(seen, e2eExchange{what: what, data: append(h.Bytes(), body...), holds: holds})
	}
	admin := func(method, path, body string, want int, v any, holds ...string) {
		t.Helper()
		req, _ := http.NewRequest(method, p.adminURL+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := e2eHTTP.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		record("admin "+method+" "+path, resp, b, strings.Join(holds, ""))
		if resp.StatusCode != want {
			t.Errorf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, b)
		}
		if v != nil {
			if err := json.Unmarshal(b, v); err != nil {
				t.Fatalf("%s %s: %v: %s", method, path, err, b)
			}
		}
	}

	// Identities: a service with two tokens, and the stored key pinned.
	svcName := "canary-service-" + randomHex(t, 8)
	var svc e2eService
	admin("POST", "/llm_gateway/services", fmt.Sprintf(`{"name":%q}`, svcName), http.StatusCreated, &svc)
	var tok, revoked e2eToken
	admin("POST", "/llm_gateway/services/"+svc.ID+"/tokens", `{"name":"canary"}`, http.StatusCreated, &tok)
	seen[len(seen)-1].holds = tok.Token
	admin("POST", "/llm_gateway/services/"+svc.ID+"/tokens", `{"name":"canary-revoked"}`, http.StatusCreated, &revoked)
	seen[len(seen)-1].holds = revoked.Token
	var key struct {
		ID    string `json:"id"`
		Last4 string `json:"last4"`
	}
	admin("POST", "/llm_gateway/providers/pinned/keys", fmt.Sprintf(`{"key":%q,"label":"canary"}`, storedKey), http.StatusCreated, &key)
	if key.Last4 != storedKey[len(storedKey)-4:] {
		t.Errorf("stored key shows last4 %q", key.Last4)
	}
	admin("PATCH", "/llm_gateway/services/"+svc.ID, fmt.Sprintf(`{"pinned_keys":{"pinned":%q}}`, key.ID), http.StatusOK, nil)
	// Refused admin input that carries a secret is not echoed back.
	admin("POST", "/llm_gateway/providers/pinned/keys", fmt.Sprintf(`{"key":%q}`, storedKey+" x"), http.StatusBadRequest, nil)
	admin("POST", "/llm_gateway/providers/pinned/keys", fmt.Sprintf(`{"kee":%q}`, storedKey), http.StatusBadRequest, nil)
	admin("POST", "/llm_gateway/services/"+svc.ID+"/tokens", fmt.Sprintf(`{"name":"x","token":%q}`, tok.Token), http.StatusBadRequest, nil)

	// Gateway calls. auth says where the token goes: a header name, or
	// "key" for the ?key= query parameter.
	type call struct {
		name, method, path, auth, token, body string
		upstream                              *fakeprovider.Server
		behavior                              fakeprovider.Behavior
		want                                  int
		// cached lets the answer come from the cache; other calls ask
		// for a fresh one, since many send the same body.
		cached bool
	}
	chat := func(model string, stream bool) string { return e2eChatBody(model, stream) }
	echo := func(k string) string {
		return fmt.Sprintf(`{"error":{"message":"Invalid request with key %s","type":"invalid_request_error","param":null,"code":null}}`, k)
	}
	calls := []call{
		{name: "chat", path: "/v1/chat/completions", body: chat("gpt-4o-mini", false), want: 200},
		{name: "chat stream", path: "/v1/chat/completions", body: chat("gpt-4o-mini", true), want: 200},
		{name: "x-api-key", path: "/v1/chat/completions", auth: "X-Api-Key", body: chat("gpt-4o-mini", false), want: 200},
		{name: "api-key", path: "/v1/chat/completions", auth: "Api-Key", body: chat("gpt-4o-mini", true), want: 200},
		{name: "x-goog-api-key", path: "/v1/chat/completions", auth: "X-Goog-Api-Key", body: chat("gpt-4o-mini", false), want: 200},
		{name: "query key", path: "/v1/chat/completions", auth: "key", body: chat("gpt-4o-mini", false), want: 200},
		{name: "azure surface", path: "/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-10-21", auth: "Api-Key", body: chat("gpt-4o-mini", false), want: 200},
		{name: "models", method: "GET", path: "/v1/models", want: 200},
		{name: "pinned key", path: "/v1/chat/completions", body: chat("pinned-model", false), want: 200},
		{name: "pinned key stream", path: "/v1/chat/completions", body: chat("pinned-model", true), want: 200},
		{name: "unknown model", path: "/v1/chat/completions", body: chat("no-such-model", false), want: 404},
		{name: "invalid JSON", path: "/v1/chat/completions", body: `{"model":"gpt-4o-mini","messages":[`, want: 400},
		{name: "anthropic surface to an OpenAI provider (translated)", path: "/v1/messages", auth: "X-Api-Key",
			body: `{"model":"gpt-4o-mini","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, want: 200},
		{name: "anthropic surface to an OpenAI provider, streamed", path: "/v1/messages", auth: "X-Api-Key",
			body: `{"model":"gpt-4o-mini","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, want: 200},
		{name: "provider 500", path: "/v1/chat/completions", body: chat("gpt-4o-mini", false),
			upstream: openaiUp, behavior: fakeprovider.Behavior{Status: 500}, want: 500},
		{name: "provider 500 stream", path: "/v1/chat/completions", body: chat("gpt-4o-mini", true),
			upstream: openaiUp, behavior: fakeprovider.Behavior{Status: 500}, want: 500},
		{name: "provider 401", path: "/v1/chat/completions", body: chat("gpt-4o-mini", false),
			upstream: openaiUp, behavior: fakeprovider.Behavior{Status: 401}, want: 401},
		{name: "provider echoes its key", path: "/v1/chat/completions", body: chat("gpt-4o-mini", false),
			upstream: openaiUp, behavior: fakeprovider.Behavior{Status: 400, ErrorBody: echo(configKey)}, want: 400},
		{name: "provider echoes its key, not JSON", path: "/v1/chat/completions", body: chat("gpt-4o-mini", true),
			upstream: openaiUp, behavior: fakeprovider.Behavior{Status: 502, ErrorBody: "bad gateway for " + configKey}, want: 502},
		{name: "provider cuts the stream", path: "/v1/chat/completions", body: chat("gpt-4o-mini", true),
			upstream: openaiUp, behavior: fakeprovider.Behavior{CutAfter: 2}, want: 200},
		{name: "pinned provider 401", path: "/v1/chat/completions", body: chat("pinned-model", false),
			upstream: pinnedUp, behavior: fakeprovider.Behavior{Status: 401}, want: 401},
		{name: "pinned provider echoes its key", path: "/v1/chat/completions", body: chat("pinned-model", false),
			upstream: pinnedUp, behavior: fakeprovider.Behavior{Status: 400, ErrorBody: echo(storedKey)}, want: 400},
		{name: "provider unreachable", path: "/v1/chat/completions", body: chat("down-model", false), want: 502},
		{name: "provider unreachable stream", path: "/v1/chat/completions", body: chat("down-model", true), want: 502},
		{name: "malformed token", path: "/v1/chat/completions", token: tok.Token[:len(tok.Token)-1] + "x", body: chat("gpt-4o-mini", false), want: 401},
		{name: "token still valid before revocation", path: "/v1/chat/completions", token: revoked.Token, body: chat("gpt-4o-mini", false), want: 200},
		// Client input that carries secrets: the audit log records the
		// model and (with capture_bodies) the bodies, redacted.
		{name: "token as the model", path: "/v1/chat/completions", body: chat(tok.Token, false), want: 404},
		{name: "secrets in the prompt", path: "/v1/chat/completions",
			body: e2eChatMessage("gpt-4o-mini", false, "canary-prompt: my token "+tok.Token+" and the key "+configKey+" and "+storedKey), want: 200},
		{name: "secrets in the prompt, streamed and cached", path: "/v1/chat/completions", cached: true,
			body: e2eChatMessage("gpt-4o-mini", true, "canary-prompt again "+tok.Token+" "+configKey), want: 200},
		{name: "secrets in the prompt, replayed", path: "/v1/chat/completions", cached: true,
			body: e2eChatMessage("gpt-4o-mini", true, "canary-prompt again "+tok.Token+" "+configKey), want: 200},
	}
	do := func(c call) {
		t.Helper()
		if c.upstream != nil {
			c.upstream.Set(c.behavior)
			defer c.upstream.Set(fakeprovider.Behavior{})
		}
		if c.method == "" {
			c.method = "POST"
		}
		if c.token == "" {
			c.token = tok.Token
		}
		path := c.path
		if c.auth == "key" {
			sep := "?"
			if strings.Contains(path, "?") {
				sep = "&"
			}
			path += sep + "key=" + c.token
		}
		req, _ := http.NewRequest(c.method, p.url+path, strings.NewReader(c.body))
		req.Header.Set("Content-Type", "application/json")
		if !c.cached {
			req.Header.Set("Cache-Control", "no-cache")
		}
		switch c.auth {
		case "":
			req.Header.Set("Authorization", "Bearer "+c.token)
		case "key":
		default:
			req.Header.Set(c.auth, c.token)
		}
		resp, err := e2eHTTP.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		record("gateway "+c.name, resp, b, "")
		if resp.StatusCode != c.want {
			t.Errorf("%s: status %d, want %d: %s", c.name, resp.StatusCode, c.want, b)
		}
	}
	for _, c := range calls {
		do(c)
	}
	admin("DELETE", "/llm_gateway/tokens/"+revoked.ID, "", http.StatusOK, nil)
	for _, auth := range []string{"", "X-Api-Key", "Api-Key", "X-Goog-Api-Key", "key"} {
		do(call{name: "revoked token " + auth, path: "/v1/chat/completions", auth: auth, token: revoked.Token, body: chat("gpt-4o-mini", false), want: 401})
	}

	// Admin reads.
	for _, path := range []string{
		"/llm_gateway/services", "/llm_gateway/services/" + svc.ID,
		"/llm_gateway/tokens", "/llm_gateway/tokens?service=" + svc.ID,
		"/llm_gateway/tokens/" + tok.ID, "/llm_gateway/tokens/" + revoked.ID,
		"/llm_gateway/providers/pinned/keys", "/llm_gateway/providers/pinned/keys/" + key.ID,
		"/llm_gateway/providers/openai/keys",
		"/llm_gateway/audit?limit=1000", "/llm_gateway/audit?service=" + svc.ID + "&token=" + tok.ID,
		"/llm_gateway/usage", "/llm_gateway/usage?service=" + svc.ID, "/llm_gateway/usage?token=" + tok.ID,
		"/llm_gateway/cache", "/metrics",
	} {
		admin("GET", path, "", http.StatusOK, nil)
	}
	// The bodies were captured, redacted: the search below then shows no
	// secret got through.
	if _, b, err := p.admin("GET", "/llm_gateway/audit?limit=1000", ""); err != nil ||
		!bytes.Contains(b, []byte("canary-prompt: my token [REDACTED]")) || !bytes.Contains(b, []byte(`"response_body":"data: {`)) {
		t.Errorf("the audit log does not hold the captured, redacted bodies (%v)", err)
	}
	var config []byte
	{
		status, b, err := p.admin("GET", "/config/", "")
		if err != nil || status != http.StatusOK {
			t.Fatalf("GET /config/: %d %v", status, err)
		}
		config = b
		seen = append(seen, e2eExchange{what: "GET /config/", data: b})
	}

	// Every file Caddy wrote, while it runs (the Badger write-ahead log
	// included), and after a clean stop, which writes everything there is
	// to write.
	files := map[string][]byte{}
	snapshot := func(when string) {
		t.Helper()
		err := filepath.WalkDir(env.work, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			files[path+" ("+when+")"] = b
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	snapshot("while running")
	p.stop(t)
	snapshot("after a clean stop")

	// The secrets were used: each provider received its key, and the
	// searches below can see what they look for.
	received := func(up *fakeprovider.Server, key string) int {
		n := 0
		for _, r := range up.Requests() {
			if r.Header.Get("Authorization") == "Bearer "+key {
				n++
			}
		}
		return n
	}
	if n := received(openaiUp, configKey); n == 0 {
		t.Errorf("the provider never received the key from the Caddyfile")
	}
	if n := received(pinnedUp, storedKey); n == 0 {
		t.Errorf("the pinned provider never received the key added through the admin API")
	}
	if !bytes.Contains(config, []byte("{env.LLMGW_E2E_CANARY_KEY}")) {
		t.Errorf("GET /config/ does not show the key's placeholder: %s", config)
	}
	log := p.out.Bytes()
	for _, s := range []string{`"level":"debug"`, `"logger":"http.log.access`, `"uri":"/v1/chat/completions`, `"status":401`} {
		if !bytes.Contains(log, []byte(s)) {
			t.Errorf("the log has no %s: debug and access logging are not what the test expects", s)
		}
	}
	for _, when := range []string{"while running", "after a clean stop"} {
		found := false
		for path, b := range files {
			if strings.HasPrefix(path, env.storage) && strings.HasSuffix(path, "("+when+")") && bytes.Contains(b, []byte(svcName)) {
				found = true
			}
		}
		if !found {
			t.Errorf("no file under %s holds the service name %s: the raw search of the storage would see nothing", env.storage, when)
		}
	}
	for _, up := range []*fakeprovider.Server{openaiUp, pinnedUp} {
		for _, r := range up.Requests() {
			var h bytes.Buffer
			_ = r.Header.Write(&h)
			holds := configKey + storedKey
			if bytes.Contains(r.Body, []byte("canary-prompt")) {
				holds += tok.Token // the client put it in its prompt: it goes upstream as sent
			}
			seen = append(seen, e2eExchange{what: "request received by the " + up.URL + " provider", data: append(append(h.Bytes(), r.Body...), r.RawQuery...), holds: holds})
		}
	}

	ek, _ := base64.StdEncoding.DecodeString(e2eEncryptionKey)
	secrets := []struct {
		name  string
		forms [][]byte
	}{
		{"the provider key from the Caddyfile", encodings(configKey)},
		{"the provider key added through the admin API", encodings(storedKey)},
		{"the gateway token", encodings(tok.Token)},
		{"the revoked gateway token", encodings(revoked.Token)},
		{"the encryption key", append(encodings(e2eEncryptionKey), ek)},
	}
	places := []e2eExchange{{what: "Caddy's output (stdout and stderr)", data: log}}
	places = append(places, seen...)
	for path, b := range files {
		places = append(places, e2eExchange{what: "file " + path, data: b})
	}
	checked := 0
	for _, s := range secrets {
		for _, pl := range places {
			if pl.holds != "" && strings.Contains(pl.holds, string(s.forms[0])) {
				continue
			}
			checked++
			for _, f := range s.forms {
				if i := bytes.Index(pl.data, f); i >= 0 {
					lo, hi := max(0, i-200), min(len(pl.data), i+len(f)+100)
					t.Errorf("%s appears in %s:\n…%s…", s.name, pl.what, bytes.ReplaceAll(pl.data[lo:hi], f, []byte("<CANARY>")))
					break
				}
			}
		}
	}
	t.Logf("searched %d places (%d answers, %d files, %d bytes of output) for %d secrets: %d searches",
		len(places), len(seen), len(files), len(log), len(secrets), checked)
}

// encodings returns s as is, in base64 (standard and URL, padded or not)
// and in hex.
func encodings(s string) [][]byte {
	b := []byte(s)
	return [][]byte{
		b,
		[]byte(base64.StdEncoding.EncodeToString(b)),
		[]byte(base64.RawStdEncoding.EncodeToString(b)),
		[]byte(base64.RawURLEncoding.EncodeToString(b)),
		[]byte(hex.EncodeToString(b)),
	}
}

// ---- 6. revocation on the next request ----

// TestE2ERevocationNextRequest checks that every way of cutting a token
// off takes effect on the very next request, although the token was just
// verified (and so cached): revoking it, revoking all of its service's
// tokens, deactivating its service. Other services' tokens keep working.
func TestE2ERevocationNextRequest(t *testing.T) {
	up := fakeprovider.New(t, fakeprovider.OpenAI, e2eProviderKey)
	env := newE2EEnv(t, "LLMGW_E2E_OPENAI_KEY="+e2eProviderKey)
	p := env.start(t, e2eConfig{Gateway: e2eGateway(up.URL)})
	bystander := p.mintToken(t, p.createService(t, "bystander"))

	cases := []struct {
		name   string
		tokens int
		cut    func(svc string, toks []e2eToken) (method, path, body string)
		want   int
		// undo, when set, restores access; the next request must get 200.
		undo func(svc string) (method, path, body string)
	}{
		{
			name: "DELETE /tokens/{id}", tokens: 1, want: http.StatusUnauthorized,
			cut: func(_ string, toks []e2eToken) (string, string, string) {
				return "DELETE", "/llm_gateway/tokens/" + toks[0].ID, ""
			},
		},
		{
			name: "POST /services/{id}/tokens/revoke", tokens: 3, want: http.StatusUnauthorized,
			cut: func(svc string, _ []e2eToken) (string, string, string) {
				return "POST", "/llm_gateway/services/" + svc + "/tokens/revoke", ""
			},
		},
		{
			name: "DELETE /services/{id}", tokens: 2, want: http.StatusForbidden,
			cut: func(svc string, _ []e2eToken) (string, string, string) {
				return "DELETE", "/llm_gateway/services/" + svc, ""
			},
			undo: func(svc string) (string, string, string) {
				return "PATCH", "/llm_gateway/services/" + svc, `{"active":true}`
			},
		},
		{
			name: "PATCH /services/{id} active=false", tokens: 1, want: http.StatusForbidden,
			cut: func(svc string, _ []e2eToken) (string, string, string) {
				return "PATCH", "/llm_gateway/services/" + svc, `{"active":false}`
			},
			undo: func(svc string) (string, string, string) {
				return "PATCH", "/llm_gateway/services/" + svc, `{"active":true}`
			},
		},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc := p.createService(t, fmt.Sprintf("revocation-%d", i))
			var toks []e2eToken
			for range tc.tokens {
				toks = append(toks, p.mintToken(t, svc))
			}
			for _, tk := range append(toks, bystander) {
				for range 3 { // verified, and cached
					if status, body := p.chatStatus(t, tk.Token); status != http.StatusOK {
						t.Fatalf("token %s before: %d %s", tk.ID, status, body)
					}
				}
			}
			method, path, body := tc.cut(svc, toks)
			p.adminJSON(t, method, path, body, http.StatusOK, nil)
			for _, tk := range toks {
				if status, body := p.chatStatus(t, tk.Token); status != tc.want {
					t.Errorf("token %s, the request right after %s %s: %d, want %d: %s", tk.ID, method, path, status, tc.want, body)
				}
			}
			if status, body := p.chatStatus(t, bystander.Token); status != http.StatusOK {
				t.Errorf("another service's token after %s %s: %d %s", method, path, status, body)
			}
			if tc.undo == nil {
				return
			}
			method, path, body = tc.undo(svc)
			p.adminJSON(t, method, path, body, http.StatusOK, nil)
			for _, tk := range toks {
				if status, body := p.chatStatus(t, tk.Token); status != http.StatusOK {
					t.Errorf("token %s, the request right after %s %s: %d, want 200: %s", tk.ID, method, path, status, body)
				}
			}
		})
	}
}

// ---- 7. spend lost to kill -9 ----

const (
	// spendWriteEvery is how often the gateway writes settled spend
	// (spendEvery in package caddymodule, which this package cannot see):
	// a kill -9 may lose the spend settled in the last interval, no more.
	spendWriteEvery = time.Second
	// spendWriteSlack is allowed on top of spendWriteEvery before an
	// acknowledged request's spend must be on disk. The writer is one
	// goroutine woken by a ticker: on a loaded 2-core machine (the race
	// detector, the traffic of the test itself, other test binaries) it
	// can be scheduled late, and its write (a Badger transaction, then a
	// sync) takes time of its own. Half a second absorbs that, and stays
	// below a whole missed tick (2 s of loss), which the kills spread over
	// 2 s of traffic catch in most runs.
	spendWriteSlack = 500 * time.Millisecond
	// spendKillFrom and spendKillSpan place the kills: each cycle kills at
	// a random moment spendKillFrom to spendKillFrom+spendKillSpan into its
	// traffic, the cycles spread evenly over that span. The writer ticks
	// once a second from the start of the process, so the kills fall at
	// every phase of its ticks, over two of them.
	spendKillFrom = 1700 * time.Millisecond
	spendKillSpan = 2 * time.Second
	// spendTokenPrice is the price of one token in the test's config
	// (`price gpt-4o-mini 1000 1000`: $1000 per million input or output
	// tokens), in micro-USD; the fake provider reports spendInputTokens +
	// spendOutputTokens for every answer.
	spendTokenPrice   = 1000
	spendInputTokens  = 10
	spendOutputTokens = 20
	spendRequestCost  = (spendInputTokens + spendOutputTokens) * spendTokenPrice // $0.03
)

// spendRun is the traffic of one kill cycle: chat completions sent one
// after the other until the process is gone.
type spendRun struct {
	sent    int         // requests started, the one the kill cut included
	acked   []time.Time // when each 200 was read in full, in order
	endErr  error       // what ended the run
	endedAt time.Time
}

// sendUntilGone sends body to the gateway, one request after the other,
// until a request gets no answer or an answer other than 200.
func sendUntilGone(p *caddyProc, token, body string) spendRun {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	var r spendRun
	for {
		r.sent++
		status, b, err := p.post(client, token, "/v1/chat/completions", body)
		switch {
		case err != nil:
			r.endErr, r.endedAt = err, time.Now()
			return r
		case status != http.StatusOK:
			r.endErr, r.endedAt = fmt.Errorf("status %d: %s", status, b), time.Now()
			return r
		}
		r.acked = append(r.acked, time.Now())
	}
}

// TestE2ESpendKillLoss checks the documented bound on the spend a kill -9
// loses: settled spend is written every second, so at most the spend of
// the requests answered in the last second (plus slack, spendWriteSlack)
// may be missing after a SIGKILL, and nothing is ever counted that was not
// settled.
//
// Every request costs exactly spendRequestCost (measured once, after a
// clean stop). In each of several cycles on one storage directory, Caddy
// is started, requests are sent one after the other, and Caddy is killed
// at a random moment 1.7-3.7 s in; the test then opens the storage itself and
// checks that the spend persisted by the cycle is a whole number of
// requests, at least every request answered more than 1.5 s before the
// kill and at most every request sent (the one in flight included), the
// same for the service and the token and for the day and the month.
// Finally, after a restart, a daily budget just above the persisted spend
// must stop requests within a few: the budget counts the spend persisted
// before the kills.
func TestE2ESpendKillLoss(t *testing.T) {
	up := fakeprovider.New(t, fakeprovider.OpenAI, e2eProviderKey)
	up.Set(fakeprovider.Behavior{InputTokens: spendInputTokens, OutputTokens: spendOutputTokens})
	env := newE2EEnv(t, "LLMGW_E2E_OPENAI_KEY="+e2eProviderKey)
	cfg := e2eConfig{Gateway: e2eGateway(up.URL, fmt.Sprintf("price gpt-4o-mini %d %d", spendTokenPrice, spendTokenPrice))}
	seed := e2eSeed(t)
	rng := mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	began := time.Now()

	// The cost of one request: one request, a clean stop (which writes
	// all settled spend), and what the storage holds.
	p := env.start(t, cfg)
	svc := p.createService(t, "spend")
	tok := p.mintToken(t, svc)
	svcKey, tokKey := "svc/"+svc, "tok/"+tok.ID
	if status, body := p.chatStatus(t, tok.Token); status != http.StatusOK {
		t.Fatalf("first request: %d %s", status, body)
	}
	p.stop(t)
	// persisted reads the storage and checks that the service's and the
	// token's totals agree, for the day and for the month; it returns the
	// service's day total.
	persisted := func(when string) int64 {
		t.Helper()
		sp := env.readSpend(t, began)
		total := sp.day[svcKey]
		for _, c := range []struct {
			what string
			got  int64
		}{
			{"the token's day total", sp.day[tokKey]},
			{"the service's month total", sp.month[svcKey]},
			{"the token's month total", sp.month[tokKey]},
		} {
			if c.got != total {
				t.Errorf("%s: %s is %s, the service's day total %s: every request is charged to both scopes and both windows in one write",
					when, c.what, e2eUSD(c.got), e2eUSD(total))
			}
		}
		return total
	}
	cost := persisted("after the first request and a clean stop")
	if cost != spendRequestCost {
		t.Fatalf("one request of %d+%d tokens at %d micro-USD a token persisted %s, want %s",
			spendInputTokens, spendOutputTokens, spendTokenPrice, e2eUSD(cost), e2eUSD(spendRequestCost))
	}

	// Kill cycles. Bounds per cycle: a new process only adds its own
	// settled spend to the totals it loaded.
	const cycles = 4
	body := e2eChatBody("gpt-4o-mini", false)
	total := cost
	var minTotal, maxTotal int64 = cost, cost // cumulative bounds
	var worstAge time.Duration
	for cycle := 1; cycle <= cycles; cycle++ {
		p := env.start(t, cfg)
		stratum := spendKillSpan / cycles
		delay := spendKillFrom + time.Duration(cycle-1)*stratum + time.Duration(rng.Int64N(int64(stratum)))
		runc := make(chan spendRun, 1)
		start := time.Now()
		go func() { runc <- sendUntilGone(p, tok.Token, body) }()
		time.Sleep(delay)
		killAt := time.Now() // before the signal: the process lives a little longer, never shorter
		p.kill(t)
		run := <-runc
		if run.endedAt.Before(killAt) {
			t.Fatalf("kill %d: the requests stopped %s before the kill: %v", cycle, killAt.Sub(run.endedAt), run.endErr)
		}

		old := total
		total = persisted(fmt.Sprintf("after kill %d", cycle))
		added := total - old
		deadline := killAt.Add(-(spendWriteEvery + spendWriteSlack))
		early := 0 // requests answered before deadline
		for early < len(run.acked) && run.acked[early].Before(deadline) {
			early++
		}
		if early == 0 {
			t.Errorf("kill %d: no request was answered %s before the kill: the lower bound checks nothing", cycle, spendWriteEvery+spendWriteSlack)
		}
		minTotal += int64(early) * cost
		maxTotal += int64(run.sent) * cost
		switch {
		case added%cost != 0:
			t.Errorf("kill %d: the cycle persisted %s, not a whole number of requests of %s", cycle, e2eUSD(added), e2eUSD(cost))
		case added < int64(early)*cost:
			t.Errorf("kill %d: the cycle persisted %s (%d requests), but %d requests (%s) were answered more than %s before the kill",
				cycle, e2eUSD(added), added/cost, early, e2eUSD(int64(early)*cost), spendWriteEvery+spendWriteSlack)
		case added > int64(run.sent)*cost:
			t.Errorf("kill %d: the cycle persisted %s (%d requests), more than the %d requests sent (%s)",
				cycle, e2eUSD(added), added/cost, run.sent, e2eUSD(int64(run.sent)*cost))
		}
		if total < minTotal || total > maxTotal {
			t.Errorf("kill %d: %s persisted in all, want from %s to %s", cycle, e2eUSD(total), e2eUSD(minTotal), e2eUSD(maxTotal))
		}

		// What the kill took: the last acknowledged requests whose spend
		// is not on disk. One more persisted than acknowledged is the
		// request in flight, settled but not answered.
		lost := len(run.acked) - int(added/cost)
		var ages string
		if lost > 0 && lost <= len(run.acked) {
			age := killAt.Sub(run.acked[len(run.acked)-lost])
			worstAge = max(worstAge, age)
			ages = fmt.Sprintf(", answered in the last %s before the kill", age.Round(10*time.Microsecond))
		}
		t.Logf("kill %d, %s into the traffic: %d requests sent, %d answered (%d more than %s before the kill), %d persisted: %d answered requests lost (%s)%s",
			cycle, killAt.Sub(start).Round(time.Millisecond), run.sent, len(run.acked), early, spendWriteEvery+spendWriteSlack,
			added/cost, lost, e2eUSD(int64(lost)*cost), ages)
		if t.Failed() {
			return
		}
	}

	// After a restart, the budget counts the persisted spend: a daily
	// budget of the persisted total plus 3.5 requests lets at most 3
	// requests through (each reserves about a request's cost before it
	// runs: max_tokens is its output tokens), where a budget that had
	// forgotten the persisted spend would let total/cost+3 through.
	const room = 3
	if total/cost <= 10*room {
		t.Fatalf("only %d requests persisted: too few to tell a budget that forgot them", total/cost)
	}
	p = env.start(t, cfg)
	budget := total + room*cost + cost/2
	p.adminJSON(t, http.MethodPatch, "/llm_gateway/services/"+svc,
		fmt.Sprintf(`{"budget":{"daily_usd":%s}}`, strings.TrimPrefix(e2eUSD(budget), "$")), http.StatusOK, nil)
	limited := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"max_tokens":` + strconv.Itoa(spendOutputTokens) + `}`
	usedRE := regexp.MustCompile(`(\$[0-9]+\.[0-9]{6}) (?:spent or reserved of|of \$[0-9]+\.[0-9]{6} is spent or reserved)`)
	ok := 0
	for {
		status, b, err := p.post(e2eHTTP, tok.Token, "/v1/chat/completions", limited)
		if err != nil {
			t.Fatalf("budgeted request %d: %v", ok+1, err)
		}
		if status == http.StatusOK {
			ok++
			if ok > room {
				t.Fatalf("%d requests passed a daily budget of %s with %s persisted before the restart, at most %d fit: the budget does not count the persisted spend",
					ok, e2eUSD(budget), e2eUSD(total), room)
			}
			// Let the deferred settlement of the answered request run
			// before the next one looks at the budget.
			time.Sleep(20 * time.Millisecond)
			continue
		}
		if status != http.StatusPaymentRequired || !bytes.Contains(b, []byte("budget_exceeded")) {
			t.Fatalf("budgeted request %d: %d %s, want 200 or 402 budget_exceeded", ok+1, status, b)
		}
		if ok == 0 {
			t.Errorf("the first request after the restart got 402: a budget of %s leaves room for %d requests over the %s persisted: %s",
				e2eUSD(budget), room, e2eUSD(total), b)
		}
		want := e2eUSD(total + int64(ok)*cost)
		if m := usedRE.FindSubmatch(b); m == nil {
			t.Errorf("the 402 does not say how much is spent: %s", b)
		} else if string(m[1]) != want {
			t.Errorf("the 402 says %s is spent or reserved, want %s (%s persisted before the restart + %d requests after it): %s",
				m[1], want, e2eUSD(total), ok, b)
		}
		t.Logf("daily budget %s over %s persisted: %d requests answered, then 402: %s", e2eUSD(budget), e2eUSD(total), ok, b)
		break
	}
	// A clean stop writes the rest, exactly; the refused request cost
	// nothing.
	p.stop(t)
	if got, want := persisted("after the budget and a clean stop"), total+int64(ok)*cost; got != want {
		t.Errorf("after a clean stop %s is persisted, want %s (%s + %d requests)", e2eUSD(got), e2eUSD(want), e2eUSD(total), ok)
	}
	t.Logf("%d kills: at most %s of answered requests lost per kill (bound %s); %s persisted in all, from %s to %s expected",
		cycles, worstAge.Round(time.Millisecond), spendWriteEvery+spendWriteSlack, e2eUSD(total), e2eUSD(minTotal), e2eUSD(maxTotal))
}
