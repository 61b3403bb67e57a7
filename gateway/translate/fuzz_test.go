package translate

import (
	"encoding/json"
	"errors"
	"testing"
)

// FuzzChatToMessagesRequest checks that arbitrary input never panics, that
// every failure is an *Error, and that success always yields a JSON object
// with a positive max_tokens and at least one message.
func FuzzChatToMessagesRequest(f *testing.F) {
	seeds := []string{
		`{"model":"gpt-4.1","messages":[{"role":"developer","content":"You are a helpful assistant."},{"role":"user","content":"Hello!"}]}`,
		`{"messages":[{"role":"user","content":[{"type":"text","text":"What is in this image?"},{"type":"image_url","image_url":{"url":"https://example.com/a.jpg"}}]}],"max_tokens":300}`,
		`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}]}`,
		`{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},{"role":"tool","tool_call_id":"call_1","content":"r"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"tool_choice":{"type":"function","function":{"name":"f"}},"parallel_tool_calls":false}`,
		`{"messages":[{"role":"user","content":"x"}],"stop":["a",""],"temperature":1.7,"top_p":0.5,"user":"u","n":1,"stream":true}`,
		`{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"a"}},{"type":"function","function":{"name":"b"}}],"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":[{"type":"function","function":{"name":"b"}}]}}}`,
		`{"messages":[{"role":"system","content":[{"type":"text","text":"s"}]},{"role":"user","content":""}]}`,
		`{"messages":[{"role":"user","content":"x"}],"n":2}`,
		`{"messages":[{"role":"robot"}]}`,
		`{"messages":[`,
		`null`,
		`[]`,
		``,
	}
	for _, s := range seeds {
		f.Add([]byte(s), 1024)
	}
	f.Fuzz(func(t *testing.T, body []byte, defaultMax int) {
		out, err := ChatToMessagesRequest(body, "claude-test", defaultMax)
		if err != nil {
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("error %v (%T) is not *Error", err, err)
			}
			if out != nil {
				t.Fatalf("non-nil output with an error: %s", out)
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON output for %q: %s", body, out)
		}
		var req struct {
			Model     string            `json:"model"`
			MaxTokens int64             `json:"max_tokens"`
			Messages  []json.RawMessage `json:"messages"`
		}
		if err := json.Unmarshal(out, &req); err != nil {
			t.Fatalf("output is not a request object: %v: %s", err, out)
		}
		if req.Model != "claude-test" || req.MaxTokens < 1 || len(req.Messages) == 0 {
			t.Fatalf("implausible request: %s", out)
		}
	})
}

// FuzzChatStream checks that arbitrary event sequences never panic and that
// every emitted chunk is valid JSON.
func FuzzChatStream(f *testing.F) {
	f.Add("message_start", []byte(`{"type":"message_start","message":{"id":"m","model":"c","usage":{"input_tokens":1}}}`), "content_block_start", []byte(`{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"t","name":"n","input":{"a":1}}}`))
	f.Add("content_block_delta", []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}}`), "message_delta", []byte(`{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":3}}`))
	f.Add("", []byte(`{"type":"content_block_stop","index":0}`), "error", []byte(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`))
	f.Fuzz(func(t *testing.T, name1 string, data1 []byte, name2 string, data2 []byte) {
		for _, includeUsage := range []bool{false, true} {
			s := NewChatStream(1, includeUsage)
			for _, e := range []sseEvent{{name1, data1}, {name2, data2}, {"message_stop", []byte(`{"type":"message_stop"}`)}} {
				chunks, _ := s.Event(e.name, e.data)
				for _, c := range chunks {
					if !json.Valid(c) {
						t.Fatalf("invalid chunk JSON: %s", c)
					}
				}
			}
		}
	})
}
