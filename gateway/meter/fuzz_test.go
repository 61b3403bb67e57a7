package meter

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzTargets are the dialect and operation pairs a fuzz input selects.
var fuzzTargets = []struct{ dialect, op string }{
	{DialectOpenAI, OpChatCompletions},
	{DialectOpenAI, OpResponses},
	{DialectOpenAI, OpEmbeddings},
	{DialectAnthropic, OpMessages},
	{DialectAnthropic, OpCountTokens},
	{DialectGemini, OpGenerateContent},
	{DialectGemini, OpCountTokens},
	{"unknown", "unknown"},
}

func nonNegative(u Usage) bool {
	return u.InputTokens >= 0 && u.CachedInputTokens >= 0 && u.CacheWriteTokens >= 0 && u.OutputTokens >= 0
}

// FuzzStream feeds arbitrary event streams (SSE text, split into events)
// and request bodies to every dialect: no panic, no negative count,
// Estimated exactly when not Reported, and the same answer when asked
// twice. FromBody and EstimateRequestTokens get the same bytes.
func FuzzStream(f *testing.F) {
	entries, err := os.ReadDir("testdata")
	if err != nil {
		f.Fatal(err)
	}
	req, err := os.ReadFile(filepath.Join("testdata", "openai_request_functions.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("testdata", e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		for i, tg := range fuzzTargets {
			if strings.HasPrefix(e.Name(), tg.dialect) {
				f.Add(uint8(i), b, req)
			}
		}
	}
	f.Add(uint8(3), []byte("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":-3,\"output_tokens\":1e400}}}\n\n"), []byte(`{"messages":[[[[[`))
	f.Add(uint8(0), []byte("data: "+`{"choices":[{"delta":{"content":"\ud83d\"}}],"usage":{"prompt_tokens":9223372036854775807,"completion_tokens":99999999999999999999}}`+"\n\n"), []byte(`"\u`))

	f.Fuzz(func(t *testing.T, target uint8, stream, request []byte) {
		tg := fuzzTargets[int(target)%len(fuzzTargets)]
		s := NewStream(tg.dialect, tg.op)
		s.SetRequest(request)
		for _, e := range parseEvents(stream) {
			s.Event(e.name, e.data)
			if u := s.Usage(); !nonNegative(u) || u.Estimated == s.Reported() {
				t.Fatalf("mid-stream: reported %v, usage %+v", s.Reported(), u)
			}
		}
		u := s.Usage()
		if !nonNegative(u) {
			t.Fatalf("negative count: %+v", u)
		}
		if s.Reported() == u.Estimated {
			t.Fatalf("reported %v but estimated %v: %+v", s.Reported(), u.Estimated, u)
		}
		if again := s.Usage(); again != u {
			t.Fatalf("Usage changed between calls: %+v then %+v", u, again)
		}
		if u.Total() < 0 {
			t.Fatalf("overflow: %+v", u)
		}
		if b, ok := FromBody(tg.dialect, tg.op, stream); !nonNegative(b) || b.Estimated || !ok && b != (Usage{}) {
			t.Fatalf("FromBody: %+v, %v", b, ok)
		}
		if n := EstimateRequestTokens(tg.dialect, tg.op, request); n < 0 {
			t.Fatalf("EstimateRequestTokens: %d", n)
		}
	})
}
