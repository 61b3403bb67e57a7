package caddymodule_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/caddytest"
)

// TestCaddyfileAdapt compares each testdata/caddyfile_adapt/*.caddyfiletest
// Caddyfile with the JSON it must adapt to (the part after the
// "----------" line), as Caddy's own adapt tests do.
func TestCaddyfileAdapt(t *testing.T) {
	files, err := filepath.Glob("testdata/caddyfile_adapt/*.caddyfiletest")
	if err != nil || len(files) == 0 {
		t.Fatalf("no adapt tests found: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			caddyfile, json, ok := strings.Cut(string(data), "----------")
			if !ok {
				t.Fatal("missing ---------- separator")
			}
			if !caddytest.CompareAdapt(t, f, caddyfile, "caddyfile", strings.TrimSpace(json)) {
				t.Fail()
			}
		})
	}
}

// TestCaddyfileMistakes checks that each mistake is reported with its line
// and what is wrong.
func TestCaddyfileMistakes(t *testing.T) {
	tests := []struct {
		name, block, want string
	}{
		{"unknown subdirective", "llm_gateway {\n\tfoo bar\n}", `unrecognized llm_gateway subdirective "foo", at Caddyfile:3`},
		{"provider without type", "llm_gateway {\n\tprovider openai\n}", "provider takes a name and a type: provider <name> <type> { … }, at Caddyfile:3"},
		{"unknown provider type", "llm_gateway {\n\tprovider x bedrock\n}", `provider "x": unknown type "bedrock"`},
		{"provider defined twice", "llm_gateway {\n\tprovider a openai\n\tprovider a anthropic\n}", `provider "a" is defined twice, at Caddyfile:4`},
		{"unknown provider subdirective", "llm_gateway {\n\tprovider a openai {\n\t\tapi_keys x\n\t}\n}", `unrecognized provider subdirective "api_keys", at Caddyfile:4`},
		{"bad duration", "llm_gateway {\n\tprovider a openai {\n\t\tidle_timeout soon\n\t}\n}", `idle_timeout: invalid duration "soon"`},
		{"route to undefined provider", "llm_gateway {\n\tprovider a openai\n\n\troute gpt-* b\n}", `route to provider "b", which is not defined in this llm_gateway block, at Caddyfile:5`},
		{"route without provider", "llm_gateway {\n\troute gpt-*\n}", `route "gpt-*" needs a provider`},
		{"route block with bad line", "llm_gateway {\n\tprovider a openai\n\troute x {\n\t\tfrom a\n\t}\n}", `unrecognized route subdirective "from" (want: to, retries, first_byte_timeout, idle_timeout, total_timeout), at Caddyfile:5`},
		{"bad route timeout", "llm_gateway {\n\tprovider a openai\n\troute x {\n\t\tto a\n\t\tfirst_byte_timeout soon\n\t}\n}", `first_byte_timeout: invalid duration "soon", at Caddyfile:6`},
		{"bad retries", "llm_gateway {\n\tprovider a openai\n\troute x {\n\t\tto a\n\t\tretries many\n\t}\n}", `retries must be a number from 0 to 10, not "many", at Caddyfile:6`},
		{"bad weight", "llm_gateway {\n\tprovider a openai\n\troute x {\n\t\tto a weight heavy\n\t}\n}", `weight must be a whole number`},
		{"alias with one argument", "llm_gateway {\n\talias smart\n}", "alias takes a name and a model"},
		{"alias twice", "llm_gateway {\n\talias a b\n\talias a c\n}", `alias "a" is defined twice, at Caddyfile:4`},
		{"bad body size", "llm_gateway {\n\tmax_request_body lots\n}", `max_request_body: invalid size "lots"`},
		{"argument on directive", "llm_gateway extra", "wrong argument count"},
		{"openai_compatible without base_url", "llm_gateway {\n\tprovider local openai_compatible\n}", `base_url is required`},
		{"azure with bad base_url", "llm_gateway {\n\tprovider az azure {\n\t\tbase_url ftp://x\n\t}\n}", `must be an absolute http or https URL`},
		{"route cycle in aliases", "llm_gateway {\n\talias a b\n\talias b a\n}", `cycle`},
		{"price with one amount", "llm_gateway {\n\tprice gpt-x 2.50\n}", "[<cached-input>], at Caddyfile:3"},
		{"price not a number", "llm_gateway {\n\tprice gpt-x 2.5.0 10\n}", "price gpt-x: input"},
		{"price twice", "llm_gateway {\n\tprice a 1 2\n\tprice a 1 2\n}", `price of "a" is given twice, at Caddyfile:4`},
		{"policy that does not compile", "llm_gateway {\n\tpolicy p `request.model ==`\n}", "policy p:"},
		{"policy without expression", "llm_gateway {\n\tpolicy p\n}", "policy takes a name and one CEL expression"},
	}
	adapter := caddyconfig.GetAdapter("caddyfile")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ":8080 {\n" + tt.block + "\n}\n"
			out, _, err := adapter.Adapt([]byte(cfg), map[string]any{"filename": "Caddyfile"})
			if err == nil {
				// Some mistakes are found when the config is loaded.
				err = caddytestValidate(out)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

// TestExampleCaddyfile checks that Caddyfile.example adapts and validates,
// as `caddy adapt --config Caddyfile.example --validate` does, and keeps
// provider keys as placeholders in the JSON.
func TestExampleCaddyfile(t *testing.T) {
	data, err := os.ReadFile("../Caddyfile.example")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("OPENAI_API_KEY", "sk-example-should-not-appear-in-json")
	out, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt(data, map[string]any{"filename": "Caddyfile.example"})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range warnings {
		t.Errorf("warning: %s", w.String())
	}
	if strings.Contains(string(out), "sk-example-should-not-appear-in-json") || !strings.Contains(string(out), "{env.OPENAI_API_KEY}") {
		t.Fatal("the adapted JSON does not keep the key as a placeholder")
	}
	if err := caddytestValidate(out); err != nil {
		t.Fatal(err)
	}
}
