package bench

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestXcaddyBuild builds Caddy the way `xcaddy build --with
// github.com/caddy-llm-gateway/caddy-llm-gateway=<checkout>` does, with
// scripts/xcaddy-build.sh, and checks that the binary lists the plugin's
// modules. It takes a minute or more (a -trimpath build of all of Caddy),
// so -short skips it.
func TestXcaddyBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds all of Caddy; skipped with -short")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not found")
	}
	script, err := filepath.Abs("../scripts/xcaddy-build.sh")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "caddy")

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bash, script, out)
	cmd.Dir = t.TempDir()
	start := time.Now()
	log, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", script, out, err, log)
	}
	t.Logf("xcaddy-build.sh took %s; its last lines:\n%s", time.Since(start).Round(time.Second), lastLines(string(log), 8))

	listing, err := exec.CommandContext(ctx, out, "list-modules").Output()
	if err != nil {
		t.Fatalf("%s list-modules: %v", out, err)
	}
	modules := map[string]bool{}
	for _, m := range strings.Fields(string(listing)) {
		modules[m] = true
	}
	for _, want := range []string{
		"http.handlers.llm_gateway",
		"llm_gateway.providers.openai",
		"http.handlers.reverse_proxy", // the standard modules are there too
	} {
		if !modules[want] {
			t.Errorf("list-modules does not list %s:\n%s", want, listing)
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], "\n")
}
