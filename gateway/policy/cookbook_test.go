package policy

import (
	"context"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// cookbook holds every example of docs/policies.md, each with requests it
// must allow and requests it must deny. TestCookbookMatchesDoc keeps the two
// in step.
var cookbook = []struct {
	name  string
	src   string
	allow []*Input
	deny  []*Input
}{
	{
		name: "complete service policy",
		src: `// Production: known models, bounded output, a cost ceiling per request.
request.model in ["gpt-4o", "gpt-4o-mini"] &&
request.max_tokens <= 4096 &&
request.estimated_cost_usd <= 0.50`,
		allow: []*Input{baseInput()},
		deny: []*Input{
			with(func(in *Input) { in.Request.Model = "o3" }),
			with(func(in *Input) { in.Request.MaxTokens = 8192 }),
			with(func(in *Input) { in.Request.EstimatedCostUSD = 0.75 }),
		},
	},
	{
		name:  "model allow-list",
		src:   `request.model in ["gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5"]`,
		allow: []*Input{baseInput(), with(func(in *Input) { in.Request.Model = "claude-sonnet-4-5" })},
		deny:  []*Input{with(func(in *Input) { in.Request.Model = "o3" }), with(func(in *Input) { in.Request.Model = "" })},
	},
	{
		name:  "model families",
		src:   `request.model.startsWith("gpt-4o") || request.model.startsWith("claude-")`,
		allow: []*Input{baseInput(), with(func(in *Input) { in.Request.Model = "claude-haiku-4-5" })},
		deny:  []*Input{with(func(in *Input) { in.Request.Model = "gpt-5" })},
	},
	{
		name: "office hours UTC",
		src: `now.getDayOfWeek() >= 1 && now.getDayOfWeek() <= 5 &&
now.getHours() >= 8 && now.getHours() < 18`,
		allow: []*Input{
			at("2025-06-03T14:30:00Z"), // Tuesday
			at("2025-06-06T08:00:00Z"), // Friday, opening
		},
		deny: []*Input{
			at("2025-06-03T18:00:00Z"), // Tuesday, closed
			at("2025-06-03T07:59:59Z"),
			at("2025-06-08T10:00:00Z"), // Sunday
		},
	},
	{
		name: "office hours Paris",
		src: `now.getDayOfWeek("Europe/Paris") in [1, 2, 3, 4, 5] &&
now.getHours("Europe/Paris") >= 9 && now.getHours("Europe/Paris") < 18`,
		allow: []*Input{
			at("2025-06-03T07:30:00Z"), // Tuesday 09:30 CEST
			at("2025-01-07T08:30:00Z"), // Tuesday 09:30 CET
			at("2025-06-06T15:59:00Z"), // Friday 17:59 CEST
		},
		deny: []*Input{
			at("2025-06-03T16:30:00Z"), // Tuesday 18:30 CEST (open in UTC)
			at("2025-01-07T07:30:00Z"), // Tuesday 08:30 CET
			at("2025-06-07T10:00:00Z"), // Saturday
			at("2025-06-01T22:30:00Z"), // Sunday 22:30 UTC is Monday 00:30 in Paris: closed
		},
	},
	{
		name:  "max_tokens cap",
		src:   `request.max_tokens > 0 && request.max_tokens <= 4096`,
		allow: []*Input{baseInput(), with(func(in *Input) { in.Request.MaxTokens = 4096 })},
		deny:  []*Input{with(func(in *Input) { in.Request.MaxTokens = 0 }), with(func(in *Input) { in.Request.MaxTokens = 4097 })},
	},
	{
		name: "o3 only for research",
		src: `!request.model.startsWith("o3") ||
  ("team" in service.labels && service.labels.team == "research")`,
		allow: []*Input{
			with(func(in *Input) { in.Request.Model = "o3-mini" }), // team=research
			with(func(in *Input) { in.Service.Labels = nil }),      // not o3
		},
		deny: []*Input{
			with(func(in *Input) { in.Request.Model = "o3"; in.Service.Labels["team"] = "search" }),
			with(func(in *Input) { in.Request.Model = "o3"; in.Service.Labels = nil }),
		},
	},
	{
		name: "anthropic only for prod tokens",
		src:  `request.provider != "anthropic" || token.labels[?"env"].orValue("") == "prod"`,
		allow: []*Input{
			baseInput(),
			with(func(in *Input) { in.Request.Provider = "anthropic"; in.Token.Labels["env"] = "prod" }),
		},
		deny: []*Input{
			with(func(in *Input) { in.Request.Provider = "anthropic" }), // env=ci
			with(func(in *Input) { in.Request.Provider = "anthropic"; in.Token.Labels = nil }),
		},
	},
	{
		name: "no streaming for one service",
		src:  `!(service.name == "nightly-batch" && request.stream)`,
		allow: []*Input{
			with(func(in *Input) { in.Service.Name = "nightly-batch" }),
			with(func(in *Input) { in.Request.Stream = true }),
		},
		deny: []*Input{with(func(in *Input) { in.Service.Name = "nightly-batch"; in.Request.Stream = true })},
	},
	{
		name:  "per-request cost ceiling",
		src:   `request.estimated_cost_usd <= 0.50`,
		allow: []*Input{baseInput(), with(func(in *Input) { in.Request.EstimatedCostUSD = 0.5 })},
		deny:  []*Input{with(func(in *Input) { in.Request.EstimatedCostUSD = 1.2 })},
	},
	{
		name: "daily soft cap",
		src: `usage.spent_today_usd + request.estimated_cost_usd <= 20.0 ||
  request.model in ["gpt-4o-mini", "claude-haiku-4-5"]`,
		allow: []*Input{
			with(func(in *Input) { in.Request.Model = "gpt-4o" }), // $1.50 spent
			with(func(in *Input) { in.Usage.SpentTodayUSD = 25 }), // gpt-4o-mini
		},
		deny: []*Input{
			with(func(in *Input) { in.Usage.SpentTodayUSD = 25; in.Request.Model = "gpt-4o" }),
			with(func(in *Input) {
				in.Usage.SpentTodayUSD = 19.99
				in.Request.Model = "gpt-4o"
				in.Request.EstimatedCostUSD = 0.02
			}),
		},
	},
	{
		name: "deny by header",
		src: `!("x-debug-bypass" in request.headers) &&
request.headers[?"x-env"].orValue("prod") != "sandbox"`,
		allow: []*Input{
			baseInput(),
			with(func(in *Input) { in.Request.Headers = nil }),
		},
		deny: []*Input{
			with(func(in *Input) { in.Request.Headers["x-env"] = "sandbox" }),
			with(func(in *Input) { in.Request.Headers["x-debug-bypass"] = "" }),
		},
	},
	{
		name: "temperature bound",
		src:  `!has(request.temperature) || request.temperature <= 1.0`,
		allow: []*Input{
			baseInput(),
			with(func(in *Input) { in.Request.Temperature, in.Request.HasTemperature = 0.7, true }),
		},
		deny: []*Input{with(func(in *Input) { in.Request.Temperature, in.Request.HasTemperature = 1.5, true })},
	},
}

func at(rfc3339 string) *Input {
	t, err := time.Parse(time.RFC3339, rfc3339)
	if err != nil {
		panic(err)
	}
	return with(func(in *Input) { in.Now = t })
}

func TestCookbook(t *testing.T) {
	for _, ex := range cookbook {
		t.Run(ex.name, func(t *testing.T) {
			p, err := Compile(ex.name, ex.src)
			if err != nil {
				t.Fatal(err)
			}
			if len(ex.allow) == 0 || len(ex.deny) == 0 {
				t.Fatal("an example needs an allowing and a denying input")
			}
			for i, in := range ex.allow {
				if ok, err := p.Eval(context.Background(), in); err != nil || !ok {
					t.Errorf("allow[%d]: Eval = %v, %v; want true", i, ok, err)
				}
			}
			for i, in := range ex.deny {
				// A denial here is a clean false, not an evaluation error.
				if ok, err := p.Eval(context.Background(), in); err != nil || ok {
					t.Errorf("deny[%d]: Eval = %v, %v; want false", i, ok, err)
				}
			}
		})
	}
}

// TestCookbookMatchesDoc checks that every ```cel block of docs/policies.md
// is an example of the cookbook table above, and every example is in the
// page.
func TestCookbookMatchesDoc(t *testing.T) {
	doc, err := os.ReadFile("../../docs/policies.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	for _, m := range regexp.MustCompile("(?s)```cel\n(.*?)```").FindAllStringSubmatch(string(doc), -1) {
		blocks = append(blocks, strings.TrimSpace(m[1]))
	}
	var srcs []string
	for _, ex := range cookbook {
		srcs = append(srcs, strings.TrimSpace(ex.src))
	}
	for _, b := range blocks {
		if !slices.Contains(srcs, b) {
			t.Errorf("docs/policies.md has an example the cookbook test does not check:\n%s", b)
		}
	}
	for _, s := range srcs {
		if !slices.Contains(blocks, s) {
			t.Errorf("the cookbook test has an example docs/policies.md does not show:\n%s", s)
		}
	}
	if len(blocks) < 10 {
		t.Errorf("found %d cel blocks in docs/policies.md", len(blocks))
	}
}
