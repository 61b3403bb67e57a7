package anthropic

import (
	"fmt"
	"strings"
	"testing"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
)

// benchRequest is a ~4 KB request of a coding agent: a system prompt, two
// tools and a conversation with tool calls and results.
func benchRequest() []byte {
	var b strings.Builder
	b.WriteString(`{"model":"claude-sonnet-4-5","max_tokens":8192,"stream":true,"temperature":1,`)
	b.WriteString(`"system":[{"type":"text","text":"You are a careful coding assistant. Answer concisely, run tools when you need facts about the repository, and never invent file contents."},`)
	b.WriteString(`{"type":"text","text":"` + strings.Repeat("Project notes: the service is written in Go and uses Caddy modules. ", 6) + `","cache_control":{"type":"ephemeral"}}],`)
	b.WriteString(`"tools":[{"name":"read_file","description":"Read a file of the repository","input_schema":{"type":"object","properties":{"path":{"type":"string","description":"The file path"},"offset":{"type":"integer"},"limit":{"type":"integer"}},"required":["path"]}},`)
	b.WriteString(`{"name":"run","description":"Run a shell command","input_schema":{"type":"object","properties":{"command":{"type":"string"},"timeout":{"type":"integer","description":"seconds"}},"required":["command"]}}],`)
	b.WriteString(`"tool_choice":{"type":"auto"},"messages":[`)
	for i := 0; i < 4; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"role":"user","content":[{"type":"text","text":"Step %d: please look at the handler and tell me what it does with the request body before it is forwarded."}]},`, i)
		fmt.Fprintf(&b, `{"role":"assistant","content":[{"type":"text","text":"Let me read the file first."},{"type":"tool_use","id":"toolu_01A09q90qw90lq917835lq%d","name":"read_file","input":{"path":"gateway/handler_%d.go","limit":200}}]},`, i, i)
		fmt.Fprintf(&b, `{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01A09q90qw90lq917835lq%d","content":"func handle(w http.ResponseWriter, r *http.Request) {\n\tbody, err := io.ReadAll(r.Body)\n\tif err != nil {\n\t\treturn\n\t}\n\tforward(body)\n}"}]}`, i)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// benchResponse is a ~3.6 KB answer: text and a tool call.
func benchResponse() []byte {
	text := strings.Repeat("The handler reads the whole body, checks its size against the configured limit and forwards it unchanged. ", 30)
	return []byte(`{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[` +
		`{"type":"text","text":"` + text + `"},` +
		`{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"run","input":{"command":"go test ./gateway/...","timeout":120}}],` +
		`"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":2095,"cache_creation_input_tokens":0,"cache_read_input_tokens":1800,"output_tokens":503}}`)
}

func TestBenchBodies(t *testing.T) {
	var r llm.Request
	if err := DecodeRequest(benchRequest(), &r); err != nil {
		t.Fatal(err)
	}
	var resp llm.Response
	if err := DecodeResponse(benchResponse(), &resp); err != nil {
		t.Fatal(err)
	}
	t.Logf("request %d bytes, response %d bytes", len(benchRequest()), len(benchResponse()))
}

func BenchmarkRequestDecodeEncode(b *testing.B) {
	body := benchRequest()
	opts := llm.EncodeOptions{Model: "claude-sonnet-4-5"}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var r llm.Request
		if err := DecodeRequest(body, &r); err != nil {
			b.Fatal(err)
		}
		if _, err := EncodeRequest(&r, opts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRequestDecode(b *testing.B) {
	body := benchRequest()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var r llm.Request
		if err := DecodeRequest(body, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRequestEncode(b *testing.B) {
	var r llm.Request
	if err := DecodeRequest(benchRequest(), &r); err != nil {
		b.Fatal(err)
	}
	opts := llm.EncodeOptions{Model: "claude-sonnet-4-5"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeRequest(&r, opts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkResponseDecodeEncode(b *testing.B) {
	body := benchResponse()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var r llm.Response
		if err := DecodeResponse(body, &r); err != nil {
			b.Fatal(err)
		}
		if _, err := EncodeResponse(&r, llm.ResponseOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStreamDecodeEncode translates a documented stream event by event.
func BenchmarkStreamDecodeEncode(b *testing.B) {
	events := readSSE(b, fixture(b, "anthropic_stream_tool_use.sse"))
	b.ReportAllocs()
	var dst []byte
	for b.Loop() {
		d, e := NewStreamDecoder(), NewStreamEncoder(llm.ResponseOptions{})
		dst = dst[:0]
		for _, ev := range events {
			if err := d.Decode(ev.name, ev.data, func(x *llm.Event) { dst = e.Encode(dst, x) }); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(events)), "events/op")
}
