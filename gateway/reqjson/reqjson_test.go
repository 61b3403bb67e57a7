package reqjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name, body, wantErr string
	}{
		{"empty", ``, "unexpected end"},
		{"array", `[1]`, "must be a JSON object"},
		{"string", `"x"`, "must be a JSON object"},
		{"truncated", `{"model":"a"`, "unexpected end"},
		{"trailing object", `{"a":1}{"b":2}`, "after top-level value"},
		{"trailing garbage", `{"a":1} x`, "invalid"},
		{"duplicate key", `{"model":"a","model":"b"}`, "duplicate key \"model\""},
		{"duplicate via escape", `{"model":"a","mod\u0065l":"b"}`, "duplicate key"},
		{"bom", "\ufeff{\"a\":1}", "invalid"},
		{"bad value", `{"a":tru}`, "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Parse(%q) error = %v, want containing %q", tt.body, err, tt.wantErr)
			}
		})
	}
}

func TestFields(t *testing.T) {
	o, err := Parse([]byte(` { "model" : "gpt-4o" , "stream":true, "n":null, "x":{"model":"inner"}, "s": 3 } `))
	if err != nil {
		t.Fatal(err)
	}
	if m, ok, err := o.String("model"); err != nil || !ok || m != "gpt-4o" {
		t.Fatalf("model = %q %v %v", m, ok, err)
	}
	if b, ok, err := o.Bool("stream"); err != nil || !ok || !b {
		t.Fatalf("stream = %v %v %v", b, ok, err)
	}
	if _, ok, err := o.String("n"); ok || err != nil {
		t.Fatalf("null should be absent, got ok=%v err=%v", ok, err)
	}
	if _, _, err := o.String("s"); err == nil {
		t.Fatal("number read as string should fail")
	}
	if _, _, err := o.Bool("model"); err == nil {
		t.Fatal("string read as bool should fail")
	}
	if o.Has("missing") || o.Has("n") || !o.Has("x") {
		t.Fatal("Has wrong")
	}
}

func TestBytesUnchangedWithoutEdits(t *testing.T) {
	src := []byte("{\"model\":\"a\",  \"messages\":[{\"role\":\"user\",\"content\":\"h\\u00e9\"}]}\n")
	o, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	if got := o.Bytes(); string(got) != string(src) {
		t.Fatalf("Bytes() = %q, want the source unchanged", got)
	}
}

func TestSet(t *testing.T) {
	tests := []struct {
		name string
		src  string
		set  map[string]string
		want string
	}{
		{"replace keeps the rest byte for byte", `{"model":"a", "x" : [1, 2]}`, map[string]string{"model": `"b"`}, `{"model":"b", "x" : [1, 2]}`},
		{"add to object", `{"model":"a"}`, map[string]string{"stream_options": `{"include_usage":true}`}, `{"model":"a","stream_options":{"include_usage":true}}`},
		{"add to empty object", `{ }`, map[string]string{"model": `"m"`}, `{ "model":"m"}`},
		{"replace and add", `{"model":"a","stream":true}`, map[string]string{"model": `"b"`, "z": `1`}, `{"model":"b","stream":true,"z":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := Parse([]byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"model", "stream_options", "z"} {
				if v, ok := tt.set[k]; ok {
					o.Set(k, []byte(v))
				}
			}
			got := o.Bytes()
			if string(got) != tt.want {
				t.Fatalf("Bytes() = %s, want %s", got, tt.want)
			}
			if !json.Valid(got) {
				t.Fatal("result is not valid JSON")
			}
			if _, err := Parse(got); err != nil {
				t.Fatalf("result does not reparse: %v", err)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`{"model":"a","stream":true}`, `{}`, `{"a":{"b":[1,2,{"c":null}]}}`, `[]`, `{"a":1,"a":2}`, "\ufeff{}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := Parse(b)
		if err != nil {
			return
		}
		if !json.Valid(b) {
			t.Fatalf("Parse accepted invalid JSON %q", b)
		}
		// The spans agree with encoding/json's reading of the same object.
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("Parse accepted %q, encoding/json did not: %v", b, err)
		}
		if len(m) != len(o.fields) {
			t.Fatalf("%d fields, encoding/json found %d", len(o.fields), len(m))
		}
		for k, v := range m {
			if raw, ok := o.Raw(k); !ok || !bytes.Equal(raw, v) {
				t.Fatalf("field %q = %q, encoding/json read %q", k, raw, v)
			}
		}
		o.SetString("model", "m")
		o.Set("stream_options", []byte(`{"include_usage":true}`))
		out := o.Bytes()
		o2, err := Parse(out)
		if err != nil {
			t.Fatalf("edited body %q does not reparse: %v", out, err)
		}
		if m, ok, _ := o2.String("model"); !ok || m != "m" {
			t.Fatalf("model not set in %q", out)
		}
	})
}

func TestManyKeys(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for i := range 50000 {
		fmt.Fprintf(&b, `"k%d":1,`, i)
	}
	b.WriteString(`"model":"m"}`)
	o, err := Parse([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if m, ok, _ := o.String("model"); !ok || m != "m" {
		t.Fatal("model not found among many keys")
	}
	dup := strings.TrimSuffix(b.String(), "}") + `,"k0":2}`
	if _, err := Parse([]byte(dup)); err == nil || !strings.Contains(err.Error(), `duplicate key "k0"`) {
		t.Fatalf("duplicate among many keys not found: %v", err)
	}
}

func TestLen(t *testing.T) {
	o, err := Parse([]byte(`{"a":[],"b":[1, {"x":[2,3]}, "s,]", [ ]],"c":{"d":1},"e":[ 7 ]}`))
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]int{"a": 0, "b": 4, "e": 1} {
		if n, ok := o.Len(key); !ok || n != want {
			t.Errorf("Len(%q) = %d, %v; want %d", key, n, ok, want)
		}
	}
	for _, key := range []string{"c", "missing"} {
		if _, ok := o.Len(key); ok {
			t.Errorf("Len(%q) ok for a non-array", key)
		}
	}
}
