package translate

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/sse"
)

// The formats a provider speaks, and those a client may speak.
var (
	providerFormats = []Format{Chat, Messages, Gemini}
	clientFormats   = []Format{Chat, Responses, Messages, Gemini}
)

func TestCanServe(t *testing.T) {
	for _, from := range clientFormats {
		for _, to := range providerFormats {
			if !CanServe(from, to) {
				t.Errorf("CanServe(%s, %s) = false", from, to)
			}
		}
		if CanServe(from, Responses) {
			t.Errorf("CanServe(%s, Responses): the Responses codec is inbound only", from)
		}
	}
	if CanServe("nope", Chat) {
		t.Error("an unknown format can be served")
	}
}

// conversation is a request that uses what every format can carry.
func conversation() *llm.Request {
	return &llm.Request{
		System: []llm.Part{{Type: llm.PartText, Text: "Be brief."}},
		Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{
				{Type: llm.PartText, Text: "What is the weather in Paris? Here is a photo."},
				{Type: llm.PartImage, MediaType: "image/png", Data: "iVBORw0KGgo="},
			}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{
				{Type: llm.PartToolCall, ID: "call_1", Name: "get_weather", Arguments: []byte(`{"city":"Paris"}`)},
			}},
			{Role: llm.RoleUser, Parts: []llm.Part{
				{Type: llm.PartToolResult, ID: "call_1", Name: "get_weather", Content: []llm.Part{{Type: llm.PartText, Text: "18C"}}},
			}},
		},
		Tools: []llm.Tool{{Name: "get_weather", Description: "Weather by city",
			Parameters: []byte(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)}},
		ToolChoice:  llm.ToolChoice{Mode: llm.ToolAuto},
		MaxTokens:   300,
		Temperature: ptr(0.5),
		Stop:        []string{"END"},
	}
}

func ptr[T any](v T) *T { return &v }

// facets is what must survive any translation of conversation().
type facets struct {
	System, Texts, Image, Call, Result string
	Tool                               string
	MaxTokens                          int64
	Temperature                        float64
	Stop                               string
}

func facetsOf(r *llm.Request) facets {
	var f facets
	for _, p := range r.System {
		f.System += p.Text
	}
	for _, m := range r.Messages {
		for _, p := range m.Parts {
			switch p.Type {
			case llm.PartText:
				f.Texts += string(m.Role) + ":" + p.Text + ";"
			case llm.PartImage:
				f.Image = p.MediaType + "," + p.Data
			case llm.PartToolCall:
				f.Call = p.Name + string(compact(p.Arguments))
			case llm.PartToolResult:
				f.Result = p.Name + ":"
				for _, c := range p.Content {
					f.Result += c.Text
				}
			}
		}
	}
	for _, t := range r.Tools {
		f.Tool += t.Name + "/" + t.Description
	}
	f.MaxTokens = r.MaxTokens
	if r.Temperature != nil {
		f.Temperature = *r.Temperature
	}
	f.Stop = strings.Join(r.Stop, ",")
	return f
}

func compact(b []byte) []byte { return bytes.Join(bytes.Fields(b), nil) }

// TestRequestThroughEveryFormat: a conversation written in each provider
// format and read back keeps its instructions, turns, image, tool call,
// tool result and settings.
func TestRequestThroughEveryFormat(t *testing.T) {
	want := facetsOf(conversation())
	for _, to := range providerFormats {
		t.Run(string(to), func(t *testing.T) {
			body, err := EncodeRequest(to, conversation(), llm.EncodeOptions{Model: "m", DefaultMaxTokens: 1000})
			if err != nil {
				t.Fatal(err)
			}
			back, err := DecodeRequest(to, body)
			if err != nil {
				t.Fatalf("%v\n%s", err, body)
			}
			got := facetsOf(back)
			if to == Gemini {
				// Gemini carries a tool result as a JSON object.
				want := want
				want.Result = got.Result
				if !strings.Contains(got.Result, "18C") {
					t.Errorf("tool result %q", got.Result)
				}
				if got != want {
					t.Errorf("got  %+v\nwant %+v\n%s", got, want, body)
				}
				return
			}
			if got != want {
				t.Errorf("got  %+v\nwant %+v\n%s", got, want, body)
			}
		})
	}
}

// answer is what must survive any translation of an answer.
type answer struct {
	Text, Call, Finish string
	Usage              llm.Usage
}

func answerOf(r *llm.Response) answer {
	a := answer{Finish: string(r.Finish), Usage: r.Usage}
	for _, p := range r.Parts {
		switch p.Type {
		case llm.PartText:
			a.Text += p.Text
		case llm.PartToolCall:
			a.Call = p.Name + string(compact(p.Arguments))
		}
	}
	return a
}

var answers = []struct {
	name string
	r    llm.Response
}{
	{"text", llm.Response{ID: "r1", Model: "m", Finish: llm.FinishStop,
		Parts: []llm.Part{{Type: llm.PartText, Text: "It is 18C and sunny."}},
		Usage: llm.Usage{Input: 20, Output: 8}}},
	{"tool call", llm.Response{ID: "r2", Model: "m", Finish: llm.FinishToolCalls,
		Parts: []llm.Part{{Type: llm.PartText, Text: "Let me check."},
			{Type: llm.PartToolCall, ID: "call_9", Name: "get_weather", Arguments: []byte(`{"city":"Paris"}`)}},
		Usage: llm.Usage{Input: 30, Output: 12}}},
	{"length", llm.Response{ID: "r3", Model: "m", Finish: llm.FinishLength,
		Parts: []llm.Part{{Type: llm.PartText, Text: "It is"}}, Usage: llm.Usage{Input: 5, Output: 2}}},
}

// clientDecoders read a client format's answer back, where the format has a
// decoder; the Responses format is checked by the conformance matrix.
func decodeClient(t *testing.T, f Format, body []byte) *llm.Response {
	t.Helper()
	var r llm.Response
	if err := codecs[f].decodeResponse(body, &r); err != nil {
		t.Fatalf("reading the %s answer: %v\n%s", f, err, body)
	}
	return &r
}

// TestResponseBetweenEveryPair: an answer in any provider format reaches a
// client of any format with its text, tool call, finish reason and usage.
func TestResponseBetweenEveryPair(t *testing.T) {
	for _, a := range answers {
		for _, from := range providerFormats {
			for _, to := range clientFormats {
				t.Run(fmt.Sprintf("%s/%s_to_%s", a.name, from, to), func(t *testing.T) {
					body, err := codecs[from].encodeResponse(&a.r, llm.ResponseOptions{Created: 1})
					if err != nil {
						t.Fatal(err)
					}
					out, err := Response(from, to, body, llm.ResponseOptions{Created: 1})
					if err != nil {
						t.Fatal(err)
					}
					if to == Responses {
						if !bytes.Contains(out, []byte(`"object":"response"`)) {
							t.Fatalf("not a response object: %s", out)
						}
						return
					}
					got, want := answerOf(decodeClient(t, to, out)), answerOf(&a.r)
					if got != want {
						t.Errorf("got  %+v\nwant %+v\n%s", got, want, out)
					}
				})
			}
		}
	}
}

// events is a streamed answer: text, then a tool call, with usage.
func events(withTool bool) []llm.Event {
	ev := []llm.Event{
		{Type: llm.EventStart, ID: "r1", Model: "m"},
		{Type: llm.EventText, Index: 0, Text: "It is "},
		{Type: llm.EventText, Index: 0, Text: "18C."},
	}
	finish := llm.FinishStop
	if withTool {
		ev = append(ev,
			llm.Event{Type: llm.EventToolCall, Index: 1, ID: "call_1", Name: "get_weather"},
			llm.Event{Type: llm.EventToolArgs, Index: 1, Text: `{"city":`},
			llm.Event{Type: llm.EventToolArgs, Index: 1, Text: `"Paris"}`})
		finish = llm.FinishToolCalls
	}
	return append(ev,
		llm.Event{Type: llm.EventFinish, Finish: finish},
		llm.Event{Type: llm.EventUsage, Usage: llm.Usage{Input: 20, Output: 9}},
		llm.Event{Type: llm.EventEnd})
}

// replay reads a stream's SSE bytes with a decoder and accumulates an
// answer.
func replay(t *testing.T, dec llm.StreamDecoder, stream []byte) (answer, bool) {
	t.Helper()
	var a answer
	ended := false
	args := ""
	rd := sse.NewReader(bytes.NewReader(stream))
	defer rd.Release()
	for {
		ev, err := rd.Next()
		if err != nil {
			break
		}
		err = dec.Decode(ev.Name, ev.Data, func(e *llm.Event) {
			switch e.Type {
			case llm.EventText:
				a.Text += e.Text
			case llm.EventToolCall:
				a.Call = e.Name
			case llm.EventToolArgs:
				args += e.Text
			case llm.EventFinish:
				a.Finish = string(e.Finish)
			case llm.EventUsage:
				a.Usage = e.Usage
			case llm.EventEnd:
				ended = true
			}
		})
		if err != nil {
			t.Fatalf("decoding %q: %v", ev.Data, err)
		}
	}
	if a.Call != "" {
		a.Call += string(compact([]byte(args)))
	}
	return a, ended
}

// TestStreamBetweenEveryPair: a stream in any provider format reaches a
// client of any format, event by event, with its text, tool call, finish
// reason and usage, and ends cleanly.
func TestStreamBetweenEveryPair(t *testing.T) {
	for _, withTool := range []bool{false, true} {
		for _, from := range providerFormats {
			for _, to := range clientFormats {
				t.Run(fmt.Sprintf("tool=%v/%s_to_%s", withTool, from, to), func(t *testing.T) {
					enc := codecs[from].newEncoder(llm.ResponseOptions{Created: 1, IncludeUsage: true})
					var upstream []byte
					for _, e := range events(withTool) {
						upstream = enc.Encode(upstream, &e)
					}
					s, err := NewStream(from, to, llm.ResponseOptions{Created: 1, IncludeUsage: true})
					if err != nil {
						t.Fatal(err)
					}
					var out []byte
					rd := sse.NewReader(bytes.NewReader(upstream))
					for {
						ev, err := rd.Next()
						if err != nil {
							break
						}
						if out, err = s.Event(out, ev.Name, ev.Data); err != nil {
							t.Fatal(err)
						}
					}
					rd.Release()
					if !s.Done() || s.Failed() != nil {
						t.Fatalf("done %v, failed %v\n%s", s.Done(), s.Failed(), upstream)
					}
					if to == Responses {
						if !bytes.Contains(out, []byte("event: response.completed")) {
							t.Fatalf("no response.completed:\n%s", out)
						}
						return
					}
					got, ended := replay(t, codecs[to].newDecoder(), out)
					want := answer{Text: "It is 18C.", Finish: string(llm.FinishStop), Usage: llm.Usage{Input: 20, Output: 9}}
					if withTool {
						want.Call, want.Finish = `get_weather{"city":"Paris"}`, string(llm.FinishToolCalls)
					}
					if got != want || !ended {
						t.Errorf("got  %+v (ended %v)\nwant %+v\n%s", got, ended, want, out)
					}
				})
			}
		}
	}
}

// TestStreamUpstreamError: an error the provider reports mid-stream ends
// the client's stream with an error in the client's format, and is
// reported by Failed.
func TestStreamUpstreamError(t *testing.T) {
	for _, from := range providerFormats {
		for _, to := range clientFormats {
			t.Run(string(from)+"_to_"+string(to), func(t *testing.T) {
				enc := codecs[from].newEncoder(llm.ResponseOptions{})
				var upstream []byte
				for _, e := range []llm.Event{
					{Type: llm.EventStart, ID: "r", Model: "m"},
					{Type: llm.EventText, Text: "partial"},
					{Type: llm.EventError, Error: &llm.UpstreamError{Type: "overloaded_error", Message: "Overloaded", Status: 529}},
				} {
					upstream = enc.Encode(upstream, &e)
				}
				s, _ := NewStream(from, to, llm.ResponseOptions{})
				var out []byte
				rd := sse.NewReader(bytes.NewReader(upstream))
				for {
					ev, err := rd.Next()
					if err != nil {
						break
					}
					out, _ = s.Event(out, ev.Name, ev.Data)
				}
				rd.Release()
				if !s.Done() || s.Failed() == nil || !strings.Contains(s.Failed().Message, "Overloaded") {
					t.Fatalf("done %v failed %v\n%s", s.Done(), s.Failed(), upstream)
				}
				if !bytes.Contains(out, []byte("Overloaded")) || bytes.Contains(out, []byte("[DONE]")) ||
					bytes.Contains(out, []byte("message_stop")) || bytes.Contains(out, []byte("response.completed")) {
					t.Fatalf("the client's stream does not end with the error:\n%s", out)
				}
			})
		}
	}
}

func TestUnknownFormat(t *testing.T) {
	if _, err := DecodeRequest("nope", []byte(`{}`)); err == nil {
		t.Error("DecodeRequest of an unknown format")
	}
	if _, err := NewStream(Responses, Chat, llm.ResponseOptions{}); err == nil {
		t.Error("a stream from the Responses format, which has no decoder")
	}
	var le *llm.Error
	_, err := DecodeRequest(Chat, []byte(`{"messages":[{"role":"user","content":"hi"}],"logprobs":true}`))
	if !errors.As(err, &le) {
		t.Errorf("an untranslatable request: %v, want an *llm.Error", err)
	}
	if !CanServe(Responses, Chat) {
		t.Error("Responses clients are served by Chat upstreams")
	}
}
