package gemini

import (
	"bytes"
	"testing"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
)

// FuzzDecode feeds arbitrary bodies to the decoders (and what they accept
// back to the encoders): nothing may panic.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{
		"request_function_calling.json", "request_function_calling_multiturn.json",
		"request_thought_signatures.json", "request_structured_output.json",
		"response_text_thoughts.json", "response_function_call.json",
		"error_api_key_invalid.json",
	} {
		f.Add(fixture(f, name))
	}
	f.Add([]byte(`{"contents":{"parts":{"text":"x"}},"systemInstruction":{"parts":{"text":"s"}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req llm.Request
		if DecodeRequest(body, &req) == nil {
			_, _ = EncodeRequest(&req, llm.EncodeOptions{})
		}
		var resp llm.Response
		if DecodeResponse(body, &resp) == nil {
			_, _ = EncodeResponse(&resp, llm.ResponseOptions{})
		}
		_, _ = DecodeError(body)
		d := NewStreamDecoder()
		enc := NewStreamEncoder(llm.ResponseOptions{})
		var out []byte
		for _, chunk := range bytes.Split(body, []byte("\n\n")) {
			_ = d.Decode("", chunk, func(e *llm.Event) { out = enc.Encode(out, e) })
		}
	})
}
