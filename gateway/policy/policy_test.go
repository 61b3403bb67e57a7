package policy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// baseInput is a typical, policy-neutral request: a Tuesday afternoon (UTC),
// a small chat completion from a labelled service.
func baseInput() *Input {
	return &Input{
		Request: Request{
			Model: "gpt-4o-mini", Provider: "openai", Surface: "openai", MaxTokens: 1024,
			MessageCount: 3, EstimatedInputTokens: 420, EstimatedCostUSD: 0.002,
			Headers:  map[string]string{"user-agent": "app/1.0", "x-env": "prod"},
			ClientIP: "203.0.113.7",
		},
		Service: Subject{ID: "svc_1", Name: "search", Labels: map[string]string{"team": "research"}},
		Token:   Subject{ID: "tok_1", Name: "ci", Labels: map[string]string{"env": "ci"}},
		Usage:   Usage{SpentTodayUSD: 1.5, SpentMonthUSD: 30, RequestsThisMinute: 12},
		Now:     time.Date(2025, 6, 3, 14, 30, 0, 0, time.UTC), // Tuesday
	}
}

func with(mod func(*Input)) *Input {
	in := baseInput()
	mod(in)
	return in
}

func mustCompile(t testing.TB, src string) *Policy {
	t.Helper()
	p, err := Compile("test", src)
	if err != nil {
		t.Fatalf("Compile(%q): %v", src, err)
	}
	return p
}

func TestCompileErrors(t *testing.T) {
	deep := strings.Repeat("(", 40) + "true" + strings.Repeat(")", 40)
	tests := []struct {
		name, src string
		want      []string // substrings of the error message
		line, col int      // position of the first issue; 0 = no positioned issue
	}{
		{"syntax", `request.model ==`, []string{"ERROR: p:1:17:", "Syntax error"}, 1, 17},
		{"syntax on line 2", "request.stream &&\n  request.model = \"x\"", []string{"ERROR: p:2:"}, 2, 0},
		{"unknown variable", `foo == 1`, []string{"ERROR: p:1:1:", "undeclared reference to 'foo'"}, 1, 1},
		{"unknown field", `request.modle == "x"`, []string{"ERROR: p:1:8:", "undefined field 'modle'"}, 1, 8},
		{"unknown function", `request.model.lowerAscii() == "x"`, []string{"ERROR: p:1:25:", "undeclared reference to 'lowerAscii'"}, 1, 0},
		{"type mismatch", `request.model == 1`, []string{"ERROR: p:1:15:", "no matching overload"}, 1, 15},
		{"mixed arithmetic", `usage.spent_today_usd + 2 <= 20.0`, []string{"ERROR: p:1:23:", "no matching overload for '_+_'"}, 1, 23},
		{"non-bool result", `request.model`, []string{"ERROR: p:1:8:", "must return bool", "returns string"}, 1, 8},
		{"non-bool int", `request.max_tokens + 1`, []string{"must return bool", "returns int"}, 1, 0},
		{"empty", `  `, []string{"ERROR: p: policy is empty"}, 0, 0},
		{"too large", `true || ` + strings.Repeat(`request.model == "aaaaaaaaaaaaa" || `, 500) + `false`, []string{"bytes, the limit is 16384"}, 0, 0},
		{"too deep", deep, []string{"ERROR: p: ", "recursion"}, 0, 0},
		{"comprehension nesting", `request.headers.all(a, request.headers.all(b, request.headers.all(c, a != b)))`, []string{"comprehension exceeds nesting limit"}, 1, 0},
		{"cost", `request.headers.all(a, request.headers.all(b, request.headers[a] != request.headers[b] + "x"))`, []string{"worst-case cost", "exceeds the limit of 1000000"}, 0, 0},
		{"regex from input", `request.model.matches(request.headers["x"])`, []string{"ERROR: p:1:38:", "must be a string literal"}, 1, 38},
		{"regex invalid", `request.model.matches("(")`, []string{"ERROR: p:1:23:", "invalid matches argument"}, 1, 23},
		{"regex too large", `request.model.matches("a{1000}")`, []string{"regular expression too large"}, 1, 23},
		{"regex counted repetition nested", `request.model.matches("(a{100}){100}")`, []string{"invalid matches argument"}, 1, 23},
		{"bad time zone", `now.getHours("Europe/Pari") < 9`, []string{"ERROR: p:1:14:", `invalid time zone "Europe/Pari"`}, 1, 14},
		{"bad offset", `now.getHours("+25:00") < 9`, []string{"invalid time zone", "out of range"}, 1, 14},
		{"bad timestamp literal", `now > timestamp("yesterday")`, []string{"ERROR: p:1:"}, 1, 0},
		{"bad duration literal", `now - timestamp("2025-01-01T00:00:00Z") > duration("3 days")`, []string{"ERROR: p:1:"}, 1, 0},
		{"struct literal", `gateway.Request{model: "x"}.model == request.model`, []string{"cannot construct gateway.Request"}, 1, 16},
		{"ext strings not available", `request.model.split("-").size() > 1`, []string{"undeclared reference to 'split'"}, 1, 0},
		{"ext lists not available", `lists.range(10).size() > 1`, []string{"ERROR: p:1:"}, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Compile("p", tc.src)
			if err == nil {
				t.Fatalf("Compile(%q) = %v, want an error", tc.src, p.Source())
			}
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T %v is not a *CompileError", err, err)
			}
			if ce.Policy != "p" {
				t.Errorf("CompileError.Policy = %q, want p", ce.Policy)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "-1:0") {
				t.Errorf("error %q has a meaningless position", err)
			}
			if tc.line != 0 {
				if len(ce.Issues) == 0 {
					t.Fatalf("no Issues in %v", err)
				}
				is := ce.Issues[0]
				if is.Line != tc.line || (tc.col != 0 && is.Column != tc.col) || is.Message == "" {
					t.Errorf("Issues[0] = %+v, want line %d column %d", is, tc.line, tc.col)
				}
			}
		})
	}
}

func TestCompileErrorRendering(t *testing.T) {
	// A 16 KB line with the error at its end: the message shows a window
	// around the column (cel-go's own rendering is quadratic in the column).
	_, err := Compile("p", strings.Repeat("!", 16000))
	if err == nil {
		t.Fatal("compiled")
	}
	msg := err.Error()
	if !strings.Contains(msg, "ERROR: p:1:16001:") || !strings.Contains(msg, "\n | …!!!") || len(msg) > 1000 {
		t.Errorf("message (%d bytes) = %q", len(msg), msg)
	}

	// Many errors: the first few are reported.
	_, err = Compile("p", strings.Repeat("&& ", 2000))
	var ce *CompileError
	if !errors.As(err, &ce) || len(ce.Issues) > maxReportedIssues || !strings.Contains(err.Error(), "more errors were truncated") {
		t.Errorf("error = %v", err)
	}

	// The caret is wide under a wide character, as in cel-go.
	_, err = Compile("p", "request.stream && é.x == 1")
	if err == nil || !strings.Contains(err.Error(), "\n | request.stream && é.x == 1\n | ..................＾") {
		t.Errorf("error = %q", err)
	}

	// A multi-line source: the snippet is the offending line.
	_, err = Compile("p", "request.stream &&\n\trequest.modle == \"x\"")
	want := "ERROR: p:2:9: undefined field 'modle'\n |  request.modle == \"x\"\n | ........^"
	if err == nil || err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}

func TestCompileAccepts(t *testing.T) {
	for _, src := range []string{
		`true`,
		`request.model in ["a", "b"] && request.max_tokens <= 4096`,
		`request.estimated_cost_usd <= 1`, // int literal against a double: cross-type comparison
		`request.headers.exists(k, request.headers[k].contains("zzz"))`,
		`request.headers.all(a, request.headers.all(b, a == b || a != b))`,
		`request.model.matches("^(gpt-4o|gpt-4o-mini|o3|o3-mini|claude-3-5-sonnet.*)$")`,
		`matches(request.model, "a{2}b")`,
		strings.Repeat(`request.model == "a" || `, 100) + `false`, // long, flat chains are fine
		`now.getHours("-08:00") > 3 && now.getHours("+05:30") > 3`,
		`now - timestamp("2025-01-01T00:00:00Z") > duration("72h")`,
	} {
		if _, err := Compile("p", src); err != nil {
			t.Errorf("Compile(%q): %v", src, err)
		}
	}
	// Whitespace and size limits are on bytes.
	if _, err := Compile("p", "true"+strings.Repeat(" ", MaxSourceBytes-4)); err != nil {
		t.Errorf("a source of exactly MaxSourceBytes: %v", err)
	}
	if _, err := Compile("p", "true"+strings.Repeat(" ", MaxSourceBytes-3)); err == nil {
		t.Errorf("a source of MaxSourceBytes+1 compiled")
	}
}

func TestNameAndSource(t *testing.T) {
	p := mustCompile(t, "request.stream")
	if p.Name() != "test" || p.Source() != "request.stream" {
		t.Errorf("Name, Source = %q, %q", p.Name(), p.Source())
	}
	_, err := Compile("", "request.modle")
	if err == nil || !strings.Contains(err.Error(), "ERROR: policy:1:8:") {
		t.Errorf("unnamed policy error = %v, want a position in 'policy'", err)
	}
}

func TestEval(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		in      *Input
		want    bool
		wantErr string // substring; "" = no error
	}{
		{"model in list", `request.model in ["gpt-4o", "gpt-4o-mini"]`, baseInput(), true, ""},
		{"model not in list", `request.model in ["gpt-4o"]`, baseInput(), false, ""},
		{"provider surface", `request.provider == "openai" && request.surface == "openai"`, baseInput(), true, ""},
		{"stream false", `request.stream`, baseInput(), false, ""},
		{"stream true", `request.stream`, with(func(in *Input) { in.Request.Stream = true }), true, ""},
		{"ints", `request.max_tokens == 1024 && request.message_count == 3 && request.estimated_input_tokens == 420`, baseInput(), true, ""},
		{"double", `request.estimated_cost_usd < 0.01 && request.estimated_cost_usd > 0.001`, baseInput(), true, ""},
		{"client ip", `request.client_ip.startsWith("203.0.113.")`, baseInput(), true, ""},
		{"header", `request.headers["x-env"] == "prod"`, baseInput(), true, ""},
		{"header absent in", `"x-missing" in request.headers`, baseInput(), false, ""},
		{"header absent index", `request.headers["x-missing"] == "1"`, baseInput(), false, "no such key"},
		{"header optional", `request.headers[?"x-missing"].orValue("none") == "none"`, baseInput(), true, ""},
		{"nil headers", `request.headers.size() == 0 && !("a" in request.headers)`, with(func(in *Input) { in.Request.Headers = nil }), true, ""},
		{"service", `service.id == "svc_1" && service.name == "search" && service.labels.team == "research"`, baseInput(), true, ""},
		{"token", `token.id == "tok_1" && token.name == "ci" && token.labels["env"] == "ci"`, baseInput(), true, ""},
		{"missing label", `token.labels.team == "research"`, baseInput(), false, "no such key: team"},
		{"guarded missing label", `"team" in token.labels && token.labels.team == "research"`, baseInput(), false, ""},
		{"usage", `usage.spent_today_usd == 1.5 && usage.spent_month_usd == 30.0 && usage.requests_this_minute == 12`, baseInput(), true, ""},
		{"temperature absent has", `has(request.temperature)`, baseInput(), false, ""},
		{"temperature absent read", `request.temperature <= 1.0`, baseInput(), false, "temperature is not set"},
		{"temperature absent guarded", `!has(request.temperature) || request.temperature <= 1.0`, baseInput(), true, ""},
		{"temperature absent optional", `request.?temperature.orValue(1.0) <= 1.0`, baseInput(), true, ""},
		{"temperature zero is set", `has(request.temperature) && request.temperature == 0.0`,
			with(func(in *Input) { in.Request.HasTemperature = true }), true, ""},
		{"temperature high", `!has(request.temperature) || request.temperature <= 1.0`,
			with(func(in *Input) { in.Request.Temperature, in.Request.HasTemperature = 1.5, true }), false, ""},
		{"has scalar", `has(request.model) && !has(request.stream) && has(service.labels) && !has(usage.spent_today_usd)`,
			with(func(in *Input) { in.Usage.SpentTodayUSD = 0 }), true, ""},
		{"now", `now == timestamp("2025-06-03T14:30:00Z") && now.getHours() == 14 && now.getDayOfWeek() == 2`, baseInput(), true, ""},
		{"now named zone", `now.getHours("America/New_York") == 10 && now.getMinutes("Asia/Kolkata") == 0`, baseInput(), true, ""},
		{"now offsets", `now.getHours("-08:00") == 6 && now.getHours("+05:30") == 20 && now.getMinutes("+05:30") == 0`, baseInput(), true, ""},
		{"now other accessors", `now.getFullYear("Europe/Paris") == 2025 && now.getMonth("UTC") == 5 && now.getDate("UTC") == 3 &&
			now.getDayOfMonth("UTC") == 2 && now.getDayOfYear("UTC") == 153 && now.getSeconds("UTC") == 0 && now.getMilliseconds("UTC") == 0`, baseInput(), true, ""},
		{"dynamic zone from label", `now.getHours(service.labels.tz) == 16`,
			with(func(in *Input) { in.Service.Labels["tz"] = "Europe/Paris" }), true, ""},
		{"bad dynamic zone", `now.getHours(service.labels.tz) == 16`,
			with(func(in *Input) { in.Service.Labels["tz"] = "Mars/Olympus" }), false, "unknown time zone"},
		{"whole struct as value", `dyn(request).model == "gpt-4o-mini" && has(dyn(request).model) && !has(dyn(request).temperature)`, baseInput(), true, ""},
		{"int overflow", `request.max_tokens * 9223372036854775807 > 0`, baseInput(), false, "overflow"},
		{"comprehension", `!request.headers.exists(k, k.startsWith("x-debug"))`, baseInput(), true, ""},
		{"comprehension deny", `!request.headers.exists(k, k.startsWith("x-debug"))`,
			with(func(in *Input) { in.Request.Headers["x-debug-trace"] = "1" }), false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustCompile(t, tc.src)
			got, err := p.Eval(context.Background(), tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Eval = %v, %v; want an error containing %q", got, err, tc.wantErr)
				}
				if got {
					t.Errorf("Eval returned true with an error")
				}
				if !strings.Contains(err.Error(), `policy "test"`) {
					t.Errorf("error %q does not name the policy", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Eval = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestEvalDefaultNow(t *testing.T) {
	p := mustCompile(t, `now > timestamp("2025-01-01T00:00:00Z") && now < timestamp("2200-01-01T00:00:00Z")`)
	in := baseInput()
	in.Now = time.Time{}
	if ok, err := p.Eval(context.Background(), in); err != nil || !ok {
		t.Fatalf("Eval = %v, %v", ok, err)
	}
	if !in.Now.IsZero() {
		t.Errorf("Eval wrote to its input")
	}
}

func TestEvalNilInputs(t *testing.T) {
	p := mustCompile(t, `true`)
	if ok, err := p.Eval(context.Background(), nil); err == nil || ok {
		t.Errorf("Eval(nil input) = %v, %v; want an error", ok, err)
	}
	//lint:ignore SA1012 a nil context is tolerated on purpose
	if ok, err := p.Eval(nil, baseInput()); err != nil || !ok {
		t.Errorf("Eval(nil ctx) = %v, %v", ok, err)
	}
}

// bigHeaders is an adversarial input: n headers of size bytes each.
func bigHeaders(n, size int) *Input {
	in := baseInput()
	in.Request.Headers = make(map[string]string, n)
	v := strings.Repeat("a", size)
	for i := range n {
		in.Request.Headers[fmt.Sprintf("x-h-%04d", i)] = v
	}
	return in
}

func TestCostLimit(t *testing.T) {
	tests := []struct {
		name, src string
		in        *Input
	}{
		// Each compiles (its estimate with the size hints is under the limit)
		// but costs far more on inputs beyond the hints.
		{"long header values", `request.headers.exists(k, request.headers[k].contains("zzz"))`, bigHeaders(1000, 64<<10)},
		{"long header names", `request.headers.exists(k, k.contains("zzz") || k.endsWith("yyy"))`,
			with(func(in *Input) {
				in.Request.Headers = map[string]string{}
				for i := range 2000 {
					in.Request.Headers[fmt.Sprintf("%08d", i)+strings.Repeat("k", 8<<10)] = "v"
				}
			})},
		{"long model", `request.model.contains("zzz") || request.model.matches("z+$") || request.model.size() < 0`,
			with(func(in *Input) { in.Request.Model = strings.Repeat("a", 16<<20) })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// A generous deadline, so that only the cost limit can stop these.
			p, err := CompileWithOptions("test", tc.src, Options{Timeout: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			ok, err := p.Eval(context.Background(), tc.in)
			if err == nil || ok {
				t.Fatalf("Eval = %v, %v; want a cost limit error", ok, err)
			}
			if !errors.Is(err, ErrCostLimit) {
				t.Fatalf("error %v is not ErrCostLimit", err)
			}
			// The same policies are cheap on ordinary inputs.
			if _, err := p.Eval(context.Background(), baseInput()); err != nil {
				t.Errorf("Eval on a normal input: %v", err)
			}
		})
	}
}

// TestAdversarialDefaults: with the default limits, whichever of the cost
// limit and the deadline comes first stops an adversarial evaluation. (In
// cel-go v0.32 runtime cost tracking is quadratic in the length of a
// comprehension, so on a thousand-entry map the 10 ms deadline usually fires
// first; see docs/policies.md.)
func TestAdversarialDefaults(t *testing.T) {
	for _, src := range []string{
		`request.headers.all(a, request.headers.all(b, a == b || a != b))`,
		`request.headers.exists(k, request.headers[k].contains("zzz"))`,
		`request.headers.map(k, request.headers[k] + request.headers[k]).exists(v, v.size() == 3)`,
	} {
		p := mustCompile(t, src)
		ok, err := p.Eval(context.Background(), bigHeaders(1000, 64<<10))
		if ok || !(errors.Is(err, ErrCostLimit) || errors.Is(err, context.DeadlineExceeded)) {
			t.Errorf("%s: Eval = %v, %v; want ErrCostLimit or DeadlineExceeded", src, ok, err)
		}
	}
}

func TestCustomCostLimit(t *testing.T) {
	src := `request.headers.exists(k, request.headers[k].contains("zzz"))`
	if _, err := CompileWithOptions("p", src, Options{CostLimit: 1000}); err == nil {
		t.Fatal("a policy whose estimate exceeds a custom cost limit compiled")
	}
	// A long timeout, so only the cost limit can stop the evaluation, even
	// on a loaded machine.
	p, err := CompileWithOptions("p", `request.headers.exists(k, k == "zzz")`, Options{CostLimit: 2000, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Eval(context.Background(), bigHeaders(1000, 1)); !errors.Is(err, ErrCostLimit) {
		t.Errorf("Eval over 1000 headers with limit 2000: %v, want ErrCostLimit", err)
	}
}

func TestDeadline(t *testing.T) {
	// A cost limit high enough not to interfere: only the deadline stops
	// a million iterations.
	src := `request.headers.all(a, request.headers.all(b, a == b || a != b))`
	in := bigHeaders(1000, 1)

	t.Run("from ctx", func(t *testing.T) {
		p, err := CompileWithOptions("slow", src, Options{CostLimit: 1 << 40, Timeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		defer cancel()
		ok, err := p.Eval(ctx, in)
		if ok || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Eval = %v, %v; want DeadlineExceeded", ok, err)
		}
	})
	t.Run("from options", func(t *testing.T) {
		p, err := CompileWithOptions("slow", src, Options{CostLimit: 1 << 40, Timeout: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		ok, err := p.Eval(context.Background(), in)
		if ok || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Eval = %v, %v; want DeadlineExceeded", ok, err)
		}
	})
	t.Run("cancelled before", func(t *testing.T) {
		for _, src := range []string{`true`, src} { // with and without a comprehension
			p := mustCompile(t, src)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			ok, err := p.Eval(ctx, baseInput())
			if ok || !errors.Is(err, context.Canceled) {
				t.Errorf("%s: Eval = %v, %v; want Canceled", src, ok, err)
			}
		}
	})
}

func TestConcurrentEval(t *testing.T) {
	p := mustCompile(t, `request.model in ["gpt-4o", "gpt-4o-mini"] && request.max_tokens <= 4096 &&
		service.labels[?"team"].orValue("") == "research" && now.getHours("Europe/Paris") >= 0 &&
		!request.headers.exists(k, k.startsWith("x-debug"))`)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				in := baseInput()
				want := (g+i)%2 == 0
				if !want {
					in.Request.MaxTokens = 8192
				}
				ok, err := p.Eval(context.Background(), in)
				if err != nil || ok != want {
					t.Errorf("goroutine %d, %d: Eval = %v, %v; want %v", g, i, ok, err, want)
					return
				}
			}
		})
	}
	// One shared input, read by everyone at once.
	shared := baseInput()
	for range 8 {
		wg.Go(func() {
			for range 200 {
				if ok, err := (Set{p, p}).Eval(context.Background(), shared); err != nil || ok != nil {
					t.Errorf("Set.Eval = %v, %v", ok, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestSet(t *testing.T) {
	allowAll := mustCompile(t, `true`)
	gpt := mustCompile(t, `request.model.startsWith("gpt")`)
	short := mustCompile(t, `request.max_tokens <= 100`)
	broken := mustCompile(t, `token.labels.team == "x"`)
	sameNow := mustCompile(t, `now == timestamp("2025-06-03T14:30:00Z")`)

	tests := []struct {
		name       string
		set        Set
		wantDenied *Policy
		wantErr    bool
	}{
		{"empty", nil, nil, false},
		{"all allow", Set{allowAll, gpt}, nil, false},
		{"nil entries skipped", Set{nil, allowAll, nil}, nil, false},
		{"first denial wins", Set{allowAll, short, broken}, short, false},
		{"error denies", Set{gpt, broken, short}, broken, true},
		{"now", Set{sameNow, sameNow}, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			denied, err := tc.set.Eval(context.Background(), baseInput())
			if denied != tc.wantDenied || (err != nil) != tc.wantErr {
				t.Fatalf("Eval = %v, %v; want %v, error %v", denied, err, tc.wantDenied, tc.wantErr)
			}
		})
	}
	// With no Now set, every policy of a Set sees the same instant.
	p1 := mustCompile(t, `now.getMilliseconds() >= 0`)
	in := baseInput()
	in.Now = time.Time{}
	if denied, err := (Set{p1, p1}).Eval(context.Background(), in); denied != nil || err != nil {
		t.Errorf("Set.Eval with zero Now = %v, %v", denied, err)
	}
}
