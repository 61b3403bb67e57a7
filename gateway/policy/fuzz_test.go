package policy

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// FuzzCompile feeds arbitrary sources to Compile. Compile must not panic and
// must refuse with a *CompileError; whatever compiles must evaluate on fixed
// inputs without panicking (cel-go turns a panic during evaluation into an
// "internal error", which counts as a failure here too).
func FuzzCompile(f *testing.F) {
	for _, ex := range cookbook {
		f.Add(ex.src)
	}
	for _, s := range []string{
		benchPolicy,
		`request.headers.exists(k, request.headers[k].contains("zzz"))`,
		`request.headers.all(a, request.headers.all(b, a == b || a != b))`,
		`request.model.matches("^(gpt|o3)-.*$")`,
		`now.getHours("America/New_York") > 3 && now.getMinutes("+05:30") >= 0`,
		`request.?temperature.orValue(1.0) <= 1.0 && service.labels[?"team"].hasValue()`,
		`dyn(request).model == "x" || [request].size() == 1`,
		`request.max_tokens * 2 > request.estimated_input_tokens && int(request.estimated_cost_usd) < 1`,
		`string(request.max_tokens) + request.model != "" && duration("1h") < now - timestamp("2025-01-01T00:00:00Z")`,
		`request.headers.map(k, k + request.headers[k]).filter(v, v.size() > 3).exists_one(v, v.startsWith("x"))`,
		`request.model ==`,
		`request.model.matches("a{2}")`,
		`{"a": request.model}[request.provider] == "x"`,
		`optional.of(request.model).orValue("") == "" && optional.none().hasValue() == false`,
	} {
		f.Add(s)
	}
	inputs := []*Input{baseInput(), {}, with(func(in *Input) {
		in.Request.HasTemperature, in.Request.Temperature = true, 0.5
		in.Service.Labels["tz"] = "Europe/Paris"
		in.Request.Headers["x-debug"] = strings.Repeat("é", 300)
	})}
	f.Fuzz(func(t *testing.T, src string) {
		p, err := Compile("fuzz", src)
		if err != nil {
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("Compile(%q): error %T %v is not a *CompileError", src, err, err)
			}
			if strings.Contains(err.Error(), "internal error") {
				t.Fatalf("Compile(%q) panicked: %v", src, err)
			}
			return
		}
		for _, in := range inputs {
			_, err := p.Eval(context.Background(), in)
			if err != nil && strings.Contains(err.Error(), "internal error") {
				t.Fatalf("Eval of %q panicked: %v", src, err)
			}
		}
	})
}
