package route

import (
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"gpt-*", "gpt-4o", true},
		{"gpt-*", "gpt-", true},
		{"gpt-*", "xgpt-4o", false},
		{"*", "anything/with/slashes", true},
		{"meta-llama/*", "meta-llama/Llama-3-70b", true},
		{"o1*", "o1", true},
		{"o1*", "o1-mini", true},
		{"o?-mini", "o3-mini", true},
		{"o?-mini", "o33-mini", false},
		{"*-mini", "gpt-4o-mini", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXbY", false},
		{"exact", "exact", true},
		{"exact", "exactly", false},
		{"", "", true},
		{"", "x", false},
	}
	for _, tt := range tests {
		if got := Match(tt.pattern, tt.name); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

func TestMatchNotExponential(t *testing.T) {
	pattern := strings.Repeat("*a", 30) + "b"
	name := strings.Repeat("a", 5000)
	if Match(pattern, name) {
		t.Fatal("unexpected match")
	}
}

var providers = []ProviderInfo{
	{Name: "local", Type: "openai_compatible", Models: []string{"llama3.2", "qwen2.5"}},
	{Name: "az", Type: "azure"},
	{Name: "openai", Type: "openai"},
	{Name: "anthropic", Type: "anthropic"},
}

func TestResolve(t *testing.T) {
	rules := []Rule{
		{Pattern: "fast", Targets: []Target{{Provider: "openai", Model: "gpt-4o-mini"}}},
		{Pattern: "gpt-4o*", Targets: []Target{{Provider: "openai"}}},
		{Pattern: "gpt-*", Targets: []Target{{Provider: "az"}}},
	}
	r, err := New(providers, rules, map[string]string{"smart": "claude-sonnet-4-5", "quick": "fast"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		model    string
		provider string
		upstream string
		ok       bool
	}{
		{"fast", "openai", "gpt-4o-mini", true},
		{"gpt-4o-mini", "openai", "gpt-4o-mini", true}, // first match wins
		{"gpt-4.1", "az", "gpt-4.1", true},             // second rule
		{"o3-mini", "az", "o3-mini", true},             // family default: first openai or azure provider
		{"text-embedding-3-small", "az", "text-embedding-3-small", true},
		{"claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5", true},
		{"smart", "anthropic", "claude-sonnet-4-5", true}, // alias
		{"quick", "openai", "gpt-4o-mini", true},          // alias to a route name
		{"llama3.2", "local", "llama3.2", true},           // listed by a provider
		{"gemini-2.5-pro", "", "", false},                 // no gemini provider
		{"mystery", "", "", false},
	}
	for _, tt := range tests {
		got, ok := r.Resolve(tt.model)
		if ok != tt.ok || got.Provider != tt.provider || got.Model != tt.upstream {
			t.Errorf("Resolve(%q) = %+v, %v; want %s/%s, %v", tt.model, got, ok, tt.provider, tt.upstream, tt.ok)
		}
	}
}

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name    string
		rules   []Rule
		aliases map[string]string
		want    string
	}{
		{"unknown provider", []Rule{{Pattern: "x", Targets: []Target{{Provider: "nope"}}}}, nil, `unknown provider "nope"`},
		{"no target", []Rule{{Pattern: "x"}}, nil, "no target"},
		{"alias cycle", nil, map[string]string{"a": "b", "b": "a"}, "cycle"},
		{"self alias", nil, map[string]string{"a": "a"}, "cycle"},
		{"negative retries", []Rule{{Pattern: "x", Targets: []Target{{Provider: "openai"}}, Retries: ptr(-1)}}, nil, "retries"},
		{"too many retries", []Rule{{Pattern: "x", Targets: []Target{{Provider: "openai"}}, Retries: ptr(MaxRetries + 1)}}, nil, "retries"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(providers, tt.rules, tt.aliases)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := New(append(providers, ProviderInfo{Name: "local"}), nil, nil); err == nil {
		t.Fatal("duplicate provider name accepted")
	}
}

func TestWeightsAndPriority(t *testing.T) {
	rules := []Rule{{Pattern: "m", Targets: []Target{
		{Provider: "openai", Weight: 3},
		{Provider: "az", Weight: 1},
		{Provider: "anthropic", Weight: 100, Priority: 1}, // lower priority: never chosen while the others exist
	}}}
	r, err := New(providers, rules, nil)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for range 4000 {
		res, _ := r.Resolve("m")
		counts[res.Provider]++
	}
	if counts["anthropic"] != 0 {
		t.Fatalf("priority 1 target chosen %d times", counts["anthropic"])
	}
	// Expect 3000/1000; allow a wide margin so the test is not flaky.
	if counts["openai"] < 2600 || counts["az"] < 700 {
		t.Fatalf("weights not respected: %v", counts)
	}
}

func ptr[T any](v T) *T { return &v }

// TestFallbackOrder: the targets not chosen follow as fallbacks, the rest
// of the same priority first, then the next priorities in order; each
// resolution holds every target once, with its model resolved.
func TestFallbackOrder(t *testing.T) {
	rules := []Rule{
		{Pattern: "m", Retries: ptr(4), Targets: []Target{
			{Provider: "anthropic", Model: "claude-x", Weight: 1, Priority: 2},
			{Provider: "openai", Weight: 3},
			{Provider: "az", Weight: 1},
			{Provider: "local", Weight: 1, Priority: 1},
		}},
		{Pattern: "single", Targets: []Target{{Provider: "openai"}}},
	}
	r, err := New(providers, rules, nil)
	if err != nil {
		t.Fatal(err)
	}
	firsts := map[string]int{}
	for range 2000 {
		res, _ := r.Resolve("m")
		if res.Retries != 4 || len(res.Fallbacks) != 3 {
			t.Fatalf("resolution %+v", res)
		}
		got := []string{res.Provider}
		for _, f := range res.Fallbacks {
			got = append(got, f.Provider)
		}
		firsts[got[0]]++
		if tail := strings.Join(got[2:], ","); tail != "local,anthropic" {
			t.Fatalf("order %v: lower priorities must follow in order", got)
		}
		if res.Fallbacks[2].Model != "claude-x" || res.Fallbacks[1].Model != "m" {
			t.Fatalf("fallback models %+v", res.Fallbacks)
		}
	}
	if firsts["openai"] < 1300 || firsts["az"] < 300 {
		t.Fatalf("the first target is not spread by weight: %v", firsts)
	}
	res, _ := r.Resolve("single")
	if res.Retries != DefaultRetries || len(res.Fallbacks) != 0 {
		t.Fatalf("single target %+v", res)
	}
	if res, _ := r.Resolve("gpt-4o"); res.Retries != DefaultRetries {
		t.Fatalf("family default %+v", res)
	}
}

func TestModels(t *testing.T) {
	rules := []Rule{
		{Pattern: "fast", Targets: []Target{{Provider: "openai", Model: "gpt-4o-mini"}}},
		{Pattern: "gpt-*", Targets: []Target{{Provider: "az"}}},
		{Pattern: "llama3.2", Targets: []Target{{Provider: "local"}}},
	}
	aliases := map[string]string{"smart": "claude-sonnet-4-5"}
	r, err := New(providers, rules, aliases)
	if err != nil {
		t.Fatal(err)
	}
	got := r.Models(providers, rules, []string{"smart"})
	want := []Model{{"llama3.2", "local"}, {"qwen2.5", "local"}, {"fast", "openai"}, {"smart", "anthropic"}}
	if len(got) != len(want) {
		t.Fatalf("Models() = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Models()[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}
