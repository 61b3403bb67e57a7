package meter

import (
	"strings"
	"testing"
)

// The estimate against OpenAI's tokenizers, on the samples in
// testdata/estimate (counts measured offline with tiktoken's cl100k_base
// and o200k_base encodings; see testdata/README.md). Each sample must stay
// within the error band EstimateTokens documents for its kind of text.
func TestEstimateTokensAgainstTokenizers(t *testing.T) {
	tests := []struct {
		file         string
		cl100k, o200 int64
		lo, hi       float64 // allowed relative error against both counts
	}{
		{"en_prose.txt", 289, 289, -0.20, 0.20},
		{"en_docs.txt", 195, 195, -0.20, 0.20},
		{"go_code.txt", 630, 627, -0.20, 0.20},
		{"json_tools.txt", 188, 188, -0.25, 0.25}, // pretty-printed: indentation
		{"numbers.txt", 502, 502, -0.20, 0.20},
		{"de_prose.txt", 425, 336, -0.30, 0.30},
		{"ru_prose.txt", 622, 360, -0.30, 0.60},
		{"zh_prose.txt", 418, 298, -0.30, 0.40},
		{"ja_prose.txt", 641, 465, -0.30, 0.40},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got := EstimateTokens(readFixture(t, "estimate/"+tt.file))
			for _, ref := range []int64{tt.cl100k, tt.o200} {
				e := float64(got-ref) / float64(ref)
				if e < tt.lo || e > tt.hi {
					t.Errorf("estimate %d vs %d: error %+.0f%%, allowed %+.0f%%…%+.0f%%", got, ref, e*100, tt.lo*100, tt.hi*100)
				}
			}
			t.Logf("estimate %d, cl100k %d (%+.0f%%), o200k %d (%+.0f%%)", got,
				tt.cl100k, 100*float64(got-tt.cl100k)/float64(tt.cl100k),
				tt.o200, 100*float64(got-tt.o200)/float64(tt.o200))
		})
	}
}

func TestEstimateTokensEdges(t *testing.T) {
	tests := []struct {
		text string
		want int64
	}{
		{"", 0},
		{"a", 1},
		{" ", 1},
		{"Hello", 1},
		{"Hello, world!", 4},
		{"2024", 2},
		{"中文", 2},
		{"😀", 2},
		{"\xff\xfe", 2}, // invalid UTF-8 counts as symbols
	}
	for _, tt := range tests {
		if got := EstimateTokens([]byte(tt.text)); got != tt.want {
			t.Errorf("EstimateTokens(%q) = %d, want %d", tt.text, got, tt.want)
		}
	}
	// Never zero for non-empty text, never decreasing as text grows.
	var prev int64
	s := ""
	for i := 0; i < 200; i++ {
		s += string("ab é中😀\n1,"[i%10])
		n := EstimateTokens([]byte(s))
		if n < 1 || n < prev {
			t.Fatalf("EstimateTokens(%q) = %d after %d", s, n, prev)
		}
		prev = n
	}
}

// Text inside JSON strings counts as the text it encodes.
func TestAddJSONMatchesRawText(t *testing.T) {
	tests := []struct{ json, raw string }{
		{`Hello \"world\"\n`, "Hello \"world\"\n"},
		{`\u4e2d\u6587 text`, "中文 text"},
		{`\ud83d\ude00!`, "😀!"},
		{`caf\u00e9 \u0416`, "café Ж"},
		{`tab\there\\`, "tab\there\\"},
		{`lone \ud83d surrogate`, "lone \uFFFD surrogate"},
		{`bad \uZZZZ`, `bad \ZZZZ`},
		{`trailing \`, `trailing `},
	}
	for _, tt := range tests {
		var a, b textStats
		a.addJSON([]byte(tt.json))
		b.addRaw([]byte(tt.raw))
		// Slot 0 counts UTF-8 continuation bytes, which weigh nothing.
		a.n[clsIgnore], b.n[clsIgnore] = 0, 0
		if a != b {
			t.Errorf("%s: counted %v, want %v (as %q)", tt.json, a.n[1:], b.n[1:], tt.raw)
		}
	}
}

// The API reference's examples give the real prompt_tokens of three
// requests: "Default" 19, "Image input" 1117 (with the "What is in this
// image?" text), "Functions" 82.
func TestEstimateRequestTokensAgainstReportedUsage(t *testing.T) {
	tests := []struct {
		file   string
		actual int64
		tol    float64
	}{
		{"openai_request_default.json", 19, 0.10},
		{"openai_request_image.json", 1117, 0.15},
		{"openai_request_functions.json", 82, 0.25},
		// adk-go's recorded Gemini request: promptTokenCount 28.
		{"gemini_request.json", 28, 0.35},
	}
	for _, tt := range tests {
		got := EstimateRequestTokens(DialectOpenAI, OpChatCompletions, readFixture(t, tt.file))
		e := float64(got-tt.actual) / float64(tt.actual)
		if e < -tt.tol || e > tt.tol {
			t.Errorf("%s: estimate %d, actual %d (%+.0f%%, allowed ±%.0f%%)", tt.file, got, tt.actual, e*100, tt.tol*100)
		}
		t.Logf("%s: estimate %d, actual %d (%+.0f%%)", tt.file, got, tt.actual, e*100)
	}
}

func TestEstimateRequestTokensRules(t *testing.T) {
	text := func(s string) int64 { return EstimateTokens([]byte(s)) }
	big := strings.Repeat("QUJD", 50000) // 200 KB of base64
	tests := []struct {
		name string
		body string
		want int64
	}{
		{"empty", ``, 0},
		{"not JSON", `hello world`, text("hello world")},
		{"empty object", `{}`, replyOverhead},
		{
			"metadata strings are not prompt text",
			`{"model":"gpt-4.1","user":"u-123","stop":["\n\n"],"metadata":{"k":"v"},"service_tier":"auto","messages":[]}`,
			replyOverhead,
		},
		{
			"anthropic base64 image is one image, not 200 KB of text",
			`{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":[
				{"type":"image","source":{"type":"base64","media_type":"image/png","data":"` + big + `"}},
				{"type":"text","text":"Describe this image."}]}]}`,
			text("Describe this image.") + ImageTokens + messageOverhead + replyOverhead,
		},
		{
			"anthropic text document source is read",
			`{"messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"The grass is green."}}]}]}`,
			text("The grass is green.") + messageOverhead + replyOverhead,
		},
		{
			"openai data URL image and audio",
			`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,` + big + `"}},
				{"type":"input_audio","input_audio":{"data":"` + big + `","format":"wav"}}]}]}`,
			2*ImageTokens + messageOverhead + replyOverhead,
		},
		{
			"gemini inline data and file data",
			`{"contents":[{"role":"user","parts":[{"inlineData":{"mimeType":"image/jpeg","data":"` + big + `"}},
				{"fileData":{"mimeType":"application/pdf","fileUri":"https://generativelanguage.googleapis.com/v1beta/files/abc"}},{"text":"Summarize."}]}]}`,
			text("Summarize.") + 2*ImageTokens + messageOverhead + replyOverhead,
		},
		{
			"responses input string and instructions",
			`{"model":"gpt-4.1","instructions":"Be brief.","input":"Tell me a story."}`,
			text("Be brief.Tell me a story.") + replyOverhead,
		},
		{
			"responses input messages with an image are walked, not read as arguments",
			`{"model":"gpt-4.1","input":[{"role":"user","content":[{"type":"input_text","text":"what's in this image?"},
				{"type":"input_image","image_url":"data:image/png;base64,` + big + `"}]}]}`,
			text("what's in this image?") + ImageTokens + messageOverhead + replyOverhead,
		},
		{
			"embeddings token ids",
			`{"model":"text-embedding-3-small","input":[[1,2,3],[4,5]]}`,
			5 + replyOverhead,
		},
		{
			"embeddings strings",
			`{"model":"text-embedding-3-small","input":["The food was delicious","and the waiter"]}`,
			text("The food was deliciousand the waiter") + replyOverhead,
		},
		{
			"anthropic tool_use input counted by keys and values",
			`{"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"location":"Paris"}}]}]}`,
			text("get_weatherlocation Paris") + messageOverhead + replyOverhead,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EstimateRequestTokens(DialectOpenAI, OpChatCompletions, []byte(tt.body)); got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}

// Deep nesting is bounded: no stack growth, the rest counted as text.
func TestEstimateRequestTokensDeepNesting(t *testing.T) {
	body := `{"messages":` + strings.Repeat(`[`, 100000) + strings.Repeat(`]`, 100000) + `}`
	if got := EstimateRequestTokens(DialectOpenAI, OpChatCompletions, []byte(body)); got <= 0 {
		t.Errorf("got %d", got)
	}
}
