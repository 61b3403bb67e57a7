package gemini

import (
	"bytes"
	"testing"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/sse"
)

// BenchmarkRequest decodes and encodes the cookbook's multi-turn function
// calling request (3.2 KB: three tools, a call and its result).
func BenchmarkRequest(b *testing.B) {
	body := fixture(b, "request_function_calling_multiturn.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var r llm.Request
		if err := DecodeRequest(body, &r); err != nil {
			b.Fatal(err)
		}
		if _, err := EncodeRequest(&r, llm.EncodeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRequestJSONSchema is BenchmarkRequest with the tools' schemas
// given as parametersJsonSchema, which needs no conversion (the shape of a
// request the gateway encodes and then decodes from a Gemini client).
func BenchmarkRequestJSONSchema(b *testing.B) {
	var r llm.Request
	if err := DecodeRequest(fixture(b, "request_function_calling_multiturn.json"), &r); err != nil {
		b.Fatal(err)
	}
	body, err := EncodeRequest(&r, llm.EncodeOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var r llm.Request
		if err := DecodeRequest(body, &r); err != nil {
			b.Fatal(err)
		}
		if _, err := EncodeRequest(&r, llm.EncodeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// responseBody is a ~3.6 KB answer: the recorded thinking stream's thought
// and text parts gathered into one GenerateContentResponse, plus a call.
func responseBody(b *testing.B) []byte {
	var r llm.Response
	for _, e := range decodeStream(b, fixture(b, "stream_thinking.sse")) {
		switch e.Type {
		case llm.EventStart:
			r.ID, r.Model = e.ID, e.Model
		case llm.EventThinking, llm.EventText:
			typ := llm.PartText
			if e.Type == llm.EventThinking {
				typ = llm.PartThinking
			}
			r.Parts = append(r.Parts, llm.Part{Type: typ, Text: e.Text})
		case llm.EventUsage:
			r.Usage = e.Usage
		case llm.EventFinish:
			r.Finish = e.Finish
		}
	}
	r.Parts = append(r.Parts, llm.Part{Type: llm.PartToolCall, Name: "verify_sum", Arguments: []byte(`{"n":50,"sum":5309}`)})
	body, err := EncodeResponse(&r, llm.ResponseOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return body
}

// BenchmarkResponse decodes and encodes a ~3.6 KB answer.
func BenchmarkResponse(b *testing.B) {
	body := responseBody(b)
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

// BenchmarkStream decodes the recorded 17-chunk thinking stream (7.9 KB)
// and encodes its events again as a Gemini stream, per stream.
func BenchmarkStream(b *testing.B) {
	stream := fixture(b, "stream_thinking.sse")
	var datas [][]byte
	r := sse.NewReader(bytes.NewReader(stream))
	for {
		ev, err := r.Next()
		if err != nil {
			break
		}
		datas = append(datas, bytes.Clone(ev.Data))
	}
	r.Release()
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	var out []byte
	for b.Loop() {
		d := NewStreamDecoder()
		enc := NewStreamEncoder(llm.ResponseOptions{})
		out = out[:0]
		for _, data := range datas {
			if err := d.Decode("", data, func(e *llm.Event) { out = enc.Encode(out, e) }); err != nil {
				b.Fatal(err)
			}
		}
	}
}
