package caddymodule_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	_ "github.com/caddy-llm-gateway/caddy-llm-gateway"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/caddymodule"
)

// fuzzCaddyfile wraps the body of an llm_gateway block in a Caddyfile: the
// handler's block in a site, or (global) the global option's block.
func fuzzCaddyfile(body string, global bool) string {
	if global {
		return "{\n\tllm_gateway {\n" + body + "\n\t}\n}\n:8080 {\n\tllm_gateway\n}\n"
	}
	return ":8080 {\n\tllm_gateway {\n" + body + "\n\t}\n}\n"
}

// llmGatewayBlocks returns the bodies of the llm_gateway blocks of a
// Caddyfile (the lines between "llm_gateway {" and its closing brace, at
// the same indentation), for seeding.
func llmGatewayBlocks(caddyfile string) []string {
	var blocks []string
	lines := strings.Split(caddyfile, "\n")
	for i, l := range lines {
		trimmed := strings.TrimSpace(l)
		if !strings.HasPrefix(trimmed, "llm_gateway") || !strings.HasSuffix(trimmed, "{") || strings.HasPrefix(trimmed, "#") {
			continue
		}
		indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		for j := i + 1; j < len(lines); j++ {
			if lines[j] == indent+"}" {
				blocks = append(blocks, strings.Join(lines[i+1:j], "\n"))
				break
			}
		}
	}
	return blocks
}

// handlersIn returns every llm_gateway handler object of an adapted JSON
// config, wherever it is nested.
func handlersIn(v any) []map[string]any {
	var found []map[string]any
	switch v := v.(type) {
	case map[string]any:
		if v["handler"] == "llm_gateway" {
			found = append(found, v)
		}
		for _, e := range v {
			found = append(found, handlersIn(e)...)
		}
	case []any:
		for _, e := range v {
			found = append(found, handlersIn(e)...)
		}
	}
	return found
}

// checkAdaptedHandler checks that an adapted llm_gateway handler object
// loads into the module's config types exactly (caddy.StrictUnmarshalJSON,
// unknown fields refused), providers included, as Caddy would load it.
func checkAdaptedHandler(t *testing.T, h map[string]any) {
	t.Helper()
	delete(h, "handler")
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	var handler caddymodule.Handler
	if err := caddy.StrictUnmarshalJSON(b, &handler); err != nil {
		t.Fatalf("the adapted handler does not load: %v\n%s", err, b)
	}
	for _, raw := range handler.ProvidersRaw {
		var obj map[string]any
		if err := json.Unmarshal(raw, &obj); err != nil {
			t.Fatalf("provider %s: %v", raw, err)
		}
		typ, _ := obj["type"].(string)
		info, err := caddy.GetModule("llm_gateway.providers." + typ)
		if err != nil {
			t.Fatalf("the adapted provider %s has an unknown type: %v", raw, err)
		}
		delete(obj, "type")
		b, _ := json.Marshal(obj)
		if err := caddy.StrictUnmarshalJSON(b, info.New()); err != nil {
			t.Fatalf("the adapted provider %s does not load: %v", raw, err)
		}
	}
}

// FuzzCaddyfile adapts fuzzed bodies of an llm_gateway block, in a site
// or as the global option, with the Caddyfile adapter. Adapting must not
// panic; errors are fine. An adapted config must be JSON whose
// llm_gateway handlers and app load into the module's types as they are.
func FuzzCaddyfile(f *testing.F) {
	files, err := filepath.Glob("testdata/caddyfile_adapt/*.caddyfiletest")
	if err != nil || len(files) == 0 {
		f.Fatalf("no adapt tests found: %v", err)
	}
	files = append(files, "../Caddyfile.example")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		caddyfile, _, _ := strings.Cut(string(data), "----------")
		blocks := llmGatewayBlocks(caddyfile)
		if len(blocks) == 0 {
			f.Fatalf("%s: no llm_gateway block", name)
		}
		for i, b := range blocks {
			// The example's first block is the global option.
			f.Add(b, name == "../Caddyfile.example" && i == 0)
		}
	}
	for _, s := range []struct {
		body   string
		global bool
	}{
		{"\tfoo bar", false},
		{"\tprovider openai", false},
		{"\tprovider a openai {\n\t\tapi_keys x\n\t}", false},
		{"\tprovider a openai\n\troute x {\n\t\tto a weight 0 priority -1\n\t\tretries 11\n\t}", false},
		{"\tprovider a openai\n\troute x {\n\t\tto a m weight\n\t}", false},
		{"\troute x {\n\t\tto\n\t}\n\troute y { }", false},
		{"\talias a b\n\talias b a", false},
		{"\tmax_request_body 0\n\tcapture_bodies 17MiB extra", false},
		{"\tprice m 1.0000001 2\n\tprice m $100000.01 0", false},
		{"\tpolicy p `request.model ==`\n\tpolicy q \"true\" extra", false},
		{"\tcache {\n\t\tttl -1s\n\t\tmax_entry_size 64MiB\n\t\tshared x\n\t}\n\tcache", false},
		{"\tprovider a openai {\n\t\t{\n\t}", false},
		{"}\n}\n:9090 {\n\tllm_gateway {", false},
		{"\t}\n\tllm_gateway {\n\t\tprovider a openai", false},
		{"\tprovider a openai <<EOF\n\tx\n\tEOF", false},
		{"\tprovider \"a b\" `openai` {\n\t\tbase_url {$NOPE:http://x}\n\t}", false},
		{"\tstorage_dir\n\tencryption_key a b", true},
		{"\taudit off {\n\t\tretention 1d\n\t}", true},
		{"\taudit {\n\t\tretention 0s\n\t\toff x\n\t\t{\n\t}", true},
		{"\taudit\n\taudit", true},
	} {
		f.Add(s.body, s.global)
	}
	adapter := caddyconfig.GetAdapter("caddyfile")
	f.Fuzz(func(t *testing.T, body string, global bool) {
		if strings.Contains(body, "import") {
			t.Skip("an import reads files") // snippets too, which is a loss
		}
		out, _, err := adapter.Adapt([]byte(fuzzCaddyfile(body, global)), map[string]any{"filename": "Caddyfile"})
		if err != nil {
			return
		}
		var cfg any
		dec := json.NewDecoder(bytes.NewReader(out))
		dec.UseNumber()
		if err := dec.Decode(&cfg); err != nil {
			t.Fatalf("adapted to invalid JSON: %v\n%s", err, out)
		}
		for _, h := range handlersIn(cfg) {
			checkAdaptedHandler(t, h)
		}
		if apps, ok := cfg.(map[string]any)["apps"].(map[string]any); ok && apps["llm_gateway"] != nil {
			b, _ := json.Marshal(apps["llm_gateway"])
			if err := caddy.StrictUnmarshalJSON(b, new(caddymodule.App)); err != nil {
				t.Fatalf("the adapted llm_gateway app does not load: %v\n%s", err, b)
			}
		}
	})
}
