//go:build linux

package caddymodule_test

// Helpers of the end-to-end tests (e2e_test.go): they build the custom
// Caddy once per test binary, run it as a child process on free loopback
// ports with its own HOME, storage directory and environment, and talk to
// its admin endpoint and its gateway site over HTTP.
//
// The tests are Linux-only because the child is started with Pdeathsig, so
// that a test binary killed by -timeout cannot leave a Caddy behind.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/storage"
)

// e2eBuild is the Caddy binary built for this test binary run.
var e2eBuild struct {
	once sync.Once
	dir  string // temp dir of the build, removed by TestMain
	bin  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if e2eBuild.dir != "" {
		os.RemoveAll(e2eBuild.dir)
	}
	os.Exit(code)
}

// e2eBinary returns the Caddy binary with the plugin: $LLMGW_CADDY if set,
// else ../xcaddy built once per test binary run. End-to-end tests are
// skipped under -short.
func e2eBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: builds and runs the caddy binary (skipped with -short)")
	}
	e2eBuild.once.Do(func() {
		if bin := os.Getenv("LLMGW_CADDY"); bin != "" {
			e2eBuild.bin = bin
			return
		}
		dir, err := os.MkdirTemp("", "llmgw-e2e-")
		if err != nil {
			e2eBuild.err = err
			return
		}
		e2eBuild.dir = dir
		bin := filepath.Join(dir, "caddy")
		start := time.Now()
		out, err := exec.Command("go", "build", "-o", bin, "../xcaddy").CombinedOutput()
		if err != nil {
			e2eBuild.err = fmt.Errorf("go build ../xcaddy: %v\n%s", err, out)
			return
		}
		fmt.Fprintf(os.Stderr, "e2e: built %s in %s\n", bin, time.Since(start).Round(time.Millisecond))
		e2eBuild.bin = bin
	})
	if e2eBuild.err != nil {
		t.Fatal(e2eBuild.err)
	}
	return e2eBuild.bin
}

// e2eEncryptionKey is the encryption_key of every test config (32 bytes,
// base64), passed to the child through its environment.
const e2eEncryptionKey = "3q2+78r+ur4BI0VniavN7/7cuph2VDIQASNFZ4mrze8="

// e2eEnv is the world of one test's Caddy processes: a work directory
// holding their Caddyfiles and HOME, one storage directory, and the
// environment they run with.
type e2eEnv struct {
	bin     string
	work    string
	storage string
	env     []string
	n       int // processes started, to name their files
}

// newE2EEnv prepares a work and a storage directory. extraEnv (KEY=VALUE)
// is added to the children's environment, after LLMGW_E2E_ENCRYPTION_KEY.
func newE2EEnv(t *testing.T, extraEnv ...string) *e2eEnv {
	t.Helper()
	e := &e2eEnv{bin: e2eBinary(t), work: t.TempDir()}
	e.storage = filepath.Join(e.work, "storage")
	home := filepath.Join(e.work, "home")
	for _, v := range os.Environ() {
		switch k, _, _ := strings.Cut(v, "="); k {
		case "HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME":
			continue
		}
		e.env = append(e.env, v)
	}
	e.env = append(e.env,
		"HOME="+home,
		"XDG_DATA_HOME="+filepath.Join(home, "data"),
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"),
		"XDG_CACHE_HOME="+filepath.Join(home, "cache"),
		"LLMGW_E2E_ENCRYPTION_KEY="+e2eEncryptionKey,
	)
	e.env = append(e.env, extraEnv...)
	return e
}

// e2eConfig is what varies between the tests' Caddyfiles.
type e2eConfig struct {
	// Gateway is the body of the site's llm_gateway block.
	Gateway string
	// Debug turns on the debug global option.
	Debug bool
	// Persist keeps Caddy's default of saving the running config to
	// autosave.json (in the child's XDG_CONFIG_HOME); off otherwise.
	Persist bool
	// AccessLog enables the site's access log, on stderr, with a filter
	// that deletes every header and query parameter that can carry a
	// gateway token.
	AccessLog bool
	// Render, when set, makes the whole Caddyfile instead (the fields
	// above are ignored) for the ports chosen.
	Render func(adminPort, httpPort int) string
}

// caddyfile renders c for the given ports.
func (e *e2eEnv) caddyfile(c e2eConfig, adminPort, httpPort int) string {
	var global, site strings.Builder
	if c.Debug {
		global.WriteString("\tdebug\n")
	}
	if !c.Persist {
		global.WriteString("\tpersist_config off\n")
	}
	if c.AccessLog {
		site.WriteString(`	log {
		output stderr
		format filter {
			wrap json
			request>headers>Authorization delete
			request>headers>X-Api-Key delete
			request>headers>Api-Key delete
			request>headers>X-Goog-Api-Key delete
			request>uri query {
				delete key
			}
		}
	}
`)
	}
	return fmt.Sprintf(`{
	admin 127.0.0.1:%d
	http_port %d
	auto_https off
%s	llm_gateway {
		storage_dir %s
		encryption_key {env.LLMGW_E2E_ENCRYPTION_KEY}
	}
}

http://:%d {
	bind 127.0.0.1
%s	llm_gateway {
%s
	}
}
`, adminPort, httpPort, global.String(), e.storage, httpPort, site.String(), c.Gateway)
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// caddyProc is one running (or exited) Caddy child process.
type caddyProc struct {
	name      string
	env       *e2eEnv
	cmd       *exec.Cmd
	out       *lockedBuffer // stdout and stderr
	config    string        // path of its Caddyfile
	adminAddr string        // 127.0.0.1:port
	adminURL  string
	url       string // the gateway site
	adminPort int
	httpPort  int
	exited    chan struct{}
	waitErr   error
}

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

// spawn writes a Caddyfile for c on fresh ports and starts `caddy run` on
// it, without waiting for it to be ready. A t.Cleanup kills it and, if the
// test failed, logs the end of its output.
func (e *e2eEnv) spawn(t *testing.T, c e2eConfig) *caddyProc {
	t.Helper()
	e.n++
	adminPort, httpPort := freePort(t), freePort(t)
	p := &caddyProc{
		name:      fmt.Sprintf("caddy-%d", e.n),
		env:       e,
		adminPort: adminPort,
		httpPort:  httpPort,
		out:       &lockedBuffer{},
		config:    filepath.Join(e.work, fmt.Sprintf("Caddyfile-%d", e.n)),
		adminAddr: fmt.Sprintf("127.0.0.1:%d", adminPort),
		url:       fmt.Sprintf("http://127.0.0.1:%d", httpPort),
		exited:    make(chan struct{}),
	}
	p.adminURL = "http://" + p.adminAddr
	config := ""
	if c.Render != nil {
		config = c.Render(adminPort, httpPort)
	} else {
		config = e.caddyfile(c, adminPort, httpPort)
	}
	if err := os.WriteFile(p.config, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(e.bin, "run", "--config", p.config, "--adapter", "caddyfile")
	p.cmd.Dir = e.work
	p.cmd.Env = e.env
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", e.bin, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.kill(t)
		if t.Failed() {
			t.Logf("output of %s (%s):\n%s", p.name, p.config, tail(p.out.Bytes(), 12<<10))
		}
	})
	return p
}

// start spawns Caddy and waits until both its admin endpoint and its
// gateway site answer. A port taken between freePort and Caddy's bind is
// retried with other ports.
func (e *e2eEnv) start(t *testing.T, c e2eConfig) *caddyProc {
	t.Helper()
	for attempt := 1; ; attempt++ {
		p := e.spawn(t, c)
		err := p.waitReady(30 * time.Second)
		if err == nil {
			return p
		}
		if attempt < 3 && p.hasExited() && bytes.Contains(p.out.Bytes(), []byte("address already in use")) {
			continue
		}
		t.Fatalf("%s did not become ready: %v\noutput:\n%s", p.name, err, tail(p.out.Bytes(), 12<<10))
	}
}

// waitReady waits until the admin endpoint serves the config and the
// gateway site answers HTTP.
func (p *caddyProc) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case <-p.exited:
			return fmt.Errorf("exited: %v", p.waitErr)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s", timeout)
		}
		if resp, err := client.Get(p.adminURL + "/config/"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				if resp, err := client.Get(p.url + "/v1/models"); err == nil {
					resp.Body.Close()
					return nil
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *caddyProc) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL (if the process still runs) and waits for it to exit.
func (p *caddyProc) kill(t *testing.T) {
	t.Helper()
	if p.hasExited() {
		return
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("killing %s: %v", p.name, err)
	}
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		t.Errorf("%s did not exit 10s after SIGKILL", p.name)
	}
}

// stop asks Caddy to exit through its admin endpoint (a graceful stop:
// apps stopped and cleaned up, storage closed) and waits for it.
func (p *caddyProc) stop(t *testing.T) {
	t.Helper()
	status, body, err := p.admin(http.MethodPost, "/stop", "")
	if err != nil || status != http.StatusOK {
		t.Fatalf("POST /stop: %d %s %v", status, body, err)
	}
	if code, ok := p.waitExit(20 * time.Second); !ok || code != 0 {
		t.Fatalf("%s after POST /stop: exited %v, code %d", p.name, ok, code)
	}
}

// waitExit waits up to timeout for the process to exit and returns its
// exit code.
func (p *caddyProc) waitExit(timeout time.Duration) (code int, exited bool) {
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode(), true
	case <-time.After(timeout):
		return 0, false
	}
}

// log returns everything the process wrote so far.
func (p *caddyProc) log() string { return string(p.out.Bytes()) }

// logLines returns the lines of the log that contain s.
func (p *caddyProc) logLines(s string) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(p.out.Bytes()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), s) {
			out = append(out, sc.Text())
		}
	}
	return out
}

// e2eHTTP is the client of the admin calls.
var e2eHTTP = &http.Client{Timeout: 30 * time.Second}

// admin calls the admin endpoint; body, when not empty, is sent as JSON.
func (p *caddyProc) admin(method, path, body string) (int, []byte, error) {
	return p.adminCtx(context.Background(), method, path, body)
}

func (p *caddyProc) adminCtx(ctx context.Context, method, path, body string) (int, []byte, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.adminURL+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e2eHTTP.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, b, err
	}
	return resp.StatusCode, b, nil
}

// adminJSON calls the admin endpoint, fails the test unless the answer has
// status want, decodes it into v (if not nil) and returns the raw body.
func (p *caddyProc) adminJSON(t *testing.T, method, path, body string, want int, v any) []byte {
	t.Helper()
	status, b, err := p.admin(method, path, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, b)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s %s: decoding %s: %v", method, path, b, err)
		}
	}
	return b
}

// e2eService and e2eToken are the parts of admin answers the tests read.
type e2eService struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Active     bool              `json:"active"`
	PinnedKeys map[string]string `json:"pinned_keys"`
}

type e2eToken struct {
	ID        string `json:"id"`
	Token     string `json:"token"`
	ServiceID string `json:"service_id"`
	Revoked   bool   `json:"revoked"`
}

// createService creates a service named name and returns its id.
func (p *caddyProc) createService(t *testing.T, name string) string {
	t.Helper()
	var s e2eService
	p.adminJSON(t, http.MethodPost, "/llm_gateway/services", fmt.Sprintf(`{"name":%q}`, name), http.StatusCreated, &s)
	if s.ID == "" {
		t.Fatalf("service created without an id")
	}
	return s.ID
}

// mintToken mints a token of service svc.
func (p *caddyProc) mintToken(t *testing.T, svc string) e2eToken {
	t.Helper()
	var tk e2eToken
	p.adminJSON(t, http.MethodPost, "/llm_gateway/services/"+svc+"/tokens", `{"name":"e2e"}`, http.StatusCreated, &tk)
	if tk.ID == "" || !strings.HasPrefix(tk.Token, "llmgw_") {
		t.Fatalf("minted token %+v", tk)
	}
	return tk
}

// e2eChatBody is a chat completion request for model.
func e2eChatBody(model string, stream bool) string {
	return e2eChatMessage(model, stream, "hi")
}

// e2eChatMessage is a chat completion request for model with one user
// message.
func e2eChatMessage(model string, stream bool, content string) string {
	return fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":%q}],"stream":%v}`, model, content, stream)
}

// chat sends a chat completion with token as a bearer token and returns
// the status and body.
func (p *caddyProc) chat(client *http.Client, token, model string, stream bool) (int, []byte, error) {
	return p.post(client, token, "/v1/chat/completions", e2eChatBody(model, stream))
}

// post sends a JSON body with token as a bearer token and returns the
// status and body of the answer.
func (p *caddyProc) post(client *http.Client, token, path, body string) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, p.url+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// chatStatus sends a non-streaming chat completion and returns its status,
// failing the test when no answer comes.
func (p *caddyProc) chatStatus(t *testing.T, token string) (int, []byte) {
	t.Helper()
	status, body, err := p.chat(e2eHTTP, token, "gpt-4o-mini", false)
	if err != nil {
		t.Fatalf("chat completion: %v", err)
	}
	return status, body
}

// chatContent returns the assistant text of a chat completion body.
func chatContent(body []byte) (string, error) {
	var v struct {
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return "", err
	}
	if len(v.Choices) == 0 {
		return "", errors.New("no choices")
	}
	return v.Choices[0].Message.Content, nil
}

// streamContent checks that body is a complete chat completion stream
// (SSE data events ending with data: [DONE]) and returns the text of its
// deltas.
func streamContent(body []byte) (string, error) {
	var text strings.Builder
	var last string
	for _, line := range strings.Split(string(body), "\n") {
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		last = data
		if data == "[DONE]" {
			continue
		}
		var ev struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
			Error json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			return "", fmt.Errorf("event %q: %v", data, err)
		}
		if len(ev.Error) > 0 {
			return "", fmt.Errorf("error event %s", data)
		}
		for _, c := range ev.Choices {
			text.WriteString(c.Delta.Content)
		}
	}
	if last != "[DONE]" {
		return text.String(), fmt.Errorf("stream does not end with data: [DONE] (last event %q)", last)
	}
	if !bytes.HasSuffix(bytes.TrimRight(body, "\n"), []byte("data: [DONE]")) {
		return text.String(), errors.New("data after data: [DONE]")
	}
	return text.String(), nil
}

// tail returns the last n bytes of b.
func tail(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return "…" + string(b[len(b)-n:])
}

// rewrite writes a Caddyfile for c on p's ports to p's config file and
// returns its text, for a reload.
func (p *caddyProc) rewrite(t *testing.T, c e2eConfig) string {
	t.Helper()
	text := p.env.caddyfile(c, p.adminPort, p.httpPort)
	if err := os.WriteFile(p.config, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return text
}

// logLinesFold returns the lines of the log that contain s, ignoring case.
func (p *caddyProc) logLinesFold(s string) []string {
	var out []string
	s = strings.ToLower(s)
	for _, line := range strings.Split(p.log(), "\n") {
		if strings.Contains(strings.ToLower(line), s) {
			out = append(out, line)
		}
	}
	return out
}

// e2eSpend is the spend persisted in a storage directory, in micro-USD
// per scope key ("svc/<id>", "tok/<id>"), summed over the UTC days (day)
// and the UTC months (month) from a test's start to now, so that a test
// running across midnight still sees all of its spend.
type e2eSpend struct {
	day, month map[string]int64
}

// readSpend opens the storage directory in the test process, reads the
// persisted spend totals since the given time, and closes it. No Caddy may
// be running on the directory: Badger locks it, and a killed process's lock
// is released with the process.
func (e *e2eEnv) readSpend(t *testing.T, since time.Time) e2eSpend {
	t.Helper()
	db, err := storage.Open(e.storage, storage.Options{})
	if err != nil {
		t.Fatalf("opening %s in the test process (is a Caddy still running on it?): %v", e.storage, err)
	}
	defer func() {
		if err := db.Close(); err != nil {
			t.Errorf("closing %s in the test process: %v", e.storage, err)
		}
	}()
	ctx := context.Background()
	sp := e2eSpend{day: map[string]int64{}, month: map[string]int64{}}
	s, now := since.UTC(), time.Now().UTC()
	add := func(window string, start time.Time, into map[string]int64) {
		t.Helper()
		totals, err := db.SpendTotals(ctx, window, start)
		if err != nil {
			t.Fatalf("SpendTotals(%s, %s): %v", window, start.Format(time.DateOnly), err)
		}
		for k, v := range totals {
			into[k] += v
		}
	}
	for d := time.Date(s.Year(), s.Month(), s.Day(), 0, 0, 0, 0, time.UTC); !d.After(now); d = d.AddDate(0, 0, 1) {
		add(storage.WindowDay, d, sp.day)
	}
	for m := time.Date(s.Year(), s.Month(), 1, 0, 0, 0, 0, time.UTC); !m.After(now); m = m.AddDate(0, 1, 0) {
		add(storage.WindowMonth, m, sp.month)
	}
	return sp
}

// e2eUSD formats micro-USD as dollars, e.g. "$0.030000".
func e2eUSD(micro int64) string {
	sign := ""
	if micro < 0 {
		sign, micro = "-", -micro
	}
	return fmt.Sprintf("%s$%d.%06d", sign, micro/1_000_000, micro%1_000_000)
}
