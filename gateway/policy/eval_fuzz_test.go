package policy

import (
	"context"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/meter"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/reqjson"
)

// fuzzRequest is the raw material of one request's policy input, as the
// gateway has it before it builds a policy.Input.
type fuzzRequest struct {
	model       string // from the URL path (Gemini, Azure); a "model" string in the body wins
	body        []byte
	header      http.Header
	remoteAddr  string
	labelKey    string // a service label; also the token's "tz" label, as its value
	labelValue  string
	maxTokens   int64 // the output cap the client asked for
	worstMicro  int64 // the worst-case cost, micro-USD
	spentMicro  int64 // the service's spend today and this month, micro-USD
	requests    int64 // requests this minute
	nowUnixSecs int64
}

// input builds a policy Input from raw request data as the gateway does
// (gateway.policyInput, gateway/cost.go): the headers and the client IP
// through HTTPHeaders and ClientIP, which the gateway calls too; model,
// stream, temperature and message count read from the body more loosely
// than the gateway (which refuses a temperature that is not a number), so
// that odd values reach the policies; the input estimate from the meter;
// dollars from micro-USD.
func (fr *fuzzRequest) input() *Input {
	in := &Input{
		Request: Request{
			Model:                fr.model,
			Provider:             "openai",
			Surface:              "openai",
			MaxTokens:            fr.maxTokens,
			EstimatedInputTokens: meter.EstimateRequestTokens(meter.DialectOpenAI, meter.OpChatCompletions, fr.body),
			EstimatedCostUSD:     float64(max(fr.worstMicro, 0)) / 1e6,
			Headers:              HTTPHeaders(fr.header),
			ClientIP:             ClientIP(fr.remoteAddr),
		},
		Service: Subject{ID: "svc_1", Name: "search", Labels: map[string]string{fr.labelKey: fr.labelValue}},
		Token:   Subject{ID: "tok_1", Name: "ci", Labels: map[string]string{"tz": fr.labelValue}},
		Usage: Usage{
			SpentTodayUSD:      float64(fr.spentMicro) / 1e6,
			SpentMonthUSD:      float64(fr.spentMicro) / 1e6 * 30,
			RequestsThisMinute: fr.requests,
		},
		// The gateway evaluates at time.Now(); the fuzzer moves it within
		// a few centuries.
		Now: time.Unix(1_750_000_000+fr.nowUnixSecs%(200*365*86400), 0).UTC(),
	}
	if body, err := reqjson.Parse(fr.body); err == nil {
		if m, ok, err := body.String("model"); ok && err == nil {
			in.Request.Model = m
		}
		in.Request.Stream, _, _ = body.Bool("stream")
		if raw, ok := body.Raw("temperature"); ok {
			if t, err := strconv.ParseFloat(string(raw), 64); err == nil {
				in.Request.Temperature, in.Request.HasTemperature = t, true
			}
		}
		for _, f := range []string{"messages", "input", "contents"} {
			if n, ok := body.Len(f); ok {
				in.Request.MessageCount = int64(n)
				break
			}
		}
	}
	return in
}

var modelFamily = regexp.MustCompile(`^(gpt|claude|gemini)-[a-z0-9.-]+$`)

// evalPolicies are fixed policies that together read every variable and
// field, with the operations that can fail at run time (a missing map key,
// an unset optional field, integer overflow, double to int conversion, a
// time zone from data, comprehensions, whole structs as values). ref, when
// set, is the expected outcome: fails means evaluation must return an
// error (and so deny).
var evalPolicies = []struct {
	src string
	ref func(in *Input) (allow, fails bool)
}{
	{`request.model.startsWith("gpt-") && request.max_tokens <= 4096`, func(in *Input) (bool, bool) {
		return strings.HasPrefix(in.Request.Model, "gpt-") && in.Request.MaxTokens <= 4096, false
	}},
	{`!has(request.temperature) || request.temperature <= 1.0`, func(in *Input) (bool, bool) {
		return !in.Request.HasTemperature || in.Request.Temperature <= 1.0, false
	}},
	{`request.temperature < 2.0`, func(in *Input) (bool, bool) {
		return in.Request.HasTemperature && in.Request.Temperature < 2.0, !in.Request.HasTemperature
	}},
	{`request.?temperature.orValue(1.0) <= 1.0 && service.labels[?"team"].orValue("") != "blocked"`, func(in *Input) (bool, bool) {
		t := 1.0
		if in.Request.HasTemperature {
			t = in.Request.Temperature
		}
		team, ok := in.Service.Labels["team"]
		return t <= 1.0 && !(ok && team == "blocked"), false
	}},
	{`service.labels["team"] == "ml"`, func(in *Input) (bool, bool) {
		team, ok := in.Service.Labels["team"]
		return ok && team == "ml", !ok
	}},
	{`request.max_tokens * 1000 < 4000000`, func(in *Input) (bool, bool) {
		m := in.Request.MaxTokens
		if m > math.MaxInt64/1000 || m < math.MinInt64/1000 {
			return false, true // integer overflow
		}
		return m*1000 < 4000000, false
	}},
	{`request.message_count <= 100 && request.estimated_input_tokens + request.max_tokens < 200000`, func(in *Input) (bool, bool) {
		r := in.Request
		if r.MessageCount > 100 {
			return false, false // false && error is false in CEL
		}
		sum := r.EstimatedInputTokens + r.MaxTokens
		if (r.MaxTokens > 0 && sum < r.EstimatedInputTokens) || (r.MaxTokens < 0 && sum > r.EstimatedInputTokens) {
			return false, true // integer overflow
		}
		return sum < 200000, false
	}},
	{`request.model.matches("^(gpt|claude|gemini)-[a-z0-9.-]+$")`, func(in *Input) (bool, bool) {
		return modelFamily.MatchString(in.Request.Model), false
	}},
	{`request.headers.exists(k, k.startsWith("x-") && request.headers[k].contains("debug"))`, func(in *Input) (bool, bool) {
		for k, v := range in.Request.Headers {
			if strings.HasPrefix(k, "x-") && strings.Contains(v, "debug") {
				return true, false
			}
		}
		return false, false
	}},
	{`request.headers.all(k, size(request.headers[k]) <= 1024)`, func(*Input) (bool, bool) {
		return true, false // values are cut at 1024 bytes, and size counts code points
	}},
	{`usage.spent_today_usd + request.estimated_cost_usd <= 10.0 && usage.spent_month_usd < 300.0 && usage.requests_this_minute < 60`, func(in *Input) (bool, bool) {
		u := in.Usage
		return u.SpentTodayUSD+in.Request.EstimatedCostUSD <= 10.0 && u.SpentMonthUSD < 300.0 && u.RequestsThisMinute < 60, false
	}},
	{`int(request.estimated_cost_usd * 100.0) <= 500 && double(request.estimated_input_tokens) >= 0.0`, nil},
	{`size(request.model) < 64 && request.client_ip != "10.0.0.1" && request.provider in ["openai", "anthropic"] && request.surface != "" && !request.stream`, nil},
	{`now.getHours(token.labels[?"tz"].orValue("UTC")) < 24 && now.getDayOfWeek() < 7`, nil},
	{`now - timestamp("2020-01-01T00:00:00Z") > duration("1h") && now.getFullYear("+05:30") > 1970`, nil},
	{`[request, request].size() == 2 && dyn(request).model == request.model && dyn(usage).requests_this_minute == usage.requests_this_minute && dyn(service).labels.size() == 1`, func(*Input) (bool, bool) {
		return true, false // a whole struct as a value reads the same fields
	}},
	{`request.model + service.name + token.id != "" && request.client_ip.startsWith("203.")`, func(in *Input) (bool, bool) {
		return strings.HasPrefix(in.Request.ClientIP, "203."), false
	}},
	{`service.labels.exists(k, token.labels.exists(j, k == j || service.labels[k] == token.labels[j]))`, nil},
	{`request.headers.map(k, request.headers[k]).exists(v, v.matches("^[a-z]+$")) || request.headers.size() > 3`, nil},
	{`has(request.headers.x_debug) || "x-debug" in request.headers || ("user-agent" in request.headers && request.headers["user-agent"].contains("curl"))`, func(in *Input) (bool, bool) {
		h := in.Request.Headers
		_, debug := h["x_debug"]
		_, debug2 := h["x-debug"]
		return debug || debug2 || strings.Contains(h["user-agent"], "curl"), false
	}},
}

// FuzzEval builds policy inputs from fuzzed request data (model, body,
// a header, a label, the numbers) as the gateway does, and evaluates fixed
// policies on them. Evaluation must not panic (cel-go reports a panic as an
// "internal error"), must end in bounded time, must fail closed (an error
// never comes with an admission, alone or in a Set), and must agree with a
// Go reference where the policy has one.
func FuzzEval(f *testing.F) {
	type seed struct {
		model, body, header, value, labelKey, labelValue, remoteAddr string
		maxTokens, worstMicro, spentMicro, requests, now             int64
	}
	for _, s := range []seed{
		{"", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"max_tokens":100}`, "X-Env", "prod", "team", "ml", "203.0.113.7:4242", 100, 2000, 1_500_000, 12, 0},
		{"", `{"model":"claude-sonnet-4-5","temperature":0.7,"stream":true,"messages":[]}`, "X-Debug", "debug=1", "team", "blocked", "[::1]:1", 4096, 1, 0, 0, 86400},
		{"gemini-2.5-flash", `{"contents":[{"parts":[{"text":"x"}]}],"temperature":1e400}`, "User-Agent", "curl/8", "tz", "Europe/Paris", "10.0.0.1:80", 0, 0, 0, 0, -1},
		{"", `{"model":"gpt-4o","temperature":2.5,"messages":[{},{},{}]}`, "x-lower", strings.Repeat("é", 600), "tz", "+05:30", "bad", math.MaxInt64, math.MaxInt64, math.MaxInt64, math.MaxInt64, math.MaxInt64},
		{"o3", `{"model":null,"temperature":"hot"}`, "Authorization", "Bearer secret", "", "", "", math.MinInt64, math.MinInt64, math.MinInt64, math.MinInt64, math.MinInt64},
		{"", `{"model":"gpt-\u00e9","temperature":-0,"input":"text"}`, "X-Tz", "Mars/Olympus", "team", "Mars/Olympus", "1.2.3.4:5", math.MaxInt64 / 1000, 0, 10_000_000, 59, 1 << 40},
		{"\xff\xfe", `not json`, "", "", "\x00", "\xff", "::", math.MinInt64/1000 - 1, -1, -1, -1, 0},
		{"", `{"model":"gpt-4o","max_tokens":9223372036854775807,"messages":[[[[]]]]}`, "X-A", "-23:59", "team", "-24:00", "[fe80::1%eth0]:443", 200000, 5_000_000_000_000, 0, 0, 3_000_000_000},
	} {
		f.Add(s.model, []byte(s.body), s.header, s.value, s.labelKey, s.labelValue, s.remoteAddr, s.maxTokens, s.worstMicro, s.spentMicro, s.requests, s.now)
	}

	// A generous timeout: the fuzzer and the race detector slow evaluation
	// down, and a timeout here would be a flaky denial rather than a hang.
	opts := Options{Timeout: time.Second}
	set := make(Set, len(evalPolicies))
	for i, p := range evalPolicies {
		var err error
		if set[i], err = CompileWithOptions("p"+strconv.Itoa(i), p.src, opts); err != nil {
			f.Fatalf("Compile(%q): %v", p.src, err)
		}
	}

	f.Fuzz(func(t *testing.T, model string, body []byte, header, value, labelKey, labelValue, remoteAddr string,
		maxTokens, worstMicro, spentMicro, requests, now int64) {
		fr := &fuzzRequest{
			model: model, body: body, remoteAddr: remoteAddr, labelKey: labelKey, labelValue: labelValue,
			maxTokens: maxTokens, worstMicro: worstMicro, spentMicro: spentMicro, requests: requests, nowUnixSecs: now,
			header: http.Header{"User-Agent": {"app/1.0"}, "Authorization": {"Bearer secret"}},
		}
		if header != "" {
			fr.header.Add(header, value) // under its canonical name, as net/http reads it
		}
		in := fr.input()
		for _, h := range []string{"authorization", "x-api-key", "api-key", "x-goog-api-key", "cookie"} {
			if _, ok := in.Request.Headers[h]; ok {
				t.Fatalf("the credential header %s reached the policy input", h)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()

		firstDenied := -1
		for i, p := range set {
			start := time.Now()
			ok, err := p.Eval(ctx, in)
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("%s: evaluation took %v", evalPolicies[i].src, d)
			}
			if err != nil {
				if strings.Contains(err.Error(), "internal error") {
					t.Fatalf("%s panicked: %v", evalPolicies[i].src, err)
				}
				if ok {
					t.Fatalf("%s: error %v with an admission (not fail-closed)", evalPolicies[i].src, err)
				}
			}
			if (err != nil || !ok) && firstDenied < 0 {
				firstDenied = i
			}
			if ref := evalPolicies[i].ref; ref != nil {
				allow, fails := ref(in)
				switch {
				case fails && err == nil:
					t.Fatalf("%s = %v, want an evaluation error\ninput %+v", evalPolicies[i].src, ok, in.Request)
				case !fails && err != nil:
					t.Fatalf("%s: unexpected error %v\ninput %+v", evalPolicies[i].src, err, in.Request)
				case !fails && ok != allow:
					t.Fatalf("%s = %v, the Go reference says %v\ninput %+v", evalPolicies[i].src, ok, allow, in.Request)
				}
			}
		}
		// The whole set denies at the first policy that denies or fails.
		denied, err := set.Eval(ctx, in)
		switch {
		case firstDenied < 0 && (denied != nil || err != nil):
			t.Fatalf("Set.Eval = %v, %v; every policy allowed", denied, err)
		case firstDenied >= 0 && denied != set[firstDenied]:
			t.Fatalf("Set.Eval denied by %v (err %v), want p%d", denied, err, firstDenied)
		case err != nil && denied == nil:
			t.Fatalf("Set.Eval error %v without a denying policy", err)
		}
	})
}
