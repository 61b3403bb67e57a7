package gemini

import (
	"bytes"
	stdjson "encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/genai"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/sse"
)

// decodeStream runs a stream through a new decoder and returns its events.
func decodeStream(t testing.TB, stream []byte) []llm.Event {
	t.Helper()
	d := NewStreamDecoder()
	r := sse.NewReader(bytes.NewReader(stream))
	defer r.Release()
	var evs []llm.Event
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			return evs
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Decode(ev.Name, ev.Data, func(e *llm.Event) { evs = append(evs, *e) }); err != nil {
			t.Fatal(err)
		}
	}
}

// chunks splits an encoder's output into the data of its events, checking
// that every event is a bare `data:` line.
func chunks(t *testing.T, out []byte) []string {
	t.Helper()
	var datas []string
	for _, ev := range strings.Split(string(out), "\n\n") {
		if ev == "" {
			continue
		}
		data, ok := strings.CutPrefix(ev, "data: ")
		if !ok || strings.Contains(data, "\n") {
			t.Fatalf("malformed event %q", ev)
		}
		datas = append(datas, data)
	}
	if !bytes.HasSuffix(out, []byte("\n\n")) {
		t.Errorf("output does not end with a blank line: %q", out)
	}
	return datas
}

func TestStreamDecoder(t *testing.T) {
	t.Run("thinking", func(t *testing.T) {
		evs := decodeStream(t, fixture(t, "stream_thinking.sse"))
		start := evs[0]
		if start.Type != llm.EventStart || start.ID != "WEXbaMnpF7iPjMcP27mckQE" || start.Model != "gemini-2.5-flash" || start.Usage != (llm.Usage{Input: 28}) {
			t.Errorf("start = %+v", start)
		}
		var thinking, text strings.Builder
		usages := 0
		for _, e := range evs[1 : len(evs)-3] {
			switch e.Type {
			case llm.EventThinking:
				if e.Index != 0 {
					t.Errorf("thinking at index %d", e.Index)
				}
				thinking.WriteString(e.Text)
			case llm.EventText:
				if e.Index != 1 {
					t.Errorf("text at index %d", e.Index)
				}
				text.WriteString(e.Text)
			case llm.EventUsage:
				usages++
			default:
				t.Errorf("unexpected %+v", e)
			}
		}
		if !strings.HasPrefix(thinking.String(), "**Calculating Prime Sum**") || !strings.HasSuffix(text.String(), "The sum of the first 50 prime numbers is 5309.") {
			t.Errorf("thinking %q\ntext %q", thinking.String(), text.String())
		}
		if usages != 16 { // each of the 17 chunks changes the counts; the last one's is in the tail
			t.Errorf("%d usage events", usages)
		}
		tail := evs[len(evs)-3:]
		want := []llm.Event{
			{Type: llm.EventFinish, Finish: llm.FinishStop},
			{Type: llm.EventUsage, Usage: llm.Usage{Input: 28, Output: 643 + 1174, Reasoning: 1174}},
			{Type: llm.EventEnd},
		}
		if !reflect.DeepEqual(tail, want) {
			t.Errorf("tail = %+v", tail)
		}
	})
	tests := []struct {
		name   string
		stream string
		want   []llm.Event
	}{
		{"function call", string(fixture(t, "stream_function_call.sse")), []llm.Event{
			{Type: llm.EventStart},
			{Type: llm.EventToolCall, Index: 0, ID: "call_0", Name: "get_weather", Signature: "c2lnLTE="},
			{Type: llm.EventToolArgs, Index: 0, Text: `{"city":"Paris"}`},
			{Type: llm.EventFinish, Finish: llm.FinishToolCalls},
			{Type: llm.EventEnd},
		}},
		{"trailing signature", string(fixture(t, "stream_trailing_signature.sse")), []llm.Event{
			{Type: llm.EventStart},
			{Type: llm.EventText, Index: 0, Text: "Hello"},
			{Type: llm.EventText, Index: 0, Signature: "c2lnLTI="},
			{Type: llm.EventFinish, Finish: llm.FinishStop},
			{Type: llm.EventEnd},
		}},
		{"error chunk", "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}],\"role\":\"model\"}}],\"responseId\":\"r\"}\n\n" + "data: " + string(fixture(t, "error_unavailable.json")) + "\n\ndata: {\"candidates\":[]}\n\n", []llm.Event{
			{Type: llm.EventStart, ID: "r"},
			{Type: llm.EventText, Index: 0, Text: "Hi"},
			{Type: llm.EventError, Error: &llm.UpstreamError{Type: "UNAVAILABLE", Message: "overloaded", Status: 503}},
		}},
		{"blocked prompt", "data: {\"promptFeedback\":{\"blockReason\":\"PROHIBITED_CONTENT\"},\"usageMetadata\":{\"promptTokenCount\":9,\"totalTokenCount\":9},\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"b\"}\n\n", []llm.Event{
			{Type: llm.EventStart, ID: "b", Model: "gemini-2.5-flash", Usage: llm.Usage{Input: 9}},
			{Type: llm.EventFinish, Finish: llm.FinishContentFilter},
			{Type: llm.EventUsage, Usage: llm.Usage{Input: 9}},
			{Type: llm.EventEnd},
		}},
		{"kinds change", "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\",\"thought\":true},{\"text\":\"b\"},{\"functionCall\":{\"name\":\"f\",\"args\":{\"x\":[1]}}},{\"functionCall\":{\"id\":\"own\",\"name\":\"g\"}},{\"text\":\"c\"},{\"text\":\"\",\"thoughtSignature\":\"c2ln\"}]},\"finishReason\":\"SAFETY\"}],\"responseId\":\"z\"}\n\n", []llm.Event{
			{Type: llm.EventStart, ID: "z"},
			{Type: llm.EventThinking, Index: 0, Text: "a"},
			{Type: llm.EventText, Index: 1, Text: "b"},
			{Type: llm.EventToolCall, Index: 2, ID: "call_z_0", Name: "f"},
			{Type: llm.EventToolArgs, Index: 2, Text: `{"x":[1]}`},
			{Type: llm.EventToolCall, Index: 3, ID: "own", Name: "g"},
			{Type: llm.EventToolArgs, Index: 3, Text: `{}`},
			{Type: llm.EventText, Index: 4, Text: "c"},
			{Type: llm.EventText, Index: 4, Signature: "c2ln"},
			{Type: llm.EventFinish, Finish: llm.FinishContentFilter},
			{Type: llm.EventEnd},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decodeStream(t, []byte(tt.stream))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("events:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
	if err := NewStreamDecoder().Decode("", []byte("{not json"), func(*llm.Event) {}); err == nil {
		t.Error("invalid chunk: no error")
	}
}

func TestStreamEncoder(t *testing.T) {
	events := []llm.Event{
		{Type: llm.EventStart, ID: "msg_1", Model: "claude-sonnet-4-5", Usage: llm.Usage{Input: 12}},
		{Type: llm.EventThinking, Index: 0, Text: "Let me"},
		{Type: llm.EventThinking, Index: 0, Signature: "c2ln"},
		{Type: llm.EventText, Index: 1, Text: "Sure."},
		{Type: llm.EventToolCall, Index: 2, ID: "toolu_1", Name: "f"},
		{Type: llm.EventToolArgs, Index: 2, Text: `{"a":`},
		{Type: llm.EventToolCall, Index: 3, ID: "toolu_2", Name: "g"},
		{Type: llm.EventToolArgs, Index: 3, Text: `{"b":2}`},
		{Type: llm.EventToolArgs, Index: 2, Text: `1}`},
		{Type: llm.EventFinish, Finish: llm.FinishToolCalls},
		{Type: llm.EventUsage, Usage: llm.Usage{Input: 12, Output: 20, Reasoning: 5}},
		{Type: llm.EventEnd},
		{Type: llm.EventText, Index: 4, Text: "after the end"},
	}
	enc := NewStreamEncoder(llm.ResponseOptions{})
	var out []byte
	for i := range events {
		out = enc.Encode(out, &events[i])
	}
	got := chunks(t, out)
	want := []string{
		`{"candidates":[{"content":{"parts":[{"text":"Let me","thought":true}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":0,"totalTokenCount":12},"modelVersion":"claude-sonnet-4-5","responseId":"msg_1"}`,
		`{"candidates":[{"content":{"parts":[{"text":"","thoughtSignature":"c2ln"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":0,"totalTokenCount":12},"modelVersion":"claude-sonnet-4-5","responseId":"msg_1"}`,
		`{"candidates":[{"content":{"parts":[{"text":"Sure."}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":0,"totalTokenCount":12},"modelVersion":"claude-sonnet-4-5","responseId":"msg_1"}`,
		`{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":{"a":1}}},{"functionCall":{"name":"g","args":{"b":2}}}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":15,"totalTokenCount":32,"thoughtsTokenCount":5},"modelVersion":"claude-sonnet-4-5","responseId":"msg_1"}`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("chunks:\n got %s\nwant %s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	t.Run("tool call then text", func(t *testing.T) {
		enc := NewStreamEncoder(llm.ResponseOptions{})
		var out []byte
		for _, e := range []llm.Event{{Type: llm.EventStart, ID: "r"}, {Type: llm.EventToolCall, Index: 0, Name: "f", Signature: "c2ln"}, {Type: llm.EventToolArgs, Index: 0, Text: `{"a"`}, {Type: llm.EventText, Index: 1, Text: "ok"}, {Type: llm.EventEnd}} {
			out = enc.Encode(out, &e)
		}
		want := []string{
			`{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":{}},"thoughtSignature":"c2ln"}],"role":"model"},"index":0}],"responseId":"r"}`,
			`{"candidates":[{"content":{"parts":[{"text":"ok"}],"role":"model"},"index":0}],"responseId":"r"}`,
			`{"candidates":[{"content":{"parts":[{"text":""}],"role":"model"},"finishReason":"STOP","index":0}],"responseId":"r"}`,
		}
		if got := chunks(t, out); !reflect.DeepEqual(got, want) {
			t.Errorf("chunks:\n got %s\nwant %s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})

	t.Run("invalid UTF-8", func(t *testing.T) {
		enc := NewStreamEncoder(llm.ResponseOptions{})
		e := llm.Event{Type: llm.EventText, Text: "a\xffb"}
		got := chunks(t, enc.Encode(nil, &e))
		if len(got) != 1 || !strings.Contains(got[0], `"text":"a\ufffdb"`) && !strings.Contains(got[0], "a\uFFFDb") {
			t.Errorf("chunks = %s", got)
		}
	})

	t.Run("text only, no usage", func(t *testing.T) {
		enc := NewStreamEncoder(llm.ResponseOptions{})
		var out []byte
		for _, e := range []llm.Event{{Type: llm.EventStart}, {Type: llm.EventText, Text: "x"}, {Type: llm.EventText, Text: ""}, {Type: llm.EventFinish, Finish: llm.FinishLength}, {Type: llm.EventEnd}} {
			out = enc.Encode(out, &e)
		}
		got := chunks(t, out)
		if len(got) != 2 || !strings.Contains(got[1], `"parts":[{"text":""}]`) || !strings.Contains(got[1], `"finishReason":"MAX_TOKENS"`) || strings.Contains(got[1], "usageMetadata") {
			t.Errorf("chunks = %s", got)
		}
		var a, b struct{ ResponseID string }
		_ = stdjson.Unmarshal([]byte(got[0]), &a)
		_ = stdjson.Unmarshal([]byte(got[1]), &b)
		if a.ResponseID == "" || a.ResponseID != b.ResponseID {
			t.Errorf("response IDs %q %q", a.ResponseID, b.ResponseID)
		}
	})

	t.Run("error", func(t *testing.T) {
		tests := []struct {
			err  *llm.UpstreamError
			want string
		}{
			{&llm.UpstreamError{Type: "overloaded_error", Message: "Overloaded"}, `{"error":{"code":503,"message":"Overloaded","status":"UNAVAILABLE"}}`},
			{&llm.UpstreamError{Type: "RESOURCE_EXHAUSTED", Message: "quota", Status: 429}, `{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}`},
			{&llm.UpstreamError{Type: "server_error", Message: "boom", Status: 502}, `{"error":{"code":502,"message":"boom","status":"INTERNAL"}}`},
			{&llm.UpstreamError{Message: "?"}, `{"error":{"code":500,"message":"?","status":"INTERNAL"}}`},
			{nil, `{"error":{"code":500,"message":"upstream error","status":"INTERNAL"}}`},
		}
		for _, tt := range tests {
			enc := NewStreamEncoder(llm.ResponseOptions{})
			var out []byte
			for _, e := range []llm.Event{{Type: llm.EventStart}, {Type: llm.EventToolCall, Name: "f"}, {Type: llm.EventError, Error: tt.err}, {Type: llm.EventEnd}} {
				out = enc.Encode(out, &e)
			}
			if got := chunks(t, out); len(got) != 1 || got[0] != tt.want {
				t.Errorf("error chunks = %s, want %s", got, tt.want)
			}
		}
	})
}

// TestStreamRoundTrip decodes each stream fixture, encodes the events as a
// Gemini stream and decodes that again: the events must match (but for
// usage events, which the encoder folds into the chunks that follow).
func TestStreamRoundTrip(t *testing.T) {
	for _, f := range []string{"stream_thinking.sse", "stream_function_call.sse", "stream_trailing_signature.sse"} {
		t.Run(f, func(t *testing.T) {
			first := decodeStream(t, fixture(t, f))
			enc := NewStreamEncoder(llm.ResponseOptions{})
			var out []byte
			for i := range first {
				out = enc.Encode(out, &first[i])
			}
			for _, c := range chunks(t, out) {
				var g genai.GenerateContentResponse
				if err := stdjson.Unmarshal([]byte(c), &g); err != nil {
					t.Fatalf("genai cannot read %s: %v", c, err)
				}
			}
			second := decodeStream(t, out)
			strip := func(evs []llm.Event) []llm.Event {
				var keep []llm.Event
				for _, e := range evs {
					if e.Type == llm.EventUsage {
						continue
					}
					if e.Type == llm.EventStart || e.Type == llm.EventToolCall {
						e.ID = "" // made up on each side
					}
					keep = append(keep, e)
				}
				return keep
			}
			if !reflect.DeepEqual(strip(first), strip(second)) {
				t.Errorf("round trip:\nfirst  %+v\nsecond %+v\n%s", strip(first), strip(second), out)
			}
			if last := lastUsage(first); last != lastUsage(second) {
				t.Errorf("final usage %+v, then %+v", last, lastUsage(second))
			}
		})
	}
}

// lastUsage returns the usage of the last EventUsage.
func lastUsage(evs []llm.Event) llm.Usage {
	var u llm.Usage
	for _, e := range evs {
		if e.Type == llm.EventUsage {
			u = e.Usage
		}
	}
	return u
}
